//! The module's state between `C_Initialize` and `C_Finalize`: the open
//! keystore, the application's sessions and its one login.
//!
//! All of it lives in one `Mutex<Option<Module>>`, the only global state;
//! every entry point takes the lock for its whole body, so calls from any
//! number of threads are serialized (the module does its own OS locking,
//! `CKF_OS_LOCKING_OK`). Other processes reach the same token through
//! their own connection to the store, whose transactions keep them
//! consistent (coffer-hsm).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use coffer_core::hash::Sha256;
use coffer_core::rng::OsRng;
use coffer_hsm::keystore::KeySource;
use coffer_hsm::{Hsm, Pkcs11Kek, Pkcs11Uri, RecordStore, SessionId, SystemClock};
use coffer_store::{PostgresStore, SqliteStore};
use cryptoki_sys::{
    CK_RV, CK_SESSION_HANDLE, CK_SLOT_ID, CKR_BUFFER_TOO_SMALL, CKR_CRYPTOKI_NOT_INITIALIZED,
    CKR_GENERAL_ERROR, CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED, CKR_SESSION_HANDLE_INVALID,
    CKR_SLOT_ID_INVALID,
};

use crate::boundary::{CkResult, boundary};
use crate::cipher::CipherOperation;
use crate::config::{ModuleConfig, StoreLocation, Unlock};
use crate::error::rv_of;
use crate::find::FindOperation;
use crate::object::ObjectTable;
use crate::sign::SignOperation;

/// The module's one lock. `None` while not initialized.
static MODULE: Mutex<Option<Module>> = Mutex::new(None);

/// Who the application is logged in as (PKCS#11 v2.40 §6.7: one login
/// for all the application's sessions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LoggedIn {
    /// `CKU_USER`: the configured coffer credential.
    User,
    /// `CKU_SO`: coffer's security officer.
    SecurityOfficer,
}

/// The login and the coffer session that holds it.
pub(crate) struct Login {
    pub(crate) who: LoggedIn,
    pub(crate) id: SessionId,
}

/// An active digest operation of a session.
pub(crate) struct DigestOperation {
    pub(crate) hasher: Sha256,
    /// Whether `C_DigestUpdate` has been called: the operation is then
    /// multi-part and only `C_DigestFinal` ends it.
    pub(crate) multi_part: bool,
}

/// One PKCS#11 session.
pub(crate) struct Session {
    /// Opened with `CKF_RW_SESSION`.
    pub(crate) read_write: bool,
    /// The active digest operation, if any.
    pub(crate) digest: Option<DigestOperation>,
    /// The active object search, if any.
    pub(crate) find: Option<FindOperation>,
    /// The active sign operation, if any.
    pub(crate) sign: Option<SignOperation>,
    /// The active verify operation, if any.
    pub(crate) verify: Option<SignOperation>,
    /// The active encrypt operation, if any.
    pub(crate) encrypt: Option<CipherOperation>,
    /// The active decrypt operation, if any.
    pub(crate) decrypt: Option<CipherOperation>,
}

impl Session {
    /// A session with no operation.
    pub(crate) fn new(read_write: bool) -> Self {
        Session {
            read_write,
            digest: None,
            find: None,
            sign: None,
            verify: None,
            encrypt: None,
            decrypt: None,
        }
    }
}

/// Everything between `C_Initialize` and `C_Finalize`.
pub(crate) struct Module {
    pub(crate) hsm: Hsm,
    pub(crate) config: ModuleConfig,
    pub(crate) sessions: BTreeMap<CK_SESSION_HANDLE, Session>,
    next_handle: CK_SESSION_HANDLE,
    pub(crate) login: Option<Login>,
    /// The object handles given out (README.md, "Objects").
    pub(crate) objects: ObjectTable,
}

impl Module {
    /// Opens the configured keystore, as coffer-ffi's `coffer_keystore_open`
    /// does: a SQLite file that must already exist, or a PostgreSQL URL;
    /// the records unsealed with the passphrase.
    pub(crate) fn open(config: ModuleConfig) -> Result<Self, String> {
        let store: Box<dyn RecordStore + Send> = match &config.store {
            StoreLocation::Sqlite(path) => {
                // SqliteStore::open would create a missing file: refuse first.
                if !Path::new(path).is_file() {
                    return Err(format!("no keystore file at {}", path.display()));
                }
                Box::new(
                    SqliteStore::open(path)
                        .map_err(|e| format!("cannot open the keystore file {}: {e}", path.display()))?,
                )
            }
            StoreLocation::Postgres(url) => Box::new(
                PostgresStore::connect(url)
                    .map_err(|e| format!("cannot connect to the PostgreSQL keystore: {e}"))?,
            ),
        };
        let hsm = match &config.unlock {
            Unlock::Passphrase(passphrase) => {
                Hsm::open(&mut OsRng, store, &KeySource::Passphrase(passphrase), Box::new(SystemClock))
            }
            Unlock::MasterKek(uri) => {
                // The KEK is needed only to unwrap the master key: its
                // session closes when `kek` is dropped, below.
                let kek = Pkcs11Uri::parse(uri)
                    .and_then(|u| u.to_config())
                    .and_then(|c| Pkcs11Kek::open(&c))
                    .map_err(|e| format!("master_kek: {e}"))?;
                Hsm::open(&mut OsRng, store, &KeySource::Held(&kek), Box::new(SystemClock))
            }
        }
        .map_err(|e| format!("cannot open the keystore: {e}"))?;
        Ok(Module {
            hsm,
            config,
            sessions: BTreeMap::new(),
            next_handle: 1,
            login: None,
            objects: ObjectTable::default(),
        })
    }

    /// The PKCS#11 slot id of the module's one slot: the coffer slot number.
    pub(crate) fn slot_id(&self) -> CK_SLOT_ID {
        CK_SLOT_ID::from(self.config.slot)
    }

    /// Checks a slot id.
    pub(crate) fn check_slot(&self, slot: CK_SLOT_ID) -> CkResult<()> {
        if slot == self.slot_id() { Ok(()) } else { Err(CKR_SLOT_ID_INVALID) }
    }

    /// The coffer slot index.
    pub(crate) fn coffer_slot(&self) -> usize {
        usize::from(self.config.slot)
    }

    /// A session by handle.
    pub(crate) fn session(&mut self, handle: CK_SESSION_HANDLE) -> CkResult<&mut Session> {
        self.sessions.get_mut(&handle).ok_or(CKR_SESSION_HANDLE_INVALID)
    }

    /// Adds a session and returns its handle (never 0, `CK_INVALID_HANDLE`).
    pub(crate) fn add_session(&mut self, session: Session) -> CkResult<CK_SESSION_HANDLE> {
        let handle = self.next_handle;
        self.next_handle = self.next_handle.checked_add(1).ok_or(CKR_GENERAL_ERROR)?;
        self.sessions.insert(handle, session);
        Ok(handle)
    }

    /// Ends the login, if any (the coffer session too).
    pub(crate) fn log_out(&mut self) -> CkResult<()> {
        if let Some(login) = self.login.take() {
            match self.hsm.logout(login.id) {
                Ok(()) | Err(coffer_hsm::Error::NotLoggedIn) => {}
                Err(e) => return Err(rv_of(&e)),
            }
        }
        Ok(())
    }
}

/// The lock, or `CKR_GENERAL_ERROR` if a panic poisoned it.
pub(crate) fn lock() -> CkResult<MutexGuard<'static, Option<Module>>> {
    MODULE.lock().map_err(|_| CKR_GENERAL_ERROR)
}

/// The lock for `C_Finalize`: a lock poisoned by a panic is taken anyway
/// and its poison cleared, so that finalizing (which drops the state) and
/// initializing again recover the module.
pub(crate) fn lock_to_finalize() -> MutexGuard<'static, Option<Module>> {
    let guard = MODULE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    MODULE.clear_poison();
    guard
}

/// Runs `f` on the initialized module, under the lock.
pub(crate) fn with_module<T>(f: impl FnOnce(&mut Module) -> CkResult<T>) -> CkResult<T> {
    let mut guard = lock()?;
    let module = guard.as_mut().ok_or(CKR_CRYPTOKI_NOT_INITIALIZED)?;
    f(module)
}

/// Whether a call leaves a session's operation active.
pub(crate) enum Step {
    /// The operation goes on (an update, a size query).
    Continue,
    /// The operation is over.
    Done,
}

/// One call of a session's key operation (sign, verify, encrypt,
/// decrypt): takes the operation out of `slot` (`CKR_OPERATION_NOT_INITIALIZED`
/// if there is none), runs `f` with the logged-in user's coffer session,
/// and puts the operation back when `f` continues it or fails with
/// `CKR_BUFFER_TOO_SMALL` or `CKR_OPERATION_ACTIVE` (v2.40 §5.2, §5.8–§5.13);
/// any other outcome ends it.
pub(crate) fn key_operation_step<O>(
    session: CK_SESSION_HANDLE,
    slot: impl Fn(&mut Session) -> &mut Option<O>,
    f: impl FnOnce(&mut Module, SessionId, &mut O) -> CkResult<Step>,
) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            let mut op = slot(m.session(session)?).take().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            let result = m.user_session().and_then(|user| f(m, user, &mut op));
            let keep = matches!(result, Ok(Step::Continue))
                || matches!(result, Err(rv) if rv == CKR_BUFFER_TOO_SMALL || rv == CKR_OPERATION_ACTIVE);
            if keep {
                *slot(m.session(session)?) = Some(op);
            }
            result.map(|_| ())
        })
    })
}

/// `CKR_CRYPTOKI_NOT_INITIALIZED` unless the module is initialized.
pub(crate) fn require_initialized() -> CkResult<()> {
    with_module(|_| Ok(()))
}

/// Runs `f` on a session of the initialized module.
pub(crate) fn with_session<T>(
    handle: CK_SESSION_HANDLE,
    f: impl FnOnce(&mut Session) -> CkResult<T>,
) -> CkResult<T> {
    with_module(|m| f(m.session(handle)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::panic, reason = "the test poisons the lock with a panic")]
    fn a_poisoned_lock_is_general_error_until_c_finalize_clears_it() {
        let poisoner = std::thread::spawn(|| {
            let _guard = MODULE.lock();
            panic!("poison the module lock");
        });
        assert!(poisoner.join().is_err());
        assert_eq!(lock().err(), Some(CKR_GENERAL_ERROR));
        assert_eq!(require_initialized(), Err(CKR_GENERAL_ERROR));
        drop(lock_to_finalize());
        assert_eq!(require_initialized(), Err(CKR_CRYPTOKI_NOT_INITIALIZED));
    }
}
