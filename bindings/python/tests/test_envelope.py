"""Envelopes: round trips for KEK, RSA and P-256 recipients, and every way opening must fail."""

import os

import pytest

import coffer

CTX = {"tenant": "acme", b"purpose": b"backup"}


@pytest.fixture(scope="module")
def keys(coffer_rsa, coffer_p256):
    kek = coffer.Kek.generate()
    recipients = [
        coffer.Recipient.kek("kek-1", kek, version=3),
        coffer.Recipient.rsa(b"escrow", coffer_rsa.public_key()),
        coffer.Recipient.p256("device-17", coffer_p256.public_key(), version=2),
    ]
    unlock = {
        "kek": coffer.UnlockKey.kek("kek-1", kek, version=3),
        "rsa": coffer.UnlockKey.rsa("escrow", coffer_rsa),
        "p256": coffer.UnlockKey.p256(b"device-17", coffer_p256, version=2),
    }
    return kek, recipients, unlock


@pytest.mark.parametrize("size", [0, 1, 1000, 65536, 65537, 200_000])
def test_an_envelope_for_three_recipients_opens_with_each_key_alone(keys, size):
    _, recipients, unlock = keys
    plaintext = os.urandom(size)
    envelope = coffer.seal(plaintext, recipients, context=CTX)
    assert envelope[:4] == b"CFRE"
    for kind, key in unlock.items():
        opened = coffer.open(envelope, [key], context=CTX)
        assert isinstance(opened, bytearray), kind
        assert opened == plaintext, kind


@pytest.mark.parametrize("kind", ["kek", "rsa", "p256"])
def test_an_envelope_for_one_recipient_of_each_kind_round_trips(keys, coffer_rsa, coffer_p256, kind):
    _, recipients, unlock = keys
    recipient = {r.kind: r for r in recipients}[kind]
    envelope = coffer.seal(b"one recipient", [recipient])
    assert coffer.open(envelope, [unlock[kind]]) == b"one recipient"


def test_a_context_given_as_str_or_bytes_is_the_same_context(keys):
    _, recipients, unlock = keys
    envelope = coffer.seal(b"data", recipients, context={"tenant": "acme"})
    assert coffer.open(envelope, [unlock["kek"]], context={b"tenant": b"acme"}) == b"data"
    assert coffer.open(envelope, [unlock["kek"]], context={"tenant": bytearray(b"acme")}) == b"data"


def test_a_wrong_missing_or_extra_context_is_a_decrypt_error(keys):
    _, recipients, unlock = keys
    envelope = coffer.seal(b"data", recipients, context=CTX)
    for ctx in [None, {}, {"tenant": "globex", "purpose": "backup"}, {"tenant": "acme"},
                {**CTX, "extra": ""}, {"tenant": "acme", "purpose": "backup "}]:
        with pytest.raises(coffer.DecryptError):
            coffer.open(envelope, [unlock["kek"]], context=ctx)


def test_a_wrong_key_id_version_or_key_is_a_decrypt_error(keys, coffer_rsa, coffer_p256):
    kek, recipients, _ = keys
    envelope = coffer.seal(b"data", recipients)
    other_kek = coffer.Kek.generate()
    wrong = [
        coffer.UnlockKey.kek("kek-1", other_kek, version=3),
        coffer.UnlockKey.kek("kek-1", kek, version=4),
        coffer.UnlockKey.kek("kek-2", kek, version=3),
        coffer.UnlockKey.p256("device-17", coffer.P256PrivateKey.generate(), version=2),
        coffer.UnlockKey.rsa("escrow", coffer.RsaPrivateKey.generate(2048)),
        coffer.UnlockKey.p256("escrow", coffer_p256),
    ]
    for key in wrong:
        with pytest.raises(coffer.DecryptError):
            coffer.open(envelope, [key])
    with pytest.raises(coffer.DecryptError):
        coffer.open(envelope, wrong)
    # One good key among wrong ones opens it.
    assert coffer.open(envelope, wrong + [coffer.UnlockKey.kek("kek-1", kek, version=3)]) == b"data"


def test_any_flipped_byte_makes_opening_a_decrypt_error():
    kek = coffer.Kek.generate()
    envelope = coffer.seal(b"quarterly numbers", [coffer.Recipient.kek("k", kek)], context={"a": "b"})
    key = coffer.UnlockKey.kek("k", kek)
    for i in range(len(envelope)):
        flipped = bytearray(envelope)
        flipped[i] ^= 0x01
        with pytest.raises(coffer.DecryptError):
            coffer.open(bytes(flipped), [key], context={"a": "b"})
        # inspect() reads the header unauthenticated: it may parse or refuse, but never crashes.
        try:
            coffer.inspect(bytes(flipped))
        except coffer.MalformedError:
            pass


def test_a_truncated_or_extended_envelope_is_a_decrypt_error(keys):
    _, recipients, unlock = keys
    envelope = coffer.seal(os.urandom(70_000), recipients)
    for cut in [0, 4, 10, 100, len(envelope) - 17, len(envelope) - 1]:
        with pytest.raises(coffer.DecryptError):
            coffer.open(envelope[:cut], [unlock["kek"]])
    with pytest.raises(coffer.DecryptError):
        coffer.open(envelope + b"\x00", [unlock["kek"]])


def test_inspect_shows_recipients_context_and_sizes_without_a_key(keys):
    _, recipients, _ = keys
    envelope = coffer.seal(bytes(100_000), recipients, context=CTX)
    info = coffer.inspect(envelope)
    assert info["recipients"] == [
        {"kind": "kek", "key_id": b"kek-1", "version": 3},
        {"kind": "rsa", "key_id": b"escrow", "version": 1},
        {"kind": "p256", "key_id": b"device-17", "version": 2},
    ]
    assert info["context"] == {b"purpose": b"backup", b"tenant": b"acme"}
    assert info["format_version"] == 1
    assert info["chunk_size"] == 65536
    assert info["envelope_len"] == len(envelope)
    assert info["header_len"] + info["payload_len"] == len(envelope)
    assert info["payload_len"] == 100_000 + 2 * 16
    assert info["plaintext_len"] == 100_000
    empty = coffer.inspect(coffer.seal(b"", recipients[:1]))
    assert empty["plaintext_len"] == 0 and empty["context"] == {}


def test_inspect_refuses_bytes_that_are_not_an_envelope():
    for bad in [b"", b"CFRE", b"not an envelope", bytes(1000), b"CFRE\x02\x01" + bytes(100)]:
        with pytest.raises(coffer.MalformedError):
            coffer.inspect(bad)


def test_recipient_and_unlock_key_objects_describe_themselves(keys):
    _, recipients, unlock = keys
    assert [(r.kind, r.key_id, r.version) for r in recipients] == [
        ("kek", b"kek-1", 3), ("rsa", b"escrow", 1), ("p256", b"device-17", 2)
    ]
    assert repr(recipients[0]) == "Recipient(kind='kek', key_id='kek-1', version=3)"
    assert repr(unlock["rsa"]) == "UnlockKey(kind='rsa', key_id='escrow', version=1)"
    assert repr(coffer.Recipient.kek(b"\xff", coffer.Kek.generate())) == (
        "Recipient(kind='kek', key_id=b'\\xff', version=1)"
    )


def test_recipients_and_keys_may_be_any_iterable(keys):
    _, recipients, unlock = keys
    envelope = coffer.seal(b"data", tuple(recipients))
    assert coffer.open(envelope, (k for k in unlock.values())) == b"data"


def test_sixteen_recipients_are_the_most():
    keks = [coffer.Kek.generate() for _ in range(17)]
    to = [coffer.Recipient.kek(f"k{i}", k) for i, k in enumerate(keks)]
    envelope = coffer.seal(b"x", to[:16])
    assert len(coffer.inspect(envelope)["recipients"]) == 16
    assert coffer.open(envelope, [coffer.UnlockKey.kek("k15", keks[15])]) == b"x"
    with pytest.raises(coffer.InvalidInput):
        coffer.seal(b"x", to)
    with pytest.raises(coffer.InvalidInput):
        coffer.seal(b"x", [])
    with pytest.raises(coffer.InvalidInput):
        coffer.open(envelope, [])


def test_context_limits_are_invalid_input():
    to = [coffer.Recipient.kek("k", coffer.Kek.generate())]
    assert coffer.seal(b"x", to, {f"k{i}": "v" * 1024 for i in range(16)})
    assert coffer.seal(b"x", to, {"k" * 64: ""})
    for ctx in [
        {f"k{i}": "v" for i in range(17)},
        {"": "v"},
        {"k" * 65: "v"},
        {"k": "v" * 1025},
        {"k": b"v", b"k": b"w"},  # the same key twice, once as str and once as bytes
    ]:
        with pytest.raises(coffer.InvalidInput):
            coffer.seal(b"x", to, ctx)


def test_key_ids_versions_and_kek_sizes_outside_the_format_are_invalid_input():
    kek = coffer.Kek.generate()
    for bad_id in ["", b"", "k" * 65, "é" * 33]:
        with pytest.raises(coffer.InvalidInput):
            coffer.Recipient.kek(bad_id, kek)
        with pytest.raises(coffer.InvalidInput):
            coffer.UnlockKey.kek(bad_id, kek)
    assert coffer.Recipient.kek("k" * 64, kek, version=2**32 - 1).version == 2**32 - 1
    for bad_version in [-1, 2**32, 2**100]:
        with pytest.raises(coffer.InvalidInput):
            coffer.Recipient.kek("k", kek, version=bad_version)
    for size in (16, 24):
        with pytest.raises(coffer.InvalidInput):
            coffer.Recipient.kek("k", coffer.Kek.from_bytes(bytes(size)))
        with pytest.raises(coffer.InvalidInput):
            coffer.UnlockKey.kek("k", coffer.Kek.from_bytes(bytes(size)))
