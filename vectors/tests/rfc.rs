//! RFC known-answer vectors, checked in under `vectors/data/`:
//! RFC 8452 Appendix C.2/C.3 (AES-256-GCM-SIV), RFC 3394 §4 (AES-KW) and
//! RFC 5649 §6 (AES-KWP).

use coffer_core::Error;
use coffer_core::aead::{Aes256GcmSivKey, Nonce};
use coffer_core::keywrap::Kek;
use coffer_vectors::{Expected, Output, Pin, Tally, finish, unhex};
use serde::Deserialize;

#[derive(Deserialize)]
struct File<V> {
    source: String,
    vectors: Vec<V>,
}

#[derive(Deserialize)]
struct GcmSivVector {
    section: String,
    key: String,
    nonce: String,
    aad: String,
    plaintext: String,
    ciphertext_and_tag: String,
}

#[derive(Deserialize)]
struct KwVector {
    name: String,
    kek: String,
    key_data: String,
    wrapped: String,
}

fn load<V: for<'de> Deserialize<'de>>(t: &mut Tally, file: &str) -> Option<File<V>> {
    let path = format!("{}/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let parsed = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_json::from_str::<File<V>>(&s).map_err(|e| e.to_string()));
    match parsed {
        Ok(f) => Some(f),
        Err(e) => {
            t.fail(format!("could not load {path}: {e}"));
            None
        }
    }
}

fn rfc8452() -> Tally {
    let mut t = Tally::new("rfc8452 aes-256-gcm-siv");
    let Some(file) = load::<GcmSivVector>(&mut t, "rfc8452_aes256gcmsiv.json") else { return t };
    t.suite = format!("rfc8452 aes-256-gcm-siv [{}]", file.source);
    for (i, v) in file.vectors.iter().enumerate() {
        let outcome = (|| -> Result<Output, Error> {
            let key = Aes256GcmSivKey::from_slice(&unhex("key", &v.key))?;
            let nonce = Nonce::from_slice(&unhex("nonce", &v.nonce))?;
            let aad = unhex("aad", &v.aad);
            let pt = unhex("plaintext", &v.plaintext);
            let expected = unhex("ciphertext_and_tag", &v.ciphertext_and_tag);
            if key.seal(&nonce, &aad, &pt)? != expected {
                return Ok(Output::Differs("ciphertext and tag"));
            }
            let mut buf = expected.clone();
            if key.open_in_place(&nonce, &aad, &mut buf)? != &pt[..] {
                return Ok(Output::Differs("plaintext"));
            }
            Ok(Output::AsPublished)
        })();
        t.check(i, Expected::Success, outcome.map_err(|e| format!("section {}: {e:?}", v.section)));
    }
    t
}

fn keywrap(file: &str, suite: &str, padded: bool) -> Tally {
    let mut t = Tally::new(suite);
    let Some(file) = load::<KwVector>(&mut t, file) else { return t };
    t.suite = format!("{suite} [{}]", file.source);
    for (i, v) in file.vectors.iter().enumerate() {
        let outcome = (|| -> Result<Output, String> {
            let kek = Kek::from_slice(&unhex("kek", &v.kek)).map_err(|e| e.to_string())?;
            let key_data = unhex("key_data", &v.key_data);
            let wrapped = unhex("wrapped", &v.wrapped);
            let w = if padded { kek.wrap_padded_to_vec(&key_data) } else { kek.wrap_to_vec(&key_data) };
            if w.map_err(|e| e.to_string())? != wrapped {
                return Ok(Output::Differs("wrapped key"));
            }
            let u = if padded { kek.unwrap_padded_to_vec(&wrapped) } else { kek.unwrap_to_vec(&wrapped) };
            if u.map_err(|e| e.to_string())?[..] != key_data[..] {
                return Ok(Output::Differs("unwrapped key data"));
            }
            // Negative twin: the same vector with its last byte flipped must not unwrap.
            let mut bad = wrapped.clone();
            if let Some(b) = bad.last_mut() {
                *b ^= 1;
            }
            let u = if padded { kek.unwrap_padded_to_vec(&bad) } else { kek.unwrap_to_vec(&bad) };
            match u {
                Err(Error::Decrypt) => Ok(Output::AsPublished),
                other => Err(format!("the vector with its last byte flipped gave {:?}", other.map(|_| ()))),
            }
        })();
        t.check(i, Expected::Success, outcome.map_err(|e| format!("{}: {e}", v.name)));
    }
    t
}

/// Each suite's counts; a change in the data files or in coffer that moves
/// a vector shows here.
const PINS: &[Pin] = &[
    Pin {
        suite: "rfc8452 aes-256-gcm-siv [RFC 8452 Appendix C.2 (AEAD_AES_256_GCM_SIV) and C.3 (counter wrap)]",
        passed: 26,
        failed: 0,
        skipped: 0,
    },
    Pin { suite: "rfc3394 aes-kw [RFC 3394 section 4 (4.1-4.6)]", passed: 6, failed: 0, skipped: 0 },
    Pin { suite: "rfc5649 aes-kwp [RFC 5649 section 6]", passed: 2, failed: 0, skipped: 0 },
];

fn main() -> std::process::ExitCode {
    let tallies = vec![
        rfc8452(),
        keywrap("rfc3394.json", "rfc3394 aes-kw", false),
        keywrap("rfc5649.json", "rfc5649 aes-kwp", true),
    ];
    finish("rfc", &tallies, PINS)
}
