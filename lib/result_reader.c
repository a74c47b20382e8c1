/* result_reader: window result lines read by the one record scanner, with
 * window_result_parse() behind it for the reason a line is refused. See
 * result_reader.h. */
#include "result_reader.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "event_reader.h"
#include "event_time.h"

/* What the member visitor has read so far. */
struct reading {
    struct window_result *r;
    bool have_key, have_start, have_end, have_final;
    strbuf name, text; /* decoded name and string value of the member in hand */
};

static bool copy_text(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap) return false;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

static bool read_key(struct reading *rd, const char *name, size_t n, const struct ev_value *v)
{
    struct window_result *r = rd->r;
    if (!copy_text(r->key_name, sizeof r->key_name, name, n)) return false;
    if (v->kind == EV_INTEGER) {
        snprintf(r->key, sizeof r->key, "%" PRId64, ev_integer(v));
        return true;
    }
    if (v->kind != EV_STRING) return false;
    size_t len;
    const char *text = ev_string(v, &rd->text, &len);
    r->key_is_string = true;
    return copy_text(r->key, sizeof r->key, text, len);
}

static bool read_time(struct reading *rd, const struct ev_value *v, bool *seen, int64_t *ms)
{
    if (*seen || v->kind != EV_STRING) return false;
    size_t len;
    const char *text = ev_string(v, &rd->text, &len);
    *seen = true;
    return event_time_parse(text, len, ms) == 0;
}

static bool same_name(const char *known, const char *name, size_t n)
{
    return strlen(known) == n && memcmp(known, name, n) == 0;
}

static bool read_metric(struct window_result *r, const char *name, size_t n,
                        const struct ev_value *v)
{
    if (r->n_metrics == WINDOW_RESULT_MAX_METRICS) return false;
    for (size_t i = 0; i < r->n_metrics; i++)
        if (same_name(r->metrics[i].name, name, n)) return false;
    struct window_metric *m = &r->metrics[r->n_metrics];
    if (!copy_text(m->name, sizeof m->name, name, n)) return false;
    if (v->kind == EV_NULL)
        m->value = NAN;
    else if (v->kind == EV_INTEGER || v->kind == EV_REAL)
        m->value = ev_number(v);
    else
        return false;
    r->n_metrics++;
    return true;
}

/* One top-level member, in line order: the first is the key. A name given
 * twice refuses the line (the rule of event_reader.h), as jansson's
 * JSON_REJECT_DUPLICATES does in window_result_parse(). */
static int read_member(void *arg, const struct ev_member *member)
{
    struct reading *rd = arg;
    struct window_result *r = rd->r;
    const struct ev_value *v = &member->value;
    size_t n;
    const char *name = ev_member_name(member, &rd->name, &n);
    bool ok;
    if (!rd->have_key) {
        ok = rd->have_key = read_key(rd, name, n, v);
    } else if (same_name(r->key_name, name, n)) {
        ok = false;
    } else if (n == 11 && memcmp(name, "windowStart", 11) == 0) {
        ok = read_time(rd, v, &rd->have_start, &r->start_ms);
    } else if (n == 9 && memcmp(name, "windowEnd", 9) == 0) {
        ok = read_time(rd, v, &rd->have_end, &r->end_ms);
    } else if (n == 5 && memcmp(name, "final", 5) == 0) {
        ok = !rd->have_final && (v->kind == EV_TRUE || v->kind == EV_FALSE);
        rd->have_final = true;
        r->final = v->kind == EV_TRUE;
    } else {
        ok = read_metric(r, name, n, v);
    }
    return !ok; /* a member it does not take: window_result_parse() says why */
}

int result_reader_fast(const char *line, size_t len, struct window_result *r)
{
    static const struct ev_fields no_fields;
    struct ev_scan scan;
    struct reading rd = {.r = r, .name = STRBUF_INIT, .text = STRBUF_INIT};
    memset(r, 0, sizeof *r);
    int rc = ev_scan_members(line, len, &no_fields, &scan, read_member, &rd);
    sb_free(&rd.name);
    sb_free(&rd.text);
    return rc == 0 && scan.top == EV_OBJECT && rd.have_start && rd.have_end ? 0 : -1;
}

int result_reader_parse(const char *line, size_t len, struct window_result *r, char *err,
                        size_t errlen)
{
    if (result_reader_fast(line, len, r) == 0) return 0;
    return window_result_parse(line, len, r, err, errlen);
}
