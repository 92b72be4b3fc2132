//! The C boundary: the one panic-catching wrapper every entry point runs in,
//! and the checked ways a C pointer becomes a Rust value or receives one.
//!
//! Every raw pointer the application passes is read or written through a
//! helper in this file, so the module's `unsafe` is here and in the few
//! entry points that forward their callers' pointers to it.

use std::panic::{AssertUnwindSafe, catch_unwind};

use cryptoki_sys::{CK_RV, CK_ULONG, CKR_ARGUMENTS_BAD, CKR_BUFFER_TOO_SMALL, CKR_GENERAL_ERROR, CKR_OK};

/// What an entry point's body returns: `Err` carries its `CKR_` code.
pub(crate) type CkResult<T> = Result<T, CK_RV>;

/// Runs the body of an entry point: `Ok` is `CKR_OK`, an error is its
/// code, and a panic becomes `CKR_GENERAL_ERROR` instead of unwinding into C.
pub(crate) fn boundary<F: FnOnce() -> CkResult<()>>(f: F) -> CK_RV {
    // AssertUnwindSafe: after a panic nothing the closure captured is used
    // again, and the module's shared state sits behind a mutex whose
    // poisoning is reported as CKR_GENERAL_ERROR by every later call.
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => CKR_OK,
        Ok(Err(rv)) => rv,
        Err(_) => CKR_GENERAL_ERROR,
    }
}

/// A `CK_ULONG` length as a `usize` (always possible on the targets
/// cryptoki-sys supports; checked anyway).
pub(crate) fn len_of(len: CK_ULONG) -> CkResult<usize> {
    usize::try_from(len).map_err(|_| CKR_ARGUMENTS_BAD)
}

/// A `usize` length as a `CK_ULONG`.
pub(crate) fn ulong_of(len: usize) -> CkResult<CK_ULONG> {
    CK_ULONG::try_from(len).map_err(|_| CKR_GENERAL_ERROR)
}

/// A borrowed input buffer: NULL with length 0 is the empty slice; NULL
/// with a nonzero length is `CKR_ARGUMENTS_BAD`.
///
/// # Safety
/// A non-NULL `ptr` must be valid for reads of `len` bytes for `'a` and not
/// written during that time (the standard's contract for input buffers).
pub(crate) unsafe fn bytes_in<'a>(ptr: *const u8, len: CK_ULONG) -> CkResult<&'a [u8]> {
    let len = len_of(len)?;
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(CKR_ARGUMENTS_BAD) };
    }
    if isize::try_from(len).is_err() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: non-NULL, the length fits isize, and the caller guarantees
    // `len` readable bytes at `ptr` for `'a`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A borrowed input struct; NULL is `CKR_ARGUMENTS_BAD`.
///
/// # Safety
/// A non-NULL `ptr` must point to a valid, aligned `T` for `'a` that
/// nobody mutates during that time.
pub(crate) unsafe fn ref_in<'a, T>(ptr: *const T) -> CkResult<&'a T> {
    // SAFETY: `as_ref` handles NULL; otherwise the caller's contract.
    unsafe { ptr.as_ref() }.ok_or(CKR_ARGUMENTS_BAD)
}

/// Writes `value` to the output slot `out`; NULL is `CKR_ARGUMENTS_BAD`
/// and writes nothing.
///
/// # Safety
/// A non-NULL `out` must be valid and aligned for a write of `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) -> CkResult<()> {
    if out.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: non-NULL and valid for writes by the caller's contract;
    // `write` does not drop the (possibly uninitialized) old value.
    unsafe { out.write(value) };
    Ok(())
}

/// The output side of the standard's two-call convention (PKCS#11 v2.40
/// §5.2) for a result of `needed` elements: `count` (the in/out length)
/// must not be NULL; with `out` NULL the call only reports `needed` in
/// `*count` and the result is `Ok(None)`; with a buffer smaller than
/// `needed`, `*count` is set to `needed` and the result is
/// `CKR_BUFFER_TOO_SMALL`; otherwise `*count` is set to `needed` and the
/// caller's buffer is returned to be filled.
///
/// # Safety
/// A non-NULL `count` must be valid for reads and writes of a `CK_ULONG`;
/// a non-NULL `out` must be valid for writes of `*count` elements of `T`
/// for `'a`, not overlapping anything else in use.
pub(crate) unsafe fn sized_out<'a, T>(
    out: *mut T,
    count: *mut CK_ULONG,
    needed: usize,
) -> CkResult<Option<&'a mut [T]>> {
    if count.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: non-NULL, and readable by the caller's contract.
    let capacity = len_of(unsafe { count.read() })?;
    let needed_ulong = ulong_of(needed)?;
    // SAFETY: non-NULL, and writable by the caller's contract.
    unsafe { count.write(needed_ulong) };
    if out.is_null() {
        return Ok(None);
    }
    if capacity < needed {
        return Err(CKR_BUFFER_TOO_SMALL);
    }
    // SAFETY: `out` is valid for `capacity >= needed` elements by the
    // caller's contract, and the application does not touch the buffer
    // while the call runs.
    Ok(Some(unsafe { std::slice::from_raw_parts_mut(out, needed) }))
}

/// A borrowed array of `count` elements (a template, a list of handles):
/// NULL with count 0 is empty; NULL with a nonzero count is
/// `CKR_ARGUMENTS_BAD`.
///
/// # Safety
/// A non-NULL `ptr` must be valid for reads and writes of `count`
/// elements for `'a`, not used by anything else meanwhile.
pub(crate) unsafe fn array_mut<'a, T>(ptr: *mut T, count: CK_ULONG) -> CkResult<&'a mut [T]> {
    let count = len_of(count)?;
    if ptr.is_null() {
        return if count == 0 { Ok(&mut []) } else { Err(CKR_ARGUMENTS_BAD) };
    }
    if count.checked_mul(size_of::<T>()).is_none_or(|size| isize::try_from(size).is_err()) {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: non-NULL, the size fits isize, and the caller guarantees
    // `count` valid elements at `ptr` for `'a`.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, count) })
}

/// Fills a fixed-size text field of a PKCS#11 info struct: `text` cut to
/// at most `N` bytes at a character boundary and padded with spaces (the
/// standard's blank padding; no NUL terminator).
pub(crate) fn padded<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [b' '; N];
    let mut end = text.len().min(N);
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    for (slot, byte) in out.iter_mut().zip(text.as_bytes().iter().take(end)) {
        *slot = *byte;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::panic, reason = "the test proves a panic is caught")]
    fn a_panic_becomes_ckr_general_error() {
        assert_eq!(boundary(|| panic!("boom")), CKR_GENERAL_ERROR);
    }

    #[test]
    fn text_fields_are_space_padded_and_cut_at_a_character_boundary() {
        assert_eq!(&padded::<8>("coffer"), b"coffer  ");
        assert_eq!(&padded::<4>("cafés"), b"caf ");
        assert_eq!(&padded::<5>("cafés"), "café".as_bytes());
    }

    #[test]
    fn null_input_is_empty_only_with_length_zero() {
        // SAFETY: NULL is allowed by `bytes_in`.
        assert_eq!(unsafe { bytes_in(std::ptr::null(), 0) }, Ok(&[][..]));
        // SAFETY: as above.
        assert_eq!(unsafe { bytes_in(std::ptr::null(), 1) }, Err(CKR_ARGUMENTS_BAD));
    }
}
