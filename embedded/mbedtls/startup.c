/* The reset path of the harness: a vector table, a reset handler that sets
 * up RAM and the FPU and runs main, faults that end the run as a failure,
 * and the heap behind newlib's malloc (Mbed TLS allocates its big numbers
 * and cipher contexts there). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "semihosting.h"

int main(void);

extern uint32_t __data_start[], __data_end[], __data_load[];
extern uint32_t __bss_start[], __bss_end[];
extern uint8_t __heap_start[], __heap_limit[];
extern uint32_t __stack_top[];

_Noreturn void reset_handler(void);

/* Any fault or unexpected exception: the run failed (exit status 1; no
 * message, so that mbed-open carries no output code). */
static _Noreturn void fault_handler(void)
{
    semihosting_exit(0);
}

/* The sixteen system vectors of ARMv7-M: the initial stack pointer, then
 * reset, NMI, HardFault, MemManage, BusFault, UsageFault, four reserved,
 * SVCall, DebugMonitor, one reserved, PendSV and SysTick. No interrupt is
 * enabled, so no device vectors follow. */
__attribute__((section(".vector_table"), used)) static const uintptr_t vector_table[16] = {
    (uintptr_t)__stack_top,
    (uintptr_t)reset_handler,
    (uintptr_t)fault_handler, (uintptr_t)fault_handler, (uintptr_t)fault_handler,
    (uintptr_t)fault_handler, (uintptr_t)fault_handler,
    0, 0, 0, 0,
    (uintptr_t)fault_handler, (uintptr_t)fault_handler, 0,
    (uintptr_t)fault_handler, (uintptr_t)fault_handler,
};

#define CPACR (*(volatile uint32_t *)0xE000ED88u)

_Noreturn void reset_handler(void)
{
    /* Full access to coprocessors 10 and 11, the FPU: the code is built for
     * the hard-float ABI. */
    CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    size_t data_bytes = (size_t)((uintptr_t)__data_end - (uintptr_t)__data_start);
    memcpy(__data_start, __data_load, data_bytes);
    memset(__bss_start, 0, (size_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start));

    semihosting_exit(main() == 0);
}

/* newlib's malloc grows its arena through _sbrk. */
static uint8_t *heap_end = __heap_start;

void *_sbrk(ptrdiff_t increment)
{
    uint8_t *previous = heap_end;
    if (increment < 0 || (size_t)increment > (size_t)(__heap_limit - heap_end)) {
        errno = ENOMEM;
        return (void *)-1;
    }
    heap_end += increment;
    return previous;
}

/* How far the heap ever grew, in bytes. */
size_t heap_arena_bytes(void)
{
    return (size_t)(heap_end - __heap_start);
}
