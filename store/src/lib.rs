//! # coffer-store
//!
//! The transactional record store that `coffer-hsm` keeps its state in.
//! A store maps byte-string keys to byte-string values; `coffer-hsm` seals
//! every value itself (KEYSTORE.md §12), so a backend sees only opaque
//! records and never a secret.
//!
//! - [`RecordStore`] and [`Transaction`]: begin, read, write, scan, commit.
//!   A transaction that is dropped without [`Transaction::commit`] is rolled
//!   back: nothing it wrote is visible to anyone.
//! - [`MemoryStore`]: in memory, for tests and ephemeral use (no heap
//!   beyond `alloc`, no OS).
//! - `SqliteStore` (feature `sqlite`): one SQLite file in WAL mode, shared
//!   by threads and processes; SQLite is compiled in (rusqlite `bundled`).
//! - `SqliteGroup` (feature `sqlite`): one SQLite connection shared by the
//!   threads of a process with group commit (one fsync for many commits).
//! - `PostgresStore` (feature `postgres`): a table in a PostgreSQL
//!   database, shared by every process and host that connects to it.
//! - `testing::PostgresServer` (feature `postgres-server`, Unix only): a
//!   throwaway PostgreSQL server for tests, run from the local installation.
//!
//! Everything is at the crate root except the one public module, `testing`
//! (feature `postgres-server`, Unix only).
//!
//! ## Features
//! The crate is `no_std` with `alloc`; `default = []` gives [`RecordStore`],
//! [`Transaction`], [`Row`], [`MemoryStore`], [`StoreError`], the limits
//! ([`MAX_KEY_LEN`], [`MAX_VALUE_LEN`], [`MAX_SCAN`]) and the helpers for
//! backends ([`check_key`], [`check_value`], [`prefix_end`]). All features
//! are additive:
//! - `std`: links the standard library; it adds no API of its own (the
//!   backends below turn it on, and so does `coffer-hsm`'s `std`).
//! - `sqlite`: `std`, plus `SqliteStore`, `SqliteGroup` and
//!   `SqliteGroupHandle`, `SqliteOptions` and `Synchronous`, and the
//!   constants `SQLITE_APPLICATION_ID`, `SQLITE_FORMAT_VERSION` and
//!   `DEFAULT_CACHE_KIB`. SQLite itself is compiled in from source (rusqlite
//!   `bundled`): a C compiler is needed, no system library.
//! - `postgres`: `std`, plus `PostgresStore`, `PostgresOptions` and
//!   `POSTGRES_LOCK_ID`, over the synchronous `postgres` client.
//! - `postgres-server`: `postgres`, plus the `testing` module: a PostgreSQL
//!   server started for one test (Unix only; it runs the local `initdb` and
//!   `pg_ctl`).
//!
//! ## Concurrency (the contract every backend keeps)
//!
//! Transactions are **serializable with one writer at a time**: `begin`
//! waits (up to the backend's timeout) until no other transaction on the
//! same store, in this process or any other, is open, and the transaction
//! then sees every change committed before it. This is locking concurrency,
//! chosen because every `coffer-hsm` operation appends to one audit chain
//! per token: all of them would conflict under optimistic concurrency.
//! A backend that cannot get the lock in time, or whose database aborts a
//! transaction to resolve a conflict, returns [`StoreError::Conflict`]; the
//! caller (coffer-hsm does) runs the whole transaction again.
//!
//! `commit` returns only once the change is durable as the backend defines
//! it (SQLite: WAL with `synchronous=FULL`; PostgreSQL: the server's commit
//! with `synchronous_commit` as configured, `on` by default). In a
//! `SqliteGroup`, "every change committed before it" includes commits of
//! the same batch that are not yet durable; they become durable together,
//! and a transaction's own `commit` answers with that batch's outcome. So
//! commit read-only transactions too when what they read must be durable
//! (`coffer-hsm` always does).
//!
//! ```
//! use coffer_store::{MemoryStore, RecordStore};
//!
//! let mut store = MemoryStore::new();
//! let mut tx = store.begin()?;
//! tx.put(b"k1", b"one")?;
//! tx.commit()?;
//!
//! let mut tx = store.begin()?;
//! tx.put(b"k2", b"two")?;
//! drop(tx); // rolled back
//!
//! let mut tx = store.begin()?;
//! assert_eq!(tx.get(b"k1")?.as_deref(), Some(&b"one"[..]));
//! assert_eq!(tx.get(b"k2")?, None);
//! # Ok::<(), coffer_store::StoreError>(())
//! ```

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod error;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_group;
#[cfg(all(feature = "postgres-server", unix))]
pub mod testing;

pub use error::StoreError;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{POSTGRES_LOCK_ID, PostgresOptions, PostgresStore};
pub use record::{
    MAX_KEY_LEN, MAX_SCAN, MAX_VALUE_LEN, RecordStore, Row, Transaction, check_key, check_value, prefix_end,
};
#[cfg(feature = "sqlite")]
pub use sqlite::{
    DEFAULT_CACHE_KIB, SQLITE_APPLICATION_ID, SQLITE_FORMAT_VERSION, SqliteOptions, SqliteStore, Synchronous,
};
#[cfg(feature = "sqlite")]
pub use sqlite_group::{SqliteGroup, SqliteGroupHandle};
