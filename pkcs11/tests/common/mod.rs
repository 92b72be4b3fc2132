//! Shared by the module's tests: a keystore made in a temporary directory
//! with coffer-hsm (a token, a tenant, a user), the module's config file
//! for it, the module's function list, and one test at a time.
//!
//! The module has one global state per process (as every PKCS#11 module),
//! so the tests of one binary take [`serial`] first, and [`Loaded`] calls
//! `C_Finalize` when a test ends, even by a failed assertion.

#![allow(dead_code, reason = "each test binary uses part of this")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test setup")]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use coffer_core::rng::OsRng;
use coffer_hsm::keystore::KeySource;
use coffer_hsm::{Config, Hsm, Role, SystemClock};
use coffer_store::SqliteStore;
use cryptoki_sys::{CK_FUNCTION_LIST, CKR_OK};

/// The security officer's PIN of the test token.
pub const SO_PIN: &[u8] = b"so-pin-1";
/// The user's PIN.
pub const USER_PIN: &[u8] = b"alice-pin";
/// The user credential `CKU_USER` maps to.
pub const USER: &str = "alice";
/// Her tenant.
pub const TENANT: &str = "acme";
/// The token label.
pub const LABEL: &str = "coffer-test";
/// The keystore passphrase.
pub const PASSPHRASE: &[u8] = b"correct horse battery staple";

/// Calls a function of the module's function list:
/// `p11!(C_OpenSession(slot, flags, ...))`.
macro_rules! p11 {
    ($f:ident($($arg:expr),* $(,)?)) => {{
        let f = $crate::common::functions().$f.expect(concat!(stringify!($f), " is in the function list"));
        // SAFETY: the tests pass valid pointers, or NULL where the test is
        // that the module refuses it.
        unsafe { f($($arg),*) }
    }};
}

/// The module's function list, from `C_GetFunctionList`.
pub fn functions() -> &'static CK_FUNCTION_LIST {
    let mut list: *mut CK_FUNCTION_LIST = std::ptr::null_mut();
    // SAFETY: a valid output slot.
    let rv = unsafe { coffer_pkcs11::C_GetFunctionList(&mut list) };
    assert_eq!(rv, CKR_OK);
    // SAFETY: the module's static list, valid while the library is loaded.
    unsafe { list.as_ref() }.expect("C_GetFunctionList gives a list")
}

static SERIAL: Mutex<()> = Mutex::new(());

/// One test at a time in this binary (the module's state is global).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A temporary directory for one test, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("coffer-pkcs11-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Makes a keystore with `slots` slots at `path`; slot 0 holds the token
/// [`LABEL`] with tenant [`TENANT`] and user [`USER`].
fn create_keystore(path: &Path, slots: usize) {
    let store = SqliteStore::open(path).unwrap();
    // A low PIN cost keeps the tests fast; the lockout is the default (5).
    let config = Config { pin_iterations: 1_000, ..Config::default() };
    let source = KeySource::Passphrase(PASSPHRASE);
    let mut hsm =
        Hsm::create(&mut OsRng, Box::new(store), &source, slots, config, Box::new(SystemClock)).unwrap();
    hsm.init_token(&mut OsRng, 0, LABEL, SO_PIN).unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    hsm.create_tenant(&mut OsRng, so, TENANT).unwrap();
    hsm.create_user(&mut OsRng, so, USER, Role::User, &[TENANT], USER_PIN).unwrap();
    hsm.logout(so).unwrap();
    // Dropping the HSM closes the store: SQLite folds its log into the file.
}

/// One keystore of each size per test binary, copied for each test: the
/// passphrase's PBKDF2 then runs once per binary instead of once per test.
/// Kept under `target/<profile>/coffer-pkcs11-tests/<test binary>/`.
fn template(slots: usize) -> PathBuf {
    static TEMPLATES: Mutex<Vec<(usize, PathBuf)>> = Mutex::new(Vec::new());
    let mut made = TEMPLATES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, path)) = made.iter().find(|(n, _)| *n == slots) {
        return path.clone();
    }
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let dir = profile.join("coffer-pkcs11-tests").join(exe.file_name().unwrap());
    let path = dir.join(format!("template-{slots}.sqlite"));
    if made.is_empty() {
        // Templates of an earlier run of this binary.
        let _ = std::fs::remove_dir_all(&dir);
    }
    std::fs::create_dir_all(&dir).unwrap();
    create_keystore(&path, slots);
    made.push((slots, path.clone()));
    path
}

/// A keystore with `slots` slots in `dir/hsm.sqlite`, a copy of the
/// binary's template; slot 0 holds the token [`LABEL`] with tenant
/// [`TENANT`] and user [`USER`].
pub fn make_keystore(dir: &Path, slots: usize) -> PathBuf {
    let path = dir.join("hsm.sqlite");
    std::fs::copy(template(slots), &path).unwrap();
    path
}

/// Writes the passphrase file and a config file for `store` and `slot`
/// into `dir`; returns the config file's path.
pub fn write_config(dir: &Path, store: &Path, slot: u8) -> PathBuf {
    std::fs::write(dir.join("passphrase"), [PASSPHRASE, b"\n"].concat()).unwrap();
    let conf = dir.join("coffer-pkcs11.conf");
    let text = format!(
        "# the test token\nstore = {}\npassphrase_file = passphrase\nslot = {slot}\nuser = {USER}\ntenant = {TENANT}\n",
        store.display()
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

/// Points the module at `conf` (`COFFER_PKCS11_CONF`), or at nothing.
pub fn set_config(conf: Option<&Path>) {
    match conf {
        // SAFETY: the tests of a binary run one at a time (`serial`), and
        // no other thread of the test reads the environment meanwhile.
        Some(path) => unsafe { std::env::set_var(coffer_pkcs11::CONFIG_ENV, path) },
        // SAFETY: as above.
        None => unsafe { std::env::remove_var(coffer_pkcs11::CONFIG_ENV) },
    }
}

/// A test token: its directory, keystore and config file.
pub struct Token {
    pub dir: TempDir,
    pub store: PathBuf,
    pub conf: PathBuf,
}

impl Token {
    /// A keystore with one slot and its config, set as the module's.
    pub fn new(name: &str) -> Self {
        let dir = TempDir::new(name);
        let store = make_keystore(&dir.0, 1);
        let conf = write_config(&dir.0, &store, 0);
        set_config(Some(&conf));
        Token { dir, store, conf }
    }
}

/// The module initialized (`C_Initialize(NULL)`); `C_Finalize` on drop.
pub struct Loaded;

impl Loaded {
    pub fn new() -> Self {
        let rv = p11!(C_Initialize(std::ptr::null_mut()));
        assert_eq!(rv, CKR_OK, "C_Initialize");
        Loaded
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = p11!(C_Finalize(std::ptr::null_mut()));
    }
}

pub mod keys;
pub mod tool;
