//! Renewal: a leaf certificate again, with a new validity and serial, for
//! the same subject, names and usage, and the same or a new key.

use x509_cert::der::oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH};
use x509_cert::ext::pkix::ExtendedKeyUsage;

use super::{LeafParams, LeafUsage, Validity, issue_leaf_with};
use crate::cert::certificate::Certificate;
use crate::cert::keypair::{KeyPair, PublicKey, SignatureScheme};
use crate::cert::signer::{CertSigner, KeySigner};
use crate::error::{Error, Result};
use crate::rng::TryCryptoRng;

impl Certificate {
    /// What a leaf certificate is for, read from its extendedKeyUsage:
    /// serverAuth, clientAuth or both. `None` for a CA certificate, a leaf
    /// without extendedKeyUsage, or one with neither of the two.
    ///
    /// ```
    /// # #[cfg(feature = "std")] {
    /// use coffer_core::cert::{self, CaParams, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, Validity};
    /// # use coffer_core::rng::OsRng;
    /// let validity = Validity::days_from_now(30)?;
    /// let ca_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
    /// let ca = cert::self_signed_ca(&mut OsRng, &ca_key, &CaParams { subject: "CN=CA", validity, path_len: None })?;
    /// let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?.public_key();
    /// let params = LeafParams { validity, usage: LeafUsage::Client, sans: &[], key_usage: None };
    /// let leaf = cert::issue_leaf(&mut OsRng, &ca, &ca_key, ca_key.default_scheme(), "CN=agent", &agent, &params)?;
    /// assert_eq!(leaf.leaf_usage(), Some(LeafUsage::Client));
    /// assert_eq!(ca.leaf_usage(), None);
    /// # }
    /// # Ok::<(), coffer_core::Error>(())
    /// ```
    pub fn leaf_usage(&self) -> Option<LeafUsage> {
        if self.ca_path_len().is_some() {
            return None;
        }
        let Ok(Some((_, eku))) = self.inner.tbs_certificate().get_extension::<ExtendedKeyUsage>() else {
            return None;
        };
        let server = eku.0.contains(&ID_KP_SERVER_AUTH);
        let client = eku.0.contains(&ID_KP_CLIENT_AUTH);
        match (server, client) {
            (true, true) => Some(LeafUsage::ServerAndClient),
            (true, false) => Some(LeafUsage::Server),
            (false, true) => Some(LeafUsage::Client),
            (false, false) => None,
        }
    }
}

/// Renews the leaf certificate `old` under the CA `ca_cert` (which must be
/// its issuer, by name and key): a new certificate with a new serial and
/// `validity`, the same subject, subject alternative names and usage
/// (serverAuth/clientAuth), for `new_key`, or for `old`'s own key when
/// `new_key` is `None` (which also keeps `old`'s keyUsage; a new key gets
/// the default keyUsage of its kind). The rules of [`super::issue_leaf`] hold: the new
/// certificate never outlives its issuer.
///
/// `old` may have expired: renewal is how an expired certificate is
/// replaced. Its signature is checked against `ca_cert`.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use coffer_core::cert::{self, CaParams, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, San, Validity};
/// # use coffer_core::rng::OsRng;
/// let ca_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
/// let ca = cert::self_signed_ca(&mut OsRng, &ca_key, &CaParams { subject: "CN=CA", validity: Validity::days_from_now(365)?, path_len: None })?;
/// let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
/// let names = [San::parse("dns:agent-7.acme.test")?];
/// let params = LeafParams { validity: Validity::days_from_now(30)?, usage: LeafUsage::Server, sans: &names, key_usage: None };
/// let old = cert::issue_leaf(&mut OsRng, &ca, &ca_key, ca_key.default_scheme(), "CN=agent-7", &agent.public_key(), &params)?;
///
/// // Same key, 90 more days.
/// let renewed = cert::renew(&mut OsRng, &ca, &ca_key, ca_key.default_scheme(), &old, Validity::days_from_now(90)?, None)?;
/// assert_eq!((renewed.subject(), renewed.subject_alt_names()), (old.subject(), old.subject_alt_names()));
/// assert_ne!(renewed.serial(), old.serial());
/// // A new key.
/// let fresh = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?.public_key();
/// let rekeyed = cert::renew(&mut OsRng, &ca, &ca_key, ca_key.default_scheme(), &old, Validity::days_from_now(90)?, Some(&fresh))?;
/// assert_eq!(rekeyed.public_key()?, fresh);
/// # }
/// # Ok::<(), coffer_core::Error>(())
/// ```
///
/// # Errors
/// As [`renew_with`].
pub fn renew<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    ca_cert: &Certificate,
    ca_key: &KeyPair,
    scheme: SignatureScheme,
    old: &Certificate,
    validity: Validity,
    new_key: Option<&PublicKey>,
) -> Result<Certificate> {
    renew_with(&mut KeySigner::new(rng, ca_key, scheme)?, ca_cert, old, validity, new_key)
}

/// [`renew`] signed by any [`CertSigner`] holding the CA's key (an HSM
/// handle, say).
///
/// # Errors
/// [`Error::IssuerMismatch`] if `ca_cert` is not `old`'s issuer (its name,
/// or its key: `old`'s signature does not verify under it);
/// [`Error::WrongPurpose`] if `old` is a CA certificate or names neither
/// serverAuth nor clientAuth (renew a CA with
/// [`super::issue_intermediate`] from a request);
/// [`Error::UnsupportedAlgorithm`] if `old` is signed with an algorithm
/// coffer does not verify; then as [`super::issue_leaf_with`]
/// ([`Error::OutlivesIssuer`], [`Error::InvalidValidity`],
/// [`Error::KeyMismatch`], [`Error::NotACa`], ...).
pub fn renew_with(
    signer: &mut dyn CertSigner,
    ca_cert: &Certificate,
    old: &Certificate,
    validity: Validity,
    new_key: Option<&PublicKey>,
) -> Result<Certificate> {
    if old.inner.tbs_certificate().issuer() != ca_cert.inner.tbs_certificate().subject() {
        return Err(Error::IssuerMismatch);
    }
    match crate::cert::verify::check_signed_by(old, &ca_cert.public_key()?) {
        Err(Error::Verify) => return Err(Error::IssuerMismatch),
        other => other?,
    }
    let usage = old.leaf_usage().ok_or(Error::WrongPurpose)?;
    let key = match new_key {
        Some(k) => k.clone(),
        None => old.public_key()?,
    };
    let sans = old.subject_alt_names();
    // The same key keeps its keyUsage; a new key gets the default for its kind.
    let key_usage = match new_key {
        None => old.key_usage().filter(|ku| ku.check_for(&key).is_ok()),
        Some(_) => None,
    };
    let params = LeafParams { validity, usage, sans: &sans, key_usage };
    issue_leaf_with(signer, ca_cert, &old.subject(), &key, &params)
}
