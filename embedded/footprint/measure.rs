//! Measuring one operation on the device (the footprint firmwares include
//! this as `mod measure`): its deepest stack use, by painting the free stack
//! below the caller with a pattern and finding the lowest word the operation
//! changed; and its length in SysTick ticks of the core clock. Under QEMU
//! with `-icount shift=0` the core clock advances one nanosecond per
//! instruction, so ticks convert to instructions (footprint.sh calibrates
//! the ratio with `calibrate`).
#![allow(dead_code, reason = "each firmware uses a part of it")]

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;

/// The pattern painted below the stack pointer.
const PAINT: u32 = 0xC0FF_EE55;
/// How much stack below the caller is painted and watched.
pub const WATCHED: usize = 64 * 1024;

/// Starts SysTick counting down from its maximum on the core clock.
pub fn start_clock(syst: &mut SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(0x00FF_FFFF);
    syst.clear_current();
    syst.enable_counter();
}

/// What one operation cost: stack bytes below the caller's frame, and core
/// clock ticks (`None` if the 24-bit counter reloaded meanwhile).
pub struct Cost {
    pub stack: usize,
    pub ticks: Option<u32>,
}

/// Runs `op` once and measures it. Interrupts are off in these firmwares,
/// so nothing but `op` writes below the stack pointer.
#[inline(never)]
pub fn measure<T>(syst: &mut SYST, op: impl FnOnce() -> T) -> (T, Cost) {
    let sp = cortex_m::register::msp::read() as usize;
    // Leave this function's own call frames (a few hundred bytes) unpainted.
    let top = (sp - 512) & !3;
    let bottom = top - WATCHED;
    for addr in (bottom..top).step_by(4) {
        // SAFETY: free stack below the current frame, inside RAM (memory.x
        // gives 4 MiB; the firmwares use far less), word aligned; nothing
        // else runs (no interrupts are enabled).
        unsafe { core::ptr::write_volatile(addr as *mut u32, PAINT) };
    }
    let _ = syst.has_wrapped(); // reading COUNTFLAG clears it
    let before = SYST::get_current();
    let out = core::hint::black_box(op());
    let after = SYST::get_current();
    // The counter counts down from 2^24 - 1 and reloads at 0: a reload in
    // between makes the difference meaningless, so it reads as `None`.
    let wrapped = syst.has_wrapped();
    let mut lowest = top;
    for addr in (bottom..top).step_by(4) {
        // SAFETY: as above; reading back the words painted.
        if unsafe { core::ptr::read_volatile(addr as *const u32) } != PAINT {
            lowest = addr;
            break;
        }
    }
    let stack = sp - lowest;
    let ticks = if wrapped { None } else { Some(before.wrapping_sub(after) & 0x00FF_FFFF) };
    (out, Cost { stack, ticks })
}

/// Logs one measured operation as a `footprint:` line for footprint.sh.
pub fn report(what: &str, cost: &Cost) {
    match cost.ticks {
        Some(t) => defmt::println!("footprint: {=str} | {=usize} | {=u32}", what, cost.stack, t),
        None => defmt::println!("footprint: {=str} | {=usize} | over", what, cost.stack),
    }
}

/// `asm::delay(4_000_000)`: a two-instruction loop (`subs`, `bne`) run
/// 4,000,001 times, 8,000,002 instructions, to calibrate ticks per instruction.
pub fn calibrate(syst: &mut SYST) {
    let (_, cost) = measure(syst, || cortex_m::asm::delay(4_000_000));
    report("calibration: asm::delay(4000000)", &cost);
}

/// The entry point of a footprint firmware: starts SysTick, runs `$run`
/// (a `fn(&mut SYST) -> Result<(), common::Failed>`) and exits with its result.
macro_rules! footprint_main {
    ($run:path) => {
        #[cortex_m_rt::entry]
        fn main() -> ! {
            let Some(mut p) = cortex_m::Peripherals::take() else {
                common::finish(Err(common::Failed("peripherals")))
            };
            measure::start_clock(&mut p.SYST);
            common::finish($run(&mut p.SYST))
        }
    };
}
pub(crate) use footprint_main;
