#!/bin/sh
# Makes the certificate chain the heap firmware verifies (chain/*.pem), with
# OpenSSL: an RSA-2048 root, a P-256 intermediate (pathlen 0) and a P-256
# server leaf for device-7.example, valid for 20 years from the day it ran.
# Run once (2026-11-26, OpenSSL 3.0) and checked in; the keys were not kept.
set -eu
cd "$(dirname "$0")"
mkdir -p chain
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/root.key" -subj "/CN=coffer embedded root" \
    -days 7300 -sha256 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out chain/root.pem
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/inter.key" \
    -subj "/CN=coffer embedded intermediate" -out "$tmp/inter.csr"
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > "$tmp/inter.ext"
openssl x509 -req -in "$tmp/inter.csr" -CA chain/root.pem -CAkey "$tmp/root.key" -set_serial 2 \
    -days 7300 -sha256 -extfile "$tmp/inter.ext" -out chain/intermediate.pem
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/leaf.key" \
    -subj "/CN=device-7.example" -out "$tmp/leaf.csr"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:device-7.example\nauthorityKeyIdentifier=keyid\n' > "$tmp/leaf.ext"
openssl x509 -req -in "$tmp/leaf.csr" -CA chain/intermediate.pem -CAkey "$tmp/inter.key" -set_serial 3 \
    -days 7300 -sha256 -extfile "$tmp/leaf.ext" -out chain/leaf.pem
openssl verify -CAfile chain/root.pem -untrusted chain/intermediate.pem chain/leaf.pem
