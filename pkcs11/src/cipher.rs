//! Encryption and decryption (PKCS#11 v2.40 §5.8, §5.9): `C_Encrypt*` and
//! `C_Decrypt*` with `CKM_AES_GCM` and `CKM_RSA_PKCS_OAEP`, by coffer-hsm's
//! `encrypt_gcm` / `decrypt_gcm` / `encrypt_oaep` / `decrypt_oaep` (each an
//! audited use of the key, as with coffer's own API).
//!
//! `CKM_AES_GCM` (v2.40 §2.12.3) takes a `CK_GCM_PARAMS` with a 12-byte IV
//! (`ulIvBits` 0 or 96), a 128-bit tag and at most [`MAX_AAD_LEN`] bytes of
//! AAD; the ciphertext is `ciphertext || tag`. The application chooses the
//! IV and must never use one twice with a key (GCM loses confidentiality
//! and authenticity if it does). Multi-part data is gathered, as coffer-hsm
//! encrypts whole messages: `C_EncryptUpdate` and `C_DecryptUpdate` always
//! return 0 bytes, `C_EncryptFinal` returns the whole ciphertext and
//! `C_DecryptFinal` the whole plaintext, only after the tag checked; at
//! most [`MAX_MULTI_PART_DATA`] bytes of plaintext (and that plus the tag
//! of ciphertext) are gathered, one more is `CKR_DATA_LEN_RANGE`
//! (`CKR_ENCRYPTED_DATA_LEN_RANGE`). An update with a NULL output buffer
//! is a size query (it reports 0) and does not take the part.
//!
//! `CKM_RSA_PKCS_OAEP` takes a `CK_RSA_PKCS_OAEP_PARAMS` with `CKM_SHA256`,
//! `CKG_MGF1_SHA256` and either no source (0) or `CKZ_DATA_SPECIFIED` with
//! a label of at most `coffer_core::rsa::MAX_LABEL_LEN` bytes. It encrypts
//! with the public key object of an RSA pair and decrypts with the private
//! key object. It is single-part: `C_EncryptUpdate`, `C_EncryptFinal`,
//! `C_DecryptUpdate` and `C_DecryptFinal` are `CKR_FUNCTION_NOT_SUPPORTED`
//! and end the operation (SoftHSMv2 does the same). A plaintext longer than
//! the modulus allows (`k - 66` bytes) is `CKR_DATA_LEN_RANGE`, a
//! ciphertext of another length than the modulus
//! `CKR_ENCRYPTED_DATA_LEN_RANGE`.
//!
//! Output sizes follow the two-call convention (§5.2): a NULL output buffer
//! asks for the length and keeps the operation, as does
//! `CKR_BUFFER_TOO_SMALL`. The length is exact for encryption and for GCM
//! decryption (the ciphertext's length minus 16); for OAEP decryption it is
//! the upper bound `k - 66` (the plaintext is not known before decrypting,
//! and the module keeps no plaintext between calls), and the call that
//! decrypts sets the true length.
//!
//! A ciphertext that does not decrypt (a wrong tag, IV, AAD or label) is
//! `CKR_ENCRYPTED_DATA_INVALID`, and nothing is written to the output
//! buffer. Every other failure ends the operation too; the one-part call on
//! an operation fed by an update is `CKR_OPERATION_ACTIVE` and leaves it
//! for the final call.

use coffer_core::hazmat::gcm;
use coffer_core::rng::OsRng;
use coffer_hsm::{Handle, KeyType, SessionId, Usage};
use cryptoki_sys::{
    CK_BYTE, CK_GCM_PARAMS, CK_MECHANISM, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKM_AES_GCM,
    CKM_RSA_PKCS_OAEP, CKR_DATA_LEN_RANGE, CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE,
    CKR_FUNCTION_NOT_SUPPORTED, CKR_GENERAL_ERROR, CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_HANDLE_INVALID,
    CKR_KEY_TYPE_INCONSISTENT, CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID, CKR_OPERATION_ACTIVE,
};
use zeroize::Zeroizing;

use crate::boundary::{CkResult, boundary, bytes_in, len_of, ref_in, sized_out, write_out};
use crate::error::rv_of_key_use;
use crate::module::{Module, Session, Step, key_operation_step, with_module};
use crate::object::{ObjectKind, rsa_bits};
use crate::params::{oaep_label, param_bytes, param_of};
use crate::sign::MAX_MULTI_PART_DATA;

/// The most AAD a `CKM_AES_GCM` operation takes: 64 KiB.
pub(crate) const MAX_AAD_LEN: usize = 64 * 1024;

/// The GCM tag length coffer makes and checks, in bits (the full 128).
const GCM_TAG_BITS: CK_ULONG = 128;

/// The OAEP overhead with SHA-256: `2 * 32 + 2` bytes (RFC 8017 §7.1.1).
const OAEP_OVERHEAD: usize = 66;

/// An encryption mechanism of this module, with its parameters.
enum CipherMechanism {
    /// `CKM_AES_GCM`: the IV and the AAD.
    AesGcm { iv: [u8; gcm::NONCE_LEN], aad: Vec<u8> },
    /// `CKM_RSA_PKCS_OAEP` with SHA-256 and MGF1-SHA-256: the label.
    RsaOaep { label: Vec<u8> },
}

/// An active encrypt or decrypt operation of a session.
pub(crate) struct CipherOperation {
    mechanism: CipherMechanism,
    key: Handle,
    /// The modulus length in bytes (OAEP), or 0 (GCM).
    modulus_len: usize,
    /// The parts of the update calls so far (plaintext when encrypting:
    /// wiped when the operation ends).
    data: Zeroizing<Vec<u8>>,
    /// Whether an update took a part: only the final call ends it then.
    multi_part: bool,
}

/// The mechanism, with its parameters checked and copied.
///
/// # Safety
/// A non-NULL `mechanism` must point to a valid `CK_MECHANISM` whose
/// non-NULL parameter is readable for its length, and whose parameter's
/// pointers (IV, AAD, label) are readable for their lengths.
unsafe fn mechanism_of(mechanism: *mut CK_MECHANISM) -> CkResult<CipherMechanism> {
    // SAFETY: forwarded contract of this function.
    let mechanism = unsafe { ref_in(mechanism.cast_const()) }?;
    match mechanism.mechanism {
        CKM_AES_GCM => {
            // SAFETY: forwarded contract of this function.
            let params = unsafe { param_of::<CK_GCM_PARAMS>(mechanism) }?;
            let iv_ok = len_of(params.ulIvLen)? == gcm::NONCE_LEN
                && (params.ulIvBits == 0 || params.ulIvBits == 96)
                && !params.pIv.is_null();
            if !iv_ok || params.ulTagBits != GCM_TAG_BITS || len_of(params.ulAADLen)? > MAX_AAD_LEN {
                return Err(CKR_MECHANISM_PARAM_INVALID);
            }
            // SAFETY: the IV is readable for ulIvLen bytes by the caller's contract.
            let iv = unsafe { param_bytes(params.pIv.cast_const(), params.ulIvLen) }?;
            let iv: [u8; gcm::NONCE_LEN] = iv.try_into().map_err(|_| CKR_MECHANISM_PARAM_INVALID)?;
            // SAFETY: the AAD is readable for ulAADLen bytes by the caller's contract.
            let aad = unsafe { param_bytes(params.pAAD.cast_const(), params.ulAADLen) }?;
            Ok(CipherMechanism::AesGcm { iv, aad })
        }
        CKM_RSA_PKCS_OAEP => {
            // SAFETY: forwarded contract of this function.
            let label = unsafe { oaep_label(mechanism) }?;
            Ok(CipherMechanism::RsaOaep { label })
        }
        _ => Err(CKR_MECHANISM_INVALID),
    }
}

/// A session's encrypt or decrypt operation slot.
fn slot_of(session: &mut Session, decrypt: bool) -> &mut Option<CipherOperation> {
    if decrypt { &mut session.decrypt } else { &mut session.encrypt }
}

/// `C_EncryptInit` and `C_DecryptInit`: checks the mechanism and the key
/// (`CKR_KEY_HANDLE_INVALID`; `CKR_KEY_TYPE_INCONSISTENT` for a key of
/// another type; `CKR_KEY_FUNCTION_NOT_PERMITTED` for a key whose usage or
/// state does not allow it, or the wrong object of a pair: OAEP encrypts
/// with the public key, decrypts with the private key).
///
/// # Safety
/// As [`mechanism_of`].
unsafe fn init(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
    decrypt: bool,
) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            if slot_of(m.session(session)?, decrypt).is_some() {
                return Err(CKR_OPERATION_ACTIVE);
            }
            // SAFETY: forwarded contract of this function.
            let mechanism = unsafe { mechanism_of(mechanism) }?;
            let user = m.user_session()?;
            let object = m.object(user, key, CKR_KEY_HANDLE_INVALID)?;
            let key_type = object.info.key_type;
            let (type_ok, kind) = match mechanism {
                CipherMechanism::AesGcm { .. } => (key_type == KeyType::Aes256, ObjectKind::Key),
                CipherMechanism::RsaOaep { .. } => {
                    (rsa_bits(key_type) != 0, if decrypt { ObjectKind::Key } else { ObjectKind::PublicKey })
                }
            };
            if !type_ok {
                return Err(CKR_KEY_TYPE_INCONSISTENT);
            }
            let usage = if decrypt { Usage::DECRYPT } else { Usage::ENCRYPT };
            if object.kind != kind || !object.allows(usage) {
                return Err(CKR_KEY_FUNCTION_NOT_PERMITTED);
            }
            *slot_of(m.session(session)?, decrypt) = Some(CipherOperation {
                mechanism,
                key: object.info.handle,
                modulus_len: len_of(rsa_bits(key_type) / 8)?,
                data: Zeroizing::new(Vec::new()),
                multi_part: false,
            });
            Ok(())
        })
    })
}

/// [`key_operation_step`] on the session's encrypt (or decrypt) operation.
fn with_operation(
    session: CK_SESSION_HANDLE,
    decrypt: bool,
    f: impl FnOnce(&mut Module, SessionId, &mut CipherOperation) -> CkResult<Step>,
) -> CK_RV {
    key_operation_step(session, |s| slot_of(s, decrypt), f)
}

/// The `CKR_` code of a coffer-hsm error from encrypting or decrypting: a
/// ciphertext that does not decrypt is `CKR_ENCRYPTED_DATA_INVALID`, an
/// input beyond the mechanism's limits `CKR_DATA_LEN_RANGE`; the rest as
/// [`rv_of_key_use`].
fn rv_of_cipher(e: &coffer_hsm::Error) -> CK_RV {
    match e {
        coffer_hsm::Error::Crypto(coffer_core::Error::Decrypt) => CKR_ENCRYPTED_DATA_INVALID,
        coffer_hsm::Error::Crypto(coffer_core::Error::InvalidLength) => CKR_DATA_LEN_RANGE,
        _ => rv_of_key_use(e),
    }
}

impl CipherOperation {
    /// Adds one part of the data, within the multi-part limit (for
    /// decryption the limit plus a GCM tag).
    fn append(&mut self, part: &[u8], decrypt: bool) -> CkResult<()> {
        let (limit, rv) = if decrypt {
            (MAX_MULTI_PART_DATA.saturating_add(gcm::TAG_LEN), CKR_ENCRYPTED_DATA_LEN_RANGE)
        } else {
            (MAX_MULTI_PART_DATA, CKR_DATA_LEN_RANGE)
        };
        if part.len() > limit.saturating_sub(self.data.len()) {
            return Err(rv);
        }
        self.data.extend_from_slice(part);
        self.multi_part = true;
        Ok(())
    }

    /// The exact ciphertext length of `plaintext_len` bytes, or
    /// `CKR_DATA_LEN_RANGE` for a plaintext the mechanism cannot take.
    fn ciphertext_len(&self, plaintext_len: usize) -> CkResult<usize> {
        match &self.mechanism {
            CipherMechanism::AesGcm { .. } => {
                plaintext_len.checked_add(gcm::TAG_LEN).ok_or(CKR_DATA_LEN_RANGE)
            }
            CipherMechanism::RsaOaep { .. } => {
                if plaintext_len > self.modulus_len.saturating_sub(OAEP_OVERHEAD) {
                    return Err(CKR_DATA_LEN_RANGE);
                }
                Ok(self.modulus_len)
            }
        }
    }

    /// The plaintext length of a `ciphertext_len`-byte ciphertext: exact
    /// for GCM, the upper bound `k - 66` for OAEP;
    /// `CKR_ENCRYPTED_DATA_LEN_RANGE` for a ciphertext of a length the
    /// mechanism never makes.
    fn plaintext_len(&self, ciphertext_len: usize) -> CkResult<usize> {
        match &self.mechanism {
            CipherMechanism::AesGcm { .. } => {
                ciphertext_len.checked_sub(gcm::TAG_LEN).ok_or(CKR_ENCRYPTED_DATA_LEN_RANGE)
            }
            CipherMechanism::RsaOaep { .. } => {
                if ciphertext_len != self.modulus_len {
                    return Err(CKR_ENCRYPTED_DATA_LEN_RANGE);
                }
                Ok(self.modulus_len.saturating_sub(OAEP_OVERHEAD))
            }
        }
    }

    /// `CKR_FUNCTION_NOT_SUPPORTED` for a single-part mechanism (OAEP).
    fn require_multi_part_mechanism(&self) -> CkResult<()> {
        match self.mechanism {
            CipherMechanism::AesGcm { .. } => Ok(()),
            CipherMechanism::RsaOaep { .. } => Err(CKR_FUNCTION_NOT_SUPPORTED),
        }
    }
}

/// Encrypts `data` and writes the ciphertext with the two-call convention.
///
/// # Safety
/// As [`sized_out`].
unsafe fn encrypt_out(
    m: &mut Module,
    user: SessionId,
    op: &CipherOperation,
    data: &[u8],
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CkResult<Step> {
    let needed = op.ciphertext_len(data.len())?;
    // SAFETY: forwarded contract of this function.
    let Some(buffer) = (unsafe { sized_out(out, out_len, needed) })? else {
        return Ok(Step::Continue);
    };
    let ciphertext = match &op.mechanism {
        CipherMechanism::AesGcm { iv, aad } => m.hsm.encrypt_gcm(user, op.key, iv, aad, data),
        CipherMechanism::RsaOaep { label } => m.hsm.encrypt_oaep(&mut OsRng, user, op.key, label, data),
    }
    .map_err(|e| rv_of_cipher(&e))?;
    if ciphertext.len() != needed {
        return Err(CKR_GENERAL_ERROR);
    }
    buffer.copy_from_slice(&ciphertext);
    Ok(Step::Done)
}

/// Decrypts `data` and writes the plaintext with the two-call convention;
/// the output buffer is written only when decryption succeeded.
///
/// # Safety
/// As [`sized_out`].
unsafe fn decrypt_out(
    m: &mut Module,
    user: SessionId,
    op: &CipherOperation,
    data: &[u8],
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CkResult<Step> {
    let bound = op.plaintext_len(data.len())?;
    // SAFETY: forwarded contract of this function.
    let Some(buffer) = (unsafe { sized_out(out, out_len, bound) })? else {
        return Ok(Step::Continue);
    };
    let plaintext = match &op.mechanism {
        CipherMechanism::AesGcm { iv, aad } => m.hsm.decrypt_gcm(user, op.key, iv, aad, data),
        CipherMechanism::RsaOaep { label } => m.hsm.decrypt_oaep(&mut OsRng, user, op.key, label, data),
    }
    .map_err(|e| rv_of_cipher(&e))?;
    let target = buffer.get_mut(..plaintext.len()).ok_or(CKR_GENERAL_ERROR)?;
    target.copy_from_slice(&plaintext);
    // SAFETY: `out_len` was checked non-NULL and valid by `sized_out`'s contract.
    unsafe { write_out(out_len, crate::boundary::ulong_of(plaintext.len())?) }?;
    Ok(Step::Done)
}

/// The one-part call: `C_Encrypt` or `C_Decrypt`.
///
/// # Safety
/// A non-NULL `data` must be readable for `data_len` bytes; `out` and
/// `out_len` as for [`sized_out`].
unsafe fn one_part(
    session: CK_SESSION_HANDLE,
    decrypt: bool,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    with_operation(session, decrypt, |m, user, op| {
        if op.multi_part {
            return Err(CKR_OPERATION_ACTIVE);
        }
        // SAFETY: forwarded contract of this function.
        let data = unsafe { bytes_in(data.cast_const(), data_len) }?;
        if decrypt {
            // SAFETY: as above.
            unsafe { decrypt_out(m, user, op, data, out, out_len) }
        } else {
            // SAFETY: as above.
            unsafe { encrypt_out(m, user, op, data, out, out_len) }
        }
    })
}

/// An update call: gathers `part`; writes 0 to `out_len`. A NULL `out`
/// is a size query: the part is not taken.
///
/// # Safety
/// A non-NULL `part` must be readable for `part_len` bytes; a non-NULL
/// `out_len` valid for a read and a write of a `CK_ULONG`.
unsafe fn update(
    session: CK_SESSION_HANDLE,
    decrypt: bool,
    part: *mut CK_BYTE,
    part_len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    with_operation(session, decrypt, |_, _, op| {
        op.require_multi_part_mechanism()?;
        // SAFETY: forwarded contract of this function.
        let part = unsafe { bytes_in(part.cast_const(), part_len) }?;
        // SAFETY: as above (nothing is written to `out`: 0 bytes).
        let query = unsafe { sized_out(out, out_len, 0) }?.is_none();
        if !query {
            op.append(part, decrypt)?;
        }
        Ok(Step::Continue)
    })
}

/// A final call: the output of every part so far.
///
/// # Safety
/// `out` and `out_len` as for [`sized_out`].
unsafe fn finish(
    session: CK_SESSION_HANDLE,
    decrypt: bool,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    with_operation(session, decrypt, |m, user, op| {
        op.require_multi_part_mechanism()?;
        let data = std::mem::take(&mut op.data);
        let step = if decrypt {
            // SAFETY: forwarded contract of this function.
            unsafe { decrypt_out(m, user, op, &data, out, out_len) }
        } else {
            // SAFETY: as above.
            unsafe { encrypt_out(m, user, op, &data, out, out_len) }
        };
        op.data = data;
        step
    })
}

/// `C_EncryptInit`.
///
/// # Safety
/// A non-NULL `mechanism` must point to a valid `CK_MECHANISM` (with its
/// parameter and the parameter's buffers readable).
pub(crate) unsafe extern "C" fn encrypt_init(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    // SAFETY: forwarded contract of this function.
    unsafe { init(session, mechanism, key, false) }
}

/// `C_Encrypt`: encrypts `data` in one part.
///
/// # Safety
/// A non-NULL `data` must be readable for `data_len` bytes; `out` and
/// `out_len` as for [`sized_out`].
pub(crate) unsafe extern "C" fn encrypt(
    session: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    // SAFETY: forwarded contract of this function.
    unsafe { one_part(session, false, data, data_len, out, out_len) }
}

/// `C_EncryptUpdate`: one more part of the plaintext (GCM); no output.
///
/// # Safety
/// A non-NULL `part` must be readable for `part_len` bytes; `out` and
/// `out_len` as for [`sized_out`].
pub(crate) unsafe extern "C" fn encrypt_update(
    session: CK_SESSION_HANDLE,
    part: *mut CK_BYTE,
    part_len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    // SAFETY: forwarded contract of this function.
    unsafe { update(session, false, part, part_len, out, out_len) }
}

/// `C_EncryptFinal`: the ciphertext of every part so far (GCM).
///
/// # Safety
/// `out` and `out_len` as for [`sized_out`].
pub(crate) unsafe extern "C" fn encrypt_final(
    session: CK_SESSION_HANDLE,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    // SAFETY: forwarded contract of this function.
    unsafe { finish(session, false, out, out_len) }
}

/// `C_DecryptInit`.
///
/// # Safety
/// As [`encrypt_init`].
pub(crate) unsafe extern "C" fn decrypt_init(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    // SAFETY: forwarded contract of this function.
    unsafe { init(session, mechanism, key, true) }
}

/// `C_Decrypt`: decrypts `data` in one part.
///
/// # Safety
/// As [`encrypt`].
pub(crate) unsafe extern "C" fn decrypt(
    session: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    // SAFETY: forwarded contract of this function.
    unsafe { one_part(session, true, data, data_len, out, out_len) }
}

/// `C_DecryptUpdate`: one more part of the ciphertext (GCM); no output.
///
/// # Safety
/// As [`encrypt_update`].
pub(crate) unsafe extern "C" fn decrypt_update(
    session: CK_SESSION_HANDLE,
    part: *mut CK_BYTE,
    part_len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    // SAFETY: forwarded contract of this function.
    unsafe { update(session, true, part, part_len, out, out_len) }
}

/// `C_DecryptFinal`: the plaintext of every part so far (GCM), only once
/// the tag checked.
///
/// # Safety
/// As [`encrypt_final`].
pub(crate) unsafe extern "C" fn decrypt_final(
    session: CK_SESSION_HANDLE,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    // SAFETY: forwarded contract of this function.
    unsafe { finish(session, true, out, out_len) }
}
