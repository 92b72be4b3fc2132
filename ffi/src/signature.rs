//! Signatures outside the keystore: signing with a key pair, verifying
//! with a key pair, a public key (SPKI, DER or PEM) or a certificate's key.
//! ECDSA P-256 with SHA-256 (DER signatures), RSASSA-PSS with SHA-256 and
//! RSASSA-PKCS1-v1_5 with SHA-256, as coffer-core makes and checks them.

use coffer_core::cert::{PublicKey, SignatureScheme};
use coffer_core::rng::OsRng;

use crate::boundary::{bytes_out, coffer_bytes, ffi_boundary, ref_in, require, slice_in, str_in};
use crate::keypair::coffer_keypair;
use crate::status::{COFFER_ERR_UNKNOWN_VALUE, FfiResult, coffer_status};

/// A signature scheme.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum coffer_signature_scheme {
    /// ECDSA over P-256 with SHA-256 (RFC 6979 deterministic nonce; a
    /// random nonce in a library built with the aws-lc provider); the
    /// signature is DER (`ECDSA-Sig-Value`, at most 72 bytes), as X.509,
    /// TLS, OpenSSL and `coffer_keystore_sign` use it. P-256 keys only.
    COFFER_SIG_ECDSA_P256_SHA256 = 1,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt, as
    /// `coffer_keystore_sign` makes it. RSA keys only; the signature is as
    /// long as the modulus.
    COFFER_SIG_RSA_PSS_SHA256 = 2,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`sha256WithRSAEncryption`). RSA keys
    /// only; the signature is as long as the modulus.
    COFFER_SIG_RSA_PKCS1_SHA256 = 3,
}

/// A `scheme` argument meaning "the key's default": ECDSA-SHA-256 for a
/// P-256 key, RSASSA-PKCS1-v1_5 with SHA-256 for an RSA key. Taken only by
/// the functions that sign certificates and requests with a keystore key
/// (`coffer_keystore_ca_certificate`, `coffer_keystore_certificate_request`,
/// `coffer_keystore_issue_certificate`); it is no `coffer_signature_scheme`
/// value, so every function that needs a definite scheme reports it as
/// `COFFER_ERR_UNKNOWN_VALUE`.
pub const COFFER_SIG_KEY_DEFAULT: u32 = 0;

/// The scheme a `coffer_signature_scheme` value names.
fn scheme_of(scheme: u32) -> FfiResult<SignatureScheme> {
    use coffer_signature_scheme::*;
    Ok(match scheme {
        s if s == COFFER_SIG_ECDSA_P256_SHA256 as u32 => SignatureScheme::EcdsaP256Sha256,
        s if s == COFFER_SIG_RSA_PSS_SHA256 as u32 => SignatureScheme::RsaPssSha256,
        s if s == COFFER_SIG_RSA_PKCS1_SHA256 as u32 => SignatureScheme::RsaPkcs1Sha256,
        _ => return Err(COFFER_ERR_UNKNOWN_VALUE),
    })
}

/// The scheme a keystore certificate function signs with: the one a
/// `coffer_signature_scheme` value names, or `None` (the key's default)
/// for [`COFFER_SIG_KEY_DEFAULT`].
pub(crate) fn scheme_or_key_default(scheme: u32) -> FfiResult<Option<SignatureScheme>> {
    if scheme == COFFER_SIG_KEY_DEFAULT {
        return Ok(None);
    }
    scheme_of(scheme).map(Some)
}

/// The arguments every verify function takes after its key: a
/// `coffer_signature_scheme`, the message and the signature.
pub(crate) struct Signed {
    pub(crate) scheme: u32,
    pub(crate) msg: *const u8,
    pub(crate) msg_len: usize,
    pub(crate) signature: *const u8,
    pub(crate) signature_len: usize,
}

/// The body of every verify function here and of
/// `coffer_certificate_verify_signature`, inside the panic boundary:
/// `key` reads the public key, then `signed` is checked with it.
///
/// # Safety
/// The header's contract for the input buffers in `signed`.
pub(crate) unsafe fn verify_call(
    key: impl FnOnce() -> FfiResult<PublicKey>,
    signed: Signed,
) -> coffer_status {
    ffi_boundary(|| {
        let key = key()?;
        let scheme = scheme_of(signed.scheme)?;
        // SAFETY: forwarded contract of this function.
        let msg = unsafe { slice_in(signed.msg, signed.msg_len) }?;
        // SAFETY: as above.
        let signature = unsafe { slice_in(signed.signature, signed.signature_len) }?;
        Ok(key.verify(scheme, msg, signature)?)
    })
}

/// Signs `msg` (any length; it is hashed, not copied) with the key pair
/// under `scheme` (a `coffer_signature_scheme`). On success `*signature`
/// holds the signature (free it with `coffer_bytes_free`).
///
/// Errors: `COFFER_ERR_INVALID_ARGUMENT` for a scheme of the other key type
/// (an RSA scheme with a P-256 key or the reverse);
/// `COFFER_ERR_UNKNOWN_VALUE` for an unknown scheme; `COFFER_ERR_RNG`.
///
/// Thread safety: any number of threads may sign with the same key pair at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_sign(
    keypair: *const coffer_keypair,
    scheme: u32,
    msg: *const u8,
    msg_len: usize,
    signature: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(signature)?;
        // SAFETY: the header's contract for handles.
        let kp = &unsafe { ref_in(keypair) }?.inner;
        let scheme = scheme_of(scheme)?;
        // SAFETY: the header's contract for input buffers.
        let msg = unsafe { slice_in(msg, msg_len) }?;
        let sig = kp.sign(&mut OsRng, scheme, msg)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(signature, &sig) }
    })
}

/// Verifies `signature` over `msg` with the key pair's public key under
/// `scheme`.
///
/// Errors: `COFFER_ERR_VERIFY` if it does not verify (a wrong signature,
/// message or key, or a signature of the wrong length or encoding);
/// `COFFER_ERR_INVALID_ARGUMENT` for a scheme of the other key type;
/// `COFFER_ERR_UNKNOWN_VALUE`.
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_verify(
    keypair: *const coffer_keypair,
    scheme: u32,
    msg: *const u8,
    msg_len: usize,
    signature: *const u8,
    signature_len: usize,
) -> coffer_status {
    // SAFETY: the header's contract for handles.
    let key = || Ok(unsafe { ref_in(keypair) }?.inner.public_key());
    let signed = Signed { scheme, msg, msg_len, signature, signature_len };
    // SAFETY: the header's contract for input buffers, forwarded.
    unsafe { verify_call(key, signed) }
}

/// Verifies `signature` over `msg` under `scheme` with a public key given
/// as SubjectPublicKeyInfo DER (`spki_der`, at most 64 KiB; RSA 2048..=4096
/// bits with e = 65537, or P-256), as `coffer_keypair_public_key_der`,
/// `coffer_certificate_public_key_der` and `coffer_keystore_public_key_der`
/// write it.
///
/// Errors: `COFFER_ERR_VERIFY`; `COFFER_ERR_INVALID_KEY` for bytes that do
/// not hold such a key; `COFFER_ERR_KEY_POLICY`; `COFFER_ERR_INVALID_LENGTH`
/// past 64 KiB; `COFFER_ERR_INVALID_ARGUMENT` for a scheme of the other key
/// type; `COFFER_ERR_UNKNOWN_VALUE`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_public_key_verify_der(
    spki_der: *const u8,
    spki_der_len: usize,
    scheme: u32,
    msg: *const u8,
    msg_len: usize,
    signature: *const u8,
    signature_len: usize,
) -> coffer_status {
    // SAFETY: the header's contract for input buffers.
    let key = || Ok(PublicKey::from_spki_der(unsafe { slice_in(spki_der, spki_der_len) }?)?);
    let signed = Signed { scheme, msg, msg_len, signature, signature_len };
    // SAFETY: as above, forwarded.
    unsafe { verify_call(key, signed) }
}

/// As `coffer_public_key_verify_der`, with the public key as a `PUBLIC KEY`
/// PEM block (`pem_len` bytes, no NUL needed).
///
/// Errors: as `coffer_public_key_verify_der`, and `COFFER_ERR_NOT_UTF8`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_public_key_verify_pem(
    pem: *const u8,
    pem_len: usize,
    scheme: u32,
    msg: *const u8,
    msg_len: usize,
    signature: *const u8,
    signature_len: usize,
) -> coffer_status {
    // SAFETY: the header's contract for input buffers.
    let key = || Ok(PublicKey::from_spki_pem(unsafe { str_in(pem, pem_len) }?)?);
    let signed = Signed { scheme, msg, msg_len, signature, signature_len };
    // SAFETY: as above, forwarded.
    unsafe { verify_call(key, signed) }
}
