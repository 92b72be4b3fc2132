"""AES-KW (RFC 3394) and AES-KWP (RFC 5649): published vectors, and cross-checks with cryptography."""

import os

import pytest
from cryptography.hazmat.primitives import keywrap

import coffer

KW_DATA = bytes.fromhex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
# RFC 3394 section 4.1 to 4.6: (KEK bytes, key data bytes, ciphertext).
RFC3394 = [
    (16, 16, "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"),
    (24, 16, "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"),
    (32, 16, "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"),
    (24, 24, "031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2"),
    (32, 24, "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"),
    (32, 32, "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"),
]
# RFC 5649 section 6.
RFC5649_KEK = bytes.fromhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
RFC5649 = [
    ("c37b7e6492584340bed12207808941155068f738", "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"),
    ("466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"),
]


@pytest.mark.parametrize("kek_len,data_len,expected", RFC3394)
def test_rfc3394_vectors_wrap_and_unwrap_exactly(kek_len, data_len, expected):
    kek = coffer.Kek.from_bytes(bytes(range(kek_len)))
    data = KW_DATA[:data_len]
    assert kek.wrap(data) == bytes.fromhex(expected)
    assert kek.unwrap(bytes.fromhex(expected)) == data


@pytest.mark.parametrize("data,expected", RFC5649)
def test_rfc5649_vectors_wrap_and_unwrap_exactly(data, expected):
    kek = coffer.Kek.from_bytes(RFC5649_KEK)
    assert kek.wrap_padded(bytes.fromhex(data)) == bytes.fromhex(expected)
    assert kek.unwrap_padded(bytes.fromhex(expected)) == bytes.fromhex(data)


@pytest.mark.parametrize("kek_len", [16, 24, 32])
@pytest.mark.parametrize("data_len", [16, 24, 32, 40, 512, 4096])
def test_kw_made_by_coffer_unwraps_in_cryptography_and_back(kek_len, data_len):
    raw = os.urandom(kek_len)
    kek = coffer.Kek.from_bytes(raw)
    data = os.urandom(data_len)
    assert keywrap.aes_key_unwrap(raw, kek.wrap(data)) == data
    assert kek.unwrap(keywrap.aes_key_wrap(raw, data)) == data


@pytest.mark.parametrize("kek_len", [16, 24, 32])
@pytest.mark.parametrize("data_len", [1, 7, 8, 9, 20, 31, 32, 33, 1000])
def test_kwp_made_by_coffer_unwraps_in_cryptography_and_back(kek_len, data_len):
    raw = os.urandom(kek_len)
    kek = coffer.Kek.from_bytes(raw)
    data = os.urandom(data_len)
    assert keywrap.aes_key_unwrap_with_padding(raw, kek.wrap_padded(data)) == data
    assert kek.unwrap_padded(keywrap.aes_key_wrap_with_padding(raw, data)) == data


def test_unwrapped_keys_and_exports_are_bytearrays_the_caller_can_wipe():
    kek = coffer.Kek.generate()
    key = kek.unwrap(kek.wrap(bytes(range(32))))
    assert isinstance(key, bytearray)
    key[:] = bytes(len(key))
    assert key == bytes(32)
    exported = kek.to_bytes()
    assert isinstance(exported, bytearray) and len(exported) == 32
    assert isinstance(kek.unwrap_padded(kek.wrap_padded(b"x")), bytearray)


def test_a_wrong_kek_or_any_flipped_byte_fails_to_unwrap():
    kek, other = coffer.Kek.generate(), coffer.Kek.generate()
    wrapped = kek.wrap(bytes(32))
    with pytest.raises(coffer.DecryptError):
        other.unwrap(wrapped)
    for i in range(len(wrapped)):
        flipped = bytearray(wrapped)
        flipped[i] ^= 0x01
        with pytest.raises(coffer.DecryptError):
            kek.unwrap(bytes(flipped))
    padded = kek.wrap_padded(b"seven b")
    with pytest.raises(coffer.DecryptError):
        other.unwrap_padded(padded)


def test_kek_sizes_and_the_repr_hides_the_key():
    for n, bits in [(16, 128), (24, 192), (32, 256)]:
        kek = coffer.Kek.from_bytes(b"\xab" * n)
        assert kek.key_size == bits
        assert repr(kek) == f"Kek(AES-{bits}, <redacted>)"
        assert "ab" not in repr(kek).lower().replace("aes", "")
    assert coffer.Kek.generate().key_size == 256
    for n in [0, 15, 17, 31, 33, 64]:
        with pytest.raises(coffer.InvalidKey):
            coffer.Kek.from_bytes(bytes(n))


def test_key_data_outside_the_limits_is_invalid_input():
    kek = coffer.Kek.generate()
    for bad in [b"", bytes(8), bytes(15), bytes(17), bytes(65536 + 8)]:
        with pytest.raises(coffer.InvalidInput):
            kek.wrap(bad)
    for bad in [b"", bytes(65537)]:
        with pytest.raises(coffer.InvalidInput):
            kek.wrap_padded(bad)
    assert len(kek.wrap(bytes(65536))) == 65544
    with pytest.raises(coffer.InvalidInput):
        kek.unwrap(bytes(65536 + 9))
