/* mbed-open, the equivalent of coffer's fp-open: open the golden-shaped
 * envelope and nothing else (no output, no measuring), for its flash and
 * static RAM. Exit status 0 only if the plaintext is the golden one. */
#include <string.h>

#include "inputs.h"
#include "open.h"

int main(void)
{
    uint8_t plaintext[sizeof PLAINTEXT_GOLDEN];
    size_t length = 0;
    if (open_envelope(KEK, ENVELOPE_GOLDEN, sizeof ENVELOPE_GOLDEN, plaintext, sizeof plaintext,
                      &length) != 0) {
        return 1;
    }
    return length == sizeof PLAINTEXT_GOLDEN && memcmp(plaintext, PLAINTEXT_GOLDEN, length) == 0
               ? 0
               : 1;
}
