//! [`SqliteStore`]: records in one SQLite file (feature `sqlite`).
//!
//! The file holds one table, `coffer_records (k BLOB PRIMARY KEY, v BLOB)
//! WITHOUT ROWID`, and carries the SQLite header fields
//! `application_id = 0x43464B32` ("CFK2", [`SQLITE_APPLICATION_ID`]) and
//! `user_version = 1` ([`SQLITE_FORMAT_VERSION`]), so a coffer store is
//! recognisable with `sqlite3 FILE 'PRAGMA application_id'` and no other
//! database is mistaken for one.
//!
//! Concurrency: every transaction starts with `BEGIN IMMEDIATE`, which takes
//! SQLite's write lock up front, across threads and processes alike; a
//! second `begin` waits up to [`SqliteOptions::busy_timeout`] and then
//! returns [`StoreError::Conflict`]. The journal is a WAL; with
//! [`Synchronous::Full`] (the default) `commit` returns after the WAL is
//! fsynced, so a committed transaction survives a crash of the process or
//! of the machine.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::limits::Limit;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};

use crate::record::{MAX_KEY_LEN, MAX_SCAN, MAX_VALUE_LEN, Row, ScanRange, check_key, check_value};
use crate::{RecordStore, StoreError, Transaction};

/// The SQLite `application_id` of a coffer store: "CFK2" in ASCII.
pub const SQLITE_APPLICATION_ID: i32 = 0x4346_4B32;

/// The SQLite `user_version` this crate writes and reads: the layout of
/// the `coffer_records` table.
pub const SQLITE_FORMAT_VERSION: i32 = 1;

const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS coffer_records (k BLOB PRIMARY KEY NOT NULL, v BLOB NOT NULL) WITHOUT ROWID";
const GET: &str = "SELECT v FROM coffer_records WHERE k = ?1";
/// SQLITE_LIMIT_LENGTH: the longest key and value with room for the row's
/// own header.
const ROW_LIMIT: i32 = 33_555_712;
const _: () = assert!(ROW_LIMIT as usize >= MAX_VALUE_LEN + MAX_KEY_LEN + 1024);
const PUT: &str =
    "INSERT INTO coffer_records (k, v) VALUES (?1, ?2) ON CONFLICT (k) DO UPDATE SET v = excluded.v";
const DELETE: &str = "DELETE FROM coffer_records WHERE k = ?1";
// Scans: `?1` is the lower bound (the prefix, or `after` when that is
// greater), `?2` the exclusive upper bound when the prefix has one.
const SCAN_FROM_TO: &str = "SELECT k, v FROM coffer_records WHERE k >= ?1 AND k < ?2 ORDER BY k LIMIT ?3";
const SCAN_AFTER_TO: &str = "SELECT k, v FROM coffer_records WHERE k > ?1 AND k < ?2 ORDER BY k LIMIT ?3";
const SCAN_FROM: &str = "SELECT k, v FROM coffer_records WHERE k >= ?1 ORDER BY k LIMIT ?2";
const SCAN_AFTER: &str = "SELECT k, v FROM coffer_records WHERE k > ?1 ORDER BY k LIMIT ?2";

/// How far `commit` goes before it returns: SQLite's `PRAGMA synchronous`
/// in WAL mode.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `synchronous=FULL`: the WAL is fsynced at every commit. A committed
    /// transaction survives a power loss. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: the WAL is fsynced at checkpoints only. A
    /// committed transaction survives a crash of the process, but the last
    /// ones may be lost on power loss (the database stays consistent).
    Normal,
}

/// Options of [`SqliteStore::open_with`].
///
/// ```
/// use std::time::{Duration, Instant};
/// use coffer_store::{SqliteOptions, Synchronous};
///
/// let options = SqliteOptions { busy_timeout: Duration::from_secs(5), ..SqliteOptions::default() };
/// assert_eq!(options.synchronous, Synchronous::Full);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long `begin` waits for another writer (in any process) before it
    /// returns [`StoreError::Conflict`]. Default 30 s.
    pub busy_timeout: Duration,
    /// Durability of a commit. Default [`Synchronous::Full`].
    pub synchronous: Synchronous,
    /// Most memory SQLite's page cache may take for this connection, in
    /// KiB (`PRAGMA cache_size`). Default 32,768 (32 MiB), which keeps the
    /// index pages of a 100,000-key store cached, so that creating a key
    /// costs about as much at 100,000 keys as at 1,000 (BENCHMARKS.md).
    /// The cache grows only as pages are read.
    pub cache_kib: u32,
}

/// Default [`SqliteOptions::cache_kib`].
pub const DEFAULT_CACHE_KIB: u32 = 32 * 1024;

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(30),
            synchronous: Synchronous::Full,
            cache_kib: DEFAULT_CACHE_KIB,
        }
    }
}

/// A store in one SQLite file, shared safely by any number of threads and
/// processes that each open it (one [`SqliteStore`] per thread: it holds
/// one connection).
///
/// ```
/// use coffer_store::{RecordStore, SqliteStore};
///
/// let dir = std::env::temp_dir().join(format!("coffer-store-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).map_err(|_| coffer_store::StoreError::Io)?;
/// let path = dir.join("records.sqlite");
///
/// let mut store = SqliteStore::open(&path)?;
/// let mut tx = store.begin()?;
/// tx.put(b"k1", b"one")?;
/// tx.commit()?;
/// drop(store);
///
/// let mut store = SqliteStore::open(&path)?; // committed means durable
/// let mut tx = store.begin()?;
/// assert_eq!(tx.get(b"k1")?.as_deref(), Some(&b"one"[..]));
/// # drop(tx);
/// # drop(store);
/// # let _ = std::fs::remove_dir_all(&dir);
/// # Ok::<(), coffer_store::StoreError>(())
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens the store at `path` with [`SqliteOptions::default`], creating
    /// the file (mode 0600 on Unix) when it does not exist.
    ///
    /// # Errors
    /// - [`StoreError::Unavailable`]: `path` exists but is not a regular
    ///   file (a symbolic link, directory, FIFO or device), or its
    ///   directory does not exist.
    /// - [`StoreError::Corrupt`]: the file is not an SQLite database, or is
    ///   one with another `application_id` or a newer coffer format.
    /// - [`StoreError::ReadOnly`]: the file or its file system cannot be
    ///   written (a store is always opened for writing).
    /// - [`StoreError::NoSpace`],
    ///   [`StoreError::Conflict`] (another process held the lock for the
    ///   whole timeout while the schema was created), [`StoreError::Io`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens the store at `path` with `options`; otherwise as
    /// [`SqliteStore::open`].
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        ensure_regular_file(path)?;
        // NOFOLLOW: a symbolic link swapped in after the check is refused
        // too. No CREATE: the file exists now, with our mode.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(path, flags).map_err(map_error)?;
        // SQLite falls back to read-only when it cannot write the file (a
        // read-only file system, or mode 0400): refuse that here, clearly.
        if conn.is_readonly(rusqlite::MAIN_DB).map_err(map_error)? {
            return Err(StoreError::ReadOnly);
        }
        conn.busy_timeout(options.busy_timeout).map_err(map_error)?;
        // No row longer than the largest record: a value planted past
        // MAX_VALUE_LEN (a damaged or forged file; coffer writes none) is
        // refused as SQLITE_TOOBIG (StoreError::TooLarge) when read, and is
        // never copied out of SQLite. SQLite itself still reads such a row
        // whole while it searches the WITHOUT ROWID b-tree past it, so the
        // memory a planted row costs is its size, once.
        conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, ROW_LIMIT).map_err(map_error)?;

        // Refuse a foreign database before writing anything to it.
        check_header(&conn)?;
        set_wal(&conn, options.busy_timeout)?;
        let synchronous = match options.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous).map_err(map_error)?;
        // Overwrite freed pages with zeros, so an overwritten or deleted
        // record (a destroyed key's old sealed value) does not linger in
        // the database file (KEYSTORE.md §12.6).
        conn.pragma_update(None, "secure_delete", "ON").map_err(map_error)?;
        // A negative cache_size is in KiB.
        conn.pragma_update(None, "cache_size", 0i64.saturating_sub(i64::from(options.cache_kib)))
            .map_err(map_error)?;

        // Stamp and create under the write lock, so concurrent first opens
        // of a new file agree.
        conn.execute_batch("BEGIN IMMEDIATE").map_err(map_error)?;
        let stamped = stamp_and_create(&conn);
        let finished = match stamped {
            Ok(()) => conn.execute_batch("COMMIT").map_err(map_error),
            Err(e) => Err(e),
        };
        if finished.is_err() && !conn.is_autocommit() {
            // Best effort: the error that matters is the one above.
            let _ = conn.execute_batch("ROLLBACK");
        }
        finished?;
        Ok(SqliteStore { conn, path: path.to_path_buf() })
    }

    /// The path this store was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Reads and writes on the connection inside a transaction someone
    /// else opened and ends ([`crate::SqliteGroup`]).
    pub(crate) fn statement_scope(&self) -> SqliteTransaction<'_> {
        SqliteTransaction { conn: &self.conn, failed: None, committed: false, owns: false }
    }
}

/// Creates `path` (mode 0600 on Unix) if it does not exist; refuses
/// anything but a regular file.
fn ensure_regular_file(path: &Path) -> Result<(), StoreError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => return Ok(()),
        Ok(_) => return Err(StoreError::Unavailable),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(map_io_error(&e)),
    }
    let mut create = OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    match create.open(path) {
        Ok(_) => Ok(()),
        // Another opener created it between our check and our create:
        // check again what it is.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_file() => Ok(()),
            Ok(_) => Err(StoreError::Unavailable),
            Err(e) => Err(map_io_error(&e)),
        },
        Err(e) => Err(map_io_error(&e)),
    }
}

/// Switches the database to WAL (a no-op when it is already).
///
/// SQLite answers `PRAGMA journal_mode=WAL` with `SQLITE_BUSY` at once,
/// without calling the busy handler, while other connections are opening
/// or converting the same new file (seen here with 16 processes opening a
/// fresh store under load): so retry, with short sleeps, for as long as
/// `begin` would wait.
fn set_wal(conn: &Connection, timeout: Duration) -> Result<(), StoreError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0)) {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            // The file system cannot hold a WAL (SQLite then keeps its
            // rollback journal): refuse rather than run without one.
            Ok(_) => return Err(StoreError::Io),
            Err(e)
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) && started.elapsed() < timeout =>
            {
                std::thread::sleep(pause);
                pause = pause.saturating_mul(2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(map_error(e)),
        }
    }
}

/// Refuses a database with another application id or a newer format.
fn check_header(conn: &Connection) -> Result<(), StoreError> {
    let app: i32 = conn.pragma_query_value(None, "application_id", |row| row.get(0)).map_err(map_error)?;
    let version: i32 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(map_error)?;
    let foreign = app != 0 && app != SQLITE_APPLICATION_ID;
    let newer = app == SQLITE_APPLICATION_ID && version > SQLITE_FORMAT_VERSION;
    if foreign || newer { Err(StoreError::Corrupt) } else { Ok(()) }
}

/// Inside `BEGIN IMMEDIATE`: checks the header again, stamps a new
/// database and creates the table.
fn stamp_and_create(conn: &Connection) -> Result<(), StoreError> {
    check_header(conn)?;
    let app: i32 = conn.pragma_query_value(None, "application_id", |row| row.get(0)).map_err(map_error)?;
    if app == 0 {
        conn.pragma_update(None, "application_id", SQLITE_APPLICATION_ID).map_err(map_error)?;
        conn.pragma_update(None, "user_version", SQLITE_FORMAT_VERSION).map_err(map_error)?;
    }
    conn.execute_batch(SCHEMA).map_err(map_error)
}

impl RecordStore for SqliteStore {
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(map_error)?;
        Ok(Box::new(SqliteTransaction { conn: &self.conn, failed: None, committed: false, owns: true }))
    }
}

/// An open `BEGIN IMMEDIATE` transaction on the store's connection.
pub(crate) struct SqliteTransaction<'a> {
    conn: &'a Connection,
    /// The first database error of this transaction: `commit` then rolls
    /// back and returns it, so a half-done transaction never commits.
    failed: Option<StoreError>,
    committed: bool,
    /// Whether this value began the SQL transaction (and so ends it).
    owns: bool,
}

impl SqliteTransaction<'_> {
    /// Records a database error so that `commit` refuses.
    fn note<T>(&mut self, result: rusqlite::Result<T>) -> Result<T, StoreError> {
        result.map_err(|e| {
            let e = map_error(e);
            self.failed.get_or_insert(e);
            e
        })
    }
}

impl Transaction for SqliteTransaction<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        let result = self
            .conn
            .prepare_cached(GET)
            .and_then(|mut stmt| stmt.query_row([key], |row| row.get(0)).optional());
        self.note(result)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        check_value(value)?;
        let result = self.conn.prepare_cached(PUT).and_then(|mut stmt| stmt.execute([key, value]));
        self.note(result).map(|_| ())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        let result = self.conn.prepare_cached(DELETE).and_then(|mut stmt| stmt.execute([key]));
        self.note(result).map(|_| ())
    }

    fn scan(&mut self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Row>, StoreError> {
        if limit > MAX_SCAN {
            return Err(StoreError::TooLarge);
        }
        let limit = i64::try_from(limit).map_err(|_| StoreError::TooLarge)?;
        let ScanRange { lower, exclusive, end } = ScanRange::new(prefix, after);
        let result = match (&end, exclusive) {
            (Some(end), false) => query_rows(self.conn, SCAN_FROM_TO, rusqlite::params![lower, end, limit]),
            (Some(end), true) => query_rows(self.conn, SCAN_AFTER_TO, rusqlite::params![lower, end, limit]),
            (None, false) => query_rows(self.conn, SCAN_FROM, rusqlite::params![lower, limit]),
            (None, true) => query_rows(self.conn, SCAN_AFTER, rusqlite::params![lower, limit]),
        };
        self.note(result)
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if let Some(e) = self.failed {
            // Drop rolls back.
            return Err(e);
        }
        let result = self.conn.execute_batch("COMMIT");
        self.note(result)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for SqliteTransaction<'_> {
    fn drop(&mut self) {
        // After a failed COMMIT, SQLite may already have rolled back
        // (SQLITE_FULL, SQLITE_IOERR): then there is nothing to undo.
        if self.owns && !self.committed && !self.conn.is_autocommit() {
            // Errors are ignored: nothing can be done with them in a drop,
            // and an unfinished transaction is never committed by SQLite.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

fn query_rows(conn: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> rusqlite::Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// Maps a rusqlite error to a [`StoreError`].
///
/// A full disk: SQLite's unix VFS turns `ENOSPC` (and a short write) into
/// `SQLITE_FULL`, whatever file it was writing; on a full tmpfs a commit
/// fails with exactly that (extended code 13, "database or disk is full"),
/// which becomes [`StoreError::NoSpace`]. `SQLITE_IOERR_*` results (a
/// failed `fsync`, `ftruncate` or shared-memory growth) carry the OS error
/// only in `sqlite3_system_errno`, which rusqlite does not expose without
/// `unsafe`; they stay [`StoreError::Io`] rather than guess at the cause.
pub(crate) fn map_error(error: rusqlite::Error) -> StoreError {
    let Some(sqlite) = error.sqlite_error() else {
        return StoreError::Io;
    };
    match sqlite.code {
        ErrorCode::DiskFull => StoreError::NoSpace,
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Conflict,
        ErrorCode::ReadOnly | ErrorCode::PermissionDenied => StoreError::ReadOnly,
        ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => StoreError::Corrupt,
        ErrorCode::CannotOpen => StoreError::Unavailable,
        ErrorCode::TooBig => StoreError::TooLarge,
        _ => StoreError::Io,
    }
}

/// Maps an error of creating or inspecting the database file.
fn map_io_error(error: &io::Error) -> StoreError {
    match error.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => StoreError::Unavailable,
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => StoreError::ReadOnly,
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => StoreError::NoSpace,
        _ => StoreError::Io,
    }
}
