/*
 * Mbed TLS 3.6 configuration for the equivalent of coffer's envelope open
 * with an AES-256 KEK (core/FORMAT.md sections 2 and 3): AES-KW unwrap of
 * the DEK (NIST_KW), HKDF-SHA-256 for the payload key and the commitment,
 * SHA-256 for the AAD digest, and AES-256-GCM for the payload (Mbed TLS has
 * no AES-GCM-SIV; GCM is its nearest AEAD).
 *
 * Used as -DMBEDTLS_CONFIG_FILE='"config-open.h"': it replaces
 * mbedtls_config.h, and build_info.h then derives the internal symbols and
 * runs check_config.h over the result. Everything not listed is off; the
 * size options are the lean ones Mbed TLS documents, nothing else differs
 * from its defaults.
 */
#ifndef COFFER_MBEDTLS_CONFIG_OPEN_H
#define COFFER_MBEDTLS_CONFIG_OPEN_H

/* On in Mbed TLS's default configuration: inline assembly where Mbed TLS
 * has some (on this path, its constant-time helpers for Arm). */
#define MBEDTLS_HAVE_ASM

/* Block cipher: AES, its tables precomputed in flash instead of built in
 * RAM at first use, and one round table per direction instead of four
 * (the other three are rotations, computed on the fly). */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES

/* The generic cipher layer: NIST_KW requires it, and GCM then sits on it
 * too (without it GCM would use the block_cipher layer instead). */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_GCM_C
#define MBEDTLS_NIST_KW_C

/* Hash, HMAC (through the MD layer) and HKDF. The smaller SHA-256 rolls
 * its round loop instead of unrolling it. */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_HKDF_C

#endif /* COFFER_MBEDTLS_CONFIG_OPEN_H */
