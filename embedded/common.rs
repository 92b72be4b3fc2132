//! What every firmware here shares (each includes it as `mod common`):
//! check results, hex log lines, the DRBG, the exit through semihosting and
//! the panic handler.
#![allow(dead_code, reason = "each firmware uses a part of it")]

use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use defmt_semihosting as _; // the global defmt logger
use rand_core::SeedableRng;

/// A failed check: what it was.
pub struct Failed(pub &'static str);

/// `Ok` if `ok`, else the failed check `what`.
pub fn check(ok: bool, what: &'static str) -> Result<(), Failed> {
    if ok { Ok(()) } else { Err(Failed(what)) }
}

/// `r`'s value, or the failed check `what`.
pub fn ok<T, E>(r: Result<T, E>, what: &'static str) -> Result<T, Failed> {
    r.map_err(|_| Failed(what))
}

/// Logs `bytes` (at most 4 KiB) as one line `<label>: <hex>`; the host test reads it.
pub fn log_hex(label: &str, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut line = [0u8; 8192];
    for (pair, b) in line.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
    let n = (2 * bytes.len()).min(line.len());
    defmt::println!("{=str}: {=str}", label, core::str::from_utf8(&line[..n]).unwrap_or(""));
}

/// The device's DRBG: ChaCha20 seeded once (here from the build machine's
/// entropy, see build_common.rs; on hardware, from the TRNG).
pub fn drbg(seed: [u8; 32]) -> chacha20::ChaCha20Rng {
    chacha20::ChaCha20Rng::from_seed(seed)
}

/// Logs the result and exits QEMU with success or failure.
pub fn finish(result: Result<(), Failed>) -> ! {
    match result {
        Ok(()) => {
            defmt::println!("firmware: all checks passed");
            debug::exit(EXIT_SUCCESS);
        }
        Err(Failed(what)) => {
            defmt::println!("firmware: FAILED: {=str}", what);
            debug::exit(EXIT_FAILURE);
        }
    }
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    defmt::println!("firmware: FAILED: panic");
    debug::exit(EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
