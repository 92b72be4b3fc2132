//! The operator's keystore: a sealed file (FileStorage) holding one HSM
//! with one token, unlocked by a passphrase; sessions by role with PINs.
//!
//! Next to the keystore, `<store>.counter` keeps the last keystore counter
//! written; opening refuses an older keystore (a rollback). Keep a copy of
//! the counter elsewhere if the directory itself may be rolled back.

use std::path::{Path, PathBuf};

use coffer_core::rng::OsRng;
use coffer_hsm::keystore::KeySource;
use coffer_hsm::{Config, FileStorage, Hsm, Role, SessionId, SystemClock};
use zeroize::Zeroizing;

use crate::fail::{Fail, Result, exit};
use crate::secret_input;

/// Where the keystore is and how it is unlocked (global options).
pub struct Location {
    pub path: PathBuf,
    pub passphrase_file: Option<PathBuf>,
}

pub const SLOT: usize = 0;

pub struct Store {
    pub hsm: Hsm,
    storage: FileStorage,
    passphrase: Zeroizing<Vec<u8>>,
    counter_path: PathBuf,
}

fn counter_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".counter");
    path.with_file_name(name)
}

impl Store {
    /// `coffer init`: a new keystore with one token and the three PINs.
    pub fn create(loc: &Location) -> Result<Store> {
        if loc.path.exists() {
            return Err(Fail::new(exit::KEYSTORE, format!("{} already exists", loc.path.display()))
                .hint("use another --store path, or remove the old keystore if you mean to"));
        }
        let passphrase = secret_input::read_new(
            "keystore passphrase",
            loc.passphrase_file.as_deref(),
            "COFFER_PASSPHRASE",
        )?;
        let so = secret_input::read_new("security officer PIN", None, "COFFER_SO_PIN")?;
        let user = secret_input::read_new("user PIN", None, "COFFER_PIN")?;
        let auditor = secret_input::read_new("auditor PIN", None, "COFFER_AUDITOR_PIN")?;
        let mut hsm = Hsm::new(1, Config::default(), Box::new(SystemClock))?;
        hsm.init_token(&mut OsRng, SLOT, "coffer", &so)?;
        let s = hsm.login(SLOT, Role::SecurityOfficer, &so, None)?;
        hsm.set_pin(&mut OsRng, s, Role::User, &user)?;
        hsm.set_pin(&mut OsRng, s, Role::Auditor, &auditor)?;
        hsm.logout(s)?;
        let storage = FileStorage::new(&loc.path)?;
        let mut store = Store { hsm, storage, passphrase, counter_path: counter_path(&loc.path) };
        store.save()?;
        Ok(store)
    }

    /// Opens the keystore at `loc` (refusing a rollback against the counter file).
    pub fn open(loc: &Location) -> Result<Store> {
        if !loc.path.exists() {
            return Err(Fail::new(exit::KEYSTORE, format!("no keystore at {}", loc.path.display()))
                .hint("create one with `coffer init`, or point --store / COFFER_STORE at it"));
        }
        let passphrase =
            secret_input::read("keystore passphrase", loc.passphrase_file.as_deref(), "COFFER_PASSPHRASE")?;
        let mut storage = FileStorage::new(&loc.path)?;
        let counter_path = counter_path(&loc.path);
        let min = match std::fs::read_to_string(&counter_path) {
            Ok(text) => Some(text.trim().parse::<u64>().map_err(|_| {
                Fail::new(exit::KEYSTORE, format!("{} is not a number", counter_path.display()))
            })?),
            Err(_) => None,
        };
        let hsm = Hsm::load(&mut storage, &KeySource::Passphrase(&passphrase), min, Box::new(SystemClock))?;
        Ok(Store { hsm, storage, passphrase, counter_path })
    }

    /// Seals and writes the keystore, then the counter file.
    pub fn save(&mut self) -> Result<()> {
        let counter =
            self.hsm.save(&mut OsRng, &mut self.storage, &KeySource::Passphrase(&self.passphrase))?;
        std::fs::write(&self.counter_path, format!("{counter}\n"))
            .map_err(|e| Fail::io(format!("writing {}", self.counter_path.display()), &e))
    }

    /// A user session for `tenant` (PIN from COFFER_PIN or a prompt).
    pub fn user(&mut self, tenant: &str) -> Result<SessionId> {
        let pin = secret_input::read("user PIN", None, "COFFER_PIN")?;
        self.login(Role::User, &pin, Some(tenant))
    }

    /// A security officer session (COFFER_SO_PIN or a prompt).
    pub fn security_officer(&mut self) -> Result<SessionId> {
        let pin = secret_input::read("security officer PIN", None, "COFFER_SO_PIN")?;
        self.login(Role::SecurityOfficer, &pin, None)
    }

    /// An auditor session (COFFER_AUDITOR_PIN or a prompt).
    pub fn auditor(&mut self) -> Result<SessionId> {
        let pin = secret_input::read("auditor PIN", None, "COFFER_AUDITOR_PIN")?;
        self.login(Role::Auditor, &pin, None)
    }

    /// Logs in; a failed login is saved too, so failure counts and their
    /// audit records persist (the lockout holds across runs).
    fn login(&mut self, role: Role, pin: &[u8], tenant: Option<&str>) -> Result<SessionId> {
        match self.hsm.login(SLOT, role, pin, tenant) {
            Ok(s) => Ok(s),
            Err(e) => {
                self.save()?;
                Err(e.into())
            }
        }
    }
}
