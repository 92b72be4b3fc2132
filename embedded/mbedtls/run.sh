#!/usr/bin/env bash
# Mbed TLS 3 beside coffer on a Cortex-M4 (issue 18): the operations of
# ../footprint.sh built with Mbed TLS from Debian's source package and
# measured the same way, printed as Markdown: flash and static RAM of each
# firmware (arm-none-eabi-size); per operation the deepest stack use
# (painted stack), the instructions (QEMU -icount shift=0, SysTick
# calibrated against a loop of known length) and the heap Mbed TLS held at
# its peak; and P-256 with Mbed TLS's ECP tuning options.
# Fetches the source into build/src first if it is missing (fetch-source.sh;
# apt-get, so root). Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi,
# binutils-arm-none-eabi, qemu-system-arm and python3 with `cryptography`.
# A benchmark, not a test; it still fails if any firmware's check fails.
set -euo pipefail
cd "$(dirname "$0")"

src=build/src
out=build/out
[ -d "$src" ] || ./fetch-source.sh "$src"
debian_version=$(cat "$src/DEBIAN_VERSION")
mbedtls_version=$(sed -n 's/^#define MBEDTLS_VERSION_STRING *"\(.*\)"$/\1/p' \
    "$src/include/mbedtls/build_info.h")
rm -rf "$out"
mkdir -p "$out/overrides"
python3 make-inputs.py ../../vectors/data/envelope_v1/golden.json "$out"

arch=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
cflags=("${arch[@]}" -Os -ffunction-sections -fdata-sections)
ldflags=("${arch[@]}" -nostartfiles -T link.ld -L.. -Wl,--gc-sections
    --specs=nano.specs --specs=nosys.specs)
mbedtls_std=-std=c99 # as Mbed TLS's own build
harness_std=(-std=c11 -Wall -Wextra -Wpedantic -Werror)
heap_counting=(-Wl,--wrap=calloc,--wrap=free) # heap.c counts what Mbed TLS allocates

open_sources=(aes cipher cipher_wrap gcm nist_kw hkdf md sha256 platform_util constant_time)
p256_sources=(bignum bignum_core ecp ecp_curves ecdsa ecdh hmac_drbg asn1parse asn1write
    md sha256 platform_util constant_time)

# Variants, each an MBEDTLS_USER_CONFIG_FILE read after the configuration.
printf '%s\n' '#undef MBEDTLS_AES_ROM_TABLES' '#undef MBEDTLS_AES_FEWER_TABLES' \
    '#undef MBEDTLS_SHA256_SMALLER' >"$out/overrides/defaults.h"
window() { printf '%s\n' '#undef MBEDTLS_ECP_WINDOW_SIZE' "#define MBEDTLS_ECP_WINDOW_SIZE $1"; }
fixed_point() {
    printf '%s\n' '#undef MBEDTLS_ECP_FIXED_POINT_OPTIM' "#define MBEDTLS_ECP_FIXED_POINT_OPTIM $1"
}
{ window 4; fixed_point 1; } >"$out/overrides/ecp-defaults.h"
window 4 >"$out/overrides/window-4.h"
fixed_point 1 >"$out/overrides/fixed-point.h"
printf '%s\n' '#undef MBEDTLS_ECP_NIST_OPTIM' >"$out/overrides/no-nist-optim.h"
p256_variants=(ecp-defaults window-4 fixed-point no-nist-optim)

# build NAME CONFIG OVERRIDE SOURCES...: compiles Mbed TLS's SOURCES with
# CONFIG (and OVERRIDE if not empty) into the archive $out/NAME/libmbedcrypto.a,
# so that a link takes only the objects the harness calls.
declare -A defines
build() {
    local name=$1 config=$2 override=$3 file
    shift 3
    local dir=$out/$name
    defines[$name]="-DMBEDTLS_CONFIG_FILE=\"$config\" -I. -I$out -I$src/include"
    [ -z "$override" ] || defines[$name]+=" -DMBEDTLS_USER_CONFIG_FILE=\"overrides/$override.h\""
    mkdir -p "$dir"
    local objects=()
    for file in "$@"; do
        # shellcheck disable=SC2086 # the defines are separate words
        nice arm-none-eabi-gcc "${cflags[@]}" "$mbedtls_std" ${defines[$name]} -I"$src/library" \
            -c "$src/library/$file.c" -o "$dir/$file.o"
        objects+=("$dir/$file.o")
    done
    arm-none-eabi-ar rcs "$dir/libmbedcrypto.a" "${objects[@]}"
}

# link NAME FIRMWARE KIND HARNESS...: $out/FIRMWARE from the harness's files
# HARNESS, compiled with build NAME's configuration, and NAME's archive.
# KIND: image (the firmware alone), measuring, or heap (a measuring
# firmware's heap-counting twin, $out/FIRMWARE-heap, with heap.c and the
# calloc/free wrapping).
link() {
    local name=$1 firmware=$2 kind=$3 file
    shift 3
    local harness=("$@") extra=()
    if [ "$kind" = heap ]; then
        harness+=(heap)
        extra=("${heap_counting[@]}")
        firmware+=-heap
    fi
    local objects=()
    for file in "${harness[@]}"; do
        local object=$out/$name/$file.o path=$file.c
        [ "$file" != inputs ] || path=$out/inputs.c
        # shellcheck disable=SC2086
        [ -e "$object" ] || nice arm-none-eabi-gcc "${cflags[@]}" "${harness_std[@]}" \
            ${defines[$name]} -c "$path" -o "$object"
        objects+=("$object")
    done
    arm-none-eabi-gcc "${ldflags[@]}" "${extra[@]}" "${objects[@]}" "$out/$name/libmbedcrypto.a" \
        -o "$out/$firmware"
}
# measuring NAME FIRMWARE HARNESS...: the firmware and its heap-counting twin.
measuring() {
    link "$1" "$2" measuring "${@:3}"
    link "$1" "$2" heap "${@:3}"
}

build open config-open.h "" "${open_sources[@]}"
link open mbed-open image startup semihosting open main-open inputs
link open mbed-base measuring startup semihosting measure base
measuring open mbed-kek startup semihosting measure open kek inputs
build open-defaults config-open.h defaults "${open_sources[@]}"
link open-defaults mbed-open-defaults image startup semihosting open main-open inputs
measuring open-defaults mbed-kek-defaults startup semihosting measure open kek inputs
build p256 config-p256.h "" "${p256_sources[@]}"
measuring p256 mbed-p256 startup semihosting measure p256 inputs
for variant in "${p256_variants[@]}"; do
    build "p256-$variant" config-p256.h "$variant" "${p256_sources[@]}"
    measuring "p256-$variant" "mbed-p256-$variant" startup semihosting measure p256 inputs
done

qemu() {
    timeout 600 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none \
        -serial none -semihosting-config enable=on,target=native -icount shift=0 -kernel "$out/$1"
}
for firmware in mbed-open mbed-open-defaults; do # no output: the exit status says
    status=0
    qemu "$firmware" || status=$?
    [ "$status" -eq 0 ] || { echo "$firmware failed (exit status $status)" >&2; exit 1; }
done
# Each measuring firmware's output goes to $out/FIRMWARE.log; fails if it failed.
measured=(mbed-kek mbed-kek-defaults mbed-p256 "${p256_variants[@]/#/mbed-p256-}")
for firmware in mbed-base "${measured[@]}" "${measured[@]/%/-heap}"; do
    status=0
    qemu "$firmware" >"$out/$firmware.log" || status=$?
    if [ "$status" -ne 0 ] || ! grep -qx 'firmware: all checks passed' "$out/$firmware.log"; then
        echo "$firmware failed (exit status $status):" >&2
        cat "$out/$firmware.log" >&2
        exit 1
    fi
done

# Instructions per SysTick tick: 4,000,000 rounds of subs+bne are 8,000,000.
calibration=$(sed -n 's/^footprint: calibration[^|]*| [0-9]* | \([0-9]*\) | -$/\1/p' \
    "$out/mbed-base.log")
per_tick=$(( (8000000 + calibration / 2) / calibration ))
# operations FIRMWARE: per operation "what|stack|instructions|heap", the stack
# and instructions from FIRMWARE, the heap from its twin.
operations() {
    paste -d '|' <(sed -n 's/^footprint: //p' "$out/$1.log") \
        <(sed -n 's/^footprint: //p' "$out/$1-heap.log") |
        while IFS='|' read -r what stack ticks _ twin_what _ _ heap; do
            what=$(echo "$what" | xargs); stack=$(echo "$stack" | xargs)
            ticks=$(echo "$ticks" | xargs); heap=$(echo "$heap" | xargs)
            if [ "$what" != "$(echo "$twin_what" | xargs)" ]; then
                echo "$1 and its twin measured different operations" >&2; exit 1
            fi
            if [ "$ticks" = over ]; then insns="over 2^24 ticks"; else insns=$(( ticks * per_tick )); fi
            echo "$what|$stack|$insns|$heap"
        done
}
arena() { sed -n 's/^heap arena: \([0-9]*\)$/\1/p' "$out/$1.log"; }
sizes() { # FIRMWARE: "flash static-RAM" from arm-none-eabi-size
    local text data bss
    read -r text data bss _ < <(arm-none-eabi-size "$out/$1" | tail -n 1)
    echo "$(( text + data )) $(( data + bss ))"
}

echo "Mbed TLS $mbedtls_version (Debian source package mbedtls $debian_version, Debian's patches applied),"
echo "$(arm-none-eabi-gcc --version | head -n 1), newlib-nano $(dpkg-query -W -f '${Version}' libnewlib-arm-none-eabi),"
echo "$(qemu-system-arm --version | head -n 1)."
echo "Compiler: \`${cflags[*]}\`; link: \`${ldflags[*]}\`;"
echo "heap-counting twins also \`${heap_counting[*]}\`."
echo
echo "### Flash and static RAM (\`arm-none-eabi-size\`, Mbed TLS, gcc -Os, --gc-sections)"
echo
echo "| firmware | what it links | flash (text + data) | static RAM (data + bss) |"
echo "| --- | --- | ---: | ---: |"
describe() {
    case $1 in
        mbed-open) echo "envelope open (GCM) with an AES-256 KEK alone: no output, no measuring, no DRBG; AES_ROM_TABLES, AES_FEWER_TABLES, SHA256_SMALLER" ;;
        mbed-open-defaults) echo "the same without those three (Mbed TLS's defaults: four AES tables built in RAM at first use, unrolled SHA-256)" ;;
        mbed-base) echo "start-up, semihosting output, the measuring code: no Mbed TLS" ;;
        mbed-kek) echo "+ envelope open (GCM) with an AES-256 KEK, the changed copies refused" ;;
        mbed-p256) echo "+ P-256 key generation, ECDSA sign/verify, ECDH, HMAC_DRBG (no envelope); ECP_WINDOW_SIZE 2, ECP_FIXED_POINT_OPTIM 0" ;;
    esac
}
for firmware in mbed-open mbed-open-defaults mbed-base mbed-kek mbed-p256; do
    read -r flash ram < <(sizes "$firmware")
    echo "| \`$firmware\` | $(describe "$firmware") | $flash | $ram |"
done
echo
echo "Static RAM leaves out the heap: newlib's arena (Mbed TLS's blocks, the allocator's headers and free space) grew to $(arena mbed-kek) bytes in \`mbed-kek\` and $(arena mbed-p256) in \`mbed-p256\`."
echo
echo "### Stack, instructions and heap per operation (QEMU mps2-an386, -icount shift=0; $per_tick instructions per SysTick tick)"
echo
echo "| firmware | operation | stack (bytes) | instructions | heap (bytes) |"
echo "| --- | --- | ---: | ---: | ---: |"
for firmware in mbed-kek mbed-kek-defaults mbed-p256; do
    operations "$firmware" | while IFS='|' read -r what stack insns heap; do
        echo "| \`$firmware\` | $what | $stack | $insns | $heap |"
    done
done
echo
echo "Heap: the most bytes Mbed TLS held at once during the operation, beyond what it held before (keys, the DRBG), counted in each firmware's twin. \`mbed-kek-defaults\`'s first open also builds the AES tables."
echo
echo "### P-256 with Mbed TLS's ECP options (instructions per operation)"
echo
echo "| firmware | ECP options | flash (text + data) | heap arena (bytes) | deepest stack (bytes) | key generation | ECDSA sign | ECDSA verify | ECDH |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
options() {
    case $1 in
        mbed-p256) echo "config-p256.h, as config-suite-b.h: NIST_OPTIM, WINDOW_SIZE 2, FIXED_POINT_OPTIM 0" ;;
        mbed-p256-ecp-defaults) echo "Mbed TLS's defaults: NIST_OPTIM, WINDOW_SIZE 4, FIXED_POINT_OPTIM 1" ;;
        mbed-p256-window-4) echo "NIST_OPTIM, WINDOW_SIZE 4, FIXED_POINT_OPTIM 0" ;;
        mbed-p256-fixed-point) echo "NIST_OPTIM, WINDOW_SIZE 2, FIXED_POINT_OPTIM 1" ;;
        mbed-p256-no-nist-optim) echo "no NIST_OPTIM, WINDOW_SIZE 2, FIXED_POINT_OPTIM 0" ;;
    esac
}
for firmware in mbed-p256 "${p256_variants[@]/#/mbed-p256-}"; do
    read -r flash _ < <(sizes "$firmware")
    deepest=0 cells=""
    while IFS='|' read -r _ stack insns _; do
        [ "$stack" -le "$deepest" ] || deepest=$stack
        cells+=" $insns |"
    done < <(operations "$firmware")
    echo "| \`$firmware\` | $(options "$firmware") | $flash | $(arena "$firmware") | $deepest |$cells"
done
