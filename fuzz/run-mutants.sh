#!/usr/bin/env bash
# Mutation testing of coffer's rules (issue 16 part 7): cargo-mutants changes
# one thing at a time in the chosen source files (a condition negated, a
# function returning a default, an operator swapped), runs the tests that
# check those files, and reports each mutant as caught (a test went red),
# missed (every test stayed green: a rule no test holds), unviable (does
# not build) or timeout.
#
#   fuzz/run-mutants.sh [scope...]     (default: every scope below)
#   fuzz/run-mutants.sh --list         (the scopes and how many mutants each has)
#
# Scopes and the tests run for each mutant:
#   keywrap  core/src/keywrap.rs       core tests of key wrapping and envelopes, RFC and Wycheproof runners
#   aead     core/src/aead.rs          the same set (the envelope payload is AES-256-GCM-SIV)
#   envelope core/src/envelope/*.rs    the same set, plus the golden envelopes and scratch files
#   cert     core/src/cert/*.rs        coffer-core's certificate, key pair, PKCS#8 and signature tests
#   policy   hsm-shim/src/policy.rs    coffer-hsm's token, device, keystore and certificate tests
#   audit    hsm-shim/src/audit/*.rs   coffer-hsm's audit, token, device, certificate and record-golden tests
#
# MUTANTS_ARGS (split on spaces) is passed on to cargo-mutants, e.g.
# MUTANTS_ARGS="--re policy.rs:49" to test again only the mutants whose
# names (as `cargo mutants --list` prints them) match.
#
# Each scope writes cargo-mutants' output to $MUTANTS_OUT/<scope>
# (default /tmp/coffer-mutants) and its builds to $MUTANTS_TARGET (default
# /tmp/coffer-mutants-target, shared, so dependencies build once). The
# source is copied by cargo-mutants; the checkout is never changed. At the
# end one Markdown row per scope is printed for fuzz/CAMPAIGNS.md, and every
# missed mutant is listed. Exits non-zero if a scope could not run (its
# unmutated baseline failed); missed mutants are reported, not an error,
# since each needs a decision (a new test, or an explanation).
set -euo pipefail
cd "$(dirname "$0")/.."

core_tests=(-p coffer-core -p coffer-vectors --lib --test keywrap_regressions --test proptest_roundtrips
    --test proptest_envelope --test proptest_tamper --test key_commitment --test format_spec --test envelope
    --test exact_limits --test rfc --test wycheproof)
declare -A files=(
    [keywrap]="core/src/keywrap.rs"
    [aead]="core/src/aead.rs"
    [envelope]="core/src/envelope/*.rs"
    [cert]="core/src/cert/*.rs"
    [policy]="hsm-shim/src/policy.rs"
    [audit]="hsm-shim/src/audit/*.rs"
)
scope_tests() {
    case "$1" in
    keywrap | aead) printf '%s\n' "${core_tests[@]}" ;;
    envelope) printf '%s\n' "${core_tests[@]}" --test envelope_golden --test scratch ;;
    cert)
        printf '%s\n' -p coffer-core --lib --test cert_constraints --test cert_options --test cert_paths \
            --test cert_rules --test cert_search --test cert_limits --test cert_openssl --test cert_interop --test keys --test pkcs8_openssl_prf \
            --test signatures --test fuzz_regressions
        ;;
    policy) printf '%s\n' -p coffer-hsm --test token --test device --test keystore --test certs ;;
    audit) printf '%s\n' -p coffer-hsm --lib --test audit --test token --test device --test token_state_golden --test certs --test records_golden ;;
    esac
}
all_scopes=(keywrap aead envelope cert policy audit)

if [ "${1:-}" = "--list" ]; then
    for scope in "${all_scopes[@]}"; do
        n=$(cargo mutants --list -f "${files[$scope]}" | wc -l)
        echo "$scope ${files[$scope]}: $n mutants"
    done
    exit 0
fi
scopes=("$@")
if [ ${#scopes[@]} -eq 0 ]; then scopes=("${all_scopes[@]}"); fi
for scope in "${scopes[@]}"; do
    if [ -z "${files[$scope]:-}" ]; then
        echo "unknown scope: $scope (known: ${all_scopes[*]})" >&2
        exit 2
    fi
done

out_root=${MUTANTS_OUT:-/tmp/coffer-mutants}
export CARGO_TARGET_DIR=${MUTANTS_TARGET:-/tmp/coffer-mutants-target}
commit=$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
rows=()
failed=()
for scope in "${scopes[@]}"; do
    mapfile -t tests < <(scope_tests "$scope")
    started=$(date +%s)
    echo "-- ${scope}: ${files[$scope]}"
    status=0
    # -j 1: one mutant at a time (cargo itself builds on both cores). The
    # timeout is for the tests of one mutant (90 s: the slowest scope's
    # tests take about 15 s here, beside a build); a mutant that loops is a
    # timeout, which counts as caught.
    mkdir -p "$out_root/$scope"
    features=()
    case "$scope" in keywrap | aead | envelope | cert) features=(--features coffer-core/std,coffer-core/rsa) ;; esac
    cargo mutants -f "${files[$scope]}" -j 1 --timeout 90 --no-shuffle --gitignore=true -o "$out_root/$scope" "${features[@]}" \
        ${MUTANTS_ARGS:-} -- "${tests[@]}" || status=$?
    # 0: all caught; 2: some missed; 3: some timed out; anything else: the run failed.
    if [ "$status" -ne 0 ] && [ "$status" -ne 2 ] && [ "$status" -ne 3 ]; then
        failed+=("$scope")
    fi
    dir="$out_root/$scope/mutants.out"
    count() { if [ -f "$dir/$1.txt" ]; then wc -l <"$dir/$1.txt"; else echo 0; fi; }
    total=$(($(count caught) + $(count missed) + $(count timeout) + $(count unviable)))
    minutes=$((($(date +%s) - started + 30) / 60))
    rows+=("| $(date -u +%Y-%m-%d) | $commit | $scope | $total | $(count caught) | $(count missed) | $(count timeout) | $(count unviable) | $minutes |")
done

echo
echo "| date | commit | scope | mutants | caught | missed | timeout | unviable | min |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
for scope in "${scopes[@]}"; do
    missed="$out_root/$scope/mutants.out/missed.txt"
    if [ -s "$missed" ]; then
        echo
        echo "missed in $scope:"
        sed 's/^/- /' "$missed"
    fi
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "FAILED to run (see $out_root/<scope>/mutants.out/log): ${failed[*]}" >&2
    exit 1
fi
