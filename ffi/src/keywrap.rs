//! AES key wrapping for C: AES-KW (RFC 3394) and AES-KWP (RFC 5649), into
//! caller buffers.

use coffer_core::keywrap::Kek;
use zeroize::Zeroizing;

use crate::boundary::{buffer_out, capacity_of, ffi_boundary, slice_in};
use crate::status::{FfiResult, coffer_status};

/// Which operation of [`wrap_call`].
#[derive(Clone, Copy)]
enum Op {
    Wrap,
    Unwrap,
    WrapPadded,
    UnwrapPadded,
}

/// The shared body of the four key-wrap functions.
///
/// # Safety
/// The header's contract for the input buffers and the in/out buffer.
unsafe fn wrap_call(
    op: Op,
    kek: *const u8,
    kek_len: usize,
    input: *const u8,
    input_len: usize,
    out: *mut u8,
    out_len: *mut usize,
) -> FfiResult<()> {
    // SAFETY: forwarded contract of this function.
    unsafe { capacity_of(out, out_len) }?;
    // SAFETY: as above.
    let kek = Kek::from_slice(unsafe { slice_in(kek, kek_len) }?)?;
    // SAFETY: as above.
    let input = unsafe { slice_in(input, input_len) }?;
    let result: Zeroizing<Vec<u8>> = match op {
        Op::Wrap => Zeroizing::new(kek.wrap_to_vec(input)?),
        Op::Unwrap => kek.unwrap_to_vec(input)?,
        Op::WrapPadded => Zeroizing::new(kek.wrap_padded_to_vec(input)?),
        Op::UnwrapPadded => kek.unwrap_padded_to_vec(input)?,
    };
    // SAFETY: forwarded contract of this function.
    unsafe { buffer_out(out, out_len, &result) }
}

/// AES-KW (RFC 3394): wraps `key_data` (16..=65536 bytes, a multiple of 8)
/// under `kek` (16, 24 or 32 bytes) into `out`, which needs
/// `key_data_len + 8` bytes. On success `*out_len` is the wrapped length.
///
/// Errors: `COFFER_ERR_INVALID_KEY` for a KEK of another length;
/// `COFFER_ERR_INVALID_LENGTH` for key data of a bad length;
/// `COFFER_ERR_BUFFER_TOO_SMALL` with the needed size in `*out_len`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_kw_wrap(
    kek: *const u8,
    kek_len: usize,
    key_data: *const u8,
    key_data_len: usize,
    out: *mut u8,
    out_len: *mut usize,
) -> coffer_status {
    // SAFETY: the header's contract for buffers, forwarded.
    ffi_boundary(|| unsafe { wrap_call(Op::Wrap, kek, kek_len, key_data, key_data_len, out, out_len) })
}

/// AES-KW (RFC 3394) unwrap of `wrapped` under `kek` into `out`, which needs
/// `wrapped_len - 8` bytes. On success `*out_len` is the key data length.
///
/// Errors: `COFFER_ERR_DECRYPT` for any integrity failure or impossible
/// length; `COFFER_ERR_INVALID_KEY`; `COFFER_ERR_BUFFER_TOO_SMALL`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_kw_unwrap(
    kek: *const u8,
    kek_len: usize,
    wrapped: *const u8,
    wrapped_len: usize,
    out: *mut u8,
    out_len: *mut usize,
) -> coffer_status {
    // SAFETY: the header's contract for buffers, forwarded.
    ffi_boundary(|| unsafe { wrap_call(Op::Unwrap, kek, kek_len, wrapped, wrapped_len, out, out_len) })
}

/// AES-KWP (RFC 5649): wraps `key_data` of any length 1..=65536 under `kek`
/// into `out`, which needs the length rounded up to a multiple of 8, plus 8.
///
/// Errors: as `coffer_kw_wrap`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_kwp_wrap(
    kek: *const u8,
    kek_len: usize,
    key_data: *const u8,
    key_data_len: usize,
    out: *mut u8,
    out_len: *mut usize,
) -> coffer_status {
    // SAFETY: the header's contract for buffers, forwarded.
    ffi_boundary(|| unsafe { wrap_call(Op::WrapPadded, kek, kek_len, key_data, key_data_len, out, out_len) })
}

/// AES-KWP (RFC 5649) unwrap of `wrapped` under `kek` into `out`. On
/// success `*out_len` is the key data length; if the buffer is too small,
/// `*out_len` is set to the unpadded key length.
///
/// Errors: as `coffer_kw_unwrap`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_kwp_unwrap(
    kek: *const u8,
    kek_len: usize,
    wrapped: *const u8,
    wrapped_len: usize,
    out: *mut u8,
    out_len: *mut usize,
) -> coffer_status {
    // SAFETY: the header's contract for buffers, forwarded.
    ffi_boundary(|| unsafe { wrap_call(Op::UnwrapPadded, kek, kek_len, wrapped, wrapped_len, out, out_len) })
}
