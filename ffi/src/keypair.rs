//! Key pairs for C: RSA-2048/3072/4096 and P-256 generation, PKCS#8 (plain
//! and encrypted) and SPKI, in DER and PEM. Signing and verifying with a
//! key pair is in [`crate::signature`].

use coffer_core::cert::{KeyAlgorithm, KeyPair, PublicKey};
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaKeySize;

use crate::boundary::{
    bytes_out, coffer_bytes, ffi_boundary, ffi_boundary_void, handle_free, handle_out, ref_in, require,
    slice_in, str_in, write_out,
};
use crate::status::{COFFER_ERR_INVALID_LENGTH, COFFER_ERR_UNKNOWN_VALUE, FfiResult, coffer_status};

/// Longest passphrase, in bytes, of encrypted PKCS#8 and of a keystore; a
/// passphrase has at least one byte.
pub const COFFER_PASSPHRASE_MAX_LEN: usize = 1024;

// One passphrase rule for key files and keystores; it must equal coffer-core's and coffer-hsm's.
const _: () = assert!(COFFER_PASSPHRASE_MAX_LEN == coffer_core::cert::MAX_PASSPHRASE_LEN);
const _: () = assert!(COFFER_PASSPHRASE_MAX_LEN == coffer_hsm::keystore::MAX_PASSPHRASE_LEN);
const _: () = assert!(coffer_hsm::keystore::MIN_PASSPHRASE_LEN == 1);

/// A passphrase (of encrypted PKCS#8, in or out, or of a keystore):
/// 1..=`COFFER_PASSPHRASE_MAX_LEN` bytes, else [`COFFER_ERR_INVALID_LENGTH`].
///
/// # Safety
/// As [`slice_in`].
pub(crate) unsafe fn passphrase_in<'a>(ptr: *const u8, len: usize) -> FfiResult<&'a [u8]> {
    // SAFETY: forwarded contract of this function.
    let passphrase = unsafe { slice_in(ptr, len) }?;
    if passphrase.is_empty() || passphrase.len() > COFFER_PASSPHRASE_MAX_LEN {
        return Err(COFFER_ERR_INVALID_LENGTH);
    }
    Ok(passphrase)
}

/// A key pair algorithm.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum coffer_key_algorithm {
    /// RSA-2048, e = 65537.
    COFFER_ALG_RSA_2048 = 1,
    /// RSA-3072, e = 65537.
    COFFER_ALG_RSA_3072 = 2,
    /// RSA-4096, e = 65537.
    COFFER_ALG_RSA_4096 = 3,
    /// NIST P-256.
    COFFER_ALG_P256 = 4,
}

/// A private key (RSA or P-256) with its public half. Created by
/// `coffer_keypair_generate` or an import, freed (and zeroed) by
/// `coffer_keypair_free`.
///
/// Thread safety: immutable once created; one key pair may be used by any
/// number of threads at once (for example as a CA key), and freed when
/// none uses it any more.
pub struct coffer_keypair {
    pub(crate) inner: KeyPair,
}

fn algorithm_of(alg: u32) -> FfiResult<KeyAlgorithm> {
    use coffer_key_algorithm::*;
    Ok(match alg {
        a if a == COFFER_ALG_RSA_2048 as u32 => KeyAlgorithm::Rsa(RsaKeySize::Rsa2048),
        a if a == COFFER_ALG_RSA_3072 as u32 => KeyAlgorithm::Rsa(RsaKeySize::Rsa3072),
        a if a == COFFER_ALG_RSA_4096 as u32 => KeyAlgorithm::Rsa(RsaKeySize::Rsa4096),
        a if a == COFFER_ALG_P256 as u32 => KeyAlgorithm::P256,
        _ => return Err(COFFER_ERR_UNKNOWN_VALUE),
    })
}

/// The `coffer_key_algorithm` of a public key.
pub(crate) fn algorithm_code(key: &PublicKey) -> FfiResult<u32> {
    use coffer_key_algorithm::*;
    Ok(match key {
        PublicKey::Rsa(k) => match k.bits() {
            2048 => COFFER_ALG_RSA_2048 as u32,
            3072 => COFFER_ALG_RSA_3072 as u32,
            4096 => COFFER_ALG_RSA_4096 as u32,
            _ => return Err(crate::status::COFFER_ERR_KEY_POLICY),
        },
        PublicKey::P256(_) => COFFER_ALG_P256 as u32,
        _ => return Err(COFFER_ERR_UNKNOWN_VALUE),
    })
}

/// Generates a key pair with the OS RNG; `algorithm` is a
/// `coffer_key_algorithm`. RSA-4096 takes around a second.
///
/// Errors: `COFFER_ERR_UNKNOWN_VALUE`; `COFFER_ERR_RNG`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_generate(
    algorithm: u32,
    keypair: *mut *mut coffer_keypair,
) -> coffer_status {
    ffi_boundary(|| {
        require(keypair)?;
        let inner = KeyPair::generate(&mut OsRng, algorithm_of(algorithm)?)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(keypair, coffer_keypair { inner }) }
    })
}

/// Reads a PKCS#8 DER private key (RSA 2048..=4096 with e = 65537, or P-256).
///
/// Errors: `COFFER_ERR_INVALID_KEY`; `COFFER_ERR_KEY_POLICY`; `COFFER_ERR_INVALID_LENGTH`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_from_pkcs8_der(
    der: *const u8,
    der_len: usize,
    keypair: *mut *mut coffer_keypair,
) -> coffer_status {
    ffi_boundary(|| {
        require(keypair)?;
        // SAFETY: the header's contract for input buffers.
        let inner = KeyPair::from_pkcs8_der(unsafe { slice_in(der, der_len) }?)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(keypair, coffer_keypair { inner }) }
    })
}

/// Reads a `PRIVATE KEY` PEM block (`pem_len` bytes, no NUL needed).
///
/// Errors: as `coffer_keypair_from_pkcs8_der`, and `COFFER_ERR_NOT_UTF8`.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_from_pkcs8_pem(
    pem: *const u8,
    pem_len: usize,
    keypair: *mut *mut coffer_keypair,
) -> coffer_status {
    ffi_boundary(|| {
        require(keypair)?;
        // SAFETY: the header's contract for input buffers.
        let inner = KeyPair::from_pkcs8_pem(unsafe { str_in(pem, pem_len) }?)?;
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(keypair, coffer_keypair { inner }) }
    })
}

/// Which encoding an encrypted PKCS#8 key is read from or written as.
#[derive(Clone, Copy)]
enum Encrypted {
    Der,
    Pem,
}

/// # Safety
/// The header's contract for input buffers and output slots.
unsafe fn from_encrypted(
    form: Encrypted,
    input: *const u8,
    input_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    keypair: *mut *mut coffer_keypair,
) -> FfiResult<()> {
    require(keypair)?;
    // SAFETY: forwarded contract of this function.
    let passphrase = unsafe { passphrase_in(passphrase, passphrase_len) }?;
    let inner = match form {
        Encrypted::Der => {
            // SAFETY: as above.
            let der = unsafe { slice_in(input, input_len) }?;
            KeyPair::from_encrypted_pkcs8_der(der, passphrase)?
        }
        Encrypted::Pem => {
            // SAFETY: as above.
            let pem = unsafe { str_in(input, input_len) }?;
            KeyPair::from_encrypted_pkcs8_pem(pem, passphrase)?
        }
    };
    // SAFETY: checked non-NULL; the caller's output slot.
    unsafe { handle_out(keypair, coffer_keypair { inner }) }
}

/// Reads an `ENCRYPTED PRIVATE KEY` PEM block with its passphrase
/// (1..=1024 bytes).
///
/// Errors: `COFFER_ERR_DECRYPT` for a wrong passphrase;
/// `COFFER_ERR_INVALID_LENGTH` for a passphrase of 0 or more than 1024
/// bytes; as `coffer_keypair_from_pkcs8_pem` otherwise.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_from_encrypted_pkcs8_pem(
    pem: *const u8,
    pem_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    keypair: *mut *mut coffer_keypair,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe {
        from_encrypted(Encrypted::Pem, pem, pem_len, passphrase, passphrase_len, keypair)
    })
}

/// Reads encrypted PKCS#8 DER (`EncryptedPrivateKeyInfo`: PBES2 with
/// PBKDF2 or scrypt and AES-CBC, as OpenSSL writes it) with its passphrase
/// (1..=1024 bytes).
///
/// Errors: as `coffer_keypair_from_encrypted_pkcs8_pem` (without
/// `COFFER_ERR_NOT_UTF8`); `COFFER_ERR_INVALID_KEY` for bytes that are not
/// encrypted PKCS#8.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_from_encrypted_pkcs8_der(
    der: *const u8,
    der_len: usize,
    passphrase: *const u8,
    passphrase_len: usize,
    keypair: *mut *mut coffer_keypair,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe {
        from_encrypted(Encrypted::Der, der, der_len, passphrase, passphrase_len, keypair)
    })
}

/// Which encoding a key pair export writes.
#[derive(Clone, Copy)]
enum Export {
    Pkcs8Der,
    Pkcs8Pem,
    SpkiDer,
    SpkiPem,
}

/// # Safety
/// The header's contract for handles and output slots.
unsafe fn export(keypair: *const coffer_keypair, what: Export, out: *mut coffer_bytes) -> FfiResult<()> {
    require(out)?;
    // SAFETY: forwarded contract of this function.
    let kp = &unsafe { ref_in(keypair) }?.inner;
    let bytes: zeroize::Zeroizing<Vec<u8>> = match what {
        Export::Pkcs8Der => kp.to_pkcs8_der()?,
        Export::Pkcs8Pem => zeroize::Zeroizing::new(kp.to_pkcs8_pem()?.as_bytes().to_vec()),
        Export::SpkiDer => zeroize::Zeroizing::new(kp.public_key().to_spki_der()?),
        Export::SpkiPem => zeroize::Zeroizing::new(kp.public_key().to_spki_pem()?.into_bytes()),
    };
    // SAFETY: forwarded contract of this function.
    unsafe { bytes_out(out, &bytes) }
}

/// Writes the private key as PKCS#8 DER into `*out` (secret: free it with
/// `coffer_bytes_free`, which zeroes it).
///
/// Thread safety: any number of threads may export the same key pair.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_to_pkcs8_der(
    keypair: *const coffer_keypair,
    out: *mut coffer_bytes,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { export(keypair, Export::Pkcs8Der, out) })
}

/// Writes the private key as a `PRIVATE KEY` PEM block into `*out` (not
/// NUL-terminated; secret, as `coffer_keypair_to_pkcs8_der`).
///
/// Thread safety: any number of threads may export the same key pair.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_to_pkcs8_pem(
    keypair: *const coffer_keypair,
    out: *mut coffer_bytes,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { export(keypair, Export::Pkcs8Pem, out) })
}

/// # Safety
/// The header's contract for handles, input buffers and output slots.
unsafe fn to_encrypted(
    form: Encrypted,
    keypair: *const coffer_keypair,
    passphrase: *const u8,
    passphrase_len: usize,
    out: *mut coffer_bytes,
) -> FfiResult<()> {
    require(out)?;
    // SAFETY: forwarded contract of this function.
    let kp = &unsafe { ref_in(keypair) }?.inner;
    // SAFETY: as above.
    let passphrase = unsafe { passphrase_in(passphrase, passphrase_len) }?;
    let encoded = match form {
        Encrypted::Der => kp.to_encrypted_pkcs8_der(&mut OsRng, passphrase)?,
        Encrypted::Pem => kp.to_encrypted_pkcs8_pem(&mut OsRng, passphrase)?.into_bytes(),
    };
    // SAFETY: checked non-NULL; the caller's output slot.
    unsafe { bytes_out(out, &encoded) }
}

/// Writes the private key as an `ENCRYPTED PRIVATE KEY` PEM block (PBES2:
/// PBKDF2-HMAC-SHA-256 with 600,000 iterations and AES-256-CBC, as OpenSSL
/// writes it) under `passphrase` (1..=1024 bytes). Takes a few hundred
/// milliseconds by design.
///
/// Errors: `COFFER_ERR_INVALID_LENGTH` for a passphrase of 0 or more than
/// 1024 bytes.
///
/// Thread safety: any number of threads may export the same key pair.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_to_encrypted_pkcs8_pem(
    keypair: *const coffer_keypair,
    passphrase: *const u8,
    passphrase_len: usize,
    out: *mut coffer_bytes,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { to_encrypted(Encrypted::Pem, keypair, passphrase, passphrase_len, out) })
}

/// As `coffer_keypair_to_encrypted_pkcs8_pem`, as DER
/// (`EncryptedPrivateKeyInfo`, what `openssl pkcs8 -topk8 -outform DER` writes).
///
/// Errors: as `coffer_keypair_to_encrypted_pkcs8_pem`.
///
/// Thread safety: any number of threads may export the same key pair.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_to_encrypted_pkcs8_der(
    keypair: *const coffer_keypair,
    passphrase: *const u8,
    passphrase_len: usize,
    out: *mut coffer_bytes,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { to_encrypted(Encrypted::Der, keypair, passphrase, passphrase_len, out) })
}

/// Writes the public key as SubjectPublicKeyInfo DER into `*out`.
///
/// Thread safety: any number of threads may export the same key pair.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_public_key_der(
    keypair: *const coffer_keypair,
    out: *mut coffer_bytes,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { export(keypair, Export::SpkiDer, out) })
}

/// Writes the public key as a `PUBLIC KEY` PEM block into `*out` (not NUL-terminated).
///
/// Thread safety: any number of threads may export the same key pair.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_public_key_pem(
    keypair: *const coffer_keypair,
    out: *mut coffer_bytes,
) -> coffer_status {
    // SAFETY: the header's contract, forwarded.
    ffi_boundary(|| unsafe { export(keypair, Export::SpkiPem, out) })
}

/// The key pair's `coffer_key_algorithm`, into `*algorithm`.
///
/// Thread safety: any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_algorithm(
    keypair: *const coffer_keypair,
    algorithm: *mut u32,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let kp = &unsafe { ref_in(keypair) }?.inner;
        let code = algorithm_code(&kp.public_key())?;
        // SAFETY: the caller's output slot.
        unsafe { write_out(algorithm, code) }
    })
}

/// Frees a key pair, zeroing the private key; NULL does nothing.
///
/// Thread safety: no other call may be using the key pair.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_keypair_free(keypair: *mut coffer_keypair) {
    ffi_boundary_void(|| {
        // SAFETY: NULL or a pointer from a coffer_keypair constructor, freed once.
        unsafe { handle_free(keypair) }
    });
}
