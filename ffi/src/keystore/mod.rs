//! The software HSM (`coffer-hsm`) for C: a keystore kept as sealed
//! records in a transactional store (keystore version 2, KEYSTORE.md §12)
//! — a SQLite file or a PostgreSQL database — sealed under a passphrase or
//! a master key; tokens, tenants, credentials with their own PINs,
//! sessions, and key operations by handle.
//!
//! Every call that changes the keystore is one transaction on the store,
//! committed durably before the call returns `COFFER_OK`: there is nothing
//! to save, and any number of keystore handles, in this process and in
//! others, may be open on one store at once.
//!
//! - `handle.rs`: the handle and where its keystore lives: create, open,
//!   generation, rollback guard, version-1 export, free;
//! - `session.rs`: tokens, logins, own PIN change, logout;
//! - `credentials.rs`: tenants and credentials (the security officer's
//!   administration), unblocking, re-keying under a new passphrase;
//! - `keys.rs`: generating, finding, rotating and destroying keys, tenant shred;
//! - `wrapping.rs`: wrapping and unwrapping key material, importing and
//!   exporting keys wrapped under a key of the keystore;
//! - `operations.rs`: envelopes, signatures and the audit log by handle;
//! - `hmac.rs`: HMAC-SHA-256 and webhook signatures by handle.
//! - `certs.rs`: certificates and requests signed by a key of the keystore
//!   (a CA whose key never leaves it), each described in an audit record.
//!
//! Sessions and key handles cross the boundary as numbers: a session number
//! is this keystore handle's own (`coffer-hsm` session ids have no public
//! constructor, and sessions live in the process, not in the store), and a
//! key handle is `Handle::get`, turned back with `Handle::from_raw`
//! (coffer-hsm checks the tenant on every use).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::{Handle, Hsm, KeyAttributes, KeyType, Role, SessionId, Usage};
use zeroize::Zeroizing;

use crate::boundary::{ref_in, require, slice_in, str_in, write_out};
use crate::envelope::key_id_in;
use crate::keypair::passphrase_in;
use crate::status::{
    COFFER_ERR_CAPACITY, COFFER_ERR_INVALID_KEY, COFFER_ERR_NOT_LOGGED_IN, COFFER_ERR_NOT_UTF8,
    COFFER_ERR_POISONED, COFFER_ERR_UNKNOWN_VALUE, FfiResult,
};

mod certs;
mod credentials;
mod handle;
mod hmac;
mod keys;
mod operations;
mod session;
mod wrapping;

pub use certs::*;
pub use credentials::*;
pub use handle::*;
pub use hmac::*;
pub use keys::*;
pub use operations::*;
pub use session::*;
pub use wrapping::*;

/// What secret seals a keystore's records.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum coffer_keystore_secret {
    /// A passphrase of 1..=1024 bytes, stretched with PBKDF2-HMAC-SHA-256.
    COFFER_KEYSTORE_PASSPHRASE = 1,
    /// A 32-byte master key the caller keeps elsewhere.
    COFFER_KEYSTORE_MASTER_KEY = 2,
}

/// The role of a credential.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum coffer_role {
    /// Initializes the token, creates tenants and credentials, unblocks PINs, shreds tenants.
    COFFER_ROLE_SECURITY_OFFICER = 1,
    /// Uses the keys of the tenants it is bound to, one tenant per session.
    COFFER_ROLE_USER = 2,
    /// Reads and verifies the audit log.
    COFFER_ROLE_AUDITOR = 3,
}

/// The type of a key kept in the keystore.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum coffer_key_type {
    /// AES-256 key-encryption key (envelopes, key wrapping).
    COFFER_KEY_TYPE_AES256 = 1,
    /// HMAC-SHA-256 key.
    COFFER_KEY_TYPE_HMAC_SHA256 = 2,
    /// P-256 key pair (ECDSA).
    COFFER_KEY_TYPE_P256 = 3,
    /// RSA-2048 key pair (OAEP envelopes, PSS signatures).
    COFFER_KEY_TYPE_RSA2048 = 4,
    /// RSA-3072 key pair.
    COFFER_KEY_TYPE_RSA3072 = 5,
    /// RSA-4096 key pair.
    COFFER_KEY_TYPE_RSA4096 = 6,
}

/// Key usage flag: seal envelopes.
pub const COFFER_USAGE_ENCRYPT: u32 = 1;
/// Key usage flag: open envelopes.
pub const COFFER_USAGE_DECRYPT: u32 = 1 << 1;
/// Key usage flag: wrap other keys (and rewrap envelopes, with UNWRAP).
pub const COFFER_USAGE_WRAP: u32 = 1 << 2;
/// Key usage flag: unwrap other keys.
pub const COFFER_USAGE_UNWRAP: u32 = 1 << 3;
/// Key usage flag: sign.
pub const COFFER_USAGE_SIGN: u32 = 1 << 4;
/// Key usage flag: verify.
pub const COFFER_USAGE_VERIFY: u32 = 1 << 5;
/// Key usage flag: derive other keys.
pub const COFFER_USAGE_DERIVE: u32 = 1 << 6;

/// Attributes of a key to generate or import. `label` and `key_id` are
/// 1..=64 bytes of UTF-8; `key_id` is unique within the tenant and is the
/// key id written into envelopes. `usage` is an OR of `COFFER_USAGE_*`
/// flags. The tenant is the session's.
#[repr(C)]
#[derive(Debug)]
pub struct coffer_key_attributes {
    /// Human-readable label.
    pub label: *const u8,
    /// Label length.
    pub label_len: usize,
    /// Key id.
    pub key_id: *const u8,
    /// Key id length.
    pub key_id_len: usize,
    /// OR of `COFFER_USAGE_*` flags.
    pub usage: u32,
    /// Whether the key may leave the keystore wrapped under another key.
    pub extractable: bool,
    /// Whether the key is created active (otherwise pre-active, unusable).
    pub active: bool,
}

/// The secret a keystore is sealed under, kept for `coffer_keystore_export_v1`.
enum StoreSecret {
    Passphrase(Zeroizing<Vec<u8>>),
    MasterKey(MasterKey),
}

impl StoreSecret {
    fn source(&self) -> KeySource<'_> {
        match self {
            StoreSecret::Passphrase(p) => KeySource::Passphrase(p),
            StoreSecret::MasterKey(k) => KeySource::MasterKey(k),
        }
    }
}

/// A session as this crate tracks it.
#[derive(Clone)]
struct SessionRecord {
    id: SessionId,
    tenant: Option<String>,
}

/// Everything behind a keystore handle's lock.
struct KeystoreState {
    hsm: Hsm,
    secret: StoreSecret,
    sessions: BTreeMap<u64, SessionRecord>,
    next_session: u64,
}

/// An open keystore: an HSM with its slots, tokens and keys, over its
/// store (a SQLite file or a PostgreSQL database) through a connection of
/// its own. Created by `coffer_keystore_create` or `coffer_keystore_open`,
/// freed by `coffer_keystore_free`.
///
/// Persistence: every call that changes the keystore (a token, a PIN, a
/// login or a failed one, a key, an audit record) is one transaction on
/// the store, and has committed it durably when it returns `COFFER_OK`;
/// a call that fails has written nothing, except the audited refusals
/// (wrong PINs, policy denials), whose audit records are committed too.
/// There is nothing to save: `coffer_keystore_save` is kept for
/// compatibility. Each committed change raises the store's generation by
/// one (`coffer_keystore_generation`).
///
/// Errors: besides those each function lists, every call that reaches the
/// store may fail with a store error (`COFFER_ERR_STORE_NO_SPACE`,
/// `COFFER_ERR_STORE_BUSY`, `COFFER_ERR_STORE_UNAVAILABLE`,
/// `COFFER_ERR_STORE_READ_ONLY`, `COFFER_ERR_STORE_CORRUPT`,
/// `COFFER_ERR_STORE_IO`, `COFFER_ERR_STORE_TOO_LARGE`: nothing of the call
/// was committed), with `COFFER_ERR_KEYSTORE_ROLLBACK` if the store is
/// older than this handle (or its generation file) has seen it, and with
/// `COFFER_ERR_KEYSTORE_AUTH` if a record was changed or swapped.
///
/// Thread safety: one keystore may be used from several threads at once;
/// calls on it are serialized by an internal lock. Any number of keystore
/// handles, in this process and in others, may be open on the same store
/// at once: each call sees every change committed before it, and a call
/// may wait (up to 30 s per attempt, retried up to 16 times) while
/// another writer holds the store. Sessions are numbers valid for this
/// keystore handle only.
pub struct coffer_keystore {
    state: Mutex<KeystoreState>,
}

impl coffer_keystore {
    fn new(hsm: Hsm, secret: StoreSecret) -> Self {
        let state = KeystoreState { hsm, secret, sessions: BTreeMap::new(), next_session: 1 };
        coffer_keystore { state: Mutex::new(state) }
    }
}

fn lock(ks: &coffer_keystore) -> FfiResult<MutexGuard<'_, KeystoreState>> {
    ks.state.lock().map_err(|_| COFFER_ERR_POISONED)
}

impl KeystoreState {
    fn session(&self, number: u64) -> FfiResult<SessionRecord> {
        self.sessions.get(&number).cloned().ok_or(COFFER_ERR_NOT_LOGGED_IN)
    }

    /// Runs a login and records its session under a new number.
    fn open_session(
        &mut self,
        login: impl FnOnce(&mut coffer_hsm::Hsm) -> coffer_hsm::Result<SessionId>,
    ) -> FfiResult<u64> {
        let id = login(&mut self.hsm)?;
        let (_, tenant) = self.hsm.whoami(id)?;
        let number = self.next_session;
        self.next_session = self.next_session.checked_add(1).ok_or(COFFER_ERR_CAPACITY)?;
        self.sessions.insert(number, SessionRecord { id, tenant });
        Ok(number)
    }
}

/// # Safety
/// The header's contract for input buffers.
unsafe fn secret_in(kind: u32, secret: *const u8, secret_len: usize) -> FfiResult<StoreSecret> {
    match kind {
        k if k == coffer_keystore_secret::COFFER_KEYSTORE_PASSPHRASE as u32 => {
            // SAFETY: forwarded contract of this function.
            let passphrase = unsafe { passphrase_in(secret, secret_len) }?;
            Ok(StoreSecret::Passphrase(Zeroizing::new(passphrase.to_vec())))
        }
        k if k == coffer_keystore_secret::COFFER_KEYSTORE_MASTER_KEY as u32 => {
            // SAFETY: forwarded contract of this function.
            let bytes = unsafe { slice_in(secret, secret_len) }?;
            MasterKey::from_slice(bytes).map(StoreSecret::MasterKey).map_err(|_| COFFER_ERR_INVALID_KEY)
        }
        _ => Err(COFFER_ERR_UNKNOWN_VALUE),
    }
}

fn role_of(role: u32) -> FfiResult<Role> {
    match role {
        r if r == coffer_role::COFFER_ROLE_SECURITY_OFFICER as u32 => Ok(Role::SecurityOfficer),
        r if r == coffer_role::COFFER_ROLE_USER as u32 => Ok(Role::User),
        r if r == coffer_role::COFFER_ROLE_AUDITOR as u32 => Ok(Role::Auditor),
        _ => Err(COFFER_ERR_UNKNOWN_VALUE),
    }
}

fn key_type_of(key_type: u32) -> FfiResult<KeyType> {
    use coffer_key_type::*;
    Ok(match key_type {
        t if t == COFFER_KEY_TYPE_AES256 as u32 => KeyType::Aes256,
        t if t == COFFER_KEY_TYPE_HMAC_SHA256 as u32 => KeyType::HmacSha256,
        t if t == COFFER_KEY_TYPE_P256 as u32 => KeyType::P256,
        t if t == COFFER_KEY_TYPE_RSA2048 as u32 => KeyType::Rsa2048,
        t if t == COFFER_KEY_TYPE_RSA3072 as u32 => KeyType::Rsa3072,
        t if t == COFFER_KEY_TYPE_RSA4096 as u32 => KeyType::Rsa4096,
        _ => return Err(COFFER_ERR_UNKNOWN_VALUE),
    })
}

/// A keystore key id: 1..=64 bytes (else `COFFER_ERR_LIMIT_EXCEEDED`, as
/// for envelope key ids) of UTF-8.
///
/// # Safety
/// As [`slice_in`].
unsafe fn key_id_str_in<'a>(ptr: *const u8, len: usize) -> FfiResult<&'a str> {
    // SAFETY: forwarded contract of this function.
    let id = unsafe { key_id_in(ptr, len) }?;
    std::str::from_utf8(id).map_err(|_| COFFER_ERR_NOT_UTF8)
}

/// A `coffer_key_attributes`, read and checked; the tenant is added from
/// the session with [`Attributes::for_tenant`].
struct Attributes<'a> {
    label: &'a str,
    key_id: &'a str,
    usage: Usage,
    extractable: bool,
    active: bool,
}

impl Attributes<'_> {
    fn for_tenant(&self, tenant: Option<&str>) -> KeyAttributes {
        KeyAttributes {
            label: self.label.to_owned(),
            tenant: tenant.unwrap_or_default().to_owned(),
            key_id: self.key_id.to_owned(),
            usage: self.usage,
            extractable: self.extractable,
            active: self.active,
        }
    }
}

/// Reads a `coffer_key_attributes`.
///
/// # Safety
/// The header's contract for structs and the buffers inside.
unsafe fn attributes_in<'a>(ptr: *const coffer_key_attributes) -> FfiResult<Attributes<'a>> {
    // SAFETY: forwarded contract of this function.
    let a = unsafe { ref_in(ptr) }?;
    // SAFETY: as above.
    let label = unsafe { str_in(a.label, a.label_len) }?;
    // SAFETY: as above.
    let key_id = unsafe { key_id_str_in(a.key_id, a.key_id_len) }?;
    let usage = usage_of(a.usage)?;
    Ok(Attributes { label, key_id, usage, extractable: a.extractable, active: a.active })
}

fn usage_of(bits: u32) -> FfiResult<Usage> {
    let flags = [
        (COFFER_USAGE_ENCRYPT, Usage::ENCRYPT),
        (COFFER_USAGE_DECRYPT, Usage::DECRYPT),
        (COFFER_USAGE_WRAP, Usage::WRAP),
        (COFFER_USAGE_UNWRAP, Usage::UNWRAP),
        (COFFER_USAGE_SIGN, Usage::SIGN),
        (COFFER_USAGE_VERIFY, Usage::VERIFY),
        (COFFER_USAGE_DERIVE, Usage::DERIVE),
    ];
    let known = flags.iter().fold(0u32, |acc, (bit, _)| acc | bit);
    if bits & !known != 0 {
        return Err(COFFER_ERR_UNKNOWN_VALUE);
    }
    Ok(flags.iter().filter(|(bit, _)| bits & bit != 0).fold(Usage::NONE, |acc, (_, u)| acc | *u))
}

/// Runs `f` on the locked state of `keystore`.
///
/// # Safety
/// `keystore` must be NULL or a live keystore handle.
unsafe fn with_state<T>(
    keystore: *const coffer_keystore,
    f: impl FnOnce(&mut KeystoreState) -> FfiResult<T>,
) -> FfiResult<T> {
    // SAFETY: forwarded contract of this function.
    let ks = unsafe { ref_in(keystore) }?;
    let mut state = lock(ks)?;
    f(&mut state)
}

/// Runs `f` on the HSM with the session id that the C number `session`
/// stands for.
///
/// # Safety
/// As [`with_state`].
unsafe fn with_session<T>(
    keystore: *const coffer_keystore,
    session: u64,
    f: impl FnOnce(&mut Hsm, SessionId) -> coffer_hsm::Result<T>,
) -> FfiResult<T> {
    // SAFETY: forwarded contract of this function.
    unsafe {
        with_state(keystore, |s| {
            let rec = s.session(session)?;
            Ok(f(&mut s.hsm, rec.id)?)
        })
    }
}

/// Creates a key for the session's tenant and writes its handle number to
/// `handle`: the shared body of `coffer_keystore_generate` and
/// `coffer_keystore_import_wrapped`. `make` gets the session id, the key
/// type and the attributes with the session's tenant.
///
/// # Safety
/// The header's contract for handles, structs and output slots.
unsafe fn new_key(
    keystore: *const coffer_keystore,
    session: u64,
    key_type: u32,
    attributes: *const coffer_key_attributes,
    handle: *mut u64,
    make: impl FnOnce(&mut Hsm, SessionId, KeyType, KeyAttributes) -> coffer_hsm::Result<Handle>,
) -> FfiResult<()> {
    require(handle)?;
    // SAFETY: forwarded contract of this function.
    let attributes = unsafe { attributes_in(attributes) }?;
    let key_type = key_type_of(key_type)?;
    // SAFETY: as above.
    let h = unsafe {
        with_state(keystore, |s| {
            let rec = s.session(session)?;
            Ok(make(&mut s.hsm, rec.id, key_type, attributes.for_tenant(rec.tenant.as_deref()))?)
        })
    }?;
    // SAFETY: checked non-NULL; the caller's output slot.
    unsafe { write_out(handle, h.get()) }
}

/// Runs `f` on the HSM with the session id and key handle that the C
/// numbers `session` and `handle` stand for.
///
/// # Safety
/// As [`with_state`].
unsafe fn with_key<T>(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    f: impl FnOnce(&mut Hsm, SessionId, Handle) -> coffer_hsm::Result<T>,
) -> FfiResult<T> {
    // SAFETY: forwarded contract of this function.
    unsafe {
        with_state(keystore, |s| {
            let rec = s.session(session)?;
            Ok(f(&mut s.hsm, rec.id, Handle::from_raw(handle))?)
        })
    }
}
