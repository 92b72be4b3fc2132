//! The keystore (coffer-hsm over coffer-store): `Keystore`, `Session`,
//! `KeyHandle`, `KeyInfo`, `AuditRecord` and the exceptions `KeystoreError`,
//! `AuthError`, `LockedError`, `PolicyError`.
//!
//! - `mod.rs`: `Keystore`: create or open a store (a SQLite file, a
//!   `postgres://` URL, or `":memory:"`), log in;
//! - `session.rs`: `Session`: administration, keys and operations by handle, audit;
//! - `streams.rs`: `Session.seal_stream` / `open_stream` / `open_to_scratch` by keystore key;
//! - `records.rs`: `KeyHandle`, `KeyInfo`, `AuditRecord`, `ShredEvidence`;
//! - `clock.rs`: `ManualClock`, a clock set by hand (`clock=`);
//! - `webhooks.rs`: `Session.webhook_sign` / `webhook_verify` by keystore key;
//! - `errors.rs`: the exceptions and the mapping from `coffer_hsm::Error`.
//!
//! Threads: `coffer_hsm::Hsm` takes `&mut self` for every operation, so a
//! `Keystore` holds it behind one mutex, taken only with the GIL released.
//! Any number of Python threads may share one `Keystore` and its sessions;
//! their operations run one at a time (each is one committed transaction).
//! For operations in parallel, open one `Keystore` per thread on the same
//! store (SQLite or PostgreSQL), as coffer-hsm allows.

mod clock;
mod errors;
mod records;
mod session;
mod streams;
mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use coffer_core::rng::OsRng;
use coffer_hsm::audit::Actor;
use coffer_hsm::keystore::KeySource;
use coffer_hsm::{Config, CounterFile, Hsm, RecordStore, Role};
use coffer_store::{MemoryStore, PostgresStore, SqliteStore};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::args;
use clock::KeystoreClock;
pub(crate) use clock::PyManualClock;
pub(crate) use errors::register as register_exceptions;
use errors::{Kind, raise};
pub(crate) use records::{PyAuditRecord, PyKeyHandle, PyKeyInfo, PyShredEvidence};
pub(crate) use session::PySession;

thread_local! {
    /// The keystores whose lock this thread holds (by address), so that a
    /// stream's file object calling back into the same keystore is refused
    /// instead of waiting forever on a lock its own thread holds.
    static HELD: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Marks a keystore's lock as held by this thread while it lives.
struct Holding(usize);

impl Holding {
    fn new(at: usize) -> Self {
        HELD.with(|h| h.borrow_mut().push(at));
        Holding(at)
    }

    fn held(at: usize) -> bool {
        HELD.with(|h| h.borrow().contains(&at))
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        HELD.with(|h| {
            let mut held = h.borrow_mut();
            if let Some(i) = held.iter().rposition(|&a| a == self.0) {
                held.remove(i);
            }
        });
    }
}

/// The refusal of a call into a keystore from inside one of its own
/// operations (a stream's file object), whose lock this thread holds.
fn reentered(py: Python<'_>) -> PyErr {
    raise(
        py,
        Kind::Keystore,
        "this keystore was called from inside one of its own operations (a stream's read or write)"
            .to_owned(),
    )
}

/// The one slot the keystore uses, as the CLI does.
const SLOT: usize = 0;
/// Longest passphrase accepted, in bytes.
const MAX_PASSPHRASE_LEN: usize = 1024;

/// Where the records are.
enum Location {
    Memory,
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    fn parse(store: &Path) -> Location {
        match store.to_str() {
            Some(":memory:") => Location::Memory,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Location::Postgres(url.to_owned())
            }
            _ => Location::Sqlite(store.to_path_buf()),
        }
    }

    /// For messages and the repr: never a URL, which may carry a password.
    fn describe(&self) -> String {
        match self {
            Location::Memory => "memory".to_owned(),
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(_) => "PostgreSQL".to_owned(),
        }
    }

    fn connect(&self) -> coffer_hsm::Result<Box<dyn RecordStore + Send>> {
        Ok(match self {
            Location::Memory => Box::new(MemoryStore::new()),
            Location::Sqlite(p) => Box::new(SqliteStore::open(p).map_err(coffer_hsm::Error::Store)?),
            Location::Postgres(url) => {
                Box::new(PostgresStore::connect(url).map_err(coffer_hsm::Error::Store)?)
            }
        })
    }
}

/// The generation file: the one given, else `<store>.generation` for a
/// SQLite store (as the CLI's `--generation-file`); none otherwise.
fn generation_file(location: &Location, given: Option<PathBuf>) -> Option<PathBuf> {
    match (given, location) {
        (Some(p), _) => Some(p),
        (None, Location::Sqlite(p)) => {
            let mut name = p.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            name.push(".generation");
            Some(p.with_file_name(name))
        }
        (None, _) => None,
    }
}

/// Installs the rollback guard kept in `path` (refusing a store older than
/// it says).
fn guard(hsm: &mut Hsm, path: Option<&Path>) -> coffer_hsm::Result<()> {
    match path {
        Some(path) => hsm.set_generation_guard(Box::new(CounterFile::new(path)?)),
        None => Ok(()),
    }
}

/// Checks the generation file's path before any work: a symbolic link,
/// FIFO, device or directory there is refused (and never replaced).
fn check_generation_file(py: Python<'_>, path: Option<&Path>) -> PyResult<()> {
    if let Some(p) = path
        && let Ok(m) = std::fs::symlink_metadata(p)
        && !m.file_type().is_file()
    {
        return Err(raise(
            py,
            Kind::InvalidInput,
            format!("generation_file {} exists and is not a regular file: it is never replaced", p.display()),
        ));
    }
    Ok(())
}

/// Removes a SQLite store and its WAL files (after a failed create only).
fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// A keystore: coffer's software HSM over a record store, with tenants,
/// users with their own PINs, keys by handle with usage policy, rotation,
/// crypto-shredding and an HMAC-chained audit log.
///
/// `store` is a SQLite file path, a `postgres://` URL, or ":memory:" (a
/// store that lives as long as the object; for tests). Every record is
/// sealed under a key derived from the passphrase; every operation is one
/// transaction, committed before it returns, so any number of Keystore
/// objects, in threads or processes, may share one SQLite or PostgreSQL
/// store. One Keystore object may be shared by threads too: its
/// operations then run one at a time, with the GIL released.
///
/// >>> import coffer
/// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
/// >>> so = ks.login_so("so-pin-1")
/// >>> so.create_tenant("acme")
/// >>> so.create_user("alice", "alice-pin", tenants=["acme"])
/// >>> alice = ks.login("alice", "alice-pin")
/// >>> kek = alice.generate("records", "aes256")
/// >>> envelope = alice.seal(kek, b"invoice 42", {"tenant": "acme"})
/// >>> bytes(alice.open(kek, envelope, {"tenant": "acme"}))
/// b'invoice 42'
#[pyclass(frozen, name = "Keystore", module = "coffer")]
pub(crate) struct PyKeystore {
    /// `None` once closed.
    hsm: Mutex<Option<Hsm>>,
    /// Sessions freed while another thread held `hsm` (a stream by handle
    /// holds it while it calls the file objects, which may free objects):
    /// logged out by the next operation.
    dropped: Mutex<Vec<coffer_hsm::SessionId>>,
    described: String,
    /// The clock the HSM runs on, shared with it.
    clock: KeystoreClock,
}

/// Why an operation on the HSM did not happen.
pub(crate) enum Failure {
    Closed,
    Hsm(coffer_hsm::Error),
}

impl PyKeystore {
    fn new(hsm: Hsm, location: &Location, clock: KeystoreClock) -> Self {
        PyKeystore {
            hsm: Mutex::new(Some(hsm)),
            dropped: Mutex::new(Vec::new()),
            described: location.describe(),
            clock,
        }
    }

    /// This keystore's address, which names its lock in [`HELD`].
    fn address(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Runs `op` on the HSM with the GIL released, under the keystore's lock.
    ///
    /// `op` may attach to the interpreter (a stream's file objects do); a
    /// call back into this keystore from there is refused with
    /// KeystoreError, since this thread already holds its lock.
    pub(crate) fn run<T, F>(&self, py: Python<'_>, op: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&mut Hsm) -> coffer_hsm::Result<T> + Send,
    {
        let at = self.address();
        if Holding::held(at) {
            return Err(reentered(py));
        }
        let out = py.detach(|| {
            let mut guard = self.hsm.lock().unwrap_or_else(PoisonError::into_inner);
            let _holding = Holding::new(at);
            match guard.as_mut() {
                None => Err(Failure::Closed),
                Some(hsm) => {
                    let dropped =
                        std::mem::take(&mut *self.dropped.lock().unwrap_or_else(PoisonError::into_inner));
                    for session in dropped {
                        let _ = hsm.logout(session);
                    }
                    op(hsm).map_err(Failure::Hsm)
                }
            }
        });
        out.map_err(|f| match f {
            Failure::Closed => raise(py, Kind::Keystore, "the keystore is closed".to_owned()),
            Failure::Hsm(e) => errors::from_hsm_after_open(py, e),
        })
    }

    /// Seconds since the Unix epoch by the keystore's clock.
    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Ends `session` if the keystore is open (for `Session`'s drop, with
    /// the GIL held). It never waits for the keystore's lock: a thread
    /// holding it may be waiting for the GIL (a stream calling its file
    /// objects), so when the lock is taken the session is left for the
    /// next operation to log out.
    pub(crate) fn forget(&self, session: coffer_hsm::SessionId) {
        match self.hsm.try_lock() {
            Ok(mut guard) => {
                if let Some(hsm) = guard.as_mut() {
                    let _ = hsm.logout(session);
                }
            }
            Err(std::sync::TryLockError::Poisoned(p)) => {
                if let Some(hsm) = p.into_inner().as_mut() {
                    let _ = hsm.logout(session);
                }
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                self.dropped.lock().unwrap_or_else(PoisonError::into_inner).push(session);
            }
        }
    }
}

fn config(pin_iterations: Option<u32>, max_pin_failures: Option<u8>) -> Config {
    let default = Config::default();
    Config {
        pin_iterations: pin_iterations.unwrap_or(default.pin_iterations),
        max_pin_failures: max_pin_failures.unwrap_or(default.max_pin_failures),
        ..default
    }
}

#[pymethods]
impl PyKeystore {
    /// Creates a keystore in `store` (a SQLite file path that must not
    /// exist yet, a `postgres://` URL of a database without one, or
    /// ":memory:"), its records sealed under `passphrase` (str or bytes,
    /// stretched with PBKDF2-HMAC-SHA-256, 600,000 iterations), and
    /// initializes its token with the security officer's PIN `so_pin` (6
    /// to 64 bytes), as `coffer init` does. A ":memory:" keystore needs no
    /// passphrase: nothing of it leaves the process.
    ///
    /// `pin_iterations` is the PBKDF2 cost of new PIN hashes (default
    /// 100,000; lower only for tests), `max_pin_failures` the wrong PINs in
    /// a row that lock a credential (default 5). `clock` (a ManualClock)
    /// stamps audit records and judges key expiry; None means the system
    /// clock.
    ///
    /// `generation_file` keeps the store's generation (the number of
    /// committed writes) outside the store, so that a store restored from
    /// an older copy is refused with KeystoreError when opened or used
    /// (default for SQLite: `<store>.generation`, as the CLI's
    /// `--generation-file`; none for PostgreSQL unless given). Keep it
    /// where the store's backups and restores do not reach.
    ///
    /// >>> import coffer, os, tempfile
    /// >>> path = os.path.join(tempfile.mkdtemp(), "keys.db")
    /// >>> ks = coffer.Keystore.create(path, passphrase="pw", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> ks
    /// Keystore(...keys.db)
    /// >>> ks.close()
    #[staticmethod]
    #[allow(clippy::too_many_arguments, reason = "keyword arguments of one Python function")]
    #[pyo3(signature = (store, *, so_pin, passphrase = None, label = "coffer".to_owned(), pin_iterations = None, max_pin_failures = None, clock = None, generation_file = None))]
    fn create(
        py: Python<'_>,
        store: PathBuf,
        so_pin: &Bound<'_, PyAny>,
        passphrase: Option<&Bound<'_, PyAny>>,
        label: String,
        pin_iterations: Option<u32>,
        max_pin_failures: Option<u8>,
        clock: Option<PyRef<'_, PyManualClock>>,
        generation_file: Option<PathBuf>,
    ) -> PyResult<PyKeystore> {
        let location = Location::parse(&store);
        let counter = self::generation_file(&location, generation_file);
        check_generation_file(py, counter.as_deref())?;
        let passphrase = match (passphrase.filter(|p| !p.is_none()), &location) {
            (Some(p), _) => Some(args::text_or_bytes(p, "passphrase", MAX_PASSPHRASE_LEN)?),
            (None, Location::Memory) => None,
            (None, _) => {
                return Err(PyTypeError::new_err(
                    "a SQLite or PostgreSQL keystore needs passphrase=...: its records are sealed under it",
                ));
            }
        };
        let so_pin = args::text_or_bytes(so_pin, "so_pin", coffer_hsm::MAX_PIN_LEN)?;
        if let Location::Sqlite(p) = &location
            && std::fs::symlink_metadata(p).is_ok()
        {
            return Err(raise(
                py,
                Kind::Keystore,
                format!("{} already exists: create a keystore in a new file", p.display()),
            ));
        }
        let config = config(pin_iterations, max_pin_failures);
        let (passphrase, so_pin) = (passphrase.as_ref().map(args::Input::as_slice), so_pin.as_slice());
        let clock = KeystoreClock::of(clock.as_deref());
        let hsm_clock = clock.for_hsm();
        let made = py.detach(|| {
            let mut hsm = match passphrase {
                // In memory without a passphrase: nothing leaves the process
                // (coffer-hsm seals such records under a fixed key).
                None => Hsm::new(1, config, hsm_clock)?,
                Some(passphrase) => {
                    let source = KeySource::Passphrase(passphrase);
                    Hsm::create(&mut OsRng, location.connect()?, &source, 1, config, hsm_clock)?
                }
            };
            guard(&mut hsm, counter.as_deref())?;
            hsm.init_token(&mut OsRng, SLOT, &label, so_pin)?;
            Ok::<Hsm, coffer_hsm::Error>(hsm)
        });
        match made {
            Ok(hsm) => Ok(PyKeystore::new(hsm, &location, clock)),
            Err(e) => {
                if let Location::Sqlite(p) = &location {
                    // Nothing was acknowledged: leave no half-made store behind.
                    remove_sqlite(p);
                }
                Err(match e {
                    coffer_hsm::Error::TokenState => {
                        raise(py, Kind::Keystore, format!("{} already holds a keystore", location.describe()))
                    }
                    other => errors::from_hsm(py, other),
                })
            }
        }
    }

    /// Opens the keystore in `store` (a SQLite file path or a
    /// `postgres://` URL) with its `passphrase`. A wrong passphrase raises
    /// AuthError; a store without a keystore, KeystoreError. `clock` (a
    /// ManualClock) as for create(); None means the system clock.
    /// `generation_file` as for create() (default for SQLite:
    /// `<store>.generation`): a store older than the file says raises
    /// KeystoreError.
    ///
    /// >>> import coffer, os, tempfile
    /// >>> path = os.path.join(tempfile.mkdtemp(), "keys.db")
    /// >>> coffer.Keystore.create(path, passphrase="pw", so_pin="so-pin-1", pin_iterations=1000).close()
    /// >>> ks = coffer.Keystore.open(path, passphrase="pw")
    /// >>> ks.login_so("so-pin-1").role
    /// 'security-officer'
    /// >>> try:
    /// ...     coffer.Keystore.open(path, passphrase="not it")
    /// ... except coffer.AuthError:
    /// ...     print("wrong passphrase")
    /// wrong passphrase
    #[staticmethod]
    #[pyo3(signature = (store, *, passphrase, clock = None, generation_file = None))]
    fn open(
        py: Python<'_>,
        store: PathBuf,
        passphrase: &Bound<'_, PyAny>,
        clock: Option<PyRef<'_, PyManualClock>>,
        generation_file: Option<PathBuf>,
    ) -> PyResult<PyKeystore> {
        let location = Location::parse(&store);
        let counter = self::generation_file(&location, generation_file);
        check_generation_file(py, counter.as_deref())?;
        let passphrase = args::text_or_bytes(passphrase, "passphrase", MAX_PASSPHRASE_LEN)?;
        match &location {
            Location::Memory => {
                return Err(raise(
                    py,
                    Kind::Keystore,
                    "a \":memory:\" keystore cannot be opened again: create one".to_owned(),
                ));
            }
            Location::Sqlite(p) if std::fs::symlink_metadata(p).is_err() => {
                return Err(raise(
                    py,
                    Kind::Keystore,
                    format!("no keystore at {}: create one first", p.display()),
                ));
            }
            _ => {}
        }
        let passphrase = passphrase.as_slice();
        let clock = KeystoreClock::of(clock.as_deref());
        let hsm_clock = clock.for_hsm();
        let opened = py.detach(|| {
            let records = location.connect()?;
            let mut hsm = Hsm::open(&mut OsRng, records, &KeySource::Passphrase(passphrase), hsm_clock)?;
            guard(&mut hsm, counter.as_deref())?;
            Ok(hsm)
        });
        match opened {
            Ok(hsm) => Ok(PyKeystore::new(hsm, &location, clock)),
            Err(coffer_hsm::Error::TokenState) => {
                Err(raise(py, Kind::Keystore, format!("{} holds no keystore", location.describe())))
            }
            Err(e) => Err(errors::from_hsm(py, e)),
        }
    }

    /// Logs the security officer in with `pin`: a Session that creates
    /// tenants and credentials, unblocks them and shreds tenants. A wrong
    /// PIN raises AuthError, then LockedError.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> ks.login_so("so-pin-1")
    /// Session(user='so', role='security-officer', tenant=None)
    fn login_so(slf: &Bound<'_, Self>, pin: &Bound<'_, PyAny>) -> PyResult<PySession> {
        let py = slf.py();
        let pin = args::text_or_bytes(pin, "pin", coffer_hsm::MAX_PIN_LEN)?;
        let pin = pin.as_slice();
        let id = slf.get().run(py, |hsm| hsm.login_so(SLOT, pin))?;
        Ok(PySession::new(
            slf.clone().unbind(),
            id,
            Actor::SECURITY_OFFICER.to_owned(),
            Role::SecurityOfficer.name(),
            None,
        ))
    }

    /// Logs in the user or auditor `user` with `pin`. A user acts in
    /// `tenant`, which may be left out when the user has only one; an
    /// auditor takes none. An unknown user or a wrong PIN raises
    /// AuthError (the same way), then LockedError.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1")
    /// >>> so.create_tenant("acme")
    /// >>> so.create_tenant("globex")
    /// >>> so.create_user("carol", "carol-pin", tenants=["acme", "globex"])
    /// >>> ks.login("carol", "carol-pin", tenant="globex")
    /// Session(user='carol', role='user', tenant='globex')
    #[pyo3(signature = (user, pin, tenant = None))]
    fn login(
        slf: &Bound<'_, Self>,
        user: String,
        pin: &Bound<'_, PyAny>,
        tenant: Option<String>,
    ) -> PyResult<PySession> {
        let py = slf.py();
        let pin = args::text_or_bytes(pin, "pin", coffer_hsm::MAX_PIN_LEN)?;
        let pin = pin.as_slice();
        let (id, role, acting) = slf.get().run(py, |hsm| {
            let id = hsm.login(SLOT, &user, pin, tenant.as_deref())?;
            let (actor, acting) = hsm.whoami(id)?;
            Ok((id, actor.role.name(), acting))
        })?;
        Ok(PySession::new(slf.clone().unbind(), id, user, role, acting))
    }

    /// The store's generation: the number of write transactions committed
    /// to it, read from the store now (so it counts writes by other
    /// Keystore objects and processes too). It only grows; with a
    /// generation file (see create()) a store whose generation went back
    /// is refused.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> before = ks.generation()
    /// >>> ks.login_so("so-pin-1").create_tenant("acme")
    /// >>> ks.generation() > before
    /// True
    fn generation(&self, py: Python<'_>) -> PyResult<u64> {
        self.run(py, Hsm::current_generation)
    }

    /// Closes the store (every session ends). Further use raises
    /// KeystoreError. A `with` block closes it at its end.
    ///
    /// >>> import coffer
    /// >>> with coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000) as ks:
    /// ...     so = ks.login_so("so-pin-1")
    /// >>> try:
    /// ...     so.create_tenant("acme")
    /// ... except coffer.KeystoreError as e:
    /// ...     print(e)
    /// the keystore is closed
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if Holding::held(self.address()) {
            return Err(reentered(py));
        }
        let hsm = py.detach(|| self.hsm.lock().unwrap_or_else(PoisonError::into_inner).take());
        // Dropped with the GIL released: closing a store may wait on I/O.
        py.detach(move || drop(hsm));
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        self.close(py)
    }

    fn __repr__(&self) -> String {
        format!("Keystore({})", self.described)
    }
}
