//! The keystore's certificate functions as C calls them, checked from the
//! keystore's side: after a C caller's stored root certifies itself,
//! issues from a request and a stored intermediate key signs a request
//! for itself, the audit log of the same SQLite store (opened again
//! through coffer-hsm, as an auditor) holds one CertificateSigned record
//! for each, naming what was signed; a refused issue adds none.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a failed call is a test failure, reported by panic"
)]

use std::path::Path;
use std::ptr::{null, null_mut};

use coffer::boundary::{coffer_bytes, coffer_bytes_free};
use coffer::cert::*;
use coffer::keypair::*;
use coffer::keystore::*;
use coffer::signature::COFFER_SIG_KEY_DEFAULT;
use coffer::status::*;
use coffer_core::cert::Certificate;
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

#[test]
fn each_certificate_and_request_signed_through_the_c_api_has_an_audit_record_naming_it() {
    let dir = std::env::temp_dir().join(format!("coffer-keystore-certs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pki.db");
    let path_text = path.to_string_lossy().into_owned();
    let mut ks = null_mut();
    ok(
        coffer_keystore_create(path_text.as_ptr(), path_text.len(), MASTER, KEY.as_ptr(), 32, 1, &mut ks),
        "create",
    );
    ok(coffer_keystore_init_token(ks, 0, b"pki".as_ptr(), 3, SO_PIN.as_ptr(), SO_PIN.len()), "init_token");
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
    let root = generate(ks, admin, b"root-ca");
    let issuing = generate(ks, admin, b"issuing-ca");

    // The root certifies itself and issues from an agent's request.
    let subject = b"CN=Acme Root,O=Acme";
    let mut ca = null_mut();
    let s = coffer_keystore_ca_certificate(
        ks,
        admin,
        root,
        COFFER_SIG_KEY_DEFAULT,
        subject.as_ptr(),
        subject.len(),
        3650,
        1,
        &mut ca,
    );
    ok(s, "ca_certificate");
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
    coffer_keystore_free(ks);

    let records = certificate_records(&path);
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
    std::fs::remove_dir_all(&dir).unwrap();
}
