"""rewrap, add_recipient and remove_recipient: header changes that keep the payload, and each refusal."""

import os

import pytest

import coffer

CTX = {"tenant": "acme"}


def payload(envelope):
    """The envelope's payload bytes (everything after the header)."""
    return envelope[coffer.inspect(envelope)["header_len"]:]


def idents(envelope):
    return [(r["kind"], r["key_id"], r["version"]) for r in coffer.inspect(envelope)["recipients"]]


@pytest.fixture(scope="module")
def two_keks():
    return coffer.Kek.generate(), coffer.Kek.generate()


@pytest.fixture(scope="module")
def plaintext():
    return os.urandom(150_000)  # three 64 KiB chunks


def test_rewrap_moves_the_envelope_to_the_new_key_and_leaves_the_payload_bytes_unchanged(two_keks, plaintext):
    v1, v2 = two_keks
    envelope = coffer.seal(plaintext, [coffer.Recipient.kek("k", v1, 1)], CTX)
    rewrapped = coffer.rewrap(envelope, coffer.UnlockKey.kek("k", v1, 1), coffer.Recipient.kek("k", v2, 2))

    assert coffer.open(rewrapped, [coffer.UnlockKey.kek("k", v2, 2)], CTX) == plaintext
    with pytest.raises(coffer.DecryptError):
        coffer.open(rewrapped, [coffer.UnlockKey.kek("k", v1, 1)], CTX)
    before, after = coffer.inspect(envelope), coffer.inspect(rewrapped)
    assert payload(rewrapped) == payload(envelope)
    assert after["payload_len"] == before["payload_len"]
    assert after["plaintext_len"] == before["plaintext_len"] == len(plaintext)
    assert after["context"] == before["context"] == {b"tenant": b"acme"}
    assert after["chunk_size"] == before["chunk_size"]
    assert idents(rewrapped) == [("kek", b"k", 2)]


def test_rewrap_replaces_only_the_recipient_the_old_key_opens(two_keks, coffer_p256):
    v1, v2 = two_keks
    envelope = coffer.seal(
        b"data", [coffer.Recipient.kek("k", v1, 1), coffer.Recipient.p256("dev", coffer_p256.public_key())]
    )
    rewrapped = coffer.rewrap(envelope, coffer.UnlockKey.kek("k", v1, 1), coffer.Recipient.kek("k", v2, 2))
    assert idents(rewrapped) == [("kek", b"k", 2), ("p256", b"dev", 1)]
    assert coffer.open(rewrapped, [coffer.UnlockKey.p256("dev", coffer_p256)]) == b"data"


def test_rewrap_to_an_rsa_recipient_opens_with_the_rsa_key(two_keks, coffer_rsa):
    v1, _ = two_keks
    envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", v1)])
    rewrapped = coffer.rewrap(envelope, coffer.UnlockKey.kek("k", v1), coffer.Recipient.rsa("escrow", coffer_rsa.public_key()))
    assert coffer.open(rewrapped, [coffer.UnlockKey.rsa("escrow", coffer_rsa)]) == b"data"
    assert payload(rewrapped) == payload(envelope)


def test_rewrap_with_a_wrong_old_key_is_a_decrypt_error(two_keks):
    v1, v2 = two_keks
    envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", v1, 1)])
    for wrong in [coffer.UnlockKey.kek("k", v2, 1), coffer.UnlockKey.kek("k", v1, 2), coffer.UnlockKey.kek("other", v1, 1)]:
        with pytest.raises(coffer.DecryptError):
            coffer.rewrap(envelope, wrong, coffer.Recipient.kek("k", v2, 2))


def test_rewrap_to_a_recipient_that_is_already_another_one_is_invalid_input(two_keks):
    v1, v2 = two_keks
    envelope = coffer.seal(b"data", [coffer.Recipient.kek("a", v1), coffer.Recipient.kek("b", v2)])
    with pytest.raises(coffer.InvalidInput):
        coffer.rewrap(envelope, coffer.UnlockKey.kek("a", v1), coffer.Recipient.kek("b", v2))


def test_add_recipient_lets_the_new_key_open_and_keeps_the_old_one_and_the_payload(two_keks, coffer_rsa, plaintext):
    v1, _ = two_keks
    envelope = coffer.seal(plaintext, [coffer.Recipient.kek("k", v1)], CTX)
    added = coffer.add_recipient(envelope, coffer.UnlockKey.kek("k", v1), coffer.Recipient.rsa("escrow", coffer_rsa.public_key(), 4))
    assert idents(added) == [("kek", b"k", 1), ("rsa", b"escrow", 4)]
    assert coffer.open(added, [coffer.UnlockKey.rsa("escrow", coffer_rsa, 4)], CTX) == plaintext
    assert coffer.open(added, [coffer.UnlockKey.kek("k", v1)], CTX) == plaintext
    assert payload(added) == payload(envelope)
    assert coffer.inspect(added)["context"] == coffer.inspect(envelope)["context"]


def test_add_recipient_with_a_wrong_key_is_a_decrypt_error(two_keks):
    v1, v2 = two_keks
    envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", v1)])
    with pytest.raises(coffer.DecryptError):
        coffer.add_recipient(envelope, coffer.UnlockKey.kek("k", v2), coffer.Recipient.kek("new", v2))


def test_adding_a_recipient_twice_is_invalid_input(two_keks):
    v1, v2 = two_keks
    envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", v1)])
    added = coffer.add_recipient(envelope, coffer.UnlockKey.kek("k", v1), coffer.Recipient.kek("new", v2))
    with pytest.raises(coffer.InvalidInput):
        coffer.add_recipient(added, coffer.UnlockKey.kek("k", v1), coffer.Recipient.kek("new", v2))
    with pytest.raises(coffer.InvalidInput):  # the same kind, id and version, even under another key
        coffer.add_recipient(envelope, coffer.UnlockKey.kek("k", v1), coffer.Recipient.kek("k", v2))


def test_a_seventeenth_recipient_is_invalid_input(two_keks):
    v1, _ = two_keks
    envelope = coffer.seal(b"data", [coffer.Recipient.kek(f"k{i}", v1) for i in range(16)])
    with pytest.raises(coffer.InvalidInput):
        coffer.add_recipient(envelope, coffer.UnlockKey.kek("k0", v1), coffer.Recipient.kek("k16", v1))


def test_remove_recipient_drops_it_and_keeps_the_others_and_the_payload(two_keks, coffer_p256, plaintext):
    v1, v2 = two_keks
    envelope = coffer.seal(
        plaintext,
        [coffer.Recipient.kek("a", v1), coffer.Recipient.kek("b", v2, 7), coffer.Recipient.p256("dev", coffer_p256.public_key())],
    )
    removed = coffer.remove_recipient(envelope, "kek", b"b", version=7)
    assert idents(removed) == [("kek", b"a", 1), ("p256", b"dev", 1)]
    with pytest.raises(coffer.DecryptError):
        coffer.open(removed, [coffer.UnlockKey.kek("b", v2, 7)])
    assert coffer.open(removed, [coffer.UnlockKey.kek("a", v1)]) == plaintext
    assert payload(removed) == payload(envelope)
    removed = coffer.remove_recipient(removed, "p256", "dev")
    assert idents(removed) == [("kek", b"a", 1)]


def test_removing_the_last_recipient_is_invalid_input(two_keks):
    v1, _ = two_keks
    envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", v1)])
    with pytest.raises(coffer.InvalidInput):
        coffer.remove_recipient(envelope, "kek", "k")


def test_removing_a_recipient_that_is_not_there_is_invalid_input(two_keks):
    v1, v2 = two_keks
    envelope = coffer.seal(b"data", [coffer.Recipient.kek("a", v1), coffer.Recipient.kek("b", v2)])
    for kind, key_id, version in [("kek", "c", 1), ("kek", "a", 2), ("rsa", "a", 1), ("p256", "b", 1)]:
        with pytest.raises(coffer.InvalidInput):
            coffer.remove_recipient(envelope, kind, key_id, version)


def test_remove_recipient_refuses_an_unknown_kind_and_wrong_types(two_keks):
    v1, v2 = two_keks
    envelope = coffer.seal(b"data", [coffer.Recipient.kek("a", v1), coffer.Recipient.kek("b", v2)])
    with pytest.raises(coffer.InvalidInput):
        coffer.remove_recipient(envelope, "aes", "a")
    with pytest.raises(TypeError):
        coffer.remove_recipient(envelope, b"kek", "a")
    with pytest.raises(TypeError):
        coffer.remove_recipient(envelope, "kek", 1)
    with pytest.raises(TypeError):
        coffer.remove_recipient("not bytes", "kek", "a")
    with pytest.raises(coffer.InvalidInput):
        coffer.remove_recipient(envelope, "kek", "a", version=-1)


def test_header_changes_on_bytes_that_are_not_an_envelope_are_malformed(two_keks):
    v1, v2 = two_keks
    for call in [
        lambda: coffer.rewrap(b"junk", coffer.UnlockKey.kek("k", v1), coffer.Recipient.kek("k", v2, 2)),
        lambda: coffer.add_recipient(b"junk", coffer.UnlockKey.kek("k", v1), coffer.Recipient.kek("n", v2)),
        lambda: coffer.remove_recipient(b"junk", "kek", "k"),
    ]:
        with pytest.raises(coffer.MalformedError):
            call()


def test_header_changes_refuse_arguments_of_the_wrong_type(two_keks):
    v1, v2 = two_keks
    envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", v1)])
    with pytest.raises(TypeError):
        coffer.rewrap(envelope, coffer.Recipient.kek("k", v1), coffer.Recipient.kek("k", v2, 2))
    with pytest.raises(TypeError):
        coffer.rewrap(envelope, coffer.UnlockKey.kek("k", v1), coffer.UnlockKey.kek("k", v2, 2))
    with pytest.raises(TypeError):
        coffer.add_recipient(envelope, v1, coffer.Recipient.kek("n", v2))
    with pytest.raises(TypeError):
        coffer.add_recipient(bytearray(envelope).decode("latin-1"), coffer.UnlockKey.kek("k", v1), coffer.Recipient.kek("n", v2))


def test_header_changes_accept_bytearray_and_memoryview_envelopes(two_keks):
    v1, v2 = two_keks
    envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", v1)])
    for given in [bytearray(envelope), memoryview(envelope)]:
        rewrapped = coffer.rewrap(given, coffer.UnlockKey.kek("k", v1), coffer.Recipient.kek("k", v2, 2))
        assert isinstance(rewrapped, bytes)
        assert coffer.open(rewrapped, [coffer.UnlockKey.kek("k", v2, 2)]) == b"data"
