//! AES-KW (RFC 3394) and AES-KWP (RFC 5649) round trips (coffer_core::keywrap):
//! a key from the input wrapped under a KEK from the input, one edit, unwrap.
//! - wrapping takes exactly the documented lengths (KW: 16..=65536 bytes, a
//!   multiple of 8; KWP: 1..=65536), refuses others with `InvalidLength`,
//!   writes `wrapped_len_kw`/`wrapped_len_kwp` bytes, and a buffer one
//!   byte short gives `BufferTooSmall` with that length;
//! - unwrapping the unchanged bytes gives exactly the key, the `_to_vec`
//!   forms agree with the slice forms;
//! - after an edit (a flipped bit, a cut, extra bytes, the other KEK, the
//!   other mode) unwrapping fails with exactly `Decrypt` and leaves the
//!   part of the output buffer it could have written zeroed, unless the
//!   bytes and KEK are unchanged.
//!
//! Input: KEK size (1), KEK (32, the first 16/24/32 used), mode (1), edit
//! kind (1), edit position (2), edit byte (1), then the key data.
#![no_main]

use coffer_core::Error;
use coffer_core::keywrap::{Kek, wrapped_len_kw, wrapped_len_kwp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[size], rest)) = data.split_first_chunk::<1>() else { return };
    let Some((kek_bytes, rest)) = rest.split_first_chunk::<32>() else { return };
    let Some((&[mode, kind, hi, lo, byte], key_data)) = rest.split_first_chunk::<5>() else { return };
    let kek_len = [16, 24, 32][usize::from(size % 3)];
    let kek = Kek::from_slice(&kek_bytes[..kek_len]).expect("16, 24 or 32 bytes");
    let padded = mode & 1 == 1;

    let n = key_data.len();
    let valid = if padded { (1..=65536).contains(&n) } else { (16..=65536).contains(&n) && n % 8 == 0 };
    let needed = if padded { wrapped_len_kwp(n) } else { wrapped_len_kw(n) };
    let wrap =
        |k: &Kek, out: &mut [u8]| if padded { k.wrap_padded(key_data, out) } else { k.wrap(key_data, out) };
    let mut wrapped = vec![0u8; needed];
    if !valid {
        assert_eq!(wrap(&kek, &mut wrapped), Err(Error::InvalidLength), "{n} bytes of key data");
        return;
    }
    let mut short = vec![0u8; needed - 1];
    assert_eq!(wrap(&kek, &mut short), Err(Error::BufferTooSmall { needed }));
    assert_eq!(wrap(&kek, &mut wrapped), Ok(needed));
    let to_vec = if padded { kek.wrap_padded_to_vec(key_data) } else { kek.wrap_to_vec(key_data) };
    assert_eq!(to_vec.as_ref(), Ok(&wrapped), "wrapping is deterministic");

    // One edit, of the bytes or of the key used to unwrap.
    let mut edited = wrapped.clone();
    let at = usize::from(u16::from_be_bytes([hi, lo])) % needed;
    let mut other = *kek_bytes;
    other[at % kek_len] ^= 1 << (byte % 8);
    let other = Kek::from_slice(&other[..kek_len]).expect("same length");
    let (unwrap_with, other_mode) = match kind % 6 {
        0 => (&kek, false),
        1 => {
            edited[at] ^= 1 << (byte % 8);
            (&kek, false)
        }
        2 => {
            edited.truncate(at);
            (&kek, false)
        }
        3 => {
            edited.extend(std::iter::repeat_n(byte, usize::from(hi % 17) + 1));
            (&kek, false)
        }
        4 => (&other, false),
        _ => (&kek, true),
    };
    let unchanged = edited == wrapped && core::ptr::eq(unwrap_with, &kek) && !other_mode;
    let padded_unwrap = padded != other_mode;
    // Room for the longest unwrap, and 8 bytes more.
    let room = edited.len().saturating_sub(8);
    let mut out = vec![0xa5u8; room + 8];
    let got = if padded_unwrap {
        unwrap_with.unwrap_padded(&edited, &mut out)
    } else {
        unwrap_with.unwrap(&edited, &mut out)
    };
    let got_vec = if padded_unwrap {
        unwrap_with.unwrap_padded_to_vec(&edited)
    } else {
        unwrap_with.unwrap_to_vec(&edited)
    };
    if unchanged {
        assert_eq!(got, Ok(n));
        assert_eq!(&out[..n], key_data, "the key comes back");
        assert_eq!(got_vec.as_deref().map(|v| &v[..]), Ok(key_data));
        let mut short = vec![0u8; room - 1];
        let got =
            if padded { kek.unwrap_padded(&wrapped, &mut short) } else { kek.unwrap(&wrapped, &mut short) };
        assert_eq!(got, Err(Error::BufferTooSmall { needed: room }));
    } else {
        assert_eq!(got, Err(Error::Decrypt), "edit {} at {at}", kind % 6);
        // Every byte the unwrap could have written is zeroed. (`Kek::unwrap`'s
        // documentation promises all of `out`; the bytes past `room` are left
        // as they were: fuzz/regressions/keywrap_roundtrip/unwrap-failure-leaves-rest-of-out.)
        assert!(out[..room].iter().all(|b| *b == 0), "a failed unwrap leaves zeros");
        assert_eq!(got_vec.err(), Some(Error::Decrypt));
    }
});
