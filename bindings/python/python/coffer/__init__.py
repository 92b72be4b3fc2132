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
    AuditRecord,
    AuthError,
    Certificate,
    CofferError,
    Crl,
    Csr,
    DecryptError,
    InvalidInput,
    InvalidKey,
    Kek,
    KeyHandle,
    KeyInfo,
    Keystore,
    KeystoreError,
    LockedError,
    KeyPair,
    MalformedError,
    ManualClock,
    P256PrivateKey,
    P256PublicKey,
    PolicyError,
    Recipient,
    RsaPrivateKey,
    RsaPublicKey,
    ScratchFile,
    Session,
    ShredEvidence,
    UnlockKey,
    VerifyError,
    __version__,
    add_recipient,
    csr,
    inspect,
    issue_crl,
    issue_from_csr,
    issue_intermediate,
    issue_leaf,
    open_stream,
    open_to_scratch,
    remove_recipient,
    rewrap,
    seal,
    seal_stream,
    self_signed_ca,
    verify_chain,
    webhook_sign,
    webhook_verify,
)

from coffer._types import EnvelopeInfo, RecipientInfo

# `open` is coffer.open, never the builtin: it is re-exported explicitly but
# left out of __all__, so `from coffer import *` cannot shadow builtins.open.
from coffer._coffer import open as open


__all__ = [
    "Aead",
    "AuditRecord",
    "AuthError",
    "Certificate",
    "CofferError",
    "Crl",
    "Csr",
    "DecryptError",
    "EnvelopeInfo",
    "InvalidInput",
    "InvalidKey",
    "Kek",
    "KeyHandle",
    "KeyInfo",
    "Keystore",
    "KeystoreError",
    "LockedError",
    "KeyPair",
    "MalformedError",
    "ManualClock",
    "P256PrivateKey",
    "P256PublicKey",
    "PolicyError",
    "Recipient",
    "RecipientInfo",
    "RsaPrivateKey",
    "RsaPublicKey",
    "ScratchFile",
    "Session",
    "ShredEvidence",
    "UnlockKey",
    "VerifyError",
    "add_recipient",
    "csr",
    "inspect",
    "issue_crl",
    "issue_from_csr",
    "issue_intermediate",
    "issue_leaf",
    "open_stream",
    "open_to_scratch",
    "remove_recipient",
    "rewrap",
    "seal",
    "seal_stream",
    "self_signed_ca",
    "verify_chain",
    "webhook_sign",
    "webhook_verify",
]
