//! The software HSM (`coffer-hsm`) for C: a file keystore sealed under a
//! passphrase or a master key, tokens, PIN roles, sessions, and key
//! operations by handle.
//!
//! Sessions and key handles cross the boundary as numbers: a session number
//! is this keystore's own (`coffer-hsm` session ids have no public
//! constructor), and a key handle is `Handle::get`, turned back with
//! `Handle::from_raw` (coffer-hsm checks the tenant on every use).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use coffer_core::rng::OsRng;
use coffer_hsm::keystore::{KeySource, MAX_PASSPHRASE_LEN, MIN_PASSPHRASE_LEN, MasterKey};
use coffer_hsm::{
    Config, FileStorage, Handle, Hsm, KeyAttributes, KeyType, Role, SessionId, SystemClock, Usage,
};
use zeroize::Zeroizing;

use crate::boundary::{
    bytes_out, coffer_bytes, ffi_boundary, ffi_boundary_void, handle_free, handle_out, ref_in, require,
    slice_in, str_in, write_out,
};
use crate::envelope::{coffer_kv, context_in};
use crate::status::{
    COFFER_ERR_INVALID_KEY, COFFER_ERR_INVALID_LENGTH, COFFER_ERR_KEYSTORE_EXISTS,
    COFFER_ERR_KEYSTORE_MISSING, COFFER_ERR_NOT_LOGGED_IN, COFFER_ERR_POISONED, COFFER_ERR_UNKNOWN_VALUE,
    FfiResult, coffer_status,
};

/// What secret seals a keystore file.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum coffer_keystore_secret {
    /// A passphrase of 1..=1024 bytes, stretched with PBKDF2-HMAC-SHA-256.
    COFFER_KEYSTORE_PASSPHRASE = 1,
    /// A 32-byte master key the caller keeps elsewhere.
    COFFER_KEYSTORE_MASTER_KEY = 2,
}

/// A login role.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum coffer_role {
    /// Initializes the token, sets and unblocks PINs, shreds tenants.
    COFFER_ROLE_SECURITY_OFFICER = 1,
    /// Uses the keys of one tenant.
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

/// Attributes of a key to generate. `label` and `key_id` are 1..=64 bytes
/// of UTF-8; `key_id` is unique within the tenant and is the key id
/// written into envelopes. `usage` is an OR of `COFFER_USAGE_*` flags. The
/// tenant is the session's.
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

/// The secret a keystore is sealed under, kept to save it again.
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
    storage: FileStorage,
    secret: StoreSecret,
    sessions: BTreeMap<u64, SessionRecord>,
    next_session: u64,
}

/// An open keystore: an HSM with its slots, tokens and keys, bound to the
/// file it is saved to. Created by `coffer_keystore_create` or
/// `coffer_keystore_open`, freed by `coffer_keystore_free`. Changes reach
/// the file only through `coffer_keystore_save`.
///
/// Thread safety: one keystore may be used from several threads at once;
/// calls are serialized by an internal lock. Sessions are numbers valid
/// for this keystore object only.
pub struct coffer_keystore {
    state: Mutex<KeystoreState>,
}

fn lock(ks: &coffer_keystore) -> FfiResult<MutexGuard<'_, KeystoreState>> {
    ks.state.lock().map_err(|_| COFFER_ERR_POISONED)
}

impl KeystoreState {
    fn session(&self, number: u64) -> FfiResult<SessionRecord> {
        self.sessions.get(&number).cloned().ok_or(COFFER_ERR_NOT_LOGGED_IN)
    }
}

/// # Safety
/// The header's contract for input buffers.
unsafe fn secret_in(kind: u32, secret: *const u8, secret_len: usize) -> FfiResult<StoreSecret> {
    // SAFETY: forwarded contract of this function.
    let bytes = unsafe { slice_in(secret, secret_len) }?;
    match kind {
        k if k == coffer_keystore_secret::COFFER_KEYSTORE_PASSPHRASE as u32 => {
            if !(MIN_PASSPHRASE_LEN..=MAX_PASSPHRASE_LEN).contains(&bytes.len()) {
                return Err(COFFER_ERR_INVALID_LENGTH);
            }
            Ok(StoreSecret::Passphrase(Zeroizing::new(bytes.to_vec())))
        }
        k if k == coffer_keystore_secret::COFFER_KEYSTORE_MASTER_KEY as u32 => {
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

/// Creates a new, empty keystore with `slots` empty slots (1..=64), to be
/// saved at `path` (UTF-8, no NUL needed) sealed under `secret` (a
/// passphrase or a 32-byte master key, per `secret_kind`). Nothing is
/// written until `coffer_keystore_save`.
///
/// Errors: `COFFER_ERR_KEYSTORE_EXISTS` if a file is already at `path`;
/// `COFFER_ERR_INVALID_LENGTH` for a passphrase of 0 or more than 1024
/// bytes; `COFFER_ERR_INVALID_KEY` for a master key that is not 32 bytes;
/// `COFFER_ERR_INVALID_ARGUMENT` for 0 or more than 64 slots or a path
/// without a file name; `COFFER_ERR_UNKNOWN_VALUE` for a bad `secret_kind`.
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
        if std::path::Path::new(path).exists() {
            return Err(COFFER_ERR_KEYSTORE_EXISTS);
        }
        let storage = FileStorage::new(path)?;
        let slots = usize::try_from(slots).map_err(|_| crate::status::COFFER_ERR_INVALID_ARGUMENT)?;
        let hsm = Hsm::new(slots, Config::default(), Box::new(SystemClock))?;
        let state = KeystoreState { hsm, storage, secret, sessions: BTreeMap::new(), next_session: 1 };
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(keystore, coffer_keystore { state: Mutex::new(state) }) }
    })
}

/// Opens the keystore file at `path` with `secret`. With `min_counter`
/// nonzero, a keystore saved with a lower counter is refused as a rollback
/// (keep the counter `coffer_keystore_save` returns somewhere the file's
/// storage cannot roll back).
///
/// Errors: `COFFER_ERR_KEYSTORE_MISSING` if there is no file;
/// `COFFER_ERR_KEYSTORE_AUTH` for a wrong secret or a modified file;
/// `COFFER_ERR_KEYSTORE_CORRUPT`; `COFFER_ERR_KEYSTORE_ROLLBACK`;
/// `COFFER_ERR_STORAGE` if the file cannot be read.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_open(
    path: *const u8,
    path_len: usize,
    secret_kind: u32,
    secret: *const u8,
    secret_len: usize,
    min_counter: u64,
    keystore: *mut *mut coffer_keystore,
) -> coffer_status {
    ffi_boundary(|| {
        require(keystore)?;
        // SAFETY: the header's contract for input buffers.
        let path = unsafe { str_in(path, path_len) }?;
        // SAFETY: as above.
        let secret = unsafe { secret_in(secret_kind, secret, secret_len) }?;
        if !std::path::Path::new(path).exists() {
            return Err(COFFER_ERR_KEYSTORE_MISSING);
        }
        let mut storage = FileStorage::new(path)?;
        let min = (min_counter != 0).then_some(min_counter);
        let hsm = Hsm::load(&mut storage, &secret.source(), min, Box::new(SystemClock))?;
        let state = KeystoreState { hsm, storage, secret, sessions: BTreeMap::new(), next_session: 1 };
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(keystore, coffer_keystore { state: Mutex::new(state) }) }
    })
}

/// Seals the whole keystore (keys, PIN records, audit logs) and writes it
/// to its file atomically. `*counter` (may be NULL) receives the new
/// keystore counter, for rollback detection in `coffer_keystore_open`.
///
/// Errors: `COFFER_ERR_STORAGE` (the file holds the complete old or new
/// keystore); `COFFER_ERR_CAPACITY`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_save(keystore: *const coffer_keystore, counter: *mut u64) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let n = unsafe {
            with_state(keystore, |s| {
                let source = s.secret.source();
                Ok(s.hsm.save(&mut OsRng, &mut s.storage, &source)?)
            })
        }?;
        if counter.is_null() {
            return Ok(());
        }
        // SAFETY: non-NULL; the caller's output slot.
        unsafe { write_out(counter, n) }
    })
}

/// Frees a keystore, zeroing its keys; unsaved changes are lost. NULL does nothing.
///
/// Thread safety: no other call may be using the keystore.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_free(keystore: *mut coffer_keystore) {
    ffi_boundary_void(|| {
        // SAFETY: NULL or a pointer from a coffer_keystore constructor, freed once.
        unsafe { handle_free(keystore) }
    });
}

/// Initializes the token in the empty slot `slot` with a `label` (1..=64
/// bytes) and the security officer PIN `so_pin` (6..=64 bytes).
///
/// Errors: `COFFER_ERR_TOKEN_STATE` if the slot already holds a token;
/// `COFFER_ERR_INVALID_ARGUMENT` for a bad slot or label; `COFFER_ERR_PIN_POLICY`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_init_token(
    keystore: *const coffer_keystore,
    slot: u32,
    label: *const u8,
    label_len: usize,
    so_pin: *const u8,
    so_pin_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let label = unsafe { str_in(label, label_len) }?;
        // SAFETY: as above.
        let pin = unsafe { slice_in(so_pin, so_pin_len) }?;
        let slot = usize::try_from(slot).map_err(|_| crate::status::COFFER_ERR_INVALID_ARGUMENT)?;
        // SAFETY: the header's contract for handles.
        unsafe { with_state(keystore, |s| Ok(s.hsm.init_token(&mut OsRng, slot, label, pin)?)) }
    })
}

/// Sets (or resets, which unblocks it) the PIN of the user or auditor role
/// on the security officer session's token.
///
/// Errors: `COFFER_ERR_NOT_LOGGED_IN`; `COFFER_ERR_ROLE_NOT_ALLOWED` unless
/// `so_session` is a security officer; `COFFER_ERR_INVALID_ARGUMENT` for
/// the security officer role itself; `COFFER_ERR_PIN_POLICY`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_set_pin(
    keystore: *const coffer_keystore,
    so_session: u64,
    role: u32,
    pin: *const u8,
    pin_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let pin = unsafe { slice_in(pin, pin_len) }?;
        let role = role_of(role)?;
        // SAFETY: the header's contract for handles.
        unsafe {
            with_state(keystore, |s| {
                let so = s.session(so_session)?;
                Ok(s.hsm.set_pin(&mut OsRng, so.id, role, pin)?)
            })
        }
    })
}

/// Logs in `role` on `slot` with `pin`. A user session names its `tenant`
/// (1..=64 bytes) and sees only that tenant's keys; security officer and
/// auditor sessions pass NULL and 0. On success `*session` is the session
/// number for this keystore.
///
/// Errors: `COFFER_ERR_PIN_INCORRECT`, then `COFFER_ERR_PIN_LOCKED` after 5
/// failures; `COFFER_ERR_TOKEN_STATE` if the slot has no token or the role
/// has no PIN yet; `COFFER_ERR_INVALID_ARGUMENT` for a tenant given (or
/// missing) against the role.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_login(
    keystore: *const coffer_keystore,
    slot: u32,
    role: u32,
    pin: *const u8,
    pin_len: usize,
    tenant: *const u8,
    tenant_len: usize,
    session: *mut u64,
) -> coffer_status {
    ffi_boundary(|| {
        require(session)?;
        // SAFETY: the header's contract for input buffers.
        let pin = unsafe { slice_in(pin, pin_len) }?;
        let tenant = if tenant.is_null() && tenant_len == 0 {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { str_in(tenant, tenant_len) }?)
        };
        let role = role_of(role)?;
        let slot = usize::try_from(slot).map_err(|_| crate::status::COFFER_ERR_INVALID_ARGUMENT)?;
        // SAFETY: the header's contract for handles.
        let number = unsafe {
            with_state(keystore, |s| {
                let id = s.hsm.login(slot, role, pin, tenant)?;
                let number = s.next_session;
                s.next_session = s.next_session.checked_add(1).ok_or(crate::status::COFFER_ERR_CAPACITY)?;
                s.sessions.insert(number, SessionRecord { id, tenant: tenant.map(str::to_owned) });
                Ok(number)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { write_out(session, number) }
    })
}

/// Ends a session.
///
/// Errors: `COFFER_ERR_NOT_LOGGED_IN` for an unknown session.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_logout(keystore: *const coffer_keystore, session: u64) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        unsafe {
            with_state(keystore, |s| {
                let rec = s.sessions.remove(&session).ok_or(COFFER_ERR_NOT_LOGGED_IN)?;
                Ok(s.hsm.logout(rec.id)?)
            })
        }
    })
}

/// Generates a key of `key_type` (a `coffer_key_type`) for the user
/// session's tenant. On success `*handle` is the key's handle number.
///
/// Errors: `COFFER_ERR_ROLE_NOT_ALLOWED` for a non-user session;
/// `COFFER_ERR_INVALID_ARGUMENT` for a bad label or key id, or a key id the
/// tenant already uses; `COFFER_ERR_UNKNOWN_VALUE` for a bad type or usage flag.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_generate(
    keystore: *const coffer_keystore,
    session: u64,
    key_type: u32,
    attributes: *const coffer_key_attributes,
    handle: *mut u64,
) -> coffer_status {
    ffi_boundary(|| {
        require(handle)?;
        // SAFETY: the header's contract for structs.
        let a = unsafe { ref_in(attributes) }?;
        // SAFETY: as above, for the buffers inside.
        let label = unsafe { str_in(a.label, a.label_len) }?;
        // SAFETY: as above.
        let key_id = unsafe { str_in(a.key_id, a.key_id_len) }?;
        let key_type = key_type_of(key_type)?;
        let usage = usage_of(a.usage)?;
        // SAFETY: the header's contract for handles.
        let h = unsafe {
            with_state(keystore, |s| {
                let rec = s.session(session)?;
                let attrs = KeyAttributes {
                    label: label.to_owned(),
                    tenant: rec.tenant.clone().unwrap_or_default(),
                    key_id: key_id.to_owned(),
                    usage,
                    extractable: a.extractable,
                    active: a.active,
                };
                Ok(s.hsm.generate(&mut OsRng, rec.id, key_type, attrs)?)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { write_out(handle, h.get()) }
    })
}

/// Looks up the session tenant's key by `key_id`; `*handle` receives its handle number.
///
/// Errors: `COFFER_ERR_NOT_FOUND`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_find(
    keystore: *const coffer_keystore,
    session: u64,
    key_id: *const u8,
    key_id_len: usize,
    handle: *mut u64,
) -> coffer_status {
    ffi_boundary(|| {
        require(handle)?;
        // SAFETY: the header's contract for input buffers.
        let key_id = unsafe { str_in(key_id, key_id_len) }?;
        // SAFETY: the header's contract for handles.
        let h = unsafe {
            with_state(keystore, |s| {
                let rec = s.session(session)?;
                Ok(s.hsm.find(rec.id, key_id)?)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { write_out(handle, h.get()) }
    })
}

/// Seals `plaintext` as an envelope for the current version of the AES-256
/// or RSA key `handle` (usage ENCRYPT), bound to `context`. The envelope's
/// key id is the key's id. On success `*out` holds the envelope.
///
/// Errors: `COFFER_ERR_NOT_FOUND`; `COFFER_ERR_POLICY_DENIED`;
/// `COFFER_ERR_KEY_STATE`; `COFFER_ERR_INVALID_ARGUMENT` for a key of another type.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_seal_envelope(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    context: *const coffer_kv,
    context_len: usize,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(out)?;
        // SAFETY: the header's contract for input arrays and buffers.
        let context = unsafe { context_in(context, context_len) }?;
        // SAFETY: as above.
        let plaintext = unsafe { slice_in(plaintext, plaintext_len) }?;
        // SAFETY: the header's contract for handles.
        let env = unsafe {
            with_key(keystore, session, handle, |hsm, id, h| {
                hsm.seal_envelope(&mut OsRng, id, h, &context, plaintext)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(out, &env) }
    })
}

/// Opens an envelope sealed to any version of the key `handle` (usage
/// DECRYPT) with the same `context`. On success `*out` holds the plaintext.
///
/// Errors: `COFFER_ERR_DECRYPT` for any failure to open; as
/// `coffer_keystore_seal_envelope` for the key checks.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_open_envelope(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    context: *const coffer_kv,
    context_len: usize,
    sealed: *const u8,
    sealed_len: usize,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(out)?;
        // SAFETY: the header's contract for input arrays and buffers.
        let context = unsafe { context_in(context, context_len) }?;
        // SAFETY: as above.
        let sealed = unsafe { slice_in(sealed, sealed_len) }?;
        // SAFETY: the header's contract for handles.
        let plaintext = unsafe {
            with_key(keystore, session, handle, |hsm, id, h| {
                hsm.open_envelope(&mut OsRng, id, h, &context, sealed)
            })
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(out, &plaintext) }
    })
}

/// Rewraps an envelope of the AES-256 key `handle` to the key's current
/// version (usages WRAP and UNWRAP), changing only the header. An envelope
/// already on the current version comes back unchanged.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_rewrap_envelope(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    sealed: *const u8,
    sealed_len: usize,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(out)?;
        // SAFETY: the header's contract for input buffers.
        let sealed = unsafe { slice_in(sealed, sealed_len) }?;
        // SAFETY: the header's contract for handles.
        let env = unsafe {
            with_key(keystore, session, handle, |hsm, id, h| hsm.rewrap_envelope(&mut OsRng, id, h, sealed))
        }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(out, &env) }
    })
}

/// Signs `msg` with the current version of the P-256 or RSA key `handle`
/// (usage SIGN): ECDSA-SHA-256 (DER) or RSASSA-PSS-SHA-256. On success
/// `*signature` holds the signature.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_sign(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    msg: *const u8,
    msg_len: usize,
    signature: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(signature)?;
        // SAFETY: the header's contract for input buffers.
        let msg = unsafe { slice_in(msg, msg_len) }?;
        // SAFETY: the header's contract for handles.
        let sig =
            unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.sign(&mut OsRng, id, h, msg)) }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(signature, &sig) }
    })
}

/// Verifies a signature from `coffer_keystore_sign` against any version of
/// the key `handle` (usage VERIFY).
///
/// Errors: `COFFER_ERR_VERIFY` if it does not verify.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_verify(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    msg: *const u8,
    msg_len: usize,
    signature: *const u8,
    signature_len: usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let msg = unsafe { slice_in(msg, msg_len) }?;
        // SAFETY: as above.
        let sig = unsafe { slice_in(signature, signature_len) }?;
        // SAFETY: the header's contract for handles.
        unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.verify(id, h, msg, sig)) }
    })
}

/// The public key of the current version of the P-256 or RSA key `handle`
/// as SPKI DER, into `*out`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_public_key_der(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    out: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(out)?;
        // SAFETY: the header's contract for handles.
        let der = unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.public_key_der(id, h)) }?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { bytes_out(out, &der) }
    })
}

/// Creates a new version of the key `handle`; it becomes the one that
/// seals and signs, while older versions still open and verify. `*version`
/// (may be NULL) receives the new version number.
///
/// Errors: `COFFER_ERR_KEY_STATE` unless the key is active; `COFFER_ERR_CAPACITY`.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_rotate(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
    version: *mut u32,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let v = unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.rotate(&mut OsRng, id, h)) }?;
        if version.is_null() {
            return Ok(());
        }
        // SAFETY: non-NULL; the caller's output slot.
        unsafe { write_out(version, v) }
    })
}

/// Destroys every version of the key `handle` (crypto-shred): nothing it
/// sealed can be opened any more. The handle stays known, in state destroyed.
///
/// Errors: `COFFER_ERR_KEY_STATE` if already destroyed.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_destroy(
    keystore: *const coffer_keystore,
    session: u64,
    handle: u64,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        unsafe { with_key(keystore, session, handle, |hsm, id, h| hsm.destroy(id, h)) }
    })
}

/// Crypto-shreds a tenant: destroys every key of `tenant` on the security
/// officer session's token. `*destroyed` (may be NULL) receives the number
/// of keys destroyed.
///
/// Errors: `COFFER_ERR_ROLE_NOT_ALLOWED` unless `so_session` is a security officer.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_shred_tenant(
    keystore: *const coffer_keystore,
    so_session: u64,
    tenant: *const u8,
    tenant_len: usize,
    destroyed: *mut usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for input buffers.
        let tenant = unsafe { str_in(tenant, tenant_len) }?;
        // SAFETY: the header's contract for handles.
        let n = unsafe {
            with_state(keystore, |s| {
                let rec = s.session(so_session)?;
                Ok(s.hsm.shred_tenant(rec.id, tenant)?.keys.len())
            })
        }?;
        if destroyed.is_null() {
            return Ok(());
        }
        // SAFETY: non-NULL; the caller's output slot.
        unsafe { write_out(destroyed, n) }
    })
}

/// Verifies the HMAC chain of the audit log of the auditor session's token.
///
/// Errors: `COFFER_ERR_AUDIT_TAMPERED`; `COFFER_ERR_ROLE_NOT_ALLOWED` unless
/// `auditor_session` is an auditor.
///
/// Thread safety: see `coffer_keystore`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keystore_audit_verify(
    keystore: *const coffer_keystore,
    auditor_session: u64,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        unsafe {
            with_state(keystore, |s| {
                let rec = s.session(auditor_session)?;
                Ok(s.hsm.audit_verify(rec.id)?)
            })
        }
    })
}
