//! ECDSA over a digest the caller made (PKCS#11's `CKM_ECDSA`), by handle,
//! authorized and audited as [`Hsm::sign_with`] and [`Hsm::verify_with`] are.

use coffer_core::p256::{P256Signature, SIGNATURE_LEN};

use super::{Hsm, SessionId};
use crate::error::{Error, Result};
use crate::object::{Handle, KeyType, Usage};

impl Hsm {
    /// Signs `digest`, a hash the caller computed, with the current version
    /// of the P-256 key `handle` (usage SIGN): the fixed-size `r ‖ s`
    /// signature of [`P256SecretKey::sign_prehash`], deterministic (RFC 6979).
    ///
    /// Prefer [`Self::sign_with`], which hashes the message inside the
    /// token: this is for callers that must hash elsewhere (a PKCS#11
    /// application using `CKM_ECDSA`, a protocol that signs a transcript
    /// hash).
    ///
    /// ```
    /// # use coffer_core::rng::OsRng;
    /// # use coffer_hsm::{Config, Hsm, KeyAttributes, KeyType, Role, SystemClock, Usage};
    /// # let mut hsm = Hsm::new(1, Config { pin_iterations: 1_000, ..Config::default() }, Box::new(SystemClock))?;
    /// # hsm.init_token(&mut OsRng, 0, "t", b"so-pin-1")?;
    /// # let so = hsm.login_so(0, b"so-pin-1")?;
    /// # hsm.create_tenant(&mut OsRng, so, "acme")?;
    /// # hsm.create_user(&mut OsRng, so, "user", Role::User, &["acme"], b"user-pin")?;
    /// use coffer_core::hash::sha256;
    ///
    /// let s = hsm.login(0, "user", b"user-pin", Some("acme"))?;
    /// let attrs = KeyAttributes {
    ///     label: "acme signing".into(), tenant: "acme".into(), key_id: "signing".into(),
    ///     usage: Usage::SIGN | Usage::VERIFY, extractable: false, active: true,
    /// };
    /// let key = hsm.generate(&mut OsRng, s, KeyType::P256, attrs)?;
    /// let digest = sha256(b"transcript");
    /// let sig = hsm.sign_prehash(s, key, &digest)?;
    /// hsm.verify_prehash(s, key, &digest, &sig)?;
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// [`P256SecretKey::sign_prehash`]: coffer_core::p256::P256SecretKey::sign_prehash
    ///
    /// # Errors
    /// The policy errors first ([`Error::InvalidInput`] for a key that is
    /// not P-256, before any audit record); [`Error::Crypto`]`(InvalidLength)`
    /// for an empty digest or one longer than
    /// [`MAX_PREHASH_LEN`](coffer_core::p256::MAX_PREHASH_LEN).
    pub fn sign_prehash(
        &mut self,
        session: SessionId,
        handle: Handle,
        digest: &[u8],
    ) -> Result<[u8; SIGNATURE_LEN]> {
        let key = self.authorize(session, handle, Usage::SIGN, &[KeyType::P256])?;
        let sig = key.current()?.secret.p256()?.sign_prehash(digest)?;
        Ok(*sig.as_bytes())
    }

    /// Verifies a fixed-size (`r ‖ s`) signature over `digest` against any
    /// version of the P-256 key `handle` (usage VERIFY).
    ///
    /// # Errors
    /// The policy errors first; [`Error::Crypto`]`(Verify)` for a wrong
    /// signature, one that is not 64 bytes, or a digest outside 1..=64 bytes.
    pub fn verify_prehash(
        &mut self,
        session: SessionId,
        handle: Handle,
        digest: &[u8],
        sig: &[u8],
    ) -> Result<()> {
        let key = self.authorize(session, handle, Usage::VERIFY, &[KeyType::P256])?;
        let sig: [u8; SIGNATURE_LEN] =
            sig.try_into().map_err(|_| Error::Crypto(coffer_core::Error::Verify))?;
        let sig = P256Signature::from_bytes(sig);
        for v in key.versions.iter().rev() {
            if v.secret.p256()?.public_key().verify_prehash(digest, &sig).is_ok() {
                return Ok(());
            }
        }
        Err(Error::Crypto(coffer_core::Error::Verify))
    }
}
