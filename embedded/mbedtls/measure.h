/* Measuring one operation on the device, the way coffer's
 * embedded/footprint/measure.rs does: the deepest stack use below the
 * caller (free stack painted first) and the core clock ticks (SysTick).
 * Under QEMU with -icount shift=0 the clock advances one nanosecond per
 * instruction, so ticks convert to instructions (run.sh calibrates the
 * ratio). Unlike coffer, Mbed TLS also allocates: in the heap-counting
 * twin of a firmware (heap.h), the heap its calls hold at their peak is
 * counted too. */
#ifndef COFFER_MBEDTLS_MEASURE_H
#define COFFER_MBEDTLS_MEASURE_H

#include <stddef.h>
#include <stdint.h>

/* What one operation cost. */
struct cost {
    size_t stack;      /* bytes below the caller's stack pointer */
    uint32_t ticks;    /* SysTick ticks of the core clock */
    int wrapped;       /* the 24-bit counter reloaded meanwhile: ticks are meaningless */
    size_t heap;       /* the most bytes allocated at once during the operation, beyond
                        * what was allocated before it; SIZE_MAX if not counted */
};

/* Starts SysTick counting down from its maximum on the core clock. */
void measure_start_clock(void);

/* Runs `operation(context)` once, measures it into `cost`, and returns what
 * it returned. */
int measure(int (*operation)(void *), void *context, struct cost *cost);

/* Prints `footprint: <what> | <stack> | <ticks or "over"> | <heap or "-">`. */
void measure_report(const char *what, const struct cost *cost);

/* Measures and reports a loop of known length: 4,000,000 rounds of two
 * instructions (subs, bne), 8,000,000 instructions. */
void measure_calibrate(void);

/* Prints `heap arena: <bytes>`: how far newlib's heap ever grew (the
 * allocator's own headers and free space included). */
void measure_report_arena(void);

/* Prints a line `firmware: all checks passed` or `firmware: FAILED: <what>`
 * and returns 0 or 1 for main to return. */
int measure_finish(const char *failed);

/* Writes `text` without a newline. */
void print(const char *text);

#endif
