/* See heap.h. Mbed TLS's mbedtls_calloc and mbedtls_free are plain calloc
 * and free in these configurations; with -Wl,--wrap=calloc,--wrap=free they
 * come here. Each block carries its size in the 8 bytes before it (8 keeps
 * newlib's alignment). What is counted is the bytes Mbed TLS asked for, not
 * newlib's headers or free space (run.sh reports the arena apart). */
#include "heap.h"

#include <stdint.h>
#include <string.h>

#define BLOCK_HEADER 8u

void *__real_calloc(size_t count, size_t size);
void __real_free(void *block);

static size_t held;
static size_t held_at_mark;
static size_t peak;

void *__wrap_calloc(size_t count, size_t size)
{
    if (size != 0 && count > (SIZE_MAX - BLOCK_HEADER) / size) {
        return NULL;
    }
    size_t bytes = count * size;
    unsigned char *block = __real_calloc(1, bytes + BLOCK_HEADER);
    if (block == NULL) {
        return NULL;
    }
    memcpy(block, &bytes, sizeof bytes);
    held += bytes;
    if (held > peak) {
        peak = held;
    }
    return block + BLOCK_HEADER;
}

void __wrap_free(void *pointer)
{
    if (pointer == NULL) {
        return;
    }
    unsigned char *block = (unsigned char *)pointer - BLOCK_HEADER;
    size_t bytes;
    memcpy(&bytes, block, sizeof bytes);
    held -= bytes;
    __real_free(block);
}

void heap_mark(void)
{
    held_at_mark = held;
    peak = held;
}

size_t heap_peak_since_mark(void)
{
    return peak - held_at_mark;
}
