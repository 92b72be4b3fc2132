#!/usr/bin/env python3
"""An independent writer of coffer's token state encodings.

Written from the specification text only, not from coffer's Rust code:
hsm-shim/KEYSTORE.md §3.1 (the `CFHS` token state, versions 01, 02, 03),
§3.2 (the `CFDS` device token state, version 01), §2 and §4 (the sealed
`CFKS` file around them, raw master key, `kdf = 0`), and the audit log
encoding and MAC chain of the module docs of hsm-shim/src/audit/mod.rs
(§ Format), which both states embed.

    python3 write_token_states.py              # writes into ../data/token_states/
    python3 write_token_states.py --out DIR    # writes the same files into DIR

It writes four sealed keystore files and one JSON file of facts:

    cfhs_v1.cfks  cfhs_v2.cfks  cfhs_v3.cfks  cfds_v1.cfks  facts.json

Everything is deterministic: the master key, the keystore counters and
nonces, the PIN salts and every key's material are fixed or derived from
fixed strings with SHA-256, and the RSA primes are constants (any primes
would do; these were found once with a SHA-256 counter-mode generator and
Miller-Rabin). Running the script twice writes the same bytes, which
`hsm-shim/tests/token_state_golden/` checks against the committed files.

`facts.json` holds what a reader must find in each file: the plaintext
state's named byte ranges (`regions`, offsets into the state, for tests
that change one field), and per key its attributes and the results its
material predicts (AES-KW/KWP of a fixed value, HMAC of a fixed message,
SPKI DER of the public key, the certificate DER), and the audit records.

Needs Python 3.11 and the `cryptography` package (pip install cryptography).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import json
import pathlib
import re
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import aes_key_wrap, aes_key_wrap_with_padding
from cryptography.x509.oid import NameOID

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "data" / "token_states"

# ---------------------------------------------------------------- inputs

MASTER_KEY = bytes(range(0x40, 0x60))
"""The master key every file is sealed under (KEYSTORE.md §4 step 1, kdf = 0)."""

WRAP_INPUT = bytes(range(0x80, 0xA0))
"""What the AES keys wrap in the facts (AES-KW and AES-KWP), 32 bytes."""

MAC_MESSAGE = b"coffer token state golden message"
"""What the HMAC keys MAC in the facts."""

# Usage bits (§3.1).
ENCRYPT, DECRYPT, WRAP, UNWRAP, SIGN, VERIFY, DERIVE = (1 << i for i in range(7))

# Key types (§3.1).
AES256, HMAC_SHA256, P256, RSA2048, RSA3072, RSA4096, CERTIFICATE = range(1, 8)
TYPE_NAMES = {
    AES256: "aes256",
    HMAC_SHA256: "hmac_sha256",
    P256: "p256",
    RSA2048: "rsa2048",
    RSA3072: "rsa3072",
    RSA4096: "rsa4096",
    CERTIFICATE: "certificate",
}

# Key states (§3.1; the audit event's codes are these + 1).
PRE_ACTIVE, ACTIVE, DEACTIVATED, DESTROYED = range(4)
STATE_NAMES = {PRE_ACTIVE: "pre_active", ACTIVE: "active", DEACTIVATED: "deactivated", DESTROYED: "destroyed"}

# Audit roles (§ Format).
ROLE_SO, ROLE_USER, ROLE_AUDITOR = 1, 2, 3

# RSA primes: constants, see the module docs.
RSA_PRIMES = {
    (2048, "p"): int(
        "d0c9d881b3ccc20cc431f9ae9f4e484e709ad9fdf1db3da10fbbdd55633f0ad2fe0806d496665a9f787c3ed4e0c4b92e"
        "8daf7a9398136e7ea1fe095ec70591476abdf6f4eee85a092e5fde5a9798572ba56bdfdf0551d042268ef1e1278eea27"
        "69ff4ed7d2950601dc39c16283db9889906ed462c1c59ef9e1f6cdf1784f4fd3",
        16,
    ),
    (2048, "q"): int(
        "e0fca686d03890d922e944fdefe3c8b6b90e30766bbb9795f3b809966d16dcc149b7a273bd3d2a18f5c6faf5a2ca9f28"
        "8b1f922a1565a5cf43d031a765bf151d6dce991d9d4d9ada5ad8a619166544c579db1467b934d9bf274ef798a37a733e"
        "ba95823fc17cdad86b60e4a8a92c67a7ced8dfeb0fb50494d1e8be51c88e73a1",
        16,
    ),
    (3072, "p"): int(
        "d7dc19eb90485fe496b8461b3781876c0a85aad8398b432bc87de21261c7222eaa1f9047ddbac4daa2412e6e3829ca80"
        "68e56ee10b60dd2418a95e2c0728463b90753c03291c2a2f3c01c9adaf6f1dd9b9062df2b387a3b3cfd82500b7938818"
        "8890ddbb256cc4e7b5764ecb41ba57f57db11828c42a2d70c8e8ea01d00569d0704ccac97d88c5cc75128215c6ecd8ab"
        "53c29d51bdad2bda70d705dc7a1e90549f5c4a63ca463bfb047b628f38390da06e36d45de1aa38fb91b8aec605b9a0d9",
        16,
    ),
    (3072, "q"): int(
        "e84ca3b3176ce77c509fde735597830843cf7677a632447b781213650b846dba68c1a4282bff20a162ab19793e836c6a"
        "b3523a5d1f83c2d8125329c33834f740c37a2f7c4b14a77c9603c90143d66daa77741c4299ce4ea32e6097871c464d93"
        "630402397f47321497853e8ca9d81e06282f82bafc8f3590072ccc52a7b2634ec90800f0b2e729ee6c6ca7c2a66cbd6c"
        "6bc6a92ed46c12e6de41ec3f13d581a628a28cc7109f75a8f5f73ceef03f10670de1ee3ade10b3990d05753751b3c9c7",
        16,
    ),
    (4096, "p"): int(
        "c6d21aa56929b147f68e1ee0e5df7e33df6636a364a8aa38ae35c677e2fa70fd7af86e396f6abb6f17135616a03e0fbb"
        "79bf65af1f6346e3c9a0ae15866def6ff0804ae153e9368ec242939b2156c1027ff218f08f03b01e7a74bddfbde7b3a7"
        "5fae19d4c3368f985dd1b83cf2c0e6ce51a2886a76a1cbc774497178bf2c10b0b921a4b02cf580a98e16bfcff264ad24"
        "76a30bba8d6ff6181e889832b7afff12c5ad6d74cf791a5b265cc43ad1c98b6dc27c31909051f6426af5c27ee1232c6e"
        "9458eeed825934cfd41286895735a2df344dee6ee4dd0f6eef79f98a7b036c7a55a709667f160e9942140eba92c15519"
        "46e67fffd9f96868eccc556048a4e501",
        16,
    ),
    (4096, "q"): int(
        "e1d62d892e9f51f15e264fc0eb2d55e44950e916b47146a559c66619ee43e0f6a3e5906223943e2b55ba297e14e2dc88"
        "742e11b240e9f754fc25469b01b17217473617e85ff02679466f872b1abba400ee0f94d44a0f77fba8803cce1d73ee49"
        "189c65c7b3dfeaa2a542ea0f8c9a33579fd79346014d20403580fb9358cf95d84afe26e063097a7151829a296e4ae30e"
        "13a5c95dc073d0cde4a667fa6b41f560f7e8ad3a3b352db469417e6f793f40be47c53e1ba13cc452121efd67dbb249d0"
        "a74d9cd25ecd04277ef32ffd8abbfa2b65618db9e5ac9f24a6b6438be3451827f8de2453e1d0018b08ab35f04cd4eb31"
        "04c7a1f2eae278b2a90044af1b86c6cb",
        16,
    ),
}

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def derived(name: str, n: int = 32) -> bytes:
    """`n` bytes named `name`: SHA-256 in counter mode of a fixed string."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(b"coffer token state golden: " + name.encode() + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:n]


# ---------------------------------------------------------------- encodings


def u8(v: int) -> bytes:
    return struct.pack(">B", v)


def u16(v: int) -> bytes:
    return struct.pack(">H", v)


def u32(v: int) -> bytes:
    return struct.pack(">I", v)


def u64(v: int) -> bytes:
    return struct.pack(">Q", v)


def state_str(text: str, max_len: int) -> bytes:
    """`str` of §3.1 (len 1 ..= 64) or §3.2 (len 1 ..= 32)."""
    raw = text.encode("utf-8")
    assert 1 <= len(raw) <= max_len, text
    return u8(len(raw)) + raw


def audit_str(text: str) -> bytes:
    """`str` of the audit format (len 0 ..= 64)."""
    raw = text.encode("utf-8")
    assert len(raw) <= 64, text
    return u8(len(raw)) + raw


class Encoder:
    """Bytes with the name of every field, for `regions` in the facts."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.regions: list[tuple[str, int, int]] = []

    def put(self, name: str, data: bytes) -> None:
        self.regions.append((name, len(self.buf), len(data)))
        self.buf += data

    def nest(self, prefix: str, other: "Encoder") -> None:
        """Appends `other`, its regions renamed `prefix.<name>`."""
        base = len(self.buf)
        for name, offset, length in other.regions:
            self.regions.append((f"{prefix}.{name}", base + offset, length))
        self.buf += other.buf


# ---------------------------------------------------------------- PINs (§3.1 `pin`)


class Pin:
    def __init__(self, pin: bytes, salt_name: str, iterations: int, failures: int) -> None:
        self.pin = pin
        self.salt = derived("pin salt " + salt_name, 16)
        self.iterations = iterations
        self.failures = failures

    def put(self, enc: Encoder, name: str) -> None:
        enc.put(f"{name}.salt", self.salt)
        enc.put(f"{name}.iterations", u32(self.iterations))
        enc.put(f"{name}.hash", hashlib.pbkdf2_hmac("sha256", self.pin, self.salt, self.iterations, 32))
        enc.put(f"{name}.failures", u8(self.failures))

    def fact(self) -> dict:
        return {"pin": self.pin.decode(), "iterations": self.iterations, "failures": self.failures}


def put_opt_pin(enc: Encoder, name: str, pin: Pin | None) -> None:
    if pin is None:
        enc.put(f"{name}.present", u8(0))
    else:
        enc.put(f"{name}.present", u8(1))
        pin.put(enc, name)


# ---------------------------------------------------------------- audit (src/audit/mod.rs § Format)

AUDIT_DOMAIN = b"coffer audit v1"


def key_ref(tenant: str, key_id: str, version: int, handle: int) -> bytes:
    return audit_str(tenant) + audit_str(key_id) + u32(version) + u64(handle)


def ev_token_initialized() -> bytes:
    return u8(0x01)


def ev_login_succeeded(role: int) -> bytes:
    return u8(0x10) + u8(role)


def ev_pin_changed(role: int) -> bytes:
    return u8(0x14) + u8(role)


def ev_key_created(ref: bytes) -> bytes:
    return u8(0x20) + ref


def ev_key_imported(ref: bytes) -> bytes:
    return u8(0x21) + ref


def ev_key_used(ref: bytes, op: int) -> bytes:
    return u8(0x22) + ref + u8(op)


def ev_key_rotated(ref: bytes, new_version: int) -> bytes:
    return u8(0x24) + ref + u32(new_version)


def ev_key_state_changed(ref: bytes, audit_state: int) -> bytes:
    return u8(0x25) + ref + u8(audit_state)


def ev_key_destroyed(ref: bytes) -> bytes:
    return u8(0x26) + ref


def ev_policy_denied(ref: bytes, op: int) -> bytes:
    return u8(0x27) + ref + u8(op)


def ev_key_expiry_set(ref: bytes, expires_at: int) -> bytes:
    return u8(0x28) + ref + u64(expires_at)


def ev_keystore_saved(counter: int) -> bytes:
    return u8(0x31) + u64(counter)


def ev_audit_archived(first_seq: int, count: int) -> bytes:
    return u8(0x32) + u64(first_seq) + u32(count)


OP_WRAP, OP_SIGN, OP_MAC = 0x03, 0x05, 0x08


def audit_mac(audit_key: bytes, prev_mac: bytes, seq: int, time: int, event: bytes) -> bytes:
    return hmac.new(audit_key, AUDIT_DOMAIN + prev_mac + u64(seq) + u64(time) + event, hashlib.sha256).digest()


def chain(audit_key: bytes, first_seq: int, prev_mac: bytes, events: list[tuple[int, bytes]]) -> list[dict]:
    """The records `(time, event)` chained from (`first_seq`, `prev_mac`)."""
    records = []
    mac = prev_mac
    for i, (time, event) in enumerate(events):
        mac = audit_mac(audit_key, mac, first_seq + i, time, event)
        records.append({"seq": first_seq + i, "time": time, "event": event, "mac": mac})
    return records


def audit_log(first_seq: int, prev_mac: bytes, records: list[dict]) -> Encoder:
    """A log (or segment): "CFAL" v1 at the genesis, v2 otherwise."""
    enc = Encoder()
    enc.put("magic", b"CFAL")
    if first_seq == 0 and prev_mac == bytes(32):
        enc.put("version", u8(1))
    else:
        enc.put("version", u8(2))
        enc.put("first_seq", u64(first_seq))
        enc.put("prev_mac", prev_mac)
    enc.put("count", u32(len(records)))
    for i, r in enumerate(records):
        enc.put(f"record[{i}].time", u64(r["time"]))
        enc.put(f"record[{i}].event", r["event"])
        enc.put(f"record[{i}].mac", r["mac"])
    return enc


def records_fact(records: list[dict]) -> list[dict]:
    return [{"seq": r["seq"], "time": r["time"], "event": r["event"].hex(), "mac": r["mac"].hex()} for r in records]


# ---------------------------------------------------------------- key material


def rsa_key(bits: int) -> rsa.RSAPrivateKey:
    p, q = RSA_PRIMES[(bits, "p")], RSA_PRIMES[(bits, "q")]
    e = 65537
    n = p * q
    assert n.bit_length() == bits
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=d % (p - 1),
        dmq1=d % (q - 1),
        iqmp=pow(q, -1, p),
        public_numbers=rsa.RSAPublicNumbers(e, n),
    )
    return numbers.private_key()


def p256_scalar(name: str) -> bytes:
    scalar = derived(name)
    assert 1 <= int.from_bytes(scalar, "big") < P256_ORDER
    return scalar


def spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def p256_public(scalar: bytes):
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1()).public_key()


def self_signed_certificate(key: rsa.RSAPrivateKey, common_name: str) -> bytes:
    """A CA certificate signed with RSASSA-PKCS1-v1_5 SHA-256 (deterministic)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x0C0FFE0001)
        .not_valid_before(datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc))
        .not_valid_after(datetime.datetime(2035, 1, 1, tzinfo=datetime.timezone.utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256(), rsa_padding=padding.PKCS1v15())
    )
    return cert.public_bytes(serialization.Encoding.DER)


class Key:
    """A key object of §3.1 and what its material predicts."""

    def __init__(
        self,
        handle: int,
        key_type: int,
        label: str,
        tenant: str,
        key_id: str,
        usage: int,
        extractable: bool = False,
        created_active: bool = True,
        state: int = ACTIVE,
        expires_at: int = 0,
        latest_version: int = 1,
        versions: list[tuple[int, bytes]] | None = None,
    ) -> None:
        self.handle = handle
        self.key_type = key_type
        self.label = label
        self.tenant = tenant
        self.key_id = key_id
        self.usage = usage
        self.extractable = extractable
        self.created_active = created_active
        self.state = state
        self.expires_at = expires_at
        self.latest_version = latest_version
        self.versions = versions if versions is not None else []

    def ref(self, version: int | None = None) -> bytes:
        return key_ref(self.tenant, self.key_id, self.latest_version if version is None else version, self.handle)

    def put(self, enc: Encoder, name: str, state_version: int) -> None:
        enc.put(f"{name}.handle", u64(self.handle))
        enc.put(f"{name}.type", u8(self.key_type))
        enc.put(f"{name}.label", state_str(self.label, 64))
        enc.put(f"{name}.tenant", state_str(self.tenant, 64))
        enc.put(f"{name}.key_id", state_str(self.key_id, 64))
        enc.put(f"{name}.usage", u8(self.usage))
        enc.put(f"{name}.extractable", u8(int(self.extractable)))
        enc.put(f"{name}.created_active", u8(int(self.created_active)))
        enc.put(f"{name}.state", u8(self.state))
        if state_version >= 3:
            enc.put(f"{name}.expires_at", u64(self.expires_at))
        enc.put(f"{name}.latest_version", u32(self.latest_version))
        assert len(self.versions) <= 1024
        enc.put(f"{name}.version_count", u16(len(self.versions)))
        for i, (number, material) in enumerate(self.versions):
            assert 1 <= len(material) <= 16384
            enc.put(f"{name}.version[{i}].number", u32(number))
            enc.put(f"{name}.version[{i}].material_len", u16(len(material)))
            enc.put(f"{name}.version[{i}].material", material)

    def fact(self, state_version: int) -> dict:
        fact = {
            "handle": self.handle,
            "type": TYPE_NAMES[self.key_type],
            "label": self.label,
            "tenant": self.tenant,
            "key_id": self.key_id,
            "usage": self.usage,
            "extractable": self.extractable,
            "created_active": self.created_active,
            "state": STATE_NAMES[self.state],
            "expires_at": self.expires_at if state_version >= 3 else 0,
            "latest_version": self.latest_version,
            "versions": [number for number, _ in self.versions],
        }
        if not self.versions:
            return fact
        latest = self.versions[-1][1]
        if self.key_type == AES256:
            # The latest version wraps; every version unwraps what it wrapped.
            fact["kw_of_wrap_input"] = aes_key_wrap(latest, WRAP_INPUT).hex()
            fact["kwp_of_wrap_input"] = aes_key_wrap_with_padding(latest, WRAP_INPUT).hex()
            fact["kwp_of_wrap_input_by_version"] = {
                str(number): aes_key_wrap_with_padding(material, WRAP_INPUT).hex() for number, material in self.versions
            }
        elif self.key_type == HMAC_SHA256:
            fact["hmac_of_mac_message"] = hmac.new(latest, MAC_MESSAGE, hashlib.sha256).hexdigest()
        elif self.key_type == P256:
            fact["spki"] = spki(p256_public(latest)).hex()
        elif self.key_type in (RSA2048, RSA3072, RSA4096):
            private = serialization.load_der_private_key(latest, password=None)
            fact["spki"] = spki(private.public_key()).hex()
        elif self.key_type == CERTIFICATE:
            fact["certificate"] = latest.hex()
            fact["spki"] = spki(x509.load_der_x509_certificate(latest).public_key()).hex()
        return fact


def aes(name: str) -> bytes:
    return derived(name)


def pkcs8(key) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


# ---------------------------------------------------------------- §3.1 CFHS


class Token:
    def __init__(
        self,
        label: str,
        so_pin: Pin,
        user_pin: Pin | None,
        auditor_pin: Pin | None,
        next_handle: int,
        audit_key: bytes,
        first_seq: int,
        prev_mac: bytes,
        events: list[tuple[int, bytes]],
        keys: list[Key],
    ) -> None:
        self.label = label
        self.so_pin = so_pin
        self.user_pin = user_pin
        self.auditor_pin = auditor_pin
        self.next_handle = next_handle
        self.audit_key = audit_key
        self.first_seq = first_seq
        self.prev_mac = prev_mac
        self.records = chain(audit_key, first_seq, prev_mac, events)
        self.keys = keys
        for key in keys:
            assert key.handle < next_handle

    def put(self, enc: Encoder, name: str, state_version: int) -> None:
        enc.put(f"{name}.label", state_str(self.label, 64))
        self.so_pin.put(enc, f"{name}.so_pin")
        put_opt_pin(enc, f"{name}.user_pin", self.user_pin)
        put_opt_pin(enc, f"{name}.auditor_pin", self.auditor_pin)
        enc.put(f"{name}.next_handle", u64(self.next_handle))
        enc.put(f"{name}.audit_key", self.audit_key)
        log = audit_log(self.first_seq, self.prev_mac, self.records)
        assert len(log.buf) <= 192 * 1024 * 1024
        enc.put(f"{name}.audit_len", u32(len(log.buf)))
        enc.nest(f"{name}.audit", log)
        assert len(self.keys) <= 1_000_000
        enc.put(f"{name}.key_count", u32(len(self.keys)))
        for i, key in enumerate(self.keys):
            key.put(enc, f"{name}.key[{i}]", state_version)

    def fact(self, state_version: int) -> dict:
        return {
            "label": self.label,
            "so_pin": self.so_pin.fact(),
            "user_pin": self.user_pin.fact() if self.user_pin else None,
            "auditor_pin": self.auditor_pin.fact() if self.auditor_pin else None,
            "next_handle": self.next_handle,
            "audit_key": self.audit_key.hex(),
            "audit_log": bytes(audit_log(self.first_seq, self.prev_mac, self.records).buf).hex(),
            "audit_first_seq": self.first_seq,
            "audit_prev_mac": self.prev_mac.hex(),
            "audit_records": records_fact(self.records),
            "keys": [key.fact(state_version) for key in self.keys],
        }


class Config:
    def __init__(
        self,
        max_pin_failures: int,
        pin_iterations: int,
        allow_plain_import: bool,
        audit_max_records: int,
        audit_reserve: int,
    ) -> None:
        self.max_pin_failures = max_pin_failures
        self.pin_iterations = pin_iterations
        self.allow_plain_import = allow_plain_import
        self.audit_max_records = audit_max_records
        self.audit_reserve = audit_reserve


def cfhs(version: int, config: Config, slots: list[Token | None]) -> Encoder:
    """The §3.1 token state, version 01, 02 or 03."""
    assert version in (1, 2, 3)
    assert config.max_pin_failures >= 1 and config.pin_iterations >= 1
    enc = Encoder()
    enc.put("magic", b"CFHS")
    enc.put("version", u8(version))
    enc.put("max_pin_failures", u8(config.max_pin_failures))
    enc.put("pin_iterations", u32(config.pin_iterations))
    enc.put("allow_plain_import", u8(int(config.allow_plain_import)))
    if version >= 2:
        assert config.audit_max_records <= 1_000_000
        assert 2 <= config.audit_reserve < config.audit_max_records
        enc.put("audit_max_records", u32(config.audit_max_records))
        enc.put("audit_reserve", u32(config.audit_reserve))
    else:
        # Version 01 has neither; a reader takes the defaults (§3.1).
        assert (config.audit_max_records, config.audit_reserve) == (1_000_000, 64)
    assert 1 <= len(slots) <= 64
    enc.put("slot_count", u8(len(slots)))
    for i, token in enumerate(slots):
        if token is None:
            enc.put(f"slot[{i}].present", u8(0))
        else:
            enc.put(f"slot[{i}].present", u8(1))
            token.put(enc, f"slot[{i}]", version)
    return enc


def cfhs_fact(version: int, config: Config, slots: list[Token | None]) -> dict:
    return {
        "state_version": version,
        "max_pin_failures": config.max_pin_failures,
        "pin_iterations": config.pin_iterations,
        "allow_plain_import": config.allow_plain_import,
        "audit_max_records": config.audit_max_records,
        "audit_reserve": config.audit_reserve,
        "slots": [token.fact(version) if token else None for token in slots],
    }


# ---------------------------------------------------------------- §2 sealing


def hkdf(ikm: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(ikm)


def seal(master: bytes, counter: int, nonce: bytes, state: bytes) -> bytes:
    """A `kdf = 0` keystore (§2.1, §4)."""
    assert len(master) == 32 and len(nonce) == 12
    header = b"CFKS" + u8(1) + u8(0) + u64(counter) + nonce
    key = hkdf(master, b"coffer keystore v1")
    return header + AESGCMSIV(key).encrypt(nonce, state, header)


def check_section_11() -> None:
    """The example of §11: this sealing reproduces it, or nothing is written."""
    state = b"coffer keystore golden state v1"
    sealed = seal(bytes(range(32)), 0x0102030405060708, bytes(range(0xA0, 0xAC)), state)
    expected = bytes.fromhex(
        "43464b53" "01" "00" "0102030405060708" "a0a1a2a3a4a5a6a7a8a9aaab"
        "b1e4b75a1d2bdbe2cd9ed0227c74461a3aeecbaa796d1b21f7b1425f20541f"
        "21fc856647688d818f89623bcad54c6b"
    )
    if sealed != expected:
        sys.exit("FAILED: this sealing does not reproduce KEYSTORE.md §11")


# ---------------------------------------------------------------- the golden states

NOW = 1_700_000_000
"""Times of the golden audit records: `NOW + i`."""


def times(events: list[bytes], start: int) -> list[tuple[int, bytes]]:
    return [(start + i, event) for i, event in enumerate(events)]


def golden_cfhs_v3() -> tuple[Encoder, dict]:
    config = Config(
        max_pin_failures=4, pin_iterations=1500, allow_plain_import=True, audit_max_records=4096, audit_reserve=32
    )
    rsa2048 = rsa_key(2048)
    kek = Key(
        1, AES256, "acme wrapping key", "acme", "kek", WRAP | UNWRAP, latest_version=2,
        versions=[(1, aes("v3 kek v1")), (2, aes("v3 kek v2"))],
    )
    mac = Key(
        2, HMAC_SHA256, "acme mac key", "acme", "mac", SIGN | VERIFY, expires_at=1_900_000_000,
        versions=[(1, derived("v3 mac v1"))],
    )
    ecdsa = Key(3, P256, "acme signing key", "acme", "ecdsa", SIGN | VERIFY, versions=[(1, p256_scalar("v3 ecdsa v1"))])
    rsa_k = Key(
        4, RSA2048, "acme rsa key", "acme", "rsa-2048", SIGN | VERIFY, extractable=True, versions=[(1, pkcs8(rsa2048))]
    )
    cert = Key(
        5, CERTIFICATE, "acme certificate", "acme", "rsa-2048-cert", VERIFY,
        versions=[(1, self_signed_certificate(rsa2048, "coffer token state golden CA"))],
    )
    old = Key(7, AES256, "beta old key", "beta", "old", ENCRYPT | DECRYPT, state=DESTROYED, latest_version=3, versions=[])
    expired = Key(
        9, AES256, "beta expired key", "beta", "expired", WRAP | UNWRAP, expires_at=1_750_000_000,
        versions=[(1, aes("v3 expired v1"))],
    )
    staged = Key(
        12, HMAC_SHA256, "beta staged key", "beta", "staged", SIGN | VERIFY, created_active=False, state=PRE_ACTIVE,
        versions=[(1, derived("v3 staged v1"))],
    )
    retired = Key(
        13, AES256, "beta retired key", "beta", "retired", ENCRYPT | DECRYPT | WRAP | UNWRAP | DERIVE,
        extractable=True, state=DEACTIVATED, versions=[(1, aes("v3 retired v1"))],
    )
    keys = [kek, mac, ecdsa, rsa_k, cert, old, expired, staged, retired]
    events = [
        ev_token_initialized(),
        ev_login_succeeded(ROLE_SO),
        ev_pin_changed(ROLE_USER),
        ev_pin_changed(ROLE_AUDITOR),
        ev_login_succeeded(ROLE_USER),
        ev_key_created(kek.ref(1)),
        ev_key_rotated(kek.ref(1), 2),
        ev_key_created(mac.ref()),
        ev_key_expiry_set(mac.ref(), 1_900_000_000),
        ev_key_created(ecdsa.ref()),
        ev_key_imported(rsa_k.ref()),
        ev_key_imported(cert.ref()),
        ev_key_used(mac.ref(), OP_MAC),
        ev_key_destroyed(old.ref()),
        ev_key_created(expired.ref()),
        ev_key_created(staged.ref()),
        ev_key_created(retired.ref()),
        ev_key_state_changed(retired.ref(), DEACTIVATED + 1),
        ev_policy_denied(kek.ref(), OP_SIGN),
    ]
    ledger = Token(
        "ledger-v3",
        Pin(b"so-pin-v3!", "v3 so", 1000, 0),
        Pin(b"user-pin-v3", "v3 user", 1100, 1),
        Pin(b"audit-pin-v3", "v3 auditor", 1200, 0),
        next_handle=20,
        audit_key=derived("v3 ledger audit key"),
        first_seq=0,
        prev_mac=bytes(32),
        events=times(events, NOW),
        keys=keys,
    )
    archive = Token(
        "archive-v3",
        # The security officer is locked: its failures reached max_pin_failures.
        Pin(b"so-pin-archive", "v3 archive so", 1000, 4),
        None,
        None,
        next_handle=1,
        audit_key=derived("v3 archive audit key"),
        first_seq=0,
        prev_mac=bytes(32),
        events=times([ev_token_initialized()], NOW + 100),
        keys=[],
    )
    slots = [ledger, None, archive]
    return cfhs(3, config, slots), cfhs_fact(3, config, slots)


def golden_cfhs_v2() -> tuple[Encoder, dict]:
    config = Config(
        max_pin_failures=3, pin_iterations=1000, allow_plain_import=False, audit_max_records=1000, audit_reserve=8
    )
    rsa3072 = rsa_key(3072)
    kek = Key(1, AES256, "acme wrapping key", "acme", "kek", WRAP | UNWRAP, versions=[(1, aes("v2 kek v1"))])
    mac = Key(2, HMAC_SHA256, "acme mac key", "acme", "mac", SIGN | VERIFY, versions=[(1, derived("v2 mac v1"))])
    ecdsa = Key(3, P256, "acme signing key", "acme", "ecdsa", SIGN | VERIFY, versions=[(1, p256_scalar("v2 ecdsa v1"))])
    rsa_k = Key(5, RSA3072, "acme rsa key", "acme", "rsa-3072", SIGN | VERIFY, versions=[(1, pkcs8(rsa3072))])
    keys = [kek, mac, ecdsa, rsa_k]
    audit_key = derived("v2 ledger audit key")
    # Four records were archived: the log starts at seq 4 (CFAL v2).
    archived = chain(audit_key, 0, bytes(32), times([ev_token_initialized(), ev_login_succeeded(ROLE_SO),
                                                     ev_key_created(kek.ref()), ev_key_created(mac.ref())], NOW))
    events = [
        ev_audit_archived(0, 4),
        ev_key_created(ecdsa.ref()),
        ev_key_imported(rsa_k.ref()),
        ev_key_used(kek.ref(), OP_WRAP),
        ev_keystore_saved(1),
    ]
    ledger = Token(
        "ledger-v2",
        Pin(b"so-pin-v2!", "v2 so", 1000, 0),
        Pin(b"user-pin-v2", "v2 user", 1000, 2),
        Pin(b"audit-pin-v2", "v2 auditor", 1000, 0),
        next_handle=8,
        audit_key=audit_key,
        first_seq=4,
        prev_mac=archived[-1]["mac"],
        events=times(events, NOW + 10),
        keys=keys,
    )
    slots = [ledger]
    fact = cfhs_fact(2, config, slots)
    # What the auditor archived before: a "CFAL" v1 segment from the genesis.
    fact["slots"][0]["archived_segment"] = bytes(audit_log(0, bytes(32), archived).buf).hex()
    return cfhs(2, config, slots), fact


def golden_cfhs_v1() -> tuple[Encoder, dict]:
    # Version 01 has no audit limits: a reader takes the defaults.
    config = Config(
        max_pin_failures=5, pin_iterations=1000, allow_plain_import=True, audit_max_records=1_000_000, audit_reserve=64
    )
    rsa4096 = rsa_key(4096)
    kek = Key(
        1, AES256, "acme wrapping key", "acme", "kek", WRAP | UNWRAP | ENCRYPT | DECRYPT, latest_version=3,
        versions=[(1, aes("v1 kek v1")), (2, aes("v1 kek v2")), (3, aes("v1 kek v3"))],
    )
    mac = Key(2, HMAC_SHA256, "acme mac key", "acme", "mac", SIGN | VERIFY, versions=[(1, derived("v1 mac v1"))])
    rsa_k = Key(3, RSA4096, "acme rsa key", "acme", "rsa-4096", SIGN | VERIFY, versions=[(1, pkcs8(rsa4096))])
    ecdsa = Key(6, P256, "beta signing key", "beta", "ecdsa", SIGN | VERIFY, versions=[(1, p256_scalar("v1 ecdsa v1"))])
    keys = [kek, mac, rsa_k, ecdsa]
    events = [
        ev_token_initialized(),
        ev_login_succeeded(ROLE_SO),
        ev_pin_changed(ROLE_USER),
        ev_pin_changed(ROLE_AUDITOR),
        ev_key_created(kek.ref(1)),
        ev_key_rotated(kek.ref(1), 2),
        ev_key_rotated(kek.ref(2), 3),
        ev_key_created(mac.ref()),
        ev_key_imported(rsa_k.ref()),
        ev_key_created(ecdsa.ref()),
    ]
    ledger = Token(
        "ledger-v1",
        Pin(b"so-pin-v1!", "v1 so", 1000, 0),
        Pin(b"user-pin-v1", "v1 user", 1000, 2),
        Pin(b"audit-pin-v1", "v1 auditor", 1000, 0),
        next_handle=7,
        audit_key=derived("v1 ledger audit key"),
        first_seq=0,
        prev_mac=bytes(32),
        events=times(events, NOW),
        keys=keys,
    )
    slots = [ledger, None]
    return cfhs(1, config, slots), cfhs_fact(1, config, slots)


# ---------------------------------------------------------------- §3.2 CFDS


def device_audit_key(master: bytes) -> bytes:
    return hkdf(master, b"coffer device audit v1")


def golden_cfds_v1() -> tuple[Encoder, dict]:
    max_pin_failures, pin_iterations, audit_reserve = 3, 1000, 4
    so_pin = Pin(b"so-pin-dev", "dev so", 1000, 0)
    user_pin = Pin(b"user-pin-dev", "dev user", 1000, 1)
    auditor_pin = Pin(b"audit-pin-dev", "dev auditor", 1000, 0)
    next_handle = 6
    # (handle, type, key id, usage, extractable, state, material)
    keys = [
        (1, AES256, "kek", ENCRYPT | DECRYPT | WRAP | UNWRAP, False, ACTIVE, aes("dev kek")),
        (2, HMAC_SHA256, "mac", SIGN | VERIFY, True, ACTIVE, derived("dev mac")),
        (3, P256, "ecdsa", SIGN | VERIFY, False, ACTIVE, p256_scalar("dev ecdsa")),
        (4, AES256, "old", ENCRYPT | DECRYPT, False, DESTROYED, bytes(32)),
        (5, HMAC_SHA256, "staged", SIGN | VERIFY, False, PRE_ACTIVE, derived("dev staged")),
    ]

    def ref(handle: int) -> bytes:
        key_id = next(k[2] for k in keys if k[0] == handle)
        return key_ref("", key_id, 1, handle)

    # Three records were exported and released: the log starts at seq 3.
    anchor_seq, anchor_mac = 3, derived("dev anchor mac")
    events = [
        ev_login_succeeded(ROLE_SO),
        ev_key_created(ref(1)),
        ev_key_created(ref(2)),
        ev_key_created(ref(3)),
        ev_key_destroyed(ref(4)),
        ev_key_created(ref(5)),
        ev_login_succeeded(ROLE_USER),
    ]
    records = chain(device_audit_key(MASTER_KEY), anchor_seq, anchor_mac, times(events, NOW + 500))

    enc = Encoder()
    enc.put("magic", b"CFDS")
    enc.put("version", u8(1))
    enc.put("max_pin_failures", u8(max_pin_failures))
    enc.put("pin_iterations", u32(pin_iterations))
    enc.put("audit_reserve", u16(audit_reserve))
    put_opt_pin(enc, "so_pin", so_pin)
    put_opt_pin(enc, "user_pin", user_pin)
    put_opt_pin(enc, "auditor_pin", auditor_pin)
    enc.put("next_handle", u64(next_handle))
    enc.put("key_count", u16(len(keys)))
    for i, (handle, key_type, key_id, usage, extractable, state, material) in enumerate(keys):
        assert 1 <= handle < next_handle and len(material) == 32
        name = f"key[{i}]"
        enc.put(f"{name}.handle", u64(handle))
        enc.put(f"{name}.type", u8(key_type))
        enc.put(f"{name}.key_id", state_str(key_id, 32))
        enc.put(f"{name}.usage", u8(usage))
        enc.put(f"{name}.extractable", u8(int(extractable)))
        enc.put(f"{name}.state", u8(state))
        enc.put(f"{name}.version", u32(1))
        enc.put(f"{name}.material", material)
    enc.put("anchor_seq", u64(anchor_seq))
    enc.put("anchor_mac", anchor_mac)
    enc.put("record_count", u16(len(records)))
    for i, r in enumerate(records):
        assert len(r["event"]) <= 255
        enc.put(f"record[{i}].time", u64(r["time"]))
        enc.put(f"record[{i}].event_len", u8(len(r["event"])))
        enc.put(f"record[{i}].event", r["event"])
        enc.put(f"record[{i}].mac", r["mac"])

    kek_material = keys[0][6]
    key_facts = []
    for handle, key_type, key_id, usage, extractable, state, material in keys:
        fact = {
            "handle": handle,
            "type": TYPE_NAMES[key_type],
            "key_id": key_id,
            "usage": usage,
            "extractable": extractable,
            "state": STATE_NAMES[state],
        }
        if state != DESTROYED:
            if key_type == AES256:
                fact["kwp_of_wrap_input"] = aes_key_wrap_with_padding(material, WRAP_INPUT).hex()
            elif key_type == HMAC_SHA256:
                fact["hmac_of_mac_message"] = hmac.new(material, MAC_MESSAGE, hashlib.sha256).hexdigest()
                # export_wrapped under the key-encryption key: AES-KWP of the material.
                fact["kwp_under_kek"] = aes_key_wrap_with_padding(kek_material, material).hex()
            elif key_type == P256:
                fact["public_point"] = (
                    p256_public(material)
                    .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
                    .hex()
                )
        key_facts.append(fact)
    fact = {
        "max_pin_failures": max_pin_failures,
        "pin_iterations": pin_iterations,
        "audit_reserve": audit_reserve,
        "so_pin": so_pin.fact(),
        "user_pin": user_pin.fact(),
        "auditor_pin": auditor_pin.fact(),
        "next_handle": next_handle,
        "keys": key_facts,
        "audit_key": device_audit_key(MASTER_KEY).hex(),
        "anchor_seq": anchor_seq,
        "anchor_mac": anchor_mac.hex(),
        "audit_records": records_fact(records),
        # The records as audit_export writes them: a "CFAL" v2 segment.
        "audit_segment": bytes(audit_log(anchor_seq, anchor_mac, records).buf).hex(),
    }
    return enc, fact


# ---------------------------------------------------------------- files

# name -> (builder, keystore counter)
GOLDENS = {
    "cfhs_v1.cfks": (golden_cfhs_v1, 1),
    "cfhs_v2.cfks": (golden_cfhs_v2, 2),
    "cfhs_v3.cfks": (golden_cfhs_v3, 3),
    "cfds_v1.cfks": (golden_cfds_v1, 4),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT, help="directory to write into")
    args = parser.parse_args()
    check_section_11()
    args.out.mkdir(parents=True, exist_ok=True)
    facts = {
        "master_key": MASTER_KEY.hex(),
        "wrap_input": WRAP_INPUT.hex(),
        "mac_message": MAC_MESSAGE.hex(),
        "files": {},
    }
    for name, (build, counter) in GOLDENS.items():
        enc, fact = build()
        nonce = derived("keystore nonce " + name, 12)
        sealed = seal(MASTER_KEY, counter, nonce, bytes(enc.buf))
        (args.out / name).write_bytes(sealed)
        fact["keystore_counter"] = counter
        fact["state_len"] = len(enc.buf)
        fact["state_sha256"] = hashlib.sha256(enc.buf).hexdigest()
        fact["regions"] = [[region, offset, length] for region, offset, length in enc.regions]
        facts["files"][name] = fact
        print(f"{hashlib.sha256(sealed).hexdigest()}  {name}")
    text = json.dumps(facts, indent=1, sort_keys=True) + "\n"
    # One line per region: [name, offset, length].
    text = re.sub(r'\[\s+("[^"]*"),\s+(\d+),\s+(\d+)\s+\]', r"[\1, \2, \3]", text)
    (args.out / "facts.json").write_text(text)
    print(f"{hashlib.sha256(text.encode()).hexdigest()}  facts.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
