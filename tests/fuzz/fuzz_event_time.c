/* fuzz_event_time: the time and duration parsers against oracles of their
 * own, on any bytes.
 *
 * - event_time_parse accepts exactly the documented forms, read here by
 *   position, and its instant is the one glibc's timegm gives for the same
 *   fields (timegm also says whether the date exists: it moves a 30th of
 *   February to March). Every accepted time formats and parses back to the
 *   same instant.
 * - duration_parse accepts exactly a decimal number (digits, an optional
 *   fraction) and a unit of "", ms, s, m, h, d, and its value is that number
 *   times the unit, rounded to the millisecond: here in long double.
 * - time_or_epoch_parse must not crash. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event_time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The width digits at s[at], or -1. */
static int number_at(const char *s, size_t n, size_t at, size_t width)
{
    int v = 0;
    for (size_t i = at; i < at + width; i++) {
        if (i >= n || s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The instant s[0..n) names in the documented forms,
 * YYYY-MM-DD(T|t|' ')HH:MM:SS[.frac][Z|z|+hh:mm|-hh:mm] (the zone required
 * after T), into *ms; false when s is no such time. */
static bool time_oracle(const char *s, size_t n, int64_t *ms)
{
    int year = number_at(s, n, 0, 4), month = number_at(s, n, 5, 2), day = number_at(s, n, 8, 2);
    int hour = number_at(s, n, 11, 2), minute = number_at(s, n, 14, 2);
    int second = number_at(s, n, 17, 2);
    if (n < 19 || year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 ||
        s[4] != '-' || s[7] != '-' || !strchr("Tt ", s[10]) || s[10] == '\0' || s[13] != ':' ||
        s[16] != ':' || hour > 23 || minute > 59 || second > 60)
        return false;
    size_t i = 19;
    int frac_ms = 0;
    if (i < n && s[i] == '.') {
        size_t first = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == first) return false;
        for (size_t k = 0; k < 3; k++)
            frac_ms = frac_ms * 10 + (first + k < i ? s[first + k] - '0' : 0);
    }
    int offset_min = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int oh = number_at(s, n, i + 1, 2), om = number_at(s, n, i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59 || i + 3 >= n || s[i + 3] != ':') return false;
        offset_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
        i += 6;
    } else if (s[10] != ' ') {
        return false;
    }
    if (i != n) return false;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = month - 1,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = minute,
                    .tm_sec = second == 60 ? 59 : second};
    time_t t = timegm(&tm);
    if (tm.tm_mday != day || tm.tm_mon != month - 1) return false; /* no such date */
    *ms = ((int64_t)t - offset_min * 60) * 1000 + frac_ms;
    return true;
}

static void check_time(const char *s, size_t n)
{
    int64_t ms, want, back;
    bool ours = event_time_parse(s, n, &ms) == 0;
    if (ours != time_oracle(s, n, &want)) abort();
    if (!ours) return;
    if (ms != want) abort();
    char text[EVENT_TIME_TEXT_MAX];
    size_t len = event_time_format(ms, text);
    if (event_time_parse(text, len, &back) != 0 || back != ms) abort();
}

/* s is a decimal number and a unit: its value in milliseconds into *ms, as
 * a long double; false when s is no duration. */
static bool duration_oracle(const char *s, long double *ms)
{
    size_t int_digits = strspn(s, "0123456789"), len = int_digits, frac_digits = 0;
    if (s[len] == '.') {
        frac_digits = strspn(s + len + 1, "0123456789");
        len += 1 + frac_digits;
    }
    if (int_digits + frac_digits == 0) return false;
    static const struct {
        const char *unit;
        long double scale;
    } units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
        if (strcmp(s + len, units[u].unit) == 0) {
            *ms = strtold(s, NULL) * units[u].scale;
            return true;
        }
    }
    return false;
}

static void check_duration(const char *s)
{
    int64_t ms;
    long double want;
    bool ours = duration_parse(s, &ms) == 0;
    bool valid = duration_oracle(s, &want);
    /* Past 9.2e18 ms a duration is refused (int64_t ends near there). */
    if (valid && want > 9.2e18L) {
        if (ours) abort();
        return;
    }
    if (ours != valid) abort();
    /* the double product may be off by its last bit, then rounded */
    if (ours && fabsl((long double)ms - want) > 0.5L + want * 0x1p-51L) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    check_time(s, size);
    int64_t ms;
    time_or_epoch_parse(s, size, &ms);
    char *z = malloc(size + 1);
    memcpy(z, data, size);
    z[size] = '\0';
    if (strlen(z) == size) check_duration(z);
    free(z);
    return 0;
}
