//! The baseline: the runtime, defmt over semihosting, the measuring code and
//! the exit, with no coffer code. Its flash is what every other footprint
//! firmware carries besides coffer.
#![no_std]
#![no_main]

#[path = "../../../common.rs"]
mod common;
#[path = "../../measure.rs"]
mod measure;

fn run(syst: &mut cortex_m::peripheral::SYST) -> Result<(), common::Failed> {
    measure::calibrate(syst);
    Ok(())
}

measure::footprint_main!(run);
