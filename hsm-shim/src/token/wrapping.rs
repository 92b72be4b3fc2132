//! Wrapping and unwrapping keys by mechanism, in the forms PKCS#11's
//! `C_WrapKey` / `C_UnwrapKey` exchange: AES-KW (RFC 3394), AES-KWP
//! (RFC 5649) under an AES-256 key, RSA-OAEP (SHA-256, MGF1-SHA-256, an
//! optional label) under an RSA key pair's public half.
//!
//! What is wrapped: the raw 32 bytes of an AES-256 or HMAC key; the PKCS#8
//! `PrivateKeyInfo` DER of a P-256 or RSA private key (coffer keeps a P-256
//! key as its 32-byte scalar and encodes it with coffer-core's PKCS#8
//! encoder; an RSA key is PKCS#8 already, KEYSTORE.md §3.1). A private key
//! is wrapped only with AES-KWP: RSA-OAEP cannot carry it, and AES-KW
//! needs a multiple of 8 bytes, which a PKCS#8 encoding is only by chance,
//! so coffer refuses it always rather than for some keys
//! ([`Error::NotWrappable`]). Certificates are public and never wrapped.
//!
//! Each wrap is audited as the existing [`Hsm::export_wrapped`]: a refused
//! target is a refusal record, the wrapping key's use a `KeyUsed` record
//! (through `authorize`), and the wrap itself `KeyExported`. An unwrap is
//! the unwrapping key's `KeyUsed` and then `KeyImported` of the new key,
//! which is never local ([`crate::KeyInfo::local`]).

use alloc::vec::Vec;

use coffer_core::p256::P256SecretKey;
use coffer_core::rng::TryCryptoRng;
use coffer_core::rsa::{MAX_LABEL_LEN, RsaPrivateKey};
use zeroize::Zeroizing;

use super::keys::{check_secret, key_ref, refuse, tenant_key};
use super::operations::KeyWrap;
use super::{AuditClass, Hsm, SessionCtx, SessionId};
use crate::audit::{AuditEvent, Operation, Refusal};
use crate::error::{Error, Result};
use crate::object::{Handle, KeyAttributes, KeyState, KeyType, Secret, Usage};

/// The RSA key types, which wrap and unwrap with RSA-OAEP.
const RSA_KEYS: [KeyType; 3] = [KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096];

/// How a key is wrapped ([`Hsm::export_wrapped_as`], [`Hsm::import_wrapped_as`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrapMechanism<'a> {
    /// AES-KW (RFC 3394, the default IV `A6A6A6A6A6A6A6A6`) under an
    /// AES-256 key: secret keys (32 bytes) only.
    AesKw,
    /// AES-KWP (RFC 5649, the IV prefix `A65959A6`) under an AES-256 key:
    /// secret keys, and private keys as PKCS#8 DER.
    AesKwp,
    /// RSA-OAEP with SHA-256 and MGF1-SHA-256 under an RSA key pair (the
    /// public half wraps, the private half unwraps): secret keys only.
    RsaOaep {
        /// The OAEP label (PKCS#11 `CKZ_DATA_SPECIFIED`), at most
        /// [`MAX_LABEL_LEN`] bytes; empty for none.
        label: &'a [u8],
    },
}

impl WrapMechanism<'_> {
    /// Whether a key of `key_type` can be wrapped with this mechanism.
    pub fn wraps(self, key_type: KeyType) -> bool {
        match key_type {
            KeyType::Aes256 | KeyType::HmacSha256 => true,
            KeyType::P256 | KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
                self == WrapMechanism::AesKwp
            }
            KeyType::Certificate => false,
        }
    }

    /// The key types of the wrapping (and unwrapping) key.
    fn wrapping_key_types(self) -> &'static [KeyType] {
        match self {
            WrapMechanism::AesKw | WrapMechanism::AesKwp => &[KeyType::Aes256],
            WrapMechanism::RsaOaep { .. } => &RSA_KEYS,
        }
    }

    fn label_ok(self) -> bool {
        match self {
            WrapMechanism::RsaOaep { label } => label.len() <= MAX_LABEL_LEN,
            _ => true,
        }
    }
}

/// The form a key's material is wrapped in.
#[derive(Clone, Copy)]
pub(super) enum MaterialForm {
    /// As coffer stores it: 32 bytes for AES, HMAC and P-256, PKCS#8 for
    /// RSA ([`Hsm::export_wrapped`]).
    Stored,
    /// As PKCS#11 exchanges it: private keys as PKCS#8 `PrivateKeyInfo`.
    Pkcs8,
}

impl MaterialForm {
    fn encode(self, key_type: KeyType, secret: &Secret) -> Result<Zeroizing<Vec<u8>>> {
        match (self, key_type) {
            (MaterialForm::Pkcs8, KeyType::P256) => Ok(secret.p256_owned()?.to_pkcs8_der()?),
            _ => Ok(Zeroizing::new(secret.bytes.clone())),
        }
    }
}

/// coffer's form of unwrapped PKCS#11 material for a key of `key_type`,
/// with the type it is stored as: secret keys as they are, a P-256 PKCS#8
/// as its scalar, an RSA PKCS#8 parsed (under the default RSA policy) and
/// encoded again, its type the one of its modulus size.
fn secret_of_pkcs8(key_type: KeyType, material: &[u8]) -> Result<(KeyType, Secret)> {
    let (key_type, bytes) = match key_type {
        KeyType::Aes256 | KeyType::HmacSha256 => (key_type, material.to_vec()),
        KeyType::P256 => (key_type, P256SecretKey::from_pkcs8_der(material)?.to_bytes().to_vec()),
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            let key = RsaPrivateKey::from_pkcs8_der(material)?;
            let sized = match key.public_key().bits() {
                2048 => KeyType::Rsa2048,
                3072 => KeyType::Rsa3072,
                4096 => KeyType::Rsa4096,
                _ => return Err(Error::Crypto(coffer_core::Error::InvalidKey)),
            };
            (sized, key.to_pkcs8_der()?.to_vec())
        }
        KeyType::Certificate => return Err(Error::InvalidInput),
    };
    Ok((key_type, Secret { bytes }))
}

impl Hsm {
    /// Exports the current version of `target` wrapped under the current
    /// version of `wrapping` (usage WRAP) with `mechanism`: AES-KW or
    /// AES-KWP under an AES-256 key, RSA-OAEP under an RSA key's public
    /// half. Secret keys are wrapped as their 32 bytes, private keys (AES-KWP
    /// only) as PKCS#8 DER, as PKCS#11 `C_WrapKey` does (module docs).
    ///
    /// ```
    /// # use coffer_core::rng::OsRng;
    /// # use coffer_hsm::{Config, Hsm, KeyAttributes, KeyType, Role, SystemClock, Usage, WrapMechanism};
    /// # let mut hsm = Hsm::new(1, Config { pin_iterations: 1_000, ..Config::default() }, Box::new(SystemClock))?;
    /// # hsm.init_token(&mut OsRng, 0, "t", b"so-pin-1")?;
    /// # let so = hsm.login_so(0, b"so-pin-1")?;
    /// # hsm.create_tenant(&mut OsRng, so, "acme")?;
    /// # hsm.create_user(&mut OsRng, so, "user", Role::User, &["acme"], b"user-pin")?;
    /// let s = hsm.login(0, "user", b"user-pin", Some("acme"))?;
    /// let attrs = |key_id: &str, usage: Usage, extractable: bool| KeyAttributes {
    ///     label: key_id.into(), tenant: "acme".into(), key_id: key_id.into(),
    ///     usage, extractable, active: true,
    /// };
    /// let kek = hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs("kek", Usage::WRAP | Usage::UNWRAP, false))?;
    /// let hooks = hsm.generate(&mut OsRng, s, KeyType::HmacSha256, attrs("hooks", Usage::SIGN, true))?;
    ///
    /// let wrapped = hsm.export_wrapped_as(&mut OsRng, s, kek, hooks, WrapMechanism::AesKw)?;
    /// assert_eq!(wrapped.len(), 40); // 32 bytes + the 8-byte integrity block
    /// let copy = hsm.import_wrapped_as(
    ///     &mut OsRng, s, kek, WrapMechanism::AesKw, KeyType::HmacSha256,
    ///     attrs("hooks copy", Usage::SIGN, false), &wrapped,
    /// )?;
    /// assert_eq!(hsm.hmac_sign(s, copy, &[b"body"])?, hsm.hmac_sign(s, hooks, &[b"body"])?);
    /// assert!(hsm.info(s, hooks)?.local);
    /// assert!(!hsm.info(s, copy)?.local); // its material came from outside
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NotExtractable`] (audited) for a target that is not
    /// extractable, [`Error::KeyState`] (audited) for a destroyed one;
    /// [`Error::NotWrappable`] for a target `mechanism` does not wrap
    /// ([`WrapMechanism::wraps`]); [`Error::InvalidInput`] for an OAEP label
    /// over [`MAX_LABEL_LEN`] bytes or a wrapping key of another type; the
    /// policy errors of `wrapping`.
    pub fn export_wrapped_as<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        wrapping: Handle,
        target: Handle,
        mechanism: WrapMechanism<'_>,
    ) -> Result<Vec<u8>> {
        if !mechanism.label_ok() {
            return Err(Error::InvalidInput);
        }
        let ctx = self.export_check(session, target, Some(mechanism))?;
        let key = self.authorize(session, wrapping, Usage::WRAP, mechanism.wrapping_key_types())?;
        let current = &key.current()?.secret;
        let form = MaterialForm::Pkcs8;
        match mechanism {
            WrapMechanism::AesKw => {
                let kek = current.kek()?;
                self.export_finish(&ctx, target, form, &mut |m| Ok(kek.wrap_to_vec(m)?))
            }
            WrapMechanism::AesKwp => {
                let kek = current.kek()?;
                self.export_finish(&ctx, target, form, &mut |m| Ok(kek.wrap_padded_to_vec(m)?))
            }
            WrapMechanism::RsaOaep { label } => {
                let public = current.rsa()?.public_key();
                self.export_finish(&ctx, target, form, &mut |m| {
                    Ok(public.oaep_encrypt_with_label(&mut *rng, m, label)?)
                })
            }
        }
    }

    /// Imports a key wrapped with `mechanism` under any version of
    /// `unwrapping` (usage UNWRAP; versions tried newest first) as a new key
    /// of `key_type` with `attrs`: the reverse of [`Self::export_wrapped_as`].
    /// The material must be a key of `key_type` in the form PKCS#11 wraps
    /// it (32 bytes for AES-256 and HMAC; PKCS#8 DER for P-256 and RSA,
    /// stored in coffer's form). Any of the RSA key types asks for an RSA
    /// key of any size coffer has (2048, 3072 or 4096 bits): the key is
    /// stored with the type of its own size, as PKCS#11's `CKK_RSA` names
    /// no size. The new key is not local
    /// ([`crate::KeyInfo::local`] false; audited as `KeyImported`). A
    /// failed unwrap creates nothing.
    ///
    /// ```
    /// # use coffer_core::rng::OsRng;
    /// # use coffer_hsm::{Config, Hsm, KeyAttributes, KeyType, Role, SystemClock, Usage, WrapMechanism};
    /// # let mut hsm = Hsm::new(1, Config { pin_iterations: 1_000, ..Config::default() }, Box::new(SystemClock))?;
    /// # hsm.init_token(&mut OsRng, 0, "t", b"so-pin-1")?;
    /// # let so = hsm.login_so(0, b"so-pin-1")?;
    /// # hsm.create_tenant(&mut OsRng, so, "acme")?;
    /// # hsm.create_user(&mut OsRng, so, "user", Role::User, &["acme"], b"user-pin")?;
    /// let s = hsm.login(0, "user", b"user-pin", Some("acme"))?;
    /// let attrs = |key_id: &str, usage: Usage, extractable: bool| KeyAttributes {
    ///     label: key_id.into(), tenant: "acme".into(), key_id: key_id.into(),
    ///     usage, extractable, active: true,
    /// };
    /// let kek = hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs("kek", Usage::WRAP | Usage::UNWRAP, false))?;
    /// let signer = hsm.generate(&mut OsRng, s, KeyType::P256, attrs("signer", Usage::SIGN, true))?;
    ///
    /// // A private key leaves as PKCS#8 under AES-KWP ...
    /// let wrapped = hsm.export_wrapped_as(&mut OsRng, s, kek, signer, WrapMechanism::AesKwp)?;
    /// // ... and comes back as a new key with the same public key.
    /// let copy = hsm.import_wrapped_as(
    ///     &mut OsRng, s, kek, WrapMechanism::AesKwp, KeyType::P256,
    ///     attrs("signer copy", Usage::SIGN, false), &wrapped,
    /// )?;
    /// assert_eq!(hsm.public_key_der(s, copy)?, hsm.public_key_der(s, signer)?);
    /// // A changed byte unwraps under no version: nothing is created.
    /// let mut bad = wrapped.clone();
    /// bad[0] ^= 1;
    /// let refused = hsm.import_wrapped_as(
    ///     &mut OsRng, s, kek, WrapMechanism::AesKwp, KeyType::P256, attrs("bad", Usage::SIGN, false), &bad,
    /// );
    /// assert_eq!(refused, Err(coffer_hsm::Error::Crypto(coffer_core::Error::Decrypt)));
    /// assert_eq!(hsm.find(s, "bad"), Err(coffer_hsm::Error::NotFound));
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// The policy errors of `unwrapping` first ([`Error::InvalidInput`] for
    /// one of a type `mechanism` does not use); [`Error::Crypto`]`(Decrypt)`
    /// if no version unwraps it; [`Error::Crypto`]`(InvalidKey)` for
    /// material that is not a key of `key_type` (`KeyPolicy` for an RSA key
    /// outside the policy); [`Error::InvalidInput`] for a certificate
    /// `key_type`, an OAEP label over [`MAX_LABEL_LEN`] bytes, or `attrs`
    /// that [`Self::generate`] would refuse.
    #[allow(clippy::too_many_arguments, reason = "the key's type, attributes and wrapping, as C_UnwrapKey's")]
    pub fn import_wrapped_as<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        unwrapping: Handle,
        mechanism: WrapMechanism<'_>,
        key_type: KeyType,
        attrs: KeyAttributes,
        wrapped: &[u8],
    ) -> Result<Handle> {
        if key_type == KeyType::Certificate || !mechanism.label_ok() {
            return Err(Error::InvalidInput);
        }
        let material = match mechanism {
            WrapMechanism::AesKw => self.unwrap_with(session, unwrapping, wrapped, KeyWrap::Kw)?,
            WrapMechanism::AesKwp => self.unwrap_with(session, unwrapping, wrapped, KeyWrap::Kwp)?,
            WrapMechanism::RsaOaep { label } => {
                let key = self.authorize(session, unwrapping, Usage::UNWRAP, &RSA_KEYS)?;
                let mut found = None;
                for v in key.versions.iter().rev() {
                    if let Ok(m) = v.secret.rsa()?.oaep_decrypt_with_label(&mut *rng, wrapped, label) {
                        found = Some(m);
                        break;
                    }
                }
                found.ok_or(Error::Crypto(coffer_core::Error::Decrypt))?
            }
        };
        let (key_type, secret) = secret_of_pkcs8(key_type, &material)?;
        check_secret(key_type, &secret)?;
        self.insert_for_session(session, key_type, attrs, secret, false)
    }

    /// The first step of every export: the target must be extractable and
    /// not destroyed (each refusal audited and committed), and of a type
    /// `mechanism` wraps (if one is given). Returns the session's context.
    pub(super) fn export_check(
        &mut self,
        session: SessionId,
        target: Handle,
        mechanism: Option<WrapMechanism<'_>>,
    ) -> Result<SessionCtx> {
        let ctx = self.user(session, Operation::Export)?;
        let slot = ctx.slot;
        let limit = self.config.audit_limit(AuditClass::Work);
        self.transact(|tx| {
            let t = tenant_key(tx, &ctx, target, Operation::Export)?;
            if !t.attrs.extractable {
                tx.ensure_room(slot, 1, limit)?;
                return refuse(
                    tx,
                    &ctx,
                    &t,
                    Operation::Export,
                    Refusal::UsageNotAllowed,
                    Error::NotExtractable,
                );
            }
            if t.state == KeyState::Destroyed {
                return refuse(tx, &ctx, &t, Operation::Export, Refusal::WrongState, Error::KeyState);
            }
            if mechanism.is_some_and(|m| !m.wraps(t.key_type)) {
                return Err(Error::NotWrappable);
            }
            Ok(())
        })?;
        Ok(ctx)
    }

    /// The last step of every export, after the wrapping key's use was
    /// authorized: `wrap` of the target's current material in `form`, and
    /// the `KeyExported` record, in one transaction.
    pub(super) fn export_finish(
        &mut self,
        ctx: &SessionCtx,
        target: Handle,
        form: MaterialForm,
        wrap: &mut dyn FnMut(&[u8]) -> Result<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let slot = ctx.slot;
        let limit = self.config.audit_limit(AuditClass::Work);
        self.transact(|tx| {
            tx.ensure_room(slot, 1, limit)?;
            let t = tenant_key(tx, ctx, target, Operation::Export)?;
            if t.state == KeyState::Destroyed {
                return Err(Error::KeyState);
            }
            let material = form.encode(t.key_type, &t.current()?.secret)?;
            let wrapped = wrap(&material)?;
            tx.log(slot, AuditEvent::KeyExported { key: key_ref(&t) })?;
            Ok(wrapped)
        })
    }
}
