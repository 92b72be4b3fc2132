//! Random number generation (PKCS#11 v2.40 §5.15).

use coffer_core::rng::{OsRng, TryCryptoRng};
use cryptoki_sys::{
    CK_BYTE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_ARGUMENTS_BAD, CKR_FUNCTION_FAILED,
    CKR_RANDOM_SEED_NOT_SUPPORTED,
};

use crate::boundary::{boundary, len_of};
use crate::module::with_session;

fn fill<R: TryCryptoRng + ?Sized>(rng: &mut R, out: &mut [u8]) -> Result<(), CK_RV> {
    rng.try_fill_bytes(out).map_err(|_| CKR_FUNCTION_FAILED)
}

/// `C_SeedRandom`: `CKR_RANDOM_SEED_NOT_SUPPORTED`; the generator is the
/// operating system's and takes no seed from applications.
pub(crate) extern "C" fn seed_random(
    session: CK_SESSION_HANDLE,
    _seed: *mut CK_BYTE,
    _len: CK_ULONG,
) -> CK_RV {
    boundary(|| {
        with_session(session, |_| Ok(()))?;
        Err(CKR_RANDOM_SEED_NOT_SUPPORTED)
    })
}

/// `C_GenerateRandom`: `len` bytes from the operating system's generator
/// (the one coffer's keys are made with). No login is needed.
///
/// # Safety
/// A non-NULL `out` must be valid for writes of `len` bytes.
pub(crate) unsafe extern "C" fn generate_random(
    session: CK_SESSION_HANDLE,
    out: *mut CK_BYTE,
    len: CK_ULONG,
) -> CK_RV {
    boundary(|| {
        with_session(session, |_| Ok(()))?;
        let len = len_of(len)?;
        if len == 0 {
            return Ok(());
        }
        if out.is_null() || isize::try_from(len).is_err() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        // SAFETY: non-NULL, the length fits isize, and the caller
        // guarantees `len` writable bytes at `out` during the call.
        let buffer = unsafe { std::slice::from_raw_parts_mut(out, len) };
        fill(&mut OsRng, buffer)
    })
}
