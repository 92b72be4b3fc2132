/* See open.h. Per open, the same cryptographic work as coffer's
 * envelope::open_in_place for a one-recipient, one-chunk KEK envelope
 * (core/FORMAT.md): AES-KW unwrap of the 40-byte wrapped DEK (section 1.4),
 * HKDF-Extract and two HKDF-Expands for the payload key and the commitment,
 * the commitment compared in constant time (section 2), SHA-256 over
 * prefix[0..6] || bound for the AAD and one AEAD decryption with the
 * final-chunk nonce (section 3.2).
 *
 * What it does not do: parse the header. The layout comes from inputs.h
 * (make-inputs.py parsed it on the host); coffer parses and checks every
 * field, compares the encryption context and matches the recipient's key id
 * and version, none of which is cryptography. */
#include "open.h"

#include <string.h>

#include "inputs.h"
#include "mbedtls/constant_time.h"
#include "mbedtls/gcm.h"
#include "mbedtls/hkdf.h"
#include "mbedtls/md.h"
#include "mbedtls/nist_kw.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"

#define KEY_BYTES 32u
#define WRAPPED_BYTES 40u
#define TAG_BYTES 16u
#define NONCE_BYTES 12u

static const char PAYLOAD_KEY_LABEL[] = "coffer/v1 payload key";
static const char COMMITMENT_LABEL[] = "coffer/v1 key commitment";

/* AES-KW (RFC 3394) unwrap of the DEK under the KEK. */
static int unwrap_dek(const uint8_t *kek, const uint8_t *wrapped, uint8_t dek[KEY_BYTES])
{
    mbedtls_nist_kw_context kw;
    mbedtls_nist_kw_init(&kw);
    size_t dek_length = 0;
    int status = mbedtls_nist_kw_setkey(&kw, MBEDTLS_CIPHER_ID_AES, kek, 8 * KEY_BYTES, 0);
    if (status == 0) {
        status = mbedtls_nist_kw_unwrap(&kw, MBEDTLS_KW_MODE_KW, wrapped, WRAPPED_BYTES, dek,
                                        &dek_length, KEY_BYTES);
    }
    mbedtls_nist_kw_free(&kw);
    return status == 0 && dek_length == KEY_BYTES ? 0 : -1;
}

/* section 2: PRK = HKDF-Extract(salt, DEK), then the payload key and the
 * commitment each from one HKDF-Expand. */
static int key_schedule(const uint8_t dek[KEY_BYTES], const uint8_t *salt,
                        uint8_t payload_key[KEY_BYTES], uint8_t commitment[KEY_BYTES])
{
    const mbedtls_md_info_t *sha256 = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    uint8_t prk[KEY_BYTES];
    int status = mbedtls_hkdf_extract(sha256, salt, KEY_BYTES, dek, KEY_BYTES, prk);
    if (status == 0) {
        status = mbedtls_hkdf_expand(sha256, prk, sizeof prk,
                                     (const unsigned char *)PAYLOAD_KEY_LABEL,
                                     sizeof PAYLOAD_KEY_LABEL - 1, payload_key, KEY_BYTES);
    }
    if (status == 0) {
        status = mbedtls_hkdf_expand(sha256, prk, sizeof prk,
                                     (const unsigned char *)COMMITMENT_LABEL,
                                     sizeof COMMITMENT_LABEL - 1, commitment, KEY_BYTES);
    }
    mbedtls_platform_zeroize(prk, sizeof prk);
    return status == 0 ? 0 : -1;
}

/* section 3.2: aad = SHA-256(prefix[0..6] || bound); the bound section
 * follows the 4-byte header_len. */
static int aad_digest(const uint8_t *envelope, uint8_t aad[32])
{
    mbedtls_sha256_context sha;
    mbedtls_sha256_init(&sha);
    int status = mbedtls_sha256_starts(&sha, 0);
    if (status == 0) {
        status = mbedtls_sha256_update(&sha, envelope, 6);
    }
    if (status == 0) {
        status = mbedtls_sha256_update(&sha, envelope + 10, BOUND_END - 10);
    }
    if (status == 0) {
        status = mbedtls_sha256_finish(&sha, aad);
    }
    mbedtls_sha256_free(&sha);
    return status == 0 ? 0 : -1;
}

/* The one (final) chunk: ciphertext || tag under nonce 0^7 || u32(0) || 01. */
static int decrypt_chunk(const uint8_t payload_key[KEY_BYTES], const uint8_t aad[32],
                         const uint8_t *chunk, size_t chunk_length, uint8_t *plaintext)
{
    static const uint8_t nonce[NONCE_BYTES] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    size_t text_length = chunk_length - TAG_BYTES;
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    int status = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, payload_key, 8 * KEY_BYTES);
    if (status == 0) {
        status = mbedtls_gcm_auth_decrypt(&gcm, text_length, nonce, sizeof nonce, aad, 32,
                                          chunk + text_length, TAG_BYTES, chunk, plaintext);
    }
    mbedtls_gcm_free(&gcm);
    return status == 0 ? 0 : -1;
}

int open_envelope(const uint8_t *kek, const uint8_t *envelope, size_t length,
                  uint8_t *plaintext, size_t capacity, size_t *plaintext_length)
{
    static const uint8_t prefix[6] = {'C', 'F', 'R', 'E', 1, 1};
    if (length < HEADER_LEN + TAG_BYTES || memcmp(envelope, prefix, sizeof prefix) != 0) {
        return -1;
    }
    uint32_t header_length = (uint32_t)envelope[6] << 24 | (uint32_t)envelope[7] << 16 |
                             (uint32_t)envelope[8] << 8 | envelope[9];
    size_t chunk_length = length - HEADER_LEN;
    if (header_length != HEADER_LEN || chunk_length - TAG_BYTES > capacity) {
        return -1;
    }

    uint8_t dek[KEY_BYTES], payload_key[KEY_BYTES], commitment[KEY_BYTES], aad[32];
    int status = unwrap_dek(kek, envelope + WRAPPED_DEK_AT, dek);
    if (status == 0) {
        status = key_schedule(dek, envelope + SALT_AT, payload_key, commitment);
    }
    if (status == 0 && mbedtls_ct_memcmp(commitment, envelope + COMMITMENT_AT, KEY_BYTES) != 0) {
        status = -1;
    }
    if (status == 0) {
        status = aad_digest(envelope, aad);
    }
    if (status == 0) {
        status = decrypt_chunk(payload_key, aad, envelope + HEADER_LEN, chunk_length, plaintext);
    }
    mbedtls_platform_zeroize(dek, sizeof dek);
    mbedtls_platform_zeroize(payload_key, sizeof payload_key);
    if (status != 0) {
        return -1;
    }
    *plaintext_length = chunk_length - TAG_BYTES;
    return 0;
}
