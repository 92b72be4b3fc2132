/* See measure.h. */
#include "measure.h"

#include "heap.h"
#include "semihosting.h"

/* The pattern painted below the stack pointer, and how much is watched. */
#define PAINT 0xC0FFEE55u
#define WATCHED (64u * 1024u)

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_CLKSOURCE_CORE (1u << 2)
#define SYST_CSR_COUNTFLAG (1u << 16)

size_t heap_arena_bytes(void); /* startup.c */

void measure_start_clock(void)
{
    SYST_CSR = 0;
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0; /* any write clears the counter */
    SYST_CSR = SYST_CSR_CLKSOURCE_CORE | SYST_CSR_ENABLE;
}

__attribute__((noinline)) int measure(int (*operation)(void *), void *context, struct cost *cost)
{
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    /* Leave this function's own frames (a few hundred bytes) unpainted. */
    uintptr_t top = (sp - 512u) & ~(uintptr_t)3u;
    uintptr_t bottom = top - WATCHED;
    for (uintptr_t address = bottom; address < top; address += 4) {
        *(volatile uint32_t *)address = PAINT;
    }
    if (heap_mark != NULL) {
        heap_mark();
    }
    (void)SYST_CSR; /* reading COUNTFLAG clears it */
    uint32_t before = SYST_CVR;
    int result = operation(context);
    uint32_t after = SYST_CVR;
    /* The counter counts down from 2^24 - 1 and reloads at 0: a reload in
     * between makes the difference meaningless. */
    cost->wrapped = (SYST_CSR & SYST_CSR_COUNTFLAG) != 0;
    cost->ticks = (before - after) & 0x00FFFFFFu;
    uintptr_t lowest = top;
    for (uintptr_t address = bottom; address < top; address += 4) {
        if (*(volatile uint32_t *)address != PAINT) {
            lowest = address;
            break;
        }
    }
    cost->stack = sp - lowest;
    cost->heap = heap_peak_since_mark != NULL ? heap_peak_since_mark() : SIZE_MAX;
    return result;
}

void print(const char *text)
{
    semihosting_write(text);
}

static void print_number(size_t value)
{
    char digits[24];
    char *at = digits + sizeof digits;
    *--at = '\0';
    do {
        *--at = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0);
    print(at);
}

void measure_report(const char *what, const struct cost *cost)
{
    print("footprint: ");
    print(what);
    print(" | ");
    print_number(cost->stack);
    print(" | ");
    if (cost->wrapped) {
        print("over");
    } else {
        print_number(cost->ticks);
    }
    print(" | ");
    if (cost->heap == SIZE_MAX) {
        print("-");
    } else {
        print_number(cost->heap);
    }
    print("\n");
}

static int spin(void *rounds)
{
    uint32_t n = *(const uint32_t *)rounds;
    __asm__ volatile("1:\n\tsubs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
    return 0;
}

void measure_calibrate(void)
{
    uint32_t rounds = 4000000u;
    struct cost cost;
    (void)measure(spin, &rounds, &cost);
    measure_report("calibration: 4000000 rounds of subs+bne", &cost);
}

void measure_report_arena(void)
{
    print("heap arena: ");
    print_number(heap_arena_bytes());
    print("\n");
}

int measure_finish(const char *failed)
{
    if (failed == NULL) {
        print("firmware: all checks passed\n");
        return 0;
    }
    print("firmware: FAILED: ");
    print(failed);
    print("\n");
    return 1;
}
