"""The five seed scenarios of issue 8 again, through the Python package only: the same steps as
tests/tests/scenarios.rs (one test each, named as there), each asserting the step's outcome and each
refusal's exact exception class (and, where one class covers several causes, the cause). Every step
of the Rust scenarios is here: the rollback guard, the shred's evidence, streams by handle and
decrypting into scratch files included."""

import io
import os
import pathlib
import stat
import struct
import time

import pytest

import coffer
from scenario_support import (
    AUDITOR,
    NOT_FOUND,
    OTHER_TENANT,
    ROLE,
    STATE,
    USAGE,
    USER,
    Fixture,
    denied,
    key_uses,
    other_tenant_refusal,
    other_tenant_refusals,
    refused,
    tenant_ctx,
    used,
)

DAY = 86_400


@pytest.fixture
def keystore(tmp_path):
    """Makes Fixture(tmp_path, name) and closes it after the test."""
    made = []

    def make(name, now=None):
        made.append(Fixture(tmp_path, name, now))
        return made[-1]

    yield make
    for f in made:
        f.close()


# ---- scenario 1: agent certificate pairs ----


class Pair:
    """A key pair and its certificate (core's CertificatePair; the package has none, so the pairing
    check is written out: the certificate holds the key's public half)."""

    def __init__(self, key, certificate):
        assert certificate.public_key() == key.public_key(), "the certificate is not for this key"
        self.key = key
        self.certificate = certificate


class SignedMessage:
    """A message on the wire between an agent and the server: an envelope to the recipient's
    certificate key, signed (RSA-PSS) by the sender over the whole envelope, with the sender's
    certificate."""

    def __init__(self, envelope, signature, sender_cert_der):
        self.envelope = bytearray(envelope)
        self.signature = bytearray(signature)
        self.sender_cert_der = bytes(sender_cert_der)

    def clone(self):
        return SignedMessage(self.envelope, self.signature, self.sender_cert_der)


def send(sender, to_cert, to_id, ctx, body):
    to_key = to_cert.public_key()
    assert isinstance(to_key, coffer.RsaPublicKey), f"expected an RSA key, got {to_key!r}"
    envelope = coffer.seal(body, [coffer.Recipient.rsa(to_id, to_key)], ctx)
    signature = sender.key.private_key().sign(envelope, scheme="pss")
    return SignedMessage(envelope, signature, sender.certificate.to_der())


def receive(msg, ca, now, me, my_id, ctx):
    """What a receiver does: the sender's certificate must chain to the CA, its key must have signed
    the envelope, then the envelope is opened."""
    sender = coffer.Certificate.from_der(msg.sender_cert_der)
    sender_key = coffer.verify_chain(sender, [], [ca], at=now)[0].public_key()
    if not isinstance(sender_key, coffer.RsaPublicKey):
        raise coffer.InvalidKey("the sender's key is not RSA")
    sender_key.verify(msg.envelope, msg.signature, scheme="pss")
    my_key = me.private_key()
    if not isinstance(my_key, coffer.RsaPrivateKey):
        raise coffer.InvalidKey("my key is not RSA")
    return bytes(coffer.open(msg.envelope, [coffer.UnlockKey.rsa(my_id, my_key)], ctx))


def test_agents_and_server_hold_rsa_4096_certificate_pairs_and_exchange_signed_messages_only_the_recipient_opens(
    keystore,
):
    now = int(time.time())

    # The server CA.
    ca_key = coffer.KeyPair.generate("rsa4096")
    ca_subject = "CN=Coffer Agents CA,O=Example"
    ca = coffer.self_signed_ca(ca_key, ca_subject, days=3650, path_len=0)

    # Each agent makes its own RSA-4096 key and CSR; the CA issues from the CSR.
    agents = []
    for name in ["agent-1", "agent-2"]:
        key = coffer.KeyPair.generate("rsa4096")
        request = coffer.csr(key, f"CN={name},O=Example", sans=[f"dns:{name}.example.internal"])
        leaf = coffer.issue_from_csr(ca, ca_key, request, usage="client", days=365, scheme="pss")
        path = coffer.verify_chain(leaf, [], [ca], at=now)
        assert path == [leaf, ca]
        assert path[0].public_key() == key.public_key()
        assert key.public_key().key_size == 4096
        assert leaf.subject == f"CN={name},O=Example"
        assert leaf.sans == [f"dns:{name}.example.internal"]
        agents.append(Pair(key, leaf))
    assert agents[0].certificate.public_key() != agents[1].certificate.public_key()

    # The server's own RSA-4096 key and certificate.
    server_key = coffer.KeyPair.generate("rsa4096")
    server_cert = coffer.issue_leaf(
        ca,
        ca_key,
        "CN=coffer-server,O=Example",
        server_key.public_key(),
        sans=["dns:coffer.example.internal"],
        usage="server",
        days=365,
        scheme="pss",
    )
    assert coffer.verify_chain(server_cert, [], [ca], at=now)[0].public_key() == server_key.public_key()
    assert server_key.public_key().key_size == 4096

    # A certificate for agent-1's key from an impostor CA with the same name fails the chain.
    rogue_key = coffer.KeyPair.generate("p256")
    rogue = coffer.self_signed_ca(rogue_key, ca_subject, days=3650, path_len=0)
    forged = coffer.issue_leaf(
        rogue, rogue_key, "CN=agent-1,O=Example", agents[0].certificate.public_key(), usage="client", days=365
    )
    with refused(coffer.VerifyError):
        coffer.verify_chain(forged, [], [ca], at=now)

    # The server key goes into the tenant database sealed to a KEK that lives only in the keystore.
    f = keystore("scenario-1", now)
    s = f.user("agents")
    kek = s.generate("server-key-kek", "aes256", ["encrypt", "decrypt"], label="agents server-key-kek")
    transport = s.generate("transport", "aes256", ["wrap", "unwrap"], label="agents transport")
    with refused(coffer.PolicyError, "not extractable"):
        s.export_wrapped(kek, transport)
    assert s.info(kek).sensitive
    blob_ctx = {"tenant": "agents", "row": "server-private-key"}
    pkcs8 = server_key.to_der()
    sealed = s.seal(kek, pkcs8, blob_ctx)
    assert bytes(pkcs8[-64:]) not in sealed, "the sealed blob holds key bytes"
    db = f.dir / "tenant-db"
    db.mkdir()
    (db / "server-key.coffer").write_bytes(sealed)
    pkcs8[:] = bytes(len(pkcs8))
    del pkcs8, server_key

    # The server restarts: the store is opened again and the key recovered from the blob.
    # The store is guarded against rollback by its generation file (Fixture.restart checks that the
    # reopened store's generation is the one written).
    f.restart()
    s = f.user("agents")
    kek = s.find("server-key-kek")
    blob = (db / "server-key.coffer").read_bytes()
    with refused(coffer.DecryptError):
        s.open(kek, blob, {"tenant": "agents", "row": "agent-1"})
    recovered = s.open(kek, blob, blob_ctx)
    server = Pair(coffer.KeyPair.from_der(recovered), server_cert)
    recovered[:] = bytes(len(recovered))

    # agent-1 -> server: encrypted to the server certificate, signed by agent-1.
    up = {"from": "agent-1", "to": "server"}
    body = b'{"agent":"agent-1","cpu":0.42,"disk_free_gb":118}'
    msg = send(agents[0], server.certificate, b"server", up, body)
    assert receive(msg, ca, now, server.key, b"server", up) == body

    # server -> agent-2: encrypted to agent-2's certificate, signed by the server.
    down = {"from": "server", "to": "agent-2"}
    reply = b'{"command":"rotate-logs"}'
    back = send(server, agents[1].certificate, b"agent-2", down, reply)
    assert receive(back, ca, now, agents[1].key, b"agent-2", down) == reply

    # Tampering: a flipped envelope byte, a flipped signature byte, agent-2's signature under
    # agent-1's certificate, and the wrong recipient.
    flipped = msg.clone()
    flipped.envelope[len(flipped.envelope) // 2] ^= 0x01
    with refused(coffer.VerifyError):
        receive(flipped, ca, now, server.key, b"server", up)
    unlock = coffer.UnlockKey.rsa(b"server", server.key.private_key())
    with refused(coffer.DecryptError):
        coffer.open(flipped.envelope, [unlock], up)

    bad_sig = msg.clone()
    bad_sig.signature[0] ^= 0x80
    with refused(coffer.VerifyError):
        receive(bad_sig, ca, now, server.key, b"server", up)

    impostor = msg.clone()
    impostor.signature = bytearray(agents[1].key.private_key().sign(msg.envelope, scheme="pss"))
    with refused(coffer.VerifyError):
        receive(impostor, ca, now, server.key, b"server", up)

    forged_sender = msg.clone()
    forged_sender.sender_cert_der = forged.to_der()
    with refused(coffer.VerifyError):
        receive(forged_sender, ca, now, server.key, b"server", up)

    with refused(coffer.DecryptError):
        receive(msg, ca, now, agents[1].key, b"server", up)
    with refused(coffer.DecryptError):
        receive(msg, ca, now, server.key, b"server", down)


# ---- scenario 2: per-tenant encryption at rest and crypto-shred ----


def pack(records):
    """Length-prefixed records, as a backup snapshot holds them."""
    return b"".join(struct.pack(">I", len(r)) + r for r in records)


def unpack(data):
    data = bytes(data)
    out = []
    while data:
        assert len(data) >= 4, "truncated length"
        (n,) = struct.unpack(">I", data[:4])
        assert len(data) >= 4 + n, "truncated record"
        out.append(data[4 : 4 + n])
        data = data[4 + n :]
    return out


def backup_ctx(tenant):
    return {"tenant": tenant, "kind": "backup"}


class TenantData:
    """One tenant's data at rest: sealed records and a sealed backup of them."""

    def __init__(self, tenant, kek, plain, records, backup):
        self.tenant, self.kek, self.plain, self.records, self.backup = tenant, kek, plain, records, backup


def store_tenant(f, tenant):
    s = f.user(tenant)
    kek = s.generate("records-kek", "aes256", ["encrypt", "decrypt"], label=f"{tenant} records-kek")
    plain = [f'{{"tenant":"{tenant}","invoice":{i},"total":"{i}00.00"}}'.encode() for i in range(1, 4)]
    records = [s.seal(kek, p, tenant_ctx(tenant)) for p in plain]
    # The backup snapshot holds the sealed records and is sealed itself.
    backup = s.seal(kek, pack(records), backup_ctx(tenant))
    s.logout()
    return TenantData(tenant, kek, plain, records, backup)


def open_all(f, d):
    """Opens every record and the backup (and every record inside the backup)."""
    s = f.user(d.tenant)
    for sealed, plain in zip(d.records, d.plain):
        assert s.open(d.kek, sealed, tenant_ctx(d.tenant)) == plain
    restored = unpack(s.open(d.kek, d.backup, backup_ctx(d.tenant)))
    assert restored == d.records
    for sealed, plain in zip(restored, d.plain):
        assert s.open(d.kek, sealed, tenant_ctx(d.tenant)) == plain
    s.logout()


def assert_none_open(f, d, kek, cls, cause):
    """Every envelope of the tenant fails to open with `cls` for `cause`."""
    s = f.user(d.tenant)
    for sealed in d.records:
        with refused(cls, cause):
            s.open(kek, sealed, tenant_ctx(d.tenant))
    with refused(cls, cause):
        s.open(kek, d.backup, backup_ctx(d.tenant))
    s.logout()


def test_deleting_a_tenant_crypto_shreds_its_kek_so_its_records_and_backup_never_open_while_other_tenants_still_do(
    keystore,
):
    f = keystore("scenario-2")
    acme = store_tenant(f, "acme")
    globex = store_tenant(f, "globex")
    open_all(f, acme)
    open_all(f, globex)

    # Records are bound to their tenant: acme's record under globex's context does not open.
    s = f.user("acme")
    with refused(coffer.DecryptError):
        s.open(acme.kek, acme.records[0], tenant_ctx("globex"))
    # A record is not a backup: the backup context does not open it.
    with refused(coffer.DecryptError):
        s.open(acme.kek, acme.records[0], backup_ctx("acme"))
    s.logout()

    # Deleting the organisation: the security officer shreds the tenant.
    evidence = f.so.shred("acme")
    assert evidence.tenant == "acme"
    assert evidence.keys == [("records-kek", 1)]
    assert [r.event for r in evidence.audit] == ["key-destroyed", "tenant-shredded"]
    assert evidence.audit[1].seq == evidence.audit[0].seq + 1, "the shred's records follow one another"

    # Every acme envelope now fails: the key is destroyed.
    assert_none_open(f, acme, acme.kek, coffer.PolicyError, STATE)
    s = f.user("acme")
    assert s.info(acme.kek).state == "destroyed"
    # The tenant key went with the keys: acme takes no new key at all (not even under a new id), so
    # nothing can ever be sealed to it again.
    for key_id in ["records-kek", "records-kek-2"]:
        with refused(coffer.PolicyError, STATE):
            s.generate(key_id, "aes256", ["encrypt", "decrypt"], label=f"acme {key_id}")
    s.logout()

    # globex is untouched.
    open_all(f, globex)

    # The shred wrote exactly two audit records, one after the other: the key destroyed, then the tenant.
    shred = [r for r in f.auditor().audit() if r.event in ("key-destroyed", "tenant-shredded")]
    assert [(r.event, r.tenant, r.key_id) for r in shred] == [
        ("key-destroyed", "acme", "records-kek"),
        ("tenant-shredded", "acme", None),
    ]
    assert shred[1].seq == shred[0].seq + 1
    assert shred[1].text == "tenant acme shredded: 1 keys"

    # The shred survives closing and reopening the keystore.
    f.restart()
    assert_none_open(f, acme, acme.kek, coffer.PolicyError, STATE)
    open_all(f, globex)


# ---- scenario 3: tenant isolation, and the auditor's view of it ----


class TenantKeys:
    """One tenant's keys in scenario 3, and the session that made them."""

    def __init__(self, f, tenant):
        self.tenant = tenant
        self.session = f.user(tenant)

        def generate(key_type, key_id, usage):
            return self.session.generate(key_id, key_type, usage, label=f"{tenant} {key_id}")

        self.kek = generate("aes256", "kek", ["encrypt", "decrypt"])
        self.signer = generate("p256", "signer", ["sign", "verify"])
        self.mac = generate("hmac", "mac", ["sign", "verify"])


def foreign_handles_are_refused(me, them, their_env):
    """Every operation from `me`'s session on a handle of `them` is refused (PolicyError, another
    tenant: an audited refusal, foreign_refusals lists them), and on a handle that never existed
    (KeyHandle.from_int of 2**64 - 1, as Rust's Handle::from_raw(u64::MAX)) KeystoreError, not found."""
    s = me.session
    ctx = tenant_ctx(them.tenant)
    never = {t: coffer.KeyHandle.from_int(2**64 - 1, t) for t in ["aes256", "p256", "hmac"]}

    def refused_for(h):
        if h in never.values():
            return refused(coffer.KeystoreError, NOT_FOUND)
        return refused(coffer.PolicyError, OTHER_TENANT)

    for h in [them.kek, them.signer, them.mac, never["aes256"]]:
        with refused_for(h):
            s.info(h)
        with refused_for(h):
            s.public_key_der(h)
        with refused_for(h):
            s.set_state(h, "deactivated")
        with refused_for(h):
            s.set_expiry(h, 1)
        with refused_for(h):
            s.rotate(h)
        with refused_for(h):
            s.destroy(h)
    for h in [them.kek, never["aes256"]]:
        with refused_for(h):
            s.seal(h, b"x", ctx)
        with refused_for(h):
            s.open(h, their_env, ctx)
        with refused_for(h):
            s.rewrap(h, their_env)
        with refused_for(h):
            s.wrap(h, bytes([7] * 32))
        with refused_for(h):
            s.unwrap(h, bytes([7] * 40))
        with refused_for(h):
            s.export_wrapped(h, me.kek)
    for h in [them.signer, never["p256"]]:
        with refused_for(h):
            s.sign(h, b"x")
        with refused_for(h):
            s.verify(h, b"x", bytes(64))
    for h in [them.mac, never["hmac"]]:
        with refused_for(h):
            s.sign(h, b"x")
        with refused_for(h):
            s.verify(h, b"x", bytes(32))
    # Looking up by key id finds only the session's own key of that id.
    assert s.find("kek") == me.kek


def foreign_refusals(me, them):
    """The refusals foreign_handles_are_refused logs, in order, as other_tenant_refusals reads them
    (the handle that never existed logs nothing)."""
    lines = []
    for key_id, h in [("kek", them.kek), ("signer", them.signer), ("mac", them.mac)]:
        for op in ["show", "show", "set-state", "set-expiry", "rotate", "destroy"]:
            lines.append(other_tenant_refusal(me.tenant, them.tenant, key_id, h, op))
    for key_id, h, ops in [
        # rewrap authorizes its unwrap first; export refuses the target.
        ("kek", them.kek, ["seal", "open", "unwrap", "wrap", "unwrap", "export"]),
        ("signer", them.signer, ["sign", "verify"]),
        ("mac", them.mac, ["sign", "verify"]),
    ]:
        lines.extend(other_tenant_refusal(me.tenant, them.tenant, key_id, h, op) for op in ops)
    return lines


def test_every_cross_tenant_use_of_a_key_handle_or_context_fails_and_the_verified_audit_log_records_all_key_use(
    keystore,
):
    f = keystore("scenario-3")
    a = TenantKeys(f, "acme")
    b = TenantKeys(f, "globex")
    ctx_a, ctx_b = tenant_ctx("acme"), tenant_ctx("globex")
    msg = b"payout batch 2024-10-01"

    env_a = a.session.seal(a.kek, b"acme ledger", ctx_a)
    env_b = b.session.seal(b.kek, b"globex ledger", ctx_b)
    sig_a = a.session.sign(a.signer, msg)
    tag_a = a.session.sign(a.mac, msg)

    # A's handles from B's session, and the other way round.
    foreign_handles_are_refused(b, a, env_a)
    foreign_handles_are_refused(a, b, env_b)

    # A's data under B's key: both tenants call their KEK "kek", version 1, so the recipient record
    # matches, and the unwrap fails.
    with refused(coffer.DecryptError):
        b.session.open(b.kek, env_a, ctx_a)
    with refused(coffer.DecryptError):
        b.session.open(b.kek, env_a, ctx_b)
    # A's context on B's envelope, with B's own key.
    with refused(coffer.DecryptError):
        b.session.open(b.kek, env_b, ctx_a)
    # B's envelope in A's session with A's key and context.
    with refused(coffer.DecryptError):
        a.session.open(a.kek, env_b, ctx_a)
    # A's signature and MAC do not verify under B's keys.
    with refused(coffer.VerifyError):
        b.session.verify(b.signer, msg, sig_a)
    with refused(coffer.VerifyError):
        b.session.verify(b.mac, msg, tag_a)
    # Policy still applies within a tenant: these KEKs may not wrap.
    with refused(coffer.PolicyError, USAGE):
        a.session.wrap(a.kek, bytes([7] * 32))
    with refused(coffer.PolicyError, USAGE):
        b.session.wrap(b.kek, bytes([7] * 32))

    # Nothing B tried changed A's keys: A still opens, verifies and sees them active.
    assert a.session.open(a.kek, env_a, ctx_a) == b"acme ledger"
    a.session.verify(a.signer, msg, sig_a)
    for h in [a.kek, a.signer, a.mac]:
        assert a.session.info(h).state == "active"

    # The auditor: the chain verifies and holds every key use, in order, each under its own tenant;
    # refused cross-tenant handles touched no key (each is a refusal naming the session's tenant and
    # the key it tried).
    auditor = f.auditor()
    auditor.verify_audit()
    records = auditor.audit()
    expected = [
        used("acme", "kek", "seal"),
        used("globex", "kek", "seal"),
        used("acme", "signer", "sign"),
        used("acme", "mac", "sign"),
        used("globex", "kek", "open"),
        used("globex", "kek", "open"),
        used("globex", "kek", "open"),
        used("acme", "kek", "open"),
        used("globex", "signer", "verify"),
        used("globex", "mac", "verify"),
        denied("acme", "kek", "wrap"),
        denied("globex", "kek", "wrap"),
        used("acme", "kek", "open"),
        used("acme", "signer", "verify"),
    ]
    uses = key_uses(records)
    assert uses == expected

    def count(tenant, is_denied):
        return sum(1 for u in uses if u[0] == tenant and u[3] == is_denied)

    assert (count("acme", False), count("acme", True)) == (6, 1)
    assert (count("globex", False), count("globex", True)) == (6, 1)
    expected_refusals = foreign_refusals(b, a) + foreign_refusals(a, b)
    assert len(expected_refusals) == 56  # as in Rust
    assert other_tenant_refusals(records) == expected_refusals
    # Users cannot read the log.
    with refused(coffer.PolicyError, ROLE):
        a.session.audit()


# ---- scenario 4: signed webhooks and expiring keys ----


def webhook_message(timestamp, body):
    """What a webhook signature covers: the timestamp in decimal ASCII, ".", the body (core's
    WebhookMessage::parts, concatenated: the keystore MACs one byte string)."""
    return f"{timestamp}.".encode() + body


def webhook_header(timestamp, tag):
    """A signature header as Session.webhook_sign writes it."""
    return f"t={timestamp},v1={bytes(tag).hex()}"


def webhook_tag(header):
    """The tag of a signature header."""
    return bytes.fromhex(header.split("v1=")[1])


def test_webhooks_signed_by_an_hsm_key_verify_in_the_window_reject_replay_and_tamper_and_expired_keys_stop_signing(
    keystore,
):
    t0 = 1_700_000_000
    f = keystore("scenario-4", now=t0)
    s = f.user("acme")
    key = s.generate("webhooks-2023", "hmac", ["sign", "verify"], label="acme webhooks-2023")
    nxt = s.generate("webhooks-2024", "hmac", ["sign", "verify"], label="acme webhooks-2024")
    s.set_expiry(key, t0 + 30 * DAY)
    s.set_expiry(nxt, t0 + 365 * DAY)

    # Delivery at t0 (the keystore's clock), received a minute later: the receiver is
    # Session.webhook_verify, the freshness window (core's check_fresh) then the keystore's MAC check,
    # as Rust's accept_webhook.
    body = b'{"event":"invoice.paid","invoice":"in_1042","amount":"129.00"}'
    sent = s.webhook_sign(key, body)
    assert sent.startswith(f"t={t0},v1=") and len(webhook_tag(sent)) == 32
    tag = webhook_tag(sent)
    f.clock.advance(60)
    now = f.clock.now
    s.webhook_verify(key, body, sent, now=now)

    # Tampering inside the window: body, timestamp, tag, or a tag by another key.
    cheaper = b'{"event":"invoice.paid","invoice":"in_1042","amount":"0.01"}'
    with refused(coffer.VerifyError):
        s.webhook_verify(key, cheaper, sent, now=now)
    with refused(coffer.VerifyError):
        s.webhook_verify(key, body, webhook_header(t0 + 30, tag), now=now)
    flipped = bytearray(tag)
    flipped[31] ^= 0x01
    with refused(coffer.VerifyError):
        s.webhook_verify(key, body, webhook_header(t0, flipped), now=now)
    # A header cannot carry a truncated tag (MalformedError, before the keystore is asked); the
    # keystore's MAC check refuses it.
    with refused(coffer.MalformedError):
        s.webhook_verify(key, body, webhook_header(t0, tag[:16]), now=now)
    with refused(coffer.VerifyError):
        s.verify(key, webhook_message(t0, body), tag[:16])
    other = s.webhook_sign(nxt, body, timestamp=t0)
    with refused(coffer.VerifyError):
        s.webhook_verify(key, body, other, now=now)

    # Replay after the window: the genuine tag is refused for its old timestamp, and does not match a
    # refreshed one.
    f.clock.advance(300)
    later = f.clock.now
    assert later - t0 == 300 + 60
    with refused(coffer.VerifyError):
        s.webhook_verify(key, body, sent)  # now: the keystore's clock
    with refused(coffer.VerifyError):
        s.webhook_verify(key, body, webhook_header(later, tag), now=later)
    # A delivery dated an hour ahead is refused too, though genuinely signed.
    ahead = s.webhook_sign(key, body, timestamp=later + 3_600)
    with refused(coffer.VerifyError):
        s.webhook_verify(key, body, ahead, now=later)

    # The lifecycle sweep: nothing is due a second before the expiry, and another tenant's sweep does
    # not touch acme's keys.
    expiry = t0 + 30 * DAY
    f.clock.set(expiry - 1)
    assert s.sweep_expired() == []
    f.clock.set(expiry)
    globex = f.user("globex")
    assert globex.sweep_expired() == []
    assert s.info(key).state == "active"
    assert s.sweep_expired() == [key]
    assert s.info(key).state == "deactivated"
    assert s.info(nxt).state == "active"
    assert s.sweep_expired() == []

    # The expired key signs nothing new and cannot be reactivated; its old signatures still verify;
    # its successor takes over.
    with refused(coffer.PolicyError, STATE):
        s.webhook_sign(key, body)  # at the keystore's clock: the expiry
    with refused(coffer.PolicyError, STATE):
        s.set_state(key, "active")
    s.verify(key, webhook_message(t0, body), tag)
    after = s.webhook_sign(nxt, body)
    assert after.startswith(f"t={expiry},v1=")
    s.webhook_verify(nxt, body, after, now=expiry + 5)

    # The auditor: the log verifies and tells the expired key's story, with the keystore clock's times.
    auditor = f.auditor()
    auditor.verify_audit()
    records = [r for r in auditor.audit() if r.key_id == "webhooks-2023"]
    assert {(r.tenant, r.key_tenant, r.key_handle, r.key_version) for r in records} == {
        ("acme", "acme", int(key), 1)
    }
    story = [(r.time, r.event, r.operation, r.reason) for r in records]
    expected = (
        [(t0, "key-created", None, None), (t0, "key-expiry-set", None, None), (t0, "key-used", "sign", None)]
        + [(t0 + 60, "key-used", "verify", None)] * 6  # accepted, then the five tampered deliveries
        + [(later, "key-used", "verify", None)]  # the refreshed timestamp
        + [(later, "key-used", "sign", None)]  # dated an hour ahead
        + [(expiry, "key-state-changed", None, None)]  # the sweep
        + [(expiry, "refused", "sign", "wrong-state"), (expiry, "refused", "set-state", "wrong-state")]
        + [(expiry, "key-used", "verify", None)]  # the old signature, at the end
    )
    assert story == expected
    refusals = [(r.user, r.role) for r in records if r.event == "refused"]
    assert refusals == [(USER, "user")] * 2
    k = f"acme/webhooks-2023 v1 (handle {key.handle})"
    assert records[1].text == f"key expiry set to {expiry} (Unix seconds): {k}"
    assert records[11].text == f"key now deactivated: {k}"


# ---- scenario 5: encrypted credentials, attachments, roles and the access log ----


def test_credentials_open_only_in_the_server_role_and_attachments_decrypt_into_scratch_files_shredded_after_use(
    keystore,
):
    now = int(time.time())
    f = keystore("scenario-5", now)
    server = f.user("acme")
    auditor = f.auditor()
    so = f.so

    # Database credentials, sealed under the tenant KEK.
    kek = server.generate("db-credentials", "aes256", ["encrypt", "decrypt"], label="acme db-credentials")
    ctx = {"tenant": "acme", "secret": "postgres-primary"}
    creds = b"postgres://app:Xk3!vQ9#pL@db.internal:5432/acme?sslmode=verify-full"
    sealed = server.seal(kek, creds, ctx)

    # Only the server role opens them.
    assert server.open(kek, sealed, ctx) == creds
    for other in [so, auditor]:
        with refused(coffer.PolicyError, ROLE):
            other.open(kek, sealed, ctx)
        with refused(coffer.PolicyError, ROLE):
            other.seal(kek, b"x", ctx)
        with refused(coffer.PolicyError, ROLE):
            other.find("db-credentials")
        with refused(coffer.PolicyError, ROLE):
            other.generate("k", "aes256", ["encrypt"], label="acme k")
    # The rest of the role matrix: only the SO administers credentials and shreds tenants, only the
    # auditor reads the log.
    with refused(coffer.PolicyError, ROLE):
        server.unblock_user(AUDITOR, "new-pin-123")
    with refused(coffer.PolicyError, ROLE):
        auditor.unblock_user(USER, "new-pin-123")
    with refused(coffer.PolicyError, ROLE):
        server.create_user("intruder", "new-pin-123", tenants=["acme"])
    with refused(coffer.PolicyError, ROLE):
        server.shred("acme")
    with refused(coffer.PolicyError, ROLE):
        auditor.shred("acme")
    with refused(coffer.PolicyError, ROLE):
        server.audit()
    with refused(coffer.PolicyError, ROLE):
        so.audit()
    with refused(coffer.PolicyError, ROLE):
        so.verify_audit()
    assert so.shred("globex").keys == []
    with refused(coffer.KeystoreError, NOT_FOUND):
        so.shred("nobody-here")

    # A legacy client wants the credentials as a file: it gets a scratch file (0600) that is
    # overwritten and removed as soon as it has read it.
    run = f.dir / "run"
    run.mkdir()
    pgpass = server.open_to_scratch(kek, io.BytesIO(sealed), run, ctx)
    assert pathlib.Path(pgpass.path).parent == run
    assert pathlib.Path(pgpass.path).read_bytes() == creds
    assert stat.S_IMODE(os.stat(pgpass.path).st_mode) == 0o600
    pgpass.shred()
    assert not os.path.exists(pgpass.path)
    assert sorted(os.listdir(run)) == []

    # A scheduled report, encrypted for the recipient's certificate.
    ca_key = coffer.KeyPair.generate("p256")
    ca = coffer.self_signed_ca(ca_key, "CN=Acme Mail CA,O=Acme", days=3650, path_len=0)
    alice_key = coffer.KeyPair.generate("p256")
    alice_cert = coffer.issue_leaf(
        ca, ca_key, "CN=Alice Finance,O=Acme", alice_key.public_key(), usage="client", days=365
    )
    alice_pub = coffer.verify_chain(alice_cert, [], [ca], at=now)[0].public_key()
    assert isinstance(alice_pub, coffer.P256PublicKey), "alice's certificate does not hold a P-256 key"
    report = "".join(f"2024-W40,store-{i:04},{i * 7}.{i % 100:02}\n" for i in range(4_000)).encode()
    assert len(report) > 64 * 1024, "the report should span several chunks"
    report_ctx = {"tenant": "acme", "report": "weekly-sales-2024-w40"}
    outbox = f.dir / "outbox"
    outbox.mkdir()
    attachment = outbox / "weekly-sales.csv.coffer"
    to = [coffer.Recipient.p256(b"alice@acme.example", alice_pub)]
    with io.BytesIO(report) as src, attachment.open("wb") as dst:
        assert coffer.seal_stream(src, dst, to, report_ctx, chunk_size=65_536) == len(report)

    # Alice decrypts it into a scratch file, reads it, and it is shredded.
    alice = coffer.UnlockKey.p256(b"alice@acme.example", alice_key.private_key())
    inbox = f.dir / "inbox"
    inbox.mkdir()
    with attachment.open("rb") as src:
        plain = coffer.open_to_scratch(src, [alice], inbox, report_ctx)
    assert plain.read() == report
    # A hard link made here shows what the disk holds after the shred.
    witness = inbox / "witness"
    os.link(plain.path, witness)
    plain.shred()
    assert not os.path.exists(plain.path)
    left = witness.read_bytes()
    assert len(left) == len(report)
    assert left == bytes(len(report)), "the scratch file was not overwritten with zeros"
    witness.unlink()

    # Bob, who is not a recipient, gets the opaque error and no file.
    bob = coffer.KeyPair.generate("p256")
    bob_key = coffer.UnlockKey.p256(b"alice@acme.example", bob.private_key())
    with attachment.open("rb") as src:
        with refused(coffer.DecryptError):
            coffer.open_to_scratch(src, [bob_key], inbox, report_ctx)
    assert sorted(os.listdir(inbox)) == []
    sink = attachment.read_bytes()
    assert report[:16] not in sink, "the attachment holds plaintext"

    # The access log: the credentials were sealed once and opened twice, by the server role.
    auditor.verify_audit()
    records = auditor.audit()
    credential_uses = [u for u in key_uses(records) if u[1] == "db-credentials"]
    assert credential_uses == [
        used("acme", "db-credentials", "seal"),
        used("acme", "db-credentials", "open"),
        used("acme", "db-credentials", "open"),
    ]

    def logins(user, role, tenant):
        return sum(1 for r in records if r.event == "login" and (r.user, r.role, r.tenant) == (user, role, tenant))

    assert logins("so", "security-officer", None) == 1
    assert logins(USER, "user", "acme") == 1
    assert logins(AUDITOR, "auditor", None) == 1
    assert sum(1 for r in records if r.event == "login") == 3, "no other logins"
    shreds = [(r.tenant, r.text) for r in records if r.event == "tenant-shredded"]
    assert shreds == [("globex", "tenant globex shredded: 0 keys")]
