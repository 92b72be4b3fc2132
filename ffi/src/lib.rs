//! # coffer-ffi
//!
//! The C ABI of coffer: `libcoffer.so` / `libcoffer.a` and the generated
//! header `include/coffer.h` (cbindgen, config in `cbindgen.toml`).
//!
//! | module | C names |
//! | --- | --- |
//! | [`status`] | `coffer_status`, `coffer_status_message` |
//! | [`boundary`] | `coffer_bytes`, `coffer_bytes_free`; the panic boundary and pointer checks |
//! | [`abi`] | `COFFER_ABI_VERSION`: the number in the SONAME `libcoffer.so.<ABI>` |
//! | [`version`] | `coffer_version`, `coffer_abi_version` |
//! | [`envelope`] | `coffer_envelope_*`: seal, open, rewrap, add/remove recipient |
//! | [`stream`] | `coffer_sealer_*`, `coffer_opener_*`: chunk-at-a-time envelopes |
//! | [`keywrap`] | `coffer_kw_*`, `coffer_kwp_*`: AES-KW and AES-KWP |
//! | [`keypair`] | `coffer_keypair_*`: RSA/P-256 generation, PKCS#8, SPKI, PEM |
//! | [`signature`] | `coffer_keypair_sign`/`_verify`, `coffer_public_key_verify_*`: signatures outside the keystore |
//! | [`cert`] | `coffer_certificate_*`, `coffer_csr_*`: CA, CSR, issue, verify |
//! | [`cert_path`] | `coffer_certificate_issue_intermediate`, `coffer_certificate_verify_path`: intermediate CAs, path validation |
//! | [`crl`] | `coffer_crl_*`: revocation lists issued, read and checked |
//! | [`webhook`] | `coffer_webhook_*`: `t=<ts>,v1=<hex>` webhook signatures with a shared secret |
//! | [`keystore`] | `coffer_keystore_*`: the software HSM over a SQLite or PostgreSQL record store |
//!
//! ## Conventions (STYLE.md rules 14–18)
//! - Every function returns a `coffer_status` (or, for `_free`, nothing)
//!   and runs inside one panic boundary: a Rust panic becomes
//!   `COFFER_ERR_PANIC` and never unwinds into C.
//! - Inputs are borrowed `const uint8_t *ptr, size_t len`; NULL with length 0
//!   is an empty input, NULL with a nonzero length is `COFFER_ERR_NULL_POINTER`.
//! - Outputs are written only on success, into a caller buffer with an
//!   in/out `size_t *len` (too small: `COFFER_ERR_BUFFER_TOO_SMALL` and the
//!   needed size in `*len`), into `coffer_bytes` freed by
//!   `coffer_bytes_free` (which zeroes them), or as an opaque handle freed by
//!   its one `_free` function, which accepts NULL.
//! - There is no RNG parameter: the library uses the operating system's RNG.
//! - Thread safety is stated on each type and function.
//!
//! `unsafe` exists only in this crate of the workspace, each block with a
//! `// SAFETY:` comment (enforced by `clippy::undocumented_unsafe_blocks`).

#![allow(non_camel_case_types, reason = "the C names are the API: coffer_status, coffer_bytes, ...")]
#![allow(
    clippy::not_unsafe_ptr_arg_deref,
    reason = "the exported functions are the C ABI: C sees no `unsafe`; the pointer contract is in the header, \
              NULL is checked at runtime, and every dereference is in an `unsafe` block with its SAFETY note"
)]

/// The ABI version, the number in the SONAME `libcoffer.so.<ABI>`; `build.rs`
/// reads the same file to set the SONAME.
pub mod abi;
pub mod boundary;
pub mod cert;
pub mod cert_path;
pub mod crl;
pub mod envelope;
pub mod keypair;
pub mod keystore;
pub mod keywrap;
pub mod signature;
pub mod status;
pub mod stream;
pub mod version;
pub mod webhook;

pub use boundary::{coffer_bytes, coffer_bytes_free};
pub use status::{coffer_status, coffer_status_message};
