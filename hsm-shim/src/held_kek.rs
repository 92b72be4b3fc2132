//! The software HSM as an envelope key holder: a KEK handle of an [`Hsm`]
//! behind coffer-core's [`KekHolder`], so that
//! [`Recipient::Held`] / [`UnlockKey::Held`] wrap and unwrap data keys
//! inside the HSM (usage WRAP / UNWRAP, authorized and audited there).

use alloc::string::String;
use core::cell::{Cell, RefCell};

use coffer_core::envelope::{DEK_LEN, KekHolder, Recipient, UnlockKey};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::object::KeyType;
use crate::policy::Handle;
use crate::token::{Hsm, SessionId};

/// Length of a wrapped data key (AES-KW adds 8 bytes).
const WRAPPED_LEN: usize = DEK_LEN + 8;

/// An AES-256 key of an [`Hsm`] as a [`KekHolder`]: `wrap_dek` is
/// [`Hsm::wrap_key_kw`] under the key's current version, `unwrap_dek` is
/// [`Hsm::unwrap_key_kw`] under any version. The key needs usage WRAP to
/// seal and UNWRAP to open; its material never leaves the HSM.
///
/// The records are the envelope's AES-256-KW records (FORMAT.md §1.4, kind
/// `01`) with the key's id and version, the same bytes
/// [`Hsm::seal_envelope`] writes, so either side opens the other's envelopes
/// (given usage ENCRYPT/DECRYPT for the `Hsm` methods).
///
/// ```
/// use coffer_core::envelope::{self, EncryptionContext};
/// use coffer_core::rng::OsRng;
/// use coffer_hsm::{Config, HeldKek, Hsm, KeyAttributes, KeyType, Role, SystemClock, Usage};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = Config { pin_iterations: 1_000, ..Config::default() };
/// let mut hsm = Hsm::new(1, config, Box::new(SystemClock))?;
/// hsm.init_token(&mut OsRng, 0, "t", b"so-pin-1")?;
/// let so = hsm.login_so(0, b"so-pin-1")?;
/// hsm.create_tenant(&mut OsRng, so, "acme")?;
/// hsm.create_user(&mut OsRng, so, "alice", Role::User, &["acme"], b"alice-pin")?;
/// let alice = hsm.login(0, "alice", b"alice-pin", Some("acme"))?;
/// let attrs = KeyAttributes {
///     label: "kek".into(),
///     tenant: "acme".into(),
///     key_id: "kek".into(),
///     usage: Usage::WRAP | Usage::UNWRAP,
///     extractable: false,
///     active: true,
/// };
/// let kek = hsm.generate(&mut OsRng, alice, KeyType::Aes256, attrs)?;
///
/// let held = HeldKek::new(&mut hsm, alice, kek)?;
/// let ctx = EncryptionContext::new();
/// let env = envelope::seal(&mut OsRng, &[held.recipient()], &ctx, b"held")?;
/// assert_eq!(&envelope::open(&mut OsRng, &[held.unlock_key()], &ctx, &env)?[..], b"held");
/// # Ok(())
/// # }
/// ```
pub struct HeldKek<'h> {
    hsm: RefCell<&'h mut Hsm>,
    session: SessionId,
    handle: Handle,
    key_id: String,
    version: u32,
    last_error: Cell<Option<Error>>,
}

impl core::fmt::Debug for HeldKek<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeldKek")
            .field("session", &self.session)
            .field("handle", &self.handle)
            .field("key_id", &self.key_id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl<'h> HeldKek<'h> {
    /// The AES-256 key `handle`, seen through `session`, as a holder; its
    /// key id and current version are read now (they name the envelope
    /// recipient).
    ///
    /// # Errors
    /// What [`Hsm::info`] reports (not logged in, another tenant's key,
    /// no such key); [`Error::InvalidInput`] for a key that is not AES-256.
    pub fn new(hsm: &'h mut Hsm, session: SessionId, handle: Handle) -> Result<Self> {
        let info = hsm.info(session, handle)?;
        if info.key_type != KeyType::Aes256 {
            return Err(Error::InvalidInput);
        }
        Ok(HeldKek {
            hsm: RefCell::new(hsm),
            session,
            handle,
            key_id: info.attributes.key_id,
            version: info.version,
            last_error: Cell::new(None),
        })
    }

    /// The key's id (the envelope recipient's key id).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The key's current version when this holder was made.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// This key as an envelope recipient: its key id and current version.
    pub fn recipient(&self) -> Recipient<'_> {
        Recipient::Held { key_id: self.key_id.as_bytes(), version: self.version, holder: self }
    }

    /// This key as an unlock key for records of its current version. For an
    /// older version build [`UnlockKey::Held`] with that version and this
    /// holder: the HSM unwraps under any version.
    pub fn unlock_key(&self) -> UnlockKey<'_> {
        self.unlock_key_for(self.version)
    }

    /// This key as an unlock key for records of `version`.
    pub fn unlock_key_for(&self, version: u32) -> UnlockKey<'_> {
        UnlockKey::Held { key_id: self.key_id.as_bytes(), version, holder: self }
    }

    /// The HSM's error behind the last failed wrap or unwrap (the envelope
    /// functions report [`coffer_core::Error::Decrypt`] for every failure
    /// to open, and [`coffer_core::Error::Internal`] for an HSM refusal to
    /// wrap).
    pub fn last_error(&self) -> Option<Error> {
        self.last_error.get()
    }

    fn fail(&self, e: Error) -> coffer_core::Error {
        self.last_error.set(Some(e));
        match e {
            Error::Crypto(c) => c,
            _ => coffer_core::Error::Internal,
        }
    }
}

impl KekHolder for HeldKek<'_> {
    fn wrap_dek(&self, dek: &[u8; DEK_LEN]) -> coffer_core::Result<[u8; WRAPPED_LEN]> {
        let mut hsm = self.hsm.try_borrow_mut().map_err(|_| coffer_core::Error::Internal)?;
        let wrapped = hsm.wrap_key_kw(self.session, self.handle, dek).map_err(|e| self.fail(e))?;
        wrapped.as_slice().try_into().map_err(|_| self.fail(Error::Crypto(coffer_core::Error::Internal)))
    }

    fn unwrap_dek(&self, wrapped: &[u8; WRAPPED_LEN]) -> coffer_core::Result<Zeroizing<[u8; DEK_LEN]>> {
        let mut hsm = self.hsm.try_borrow_mut().map_err(|_| coffer_core::Error::Decrypt)?;
        let dek = hsm.unwrap_key_kw(self.session, self.handle, wrapped).map_err(|e| self.fail(e))?;
        let mut out = Zeroizing::new([0u8; DEK_LEN]);
        if dek.len() != DEK_LEN {
            out.zeroize();
            return Err(self.fail(Error::Crypto(coffer_core::Error::Decrypt)));
        }
        out.copy_from_slice(&dek);
        Ok(out)
    }
}
