#!/usr/bin/env bash
# `coffer decrypt` of a large envelope beside `age -d` in the same run
# (issue 14): to a file, and to stdout (redirected to a file), plus the
# encrypt direction and peak memory. Results go in BENCHMARKS.md.
# coffer syncs every output file to disk before it reports success (an
# encrypted file may be the only copy once the plaintext is deleted); age
# does not, so age is also timed followed by `sync FILE`.
#
#   bash cli/benches/decrypt_vs_age.sh [SIZE_MIB] [RUNS]     (default 1024, 5)
#
# Needs: age, hyperfine, GNU time (Debian: apt-get install age hyperfine time).
# Works in a scratch directory under $TMPDIR (default /tmp), which needs
# about 5 × SIZE of free space, and removes it at the end.
set -euo pipefail
size_mib=${1:-1024}
runs=${2:-5}
cd "$(dirname "$0")/../.."
for tool in age age-keygen hyperfine /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install age hyperfine time" >&2; exit 1; }
done
cargo build --release -p coffer-cli >&2
coffer=$PWD/${CARGO_TARGET_DIR:-target}/release/coffer
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "== setup: $size_mib MiB of random data, an age X25519 identity, a coffer P-256 pair" >&2
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > plain.bin
age-keygen -o age.key 2>/dev/null
age_recipient=$(age-keygen -y age.key)
"$coffer" cert ca --subject "CN=bench CA" --key-out ca.key --cert-out ca.crt >/dev/null
"$coffer" cert pair --ca-cert ca.crt --ca-key ca.key --subject CN=bench --san bench.test \
    --algorithm p256 --key-out agent.key --cert-out agent.crt >/dev/null
age -r "$age_recipient" -o plain.age plain.bin
"$coffer" encrypt --recipient agent.crt --in plain.bin --out plain.cfr

echo "== machine" >&2
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(age --version 2>/dev/null | head -1 | sed 's/^/age /'); $(date -u +%Y-%m-%d)"

hyperfine --runs "$runs" --warmup 1 --style basic --export-markdown encrypt.md \
    --prepare 'rm -f out.age out.cfr' \
    -n "age -r (encrypt to a file)" "age -r $age_recipient -o out.age plain.bin" \
    -n "age -r, then sync the file" "age -r $age_recipient -o out.age plain.bin && sync out.age" \
    -n "coffer encrypt (to a file)" "$coffer encrypt --recipient agent.crt --in plain.bin --out out.cfr" >&2
hyperfine --runs "$runs" --warmup 1 --style basic --export-markdown decrypt.md \
    --prepare 'rm -f out.bin' \
    -n "age -d (to a file)" "age -d -i age.key -o out.bin plain.age" \
    -n "age -d, then sync the file" "age -d -i age.key -o out.bin plain.age && sync out.bin" \
    -n "coffer decrypt --out (to a file)" "$coffer decrypt --private-key agent.key --in plain.cfr --out out.bin" \
    -n "age -d > file (stdout)" "age -d -i age.key plain.age > out.bin" \
    -n "coffer decrypt > file (stdout)" "$coffer decrypt --private-key agent.key --in plain.cfr --out - > out.bin" >&2
cat encrypt.md decrypt.md

echo
echo "peak resident memory (GNU time %M, KiB):"
rm -f out.bin
/usr/bin/time -a -o /dev/stdout -f "  age -d --out file: %M" age -d -i age.key -o out.bin plain.age
rm -f out.bin
/usr/bin/time -a -o /dev/stdout -f "  coffer decrypt --out file: %M" "$coffer" decrypt --private-key agent.key --in plain.cfr --out out.bin
/usr/bin/time -o mem.txt -f "  coffer decrypt > stdout: %M" "$coffer" decrypt --private-key agent.key --in plain.cfr --out - > /dev/null
cat mem.txt
cmp plain.bin out.bin && echo "  (round trip checked with cmp)"
