/* The work of coffer's envelope open with an AES-256 KEK, done with
 * Mbed TLS on an envelope whose payload is AES-256-GCM instead of
 * AES-256-GCM-SIV (make-inputs.py). */
#ifndef COFFER_MBEDTLS_OPEN_H
#define COFFER_MBEDTLS_OPEN_H

#include <stddef.h>
#include <stdint.h>

/* Opens `envelope` (`length` bytes, one KEK recipient, one chunk) with
 * `kek` (32 bytes) into `plaintext` (`capacity` bytes), storing the
 * plaintext's length in `*plaintext_length`. Returns 0 on success and -1 on
 * any failure, whatever failed. */
int open_envelope(const uint8_t *kek, const uint8_t *envelope, size_t length,
                  uint8_t *plaintext, size_t capacity, size_t *plaintext_length);

#endif
