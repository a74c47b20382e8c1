/* result_reader: a flat-object fast path in front of window_result_parse().
 * See result_reader.h. */
#include "result_reader.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "event_time.h"
#include "ndjson.h"

struct scan {
    const char *p, *end;
};

static void skip_space(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool take(struct scan *s, char c)
{
    skip_space(s);
    if (s->p == s->end || *s->p != c) return false;
    s->p++;
    return true;
}

/* A string of printable ASCII without escapes: its body in *str, *n. */
static bool plain_string(struct scan *s, const char **str, size_t *n)
{
    if (!take(s, '"')) return false;
    const char *start = s->p;
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p;
        if (c < 0x20 || c > 0x7e || c == '\\') return false;
        s->p++;
    }
    if (s->p == s->end) return false;
    *str = start;
    *n = (size_t)(s->p - start);
    s->p++;
    return true;
}

/* The extent of a JSON number token starting at s->p. */
static bool number_token(struct scan *s, const char **num, size_t *n, bool *integral)
{
    skip_space(s);
    const char *start = s->p;
    while (s->p < s->end && strchr("0123456789+-.eE", *s->p) != NULL && *s->p != '\0')
        s->p++;
    *num = start;
    *n = (size_t)(s->p - start);
    if (*n == 0 || *n > 40 || !ndjson_is_number(start, *n)) return false;
    *integral = memchr(start, '.', *n) == NULL && memchr(start, 'e', *n) == NULL &&
                memchr(start, 'E', *n) == NULL;
    return true;
}

static bool literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);
    skip_space(s);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return false;
    s->p += n;
    return true;
}

static bool copy_name(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap) return false;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

/* A metric value: a number or null (NaN), as window_result_parse reads it. */
static bool metric_value(struct scan *s, double *value)
{
    if (literal(s, "null")) {
        *value = NAN;
        return true;
    }
    const char *num;
    size_t n;
    bool integral;
    if (!number_token(s, &num, &n, &integral)) return false;
    /* an integer jansson might refuse as too big: leave it to jansson */
    if (integral && n > 18) return false;
    char buf[48];
    memcpy(buf, num, n);
    buf[n] = '\0';
    *value = strtod(buf, NULL);
    return isfinite(*value);
}

/* The first member's value: a non-negative integer of at most 18 digits. */
static bool key_value(struct scan *s, struct window_result *r)
{
    const char *num;
    size_t n;
    bool integral;
    if (!number_token(s, &num, &n, &integral) || !integral || num[0] == '-' || n > 18) return false;
    return copy_name(r->key, sizeof r->key, num, n);
}

static bool time_value(struct scan *s, int64_t *ms)
{
    const char *str;
    size_t n;
    return plain_string(s, &str, &n) && event_time_parse(str, n, ms) == 0;
}

/* True when name[0..n) is among the names seen so far. */
static bool seen_before(const char *const *names, const size_t *lens, size_t count,
                        const char *name, size_t n)
{
    for (size_t i = 0; i < count; i++)
        if (lens[i] == n && memcmp(names[i], name, n) == 0) return true;
    return false;
}

#define MAX_MEMBERS (WINDOW_RESULT_MAX_METRICS + 4)

int result_reader_fast(const char *line, size_t len, struct window_result *r)
{
    struct scan s = {line, line + len};
    const char *names[MAX_MEMBERS];
    size_t lens[MAX_MEMBERS], count = 0;
    bool have_start = false, have_end = false;
    memset(r, 0, sizeof *r);
    if (!take(&s, '{')) return -1;
    do {
        const char *name;
        size_t n;
        if (count == MAX_MEMBERS || !plain_string(&s, &name, &n) || !take(&s, ':') ||
            seen_before(names, lens, count, name, n))
            return -1;
        names[count] = name;
        lens[count] = n;
        bool ok;
        if (count == 0) {
            ok = copy_name(r->key_name, sizeof r->key_name, name, n) && key_value(&s, r);
        } else if (n == 11 && memcmp(name, "windowStart", 11) == 0) {
            ok = have_start = time_value(&s, &r->start_ms);
        } else if (n == 9 && memcmp(name, "windowEnd", 9) == 0) {
            ok = have_end = time_value(&s, &r->end_ms);
        } else if (n == 5 && memcmp(name, "final", 5) == 0) {
            ok = literal(&s, "true") ? (r->final = true) : literal(&s, "false");
        } else {
            struct window_metric *m = &r->metrics[r->n_metrics];
            ok = r->n_metrics < WINDOW_RESULT_MAX_METRICS &&
                 copy_name(m->name, sizeof m->name, name, n) && metric_value(&s, &m->value);
            r->n_metrics += ok;
        }
        if (!ok) return -1;
        count++;
    } while (take(&s, ','));
    if (!take(&s, '}')) return -1;
    skip_space(&s);
    return s.p == s.end && have_start && have_end ? 0 : -1;
}

int result_reader_parse(const char *line, size_t len, struct window_result *r, char *err,
                        size_t errlen)
{
    if (result_reader_fast(line, len, r) == 0) return 0;
    return window_result_parse(line, len, r, err, errlen);
}
