"""RSA: keys, PSS and PKCS#1 v1.5 signatures and OAEP-SHA-256 move both ways between coffer and cryptography."""

import os

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import coffer

MSG = b"release 1.2.0 tarball sha256"
# coffer's PSS: SHA-256, MGF1-SHA-256, salt of 32 bytes (core/src/rsa.rs).
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def oaep(label=None):
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label)


def crypto_public_of(key):
    return serialization.load_pem_public_key(key.public_key().to_pem().encode())


def coffer_public_of(key):
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return coffer.RsaPublicKey.from_pem(pem)


def test_a_private_key_coffer_writes_loads_in_cryptography_as_the_same_key(coffer_rsa):
    loaded = serialization.load_pem_private_key(coffer_rsa.to_pem().encode(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey) and loaded.key_size == 2048
    assert loaded.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == coffer_rsa.public_key().to_der()
    der_loaded = serialization.load_der_private_key(bytes(coffer_rsa.to_der()), password=None)
    assert der_loaded.private_numbers() == loaded.private_numbers()


def test_a_private_key_cryptography_writes_loads_in_coffer_as_the_same_key(crypto_rsa):
    pem = crypto_rsa.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der = crypto_rsa.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    spki = crypto_rsa.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for key in (coffer.RsaPrivateKey.from_pem(pem), coffer.RsaPrivateKey.from_pem(pem.decode()),
                coffer.RsaPrivateKey.from_der(der)):
        assert key.key_size == 2048
        assert key.public_key().to_der() == spki
        assert key.public_key() == coffer.RsaPublicKey.from_der(spki)


@pytest.mark.parametrize("bits", [3072, 4096])
def test_generated_keys_have_the_asked_size_and_load_in_cryptography(bits):
    key = coffer.RsaPrivateKey.generate(bits)
    assert key.key_size == bits and key.public_key().key_size == bits
    loaded = serialization.load_der_private_key(bytes(key.to_der()), password=None)
    assert loaded.key_size == bits and loaded.private_numbers().public_numbers.e == 65537


def test_pss_signatures_made_by_coffer_verify_in_cryptography_and_back(coffer_rsa, crypto_rsa):
    sig = coffer_rsa.sign(MSG)
    assert len(sig) == 256
    crypto_public_of(coffer_rsa).verify(sig, MSG, PSS, hashes.SHA256())
    crypto_public_of(coffer_rsa).verify(sig, MSG, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO),
                                        hashes.SHA256())
    theirs = crypto_rsa.sign(MSG, PSS, hashes.SHA256())
    assert coffer_public_of(crypto_rsa).verify(MSG, theirs) is None
    assert coffer_public_of(crypto_rsa).verify(MSG, theirs, scheme="pss") is None
    with pytest.raises(InvalidSignature):
        crypto_public_of(coffer_rsa).verify(sig, MSG + b"!", PSS, hashes.SHA256())
    with pytest.raises(coffer.VerifyError):
        coffer_public_of(crypto_rsa).verify(MSG + b"!", theirs)


def test_pkcs1v15_signatures_agree_byte_for_byte_and_verify_both_ways(coffer_rsa, crypto_rsa):
    sig = coffer_rsa.sign(MSG, scheme="pkcs1v15")
    crypto_public_of(coffer_rsa).verify(sig, MSG, padding.PKCS1v15(), hashes.SHA256())
    # PKCS#1 v1.5 is deterministic: the same key gives the same bytes in both.
    theirs_same_key = serialization.load_der_private_key(bytes(coffer_rsa.to_der()), password=None)
    assert theirs_same_key.sign(MSG, padding.PKCS1v15(), hashes.SHA256()) == sig
    theirs = crypto_rsa.sign(MSG, padding.PKCS1v15(), hashes.SHA256())
    coffer_public_of(crypto_rsa).verify(MSG, theirs, "pkcs1v15")
    with pytest.raises(coffer.VerifyError):
        coffer_public_of(crypto_rsa).verify(MSG, theirs, "pss")


@pytest.mark.parametrize("label", [None, b"", b"envelope v1"])
def test_oaep_ciphertexts_made_by_one_decrypt_in_the_other(coffer_rsa, crypto_rsa, label):
    data = os.urandom(32)
    ct = coffer_rsa.public_key().encrypt_oaep(data, label=label)
    theirs = serialization.load_der_private_key(bytes(coffer_rsa.to_der()), password=None)
    assert theirs.decrypt(ct, oaep(label or None)) == data
    ct2 = crypto_rsa.public_key().encrypt(data, oaep(label or None))
    ours = coffer.RsaPrivateKey.from_der(
        crypto_rsa.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    )
    out = ours.decrypt_oaep(ct2, label=label)
    assert isinstance(out, bytearray) and out == data


def test_oaep_with_the_wrong_label_or_key_or_a_flipped_byte_is_a_decrypt_error(coffer_rsa, crypto_rsa):
    ct = coffer_rsa.public_key().encrypt_oaep(b"data key", label=b"a")
    with pytest.raises(coffer.DecryptError):
        coffer_rsa.decrypt_oaep(ct, label=b"b")
    with pytest.raises(coffer.DecryptError):
        coffer_rsa.decrypt_oaep(ct)
    flipped = bytearray(ct)
    flipped[100] ^= 1
    with pytest.raises(coffer.DecryptError):
        coffer_rsa.decrypt_oaep(bytes(flipped), label=b"a")
    for bad in [b"", bytes(255), bytes(257), bytes(100_000)]:
        with pytest.raises(coffer.DecryptError):
            coffer_rsa.decrypt_oaep(bad)


def test_oaep_plaintext_and_label_limits_are_invalid_input(coffer_rsa):
    public = coffer_rsa.public_key()
    assert len(public.encrypt_oaep(bytes(190))) == 256
    with pytest.raises(coffer.InvalidInput):
        public.encrypt_oaep(bytes(191))
    with pytest.raises(coffer.InvalidInput):
        public.encrypt_oaep(b"x", label=bytes(1025))
    with pytest.raises(coffer.InvalidInput):
        coffer_rsa.decrypt_oaep(bytes(256), label=bytes(1025))


def test_key_sizes_and_exponents_outside_the_policy_are_refused():
    for bits in [0, 1024, 2047, 2049, 8192]:
        with pytest.raises(coffer.InvalidInput):
            coffer.RsaPrivateKey.generate(bits)
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    e3 = rsa.generate_private_key(public_exponent=3, key_size=2048)
    for key in (small, e3):
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        with pytest.raises(coffer.InvalidKey):
            coffer.RsaPrivateKey.from_pem(pem)
        with pytest.raises(coffer.InvalidKey):
            coffer_public_of(key)


def test_unknown_schemes_are_invalid_input_and_reprs_hide_the_key(coffer_rsa):
    with pytest.raises(coffer.InvalidInput):
        coffer_rsa.sign(MSG, scheme="PSS")
    with pytest.raises(coffer.InvalidInput):
        coffer_rsa.public_key().verify(MSG, bytes(256), scheme="raw")
    assert repr(coffer_rsa) == "RsaPrivateKey(2048 bits, <redacted>)"
    assert repr(coffer_rsa.public_key()) == "RsaPublicKey(2048 bits)"
