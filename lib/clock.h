/* clock: the time sources every program reads, in milliseconds.
 *
 * Timers (flush deadlines, backoff, idle timeouts) use the monotonic clock,
 * which no one can set; only what is compared with event times or shown to
 * people (processed_at, the watermark's idle advance, /health's timestamp)
 * uses the wall clock. Inline: they are read once or twice per record. */
#ifndef SP_CLOCK_H
#define SP_CLOCK_H

#include <stdint.h>
#include <time.h>

/* clock_gettime(id) in milliseconds, what the clocks below share. */
static inline int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic clock in milliseconds, the time base of every timer. */
static inline int64_t monotonic_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

/* A cheaper, coarser (a few ms) monotonic clock for checks made per record. */
static inline int64_t monotonic_coarse_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC_COARSE);
}

/* Wall clock (UTC) in milliseconds since the epoch. */
static inline int64_t wallclock_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

/* Sleep ms milliseconds; a signal may cut it short, so callers that wait
 * for something check it again in a loop. */
static inline void sleep_ms(int64_t ms)
{
    struct timespec pause = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000 * 1000};
    nanosleep(&pause, NULL);
}

#endif
