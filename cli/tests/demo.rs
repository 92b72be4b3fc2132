//! `coffer demo` end to end: every step of the seed scenarios succeeds and
//! the command exits 0.
#![allow(clippy::panic)]

use std::process::Command;

#[test]
fn coffer_demo_plays_every_scenario_step_successfully() {
    let out = Command::new(env!("CARGO_BIN_EXE_coffer")).arg("demo").output();
    let out = match out {
        Ok(o) => o,
        Err(e) => panic!("could not run the coffer binary: {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "coffer demo failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("22 steps: 22 passed, 0 failed"), "unexpected summary:\n{stdout}");
    assert!(!stdout.contains("| FAIL |"), "a step failed:\n{stdout}");
}
