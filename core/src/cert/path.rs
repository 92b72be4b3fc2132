//! Certification path building and validation (RFC 5280 §6, the parts a
//! private PKI needs): from a leaf, through untrusted intermediates, to one
//! of a set of trust anchors.
//!
//! [`verify_path`] searches the intermediates for issuers (name equal to the
//! child's issuer, and subject key id equal to the child's authority key id
//! when both are present), depth first, anchors before intermediates, up to
//! [`MAX_CHAIN_LEN`] certificates, and validates each candidate path:
//!
//! - every signature, by the next certificate's key, under the algorithms
//!   coffer supports ([`Error::UnsupportedAlgorithm`] otherwise);
//! - every validity window at `now`, the anchor's included;
//! - no critical extension coffer does not process
//!   ([`Error::UnknownCriticalExtension`]; nameConstraints and policy
//!   extensions are among them, so a CA that relies on them is refused);
//! - every issuer is a CA (basicConstraints CA:TRUE, keyCertSign if keyUsage
//!   is present) and no pathLenConstraint is exceeded by the non-self-issued
//!   intermediates below it ([`Error::PathTooLong`]);
//! - with a purpose: the leaf is not a CA, its keyUsage (if present) allows
//!   digitalSignature, and the leaf's and every CA's extendedKeyUsage (if
//!   present) include the purpose or anyExtendedKeyUsage ([`Error::WrongPurpose`]);
//! - with revocation lists ([`PathOptions::crls`]): a list that claims a
//!   path CA as its issuer (by name, and by key id when both carry one) must
//!   verify under that CA's key ([`Error::Verify`], or
//!   [`Error::UnsupportedAlgorithm`]; a damaged or forged list fails the
//!   path, it is not skipped), carry no critical extension
//!   ([`Error::UnknownCriticalExtension`]: delta lists, distribution-point
//!   scopes and indirect entries are not processed), be current
//!   ([`Error::CrlOutOfDate`]), and not list the certificate that CA issued
//!   ([`Error::Revoked`]); certificates whose issuer no list claims are not
//!   checked for revocation;
//! - with a name: a DNS name matches a dNSName SAN (ASCII case-insensitive,
//!   a `*.` wildcard standing for exactly one leftmost label), an IP address
//!   an iPAddress SAN ([`Error::NameMismatch`]); the subject's CN is never used.
//!
//! When no candidate path validates, the error is the one of the longest
//! candidate that reached an anchor (of several that long, the first tried:
//! anchors in the order given, before intermediates in the order given),
//! else [`Error::NoPathToTrustAnchor`].
//! The search is bounded ([`MAX_SEARCH_STEPS`]): when it runs out before a
//! path validates, the result is that error of the candidates tried so far,
//! or [`Error::LimitExceeded`] if none reached an anchor.

use alloc::vec::Vec;
use core::net::IpAddr;

use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};

use super::San;
use super::certificate::Certificate;
use super::crl::Crl;
use super::keypair::PublicKey;
use super::verify::{check_critical_extensions, check_signed_by, check_validity, may_sign_certificates};
use crate::error::{Error, Result};

/// Most certificates in a path [`verify_path`] builds, leaf and anchor
/// included (so at most six intermediates).
pub const MAX_CHAIN_LEN: usize = 8;

/// Most intermediates and most anchors [`verify_path`] takes.
pub const MAX_CANDIDATES: usize = 64;

/// Most steps [`verify_path`]'s search takes: each certificate tried as the
/// next issuer of a partial path is one, each complete candidate path
/// validated (its signatures checked) is [`CANDIDATE_COST`]. Certificates
/// that share a name and key (self-issued copies, which anyone can forge
/// from a public certificate) can otherwise be ordered in exponentially
/// many ways; past the budget the search stops (module docs).
pub const MAX_SEARCH_STEPS: usize = 4096;

/// What one validated candidate path costs of [`MAX_SEARCH_STEPS`].
pub const CANDIDATE_COST: usize = 16;

/// `anyExtendedKeyUsage` (RFC 5280 §4.2.1.12).
const ANY_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// What the leaf is to be used for (checked against extendedKeyUsage).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A TLS server (`id-kp-serverAuth`).
    ServerAuth,
    /// A TLS client (`id-kp-clientAuth`).
    ClientAuth,
}

impl Purpose {
    fn oid(self) -> ObjectIdentifier {
        match self {
            Purpose::ServerAuth => ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1"),
            Purpose::ClientAuth => ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2"),
        }
    }
}

/// The name the leaf must be for.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedName<'a> {
    /// A DNS name, matched against dNSName SANs.
    Dns(&'a str),
    /// An IP address, matched against iPAddress SANs.
    Ip(IpAddr),
}

/// What [`verify_path`] checks besides the chain itself.
#[derive(Clone, Copy, Debug)]
pub struct PathOptions<'a> {
    /// The time of the check, seconds since the Unix epoch.
    pub now: u64,
    /// The purpose to check, if any.
    pub purpose: Option<Purpose>,
    /// The name to check, if any.
    pub name: Option<ExpectedName<'a>>,
    /// Revocation lists: each certificate of the path whose issuer one of
    /// them claims is checked against it (module docs).
    pub crls: &'a [Crl],
}

/// A validated path: the leaf first, the trust anchor last.
#[derive(Clone, Debug)]
pub struct VerifiedPath {
    chain: Vec<Certificate>,
}

impl VerifiedPath {
    /// The certificates from the leaf to the anchor.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The leaf's public key.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the leaf holds a key coffer cannot use.
    pub fn leaf_key(&self) -> Result<PublicKey> {
        self.chain.first().ok_or(Error::Internal)?.public_key()
    }
}

/// Builds and validates a path from `leaf` through `intermediates` to one
/// of `anchors` (module docs for every check).
///
/// ```
/// # #[cfg(feature = "std")] {
/// use coffer_core::cert::{self, CaParams, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, PathOptions, Purpose, San, Validity};
/// use coffer_core::rng::OsRng;
///
/// let validity = Validity::days_from_now(30)?;
/// let root_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
/// let root = cert::self_signed_ca(&mut OsRng, &root_key, &CaParams { subject: "CN=Root", validity, path_len: None })?;
/// let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
/// let names = [San::Dns("agent-7.test".into())];
/// let params = LeafParams { validity, usage: LeafUsage::Server, sans: &names, key_usage: None };
/// let leaf = cert::issue_leaf(&mut OsRng, &root, &root_key, root_key.default_scheme(), "CN=agent-7", &agent.public_key(), &params)?;
///
/// let now = validity.not_before + 60;
/// let opts = PathOptions { now, purpose: Some(Purpose::ServerAuth), name: Some(cert::ExpectedName::Dns("agent-7.test")), crls: &[] };
/// let path = cert::verify_path(&leaf, &[], &[root.clone()], &opts)?;
/// assert_eq!(path.chain().len(), 2);
/// let client = PathOptions { purpose: Some(Purpose::ClientAuth), ..opts };
/// assert_eq!(cert::verify_path(&leaf, &[], &[root], &client).unwrap_err(), coffer_core::Error::WrongPurpose);
/// # }
/// # Ok::<(), coffer_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::LimitExceeded`] for more than [`MAX_CANDIDATES`] intermediates
/// or anchors, or a search that ran out of steps before any candidate
/// reached an anchor; otherwise the first failing check of the best
/// candidate path (module docs), or [`Error::NoPathToTrustAnchor`]. Besides
/// the path errors of the module docs, a certificate of the path whose key
/// cannot be read gives [`Error::InvalidKey`] or [`Error::KeyPolicy`] (an
/// RSA key outside the policy), and one whose extensions do not decode
/// [`Error::MalformedCertificate`].
pub fn verify_path(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    opts: &PathOptions<'_>,
) -> Result<VerifiedPath> {
    if intermediates.len() > MAX_CANDIDATES || anchors.len() > MAX_CANDIDATES {
        return Err(Error::LimitExceeded);
    }
    let mut search = Search { intermediates, anchors, opts, best: None, steps: 0 };
    let mut path = Vec::with_capacity(MAX_CHAIN_LEN);
    path.push(leaf);
    match search.extend(&mut path) {
        Some(chain) => Ok(VerifiedPath { chain }),
        None => match search.best {
            Some((_, e)) => Err(e),
            None if search.steps >= MAX_SEARCH_STEPS => Err(Error::LimitExceeded),
            None => Err(Error::NoPathToTrustAnchor),
        },
    }
}

struct Search<'a, 'o> {
    intermediates: &'a [Certificate],
    anchors: &'a [Certificate],
    opts: &'o PathOptions<'o>,
    /// The error of the longest candidate that reached an anchor.
    best: Option<(usize, Error)>,
    /// Steps taken of [`MAX_SEARCH_STEPS`].
    steps: usize,
}

impl<'a> Search<'a, '_> {
    /// Tries to complete `path` (leaf first) to an anchor; `None` if no
    /// completion validates (the reason is in `self.best`).
    fn extend(&mut self, path: &mut Vec<&'a Certificate>) -> Option<Vec<Certificate>> {
        let last = *path.last()?;
        for anchor in self.anchors.iter().filter(|a| issued_by(last, a)) {
            if !self.spend(CANDIDATE_COST) {
                return None;
            }
            path.push(anchor);
            match validate(path, self.opts) {
                Ok(()) => return Some(path.iter().map(|c| (*c).clone()).collect()),
                Err(e) => {
                    if self.best.as_ref().is_none_or(|(len, _)| path.len() > *len) {
                        self.best = Some((path.len(), e));
                    }
                }
            }
            path.pop();
        }
        if path.len().saturating_add(1) >= MAX_CHAIN_LEN {
            // Room for an anchor only: an intermediate here could not be completed.
            if self.best.is_none() && self.intermediates.iter().any(|i| issued_by(last, i)) {
                self.best = Some((path.len(), Error::PathTooLong));
            }
            return None;
        }
        for next in self.intermediates.iter().filter(|i| issued_by(last, i)) {
            if path.iter().any(|c| c.der == next.der) {
                continue;
            }
            if !self.spend(1) {
                return None;
            }
            path.push(next);
            if let Some(found) = self.extend(path) {
                return Some(found);
            }
            path.pop();
        }
        None
    }
}

impl Search<'_, '_> {
    /// Takes `cost` steps of the budget; `false` once it is spent.
    fn spend(&mut self, cost: usize) -> bool {
        self.steps = self.steps.saturating_add(cost);
        self.steps <= MAX_SEARCH_STEPS
    }
}

/// Whether `issuer` may have issued `child`: names equal, and key ids equal
/// when the child has an authority key id and the issuer a subject key id.
fn issued_by(child: &Certificate, issuer: &Certificate) -> bool {
    let (c, i) = (child.inner.tbs_certificate(), issuer.inner.tbs_certificate());
    if c.issuer() != i.subject() {
        return false;
    }
    let aki = c.get_extension::<AuthorityKeyIdentifier>().ok().flatten().and_then(|(_, a)| a.key_identifier);
    let ski = i.get_extension::<SubjectKeyIdentifier>().ok().flatten().map(|(_, s)| s.0);
    match (aki, ski) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    }
}

/// Validates a complete candidate `path` (leaf first, anchor last).
fn validate(path: &[&Certificate], opts: &PathOptions<'_>) -> Result<()> {
    for cert in path {
        check_critical_extensions(cert)?;
    }
    for pair in path.windows(2) {
        let [child, issuer] = pair else { return Err(Error::Internal) };
        if issuer.ca_path_len().is_none() || !may_sign_certificates(issuer) {
            return Err(Error::NotACa);
        }
        check_signed_by(child, &issuer.public_key()?)?;
    }
    for cert in path {
        check_validity(cert, opts.now)?;
    }
    check_path_lengths(path)?;
    check_revocation(path, opts)?;
    let leaf = path.first().ok_or(Error::Internal)?;
    if let Some(purpose) = opts.purpose {
        check_purpose(path, purpose)?;
    }
    if let Some(name) = opts.name {
        check_name(leaf, name)?;
    }
    Ok(())
}

/// Each issuer's pathLenConstraint against the non-self-issued CAs below it
/// (the leaf is not counted).
fn check_path_lengths(path: &[&Certificate]) -> Result<()> {
    for (index, issuer) in path.iter().enumerate().skip(1) {
        let Some(Some(limit)) = issuer.ca_path_len() else { continue };
        let below = path.get(1..index).unwrap_or_default().iter().filter(|c| !self_issued(c)).count();
        if below > usize::from(limit) {
            return Err(Error::PathTooLong);
        }
    }
    Ok(())
}

/// Each certificate against the CRLs its issuer issued. A CRL that claims
/// the issuer ([`Crl::claims_issuer`]: its name, and its key id when both
/// carry one) must verify under the issuer's key ([`Error::Verify`] for a
/// forged or damaged list, [`Error::UnsupportedAlgorithm`] for one signed
/// in an algorithm coffer does not verify), must have no critical
/// extension ([`Error::UnknownCriticalExtension`]), must be current at
/// `now` ([`Error::CrlOutOfDate`]), and must not list the certificate
/// ([`Error::Revoked`]). Certificates whose issuer is claimed by none of
/// the CRLs given are not checked.
fn check_revocation(path: &[&Certificate], opts: &PathOptions<'_>) -> Result<()> {
    for pair in path.windows(2) {
        let [child, issuer] = pair else { return Err(Error::Internal) };
        for crl in opts.crls.iter().filter(|crl| crl.claims_issuer(issuer)) {
            crl.verify_signature(issuer)?;
            crl.check_critical_extensions()?;
            if opts.now < crl.this_update() || crl.next_update().is_some_and(|next| opts.now > next) {
                return Err(Error::CrlOutOfDate);
            }
            if crl.lists(child) {
                return Err(Error::Revoked);
            }
        }
    }
    Ok(())
}

fn self_issued(c: &Certificate) -> bool {
    let tbs = c.inner.tbs_certificate();
    tbs.issuer() == tbs.subject()
}

fn check_purpose(path: &[&Certificate], purpose: Purpose) -> Result<()> {
    let leaf = path.first().ok_or(Error::Internal)?;
    if leaf.ca_path_len().is_some() {
        return Err(Error::WrongPurpose);
    }
    match leaf.inner.tbs_certificate().get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) if !ku.0.contains(KeyUsages::DigitalSignature) => return Err(Error::WrongPurpose),
        Err(_) => return Err(Error::MalformedCertificate),
        _ => {}
    }
    for cert in path {
        match cert.inner.tbs_certificate().get_extension::<ExtendedKeyUsage>() {
            Ok(None) => {}
            Ok(Some((_, eku))) if eku.0.iter().any(|o| *o == purpose.oid() || *o == ANY_EKU) => {}
            Ok(Some(_)) => return Err(Error::WrongPurpose),
            Err(_) => return Err(Error::MalformedCertificate),
        }
    }
    Ok(())
}

fn check_name(leaf: &Certificate, name: ExpectedName<'_>) -> Result<()> {
    let sans = leaf.subject_alt_names();
    let found = match name {
        ExpectedName::Dns(want) => sans.iter().any(|s| matches!(s, San::Dns(d) if dns_matches(d, want))),
        ExpectedName::Ip(want) => sans.iter().any(|s| matches!(s, San::Ip(ip) if *ip == want)),
    };
    if found { Ok(()) } else { Err(Error::NameMismatch) }
}

/// `pattern` (a dNSName, maybe `*.` + a domain) against the host `want`.
fn dns_matches(pattern: &str, want: &str) -> bool {
    let want = want.strip_suffix('.').unwrap_or(want);
    match pattern.strip_prefix("*.") {
        Some(domain) => match want.split_once('.') {
            Some((label, rest)) => {
                !label.is_empty() && !label.contains('*') && rest.eq_ignore_ascii_case(domain)
            }
            None => false,
        },
        None => pattern.eq_ignore_ascii_case(want),
    }
}

#[cfg(test)]
mod tests {
    use super::dns_matches;

    #[test]
    fn a_wildcard_stands_for_exactly_one_leftmost_label() {
        assert!(dns_matches("agent-7.test", "AGENT-7.test"));
        assert!(dns_matches("agent-7.test", "agent-7.test."));
        assert!(dns_matches("*.fleet.test", "a7.fleet.test"));
        assert!(!dns_matches("*.fleet.test", "fleet.test"));
        assert!(!dns_matches("*.fleet.test", "x.a7.fleet.test"));
        assert!(!dns_matches("agent-7.test", "agent-8.test"));
    }
}
