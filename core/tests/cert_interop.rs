//! Path validation and CRLs against other implementations (issue 15, part 2):
//!
//! 1. chains of depth 3 and 4 and CRLs made by pyca/cryptography (P-256 and
//!    RSA-2048, `interop/pyca_chains.py`) pass `cert::verify_path` for the
//!    right purpose and name, and each broken rule gives its own error;
//! 2. chains of depth 3 and 4 and CRLs made by coffer pass pyca's X.509
//!    verifier and CRL reader (`interop/pyca_verify.py`), which also refuses
//!    a wrong name, a missing intermediate and a client certificate offered
//!    as a server;
//! 3. CRLs made by `openssl ca -gencrl` are read, checked and honoured by
//!    coffer; one with a flipped byte fails its signature check and
//!    `verify_path` does not use it.
//!
//! Needs `python3` with `cryptography` 43 or later and the `openssl`
//! command-line tool. When one is missing, a test fails under `CI=true` and
//! elsewhere prints one `SKIPPED:` line and returns (STYLE.md rule 21).

// miri: runs python3 and the openssl command-line tool, and miri cannot start processes.
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use coffer_core::cert::{
    self, CaParams, Certificate, Crl, CrlParams, ExpectedName, IntermediateParams, KeyAlgorithm, KeyPair,
    LeafParams, LeafUsage, PathOptions, Purpose, Revocation, San, SignatureScheme, Validity,
};
use coffer_core::rng::OsRng;
use coffer_core::rsa::RsaKeySize;
use coffer_core::{AlgorithmName, Error};

const PYCA_CHAINS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/pyca_chains.py");
const PYCA_VERIFY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/pyca_verify.py");

const DAY: u64 = 86_400;

// ------------------------------------------------------------------ tools

/// Whether `program args...` runs and succeeds. When it does not: under
/// `CI=true` the test fails saying what to install; elsewhere one SKIPPED
/// line is printed and the caller returns.
fn tool_ready(test: &str, program: &str, args: &[&str], package: &str, install: &str) -> bool {
    if Command::new(program).args(args).output().is_ok_and(|o| o.status.success()) {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test} needs {package}, and CI=true requires this test to run; install with {install}"
    );
    println!("SKIPPED: {test} needs {package}; install with {install}");
    false
}

fn python_ready(test: &str) -> bool {
    let probe = "from cryptography.x509.verification import PolicyBuilder, Store, DNSName; \
                 PolicyBuilder.build_client_verifier";
    tool_ready(
        test,
        "python3",
        &["-c", probe],
        "python3 with cryptography 43 or later",
        "pip install 'cryptography>=43'",
    )
}

fn openssl_ready(test: &str) -> bool {
    tool_ready(test, "openssl", &["version"], "the OpenSSL command-line tool", "apt-get install openssl")
}

/// Runs `program args...` in `dir`; panics with its stderr unless it succeeds.
fn run(dir: &std::path::Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program).current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A scratch directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "coffer-cert-interop-{}-{test}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(name), text).unwrap();
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.join(name)).unwrap()
    }

    fn cert(&self, name: &str) -> Certificate {
        Certificate::from_pem(&self.read(name)).unwrap()
    }

    fn openssl(&self, args: &[&str]) -> String {
        run(&self.0, "openssl", args)
    }

    fn openssl_output(&self, args: &[&str]) -> Output {
        Command::new("openssl").current_dir(&self.0).args(args).output().unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn opts<'a>(now: u64, purpose: Purpose, name: Option<ExpectedName<'a>>, crls: &'a [Crl]) -> PathOptions<'a> {
    PathOptions { now, purpose: Some(purpose), name, crls }
}

/// A serial number as Python prints `f"{n:x}"`.
fn serial_hex(cert: &Certificate) -> String {
    let hex = hex::encode(cert.serial());
    hex.trim_start_matches('0').to_owned()
}

// ---------------------------------------------------- 1. pyca's chains in coffer

/// The files `interop/pyca_chains.py` wrote for `now` (its docstring lists
/// them), read into memory once for all tests; the directory is removed.
struct Pyca {
    now: u64,
    files: HashMap<String, String>,
}

impl Pyca {
    fn get() -> &'static Pyca {
        static FILES: OnceLock<Pyca> = OnceLock::new();
        FILES.get_or_init(|| {
            let d = Dir::new("pyca");
            let now = now();
            let said = run(&d.0, "python3", &[PYCA_CHAINS, ".", &now.to_string()]);
            assert_eq!(said, "pyca-chains: 40 files\n");
            let files = std::fs::read_dir(&d.0)
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (e.file_name().into_string().unwrap(), std::fs::read_to_string(e.path()).unwrap())
                })
                .collect();
            Pyca { now, files }
        })
    }

    fn pem(&self, file: &str) -> &str {
        self.files.get(file).unwrap_or_else(|| panic!("pyca_chains.py wrote no {file}"))
    }

    fn cert(&self, alg: &str, name: &str) -> Certificate {
        Certificate::from_pem(self.pem(&format!("{alg}-{name}.crt"))).unwrap()
    }

    fn crl(&self, alg: &str, name: &str) -> Crl {
        Crl::from_pem(self.pem(&format!("{alg}-{name}.crl"))).unwrap()
    }
}

const ALGS: [&str; 2] = ["p256", "rsa"];

#[test]
fn pyca_chains_of_depth_three_and_four_validate_for_their_purpose_and_names() {
    if !python_ready("pyca_chains_of_depth_three_and_four_validate_for_their_purpose_and_names") {
        return;
    }
    let p = Pyca::get();
    for alg in ALGS {
        let root = p.cert(alg, "root");
        let anchors = [root.clone()];
        let int = p.cert(alg, "int");
        let server = p.cert(alg, "int-server");
        for name in [
            ExpectedName::Dns("api.fleet.test"),
            ExpectedName::Dns("A7.Agents.Fleet.Test"),
            ExpectedName::Ip("10.1.2.3".parse().unwrap()),
        ] {
            let path = cert::verify_path(
                &server,
                std::slice::from_ref(&int),
                &anchors,
                &opts(p.now, Purpose::ServerAuth, Some(name), &[]),
            )
            .unwrap_or_else(|e| panic!("{alg} depth 3, {name:?}: {e}"));
            assert_eq!(path.chain(), [server.clone(), int.clone(), root.clone()], "{alg}");
            assert_eq!(path.leaf_key().unwrap(), server.public_key().unwrap());
        }
        let client = p.cert(alg, "int-client");
        let agent = Some(ExpectedName::Dns("agent-7.fleet.test"));
        let path = cert::verify_path(
            &client,
            std::slice::from_ref(&int),
            &anchors,
            &opts(p.now, Purpose::ClientAuth, agent, &[]),
        )
        .unwrap_or_else(|e| panic!("{alg} depth 3 client: {e}"));
        assert_eq!(path.chain().len(), 3);

        // Depth 4: the intermediates given top last, with a stranger among them.
        let (int1, int2) = (p.cert(alg, "int1"), p.cert(alg, "int2"));
        let untrusted = [int2.clone(), int.clone(), int1.clone()];
        let server = p.cert(alg, "server");
        let name = Some(ExpectedName::Dns("api.fleet.test"));
        let path =
            cert::verify_path(&server, &untrusted, &anchors, &opts(p.now, Purpose::ServerAuth, name, &[]))
                .unwrap_or_else(|e| panic!("{alg} depth 4 server: {e}"));
        assert_eq!(path.chain(), [server, int2.clone(), int1.clone(), root.clone()], "{alg}");
        let client = p.cert(alg, "client");
        let path =
            cert::verify_path(&client, &untrusted, &anchors, &opts(p.now, Purpose::ClientAuth, agent, &[]))
                .unwrap_or_else(|e| panic!("{alg} depth 4 client: {e}"));
        assert_eq!(path.chain(), [client, int2.clone(), int1.clone(), root.clone()], "{alg}");
        let sibling = p.cert(alg, "sibling");
        for purpose in [Purpose::ServerAuth, Purpose::ClientAuth] {
            let name = Some(ExpectedName::Dns("agent-8.fleet.test"));
            cert::verify_path(&sibling, &untrusted, &anchors, &opts(p.now, purpose, name, &[]))
                .unwrap_or_else(|e| panic!("{alg} depth 4 sibling, {purpose:?}: {e}"));
        }
    }
}

#[test]
fn each_broken_rule_in_a_pyca_chain_has_its_own_error() {
    if !python_ready("each_broken_rule_in_a_pyca_chain_has_its_own_error") {
        return;
    }
    let p = Pyca::get();
    for alg in ALGS {
        let anchors = [p.cert(alg, "root")];
        let untrusted = [p.cert(alg, "int1"), p.cert(alg, "int2")];
        let (server, client) = (p.cert(alg, "server"), p.cert(alg, "client"));
        let check = |leaf: &Certificate, untrusted: &[Certificate], opts: PathOptions<'_>| {
            cert::verify_path(leaf, untrusted, &anchors, &opts).map(|_| ()).unwrap_err()
        };
        for wrong in [
            ExpectedName::Dns("other.fleet.test"),
            ExpectedName::Dns("x.y.agents.fleet.test"),
            ExpectedName::Ip("10.1.2.4".parse().unwrap()),
        ] {
            let o = opts(p.now, Purpose::ServerAuth, Some(wrong), &[]);
            assert_eq!(check(&server, &untrusted, o), Error::NameMismatch, "{alg}: {wrong:?}");
        }
        let o = opts(p.now, Purpose::ClientAuth, None, &[]);
        assert_eq!(check(&server, &untrusted, o), Error::WrongPurpose, "{alg}: a server leaf as a client");
        let o = opts(p.now, Purpose::ServerAuth, None, &[]);
        assert_eq!(check(&client, &untrusted, o), Error::WrongPurpose, "{alg}: a client leaf as a server");

        // len0 (pathLen 0) -> another CA -> leaf.
        let below = [p.cert(alg, "len0"), p.cert(alg, "below-len0")];
        assert_eq!(check(&p.cert(alg, "deep"), &below, o), Error::PathTooLong, "{alg}");
        // An intermediate that expired yesterday above a leaf valid today.
        let stale = [p.cert(alg, "stale")];
        assert_eq!(check(&p.cert(alg, "stale-leaf"), &stale, o), Error::CertificateExpired, "{alg}");
        // Without int1, or without int2.
        for (missing, given) in [("int1", &untrusted[1..]), ("int2", &untrusted[..1])] {
            assert_eq!(check(&server, given, o), Error::NoPathToTrustAnchor, "{alg} without {missing}");
        }
    }
}

#[test]
fn a_pyca_crl_revokes_its_leaf_and_one_past_its_next_update_is_out_of_date() {
    if !python_ready("a_pyca_crl_revokes_its_leaf_and_one_past_its_next_update_is_out_of_date") {
        return;
    }
    let p = Pyca::get();
    for alg in ALGS {
        let anchors = [p.cert(alg, "root")];
        let (int1, int2) = (p.cert(alg, "int1"), p.cert(alg, "int2"));
        let untrusted = [int1.clone(), int2.clone()];
        let (server, sibling) = (p.cert(alg, "server"), p.cert(alg, "sibling"));
        let crl = p.crl(alg, "int2");
        crl.verify_signature(&int2).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(crl.verify_signature(&int1).unwrap_err(), Error::IssuerMismatch, "{alg}");
        assert_eq!(crl.issuer(), int2.subject());
        assert_eq!(crl.number(), Some(vec![42]));
        assert_eq!((crl.this_update(), crl.next_update()), (p.now - 3600, Some(p.now + 7 * DAY)));
        assert_eq!(crl.revoked(), [(server.serial().to_vec(), p.now - 600)], "{alg}");
        assert!(crl.lists(&server) && !crl.lists(&sibling), "{alg}");

        let with = |leaf: &Certificate, crls: &[Crl]| {
            cert::verify_path(leaf, &untrusted, &anchors, &opts(p.now, Purpose::ServerAuth, None, crls))
                .map(|_| ())
        };
        let crls = [crl];
        assert_eq!(with(&server, &crls), Err(Error::Revoked), "{alg}");
        assert_eq!(with(&server, &[]), Ok(()), "{alg}: revoked only by the CRL");
        assert_eq!(with(&sibling, &crls), Ok(()), "{alg}");

        let stale = p.crl(alg, "int2-stale");
        stale.verify_signature(&int2).unwrap();
        assert!(stale.revoked().is_empty());
        assert_eq!(with(&sibling, &[stale]), Err(Error::CrlOutOfDate), "{alg}");
    }
}

#[test]
fn a_sha384_signed_pyca_certificate_or_crl_is_named_as_unsupported() {
    if !python_ready("a_sha384_signed_pyca_certificate_or_crl_is_named_as_unsupported") {
        return;
    }
    let p = Pyca::get();
    for (alg, algorithm, text) in [
        ("p256", AlgorithmName::EcdsaWithSha384, "ecdsa-with-SHA384 is not supported"),
        ("rsa", AlgorithmName::Sha384WithRsa, "sha384WithRSAEncryption is not supported"),
    ] {
        let anchors = [p.cert(alg, "root")];
        let leaf = p.cert(alg, "sha384-leaf");
        let o = opts(p.now, Purpose::ServerAuth, None, &[]);
        let e = cert::verify_path(&leaf, &[p.cert(alg, "int")], &anchors, &o).unwrap_err();
        assert_eq!(e, Error::UnsupportedAlgorithm(algorithm));
        assert!(e.to_string().contains(text), "{e}");
        let crl = p.crl(alg, "int2-sha384");
        assert_eq!(
            crl.verify_signature(&p.cert(alg, "int2")).unwrap_err(),
            Error::UnsupportedAlgorithm(algorithm)
        );
        // A list verify_path cannot check fails the path that relies on it,
        // for the leaf it lists and for its sibling alike: it is not skipped.
        let untrusted = [p.cert(alg, "int1"), p.cert(alg, "int2")];
        let crls = [crl];
        let o = opts(p.now, Purpose::ServerAuth, None, &crls);
        for leaf in ["server", "sibling"] {
            let e = cert::verify_path(&p.cert(alg, leaf), &untrusted, &anchors, &o).unwrap_err();
            assert_eq!(e, Error::UnsupportedAlgorithm(algorithm), "{alg} {leaf}");
        }
    }
}

/// A CRL with a critical extension coffer does not process (an unknown
/// one; an issuingDistributionPoint that narrows its scope) is not used as
/// if it were complete: the path fails with UnknownCriticalExtension, as
/// OpenSSL fails it ("unhandled critical CRL extension", "different CRL scope").
#[test]
fn a_pyca_crl_with_a_critical_extension_coffer_does_not_process_fails_the_path() {
    if !python_ready("a_pyca_crl_with_a_critical_extension_coffer_does_not_process_fails_the_path") {
        return;
    }
    let p = Pyca::get();
    for alg in ALGS {
        let anchors = [p.cert(alg, "root")];
        let untrusted = [p.cert(alg, "int1"), p.cert(alg, "int2")];
        for name in ["int2-unknown-critical", "int2-idp"] {
            let crl = p.crl(alg, name);
            crl.verify_signature(&p.cert(alg, "int2")).unwrap();
            assert_eq!(crl.check_critical_extensions(), Err(Error::UnknownCriticalExtension), "{alg} {name}");
            let crls = [crl];
            let o = opts(p.now, Purpose::ServerAuth, None, &crls);
            let e = cert::verify_path(&p.cert(alg, "sibling"), &untrusted, &anchors, &o).unwrap_err();
            assert_eq!(e, Error::UnknownCriticalExtension, "{alg} {name}");
        }
        // The same chain with an ordinary list of that CA passes.
        let crls = [p.crl(alg, "int2")];
        let o = opts(p.now, Purpose::ServerAuth, None, &crls);
        cert::verify_path(&p.cert(alg, "sibling"), &untrusted, &anchors, &o).unwrap();
    }
}

// ------------------------------------------------ 2. coffer's chains in pyca

/// A CA made by coffer: its key, its certificate and the scheme it signs with.
struct Ca {
    key: KeyPair,
    cert: Certificate,
    scheme: SignatureScheme,
}

fn key(algorithm: KeyAlgorithm) -> KeyPair {
    KeyPair::generate(&mut OsRng, algorithm).unwrap()
}

fn root(algorithm: KeyAlgorithm, subject: &str, path_len: Option<u8>, validity: Validity) -> Ca {
    let key = key(algorithm);
    let cert = cert::self_signed_ca(&mut OsRng, &key, &CaParams { subject, validity, path_len }).unwrap();
    let scheme = key.default_scheme();
    Ca { key, cert, scheme }
}

/// An intermediate below `issuer`, certified from its own CSR.
fn intermediate(issuer: &Ca, algorithm: KeyAlgorithm, subject: &str, validity: Validity) -> Ca {
    let key = key(algorithm);
    let request = cert::csr(&mut OsRng, &key, subject, &[]).unwrap();
    let params = IntermediateParams { validity, path_len: None };
    let cert =
        cert::issue_intermediate(&mut OsRng, &issuer.cert, &issuer.key, issuer.scheme, &request, &params)
            .unwrap();
    let scheme = key.default_scheme();
    Ca { key, cert, scheme }
}

/// A leaf below `issuer` from a CSR requesting `names`.
fn leaf(
    issuer: &Ca,
    algorithm: KeyAlgorithm,
    subject: &str,
    names: &[&str],
    usage: LeafUsage,
    validity: Validity,
) -> Certificate {
    let key = key(algorithm);
    let names: Vec<San> = names.iter().map(|n| San::parse(n).unwrap()).collect();
    let request = cert::csr(&mut OsRng, &key, subject, &names).unwrap();
    let params = LeafParams { validity, usage, sans: &[], key_usage: None };
    cert::issue_from_csr(&mut OsRng, &issuer.cert, &issuer.key, issuer.scheme, &request, &params).unwrap()
}

/// The name pyca_verify.py prints for `scheme`.
fn signature_name(scheme: SignatureScheme) -> &'static str {
    match scheme {
        SignatureScheme::RsaPkcs1Sha256 => "sha256WithRSAEncryption",
        SignatureScheme::RsaPssSha256 => "RSASSA-PSS",
        SignatureScheme::EcdsaP256Sha256 => "ecdsa-with-SHA256",
        other => panic!("no name for {other:?}"),
    }
}

/// A coffer chain under `root` through `intermediates` (top first) to a
/// server, a client and a revoked leaf, and the last intermediate's CRL,
/// all checked by `interop/pyca_verify.py`.
fn pyca_verifies(test: &str, root: &Ca, intermediates: &[&Ca], leaf_algorithm: KeyAlgorithm, t: u64) {
    let validity = Validity { not_before: t - 3600, not_after: t + 30 * DAY };
    let issuing = *intermediates.last().unwrap();
    let leaf =
        |subject, names: &[&str], usage| leaf(issuing, leaf_algorithm, subject, names, usage, validity);
    let server = leaf("CN=api.fleet.test", &["dns:api.fleet.test", "ip:10.1.2.3"], LeafUsage::Server);
    let client = leaf("CN=agent-7,O=Fleet", &["dns:agent-7.fleet.test"], LeafUsage::Client);
    let revoked = leaf("CN=agent-9,O=Fleet", &["dns:agent-9.fleet.test"], LeafUsage::ServerAndClient);
    let entries = [Revocation { serial: revoked.serial(), revoked_at: t - 60 }];
    let params = CrlParams { number: 7, this_update: t - 120, next_update: t + DAY, revoked: &entries };
    let crl = cert::issue_crl(&mut OsRng, &issuing.cert, &issuing.key, issuing.scheme, &params).unwrap();

    let d = Dir::new(test);
    let mut args = vec![PYCA_VERIFY.to_owned(), "--now".to_owned(), t.to_string()];
    // The issuing CA first: pyca_verify.py drops the first to see it refused.
    for (i, ca) in intermediates.iter().rev().enumerate() {
        d.write(&format!("int{i}.pem"), &ca.cert.to_pem().unwrap());
        args.extend(["--untrusted".to_owned(), format!("int{i}.pem")]);
    }
    for (file, c) in [
        ("root.pem", &root.cert),
        ("issuing.pem", &issuing.cert),
        ("server.pem", &server),
        ("client.pem", &client),
        ("revoked.pem", &revoked),
    ] {
        d.write(file, &c.to_pem().unwrap());
    }
    d.write("crl.pem", &crl.to_pem().unwrap());
    let rest = "--root root.pem --server server.pem --dns api.fleet.test --ip 10.1.2.3 --client client.pem \
                --crl crl.pem --crl-issuer issuing.pem --revoked revoked.pem --not-revoked server.pem \
                --crl-number 7";
    args.extend(rest.split_whitespace().map(str::to_owned));
    let said = run(&d.0, "python3", &args.iter().map(String::as_str).collect::<Vec<_>>());

    let (depth, signed) = (intermediates.len() + 2, signature_name(issuing.scheme));
    let expected = format!(
        "server: signed with {signed}\n\
         server: chain of {depth} for DNS api.fleet.test\n\
         server: chain of {depth} for IP 10.1.2.3\n\
         server: other.api.fleet.test refused\n\
         server: without the first intermediate refused\n\
         client: chain of {depth}, names agent-7.fleet.test\n\
         client: as a server refused\n\
         crl: signed with {signed}\n\
         crl: signature valid, number 7, 1 revoked, serial {} revoked, {} not\n\
         crl: signature under the root's key refused\n",
        serial_hex(&revoked),
        serial_hex(&server),
    );
    assert_eq!(said, expected);
}

#[test]
fn a_coffer_rsa_chain_of_depth_three_with_pss_and_its_crl_pass_pyca() {
    if !python_ready("a_coffer_rsa_chain_of_depth_three_with_pss_and_its_crl_pass_pyca") {
        return;
    }
    let t = now();
    let validity = Validity { not_before: t - 3600, not_after: t + 365 * DAY };
    let rsa = KeyAlgorithm::Rsa(RsaKeySize::Rsa2048);
    let root = root(rsa, "CN=Coffer Root,O=Fleet", Some(1), validity);
    let mut issuing = intermediate(&root, rsa, "CN=Coffer Issuing CA,O=Fleet", validity);
    assert_eq!(issuing.cert.ca_path_len(), Some(Some(0)));
    // The root signs with PKCS#1 v1.5, the issuing CA its leaves and CRL with PSS.
    issuing.scheme = SignatureScheme::RsaPssSha256;
    pyca_verifies("coffer-depth3", &root, &[&issuing], rsa, t);
}

#[test]
fn a_coffer_chain_of_depth_four_from_an_rsa_root_and_its_crl_pass_pyca() {
    if !python_ready("a_coffer_chain_of_depth_four_from_an_rsa_root_and_its_crl_pass_pyca") {
        return;
    }
    let t = now();
    let validity = Validity { not_before: t - 3600, not_after: t + 365 * DAY };
    let root = root(KeyAlgorithm::Rsa(RsaKeySize::Rsa2048), "CN=Coffer Root,O=Fleet", Some(2), validity);
    let policy = intermediate(&root, KeyAlgorithm::P256, "CN=Coffer Policy CA,O=Fleet", validity);
    let issuing = intermediate(&policy, KeyAlgorithm::P256, "CN=Coffer Issuing CA,O=Fleet", validity);
    assert_eq!((policy.cert.ca_path_len(), issuing.cert.ca_path_len()), (Some(Some(1)), Some(Some(0))));
    pyca_verifies("coffer-depth4", &root, &[&policy, &issuing], KeyAlgorithm::P256, t);
}

// ---------------------------------------------- 3. OpenSSL's CRLs in coffer

const OPENSSL_EXTENSIONS: &str = "\
[req]
distinguished_name = dn
[dn]
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ca_len0]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:api.fleet.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// `openssl ca` settings for the issuing CA: its revocation database and
/// the CRLs it signs.
const OPENSSL_CA: &str = "\
[ca]
default_ca = issuing
[issuing]
database = index.txt
crlnumber = crlnumber
certificate = issuing.crt
private_key = issuing.key
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
";

impl Dir {
    /// A key `name.key` (`-algorithm` `algorithm`) and a certificate
    /// `name.crt` for `subject`, self-signed or signed by `issuer`, with
    /// the extensions of section `ext` of `ext.cnf`.
    fn make(&self, algorithm: &str, name: &str, subject: &str, issuer: Option<&str>, ext: &str) {
        let key = format!("{name}.key");
        let option = if algorithm == "EC" { "ec_paramgen_curve:P-256" } else { "rsa_keygen_bits:2048" };
        self.openssl(&["genpkey", "-algorithm", algorithm, "-pkeyopt", option, "-out", &key]);
        let crt = format!("{name}.crt");
        let words = match issuer {
            None => {
                format!("req -x509 -new -key {key} -days 30 -config ext.cnf -extensions {ext} -out {crt}")
            }
            Some(issuer) => {
                let csr = format!("{name}.csr");
                self.openssl(&[
                    "req", "-new", "-key", &key, "-subj", subject, "-config", "ext.cnf", "-out", &csr,
                ]);
                format!(
                    "x509 -req -in {csr} -CA {issuer}.crt -CAkey {issuer}.key -days 30 -extfile ext.cnf \
                     -extensions {ext} -out {crt}"
                )
            }
        };
        let mut args: Vec<&str> = words.split_whitespace().collect();
        if issuer.is_none() {
            args.extend(["-subj", subject]);
        }
        self.openssl(&args);
    }

    /// root -> issuing (pathlen 0) -> leaves `revoked` and `kept`, and the
    /// issuing CA's CRL `crl.pem` from `openssl ca -gencrl`, revoking `revoked`.
    fn openssl_crl_fixture(&self, algorithm: &str) {
        self.write("ext.cnf", OPENSSL_EXTENSIONS);
        self.write("ca.cnf", OPENSSL_CA);
        self.write("index.txt", "");
        self.write("crlnumber", "1000\n");
        self.make(algorithm, "root", "/CN=OpenSSL Root", None, "root");
        self.make(algorithm, "issuing", "/CN=OpenSSL Issuing CA", Some("root"), "ca_len0");
        self.make(algorithm, "revoked", "/CN=api.fleet.test", Some("issuing"), "server");
        self.make(algorithm, "kept", "/CN=api.fleet.test", Some("issuing"), "server");
        self.openssl(&["ca", "-config", "ca.cnf", "-revoke", "revoked.crt", "-crl_reason", "keyCompromise"]);
        self.openssl(&["ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem"]);
    }
}

#[test]
fn an_openssl_crl_is_read_checked_and_honoured_by_coffer() {
    if !openssl_ready("an_openssl_crl_is_read_checked_and_honoured_by_coffer") {
        return;
    }
    for algorithm in ["EC", "RSA"] {
        let d = Dir::new("openssl-crl");
        d.openssl_crl_fixture(algorithm);
        let t = now();
        let (root, issuing) = (d.cert("root.crt"), d.cert("issuing.crt"));
        let (revoked, kept) = (d.cert("revoked.crt"), d.cert("kept.crt"));
        let crl = Crl::from_pem(&d.read("crl.pem")).unwrap();
        crl.verify_signature(&issuing).unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        assert_eq!(crl.verify_signature(&root).unwrap_err(), Error::IssuerMismatch, "{algorithm}");
        assert_eq!(crl.issuer(), issuing.subject());
        assert_eq!(crl.number(), Some(vec![0x10, 0x00]), "{algorithm}: crlnumber 1000");
        let listed: Vec<Vec<u8>> = crl.revoked().into_iter().map(|(serial, _)| serial).collect();
        assert_eq!(listed, [revoked.serial().to_vec()], "{algorithm}");
        assert!(crl.lists(&revoked) && !crl.lists(&kept), "{algorithm}");
        assert!(crl.this_update() <= t && crl.next_update() > Some(t + 6 * DAY), "{algorithm}");

        let anchors = [root];
        let crls = [crl];
        let check = |leaf: &Certificate, crls: &[Crl]| {
            let o = opts(t, Purpose::ServerAuth, Some(ExpectedName::Dns("api.fleet.test")), crls);
            cert::verify_path(leaf, std::slice::from_ref(&issuing), &anchors, &o).map(|_| ())
        };
        assert_eq!(check(&revoked, &crls), Err(Error::Revoked), "{algorithm}");
        assert_eq!(check(&revoked, &[]), Ok(()), "{algorithm}: revoked only by the CRL");
        assert_eq!(check(&kept, &crls), Ok(()), "{algorithm}");
    }
}

/// A tampered CRL fails `Crl::verify_signature`, and `verify_path` fails
/// every path through its issuer with `Verify` (a damaged list is not
/// skipped), as OpenSSL fails the whole verification ("CRL signature failure").
#[test]
fn an_openssl_crl_with_a_flipped_byte_fails_its_signature_and_every_path_it_covers() {
    if !openssl_ready("an_openssl_crl_with_a_flipped_byte_fails_its_signature_and_every_path_it_covers") {
        return;
    }
    for algorithm in ["EC", "RSA"] {
        let d = Dir::new("openssl-crl-tampered");
        d.openssl_crl_fixture(algorithm);
        let t = now();
        let (root, issuing, revoked) = (d.cert("root.crt"), d.cert("issuing.crt"), d.cert("revoked.crt"));
        let good = Crl::from_pem(&d.read("crl.pem")).unwrap();
        good.verify_signature(&issuing).unwrap();

        // The last byte of the signature, and the last byte of the revoked serial.
        let mut in_signature = good.to_der().to_vec();
        *in_signature.last_mut().unwrap() ^= 0x01;
        let mut in_serial = good.to_der().to_vec();
        let serial = revoked.serial();
        let at = in_serial.windows(serial.len()).position(|w| w == serial).unwrap() + serial.len() - 1;
        in_serial[at] ^= 0x01;
        for (what, der) in [("signature", in_signature), ("serial", in_serial)] {
            let tampered = Crl::from_der(&der).unwrap();
            assert_eq!(tampered.verify_signature(&issuing).unwrap_err(), Error::Verify, "{algorithm} {what}");
            let crls = [tampered];
            let o = opts(t, Purpose::ServerAuth, None, &crls);
            for leaf in [&revoked, &d.cert("kept.crt")] {
                let r =
                    cert::verify_path(leaf, std::slice::from_ref(&issuing), std::slice::from_ref(&root), &o)
                        .map(|_| ());
                assert_eq!(r, Err(Error::Verify), "{algorithm} {what}");
            }
        }
        // OpenSSL, given the same tampered CRL, fails the whole verification.
        let mut der = good.to_der().to_vec();
        *der.last_mut().unwrap() ^= 0x01;
        std::fs::write(d.0.join("tampered.der"), &der).unwrap();
        d.openssl(&["crl", "-inform", "DER", "-in", "tampered.der", "-out", "tampered.pem"]);
        let words =
            "verify -crl_check -CAfile root.crt -untrusted issuing.crt -CRLfile tampered.pem kept.crt";
        let out = d.openssl_output(&words.split_whitespace().collect::<Vec<_>>());
        let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && said.contains("CRL signature failure"), "{algorithm}: {said}");
    }
}
