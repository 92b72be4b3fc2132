//! The module's configuration: the file named by `COFFER_PKCS11_CONF`
//! (README.md, "Configuration").
//!
//! ```text
//! # coffer PKCS#11 module
//! store = /var/lib/coffer/hsm.sqlite
//! passphrase_file = /etc/coffer/hsm.pass
//! slot = 0
//! user = alice
//! tenant = acme
//! ```
//!
//! One `key = value` per line; blank lines and lines starting with `#`
//! are ignored; spaces around the key and the value are trimmed. A
//! relative path is relative to the directory of the configuration file.
//! `store` and `user` are required, and exactly one of `passphrase_file`
//! and `master_kek` (a `pkcs11:` URI of the KEK in another PKCS#11 module
//! that holds the keystore's master key, KEYSTORE.md §12.3 kdf 02); `slot`
//! (default 0) and `tenant` (default: the user's only tenant) are
//! optional; an unknown key or a key given twice is an error, so that a
//! typing mistake is never silently ignored.

use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "COFFER_PKCS11_CONF";

/// Where the keystore is: a SQLite file or a PostgreSQL URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum StoreLocation {
    /// The path of an existing SQLite keystore file.
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL (never shown in a message:
    /// it may hold a password).
    Postgres(String),
}

/// What unlocks the keystore.
pub(crate) enum Unlock {
    /// The keystore's passphrase (the passphrase file's bytes, without one
    /// trailing newline).
    Passphrase(Zeroizing<Vec<u8>>),
    /// The `pkcs11:` URI of the KEK that holds the master key.
    MasterKek(String),
}

/// The parsed configuration.
pub(crate) struct ModuleConfig {
    /// The keystore.
    pub(crate) store: StoreLocation,
    /// What unlocks it.
    pub(crate) unlock: Unlock,
    /// The coffer slot the module's one PKCS#11 slot shows.
    pub(crate) slot: u8,
    /// The coffer credential that `CKU_USER` logs in as.
    pub(crate) user: String,
    /// The tenant the user acts in (`None`: the user's only tenant).
    pub(crate) tenant: Option<String>,
}

/// Why the configuration could not be loaded; the message names the
/// problem and what to do, never a secret or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn error(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

impl ModuleConfig {
    /// Loads the file named by [`CONFIG_ENV`].
    pub(crate) fn from_env() -> Result<Self, ConfigError> {
        let path = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()).ok_or_else(|| {
            error(format!("{CONFIG_ENV} is not set: set it to the path of the module's config file"))
        })?;
        Self::load(Path::new(&path))
    }

    /// Loads and checks the configuration file at `path`, and reads the
    /// passphrase file it names.
    pub(crate) fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| error(format!("cannot read the config file {}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut store = None;
        let mut passphrase_file = None;
        let mut master_kek = None;
        let mut slot = None;
        let mut user = None;
        let mut tenant = None;
        for (number, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line_no = number.saturating_add(1);
            let (key, value) = line
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| error(format!("config line {line_no}: expected `key = value`")))?;
            if value.is_empty() {
                return Err(error(format!("config line {line_no}: `{key}` has no value")));
            }
            let target = match key {
                "store" => &mut store,
                "passphrase_file" => &mut passphrase_file,
                "master_kek" => &mut master_kek,
                "slot" => &mut slot,
                "user" => &mut user,
                "tenant" => &mut tenant,
                other => {
                    return Err(error(format!(
                        "config line {line_no}: unknown key `{other}` (known: store, passphrase_file, master_kek, slot, user, tenant)"
                    )));
                }
            };
            if target.replace(value.to_owned()).is_some() {
                return Err(error(format!("config line {line_no}: `{key}` is given twice")));
            }
        }
        let store =
            store.ok_or_else(|| error("config: `store` is missing (a SQLite path or a postgres:// URL)"))?;
        let store = if store.starts_with("postgres://") || store.starts_with("postgresql://") {
            StoreLocation::Postgres(store)
        } else {
            StoreLocation::Sqlite(base.join(store))
        };
        let unlock = match (passphrase_file, master_kek) {
            (Some(file), None) => Unlock::Passphrase(read_passphrase(&base.join(file))?),
            (None, Some(uri)) if uri.starts_with("pkcs11:") => Unlock::MasterKek(uri),
            (None, Some(_)) => return Err(error("config: `master_kek` must be a pkcs11: URI")),
            (None, None) => {
                return Err(error(
                    "config: `passphrase_file` is missing (the keystore passphrase; or `master_kek`, \
                     the pkcs11: URI of the KEK holding the master key)",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(error("config: give `passphrase_file` or `master_kek`, not both"));
            }
        };
        let slot = match slot {
            None => 0,
            Some(s) => {
                s.parse::<u8>().ok().filter(|n| usize::from(*n) < coffer_hsm::MAX_SLOTS).ok_or_else(|| {
                    error(format!("config: `slot` must be a number below {}", coffer_hsm::MAX_SLOTS))
                })?
            }
        };
        let user = user
            .ok_or_else(|| error("config: `user` is missing (the coffer credential CKU_USER logs in as)"))?;
        if !coffer_hsm::is_valid_name(&user) {
            return Err(error("config: `user` is not a valid coffer credential name"));
        }
        if tenant.as_deref().is_some_and(|t| !coffer_hsm::is_valid_name(t)) {
            return Err(error("config: `tenant` is not a valid coffer tenant name"));
        }
        Ok(ModuleConfig { store, unlock, slot, user, tenant })
    }
}

/// The passphrase file's bytes without one trailing newline (`\n` or `\r\n`).
fn read_passphrase(path: &Path) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
    let mut bytes = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| error(format!("cannot read the passphrase file {}: {e}", path.display())))?,
    );
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        return Err(error(format!("the passphrase file {} is empty", path.display())));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("coffer-pkcs11-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_full_config_is_read_with_relative_paths_beside_it() {
        let dir = temp_dir("full");
        write(&dir, "pass", "secret words\n");
        let conf = write(
            &dir,
            "conf",
            "# comment\n\nstore = hsm.sqlite\npassphrase_file = pass\nslot = 3\nuser = alice\ntenant = acme\n",
        );
        let c = ModuleConfig::load(&conf).unwrap();
        assert!(c.store == StoreLocation::Sqlite(dir.join("hsm.sqlite")));
        assert!(matches!(&c.unlock, Unlock::Passphrase(p) if &p[..] == b"secret words"));
        assert_eq!((c.slot, c.user.as_str(), c.tenant.as_deref()), (3, "alice", Some("acme")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_duplicate_and_missing_keys_are_refused() {
        let dir = temp_dir("bad");
        write(&dir, "pass", "pw");
        for text in [
            "store = a\npassphrase_file = pass\nuser = alice\ncolour = blue\n",
            "store = a\nstore = b\npassphrase_file = pass\nuser = alice\n",
            "passphrase_file = pass\nuser = alice\n",
            "store = a\npassphrase_file = pass\n",
            "store = a\npassphrase_file = pass\nuser = alice\nslot = 64\n",
            "store = a\npassphrase_file = missing\nuser = alice\n",
            "store = a\npassphrase_file = pass\nuser = bad name\n",
            "store = a\npassphrase_file = pass\nmaster_kek = pkcs11:token=t;object=k\nuser = alice\n",
            "store = a\nmaster_kek = /etc/kek\nuser = alice\n",
        ] {
            let conf = write(&dir, "conf", text);
            assert!(ModuleConfig::load(&conf).is_err(), "accepted: {text:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_master_kek_uri_is_kept_whole_in_place_of_a_passphrase() {
        let dir = temp_dir("kek");
        let uri = "pkcs11:token=vault;object=coffer-master?module-path=/usr/lib/x.so&pin-source=file:/p";
        let conf = write(&dir, "conf", &format!("store = hsm.sqlite\nmaster_kek = {uri}\nuser = alice\n"));
        let c = ModuleConfig::load(&conf).unwrap();
        assert!(matches!(&c.unlock, Unlock::MasterKek(u) if u == uri));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_postgres_url_is_kept_as_a_url() {
        let dir = temp_dir("pg");
        write(&dir, "pass", "pw");
        let conf =
            write(&dir, "conf", "store = postgres://u@localhost/db\npassphrase_file = pass\nuser = alice\n");
        let c = ModuleConfig::load(&conf).unwrap();
        assert!(c.store == StoreLocation::Postgres("postgres://u@localhost/db".into()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
