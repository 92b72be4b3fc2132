"""AES-256-GCM-SIV: an RFC 8452 vector, and byte-for-byte agreement with cryptography's AESGCMSIV."""

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

import coffer


def test_rfc8452_appendix_c2_first_vector_is_reproduced():
    key = bytes.fromhex("01" + "00" * 31)
    nonce = bytes.fromhex("03" + "00" * 11)
    assert coffer.Aead(key).seal(nonce, b"").hex() == "07f5f4169bbf55a8400cd47ea6fd400f"


@pytest.mark.parametrize("pt_len", [0, 1, 15, 16, 17, 64, 1000, 65536 + 3])
@pytest.mark.parametrize("aad_len", [0, 1, 33])
def test_same_inputs_give_the_same_bytes_as_cryptography_and_each_opens_the_other(pt_len, aad_len):
    key, nonce = os.urandom(32), os.urandom(12)
    pt, aad = os.urandom(pt_len), os.urandom(aad_len)
    ours = coffer.Aead(key).seal(nonce, pt, aad)
    theirs = AESGCMSIV(key).encrypt(nonce, pt, aad)
    assert ours == theirs
    assert len(ours) == pt_len + 16
    assert coffer.Aead(key).open(nonce, theirs, aad) == pt
    assert AESGCMSIV(key).decrypt(nonce, ours, aad) == pt


def test_an_omitted_aad_is_the_empty_aad():
    key, nonce = os.urandom(32), os.urandom(12)
    aead = coffer.Aead(key)
    assert aead.seal(nonce, b"x") == aead.seal(nonce, b"x", b"") == AESGCMSIV(key).encrypt(nonce, b"x", None)
    assert aead.open(nonce, aead.seal(nonce, b"x")) == b"x"


def test_any_flipped_byte_wrong_nonce_wrong_aad_or_wrong_key_is_a_decrypt_error():
    aead, nonce = coffer.Aead.generate(), os.urandom(12)
    sealed = aead.seal(nonce, b"secret record", b"tenant=acme")
    for i in range(len(sealed)):
        flipped = bytearray(sealed)
        flipped[i] ^= 0x80
        with pytest.raises(coffer.DecryptError):
            aead.open(nonce, bytes(flipped), b"tenant=acme")
    with pytest.raises(coffer.DecryptError):
        aead.open(bytes(12), sealed, b"tenant=acme")
    with pytest.raises(coffer.DecryptError):
        aead.open(nonce, sealed, b"tenant=globex")
    with pytest.raises(coffer.DecryptError):
        coffer.Aead.generate().open(nonce, sealed, b"tenant=acme")
    for short in [b"", bytes(15)]:
        with pytest.raises(coffer.DecryptError):
            aead.open(nonce, short)


def test_opened_plaintext_is_a_bytearray_and_inputs_may_be_bytearray_or_memoryview():
    key, nonce = os.urandom(32), os.urandom(12)
    aead = coffer.Aead(bytearray(key))
    sealed = aead.seal(memoryview(nonce), bytearray(b"hello"), memoryview(b"aad"))
    opened = aead.open(bytearray(nonce), memoryview(sealed), bytearray(b"aad"))
    assert isinstance(opened, bytearray) and opened == b"hello"
    assert bytes(aead.to_bytes()) == key
    assert repr(aead) == "Aead(AES-256-GCM-SIV, <redacted>)"


def test_keys_and_nonces_of_other_lengths_are_refused():
    for n in [0, 16, 31, 33, 1 << 20]:
        with pytest.raises(coffer.InvalidKey):
            coffer.Aead(bytes(n))
    aead = coffer.Aead.generate()
    for n in [0, 11, 13, 1 << 20]:
        with pytest.raises(coffer.InvalidInput, match="12 bytes"):
            aead.seal(bytes(n), b"x")
        with pytest.raises(coffer.InvalidInput):
            aead.open(bytes(n), bytes(32))


def test_a_memoryview_of_any_format_is_read_as_its_raw_bytes():
    import array

    words = array.array("I", [1, 2, 3, 0xDEADBEEF])
    aead, nonce = coffer.Aead.generate(), bytes(12)
    assert aead.seal(nonce, memoryview(words)) == aead.seal(nonce, words.tobytes())
    assert bytes(aead.open(nonce, memoryview(bytearray(aead.seal(nonce, b"x"))))) == b"x"
