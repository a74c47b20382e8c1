/* clock: see clock.h. */
#include "clock.h"

#include <time.h>

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t monotonic_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

int64_t monotonic_coarse_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC_COARSE);
}

int64_t wallclock_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

void sleep_ms(int64_t ms)
{
    struct timespec pause = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000 * 1000};
    nanosleep(&pause, NULL);
}
