//! The cryptography by handle. Each operation first authorizes in its own
//! transaction (role, tenant, key type, lifecycle, usage), which commits
//! the audit record of the use or of the refusal; only then does the
//! cryptography run, outside the store.

use alloc::sync::Arc;
use alloc::vec::Vec;

use coffer_core::SecretBytes;
use coffer_core::cert::SignatureScheme;
use coffer_core::envelope::{self, EncryptionContext, HeaderRef, Recipient, RecipientKind, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::rng::TryCryptoRng;
use zeroize::Zeroizing;

use super::keys::{check_secret, key_ref, refuse, tenant_key};
use super::wrapping::MaterialForm;
use super::{AuditClass, Hsm, SessionId};
use crate::audit::{AuditEvent, Operation, Refusal};
use crate::error::{Error, Result};
use crate::object::{Handle, KeyAttributes, KeyObject, KeyState, KeyType, Secret, Usage};
use crate::policy::state_allows;

/// Key types that can be envelope recipients by handle.
const ENVELOPE_KEYS: [KeyType; 4] = [KeyType::Aes256, KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096];
/// Key types that sign.
pub(super) const ASYMMETRIC: [KeyType; 4] =
    [KeyType::P256, KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096];

fn operation_name(op: Usage) -> Operation {
    if op == Usage::ENCRYPT {
        Operation::Seal
    } else if op == Usage::DECRYPT {
        Operation::Open
    } else if op == Usage::WRAP {
        Operation::Wrap
    } else if op == Usage::UNWRAP {
        Operation::Unwrap
    } else if op == Usage::SIGN {
        Operation::Sign
    } else if op == Usage::VERIFY {
        Operation::Verify
    } else {
        Operation::Derive
    }
}

/// Whether `op` makes something new (seal, wrap, sign, derive), which an
/// expired key may no longer do; opening, unwrapping and verifying what
/// exists stay allowed, as after the sweep deactivates it.
fn makes_new(op: Usage) -> bool {
    op == Usage::ENCRYPT || op == Usage::WRAP || op == Usage::SIGN || op == Usage::DERIVE
}

/// AES key wrapping with (KWP, RFC 5649) or without (KW, RFC 3394) padding.
#[derive(Clone, Copy)]
pub(super) enum KeyWrap {
    Kw,
    Kwp,
}

impl Hsm {
    /// Checks role, tenant, lifecycle and usage for `op` and commits the
    /// audit record of the use (or of the refusal) before any crypto;
    /// returns the key.
    pub(super) fn authorize(
        &mut self,
        session: SessionId,
        handle: Handle,
        op: Usage,
        types: &[KeyType],
    ) -> Result<KeyObject> {
        let operation = operation_name(op);
        let ctx = self.user(session, operation)?;
        let slot = ctx.slot;
        let limit = self.config.audit_limit(AuditClass::Work);
        self.transact(|tx| {
            let key = tenant_key(tx, &ctx, handle, operation)?;
            if !types.contains(&key.key_type) {
                return Err(Error::InvalidInput);
            }
            tx.ensure_room(slot, 1, limit)?;
            let expired = key.expires_at.is_some_and(|t| t <= tx.now());
            let denied = if !state_allows(key.state, op) {
                Some((Refusal::WrongState, Error::KeyState))
            } else if !key.attrs.usage.allows(op) {
                Some((Refusal::UsageNotAllowed, Error::PolicyDenied))
            } else if expired && makes_new(op) {
                Some((Refusal::Expired, Error::KeyExpired))
            } else {
                None
            };
            if let Some((reason, e)) = denied {
                return refuse(tx, &ctx, &key, operation, reason, e);
            }
            tx.log(slot, AuditEvent::KeyUsed { key: key_ref(&key), operation })?;
            Ok(key)
        })
    }

    /// The tenant's key `handle`, read without an audit record (for public data).
    fn read_key(&mut self, session: SessionId, handle: Handle) -> Result<KeyObject> {
        let ctx = self.user(session, Operation::Show)?;
        self.transact(|tx| tenant_key(tx, &ctx, handle, Operation::Show))
    }

    /// Seals `plaintext` as an envelope v1 for the current version of the
    /// KEK or RSA key `handle` (usage ENCRYPT), bound to `context`. The envelope's
    /// recipient key id is the key's id; its version is the key's version.
    ///
    /// # Errors
    /// The policy errors ([`Error::NotFound`], [`Error::TenantNotAllowed`],
    /// [`Error::KeyState`], [`Error::PolicyDenied`], [`Error::KeyExpired`],
    /// [`Error::AuditFull`]) before any crypto.
    pub fn seal_envelope<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        context: &EncryptionContext<'_>,
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let key = self.authorize(session, handle, Usage::ENCRYPT, &ENVELOPE_KEYS)?;
        with_recipients(&key, &[], |to| Ok(envelope::seal(rng, to, context, plaintext)?))
    }

    /// Opens an envelope sealed to any version of the KEK or RSA key
    /// `handle` (usage DECRYPT).
    ///
    /// # Errors
    /// The policy errors first; [`Error::Crypto`]`(Decrypt)` for any bad envelope.
    pub fn open_envelope<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        context: &EncryptionContext<'_>,
        sealed: &[u8],
    ) -> Result<SecretBytes> {
        let key = self.authorize(session, handle, Usage::DECRYPT, &ENVELOPE_KEYS)?;
        with_unlock_keys(&key, |unlock| Ok(envelope::open(rng, unlock, context, sealed)?))
    }

    /// Seals `input` into `output` as an envelope v1, one chunk in memory at
    /// a time (feature `std`): for the current version of the KEK or RSA key
    /// `handle` (usage ENCRYPT) and any `extra` recipients (public keys of
    /// other parties), bound to `context`. Returns the plaintext length.
    ///
    /// # Errors
    /// Policy errors first; [`Error::Io`] if reading or writing fails.
    #[cfg(feature = "std")]
    #[allow(clippy::too_many_arguments)]
    pub fn seal_stream<R: TryCryptoRng + ?Sized, I: std::io::Read, O: std::io::Write>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        extra: &[Recipient<'_>],
        context: &EncryptionContext<'_>,
        input: I,
        output: O,
    ) -> Result<u64> {
        let key = self.authorize(session, handle, Usage::ENCRYPT, &ENVELOPE_KEYS)?;
        with_recipients(&key, extra, |to| {
            envelope::seal_stream(rng, to, context, envelope::DEFAULT_CHUNK_SIZE, input, output)
                .map_err(stream_error)
        })
    }

    /// Opens an envelope from `input` into `output` one chunk at a time
    /// (feature `std`) with any version of the KEK or RSA key `handle`
    /// (usage DECRYPT). Plaintext is written only chunk by authenticated
    /// chunk; on an error the output so far must be discarded (it may be a
    /// truncated prefix). Returns the plaintext length.
    ///
    /// # Errors
    /// Policy errors first; [`Error::Crypto`]`(Decrypt)` for any bad
    /// envelope; [`Error::Io`] if reading or writing fails.
    #[cfg(feature = "std")]
    pub fn open_stream<R: TryCryptoRng + ?Sized, I: std::io::Read, O: std::io::Write>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        context: &EncryptionContext<'_>,
        input: I,
        output: O,
    ) -> Result<u64> {
        let key = self.authorize(session, handle, Usage::DECRYPT, &ENVELOPE_KEYS)?;
        with_unlock_keys(&key, |unlock| {
            envelope::open_stream(rng, unlock, context, &envelope::Limits::DEFAULT, input, output)
                .map_err(stream_error)
        })
    }

    /// Rewraps an envelope of the KEK `handle` to its current version,
    /// changing only the header (usage UNWRAP and WRAP). An envelope
    /// already on the current version is returned unchanged.
    ///
    /// # Errors
    /// The policy errors first; [`Error::Crypto`]`(Decrypt)` if the envelope
    /// has no recipient of this key or does not open.
    pub fn rewrap_envelope<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        sealed: &[u8],
    ) -> Result<Vec<u8>> {
        self.authorize(session, handle, Usage::UNWRAP, &[KeyType::Aes256])?;
        let key = self.authorize(session, handle, Usage::WRAP, &[KeyType::Aes256])?;
        let current = key.current()?;
        let id = key.attrs.key_id.as_bytes();
        let header = HeaderRef::parse(sealed).map_err(|_| Error::Crypto(coffer_core::Error::Decrypt))?;
        let old_version = header
            .recipients()
            .find(|r| r.kind == RecipientKind::Aes256Kw && r.key_id == id)
            .map(|r| r.key_version)
            .ok_or(Error::Crypto(coffer_core::Error::Decrypt))?;
        if old_version == current.number {
            return Ok(sealed.to_vec());
        }
        let old_kek = key.version(old_version)?.secret.kek()?;
        let new_kek = current.secret.kek()?;
        let old = UnlockKey::Kek { key_id: id, version: old_version, kek: &old_kek };
        let new = Recipient::Kek { key_id: id, version: current.number, kek: &new_kek };
        Ok(envelope::rewrap(rng, sealed, &old, &new)?)
    }

    /// Signs `msg` with the current version (usage SIGN): ECDSA P-256
    /// SHA-256 (DER) for a P-256 key, RSASSA-PSS SHA-256 for an RSA key.
    ///
    /// # Errors
    /// The policy errors first.
    pub fn sign<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        msg: &[u8],
    ) -> Result<Vec<u8>> {
        let key = self.authorize(session, handle, Usage::SIGN, &ASYMMETRIC)?;
        let secret = &key.current()?.secret;
        match key.key_type {
            KeyType::P256 => Ok(secret.p256()?.sign_der(msg).as_bytes().to_vec()),
            _ => Ok(secret.rsa()?.sign_pss(rng, msg)?),
        }
    }

    /// Signs `msg` with the current version (usage SIGN) under `scheme`:
    /// [`SignatureScheme::EcdsaP256Sha256`] (DER) for a P-256 key,
    /// [`SignatureScheme::RsaPssSha256`] or
    /// [`SignatureScheme::RsaPkcs1Sha256`] for an RSA key. [`Self::sign`]
    /// is this with the key type's default scheme (ECDSA, or PSS).
    ///
    /// # Errors
    /// The policy errors first; [`Error::InvalidInput`] for a scheme of
    /// the other key type (before any audit record).
    pub fn sign_with<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        handle: Handle,
        scheme: SignatureScheme,
        msg: &[u8],
    ) -> Result<Vec<u8>> {
        let key = self.authorize(session, handle, Usage::SIGN, scheme_key_types(scheme))?;
        let secret = &key.current()?.secret;
        match scheme {
            SignatureScheme::EcdsaP256Sha256 => Ok(secret.p256()?.sign_der(msg).as_bytes().to_vec()),
            SignatureScheme::RsaPkcs1Sha256 => Ok(secret.rsa()?.sign_pkcs1v15(rng, msg)?),
            _ => Ok(secret.rsa()?.sign_pss(rng, msg)?),
        }
    }

    /// Verifies a signature made by [`Self::sign_with`] under `scheme`
    /// against any version of the P-256 or RSA key (usage VERIFY).
    ///
    /// # Errors
    /// The policy errors first; [`Error::InvalidInput`] for a scheme of the
    /// other key type; [`Error::Crypto`]`(Verify)` for a bad signature.
    pub fn verify_with(
        &mut self,
        session: SessionId,
        handle: Handle,
        scheme: SignatureScheme,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<()> {
        let key = self.authorize(session, handle, Usage::VERIFY, scheme_key_types(scheme))?;
        for v in key.versions.iter().rev() {
            let ok = match public_key_of(key.key_type, &v.secret)? {
                Verifier::P256(k) => coffer_core::cert::PublicKey::P256(k).verify(scheme, msg, sig),
                Verifier::Rsa(k) => coffer_core::cert::PublicKey::Rsa(k).verify(scheme, msg, sig),
            };
            if ok.is_ok() {
                return Ok(());
            }
        }
        Err(Error::Crypto(coffer_core::Error::Verify))
    }

    /// Verifies a signature made by [`Self::sign`] against any version of
    /// the key, or against a certificate object's key (usage VERIFY).
    ///
    /// # Errors
    /// The policy errors first; [`Error::Crypto`]`(Verify)` for a bad signature.
    pub fn verify(&mut self, session: SessionId, handle: Handle, msg: &[u8], sig: &[u8]) -> Result<()> {
        let types =
            [KeyType::P256, KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096, KeyType::Certificate];
        let key = self.authorize(session, handle, Usage::VERIFY, &types)?;
        for v in key.versions.iter().rev() {
            if public_key_of(key.key_type, &v.secret)?.verify(msg, sig).is_ok() {
                return Ok(());
            }
        }
        Err(Error::Crypto(coffer_core::Error::Verify))
    }

    /// The public key of the current version as SPKI DER (P-256, RSA, or a
    /// certificate's subject key).
    ///
    /// # Errors
    /// [`Error::KeyState`] for a destroyed key; [`Error::InvalidInput`] for
    /// a symmetric key.
    pub fn public_key_der(&mut self, session: SessionId, handle: Handle) -> Result<Vec<u8>> {
        let key = self.read_key(session, handle)?;
        if key.state == KeyState::Destroyed {
            return Err(Error::KeyState);
        }
        public_key_of(key.key_type, &key.current()?.secret)?.spki_der()
    }

    /// The DER of a certificate object.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `handle` is not a certificate object.
    pub fn certificate_der(&mut self, session: SessionId, handle: Handle) -> Result<Vec<u8>> {
        let key = self.read_key(session, handle)?;
        if key.key_type != KeyType::Certificate {
            return Err(Error::InvalidInput);
        }
        Ok(key.current()?.secret.bytes.clone())
    }

    /// Stores a certificate (DER) as an object of the session's tenant,
    /// with usage VERIFY. Certificates are public, so the plaintext-import
    /// policy does not apply.
    ///
    /// # Errors
    /// [`Error::Crypto`] if `der` is not a certificate.
    pub fn import_certificate(
        &mut self,
        session: SessionId,
        mut attrs: KeyAttributes,
        der: &[u8],
    ) -> Result<Handle> {
        self.user(session, Operation::Import)?;
        let secret = Secret { bytes: der.to_vec() };
        check_secret(KeyType::Certificate, &secret)?;
        attrs.usage = Usage::VERIFY;
        attrs.extractable = true;
        // Public data from outside: not local (audited as `KeyImported`).
        self.insert_for_session(session, KeyType::Certificate, attrs, secret, false)
    }

    /// Stores a certificate (DER) only if it chains to the CA certificate
    /// object `ca` of the same tenant at the HSM clock's time (see
    /// [`coffer_core::cert::verify_chain`]); the check is audited as a use of
    /// `ca` for verification. Use this for peer certificates, so that a
    /// certificate object is a trusted key, not just stored bytes.
    ///
    /// # Errors
    /// The policy errors of `ca` (it must be an active certificate object
    /// with usage VERIFY); [`Error::Crypto`] with the certificate error
    /// (`Verify`, `IssuerMismatch`, `NotACa`, `CertificateExpired`,
    /// `CertificateNotYetValid`, `UnknownCriticalExtension`); nothing is stored.
    pub fn import_certificate_issued_by(
        &mut self,
        session: SessionId,
        attrs: KeyAttributes,
        der: &[u8],
        ca: Handle,
    ) -> Result<Handle> {
        self.check_certificate(session, der, ca)?;
        self.import_certificate(session, attrs, der)
    }

    /// Checks now that the certificate object `cert` still chains to the CA
    /// certificate object `ca` (both of the session's tenant): signature,
    /// issuer, CA constraints and both validity windows at the HSM clock's
    /// time. Audited as a use of `ca` for verification.
    ///
    /// # Errors
    /// As [`Self::import_certificate_issued_by`]; [`Error::InvalidInput`] if
    /// `cert` is not a certificate object.
    pub fn verify_certificate(&mut self, session: SessionId, cert: Handle, ca: Handle) -> Result<()> {
        let der = self.certificate_der(session, cert)?;
        self.check_certificate(session, &der, ca)
    }

    fn check_certificate(&mut self, session: SessionId, der: &[u8], ca: Handle) -> Result<()> {
        let leaf = coffer_core::cert::Certificate::from_der(der)?;
        let key = self.authorize(session, ca, Usage::VERIFY, &[KeyType::Certificate])?;
        let ca_cert = coffer_core::cert::Certificate::from_der(&key.current()?.secret.bytes)?;
        coffer_core::cert::verify_chain(&leaf, &ca_cert, self.clock.now())?;
        Ok(())
    }

    /// HMAC-SHA-256 over the concatenation of `parts` (usage SIGN).
    ///
    /// # Errors
    /// The policy errors first.
    pub fn hmac_sign(&mut self, session: SessionId, handle: Handle, parts: &[&[u8]]) -> Result<[u8; 32]> {
        let key = self.authorize(session, handle, Usage::SIGN, &[KeyType::HmacSha256])?;
        Ok(key.current()?.secret.hmac()?.sign_parts(parts))
    }

    /// Verifies an HMAC-SHA-256 tag in constant time against any version (usage VERIFY).
    ///
    /// # Errors
    /// The policy errors first; [`Error::Crypto`]`(Verify)` for a bad tag.
    pub fn hmac_verify(
        &mut self,
        session: SessionId,
        handle: Handle,
        parts: &[&[u8]],
        tag: &[u8],
    ) -> Result<()> {
        let key = self.authorize(session, handle, Usage::VERIFY, &[KeyType::HmacSha256])?;
        let mut ok = false;
        for v in &key.versions {
            ok |= v.secret.hmac()?.verify_parts(parts, tag).is_ok();
        }
        if ok { Ok(()) } else { Err(Error::Crypto(coffer_core::Error::Verify)) }
    }

    /// Exports the current version of `target` wrapped under the current
    /// version of `wrapping` with AES-KWP, in coffer's own form (32 bytes
    /// for AES, HMAC and P-256, PKCS#8 DER for RSA, DER for a certificate;
    /// what [`Self::import_wrapped`] takes). The target must be extractable
    /// (and is otherwise never exported in any form); the wrapping key needs
    /// usage WRAP. For other mechanisms and PKCS#8 private keys see
    /// [`Self::export_wrapped_as`].
    ///
    /// # Errors
    /// [`Error::NotExtractable`] (audited) for a key that is not
    /// extractable; [`Error::KeyState`] for a destroyed one; the policy
    /// errors of `wrapping`.
    pub fn export_wrapped(
        &mut self,
        session: SessionId,
        wrapping: Handle,
        target: Handle,
    ) -> Result<Vec<u8>> {
        let ctx = self.export_check(session, target, None)?;
        let kek =
            self.authorize(session, wrapping, Usage::WRAP, &[KeyType::Aes256])?.current()?.secret.kek()?;
        self.export_finish(&ctx, target, MaterialForm::Stored, &mut |material| {
            Ok(kek.wrap_padded_to_vec(material)?)
        })
    }

    /// Wraps the caller's key material (a data key, 1..=16384 bytes) with
    /// AES-KWP (RFC 5649) under the current version of the AES-256 key
    /// `kek` (usage WRAP). Older versions never wrap; they still unwrap.
    ///
    /// ```
    /// # use coffer_core::rng::OsRng;
    /// # use coffer_hsm::{Config, Hsm, KeyAttributes, KeyType, Role, SystemClock, Usage};
    /// # let mut hsm = Hsm::new(1, Config { pin_iterations: 1_000, ..Config::default() }, Box::new(SystemClock))?;
    /// # hsm.init_token(&mut OsRng, 0, "t", b"so-pin-1")?;
    /// # let so = hsm.login_so(0, b"so-pin-1")?;
    /// # hsm.create_tenant(&mut OsRng, so, "acme")?;
    /// # hsm.create_user(&mut OsRng, so, "user", Role::User, &["acme"], b"user-pin")?;
    /// let s = hsm.login(0, "user", b"user-pin", Some("acme"))?;
    /// let attrs = KeyAttributes {
    ///     label: "acme transport".into(), tenant: "acme".into(), key_id: "transport".into(),
    ///     usage: Usage::WRAP | Usage::UNWRAP, extractable: false, active: true,
    /// };
    /// let kek = hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs)?;
    /// let wrapped = hsm.wrap_key(s, kek, &[0x11; 32])?;
    /// hsm.rotate(&mut OsRng, s, kek)?;
    /// assert_eq!(&hsm.unwrap_key(s, kek, &wrapped)?[..], &[0x11; 32]);
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// Policy errors first; [`Error::InvalidInput`] for empty or too long material.
    pub fn wrap_key(&mut self, session: SessionId, kek: Handle, key_material: &[u8]) -> Result<Vec<u8>> {
        self.wrap_with(session, kek, key_material, KeyWrap::Kwp)
    }

    /// As [`Self::wrap_key`] with AES-KW (RFC 3394, no padding): the
    /// material must be a multiple of 8 bytes, at least 16.
    ///
    /// # Errors
    /// As [`Self::wrap_key`]; [`Error::Crypto`] for a length KW cannot wrap.
    pub fn wrap_key_kw(&mut self, session: SessionId, kek: Handle, key_material: &[u8]) -> Result<Vec<u8>> {
        self.wrap_with(session, kek, key_material, KeyWrap::Kw)
    }

    fn wrap_with(
        &mut self,
        session: SessionId,
        kek: Handle,
        material: &[u8],
        mode: KeyWrap,
    ) -> Result<Vec<u8>> {
        if material.is_empty() || material.len() > crate::object::MAX_MATERIAL_LEN {
            return Err(Error::InvalidInput);
        }
        let key = self.authorize(session, kek, Usage::WRAP, &[KeyType::Aes256])?.current()?.secret.kek()?;
        Ok(match mode {
            KeyWrap::Kw => key.wrap_to_vec(material)?,
            KeyWrap::Kwp => key.wrap_padded_to_vec(material)?,
        })
    }

    /// Unwraps material wrapped by [`Self::wrap_key`] (AES-KWP) under any
    /// version of `kek` (usage UNWRAP, also when deactivated). The bytes are
    /// returned to the caller, zeroized on drop.
    ///
    /// # Errors
    /// Policy errors first; [`Error::Crypto`]`(Decrypt)` if no version unwraps it.
    pub fn unwrap_key(
        &mut self,
        session: SessionId,
        kek: Handle,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.unwrap_with(session, kek, wrapped, KeyWrap::Kwp)
    }

    /// Unwraps material wrapped by [`Self::wrap_key_kw`] (AES-KW, RFC 3394).
    ///
    /// # Errors
    /// As [`Self::unwrap_key`].
    pub fn unwrap_key_kw(
        &mut self,
        session: SessionId,
        kek: Handle,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.unwrap_with(session, kek, wrapped, KeyWrap::Kw)
    }

    /// Unwraps `wrapped` under any version of the AES-256 key `kek`,
    /// newest first (usage UNWRAP, authorized and audited first).
    pub(super) fn unwrap_with(
        &mut self,
        session: SessionId,
        kek: Handle,
        wrapped: &[u8],
        mode: KeyWrap,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let key = self.authorize(session, kek, Usage::UNWRAP, &[KeyType::Aes256])?;
        for v in key.versions.iter().rev() {
            let k = v.secret.kek()?;
            let r = match mode {
                KeyWrap::Kw => k.unwrap_to_vec(wrapped),
                KeyWrap::Kwp => k.unwrap_padded_to_vec(wrapped),
            };
            if let Ok(m) = r {
                return Ok(m);
            }
        }
        Err(Error::Crypto(coffer_core::Error::Decrypt))
    }

    /// Imports a key wrapped (AES-KWP) under any version of `unwrapping`
    /// (usage UNWRAP) as a new key with `attrs`, in coffer's own form (what
    /// [`Self::export_wrapped`] wraps). The key is not local
    /// ([`crate::KeyInfo::local`] false; audited as `KeyImported`). For
    /// other mechanisms and PKCS#8 private keys see [`Self::import_wrapped_as`].
    ///
    /// # Errors
    /// Policy errors first; [`Error::Crypto`]`(Decrypt)` if no version
    /// unwraps it; [`Error::Crypto`]`(InvalidKey)` for material that is not
    /// a key of `key_type` (`KeyPolicy` for an RSA key outside the policy).
    pub fn import_wrapped(
        &mut self,
        session: SessionId,
        unwrapping: Handle,
        key_type: KeyType,
        attrs: KeyAttributes,
        wrapped: &[u8],
    ) -> Result<Handle> {
        let material = self.unwrap_with(session, unwrapping, wrapped, KeyWrap::Kwp)?;
        let secret = Secret { bytes: material.to_vec() };
        check_secret(key_type, &secret)?;
        self.insert_for_session(session, key_type, attrs, secret, false)
    }
}

#[cfg(feature = "std")]
fn stream_error(e: envelope::StreamError) -> Error {
    match e {
        envelope::StreamError::Envelope(e) => Error::Crypto(e),
        envelope::StreamError::Io(_) => Error::Io,
        // `StreamError` is non-exhaustive; anything new is treated as a failed open.
        _ => Error::Crypto(coffer_core::Error::Decrypt),
    }
}

/// Every version of the KEK or RSA key as envelope unlock keys.
fn with_unlock_keys<T>(key: &KeyObject, f: impl FnOnce(&[UnlockKey<'_>]) -> Result<T>) -> Result<T> {
    let id = key.attrs.key_id.as_bytes();
    if key.key_type == KeyType::Aes256 {
        let keks: Vec<(u32, Kek)> =
            key.versions.iter().map(|v| v.secret.kek().map(|k| (v.number, k))).collect::<Result<_>>()?;
        let unlock: Vec<UnlockKey<'_>> =
            keks.iter().map(|(n, k)| UnlockKey::Kek { key_id: id, version: *n, kek: k }).collect();
        f(&unlock)
    } else {
        let rsa: Vec<(u32, Arc<coffer_core::rsa::RsaPrivateKey>)> =
            key.versions.iter().map(|v| v.secret.rsa().map(|k| (v.number, k))).collect::<Result<_>>()?;
        let unlock: Vec<UnlockKey<'_>> = rsa
            .iter()
            .map(|(n, k)| UnlockKey::Rsa { key_id: id, version: *n, private_key: k.as_ref() })
            .collect();
        f(&unlock)
    }
}

/// The current version of the KEK or RSA key as an envelope recipient,
/// with `extra` recipients after it.
fn with_recipients<T>(
    key: &KeyObject,
    extra: &[Recipient<'_>],
    f: impl FnOnce(&[Recipient<'_>]) -> Result<T>,
) -> Result<T> {
    let current = key.current()?;
    let id = key.attrs.key_id.as_bytes();
    if key.key_type == KeyType::Aes256 {
        let kek = current.secret.kek()?;
        let mut to = alloc::vec![Recipient::Kek { key_id: id, version: current.number, kek: &kek }];
        to.extend_from_slice(extra);
        f(&to)
    } else {
        let pk = current.secret.rsa()?.public_key();
        let mut to = alloc::vec![Recipient::Rsa { key_id: id, version: current.number, public_key: &pk }];
        to.extend_from_slice(extra);
        f(&to)
    }
}

/// The key types that sign under `scheme`.
fn scheme_key_types(scheme: SignatureScheme) -> &'static [KeyType] {
    match scheme {
        SignatureScheme::EcdsaP256Sha256 => &[KeyType::P256],
        SignatureScheme::RsaPkcs1Sha256 | SignatureScheme::RsaPssSha256 => {
            &[KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096]
        }
        _ => &[],
    }
}

/// The public key of one version: P-256, RSA, or a certificate's key.
fn public_key_of(key_type: KeyType, secret: &Secret) -> Result<Verifier> {
    Ok(match key_type {
        KeyType::P256 => Verifier::P256(secret.p256()?.public_key()),
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => Verifier::Rsa(secret.rsa()?.public_key()),
        KeyType::Certificate => {
            match coffer_core::cert::Certificate::from_der(&secret.bytes)?.public_key()? {
                coffer_core::cert::PublicKey::P256(k) => Verifier::P256(k),
                coffer_core::cert::PublicKey::Rsa(k) => Verifier::Rsa(k),
                _ => return Err(Error::InvalidInput),
            }
        }
        KeyType::Aes256 | KeyType::HmacSha256 => return Err(Error::InvalidInput),
    })
}

/// A verifying key of either kind.
enum Verifier {
    P256(coffer_core::p256::P256PublicKey),
    Rsa(coffer_core::rsa::RsaPublicKey),
}

impl Verifier {
    fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        match self {
            Verifier::P256(k) => Ok(k.verify_der(msg, sig)?),
            Verifier::Rsa(k) => Ok(k.verify_pss(msg, sig)?),
        }
    }

    fn spki_der(&self) -> Result<Vec<u8>> {
        match self {
            Verifier::P256(k) => Ok(k.to_spki_der()?),
            Verifier::Rsa(k) => Ok(k.to_spki_der()?),
        }
    }
}
