//! Private key files: PKCS#8 PEM, plain (`PRIVATE KEY`) or encrypted
//! (`ENCRYPTED PRIVATE KEY`, PBES2) under the passphrase on the first line
//! of a `--key-passphrase-file`.

use std::path::Path;

use coffer_core::Error;
use coffer_core::cert::{KeyPair, MAX_PASSPHRASE_LEN};
use coffer_core::rng::OsRng;
use zeroize::Zeroizing;

use super::read;
use crate::fail::{Fail, Result, exit};

/// The option that names the passphrase file of the keys most commands
/// read or write.
pub const KEY_PASSPHRASE: &str = "--key-passphrase-file";
/// The option that names the passphrase file of `--ca-key`.
pub const CA_KEY_PASSPHRASE: &str = "--ca-key-passphrase-file";

const PEM_ENCRYPTED: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";

/// A key passphrase: the first line of `file`, not empty.
pub fn passphrase(file: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let pass = crate::secret_input::read("key passphrase", Some(file), "")?;
    if pass.len() > MAX_PASSPHRASE_LEN {
        return Err(Fail::usage(format!(
            "the key passphrase in {} is longer than {MAX_PASSPHRASE_LEN} bytes",
            file.display()
        )));
    }
    Ok(pass)
}

/// Reads a PKCS#8 PEM private key; an encrypted one is opened with the
/// passphrase of `passphrase_file` (given as `option` on the command line).
/// A passphrase for a plain key, or none for an encrypted one, is refused.
pub fn read_key_with(path: &Path, passphrase_file: Option<&Path>, option: &str) -> Result<KeyPair> {
    let pem = Zeroizing::new(read(path)?);
    let shown = path.display();
    let encrypted = pem.contains(PEM_ENCRYPTED);
    match (encrypted, passphrase_file) {
        (false, None) => KeyPair::from_pkcs8_pem(&pem).map_err(|e| {
            Fail::usage(format!("{shown}: {e}")).hint(
                "give a PKCS#8 PEM private key (PRIVATE KEY, or ENCRYPTED PRIVATE KEY with a passphrase)",
            )
        }),
        (true, None) => Err(Fail::usage(format!("{shown} is encrypted: give {option} <file>"))
            .hint(format!("{option} names a file whose first line is the key's passphrase"))),
        (false, Some(_)) => Err(Fail::usage(format!("{shown} is not encrypted, but {option} was given"))
            .hint(format!("drop {option}, or give the encrypted key file"))),
        (true, Some(file)) => {
            let pass = passphrase(file)?;
            KeyPair::from_encrypted_pkcs8_pem(&pem, &pass).map_err(|e| match e {
                Error::Decrypt => Fail::new(
                    exit::REFUSED,
                    format!("{shown}: wrong key passphrase, or the key file is damaged"),
                )
                .hint(format!("check the first line of {}", file.display())),
                Error::LimitExceeded => Fail::new(
                    exit::REFUSED,
                    format!(
                        "{shown}: its encryption asks for more than {} PBKDF2 iterations (or an scrypt \
                         cost N*r*p above {}), which coffer refuses to compute",
                        KeyPair::MAX_PBKDF2_ITERATIONS,
                        KeyPair::MAX_SCRYPT_COST
                    ),
                )
                .hint("re-encrypt it with a lower cost: openssl pkcs8 -topk8 -v2 aes-256-cbc -iter 600000"),
                other => Fail::usage(format!("{shown}: {other}")).hint(
                    "give a PKCS#8 PEM private key (ENCRYPTED PRIVATE KEY: PBES2 with PBKDF2 or scrypt)",
                ),
            })
        }
    }
}

/// A new key as PEM: encrypted under `passphrase` (PBES2, PBKDF2-HMAC-SHA-256,
/// AES-256-CBC) when one is given, else plain PKCS#8.
pub fn key_pem(key: &KeyPair, passphrase: Option<&[u8]>) -> Result<Zeroizing<String>> {
    Ok(match passphrase {
        Some(pass) => Zeroizing::new(key.to_encrypted_pkcs8_pem(&mut OsRng, pass)?),
        None => key.to_pkcs8_pem()?,
    })
}

/// The passphrase of `file` if one was given (read before any work, so a
/// missing or empty file fails first).
pub fn new_key_passphrase(file: Option<&Path>) -> Result<Option<Zeroizing<Vec<u8>>>> {
    file.map(passphrase).transpose()
}
