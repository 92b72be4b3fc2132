//! The agent PKI of issue 15 part 6, end to end on the embedded default
//! store (SQLite in a temporary directory): a root CA and an intermediate
//! whose keys never leave the keystore, 100 agents and a server certified
//! from their requests by the intermediate, one agent revoked, and mutual
//! TLS checked by a second, independent TLS stack (rustls with its ring
//! provider and webpki): every good agent gets in and talks both ways, the
//! revoked one is refused for revocation, coffer's own path validation
//! agrees, and the keystore's audit log lists every signature the CAs made.
//!
//! The TLS handshakes run in memory: each side's records are moved to the
//! other through a `Vec`, so no socket, thread or timeout is involved.
#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test code: indexes and sums are over values the test itself built"
)]

use std::error::Error as StdError;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use coffer_core::Error as CoreError;
use coffer_core::cert::{
    self, CaParams, Certificate, Crl, CrlParams, ExpectedName, IntermediateParams, KeyAlgorithm, KeyPair,
    LeafParams, LeafUsage, PathOptions, Purpose, Revocation, San, Validity,
};
use coffer_core::rng::OsRng;
use coffer_hsm::audit::{AuditEvent, SignedObject};
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::{
    Config, CounterFile, Error as HsmError, Handle, Hsm, KeyAttributes, KeyType, Role, SessionId,
    SystemClock, Usage,
};
use coffer_store::SqliteStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, Connection, RootCertStore,
    ServerConfig, ServerConnection,
};

type TestResult = Result<(), Box<dyn StdError>>;

const SO_PIN: &[u8] = b"so-pin-0001";
const ADMIN_PIN: &[u8] = b"ca-admin-pin-01";
const AUDITOR_PIN: &[u8] = b"auditor-pin-01";
const ADMIN: &str = "ca-admin";
const AUDITOR: &str = "auditor";
/// The tenant that owns both CA keys.
const TENANT: &str = "fleet-pki";
const ROOT_KEY_ID: &str = "root-ca";
const ISSUING_KEY_ID: &str = "issuing-ca";
const ROOT_SUBJECT: &str = "CN=Fleet Root CA,O=Fleet";
const ISSUING_SUBJECT: &str = "CN=Fleet Issuing CA,O=Fleet";
const SERVER_SUBJECT: &str = "CN=server,O=Fleet";
const SERVER_NAME: &str = "server.fleet.test";
/// Agents issued; agent `n` is `CN=agent-n,O=Fleet` with the DNS name
/// `agent-n.fleet.test`.
const AGENTS: usize = 100;
/// The agent whose certificate is revoked.
const REVOKED: usize = 42;
const DAY: u64 = 86_400;

/// A fresh directory under the system temp directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Result<TempDir, Box<dyn StdError>> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
        let dir =
            std::env::temp_dir().join(format!("coffer-agent-pki-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }

    fn db(&self) -> PathBuf {
        self.0.join("coffer-store.db")
    }

    fn generation_file(&self) -> PathBuf {
        self.0.join("coffer-store.db.generation")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn system_now() -> Result<u64, Box<dyn StdError>> {
    Ok(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs())
}

fn ca_key_attrs(key_id: &str) -> KeyAttributes {
    KeyAttributes {
        label: format!("{TENANT} {key_id}"),
        tenant: TENANT.into(),
        key_id: key_id.into(),
        usage: Usage::SIGN | Usage::VERIFY,
        extractable: false,
        active: true,
    }
}

fn agent_subject(n: usize) -> String {
    format!("CN=agent-{n},O=Fleet")
}

fn agent_dns(n: usize) -> String {
    format!("agent-{n}.fleet.test")
}

/// A keystore on SQLite in a temp dir (guarded by a generation file, as
/// the CLI opens it) with the tenant [`TENANT`], its CA administrator and
/// an auditor; an HSM-held P-256 root CA (self-signed, pathlen 1) and an
/// HSM-held P-256 intermediate certified by the root from the
/// intermediate's own request.
struct Pki {
    hsm: Hsm,
    admin: SessionId,
    auditor: SessionId,
    root_key: Handle,
    root: Certificate,
    issuing_key: Handle,
    issuing: Certificate,
    master: MasterKey,
    /// Last, so the store is closed before its directory is removed.
    dir: TempDir,
}

impl Pki {
    fn new(name: &str) -> Result<Pki, Box<dyn StdError>> {
        let dir = TempDir::new(name)?;
        let master = MasterKey::generate(&mut OsRng)?;
        // Low PIN cost keeps the test fast; the default is 100,000.
        let config = Config { pin_iterations: 1_000, ..Config::default() };
        let store = SqliteStore::open(&dir.db())?;
        let mut hsm = Hsm::create(
            &mut OsRng,
            Box::new(store),
            &KeySource::MasterKey(&master),
            1,
            config,
            Box::new(SystemClock),
        )?;
        hsm.set_generation_guard(Box::new(CounterFile::new(dir.generation_file())?))?;
        hsm.init_token(&mut OsRng, 0, name, SO_PIN)?;
        let so = hsm.login_so(0, SO_PIN)?;
        hsm.create_tenant(&mut OsRng, so, TENANT)?;
        hsm.create_user(&mut OsRng, so, ADMIN, Role::User, &[TENANT], ADMIN_PIN)?;
        hsm.create_user(&mut OsRng, so, AUDITOR, Role::Auditor, &[], AUDITOR_PIN)?;
        hsm.logout(so)?;
        let admin = hsm.login(0, ADMIN, ADMIN_PIN, None)?;
        let auditor = hsm.login(0, AUDITOR, AUDITOR_PIN, None)?;

        let root_key = hsm.generate(&mut OsRng, admin, KeyType::P256, ca_key_attrs(ROOT_KEY_ID))?;
        let root_params =
            CaParams { subject: ROOT_SUBJECT, validity: Validity::days_from_now(3650)?, path_len: Some(1) };
        let root = hsm.ca_certificate(&mut OsRng, admin, root_key, None, &root_params)?;

        let issuing_key = hsm.generate(&mut OsRng, admin, KeyType::P256, ca_key_attrs(ISSUING_KEY_ID))?;
        let request = hsm.certificate_request(&mut OsRng, admin, issuing_key, None, ISSUING_SUBJECT, &[])?;
        let issuing_params = IntermediateParams { validity: Validity::days_from_now(365)?, path_len: None };
        let issuing =
            hsm.issue_intermediate(&mut OsRng, admin, root_key, None, &root, &request, &issuing_params)?;
        Ok(Pki { hsm, admin, auditor, root_key, root, issuing_key, issuing, master, dir })
    }

    /// A key pair made in memory (as an agent makes its own), its request
    /// for `subject` and the DNS name `dns`, and the certificate the
    /// HSM-held intermediate issues from that request.
    fn issue(
        &mut self,
        subject: &str,
        dns: &str,
        usage: LeafUsage,
    ) -> Result<(KeyPair, Certificate), Box<dyn StdError>> {
        let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256)?;
        let csr = cert::csr(&mut OsRng, &key, subject, &[San::Dns(dns.into())])?;
        let params = LeafParams { validity: Validity::days_from_now(30)?, usage, sans: &[], key_usage: None };
        let leaf = self.hsm.issue_certificate(
            &mut OsRng,
            self.admin,
            self.issuing_key,
            None,
            &self.issuing,
            &csr,
            &params,
        )?;
        Ok((key, leaf))
    }

    /// The server restarts: the keystore is closed and opened again from
    /// its file, checked against its generation file (sessions end: the
    /// auditor logs in again).
    fn restart(&mut self) -> TestResult {
        let generation = self.hsm.generation();
        let store = SqliteStore::open(&self.dir.db())?;
        let source = KeySource::MasterKey(&self.master);
        let mut hsm = Hsm::open(&mut OsRng, Box::new(store), &source, Box::new(SystemClock))?;
        hsm.set_generation_guard(Box::new(CounterFile::new(self.dir.generation_file())?))?;
        assert_eq!(hsm.generation(), generation, "the reopened store is the one written");
        self.hsm = hsm;
        self.auditor = self.hsm.login(0, AUDITOR, AUDITOR_PIN, None)?;
        Ok(())
    }
}

/// One [`AuditEvent::CertificateSigned`] record, as the auditor reads it.
#[derive(Debug, PartialEq, Eq)]
struct Signed {
    key_id: String,
    object: SignedObject,
    serial: Vec<u8>,
    subject: String,
    names: Vec<String>,
    not_before: u64,
    not_after: u64,
}

impl Signed {
    /// The record a certificate's issuance must have left.
    fn certificate(key_id: &str, c: &Certificate, subject: &str, names: Vec<String>) -> Signed {
        Signed {
            key_id: key_id.into(),
            object: SignedObject::Certificate,
            serial: c.serial().to_vec(),
            subject: subject.into(),
            names,
            not_before: c.not_before(),
            not_after: c.not_after(),
        }
    }

    /// The record a revocation list must have left: cRLNumber 1, the
    /// issuer's name, the revoked serials as `serial:` and lowercase hex.
    fn revocation_list(key_id: &str, issuer: &str, revoked: &[&Certificate], crl: &Crl) -> Signed {
        Signed {
            key_id: key_id.into(),
            object: SignedObject::RevocationList,
            serial: vec![1],
            subject: issuer.into(),
            names: revoked.iter().map(|c| format!("serial:{}", hex(c.serial()))).collect(),
            not_before: crl.this_update(),
            not_after: crl.next_update().unwrap_or_default(),
        }
    }
}

/// A first list (cRLNumber 1) current from `now` for a day.
fn crl_window<'a>(now: u64, revoked: &'a [Revocation<'a>]) -> CrlParams<'a> {
    CrlParams { number: 1, this_update: now, next_update: now + DAY, revoked }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every [`AuditEvent::CertificateSigned`] record of the log, in order.
fn signed_records(hsm: &mut Hsm, auditor: SessionId) -> Result<Vec<Signed>, HsmError> {
    let records = hsm.audit_records(auditor)?;
    Ok(records
        .into_iter()
        .filter_map(|r| match r.event {
            AuditEvent::CertificateSigned { key, object, serial, subject, names, not_before, not_after } => {
                Some(Signed { key_id: key.key_id, object, serial, subject, names, not_before, not_after })
            }
            _ => None,
        })
        .collect())
}

fn ring() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

fn der(c: &Certificate) -> CertificateDer<'static> {
    CertificateDer::from(c.to_der().to_vec())
}

fn crl_der(crl: &Crl) -> CertificateRevocationListDer<'static> {
    CertificateRevocationListDer::from(crl.to_der().to_vec())
}

/// The key as rustls takes it: PKCS#8 DER.
fn private_key(key: &KeyPair) -> Result<PrivateKeyDer<'static>, CoreError> {
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_pkcs8_der()?.to_vec())))
}

/// Trust anchors: the root alone (the intermediate comes in each peer's chain).
fn anchors(root: &Certificate) -> Result<Arc<RootCertStore>, rustls::Error> {
    let mut store = RootCertStore::empty();
    store.add(der(root))?;
    Ok(Arc::new(store))
}

fn client_config(
    pki: &Pki,
    identity: Option<(&KeyPair, &Certificate)>,
) -> Result<Arc<ClientConfig>, Box<dyn StdError>> {
    let builder = ClientConfig::builder_with_provider(ring())
        .with_protocol_versions(TLS13)?
        .with_root_certificates(anchors(&pki.root)?);
    let config = match identity {
        Some((key, leaf)) => {
            builder.with_client_auth_cert(vec![der(leaf), der(&pki.issuing)], private_key(key)?)?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn connect(
    client: &Arc<ClientConfig>,
    server: &Arc<ServerConfig>,
    name: &str,
) -> Result<(Connection, Connection), Box<dyn StdError>> {
    let name = ServerName::try_from(name.to_owned())?;
    let client = Connection::Client(ClientConnection::new(Arc::clone(client), name)?);
    let server = Connection::Server(ServerConnection::new(Arc::clone(server))?);
    Ok((client, server))
}

/// What each side of a handshake that did not complete reported (both
/// `None`: it stalled).
#[derive(Debug)]
struct Refused {
    server: Option<rustls::Error>,
    client: Option<rustls::Error>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "handshake refused: server {:?}, client {:?}", self.server, self.client)
    }
}

impl StdError for Refused {}

/// Moves every pending TLS record of `from` to `to` and lets `to` process
/// them; `to`'s error if it refuses them.
fn deliver(from: &mut Connection, to: &mut Connection) -> Result<usize, rustls::Error> {
    let io = |e: io::Error| rustls::Error::General(format!("in-memory transport: {e}"));
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).map_err(io)?;
    }
    let mut rest = wire.as_slice();
    while !rest.is_empty() {
        to.read_tls(&mut rest).map_err(io)?;
        to.process_new_packets()?;
    }
    Ok(wire.len())
}

/// Runs the handshake to its end; when one side refuses, its alert is
/// delivered to the other so both errors are reported.
fn handshake(client: &mut Connection, server: &mut Connection) -> Result<(), Box<Refused>> {
    for _ in 0..16 {
        if let Err(e) = deliver(client, server) {
            return Err(Box::new(Refused { server: Some(e), client: deliver(server, client).err() }));
        }
        if let Err(e) = deliver(server, client) {
            return Err(Box::new(Refused { server: deliver(client, server).err(), client: Some(e) }));
        }
        let done = !client.is_handshaking() && !server.is_handshaking();
        if done && !client.wants_write() && !server.wants_write() {
            return Ok(());
        }
    }
    Err(Box::new(Refused { server: None, client: None }))
}

/// The application data `conn` has received so far.
fn received(conn: &mut Connection) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match conn.reader().read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(out),
            Err(e) => return Err(e),
        }
    }
}

/// One application message each way over an established connection.
fn exchange(client: &mut Connection, server: &mut Connection, request: &[u8], reply: &[u8]) -> TestResult {
    client.writer().write_all(request)?;
    deliver(client, server)?;
    assert_eq!(received(server)?, request, "the server reads what the client sent");
    server.writer().write_all(reply)?;
    deliver(server, client)?;
    assert_eq!(received(client)?, reply, "the client reads what the server sent");
    Ok(())
}

#[test]
fn a_fleet_of_agents_certified_by_an_hsm_held_intermediate_does_mutual_tls_and_the_revoked_one_is_refused()
-> TestResult {
    let mut pki = Pki::new("fleet")?;
    // The CA keys never leave the keystore, not even wrapped.
    let export = pki.hsm.export_wrapped(pki.admin, pki.root_key, pki.root_key);
    assert!(matches!(export, Err(HsmError::NotExtractable)), "{export:?}");
    let export = pki.hsm.export_wrapped(pki.admin, pki.issuing_key, pki.issuing_key);
    assert!(matches!(export, Err(HsmError::NotExtractable)), "{export:?}");
    assert_eq!(pki.issuing.ca_path_len(), Some(Some(0)), "one below the root's pathlen 1");

    let mut agents = Vec::with_capacity(AGENTS);
    for n in 0..AGENTS {
        agents.push(pki.issue(&agent_subject(n), &agent_dns(n), LeafUsage::Client)?);
    }
    let (server_key, server_leaf) = pki.issue(SERVER_SUBJECT, SERVER_NAME, LeafUsage::Server)?;

    // Revocation: the intermediate lists the agent; the root signs an empty
    // list. rustls (webpki) checks every certificate of the path below the
    // anchor by default and refuses one whose status is unknown, so the
    // intermediate needs the root's list too. We keep that default (rather
    // than `only_check_end_entity_revocation`): the stricter check, and it
    // puts both of coffer's lists through the other verifier.
    let now = system_now()?;
    let revoked = [Revocation { serial: agents[REVOKED].1.serial(), revoked_at: now }];
    let issuing_crl = pki.hsm.issue_crl(
        &mut OsRng,
        pki.admin,
        pki.issuing_key,
        None,
        &pki.issuing,
        &crl_window(now, &revoked),
    )?;
    let root_crl =
        pki.hsm.issue_crl(&mut OsRng, pki.admin, pki.root_key, None, &pki.root, &crl_window(now, &[]))?;
    issuing_crl.verify_signature(&pki.issuing)?;
    root_crl.verify_signature(&pki.root)?;
    assert!(issuing_crl.lists(&agents[REVOKED].1));
    assert!(!issuing_crl.lists(&agents[REVOKED + 1].1));
    let crls = [issuing_crl.clone(), root_crl.clone()];

    let verifier = WebPkiClientVerifier::builder_with_provider(anchors(&pki.root)?, ring())
        .with_crls(crls.iter().map(crl_der))
        .enforce_revocation_expiration()
        .build()?;
    let server_config = Arc::new(
        ServerConfig::builder_with_provider(ring())
            .with_protocol_versions(TLS13)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![der(&server_leaf), der(&pki.issuing)], private_key(&server_key)?)?,
    );

    for (n, (key, leaf)) in agents.iter().enumerate() {
        let client_config = client_config(&pki, Some((key, leaf)))?;
        let (mut client, mut server) = connect(&client_config, &server_config, SERVER_NAME)?;
        let outcome = handshake(&mut client, &mut server);
        let opts = PathOptions {
            now: system_now()?,
            purpose: Some(Purpose::ClientAuth),
            name: Some(ExpectedName::Dns(&agent_dns(n))),
            crls: &crls,
        };
        let coffer = cert::verify_path(
            leaf,
            std::slice::from_ref(&pki.issuing),
            std::slice::from_ref(&pki.root),
            &opts,
        );
        if n == REVOKED {
            // The server refuses the client's certificate as revoked, and
            // tells the client so with a certificate_revoked alert.
            let refused = outcome.err().ok_or("the revoked agent completed its handshake")?;
            assert!(
                matches!(refused.server, Some(rustls::Error::InvalidCertificate(CertificateError::Revoked))),
                "{refused:?}"
            );
            assert!(
                matches!(
                    refused.client,
                    Some(rustls::Error::AlertReceived(AlertDescription::CertificateRevoked))
                ),
                "{refused:?}"
            );
            assert_eq!(coffer.err(), Some(CoreError::Revoked), "coffer refuses agent-{n} as revoked");
            continue;
        }
        outcome?;
        // The server saw this agent's chain, the client the server's.
        let seen = server.peer_certificates().ok_or("no client certificate")?;
        assert_eq!(seen, [der(leaf), der(&pki.issuing)], "agent-{n}'s chain");
        let seen = client.peer_certificates().ok_or("no server certificate")?;
        assert_eq!(seen, [der(&server_leaf), der(&pki.issuing)], "the server's chain");
        let request = format!("agent-{n}: status ok");
        let reply = format!("server: ack agent-{n}");
        exchange(&mut client, &mut server, request.as_bytes(), reply.as_bytes())?;
        let path = coffer.map_err(|e| format!("coffer refuses agent-{n}: {e}"))?;
        assert_eq!(path.chain(), [leaf.clone(), pki.issuing.clone(), pki.root.clone()]);
        assert_eq!(path.leaf_key()?, key.public_key());
    }

    // Why the root's empty list is there: without it rustls cannot tell the
    // intermediate's status and refuses even a good agent.
    let only_issuing = WebPkiClientVerifier::builder_with_provider(anchors(&pki.root)?, ring())
        .with_crls([crl_der(&issuing_crl)])
        .build()?;
    let partial = Arc::new(
        ServerConfig::builder_with_provider(ring())
            .with_protocol_versions(TLS13)?
            .with_client_cert_verifier(only_issuing)
            .with_single_cert(vec![der(&server_leaf), der(&pki.issuing)], private_key(&server_key)?)?,
    );
    let (key, leaf) = &agents[0];
    let (mut client, mut server) = connect(&client_config(&pki, Some((key, leaf)))?, &partial, SERVER_NAME)?;
    let refused = handshake(&mut client, &mut server).err().ok_or("a path of unknown status was accepted")?;
    assert!(
        matches!(
            refused.server,
            Some(rustls::Error::InvalidCertificate(CertificateError::UnknownRevocationStatus))
        ),
        "{refused:?}"
    );

    // The audit log, read back from the reopened store, lists every
    // signature the two CA keys made, in order, and nothing else.
    pki.restart()?;
    let mut expected = vec![
        Signed::certificate(ROOT_KEY_ID, &pki.root, ROOT_SUBJECT, vec![]),
        Signed {
            key_id: ISSUING_KEY_ID.into(),
            object: SignedObject::Request,
            serial: vec![],
            subject: ISSUING_SUBJECT.into(),
            names: vec![],
            not_before: 0,
            not_after: 0,
        },
        Signed::certificate(ROOT_KEY_ID, &pki.issuing, ISSUING_SUBJECT, vec![]),
    ];
    for (n, (_, leaf)) in agents.iter().enumerate() {
        let names = vec![format!("dns:{}", agent_dns(n))];
        expected.push(Signed::certificate(ISSUING_KEY_ID, leaf, &agent_subject(n), names));
    }
    let names = vec![format!("dns:{SERVER_NAME}")];
    expected.push(Signed::certificate(ISSUING_KEY_ID, &server_leaf, SERVER_SUBJECT, names));
    let revoked_agent = &agents[REVOKED].1;
    expected.push(Signed::revocation_list(ISSUING_KEY_ID, ISSUING_SUBJECT, &[revoked_agent], &issuing_crl));
    expected.push(Signed::revocation_list(ROOT_KEY_ID, ROOT_SUBJECT, &[], &root_crl));

    let signed = signed_records(&mut pki.hsm, pki.auditor)?;
    assert_eq!(signed.len(), 3 + AGENTS + 1 + 2, "root, request, intermediate, leaves, two lists");
    for (i, (got, want)) in signed.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "certificate record {i}");
    }
    assert_eq!(signed[3 + AGENTS + 1].names, [format!("serial:{}", hex(revoked_agent.serial()))]);
    pki.hsm.audit_verify(pki.auditor)?;
    Ok(())
}

#[test]
fn a_server_certificate_over_an_hsm_held_intermediate_passes_rustls_for_its_own_name_only() -> TestResult {
    let mut pki = Pki::new("server")?;
    let (server_key, server_leaf) = pki.issue(SERVER_SUBJECT, SERVER_NAME, LeafUsage::Server)?;
    let server_config =
        |chain: Vec<CertificateDer<'static>>| -> Result<Arc<ServerConfig>, Box<dyn StdError>> {
            let config = ServerConfig::builder_with_provider(ring())
                .with_protocol_versions(TLS13)?
                .with_no_client_auth()
                .with_single_cert(chain, private_key(&server_key)?)?;
            Ok(Arc::new(config))
        };
    let with_chain = server_config(vec![der(&server_leaf), der(&pki.issuing)])?;
    let client = client_config(&pki, None)?;

    let (mut c, mut s) = connect(&client, &with_chain, SERVER_NAME)?;
    handshake(&mut c, &mut s)?;
    assert_eq!(c.peer_certificates().ok_or("no server certificate")?, [der(&server_leaf), der(&pki.issuing)]);
    assert_eq!(s.peer_certificates(), None, "no client certificate was asked for");
    exchange(&mut c, &mut s, b"GET /health", b"200 OK")?;

    // Another name: the client refuses the certificate and says so.
    let (mut c, mut s) = connect(&client, &with_chain, "other.fleet.test")?;
    let refused = handshake(&mut c, &mut s).err().ok_or("a certificate for another name was accepted")?;
    assert!(
        matches!(
            refused.client,
            Some(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{refused:?}"
    );
    assert!(
        matches!(refused.server, Some(rustls::Error::AlertReceived(AlertDescription::BadCertificate))),
        "{refused:?}"
    );

    // The leaf alone does not reach the root: the intermediate is needed.
    let leaf_only = server_config(vec![der(&server_leaf)])?;
    let (mut c, mut s) = connect(&client, &leaf_only, SERVER_NAME)?;
    let refused = handshake(&mut c, &mut s).err().ok_or("a leaf without its intermediate was accepted")?;
    assert!(
        matches!(refused.client, Some(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))),
        "{refused:?}"
    );

    // coffer's own path validation agrees on both names.
    let now = system_now()?;
    let opts = |name| PathOptions {
        now,
        purpose: Some(Purpose::ServerAuth),
        name: Some(ExpectedName::Dns(name)),
        crls: &[],
    };
    let inter = std::slice::from_ref(&pki.issuing);
    let root = std::slice::from_ref(&pki.root);
    let path = cert::verify_path(&server_leaf, inter, root, &opts(SERVER_NAME))?;
    assert_eq!(path.chain().len(), 3);
    let other = cert::verify_path(&server_leaf, inter, root, &opts("other.fleet.test"));
    assert_eq!(other.err(), Some(CoreError::NameMismatch));
    Ok(())
}
