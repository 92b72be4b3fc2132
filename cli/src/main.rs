//! The `coffer` command: a sealed file keystore of keys by tenant, envelope
//! encryption of files and streams, certificate pairs, wrapping, signing,
//! webhook MACs and the audit log; `coffer demo` plays the seed scenarios.
#![forbid(unsafe_code)]

mod admin;
mod audit_cmd;
mod certs;
mod data;
mod demo;
mod fail;
mod interrupt;
mod keys;
mod ops;
mod output;
mod report;
mod secret_input;
mod store;
mod time;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::fail::Result;
use crate::store::{Location, Store};

const EXIT_CODES: &str = "\
Exit codes: 0 done (also when the reader of stdout goes away early, as in `| head`); \
1 refused (decryption or verification failed, not an envelope, key policy or state, unknown key); \
2 bad command line (also an output that exists without --force, a symlink or directory as output, \
binary output to a terminal); 3 keystore does not open, PIN wrong or locked, or no passphrase or PIN \
given and no terminal to ask; 4 reading or writing a file failed (the message names the file and the \
OS error, e.g. no space left on device); 130, 143, 129 interrupted by SIGINT, SIGTERM, SIGHUP (temporary files removed first).

Outputs: a new file is written beside its name and put in place only on success; an existing file \
is replaced only with --force; symlinks and directories are refused; devices and FIFOs are written \
directly; private keys, unwrapped keys and plaintext are mode 0600, other files 0644.

Credentials: the security officer (created by `init`) makes tenants and the users bound to \
them (`coffer tenant create`, `coffer user create`); user and auditor commands log in as \
--user <name> ($COFFER_USER), a user in --tenant <id> ($COFFER_TENANT, default: its only tenant).

Secrets: the keystore passphrase comes from --passphrase-file, $COFFER_PASSPHRASE or a prompt; \
PINs from $COFFER_PIN (--user's PIN), $COFFER_SO_PIN (security officer), $COFFER_AUDITOR_PIN \
(--user's PIN for audit commands), $COFFER_NEW_PIN (a PIN being set), or a prompt.

Example: coffer demo";

/// The version `--version` prints, with the crypto provider of this build.
fn version() -> &'static str {
    match coffer_core::provider::ACTIVE {
        coffer_core::provider::Provider::AwsLc => {
            concat!(env!("CARGO_PKG_VERSION"), " (crypto provider: aws-lc)")
        }
        _ => concat!(env!("CARGO_PKG_VERSION"), " (crypto provider: RustCrypto)"),
    }
}

/// coffer: envelope encryption, certificate pairs and a software HSM.
#[derive(Parser)]
#[command(version = version(), about, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// The keystore: a SQLite database file (created by `coffer init`), or a
    /// `postgres://user@host/db` URL for a store shared by several hosts.
    #[arg(long, global = true, env = "COFFER_STORE", default_value = "./coffer-store.db")]
    store: String,
    /// Where the store's generation is kept to detect a rolled-back store
    /// (default for SQLite: `<store>.generation`; none for PostgreSQL).
    #[arg(long, global = true, env = "COFFER_GENERATION_FILE")]
    generation_file: Option<PathBuf>,
    /// A file whose first line is the keystore passphrase.
    #[arg(long, global = true)]
    passphrase_file: Option<PathBuf>,
    /// Keep the keystore's master key under a KEK in a PKCS#11 HSM instead
    /// of a passphrase: `pkcs11:token=<label>;object=<key label>?module-path=<library>&pin-source=file:<pin file>`.
    /// `coffer init` creates the store under it (and generates the AES-256
    /// KEK in the token if the token has no key of that label); every later
    /// command needs it to open the store.
    #[arg(long, global = true, env = "COFFER_MASTER_KEK", value_name = "URI")]
    master_kek: Option<String>,
    /// The credential user and audit commands log in as (see `coffer user list`).
    #[arg(long, global = true, env = "COFFER_USER")]
    user: Option<String>,
    /// The tenant a user session acts in (default: the user's only tenant).
    #[arg(long, global = true, env = "COFFER_TENANT")]
    tenant: Option<String>,
    /// Print results as JSON on stdout, and errors as {"error", "hint", "exit"} on stderr.
    #[arg(long, global = true)]
    json: bool,
    /// Replace output files that exist (only once the command has succeeded).
    #[arg(long, global = true)]
    force: bool,
}

impl Global {
    fn location(&self) -> Location {
        Location {
            store: self.store.clone(),
            passphrase_file: self.passphrase_file.clone(),
            master_kek: self.master_kek.clone(),
            generation_file: self.generation_file.clone(),
            user: self.user.clone(),
            tenant: self.tenant.clone(),
        }
    }

    fn open(&self) -> Result<Store> {
        Store::open(&self.location())
    }
}

/// Key types of `key create --type`.
const KEY_TYPES: [&str; 6] = ["aes256", "hmac", "p256", "rsa2048", "rsa3072", "rsa4096"];
/// Algorithms of `cert ca|pair --algorithm`.
const ALGORITHMS: [&str; 4] = ["p256", "rsa2048", "rsa3072", "rsa4096"];

#[derive(Subcommand)]
enum Command {
    /// Play the seed scenarios end to end in a temporary SQLite keystore.
    #[command(after_help = "Example:\n  coffer demo\n  coffer demo --keep")]
    Demo {
        /// Keep the temporary keystore directory and print its path.
        #[arg(long)]
        keep: bool,
    },
    /// Create a keystore (SQLite file or PostgreSQL database) with one token and its security officer PIN.
    #[command(after_help = "Example:\n  COFFER_PASSPHRASE=... COFFER_SO_PIN=... coffer init\n  \
        coffer --store postgres://coffer@db/keys init")]
    Init,
    /// Copy a version-1 sealed keystore file into a new store (same passphrase).
    #[command(after_help = "Example:\n  coffer migrate --from ./coffer-store --to ./coffer-store.db")]
    Migrate {
        /// The version-1 keystore file (only read).
        #[arg(long)]
        from: PathBuf,
        /// The new store: a SQLite file that does not exist yet, or a `postgres://` URL of an empty database.
        #[arg(long)]
        to: String,
    },
    /// Create, list, show, rotate, expire or destroy keys of a tenant.
    #[command(
        subcommand,
        after_help = "Example:\n  coffer --user alice key create records --type aes256\n  \
        coffer --user alice key list"
    )]
    Key(KeyCommand),
    /// Create and list tenants, crypto-shred one (security officer).
    #[command(subcommand, after_help = "Example:\n  coffer tenant create acme\n  coffer tenant list")]
    Tenant(TenantCommand),
    /// Create, list and remove user and auditor credentials (security officer).
    #[command(
        subcommand,
        after_help = "Example:\n  COFFER_NEW_PIN=... coffer user create alice --tenants acme"
    )]
    User(UserCommand),
    /// Change your own PIN, or unblock someone else's (security officer).
    #[command(
        subcommand,
        after_help = "Example:\n  coffer --user alice pin change\n  coffer pin unblock alice"
    )]
    Pin(PinCommand),
    /// Re-key the keystore under a new passphrase (security officer).
    #[command(subcommand, after_help = "Example:\n  coffer passphrase change --new-passphrase-file new.txt")]
    Passphrase(PassphraseCommand),
    /// Seal a file or stdin as an envelope for one or more recipients.
    #[command(
        after_help = "Example:\n  coffer --user alice encrypt --recipient key:records --recipient agent7.crt \
        --context tenant=acme --in report.pdf --out report.pdf.cfr\n  \
        coffer encrypt --recipient 'pkcs11:token=coffer-kek;object=records?module-path=/usr/lib/softhsm/libsofthsm2.so\
        &pin-source=file:/run/secrets/hsm-pin' --context tenant=acme --in report.pdf --out report.pdf.cfr"
    )]
    Encrypt {
        /// `key:<id>` (a KEK or RSA key in the keystore), `pkcs11:<URI>` (an
        /// AES-256 KEK in a PKCS#11 token, RFC 7512:
        /// `pkcs11:token=<label>;object=<key label>[;id=%XX..][;type=secret-key]?module-path=<library>&pin-source=file:<pin file>`;
        /// the envelope's key id is the key label, version 1; the key wraps the
        /// data key inside the token), or `[id=]<file>` (a PEM public key or
        /// certificate; the id defaults to the file name without extension).
        /// Repeatable. Only `key:` recipients open the keystore.
        #[arg(long = "recipient", required = true)]
        recipients: Vec<String>,
        /// Encryption context entry `key=value` (UTF-8), bound to the envelope. Repeatable.
        #[arg(long = "context")]
        context: Vec<String>,
        /// Encryption context entry `<hex key>=<hex value>` for any bytes. Repeatable.
        #[arg(long = "context-hex")]
        context_hex: Vec<String>,
        /// Input file (`-` or absent: stdin, which must not be a terminal unless `-` is given).
        #[arg(long = "in")]
        input: Option<PathBuf>,
        /// Output file (`-` or absent: stdout, which must not be a terminal unless `-` is given).
        #[arg(long = "out")]
        output: Option<PathBuf>,
    },
    /// Open an envelope; nothing is written unless it authenticates entirely.
    #[command(after_help = "Example:\n  coffer --user alice decrypt --key records --context tenant=acme \
        --in report.pdf.cfr --out report.pdf\n  \
        coffer decrypt --private-key agent7.key --context tenant=acme --in report.pdf.cfr --out copy.pdf\n  \
        coffer decrypt --key 'pkcs11:token=coffer-kek;object=records?module-path=/usr/lib/softhsm/libsofthsm2.so\
        &pin-source=file:/run/secrets/hsm-pin' --context tenant=acme --in report.pdf.cfr --out report.pdf")]
    Decrypt {
        /// A KEK or RSA key of the tenant in the keystore, or `pkcs11:<URI>`:
        /// a KEK in a PKCS#11 token, as for `encrypt --recipient` (the
        /// keystore is then not opened).
        #[arg(long, conflicts_with = "private_key", required_unless_present = "private_key")]
        key: Option<String>,
        /// A PKCS#8 PEM private key file (RSA or P-256) instead.
        #[arg(long)]
        private_key: Option<PathBuf>,
        /// With --private-key, if the key file is encrypted (ENCRYPTED PRIVATE KEY):
        /// a file whose first line is its passphrase.
        #[arg(long, requires = "private_key")]
        key_passphrase_file: Option<PathBuf>,
        /// With --private-key: the recipient's key id (default: the key file's name without extension).
        #[arg(long, requires = "private_key")]
        key_id: Option<String>,
        /// With --private-key: only the recipient of this key version (default: any).
        #[arg(long, requires = "private_key")]
        key_version: Option<u32>,
        /// The context entry `key=value` the envelope was sealed with. Repeatable.
        #[arg(long = "context")]
        context: Vec<String>,
        /// A context entry `<hex key>=<hex value>` (as `inspect` prints binary ones). Repeatable.
        #[arg(long = "context-hex")]
        context_hex: Vec<String>,
        /// Input file (`-` or absent: stdin).
        #[arg(long = "in")]
        input: Option<PathBuf>,
        /// Output file (`-` or absent: stdout, which must not be a terminal unless `-` is given).
        #[arg(long = "out")]
        output: Option<PathBuf>,
    },
    /// Move an envelope to the current version of its KEK (header only).
    #[command(after_help = "Example:\n  coffer --user alice key rotate records\n  \
        coffer --user alice rewrap --key records --in report.pdf.cfr")]
    Rewrap {
        /// The KEK in the keystore.
        #[arg(long)]
        key: String,
        /// The envelope file.
        #[arg(long = "in")]
        input: PathBuf,
        /// Where to write it (default: replace the input file in place).
        #[arg(long = "out")]
        output: Option<PathBuf>,
    },
    /// Show an envelope's header (recipients, context, sizes) without decrypting.
    #[command(
        after_help = "Example:\n  coffer inspect --in report.pdf.cfr\n  coffer --json inspect --in report.pdf.cfr\n\n\
        --json prints key ids and context entries twice: as text (null unless printable UTF-8) and as hex \
        (key_id_hex, key_hex, value_hex), so binary values are exact."
    )]
    Inspect {
        /// The envelope file (`-` or absent: stdin).
        #[arg(long = "in")]
        input: Option<PathBuf>,
    },
    /// Certificates: a CA, CSRs, issuing, verifying, key+certificate pairs.
    #[command(
        subcommand,
        after_help = "Example:\n  coffer cert ca --subject \"CN=Acme Agents CA\" --key-out ca.key --cert-out ca.crt"
    )]
    Cert(CertCommand),
    /// Wrap key material: AES-KWP (or AES-KW with --kw) under a stored KEK, or RSA-OAEP to a public key.
    #[command(
        after_help = "Example:\n  coffer --user alice wrap --key transport --in dek.bin --out dek.wrapped\n  \
        coffer wrap --public-key agent7.crt --in dek.bin --out dek.oaep"
    )]
    Wrap {
        /// A KEK in the keystore (AES-KWP, RFC 5649).
        #[arg(long, conflicts_with = "public_key", required_unless_present = "public_key")]
        key: Option<String>,
        /// AES-KW (RFC 3394, input a multiple of 8 bytes, at least 16) instead of AES-KWP.
        #[arg(long, requires = "key")]
        kw: bool,
        /// An RSA public key or certificate PEM file (RSA-OAEP with SHA-256).
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// The key material to wrap.
        #[arg(long = "in")]
        input: PathBuf,
        /// Where the wrapped key goes.
        #[arg(long = "out")]
        output: PathBuf,
    },
    /// Unwrap key material (written with mode 0600).
    #[command(
        after_help = "Example:\n  coffer --user alice unwrap --key transport --in dek.wrapped --out dek.bin"
    )]
    Unwrap {
        /// The KEK in the keystore that wrapped it.
        #[arg(long, conflicts_with = "private_key", required_unless_present = "private_key")]
        key: Option<String>,
        /// AES-KW (RFC 3394) instead of AES-KWP.
        #[arg(long, requires = "key")]
        kw: bool,
        /// An RSA PKCS#8 PEM private key file (RSA-OAEP with SHA-256).
        #[arg(long)]
        private_key: Option<PathBuf>,
        /// With --private-key, if the key file is encrypted (ENCRYPTED PRIVATE KEY):
        /// a file whose first line is its passphrase.
        #[arg(long, requires = "private_key")]
        key_passphrase_file: Option<PathBuf>,
        /// The wrapped key.
        #[arg(long = "in")]
        input: PathBuf,
        /// Where the key material goes (mode 0600).
        #[arg(long = "out")]
        output: PathBuf,
    },
    /// Sign a file with a stored P-256 (ECDSA, DER signature) or RSA (PSS, SHA-256) key.
    #[command(
        after_help = "Example:\n  coffer --user alice sign --key release --in app.tar --out app.tar.sig"
    )]
    Sign {
        /// The signing key in the keystore.
        #[arg(long)]
        key: String,
        /// The file to sign.
        #[arg(long = "in")]
        input: PathBuf,
        /// Where the signature goes.
        #[arg(long = "out")]
        output: PathBuf,
    },
    /// Verify a signature with a stored key or a public key / certificate file.
    #[command(
        after_help = "Example:\n  coffer verify --public-key release.pub --in app.tar --signature app.tar.sig"
    )]
    Verify {
        /// The key in the keystore.
        #[arg(long, conflicts_with = "public_key", required_unless_present = "public_key")]
        key: Option<String>,
        /// A PEM public key or certificate (P-256: ECDSA DER; RSA: PSS with SHA-256).
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// The signed file.
        #[arg(long = "in")]
        input: PathBuf,
        /// The signature file.
        #[arg(long)]
        signature: PathBuf,
    },
    /// Webhook signatures: HMAC-SHA-256 over `timestamp.body`.
    #[command(
        subcommand,
        after_help = "Example:\n  coffer --user alice hmac sign --key hooks --in body.json"
    )]
    Hmac(HmacCommand),
    /// The audit log (auditor PIN).
    #[command(subcommand, after_help = "Example:\n  coffer --user audit audit verify")]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Generate a key.
    #[command(after_help = "Example:\n  coffer --user alice key create records --type aes256\n  \
        coffer --user alice key create hooks --type hmac --expires +90d")]
    Create {
        /// The key id (unique in the tenant).
        id: String,
        /// The key type.
        #[arg(long = "type", default_value = "aes256", value_parser = KEY_TYPES)]
        key_type: String,
        /// Comma-separated usages (default by type): encrypt, decrypt, wrap, unwrap, sign, verify, derive.
        #[arg(long)]
        usage: Option<String>,
        /// A free-text label (default: the key id).
        #[arg(long)]
        label: Option<String>,
        /// May leave the keystore, wrapped.
        #[arg(long)]
        extractable: bool,
        /// When the lifecycle sweep deactivates it: 2027-01-31, 2027-01-31T12:00:00Z, Unix seconds, or +30d, +12h, +15m.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List the tenant's keys.
    #[command(after_help = "Example:\n  coffer --user alice key list --json")]
    List,
    /// Show one key.
    #[command(after_help = "Example:\n  coffer --user alice key show records")]
    Show {
        /// The key id.
        id: String,
    },
    /// Make a new current version (old versions still decrypt and verify).
    #[command(after_help = "Example:\n  coffer --user alice key rotate records")]
    Rotate {
        /// The key id.
        id: String,
    },
    /// Destroy every version of a key.
    #[command(after_help = "Example:\n  coffer --user alice key destroy records")]
    Destroy {
        /// The key id.
        id: String,
    },
    /// Set (or with no --at, clear) a key's expiry.
    #[command(after_help = "Example:\n  coffer --user alice key expire records --at 2027-01-31")]
    Expire {
        /// The key id.
        id: String,
        /// 2027-01-31, 2027-01-31T12:00:00Z, Unix seconds, or +30d, +12h, +15m (absent: never).
        #[arg(long)]
        at: Option<String>,
    },
    /// The lifecycle sweep: deactivate the tenant's expired keys.
    #[command(after_help = "Example:\n  coffer --user alice key sweep")]
    Sweep,
    /// Write a key's public key as PEM (SPKI).
    #[command(after_help = "Example:\n  coffer --user alice key export-public release --out release.pub")]
    ExportPublic {
        /// The key id (P-256 or RSA).
        id: String,
        /// Output file (`-` or absent: stdout).
        #[arg(long = "out")]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant (security officer PIN).
    #[command(after_help = "Example:\n  coffer tenant create acme")]
    Create {
        /// The tenant's id: 1 to 64 ASCII letters, digits and . _ - @.
        name: String,
    },
    /// List the tenants (security officer PIN).
    #[command(after_help = "Example:\n  coffer tenant list --json")]
    List,
    /// Destroy every key of a tenant (security officer PIN) and print the evidence.
    #[command(after_help = "Example:\n  coffer tenant shred acme")]
    Shred {
        /// The tenant to crypto-shred.
        tenant: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user bound to tenants, or an auditor, with its own PIN (from
    /// COFFER_NEW_PIN or a prompt). Security officer PIN.
    #[command(after_help = "Example:\n  COFFER_NEW_PIN=... coffer user create alice --tenants acme\n  \
        COFFER_NEW_PIN=... coffer user create audit --auditor")]
    Create {
        /// The user name: 1 to 64 ASCII letters, digits and . _ - @.
        name: String,
        /// The tenants the user may act in, comma-separated (default: --tenant).
        #[arg(long, value_delimiter = ',', conflicts_with = "auditor")]
        tenants: Vec<String>,
        /// An auditor (reads and verifies the audit log; no tenant).
        #[arg(long)]
        auditor: bool,
    },
    /// List the credentials: role, tenants, failed PINs, lock state (security officer PIN).
    #[command(after_help = "Example:\n  coffer user list --json")]
    List,
    /// Remove a credential: it can no longer log in (security officer PIN).
    #[command(after_help = "Example:\n  coffer user remove alice")]
    Remove {
        /// The user name.
        name: String,
    },
}

#[derive(Subcommand)]
enum PinCommand {
    /// Change your own PIN: the current one from COFFER_PIN (or COFFER_SO_PIN
    /// with --so), the new one from COFFER_NEW_PIN, or prompts.
    #[command(after_help = "Example:\n  coffer --user alice pin change\n  coffer pin change --so")]
    Change {
        /// Change the security officer's PIN instead of --user's.
        #[arg(long)]
        so: bool,
    },
    /// Give a locked (or forgotten) credential a new PIN and clear its failure
    /// count (security officer PIN; the new PIN from COFFER_NEW_PIN or a prompt).
    #[command(after_help = "Example:\n  coffer pin unblock alice")]
    Unblock {
        /// The user name.
        name: String,
    },
}

#[derive(Subcommand)]
enum PassphraseCommand {
    /// Re-seal every record under a new passphrase, or under a KEK in a
    /// PKCS#11 HSM (`--new-master-kek`), in one transaction (security
    /// officer PIN); afterwards the old passphrase or KEK opens nothing.
    #[command(after_help = "Example:\n  coffer passphrase change --new-passphrase-file new.txt\n  \
        coffer passphrase change --new-master-kek 'pkcs11:token=vault;object=coffer-master?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:pin.txt'\n  \
        coffer --master-kek 'pkcs11:...' passphrase change --new-passphrase-file new.txt   # back to a passphrase")]
    Change {
        /// A file whose first line is the new passphrase (else
        /// COFFER_NEW_PASSPHRASE or a prompt).
        #[arg(long, conflicts_with = "new_master_kek")]
        new_passphrase_file: Option<PathBuf>,
        /// Re-key under this KEK in a PKCS#11 HSM (a `pkcs11:` URI, as
        /// `--master-kek`; the KEK is generated in the token if it has no key
        /// of that label). Later commands then need `--master-kek <URI>`.
        #[arg(long, value_name = "URI")]
        new_master_kek: Option<String>,
    },
}

/// What `cert issue` and `cert pair` check before they sign, for their --help.
macro_rules! leaf_rules {
    () => {
        "Rules: a certificate never outlives its CA: a validity (--days, --not-after) that ends after \
        the CA certificate's is refused, never shortened; a start (--not-before, or now) before the CA's is \
        moved up to the CA's start. A server certificate (--usage server or both, the default) needs a DNS \
        name or IP address: --san dns:<name> or --san ip:<address> (`cert issue` without --san takes the \
        CSR's names). Every name is checked (see --san). keyUsage (critical) is digitalSignature plus \
        keyEncipherment (RSA) or keyAgreement (P-256) unless --key-usage chooses within the same rules; \
        extendedKeyUsage comes from --usage; basicConstraints CA:FALSE."
    };
}

/// `--scheme`'s values.
const SCHEMES: [&str; 2] = ["pkcs1", "pss"];

/// The CA that signs: its certificate and its key (a file or a keystore key).
#[derive(Args)]
struct CaKeyArgs {
    /// The CA certificate (PEM). The file may go on with the certificates
    /// above the CA (its issuing chain): --bundle-out copies those that are
    /// not self-signed after the new certificate.
    #[arg(long)]
    ca_cert: PathBuf,
    /// The CA's key: a PKCS#8 PEM private key file, or `key:<id>` for a key in
    /// the keystore, which signs there (a user session of --user in --tenant).
    #[arg(long)]
    ca_key: String,
    /// If the --ca-key file is encrypted (ENCRYPTED PRIVATE KEY): a file whose
    /// first line is its passphrase.
    #[arg(long)]
    ca_key_passphrase_file: Option<PathBuf>,
    /// How an RSA CA key signs: pkcs1 (RSASSA-PKCS1-v1_5 with SHA-256, the
    /// default) or pss (RSASSA-PSS, SHA-256, 32-byte salt). Refused for a
    /// P-256 key, which always signs with ECDSA-SHA-256.
    #[arg(long, value_parser = SCHEMES)]
    scheme: Option<String>,
}

#[derive(Args)]
struct IssueArgs {
    #[command(flatten)]
    ca: CaKeyArgs,
    /// Days of validity, 1 to 36500, from --not-before (default: from now,
    /// back-dated 5 minutes for clock skew). Must end by the CA's notAfter.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    days: u32,
    /// Start of validity instead of now: 2027-01-31, 2027-01-31T12:00:00Z
    /// (UTC) or Unix seconds. A start before the CA's notBefore is moved up to it.
    #[arg(long, value_parser = certs::time_arg)]
    not_before: Option<u64>,
    /// End of validity instead of --days (same forms as --not-before). Not
    /// after the CA certificate's notAfter: a certificate never outlives its CA.
    #[arg(long, value_parser = certs::time_arg, conflicts_with = "days")]
    not_after: Option<u64>,
    /// Extended key usage: server (serverAuth), client (clientAuth) or both.
    /// server and both need a DNS or IP name (--san dns:<name>).
    #[arg(long, default_value = "both", value_parser = ["server", "client", "both"])]
    usage: String,
    /// keyUsage instead of the key's default (digitalSignature plus
    /// keyEncipherment for RSA or keyAgreement for P-256): a comma-separated
    /// list of digitalSignature, contentCommitment, keyEncipherment,
    /// keyAgreement (also written key-agreement etc.). digitalSignature is
    /// required; keyEncipherment only with an RSA key, keyAgreement only with P-256.
    #[arg(long)]
    key_usage: Option<String>,
    /// Subject alternative name: dns:<host name>, ip:<address>, uri:<scheme:...>
    /// or email:<local@domain>; for compatibility also a bare IP address or
    /// DNS name (any other bare value, e.g. user@example.com, is refused). A
    /// DNS name is labels of letters, digits and inner hyphens (1 to 63 bytes,
    /// 253 in all), optionally starting with `*.`. Repeatable.
    #[arg(long)]
    san: Vec<String>,
    /// Also write a full-chain bundle (PEM) here: the new certificate, then
    /// the --ca-cert file's certificates that are not self-signed (the CA and
    /// any intermediates above it, in the file's order), as a TLS peer sends them.
    #[arg(long)]
    bundle_out: Option<PathBuf>,
}

#[derive(Subcommand)]
enum CertCommand {
    /// A self-signed CA: a new key written to a file, or a key in the keystore, and its certificate.
    #[command(
        after_help = "Example:\n  coffer cert ca --subject \"CN=Acme Agents CA\" --key-out ca.key --cert-out ca.crt\n  \
        coffer cert ca --subject \"CN=Acme Root\" --algorithm rsa4096 --scheme pss --not-after 2036-01-01 \
        --key-out root.key --key-passphrase-file root.pass --cert-out root.crt\n  \
        coffer --user alice key create root-ca --type p256 --usage sign,verify\n  \
        coffer --user alice cert ca --in-store root-ca --subject \"CN=Acme Root\" --cert-out root.crt\n  \
        coffer --user alice cert issue --ca-cert root.crt --ca-key key:root-ca --csr agent7.csr --out agent7.crt"
    )]
    Ca {
        /// The CA's distinguished name, e.g. "CN=Acme Agents CA,O=Acme".
        #[arg(long)]
        subject: String,
        /// Use the keystore's P-256 or RSA key with this id (usage sign) as the CA
        /// key: it signs inside the keystore and never leaves it.
        #[arg(long, conflicts_with_all = ["algorithm", "key_out"], required_unless_present = "key_out")]
        in_store: Option<String>,
        /// The new CA key's algorithm.
        #[arg(long, default_value = "p256", value_parser = ALGORITHMS)]
        algorithm: String,
        /// How an RSA key signs: pkcs1 (RSASSA-PKCS1-v1_5 with SHA-256, the
        /// default) or pss (RSASSA-PSS, SHA-256, 32-byte salt). Refused for a
        /// P-256 key, which always signs with ECDSA-SHA-256.
        #[arg(long, value_parser = SCHEMES)]
        scheme: Option<String>,
        /// Days of validity, 1 to 36500, from --not-before (default: from now,
        /// back-dated 5 minutes for clock skew).
        #[arg(long, default_value_t = 3650, value_parser = clap::value_parser!(u32).range(1..=36_500))]
        days: u32,
        /// Start of validity instead of now: 2027-01-31, 2027-01-31T12:00:00Z
        /// (UTC) or Unix seconds.
        #[arg(long, value_parser = certs::time_arg)]
        not_before: Option<u64>,
        /// End of validity instead of --days (same forms as --not-before).
        #[arg(long, value_parser = certs::time_arg, conflicts_with = "days")]
        not_after: Option<u64>,
        /// How many intermediate CAs may follow it (absent: no limit).
        #[arg(long)]
        path_len: Option<u8>,
        /// Where the new PKCS#8 PEM private key goes (mode 0600).
        #[arg(long)]
        key_out: Option<PathBuf>,
        /// Encrypt the new key (ENCRYPTED PRIVATE KEY: PBES2, PBKDF2-HMAC-SHA-256,
        /// AES-256-CBC) under the first line of this file.
        #[arg(long, conflicts_with = "in_store")]
        key_passphrase_file: Option<PathBuf>,
        /// Where the certificate (PEM) goes.
        #[arg(long)]
        cert_out: PathBuf,
    },
    /// A CSR (PKCS#10, PEM) for an existing key.
    #[command(
        after_help = "Example:\n  coffer cert csr --key agent7.key --subject CN=agent-7 --san dns:agent-7.acme.internal \
        --san ip:10.0.0.7 --out agent7.csr"
    )]
    Csr {
        /// The key to certify: a PKCS#8 PEM private key file, or `key:<id>` for a
        /// key in the keystore (an intermediate CA's, say), which signs there.
        #[arg(long)]
        key: String,
        /// If the --key file is encrypted (ENCRYPTED PRIVATE KEY): a file whose
        /// first line is its passphrase.
        #[arg(long)]
        key_passphrase_file: Option<PathBuf>,
        /// How an RSA key signs the request: pkcs1 (RSASSA-PKCS1-v1_5 with
        /// SHA-256, the default) or pss (RSASSA-PSS). Refused for a P-256 key.
        #[arg(long, value_parser = SCHEMES)]
        scheme: Option<String>,
        /// The requested distinguished name, e.g. "CN=agent-7,O=Acme".
        #[arg(long)]
        subject: String,
        /// Subject alternative name: dns:<host name>, ip:<address>, uri:<scheme:...>
        /// or email:<local@domain>; for compatibility also a bare IP address or
        /// DNS name (any other bare value is refused). Repeatable.
        #[arg(long)]
        san: Vec<String>,
        /// Where the CSR goes.
        #[arg(long = "out")]
        output: PathBuf,
    },
    /// Issue a certificate from a CSR.
    #[command(after_help = concat!(
        leaf_rules!(),
        "\n\nExample:\n  coffer cert issue --ca-cert ca.crt --ca-key ca.key --csr agent7.csr --usage client --out agent7.crt\n  \
        coffer cert issue --ca-cert ca.crt --ca-key ca.key --ca-key-passphrase-file ca.pass --csr web.csr \
        --usage server --san dns:web.acme.internal --not-after 2027-06-30 --out web.crt"
    ))]
    Issue {
        #[command(flatten)]
        issue: IssueArgs,
        /// The CSR (PEM); its signature is checked.
        #[arg(long)]
        csr: PathBuf,
        /// Where the certificate (PEM) goes.
        #[arg(long = "out")]
        output: PathBuf,
    },
    /// A new key pair and its certificate, e.g. one per agent.
    #[command(after_help = concat!(
        leaf_rules!(),
        "\n\nExample:\n  coffer cert pair --ca-cert ca.crt --ca-key ca.key --subject CN=agent-7 \
        --san dns:agent-7.acme.internal --algorithm rsa4096 --key-out agent7.key --cert-out agent7.crt\n  \
        coffer cert pair --ca-cert ca.crt --ca-key ca.key --subject CN=agent-8 --usage client \
        --key-out agent8.key --key-passphrase-file agent8.pass --cert-out agent8.crt"
    ))]
    Pair {
        #[command(flatten)]
        issue: IssueArgs,
        /// The distinguished name, e.g. "CN=agent-7,O=Acme".
        #[arg(long)]
        subject: String,
        /// The new key's algorithm.
        #[arg(long, default_value = "rsa4096", value_parser = ALGORITHMS)]
        algorithm: String,
        /// Where the new PKCS#8 PEM private key goes (mode 0600).
        #[arg(long)]
        key_out: PathBuf,
        /// Encrypt the new key (ENCRYPTED PRIVATE KEY: PBES2, PBKDF2-HMAC-SHA-256,
        /// AES-256-CBC) under the first line of this file.
        #[arg(long)]
        key_passphrase_file: Option<PathBuf>,
        /// Where the certificate (PEM) goes.
        #[arg(long)]
        cert_out: PathBuf,
    },
    /// Renew a certificate: the same subject, names and usage with a new
    /// validity and serial, for the same key or a new one, signed by its issuer.
    #[command(after_help = "Rules: only the CA that issued the certificate renews it (--ca-cert is its \
        issuer, by name and signature); the old certificate may have expired; a CA certificate is not renewed \
        here (certify a new request with `cert intermediate`). The new certificate never outlives its CA, as \
        for `cert issue`. Without --new-key-out it certifies the old certificate's key.\n\n\
        Example:\n  coffer cert renew --ca-cert issuing.crt --ca-key key:issuing-ca --days 90 --out agent7.new.crt agent7.crt\n  \
        coffer cert renew --ca-cert ca.crt --ca-key ca.key --new-key-out agent7.new.key --out agent7.new.crt \
        --bundle-out agent7.fullchain.pem agent7.crt")]
    Renew {
        #[command(flatten)]
        ca: CaKeyArgs,
        /// Days of validity, 1 to 36500, from --not-before (default: from now,
        /// back-dated 5 minutes for clock skew). Must end by the CA's notAfter.
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=36_500))]
        days: u32,
        /// Start of validity instead of now: 2027-01-31, 2027-01-31T12:00:00Z
        /// (UTC) or Unix seconds. A start before the CA's notBefore is moved up to it.
        #[arg(long, value_parser = certs::time_arg)]
        not_before: Option<u64>,
        /// End of validity instead of --days (same forms as --not-before), not
        /// after the CA certificate's notAfter.
        #[arg(long, value_parser = certs::time_arg, conflicts_with = "days")]
        not_after: Option<u64>,
        /// Certify a new key instead of the old one: generate it and write it
        /// here (PKCS#8 PEM, mode 0600).
        #[arg(long)]
        new_key_out: Option<PathBuf>,
        /// The new key's algorithm (default: the old key's).
        #[arg(long, value_parser = ALGORITHMS)]
        algorithm: Option<String>,
        /// Encrypt the new key (ENCRYPTED PRIVATE KEY: PBES2, PBKDF2-HMAC-SHA-256,
        /// AES-256-CBC) under the first line of this file.
        #[arg(long)]
        key_passphrase_file: Option<PathBuf>,
        /// Where the new certificate (PEM) goes.
        #[arg(long = "out")]
        output: PathBuf,
        /// Also write a full-chain bundle (PEM) here, as for `cert issue`.
        #[arg(long)]
        bundle_out: Option<PathBuf>,
        /// The certificate to renew (PEM).
        cert: PathBuf,
    },
    /// Verify a certificate now: a path through intermediates to a trusted CA
    /// (RFC 5280: signatures, validity, CA flags and path lengths, purpose,
    /// name, revocation). Chains of up to 8 certificates.
    #[command(after_help = "Example:\n  coffer cert verify --ca root.crt agent7.crt\n  \
        coffer cert verify --ca root.crt --untrusted issuing.crt --purpose client --crl issuing.crl agent7.crt\n  \
        coffer cert verify --ca root.crt --purpose server --dns-name api.acme.test fullchain.pem")]
    Verify {
        /// A trusted CA certificate (PEM; a file may hold several). Repeatable.
        #[arg(long, required = true)]
        ca: Vec<PathBuf>,
        /// Intermediate certificates that may complete the path (PEM bundles, not trusted). Repeatable.
        #[arg(long)]
        untrusted: Vec<PathBuf>,
        /// A revocation list (PEM) to check the path against; a list signed by a path CA must be current. Repeatable.
        #[arg(long)]
        crl: Vec<PathBuf>,
        /// The use to check the leaf's extendedKeyUsage for.
        #[arg(long, value_parser = ["server", "client"])]
        purpose: Option<String>,
        /// The DNS name the leaf must carry as a subjectAltName (wildcards match one label).
        #[arg(long, conflicts_with = "ip")]
        dns_name: Option<String>,
        /// The IP address the leaf must carry as a subjectAltName.
        #[arg(long)]
        ip: Option<std::net::IpAddr>,
        /// The certificate to check (PEM); further blocks in the file are untrusted intermediates.
        cert: PathBuf,
    },
    /// Certify a request as an intermediate CA below the given CA (path length
    /// rules: none under a CA with path length 0; a requested limit must be below the CA's).
    #[command(
        after_help = "Example:\n  coffer --user alice key create issuing-ca --type p256 --usage sign,verify\n  \
        coffer --user alice cert csr --key key:issuing-ca --subject \"CN=Acme Issuing CA\" --out issuing.csr\n  \
        coffer --user alice cert intermediate --ca-cert root.crt --ca-key key:root-ca --csr issuing.csr --out issuing.crt"
    )]
    Intermediate {
        #[command(flatten)]
        ca: CaKeyArgs,
        /// The intermediate's request (PEM); its signature is checked.
        #[arg(long)]
        csr: PathBuf,
        /// How many further intermediates may follow it (default: one less than the CA's limit).
        #[arg(long)]
        path_len: Option<u8>,
        /// Days of validity, 1 to 36500; must end by the CA's notAfter.
        #[arg(long, default_value_t = 1825, value_parser = clap::value_parser!(u32).range(1..=36_500))]
        days: u32,
        /// Where the certificate (PEM) goes.
        #[arg(long = "out")]
        output: PathBuf,
    },
    /// Show a certificate (or a bundle), a certificate request or a revocation list.
    #[command(after_help = "Example:\n  coffer cert show agent7.crt\n  coffer --json cert show issuing.crl")]
    Show {
        /// The PEM file.
        file: PathBuf,
    },
    /// Sign a revocation list (CRL) with a CA key file or a CA key in the keystore.
    #[command(
        after_help = "Example:\n  coffer cert crl --ca-cert issuing.crt --ca-key key:issuing-ca --revoke agent9.crt --number 3 --out issuing.crl"
    )]
    Crl {
        #[command(flatten)]
        ca: CaKeyArgs,
        /// A certificate (PEM) to list as revoked now. Repeatable.
        #[arg(long)]
        revoke: Vec<PathBuf>,
        /// A serial number (hex, as `cert show` prints it) to list as revoked now. Repeatable.
        #[arg(long)]
        revoke_serial: Vec<String>,
        /// The cRLNumber: higher than that of the CA's previous list.
        #[arg(long)]
        number: u64,
        /// Days until the next list is due (nextUpdate), 1 to 366.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
        /// Where the CRL (PEM) goes.
        #[arg(long = "out")]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum HmacCommand {
    /// Print `t=<seconds>,v1=<hex>` for a body.
    #[command(after_help = "Example:\n  coffer --user alice hmac sign --key hooks --in body.json")]
    Sign {
        /// The HMAC key in the keystore.
        #[arg(long)]
        key: String,
        /// The webhook body.
        #[arg(long = "in")]
        input: PathBuf,
        /// Seconds since the epoch (default now).
        #[arg(long)]
        timestamp: Option<u64>,
    },
    /// Check a `t=...,v1=...` header within a tolerance window.
    #[command(
        after_help = "Example:\n  coffer --user alice hmac verify --key hooks --in body.json --signature \"t=1764000000,v1=5d1f...\""
    )]
    Verify {
        /// The HMAC key in the keystore.
        #[arg(long)]
        key: String,
        /// The webhook body.
        #[arg(long = "in")]
        input: PathBuf,
        /// The signature header, `t=<seconds>,v1=<hex>`.
        #[arg(long)]
        signature: String,
        /// Seconds the timestamp may differ from now, either way.
        #[arg(long, default_value_t = 300)]
        tolerance: u64,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Print the records, one per line (--json: structured fields, ISO 8601 UTC
    /// times). Auditor credential (--user, COFFER_AUDITOR_PIN).
    #[command(after_help = "Example:\n  coffer --user audit audit show --of-tenant acme --since 2026-11-01")]
    Show {
        /// Only records about this tenant (its logins, keys, refusals).
        #[arg(long)]
        of_tenant: Option<String>,
        /// Only records of this user (who acted or was refused).
        #[arg(long)]
        by: Option<String>,
        /// Only records about keys with this key id.
        #[arg(long)]
        key: Option<String>,
        /// Only records at or after this time (2026-11-25, 2026-11-25T18:00:00Z or Unix seconds).
        #[arg(long)]
        since: Option<String>,
        /// Only records at or before this time (same forms as --since).
        #[arg(long)]
        until: Option<String>,
    },
    /// Verify the HMAC chain and every credential against it; print the head
    /// to keep (auditor credential).
    #[command(after_help = "Example:\n  coffer --user audit audit verify --expect-head 120:3f9a...")]
    Verify {
        /// A head printed by an earlier `audit verify` (`<count>:<mac hex>`):
        /// fail if the log no longer holds that record with that MAC (rewritten or shortened).
        #[arg(long)]
        expect_head: Option<String>,
    },
}

fn run(cli: Cli) -> Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Demo { .. } => Ok(()),
        Command::Init => {
            Store::create(&g.location())?;
            let text = match store::Backend::parse(&g.store) {
                store::Backend::Sqlite(p) => format!("keystore created at {}", p.display()),
                store::Backend::Postgres(_) => "keystore created in the PostgreSQL database".to_string(),
            };
            report::result(&text, &serde_json::json!({"created": true}))
        }
        Command::Migrate { from, to } => store::migrate(&from, &to, &g.location()),
        Command::Key(k) => {
            let mut store = g.open()?;
            match k {
                KeyCommand::Create { id, key_type, usage, label, extractable, expires } => keys::create(
                    &mut store,
                    &keys::Create {
                        key_id: &id,
                        key_type: &key_type,
                        usage: usage.as_deref(),
                        label: label.as_deref(),
                        extractable,
                        expires: expires.as_deref(),
                    },
                ),
                KeyCommand::List => keys::list(&mut store, g.json),
                KeyCommand::Show { id } => keys::show(&mut store, &id),
                KeyCommand::Rotate { id } => keys::rotate(&mut store, &id),
                KeyCommand::Destroy { id } => keys::destroy(&mut store, &id),
                KeyCommand::Expire { id, at } => keys::expire(&mut store, &id, at.as_deref()),
                KeyCommand::Sweep => keys::sweep(&mut store),
                KeyCommand::ExportPublic { id, output } => {
                    let target = output::Target::plan(output.as_deref(), false)?;
                    let pem = keys::export_public(&mut store, &id)?;
                    target.write_bytes(output::Access::Public, pem.as_bytes())
                }
            }
        }
        Command::Tenant(t) => {
            let mut store = g.open()?;
            match t {
                TenantCommand::Create { name } => admin::tenant_create(&mut store, &name),
                TenantCommand::List => admin::tenant_list(&mut store, g.json),
                TenantCommand::Shred { tenant } => admin::tenant_shred(&mut store, &tenant, g.json),
            }
        }
        Command::User(u) => {
            let mut store = g.open()?;
            match u {
                UserCommand::Create { name, tenants, auditor } => {
                    let tenants = if tenants.is_empty() && !auditor {
                        g.tenant.iter().cloned().collect()
                    } else {
                        tenants
                    };
                    admin::user_create(&mut store, &name, &tenants, auditor)
                }
                UserCommand::List => admin::user_list(&mut store, g.json),
                UserCommand::Remove { name } => admin::user_remove(&mut store, &name),
            }
        }
        Command::Pin(p) => {
            let mut store = g.open()?;
            match p {
                PinCommand::Change { so } => admin::pin_change(&mut store, so),
                PinCommand::Unblock { name } => admin::pin_unblock(&mut store, &name),
            }
        }
        Command::Passphrase(PassphraseCommand::Change { new_passphrase_file, new_master_kek }) => {
            admin::passphrase_change(
                &mut g.open()?,
                new_passphrase_file.as_deref(),
                new_master_kek.as_deref(),
            )
        }
        Command::Encrypt { recipients, context, context_hex, input, output } => data::encrypt(
            || g.open(),
            &data::Encrypt {
                recipients: &recipients,
                context: &context,
                context_hex: &context_hex,
                input: input.as_deref(),
                output: output.as_deref(),
            },
        ),
        Command::Decrypt {
            key,
            private_key,
            key_passphrase_file,
            key_id,
            key_version,
            context,
            context_hex,
            input,
            output,
        } => {
            certs::passphrase_needs_key_file(key_passphrase_file.as_deref(), private_key.as_deref())?;
            let opener = match (&key, &private_key) {
                (Some(uri), None) if uri.starts_with("pkcs11:") => data::Opener::Pkcs11(uri),
                (Some(id), None) => data::Opener::Stored(id),
                (None, Some(path)) => data::Opener::File {
                    path,
                    passphrase: key_passphrase_file.as_deref(),
                    key_id: key_id.as_deref(),
                    version: key_version,
                },
                _ => return Err(fail::Fail::usage("give exactly one of --key <id> or --private-key <file>")),
            };
            data::decrypt(
                || g.open(),
                &data::Decrypt {
                    opener,
                    context: &context,
                    context_hex: &context_hex,
                    input: input.as_deref(),
                    output: output.as_deref(),
                },
            )
        }
        Command::Rewrap { key, input, output } => {
            data::rewrap(&mut g.open()?, &key, &input, output.as_deref())
        }
        Command::Inspect { input } => data::inspect(input.as_deref()),
        Command::Cert(c) => match c {
            CertCommand::Ca {
                subject,
                in_store,
                algorithm,
                scheme,
                days,
                not_before,
                not_after,
                path_len,
                key_out,
                key_passphrase_file,
                cert_out,
            } => certs::ca(
                &certs::NewCa {
                    subject: &subject,
                    in_store: in_store.as_deref(),
                    algorithm: &algorithm,
                    window: certs::Window { days, not_before, not_after },
                    path_len,
                    scheme: scheme.as_deref(),
                    key_out: key_out.as_deref(),
                    key_passphrase_file: key_passphrase_file.as_deref(),
                    cert_out: &cert_out,
                },
                || g.open(),
            ),
            CertCommand::Csr { key, key_passphrase_file, scheme, subject, san, output } => certs::csr(
                &certs::Request {
                    key: certs::KeySpec::parse(&key),
                    subject: &subject,
                    san: &san,
                    scheme: scheme.as_deref(),
                    key_passphrase_file: key_passphrase_file.as_deref(),
                    out: &output,
                },
                || g.open(),
            ),
            CertCommand::Issue { issue, csr, output } => {
                certs::issue(&issue_args(&issue), &csr, &output, || g.open())
            }
            CertCommand::Pair { issue, subject, algorithm, key_out, key_passphrase_file, cert_out } => {
                let new = certs::NewPair {
                    subject: &subject,
                    algorithm: &algorithm,
                    key_out: &key_out,
                    key_passphrase_file: key_passphrase_file.as_deref(),
                    cert_out: &cert_out,
                };
                certs::pair(&issue_args(&issue), &new, || g.open())
            }
            CertCommand::Verify { ca, untrusted, crl, purpose, dns_name, ip, cert } => {
                certs::verify(&certs::Verify {
                    ca: &ca,
                    cert: &cert,
                    untrusted: &untrusted,
                    crl: &crl,
                    purpose: purpose.as_deref(),
                    dns_name: dns_name.as_deref(),
                    ip,
                })
            }
            CertCommand::Show { file } => certs::show(&file),
            CertCommand::Renew {
                ca,
                days,
                not_before,
                not_after,
                new_key_out,
                algorithm,
                key_passphrase_file,
                output,
                bundle_out,
                cert,
            } => {
                let issue = certs::Issue {
                    ca_cert: &ca.ca_cert,
                    ca_key: certs::KeySpec::parse(&ca.ca_key),
                    ca_key_passphrase_file: ca.ca_key_passphrase_file.as_deref(),
                    scheme: ca.scheme.as_deref(),
                    window: certs::Window { days, not_before, not_after },
                    usage: "both",
                    san: &[],
                    key_usage: None,
                    bundle_out: bundle_out.as_deref(),
                };
                let renewal = certs::Renewal {
                    old: &cert,
                    out: &output,
                    new_key_out: new_key_out.as_deref(),
                    algorithm: algorithm.as_deref(),
                    key_passphrase_file: key_passphrase_file.as_deref(),
                };
                certs::renew(&issue, &renewal, || g.open())
            }
            CertCommand::Intermediate { ca, csr, path_len, days, output } => certs::intermediate(
                &certs::NewIntermediate {
                    ca_cert: &ca.ca_cert,
                    ca_key: certs::KeySpec::parse(&ca.ca_key),
                    ca_key_passphrase_file: ca.ca_key_passphrase_file.as_deref(),
                    scheme: ca.scheme.as_deref(),
                    csr: &csr,
                    path_len,
                    days,
                    out: &output,
                },
                || g.open(),
            ),
            CertCommand::Crl { ca, revoke, revoke_serial, number, days, output } => certs::crl(
                &certs::NewCrl {
                    ca_cert: &ca.ca_cert,
                    ca_key: certs::KeySpec::parse(&ca.ca_key),
                    ca_key_passphrase_file: ca.ca_key_passphrase_file.as_deref(),
                    scheme: ca.scheme.as_deref(),
                    revoke: &revoke,
                    revoke_serial: &revoke_serial,
                    number,
                    days,
                    out: &output,
                },
                || g.open(),
            ),
        },
        Command::Wrap { key, kw, public_key, input, output } => {
            ops::wrap(kw, || g.open(), key.as_deref(), public_key.as_deref(), &input, &output)
        }
        Command::Unwrap { key, kw, private_key, key_passphrase_file, input, output } => {
            certs::passphrase_needs_key_file(key_passphrase_file.as_deref(), private_key.as_deref())?;
            ops::unwrap(
                kw,
                || g.open(),
                key.as_deref(),
                private_key.as_deref(),
                key_passphrase_file.as_deref(),
                &input,
                &output,
            )
        }
        Command::Sign { key, input, output } => ops::sign(&mut g.open()?, &key, &input, &output),
        Command::Verify { key, public_key, input, signature } => {
            ops::verify(|| g.open(), key.as_deref(), public_key.as_deref(), &input, &signature)
        }
        Command::Hmac(h) => {
            let mut store = g.open()?;
            match h {
                HmacCommand::Sign { key, input, timestamp } => {
                    ops::hmac_sign(&mut store, &key, &input, timestamp)
                }
                HmacCommand::Verify { key, input, signature, tolerance } => {
                    ops::hmac_verify(&mut store, &key, &input, &signature, tolerance)
                }
            }
        }
        Command::Audit(a) => {
            let mut store = g.open()?;
            match a {
                AuditCommand::Show { of_tenant, by, key, since, until } => {
                    let filter = audit_cmd::Filter { tenant: of_tenant, user: by, key, since, until };
                    audit_cmd::show(&mut store, &filter, g.json)
                }
                AuditCommand::Verify { expect_head } => audit_cmd::verify(&mut store, expect_head.as_deref()),
            }
        }
    }
}

fn issue_args(a: &IssueArgs) -> certs::Issue<'_> {
    certs::Issue {
        ca_cert: &a.ca.ca_cert,
        ca_key: certs::KeySpec::parse(&a.ca.ca_key),
        ca_key_passphrase_file: a.ca.ca_key_passphrase_file.as_deref(),
        scheme: a.ca.scheme.as_deref(),
        window: certs::Window { days: a.days, not_before: a.not_before, not_after: a.not_after },
        usage: &a.usage,
        san: &a.san,
        key_usage: a.key_usage.as_deref(),
        bundle_out: a.bundle_out.as_deref(),
    }
}

fn main() -> ExitCode {
    let wants_json = std::env::args_os().any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if wants_json && e.use_stderr() => {
            report::set_json(true);
            let first = e.render().to_string();
            let what = first.lines().next().unwrap_or_default().trim_start_matches("error: ").to_string();
            report::error(&fail::Fail::usage(what).hint("see --help"));
            return ExitCode::from(fail::exit::USAGE);
        }
        Err(e) => e.exit(),
    };
    report::set_json(cli.global.json);
    output::set_force(cli.global.force);
    interrupt::install();
    if let Command::Demo { keep } = cli.command {
        return demo::run(keep);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) if fail.code == fail::exit::READER_GONE => ExitCode::SUCCESS,
        Err(fail) => {
            report::error(&fail);
            ExitCode::from(fail.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every command and subcommand, with its path (`coffer key create`).
    fn all_commands() -> Vec<(String, clap::Command)> {
        fn walk(path: &str, cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let p = format!("{path} {}", sub.get_name());
                out.push((p.clone(), sub.clone()));
                walk(&p, sub, out);
            }
        }
        let mut root = Cli::command();
        root.build();
        let mut out = vec![("coffer".to_string(), root.clone())];
        walk("coffer", &root, &mut out);
        out
    }

    #[test]
    fn every_command_has_an_example_and_every_option_a_description() {
        let commands = all_commands();
        assert!(commands.len() > 40, "{} commands", commands.len());
        for (path, cmd) in &commands {
            let after = cmd.get_after_help().map(ToString::to_string).unwrap_or_default();
            let example = after.split_once("Example:").map(|(_, e)| e).unwrap_or_default();
            assert!(example.contains("coffer "), "{path} has no example");
            assert!(cmd.get_about().is_some(), "{path} has no description");
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                assert!(
                    arg.get_help().is_some_and(|h| h.to_string().len() > 5),
                    "{path}: option {id} has no description"
                );
            }
        }
    }

    #[test]
    fn options_with_a_fixed_set_of_values_list_them() {
        for (path, cmd) in all_commands() {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if ["key_type", "algorithm", "usage"].contains(&id) && !path.ends_with("key create") {
                    assert!(!arg.get_possible_values().is_empty(), "{path}: --{id} lists no values");
                }
            }
        }
        let create = all_commands().into_iter().find(|(p, _)| p == "coffer key create").map(|(_, c)| c);
        let key_type = create.as_ref().and_then(|c| c.get_arguments().find(|a| a.get_id() == "key_type"));
        assert_eq!(key_type.map(|a| a.get_possible_values().len()), Some(super::KEY_TYPES.len()));
    }
}
