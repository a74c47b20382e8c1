/* event_time: see event_time.h. */
#include "event_time.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil): no timegm, no time zone database, no locale. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Read exactly width digits at s[*i]; returns -1 when they are not there. */
static int digits(const char *s, size_t n, size_t *i, int width)
{
    int v = 0;
    for (int k = 0; k < width; k++, (*i)++) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9') return -1;
        v = v * 10 + (s[*i] - '0');
    }
    return v;
}

/* Expect the byte c at s[*i]. */
static bool expect(const char *s, size_t n, size_t *i, char c)
{
    if (*i >= n || s[*i] != c) return false;
    (*i)++;
    return true;
}

/* An optional ".digits" at s[*i]: its first three digits as milliseconds,
 * the rest truncated (toward the past). Returns -1 for a '.' with no digit. */
static int fraction_ms(const char *s, size_t n, size_t *i, int *ms)
{
    *ms = 0;
    if (*i >= n || s[*i] != '.') return 0;
    size_t first = ++*i;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        if (*i - first < 3) *ms = *ms * 10 + (s[*i] - '0');
        (*i)++;
    }
    if (*i == first) return -1;
    for (size_t k = *i - first; k < 3; k++)
        *ms *= 10;
    return 0;
}

int event_time_parse(const char *s, size_t n, int64_t *epoch_ms)
{
    size_t i = 0;
    int year = digits(s, n, &i, 4);
    if (year < 0 || !expect(s, n, &i, '-')) return -1;
    int month = digits(s, n, &i, 2);
    if (month < 1 || month > 12 || !expect(s, n, &i, '-')) return -1;
    int day = digits(s, n, &i, 2);
    if (day < 1 || day > days_in_month(year, month)) return -1;
    if (i >= n) return -1;
    bool rfc3339 = s[i] == 'T' || s[i] == 't';
    if (!rfc3339 && s[i] != ' ') return -1;
    i++;
    int hour = digits(s, n, &i, 2);
    if (hour < 0 || hour > 23 || !expect(s, n, &i, ':')) return -1;
    int minute = digits(s, n, &i, 2);
    if (minute < 0 || minute > 59 || !expect(s, n, &i, ':')) return -1;
    int second = digits(s, n, &i, 2);
    if (second < 0 || second > 60) return -1;
    if (second == 60) second = 59; /* a leap second: POSIX time has no room for it */

    int ms = 0;
    if (fraction_ms(s, n, &i, &ms) < 0) return -1;

    int offset_min = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1;
        i++;
        int oh = digits(s, n, &i, 2);
        if (oh < 0 || oh > 23 || !expect(s, n, &i, ':')) return -1;
        int om = digits(s, n, &i, 2);
        if (om < 0 || om > 59) return -1;
        offset_min = sign * (oh * 60 + om);
    } else if (rfc3339) {
        return -1; /* RFC 3339 requires a zone; only the space form means UTC */
    }
    if (i != n) return -1;

    int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
                   (int64_t)offset_min * 60;
    *epoch_ms = secs * 1000 + ms;
    return 0;
}

/* Split epoch ms into the civil fields and write "YYYY-MM-DDTHH:MM:SS". */
static size_t format_seconds(int64_t epoch_ms, char *out, int *ms_out)
{
    int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
    int ms = (int)(epoch_ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    *ms_out = ms;
    int n = snprintf(out, EVENT_TIME_TEXT_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)y, m,
                     d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    return n > 0 ? (size_t)n : 0;
}

size_t event_time_format(int64_t epoch_ms, char out[EVENT_TIME_TEXT_MAX])
{
    int ms;
    size_t n = format_seconds(epoch_ms, out, &ms);
    if (ms) n += (size_t)snprintf(out + n, EVENT_TIME_TEXT_MAX - n, ".%03d", ms);
    out[n++] = 'Z';
    out[n] = '\0';
    return n;
}

size_t event_time_format_ms(int64_t epoch_ms, char out[EVENT_TIME_TEXT_MAX])
{
    int ms;
    size_t n = format_seconds(epoch_ms, out, &ms);
    n += (size_t)snprintf(out + n, EVENT_TIME_TEXT_MAX - n, ".%03dZ", ms);
    return n;
}

int duration_parse(const char *s, int64_t *ms)
{
    if (!s) return -1;
    /* A decimal number, nothing strtod would read beyond one (a sign, an
     * exponent, hexadecimal, inf) */
    size_t int_digits = strspn(s, "0123456789"), len = int_digits, frac_digits = 0;
    if (s[len] == '.') {
        frac_digits = strspn(s + len + 1, "0123456789");
        len += 1 + frac_digits;
    }
    if (int_digits + frac_digits == 0) return -1;
    const char *unit = s + len;
    double scale;
    if (strcmp(unit, "ms") == 0)
        scale = 1;
    else if (strcmp(unit, "s") == 0 || *unit == '\0')
        scale = 1000;
    else if (strcmp(unit, "m") == 0)
        scale = 60e3;
    else if (strcmp(unit, "h") == 0)
        scale = 3600e3;
    else if (strcmp(unit, "d") == 0)
        scale = 86400e3;
    else
        return -1;
    double total = strtod(s, NULL) * scale;
    if (!(total <= 9.2e18)) return -1; /* past int64_t, or infinite */
    *ms = (int64_t)llround(total);
    return 0;
}

int time_or_epoch_parse(const char *s, size_t n, int64_t *epoch_ms)
{
    size_t i = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == 0 || i > 12) return event_time_parse(s, n, epoch_ms);
    int64_t secs = 0;
    for (size_t k = 0; k < i; k++)
        secs = secs * 10 + (s[k] - '0');
    int ms = 0;
    if (fraction_ms(s, n, &i, &ms) < 0 || i != n) return event_time_parse(s, n, epoch_ms);
    *epoch_ms = secs * 1000 + ms;
    return 0;
}
