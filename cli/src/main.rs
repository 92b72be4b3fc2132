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
mod keys;
mod ops;
mod secret_input;
mod store;
mod time;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::fail::Result;
use crate::store::{Location, Store};

const EXIT_CODES: &str = "\
Exit codes: 0 done; 1 refused (decryption or verification failed, key policy or state, \
unknown key); 2 bad command line; 3 keystore does not open or PIN wrong or locked; 4 file I/O failed.

Credentials: the security officer (created by `init`) makes tenants and the users bound to
them (`coffer tenant create`, `coffer user create`); user and auditor commands log in as
--user <name> ($COFFER_USER), a user in --tenant <id> ($COFFER_TENANT, default: its only tenant).

Secrets: the keystore passphrase comes from --passphrase-file, $COFFER_PASSPHRASE or a prompt;
PINs from $COFFER_PIN (--user's PIN), $COFFER_SO_PIN (security officer), $COFFER_AUDITOR_PIN
(--user's PIN for audit commands), $COFFER_NEW_PIN (a PIN being set), or a prompt.";

/// coffer: envelope encryption, certificate pairs and a software HSM.
#[derive(Parser)]
#[command(version, about, after_help = EXIT_CODES)]
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
    /// The credential user and audit commands log in as (see `coffer user list`).
    #[arg(long, global = true, env = "COFFER_USER")]
    user: Option<String>,
    /// The tenant a user session acts in (default: the user's only tenant).
    #[arg(long, global = true, env = "COFFER_TENANT")]
    tenant: Option<String>,
    /// Print JSON (list, show, inspect, shred, audit show).
    #[arg(long, global = true)]
    json: bool,
}

impl Global {
    fn location(&self) -> Location {
        Location {
            store: self.store.clone(),
            passphrase_file: self.passphrase_file.clone(),
            generation_file: self.generation_file.clone(),
            user: self.user.clone(),
            tenant: self.tenant.clone(),
        }
    }

    fn open(&self) -> Result<Store> {
        Store::open(&self.location())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Play the seed scenarios end to end in a temporary SQLite keystore.
    ///
    /// Example: `cargo run --release -p coffer-cli -- demo`
    Demo {
        /// Keep the temporary keystore directory and print its path.
        #[arg(long)]
        keep: bool,
    },
    /// Create a keystore (SQLite file or PostgreSQL database) with one token and its security officer PIN.
    ///
    /// Example: `COFFER_PASSPHRASE=... COFFER_SO_PIN=... coffer init`, then `coffer tenant create` and `coffer user create`.
    Init,
    /// Copy a version-1 sealed keystore file into a new store (same passphrase).
    ///
    /// Example: `coffer migrate --from ./coffer-store --to ./coffer-store.db`
    Migrate {
        /// The version-1 keystore file (only read).
        #[arg(long)]
        from: PathBuf,
        /// The new store: a SQLite file that does not exist yet, or a `postgres://` URL of an empty database.
        #[arg(long)]
        to: String,
    },
    /// Create, list, show, rotate, expire or destroy keys of a tenant.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Create and list tenants, crypto-shred one (security officer).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Create, list and remove user and auditor credentials (security officer).
    #[command(subcommand)]
    User(UserCommand),
    /// Change your own PIN, or unblock someone else's (security officer).
    #[command(subcommand)]
    Pin(PinCommand),
    /// Re-key the keystore under a new passphrase (security officer).
    #[command(subcommand)]
    Passphrase(PassphraseCommand),
    /// Seal a file or stdin as an envelope for one or more recipients.
    ///
    /// Example: `coffer --tenant acme encrypt --recipient key:records --recipient agent7.crt --context tenant=acme --in report.pdf --out report.pdf.cfr`
    Encrypt {
        /// `key:<id>` (a KEK or RSA key in the keystore), or `[id=]<file>`
        /// (a PEM public key or certificate). Repeatable.
        #[arg(long = "recipient", required = true)]
        recipients: Vec<String>,
        /// Encryption context entry `key=value`, bound to the envelope. Repeatable.
        #[arg(long = "context")]
        context: Vec<String>,
        /// Input file (default stdin).
        #[arg(long = "in")]
        input: Option<PathBuf>,
        /// Output file (default stdout).
        #[arg(long = "out")]
        output: Option<PathBuf>,
    },
    /// Open an envelope; nothing is written unless it authenticates entirely.
    ///
    /// Example: `coffer --tenant acme decrypt --key records --context tenant=acme --in r.cfr --out r.txt`
    Decrypt {
        /// A key in the keystore.
        #[arg(long, conflicts_with = "private_key")]
        key: Option<String>,
        /// A PKCS#8 PEM private key file (RSA or P-256) instead.
        #[arg(long)]
        private_key: Option<PathBuf>,
        /// The context the envelope was sealed with. Repeatable.
        #[arg(long = "context")]
        context: Vec<String>,
        /// Input file (default stdin).
        #[arg(long = "in")]
        input: Option<PathBuf>,
        /// Output file (default stdout).
        #[arg(long = "out")]
        output: Option<PathBuf>,
    },
    /// Move an envelope to the current version of its KEK (header only).
    Rewrap {
        /// The KEK in the keystore.
        #[arg(long)]
        key: String,
        /// The envelope file.
        #[arg(long = "in")]
        input: PathBuf,
        /// Where to write it (default: replace the input).
        #[arg(long = "out")]
        output: Option<PathBuf>,
    },
    /// Show an envelope's header (recipients, context, sizes) without decrypting.
    Inspect {
        /// The envelope file (default stdin).
        #[arg(long = "in")]
        input: Option<PathBuf>,
    },
    /// Certificates: a CA, CSRs, issuing, verifying, key+certificate pairs.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Wrap key material: AES-KWP (or AES-KW with --kw) under a stored KEK, or RSA-OAEP to a public key.
    ///
    /// Example: `coffer --tenant acme wrap --key transport --in dek.bin --out dek.wrapped`
    Wrap {
        #[arg(long, conflicts_with = "public_key")]
        key: Option<String>,
        /// AES-KW (RFC 3394, input a multiple of 8 bytes) instead of AES-KWP (RFC 5649).
        #[arg(long, requires = "key")]
        kw: bool,
        #[arg(long)]
        public_key: Option<PathBuf>,
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long = "out")]
        output: PathBuf,
    },
    /// Unwrap key material (written with mode 0600, never over a file).
    Unwrap {
        #[arg(long, conflicts_with = "private_key")]
        key: Option<String>,
        /// AES-KW (RFC 3394) instead of AES-KWP.
        #[arg(long, requires = "key")]
        kw: bool,
        #[arg(long)]
        private_key: Option<PathBuf>,
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long = "out")]
        output: PathBuf,
    },
    /// Sign a file with a stored P-256 (ECDSA) or RSA (PSS) key.
    Sign {
        #[arg(long)]
        key: String,
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long = "out")]
        output: PathBuf,
    },
    /// Verify a signature with a stored key or a public key / certificate file.
    Verify {
        #[arg(long, conflicts_with = "public_key")]
        key: Option<String>,
        #[arg(long)]
        public_key: Option<PathBuf>,
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long)]
        signature: PathBuf,
    },
    /// Webhook signatures: HMAC-SHA-256 over `timestamp.body`.
    #[command(subcommand)]
    Hmac(HmacCommand),
    /// The audit log (auditor PIN).
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Generate a key.
    ///
    /// Example: `coffer --tenant acme key create records --type aes256`
    Create {
        /// The key id (unique in the tenant).
        id: String,
        /// aes256, hmac, p256, rsa2048, rsa3072 or rsa4096.
        #[arg(long = "type", default_value = "aes256")]
        key_type: String,
        /// Comma-separated: encrypt, decrypt, wrap, unwrap, sign, verify, derive (default by type).
        #[arg(long)]
        usage: Option<String>,
        #[arg(long)]
        label: Option<String>,
        /// May leave the keystore, wrapped.
        #[arg(long)]
        extractable: bool,
        /// When the lifecycle sweep deactivates it: seconds since the epoch or +30d, +12h.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List the tenant's keys.
    List,
    /// Show one key.
    Show { id: String },
    /// Make a new current version (old versions still decrypt and verify).
    Rotate { id: String },
    /// Destroy every version of a key.
    Destroy { id: String },
    /// Set (or with no --at, clear) a key's expiry.
    Expire {
        id: String,
        #[arg(long)]
        at: Option<String>,
    },
    /// The lifecycle sweep: deactivate the tenant's expired keys.
    Sweep,
    /// Write a key's public key as PEM (SPKI).
    ExportPublic {
        id: String,
        #[arg(long = "out")]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant (security officer PIN).
    ///
    /// Example: `coffer tenant create acme`
    Create {
        /// The tenant's id: 1 to 64 ASCII letters, digits and . _ - @.
        name: String,
    },
    /// List the tenants (security officer PIN).
    ///
    /// Example: `coffer tenant list --json`
    List,
    /// Destroy every key of a tenant (security officer PIN) and print the evidence.
    ///
    /// Example: `coffer tenant shred acme`
    Shred {
        /// The tenant to crypto-shred.
        tenant: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user bound to tenants, or an auditor, with its own PIN (from
    /// COFFER_NEW_PIN or a prompt). Security officer PIN.
    ///
    /// Example: `COFFER_NEW_PIN=... coffer user create alice --tenants acme`
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
    ///
    /// Example: `coffer user list --json`
    List,
    /// Remove a credential: it can no longer log in (security officer PIN).
    ///
    /// Example: `coffer user remove alice`
    Remove {
        /// The user name.
        name: String,
    },
}

#[derive(Subcommand)]
enum PinCommand {
    /// Change your own PIN: the current one from COFFER_PIN (or COFFER_SO_PIN
    /// with --so), the new one from COFFER_NEW_PIN, or prompts.
    ///
    /// Example: `coffer --user alice pin change`
    Change {
        /// Change the security officer's PIN instead of --user's.
        #[arg(long)]
        so: bool,
    },
    /// Give a locked (or forgotten) credential a new PIN and clear its failure
    /// count (security officer PIN; the new PIN from COFFER_NEW_PIN or a prompt).
    ///
    /// Example: `coffer pin unblock alice`
    Unblock {
        /// The user name.
        name: String,
    },
}

#[derive(Subcommand)]
enum PassphraseCommand {
    /// Re-seal every record under a new passphrase, in one transaction
    /// (security officer PIN); afterwards the old passphrase opens nothing.
    ///
    /// Example: `coffer passphrase change --new-passphrase-file new.txt`
    Change {
        /// A file whose first line is the new passphrase (else
        /// COFFER_NEW_PASSPHRASE or a prompt).
        #[arg(long)]
        new_passphrase_file: Option<PathBuf>,
    },
}

#[derive(Args)]
struct IssueArgs {
    #[arg(long)]
    ca_cert: PathBuf,
    #[arg(long)]
    ca_key: PathBuf,
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// server, client or both.
    #[arg(long, default_value = "both")]
    usage: String,
    /// Subject alternative names: DNS names, IP addresses, or uri:... Repeatable.
    #[arg(long)]
    san: Vec<String>,
}

#[derive(Subcommand)]
enum CertCommand {
    /// A self-signed CA: key and certificate.
    ///
    /// Example: `coffer cert ca --subject "CN=Acme Agents CA" --key-out ca.key --cert-out ca.crt`
    Ca {
        #[arg(long)]
        subject: String,
        #[arg(long, default_value = "p256")]
        algorithm: String,
        #[arg(long, default_value_t = 3650)]
        days: u32,
        #[arg(long)]
        path_len: Option<u8>,
        #[arg(long)]
        key_out: PathBuf,
        #[arg(long)]
        cert_out: PathBuf,
    },
    /// A CSR for an existing key.
    Csr {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        san: Vec<String>,
        #[arg(long = "out")]
        output: PathBuf,
    },
    /// Issue a certificate from a CSR.
    Issue {
        #[command(flatten)]
        issue: IssueArgs,
        #[arg(long)]
        csr: PathBuf,
        #[arg(long = "out")]
        output: PathBuf,
    },
    /// A new key pair and its certificate, e.g. one per agent.
    ///
    /// Example: `coffer cert pair --ca-cert ca.crt --ca-key ca.key --subject CN=agent-7 --algorithm rsa4096 --key-out agent7.key --cert-out agent7.crt`
    Pair {
        #[command(flatten)]
        issue: IssueArgs,
        #[arg(long)]
        subject: String,
        #[arg(long, default_value = "rsa4096")]
        algorithm: String,
        #[arg(long)]
        key_out: PathBuf,
        #[arg(long)]
        cert_out: PathBuf,
    },
    /// Verify a certificate against a CA certificate, now.
    Verify {
        #[arg(long)]
        ca: PathBuf,
        cert: PathBuf,
    },
}

#[derive(Subcommand)]
enum HmacCommand {
    /// Print `t=<seconds>,v1=<hex>` for a body.
    Sign {
        #[arg(long)]
        key: String,
        #[arg(long = "in")]
        input: PathBuf,
        /// Seconds since the epoch (default now).
        #[arg(long)]
        timestamp: Option<u64>,
    },
    /// Check a `t=...,v1=...` header within a tolerance window.
    Verify {
        #[arg(long)]
        key: String,
        #[arg(long = "in")]
        input: PathBuf,
        #[arg(long)]
        signature: String,
        #[arg(long, default_value_t = 300)]
        tolerance: u64,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Print the records, one per line (--json: structured fields, ISO 8601 UTC
    /// times). Auditor credential (--user, COFFER_AUDITOR_PIN).
    ///
    /// Example: `coffer --user audit audit show --of-tenant acme --since 2026-11-01`
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
        /// Only records at or before this time.
        #[arg(long)]
        until: Option<String>,
    },
    /// Verify the HMAC chain and every credential against it; print the head
    /// to keep (auditor credential).
    ///
    /// Example: `coffer --user audit audit verify --expect-head 120:3f9a...`
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
            match store::Backend::parse(&g.store) {
                store::Backend::Sqlite(p) => println!("keystore created at {}", p.display()),
                store::Backend::Postgres(_) => println!("keystore created in the PostgreSQL database"),
            }
            Ok(())
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
                    g.json,
                ),
                KeyCommand::List => keys::list(&mut store, g.json),
                KeyCommand::Show { id } => keys::show(&mut store, &id, g.json),
                KeyCommand::Rotate { id } => keys::rotate(&mut store, &id),
                KeyCommand::Destroy { id } => keys::destroy(&mut store, &id),
                KeyCommand::Expire { id, at } => keys::expire(&mut store, &id, at.as_deref()),
                KeyCommand::Sweep => keys::sweep(&mut store),
                KeyCommand::ExportPublic { id, output } => {
                    let pem = keys::export_public(&mut store, &id)?;
                    match output {
                        Some(p) => certs::write(&p, &pem, false),
                        None => {
                            print!("{pem}");
                            Ok(())
                        }
                    }
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
        Command::Passphrase(PassphraseCommand::Change { new_passphrase_file }) => {
            admin::passphrase_change(&mut g.open()?, new_passphrase_file.as_deref())
        }
        Command::Encrypt { recipients, context, input, output } => data::encrypt(
            || g.open(),
            &data::Encrypt {
                recipients: &recipients,
                context: &context,
                input: input.as_deref(),
                output: output.as_deref(),
            },
        ),
        Command::Decrypt { key, private_key, context, input, output } => data::decrypt(
            || g.open(),
            &data::Decrypt {
                key: key.as_deref(),
                private_key: private_key.as_deref(),
                context: &context,
                input: input.as_deref(),
                output: output.as_deref(),
            },
        ),
        Command::Rewrap { key, input, output } => {
            data::rewrap(&mut g.open()?, &key, &input, output.as_deref())
        }
        Command::Inspect { input } => data::inspect(input.as_deref(), g.json),
        Command::Cert(c) => match c {
            CertCommand::Ca { subject, algorithm, days, path_len, key_out, cert_out } => {
                certs::ca(&certs::NewCa {
                    subject: &subject,
                    algorithm: &algorithm,
                    days,
                    path_len,
                    key_out: &key_out,
                    cert_out: &cert_out,
                })
            }
            CertCommand::Csr { key, subject, san, output } => certs::csr(&key, &subject, &san, &output),
            CertCommand::Issue { issue, csr, output } => certs::issue(&issue_args(&issue), &csr, &output),
            CertCommand::Pair { issue, subject, algorithm, key_out, cert_out } => {
                certs::pair(&issue_args(&issue), &subject, &algorithm, &key_out, &cert_out)
            }
            CertCommand::Verify { ca, cert } => certs::verify(&ca, &cert),
        },
        Command::Wrap { key, kw, public_key, input, output } => {
            ops::wrap(kw, || g.open(), key.as_deref(), public_key.as_deref(), &input, &output)
        }
        Command::Unwrap { key, kw, private_key, input, output } => {
            ops::unwrap(kw, || g.open(), key.as_deref(), private_key.as_deref(), &input, &output)
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
    certs::Issue { ca_cert: &a.ca_cert, ca_key: &a.ca_key, days: a.days, usage: &a.usage, san: &a.san }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Demo { keep } = cli.command {
        return demo::run(keep);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => {
            eprintln!("{fail}");
            ExitCode::from(fail.code)
        }
    }
}
