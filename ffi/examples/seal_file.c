/*
 * Seals a file for two recipients with a streaming envelope, then opens it
 * once with each recipient's key, chunk by chunk.
 *
 *   seal_file <input file> <output directory>
 *
 * Recipient 1 holds an AES-256 key-encryption key (say, from a KMS);
 * recipient 2 a P-256 key pair (say, an operator's). The sealed file is
 * <output directory>/<name>.sealed; the plaintext opened by the last
 * recipient is written to <output directory>/<name>.opened.
 *
 * Build: cc -std=c11 seal_file.c $(pkg-config --cflags --libs coffer)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer.h"

#define TRY(expr)                                                                                   \
    do {                                                                                            \
        coffer_status s_ = (expr);                                                                  \
        if (s_ != COFFER_OK) {                                                                      \
            fprintf(stderr, "%s failed: %u %s\n", #expr, (unsigned)s_, coffer_status_message(s_)); \
            exit(1);                                                                                \
        }                                                                                           \
    } while (0)

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Streams `in` into `out` as an envelope for `to`. */
static void seal(FILE *in, FILE *out, const coffer_recipient *to, size_t to_len, const coffer_kv *ctx,
                 size_t ctx_len) {
    coffer_sealer *sealer = NULL;
    coffer_bytes header = {NULL, 0};
    TRY(coffer_sealer_new(to, to_len, ctx, ctx_len, 0, &sealer, &header));
    fwrite(header.data, 1, header.len, out);
    coffer_bytes_free(&header);

    size_t chunk = 0;
    TRY(coffer_sealer_chunk_size(sealer, &chunk));
    uint8_t *buf = malloc(chunk);
    uint8_t *next = malloc(chunk);
    uint8_t *sealed = malloc(chunk + COFFER_ENVELOPE_TAG_LEN);
    /* Read one chunk ahead, so the last chunk is known to be last. */
    size_t n = fread(buf, 1, chunk, in);
    for (;;) {
        size_t m = n == chunk ? fread(next, 1, chunk, in) : 0;
        bool last = m == 0;
        size_t sealed_len = chunk + COFFER_ENVELOPE_TAG_LEN;
        TRY(coffer_sealer_seal_chunk(sealer, buf, n, last, sealed, &sealed_len));
        fwrite(sealed, 1, sealed_len, out);
        if (last) break;
        uint8_t *t = buf;
        buf = next;
        next = t;
        n = m;
    }
    coffer_sealer_free(sealer);
    free(buf);
    free(next);
    free(sealed);
}

/* Opens the envelope in `in` with `key` into `out`; returns the status. */
static coffer_status open_with(FILE *in, FILE *out, const coffer_unlock_key *key, const coffer_kv *ctx,
                               size_t ctx_len) {
    uint8_t prefix[COFFER_ENVELOPE_PREFIX_LEN];
    if (fread(prefix, 1, sizeof prefix, in) != sizeof prefix) return COFFER_ERR_DECRYPT;
    size_t header_len = 0;
    coffer_status s = coffer_envelope_header_len(prefix, sizeof prefix, &header_len);
    if (s != COFFER_OK) return s;
    uint8_t *header = malloc(header_len);
    memcpy(header, prefix, sizeof prefix);
    if (fread(header + sizeof prefix, 1, header_len - sizeof prefix, in) != header_len - sizeof prefix) {
        free(header);
        return COFFER_ERR_DECRYPT;
    }
    coffer_opener *opener = NULL;
    s = coffer_opener_new(key, 1, ctx, ctx_len, header, header_len, &opener);
    free(header);
    if (s != COFFER_OK) return s;

    size_t sealed_chunk = 0;
    TRY(coffer_opener_sealed_chunk_size(opener, &sealed_chunk));
    uint8_t *buf = malloc(sealed_chunk), *next = malloc(sealed_chunk), *plain = malloc(sealed_chunk);
    size_t n = fread(buf, 1, sealed_chunk, in);
    for (;;) {
        size_t m = n == sealed_chunk ? fread(next, 1, sealed_chunk, in) : 0;
        bool last = m == 0;
        size_t plain_len = sealed_chunk;
        s = coffer_opener_open_chunk(opener, buf, n, last, plain, &plain_len);
        if (s != COFFER_OK) break;
        fwrite(plain, 1, plain_len, out);
        if (last) break;
        uint8_t *t = buf;
        buf = next;
        next = t;
        n = m;
    }
    if (s == COFFER_OK) s = coffer_opener_finish(opener);
    coffer_opener_free(opener);
    free(buf);
    free(next);
    free(plain);
    return s;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s <input file> <output directory>\n", argv[0]);
        return 2;
    }
    printf("coffer %s\n", coffer_version());

    /* Recipient 1: a KEK. Recipient 2: a P-256 key pair. */
    uint8_t kek[COFFER_KEK_LEN];
    for (size_t i = 0; i < sizeof kek; i++) kek[i] = (uint8_t)(0x5a ^ i);
    coffer_keypair *operator_key = NULL;
    TRY(coffer_keypair_generate(COFFER_ALG_P256, &operator_key));
    coffer_bytes spki = {NULL, 0}, pkcs8 = {NULL, 0};
    TRY(coffer_keypair_public_key_der(operator_key, &spki));
    TRY(coffer_keypair_to_pkcs8_der(operator_key, &pkcs8));

    coffer_recipient to[2] = {
        {COFFER_KEY_KEK, (const uint8_t *)"kms-kek", 7, 1, kek, sizeof kek},
        {COFFER_KEY_P256, (const uint8_t *)"operator", 8, 1, spki.data, spki.len},
    };
    coffer_unlock_key keys[2] = {
        {COFFER_KEY_KEK, (const uint8_t *)"kms-kek", 7, 1, kek, sizeof kek},
        {COFFER_KEY_P256, (const uint8_t *)"operator", 8, 1, pkcs8.data, pkcs8.len},
    };
    coffer_kv ctx[1] = {{(const uint8_t *)"file", 4, (const uint8_t *)base_name(argv[1]), strlen(base_name(argv[1]))}};

    char sealed_path[4096], opened_path[4096];
    snprintf(sealed_path, sizeof sealed_path, "%s/%s.sealed", argv[2], base_name(argv[1]));
    snprintf(opened_path, sizeof opened_path, "%s/%s.opened", argv[2], base_name(argv[1]));

    FILE *in = fopen(argv[1], "rb"), *out = fopen(sealed_path, "wb");
    if (!in || !out) {
        perror("fopen");
        return 1;
    }
    seal(in, out, to, 2, ctx, 1);
    fclose(in);
    fclose(out);
    printf("sealed %s for 2 recipients into %s\n", argv[1], sealed_path);

    int failed = 0;
    for (int i = 0; i < 2; i++) {
        FILE *s = fopen(sealed_path, "rb"), *o = fopen(opened_path, "wb");
        if (!s || !o) {
            perror("fopen");
            return 1;
        }
        coffer_status st = open_with(s, o, &keys[i], ctx, 1);
        fclose(s);
        fclose(o);
        printf("opened by recipient %d: %s\n", i + 1, st == COFFER_OK ? "ok" : coffer_status_message(st));
        failed |= st != COFFER_OK;
    }

    coffer_bytes_free(&spki);
    coffer_bytes_free(&pkcs8);
    coffer_keypair_free(operator_key);
    return failed;
}
