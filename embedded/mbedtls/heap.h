/* Counting the heap Mbed TLS uses. heap.c is linked, with
 * -Wl,--wrap=calloc,--wrap=free, only into the heap-counting twin of each
 * measuring firmware: counting costs instructions inside the operations, so
 * the twin gives the heap column and the plain firmware the stack and
 * instruction columns. In the plain firmware these functions are absent
 * (weak, null). */
#ifndef COFFER_MBEDTLS_HEAP_H
#define COFFER_MBEDTLS_HEAP_H

#include <stddef.h>

/* Starts a new peak at what is allocated now. */
__attribute__((weak)) void heap_mark(void);

/* The most bytes held at once since heap_mark, beyond what was held then. */
__attribute__((weak)) size_t heap_peak_since_mark(void);

#endif
