//! Gives `libcoffer.so` its SONAME, `libcoffer.so.<ABI version>`, on Linux,
//! so that programs record the ABI they were linked against and
//! `ffi/install.sh` can install the versioned file with its symbolic links.

include!("src/abi.rs");

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/abi.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcoffer.so.{COFFER_ABI_VERSION}");
    }
}
