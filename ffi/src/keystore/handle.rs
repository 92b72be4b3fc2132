//! The keystore handle and where its keystore lives: creating one in a new
//! store, opening one, its generation and rollback guard, the version-1
//! export, and freeing the handle (KEYSTORE.md §12).
//!
//! A store is named by a `path` string: a `postgres://` (or
//! `postgresql://`) URL is a PostgreSQL database; anything else is the path
//! of a SQLite file.
//!
//! Every file path (a SQLite store, a version-1 export, a generation file)
//! follows one rule, [`file_path`]: it must be able to name a regular
//! file, or the call fails with `COFFER_ERR_INVALID_ARGUMENT` and touches
//! nothing.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use coffer_core::rng::OsRng;
use coffer_hsm::{Config, CounterFile, FileStorage, Hsm, MAX_SLOTS, RecordStore, SystemClock};
use coffer_store::{PostgresStore, SqliteStore};

use super::{KeystoreState, coffer_keystore, secret_in, with_state};
use crate::boundary::{ffi_boundary, ffi_boundary_void, handle_free, handle_out, require, str_in, write_out};
use crate::status::{
    COFFER_ERR_INVALID_ARGUMENT, COFFER_ERR_KEYSTORE_EXISTS, COFFER_ERR_KEYSTORE_MISSING,
    COFFER_ERR_KEYSTORE_ROLLBACK, COFFER_ERR_STORE_IO, COFFER_ERR_STORE_NO_SPACE, COFFER_ERR_STORE_READ_ONLY,
    COFFER_ERR_STORE_UNAVAILABLE, FfiResult, coffer_status,
};

/// The store a `path` argument names.
#[derive(Clone, Copy)]
enum Location<'a> {
    /// A SQLite database file, by its path.
    Sqlite(&'a str),
    /// A PostgreSQL connection URL (never shown in a message: it may hold a password).
    Postgres(&'a str),
}

impl<'a> Location<'a> {
    fn parse(name: &'a str) -> FfiResult<Self> {
        if name.starts_with("postgres://") || name.starts_with("postgresql://") {
            Ok(Location::Postgres(name))
        } else if name.is_empty() {
            Err(COFFER_ERR_INVALID_ARGUMENT)
        } else {
            Ok(Location::Sqlite(name))
        }
    }

    /// A connection to the store, ready for `Hsm::create` or `Hsm::open`.
    fn connect(self) -> FfiResult<Box<dyn RecordStore + Send>> {
        Ok(match self {
            Location::Sqlite(path) => Box::new(SqliteStore::open(Path::new(path))?),
            Location::Postgres(url) => Box::new(PostgresStore::connect(url)?),
        })
    }
}

/// The status of a failed file-system call on a store path.
fn io_status(e: &io::Error) -> coffer_status {
    use io::ErrorKind as K;
    match e.kind() {
        K::AlreadyExists => COFFER_ERR_KEYSTORE_EXISTS,
        K::NotFound | K::NotADirectory => COFFER_ERR_STORE_UNAVAILABLE,
        K::PermissionDenied | K::ReadOnlyFilesystem => COFFER_ERR_STORE_READ_ONLY,
        K::StorageFull | K::QuotaExceeded => COFFER_ERR_STORE_NO_SPACE,
        _ => COFFER_ERR_STORE_IO,
    }
}

/// Whether something (a file, a symbolic link, a FIFO, a device, a
/// directory) may be at `path`: only a definite "not found" says no.
fn may_exist(path: &Path) -> bool {
    !matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == io::ErrorKind::NotFound)
}

/// Checks a file path argument and tells whether a regular file is there.
///
/// The path must be able to name a regular file: not empty, ending in a
/// file name (not `/`, `.`, `..`, nor a path ending in `/` or `/.`), and
/// if anything is at it (not following a symbolic link), a regular file.
/// Otherwise — a directory, a symbolic link (dangling or not), a FIFO, a
/// device — the status is [`COFFER_ERR_INVALID_ARGUMENT`], the same in
/// every function that takes a file path. A missing directory on the way
/// is [`COFFER_ERR_STORE_UNAVAILABLE`].
fn file_path(path: &str) -> FfiResult<bool> {
    let p = Path::new(path);
    if p.file_name().is_none() || path.ends_with('/') || path.ends_with("/.") {
        return Err(COFFER_ERR_INVALID_ARGUMENT);
    }
    match std::fs::symlink_metadata(p) {
        Ok(meta) if meta.file_type().is_file() => Ok(true),
        Ok(_) => Err(COFFER_ERR_INVALID_ARGUMENT),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_status(&e)),
    }
}

/// The files SQLite keeps beside a database: its write-ahead log, its
/// shared-memory index and its rollback journal.
fn sqlite_companions(path: &Path) -> [PathBuf; 3] {
    ["-wal", "-shm", "-journal"].map(|suffix| {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        PathBuf::from(name)
    })
}

/// Brings this handle's view of the store's generation up to date.
///
/// `Hsm::generation` is the generation as of the handle's own last
/// transaction, and `Hsm::set_generation_guard` compares the guard with
/// that, so a handle that has been idle while other handles committed
/// would report an old generation, and refuse an up-to-date store as a
/// rollback. `Hsm` has no call that only reads the generation, so this
/// runs the cheapest read-only transaction there is: the label of the
/// first slot that holds a token (a transaction that writes nothing
/// commits nothing and raises no generation). With no token in any slot
/// the store has had no change since it was created, so there is nothing
/// to catch up on.
fn refresh_generation(hsm: &mut Hsm) -> FfiResult<()> {
    for slot in 0..MAX_SLOTS {
        match hsm.token_label(slot) {
            Ok(_) => return Ok(()),
            // An empty slot: try the next one.
            Err(coffer_hsm::Error::TokenState) => {}
            // Past the last slot.
            Err(coffer_hsm::Error::InvalidInput) => return Ok(()),
            // A rollback, or the store failing.
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The store's generation now.
fn current_generation(s: &mut KeystoreState) -> FfiResult<u64> {
    refresh_generation(&mut s.hsm)?;
    Ok(s.hsm.generation())
}

/// Creates the empty file of a new SQLite store (mode 0600 on Unix),
/// refusing a path that cannot name a regular file ([`file_path`]) or
/// where a file already is, without touching it. A leftover write-ahead
/// log or journal of an earlier database at that path is refused too:
/// SQLite would replay it into the new database.
fn create_sqlite_file(name: &str) -> FfiResult<()> {
    let path = Path::new(name);
    let companions = sqlite_companions(path);
    if file_path(name)? || companions.iter().any(|p| may_exist(p)) {
        return Err(COFFER_ERR_KEYSTORE_EXISTS);
    }
    let mut options = OpenOptions::new();
    // create_new is O_CREAT | O_EXCL: it fails on anything already at the
    // path, a dangling symbolic link included, so a file created between
    // the check above and here is refused as well.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop).map_err(|e| io_status(&e))
}

/// Removes a SQLite store this call created, after it failed: nothing
/// was acknowledged to the caller, so nothing half-made is left behind.
fn remove_sqlite(name: &str) {
    let path = Path::new(name);
    for p in std::iter::once(path.to_path_buf()).chain(sqlite_companions(path)) {
        let _ = std::fs::remove_file(p);
    }
}

/// Creates a keystore in a new store at `path` (UTF-8, no NUL needed):
/// either a SQLite file, which must not exist yet (a file already at the
/// path, or a leftover `-wal`, `-shm` or `-journal` file beside it, is
/// refused and left untouched; the file is created with mode 0600), or a
/// `postgres://user[:password]@host[:port]/database` URL (also
/// `postgresql://`) of a database that holds no keystore yet. The keystore
/// has `slots` empty slots (1..=64) and its records are sealed under
/// `secret`: a passphrase (stretched with PBKDF2-HMAC-SHA-256) or a 32-byte
/// master key, per `secret_kind`. When this returns `COFFER_OK` the new
/// keystore is committed, and other handles may open it.
///
/// Errors: `COFFER_ERR_KEYSTORE_EXISTS` if a regular file is at the SQLite
/// path (or a leftover beside it) or the database already holds a keystore;
/// `COFFER_ERR_INVALID_ARGUMENT` for a path that cannot name a regular file
/// (empty, `/`, ending in `/`, or a directory, symbolic link, FIFO or device
/// already at it; nothing is touched) or 0 or more than 64 slots;
/// `COFFER_ERR_INVALID_LENGTH` for a passphrase of 0 or more than 1024
/// bytes; `COFFER_ERR_INVALID_KEY` for a master key that is not 32 bytes;
/// `COFFER_ERR_UNKNOWN_VALUE` for
/// a bad `secret_kind`; `COFFER_ERR_STORE_UNAVAILABLE` if the directory
/// does not exist or the database cannot be reached;
/// `COFFER_ERR_STORE_READ_ONLY`, `COFFER_ERR_STORE_NO_SPACE`,
/// `COFFER_ERR_STORE_IO` and the other store errors. On any error no
/// keystore is created (a SQLite file this call made is removed again).
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_create(
    path: *const u8,
    path_len: usize,
    secret_kind: u32,
    secret: *const u8,
    secret_len: usize,
    slots: u32,
    keystore: *mut *mut coffer_keystore,
) -> coffer_status {
    ffi_boundary(|| {
        require(keystore)?;
        // SAFETY: the header's contract for input buffers.
        let path = unsafe { str_in(path, path_len) }?;
        // SAFETY: as above.
        let secret = unsafe { secret_in(secret_kind, secret, secret_len) }?;
        let slots = usize::try_from(slots).map_err(|_| COFFER_ERR_INVALID_ARGUMENT)?;
        if slots == 0 || slots > MAX_SLOTS {
            return Err(COFFER_ERR_INVALID_ARGUMENT);
        }
        let location = Location::parse(path)?;
        if let Location::Sqlite(file) = location {
            create_sqlite_file(file)?;
        }
        let created = location.connect().and_then(|store| {
            Hsm::create(&mut OsRng, store, &secret.source(), slots, Config::default(), Box::new(SystemClock))
                .map_err(|e| match e {
                    coffer_hsm::Error::TokenState => COFFER_ERR_KEYSTORE_EXISTS,
                    other => other.into(),
                })
        });
        let hsm = match created {
            Ok(hsm) => hsm,
            Err(status) => {
                if let Location::Sqlite(file) = location {
                    remove_sqlite(file);
                }
                return Err(status);
            }
        };
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(keystore, coffer_keystore::new(hsm, secret)) }
    })
}

/// Opens the keystore in the store at `path` (a SQLite file or a
/// `postgres://` URL, as for `coffer_keystore_create`) with `secret`.
/// Several handles, in this process and in others, may have the same store
/// open at once; each sees the others' committed changes.
///
/// `min_generation`: 0 accepts any store; otherwise a store whose
/// generation (`coffer_keystore_generation`) is lower is refused as a
/// rollback. Keep the generation you last saw somewhere the store's own
/// backups and restores do not reach, or install a generation file with
/// `coffer_keystore_set_generation_file`, which does that for you.
///
/// Errors: `COFFER_ERR_KEYSTORE_MISSING` if there is nothing at the SQLite
/// path (no file is created) or the store holds no keystore;
/// `COFFER_ERR_INVALID_ARGUMENT` for a path that cannot name a regular file
/// (empty, `/`, ending in `/`, a directory, symbolic link, FIFO or device);
/// `COFFER_ERR_KEYSTORE_AUTH` for a wrong secret or records sealed under
/// another one; `COFFER_ERR_KEYSTORE_CORRUPT` for malformed records;
/// `COFFER_ERR_KEYSTORE_ROLLBACK` for a generation below `min_generation`;
/// `COFFER_ERR_STORE_CORRUPT` for a file that is not a coffer store;
/// `COFFER_ERR_STORE_UNAVAILABLE` for a directory on the path that does
/// not exist or a database that cannot be reached;
/// `COFFER_ERR_STORE_READ_ONLY` (a store is always opened for writing) and
/// the other store errors.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_open(
    path: *const u8,
    path_len: usize,
    secret_kind: u32,
    secret: *const u8,
    secret_len: usize,
    min_generation: u64,
    keystore: *mut *mut coffer_keystore,
) -> coffer_status {
    ffi_boundary(|| {
        require(keystore)?;
        // SAFETY: the header's contract for input buffers.
        let path = unsafe { str_in(path, path_len) }?;
        // SAFETY: as above.
        let secret = unsafe { secret_in(secret_kind, secret, secret_len) }?;
        let location = Location::parse(path)?;
        // SqliteStore::open would create a missing file: refuse first.
        if let Location::Sqlite(file) = location
            && !file_path(file)?
        {
            return Err(COFFER_ERR_KEYSTORE_MISSING);
        }
        let store = location.connect()?;
        let hsm =
            Hsm::open(&mut OsRng, store, &secret.source(), Box::new(SystemClock)).map_err(|e| match e {
                coffer_hsm::Error::TokenState => COFFER_ERR_KEYSTORE_MISSING,
                other => other.into(),
            })?;
        if hsm.generation() < min_generation {
            return Err(COFFER_ERR_KEYSTORE_ROLLBACK);
        }
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(keystore, coffer_keystore::new(hsm, secret)) }
    })
}

/// Keeps the store's generation in the file at `path` (UTF-8, no NUL
/// needed) from now on, so that an older copy of the store restored later
/// is refused: if the file already holds a higher generation than the
/// store's current one, this returns `COFFER_ERR_KEYSTORE_ROLLBACK` (and installs
/// nothing); otherwise the file is raised to the store's generation, and
/// after every change this handle commits it is raised again (never
/// lowered; written atomically under a lock, so handles in several
/// processes may share one file), and every later call on a store older
/// than the highest generation seen fails with
/// `COFFER_ERR_KEYSTORE_ROLLBACK`. Install it right after
/// `coffer_keystore_open`, on every handle. Keep the file where the
/// store's backups and restores do not reach (another disk, another
/// host's mount), or it is rolled back with the store. Replaces a
/// generation file installed before on this handle.
///
/// Errors: `COFFER_ERR_KEYSTORE_ROLLBACK`; `COFFER_ERR_INVALID_ARGUMENT`
/// for a path that cannot name a regular file (empty, `/`, ending in `/`,
/// or a directory, symbolic link, FIFO or device at it, which is never
/// replaced); `COFFER_ERR_KEYSTORE_CORRUPT`
/// if the file does not hold a generation; `COFFER_ERR_STORAGE` if it
/// cannot be read or written.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_set_generation_file(
    keystore: *const coffer_keystore,
    path: *const u8,
    path_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let path = unsafe { str_in(path, path_len) }?;
        file_path(path)?;
        // SAFETY: the header's contract for handles.
        unsafe {
            with_state(keystore, |s| {
                let guard = CounterFile::new(path)?;
                refresh_generation(&mut s.hsm)?;
                Ok(s.hsm.set_generation_guard(Box::new(guard))?)
            })
        }
    })
}

/// The store's generation now, into `*generation`: the number of write
/// transactions ever committed to it, through any handle in any process.
/// It is 1 right after `coffer_keystore_create`, and every change (a
/// token, a PIN, a login or a failed one, a key, an export) raises it by
/// one. Keep it where the store's backups cannot roll it back, and pass it
/// to `coffer_keystore_open` as `min_generation`; or let
/// `coffer_keystore_set_generation_file` keep it.
///
/// Errors: `COFFER_ERR_KEYSTORE_ROLLBACK` if the store is now older than
/// this handle has seen it (restored under it); the store errors.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_generation(
    keystore: *const coffer_keystore,
    generation: *mut u64,
) -> coffer_status {
    ffi_boundary(|| {
        require(generation)?;
        // SAFETY: the header's contract for handles.
        let g = unsafe { with_state(keystore, current_generation) }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { write_out(generation, g) }
    })
}

/// Kept for compatibility: writes nothing, since every change is already
/// committed durably when its call returns `COFFER_OK`. `*counter` (may be
/// NULL) receives the store's generation, as `coffer_keystore_generation`
/// gives it (pass it as `min_generation` to `coffer_keystore_open`).
///
/// Errors: as `coffer_keystore_generation`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_save(keystore: *const coffer_keystore, counter: *mut u64) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let g = unsafe { with_state(keystore, current_generation) }?;
        if counter.is_null() {
            return Ok(());
        }
        // SAFETY: non-NULL; the caller's output slot.
        unsafe { write_out(counter, g) }
    })
}

/// Writes a snapshot of the whole keystore (keys, PIN records, live audit
/// logs) as a version-1 sealed keystore file (KEYSTORE.md §2–§3) at
/// `path`, sealed under this keystore's secret. `so_session` is a security
/// officer session: version 1 has no tenant keys, so the material of keys
/// sealed under a tenant key is opened with the security officer's grants
/// and written in the clear inside the snapshot (KEYSTORE.md §13.6); the
/// snapshot holds only the credentials "user" and "auditor". A new file
/// (anything already at `path` is refused and left untouched), written
/// atomically. First logs a "keystore saved" record in every token's audit
/// log (a change: the generation grows). `*counter` (may be NULL) receives
/// the snapshot's version-1 counter: one more than the last export through
/// this handle (1 for the first).
///
/// Errors: `COFFER_ERR_NOT_LOGGED_IN` / `COFFER_ERR_ROLE_NOT_ALLOWED`
/// unless `so_session` is a security officer session;
/// `COFFER_ERR_NOT_EXTRACTABLE` if another slot holds tenant-sealed keys;
/// `COFFER_ERR_KEYSTORE_EXISTS` if a regular file is at `path`;
/// `COFFER_ERR_INVALID_ARGUMENT` for a path that cannot name a regular file
/// (empty, `/`, ending in `/`, or a directory, symbolic link, FIFO or device
/// at it);
/// `COFFER_ERR_STORAGE` if the file cannot be written;
/// `COFFER_ERR_AUDIT_FULL` if an audit log has no room for the
/// record; the store errors.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_export_v1(
    keystore: *const coffer_keystore,
    so_session: u64,
    path: *const u8,
    path_len: usize,
    counter: *mut u64,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let path = unsafe { str_in(path, path_len) }?;
        let mut file = FileStorage::new(path)?;
        // SAFETY: the header's contract for handles.
        let n = unsafe {
            with_state(keystore, |s| {
                if file_path(path)? {
                    return Err(COFFER_ERR_KEYSTORE_EXISTS);
                }
                let source = s.secret.source();
                let so = s.session(so_session)?;
                Ok(s.hsm.save(&mut OsRng, so.id, &mut file, &source)?)
            })
        }?;
        if counter.is_null() {
            return Ok(());
        }
        // SAFETY: non-NULL; the caller's output slot.
        unsafe { write_out(counter, n) }
    })
}

/// Frees a keystore handle: ends its sessions, zeroes its keys and closes
/// its connection to the store. Every change was committed by the call
/// that made it, so nothing is lost. NULL does nothing.
///
/// Thread safety: no other call may be using the keystore.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_free(keystore: *mut coffer_keystore) {
    ffi_boundary_void(|| {
        // SAFETY: NULL or a pointer from a coffer_keystore constructor, freed once.
        unsafe { handle_free(keystore) }
    });
}
