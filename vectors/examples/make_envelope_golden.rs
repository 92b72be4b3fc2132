//! Writes `vectors/data/envelope_v1/golden.json`: golden envelope v1 vectors
//! (core/FORMAT.md), each with everything needed to open it.
//!
//! The golden envelopes pin the format (FORMAT.md §6, STYLE.md rule 19): they
//! were generated once with `OsRng` and checked in, and are never regenerated.
//! This program therefore refuses to touch an existing `golden.json`; only
//! `--overwrite` makes it replace one (for example when the file was lost
//! before it was ever committed). Regenerating committed vectors hides
//! format changes instead of catching them.
//!
//! ```text
//! cargo run -p coffer-vectors --example make_envelope_golden
//! ```
//!
//! The runner is `vectors/tests/envelope_golden.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use coffer_core::envelope::{self, EncryptionContext, Recipient, RecipientKind, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::p256::{P256PublicKey, P256SecretKey};
use coffer_core::rng::OsRng;
use coffer_core::rsa::{RsaPrivateKey, RsaPublicKey};
use serde::Serialize;

/// The only way to replace an existing golden file.
const OVERWRITE_FLAG: &str = "--overwrite";
/// The RSA key of the RSA recipients, relative to the repository root.
const RSA2048_FIXTURE: &str = "core/tests/data/rsa2048.pkcs8.der";

#[derive(Serialize)]
struct GoldenFile {
    format: &'static str,
    spec: &'static str,
    generator: &'static str,
    runner: &'static str,
    notice: &'static str,
    envelopes: Vec<GoldenJson>,
}

#[derive(Serialize)]
struct PairJson {
    key: String,
    value: String,
}

#[derive(Serialize)]
struct RecipientJson {
    kind: &'static str,
    key_id: String,
    version: u32,
    secret: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_fixture: Option<&'static str>,
}

#[derive(Serialize)]
struct GoldenJson {
    name: &'static str,
    description: &'static str,
    chunk_size: u32,
    context: Vec<PairJson>,
    recipients: Vec<RecipientJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    derived_from: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    no_longer_recipients: Vec<RecipientJson>,
    plaintext: String,
    envelope: String,
}

enum Secret {
    Kek(Kek),
    Rsa { private: Box<RsaPrivateKey>, public: Box<RsaPublicKey>, pkcs8: Vec<u8> },
    P256 { secret: P256SecretKey, public: P256PublicKey },
}

/// A recipient's key with its id and version.
struct Key {
    key_id: &'static [u8],
    version: u32,
    secret: Secret,
}

impl Key {
    fn kek(key_id: &'static [u8], version: u32) -> Key {
        Key { key_id, version, secret: Secret::Kek(Kek::generate(&mut OsRng).expect("KEK")) }
    }

    fn p256(key_id: &'static [u8], version: u32) -> Key {
        let secret = P256SecretKey::generate(&mut OsRng).expect("P-256 key");
        let public = secret.public_key();
        Key { key_id, version, secret: Secret::P256 { secret, public } }
    }

    fn rsa(key_id: &'static [u8], version: u32, pkcs8: &[u8]) -> Key {
        let private = RsaPrivateKey::from_pkcs8_der(pkcs8).expect("RSA fixture");
        let public = private.public_key();
        Key {
            key_id,
            version,
            secret: Secret::Rsa {
                private: Box::new(private),
                public: Box::new(public),
                pkcs8: pkcs8.to_vec(),
            },
        }
    }

    fn recipient(&self) -> Recipient<'_> {
        let (key_id, version) = (self.key_id, self.version);
        match &self.secret {
            Secret::Kek(kek) => Recipient::Kek { key_id, version, kek },
            Secret::Rsa { public, .. } => Recipient::Rsa { key_id, version, public_key: public },
            Secret::P256 { public, .. } => Recipient::P256 { key_id, version, public_key: public },
        }
    }

    fn unlock(&self) -> UnlockKey<'_> {
        let (key_id, version) = (self.key_id, self.version);
        match &self.secret {
            Secret::Kek(kek) => UnlockKey::Kek { key_id, version, kek },
            Secret::Rsa { private, .. } => UnlockKey::Rsa { key_id, version, private_key: private },
            Secret::P256 { secret, .. } => UnlockKey::P256 { key_id, version, secret_key: secret },
        }
    }

    fn kind(&self) -> RecipientKind {
        match &self.secret {
            Secret::Kek(_) => RecipientKind::Aes256Kw,
            Secret::Rsa { .. } => RecipientKind::RsaOaep,
            Secret::P256 { .. } => RecipientKind::P256EcdhEs,
        }
    }

    fn json(&self) -> RecipientJson {
        let (kind, secret, secret_fixture) = match &self.secret {
            Secret::Kek(kek) => ("aes256kw", hex::encode(kek.as_bytes()), None),
            Secret::Rsa { pkcs8, .. } => ("rsa-oaep-sha256", hex::encode(pkcs8), Some(RSA2048_FIXTURE)),
            Secret::P256 { secret, .. } => {
                ("p256-ecdh-es", hex::encode(&secret.to_pkcs8_der().expect("PKCS#8")[..]), None)
            }
        };
        RecipientJson {
            kind,
            key_id: hex::encode(self.key_id),
            version: self.version,
            secret,
            secret_fixture,
        }
    }
}

/// One golden envelope as generated, before it becomes JSON.
struct Golden<'k> {
    name: &'static str,
    description: &'static str,
    chunk_size: u32,
    context: Vec<(&'static [u8], &'static [u8])>,
    recipients: Vec<&'k Key>,
    derived_from: Option<&'static str>,
    operation: Option<&'static str>,
    no_longer_recipients: Vec<&'k Key>,
    plaintext: Vec<u8>,
    envelope: Vec<u8>,
}

impl Golden<'_> {
    fn json(&self) -> GoldenJson {
        GoldenJson {
            name: self.name,
            description: self.description,
            chunk_size: self.chunk_size,
            context: self
                .context
                .iter()
                .map(|(k, v)| PairJson { key: hex::encode(k), value: hex::encode(v) })
                .collect(),
            recipients: self.recipients.iter().map(|k| k.json()).collect(),
            derived_from: self.derived_from,
            operation: self.operation,
            no_longer_recipients: self.no_longer_recipients.iter().map(|k| k.json()).collect(),
            plaintext: hex::encode(&self.plaintext),
            envelope: hex::encode(&self.envelope),
        }
    }

    /// Opens the envelope with all keys and with each key alone; a generator
    /// that writes a vector it cannot open has a bug.
    fn verify(&self) {
        let ctx = EncryptionContext::from_pairs(&self.context).expect("context");
        let all: Vec<UnlockKey<'_>> = self.recipients.iter().map(|k| k.unlock()).collect();
        let pt = envelope::open(&mut OsRng, &all, &ctx, &self.envelope).expect("opens with all keys");
        assert_eq!(&pt[..], &self.plaintext[..], "{}: plaintext with all keys", self.name);
        for key in &all {
            let pt = envelope::open(&mut OsRng, &[*key], &ctx, &self.envelope).expect("opens with one key");
            assert_eq!(&pt[..], &self.plaintext[..], "{}: plaintext with one key", self.name);
        }
        for gone in &self.no_longer_recipients {
            let res = envelope::open(&mut OsRng, &[gone.unlock()], &ctx, &self.envelope);
            assert!(res.is_err(), "{}: a key that is no longer a recipient opened it", self.name);
        }
    }
}

/// Bytes where every value occurs and no two of the first 36 aligned
/// 256-byte blocks are equal (so a swapped chunk has other content).
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| ((i * 131 + i / 256 * 7 + usize::from(seed) * 29 + 17) % 256) as u8).collect()
}

fn seal(
    keys: &[&Key],
    context: &[(&'static [u8], &'static [u8])],
    plaintext: &[u8],
    chunk_size: u32,
) -> Vec<u8> {
    let ctx = EncryptionContext::from_pairs(context).expect("context");
    let to: Vec<Recipient<'_>> = keys.iter().map(|k| k.recipient()).collect();
    envelope::seal_with_chunk_size(&mut OsRng, &to, &ctx, plaintext, chunk_size).expect("seal")
}

fn golden<'k>(
    name: &'static str,
    description: &'static str,
    recipients: &[&'k Key],
    context: &[(&'static [u8], &'static [u8])],
    plaintext: Vec<u8>,
    chunk_size: u32,
) -> Golden<'k> {
    let envelope = seal(recipients, context, &plaintext, chunk_size);
    Golden {
        name,
        description,
        chunk_size,
        context: context.to_vec(),
        recipients: recipients.to_vec(),
        derived_from: None,
        operation: None,
        no_longer_recipients: Vec::new(),
        plaintext,
        envelope,
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn main() -> ExitCode {
    let overwrite = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => false,
        [flag] if flag == OVERWRITE_FLAG => true,
        other => {
            eprintln!("usage: make_envelope_golden [{OVERWRITE_FLAG}]  (unexpected arguments: {other:?})");
            return ExitCode::from(2);
        }
    };
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/envelope_v1");
    let out_path = out_dir.join("golden.json");
    if out_path.exists() && !overwrite {
        eprintln!(
            "refusing to overwrite {}: golden envelopes are generated once, checked in and never \
             regenerated (core/FORMAT.md §6, STYLE.md rule 19). A failing golden vector means the \
             format or the implementation changed; fix that instead. If the file really must be \
             replaced (it was never committed), pass {OVERWRITE_FLAG}.",
            out_path.display()
        );
        return ExitCode::from(1);
    }

    let rsa_path = repo_root().join(RSA2048_FIXTURE);
    let rsa_der = match fs::read(&rsa_path) {
        Ok(der) => der,
        Err(e) => {
            eprintln!("cannot read the RSA-2048 fixture {}: {e}", rsa_path.display());
            return ExitCode::from(1);
        }
    };

    let acme: &[(&[u8], &[u8])] = &[(b"tenant", b"acme")];
    let text = b"coffer envelope v1 golden vector: quarterly numbers for acme".to_vec();

    let kek_single = Key::kek(b"vault-kek", 1);
    let rsa_single = Key::rsa(b"rsa2048-fixture", 1, &rsa_der);
    let p256_single = Key::p256(b"device-7", 2);
    let multi_kek = Key::kek(b"ops-kek", 3);
    let multi_rsa = Key::rsa(b"escrow-rsa", 1, &rsa_der);
    let multi_p256 = Key::p256(b"laptop-p256", 1);
    let kek_east = Key::kek(b"kek-east", 1);
    let kek_west = Key::kek(b"kek-west", 7);
    let kek_ctx = Key::kek(b"context-kek", 1);
    let kek_payload = Key::kek(b"payload-kek", 1);
    let kek_max = Key::kek(b"big-chunk-kek", 1);
    let rot_v1 = Key::kek(b"rotating-kek", 1);
    let rot_v2 = Key::kek(b"rotating-kek", 2);
    let keep = Key::kek(b"keep-kek", 1);
    let retired = Key::p256(b"retired-device", 4);

    let mut goldens = vec![
        golden(
            "kek-one-recipient",
            "one AES-256-KW recipient, one-pair context, a short text in one chunk of the default 64 KiB chunk size",
            &[&kek_single],
            acme,
            text.clone(),
            envelope::DEFAULT_CHUNK_SIZE,
        ),
        golden(
            "rsa-oaep-one-recipient",
            "one RSA-OAEP-SHA-256 recipient (the rsa2048 fixture), 300 bytes in one 4096-byte chunk",
            &[&rsa_single],
            &[(b"purpose", b"backup")],
            pattern(300, 1),
            4096,
        ),
        golden(
            "p256-ecdh-es-one-recipient",
            "one P-256 ECDH-ES recipient, 500 bytes in two 256-byte chunks",
            &[&p256_single],
            &[(b"device", b"7")],
            pattern(500, 2),
            256,
        ),
        golden(
            "kek-rsa-p256-three-recipients",
            "three recipients: AES-256-KW, RSA-OAEP and P-256 ECDH-ES; 700 bytes in three 256-byte chunks",
            &[&multi_kek, &multi_rsa, &multi_p256],
            &[(b"app", b"payroll"), (b"tenant", b"acme")],
            pattern(700, 3),
            256,
        ),
        golden(
            "two-kek-recipients",
            "two AES-256-KW recipients with different key ids and versions",
            &[&kek_east, &kek_west],
            &[(b"region", b"eu")],
            pattern(64, 4),
            1024,
        ),
        golden(
            "context-several-pairs",
            "a five-pair context given out of order: an empty value, a binary key and value, a 64-byte key",
            &[&kek_ctx],
            &[
                (b"tenant", b"acme"),
                (b"purpose", b"backup"),
                (b"empty-value", b""),
                (b"\x00\xffbinary", b"\x00\x01\x02\xfe\xff"),
                (b"a-sixty-four-byte-context-key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", b"long key"),
            ],
            pattern(100, 5),
            256,
        ),
        golden(
            "context-empty",
            "an empty encryption context",
            &[&kek_ctx],
            &[],
            pattern(123, 6),
            envelope::DEFAULT_CHUNK_SIZE,
        ),
        golden(
            "payload-empty",
            "an empty plaintext: one empty final chunk (the tag alone)",
            &[&kek_payload],
            &[(b"kind", b"empty")],
            Vec::new(),
            256,
        ),
        golden(
            "payload-one-chunk",
            "200 bytes: one short final chunk of a 256-byte chunk size",
            &[&kek_payload],
            &[(b"kind", b"one-chunk")],
            pattern(200, 7),
            256,
        ),
        golden(
            "payload-one-full-chunk",
            "256 bytes: one full final chunk of a 256-byte chunk size",
            &[&kek_payload],
            &[(b"kind", b"one-full-chunk")],
            pattern(256, 8),
            256,
        ),
        golden(
            "payload-multi-chunk-short-last",
            "1000 bytes in 256-byte chunks: three full chunks and a 232-byte final chunk",
            &[&kek_payload],
            &[(b"kind", b"multi-chunk")],
            pattern(1000, 9),
            256,
        ),
        golden(
            "payload-exact-multiple",
            "768 bytes in 256-byte chunks: three full chunks, the last of them final (no empty chunk after)",
            &[&kek_payload],
            &[(b"kind", b"exact-multiple")],
            pattern(768, 10),
            256,
        ),
        golden(
            "chunk-size-max",
            "the largest chunk size, 1 MiB, with 2000 bytes in one chunk",
            &[&kek_max],
            acme,
            pattern(2000, 11),
            envelope::MAX_CHUNK_SIZE,
        ),
    ];

    // Rewrap: KEK version 1 -> version 2, both envelopes recorded.
    let before = golden(
        "rewrap-before-kek-v1",
        "sealed for rotating-kek version 1; rewrap-after-kek-v2 is this envelope rewrapped",
        &[&rot_v1],
        acme,
        pattern(600, 12),
        256,
    );
    let after = envelope::rewrap(&mut OsRng, &before.envelope, &rot_v1.unlock(), &rot_v2.recipient())
        .expect("rewrap");
    let rewrapped = Golden {
        name: "rewrap-after-kek-v2",
        description: "rewrap-before-kek-v1 rewrapped from rotating-kek version 1 to version 2: same bound section and payload, new recipient",
        chunk_size: before.chunk_size,
        context: before.context.clone(),
        recipients: vec![&rot_v2],
        derived_from: Some(before.name),
        operation: Some("rewrap(old = rotating-kek v1, new = rotating-kek v2)"),
        no_longer_recipients: vec![&rot_v1],
        plaintext: before.plaintext.clone(),
        envelope: after,
    };
    goldens.push(before);
    goldens.push(rewrapped);

    // Remove a recipient: KEK + P-256, then the P-256 recipient removed.
    let before = golden(
        "remove-recipient-before",
        "sealed for keep-kek and retired-device (P-256); remove-recipient-after is this envelope without retired-device",
        &[&keep, &retired],
        &[(b"tenant", b"globex")],
        pattern(300, 13),
        256,
    );
    let after = envelope::remove_recipient(&before.envelope, retired.kind(), retired.key_id, retired.version)
        .expect("remove recipient");
    let removed = Golden {
        name: "remove-recipient-after",
        description: "remove-recipient-before with the P-256 recipient retired-device removed: same bound section and payload",
        chunk_size: before.chunk_size,
        context: before.context.clone(),
        recipients: vec![&keep],
        derived_from: Some(before.name),
        operation: Some("remove_recipient(kind = P-256 ECDH-ES, key id = retired-device, version = 4)"),
        no_longer_recipients: vec![&retired],
        plaintext: before.plaintext.clone(),
        envelope: after,
    };
    goldens.push(before);
    goldens.push(removed);

    for g in &goldens {
        g.verify();
    }

    let file = GoldenFile {
        format: "coffer envelope v1",
        spec: "core/FORMAT.md",
        generator: "vectors/examples/make_envelope_golden.rs",
        runner: "vectors/tests/envelope_golden.rs",
        notice: "Generated once with OsRng and checked in; never regenerated (FORMAT.md §6, STYLE.md rule 19). \
                 All byte strings are hex. Keys: aes256kw = raw 32-byte KEK, rsa-oaep-sha256 = PKCS#8 DER \
                 (a copy of secret_fixture), p256-ecdh-es = PKCS#8 DER. The key material protects nothing.",
        envelopes: goldens.iter().map(Golden::json).collect(),
    };
    let mut json = serde_json::to_string_pretty(&file).expect("JSON");
    json.push('\n');

    if let Err(e) = fs::create_dir_all(&out_dir) {
        eprintln!("cannot create {}: {e}", out_dir.display());
        return ExitCode::from(1);
    }
    // create_new closes the race between the check above and the write.
    let mut opts = OpenOptions::new();
    opts.write(true);
    if overwrite {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let written =
        opts.open(&out_path).and_then(|mut f| f.write_all(json.as_bytes()).and_then(|()| f.sync_all()));
    if let Err(e) = written {
        eprintln!("cannot write {}: {e}", out_path.display());
        return ExitCode::from(1);
    }
    println!("wrote {} golden envelopes to {}", goldens.len(), out_path.display());
    ExitCode::SUCCESS
}
