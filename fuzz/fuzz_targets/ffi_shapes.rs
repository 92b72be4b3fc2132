//! The C ABI (coffer-ffi, Rust name `coffer`) through its `extern "C"`
//! entry points, with pointer-and-length shapes chosen by the input: NULL
//! with a nonzero length, NULL with zero (the empty input), valid buffers;
//! output buffers that are NULL, absent (`*out_len` NULL), too short, exact
//! or large. Each call's status must be the one its documentation gives,
//! checked in its documented order (ffi/src/status.rs, "One code per
//! condition"): `COFFER_ERR_NULL_POINTER` for NULL with a length or a
//! missing output, `COFFER_ERR_BUFFER_TOO_SMALL` with the needed size
//! written back, otherwise what coffer-core itself answers for the same
//! bytes, and on success the output coffer-core gives. A panic inside the
//! boundary aborts the run (libFuzzer's panic hook), so
//! `COFFER_ERR_PANIC` is never an accepted answer.
//!
//! Functions: coffer_kw_wrap/unwrap, coffer_kwp_wrap/unwrap,
//! coffer_envelope_seal(_into)/open(_into), coffer_envelope_header_len,
//! coffer_certificate_from_der (+ _to_der, _free), coffer_crl_from_der
//! (+ _to_der, _lists, _free), coffer_webhook_sign/verify.
#![no_main]

use arbitrary::Arbitrary;
use coffer::boundary::{coffer_bytes, coffer_bytes_free};
use coffer::cert::{
    coffer_certificate, coffer_certificate_free, coffer_certificate_from_der, coffer_certificate_to_der,
};
use coffer::crl::{coffer_crl, coffer_crl_free, coffer_crl_from_der, coffer_crl_lists, coffer_crl_to_der};
use coffer::envelope::{
    coffer_envelope_header_len, coffer_envelope_open, coffer_envelope_open_into, coffer_envelope_seal,
    coffer_envelope_seal_into, coffer_key_kind, coffer_kv, coffer_recipient, coffer_unlock_key,
};
use coffer::keywrap::{coffer_kw_unwrap, coffer_kw_wrap, coffer_kwp_unwrap, coffer_kwp_wrap};
use coffer::status::coffer_status::{self, *};
use coffer::webhook::{coffer_webhook_sign, coffer_webhook_verify};
use coffer_core::cert::{Certificate, Crl};
use coffer_core::envelope::{self, EncryptionContext, Recipient, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::mac::{HmacSha256Key, WebhookMessage, WebhookSignature};
use coffer_core::rng::OsRng;
use libfuzzer_sys::fuzz_target;
use std::ptr::{null, null_mut};

/// How an input buffer is passed.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum In {
    Valid,
    /// NULL with length 0: the empty input.
    Empty,
    /// NULL with this length + 1.
    Null(u8),
}

/// How a caller buffer with an in/out length is passed.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Out {
    /// `out` NULL, `*out_len` nonzero.
    Null,
    /// `out_len` itself NULL.
    NoLength,
    /// `out` NULL, `*out_len` 0: asking for the size.
    Ask,
    /// A buffer of this many bytes.
    Cap(u16),
    /// Exactly as long as the output.
    Exact,
}

#[derive(Arbitrary, Debug)]
enum Call {
    KeyWrap {
        padded: bool,
        unwrap: bool,
        kek: Vec<u8>,
        kek_in: In,
        data: Vec<u8>,
        data_in: In,
        out: Out,
    },
    Seal {
        into: bool,
        recipients: u8,
        recipients_in: In,
        context: Vec<(Vec<u8>, Vec<u8>)>,
        plaintext: Vec<u8>,
        plaintext_in: In,
        out: Out,
    },
    Open {
        into: bool,
        keys: u8,
        keys_in: In,
        plaintext: Vec<u8>,
        flip: Option<u16>,
        raw: Option<Vec<u8>>,
        sealed_in: In,
        out: Out,
    },
    HeaderLen {
        prefix: Vec<u8>,
        prefix_in: In,
        out_null: bool,
    },
    CertificateFromDer {
        der: Vec<u8>,
        der_in: In,
        out_null: bool,
    },
    CrlFromDer {
        der: Vec<u8>,
        der_in: In,
        out_null: bool,
    },
    WebhookSign {
        secret: Vec<u8>,
        secret_in: In,
        timestamp: u64,
        body: Vec<u8>,
        body_in: In,
        out_null: bool,
    },
    WebhookVerify {
        secret: Vec<u8>,
        secret_in: In,
        body: Vec<u8>,
        body_in: In,
        header: Option<Vec<u8>>,
        header_in: In,
        skew: i16,
        tolerance: u16,
    },
}

/// A status-or-value model of one call, in the function's own order of checks.
type Model<T> = Result<T, coffer_status>;

fuzz_target!(|calls: Vec<Call>| {
    for call in calls.into_iter().take(4) {
        match call {
            Call::KeyWrap { padded, unwrap, kek, kek_in, data, data_in, out } => {
                let f = match (padded, unwrap) {
                    (false, false) => coffer_kw_wrap,
                    (false, true) => coffer_kw_unwrap,
                    (true, false) => coffer_kwp_wrap,
                    (true, true) => coffer_kwp_unwrap,
                };
                let model = (|| {
                    out_ok(out)?;
                    let kek = Kek::from_slice(seen(&kek, kek_in)?)?;
                    let data = seen(&data, data_in)?;
                    Ok(match (padded, unwrap) {
                        (false, false) => kek.wrap_to_vec(data)?,
                        (false, true) => kek.unwrap_to_vec(data)?.to_vec(),
                        (true, false) => kek.wrap_padded_to_vec(data)?,
                        (true, true) => kek.unwrap_padded_to_vec(data)?.to_vec(),
                    })
                })();
                let (kp, kl) = ptr(&kek, kek_in);
                let (dp, dl) = ptr(&data, data_in);
                into_buffer(out, &model, |o, l| f(kp, kl, dp, dl, o, l));
            }
            Call::Seal { into, recipients, recipients_in, context, plaintext, plaintext_in, out } => {
                let count = usize::from(recipients % 18);
                let ids: Vec<[u8; 3]> = (0..recipients % 18).map(|i| [b'r', b'0', b'a' + i]).collect();
                let raw: Vec<coffer_recipient> = ids
                    .iter()
                    .map(|id| coffer_recipient {
                        kind: coffer_key_kind::COFFER_KEY_KEK as u32,
                        key_id: id.as_ptr(),
                        key_id_len: id.len(),
                        version: 1,
                        key: KEK.as_ptr(),
                        key_len: KEK.len(),
                    })
                    .collect();
                let kvs = kvs(&context);
                let model = (|| {
                    if into {
                        out_ok(out)?;
                    }
                    seen(&raw, recipients_in)?;
                    let n = if matches!(recipients_in, In::Valid) { count } else { 0 };
                    if n == 0 {
                        return Err(COFFER_ERR_INVALID_ARGUMENT);
                    }
                    if n > 16 {
                        return Err(COFFER_ERR_LIMIT_EXCEEDED);
                    }
                    let ctx = context_of(&context)?;
                    let pt = seen(&plaintext, plaintext_in)?;
                    let kek = Kek::from_slice(&KEK)?;
                    let to: Vec<Recipient<'_>> =
                        ids.iter().map(|id| Recipient::Kek { key_id: id, version: 1, kek: &kek }).collect();
                    Ok(envelope::sealed_len(&to, &ctx, pt.len(), envelope::DEFAULT_CHUNK_SIZE)?)
                })();
                let (rp, rl) = ptr(&raw, recipients_in);
                let (pp, pl) = ptr(&plaintext, plaintext_in);
                let sealed = if into {
                    let len_model = model.clone().map(|n| vec![0u8; n]);
                    into_buffer(out, &len_model, |o, l| {
                        coffer_envelope_seal_into(rp, rl, kvs.as_ptr(), kvs.len(), pp, pl, o, l)
                    })
                } else {
                    let mut bytes = Bytes::new();
                    let status = coffer_envelope_seal(rp, rl, kvs.as_ptr(), kvs.len(), pp, pl, bytes.out());
                    assert_eq!(status, model.as_ref().err().copied().unwrap_or(COFFER_OK));
                    model.as_ref().ok().map(|_| bytes.to_vec())
                };
                // What the ABI sealed opens, in coffer-core, to the plaintext.
                if let Some(sealed) = sealed {
                    let kek = Kek::from_slice(&KEK).expect("32 bytes");
                    let id = ids.first().expect("sealed to one recipient at least");
                    let key = UnlockKey::Kek { key_id: id, version: 1, kek: &kek };
                    let ctx = context_of(&context).expect("the context sealed with");
                    let pt =
                        envelope::open(&mut OsRng, &[key], &ctx, &sealed).expect("the ABI's envelope opens");
                    assert_eq!(&pt[..], seen(&plaintext, plaintext_in).expect("sealed"));
                }
            }
            Call::Open { into, keys, keys_in, plaintext, flip, raw, sealed_in, out } => {
                let kek = Kek::from_slice(&KEK).expect("32 bytes");
                let sealed = raw.unwrap_or_else(|| {
                    let to = [Recipient::Kek { key_id: b"r0a", version: 1, kek: &kek }];
                    let mut env =
                        envelope::seal(&mut OsRng, &to, &EncryptionContext::new(), &plaintext).expect("seal");
                    if let Some(at) = flip {
                        let i = usize::from(at) % env.len();
                        env[i] ^= 1;
                    }
                    env
                });
                let count = usize::from(keys % 66);
                let raw_keys: Vec<coffer_unlock_key> = (0..count)
                    .map(|_| coffer_unlock_key {
                        kind: coffer_key_kind::COFFER_KEY_KEK as u32,
                        key_id: b"r0a".as_ptr(),
                        key_id_len: 3,
                        version: 1,
                        key: KEK.as_ptr(),
                        key_len: KEK.len(),
                    })
                    .collect();
                let model = (|| {
                    if into {
                        out_ok(out)?
                    }
                    seen(&raw_keys, keys_in)?;
                    let n = if matches!(keys_in, In::Valid) { count } else { 0 };
                    if n == 0 {
                        return Err(COFFER_ERR_INVALID_ARGUMENT);
                    }
                    if n > 64 {
                        return Err(COFFER_ERR_LIMIT_EXCEEDED);
                    }
                    let bytes = seen(&sealed, sealed_in)?;
                    envelope::HeaderRef::parse(bytes).map_err(|_| COFFER_ERR_MALFORMED)?;
                    let key = UnlockKey::Kek { key_id: b"r0a", version: 1, kek: &kek };
                    Ok(envelope::open(&mut OsRng, &[key], &EncryptionContext::new(), bytes)?.to_vec())
                })();
                let (kp, kl) = ptr(&raw_keys, keys_in);
                let (sp, sl) = ptr(&sealed, sealed_in);
                if into {
                    into_buffer(out, &model, |o, l| {
                        coffer_envelope_open_into(kp, kl, null(), 0, sp, sl, o, l)
                    });
                } else {
                    let mut bytes = Bytes::new();
                    let status = coffer_envelope_open(kp, kl, null(), 0, sp, sl, bytes.out());
                    assert_eq!(status, model.as_ref().err().copied().unwrap_or(COFFER_OK));
                    if let Ok(pt) = &model {
                        assert_eq!(&bytes.to_vec(), pt);
                    }
                }
            }
            Call::HeaderLen { prefix, prefix_in, out_null } => {
                let model = (|| {
                    if out_null {
                        return Err(COFFER_ERR_NULL_POINTER);
                    }
                    let prefix = seen(&prefix, prefix_in)?;
                    if prefix.len() < envelope::PREFIX_LEN {
                        return Err(COFFER_ERR_INVALID_LENGTH);
                    }
                    Ok(envelope::header_len(prefix)?)
                })();
                let mut len = usize::MAX;
                let slot = if out_null { null_mut() } else { &mut len as *mut usize };
                let (p, l) = ptr(&prefix, prefix_in);
                assert_eq!(
                    coffer_envelope_header_len(p, l, slot),
                    model.as_ref().err().copied().unwrap_or(COFFER_OK)
                );
                if let Ok(n) = model {
                    assert_eq!(len, n);
                }
            }
            Call::CertificateFromDer { der, der_in, out_null } => {
                let model = (|| {
                    if out_null {
                        return Err(COFFER_ERR_NULL_POINTER);
                    }
                    Ok(Certificate::from_der(seen(&der, der_in)?)?)
                })();
                let mut handle: *mut coffer_certificate = null_mut();
                let slot = if out_null { null_mut() } else { &mut handle as *mut _ };
                let (p, l) = ptr(&der, der_in);
                assert_eq!(
                    coffer_certificate_from_der(p, l, slot),
                    model.as_ref().err().copied().unwrap_or(COFFER_OK)
                );
                if let Ok(c) = &model {
                    let mut bytes = Bytes::new();
                    assert_eq!(coffer_certificate_to_der(handle, bytes.out()), COFFER_OK);
                    assert_eq!(bytes.to_vec(), c.to_der());
                    assert_eq!(coffer_certificate_to_der(handle, null_mut()), COFFER_ERR_NULL_POINTER);
                }
                coffer_certificate_free(handle);
            }
            Call::CrlFromDer { der, der_in, out_null } => {
                let model = (|| {
                    if out_null {
                        return Err(COFFER_ERR_NULL_POINTER);
                    }
                    Ok(Crl::from_der(seen(&der, der_in)?)?)
                })();
                let mut handle: *mut coffer_crl = null_mut();
                let slot = if out_null { null_mut() } else { &mut handle as *mut _ };
                let (p, l) = ptr(&der, der_in);
                assert_eq!(
                    coffer_crl_from_der(p, l, slot),
                    model.as_ref().err().copied().unwrap_or(COFFER_OK)
                );
                if let Ok(c) = &model {
                    let mut bytes = Bytes::new();
                    assert_eq!(coffer_crl_to_der(handle, bytes.out()), COFFER_OK);
                    assert_eq!(bytes.to_vec(), c.to_der());
                    let mut listed = true;
                    assert_eq!(coffer_crl_lists(handle, null(), &mut listed), COFFER_ERR_NULL_POINTER);
                    assert!(listed, "nothing is written on failure");
                }
                coffer_crl_free(handle);
            }
            Call::WebhookSign { secret, secret_in, timestamp, body, body_in, out_null } => {
                let model = (|| {
                    if out_null {
                        return Err(COFFER_ERR_NULL_POINTER);
                    }
                    let key = webhook_key(seen(&secret, secret_in)?)?;
                    let tag = key.sign_webhook(&WebhookMessage::new(timestamp, seen(&body, body_in)?));
                    Ok(WebhookSignature::new(timestamp, tag).to_string())
                })();
                let mut bytes = Bytes::new();
                let slot = if out_null { null_mut() } else { bytes.out() };
                let (sp, sl) = ptr(&secret, secret_in);
                let (bp, bl) = ptr(&body, body_in);
                assert_eq!(
                    coffer_webhook_sign(sp, sl, timestamp, bp, bl, slot),
                    model.as_ref().err().copied().unwrap_or(COFFER_OK)
                );
                if let Ok(header) = &model {
                    assert_eq!(bytes.to_vec(), header.as_bytes());
                }
            }
            Call::WebhookVerify { secret, secret_in, body, body_in, header, header_in, skew, tolerance } => {
                const NOW: u64 = 1_790_000_000;
                let timestamp = NOW.saturating_add_signed(i64::from(skew));
                let header = header.unwrap_or_else(|| match HmacSha256Key::new(&secret) {
                    Ok(key) => {
                        let tag = key.sign_webhook(&WebhookMessage::new(timestamp, &body));
                        WebhookSignature::new(timestamp, tag).to_string().into_bytes()
                    }
                    Err(_) => b"t=1,v1=00".to_vec(),
                });
                let model = (|| {
                    let key = webhook_key(seen(&secret, secret_in)?)?;
                    let body = seen(&body, body_in)?;
                    let text =
                        std::str::from_utf8(seen(&header, header_in)?).map_err(|_| COFFER_ERR_NOT_UTF8)?;
                    let sig = WebhookSignature::parse(text)?;
                    let msg = WebhookMessage::new(sig.timestamp(), body);
                    Ok(key.verify_webhook(&msg, sig.tag(), NOW, u64::from(tolerance))?)
                })();
                let (sp, sl) = ptr(&secret, secret_in);
                let (bp, bl) = ptr(&body, body_in);
                let (hp, hl) = ptr(&header, header_in);
                let status = coffer_webhook_verify(sp, sl, bp, bl, hp, hl, NOW, u64::from(tolerance));
                assert_eq!(status, model.err().unwrap_or(COFFER_OK));
            }
        }
    }
});

/// An AES-256 KEK for the envelope calls.
const KEK: [u8; 32] = [0x42; 32];

/// The input as the function sees it: NULL with a length is refused.
fn seen<T>(data: &[T], how: In) -> Model<&[T]> {
    match how {
        In::Valid => Ok(data),
        In::Empty => Ok(&[]),
        In::Null(_) => Err(COFFER_ERR_NULL_POINTER),
    }
}

/// The pointer and length passed for `data`.
fn ptr<T>(data: &[T], how: In) -> (*const T, usize) {
    match how {
        In::Valid => (data.as_ptr(), data.len()),
        In::Empty => (null(), 0),
        In::Null(n) => (null(), usize::from(n) + 1),
    }
}

/// The first check of a function with an in/out buffer (`capacity_of`).
fn out_ok(out: Out) -> Model<()> {
    match out {
        Out::Null | Out::NoLength => Err(COFFER_ERR_NULL_POINTER),
        Out::Ask | Out::Cap(_) | Out::Exact => Ok(()),
    }
}

/// Calls `f` with the buffer shape `out` and checks the status and output
/// against `model` (the output coffer-core gives, or the status expected
/// before any output). Returns the output on success.
fn into_buffer(
    out: Out,
    model: &Model<Vec<u8>>,
    f: impl FnOnce(*mut u8, *mut usize) -> coffer_status,
) -> Option<Vec<u8>> {
    let needed = model.as_ref().map_or(0, Vec::len);
    let cap = match out {
        Out::Null => 7,
        Out::NoLength | Out::Ask => 0,
        Out::Cap(n) => usize::from(n),
        Out::Exact => needed,
    };
    let mut buf = vec![0xa5u8; cap];
    let mut len = cap;
    let buf_ptr = if matches!(out, Out::Null | Out::Ask) { null_mut() } else { buf.as_mut_ptr() };
    let len_ptr = if matches!(out, Out::NoLength) { null_mut() } else { &mut len as *mut usize };
    let status = f(buf_ptr, len_ptr);
    match model {
        Err(expected) => {
            assert_eq!(status, *expected);
            assert!(buf.iter().all(|b| *b == 0xa5), "nothing is written on failure");
            None
        }
        Ok(_) if cap < needed => {
            assert_eq!(status, COFFER_ERR_BUFFER_TOO_SMALL);
            assert_eq!(len, needed, "the needed size is written back");
            assert!(buf.iter().all(|b| *b == 0xa5), "nothing but the size is written");
            None
        }
        Ok(_) => {
            assert_eq!(status, COFFER_OK);
            assert_eq!(len, needed);
            buf.truncate(needed);
            Some(buf)
        }
    }
}

fn context_of(pairs: &[(Vec<u8>, Vec<u8>)]) -> Model<EncryptionContext<'_>> {
    let mut ctx = EncryptionContext::new();
    for (k, v) in pairs {
        ctx.insert(k, v)?;
    }
    Ok(ctx)
}

fn kvs(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<coffer_kv> {
    pairs
        .iter()
        .map(|(k, v)| coffer_kv { key: k.as_ptr(), key_len: k.len(), value: v.as_ptr(), value_len: v.len() })
        .collect()
}

/// The shared webhook secret as coffer-ffi reads it: 16..=1024 bytes.
fn webhook_key(secret: &[u8]) -> Model<HmacSha256Key> {
    if !(16..=1024).contains(&secret.len()) {
        return Err(COFFER_ERR_INVALID_KEY);
    }
    Ok(HmacSha256Key::new(secret)?)
}

/// Library-allocated bytes, freed on drop.
struct Bytes(coffer_bytes);

impl Bytes {
    fn new() -> Self {
        Bytes(coffer_bytes { data: null_mut(), len: 0 })
    }

    fn out(&mut self) -> *mut coffer_bytes {
        &mut self.0
    }

    fn to_vec(&self) -> Vec<u8> {
        if self.0.data.is_null() {
            return Vec::new();
        }
        // SAFETY: coffer wrote `len` bytes at `data` (ffi boundary.rs
        // `bytes_out`), and they live until `coffer_bytes_free` in the drop.
        unsafe { std::slice::from_raw_parts(self.0.data, self.0.len) }.to_vec()
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        coffer_bytes_free(&mut self.0);
    }
}
