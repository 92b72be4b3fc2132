//! Path validation (`cert::verify_path`) and CRL checks on certificates and
//! lists from the input. Never panics, and:
//! - a path it returns starts at the leaf, ends at one of the anchors, goes
//!   through given intermediates only, is at most `MAX_CHAIN_LEN` long, and
//!   validates again when given exactly its own certificates, and without
//!   the CRLs (revocation lists only take paths away);
//! - a refusal is one of the errors the module documents (or, for a
//!   certificate whose key coffer cannot use, `InvalidKey`/`KeyPolicy`/
//!   `MalformedCertificate`, which it does not yet document);
//! - `Crl::verify_signature` refuses a CA whose name the list does not
//!   claim with `IssuerMismatch`, and otherwise fails only as documented.
//!
//! Input: one options byte (purpose, expected name, which `now`), then up to
//! eight chunks `role (1) || len (2, big-endian) || DER`; the first chunk is
//! the leaf, later ones are an intermediate (role % 3 == 0), an anchor (1)
//! or a CRL (2). The seeds are real chains (fuzz/README.md).
#![no_main]

use coffer_core::Error;
use coffer_core::cert::{self, Certificate, Crl, ExpectedName, PathOptions, Purpose};
use libfuzzer_sys::fuzz_target;

/// Inside the validity of every seed certificate (fuzz/README.md).
const NOW: u64 = 1_790_000_000;
/// The leaf, then at most seven more: enough for the depth-4 seed chains and
/// their CRLs, while keeping the path search (which tries every order of
/// same-named intermediates) short.
const MAX_CHUNKS: usize = 8;

fuzz_target!(|data: &[u8]| {
    let Some((&options, mut rest)) = data.split_first() else { return };
    let mut leaf = None;
    let (mut intermediates, mut anchors, mut crls) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..MAX_CHUNKS {
        let Some((&[role, hi, lo], tail)) = rest.split_first_chunk::<3>() else { break };
        let Some((der, tail)) = tail.split_at_checked(usize::from(u16::from_be_bytes([hi, lo]))) else {
            break;
        };
        rest = tail;
        match (leaf.is_none(), role % 3) {
            (true, _) => leaf = Some(Certificate::from_der(der)),
            (false, 0) => intermediates.extend(Certificate::from_der(der).ok()),
            (false, 1) => anchors.extend(Certificate::from_der(der).ok()),
            (false, _) => crls.extend(Crl::from_der(der).ok()),
        }
    }
    let Some(Ok(leaf)) = leaf else { return };

    let purpose =
        [None, Some(Purpose::ServerAuth), Some(Purpose::ClientAuth), None][usize::from(options & 3)];
    let name = match (options >> 2) & 3 {
        1 => Some(ExpectedName::Dns("agent-7.fleet.test")),
        2 => Some(ExpectedName::Ip([10, 0, 0, 7].into())),
        _ => None,
    };
    let now = [NOW, 1_600_000_000, 2_100_000_000, u64::MAX][usize::from((options >> 4) & 3)];
    let opts = PathOptions { now, purpose, name, crls: &crls };

    match cert::verify_path(&leaf, &intermediates, &anchors, &opts) {
        Ok(path) => {
            let chain = path.chain();
            assert!((2..=cert::MAX_CHAIN_LEN).contains(&chain.len()), "leaf and anchor at least");
            assert_eq!(chain.first(), Some(&leaf), "a path starts at the leaf");
            let (anchor, middle) = chain.split_last().expect("non-empty");
            assert!(anchors.contains(anchor), "a path ends at a given anchor");
            let middle = middle.get(1..).unwrap_or_default();
            assert!(middle.iter().all(|c| intermediates.contains(c)), "only given intermediates");
            assert_eq!(path.leaf_key(), leaf.public_key());
            let alone = cert::verify_path(&leaf, middle, core::slice::from_ref(anchor), &opts);
            assert!(alone.is_ok(), "the path validates on its own certificates: {:?}", alone.err());
            let no_crls = PathOptions { crls: &[], ..opts };
            assert!(cert::verify_path(&leaf, &intermediates, &anchors, &no_crls).is_ok(), "CRLs only refuse");
        }
        Err(e) => assert!(documented_path_error(e) || unusable_key(e), "undocumented path error {e:?}"),
    }

    for crl in &crls {
        let _ = crl.lists(&leaf);
        assert!(matches!(crl.check_critical_extensions(), Ok(()) | Err(Error::UnknownCriticalExtension)));
        for ca in anchors.iter().chain(&intermediates) {
            let claims = crl.claims_issuer(ca);
            match crl.verify_signature(ca) {
                Ok(()) => {
                    assert!(crl.issuer() == ca.subject(), "a list verifies only under its named issuer")
                }
                Err(Error::IssuerMismatch) => assert!(!claims, "a claimed issuer has the list's name"),
                Err(e) => assert!(
                    matches!(e, Error::NotACa | Error::Verify | Error::UnsupportedAlgorithm(_))
                        || unusable_key(e),
                    "undocumented CRL signature error {e:?}"
                ),
            }
        }
    }
    for anchor in &anchors {
        let _ = cert::verify_chain(&leaf, anchor, now);
    }
});

/// An issuer whose public key coffer cannot use (a point off the curve, an
/// RSA key outside the policy) or an extension that does not decode. Neither
/// `verify_path` nor `Crl::verify_signature` documents these errors
/// (fuzz/regressions/cert_path/intermediate-with-unusable-key-gives-undocumented-invalid-key);
/// they are accepted here, and nothing else.
fn unusable_key(e: Error) -> bool {
    matches!(e, Error::InvalidKey | Error::KeyPolicy | Error::MalformedCertificate)
}

/// The refusals `verify_path`'s documentation names.
fn documented_path_error(e: Error) -> bool {
    matches!(
        e,
        Error::LimitExceeded
            | Error::NoPathToTrustAnchor
            | Error::UnsupportedAlgorithm(_)
            | Error::Verify
            | Error::CertificateExpired
            | Error::CertificateNotYetValid
            | Error::UnknownCriticalExtension
            | Error::NotACa
            | Error::PathTooLong
            | Error::WrongPurpose
            | Error::NameMismatch
            | Error::Revoked
            | Error::CrlOutOfDate
    )
}
