// This file holds one constant and nothing else: ffi/build.rs `include!`s it
// to write the shared library's SONAME, so the header (through cbindgen),
// `coffer_abi_version` and the SONAME cannot disagree. No inner attributes
// or module docs here (they would not compile inside build.rs).

/// The ABI version of libcoffer: the number in the shared library's SONAME,
/// `libcoffer.so.<COFFER_ABI_VERSION>`, which programs linked against it
/// record and load at run time. It rises whenever a release breaks binary
/// compatibility (a function, struct or enum value removed or changed) and
/// stays while functions, codes and constants are only added. Compare it
/// with `coffer_abi_version()` to check that the library loaded is the one
/// the program was compiled against.
pub const COFFER_ABI_VERSION: u32 = 0;
