/* mbed-p256: the P-256 operations of coffer's fp-p256, measured and each
 * checked. Key generation draws from HMAC_DRBG seeded once with a fixed
 * seed from inputs.h: QEMU's board has no TRNG (coffer seeds a ChaCha20
 * DRBG from the build machine for the same reason). Do not ship that.
 *
 * Measured: key generation; ECDSA-SHA-256 signing of MESSAGE with the new
 * key (RFC 6979 nonce, DER signature) and verifying it, each with the
 * SHA-256 of the message as coffer's sign and verify do; ECDH of host key A
 * with host key B's public key. Checked: the new key's public point is its
 * secret times the generator; the signature verifies and fails for a
 * changed message; signing with host key A gives OpenSSL's RFC 6979
 * signature byte for byte, and OpenSSL's verifies here; ECDH gives
 * OpenSSL's shared secret; ECDH of the new key and host key B agrees from
 * both sides. */
#include <string.h>

#include "inputs.h"
#include "measure.h"
#include "mbedtls/ecdh.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/ecp.h"
#include "mbedtls/hmac_drbg.h"
#include "mbedtls/md.h"
#include "mbedtls/sha256.h"

#define CURVE MBEDTLS_ECP_DP_SECP256R1
#define POINT_BYTES 65u

/* The generator every operation draws from (main's). */
static mbedtls_hmac_drbg_context *drbg;

/* Loads the uncompressed point `public_point` into `key` as its public key. */
static int load_public(mbedtls_ecp_keypair *key, const uint8_t public_point[POINT_BYTES])
{
    mbedtls_ecp_group group;
    mbedtls_ecp_point point;
    mbedtls_ecp_group_init(&group);
    mbedtls_ecp_point_init(&point);
    int status = mbedtls_ecp_group_load(&group, CURVE);
    if (status == 0) {
        status = mbedtls_ecp_point_read_binary(&group, &point, public_point, POINT_BYTES);
    }
    if (status == 0) {
        status = mbedtls_ecp_check_pubkey(&group, &point);
    }
    if (status == 0) {
        status = mbedtls_ecp_set_public_key(CURVE, key, &point);
    }
    mbedtls_ecp_point_free(&point);
    mbedtls_ecp_group_free(&group);
    return status;
}

/* Loads a key pair from its 32-byte secret, computing the public point. */
static int load_secret(mbedtls_ecp_keypair *key, const uint8_t secret[32])
{
    int status = mbedtls_ecp_read_key(CURVE, key, secret, 32);
    if (status == 0) {
        status = mbedtls_ecp_keypair_calc_public(key, mbedtls_hmac_drbg_random, drbg);
    }
    return status;
}

struct signing {
    mbedtls_ecp_keypair *key;
    const char *message;
    uint8_t signature[MBEDTLS_ECDSA_MAX_LEN];
    size_t signature_length;
};

static int generate(void *context)
{
    return mbedtls_ecp_gen_key(CURVE, context, mbedtls_hmac_drbg_random, drbg);
}

static int sign(void *context)
{
    struct signing *s = context;
    uint8_t hash[32];
    int status = mbedtls_sha256((const unsigned char *)s->message, strlen(s->message), hash, 0);
    if (status == 0) {
        status = mbedtls_ecdsa_write_signature(s->key, MBEDTLS_MD_SHA256, hash, sizeof hash,
                                               s->signature, sizeof s->signature,
                                               &s->signature_length, mbedtls_hmac_drbg_random,
                                               drbg);
    }
    return status;
}

/* 0 if the signature is valid for the message and the key's public point. */
static int verify(void *context)
{
    struct signing *s = context;
    uint8_t hash[32];
    int status = mbedtls_sha256((const unsigned char *)s->message, strlen(s->message), hash, 0);
    if (status == 0) {
        status = mbedtls_ecdsa_read_signature(s->key, hash, sizeof hash, s->signature,
                                              s->signature_length);
    }
    return status;
}

struct agreement {
    mbedtls_ecdh_context ecdh;
    uint8_t shared[32];
};

static int agree(void *context)
{
    struct agreement *a = context;
    size_t length = 0;
    int status = mbedtls_ecdh_calc_secret(&a->ecdh, &length, a->shared, sizeof a->shared,
                                          mbedtls_hmac_drbg_random, drbg);
    return status == 0 && length == sizeof a->shared ? 0 : -1;
}

/* ECDH of `ours` (a key pair) with `theirs` (its public point used) into
 * `a->shared`, measured as `what` unless `what` is NULL. */
static int ecdh(struct agreement *a, const mbedtls_ecp_keypair *ours,
                const mbedtls_ecp_keypair *theirs, const char *what)
{
    mbedtls_ecdh_init(&a->ecdh);
    int status = mbedtls_ecdh_get_params(&a->ecdh, ours, MBEDTLS_ECDH_OURS);
    if (status == 0) {
        status = mbedtls_ecdh_get_params(&a->ecdh, theirs, MBEDTLS_ECDH_THEIRS);
    }
    if (status == 0 && what != NULL) {
        struct cost cost;
        status = measure(agree, a, &cost);
        measure_report(what, &cost);
    } else if (status == 0) {
        status = agree(a);
    }
    mbedtls_ecdh_free(&a->ecdh);
    return status;
}

struct keys {
    mbedtls_ecp_keypair generated, generated_public, a, a_public, b, b_public;
};

static const char *run(struct keys *k)
{
    struct cost cost;
    if (measure(generate, &k->generated, &cost) != 0) {
        return "generate";
    }
    measure_report("P-256 key generation", &cost);
    if (mbedtls_ecp_check_pub_priv(&k->generated, &k->generated, mbedtls_hmac_drbg_random,
                                   drbg) != 0) {
        return "generated public point";
    }
    /* Verifying takes the public key alone, as coffer's P256PublicKey. */
    uint8_t point[POINT_BYTES];
    size_t point_length = 0;
    if (mbedtls_ecp_write_public_key(&k->generated, MBEDTLS_ECP_PF_UNCOMPRESSED, &point_length,
                                     point, sizeof point) != 0 ||
        point_length != sizeof point || load_public(&k->generated_public, point) != 0) {
        return "generated public key";
    }

    struct signing s = {.key = &k->generated, .message = MESSAGE};
    if (measure(sign, &s, &cost) != 0) {
        return "sign";
    }
    measure_report("ECDSA P-256 sign (SHA-256, RFC 6979)", &cost);
    s.key = &k->generated_public;
    int verified = measure(verify, &s, &cost);
    measure_report("ECDSA P-256 verify (SHA-256)", &cost);
    if (verified != 0) {
        return "verify";
    }
    s.message = MESSAGE "!";
    if (verify(&s) != MBEDTLS_ERR_ECP_VERIFY_FAILED) {
        return "verify of a changed message did not fail";
    }

    /* Against OpenSSL: its RFC 6979 signature by A, ours by A, the same bytes. */
    if (load_secret(&k->a, HOST_A_SECRET) != 0 || load_public(&k->a_public, HOST_A_PUBLIC) != 0 ||
        mbedtls_ecp_check_pub_priv(&k->a_public, &k->a, mbedtls_hmac_drbg_random, drbg) != 0 ||
        load_secret(&k->b, HOST_B_SECRET) != 0 || load_public(&k->b_public, HOST_B_PUBLIC) != 0 ||
        mbedtls_ecp_check_pub_priv(&k->b_public, &k->b, mbedtls_hmac_drbg_random, drbg) != 0) {
        return "host keys";
    }
    struct signing host = {.key = &k->a_public, .message = MESSAGE};
    memcpy(host.signature, HOST_A_SIGNATURE, sizeof HOST_A_SIGNATURE);
    host.signature_length = sizeof HOST_A_SIGNATURE;
    if (verify(&host) != 0) {
        return "verify of OpenSSL's signature";
    }
    struct signing ours = {.key = &k->a, .message = MESSAGE};
    if (sign(&ours) != 0 || ours.signature_length != sizeof HOST_A_SIGNATURE ||
        memcmp(ours.signature, HOST_A_SIGNATURE, sizeof HOST_A_SIGNATURE) != 0) {
        return "RFC 6979 signature differs from OpenSSL's";
    }

    struct agreement ab, gb, bg;
    if (ecdh(&ab, &k->a, &k->b_public, "ECDH P-256 shared secret") != 0 ||
        memcmp(ab.shared, SHARED_AB, sizeof SHARED_AB) != 0) {
        return "ECDH differs from OpenSSL's";
    }
    if (ecdh(&gb, &k->generated, &k->b_public, NULL) != 0 ||
        ecdh(&bg, &k->b, &k->generated_public, NULL) != 0 ||
        memcmp(gb.shared, bg.shared, sizeof gb.shared) != 0) {
        return "ECDH sides disagree";
    }
    return NULL;
}

int main(void)
{
    measure_start_clock();
    mbedtls_hmac_drbg_context generator;
    mbedtls_hmac_drbg_init(&generator);
    drbg = &generator;
    const char *failed = NULL;
    if (mbedtls_hmac_drbg_seed_buf(&generator, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
                                   DRBG_SEED, sizeof DRBG_SEED) != 0) {
        failed = "DRBG seed";
    }
    struct keys k;
    mbedtls_ecp_keypair *all[] = {&k.generated, &k.generated_public, &k.a, &k.a_public, &k.b,
                                  &k.b_public};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        mbedtls_ecp_keypair_init(all[i]);
    }
    if (failed == NULL) {
        failed = run(&k);
    }
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        mbedtls_ecp_keypair_free(all[i]);
    }
    mbedtls_hmac_drbg_free(&generator);
    measure_report_arena();
    return measure_finish(failed);
}
