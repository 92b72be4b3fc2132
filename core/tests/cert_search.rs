//! `cert::verify_path`'s search at its documented edges: exactly
//! `MAX_CANDIDATES` intermediates and anchors are taken and one more of
//! either is `LimitExceeded`; a search that runs out of steps before any
//! candidate reaches an anchor is `LimitExceeded`, not
//! `NoPathToTrustAnchor`; and when every candidate fails, the error is the
//! one of the longest candidate that reached an anchor (the first tried of
//! equally long ones). Written for mutants of `core/src/cert/path.rs` that
//! no test held (`fuzz/CAMPAIGNS.md`).
// miri: every test makes P-256 keys and signs certificates (an ECDSA signature takes 1.5 min under miri).
#![cfg(not(miri))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cloned_ref_to_slice_refs,
    missing_docs
)]

use coffer_core::Error;
use coffer_core::cert::{
    self, CaParams, Certificate, CrlParams, IntermediateParams, KeyAlgorithm, KeyPair, LeafParams, LeafUsage,
    MAX_CANDIDATES, PathOptions, Revocation, San, Validity,
};
use coffer_core::rng::OsRng;

fn p256() -> KeyPair {
    KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).unwrap()
}

/// One window for every certificate of a test run: computed once, so that
/// a certificate issued a second later never outlives its issuer.
fn validity() -> Validity {
    static VALIDITY: std::sync::OnceLock<Validity> = std::sync::OnceLock::new();
    *VALIDITY.get_or_init(|| Validity::days_from_now(30).unwrap())
}

fn root(key: &KeyPair, subject: &str, validity: Validity) -> Certificate {
    cert::self_signed_ca(&mut OsRng, key, &CaParams { subject, validity, path_len: None }).unwrap()
}

/// A CA certificate for `key` named `subject`, issued by `issuer`.
fn intermediate(issuer: &Certificate, issuer_key: &KeyPair, key: &KeyPair, subject: &str) -> Certificate {
    let request = cert::csr(&mut OsRng, key, subject, &[]).unwrap();
    let params = IntermediateParams { validity: validity(), path_len: None };
    cert::issue_intermediate(&mut OsRng, issuer, issuer_key, issuer_key.default_scheme(), &request, &params)
        .unwrap()
}

fn leaf(issuer: &Certificate, issuer_key: &KeyPair) -> Certificate {
    let names = [San::Dns("agent.search.test".into())];
    let params = LeafParams { validity: validity(), usage: LeafUsage::Server, sans: &names, key_usage: None };
    let key = p256();
    cert::issue_leaf(
        &mut OsRng,
        issuer,
        issuer_key,
        issuer_key.default_scheme(),
        "CN=agent",
        &key.public_key(),
        &params,
    )
    .unwrap()
}

fn opts(crls: &[cert::Crl]) -> PathOptions<'_> {
    PathOptions { now: validity().not_before + 60, purpose: None, name: None, crls }
}

#[test]
fn exactly_max_candidates_intermediates_and_anchors_are_taken_and_one_more_is_refused() {
    let root_key = p256();
    let anchor = root(&root_key, "CN=Root", validity());
    let leaf = leaf(&anchor, &root_key);
    // Unrelated certificates as the untrusted intermediates, copies of the
    // anchor as the anchors: the direct path validates at once.
    let other_key = p256();
    let other = root(&other_key, "CN=Unrelated", validity());
    let many = vec![other; MAX_CANDIDATES + 1];
    let anchors = vec![anchor; MAX_CANDIDATES + 1];
    let one = &anchors[..1];
    assert_eq!(cert::verify_path(&leaf, &many[..MAX_CANDIDATES], one, &opts(&[])).unwrap().chain().len(), 2);
    assert_eq!(
        cert::verify_path(&leaf, &[], &anchors[..MAX_CANDIDATES], &opts(&[])).unwrap().chain().len(),
        2
    );
    assert_eq!(cert::verify_path(&leaf, &many, one, &opts(&[])).unwrap_err(), Error::LimitExceeded);
    assert_eq!(cert::verify_path(&leaf, &[], &anchors, &opts(&[])).unwrap_err(), Error::LimitExceeded);
}

#[test]
fn a_search_that_runs_out_before_reaching_any_anchor_is_limit_exceeded() {
    // Four layers of 16 intermediates: "CN=L1" (all for one key) issued by
    // "CN=L2", and so on up to "CN=L5", which no anchor is. Every order is a
    // candidate prefix (16 + 16^2 + 16^3 + ... nodes, far past
    // MAX_SEARCH_STEPS) and none is longer than five certificates, so the
    // search stops on its budget without a candidate error.
    let keys: Vec<KeyPair> = (0..=5).map(|_| p256()).collect();
    let names = ["", "CN=L1", "CN=L2", "CN=L3", "CN=L4", "CN=L5"];
    let tops: Vec<Certificate> = (1..=5).map(|i| root(&keys[i], names[i], validity())).collect();
    let mut intermediates = Vec::new();
    for layer in 1..=4 {
        for _ in 0..16 {
            intermediates.push(intermediate(&tops[layer], &keys[layer + 1], &keys[layer], names[layer]));
        }
    }
    assert_eq!(intermediates.len(), MAX_CANDIDATES);
    let leaf = leaf(&tops[0], &keys[1]);
    let elsewhere = root(&keys[0], "CN=Elsewhere", validity());
    let started = std::time::Instant::now();
    let err = cert::verify_path(&leaf, &intermediates, &[elsewhere], &opts(&[])).unwrap_err();
    assert_eq!(err, Error::LimitExceeded);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
}

#[test]
fn when_every_candidate_fails_the_longest_ones_error_is_reported() {
    // Two candidates for the leaf: the anchor "CN=CA" (the issuing key, but
    // not valid until next year: a path of 2 that fails with
    // CertificateNotYetValid), and the intermediate "CN=CA" under the root,
    // which the root's CRL revokes (a path of 3 that fails with Revoked).
    let root_key = p256();
    let anchor = root(&root_key, "CN=Root", validity());
    let ca_key = p256();
    let ca = intermediate(&anchor, &root_key, &ca_key, "CN=CA");
    let leaf = leaf(&ca, &ca_key);
    let now = validity().not_before;
    let later = Validity { not_before: now + 365 * 86_400, not_after: now + 400 * 86_400 };
    let not_yet = root(&ca_key, "CN=CA", later);
    let revoked = [Revocation { serial: ca.serial(), revoked_at: now }];
    let params = CrlParams { number: 1, this_update: now, next_update: now + 86_400, revoked: &revoked };
    let crl = cert::issue_crl(&mut OsRng, &anchor, &root_key, root_key.default_scheme(), &params).unwrap();
    let crls = [crl];
    // Each candidate alone fails with its own error.
    let short = cert::verify_path(&leaf, &[], &[not_yet.clone()], &opts(&crls)).unwrap_err();
    assert_eq!(short, Error::CertificateNotYetValid);
    let long = cert::verify_path(&leaf, &[ca.clone()], &[anchor.clone()], &opts(&crls)).unwrap_err();
    assert_eq!(long, Error::Revoked);
    // Together, in either order of the anchors, the longer one's error.
    for anchors in [[not_yet.clone(), anchor.clone()], [anchor, not_yet]] {
        assert_eq!(
            cert::verify_path(&leaf, &[ca.clone()], &anchors, &opts(&crls)).unwrap_err(),
            Error::Revoked
        );
    }
}

#[test]
fn of_candidates_equally_long_the_first_tried_gives_the_error() {
    // Two anchors named "CN=CA" for the issuing key: one valid only from
    // next year, one that expired last year. Both are paths of 2.
    let ca_key = p256();
    let ca = root(&ca_key, "CN=CA", validity());
    let leaf = leaf(&ca, &ca_key);
    let now = validity().not_before;
    let later =
        root(&ca_key, "CN=CA", Validity { not_before: now + 365 * 86_400, not_after: now + 400 * 86_400 });
    let earlier =
        root(&ca_key, "CN=CA", Validity { not_before: now - 400 * 86_400, not_after: now - 365 * 86_400 });
    let first_later = [later.clone(), earlier.clone()];
    assert_eq!(
        cert::verify_path(&leaf, &[], &first_later, &opts(&[])).unwrap_err(),
        Error::CertificateNotYetValid
    );
    let first_earlier = [earlier, later];
    assert_eq!(
        cert::verify_path(&leaf, &[], &first_earlier, &opts(&[])).unwrap_err(),
        Error::CertificateExpired
    );
}

#[test]
fn a_same_named_anchor_with_another_key_id_is_not_a_candidate() {
    // The leaf's authority key id names its CA's key; an anchor of the same
    // name whose subject key id differs is not tried at all (so the answer
    // is that no path reaches an anchor, not a failed signature).
    let ca_key = p256();
    let ca = root(&ca_key, "CN=CA", validity());
    let leaf = leaf(&ca, &ca_key);
    let impostor = root(&p256(), "CN=CA", validity());
    let err = cert::verify_path(&leaf, &[], std::slice::from_ref(&impostor), &opts(&[])).unwrap_err();
    assert_eq!(err, Error::NoPathToTrustAnchor);
    assert_eq!(cert::verify_path(&leaf, &[], &[impostor, ca], &opts(&[])).unwrap().chain().len(), 2);
}

#[test]
fn a_crl_is_current_from_this_update_to_next_update_inclusive() {
    let root_key = p256();
    let anchor = root(&root_key, "CN=Root", validity());
    let leaf = leaf(&anchor, &root_key);
    let from = validity().not_before + 3_600;
    let until = from + 86_400;
    let revoked = [Revocation { serial: leaf.serial(), revoked_at: from }];
    let params = CrlParams { number: 1, this_update: from, next_update: until, revoked: &revoked };
    let crls = [cert::issue_crl(&mut OsRng, &anchor, &root_key, root_key.default_scheme(), &params).unwrap()];
    let at = |now| {
        let opts = PathOptions { now, purpose: None, name: None, crls: &crls };
        cert::verify_path(&leaf, &[], std::slice::from_ref(&anchor), &opts).unwrap_err()
    };
    assert_eq!(at(from - 1), Error::CrlOutOfDate);
    assert_eq!(at(from), Error::Revoked);
    assert_eq!(at(until), Error::Revoked);
    assert_eq!(at(until + 1), Error::CrlOutOfDate);
}
