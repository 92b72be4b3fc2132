//! Resource limits (issue 16 part 6): maximal and overlong inputs get a
//! typed error, allocate no more than a small bound (measured here with a
//! counting allocator), and never panic or overflow the stack.
//!
//! One `#[test]` runs every case in turn, so that the allocator's peak
//! belongs to the case being measured and to no other test's thread. It
//! lives in coffer-ffi's tests because a counting global allocator needs
//! `unsafe`, which the rest of the workspace forbids; it checks
//! coffer-core's parsers and the C ABI alike.
// miri: feeds 10 MB PEM lines and 100,000-recipient lists to the parsers: far too slow under miri.
#![cfg(not(miri))]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "a failed check is a test failure, reported by panic"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use coffer_core::Error;
use coffer_core::cert::{Certificate, Crl, Csr, KeyPair, PublicKey};
use coffer_core::envelope::{self, EncryptionContext, HeaderRef, Recipient, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::rng::OsRng;

use coffer::cert::{coffer_certificate_from_der, coffer_certificate_from_pem};
use coffer::envelope::{coffer_envelope_header_len, coffer_envelope_seal, coffer_key_kind, coffer_recipient};
use coffer::status::*;

mod common;
use common::Bytes;

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counters are
// only arithmetic on the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::SeqCst).saturating_add(layout.size());
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the most bytes it had allocated at
/// once beyond what was in use before.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = IN_USE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst).saturating_sub(base))
}

/// One case: what was fed, the error it got, and the bytes it allocated
/// at most, which must stay under `bound`.
fn case<T: std::fmt::Debug>(what: &str, want: Error, bound: usize, f: impl FnOnce() -> Result<T, Error>) {
    let (got, peak) = measured(f);
    println!("{what:<72} {:<28} peak {peak:>9} bytes (bound {bound})", format!("{:?}", got.as_ref().err()));
    assert_eq!(got.err(), Some(want), "{what}");
    assert!(peak <= bound, "{what}: allocated {peak} bytes at once, more than {bound}");
}

/// A parser under test, its result reduced to the error.
type Parse = fn(&[u8]) -> Result<(), Error>;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// DER nested `depth` levels deep: SEQUENCE { SEQUENCE { ... } } with
/// definite lengths, each level 5 bytes of header (tag, 0x83, 3 length bytes).
fn nested_der(depth: usize) -> Vec<u8> {
    let mut der = Vec::new();
    let mut inner_len = 0usize;
    for _ in 0..depth {
        let mut level = vec![0x30, 0x83];
        level.extend_from_slice(&u32::try_from(inner_len).unwrap().to_be_bytes()[1..]);
        inner_len += level.len();
        der.push(level);
    }
    der.into_iter().rev().flatten().collect()
}

/// A sealed envelope for one KEK recipient, its header length and the KEK.
fn sealed() -> (Vec<u8>, Kek) {
    let kek = Kek::generate(&mut OsRng).unwrap();
    let to = [Recipient::Kek { key_id: b"k", version: 1, kek: &kek }];
    let env = envelope::seal(&mut OsRng, &to, &EncryptionContext::new(), b"limits").unwrap();
    (env, kek)
}

#[test]
fn overlong_inputs_are_refused_with_bounded_memory_and_no_panic() {
    // Envelope length fields claiming 4 GiB: the header length in the
    // prefix, and the payload behind a header that claims more than it has.
    let (env, kek) = sealed();
    let mut huge = env.clone();
    huge[6..10].copy_from_slice(&u32::MAX.to_be_bytes());
    case("envelope header_len = 4 GiB - 1 (header_len)", Error::Malformed, 0, || {
        envelope::header_len(&huge[..10])
    });
    case("envelope header_len = 4 GiB - 1 (HeaderRef::parse)", Error::Malformed, 0, || {
        HeaderRef::parse(&huge).map(|_| ())
    });
    let keys = [UnlockKey::Kek { key_id: b"k", version: 1, kek: &kek }];
    case("envelope header_len = 4 GiB - 1 (open)", Error::Decrypt, 2 * env.len() + 4 * KIB, || {
        envelope::open(&mut OsRng, &keys, &EncryptionContext::new(), &huge).map(|_| ())
    });
    // A count byte claiming more entries than the limit (and than the header holds).
    let mut body = env.clone();
    body[10 + 4 + 32 + 32] = 0xff; // context_count 255 (> 16)
    case("envelope context_count = 255", Error::Malformed, 0, || HeaderRef::parse(&body).map(|_| ()));

    // 100,000 recipients (the header holds at most 255; the API takes a slice).
    let many: Vec<Recipient<'_>> =
        (0..100_000).map(|_| Recipient::Kek { key_id: b"k", version: 1, kek: &kek }).collect();
    case("seal to 100,000 recipients", Error::LimitExceeded, 0, || {
        envelope::seal(&mut OsRng, &many, &EncryptionContext::new(), b"x").map(|_| ())
    });
    // Unlock keys are not limited (each is matched by id and version, and
    // only a match is tried): 100,000 of them that match no recipient.
    let many_keys: Vec<UnlockKey<'_>> =
        (0..100_000).map(|_| UnlockKey::Kek { key_id: b"other", version: 1, kek: &kek }).collect();
    case(
        "open with 100,000 unlock keys, none for this envelope",
        Error::Decrypt,
        2 * env.len() + 4 * KIB,
        || envelope::open(&mut OsRng, &many_keys, &EncryptionContext::new(), &env).map(|_| ()),
    );

    // A 16 MiB context value (the CLI cannot pass more than 128 KiB in one
    // argument; the library gets it by reference and copies nothing).
    let value = vec![b'v'; 16 * MIB];
    case("context value of 16 MiB", Error::LimitExceeded, 0, || {
        let mut c = EncryptionContext::new();
        c.insert(b"tenant", &value)
    });

    // Deeply nested DER: as many nested SEQUENCEs as each parser's size
    // limit lets through (5 bytes a level), on a 256 KiB stack; and 100,000
    // levels, refused by size alone.
    let parsers: [(&str, usize, Error, Parse); 6] = [
        ("Certificate::from_der", 64 * KIB, Error::MalformedCertificate, |d| {
            Certificate::from_der(d).map(|_| ())
        }),
        ("Csr::from_der", 64 * KIB, Error::MalformedCertificate, |d| Csr::from_der(d).map(|_| ())),
        ("Crl::from_der", 256 * KIB, Error::MalformedCertificate, |d| Crl::from_der(d).map(|_| ())),
        ("KeyPair::from_pkcs8_der", 4 * KIB, Error::InvalidKey, |d| KeyPair::from_pkcs8_der(d).map(|_| ())),
        ("PublicKey::from_spki_der", 4 * KIB, Error::InvalidKey, |d| PublicKey::from_spki_der(d).map(|_| ())),
        ("envelope HeaderRef::parse", 64 * KIB, Error::Malformed, |d| HeaderRef::parse(d).map(|_| ())),
    ];
    for (name, size_limit, want, parse) in parsers {
        for (depth, want) in [(size_limit / 5 - 1, want), (100_000, Error::InvalidLength)] {
            let want = if name.starts_with("envelope") { Error::Malformed } else { want };
            let input = nested_der(depth);
            let (got, peak) = std::thread::Builder::new()
                .stack_size(256 * KIB)
                .spawn(move || measured(|| parse(&input)))
                .unwrap()
                .join()
                .unwrap_or_else(|_| panic!("{name} panicked or overflowed its stack on nested DER"));
            let what = format!("{name} on {depth} nested SEQUENCEs");
            println!("{what:<72} {:<28} peak {peak:>9} bytes", format!("{:?}", got.as_ref().err()));
            assert_eq!(got.err(), Some(want), "{what}");
            assert!(peak <= 2 * size_limit, "{what}: {peak} bytes");
        }
    }

    // A 10 MB PEM line: refused by its length before it is decoded.
    let line =
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", "A".repeat(10_000_000));
    case("Certificate::from_pem, one 10 MB line", Error::InvalidLength, 0, || {
        Certificate::from_pem(&line).map(|_| ())
    });
    case("Certificate::all_from_pem, one 10 MB line", Error::InvalidLength, 0, || {
        Certificate::all_from_pem(&line).map(|_| ())
    });
    case("Crl::from_pem, one 10 MB line", Error::InvalidLength, 0, || Crl::from_pem(&line).map(|_| ()));
    case("Csr::from_pem, one 10 MB line", Error::InvalidLength, 0, || Csr::from_pem(&line).map(|_| ()));
    case("KeyPair::from_pkcs8_pem, one 10 MB line", Error::InvalidLength, 0, || {
        KeyPair::from_pkcs8_pem(&line).map(|_| ())
    });
    let block =
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", "A".repeat(7_000_000));
    case(
        "Certificate::all_from_pem, one 7 MB block (under the bundle limit)",
        Error::InvalidLength,
        0,
        || Certificate::all_from_pem(&block).map(|_| ()),
    );

    // The same through the C ABI: refused before anything is read or allocated.
    let kek_bytes = [7u8; 32];
    let one = || coffer_recipient {
        kind: coffer_key_kind::COFFER_KEY_KEK as u32,
        key_id: b"k".as_ptr(),
        key_id_len: 1,
        version: 1,
        key: kek_bytes.as_ptr(),
        key_len: 32,
    };
    let many: Vec<coffer_recipient> = (0..100_000).map(|_| one()).collect();
    let mut out = Bytes::new();
    c_case("coffer_envelope_seal to 100,000 recipients", COFFER_ERR_LIMIT_EXCEEDED, 0, || {
        coffer_envelope_seal(many.as_ptr(), many.len(), std::ptr::null(), 0, b"x".as_ptr(), 1, out.out())
    });
    let mut header_len = 0usize;
    c_case("coffer_envelope_header_len, header_len = 4 GiB - 1", COFFER_ERR_MALFORMED, 0, || {
        coffer_envelope_header_len(huge.as_ptr(), 10, &mut header_len)
    });
    let mut cert = std::ptr::null_mut();
    c_case("coffer_certificate_from_pem, one 10 MB line", COFFER_ERR_INVALID_LENGTH, 0, || {
        coffer_certificate_from_pem(line.as_ptr(), line.len(), &mut cert)
    });
    let deep = nested_der(13_000);
    c_case("coffer_certificate_from_der, 13,000 nested SEQUENCEs", COFFER_ERR_MALFORMED, 0, || {
        coffer_certificate_from_der(deep.as_ptr(), deep.len(), &mut cert)
    });
    assert!(cert.is_null());
}

/// [`case`] for a C function's status.
fn c_case(what: &str, want: coffer_status, bound: usize, f: impl FnOnce() -> coffer_status) {
    let (got, peak) = measured(f);
    println!("{what:<72} {:<28} peak {peak:>9} bytes (bound {bound})", format!("{got:?}"));
    assert_eq!(got, want, "{what}");
    assert!(peak <= bound, "{what}: allocated {peak} bytes at once, more than {bound}");
}
