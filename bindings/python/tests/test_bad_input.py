"""Bad input of every kind gives a typed exception: TypeError for wrong types, a CofferError otherwise."""

import os
import random

import pytest

import coffer

KEK = coffer.Kek.generate()
P256 = coffer.P256PrivateKey.generate()


@pytest.mark.parametrize(
    "call",
    [
        lambda: coffer.Kek.from_bytes("thirty-two characters of text!!!"),
        lambda: coffer.Kek.from_bytes(None),
        lambda: KEK.wrap(123),
        lambda: KEK.unwrap([1, 2, 3]),
        lambda: coffer.Aead(32),
        lambda: coffer.Aead.generate().seal(bytes(12), "text"),
        lambda: coffer.Aead.generate().open(bytes(12), bytes(16), aad="text"),
        lambda: coffer.P256PrivateKey.from_pem(12),
        lambda: coffer.P256PrivateKey.from_der("der as text"),
        lambda: P256.sign("text"),
        lambda: P256.public_key().verify(b"x", "sig"),
        lambda: coffer.RsaPrivateKey.generate("2048"),
        lambda: coffer.RsaPrivateKey.generate(2048.0),
        lambda: coffer.seal("text", [coffer.Recipient.kek("k", KEK)]),
        lambda: coffer.seal(b"x", [KEK]),
        lambda: coffer.seal(b"x", coffer.Recipient.kek("k", KEK)),
        lambda: coffer.seal(b"x", [coffer.UnlockKey.kek("k", KEK)]),
        lambda: coffer.seal(b"x", [coffer.Recipient.kek("k", KEK)], context=[("a", "b")]),
        lambda: coffer.seal(b"x", [coffer.Recipient.kek("k", KEK)], context={1: "b"}),
        lambda: coffer.seal(b"x", [coffer.Recipient.kek("k", KEK)], context={"a": 2}),
        lambda: coffer.open(b"x", [coffer.Recipient.kek("k", KEK)]),
        lambda: coffer.open(b"x", None),
        lambda: coffer.inspect("CFRE"),
        lambda: coffer.Recipient.kek(1, KEK),
        lambda: coffer.Recipient.kek("k", b"\x00" * 32),
        lambda: coffer.Recipient.kek("k", KEK, version="1"),
        lambda: coffer.Recipient.rsa("k", P256.public_key()),
        lambda: coffer.Recipient.p256("k", P256),
        lambda: coffer.UnlockKey.p256("k", P256.public_key()),
        lambda: coffer.webhook_sign("key", b"body"),
        lambda: coffer.webhook_sign(b"key", b"body", timestamp="now"),
        lambda: coffer.webhook_verify(b"key", b"body", 12),
        lambda: coffer.webhook_verify(b"key", b"body", "t=1", tolerance=1.5),
    ],
)
def test_wrong_argument_types_raise_type_error(call):
    with pytest.raises(TypeError):
        call()


def test_keys_cannot_be_constructed_without_a_factory_or_pickled():
    with pytest.raises(TypeError):
        coffer.Kek()
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(KEK)


def test_garbage_pem_and_der_are_invalid_key_and_oversized_ones_invalid_input():
    rsa_pem = coffer.RsaPrivateKey.generate(2048).to_pem()
    p256_pem = P256.to_pem()
    for load in (coffer.P256PrivateKey.from_pem, coffer.RsaPrivateKey.from_pem,
                 coffer.P256PublicKey.from_pem, coffer.RsaPublicKey.from_pem):
        for garbage in ["", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "hello",
                        b"\xff\xfe\x00", "-----BEGIN PUBLIC KEY-----\n"]:
            with pytest.raises(coffer.InvalidKey):
                load(garbage)
        with pytest.raises(coffer.InvalidInput):
            load("A" * 20_000)
    with pytest.raises(coffer.InvalidKey):
        coffer.P256PrivateKey.from_pem(rsa_pem)
    with pytest.raises(coffer.InvalidKey):
        coffer.RsaPrivateKey.from_pem(p256_pem)
    with pytest.raises(coffer.InvalidKey):
        coffer.P256PublicKey.from_pem(p256_pem)  # a private key is not a public key
    for load in (coffer.P256PrivateKey.from_der, coffer.RsaPrivateKey.from_der,
                 coffer.P256PublicKey.from_der, coffer.RsaPublicKey.from_der):
        for garbage in [b"", b"\x30", b"\x30\x03\x02\x01\x01", os.urandom(300)]:
            with pytest.raises(coffer.InvalidKey):
                load(garbage)
        with pytest.raises(coffer.InvalidInput):
            load(bytes(1 << 20))


def test_huge_inputs_fail_fast_with_a_typed_error():
    huge = bytes(64 << 20)
    with pytest.raises(coffer.DecryptError):
        coffer.open(huge, [coffer.UnlockKey.kek("k", KEK)])
    with pytest.raises(coffer.MalformedError):
        coffer.inspect(huge)
    with pytest.raises(coffer.DecryptError):
        coffer.Aead.generate().open(bytes(12), huge)
    with pytest.raises(coffer.InvalidInput):
        KEK.wrap(huge)
    with pytest.raises(coffer.InvalidInput):
        KEK.unwrap_padded(huge)
    with pytest.raises(coffer.VerifyError):
        P256.public_key().verify(b"x", huge)
    with pytest.raises(coffer.InvalidInput):
        coffer.webhook_verify(b"k", b"x", huge)


def test_random_bytes_never_crash_the_parsers():
    rng = random.Random(1)
    key = coffer.UnlockKey.kek("k", KEK)
    valid = coffer.seal(b"x", [coffer.Recipient.kek("k", KEK)])
    for i in range(2000):
        n = rng.randrange(0, 400)
        data = bytes(rng.randrange(256) for _ in range(n))
        if i % 2:  # a valid prefix makes the parsers go deeper
            data = valid[: rng.randrange(len(valid))] + data
        for call, allowed in [
            (lambda: coffer.inspect(data), coffer.MalformedError),
            (lambda: coffer.open(data, [key]), coffer.DecryptError),
            (lambda: coffer.P256PublicKey.from_der(data), coffer.InvalidKey),
            (lambda: coffer.RsaPublicKey.from_der(data), coffer.InvalidKey),
            (lambda: coffer.P256PrivateKey.from_der(data), coffer.InvalidKey),
            (lambda: KEK.unwrap_padded(data), (coffer.DecryptError, coffer.InvalidInput)),
            (lambda: coffer.webhook_verify(b"k", b"x", data, now=0), (coffer.MalformedError, coffer.VerifyError)),
        ]:
            try:
                call()
            except allowed:
                pass
