#!/usr/bin/env python3
"""Writes inputs.h and inputs.c for the Mbed TLS harness (run.sh calls it).

Mbed TLS has no AES-GCM-SIV, so it cannot open coffer's golden KEK
envelope as it is. This keeps everything of that envelope but the payload:
its header byte for byte (vectors/data/envelope_v1/golden.json,
"kek-one-recipient"), the DEK wrapped in it, the key schedule of
core/FORMAT.md section 2, the AAD and nonce of section 3.2; and encrypts the
golden plaintext again with AES-256-GCM instead of AES-256-GCM-SIV. A second
envelope of the same shape (same context, key id and KEK, its own salt and
DEK) holds 256 bytes of 0x5a, like the one fp-envelope seals and opens.

For P-256: a fixed seed for the device's HMAC_DRBG, two host key pairs, the
shared secret of the two and a deterministic (RFC 6979) signature by one of
them, both computed here by OpenSSL through `cryptography`, so that the
device's ECDH, signing and verifying are checked against another
implementation. Everything is derived from fixed labels, so the files are
the same on every run; the key material protects nothing.

Usage: make-inputs.py <golden.json> <output directory>
"""
import hashlib
import json
import os
import struct
import sys

try:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESGCMSIV
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.hmac import HMAC
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
    from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
except ImportError:
    raise SystemExit("make-inputs.py needs pyca/cryptography: pip install cryptography")

MESSAGE = b"boot measurement"  # what fp-p256 signs
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def fixed(label: str) -> bytes:
    """32 fixed bytes named by `label`."""
    return hashlib.sha256(b"coffer embedded/mbedtls inputs: " + label.encode()).digest()


class Header:
    """The fields of a v1 header with one AES-256-KW recipient (FORMAT.md section 1)."""

    def __init__(self, envelope: bytes):
        if envelope[0:6] != b"CFRE\x01\x01":
            raise ValueError("not a v1 envelope")
        (self.length,) = struct.unpack(">I", envelope[6:10])
        self.salt_at = 14
        self.commitment_at = 46
        at = 78
        count = envelope[at]
        at += 1
        for _ in range(count):
            at += 1 + envelope[at]
            (value_len,) = struct.unpack(">H", envelope[at:at + 2])
            at += 2 + value_len
        self.bound_end = at
        if envelope[at] != 1 or envelope[at + 1] != 1:
            raise ValueError("expected one AES-256-KW recipient")
        at += 2
        at += 1 + envelope[at] + 4
        (body_len,) = struct.unpack(">H", envelope[at:at + 2])
        self.wrapped_at = at + 2
        if body_len != 40 or self.wrapped_at + 40 != self.length:
            raise ValueError("unexpected recipient layout")
        self.bytes = envelope[:self.length]

    def aad(self) -> bytes:
        return hashlib.sha256(self.bytes[0:6] + self.bytes[10:self.bound_end]).digest()


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    mac = HMAC(key, SHA256())
    mac.update(data)
    return mac.finalize()


def schedule(dek: bytes, salt: bytes) -> tuple[bytes, bytes]:
    """(payload_key, commitment), FORMAT.md section 2."""
    prk = hmac_sha256(salt, dek)
    expand = lambda info: HKDFExpand(SHA256(), 32, info).derive(prk)
    return expand(b"coffer/v1 payload key"), expand(b"coffer/v1 key commitment")


# The nonce of a payload's only chunk: index 0, last = 01 (section 3.2).
ONLY_CHUNK_NONCE = bytes(7) + struct.pack(">I", 0) + b"\x01"


def gcm_payload(payload_key: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """A one-chunk payload as section 3 writes it, with AES-256-GCM."""
    return AESGCM(payload_key).encrypt(ONLY_CHUNK_NONCE, plaintext, aad)


def same_shape(golden: Header, kek: bytes, dek: bytes, salt: bytes) -> Header:
    """A header like `golden` (chunk size, context, recipient) with its own salt and DEK."""
    _, commitment = schedule(dek, salt)
    b = bytearray(golden.bytes)
    b[golden.salt_at:golden.salt_at + 32] = salt
    b[golden.commitment_at:golden.commitment_at + 32] = commitment
    b[golden.wrapped_at:golden.wrapped_at + 40] = aes_key_wrap(kek, dek)
    return Header(bytes(b))


def host_key(label: str) -> ec.EllipticCurvePrivateKey:
    scalar = int.from_bytes(fixed(label), "big") % (P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


class Arrays:
    """Byte arrays for C: declarations for inputs.h, definitions for inputs.c."""

    def __init__(self):
        self.declarations, self.definitions = [], []

    def add(self, name: str, data: bytes, comment: str = "") -> None:
        if comment:
            self.declarations.append(f"/* {comment} */\n")
        self.declarations.append(f"extern const uint8_t {name}[{len(data)}];\n")
        rows = [", ".join(f"0x{b:02x}" for b in data[i:i + 12]) for i in range(0, len(data), 12)]
        body = ",\n    ".join(rows)
        self.definitions.append(f"const uint8_t {name}[{len(data)}] = {{\n    {body}\n}};\n")


def main() -> None:
    golden_path, out_dir = sys.argv[1], sys.argv[2]
    with open(golden_path, encoding="utf-8") as f:
        entries = json.load(f)["envelopes"]
    entry = next(e for e in entries if e["name"] == "kek-one-recipient")
    kek = bytes.fromhex(entry["recipients"][0]["secret"])
    golden_plaintext = bytes.fromhex(entry["plaintext"])
    golden_envelope = bytes.fromhex(entry["envelope"])
    golden = Header(golden_envelope)

    # The golden envelope's own DEK, schedule and AAD. Opening its real
    # AES-256-GCM-SIV payload with them checks that they are coffer's.
    dek = aes_key_unwrap(kek, golden.bytes[golden.wrapped_at:golden.wrapped_at + 40])
    salt = golden.bytes[golden.salt_at:golden.salt_at + 32]
    payload_key, commitment = schedule(dek, salt)
    if commitment != golden.bytes[golden.commitment_at:golden.commitment_at + 32]:
        raise SystemExit("the golden envelope's commitment does not match its DEK")
    siv_payload = golden_envelope[golden.length:]
    opened = AESGCMSIV(payload_key).decrypt(ONLY_CHUNK_NONCE, siv_payload, golden.aad())
    if opened != golden_plaintext:
        raise SystemExit("the golden envelope's payload does not open")
    envelope_golden = golden.bytes + gcm_payload(payload_key, golden.aad(), golden_plaintext)

    plaintext_256 = bytes([0x5A]) * 256
    dek_256 = fixed("dek of the 256-byte envelope")
    salt_256 = fixed("salt of the 256-byte envelope")
    header_256 = same_shape(golden, kek, dek_256, salt_256)
    key_256, _ = schedule(dek_256, salt_256)
    envelope_256 = header_256.bytes + gcm_payload(key_256, header_256.aad(), plaintext_256)
    if (header_256.length, header_256.bound_end, header_256.wrapped_at) != (
        golden.length, golden.bound_end, golden.wrapped_at):
        raise SystemExit("the 256-byte envelope's header differs in layout")

    host_a, host_b = host_key("host key A"), host_key("host key B")
    point = lambda k: k.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    scalar = lambda k: k.private_numbers().private_value.to_bytes(32, "big")
    shared_ab = host_a.exchange(ec.ECDH(), host_b.public_key())
    # RFC 6979 nonce: the device must produce these very bytes with key A.
    host_signature = host_a.sign(MESSAGE, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))

    arrays = Arrays()
    arrays.add("KEK", kek)
    arrays.add("ENVELOPE_GOLDEN", envelope_golden,
               "The golden KEK envelope's header with the golden plaintext under AES-256-GCM.")
    arrays.add("PLAINTEXT_GOLDEN", golden_plaintext)
    arrays.add("ENVELOPE_256", envelope_256, "The same shape, 256 bytes of 0x5a.")
    arrays.add("PLAINTEXT_256", plaintext_256)
    arrays.add("DRBG_SEED", fixed("HMAC_DRBG seed"), "The seed of the device's HMAC_DRBG.")
    arrays.add("HOST_A_SECRET", scalar(host_a), "Two P-256 key pairs made on the host.")
    arrays.add("HOST_A_PUBLIC", point(host_a))
    arrays.add("HOST_B_SECRET", scalar(host_b))
    arrays.add("HOST_B_PUBLIC", point(host_b))
    arrays.add("SHARED_AB", shared_ab, "ECDH of A and B, by OpenSSL.")
    arrays.add("HOST_A_SIGNATURE", host_signature,
               "ECDSA-SHA-256 of MESSAGE by A with an RFC 6979 nonce, DER, by OpenSSL.")

    generated = ("/* Generated by make-inputs.py from vectors/data/envelope_v1/golden.json;"
                 " do not edit. */\n")
    header = [
        generated,
        "#ifndef COFFER_MBEDTLS_INPUTS_H\n#define COFFER_MBEDTLS_INPUTS_H\n\n",
        "#include <stdint.h>\n\n",
        "/* Layout of both envelopes' headers (core/FORMAT.md section 1). */\n",
        f"#define HEADER_LEN {golden.length}u\n",
        f"#define SALT_AT {golden.salt_at}u\n",
        f"#define COMMITMENT_AT {golden.commitment_at}u\n",
        f"#define BOUND_END {golden.bound_end}u\n",
        f"#define WRAPPED_DEK_AT {golden.wrapped_at}u\n\n",
        f'/* What fp-p256 signs. */\n#define MESSAGE "{MESSAGE.decode()}"\n\n',
        *arrays.declarations,
        "\n#endif\n",
    ]
    source = [generated, '#include "inputs.h"\n\n', *arrays.definitions]
    with open(os.path.join(out_dir, "inputs.h"), "w", encoding="utf-8") as f:
        f.write("".join(header))
    with open(os.path.join(out_dir, "inputs.c"), "w", encoding="utf-8") as f:
        f.write("".join(source))


if __name__ == "__main__":
    main()
