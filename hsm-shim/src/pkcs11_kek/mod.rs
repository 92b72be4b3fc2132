//! Envelope KEKs in any PKCS#11 HSM (feature `pkcs11-kek`): [`Pkcs11Kek`]
//! is a [`KekHolder`] whose data-key wrap and unwrap run inside the token
//! (`C_WrapKey` / `C_UnwrapKey` with `CKM_AES_KEY_WRAP`, RFC 3394 with the
//! default IV, exactly the envelope's kind `01` record, FORMAT.md §1.4). The
//! KEK stays on the token, `CKA_SENSITIVE` and not extractable; only the
//! data key crosses, as a session object that is destroyed after each call.
//!
//! | step | PKCS#11 |
//! | --- | --- |
//! | open | `C_Initialize` (once per module and process, OS locking), `C_GetSlotList`, `C_GetTokenInfo` (by label), `C_OpenSession` (R/W), `C_Login` (user), `C_FindObjects` (`CKO_SECRET_KEY`, `CKK_AES`, `CKA_LABEL`, `CKA_ID`), `C_GetAttributeValue` (`CKA_WRAP`, `CKA_UNWRAP`, `CKA_VALUE_LEN`) |
//! | wrap a DEK | `C_CreateObject` (session object: `CKA_TOKEN` false, `CKA_VALUE` = DEK, extractable, not sensitive), `C_WrapKey` (`CKM_AES_KEY_WRAP`), `C_DestroyObject` |
//! | unwrap a DEK | `C_UnwrapKey` (`CKM_AES_KEY_WRAP` into a session object), `C_GetAttributeValue` (`CKA_VALUE`), `C_DestroyObject` |
//! | make a KEK | `C_GenerateKey` (`CKM_AES_KEY_GEN`, 32 bytes, `CKA_TOKEN`, `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`, `CKA_WRAP`/`CKA_UNWRAP`) |
//!
//! The module stays initialized for the life of the process (PKCS#11
//! modules are process-wide; another user of the same module in the
//! process is not finalized under it).

mod error;
mod uri;

use std::borrow::ToOwned;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::sync::{Mutex, MutexGuard};
use std::vec::Vec;

use coffer_core::envelope::{DEK_LEN, KekHolder, MAX_KEY_ID_LEN, Recipient, UnlockKey};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use zeroize::{Zeroize, Zeroizing};

pub use error::Pkcs11KekError;
pub use uri::{MAX_URI_LEN, PinSource, Pkcs11Uri};

/// Length of a wrapped data key (AES-KW adds 8 bytes).
const WRAPPED_LEN: usize = DEK_LEN + 8;
/// Bytes of an AES-256 KEK.
const KEK_LEN: u64 = 32;

/// Which PKCS#11 token and key hold the KEK, and the user PIN.
pub struct Pkcs11KekConfig {
    /// The PKCS#11 module (shared library), e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token's label (`CKA_LABEL` of the token, `C_GetTokenInfo`).
    pub token_label: String,
    /// The user PIN; zeroized on drop, never printed.
    pub pin: Zeroizing<String>,
    /// The KEK's `CKA_LABEL`: 1 to 64 bytes, also the envelope recipient's key id.
    pub key_label: String,
    /// The KEK's `CKA_ID`, if the label alone is not unique.
    pub key_id: Option<Vec<u8>>,
}

impl core::fmt::Debug for Pkcs11KekConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pkcs11KekConfig")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &"<redacted>")
            .field("key_label", &self.key_label)
            .field("key_id", &self.key_id)
            .finish()
    }
}

/// An AES-256 KEK in a PKCS#11 token as an envelope [`KekHolder`]: the
/// envelope recipient is key id = the key's label, version
/// [`Pkcs11Kek::VERSION`] (1), an AES-256-KW record (kind `01`) byte for
/// byte what an in-memory [`coffer_core::keywrap::Kek`] with the same key
/// writes.
///
/// A session (logged in as user) stays open while the value lives, behind a
/// mutex: the value is `Send` and `Sync`, calls from several threads take
/// turns.
///
/// ```no_run
/// use coffer_core::envelope::{self, EncryptionContext};
/// use coffer_core::rng::OsRng;
/// use coffer_hsm::{Pkcs11Kek, Pkcs11KekConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = Pkcs11KekConfig {
///     module: "/usr/lib/softhsm/libsofthsm2.so".into(),
///     token_label: "coffer-kek".into(),
///     pin: zeroize::Zeroizing::new("87654321".into()),
///     key_label: "records".into(),
///     key_id: None,
/// };
/// let kek = Pkcs11Kek::open(&config)?; // or Pkcs11Kek::generate_kek(&config) the first time
/// let ctx = EncryptionContext::new();
/// let env = envelope::seal(&mut OsRng, &[kek.recipient()], &ctx, b"sealed by the HSM")?;
/// let pt = envelope::open(&mut OsRng, &[kek.unlock_key()], &ctx, &env)?;
/// assert_eq!(&pt[..], b"sealed by the HSM");
/// # Ok(())
/// # }
/// ```
pub struct Pkcs11Kek {
    session: Mutex<Session>,
    kek: ObjectHandle,
    label: String,
    last_error: Mutex<Option<Pkcs11KekError>>,
}

impl core::fmt::Debug for Pkcs11Kek {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pkcs11Kek")
            .field("label", &self.label)
            .field("kek", &self.kek)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Kek {
    /// The key version written into envelope recipients and matched when opening.
    pub const VERSION: u32 = 1;

    /// Loads the module, finds the token by label, opens a session, logs
    /// in as user and finds exactly one AES secret key with the label (and
    /// id); it must allow `CKA_WRAP` and `CKA_UNWRAP` and be 32 bytes.
    ///
    /// PKCS#11 keeps the login state per process and token: while another
    /// session of this process is logged in to the token, `C_Login` answers
    /// `CKR_USER_ALREADY_LOGGED_IN` without checking the PIN, and this
    /// succeeds. The PIN is checked by the first login of each process.
    ///
    /// # Errors
    /// [`Pkcs11KekError::Module`], `TokenNotFound`, `TokenAmbiguous`,
    /// `PinIncorrect`, `PinLocked`, `KeyNotFound`, `KeyAmbiguous`,
    /// `KeyNotUsable`, `InvalidInput` (a label that is not 1 to 64 bytes) or
    /// `Device` for another PKCS#11 failure.
    pub fn open(config: &Pkcs11KekConfig) -> Result<Self, Pkcs11KekError> {
        check_label(&config.key_label)?;
        let session = login(config)?;
        let kek = find_kek(&session, config)?;
        check_kek(&session, kek, &config.key_label)?;
        Ok(Pkcs11Kek::new(session, kek, &config.key_label))
    }

    /// Generates an AES-256 KEK on the token (`CKA_TOKEN`, `CKA_PRIVATE`,
    /// `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`, `CKA_WRAP` and `CKA_UNWRAP`
    /// only, `CKA_LABEL` and `CKA_ID` from `config`) and opens it.
    ///
    /// # Errors
    /// As [`Pkcs11Kek::open`], and [`Pkcs11KekError::KeyExists`] if a key
    /// with the label (and id) is already there.
    pub fn generate_kek(config: &Pkcs11KekConfig) -> Result<Self, Pkcs11KekError> {
        check_label(&config.key_label)?;
        let session = login(config)?;
        match find_kek(&session, config) {
            Err(Pkcs11KekError::KeyNotFound { .. }) => {}
            Ok(_) | Err(Pkcs11KekError::KeyAmbiguous { .. }) => {
                return Err(Pkcs11KekError::KeyExists { label: config.key_label.clone() });
            }
            Err(e) => return Err(e),
        }
        let mut template = std::vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(KEK_LEN.into()),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Wrap(true),
            Attribute::Unwrap(true),
            Attribute::Encrypt(false),
            Attribute::Decrypt(false),
            Attribute::Label(config.key_label.as_bytes().to_vec()),
        ];
        if let Some(id) = &config.key_id {
            template.push(Attribute::Id(id.clone()));
        }
        let kek =
            session.generate_key(&Mechanism::AesKeyGen, &template).map_err(|e| Pkcs11KekError::device(&e))?;
        Ok(Pkcs11Kek::new(session, kek, &config.key_label))
    }

    fn new(session: Session, kek: ObjectHandle, label: &str) -> Self {
        Pkcs11Kek { session: Mutex::new(session), kek, label: label.to_owned(), last_error: Mutex::new(None) }
    }

    /// The key's `CKA_LABEL`, also the envelope recipient's key id.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The key as an envelope recipient: key id = label, version [`Self::VERSION`].
    pub fn recipient(&self) -> Recipient<'_> {
        Recipient::Held { key_id: self.label.as_bytes(), version: Self::VERSION, holder: self }
    }

    /// The key as an unlock key for the records [`Self::recipient`] writes.
    pub fn unlock_key(&self) -> UnlockKey<'_> {
        UnlockKey::Held { key_id: self.label.as_bytes(), version: Self::VERSION, holder: self }
    }

    /// The token's error behind the last failed wrap or unwrap (envelope
    /// functions report only [`coffer_core::Error::Decrypt`] for a failure
    /// to open, and [`coffer_core::Error::Internal`] for a failure to wrap).
    pub fn last_error(&self) -> Option<Pkcs11KekError> {
        lock(&self.last_error).clone()
    }

    fn fail(&self, e: Pkcs11KekError, as_core: coffer_core::Error) -> coffer_core::Error {
        *lock(&self.last_error) = Some(e);
        as_core
    }

    fn wrap_in(&self, session: &Session, dek: &[u8; DEK_LEN]) -> Result<[u8; WRAPPED_LEN], Pkcs11KekError> {
        let mut template = [
            Attribute::Token(false),
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Value(dek.to_vec()),
            Attribute::Extractable(true),
            Attribute::Sensitive(false),
        ];
        let created = session.create_object(&template);
        for a in &mut template {
            if let Attribute::Value(v) = a {
                v.zeroize();
            }
        }
        let object = created.map_err(|e| Pkcs11KekError::device(&e))?;
        let wrapped = session.wrap_key(&Mechanism::AesKeyWrap, self.kek, object);
        // The data key's session object goes on every path.
        let destroyed = session.destroy_object(object);
        let wrapped = wrapped.map_err(|e| Pkcs11KekError::device(&e))?;
        destroyed.map_err(|e| Pkcs11KekError::device(&e))?;
        wrapped.as_slice().try_into().map_err(|_| Pkcs11KekError::Device {
            function: "C_WrapKey".into(),
            code: std::format!("{} bytes, not {WRAPPED_LEN}", wrapped.len()),
        })
    }

    fn unwrap_in(
        &self,
        session: &Session,
        wrapped: &[u8; WRAPPED_LEN],
    ) -> Result<Zeroizing<[u8; DEK_LEN]>, Pkcs11KekError> {
        let template = [
            Attribute::Token(false),
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
        ];
        let object = session
            .unwrap_key(&Mechanism::AesKeyWrap, self.kek, wrapped, &template)
            .map_err(|e| Pkcs11KekError::device(&e))?;
        let read = session.get_attributes(object, &[AttributeType::Value]);
        // The data key's session object goes on every path.
        let destroyed = session.destroy_object(object);
        let mut attrs = read.map_err(|e| Pkcs11KekError::device(&e))?;
        let mut out = Zeroizing::new([0u8; DEK_LEN]);
        let mut found = false;
        for a in &mut attrs {
            if let Attribute::Value(v) = a {
                if v.len() == DEK_LEN {
                    out.copy_from_slice(v);
                    found = true;
                }
                v.zeroize();
            }
        }
        destroyed.map_err(|e| Pkcs11KekError::device(&e))?;
        if !found {
            return Err(Pkcs11KekError::Device {
                function: "C_GetAttributeValue".into(),
                code: "no 32-byte CKA_VALUE on the unwrapped data key".into(),
            });
        }
        Ok(out)
    }
}

impl KekHolder for Pkcs11Kek {
    fn wrap_dek(&self, dek: &[u8; DEK_LEN]) -> coffer_core::Result<[u8; WRAPPED_LEN]> {
        let session = lock(&self.session);
        self.wrap_in(&session, dek).map_err(|e| self.fail(e, coffer_core::Error::Internal))
    }

    fn unwrap_dek(&self, wrapped: &[u8; WRAPPED_LEN]) -> coffer_core::Result<Zeroizing<[u8; DEK_LEN]>> {
        let session = lock(&self.session);
        self.unwrap_in(&session, wrapped).map_err(|e| self.fail(e, coffer_core::Error::Decrypt))
    }
}

/// A mutex's guard, also after a panic elsewhere poisoned it (the data
/// behind these mutexes stays consistent: a session, an error slot).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn check_label(label: &str) -> Result<(), Pkcs11KekError> {
    if label.is_empty() || label.len() > MAX_KEY_ID_LEN {
        return Err(Pkcs11KekError::InvalidInput {
            reason: "a KEK label is 1 to 64 bytes (it is the envelope key id)",
        });
    }
    Ok(())
}

/// One initialized context per module path, for the life of the process.
static MODULES: Mutex<Vec<(PathBuf, Pkcs11)>> = Mutex::new(Vec::new());

fn module(path: &Path) -> Result<Pkcs11, Pkcs11KekError> {
    let mut modules = lock(&MODULES);
    if let Some((_, m)) = modules.iter().find(|(p, _)| p == path) {
        return Ok(m.clone());
    }
    let fail = |reason: String| Pkcs11KekError::Module { path: path.display().to_string(), reason };
    let m = Pkcs11::new(path).map_err(|e| fail(e.to_string()))?;
    match m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Already initialized by another user of the module in this process: share it.
        Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(fail(e.to_string())),
    }
    modules.push((path.to_owned(), m.clone()));
    Ok(m)
}

/// A R/W session on the token labelled `config.token_label`, logged in as user.
fn login(config: &Pkcs11KekConfig) -> Result<Session, Pkcs11KekError> {
    let pkcs11 = module(&config.module)?;
    let mut matching = Vec::new();
    for slot in pkcs11.get_slots_with_token().map_err(|e| Pkcs11KekError::device(&e))? {
        let info = pkcs11.get_token_info(slot).map_err(|e| Pkcs11KekError::device(&e))?;
        if info.label().trim_end() == config.token_label {
            matching.push(slot);
        }
    }
    let slot = match matching.as_slice() {
        [slot] => *slot,
        [] => return Err(Pkcs11KekError::TokenNotFound { label: config.token_label.clone() }),
        many => {
            return Err(Pkcs11KekError::TokenAmbiguous {
                label: config.token_label.clone(),
                count: many.len(),
            });
        }
    };
    let session = pkcs11.open_rw_session(slot).map_err(|e| Pkcs11KekError::device(&e))?;
    let pin = AuthPin::new(config.pin.as_str().into());
    match session.login(UserType::User, Some(&pin)) {
        Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(cryptoki::error::Error::Pkcs11(
            RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
            _,
        )) => Err(Pkcs11KekError::PinIncorrect),
        Err(cryptoki::error::Error::Pkcs11(RvError::PinLocked, _)) => Err(Pkcs11KekError::PinLocked),
        Err(e) => Err(Pkcs11KekError::device(&e)),
    }
}

/// Exactly one AES secret key with the label (and id).
fn find_kek(session: &Session, config: &Pkcs11KekConfig) -> Result<ObjectHandle, Pkcs11KekError> {
    let mut template = std::vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Label(config.key_label.as_bytes().to_vec()),
    ];
    if let Some(id) = &config.key_id {
        template.push(Attribute::Id(id.clone()));
    }
    let found = session.find_objects(&template).map_err(|e| Pkcs11KekError::device(&e))?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(Pkcs11KekError::KeyNotFound { label: config.key_label.clone() }),
        many => Err(Pkcs11KekError::KeyAmbiguous { label: config.key_label.clone(), count: many.len() }),
    }
}

/// The key wraps and unwraps and is AES-256.
fn check_kek(session: &Session, kek: ObjectHandle, label: &str) -> Result<(), Pkcs11KekError> {
    let attrs = session
        .get_attributes(kek, &[AttributeType::Wrap, AttributeType::Unwrap, AttributeType::ValueLen])
        .map_err(|e| Pkcs11KekError::device(&e))?;
    let (mut wrap, mut unwrap, mut len) = (false, false, None);
    for a in &attrs {
        match a {
            Attribute::Wrap(b) => wrap = *b,
            Attribute::Unwrap(b) => unwrap = *b,
            Attribute::ValueLen(n) => len = Some(u64::from(*n)),
            _ => {}
        }
    }
    let refuse = |reason| Err(Pkcs11KekError::KeyNotUsable { label: label.to_owned(), reason });
    if !wrap {
        return refuse("it does not allow CKA_WRAP");
    }
    if !unwrap {
        return refuse("it does not allow CKA_UNWRAP");
    }
    if len.is_some_and(|n| n != KEK_LEN) {
        return refuse("it is not an AES-256 key (CKA_VALUE_LEN is not 32)");
    }
    Ok(())
}
