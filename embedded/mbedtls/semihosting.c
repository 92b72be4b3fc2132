/* See semihosting.h. A semihosting call is BKPT 0xAB with the operation in
 * r0 and its argument in r1; QEMU performs it and resumes after the BKPT. */
#include "semihosting.h"

#include <stdint.h>
#include <string.h>

#define SYS_OPEN 0x01
#define SYS_WRITE 0x05
#define SYS_EXIT 0x18
/* SYS_EXIT's reasons (on 32-bit Arm, r1 holds the reason itself). QEMU
 * exits with 0 for ApplicationExit and 1 for any other reason, which is
 * how cortex-m-semihosting's debug::exit reports EXIT_SUCCESS and
 * EXIT_FAILURE. */
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUN_TIME_ERROR_UNKNOWN 0x20023

static int semihosting_call(int operation, const void *argument)
{
    register int r0 __asm__("r0") = operation;
    register const void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* The host's standard output: the special file ":tt" opened for writing
 * (mode 4, "w"), as cortex-m-semihosting's hio::hstdout. (SYS_WRITE0 would
 * be shorter, but QEMU 7.2 sends it to its standard error.) */
static int standard_output(void)
{
    static int handle = -1;
    if (handle < 0) {
        static const char name[] = ":tt";
        const uintptr_t arguments[3] = {(uintptr_t)name, 4, sizeof name - 1};
        handle = semihosting_call(SYS_OPEN, arguments);
    }
    return handle;
}

void semihosting_write(const char *text)
{
    int handle = standard_output();
    if (handle >= 0) {
        const uintptr_t arguments[3] = {(uintptr_t)handle, (uintptr_t)text, strlen(text)};
        (void)semihosting_call(SYS_WRITE, arguments);
    }
}

_Noreturn void semihosting_exit(int passed)
{
    int reason = passed ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUN_TIME_ERROR_UNKNOWN;
    (void)semihosting_call(SYS_EXIT, (const void *)(uintptr_t)reason);
    for (;;) {
        __asm__ volatile("wfi");
    }
}
