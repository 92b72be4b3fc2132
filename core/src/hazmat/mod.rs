//! Primitives that are easy to misuse, fenced off from the top-level API
//! (STYLE.md rule 5): each is correct only when its caller keeps a rule
//! the type system cannot check. Prefer [`crate::envelope`] or
//! [`crate::aead`], which keep those rules themselves.
//!
//! | module | what | the caller's rule |
//! | --- | --- | --- |
//! | [`gcm`] | AES-256-GCM (NIST SP 800-38D) with a caller-chosen nonce | never the same nonce twice under one key |
//!
//! This module needs the `alloc` feature.

pub mod gcm;
