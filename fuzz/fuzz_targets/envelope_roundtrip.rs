//! Seal → edit → open, structure-aware (`arbitrary`): a plaintext sealed
//! to 1–3 KEK recipients under an encryption context, one edit chosen by
//! the input, then open with every KEK (core/FORMAT.md §4):
//! - unchanged bytes open to exactly the plaintext;
//! - parsing the edited header (`HeaderRef::parse`) fails, if at all, with
//!   exactly `Malformed` (steps 1–2), and opening fails, if at all, with
//!   exactly `Decrypt` (every failure of steps 1–5 alike);
//! - edited bytes open only if the edit stayed inside the recipient
//!   records (which are outside the AAD, §3.3, so another recipient may
//!   still open), and then to exactly the plaintext;
//! - `rewrap`, `add_recipient` and `remove_recipient` on the edited bytes
//!   fail only as documented, and what they return never opens to any
//!   other plaintext; on unedited bytes what they return opens (`rewrap`
//!   and `add_recipient` always succeed there) to the plaintext.
#![no_main]

use arbitrary::Arbitrary;
use chacha20::ChaCha20Rng;
use coffer_core::Error;
use coffer_core::envelope::{self, EncryptionContext, HeaderRef, Recipient, RecipientKind, UnlockKey};
use coffer_core::keywrap::Kek;
use libfuzzer_sys::fuzz_target;
use rand_core::SeedableRng;

#[derive(Arbitrary, Debug)]
struct Input {
    plaintext: Vec<u8>,
    /// Chunk size 256 + this (so a few hundred bytes already make chunks).
    chunk_extra: u8,
    /// 1 + this % 3 recipients.
    recipients: u8,
    context: Vec<(Vec<u8>, Vec<u8>)>,
    seed: [u8; 32],
    edit: Edit,
    /// Which KEK unlocks for the header changes.
    unlock: u8,
}

#[derive(Arbitrary, Debug)]
enum Edit {
    None,
    FlipBit {
        at: u32,
        bit: u8,
    },
    SetByte {
        at: u32,
        value: u8,
    },
    Truncate {
        keep: u32,
    },
    Extend {
        bytes: Vec<u8>,
    },
    /// The header of another envelope (same recipients, other randomness
    /// and plaintext) before this envelope's payload.
    SpliceHeader {
        seed: [u8; 32],
        plaintext: Vec<u8>,
    },
    /// This header before another envelope's payload.
    SplicePayload {
        seed: [u8; 32],
        plaintext: Vec<u8>,
    },
}

const KEY_IDS: [&[u8]; 3] = [b"kek-0", b"kek-1", b"kek-2"];

fuzz_target!(|input: Input| {
    let keks: Vec<Kek> = (0u8..4).map(|i| Kek::from_slice(&[0x40 | i; 32]).expect("32 bytes")).collect();
    let n = 1 + usize::from(input.recipients % 3);
    let to: Vec<Recipient<'_>> =
        (0..n).map(|i| Recipient::Kek { key_id: KEY_IDS[i], version: 1, kek: &keks[i] }).collect();
    let keys: Vec<UnlockKey<'_>> =
        (0..3).map(|i| UnlockKey::Kek { key_id: KEY_IDS[i], version: 1, kek: &keks[i] }).collect();
    let mut ctx = EncryptionContext::new();
    for (k, v) in input.context.iter().take(4) {
        let _ = ctx.insert(k, v); // duplicates and overlong entries are refused; the rest stay
    }
    let chunk = 256 + u32::from(input.chunk_extra);
    // Another envelope for a splice: another seed, or it would share this
    // one's data key and be a genuine envelope of its own plaintext.
    let other_seed = |mut seed: [u8; 32]| {
        if seed == input.seed {
            seed[0] ^= 1;
        }
        seed
    };
    let seal = |seed: [u8; 32], pt: &[u8]| {
        envelope::seal_with_chunk_size(&mut ChaCha20Rng::from_seed(seed), &to, &ctx, pt, chunk)
            .expect("sealing to valid recipients succeeds")
    };
    let sealed = seal(input.seed, &input.plaintext);
    let mut rng = ChaCha20Rng::from_seed(input.seed);

    let mut edited = sealed.clone();
    match &input.edit {
        Edit::None => {}
        Edit::FlipBit { at, bit } => {
            let i = *at as usize % edited.len();
            edited[i] ^= 1 << (bit % 8);
        }
        Edit::SetByte { at, value } => {
            let i = *at as usize % edited.len();
            edited[i] = *value;
        }
        Edit::Truncate { keep } => edited.truncate(*keep as usize % edited.len()),
        Edit::Extend { bytes } => edited.extend_from_slice(if bytes.is_empty() { &[0] } else { bytes }),
        Edit::SpliceHeader { seed, plaintext } => {
            let other = seal(other_seed(*seed), plaintext);
            let h = header_len(&other);
            edited = [&other[..h], &sealed[header_len(&sealed)..]].concat();
        }
        Edit::SplicePayload { seed, plaintext } => {
            let other = seal(other_seed(*seed), plaintext);
            let h = header_len(&sealed);
            edited = [&sealed[..h], &other[header_len(&other)..]].concat();
        }
    }
    let unchanged = edited == sealed;
    let only_recipients_changed = edited.len() == sealed.len() && {
        let start = recipients_start(&sealed);
        let end = header_len(&sealed);
        edited.iter().zip(&sealed).enumerate().all(|(i, (a, b))| a == b || (start..end).contains(&i))
    };

    if let Err(e) = HeaderRef::parse(&edited) {
        assert_eq!(e, Error::Malformed, "header parsing fails only as Malformed");
    }
    match envelope::open(&mut rng, &keys, &ctx, &edited) {
        Ok(pt) => {
            assert!(only_recipients_changed, "an envelope edited outside its recipients opened");
            assert_eq!(&pt[..], &input.plaintext[..], "an envelope opened to other plaintext");
        }
        Err(e) => {
            assert!(!unchanged, "the sealed envelope did not open: {e:?}");
            assert_eq!(e, Error::Decrypt, "opening fails only as Decrypt");
        }
    }

    // Header changes on the edited bytes.
    let old = keys[usize::from(input.unlock) % n];
    let new_kek = &keks[3];
    let new = Recipient::Kek { key_id: b"kek-new", version: 2, kek: new_kek };
    let new_key = UnlockKey::Kek { key_id: b"kek-new", version: 2, kek: new_kek };
    let header_error = |e: Error| {
        matches!(e, Error::Malformed | Error::Decrypt | Error::InvalidInput | Error::LimitExceeded)
    };
    for (what, changed) in [
        ("rewrap", envelope::rewrap(&mut rng, &edited, &old, &new)),
        ("add_recipient", envelope::add_recipient(&mut rng, &edited, &old, &new)),
    ] {
        match changed {
            Ok(env) => match envelope::open(&mut rng, &[new_key], &ctx, &env) {
                Ok(pt) => {
                    assert_eq!(&pt[..], &input.plaintext[..], "{what} gave an envelope of other plaintext")
                }
                Err(e) => {
                    assert!(!unchanged, "{what} of the sealed envelope does not open: {e:?}");
                    assert_eq!(e, Error::Decrypt);
                }
            },
            Err(e) => {
                assert!(!unchanged, "{what} of the sealed envelope failed: {e:?}");
                assert!(header_error(e), "{what} failed with undocumented {e:?}");
            }
        }
    }
    let id = KEY_IDS[usize::from(input.unlock) % 3];
    match envelope::remove_recipient(&edited, RecipientKind::Aes256Kw, id, 1) {
        Ok(env) => match envelope::open(&mut rng, &keys, &ctx, &env) {
            Ok(pt) => assert_eq!(&pt[..], &input.plaintext[..], "remove_recipient gave other plaintext"),
            Err(e) => assert!(!unchanged, "remove_recipient of the sealed envelope does not open: {e:?}"),
        },
        Err(e) => assert!(matches!(e, Error::Malformed | Error::InvalidInput), "remove_recipient: {e:?}"),
    }
});

fn header_len(envelope: &[u8]) -> usize {
    HeaderRef::parse(envelope).expect("a sealed envelope's header").as_bytes().len()
}

/// Where the recipient count byte of a sealed envelope's header is: the
/// records after it, to the end of the header, are outside the AAD.
fn recipients_start(envelope: &[u8]) -> usize {
    let h = HeaderRef::parse(envelope).expect("a sealed envelope's header");
    let records: usize = h.recipients().map(|r| 8 + r.key_id.len() + r.body.len()).sum();
    h.as_bytes().len() - records - 1
}
