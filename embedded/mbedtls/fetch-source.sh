#!/usr/bin/env bash
# Puts Mbed TLS 3's source, from Debian's source package with Debian's
# patches applied, in $1 (a directory that must not exist yet), and the
# package's version in $1/DEBIAN_VERSION. run.sh calls it when build/src is
# missing. Debian 12 ships Mbed TLS 2.28 only, so this adds trixie's deb-src
# for the download and removes it again however the script ends. Needs root
# (apt-get) and dpkg-dev (dpkg-source).
#
# apt checks the downloaded files against trixie's Sources index, which the
# Debian archive key signs. dpkg-source then warns that it cannot check the
# uploader's signature on the .dsc (that needs debian-keyring): expected.
set -euo pipefail
version=3.6.6-0.1~deb13u1
dest=$1
[ ! -e "$dest" ] || { echo "$dest exists already" >&2; exit 1; }

sources=/etc/apt/sources.list.d/coffer-mbedtls-src.sources
mkdir -p "$(dirname "$dest")"
# Beside the destination, so that the last step is a rename.
scratch=$(mktemp -d "$(dirname "$dest")/fetch.XXXXXX")
cleanup() {
    rm -rf "$scratch"
    if [ -e "$sources" ]; then
        rm -f "$sources"
        apt-get update -qq || echo "apt-get update after removing $sources failed" >&2
    fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM # exit, and so clean up, on these too

cat >"$sources" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt-get update -qq
(cd "$scratch" && apt-get source -qq --download-only "mbedtls=$version")
(cd "$scratch" && dpkg-source -x ./*.dsc unpacked >/dev/null)
echo "$version" >"$scratch/unpacked/DEBIAN_VERSION"
mv "$scratch/unpacked" "$dest"
echo "Mbed TLS source: Debian source package mbedtls $version, in $dest" >&2
