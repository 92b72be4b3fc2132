/*
 * A tiny assertion harness for coffer's C tests: every check compares an
 * exact status code (or condition), prints what failed and where, and
 * counts; main() returns nonzero if any check failed. Also the two test
 * KEKs the C tests share.
 */
#ifndef COFFER_TEST_CHECK_H
#define COFFER_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer.h"

static unsigned long check_count;
static unsigned long check_failures;

/* The status of `expr` must be exactly `expected`. */
#define EXPECT_STATUS(expr, expected)                                                            \
    do {                                                                                         \
        coffer_status got_ = (expr);                                                             \
        check_count++;                                                                           \
        if (got_ != (coffer_status)(expected)) {                                                 \
            check_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s\n  gave %u (%s)\n  expected %u (%s)\n", __FILE__, __LINE__, \
                    #expr, (unsigned)got_, coffer_status_message(got_), (unsigned)(expected),     \
                    coffer_status_message(expected));                                            \
        }                                                                                        \
    } while (0)

#define EXPECT_OK(expr) EXPECT_STATUS(expr, COFFER_OK)

/* A condition that must hold. */
#define EXPECT_TRUE(cond)                                                        \
    do {                                                                         \
        check_count++;                                                           \
        if (!(cond)) {                                                           \
            check_failures++;                                                    \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

/* Two byte ranges must be equal. */
#define EXPECT_BYTES(a, alen, b, blen) \
    EXPECT_TRUE((alen) == (blen) && ((alen) == 0 || memcmp((a), (b), (alen)) == 0))

/* A string literal as coffer's input bytes. */
#define U8(s) ((const uint8_t *)(s))

/* Two AES-256 key-encryption keys for the tests. */
static const uint8_t KEK1[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t KEK2[32] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
                                 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
                                 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};

/* Ends a test program: a summary line and the exit status. */
static int check_summary(const char *name) {
    printf("%s: %lu checks, %lu failed\n", name, check_count, check_failures);
    return check_failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* COFFER_TEST_CHECK_H */
