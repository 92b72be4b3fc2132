# Type stubs of coffer's native module (src/*.rs). Every docstring here is the
# runtime __doc__ of the same object; tests/test_stubs.py holds the two equal.

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import BinaryIO, Literal, Optional, Union, final

from coffer._types import EnvelopeInfo

_BytesLike = Union[bytes, bytearray, memoryview]
_TextOrBytes = Union[str, bytes, bytearray, memoryview]
_Kind = Literal["kek", "rsa", "p256"]
_Scheme = Literal["pss", "pkcs1v15"]
# Mapping is invariant in its key type: a dict[str, str] is not a
# Mapping[str | bytes, ...], so each key type is listed.
_Context = Union[
    Mapping[str, _TextOrBytes],
    Mapping[bytes, _TextOrBytes],
    Mapping[Union[str, bytes], _TextOrBytes],
]

__all__ = [
    "CofferError",
    "InvalidInput",
    "InvalidKey",
    "MalformedError",
    "DecryptError",
    "VerifyError",
    "Kek",
    "Aead",
    "P256PrivateKey",
    "P256PublicKey",
    "RsaPrivateKey",
    "RsaPublicKey",
    "KeyPair",
    "Certificate",
    "Csr",
    "Crl",
    "self_signed_ca",
    "csr",
    "issue_leaf",
    "issue_from_csr",
    "issue_intermediate",
    "issue_crl",
    "verify_chain",
    "Recipient",
    "UnlockKey",
    "seal",
    "open",
    "inspect",
    "rewrap",
    "add_recipient",
    "remove_recipient",
    "seal_stream",
    "open_stream",
    "ScratchFile",
    "open_to_scratch",
    "webhook_sign",
    "webhook_verify",
    "KeystoreError",
    "AuthError",
    "LockedError",
    "PolicyError",
    "Keystore",
    "Session",
    "KeyHandle",
    "AuditRecord",
    "ShredEvidence",
    "__version__",
]

__version__: str

class CofferError(Exception):
    """Base class of every error coffer raises.

    Catch it to handle any coffer failure; the subclasses say what kind:
    InvalidInput, InvalidKey, MalformedError, DecryptError, VerifyError.

    >>> import coffer
    >>> try:
    ...     coffer.Kek.from_bytes(b"short")
    ... except coffer.CofferError as e:
    ...     print(type(e).__name__)
    InvalidKey
    """

class InvalidInput(CofferError, ValueError):
    """An argument is out of range or exceeds a documented limit.

    Also a ValueError. Raised before any work is done for sizes above
    coffer's limits (key-wrap data over 64 KiB, more than 16 recipients, ...).

    >>> import coffer
    >>> try:
    ...     coffer.Aead.generate().seal(b"short nonce", b"data")
    ... except coffer.InvalidInput as e:
    ...     print("12 bytes" in str(e))
    True
    """

class InvalidKey(CofferError, ValueError):
    """Key material is malformed or refused by policy.

    Also a ValueError: a key of the wrong length, a PEM or DER encoding that
    does not hold a key of the expected kind, an RSA key outside 2048-4096
    bits or with an exponent other than 65537.

    >>> import coffer
    >>> try:
    ...     coffer.P256PublicKey.from_pem("not a key")
    ... except coffer.InvalidKey:
    ...     print("refused")
    refused
    """

class MalformedError(CofferError, ValueError):
    """Bytes that should hold a coffer structure do not parse.

    Also a ValueError. inspect() raises it for bytes that are not an envelope
    header; webhook_verify() for a signature header that is not t=...,v1=....
    Opening an envelope never raises it: a damaged envelope is a DecryptError.

    >>> import coffer
    >>> try:
    ...     coffer.inspect(b"not an envelope")
    ... except coffer.MalformedError:
    ...     print("malformed")
    malformed
    """

class DecryptError(CofferError):
    """A ciphertext, envelope or wrapped key does not open.

    Wrong key, wrong context or associated data, modified or truncated bytes:
    all give this one error, and no plaintext is released.

    >>> import coffer
    >>> kek = coffer.Kek.generate()
    >>> try:
    ...     kek.unwrap(bytes(40))
    ... except coffer.DecryptError:
    ...     print("does not open")
    does not open
    """

class VerifyError(CofferError):
    """A signature, MAC or webhook signature does not verify.

    >>> import coffer
    >>> key = coffer.P256PrivateKey.generate()
    >>> try:
    ...     key.public_key().verify(b"message", key.sign(b"other message"))
    ... except coffer.VerifyError:
    ...     print("forged")
    forged
    """

@final
class Kek:
    """An AES key-encryption key (KEK) of 128, 192 or 256 bits, for wrapping
    keys with AES-KW (RFC 3394) and AES-KWP (RFC 5649), and as an envelope
    recipient (AES-256 only). The key is wiped from memory when the object
    is freed, and its repr never shows it.

    >>> import coffer
    >>> kek = coffer.Kek.generate()
    >>> wrapped = kek.wrap(bytes(range(32)))
    >>> len(wrapped)
    40
    >>> kek.unwrap(wrapped) == bytes(range(32))
    True
    >>> kek
    Kek(AES-256, <redacted>)
    """

    @staticmethod
    def generate() -> Kek:
        """A new random AES-256 KEK from the operating system's generator.

        >>> import coffer
        >>> coffer.Kek.generate().key_size
        256
        """

    @staticmethod
    def from_bytes(key: _BytesLike) -> Kek:
        """A KEK from 16, 24 or 32 raw key bytes (AES-128, -192 or -256);
        other lengths raise InvalidKey.

        >>> import coffer
        >>> coffer.Kek.from_bytes(bytes(16)).key_size
        128
        """

    @property
    def key_size(self) -> int:
        """The key size in bits: 128, 192 or 256.

        >>> import coffer
        >>> coffer.Kek.from_bytes(bytes(24)).key_size
        192
        """

    def wrap(self, key: _BytesLike) -> bytes:
        """AES-KW (RFC 3394) wrap of `key`: 16 to 65,536 bytes, a multiple of
        8. Returns `len(key) + 8` bytes. Deterministic.

        >>> import coffer
        >>> kek = coffer.Kek.from_bytes(bytes(range(16)))
        >>> kek.wrap(bytes.fromhex("00112233445566778899aabbccddeeff")).hex()
        '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5'
        """

    def unwrap(self, wrapped: _BytesLike) -> bytearray:
        """AES-KW (RFC 3394) unwrap. Returns the key as a bytearray, which the
        caller can wipe (`buf[:] = bytes(len(buf))`). A wrong KEK or
        modified bytes raise DecryptError.

        >>> import coffer
        >>> kek = coffer.Kek.generate()
        >>> kek.unwrap(kek.wrap(bytes(32))) == bytes(32)
        True
        """

    def wrap_padded(self, key: _BytesLike) -> bytes:
        """AES-KWP (RFC 5649) wrap of `key`: 1 to 65,536 bytes of any length.
        Returns the key padded to a multiple of 8, plus 8 bytes.

        >>> import coffer
        >>> len(coffer.Kek.generate().wrap_padded(b"seven b"))
        16
        """

    def unwrap_padded(self, wrapped: _BytesLike) -> bytearray:
        """AES-KWP (RFC 5649) unwrap, returning a bytearray. A wrong KEK,
        modified bytes or bad padding raise DecryptError.

        >>> import coffer
        >>> kek = coffer.Kek.generate()
        >>> bytes(kek.unwrap_padded(kek.wrap_padded(b"seven b")))
        b'seven b'
        """

    def to_bytes(self) -> bytearray:
        """The raw key bytes, as a bytearray the caller can wipe
        (`buf[:] = bytes(len(buf))`). An explicit export: store it only
        somewhere as safe as the KEK itself.

        >>> import coffer
        >>> len(coffer.Kek.generate().to_bytes())
        32
        """

@final
class Aead:
    """An AES-256-GCM-SIV key (RFC 8452): authenticated encryption that stays
    safe when a nonce repeats (only identical messages become linkable).
    The output is `ciphertext || 16-byte tag`, as `cryptography`'s
    `AESGCMSIV.encrypt` writes it. `Aead(key)` takes 32 key bytes (other
    lengths raise InvalidKey); `Aead.generate()` makes a random key. The
    key is wiped when the object is freed.

    >>> import os, coffer
    >>> aead = coffer.Aead.generate()
    >>> nonce = os.urandom(12)
    >>> sealed = aead.seal(nonce, b"secret record", b"tenant=acme")
    >>> bytes(aead.open(nonce, sealed, b"tenant=acme"))
    b'secret record'
    """

    def __new__(cls, key: _BytesLike) -> Aead: ...

    @staticmethod
    def generate() -> Aead:
        """A new random key from the operating system's generator.

        >>> import coffer
        >>> len(coffer.Aead.generate().to_bytes())
        32
        """

    def seal(self, nonce: _BytesLike, plaintext: _BytesLike, aad: Optional[_BytesLike] = b"") -> bytes:
        """Encrypts `plaintext` (at most 2**36 bytes) under a 12-byte `nonce`,
        authenticating `aad` too. Returns `ciphertext || tag`, 16 bytes
        longer than the plaintext. The GIL is released while it runs.

        >>> import coffer
        >>> aead = coffer.Aead(bytes(32))
        >>> len(aead.seal(bytes(12), b"hello"))
        21
        """

    def open(self, nonce: _BytesLike, ciphertext: _BytesLike, aad: Optional[_BytesLike] = b"") -> bytearray:
        """Checks and decrypts `ciphertext || tag`. Returns the plaintext as a
        bytearray the caller can wipe (`buf[:] = bytes(len(buf))`). A wrong
        key, nonce or aad, or any modified byte, raises DecryptError. The
        GIL is released while it runs.

        >>> import coffer
        >>> aead = coffer.Aead(bytes(32))
        >>> bytes(aead.open(bytes(12), aead.seal(bytes(12), b"hello")))
        b'hello'
        """

    def to_bytes(self) -> bytearray:
        """The raw key bytes, as a bytearray the caller can wipe. An explicit
        export: store it only somewhere as safe as the key itself.

        >>> import coffer
        >>> bytes(coffer.Aead(bytes(32)).to_bytes()) == bytes(32)
        True
        """

@final
class P256PrivateKey:
    """A P-256 (secp256r1) private key for ECDSA with SHA-256 and as an
    envelope recipient's unlock key. Signing is deterministic (RFC 6979).
    The key is wiped when the object is freed; its repr never shows it.

    >>> import coffer
    >>> key = coffer.P256PrivateKey.generate()
    >>> signature = key.sign(b"boot measurement")
    >>> key.public_key().verify(b"boot measurement", signature)
    >>> key.to_pem().splitlines()[0]
    '-----BEGIN PRIVATE KEY-----'
    """

    @staticmethod
    def generate() -> P256PrivateKey:
        """A new random key from the operating system's generator.

        >>> import coffer
        >>> coffer.P256PrivateKey.generate()
        P256PrivateKey(<redacted>)
        """

    @staticmethod
    def from_pem(pem: _TextOrBytes) -> P256PrivateKey:
        """Reads a PEM `PRIVATE KEY` (unencrypted PKCS#8) block, as str or
        bytes. Anything else raises InvalidKey; more than 4,096 bytes
        raises InvalidInput.

        >>> import coffer
        >>> pem = coffer.P256PrivateKey.generate().to_pem()
        >>> coffer.P256PrivateKey.from_pem(pem).to_pem() == pem
        True
        """

    @staticmethod
    def from_der(der: _BytesLike) -> P256PrivateKey:
        """Reads a DER `PrivateKeyInfo` (unencrypted PKCS#8).

        >>> import coffer
        >>> der = coffer.P256PrivateKey.generate().to_der()
        >>> coffer.P256PrivateKey.from_der(der).to_der() == der
        True
        """

    def to_pem(self) -> str:
        r"""The key as a PEM `PRIVATE KEY` block (unencrypted PKCS#8, LF line
        endings). A Python str cannot be wiped: prefer `to_der()` where
        the copy matters.

        >>> import coffer
        >>> coffer.P256PrivateKey.generate().to_pem().startswith("-----BEGIN PRIVATE KEY-----\n")
        True
        """

    def to_der(self) -> bytearray:
        """The key as DER PKCS#8, in a bytearray the caller can wipe
        (`buf[:] = bytes(len(buf))`).

        >>> import coffer
        >>> coffer.P256PrivateKey.generate().to_der()[:2].hex()
        '3081'
        """

    def public_key(self) -> P256PublicKey:
        """The matching public key.

        >>> import coffer
        >>> key = coffer.P256PrivateKey.generate()
        >>> key.public_key() == key.public_key()
        True
        """

    def sign(self, data: _BytesLike) -> bytes:
        """ECDSA-SHA-256 signature of `data`, DER-encoded (as X.509, TLS and
        `cryptography` write it).

        >>> import coffer
        >>> key = coffer.P256PrivateKey.generate()
        >>> key.public_key().verify(b"data", key.sign(b"data"))
        """

    def sign_fixed(self, data: _BytesLike) -> bytes:
        """ECDSA-SHA-256 signature of `data` in fixed size: `r || s`, 32 bytes
        each (IEEE P1363, as JOSE and PKCS#11 carry it).

        >>> import coffer
        >>> len(coffer.P256PrivateKey.generate().sign_fixed(b"data"))
        64
        """

@final
class P256PublicKey:
    """A P-256 public key: verifies ECDSA-SHA-256 signatures and is an
    envelope recipient. Two keys are equal when their points are.

    >>> import coffer
    >>> key = coffer.P256PrivateKey.generate()
    >>> public = coffer.P256PublicKey.from_pem(key.public_key().to_pem())
    >>> public == key.public_key()
    True
    >>> public.verify(b"data", key.sign(b"data"))
    """

    @staticmethod
    def from_pem(pem: _TextOrBytes) -> P256PublicKey:
        """Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block, as str or bytes.

        >>> import coffer
        >>> pem = coffer.P256PrivateKey.generate().public_key().to_pem()
        >>> coffer.P256PublicKey.from_pem(pem).to_pem() == pem
        True
        """

    @staticmethod
    def from_der(der: _BytesLike) -> P256PublicKey:
        """Reads a DER SubjectPublicKeyInfo.

        >>> import coffer
        >>> der = coffer.P256PrivateKey.generate().public_key().to_der()
        >>> coffer.P256PublicKey.from_der(der).to_der() == der
        True
        """

    def to_pem(self) -> str:
        """The key as a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo, LF line endings).

        >>> import coffer
        >>> coffer.P256PrivateKey.generate().public_key().to_pem().splitlines()[0]
        '-----BEGIN PUBLIC KEY-----'
        """

    def to_der(self) -> bytes:
        """The key as DER SubjectPublicKeyInfo (91 bytes).

        >>> import coffer
        >>> len(coffer.P256PrivateKey.generate().public_key().to_der())
        91
        """

    def verify(self, data: _BytesLike, signature: _BytesLike) -> None:
        """Checks a DER ECDSA-SHA-256 `signature` over `data` (strict DER;
        high-S accepted, as FIPS 186-5 does). Returns None; raises
        VerifyError for a wrong or malformed signature.

        >>> import coffer
        >>> key = coffer.P256PrivateKey.generate()
        >>> key.public_key().verify(b"data", key.sign(b"data"))
        """

    def verify_fixed(self, data: _BytesLike, signature: _BytesLike) -> None:
        """Checks a fixed-size (`r || s`, 64 bytes) ECDSA-SHA-256 `signature`
        over `data`; raises VerifyError for a wrong one.

        >>> import coffer
        >>> key = coffer.P256PrivateKey.generate()
        >>> key.public_key().verify_fixed(b"data", key.sign_fixed(b"data"))
        """

    def __eq__(self, value: object, /) -> bool: ...

@final
class RsaPrivateKey:
    """An RSA private key (2048 to 4096 bits, e = 65537): PSS and PKCS#1 v1.5
    signatures with SHA-256, OAEP-SHA-256 decryption, and an envelope
    recipient's unlock key. Private-key operations are blinded and release
    the GIL. The key is wiped when the object is freed.

    >>> import coffer
    >>> key = coffer.RsaPrivateKey.generate(2048)
    >>> signature = key.sign(b"release 1.2.0")
    >>> key.public_key().verify(b"release 1.2.0", signature)
    >>> bytes(key.decrypt_oaep(key.public_key().encrypt_oaep(b"data key")))
    b'data key'
    """

    @staticmethod
    def generate(bits: int = 3072) -> RsaPrivateKey:
        """A new key of `bits` bits (2048, 3072 or 4096; others raise
        InvalidInput) with e = 65537. Takes about a second for 4096 bits;
        the GIL is released meanwhile.

        >>> import coffer
        >>> coffer.RsaPrivateKey.generate(2048).key_size
        2048
        """

    @staticmethod
    def from_pem(pem: _TextOrBytes) -> RsaPrivateKey:
        """Reads a PEM `PRIVATE KEY` (unencrypted PKCS#8) block, as str or
        bytes. Keys outside 2048-4096 bits or with e other than 65537 raise
        InvalidKey; more than 16 KiB raises InvalidInput.

        >>> import coffer
        >>> pem = coffer.RsaPrivateKey.generate(2048).to_pem()
        >>> coffer.RsaPrivateKey.from_pem(pem).to_pem() == pem
        True
        """

    @staticmethod
    def from_der(der: _BytesLike) -> RsaPrivateKey:
        """Reads a DER `PrivateKeyInfo` (unencrypted PKCS#8).

        >>> import coffer
        >>> der = coffer.RsaPrivateKey.generate(2048).to_der()
        >>> coffer.RsaPrivateKey.from_der(der).to_der() == der
        True
        """

    def to_pem(self) -> str:
        """The key as a PEM `PRIVATE KEY` block (unencrypted PKCS#8, LF line
        endings). A Python str cannot be wiped: prefer `to_der()` where the
        copy matters.

        >>> import coffer
        >>> coffer.RsaPrivateKey.generate(2048).to_pem().splitlines()[0]
        '-----BEGIN PRIVATE KEY-----'
        """

    def to_der(self) -> bytearray:
        """The key as DER PKCS#8, in a bytearray the caller can wipe
        (`buf[:] = bytes(len(buf))`).

        >>> import coffer
        >>> coffer.RsaPrivateKey.generate(2048).to_der()[:2].hex()
        '3082'
        """

    @property
    def key_size(self) -> int:
        """The modulus size in bits.

        >>> import coffer
        >>> coffer.RsaPrivateKey.generate(2048).key_size
        2048
        """

    def public_key(self) -> RsaPublicKey:
        """The matching public key.

        >>> import coffer
        >>> coffer.RsaPrivateKey.generate(2048).public_key().key_size
        2048
        """

    def sign(self, data: _BytesLike, scheme: _Scheme = "pss") -> bytes:
        """Signs `data` with SHA-256: `scheme="pss"` (RSASSA-PSS, MGF1-SHA-256,
        32-byte salt; randomized) or `"pkcs1v15"` (RSASSA-PKCS1-v1_5;
        deterministic). The GIL is released while it runs.

        >>> import coffer
        >>> key = coffer.RsaPrivateKey.generate(2048)
        >>> len(key.sign(b"data", scheme="pkcs1v15"))
        256
        """

    def decrypt_oaep(self, ciphertext: _BytesLike, label: Optional[_BytesLike] = None) -> bytearray:
        """RSA-OAEP decryption with SHA-256 (label hash and MGF1) and an
        optional `label` (at most 1,024 bytes). Returns a bytearray the
        caller can wipe. Any failure raises DecryptError. The GIL is
        released while it runs.

        >>> import coffer
        >>> key = coffer.RsaPrivateKey.generate(2048)
        >>> ciphertext = key.public_key().encrypt_oaep(b"data key", label=b"v1")
        >>> bytes(key.decrypt_oaep(ciphertext, label=b"v1"))
        b'data key'
        """

@final
class RsaPublicKey:
    """An RSA public key: verifies PSS and PKCS#1 v1.5 SHA-256 signatures,
    encrypts with OAEP-SHA-256, and is an envelope recipient. Two keys are
    equal when modulus and exponent are.

    >>> import coffer
    >>> key = coffer.RsaPrivateKey.generate(2048)
    >>> public = coffer.RsaPublicKey.from_pem(key.public_key().to_pem())
    >>> public == key.public_key(), public.key_size
    (True, 2048)
    """

    @staticmethod
    def from_pem(pem: _TextOrBytes) -> RsaPublicKey:
        """Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block, as str or bytes.

        >>> import coffer
        >>> pem = coffer.RsaPrivateKey.generate(2048).public_key().to_pem()
        >>> coffer.RsaPublicKey.from_pem(pem).to_pem() == pem
        True
        """

    @staticmethod
    def from_der(der: _BytesLike) -> RsaPublicKey:
        """Reads a DER SubjectPublicKeyInfo.

        >>> import coffer
        >>> der = coffer.RsaPrivateKey.generate(2048).public_key().to_der()
        >>> coffer.RsaPublicKey.from_der(der).to_der() == der
        True
        """

    def to_pem(self) -> str:
        """The key as a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo, LF line endings).

        >>> import coffer
        >>> coffer.RsaPrivateKey.generate(2048).public_key().to_pem().splitlines()[0]
        '-----BEGIN PUBLIC KEY-----'
        """

    def to_der(self) -> bytes:
        """The key as DER SubjectPublicKeyInfo.

        >>> import coffer
        >>> len(coffer.RsaPrivateKey.generate(2048).public_key().to_der())
        294
        """

    @property
    def key_size(self) -> int:
        """The modulus size in bits.

        >>> import coffer
        >>> coffer.RsaPrivateKey.generate(3072).public_key().key_size
        3072
        """

    def verify(self, data: _BytesLike, signature: _BytesLike, scheme: _Scheme = "pss") -> None:
        """Checks a SHA-256 `signature` over `data` made with `scheme` ("pss"
        or "pkcs1v15"). Returns None; raises VerifyError for a wrong one.

        >>> import coffer
        >>> key = coffer.RsaPrivateKey.generate(2048)
        >>> key.public_key().verify(b"data", key.sign(b"data", "pkcs1v15"), "pkcs1v15")
        """

    def encrypt_oaep(self, data: _BytesLike, label: Optional[_BytesLike] = None) -> bytes:
        """RSA-OAEP encryption of `data` with SHA-256 (label hash and MGF1)
        and an optional `label` (at most 1,024 bytes). `data` may be at most
        `key_size // 8 - 66` bytes (190 for RSA-2048); longer raises
        InvalidInput. Randomized: each call gives a different ciphertext.

        >>> import coffer
        >>> public = coffer.RsaPrivateKey.generate(2048).public_key()
        >>> len(public.encrypt_oaep(bytes(32)))
        256
        """

    def __eq__(self, value: object, /) -> bool: ...

_Time = Union[int, datetime]
_KeyAlgorithm = Literal["p256", "rsa2048", "rsa3072", "rsa4096"]
_CertScheme = Literal["ecdsa", "pkcs1v15", "pss"]
_SigningKey = Union[KeyPair, P256PrivateKey, RsaPrivateKey]
_AnyKey = Union[P256PublicKey, RsaPublicKey, KeyPair, P256PrivateKey, RsaPrivateKey]
_Usage = Literal["server", "client", "both"]

@final
class KeyPair:
    """A private key that signs certificates, requests and revocation lists:
    P-256 or RSA (2048, 3072 or 4096 bits). PKCS#8 in and out, plain or
    encrypted with a passphrase (PBES2: PBKDF2-HMAC-SHA-256 and
    AES-256-CBC, which OpenSSL and `cryptography` read). The key is wiped
    when the object is freed; its repr never shows it.

    >>> import coffer
    >>> key = coffer.KeyPair.generate("p256")
    >>> key.algorithm
    'p256'
    >>> coffer.KeyPair.from_pem(key.to_pem()).public_key() == key.public_key()
    True
    """

    @staticmethod
    def generate(algorithm: _KeyAlgorithm = "p256") -> KeyPair:
        """A new random key: `algorithm` is "p256" (the default), "rsa2048",
        "rsa3072" or "rsa4096"; others raise InvalidInput. The GIL is
        released while an RSA key is generated (about a second for 4096 bits).

        >>> import coffer
        >>> coffer.KeyPair.generate("rsa2048").algorithm
        'rsa2048'
        """

    @staticmethod
    def from_pem(pem: _TextOrBytes, passphrase: Optional[_TextOrBytes] = None) -> KeyPair:
        """Reads a PEM `PRIVATE KEY` block (PKCS#8), or with `passphrase` an
        `ENCRYPTED PRIVATE KEY` block, as str or bytes. A wrong passphrase
        raises DecryptError; anything that is not such a key InvalidKey.

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> pem = key.to_pem(passphrase=b"correct horse")
        >>> pem.splitlines()[0]
        '-----BEGIN ENCRYPTED PRIVATE KEY-----'
        >>> coffer.KeyPair.from_pem(pem, passphrase=b"correct horse").public_key() == key.public_key()
        True
        """

    @staticmethod
    def from_der(der: _BytesLike, passphrase: Optional[_TextOrBytes] = None) -> KeyPair:
        """Reads a DER `PrivateKeyInfo` (PKCS#8), or with `passphrase` a DER
        `EncryptedPrivateKeyInfo`.

        >>> import coffer
        >>> der = coffer.KeyPair.generate().to_der()
        >>> coffer.KeyPair.from_der(der).to_der() == der
        True
        """

    @staticmethod
    def from_private_key(key: _SigningKey) -> KeyPair:
        """Converts a `P256PrivateKey` or `RsaPrivateKey` (through core's PKCS#8).

        >>> import coffer
        >>> p256 = coffer.P256PrivateKey.generate()
        >>> coffer.KeyPair.from_private_key(p256).public_key() == p256.public_key()
        True
        """

    def private_key(self) -> Union[P256PrivateKey, RsaPrivateKey]:
        """The key as a `P256PrivateKey` or `RsaPrivateKey`, for signing,
        OAEP or envelopes.

        >>> import coffer
        >>> coffer.KeyPair.generate("p256").private_key()
        P256PrivateKey(<redacted>)
        """

    def to_pem(self, passphrase: Optional[_TextOrBytes] = None) -> str:
        """The key as a PEM block: `PRIVATE KEY` (PKCS#8), or with `passphrase`
        `ENCRYPTED PRIVATE KEY` (600,000 PBKDF2 iterations: a few hundred
        milliseconds, with the GIL released). A Python str cannot be wiped:
        prefer `to_der()` where the copy matters.

        >>> import coffer
        >>> coffer.KeyPair.generate().to_pem().splitlines()[0]
        '-----BEGIN PRIVATE KEY-----'
        """

    def to_der(self, passphrase: Optional[_TextOrBytes] = None) -> bytearray:
        """The key as DER PKCS#8 (encrypted with `passphrase` if given), in a
        bytearray the caller can wipe.

        >>> import coffer
        >>> coffer.KeyPair.generate().to_der()[:2].hex()
        '3081'
        """

    def public_key(self) -> Union[P256PublicKey, RsaPublicKey]:
        """The public key: a `P256PublicKey` or `RsaPublicKey` (SPKI out
        through their `to_pem()` / `to_der()`).

        >>> import coffer
        >>> coffer.KeyPair.generate().public_key().to_pem().splitlines()[0]
        '-----BEGIN PUBLIC KEY-----'
        """

    @property
    def algorithm(self) -> _KeyAlgorithm:
        """"p256", "rsa2048", "rsa3072" or "rsa4096".

        >>> import coffer
        >>> coffer.KeyPair.generate().algorithm
        'p256'
        """

@final
class Certificate:
    """An X.509 v3 certificate. Read from PEM or DER (canonical DER only),
    made by `self_signed_ca`, `issue_leaf`, `issue_from_csr` or
    `issue_intermediate`, checked by `verify_chain`. Two certificates are
    equal when their DER encodings are.

    >>> import coffer
    >>> key = coffer.KeyPair.generate()
    >>> ca = coffer.self_signed_ca(key, "CN=Acme Root CA,O=Acme", path_len=0)
    >>> ca.subject, ca.is_ca, ca.path_len
    ('CN=Acme Root CA,O=Acme', True, 0)
    >>> coffer.Certificate.from_pem(ca.to_pem()) == ca
    True
    """

    @staticmethod
    def from_pem(pem: _TextOrBytes) -> Certificate:
        """Reads a PEM `CERTIFICATE` block, as str or bytes. Anything else
        raises MalformedError; more than 128 KiB raises InvalidInput.

        >>> import coffer
        >>> ca = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root")
        >>> coffer.Certificate.from_pem(ca.to_pem()).subject
        'CN=Root'
        """

    @staticmethod
    def from_der(der: _BytesLike) -> Certificate:
        """Reads a DER certificate (at most 64 KiB; canonical DER only).

        >>> import coffer
        >>> ca = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root")
        >>> coffer.Certificate.from_der(ca.to_der()) == ca
        True
        """

    @staticmethod
    def all_from_pem(pem: _TextOrBytes) -> list[Certificate]:
        r"""Reads every `CERTIFICATE` block of a PEM bundle (a leaf and its
        intermediates, say), in order; text between blocks is ignored. At
        most 64 certificates.

        >>> import coffer
        >>> ca = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root")
        >>> len(coffer.Certificate.all_from_pem("# twice\n" + ca.to_pem() + ca.to_pem()))
        2
        """

    def to_pem(self) -> str:
        """The certificate as a PEM `CERTIFICATE` block (LF line endings).

        >>> import coffer
        >>> coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root").to_pem().splitlines()[0]
        '-----BEGIN CERTIFICATE-----'
        """

    def to_der(self) -> bytes:
        """The certificate's DER encoding.

        >>> import coffer
        >>> coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root").to_der()[:1]
        b'0'
        """

    @property
    def subject(self) -> str:
        """The subject as an RFC 4514 string.

        >>> import coffer
        >>> coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root,O=Acme").subject
        'CN=Root,O=Acme'
        """

    @property
    def issuer(self) -> str:
        """The issuer as an RFC 4514 string (the subject, for a self-signed CA).

        >>> import coffer
        >>> coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root").issuer
        'CN=Root'
        """

    @property
    def serial(self) -> int:
        """The serial number as an int (as `cryptography`'s `serial_number`);
        coffer draws 158 random bits.

        >>> import coffer
        >>> coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root").serial > 0
        True
        """

    @property
    def not_before(self) -> datetime:
        """Start of validity, a timezone-aware datetime in UTC.

        >>> import coffer, datetime
        >>> ca = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root", not_before=1_800_000_000, days=1)
        >>> ca.not_before
        datetime.datetime(2027, 1, 15, 8, 0, tzinfo=datetime.timezone.utc)
        """

    @property
    def not_after(self) -> datetime:
        """End of validity (the last valid second), a timezone-aware datetime in UTC.

        >>> import coffer, datetime
        >>> ca = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root", not_before=1_800_000_000, days=1)
        >>> ca.not_after - ca.not_before
        datetime.timedelta(days=1)
        """

    def public_key(self) -> Union[P256PublicKey, RsaPublicKey]:
        """The certified key: a `P256PublicKey` or `RsaPublicKey`.

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> coffer.self_signed_ca(key, "CN=Root").public_key() == key.public_key()
        True
        """

    @property
    def sans(self) -> list[str]:
        """The subject alternative names, in the text form the issuing
        functions take: "dns:...", "ip:...", "uri:...", "email:...".

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> ca = coffer.self_signed_ca(key, "CN=Root")
        >>> leaf = coffer.issue_leaf(ca, key, "CN=web", key, sans=["dns:web.acme.test", "ip:10.0.0.7"], days=30)
        >>> leaf.sans
        ['dns:web.acme.test', 'ip:10.0.0.7']
        """

    @property
    def is_ca(self) -> bool:
        """Whether basicConstraints says CA:TRUE.

        >>> import coffer
        >>> coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root").is_ca
        True
        """

    @property
    def path_len(self) -> Optional[int]:
        """A CA's pathLenConstraint (how many intermediates may follow it);
        None for a CA without one, or for a certificate that is no CA.

        >>> import coffer
        >>> print(coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Root").path_len)
        None
        """

    @property
    def key_usage(self) -> Optional[str]:
        """The leaf keyUsage bits coffer knows, comma-separated
        ("digitalSignature,keyAgreement"), or None without a keyUsage
        extension. A CA's bits (keyCertSign, cRLSign) are not among them:
        a CA gives "".

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> ca = coffer.self_signed_ca(key, "CN=Root")
        >>> coffer.issue_leaf(ca, key, "CN=web", key, sans=["dns:web.acme.test"], days=30).key_usage
        'digitalSignature,keyAgreement'
        """

    def __eq__(self, value: object, /) -> bool: ...

@final
class Csr:
    """A PKCS#10 certification request: a subject, a public key and requested
    subject alternative names, signed by the requester's key. Made by
    `csr()`, issued by `issue_from_csr` or `issue_intermediate`.

    >>> import coffer
    >>> request = coffer.csr(coffer.KeyPair.generate(), "CN=agent-7", sans=["dns:agent-7.acme.test"])
    >>> request.subject, request.sans
    ('CN=agent-7', ['dns:agent-7.acme.test'])
    >>> request.verify()
    """

    @staticmethod
    def from_pem(pem: _TextOrBytes) -> Csr:
        """Reads a PEM `CERTIFICATE REQUEST` block, as str or bytes. The
        signature is not checked here (see `verify()`).

        >>> import coffer
        >>> request = coffer.csr(coffer.KeyPair.generate(), "CN=agent-7")
        >>> coffer.Csr.from_pem(request.to_pem()) == request
        True
        """

    @staticmethod
    def from_der(der: _BytesLike) -> Csr:
        """Reads a DER request (at most 64 KiB; canonical DER only).

        >>> import coffer
        >>> request = coffer.csr(coffer.KeyPair.generate(), "CN=agent-7")
        >>> coffer.Csr.from_der(request.to_der()).subject
        'CN=agent-7'
        """

    def to_pem(self) -> str:
        """The request as a PEM `CERTIFICATE REQUEST` block.

        >>> import coffer
        >>> coffer.csr(coffer.KeyPair.generate(), "CN=a").to_pem().splitlines()[0]
        '-----BEGIN CERTIFICATE REQUEST-----'
        """

    def to_der(self) -> bytes:
        """The request's DER encoding.

        >>> import coffer
        >>> coffer.csr(coffer.KeyPair.generate(), "CN=a").to_der()[:1]
        b'0'
        """

    @property
    def subject(self) -> str:
        """The requested subject as an RFC 4514 string.

        >>> import coffer
        >>> coffer.csr(coffer.KeyPair.generate(), "CN=agent-7,O=Acme").subject
        'CN=agent-7,O=Acme'
        """

    @property
    def sans(self) -> list[str]:
        """The requested subject alternative names ("dns:...", "ip:...", ...).

        >>> import coffer
        >>> coffer.csr(coffer.KeyPair.generate(), "CN=a", sans=["ip:10.0.0.7"]).sans
        ['ip:10.0.0.7']
        """

    def public_key(self) -> Union[P256PublicKey, RsaPublicKey]:
        """The requester's key: a `P256PublicKey` or `RsaPublicKey`.

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> coffer.csr(key, "CN=a").public_key() == key.public_key()
        True
        """

    def verify(self) -> None:
        """Checks the request's self-signature. Returns None; raises
        VerifyError if it does not verify under the request's own key.

        >>> import coffer
        >>> coffer.csr(coffer.KeyPair.generate(), "CN=a").verify()
        """

    def __eq__(self, value: object, /) -> bool: ...

@final
class Crl:
    """A certificate revocation list (X.509 v2 CRL): which serial numbers a
    CA has revoked, signed by it. Made by `issue_crl`, read from PEM or
    DER, and given to `verify_chain(crls=[...])`.

    >>> import coffer
    >>> key = coffer.KeyPair.generate()
    >>> ca = coffer.self_signed_ca(key, "CN=Root")
    >>> crl = coffer.issue_crl(ca, key, [0x4201], number=1)
    >>> crl.issuer, [serial for serial, _ in crl.revoked]
    ('CN=Root', [16897])
    >>> coffer.Crl.from_pem(crl.to_pem()).verify(ca)
    """

    @staticmethod
    def from_pem(pem: _TextOrBytes) -> Crl:
        """Reads a PEM `X509 CRL` block, as str or bytes (MalformedError for
        anything else). The signature is checked by `verify()` or `verify_chain`.

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> crl = coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=1)
        >>> coffer.Crl.from_pem(crl.to_pem()) == crl
        True
        """

    @staticmethod
    def from_der(der: _BytesLike) -> Crl:
        """Reads a DER CRL (at most 256 KiB and 4,096 entries).

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> crl = coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=1)
        >>> coffer.Crl.from_der(crl.to_der()) == crl
        True
        """

    def to_pem(self) -> str:
        """The list as a PEM `X509 CRL` block.

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=1).to_pem().splitlines()[0]
        '-----BEGIN X509 CRL-----'
        """

    def to_der(self) -> bytes:
        """The list's DER encoding.

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=1).to_der()[:1]
        b'0'
        """

    @property
    def issuer(self) -> str:
        """The issuer as an RFC 4514 string.

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=1).issuer
        'CN=Root'
        """

    @property
    def this_update(self) -> datetime:
        """thisUpdate, a timezone-aware datetime in UTC.

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> ca = coffer.self_signed_ca(key, "CN=Root", not_before=1_800_000_000)
        >>> coffer.issue_crl(ca, key, [], number=1, this_update=1_800_000_000).this_update.year
        2027
        """

    @property
    def next_update(self) -> Optional[datetime]:
        """nextUpdate (after it the list is out of date), or None if it has none.

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> crl = coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=1, days=7)
        >>> crl.next_update - crl.this_update
        datetime.timedelta(days=7)
        """

    @property
    def number(self) -> Optional[int]:
        """The cRLNumber as an int, or None if the list has none.

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [], number=42).number
        42
        """

    @property
    def revoked(self) -> list[tuple[int, datetime]]:
        """The revoked certificates as (serial number, revocation time) pairs.

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> crl = coffer.issue_crl(coffer.self_signed_ca(key, "CN=Root"), key, [7, 9], number=1)
        >>> [serial for serial, when in crl.revoked]
        [7, 9]
        """

    def verify(self, issuer: Certificate) -> None:
        """Checks that the CA certificate `issuer` signed this list and may
        sign lists. Returns None; raises VerifyError otherwise.

        >>> import coffer
        >>> key = coffer.KeyPair.generate()
        >>> ca = coffer.self_signed_ca(key, "CN=Root")
        >>> coffer.issue_crl(ca, key, [], number=1).verify(ca)
        """

    def __eq__(self, value: object, /) -> bool: ...

def self_signed_ca(
    key: _SigningKey,
    subject: str,
    *,
    days: int = 3650,
    not_before: Optional[_Time] = None,
    not_after: Optional[_Time] = None,
    path_len: Optional[int] = None,
    scheme: Optional[_CertScheme] = None,
) -> Certificate:
    """A self-signed CA certificate for `key` (a KeyPair, P256PrivateKey or
    RsaPrivateKey) with `subject` (RFC 4514, "CN=Acme Root CA,O=Acme"):
    basicConstraints CA:TRUE with `path_len` (None: unlimited; 0: it may
    issue only leaves), keyUsage keyCertSign and cRLSign. Valid from
    `not_before` (default: five minutes ago) to `not_after` (default: `days`
    days, 3650, from now); times are ints (Unix seconds) or aware datetimes.
    `scheme`: None for the key's default (ECDSA-SHA-256, or PKCS#1 v1.5
    SHA-256 for RSA), "pss" for RSASSA-PSS.

    >>> import coffer
    >>> ca = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Acme Root CA", days=365, path_len=1)
    >>> ca.is_ca, ca.path_len, ca.issuer
    (True, 1, 'CN=Acme Root CA')
    """

def csr(
    key: _SigningKey,
    subject: str,
    *,
    sans: Iterable[str] = (),
    scheme: Optional[_CertScheme] = None,
) -> Csr:
    """A PKCS#10 request for `key` with `subject` and `sans` (a list of
    "dns:host", "ip:address", "uri:..." or "email:local@domain"; at most
    64), signed by `key`.

    >>> import coffer
    >>> request = coffer.csr(coffer.KeyPair.generate(), "CN=agent-7,O=Acme", sans=["dns:agent-7.acme.test"])
    >>> request.sans
    ['dns:agent-7.acme.test']
    """

def issue_leaf(
    ca: Certificate,
    ca_key: _SigningKey,
    subject: str,
    public_key: _AnyKey,
    *,
    sans: Iterable[str] = (),
    usage: _Usage = "server",
    days: int = 365,
    not_before: Optional[_Time] = None,
    not_after: Optional[_Time] = None,
    key_usage: Optional[str] = None,
    scheme: Optional[_CertScheme] = None,
) -> Certificate:
    """A leaf certificate for `public_key` (a P256PublicKey, RsaPublicKey, or
    a private key or KeyPair whose public half is meant) with `subject`,
    issued by the CA certificate `ca` with its key `ca_key`.

    `usage`: "server" (default; extendedKeyUsage serverAuth, and `sans`
    must hold a DNS name or IP address), "client" or "both". `sans`: a list
    of "dns:...", "ip:...", "uri:...", "email:...". `key_usage`: None for
    digitalSignature plus keyAgreement (P-256) or keyEncipherment (RSA), or
    names such as "digitalSignature,contentCommitment". Validity as for
    `self_signed_ca` (default 365 days); a window past the CA's notAfter
    raises InvalidInput (it is never shortened).

    >>> import coffer
    >>> ca_key = coffer.KeyPair.generate()
    >>> ca = coffer.self_signed_ca(ca_key, "CN=Acme Root CA")
    >>> server = coffer.KeyPair.generate()
    >>> leaf = coffer.issue_leaf(ca, ca_key, "CN=web", server.public_key(), sans=["dns:web.acme.test"])
    >>> leaf.issuer, leaf.is_ca
    ('CN=Acme Root CA', False)
    """

def issue_from_csr(
    ca: Certificate,
    ca_key: _SigningKey,
    csr: Csr,
    *,
    sans: Iterable[str] = (),
    usage: _Usage = "server",
    days: int = 365,
    not_before: Optional[_Time] = None,
    not_after: Optional[_Time] = None,
    key_usage: Optional[str] = None,
    scheme: Optional[_CertScheme] = None,
) -> Certificate:
    """A leaf certificate from the request `csr` (its signature checked:
    VerifyError otherwise), issued by `ca` with `ca_key`. Subject and key
    come from the request; the names from `sans`, or when it is empty from
    the request. Other arguments as for `issue_leaf`.

    >>> import coffer
    >>> ca_key = coffer.KeyPair.generate()
    >>> ca = coffer.self_signed_ca(ca_key, "CN=Acme Root CA")
    >>> request = coffer.csr(coffer.KeyPair.generate(), "CN=agent-7", sans=["dns:agent-7.acme.test"])
    >>> leaf = coffer.issue_from_csr(ca, ca_key, request, usage="both", days=30)
    >>> leaf.subject, leaf.sans
    ('CN=agent-7', ['dns:agent-7.acme.test'])
    """

def issue_intermediate(
    ca: Certificate,
    ca_key: _SigningKey,
    csr: Csr,
    *,
    path_len: Optional[int] = None,
    days: int = 1825,
    not_before: Optional[_Time] = None,
    not_after: Optional[_Time] = None,
    scheme: Optional[_CertScheme] = None,
) -> Certificate:
    """An intermediate CA certificate from the request `csr` (its signature
    checked), issued by the CA `ca` with `ca_key`. `path_len`: how many
    further intermediates may follow it; None for one less than the
    issuer's limit. Validity as for `self_signed_ca` (default 1825 days),
    never past the issuer's.

    >>> import coffer
    >>> root_key = coffer.KeyPair.generate()
    >>> root = coffer.self_signed_ca(root_key, "CN=Root", path_len=1)
    >>> issuing_key = coffer.KeyPair.generate()
    >>> issuing = coffer.issue_intermediate(root, root_key, coffer.csr(issuing_key, "CN=Issuing CA"))
    >>> issuing.is_ca, issuing.path_len, issuing.issuer
    (True, 0, 'CN=Root')
    """

def issue_crl(
    ca: Certificate,
    ca_key: _SigningKey,
    revoked: Iterable[Union[Certificate, int]],
    *,
    number: int,
    this_update: Optional[_Time] = None,
    next_update: Optional[_Time] = None,
    days: int = 7,
    scheme: Optional[_CertScheme] = None,
) -> Crl:
    """A revocation list issued by the CA `ca` with its key `ca_key`, listing
    `revoked` (Certificates or int serial numbers; at most 4,096), all
    revoked at `this_update`. `number` is the cRLNumber (higher than every
    earlier list of this CA). `this_update`: default now; `next_update`:
    default `days` (7) days later. Times are ints (Unix seconds) or aware datetimes.

    >>> import coffer
    >>> key = coffer.KeyPair.generate()
    >>> ca = coffer.self_signed_ca(key, "CN=Root")
    >>> leaf = coffer.issue_leaf(ca, key, "CN=web", key, sans=["dns:web.acme.test"], days=30)
    >>> crl = coffer.issue_crl(ca, key, [leaf], number=1)
    >>> try:
    ...     coffer.verify_chain(leaf, [], [ca], crls=[crl])
    ... except coffer.VerifyError as e:
    ...     print("revoked" in str(e))
    True
    """

def verify_chain(
    leaf: Certificate,
    intermediates: Union[Certificate, Iterable[Certificate]],
    roots: Union[Certificate, Iterable[Certificate]],
    *,
    at: Optional[_Time] = None,
    purpose: Optional[Literal["server", "client"]] = None,
    dns_name: Optional[str] = None,
    ip_address: Optional[str] = None,
    crls: Iterable[Crl] = (),
) -> list[Certificate]:
    """Checks `leaf` against the trusted `roots`, through the untrusted
    `intermediates` (lists of Certificate; a single Certificate is taken as
    a list of one), at time `at` (an int of Unix seconds or an aware
    datetime; default: now), and returns the path as a list of
    certificates from the leaf to the root.

    Checked, as core's path validator does: every signature, every
    validity window (the root's included), that each issuer is a CA and no
    path length is exceeded, no unknown critical extension; with `purpose`
    ("server" or "client") the leaf's extendedKeyUsage and keyUsage; with
    `dns_name` or `ip_address` a matching subjectAltName (never the CN);
    with `crls` (Crl objects) that no certificate is revoked by a list its
    issuer signed. Any failure raises VerifyError (MalformedError or
    InvalidKey for a certificate that does not decode or holds an unusable key).

    >>> import coffer
    >>> root_key = coffer.KeyPair.generate()
    >>> root = coffer.self_signed_ca(root_key, "CN=Root")
    >>> leaf = coffer.issue_leaf(root, root_key, "CN=web", coffer.KeyPair.generate(), sans=["dns:web.acme.test"])
    >>> path = coffer.verify_chain(leaf, [], [root], purpose="server", dns_name="web.acme.test")
    >>> [c.subject for c in path]
    ['CN=web', 'CN=Root']
    >>> try:
    ...     coffer.verify_chain(leaf, [], [root], dns_name="mail.acme.test")
    ... except coffer.VerifyError as e:
    ...     print("refused")
    refused
    """

@final
class Recipient:
    """Someone to seal an envelope for: a KEK (AES-256-KW), an RSA public key
    (RSA-OAEP-SHA-256) or a P-256 public key (ECDH-ES), with the key id and
    version written into the envelope's header. Make one with
    `Recipient.kek`, `Recipient.rsa` or `Recipient.p256`.

    >>> import coffer
    >>> kek = coffer.Kek.generate()
    >>> coffer.Recipient.kek("backup-kek", kek, version=3)
    Recipient(kind='kek', key_id='backup-kek', version=3)
    """

    @staticmethod
    def kek(key_id: _TextOrBytes, kek: Kek, version: int = 1) -> Recipient:
        """A KEK recipient: the data key is wrapped with AES-256-KW under
        `kek`, which must be AES-256 (InvalidInput otherwise). `key_id` is
        1 to 64 bytes (a str is encoded as UTF-8); `version` 0 to 2**32-1.

        >>> import coffer
        >>> coffer.Recipient.kek(b"kek-1", coffer.Kek.generate()).kind
        'kek'
        """

    @staticmethod
    def rsa(key_id: _TextOrBytes, public_key: RsaPublicKey, version: int = 1) -> Recipient:
        """An RSA recipient: the data key is encrypted with RSA-OAEP-SHA-256
        to `public_key`.

        >>> import coffer
        >>> public = coffer.RsaPrivateKey.generate(2048).public_key()
        >>> coffer.Recipient.rsa("escrow", public).kind
        'rsa'
        """

    @staticmethod
    def p256(key_id: _TextOrBytes, public_key: P256PublicKey, version: int = 1) -> Recipient:
        """A P-256 recipient: the data key is wrapped under a key agreed by
        ECDH between a fresh ephemeral key and `public_key` (ECDH-ES,
        HKDF-SHA-256, AES-256-KW).

        >>> import coffer
        >>> public = coffer.P256PrivateKey.generate().public_key()
        >>> coffer.Recipient.p256("device-17", public, version=2).version
        2
        """

    @property
    def kind(self) -> _Kind:
        """The kind: "kek", "rsa" or "p256" (as `inspect()` names them).

        >>> import coffer
        >>> coffer.Recipient.kek("k", coffer.Kek.generate()).kind
        'kek'
        """

    @property
    def key_id(self) -> bytes:
        """The key id, as bytes.

        >>> import coffer
        >>> coffer.Recipient.kek("k", coffer.Kek.generate()).key_id
        b'k'
        """

    @property
    def version(self) -> int:
        """The key version.

        >>> import coffer
        >>> coffer.Recipient.kek("k", coffer.Kek.generate()).version
        1
        """

@final
class UnlockKey:
    """A key that may open an envelope: a KEK, an RSA private key or a P-256
    private key, with the key id and version it was sealed under. It opens
    recipients of its kind with the same key id and version.

    >>> import coffer
    >>> kek = coffer.Kek.generate()
    >>> envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", kek)])
    >>> bytes(coffer.open(envelope, [coffer.UnlockKey.kek("k", kek)]))
    b'data'
    """

    @staticmethod
    def kek(key_id: _TextOrBytes, kek: Kek, version: int = 1) -> UnlockKey:
        """Opens KEK recipients with this `key_id` and `version`; `kek` must be AES-256.

        >>> import coffer
        >>> coffer.UnlockKey.kek("kek-1", coffer.Kek.generate())
        UnlockKey(kind='kek', key_id='kek-1', version=1)
        """

    @staticmethod
    def rsa(key_id: _TextOrBytes, private_key: RsaPrivateKey, version: int = 1) -> UnlockKey:
        """Opens RSA recipients with this `key_id` and `version`.

        >>> import coffer
        >>> coffer.UnlockKey.rsa("escrow", coffer.RsaPrivateKey.generate(2048)).kind
        'rsa'
        """

    @staticmethod
    def p256(key_id: _TextOrBytes, private_key: P256PrivateKey, version: int = 1) -> UnlockKey:
        """Opens P-256 recipients with this `key_id` and `version`.

        >>> import coffer
        >>> coffer.UnlockKey.p256("device-17", coffer.P256PrivateKey.generate()).kind
        'p256'
        """

    @property
    def kind(self) -> _Kind:
        """The kind: "kek", "rsa" or "p256".

        >>> import coffer
        >>> coffer.UnlockKey.kek("k", coffer.Kek.generate()).kind
        'kek'
        """

    @property
    def key_id(self) -> bytes:
        """The key id, as bytes.

        >>> import coffer
        >>> coffer.UnlockKey.kek("k", coffer.Kek.generate()).key_id
        b'k'
        """

    @property
    def version(self) -> int:
        """The key version.

        >>> import coffer
        >>> coffer.UnlockKey.kek("k", coffer.Kek.generate(), 7).version
        7
        """

def seal(
    plaintext: _BytesLike,
    recipients: Iterable[Recipient],
    context: Optional[_Context] = None,
) -> bytes:
    """Seals `plaintext` in a new envelope (format v1) for 1 to 16
    `recipients`, bound to `context`: a mapping of str or bytes to str or
    bytes (at most 16 entries) that must be given again, exactly, to open
    it. Returns the envelope. The GIL is released while it runs.

    >>> import coffer
    >>> kek = coffer.Kek.generate()
    >>> envelope = coffer.seal(b"quarterly numbers", [coffer.Recipient.kek("acme-kek", kek)],
    ...                        context={"tenant": "acme"})
    >>> envelope[:4]
    b'CFRE'
    """

def open(
    envelope: _BytesLike,
    keys: Iterable[UnlockKey],
    context: Optional[_Context] = None,
) -> bytearray:
    """Opens `envelope` with any one of `keys`, checking it was sealed with
    exactly this `context`. Returns the plaintext as a bytearray the caller
    can wipe (`buf[:] = bytes(len(buf))`). Every failure (no matching key,
    another context, a modified or truncated envelope) raises DecryptError
    and releases no plaintext. The GIL is released while it runs.

    >>> import coffer
    >>> key = coffer.P256PrivateKey.generate()
    >>> envelope = coffer.seal(b"reading=21.5", [coffer.Recipient.p256("dev", key.public_key())])
    >>> bytes(coffer.open(envelope, [coffer.UnlockKey.p256("dev", key)]))
    b'reading=21.5'
    """

def inspect(envelope: _BytesLike) -> EnvelopeInfo:
    """Reads an envelope's header without any key: which recipients it is
    sealed for, its context and its sizes. Nothing here is authenticated
    until the envelope is opened. Bytes that are not an envelope header
    raise MalformedError.

    Returns a dict: `format_version`, `chunk_size`, `header_len`,
    `payload_len`, `envelope_len`, `plaintext_len` (None when the payload
    length is impossible), `context` (dict of bytes to bytes) and
    `recipients` (list of dicts with `kind` "kek", "rsa" or "p256",
    `key_id` as bytes, and `version`).

    >>> import coffer
    >>> kek = coffer.Kek.generate()
    >>> info = coffer.inspect(coffer.seal(b"data", [coffer.Recipient.kek("k", kek, 2)], {"app": "x"}))
    >>> info["recipients"], info["context"], info["plaintext_len"]
    ([{'kind': 'kek', 'key_id': b'k', 'version': 2}], {b'app': b'x'}, 4)
    """

def rewrap(envelope: _BytesLike, old_key: UnlockKey, new: Recipient) -> bytes:
    """Replaces the recipient(s) `old_key` opens with `new` (typically the
    next version of the same KEK) and returns the new envelope. Only the
    header changes: the payload is neither decrypted nor rewritten, and the
    context stays as it was. `old_key` that does not open the envelope
    raises DecryptError; `new` that is already another recipient (same
    kind, key id and version) raises InvalidInput. The GIL is released
    while it runs.

    >>> import coffer
    >>> v1, v2 = coffer.Kek.generate(), coffer.Kek.generate()
    >>> envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", v1, version=1)])
    >>> rewrapped = coffer.rewrap(envelope, coffer.UnlockKey.kek("k", v1, 1), coffer.Recipient.kek("k", v2, 2))
    >>> bytes(coffer.open(rewrapped, [coffer.UnlockKey.kek("k", v2, 2)]))
    b'data'
    >>> payload_len = coffer.inspect(envelope)["payload_len"]
    >>> rewrapped[-payload_len:] == envelope[-payload_len:]
    True
    """

def add_recipient(envelope: _BytesLike, key: UnlockKey, new: Recipient) -> bytes:
    """Adds `new` as a recipient, unlocking the envelope's data key with
    `key`, and returns the new envelope. Only the header changes. `key`
    that does not open the envelope raises DecryptError; `new` that is
    already a recipient (same kind, key id and version), or a 17th
    recipient, raises InvalidInput. The GIL is released while it runs.

    >>> import coffer
    >>> kek, escrow = coffer.Kek.generate(), coffer.P256PrivateKey.generate()
    >>> envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", kek)])
    >>> envelope = coffer.add_recipient(envelope, coffer.UnlockKey.kek("k", kek),
    ...                                 coffer.Recipient.p256("escrow", escrow.public_key()))
    >>> bytes(coffer.open(envelope, [coffer.UnlockKey.p256("escrow", escrow)]))
    b'data'
    """

def remove_recipient(envelope: _BytesLike, kind: _Kind, key_id: _TextOrBytes, version: int = 1) -> bytes:
    """Removes the recipient of this `kind` ("kek", "rsa" or "p256"),
    `key_id` and `version` and returns the new envelope; no key is needed.
    Only the header changes. No such recipient, or removing the only one,
    raises InvalidInput. The data key is not changed: whoever held the
    removed key and kept a copy of the old envelope can still open that copy.

    >>> import coffer
    >>> a, b = coffer.Kek.generate(), coffer.Kek.generate()
    >>> envelope = coffer.seal(b"data", [coffer.Recipient.kek("a", a), coffer.Recipient.kek("b", b)])
    >>> envelope = coffer.remove_recipient(envelope, "kek", "a")
    >>> [r["key_id"] for r in coffer.inspect(envelope)["recipients"]]
    [b'b']
    """

def seal_stream(
    src: BinaryIO,
    dst: BinaryIO,
    recipients: Iterable[Recipient],
    context: Optional[_Context] = None,
    chunk_size: int = 65536,
) -> int:
    r"""Seals everything read from `src` (a binary file object: `read(n)`
    returning bytes, b"" at the end) into `dst` (a binary file object with
    `write`) as one envelope for 1 to 16 `recipients`, bound to `context`,
    in chunks of `chunk_size` plaintext bytes (256 to 1,048,576). Memory
    use is one chunk whatever the size. Returns the plaintext length. The
    result opens with `open()` as well as `open_stream()`.

    The GIL is released between chunks and taken for each `read`/`write`.
    An exception raised by `src` or `dst` ends the stream and is re-raised
    as it was; `dst` then holds an incomplete envelope. A text-mode file or
    an object without `read`/`write` raises TypeError, a closed file
    ValueError.

    >>> import io, coffer
    >>> kek = coffer.Kek.generate()
    >>> sealed = io.BytesIO()
    >>> coffer.seal_stream(io.BytesIO(b"log line\n" * 1000), sealed, [coffer.Recipient.kek("k", kek)])
    9000
    >>> len(coffer.open(sealed.getvalue(), [coffer.UnlockKey.kek("k", kek)]))
    9000
    """

def open_stream(
    src: BinaryIO,
    dst: BinaryIO,
    keys: Iterable[UnlockKey],
    context: Optional[_Context] = None,
) -> int:
    """Opens an envelope read from `src` (a binary file object) into `dst` (a
    binary file object), with any one of `keys`, checking it was sealed
    with exactly this `context`. Memory use is one chunk whatever the size.
    Returns the plaintext length. Every failure to open (no matching key,
    another context, a modified, truncated or extended stream) raises
    DecryptError; an exception raised by `src` or `dst` is re-raised as it
    was.

    Each chunk is written to `dst` only once it has authenticated, but a
    stream that fails part-way has by then written its earlier chunks. So,
    on any failure:

    - if `dst.seekable()` is true (a regular file, `io.BytesIO`), `dst` is
      cut back to where it was (`seek` to its starting position, then
      `truncate()`), and nothing opened is left in it. (Bytes of a file
      that reached the disk may remain in free blocks: open into memory or
      an encrypted volume where that matters.) If cutting back fails
      itself, that error is raised, with the failure to open as its cause:
      then `dst` must be discarded.
    - if `dst` is not seekable (a pipe, a socket, a custom writer), what
      was written cannot be taken back: treat everything written to `dst`
      as untrusted until `open_stream` returns, and discard it if it raises.

    The GIL is released between chunks and taken for each `read`/`write`.

    >>> import io, coffer
    >>> kek = coffer.Kek.generate()
    >>> envelope = coffer.seal(b"backup", [coffer.Recipient.kek("k", kek)], {"app": "x"})
    >>> out = io.BytesIO()
    >>> coffer.open_stream(io.BytesIO(envelope), out, [coffer.UnlockKey.kek("k", kek)], {"app": "x"})
    6
    >>> out.getvalue()
    b'backup'
    >>> try:
    ...     coffer.open_stream(io.BytesIO(envelope[:-1]), out, [coffer.UnlockKey.kek("k", kek)], {"app": "x"})
    ... except coffer.DecryptError:
    ...     print("refused; out still holds", out.getvalue())
    refused; out still holds b'backup'
    """

@final
class ScratchFile:
    """A temporary plaintext file that is overwritten with zeros, synced and
    removed by `shred()`, at the end of a `with` block, or (best effort,
    errors ignored) when the object is freed.

    It is created by `ScratchFile.create(dir)`, `coffer.open_to_scratch()`
    or `Session.open_to_scratch()` with a random name (".coffer-scratch-"
    and 32 hex digits) in `dir`, as a new file (an existing file or
    symbolic link of that name is never opened or followed), readable and
    writable by its owner only (mode 0600 on Unix). It reads, writes and
    seeks as a binary file (`read` returns a bytearray the caller can
    wipe); `path` names it for another program.

    Use a directory only its owner can write to. Overwriting defeats
    reading the old bytes through the file system, not copies that a
    copy-on-write file system, a journal or an SSD keeps elsewhere: put
    scratch files on encrypted storage when that matters.

    >>> import coffer, tempfile
    >>> with coffer.ScratchFile.create(tempfile.mkdtemp()) as scratch:
    ...     scratch.write(b"attachment body")
    ...     scratch.seek(0)
    ...     bytes(scratch.read())
    15
    0
    b'attachment body'
    >>> scratch.closed
    True
    """

    @staticmethod
    def create(dir: _StorePath) -> ScratchFile:
        """Creates a new, empty scratch file in the directory `dir` (which
        must exist), open for reading and writing.

        >>> import coffer, os, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> os.path.basename(scratch.path).startswith(".coffer-scratch-")
        True
        >>> oct(os.stat(scratch.path).st_mode & 0o777)
        '0o600'
        >>> scratch.shred()
        """

    @property
    def path(self) -> str:
        """Where the file is (a str), for handing it to another program. It
        names nothing once the file is shredded.

        >>> import coffer, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> open(scratch.path, "rb").read()
        b''
        >>> scratch.shred()
        """

    @property
    def closed(self) -> bool:
        """True once the file is shredded or removed.

        >>> import coffer, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> scratch.closed
        False
        >>> scratch.shred()
        >>> scratch.closed
        True
        """

    def read(self, size: Optional[int] = -1) -> bytearray:
        r"""Reads up to `size` bytes (all that is left if `size` is negative or
        None) from the current position, as a bytearray.

        >>> import coffer, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> scratch.write(b"line 1\nline 2\n")
        14
        >>> scratch.seek(0)
        0
        >>> scratch.read(6), scratch.read()
        (bytearray(b'line 1'), bytearray(b'\nline 2\n'))
        >>> scratch.shred()
        """

    def write(self, data: _BytesLike) -> int:
        """Writes all of `data` (bytes-like) at the current position; returns
        its length.

        >>> import coffer, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> scratch.write(bytearray(b"secret"))
        6
        >>> scratch.shred()
        """

    def seek(self, offset: int, whence: int = 0) -> int:
        """Moves to `offset` from the start (`whence` 0), the current position
        (1) or the end (2); returns the new position.

        >>> import coffer, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> scratch.write(b"0123456789")
        10
        >>> scratch.seek(-3, 2), bytes(scratch.read())
        (7, b'789')
        >>> scratch.shred()
        """

    def tell(self) -> int:
        """The current position.

        >>> import coffer, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> scratch.write(b"abc")
        3
        >>> scratch.tell()
        3
        >>> scratch.shred()
        """

    def truncate(self, size: Optional[int] = None) -> int:
        """Cuts the file to `size` bytes (default: the current position);
        returns the new size. The position does not move.

        >>> import coffer, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> scratch.write(b"0123456789")
        10
        >>> scratch.truncate(4)
        4
        >>> scratch.seek(0), bytes(scratch.read())
        (0, b'0123')
        >>> scratch.shred()
        """

    def flush(self) -> None:
        """Does nothing more than check the file is open: writes go straight
        to the file (no buffer in between).

        >>> import coffer, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> scratch.flush()
        >>> scratch.shred()
        """

    def fileno(self) -> int:
        """The file descriptor (for `os.fstat`, or to hand the open file on).

        >>> import coffer, os, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> os.fstat(scratch.fileno()).st_size
        0
        >>> scratch.shred()
        """

    def readable(self) -> bool:
        """True: a scratch file is readable.

        >>> import coffer, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> scratch.readable()
        True
        >>> scratch.shred()
        """

    def writable(self) -> bool:
        """True: a scratch file is writable.

        >>> import coffer, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> scratch.writable()
        True
        >>> scratch.shred()
        """

    def seekable(self) -> bool:
        """True: a scratch file is seekable.

        >>> import coffer, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> scratch.seekable()
        True
        >>> scratch.shred()
        """

    def shred(self) -> None:
        """Overwrites the whole file with zeros, syncs it to disk and removes
        it; the object is closed from then on. The file is removed even
        when overwriting fails; then OSError is raised. Calling it again
        does nothing.

        >>> import coffer, os, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> scratch.write(b"db password")
        11
        >>> scratch.shred()
        >>> os.path.exists(scratch.path), scratch.closed
        (False, True)
        """

    def remove(self) -> None:
        """Truncates the file to nothing and removes it without overwriting
        it first: for when its plaintext has been handed on to where it was
        going anyway. The object is closed from then on.

        >>> import coffer, os, tempfile
        >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
        >>> scratch.remove()
        >>> os.path.exists(scratch.path)
        False
        """

    def __enter__(self) -> ScratchFile: ...
    def __exit__(self, *exc: object) -> None: ...

def open_to_scratch(
    src: BinaryIO, keys: Iterable[UnlockKey], dir: _StorePath, context: Optional[_Context] = None
) -> ScratchFile:
    """Opens an envelope read from `src` (a binary file object) into a new
    ScratchFile in the directory `dir`, with any one of `keys`, checking it
    was sealed with exactly this `context`. Returns the ScratchFile, at
    position 0: read it, then `shred()` it (or use it in a `with` block).
    Memory use is one chunk whatever the size.

    Every failure to open raises DecryptError, as open_stream() does, and
    leaves no file behind: what was written of it is overwritten and
    removed first. An exception raised by `src` is re-raised as it was; a
    file-system error is an OSError.

    >>> import coffer, io, tempfile
    >>> kek = coffer.Kek.generate()
    >>> envelope = coffer.seal(b"revenue,42", [coffer.Recipient.kek("reports", kek)], {"report": "q3"})
    >>> with coffer.open_to_scratch(io.BytesIO(envelope), [coffer.UnlockKey.kek("reports", kek)], tempfile.mkdtemp(), {"report": "q3"}) as plain:
    ...     bytes(plain.read())
    b'revenue,42'
    """

def webhook_sign(key: _BytesLike, payload: _BytesLike, timestamp: Optional[int] = None) -> str:
    """Signs a webhook delivery: HMAC-SHA-256 with `key` (the shared secret;
    32 bytes or more recommended) over `timestamp "." payload`. Returns the
    signature header `t=<timestamp>,v1=<64 lowercase hex digits>`.
    `timestamp` is seconds since the Unix epoch; None means now.

    >>> import coffer
    >>> coffer.webhook_sign(b"whsec-shared-secret", b'{"paid":true}', timestamp=1700000000)[:16]
    't=1700000000,v1='
    """

def webhook_verify(
    key: _BytesLike,
    payload: _BytesLike,
    header: _TextOrBytes,
    now: Optional[int] = None,
    tolerance: int = 300,
) -> None:
    """Checks a webhook delivery's signature `header` (as `webhook_sign`
    writes it: `t=...,v1=...`; other items such as `v0=` are ignored)
    against `payload` and `key`. The timestamp must be within `tolerance`
    seconds of `now` (seconds since the Unix epoch; None means the system
    clock), either way. Returns None. A wrong tag, another payload or a
    stale timestamp raise VerifyError; a header that does not parse raises
    MalformedError; a header over 1,024 bytes raises InvalidInput.

    >>> import coffer
    >>> header = coffer.webhook_sign(b"secret", b"{}", timestamp=1700000000)
    >>> coffer.webhook_verify(b"secret", b"{}", header, now=1700000060)
    >>> try:
    ...     coffer.webhook_verify(b"secret", b"{}", header, now=1700003600)
    ... except coffer.VerifyError:
    ...     print("replayed too late")
    replayed too late
    """

# ---- the keystore (src/keystore/) ----

_KeyType = Literal["aes256", "hmac", "p256", "rsa2048", "rsa3072", "rsa4096"]
_Usage = Literal["encrypt", "decrypt", "wrap", "unwrap", "sign", "verify", "derive"]
_KeyState = Literal["pre-active", "active", "deactivated", "destroyed"]
from os import PathLike as _PathLike  # noqa: E402

_StorePath = Union[str, _PathLike[str]]

class KeystoreError(CofferError):
    """The keystore refused or failed an operation.

    Its subclasses say why: AuthError (a wrong passphrase or PIN, or a session
    that logged out), LockedError (too many wrong PINs) and PolicyError (the
    role, tenant, usage or lifecycle of the key does not allow it). Raised
    itself for a key, tenant or user that does not exist, a store that cannot
    be opened or written, a store that holds no keystore (or already holds
    one), a full audit log, and a record that was modified.

    >>> import coffer
    >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    >>> so = ks.login_so("so-pin-1")
    >>> try:
    ...     so.create_user("alice", "alice-pin", tenants=["nobody"])
    ... except coffer.KeystoreError as e:
    ...     print(type(e).__name__)
    KeystoreError
    """

class AuthError(KeystoreError):
    """A wrong passphrase or PIN, an unknown user, or a session that logged out.

    An unknown user name is refused exactly as a wrong PIN, so that names cannot
    be probed. Each wrong PIN counts towards the credential's lockout.

    >>> import coffer
    >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    >>> try:
    ...     ks.login_so("wrong-pin")
    ... except coffer.AuthError:
    ...     print("refused")
    refused
    """

class LockedError(AuthError):
    """Too many wrong PINs: the credential is locked.

    Also an AuthError. The security officer unblocks a user or auditor with
    Session.unblock_user(); a locked security officer stays locked.

    >>> import coffer
    >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1",
    ...                             pin_iterations=1000, max_pin_failures=2)
    >>> for attempt in range(2):
    ...     try:
    ...         ks.login_so("wrong-pin")
    ...     except coffer.AuthError as e:
    ...         print(type(e).__name__)
    AuthError
    LockedError
    """

class PolicyError(KeystoreError):
    """The keystore's policy refuses the operation.

    The session's role may not do it (a user shredding a tenant), the key is
    another tenant's, its usage does not allow it (sealing with a sign-only
    key), or its lifecycle state does not (a destroyed or shredded key). The
    refusal is an audit record, committed before this is raised.

    >>> import coffer
    >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    >>> so = ks.login_so("so-pin-1")
    >>> so.create_tenant("acme")
    >>> so.create_user("alice", "alice-pin", tenants=["acme"])
    >>> alice = ks.login("alice", "alice-pin")
    >>> transport = alice.generate("transport", "aes256", usage=["wrap", "unwrap"])
    >>> try:
    ...     alice.seal(transport, b"data")
    ... except coffer.PolicyError:
    ...     print("refused")
    refused
    """

@final
class Keystore:
    """A keystore: coffer's software HSM over a record store, with tenants,
    users with their own PINs, keys by handle with usage policy, rotation,
    crypto-shredding and an HMAC-chained audit log.

    `store` is a SQLite file path, a `postgres://` URL, or ":memory:" (a
    store that lives as long as the object; for tests). Every record is
    sealed under a key derived from the passphrase; every operation is one
    transaction, committed before it returns, so any number of Keystore
    objects, in threads or processes, may share one SQLite or PostgreSQL
    store. One Keystore object may be shared by threads too: its
    operations then run one at a time, with the GIL released.

    >>> import coffer
    >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    >>> so = ks.login_so("so-pin-1")
    >>> so.create_tenant("acme")
    >>> so.create_user("alice", "alice-pin", tenants=["acme"])
    >>> alice = ks.login("alice", "alice-pin")
    >>> kek = alice.generate("records", "aes256")
    >>> envelope = alice.seal(kek, b"invoice 42", {"tenant": "acme"})
    >>> bytes(alice.open(kek, envelope, {"tenant": "acme"}))
    b'invoice 42'
    """

    @staticmethod
    def create(
        store: _StorePath,
        *,
        so_pin: _TextOrBytes,
        passphrase: Optional[_TextOrBytes] = None,
        label: str = "coffer",
        pin_iterations: Optional[int] = None,
        max_pin_failures: Optional[int] = None,
        clock: Optional[ManualClock] = None,
        generation_file: Optional[_StorePath] = None,
    ) -> Keystore:
        """Creates a keystore in `store` (a SQLite file path that must not
        exist yet, a `postgres://` URL of a database without one, or
        ":memory:"), its records sealed under `passphrase` (str or bytes,
        stretched with PBKDF2-HMAC-SHA-256, 600,000 iterations), and
        initializes its token with the security officer's PIN `so_pin` (6
        to 64 bytes), as `coffer init` does. A ":memory:" keystore needs no
        passphrase: nothing of it leaves the process.

        `pin_iterations` is the PBKDF2 cost of new PIN hashes (default
        100,000; lower only for tests), `max_pin_failures` the wrong PINs in
        a row that lock a credential (default 5). `clock` (a ManualClock)
        stamps audit records and judges key expiry; None means the system
        clock.

        `generation_file` keeps the store's generation (the number of
        committed writes) outside the store, so that a store restored from
        an older copy is refused with KeystoreError when opened or used
        (default for SQLite: `<store>.generation`, as the CLI's
        `--generation-file`; none for PostgreSQL unless given). Keep it
        where the store's backups and restores do not reach.

        >>> import coffer, os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "keys.db")
        >>> ks = coffer.Keystore.create(path, passphrase="pw", so_pin="so-pin-1", pin_iterations=1000)
        >>> ks
        Keystore(...keys.db)
        >>> ks.close()
        """

    @staticmethod
    def open(
        store: _StorePath,
        *,
        passphrase: _TextOrBytes,
        clock: Optional[ManualClock] = None,
        generation_file: Optional[_StorePath] = None,
    ) -> Keystore:
        """Opens the keystore in `store` (a SQLite file path or a
        `postgres://` URL) with its `passphrase`. A wrong passphrase raises
        AuthError; a store without a keystore, KeystoreError. `clock` (a
        ManualClock) as for create(); None means the system clock.
        `generation_file` as for create() (default for SQLite:
        `<store>.generation`): a store older than the file says raises
        KeystoreError.

        >>> import coffer, os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "keys.db")
        >>> coffer.Keystore.create(path, passphrase="pw", so_pin="so-pin-1", pin_iterations=1000).close()
        >>> ks = coffer.Keystore.open(path, passphrase="pw")
        >>> ks.login_so("so-pin-1").role
        'security-officer'
        >>> try:
        ...     coffer.Keystore.open(path, passphrase="not it")
        ... except coffer.AuthError:
        ...     print("wrong passphrase")
        wrong passphrase
        """

    def login_so(self, pin: _TextOrBytes) -> Session:
        """Logs the security officer in with `pin`: a Session that creates
        tenants and credentials, unblocks them and shreds tenants. A wrong
        PIN raises AuthError, then LockedError.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> ks.login_so("so-pin-1")
        Session(user='so', role='security-officer', tenant=None)
        """

    def login(self, user: str, pin: _TextOrBytes, tenant: Optional[str] = None) -> Session:
        """Logs in the user or auditor `user` with `pin`. A user acts in
        `tenant`, which may be left out when the user has only one; an
        auditor takes none. An unknown user or a wrong PIN raises
        AuthError (the same way), then LockedError.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1")
        >>> so.create_tenant("acme")
        >>> so.create_tenant("globex")
        >>> so.create_user("carol", "carol-pin", tenants=["acme", "globex"])
        >>> ks.login("carol", "carol-pin", tenant="globex")
        Session(user='carol', role='user', tenant='globex')
        """

    def generation(self) -> int:
        """The store's generation: the number of write transactions committed
        to it, read from the store now (so it counts writes by other
        Keystore objects and processes too). It only grows; with a
        generation file (see create()) a store whose generation went back
        is refused.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> before = ks.generation()
        >>> ks.login_so("so-pin-1").create_tenant("acme")
        >>> ks.generation() > before
        True
        """

    def close(self) -> None:
        """Closes the store (every session ends). Further use raises
        KeystoreError. A `with` block closes it at its end.

        >>> import coffer
        >>> with coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000) as ks:
        ...     so = ks.login_so("so-pin-1")
        >>> try:
        ...     so.create_tenant("acme")
        ... except coffer.KeystoreError as e:
        ...     print(e)
        the keystore is closed
        """

    def __enter__(self) -> Keystore: ...
    def __exit__(self, *exc: object) -> None: ...

@final
class Session:
    """A login to a keystore, from `Keystore.login_so()` or `Keystore.login()`.

    What a session may do depends on its role, and the keystore checks it:
    the security officer ("security-officer", user name "so") creates tenants and credentials, unblocks
    them and shreds tenants; a user ("user") acts in one tenant and
    generates and uses its keys by handle; an auditor ("auditor") reads and
    verifies the audit log. Anything else raises PolicyError (and is
    logged). A session may be shared by threads. `logout()` (or the end of
    a `with` block) ends it; so does freeing it.

    >>> import coffer
    >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    >>> so = ks.login_so("so-pin-1")
    >>> so.create_tenant("acme")
    >>> so.create_user("alice", "alice-pin", tenants=["acme"])
    >>> with ks.login("alice", "alice-pin") as alice:
    ...     signer = alice.generate("signer", "p256")
    ...     signature = alice.sign(signer, b"release 1.2")
    ...     alice.verify(signer, b"release 1.2", signature)
    >>> alice.role, alice.tenant
    ('user', 'acme')
    """

    @property
    def user(self) -> str:
        """The credential's name ("so" for the security officer).

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> ks.login_so("so-pin-1").user
        'so'
        """

    @property
    def role(self) -> Literal["security-officer", "user", "auditor"]:
        """The role: "security-officer", "user" or "auditor" (as
        AuditRecord.role and `coffer audit show --json` name them).

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> ks.login_so("so-pin-1").role
        'security-officer'
        """

    @property
    def tenant(self) -> Optional[str]:
        """The tenant a user session acts in; None for the other roles.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> ks.login("bob", "bob-pin-1").tenant
        'acme'
        """

    def logout(self) -> None:
        """Ends the session; using it afterwards raises AuthError.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1")
        >>> so.logout()
        >>> try:
        ...     so.create_tenant("acme")
        ... except coffer.AuthError:
        ...     print("logged out")
        logged out
        """

    def __enter__(self) -> Session: ...
    def __exit__(self, *exc: object) -> None: ...
    def create_tenant(self, name: str) -> None:
        """Creates the tenant `name` (security officer only): 1 to 64 ASCII
        letters, digits and . _ - @. Its users are made with create_user().

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> ks.login_so("so-pin-1").create_tenant("acme-eu")
        """

    def create_user(
        self, name: str, pin: _TextOrBytes, tenants: Optional[Iterable[str]] = None, *, auditor: bool = False
    ) -> None:
        """Creates a credential with its own PIN (security officer only): a
        user of `tenants` (1 to 16 existing tenants), or with
        `auditor=True` an auditor, who reads the audit log and acts in no tenant.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1")
        >>> so.create_tenant("acme")
        >>> so.create_user("alice", "alice-pin", tenants=["acme"])
        >>> so.create_user("audit", "audit-pin", auditor=True)
        """

    def unblock_user(self, name: str, new_pin: _TextOrBytes) -> None:
        """Gives the locked (or any) user or auditor `name` a new PIN and
        clears its failure count (security officer only).

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1")
        >>> so.create_user("audit", "audit-pin", auditor=True)
        >>> so.unblock_user("audit", "new-audit-pin")
        >>> ks.login("audit", "new-audit-pin").role
        'auditor'
        """

    def change_pin(self, old_pin: _TextOrBytes, new_pin: _TextOrBytes) -> None:
        """Changes this session's own PIN (any role): `old_pin` is checked
        (and counted) as at a login.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> ks.login_so("so-pin-1").change_pin("so-pin-1", "so-pin-2")
        >>> ks.login_so("so-pin-2").role
        'security-officer'
        """

    def shred(self, tenant: str) -> ShredEvidence:
        """Crypto-shreds the tenant `tenant` (security officer only): destroys
        every key of it and its tenant key, in one transaction, so that none
        of its envelopes can be opened again. Returns the ShredEvidence: the
        destroyed keys as (key id, newest version) pairs and the audit
        records the shred wrote.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> kek = bob.generate("records", "aes256")
        >>> envelope = bob.seal(kek, b"customer data")
        >>> so.shred("acme").keys
        [('records', 1)]
        >>> try:
        ...     bob.open(kek, envelope)
        ... except coffer.PolicyError:
        ...     print("shredded")
        shredded
        """

    def generate(
        self,
        key_id: str,
        key_type: _KeyType,
        usage: Optional[Iterable[_Usage]] = None,
        *,
        label: Optional[str] = None,
        extractable: bool = False,
    ) -> KeyHandle:
        """Generates a key in the session's tenant and returns its handle.
        `key_type` is "aes256" (a KEK: seal/open, wrap/unwrap), "hmac",
        "p256", "rsa2048", "rsa3072" or "rsa4096"; `usage` a list of
        "encrypt", "decrypt", "wrap", "unwrap", "sign", "verify", "derive"
        (default: what the type is for, as the CLI); `key_id` is unique in
        the tenant and goes into envelopes. The key never leaves the
        keystore unless `extractable`, and then only wrapped.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> bob.generate("backups", "aes256", usage=["encrypt", "decrypt"], label="nightly backups")
        KeyHandle(1, key_id='backups', key_type='aes256')
        """

    def find(self, key_id: str) -> KeyHandle:
        """The handle of the session's tenant's key `key_id` (KeystoreError if none).

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> _ = bob.generate("signer", "rsa2048")
        >>> bob.find("signer")
        KeyHandle(1, key_id='signer', key_type='rsa2048')
        """

    def rotate(self, key: KeyHandle) -> int:
        """Creates a new version of `key` and returns its number: it seals,
        wraps and signs from now on, while envelopes, wrapped keys and
        signatures of older versions still open, unwrap and verify.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> kek = bob.generate("records", "aes256")
        >>> old = bob.seal(kek, b"v1 data")
        >>> bob.rotate(kek)
        2
        >>> coffer.inspect(bob.seal(kek, b"v2 data"))["recipients"][0]["version"]
        2
        >>> bytes(bob.open(kek, old))
        b'v1 data'
        """

    def destroy(self, key: KeyHandle) -> None:
        """Destroys every version of `key`; it can do nothing afterwards
        (PolicyError), and its key id is never reused.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> signer = bob.generate("signer", "p256")
        >>> bob.destroy(signer)
        """

    def public_key_der(self, key: KeyHandle) -> bytes:
        """The public key of `key` (P-256 or RSA, its newest version) as DER
        SubjectPublicKeyInfo, for P256PublicKey.from_der / RsaPublicKey.from_der.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> signer = bob.generate("signer", "p256")
        >>> public = coffer.P256PublicKey.from_der(bob.public_key_der(signer))
        >>> public.verify(b"data", bob.sign(signer, b"data"))
        """

    def info(self, key: KeyHandle) -> KeyInfo:
        """What the keystore tells about `key` (a KeyInfo: its id, type,
        version, tenant, usage, lifecycle state, expiry, ...), never its
        material. Another tenant's key raises PolicyError.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> kek = bob.generate("records", "aes256", ["encrypt", "decrypt"])
        >>> bob.rotate(kek)
        2
        >>> info = bob.info(kek)
        >>> info.key_id, info.version, info.state, info.usage
        ('records', 2, 'active', ['encrypt', 'decrypt'])
        """

    def set_state(self, key: KeyHandle, state: _KeyState) -> None:
        """Moves `key` to the lifecycle `state`: "active" (from "pre-active")
        or "deactivated" (from "pre-active" or "active"; it then only opens,
        unwraps and verifies what exists). Any other change raises
        PolicyError (an audited refusal): a deactivated key is never active
        again, and destroy() destroys.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> signer = bob.generate("signer", "p256")
        >>> bob.set_state(signer, "deactivated")
        >>> bob.info(signer).state
        'deactivated'
        >>> try:
        ...     bob.set_state(signer, "active")
        ... except coffer.PolicyError:
        ...     print("stays deactivated")
        stays deactivated
        """

    def set_expiry(self, key: KeyHandle, at: Optional[int]) -> None:
        """Sets when `key` expires, `at` in whole seconds since the Unix epoch
        (None clears it). Expiry does nothing by itself: sweep_expired()
        deactivates the keys whose time has come. A destroyed key raises
        PolicyError.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> hooks = bob.generate("hooks-2026", "hmac")
        >>> bob.set_expiry(hooks, 1_800_000_000)
        >>> bob.info(hooks).expires_at
        1800000000
        >>> bob.set_expiry(hooks, None)
        >>> bob.info(hooks).expires_at is None
        True
        """

    def sweep_expired(self) -> list[KeyHandle]:
        """The lifecycle sweep: deactivates every active (or pre-active) key of
        the session's tenant whose expiry is now or past (the keystore's
        clock, the system's), logs each change and returns their handles.
        Run it on a schedule; a deactivated key still opens, unwraps and
        verifies what exists but makes nothing new.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> old = bob.generate("hooks-2025", "hmac")
        >>> tag = bob.sign(old, b"delivery")
        >>> bob.set_expiry(old, 1)
        >>> bob.sweep_expired()
        [KeyHandle(1, key_id='hooks-2025', key_type='hmac')]
        >>> bob.verify(old, b"delivery", tag)
        >>> bob.sweep_expired()
        []
        """

    def seal(self, key: KeyHandle, plaintext: _BytesLike, context: Optional[_Context] = None) -> bytes:
        """Seals `plaintext` as an envelope (core/FORMAT.md) to the newest
        version of the AES-256 or RSA key `key` (usage "encrypt"), bound to
        `context` (a mapping of str or bytes, as coffer.seal takes). The
        envelope's recipient key id is the key's id. The GIL is released.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> kek = bob.generate("records", "aes256")
        >>> envelope = bob.seal(kek, b"quarterly numbers", {"tenant": "acme"})
        >>> coffer.inspect(envelope)["recipients"][0]["key_id"]
        b'records'
        """

    def open(self, key: KeyHandle, envelope: _BytesLike, context: Optional[_Context] = None) -> bytearray:
        """Opens an envelope sealed to any version of `key` (usage "decrypt")
        with exactly the `context` it was sealed with. Returns the plaintext
        as a bytearray the caller can wipe. A bad envelope raises
        DecryptError; a refused key, PolicyError. The GIL is released.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> kek = bob.generate("records", "aes256")
        >>> bob.open(kek, bob.seal(kek, b"quarterly numbers"))
        bytearray(b'quarterly numbers')
        """

    def seal_stream(
        self, key: KeyHandle, src: BinaryIO, dst: BinaryIO, context: Optional[_Context] = None
    ) -> int:
        r"""Seals everything read from `src` (a binary file object) into `dst`
        (a binary file object with `write`) as one envelope for the
        current version of `key` (an "aes256" or RSA key with usage
        "encrypt"), bound to `context`, in 64 KiB chunks: memory use is one
        chunk whatever the size. Returns the plaintext length. The result
        opens with open() and open_stream() by the same key.

        The keystore's lock is held for the whole stream (other operations
        on this Keystore wait), the GIL only for each `read`/`write`. An
        exception raised by `src` or `dst` is re-raised as it was; `dst`
        then holds an incomplete envelope. A file object that calls this
        keystore from its `read` or `write` gets KeystoreError.

        >>> import coffer, io
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> kek = bob.generate("backups", "aes256")
        >>> sealed = io.BytesIO()
        >>> bob.seal_stream(kek, io.BytesIO(b"row\n" * 50000), sealed, {"backup": "nightly"})
        200000
        >>> len(bob.open(kek, sealed.getvalue(), {"backup": "nightly"}))
        200000
        """

    def open_stream(
        self, key: KeyHandle, src: BinaryIO, dst: BinaryIO, context: Optional[_Context] = None
    ) -> int:
        """Opens an envelope read from `src` (a binary file object) into `dst`
        (a binary file object) with any version of `key` (usage "decrypt"),
        checking it was sealed with exactly this `context`, one chunk in
        memory at a time. Returns the plaintext length. A bad envelope
        raises DecryptError; a refused key, PolicyError; an exception of
        `src` or `dst` is re-raised as it was.

        As coffer.open_stream(): each chunk is written only once it has
        authenticated, and on any failure a seekable `dst` is cut back to
        where it started (`seek`, then `truncate()`); what was written to
        a `dst` that is not seekable is untrusted until the call returns.
        The keystore's lock is held for the whole stream, the GIL only for
        each `read`/`write`.

        >>> import coffer, io
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> kek = bob.generate("backups", "aes256")
        >>> envelope = bob.seal(kek, b"backup", {"backup": "nightly"})
        >>> out = io.BytesIO()
        >>> bob.open_stream(kek, io.BytesIO(envelope), out, {"backup": "nightly"})
        6
        >>> try:
        ...     bob.open_stream(kek, io.BytesIO(envelope[:-1]), out, {"backup": "nightly"})
        ... except coffer.DecryptError:
        ...     print("refused; out still holds", out.getvalue())
        refused; out still holds b'backup'
        """

    def open_to_scratch(
        self, key: KeyHandle, src: BinaryIO, dir: _StorePath, context: Optional[_Context] = None
    ) -> ScratchFile:
        """Opens an envelope read from `src` (a binary file object) with any
        version of `key` (usage "decrypt") into a new ScratchFile in the
        directory `dir` (mode 0600, a random name), as for a program that
        must read the plaintext from a file. Returns the ScratchFile at
        position 0: read it or hand its `path` on, then `shred()` it (or
        use it in a `with` block). On any failure (DecryptError,
        PolicyError, an exception of `src`, OSError) what was written is
        overwritten and removed before the exception is raised.

        >>> import coffer, io, tempfile
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> kek = bob.generate("db-credentials", "aes256")
        >>> envelope = bob.seal(kek, b"postgres://app:secret@db/acme", {"secret": "db"})
        >>> with bob.open_to_scratch(kek, io.BytesIO(envelope), tempfile.mkdtemp(), {"secret": "db"}) as pgpass:
        ...     bytes(pgpass.read())
        b'postgres://app:secret@db/acme'
        >>> pgpass.closed
        True
        """

    def rewrap(self, key: KeyHandle, envelope: _BytesLike) -> bytes:
        """Rewraps an envelope sealed to an older version of the AES-256 key
        `key` (usage "unwrap" and "wrap") to its newest version: only the
        header changes, the payload is neither decrypted nor rewritten. An
        envelope already on the newest version comes back unchanged; one
        without a recipient of this key raises DecryptError. The GIL is
        released.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> kek = bob.generate("records", "aes256")
        >>> old = bob.seal(kek, b"v1 data")
        >>> bob.rotate(kek)
        2
        >>> new = bob.rewrap(kek, old)
        >>> coffer.inspect(new)["recipients"][0]["version"]
        2
        >>> bytes(bob.open(kek, new))
        b'v1 data'
        """

    def sign(self, key: KeyHandle, data: _BytesLike) -> bytes:
        """Signs `data` with the newest version of `key` (usage "sign"): DER
        ECDSA P-256 SHA-256 for a P-256 key, RSASSA-PSS SHA-256 for RSA,
        HMAC-SHA-256 (32 bytes) for an HMAC key.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> hooks = bob.generate("hooks", "hmac")
        >>> len(bob.sign(hooks, b'{"paid": true}'))
        32
        """

    def verify(self, key: KeyHandle, data: _BytesLike, signature: _BytesLike) -> None:
        """Verifies `signature` over `data` against any version of `key`
        (usage "verify"), as sign() makes them; raises VerifyError if it
        does not verify.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> signer = bob.generate("signer", "p256")
        >>> try:
        ...     bob.verify(signer, b"other data", bob.sign(signer, b"data"))
        ... except coffer.VerifyError:
        ...     print("forged")
        forged
        """

    def webhook_sign(self, key: KeyHandle, payload: _BytesLike, timestamp: Optional[int] = None) -> str:
        """Signs a webhook delivery with the HMAC key `key` (usage "sign"), as
        coffer.webhook_sign() does with a shared secret: returns the header
        `t=<timestamp>,v1=<64 hex digits>`, the tag made in the keystore over
        `timestamp "." payload`. `timestamp` (seconds since the Unix epoch)
        defaults to the keystore's clock.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> hooks = bob.generate("hooks", "hmac")
        >>> bob.webhook_sign(hooks, b'{"paid":true}', timestamp=1700000000)[:16]
        't=1700000000,v1='
        """

    def webhook_verify(
        self,
        key: KeyHandle,
        payload: _BytesLike,
        header: _TextOrBytes,
        now: Optional[int] = None,
        tolerance: int = 300,
    ) -> None:
        """Checks a webhook delivery's signature `header` (as webhook_sign()
        writes it) against `payload` and the HMAC key `key` (usage
        "verify"), as coffer.webhook_verify() does: first the timestamp must
        be within `tolerance` seconds of `now` (seconds since the Unix
        epoch; None means the keystore's clock), either way, then the
        keystore checks the tag. A stale timestamp, a wrong tag or another
        payload raise VerifyError (a stale one is refused before the
        keystore is asked, and leaves no audit record); a header that does
        not parse raises MalformedError.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> hooks = bob.generate("hooks", "hmac")
        >>> header = bob.webhook_sign(hooks, b"{}", timestamp=1700000000)
        >>> bob.webhook_verify(hooks, b"{}", header, now=1700000060)
        >>> try:
        ...     bob.webhook_verify(hooks, b"{}", header, now=1700003600)
        ... except coffer.VerifyError:
        ...     print("replayed too late")
        replayed too late
        """

    def wrap(self, key: KeyHandle, key_material: _BytesLike) -> bytes:
        """Wraps `key_material` (1 to 16,384 bytes, a data key of yours) with
        AES-KWP (RFC 5649) under the newest version of the AES-256 key
        `key` (usage "wrap").

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> kek = bob.generate("transport", "aes256")
        >>> wrapped = bob.wrap(kek, bytes(32))
        >>> bob.unwrap(kek, wrapped) == bytes(32)
        True
        """

    def unwrap(self, key: KeyHandle, wrapped: _BytesLike) -> bytearray:
        """Unwraps what wrap() made under any version of `key` (usage
        "unwrap"), as a bytearray the caller can wipe; DecryptError if no
        version unwraps it.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> kek = bob.generate("transport", "aes256")
        >>> try:
        ...     bob.unwrap(kek, bytes(40))
        ... except coffer.DecryptError:
        ...     print("does not unwrap")
        does not unwrap
        """

    def export_wrapped(self, key: KeyHandle, wrapping_key: KeyHandle) -> bytes:
        """Exports the newest version of the extractable `key` wrapped with
        AES-KWP (RFC 5649) under the newest version of the AES-256 key
        `wrapping_key` (usage "wrap"), in coffer's own form (32 bytes for
        AES, HMAC and P-256, PKCS#8 DER for RSA), as coffer-hsm's
        import_wrapped takes it. A key generated without extractable=True
        never leaves: PolicyError (an audited refusal).

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> bob = ks.login("bob", "bob-pin-1")
        >>> transport = bob.generate("transport", "aes256", ["wrap", "unwrap"])
        >>> data_key = bob.generate("data", "aes256", extractable=True)
        >>> len(bob.export_wrapped(data_key, transport))
        40
        >>> try:
        ...     bob.export_wrapped(bob.generate("pinned", "aes256"), transport)
        ... except coffer.PolicyError:
        ...     print("not extractable")
        not extractable
        """

    def audit(self) -> list[AuditRecord]:
        """The audit log's live records, oldest first (auditor only). Reading
        them is not itself a record.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1")
        >>> so.create_tenant("acme")
        >>> so.create_user("audit", "audit-pin", auditor=True)
        >>> [r.event for r in ks.login("audit", "audit-pin").audit()]
        ['token-initialized', 'login', 'tenant-created', 'user-created', 'login']
        """

    def verify_audit(self) -> None:
        """Verifies the audit log (auditor only): every record present, in
        order, each HMAC chained to the one before, the last one the head
        the keystore keeps, and every credential agreeing with the records
        of its changes. Raises VerifyError naming the first record that
        does not verify.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> ks.login_so("so-pin-1").create_user("audit", "audit-pin", auditor=True)
        >>> ks.login("audit", "audit-pin").verify_audit()
        """

@final
class KeyHandle:
    """A key in the keystore, by handle: what `Session.generate()` and
    `Session.find()` return, and what the operations of a session take.
    It holds no key material, only the handle (a number unique in the
    keystore and never reused), the key id and the key type; the key
    stays in the keystore. `int(handle)` is the number.

    >>> import coffer
    >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    >>> so = ks.login_so("so-pin-1")
    >>> so.create_tenant("acme")
    >>> so.create_user("alice", "alice-pin", tenants=["acme"])
    >>> alice = ks.login("alice", "alice-pin")
    >>> key = alice.generate("records", "aes256")
    >>> key
    KeyHandle(1, key_id='records', key_type='aes256')
    >>> alice.find("records") == key
    True
    """

    @staticmethod
    def from_int(
        handle: int, key_type: Literal["aes256", "hmac", "p256", "rsa2048", "rsa3072", "rsa4096"], key_id: str = ""
    ) -> KeyHandle:
        """A KeyHandle for the raw handle number `handle`, for tests and
        diagnostics only: nothing is looked up, so the key may not exist (an
        operation on it then raises KeystoreError, "not found") or be
        another type. `key_type` picks the operation sign() and verify() ask
        for ("hmac": HMAC; others: signatures); `key_id` is only shown.
        Use Session.generate() or Session.find() for real keys.

        >>> import coffer
        >>> coffer.KeyHandle.from_int(2**64 - 1, "hmac")
        KeyHandle(18446744073709551615, key_id='', key_type='hmac')
        """

    @property
    def handle(self) -> int:
        """The handle's number, unique in the keystore and never reused.

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> ks.login("bob", "bob-pin-1").generate("signer", "p256").handle
        1
        """

    @property
    def key_id(self) -> str:
        """The key id, unique in its tenant (written into envelopes as the recipient's key id).

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> ks.login("bob", "bob-pin-1").generate("signer", "p256").key_id
        'signer'
        """

    @property
    def key_type(self) -> _KeyType:
        """The key type: "aes256", "hmac", "p256", "rsa2048", "rsa3072" or "rsa4096".

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
        >>> ks.login("bob", "bob-pin-1").generate("hooks", "hmac").key_type
        'hmac'
        """

    def __int__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

@final
class KeyInfo:
    """What the keystore tells about a key, as `Session.info()` returns it:
    everything but its material. `state` is "pre-active", "active",
    "deactivated" (it only opens, unwraps and verifies what exists) or
    "destroyed"; `usage` lists the names `generate()` took; `expires_at` is
    when the lifecycle sweep (`Session.sweep_expired()`) deactivates it, in
    seconds since the Unix epoch, or None; `sensitive` is true for every
    secret and private key (they never leave in plaintext); `local` is
    false for a key whose material came in from outside. A snapshot: ask
    again after a change.

    >>> import coffer
    >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    >>> bob = ks.login("bob", "bob-pin-1")
    >>> info = bob.info(bob.generate("hooks", "hmac"))
    >>> info
    KeyInfo(1, key_id='hooks', key_type='hmac', version=1, state='active')
    >>> info.tenant, info.usage, info.sensitive, info.extractable, info.expires_at
    ('acme', ['sign', 'verify'], True, False, None)
    """

    handle: int
    key_id: str
    label: str
    key_type: Union[_KeyType, Literal["certificate"]]
    tenant: str
    version: int
    usage: list[_Usage]
    state: _KeyState
    expires_at: Optional[int]
    sensitive: bool
    extractable: bool
    local: bool

@final
class ManualClock:
    """A clock set by hand, for tests and simulations: pass it as `clock=` to
    `Keystore.create()` or `Keystore.open()` and the keystore stamps its
    audit records and judges key expiry by it. `now` is seconds since the
    Unix epoch; the keystore sees every `set()` and `advance()` at once.

    >>> import coffer
    >>> clock = coffer.ManualClock(1700000000)
    >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000, clock=clock)
    >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme")
    >>> clock.advance(60)
    >>> so.create_user("audit", "audit-pin", auditor=True)
    >>> [r.time for r in ks.login("audit", "audit-pin").audit()][2:4]
    [1700000000, 1700000060]
    """

    def __init__(self, now: int) -> None:
        """Initialize self.  See help(type(self)) for accurate signature."""

    @property
    def now(self) -> int:
        """The time the clock shows, in seconds since the Unix epoch.

        >>> import coffer
        >>> clock = coffer.ManualClock(5)
        >>> clock.now
        5
        """

    def set(self, t: int) -> None:
        """Sets the clock to `t` (seconds since the Unix epoch); it may go back.

        >>> import coffer
        >>> clock = coffer.ManualClock(1700000000)
        >>> clock.set(1600000000)
        >>> clock.now
        1600000000
        """

    def advance(self, seconds: int) -> None:
        """Moves the clock forward by `seconds` (0 or more). A move past
        2**64 - 1 raises InvalidInput and leaves the clock as it was.

        >>> import coffer
        >>> clock = coffer.ManualClock(1700000000)
        >>> clock.advance(300)
        >>> clock.now
        1700000300
        """

@final
class AuditRecord:
    """One record of a keystore's audit log, as `Session.audit()` returns it:
    its sequence number, time, kind of event, the line of text `coffer
    audit show` prints, the fields the event has (the others are None) and
    its HMAC. Records never hold key material or PINs. `role` is
    "security-officer", "user" or "auditor", as Session.role. `tenant` is
    the tenant the event happened in (a refusal's: the session's), else the
    key's; `key_tenant` and `key_handle` are the key's own, when the event
    is about a key (a refused handle of another tenant names it there).

    >>> import coffer
    >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    >>> so = ks.login_so("so-pin-1")
    >>> so.create_user("audit", "audit-pin", auditor=True)
    >>> first = ks.login("audit", "audit-pin").audit()[0]
    >>> first.seq, first.event, first.text
    (0, 'token-initialized', 'token initialized')
    """

    seq: int
    time: int
    event: str
    text: str
    user: Optional[str]
    role: Optional[Literal["security-officer", "user", "auditor"]]
    tenant: Optional[str]
    key_id: Optional[str]
    key_tenant: Optional[str]
    key_handle: Optional[int]
    key_version: Optional[int]
    operation: Optional[str]
    reason: Optional[str]

    @property
    def mac(self) -> bytes:
        """The record's HMAC-SHA-256, chaining it to the record before (32 bytes).

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> ks.login_so("so-pin-1").create_user("audit", "audit-pin", auditor=True)
        >>> len(ks.login("audit", "audit-pin").audit()[0].mac)
        32
        """

@final
class ShredEvidence:
    """What `Session.shred()` destroyed, as evidence that none of the
    tenant's envelopes can be opened any more: the tenant, every destroyed
    key as (key_id, newest version), and the audit records the shred wrote
    (one "key-destroyed" per key, then "tenant-shredded"), in the order
    written. The shred is one transaction: all of it happened, or none.

    >>> import coffer
    >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    >>> ks.login("bob", "bob-pin-1").generate("records", "aes256")
    KeyHandle(1, key_id='records', key_type='aes256')
    >>> evidence = so.shred("acme")
    >>> evidence.tenant, evidence.keys
    ('acme', [('records', 1)])
    >>> [(r.event, r.key_id) for r in evidence.audit]
    [('key-destroyed', 'records'), ('tenant-shredded', None)]
    """

    tenant: str
    keys: list[tuple[str, int]]

    @property
    def audit(self) -> list[AuditRecord]:
        """The audit records the shred wrote, in order (AuditRecord).

        >>> import coffer
        >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
        >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme")
        >>> [r.text for r in so.shred("acme").audit]
        ['tenant acme shredded: 0 keys']
        """
