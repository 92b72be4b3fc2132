//! Certificates signed by keys that never leave the keystore: a CA's
//! self-signed certificate, a request for an intermediate CA's own key, and
//! certificates issued from requests. The key is authorized for SIGN as
//! any signature is (its own audit record of the use or the refusal); the
//! signed object is then described in an [`AuditEvent::CertificateSigned`]
//! record (serial, subject, names, validity), committed before it is
//! returned: no certificate leaves without its record.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use coffer_core::cert::{
    self, CaParams, CertSigner, Certificate, Crl, CrlParams, Csr, IntermediateParams, KeyPair, KeySigner,
    LeafParams, PublicKey, San, SignatureScheme, Validity,
};
use coffer_core::rng::TryCryptoRng;

use super::keys::key_ref;
use super::operations::ASYMMETRIC;
use super::{AuditClass, Hsm, SessionId};
use crate::audit::{AuditEvent, KeyRef, Operation, SignedObject};
use crate::error::Result;
use crate::object::{Handle, KeyType, Usage};

impl Hsm {
    /// A self-signed CA certificate for the key pair `handle` (P-256 or
    /// RSA, usage SIGN), signed inside the keystore with `scheme` (default:
    /// ECDSA for P-256, PKCS#1 v1.5 for RSA).
    ///
    /// ```
    /// use coffer_core::cert::{self, CaParams, Validity};
    /// use coffer_core::rng::OsRng;
    /// use coffer_hsm::{Config, Hsm, KeyAttributes, KeyType, Role, SystemClock, Usage};
    ///
    /// let config = Config { pin_iterations: 1_000, ..Config::default() };
    /// let mut hsm = Hsm::new(1, config, Box::new(SystemClock))?;
    /// hsm.init_token(&mut OsRng, 0, "pki", b"so-pin-1")?;
    /// let so = hsm.login_so(0, b"so-pin-1")?;
    /// hsm.create_tenant(&mut OsRng, so, "pki")?;
    /// hsm.create_user(&mut OsRng, so, "ca-admin", Role::User, &["pki"], b"ca-pin-1")?;
    /// let s = hsm.login(0, "ca-admin", b"ca-pin-1", None)?;
    /// let attrs = KeyAttributes {
    ///     label: "root".into(),
    ///     tenant: "pki".into(),
    ///     key_id: "root-ca".into(),
    ///     usage: Usage::SIGN | Usage::VERIFY,
    ///     extractable: false,
    ///     active: true,
    /// };
    /// let root = hsm.generate(&mut OsRng, s, KeyType::P256, attrs)?;
    /// let params = CaParams { subject: "CN=Acme Root", validity: Validity::days_from_now(3650)?, path_len: Some(1) };
    /// let ca = hsm.ca_certificate(&mut OsRng, s, root, None, &params)?;
    /// cert::verify_chain_now(&ca, &ca)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The policy errors of [`Hsm::sign`] first; [`Error::InvalidInput`](crate::Error::InvalidInput)
    /// for a `scheme` of the other key type; [`Error::Crypto`](crate::Error::Crypto) for bad
    /// parameters (an invalid subject, a validity that ends before it
    /// starts); [`Error::AuditFull`](crate::Error::AuditFull) if the record does not fit (nothing is
    /// returned then).
    pub fn ca_certificate<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        scheme: Option<SignatureScheme>,
        params: &CaParams<'_>,
    ) -> Result<Certificate> {
        let make = |signer: &mut dyn CertSigner| cert::self_signed_ca_with(signer, params);
        self.sign_certificate(rng, session, handle, scheme, make, certificate_record)
    }

    /// A PKCS#10 request for the key pair `handle` itself (an intermediate
    /// CA whose key stays here, to be certified by a root elsewhere).
    ///
    /// # Errors
    /// As [`Hsm::ca_certificate`].
    pub fn certificate_request<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        scheme: Option<SignatureScheme>,
        subject: &str,
        sans: &[San],
    ) -> Result<Csr> {
        let make = |signer: &mut dyn CertSigner| cert::csr_with(signer, subject, sans);
        self.sign_certificate(rng, session, handle, scheme, make, request_record)
    }

    /// Issues a certificate from `csr` (its signature checked) under the
    /// CA certificate `ca_cert`, signed by the CA's key pair `handle`.
    ///
    /// # Errors
    /// As [`Hsm::ca_certificate`]; [`Error::Crypto`](crate::Error::Crypto)`(KeyMismatch)` if
    /// `handle` is not the key `ca_cert` certifies, `(NotACa)` if
    /// `ca_cert` is no CA, `(Verify)` for a request with a bad signature.
    #[allow(
        clippy::too_many_arguments,
        reason = "the CA, its key, the request and the policy are all needed"
    )]
    pub fn issue_certificate<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        scheme: Option<SignatureScheme>,
        ca_cert: &Certificate,
        csr: &Csr,
        params: &LeafParams<'_>,
    ) -> Result<Certificate> {
        let make = |signer: &mut dyn CertSigner| cert::issue_from_csr_with(signer, ca_cert, csr, params);
        self.sign_certificate(rng, session, handle, scheme, make, certificate_record)
    }

    /// Renews the leaf certificate `old` under the CA certificate `ca_cert`
    /// (its issuer), signed by the CA's key pair `handle`: a new serial and
    /// `validity`, the same subject, names and usage, for `new_key` or
    /// `old`'s key (`coffer_core::cert::renew_with`). Audited as an
    /// issuance.
    ///
    /// # Errors
    /// As [`Hsm::issue_certificate`], and
    /// [`Error::Crypto`](crate::Error::Crypto)`(IssuerMismatch)` if
    /// `ca_cert` did not issue `old`, `(WrongPurpose)` if `old` is no TLS
    /// leaf, `(OutlivesIssuer)` for a validity past the CA's.
    #[allow(clippy::too_many_arguments, reason = "the CA, its key, the old certificate and the new terms")]
    pub fn renew_certificate<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        scheme: Option<SignatureScheme>,
        ca_cert: &Certificate,
        old: &Certificate,
        validity: Validity,
        new_key: Option<&PublicKey>,
    ) -> Result<Certificate> {
        let make = |signer: &mut dyn CertSigner| cert::renew_with(signer, ca_cert, old, validity, new_key);
        self.sign_certificate(rng, session, handle, scheme, make, certificate_record)
    }

    /// Issues an intermediate CA certificate from `csr` under the CA
    /// certificate `issuer`, signed by the issuer's key pair `handle`
    /// (path length rules of `coffer_core::cert::issue_intermediate`).
    ///
    /// # Errors
    /// As [`Hsm::issue_certificate`], and
    /// [`Error::Crypto`](crate::Error::Crypto)`(PathTooLong)` if the issuer
    /// may have no further CA below it.
    #[allow(
        clippy::too_many_arguments,
        reason = "the issuer, its key, the request and the policy are all needed"
    )]
    pub fn issue_intermediate<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        scheme: Option<SignatureScheme>,
        issuer: &Certificate,
        csr: &Csr,
        params: &IntermediateParams,
    ) -> Result<Certificate> {
        let make = |signer: &mut dyn CertSigner| cert::issue_intermediate_with(signer, issuer, csr, params);
        self.sign_certificate(rng, session, handle, scheme, make, certificate_record)
    }

    /// A certificate revocation list for the CA certificate `issuer`,
    /// signed by its key pair `handle`; the audit record lists the revoked
    /// serial numbers.
    ///
    /// # Errors
    /// As [`Hsm::ca_certificate`]; [`Error::Crypto`](crate::Error::Crypto)`(KeyMismatch)` if
    /// `handle` is not the key `issuer` certifies, `(InvalidInput)` for a
    /// window that ends before it starts.
    pub fn issue_crl<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        scheme: Option<SignatureScheme>,
        issuer: &Certificate,
        params: &CrlParams<'_>,
    ) -> Result<Crl> {
        let make = |signer: &mut dyn CertSigner| cert::issue_crl_with(signer, issuer, params);
        self.sign_certificate(rng, session, handle, scheme, make, crl_record)
    }

    /// Authorizes `handle` for SIGN, lets `make` sign with it, and commits
    /// the record `describe` gives of what was signed before returning it.
    fn sign_certificate<R: TryCryptoRng + ?Sized, T>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        scheme: Option<SignatureScheme>,
        make: impl FnOnce(&mut dyn CertSigner) -> coffer_core::Result<T>,
        describe: fn(&T, KeyRef) -> AuditEvent,
    ) -> Result<T> {
        let key = self.authorize(session, handle, Usage::SIGN, &ASYMMETRIC)?;
        let secret = &key.current()?.secret;
        let pair = match key.key_type {
            KeyType::P256 => KeyPair::P256(secret.p256_owned()?),
            _ => KeyPair::Rsa(secret.rsa_owned()?),
        };
        let scheme = scheme.unwrap_or_else(|| pair.default_scheme());
        let signed = make(&mut KeySigner::new(rng, &pair, scheme)?)?;
        let event = describe(&signed, key_ref(&key));
        let slot = self.user(session, Operation::Sign)?.slot;
        let limit = self.config.audit_limit(AuditClass::Work);
        self.transact(|tx| {
            tx.ensure_room(slot, 1, limit)?;
            tx.log(slot, event.clone())
        })?;
        Ok(signed)
    }
}

fn certificate_record(c: &Certificate, key: KeyRef) -> AuditEvent {
    AuditEvent::CertificateSigned {
        key,
        object: SignedObject::Certificate,
        serial: c.serial().to_vec(),
        subject: c.subject(),
        names: c.subject_alt_names().iter().map(san_text).collect(),
        not_before: c.not_before(),
        not_after: c.not_after(),
    }
}

fn crl_record(crl: &Crl, key: KeyRef) -> AuditEvent {
    AuditEvent::CertificateSigned {
        key,
        object: SignedObject::RevocationList,
        serial: crl.number().unwrap_or_default(),
        subject: crl.issuer(),
        names: crl.revoked().iter().map(|(serial, _)| format!("serial:{}", hex_lower(serial))).collect(),
        not_before: crl.this_update(),
        not_after: crl.next_update().unwrap_or_default(),
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn request_record(csr: &Csr, key: KeyRef) -> AuditEvent {
    AuditEvent::CertificateSigned {
        key,
        object: SignedObject::Request,
        serial: Vec::new(),
        subject: csr.subject(),
        names: csr.requested_sans().iter().map(san_text).collect(),
        not_before: 0,
        not_after: 0,
    }
}

/// A name as the audit record lists it: `dns:`, `ip:`, `uri:` or `email:`
/// and the name (`San`'s display form).
fn san_text(san: &San) -> String {
    san.to_string()
}
