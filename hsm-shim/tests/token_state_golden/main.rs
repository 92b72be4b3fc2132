//! The token state encodings (KEYSTORE.md §3.1 `CFHS` versions 01, 02 and
//! 03; §3.2 `CFDS` version 01) against an independent writer:
//! `tests/independent/write_token_states.py`, Python `cryptography` and
//! `hashlib` written from the spec text alone.
//!
//! - The golden files (`tests/data/token_states/`, each a §2 keystore
//!   sealed around one state) load with [`Hsm::load`] and
//!   [`DeviceToken::load`], and every fact the writer recorded in
//!   `facts.json` holds: the config, token labels, PINs with their failure
//!   counts, every key's attributes, what each key's material predicts
//!   (AES-KW and AES-KWP of a fixed value per version, HMAC of a fixed
//!   message, the public key, the certificate) and the audit records.
//! - The files are pinned by SHA-256 here and in the README, and the writer
//!   reproduces them byte for byte.
//! - Every named field of every state (`regions` in `facts.json`), changed
//!   once, gives the outcome the spec names: `KeystoreCorrupt` for a value
//!   out of its range or a broken structure, `AuditTampered` with the
//!   record's index for a changed chain, `Capacity` for more than a device
//!   holds, and for fields with no range (PIN hashes, material, expiry)
//!   the observable change: a refused PIN, a different MAC or public key.
//! - Every region of the sealed file, changed, is the error of §5.
//!
//! Here: the pins, the writer's reproduction and the sealed file. `goldens`
//! reads the files and their facts; `cfhs` and `cfds` check every fact;
//! `regions` changes every field once; `strictness` covers what one field
//! cannot (duplicates, an unknown event in a valid chain) and pins the
//! reported gaps between KEYSTORE.md and coffer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use coffer_core::envelope::EncryptionContext;
use coffer_core::rng::OsRng;
use coffer_hsm::audit::{AuditAnchor, AuditSegment};
use coffer_hsm::device::{DeviceKeyType, DeviceToken};
use coffer_hsm::keystore::{self, KeySource, MasterKey};
use coffer_hsm::{
    Clock, Error, Handle, Hsm, KeyInfo, KeyState, KeyType, MemoryStorage, Role, SessionId, Storage, Usage,
    V1_AUDITOR, V1_USER,
};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

mod cfds;
mod cfhs;
mod goldens;
mod regions;
mod strictness;

use goldens::*;

/// The clock of every token here: after the golden records' times, between
/// the golden expiry in the past (1,750,000,000) and the one in the future.
const NOW: u64 = 1_800_000_000;

#[derive(Clone, Copy)]
struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> u64 {
        NOW
    }
}

/// The device token type the golden device state is loaded into.
const KEYS: usize = 8;
const LOG: usize = 32;
type Device = DeviceToken<FixedClock, KEYS, LOG>;

const CFHS_FILES: [&str; 3] = ["cfhs_v1.cfks", "cfhs_v2.cfks", "cfhs_v3.cfks"];
const CFDS_FILE: &str = "cfds_v1.cfks";

/// SHA-256 of each checked-in file (also in the README).
const PINNED: [(&str, &str); 5] = [
    ("cfhs_v1.cfks", "1884dfb4bfa63dc3780834de06985c4f5ee080ecda668f79e562ae2c67c08aa3"),
    ("cfhs_v2.cfks", "90378a6c964b480bca3751abab841d3fe0d6d012be830f5a57179edd82858282"),
    ("cfhs_v3.cfks", "4d5a739c6ada446621aeeb6f449033ebdc39e60c3de0883ff8d8c182fce38d9f"),
    ("cfds_v1.cfks", "5d486f18477ae531d87ebf1349969fc6886a21e55d076a6c480db58faadbc33d"),
    ("facts.json", "f92705b10eec03fc7e7bd1a55548adc5312ea7d8c0556dc4c73c5af905150db3"),
];

#[test]
fn the_golden_files_are_the_pinned_ones_and_nothing_else() {
    for (name, sha) in PINNED {
        assert_eq!(sha256_hex(&golden(name)), sha, "{name} changed: goldens are never regenerated silently");
    }
    let readme = String::from_utf8(golden("README.md")).unwrap();
    for (name, sha) in PINNED {
        assert!(readme.contains(&format!("{sha}  {name}")), "README.md does not pin {name} as {sha}");
    }
    let present: BTreeSet<String> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let expected: BTreeSet<String> =
        PINNED.iter().map(|(n, _)| (*n).to_owned()).chain(["README.md".to_owned()]).collect();
    assert_eq!(present, expected);
}

/// Whether python3 with `cryptography` (AES-GCM-SIV) is here. Absent: a CI
/// run fails with what to install; a local run prints one SKIPPED line.
fn python_ready(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{test}: python3 with the cryptography package is needed; install it with: pip install cryptography"
        );
    }
    println!(
        "SKIPPED: {test}: python3 with the cryptography package is needed; install it with: pip install cryptography"
    );
    false
}

#[test]
fn the_independent_writer_reproduces_every_golden_file_byte_for_byte() {
    if !python_ready("the_independent_writer_reproduces_every_golden_file_byte_for_byte") {
        return;
    }
    let out = std::env::temp_dir().join(format!("coffer-token-states-{}", std::process::id()));
    let run = Command::new("python3").arg(writer()).arg("--out").arg(&out).output().expect("running python3");
    let fresh: Vec<(&str, std::io::Result<Vec<u8>>)> =
        PINNED.iter().map(|(name, _)| (*name, std::fs::read(out.join(name)))).collect();
    let written: BTreeSet<String> = std::fs::read_dir(&out)
        .map(|d| d.map(|e| e.unwrap().file_name().into_string().unwrap()).collect())
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&out);
    assert!(run.status.success(), "write_token_states.py failed: {}", String::from_utf8_lossy(&run.stderr));
    let expected: BTreeSet<String> = PINNED.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(written, expected, "the writer writes exactly the pinned files");
    for (name, bytes) in fresh {
        assert!(bytes.unwrap() == golden(name), "write_token_states.py no longer reproduces {name}");
    }
}

#[test]
fn every_golden_opens_to_a_state_its_named_regions_tile_exactly() {
    for name in CFHS_FILES.iter().chain([&CFDS_FILE]) {
        let f = file_facts(name);
        let state = state(name);
        assert_eq!(state.len() as u64, num(&f["state_len"]), "{name}");
        assert_eq!(sha256_hex(&state), text(&f["state_sha256"]), "{name}");
        let magic: &[u8] = if *name == CFDS_FILE { b"CFDS" } else { b"CFHS" };
        assert_eq!(&state[..4], magic, "{name}");
        let mut next = 0;
        for r in f["regions"].as_array().unwrap() {
            assert_eq!(
                num(&r[1]) as usize,
                next,
                "{name}: region {} does not start where the last ended",
                r[0]
            );
            next += num(&r[2]) as usize;
        }
        assert_eq!(next, state.len(), "{name}: the regions do not cover the state");
    }
}

// ------------------------------------------------------------ the sealed file (§5)

#[test]
fn every_region_of_each_sealed_golden_changed_is_the_error_of_section_5() {
    for name in CFHS_FILES.iter().chain([&CFDS_FILE]) {
        let sealed = golden(name);
        let len = sealed.len();
        let with = |at: usize, value: u8| {
            let mut b = sealed.clone();
            b[at] = value;
            b
        };
        let flip = |at: usize| with(at, sealed[at] ^ 0x01);
        let cases: Vec<(&str, Vec<u8>, Error)> = vec![
            ("magic", flip(0), Error::KeystoreCorrupt),
            ("version", with(4, 0x02), Error::KeystoreCorrupt),
            ("kdf to 02", with(5, 0x02), Error::KeystoreCorrupt),
            // 00 -> 01: the counter's zero high half read as iterations.
            ("kdf to 01", with(5, 0x01), Error::KeystoreCorrupt),
            ("counter", flip(13), Error::KeystoreAuth),
            ("nonce", flip(14), Error::KeystoreAuth),
            ("ciphertext first byte", flip(26), Error::KeystoreAuth),
            ("ciphertext last byte", flip(len - 17), Error::KeystoreAuth),
            ("tag", flip(len - 1), Error::KeystoreAuth),
            ("truncated to header + 15", sealed[..26 + 15].to_vec(), Error::KeystoreCorrupt),
            ("truncated by one", sealed[..len - 1].to_vec(), Error::KeystoreAuth),
            ("extended by one", [&sealed[..], &[0]].concat(), Error::KeystoreAuth),
        ];
        for (what, bytes, error) in cases {
            assert_eq!(load_error(name, &bytes), Some(error), "{name}: {what}");
        }
    }
}

#[test]
fn a_wrong_master_key_is_keystore_auth_and_an_older_counter_is_rollback() {
    let wrong = MasterKey::from_bytes([0x41; 32]);
    for name in CFHS_FILES {
        let f = file_facts(name);
        let counter = num(&f["keystore_counter"]);
        let load = |source: &KeySource<'_>, min: Option<u64>| {
            Hsm::load(&mut storage_with(&golden(name)), source, min, Box::new(FixedClock)).err()
        };
        assert_eq!(load(&KeySource::MasterKey(&wrong), None), Some(Error::KeystoreAuth), "{name}");
        assert_eq!(load(&KeySource::MasterKey(&master()), Some(counter + 1)), Some(Error::KeystoreRollback));
        assert_eq!(load(&KeySource::MasterKey(&master()), Some(counter)), None, "{name}: an equal counter");
    }
    let mut scratch = vec![0u8; Device::SEALED_MAX_LEN];
    let counter = num(&file_facts(CFDS_FILE)["keystore_counter"]);
    let load = |key: &MasterKey, min: Option<u64>, scratch: &mut [u8]| {
        Device::load(&mut storage_with(&golden(CFDS_FILE)), key, min, FixedClock, scratch).err()
    };
    assert_eq!(load(&wrong, None, &mut scratch), Some(Error::KeystoreAuth));
    assert_eq!(load(&master(), Some(counter + 1), &mut scratch), Some(Error::KeystoreRollback));
    assert_eq!(load(&master(), Some(counter), &mut scratch), None);
}
