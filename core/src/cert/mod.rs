//! Certificate pairs (feature `alloc`; RSA under `rsa`): key pairs,
//! PKCS#8 (plain and encrypted) and SPKI, a self-signed CA, PKCS#10 CSRs,
//! leaf certificates and chain verification, built on x509-cert.
//!
//! ```
//! use coffer_core::cert::{self, CaParams, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, San, Validity};
//! # use coffer_core::rng::OsRng;
//! let ca_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
//! let validity = Validity::days_from_now(365)?;
//! let ca = cert::self_signed_ca(&mut OsRng, &ca_key, &CaParams { subject: "CN=Acme CA", validity, path_len: Some(0) })?;
//!
//! let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
//! let req = cert::csr(&mut OsRng, &agent, "CN=agent-7,O=Acme", &[San::Dns("agent-7.acme.test".into())])?;
//! let params = LeafParams { validity, usage: LeafUsage::ServerAndClient, sans: &[], key_usage: None };
//! let leaf = cert::issue_from_csr(&mut OsRng, &ca, &ca_key, ca_key.default_scheme(), &req, &params)?;
//!
//! let key = cert::verify_chain_now(&leaf, &ca)?;
//! assert_eq!(key, agent.public_key());
//! let pair = cert::CertificatePair::new(agent, leaf)?;
//! # let _ = pair;
//! # Ok::<(), coffer_core::Error>(())
//! ```

mod build;
mod certificate;
mod crl;
mod keypair;
mod path;
mod signer;
mod verify;

pub use build::{
    CaParams, IntermediateParams, LeafKeyUsage, LeafParams, LeafUsage, MAX_SANS, MAX_SUBJECT_LEN, San,
    Validity, csr, csr_with, issue_from_csr, issue_from_csr_with, issue_intermediate,
    issue_intermediate_with, issue_leaf, issue_leaf_with, renew, renew_with, self_signed_ca,
    self_signed_ca_with,
};
pub use certificate::{Certificate, Csr, MAX_BUNDLE_CERTS};
pub use crl::{Crl, CrlParams, MAX_CRL_ENTRIES, MAX_CRL_LEN, Revocation, issue_crl, issue_crl_with};
pub use keypair::{KeyAlgorithm, KeyPair, MAX_ENCODED_LEN, MAX_PASSPHRASE_LEN, PublicKey, SignatureScheme};
pub use path::{
    CANDIDATE_COST, ExpectedName, MAX_CANDIDATES, MAX_CHAIN_LEN, MAX_SEARCH_STEPS, PathOptions, Purpose,
    VerifiedPath, verify_path,
};
pub use signer::{CertSigner, KeySigner};
#[cfg(feature = "std")]
pub use verify::verify_chain_now;
pub use verify::{CertificatePair, verify_chain, verify_csr};
