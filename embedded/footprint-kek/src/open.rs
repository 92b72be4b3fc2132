//! The smallest useful device build: open the server's golden KEK envelope
//! in place, nothing else: no logging, no measuring, no DRBG (opening with a
//! KEK draws no randomness; the generator passed refuses every request, so
//! the firmware fails if that ever changes). footprint.sh reports its flash
//! with the crates' default backends and with their compact ones. Exit
//! status 0 if the plaintext is the golden one.
#![no_std]
#![no_main]

use coffer_core::envelope::{self, EncryptionContext, Limits, UnlockKey};
use coffer_core::keywrap::Kek;
use cortex_m_semihosting::debug;

mod inputs {
    include!(concat!(env!("OUT_DIR"), "/inputs.rs"));
}

/// A generator that has no entropy to give.
struct NoEntropy;

#[derive(Debug)]
struct Refused;
impl core::fmt::Display for Refused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("no entropy in this firmware")
    }
}
impl core::error::Error for Refused {}

impl rand_core::TryRng for NoEntropy {
    type Error = Refused;
    fn try_next_u32(&mut self) -> Result<u32, Refused> {
        Err(Refused)
    }
    fn try_next_u64(&mut self) -> Result<u64, Refused> {
        Err(Refused)
    }
    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Refused> {
        Err(Refused)
    }
}
impl rand_core::TryCryptoRng for NoEntropy {}

/// Whether the golden KEK envelope opens to its plaintext.
fn open_golden() -> Option<bool> {
    use inputs::*;
    let kek = Kek::from_slice(KEK_SECRET).ok()?;
    let mut ctx = EncryptionContext::new();
    ctx.insert(KEK_CTX_KEY, KEK_CTX_VALUE).ok()?;
    let unlock = [UnlockKey::Kek { key_id: KEK_KEY_ID, version: KEK_VERSION, kek: &kek }];
    let mut buf = [0u8; 512];
    let sealed = buf.get_mut(..KEK_ENVELOPE.len())?;
    sealed.copy_from_slice(KEK_ENVELOPE);
    let plain = envelope::open_in_place(&mut NoEntropy, &unlock, &ctx, sealed, &Limits::DEFAULT).ok()?;
    Some(plain == KEK_PLAINTEXT)
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let status = if open_golden() == Some(true) { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE };
    debug::exit(status);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
