/* Output and exit through Arm semihosting (QEMU with -semihosting-config
 * enable=on,target=native), as cortex-m-semihosting does for coffer's
 * firmwares. */
#ifndef COFFER_MBEDTLS_SEMIHOSTING_H
#define COFFER_MBEDTLS_SEMIHOSTING_H

/* Writes the NUL-terminated `text` to the host's standard output. */
void semihosting_write(const char *text);

/* Ends the run (SYS_EXIT): QEMU exits with status 0 if `passed`, else 1. */
_Noreturn void semihosting_exit(int passed);

#endif
