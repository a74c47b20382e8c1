/* event_time: times and durations as text, to and from milliseconds.
 *
 * Event times are int64 milliseconds since the Unix epoch, UTC. Sub-millisecond
 * fractions in the input are truncated toward the past (floor), so an event
 * never moves into a later window than its time says. */
#ifndef SP_EVENT_TIME_H
#define SP_EVENT_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Longest text event_time_format() writes, with its NUL. */
#define EVENT_TIME_TEXT_MAX 32

/* Parse s[0..n): RFC 3339 ("2025-08-31T08:00:02Z", "…+02:00", an optional
 * fraction of any length, 't'/'z' accepted) or "YYYY-MM-DD HH:MM:SS[.frac]"
 * taken as UTC. Field ranges are checked (month 1-12, day within the month,
 * hour 0-23, minute 0-59, second 0-60 where 60 counts as 59). Returns 0 and
 * sets *epoch_ms, or -1 when s is not such a time. */
int event_time_parse(const char *s, size_t n, int64_t *epoch_ms);

/* Write epoch_ms as "YYYY-MM-DDTHH:MM:SSZ", with ".mmm" before the Z only
 * when the milliseconds are not zero. Returns the length written. */
size_t event_time_format(int64_t epoch_ms, char out[EVENT_TIME_TEXT_MAX]);

/* Write epoch_ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (always with milliseconds),
 * the form of processed_at. Returns the length written. */
size_t event_time_format_ms(int64_t epoch_ms, char out[EVENT_TIME_TEXT_MAX]);

/* Parse a duration: a decimal number (digits with an optional fraction, no
 * sign or exponent) followed by ms, s, m, h or d ("100ms", "30s", "5m",
 * "1.5h"); a bare number is seconds. Returns 0 and sets *ms to the value
 * rounded to the millisecond, or -1. */
int duration_parse(const char *s, int64_t *ms);

/* Parse a time given either as RFC 3339 (as event_time_parse) or as epoch
 * seconds (an integer, optionally with a fraction): the ?at= and ?from=
 * forms of the API. Returns 0 and sets *epoch_ms, or -1. */
int time_or_epoch_parse(const char *s, size_t n, int64_t *epoch_ms);

#endif
