#!/usr/bin/env python3
"""An independent implementation of coffer's keystore version 2 (record store).

Written from the specification text only: hsm-shim/KEYSTORE.md §12 (records,
sealing, meta record), §13 (tenants, credentials, grants, sealed keys, the
credential's audit binding), §2/§4 (kdf and master key), §3.1 (the `pin` and
`key` encodings that §12 reuses), and the audit event encoding and MAC chain
of the module docs of hsm-shim/src/audit/mod.rs (§ Format). It does not
share code or test data with the Rust implementation.

    python3 make_golden.py                      # writes golden.json beside this file
    python3 make_golden.py --out PATH           # writes it elsewhere
    python3 make_golden.py --read STORE --master-hex HEX64
    python3 make_golden.py --read STORE --kek-hex HEX64     # kdf 02: master key held by a KEK
    python3 make_golden.py --read STORE --passphrase TEXT [--pin [SLOT/]NAME=PIN ...]
    python3 make_golden.py --read STORE --passphrase TEXT \
        --reset-failures [SLOT/]NAME [--repoint-to-creation] --tamper-out ROWS.json

Building is deterministic: running it twice writes the same file byte for
byte. Reading takes a SQLite file (table `coffer_records(k, v)`, opened read
only) or a JSON file {"rows": [[hex key, hex value], ...]}, checks every
record as the spec says and prints a summary; it exits 0 when the store
verifies, 1 with the reason on stderr when it does not, 2 for bad arguments
(a wrong `--pin` included).

The store's key alone opens every record but not the material of keys sealed
under a tenant key (kind 18, §13.3): those are reported `sealed`. Each
`--pin NAME=PIN` derives that credential's wrapping key W (§13.2), opens its
grants (the security officer's: the grant in every tenant record) and with
each tenant key the material of that tenant's sealed keys; it also tries
the tenant keys it holds on the other tenants' sealed keys and reports that
they do not open them (§13.6). Per key with material, the summary prints
HMAC-SHA-256(material of the latest version, CHECK_MESSAGE).

`--reset-failures` is a tamper tool for tests (§13.6): the store must verify
first; it then rewrites the credential's record with failure count 0
(and, with `--repoint-to-creation`, naming its creation audit record),
sealed again under the store keys as §12.2 says, and writes all rows as
JSON to `--tamper-out`.

Needs Python 3.11 and the `cryptography` package (pip install cryptography).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import pathlib
import sqlite3
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
    aes_key_wrap_with_padding,
)

# ---------------------------------------------------------------- constants

# §12.1 record kinds.
KIND_META, KIND_CONFIG, KIND_GENERATION = 0x00, 0x01, 0x02
KIND_TOKEN, KIND_PIN, KIND_KEY, KIND_INDEX, KIND_HEAD, KIND_AUDIT = 0x10, 0x11, 0x12, 0x13, 0x14, 0x15
# §13: credentials, tenants, keys whose material is sealed under a tenant key.
KIND_CREDENTIAL, KIND_TENANT, KIND_SEALED_KEY = 0x16, 0x17, 0x18
KIND_NAMES = {
    KIND_META: "meta",
    KIND_CONFIG: "config",
    KIND_GENERATION: "generation",
    KIND_TOKEN: "token",
    KIND_PIN: "pin",
    KIND_KEY: "key",
    KIND_INDEX: "index",
    KIND_HEAD: "audit_head",
    KIND_AUDIT: "audit_record",
    KIND_CREDENTIAL: "credential",
    KIND_TENANT: "tenant",
    KIND_SEALED_KEY: "sealed_key",
}
# Length of the whole record key of each kind (kind byte included).
KEY_LEN = {
    KIND_META: 1,
    KIND_CONFIG: 1,
    KIND_GENERATION: 1,
    KIND_TOKEN: 2,  # 10 || slot
    KIND_PIN: 3,  # 11 || slot || role
    KIND_KEY: 10,  # 12 || slot || handle (8)
    KIND_INDEX: 34,  # 13 || slot || T (16) || K (16)
    KIND_HEAD: 2,  # 14 || slot
    KIND_AUDIT: 10,  # 15 || slot || seq (8)
    KIND_CREDENTIAL: 18,  # 16 || slot || U (16)
    KIND_TENANT: 18,  # 17 || slot || T (16)
    KIND_SEALED_KEY: 10,  # 18 || slot || handle (8)
}

ROLE_NAMES = {0x01: "so", 0x02: "user", 0x03: "auditor"}  # §12.1 PIN key, audit.rs `role`
KEY_TYPES = {
    0x01: "aes-256",
    0x02: "hmac-sha256",
    0x03: "p-256",
    0x04: "rsa-2048",
    0x05: "rsa-3072",
    0x06: "rsa-4096",
    0x07: "certificate",
}
FIXED_32 = {0x01, 0x02, 0x03}  # §3.1: "32 bytes for AES, HMAC and P-256 scalars"
KEY_TYPES_FIXED_NAMES = {KEY_TYPES[t] for t in FIXED_32}
KEY_STATES = {0x00: "pre-active", 0x01: "active", 0x02: "deactivated", 0x03: "destroyed"}
USAGE_BITS = ["encrypt", "decrypt", "wrap", "unwrap", "sign", "verify", "derive"]

# audit.rs § Format.
AUDIT_DOMAIN = b"coffer audit v1"
AUDIT_OPS = {
    0x01: "encrypt",
    0x02: "decrypt",
    0x03: "wrap",
    0x04: "unwrap",
    0x05: "sign",
    0x06: "verify",
    0x07: "derive",
    0x08: "mac",
    0x09: "seal",
    0x0A: "open",
    0x0B: "rewrap",
    0x0C: "export",
    0x0D: "login",
    0x0E: "show",
    0x0F: "list",
    0x10: "generate",
    0x11: "import",
    0x12: "rotate",
    0x13: "set-state",
    0x14: "set-expiry",
    0x15: "destroy",
    0x16: "shred",
    0x17: "administer",
    0x18: "read-audit",
}
AUDIT_STATES = {0x01: "pre-active", 0x02: "active", 0x03: "deactivated", 0x04: "destroyed"}
# src/audit/mod.rs § Format, `reason` of a Refused event.
AUDIT_REASONS = {
    0x01: "wrong-pin",
    0x02: "pin-locked",
    0x03: "unknown-user",
    0x04: "wrong-role",
    0x05: "other-tenant",
    0x06: "not-in-tenant",
    0x07: "usage-not-allowed",
    0x08: "wrong-state",
    0x09: "expired",
}
MAX_TENANTS_PER_USER = 16

# §12.2, §12.3.
META_MAGIC = b"CFRS"
RECORD_VERSION = 0x02
AD_PREFIX = b"coffer record"
MIN_ITERATIONS, MAX_ITERATIONS = 100_000, 10_000_000
MAX_NAME = 64  # `str` of §3.1 / §12: len 1 ..= 64
MAX_AUDIT_RECORDS = 1_000_000  # §3.1 audit_max_records bound
MAX_VERSIONS = 1024
MAX_MATERIAL = 16384

# §13.
GRANT_LEN = 12 + 32 + 16  # nonce || AES-256-GCM-SIV(W, nonce, TK) with its tag
GRANT_AD = b"coffer tenant grant"
MATERIAL_AD = b"coffer key material"
MATERIAL_OVERHEAD = 12 + 16  # nonce and tag around sealed material
PIN_WRAP = b"coffer pin wrap"
SO_NAME = "so"
TENANT_STATES = {0x00: "no-tenant-key", 0x01: "tenant-key", 0x02: "shredded"}
# The message each key's material (as an HMAC key) authenticates in the summary.
CHECK_MESSAGE = b"coffer keystore v2 reader check"


class StoreRejected(Exception):
    """The store does not verify; `kind` names the error class the spec gives."""

    def __init__(self, kind: str, reason: str):
        super().__init__(f"{kind}: {reason}")
        self.kind = kind


def corrupt(reason: str) -> StoreRejected:
    return StoreRejected("KeystoreCorrupt", reason)


# ---------------------------------------------------------------- primitives


def hkdf32(master: bytes, info: bytes) -> bytes:
    """§4 step 2 style: HKDF-SHA-256, no salt, L = 32."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def hmac256(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


def u32(n: int) -> bytes:
    return struct.pack(">I", n)


def u64(n: int) -> bytes:
    return struct.pack(">Q", n)


def enc_str(s: str, min_len: int = 1) -> bytes:
    b = s.encode("utf-8")
    if not min_len <= len(b) <= MAX_NAME:
        raise ValueError(f"string of {len(b)} bytes out of range")
    return bytes([len(b)]) + b


class RecordKeys:
    """The three keys of §12.2, from the 32-byte master key."""

    def __init__(self, master: bytes):
        if len(master) != 32:
            raise ValueError("the master key is 32 bytes")
        self.seal = hkdf32(master, b"coffer records v2 seal")
        self.index = hkdf32(master, b"coffer records v2 index")
        self.nonce = hkdf32(master, b"coffer records v2 nonce")

    def blinded_tenant(self, tenant: str) -> bytes:
        return hmac256(self.index, b"tenant", enc_str(tenant))[:16]

    def blinded_key(self, tenant: str, key_id: str) -> bytes:
        return hmac256(self.index, b"key", enc_str(tenant), enc_str(key_id))[:16]

    def blinded_user(self, user: str) -> bytes:
        return hmac256(self.index, b"user", enc_str(user))[:16]


def record_ad(record_key: bytes) -> bytes:
    """§12.2: ad = "coffer record" || 02 || record key."""
    return AD_PREFIX + bytes([RECORD_VERSION]) + record_key


class Reader:
    """Strict big-endian decoding; every shortfall is KeystoreCorrupt."""

    def __init__(self, data: bytes, what: str):
        self.data, self.pos, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise corrupt(f"{self.what}: truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack(">Q", self.take(8))[0]

    def flag(self, field: str) -> bool:
        b = self.u8()
        if b not in (0, 1):
            raise corrupt(f"{self.what}: {field} is {b:#04x}, not 00/01")
        return b == 1

    def string(self, field: str, min_len: int = 1) -> str:
        n = self.u8()
        if not min_len <= n <= MAX_NAME:
            raise corrupt(f"{self.what}: {field} length {n} out of {min_len}..={MAX_NAME}")
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError:
            raise corrupt(f"{self.what}: {field} is not UTF-8") from None

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)

    def done(self) -> None:
        if self.pos != len(self.data):
            raise corrupt(f"{self.what}: {len(self.data) - self.pos} trailing bytes")


# ---------------------------------------------------------------- audit events (audit.rs § Format)


def enc_keyref(tenant: str, key_id: str, version: int, handle: int) -> bytes:
    return enc_str(tenant, 0) + enc_str(key_id, 0) + u32(version) + u64(handle)


def dec_event(r: Reader) -> tuple[str, dict]:
    """Decodes one event exactly; returns a readable description and the
    fields §13.4 looks at: `tag`, and where the event has them `actor`
    (user, role name), `op` and `reason` (names)."""
    info: dict = {}

    def keyref() -> str:
        tenant = r.string("tenant", 0)
        key_id = r.string("key_id", 0)
        version, handle = r.u32(), r.u64()
        return f"{json.dumps(tenant)}/{json.dumps(key_id)} v{version} h{handle}"

    def role() -> str:
        code = r.u8()
        if code not in ROLE_NAMES:
            raise corrupt(f"{r.what}: unknown role {code:#04x}")
        return ROLE_NAMES[code]

    def actor() -> str:
        user = r.string("user", 0)
        who = (user, role())
        info["actor"] = who
        return f"{json.dumps(who[0])}({who[1]})"

    def op() -> str:
        code = r.u8()
        if code not in AUDIT_OPS:
            raise corrupt(f"{r.what}: unknown operation {code:#04x}")
        info["op"] = AUDIT_OPS[code]
        return AUDIT_OPS[code]

    tag = r.u8()
    info["tag"] = tag
    return describe_event(r, tag, info, keyref, role, actor, op), info


def describe_event(r: Reader, tag: int, info: dict, keyref, role, actor, op) -> str:
    actor_events = {0x17: "UserRemoved", 0x18: "OwnPinChanged", 0x19: "UserUnblocked"}
    if tag in actor_events:
        return f"{actor_events[tag]} {actor()}"
    if tag == 0x15:
        who = actor()
        return f"UserLoggedIn {who} tenant {json.dumps(r.string('tenant', 0))}"
    if tag == 0x16:
        who = actor()
        count = r.u8()
        if count > MAX_TENANTS_PER_USER:
            raise corrupt(f"{r.what}: {count} tenants")
        tenants = [r.string("tenant", 0) for _ in range(count)]
        return f"UserCreated {who} tenants {json.dumps(tenants)}"
    if tag == 0x1A:
        return f"TenantCreated {json.dumps(r.string('tenant', 0))}"
    if tag == 0x1B:
        return "PassphraseChanged"
    if tag == 0x29:
        who = actor()
        tenant = r.string("tenant", 0)
        has_key = r.u8()
        if has_key not in (0, 1):
            raise corrupt(f"{r.what}: key flag {has_key:#04x}")
        k = keyref() if has_key else "-"
        attempted = op()
        reason = r.u8()
        if reason not in AUDIT_REASONS:
            raise corrupt(f"{r.what}: unknown refusal reason {reason:#04x}")
        info["reason"] = AUDIT_REASONS[reason]
        return f"Refused {who} tenant {json.dumps(tenant)} key {k} {attempted} {AUDIT_REASONS[reason]}"
    role_events = {0x10: "LoginSucceeded", 0x11: "LoginFailed", 0x12: "PinLocked", 0x13: "PinUnblocked", 0x14: "PinChanged"}
    key_events = {0x20: "KeyCreated", 0x21: "KeyImported", 0x23: "KeyExported", 0x26: "KeyDestroyed"}
    if tag == 0x01:
        return "TokenInitialized"
    if tag in role_events:
        return f"{role_events[tag]} {role()}"
    if tag in key_events:
        return f"{key_events[tag]} {keyref()}"
    if tag in (0x22, 0x27):
        k = keyref()
        return f"{'KeyUsed' if tag == 0x22 else 'PolicyDenied'} {k} {op()}"
    if tag == 0x24:
        k = keyref()
        return f"KeyRotated {k} new_version {r.u32()}"
    if tag == 0x25:
        k = keyref()
        st = r.u8()
        if st not in AUDIT_STATES:
            raise corrupt(f"{r.what}: unknown key state {st:#04x}")
        return f"KeyStateChanged {k} {AUDIT_STATES[st]}"
    if tag == 0x28:
        k = keyref()
        return f"KeyExpirySet {k} {r.u64()}"
    if tag == 0x30:
        tenant = r.string("tenant", 0)
        return f"TenantShredded {json.dumps(tenant)} keys {r.u32()}"
    if tag == 0x31:
        return f"KeystoreSaved counter {r.u64()}"
    if tag == 0x32:
        first = r.u64()
        return f"AuditArchived first_seq {first} count {r.u32()}"
    raise corrupt(f"{r.what}: unknown event tag {tag:#04x}")


def audit_mac(audit_key: bytes, prev_mac: bytes, seq: int, time: int, event: bytes) -> bytes:
    return hmac256(audit_key, AUDIT_DOMAIN, prev_mac, u64(seq), u64(time), event)


# ---------------------------------------------------------------- meta record (§12.3)


def meta_header(
    kdf: int, iterations: int | None = None, salt: bytes | None = None, wrapped_master: bytes | None = None
) -> bytes:
    header = META_MAGIC + bytes([RECORD_VERSION, kdf])
    if kdf == 0x01:
        header += u32(iterations) + salt
    if kdf == 0x02:
        header += wrapped_master
    return header


def meta_check_tag(keys: RecordKeys, header: bytes, nonce: bytes) -> bytes:
    # The tag of the empty plaintext: AES-GCM-SIV's output for it is the tag alone.
    return AESGCMSIV(keys.seal).encrypt(nonce, b"", record_ad(bytes([KIND_META])) + header)


# ---------------------------------------------------------------- writer


class Writer:
    """Seals records with the §12.2 nonce rule: HMAC(nonce key, salt || counter)[:12]."""

    def __init__(self, keys: RecordKeys, salt: bytes):
        self.keys, self.salt, self.counter = keys, salt, 0
        self.rows: dict[bytes, bytes] = {}

    def next_nonce(self) -> bytes:
        self.counter += 1
        return hmac256(self.keys.nonce, self.salt, u64(self.counter))[:12]

    def put(self, record_key: bytes, plaintext: bytes) -> None:
        nonce = self.next_nonce()
        self.rows[record_key] = nonce + AESGCMSIV(self.keys.seal).encrypt(nonce, plaintext, record_ad(record_key))

    def put_meta_raw(self) -> None:
        header = meta_header(0x00)
        nonce = self.next_nonce()
        self.rows[bytes([KIND_META])] = header + nonce + meta_check_tag(self.keys, header, nonce)


def enc_pin(pin: bytes, salt: bytes, iterations: int, failures: int) -> bytes:
    digest = hashlib.pbkdf2_hmac("sha256", pin, salt, iterations, 32)
    return salt + u32(iterations) + digest + bytes([failures])


def enc_key(key_type, label, tenant, key_id, usage, extractable, active, state, expires_at, latest, versions) -> bytes:
    out = bytes([key_type]) + enc_str(label) + enc_str(tenant) + enc_str(key_id)
    out += bytes([usage, int(extractable), int(active), state]) + u64(expires_at) + u32(latest)
    out += struct.pack(">H", len(versions))
    for number, material in versions:
        out += u32(number) + struct.pack(">H", len(material)) + material
    return out


GOLDEN_PATH = pathlib.Path(__file__).resolve().parent / "golden.json"


def build_golden() -> dict:
    master = bytes(range(0x00, 0x20))
    keys = RecordKeys(master)
    w = Writer(keys, bytes([0xA5]) * 16)
    slot = 0
    iterations = 1000
    generation = 7
    audit_key = bytes(range(0x40, 0x60))
    webhook_material = bytes(range(0x60, 0x80))
    kek_v1, kek_v2 = bytes(range(0x80, 0xA0)), bytes(range(0xA0, 0xC0))
    usage_sign_verify = (1 << 4) | (1 << 5)
    usage_kek = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3)

    w.put_meta_raw()
    # config: max_pin_failures 5, pin_iterations 1000, allow_plain_import 0,
    # audit_max_records 1000, audit_reserve 10, slot_count 1.
    w.put(bytes([KIND_CONFIG]), bytes([5]) + u32(iterations) + bytes([0]) + u32(1000) + u32(10) + bytes([1]))
    w.put(bytes([KIND_GENERATION]), u64(generation))
    w.put(bytes([KIND_TOKEN, slot]), enc_str("golden") + u64(3) + audit_key)

    pins = [
        (0x01, b"so-pin-1", bytes(range(0x10, 0x20))),
        (0x02, b"user-pin", bytes(range(0x20, 0x30))),
        (0x03, b"audit-pin", bytes(range(0x30, 0x40))),
    ]
    for role, pin, salt in pins:
        w.put(bytes([KIND_PIN, slot, role]), enc_pin(pin, salt, iterations, 0))

    key_rows = [
        (1, 0x02, "acme webhooks", "acme", "webhooks", usage_sign_verify, 1, [(1, webhook_material)]),
        (2, 0x01, "acme kek", "acme", "kek", usage_kek, 2, [(1, kek_v1), (2, kek_v2)]),
    ]
    facts_keys = []
    for handle, key_type, label, tenant, key_id, usage, latest, versions in key_rows:
        value = enc_key(key_type, label, tenant, key_id, usage, False, True, 0x01, 0, latest, versions)
        w.put(bytes([KIND_KEY, slot]) + u64(handle), value)
        index_key = bytes([KIND_INDEX, slot]) + keys.blinded_tenant(tenant) + keys.blinded_key(tenant, key_id)
        w.put(index_key, u64(handle))
        facts_keys.append(
            {
                "handle": handle,
                "type": KEY_TYPES[key_type],
                "label": label,
                "tenant": tenant,
                "key_id": key_id,
                "usage": usage,
                "extractable": False,
                "created_active": True,
                "state": "active",
                "expires_at": 0,
                "latest_version": latest,
                "versions": [n for n, _ in versions],
                "index_record_key": index_key.hex(),
            }
        )

    t0 = 1_700_000_000
    events = [
        ("TokenInitialized", bytes([0x01])),
        ("PinChanged user", bytes([0x14, 0x02])),
        ("PinChanged auditor", bytes([0x14, 0x03])),
        ("KeyCreated acme/webhooks v1 h1", bytes([0x20]) + enc_keyref("acme", "webhooks", 1, 1)),
        ("KeyCreated acme/kek v1 h2", bytes([0x20]) + enc_keyref("acme", "kek", 1, 2)),
        ("KeyRotated acme/kek v2 h2 new_version 2", bytes([0x24]) + enc_keyref("acme", "kek", 2, 2) + u32(2)),
    ]
    prev = bytes(32)
    audit_facts = []
    for seq, (name, event) in enumerate(events):
        time = t0 + seq
        mac = audit_mac(audit_key, prev, seq, time, event)
        w.put(bytes([KIND_AUDIT, slot]) + u64(seq), u64(time) + mac + event)
        audit_facts.append({"seq": seq, "time": time, "event": name, "event_hex": event.hex(), "mac": mac.hex()})
        prev = mac
    head = {"anchor_seq": 0, "anchor_mac": bytes(32).hex(), "next_seq": len(events), "last_mac": prev.hex()}
    w.put(bytes([KIND_HEAD, slot]), u64(0) + bytes(32) + u64(len(events)) + prev)

    # An index entry another tenant would look up for the same key id: the
    # negative tests move acme's sealed entry there.
    globex_index = bytes([KIND_INDEX, slot]) + keys.blinded_tenant("globex") + keys.blinded_key("globex", "webhooks")

    message = b"golden message"
    wrap_input = bytes([0x11]) * 32

    # §12.3 kdf 02: the same master key held by a KEK. Put in place of the
    # meta row, it opens the same records with the KEK alone.
    held_kek = bytes(range(0xC0, 0xE0))
    held_header = meta_header(0x02, wrapped_master=aes_key_wrap(held_kek, master))
    held_nonce = bytes([0x5A]) * 12
    held_meta = held_header + held_nonce + meta_check_tag(keys, held_header, held_nonce)
    return {
        "about": (
            "Keystore version 2 golden records (hsm-shim/KEYSTORE.md §12), written by "
            "vectors/keystore_v2/make_golden.py, an independent Python implementation of the spec. "
            "Never regenerate silently: a change here is a format change."
        ),
        "master_key": master.hex(),
        "nonce_salt": w.salt.hex(),
        "rows": [[k.hex(), v.hex()] for k, v in sorted(w.rows.items())],
        "facts": {
            "generation": generation,
            "config": {
                "max_pin_failures": 5,
                "pin_iterations": iterations,
                "allow_plain_import": False,
                "audit_max_records": 1000,
                "audit_reserve": 10,
                "slot_count": 1,
            },
            "token_label": "golden",
            "next_handle": 3,
            "pins": {"so": "so-pin-1", "user": "user-pin", "auditor": "audit-pin"},
            "keys": facts_keys,
            "hmac_message": message.hex(),
            "hmac_webhooks": hmac256(webhook_material, message).hex(),
            "kwp_input": wrap_input.hex(),
            "kwp_kek_v1": aes_key_wrap_with_padding(kek_v1, wrap_input).hex(),
            "kwp_kek_v2": aes_key_wrap_with_padding(kek_v2, wrap_input).hex(),
            "audit": audit_facts,
            "audit_head": head,
            "globex_webhooks_index_record_key": globex_index.hex(),
            "held_kek": held_kek.hex(),
            "held_meta": held_meta.hex(),
        },
    }


def write_golden(path: pathlib.Path) -> None:
    doc = build_golden()
    rows = doc["rows"]
    doc["rows"] = "@ROWS@"
    # One row per line: readable diffs, and a stable layout.
    rows_text = "[\n" + ",\n".join(f'  ["{k}", "{v}"]' for k, v in rows) + "\n ]"
    text = json.dumps(doc, indent=1, ensure_ascii=False).replace('"@ROWS@"', rows_text, 1) + "\n"
    if json.loads(text)["rows"] != rows:
        raise AssertionError("rows did not survive the layout")
    path.write_bytes(text.encode("utf-8"))
    print(f"wrote {path}")


# ---------------------------------------------------------------- reader


def load_rows(path: str) -> list[tuple[bytes, bytes]]:
    p = pathlib.Path(path)
    with p.open("rb") as f:
        magic = f.read(16)
    if magic == b"SQLite format 3\x00":
        uri = p.resolve().as_uri() + "?mode=ro"
        con = sqlite3.connect(uri, uri=True)
        try:
            rows = con.execute("SELECT k, v FROM coffer_records ORDER BY k").fetchall()
        finally:
            con.close()
        for k, v in rows:
            if not isinstance(k, bytes) or not isinstance(v, bytes):
                raise corrupt("a SQLite row whose key or value is not a BLOB")
        return [(bytes(k), bytes(v)) for k, v in rows]
    doc = json.loads(p.read_text(encoding="utf-8"))
    out = []
    for pair in doc["rows"]:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ValueError("rows must be [hex key, hex value] pairs")
        out.append((bytes.fromhex(pair[0]), bytes.fromhex(pair[1])))
    if len({k for k, _ in out}) != len(out):
        raise ValueError("a key appears twice in the rows")
    return out


def open_sealed(keys: RecordKeys, record_key: bytes, value: bytes) -> bytes:
    """§12.2: nonce (12) || ciphertext || tag; any failure is KeystoreAuth."""
    if len(value) < 12 + 16:
        raise StoreRejected("KeystoreAuth", f"record {record_key.hex()} is shorter than nonce and tag")
    try:
        return AESGCMSIV(keys.seal).decrypt(value[:12], value[12:], record_ad(record_key))
    except InvalidTag:
        raise StoreRejected("KeystoreAuth", f"record {record_key.hex()} does not open") from None


def read_meta(value: bytes) -> tuple[int, int | None, bytes | None, bytes | None, bytes, bytes, bytes]:
    r = Reader(value, "meta record")
    if r.take(4) != META_MAGIC:
        raise corrupt("meta record: magic is not CFRS")
    version = r.u8()
    if version != RECORD_VERSION:
        raise corrupt(f"meta record: version {version:#04x}, not 02")
    kdf = r.u8()
    iterations = salt = wrapped = None
    if kdf == 0x01:
        iterations = r.u32()
        if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
            raise corrupt(f"meta record: iterations {iterations} out of range")
        salt = r.take(16)
    elif kdf == 0x02:
        wrapped = r.take(40)
    elif kdf != 0x00:
        raise corrupt(f"meta record: kdf {kdf:#04x} is reserved")
    header = value[: r.pos]
    nonce, tag = r.take(12), r.take(16)
    r.done()
    return kdf, iterations, salt, wrapped, header, nonce, tag


def decode_config(p: bytes) -> dict:
    r = Reader(p, "config record")
    c = {
        "max_pin_failures": r.u8(),
        "pin_iterations": r.u32(),
        "allow_plain_import": r.flag("allow_plain_import"),
        "audit_max_records": r.u32(),
        "audit_reserve": r.u32(),
        "slot_count": r.u8(),
    }
    r.done()
    if c["max_pin_failures"] < 1 or c["pin_iterations"] < 1:
        raise corrupt("config record: max_pin_failures and pin_iterations must be at least 1")
    if c["audit_max_records"] > MAX_AUDIT_RECORDS:
        raise corrupt("config record: audit_max_records above 1,000,000")
    if not 2 <= c["audit_reserve"] < c["audit_max_records"]:
        raise corrupt("config record: audit_reserve outside 2 ..< audit_max_records")
    if not 1 <= c["slot_count"] <= 64:
        raise corrupt("config record: slot_count outside 1..=64")
    return c


def decode_pin(p: bytes, what: str) -> dict:
    if len(p) != 53:
        raise corrupt(f"{what}: {len(p)} bytes, not 53")
    r = Reader(p, what)
    salt, iterations, digest, failures = r.take(16), r.u32(), r.take(32), r.u8()
    r.done()
    if iterations < 1:
        raise corrupt(f"{what}: iterations 0")
    return {"salt": salt, "iterations": iterations, "hash": digest, "failures": failures}


def decode_key(p: bytes, what: str, sealed: bool = False) -> dict:
    """A `key` of §3.1 without its handle (kind 12), or, with `sealed`, the
    same encoding whose material fields hold sealed material (kind 18, §13.3:
    nonce (12) || ciphertext || tag (16), so `len` is the material's + 28)."""
    overhead = MATERIAL_OVERHEAD if sealed else 0
    r = Reader(p, what)
    key_type = r.u8()
    if key_type not in KEY_TYPES:
        raise corrupt(f"{what}: unknown type {key_type:#04x}")
    k = {"type": KEY_TYPES[key_type], "label": r.string("label"), "tenant": r.string("tenant")}
    k["key_id"] = r.string("key_id")
    k["usage"] = r.u8()
    if k["usage"] & 0x80:
        raise corrupt(f"{what}: usage bit 7 set")
    # The `extractable` byte: bit 0 extractable, bit 1 imported (not local);
    # any other bit is corrupt. Records from before bit 1 read as local.
    flags = r.u8()
    if flags & ~0x03:
        raise corrupt(f"{what}: extractable is {flags:#04x}, not a combination of 01 and 02")
    k["extractable"] = bool(flags & 0x01)
    k["local"] = not flags & 0x02
    k["created_active"] = r.flag("created_active")
    state = r.u8()
    if state not in KEY_STATES:
        raise corrupt(f"{what}: unknown state {state:#04x}")
    k["state"] = KEY_STATES[state]
    k["expires_at"] = r.u64()
    k["latest_version"] = r.u32()
    count = r.u16()
    if count > MAX_VERSIONS:
        raise corrupt(f"{what}: {count} versions, more than {MAX_VERSIONS}")
    versions = []
    for _ in range(count):
        number, length = r.u32(), r.u16()
        if not 1 + overhead <= length <= MAX_MATERIAL + overhead:
            raise corrupt(f"{what}: material field of {length} bytes")
        material = r.take(length)
        if key_type in FIXED_32 and length != 32 + overhead:
            raise corrupt(f"{what}: {k['type']} material field of {length} bytes, not {32 + overhead}")
        versions.append((number, material))
    r.done()
    numbers = [n for n, _ in versions]
    # Interpretation (the spec gives no explicit rule): version numbers are
    # distinct, at least 1, oldest first, and the newest is latest_version.
    if any(n < 1 for n in numbers) or numbers != sorted(set(numbers)):
        raise corrupt(f"{what}: version numbers {numbers} not distinct and ascending")
    if numbers and numbers[-1] != k["latest_version"]:
        raise corrupt(f"{what}: newest version {numbers[-1]} is not latest_version {k['latest_version']}")
    # §3.1: "a destroyed key keeps its record with version_count = 0".
    if (k["state"] == "destroyed") != (count == 0):
        raise corrupt(f"{what}: state {k['state']} with {count} versions")
    k["versions"] = numbers
    k["materials"] = versions
    k["sealed"] = sealed
    return k


# ---------------------------------------------------------------- §13: tenants, credentials, grants


def decode_tenant(p: bytes, what: str) -> dict:
    """§13.1: name str || created (8) || state (1) || [so_grant (60)] (state 01 only)."""
    r = Reader(p, what)
    t = {"name": r.string("name"), "created": r.u64()}
    state = r.u8()
    if state not in TENANT_STATES:
        raise corrupt(f"{what}: unknown state {state:#04x}")
    t["state"] = state
    t["so_grant"] = r.take(GRANT_LEN) if state == 0x01 else None
    r.done()
    return t


def decode_credential(p: bytes, what: str) -> dict:
    """§13.2: name str || role (1) || count (1) || (tenant str || has_grant (1)
    || [grant (60)]) * count || pin (53) || created (8) || last_seq (8) || last_mac (32)."""
    r = Reader(p, what)
    c = {"name": r.string("name")}
    role = r.u8()
    if role not in ROLE_NAMES:
        raise corrupt(f"{what}: unknown role {role:#04x}")
    c["role"] = ROLE_NAMES[role]
    count = r.u8()
    # §13.2: count is 0 for the security officer (named `so`) and an auditor,
    # 1 ..= 16 for a user. (Read as ranges of the record, checked on read.)
    allowed = range(1, MAX_TENANTS_PER_USER + 1) if c["role"] == "user" else range(0, 1)
    if count not in allowed:
        raise corrupt(f"{what}: {c['role']} with {count} tenants")
    if (c["role"] == "so") != (c["name"] == SO_NAME):
        raise corrupt(f"{what}: role {c['role']} with name {json.dumps(c['name'])}")
    c["tenants"] = []
    for _ in range(count):
        tenant = r.string("tenant")
        grant = r.take(GRANT_LEN) if r.flag("has_grant") else None
        c["tenants"].append((tenant, grant))
    names = [t for t, _ in c["tenants"]]
    if len(set(names)) != len(names):
        raise corrupt(f"{what}: a tenant named twice in {names}")
    c["pin_bytes"] = r.take(53)
    c["pin"] = decode_pin(c["pin_bytes"], what + " PIN")
    c["created"], c["last_seq"], c["last_mac"] = r.u64(), r.u64(), r.take(32)
    r.done()
    return c


def enc_credential(c: dict, failures: int, last_seq: int, last_mac: bytes) -> bytes:
    """The §13.2 encoding of a decoded credential with three fields replaced."""
    role = {name: code for code, name in ROLE_NAMES.items()}[c["role"]]
    out = enc_str(c["name"]) + bytes([role, len(c["tenants"])])
    for tenant, grant in c["tenants"]:
        out += enc_str(tenant) + (b"\x01" + grant if grant is not None else b"\x00")
    out += c["pin_bytes"][:52] + bytes([failures])
    return out + u64(c["created"]) + u64(last_seq) + last_mac


def pin_wrapping_key(pin: bytes, p: dict) -> bytes:
    """§13.2: W = PBKDF2-HMAC-SHA-256(PIN, salt || "coffer pin wrap", iterations, 32)."""
    return hashlib.pbkdf2_hmac("sha256", pin, p["salt"] + PIN_WRAP, p["iterations"], 32)


def grant_ad(holder: str, tenant: str) -> bytes:
    return GRANT_AD + enc_str(holder) + enc_str(tenant)


def open_grant(w: bytes, grant: bytes, holder: str, tenant: str) -> bytes | None:
    """§13.2: grant = nonce (12) || AES-256-GCM-SIV(W, nonce, TK, ad); None if it does not open."""
    try:
        tk = AESGCMSIV(w).decrypt(grant[:12], grant[12:], grant_ad(holder, tenant))
    except InvalidTag:
        return None
    return tk if len(tk) == 32 else None


def material_ad(slot: int, handle: int, version: int) -> bytes:
    """§13.3: "coffer key material" || slot (1) || handle (8) || version (4)."""
    return MATERIAL_AD + bytes([slot]) + u64(handle) + u32(version)


def open_material(tk: bytes, slot: int, handle: int, version: int, field: bytes) -> bytes | None:
    try:
        return AESGCMSIV(tk).decrypt(field[:12], field[12:], material_ad(slot, handle, version))
    except InvalidTag:
        return None


def credential_change(info: dict) -> tuple[str, str, str] | None:
    """§13.4: whether an audit event is about a change of a credential, and
    which: (user, role, implication), implication one of `creation` (any
    failure count), `zero`, `wrong` (1 ..= max - 1, adds one) and `locked`
    (>= max). None for every other event."""
    tag = info["tag"]
    if tag == 0x01:  # TokenInitialized: creation of the security officer
        return SO_NAME, "so", "creation"
    user, role = info.get("actor", (None, None))
    if tag == 0x16:  # UserCreated
        return user, role, "creation"
    if tag in (0x15, 0x18):  # UserLoggedIn, OwnPinChanged
        return user, role, "zero"
    if tag == 0x19:  # UserUnblocked: zero, from any state
        return user, role, "unblocked"
    if tag == 0x17:  # UserRemoved: only the replay looks at it
        return user, role, "removed"
    if tag == 0x29:  # Refused
        implications = {"wrong-pin": "wrong", "pin-locked": "locked", "not-in-tenant": "zero"}
        op, reason = info["op"], info["reason"]
        if op == "login" and reason in implications:
            return user, role, implications[reason]
        # Interpretation (finding): §13.4 names "Refused with operation
        # administer" as a refused change of one's own PIN, and its table
        # lists only the reasons wrong-pin / pin-locked / not-in-tenant. A
        # refused administer with another reason (a user trying an SO
        # operation: wrong-role) writes no credential, so only these two count.
        if op == "administer" and reason in ("wrong-pin", "pin-locked"):
            return user, role, implications[reason]
    return None


def count_agrees(implication: str, failures: int, max_failures: int) -> bool:
    """§13.4's table: what the named record implies for the failure count."""
    if implication == "creation":
        return True
    if implication in ("zero", "unblocked"):
        return failures == 0
    if implication == "removed":
        return False
    if implication == "wrong":
        return 1 <= failures <= max_failures - 1
    return failures >= max_failures  # locked


def check_binding(slot: int, c: dict, events: list[dict], head: dict, max_failures: int) -> None:
    """§13.4, both checks: the named record (what a login checks) and the
    replay of the live chain (what audit_verify checks)."""
    who = f"slot {slot}: credential {json.dumps(c['name'])}"
    named, failures = c["last_seq"], c["pin"]["failures"]
    live = {e["seq"]: e for e in events}

    def tampered(why: str) -> StoreRejected:
        return StoreRejected("AuditTampered", f"{who}: {why}")

    def about(e: dict) -> tuple[str, str, str] | None:
        change = credential_change(e["info"])
        return change if change is not None and change[:2] == (c["name"], c["role"]) else None

    if named >= head["anchor_seq"]:  # not archived: it must be there, and agree
        record = live.get(named)
        if record is None:
            raise tampered(f"names audit record {named}, which is not a live record (index {named})")
        if not hmac.compare_digest(record["mac"], c["last_mac"]):
            raise tampered(f"names audit record {named} with another MAC (index {named})")
        change = about(record)
        if change is None:
            raise tampered(f"names audit record {named}, which is not about it: {record['description']} (index {named})")
        if not count_agrees(change[2], failures, max_failures):
            raise tampered(
                f"failure count {failures} disagrees with the record it names, {record['description']} (index {named})"
            )
    # The replay (§13.4): the changes must follow each other as they can —
    # after a lock only another lock or an unblock, after a removal only a
    # new creation — and the count replayed from the last record that fixes
    # it must agree.
    last, replayed, locked, removed = None, None, False, False
    for e in events:
        change = about(e)
        if change is None:
            continue
        implication = change[2]
        if implication in ("zero", "wrong") and (locked or removed):
            raise tampered(f"{e['description']} cannot follow a lock or a removal (index {e['seq']})")
        if implication in ("unblocked", "locked", "removed") and removed:
            raise tampered(f"{e['description']} cannot follow a removal (index {e['seq']})")
        last = e["seq"]
        if implication == "creation":
            replayed, locked, removed = None, False, False
        elif implication in ("zero", "unblocked"):
            replayed, locked = 0, False
        elif implication == "locked":
            replayed, locked = "locked", True
        elif implication == "removed":
            removed = True
        elif isinstance(replayed, int):
            replayed += 1
    if removed:
        raise tampered(f"was removed by audit record {last}, yet its record is there (index {last})")
    if last is not None and last != named:
        raise tampered(f"names audit record {named}, but the last live record about it is {last} (index {last})")
    if isinstance(replayed, int) and replayed != failures:
        raise tampered(f"failure count {failures}, the replayed chain gives {replayed} (index {last})")
    if replayed == "locked" and failures < max_failures:
        raise tampered(f"failure count {failures}, the replayed chain says locked (index {last})")


class BadPin(Exception):
    """A `--pin` that names no credential, or does not match its PIN hash (exit 2)."""


def verify_store(
    rows: list[tuple[bytes, bytes]],
    master: bytes | None,
    passphrase: bytes | None,
    pin_args: list[tuple[int | None, str, bytes]] | None = None,
    kek: bytes | None = None,
) -> dict:
    """Checks every record; `pin_args` are (slot or None for every slot, credential
    name, PIN) whose grants to open (§13.2) for the material of sealed keys."""
    by_key = dict(rows)
    counts = {name: 0 for name in KIND_NAMES.values()}
    ignored = 0
    grouped: dict[int, list[tuple[bytes, bytes]]] = {k: [] for k in KIND_NAMES}
    for k, v in sorted(rows):
        if not k:
            raise corrupt("an empty record key")
        if k[0] not in KIND_NAMES:
            ignored += 1  # §12.7: readers ignore kinds they do not know
            continue
        if len(k) != KEY_LEN[k[0]]:
            raise corrupt(f"record key {k.hex()}: {len(k)} bytes, not {KEY_LEN[k[0]]} for kind {KIND_NAMES[k[0]]}")
        counts[KIND_NAMES[k[0]]] += 1
        grouped[k[0]].append((k, v))

    # §12.3: the meta record first, then its check tag, before any other record.
    meta = by_key.get(bytes([KIND_META]))
    if meta is None:
        raise StoreRejected("TokenState", "no meta record: the store holds no HSM")
    kdf, iterations, salt, wrapped, header, check_nonce, check_tag = read_meta(meta)
    if kdf == 0x00:
        if master is None:
            raise StoreRejected("KeystoreAuth", "the store is sealed under a raw master key; no master key was given")
    elif kdf == 0x01:
        if passphrase is None:
            raise StoreRejected("KeystoreAuth", "the store is sealed under a passphrase; no passphrase was given")
        master = hashlib.pbkdf2_hmac("sha256", passphrase, salt, iterations, 32)
    else:
        if kek is None:
            raise StoreRejected("KeystoreAuth", "the store's master key is held by a KEK; no KEK was given")
        try:
            master = aes_key_unwrap(kek, wrapped)
        except InvalidUnwrap:
            raise StoreRejected("KeystoreAuth", "the wrapped master key does not unwrap: another KEK, or it was changed")
        if len(master) != 32:
            raise StoreRejected("KeystoreAuth", f"the held master key is {len(master)} bytes, not 32")
    keys = RecordKeys(master)
    if not hmac.compare_digest(meta_check_tag(keys, header, check_nonce), check_tag):
        raise StoreRejected("KeystoreAuth", "meta check tag does not verify: wrong key, or the meta record was changed")

    def only(kind: int) -> bytes:
        entries = grouped[kind]
        if len(entries) != 1:
            raise corrupt(f"{len(entries)} {KIND_NAMES[kind]} records, not 1")
        return open_sealed(keys, *entries[0])

    config = decode_config(only(KIND_CONFIG))
    gen_plain = only(KIND_GENERATION)
    if len(gen_plain) != 8:
        raise corrupt(f"generation record: {len(gen_plain)} bytes, not 8")
    generation = struct.unpack(">Q", gen_plain)[0]
    slot_count = config["slot_count"]

    def check_slot(k: bytes) -> int:
        if k[1] >= slot_count:
            raise corrupt(f"record {k.hex()}: slot {k[1]} not below slot_count {slot_count}")
        return k[1]

    tokens = {}
    for k, v in grouped[KIND_TOKEN]:
        r = Reader(open_sealed(keys, k, v), f"token record {k.hex()}")
        label, next_handle, audit_key = r.string("label"), r.u64(), r.take(32)
        r.done()
        if next_handle < 1:
            raise corrupt(f"token record {k.hex()}: next_handle 0")
        tokens[check_slot(k)] = {"label": label, "next_handle": next_handle, "audit_key": audit_key}

    def token_of(k: bytes) -> dict:
        slot = check_slot(k)
        if slot not in tokens:
            raise corrupt(f"record {k.hex()} belongs to slot {slot}, which holds no token")
        return tokens[slot]

    pins = {}
    for k, v in grouped[KIND_PIN]:
        token_of(k)
        if k[2] not in ROLE_NAMES:
            raise corrupt(f"PIN record {k.hex()}: unknown role {k[2]:#04x}")
        pins[(k[1], ROLE_NAMES[k[2]])] = decode_pin(open_sealed(keys, k, v), f"PIN record {k.hex()}")

    key_objs = {}
    for kind in (KIND_KEY, KIND_SEALED_KEY):
        for k, v in grouped[kind]:
            token = token_of(k)
            handle = struct.unpack(">Q", k[2:10])[0]
            what = f"{KIND_NAMES[kind].replace('_', ' ')} record slot {k[1]} handle {handle}"
            if not 1 <= handle < token["next_handle"]:
                raise corrupt(f"{what}: handle not in 1 ..< next_handle {token['next_handle']}")
            # Interpretation (finding): §13.3 says a reader looks a handle up
            # under kind 18 first, then 12, but not whether both may exist; a
            # writer never leaves both (a key is of one kind), so both is corrupt.
            if (k[1], handle) in key_objs:
                raise corrupt(f"{what}: the handle has both a key (12) and a sealed key (18) record")
            key_objs[(k[1], handle)] = decode_key(open_sealed(keys, k, v), what, sealed=kind == KIND_SEALED_KEY)

    # §13.1 tenant records and §13.2 credential records, each under its
    # blinded name (T, U of §12.1).
    tenant_recs: dict[int, dict[str, dict]] = {}
    for k, v in grouped[KIND_TENANT]:
        token_of(k)
        t = decode_tenant(open_sealed(keys, k, v), f"tenant record {k.hex()}")
        if k[2:] != keys.blinded_tenant(t["name"]):
            raise corrupt(f"tenant record {k.hex()}: its name {json.dumps(t['name'])} blinds to another T")
        tenant_recs.setdefault(k[1], {})[t["name"]] = t
    credentials: dict[int, dict[str, dict]] = {}
    credential_keys: dict[tuple[int, str], bytes] = {}
    for k, v in grouped[KIND_CREDENTIAL]:
        token_of(k)
        c = decode_credential(open_sealed(keys, k, v), f"credential record {k.hex()}")
        if k[2:] != keys.blinded_user(c["name"]):
            raise corrupt(f"credential record {k.hex()}: its name {json.dumps(c['name'])} blinds to another U")
        credentials.setdefault(k[1], {})[c["name"]] = c
        credential_keys[(k[1], c["name"])] = k
    for slot, creds in credentials.items():
        # §13.5: the conversion deletes the role PIN records in the
        # transaction that writes the credentials.
        legacy = sorted(role for (sl, role) in pins_legacy_roles(grouped[KIND_PIN]) if sl == slot)
        if legacy:
            raise corrupt(f"slot {slot}: credential records beside role PIN records {legacy} (§13.5 converts them in one transaction)")
        tenants_here = tenant_recs.get(slot, {})
        for name, c in creds.items():
            for tenant, grant in c["tenants"]:
                t = tenants_here.get(tenant)
                if t is None:
                    raise corrupt(f"slot {slot}: credential {json.dumps(name)} is bound to tenant {json.dumps(tenant)}, which has no tenant record")
                # §13.2: has_grant is 00 for a tenant without a tenant key;
                # §13: one grant per credential of a tenant with one.
                if (grant is not None) != (t["state"] == 0x01):
                    raise corrupt(
                        f"slot {slot}: credential {json.dumps(name)}: has_grant {int(grant is not None)} for tenant "
                        f"{json.dumps(tenant)} in state {t['state']:02x}"
                    )
    for (slot, handle), obj in key_objs.items():
        t = tenant_recs.get(slot, {}).get(obj["tenant"])
        what = f"key slot {slot} handle {handle} of tenant {json.dumps(obj['tenant'])}"
        if t is None:
            # A store from before credentials (§13.5) has no tenant records;
            # once converted, every tenant with keys has one.
            if obj["sealed"] or slot in credentials:
                raise corrupt(f"{what}: the tenant has no tenant record")
            continue
        if obj["sealed"] and t["state"] == 0x00:
            raise corrupt(f"{what}: a sealed key (18) of a tenant without a tenant key")
        if not obj["sealed"] and t["state"] == 0x01:
            raise corrupt(f"{what}: material in the clear (12) in a tenant with a tenant key")
        if t["state"] == 0x02 and obj["versions"]:
            raise corrupt(f"{what}: the tenant is shredded, the key still has versions")

    # Blinded index: every entry opens, names an existing key of the same
    # tenant and key id, and every key has exactly its own entry.
    indexed = {}
    for k, v in grouped[KIND_INDEX]:
        token_of(k)
        plain = open_sealed(keys, k, v)
        if len(plain) != 8:
            raise corrupt(f"index record {k.hex()}: {len(plain)} bytes, not 8")
        handle = struct.unpack(">Q", plain)[0]
        obj = key_objs.get((k[1], handle))  # kind 12 or 18: one index for both (§13.3)
        if obj is None:
            raise corrupt(f"index record {k.hex()} names handle {handle}, which has no key record")
        want = bytes([KIND_INDEX, k[1]]) + keys.blinded_tenant(obj["tenant"]) + keys.blinded_key(obj["tenant"], obj["key_id"])
        if want != k:
            raise corrupt(f"index record {k.hex()} names handle {handle}, whose tenant and key id blind to {want.hex()}")
        if (k[1], handle) in indexed:
            raise corrupt(f"two index records name slot {k[1]} handle {handle}")
        indexed[(k[1], handle)] = k
    for (slot, handle), obj in key_objs.items():
        if (slot, handle) not in indexed:
            raise corrupt(f"key slot {slot} handle {handle} ({obj['tenant']}/{obj['key_id']}) has no index record")

    # Audit: head per initialized slot, live records anchor_seq ..< next_seq, chained.
    heads = {}
    for k, v in grouped[KIND_HEAD]:
        token_of(k)
        r = Reader(open_sealed(keys, k, v), f"audit head {k.hex()}")
        heads[k[1]] = {"anchor_seq": r.u64(), "anchor_mac": r.take(32), "next_seq": r.u64(), "last_mac": r.take(32)}
        r.done()
        if heads[k[1]]["anchor_seq"] > heads[k[1]]["next_seq"]:
            raise corrupt(f"audit head {k.hex()}: anchor_seq above next_seq")
    for slot in tokens:
        if slot not in heads:
            raise corrupt(f"slot {slot} holds a token but no audit head")
    audit_rows: dict[int, dict[int, bytes]] = {}
    for k, v in grouped[KIND_AUDIT]:
        token_of(k)
        audit_rows.setdefault(k[1], {})[struct.unpack(">Q", k[2:10])[0]] = open_sealed(keys, k, v)
    audit = {}
    for slot, head in sorted(heads.items()):
        present = audit_rows.get(slot, {})
        live = range(head["anchor_seq"], head["next_seq"])
        stray = sorted(s for s in present if s not in live)
        if stray:
            raise StoreRejected("AuditTampered", f"slot {slot}: audit records {stray} outside the live range {live.start}..<{live.stop}")
        prev = head["anchor_mac"]
        events = []
        for i, seq in enumerate(live):
            if seq not in present:
                raise StoreRejected("AuditTampered", f"slot {slot}: audit record seq {seq} (index {i}) is missing")
            r = Reader(present[seq], f"audit record slot {slot} seq {seq}")
            time, mac = r.u64(), r.take(32)
            event_bytes = r.rest()
            er = Reader(event_bytes, r.what)
            description, info = dec_event(er)
            er.done()
            if not hmac.compare_digest(audit_mac(tokens[slot]["audit_key"], prev, seq, time, event_bytes), mac):
                raise StoreRejected("AuditTampered", f"slot {slot}: audit record seq {seq} (index {i}) does not verify")
            events.append({"seq": seq, "time": time, "description": description, "info": info, "mac": mac})
            prev = mac
        if not hmac.compare_digest(prev, head["last_mac"]):
            raise StoreRejected("AuditTampered", f"slot {slot}: the last live record is not the head's")
        audit[slot] = events

    # §13.4: every credential against the chain.
    for slot, creds in sorted(credentials.items()):
        for name in sorted(creds):
            check_binding(slot, creds[name], audit[slot], heads[slot], config["max_pin_failures"])

    # §13.2: the grants the given PINs open, then §13.3 the material.
    tenant_keys: dict[int, dict[str, bytes]] = {}
    unlocked: dict[tuple[int, str], list[str]] = {}
    for want_slot, name, pin in pin_args or []:
        slots = [sl for sl in sorted(credentials) if name in credentials[sl] and want_slot in (None, sl)]
        if not slots:
            raise BadPin(f"no credential {json.dumps(name)}" + (f" in slot {want_slot}" if want_slot is not None else ""))
        for slot in slots:
            c = credentials[slot][name]
            p = c["pin"]
            if not hmac.compare_digest(hashlib.pbkdf2_hmac("sha256", pin, p["salt"], p["iterations"], 32), p["hash"]):
                raise BadPin(f"the PIN given for credential {slot}/{name} does not match its PIN hash")
            w = pin_wrapping_key(pin, p)
            if c["role"] == "so":  # §13.2: the SO's grants are in the tenant records
                grants = [(t, rec["so_grant"]) for t, rec in sorted(tenant_recs.get(slot, {}).items()) if rec["so_grant"]]
            else:
                grants = [(t, g) for t, g in c["tenants"] if g is not None]
            opened = []
            for tenant, grant in grants:
                tk = open_grant(w, grant, name, tenant)
                if tk is None:
                    raise StoreRejected("KeystoreAuth", f"slot {slot}: the grant of tenant {json.dumps(tenant)} to {json.dumps(name)} does not open under its W")
                known = tenant_keys.setdefault(slot, {})
                if tenant in known and known[tenant] != tk:
                    raise StoreRejected("KeystoreAuth", f"slot {slot}: two grants of tenant {json.dumps(tenant)} give different tenant keys")
                known[tenant] = tk
                opened.append(tenant)
            unlocked[(slot, name)] = opened
    materials = {}
    for (slot, handle), obj in sorted(key_objs.items()):
        materials[(slot, handle)] = key_material(slot, handle, obj, tenant_keys.get(slot, {}))

    return {
        "counts": counts,
        "ignored": ignored,
        "generation": generation,
        "config": config,
        "kdf": kdf,
        "tokens": tokens,
        "pins": pins,
        "keys": key_objs,
        "heads": heads,
        "audit": audit,
        "tenants": tenant_recs,
        "credentials": credentials,
        "credential_keys": credential_keys,
        "unlocked": unlocked,
        "materials": materials,
        "record_keys": keys,
    }


def pins_legacy_roles(entries: list[tuple[bytes, bytes]]) -> list[tuple[int, str]]:
    return [(k[1], ROLE_NAMES.get(k[2], f"{k[2]:#04x}")) for k, _ in entries]


def key_material(slot: int, handle: int, obj: dict, tenant_keys: dict[str, bytes]) -> dict:
    """What the reader can see of a key's material: `none` (destroyed),
    `clear` (kind 12), `opened` (kind 18, its tenant key known) or `sealed`;
    for a sealed key, the tenant keys of other tenants it was tried with and
    which (§13.6) must not open it."""
    tenant = obj["tenant"]
    out = {"tenant": tenant, "refused_by": []}
    if not obj["materials"]:
        out["status"] = "none"
        return out
    if not obj["sealed"]:
        out["status"], out["material"] = "clear", obj["materials"][-1][1]
        return out
    what = f"slot {slot}: sealed key handle {handle} of tenant {json.dumps(tenant)}"
    tk = tenant_keys.get(tenant)
    if tk is None:
        for other, other_tk in sorted(tenant_keys.items()):
            for number, field in obj["materials"]:
                if open_material(other_tk, slot, handle, number, field) is not None:
                    raise StoreRejected("TenantKeyShared", f"{what}: version {number} opens under the tenant key of {json.dumps(other)}")
            out["refused_by"].append(other)
        out["status"] = "sealed"
        return out
    material = None
    for number, field in obj["materials"]:
        material = open_material(tk, slot, handle, number, field)
        if material is None:
            raise StoreRejected("KeystoreAuth", f"{what}: version {number} does not open under its tenant key")
        if obj["type"] in KEY_TYPES_FIXED_NAMES and len(material) != 32:
            raise corrupt(f"{what}: version {number}: {obj['type']} material of {len(material)} bytes, not 32")
    out["status"], out["material"] = "opened", material
    return out


def print_summary(s: dict) -> None:
    """One fact per line, `name: value`, so that other programs can read it."""
    print("store: verified")
    print("records: " + " ".join(f"{name}={n}" for name, n in s["counts"].items()) + f" ignored={s['ignored']}")
    print(f"kdf: {['raw', 'pbkdf2', 'held'][s['kdf']]}")
    print(f"generation: {s['generation']}")
    c = s["config"]
    print(
        "config: "
        + " ".join(f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in c.items())
    )
    for slot, t in sorted(s["tokens"].items()):
        roles = [role for (sl, role) in sorted(s["pins"]) if sl == slot]
        keys = [h for (sl, h) in s["keys"] if sl == slot]
        creds = sorted(s["credentials"].get(slot, {}))
        print(
            f"slot {slot}: label={json.dumps(t['label'])} next_handle={t['next_handle']} keys={len(keys)} "
            f"pins={','.join(roles) or '-'} credentials={','.join(creds) or '-'}"
        )
    for (slot, role), p in sorted(s["pins"].items()):
        print(f"pin {slot}/{role}: iterations={p['iterations']} failures={p['failures']}")
    for slot, tenants in sorted(s["tenants"].items()):
        for name, t in sorted(tenants.items()):
            print(f"tenant {slot}/{name}: state={TENANT_STATES[t['state']]} created={t['created']} so_grant={int(t['so_grant'] is not None)}")
    for slot, creds in sorted(s["credentials"].items()):
        for name, c in sorted(creds.items()):
            tenants = ",".join(json.dumps(t) for t, _ in c["tenants"]) or "-"
            print(
                f"credential {slot}/{name}: role={c['role']} tenants={tenants} grants={sum(g is not None for _, g in c['tenants'])} "
                f"iterations={c['pin']['iterations']} failures={c['pin']['failures']} created={c['created']} "
                f"last_seq={c['last_seq']} binding=verified"
            )
    for (slot, name), opened in sorted(s["unlocked"].items()):
        print(f"unlocked {slot}/{name}: tenant_keys={','.join(json.dumps(t) for t in opened) or '-'}")
    for (slot, handle), k in sorted(s["keys"].items()):
        usage = ",".join(name for bit, name in enumerate(USAGE_BITS) if k["usage"] >> bit & 1) or "-"
        print(
            f"key {slot}/{handle}: type={k['type']} tenant={json.dumps(k['tenant'])} key_id={json.dumps(k['key_id'])} "
            f"label={json.dumps(k['label'])} state={k['state']} usage={usage} extractable={int(k['extractable'])} "
            f"local={int(k['local'])} created_active={int(k['created_active'])} expires_at={k['expires_at']} latest={k['latest_version']} "
            f"versions={','.join(map(str, k['versions'])) or '-'} sealed={int(k['sealed'])}"
        )
    for (slot, handle), m in sorted(s["materials"].items()):
        line = f"material {slot}/{handle}: {m['status']} tenant={json.dumps(m['tenant'])}"
        if "material" in m:
            line += f" hmac={hmac256(m['material'], CHECK_MESSAGE).hex()}"
        if m["status"] == "sealed":
            line += f" refused_by={','.join(json.dumps(t) for t in m['refused_by']) or '-'}"
        print(line)
    tenants = sorted({k["tenant"] for k in s["keys"].values()} | {t for ts in s["tenants"].values() for t in ts})
    print("tenants: " + (",".join(json.dumps(t) for t in tenants) or "-"))
    for slot, events in sorted(s["audit"].items()):
        h = s["heads"][slot]
        print(f"audit {slot}: verified={len(events)} anchor_seq={h['anchor_seq']} next_seq={h['next_seq']}")
        for e in events:
            print(f"audit {slot}/{e['seq']}: time={e['time']} {e['description']}")


def parse_credential_arg(text: str) -> tuple[int | None, str]:
    """`NAME` or `SLOT/NAME`."""
    slot, sep, name = text.partition("/")
    if not sep:
        return None, text
    if not slot.isdigit():
        raise ValueError(f"{text!r}: the slot before / is not a number")
    return int(slot), name


def reset_failures(summary: dict, target: tuple[int | None, str], repoint: bool, rows: list[tuple[bytes, bytes]]) -> tuple[list[tuple[bytes, bytes]], str]:
    """The tamper of §13.6: the credential's failure count set to 0 (and, with
    `repoint`, its last_seq/last_mac set to its creation record), the record
    sealed again under the store keys (§12.2, a fresh nonce)."""
    want_slot, name = target
    slots = [sl for sl in sorted(summary["credentials"]) if name in summary["credentials"][sl] and want_slot in (None, sl)]
    if len(slots) != 1:
        raise BadPin(f"--reset-failures {name}: {len(slots)} credentials of that name, not 1 (give SLOT/NAME)")
    slot = slots[0]
    c = summary["credentials"][slot][name]
    last_seq, last_mac = c["last_seq"], c["last_mac"]
    if repoint:
        created = [
            e for e in summary["audit"][slot]
            if (change := credential_change(e["info"])) is not None and change[:2] == (name, c["role"]) and change[2] == "creation"
        ]
        if not created:
            raise BadPin(f"--repoint-to-creation: credential {name}'s creation record is not live")
        last_seq, last_mac = created[-1]["seq"], created[-1]["mac"]
    key = summary["credential_keys"][(slot, name)]
    plaintext = enc_credential(c, 0, last_seq, last_mac)
    w = Writer(summary["record_keys"], os.urandom(16))
    w.put(key, plaintext)
    out = [(k, w.rows[key] if k == key else v) for k, v in rows]
    note = f"credential {slot}/{name}: failures {c['pin']['failures']}->0 last_seq {c['last_seq']}->{last_seq}"
    return out, note


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="where to write golden.json (default: beside this script)")
    ap.add_argument("--read", metavar="STORE", help="verify a store: a SQLite file or a JSON rows file")
    ap.add_argument("--master-hex", help="the 32-byte master key, 64 hex digits (kdf 00)")
    ap.add_argument("--passphrase", help="the passphrase (kdf 01), used as its UTF-8 bytes")
    ap.add_argument("--kek-hex", help="the AES-256 KEK that holds the master key (kdf 02), 64 hex digits")
    ap.add_argument(
        "--pin", action="append", default=[], metavar="[SLOT/]NAME=PIN",
        help="a credential's PIN (UTF-8): open its grants and its tenants' sealed key material (repeatable)",
    )
    ap.add_argument("--reset-failures", metavar="[SLOT/]NAME", help="tamper: rewrite the credential with failure count 0")
    ap.add_argument("--repoint-to-creation", action="store_true", help="with --reset-failures: also name its creation audit record")
    ap.add_argument("--tamper-out", metavar="ROWS.json", help="with --reset-failures: where to write the tampered rows")
    args = ap.parse_args(argv)
    if args.read is None:
        if args.master_hex or args.passphrase or args.kek_hex or args.pin or args.reset_failures:
            ap.error("--master-hex, --passphrase, --kek-hex, --pin and --reset-failures go with --read")
        write_golden(pathlib.Path(args.out) if args.out else GOLDEN_PATH)
        return 0
    if [args.master_hex, args.passphrase, args.kek_hex].count(None) != 2:
        ap.error("--read needs exactly one of --master-hex, --passphrase and --kek-hex")
    if (args.reset_failures is None) != (args.tamper_out is None) or (args.repoint_to_creation and not args.reset_failures):
        ap.error("--reset-failures and --tamper-out go together; --repoint-to-creation needs them")
    master = None
    if args.master_hex is not None:
        try:
            master = bytes.fromhex(args.master_hex)
        except ValueError:
            ap.error("--master-hex is not hex")
        if len(master) != 32:
            ap.error("--master-hex must be 64 hex digits (32 bytes)")
    passphrase = args.passphrase.encode("utf-8") if args.passphrase is not None else None
    kek = None
    if args.kek_hex is not None:
        try:
            kek = bytes.fromhex(args.kek_hex)
        except ValueError:
            ap.error("--kek-hex is not hex")
        if len(kek) != 32:
            ap.error("--kek-hex must be 64 hex digits (32 bytes)")
    pins = []
    try:
        for text in args.pin:
            who, sep, pin = text.partition("=")
            if not sep or not who:
                raise ValueError(f"--pin {text!r} is not [SLOT/]NAME=PIN")
            slot, name = parse_credential_arg(who)
            pins.append((slot, name, pin.encode("utf-8")))
        target = parse_credential_arg(args.reset_failures) if args.reset_failures else None
    except ValueError as e:
        ap.error(str(e))
    try:
        rows = load_rows(args.read)
    except (OSError, ValueError, KeyError, sqlite3.Error) as e:
        print(f"FAILED: cannot read {args.read}: {e}", file=sys.stderr)
        return 2
    except StoreRejected as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    try:
        summary = verify_store(rows, master, passphrase, pins, kek)
        if target is not None:
            tampered, note = reset_failures(summary, target, args.repoint_to_creation, rows)
            write_rows(pathlib.Path(args.tamper_out), tampered)
            print(f"tampered: {note}")
            return 0
    except StoreRejected as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    except BadPin as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 2
    print_summary(summary)
    return 0


def write_rows(path: pathlib.Path, rows: list[tuple[bytes, bytes]]) -> None:
    path.write_text(json.dumps({"rows": [[k.hex(), v.hex()] for k, v in rows]}), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
