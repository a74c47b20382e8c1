/* window_result: formatting and parsing the window result record.
 *
 * A metric that has no value (the average of a field no event carried) is
 * NaN in memory and null on the wire; window_result_parse reads null back as
 * NaN, so every line window_result_format writes parses. */
#include "window_result.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "event_time.h"
#include "ndjson.h"

/* A time as text, remembered: the results of one closing share their window
 * bounds, and formatting them anew for each was a tenth of the run time. */
struct time_text {
    int64_t ms;
    size_t len;
    char text[EVENT_TIME_TEXT_MAX];
    bool valid;
};

static void append_time_member(strbuf *sb, const char *name, int64_t ms, struct time_text *memo)
{
    if (!memo->valid || memo->ms != ms) {
        memo->len = event_time_format(ms, memo->text);
        memo->ms = ms;
        memo->valid = true;
    }
    sb_putc(sb, '"');
    sb_puts(sb, name);
    sb_puts(sb, "\":");
    ndjson_append_string(sb, memo->text, memo->len);
}

/* Print m / 10^decimals (m < 10^15, no trailing zeros in the fraction). */
static void append_scaled(strbuf *sb, bool negative, uint64_t m, int decimals, uint64_t scale)
{
    char fraction[24];
    if (negative) sb_putc(sb, '-');
    sb_put_i64(sb, (int64_t)(m / scale));
    uint64_t rest = m % scale;
    for (int i = decimals - 1; i >= 0; i--) {
        fraction[i] = (char)('0' + rest % 10);
        rest /= 10;
    }
    sb_putc(sb, '.');
    sb_append(sb, fraction, (size_t)decimals);
}

/* A long decimal (a mean) rounded to 15 significant digits as printf
 * rounds it, for 1e-4 <= |v| < 1e15. The product v * 10^d is taken in long
 * double (at least 64 bits of mantissa; 10^d up to 10^18 is exact there), so
 * it is within 1e15 * 2^-64 < 1e-4 of the exact product: unless the exact
 * product lies within 1e-3 of a half, where false is returned and printf
 * decides, rounding it gives printf's digits. */
static bool append_rounded(strbuf *sb, double v)
{
    double magnitude = fabs(v);
    int exponent = (int)floor(log10(magnitude));
    int decimals = WINDOW_RESULT_DIGITS - 1 - exponent;
    if (decimals < 0 || decimals > 18) return false;
    long double scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    long double product = (long double)magnitude * scale;
    long double whole = floorl(product);
    long double fraction = product - whole;
    if (fabsl(fraction - 0.5L) < 1e-3L) return false;
    uint64_t m = (uint64_t)whole + (fraction > 0.5L);
    /* log10 off by one, or rounding up to the next power of ten: printf's
     * exponent would differ. */
    if (m < 100000000000000ULL || m >= 1000000000000000ULL) return false;
    uint64_t divisor = (uint64_t)scale;
    while (decimals > 0 && m % 10 == 0) {
        m /= 10;
        divisor /= 10;
        decimals--;
    }
    if (decimals == 0) {
        if (v < 0) sb_putc(sb, '-');
        sb_put_i64(sb, (int64_t)m);
        return true;
    }
    append_scaled(sb, v < 0, m, decimals, divisor);
    return true;
}

/* v with at most WINDOW_RESULT_DIGITS significant digits, trailing zeros
 * dropped: exactly what "%.15g" prints. printf's exact decimal conversion was
 * a quarter of the run time and most results are integers or short decimals
 * (sums of fares), so those take a fast path. A decimal m / 10^d with at
 * most 15 digits that reads back as v (the division of two exact doubles is
 * correctly rounded, so the test is exact) is what %.15g prints: v lies
 * within half an ulp of it, far less than half a unit of the 15th digit.
 * Everything else (long means, tiny, huge, not finite) goes to printf. */
static void append_metric_value(strbuf *sb, double v)
{
    static const double powers[] = {1e0, 1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                                    1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};
    if (!isfinite(v)) {
        sb_puts(sb, "null");
        return;
    }
    double magnitude = fabs(v);
    if (magnitude < 1e15 && v == trunc(v)) {
        sb_put_i64(sb, (int64_t)v); /* also turns -0 into 0 */
        return;
    }
    if (magnitude >= 1e-4 && magnitude < 1e15) {
        for (int d = 1; d < (int)(sizeof powers / sizeof *powers); d++) {
            double m = nearbyint(magnitude * powers[d]);
            if (m >= 1e15) break;
            if (m / powers[d] == magnitude) {
                append_scaled(sb, v < 0, (uint64_t)m, d, (uint64_t)powers[d]);
                return;
            }
        }
        if (append_rounded(sb, v)) return;
    }
    sb_printf(sb, "%.*g", WINDOW_RESULT_DIGITS, v);
}

void window_result_format(strbuf *sb, const struct window_result *r)
{
    sb_putc(sb, '{');
    ndjson_append_string(sb, r->key_name, strlen(r->key_name));
    sb_putc(sb, ':');
    if (r->key_is_string)
        ndjson_append_string(sb, r->key, strlen(r->key));
    else
        sb_puts(sb, r->key);
    sb_putc(sb, ',');
    static struct time_text start_memo, end_memo;
    append_time_member(sb, "windowStart", r->start_ms, &start_memo);
    sb_putc(sb, ',');
    append_time_member(sb, "windowEnd", r->end_ms, &end_memo);
    for (size_t i = 0; i < r->n_metrics; i++) {
        sb_putc(sb, ',');
        ndjson_append_string(sb, r->metrics[i].name, strlen(r->metrics[i].name));
        sb_putc(sb, ':');
        append_metric_value(sb, r->metrics[i].value);
    }
    sb_puts(sb, r->final ? ",\"final\":true}\n" : ",\"final\":false}\n");
}

static int parse_error(char *err, size_t errlen, const char *reason, json_t *doc)
{
    snprintf(err, errlen, "%s", reason);
    json_decref(doc);
    return -1;
}

static int copy_text(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap || memchr(src, '\0', n) != NULL) return -1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

static int parse_time_member(json_t *value, int64_t *ms)
{
    if (!json_is_string(value)) return -1;
    return event_time_parse(json_string_value(value), json_string_length(value), ms);
}

int window_result_parse(const char *line, size_t len, struct window_result *r, char *err,
                        size_t errlen)
{
    json_error_t jerr;
    /* A repeated member is refused: which one counts would be a guess (the
     * rule of event_reader.h). */
    json_t *doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL && json_error_code(&jerr) == json_error_duplicate_key)
        return parse_error(err, errlen, jerr.text, doc);
    if (!json_is_object(doc)) return parse_error(err, errlen, "not a JSON object", doc);
    memset(r, 0, sizeof *r);
    bool have_start = false, have_end = false, first = true;
    const char *name;
    json_t *value;
    json_object_foreach(doc, name, value)
    {
        if (first) {
            first = false;
            if (copy_text(r->key_name, sizeof r->key_name, name, strlen(name)) != 0)
                return parse_error(err, errlen, "key name too long", doc);
            if (json_is_string(value)) {
                r->key_is_string = true;
                if (copy_text(r->key, sizeof r->key, json_string_value(value),
                              json_string_length(value)) != 0)
                    return parse_error(err, errlen, "key too long", doc);
            } else if (json_is_integer(value)) {
                snprintf(r->key, sizeof r->key, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
            } else {
                return parse_error(err, errlen, "key is neither an integer nor a string", doc);
            }
        } else if (strcmp(name, "windowStart") == 0) {
            if (parse_time_member(value, &r->start_ms) != 0)
                return parse_error(err, errlen, "windowStart is not a time", doc);
            have_start = true;
        } else if (strcmp(name, "windowEnd") == 0) {
            if (parse_time_member(value, &r->end_ms) != 0)
                return parse_error(err, errlen, "windowEnd is not a time", doc);
            have_end = true;
        } else if (strcmp(name, "final") == 0) {
            if (!json_is_boolean(value))
                return parse_error(err, errlen, "final is not a boolean", doc);
            r->final = json_is_true(value);
        } else {
            if (!json_is_number(value) && !json_is_null(value))
                return parse_error(err, errlen, "a metric is not a number", doc);
            if (r->n_metrics == WINDOW_RESULT_MAX_METRICS)
                return parse_error(err, errlen, "too many metrics", doc);
            struct window_metric *m = &r->metrics[r->n_metrics];
            if (copy_text(m->name, sizeof m->name, name, strlen(name)) != 0)
                return parse_error(err, errlen, "metric name too long", doc);
            m->value = json_is_null(value) ? NAN : json_number_value(value);
            r->n_metrics++;
        }
    }
    if (!have_start || !have_end)
        return parse_error(err, errlen, "no windowStart or windowEnd", doc);
    json_decref(doc);
    return 0;
}

bool window_result_metric(const struct window_result *r, const char *name, double *value)
{
    for (size_t i = 0; i < r->n_metrics; i++) {
        if (strcmp(r->metrics[i].name, name) == 0) {
            *value = r->metrics[i].value;
            return true;
        }
    }
    return false;
}

void camel_case(const char *field, char *out, size_t outlen)
{
    size_t used = 0;
    bool upper_next = false;
    if (outlen == 0) return;
    for (const char *p = field; *p != '\0' && used + 1 < outlen; p++) {
        if (*p == '_' && used > 0) {
            upper_next = true;
            continue;
        }
        char c = *p;
        if (upper_next && c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
        upper_next = false;
        out[used++] = c;
    }
    out[used] = '\0';
}
