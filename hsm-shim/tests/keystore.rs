//! The sealed keystore at rest (KEYSTORE.md): round trips, golden files
//! written by an independent implementation, every single-byte change and
//! every truncation rejected with the exact error, rollback detection, and
//! `FileStorage` keeping the previous keystore when a write fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use coffer_core::aead::{Aes256GcmSivKey, Nonce, TAG_LEN};
use coffer_core::kdf::hkdf_sha256;
use coffer_core::rng::OsRng;
use coffer_hsm::keystore::{
    self, DEFAULT_ITERATIONS, KeySource, MAX_ITERATIONS, MAX_SEALED_LEN, MAX_STATE_LEN, MIN_ITERATIONS,
    MasterKey, PBKDF2_HEADER_LEN, RAW_HEADER_LEN,
};
use coffer_hsm::{Error, FileStorage, Storage};

/// Passphrase files in these tests use the lowest accepted cost, to stay fast.
const TEST_ITERATIONS: u32 = MIN_ITERATIONS;
const PASSPHRASE: &[u8] = b"correct horse battery staple";

/// Golden files, written by Python `cryptography` (OpenSSL AES-GCM-SIV,
/// HKDF) and `hashlib.pbkdf2_hmac` straight from KEYSTORE.md §2 and §4, not
/// by this crate. Never regenerate them: a change here is a format change.
///
/// ```text
/// key  = lambda m: HKDF(SHA256(), 32, salt=None, info=b"coffer keystore v1").derive(m)
/// seal = lambda hdr, m, nonce, st: hdr + AESGCMSIV(key(m)).encrypt(nonce, st, hdr)
/// raw: hdr = b"CFKS\x01\x00" + counter.to_bytes(8, "big") + nonce
/// pbkdf2: m = hashlib.pbkdf2_hmac("sha256", pw, salt, 100000, 32)
///         hdr = b"CFKS\x01\x01" + (100000).to_bytes(4, "big") + salt + (42).to_bytes(8, "big") + nonce
/// ```
const GOLDEN_STATE: &[u8] = b"coffer keystore golden state v1";
/// kdf 0, master key 00 01 .. 1f, counter 0x0102030405060708, nonce a0 .. ab.
const GOLDEN_RAW: &str = "43464b5301000102030405060708a0a1a2a3a4a5a6a7a8a9aaabb1e4b75a1d2bdbe2cd9ed0227c74\
                          461a3aeecbaa796d1b21f7b1425f20541f21fc856647688d818f89623bcad54c6b";
/// kdf 1, passphrase [`PASSPHRASE`], 100000 iterations, salt 10 .. 1f,
/// counter 42, nonce b0 .. bb.
const GOLDEN_PBKDF2: &str = "43464b530101000186a0101112131415161718191a1b1c1d1e1f000000000000002ab0b1b2b3b4b5\
                             b6b7b8b9babb0a2a4ebb2047d90b54767d67bd5280a7f2f06e64398ad48588c2a42efd86a4033ce5\
                             3a0d83be239c88d176c5d19665";

fn hex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() % 2, 0, "odd-length hex");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn golden_master_key() -> MasterKey {
    MasterKey::from_bytes(core::array::from_fn(|i| i as u8))
}

fn seal_raw(master: &MasterKey, counter: u64, state: &[u8]) -> Vec<u8> {
    keystore::seal(&mut OsRng, &KeySource::MasterKey(master), counter, state).unwrap()
}

fn seal_passphrase(passphrase: &[u8], counter: u64, state: &[u8]) -> Vec<u8> {
    keystore::seal_with_iterations(
        &mut OsRng,
        &KeySource::Passphrase(passphrase),
        counter,
        state,
        TEST_ITERATIONS,
    )
    .unwrap()
}

fn flipped(file: &[u8], index: usize, mask: u8) -> Vec<u8> {
    let mut copy = file.to_vec();
    copy[index] ^= mask;
    copy
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("coffer-hsm-keystore-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(&self.0).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------- round trips

#[test]
fn a_state_sealed_under_a_master_key_opens_with_its_counter() {
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let state = b"serialized token state";
    let sealed = seal_raw(&master, 9, state);
    assert_eq!(sealed.len(), RAW_HEADER_LEN + state.len() + TAG_LEN);
    let (opened, counter) = keystore::open(&KeySource::MasterKey(&master), &sealed, None).unwrap();
    assert_eq!(&opened[..], state);
    assert_eq!(counter, 9);
}

#[test]
fn a_state_sealed_under_a_passphrase_opens_with_its_counter() {
    let state = b"serialized token state";
    let sealed = seal_passphrase(PASSPHRASE, u64::MAX, state);
    assert_eq!(sealed.len(), PBKDF2_HEADER_LEN + state.len() + TAG_LEN);
    let (opened, counter) = keystore::open(&KeySource::Passphrase(PASSPHRASE), &sealed, None).unwrap();
    assert_eq!(&opened[..], state);
    assert_eq!(counter, u64::MAX);
}

#[test]
fn an_empty_state_round_trips() {
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let sealed = seal_raw(&master, 0, b"");
    assert_eq!(sealed.len(), RAW_HEADER_LEN + TAG_LEN);
    let (opened, counter) = keystore::open(&KeySource::MasterKey(&master), &sealed, Some(0)).unwrap();
    assert!(opened.is_empty());
    assert_eq!(counter, 0);
}

#[test]
fn seal_with_a_passphrase_uses_the_documented_default_cost_and_opens() {
    let sealed = keystore::seal(&mut OsRng, &KeySource::Passphrase(PASSPHRASE), 1, b"state").unwrap();
    assert_eq!(DEFAULT_ITERATIONS, 600_000);
    assert_eq!(sealed[5], 1, "kdf byte must say PBKDF2");
    assert_eq!(sealed[6..10], DEFAULT_ITERATIONS.to_be_bytes());
    let (opened, _) = keystore::open(&KeySource::Passphrase(PASSPHRASE), &sealed, None).unwrap();
    assert_eq!(&opened[..], b"state");
}

#[test]
fn two_seals_of_the_same_state_differ_in_nonce_and_salt() {
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let a = seal_raw(&master, 1, b"same");
    let b = seal_raw(&master, 1, b"same");
    assert_ne!(a[14..26], b[14..26], "fresh nonce per seal");
    let a = seal_passphrase(PASSPHRASE, 1, b"same");
    let b = seal_passphrase(PASSPHRASE, 1, b"same");
    assert_ne!(a[10..26], b[10..26], "fresh salt per seal");
}

// ---------------------------------------------------------------- the format

#[test]
fn golden_files_from_an_independent_implementation_open() {
    let master = golden_master_key();
    let (state, counter) = keystore::open(&KeySource::MasterKey(&master), &hex(GOLDEN_RAW), None).unwrap();
    assert_eq!((&state[..], counter), (GOLDEN_STATE, 0x0102_0304_0506_0708));

    let (state, counter) =
        keystore::open(&KeySource::Passphrase(PASSPHRASE), &hex(GOLDEN_PBKDF2), None).unwrap();
    assert_eq!((&state[..], counter), (GOLDEN_STATE, 42));
}

#[test]
fn a_sealed_file_has_the_byte_layout_of_the_spec() {
    // KEYSTORE.md §2, checked field by field, then decrypted with the key
    // schedule of §4 built from coffer-core primitives, not through open().
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let state = b"layout check";
    let sealed = seal_raw(&master, 0x1122_3344_5566_7788, state);
    assert_eq!(&sealed[0..4], b"CFKS");
    assert_eq!(sealed[4], 1, "version");
    assert_eq!(sealed[5], 0, "kdf: raw master key");
    assert_eq!(sealed[6..14], 0x1122_3344_5566_7788u64.to_be_bytes(), "counter, big-endian");
    let nonce = Nonce::from_slice(&sealed[14..26]).unwrap();
    let mut key = [0u8; 32];
    hkdf_sha256(None, master.as_bytes(), b"coffer keystore v1", &mut key).unwrap();
    let aead = Aes256GcmSivKey::from_bytes(key);
    let plain = aead.open(&nonce, &sealed[..RAW_HEADER_LEN], &sealed[RAW_HEADER_LEN..]).unwrap();
    assert_eq!(&plain[..], state);

    let sealed = seal_passphrase(PASSPHRASE, 5, state);
    assert_eq!(&sealed[0..6], b"CFKS\x01\x01");
    assert_eq!(sealed[6..10], TEST_ITERATIONS.to_be_bytes(), "iterations, big-endian");
    let salt: [u8; 16] = sealed[10..26].try_into().unwrap();
    assert_eq!(sealed[26..34], 5u64.to_be_bytes(), "counter, big-endian");
    let nonce = Nonce::from_slice(&sealed[34..46]).unwrap();
    let mut derived = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(PASSPHRASE, &salt, TEST_ITERATIONS, &mut derived);
    let mut key = [0u8; 32];
    hkdf_sha256(None, &derived, b"coffer keystore v1", &mut key).unwrap();
    let aead = Aes256GcmSivKey::from_bytes(key);
    let plain = aead.open(&nonce, &sealed[..PBKDF2_HEADER_LEN], &sealed[PBKDF2_HEADER_LEN..]).unwrap();
    assert_eq!(&plain[..], state);
}

// ---------------------------------------------------------------- wrong keys

#[test]
fn a_wrong_passphrase_is_an_authentication_failure() {
    let sealed = seal_passphrase(PASSPHRASE, 1, b"state");
    let err =
        keystore::open(&KeySource::Passphrase(b"correct horse battery stapler"), &sealed, None).unwrap_err();
    assert_eq!(err, Error::KeystoreAuth);
}

#[test]
fn a_wrong_master_key_is_an_authentication_failure() {
    let sealed = seal_raw(&MasterKey::generate(&mut OsRng).unwrap(), 1, b"state");
    let other = MasterKey::generate(&mut OsRng).unwrap();
    assert_eq!(
        keystore::open(&KeySource::MasterKey(&other), &sealed, None).unwrap_err(),
        Error::KeystoreAuth
    );
}

#[test]
fn a_key_source_of_the_other_kind_is_an_authentication_failure() {
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let raw = seal_raw(&master, 1, b"state");
    assert_eq!(
        keystore::open(&KeySource::Passphrase(PASSPHRASE), &raw, None).unwrap_err(),
        Error::KeystoreAuth
    );

    // Even the master key PBKDF2 derived for this very file does not open
    // it as a raw master key: the kdf byte is authenticated.
    let protected = seal_passphrase(PASSPHRASE, 1, b"state");
    let salt: [u8; 16] = protected[10..26].try_into().unwrap();
    let derived = MasterKey::derive_from_passphrase(PASSPHRASE, &salt, TEST_ITERATIONS).unwrap();
    assert_eq!(
        keystore::open(&KeySource::MasterKey(&derived), &protected, None).unwrap_err(),
        Error::KeystoreAuth
    );
}

// ---------------------------------------------------------------- tampering

#[test]
fn every_single_byte_change_of_a_master_key_file_is_rejected_with_the_error_of_its_region() {
    let master = MasterKey::generate(&mut OsRng).unwrap();
    // Counter below 2^32, so bytes 6..10 are zero (see the kdf byte below).
    let sealed = seal_raw(&master, 7, b"a state of some length, 40 bytes long..");
    let source = KeySource::MasterKey(&master);
    for mask in [0x01, 0x80, 0xff] {
        for i in 0..sealed.len() {
            let expected = match i {
                // magic, version: not a version 1 keystore.
                0..=4 => Error::KeystoreCorrupt,
                // kdf: any other value is unknown, except 1 (PBKDF2), which
                // reads bytes 6..10 (the counter's zero high half) as
                // iterations 0, out of range.
                5 => Error::KeystoreCorrupt,
                // counter, nonce, ciphertext, tag: authenticated.
                _ => Error::KeystoreAuth,
            };
            let err = keystore::open(&source, &flipped(&sealed, i, mask), None).unwrap_err();
            assert_eq!(err, expected, "byte {i} ^ {mask:#04x}");
        }
    }
}

#[test]
fn every_single_byte_change_of_a_passphrase_file_is_rejected_with_the_error_of_its_region() {
    let sealed = seal_passphrase(PASSPHRASE, 7, b"st");
    let source = KeySource::Passphrase(PASSPHRASE);
    let expected = |file: &[u8], i: usize| match i {
        0..=4 => Error::KeystoreCorrupt,
        // kdf 0 parses as a raw-key header, which a passphrase cannot open;
        // any other value is unknown.
        5 => {
            if file[5] == 0 {
                Error::KeystoreAuth
            } else {
                Error::KeystoreCorrupt
            }
        }
        // iterations: refused out of range, authenticated in range.
        6..=9 => {
            let iterations = u32::from_be_bytes(file[6..10].try_into().unwrap());
            if (MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
                Error::KeystoreAuth
            } else {
                Error::KeystoreCorrupt
            }
        }
        // salt, counter, nonce, ciphertext, tag.
        _ => Error::KeystoreAuth,
    };
    let mut seen = Vec::new();
    // (0x80 is not applied to bytes 6..10: it would make a valid cost of
    // millions of iterations, slow and no more telling than 0x01.)
    for (mask, range) in [(0x01, 0..sealed.len()), (0x80, 5..6), (0xff, 5..10)] {
        for i in range {
            let file = flipped(&sealed, i, mask);
            let err = keystore::open(&source, &file, None).unwrap_err();
            assert_eq!(err, expected(&file, i), "byte {i} ^ {mask:#04x}");
            seen.push(err);
        }
    }
    // Both outcomes occur within the iterations field, so its rule is exercised.
    assert!(seen.contains(&Error::KeystoreAuth) && seen.contains(&Error::KeystoreCorrupt));
}

#[test]
fn every_truncation_is_corrupt_inside_header_and_tag_and_an_authentication_failure_after() {
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let raw = seal_raw(&master, 3, b"0123456789");
    let protected = seal_passphrase(PASSPHRASE, 3, b"0123");
    for (file, source, header_len) in [
        (&raw, KeySource::MasterKey(&master), RAW_HEADER_LEN),
        (&protected, KeySource::Passphrase(PASSPHRASE), PBKDF2_HEADER_LEN),
    ] {
        for len in 0..file.len() {
            let expected =
                if len < header_len + TAG_LEN { Error::KeystoreCorrupt } else { Error::KeystoreAuth };
            let err = keystore::open(&source, &file[..len], None).unwrap_err();
            assert_eq!(err, expected, "truncated to {len} of {} bytes", file.len());
        }
    }
}

#[test]
fn an_appended_byte_is_an_authentication_failure() {
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let mut sealed = seal_raw(&master, 3, b"state");
    sealed.push(0);
    assert_eq!(
        keystore::open(&KeySource::MasterKey(&master), &sealed, None).unwrap_err(),
        Error::KeystoreAuth
    );
}

#[test]
fn an_unknown_version_or_kdf_is_corrupt() {
    let master = golden_master_key();
    let golden = hex(GOLDEN_RAW);
    for (index, value) in [(4, 0u8), (4, 2), (5, 2), (5, 0xff)] {
        let mut file = golden.clone();
        file[index] = value;
        let err = keystore::open(&KeySource::MasterKey(&master), &file, None).unwrap_err();
        assert_eq!(err, Error::KeystoreCorrupt, "byte {index} = {value}");
    }
}

#[test]
fn iterations_outside_the_accepted_range_are_corrupt_before_any_derivation() {
    let golden = hex(GOLDEN_PBKDF2);
    for iterations in [0, 1, MIN_ITERATIONS - 1, MAX_ITERATIONS + 1, u32::MAX] {
        let mut file = golden.clone();
        file[6..10].copy_from_slice(&iterations.to_be_bytes());
        let err = keystore::open(&KeySource::Passphrase(PASSPHRASE), &file, None).unwrap_err();
        assert_eq!(err, Error::KeystoreCorrupt, "iterations {iterations}");
    }
}

#[test]
fn a_file_longer_than_the_largest_state_is_corrupt() {
    // Zeroed pages are not touched: only the header and the length are read.
    let mut file = vec![0u8; MAX_SEALED_LEN - PBKDF2_HEADER_LEN + RAW_HEADER_LEN + 1];
    file[..RAW_HEADER_LEN].copy_from_slice(&hex(GOLDEN_RAW)[..RAW_HEADER_LEN]);
    let master = golden_master_key();
    assert_eq!(
        keystore::open(&KeySource::MasterKey(&master), &file, None).unwrap_err(),
        Error::KeystoreCorrupt
    );
}

// ---------------------------------------------------------------- rollback

#[test]
fn a_counter_below_min_counter_is_a_rollback_and_equal_or_above_opens() {
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let source = KeySource::MasterKey(&master);
    let sealed = seal_raw(&master, 5, b"state");
    assert_eq!(keystore::open(&source, &sealed, Some(6)).unwrap_err(), Error::KeystoreRollback);
    assert_eq!(keystore::open(&source, &sealed, Some(u64::MAX)).unwrap_err(), Error::KeystoreRollback);
    assert_eq!(keystore::open(&source, &sealed, Some(5)).unwrap().1, 5);
    assert_eq!(keystore::open(&source, &sealed, Some(0)).unwrap().1, 5);
    assert_eq!(keystore::open(&source, &sealed, None).unwrap().1, 5);
}

#[test]
fn rollback_is_reported_only_after_authentication() {
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let sealed = seal_raw(&master, 5, b"state");
    let other = MasterKey::generate(&mut OsRng).unwrap();
    let err = keystore::open(&KeySource::MasterKey(&other), &sealed, Some(6)).unwrap_err();
    assert_eq!(err, Error::KeystoreAuth, "an unauthenticated counter says nothing");
    // Raising the counter field to pass the check breaks authentication.
    let mut forged = sealed.clone();
    forged[6..14].copy_from_slice(&6u64.to_be_bytes());
    assert_eq!(
        keystore::open(&KeySource::MasterKey(&master), &forged, Some(6)).unwrap_err(),
        Error::KeystoreAuth
    );
}

// ---------------------------------------------------------------- arguments

#[test]
fn out_of_range_arguments_are_refused_before_sealing() {
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let raw = KeySource::MasterKey(&master);
    let too_big = vec![0u8; MAX_STATE_LEN + 1];
    assert_eq!(keystore::seal(&mut OsRng, &raw, 1, &too_big).unwrap_err(), Error::InvalidInput);
    for iterations in [0, MIN_ITERATIONS - 1, MAX_ITERATIONS + 1] {
        let err = keystore::seal_with_iterations(&mut OsRng, &raw, 1, b"s", iterations).unwrap_err();
        assert_eq!(err, Error::InvalidInput, "iterations {iterations}");
    }
    let long = vec![b'p'; keystore::MAX_PASSPHRASE_LEN + 1];
    for passphrase in [&b""[..], &long[..]] {
        let source = KeySource::Passphrase(passphrase);
        assert_eq!(keystore::seal(&mut OsRng, &source, 1, b"s").unwrap_err(), Error::InvalidInput);
        assert_eq!(keystore::open(&source, &hex(GOLDEN_PBKDF2), None).unwrap_err(), Error::InvalidInput);
    }
    assert_eq!(MasterKey::from_slice(&[0; 31]).unwrap_err(), Error::InvalidInput);
    assert_eq!(MasterKey::derive_from_passphrase(PASSPHRASE, &[0; 16], 1).unwrap_err(), Error::InvalidInput);
}

#[test]
fn debug_output_never_shows_key_or_passphrase_bytes() {
    let master = MasterKey::from_bytes([0xab; 32]);
    let shown =
        format!("{master:?} {:?} {:?}", KeySource::MasterKey(&master), KeySource::Passphrase(b"hunter22"));
    assert!(
        !shown.contains("171") && !shown.to_lowercase().contains("ab, ") && !shown.contains("hunter"),
        "{shown}"
    );
    assert!(shown.contains("redacted"), "{shown}");
}

// ---------------------------------------------------------------- on disk

#[test]
fn a_keystore_round_trips_through_a_file() {
    let dir = TempDir::new("round-trip");
    let mut storage = FileStorage::new(dir.0.join("hsm.keystore")).unwrap();
    assert_eq!(storage.read().unwrap(), None, "no file yet");

    let master = MasterKey::generate(&mut OsRng).unwrap();
    let source = KeySource::MasterKey(&master);
    storage.write(&seal_raw(&master, 1, b"first")).unwrap();
    storage.write(&seal_raw(&master, 2, b"second")).unwrap();
    let bytes = storage.read().unwrap().unwrap();
    let (state, counter) = keystore::open(&source, &bytes, Some(2)).unwrap();
    assert_eq!((&state[..], counter), (&b"second"[..], 2));
    assert_eq!(dir.names(), ["hsm.keystore"], "no temporary file is left");

    // A second FileStorage on the same path (a restart) sees the same bytes.
    let mut reopened = FileStorage::new(dir.0.join("hsm.keystore")).unwrap();
    assert_eq!(reopened.read().unwrap().unwrap(), bytes);
}

#[test]
fn a_failed_write_leaves_the_previous_keystore_intact() {
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let source = KeySource::MasterKey(&master);
    // Steps: 1 create temp, 2 write, 3 fsync file, 4 rename, 5 fsync dir.
    for step in 1..=5 {
        let dir = TempDir::new("failed-write");
        let mut storage = FileStorage::new(dir.0.join("hsm.keystore")).unwrap();
        let previous = seal_raw(&master, 1, b"previous");
        storage.write(&previous).unwrap();

        storage.fail_next_write_at_step(step).unwrap();
        assert_eq!(storage.write(&seal_raw(&master, 2, b"next")).unwrap_err(), Error::Storage, "step {step}");

        let bytes = storage.read().unwrap().unwrap();
        let (state, counter) = keystore::open(&source, &bytes, None).unwrap();
        if step < 5 {
            assert_eq!(bytes, previous, "step {step}: the previous file, byte for byte");
            assert_eq!((&state[..], counter), (&b"previous"[..], 1));
        } else {
            // The directory fsync comes after the rename: the new keystore
            // is in place (complete), its durability is what failed.
            assert_eq!((&state[..], counter), (&b"next"[..], 2));
        }
        assert_eq!(dir.names(), ["hsm.keystore"], "step {step}: no temporary file is left");
    }
}

#[test]
fn a_corrupted_file_on_disk_gives_a_clear_error_and_is_left_unchanged() {
    let dir = TempDir::new("corrupted");
    let path = dir.0.join("hsm.keystore");
    let mut storage = FileStorage::new(&path).unwrap();
    let master = MasterKey::generate(&mut OsRng).unwrap();
    let source = KeySource::MasterKey(&master);
    let sealed = seal_raw(&master, 4, b"state on disk");

    let truncated = &sealed[..RAW_HEADER_LEN + 3];
    let mut modified = sealed.clone();
    modified[RAW_HEADER_LEN] ^= 0x01;
    for (damaged, expected, message) in [
        (truncated, Error::KeystoreCorrupt, "truncated or malformed"),
        (&modified[..], Error::KeystoreAuth, "wrong master key or passphrase, or it was modified"),
    ] {
        fs::write(&path, damaged).unwrap();
        let bytes = storage.read().unwrap().unwrap();
        assert_eq!(bytes, damaged, "read returns the bytes as they are");
        let err = keystore::open(&source, &bytes, None).unwrap_err();
        assert_eq!(err, expected);
        assert!(err.to_string().contains(message), "{err}");
        assert_eq!(fs::read(&path).unwrap(), damaged, "the file is left byte for byte as it was");
        assert_eq!(dir.names(), ["hsm.keystore"]);
    }
}

#[test]
fn an_oversized_file_is_refused_as_corrupt_without_being_read() {
    let dir = TempDir::new("oversized");
    let path = dir.0.join("hsm.keystore");
    let file = fs::File::create(&path).unwrap();
    // Sparse on common filesystems: no data is written or read.
    file.set_len(MAX_SEALED_LEN as u64 + 1).unwrap();
    drop(file);
    let mut storage = FileStorage::new(&path).unwrap();
    assert_eq!(storage.read().unwrap_err(), Error::KeystoreCorrupt);
    assert_eq!(fs::metadata(&path).unwrap().len(), MAX_SEALED_LEN as u64 + 1, "left as it is");
}

#[test]
fn in_place_sealing_writes_and_reads_the_same_format_as_the_heap_functions() {
    let master = golden_master_key();
    let state = b"the same state, sealed two ways";
    for source in [KeySource::MasterKey(&master), KeySource::Passphrase(b"correct horse")] {
        // In place, without a heap → the heap reader.
        let mut buf = vec![0u8; 200];
        buf[..state.len()].copy_from_slice(state);
        let n =
            keystore::seal_in_place(&mut OsRng, &source, 9, &mut buf, state.len(), MIN_ITERATIONS).unwrap();
        let (opened, counter) = keystore::open(&source, &buf[..n], Some(9)).unwrap();
        assert_eq!((&opened[..], counter), (&state[..], 9));
        // The heap writer → in place.
        let mut sealed =
            keystore::seal_with_iterations(&mut OsRng, &source, 10, state, MIN_ITERATIONS).unwrap();
        let (opened, counter) = keystore::open_in_place(&source, &mut sealed, Some(10)).unwrap();
        assert_eq!((&opened[..], counter), (&state[..], 10));
        // A changed byte: refused, and the body is zeroed.
        let mut bad = keystore::seal_with_iterations(&mut OsRng, &source, 11, state, MIN_ITERATIONS).unwrap();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(keystore::open_in_place(&source, &mut bad, None).unwrap_err(), Error::KeystoreAuth);
        // Too small a buffer: refused, nothing changed.
        let mut short = state.to_vec();
        assert_eq!(
            keystore::seal_in_place(&mut OsRng, &source, 1, &mut short, state.len(), MIN_ITERATIONS)
                .unwrap_err(),
            Error::Capacity
        );
        assert_eq!(&short[..], &state[..]);
    }
}
