//! The keystore's certificate functions as C calls them, checked from the
//! keystore's side: after a C caller's stored root certifies itself,
//! issues from a request and a stored intermediate key signs a request
//! for itself, the audit log of the same SQLite store (opened again
//! through coffer-hsm, as an auditor) holds one CertificateSigned record
//! for each, naming what was signed; a refused issue adds none. Likewise
//! for an intermediate CA certified by a stored root and a revocation list
//! signed by the stored intermediate, which path validation then honours.
// miri: the keystore's SQLite store is C code, which miri cannot run.
#![cfg(not(miri))]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a failed call is a test failure, reported by panic"
)]

use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use coffer::boundary::{coffer_bytes, coffer_bytes_free};
use coffer::cert::*;
use coffer::cert_path::*;
use coffer::crl::*;
use coffer::keypair::*;
use coffer::keystore::*;
use coffer::signature::{COFFER_SIG_KEY_DEFAULT, coffer_signature_scheme};
use coffer::status::*;
use coffer_core::cert::{Certificate, Crl};
use coffer_core::rng::OsRng;
use coffer_hsm::audit::{AuditEvent, SignedObject};
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::{Hsm, SystemClock};
use coffer_store::SqliteStore;

const MASTER: u32 = coffer_keystore_secret::COFFER_KEYSTORE_MASTER_KEY as u32;
const KEY: [u8; 32] = [0x3c; 32];
const SO_PIN: &[u8] = b"so-pin-0001";
const PIN: &[u8] = b"ca-admin-pin-1";
const AUDIT_PIN: &[u8] = b"audit-pin-01";

fn ok(status: coffer_status, what: &str) {
    assert_eq!(status, COFFER_OK, "{what}");
}

fn user_create(
    ks: *const coffer_keystore,
    so: u64,
    name: &[u8],
    role: coffer_role,
    tenant: &[u8],
    pin: &[u8],
) {
    let (t, t_len) = if tenant.is_empty() { (null(), 0) } else { (tenant.as_ptr(), tenant.len()) };
    let s = coffer_keystore_user_create(
        ks,
        so,
        name.as_ptr(),
        name.len(),
        role as u32,
        t,
        t_len,
        pin.as_ptr(),
        pin.len(),
    );
    ok(s, "user_create");
}

fn generate(ks: *const coffer_keystore, session: u64, key_id: &[u8]) -> u64 {
    let attrs = coffer_key_attributes {
        label: key_id.as_ptr(),
        label_len: key_id.len(),
        key_id: key_id.as_ptr(),
        key_id_len: key_id.len(),
        usage: COFFER_USAGE_SIGN,
        extractable: false,
        active: true,
    };
    let mut handle = 0;
    let p256 = coffer_key_type::COFFER_KEY_TYPE_P256 as u32;
    ok(coffer_keystore_generate(ks, session, p256, &attrs, &mut handle), "generate");
    handle
}

fn san(kind: coffer_san_kind, value: &'static str) -> coffer_san {
    coffer_san { kind: kind as u32, value: value.as_ptr(), value_len: value.len() }
}

/// A client leaf issued from `csr` under `ca` by the stored key `key`:
/// the status and the certificate.
fn issue(
    ks: *const coffer_keystore,
    session: u64,
    key: u64,
    ca: *const coffer_certificate,
    csr: *const coffer_csr,
) -> (coffer_status, *mut coffer_certificate) {
    let client = coffer_leaf_usage::COFFER_LEAF_CLIENT as u32;
    let mut leaf = null_mut();
    let s = coffer_keystore_issue_certificate(
        ks,
        session,
        key,
        COFFER_SIG_KEY_DEFAULT,
        ca,
        csr,
        client,
        30,
        null(),
        0,
        &mut leaf,
    );
    (s, leaf)
}

/// The certificate behind a C handle, as coffer-core reads it.
fn parsed(cert: *const coffer_certificate) -> Certificate {
    let mut der = coffer_bytes { data: null_mut(), len: 0 };
    ok(coffer_certificate_to_der(cert, &mut der), "to_der");
    // SAFETY: coffer wrote `len` bytes at `data`; they live until the free below.
    let bytes = unsafe { std::slice::from_raw_parts(der.data, der.len) }.to_vec();
    coffer_bytes_free(&mut der);
    Certificate::from_der(&bytes).unwrap()
}

/// The CertificateSigned records of the store at `path`, read by the auditor.
fn certificate_records(path: &Path) -> Vec<AuditEvent> {
    let store = Box::new(SqliteStore::open(path).unwrap());
    let master = MasterKey::from_slice(&KEY).unwrap();
    let mut hsm =
        Hsm::open(&mut OsRng, store, &KeySource::MasterKey(&master), Box::new(SystemClock)).unwrap();
    let auditor = hsm.login(0, "audit", AUDIT_PIN, None).unwrap();
    hsm.audit_verify(auditor).unwrap();
    let records = hsm.audit_records(auditor).unwrap();
    records
        .into_iter()
        .map(|r| r.event)
        .filter(|e| matches!(e, AuditEvent::CertificateSigned { .. }))
        .collect()
}

/// A new keystore in a scratch directory of its own (`name`), with a
/// tenant "pki", its user "ca-admin" logged in, and an auditor "audit".
struct Store {
    dir: PathBuf,
    path: PathBuf,
    ks: *mut coffer_keystore,
    admin: u64,
}

impl Store {
    fn new(name: &str) -> Store {
        let dir = std::env::temp_dir().join(format!("coffer-keystore-certs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pki.db");
        let path_text = path.to_string_lossy().into_owned();
        let mut ks = null_mut();
        ok(
            coffer_keystore_create(path_text.as_ptr(), path_text.len(), MASTER, KEY.as_ptr(), 32, 1, &mut ks),
            "create",
        );
        ok(
            coffer_keystore_init_token(ks, 0, b"pki".as_ptr(), 3, SO_PIN.as_ptr(), SO_PIN.len()),
            "init_token",
        );
        let (mut so, mut admin) = (0, 0);
        ok(coffer_keystore_login_so(ks, 0, SO_PIN.as_ptr(), SO_PIN.len(), &mut so), "login_so");
        ok(coffer_keystore_tenant_create(ks, so, b"pki".as_ptr(), 3), "tenant_create");
        user_create(ks, so, b"ca-admin", coffer_role::COFFER_ROLE_USER, b"pki", PIN);
        user_create(ks, so, b"audit", coffer_role::COFFER_ROLE_AUDITOR, b"", AUDIT_PIN);
        let s = coffer_keystore_login_user(
            ks,
            0,
            b"ca-admin".as_ptr(),
            8,
            PIN.as_ptr(),
            PIN.len(),
            null(),
            0,
            &mut admin,
        );
        ok(s, "login_user");
        Store { dir, path, ks, admin }
    }

    /// Frees the keystore and returns the CertificateSigned records of its store.
    fn close(self) -> Vec<AuditEvent> {
        coffer_keystore_free(self.ks);
        let records = certificate_records(&self.path);
        std::fs::remove_dir_all(&self.dir).unwrap();
        records
    }
}

/// A CA certificate for the stored key `key`, allowing `path_len` intermediates below it.
fn stored_ca(store: &Store, key: u64, subject: &str, path_len: i32) -> *mut coffer_certificate {
    let mut ca = null_mut();
    let s = coffer_keystore_ca_certificate(
        store.ks,
        store.admin,
        key,
        COFFER_SIG_KEY_DEFAULT,
        subject.as_ptr(),
        subject.len(),
        3650,
        path_len,
        &mut ca,
    );
    ok(s, "ca_certificate");
    ca
}

#[test]
fn each_certificate_and_request_signed_through_the_c_api_has_an_audit_record_naming_it() {
    let store = Store::new("leaf");
    let (ks, admin) = (store.ks, store.admin);
    let root = generate(ks, admin, b"root-ca");
    let issuing = generate(ks, admin, b"issuing-ca");

    // The root certifies itself and issues from an agent's request.
    let ca = stored_ca(&store, root, "CN=Acme Root,O=Acme", 1);
    let (mut agent, mut csr) = (null_mut(), null_mut());
    ok(coffer_keypair_generate(coffer_key_algorithm::COFFER_ALG_P256 as u32, &mut agent), "keypair");
    let sans = [
        san(coffer_san_kind::COFFER_SAN_DNS, "agent-7.acme.test"),
        san(coffer_san_kind::COFFER_SAN_IP, "10.0.0.7"),
    ];
    let agent_subject = b"CN=agent-7,O=Acme";
    ok(
        coffer_csr_new(agent, agent_subject.as_ptr(), agent_subject.len(), sans.as_ptr(), 2, &mut csr),
        "csr_new",
    );
    let (s, leaf) = issue(ks, admin, root, ca, csr);
    ok(s, "issue_certificate");
    // Another stored key is refused as the CA's: no certificate, no record.
    let (s, refused) = issue(ks, admin, issuing, ca, csr);
    assert_eq!(s, COFFER_ERR_KEY_MISMATCH);
    assert!(refused.is_null());
    // The intermediate key requests a certificate for itself.
    let ca_names = [san(coffer_san_kind::COFFER_SAN_URI, "https://pki.acme.test")];
    let request_subject = b"CN=Acme Issuing CA";
    let mut request = null_mut();
    let s = coffer_keystore_certificate_request(
        ks,
        admin,
        issuing,
        COFFER_SIG_KEY_DEFAULT,
        request_subject.as_ptr(),
        request_subject.len(),
        ca_names.as_ptr(),
        1,
        &mut request,
    );
    ok(s, "certificate_request");
    let (ca_cert, leaf_cert) = (parsed(ca), parsed(leaf));
    for handle in [ca, leaf] {
        coffer_certificate_free(handle);
    }
    coffer_csr_free(request);
    coffer_csr_free(csr);
    coffer_keypair_free(agent);

    let records = store.close();
    assert_eq!(records.len(), 3, "{records:?}");
    let expected = [
        ("root-ca", SignedObject::Certificate, Some(&ca_cert), "CN=Acme Root,O=Acme", vec![]),
        (
            "root-ca",
            SignedObject::Certificate,
            Some(&leaf_cert),
            "CN=agent-7,O=Acme",
            vec!["dns:agent-7.acme.test", "ip:10.0.0.7"],
        ),
        ("issuing-ca", SignedObject::Request, None, "CN=Acme Issuing CA", vec!["uri:https://pki.acme.test"]),
    ];
    for (record, (key_id, what, cert, subject_text, names_text)) in records.iter().zip(expected) {
        let AuditEvent::CertificateSigned { key, object, serial, subject, names, not_before, not_after } =
            record
        else {
            panic!("{record:?}");
        };
        assert_eq!(key.key_id, key_id, "{record:?}");
        assert_eq!(object, &what, "{record:?}");
        assert_eq!(subject, subject_text, "{record:?}");
        assert_eq!(names, &names_text, "{record:?}");
        match cert {
            Some(c) => {
                assert_eq!(serial.as_slice(), c.serial(), "{record:?}");
                assert_eq!((*not_before, *not_after), (c.not_before(), c.not_after()), "{record:?}");
            }
            None => assert!(serial.is_empty() && *not_before == 0 && *not_after == 0, "{record:?}"),
        }
    }
}

/// `coffer_keystore_issue_intermediate` for 365 days: the status and the
/// certificate (NULL unless it succeeded).
fn issue_intermediate(
    store: &Store,
    key: u64,
    scheme: u32,
    ca: *const coffer_certificate,
    csr: *const coffer_csr,
    path_len: i32,
) -> (coffer_status, *mut coffer_certificate) {
    let mut out = null_mut();
    let s = coffer_keystore_issue_intermediate(
        store.ks,
        store.admin,
        key,
        scheme,
        ca,
        csr,
        365,
        path_len,
        &mut out,
    );
    assert_eq!(s == COFFER_OK, !out.is_null(), "an output written on failure, or none on success");
    (s, out)
}

/// `coffer_keystore_issue_crl` number 1 from now to `next_update`: the
/// status and the list (NULL unless it succeeded).
fn issue_crl(
    store: &Store,
    key: u64,
    ca: *const coffer_certificate,
    next_update: u64,
    revoked: &[coffer_revocation],
) -> (coffer_status, *mut coffer_crl) {
    let mut out = null_mut();
    let s = coffer_keystore_issue_crl(
        store.ks,
        store.admin,
        key,
        COFFER_SIG_KEY_DEFAULT,
        ca,
        1,
        0,
        next_update,
        revoked.as_ptr(),
        revoked.len(),
        &mut out,
    );
    assert_eq!(s == COFFER_OK, !out.is_null(), "an output written on failure, or none on success");
    (s, out)
}

fn bytes(f: impl FnOnce(*mut coffer_bytes) -> coffer_status) -> Vec<u8> {
    let mut out = coffer_bytes { data: null_mut(), len: 0 };
    ok(f(&mut out), "export");
    // SAFETY: coffer wrote `len` bytes at `data`; they live until the free below.
    let v = unsafe { std::slice::from_raw_parts(out.data, out.len) }.to_vec();
    coffer_bytes_free(&mut out);
    v
}

/// `coffer_certificate_verify_path` of `leaf` to `root` through `issuing`
/// for a client: the status and the chain length (`usize::MAX` if unwritten).
fn verify_client(
    leaf: *const coffer_certificate,
    root: *const coffer_certificate,
    issuing: *const coffer_certificate,
    crls: &[*const coffer_crl],
) -> (coffer_status, usize) {
    let anchors = bytes(|out| coffer_certificate_to_pem(root, out));
    let untrusted = bytes(|out| coffer_certificate_to_pem(issuing, out));
    let mut chain_len = usize::MAX;
    let s = coffer_certificate_verify_path(
        leaf,
        anchors.as_ptr(),
        anchors.len(),
        untrusted.as_ptr(),
        untrusted.len(),
        if crls.is_empty() { null() } else { crls.as_ptr() },
        crls.len(),
        COFFER_PURPOSE_CLIENT,
        null(),
        0,
        &mut chain_len,
        null_mut(),
        null_mut(),
    );
    (s, chain_len)
}

#[test]
fn a_stored_root_certifies_a_stored_intermediate_whose_revocation_list_refuses_a_leaf_and_each_is_audited() {
    let store = Store::new("paths");
    let (ks, admin) = (store.ks, store.admin);
    let root = generate(ks, admin, b"root-ca");
    let issuing = generate(ks, admin, b"issuing-ca");
    let root_ca = stored_ca(&store, root, "CN=Acme Root,O=Acme", 1);
    let subject = b"CN=Acme Issuing CA";
    let mut request = null_mut();
    let s = coffer_keystore_certificate_request(
        ks,
        admin,
        issuing,
        COFFER_SIG_KEY_DEFAULT,
        subject.as_ptr(),
        subject.len(),
        null(),
        0,
        &mut request,
    );
    ok(s, "certificate_request");

    // Refused: arguments before the key is used, then the wrong key.
    let ecdsa = coffer_signature_scheme::COFFER_SIG_ECDSA_P256_SHA256 as u32;
    assert_eq!(issue_intermediate(&store, root, 99, root_ca, request, -1).0, COFFER_ERR_UNKNOWN_VALUE);
    assert_eq!(issue_intermediate(&store, root, ecdsa, root_ca, request, 256).0, COFFER_ERR_INVALID_ARGUMENT);
    assert_eq!(issue_intermediate(&store, root, ecdsa, root_ca, request, 1).0, COFFER_ERR_PATH_TOO_LONG);
    assert_eq!(issue_intermediate(&store, issuing, ecdsa, root_ca, request, -1).0, COFFER_ERR_KEY_MISMATCH);
    assert_eq!(issue_intermediate(&store, root, ecdsa, null(), request, -1).0, COFFER_ERR_NULL_POINTER);
    let mut unused = null_mut();
    let s = coffer_keystore_issue_intermediate(ks, admin, root, ecdsa, root_ca, request, 0, -1, &mut unused);
    assert_eq!(s, COFFER_ERR_INVALID_VALIDITY);
    let (s, issuing_ca) = issue_intermediate(&store, root, ecdsa, root_ca, request, -1);
    ok(s, "issue_intermediate");
    let intermediate = parsed(issuing_ca);
    assert_eq!(intermediate.ca_path_len(), Some(Some(0)));
    assert_eq!(intermediate.subject(), "CN=Acme Issuing CA");

    // The stored intermediate issues an agent's leaf, then revokes it.
    let (mut agent, mut csr) = (null_mut(), null_mut());
    ok(coffer_keypair_generate(coffer_key_algorithm::COFFER_ALG_P256 as u32, &mut agent), "keypair");
    let agent_subject = b"CN=agent-9,O=Acme";
    ok(coffer_csr_new(agent, agent_subject.as_ptr(), agent_subject.len(), null(), 0, &mut csr), "csr_new");
    let (s, leaf) = issue(ks, admin, issuing, issuing_ca, csr);
    ok(s, "issue_certificate");
    assert_eq!(verify_client(leaf, root_ca, issuing_ca, &[]), (COFFER_OK, 3));
    let serial = bytes(|out| coffer_certificate_serial(leaf, out));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let revoked = [coffer_revocation { serial: serial.as_ptr(), serial_len: serial.len(), revoked_at: now }];
    let next = now + 86_400;
    let too_many: Vec<coffer_revocation> = (0..=COFFER_CRL_MAX_ENTRIES)
        .map(|_| coffer_revocation { serial: serial.as_ptr(), serial_len: serial.len(), revoked_at: now })
        .collect();
    assert_eq!(issue_crl(&store, issuing, issuing_ca, next, &too_many).0, COFFER_ERR_LIMIT_EXCEEDED);
    assert_eq!(issue_crl(&store, root, issuing_ca, next, &revoked).0, COFFER_ERR_KEY_MISMATCH);
    assert_eq!(issue_crl(&store, issuing, issuing_ca, now - 1, &revoked).0, COFFER_ERR_INVALID_VALIDITY);
    let (s, crl) = issue_crl(&store, issuing, issuing_ca, next, &revoked);
    ok(s, "issue_crl");
    ok(coffer_crl_verify_signature(crl, issuing_ca), "crl_verify_signature");
    assert_eq!(verify_client(leaf, root_ca, issuing_ca, &[crl]), (COFFER_ERR_REVOKED, usize::MAX));
    let list = Crl::from_der(&bytes(|out| coffer_crl_to_der(crl, out))).unwrap();
    let leaf_cert = parsed(leaf);

    coffer_crl_free(crl);
    for cert in [root_ca, issuing_ca, leaf] {
        coffer_certificate_free(cert);
    }
    coffer_csr_free(csr);
    coffer_csr_free(request);
    coffer_keypair_free(agent);

    let records = store.close();
    let summary: Vec<(String, SignedObject, String)> = records
        .iter()
        .map(|r| match r {
            AuditEvent::CertificateSigned { key, object, subject, .. } => {
                (key.key_id.clone(), *object, subject.clone())
            }
            _ => panic!("{r:?}"),
        })
        .collect();
    let expected = [
        ("root-ca", SignedObject::Certificate, "CN=Acme Root,O=Acme"),
        ("issuing-ca", SignedObject::Request, "CN=Acme Issuing CA"),
        ("root-ca", SignedObject::Certificate, "CN=Acme Issuing CA"),
        ("issuing-ca", SignedObject::Certificate, "CN=agent-9,O=Acme"),
        ("issuing-ca", SignedObject::RevocationList, "CN=Acme Issuing CA"),
    ]
    .map(|(k, o, s)| (k.to_owned(), o, s.to_owned()));
    assert_eq!(summary, expected, "{records:?}");
    let AuditEvent::CertificateSigned { serial, not_before, not_after, .. } = &records[2] else {
        unreachable!()
    };
    assert_eq!(
        (serial.as_slice(), *not_before, *not_after),
        (intermediate.serial(), intermediate.not_before(), intermediate.not_after())
    );
    assert_eq!(records[3], certificate_record_of(&records[3], &leaf_cert));
    let AuditEvent::CertificateSigned { serial, names, not_before, not_after, .. } = &records[4] else {
        unreachable!()
    };
    let hex: String = leaf_cert.serial().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(serial, &vec![1]);
    assert_eq!(names, &vec![format!("serial:{hex}")]);
    assert_eq!((*not_before, *not_after), (list.this_update(), next));
}

/// `record` with the serial and validity of `cert`: equal to `record` when
/// the record describes `cert`.
fn certificate_record_of(record: &AuditEvent, cert: &Certificate) -> AuditEvent {
    let mut expected = record.clone();
    if let AuditEvent::CertificateSigned { serial, not_before, not_after, .. } = &mut expected {
        *serial = cert.serial().to_vec();
        *not_before = cert.not_before();
        *not_after = cert.not_after();
    }
    expected
}
