#!/usr/bin/env bash
# Footprint of coffer on a Cortex-M4 per feature set (issue 18), as Markdown
# for BENCHMARKS.md: flash and static RAM of each footprint firmware (from
# arm-none-eabi-size), and per operation the deepest stack use (painted
# stack) and instructions (QEMU with -icount shift=0: SysTick counts the core
# clock, calibrated here against a loop of known length).
# Needs qemu-system-arm, binutils-arm-none-eabi, defmt-print (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --locked -q -p coffer-fw-footprint
cargo build --release --locked -q -p coffer-fw-footprint-kek
cargo build --release --locked -q -p coffer-fw-token
cargo build --release --locked -q -p coffer-fw-heap
dir=target/thumbv7em-none-eabihf/release
# fp-open once more with the crates' compact AES and SHA-256 backends (these
# --cfg flags are appended to .cargo/config.toml's rustflags), in its own
# target directory.
cargo build --release --locked -q -p coffer-fw-footprint-kek --bin fp-open --target-dir target/compact \
    --config 'target.thumbv7em-none-eabihf.rustflags=["--cfg", "aes_compact", "--cfg", "sha2_backend_soft=\"compact\""]'
compact=target/compact/thumbv7em-none-eabihf/release/fp-open
for elf in "$dir/fp-open" "$compact"; do # no log: the exit status says whether the golden envelope opened
    if ! timeout 600 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none \
        -serial none -semihosting-config enable=on,target=native -kernel "$elf"; then
        echo "$elf failed" >&2; exit 1
    fi
done

run() { # the decoded log of firmware $1; fails if the firmware fails
    local log status
    log=$(timeout 600 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none \
        -serial none -semihosting-config enable=on,target=native -icount shift=0 -kernel "$dir/$1" \
        | defmt-print -e "$dir/$1"; exit "${PIPESTATUS[0]}") || status=$?
    if [ "${status:-0}" -ne 0 ] || ! grep -qx 'firmware: all checks passed' <<<"$log"; then
        echo "$1 failed:" >&2; echo "$log" >&2; exit 1
    fi
    echo "$log"
}

# Instructions per SysTick tick: asm::delay(4000000) is 8,000,002 instructions.
calibration=$(run fp-base | sed -n 's/^footprint: calibration[^|]*| [0-9]* | \([0-9]*\)$/\1/p')
per_tick=$(( (8000002 + calibration / 2) / calibration ))

echo "### Flash and static RAM (\`arm-none-eabi-size\`, release, opt-level \"s\", fat LTO)"
echo
echo "| firmware | what it links | flash (text + data) | static RAM (data + bss) |"
echo "| --- | --- | ---: | ---: |"
describe() {
    case $1 in
        fp-base) echo "runtime, defmt over semihosting, the measuring code: no coffer" ;;
        fp-open) echo "envelope open with an AES-256 KEK alone: no logging, no measuring, no DRBG" ;;
        fp-envelope) echo "+ envelope seal and open with an AES-256 KEK, ChaCha20 DRBG" ;;
        fp-p256) echo "+ P-256 key generation, ECDSA sign/verify, P-256 envelope open" ;;
        fp-token) echo "+ the device token (4 keys, 48 records): PINs, KEK, envelope by handle, sealed save" ;;
        token) echo "the whole-life test firmware (vectors, golden envelopes, token, P-256)" ;;
        heap) echo "RSA-2048 OAEP envelopes and X.509 path validation, 256 KiB heap" ;;
    esac
}
for fw in fp-open fp-base fp-envelope fp-p256 fp-token token heap; do
    read -r text data bss _ < <(arm-none-eabi-size "$dir/$fw" | tail -n 1)
    echo "| \`$fw\` | $(describe "$fw") | $(( text + data )) | $(( data + bss )) |"
    if [ "$fw" = fp-open ]; then
        read -r text data bss _ < <(arm-none-eabi-size "$compact" | tail -n 1)
        echo "| \`fp-open\`, compact | the same with \`--cfg aes_compact --cfg sha2_backend_soft=\"compact\"\` | $(( text + data )) | $(( data + bss )) |"
    fi
done
echo
echo "### Stack and instructions per operation (QEMU mps2-an386, -icount shift=0; $per_tick instructions per SysTick tick)"
echo
echo "| firmware | operation | stack (bytes) | instructions |"
echo "| --- | --- | ---: | ---: |"
for fw in fp-envelope fp-p256 fp-token; do
    run "$fw" | sed -n 's/^footprint: //p' | while IFS='|' read -r what stack ticks; do
        what=$(echo "$what" | xargs); stack=$(echo "$stack" | xargs); ticks=$(echo "$ticks" | xargs)
        if [ "$ticks" = over ]; then insns="over 2^24 ticks"; else insns=$(( ticks * per_tick )); fi
        echo "| \`$fw\` | $what | $stack | $insns |"
    done
done
