"""Envelope seal/open from Python: coffer beside cryptography's AESGCMSIV and the AWS Encryption SDK.

One run times every row (issue 20, point 4) and prints a Markdown table with the
machine, versions, date and command, for BENCHMARKS.md:

    pip install ./bindings/python cryptography aws-encryption-sdk
    python bindings/python/bench/bench_envelope.py [--repeat 7]

Rows, each for 1 KiB and 1 MiB messages:
- coffer `seal`/`open`: one KEK recipient (AES-256-KW), AES-256-GCM-SIV payload
  in 64 KiB chunks, no context.
- cryptography `AESGCMSIV.encrypt`/`decrypt`: the bare AEAD, one call, a fresh
  random 12-byte nonce per encryption (included in the time), no key wrapping.
- AWS Encryption SDK `EncryptionSDKClient.encrypt`/`decrypt` with the raw AES
  master key of its legacy key-provider API (`RawMasterKey`, wrapping with
  `AES_256_GCM_IV12_TAG16_NO_PADDING`), commitment policy
  REQUIRE_ENCRYPT_REQUIRE_DECRYPT, default 4 KiB frames; once with
  AES_256_GCM_HKDF_SHA512_COMMIT_KEY (committing, unsigned: the nearest to a
  coffer envelope) and once with the SDK's default suite
  AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 (adds an ECDSA P-384 signature).

Timing: timeit, the loop count chosen by `Timer.autorange()` (at least 0.2 s per
sample), `--repeat` samples; the table gives the median per-operation time as
operations per second and MB/s (10**6 bytes of plaintext per second).
"""

import argparse
import datetime
import os
import platform
import shlex
import statistics
import subprocess
import sys
import timeit
from importlib import metadata

import aws_encryption_sdk
import cryptography
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy, EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKey
from cryptography.hazmat.backends.openssl import backend as openssl_backend
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

import coffer

SIZES = [("1 KiB", 1024), ("1 MiB", 1 << 20)]


def coffer_pair():
    kek = coffer.Kek.generate()
    recipients, keys = [coffer.Recipient.kek("bench", kek)], [coffer.UnlockKey.kek("bench", kek)]
    return (lambda pt: coffer.seal(pt, recipients)), (lambda ct: coffer.open(ct, keys))


def aesgcmsiv_pair():
    aead = AESGCMSIV(AESGCMSIV.generate_key(256))

    def seal(pt):
        nonce = os.urandom(12)
        return nonce + aead.encrypt(nonce, pt, None)

    return seal, (lambda ct: aead.decrypt(ct[:12], ct[12:], None))


def esdk_pair(algorithm):
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    master_key = RawMasterKey(
        provider_id="bench",
        key_id=b"bench",
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=os.urandom(32),
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        ),
    )

    def seal(pt):
        return client.encrypt(source=pt, key_provider=master_key, algorithm=algorithm)[0]

    return seal, (lambda ct: client.decrypt(source=ct, key_provider=master_key)[0])


LIBRARIES = [
    ("coffer envelope (KEK, AES-256-GCM-SIV)", coffer_pair),
    ("cryptography AESGCMSIV (bare AEAD)", aesgcmsiv_pair),
    ("AWS Encryption SDK, raw AES key, COMMIT_KEY (unsigned)", lambda: esdk_pair(Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY)),
    (
        "AWS Encryption SDK, raw AES key, default suite (ECDSA P-384 signed)",
        lambda: esdk_pair(Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384),
    ),
]


def median_seconds(fn, arg, repeat):
    timer = timeit.Timer(lambda: fn(arg))
    number, _ = timer.autorange()
    return statistics.median(t / number for t in timer.repeat(repeat=repeat, number=number))


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return fields.get("Model name", "unknown").strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timing samples per cell (default 7)")
    args = parser.parse_args()

    rows = []
    for name, make in LIBRARIES:
        seal, open_ = make()
        for label, size in SIZES:
            plaintext = os.urandom(size)
            sealed = seal(plaintext)
            if bytes(open_(sealed)) != plaintext:  # each row proves a round trip before it is timed
                raise SystemExit(f"{name}: {label} does not round-trip")
            for op, fn, arg in [("seal", seal, plaintext), ("open", open_, sealed)]:
                seconds = median_seconds(fn, arg, args.repeat)
                rows.append((name, label, op, 1 / seconds, size / seconds / 1e6))
                print(f"  {name} {label} {op}: {1 / seconds:,.0f} ops/s", file=sys.stderr)

    print("| library | size | operation | median ops/s | median MB/s |")
    print("| --- | --- | --- | ---: | ---: |")
    for name, label, op, ops, mbs in rows:
        print(f"| {name} | {label} | {op} | {ops:,.0f} | {mbs:,.1f} |")
    print()
    print(f"- Machine: {cpu_model()}, {os.cpu_count()} logical CPUs, {platform.platform()}")
    print(f"- Python {platform.python_version()} ({platform.python_implementation()})")
    versions = ", ".join(
        f"{pkg} {metadata.version(pkg)}" for pkg in ["coffer", "cryptography", "aws-encryption-sdk"]
    )
    print(f"- Packages: {versions} (cryptography on {openssl_backend.openssl_version_text()})")
    print(f"- Timing: median of {args.repeat} timeit samples, each at least 0.2 s (Timer.autorange)")
    print(f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"- Command: `{shlex.join(['python', *sys.argv])}`")


if __name__ == "__main__":
    main()
