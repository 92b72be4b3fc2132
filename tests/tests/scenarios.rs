//! The five seed scenarios of issue 8, end to end through the public APIs of
//! `coffer-core` and `coffer-hsm` (a software HSM over a sealed file
//! keystore in a temporary directory). Each test asserts the exact outcome
//! of every step, including the exact error of every step that must fail.
#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test code: indexes and sums are over values the test itself built"
)]

use std::error::Error as StdError;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use coffer_core::Error as CoreError;
use coffer_core::cert::{
    self, CaParams, Certificate, CertificatePair, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, PublicKey,
    San, SignatureScheme, Validity,
};
use coffer_core::envelope::{
    self, EncryptionContext, Limits, Recipient, ScratchFile, StreamError, UnlockKey,
};
use coffer_core::mac::{DEFAULT_WEBHOOK_TOLERANCE_SECS, WebhookMessage};
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaKeySize;
use coffer_hsm::audit::{Actor, AuditEvent, AuditRecord, KeyRef, KeyStateName, Operation, Refusal};
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::{
    Clock, Config, CounterFile, Error as HsmError, Handle, Hsm, KeyAttributes, KeyState, KeyType, Role,
    SessionId, Usage,
};
use coffer_store::SqliteStore;

type TestResult = Result<(), Box<dyn StdError>>;

const SO_PIN: &[u8] = b"so-pin-2024";
const USER_PIN: &[u8] = b"server-pin-2024";
const AUDITOR_PIN: &[u8] = b"auditor-pin-2024";
/// The one user (the server role), bound to every tenant of [`TENANTS`].
const USER: &str = "user";
const AUDITOR: &str = "auditor";
/// The tenants the scenarios use.
const TENANTS: [&str; 3] = ["agents", "acme", "globex"];
const DAY: u64 = 86_400;

/// A fresh directory under the system temp directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Result<TempDir, Box<dyn StdError>> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
        let dir = std::env::temp_dir().join(format!("coffer-scenario-{name}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Sorted names of the entries of `dir`.
fn entries(dir: &Path) -> Result<Vec<String>, Box<dyn StdError>> {
    let mut names = Vec::new();
    for e in fs::read_dir(dir)? {
        names.push(e?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// An HSM clock the test moves by hand; clones share the time.
#[derive(Clone)]
struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    fn at(secs: u64) -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(secs)))
    }

    fn set(&self, secs: u64) {
        self.0.store(secs, Ordering::SeqCst);
    }

    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn system_now() -> Result<u64, Box<dyn StdError>> {
    Ok(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs())
}

/// One initialized token in slot 0 with the tenants of [`TENANTS`], the
/// user [`USER`] (the server role) bound to all of them and the auditor
/// [`AUDITOR`], an open SO session, in a SQLite store (keystore v2) in a
/// temp dir, guarded against rollback by a generation file beside it.
struct Fixture {
    hsm: Hsm,
    clock: ManualClock,
    so: SessionId,
    dir: TempDir,
    master: MasterKey,
}

impl Fixture {
    fn new(name: &str, now: u64) -> Result<Fixture, Box<dyn StdError>> {
        let clock = ManualClock::at(now);
        let config = Config { pin_iterations: 10_000, ..Config::default() };
        let dir = TempDir::new(name)?;
        let master = MasterKey::generate(&mut OsRng)?;
        let records = SqliteStore::open(&dir.path().join("coffer-store.db"))?;
        let source = KeySource::MasterKey(&master);
        let mut hsm =
            Hsm::create(&mut OsRng, Box::new(records), &source, 1, config, Box::new(clock.clone()))?;
        hsm.set_generation_guard(Box::new(CounterFile::new(dir.path().join("coffer-store.db.generation"))?))?;
        hsm.init_token(&mut OsRng, 0, name, SO_PIN)?;
        let so = hsm.login_so(0, SO_PIN)?;
        for tenant in TENANTS {
            hsm.create_tenant(&mut OsRng, so, tenant)?;
        }
        hsm.create_user(&mut OsRng, so, USER, Role::User, &TENANTS, USER_PIN)?;
        hsm.create_user(&mut OsRng, so, AUDITOR, Role::Auditor, &[], AUDITOR_PIN)?;
        Ok(Fixture { hsm, clock, so, dir, master })
    }

    fn user(&mut self, tenant: &str) -> Result<SessionId, HsmError> {
        self.hsm.login(0, USER, USER_PIN, Some(tenant))
    }

    fn auditor(&mut self) -> Result<SessionId, HsmError> {
        self.hsm.login(0, AUDITOR, AUDITOR_PIN, None)
    }

    /// The server restarts: the HSM is dropped (nothing to save: every
    /// operation was committed) and the store opened again, checked against
    /// its generation file (sessions end: the SO logs in again).
    fn restart(&mut self) -> TestResult {
        let records = SqliteStore::open(&self.dir.path().join("coffer-store.db"))?;
        let source = KeySource::MasterKey(&self.master);
        let mut hsm = Hsm::open(&mut OsRng, Box::new(records), &source, Box::new(self.clock.clone()))?;
        hsm.set_generation_guard(Box::new(CounterFile::new(
            self.dir.path().join("coffer-store.db.generation"),
        )?))?;
        assert_eq!(hsm.generation(), self.hsm.generation(), "the reopened store is the one written");
        self.hsm = hsm;
        self.so = self.hsm.login_so(0, SO_PIN)?;
        Ok(())
    }
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

fn tenant_ctx(tenant: &str) -> Result<EncryptionContext<'_>, CoreError> {
    EncryptionContext::from_pairs(&[(b"tenant", tenant.as_bytes())])
}

/// (tenant, key id, operation, denied) of every key use in the log, in
/// order: the uses, and the refusals by the key's own state or policy (a
/// refused handle of another tenant is not a use: see [`other_tenant_refusals`]).
fn key_uses(records: &[AuditRecord]) -> Vec<(String, String, Operation, bool)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            AuditEvent::KeyUsed { key, operation } => {
                Some((key.tenant.clone(), key.key_id.clone(), *operation, false))
            }
            AuditEvent::Refused { key: Some(key), attempted, reason, .. }
                if *reason != Refusal::OtherTenant =>
            {
                Some((key.tenant.clone(), key.key_id.clone(), *attempted, true))
            }
            _ => None,
        })
        .collect()
}

/// (session's tenant, key tenant, key id, handle, operation) of every
/// refused use of another tenant's handle in the log, in order.
fn other_tenant_refusals(records: &[AuditRecord]) -> Vec<(String, String, String, u64, Operation)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            AuditEvent::Refused { who, tenant, key: Some(key), attempted, reason: Refusal::OtherTenant } => {
                assert_eq!(who, &user_actor(), "only the user tries keys");
                Some((tenant.clone(), key.tenant.clone(), key.key_id.clone(), key.handle, *attempted))
            }
            _ => None,
        })
        .collect()
}

fn user_actor() -> Actor {
    Actor { user: USER.into(), role: Role::User }
}

fn used(tenant: &str, key_id: &str, op: Operation) -> (String, String, Operation, bool) {
    (tenant.into(), key_id.into(), op, false)
}

fn denied(tenant: &str, key_id: &str, op: Operation) -> (String, String, Operation, bool) {
    (tenant.into(), key_id.into(), op, true)
}

/// The RSA public key of a certificate or key pair.
fn rsa_public(key: PublicKey) -> Result<coffer_core::rsa::RsaPublicKey, Box<dyn StdError>> {
    match key {
        PublicKey::Rsa(k) => Ok(k),
        other => Err(format!("expected an RSA key, got {other:?}").into()),
    }
}

fn rsa_private(pair: &KeyPair) -> Result<&coffer_core::rsa::RsaPrivateKey, Box<dyn StdError>> {
    match pair {
        KeyPair::Rsa(k) => Ok(k),
        _ => Err("expected an RSA key pair".into()),
    }
}

/// A message on the wire between an agent and the server: an envelope to
/// the recipient's certificate key, signed (RSA-PSS) by the sender over the
/// whole envelope, with the sender's certificate.
struct SignedMessage {
    envelope: Vec<u8>,
    signature: Vec<u8>,
    sender_cert_der: Vec<u8>,
}

fn send(
    from: &CertificatePair,
    to_cert: &Certificate,
    to_id: &[u8],
    ctx: &EncryptionContext<'_>,
    body: &[u8],
) -> Result<SignedMessage, Box<dyn StdError>> {
    let to_key = rsa_public(to_cert.public_key()?)?;
    let envelope = envelope::seal(
        &mut OsRng,
        &[Recipient::Rsa { key_id: to_id, version: 1, public_key: &to_key }],
        ctx,
        body,
    )?;
    let signature = rsa_private(from.key())?.sign_pss(&mut OsRng, &envelope)?;
    Ok(SignedMessage { envelope, signature, sender_cert_der: from.certificate().to_der().to_vec() })
}

/// What a receiver does: the sender's certificate must chain to the CA,
/// its key must have signed the envelope, then the envelope is opened.
fn receive(
    msg: &SignedMessage,
    ca: &Certificate,
    now: u64,
    me: &KeyPair,
    my_id: &[u8],
    ctx: &EncryptionContext<'_>,
) -> Result<Vec<u8>, CoreError> {
    let sender = Certificate::from_der(&msg.sender_cert_der)?;
    let PublicKey::Rsa(sender_key) = cert::verify_chain(&sender, ca, now)? else {
        return Err(CoreError::InvalidKey);
    };
    sender_key.verify_pss(&msg.envelope, &msg.signature)?;
    let KeyPair::Rsa(my_key) = me else { return Err(CoreError::InvalidKey) };
    let key = UnlockKey::Rsa { key_id: my_id, version: 1, private_key: my_key };
    Ok(envelope::open(&mut OsRng, &[key], ctx, &msg.envelope)?.to_vec())
}

/// Scenario 1: agent certificate pairs.
#[test]
fn agents_and_server_hold_rsa_4096_certificate_pairs_and_exchange_signed_messages_only_the_recipient_opens()
-> TestResult {
    let now = system_now()?;
    let validity = Validity::days_from_now(365)?;
    let rsa4096 = KeyAlgorithm::Rsa(RsaKeySize::Rsa4096);

    // The server CA.
    let ca_key = KeyPair::generate(&mut OsRng, rsa4096)?;
    let ca_params = CaParams {
        subject: "CN=Coffer Agents CA,O=Example",
        validity: Validity::days_from_now(3650)?,
        path_len: Some(0),
    };
    let ca = cert::self_signed_ca(&mut OsRng, &ca_key, &ca_params)?;

    // Each agent makes its own RSA-4096 key and CSR; the CA issues from the CSR.
    let mut agents = Vec::new();
    for name in ["agent-1", "agent-2"] {
        let key = KeyPair::generate(&mut OsRng, rsa4096)?;
        let csr = cert::csr(
            &mut OsRng,
            &key,
            &format!("CN={name},O=Example"),
            &[San::Dns(format!("{name}.example.internal"))],
        )?;
        let leaf_params = LeafParams { validity, usage: LeafUsage::Client, sans: &[], key_usage: None };
        let leaf = cert::issue_from_csr(
            &mut OsRng,
            &ca,
            &ca_key,
            SignatureScheme::RsaPssSha256,
            &csr,
            &leaf_params,
        )?;
        assert_eq!(cert::verify_chain(&leaf, &ca, now)?, key.public_key());
        assert_eq!(rsa_public(key.public_key())?.bits(), 4096);
        assert_eq!(leaf.subject(), format!("CN={name},O=Example"));
        assert_eq!(leaf.subject_alt_names(), vec![San::Dns(format!("{name}.example.internal"))]);
        agents.push(CertificatePair::new(key, leaf)?);
    }
    assert_ne!(agents[0].certificate().public_key()?, agents[1].certificate().public_key()?);

    // The server's own RSA-4096 key and certificate.
    let server_key = KeyPair::generate(&mut OsRng, rsa4096)?;
    let server_params = LeafParams {
        validity,
        usage: LeafUsage::Server,
        sans: &[San::Dns("coffer.example.internal".into())],
        key_usage: None,
    };
    let server_cert = cert::issue_leaf(
        &mut OsRng,
        &ca,
        &ca_key,
        SignatureScheme::RsaPssSha256,
        "CN=coffer-server,O=Example",
        &server_key.public_key(),
        &server_params,
    )?;
    assert_eq!(cert::verify_chain(&server_cert, &ca, now)?, server_key.public_key());
    assert_eq!(rsa_public(server_key.public_key())?.bits(), 4096);

    // A certificate for agent-1's key from an impostor CA with the same name fails the chain.
    let rogue_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
    let rogue = cert::self_signed_ca(&mut OsRng, &rogue_key, &ca_params)?;
    let forged = cert::issue_leaf(
        &mut OsRng,
        &rogue,
        &rogue_key,
        SignatureScheme::EcdsaP256Sha256,
        "CN=agent-1,O=Example",
        &agents[0].certificate().public_key()?,
        &LeafParams { validity, usage: LeafUsage::Client, sans: &[], key_usage: None },
    )?;
    assert_eq!(cert::verify_chain(&forged, &ca, now), Err(CoreError::Verify));

    // The server key goes into the tenant database sealed to a KEK that lives only in the HSM.
    let mut f = Fixture::new("scenario-1", now)?;
    let s = f.user("agents")?;
    let kek = f.hsm.generate(
        &mut OsRng,
        s,
        KeyType::Aes256,
        attrs("agents", "server-key-kek", Usage::ENCRYPT | Usage::DECRYPT),
    )?;
    let transport = f.hsm.generate(
        &mut OsRng,
        s,
        KeyType::Aes256,
        attrs("agents", "transport", Usage::WRAP | Usage::UNWRAP),
    )?;
    assert_eq!(f.hsm.export_wrapped(s, transport, kek), Err(HsmError::NotExtractable));
    assert!(f.hsm.info(s, kek)?.sensitive);
    let blob_ctx = EncryptionContext::from_pairs(&[(b"tenant", b"agents"), (b"row", b"server-private-key")])?;
    let pkcs8 = server_key.to_pkcs8_der()?;
    let sealed = f.hsm.seal_envelope(&mut OsRng, s, kek, &blob_ctx, &pkcs8)?;
    let secret_tail = &pkcs8[pkcs8.len() - 64..];
    assert!(!sealed.windows(64).any(|w| w == secret_tail), "the sealed blob holds key bytes");
    let db = f.dir.path().join("tenant-db");
    fs::create_dir_all(&db)?;
    fs::write(db.join("server-key.coffer"), &sealed)?;
    drop((pkcs8, server_key));

    // The server restarts: the store is opened again and the key recovered from the blob.
    f.restart()?;
    let s = f.user("agents")?;
    let kek = f.hsm.find(s, "server-key-kek")?;
    let blob = fs::read(db.join("server-key.coffer"))?;
    let other_row = EncryptionContext::from_pairs(&[(b"tenant", b"agents"), (b"row", b"agent-1")])?;
    assert_eq!(
        f.hsm.open_envelope(&mut OsRng, s, kek, &other_row, &blob),
        Err(HsmError::Crypto(CoreError::Decrypt))
    );
    let recovered = KeyPair::from_pkcs8_der(&f.hsm.open_envelope(&mut OsRng, s, kek, &blob_ctx, &blob)?)?;
    let server = CertificatePair::new(recovered, server_cert)?;

    // agent-1 → server: encrypted to the server certificate, signed by agent-1.
    let up = EncryptionContext::from_pairs(&[(b"from", b"agent-1"), (b"to", b"server")])?;
    let body = br#"{"agent":"agent-1","cpu":0.42,"disk_free_gb":118}"#;
    let msg = send(&agents[0], server.certificate(), b"server", &up, body)?;
    assert_eq!(receive(&msg, &ca, now, server.key(), b"server", &up)?, body);

    // server → agent-2: encrypted to agent-2's certificate, signed by the server.
    let down = EncryptionContext::from_pairs(&[(b"from", b"server"), (b"to", b"agent-2")])?;
    let reply = br#"{"command":"rotate-logs"}"#;
    let back = send(&server, agents[1].certificate(), b"agent-2", &down, reply)?;
    assert_eq!(receive(&back, &ca, now, agents[1].key(), b"agent-2", &down)?, reply);

    // Tampering: a flipped envelope byte, a flipped signature byte, agent-2's
    // signature under agent-1's certificate, and the wrong recipient.
    let mut flipped = clone_msg(&msg);
    let mid = flipped.envelope.len() / 2;
    flipped.envelope[mid] ^= 0x01;
    assert_eq!(receive(&flipped, &ca, now, server.key(), b"server", &up), Err(CoreError::Verify));
    let KeyPair::Rsa(server_rsa) = server.key() else { return Err("server key is not RSA".into()) };
    let unlock = UnlockKey::Rsa { key_id: b"server", version: 1, private_key: server_rsa };
    assert_eq!(envelope::open(&mut OsRng, &[unlock], &up, &flipped.envelope), Err(CoreError::Decrypt));

    let mut bad_sig = clone_msg(&msg);
    bad_sig.signature[0] ^= 0x80;
    assert_eq!(receive(&bad_sig, &ca, now, server.key(), b"server", &up), Err(CoreError::Verify));

    let mut impostor = clone_msg(&msg);
    impostor.signature = rsa_private(agents[1].key())?.sign_pss(&mut OsRng, &msg.envelope)?;
    assert_eq!(receive(&impostor, &ca, now, server.key(), b"server", &up), Err(CoreError::Verify));

    let mut forged_sender = clone_msg(&msg);
    forged_sender.sender_cert_der = forged.to_der().to_vec();
    assert_eq!(receive(&forged_sender, &ca, now, server.key(), b"server", &up), Err(CoreError::Verify));

    assert_eq!(receive(&msg, &ca, now, agents[1].key(), b"server", &up), Err(CoreError::Decrypt));
    assert_eq!(receive(&msg, &ca, now, server.key(), b"server", &down), Err(CoreError::Decrypt));
    Ok(())
}

fn clone_msg(m: &SignedMessage) -> SignedMessage {
    SignedMessage {
        envelope: m.envelope.clone(),
        signature: m.signature.clone(),
        sender_cert_der: m.sender_cert_der.clone(),
    }
}

/// Length-prefixed records, as a backup snapshot holds them.
fn pack(records: &[Vec<u8>]) -> Result<Vec<u8>, Box<dyn StdError>> {
    let mut out = Vec::new();
    for r in records {
        out.extend_from_slice(&u32::try_from(r.len())?.to_be_bytes());
        out.extend_from_slice(r);
    }
    Ok(out)
}

fn unpack(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, Box<dyn StdError>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_at_checked(4).ok_or("truncated length")?;
        let len = usize::try_from(u32::from_be_bytes(len.try_into()?))?;
        let (record, rest) = rest.split_at_checked(len).ok_or("truncated record")?;
        out.push(record.to_vec());
        bytes = rest;
    }
    Ok(out)
}

/// One tenant's data at rest: sealed records and a sealed backup of them.
struct TenantData {
    tenant: &'static str,
    kek: Handle,
    plain: Vec<Vec<u8>>,
    records: Vec<Vec<u8>>,
    backup: Vec<u8>,
}

fn backup_ctx(tenant: &str) -> Result<EncryptionContext<'_>, CoreError> {
    EncryptionContext::from_pairs(&[(b"tenant", tenant.as_bytes()), (b"kind", b"backup")])
}

fn store_tenant(f: &mut Fixture, tenant: &'static str) -> Result<TenantData, Box<dyn StdError>> {
    let s = f.user(tenant)?;
    let kek = f.hsm.generate(
        &mut OsRng,
        s,
        KeyType::Aes256,
        attrs(tenant, "records-kek", Usage::ENCRYPT | Usage::DECRYPT),
    )?;
    let plain: Vec<Vec<u8>> = (1..=3)
        .map(|i| format!(r#"{{"tenant":"{tenant}","invoice":{i},"total":"{i}00.00"}}"#).into_bytes())
        .collect();
    let mut records = Vec::new();
    for p in &plain {
        records.push(f.hsm.seal_envelope(&mut OsRng, s, kek, &tenant_ctx(tenant)?, p)?);
    }
    // The backup snapshot holds the sealed records and is sealed itself.
    let backup = f.hsm.seal_envelope(&mut OsRng, s, kek, &backup_ctx(tenant)?, &pack(&records)?)?;
    f.hsm.logout(s)?;
    Ok(TenantData { tenant, kek, plain, records, backup })
}

/// Opens every record and the backup (and every record inside the backup).
fn open_all(f: &mut Fixture, d: &TenantData) -> Result<(), HsmError> {
    let s = f.user(d.tenant)?;
    let ctx = tenant_ctx(d.tenant)?;
    for (sealed, plain) in d.records.iter().zip(&d.plain) {
        assert_eq!(&f.hsm.open_envelope(&mut OsRng, s, d.kek, &ctx, sealed)?[..], &plain[..]);
    }
    let snapshot = f.hsm.open_envelope(&mut OsRng, s, d.kek, &backup_ctx(d.tenant)?, &d.backup)?;
    let restored = unpack(&snapshot).map_err(|_| HsmError::InvalidInput)?;
    assert_eq!(restored, d.records);
    for (sealed, plain) in restored.iter().zip(&d.plain) {
        assert_eq!(&f.hsm.open_envelope(&mut OsRng, s, d.kek, &ctx, sealed)?[..], &plain[..]);
    }
    f.hsm.logout(s)
}

/// Every envelope of the tenant fails to open with `expected`.
fn assert_none_open(f: &mut Fixture, d: &TenantData, kek: Handle, expected: HsmError) -> TestResult {
    let s = f.user(d.tenant)?;
    for sealed in &d.records {
        assert_eq!(f.hsm.open_envelope(&mut OsRng, s, kek, &tenant_ctx(d.tenant)?, sealed), Err(expected));
    }
    assert_eq!(f.hsm.open_envelope(&mut OsRng, s, kek, &backup_ctx(d.tenant)?, &d.backup), Err(expected));
    f.hsm.logout(s)?;
    Ok(())
}

/// Scenario 2: per-tenant encryption at rest and crypto-shred.
#[test]
fn deleting_a_tenant_crypto_shreds_its_kek_so_its_records_and_backup_never_open_while_other_tenants_still_do()
-> TestResult {
    let mut f = Fixture::new("scenario-2", system_now()?)?;
    let acme = store_tenant(&mut f, "acme")?;
    let globex = store_tenant(&mut f, "globex")?;
    open_all(&mut f, &acme)?;
    open_all(&mut f, &globex)?;

    // Records are bound to their tenant: acme's record under globex's context does not open.
    let s = f.user("acme")?;
    assert_eq!(
        f.hsm.open_envelope(&mut OsRng, s, acme.kek, &tenant_ctx("globex")?, &acme.records[0]),
        Err(HsmError::Crypto(CoreError::Decrypt))
    );
    // A record is not a backup: the backup context does not open it.
    assert_eq!(
        f.hsm.open_envelope(&mut OsRng, s, acme.kek, &backup_ctx("acme")?, &acme.records[0]),
        Err(HsmError::Crypto(CoreError::Decrypt))
    );
    f.hsm.logout(s)?;

    // Deleting the organisation: the security officer shreds the tenant.
    let evidence = f.hsm.shred_tenant(f.so, "acme")?;
    assert_eq!(evidence.tenant, "acme");
    assert_eq!(evidence.keys, vec![("records-kek".to_owned(), 1)]);
    let events: Vec<&AuditEvent> = evidence.audit.iter().map(|r| &r.event).collect();
    assert_eq!(events.len(), 2);
    assert!(
        matches!(events[0], AuditEvent::KeyDestroyed { key } if key.tenant == "acme" && key.key_id == "records-kek")
    );
    assert_eq!(events[1], &AuditEvent::TenantShredded { tenant: "acme".into(), keys: 1 });

    // Every acme envelope now fails: the key is destroyed.
    assert_none_open(&mut f, &acme, acme.kek, HsmError::KeyState)?;
    let s = f.user("acme")?;
    assert_eq!(f.hsm.info(s, acme.kek)?.state, KeyState::Destroyed);
    // The tenant key went with the keys: acme takes no new key at all (not
    // even under a new id), so nothing can ever be sealed to it again.
    for key_id in ["records-kek", "records-kek-2"] {
        assert_eq!(
            f.hsm.generate(
                &mut OsRng,
                s,
                KeyType::Aes256,
                attrs("acme", key_id, Usage::ENCRYPT | Usage::DECRYPT)
            ),
            Err(HsmError::KeyState)
        );
    }
    f.hsm.logout(s)?;

    // globex is untouched.
    open_all(&mut f, &globex)?;

    // The shred survives a save and reload of the keystore.
    f.restart()?;
    assert_none_open(&mut f, &acme, acme.kek, HsmError::KeyState)?;
    open_all(&mut f, &globex)?;
    Ok(())
}

/// One tenant's keys in scenario 3.
struct TenantKeys {
    tenant: &'static str,
    session: SessionId,
    kek: Handle,
    signer: Handle,
    mac: Handle,
}

fn tenant_keys(f: &mut Fixture, tenant: &'static str) -> Result<TenantKeys, HsmError> {
    let session = f.user(tenant)?;
    let mut generate = |key_type: KeyType, key_id: &str, usage: Usage| {
        f.hsm.generate(&mut OsRng, session, key_type, attrs(tenant, key_id, usage))
    };
    let kek = generate(KeyType::Aes256, "kek", Usage::ENCRYPT | Usage::DECRYPT)?;
    let signer = generate(KeyType::P256, "signer", Usage::SIGN | Usage::VERIFY)?;
    let mac = generate(KeyType::HmacSha256, "mac", Usage::SIGN | Usage::VERIFY)?;
    Ok(TenantKeys { tenant, session, kek, signer, mac })
}

/// Every operation from `me`'s session on a handle of `them` is
/// TenantNotAllowed (an audited refusal: [`foreign_refusals`] lists them),
/// and on a handle that never existed NotFound.
fn foreign_handles_are_refused(
    f: &mut Fixture,
    me: &TenantKeys,
    them: &TenantKeys,
    their_env: &[u8],
) -> TestResult {
    let s = me.session;
    let ctx = tenant_ctx(them.tenant)?;
    let never = Handle::from_raw(u64::MAX);
    let refused = |h: Handle| -> Result<(), HsmError> {
        if h == never { Err(HsmError::NotFound) } else { Err(HsmError::TenantNotAllowed) }
    };
    for h in [them.kek, them.signer, them.mac, never] {
        assert_eq!(f.hsm.info(s, h).map(|_| ()), refused(h));
        assert_eq!(f.hsm.public_key_der(s, h).map(|_| ()), refused(h));
        assert_eq!(f.hsm.set_state(s, h, KeyState::Deactivated), refused(h));
        assert_eq!(f.hsm.set_expiry(s, h, Some(1)), refused(h));
        assert_eq!(f.hsm.rotate(&mut OsRng, s, h).map(|_| ()), refused(h));
        assert_eq!(f.hsm.destroy(s, h), refused(h));
    }
    for h in [them.kek, never] {
        assert_eq!(f.hsm.seal_envelope(&mut OsRng, s, h, &ctx, b"x").map(|_| ()), refused(h));
        assert_eq!(f.hsm.open_envelope(&mut OsRng, s, h, &ctx, their_env).map(|_| ()), refused(h));
        assert_eq!(f.hsm.rewrap_envelope(&mut OsRng, s, h, their_env).map(|_| ()), refused(h));
        assert_eq!(f.hsm.wrap_key(s, h, &[7; 32]).map(|_| ()), refused(h));
        assert_eq!(f.hsm.unwrap_key(s, h, &[7; 40]).map(|_| ()), refused(h));
        assert_eq!(f.hsm.export_wrapped(s, me.kek, h).map(|_| ()), refused(h));
    }
    for h in [them.signer, never] {
        assert_eq!(f.hsm.sign(&mut OsRng, s, h, b"x").map(|_| ()), refused(h));
        assert_eq!(f.hsm.verify(s, h, b"x", &[0; 64]), refused(h));
    }
    for h in [them.mac, never] {
        assert_eq!(f.hsm.hmac_sign(s, h, &[b"x"]).map(|_| ()), refused(h));
        assert_eq!(f.hsm.hmac_verify(s, h, &[b"x"], &[0; 32]), refused(h));
    }
    // Looking up by key id finds only the session's own key of that id.
    assert_eq!(f.hsm.find(s, "kek")?, me.kek);
    Ok(())
}

/// The refusals [`foreign_handles_are_refused`] logs, in order, as
/// [`other_tenant_refusals`] reads them (the handle that never existed logs nothing).
fn foreign_refusals(me: &TenantKeys, them: &TenantKeys) -> Vec<(String, String, String, u64, Operation)> {
    let refusal = |key_id: &str, h: Handle, op: Operation| {
        (me.tenant.to_owned(), them.tenant.to_owned(), key_id.to_owned(), h.get(), op)
    };
    let mut v = Vec::new();
    for (key_id, h) in [("kek", them.kek), ("signer", them.signer), ("mac", them.mac)] {
        for op in [
            Operation::Show,
            Operation::Show,
            Operation::SetState,
            Operation::SetExpiry,
            Operation::Rotate,
            Operation::Destroy,
        ] {
            v.push(refusal(key_id, h, op));
        }
    }
    // rewrap authorizes its unwrap first; export refuses the target.
    for op in [
        Operation::Seal,
        Operation::Open,
        Operation::Unwrap,
        Operation::Wrap,
        Operation::Unwrap,
        Operation::Export,
    ] {
        v.push(refusal("kek", them.kek, op));
    }
    for op in [Operation::Sign, Operation::Verify] {
        v.push(refusal("signer", them.signer, op));
    }
    for op in [Operation::Sign, Operation::Verify] {
        v.push(refusal("mac", them.mac, op));
    }
    v
}

/// Scenario 3: tenant isolation, and the auditor's view of it.
#[test]
fn every_cross_tenant_use_of_a_key_handle_or_context_fails_and_the_verified_audit_log_records_all_key_use()
-> TestResult {
    let mut f = Fixture::new("scenario-3", system_now()?)?;
    let a = tenant_keys(&mut f, "acme")?;
    let b = tenant_keys(&mut f, "globex")?;
    let (ctx_a, ctx_b) = (tenant_ctx("acme")?, tenant_ctx("globex")?);
    let msg = b"payout batch 2024-10-01";

    let env_a = f.hsm.seal_envelope(&mut OsRng, a.session, a.kek, &ctx_a, b"acme ledger")?;
    let env_b = f.hsm.seal_envelope(&mut OsRng, b.session, b.kek, &ctx_b, b"globex ledger")?;
    let sig_a = f.hsm.sign(&mut OsRng, a.session, a.signer, msg)?;
    let tag_a = f.hsm.hmac_sign(a.session, a.mac, &[msg])?;

    // A's handles from B's session, and the other way round.
    foreign_handles_are_refused(&mut f, &b, &a, &env_a)?;
    foreign_handles_are_refused(&mut f, &a, &b, &env_b)?;

    // A's data under B's key: both tenants call their KEK "kek", version 1,
    // so the recipient record matches, and the unwrap fails.
    let decrypt = Err(HsmError::Crypto(CoreError::Decrypt));
    assert_eq!(f.hsm.open_envelope(&mut OsRng, b.session, b.kek, &ctx_a, &env_a), decrypt);
    assert_eq!(f.hsm.open_envelope(&mut OsRng, b.session, b.kek, &ctx_b, &env_a), decrypt);
    // A's context on B's envelope, with B's own key.
    assert_eq!(f.hsm.open_envelope(&mut OsRng, b.session, b.kek, &ctx_a, &env_b), decrypt);
    // B's envelope in A's session with A's key and context.
    assert_eq!(f.hsm.open_envelope(&mut OsRng, a.session, a.kek, &ctx_a, &env_b), decrypt);
    // A's signature and MAC do not verify under B's keys.
    assert_eq!(f.hsm.verify(b.session, b.signer, msg, &sig_a), Err(HsmError::Crypto(CoreError::Verify)));
    assert_eq!(f.hsm.hmac_verify(b.session, b.mac, &[msg], &tag_a), Err(HsmError::Crypto(CoreError::Verify)));
    // Policy still applies within a tenant: these KEKs may not wrap.
    assert_eq!(f.hsm.wrap_key(a.session, a.kek, &[7; 32]), Err(HsmError::PolicyDenied));
    assert_eq!(f.hsm.wrap_key(b.session, b.kek, &[7; 32]), Err(HsmError::PolicyDenied));

    // Nothing B tried changed A's keys: A still opens, verifies and sees them active.
    assert_eq!(&f.hsm.open_envelope(&mut OsRng, a.session, a.kek, &ctx_a, &env_a)?[..], b"acme ledger");
    f.hsm.verify(a.session, a.signer, msg, &sig_a)?;
    for h in [a.kek, a.signer, a.mac] {
        assert_eq!(f.hsm.info(a.session, h)?.state, KeyState::Active);
    }

    // The auditor: the chain verifies and holds every key use, in order,
    // each under its own tenant; refused cross-tenant handles touched no key
    // (each is a refusal naming the session's tenant and the key it tried).
    let auditor = f.auditor()?;
    f.hsm.audit_verify(auditor)?;
    let records = f.hsm.audit_records(auditor)?;
    let expected = vec![
        used("acme", "kek", Operation::Seal),
        used("globex", "kek", Operation::Seal),
        used("acme", "signer", Operation::Sign),
        used("acme", "mac", Operation::Sign),
        used("globex", "kek", Operation::Open),
        used("globex", "kek", Operation::Open),
        used("globex", "kek", Operation::Open),
        used("acme", "kek", Operation::Open),
        used("globex", "signer", Operation::Verify),
        used("globex", "mac", Operation::Verify),
        denied("acme", "kek", Operation::Wrap),
        denied("globex", "kek", Operation::Wrap),
        used("acme", "kek", Operation::Open),
        used("acme", "signer", Operation::Verify),
    ];
    let uses = key_uses(&records);
    assert_eq!(uses, expected);
    let count = |tenant: &str, denied: bool| uses.iter().filter(|u| u.0 == tenant && u.3 == denied).count();
    assert_eq!((count("acme", false), count("acme", true)), (6, 1));
    assert_eq!((count("globex", false), count("globex", true)), (6, 1));
    let mut expected_refusals = foreign_refusals(&b, &a);
    expected_refusals.extend(foreign_refusals(&a, &b));
    assert_eq!(expected_refusals.len(), 56);
    assert_eq!(other_tenant_refusals(&records), expected_refusals);
    // Users cannot read the log.
    assert_eq!(f.hsm.audit_records(a.session).map(|r| r.len()), Err(HsmError::RoleNotAllowed));
    Ok(())
}

/// The receiver of a webhook: timestamp within the window, then the HSM
/// checks the tag in constant time.
fn accept_webhook(
    hsm: &mut Hsm,
    session: SessionId,
    key: Handle,
    msg: &WebhookMessage<'_>,
    tag: &[u8],
    now: u64,
) -> Result<(), HsmError> {
    msg.check_fresh(now, DEFAULT_WEBHOOK_TOLERANCE_SECS)?;
    hsm.hmac_verify(session, key, &msg.parts(), tag)
}

/// Scenario 4: signed webhooks and expiring keys.
#[test]
fn webhooks_signed_by_an_hsm_key_verify_in_the_window_reject_replay_and_tamper_and_expired_keys_stop_signing()
-> TestResult {
    let t0 = 1_700_000_000;
    let mut f = Fixture::new("scenario-4", t0)?;
    let s = f.user("acme")?;
    let usage = Usage::SIGN | Usage::VERIFY;
    let key = f.hsm.generate(&mut OsRng, s, KeyType::HmacSha256, attrs("acme", "webhooks-2023", usage))?;
    let next = f.hsm.generate(&mut OsRng, s, KeyType::HmacSha256, attrs("acme", "webhooks-2024", usage))?;
    f.hsm.set_expiry(s, key, Some(t0 + 30 * DAY))?;
    f.hsm.set_expiry(s, next, Some(t0 + 365 * DAY))?;

    // Delivery at t0, received a minute later.
    let body = br#"{"event":"invoice.paid","invoice":"in_1042","amount":"129.00"}"#;
    let sent = WebhookMessage::new(f.clock.now(), body);
    let tag = f.hsm.hmac_sign(s, key, &sent.parts())?;
    f.clock.advance(60);
    let now = f.clock.now();
    accept_webhook(&mut f.hsm, s, key, &sent, &tag, now)?;

    // Tampering inside the window: body, timestamp, tag, or a tag by another key.
    let rejected = Err(HsmError::Crypto(CoreError::Verify));
    let cheaper = br#"{"event":"invoice.paid","invoice":"in_1042","amount":"0.01"}"#;
    let changed_body = WebhookMessage::new(sent.timestamp(), cheaper);
    assert_eq!(accept_webhook(&mut f.hsm, s, key, &changed_body, &tag, now), rejected);
    let changed_time = WebhookMessage::new(sent.timestamp() + 30, body);
    assert_eq!(accept_webhook(&mut f.hsm, s, key, &changed_time, &tag, now), rejected);
    let mut flipped = tag;
    flipped[31] ^= 0x01;
    assert_eq!(accept_webhook(&mut f.hsm, s, key, &sent, &flipped, now), rejected);
    assert_eq!(accept_webhook(&mut f.hsm, s, key, &sent, &tag[..16], now), rejected);
    let other_tag = f.hsm.hmac_sign(s, next, &sent.parts())?;
    assert_eq!(accept_webhook(&mut f.hsm, s, key, &sent, &other_tag, now), rejected);

    // Replay after the window: the genuine tag is refused for its old
    // timestamp, and does not match a refreshed one.
    f.clock.advance(DEFAULT_WEBHOOK_TOLERANCE_SECS);
    let later = f.clock.now();
    assert_eq!(later - sent.timestamp(), DEFAULT_WEBHOOK_TOLERANCE_SECS + 60);
    assert_eq!(accept_webhook(&mut f.hsm, s, key, &sent, &tag, later), rejected);
    let refreshed = WebhookMessage::new(later, body);
    assert_eq!(accept_webhook(&mut f.hsm, s, key, &refreshed, &tag, later), rejected);
    // A delivery dated an hour ahead is refused too, though genuinely signed.
    let ahead = WebhookMessage::new(later + 3_600, body);
    let ahead_tag = f.hsm.hmac_sign(s, key, &ahead.parts())?;
    assert_eq!(accept_webhook(&mut f.hsm, s, key, &ahead, &ahead_tag, later), rejected);

    // The lifecycle sweep: nothing is due a second before the expiry, and
    // another tenant's sweep does not touch acme's keys.
    let expiry = t0 + 30 * DAY;
    f.clock.set(expiry - 1);
    assert_eq!(f.hsm.sweep_expired(s)?, Vec::<Handle>::new());
    f.clock.set(expiry);
    let globex = f.user("globex")?;
    assert_eq!(f.hsm.sweep_expired(globex)?, Vec::<Handle>::new());
    assert_eq!(f.hsm.info(s, key)?.state, KeyState::Active);
    assert_eq!(f.hsm.sweep_expired(s)?, vec![key]);
    assert_eq!(f.hsm.info(s, key)?.state, KeyState::Deactivated);
    assert_eq!(f.hsm.info(s, next)?.state, KeyState::Active);
    assert_eq!(f.hsm.sweep_expired(s)?, Vec::<Handle>::new());

    // The expired key signs nothing new and cannot be reactivated; its old
    // signatures still verify; its successor takes over.
    let after = WebhookMessage::new(expiry, body);
    assert_eq!(f.hsm.hmac_sign(s, key, &after.parts()), Err(HsmError::KeyState));
    assert_eq!(f.hsm.set_state(s, key, KeyState::Active), Err(HsmError::KeyState));
    f.hsm.hmac_verify(s, key, &sent.parts(), &tag)?;
    let next_tag = f.hsm.hmac_sign(s, next, &after.parts())?;
    accept_webhook(&mut f.hsm, s, next, &after, &next_tag, expiry + 5)?;

    // The auditor: the log verifies and tells the expired key's story, with the HSM clock's times.
    let auditor = f.auditor()?;
    f.hsm.audit_verify(auditor)?;
    let k = KeyRef { tenant: "acme".into(), key_id: "webhooks-2023".into(), version: 1, handle: key.get() };
    let used_at = |time: u64, operation: Operation| (time, AuditEvent::KeyUsed { key: k.clone(), operation });
    let refused_at = |time: u64, attempted: Operation| {
        let refused = AuditEvent::Refused {
            who: user_actor(),
            tenant: "acme".into(),
            key: Some(k.clone()),
            attempted,
            reason: Refusal::WrongState,
        };
        (time, refused)
    };
    let expected = vec![
        (t0, AuditEvent::KeyCreated { key: k.clone() }),
        (t0, AuditEvent::KeyExpirySet { key: k.clone(), expires_at: expiry }),
        used_at(t0, Operation::Sign),
        used_at(t0 + 60, Operation::Verify),
        used_at(t0 + 60, Operation::Verify),
        used_at(t0 + 60, Operation::Verify),
        used_at(t0 + 60, Operation::Verify),
        used_at(t0 + 60, Operation::Verify),
        used_at(t0 + 60, Operation::Verify),
        used_at(later, Operation::Verify),
        used_at(later, Operation::Sign),
        (expiry, AuditEvent::KeyStateChanged { key: k.clone(), state: KeyStateName::Deactivated }),
        refused_at(expiry, Operation::Sign),
        refused_at(expiry, Operation::SetState),
        used_at(expiry, Operation::Verify),
    ];
    let story: Vec<(u64, AuditEvent)> = f
        .hsm
        .audit_records(auditor)?
        .into_iter()
        .filter(|r| r.event.key().is_some_and(|r| r.key_id == "webhooks-2023"))
        .map(|r| (r.time, r.event))
        .collect();
    assert_eq!(story, expected);
    Ok(())
}

/// Scenario 5: encrypted credentials, attachments, temporary files, roles and the access log.
#[test]
fn credentials_open_only_in_the_server_role_and_attachments_decrypt_into_scratch_files_shredded_after_use()
-> TestResult {
    let now = system_now()?;
    let mut f = Fixture::new("scenario-5", now)?;
    let server = f.user("acme")?;
    let auditor = f.auditor()?;
    let so = f.so;

    // Database credentials, sealed under the tenant KEK.
    let kek = f.hsm.generate(
        &mut OsRng,
        server,
        KeyType::Aes256,
        attrs("acme", "db-credentials", Usage::ENCRYPT | Usage::DECRYPT),
    )?;
    let ctx = EncryptionContext::from_pairs(&[(b"tenant", b"acme"), (b"secret", b"postgres-primary")])?;
    let creds = b"postgres://app:Xk3!vQ9#pL@db.internal:5432/acme?sslmode=verify-full";
    let sealed = f.hsm.seal_envelope(&mut OsRng, server, kek, &ctx, creds)?;

    // Only the server role opens them.
    assert_eq!(&f.hsm.open_envelope(&mut OsRng, server, kek, &ctx, &sealed)?[..], creds);
    for other in [so, auditor] {
        assert_eq!(f.hsm.open_envelope(&mut OsRng, other, kek, &ctx, &sealed), Err(HsmError::RoleNotAllowed));
        assert_eq!(f.hsm.seal_envelope(&mut OsRng, other, kek, &ctx, b"x"), Err(HsmError::RoleNotAllowed));
        assert_eq!(f.hsm.find(other, "db-credentials"), Err(HsmError::RoleNotAllowed));
        assert_eq!(
            f.hsm.generate(&mut OsRng, other, KeyType::Aes256, attrs("acme", "k", Usage::ENCRYPT)),
            Err(HsmError::RoleNotAllowed)
        );
    }
    // The rest of the role matrix: only the SO administers credentials and
    // shreds tenants, only the auditor reads the log.
    assert_eq!(
        f.hsm.unblock_user(&mut OsRng, server, AUDITOR, b"new-pin-123"),
        Err(HsmError::RoleNotAllowed)
    );
    assert_eq!(f.hsm.unblock_user(&mut OsRng, auditor, USER, b"new-pin-123"), Err(HsmError::RoleNotAllowed));
    assert_eq!(
        f.hsm.create_user(&mut OsRng, server, "intruder", Role::User, &["acme"], b"new-pin-123"),
        Err(HsmError::RoleNotAllowed)
    );
    assert_eq!(f.hsm.shred_tenant(server, "acme").map(|e| e.keys), Err(HsmError::RoleNotAllowed));
    assert_eq!(f.hsm.shred_tenant(auditor, "acme").map(|e| e.keys), Err(HsmError::RoleNotAllowed));
    assert_eq!(f.hsm.audit_records(server).map(|r| r.len()), Err(HsmError::RoleNotAllowed));
    assert_eq!(f.hsm.audit_records(so).map(|r| r.len()), Err(HsmError::RoleNotAllowed));
    assert_eq!(f.hsm.audit_verify(so), Err(HsmError::RoleNotAllowed));
    assert_eq!(f.hsm.shred_tenant(so, "globex")?.keys, Vec::<(String, u32)>::new());
    assert_eq!(f.hsm.shred_tenant(so, "nobody-here").map(|e| e.keys), Err(HsmError::NotFound));

    // A legacy client wants the credentials as a file: it gets a scratch
    // file (0600) that is overwritten and removed as soon as it has read it.
    let run = f.dir.path().join("run");
    fs::create_dir_all(&run)?;
    let mut pgpass = ScratchFile::create_in(&run)?;
    let n = f.hsm.open_stream(&mut OsRng, server, kek, &ctx, &sealed[..], &mut pgpass)?;
    assert_eq!(n, creds.len() as u64);
    assert_eq!(fs::read(pgpass.path())?, creds);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(pgpass.path())?.permissions().mode() & 0o7777, 0o600);
    }
    let pgpass_path = pgpass.path().to_path_buf();
    pgpass.shred()?;
    assert!(!pgpass_path.exists());
    assert_eq!(entries(&run)?, Vec::<String>::new());

    // A scheduled report, encrypted for the recipient's certificate.
    let ca_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
    let ca_params = CaParams {
        subject: "CN=Acme Mail CA,O=Acme",
        validity: Validity::days_from_now(3650)?,
        path_len: Some(0),
    };
    let ca = cert::self_signed_ca(&mut OsRng, &ca_key, &ca_params)?;
    let alice_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
    let alice_cert = cert::issue_leaf(
        &mut OsRng,
        &ca,
        &ca_key,
        SignatureScheme::EcdsaP256Sha256,
        "CN=Alice Finance,O=Acme",
        &alice_key.public_key(),
        &LeafParams {
            validity: Validity::days_from_now(365)?,
            usage: LeafUsage::Client,
            sans: &[],
            key_usage: None,
        },
    )?;
    let PublicKey::P256(alice_pub) = cert::verify_chain(&alice_cert, &ca, now)? else {
        return Err("alice's certificate does not hold a P-256 key".into());
    };
    let report: Vec<u8> = (0..4_000)
        .flat_map(|i| format!("2024-W40,store-{i:04},{}.{:02}\n", i * 7, i % 100).into_bytes())
        .collect();
    assert!(report.len() > 64 * 1024, "the report should span several chunks");
    let report_ctx =
        EncryptionContext::from_pairs(&[(b"tenant", b"acme"), (b"report", b"weekly-sales-2024-w40")])?;
    let outbox = f.dir.path().join("outbox");
    fs::create_dir_all(&outbox)?;
    let attachment = outbox.join("weekly-sales.csv.coffer");
    let to = [Recipient::P256 { key_id: b"alice@acme.example", version: 1, public_key: &alice_pub }];
    envelope::seal_stream(
        &mut OsRng,
        &to,
        &report_ctx,
        envelope::DEFAULT_CHUNK_SIZE,
        &report[..],
        fs::File::create(&attachment)?,
    )?;

    // Alice decrypts it into a scratch file, reads it, and it is shredded.
    let KeyPair::P256(alice_secret) = &alice_key else { return Err("alice's key is not P-256".into()) };
    let alice = UnlockKey::P256 { key_id: b"alice@acme.example", version: 1, secret_key: alice_secret };
    let inbox = f.dir.path().join("inbox");
    fs::create_dir_all(&inbox)?;
    let mut plain = envelope::open_stream_to_scratch(
        &mut OsRng,
        &[alice],
        &report_ctx,
        &Limits::DEFAULT,
        fs::File::open(&attachment)?,
        &inbox,
    )?;
    let mut read_back = Vec::new();
    plain.read_to_end(&mut read_back)?;
    assert_eq!(read_back, report);
    // A hard link made here shows what the disk holds after the shred.
    let witness = inbox.join("witness");
    fs::hard_link(plain.path(), &witness)?;
    let scratch_path = plain.path().to_path_buf();
    plain.shred()?;
    assert!(!scratch_path.exists());
    let left = fs::read(&witness)?;
    assert_eq!(left.len(), report.len());
    assert!(left.iter().all(|&b| b == 0), "the scratch file was not overwritten with zeros");
    fs::remove_file(&witness)?;

    // Bob, who is not a recipient, gets the opaque error and no file.
    let bob = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
    let KeyPair::P256(bob_secret) = &bob else { return Err("bob's key is not P-256".into()) };
    let bob_key = UnlockKey::P256 { key_id: b"alice@acme.example", version: 1, secret_key: bob_secret };
    let attempt = envelope::open_stream_to_scratch(
        &mut OsRng,
        &[bob_key],
        &report_ctx,
        &Limits::DEFAULT,
        fs::File::open(&attachment)?,
        &inbox,
    );
    assert!(matches!(attempt, Err(StreamError::Envelope(CoreError::Decrypt))), "got {attempt:?}");
    assert_eq!(entries(&inbox)?, Vec::<String>::new());
    let mut sink = Vec::new();
    fs::File::open(&attachment)?.read_to_end(&mut sink)?;
    assert!(sink.windows(16).all(|w| w != &report[..16]), "the attachment holds plaintext");

    // The access log: the credentials were sealed once and opened twice, by the server role.
    f.hsm.audit_verify(auditor)?;
    let records = f.hsm.audit_records(auditor)?;
    let credential_uses: Vec<(String, String, Operation, bool)> =
        key_uses(&records).into_iter().filter(|u| u.1 == "db-credentials").collect();
    assert_eq!(
        credential_uses,
        vec![
            used("acme", "db-credentials", Operation::Seal),
            used("acme", "db-credentials", Operation::Open),
            used("acme", "db-credentials", Operation::Open),
        ]
    );
    let logins = |user: &str, role: Role, tenant: &str| {
        let login =
            AuditEvent::UserLoggedIn { who: Actor { user: user.into(), role }, tenant: tenant.into() };
        records.iter().filter(|r| r.event == login).count()
    };
    assert_eq!(
        (
            logins(Actor::SECURITY_OFFICER, Role::SecurityOfficer, ""),
            logins(USER, Role::User, "acme"),
            logins(AUDITOR, Role::Auditor, "")
        ),
        (1, 1, 1)
    );
    let logged_in = records.iter().filter(|r| matches!(r.event, AuditEvent::UserLoggedIn { .. })).count();
    assert_eq!(logged_in, 3, "no other logins");
    let shreds: Vec<&AuditEvent> =
        records.iter().map(|r| &r.event).filter(|e| matches!(e, AuditEvent::TenantShredded { .. })).collect();
    assert_eq!(shreds, [&AuditEvent::TenantShredded { tenant: "globex".into(), keys: 0 }]);
    Ok(())
}
