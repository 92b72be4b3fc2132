# Type stubs of coffer's native module (src/*.rs). Every docstring here is the
# runtime __doc__ of the same object; tests/test_stubs.py holds the two equal.

from collections.abc import Iterable, Mapping
from typing import Literal, Optional, Union, final

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
    "Recipient",
    "UnlockKey",
    "seal",
    "open",
    "inspect",
    "webhook_sign",
    "webhook_verify",
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
