//! Golden and negative vectors for the envelope v1 format (core/FORMAT.md).
//!
//! The golden envelopes in `vectors/data/envelope_v1/golden.json` were made
//! once by `vectors/examples/make_envelope_golden.rs` and are never
//! regenerated: each must still open, with all its keys and with each key
//! alone, to its plaintext byte for byte, and its header must parse to the
//! recorded recipients, chunk size and context.
//!
//! Negative vectors are derived from every golden envelope here, at test
//! time: truncations, one flipped byte per header field and payload region,
//! reordered and appended chunks, a wrong context and wrong keys. Each must
//! fail with exactly `Err(Error::Decrypt)` from `envelope::open` (and from
//! `open_stream`, as `StreamError::Envelope(Error::Decrypt)`). The offsets of
//! the fields are found by this file's own parser of FORMAT.md §1, not by
//! coffer's code, so the runner also checks that the implementation writes
//! what the spec says.
//!
//! A check that does not apply to an envelope (no chunk to swap in a
//! one-chunk payload, no context pair to change in an empty context) is
//! counted as skipped with its reason, never dropped silently.
//!
//! The golden file itself is pinned: its SHA-256 and its 17 names in order
//! (`coffer_vectors::ENVELOPE_V1_GOLDEN_SHA256` and `_NAMES`), and every
//! suite's counts (`PINS`), so deleting or regenerating entries fails.
//! `envelope_golden_independent.rs` opens the same goldens with a reader
//! written in Python from FORMAT.md alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::ops::Range;
use std::path::Path;

use coffer_core::Error;
use coffer_core::aead::{Aes256GcmSivKey, Nonce};
use coffer_core::envelope::{
    self, EncryptionContext, HeaderRef, Limits, RecipientKind, StreamError, UnlockKey,
};
use coffer_core::hash::sha256;
use coffer_core::kdf::{Prk, hkdf_sha256};
use coffer_core::keywrap::Kek;
use coffer_core::p256::{P256PublicKey, P256SecretKey};
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaPrivateKey;
use coffer_vectors::{ENVELOPE_V1_GOLDEN_NAMES, ENVELOPE_V1_GOLDEN_SHA256, Pin, Tally, finish, unhex};
use serde::Deserialize;

/// The golden file, relative to this crate.
const GOLDEN: &str = "data/envelope_v1/golden.json";
/// The "wrong" RSA key for RSA recipients, relative to the repository root.
const RSA3072_FIXTURE: &str = "core/tests/data/rsa3072.pkcs8.der";
/// AES-256-GCM-SIV tag length (FORMAT.md §3.1).
const TAG: usize = 16;

// ---------------------------------------------------------------------------
// The data file.

#[derive(Deserialize)]
struct GoldenFile {
    envelopes: Vec<VectorJson>,
}

#[derive(Deserialize)]
struct PairJson {
    key: String,
    value: String,
}

#[derive(Deserialize)]
struct RecipientJson {
    kind: String,
    key_id: String,
    version: u32,
    secret: String,
}

#[derive(Deserialize)]
struct VectorJson {
    name: String,
    chunk_size: u32,
    context: Vec<PairJson>,
    recipients: Vec<RecipientJson>,
    #[serde(default)]
    derived_from: Option<String>,
    #[serde(default)]
    no_longer_recipients: Vec<RecipientJson>,
    plaintext: String,
    envelope: String,
}

enum Secret {
    Kek(Kek),
    Rsa(Box<RsaPrivateKey>),
    P256(P256SecretKey),
}

/// A key that should open (or, for a former recipient, no longer opens) an envelope.
struct Key {
    kind: RecipientKind,
    key_id: Vec<u8>,
    version: u32,
    secret: Secret,
}

impl Key {
    fn from_json(r: &RecipientJson) -> Result<Key, String> {
        let secret_bytes = unhex("secret", &r.secret);
        let (kind, secret) = match r.kind.as_str() {
            "aes256kw" => {
                if secret_bytes.len() != 32 {
                    return Err(format!("KEK of {} bytes, not 32", secret_bytes.len()));
                }
                let kek = Kek::from_slice(&secret_bytes).map_err(|e| format!("KEK: {e:?}"))?;
                (RecipientKind::Aes256Kw, Secret::Kek(kek))
            }
            "rsa-oaep-sha256" => {
                let key =
                    RsaPrivateKey::from_pkcs8_der(&secret_bytes).map_err(|e| format!("RSA key: {e:?}"))?;
                (RecipientKind::RsaOaep, Secret::Rsa(Box::new(key)))
            }
            "p256-ecdh-es" => {
                let key =
                    P256SecretKey::from_pkcs8_der(&secret_bytes).map_err(|e| format!("P-256 key: {e:?}"))?;
                (RecipientKind::P256EcdhEs, Secret::P256(key))
            }
            other => return Err(format!("unknown recipient kind {other:?}")),
        };
        Ok(Key { kind, key_id: unhex("key_id", &r.key_id), version: r.version, secret })
    }

    fn unlock(&self) -> UnlockKey<'_> {
        self.unlock_as(&self.key_id, self.version)
    }

    /// This key's material under another id or version.
    fn unlock_as<'a>(&'a self, key_id: &'a [u8], version: u32) -> UnlockKey<'a> {
        match &self.secret {
            Secret::Kek(kek) => UnlockKey::Kek { key_id, version, kek },
            Secret::Rsa(private_key) => UnlockKey::Rsa { key_id, version, private_key },
            Secret::P256(secret_key) => UnlockKey::P256 { key_id, version, secret_key },
        }
    }

    fn describe(&self) -> String {
        let kind = match self.kind {
            RecipientKind::Aes256Kw => "kek",
            RecipientKind::RsaOaep => "rsa",
            RecipientKind::P256EcdhEs => "p256",
            _ => "unknown kind",
        };
        format!("{kind} {} v{}", String::from_utf8_lossy(&self.key_id), self.version)
    }
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

struct Golden {
    name: String,
    chunk_size: u32,
    context: Pairs,
    keys: Vec<Key>,
    former: Vec<Key>,
    derived_from: Option<String>,
    plaintext: Vec<u8>,
    envelope: Vec<u8>,
}

fn load() -> Result<Vec<Golden>, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file: GoldenFile =
        serde_json::from_str(&text).map_err(|e| format!("cannot parse {}: {e}", path.display()))?;
    file.envelopes
        .iter()
        .map(|v| {
            let keys = v.recipients.iter().map(Key::from_json).collect::<Result<Vec<_>, _>>();
            let former = v.no_longer_recipients.iter().map(Key::from_json).collect::<Result<Vec<_>, _>>();
            Ok(Golden {
                name: v.name.clone(),
                chunk_size: v.chunk_size,
                context: v
                    .context
                    .iter()
                    .map(|p| (unhex("context key", &p.key), unhex("context value", &p.value)))
                    .collect(),
                keys: keys.map_err(|e| format!("{}: {e}", v.name))?,
                former: former.map_err(|e| format!("{}: {e}", v.name))?,
                derived_from: v.derived_from.clone(),
                plaintext: unhex("plaintext", &v.plaintext),
                envelope: unhex("envelope", &v.envelope),
            })
        })
        .collect()
}

fn context(pairs: &Pairs) -> EncryptionContext<'_> {
    let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, v)| (&k[..], &v[..])).collect();
    EncryptionContext::from_pairs(&refs).expect("a context within the limits")
}

// ---------------------------------------------------------------------------
// FORMAT.md §1, parsed independently of coffer's own parser.

struct EntryLayout {
    key: Range<usize>,
    value_len: Range<usize>,
    value: Range<usize>,
}

struct RecordLayout {
    kind: usize,
    key_id: Range<usize>,
    version: Range<usize>,
    body_len: Range<usize>,
    body: Range<usize>,
}

struct Layout {
    header_len: usize,
    chunk_size: u32,
    /// Offset of the 4-byte chunk_size field.
    chunk_size_at: Range<usize>,
    salt: Range<usize>,
    commitment: Range<usize>,
    /// The bound section (§1.2): chunk_size through the last context entry.
    bound: Range<usize>,
    context_count: usize,
    context: Vec<EntryLayout>,
    recipient_count: usize,
    recipients: Vec<RecordLayout>,
    /// Sealed chunks (ciphertext || tag), in order.
    chunks: Vec<Range<usize>>,
}

impl Layout {
    fn context_pairs(&self, bytes: &[u8]) -> Pairs {
        self.context
            .iter()
            .map(|e| (bytes[e.key.clone()].to_vec(), bytes[e.value.clone()].to_vec()))
            .collect()
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<Range<usize>, String> {
        if self.end - self.pos < n {
            return Err(format!(
                "{what}: {n} bytes needed at offset {}, header ends at {}",
                self.pos, self.end
            ));
        }
        self.pos += n;
        Ok(self.pos - n..self.pos)
    }

    fn uint(&mut self, n: usize, what: &str) -> Result<(Range<usize>, u64), String> {
        let r = self.take(n, what)?;
        Ok((r.clone(), self.bytes[r].iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b))))
    }
}

/// Parses an envelope by FORMAT.md §1 (with the limits of §1.2–§1.4 and §5)
/// and cuts its payload into chunks by §3.1.
fn parse_layout(bytes: &[u8]) -> Result<Layout, String> {
    if bytes.len() < 10 {
        return Err("shorter than the 10-byte prefix".into());
    }
    if bytes[0..4] != *b"CFRE" || bytes[4] != 1 || bytes[5] != 1 {
        return Err("magic, version or suite is not CFRE 01 01".into());
    }
    let header_len = u32::from_be_bytes(bytes[6..10].try_into().unwrap()) as usize;
    if !(10..=65536).contains(&header_len) || header_len > bytes.len() {
        return Err(format!("header_len {header_len} out of range for {} bytes", bytes.len()));
    }
    let mut c = Cursor { bytes, pos: 10, end: header_len };
    let (chunk_size_at, chunk_size) = c.uint(4, "chunk_size")?;
    if !(256..=1_048_576).contains(&chunk_size) {
        return Err(format!("chunk_size {chunk_size} out of range"));
    }
    let salt = c.take(32, "salt")?;
    let commitment = c.take(32, "commitment")?;
    let context_count = c.uint(1, "context_count")?.1 as usize;
    if context_count > 16 {
        return Err(format!("{context_count} context entries"));
    }
    let mut context: Vec<EntryLayout> = Vec::new();
    for _ in 0..context_count {
        let key_len = c.uint(1, "context key_len")?.1 as usize;
        if !(1..=64).contains(&key_len) {
            return Err(format!("context key of {key_len} bytes"));
        }
        let key = c.take(key_len, "context key")?;
        let (value_len, n) = c.uint(2, "context value_len")?;
        if n > 1024 {
            return Err(format!("context value of {n} bytes"));
        }
        let value = c.take(n as usize, "context value")?;
        if let Some(prev) = context.last()
            && bytes[prev.key.clone()] >= bytes[key.clone()]
        {
            return Err("context keys not in strictly ascending order".into());
        }
        context.push(EntryLayout { key, value_len, value });
    }
    let bound = chunk_size_at.start..c.pos;
    let recipient_count = c.uint(1, "recipient_count")?.1 as usize;
    if !(1..=16).contains(&recipient_count) {
        return Err(format!("{recipient_count} recipients"));
    }
    let mut recipients = Vec::new();
    for _ in 0..recipient_count {
        let (kind_at, kind) = c.uint(1, "recipient kind")?;
        let id_len = c.uint(1, "key_id_len")?.1 as usize;
        if !(1..=64).contains(&id_len) {
            return Err(format!("key id of {id_len} bytes"));
        }
        let key_id = c.take(id_len, "key_id")?;
        let version = c.uint(4, "key_version")?.0;
        let (body_len, n) = c.uint(2, "body_len")?;
        let ok = match kind {
            1 => n == 40,
            2 => (256..=512).contains(&n),
            3 => n == 105,
            _ => return Err(format!("unknown recipient kind {kind}")),
        };
        if !ok {
            return Err(format!("body of {n} bytes for kind {kind}"));
        }
        let body = c.take(n as usize, "body")?;
        recipients.push(RecordLayout { kind: kind_at.start, key_id, version, body_len, body });
    }
    if c.pos != header_len {
        return Err(format!("header_len {header_len} but the header ends at {}", c.pos));
    }
    let sealed = chunk_size as usize + TAG;
    let mut chunks = Vec::new();
    let mut at = header_len;
    loop {
        let rest = bytes.len() - at;
        if rest > sealed {
            chunks.push(at..at + sealed);
            at += sealed;
        } else {
            if rest < TAG {
                return Err(format!("final chunk of {rest} bytes is shorter than a tag"));
            }
            chunks.push(at..bytes.len());
            break;
        }
    }
    Ok(Layout {
        header_len,
        chunk_size: chunk_size as u32,
        chunk_size_at,
        salt,
        commitment,
        bound,
        context_count,
        context,
        recipient_count,
        recipients,
        chunks,
    })
}

// ---------------------------------------------------------------------------
// Bookkeeping.

fn record(t: &mut Tally, label: String, outcome: Result<(), String>) {
    match outcome {
        Ok(()) => t.passed += 1,
        Err(why) => {
            t.failed += 1;
            if t.failures.len() < 200 {
                t.failures.push(format!("{label}: {why}"));
            }
        }
    }
}

fn same_plaintext(got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        let first = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
        Err(format!(
            "plaintext differs: {} bytes, expected {}, first difference at {first}",
            got.len(),
            want.len()
        ))
    }
}

fn open_ok(g: &Golden, keys: &[UnlockKey<'_>]) -> Result<(), String> {
    let pt = envelope::open(&mut OsRng, keys, &context(&g.context), &g.envelope)
        .map_err(|e| format!("expected the plaintext, got Err({e:?})"))?;
    same_plaintext(&pt, &g.plaintext)
}

fn stream_ok(g: &Golden, keys: &[UnlockKey<'_>]) -> Result<(), String> {
    let mut out = Vec::new();
    let n = envelope::open_stream(
        &mut OsRng,
        keys,
        &context(&g.context),
        &Limits::DEFAULT,
        &g.envelope[..],
        &mut out,
    )
    .map_err(|e| format!("expected the plaintext, got Err({e:?})"))?;
    if n != g.plaintext.len() as u64 {
        return Err(format!("open_stream reported {n} bytes, expected {}", g.plaintext.len()));
    }
    same_plaintext(&out, &g.plaintext)
}

/// `envelope::open` must give exactly `Err(Error::Decrypt)`.
fn open_is_decrypt_error(
    keys: &[UnlockKey<'_>],
    ctx: &EncryptionContext<'_>,
    bytes: &[u8],
) -> Result<(), String> {
    match envelope::open(&mut OsRng, keys, ctx, bytes) {
        Err(Error::Decrypt) => Ok(()),
        Err(e) => Err(format!("expected Err(Decrypt), got Err({e:?})")),
        Ok(pt) => Err(format!("expected Err(Decrypt), but it OPENED to {} bytes", pt.len())),
    }
}

/// `envelope::open_stream` must give exactly `Err(StreamError::Envelope(Error::Decrypt))`.
fn stream_is_decrypt_error(
    keys: &[UnlockKey<'_>],
    ctx: &EncryptionContext<'_>,
    bytes: &[u8],
) -> Result<(), String> {
    let mut out = Vec::new();
    match envelope::open_stream(&mut OsRng, keys, ctx, &Limits::DEFAULT, bytes, &mut out) {
        Err(StreamError::Envelope(Error::Decrypt)) => Ok(()),
        Err(e) => Err(format!("expected Err(Envelope(Decrypt)), got Err({e:?})")),
        Ok(n) => Err(format!("expected Err(Envelope(Decrypt)), but it OPENED to {n} bytes")),
    }
}

// ---------------------------------------------------------------------------
// The suites.

struct Tallies {
    file: Tally,
    open: Tally,
    header: Tally,
    stream: Tally,
    spec: Tally,
    truncated: Tally,
    flipped: Tally,
    reordered: Tally,
    appended: Tally,
    wrong_context: Tally,
    wrong_key: Tally,
    former: Tally,
    stream_truncated: Tally,
    stream_other: Tally,
}

impl Tallies {
    fn new() -> Self {
        Tallies {
            file: Tally::new("envelope_v1 golden file: pinned SHA-256 and names"),
            open: Tally::new("envelope_v1 golden: open with all keys and with each key"),
            header: Tally::new("envelope_v1 golden: header (HeaderRef and FORMAT.md §1 layout)"),
            stream: Tally::new("envelope_v1 golden: open_stream"),
            spec: Tally::new("envelope_v1 golden: decrypted by FORMAT.md §1.4-§3 from primitives"),
            truncated: Tally::new("envelope_v1 negative: truncated"),
            flipped: Tally::new("envelope_v1 negative: one byte flipped"),
            reordered: Tally::new("envelope_v1 negative: chunks reordered"),
            appended: Tally::new("envelope_v1 negative: bytes appended"),
            wrong_context: Tally::new("envelope_v1 negative: wrong context"),
            wrong_key: Tally::new("envelope_v1 negative: wrong key"),
            former: Tally::new("envelope_v1 negative: key of a former recipient"),
            stream_truncated: Tally::new("envelope_v1 negative: open_stream on truncated"),
            stream_other: Tally::new("envelope_v1 negative: open_stream on every other negative"),
        }
    }

    fn into_vec(self) -> Vec<Tally> {
        vec![
            self.file,
            self.open,
            self.header,
            self.stream,
            self.spec,
            self.truncated,
            self.flipped,
            self.reordered,
            self.appended,
            self.wrong_context,
            self.wrong_key,
            self.former,
            self.stream_truncated,
            self.stream_other,
        ]
    }
}

fn golden_checks(t: &mut Tallies, g: &Golden, all: &[Golden], rsa3072: &Result<Vec<u8>, String>) {
    let keys: Vec<UnlockKey<'_>> = g.keys.iter().map(Key::unlock).collect();
    record(&mut t.open, format!("{}: open with all keys", g.name), open_ok(g, &keys));
    record(&mut t.stream, format!("{}: open_stream with all keys", g.name), stream_ok(g, &keys));
    for (i, k) in g.keys.iter().enumerate() {
        let label = format!("{}: recipient {i} ({})", g.name, k.describe());
        record(&mut t.open, format!("{label}: open with this key alone"), open_ok(g, &[k.unlock()]));
        record(
            &mut t.stream,
            format!("{label}: open_stream with this key alone"),
            stream_ok(g, &[k.unlock()]),
        );
    }

    let hdr = &mut t.header;
    let parsed = HeaderRef::parse(&g.envelope);
    let layout = parse_layout(&g.envelope);
    record(
        hdr,
        format!("{}: HeaderRef::parse accepts it", g.name),
        parsed.as_ref().map(|_| ()).map_err(|e| format!("Err({e:?})")),
    );
    record(
        hdr,
        format!("{}: it parses by FORMAT.md §1 (runner's own parser)", g.name),
        layout.as_ref().map(|_| ()).map_err(Clone::clone),
    );
    let (Ok(h), Ok(l)) = (parsed, layout) else { return };
    record(
        hdr,
        format!("{}: HeaderRef recipient count", g.name),
        eq(h.recipient_count(), g.keys.len(), "recipients").and(eq(
            l.recipient_count,
            g.keys.len(),
            "recipients by FORMAT.md",
        )),
    );
    record(
        hdr,
        format!("{}: HeaderRef chunk size", g.name),
        eq(h.chunk_size(), g.chunk_size, "chunk size").and(eq(
            l.chunk_size,
            g.chunk_size,
            "chunk size by FORMAT.md",
        )),
    );
    record(
        hdr,
        format!("{}: HeaderRef context", g.name),
        if h.context() == &context(&g.context) { Ok(()) } else { Err(format!("{:?}", h.context())) },
    );
    let mut canonical = g.context.clone();
    canonical.sort();
    record(
        hdr,
        format!("{}: context entries on the wire in canonical order", g.name),
        eq(l.context_count, canonical.len(), "context_count").and(
            if l.context_pairs(&g.envelope) == canonical { Ok(()) } else { Err("entries differ".into()) },
        ),
    );
    record(
        hdr,
        format!("{}: header length (HeaderRef and header_len field)", g.name),
        eq(h.as_bytes().len(), l.header_len, "header length"),
    );
    let want: Vec<(u8, Vec<u8>, u32)> =
        g.keys.iter().map(|k| (k.kind.code(), k.key_id.clone(), k.version)).collect();
    let from_ref: Vec<(u8, Vec<u8>, u32)> =
        h.recipients().map(|r| (r.kind.code(), r.key_id.to_vec(), r.key_version)).collect();
    let from_layout: Vec<(u8, Vec<u8>, u32)> = l
        .recipients
        .iter()
        .map(|r| {
            let v = u32::from_be_bytes(g.envelope[r.version.clone()].try_into().unwrap());
            (g.envelope[r.kind], g.envelope[r.key_id.clone()].to_vec(), v)
        })
        .collect();
    let bodies_agree = h.recipients().zip(&l.recipients).all(|(a, b)| a.body == &g.envelope[b.body.clone()]);
    record(
        hdr,
        format!("{}: recipients (kind, key id, version, body) in order", g.name),
        if from_ref != want {
            Err(format!("HeaderRef gives {from_ref:?}, expected {want:?}"))
        } else if from_layout != want {
            Err(format!("FORMAT.md parse gives {from_layout:?}, expected {want:?}"))
        } else if !bodies_agree {
            Err("recipient bodies differ between HeaderRef and FORMAT.md parse".into())
        } else {
            Ok(())
        },
    );
    // §3.1: n = max(1, ceil(len / chunk_size)) chunks, all but the last full.
    let cs = g.chunk_size as usize;
    let n = g.plaintext.len().div_ceil(cs).max(1);
    let want_lens: Vec<usize> =
        (0..n).map(|i| if i + 1 < n { cs + TAG } else { g.plaintext.len() - (n - 1) * cs + TAG }).collect();
    let got_lens: Vec<usize> = l.chunks.iter().map(ExactSizeIterator::len).collect();
    record(
        hdr,
        format!("{}: payload is {n} chunk(s) by FORMAT.md §3.1", g.name),
        if got_lens == want_lens {
            Ok(())
        } else {
            Err(format!("chunk lengths {got_lens:?}, expected {want_lens:?}"))
        },
    );
    for (i, k) in g.keys.iter().enumerate() {
        record(
            &mut t.spec,
            format!(
                "{}: recipient {i} ({}): DEK, commitment, AAD, nonces and chunks as specified",
                g.name,
                k.describe()
            ),
            spec_open(g, &l, i).and_then(|pt| same_plaintext(&pt, &g.plaintext)),
        );
    }
    if let Some(src) = &g.derived_from {
        let outcome = match all.iter().find(|s| &s.name == src) {
            None => Err(format!("derived_from names {src:?}, which is not in the file")),
            Some(s) => match parse_layout(&s.envelope) {
                Err(e) => Err(format!("{src} does not parse: {e}")),
                Ok(sl) => {
                    if s.envelope[sl.bound.clone()] != g.envelope[l.bound.clone()] {
                        Err("bound section differs from the source envelope".into())
                    } else if s.envelope[sl.header_len..] != g.envelope[l.header_len..] {
                        Err("payload differs from the source envelope".into())
                    } else {
                        Ok(())
                    }
                }
            },
        };
        record(hdr, format!("{}: bound section and payload unchanged from {src}", g.name), outcome);
    }
    negative_checks(t, g, &l, rsa3072);
}

/// Opens a golden envelope the way FORMAT.md describes it, from coffer's
/// primitives (themselves checked by the RFC and Wycheproof runners) and
/// this file's own header parse, without `coffer_core::envelope`: unwraps the
/// DEK from recipient `i` (§1.4), derives the payload key and checks the
/// commitment (§2), then opens every chunk with the §3.2 nonce and AAD.
fn spec_open(g: &Golden, l: &Layout, i: usize) -> Result<Vec<u8>, String> {
    let env = &g.envelope;
    let body = &env[l.recipients[i].body.clone()];
    let dek = match &g.keys[i].secret {
        Secret::Kek(kek) => kek.unwrap_to_vec(body).map_err(|e| format!("AES-KW unwrap: {e:?}"))?,
        Secret::Rsa(key) => key.oaep_decrypt(&mut OsRng, body).map_err(|e| format!("RSA-OAEP: {e:?}"))?,
        Secret::P256(sk) => {
            let (epk, wrapped) = body.split_at(65);
            let peer = P256PublicKey::from_sec1_bytes(epk).map_err(|e| format!("epk: {e:?}"))?;
            let z = sk.diffie_hellman(&peer);
            let mut salt = epk.to_vec();
            salt.extend_from_slice(&sk.public_key().to_uncompressed());
            let mut kek = [0u8; 32];
            hkdf_sha256(Some(&salt), z.as_bytes(), b"coffer/v1 ecdh-es a256kw", &mut kek).unwrap();
            let kek = Kek::from_slice(&kek).unwrap();
            kek.unwrap_to_vec(wrapped).map_err(|e| format!("ECDH-ES AES-KW unwrap: {e:?}"))?
        }
    };
    if dek.len() != 32 {
        return Err(format!("DEK of {} bytes", dek.len()));
    }
    let prk = Prk::extract(Some(&env[l.salt.clone()]), &dek);
    let mut payload_key = [0u8; 32];
    prk.expand(b"coffer/v1 payload key", &mut payload_key).unwrap();
    let mut commitment = [0u8; 32];
    prk.expand(b"coffer/v1 key commitment", &mut commitment).unwrap();
    if commitment[..] != env[l.commitment.clone()] {
        return Err("the header's commitment is not HKDF-Expand(PRK, \"coffer/v1 key commitment\")".into());
    }
    let mut aad_input = env[0..6].to_vec();
    aad_input.extend_from_slice(&env[l.bound.clone()]);
    let aad = sha256(&aad_input);
    let key = Aes256GcmSivKey::from_bytes(payload_key);
    let mut plaintext = Vec::new();
    for (n, chunk) in l.chunks.iter().enumerate() {
        let mut nonce = [0u8; 12];
        nonce[7..11].copy_from_slice(&(n as u32).to_be_bytes());
        nonce[11] = u8::from(n + 1 == l.chunks.len());
        let pt = key
            .open(&Nonce::from_bytes(nonce), &aad, &env[chunk.clone()])
            .map_err(|e| format!("chunk {n}: {e:?}"))?;
        plaintext.extend_from_slice(&pt);
    }
    Ok(plaintext)
}

fn eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> Result<(), String> {
    if got == want { Ok(()) } else { Err(format!("{what}: got {got:?}, expected {want:?}")) }
}

/// Which keys a byte-level negative is opened with.
#[derive(Clone, Copy)]
enum Using {
    /// All of the envelope's keys: nothing may open it.
    AllKeys,
    /// Only recipient `i`'s key, for a change to recipient `i`'s record (the
    /// other recipients could still open the envelope, rightly).
    Recipient(usize),
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 0x01;
    b
}

fn negative_checks(t: &mut Tallies, g: &Golden, l: &Layout, rsa3072: &Result<Vec<u8>, String>) {
    let env = &g.envelope;
    let ctx = context(&g.context);
    let all: Vec<UnlockKey<'_>> = g.keys.iter().map(Key::unlock).collect();
    let n = l.chunks.len();
    let last = l.chunks[n - 1].clone();

    // Truncated.
    let mut cuts: Vec<(usize, String)> = vec![
        (0, "to nothing".into()),
        (4, "inside the prefix (after the magic)".into()),
        (8, "inside the prefix (inside header_len)".into()),
        (10, "after the prefix".into()),
        (l.salt.start + 16, "inside the salt".into()),
        (l.bound.end, "after the bound section (no recipient count)".into()),
        (l.recipients[0].body.start + 4, "inside the first recipient's body".into()),
        (l.header_len - 1, "one byte short of the header".into()),
        (l.header_len, "at the header/payload boundary".into()),
    ];
    for (i, c) in l.chunks.iter().enumerate().take(n - 1) {
        cuts.push((c.end, format!("at the chunk boundary after chunk {i} of {n}")));
    }
    cuts.push((last.end - TAG, "without the final chunk's tag".into()));
    cuts.push((env.len() - 1, "one byte short of the end".into()));
    let mut seen = std::collections::BTreeSet::new();
    for (at, what) in cuts {
        if !seen.insert(at) {
            continue; // the same cut already under another name (e.g. empty payload)
        }
        let label = format!("{}: truncated to {at} of {} bytes, {what}", g.name, env.len());
        record(&mut t.truncated, label.clone(), open_is_decrypt_error(&all, &ctx, &env[..at]));
        record(&mut t.stream_truncated, label, stream_is_decrypt_error(&all, &ctx, &env[..at]));
    }

    // One byte flipped (XOR 01) in each field and region.
    let mut flips: Vec<(usize, String, Using)> = vec![
        (0, "magic".into(), Using::AllKeys),
        (4, "version".into(), Using::AllKeys),
        (5, "suite".into(), Using::AllKeys),
        (6, "header_len (high byte)".into(), Using::AllKeys),
        (9, "header_len (low byte)".into(), Using::AllKeys),
        (l.chunk_size_at.end - 1, "chunk_size (low byte, still a valid size)".into(), Using::AllKeys),
        (l.salt.start + 16, "salt".into(), Using::AllKeys),
        (l.commitment.start + 16, "commitment".into(), Using::AllKeys),
        (l.salt.start + 64, "context_count".into(), Using::AllKeys),
        (l.bound.end, "recipient_count".into(), Using::AllKeys),
    ];
    for (i, e) in l.context.iter().enumerate() {
        flips.push((e.key.end - 1, format!("context entry {i} key"), Using::AllKeys));
        if e.value.is_empty() {
            flips.push((
                e.value_len.end - 1,
                format!("context entry {i} value_len (empty value)"),
                Using::AllKeys,
            ));
        } else {
            flips.push((e.value.end - 1, format!("context entry {i} value"), Using::AllKeys));
        }
    }
    if l.context.is_empty() {
        t.flipped.skip(0, "empty context: no context key or value to flip");
    }
    for (i, r) in l.recipients.iter().enumerate() {
        let who = format!("recipient {i} ({})", g.keys[i].describe());
        let u = Using::Recipient(i);
        flips.push((r.kind, format!("{who} kind"), u));
        flips.push((r.key_id.end - 1, format!("{who} key id"), u));
        flips.push((r.version.end - 1, format!("{who} key version"), u));
        flips.push((r.body_len.end - 1, format!("{who} body_len"), u));
        flips.push((r.body.start, format!("{who} body (first byte)"), u));
        flips.push((r.body.start + r.body.len() / 2, format!("{who} body (middle byte)"), u));
        flips.push((r.body.end - 1, format!("{who} body (last byte)"), u));
    }
    let first = l.chunks[0].clone();
    if first.len() > TAG {
        flips.push((first.start, "first chunk ciphertext".into(), Using::AllKeys));
    } else {
        t.flipped.skip(0, "empty payload: no ciphertext byte in the first chunk");
    }
    flips.push((first.end - TAG, "first chunk tag (first byte)".into(), Using::AllKeys));
    if n > 1 && last.len() > TAG {
        flips.push((last.start, "last chunk ciphertext".into(), Using::AllKeys));
    }
    flips.push((last.end - 1, "last chunk tag (last byte)".into(), Using::AllKeys));
    for (at, what, using) in flips {
        let bytes = flip(env, at);
        let keys: Vec<UnlockKey<'_>> = match using {
            Using::AllKeys => all.clone(),
            Using::Recipient(i) => vec![all[i]],
        };
        let with = match using {
            Using::AllKeys => "all keys".to_owned(),
            Using::Recipient(i) => format!("recipient {i}'s key only"),
        };
        let label = format!("{}: byte {at} flipped ({what}), opened with {with}", g.name);
        record(&mut t.flipped, label.clone(), open_is_decrypt_error(&keys, &ctx, &bytes));
        record(&mut t.stream_other, label, stream_is_decrypt_error(&keys, &ctx, &bytes));
    }

    // Chunks reordered.
    let payload = |order: &[usize]| -> Vec<u8> {
        let mut b = env[..l.header_len].to_vec();
        for &i in order {
            b.extend_from_slice(&env[l.chunks[i].clone()]);
        }
        b
    };
    let mut reorders: Vec<(Vec<usize>, String)> = Vec::new();
    if n >= 2 {
        let mut order: Vec<usize> = (0..n).collect();
        order.swap(0, 1);
        reorders.push((order, "first two chunks swapped".into()));
        let mut order: Vec<usize> = (0..n).collect();
        order[1] = 0;
        reorders.push((order, "first chunk repeated in place of the second".into()));
    } else {
        t.reordered.skip(0, "one-chunk payload: no chunks to reorder");
    }
    if n >= 3 {
        let mut order: Vec<usize> = (0..n).collect();
        order.swap(n - 2, n - 1);
        reorders.push((order, "last two chunks swapped".into()));
    }
    for (order, what) in reorders {
        let bytes = payload(&order);
        let label = format!("{}: {what} (order {order:?})", g.name);
        record(&mut t.reordered, label.clone(), open_is_decrypt_error(&all, &ctx, &bytes));
        record(&mut t.stream_other, label, stream_is_decrypt_error(&all, &ctx, &bytes));
    }

    // Appended.
    let mut one_byte = env.clone();
    one_byte.push(0);
    let mut last_again = env.clone();
    last_again.extend_from_slice(&env[last.clone()]);
    let mut empty_final = env.clone();
    empty_final.extend_from_slice(&env[last.end - TAG..]);
    for (bytes, what) in [
        (one_byte, "one zero byte appended"),
        (last_again, "a copy of the final chunk appended"),
        (empty_final, "the final chunk's tag appended (looks like an empty chunk)"),
    ] {
        let label = format!("{}: {what}", g.name);
        record(&mut t.appended, label.clone(), open_is_decrypt_error(&all, &ctx, &bytes));
        record(&mut t.stream_other, label, stream_is_decrypt_error(&all, &ctx, &bytes));
    }

    // Wrong context.
    let mut contexts: Vec<(Pairs, String)> = Vec::new();
    if let Some((k, v)) = g.context.first() {
        let mut changed = g.context.clone();
        let mut value = v.clone();
        match value.last_mut() {
            Some(b) => *b ^= 0x01,
            None => value.push(b'x'),
        }
        changed[0].1 = value;
        contexts.push((changed, format!("value of {:?} changed", String::from_utf8_lossy(k))));
        contexts.push((g.context[1..].to_vec(), format!("pair {:?} removed", String::from_utf8_lossy(k))));
    } else {
        t.wrong_context.skip(0, "empty context: no value to change");
        t.wrong_context.skip(0, "empty context: no pair to remove");
    }
    let mut added = g.context.clone();
    added.push((b"zz-added-by-the-runner".to_vec(), b"1".to_vec()));
    contexts.push((added, "pair zz-added-by-the-runner=1 added".into()));
    for (pairs, what) in &contexts {
        let c = context(pairs);
        let label = format!("{}: context with {what}", g.name);
        record(&mut t.wrong_context, label.clone(), open_is_decrypt_error(&all, &c, env));
        record(&mut t.stream_other, label, stream_is_decrypt_error(&all, &c, env));
    }

    // Wrong keys, one recipient at a time.
    for (i, k) in g.keys.iter().enumerate() {
        let who = format!("{}: recipient {i} ({})", g.name, k.describe());
        let other: Result<Key, String> = match k.kind {
            RecipientKind::Aes256Kw => Ok(Secret::Kek(Kek::generate(&mut OsRng).unwrap())),
            RecipientKind::P256EcdhEs => Ok(Secret::P256(P256SecretKey::generate(&mut OsRng).unwrap())),
            RecipientKind::RsaOaep => rsa3072
                .as_ref()
                .map(|der| Secret::Rsa(Box::new(RsaPrivateKey::from_pkcs8_der(der).unwrap())))
                .map_err(Clone::clone),
            _ => Err("unknown kind".into()),
        }
        .map(|secret| Key { kind: k.kind, key_id: k.key_id.clone(), version: k.version, secret });
        let what = match k.kind {
            RecipientKind::Aes256Kw => "a fresh KEK",
            RecipientKind::P256EcdhEs => "a fresh P-256 key",
            _ => "the rsa3072 fixture key",
        };
        let label = format!("{who}: {what} with the same key id and version");
        match other {
            Ok(o) => {
                record(&mut t.wrong_key, label.clone(), open_is_decrypt_error(&[o.unlock()], &ctx, env));
                record(&mut t.stream_other, label, stream_is_decrypt_error(&[o.unlock()], &ctx, env));
            }
            Err(e) => record(&mut t.wrong_key, label, Err(e)),
        }
        let next = k.version.wrapping_add(1);
        let label = format!("{who}: the right key material under version {next}");
        let key = k.unlock_as(&k.key_id, next);
        record(&mut t.wrong_key, label.clone(), open_is_decrypt_error(&[key], &ctx, env));
        record(&mut t.stream_other, label, stream_is_decrypt_error(&[key], &ctx, env));
        let mut id = k.key_id.clone();
        *id.last_mut().unwrap() ^= 0x01;
        let label = format!("{who}: the right key material under key id {:?}", String::from_utf8_lossy(&id));
        let key = k.unlock_as(&id, k.version);
        record(&mut t.wrong_key, label.clone(), open_is_decrypt_error(&[key], &ctx, env));
        record(&mut t.stream_other, label, stream_is_decrypt_error(&[key], &ctx, env));
    }

    // Keys of recipients taken away by rewrap or remove_recipient.
    for k in &g.former {
        let label = format!("{}: former recipient {}", g.name, k.describe());
        record(&mut t.former, label.clone(), open_is_decrypt_error(&[k.unlock()], &ctx, env));
        record(&mut t.stream_other, label, stream_is_decrypt_error(&[k.unlock()], &ctx, env));
    }
}

fn load_rsa3072() -> Result<Vec<u8>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let path = root.join(RSA3072_FIXTURE);
    std::fs::read(&path).map_err(|e| format!("the wrong-key fixture {} is missing: {e}", path.display()))
}

/// Each suite's counts: a golden deleted or added, or a check that stops
/// applying (moving from passed to skipped), shows here.
const PINS: &[Pin] = &[
    Pin { suite: "envelope_v1 golden file: pinned SHA-256 and names", passed: 2, failed: 0, skipped: 0 },
    Pin {
        suite: "envelope_v1 golden: open with all keys and with each key",
        passed: 38,
        failed: 0,
        skipped: 0,
    },
    Pin {
        suite: "envelope_v1 golden: header (HeaderRef and FORMAT.md §1 layout)",
        passed: 155,
        failed: 0,
        skipped: 0,
    },
    Pin { suite: "envelope_v1 golden: open_stream", passed: 38, failed: 0, skipped: 0 },
    Pin {
        suite: "envelope_v1 golden: decrypted by FORMAT.md §1.4-§3 from primitives",
        passed: 21,
        failed: 0,
        skipped: 0,
    },
    Pin { suite: "envelope_v1 negative: truncated", passed: 200, failed: 0, skipped: 0 },
    Pin { suite: "envelope_v1 negative: one byte flipped", passed: 417, failed: 0, skipped: 2 },
    Pin { suite: "envelope_v1 negative: chunks reordered", passed: 21, failed: 0, skipped: 9 },
    Pin { suite: "envelope_v1 negative: bytes appended", passed: 51, failed: 0, skipped: 0 },
    Pin { suite: "envelope_v1 negative: wrong context", passed: 49, failed: 0, skipped: 2 },
    Pin { suite: "envelope_v1 negative: wrong key", passed: 63, failed: 0, skipped: 0 },
    Pin { suite: "envelope_v1 negative: key of a former recipient", passed: 2, failed: 0, skipped: 0 },
    Pin { suite: "envelope_v1 negative: open_stream on truncated", passed: 200, failed: 0, skipped: 0 },
    Pin {
        suite: "envelope_v1 negative: open_stream on every other negative",
        passed: 603,
        failed: 0,
        skipped: 0,
    },
];

/// The golden file's bytes against [`ENVELOPE_V1_GOLDEN_SHA256`].
fn file_hash_is_pinned() -> Result<(), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let got = hex::encode(sha256(&bytes));
    eq(got.as_str(), ENVELOPE_V1_GOLDEN_SHA256, "SHA-256 of golden.json (regenerated or edited?)")
}

fn main() -> std::process::ExitCode {
    let mut t = Tallies::new();
    record(&mut t.file, GOLDEN.into(), file_hash_is_pinned());
    match load() {
        Ok(goldens) => {
            let names: Vec<&str> = goldens.iter().map(|g| g.name.as_str()).collect();
            record(
                &mut t.file,
                format!("{GOLDEN}: names"),
                eq(&names[..], &ENVELOPE_V1_GOLDEN_NAMES[..], "golden names in file order"),
            );
            let rsa3072 = load_rsa3072();
            for g in &goldens {
                golden_checks(&mut t, g, &goldens, &rsa3072);
            }
        }
        Err(e) => record(&mut t.open, "golden file".into(), Err(e)),
    }
    finish("envelope_golden", &t.into_vec(), PINS)
}
