//! `coffer-tests`: end-to-end tests of the whole workspace.
//!
//! - `tests/scenarios.rs` plays the five seed scenarios of issue 8 (agent
//!   certificate pairs, per-tenant encryption at rest with crypto-shred,
//!   tenant isolation, signed webhooks with expiring keys, credentials and
//!   attachments with role-based access) through the public APIs of
//!   `coffer-core` and `coffer-hsm`.
//! - `tests/agent_pki.rs` runs the agent PKI of issue 15 end to end: a
//!   keystore-held root and intermediate, 100 agents certified from their
//!   requests, one revoked, mutual TLS through rustls refusing it, and the
//!   audit log listing every issuance and the revocation.
//! - `tests/c_consumers.rs` builds coffer's C and C++ consumers with the
//!   system compiler against `libcoffer` and runs them.
