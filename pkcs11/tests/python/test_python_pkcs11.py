"""python-pkcs11 driving libcoffer_pkcs11.so, with pyca/cryptography as the
second implementation that checks what the token makes.

Run by ``pkcs11/tests/python_pkcs11.rs`` (``cargo test -p coffer-pkcs11``),
which builds the module, makes a keystore in a temporary directory and sets:

- ``COFFER_PKCS11_MODULE``: the path of ``libcoffer_pkcs11.so``;
- ``COFFER_PKCS11_CONF``: the module's configuration file;
- ``COFFER_TOKEN_LABEL``, ``COFFER_USER_PIN``, ``COFFER_SO_PIN``.

The tests share that one token and run in file order; each leaves the PINs
as it found them.
"""

import hashlib
import os

import pkcs11
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import load_der_public_key
from pkcs11 import MGF, Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.exceptions import (
    AttributeSensitive,
    DataLenRange,
    EncryptedDataInvalid,
    KeyUnextractable,
    MechanismParamInvalid,
    PinIncorrect,
    PinLenRange,
    PKCS11Error,
    WrappedKeyInvalid,
)
from pkcs11.mechanisms import GCMParams
from pkcs11.util.ec import encode_ec_public_key, encode_ecdsa_signature, encode_named_curve_parameters

MODULE = os.environ["COFFER_PKCS11_MODULE"]
LABEL = os.environ["COFFER_TOKEN_LABEL"]
USER_PIN = os.environ["COFFER_USER_PIN"]
SO_PIN = os.environ["COFFER_SO_PIN"]

SIGN = MechanismFlag.SIGN | MechanismFlag.VERIFY
CRYPT = MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT
WRAP = MechanismFlag.WRAP | MechanismFlag.UNWRAP
OAEP_SHA256 = (Mechanism.SHA256, MGF.SHA256, None)
PSS_SHA256 = (Mechanism.SHA256, MGF.SHA256, 32)


@pytest.fixture(scope="module")
def token():
    return pkcs11.lib(MODULE).get_token(token_label=LABEL)


@pytest.fixture
def session(token):
    with token.open(rw=True, user_pin=USER_PIN) as s:
        yield s


def ec_pair(session, key_id):
    params = session.create_domain_parameters(
        KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
    )
    return params.generate_keypair(store=True, id=key_id, label=key_id.decode(), capabilities=SIGN)


def rsa_pair(session, key_id, capabilities):
    return session.generate_keypair(
        KeyType.RSA, 2048, store=True, id=key_id, label=key_id.decode(), capabilities=capabilities
    )


def rsa_public(public):
    """The token's RSA public key as pyca's object, from CKA_MODULUS / CKA_PUBLIC_EXPONENT."""
    n = int.from_bytes(public[Attribute.MODULUS], "big")
    e = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def test_the_token_lists_its_mechanisms(token):
    assert token.label == LABEL
    mechanisms = set(token.slot.get_mechanisms())
    for m in (
        Mechanism.SHA256,
        Mechanism.AES_KEY_GEN,
        Mechanism.EC_KEY_PAIR_GEN,
        Mechanism.RSA_PKCS_KEY_PAIR_GEN,
        Mechanism.ECDSA,
        Mechanism.ECDSA_SHA256,
        Mechanism.SHA256_RSA_PKCS,
        Mechanism.SHA256_RSA_PKCS_PSS,
        Mechanism.SHA256_HMAC,
        Mechanism.AES_GCM,
        Mechanism.RSA_PKCS_OAEP,
        Mechanism.AES_KEY_WRAP,
        Mechanism.AES_KEY_WRAP_KWP,
    ):
        assert m in mechanisms, m
    assert Mechanism.AES_CBC_PAD not in mechanisms


def test_a_wrong_pin_is_refused(token):
    # Read/write: python-pkcs11 leaves the session of a failed login open,
    # and an open read-only session would keep the SO out later (v2.40 §5.6).
    with pytest.raises(PinIncorrect):
        token.open(rw=True, user_pin="not-her-pin")
    # One right login resets the failure count.
    with token.open(user_pin=USER_PIN):
        pass


def test_the_security_officer_sets_the_users_pin_and_the_user_changes_it(token):
    with token.open(rw=True, so_pin=SO_PIN) as so:
        with pytest.raises(PinLenRange):
            so.init_pin("12345")
        so.init_pin("pin-from-the-so")
    with pytest.raises(PinIncorrect):
        token.open(user_pin=USER_PIN)
    with token.open(rw=True, user_pin="pin-from-the-so") as s:
        with pytest.raises(PinIncorrect):
            s.set_pin("not-her-pin", USER_PIN)
        s.set_pin("pin-from-the-so", USER_PIN)
    with token.open(user_pin=USER_PIN):
        pass


def test_random_bytes_and_sha256(session):
    assert len(session.generate_random(256)) == 32
    assert session.generate_random(256) != session.generate_random(256)
    data = b"abc" * 1000
    assert session.digest(data, mechanism=Mechanism.SHA256) == hashlib.sha256(data).digest()


def test_ecdsa_signatures_verify_with_pyca(session):
    public, private = ec_pair(session, b"py-ec")
    assert private[Attribute.SENSITIVE] and not private[Attribute.EXTRACTABLE]
    with pytest.raises(AttributeSensitive):
        private[Attribute.VALUE]
    spki = load_der_public_key(encode_ec_public_key(public))
    assert isinstance(spki, ec.EllipticCurvePublicKey) and spki.curve.name == "secp256r1"

    data = b"release 1.2 of the ledger"
    sig = private.sign(data, mechanism=Mechanism.ECDSA_SHA256)
    assert len(sig) == 64
    spki.verify(encode_ecdsa_signature(sig), data, ec.ECDSA(hashes.SHA256()))
    assert public.verify(data, sig, mechanism=Mechanism.ECDSA_SHA256)
    assert not public.verify(b"release 1.3 of the ledger", sig, mechanism=Mechanism.ECDSA_SHA256)

    # CKM_ECDSA over the application's own hash, SHA-384 cut to 256 bits.
    digest = hashlib.sha384(data).digest()
    sig = private.sign(digest, mechanism=Mechanism.ECDSA)
    spki.verify(encode_ecdsa_signature(sig), digest, ec.ECDSA(utils.Prehashed(hashes.SHA384())))
    with pytest.raises(DataLenRange):
        private.sign(b"", mechanism=Mechanism.ECDSA)

    # A signature changed by one bit is refused.
    bad = bytearray(private.sign(data, mechanism=Mechanism.ECDSA_SHA256))
    bad[10] ^= 1
    assert not public.verify(data, bytes(bad), mechanism=Mechanism.ECDSA_SHA256)


def test_rsa_signatures_verify_with_pyca(session):
    public, private = rsa_pair(session, b"py-rsa-sign", SIGN)
    key = rsa_public(public)
    data = b"release 1.2 of the ledger"
    sig = private.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS)
    key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
    sig = private.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS_PSS, mechanism_param=PSS_SHA256)
    key.verify(sig, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        key.verify(sig, b"release 1.3", padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    with pytest.raises(MechanismParamInvalid):
        private.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS_PSS, mechanism_param=(Mechanism.SHA256, MGF.SHA256, 20))


def test_hmac_signatures(session):
    key = session.generate_key(KeyType.GENERIC_SECRET, 256, store=True, id=b"py-mac", label="py-mac", capabilities=SIGN)
    mac = key.sign(b"webhook body", mechanism=Mechanism.SHA256_HMAC)
    assert len(mac) == 32 and mac == key.sign(b"webhook body", mechanism=Mechanism.SHA256_HMAC)
    assert key.verify(b"webhook body", mac, mechanism=Mechanism.SHA256_HMAC)
    assert not key.verify(b"webhook bodY", mac, mechanism=Mechanism.SHA256_HMAC)


def test_objects_are_listed_with_their_flags(session):
    ec_pair(session, b"py-list")
    found = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: b"py-list"}))
    assert len(found) == 1
    key = found[0]
    assert key[Attribute.KEY_TYPE] == KeyType.EC
    assert key[Attribute.TOKEN] and key[Attribute.PRIVATE] and key[Attribute.SENSITIVE]
    assert key[Attribute.ALWAYS_SENSITIVE] and key[Attribute.NEVER_EXTRACTABLE] and key[Attribute.LOCAL]
    publics = list(session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.ID: b"py-list"}))
    assert len(publics) == 1


def test_aes_gcm_encrypts_and_refuses_a_changed_tag(session):
    key = session.generate_key(KeyType.AES, 256, store=True, id=b"py-aes", label="py-aes", capabilities=CRYPT | WRAP)
    iv = os.urandom(12)
    params = GCMParams(iv, b"tenant=acme")
    plaintext = b"tenant record " * 100
    ciphertext = key.encrypt(plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=params)
    assert len(ciphertext) == len(plaintext) + 16
    assert key.decrypt(ciphertext, mechanism=Mechanism.AES_GCM, mechanism_param=params) == plaintext
    changed = bytearray(ciphertext)
    changed[-1] ^= 1
    with pytest.raises(EncryptedDataInvalid):
        key.decrypt(bytes(changed), mechanism=Mechanism.AES_GCM, mechanism_param=params)
    with pytest.raises(EncryptedDataInvalid):
        key.decrypt(ciphertext, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(iv, b"tenant=globex"))
    with pytest.raises(MechanismParamInvalid):
        key.encrypt(plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(iv, None, 96))


def test_rsa_oaep_decrypts_what_pyca_encrypts(session):
    public, private = rsa_pair(session, b"py-rsa-oaep", CRYPT | WRAP)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    ciphertext = rsa_public(public).encrypt(b"a data key from pyca", oaep)
    assert private.decrypt(ciphertext, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=OAEP_SHA256) == (
        b"a data key from pyca"
    )
    mine = public.encrypt(b"a data key from the token", mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=OAEP_SHA256)
    assert private.decrypt(mine, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=OAEP_SHA256) == (
        b"a data key from the token"
    )
    with pytest.raises(PKCS11Error):
        private.decrypt(bytes(len(ciphertext)), mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=OAEP_SHA256)


def test_keys_wrap_and_unwrap_with_aes_and_rsa(session):
    kek = session.generate_key(KeyType.AES, 256, store=True, id=b"py-kek", label="py-kek", capabilities=WRAP)
    mac = session.generate_key(
        KeyType.GENERIC_SECRET,
        256,
        store=True,
        id=b"py-movable",
        label="py-movable",
        capabilities=SIGN,
        template={Attribute.EXTRACTABLE: True},
    )
    expected = mac.sign(b"m", mechanism=Mechanism.SHA256_HMAC)
    assert not mac[Attribute.NEVER_EXTRACTABLE]

    for mechanism, key_id in ((Mechanism.AES_KEY_WRAP, b"py-kw"), (Mechanism.AES_KEY_WRAP_KWP, b"py-kwp")):
        wrapped = kek.wrap_key(mac, mechanism=mechanism)
        assert len(wrapped) == 40
        copy = kek.unwrap_key(
            ObjectClass.SECRET_KEY,
            KeyType.GENERIC_SECRET,
            wrapped,
            mechanism=mechanism,
            store=True,
            id=key_id,
            label=key_id.decode(),
            capabilities=SIGN,
        )
        assert copy.sign(b"m", mechanism=Mechanism.SHA256_HMAC) == expected
        assert not copy[Attribute.LOCAL] and not copy[Attribute.ALWAYS_SENSITIVE]
        changed = bytearray(wrapped)
        changed[0] ^= 1
        with pytest.raises(WrappedKeyInvalid):
            kek.unwrap_key(
                ObjectClass.SECRET_KEY,
                KeyType.GENERIC_SECRET,
                bytes(changed),
                mechanism=mechanism,
                store=True,
                id=key_id + b"-bad",
                label="bad",
                capabilities=SIGN,
            )

    public, private = rsa_pair(session, b"py-rsa-wrap", CRYPT | WRAP)
    wrapped = public.wrap_key(mac, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=OAEP_SHA256)
    copy = private.unwrap_key(
        ObjectClass.SECRET_KEY,
        KeyType.GENERIC_SECRET,
        wrapped,
        mechanism=Mechanism.RSA_PKCS_OAEP,
        mechanism_param=OAEP_SHA256,
        store=True,
        id=b"py-oaep-copy",
        label="py-oaep-copy",
        capabilities=SIGN,
    )
    assert copy.sign(b"m", mechanism=Mechanism.SHA256_HMAC) == expected

    # A key made non-extractable never leaves.
    fixed = session.generate_key(KeyType.GENERIC_SECRET, 256, store=True, id=b"py-fixed", label="py-fixed", capabilities=SIGN)
    with pytest.raises(KeyUnextractable):
        kek.wrap_key(fixed, mechanism=Mechanism.AES_KEY_WRAP)


def test_bad_input_is_a_typed_error(session):
    key = session.generate_key(KeyType.AES, 256, store=True, id=b"py-bad", label="py-bad", capabilities=CRYPT)
    # Bytes where CK_GCM_PARAMS belongs: python-pkcs11 passes them on, the
    # module checks the parameter's size.
    with pytest.raises(MechanismParamInvalid):
        key.encrypt(b"data", mechanism=Mechanism.AES_GCM, mechanism_param=b"not GCM params")
    with pytest.raises(PKCS11Error):
        key.encrypt(b"data", mechanism=Mechanism.AES_CBC_PAD, mechanism_param=bytes(16))
