#!/usr/bin/env bash
# Runs coffer's fuzz targets one after another, each for a chosen time, from
# its committed seeds (fuzz/seeds/<target>) and its local corpus
# (fuzz/corpus/<target>, not committed), and records one line per target.
#
#   fuzz/run-campaign.sh [seconds-per-target] [target...]   (default: 60 s, every target)
#   fuzz/run-campaign.sh --expected                        (print the expected target list)
#
# Every run uses -rss_limit_mb=2048 -timeout=10 (a run over 10 s is a
# timeout) and LeakSanitizer; a crash, timeout, leak or out-of-memory stops
# that target, leaves the input in fuzz/artifacts/<target>/, and makes the
# script exit non-zero once every chosen target has run.
#
# The log (CAMPAIGN_LOG, default fuzz/campaign-log.tsv, not committed) gets
# one tab-separated line per target: date, commit, target, seconds,
# executions, executions/s, coverage (edges), features, corpus size,
# result. At the end the whole log is printed as a Markdown table for
# fuzz/CAMPAIGNS.md.
set -euo pipefail
cd "$(dirname "$0")"

# The targets `cargo fuzz list` must give, in its (sorted) order. .ci/run
# checks the same list, so a target that is removed, renamed or fails to be
# listed fails CI instead of silently running nothing.
EXPECTED_TARGETS=(
    cert_parse
    cert_path
    envelope_header
    envelope_open
    envelope_roundtrip
    ffi_shapes
    key_import
    keystore_state
    keywrap_roundtrip
    pkcs8_encrypted
    sign_verify
    store_records
    webhook_header
)

if [ "${1:-}" = "--expected" ]; then
    printf '%s\n' "${EXPECTED_TARGETS[@]}"
    exit 0
fi

seconds=${1:-60}
shift || true
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [seconds-per-target] [target...] | --expected" >&2
    exit 2
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=("${EXPECTED_TARGETS[@]}")
fi

listed=$(cargo +nightly fuzz list)
if [ "$listed" != "$(printf '%s\n' "${EXPECTED_TARGETS[@]}")" ]; then
    echo "cargo fuzz list does not give the expected targets (EXPECTED_TARGETS in $0):" >&2
    diff <(printf '%s\n' "${EXPECTED_TARGETS[@]}") <(printf '%s\n' "$listed") >&2 || true
    exit 1
fi
for target in "${targets[@]}"; do
    if ! printf '%s\n' "${EXPECTED_TARGETS[@]}" | grep -qx "$target"; then
        echo "unknown target: $target (known: ${EXPECTED_TARGETS[*]})" >&2
        exit 2
    fi
done

log=${CAMPAIGN_LOG:-$PWD/campaign-log.tsv}
commit=$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
# LeakSanitizer on; ODR reports off, as cargo fuzz itself sets them (the
# bundled C code and Rust share symbol names that ASan would flag).
export ASAN_OPTIONS="detect_odr_violation=0:detect_leaks=1"

cargo +nightly fuzz build
failed=()
for target in "${targets[@]}"; do
    echo "-- ${target}: ${seconds} s"
    mkdir -p "corpus/${target}"
    dirs=("corpus/${target}")
    if [ -d "seeds/${target}" ]; then dirs+=("seeds/${target}"); fi
    out=$(mktemp)
    status=0
    cargo +nightly fuzz run "$target" "${dirs[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$out" 2>&1 || status=$?
    # libFuzzer's final statistics and its last status line (`cov: N ft: N corp: N/...`).
    final_stat() { sed -n "s/^stat::$1: *//p" "$out" | tail -1; }
    last=$(grep -E '^#[0-9]+.* cov: ' "$out" | tail -1 || true)
    field() { sed -n "s/.* $1: \([0-9]*\).*/\1/p" <<<"$last"; }
    result=ok
    if [ "$status" -ne 0 ]; then
        result=$(grep -oE 'ERROR: (libFuzzer|LeakSanitizer|AddressSanitizer): [a-zA-Z0-9 -]+' "$out" | head -1 || true)
        result=${result:-exit status $status}
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$out" | tail -1)
        result="${result#ERROR: }${artifact:+ ($artifact)}"
        failed+=("$target")
        tail -40 "$out"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$commit" "$target" "$seconds" \
        "$(final_stat number_of_executed_units)" "$(final_stat average_exec_per_sec)" "$(field cov)" "$(field ft)" \
        "$(field corp)" "$result" >>"$log"
    tail -1 "$log"
    rm -f "$out"
done

echo
echo "| date | commit | target | s | execs | execs/s | cov | ft | corpus | result |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
sed 's/\t/ | /g; s/^/| /; s/$/ |/' "$log"
echo
echo "log: $log"

if [ ${#failed[@]} -ne 0 ]; then
    echo "FAILED (crash, timeout, leak or out-of-memory): ${failed[*]}" >&2
    exit 1
fi
