//! `coffer encrypt`, `decrypt`, `rewrap` and `inspect`: envelopes of files or
//! stdin/stdout, streaming one chunk at a time. Outputs follow the rules of
//! [`crate::output`].

use std::fs::File;
use std::io::{self, IsTerminal, Read, Seek};
use std::path::{Path, PathBuf};

use coffer_core::cert::{Certificate, KeyPair, PublicKey};
use coffer_core::envelope::{
    self, EncryptionContext, HeaderRef, Limits, MAGIC, PREFIX_LEN, Recipient, RecipientKind, ScratchFile,
    UnlockKey,
};
use coffer_core::rng::OsRng;
use coffer_hsm::{Pkcs11Kek, Pkcs11KekError, Pkcs11Uri};
use serde_json::{Value, json};

use crate::fail::{Fail, Result, exit};
use crate::interrupt::Registration;
use crate::output::{Access, Target};
use crate::store::Store;

/// Payloads at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_FROM: u64 = 64 * 1024 * 1024;

/// The encryption context of `--context key=value` (UTF-8 text) and
/// `--context-hex <hex key>=<hex value>` (any bytes) entries, owned.
pub struct Context(Vec<(Vec<u8>, Vec<u8>)>);

impl Context {
    pub fn parse(text: &[String], hex_pairs: &[String]) -> Result<Context> {
        let mut out = Vec::new();
        for p in text {
            let (k, v) = p.split_once('=').ok_or_else(|| {
                Fail::usage(format!("bad --context `{p}`"))
                    .hint("write each entry as key=value, e.g. --context tenant=acme")
            })?;
            out.push((k.as_bytes().to_vec(), v.as_bytes().to_vec()));
        }
        for p in hex_pairs {
            let bad = || {
                Fail::usage(format!("bad --context-hex `{p}`"))
                    .hint("write each entry as <hex key>=<hex value>, e.g. --context-hex 74656e616e74=00ff")
            };
            let (k, v) = p.split_once('=').ok_or_else(bad)?;
            out.push((hex::decode(k).map_err(|_| bad())?, hex::decode(v).map_err(|_| bad())?));
        }
        Ok(Context(out))
    }

    pub fn get(&self) -> Result<EncryptionContext<'_>> {
        let mut c = EncryptionContext::new();
        for (k, v) in &self.0 {
            c.insert(k, v).map_err(|e| {
                let name: String = String::from_utf8_lossy(k).chars().take(64).collect();
                Fail::usage(format!(
                    "context entry `{name}` ({} byte key, {} byte value): {e}",
                    k.len(),
                    v.len()
                ))
                .hint("at most 16 entries; keys 1 to 64 bytes and unique; values at most 1024 bytes")
            })?;
        }
        Ok(c)
    }
}

/// A `--recipient`: `key:<id>` for a key in the keystore, `pkcs11:<URI>`
/// for a KEK in a PKCS#11 token, or `[id=]file` for a public key or
/// certificate PEM file.
enum RecipientSpec {
    Stored(String),
    Pkcs11(Pkcs11Kek),
    File { id: String, key: PublicKey },
}

fn parse_recipient(spec: &str) -> Result<RecipientSpec> {
    if let Some(id) = spec.strip_prefix("key:") {
        return Ok(RecipientSpec::Stored(id.to_string()));
    }
    if spec.starts_with("pkcs11:") {
        return Ok(RecipientSpec::Pkcs11(open_pkcs11(spec)?));
    }
    let (id, path) = match spec.split_once('=') {
        Some((id, path)) => (id.to_string(), PathBuf::from(path)),
        None => {
            let path = PathBuf::from(spec);
            (file_stem(&path), path)
        }
    };
    Ok(RecipientSpec::File { id, key: read_public_key(&path)? })
}

/// The KEK a `pkcs11:` URI names (RFC 7512 subset, `coffer_hsm::Pkcs11Uri`),
/// logged in with the PIN of its `pin-source` file (or `pin-value`).
pub fn open_pkcs11(uri: &str) -> Result<Pkcs11Kek> {
    let config = Pkcs11Uri::parse(uri).and_then(|u| u.to_config()).map_err(pkcs11_fail)?;
    Pkcs11Kek::open(&config).map_err(pkcs11_fail)
}

pub fn pkcs11_fail(e: Pkcs11KekError) -> Fail {
    let fail = |code| Fail::new(code, e.to_string());
    match &e {
        Pkcs11KekError::Uri { .. } | Pkcs11KekError::InvalidInput { .. } => fail(exit::USAGE).hint(
            "write pkcs11:token=<label>;object=<key label>?module-path=<library>&pin-source=file:<pin file>",
        ),
        Pkcs11KekError::PinIncorrect | Pkcs11KekError::PinLocked => {
            fail(exit::KEYSTORE).hint("check the file named by pin-source (its first line is the user PIN)")
        }
        Pkcs11KekError::PinSource { .. } => fail(exit::IO),
        Pkcs11KekError::KeyNotFound { .. } => {
            fail(exit::REFUSED).hint("list the token's keys with `pkcs11-tool --module <library> -O --login`")
        }
        _ => fail(exit::REFUSED),
    }
}

fn file_stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// A public key from a PEM file: `PUBLIC KEY` (SPKI) or `CERTIFICATE`.
pub fn read_public_key(path: &Path) -> Result<PublicKey> {
    let pem = crate::certs::read(path)?;
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

/// An input: a file (`--in`), or stdin (no `--in`, or `--in -`).
pub struct Input {
    reader: Box<dyn Read>,
    len: Option<u64>,
    name: String,
}

impl Input {
    /// Opens `path`; a directory is refused by name. Reading stdin from a
    /// terminal is refused unless `--in -` asked for it (a command waiting
    /// on the keyboard looks like a hang).
    pub fn open(path: Option<&Path>) -> Result<Input> {
        match path {
            None if io::stdin().is_terminal() => Err(Fail::usage("no --in given and stdin is a terminal")
                .hint("give --in FILE or pipe the input in (--in - reads the terminal until Ctrl-D)")),
            None => Ok(Input::stdin()),
            Some(p) if p == Path::new("-") => Ok(Input::stdin()),
            Some(p) => {
                let f = File::open(p).map_err(|e| Fail::io(format!("opening {}", p.display()), &e))?;
                let meta = f.metadata().map_err(|e| Fail::io(format!("reading {}", p.display()), &e))?;
                if meta.is_dir() {
                    return Err(Fail::new(exit::IO, format!("{} is a directory", p.display()))
                        .hint("give the file to read"));
                }
                let len = meta.is_file().then_some(meta.len());
                Ok(Input { reader: Box::new(f), len, name: p.display().to_string() })
            }
        }
    }

    fn stdin() -> Input {
        Input { reader: Box::new(io::stdin().lock()), len: None, name: "stdin".to_string() }
    }

    /// The reader, with a progress bar on stderr for large files.
    fn into_reader(self) -> Box<dyn Read> {
        match self.len {
            Some(n) if n >= PROGRESS_FROM && io::stderr().is_terminal() => {
                let bar = indicatif::ProgressBar::new(n);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                Box::new(bar.wrap_read(self.reader))
            }
            _ => self.reader,
        }
    }

    /// Reads exactly the envelope header; anything that does not start
    /// like a coffer envelope is refused as such, before any key is tried.
    fn read_header(&mut self) -> Result<Vec<u8>> {
        let name = self.name.clone();
        let not_envelope = || {
            Fail::new(exit::REFUSED, format!("{name} is not a coffer envelope"))
                .hint("coffer envelopes start with the bytes CFRE; is this the sealed file?")
        };
        let damaged = || {
            Fail::new(exit::REFUSED, format!("{name}: the envelope header is truncated or damaged"))
                .hint("the file was cut short or changed; `coffer inspect` shows what is left")
        };
        let mut header = vec![0u8; PREFIX_LEN];
        let got =
            read_up_to(&mut self.reader, &mut header).map_err(|e| Fail::io(format!("reading {name}"), &e))?;
        if header.get(..got.min(MAGIC.len())) != MAGIC.get(..got.min(MAGIC.len())) || got < MAGIC.len() {
            return Err(not_envelope());
        }
        if got < PREFIX_LEN {
            return Err(damaged());
        }
        let len = envelope::header_len(&header).map_err(|_| not_envelope())?;
        header.resize(len, 0);
        let rest = header.get_mut(PREFIX_LEN..).unwrap_or_default();
        let want = rest.len();
        let got = read_up_to(&mut self.reader, rest).map_err(|e| Fail::io(format!("reading {name}"), &e))?;
        if got != want {
            return Err(damaged());
        }
        HeaderRef::parse(&header).map_err(|_| damaged())?;
        Ok(header)
    }
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while let Some(rest) = buf.get_mut(got..).filter(|b| !b.is_empty()) {
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => got = got.saturating_add(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

pub struct Encrypt<'a> {
    pub recipients: &'a [String],
    pub context: &'a [String],
    pub context_hex: &'a [String],
    pub input: Option<&'a Path>,
    pub output: Option<&'a Path>,
}

/// Seals the input. With a `key:` recipient the keystore is opened (a user
/// session of `--user` in `--tenant`); with only public-key and `pkcs11:`
/// recipients it is not needed.
pub fn encrypt(open_store: impl FnOnce() -> Result<Store>, e: &Encrypt<'_>) -> Result<()> {
    if e.recipients.is_empty() {
        return Err(Fail::usage("no --recipient given")
            .hint("add --recipient key:<id>, --recipient agent.crt or --recipient pkcs11:<URI>"));
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
    let mut extra = files.iter().map(|(id, key)| recipient(id, key)).collect::<Result<Vec<_>>>()?;
    extra.extend(
        specs
            .iter()
            .filter_map(|s| if let RecipientSpec::Pkcs11(k) = s { Some(k.recipient()) } else { None }),
    );
    let context = Context::parse(e.context, e.context_hex)?;
    let ctx = context.get()?;
    let target = Target::plan(e.output, true)?;
    let input = Input::open(e.input)?.into_reader();
    match stored.first() {
        Some(id) => {
            let mut store = open_store()?;
            let (s, h) = store.user_key(id)?;
            target.write_with(Access::Public, |out| {
                store.hsm.seal_stream(&mut OsRng, s, h, &extra, &ctx, input, out)?;
                Ok(())
            })
        }
        None => target.write_with(Access::Public, |out| {
            envelope::seal_stream(&mut OsRng, &extra, &ctx, envelope::DEFAULT_CHUNK_SIZE, input, out)
                .map_err(|e| stream_fail(e, &target))?;
            Ok(())
        }),
    }
}

fn stream_fail(e: envelope::StreamError, target: &Target) -> Fail {
    match e {
        envelope::StreamError::Envelope(e) => e.into(),
        envelope::StreamError::Io(e) => target.fail(&e),
        _ => Fail::new(exit::REFUSED, "streaming failed"),
    }
}

/// Which key opens the envelope.
pub enum Opener<'a> {
    /// `--key <id>`: a KEK or RSA key of the tenant in the keystore.
    Stored(&'a str),
    /// `--key pkcs11:<URI>`: a KEK in a PKCS#11 token (recipient key id =
    /// its label, version 1); the keystore is not opened.
    Pkcs11(&'a str),
    /// `--private-key <file>` (encrypted: opened with the passphrase of
    /// `passphrase`), tried only on the recipients with `key_id` (default:
    /// the file's name without extension) and, if given, `version`.
    File { path: &'a Path, passphrase: Option<&'a Path>, key_id: Option<&'a str>, version: Option<u32> },
}

pub struct Decrypt<'a> {
    pub opener: Opener<'a>,
    pub context: &'a [String],
    pub context_hex: &'a [String],
    pub input: Option<&'a Path>,
    pub output: Option<&'a Path>,
}

/// Opens an envelope. Nothing reaches the output until the whole envelope
/// authenticated: a file output is a temporary file beside it (0600) that is
/// put in place only then; stdout and special files get the plaintext from
/// a scratch file (0600, in the temporary directory) once it authenticated.
pub fn decrypt(open_store: impl FnOnce() -> Result<Store>, d: &Decrypt<'_>) -> Result<()> {
    let context = Context::parse(d.context, d.context_hex)?;
    let ctx = context.get()?;
    // A PKCS#11 key that does not open (wrong PIN, no such key) fails
    // here, before any input is read or output planned.
    let pkcs11 = match d.opener {
        Opener::Pkcs11(uri) => Some(open_pkcs11(uri)?),
        _ => None,
    };
    let target = Target::plan(d.output, true)?;
    let mut input = Input::open(d.input)?;
    let header = input.read_header()?;
    let file_key = match &d.opener {
        Opener::File { path, passphrase, key_id, version } => {
            Some(FileKey::read(path, *passphrase, *key_id, *version, &header)?)
        }
        Opener::Stored(_) | Opener::Pkcs11(_) => None,
    };
    let whole = io::Cursor::new(header).chain(input.into_reader());
    let mut store = match d.opener {
        Opener::Stored(_) => Some(open_store()?),
        Opener::File { .. } | Opener::Pkcs11(_) => None,
    };
    let open_into = |out: &mut dyn io::Write| -> Result<()> {
        match (&d.opener, store.as_mut(), &file_key) {
            (Opener::Stored(id), Some(store), _) => {
                let (s, h) = store.user_key(id)?;
                store.hsm.open_stream(&mut OsRng, s, h, &ctx, whole, out)?;
            }
            (Opener::Pkcs11(_), _, _) => {
                let kek = pkcs11.as_ref().ok_or_else(|| Fail::usage("no PKCS#11 key"))?;
                envelope::open_stream(&mut OsRng, &[kek.unlock_key()], &ctx, &Limits::DEFAULT, whole, out)
                    .map_err(|e| stream_fail(e, &target))?;
            }
            (_, _, Some(key)) => {
                envelope::open_stream(&mut OsRng, &key.unlock_keys(), &ctx, &Limits::DEFAULT, whole, out)
                    .map_err(|e| stream_fail(e, &target))?;
            }
            _ => return Err(Fail::usage("give exactly one of --key <id> or --private-key <file>")),
        }
        Ok(())
    };
    if !target.is_direct() {
        return target.write_with(Access::Private, open_into);
    }
    let mut scratch = ScratchFile::create_in(&std::env::temp_dir())
        .map_err(|e| stream_fail(e, &target).context("creating a scratch file"))?;
    let registration = Registration::new(scratch.path());
    let opened = open_into(&mut scratch);
    let copied = opened.and_then(|()| {
        scratch.rewind().map_err(|e| Fail::io("reading the scratch file", &e))?;
        target.copy_from(scratch.file_mut())
    });
    // Plaintext that was never released is overwritten; once it was copied
    // out, the destination holds it anyway and the scratch file only goes.
    let removed = if copied.is_ok() { scratch.remove() } else { scratch.shred() };
    drop(registration);
    copied?;
    removed.map_err(|e| stream_fail(e, &target).context("removing the scratch file"))
}

/// A `--private-key` file and the recipients of the header it may open.
struct FileKey {
    key: KeyPair,
    /// (key id, version) of the header's recipients of the key's kind that
    /// match `--key-id` and `--key-version`.
    records: Vec<(Vec<u8>, u32)>,
}

impl FileKey {
    fn read(
        path: &Path,
        passphrase: Option<&Path>,
        key_id: Option<&str>,
        version: Option<u32>,
        header: &[u8],
    ) -> Result<FileKey> {
        let key = crate::certs::read_key(path, passphrase)?;
        let kind = match &key {
            KeyPair::Rsa(_) => RecipientKind::RsaOaep,
            KeyPair::P256(_) => RecipientKind::P256EcdhEs,
            _ => return Err(Fail::usage(format!("{}: unsupported key type", path.display()))),
        };
        let wanted = key_id.map_or_else(|| file_stem(path), str::to_string);
        let parsed = HeaderRef::parse(header)?;
        let records: Vec<(Vec<u8>, u32)> = parsed
            .recipients()
            .filter(|r| r.kind == kind && r.key_id == wanted.as_bytes())
            .filter(|r| version.is_none_or(|v| v == r.key_version))
            .map(|r| (r.key_id.to_vec(), r.key_version))
            .collect();
        if records.is_empty() {
            let listed: Vec<String> = parsed
                .recipients()
                .map(|r| format!("{} {} v{}", kind_name(r.kind), text_or_hex(r.key_id), r.key_version))
                .collect();
            let asked = match version {
                Some(v) => format!("key id `{wanted}` version {v}"),
                None => format!("key id `{wanted}`"),
            };
            return Err(Fail::new(
                exit::REFUSED,
                format!(
                    "no {} recipient of this envelope has {asked}; its recipients: {}",
                    kind_name(kind),
                    listed.join(", ")
                ),
            )
            .hint("name the recipient with --key-id (and --key-version); the key id defaults to the key file's name"));
        }
        Ok(FileKey { key, records })
    }

    fn unlock_keys(&self) -> Vec<UnlockKey<'_>> {
        self.records
            .iter()
            .filter_map(|(id, v)| match &self.key {
                KeyPair::Rsa(k) => Some(UnlockKey::Rsa { key_id: id, version: *v, private_key: k }),
                KeyPair::P256(k) => Some(UnlockKey::P256 { key_id: id, version: *v, secret_key: k }),
                _ => None,
            })
            .collect()
    }
}

/// `rewrap`: the envelope's KEK record moved to the current version; the
/// output is the input file itself unless `--out` names another.
pub fn rewrap(store: &mut Store, key_id: &str, input: &Path, output: Option<&Path>) -> Result<()> {
    let target = match output {
        Some(p) => Target::plan(Some(p), true)?,
        None => Target::File { path: input.to_path_buf(), replace: true },
    };
    let sealed = std::fs::read(input).map_err(|e| Fail::io(format!("reading {}", input.display()), &e))?;
    if !sealed.starts_with(&MAGIC) {
        return Err(Fail::new(exit::REFUSED, format!("{} is not a coffer envelope", input.display())));
    }
    let (s, h) = store.user_key(key_id)?;
    let rewrapped = store.hsm.rewrap_envelope(&mut OsRng, s, h, &sealed)?;
    target.write_bytes(Access::Public, &rewrapped)?;
    crate::report::result(
        &format!("rewrapped to the current version of {key_id} (payload unchanged)"),
        &json!({"rewrapped": true, "key": key_id}),
    )
}

fn kind_name(k: RecipientKind) -> &'static str {
    match k {
        RecipientKind::Aes256Kw => "aes256-kw",
        RecipientKind::RsaOaep => "rsa-oaep-sha256",
        RecipientKind::P256EcdhEs => "p256-ecdh-es",
        _ => "other",
    }
}

/// UTF-8 text without control characters as it is, anything else as `0x<hex>`.
fn text_or_hex(bytes: &[u8]) -> String {
    match printable(bytes) {
        Some(t) => t.to_string(),
        None => format!("0x{}", hex::encode(bytes)),
    }
}

fn printable(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok().filter(|t| !t.chars().any(char::is_control))
}

/// Bytes in JSON: `text` (null unless printable UTF-8) and `hex` (always).
fn json_bytes(prefix: &str, bytes: &[u8]) -> [(String, Value); 2] {
    [(prefix.to_string(), json!(printable(bytes))), (format!("{prefix}_hex"), json!(hex::encode(bytes)))]
}

/// Shows an envelope's header without decrypting it.
pub fn inspect(input: Option<&Path>) -> Result<()> {
    let mut input = Input::open(input)?;
    let header = input.read_header()?;
    let parsed = HeaderRef::parse(&header)?;
    let payload = match input.len {
        Some(n) => n.saturating_sub(header.len() as u64),
        None => io::copy(&mut input.reader, &mut io::sink()).map_err(|e| Fail::io("reading", &e))?,
    };
    let recipients: Vec<Value> = parsed
        .recipients()
        .map(|r| {
            let mut m: serde_json::Map<String, Value> = json_bytes("key_id", r.key_id).into_iter().collect();
            m.insert("kind".into(), json!(kind_name(r.kind)));
            m.insert("version".into(), json!(r.key_version));
            Value::Object(m)
        })
        .collect();
    let context: Vec<Value> = parsed
        .context()
        .iter()
        .map(|(k, v)| Value::Object(json_bytes("key", k).into_iter().chain(json_bytes("value", v)).collect()))
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
    let mut text = format!(
        "coffer envelope v1: header {} bytes, payload {payload} bytes, chunk size {chunk}",
        header.len()
    );
    for r in parsed.recipients() {
        text.push_str(&format!(
            "\n  recipient   {:<16} {} v{}",
            kind_name(r.kind),
            text_or_hex(r.key_id),
            r.key_version
        ));
    }
    for (k, v) in parsed.context().iter() {
        // Printed as the option that gives it back to `decrypt`.
        match (printable(k), printable(v)) {
            (Some(k), Some(v)) if !k.contains('=') => text.push_str(&format!("\n  --context     {k}={v}")),
            _ => text.push_str(&format!("\n  --context-hex {}={}", hex::encode(k), hex::encode(v))),
        }
    }
    crate::report::result(&text, &info)
}
