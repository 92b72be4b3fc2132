//! A CA whose key never leaves the keystore (issue 15): it certifies
//! itself, issues from agents' requests, signs a request for its own key,
//! and every signature is an audit record naming what was signed; the key's
//! policy and tenant are enforced as for any signature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use coffer_core::cert::{
    self, CaParams, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, San, SignatureScheme, Validity,
};
use coffer_core::rng::OsRng;
use coffer_hsm::audit::{AuditEvent, SignedObject};
use coffer_hsm::{Config, Error, Handle, Hsm, KeyAttributes, KeyType, Role, SessionId, SystemClock, Usage};

struct Pki {
    hsm: Hsm,
    admin: SessionId,
    auditor: SessionId,
}

fn attrs(tenant: &str, id: &str, usage: Usage) -> KeyAttributes {
    KeyAttributes {
        label: id.into(),
        tenant: tenant.into(),
        key_id: id.into(),
        usage,
        extractable: false,
        active: true,
    }
}

/// An HSM with the tenants `pki` (user `ca-admin`) and `other` (user `mallory`), and an auditor.
fn pki() -> (Pki, SessionId) {
    let config = Config { pin_iterations: 1_000, ..Config::default() };
    let mut hsm = Hsm::new(1, config, Box::new(SystemClock)).unwrap();
    hsm.init_token(&mut OsRng, 0, "pki", b"so-pin-1").unwrap();
    let so = hsm.login_so(0, b"so-pin-1").unwrap();
    for (tenant, user) in [("pki", "ca-admin"), ("other", "mallory")] {
        hsm.create_tenant(&mut OsRng, so, tenant).unwrap();
        hsm.create_user(&mut OsRng, so, user, Role::User, &[tenant], b"user-pin-1").unwrap();
    }
    hsm.create_user(&mut OsRng, so, "audit", Role::Auditor, &[], b"audit-pin-1").unwrap();
    let admin = hsm.login(0, "ca-admin", b"user-pin-1", None).unwrap();
    let mallory = hsm.login(0, "mallory", b"user-pin-1", None).unwrap();
    let auditor = hsm.login(0, "audit", b"audit-pin-1", None).unwrap();
    (Pki { hsm, admin, auditor }, mallory)
}

fn signed_records(p: &mut Pki) -> Vec<AuditEvent> {
    let records = p.hsm.audit_records(p.auditor).unwrap();
    records
        .into_iter()
        .map(|r| r.event)
        .filter(|e| matches!(e, AuditEvent::CertificateSigned { .. }))
        .collect()
}

fn root(p: &mut Pki, key_type: KeyType) -> (Handle, coffer_core::cert::Certificate) {
    let h = p
        .hsm
        .generate(&mut OsRng, p.admin, key_type, attrs("pki", "root-ca", Usage::SIGN | Usage::VERIFY))
        .unwrap();
    let params = CaParams {
        subject: "CN=Acme Root,O=Acme",
        validity: Validity::days_from_now(3650).unwrap(),
        path_len: Some(1),
    };
    let ca = p.hsm.ca_certificate(&mut OsRng, p.admin, h, None, &params).unwrap();
    (h, ca)
}

#[test]
fn an_hsm_held_root_certifies_itself_and_issues_from_requests_with_an_audit_record_each() {
    let (mut p, _) = pki();
    let (h, ca) = root(&mut p, KeyType::P256);
    cert::verify_chain_now(&ca, &ca).unwrap();
    // The certificate certifies the key in the HSM.
    let spki = p.hsm.public_key_der(p.admin, h).unwrap();
    assert_eq!(ca.public_key().unwrap(), cert::PublicKey::from_spki_der(&spki).unwrap());

    let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let sans = [San::Dns("agent-7.acme.test".into()), San::Ip("10.0.0.7".parse().unwrap())];
    let csr = cert::csr(&mut OsRng, &agent, "CN=agent-7,O=Acme", &sans).unwrap();
    let params = LeafParams {
        validity: Validity::days_from_now(30).unwrap(),
        usage: LeafUsage::Client,
        sans: &[],
        key_usage: None,
    };
    let leaf = p.hsm.issue_certificate(&mut OsRng, p.admin, h, None, &ca, &csr, &params).unwrap();
    assert_eq!(cert::verify_chain_now(&leaf, &ca).unwrap(), agent.public_key());

    let signed = signed_records(&mut p);
    assert_eq!(signed.len(), 2, "{signed:?}");
    match &signed[1] {
        AuditEvent::CertificateSigned { key, object, serial, subject, names, not_before, not_after } => {
            assert_eq!(key.key_id, "root-ca");
            assert_eq!(*object, SignedObject::Certificate);
            assert_eq!(serial.as_slice(), leaf.serial());
            assert_eq!(subject, "CN=agent-7,O=Acme");
            assert_eq!(names, &["dns:agent-7.acme.test", "ip:10.0.0.7"]);
            assert_eq!((*not_before, *not_after), (leaf.not_before(), leaf.not_after()));
        }
        other => panic!("{other:?}"),
    }
    // The records are in the chain the auditor verifies.
    p.hsm.audit_verify(p.auditor).unwrap();
}

#[test]
fn an_rsa_root_signs_with_the_scheme_asked_for_and_refuses_the_other_kinds() {
    let (mut p, _) = pki();
    let h =
        p.hsm.generate(&mut OsRng, p.admin, KeyType::Rsa2048, attrs("pki", "rsa-root", Usage::SIGN)).unwrap();
    let params =
        CaParams { subject: "CN=RSA Root", validity: Validity::days_from_now(30).unwrap(), path_len: None };
    let pss =
        p.hsm.ca_certificate(&mut OsRng, p.admin, h, Some(SignatureScheme::RsaPssSha256), &params).unwrap();
    cert::verify_chain_now(&pss, &pss).unwrap();
    let ecdsa = p.hsm.ca_certificate(&mut OsRng, p.admin, h, Some(SignatureScheme::EcdsaP256Sha256), &params);
    assert!(matches!(ecdsa, Err(Error::Crypto(coffer_core::Error::InvalidInput))), "{ecdsa:?}");
}

#[test]
fn a_request_for_an_hsm_held_key_is_signed_by_it_and_logged() {
    let (mut p, _) = pki();
    let h =
        p.hsm.generate(&mut OsRng, p.admin, KeyType::P256, attrs("pki", "issuing-ca", Usage::SIGN)).unwrap();
    let csr = p.hsm.certificate_request(&mut OsRng, p.admin, h, None, "CN=Acme Issuing CA", &[]).unwrap();
    let key = cert::verify_csr(&csr).unwrap();
    let spki = p.hsm.public_key_der(p.admin, h).unwrap();
    assert_eq!(key, cert::PublicKey::from_spki_der(&spki).unwrap());
    let signed = signed_records(&mut p);
    assert!(
        matches!(&signed[..], [AuditEvent::CertificateSigned { object: SignedObject::Request, subject, .. }] if subject == "CN=Acme Issuing CA"),
        "{signed:?}"
    );
}

#[test]
fn the_ca_keys_policy_and_tenant_hold_for_certificates_and_nothing_is_logged_as_signed() {
    let (mut p, mallory) = pki();
    let (h, ca) = root(&mut p, KeyType::P256);
    let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let csr = cert::csr(&mut OsRng, &agent, "CN=agent-9", &[San::Dns("agent-9.test".into())]).unwrap();
    let params = LeafParams {
        validity: Validity::days_from_now(30).unwrap(),
        usage: LeafUsage::Client,
        sans: &[],
        key_usage: None,
    };
    // Another tenant's user cannot use the CA key.
    let r = p.hsm.issue_certificate(&mut OsRng, mallory, h, None, &ca, &csr, &params);
    assert!(matches!(r, Err(Error::TenantNotAllowed)), "{r:?}");
    // A key without SIGN cannot issue.
    let verify_only = p
        .hsm
        .generate(&mut OsRng, p.admin, KeyType::P256, attrs("pki", "verify-only", Usage::VERIFY))
        .unwrap();
    let r = p.hsm.issue_certificate(&mut OsRng, p.admin, verify_only, None, &ca, &csr, &params);
    assert!(matches!(r, Err(Error::PolicyDenied)), "{r:?}");
    // A key that is not the CA's: refused after authorization, nothing issued or logged as issued.
    let other =
        p.hsm.generate(&mut OsRng, p.admin, KeyType::P256, attrs("pki", "not-the-ca", Usage::SIGN)).unwrap();
    let r = p.hsm.issue_certificate(&mut OsRng, p.admin, other, None, &ca, &csr, &params);
    assert!(matches!(r, Err(Error::Crypto(coffer_core::Error::KeyMismatch))), "{r:?}");
    assert_eq!(signed_records(&mut p).len(), 1, "only the root's own certificate");
}

#[test]
fn an_hsm_held_ca_signs_a_revocation_list_that_lists_its_serials_in_the_audit_log() {
    let (mut p, _) = pki();
    let (h, ca) = root(&mut p, KeyType::P256);
    let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let csr = cert::csr(&mut OsRng, &agent, "CN=agent-3", &[San::Dns("agent-3.test".into())]).unwrap();
    let params = LeafParams {
        validity: Validity::days_from_now(30).unwrap(),
        usage: LeafUsage::Client,
        sans: &[],
        key_usage: None,
    };
    let leaf = p.hsm.issue_certificate(&mut OsRng, p.admin, h, None, &ca, &csr, &params).unwrap();
    let now = leaf.not_before() + 600;
    let revoked = [cert::Revocation { serial: leaf.serial(), revoked_at: now }];
    let crl_params =
        cert::CrlParams { number: 2, this_update: now, next_update: now + 86_400, revoked: &revoked };
    let crl = p.hsm.issue_crl(&mut OsRng, p.admin, h, None, &ca, &crl_params).unwrap();
    crl.verify_signature(&ca).unwrap();
    let opts =
        cert::PathOptions { now: now + 60, purpose: None, name: None, crls: std::slice::from_ref(&crl) };
    assert_eq!(cert::verify_path(&leaf, &[], &[ca], &opts).unwrap_err(), coffer_core::Error::Revoked);
    let signed = signed_records(&mut p);
    let hex: String = leaf.serial().iter().map(|b| format!("{b:02x}")).collect();
    match signed.last() {
        Some(AuditEvent::CertificateSigned {
            object: SignedObject::RevocationList, serial, names, ..
        }) => {
            assert_eq!(serial, &[2]);
            assert_eq!(names, &[format!("serial:{}", hex.trim_start_matches("00"))]);
        }
        other => panic!("{other:?}"),
    }
    p.hsm.audit_verify(p.auditor).unwrap();
}

#[test]
fn an_hsm_held_root_certifies_an_hsm_held_intermediate_that_issues_leaves_openssl_accepts() {
    let (mut p, _) = pki();
    let (root_h, root) = root(&mut p, KeyType::P256);
    let inter_h = p
        .hsm
        .generate(&mut OsRng, p.admin, KeyType::Rsa2048, attrs("pki", "issuing-ca", Usage::SIGN))
        .unwrap();
    let request = p
        .hsm
        .certificate_request(&mut OsRng, p.admin, inter_h, None, "CN=Acme Issuing CA,O=Acme", &[])
        .unwrap();
    let params = cert::IntermediateParams { validity: Validity::days_from_now(365).unwrap(), path_len: None };
    let issuing =
        p.hsm.issue_intermediate(&mut OsRng, p.admin, root_h, None, &root, &request, &params).unwrap();
    assert_eq!(issuing.ca_path_len(), Some(Some(0)), "one below the root's pathlen 1");
    // pathlen 0: the intermediate may issue no further CA.
    let sub_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let sub_req = cert::csr(&mut OsRng, &sub_key, "CN=Too Deep", &[]).unwrap();
    let deeper = p.hsm.issue_intermediate(&mut OsRng, p.admin, inter_h, None, &issuing, &sub_req, &params);
    assert!(matches!(deeper, Err(Error::Crypto(coffer_core::Error::PathTooLong))), "{deeper:?}");

    let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let csr = cert::csr(&mut OsRng, &agent, "CN=agent-1", &[San::Dns("agent-1.fleet.test".into())]).unwrap();
    let leaf_params = LeafParams {
        validity: Validity::days_from_now(30).unwrap(),
        usage: LeafUsage::ServerAndClient,
        sans: &[],
        key_usage: None,
    };
    let leaf =
        p.hsm.issue_certificate(&mut OsRng, p.admin, inter_h, None, &issuing, &csr, &leaf_params).unwrap();
    let opts = cert::PathOptions {
        now: leaf.not_before() + 60,
        purpose: Some(cert::Purpose::ClientAuth),
        name: Some(cert::ExpectedName::Dns("agent-1.fleet.test")),
        crls: &[],
    };
    let path =
        cert::verify_path(&leaf, std::slice::from_ref(&issuing), std::slice::from_ref(&root), &opts).unwrap();
    assert_eq!(path.chain().len(), 3);

    // OpenSSL builds the same path from the root through the untrusted intermediate.
    let dir = std::env::temp_dir().join(format!("coffer-hsm-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, c) in [("root.pem", &root), ("issuing.pem", &issuing), ("leaf.pem", &leaf)] {
        std::fs::write(dir.join(name), c.to_pem().unwrap()).unwrap();
    }
    let out = std::process::Command::new("openssl")
        .current_dir(&dir)
        .args([
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "issuing.pem",
            "-purpose",
            "sslclient",
            "leaf.pem",
        ])
        .output()
        .expect("openssl is needed (apt-get install openssl)");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_hsm_held_ca_renews_a_leaf_for_the_same_or_a_new_key_and_logs_each_renewal() {
    let (mut p, _) = pki();
    let (h, ca) = root(&mut p, KeyType::P256);
    let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let sans = [San::Dns("agent-7.acme.test".into())];
    let csr = cert::csr(&mut OsRng, &agent, "CN=agent-7,O=Acme", &sans).unwrap();
    let params = LeafParams {
        validity: Validity::days_from_now(30).unwrap(),
        usage: LeafUsage::Server,
        sans: &[],
        key_usage: None,
    };
    let old = p.hsm.issue_certificate(&mut OsRng, p.admin, h, None, &ca, &csr, &params).unwrap();

    let longer = Validity::days_from_now(90).unwrap();
    let same = p.hsm.renew_certificate(&mut OsRng, p.admin, h, None, &ca, &old, longer, None).unwrap();
    assert_eq!(cert::verify_chain_now(&same, &ca).unwrap(), agent.public_key());
    assert_eq!((same.subject(), same.subject_alt_names()), (old.subject(), old.subject_alt_names()));
    assert_eq!(same.leaf_usage(), Some(LeafUsage::Server));
    assert_eq!(same.not_after(), longer.not_after);
    assert_ne!(same.serial(), old.serial());
    let fresh = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap().public_key();
    let rekeyed =
        p.hsm.renew_certificate(&mut OsRng, p.admin, h, None, &ca, &old, longer, Some(&fresh)).unwrap();
    assert_eq!(cert::verify_chain_now(&rekeyed, &ca).unwrap(), fresh);

    // Only the issuer renews, and never past its own end.
    let other_ca = cert::self_signed_ca(
        &mut OsRng,
        &KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap(),
        &CaParams {
            subject: "CN=Acme Root,O=Acme",
            validity: Validity::days_from_now(10).unwrap(),
            path_len: None,
        },
    )
    .unwrap();
    let err =
        p.hsm.renew_certificate(&mut OsRng, p.admin, h, None, &other_ca, &old, longer, None).unwrap_err();
    assert_eq!(err, Error::Crypto(coffer_core::Error::IssuerMismatch));
    let too_long = Validity::days_from_now(3651).unwrap();
    let err = p.hsm.renew_certificate(&mut OsRng, p.admin, h, None, &ca, &old, too_long, None).unwrap_err();
    assert_eq!(err, Error::Crypto(coffer_core::Error::OutlivesIssuer));
    let err = p.hsm.renew_certificate(&mut OsRng, p.admin, h, None, &ca, &ca, longer, None).unwrap_err();
    assert_eq!(err, Error::Crypto(coffer_core::Error::WrongPurpose), "a CA is not renewed as a leaf");

    let signed = signed_records(&mut p);
    let serials: Vec<&[u8]> = signed
        .iter()
        .filter_map(|e| match e {
            AuditEvent::CertificateSigned { object: SignedObject::Certificate, serial, .. } => {
                Some(serial.as_slice())
            }
            _ => None,
        })
        .collect();
    assert_eq!(serials, [ca.serial(), old.serial(), same.serial(), rekeyed.serial()]);
    p.hsm.audit_verify(p.auditor).unwrap();
}
