//! `coffer demo`: the seed scenarios, each step checked, printed as a table.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use coffer_core::cert::{
    self, CaParams, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, PublicKey, San, Validity,
};
use coffer_core::envelope::{self, EncryptionContext, Recipient, UnlockKey};
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaKeySize;
use coffer_hsm::audit::Refusal;
use coffer_hsm::keystore::KeySource;
use coffer_hsm::{
    Config, Error as HsmError, Hsm, KeyAttributes, KeyType, Role, SessionId, SystemClock, Usage,
};
use coffer_store::SqliteStore;

mod pki;

type StepResult = Result<String, String>;

struct Table {
    rows: usize,
    failed: usize,
}

impl Table {
    fn step(&mut self, scenario: &str, what: &str, f: impl FnOnce() -> StepResult) {
        self.rows = self.rows.saturating_add(1);
        let t = Instant::now();
        let r = f();
        let ms = t.elapsed().as_millis();
        let (mark, detail) = match r {
            Ok(d) => ("ok", d),
            Err(d) => {
                self.failed = self.failed.saturating_add(1);
                ("FAIL", d)
            }
        };
        println!("| {:>2} | {scenario:<22} | {what:<64} | {mark:<4} | {ms:>6} ms | {detail}", self.rows);
    }
}

fn expect_err<T, E: std::fmt::Display + PartialEq>(r: Result<T, E>, want: E) -> StepResult {
    match r {
        Ok(_) => Err("succeeded, but must fail".into()),
        Err(e) if e == want => Ok(format!("refused: {want}")),
        Err(e) => Err(format!("failed with \"{e}\", expected \"{want}\"")),
    }
}

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn ctx(tenant: &str) -> EncryptionContext<'_> {
    let mut c = EncryptionContext::new();
    // A tenant id is at most 64 bytes here, so this cannot fail.
    let _ = c.insert(b"tenant", tenant.as_bytes());
    c
}

fn attrs(tenant: &str, key_id: &str, usage: Usage) -> KeyAttributes {
    KeyAttributes {
        label: format!("{tenant} {key_id}"),
        tenant: tenant.into(),
        key_id: key_id.into(),
        usage,
        extractable: false,
        active: true,
    }
}

fn temp_dir() -> Result<PathBuf, String> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("coffer-demo-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(s)?;
    Ok(dir)
}

const SO_PIN: &[u8] = b"demo-so-pin-0001";
const USER_PIN: &[u8] = b"demo-user-pin-0001";
const AUDITOR_PIN: &[u8] = b"demo-auditor-pin-01";
const PASSPHRASE: &[u8] = b"correct horse battery staple (demo only)";

/// Runs the demo; exit code 0 only if every step succeeded.
pub fn run(keep: bool) -> ExitCode {
    let dir = match temp_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot create a temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut table = Table { rows: 0, failed: 0 };
    println!("coffer demo: seed scenarios in a temporary SQLite keystore at {}", dir.display());
    println!();
    println!(
        "|  # | scenario               | step                                                             | ok?  |   time    | detail"
    );
    println!(
        "| -- | ---------------------- | ---------------------------------------------------------------- | ---- | --------- | ------"
    );
    if let Err(e) = scenarios(&mut table, &dir) {
        table.failed = table.failed.saturating_add(1);
        println!("setup failed: {e}");
    }
    println!();
    println!(
        "{} steps: {} passed, {} failed",
        table.rows,
        table.rows.saturating_sub(table.failed),
        table.failed
    );
    if keep {
        println!("keystore kept at {}", dir.display());
    } else if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("warning: could not remove {}: {e}", dir.display());
    }
    if table.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// The demo's tenants; each has one user, `<tenant>-app`, bound to it alone.
const TENANTS: [&str; 3] = ["server", "acme", "globex"];

fn login_user(hsm: &mut Hsm, tenant: &str) -> Result<SessionId, String> {
    hsm.login(0, &format!("{tenant}-app"), USER_PIN, Some(tenant)).map_err(s)
}

fn login_auditor(hsm: &mut Hsm) -> Result<SessionId, String> {
    hsm.login(0, "auditor", AUDITOR_PIN, None).map_err(s)
}

fn scenarios(t: &mut Table, dir: &std::path::Path) -> Result<(), String> {
    // The embedded default store: SQLite (bundled), one file, WAL, durable commits.
    let store_path = dir.join("coffer-store.db");
    let records = SqliteStore::open(&store_path).map_err(s)?;
    let mut hsm = Hsm::create(
        &mut OsRng,
        Box::new(records),
        &KeySource::Passphrase(PASSPHRASE),
        1,
        Config::default(),
        Box::new(SystemClock),
    )
    .map_err(s)?;

    t.step("0 keystore", "initialize token; SO creates tenants, a user per tenant, an auditor", || {
        hsm.init_token(&mut OsRng, 0, "demo", SO_PIN).map_err(s)?;
        let so = hsm.login_so(0, SO_PIN).map_err(s)?;
        for tenant in TENANTS {
            hsm.create_tenant(&mut OsRng, so, tenant).map_err(s)?;
            hsm.create_user(&mut OsRng, so, &format!("{tenant}-app"), Role::User, &[tenant], USER_PIN)
                .map_err(s)?;
        }
        hsm.create_user(&mut OsRng, so, "auditor", Role::Auditor, &[], AUDITOR_PIN).map_err(s)?;
        hsm.logout(so).map_err(s)?;
        Ok(format!("{} tenants, one credential each (own PIN, own lockout) and an auditor", TENANTS.len()))
    });

    // 1. Agent certificate pairs.
    let validity = Validity::days_from_now(365).map_err(s)?;
    let mut ca = None;
    t.step("1 agent cert pairs", "server CA: RSA-4096 key and self-signed certificate", || {
        let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::Rsa(RsaKeySize::Rsa4096)).map_err(s)?;
        let cert = cert::self_signed_ca(
            &mut OsRng,
            &key,
            &CaParams { subject: "CN=Demo Server CA,O=Coffer Demo", validity, path_len: Some(0) },
        )
        .map_err(s)?;
        let subject = cert.subject();
        ca = Some((key, cert));
        Ok(subject)
    });
    let (ca_key, ca_cert) = ca.ok_or("no CA")?;
    let mut agents = Vec::new();
    for name in ["agent-1", "agent-2"] {
        t.step("1 agent cert pairs", &format!("{name}: RSA-4096 key, CSR, certificate from the CA"), || {
            let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::Rsa(RsaKeySize::Rsa4096)).map_err(s)?;
            let req = cert::csr(
                &mut OsRng,
                &key,
                &format!("CN={name},O=Coffer Demo"),
                &[San::Dns(format!("{name}.demo.test"))],
            )
            .map_err(s)?;
            let params = LeafParams { validity, usage: LeafUsage::Client, sans: &[], key_usage: None };
            let leaf =
                cert::issue_from_csr(&mut OsRng, &ca_cert, &ca_key, ca_key.default_scheme(), &req, &params)
                    .map_err(s)?;
            cert::verify_chain_now(&leaf, &ca_cert).map_err(s)?;
            let pair = cert::CertificatePair::new(key, leaf).map_err(s)?;
            let serial_len = pair.certificate().serial().len();
            agents.push(pair);
            Ok(format!("chain verifies; serial {serial_len} bytes"))
        });
    }
    let mut server = None;
    t.step("1 agent cert pairs", "server: RSA-4096 key pair and server certificate", || {
        let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::Rsa(RsaKeySize::Rsa4096)).map_err(s)?;
        let params = LeafParams {
            validity,
            usage: LeafUsage::Server,
            sans: &[San::Dns("server.demo.test".into())],
            key_usage: None,
        };
        let leaf = cert::issue_leaf(
            &mut OsRng,
            &ca_cert,
            &ca_key,
            ca_key.default_scheme(),
            "CN=server.demo.test",
            &key.public_key(),
            &params,
        )
        .map_err(s)?;
        server = Some(cert::CertificatePair::new(key, leaf).map_err(s)?);
        Ok("CN=server.demo.test".into())
    });
    let server = server.ok_or("no server pair")?;
    let mut db_row = Vec::new();
    t.step("1 agent cert pairs", "server private key stored encrypted under a keystore KEK", || {
        let sess = login_user(&mut hsm, "server")?;
        let kek = hsm
            .generate(
                &mut OsRng,
                sess,
                KeyType::Aes256,
                attrs("server", "db-kek", Usage::ENCRYPT | Usage::DECRYPT),
            )
            .map_err(s)?;
        let pkcs8 = server.key().to_pkcs8_der().map_err(s)?;
        db_row = hsm.seal_envelope(&mut OsRng, sess, kek, &ctx("server"), &pkcs8).map_err(s)?;
        let back = hsm.open_envelope(&mut OsRng, sess, kek, &ctx("server"), &db_row).map_err(s)?;
        KeyPair::from_pkcs8_der(&back).map_err(s)?;
        Ok(format!("{}-byte envelope in the 'database'; the KEK never leaves the keystore", db_row.len()))
    });
    t.step("1 agent cert pairs", "agent-1 -> server: encrypted to server cert, signed by agent", || {
        let agent = agents.first().ok_or("no agent")?;
        let PublicKey::Rsa(server_pk) = server.certificate().public_key().map_err(s)? else {
            return Err("server key is not RSA".into());
        };
        let KeyPair::Rsa(agent_sk) = agent.key() else { return Err("agent key is not RSA".into()) };
        let msg = b"status report from agent-1";
        let to = [Recipient::Rsa { key_id: b"server.demo.test", version: 1, public_key: &server_pk }];
        let sealed = envelope::seal(&mut OsRng, &to, &ctx("agents"), msg).map_err(s)?;
        let sig = agent_sk.sign_pss(&mut OsRng, &sealed).map_err(s)?;
        // Server side: check the sender's chain and signature, then decrypt.
        let PublicKey::Rsa(sender) = cert::verify_chain_now(agent.certificate(), &ca_cert).map_err(s)? else {
            return Err("agent key is not RSA".into());
        };
        sender.verify_pss(&sealed, &sig).map_err(s)?;
        let KeyPair::Rsa(server_sk) = server.key() else { return Err("server key is not RSA".into()) };
        let unlock = [UnlockKey::Rsa { key_id: b"server.demo.test", version: 1, private_key: server_sk }];
        let pt = envelope::open(&mut OsRng, &unlock, &ctx("agents"), &sealed).map_err(s)?;
        if pt.as_slice() != msg {
            return Err("plaintext differs".into());
        }
        let KeyPair::Rsa(other) = agents.get(1).ok_or("no agent-2")?.key() else {
            return Err("not RSA".into());
        };
        let wrong = [UnlockKey::Rsa { key_id: b"server.demo.test", version: 1, private_key: other }];
        expect_err(envelope::open(&mut OsRng, &wrong, &ctx("agents"), &sealed), coffer_core::Error::Decrypt)?;
        Ok("signature verified, decrypted; agent-2 cannot read it".into())
    });

    // 2. Per-tenant encryption at rest, backups, crypto-shredding.
    let tenants = ["acme", "globex"];
    let mut records: Vec<(String, Vec<u8>)> = Vec::new();
    t.step("2 tenant encryption", "each tenant gets its own KEK; records sealed with tenant context", || {
        for tenant in tenants {
            let sess = login_user(&mut hsm, tenant)?;
            let kek = hsm
                .generate(
                    &mut OsRng,
                    sess,
                    KeyType::Aes256,
                    attrs(tenant, "kek", Usage::ENCRYPT | Usage::DECRYPT | Usage::WRAP | Usage::UNWRAP),
                )
                .map_err(s)?;
            for i in 0..3 {
                let row = format!("{tenant} customer record {i}");
                records.push((
                    tenant.into(),
                    hsm.seal_envelope(&mut OsRng, sess, kek, &ctx(tenant), row.as_bytes()).map_err(s)?,
                ));
            }
        }
        Ok(format!("{} records in {} tenants", records.len(), tenants.len()))
    });
    let mut backup = Vec::new();
    t.step("2 tenant encryption", "backup snapshot of acme is itself an envelope", || {
        let sess = login_user(&mut hsm, "acme")?;
        let kek = hsm.find(sess, "kek").map_err(s)?;
        let snapshot: Vec<u8> =
            records.iter().filter(|(t, _)| t == "acme").flat_map(|(_, r)| r.iter().copied()).collect();
        let mut bctx = ctx("acme");
        bctx.insert(b"purpose", b"backup").map_err(s)?;
        backup = hsm.seal_envelope(&mut OsRng, sess, kek, &bctx, &snapshot).map_err(s)?;
        let back = hsm.open_envelope(&mut OsRng, sess, kek, &bctx, &backup).map_err(s)?;
        if back.as_slice() != snapshot.as_slice() {
            return Err("snapshot differs".into());
        }
        Ok(format!("{}-byte snapshot, bound to tenant=acme,purpose=backup", backup.len()))
    });
    t.step("2 tenant encryption", "rotate acme's KEK; rewrap a record without touching its payload", || {
        let sess = login_user(&mut hsm, "acme")?;
        let kek = hsm.find(sess, "kek").map_err(s)?;
        let v = hsm.rotate(&mut OsRng, sess, kek).map_err(s)?;
        let (_, old) = records.iter().find(|(t, _)| t == "acme").ok_or("no record")?;
        let new = hsm.rewrap_envelope(&mut OsRng, sess, kek, old).map_err(s)?;
        hsm.open_envelope(&mut OsRng, sess, kek, &ctx("acme"), &new).map_err(s)?;
        Ok(format!("now version {v}; old and rewrapped records both open"))
    });

    // 3. Tenant isolation.
    t.step("3 tenant isolation", "globex's session with acme's handle, key and context", || {
        let acme = login_user(&mut hsm, "acme")?;
        let globex = login_user(&mut hsm, "globex")?;
        let acme_kek = hsm.find(acme, "kek").map_err(s)?;
        let globex_kek = hsm.find(globex, "kek").map_err(s)?;
        let (_, acme_rec) = records.iter().find(|(t, _)| t == "acme").ok_or("no record")?;
        let mut refused: u32 = 0;
        expect_err(
            hsm.open_envelope(&mut OsRng, globex, acme_kek, &ctx("acme"), acme_rec),
            HsmError::TenantNotAllowed,
        )?;
        // globex's credential cannot even log in to acme.
        expect_err(
            hsm.login(0, "globex-app", USER_PIN, Some("acme")).map(|_| ()),
            HsmError::TenantNotAllowed,
        )?;
        refused = refused.saturating_add(1);
        for c in [ctx("acme"), ctx("globex")] {
            expect_err(
                hsm.open_envelope(&mut OsRng, globex, globex_kek, &c, acme_rec),
                HsmError::Crypto(coffer_core::Error::Decrypt),
            )?;
            refused = refused.saturating_add(1);
        }
        expect_err(
            hsm.open_envelope(&mut OsRng, acme, acme_kek, &ctx("globex"), acme_rec),
            HsmError::Crypto(coffer_core::Error::Decrypt),
        )?;
        refused = refused.saturating_add(1);
        Ok(format!("{refused} cross-tenant attempts refused"))
    });

    // 4. Signed webhooks.
    t.step("4 signed webhooks", "HMAC-SHA-256 over timestamp and body; tolerance; replay; tamper", || {
        let sess = login_user(&mut hsm, "acme")?;
        let key = hsm
            .generate(
                &mut OsRng,
                sess,
                KeyType::HmacSha256,
                attrs("acme", "webhook", Usage::SIGN | Usage::VERIFY),
            )
            .map_err(s)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(s)?.as_secs();
        let body = br#"{"event":"invoice.paid","id":42}"#;
        let ts = now.to_string();
        let tag = hsm.hmac_sign(sess, key, &[ts.as_bytes(), b".", body]).map_err(s)?;
        let mut seen = std::collections::BTreeSet::new();
        let mut accept = |hsm: &mut Hsm, ts: &str, body: &[u8], tag: &[u8]| -> Result<(), String> {
            let t: u64 = ts.parse().map_err(s)?;
            if now.abs_diff(t) > 300 {
                return Err("outside the 5-minute tolerance".into());
            }
            hsm.hmac_verify(sess, key, &[ts.as_bytes(), b".", body], tag).map_err(s)?;
            if !seen.insert(tag.to_vec()) {
                return Err("replayed".into());
            }
            Ok(())
        };
        accept(&mut hsm, &ts, body, &tag)?;
        if accept(&mut hsm, &ts, body, &tag).is_ok() {
            return Err("replay accepted".into());
        }
        if accept(&mut hsm, &ts, br#"{"event":"invoice.paid","id":43}"#, &tag).is_ok() {
            return Err("tampered body accepted".into());
        }
        let old = now.saturating_sub(3600).to_string();
        let old_tag = hsm.hmac_sign(sess, key, &[old.as_bytes(), b".", body]).map_err(s)?;
        if accept(&mut hsm, &old, body, &old_tag).is_ok() {
            return Err("stale timestamp accepted".into());
        }
        Ok("valid accepted; replay, tamper and stale refused".into())
    });

    t.step("4 signed webhooks", "an expired webhook key is deactivated by the lifecycle sweep", || {
        let sess = login_user(&mut hsm, "acme")?;
        let key = hsm.find(sess, "webhook").map_err(s)?;
        let body = br#"{"event":"invoice.paid","id":44}"#;
        let tag = hsm.hmac_sign(sess, key, &[b"1.", body]).map_err(s)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(s)?.as_secs();
        hsm.set_expiry(sess, key, Some(now.saturating_sub(1))).map_err(s)?;
        let swept = hsm.sweep_expired(sess).map_err(s)?;
        if swept != [key] {
            return Err(format!("sweep deactivated {} key(s), expected only the webhook key", swept.len()));
        }
        expect_err(hsm.hmac_sign(sess, key, &[b"2.", body]), HsmError::KeyState)?;
        hsm.hmac_verify(sess, key, &[b"1.", body], &tag).map_err(s)?;
        Ok("swept: signs nothing new, still verifies what it signed".into())
    });

    // 5. Encrypted credentials and role-based access.
    t.step("5 credentials & roles", "DB credentials as an envelope; only the user role opens it", || {
        let sess = login_user(&mut hsm, "server")?;
        let kek = hsm.find(sess, "db-kek").map_err(s)?;
        let creds = hsm
            .seal_envelope(&mut OsRng, sess, kek, &ctx("server"), b"postgres://app:s3cret@db/app")
            .map_err(s)?;
        hsm.open_envelope(&mut OsRng, sess, kek, &ctx("server"), &creds).map_err(s)?;
        let auditor = login_auditor(&mut hsm)?;
        expect_err(
            hsm.open_envelope(&mut OsRng, auditor, kek, &ctx("server"), &creds),
            HsmError::RoleNotAllowed,
        )?;
        Ok("user opens; auditor refused".into())
    });
    t.step("5 credentials & roles", "attachment for a recipient, read from a shredded scratch file", || {
        let recipient = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).map_err(s)?;
        let PublicKey::P256(pk) = recipient.public_key() else { return Err("not P-256".into()) };
        let KeyPair::P256(sk) = &recipient else { return Err("not P-256".into()) };
        let report = b"month,revenue\n2026-10,421000\n";
        let to = [Recipient::P256 { key_id: b"finance", version: 1, public_key: &pk }];
        let sealed = envelope::seal(&mut OsRng, &to, &ctx("acme"), report).map_err(s)?;
        let unlock = [UnlockKey::P256 { key_id: b"finance", version: 1, secret_key: sk }];
        let mut plain = envelope::open_stream_to_scratch(
            &mut OsRng,
            &unlock,
            &ctx("acme"),
            &envelope::Limits::DEFAULT,
            &sealed[..],
            dir,
        )
        .map_err(s)?;
        let path = plain.path().to_path_buf();
        let mut read = Vec::new();
        std::io::Read::read_to_end(&mut plain, &mut read).map_err(s)?;
        if read != report {
            return Err("attachment differs".into());
        }
        plain.shred().map_err(s)?;
        if path.exists() {
            return Err("scratch file still there".into());
        }
        Ok("recipient read it; the scratch file was overwritten and removed".into())
    });

    // Crypto-shred, audit, persistence.
    t.step("2 tenant encryption", "delete organisation globex: crypto-shred, then its records fail", || {
        let so = hsm.login_so(0, SO_PIN).map_err(s)?;
        let evidence = hsm.shred_tenant(so, "globex").map_err(s)?;
        let globex = login_user(&mut hsm, "globex")?;
        let kek = hsm.find(globex, "kek").map_err(s)?;
        let mut failed: u32 = 0;
        for (_, rec) in records.iter().filter(|(t, _)| t == "globex") {
            expect_err(hsm.open_envelope(&mut OsRng, globex, kek, &ctx("globex"), rec), HsmError::KeyState)?;
            failed = failed.saturating_add(1);
        }
        Ok(format!(
            "{} keys destroyed, {} audit records as evidence; {failed} records unreadable",
            evidence.keys.len(),
            evidence.audit.len()
        ))
    });
    pki::agent_pki(t, &mut hsm)?;
    t.step("3 tenant isolation", "auditor verifies the HMAC-chained log; finds the refusals", || {
        let auditor = login_auditor(&mut hsm)?;
        hsm.audit_verify(auditor).map_err(s)?;
        let records = hsm.audit_records(auditor).map_err(s)?;
        let refused: Vec<_> = records
            .iter()
            .filter(|r| {
                matches!(&r.event, coffer_hsm::audit::AuditEvent::Refused { reason, .. }
                    if matches!(reason, Refusal::OtherTenant | Refusal::NotInTenant))
            })
            .collect();
        if refused.len() < 2 {
            return Err(format!("{} cross-tenant refusals logged, expected 2", refused.len()));
        }
        Ok(format!("{} records verify; {} cross-tenant refusals logged", records.len(), refused.len()))
    });
    t.step("0 keystore", "reopen the SQLite store as another process would; open the backup", || {
        let size = std::fs::metadata(&store_path).map_err(s)?.len();
        let generation = hsm.generation();
        let records = SqliteStore::open(&store_path).map_err(s)?;
        let mut other = Hsm::open(
            &mut OsRng,
            Box::new(records),
            &KeySource::Passphrase(PASSPHRASE),
            Box::new(SystemClock),
        )
        .map_err(s)?;
        let sess = login_user(&mut other, "acme")?;
        let kek = other.find(sess, "kek").map_err(s)?;
        let mut bctx = ctx("acme");
        bctx.insert(b"purpose", b"backup").map_err(s)?;
        other.open_envelope(&mut OsRng, sess, kek, &bctx, &backup).map_err(s)?;
        let records = SqliteStore::open(&store_path).map_err(s)?;
        expect_err(
            Hsm::open(
                &mut OsRng,
                Box::new(records),
                &KeySource::Passphrase(b"wrong passphrase"),
                Box::new(SystemClock),
            )
            .map(|_| ()),
            HsmError::KeystoreAuth,
        )?;
        Ok(format!("{size}-byte store at generation {generation}; wrong passphrase refused"))
    });
    Ok(())
}
