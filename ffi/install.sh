#!/bin/sh
# Installs coffer's C library, headers and pkg-config file under a prefix.
#
#   sh ffi/install.sh PREFIX [BUILD_DIR]
#
# BUILD_DIR is where cargo put libcoffer (default: target/release, after
# `cargo build --release -p coffer-ffi`). Installs:
#   PREFIX/lib/libcoffer.so, PREFIX/lib/libcoffer.a
#   PREFIX/include/coffer.h, PREFIX/include/coffer.hpp
#   PREFIX/lib/pkgconfig/coffer.pc
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:?usage: sh ffi/install.sh PREFIX [BUILD_DIR]}
build=${2:-"${CARGO_TARGET_DIR:-$here/../target}/release"}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/../Cargo.toml" | head -n 1)

for lib in libcoffer.so libcoffer.a; do
    if [ ! -f "$build/$lib" ]; then
        echo "install.sh: $build/$lib not found: run 'cargo build --release -p coffer-ffi' first" >&2
        exit 1
    fi
done
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
cp "$build/libcoffer.so" "$build/libcoffer.a" "$prefix/lib/"
cp "$here/include/coffer.h" "$here/../bindings/cpp/coffer.hpp" "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" "$here/coffer.pc.in" > "$prefix/lib/pkgconfig/coffer.pc"
echo "installed coffer $version under $prefix (pkg-config: $prefix/lib/pkgconfig/coffer.pc)"
