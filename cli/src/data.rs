//! `coffer encrypt`, `decrypt`, `rewrap` and `inspect`: envelopes of files or
//! stdin/stdout, streaming one chunk at a time.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Seek, Write};
use std::path::{Path, PathBuf};

use coffer_core::cert::{Certificate, KeyPair, PublicKey};
use coffer_core::envelope::{
    self, EncryptionContext, HeaderRef, Limits, PREFIX_LEN, Recipient, RecipientKind, ScratchFile, UnlockKey,
};
use coffer_core::rng::OsRng;
use serde_json::json;

use crate::fail::{Fail, Result, exit};
use crate::store::Store;

/// Payloads at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_FROM: u64 = 64 * 1024 * 1024;

/// `--context k=v` pairs, owned.
pub struct Context(Vec<(String, String)>);

impl Context {
    pub fn parse(pairs: &[String]) -> Result<Context> {
        let mut out = Vec::new();
        for p in pairs {
            let (k, v) = p.split_once('=').ok_or_else(|| {
                Fail::usage(format!("bad --context `{p}`"))
                    .hint("write each entry as key=value, e.g. --context tenant=acme")
            })?;
            out.push((k.to_string(), v.to_string()));
        }
        Ok(Context(out))
    }

    pub fn get(&self) -> Result<EncryptionContext<'_>> {
        let mut c = EncryptionContext::new();
        for (k, v) in &self.0 {
            c.insert(k.as_bytes(), v.as_bytes()).map_err(|e| {
                Fail::usage(format!("context entry `{k}`: {e}")).hint("at most 16 entries, unique keys")
            })?;
        }
        Ok(c)
    }
}

/// A `--recipient`: `key:<id>` for a key in the keystore, or `[id=]file` for
/// a public key or certificate PEM file.
enum RecipientSpec {
    Stored(String),
    File { id: String, key: PublicKey },
}

fn parse_recipient(spec: &str) -> Result<RecipientSpec> {
    if let Some(id) = spec.strip_prefix("key:") {
        return Ok(RecipientSpec::Stored(id.to_string()));
    }
    let (id, path) = match spec.split_once('=') {
        Some((id, path)) => (id.to_string(), PathBuf::from(path)),
        None => {
            let path = PathBuf::from(spec);
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            (stem, path)
        }
    };
    Ok(RecipientSpec::File { id, key: read_public_key(&path)? })
}

/// A public key from a PEM file: `PUBLIC KEY` (SPKI) or `CERTIFICATE`.
pub fn read_public_key(path: &Path) -> Result<PublicKey> {
    let pem =
        std::fs::read_to_string(path).map_err(|e| Fail::io(format!("reading {}", path.display()), &e))?;
    let key = if pem.contains("-----BEGIN CERTIFICATE-----") {
        Certificate::from_pem(&pem).and_then(|c| c.public_key())
    } else {
        PublicKey::from_spki_pem(&pem)
    };
    key.map_err(|e| {
        Fail::usage(format!("{}: not a public key or certificate ({e})", path.display()))
            .hint("give a PEM file with BEGIN PUBLIC KEY or BEGIN CERTIFICATE")
    })
}

fn recipient<'a>(id: &'a str, key: &'a PublicKey) -> Result<Recipient<'a>> {
    Ok(match key {
        PublicKey::Rsa(k) => Recipient::Rsa { key_id: id.as_bytes(), version: 1, public_key: k },
        PublicKey::P256(k) => Recipient::P256 { key_id: id.as_bytes(), version: 1, public_key: k },
        _ => return Err(Fail::usage("unsupported public key type")),
    })
}

fn open_input(path: Option<&Path>) -> Result<(Box<dyn Read>, Option<u64>)> {
    match path {
        None => Ok((Box::new(io::stdin().lock()), None)),
        Some(p) if p == Path::new("-") => Ok((Box::new(io::stdin().lock()), None)),
        Some(p) => {
            let f = File::open(p).map_err(|e| Fail::io(format!("opening {}", p.display()), &e))?;
            let len = f.metadata().ok().map(|m| m.len());
            Ok((Box::new(f), len))
        }
    }
}

fn with_progress(input: Box<dyn Read>, len: Option<u64>) -> Box<dyn Read> {
    match len {
        Some(n) if n >= PROGRESS_FROM && io::stderr().is_terminal() => {
            let bar = indicatif::ProgressBar::new(n);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            Box::new(bar.wrap_read(input))
        }
        _ => input,
    }
}

/// Writes `f`'s output to `out` (a file, replaced only on success) or stdout.
fn write_output(out: Option<&Path>, f: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    match out {
        None => f(&mut io::stdout().lock()),
        Some(p) if p == Path::new("-") => f(&mut io::stdout().lock()),
        Some(p) => {
            let tmp = p.with_extension("coffer-partial");
            let mut file =
                File::create(&tmp).map_err(|e| Fail::io(format!("creating {}", tmp.display()), &e))?;
            let r = f(&mut file).and_then(|()| file.sync_all().map_err(|e| Fail::io("writing", &e)));
            match r {
                Ok(()) => {
                    std::fs::rename(&tmp, p).map_err(|e| Fail::io(format!("renaming to {}", p.display()), &e))
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    Err(e)
                }
            }
        }
    }
}

pub struct Encrypt<'a> {
    pub recipients: &'a [String],
    pub context: &'a [String],
    pub input: Option<&'a Path>,
    pub output: Option<&'a Path>,
}

/// Seals the input. With a `key:` recipient the keystore is opened (a user
/// session of `--user` in `--tenant`); with only public-key recipients it
/// is not needed.
pub fn encrypt(open_store: impl FnOnce() -> Result<Store>, e: &Encrypt<'_>) -> Result<()> {
    if e.recipients.is_empty() {
        return Err(
            Fail::usage("no --recipient given").hint("add --recipient key:<id> or --recipient agent.crt")
        );
    }
    let specs = e.recipients.iter().map(|s| parse_recipient(s)).collect::<Result<Vec<_>>>()?;
    let stored: Vec<&String> = specs
        .iter()
        .filter_map(|s| if let RecipientSpec::Stored(id) = s { Some(id) } else { None })
        .collect();
    if stored.len() > 1 {
        return Err(Fail::usage("at most one key:<id> recipient")
            .hint("rotate keys instead of sealing to two stored keys"));
    }
    let files: Vec<(&String, &PublicKey)> = specs
        .iter()
        .filter_map(|s| if let RecipientSpec::File { id, key } = s { Some((id, key)) } else { None })
        .collect();
    let extra = files.iter().map(|(id, key)| recipient(id, key)).collect::<Result<Vec<_>>>()?;
    let context = Context::parse(e.context)?;
    let ctx = context.get()?;
    let (input, len) = open_input(e.input)?;
    let input = with_progress(input, len);
    match stored.first() {
        Some(id) => {
            let mut store = open_store()?;
            let s = store.user()?;
            let h = store.hsm.find(s, id)?;
            write_output(e.output, |out| {
                store.hsm.seal_stream(&mut OsRng, s, h, &extra, &ctx, input, out)?;
                Ok(())
            })?;
            // The use of the key is in the audit log: keep it.
            Ok(())
        }
        None => write_output(e.output, |out| {
            envelope::seal_stream(&mut OsRng, &extra, &ctx, envelope::DEFAULT_CHUNK_SIZE, input, out)
                .map_err(stream_fail)?;
            Ok(())
        }),
    }
}

fn stream_fail(e: envelope::StreamError) -> Fail {
    match e {
        envelope::StreamError::Envelope(e) => e.into(),
        envelope::StreamError::Io(e) => Fail::io("streaming", &e),
        _ => Fail::new(exit::REFUSED, "streaming failed"),
    }
}

pub struct Decrypt<'a> {
    pub key: Option<&'a str>,
    pub private_key: Option<&'a Path>,
    pub context: &'a [String],
    pub input: Option<&'a Path>,
    pub output: Option<&'a Path>,
}

/// Opens the input into a scratch file (0600, overwritten and removed
/// afterwards), and only when the whole envelope authenticated copies the
/// plaintext to the output: a failed decrypt releases nothing.
pub fn decrypt(open_store: impl FnOnce() -> Result<Store>, d: &Decrypt<'_>) -> Result<()> {
    let context = Context::parse(d.context)?;
    let ctx = context.get()?;
    let (input, len) = open_input(d.input)?;
    let input = with_progress(input, len);
    let dir = match d.output {
        Some(p) if p != Path::new("-") => p
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        _ => std::env::temp_dir(),
    };
    let mut scratch = ScratchFile::create_in(&dir).map_err(stream_fail)?;
    let opened = match (d.key, d.private_key) {
        (Some(id), None) => {
            let mut store = open_store()?;
            let s = store.user()?;
            let h = store.hsm.find(s, id)?;
            let r = store.hsm.open_stream(&mut OsRng, s, h, &ctx, input, &mut scratch);
            r.map(|_| ()).map_err(Fail::from)
        }
        (None, Some(path)) => open_with_private_key(path, &ctx, input, &mut scratch),
        _ => Err(Fail::usage("give exactly one of --key <id> or --private-key <file>")),
    };
    if let Err(e) = opened {
        let _ = scratch.shred();
        return Err(e);
    }
    scratch.rewind().map_err(|e| Fail::io("reading the scratch file", &e))?;
    let copied = write_output(d.output, |out| {
        io::copy(&mut scratch, out).map_err(|e| Fail::io("writing the plaintext", &e))?;
        Ok(())
    });
    scratch.shred().map_err(stream_fail)?;
    copied
}

/// Opens with a PKCS#8 private key file: tries it against every recipient
/// record of its kind in the header.
fn open_with_private_key(
    path: &Path,
    ctx: &EncryptionContext<'_>,
    mut input: Box<dyn Read>,
    out: &mut dyn Write,
) -> Result<()> {
    let pem = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| Fail::io(format!("reading {}", path.display()), &e))?,
    );
    let key = KeyPair::from_pkcs8_pem(&pem).map_err(|e| {
        Fail::usage(format!("{}: {e}", path.display())).hint("give an unencrypted PKCS#8 PEM private key")
    })?;
    let header = read_header(&mut input)?;
    let records: Vec<(Vec<u8>, u32, RecipientKind)> =
        HeaderRef::parse(&header)?.recipients().map(|r| (r.key_id.to_vec(), r.key_version, r.kind)).collect();
    let unlock: Vec<UnlockKey<'_>> = records
        .iter()
        .filter_map(|(id, v, kind)| match (&key, kind) {
            (KeyPair::Rsa(k), RecipientKind::RsaOaep) => {
                Some(UnlockKey::Rsa { key_id: id, version: *v, private_key: k })
            }
            (KeyPair::P256(k), RecipientKind::P256EcdhEs) => {
                Some(UnlockKey::P256 { key_id: id, version: *v, secret_key: k })
            }
            _ => None,
        })
        .collect();
    let whole = io::Cursor::new(header).chain(input);
    envelope::open_stream(&mut OsRng, &unlock, ctx, &Limits::DEFAULT, whole, out).map_err(stream_fail)?;
    Ok(())
}

/// Reads exactly the envelope header from `input`.
fn read_header(input: &mut dyn Read) -> Result<Vec<u8>> {
    let mut header = vec![0u8; PREFIX_LEN];
    input.read_exact(&mut header).map_err(|_| Fail::from(coffer_core::Error::Decrypt))?;
    let len = envelope::header_len(&header).map_err(|_| Fail::from(coffer_core::Error::Decrypt))?;
    header.resize(len, 0);
    input
        .read_exact(header.get_mut(PREFIX_LEN..).unwrap_or_default())
        .map_err(|_| Fail::from(coffer_core::Error::Decrypt))?;
    Ok(header)
}

pub fn rewrap(store: &mut Store, key_id: &str, input: &Path, output: Option<&Path>) -> Result<()> {
    let sealed = std::fs::read(input).map_err(|e| Fail::io(format!("reading {}", input.display()), &e))?;
    let s = store.user()?;
    let h = store.hsm.find(s, key_id)?;
    let rewrapped = store.hsm.rewrap_envelope(&mut OsRng, s, h, &sealed)?;
    write_output(Some(output.unwrap_or(input)), |out| {
        out.write_all(&rewrapped).map_err(|e| Fail::io("writing", &e))
    })?;
    println!("rewrapped to the current version of {key_id} (payload unchanged)");
    Ok(())
}

fn kind_name(k: RecipientKind) -> &'static str {
    match k {
        RecipientKind::Aes256Kw => "aes256-kw",
        RecipientKind::RsaOaep => "rsa-oaep-sha256",
        RecipientKind::P256EcdhEs => "p256-ecdh-es",
        _ => "other",
    }
}

/// Shows an envelope's header without decrypting it.
pub fn inspect(input: Option<&Path>, json_out: bool) -> Result<()> {
    let (mut reader, len) = open_input(input)?;
    let header = read_header(&mut reader).map_err(|_| {
        Fail::new(exit::REFUSED, "not a coffer envelope (v1)").hint("is this the sealed file?")
    })?;
    let parsed = HeaderRef::parse(&header)?;
    let payload = match len {
        Some(n) => n.saturating_sub(header.len() as u64),
        None => io::copy(&mut reader, &mut io::sink()).map_err(|e| Fail::io("reading", &e))?,
    };
    let recipients: Vec<_> = parsed
        .recipients()
        .map(|r| json!({"kind": kind_name(r.kind), "key_id": String::from_utf8_lossy(r.key_id), "version": r.key_version}))
        .collect();
    let context: serde_json::Map<String, serde_json::Value> = parsed
        .context()
        .iter()
        .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), json!(String::from_utf8_lossy(v))))
        .collect();
    let chunk = parsed.chunk_size();
    let info = json!({
        "format": "coffer envelope v1",
        "header_bytes": header.len(),
        "payload_bytes": payload,
        "chunk_size": chunk,
        "recipients": recipients,
        "context": context,
    });
    if json_out {
        println!("{}", serde_json::to_string_pretty(&info).unwrap_or_default());
    } else {
        println!(
            "coffer envelope v1: header {} bytes, payload {payload} bytes, chunk size {chunk}",
            header.len()
        );
        for r in parsed.recipients() {
            println!(
                "  recipient {:<16} {} v{}",
                kind_name(r.kind),
                String::from_utf8_lossy(r.key_id),
                r.key_version
            );
        }
        for (k, v) in parsed.context().iter() {
            println!("  context   {}={}", String::from_utf8_lossy(k), String::from_utf8_lossy(v));
        }
    }
    Ok(())
}
