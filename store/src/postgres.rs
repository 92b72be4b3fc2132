//! [`PostgresStore`]: records in a PostgreSQL table (feature `postgres`).
//!
//! ## What the store needs
//! A database the connecting role may create a table in (on first
//! connect) and read and write: the store creates
//! `coffer_records (k bytea PRIMARY KEY, v bytea NOT NULL)` if it is
//! missing and touches nothing else. Values are sealed by `coffer-hsm`
//! before they get here, so the role and the server see no secret.
//!
//! ## Concurrency
//! Every transaction runs `BEGIN ISOLATION LEVEL READ COMMITTED` and then
//! takes the transaction-level advisory lock [`POSTGRES_LOCK_ID`] before
//! it reads anything. Every coffer transaction on the database, from any
//! process or host, therefore runs alone; and because the lock comes first
//! and READ COMMITTED takes a new snapshot for every statement, each read
//! sees every commit of the earlier lock holders: the transactions are
//! serializable. A `begin` that waits longer than
//! [`PostgresOptions::lock_timeout`] (`SET lock_timeout`) returns
//! [`StoreError::Conflict`]. The lock is released by the server at
//! `COMMIT` or `ROLLBACK`, and when the connection ends.
//!
//! ## A connection lost mid-transaction
//! The server rolls the open transaction back and releases the lock:
//! nothing of it is written, nothing is half-written. The caller gets
//! [`StoreError::Unavailable`] (or [`StoreError::Io`] when the driver
//! cannot tell) from the operation that noticed, and every later call on
//! this [`PostgresStore`] fails the same way: the store does not reconnect,
//! connect a new one. A `commit` that fails this way may leave the caller
//! unsure whether the server committed just before the connection broke
//! (as with any client-server database); coffer-hsm's audit chain records
//! make that visible on the next read.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, NoTls, Statement};

use crate::record::{MAX_SCAN, Row, ScanRange, check_key, check_value};
use crate::{RecordStore, StoreError, Transaction};

/// The key of the PostgreSQL advisory lock (`pg_advisory_xact_lock`)
/// that serialises coffer transactions on one database: "coffer\0\x02" as a
/// big-endian `i64`. Another application on the same database must not
/// use this key.
pub const POSTGRES_LOCK_ID: i64 = 0x636f_6666_6572_0002;

const GET: &str = "SELECT v FROM coffer_records WHERE k = $1";
const PUT: &str =
    "INSERT INTO coffer_records (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v";
const DELETE: &str = "DELETE FROM coffer_records WHERE k = $1";
// `$1` is the lower bound (the prefix, or `after` when that is greater),
// `$2` the exclusive upper bound when the prefix has one.
const SCAN_FROM_TO: &str = "SELECT k, v FROM coffer_records WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3";
const SCAN_AFTER_TO: &str = "SELECT k, v FROM coffer_records WHERE k > $1 AND k < $2 ORDER BY k LIMIT $3";
const SCAN_FROM: &str = "SELECT k, v FROM coffer_records WHERE k >= $1 ORDER BY k LIMIT $2";
const SCAN_AFTER: &str = "SELECT k, v FROM coffer_records WHERE k > $1 ORDER BY k LIMIT $2";

/// Options of [`PostgresStore::connect_with`].
///
/// ```
/// use std::time::Duration;
/// use coffer_store::PostgresOptions;
///
/// assert_eq!(PostgresOptions::default().lock_timeout, Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostgresOptions {
    /// How long `begin` waits for another coffer transaction on the same
    /// database before it returns [`StoreError::Conflict`]. Default 30 s;
    /// rounded down to whole milliseconds, at least 1 ms.
    pub lock_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions { lock_timeout: Duration::from_secs(30) }
    }
}

/// Prepared statements, parsed once per connection.
struct Statements {
    get: Statement,
    put: Statement,
    delete: Statement,
    scan_from_to: Statement,
    scan_after_to: Statement,
    scan_from: Statement,
    scan_after: Statement,
}

/// A store in a PostgreSQL database, over one connection (one
/// [`PostgresStore`] per thread).
///
/// ```no_run
/// use coffer_store::{PostgresStore, RecordStore};
///
/// let mut store = PostgresStore::connect("postgres://coffer@127.0.0.1:5432/coffer")?;
/// let mut tx = store.begin()?;
/// tx.put(b"k1", b"one")?;
/// tx.commit()?;
/// # Ok::<(), coffer_store::StoreError>(())
/// ```
pub struct PostgresStore {
    client: Client,
    statements: Statements,
}

impl core::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostgresStore").field("closed", &self.client.is_closed()).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`
    /// or libpq's `key=value` form; no TLS) with
    /// [`PostgresOptions::default`], and creates the `coffer_records`
    /// table if it is missing.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server cannot be reached, the
    /// role cannot log in or the database does not exist;
    /// [`StoreError::ReadOnly`] when the role may not create or use the
    /// table; the mapping of [`PostgresStore`]'s other errors otherwise.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresOptions::default())
    }

    /// Connects with `options`; otherwise as [`PostgresStore::connect`].
    ///
    /// # Errors
    /// As [`PostgresStore::connect`].
    pub fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let mut client = Client::connect(url, NoTls).map_err(|e| map_connect_error(&e))?;
        let millis = options.lock_timeout.as_millis().clamp(1, i32::MAX as u128);
        client
            .batch_execute(&alloc::format!("SET lock_timeout = {millis}"))
            .map_err(|e| map_error(&client, &e))?;
        // Under the lock, so that first connects of many processes do not
        // race on CREATE TABLE.
        let create = alloc::format!(
            "BEGIN; SELECT pg_advisory_xact_lock({POSTGRES_LOCK_ID}); \
             CREATE TABLE IF NOT EXISTS coffer_records (k bytea PRIMARY KEY, v bytea NOT NULL); COMMIT"
        );
        if let Err(e) = client.batch_execute(&create) {
            let error = map_error(&client, &e);
            let _ = client.batch_execute("ROLLBACK");
            return Err(error);
        }
        let statements = prepare(&mut client).map_err(|e| map_error(&client, &e))?;
        Ok(PostgresStore { client, statements })
    }
}

fn prepare(client: &mut Client) -> Result<Statements, postgres::Error> {
    Ok(Statements {
        get: client.prepare(GET)?,
        put: client.prepare(PUT)?,
        delete: client.prepare(DELETE)?,
        scan_from_to: client.prepare(SCAN_FROM_TO)?,
        scan_after_to: client.prepare(SCAN_AFTER_TO)?,
        scan_from: client.prepare(SCAN_FROM)?,
        scan_after: client.prepare(SCAN_AFTER)?,
    })
}

impl RecordStore for PostgresStore {
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError> {
        let begin = alloc::format!(
            "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({POSTGRES_LOCK_ID})"
        );
        if let Err(e) = self.client.batch_execute(&begin) {
            let error = map_error(&self.client, &e);
            let _ = self.client.batch_execute("ROLLBACK");
            return Err(error);
        }
        Ok(Box::new(PostgresTransaction { store: self, failed: None, finished: false }))
    }
}

/// An open transaction holding the advisory lock.
struct PostgresTransaction<'a> {
    store: &'a mut PostgresStore,
    /// The first database error: PostgreSQL aborts the transaction on any
    /// error and turns a later `COMMIT` into a rollback, so `commit`
    /// returns this error instead of a false success.
    failed: Option<StoreError>,
    finished: bool,
}

impl PostgresTransaction<'_> {
    fn note<T>(&mut self, result: Result<T, postgres::Error>) -> Result<T, StoreError> {
        result.map_err(|e| {
            let e = map_error(&self.store.client, &e);
            self.failed.get_or_insert(e);
            e
        })
    }
}

impl Transaction for PostgresTransaction<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        let store = &mut *self.store;
        let result = store
            .client
            .query_opt(&store.statements.get, &[&key])
            .and_then(|row| row.map(|r| r.try_get::<_, Vec<u8>>(0)).transpose());
        self.note(result)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        check_value(value)?;
        let store = &mut *self.store;
        let result = store.client.execute(&store.statements.put, &[&key, &value]);
        self.note(result).map(|_| ())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        let store = &mut *self.store;
        let result = store.client.execute(&store.statements.delete, &[&key]);
        self.note(result).map(|_| ())
    }

    fn scan(&mut self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Row>, StoreError> {
        if limit > MAX_SCAN {
            return Err(StoreError::TooLarge);
        }
        let limit = i64::try_from(limit).map_err(|_| StoreError::TooLarge)?;
        let ScanRange { lower, exclusive, end } = ScanRange::new(prefix, after);
        let store = &mut *self.store;
        let s = &store.statements;
        let rows = match (&end, exclusive) {
            (Some(end), false) => store.client.query(&s.scan_from_to, &[&lower, end, &limit]),
            (Some(end), true) => store.client.query(&s.scan_after_to, &[&lower, end, &limit]),
            (None, false) => store.client.query(&s.scan_from, &[&lower, &limit]),
            (None, true) => store.client.query(&s.scan_after, &[&lower, &limit]),
        };
        let result = rows.and_then(|rows| rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect());
        self.note(result)
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if let Some(e) = self.failed {
            // Drop rolls back.
            return Err(e);
        }
        let result = self.store.client.batch_execute("COMMIT");
        // Whatever COMMIT returned, the transaction is over on the server
        // (or the connection is gone): nothing to roll back.
        self.finished = true;
        self.note(result)
    }
}

impl Drop for PostgresTransaction<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Errors are ignored: on a broken connection the server has
            // rolled back already.
            let _ = self.store.client.batch_execute("ROLLBACK");
        }
    }
}

/// Maps an error of `Client::connect`: without an SQLSTATE, the server
/// was not reached.
fn map_connect_error(error: &postgres::Error) -> StoreError {
    match error.code() {
        Some(code) => map_sqlstate(code),
        None => StoreError::Unavailable,
    }
}

/// Maps an error of a query on `client`.
fn map_error(client: &Client, error: &postgres::Error) -> StoreError {
    match error.code() {
        Some(code) => map_sqlstate(code),
        None if error.is_closed() || client.is_closed() => StoreError::Unavailable,
        None => StoreError::Io,
    }
}

fn map_sqlstate(code: &SqlState) -> StoreError {
    let text = code.code();
    if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE
        || *code == SqlState::QUERY_CANCELED
    {
        StoreError::Conflict
    } else if *code == SqlState::DISK_FULL {
        StoreError::NoSpace
    } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION || *code == SqlState::INSUFFICIENT_PRIVILEGE {
        StoreError::ReadOnly
    } else if text.starts_with("08") // connection exception
        || text.starts_with("28") // invalid authorization
        || *code == SqlState::INVALID_CATALOG_NAME
        || *code == SqlState::TOO_MANY_CONNECTIONS
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
    {
        StoreError::Unavailable
    } else {
        StoreError::Io
    }
}
