//! Intermediate CAs, revocation lists and path validation as C calls them
//! (`coffer_certificate_issue_intermediate`, `coffer_crl_*`,
//! `coffer_certificate_verify_path`, through the rlib): a root certifies
//! an issuing CA from its request, the issuing CA certifies an agent and
//! revokes it, and every refusal gives its own status with no output
//! written.
// miri: every test makes P-256 keys and signs certificates and CRLs: minutes each under miri.
#![cfg(not(miri))]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "a failed call is a test failure, reported by panic"
)]

use std::ptr::{null, null_mut};

use coffer::cert::*;
use coffer::cert_path::*;
use coffer::crl::*;
use coffer::keypair::*;
use coffer::status::*;
use coffer_core::cert::{Certificate, Crl};

mod common;
use common::Bytes;

const RSA4096_PKCS8: &[u8] = include_bytes!("../../core/tests/data/rsa4096.pkcs8.der");
const P256_SPKI_LEN: usize = 91;
/// No certificate of these tests is valid at these times.
const YEAR_2001: u64 = 1_000_000_000;
const YEAR_2100: u64 = 4_102_444_800;

// ---------------------------------------------------------------------------
// Handles freed on drop, and the calls the tests make
// ---------------------------------------------------------------------------

struct Key(*mut coffer_keypair);

impl Drop for Key {
    fn drop(&mut self) {
        coffer_keypair_free(self.0);
    }
}

fn p256() -> Key {
    let mut kp = null_mut();
    assert_eq!(coffer_keypair_generate(coffer_key_algorithm::COFFER_ALG_P256 as u32, &mut kp), COFFER_OK);
    Key(kp)
}

struct Cert(*mut coffer_certificate);

impl Drop for Cert {
    fn drop(&mut self) {
        coffer_certificate_free(self.0);
    }
}

impl Cert {
    fn pem(&self) -> Vec<u8> {
        let mut pem = Bytes::new();
        assert_eq!(coffer_certificate_to_pem(self.0, pem.out()), COFFER_OK);
        pem.to_vec()
    }

    fn parsed(&self) -> Certificate {
        let mut der = Bytes::new();
        assert_eq!(coffer_certificate_to_der(self.0, der.out()), COFFER_OK);
        Certificate::from_der(&der.to_vec()).unwrap()
    }

    fn serial(&self) -> Vec<u8> {
        let mut serial = Bytes::new();
        assert_eq!(coffer_certificate_serial(self.0, serial.out()), COFFER_OK);
        serial.to_vec()
    }

    fn spki(&self) -> Vec<u8> {
        let mut spki = Bytes::new();
        assert_eq!(coffer_certificate_public_key_der(self.0, spki.out()), COFFER_OK);
        spki.to_vec()
    }
}

struct Request(*mut coffer_csr);

impl Drop for Request {
    fn drop(&mut self) {
        coffer_csr_free(self.0);
    }
}

fn request(key: &Key, subject: &str, sans: &[coffer_san]) -> Request {
    let mut csr = null_mut();
    let s = coffer_csr_new(key.0, subject.as_ptr(), subject.len(), sans.as_ptr(), sans.len(), &mut csr);
    assert_eq!(s, COFFER_OK, "csr_new {subject}");
    Request(csr)
}

struct List(*mut coffer_crl);

impl Drop for List {
    fn drop(&mut self) {
        coffer_crl_free(self.0);
    }
}

impl List {
    fn parsed(&self) -> Crl {
        let mut der = Bytes::new();
        assert_eq!(coffer_crl_to_der(self.0, der.out()), COFFER_OK);
        Crl::from_der(&der.to_vec()).unwrap()
    }

    fn lists(&self, cert: &Cert) -> bool {
        let mut listed = false;
        assert_eq!(coffer_crl_lists(self.0, cert.0, &mut listed), COFFER_OK);
        listed
    }
}

fn san(kind: coffer_san_kind, value: &'static str) -> coffer_san {
    coffer_san { kind: kind as u32, value: value.as_ptr(), value_len: value.len() }
}

fn dns(value: &'static str) -> coffer_san {
    san(coffer_san_kind::COFFER_SAN_DNS, value)
}

fn root(key: &Key, days: u32, path_len: i32) -> Cert {
    let subject = "CN=Path Root,O=Acme";
    let mut ca = null_mut();
    let s =
        coffer_certificate_self_signed_ca(key.0, subject.as_ptr(), subject.len(), days, path_len, &mut ca);
    assert_eq!(s, COFFER_OK);
    Cert(ca)
}

/// `coffer_certificate_issue_intermediate`: the status and the certificate
/// (NULL unless it succeeded).
fn intermediate(ca: &Cert, ca_key: &Key, csr: &Request, days: u32, path_len: i32) -> (coffer_status, Cert) {
    let mut out = null_mut();
    let s = coffer_certificate_issue_intermediate(ca.0, ca_key.0, csr.0, days, path_len, &mut out);
    assert_eq!(s == COFFER_OK, !out.is_null(), "an output written on failure, or none on success");
    (s, Cert(out))
}

fn leaf(ca: &Cert, ca_key: &Key, csr: &Request, usage: coffer_leaf_usage) -> Cert {
    let mut out = null_mut();
    let s = coffer_certificate_issue(ca.0, ca_key.0, csr.0, usage as u32, 30, null(), 0, &mut out);
    assert_eq!(s, COFFER_OK);
    Cert(out)
}

/// `coffer_crl_issue` revoking `serials` at 1_700_000_000: the status and the list.
fn crl(
    ca: &Cert,
    ca_key: &Key,
    this_update: u64,
    next_update: u64,
    serials: &[&[u8]],
) -> (coffer_status, List) {
    let revoked: Vec<coffer_revocation> = serials
        .iter()
        .map(|s| coffer_revocation { serial: s.as_ptr(), serial_len: s.len(), revoked_at: 1_700_000_000 })
        .collect();
    let mut out = null_mut();
    let s = coffer_crl_issue(
        ca.0,
        ca_key.0,
        7,
        this_update,
        next_update,
        revoked.as_ptr(),
        revoked.len(),
        &mut out,
    );
    assert_eq!(s == COFFER_OK, !out.is_null(), "an output written on failure, or none on success");
    (s, List(out))
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// A root (path length 1) over an issuing CA (made from its request, the
/// default path length) over an agent's leaf with a DNS name and an IP
/// address.
struct Pki {
    root_key: Key,
    root: Cert,
    issuing_key: Key,
    issuing: Cert,
    agent_key: Key,
    leaf: Cert,
}

impl Pki {
    fn new(usage: coffer_leaf_usage) -> Pki {
        let root_key = p256();
        let root = root(&root_key, 365, 1);
        let issuing_key = p256();
        let (s, issuing) =
            intermediate(&root, &root_key, &request(&issuing_key, "CN=Issuing CA,O=Acme", &[]), 90, -1);
        assert_eq!(s, COFFER_OK);
        let agent_key = p256();
        let names = [dns("agent-7.acme.test"), san(coffer_san_kind::COFFER_SAN_IP, "10.0.0.7")];
        let leaf = leaf(&issuing, &issuing_key, &request(&agent_key, "CN=agent-7,O=Acme", &names), usage);
        Pki { root_key, root, issuing_key, issuing, agent_key, leaf }
    }

    /// A check of this PKI's leaf against its root, through its issuing CA.
    fn path(&self) -> Path<'_> {
        Path {
            leaf: self.leaf.0,
            anchors: self.root.pem(),
            untrusted: self.issuing.pem(),
            crls: Vec::new(),
            purpose: COFFER_PURPOSE_ANY,
            name: None,
            now: 0,
            _pki: std::marker::PhantomData,
        }
    }
}

/// The arguments of one `coffer_certificate_verify_path` call.
struct Path<'a> {
    leaf: *const coffer_certificate,
    anchors: Vec<u8>,
    untrusted: Vec<u8>,
    crls: Vec<*const coffer_crl>,
    purpose: u32,
    name: Option<coffer_san>,
    now: u64,
    _pki: std::marker::PhantomData<&'a Pki>,
}

/// What a call gave: its status, `*chain_len` (`usize::MAX` if unwritten)
/// and the key written.
#[derive(Debug, PartialEq)]
struct Verified {
    status: coffer_status,
    chain_len: usize,
    spki: Option<Vec<u8>>,
}

impl Path<'_> {
    /// Calls without asking for the leaf's key.
    fn run(&self) -> (coffer_status, usize) {
        let mut chain_len = usize::MAX;
        let s = self.call(&mut chain_len, null_mut(), null_mut());
        (s, chain_len)
    }

    /// Calls with a key buffer of `cap` bytes (filled with 0xee): the
    /// status, `*chain_len`, and the buffer's first `*leaf_spki_len` bytes
    /// (all `cap` if that is more).
    fn run_with_key(&self, cap: usize) -> (Verified, usize) {
        let mut chain_len = usize::MAX;
        let mut buf = vec![0xee_u8; cap];
        let mut len = cap;
        let s = self.call(&mut chain_len, buf.as_mut_ptr(), &mut len);
        buf.truncate(len);
        (Verified { status: s, chain_len, spki: Some(buf) }, len)
    }

    fn call(&self, chain_len: *mut usize, spki: *mut u8, spki_len: *mut usize) -> coffer_status {
        let name = self.name.as_ref().map_or(null(), |n| n as *const coffer_san);
        let (crls, crls_len) =
            if self.crls.is_empty() { (null(), 0) } else { (self.crls.as_ptr(), self.crls.len()) };
        let (untrusted, untrusted_len) = if self.untrusted.is_empty() {
            (null(), 0)
        } else {
            (self.untrusted.as_ptr(), self.untrusted.len())
        };
        coffer_certificate_verify_path(
            self.leaf,
            self.anchors.as_ptr(),
            self.anchors.len(),
            untrusted,
            untrusted_len,
            crls,
            crls_len,
            self.purpose,
            name,
            self.now,
            chain_len,
            spki,
            spki_len,
        )
    }
}

// ---------------------------------------------------------------------------
// Path validation
// ---------------------------------------------------------------------------

#[test]
fn a_leaf_under_an_intermediate_verifies_to_the_root_and_gives_its_key() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER_AND_CLIENT);
    let mut path = pki.path();
    assert_eq!(path.run(), (COFFER_OK, 3));
    path.purpose = COFFER_PURPOSE_SERVER;
    path.name = Some(dns("AGENT-7.acme.test"));
    let (got, _) = path.run_with_key(COFFER_SPKI_MAX_LEN);
    assert_eq!(got, Verified { status: COFFER_OK, chain_len: 3, spki: Some(pki.leaf.spki()) });
    path.purpose = COFFER_PURPOSE_CLIENT;
    path.name = Some(san(coffer_san_kind::COFFER_SAN_IP, "10.0.0.7"));
    path.now = now() + 86_400;
    assert_eq!(path.run(), (COFFER_OK, 3));
    // Intermediates in a bundle with unrelated certificates, in any order.
    let mut bundle = pki.root.pem();
    bundle.extend_from_slice(b"# the issuing CA\n");
    bundle.extend_from_slice(&pki.issuing.pem());
    path.untrusted = bundle;
    assert_eq!(path.run(), (COFFER_OK, 3));
    // The issuing CA itself as the anchor: a path of two.
    path.anchors = pki.issuing.pem();
    path.untrusted = Vec::new();
    assert_eq!(path.run(), (COFFER_OK, 2));
}

#[test]
fn a_missing_intermediate_or_an_untrusted_root_gives_no_path() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    let mut path = pki.path();
    path.untrusted = Vec::new();
    assert_eq!(path.run(), (COFFER_ERR_NO_PATH, usize::MAX));
    let other_key = p256();
    let mut path = pki.path();
    path.anchors = root(&other_key, 365, 1).pem();
    assert_eq!(path.run(), (COFFER_ERR_NO_PATH, usize::MAX));
}

#[test]
fn a_name_the_leaf_does_not_carry_is_refused() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    let mut path = pki.path();
    for (name, expected) in [
        (dns("agent-8.acme.test"), COFFER_ERR_NAME_MISMATCH),
        (dns("10.0.0.7"), COFFER_ERR_NAME_MISMATCH),
        (san(coffer_san_kind::COFFER_SAN_IP, "10.0.0.8"), COFFER_ERR_NAME_MISMATCH),
        (san(coffer_san_kind::COFFER_SAN_IP, "agent-7.acme.test"), COFFER_ERR_INVALID_SAN),
        (san(coffer_san_kind::COFFER_SAN_URI, "https://agent-7.acme.test"), COFFER_ERR_INVALID_ARGUMENT),
        (coffer_san { kind: 99, value: b"x".as_ptr(), value_len: 1 }, COFFER_ERR_UNKNOWN_VALUE),
    ] {
        let what = format!("{name:?}");
        path.name = Some(name);
        assert_eq!(path.run(), (expected, usize::MAX), "{what}");
    }
}

#[test]
fn a_client_certificate_is_refused_for_a_server_and_an_unknown_purpose_is_an_unknown_value() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_CLIENT);
    let mut path = pki.path();
    path.purpose = COFFER_PURPOSE_SERVER;
    assert_eq!(path.run(), (COFFER_ERR_WRONG_PURPOSE, usize::MAX));
    path.purpose = COFFER_PURPOSE_CLIENT;
    assert_eq!(path.run(), (COFFER_OK, 3));
    path.purpose = 3;
    assert_eq!(path.run(), (COFFER_ERR_UNKNOWN_VALUE, usize::MAX));
}

#[test]
fn the_time_of_the_check_is_now_unless_given() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    let mut path = pki.path();
    path.now = YEAR_2100;
    assert_eq!(path.run(), (COFFER_ERR_CERT_EXPIRED, usize::MAX));
    path.now = YEAR_2001;
    assert_eq!(path.run(), (COFFER_ERR_CERT_NOT_YET_VALID, usize::MAX));
    path.now = 0;
    assert_eq!(path.run(), (COFFER_OK, 3));
}

#[test]
fn a_revoked_leaf_is_refused_and_a_list_without_it_lets_it_pass() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    let serial = pki.leaf.serial();
    let other = [0x01, 0x02, 0x03];
    let (s, revoking) = crl(&pki.issuing, &pki.issuing_key, 0, now() + 86_400, &[&other, &serial]);
    assert_eq!(s, COFFER_OK);
    let (s, clean) = crl(&pki.issuing, &pki.issuing_key, 0, now() + 86_400, &[&other]);
    assert_eq!(s, COFFER_OK);
    assert!(revoking.lists(&pki.leaf));
    assert!(!clean.lists(&pki.leaf));
    // A serial with a leading zero byte is the same number.
    let mut padded = vec![0];
    padded.extend_from_slice(&serial);
    let (s, padded_list) = crl(&pki.issuing, &pki.issuing_key, 0, now() + 86_400, &[&padded]);
    assert_eq!(s, COFFER_OK);
    assert!(padded_list.lists(&pki.leaf));

    let mut path = pki.path();
    path.crls = vec![clean.0];
    assert_eq!(path.run(), (COFFER_OK, 3));
    path.crls = vec![clean.0, revoking.0];
    assert_eq!(path.run(), (COFFER_ERR_REVOKED, usize::MAX));
    // A list of another issuer (the root's, naming the same serial) does
    // not revoke the leaf.
    let (s, roots) = crl(&pki.root, &pki.root_key, 0, now() + 86_400, &[&serial]);
    assert_eq!(s, COFFER_OK);
    path.crls = vec![roots.0];
    assert_eq!(path.run(), (COFFER_OK, 3));
}

#[test]
fn a_revocation_list_out_of_date_is_refused() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    let t = now();
    let (s, current) = crl(&pki.issuing, &pki.issuing_key, 0, t + 600, &[]);
    assert_eq!(s, COFFER_OK);
    let mut path = pki.path();
    path.crls = vec![current.0];
    assert_eq!(path.run(), (COFFER_OK, 3));
    path.now = t + 3_600;
    assert_eq!(path.run(), (COFFER_ERR_CRL_OUT_OF_DATE, usize::MAX));
    let (s, future) = crl(&pki.issuing, &pki.issuing_key, t + 3_600, t + 7_200, &[]);
    assert_eq!(s, COFFER_OK);
    path.crls = vec![future.0];
    path.now = 0;
    assert_eq!(path.run(), (COFFER_ERR_CRL_OUT_OF_DATE, usize::MAX));
}

#[test]
fn a_short_key_buffer_reports_the_size_needed_and_verifies_nothing_then_the_right_size_succeeds() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    let mut path = pki.path();
    let (got, len) = path.run_with_key(10);
    assert_eq!((got.status, got.chain_len, len), (COFFER_ERR_BUFFER_TOO_SMALL, usize::MAX, P256_SPKI_LEN));
    assert_eq!(got.spki, Some(vec![0xee; 10]), "bytes written into a short buffer");
    // Too small is reported before the path is checked.
    path.untrusted = Vec::new();
    let (got, len) = path.run_with_key(10);
    assert_eq!((got.status, len), (COFFER_ERR_BUFFER_TOO_SMALL, P256_SPKI_LEN));
    path.untrusted = pki.issuing.pem();
    // The size alone: NULL with 0.
    let (mut chain_len, mut len) = (usize::MAX, 0);
    assert_eq!(path.call(&mut chain_len, null_mut(), &mut len), COFFER_ERR_BUFFER_TOO_SMALL);
    assert_eq!((chain_len, len), (usize::MAX, P256_SPKI_LEN));
    let (got, len) = path.run_with_key(P256_SPKI_LEN);
    assert_eq!(len, P256_SPKI_LEN);
    assert_eq!(got, Verified { status: COFFER_OK, chain_len: 3, spki: Some(pki.leaf.spki()) });
    assert_eq!(pki.agent_key_spki(), pki.leaf.spki());
}

impl Pki {
    fn agent_key_spki(&self) -> Vec<u8> {
        let mut spki = Bytes::new();
        assert_eq!(coffer_keypair_public_key_der(self.agent_key.0, spki.out()), COFFER_OK);
        spki.to_vec()
    }
}

#[test]
fn the_largest_key_coffer_returns_fills_coffer_spki_max_len() {
    let mut kp = null_mut();
    assert_eq!(
        coffer_keypair_from_pkcs8_der(RSA4096_PKCS8.as_ptr(), RSA4096_PKCS8.len(), &mut kp),
        COFFER_OK
    );
    let kp = Key(kp);
    let mut spki = Bytes::new();
    assert_eq!(coffer_keypair_public_key_der(kp.0, spki.out()), COFFER_OK);
    assert_eq!(spki.to_vec().len(), COFFER_SPKI_MAX_LEN);
}

#[test]
fn null_pointers_with_lengths_are_refused_and_nothing_is_written() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    let path = pki.path();
    let (anchors, untrusted) = (path.anchors.clone(), path.untrusted.clone());
    let mut chain_len = usize::MAX;
    let mut spki = [0u8; 8];
    let mut cap = 8usize;
    let call =
        |leaf, a: *const u8, a_len, u: *const u8, u_len, crls, crls_len, chain: *mut usize, k, k_len| {
            coffer_certificate_verify_path(
                leaf,
                a,
                a_len,
                u,
                u_len,
                crls,
                crls_len,
                0,
                null(),
                0,
                chain,
                k,
                k_len,
            )
        };
    let (a, al, u, ul) = (anchors.as_ptr(), anchors.len(), untrusted.as_ptr(), untrusted.len());
    let leaf = pki.leaf.0.cast_const();
    let no_list: *const coffer_crl = null();
    let cases: [(&str, coffer_status); 8] = [
        ("leaf", call(null(), a, al, u, ul, null(), 0, &mut chain_len, null_mut(), null_mut())),
        ("anchors", call(leaf, null(), 5, u, ul, null(), 0, &mut chain_len, null_mut(), null_mut())),
        ("untrusted", call(leaf, a, al, null(), 5, null(), 0, &mut chain_len, null_mut(), null_mut())),
        ("crls", call(leaf, a, al, u, ul, null(), 1, &mut chain_len, null_mut(), null_mut())),
        ("a NULL crl", call(leaf, a, al, u, ul, &no_list, 1, &mut chain_len, null_mut(), null_mut())),
        ("chain_len", call(leaf, a, al, u, ul, null(), 0, null_mut(), null_mut(), null_mut())),
        (
            "key, no length",
            call(leaf, a, al, u, ul, null(), 0, &mut chain_len, spki.as_mut_ptr(), null_mut()),
        ),
        ("length, no key", call(leaf, a, al, u, ul, null(), 0, &mut chain_len, null_mut(), &mut cap)),
    ];
    for (what, status) in cases {
        assert_eq!(status, COFFER_ERR_NULL_POINTER, "{what}");
    }
    assert_eq!((chain_len, spki, cap), (usize::MAX, [0; 8], 8));

    let mut out = null_mut();
    let one = coffer_revocation { serial: null(), serial_len: 2, revoked_at: 0 };
    let key = pki.issuing_key.0;
    for (what, status) in [
        ("revoked", coffer_crl_issue(pki.issuing.0, key, 1, 0, YEAR_2100, null(), 1, &mut out)),
        ("serial", coffer_crl_issue(pki.issuing.0, key, 1, 0, YEAR_2100, &one, 1, &mut out)),
        ("ca", coffer_crl_issue(null(), key, 1, 0, YEAR_2100, null(), 0, &mut out)),
        ("ca_key", coffer_crl_issue(pki.issuing.0, null(), 1, 0, YEAR_2100, null(), 0, &mut out)),
        ("crl", coffer_crl_issue(pki.issuing.0, key, 1, 0, YEAR_2100, null(), 0, null_mut())),
        ("der", coffer_crl_from_der(null(), 3, &mut out)),
        ("pem", coffer_crl_from_pem(null(), 3, &mut out)),
    ] {
        assert_eq!(status, COFFER_ERR_NULL_POINTER, "{what}");
    }
    assert!(out.is_null());
    let (s, list) = crl(&pki.issuing, &pki.issuing_key, 0, YEAR_2100, &[]);
    assert_eq!(s, COFFER_OK);
    let mut listed = true;
    assert_eq!(coffer_crl_lists(list.0, pki.leaf.0, null_mut()), COFFER_ERR_NULL_POINTER);
    assert_eq!(coffer_crl_lists(null(), pki.leaf.0, &mut listed), COFFER_ERR_NULL_POINTER);
    assert_eq!(coffer_crl_lists(list.0, null(), &mut listed), COFFER_ERR_NULL_POINTER);
    assert!(listed, "written on failure");
    assert_eq!(coffer_crl_verify_signature(null(), pki.issuing.0), COFFER_ERR_NULL_POINTER);
    assert_eq!(coffer_crl_verify_signature(list.0, null()), COFFER_ERR_NULL_POINTER);
    assert_eq!(coffer_crl_to_der(list.0, null_mut()), COFFER_ERR_NULL_POINTER);
    assert_eq!(coffer_crl_to_pem(null(), Bytes::new().out()), COFFER_ERR_NULL_POINTER);
    let csr = request(&pki.agent_key, "CN=x", &[]);
    let mut cert = null_mut();
    for (what, status) in [
        ("ca", coffer_certificate_issue_intermediate(null(), key, csr.0, 30, -1, &mut cert)),
        ("ca_key", coffer_certificate_issue_intermediate(pki.issuing.0, null(), csr.0, 30, -1, &mut cert)),
        ("csr", coffer_certificate_issue_intermediate(pki.issuing.0, key, null(), 30, -1, &mut cert)),
        ("out", coffer_certificate_issue_intermediate(pki.issuing.0, key, csr.0, 30, -1, null_mut())),
        ("serial", coffer_certificate_serial(pki.leaf.0, null_mut())),
        ("serial of", coffer_certificate_serial(null(), Bytes::new().out())),
    ] {
        assert_eq!(status, COFFER_ERR_NULL_POINTER, "{what}");
    }
    assert!(cert.is_null());
    coffer_crl_free(null_mut());
}

#[test]
fn limits_on_anchors_intermediates_lists_and_revocations_are_enforced() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    let mut path = pki.path();
    path.anchors = pki.root.pem().repeat(COFFER_PATH_MAX_CANDIDATES + 1);
    assert_eq!(path.run(), (COFFER_ERR_LIMIT_EXCEEDED, usize::MAX));
    path.anchors = pki.root.pem().repeat(COFFER_PATH_MAX_CANDIDATES);
    assert_eq!(path.run(), (COFFER_OK, 3));
    path.untrusted = pki.issuing.pem().repeat(COFFER_PATH_MAX_CANDIDATES + 1);
    assert_eq!(path.run(), (COFFER_ERR_LIMIT_EXCEEDED, usize::MAX));
    path.untrusted = pki.issuing.pem();
    let (s, list) = crl(&pki.issuing, &pki.issuing_key, 0, YEAR_2100, &[]);
    assert_eq!(s, COFFER_OK);
    path.crls = vec![list.0.cast_const(); COFFER_PATH_MAX_CANDIDATES + 1];
    assert_eq!(path.run(), (COFFER_ERR_LIMIT_EXCEEDED, usize::MAX));
    path.crls = vec![list.0.cast_const(); COFFER_PATH_MAX_CANDIDATES];
    assert_eq!(path.run(), (COFFER_OK, 3));

    let serial = [0x42];
    let too_many: Vec<&[u8]> = vec![&serial; COFFER_CRL_MAX_ENTRIES + 1];
    let (s, _) = crl(&pki.issuing, &pki.issuing_key, 0, YEAR_2100, &too_many);
    assert_eq!(s, COFFER_ERR_LIMIT_EXCEEDED);
    let (s, full) = crl(&pki.issuing, &pki.issuing_key, 0, YEAR_2100, &too_many[1..]);
    assert_eq!(s, COFFER_OK);
    assert_eq!(full.parsed().revoked().len(), COFFER_CRL_MAX_ENTRIES);
}

#[test]
fn bundles_that_hold_no_certificate_are_malformed() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    let mut path = pki.path();
    path.anchors = Vec::new();
    assert_eq!(path.run(), (COFFER_ERR_MALFORMED, usize::MAX));
    path.anchors = b"no certificate here".to_vec();
    assert_eq!(path.run(), (COFFER_ERR_MALFORMED, usize::MAX));
    path.anchors = pki.root.pem();
    path.untrusted = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec();
    assert_eq!(path.run(), (COFFER_ERR_MALFORMED, usize::MAX));
    path.untrusted = vec![0xff, 0xfe];
    assert_eq!(path.run(), (COFFER_ERR_NOT_UTF8, usize::MAX));
}

// ---------------------------------------------------------------------------
// Intermediate CAs
// ---------------------------------------------------------------------------

#[test]
fn an_intermediate_gets_one_less_path_length_by_default_and_none_is_issued_below_path_length_zero() {
    let root_key = p256();
    let root = root(&root_key, 365, 2);
    let key = p256();
    let csr = request(&key, "CN=Issuing CA", &[]);
    let (s, default) = intermediate(&root, &root_key, &csr, 30, -1);
    assert_eq!(s, COFFER_OK);
    assert_eq!(default.parsed().ca_path_len(), Some(Some(1)));
    assert_eq!(default.parsed().subject(), "CN=Issuing CA");
    let (s, zero) = intermediate(&root, &root_key, &csr, 30, 0);
    assert_eq!(s, COFFER_OK);
    assert_eq!(zero.parsed().ca_path_len(), Some(Some(0)));
    assert_eq!(intermediate(&root, &root_key, &csr, 30, 2).0, COFFER_ERR_PATH_TOO_LONG);
    let below = request(&p256(), "CN=Below", &[]);
    assert_eq!(intermediate(&zero, &key, &below, 30, -1).0, COFFER_ERR_PATH_TOO_LONG);
    let (s, under_default) = intermediate(&default, &key, &below, 30, -1);
    assert_eq!(s, COFFER_OK);
    assert_eq!(under_default.parsed().ca_path_len(), Some(Some(0)));
}

#[test]
fn intermediate_arguments_that_cannot_be_used_are_refused() {
    let root_key = p256();
    let root = root(&root_key, 365, -1);
    let csr = request(&p256(), "CN=Issuing CA", &[]);
    for (days, path_len, expected) in [
        (30, 256, COFFER_ERR_INVALID_ARGUMENT),
        (30, -2, COFFER_ERR_INVALID_ARGUMENT),
        (0, -1, COFFER_ERR_INVALID_VALIDITY),
        (400, -1, COFFER_ERR_OUTLIVES_ISSUER),
    ] {
        assert_eq!(intermediate(&root, &root_key, &csr, days, path_len).0, expected, "{days} {path_len}");
    }
    assert_eq!(intermediate(&root, &p256(), &csr, 30, -1).0, COFFER_ERR_KEY_MISMATCH);
    // Under an unlimited root, the default is unlimited.
    let (s, unlimited) = intermediate(&root, &root_key, &csr, 30, -1);
    assert_eq!(s, COFFER_OK);
    assert_eq!(unlimited.parsed().ca_path_len(), Some(None));
    // A leaf is no issuer.
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    assert_eq!(intermediate(&pki.leaf, &pki.agent_key, &csr, 30, -1).0, COFFER_ERR_NOT_A_CA);
}

// ---------------------------------------------------------------------------
// Revocation lists
// ---------------------------------------------------------------------------

#[test]
fn a_crl_says_what_it_was_given_and_survives_der_and_pem() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    let serial = pki.leaf.serial();
    let before = now();
    let (s, list) = crl(&pki.issuing, &pki.issuing_key, 0, YEAR_2100, &[&serial]);
    assert_eq!(s, COFFER_OK);
    let parsed = list.parsed();
    assert!((before..=now()).contains(&parsed.this_update()), "thisUpdate 0 is not now");
    assert_eq!(parsed.next_update(), Some(YEAR_2100));
    assert_eq!(parsed.number(), Some(vec![7]));
    assert_eq!(parsed.issuer(), pki.issuing.parsed().subject());
    assert_eq!(parsed.revoked(), vec![(serial.clone(), 1_700_000_000)]);
    let (s, dated) = crl(&pki.issuing, &pki.issuing_key, 1_800_000_000, YEAR_2100, &[]);
    assert_eq!(s, COFFER_OK);
    assert_eq!(dated.parsed().this_update(), 1_800_000_000);

    let (mut der, mut pem) = (Bytes::new(), Bytes::new());
    assert_eq!(coffer_crl_to_der(list.0, der.out()), COFFER_OK);
    assert_eq!(coffer_crl_to_pem(list.0, pem.out()), COFFER_OK);
    let (der, pem) = (der.to_vec(), pem.to_vec());
    assert!(pem.starts_with(b"-----BEGIN X509 CRL-----\n"), "{}", String::from_utf8_lossy(&pem));
    let (mut from_der, mut from_pem) = (null_mut(), null_mut());
    assert_eq!(coffer_crl_from_der(der.as_ptr(), der.len(), &mut from_der), COFFER_OK);
    assert_eq!(coffer_crl_from_pem(pem.as_ptr(), pem.len(), &mut from_pem), COFFER_OK);
    let (from_der, from_pem) = (List(from_der), List(from_pem));
    assert_eq!(from_der.parsed(), parsed);
    assert_eq!(from_pem.parsed(), parsed);
    assert!(from_pem.lists(&pki.leaf));
    assert_eq!(coffer_crl_verify_signature(from_der.0, pki.issuing.0), COFFER_OK);
}

#[test]
fn only_the_issuer_verifies_a_crl_and_changed_or_foreign_bytes_are_refused() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    let (s, list) = crl(&pki.issuing, &pki.issuing_key, 0, YEAR_2100, &[&[0x42]]);
    assert_eq!(s, COFFER_OK);
    assert_eq!(coffer_crl_verify_signature(list.0, pki.issuing.0), COFFER_OK);
    assert_eq!(coffer_crl_verify_signature(list.0, pki.root.0), COFFER_ERR_ISSUER_MISMATCH);
    assert_eq!(coffer_crl_verify_signature(list.0, pki.leaf.0), COFFER_ERR_ISSUER_MISMATCH);
    // The same name, another key.
    let impostor_key = p256();
    let impostor_csr = request(&impostor_key, "CN=Issuing CA,O=Acme", &[]);
    let (s, impostor) = intermediate(&pki.root, &pki.root_key, &impostor_csr, 30, -1);
    assert_eq!(s, COFFER_OK);
    assert_eq!(coffer_crl_verify_signature(list.0, impostor.0), COFFER_ERR_VERIFY);
    // A changed byte in the revoked serial.
    let mut der = list.parsed().to_der().to_vec();
    let at = der.windows(3).position(|w| w == [0x02, 0x01, 0x42]).unwrap();
    der[at + 2] = 0x43;
    let mut changed = null_mut();
    assert_eq!(coffer_crl_from_der(der.as_ptr(), der.len(), &mut changed), COFFER_OK);
    let changed = List(changed);
    assert_eq!(coffer_crl_verify_signature(changed.0, pki.issuing.0), COFFER_ERR_VERIFY);
    // Bytes that are no CRL.
    let cert_pem = pki.root.pem();
    let mut out = null_mut();
    assert_eq!(coffer_crl_from_pem(cert_pem.as_ptr(), cert_pem.len(), &mut out), COFFER_ERR_MALFORMED);
    assert_eq!(coffer_crl_from_der(b"\x30\x03abc".as_ptr(), 5, &mut out), COFFER_ERR_MALFORMED);
    let huge = vec![0x30; 256 * 1024 + 1];
    assert_eq!(coffer_crl_from_der(huge.as_ptr(), huge.len(), &mut out), COFFER_ERR_INVALID_LENGTH);
    assert!(out.is_null());
}

#[test]
fn crl_arguments_that_cannot_be_used_are_refused() {
    let pki = Pki::new(coffer_leaf_usage::COFFER_LEAF_SERVER);
    let (ca, key) = (&pki.issuing, &pki.issuing_key);
    let t = now();
    assert_eq!(crl(ca, key, t, t, &[]).0, COFFER_ERR_INVALID_VALIDITY);
    assert_eq!(crl(ca, key, t + 10, t, &[]).0, COFFER_ERR_INVALID_VALIDITY);
    assert_eq!(crl(ca, key, 0, 1, &[]).0, COFFER_ERR_INVALID_VALIDITY);
    assert_eq!(crl(ca, key, 0, YEAR_2100, &[&[]]).0, COFFER_ERR_INVALID_ARGUMENT);
    assert_eq!(crl(ca, key, 0, YEAR_2100, &[&[0, 0]]).0, COFFER_ERR_INVALID_ARGUMENT);
    assert_eq!(crl(ca, key, 0, YEAR_2100, &[&[0x11; 21]]).0, COFFER_ERR_INVALID_ARGUMENT);
    assert_eq!(crl(ca, key, 0, YEAR_2100, &[&[0x11; 20]]).0, COFFER_OK);
    assert_eq!(crl(ca, &pki.root_key, 0, YEAR_2100, &[]).0, COFFER_ERR_KEY_MISMATCH);
    assert_eq!(crl(&pki.leaf, &pki.agent_key, 0, YEAR_2100, &[]).0, COFFER_ERR_NOT_A_CA);
}
