#!/bin/sh
# Installs coffer's C library, headers and pkg-config files under a prefix.
#
#   sh ffi/install.sh PREFIX [BUILD_DIR]
#
# BUILD_DIR is where cargo put libcoffer (default: target/release, after
# `cargo build --release -p coffer-ffi`). Installs:
#   PREFIX/lib/libcoffer.so.<version>   the shared library, SONAME libcoffer.so.<ABI>
#   PREFIX/lib/libcoffer.so.<ABI>       -> libcoffer.so.<version>: what programs load at run time
#   PREFIX/lib/libcoffer.so             -> libcoffer.so.<ABI>: what the linker finds for -lcoffer
#   PREFIX/lib/libcoffer.a
#   PREFIX/include/coffer.h, PREFIX/include/coffer.hpp
#   PREFIX/lib/pkgconfig/coffer.pc, PREFIX/lib/pkgconfig/coffer-shared.pc
#
# <version> is the crate version (Cargo.toml); <ABI> is COFFER_ABI_VERSION
# from coffer.h (ffi/src/abi.rs), which ffi/build.rs also writes into the
# SONAME. It rises only when a release breaks binary compatibility.
#
# Linking through pkg-config (Linux; GNU ld, gold, lld or mold):
#   cc app.c $(pkg-config --cflags --libs coffer)           uses libcoffer.so.<ABI> (found through an rpath)
#   cc app.c $(pkg-config --cflags --static --libs coffer)  uses libcoffer.a; the program does not need libcoffer.so
# pkg-config's --static only adds flags, so coffer.pc holds the static part
# (Libs.private: PREFIX/lib/libcoffer.a and the system libraries) and
# requires coffer-shared.pc for the shared part (-lcoffer under
# --as-needed). pkg-config lists a package's flags before those of the
# packages it requires, so with --static the archive comes first and
# resolves every coffer symbol, and the linker drops the unneeded
# libcoffer.so that follows. Use --libs, not --libs-only-l, which leaves
# out the archive's path.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:?usage: sh ffi/install.sh PREFIX [BUILD_DIR]}
build=${2:-"${CARGO_TARGET_DIR:-$here/../target}/release"}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/../Cargo.toml" | head -n 1)
abi=$(sed -n 's/^#define COFFER_ABI_VERSION \([0-9][0-9]*\)$/\1/p' "$here/include/coffer.h")
if [ -z "$version" ] || [ -z "$abi" ]; then
    echo "install.sh: cannot read the version from Cargo.toml or COFFER_ABI_VERSION from ffi/include/coffer.h" >&2
    exit 1
fi

for lib in libcoffer.so libcoffer.a; do
    if [ ! -f "$build/$lib" ]; then
        echo "install.sh: $build/$lib not found: run 'cargo build --release -p coffer-ffi' first" >&2
        exit 1
    fi
done
if command -v readelf >/dev/null 2>&1; then
    soname=$(readelf -d "$build/libcoffer.so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    if [ "$soname" != "libcoffer.so.$abi" ]; then
        echo "install.sh: $build/libcoffer.so has SONAME '$soname', not libcoffer.so.$abi: rebuild it (ffi/build.rs sets it)" >&2
        exit 1
    fi
fi

lib="$prefix/lib"
mkdir -p "$lib/pkgconfig" "$prefix/include"
# Copy, then rename into place: a program running from an older copy keeps
# its mapping instead of seeing the file change under it.
cp "$build/libcoffer.so" "$lib/.libcoffer.so.$version.tmp"
mv -f "$lib/.libcoffer.so.$version.tmp" "$lib/libcoffer.so.$version"
rm -f "$lib/libcoffer.so.$abi" "$lib/libcoffer.so"
ln -s "libcoffer.so.$version" "$lib/libcoffer.so.$abi"
ln -s "libcoffer.so.$abi" "$lib/libcoffer.so"
cp "$build/libcoffer.a" "$lib/.libcoffer.a.tmp"
mv -f "$lib/.libcoffer.a.tmp" "$lib/libcoffer.a"
cp "$here/include/coffer.h" "$here/../bindings/cpp/coffer.hpp" "$prefix/include/"
for pc in coffer coffer-shared; do
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" "$here/$pc.pc.in" > "$lib/pkgconfig/$pc.pc"
done
echo "installed coffer $version (ABI $abi) under $prefix (pkg-config: $lib/pkgconfig/coffer.pc)"
