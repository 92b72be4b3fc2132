//! Message digesting (PKCS#11 v2.40 §5.10) with `CKM_SHA256`.
//!
//! Each session holds at most one digest operation. As the standard says,
//! a call that fails ends the operation, except `CKR_BUFFER_TOO_SMALL` and
//! a length query (a NULL output buffer), which leave it as it was; and
//! `C_Digest` on an operation already fed by `C_DigestUpdate` is refused
//! with `CKR_OPERATION_ACTIVE`, leaving that multi-part operation for
//! `C_DigestFinal`.

use coffer_core::hash::{SHA256_LEN, Sha256};
use cryptoki_sys::{
    CK_BYTE, CK_MECHANISM, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKM_SHA256, CKR_MECHANISM_INVALID,
    CKR_MECHANISM_PARAM_INVALID, CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED,
};

use crate::boundary::{CkResult, boundary, bytes_in, ref_in, sized_out};
use crate::module::{DigestOperation, Session, Step, with_session};

/// `C_DigestInit`: `CKM_SHA256` without parameters.
///
/// # Safety
/// A non-NULL `mechanism` must point to a valid `CK_MECHANISM`.
pub(crate) unsafe extern "C" fn digest_init(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
) -> CK_RV {
    boundary(|| {
        with_session(session, |s| {
            if s.digest.is_some() {
                return Err(CKR_OPERATION_ACTIVE);
            }
            // SAFETY: forwarded contract of this function.
            let mechanism = unsafe { ref_in(mechanism.cast_const()) }?;
            if mechanism.mechanism != CKM_SHA256 {
                return Err(CKR_MECHANISM_INVALID);
            }
            if !mechanism.pParameter.is_null() || mechanism.ulParameterLen != 0 {
                return Err(CKR_MECHANISM_PARAM_INVALID);
            }
            s.digest = Some(DigestOperation { hasher: Sha256::new(), multi_part: false });
            Ok(())
        })
    })
}

/// Runs `f` on the session's digest operation; ends the operation when
/// `f` fails, unless with `CKR_BUFFER_TOO_SMALL`.
fn with_operation(
    session: CK_SESSION_HANDLE,
    f: impl FnOnce(&mut DigestOperation) -> CkResult<Step>,
) -> CK_RV {
    boundary(|| {
        with_session(session, |s: &mut Session| {
            let op = s.digest.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            match f(op) {
                Ok(Step::Continue) => Ok(()),
                Ok(Step::Done) => {
                    s.digest = None;
                    Ok(())
                }
                Err(rv) if rv == cryptoki_sys::CKR_BUFFER_TOO_SMALL || rv == CKR_OPERATION_ACTIVE => Err(rv),
                Err(rv) => {
                    s.digest = None;
                    Err(rv)
                }
            }
        })
    })
}

/// Writes `hasher`'s digest to the caller's buffer with the two-call
/// convention: a NULL `out` only reports the length.
///
/// # Safety
/// As [`sized_out`].
unsafe fn digest_out(
    hasher: &Sha256,
    data: &[u8],
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CkResult<Step> {
    // SAFETY: forwarded contract of this function.
    let Some(buffer) = (unsafe { sized_out(out, out_len, SHA256_LEN) })? else {
        return Ok(Step::Continue);
    };
    let mut h = hasher.clone();
    h.update(data);
    buffer.copy_from_slice(&h.finalize());
    Ok(Step::Done)
}

/// `C_Digest`: digests `data` in one part and ends the operation.
///
/// # Safety
/// A non-NULL `data` must be valid for reads of `data_len` bytes;
/// `out_len` and `out` as for [`sized_out`].
pub(crate) unsafe extern "C" fn digest(
    session: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    with_operation(session, |op| {
        if op.multi_part {
            return Err(CKR_OPERATION_ACTIVE);
        }
        // SAFETY: forwarded contract of this function.
        let data = unsafe { bytes_in(data.cast_const(), data_len) }?;
        // SAFETY: as above.
        unsafe { digest_out(&op.hasher, data, out, out_len) }
    })
}

/// `C_DigestUpdate`: feeds one more part.
///
/// # Safety
/// A non-NULL `part` must be valid for reads of `part_len` bytes.
pub(crate) unsafe extern "C" fn digest_update(
    session: CK_SESSION_HANDLE,
    part: *mut CK_BYTE,
    part_len: CK_ULONG,
) -> CK_RV {
    with_operation(session, |op| {
        // SAFETY: forwarded contract of this function.
        let part = unsafe { bytes_in(part.cast_const(), part_len) }?;
        op.hasher.update(part);
        op.multi_part = true;
        Ok(Step::Continue)
    })
}

/// `C_DigestFinal`: the digest of every part so far; ends the operation.
///
/// # Safety
/// `out_len` and `out` as for [`sized_out`].
pub(crate) unsafe extern "C" fn digest_final(
    session: CK_SESSION_HANDLE,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    with_operation(session, |op| {
        // SAFETY: forwarded contract of this function.
        unsafe { digest_out(&op.hasher, &[], out, out_len) }
    })
}
