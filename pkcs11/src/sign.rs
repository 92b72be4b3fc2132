//! Signatures and MACs (PKCS#11 v2.40 §5.11, §5.13): `C_Sign*` and
//! `C_Verify*` with `CKM_ECDSA`, `CKM_ECDSA_SHA256`, `CKM_SHA256_RSA_PKCS`,
//! `CKM_SHA256_RSA_PKCS_PSS` and `CKM_SHA256_HMAC`, by coffer-hsm's
//! `sign_prehash` / `sign_with` / `verify_with` / `hmac_sign` /
//! `hmac_verify` (each use an audited use of the key, as with coffer's
//! own API).
//!
//! `CKM_ECDSA` signs a hash the application made (1 to 64 bytes, cut to
//! its leftmost 256 bits as FIPS 186-5 says; other lengths are
//! `CKR_DATA_LEN_RANGE`). It is single-part, as the standard defines it:
//! `C_SignUpdate` / `C_VerifyUpdate` on it are `CKR_FUNCTION_NOT_SUPPORTED`
//! and end the operation.
//!
//! Each session holds at most one sign and one verify operation, with the
//! digest operation's rules: a call that fails ends the operation, except
//! `CKR_BUFFER_TOO_SMALL` and a size query (a NULL signature buffer); the
//! one-part call on an operation fed by an update is `CKR_OPERATION_ACTIVE`
//! and leaves it for the final call. Multi-part data is gathered and
//! signed at the end, since coffer-hsm signs whole messages.
//!
//! Signatures: ECDSA as PKCS#11 has it, raw `r || s` (64 bytes); RSA as
//! long as the modulus; HMAC-SHA-256 32 bytes. A signature of another
//! length is `CKR_SIGNATURE_LEN_RANGE`, a wrong one `CKR_SIGNATURE_INVALID`.

use coffer_core::cert::SignatureScheme;
use coffer_core::rng::OsRng;
use coffer_hsm::{Handle, KeyType, SessionId, Usage};
use cryptoki_sys::{
    CK_BYTE, CK_MECHANISM, CK_OBJECT_HANDLE, CK_RSA_PKCS_PSS_PARAMS, CK_RV, CK_SESSION_HANDLE, CK_ULONG,
    CKG_MGF1_SHA256, CKM_ECDSA, CKM_ECDSA_SHA256, CKM_SHA256, CKM_SHA256_HMAC, CKM_SHA256_RSA_PKCS,
    CKM_SHA256_RSA_PKCS_PSS, CKR_DATA_LEN_RANGE, CKR_FUNCTION_NOT_SUPPORTED, CKR_GENERAL_ERROR,
    CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_HANDLE_INVALID, CKR_KEY_TYPE_INCONSISTENT, CKR_MECHANISM_INVALID,
    CKR_MECHANISM_PARAM_INVALID, CKR_OPERATION_ACTIVE, CKR_SIGNATURE_LEN_RANGE,
};

use crate::asn1;
use crate::boundary::{CkResult, boundary, bytes_in, len_of, ref_in, sized_out};
use crate::error::rv_of_key_use;
use crate::module::{Module, Session, Step, key_operation_step, with_module};
use crate::object::{ObjectKind, is_pair, rsa_bits};
use crate::params::param_of;

/// The salt length of coffer's RSASSA-PSS signatures (= the SHA-256 length).
const PSS_SALT_LEN: CK_ULONG = 32;

/// A signing mechanism of this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignMechanism {
    /// `CKM_ECDSA` with a P-256 key: the data is the application's hash.
    Ecdsa,
    /// `CKM_ECDSA_SHA256` with a P-256 key.
    EcdsaSha256,
    /// `CKM_SHA256_RSA_PKCS`: RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcsSha256,
    /// `CKM_SHA256_RSA_PKCS_PSS`: RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt.
    RsaPssSha256,
    /// `CKM_SHA256_HMAC` with an HMAC key (generic secret).
    HmacSha256,
}

impl SignMechanism {
    /// Whether a coffer key type is this mechanism's.
    fn takes(self, key_type: KeyType) -> bool {
        match self {
            SignMechanism::Ecdsa | SignMechanism::EcdsaSha256 => key_type == KeyType::P256,
            SignMechanism::RsaPkcsSha256 | SignMechanism::RsaPssSha256 => rsa_bits(key_type) != 0,
            SignMechanism::HmacSha256 => key_type == KeyType::HmacSha256,
        }
    }

    fn scheme(self) -> Option<SignatureScheme> {
        match self {
            SignMechanism::EcdsaSha256 => Some(SignatureScheme::EcdsaP256Sha256),
            SignMechanism::RsaPkcsSha256 => Some(SignatureScheme::RsaPkcs1Sha256),
            SignMechanism::RsaPssSha256 => Some(SignatureScheme::RsaPssSha256),
            SignMechanism::Ecdsa | SignMechanism::HmacSha256 => None,
        }
    }
}

/// An active sign or verify operation of a session.
pub(crate) struct SignOperation {
    mechanism: SignMechanism,
    key: Handle,
    /// The signature's length with this key.
    signature_len: usize,
    /// The data of the update calls so far.
    data: Vec<u8>,
    /// Whether an update was called: only the final call ends it then.
    multi_part: bool,
}

/// The most data a multi-part sign or verify operation collects (the
/// signature is computed at the final call, over all of it): 16 MiB. One
/// more byte is `CKR_DATA_LEN_RANGE` and ends the operation.
pub(crate) const MAX_MULTI_PART_DATA: usize = 16 * 1024 * 1024;

impl SignOperation {
    /// Adds one part of the data, within [`MAX_MULTI_PART_DATA`].
    fn append(&mut self, part: &[u8]) -> CkResult<()> {
        if self.mechanism == SignMechanism::Ecdsa {
            return Err(CKR_FUNCTION_NOT_SUPPORTED);
        }
        if part.len() > MAX_MULTI_PART_DATA.saturating_sub(self.data.len()) {
            return Err(CKR_DATA_LEN_RANGE);
        }
        self.data.extend_from_slice(part);
        self.multi_part = true;
        Ok(())
    }
}

/// The mechanism, with its parameters checked.
///
/// # Safety
/// A non-NULL `mechanism` must point to a valid `CK_MECHANISM` whose
/// non-NULL parameter is readable for its length.
unsafe fn mechanism_of(mechanism: *mut CK_MECHANISM) -> CkResult<SignMechanism> {
    // SAFETY: forwarded contract of this function.
    let mechanism = unsafe { ref_in(mechanism.cast_const()) }?;
    let no_parameter = mechanism.pParameter.is_null() && mechanism.ulParameterLen == 0;
    let chosen = match mechanism.mechanism {
        CKM_ECDSA => SignMechanism::Ecdsa,
        CKM_ECDSA_SHA256 => SignMechanism::EcdsaSha256,
        CKM_SHA256_RSA_PKCS => SignMechanism::RsaPkcsSha256,
        CKM_SHA256_HMAC => SignMechanism::HmacSha256,
        CKM_SHA256_RSA_PKCS_PSS => {
            // SAFETY: forwarded contract of this function.
            let params = unsafe { param_of::<CK_RSA_PKCS_PSS_PARAMS>(mechanism) }?;
            if params.hashAlg != CKM_SHA256 || params.mgf != CKG_MGF1_SHA256 || params.sLen != PSS_SALT_LEN {
                return Err(CKR_MECHANISM_PARAM_INVALID);
            }
            return Ok(SignMechanism::RsaPssSha256);
        }
        _ => return Err(CKR_MECHANISM_INVALID),
    };
    if no_parameter { Ok(chosen) } else { Err(CKR_MECHANISM_PARAM_INVALID) }
}

/// A session's sign or verify operation slot.
fn slot_of(session: &mut Session, verify: bool) -> &mut Option<SignOperation> {
    if verify { &mut session.verify } else { &mut session.sign }
}

/// `C_SignInit` and `C_VerifyInit`: checks the mechanism and the key
/// (`CKR_KEY_HANDLE_INVALID`, `CKR_KEY_TYPE_INCONSISTENT` for a key of
/// another type, `CKR_KEY_FUNCTION_NOT_PERMITTED` for a key whose usage,
/// state or object does not allow it: signing takes the private or secret
/// key, verifying the public key of a pair or the secret key).
///
/// # Safety
/// As [`mechanism_of`].
unsafe fn init(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
    verify: bool,
) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            if slot_of(m.session(session)?, verify).is_some() {
                return Err(CKR_OPERATION_ACTIVE);
            }
            // SAFETY: forwarded contract of this function.
            let mechanism = unsafe { mechanism_of(mechanism) }?;
            let user = m.user_session()?;
            let object = m.object(user, key, CKR_KEY_HANDLE_INVALID)?;
            let key_type = object.info.key_type;
            if !mechanism.takes(key_type) {
                return Err(CKR_KEY_TYPE_INCONSISTENT);
            }
            let kind = if verify && is_pair(key_type) { ObjectKind::PublicKey } else { ObjectKind::Key };
            let usage = if verify { Usage::VERIFY } else { Usage::SIGN };
            if object.kind != kind || !object.allows(usage) {
                return Err(CKR_KEY_FUNCTION_NOT_PERMITTED);
            }
            let signature_len = match mechanism {
                SignMechanism::Ecdsa | SignMechanism::EcdsaSha256 => asn1::P256_RAW_SIGNATURE_LEN,
                SignMechanism::HmacSha256 => coffer_core::hash::SHA256_LEN,
                _ => len_of(rsa_bits(key_type) / 8)?,
            };
            *slot_of(m.session(session)?, verify) = Some(SignOperation {
                mechanism,
                key: object.info.handle,
                signature_len,
                data: Vec::new(),
                multi_part: false,
            });
            Ok(())
        })
    })
}

/// [`key_operation_step`] on the session's sign (or verify) operation.
fn with_operation(
    session: CK_SESSION_HANDLE,
    verify: bool,
    f: impl FnOnce(&mut Module, SessionId, &mut SignOperation) -> CkResult<Step>,
) -> CK_RV {
    key_operation_step(session, |s| slot_of(s, verify), f)
}

/// The signature of `data` by the operation's key.
fn signature(m: &mut Module, user: SessionId, op: &SignOperation, data: &[u8]) -> CkResult<Vec<u8>> {
    let signature = match op.mechanism.scheme() {
        None if op.mechanism == SignMechanism::Ecdsa => {
            check_digest_len(data)?;
            m.hsm.sign_prehash(user, op.key, data).map_err(|e| rv_of_key_use(&e))?.to_vec()
        }
        Some(scheme) => {
            let sig =
                m.hsm.sign_with(&mut OsRng, user, op.key, scheme, data).map_err(|e| rv_of_key_use(&e))?;
            if scheme == SignatureScheme::EcdsaP256Sha256 { asn1::ecdsa_raw_of_der(&sig)? } else { sig }
        }
        None => m.hsm.hmac_sign(user, op.key, &[data]).map_err(|e| rv_of_key_use(&e))?.to_vec(),
    };
    if signature.len() != op.signature_len {
        return Err(CKR_GENERAL_ERROR);
    }
    Ok(signature)
}

/// Checks `sig` over `data` with the operation's key.
fn check(m: &mut Module, user: SessionId, op: &SignOperation, data: &[u8], sig: &[u8]) -> CkResult<()> {
    if sig.len() != op.signature_len {
        return Err(CKR_SIGNATURE_LEN_RANGE);
    }
    let result = match op.mechanism.scheme() {
        None if op.mechanism == SignMechanism::Ecdsa => {
            check_digest_len(data)?;
            m.hsm.verify_prehash(user, op.key, data, sig)
        }
        Some(SignatureScheme::EcdsaP256Sha256) => {
            let der = asn1::ecdsa_der_of_raw(sig)?;
            m.hsm.verify_with(user, op.key, SignatureScheme::EcdsaP256Sha256, data, &der)
        }
        Some(scheme) => m.hsm.verify_with(user, op.key, scheme, data, sig),
        None => m.hsm.hmac_verify(user, op.key, &[data], sig),
    };
    result.map_err(|e| rv_of_key_use(&e))
}

/// `CKR_DATA_LEN_RANGE` unless `CKM_ECDSA`'s data is a hash of 1 to 64 bytes.
fn check_digest_len(data: &[u8]) -> CkResult<()> {
    if data.is_empty() || data.len() > coffer_core::p256::MAX_PREHASH_LEN {
        return Err(CKR_DATA_LEN_RANGE);
    }
    Ok(())
}

/// Signs and writes the signature with the two-call convention.
///
/// # Safety
/// As [`sized_out`].
unsafe fn signature_out(
    m: &mut Module,
    user: SessionId,
    op: &SignOperation,
    data: &[u8],
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CkResult<Step> {
    // SAFETY: forwarded contract of this function.
    let Some(buffer) = (unsafe { sized_out(out, out_len, op.signature_len) })? else {
        return Ok(Step::Continue);
    };
    buffer.copy_from_slice(&signature(m, user, op, data)?);
    Ok(Step::Done)
}

/// `C_SignInit`.
///
/// # Safety
/// A non-NULL `mechanism` must point to a valid `CK_MECHANISM`.
pub(crate) unsafe extern "C" fn sign_init(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    // SAFETY: forwarded contract of this function.
    unsafe { init(session, mechanism, key, false) }
}

/// `C_Sign`: signs `data` in one part.
///
/// # Safety
/// A non-NULL `data` must be readable for `data_len` bytes; `out` and
/// `out_len` as for [`sized_out`].
pub(crate) unsafe extern "C" fn sign(
    session: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    with_operation(session, false, |m, user, op| {
        if op.multi_part {
            return Err(CKR_OPERATION_ACTIVE);
        }
        // SAFETY: forwarded contract of this function.
        let data = unsafe { bytes_in(data.cast_const(), data_len) }?;
        // SAFETY: as above.
        unsafe { signature_out(m, user, op, data, out, out_len) }
    })
}

/// `C_SignUpdate`: one more part of the data.
///
/// # Safety
/// A non-NULL `part` must be readable for `part_len` bytes.
pub(crate) unsafe extern "C" fn sign_update(
    session: CK_SESSION_HANDLE,
    part: *mut CK_BYTE,
    part_len: CK_ULONG,
) -> CK_RV {
    with_operation(session, false, |_, _, op| {
        // SAFETY: forwarded contract of this function.
        let part = unsafe { bytes_in(part.cast_const(), part_len) }?;
        op.append(part)?;
        Ok(Step::Continue)
    })
}

/// `C_SignFinal`: the signature of every part so far.
///
/// # Safety
/// `out` and `out_len` as for [`sized_out`].
pub(crate) unsafe extern "C" fn sign_final(
    session: CK_SESSION_HANDLE,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    with_operation(session, false, |m, user, op| {
        let data = std::mem::take(&mut op.data);
        // SAFETY: forwarded contract of this function.
        let step = unsafe { signature_out(m, user, op, &data, out, out_len) };
        op.data = data;
        step
    })
}

/// `C_VerifyInit`.
///
/// # Safety
/// A non-NULL `mechanism` must point to a valid `CK_MECHANISM`.
pub(crate) unsafe extern "C" fn verify_init(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    // SAFETY: forwarded contract of this function.
    unsafe { init(session, mechanism, key, true) }
}

/// `C_Verify`: checks `sig` over `data` in one part; ends the operation.
///
/// # Safety
/// Non-NULL `data` and `sig` must be readable for their lengths.
pub(crate) unsafe extern "C" fn verify(
    session: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    sig: *mut CK_BYTE,
    sig_len: CK_ULONG,
) -> CK_RV {
    with_operation(session, true, |m, user, op| {
        if op.multi_part {
            return Err(CKR_OPERATION_ACTIVE);
        }
        // SAFETY: forwarded contract of this function.
        let data = unsafe { bytes_in(data.cast_const(), data_len) }?;
        // SAFETY: as above.
        let sig = unsafe { bytes_in(sig.cast_const(), sig_len) }?;
        check(m, user, op, data, sig).map(|()| Step::Done)
    })
}

/// `C_VerifyUpdate`: one more part of the data.
///
/// # Safety
/// A non-NULL `part` must be readable for `part_len` bytes.
pub(crate) unsafe extern "C" fn verify_update(
    session: CK_SESSION_HANDLE,
    part: *mut CK_BYTE,
    part_len: CK_ULONG,
) -> CK_RV {
    with_operation(session, true, |_, _, op| {
        // SAFETY: forwarded contract of this function.
        let part = unsafe { bytes_in(part.cast_const(), part_len) }?;
        op.append(part)?;
        Ok(Step::Continue)
    })
}

/// `C_VerifyFinal`: checks `sig` over every part so far; ends the operation.
///
/// # Safety
/// A non-NULL `sig` must be readable for `sig_len` bytes.
pub(crate) unsafe extern "C" fn verify_final(
    session: CK_SESSION_HANDLE,
    sig: *mut CK_BYTE,
    sig_len: CK_ULONG,
) -> CK_RV {
    with_operation(session, true, |m, user, op| {
        // SAFETY: forwarded contract of this function.
        let sig = unsafe { bytes_in(sig.cast_const(), sig_len) }?;
        check(m, user, op, &op.data, sig).map(|()| Step::Done)
    })
}
