"""coffer: envelope encryption, key wrapping, key pairs and webhook signatures.

A thin Python layer over coffer-core (Rust, through PyO3): no cryptography is
implemented in Python. Secrets that coffer returns (opened plaintexts, unwrapped
and exported keys) are ``bytearray`` objects the caller can wipe with
``buf[:] = bytes(len(buf))``; key objects wipe their key material when freed.

>>> import coffer
>>> kek = coffer.Kek.generate()
>>> envelope = coffer.seal(b"quarterly numbers", [coffer.Recipient.kek("acme-kek", kek)],
...                        context={"tenant": "acme"})
>>> bytes(coffer.open(envelope, [coffer.UnlockKey.kek("acme-kek", kek)], context={"tenant": "acme"}))
b'quarterly numbers'
"""

from coffer._coffer import (
    Aead,
    CofferError,
    DecryptError,
    InvalidInput,
    InvalidKey,
    Kek,
    MalformedError,
    P256PrivateKey,
    P256PublicKey,
    Recipient,
    RsaPrivateKey,
    RsaPublicKey,
    UnlockKey,
    VerifyError,
    __version__,
    inspect,
    seal,
    webhook_sign,
    webhook_verify,
)

from coffer._types import EnvelopeInfo, RecipientInfo

# `open` is coffer.open, never the builtin: it is re-exported explicitly but
# left out of __all__, so `from coffer import *` cannot shadow builtins.open.
from coffer._coffer import open as open


__all__ = [
    "Aead",
    "CofferError",
    "DecryptError",
    "EnvelopeInfo",
    "InvalidInput",
    "InvalidKey",
    "Kek",
    "MalformedError",
    "P256PrivateKey",
    "P256PublicKey",
    "Recipient",
    "RecipientInfo",
    "RsaPrivateKey",
    "RsaPublicKey",
    "UnlockKey",
    "VerifyError",
    "inspect",
    "seal",
    "webhook_sign",
    "webhook_verify",
]
