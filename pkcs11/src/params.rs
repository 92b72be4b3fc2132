//! Mechanism parameters (PKCS#11 v2.40 §5.7 `CK_MECHANISM`): reading a
//! parameter structure of the right size, and the RSA-OAEP parameters
//! that `C_Encrypt*`/`C_Decrypt*` and `C_WrapKey`/`C_UnwrapKey` share.

use cryptoki_sys::{
    CK_MECHANISM, CK_RSA_PKCS_OAEP_PARAMS, CK_ULONG, CKG_MGF1_SHA256, CKM_SHA256,
    CKR_MECHANISM_PARAM_INVALID, CKZ_DATA_SPECIFIED,
};

use crate::boundary::{CkResult, bytes_in, len_of, ref_in};

/// Reads `len` bytes at `ptr` as a parameter field; NULL with 0 is empty.
///
/// # Safety
/// A non-NULL `ptr` must be readable for `len` bytes.
pub(crate) unsafe fn param_bytes(ptr: *const u8, len: CK_ULONG) -> CkResult<Vec<u8>> {
    // SAFETY: forwarded contract of this function.
    unsafe { bytes_in(ptr, len) }.map(<[u8]>::to_vec).map_err(|_| CKR_MECHANISM_PARAM_INVALID)
}

/// A mechanism parameter of type `T`: `CKR_MECHANISM_PARAM_INVALID` unless
/// it is non-NULL and exactly `size_of::<T>()` long.
///
/// # Safety
/// The mechanism's non-NULL parameter must be readable for its length.
pub(crate) unsafe fn param_of<T>(mechanism: &CK_MECHANISM) -> CkResult<&T> {
    if len_of(mechanism.ulParameterLen)? != size_of::<T>() {
        return Err(CKR_MECHANISM_PARAM_INVALID);
    }
    // SAFETY: a `T` of the right size by the caller's contract (NULL is refused).
    unsafe { ref_in(mechanism.pParameter.cast::<T>().cast_const()) }.map_err(|_| CKR_MECHANISM_PARAM_INVALID)
}

/// The label of a `CKM_RSA_PKCS_OAEP` mechanism: its `CK_RSA_PKCS_OAEP_PARAMS`
/// must name `CKM_SHA256` and `CKG_MGF1_SHA256` (coffer's only OAEP), and
/// either no source (0, no data) or `CKZ_DATA_SPECIFIED` with a label of at
/// most `coffer_core::rsa::MAX_LABEL_LEN` bytes (possibly empty); anything
/// else is `CKR_MECHANISM_PARAM_INVALID`.
///
/// # Safety
/// The mechanism's non-NULL parameter must be readable for its length, and
/// its non-NULL `pSourceData` for `ulSourceDataLen` bytes.
pub(crate) unsafe fn oaep_label(mechanism: &CK_MECHANISM) -> CkResult<Vec<u8>> {
    // SAFETY: forwarded contract of this function.
    let params = unsafe { param_of::<CK_RSA_PKCS_OAEP_PARAMS>(mechanism) }?;
    if params.hashAlg != CKM_SHA256 || params.mgf != CKG_MGF1_SHA256 {
        return Err(CKR_MECHANISM_PARAM_INVALID);
    }
    match params.source {
        0 if params.ulSourceDataLen == 0 => Ok(Vec::new()),
        CKZ_DATA_SPECIFIED => {
            if len_of(params.ulSourceDataLen)? > coffer_core::rsa::MAX_LABEL_LEN {
                return Err(CKR_MECHANISM_PARAM_INVALID);
            }
            // SAFETY: the label is readable for ulSourceDataLen bytes by the
            // caller's contract.
            unsafe { param_bytes(params.pSourceData.cast::<u8>().cast_const(), params.ulSourceDataLen) }
        }
        _ => Err(CKR_MECHANISM_PARAM_INVALID),
    }
}
