//! Opening arbitrary bytes, or a real envelope with fuzzer-chosen edits,
//! never panics, and anything that opens gives the original plaintext.
#![no_main]

use coffer_core::envelope::{self, EncryptionContext, Recipient, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::p256::P256SecretKey;
use coffer_core::rng::OsRng;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const PLAINTEXT: &[u8] = b"fuzzing coffer envelopes, chunk after chunk after chunk after chunk";

struct Fixture {
    kek: Kek,
    ec: P256SecretKey,
    envelope: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let kek = Kek::from_slice(&[0x42; 32]).expect("32-byte KEK");
        let ec = P256SecretKey::from_bytes(&[0x11; 32]).expect("valid scalar");
        let ec_pub = ec.public_key();
        let mut ctx = EncryptionContext::new();
        ctx.insert(b"tenant", b"fuzz").expect("context");
        let to = [
            Recipient::Kek { key_id: b"kek", version: 1, kek: &kek },
            Recipient::P256 { key_id: b"ec", version: 1, public_key: &ec_pub },
        ];
        let envelope =
            envelope::seal_with_chunk_size(&mut OsRng, &to, &ctx, PLAINTEXT, 256).expect("seal the fixture");
        Fixture { kek, ec, envelope }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut ctx = EncryptionContext::new();
    ctx.insert(b"tenant", b"fuzz").expect("context");
    let keys = [
        UnlockKey::Kek { key_id: b"kek", version: 1, kek: &f.kek },
        UnlockKey::P256 { key_id: b"ec", version: 1, secret_key: &f.ec },
    ];
    // 1. The input as an envelope.
    if let Ok(pt) = envelope::open(&mut OsRng, &keys, &ctx, data) {
        assert_eq!(&pt[..], PLAINTEXT, "only the real envelope can open");
    }
    // 2. The real envelope with edits (offset, xor) pairs taken from the input.
    let mut bytes = f.envelope.clone();
    for pair in data.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % bytes.len();
        bytes[at] ^= pair[2];
    }
    match envelope::open(&mut OsRng, &keys, &ctx, &bytes) {
        Ok(pt) => assert_eq!(&pt[..], PLAINTEXT),
        Err(e) => assert_eq!(e, coffer_core::Error::Decrypt),
    }
});
