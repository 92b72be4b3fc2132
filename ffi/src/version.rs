//! The library version, for C callers to check what they linked.

use std::ffi::{CStr, c_char};

use crate::boundary::ffi_boundary_value;

/// The crate version as a NUL-terminated string.
const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(v) => v,
    Err(_) => c"unknown",
};

/// The library version, for example "0.1.0": a static NUL-terminated
/// string, never NULL; do not free it.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_version() -> *const c_char {
    ffi_boundary_value(c"unknown".as_ptr(), || VERSION.as_ptr())
}

/// The crypto provider the library was built with: "RustCrypto" (the
/// default) or "aws-lc" (built with `--features aws-lc`; see README,
/// "Providers"). Formats are the same under both; ECDSA signatures are
/// deterministic (RFC 6979) only under "RustCrypto". A static
/// NUL-terminated string, never NULL; do not free it.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_provider() -> *const c_char {
    ffi_boundary_value(c"unknown".as_ptr(), || match coffer_core::provider::ACTIVE {
        coffer_core::provider::Provider::AwsLc => c"aws-lc".as_ptr(),
        _ => c"RustCrypto".as_ptr(),
    })
}

/// The ABI version of the library loaded, `COFFER_ABI_VERSION` as it was
/// when the library was built: the number in its SONAME
/// (`libcoffer.so.<COFFER_ABI_VERSION>`). A program can check
/// `coffer_abi_version() == COFFER_ABI_VERSION` at start-up to catch a
/// library of another ABI than its header's.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_abi_version() -> u32 {
    // Nothing here can panic; the boundary is kept so that every exported
    // function runs inside one (STYLE.md rule 16).
    ffi_boundary_value(crate::abi::COFFER_ABI_VERSION, || crate::abi::COFFER_ABI_VERSION)
}
