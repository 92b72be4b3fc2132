"""P-256: keys and ECDSA-SHA-256 signatures move both ways between coffer and cryptography."""

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

import coffer

MSG = b"boot measurement 0x5f3a"


def crypto_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_a_private_key_coffer_writes_loads_in_cryptography_as_the_same_key(coffer_p256):
    loaded = serialization.load_pem_private_key(coffer_p256.to_pem().encode(), password=None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey) and loaded.curve.name == "secp256r1"
    der_loaded = serialization.load_der_private_key(bytes(coffer_p256.to_der()), password=None)
    ours_public = coffer_p256.public_key().to_der()
    for k in (loaded, der_loaded):
        theirs_public = k.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert theirs_public == ours_public


def test_a_private_key_cryptography_writes_loads_in_coffer_as_the_same_key(crypto_p256):
    ours = coffer.P256PrivateKey.from_pem(crypto_pem(crypto_p256))
    also = coffer.P256PrivateKey.from_pem(crypto_pem(crypto_p256).decode())
    der = crypto_p256.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    from_der = coffer.P256PrivateKey.from_der(der)
    spki = crypto_p256.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for k in (ours, also, from_der):
        assert k.public_key().to_der() == spki


def test_public_keys_move_both_ways_in_pem_and_der(coffer_p256, crypto_p256):
    theirs = serialization.load_pem_public_key(coffer_p256.public_key().to_pem().encode())
    assert theirs.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == (
        coffer_p256.public_key().to_der()
    )
    pem = crypto_p256.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ours = coffer.P256PublicKey.from_pem(pem)
    assert ours.to_pem().encode() == pem
    assert coffer.P256PublicKey.from_der(ours.to_der()) == ours


def test_coffer_signatures_verify_in_cryptography(coffer_p256):
    theirs = serialization.load_pem_public_key(coffer_p256.public_key().to_pem().encode())
    theirs.verify(coffer_p256.sign(MSG), MSG, ec.ECDSA(hashes.SHA256()))
    fixed = coffer_p256.sign_fixed(MSG)
    der = encode_dss_signature(int.from_bytes(fixed[:32], "big"), int.from_bytes(fixed[32:], "big"))
    theirs.verify(der, MSG, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        theirs.verify(coffer_p256.sign(MSG), MSG + b"!", ec.ECDSA(hashes.SHA256()))


def test_signing_is_deterministic_and_der_and_fixed_forms_agree(coffer_p256):
    der = coffer_p256.sign(MSG)
    assert der == coffer_p256.sign(MSG)
    r, s = decode_dss_signature(der)
    assert coffer_p256.sign_fixed(MSG) == r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_cryptography_signatures_verify_in_coffer(crypto_p256):
    ours = coffer.P256PublicKey.from_pem(
        crypto_p256.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    for _ in range(20):  # randomized signatures: some have short r or s encodings
        sig = crypto_p256.sign(MSG, ec.ECDSA(hashes.SHA256()))
        assert ours.verify(MSG, sig) is None
        r, s = decode_dss_signature(sig)
        ours.verify_fixed(MSG, r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    with pytest.raises(coffer.VerifyError):
        ours.verify(MSG + b"!", sig)


def test_wrong_or_malformed_signatures_are_verify_errors(coffer_p256):
    public = coffer_p256.public_key()
    sig = coffer_p256.sign(MSG)
    other = coffer.P256PrivateKey.generate()
    for bad in [b"", b"\x30\x00", bytes(72), bytes(73), bytes(10_000), other.sign(MSG), sig[:-1]]:
        with pytest.raises(coffer.VerifyError):
            public.verify(MSG, bad)
    for bad in [b"", bytes(63), bytes(64), bytes(65), other.sign_fixed(MSG)]:
        with pytest.raises(coffer.VerifyError):
            public.verify_fixed(MSG, bad)


def test_equality_and_reprs(coffer_p256):
    assert coffer_p256.public_key() == coffer_p256.public_key()
    assert coffer_p256.public_key() != coffer.P256PrivateKey.generate().public_key()
    assert repr(coffer_p256) == "P256PrivateKey(<redacted>)"
    assert repr(coffer_p256.public_key()).startswith("P256PublicKey(04")
