/* clock: the time sources every program reads, in milliseconds.
 *
 * Timers (flush deadlines, backoff, idle timeouts) use the monotonic clock,
 * which no one can set; only what is compared with event times or shown to
 * people (processed_at, the watermark's idle advance, /health's timestamp)
 * uses the wall clock. */
#ifndef SP_CLOCK_H
#define SP_CLOCK_H

#include <stdint.h>

/* Monotonic clock in milliseconds, the time base of every timer. */
int64_t monotonic_ms(void);

/* A cheaper, coarser (a few ms) monotonic clock for checks made per record. */
int64_t monotonic_coarse_ms(void);

/* Wall clock (UTC) in milliseconds since the epoch. */
int64_t wallclock_ms(void);

/* Sleep ms milliseconds; a signal may cut it short, so callers that wait
 * for something check it again in a loop. */
void sleep_ms(int64_t ms);

#endif
