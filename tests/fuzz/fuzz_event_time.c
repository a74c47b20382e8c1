/* Fuzz the time and duration parsers: no input may crash them, and every
 * time they accept must format and parse back to the same instant. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event_time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int64_t ms, back;
    if (event_time_parse(s, size, &ms) == 0) {
        char text[EVENT_TIME_TEXT_MAX];
        size_t n = event_time_format(ms, text);
        if (event_time_parse(text, n, &back) != 0 || back != ms) abort();
    }
    time_or_epoch_parse(s, size, &ms);
    char *z = malloc(size + 1);
    memcpy(z, data, size);
    z[size] = '\0';
    duration_parse(z, &ms);
    free(z);
    return 0;
}
