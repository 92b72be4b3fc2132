#!/usr/bin/env python3
"""An independent reader of coffer envelope format version 1.

Written from core/FORMAT.md alone (sections named in the comments), with
Python `cryptography` for the primitives; it shares no code with coffer and
does not read coffer's sources. It opens every golden envelope of
vectors/data/envelope_v1/golden.json (the layout of that file is described in
vectors/data/envelope_v1/README.md) with each recipient's key alone, checks
the plaintext byte for byte, and makes sure a few damaged copies of each
envelope are refused, so that a reader that skipped a check would not pass.

    python3 open_goldens.py [GOLDEN_JSON]

Prints one line per golden, the SHA-256 of the golden file, and a last line
`opened N of M goldens, K negative refused`. Exits 0 when every golden opened
with every key and every negative was refused, 1 otherwise (the reasons on
stderr), 2 when it cannot run (bad arguments, a missing package).

Needs Python 3.8+ and the `cryptography` package (pip install cryptography),
built with AES-GCM-SIV support (OpenSSL 3.2 or later).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pathlib
import struct
import sys

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
    from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"cannot run: {e}; install it with: pip install cryptography", file=sys.stderr)
    sys.exit(2)

DEFAULT_GOLDEN = pathlib.Path(__file__).resolve().parent.parent / "data" / "envelope_v1" / "golden.json"

# §1.1 prefix
MAGIC = b"CFRE"
VERSION = 0x01
SUITE = 0x01
PREFIX_LEN = 10
MAX_HEADER = 65536
# §1.2 bound section
MIN_CHUNK, MAX_CHUNK = 256, 1048576
SALT_LEN = 32
COMMITMENT_LEN = 32
MAX_CONTEXT = 16
MAX_CONTEXT_KEY, MAX_CONTEXT_VALUE = 64, 1024
# §1.3 recipients (the default maximum)
MAX_RECIPIENTS = 16
# §1.4 recipient record
KIND_AES256KW, KIND_RSA_OAEP, KIND_P256_ECDH_ES = 0x01, 0x02, 0x03
MAX_KEY_ID = 64
KW_BODY_LEN = 40
RSA_BODY_LEN = range(256, 512 + 1)
EPK_LEN = 65
ECDH_BODY_LEN = EPK_LEN + KW_BODY_LEN
ECDH_INFO = b"coffer/v1 ecdh-es a256kw"
# §2 key schedule
PAYLOAD_KEY_INFO = b"coffer/v1 payload key"
COMMITMENT_INFO = b"coffer/v1 key commitment"
DEK_LEN = 32
# §3.1 chunks: AES-256-GCM-SIV ciphertext || 16-byte tag
TAG_LEN = 16

KINDS = {"aes256kw": KIND_AES256KW, "rsa-oaep-sha256": KIND_RSA_OAEP, "p256-ecdh-es": KIND_P256_ECDH_ES}


class Refused(Exception):
    """The envelope does not open. FORMAT.md §4 makes every failure of steps
    3-5 the same opaque error; the reason is kept here only for this
    script's report."""


class Reader:
    """Reads big-endian fields from the header, never past `end` (§1)."""

    def __init__(self, data: bytes, start: int, end: int):
        self.data, self.pos, self.end = data, start, end

    def take(self, n: int, what: str) -> bytes:
        if self.end - self.pos < n:
            raise Refused(f"{what}: {n} bytes needed at offset {self.pos}, the header ends at {self.end}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint(self, n: int, what: str) -> int:
        return int.from_bytes(self.take(n, what), "big")


def parse(envelope: bytes, max_recipients: int = MAX_RECIPIENTS) -> dict:
    """§4 steps 1-2: the prefix, the bound section and the recipients, under
    the limits of §1.1-§1.4 and §5; then the payload cut into chunks (§3.1)."""
    if len(envelope) < PREFIX_LEN:
        raise Refused("shorter than the 10-byte prefix")
    if envelope[0:4] != MAGIC or envelope[4] != VERSION or envelope[5] != SUITE:
        raise Refused("magic, version or suite is not CFRE 01 01")
    header_len = struct.unpack(">I", envelope[6:10])[0]
    if not PREFIX_LEN <= header_len <= MAX_HEADER or header_len > len(envelope):
        raise Refused(f"header_len {header_len} out of range for {len(envelope)} bytes")
    r = Reader(envelope, PREFIX_LEN, header_len)
    bound_start = r.pos
    chunk_size = r.uint(4, "chunk_size")
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        raise Refused(f"chunk_size {chunk_size} out of range")
    salt = r.take(SALT_LEN, "salt")
    commitment = r.take(COMMITMENT_LEN, "commitment")
    context_count = r.uint(1, "context_count")
    if context_count > MAX_CONTEXT:
        raise Refused(f"{context_count} context entries")
    context = []
    for _ in range(context_count):
        key_len = r.uint(1, "context key_len")
        if not 1 <= key_len <= MAX_CONTEXT_KEY:
            raise Refused(f"context key of {key_len} bytes")
        key = r.take(key_len, "context key")
        value_len = r.uint(2, "context value_len")
        if value_len > MAX_CONTEXT_VALUE:
            raise Refused(f"context value of {value_len} bytes")
        value = r.take(value_len, "context value")
        # §1.2: strictly ascending bytewise order of key.
        if context and not context[-1][0] < key:
            raise Refused("context keys are not in strictly ascending order")
        context.append((key, value))
    bound = envelope[bound_start : r.pos]
    recipient_count = r.uint(1, "recipient_count")
    if not 1 <= recipient_count <= max_recipients:
        raise Refused(f"{recipient_count} recipients")
    recipients = []
    for _ in range(recipient_count):
        kind = r.uint(1, "kind")
        key_id_len = r.uint(1, "key_id_len")
        if not 1 <= key_id_len <= MAX_KEY_ID:
            raise Refused(f"key id of {key_id_len} bytes")
        key_id = r.take(key_id_len, "key_id")
        key_version = r.uint(4, "key_version")
        body_len = r.uint(2, "body_len")
        if kind == KIND_AES256KW:
            ok = body_len == KW_BODY_LEN
        elif kind == KIND_RSA_OAEP:
            ok = body_len in RSA_BODY_LEN
        elif kind == KIND_P256_ECDH_ES:
            ok = body_len == ECDH_BODY_LEN
        else:
            raise Refused(f"unknown recipient kind {kind:#04x}")
        if not ok:
            raise Refused(f"body of {body_len} bytes for kind {kind:#04x}")
        body = r.take(body_len, "body")
        recipients.append({"kind": kind, "key_id": key_id, "version": key_version, "body": body})
    # §1.3: the header ends exactly after the last recipient.
    if r.pos != header_len:
        raise Refused(f"header_len {header_len} but the recipients end at {r.pos}")
    # §3.1: every chunk but the final one holds exactly chunk_size plaintext
    # bytes (chunk_size + 16 sealed); the final one holds 0..=chunk_size.
    # So whatever remains once no more than one full sealed chunk is left is
    # the final chunk.
    sealed = chunk_size + TAG_LEN
    chunks = []
    at = header_len
    while len(envelope) - at > sealed:
        chunks.append(envelope[at : at + sealed])
        at += sealed
    if len(envelope) - at < TAG_LEN:
        raise Refused(f"a final chunk of {len(envelope) - at} bytes is shorter than a tag")
    chunks.append(envelope[at:])
    if len(chunks) > 2**32:
        raise Refused("more than 2^32 chunks")
    return {
        "prefix6": envelope[0:6],
        "chunk_size": chunk_size,
        "salt": salt,
        "commitment": commitment,
        "context": context,
        "bound": bound,
        "recipients": recipients,
        "chunks": chunks,
    }


def uncompressed(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def unwrap_dek(record: dict, secret) -> bytes:
    """§1.4 bodies: the DEK from one recipient record with the key `secret`."""
    body = record["body"]
    try:
        if record["kind"] == KIND_AES256KW:
            dek = aes_key_unwrap(secret, body)
        elif record["kind"] == KIND_RSA_OAEP:
            oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
            dek = secret.decrypt(body, oaep)
        else:
            epk_bytes, wrapped = body[:EPK_LEN], body[EPK_LEN:]
            epk = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), epk_bytes)
            # Z: the x-coordinate of the shared point (ECDH is symmetric:
            # our secret with epk gives what the sealer's ephemeral secret
            # gave with our public key), 32 bytes big-endian.
            z = secret.exchange(ec.ECDH(), epk)
            rpk = uncompressed(secret.public_key())
            kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=epk_bytes + rpk, info=ECDH_INFO).derive(z)
            dek = aes_key_unwrap(kek, wrapped)
    except (InvalidUnwrap, ValueError) as e:
        raise Refused(f"recipient unwrap failed: {type(e).__name__}") from None
    if len(dek) != DEK_LEN:
        raise Refused(f"a DEK of {len(dek)} bytes")
    return dek


def key_schedule(salt: bytes, dek: bytes) -> tuple[bytes, bytes]:
    """§2: PRK = HKDF-Extract(salt, DEK); payload key and commitment are
    HKDF-Expand(PRK, label, 32)."""
    prk = hmac.new(salt, dek, hashlib.sha256).digest()  # RFC 5869 §2.2 HKDF-Extract
    payload_key = HKDFExpand(algorithm=hashes.SHA256(), length=32, info=PAYLOAD_KEY_INFO).derive(prk)
    commitment = HKDFExpand(algorithm=hashes.SHA256(), length=32, info=COMMITMENT_INFO).derive(prk)
    return payload_key, commitment


def open_envelope(envelope: bytes, keys: list[dict], expected_context: list[tuple[bytes, bytes]]) -> bytes:
    """§4: open `envelope` with the keys held (each: kind, key_id, version,
    secret) for the caller's expected context."""
    h = parse(envelope)
    # Step 3: the expected context in canonical form (§1.2: ascending key order).
    if sorted(expected_context) != h["context"]:
        raise Refused("the expected encryption context differs from the header's")
    # Step 4: a recipient whose kind, key id and version match a key held.
    dek = None
    reasons = []
    for record in h["recipients"]:
        for k in keys:
            if (k["kind"], k["key_id"], k["version"]) != (record["kind"], record["key_id"], record["version"]):
                continue
            try:
                candidate = unwrap_dek(record, k["secret"])
            except Refused as e:
                reasons.append(str(e))
                continue
            payload_key, commitment = key_schedule(h["salt"], candidate)
            # §2: compare the commitment in constant time before decrypting anything.
            if not hmac.compare_digest(commitment, h["commitment"]):
                reasons.append("the commitment does not match the unwrapped DEK")
                continue
            dek = candidate
            break
        if dek is not None:
            break
    if dek is None:
        raise Refused("no recipient opened: " + ("; ".join(reasons) if reasons else "no matching key held"))
    # Step 5, §3.2: nonce_i = 7 zero bytes || u32(i) || last_i; aad = SHA-256(prefix[0..6] || bound).
    aad = hashlib.sha256(h["prefix6"] + h["bound"]).digest()
    aead = AESGCMSIV(payload_key)
    plaintext = bytearray()
    n = len(h["chunks"])
    for i, chunk in enumerate(h["chunks"]):
        nonce = bytes(7) + struct.pack(">I", i) + (b"\x01" if i == n - 1 else b"\x00")
        try:
            plaintext += aead.decrypt(nonce, chunk, aad)
        except InvalidTag:
            raise Refused(f"chunk {i} of {n} does not authenticate") from None
    return bytes(plaintext)


def load_key(r: dict) -> dict:
    """A recipient of golden.json (vectors/data/envelope_v1/README.md)."""
    secret = bytes.fromhex(r["secret"])
    kind = KINDS[r["kind"]]
    if kind == KIND_AES256KW:
        if len(secret) != 32:
            raise ValueError(f"a KEK of {len(secret)} bytes")
    else:
        secret = serialization.load_der_private_key(secret, password=None)
        want = rsa.RSAPrivateKey if kind == KIND_RSA_OAEP else ec.EllipticCurvePrivateKey
        if not isinstance(secret, want):
            raise ValueError(f"the PKCS#8 key is not a {r['kind']} key")
    return {"kind": kind, "key_id": bytes.fromhex(r["key_id"]), "version": r["version"], "secret": secret}


def flip(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at] ^= 0x01
    return bytes(b)


def negatives(envelope: bytes, h: dict, context: list[tuple[bytes, bytes]], keys: list[dict], former: list[dict]):
    """Damaged copies of one envelope, each of which must be refused: (what,
    envelope, keys, expected context). Offsets come from this reader's parse."""
    salt_at = PREFIX_LEN + 4
    commitment_at = salt_at + SALT_LEN
    header_len = len(envelope) - sum(len(c) for c in h["chunks"])
    out = [
        ("salt flipped (the commitment no longer matches)", flip(envelope, salt_at), keys, context),
        ("commitment flipped", flip(envelope, commitment_at + 31), keys, context),
        ("the final chunk's tag flipped", flip(envelope, len(envelope) - 1), keys, context),
        ("the first chunk's first byte flipped", flip(envelope, header_len), keys, context),
        ("one byte cut off the end", envelope[:-1], keys, context),
    ]
    if len(h["chunks"]) > 1:
        out.append(("the final chunk dropped", envelope[: len(envelope) - len(h["chunks"][-1])], keys, context))
        first, second = h["chunks"][0], h["chunks"][1]
        if len(second) == len(first):
            swapped = envelope[:header_len] + second + first + envelope[header_len + 2 * len(first) :]
            out.append(("the first two chunks swapped", swapped, keys, context))
    # A context value changed in the header and in the expectation alike:
    # the context check passes and the commitment does not cover the context,
    # so only the AAD (§3.2) can refuse it.
    for i, (k, v) in enumerate(h["context"]):
        if v:
            pos = header_position_of_value(envelope, h, i)
            changed = [(ck, cv[:-1] + bytes([cv[-1] ^ 1]) if ck == k else cv) for ck, cv in context]
            out.append((f"context value of {k!r} changed in the header and the expectation", flip(envelope, pos), keys, changed))
            break
    out.append(("a context pair added to the expectation", envelope, keys, context + [(b"zz-independent", b"1")]))
    for i, record in enumerate(h["recipients"]):
        body_at = header_position_of_body(envelope, h, i)
        out.append((f"recipient {i}'s body flipped", flip(envelope, body_at), [keys[i]], context))
    for k in former:
        out.append((f"former recipient {k['key_id'].decode(errors='replace')} v{k['version']}", envelope, [k], context))
    return out


def header_position_of_value(envelope: bytes, h: dict, index: int) -> int:
    """Offset of the last byte of context entry `index`'s value (§1.2)."""
    at = PREFIX_LEN + 4 + SALT_LEN + COMMITMENT_LEN + 1
    for i, (k, v) in enumerate(h["context"]):
        at += 1 + len(k) + 2
        if i == index:
            return at + len(v) - 1
        at += len(v)
    raise IndexError(index)


def header_position_of_body(envelope: bytes, h: dict, index: int) -> int:
    """Offset of the first byte of recipient `index`'s body (§1.3, §1.4)."""
    at = PREFIX_LEN + len(h["bound"]) + 1
    for i, r in enumerate(h["recipients"]):
        at += 1 + 1 + len(r["key_id"]) + 4 + 2
        if i == index:
            return at
        at += len(r["body"])
    raise IndexError(index)


def main(argv: list[str]) -> int:
    if len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = pathlib.Path(argv[1]) if len(argv) == 2 else DEFAULT_GOLDEN
    raw = path.read_bytes()
    doc = json.loads(raw)
    goldens = doc["envelopes"]
    problems = []
    opened = 0
    refused = 0
    for g in goldens:
        name = g["name"]
        envelope = bytes.fromhex(g["envelope"])
        plaintext = bytes.fromhex(g["plaintext"])
        context = [(bytes.fromhex(p["key"]), bytes.fromhex(p["value"])) for p in g["context"]]
        keys = [load_key(r) for r in g["recipients"]]
        former = [load_key(r) for r in g.get("no_longer_recipients", [])]
        ok = True
        try:
            h = parse(envelope)
        except Refused as e:
            problems.append(f"{name}: does not parse: {e}")
            continue
        if h["chunk_size"] != g["chunk_size"]:
            problems.append(f"{name}: chunk_size {h['chunk_size']}, golden.json says {g['chunk_size']}")
            ok = False
        for i, k in enumerate(keys):
            try:
                got = open_envelope(envelope, [k], context)
            except Refused as e:
                problems.append(f"{name}: recipient {i} does not open it: {e}")
                ok = False
                continue
            if got != plaintext:
                problems.append(f"{name}: recipient {i} opens it to other plaintext ({len(got)} bytes)")
                ok = False
        for what, bad, bad_keys, bad_context in negatives(envelope, h, context, keys, former):
            try:
                open_envelope(bad, bad_keys, bad_context)
            except Refused:
                refused += 1
                continue
            problems.append(f"{name}: OPENED although {what}")
            ok = False
        if ok:
            opened += 1
            print(f"opened {name}: {len(plaintext)} bytes in {len(h['chunks'])} chunk(s), by each of {len(keys)} recipient(s)")
    print(f"golden.json sha256 {hashlib.sha256(raw).hexdigest()}")
    for p in problems:
        print(p, file=sys.stderr)
    print(f"opened {opened} of {len(goldens)} goldens, {refused} negative refused")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
