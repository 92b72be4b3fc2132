//! The documented edges of key wrapping, the AEAD and the envelope, each
//! checked on both sides (issue 16 part 7: written for the mutants
//! `fuzz/run-mutants.sh` found no test holding; `fuzz/CAMPAIGNS.md` lists
//! them): the largest key data that wraps and the next size that does not,
//! lengths that are not a multiple of 8, which error a too-short or
//! inconsistent in-place buffer gives, what `Debug` prints for a secret key,
//! a header read under limits exactly its own size and recipient count, 16
//! recipients but not 17, and a context's accessors and 1,024-byte values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "test code")]

use coffer_core::Error;
use coffer_core::aead::{Aes256GcmSivKey, Nonce, TAG_LEN};
use coffer_core::keywrap::{Kek, MAX_KEY_DATA_LEN, wrapped_len_kw, wrapped_len_kwp};

fn kek() -> Kek {
    Kek::from_slice(&[0x42; 32]).unwrap()
}

#[test]
#[cfg_attr(miri, ignore = "wraps and unwraps 64 KiB four times: some 200,000 AES blocks, minutes under miri")]
fn key_data_of_exactly_64_kib_wraps_both_ways_and_8_bytes_more_is_refused() {
    assert_eq!(MAX_KEY_DATA_LEN, 65_536);
    let kek = kek();
    let data: Vec<u8> = (0..MAX_KEY_DATA_LEN).map(|i| i as u8).collect();
    let wrapped = kek.wrap_to_vec(&data).unwrap();
    assert_eq!(wrapped.len(), wrapped_len_kw(MAX_KEY_DATA_LEN));
    assert_eq!(&kek.unwrap_to_vec(&wrapped).unwrap()[..], &data[..]);
    let padded = kek.wrap_padded_to_vec(&data).unwrap();
    assert_eq!(padded.len(), wrapped_len_kwp(MAX_KEY_DATA_LEN));
    assert_eq!(&kek.unwrap_padded_to_vec(&padded).unwrap()[..], &data[..]);

    let over = vec![7u8; MAX_KEY_DATA_LEN + 8];
    let mut out = vec![0u8; MAX_KEY_DATA_LEN + 64];
    assert_eq!(kek.wrap(&over, &mut out), Err(Error::InvalidLength));
    assert_eq!(kek.wrap_padded(&over[..MAX_KEY_DATA_LEN + 1], &mut out), Err(Error::InvalidLength));
    // A wrapped input that would unwrap to more than the limit is refused
    // as any impossible input is: Decrypt.
    let mut long = wrapped.clone();
    long.extend_from_slice(&[0u8; 8]);
    assert_eq!(kek.unwrap(&long, &mut out), Err(Error::Decrypt));
}

#[test]
fn aes_kw_takes_only_multiples_of_8_from_16_bytes() {
    let kek = kek();
    let mut out = [0u8; 64];
    for len in [0, 8, 15, 17, 20, 31, 33] {
        assert_eq!(kek.wrap(&[1u8; 40][..len], &mut out), Err(Error::InvalidLength), "{len} bytes");
    }
    for len in [16, 24, 32, 40] {
        assert_eq!(kek.wrap(&[1u8; 40][..len], &mut out), Ok(len + 8), "{len} bytes");
    }
}

#[test]
fn secret_keys_print_their_kind_and_never_their_bytes() {
    assert_eq!(format!("{:?}", kek()), "Kek(AES-256, <redacted>)");
    assert_eq!(format!("{:?}", Kek::from_slice(&[0x42; 16]).unwrap()), "Kek(AES-128, <redacted>)");
    assert_eq!(format!("{:?}", Aes256GcmSivKey::from_bytes([0x42; 32])), "Aes256GcmSivKey(<redacted>)");
}

#[test]
fn seal_in_place_names_the_size_it_needs_or_refuses_an_inconsistent_length() {
    let key = Aes256GcmSivKey::from_bytes([7; 32]);
    let nonce = Nonce::from_bytes([1; 12]);
    // Room for the message but not the tag: the size needed.
    let mut exact = [0u8; 20];
    assert_eq!(
        key.seal_in_place(&nonce, b"", &mut exact, 20),
        Err(Error::BufferTooSmall { needed: 20 + TAG_LEN })
    );
    let mut one_short = [0u8; 20 + TAG_LEN - 1];
    assert_eq!(
        key.seal_in_place(&nonce, b"", &mut one_short, 20),
        Err(Error::BufferTooSmall { needed: 20 + TAG_LEN })
    );
    // A message longer than the buffer it is said to be in: an argument error.
    assert_eq!(key.seal_in_place(&nonce, b"", &mut exact, 21), Err(Error::InvalidLength));
    let mut room = [0u8; 20 + TAG_LEN];
    assert_eq!(key.seal_in_place(&nonce, b"", &mut room, 20), Ok(20 + TAG_LEN));
    assert_eq!(key.open_in_place(&nonce, b"", &mut room).unwrap(), &[0u8; 20][..]);
}

#[test]
fn a_readers_limits_admit_a_header_exactly_at_them() {
    use coffer_core::envelope::{self, EncryptionContext, HeaderRef, Limits, Recipient};
    use coffer_core::rng::OsRng;
    let keks = [Kek::from_slice(&[1; 32]).unwrap(), Kek::from_slice(&[2; 32]).unwrap()];
    let recipients: Vec<Recipient<'_>> =
        keks.iter().map(|kek| Recipient::Kek { key_id: b"kek", version: 1, kek }).collect();
    let sealed = envelope::seal(&mut OsRng, &recipients, &EncryptionContext::new(), b"data").unwrap();
    let len = envelope::header_len(&sealed).unwrap();
    let exact = Limits { max_recipients: 2, max_header_len: len };
    assert_eq!(HeaderRef::parse_with_limits(&sealed, &exact).unwrap().recipient_count(), 2);
    let short_header = Limits { max_header_len: len - 1, ..exact };
    assert_eq!(HeaderRef::parse_with_limits(&sealed, &short_header).err(), Some(Error::Malformed));
    let one_recipient = Limits { max_recipients: 1, ..exact };
    assert_eq!(HeaderRef::parse_with_limits(&sealed, &one_recipient).err(), Some(Error::Malformed));
}

#[test]
fn sealing_takes_exactly_16_recipients_and_refuses_17() {
    use coffer_core::envelope::{self, EncryptionContext, HeaderRef, MAX_RECIPIENTS, Recipient};
    use coffer_core::rng::OsRng;
    assert_eq!(MAX_RECIPIENTS, 16);
    let keks: Vec<Kek> = (0..=MAX_RECIPIENTS).map(|i| Kek::from_slice(&[i as u8; 32]).unwrap()).collect();
    let recipients: Vec<Recipient<'_>> =
        keks.iter().map(|kek| Recipient::Kek { key_id: b"kek", version: 1, kek }).collect();
    let sealed =
        envelope::seal(&mut OsRng, &recipients[..MAX_RECIPIENTS], &EncryptionContext::new(), b"data")
            .unwrap();
    assert_eq!(HeaderRef::parse(&sealed).unwrap().recipient_count(), MAX_RECIPIENTS);
    assert_eq!(
        envelope::seal(&mut OsRng, &recipients, &EncryptionContext::new(), b"data").err(),
        Some(Error::LimitExceeded)
    );
}

#[test]
fn a_context_answers_for_its_entries_and_takes_values_of_exactly_1024_bytes() {
    use coffer_core::envelope::{EncryptionContext, MAX_CONTEXT_VALUE_LEN};
    assert_eq!(MAX_CONTEXT_VALUE_LEN, 1024);
    let big = [b'v'; 1025];
    let mut ctx = EncryptionContext::new();
    assert!(ctx.is_empty());
    assert_eq!((ctx.len(), ctx.iter().count(), ctx.get(b"tenant")), (0, 0, None));
    ctx.insert(b"tenant", b"acme").unwrap();
    ctx.insert(b"blob", &big[..1024]).unwrap();
    assert_eq!(ctx.insert(b"more", &big), Err(Error::LimitExceeded));
    assert!(!ctx.is_empty());
    assert_eq!(ctx.len(), 2);
    assert_eq!(ctx.get(b"tenant"), Some(&b"acme"[..]));
    assert_eq!(ctx.get(b"blob").map(<[u8]>::len), Some(1024));
    assert_eq!(ctx.get(b"tenan"), None);
    // Canonical order: by key bytes.
    let entries: Vec<(&[u8], &[u8])> = ctx.iter().collect();
    assert_eq!(entries, [(&b"blob"[..], &big[..1024]), (&b"tenant"[..], &b"acme"[..])]);
}
