//! The C boundary itself: the one panic-catching wrapper every exported
//! function runs in (STYLE.md rule 16), the checked conversions of C
//! pointers into Rust references, and the two ways outputs leave.
//!
//! Every raw pointer the C caller passes is dereferenced here and nowhere
//! else, so the `unsafe` of the crate is in this file and in the `_free`
//! functions that take back ownership of a handle.

use std::panic::{AssertUnwindSafe, catch_unwind};

use zeroize::Zeroize;

use crate::status::{
    COFFER_ERR_BUFFER_TOO_SMALL, COFFER_ERR_NOT_UTF8, COFFER_ERR_NULL_POINTER, COFFER_ERR_PANIC, COFFER_OK,
    FfiResult, coffer_status,
};

/// Runs the body of an exported function: a returned error becomes its
/// status, and a panic becomes [`COFFER_ERR_PANIC`] instead of unwinding
/// into C.
pub(crate) fn ffi_boundary<F: FnOnce() -> FfiResult<()>>(f: F) -> coffer_status {
    // AssertUnwindSafe: after a panic the closure's captures are dropped or
    // left to the caller as they were; outputs are only written on success,
    // and the one shared mutable object (a keystore) sits behind a mutex
    // whose poisoning is reported as COFFER_ERR_POISONED.
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => COFFER_OK,
        Ok(Err(status)) => status,
        Err(_) => COFFER_ERR_PANIC,
    }
}

/// [`ffi_boundary`] for the few functions that return a value instead of a
/// status (`coffer_version`, `coffer_status_message`): a panic gives `fallback`.
pub(crate) fn ffi_boundary_value<T, F: FnOnce() -> T>(fallback: T, f: F) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// [`ffi_boundary`] for the `_free` functions, which return nothing: a
/// panic is swallowed (there is no way to report it), never unwound.
pub(crate) fn ffi_boundary_void<F: FnOnce()>(f: F) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// Bytes allocated by coffer and owned by the caller until
/// `coffer_bytes_free`.
///
/// `data` is NULL exactly when `len` is 0. Pass the struct back to
/// `coffer_bytes_free` (which zeroes the bytes before freeing them, so
/// secrets such as a decrypted plaintext or a private key do not linger);
/// never `free()` `data` yourself.
///
/// Thread safety: plain data; the caller owns it.
#[repr(C)]
#[derive(Debug)]
pub struct coffer_bytes {
    /// The bytes, or NULL when `len` is 0.
    pub data: *mut u8,
    /// Number of bytes at `data`.
    pub len: usize,
}

/// Zeroes and frees bytes returned by coffer, then sets `bytes->data` to
/// NULL and `bytes->len` to 0. NULL, and a struct whose `data` is NULL, are
/// accepted and do nothing. Freeing the same bytes twice is safe only
/// through the same struct (it is reset by the first call).
///
/// Thread safety: frees caller-owned data; do not free the same struct
/// from two threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_bytes_free(bytes: *mut coffer_bytes) {
    ffi_boundary_void(|| {
        // SAFETY: the caller passes NULL or a pointer to a coffer_bytes it
        // owns (header contract); `as_mut` handles NULL.
        let Some(b) = (unsafe { bytes.as_mut() }) else { return };
        if b.data.is_null() {
            b.len = 0;
            return;
        }
        let raw = std::ptr::slice_from_raw_parts_mut(b.data, b.len);
        // SAFETY: a non-NULL `data` was produced by `bytes_out` from
        // `Box<[u8]>::into_raw` with exactly this length, and the caller has
        // not freed it before (a first free resets `data` to NULL).
        let mut owned: Box<[u8]> = unsafe { Box::from_raw(raw) };
        owned.zeroize();
        drop(owned);
        b.data = std::ptr::null_mut();
        b.len = 0;
    });
}

/// A borrowed input buffer: NULL with length 0 is the empty slice; NULL
/// with a nonzero length is [`COFFER_ERR_NULL_POINTER`].
///
/// # Safety
/// A non-NULL `ptr` must be valid for reads of `len` bytes for `'a` and not
/// written during that time (the header's contract for every input buffer).
pub(crate) unsafe fn slice_in<'a>(ptr: *const u8, len: usize) -> FfiResult<&'a [u8]> {
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(COFFER_ERR_NULL_POINTER) };
    }
    if isize::try_from(len).is_err() {
        return Err(crate::status::COFFER_ERR_INVALID_LENGTH);
    }
    // SAFETY: non-NULL, the length fits isize, and the caller guarantees
    // `len` readable bytes at `ptr` for `'a`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A borrowed array of `T` (structs describing recipients, context pairs,
/// SANs): the same NULL rules as [`slice_in`].
///
/// # Safety
/// A non-NULL `ptr` must point to `len` initialized, properly aligned `T`s
/// valid for `'a`.
pub(crate) unsafe fn array_in<'a, T>(ptr: *const T, len: usize) -> FfiResult<&'a [T]> {
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(COFFER_ERR_NULL_POINTER) };
    }
    if len.checked_mul(size_of::<T>()).and_then(|n| isize::try_from(n).ok()).is_none() {
        return Err(crate::status::COFFER_ERR_INVALID_LENGTH);
    }
    // SAFETY: non-NULL, the total size fits isize, and the caller
    // guarantees `len` valid elements at `ptr` for `'a`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A borrowed UTF-8 string given as pointer and length (no NUL needed).
///
/// # Safety
/// As [`slice_in`].
pub(crate) unsafe fn str_in<'a>(ptr: *const u8, len: usize) -> FfiResult<&'a str> {
    // SAFETY: forwarded contract of this function.
    let bytes = unsafe { slice_in(ptr, len) }?;
    std::str::from_utf8(bytes).map_err(|_| COFFER_ERR_NOT_UTF8)
}

/// A required borrowed object (a handle or a struct).
///
/// # Safety
/// A non-NULL `ptr` must point to a valid `T` for `'a` that nobody mutates
/// during that time.
pub(crate) unsafe fn ref_in<'a, T>(ptr: *const T) -> FfiResult<&'a T> {
    // SAFETY: `as_ref` handles NULL; otherwise the caller's contract.
    unsafe { ptr.as_ref() }.ok_or(COFFER_ERR_NULL_POINTER)
}

/// A required exclusively borrowed object (a handle the call mutates, or an
/// output slot).
///
/// # Safety
/// A non-NULL `ptr` must point to a valid `T` for `'a` that nothing else
/// accesses during that time.
pub(crate) unsafe fn mut_in<'a, T>(ptr: *mut T) -> FfiResult<&'a mut T> {
    // SAFETY: `as_mut` handles NULL; otherwise the caller's contract.
    unsafe { ptr.as_mut() }.ok_or(COFFER_ERR_NULL_POINTER)
}

/// Checks an output slot is present, so a call fails before doing any work
/// when its output pointer is NULL.
pub(crate) fn require<T>(ptr: *mut T) -> FfiResult<()> {
    if ptr.is_null() { Err(COFFER_ERR_NULL_POINTER) } else { Ok(()) }
}

/// Writes `value` to the output slot `out` (already checked non-NULL by
/// [`require`] or checked here).
///
/// # Safety
/// A non-NULL `out` must be valid for a write of `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) -> FfiResult<()> {
    require(out)?;
    // SAFETY: non-NULL and valid for writes by the caller's contract; `write`
    // does not drop the (possibly uninitialized) old value.
    unsafe { out.write(value) };
    Ok(())
}

/// Hands a copy of `data` to the caller as library-allocated
/// [`coffer_bytes`]. The copy is allocated at its exact size, so the only
/// copy left is the caller's, which `coffer_bytes_free` zeroes; callers
/// holding secrets keep their own copy in a zeroizing type.
///
/// # Safety
/// As [`write_out`].
pub(crate) unsafe fn bytes_out(out: *mut coffer_bytes, data: &[u8]) -> FfiResult<()> {
    require(out)?;
    let value = if data.is_empty() {
        coffer_bytes { data: std::ptr::null_mut(), len: 0 }
    } else {
        let boxed: Box<[u8]> = Box::from(data);
        let len = boxed.len();
        coffer_bytes { data: Box::into_raw(boxed).cast::<u8>(), len }
    };
    // SAFETY: forwarded contract of this function.
    unsafe { write_out(out, value) }
}

/// Copies `data` into the caller's buffer `out` of `*out_len` bytes and sets
/// `*out_len` to `data.len()`. If the buffer is too small nothing is copied,
/// `*out_len` is set to the size needed and the result is
/// [`COFFER_ERR_BUFFER_TOO_SMALL`] (the one output written on failure, as
/// the header documents). `out` may be NULL only when `*out_len` is 0.
///
/// # Safety
/// A non-NULL `out_len` must be valid for reads and writes of `usize`; a
/// non-NULL `out` must be valid for writes of `*out_len` bytes.
pub(crate) unsafe fn buffer_out(out: *mut u8, out_len: *mut usize, data: &[u8]) -> FfiResult<()> {
    // SAFETY: forwarded contract of this function.
    let cap = unsafe { mut_in(out_len) }?;
    if *cap < data.len() {
        *cap = data.len();
        return Err(COFFER_ERR_BUFFER_TOO_SMALL);
    }
    if out.is_null() {
        if *cap != 0 {
            return Err(COFFER_ERR_NULL_POINTER);
        }
    } else if !data.is_empty() {
        // SAFETY: `out` is valid for `*cap >= data.len()` bytes by the
        // caller's contract, and a caller buffer cannot overlap coffer's
        // own `data`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), out, data.len()) };
    }
    *cap = data.len();
    Ok(())
}

/// Checks an in/out length argument and returns the capacity it gives, so
/// a call can fail with [`COFFER_ERR_NULL_POINTER`] before doing any work.
///
/// # Safety
/// As [`buffer_out`].
pub(crate) unsafe fn capacity_of(out: *mut u8, out_len: *mut usize) -> FfiResult<usize> {
    // SAFETY: forwarded contract of this function.
    let cap = *unsafe { ref_in(out_len.cast_const()) }?;
    if out.is_null() && cap != 0 {
        return Err(COFFER_ERR_NULL_POINTER);
    }
    Ok(cap)
}

/// Moves `value` to the heap and hands the pointer to the caller through
/// `out`; the matching `_free` takes it back.
///
/// # Safety
/// As [`write_out`].
pub(crate) unsafe fn handle_out<T>(out: *mut *mut T, value: T) -> FfiResult<()> {
    require(out)?;
    let raw = Box::into_raw(Box::new(value));
    // SAFETY: forwarded contract of this function.
    unsafe { write_out(out, raw) }
}

/// Takes back and drops a handle made by [`handle_out`]; NULL does nothing.
///
/// # Safety
/// `ptr` must be NULL or a pointer from [`handle_out`] for the same `T`
/// that has not been freed, and no other thread may be using it.
pub(crate) unsafe fn handle_free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: the caller's contract: `ptr` came from `Box::into_raw` of
        // a `Box<T>` and is freed once.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::panic, reason = "the test proves a panic is caught")]
    fn a_panic_becomes_coffer_err_panic() {
        let status = ffi_boundary(|| panic!("boom"));
        assert_eq!(status, COFFER_ERR_PANIC);
    }

    #[test]
    fn null_with_zero_length_is_the_empty_slice() {
        // SAFETY: NULL is allowed by `slice_in`.
        let s = unsafe { slice_in(std::ptr::null(), 0) };
        assert_eq!(s, Ok(&[][..]));
        // SAFETY: as above.
        let s = unsafe { slice_in(std::ptr::null(), 1) };
        assert_eq!(s, Err(COFFER_ERR_NULL_POINTER));
    }
}
