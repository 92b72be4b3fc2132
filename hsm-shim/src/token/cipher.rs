//! Data encryption by handle: AES-256-GCM with the caller's nonce, and
//! RSA-OAEP (SHA-256, MGF1-SHA-256) with a label — the operations under
//! PKCS#11's `CKM_AES_GCM` and `CKM_RSA_PKCS_OAEP`.
//!
//! Each is authorized and audited exactly as a signature is
//! ([`Hsm::sign_with`]): role, tenant, key type, lifecycle state, usage
//! (ENCRYPT, or DECRYPT) and expiry are checked, and the use or the refusal
//! is committed to the audit log (as a `Seal` or `Open` use of the key)
//! before any cryptography runs. Encryption takes the current version and
//! needs an active key; decryption tries every version, newest first, and
//! is also allowed on a deactivated key. A failed decryption releases
//! nothing and is always [`Error::Crypto`]`(Decrypt)`, whatever went wrong.

use alloc::vec::Vec;

use coffer_core::hazmat::gcm;
use coffer_core::rng::TryCryptoRng;
use zeroize::Zeroizing;

use super::{Hsm, SessionId};
use crate::error::{Error, Result};
use crate::object::{Handle, KeyType, Secret, Usage};

/// The key types RSA-OAEP takes.
const RSA_KEYS: [KeyType; 3] = [KeyType::Rsa2048, KeyType::Rsa3072, KeyType::Rsa4096];

/// The 32 bytes of an AES-256 version.
fn aes_key(secret: &Secret) -> Result<&[u8; gcm::KEY_LEN]> {
    secret.bytes.as_slice().try_into().map_err(|_| Error::Crypto(coffer_core::Error::InvalidKey))
}

impl Hsm {
    /// Encrypts `plaintext` with AES-256-GCM under the current version of
    /// the AES-256 key `key` (usage ENCRYPT, active), with the caller's
    /// 96-bit `nonce` and associated data `aad`; returns `ciphertext ‖ tag`
    /// (16-byte tag). See [`coffer_core::hazmat::gcm`]: the caller must
    /// never use a nonce twice under one key (every version counts as the
    /// same key here only if it is the same version; a rotation starts a
    /// fresh key).
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
    ///     label: "acme records".into(), tenant: "acme".into(), key_id: "records".into(),
    ///     usage: Usage::ENCRYPT | Usage::DECRYPT, extractable: false, active: true,
    /// };
    /// let key = hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs)?;
    /// let nonce = [7; 12]; // never again under this key
    /// let sealed = hsm.encrypt_gcm(s, key, &nonce, b"record 17", b"balance: 100")?;
    /// hsm.rotate(&mut OsRng, s, key)?;
    /// assert_eq!(&hsm.decrypt_gcm(s, key, &nonce, b"record 17", &sealed)?[..], b"balance: 100");
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// The policy errors first ([`Error::NotFound`],
    /// [`Error::TenantNotAllowed`], [`Error::InvalidInput`] for a key of
    /// another type, [`Error::KeyState`], [`Error::PolicyDenied`],
    /// [`Error::KeyExpired`], [`Error::AuditFull`]);
    /// [`Error::Crypto`]`(InvalidLength)` beyond GCM's limits.
    pub fn encrypt_gcm(
        &mut self,
        session: SessionId,
        key: Handle,
        nonce: &[u8; gcm::NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let key = self.authorize(session, key, Usage::ENCRYPT, &[KeyType::Aes256])?;
        Ok(gcm::encrypt(aes_key(&key.current()?.secret)?, nonce, aad, plaintext)?)
    }

    /// Decrypts `sealed` = `ciphertext ‖ tag` made by [`Self::encrypt_gcm`]
    /// with any version of `key` (usage DECRYPT; active or deactivated),
    /// newest first. The plaintext is returned only when a tag checks, in a
    /// buffer wiped on drop.
    ///
    /// # Errors
    /// The policy errors first; [`Error::Crypto`]`(Decrypt)` if no version
    /// opens it (a bad tag, wrong nonce or associated data, too short).
    pub fn decrypt_gcm(
        &mut self,
        session: SessionId,
        key: Handle,
        nonce: &[u8; gcm::NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let key = self.authorize(session, key, Usage::DECRYPT, &[KeyType::Aes256])?;
        for v in key.versions.iter().rev() {
            if let Ok(plaintext) = gcm::decrypt(aes_key(&v.secret)?, nonce, aad, sealed) {
                return Ok(plaintext.into_zeroizing());
            }
        }
        Err(Error::Crypto(coffer_core::Error::Decrypt))
    }

    /// Encrypts `plaintext` with RSA-OAEP (SHA-256, MGF1-SHA-256, the
    /// given `label`) under the public key of the current version of the
    /// RSA key `key` (usage ENCRYPT, active). The ciphertext is as long as
    /// the modulus; `rng` draws the OAEP seed.
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
    ///     usage: Usage::ENCRYPT | Usage::DECRYPT, extractable: false, active: true,
    /// };
    /// let key = hsm.generate(&mut OsRng, s, KeyType::Rsa2048, attrs)?;
    /// let ct = hsm.encrypt_oaep(&mut OsRng, s, key, b"session keys", &[0x11; 32])?;
    /// assert_eq!(ct.len(), 256);
    /// assert_eq!(&hsm.decrypt_oaep(&mut OsRng, s, key, b"session keys", &ct)?[..], &[0x11; 32]);
    /// assert!(hsm.decrypt_oaep(&mut OsRng, s, key, b"other label", &ct).is_err());
    /// # Ok::<(), coffer_hsm::Error>(())
    /// ```
    ///
    /// # Errors
    /// The policy errors first (as [`Self::encrypt_gcm`]);
    /// [`Error::Crypto`]`(InvalidLength)` for a plaintext longer than the
    /// modulus allows (`k − 66` bytes) or a label longer than
    /// [`coffer_core::rsa::MAX_LABEL_LEN`].
    pub fn encrypt_oaep<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        key: Handle,
        label: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let key = self.authorize(session, key, Usage::ENCRYPT, &RSA_KEYS)?;
        let public = key.current()?.secret.rsa()?.public_key();
        Ok(public.oaep_encrypt_with_label(rng, plaintext, label)?)
    }

    /// Decrypts an RSA-OAEP (SHA-256, MGF1-SHA-256, `label`) ciphertext
    /// with the private key of any version of the RSA key `key` (usage
    /// DECRYPT; active or deactivated), newest first; `rng` blinds the
    /// private-key operation.
    ///
    /// # Errors
    /// The policy errors first; [`Error::Crypto`]`(Decrypt)` if no version
    /// decrypts it (a wrong label, a ciphertext of another length or not
    /// made for this key).
    pub fn decrypt_oaep<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        session: SessionId,
        key: Handle,
        label: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let key = self.authorize(session, key, Usage::DECRYPT, &RSA_KEYS)?;
        for v in key.versions.iter().rev() {
            if let Ok(plaintext) = v.secret.rsa()?.oaep_decrypt_with_label(rng, ciphertext, label) {
                return Ok(plaintext);
            }
        }
        Err(Error::Crypto(coffer_core::Error::Decrypt))
    }
}
