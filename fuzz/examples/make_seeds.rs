//! Writes the seed corpora `fuzz/seeds/<target>/` from real data
//! (fuzz/README.md says what each holds):
//!
//! ```text
//! cd fuzz && cargo run --release --example make_seeds [target...]
//! ```
//!
//! With targets named, only their directories are written (each must be
//! one of `GENERATED`); with none, all of `GENERATED`.
//!
//! - coffer-made certificates, requests and revocation lists: two roots
//!   (P-256; RSA-2048 signing RSA-PSS), a depth-4 chain, leaves with every
//!   kind of subject alternative name, CRLs that revoke, are empty or are
//!   out of date; made with a ChaCha20 generator of a fixed seed, so the
//!   same code writes the same bytes;
//! - OpenSSL-made ones (a root, an intermediate and a leaf by `openssl ca`
//!   with fixed dates, a request, a CRL revoking the leaf) and encrypted
//!   PKCS#8 by `openssl pkcs8` (PBKDF2 with HMAC-SHA-256 and -SHA-1,
//!   scrypt, PBES1); these differ run to run (OpenSSL's own randomness);
//! - core/tests/data's keys, vectors/data's golden envelopes and RFC 3394 /
//!   RFC 5649 key-wrap vectors, and webhook headers signed by coffer;
//! - for `keystore_state`, the independently written token states of
//!   hsm-shim/tests/data/token_states (KEYSTORE.md CFHS v1-v3, CFDS v1): each
//!   state in plaintext (the target seals it), sealed again under the
//!   target's master key, and its audit records as a CFAL segment.
//!
//! Only the directories of the targets listed in `GENERATED` are replaced;
//! the others (minimized corpora, hand-made seeds) are left alone.
//! Needs `openssl` on PATH. Every file is checked to be under 8 KB, and no
//! target gets 50 or more.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use chacha20::ChaCha20Rng;
use coffer_core::cert::{
    self, CaParams, Certificate, Crl, CrlParams, IntermediateParams, KeyAlgorithm, KeyPair, KeySigner,
    LeafKeyUsage, LeafParams, LeafUsage, Revocation, San, SignatureScheme, Validity,
};
use coffer_core::mac::{HmacSha256Key, WebhookMessage, WebhookSignature};
use rand_core::SeedableRng;

/// The seed directories this program owns.
const GENERATED: [&str; 10] = [
    "cert_parse",
    "cert_path",
    "pkcs8_encrypted",
    "key_import",
    "webhook_header",
    "keywrap_roundtrip",
    "sign_verify",
    "envelope_header",
    "envelope_open",
    "keystore_state",
];
/// The passphrase of the encrypted seeds (as in fuzz_targets/pkcs8_encrypted.rs).
const PASSPHRASE: &str = "fuzz-passphrase";
/// fuzz_targets/cert_path.rs's `NOW` lies inside every validity below.
const ROOT_VALIDITY: Validity = Validity { not_before: 1_770_000_000, not_after: 1_810_000_000 };
const VALIDITY: Validity = Validity { not_before: 1_775_000_000, not_after: 1_805_000_000 };
const MAX_SEED_LEN: usize = 8 * 1024;
const MAX_SEEDS: usize = 50;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = fuzz.parent().expect("fuzz/ is inside the repository");
    let chosen: Vec<String> = std::env::args().skip(1).collect();
    if let Some(unknown) = chosen.iter().find(|t| !GENERATED.contains(&t.as_str())) {
        return Err(format!("{unknown} is not one of the generated targets {GENERATED:?}").into());
    }
    let targets: Vec<&str> =
        GENERATED.into_iter().filter(|t| chosen.is_empty() || chosen.iter().any(|c| c == t)).collect();
    let seeds = Seeds { dir: fuzz.join("seeds"), targets: targets.clone() };
    for &target in &targets {
        let dir = seeds.dir.join(target);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
    }
    let tmp = std::env::temp_dir().join(format!("coffer-seeds-{}", std::process::id()));
    fs::create_dir_all(&tmp)?;
    let pki = CofferPki::new()?;
    let ossl = OpensslPki::new(&tmp)?;
    certificates(&seeds, &pki, &ossl)?;
    paths(&seeds, &pki, &ossl)?;
    keys(&seeds, &repo.join("core/tests/data"), &ossl)?;
    webhooks(&seeds);
    keywraps(&seeds, repo)?;
    signatures(&seeds);
    envelopes(&seeds, repo)?;
    token_states(&seeds, repo)?;
    fs::remove_dir_all(&tmp)?;
    for &target in &targets {
        let n = fs::read_dir(seeds.dir.join(target))?.count();
        assert!(n < MAX_SEEDS, "{target}: {n} seeds");
        println!("{target}: {n} seeds");
    }
    Ok(())
}

struct Seeds {
    dir: PathBuf,
    /// The targets being written; seeds for the others are dropped.
    targets: Vec<&'static str>,
}

impl Seeds {
    fn put(&self, target: &str, name: &str, bytes: &[u8]) {
        if !self.targets.contains(&target) {
            return;
        }
        assert!(bytes.len() < MAX_SEED_LEN, "{target}/{name} is {} bytes", bytes.len());
        fs::write(self.dir.join(target).join(name), bytes).expect("write a seed");
    }
}

/// Certificates, requests and CRLs made by coffer, reproducibly.
struct CofferPki {
    root_p256: Certificate,
    root_rsa: Certificate,
    int1: Certificate,
    int2: Certificate,
    /// Under `int2`: every kind of name, keyUsage digitalSignature + keyAgreement.
    leaf: Certificate,
    /// Under `root_p256`, from a request: a wildcard DNS name, server only.
    leaf_wildcard: Certificate,
    /// Under `root_p256`: an RSA key, keyEncipherment.
    leaf_rsa: Certificate,
    request: cert::Csr,
    /// `int2`'s lists: one revoking `leaf`, one empty.
    crl_revoked: Crl,
    crl_empty: Crl,
    /// `root_p256`'s list, out of date at `NOW`.
    crl_stale: Crl,
    /// `root_rsa`'s list (RSA-PSS) revoking nothing.
    crl_rsa: Crl,
}

impl CofferPki {
    fn new() -> Result<Self> {
        let mut rng = ChaCha20Rng::from_seed([0x5e; 32]);
        let p256 = |rng: &mut ChaCha20Rng| KeyPair::generate(rng, KeyAlgorithm::P256);
        let root_key = p256(&mut rng)?;
        let rsa_key = KeyPair::from_pkcs8_der(include_bytes!("../../core/tests/data/rsa2048.pkcs8.der"))?;
        let (int1_key, int2_key, leaf_key, wild_key) =
            (p256(&mut rng)?, p256(&mut rng)?, p256(&mut rng)?, p256(&mut rng)?);

        let root_p256 = cert::self_signed_ca(
            &mut rng,
            &root_key,
            &CaParams { subject: "CN=Fuzz Root P-256,O=Coffer", validity: ROOT_VALIDITY, path_len: None },
        )?;
        let mut pss = KeySigner::new(&mut rng, &rsa_key, SignatureScheme::RsaPssSha256)?;
        let root_rsa = cert::self_signed_ca_with(
            &mut pss,
            &CaParams { subject: "CN=Fuzz Root RSA,O=Coffer", validity: ROOT_VALIDITY, path_len: Some(2) },
        )?;
        let ca = IntermediateParams { validity: VALIDITY, path_len: None };
        let int1_req = cert::csr(&mut rng, &int1_key, "CN=Fuzz Intermediate 1,O=Coffer", &[])?;
        let int1 = cert::issue_intermediate(
            &mut rng,
            &root_rsa,
            &rsa_key,
            SignatureScheme::RsaPssSha256,
            &int1_req,
            &ca,
        )?;
        let int2_req = cert::csr(&mut rng, &int2_key, "CN=Fuzz Intermediate 2,O=Coffer", &[])?;
        let int2 =
            cert::issue_intermediate(&mut rng, &int1, &int1_key, int1_key.default_scheme(), &int2_req, &ca)?;

        let names = [
            San::Dns("agent-7.fleet.test".into()),
            San::Ip([10, 0, 0, 7].into()),
            San::Uri("spiffe://fleet.test/agent-7".into()),
            San::Email("ops@fleet.test".into()),
        ];
        let params = LeafParams {
            validity: VALIDITY,
            usage: LeafUsage::ServerAndClient,
            sans: &names,
            key_usage: Some(LeafKeyUsage::DIGITAL_SIGNATURE | LeafKeyUsage::KEY_AGREEMENT),
        };
        let leaf = cert::issue_leaf(
            &mut rng,
            &int2,
            &int2_key,
            int2_key.default_scheme(),
            "CN=agent-7,O=Coffer",
            &leaf_key.public_key(),
            &params,
        )?;
        let request =
            cert::csr(&mut rng, &wild_key, "CN=fleet,O=Coffer", &[San::Dns("*.fleet.test".into())])?;
        let server = LeafParams { validity: VALIDITY, usage: LeafUsage::Server, sans: &[], key_usage: None };
        let leaf_wildcard = cert::issue_from_csr(
            &mut rng,
            &root_p256,
            &root_key,
            root_key.default_scheme(),
            &request,
            &server,
        )?;
        let rsa_leaf_params = LeafParams {
            validity: VALIDITY,
            usage: LeafUsage::Client,
            sans: &[San::Email("rsa@fleet.test".into())],
            key_usage: Some(LeafKeyUsage::DIGITAL_SIGNATURE | LeafKeyUsage::KEY_ENCIPHERMENT),
        };
        let leaf_rsa = cert::issue_leaf(
            &mut rng,
            &root_p256,
            &root_key,
            root_key.default_scheme(),
            "CN=rsa-agent,O=Coffer",
            &rsa_key.public_key(),
            &rsa_leaf_params,
        )?;

        let revoked = [Revocation { serial: leaf.serial(), revoked_at: 1_785_000_000 }];
        let crl_revoked = cert::issue_crl(
            &mut rng,
            &int2,
            &int2_key,
            int2_key.default_scheme(),
            &list(2, 1_789_000_000, 1_791_000_000, &revoked),
        )?;
        let crl_empty = cert::issue_crl(
            &mut rng,
            &int2,
            &int2_key,
            int2_key.default_scheme(),
            &list(1, 1_789_000_000, 1_791_000_000, &[]),
        )?;
        let crl_stale = cert::issue_crl(
            &mut rng,
            &root_p256,
            &root_key,
            root_key.default_scheme(),
            &list(1, 1_780_000_000, 1_785_000_000, &[]),
        )?;
        let crl_rsa = cert::issue_crl_with(
            &mut pss_signer(&mut rng, &rsa_key)?,
            &root_rsa,
            &list(1, 1_789_000_000, 1_791_000_000, &[]),
        )?;
        Ok(CofferPki {
            root_p256,
            root_rsa,
            int1,
            int2,
            leaf,
            leaf_wildcard,
            leaf_rsa,
            request,
            crl_revoked,
            crl_empty,
            crl_stale,
            crl_rsa,
        })
    }
}

fn list<'a>(number: u64, this_update: u64, next_update: u64, revoked: &'a [Revocation<'a>]) -> CrlParams<'a> {
    CrlParams { number, this_update, next_update, revoked }
}

fn pss_signer<'a>(rng: &'a mut ChaCha20Rng, key: &'a KeyPair) -> Result<KeySigner<'a, ChaCha20Rng>> {
    Ok(KeySigner::new(rng, key, SignatureScheme::RsaPssSha256)?)
}

/// A chain, a request and a CRL made by `openssl ca`, in DER; and the
/// encrypted PKCS#8 seeds.
struct OpensslPki {
    root: Vec<u8>,
    int: Vec<u8>,
    leaf: Vec<u8>,
    request: Vec<u8>,
    crl: Vec<u8>,
    /// (name, DER) of encrypted keys.
    encrypted: Vec<(String, Vec<u8>)>,
}

const CA_CONFIG: &str = "\
[ca]
default_ca = fuzz
[fuzz]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
crlnumber = crlnumber
default_md = sha256
policy = any
copy_extensions = copy
default_crl_days = 3650
[any]
commonName = supplied
organizationName = optional
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[int]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:agent-7.fleet.test,IP:10.0.0.7
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

impl OpensslPki {
    fn new(dir: &Path) -> Result<Self> {
        fs::write(dir.join("ca.cnf"), CA_CONFIG)?;
        fs::write(dir.join("index.txt"), "")?;
        fs::write(dir.join("serial"), "1000\n")?;
        fs::write(dir.join("crlnumber"), "1000\n")?;
        let run = |args: &[&str]| -> Result<()> {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .map_err(|e| format!("openssl is needed to make the seeds: {e}"))?;
            if !out.status.success() {
                return Err(format!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
            }
            Ok(())
        };
        let dates = ["-startdate", "20260101000000Z", "-enddate", "20400101000000Z"];
        for (name, subject) in [
            ("root", "/CN=OpenSSL Root/O=Acme"),
            ("int", "/CN=OpenSSL Intermediate/O=Acme"),
            ("leaf", "/CN=agent-7/O=Acme"),
        ] {
            run(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &format!("{name}.key"),
            ])?;
            run(&[
                "req",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-subj",
                subject,
                "-out",
                &format!("{name}.csr"),
            ])?;
        }
        let ca = |args: &[&str]| {
            let mut all = vec!["ca", "-batch", "-config", "ca.cnf", "-notext"];
            all.extend_from_slice(args);
            run(&all)
        };
        ca(&[
            &[
                "-selfsign",
                "-keyfile",
                "root.key",
                "-in",
                "root.csr",
                "-extensions",
                "root",
                "-out",
                "root.pem",
            ][..],
            &dates[..],
        ]
        .concat())?;
        ca(&[
            &[
                "-cert",
                "root.pem",
                "-keyfile",
                "root.key",
                "-in",
                "int.csr",
                "-extensions",
                "int",
                "-out",
                "int.pem",
            ][..],
            &dates[..],
        ]
        .concat())?;
        ca(&[
            &[
                "-cert",
                "int.pem",
                "-keyfile",
                "int.key",
                "-in",
                "leaf.csr",
                "-extensions",
                "leaf",
                "-out",
                "leaf.pem",
            ][..],
            &dates[..],
        ]
        .concat())?;
        ca(&[
            "-cert",
            "int.pem",
            "-keyfile",
            "int.key",
            "-revoke",
            "leaf.pem",
            "-crl_reason",
            "keyCompromise",
        ])?;
        ca(&["-cert", "int.pem", "-keyfile", "int.key", "-gencrl", "-out", "int.crl.pem"])?;
        run(&[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-subj",
            "/CN=agent-8/O=Acme",
            "-addext",
            "subjectAltName=DNS:agent-8.fleet.test,IP:10.0.0.8,email:ops@fleet.test",
            "-outform",
            "DER",
            "-out",
            "req.der",
        ])?;
        for (name, kind) in [("root", "x509"), ("int", "x509"), ("leaf", "x509"), ("int.crl", "crl")] {
            run(&[kind, "-in", &format!("{name}.pem"), "-outform", "DER", "-out", &format!("{name}.der")])?;
        }

        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/data");
        let pass = format!("pass:{PASSPHRASE}");
        let mut encrypted = Vec::new();
        for key in ["p256", "rsa2048"] {
            let input = data.join(format!("{key}.pkcs8.der"));
            let input = input.to_str().expect("a UTF-8 path");
            for (scheme, args) in [
                ("pbkdf2-sha256-aes256cbc", &["-v2", "aes-256-cbc", "-iter", "2048"][..]),
                (
                    "pbkdf2-sha1-aes128cbc",
                    &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1", "-iter", "1000"][..],
                ),
                (
                    "pbkdf2-sha512-aes192cbc",
                    &["-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA512", "-iter", "2048"][..],
                ),
                (
                    "scrypt-n1024-r8-aes256cbc",
                    &[
                        "-v2",
                        "aes-256-cbc",
                        "-scrypt",
                        "-scrypt_N",
                        "1024",
                        "-scrypt_r",
                        "8",
                        "-scrypt_p",
                        "1",
                    ][..],
                ),
                ("pbes1-sha1-3des", &["-v1", "PBE-SHA1-3DES", "-iter", "2048"][..]),
            ] {
                let out = format!("{key}.{scheme}.der");
                let mut all = vec![
                    "pkcs8", "-topk8", "-inform", "DER", "-in", input, "-outform", "DER", "-out", &out,
                    "-passout", &pass,
                ];
                all.extend_from_slice(args);
                run(&all)?;
                encrypted.push((out.clone(), fs::read(dir.join(&out))?));
            }
        }
        let read = |name: &str| fs::read(dir.join(name));
        Ok(OpensslPki {
            root: read("root.der")?,
            int: read("int.der")?,
            leaf: read("leaf.der")?,
            request: read("req.der")?,
            crl: read("int.crl.der")?,
            encrypted,
        })
    }
}

fn certificates(seeds: &Seeds, pki: &CofferPki, ossl: &OpensslPki) -> Result<()> {
    let t = "cert_parse";
    for (name, c) in [
        ("coffer-root-p256", &pki.root_p256),
        ("coffer-root-rsa-pss", &pki.root_rsa),
        ("coffer-intermediate", &pki.int1),
        ("coffer-leaf-all-sans", &pki.leaf),
        ("coffer-leaf-wildcard", &pki.leaf_wildcard),
        ("coffer-leaf-rsa", &pki.leaf_rsa),
    ] {
        seeds.put(t, &format!("{name}.der"), c.to_der());
        seeds.put(t, &format!("{name}.pem"), c.to_pem()?.as_bytes());
    }
    let bundle = [&pki.leaf, &pki.int2, &pki.int1]
        .iter()
        .map(|c| c.to_pem())
        .collect::<std::result::Result<String, _>>()?;
    seeds.put(t, "coffer-bundle.pem", format!("# leaf, then intermediates\n{bundle}").as_bytes());
    seeds.put(t, "coffer-request.der", pki.request.to_der());
    seeds.put(t, "coffer-request.pem", pki.request.to_pem()?.as_bytes());
    for (name, l) in [
        ("coffer-crl-revoked", &pki.crl_revoked),
        ("coffer-crl-empty", &pki.crl_empty),
        ("coffer-crl-rsa-pss", &pki.crl_rsa),
    ] {
        seeds.put(t, &format!("{name}.der"), l.to_der());
        seeds.put(t, &format!("{name}.pem"), l.to_pem()?.as_bytes());
    }
    for (name, der) in [
        ("openssl-root.der", &ossl.root),
        ("openssl-intermediate.der", &ossl.int),
        ("openssl-leaf.der", &ossl.leaf),
        ("openssl-request.der", &ossl.request),
        ("openssl-crl.der", &ossl.crl),
    ] {
        seeds.put(t, name, der);
    }
    Ok(())
}

/// The coffer-made depth-4 chain (leaf, two intermediates, the RSA root), then `extra`.
fn depth4<'a>(pki: &'a CofferPki, extra: &[(u8, &'a [u8])]) -> Vec<(u8, &'a [u8])> {
    let mut chunks: Vec<(u8, &[u8])> = vec![
        (0, pki.leaf.to_der()),
        (0, pki.int2.to_der()),
        (0, pki.int1.to_der()),
        (1, pki.root_rsa.to_der()),
    ];
    chunks.extend_from_slice(extra);
    chunks
}

/// fuzz_targets/cert_path.rs's input: options, then (role, length, DER) chunks.
fn path_seed(options: u8, chunks: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = vec![options];
    for (role, der) in chunks {
        out.push(*role);
        out.extend_from_slice(&u16::try_from(der.len()).expect("a small DER").to_be_bytes());
        out.extend_from_slice(der);
    }
    out
}

fn paths(seeds: &Seeds, pki: &CofferPki, ossl: &OpensslPki) -> Result<()> {
    const INT: u8 = 0;
    const ANCHOR: u8 = 1;
    const CRL: u8 = 2;
    // Options: purpose in bits 0-1 (1 server, 2 client), name in bits 2-3
    // (1 DNS agent-7.fleet.test, 2 IP 10.0.0.7), now in bits 4-5 (0 NOW, 2 the year 2036).
    let (server_dns, client_ip, none, later) = (0x05, 0x0a, 0x00, 0x20);
    let t = "cert_path";
    seeds.put(t, "coffer-depth4", &path_seed(client_ip, &depth4(pki, &[])));
    seeds.put(t, "coffer-depth4-server-dns", &path_seed(server_dns, &depth4(pki, &[])));
    seeds.put(
        t,
        "coffer-depth4-crl-revokes-leaf",
        &path_seed(none, &depth4(pki, &[(CRL, pki.crl_revoked.to_der())])),
    );
    seeds.put(
        t,
        "coffer-depth4-crl-empty",
        &path_seed(client_ip, &depth4(pki, &[(CRL, pki.crl_empty.to_der()), (CRL, pki.crl_rsa.to_der())])),
    );
    let reversed = [
        (INT, pki.leaf.to_der()),
        (INT, pki.int1.to_der()),
        (ANCHOR, pki.root_p256.to_der()),
        (INT, pki.int2.to_der()),
        (ANCHOR, pki.root_rsa.to_der()),
    ];
    seeds.put(t, "coffer-depth4-shuffled-two-anchors", &path_seed(none, &reversed));
    seeds.put(
        t,
        "coffer-wildcard-leaf",
        &path_seed(server_dns, &[(INT, pki.leaf_wildcard.to_der()), (ANCHOR, pki.root_p256.to_der())]),
    );
    seeds.put(
        t,
        "coffer-wildcard-leaf-stale-crl",
        &path_seed(
            server_dns,
            &[
                (INT, pki.leaf_wildcard.to_der()),
                (ANCHOR, pki.root_p256.to_der()),
                (CRL, pki.crl_stale.to_der()),
            ],
        ),
    );
    seeds.put(
        t,
        "coffer-rsa-leaf",
        &path_seed(0x02, &[(INT, pki.leaf_rsa.to_der()), (ANCHOR, pki.root_p256.to_der())]),
    );
    seeds.put(
        t,
        "coffer-leaf-wrong-anchor",
        &path_seed(none, &[(INT, pki.leaf.to_der()), (ANCHOR, pki.root_p256.to_der())]),
    );
    let openssl =
        [(INT, &ossl.leaf[..]), (INT, &ossl.int[..]), (ANCHOR, &ossl.root[..]), (CRL, &ossl.crl[..])];
    seeds.put(t, "openssl-chain-crl-revokes-leaf", &path_seed(later | server_dns, &openssl));
    seeds.put(t, "openssl-chain-crl-not-yet-issued", &path_seed(server_dns, &openssl));
    seeds.put(t, "openssl-chain", &path_seed(later | client_ip, &openssl[..3]));
    Ok(())
}

fn keys(seeds: &Seeds, data: &Path, ossl: &OpensslPki) -> Result<()> {
    for entry in fs::read_dir(data)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("a UTF-8 name").to_string();
        if name.ends_with(".der") || name.ends_with(".pem") {
            let bytes = fs::read(&path)?;
            seeds.put("key_import", &name, &bytes);
            seeds.put("pkcs8_encrypted", &name, &bytes);
        }
    }
    for (name, der) in &ossl.encrypted {
        seeds.put("pkcs8_encrypted", name, der);
    }
    // Two as PEM, as `openssl pkcs8` writes them by default.
    for (name, der) in ossl.encrypted.iter().filter(|(n, _)| n.contains("pbkdf2-sha256")) {
        let pem = pkcs8::der::pem::encode_string("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF, der)?;
        seeds.put("pkcs8_encrypted", &name.replace(".der", ".pem"), pem.as_bytes());
    }
    Ok(())
}

fn webhooks(seeds: &Seeds) {
    let key = HmacSha256Key::new(b"whsec: the fuzzer's shared secret").expect("a valid secret");
    let t = "webhook_header";
    // fuzz_targets/webhook_header.rs's input: timestamp, edit kind, position, byte, body.
    for (i, (timestamp, kind, at, byte, body)) in [
        (1_700_000_000u64, 0u8, 20u16, 0x01u8, &b"{\"event\":\"paid\"}"[..]),
        (1_700_000_000, 1, 0, b'x', b""),
        (42, 2, 3, 0, b"ping"),
        (u64::MAX, 3, 40, 0, b"\x00\xff binary body"),
        (1_790_000_000, 0, 2, 0x20, b"{\"event\":\"refund\",\"amount\":1200}"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut seed = timestamp.to_be_bytes().to_vec();
        seed.extend_from_slice(&[kind, (at >> 8) as u8, at as u8, byte]);
        seed.extend_from_slice(body);
        seeds.put(t, &format!("delivery-{i}"), &seed);
    }
    // Header text, read whole.
    let tag = key.sign_webhook(&WebhookMessage::new(1_700_000_000, b"{}"));
    let header = WebhookSignature::new(1_700_000_000, tag).to_string();
    let hex = &header["t=1700000000,v1=".len()..];
    seeds.put(t, "header", header.as_bytes());
    seeds.put(t, "header-v1-first-v0-ignored", format!("v0=old,v1={hex},t=1700000000").as_bytes());
    seeds.put(
        t,
        "header-uppercase-leading-zero",
        format!("t=0001700000000,v1={}", hex.to_uppercase()).as_bytes(),
    );
    seeds.put(t, "header-two-timestamps", format!("t=1,t=2,v1={hex}").as_bytes());
    seeds.put(t, "header-max-timestamp", format!("t=18446744073709551615,v1={hex}").as_bytes());
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn keywraps(seeds: &Seeds, repo: &Path) -> Result<()> {
    // fuzz_targets/keywrap_roundtrip.rs's input: KEK size, KEK (32), mode,
    // edit kind, position (2), byte, key data.
    let mut i = 0u8;
    for (file, mode) in [("rfc3394.json", 0u8), ("rfc5649.json", 1)] {
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(repo.join("vectors/data").join(file))?)?;
        for v in json["vectors"].as_array().expect("vectors") {
            let kek = hex(v["kek"].as_str().expect("kek"));
            let key_data = hex(v["key_data"].as_str().expect("key_data"));
            let mut seed = vec![match kek.len() {
                16 => 0,
                24 => 1,
                _ => 2,
            }];
            let mut padded = [0u8; 32];
            padded[..kek.len()].copy_from_slice(&kek);
            seed.extend_from_slice(&padded);
            seed.extend_from_slice(&[mode, i % 6, 0, i, 1 << (i % 8)]);
            seed.extend_from_slice(&key_data);
            seeds.put("keywrap_roundtrip", v["name"].as_str().expect("name"), &seed);
            i += 1;
        }
    }
    Ok(())
}

fn signatures(seeds: &Seeds) {
    // fuzz_targets/sign_verify.rs's input: scheme (0 RSA PKCS#1, 1 RSA-PSS,
    // else ECDSA), edit kind (bits 4-6 zero for RSA to run; bit 7 and bits
    // 4-5 zero for the thorough ECDSA checks), position (2), byte, message.
    let t = "sign_verify";
    for kind in 0u8..6 {
        seeds.put(
            t,
            &format!("ecdsa-edit-{kind}"),
            &[&[2, kind, 0, 7, 0x10][..], b"release 1.2.3 of coffer"].concat(),
        );
    }
    seeds.put(t, "ecdsa-thorough", &[&[2, 0x80, 0, 3, 0x01][..], b"{\"event\":\"paid\"}"].concat());
    seeds.put(t, "ecdsa-empty-message", &[2, 1, 0, 0, 0x80]);
    seeds.put(t, "rsa-pkcs1-unchanged", &[&[0, 0, 0, 0, 0][..], b"release 1.2.3 of coffer"].concat());
    seeds.put(t, "rsa-pkcs1-sig-bit", &[&[0, 1, 1, 0, 0x04][..], b"release 1.2.3 of coffer"].concat());
    seeds.put(t, "rsa-pss-message-bit", &[&[1, 2, 0, 5, 0x02][..], b"release 1.2.3 of coffer"].concat());
    seeds.put(t, "rsa-pss-truncated", &[&[1, 3, 0, 200, 0][..], b"release 1.2.3 of coffer"].concat());
}

fn envelopes(seeds: &Seeds, repo: &Path) -> Result<()> {
    let golden = repo.join("vectors/data/envelope_v1/golden.json");
    let json: serde_json::Value = serde_json::from_slice(&fs::read(golden)?)?;
    for e in json["envelopes"].as_array().expect("envelopes") {
        let bytes = hex(e["envelope"].as_str().expect("envelope"));
        if bytes.len() < MAX_SEED_LEN {
            let name = e["name"].as_str().expect("name");
            seeds.put("envelope_header", name, &bytes);
            seeds.put("envelope_open", name, &bytes);
        }
    }
    Ok(())
}

/// `keystore_state`'s seeds from the independently written token states
/// (hsm-shim/tests/data/token_states, master key 40 41 .. 5f): the
/// plaintext state, the state sealed under the target's master key
/// (9 repeated), and each state's audit records as a CFAL segment.
fn token_states(seeds: &Seeds, repo: &Path) -> Result<()> {
    use coffer_hsm::keystore::{self, KeySource, MasterKey};
    let dir = repo.join("hsm-shim/tests/data/token_states");
    let golden_master = MasterKey::from_bytes(core::array::from_fn(|i| 0x40 + i as u8));
    let fuzz_master = MasterKey::from_bytes([9; 32]);
    let mut rng = ChaCha20Rng::from_seed([0x57; 32]);
    for name in ["cfhs_v1", "cfhs_v2", "cfhs_v3", "cfds_v1"] {
        let sealed = fs::read(dir.join(format!("{name}.cfks")))?;
        let (state, counter) = keystore::open(&KeySource::MasterKey(&golden_master), &sealed, None)?;
        seeds.put("keystore_state", &format!("{name}-plain"), &state);
        let resealed = keystore::seal(&mut rng, &KeySource::MasterKey(&fuzz_master), counter, &state)?;
        seeds.put("keystore_state", &format!("{name}-sealed"), &resealed);
    }
    let mut log = coffer_hsm::audit::AuditLog::new(HmacSha256Key::new(&[0x33; 32])?);
    for (time, event) in [
        coffer_hsm::audit::AuditEvent::TokenInitialized,
        coffer_hsm::audit::AuditEvent::LoginSucceeded { role: coffer_hsm::Role::SecurityOfficer },
        coffer_hsm::audit::AuditEvent::LoginFailed { role: coffer_hsm::Role::User },
    ]
    .into_iter()
    .enumerate()
    {
        log.append(1_700_000_000 + time as u64, event)?;
    }
    seeds.put("keystore_state", "audit-segment-v1", &log.segment().encode());
    log.archive(1)?;
    seeds.put("keystore_state", "audit-log-v2", &log.encode());
    Ok(())
}
