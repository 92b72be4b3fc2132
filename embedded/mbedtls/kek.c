/* mbed-kek: the envelope opens of coffer's fp-envelope, measured: the
 * golden-shaped envelope (60-byte payload) and one of 256 bytes, each
 * compared with its known plaintext; then changed copies that must not open
 * (a payload byte, a commitment byte, a wrapped-DEK byte, one byte cut). */
#include <string.h>

#include "inputs.h"
#include "measure.h"
#include "open.h"

struct opening {
    const uint8_t *envelope;
    size_t length;
    uint8_t plaintext[512];
    size_t plaintext_length;
};

static int open_it(void *context)
{
    struct opening *o = context;
    return open_envelope(KEK, o->envelope, o->length, o->plaintext, sizeof o->plaintext,
                         &o->plaintext_length);
}

/* Opens `envelope`, measured and reported as `what`; NULL if it opened to
 * `expected`, else what failed. */
static const char *open_measured(const char *what, const uint8_t *envelope, size_t length,
                                 const uint8_t *expected, size_t expected_length)
{
    struct opening o = {.envelope = envelope, .length = length};
    struct cost cost;
    int status = measure(open_it, &o, &cost);
    measure_report(what, &cost);
    if (status != 0) {
        return "open";
    }
    if (o.plaintext_length != expected_length ||
        memcmp(o.plaintext, expected, expected_length) != 0) {
        return "plaintext";
    }
    return NULL;
}

/* Whether ENVELOPE_256 with byte `at` flipped (or, for `at` == SIZE_MAX,
 * its last byte cut) is refused. */
static int changed_copy_is_refused(size_t at)
{
    uint8_t copy[sizeof ENVELOPE_256];
    memcpy(copy, ENVELOPE_256, sizeof copy);
    size_t length = sizeof copy;
    if (at == SIZE_MAX) {
        length -= 1;
    } else {
        copy[at] ^= 0x01;
    }
    struct opening o = {.envelope = copy, .length = length};
    return open_it(&o) != 0;
}

static const char *run(void)
{
    const char *failed = open_measured("envelope open (GCM), KEK, 60-byte payload (golden-shaped)",
                                       ENVELOPE_GOLDEN, sizeof ENVELOPE_GOLDEN, PLAINTEXT_GOLDEN,
                                       sizeof PLAINTEXT_GOLDEN);
    if (failed == NULL) {
        failed = open_measured("envelope open (GCM), KEK, 256 bytes", ENVELOPE_256,
                               sizeof ENVELOPE_256, PLAINTEXT_256, sizeof PLAINTEXT_256);
    }
    if (failed == NULL && !changed_copy_is_refused(HEADER_LEN + 7)) {
        failed = "changed payload opened";
    }
    if (failed == NULL && !changed_copy_is_refused(sizeof ENVELOPE_256 - 1)) {
        failed = "changed tag opened";
    }
    if (failed == NULL && !changed_copy_is_refused(COMMITMENT_AT + 5)) {
        failed = "changed commitment opened";
    }
    if (failed == NULL && !changed_copy_is_refused(WRAPPED_DEK_AT + 9)) {
        failed = "changed wrapped DEK opened";
    }
    if (failed == NULL && !changed_copy_is_refused(SALT_AT)) {
        failed = "changed salt opened";
    }
    if (failed == NULL && !changed_copy_is_refused(BOUND_END - 1)) {
        failed = "changed context opened";
    }
    if (failed == NULL && !changed_copy_is_refused(SIZE_MAX)) {
        failed = "truncated envelope opened";
    }
    return failed;
}

int main(void)
{
    measure_start_clock();
    const char *failed = run();
    measure_report_arena();
    return measure_finish(failed);
}
