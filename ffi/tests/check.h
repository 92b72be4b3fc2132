/*
 * A tiny assertion harness for coffer's C tests: every check compares an
 * exact status code (or condition), prints what failed and where, and
 * counts; main() returns nonzero if any check failed.
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

/* Ends a test program: a summary line and the exit status. */
static int check_summary(const char *name) {
    printf("%s: %lu checks, %lu failed\n", name, check_count, check_failures);
    return check_failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* COFFER_TEST_CHECK_H */
