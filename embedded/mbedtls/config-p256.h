/*
 * Mbed TLS 3.6 configuration for P-256 as coffer's fp-p256 uses it: key
 * generation, ECDSA over SHA-256 with deterministic nonces (RFC 6979)
 * signing and verifying, and ECDH. HMAC_DRBG serves both RFC 6979 and the
 * harness's random generator.
 *
 * Used as -DMBEDTLS_CONFIG_FILE='"config-p256.h"' (it replaces
 * mbedtls_config.h; build_info.h derives the rest and checks it). Only
 * secp256r1 is compiled in. ECP's tuning is the size-lean one of Mbed TLS's
 * own example for small devices (configs/config-suite-b.h): the fast NIST
 * reduction kept, the smallest window and no fixed-point table. run.sh also
 * builds Mbed TLS's defaults and each option alone (README.md has the
 * trade-off).
 */
#ifndef COFFER_MBEDTLS_CONFIG_P256_H
#define COFFER_MBEDTLS_CONFIG_P256_H

/* On by default: bignum multiply-accumulate in Thumb-2 assembly (UMAAL on
 * a Cortex-M4) and the constant-time helpers in assembly. */
#define MBEDTLS_HAVE_ASM

/* Big numbers and the curve. NIST_OPTIM is the fast reduction modulo the
 * NIST primes (on by default: 0.8 KB of flash for five times the speed).
 * A window of 2 instead of 4 holds 2 precomputed points instead of 8 on
 * the heap during a multiplication; FIXED_POINT_OPTIM 0 drops the
 * precomputed multiples of the generator (default 1), which makes key
 * generation and signing slower. */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_WINDOW_SIZE 2
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0

/* ECDSA with RFC 6979 nonces; ECDSA_C needs ASN.1 for its DER signatures
 * (the harness signs and verifies in DER). */
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_ECDH_C

/* SHA-256, HMAC through the MD layer, HMAC_DRBG. */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_HMAC_DRBG_C

#endif /* COFFER_MBEDTLS_CONFIG_P256_H */
