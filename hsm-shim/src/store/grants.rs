//! Tenant keys (KEYSTORE.md §13): a random 32-byte key per tenant seals
//! the material of the tenant's keys, and is itself kept only wrapped
//! ("granted") under keys derived from PINs: each credential of the tenant
//! holds one grant, and the tenant record holds one for the security
//! officer. The store's master key alone opens neither.

use alloc::vec::Vec;

use coffer_core::aead::{Aes256GcmSivKey, NONCE_LEN, Nonce, TAG_LEN};
use coffer_core::rng::TryCryptoRng;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Length of a grant: nonce, the wrapped 32-byte tenant key, tag.
pub(crate) const GRANT_LEN: usize = NONCE_LEN + 32 + TAG_LEN;
/// What sealing adds to key material: nonce and tag.
pub(crate) const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

const GRANT_LABEL: &[u8] = b"coffer tenant grant";
const MATERIAL_LABEL: &[u8] = b"coffer key material";
/// Appended to a PIN record's salt to derive the PIN's wrapping key.
pub(crate) const WRAP_SALT_SUFFIX: &[u8] = b"coffer pin wrap";

/// A tenant's key. Never stored in the clear.
#[derive(Clone)]
pub(crate) struct TenantKey(Zeroizing<[u8; 32]>);

impl core::fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TenantKey(<redacted>)")
    }
}

impl PartialEq for TenantKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.0.ct_eq(&*other.0))
    }
}

impl TenantKey {
    pub(crate) fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self> {
        let mut k = Zeroizing::new([0u8; 32]);
        crate::token::fill(rng, k.as_mut_slice())?;
        Ok(TenantKey(k))
    }

    fn aead(&self) -> Aes256GcmSivKey {
        Aes256GcmSivKey::from_bytes(*self.0)
    }

    /// `nonce || AES-256-GCM-SIV(tenant key, nonce, material, ad)` with
    /// `ad = "coffer key material" || slot || handle (8) || version (4)`.
    pub(crate) fn seal_material(
        &self,
        nonce: &Nonce,
        slot: u8,
        handle: u64,
        version: u32,
        material: &[u8],
    ) -> Result<Vec<u8>> {
        let ct = self.aead().seal(nonce, &material_ad(slot, handle, version), material)?;
        let mut out = Vec::with_capacity(NONCE_LEN.saturating_add(ct.len()));
        out.extend_from_slice(nonce.as_bytes());
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens what [`Self::seal_material`] wrote; any failure is
    /// [`Error::KeystoreAuth`].
    pub(crate) fn open_material(
        &self,
        slot: u8,
        handle: u64,
        version: u32,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN).ok_or(Error::KeystoreAuth)?;
        let nonce = Nonce::from_slice(nonce).map_err(|_| Error::KeystoreAuth)?;
        self.aead().open(&nonce, &material_ad(slot, handle, version), body).map_err(|_| Error::KeystoreAuth)
    }
}

fn material_ad(slot: u8, handle: u64, version: u32) -> Vec<u8> {
    let mut ad = MATERIAL_LABEL.to_vec();
    ad.push(slot);
    ad.extend_from_slice(&handle.to_be_bytes());
    ad.extend_from_slice(&version.to_be_bytes());
    ad
}

/// A key derived from a PIN that wraps grants; never stored. PBKDF2-HMAC-
/// SHA-256 of the PIN with the PIN record's salt followed by
/// [`WRAP_SALT_SUFFIX`], at the record's iterations: independent of the
/// stored PIN hash, so the hash does not give it away.
#[derive(Clone)]
pub(crate) struct WrapKey(Zeroizing<[u8; 32]>);

impl WrapKey {
    pub(crate) fn derive(pin: &[u8], pin_salt: &[u8; 16], iterations: u32) -> Self {
        let mut salt = [0u8; 16 + WRAP_SALT_SUFFIX.len()];
        let (head, tail) = salt.split_at_mut(16);
        head.copy_from_slice(pin_salt);
        tail.copy_from_slice(WRAP_SALT_SUFFIX);
        let mut out = Zeroizing::new([0u8; 32]);
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pin, &salt, iterations, out.as_mut_slice());
        WrapKey(out)
    }

    fn aead(&self) -> Aes256GcmSivKey {
        Aes256GcmSivKey::from_bytes(*self.0)
    }

    /// `nonce || AES-256-GCM-SIV(wrap key, nonce, tenant key, ad)` with
    /// `ad = "coffer tenant grant" || str(holder) || str(tenant)`.
    pub(crate) fn grant(
        &self,
        nonce: &Nonce,
        holder: &str,
        tenant: &str,
        key: &TenantKey,
    ) -> Result<[u8; GRANT_LEN]> {
        let ct = self.aead().seal(nonce, &grant_ad(holder, tenant)?, key.0.as_slice())?;
        let mut out = [0u8; GRANT_LEN];
        let (n, rest) = out.split_at_mut(NONCE_LEN);
        n.copy_from_slice(nonce.as_bytes());
        if rest.len() != ct.len() {
            return Err(Error::KeystoreCorrupt);
        }
        rest.copy_from_slice(&ct);
        Ok(out)
    }

    /// The tenant key in `grant`; [`Error::KeystoreAuth`] if it does not
    /// open (another PIN, holder or tenant, or a changed grant).
    pub(crate) fn open_grant(
        &self,
        holder: &str,
        tenant: &str,
        grant: &[u8; GRANT_LEN],
    ) -> Result<TenantKey> {
        let (nonce, body) = grant.split_at(NONCE_LEN);
        let nonce = Nonce::from_slice(nonce).map_err(|_| Error::KeystoreAuth)?;
        let plain =
            self.aead().open(&nonce, &grant_ad(holder, tenant)?, body).map_err(|_| Error::KeystoreAuth)?;
        let key: [u8; 32] = plain.as_slice().try_into().map_err(|_| Error::KeystoreAuth)?;
        Ok(TenantKey(Zeroizing::new(key)))
    }
}

fn grant_ad(holder: &str, tenant: &str) -> Result<Vec<u8>> {
    let mut ad = GRANT_LABEL.to_vec();
    for s in [holder, tenant] {
        ad.push(u8::try_from(s.len()).map_err(|_| Error::InvalidInput)?);
        ad.extend_from_slice(s.as_bytes());
    }
    Ok(ad)
}
