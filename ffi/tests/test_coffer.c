/*
 * coffer's C test suite: every exported function, its success path and
 * its error paths (NULL pointers, short buffers, bad input), with exact
 * status codes. Built with -std=c11 -Wall -Wextra -Wpedantic -Werror and
 * run by tests/tests/c_consumers.rs, and under AddressSanitizer by .ci/run.
 *
 * Usage: test_coffer <scratch directory>
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define LEN(s) (sizeof(s) - 1)

static const char *scratch_dir;

static coffer_recipient kek_recipient(const char *id, uint32_t version, const uint8_t *kek) {
    coffer_recipient r = {COFFER_KEY_KEK, U8(id), strlen(id), version, kek, 32};
    return r;
}

static coffer_unlock_key kek_unlock(const char *id, uint32_t version, const uint8_t *kek) {
    coffer_unlock_key k = {COFFER_KEY_KEK, U8(id), strlen(id), version, kek, 32};
    return k;
}

/* ---- version, status messages, coffer_bytes ---------------------------- */

static void test_version_and_messages(void) {
    const char *v = coffer_version();
    EXPECT_TRUE(v != NULL && strcmp(v, "0.1.0") == 0);
    EXPECT_TRUE(coffer_abi_version() == COFFER_ABI_VERSION);
    /* The tests build libcoffer with the default provider. */
    EXPECT_TRUE(coffer_provider() != NULL && strcmp(coffer_provider(), "RustCrypto") == 0);

    static const coffer_status all[] = {
        COFFER_OK, COFFER_ERR_NULL_POINTER, COFFER_ERR_BUFFER_TOO_SMALL, COFFER_ERR_INVALID_ARGUMENT,
        COFFER_ERR_INVALID_LENGTH, COFFER_ERR_LIMIT_EXCEEDED, COFFER_ERR_MALFORMED, COFFER_ERR_NOT_UTF8,
        COFFER_ERR_UNKNOWN_VALUE, COFFER_ERR_STREAM_FINISHED, COFFER_ERR_DECRYPT, COFFER_ERR_VERIFY,
        COFFER_ERR_INVALID_KEY, COFFER_ERR_ENCODING, COFFER_ERR_RNG, COFFER_ERR_CERT_EXPIRED,
        COFFER_ERR_CERT_NOT_YET_VALID, COFFER_ERR_NOT_A_CA, COFFER_ERR_ISSUER_MISMATCH,
        COFFER_ERR_KEY_MISMATCH, COFFER_ERR_UNKNOWN_CRITICAL_EXTENSION, COFFER_ERR_KEY_POLICY,
        COFFER_ERR_NOT_LOGGED_IN, COFFER_ERR_ROLE_NOT_ALLOWED, COFFER_ERR_PIN_INCORRECT,
        COFFER_ERR_PIN_LOCKED, COFFER_ERR_PIN_POLICY, COFFER_ERR_NOT_FOUND, COFFER_ERR_POLICY_DENIED,
        COFFER_ERR_KEY_STATE, COFFER_ERR_NOT_EXTRACTABLE, COFFER_ERR_TOKEN_STATE, COFFER_ERR_CAPACITY,
        COFFER_ERR_AUDIT_FULL, COFFER_ERR_TENANT_NOT_ALLOWED, COFFER_ERR_KEY_EXPIRED, COFFER_ERR_ALREADY_EXISTS,
        COFFER_ERR_KEYSTORE_AUTH, COFFER_ERR_KEYSTORE_CORRUPT, COFFER_ERR_KEYSTORE_ROLLBACK,
        COFFER_ERR_STORAGE, COFFER_ERR_AUDIT_TAMPERED, COFFER_ERR_KEYSTORE_EXISTS,
        COFFER_ERR_KEYSTORE_MISSING, COFFER_ERR_STORE_NO_SPACE, COFFER_ERR_STORE_BUSY,
        COFFER_ERR_STORE_UNAVAILABLE, COFFER_ERR_STORE_READ_ONLY, COFFER_ERR_STORE_CORRUPT, COFFER_ERR_STORE_IO,
        COFFER_ERR_STORE_TOO_LARGE, COFFER_ERR_PANIC, COFFER_ERR_INTERNAL, COFFER_ERR_POISONED,
        COFFER_ERR_UNKNOWN};
    const char *unknown = coffer_status_message(9999);
    EXPECT_TRUE(unknown != NULL && strcmp(unknown, "unknown status code") == 0);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *m = coffer_status_message(all[i]);
        EXPECT_TRUE(m != NULL && strlen(m) > 0 && strcmp(m, unknown) != 0);
        for (size_t j = 0; j < i; j++) EXPECT_TRUE(strcmp(m, coffer_status_message(all[j])) != 0);
    }
    /* The store's errors say what happened. */
    const char *no_space = coffer_status_message(COFFER_ERR_STORE_NO_SPACE);
    EXPECT_TRUE(strncmp(no_space, "no space left on device", 23) == 0);
    EXPECT_TRUE(strstr(coffer_status_message(COFFER_ERR_STORE_BUSY), "busy") != NULL);
    EXPECT_TRUE(strstr(coffer_status_message(COFFER_ERR_STORE_READ_ONLY), "read-only") != NULL);
    EXPECT_TRUE(strstr(coffer_status_message(COFFER_ERR_STORE_CORRUPT), "not a coffer store") != NULL);
    /* The bands and a few fixed values: these numbers never change. */
    EXPECT_TRUE(COFFER_OK == 0);
    EXPECT_TRUE(COFFER_ERR_NULL_POINTER == 1000 && COFFER_ERR_BUFFER_TOO_SMALL == 1001);
    EXPECT_TRUE(COFFER_ERR_DECRYPT == 2000 && COFFER_ERR_VERIFY == 2001);
    EXPECT_TRUE(COFFER_ERR_KEY_POLICY == 3000 && COFFER_ERR_KEYSTORE_AUTH == 4000);
    EXPECT_TRUE(COFFER_ERR_CAPACITY == 3011 && COFFER_ERR_AUDIT_FULL == 3012);
    EXPECT_TRUE(COFFER_ERR_TENANT_NOT_ALLOWED == 3013 && COFFER_ERR_KEY_EXPIRED == 3014);
    EXPECT_TRUE(COFFER_ERR_ALREADY_EXISTS == 3015);
    EXPECT_TRUE(COFFER_ERR_KEYSTORE_EXISTS == 4005 && COFFER_ERR_KEYSTORE_MISSING == 4006);
    EXPECT_TRUE(COFFER_ERR_STORE_NO_SPACE == 4007 && COFFER_ERR_STORE_BUSY == 4008);
    EXPECT_TRUE(COFFER_ERR_STORE_UNAVAILABLE == 4009 && COFFER_ERR_STORE_READ_ONLY == 4010);
    EXPECT_TRUE(COFFER_ERR_STORE_CORRUPT == 4011 && COFFER_ERR_STORE_IO == 4012);
    EXPECT_TRUE(COFFER_ERR_STORE_TOO_LARGE == 4013);
    EXPECT_TRUE(COFFER_ERR_PANIC == 5000);
}

static void test_bytes_free(void) {
    coffer_bytes_free(NULL);
    coffer_bytes empty = {NULL, 0};
    coffer_bytes_free(&empty);
    EXPECT_TRUE(empty.data == NULL && empty.len == 0);

    /* Freed bytes are reset, so a second free through the same struct is harmless. */
    coffer_bytes b = {NULL, 0};
    coffer_recipient to = kek_recipient("k", 1, KEK1);
    EXPECT_OK(coffer_envelope_seal(&to, 1, NULL, 0, U8("x"), 1, &b));
    EXPECT_TRUE(b.data != NULL && b.len > 0);
    coffer_bytes_free(&b);
    EXPECT_TRUE(b.data == NULL && b.len == 0);
    coffer_bytes_free(&b);
}

/* ---- AES-KW / AES-KWP --------------------------------------------------- */

static void test_key_wrap(void) {
    uint8_t key[32];
    for (size_t i = 0; i < sizeof key; i++) key[i] = (uint8_t)(i * 7);
    uint8_t wrapped[64], unwrapped[64];
    size_t wlen = sizeof wrapped, ulen = sizeof unwrapped;

    EXPECT_OK(coffer_kw_wrap(KEK1, 32, key, 32, wrapped, &wlen));
    EXPECT_TRUE(wlen == 40);
    EXPECT_OK(coffer_kw_unwrap(KEK1, 32, wrapped, wlen, unwrapped, &ulen));
    EXPECT_BYTES(unwrapped, ulen, key, sizeof key);

    /* RFC 3394 4.1: 128-bit key data with a 128-bit KEK. */
    static const uint8_t kek128[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                       0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    static const uint8_t data128[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                        0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    static const uint8_t expect128[24] = {0x1f, 0xa6, 0x8b, 0x0a, 0x81, 0x12, 0xb4, 0x47,
                                          0xae, 0xf3, 0x4b, 0xd8, 0xfb, 0x5a, 0x7b, 0x82,
                                          0x9d, 0x3e, 0x86, 0x23, 0x71, 0xd2, 0xcf, 0xe5};
    wlen = sizeof wrapped;
    EXPECT_OK(coffer_kw_wrap(kek128, 16, data128, 16, wrapped, &wlen));
    EXPECT_BYTES(wrapped, wlen, expect128, sizeof expect128);

    /* Short buffer: the needed size comes back, nothing else changes. */
    uint8_t small[8];
    size_t slen = sizeof small;
    EXPECT_STATUS(coffer_kw_wrap(KEK1, 32, key, 32, small, &slen), COFFER_ERR_BUFFER_TOO_SMALL);
    EXPECT_TRUE(slen == 40);
    slen = 0;
    EXPECT_STATUS(coffer_kw_wrap(KEK1, 32, key, 32, NULL, &slen), COFFER_ERR_BUFFER_TOO_SMALL);
    EXPECT_TRUE(slen == 40);

    /* NULL pointers. */
    wlen = sizeof wrapped;
    EXPECT_STATUS(coffer_kw_wrap(KEK1, 32, key, 32, wrapped, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_kw_wrap(NULL, 32, key, 32, wrapped, &wlen), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_kw_wrap(KEK1, 32, NULL, 32, wrapped, &wlen), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_kw_wrap(KEK1, 32, key, 32, NULL, &wlen), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_kw_unwrap(KEK1, 32, NULL, 40, unwrapped, &ulen), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_kwp_wrap(KEK1, 32, key, 5, NULL, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_kwp_unwrap(NULL, 32, wrapped, 16, unwrapped, &ulen), COFFER_ERR_NULL_POINTER);

    /* Bad input. */
    wlen = sizeof wrapped;
    EXPECT_STATUS(coffer_kw_wrap(KEK1, 7, key, 32, wrapped, &wlen), COFFER_ERR_INVALID_KEY);
    EXPECT_STATUS(coffer_kw_wrap(KEK1, 32, key, 12, wrapped, &wlen), COFFER_ERR_INVALID_LENGTH);
    EXPECT_STATUS(coffer_kw_wrap(KEK1, 32, NULL, 0, wrapped, &wlen), COFFER_ERR_INVALID_LENGTH);

    /* Tampering and the wrong key are one opaque error. */
    wlen = sizeof wrapped;
    EXPECT_OK(coffer_kw_wrap(KEK1, 32, key, 32, wrapped, &wlen));
    ulen = sizeof unwrapped;
    EXPECT_STATUS(coffer_kw_unwrap(KEK2, 32, wrapped, wlen, unwrapped, &ulen), COFFER_ERR_DECRYPT);
    wrapped[3] ^= 1;
    EXPECT_STATUS(coffer_kw_unwrap(KEK1, 32, wrapped, wlen, unwrapped, &ulen), COFFER_ERR_DECRYPT);
    EXPECT_STATUS(coffer_kw_unwrap(KEK1, 32, wrapped, 13, unwrapped, &ulen), COFFER_ERR_DECRYPT);

    /* KWP: any length, padded. */
    wlen = sizeof wrapped;
    EXPECT_OK(coffer_kwp_wrap(KEK1, 32, key, 5, wrapped, &wlen));
    EXPECT_TRUE(wlen == 16);
    ulen = 2;
    EXPECT_STATUS(coffer_kwp_unwrap(KEK1, 32, wrapped, wlen, unwrapped, &ulen), COFFER_ERR_BUFFER_TOO_SMALL);
    EXPECT_TRUE(ulen == 5);
    EXPECT_OK(coffer_kwp_unwrap(KEK1, 32, wrapped, wlen, unwrapped, &ulen));
    EXPECT_BYTES(unwrapped, ulen, key, 5);
    wrapped[0] ^= 0x80;
    ulen = sizeof unwrapped;
    EXPECT_STATUS(coffer_kwp_unwrap(KEK1, 32, wrapped, wlen, unwrapped, &ulen), COFFER_ERR_DECRYPT);
    wlen = sizeof wrapped;
    EXPECT_STATUS(coffer_kwp_wrap(KEK1, 32, NULL, 0, wrapped, &wlen), COFFER_ERR_INVALID_LENGTH);
    EXPECT_STATUS(coffer_kwp_wrap(KEK1, 31, key, 5, wrapped, &wlen), COFFER_ERR_INVALID_KEY);
}

/* ---- key pairs ---------------------------------------------------------- */

static coffer_keypair *rsa_key;  /* RSA-2048, shared by later tests */
static coffer_keypair *p256_key; /* P-256, shared by later tests */

static void test_keypairs(void) {
    EXPECT_OK(coffer_keypair_generate(COFFER_ALG_P256, &p256_key));
    EXPECT_OK(coffer_keypair_generate(COFFER_ALG_RSA_2048, &rsa_key));
    uint32_t alg = 0;
    EXPECT_OK(coffer_keypair_algorithm(p256_key, &alg));
    EXPECT_TRUE(alg == COFFER_ALG_P256);
    EXPECT_OK(coffer_keypair_algorithm(rsa_key, &alg));
    EXPECT_TRUE(alg == COFFER_ALG_RSA_2048);
    EXPECT_STATUS(coffer_keypair_algorithm(NULL, &alg), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keypair_algorithm(rsa_key, NULL), COFFER_ERR_NULL_POINTER);

    coffer_keypair *kp = NULL;
    EXPECT_STATUS(coffer_keypair_generate(99, &kp), COFFER_ERR_UNKNOWN_VALUE);
    EXPECT_TRUE(kp == NULL);
    EXPECT_STATUS(coffer_keypair_generate(COFFER_ALG_P256, NULL), COFFER_ERR_NULL_POINTER);

    /* PKCS#8 DER and PEM round trips, SPKI DER and PEM. */
    coffer_bytes der = {NULL, 0}, pem = {NULL, 0}, spki = {NULL, 0}, spki_pem = {NULL, 0};
    coffer_bytes spki2 = {NULL, 0};
    EXPECT_OK(coffer_keypair_to_pkcs8_der(p256_key, &der));
    EXPECT_OK(coffer_keypair_to_pkcs8_pem(p256_key, &pem));
    EXPECT_TRUE(pem.len > 27 && memcmp(pem.data, "-----BEGIN PRIVATE KEY-----", 27) == 0);
    EXPECT_OK(coffer_keypair_public_key_der(p256_key, &spki));
    EXPECT_OK(coffer_keypair_public_key_pem(p256_key, &spki_pem));
    EXPECT_TRUE(spki_pem.len > 26 && memcmp(spki_pem.data, "-----BEGIN PUBLIC KEY-----", 26) == 0);

    EXPECT_OK(coffer_keypair_from_pkcs8_der(der.data, der.len, &kp));
    EXPECT_OK(coffer_keypair_public_key_der(kp, &spki2));
    EXPECT_BYTES(spki2.data, spki2.len, spki.data, spki.len);
    coffer_bytes_free(&spki2);
    coffer_keypair_free(kp);
    kp = NULL;
    EXPECT_OK(coffer_keypair_from_pkcs8_pem(pem.data, pem.len, &kp));
    EXPECT_OK(coffer_keypair_public_key_der(kp, &spki2));
    EXPECT_BYTES(spki2.data, spki2.len, spki.data, spki.len);
    coffer_bytes_free(&spki2);
    coffer_keypair_free(kp);
    kp = NULL;

    /* Encrypted PKCS#8. */
    coffer_bytes enc = {NULL, 0};
    EXPECT_OK(coffer_keypair_to_encrypted_pkcs8_pem(p256_key, U8("correct horse"), 13, &enc));
    EXPECT_TRUE(enc.len > 37 && memcmp(enc.data, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 37) == 0);
    EXPECT_OK(coffer_keypair_from_encrypted_pkcs8_pem(enc.data, enc.len, U8("correct horse"), 13, &kp));
    EXPECT_OK(coffer_keypair_public_key_der(kp, &spki2));
    EXPECT_BYTES(spki2.data, spki2.len, spki.data, spki.len);
    coffer_bytes_free(&spki2);
    coffer_keypair_free(kp);
    kp = NULL;
    EXPECT_STATUS(coffer_keypair_from_encrypted_pkcs8_pem(enc.data, enc.len, U8("wrong horse"), 11, &kp),
                  COFFER_ERR_DECRYPT);
    EXPECT_TRUE(kp == NULL);
    EXPECT_STATUS(coffer_keypair_to_encrypted_pkcs8_pem(p256_key, NULL, 0, &enc), COFFER_ERR_INVALID_LENGTH);
    EXPECT_STATUS(coffer_keypair_to_encrypted_pkcs8_pem(p256_key, U8("x"), 1, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keypair_from_encrypted_pkcs8_pem(NULL, 5, U8("x"), 1, &kp), COFFER_ERR_NULL_POINTER);
    coffer_bytes_free(&enc);

    /* Bad input and NULLs. */
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    static const uint8_t not_utf8[] = {0xff, 0xfe, 0xfd};
    EXPECT_STATUS(coffer_keypair_from_pkcs8_der(junk, sizeof junk, &kp), COFFER_ERR_INVALID_KEY);
    EXPECT_STATUS(coffer_keypair_from_pkcs8_der(NULL, 10, &kp), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keypair_from_pkcs8_der(der.data, der.len, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keypair_from_pkcs8_pem(not_utf8, sizeof not_utf8, &kp), COFFER_ERR_NOT_UTF8);
    EXPECT_STATUS(coffer_keypair_from_pkcs8_pem(U8("-----BEGIN JUNK-----"), 20, &kp), COFFER_ERR_INVALID_KEY);
    EXPECT_STATUS(coffer_keypair_from_pkcs8_pem(NULL, 3, &kp), COFFER_ERR_NULL_POINTER);
    EXPECT_TRUE(kp == NULL);
    EXPECT_STATUS(coffer_keypair_to_pkcs8_der(NULL, &der), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keypair_to_pkcs8_der(p256_key, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keypair_to_pkcs8_pem(NULL, &pem), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keypair_public_key_der(NULL, &spki), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keypair_public_key_pem(p256_key, NULL), COFFER_ERR_NULL_POINTER);
    coffer_keypair_free(NULL);

    coffer_bytes_free(&der);
    coffer_bytes_free(&pem);
    coffer_bytes_free(&spki);
    coffer_bytes_free(&spki_pem);
}

/* ---- envelopes ---------------------------------------------------------- */

static void test_envelope(void) {
    coffer_bytes rsa_spki = {NULL, 0}, rsa_pkcs8 = {NULL, 0}, p256_spki = {NULL, 0}, p256_pkcs8 = {NULL, 0};
    EXPECT_OK(coffer_keypair_public_key_der(rsa_key, &rsa_spki));
    EXPECT_OK(coffer_keypair_to_pkcs8_der(rsa_key, &rsa_pkcs8));
    EXPECT_OK(coffer_keypair_public_key_der(p256_key, &p256_spki));
    EXPECT_OK(coffer_keypair_to_pkcs8_der(p256_key, &p256_pkcs8));

    coffer_recipient to[3] = {
        kek_recipient("acme-kek", 1, KEK1),
        {COFFER_KEY_RSA, U8("ops-rsa"), 7, 1, rsa_spki.data, rsa_spki.len},
        {COFFER_KEY_P256, U8("agent-p256"), 10, 3, p256_spki.data, p256_spki.len},
    };
    coffer_kv ctx[2] = {{U8("tenant"), 6, U8("acme"), 4}, {U8("purpose"), 7, U8("backup"), 6}};
    coffer_kv ctx_reordered[2] = {ctx[1], ctx[0]};
    coffer_kv other_ctx[1] = {{U8("tenant"), 6, U8("globex"), 6}};
    const char *msg = "quarterly numbers";

    coffer_bytes env = {NULL, 0}, pt = {NULL, 0};
    EXPECT_OK(coffer_envelope_seal(to, 3, ctx, 2, U8(msg), strlen(msg), &env));

    coffer_unlock_key keys[3] = {
        kek_unlock("acme-kek", 1, KEK1),
        {COFFER_KEY_RSA, U8("ops-rsa"), 7, 1, rsa_pkcs8.data, rsa_pkcs8.len},
        {COFFER_KEY_P256, U8("agent-p256"), 10, 3, p256_pkcs8.data, p256_pkcs8.len},
    };
    for (int i = 0; i < 3; i++) {
        EXPECT_OK(coffer_envelope_open(&keys[i], 1, ctx_reordered, 2, env.data, env.len, &pt));
        EXPECT_BYTES(pt.data, pt.len, msg, strlen(msg));
        coffer_bytes_free(&pt);
    }

    /* Every failure to open is COFFER_ERR_DECRYPT, and nothing is written. */
    EXPECT_STATUS(coffer_envelope_open(keys, 1, other_ctx, 1, env.data, env.len, &pt), COFFER_ERR_DECRYPT);
    EXPECT_STATUS(coffer_envelope_open(keys, 1, NULL, 0, env.data, env.len, &pt), COFFER_ERR_DECRYPT);
    coffer_unlock_key wrong = kek_unlock("acme-kek", 1, KEK2);
    EXPECT_STATUS(coffer_envelope_open(&wrong, 1, ctx, 2, env.data, env.len, &pt), COFFER_ERR_DECRYPT);
    coffer_unlock_key wrong_version = kek_unlock("acme-kek", 2, KEK1);
    EXPECT_STATUS(coffer_envelope_open(&wrong_version, 1, ctx, 2, env.data, env.len, &pt), COFFER_ERR_DECRYPT);
    env.data[env.len - 1] ^= 1;
    EXPECT_STATUS(coffer_envelope_open(keys, 1, ctx, 2, env.data, env.len, &pt), COFFER_ERR_DECRYPT);
    env.data[env.len - 1] ^= 1;
    EXPECT_STATUS(coffer_envelope_open(keys, 1, ctx, 2, env.data, env.len - 1, &pt), COFFER_ERR_DECRYPT);
    EXPECT_TRUE(pt.data == NULL && pt.len == 0);

    /* Bytes that are no envelope header are COFFER_ERR_MALFORMED, and no
     * keys at all are an argument error, not a failure to open. */
    EXPECT_STATUS(coffer_envelope_open(keys, 1, ctx, 2, env.data, 5, &pt), COFFER_ERR_MALFORMED);
    EXPECT_STATUS(coffer_envelope_open(NULL, 0, ctx, 2, env.data, env.len, &pt), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(pt.data == NULL && pt.len == 0);

    /* Argument errors are reported as such. */
    EXPECT_STATUS(coffer_envelope_open(NULL, 1, ctx, 2, env.data, env.len, &pt), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_open(keys, 1, NULL, 2, env.data, env.len, &pt), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_open(keys, 1, ctx, 2, NULL, env.len, &pt), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_open(keys, 1, ctx, 2, env.data, env.len, NULL), COFFER_ERR_NULL_POINTER);
    coffer_unlock_key bad_kind = keys[0];
    bad_kind.kind = 77;
    EXPECT_STATUS(coffer_envelope_open(&bad_kind, 1, ctx, 2, env.data, env.len, &pt), COFFER_ERR_UNKNOWN_VALUE);
    coffer_unlock_key bad_pkcs8 = keys[2];
    bad_pkcs8.key_len = 10;
    EXPECT_STATUS(coffer_envelope_open(&bad_pkcs8, 1, ctx, 2, env.data, env.len, &pt), COFFER_ERR_INVALID_KEY);

    coffer_bytes e2 = {NULL, 0};
    EXPECT_STATUS(coffer_envelope_seal(NULL, 0, NULL, 0, U8(msg), 1, &e2), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_envelope_seal(NULL, 1, NULL, 0, U8(msg), 1, &e2), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_seal(to, 1, NULL, 0, NULL, 1, &e2), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_seal(to, 1, NULL, 0, U8(msg), 1, NULL), COFFER_ERR_NULL_POINTER);
    coffer_recipient bad = to[0];
    bad.key_id_len = 0;
    EXPECT_STATUS(coffer_envelope_seal(&bad, 1, NULL, 0, U8(msg), 1, &e2), COFFER_ERR_LIMIT_EXCEEDED);
    bad = to[0];
    bad.key_len = 16;
    EXPECT_STATUS(coffer_envelope_seal(&bad, 1, NULL, 0, U8(msg), 1, &e2), COFFER_ERR_INVALID_KEY);
    bad = to[0];
    bad.kind = 0;
    EXPECT_STATUS(coffer_envelope_seal(&bad, 1, NULL, 0, U8(msg), 1, &e2), COFFER_ERR_UNKNOWN_VALUE);
    bad = to[1];
    bad.key = p256_spki.data;
    bad.key_len = p256_spki.len;
    EXPECT_STATUS(coffer_envelope_seal(&bad, 1, NULL, 0, U8(msg), 1, &e2), COFFER_ERR_INVALID_KEY);
    coffer_kv dup[2] = {ctx[0], ctx[0]};
    EXPECT_STATUS(coffer_envelope_seal(to, 1, dup, 2, U8(msg), 1, &e2), COFFER_ERR_INVALID_ARGUMENT);
    coffer_kv empty_key[1] = {{U8(""), 0, U8("v"), 1}};
    EXPECT_STATUS(coffer_envelope_seal(to, 1, empty_key, 1, U8(msg), 1, &e2), COFFER_ERR_LIMIT_EXCEEDED);
    coffer_kv null_value[1] = {{U8("k"), 1, NULL, 3}};
    EXPECT_STATUS(coffer_envelope_seal(to, 1, null_value, 1, U8(msg), 1, &e2), COFFER_ERR_NULL_POINTER);
    EXPECT_TRUE(e2.data == NULL);

    /* NULL with length 0 is the empty plaintext. */
    EXPECT_OK(coffer_envelope_seal(to, 1, NULL, 0, NULL, 0, &e2));
    EXPECT_OK(coffer_envelope_open(keys, 1, NULL, 0, e2.data, e2.len, &pt));
    EXPECT_TRUE(pt.data == NULL && pt.len == 0);
    coffer_bytes_free(&e2);

    /* Caller-buffer variants. */
    size_t need = 0;
    EXPECT_STATUS(coffer_envelope_seal_into(to, 3, ctx, 2, U8(msg), strlen(msg), NULL, &need),
                  COFFER_ERR_BUFFER_TOO_SMALL);
    EXPECT_TRUE(need == env.len);
    uint8_t *buf = malloc(need);
    size_t blen = need - 1;
    EXPECT_STATUS(coffer_envelope_seal_into(to, 3, ctx, 2, U8(msg), strlen(msg), buf, &blen),
                  COFFER_ERR_BUFFER_TOO_SMALL);
    EXPECT_TRUE(blen == need);
    EXPECT_OK(coffer_envelope_seal_into(to, 3, ctx, 2, U8(msg), strlen(msg), buf, &blen));
    EXPECT_TRUE(blen == need);
    EXPECT_STATUS(coffer_envelope_seal_into(to, 3, ctx, 2, U8(msg), strlen(msg), buf, NULL),
                  COFFER_ERR_NULL_POINTER);
    size_t nonzero = 8;
    EXPECT_STATUS(coffer_envelope_seal_into(to, 3, ctx, 2, U8(msg), strlen(msg), NULL, &nonzero),
                  COFFER_ERR_NULL_POINTER);
    uint8_t plain[64];
    size_t plen = 3;
    EXPECT_STATUS(coffer_envelope_open_into(&keys[1], 1, ctx, 2, buf, blen, plain, &plen),
                  COFFER_ERR_BUFFER_TOO_SMALL);
    EXPECT_TRUE(plen == strlen(msg));
    EXPECT_OK(coffer_envelope_open_into(&keys[1], 1, ctx, 2, buf, blen, plain, &plen));
    EXPECT_BYTES(plain, plen, msg, strlen(msg));
    plen = sizeof plain;
    EXPECT_STATUS(coffer_envelope_open_into(&keys[1], 1, other_ctx, 1, buf, blen, plain, &plen),
                  COFFER_ERR_DECRYPT);
    EXPECT_TRUE(plen == sizeof plain);
    EXPECT_STATUS(coffer_envelope_open_into(&keys[1], 1, ctx, 2, buf, blen, plain, NULL), COFFER_ERR_NULL_POINTER);
    free(buf);

    /* Rewrap to the next KEK version: only the new version opens it. */
    coffer_unlock_key old = kek_unlock("acme-kek", 1, KEK1);
    coffer_recipient next = kek_recipient("acme-kek", 2, KEK2);
    coffer_unlock_key next_key = kek_unlock("acme-kek", 2, KEK2);
    coffer_bytes rewrapped = {NULL, 0};
    EXPECT_OK(coffer_envelope_rewrap(env.data, env.len, &old, &next, &rewrapped));
    EXPECT_OK(coffer_envelope_open(&next_key, 1, ctx, 2, rewrapped.data, rewrapped.len, &pt));
    EXPECT_BYTES(pt.data, pt.len, msg, strlen(msg));
    coffer_bytes_free(&pt);
    EXPECT_STATUS(coffer_envelope_open(&old, 1, ctx, 2, rewrapped.data, rewrapped.len, &pt), COFFER_ERR_DECRYPT);
    coffer_bytes e3 = {NULL, 0};
    /* The old key no longer opens it; moving to a recipient that is already there is refused first. */
    coffer_recipient third = kek_recipient("third-kek", 1, KEK1);
    EXPECT_STATUS(coffer_envelope_rewrap(rewrapped.data, rewrapped.len, &old, &third, &e3), COFFER_ERR_DECRYPT);
    EXPECT_STATUS(coffer_envelope_rewrap(rewrapped.data, rewrapped.len, &old, &next, &e3),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_envelope_rewrap(U8("not an envelope"), 15, &old, &next, &e3), COFFER_ERR_MALFORMED);
    EXPECT_STATUS(coffer_envelope_rewrap(env.data, env.len, NULL, &next, &e3), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_rewrap(env.data, env.len, &old, NULL, &e3), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_rewrap(env.data, env.len, &old, &next, NULL), COFFER_ERR_NULL_POINTER);
    /* The new recipient may not already be another recipient. */
    EXPECT_STATUS(coffer_envelope_rewrap(env.data, env.len, &old, &to[1], &e3), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(e3.data == NULL);

    /* Add and remove recipients. */
    coffer_recipient extra = kek_recipient("backup-kek", 1, KEK2);
    coffer_unlock_key extra_key = kek_unlock("backup-kek", 1, KEK2);
    coffer_bytes added = {NULL, 0}, removed = {NULL, 0}, single = {NULL, 0};
    EXPECT_OK(coffer_envelope_add_recipient(env.data, env.len, &old, &extra, &added));
    EXPECT_OK(coffer_envelope_open(&extra_key, 1, ctx, 2, added.data, added.len, &pt));
    coffer_bytes_free(&pt);
    EXPECT_STATUS(coffer_envelope_add_recipient(added.data, added.len, &old, &extra, &e3),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_envelope_add_recipient(env.data, env.len, &wrong, &extra, &e3), COFFER_ERR_DECRYPT);
    EXPECT_STATUS(coffer_envelope_add_recipient(NULL, 4, &old, &extra, &e3), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_add_recipient(env.data, env.len, NULL, &extra, &e3), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_add_recipient(env.data, env.len, &old, NULL, &e3), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_add_recipient(env.data, env.len, &old, &extra, NULL), COFFER_ERR_NULL_POINTER);

    EXPECT_OK(coffer_envelope_remove_recipient(added.data, added.len, COFFER_KEY_KEK, U8("backup-kek"), 10, 1,
                                               &removed));
    EXPECT_STATUS(coffer_envelope_open(&extra_key, 1, ctx, 2, removed.data, removed.len, &pt), COFFER_ERR_DECRYPT);
    EXPECT_OK(coffer_envelope_open(&old, 1, ctx, 2, removed.data, removed.len, &pt));
    coffer_bytes_free(&pt);
    EXPECT_STATUS(coffer_envelope_remove_recipient(removed.data, removed.len, COFFER_KEY_KEK, U8("backup-kek"),
                                                   10, 1, &e3),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_envelope_remove_recipient(env.data, env.len, 42, U8("x"), 1, 1, &e3),
                  COFFER_ERR_UNKNOWN_VALUE);
    EXPECT_STATUS(coffer_envelope_remove_recipient(env.data, env.len, COFFER_KEY_KEK, NULL, 3, 1, &e3),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_remove_recipient(env.data, env.len, COFFER_KEY_KEK, U8("acme-kek"), 8, 1, NULL),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_remove_recipient(U8("junk"), 4, COFFER_KEY_KEK, U8("x"), 1, 1, &e3),
                  COFFER_ERR_MALFORMED);
    /* The last recipient cannot be removed. */
    EXPECT_OK(coffer_envelope_seal(to, 1, NULL, 0, U8(msg), 1, &single));
    EXPECT_STATUS(coffer_envelope_remove_recipient(single.data, single.len, COFFER_KEY_KEK, U8("acme-kek"), 8, 1,
                                                   &e3),
                  COFFER_ERR_INVALID_ARGUMENT);

    /* Header length, for streaming readers. */
    size_t hlen = 0;
    EXPECT_OK(coffer_envelope_header_len(env.data, COFFER_ENVELOPE_PREFIX_LEN, &hlen));
    EXPECT_TRUE(hlen > COFFER_ENVELOPE_PREFIX_LEN && hlen < env.len);
    EXPECT_STATUS(coffer_envelope_header_len(env.data, 4, &hlen), COFFER_ERR_INVALID_LENGTH);
    EXPECT_STATUS(coffer_envelope_header_len(U8("XXXXXXXXXXXX"), 12, &hlen), COFFER_ERR_MALFORMED);
    EXPECT_STATUS(coffer_envelope_header_len(NULL, 10, &hlen), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_envelope_header_len(env.data, 10, NULL), COFFER_ERR_NULL_POINTER);

    coffer_bytes_free(&single);
    coffer_bytes_free(&added);
    coffer_bytes_free(&removed);
    coffer_bytes_free(&rewrapped);
    coffer_bytes_free(&env);
    coffer_bytes_free(&rsa_spki);
    coffer_bytes_free(&rsa_pkcs8);
    coffer_bytes_free(&p256_spki);
    coffer_bytes_free(&p256_pkcs8);
}

/* ---- streaming ------------------------------------------------------------ */

/* Seals `len` bytes of `data` in chunks of 256; returns the envelope (malloc'd). */
static uint8_t *stream_seal(const coffer_recipient *to, const uint8_t *data, size_t len, size_t *out_len) {
    coffer_sealer *sealer = NULL;
    coffer_bytes header = {NULL, 0};
    EXPECT_OK(coffer_sealer_new(to, 1, NULL, 0, 256, &sealer, &header));
    size_t chunk = 0;
    EXPECT_OK(coffer_sealer_chunk_size(sealer, &chunk));
    EXPECT_TRUE(chunk == 256);
    size_t cap = header.len + len + (len / 256 + 1) * COFFER_ENVELOPE_TAG_LEN;
    uint8_t *out = malloc(cap);
    memcpy(out, header.data, header.len);
    size_t pos = header.len;
    coffer_bytes_free(&header);
    size_t off = 0;
    for (;;) {
        size_t n = len - off < chunk ? len - off : chunk;
        bool last = off + n == len && n < chunk;
        size_t room = cap - pos;
        EXPECT_OK(coffer_sealer_seal_chunk(sealer, data + off, n, last, out + pos, &room));
        pos += room;
        off += n;
        if (last) break;
    }
    coffer_sealer_free(sealer);
    *out_len = pos;
    return out;
}

static void test_streaming(void) {
    uint8_t data[700];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 31 + 5);
    coffer_recipient to = kek_recipient("stream-kek", 1, KEK1);
    coffer_unlock_key key = kek_unlock("stream-kek", 1, KEK1);

    size_t env_len = 0;
    uint8_t *env = stream_seal(&to, data, sizeof data, &env_len);

    /* A streamed envelope is an ordinary envelope. */
    coffer_bytes whole = {NULL, 0};
    EXPECT_OK(coffer_envelope_open(&key, 1, NULL, 0, env, env_len, &whole));
    EXPECT_BYTES(whole.data, whole.len, data, sizeof data);
    coffer_bytes_free(&whole);

    /* Open it chunk by chunk. */
    size_t hlen = 0;
    EXPECT_OK(coffer_envelope_header_len(env, COFFER_ENVELOPE_PREFIX_LEN, &hlen));
    coffer_opener *opener = NULL;
    EXPECT_OK(coffer_opener_new(&key, 1, NULL, 0, env, hlen, &opener));
    size_t sealed_chunk = 0;
    EXPECT_OK(coffer_opener_sealed_chunk_size(opener, &sealed_chunk));
    EXPECT_TRUE(sealed_chunk == 256 + COFFER_ENVELOPE_TAG_LEN);
    uint8_t plain[700];
    size_t got = 0, pos = hlen;
    while (pos < env_len) {
        size_t n = env_len - pos < sealed_chunk ? env_len - pos : sealed_chunk;
        bool last = pos + n == env_len;
        size_t room = 10;
        if (pos == hlen) {
            EXPECT_STATUS(coffer_opener_open_chunk(opener, env + pos, n, last, plain + got, &room),
                          COFFER_ERR_BUFFER_TOO_SMALL);
            EXPECT_TRUE(room == n - COFFER_ENVELOPE_TAG_LEN);
        }
        room = sizeof plain - got;
        EXPECT_OK(coffer_opener_open_chunk(opener, env + pos, n, last, plain + got, &room));
        got += room;
        pos += n;
    }
    EXPECT_OK(coffer_opener_finish(opener));
    EXPECT_BYTES(plain, got, data, sizeof data);
    size_t room = sizeof plain;
    EXPECT_STATUS(coffer_opener_finish(opener), COFFER_ERR_STREAM_FINISHED);
    EXPECT_STATUS(coffer_opener_open_chunk(opener, env + hlen, 272, false, plain, &room), COFFER_ERR_STREAM_FINISHED);
    EXPECT_STATUS(coffer_opener_sealed_chunk_size(opener, &sealed_chunk), COFFER_ERR_STREAM_FINISHED);
    coffer_opener_free(opener);

    /* Truncated at a chunk boundary: the chunks open, finish refuses. */
    opener = NULL;
    EXPECT_OK(coffer_opener_new(&key, 1, NULL, 0, env, hlen, &opener));
    room = sizeof plain;
    EXPECT_OK(coffer_opener_open_chunk(opener, env + hlen, 272, false, plain, &room));
    EXPECT_STATUS(coffer_opener_finish(opener), COFFER_ERR_DECRYPT);
    coffer_opener_free(opener);

    /* A tampered chunk fails, and the opener refuses everything after it. */
    opener = NULL;
    EXPECT_OK(coffer_opener_new(&key, 1, NULL, 0, env, hlen, &opener));
    env[hlen + 5] ^= 1;
    room = sizeof plain;
    EXPECT_STATUS(coffer_opener_open_chunk(opener, env + hlen, 272, false, plain, &room), COFFER_ERR_DECRYPT);
    EXPECT_TRUE(room == sizeof plain);
    env[hlen + 5] ^= 1;
    EXPECT_STATUS(coffer_opener_open_chunk(opener, env + hlen, 272, false, plain, &room), COFFER_ERR_DECRYPT);
    EXPECT_STATUS(coffer_opener_finish(opener), COFFER_ERR_DECRYPT);
    coffer_opener_free(opener);

    /* Wrong key or context: COFFER_ERR_DECRYPT at the header. */
    opener = NULL;
    coffer_unlock_key wrong = kek_unlock("stream-kek", 1, KEK2);
    EXPECT_STATUS(coffer_opener_new(&wrong, 1, NULL, 0, env, hlen, &opener), COFFER_ERR_DECRYPT);
    coffer_kv ctx[1] = {{U8("tenant"), 6, U8("acme"), 4}};
    EXPECT_STATUS(coffer_opener_new(&key, 1, ctx, 1, env, hlen, &opener), COFFER_ERR_DECRYPT);
    EXPECT_STATUS(coffer_opener_new(&key, 1, NULL, 0, env, hlen - 1, &opener), COFFER_ERR_MALFORMED);
    EXPECT_TRUE(opener == NULL);
    EXPECT_STATUS(coffer_opener_new(&key, 1, NULL, 0, NULL, hlen, &opener), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_opener_new(&key, 1, NULL, 0, env, hlen, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_opener_open_chunk(NULL, env, 10, true, plain, &room), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_opener_sealed_chunk_size(NULL, &sealed_chunk), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_opener_finish(NULL), COFFER_ERR_NULL_POINTER);
    coffer_opener_free(NULL);

    /* Sealer errors. */
    coffer_sealer *sealer = NULL;
    coffer_bytes header = {NULL, 0};
    EXPECT_STATUS(coffer_sealer_new(&to, 1, NULL, 0, 100, &sealer, &header), COFFER_ERR_LIMIT_EXCEEDED);
    EXPECT_STATUS(coffer_sealer_new(&to, 1, NULL, 0, 0, NULL, &header), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_sealer_new(&to, 1, NULL, 0, 0, &sealer, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_sealer_new(NULL, 0, NULL, 0, 0, &sealer, &header), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(sealer == NULL && header.data == NULL);
    EXPECT_OK(coffer_sealer_new(&to, 1, NULL, 0, 0, &sealer, &header));
    size_t chunk = 0;
    EXPECT_OK(coffer_sealer_chunk_size(sealer, &chunk));
    EXPECT_TRUE(chunk == COFFER_ENVELOPE_DEFAULT_CHUNK_SIZE);
    EXPECT_STATUS(coffer_sealer_chunk_size(NULL, &chunk), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_sealer_chunk_size(sealer, NULL), COFFER_ERR_NULL_POINTER);
    uint8_t out[64];
    size_t olen = 4;
    EXPECT_STATUS(coffer_sealer_seal_chunk(sealer, data, 10, true, out, &olen), COFFER_ERR_BUFFER_TOO_SMALL);
    EXPECT_TRUE(olen == 10 + COFFER_ENVELOPE_TAG_LEN);
    olen = sizeof out;
    EXPECT_STATUS(coffer_sealer_seal_chunk(sealer, data, 10, false, out, &olen), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_sealer_seal_chunk(sealer, NULL, 10, true, out, &olen), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_sealer_seal_chunk(sealer, data, 10, true, out, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_sealer_seal_chunk(NULL, data, 10, true, out, &olen), COFFER_ERR_NULL_POINTER);
    EXPECT_OK(coffer_sealer_seal_chunk(sealer, data, 10, true, out, &olen));
    EXPECT_TRUE(olen == 10 + COFFER_ENVELOPE_TAG_LEN);
    olen = sizeof out;
    EXPECT_STATUS(coffer_sealer_seal_chunk(sealer, data, 1, true, out, &olen), COFFER_ERR_STREAM_FINISHED);
    coffer_sealer_free(sealer);
    coffer_sealer_free(NULL);
    coffer_bytes_free(&header);
    free(env);
}

/* ---- certificates ------------------------------------------------------- */

static void test_certificates(void) {
    coffer_certificate *ca = NULL, *leaf = NULL, *other_ca = NULL, *copy = NULL;
    coffer_csr *csr = NULL, *csr_copy = NULL;
    const char *ca_subject = "CN=Test CA,O=Acme";
    EXPECT_OK(coffer_certificate_self_signed_ca(rsa_key, U8(ca_subject), strlen(ca_subject), 365, 0, &ca));
    EXPECT_OK(coffer_certificate_self_signed_ca(p256_key, U8("CN=Other CA"), 11, 30, -1, &other_ca));

    coffer_keypair *agent = NULL;
    EXPECT_OK(coffer_keypair_generate(COFFER_ALG_P256, &agent));
    coffer_san sans[3] = {
        {COFFER_SAN_DNS, U8("agent-7.acme.test"), 17},
        {COFFER_SAN_IP, U8("10.0.0.7"), 8},
        {COFFER_SAN_URI, U8("spiffe://acme/agent-7"), 21},
    };
    EXPECT_OK(coffer_csr_new(agent, U8("CN=agent-7,O=Acme"), 17, sans, 3, &csr));
    EXPECT_OK(coffer_certificate_issue(ca, rsa_key, csr, COFFER_LEAF_SERVER_AND_CLIENT, 30, NULL, 0, &leaf));
    EXPECT_OK(coffer_certificate_verify(leaf, ca));
    EXPECT_OK(coffer_certificate_verify(ca, ca));
    EXPECT_STATUS(coffer_certificate_verify(leaf, other_ca), COFFER_ERR_ISSUER_MISMATCH);
    EXPECT_STATUS(coffer_certificate_verify(NULL, ca), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_verify(leaf, NULL), COFFER_ERR_NULL_POINTER);

    /* Parts of the certificate. */
    coffer_bytes der = {NULL, 0}, pem = {NULL, 0}, subject = {NULL, 0}, pk = {NULL, 0}, agent_pk = {NULL, 0};
    EXPECT_OK(coffer_certificate_to_der(leaf, &der));
    EXPECT_OK(coffer_certificate_to_pem(leaf, &pem));
    EXPECT_TRUE(pem.len > 27 && memcmp(pem.data, "-----BEGIN CERTIFICATE-----", 27) == 0);
    EXPECT_OK(coffer_certificate_subject(leaf, &subject));
    EXPECT_TRUE(subject.len == 17 && memcmp(subject.data, "CN=agent-7,O=Acme", 17) == 0);
    EXPECT_OK(coffer_certificate_public_key_der(leaf, &pk));
    EXPECT_OK(coffer_keypair_public_key_der(agent, &agent_pk));
    EXPECT_BYTES(pk.data, pk.len, agent_pk.data, agent_pk.len);
    EXPECT_OK(coffer_certificate_from_der(der.data, der.len, &copy));
    EXPECT_OK(coffer_certificate_verify(copy, ca));
    coffer_certificate_free(copy);
    copy = NULL;
    EXPECT_OK(coffer_certificate_from_pem(pem.data, pem.len, &copy));
    EXPECT_OK(coffer_certificate_verify(copy, ca));
    coffer_certificate_free(copy);
    copy = NULL;
    EXPECT_STATUS(coffer_certificate_from_der(U8("junk"), 4, &copy), COFFER_ERR_MALFORMED);
    EXPECT_STATUS(coffer_certificate_from_pem(U8("junk"), 4, &copy), COFFER_ERR_MALFORMED);
    EXPECT_STATUS(coffer_certificate_from_der(NULL, 4, &copy), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_from_der(der.data, der.len, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_from_pem(NULL, 4, &copy), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_from_pem(pem.data, pem.len, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_TRUE(copy == NULL);
    EXPECT_STATUS(coffer_certificate_to_der(NULL, &der), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_to_pem(leaf, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_subject(NULL, &subject), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_public_key_der(leaf, NULL), COFFER_ERR_NULL_POINTER);

    /* The CSR. */
    coffer_bytes csr_der = {NULL, 0}, csr_pem = {NULL, 0};
    EXPECT_OK(coffer_csr_to_der(csr, &csr_der));
    EXPECT_OK(coffer_csr_to_pem(csr, &csr_pem));
    EXPECT_TRUE(csr_pem.len > 35 && memcmp(csr_pem.data, "-----BEGIN CERTIFICATE REQUEST-----", 35) == 0);
    EXPECT_OK(coffer_csr_from_der(csr_der.data, csr_der.len, &csr_copy));
    coffer_csr_free(csr_copy);
    csr_copy = NULL;
    EXPECT_OK(coffer_csr_from_pem(csr_pem.data, csr_pem.len, &csr_copy));
    EXPECT_STATUS(coffer_csr_from_der(U8("junk"), 4, &csr), COFFER_ERR_MALFORMED);
    EXPECT_STATUS(coffer_csr_from_pem(U8("junk"), 4, &csr), COFFER_ERR_MALFORMED);
    EXPECT_STATUS(coffer_csr_from_der(NULL, 4, &csr), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_csr_from_pem(csr_pem.data, csr_pem.len, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_csr_to_der(NULL, &csr_der), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_csr_to_pem(csr, NULL), COFFER_ERR_NULL_POINTER);

    /* Issue errors. */
    coffer_certificate *bad = NULL;
    EXPECT_STATUS(coffer_certificate_issue(leaf, agent, csr_copy, COFFER_LEAF_SERVER, 30, NULL, 0, &bad),
                  COFFER_ERR_NOT_A_CA);
    EXPECT_STATUS(coffer_certificate_issue(ca, p256_key, csr_copy, COFFER_LEAF_SERVER, 30, NULL, 0, &bad),
                  COFFER_ERR_KEY_MISMATCH);
    EXPECT_STATUS(coffer_certificate_issue(ca, rsa_key, csr_copy, 9, 30, NULL, 0, &bad), COFFER_ERR_UNKNOWN_VALUE);
    EXPECT_STATUS(coffer_certificate_issue(ca, rsa_key, csr_copy, COFFER_LEAF_CLIENT, 0, NULL, 0, &bad),
                  COFFER_ERR_INVALID_VALIDITY);
    EXPECT_STATUS(coffer_certificate_issue(ca, rsa_key, csr_copy, COFFER_LEAF_CLIENT, 30, NULL, 1, &bad),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_issue(NULL, rsa_key, csr_copy, COFFER_LEAF_CLIENT, 30, NULL, 0, &bad),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_issue(ca, NULL, csr_copy, COFFER_LEAF_CLIENT, 30, NULL, 0, &bad),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_issue(ca, rsa_key, NULL, COFFER_LEAF_CLIENT, 30, NULL, 0, &bad),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_issue(ca, rsa_key, csr_copy, COFFER_LEAF_CLIENT, 30, NULL, 0, NULL),
                  COFFER_ERR_NULL_POINTER);
    /* Explicit SANs replace the requested ones. */
    coffer_san server_san[1] = {{COFFER_SAN_DNS, U8("server.acme.test"), 16}};
    EXPECT_OK(coffer_certificate_issue(ca, rsa_key, csr_copy, COFFER_LEAF_SERVER, 30, server_san, 1, &bad));
    EXPECT_OK(coffer_certificate_verify(bad, ca));
    coffer_certificate_free(bad);
    bad = NULL;

    /* CA and CSR argument errors. */
    EXPECT_STATUS(coffer_certificate_self_signed_ca(rsa_key, U8(""), 0, 365, 0, &bad), COFFER_ERR_INVALID_SUBJECT);
    EXPECT_STATUS(coffer_certificate_self_signed_ca(rsa_key, U8("CN=x"), 4, 0, 0, &bad),
                  COFFER_ERR_INVALID_VALIDITY);
    EXPECT_STATUS(coffer_certificate_self_signed_ca(rsa_key, U8("CN=x"), 4, 1, 300, &bad),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_certificate_self_signed_ca(rsa_key, U8("CN=x"), 4, 1, -2, &bad),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_certificate_self_signed_ca(NULL, U8("CN=x"), 4, 1, 0, &bad), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_self_signed_ca(rsa_key, NULL, 4, 1, 0, &bad), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_certificate_self_signed_ca(rsa_key, U8("CN=x"), 4, 1, 0, NULL), COFFER_ERR_NULL_POINTER);
    static const uint8_t not_utf8[] = {'C', 'N', '=', 0xff};
    EXPECT_STATUS(coffer_certificate_self_signed_ca(rsa_key, not_utf8, 4, 1, 0, &bad), COFFER_ERR_NOT_UTF8);
    EXPECT_TRUE(bad == NULL);
    coffer_csr *bad_csr = NULL;
    coffer_san bad_ip[1] = {{COFFER_SAN_IP, U8("not-an-ip"), 9}};
    coffer_san bad_kind[1] = {{99, U8("x"), 1}};
    EXPECT_STATUS(coffer_csr_new(agent, U8("CN=a"), 4, bad_ip, 1, &bad_csr), COFFER_ERR_INVALID_SAN);
    EXPECT_STATUS(coffer_csr_new(agent, U8("CN=a"), 4, bad_kind, 1, &bad_csr), COFFER_ERR_UNKNOWN_VALUE);
    EXPECT_STATUS(coffer_csr_new(agent, U8("CN=a"), 4, NULL, 2, &bad_csr), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_csr_new(NULL, U8("CN=a"), 4, NULL, 0, &bad_csr), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_csr_new(agent, U8("CN=a"), 4, NULL, 0, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_csr_new(agent, U8("no equals sign"), 14, NULL, 0, &bad_csr), COFFER_ERR_INVALID_SUBJECT);
    EXPECT_TRUE(bad_csr == NULL);
    coffer_csr_free(NULL);
    coffer_certificate_free(NULL);

    coffer_bytes_free(&der);
    coffer_bytes_free(&pem);
    coffer_bytes_free(&subject);
    coffer_bytes_free(&pk);
    coffer_bytes_free(&agent_pk);
    coffer_bytes_free(&csr_der);
    coffer_bytes_free(&csr_pem);
    coffer_csr_free(csr);
    coffer_csr_free(csr_copy);
    coffer_certificate_free(leaf);
    coffer_certificate_free(ca);
    coffer_certificate_free(other_ca);
    coffer_keypair_free(agent);
}

/* ---- the HSM keystore -------------------------------------------------- */

/* Removes a SQLite store with its write-ahead log and shared-memory index. */
static void remove_store(const char *path) {
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

static void test_keystore(void) {
    char path[512], path2[512], missing[512];
    snprintf(path, sizeof path, "%s/test.coffer-store", scratch_dir);
    snprintf(path2, sizeof path2, "%s/master.coffer-store", scratch_dir);
    snprintf(missing, sizeof missing, "%s/missing.coffer-store", scratch_dir);
    remove_store(path);
    remove_store(path2);
    const char *pass = "keystore passphrase";
    const char *so_pin = "so-pin-123456";
    const char *user_pin = "user-pin-1234";
    const char *auditor_pin = "auditor-pin-12";
    const char *solo_pin = "solo-pin-1234";

    coffer_keystore *ks = NULL;
    EXPECT_STATUS(coffer_keystore_create(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, NULL, 0, 1, &ks),
                  COFFER_ERR_INVALID_LENGTH);
    EXPECT_STATUS(coffer_keystore_create(U8(path), strlen(path), 7, U8(pass), strlen(pass), 1, &ks),
                  COFFER_ERR_UNKNOWN_VALUE);
    EXPECT_STATUS(coffer_keystore_create(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8(pass),
                                         strlen(pass), 0, &ks),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_create(NULL, 5, COFFER_KEYSTORE_PASSPHRASE, U8(pass), strlen(pass), 1, &ks),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_create(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8(pass),
                                         strlen(pass), 1, NULL),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_create(U8(path2), strlen(path2), COFFER_KEYSTORE_MASTER_KEY, KEK1, 16, 1, &ks),
                  COFFER_ERR_INVALID_KEY);
    EXPECT_TRUE(ks == NULL);
    EXPECT_OK(coffer_keystore_create(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8(pass), strlen(pass), 2,
                                     &ks));

    /* Token and PINs. */
    EXPECT_OK(coffer_keystore_init_token(ks, 0, U8("main"), 4, U8(so_pin), strlen(so_pin)));
    EXPECT_STATUS(coffer_keystore_init_token(ks, 0, U8("main"), 4, U8(so_pin), strlen(so_pin)),
                  COFFER_ERR_TOKEN_STATE);
    EXPECT_STATUS(coffer_keystore_init_token(ks, 5, U8("x"), 1, U8(so_pin), strlen(so_pin)),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_init_token(ks, 1, U8("x"), 1, U8("123"), 3), COFFER_ERR_PIN_POLICY);
    EXPECT_STATUS(coffer_keystore_init_token(NULL, 1, U8("x"), 1, U8(so_pin), strlen(so_pin)),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_init_token(ks, 1, NULL, 1, U8(so_pin), strlen(so_pin)), COFFER_ERR_NULL_POINTER);

    uint64_t so = 0, user = 0, auditor = 0, other = 0, solo = 0, s = 0;
    EXPECT_STATUS(coffer_keystore_login_so(ks, 0, U8("wrong-pin-000"), 13, &so), COFFER_ERR_PIN_INCORRECT);
    EXPECT_OK(coffer_keystore_login_so(ks, 0, U8(so_pin), strlen(so_pin), &so));
    EXPECT_STATUS(coffer_keystore_login_so(ks, 1, U8(so_pin), strlen(so_pin), &s), COFFER_ERR_TOKEN_STATE);
    EXPECT_STATUS(coffer_keystore_login_so(ks, 0, U8(so_pin), strlen(so_pin), NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_login_so(ks, 0, NULL, 8, &s), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_login_so(NULL, 0, U8(so_pin), strlen(so_pin), &s), COFFER_ERR_NULL_POINTER);
    /* No credential named "user" yet: refused exactly as a wrong PIN. */
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), U8("acme"), 4,
                                             &user),
                  COFFER_ERR_PIN_INCORRECT);

    /* Tenants. */
    EXPECT_OK(coffer_keystore_tenant_create(ks, so, U8("acme"), 4));
    EXPECT_OK(coffer_keystore_tenant_create(ks, so, U8("globex"), 6));
    EXPECT_OK(coffer_keystore_tenant_create(ks, so, U8("initech"), 7));
    EXPECT_STATUS(coffer_keystore_tenant_create(ks, so, U8("acme"), 4), COFFER_ERR_ALREADY_EXISTS);
    EXPECT_STATUS(coffer_keystore_tenant_create(ks, so, U8("bad name"), 8), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_tenant_create(ks, so, NULL, 0), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_tenant_create(ks, so, NULL, 4), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_tenant_create(NULL, so, U8("umbrella"), 8), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_tenant_create(ks, 999, U8("umbrella"), 8), COFFER_ERR_NOT_LOGGED_IN);

    /* Credentials, each with its own PIN: one user in two tenants, one in a
     * single tenant, and an auditor (no tenants). */
    EXPECT_OK(coffer_keystore_user_create(ks, so, U8("user"), 4, COFFER_ROLE_USER, U8("acme,globex"), 11,
                                          U8(user_pin), strlen(user_pin)));
    EXPECT_OK(coffer_keystore_user_create(ks, so, U8("solo"), 4, COFFER_ROLE_USER, U8("initech"), 7, U8(solo_pin),
                                          strlen(solo_pin)));
    EXPECT_OK(coffer_keystore_user_create(ks, so, U8("auditor"), 7, COFFER_ROLE_AUDITOR, NULL, 0, U8(auditor_pin),
                                          strlen(auditor_pin)));
    EXPECT_STATUS(coffer_keystore_user_create(ks, so, U8("user"), 4, COFFER_ROLE_USER, U8("acme"), 4, U8(user_pin),
                                              strlen(user_pin)),
                  COFFER_ERR_ALREADY_EXISTS);
    EXPECT_STATUS(coffer_keystore_user_create(ks, so, U8("carol"), 5, COFFER_ROLE_USER, U8("acme,umbrella"), 13,
                                              U8(user_pin), strlen(user_pin)),
                  COFFER_ERR_NOT_FOUND);
    EXPECT_STATUS(coffer_keystore_user_create(ks, so, U8("carol"), 5, COFFER_ROLE_USER, NULL, 0, U8(user_pin),
                                              strlen(user_pin)),
                  COFFER_ERR_INVALID_ARGUMENT); /* a user needs a tenant */
    EXPECT_STATUS(coffer_keystore_user_create(ks, so, U8("carol"), 5, COFFER_ROLE_AUDITOR, U8("acme"), 4,
                                              U8(user_pin), strlen(user_pin)),
                  COFFER_ERR_INVALID_ARGUMENT); /* an auditor has none */
    EXPECT_STATUS(coffer_keystore_user_create(ks, so, U8("carol"), 5, COFFER_ROLE_SECURITY_OFFICER, NULL, 0,
                                              U8(so_pin), strlen(so_pin)),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_user_create(ks, so, U8("so"), 2, COFFER_ROLE_AUDITOR, NULL, 0, U8(auditor_pin),
                                              strlen(auditor_pin)),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_user_create(ks, so, U8("carol"), 5, 42, NULL, 0, U8(user_pin), strlen(user_pin)),
                  COFFER_ERR_UNKNOWN_VALUE);
    EXPECT_STATUS(coffer_keystore_user_create(ks, so, U8("carol"), 5, COFFER_ROLE_USER, U8("acme"), 4, U8("123"),
                                              3),
                  COFFER_ERR_PIN_POLICY);
    EXPECT_STATUS(coffer_keystore_user_create(ks, 999, U8("carol"), 5, COFFER_ROLE_USER, U8("acme"), 4,
                                              U8(user_pin), strlen(user_pin)),
                  COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_STATUS(coffer_keystore_user_create(ks, so, U8("carol"), 5, COFFER_ROLE_USER, U8("acme"), 4, NULL, 8),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_user_create(ks, so, U8("carol"), 5, COFFER_ROLE_USER, NULL, 4, U8(user_pin),
                                              strlen(user_pin)),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_user_create(ks, so, NULL, 5, COFFER_ROLE_USER, U8("acme"), 4, U8(user_pin),
                                              strlen(user_pin)),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_user_create(NULL, so, U8("carol"), 5, COFFER_ROLE_USER, U8("acme"), 4,
                                              U8(user_pin), strlen(user_pin)),
                  COFFER_ERR_NULL_POINTER);

    /* Logins: one credential, one session per tenant. */
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), U8("acme"), 4,
                                         &user));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), U8("globex"), 6,
                                         &other));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("solo"), 4, U8(solo_pin), strlen(solo_pin), NULL, 0,
                                         &solo)); /* its only tenant */
    EXPECT_TRUE(user != other && other != solo && user != so);
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), U8("initech"),
                                             7, &s),
                  COFFER_ERR_TENANT_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), U8("umbrella"),
                                             8, &s),
                  COFFER_ERR_TENANT_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), NULL, 0, &s),
                  COFFER_ERR_INVALID_ARGUMENT); /* two tenants: name one */
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("auditor"), 7, U8(auditor_pin), strlen(auditor_pin),
                                             U8("acme"), 4, &s),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("user"), 4, U8("wrong-pin-000"), 13, U8("acme"), 4, &s),
                  COFFER_ERR_PIN_INCORRECT);
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("mallory"), 7, U8(user_pin), strlen(user_pin), U8("acme"),
                                             4, &s),
                  COFFER_ERR_PIN_INCORRECT);
    EXPECT_STATUS(coffer_keystore_login_user(ks, 1, U8("user"), 4, U8(user_pin), strlen(user_pin), U8("acme"), 4,
                                             &s),
                  COFFER_ERR_TOKEN_STATE);
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), U8("acme"), 4,
                                             NULL),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, NULL, 4, U8(user_pin), strlen(user_pin), U8("acme"), 4, &s),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("user"), 4, NULL, 8, U8("acme"), 4, &s),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), NULL, 4, &s),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_login_user(NULL, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), U8("acme"), 4,
                                             &s),
                  COFFER_ERR_NULL_POINTER);

    /* Only the security officer administers. */
    EXPECT_STATUS(coffer_keystore_tenant_create(ks, user, U8("umbrella"), 8), COFFER_ERR_ROLE_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_user_create(ks, user, U8("carol"), 5, COFFER_ROLE_AUDITOR, NULL, 0, U8(user_pin),
                                              strlen(user_pin)),
                  COFFER_ERR_ROLE_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_pin_unblock(ks, user, U8("auditor"), 7, U8(user_pin), strlen(user_pin)),
                  COFFER_ERR_ROLE_NOT_ALLOWED);

    /* Lockout after five wrong PINs, per credential, unblocked by the
     * security officer. */
    for (int i = 0; i < 4; i++) {
        EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("auditor"), 7, U8("bad-pin-0000"), 12, NULL, 0, &s),
                      COFFER_ERR_PIN_INCORRECT);
    }
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("auditor"), 7, U8("bad-pin-0000"), 12, NULL, 0, &s),
                  COFFER_ERR_PIN_LOCKED);
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("auditor"), 7, U8(auditor_pin), strlen(auditor_pin), NULL, 0,
                                             &s),
                  COFFER_ERR_PIN_LOCKED);
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("solo"), 4, U8(solo_pin), strlen(solo_pin), NULL, 0, &s));
    EXPECT_OK(coffer_keystore_logout(ks, s)); /* another credential is not locked */
    EXPECT_STATUS(coffer_keystore_pin_unblock(ks, so, U8("nobody"), 6, U8(auditor_pin), strlen(auditor_pin)),
                  COFFER_ERR_NOT_FOUND);
    EXPECT_STATUS(coffer_keystore_pin_unblock(ks, so, U8("auditor"), 7, U8("123"), 3), COFFER_ERR_PIN_POLICY);
    EXPECT_STATUS(coffer_keystore_pin_unblock(ks, so, U8("auditor"), 7, NULL, 8), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_pin_unblock(ks, so, NULL, 7, U8(auditor_pin), strlen(auditor_pin)),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_pin_unblock(NULL, so, U8("auditor"), 7, U8(auditor_pin), strlen(auditor_pin)),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_pin_unblock(ks, 999, U8("auditor"), 7, U8(auditor_pin), strlen(auditor_pin)),
                  COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_OK(coffer_keystore_pin_unblock(ks, so, U8("auditor"), 7, U8(auditor_pin), strlen(auditor_pin)));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("auditor"), 7, U8(auditor_pin), strlen(auditor_pin), NULL, 0,
                                         &auditor));

    /* Keys. */
    coffer_key_attributes kek_attrs = {U8("acme data key"), 13, U8("acme-kek"), 8,
                                       COFFER_USAGE_ENCRYPT | COFFER_USAGE_DECRYPT | COFFER_USAGE_WRAP |
                                           COFFER_USAGE_UNWRAP,
                                       false, true};
    coffer_key_attributes sign_attrs = {U8("acme signing"), 12, U8("acme-sign"), 9,
                                        COFFER_USAGE_SIGN | COFFER_USAGE_VERIFY, false, true};
    coffer_key_attributes seal_only = {U8("seal only"), 9, U8("acme-seal-only"), 14, COFFER_USAGE_ENCRYPT, false,
                                       true};
    uint64_t kek = 0, signer = 0, sealer = 0, found = 0, h = 0;
    EXPECT_OK(coffer_keystore_generate(ks, user, COFFER_KEY_TYPE_AES256, &kek_attrs, &kek));
    EXPECT_OK(coffer_keystore_generate(ks, user, COFFER_KEY_TYPE_P256, &sign_attrs, &signer));
    EXPECT_OK(coffer_keystore_generate(ks, user, COFFER_KEY_TYPE_AES256, &seal_only, &sealer));
    EXPECT_TRUE(kek != signer && signer != sealer);
    EXPECT_STATUS(coffer_keystore_generate(ks, user, COFFER_KEY_TYPE_AES256, &kek_attrs, &h),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_generate(ks, so, COFFER_KEY_TYPE_AES256, &kek_attrs, &h),
                  COFFER_ERR_ROLE_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_generate(ks, user, 99, &kek_attrs, &h), COFFER_ERR_UNKNOWN_VALUE);
    coffer_key_attributes bad_usage = kek_attrs;
    bad_usage.usage = 0x100;
    EXPECT_STATUS(coffer_keystore_generate(ks, user, COFFER_KEY_TYPE_AES256, &bad_usage, &h),
                  COFFER_ERR_UNKNOWN_VALUE);
    EXPECT_STATUS(coffer_keystore_generate(ks, user, COFFER_KEY_TYPE_AES256, NULL, &h), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_generate(ks, user, COFFER_KEY_TYPE_AES256, &kek_attrs, NULL),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_generate(ks, 12345, COFFER_KEY_TYPE_AES256, &kek_attrs, &h),
                  COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_OK(coffer_keystore_find(ks, user, U8("acme-kek"), 8, &found));
    EXPECT_TRUE(found == kek);
    /* The same credential in another tenant: find looks only in its tenant;
     * acme's handle is refused as another tenant's. */
    EXPECT_STATUS(coffer_keystore_find(ks, other, U8("acme-kek"), 8, &found), COFFER_ERR_NOT_FOUND);
    EXPECT_STATUS(coffer_keystore_rotate(ks, other, kek, NULL), COFFER_ERR_TENANT_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_find(ks, solo, U8("acme-kek"), 8, &found), COFFER_ERR_NOT_FOUND);
    EXPECT_STATUS(coffer_keystore_find(ks, user, U8("nope"), 4, &found), COFFER_ERR_NOT_FOUND);
    EXPECT_STATUS(coffer_keystore_find(ks, user, NULL, 4, &found), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_find(ks, user, U8("acme-kek"), 8, NULL), COFFER_ERR_NULL_POINTER);

    /* Envelopes by handle. */
    coffer_kv ctx[1] = {{U8("tenant"), 6, U8("acme"), 4}};
    coffer_kv wrong_ctx[1] = {{U8("tenant"), 6, U8("globex"), 6}};
    coffer_bytes env = {NULL, 0}, pt = {NULL, 0}, env2 = {NULL, 0}, tmp = {NULL, 0};
    EXPECT_OK(coffer_keystore_seal_envelope(ks, user, kek, ctx, 1, U8("record"), 6, &env));
    EXPECT_OK(coffer_keystore_open_envelope(ks, user, kek, ctx, 1, env.data, env.len, &pt));
    EXPECT_BYTES(pt.data, pt.len, "record", 6);
    coffer_bytes_free(&pt);
    EXPECT_STATUS(coffer_keystore_open_envelope(ks, user, kek, wrong_ctx, 1, env.data, env.len, &pt),
                  COFFER_ERR_DECRYPT);
    EXPECT_STATUS(coffer_keystore_open_envelope(ks, other, kek, ctx, 1, env.data, env.len, &pt),
                  COFFER_ERR_TENANT_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_open_envelope(ks, solo, kek, ctx, 1, env.data, env.len, &pt),
                  COFFER_ERR_TENANT_NOT_ALLOWED);
    EXPECT_TRUE(pt.data == NULL && pt.len == 0);
    EXPECT_STATUS(coffer_keystore_open_envelope(ks, user, 999, ctx, 1, env.data, env.len, &pt),
                  COFFER_ERR_NOT_FOUND);
    EXPECT_STATUS(coffer_keystore_open_envelope(ks, user, kek, ctx, 1, NULL, 3, &pt), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_open_envelope(ks, user, kek, ctx, 1, env.data, env.len, NULL),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_seal_envelope(ks, user, signer, ctx, 1, U8("x"), 1, &tmp),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_seal_envelope(ks, user, kek, NULL, 1, U8("x"), 1, &tmp), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_seal_envelope(ks, user, kek, ctx, 1, U8("x"), 1, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_OK(coffer_keystore_seal_envelope(ks, user, sealer, ctx, 1, U8("x"), 1, &tmp));
    EXPECT_STATUS(coffer_keystore_open_envelope(ks, user, sealer, ctx, 1, tmp.data, tmp.len, &pt),
                  COFFER_ERR_POLICY_DENIED);
    coffer_bytes_free(&tmp);

    /* Envelopes sealed by handle are ordinary v1 envelopes: their header parses. */
    size_t hlen = 0;
    EXPECT_OK(coffer_envelope_header_len(env.data, env.len, &hlen));

    /* Sign and verify. */
    coffer_bytes sig = {NULL, 0}, spki = {NULL, 0};
    EXPECT_OK(coffer_keystore_sign(ks, user, signer, U8("webhook body"), 12, &sig));
    EXPECT_OK(coffer_keystore_verify(ks, user, signer, U8("webhook body"), 12, sig.data, sig.len));
    EXPECT_STATUS(coffer_keystore_verify(ks, user, signer, U8("webhook bodY"), 12, sig.data, sig.len),
                  COFFER_ERR_VERIFY);
    EXPECT_STATUS(coffer_keystore_verify(ks, user, signer, U8("x"), 1, NULL, 4), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_sign(ks, user, kek, U8("x"), 1, &tmp), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_sign(ks, user, signer, U8("x"), 1, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_sign(ks, auditor, signer, U8("x"), 1, &tmp), COFFER_ERR_ROLE_NOT_ALLOWED);
    EXPECT_OK(coffer_keystore_public_key_der(ks, user, signer, &spki));
    EXPECT_TRUE(spki.len == 91);
    EXPECT_STATUS(coffer_keystore_public_key_der(ks, user, signer, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_public_key_der(ks, other, signer, &tmp), COFFER_ERR_TENANT_NOT_ALLOWED);

    /* Rotation: the new version seals, the old envelope still opens, rewrap moves it. */
    uint32_t version = 0;
    EXPECT_OK(coffer_keystore_rotate(ks, user, kek, &version));
    EXPECT_TRUE(version == 2);
    EXPECT_OK(coffer_keystore_rotate(ks, user, kek, NULL));
    EXPECT_OK(coffer_keystore_open_envelope(ks, user, kek, ctx, 1, env.data, env.len, &pt));
    coffer_bytes_free(&pt);
    EXPECT_OK(coffer_keystore_rewrap_envelope(ks, user, kek, env.data, env.len, &env2));
    EXPECT_TRUE(env2.len == env.len);
    EXPECT_OK(coffer_keystore_open_envelope(ks, user, kek, ctx, 1, env2.data, env2.len, &pt));
    EXPECT_BYTES(pt.data, pt.len, "record", 6);
    coffer_bytes_free(&pt);
    EXPECT_STATUS(coffer_keystore_rewrap_envelope(ks, user, signer, env.data, env.len, &tmp),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_rewrap_envelope(ks, user, kek, NULL, 5, &tmp), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_rewrap_envelope(ks, user, kek, env.data, env.len, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_rotate(ks, user, 999, &version), COFFER_ERR_NOT_FOUND);
    EXPECT_STATUS(coffer_keystore_rotate(NULL, user, kek, &version), COFFER_ERR_NULL_POINTER);

    /* Destroy: crypto-shred of one key. */
    EXPECT_OK(coffer_keystore_destroy(ks, user, signer));
    EXPECT_STATUS(coffer_keystore_sign(ks, user, signer, U8("x"), 1, &tmp), COFFER_ERR_KEY_STATE);
    EXPECT_STATUS(coffer_keystore_destroy(ks, user, signer), COFFER_ERR_KEY_STATE);
    EXPECT_STATUS(coffer_keystore_destroy(ks, other, kek), COFFER_ERR_TENANT_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_destroy(ks, 777, kek), COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_TRUE(tmp.data == NULL);

    /* Shred a tenant. */
    coffer_key_attributes globex_attrs = {U8("globex key"), 10, U8("globex-kek"), 10, COFFER_USAGE_ENCRYPT, false,
                                          true};
    uint64_t globex_key = 0;
    EXPECT_OK(coffer_keystore_generate(ks, other, COFFER_KEY_TYPE_AES256, &globex_attrs, &globex_key));
    size_t destroyed = 0;
    EXPECT_OK(coffer_keystore_shred_tenant(ks, so, U8("globex"), 6, &destroyed));
    EXPECT_TRUE(destroyed == 1);
    EXPECT_OK(coffer_keystore_shred_tenant(ks, so, U8("initech"), 7, NULL)); /* a tenant without keys */
    EXPECT_STATUS(coffer_keystore_shred_tenant(ks, so, U8("nobody"), 6, &destroyed), COFFER_ERR_NOT_FOUND);
    EXPECT_STATUS(coffer_keystore_shred_tenant(ks, user, U8("globex"), 6, &destroyed), COFFER_ERR_ROLE_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_shred_tenant(ks, so, NULL, 6, &destroyed), COFFER_ERR_NULL_POINTER);

    /* Audit. */
    EXPECT_OK(coffer_keystore_audit_verify(ks, auditor));
    EXPECT_STATUS(coffer_keystore_audit_verify(ks, user), COFFER_ERR_ROLE_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_audit_verify(ks, 4242), COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_STATUS(coffer_keystore_audit_verify(NULL, auditor), COFFER_ERR_NULL_POINTER);

    /* Logout. */
    EXPECT_OK(coffer_keystore_logout(ks, other));
    EXPECT_STATUS(coffer_keystore_logout(ks, other), COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_STATUS(coffer_keystore_logout(NULL, user), COFFER_ERR_NULL_POINTER);

    /* Every change is committed when its call returns: save has nothing to
     * write and reports the store's generation. Reopened, the keys are there. */
    uint64_t counter = 0, generation = 0;
    EXPECT_OK(coffer_keystore_generation(ks, &generation));
    EXPECT_OK(coffer_keystore_save(ks, &counter));
    EXPECT_TRUE(counter == generation && generation > 1);
    EXPECT_OK(coffer_keystore_save(ks, NULL));
    EXPECT_STATUS(coffer_keystore_save(NULL, &counter), COFFER_ERR_NULL_POINTER);
    coffer_keystore_free(ks);
    ks = NULL;

    EXPECT_STATUS(coffer_keystore_create(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8(pass),
                                         strlen(pass), 1, &ks),
                  COFFER_ERR_KEYSTORE_EXISTS);
    EXPECT_STATUS(coffer_keystore_open(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8("wrong"), 5, 0, &ks),
                  COFFER_ERR_KEYSTORE_AUTH);
    EXPECT_STATUS(coffer_keystore_open(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8(pass), strlen(pass),
                                       generation + 1, &ks),
                  COFFER_ERR_KEYSTORE_ROLLBACK);
    EXPECT_STATUS(coffer_keystore_open(U8(missing), strlen(missing), COFFER_KEYSTORE_PASSPHRASE, U8(pass),
                                       strlen(pass), 0, &ks),
                  COFFER_ERR_KEYSTORE_MISSING);
    EXPECT_TRUE(access(missing, F_OK) != 0); /* opening never creates a store */
    EXPECT_STATUS(coffer_keystore_open(U8(path), strlen(path), COFFER_KEYSTORE_MASTER_KEY, KEK1, 32, 0, &ks),
                  COFFER_ERR_KEYSTORE_AUTH);
    EXPECT_STATUS(coffer_keystore_open(NULL, 3, COFFER_KEYSTORE_PASSPHRASE, U8(pass), strlen(pass), 0, &ks),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_open(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8(pass), strlen(pass),
                                       0, NULL),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_TRUE(ks == NULL);
    EXPECT_OK(coffer_keystore_open(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8(pass), strlen(pass),
                                   generation, &ks));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), U8("acme"), 4,
                                         &user));
    EXPECT_OK(coffer_keystore_find(ks, user, U8("acme-kek"), 8, &found));
    EXPECT_TRUE(found == kek);
    EXPECT_OK(coffer_keystore_open_envelope(ks, user, found, ctx, 1, env2.data, env2.len, &pt));
    EXPECT_BYTES(pt.data, pt.len, "record", 6);
    coffer_bytes_free(&pt);
    coffer_keystore_free(ks);
    ks = NULL;

    /* A keystore under a raw master key. */
    EXPECT_OK(coffer_keystore_create(U8(path2), strlen(path2), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 1, &ks));
    EXPECT_OK(coffer_keystore_init_token(ks, 0, U8("device"), 6, U8(so_pin), strlen(so_pin)));
    EXPECT_OK(coffer_keystore_save(ks, &counter));
    coffer_keystore_free(ks);
    ks = NULL;
    EXPECT_STATUS(coffer_keystore_open(U8(path2), strlen(path2), COFFER_KEYSTORE_MASTER_KEY, KEK1, 32, 0, &ks),
                  COFFER_ERR_KEYSTORE_AUTH);
    EXPECT_OK(coffer_keystore_open(U8(path2), strlen(path2), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, counter, &ks));
    coffer_keystore_free(ks);
    coffer_keystore_free(NULL);

    coffer_bytes_free(&sig);
    coffer_bytes_free(&spki);
    coffer_bytes_free(&env);
    coffer_bytes_free(&env2);
    remove_store(path);
    remove_store(path2);
}

/* ---- the HSM keystore: credential administration ------------------------ */

/* Whether the JSON text in `json` (not NUL-terminated) contains `needle`. */
static int json_contains(const coffer_bytes *json, const char *needle) {
    char *text = malloc(json->len + 1);
    if (text == NULL) return 0;
    if (json->len > 0) memcpy(text, json->data, json->len);
    text[json->len] = '\0';
    int found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

static void test_keystore_credentials(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/credentials.coffer-store", scratch_dir);
    remove_store(path);
    const char *pass = "first passphrase", *new_pass = "second passphrase";
    const char *so_pin = "so-pin-123456", *new_so_pin = "so-pin-654321";
    const char *alice_pin = "alice-pin-123", *new_alice_pin = "alice-pin-456";
    const char *audit_pin = "audit-pin-123", *new_audit_pin = "audit-pin-456";
    const char *temp_pin = "temp-pin-1234";
    coffer_keystore *ks = NULL, *other = NULL;
    uint64_t so = 0, alice = 0, auditor = 0, s = 0;
    coffer_bytes json = {NULL, 0};

    EXPECT_OK(coffer_keystore_create(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8(pass), strlen(pass), 1,
                                     &ks));
    EXPECT_OK(coffer_keystore_init_token(ks, 0, U8("admin"), 5, U8(so_pin), strlen(so_pin)));
    EXPECT_OK(coffer_keystore_login_so(ks, 0, U8(so_pin), strlen(so_pin), &so));
    EXPECT_OK(coffer_keystore_tenant_create(ks, so, U8("globex"), 6));
    EXPECT_OK(coffer_keystore_tenant_create(ks, so, U8("acme"), 4));
    EXPECT_OK(coffer_keystore_user_create(ks, so, U8("alice"), 5, COFFER_ROLE_USER, U8("globex,acme"), 11,
                                          U8(alice_pin), strlen(alice_pin)));
    EXPECT_OK(coffer_keystore_user_create(ks, so, U8("auditor"), 7, COFFER_ROLE_AUDITOR, NULL, 0, U8(audit_pin),
                                          strlen(audit_pin)));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("alice"), 5, U8(alice_pin), strlen(alice_pin), U8("acme"), 4,
                                         &alice));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("auditor"), 7, U8(audit_pin), strlen(audit_pin), NULL, 0,
                                         &auditor));

    /* Listing, by name: the security officer and the auditor see the tenants
     * and the credentials (never the security officer's, never a PIN); a
     * user sees neither. */
    EXPECT_OK(coffer_keystore_tenants_json(ks, so, &json));
    EXPECT_TRUE(json.len > 2 && json.data[0] == '[' && json.data[json.len - 1] == ']');
    EXPECT_TRUE(json_contains(&json, "[{\"name\":\"acme\",\"created\":"));
    EXPECT_TRUE(json_contains(&json, "},{\"name\":\"globex\",\"created\":"));
    coffer_bytes_free(&json);
    EXPECT_TRUE(json.data == NULL && json.len == 0);
    EXPECT_OK(coffer_keystore_users_json(ks, so, &json));
    EXPECT_TRUE(json_contains(&json, "[{\"name\":\"alice\",\"role\":\"user\",\"tenants\":[\"acme\",\"globex\"],"
                                     "\"failures\":0,\"locked\":false,\"created\":"));
    EXPECT_TRUE(json_contains(&json, "},{\"name\":\"auditor\",\"role\":\"auditor\",\"tenants\":[],"
                                     "\"failures\":0,\"locked\":false,\"created\":"));
    EXPECT_TRUE(!json_contains(&json, "\"so\""));
    EXPECT_TRUE(!json_contains(&json, alice_pin));
    coffer_bytes_free(&json);
    EXPECT_OK(coffer_keystore_users_json(ks, auditor, &json));
    EXPECT_TRUE(json_contains(&json, "\"name\":\"alice\"") && json_contains(&json, "\"name\":\"auditor\""));
    coffer_bytes_free(&json);
    EXPECT_OK(coffer_keystore_tenants_json(ks, auditor, &json));
    EXPECT_TRUE(json_contains(&json, "\"name\":\"acme\""));
    coffer_bytes_free(&json);
    EXPECT_STATUS(coffer_keystore_users_json(ks, alice, &json), COFFER_ERR_ROLE_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_tenants_json(ks, alice, &json), COFFER_ERR_ROLE_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_users_json(ks, 999, &json), COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_STATUS(coffer_keystore_tenants_json(ks, 999, &json), COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_TRUE(json.data == NULL && json.len == 0); /* written only on success */
    EXPECT_STATUS(coffer_keystore_users_json(ks, so, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_tenants_json(ks, so, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_users_json(NULL, so, &json), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_tenants_json(NULL, so, &json), COFFER_ERR_NULL_POINTER);

    /* Changing one's own PIN, in any role: a wrong old PIN counts as a failed
     * login; afterwards the new PIN logs in and the old one does not. */
    EXPECT_STATUS(coffer_keystore_pin_change(ks, alice, U8("wrong-pin-000"), 13, U8(new_alice_pin),
                                             strlen(new_alice_pin)),
                  COFFER_ERR_PIN_INCORRECT);
    EXPECT_OK(coffer_keystore_users_json(ks, so, &json));
    EXPECT_TRUE(json_contains(&json, "{\"name\":\"alice\",\"role\":\"user\",\"tenants\":[\"acme\",\"globex\"],"
                                     "\"failures\":1,\"locked\":false,"));
    coffer_bytes_free(&json);
    EXPECT_STATUS(coffer_keystore_pin_change(ks, alice, U8(alice_pin), strlen(alice_pin), U8("123"), 3),
                  COFFER_ERR_PIN_POLICY);
    EXPECT_STATUS(coffer_keystore_pin_change(ks, alice, U8(alice_pin), strlen(alice_pin), NULL, 8),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_pin_change(ks, alice, NULL, 8, U8(new_alice_pin), strlen(new_alice_pin)),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_pin_change(ks, 999, U8(alice_pin), strlen(alice_pin), U8(new_alice_pin),
                                             strlen(new_alice_pin)),
                  COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_STATUS(coffer_keystore_pin_change(NULL, alice, U8(alice_pin), strlen(alice_pin), U8(new_alice_pin),
                                             strlen(new_alice_pin)),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_OK(coffer_keystore_pin_change(ks, alice, U8(alice_pin), strlen(alice_pin), U8(new_alice_pin),
                                         strlen(new_alice_pin)));
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("alice"), 5, U8(alice_pin), strlen(alice_pin), U8("acme"), 4,
                                             &s),
                  COFFER_ERR_PIN_INCORRECT);
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("alice"), 5, U8(new_alice_pin), strlen(new_alice_pin),
                                         U8("globex"), 6, &s));
    EXPECT_OK(coffer_keystore_logout(ks, s));
    EXPECT_OK(coffer_keystore_pin_change(ks, so, U8(so_pin), strlen(so_pin), U8(new_so_pin), strlen(new_so_pin)));
    EXPECT_STATUS(coffer_keystore_login_so(ks, 0, U8(so_pin), strlen(so_pin), &s), COFFER_ERR_PIN_INCORRECT);
    EXPECT_OK(coffer_keystore_login_so(ks, 0, U8(new_so_pin), strlen(new_so_pin), &s));
    EXPECT_OK(coffer_keystore_logout(ks, s));
    EXPECT_OK(coffer_keystore_pin_change(ks, auditor, U8(audit_pin), strlen(audit_pin), U8(new_audit_pin),
                                         strlen(new_audit_pin)));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("auditor"), 7, U8(new_audit_pin), strlen(new_audit_pin), NULL, 0,
                                         &s));
    EXPECT_OK(coffer_keystore_logout(ks, s));

    /* Removing a credential: it no longer logs in, and is no longer listed. */
    EXPECT_OK(coffer_keystore_user_create(ks, so, U8("temp"), 4, COFFER_ROLE_USER, U8("acme"), 4, U8(temp_pin),
                                          strlen(temp_pin)));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("temp"), 4, U8(temp_pin), strlen(temp_pin), NULL, 0, &s));
    EXPECT_OK(coffer_keystore_logout(ks, s));
    EXPECT_STATUS(coffer_keystore_user_remove(ks, alice, U8("temp"), 4), COFFER_ERR_ROLE_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_user_remove(ks, 999, U8("temp"), 4), COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_STATUS(coffer_keystore_user_remove(ks, so, NULL, 4), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_user_remove(NULL, so, U8("temp"), 4), COFFER_ERR_NULL_POINTER);
    EXPECT_OK(coffer_keystore_user_remove(ks, so, U8("temp"), 4));
    EXPECT_STATUS(coffer_keystore_user_remove(ks, so, U8("temp"), 4), COFFER_ERR_NOT_FOUND);
    EXPECT_STATUS(coffer_keystore_login_user(ks, 0, U8("temp"), 4, U8(temp_pin), strlen(temp_pin), NULL, 0, &s),
                  COFFER_ERR_PIN_INCORRECT); /* as any unknown name */
    EXPECT_STATUS(coffer_keystore_pin_unblock(ks, so, U8("temp"), 4, U8(temp_pin), strlen(temp_pin)),
                  COFFER_ERR_NOT_FOUND);
    EXPECT_OK(coffer_keystore_users_json(ks, so, &json));
    EXPECT_TRUE(!json_contains(&json, "\"temp\"") && json_contains(&json, "\"name\":\"alice\""));
    coffer_bytes_free(&json);

    /* Re-keying the store under a new passphrase: the security officer only;
     * this handle goes on, a handle opened before must reopen, the old
     * passphrase opens nothing. */
    EXPECT_STATUS(coffer_keystore_passphrase_change(ks, alice, COFFER_KEYSTORE_PASSPHRASE, U8(new_pass),
                                                    strlen(new_pass)),
                  COFFER_ERR_ROLE_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_passphrase_change(ks, auditor, COFFER_KEYSTORE_PASSPHRASE, U8(new_pass),
                                                    strlen(new_pass)),
                  COFFER_ERR_ROLE_NOT_ALLOWED);
    EXPECT_STATUS(coffer_keystore_passphrase_change(ks, 999, COFFER_KEYSTORE_PASSPHRASE, U8(new_pass),
                                                    strlen(new_pass)),
                  COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_STATUS(coffer_keystore_passphrase_change(ks, so, 7, U8(new_pass), strlen(new_pass)),
                  COFFER_ERR_UNKNOWN_VALUE);
    EXPECT_STATUS(coffer_keystore_passphrase_change(ks, so, COFFER_KEYSTORE_PASSPHRASE, NULL, 0),
                  COFFER_ERR_INVALID_LENGTH);
    EXPECT_STATUS(coffer_keystore_passphrase_change(ks, so, COFFER_KEYSTORE_MASTER_KEY, KEK1, 16),
                  COFFER_ERR_INVALID_KEY);
    EXPECT_STATUS(coffer_keystore_passphrase_change(ks, so, COFFER_KEYSTORE_PASSPHRASE, NULL, 5),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_passphrase_change(NULL, so, COFFER_KEYSTORE_PASSPHRASE, U8(new_pass),
                                                    strlen(new_pass)),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_OK(coffer_keystore_open(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8(pass), strlen(pass), 0,
                                   &other));
    EXPECT_OK(coffer_keystore_passphrase_change(ks, so, COFFER_KEYSTORE_PASSPHRASE, U8(new_pass), strlen(new_pass)));
    EXPECT_OK(coffer_keystore_users_json(ks, so, &json));
    EXPECT_TRUE(json_contains(&json, "\"name\":\"alice\""));
    coffer_bytes_free(&json);
    EXPECT_STATUS(coffer_keystore_login_so(other, 0, U8(new_so_pin), strlen(new_so_pin), &s),
                  COFFER_ERR_KEYSTORE_AUTH);
    coffer_keystore_free(other);
    coffer_keystore_free(ks);
    ks = other = NULL;
    EXPECT_STATUS(coffer_keystore_open(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8(pass), strlen(pass), 0,
                                       &ks),
                  COFFER_ERR_KEYSTORE_AUTH);
    EXPECT_TRUE(ks == NULL);
    EXPECT_OK(coffer_keystore_open(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8(new_pass),
                                   strlen(new_pass), 0, &ks));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("alice"), 5, U8(new_alice_pin), strlen(new_alice_pin),
                                         U8("acme"), 4, &alice));
    EXPECT_OK(coffer_keystore_login_so(ks, 0, U8(new_so_pin), strlen(new_so_pin), &so));

    /* ... and from a passphrase to a raw master key. */
    EXPECT_OK(coffer_keystore_passphrase_change(ks, so, COFFER_KEYSTORE_MASTER_KEY, KEK1, 32));
    coffer_keystore_free(ks);
    ks = NULL;
    EXPECT_STATUS(coffer_keystore_open(U8(path), strlen(path), COFFER_KEYSTORE_PASSPHRASE, U8(new_pass),
                                       strlen(new_pass), 0, &ks),
                  COFFER_ERR_KEYSTORE_AUTH);
    EXPECT_OK(coffer_keystore_open(U8(path), strlen(path), COFFER_KEYSTORE_MASTER_KEY, KEK1, 32, 0, &ks));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("auditor"), 7, U8(new_audit_pin), strlen(new_audit_pin), NULL, 0,
                                         &auditor));
    EXPECT_OK(coffer_keystore_audit_verify(ks, auditor));
    coffer_keystore_free(ks);
    remove_store(path);
}

/* ---- where the keystore lives: the SQLite store ------------------------- */

/* Copies the file `from` to `to`; if `from` does not exist, removes `to`. */
static void copy_or_remove(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    if (in == NULL) {
        unlink(to);
        return;
    }
    FILE *out = fopen(to, "wb");
    EXPECT_TRUE(out != NULL);
    if (out != NULL) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, in)) > 0) EXPECT_TRUE(fwrite(buf, 1, n, out) == n);
        EXPECT_TRUE(fclose(out) == 0);
    }
    fclose(in);
}

/* Copies a SQLite store with its write-ahead log and shared-memory index,
 * as a backup and a restore do (only while no handle has it open). */
static void copy_store(const char *from, const char *to) {
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char a[600], b[600];
        snprintf(a, sizeof a, "%s%s", from, suffixes[i]);
        snprintf(b, sizeof b, "%s%s", to, suffixes[i]);
        copy_or_remove(a, b);
    }
}

static void test_keystore_store(void) {
    char db[512], backup[512], gen[512], gen2[512], v1[512], v1b[512], link[512], fifo[512], leftover[512],
        leftover_wal[600], nodir[512], garbage[512], empty[512];
    snprintf(db, sizeof db, "%s/shared.coffer-store", scratch_dir);
    snprintf(backup, sizeof backup, "%s/shared.backup", scratch_dir);
    snprintf(gen, sizeof gen, "%s/shared.generation", scratch_dir);
    snprintf(gen2, sizeof gen2, "%s/other.generation", scratch_dir);
    snprintf(v1, sizeof v1, "%s/snapshot.coffer", scratch_dir);
    snprintf(v1b, sizeof v1b, "%s/snapshot2.coffer", scratch_dir);
    snprintf(link, sizeof link, "%s/link.coffer-store", scratch_dir);
    snprintf(fifo, sizeof fifo, "%s/fifo.coffer-store", scratch_dir);
    snprintf(leftover, sizeof leftover, "%s/leftover.coffer-store", scratch_dir);
    snprintf(leftover_wal, sizeof leftover_wal, "%s-wal", leftover);
    snprintf(nodir, sizeof nodir, "%s/no-such-dir/x.coffer-store", scratch_dir);
    snprintf(garbage, sizeof garbage, "%s/garbage.coffer-store", scratch_dir);
    snprintf(empty, sizeof empty, "%s/empty.coffer-store", scratch_dir);
    remove_store(db);
    remove_store(backup);
    const char *cleanup[] = {gen, gen2, v1, v1b, link, fifo, leftover, leftover_wal, garbage, empty};
    for (size_t i = 0; i < sizeof cleanup / sizeof cleanup[0]; i++) unlink(cleanup[i]);
    const char *so_pin = "so-pin-123456", *user_pin = "user-pin-1234";
    const size_t n = strlen(db);
    coffer_keystore *a = NULL, *b = NULL, *ks = NULL;
    uint64_t g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g = 0, so = 0, user = 0, user_a = 0, counter = 0;

    /* A new store; every change raises its generation by one. */
    EXPECT_OK(coffer_keystore_create(U8(db), n, COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 1, &a));
    EXPECT_OK(coffer_keystore_generation(a, &g0));
    EXPECT_TRUE(g0 == 1);
    EXPECT_STATUS(coffer_keystore_generation(a, NULL), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_generation(NULL, &g), COFFER_ERR_NULL_POINTER);
    EXPECT_OK(coffer_keystore_init_token(a, 0, U8("shared"), 6, U8(so_pin), strlen(so_pin)));
    EXPECT_OK(coffer_keystore_generation(a, &g1));
    EXPECT_TRUE(g1 == g0 + 1);

    /* A second handle on the same path while the first is open (as a second
     * process would): it sees the token, and the first sees its changes. */
    EXPECT_OK(coffer_keystore_open(U8(db), n, COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, g1, &b));
    EXPECT_OK(coffer_keystore_generation(b, &g));
    EXPECT_TRUE(g == g1);
    EXPECT_OK(coffer_keystore_login_so(b, 0, U8(so_pin), strlen(so_pin), &so));
    EXPECT_OK(coffer_keystore_generation(b, &g2));
    EXPECT_TRUE(g2 == g1 + 1); /* a login is audited: a change */
    EXPECT_OK(coffer_keystore_tenant_create(b, so, U8("acme"), 4));
    EXPECT_OK(coffer_keystore_generation(b, &g3));
    EXPECT_TRUE(g3 == g2 + 1);
    EXPECT_OK(coffer_keystore_user_create(b, so, U8("user"), 4, COFFER_ROLE_USER, U8("acme"), 4, U8(user_pin),
                                          strlen(user_pin)));
    EXPECT_OK(coffer_keystore_generation(b, &g4));
    EXPECT_TRUE(g4 == g3 + 1);
    EXPECT_OK(coffer_keystore_login_user(a, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), U8("acme"), 4,
                                         &user_a));
    EXPECT_OK(coffer_keystore_generation(a, &g));
    EXPECT_TRUE(g == g4 + 1); /* one generation for every handle */
    coffer_key_attributes attrs = {U8("shared key"), 10, U8("shared-kek"), 10,
                                   COFFER_USAGE_ENCRYPT | COFFER_USAGE_DECRYPT, false, true};
    uint64_t made = 0, found = 0;
    EXPECT_OK(coffer_keystore_generate(a, user_a, COFFER_KEY_TYPE_AES256, &attrs, &made));
    EXPECT_OK(coffer_keystore_logout(b, so));
    EXPECT_OK(coffer_keystore_login_user(b, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), NULL, 0, &user));
    EXPECT_OK(coffer_keystore_find(b, user, U8("shared-kek"), 10, &found));
    EXPECT_TRUE(found == made);

    /* And a second process: a child opens the store while both handles here
     * are open, makes a key, and exits; this process finds it. */
    EXPECT_OK(coffer_keystore_generation(a, &g));
    fflush(NULL);
    pid_t child = fork();
    EXPECT_TRUE(child >= 0);
    if (child == 0) {
        coffer_keystore *c = NULL;
        uint64_t child_user = 0, child_key = 0, child_gen = 0;
        coffer_key_attributes child_attrs = {U8("child key"), 9, U8("child-kek"), 9, COFFER_USAGE_ENCRYPT, false,
                                             true};
        int ok = coffer_keystore_open(U8(db), n, COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, g, &c) == COFFER_OK &&
                 coffer_keystore_login_user(c, 0, U8("user"), 4, U8(user_pin), strlen(user_pin), U8("acme"), 4,
                                            &child_user) == COFFER_OK &&
                 coffer_keystore_generate(c, child_user, COFFER_KEY_TYPE_AES256, &child_attrs, &child_key) ==
                     COFFER_OK &&
                 coffer_keystore_generation(c, &child_gen) == COFFER_OK && child_gen == g + 2;
        coffer_keystore_free(c);
        _exit(ok ? 0 : 1);
    }
    int child_status = -1;
    EXPECT_TRUE(child > 0 && waitpid(child, &child_status, 0) == child);
    EXPECT_TRUE(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0);
    EXPECT_OK(coffer_keystore_find(a, user_a, U8("child-kek"), 9, &found));
    EXPECT_OK(coffer_keystore_generation(b, &g1));
    EXPECT_TRUE(g1 == g + 2);

    /* create refuses a file already at the path, and a path that cannot
     * name a regular file, and leaves either as it was. */
    struct stat st;
    EXPECT_STATUS(coffer_keystore_create(U8(db), n, COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 1, &ks),
                  COFFER_ERR_KEYSTORE_EXISTS);
    EXPECT_TRUE(symlink("no-such-target", link) == 0); /* dangling */
    EXPECT_STATUS(coffer_keystore_create(U8(link), strlen(link), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 1, &ks),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    EXPECT_TRUE(mkfifo(fifo, 0600) == 0);
    EXPECT_STATUS(coffer_keystore_create(U8(fifo), strlen(fifo), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 1, &ks),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    EXPECT_STATUS(coffer_keystore_create(U8("/dev/null"), 9, COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 1, &ks),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_create(U8(scratch_dir), strlen(scratch_dir), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32,
                                         1, &ks),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_create(U8("/"), 1, COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 1, &ks),
                  COFFER_ERR_INVALID_ARGUMENT);
    FILE *f = fopen(leftover_wal, "wb"); /* an old database's log: SQLite would replay it */
    EXPECT_TRUE(f != NULL);
    if (f) fclose(f);
    EXPECT_STATUS(coffer_keystore_create(U8(leftover), strlen(leftover), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 1,
                                         &ks),
                  COFFER_ERR_KEYSTORE_EXISTS);
    EXPECT_TRUE(access(leftover, F_OK) != 0);
    EXPECT_STATUS(coffer_keystore_create(U8(nodir), strlen(nodir), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 1, &ks),
                  COFFER_ERR_STORE_UNAVAILABLE);
    EXPECT_STATUS(coffer_keystore_create(NULL, 0, COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 1, &ks),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(ks == NULL);

    /* open refuses what is not a coffer store. */
    EXPECT_STATUS(coffer_keystore_open(U8(link), strlen(link), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 0, &ks),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_open(U8(fifo), strlen(fifo), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 0, &ks),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_open(U8(scratch_dir), strlen(scratch_dir), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32,
                                       0, &ks),
                  COFFER_ERR_INVALID_ARGUMENT);
    f = fopen(garbage, "wb");
    EXPECT_TRUE(f != NULL);
    if (f) {
        for (int i = 0; i < 100; i++) fputs("not a keystore, not a database. ", f);
        fclose(f);
    }
    EXPECT_STATUS(coffer_keystore_open(U8(garbage), strlen(garbage), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 0, &ks),
                  COFFER_ERR_STORE_CORRUPT);
    f = fopen(empty, "wb"); /* an empty file is an empty database: no keystore in it */
    EXPECT_TRUE(f != NULL);
    if (f) fclose(f);
    EXPECT_STATUS(coffer_keystore_open(U8(empty), strlen(empty), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 0, &ks),
                  COFFER_ERR_KEYSTORE_MISSING);
    EXPECT_TRUE(ks == NULL);

    /* A version-1 snapshot for backups: a new file each time; the export is
     * audited, so it is a change too. */
    uint64_t so_a = 0;
    EXPECT_OK(coffer_keystore_login_so(a, 0, U8(so_pin), strlen(so_pin), &so_a));
    EXPECT_OK(coffer_keystore_generation(a, &g1));
    EXPECT_OK(coffer_keystore_export_v1(a, so_a, U8(v1), strlen(v1), &counter));
    EXPECT_TRUE(counter == 1);
    EXPECT_OK(coffer_keystore_generation(a, &g2));
    EXPECT_TRUE(g2 == g1 + 1);
    EXPECT_TRUE(stat(v1, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0);
    EXPECT_STATUS(coffer_keystore_export_v1(a, so_a, U8(v1), strlen(v1), &counter), COFFER_ERR_KEYSTORE_EXISTS);
    EXPECT_STATUS(coffer_keystore_export_v1(a, so_a, U8(db), n, &counter), COFFER_ERR_KEYSTORE_EXISTS);
    EXPECT_STATUS(coffer_keystore_export_v1(a, 999, U8(v1b), strlen(v1b), &counter), COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_TRUE(access(v1b, F_OK) != 0);
    EXPECT_OK(coffer_keystore_export_v1(a, so_a, U8(v1b), strlen(v1b), NULL));
    EXPECT_STATUS(coffer_keystore_export_v1(NULL, so_a, U8(v1b), strlen(v1b), &counter), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_export_v1(a, so_a, NULL, 4, &counter), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_open(U8(v1), strlen(v1), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 0, &ks),
                  COFFER_ERR_STORE_CORRUPT); /* a snapshot is not a store */

    /* A generation file: bad arguments first. */
    EXPECT_STATUS(coffer_keystore_set_generation_file(a, NULL, 3), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_set_generation_file(NULL, U8(gen), strlen(gen)), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_set_generation_file(a, NULL, 0), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_set_generation_file(a, U8(fifo), strlen(fifo)), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_OK(coffer_keystore_set_generation_file(a, U8(gen), strlen(gen)));
    EXPECT_OK(coffer_keystore_set_generation_file(b, U8(gen), strlen(gen)));
    EXPECT_OK(coffer_keystore_generation(a, &g1));
    coffer_keystore_free(a);
    coffer_keystore_free(b);
    a = b = NULL;

    /* Back the store up (every handle closed), change it, restore the backup:
     * the generation file refuses the rolled-back store, and so does a
     * minimum generation; without either it would open. */
    copy_store(db, backup);
    EXPECT_OK(coffer_keystore_open(U8(db), n, COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, g1, &a));
    EXPECT_OK(coffer_keystore_set_generation_file(a, U8(gen), strlen(gen)));
    EXPECT_OK(coffer_keystore_login_so(a, 0, U8(so_pin), strlen(so_pin), &so));
    EXPECT_OK(coffer_keystore_shred_tenant(a, so, U8("acme"), 4, NULL));
    EXPECT_OK(coffer_keystore_generation(a, &g2));
    EXPECT_TRUE(g2 > g1);
    coffer_keystore_free(a);
    a = NULL;
    copy_store(backup, db);
    EXPECT_STATUS(coffer_keystore_open(U8(db), n, COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, g2, &a),
                  COFFER_ERR_KEYSTORE_ROLLBACK);
    EXPECT_TRUE(a == NULL);
    EXPECT_OK(coffer_keystore_open(U8(db), n, COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, 0, &a));
    EXPECT_OK(coffer_keystore_generation(a, &g));
    EXPECT_TRUE(g == g1);
    EXPECT_STATUS(coffer_keystore_set_generation_file(a, U8(gen), strlen(gen)), COFFER_ERR_KEYSTORE_ROLLBACK);
    EXPECT_OK(coffer_keystore_set_generation_file(a, U8(gen2), strlen(gen2))); /* a new file knows no better */
    coffer_keystore_free(a);

    remove_store(db);
    remove_store(backup);
    for (size_t i = 0; i < sizeof cleanup / sizeof cleanup[0]; i++) unlink(cleanup[i]);
    char lock[600];
    snprintf(lock, sizeof lock, "%s.lock", gen);
    unlink(lock);
    snprintf(lock, sizeof lock, "%s.lock", gen2);
    unlink(lock);
}

/* ---- signatures, webhooks, keys in and out of a keystore (issue 14) ------ */

static void test_signatures(void) {
    const uint8_t *msg = U8("signed release notes");
    size_t n = 20;
    static const uint32_t rsa_schemes[] = {COFFER_SIG_RSA_PSS_SHA256, COFFER_SIG_RSA_PKCS1_SHA256};
    coffer_bytes sig = {NULL, 0}, spki = {NULL, 0}, pem = {NULL, 0};
    for (size_t i = 0; i < 2; i++) {
        uint32_t scheme = rsa_schemes[i];
        EXPECT_OK(coffer_keypair_sign(rsa_key, scheme, msg, n, &sig));
        EXPECT_TRUE(sig.len == 256);
        EXPECT_OK(coffer_keypair_verify(rsa_key, scheme, msg, n, sig.data, sig.len));
        EXPECT_STATUS(coffer_keypair_verify(rsa_key, rsa_schemes[1 - i], msg, n, sig.data, sig.len), COFFER_ERR_VERIFY);
        EXPECT_OK(coffer_keypair_public_key_der(rsa_key, &spki));
        EXPECT_OK(coffer_public_key_verify_der(spki.data, spki.len, scheme, msg, n, sig.data, sig.len));
        EXPECT_OK(coffer_keypair_public_key_pem(rsa_key, &pem));
        EXPECT_OK(coffer_public_key_verify_pem(pem.data, pem.len, scheme, msg, n, sig.data, sig.len));
        EXPECT_STATUS(coffer_public_key_verify_pem(pem.data, pem.len, scheme, msg, n - 1, sig.data, sig.len),
                      COFFER_ERR_VERIFY);
        coffer_bytes_free(&sig);
        coffer_bytes_free(&spki);
        coffer_bytes_free(&pem);
    }
    /* ECDSA is DER-encoded, and deterministic (RFC 6979) in the default
     * build (the tests build libcoffer with the RustCrypto provider). */
    coffer_bytes again = {NULL, 0};
    EXPECT_OK(coffer_keypair_sign(p256_key, COFFER_SIG_ECDSA_P256_SHA256, msg, n, &sig));
    EXPECT_OK(coffer_keypair_sign(p256_key, COFFER_SIG_ECDSA_P256_SHA256, msg, n, &again));
    EXPECT_BYTES(sig.data, sig.len, again.data, again.len);
    EXPECT_TRUE(sig.len >= 8 && sig.len <= 72 && sig.data[0] == 0x30);
    coffer_certificate *ca = NULL;
    EXPECT_OK(coffer_certificate_self_signed_ca(p256_key, U8("CN=Signer"), 9, 30, 0, &ca));
    EXPECT_OK(coffer_certificate_verify_signature(ca, COFFER_SIG_ECDSA_P256_SHA256, msg, n, sig.data, sig.len));
    EXPECT_STATUS(coffer_certificate_verify_signature(ca, COFFER_SIG_RSA_PSS_SHA256, msg, n, sig.data, sig.len),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keypair_verify(rsa_key, COFFER_SIG_ECDSA_P256_SHA256, msg, n, sig.data, sig.len),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keypair_sign(p256_key, 42, msg, n, &again), COFFER_ERR_UNKNOWN_VALUE);
    coffer_certificate_free(ca);
    coffer_bytes_free(&sig);
    coffer_bytes_free(&again);

    /* Encrypted PKCS#8 as DER, both ways. */
    coffer_bytes enc = {NULL, 0}, spki2 = {NULL, 0};
    coffer_keypair *kp = NULL;
    EXPECT_OK(coffer_keypair_to_encrypted_pkcs8_der(p256_key, U8("correct horse"), 13, &enc));
    EXPECT_TRUE(enc.len > 0 && enc.data[0] == 0x30);
    EXPECT_OK(coffer_keypair_from_encrypted_pkcs8_der(enc.data, enc.len, U8("correct horse"), 13, &kp));
    EXPECT_OK(coffer_keypair_public_key_der(kp, &spki));
    EXPECT_OK(coffer_keypair_public_key_der(p256_key, &spki2));
    EXPECT_BYTES(spki.data, spki.len, spki2.data, spki2.len);
    coffer_keypair_free(kp);
    kp = NULL;
    EXPECT_STATUS(coffer_keypair_from_encrypted_pkcs8_der(enc.data, enc.len, U8("wrong horse"), 11, &kp),
                  COFFER_ERR_DECRYPT);
    EXPECT_TRUE(kp == NULL);
    coffer_bytes_free(&enc);
    coffer_bytes_free(&spki);
    coffer_bytes_free(&spki2);
}

static void test_webhooks(void) {
    /* The known answer of core/tests/webhook.rs: Python's
     * hmac.new(KEY, b'1700000000.{"id":1}', hashlib.sha256).hexdigest(). */
    const char *key = "whsec_test_key_0123456789abcdef";
    const char *expected = "t=1700000000,v1=b9b47eadd51c77153810cecb63c5f44de30cccf09b948dae7451d216faf14065";
    coffer_bytes header = {NULL, 0};
    EXPECT_OK(coffer_webhook_sign(U8(key), strlen(key), 1700000000, U8("{\"id\":1}"), 8, &header));
    EXPECT_BYTES(header.data, header.len, expected, strlen(expected));
    EXPECT_OK(coffer_webhook_verify(U8(key), strlen(key), U8("{\"id\":1}"), 8, header.data, header.len, 1700000300,
                                    COFFER_WEBHOOK_DEFAULT_TOLERANCE_SECS));
    EXPECT_STATUS(coffer_webhook_verify(U8(key), strlen(key), U8("{\"id\":1}"), 8, header.data, header.len,
                                        1700000301, COFFER_WEBHOOK_DEFAULT_TOLERANCE_SECS),
                  COFFER_ERR_VERIFY);
    const char *upper = "t=1700000000,v1=B9B47EADD51C77153810CECB63C5F44DE30CCCF09B948DAE7451D216FAF14065";
    EXPECT_OK(coffer_webhook_verify(U8(key), strlen(key), U8("{\"id\":1}"), 8, U8(upper), strlen(upper), 1700000000,
                                    0));
    EXPECT_STATUS(coffer_webhook_verify(U8(key), strlen(key), U8("{\"id\":1}"), 8, U8("t=1700000000"), 12,
                                        1700000000, 0),
                  COFFER_ERR_MALFORMED);
    EXPECT_STATUS(coffer_webhook_sign(U8(key), strlen(key), 1, NULL, 0, NULL), COFFER_ERR_NULL_POINTER);
    coffer_bytes_free(&header);
}

static void test_keystore_keys_in_and_out(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/import.coffer-store", scratch_dir);
    remove_store(path);
    const char *so_pin = "so-pin-123456", *pin = "user-pin-1234";
    coffer_keystore *ks = NULL;
    uint64_t so = 0, user = 0, kek = 0, mac = 0, copy = 0, imported = 0, found = 0;
    EXPECT_OK(coffer_keystore_create(U8(path), strlen(path), COFFER_KEYSTORE_MASTER_KEY, KEK1, 32, 1, &ks));
    EXPECT_OK(coffer_keystore_init_token(ks, 0, U8("t"), 1, U8(so_pin), strlen(so_pin)));
    EXPECT_OK(coffer_keystore_login_so(ks, 0, U8(so_pin), strlen(so_pin), &so));
    EXPECT_OK(coffer_keystore_tenant_create(ks, so, U8("acme"), 4));
    EXPECT_OK(coffer_keystore_user_create(ks, so, U8("u"), 1, COFFER_ROLE_USER, U8("acme"), 4, U8(pin), strlen(pin)));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("u"), 1, U8(pin), strlen(pin), NULL, 0, &user));
    uint32_t wrap = COFFER_USAGE_WRAP | COFFER_USAGE_UNWRAP;
    uint32_t seal = COFFER_USAGE_ENCRYPT | COFFER_USAGE_DECRYPT;
    uint32_t mac_usage = COFFER_USAGE_SIGN | COFFER_USAGE_VERIFY;
    coffer_key_attributes kek_attrs = {U8("transport"), 9, U8("transport"), 9, wrap, false, true};
    coffer_key_attributes mac_attrs = {U8("hooks"), 5, U8("hooks"), 5, mac_usage, true, true};
    coffer_key_attributes copy_attrs = {U8("hooks copy"), 10, U8("hooks-copy"), 10, mac_usage, false, true};
    coffer_key_attributes data_attrs = {U8("data"), 4, U8("data-kek"), 8, seal, false, true};
    EXPECT_OK(coffer_keystore_generate(ks, user, COFFER_KEY_TYPE_AES256, &kek_attrs, &kek));
    EXPECT_OK(coffer_keystore_generate(ks, user, COFFER_KEY_TYPE_HMAC_SHA256, &mac_attrs, &mac));

    /* HMAC and webhooks by handle. */
    coffer_bytes tag = {NULL, 0}, tag2 = {NULL, 0}, hook = {NULL, 0};
    EXPECT_OK(coffer_keystore_hmac_sign(ks, user, mac, U8("body"), 4, &tag));
    EXPECT_TRUE(tag.len == COFFER_HMAC_TAG_LEN);
    EXPECT_OK(coffer_keystore_hmac_verify(ks, user, mac, U8("body"), 4, tag.data, tag.len));
    EXPECT_STATUS(coffer_keystore_hmac_verify(ks, user, mac, U8("bodY"), 4, tag.data, tag.len), COFFER_ERR_VERIFY);
    EXPECT_OK(coffer_keystore_webhook_sign(ks, user, mac, 1700000000, U8("{}"), 2, &hook));
    EXPECT_TRUE(hook.len == 16 + 64 && memcmp(hook.data, "t=1700000000,v1=", 16) == 0);
    EXPECT_OK(coffer_keystore_webhook_verify(ks, user, mac, U8("{}"), 2, hook.data, hook.len, 1699999900, 300));
    EXPECT_STATUS(coffer_keystore_webhook_verify(ks, user, mac, U8("{}"), 2, hook.data, hook.len, 1700000301, 300),
                  COFFER_ERR_VERIFY);
    EXPECT_STATUS(coffer_keystore_webhook_verify(ks, user, mac, U8("{}"), 2, U8("v1=00"), 5, 1700000000, 300),
                  COFFER_ERR_MALFORMED);

    /* An extractable key moves out wrapped and back in as another key: same tags. */
    coffer_bytes out = {NULL, 0};
    EXPECT_OK(coffer_keystore_export_wrapped(ks, user, kek, mac, &out));
    EXPECT_TRUE(out.len == 40);
    EXPECT_OK(coffer_keystore_import_wrapped(ks, user, kek, COFFER_KEY_TYPE_HMAC_SHA256, &copy_attrs, out.data,
                                             out.len, &copy));
    EXPECT_OK(coffer_keystore_hmac_sign(ks, user, copy, U8("body"), 4, &tag2));
    EXPECT_BYTES(tag.data, tag.len, tag2.data, tag2.len);
    EXPECT_STATUS(coffer_keystore_export_wrapped(ks, user, kek, copy, &hook), COFFER_ERR_NOT_EXTRACTABLE);
    coffer_bytes_free(&out);

    /* Caller material wrapped, unwrapped, and imported: the imported KEK seals
     * envelopes that the caller's copy of the same bytes opens. */
    coffer_bytes wrapped = {NULL, 0}, back = {NULL, 0}, env = {NULL, 0}, pt = {NULL, 0};
    EXPECT_OK(coffer_keystore_wrap_key(ks, user, kek, KEK2, 32, &wrapped));
    EXPECT_TRUE(wrapped.len == 40);
    EXPECT_OK(coffer_keystore_unwrap_key(ks, user, kek, wrapped.data, wrapped.len, &back));
    EXPECT_BYTES(back.data, back.len, KEK2, 32);
    EXPECT_OK(coffer_keystore_import_wrapped(ks, user, kek, COFFER_KEY_TYPE_AES256, &data_attrs, wrapped.data,
                                             wrapped.len, &imported));
    EXPECT_OK(coffer_keystore_find(ks, user, U8("data-kek"), 8, &found));
    EXPECT_TRUE(found == imported);
    EXPECT_OK(coffer_keystore_seal_envelope(ks, user, imported, NULL, 0, U8("imported"), 8, &env));
    coffer_unlock_key mine = kek_unlock("data-kek", 1, KEK2);
    EXPECT_OK(coffer_envelope_open(&mine, 1, NULL, 0, env.data, env.len, &pt));
    EXPECT_BYTES(pt.data, pt.len, "imported", 8);
    EXPECT_STATUS(coffer_keystore_import_wrapped(ks, user, kek, COFFER_KEY_TYPE_AES256, &data_attrs, wrapped.data,
                                                 wrapped.len, &imported),
                  COFFER_ERR_INVALID_ARGUMENT); /* the key id is taken */
    coffer_bytes_free(&wrapped);
    coffer_bytes_free(&back);
    coffer_bytes_free(&env);
    coffer_bytes_free(&pt);
    coffer_bytes_free(&tag);
    coffer_bytes_free(&tag2);
    coffer_bytes_free(&hook);
    coffer_keystore_free(ks);
    remove_store(path);
}

/* ---- the HSM keystore: a CA whose key never leaves it ------------------ */

/* A CA certificate for the stored key `key` with `subject` (NUL-terminated),
 * valid `days`: the status, checked to leave no output on failure. */
static coffer_status stored_ca(coffer_keystore *ks, uint64_t session, uint64_t key, uint32_t scheme,
                               const char *subject, uint32_t days, int32_t path_len) {
    coffer_certificate *cert = NULL;
    coffer_status s =
        coffer_keystore_ca_certificate(ks, session, key, scheme, U8(subject), strlen(subject), days, path_len, &cert);
    EXPECT_TRUE(s == COFFER_OK || cert == NULL);
    coffer_certificate_free(cert);
    return s;
}

/* A client leaf of 30 days issued from `csr` under `ca` by the stored key
 * `key`, with the request's names: the status, as stored_ca(). */
static coffer_status stored_issue(coffer_keystore *ks, uint64_t session, uint64_t key, uint32_t scheme,
                                  const coffer_certificate *ca, const coffer_csr *csr, uint32_t usage) {
    coffer_certificate *cert = NULL;
    coffer_status s = coffer_keystore_issue_certificate(ks, session, key, scheme, ca, csr, usage, 30, NULL, 0, &cert);
    EXPECT_TRUE(s == COFFER_OK || cert == NULL);
    coffer_certificate_free(cert);
    return s;
}

static void test_keystore_certificates(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/pki.coffer-store", scratch_dir);
    remove_store(path);
    const char *so_pin = "so-pin-123456", *pin = "ca-admin-pin-1", *mallory_pin = "mallory-pin-1",
               *audit_pin = "audit-pin-123";
    coffer_keystore *ks = NULL;
    uint64_t so = 0, admin = 0, mallory = 0, auditor = 0;
    EXPECT_OK(coffer_keystore_create(U8(path), strlen(path), COFFER_KEYSTORE_MASTER_KEY, KEK1, 32, 1, &ks));
    EXPECT_OK(coffer_keystore_init_token(ks, 0, U8("pki"), 3, U8(so_pin), strlen(so_pin)));
    EXPECT_OK(coffer_keystore_login_so(ks, 0, U8(so_pin), strlen(so_pin), &so));
    EXPECT_OK(coffer_keystore_tenant_create(ks, so, U8("pki"), 3));
    EXPECT_OK(coffer_keystore_tenant_create(ks, so, U8("other"), 5));
    EXPECT_OK(coffer_keystore_user_create(ks, so, U8("ca-admin"), 8, COFFER_ROLE_USER, U8("pki"), 3, U8(pin),
                                          strlen(pin)));
    EXPECT_OK(coffer_keystore_user_create(ks, so, U8("mallory"), 7, COFFER_ROLE_USER, U8("other"), 5,
                                          U8(mallory_pin), strlen(mallory_pin)));
    EXPECT_OK(coffer_keystore_user_create(ks, so, U8("audit"), 5, COFFER_ROLE_AUDITOR, NULL, 0, U8(audit_pin),
                                          strlen(audit_pin)));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("ca-admin"), 8, U8(pin), strlen(pin), NULL, 0, &admin));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("mallory"), 7, U8(mallory_pin), strlen(mallory_pin), NULL, 0,
                                         &mallory));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("audit"), 5, U8(audit_pin), strlen(audit_pin), NULL, 0,
                                         &auditor));
    coffer_key_attributes root_attrs = {U8("root"), 4, U8("root-ca"), 7, COFFER_USAGE_SIGN | COFFER_USAGE_VERIFY,
                                        false, true};
    coffer_key_attributes issuing_attrs = {U8("issuing"), 7, U8("issuing-ca"), 10, COFFER_USAGE_SIGN, false, true};
    coffer_key_attributes other_attrs = {U8("not the CA"), 10, U8("not-the-ca"), 10, COFFER_USAGE_SIGN, false, true};
    coffer_key_attributes verify_attrs = {U8("verify only"), 11, U8("verify-only"), 11, COFFER_USAGE_VERIFY, false,
                                          true};
    coffer_key_attributes kek_attrs = {U8("kek"), 3, U8("kek"), 3, COFFER_USAGE_ENCRYPT, false, true};
    uint64_t root = 0, issuing = 0, not_the_ca = 0, verify_only = 0, kek = 0;
    EXPECT_OK(coffer_keystore_generate(ks, admin, COFFER_KEY_TYPE_P256, &root_attrs, &root));
    EXPECT_OK(coffer_keystore_generate(ks, admin, COFFER_KEY_TYPE_P256, &issuing_attrs, &issuing));
    EXPECT_OK(coffer_keystore_generate(ks, admin, COFFER_KEY_TYPE_P256, &other_attrs, &not_the_ca));
    EXPECT_OK(coffer_keystore_generate(ks, admin, COFFER_KEY_TYPE_P256, &verify_attrs, &verify_only));
    EXPECT_OK(coffer_keystore_generate(ks, admin, COFFER_KEY_TYPE_AES256, &kek_attrs, &kek));

    /* A stored P-256 root certifies itself: the certificate verifies and
     * carries the stored key's public key and the subject asked for. */
    const char *root_subject = "CN=Acme Root,O=Acme";
    coffer_certificate *ca = NULL, *leaf = NULL, *bad = NULL;
    coffer_bytes a = {NULL, 0}, b = {NULL, 0};
    EXPECT_OK(coffer_keystore_ca_certificate(ks, admin, root, COFFER_SIG_KEY_DEFAULT, U8(root_subject),
                                             strlen(root_subject), 3650, 1, &ca));
    EXPECT_OK(coffer_certificate_verify(ca, ca));
    EXPECT_OK(coffer_certificate_public_key_der(ca, &a));
    EXPECT_OK(coffer_keystore_public_key_der(ks, admin, root, &b));
    EXPECT_BYTES(a.data, a.len, b.data, b.len);
    coffer_bytes_free(&a);
    coffer_bytes_free(&b);
    EXPECT_OK(coffer_certificate_subject(ca, &a));
    EXPECT_BYTES(a.data, a.len, root_subject, strlen(root_subject));
    coffer_bytes_free(&a);

    /* It issues from a request made with coffer_csr_new: the leaf verifies
     * under the root and certifies the agent's key. */
    coffer_keypair *agent = NULL;
    coffer_csr *csr = NULL;
    coffer_san sans[2] = {{COFFER_SAN_DNS, U8("agent-7.acme.test"), 17}, {COFFER_SAN_IP, U8("10.0.0.7"), 8}};
    EXPECT_OK(coffer_keypair_generate(COFFER_ALG_P256, &agent));
    EXPECT_OK(coffer_csr_new(agent, U8("CN=agent-7,O=Acme"), 17, sans, 2, &csr));
    EXPECT_OK(coffer_keystore_issue_certificate(ks, admin, root, COFFER_SIG_KEY_DEFAULT, ca, csr, COFFER_LEAF_CLIENT,
                                                30, NULL, 0, &leaf));
    EXPECT_OK(coffer_certificate_verify(leaf, ca));
    EXPECT_OK(coffer_certificate_public_key_der(leaf, &a));
    EXPECT_OK(coffer_keypair_public_key_der(agent, &b));
    EXPECT_BYTES(a.data, a.len, b.data, b.len);
    coffer_bytes_free(&a);
    coffer_bytes_free(&b);
    EXPECT_OK(coffer_certificate_subject(leaf, &a));
    EXPECT_BYTES(a.data, a.len, "CN=agent-7,O=Acme", 17);
    coffer_bytes_free(&a);
    /* The key's own scheme may be named; the other key type's may not. */
    EXPECT_OK(coffer_keystore_issue_certificate(ks, admin, root, COFFER_SIG_ECDSA_P256_SHA256, ca, csr,
                                                COFFER_LEAF_SERVER, 30, sans, 1, &bad));
    EXPECT_OK(coffer_certificate_verify(bad, ca));
    coffer_certificate_free(bad);
    bad = NULL;
    const uint32_t dflt = COFFER_SIG_KEY_DEFAULT, client = COFFER_LEAF_CLIENT;
    EXPECT_STATUS(stored_issue(ks, admin, root, COFFER_SIG_RSA_PSS_SHA256, ca, csr, client),
                  COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(stored_issue(ks, admin, root, 99, ca, csr, client), COFFER_ERR_UNKNOWN_VALUE);

    /* A stored key that is not the CA's is refused; so are a certificate
     * that is no CA, a request whose signature does not verify, another
     * tenant, a key without SIGN or not P-256/RSA, and a non-user session. */
    EXPECT_STATUS(stored_issue(ks, admin, not_the_ca, dflt, ca, csr, client), COFFER_ERR_KEY_MISMATCH);
    EXPECT_STATUS(stored_issue(ks, admin, root, dflt, leaf, csr, client), COFFER_ERR_NOT_A_CA);
    coffer_bytes der = {NULL, 0};
    coffer_csr *tampered = NULL;
    EXPECT_OK(coffer_csr_to_der(csr, &der));
    der.data[der.len - 1] ^= 1; /* the last byte of the signature */
    EXPECT_OK(coffer_csr_from_der(der.data, der.len, &tampered));
    EXPECT_STATUS(stored_issue(ks, admin, root, dflt, ca, tampered, client), COFFER_ERR_VERIFY);
    coffer_bytes_free(&der);
    EXPECT_STATUS(stored_issue(ks, mallory, root, dflt, ca, csr, client), COFFER_ERR_TENANT_NOT_ALLOWED);
    EXPECT_STATUS(stored_ca(ks, admin, verify_only, dflt, "CN=x", 1, 0), COFFER_ERR_POLICY_DENIED);
    EXPECT_STATUS(stored_ca(ks, admin, kek, dflt, "CN=x", 1, 0), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(stored_ca(ks, auditor, root, dflt, "CN=x", 1, 0), COFFER_ERR_ROLE_NOT_ALLOWED);
    EXPECT_STATUS(stored_ca(ks, 999, root, dflt, "CN=x", 1, 0), COFFER_ERR_NOT_LOGGED_IN);
    EXPECT_STATUS(stored_ca(ks, admin, 999, dflt, "CN=x", 1, 0), COFFER_ERR_NOT_FOUND);

    /* Arguments are checked as coffer_certificate_self_signed_ca and
     * coffer_certificate_issue check them. */
    const uint8_t not_utf8[4] = {'C', 'N', '=', 0xff};
    EXPECT_STATUS(stored_ca(ks, admin, root, dflt, "no equals sign", 1, 0), COFFER_ERR_INVALID_SUBJECT);
    EXPECT_STATUS(stored_ca(ks, admin, root, dflt, "CN=x", 0, 0), COFFER_ERR_INVALID_VALIDITY);
    EXPECT_STATUS(stored_ca(ks, admin, root, dflt, "CN=x", 1, 300), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(coffer_keystore_ca_certificate(ks, admin, root, dflt, not_utf8, 4, 1, 0, &bad), COFFER_ERR_NOT_UTF8);
    EXPECT_STATUS(coffer_keystore_ca_certificate(ks, admin, root, dflt, U8("CN=x"), 4, 1, 0, NULL),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_ca_certificate(NULL, admin, root, dflt, U8("CN=x"), 4, 1, 0, &bad),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(stored_issue(ks, admin, root, dflt, ca, csr, 9), COFFER_ERR_UNKNOWN_VALUE);
    EXPECT_STATUS(stored_issue(ks, admin, root, dflt, NULL, csr, client), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(stored_issue(ks, admin, root, dflt, ca, NULL, client), COFFER_ERR_NULL_POINTER);
    EXPECT_STATUS(coffer_keystore_issue_certificate(ks, admin, root, dflt, ca, csr, client, 30, NULL, 0, NULL),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_TRUE(bad == NULL); /* no output on failure */

    /* A request for a stored key (an intermediate CA whose key stays in the
     * keystore): its signature verifies, as a root elsewhere issuing from
     * it shows, and it certifies the stored key. */
    coffer_csr *request = NULL, *no_request = NULL;
    coffer_certificate *offline_root = NULL, *issued = NULL;
    coffer_san ca_name = {COFFER_SAN_URI, U8("https://pki.acme.test"), 21};
    coffer_san bad_kind = {9, U8("x"), 1};
    EXPECT_OK(coffer_keystore_certificate_request(ks, admin, issuing, dflt, U8("CN=Acme Issuing CA"), 18, &ca_name, 1,
                                                  &request));
    EXPECT_OK(coffer_certificate_self_signed_ca(rsa_key, U8("CN=Offline Root"), 15, 365, 1, &offline_root));
    EXPECT_OK(coffer_certificate_issue(offline_root, rsa_key, request, COFFER_LEAF_CLIENT, 30, NULL, 0, &issued));
    EXPECT_OK(coffer_certificate_verify(issued, offline_root));
    EXPECT_OK(coffer_certificate_public_key_der(issued, &a));
    EXPECT_OK(coffer_keystore_public_key_der(ks, admin, issuing, &b));
    EXPECT_BYTES(a.data, a.len, b.data, b.len);
    coffer_bytes_free(&a);
    coffer_bytes_free(&b);
    EXPECT_OK(coffer_certificate_subject(issued, &a));
    EXPECT_BYTES(a.data, a.len, "CN=Acme Issuing CA", 18);
    coffer_bytes_free(&a);
    EXPECT_STATUS(coffer_keystore_certificate_request(ks, admin, issuing, dflt, U8("CN=x"), 4, &bad_kind, 1,
                                                      &no_request),
                  COFFER_ERR_UNKNOWN_VALUE);
    EXPECT_STATUS(coffer_keystore_certificate_request(ks, admin, verify_only, dflt, U8("CN=x"), 4, NULL, 0,
                                                      &no_request),
                  COFFER_ERR_POLICY_DENIED);
    EXPECT_STATUS(coffer_keystore_certificate_request(ks, admin, issuing, dflt, U8("CN=x"), 4, NULL, 0, NULL),
                  COFFER_ERR_NULL_POINTER);
    EXPECT_TRUE(no_request == NULL);

    /* Every signature and refusal is in the audit chain the auditor verifies. */
    EXPECT_OK(coffer_keystore_audit_verify(ks, auditor));

    coffer_certificate_free(issued);
    coffer_certificate_free(offline_root);
    coffer_csr_free(request);
    coffer_csr_free(tampered);
    coffer_csr_free(csr);
    coffer_keypair_free(agent);
    coffer_certificate_free(leaf);
    coffer_certificate_free(ca);
    coffer_keystore_free(ks);
    remove_store(path);
}

int main(int argc, char **argv) {
    scratch_dir = argc > 1 ? argv[1] : ".";
    test_version_and_messages();
    test_bytes_free();
    test_key_wrap();
    test_keypairs();
    test_envelope();
    test_streaming();
    test_certificates();
    test_keystore();
    test_keystore_credentials();
    test_keystore_store();
    test_signatures();
    test_webhooks();
    test_keystore_keys_in_and_out();
    test_keystore_certificates();
    coffer_keypair_free(rsa_key);
    coffer_keypair_free(p256_key);
    return check_summary("test_coffer");
}
