//! The `coffer` command. Today it has one subcommand, `coffer demo`, which
//! plays coffer's seed scenarios end to end in a temporary file keystore;
//! the operator commands (`init`, `key`, `encrypt`, ...) are not built yet.
#![forbid(unsafe_code)]

mod demo;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// coffer: envelope encryption, certificate pairs and a software HSM.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play the seed scenarios end to end in a temporary file keystore and
    /// print each step and its result. Exits 1 if any step fails.
    ///
    /// Example: `cargo run --release -p coffer-cli -- demo`
    Demo {
        /// Keep the temporary keystore directory and print its path.
        #[arg(long)]
        keep: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo { keep } => demo::run(keep),
    }
}
