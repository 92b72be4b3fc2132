"""Bad input to the certificate API gives a typed exception and never a crash.

Wrong types raise TypeError; sizes over a limit InvalidInput before anything is decoded;
bytes that are not a certificate, request or list MalformedError; keys that are not keys
InvalidKey; names, subjects, times and options out of range InvalidInput.
"""

import datetime
import os
import random

import pytest

import coffer

KEY = coffer.KeyPair.generate()
CA = coffer.self_signed_ca(KEY, "CN=Bad Input Root")
LEAF = coffer.issue_leaf(CA, KEY, "CN=leaf", KEY, sans=["dns:leaf.test"], days=30)
REQUEST = coffer.csr(KEY, "CN=req")
CRL = coffer.issue_crl(CA, KEY, [LEAF], number=1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: coffer.KeyPair.generate(256),
        lambda: coffer.KeyPair.from_pem(12),
        lambda: coffer.KeyPair.from_der("der as text"),
        lambda: coffer.KeyPair.from_pem(KEY.to_pem(), passphrase=12),
        lambda: coffer.KeyPair.from_private_key(KEY.public_key()),
        lambda: coffer.Certificate.from_pem(None),
        lambda: coffer.Certificate.from_der("text"),
        lambda: coffer.Certificate.all_from_pem(3.5),
        lambda: coffer.Csr.from_der(["list"]),
        lambda: coffer.Crl.from_pem(object()),
        lambda: coffer.self_signed_ca(b"key", "CN=x"),
        lambda: coffer.self_signed_ca(KEY, b"CN=x"),
        lambda: coffer.self_signed_ca(KEY, "CN=x", days="ten"),
        lambda: coffer.self_signed_ca(KEY, "CN=x", not_before="yesterday"),
        lambda: coffer.self_signed_ca(KEY, "CN=x", not_after=1.5),
        lambda: coffer.csr(KEY, "CN=x", sans="dns:a.test"),
        lambda: coffer.csr(KEY, "CN=x", sans=[b"dns:a.test"]),
        lambda: coffer.csr(KEY, "CN=x", sans=12),
        lambda: coffer.issue_leaf(CA.to_pem(), KEY, "CN=x", KEY, sans=["dns:a.test"]),
        lambda: coffer.issue_leaf(CA, KEY, "CN=x", KEY.to_der(), sans=["dns:a.test"]),
        lambda: coffer.issue_leaf(CA, CA, "CN=x", KEY, sans=["dns:a.test"]),
        lambda: coffer.issue_from_csr(CA, KEY, REQUEST.to_pem()),
        lambda: coffer.issue_intermediate(CA, KEY, LEAF),
        lambda: coffer.issue_crl(CA, KEY, ["serial"], number=1),
        lambda: coffer.issue_crl(CA, KEY, "abc", number=1),
        lambda: coffer.issue_crl(CA, KEY, [], number="1"),
        lambda: coffer.self_signed_ca(KEY, "CN=x", path_len="1"),
        lambda: coffer.verify_chain(LEAF.to_pem(), [], [CA]),
        lambda: coffer.verify_chain(LEAF, [], CA.to_pem()),
        lambda: coffer.verify_chain(LEAF, [CA.to_der()], [CA]),
        lambda: coffer.verify_chain(LEAF, [], [CA], at="now"),
        lambda: coffer.verify_chain(LEAF, [], [CA], crls=[CA]),
        lambda: coffer.verify_chain(LEAF, [], None),
        lambda: CRL.verify(KEY),
    ],
)
def test_wrong_argument_types_raise_type_error(call):
    with pytest.raises(TypeError):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: coffer.KeyPair.generate("ed25519"),
        lambda: coffer.KeyPair.generate("rsa1024"),
        lambda: coffer.self_signed_ca(KEY, ""),
        lambda: coffer.self_signed_ca(KEY, "not a name"),
        lambda: coffer.self_signed_ca(KEY, "CN=" + "x" * 2000),
        lambda: coffer.self_signed_ca(KEY, "CN=x", days=0),
        lambda: coffer.self_signed_ca(KEY, "CN=x", days=-1),
        lambda: coffer.self_signed_ca(KEY, "CN=x", not_before=2_000_000_000, not_after=1_900_000_000),
        lambda: coffer.self_signed_ca(KEY, "CN=x", not_before=datetime.datetime(2030, 1, 1)),  # naive
        lambda: coffer.self_signed_ca(KEY, "CN=x", scheme="md5"),
        lambda: coffer.self_signed_ca(KEY, "CN=x", scheme="pss"),  # PSS with a P-256 key
        lambda: coffer.csr(KEY, "CN=x", sans=["agent.test"]),  # no prefix
        lambda: coffer.csr(KEY, "CN=x", sans=["dns:bad name"]),
        lambda: coffer.csr(KEY, "CN=x", sans=["ip:10.0.0.300"]),
        lambda: coffer.csr(KEY, "CN=x", sans=["uri:" + "a" * 5000]),
        lambda: coffer.csr(KEY, "CN=x", sans=[f"dns:a{i}.test" for i in range(65)]),
        lambda: coffer.issue_leaf(CA, KEY, "CN=x", KEY, sans=["dns:a.test"], usage="everything"),
        lambda: coffer.issue_leaf(CA, KEY, "CN=x", KEY, sans=["dns:a.test"], key_usage="keyCertSign"),
        lambda: coffer.issue_crl(CA, KEY, [-1], number=1),
        lambda: coffer.issue_crl(CA, KEY, [1 << 200], number=1),
        lambda: coffer.issue_crl(CA, KEY, [], number=1, days=0),
        lambda: coffer.verify_chain(LEAF, [], [CA], purpose="email"),
        lambda: coffer.verify_chain(LEAF, [], [CA], ip_address="not an address"),
        lambda: coffer.verify_chain(LEAF, [], [CA], dns_name="leaf.test", ip_address="10.0.0.1"),
        lambda: coffer.verify_chain(LEAF, [CA] * 65, [CA]),
        lambda: coffer.verify_chain(LEAF, [], [CA], at=-5),
        lambda: coffer.self_signed_ca(KEY, "CN=x", path_len=256),
        lambda: coffer.self_signed_ca(KEY, "CN=x", path_len=-1),
        lambda: coffer.issue_crl(CA, KEY, [], number=-1),
        lambda: coffer.issue_crl(CA, KEY, [], number=1 << 64),
    ],
)
def test_values_out_of_range_raise_invalid_input(call):
    with pytest.raises(coffer.InvalidInput):
        call()


@pytest.mark.parametrize(
    "load, limit",
    [
        (coffer.Certificate.from_pem, 128 * 1024),
        (coffer.Csr.from_pem, 128 * 1024),
        (coffer.KeyPair.from_pem, 128 * 1024),
        (coffer.Crl.from_pem, 512 * 1024),
        (coffer.Certificate.all_from_pem, 64 * 128 * 1024),
    ],
)
def test_huge_pem_is_refused_before_it_is_decoded(load, limit):
    with pytest.raises(coffer.InvalidInput):
        load("A" * (limit + 1))
    with pytest.raises(coffer.InvalidInput):
        load(b"A" * (limit + 1))


@pytest.mark.parametrize(
    "load, limit",
    [
        (coffer.Certificate.from_der, 64 * 1024),
        (coffer.Csr.from_der, 64 * 1024),
        (coffer.KeyPair.from_der, 64 * 1024),
        (coffer.Crl.from_der, 256 * 1024),
    ],
)
def test_huge_der_is_refused_before_it_is_copied(load, limit):
    with pytest.raises(coffer.InvalidInput):
        load(bytes(limit + 1))
    with pytest.raises(coffer.InvalidInput):
        load(memoryview(bytearray(limit + 1)))


def test_garbage_is_malformed_for_certificates_requests_and_lists():
    garbage = [b"", b"\x30", b"\x30\x03\x02\x01\x00", os.urandom(64), b"\xff" * 100]
    for load in (coffer.Certificate.from_der, coffer.Csr.from_der, coffer.Crl.from_der):
        for g in garbage:
            with pytest.raises(coffer.MalformedError):
                load(g)
    texts = ["", "hello", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", b"\xff\xfe",
             REQUEST.to_pem(), CRL.to_pem()]
    for t in texts:
        with pytest.raises(coffer.MalformedError):
            coffer.Certificate.from_pem(t)
    with pytest.raises(coffer.MalformedError):
        coffer.Csr.from_pem(CA.to_pem())
    with pytest.raises(coffer.MalformedError):
        coffer.Crl.from_pem(CA.to_pem())
    with pytest.raises(coffer.MalformedError):
        coffer.Certificate.all_from_pem("no blocks here")


def test_garbage_keys_are_invalid_key_and_a_wrong_passphrase_a_decrypt_error():
    for g in ["", "hello", CA.to_pem(), b"\xff\xfe"]:
        with pytest.raises(coffer.InvalidKey):
            coffer.KeyPair.from_pem(g)
    with pytest.raises(coffer.InvalidKey):
        coffer.KeyPair.from_der(CA.to_der())
    locked = KEY.to_pem(passphrase=b"right")
    with pytest.raises(coffer.InvalidKey):
        coffer.KeyPair.from_pem(locked)  # encrypted, but no passphrase given
    with pytest.raises(coffer.DecryptError):
        coffer.KeyPair.from_pem(locked, passphrase=b"wrong")
    with pytest.raises(coffer.InvalidInput):
        KEY.to_pem(passphrase=b"")
    with pytest.raises(coffer.InvalidInput):
        KEY.to_der(passphrase=b"x" * 2000)


def test_truncated_and_bit_flipped_certificates_never_crash_the_parsers():
    rng = random.Random(20)
    der = CA.to_der()
    outcomes = set()
    for _ in range(300):
        candidate = bytearray(der[: rng.randrange(len(der) + 1)])
        if candidate and rng.random() < 0.5:
            candidate[rng.randrange(len(candidate))] ^= 1 << rng.randrange(8)
        try:
            cert = coffer.Certificate.from_der(bytes(candidate))
        except coffer.MalformedError:
            outcomes.add("malformed")
            continue
        try:
            coffer.verify_chain(cert, [], [CA])
            outcomes.add("verified")
        except coffer.CofferError as e:
            outcomes.add(type(e).__name__)
    assert "malformed" in outcomes
    # Whatever still parses is either the untouched root (which verifies against itself) or
    # refused with a typed error.
    assert outcomes <= {"malformed", "verified", "VerifyError", "InvalidKey", "MalformedError"}


def test_objects_cannot_be_constructed_directly_or_pickled():
    import pickle

    for cls in (coffer.KeyPair, coffer.Certificate, coffer.Csr, coffer.Crl):
        with pytest.raises(TypeError):
            cls()
    for obj in (KEY, CA, REQUEST, CRL):
        with pytest.raises(TypeError):
            pickle.dumps(obj)
    assert "redacted" in repr(KEY) and KEY.to_pem()[40:80] not in repr(KEY)
