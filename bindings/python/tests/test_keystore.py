"""The keystore (coffer-hsm over a SQLite file): persistence across objects and processes, passphrase and
PIN checks with lockout, usage policy, tenants, rotation, crypto-shredding, the audit log and its
tamper evidence, and typed errors for bad input."""

import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

import coffer
import keystore_setup
from keystore_setup import PASSPHRASE, SO_PIN, login

# KEYSTORE.md §12.1: an audit record's key is 0x15 || slot || seq (u64, big-endian).
AUDIT_RECORD = 0x15


# Fixtures `path` (a SQLite file in tmp_path) and `ks` (keystore_setup.create on it): conftest.py.


def test_keys_and_envelopes_survive_reopening_in_a_new_object_and_in_another_process(ks, path, tmp_path):
    alice = login(ks, "alice")
    kek = alice.generate("records", "aes256")
    envelope = alice.seal(kek, b"invoice 42: 1,200 EUR", {"tenant": "acme"})
    ks.close()

    again = coffer.Keystore.open(path, passphrase=PASSPHRASE)
    alice = login(again, "alice")
    assert alice.find("records") == kek
    assert alice.open(alice.find("records"), envelope, {"tenant": "acme"}) == b"invoice 42: 1,200 EUR"
    again.close()

    (tmp_path / "envelope").write_bytes(envelope)
    script = textwrap.dedent(f"""
        import coffer, sys
        ks = coffer.Keystore.open({path!r}, passphrase={PASSPHRASE!r})
        alice = ks.login("alice", "alice-pin")
        envelope = open({str(tmp_path / "envelope")!r}, "rb").read()
        sys.stdout.write(bytes(alice.open(alice.find("records"), envelope, {{"tenant": "acme"}})).decode())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "invoice 42: 1,200 EUR"


def test_a_wrong_passphrase_is_an_auth_error_and_a_missing_or_foreign_store_a_keystore_error(ks, path, tmp_path):
    ks.close()
    with pytest.raises(coffer.AuthError, match="passphrase"):
        coffer.Keystore.open(path, passphrase="not the passphrase")
    with pytest.raises(coffer.KeystoreError, match="no keystore at"):
        coffer.Keystore.open(str(tmp_path / "missing.db"), passphrase=PASSPHRASE)
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(coffer.KeystoreError, match="already exists"):
        coffer.Keystore.create(path, passphrase=PASSPHRASE, so_pin=SO_PIN)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(coffer.KeystoreError) as e:
        coffer.Keystore.open(str(other), passphrase=PASSPHRASE)
    assert type(e.value) is coffer.KeystoreError
    with pytest.raises(coffer.KeystoreError, match="cannot be opened again"):
        coffer.Keystore.open(":memory:", passphrase=PASSPHRASE)


def test_wrong_pins_lock_the_credential_until_the_security_officer_unblocks_it(path):
    ks = keystore_setup.create(path, max_pin_failures=3)
    for _ in range(2):
        with pytest.raises(coffer.AuthError) as e:
            ks.login("alice", "wrong-pin")
        assert type(e.value) is coffer.AuthError
    with pytest.raises(coffer.LockedError):
        ks.login("alice", "wrong-pin")
    with pytest.raises(coffer.LockedError):
        ks.login("alice", "alice-pin")  # the right PIN no longer helps
    # An unknown user is refused as a wrong PIN is.
    with pytest.raises(coffer.AuthError) as e:
        ks.login("mallory", "alice-pin")
    assert type(e.value) is coffer.AuthError

    ks.login_so(SO_PIN).unblock_user("alice", "alice-new-pin")
    assert ks.login("alice", "alice-new-pin").tenant == "acme"

    reasons = [(r.user, r.reason) for r in login(ks, "audit").audit() if r.event == "refused"]
    assert reasons == [("alice", "wrong-pin"), ("alice", "wrong-pin"), ("alice", "pin-locked"),
                       ("alice", "pin-locked"), ("mallory", "unknown-user")]
    ks.close()


def test_a_locked_security_officer_stays_locked(path):
    ks = keystore_setup.create(path, max_pin_failures=2)
    with pytest.raises(coffer.AuthError):
        ks.login_so("wrong-pin")
    with pytest.raises(coffer.LockedError):
        ks.login_so("wrong-pin")
    with pytest.raises(coffer.LockedError):
        ks.login_so(SO_PIN)
    ks.close()


def test_usage_policy_refuses_a_sign_only_key_sealing_and_a_seal_only_key_opening(ks):
    alice = login(ks, "alice")
    signer = alice.generate("signer", "rsa2048", usage=["sign"])  # RSA keys can be envelope recipients
    with pytest.raises(coffer.PolicyError, match="usage policy"):
        alice.seal(signer, b"data")
    with pytest.raises(coffer.PolicyError, match="usage policy"):
        alice.verify(signer, b"data", alice.sign(signer, b"data"))
    sealer = alice.generate("sealer", "aes256", usage=["encrypt"])
    envelope = alice.seal(sealer, b"data")
    with pytest.raises(coffer.PolicyError):
        alice.open(sealer, envelope)
    with pytest.raises(coffer.PolicyError):
        alice.wrap(sealer, bytes(32))
    refused = [(r.key_id, r.operation, r.reason) for r in login(ks, "audit").audit() if r.event == "refused"]
    assert refused == [("signer", "seal", "usage-not-allowed"), ("signer", "verify", "usage-not-allowed"),
                       ("sealer", "open", "usage-not-allowed"), ("sealer", "wrap", "usage-not-allowed")]


def test_roles_and_tenants_are_enforced(ks):
    alice, bob, so, audit = login(ks, "alice"), login(ks, "bob"), ks.login_so(SO_PIN), login(ks, "audit")
    kek = alice.generate("records", "aes256")
    envelope = alice.seal(kek, b"acme data")
    with pytest.raises(coffer.PolicyError, match="another tenant"):
        bob.open(kek, envelope)  # alice's handle, bob's tenant
    with pytest.raises(coffer.KeystoreError):
        bob.find("records")  # globex has no such key
    with pytest.raises(coffer.PolicyError):
        alice.shred("acme")
    with pytest.raises(coffer.PolicyError):
        so.generate("k", "aes256")
    with pytest.raises(coffer.PolicyError):
        audit.seal(kek, b"x")
    with pytest.raises(coffer.PolicyError):
        alice.audit()


def test_rotation_keeps_old_envelopes_signatures_and_wrapped_keys_and_uses_the_new_version(ks):
    alice = login(ks, "alice")
    kek = alice.generate("records", "aes256")
    signer = alice.generate("signer", "p256")
    old_envelope = alice.seal(kek, b"sealed under v1")
    old_wrapped = alice.wrap(kek, bytes(range(32)))
    old_signature = alice.sign(signer, b"release 1")
    old_public = alice.public_key_der(signer)

    assert alice.rotate(kek) == 2
    assert alice.rotate(signer) == 2
    assert alice.rotate(kek) == 3

    new_envelope = alice.seal(kek, b"sealed under v3")
    assert [r["version"] for r in coffer.inspect(old_envelope)["recipients"]] == [1]
    assert [r["version"] for r in coffer.inspect(new_envelope)["recipients"]] == [3]
    assert alice.open(kek, old_envelope) == b"sealed under v1"
    assert alice.open(kek, new_envelope) == b"sealed under v3"
    assert alice.unwrap(kek, old_wrapped) == bytes(range(32))
    alice.verify(signer, b"release 1", old_signature)
    assert alice.public_key_der(signer) != old_public
    coffer.P256PublicKey.from_der(alice.public_key_der(signer)).verify(b"release 2", alice.sign(signer, b"release 2"))
    with pytest.raises(coffer.VerifyError):
        coffer.P256PublicKey.from_der(alice.public_key_der(signer)).verify(b"release 1", old_signature)


def test_shredding_a_tenant_makes_its_envelopes_unopenable_and_leaves_other_tenants_alone(ks, path):
    alice, bob = login(ks, "alice"), login(ks, "bob")
    acme_kek = alice.generate("records", "aes256")
    acme_envelope = alice.seal(acme_kek, b"acme customer data")
    alice.rotate(acme_kek)
    alice.generate("signer", "p256")
    globex_kek = bob.generate("records", "aes256")
    globex_envelope = bob.seal(globex_kek, b"globex data")

    evidence = ks.login_so(SO_PIN).shred("acme")
    assert isinstance(evidence, coffer.ShredEvidence)
    assert evidence.tenant == "acme"
    assert evidence.keys == [("records", 2), ("signer", 1)]
    assert [(r.event, r.tenant, r.key_id, r.key_version) for r in evidence.audit] == [
        ("key-destroyed", "acme", "records", 2),
        ("key-destroyed", "acme", "signer", 1),
        ("tenant-shredded", "acme", None, None),
    ]
    assert repr(evidence) == "ShredEvidence(tenant='acme', keys=2, audit=3 records)"
    with pytest.raises(coffer.PolicyError, match="lifecycle"):
        alice.open(acme_kek, acme_envelope)
    ks.close()

    # A new object, a new login: still gone; globex untouched.
    again = coffer.Keystore.open(path, passphrase=PASSPHRASE)
    alice = login(again, "alice")
    with pytest.raises(coffer.PolicyError):
        alice.open(alice.find("records"), acme_envelope)
    with pytest.raises(coffer.PolicyError):
        alice.generate("new", "aes256")  # a shredded tenant takes no new key
    bob = login(again, "bob")
    assert bob.open(bob.find("records"), globex_envelope) == b"globex data"
    logged = [r for r in login(again, "audit").audit() if r.event in ("key-destroyed", "tenant-shredded")]
    assert [(r.event, r.key_id) for r in logged] == [
        ("key-destroyed", "records"), ("key-destroyed", "signer"), ("tenant-shredded", None)
    ]
    # The evidence is those very records: same positions, same chained MACs.
    assert [(r.seq, r.mac) for r in logged] == [(r.seq, r.mac) for r in evidence.audit]
    again.close()


def test_every_operation_is_in_the_audit_log_and_the_log_verifies(ks):
    alice = login(ks, "alice")
    kek = alice.generate("records", "aes256")
    alice.open(kek, alice.seal(kek, b"x", {"tenant": "acme"}), {"tenant": "acme"})
    signer = alice.generate("signer", "rsa2048")
    alice.verify(signer, b"m", alice.sign(signer, b"m"))
    audit = login(ks, "audit")
    records = audit.audit()
    assert [r.seq for r in records] == list(range(len(records)))
    used = [(r.key_id, r.operation, r.user, r.tenant) for r in records if r.event == "key-used"]
    assert used == [("records", "seal", None, "acme"), ("records", "open", None, "acme"),
                    ("signer", "sign", None, "acme"), ("signer", "verify", None, "acme")]
    logins = [(r.user, r.role, r.tenant) for r in records if r.event == "login"]
    assert ("alice", "user", "acme") in logins and ("audit", "auditor", None) in logins
    assert all(len(r.mac) == 32 for r in records)
    assert records[0].text == "token initialized" and records[0].event == "token-initialized"
    assert "AuditRecord(seq=0" in repr(records[0])
    audit.verify_audit()


def audit_keys(path):
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT k FROM coffer_records ORDER BY k").fetchall()
    return [k for (k,) in rows if k[0] == AUDIT_RECORD and k[1] == 0]


def test_an_audit_record_deleted_from_the_sqlite_file_fails_verification(ks, path):
    login(ks, "alice").generate("records", "aes256")
    ks.close()
    keys = audit_keys(path)
    assert int.from_bytes(keys[2][2:], "big") == 2  # tenant-created acme, after token-initialized and login
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM coffer_records WHERE k = ?", (keys[2],))

    again = coffer.Keystore.open(path, passphrase=PASSPHRASE)
    audit = login(again, "audit")
    with pytest.raises(coffer.VerifyError, match="audit log tampered: record 2"):
        audit.verify_audit()
    again.close()


def test_an_audit_record_changed_in_the_sqlite_file_does_not_open(ks, path):
    ks.close()
    key = audit_keys(path)[2]
    with sqlite3.connect(path) as db:
        (value,) = db.execute("SELECT v FROM coffer_records WHERE k = ?", (key,)).fetchone()
        changed = bytes(value[:-1]) + bytes([value[-1] ^ 1])
        db.execute("UPDATE coffer_records SET v = ? WHERE k = ?", (changed, key))

    again = coffer.Keystore.open(path, passphrase=PASSPHRASE)
    audit = login(again, "audit")
    with pytest.raises(coffer.KeystoreError, match="modified") as e:
        audit.verify_audit()
    assert type(e.value) is coffer.KeystoreError
    with pytest.raises(coffer.KeystoreError, match="modified"):
        audit.audit()
    again.close()


def test_keystore_signatures_verify_with_cryptography():
    ks = keystore_setup.create(":memory:")
    alice = login(ks, "alice")
    p256 = alice.generate("ec", "p256")
    rsa = alice.generate("rsa", "rsa2048")
    ec_public = serialization.load_der_public_key(alice.public_key_der(p256))
    ec_public.verify(alice.sign(p256, b"payload"), b"payload", ec.ECDSA(hashes.SHA256()))
    rsa_public = serialization.load_der_public_key(alice.public_key_der(rsa))
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    rsa_public.verify(alice.sign(rsa, b"payload"), b"payload", pss, hashes.SHA256())
    ks.close()


def test_rsa_keys_seal_and_open_envelopes_and_hmac_keys_sign():
    ks = keystore_setup.create(":memory:")
    alice = login(ks, "alice")
    rsa = alice.generate("rsa", "rsa2048")
    envelope = alice.seal(rsa, b"to an rsa key")
    assert coffer.inspect(envelope)["recipients"][0]["kind"] == "rsa"
    assert alice.open(rsa, envelope) == b"to an rsa key"
    hooks = alice.generate("hooks", "hmac")
    tag = alice.sign(hooks, b"body")
    alice.verify(hooks, b"body", tag)
    with pytest.raises(coffer.VerifyError):
        alice.verify(hooks, b"other body", tag)
    with pytest.raises(coffer.DecryptError):
        alice.open(rsa, envelope[:-1])
    with pytest.raises(coffer.DecryptError):
        alice.open(rsa, envelope, {"tenant": "acme"})
    ks.close()


def test_sessions_end_at_logout_and_the_keystore_at_close():
    ks = keystore_setup.create(":memory:")
    alice = login(ks, "alice")
    kek = alice.generate("records", "aes256")
    alice.logout()
    alice.logout()  # twice is fine
    with pytest.raises(coffer.AuthError, match="not logged in"):
        alice.seal(kek, b"x")
    with login(ks, "alice") as again:
        again.seal(kek, b"x")
    with pytest.raises(coffer.AuthError):
        again.seal(kek, b"x")
    bob = login(ks, "bob")
    ks.close()
    ks.close()
    with pytest.raises(coffer.KeystoreError, match="closed"):
        bob.generate("k", "aes256")
    with pytest.raises(coffer.KeystoreError, match="closed"):
        ks.login_so(SO_PIN)


def test_bad_arguments_raise_typed_errors(tmp_path):
    ks = keystore_setup.create(":memory:")
    alice = login(ks, "alice")
    kek = alice.generate("records", "aes256")
    with pytest.raises(TypeError):
        coffer.Keystore.create(123, passphrase="pw", so_pin=SO_PIN)
    with pytest.raises(TypeError):
        coffer.Keystore.create(":memory:", passphrase=1234, so_pin=SO_PIN)
    with pytest.raises(TypeError, match="passphrase"):
        coffer.Keystore.create(str(tmp_path / "keys.db"), so_pin=SO_PIN)
    assert not (tmp_path / "keys.db").exists()
    with pytest.raises(coffer.InvalidInput):
        coffer.Keystore.create(":memory:", passphrase=b"p" * 2000, so_pin=SO_PIN)
    with pytest.raises(coffer.InvalidInput, match="PIN"):
        coffer.Keystore.create(":memory:", passphrase="pw", so_pin="short")
    with pytest.raises(coffer.InvalidInput):
        ks.login("alice", "p" * 10_000)
    with pytest.raises(TypeError):
        ks.login("alice", 1234)
    with pytest.raises(TypeError):
        ks.login(b"alice", "alice-pin")
    with pytest.raises(TypeError, match="KeyHandle"):
        alice.seal(1, b"x")
    with pytest.raises(TypeError):
        alice.seal(kek, "a str is not bytes")
    with pytest.raises(TypeError):
        alice.seal(kek, b"x", context=["not", "a", "mapping"])
    with pytest.raises(coffer.InvalidInput):
        alice.generate("k" * 65, "aes256")
    with pytest.raises(coffer.InvalidInput, match="key type"):
        alice.generate("k", "des")
    with pytest.raises(coffer.InvalidInput, match="usage"):
        alice.generate("k", "aes256", usage=["fly"])
    with pytest.raises(coffer.InvalidInput):
        alice.generate("records", "aes256")  # the id is taken
    with pytest.raises(coffer.InvalidInput):
        alice.wrap(kek, bytes(20_000))
    with pytest.raises(coffer.InvalidInput):
        alice.wrap(kek, b"")
    so = ks.login_so(SO_PIN)
    with pytest.raises(coffer.InvalidInput):
        so.create_tenant("bad name")
    with pytest.raises(coffer.InvalidInput):
        so.create_tenant("acme")  # exists
    with pytest.raises(coffer.InvalidInput):
        so.create_user("carol", "carol-pin")  # no tenants, not an auditor
    with pytest.raises(coffer.KeystoreError):
        so.create_user("carol", "carol-pin", tenants=["nowhere"])
    with pytest.raises(coffer.KeystoreError):
        so.shred("nowhere")
    with pytest.raises(TypeError):
        import pickle
        pickle.dumps(kek)
    # A large plaintext seals and opens (the GIL is released meanwhile).
    big = os.urandom(8 << 20)
    assert alice.open(kek, alice.seal(kek, big)) == big
    ks.close()


def test_the_exception_hierarchy():
    assert issubclass(coffer.KeystoreError, coffer.CofferError)
    assert issubclass(coffer.AuthError, coffer.KeystoreError)
    assert issubclass(coffer.LockedError, coffer.AuthError)
    assert issubclass(coffer.PolicyError, coffer.KeystoreError)
    assert not issubclass(coffer.PolicyError, ValueError)
    assert coffer.KeystoreError.__module__ == "coffer"


def test_info_describes_a_key_without_its_material_and_refuses_another_tenants_key(ks):
    alice, bob = login(ks, "alice"), login(ks, "bob")
    kek = alice.generate("records", "aes256", ["encrypt", "decrypt"], label="acme records", extractable=True)
    assert alice.rotate(kek) == 2
    info = alice.info(kek)
    assert isinstance(info, coffer.KeyInfo)
    assert (info.handle, info.key_id, info.label, info.key_type, info.tenant) == (
        kek.handle,
        "records",
        "acme records",
        "aes256",
        "acme",
    )
    assert (info.version, info.usage, info.state, info.expires_at) == (2, ["encrypt", "decrypt"], "active", None)
    assert (info.sensitive, info.extractable, info.local) == (True, True, True)
    assert repr(info) == f"KeyInfo({kek.handle}, key_id='records', key_type='aes256', version=2, state='active')"
    alice.destroy(kek)
    assert alice.info(kek).state == "destroyed"
    with pytest.raises(coffer.PolicyError, match="another tenant"):
        bob.info(kek)


def test_set_state_deactivates_a_key_that_then_only_verifies_and_is_never_active_again(ks):
    alice = login(ks, "alice")
    signer = alice.generate("signer", "p256")
    signature = alice.sign(signer, b"release 1.2")
    alice.set_state(signer, "deactivated")
    assert alice.info(signer).state == "deactivated"
    alice.verify(signer, b"release 1.2", signature)
    with pytest.raises(coffer.PolicyError, match="lifecycle state"):
        alice.sign(signer, b"release 1.3")
    with pytest.raises(coffer.PolicyError, match="lifecycle state"):
        alice.set_state(signer, "active")
    with pytest.raises(coffer.InvalidInput, match="unknown key state"):
        alice.set_state(signer, "retired")


def test_set_expiry_and_the_sweep_deactivate_only_the_keys_whose_time_has_come(ks):
    alice, bob = login(ks, "alice"), login(ks, "bob")
    old = alice.generate("hooks-2025", "hmac")
    new = alice.generate("hooks-2026", "hmac")
    theirs = bob.generate("hooks-2025", "hmac")
    alice.set_expiry(old, 1)
    alice.set_expiry(new, 4_000_000_000)
    bob.set_expiry(theirs, 1)
    assert alice.info(old).expires_at == 1
    assert alice.sweep_expired() == [old]
    assert [alice.info(k).state for k in (old, new)] == ["deactivated", "active"]
    assert bob.info(theirs).state == "active"
    assert alice.sweep_expired() == []
    alice.set_expiry(new, None)
    assert alice.info(new).expires_at is None
    alice.destroy(old)
    with pytest.raises(coffer.PolicyError, match="lifecycle state"):
        alice.set_expiry(old, 2)


def test_export_wrapped_exports_only_an_extractable_key_and_under_a_wrapping_key(ks):
    alice = login(ks, "alice")
    transport = alice.generate("transport", "aes256", ["wrap", "unwrap"])
    data_key = alice.generate("data", "aes256", extractable=True)
    wrapped = alice.export_wrapped(data_key, transport)
    assert len(wrapped) == 40
    assert len(alice.unwrap(transport, wrapped)) == 32
    with pytest.raises(coffer.PolicyError, match="not extractable"):
        alice.export_wrapped(transport, data_key)
    seal_only = alice.generate("records", "aes256", ["encrypt", "decrypt"])
    with pytest.raises(coffer.PolicyError, match="usage policy"):
        alice.export_wrapped(data_key, seal_only)
    with pytest.raises(coffer.InvalidInput, match="key type"):
        alice.export_wrapped(data_key, alice.generate("signer", "p256"))


def test_rewrap_moves_an_envelope_to_the_newest_version_and_refuses_a_key_without_wrap_usage(ks):
    alice = login(ks, "alice")
    kek = alice.generate("records", "aes256")
    old = alice.seal(kek, b"v1 data", {"tenant": "acme"})
    assert alice.rewrap(kek, old) == old  # already on the newest version
    assert alice.rotate(kek) == 2
    new = alice.rewrap(kek, old)
    assert coffer.inspect(new)["recipients"][0]["version"] == 2
    assert alice.open(kek, new, {"tenant": "acme"}) == b"v1 data"
    other = alice.generate("other", "aes256")
    with pytest.raises(coffer.DecryptError):
        alice.rewrap(other, new)
    seal_only = alice.generate("seal-only", "aes256", ["encrypt", "decrypt"])
    with pytest.raises(coffer.PolicyError, match="usage policy"):
        alice.rewrap(seal_only, alice.seal(seal_only, b"x"))


def test_a_manual_clock_stamps_the_audit_log_and_judges_expiry_after_reopening_too(path):
    clock = coffer.ManualClock(1_700_000_000)
    ks = keystore_setup.create(path, clock=clock)
    alice = login(ks, "alice")
    hooks = alice.generate("hooks", "hmac")
    alice.set_expiry(hooks, 1_700_000_100)
    clock.advance(99)
    assert clock.now == 1_700_000_099
    assert alice.sweep_expired() == []
    ks.close()
    ks = coffer.Keystore.open(path, passphrase=PASSPHRASE, clock=clock)
    alice = login(ks, "alice")
    clock.set(1_700_000_100)
    assert alice.sweep_expired() == [hooks]
    times = [(r.time, r.event) for r in login(ks, "audit").audit() if r.key_id == "hooks"]
    assert times == [(1_700_000_000, "key-created"), (1_700_000_000, "key-expiry-set"),
                     (1_700_000_100, "key-state-changed")]
    assert repr(clock) == "ManualClock(1700000100)"
    # The one refusal: a move past 2**64 - 1 leaves the clock as it was.
    clock.set(2**64 - 1)
    with pytest.raises(coffer.InvalidInput, match="2\\*\\*64"):
        clock.advance(1)
    assert clock.now == 2**64 - 1
    ks.close()


def test_a_keystore_clock_must_be_a_manual_clock():
    with pytest.raises(TypeError):
        coffer.Keystore.create(":memory:", so_pin=SO_PIN, pin_iterations=1000, clock=1_700_000_000)
    with pytest.raises(coffer.InvalidInput):
        coffer.ManualClock(-1)


def test_session_webhooks_sign_in_the_keystore_and_refuse_a_delivery_outside_the_window():
    clock = coffer.ManualClock(1_700_000_000)
    ks = keystore_setup.create(":memory:", clock=clock)
    alice = login(ks, "alice")
    hooks = alice.generate("hooks", "hmac")
    body = b'{"paid":true}'
    header = alice.webhook_sign(hooks, body)
    # The tag is the keystore's HMAC over `timestamp "." body`, in the module functions' header.
    assert header == f"t=1700000000,v1={alice.sign(hooks, b'1700000000.' + body).hex()}"
    clock.advance(300)
    alice.webhook_verify(hooks, body, header)
    alice.webhook_verify(hooks, body, header.encode(), now=1_700_000_000 - 300)
    # The one refusal: a second past the window, by the keystore's clock or by `now`.
    clock.advance(1)
    with pytest.raises(coffer.VerifyError):
        alice.webhook_verify(hooks, body, header)
    with pytest.raises(coffer.VerifyError):
        alice.webhook_verify(hooks, body, header, now=1_700_000_301, tolerance=300)
    alice.webhook_verify(hooks, body, header, tolerance=301)
    ks.close()


def test_session_webhooks_refuse_a_malformed_header_and_a_key_that_is_not_hmac():
    ks = keystore_setup.create(":memory:")
    alice = login(ks, "alice")
    signer = alice.generate("signer", "p256")
    with pytest.raises(coffer.MalformedError, match="webhook signature header"):
        alice.webhook_verify(signer, b"{}", "t=1,v1=00")
    with pytest.raises(TypeError):
        alice.webhook_sign("hooks", b"{}")
    with pytest.raises(coffer.InvalidInput, match="key type must fit the operation"):
        alice.webhook_sign(signer, b"{}", timestamp=1)
    ks.close()


def test_audit_records_name_a_refused_keys_own_tenant_and_handle_and_roles_as_sessions_do(ks):
    alice, bob = login(ks, "alice"), login(ks, "bob")
    theirs = bob.generate("kek", "aes256")
    with pytest.raises(coffer.PolicyError, match="not allowed in this tenant"):
        alice.info(theirs)
    so = ks.login_so(SO_PIN)
    records = login(ks, "audit").audit()
    refusal = [r for r in records if r.event == "refused"][-1]
    assert (refusal.tenant, refusal.key_tenant, refusal.key_id, refusal.key_handle, refusal.reason) == (
        "acme", "globex", "kek", int(theirs), "other-tenant")
    logins = {(r.user, r.role) for r in records if r.event == "login"}
    assert (so.user, so.role) == ("so", "security-officer") and (so.user, so.role) in logins
    assert ("alice", alice.role) in logins


def test_a_key_handle_from_an_int_that_never_existed_is_not_found():
    ks = keystore_setup.create(":memory:")
    alice = login(ks, "alice")
    never = coffer.KeyHandle.from_int(2**64 - 1, "hmac", key_id="never")
    assert (int(never), never.key_id, never.key_type) == (2**64 - 1, "never", "hmac")
    assert never == coffer.KeyHandle.from_int(2**64 - 1, "hmac", "never")
    with pytest.raises(coffer.KeystoreError, match="no such key"):
        alice.info(never)
    with pytest.raises(coffer.KeystoreError, match="no such key"):
        alice.webhook_sign(never, b"{}")
    # The one refusal of its arguments: a type the keystore does not know.
    with pytest.raises(coffer.InvalidInput, match="unknown key type"):
        coffer.KeyHandle.from_int(1, "des")
    with pytest.raises(coffer.InvalidInput):
        coffer.KeyHandle.from_int(-1, "hmac")
    ks.close()
