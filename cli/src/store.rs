//! The operator's keystore: an HSM with one token in a record store
//! (keystore version 2, KEYSTORE.md §12), unlocked by a passphrase or by a
//! KEK in a PKCS#11 HSM that holds its master key (`--master-kek`, §12.3
//! kdf 02); sessions of credentials (the security officer, and users and auditors
//! by name) with their own PINs.
//!
//! `--store` names a SQLite database file (the default, `./coffer-store.db`,
//! created by `coffer init`) or a `postgres://` URL. Every command is one or
//! a few transactions, committed before it prints its result, so commands
//! may run at once from many processes and hosts.
//!
//! Rollback: the store's generation is kept in a file (for SQLite by
//! default `<store>.generation`, or `--generation-file` /
//! `COFFER_GENERATION_FILE`); a store older than it is refused.

use std::path::{Path, PathBuf};

use coffer_core::rng::OsRng;
use coffer_hsm::keystore::KeySource;
use coffer_hsm::{
    Config, CounterFile, Hsm, Pkcs11Kek, Pkcs11KekError, Pkcs11Uri, RecordStore, SessionId, SystemClock,
};
use coffer_store::{PostgresStore, SqliteStore};
use zeroize::Zeroizing;

use crate::fail::{Fail, Result, exit};
use crate::secret_input;

/// Where the keystore is and how it is unlocked (global options).
pub struct Location {
    /// A SQLite file path or a `postgres://` URL.
    pub store: String,
    pub passphrase_file: Option<PathBuf>,
    /// `--master-kek`: a `pkcs11:` URI of the KEK that holds the master key.
    pub master_kek: Option<String>,
    pub generation_file: Option<PathBuf>,
    /// The credential user and auditor commands log in as (`--user`).
    pub user: Option<String>,
    /// The tenant a user session acts in (`--tenant`; default: the user's only one).
    pub tenant: Option<String>,
}

pub const SLOT: usize = 0;

/// What unlocks the store: a passphrase, or a KEK in a PKCS#11 HSM.
enum Unlock {
    Passphrase(Zeroizing<Vec<u8>>),
    Held(Pkcs11Kek),
}

impl Unlock {
    /// `--master-kek` if given (with `create`, generating the KEK in the
    /// token if it is missing), else the passphrase.
    fn read(loc: &Location, create: bool) -> Result<Unlock> {
        if let Some(uri) = &loc.master_kek {
            if loc.passphrase_file.is_some() {
                return Err(Fail::usage("--master-kek and --passphrase-file exclude each other").hint(
                    "a store is unlocked by one of them: drop the one this store was not created with",
                ));
            }
            let kek = if create { master_kek(uri)? } else { crate::data::open_pkcs11(uri)? };
            return Ok(Unlock::Held(kek));
        }
        let name = "keystore passphrase";
        let passphrase = if create {
            secret_input::read_new(name, loc.passphrase_file.as_deref(), "COFFER_PASSPHRASE")?
        } else {
            secret_input::read(name, loc.passphrase_file.as_deref(), "COFFER_PASSPHRASE")?
        };
        Ok(Unlock::Passphrase(passphrase))
    }

    fn source(&self) -> KeySource<'_> {
        match self {
            Unlock::Passphrase(p) => KeySource::Passphrase(p),
            Unlock::Held(kek) => KeySource::Held(kek),
        }
    }

    /// What to check when the store does not open with it.
    fn auth_hint(&self) -> &'static str {
        match self {
            Unlock::Passphrase(_) => {
                "check COFFER_PASSPHRASE or --passphrase-file; a store created with --master-kek needs it every time"
            }
            Unlock::Held(_) => {
                "the --master-kek key does not open this store: another key (check object= and id=), \
                 or the store was created with a passphrase"
            }
        }
    }
}

/// The KEK a `pkcs11:` URI names, generated in the token (AES-256,
/// sensitive, not extractable, wrap/unwrap only) if the token has no key of
/// that label: for a new store's master key (`init`, `passphrase change`).
pub fn master_kek(uri: &str) -> Result<Pkcs11Kek> {
    let config = Pkcs11Uri::parse(uri).and_then(|u| u.to_config()).map_err(crate::data::pkcs11_fail)?;
    match Pkcs11Kek::open(&config) {
        Err(Pkcs11KekError::KeyNotFound { .. }) => {
            let kek = Pkcs11Kek::generate_kek(&config).map_err(crate::data::pkcs11_fail)?;
            if !crate::report::json() {
                eprintln!("coffer: generated the AES-256 KEK `{}` in the PKCS#11 token", config.key_label);
            }
            Ok(kek)
        }
        other => other.map_err(crate::data::pkcs11_fail),
    }
}

/// The backend named by `--store`.
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Backend {
    pub fn parse(store: &str) -> Backend {
        if store.starts_with("postgres://") || store.starts_with("postgresql://") {
            Backend::Postgres(store.to_string())
        } else {
            Backend::Sqlite(PathBuf::from(store))
        }
    }

    fn describe(&self) -> String {
        match self {
            Backend::Sqlite(p) => p.display().to_string(),
            // Never print a URL that may carry a password.
            Backend::Postgres(_) => "the PostgreSQL store".to_string(),
        }
    }

    pub fn connect(&self) -> Result<Box<dyn RecordStore + Send>> {
        match self {
            Backend::Sqlite(p) => Ok(Box::new(SqliteStore::open(p).map_err(|e| store_fail(self, e))?)),
            Backend::Postgres(url) => {
                Ok(Box::new(PostgresStore::connect(url).map_err(|e| store_fail(self, e))?))
            }
        }
    }

    /// The generation file: the one given, else `<store>.generation` for SQLite.
    fn generation_file(&self, given: Option<&Path>) -> Option<PathBuf> {
        match (given, self) {
            (Some(p), _) => Some(p.to_path_buf()),
            (None, Backend::Sqlite(p)) => {
                let mut name = p.file_name().map(|n| n.to_os_string()).unwrap_or_default();
                name.push(".generation");
                Some(p.with_file_name(name))
            }
            (None, Backend::Postgres(_)) => None,
        }
    }
}

fn store_fail(backend: &Backend, e: coffer_hsm::StoreError) -> Fail {
    Fail::from(coffer_hsm::Error::Store(e)).context(format!("opening {}", backend.describe()))
}

pub struct Store {
    pub hsm: Hsm,
    user: Option<String>,
    tenant: Option<String>,
}

impl Store {
    /// `coffer init`: a new keystore with one token and its security officer PIN.
    pub fn create(loc: &Location) -> Result<Store> {
        let backend = Backend::parse(&loc.store);
        if let Backend::Sqlite(p) = &backend
            && std::fs::symlink_metadata(p).is_ok()
        {
            return Err(Fail::new(exit::KEYSTORE, format!("{} already exists", p.display()))
                .hint("use another --store path, or remove the old keystore if you mean to"));
        }
        let unlock = Unlock::read(loc, true)?;
        let so = secret_input::read_new("security officer PIN", None, "COFFER_SO_PIN")?;
        let result = Self::create_in(&backend, loc, &unlock.source(), &so);
        if result.is_err()
            && let Backend::Sqlite(p) = &backend
        {
            // Nothing was acknowledged: leave no half-made store behind.
            remove_sqlite(p);
        }
        result
    }

    fn create_in(backend: &Backend, loc: &Location, source: &KeySource<'_>, so: &[u8]) -> Result<Store> {
        let records = backend.connect()?;
        let mut hsm = Hsm::create(&mut OsRng, records, source, 1, Config::default(), Box::new(SystemClock))
            .map_err(|e| match e {
            coffer_hsm::Error::TokenState => {
                Fail::new(exit::KEYSTORE, format!("{} already holds a keystore", backend.describe()))
            }
            other => other.into(),
        })?;
        if let Some(path) = backend.generation_file(loc.generation_file.as_deref()) {
            hsm.set_generation_guard(Box::new(CounterFile::new(path)?))?;
        }
        hsm.init_token(&mut OsRng, SLOT, "coffer", so)?;
        Ok(Store { hsm, user: loc.user.clone(), tenant: loc.tenant.clone() })
    }

    /// Opens the keystore at `loc` (refusing a rollback against the generation file).
    pub fn open(loc: &Location) -> Result<Store> {
        let backend = Backend::parse(&loc.store);
        if let Backend::Sqlite(p) = &backend
            && std::fs::symlink_metadata(p).is_err()
        {
            return Err(Fail::new(exit::KEYSTORE, format!("no keystore at {}", p.display()))
                .hint("create one with `coffer init`, or point --store / COFFER_STORE at it"));
        }
        let unlock = Unlock::read(loc, false)?;
        let records = backend.connect()?;
        let mut hsm =
            Hsm::open(&mut OsRng, records, &unlock.source(), Box::new(SystemClock)).map_err(|e| match e {
                coffer_hsm::Error::TokenState => {
                    Fail::new(exit::KEYSTORE, format!("{} holds no keystore", backend.describe()))
                        .hint("create one with `coffer init`")
                }
                coffer_hsm::Error::KeystoreAuth => Fail::from(e).hint(unlock.auth_hint()),
                other => other.into(),
            })?;
        if let Some(path) = backend.generation_file(loc.generation_file.as_deref()) {
            hsm.set_generation_guard(Box::new(CounterFile::new(path)?))?;
        }
        Ok(Store { hsm, user: loc.user.clone(), tenant: loc.tenant.clone() })
    }

    /// The credential named by `--user` / `COFFER_USER`.
    pub fn user_name(&self) -> Result<String> {
        self.user.clone().ok_or_else(|| {
            Fail::usage("no user given")
                .hint("pass --user <name> or set COFFER_USER (`coffer user list` shows them)")
        })
    }

    /// A user session of `--user` in `--tenant` (PIN from COFFER_PIN or a prompt).
    pub fn user(&mut self) -> Result<SessionId> {
        let name = self.user_name()?;
        let pin = secret_input::read(&format!("PIN of {name}"), None, "COFFER_PIN")?;
        self.login_as(&name, &pin)
    }

    /// A user session (as [`Store::user`]) and the handle of its tenant's key `id`.
    pub fn user_key(&mut self, id: &str) -> Result<(SessionId, coffer_hsm::Handle)> {
        let s = self.user()?;
        let h = self.hsm.find(s, id)?;
        Ok((s, h))
    }

    /// Logs in the credential `name` (in `--tenant` if given).
    pub fn login_as(&mut self, name: &str, pin: &[u8]) -> Result<SessionId> {
        self.hsm.login(SLOT, name, pin, self.tenant.as_deref()).map_err(|e| match e {
            coffer_hsm::Error::InvalidInput if self.tenant.is_none() => {
                Fail::usage(format!("{name} may act in several tenants: name one"))
                    .hint("pass --tenant <id> or set COFFER_TENANT")
            }
            coffer_hsm::Error::InvalidInput => {
                Fail::usage(format!("{name} is an auditor: auditors act in no tenant")).hint("drop --tenant")
            }
            other => other.into(),
        })
    }

    /// The tenant a user session acts in.
    pub fn tenant_of(&self, session: SessionId) -> Result<String> {
        Ok(self.hsm.whoami(session)?.1.unwrap_or_default())
    }

    /// A security officer session (COFFER_SO_PIN or a prompt).
    pub fn security_officer(&mut self) -> Result<SessionId> {
        let pin = secret_input::read("security officer PIN", None, "COFFER_SO_PIN")?;
        Ok(self.hsm.login_so(SLOT, &pin)?)
    }

    /// An auditor session of `--user` (COFFER_AUDITOR_PIN or a prompt).
    pub fn auditor(&mut self) -> Result<SessionId> {
        let name = self.user_name()?;
        let pin = secret_input::read(&format!("auditor PIN of {name}"), None, "COFFER_AUDITOR_PIN")?;
        self.hsm.login(SLOT, &name, &pin, None).map_err(|e| match e {
            // Only a user of several tenants needs one to log in.
            coffer_hsm::Error::InvalidInput => {
                Fail::new(exit::REFUSED, format!("{name} is not an auditor: it is a user of several tenants"))
                    .hint("pass --user <auditor name> (`coffer user list` shows the roles)")
            }
            other => other.into(),
        })
    }
}

/// Removes a SQLite store and its WAL files (only after a failed `init`).
fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// `coffer migrate --from <v1 file> --to <store>`: copies a version-1
/// sealed keystore file into a new record store under the same passphrase.
pub fn migrate(from: &Path, to: &str, loc: &Location) -> Result<()> {
    let backend = Backend::parse(to);
    if let Backend::Sqlite(p) = &backend
        && std::fs::symlink_metadata(p).is_ok()
    {
        return Err(Fail::new(exit::KEYSTORE, format!("{} already exists", p.display()))
            .hint("migrate into a new store path; the old file is only read"));
    }
    if loc.master_kek.is_some() {
        return Err(Fail::usage("migrate takes the version-1 file's passphrase, not --master-kek").hint(
            "migrate under the passphrase, then move the new store under the HSM with \
             `coffer passphrase change --new-master-kek <URI>`",
        ));
    }
    let mut old = coffer_hsm::FileStorage::new(from)?;
    if std::fs::symlink_metadata(from).is_err() {
        return Err(Fail::new(exit::KEYSTORE, format!("no keystore at {}", from.display())));
    }
    let passphrase =
        secret_input::read("keystore passphrase", loc.passphrase_file.as_deref(), "COFFER_PASSPHRASE")?;
    let source = KeySource::Passphrase(&passphrase);
    let result = (|| {
        let records = backend.connect()?;
        let mut hsm =
            Hsm::import_v1(&mut OsRng, &mut old, &source, None, records, &source, Box::new(SystemClock))?;
        if let Some(path) = backend.generation_file(loc.generation_file.as_deref()) {
            hsm.set_generation_guard(Box::new(CounterFile::new(path)?))?;
        }
        Ok::<u64, Fail>(hsm.generation())
    })();
    match result {
        Ok(generation) => crate::report::result(
            &format!("migrated {} to {} (generation {generation})", from.display(), backend.describe()),
            &serde_json::json!({"migrated": true, "generation": generation}),
        ),
        Err(e) => {
            if let Backend::Sqlite(p) = &backend {
                remove_sqlite(p);
            }
            Err(e)
        }
    }
}
