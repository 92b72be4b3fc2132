/* mbed-base, the equivalent of coffer's fp-base: the start-up code,
 * semihosting output, the measuring code and the exit, with no Mbed TLS. Its
 * flash is what the measuring firmwares carry besides Mbed TLS, and it
 * calibrates SysTick ticks against instructions. */
#include "measure.h"

int main(void)
{
    measure_start_clock();
    measure_calibrate();
    return measure_finish(NULL);
}
