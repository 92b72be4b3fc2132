//! Path validation (`cert::verify_path`) on chains of depth 3 and 4 built by
//! the OpenSSL command-line tool: the good chain validates from the leaf
//! through untrusted intermediates given in any order, and each broken rule
//! (path length, CA flag, purpose, name, expiry, missing intermediate,
//! unsupported signature algorithm, unknown critical extension) gives its
//! own error; and the other way, a depth-4 chain and CRLs coffer built pass
//! `openssl verify -crl_check_all`. Needs `openssl` on PATH; fails saying
//! so when it is absent.
// miri: runs the openssl command-line tool, and miri cannot start processes.
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cloned_ref_to_slice_refs,
    missing_docs
)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use coffer_core::Error;
use coffer_core::cert::{self, Certificate, ExpectedName, PathOptions, Purpose};

/// A scratch directory with OpenSSL run in it, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "coffer-cert-paths-{}-{test}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl").current_dir(&self.0).args(args).output().expect(
            "these tests need the OpenSSL 3 command-line tool `openssl` on PATH (apt-get install openssl)",
        );
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(name), text).unwrap();
    }

    fn cert(&self, name: &str) -> Certificate {
        Certificate::from_pem(&std::fs::read_to_string(self.0.join(name)).unwrap()).unwrap()
    }

    /// A P-256 key `name.key` and a certificate `name.crt` for `subject`,
    /// self-signed (`issuer` None) or signed by `issuer.crt`/`issuer.key`,
    /// with the extensions of section `ext` of `ext.cnf`.
    fn make(&self, name: &str, subject: &str, issuer: Option<&str>, ext: &str, extra: &[&str]) {
        let key = format!("{name}.key");
        self.openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &key]);
        let crt = format!("{name}.crt");
        match issuer {
            None => {
                let mut args = vec!["req", "-x509", "-new", "-key", &key, "-subj", subject, "-days", "30"];
                args.extend(["-config", "ext.cnf", "-extensions", ext, "-out", &crt]);
                args.extend(extra);
                self.openssl(&args);
            }
            Some(issuer) => {
                let csr = format!("{name}.csr");
                self.openssl(&[
                    "req", "-new", "-key", &key, "-subj", subject, "-config", "ext.cnf", "-out", &csr,
                ]);
                let (ca, ca_key) = (format!("{issuer}.crt"), format!("{issuer}.key"));
                let mut args =
                    vec!["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key, "-days", "30"];
                args.extend(["-extfile", "ext.cnf", "-extensions", ext, "-out", &crt]);
                args.extend(extra);
                self.openssl(&args);
            }
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const EXTENSIONS: &str = "\
[req]
distinguished_name = dn
[dn]
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ca_any]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_len0]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_client_only]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[not_ca]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyCertSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_name_constraints]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign
nameConstraints = critical, permitted;DNS:.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:api.fleet.test, DNS:*.agents.fleet.test, IP:10.1.2.3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[root_no_crl_sign]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign
subjectKeyIdentifier = hash
[root_len0]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_no_digital_signature]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:api.fleet.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server_bad_key_usage]
basicConstraints = critical, CA:FALSE
2.5.29.15 = critical, DER:04:00
extendedKeyUsage = serverAuth
subjectAltName = DNS:api.fleet.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn server(name: Option<ExpectedName<'static>>) -> PathOptions<'static> {
    PathOptions { now: now(), purpose: Some(Purpose::ServerAuth), name, crls: &[] }
}

#[test]
fn an_openssl_chain_of_depth_four_validates_through_intermediates_in_any_order() {
    let d = Dir::new("depth4");
    d.write("ext.cnf", EXTENSIONS);
    d.make("root", "/CN=Fleet Root", None, "root", &[]);
    d.make("policy", "/CN=Fleet Policy CA", Some("root"), "ca_any", &[]);
    d.make("issuing", "/CN=Fleet Issuing CA", Some("policy"), "ca_len0", &[]);
    d.make("leaf", "/CN=api.fleet.test", Some("issuing"), "server", &[]);
    let (root, policy, issuing, leaf) =
        (d.cert("root.crt"), d.cert("policy.crt"), d.cert("issuing.crt"), d.cert("leaf.crt"));
    let noise = cert::Certificate::from_pem(&std::fs::read_to_string(d.0.join("leaf.crt")).unwrap()).unwrap();

    let path =
        cert::verify_path(&leaf, &[noise, issuing.clone(), policy.clone()], &[root.clone()], &server(None))
            .unwrap();
    assert_eq!(path.chain().len(), 4);
    assert_eq!(path.chain()[3], root);
    for name in [
        ExpectedName::Dns("api.fleet.test"),
        ExpectedName::Dns("a7.agents.fleet.test"),
        ExpectedName::Ip("10.1.2.3".parse().unwrap()),
    ] {
        cert::verify_path(&leaf, &[policy.clone(), issuing.clone()], &[root.clone()], &server(Some(name)))
            .unwrap();
    }
    // The leaf and its intermediates as one PEM bundle, as servers send them.
    let bundle: String = ["leaf.crt", "issuing.crt", "policy.crt"]
        .iter()
        .map(|f| std::fs::read_to_string(d.0.join(f)).unwrap())
        .collect();
    let certs = Certificate::all_from_pem(&bundle).unwrap();
    assert_eq!(certs.len(), 3);
    cert::verify_path(&certs[0], &certs[1..], &[root.clone()], &server(None)).unwrap();
    assert_eq!(Certificate::all_from_pem("no PEM here").unwrap_err(), Error::MalformedCertificate);
    // An intermediate may be the trust anchor itself (depth 3).
    assert_eq!(
        cert::verify_path(&leaf, &[issuing.clone()], &[policy.clone()], &server(None)).unwrap().chain().len(),
        3
    );

    let fails = |inter: &[Certificate], opts: PathOptions<'_>| {
        cert::verify_path(&leaf, inter, &[root.clone()], &opts).unwrap_err()
    };
    assert_eq!(
        fails(&[issuing.clone()], server(None)),
        Error::NoPathToTrustAnchor,
        "the policy CA is missing"
    );
    assert_eq!(
        fails(&[policy.clone(), issuing.clone()], server(Some(ExpectedName::Dns("other.fleet.test")))),
        Error::NameMismatch
    );
    assert_eq!(
        fails(&[policy.clone(), issuing.clone()], server(Some(ExpectedName::Dns("x.y.agents.fleet.test")))),
        Error::NameMismatch
    );
    let client = PathOptions { purpose: Some(Purpose::ClientAuth), ..server(None) };
    assert_eq!(fails(&[policy.clone(), issuing.clone()], client), Error::WrongPurpose);
    let later = PathOptions { now: now() + 40 * 86_400, ..server(None) };
    assert_eq!(fails(&[policy.clone(), issuing.clone()], later), Error::CertificateExpired);
    // No trust anchor at all.
    assert_eq!(
        cert::verify_path(&leaf, &[policy, issuing], &[], &server(None)).unwrap_err(),
        Error::NoPathToTrustAnchor
    );
}

#[test]
fn each_broken_ca_rule_in_an_openssl_chain_has_its_own_error() {
    let d = Dir::new("rules");
    d.write("ext.cnf", EXTENSIONS);
    d.make("root", "/CN=Root", None, "root", &[]);
    // pathlen:0 on the first intermediate, but a second intermediate below it.
    d.make("len0", "/CN=Len0 CA", Some("root"), "ca_len0", &[]);
    d.make("below", "/CN=Below CA", Some("len0"), "ca_any", &[]);
    d.make("leaf1", "/CN=api.fleet.test", Some("below"), "server", &[]);
    let root = d.cert("root.crt");
    let r = cert::verify_path(
        &d.cert("leaf1.crt"),
        &[d.cert("len0.crt"), d.cert("below.crt")],
        &[root.clone()],
        &server(None),
    );
    assert_eq!(r.unwrap_err(), Error::PathTooLong);
    // An issuer that is not a CA.
    d.make("notca", "/CN=Not A CA", Some("root"), "not_ca", &[]);
    d.make("leaf2", "/CN=api.fleet.test", Some("notca"), "server", &[]);
    let r = cert::verify_path(&d.cert("leaf2.crt"), &[d.cert("notca.crt")], &[root.clone()], &server(None));
    assert_eq!(r.unwrap_err(), Error::NotACa);
    // A CA limited to clientAuth cannot vouch for a server.
    d.make("clientca", "/CN=Client CA", Some("root"), "ca_client_only", &[]);
    d.make("leaf3", "/CN=api.fleet.test", Some("clientca"), "server", &[]);
    let r =
        cert::verify_path(&d.cert("leaf3.crt"), &[d.cert("clientca.crt")], &[root.clone()], &server(None));
    assert_eq!(r.unwrap_err(), Error::WrongPurpose);
    // Name constraints are not processed: a CA marked with them is refused.
    d.make("nc", "/CN=Constrained CA", Some("root"), "ca_name_constraints", &[]);
    d.make("leaf4", "/CN=api.fleet.test", Some("nc"), "server", &[]);
    let r = cert::verify_path(&d.cert("leaf4.crt"), &[d.cert("nc.crt")], &[root.clone()], &server(None));
    assert_eq!(r.unwrap_err(), Error::UnknownCriticalExtension);
    // A leaf signed with SHA-384: named as unsupported, not as a bad signature.
    d.make("leaf5", "/CN=api.fleet.test", Some("root"), "server", &["-sha384"]);
    let r = cert::verify_path(&d.cert("leaf5.crt"), &[], &[root], &server(None));
    let e = r.unwrap_err();
    assert_eq!(e, Error::UnsupportedAlgorithm(coffer_core::AlgorithmName::EcdsaWithSha384));
    assert!(e.to_string().contains("ecdsa-with-SHA384 is not supported"), "{e}");
}

#[test]
fn more_than_the_chain_limit_is_refused_as_too_long() {
    let d = Dir::new("long");
    d.write("ext.cnf", EXTENSIONS);
    d.make("ca0", "/CN=CA 0", None, "root", &[]);
    let mut inter = Vec::new();
    for i in 1..=cert::MAX_CHAIN_LEN {
        d.make(&format!("ca{i}"), &format!("/CN=CA {i}"), Some(&format!("ca{}", i - 1)), "ca_any", &[]);
        inter.push(d.cert(&format!("ca{i}.crt")));
    }
    d.make("leaf", "/CN=api.fleet.test", Some(&format!("ca{}", cert::MAX_CHAIN_LEN)), "server", &[]);
    let r = cert::verify_path(&d.cert("leaf.crt"), &inter, &[d.cert("ca0.crt")], &server(None));
    assert_eq!(r.unwrap_err(), Error::PathTooLong);
}

/// A CA (P-256) with two agents' leaves, in memory and as PEM files in `d`.
fn crl_fixture(d: &Dir) -> (cert::KeyPair, Certificate, Certificate, Certificate) {
    use coffer_core::cert::{CaParams, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, San, Validity};
    use coffer_core::rng::OsRng;
    let validity = Validity::days_from_now(30).unwrap();
    let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let ca = cert::self_signed_ca(
        &mut OsRng,
        &key,
        &CaParams { subject: "CN=Fleet CA", validity, path_len: None },
    )
    .unwrap();
    let leaf = |cn: &str| {
        let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
        let names = [San::Dns(format!("{cn}.fleet.test"))];
        let params =
            LeafParams { validity, usage: LeafUsage::ServerAndClient, sans: &names, key_usage: None };
        let subject = format!("CN={cn}");
        cert::issue_leaf(&mut OsRng, &ca, &key, key.default_scheme(), &subject, &agent.public_key(), &params)
            .unwrap()
    };
    let (good, bad) = (leaf("agent-1"), leaf("agent-2"));
    d.write("ca.pem", &ca.to_pem().unwrap());
    d.write("good.pem", &good.to_pem().unwrap());
    d.write("bad.pem", &bad.to_pem().unwrap());
    (key, ca, good, bad)
}

#[test]
fn a_revoked_certificate_is_refused_by_verify_path_and_by_openssl() {
    use coffer_core::cert::{CrlParams, Revocation};
    use coffer_core::rng::OsRng;
    let d = Dir::new("crl");
    let (key, ca, good, bad) = crl_fixture(&d);
    let t = now();
    let revoked = [Revocation { serial: bad.serial(), revoked_at: t - 60 }];
    let params = CrlParams { number: 7, this_update: t - 120, next_update: t + 86_400, revoked: &revoked };
    let crl = cert::issue_crl(&mut OsRng, &ca, &key, key.default_scheme(), &params).unwrap();
    assert_eq!(cert::Crl::from_pem(&crl.to_pem().unwrap()).unwrap(), crl);
    assert_eq!(crl.number(), Some(vec![7]));
    d.write("crl.pem", &crl.to_pem().unwrap());

    let opts = |crls| PathOptions { now: t, purpose: None, name: None, crls };
    let anchors = [ca.clone()];
    cert::verify_path(&good, &[], &anchors, &opts(std::slice::from_ref(&crl))).unwrap();
    assert_eq!(
        cert::verify_path(&bad, &[], &anchors, &opts(std::slice::from_ref(&crl))).unwrap_err(),
        Error::Revoked
    );
    cert::verify_path(&bad, &[], &anchors, &opts(&[])).unwrap();
    let late = PathOptions { now: t + 2 * 86_400, ..opts(std::slice::from_ref(&crl)) };
    assert_eq!(cert::verify_path(&good, &[], &anchors, &late).unwrap_err(), Error::CrlOutOfDate);
    // A CRL signed by another key with the same issuer name is ignored.
    let impostor = cert::KeyPair::generate(&mut OsRng, cert::KeyAlgorithm::P256).unwrap();
    let fake_ca = cert::self_signed_ca(
        &mut OsRng,
        &impostor,
        &cert::CaParams {
            subject: "CN=Fleet CA",
            validity: cert::Validity::days_from_now(30).unwrap(),
            path_len: None,
        },
    )
    .unwrap();
    let fake = cert::issue_crl(&mut OsRng, &fake_ca, &impostor, impostor.default_scheme(), &params).unwrap();
    cert::verify_path(&bad, &[], &anchors, &opts(std::slice::from_ref(&fake))).unwrap();

    // OpenSSL checks the CRL's signature and honours it.
    d.openssl(&["crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout"]);
    d.openssl(&["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "good.pem"]);
    let refused = Command::new("openssl")
        .current_dir(&d.0)
        .args(["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "bad.pem"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said =
        String::from_utf8_lossy(&refused.stdout).into_owned() + &String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("certificate revoked"), "{said}");
}

#[test]
fn crl_issuance_refuses_a_key_that_is_not_the_cas_and_bad_windows() {
    use coffer_core::cert::{CrlParams, KeyAlgorithm, KeyPair};
    use coffer_core::rng::OsRng;
    let d = Dir::new("crl-rules");
    let (key, ca, _, _) = crl_fixture(&d);
    let t = now();
    let params = CrlParams { number: 1, this_update: t, next_update: t + 60, revoked: &[] };
    let other = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    assert_eq!(
        cert::issue_crl(&mut OsRng, &ca, &other, other.default_scheme(), &params).unwrap_err(),
        Error::KeyMismatch
    );
    let backwards = CrlParams { next_update: t, ..params };
    assert_eq!(
        cert::issue_crl(&mut OsRng, &ca, &key, key.default_scheme(), &backwards).unwrap_err(),
        Error::InvalidValidity
    );
    assert_eq!(cert::Crl::from_der(b"junk").unwrap_err(), Error::MalformedCertificate);
    assert_eq!(cert::Crl::from_pem(&ca.to_pem().unwrap()).unwrap_err(), Error::MalformedCertificate);
}

/// The other way: a chain of depth 4 built by coffer (RSA root with PSS,
/// two P-256 intermediates with path lengths 1 and 0, a server leaf) and a
/// CRL of the issuing CA, checked by `openssl verify` for the server
/// purpose and host name with CRL checks on every certificate of the path.
#[test]
fn a_coffer_chain_of_depth_four_and_its_crls_pass_openssl_verify() {
    use coffer_core::cert::{
        CaParams, CrlParams, IntermediateParams, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, Revocation,
        San, SignatureScheme, Validity,
    };
    use coffer_core::rng::OsRng;
    use coffer_core::rsa::RsaKeySize;
    let d = Dir::new("coffer-depth-4");
    let validity = Validity::days_from_now(30).unwrap();
    let root_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::Rsa(RsaKeySize::Rsa2048)).unwrap();
    let root = cert::self_signed_ca(
        &mut OsRng,
        &root_key,
        &CaParams { subject: "CN=Depth Root", validity, path_len: Some(2) },
    )
    .unwrap();
    let ca = |issuer: &Certificate, issuer_key: &KeyPair, scheme, name: &str| {
        let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
        let req = cert::csr(&mut OsRng, &key, name, &[]).unwrap();
        let params = IntermediateParams { validity, path_len: None };
        (cert::issue_intermediate(&mut OsRng, issuer, issuer_key, scheme, &req, &params).unwrap(), key)
    };
    let (policy, policy_key) = ca(&root, &root_key, SignatureScheme::RsaPssSha256, "CN=Depth Policy");
    let (issuing, issuing_key) = ca(&policy, &policy_key, policy_key.default_scheme(), "CN=Depth Issuing");
    assert_eq!((policy.ca_path_len(), issuing.ca_path_len()), (Some(Some(1)), Some(Some(0))));
    let leaf_key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let names = [San::Dns("api.depth.test".into())];
    let params = LeafParams { validity, usage: LeafUsage::Server, sans: &names, key_usage: None };
    let scheme = issuing_key.default_scheme();
    let leaf = |cn: &str| {
        cert::issue_leaf(&mut OsRng, &issuing, &issuing_key, scheme, cn, &leaf_key.public_key(), &params)
            .unwrap()
    };
    let (kept, revoked) = (leaf("CN=kept"), leaf("CN=revoked"));
    let t = now();
    let crl = |ca: &Certificate, key: &KeyPair, scheme, revoked: &[Revocation<'_>]| {
        let params = CrlParams { number: 1, this_update: t - 60, next_update: t + 86_400, revoked };
        cert::issue_crl(&mut OsRng, ca, key, scheme, &params).unwrap().to_pem().unwrap()
    };
    let entry = [Revocation { serial: revoked.serial(), revoked_at: t - 60 }];
    let crls = crl(&root, &root_key, SignatureScheme::RsaPssSha256, &[])
        + &crl(&policy, &policy_key, policy_key.default_scheme(), &[])
        + &crl(&issuing, &issuing_key, scheme, &entry);
    d.write("root.pem", &root.to_pem().unwrap());
    d.write("chain.pem", &(issuing.to_pem().unwrap() + &policy.to_pem().unwrap()));
    d.write("crls.pem", &crls);
    d.write("kept.pem", &kept.to_pem().unwrap());
    d.write("revoked.pem", &revoked.to_pem().unwrap());
    let verify = "verify -x509_strict -purpose sslserver -verify_hostname api.depth.test -crl_check_all \
                  -CAfile root.pem -untrusted chain.pem -CRLfile crls.pem";
    let mut args: Vec<&str> = verify.split_whitespace().collect();
    args.push("kept.pem");
    d.openssl(&args);
    *args.last_mut().unwrap() = "revoked.pem";
    let out = Command::new("openssl").current_dir(&d.0).args(&args).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("certificate revoked"), "{said}");
}

/// Found by reading the path search while writing the `cert_path` fuzz
/// target (fuzz/regressions/cert_path/same-named-intermediates-exponential-search):
/// certificates that share a name and key can be ordered in exponentially
/// many ways (12 took minutes). The search is bounded by MAX_SEARCH_STEPS:
/// with 16 such copies and a purpose every candidate fails, it ends at
/// once with the candidates' error.
#[test]
fn same_named_intermediates_exponential_search() {
    use coffer_core::cert::{CaParams, KeyAlgorithm, KeyPair, LeafParams, LeafUsage, San, Validity};
    use coffer_core::rng::OsRng;
    let validity = Validity::days_from_now(30).unwrap();
    let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let params = CaParams { subject: "CN=Same", validity, path_len: None };
    let anchor = cert::self_signed_ca(&mut OsRng, &key, &params).unwrap();
    let copies: Vec<Certificate> =
        (0..16).map(|_| cert::self_signed_ca(&mut OsRng, &key, &params).unwrap()).collect();
    let agent = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap();
    let names = [San::Dns("agent.same.test".into())];
    let leaf_params = LeafParams { validity, usage: LeafUsage::Server, sans: &names, key_usage: None };
    let leaf = cert::issue_leaf(
        &mut OsRng,
        &anchor,
        &key,
        key.default_scheme(),
        "CN=agent",
        &agent.public_key(),
        &leaf_params,
    )
    .unwrap();
    let opts = |purpose| PathOptions { now: now(), purpose: Some(purpose), name: None, crls: &[] };
    let started = std::time::Instant::now();
    let err = cert::verify_path(&leaf, &copies, std::slice::from_ref(&anchor), &opts(Purpose::ClientAuth))
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err, Error::WrongPurpose);
    assert!(took < std::time::Duration::from_secs(10), "the search took {took:?}");
    // The right purpose still finds the direct path at once.
    let path =
        cert::verify_path(&leaf, &copies, std::slice::from_ref(&anchor), &opts(Purpose::ServerAuth)).unwrap();
    assert_eq!(path.chain().len(), 2);
}

/// RFC 5280 §4.2.1.9: self-issued certificates (issuer name = subject
/// name, as in a key rollover) do not count against a pathLenConstraint.
#[test]
fn a_self_issued_ca_below_a_pathlen_0_root_does_not_count() {
    let d = Dir::new("self-issued");
    d.write("ext.cnf", EXTENSIONS);
    d.make("root", "/CN=Fleet Root", None, "root_len0", &[]);
    // The root's new key, certified by its old one under the same name.
    d.make("rollover", "/CN=Fleet Root", Some("root"), "ca_any", &[]);
    d.make("leaf", "/CN=api.fleet.test", Some("rollover"), "server", &[]);
    let path = cert::verify_path(
        &d.cert("leaf.crt"),
        &[d.cert("rollover.crt")],
        &[d.cert("root.crt")],
        &server(None),
    )
    .unwrap();
    assert_eq!(path.chain().len(), 3);
    // A CA of another name in the same place does count.
    d.make("other", "/CN=Other CA", Some("root"), "ca_any", &[]);
    d.make("leaf2", "/CN=api.fleet.test", Some("other"), "server", &[]);
    let r =
        cert::verify_path(&d.cert("leaf2.crt"), &[d.cert("other.crt")], &[d.cert("root.crt")], &server(None));
    assert_eq!(r.unwrap_err(), Error::PathTooLong);
}

/// A leaf whose keyUsage lacks digitalSignature cannot serve a TLS purpose;
/// one whose keyUsage does not decode is malformed. Without a purpose
/// asked, neither is checked.
#[test]
fn a_leaf_key_usage_without_digital_signature_or_undecodable_fails_the_purpose() {
    let d = Dir::new("leaf-key-usage");
    d.write("ext.cnf", EXTENSIONS);
    d.make("root", "/CN=Root", None, "root", &[]);
    d.make("nods", "/CN=api.fleet.test", Some("root"), "server_no_digital_signature", &[]);
    d.make("bad", "/CN=api.fleet.test", Some("root"), "server_bad_key_usage", &[]);
    let root = d.cert("root.crt");
    let anchors = std::slice::from_ref(&root);
    let no_purpose = PathOptions { purpose: None, ..server(None) };
    for (leaf, err) in [("nods.crt", Error::WrongPurpose), ("bad.crt", Error::MalformedCertificate)] {
        assert_eq!(cert::verify_path(&d.cert(leaf), &[], anchors, &server(None)).unwrap_err(), err, "{leaf}");
        assert_eq!(cert::verify_path(&d.cert(leaf), &[], anchors, &no_purpose).unwrap().chain().len(), 2);
    }
}

/// RFC 5280 §4.2.1.3: a CA whose keyUsage lacks cRLSign may not sign CRLs:
/// coffer neither issues one with it nor accepts one it signed.
#[test]
fn a_ca_without_crl_sign_may_neither_issue_nor_vouch_for_a_crl() {
    use coffer_core::cert::{CrlParams, KeyPair, Revocation};
    use coffer_core::rng::OsRng;
    let d = Dir::new("no-crl-sign");
    d.write("ext.cnf", EXTENSIONS);
    d.make("root", "/CN=Root", None, "root", &[]);
    // The same key and name, with keyUsage keyCertSign alone.
    d.openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "root.key",
        "-subj",
        "/CN=Root",
        "-days",
        "30",
        "-config",
        "ext.cnf",
        "-extensions",
        "root_no_crl_sign",
        "-out",
        "no-crl-sign.crt",
    ]);
    let key = KeyPair::from_pkcs8_pem(&std::fs::read_to_string(d.0.join("root.key")).unwrap()).unwrap();
    let (root, no_crl_sign) = (d.cert("root.crt"), d.cert("no-crl-sign.crt"));
    let revoked = [Revocation { serial: &[0x42], revoked_at: now() }];
    let params = CrlParams { number: 1, this_update: now(), next_update: now() + 86_400, revoked: &revoked };
    let refused = cert::issue_crl(&mut OsRng, &no_crl_sign, &key, key.default_scheme(), &params).unwrap_err();
    assert_eq!(refused, Error::NotACa);
    let crl = cert::issue_crl(&mut OsRng, &root, &key, key.default_scheme(), &params).unwrap();
    crl.verify_signature(&root).unwrap();
    assert_eq!(crl.verify_signature(&no_crl_sign).unwrap_err(), Error::NotACa);
}
