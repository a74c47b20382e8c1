/* aggregate: metric list parsing and per-window running state. */
#include "aggregate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

static const char *const default_metrics[] = {
    "tripCount=count",          "avgFare=avg:fare",         "totalDistance=sum:distance",
    "avgDuration=avg:duration", "p50Duration=p50:duration", "p95Duration=p95:duration",
    "p99Duration=p99:duration",
};

static const char *const reserved_names[] = {"windowStart", "windowEnd", "final"};

static const struct {
    const char *name;
    enum agg_func func;
} plain_funcs[] = {
    {"count", AGG_COUNT_FIELD}, {"sum", AGG_SUM}, {"avg", AGG_AVG},
    {"min", AGG_MIN},           {"max", AGG_MAX},
};

void agg_spec_init(struct agg_spec *spec)
{
    memset(spec, 0, sizeof *spec);
}

void agg_spec_default(struct agg_spec *spec)
{
    char err[128];
    agg_spec_init(spec);
    for (size_t i = 0; i < sizeof default_metrics / sizeof *default_metrics; i++)
        agg_spec_add(spec, default_metrics[i], err, sizeof err);
}

/* "95" or "99.9" (at most two decimals, 0..100) into hundredths. */
static int parse_percentile(const char *s, size_t n, uint32_t *pct_x100)
{
    uint32_t whole = 0, frac = 0, frac_digits = 0;
    size_t i = 0;
    if (n == 0) return -1;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        whole = whole * 10 + (uint32_t)(s[i] - '0');
        if (whole > 100) return -1;
    }
    if (i == 0) return -1;
    if (i < n) {
        if (s[i++] != '.' || i == n) return -1;
        for (; i < n; i++) {
            if (s[i] < '0' || s[i] > '9' || ++frac_digits > 2) return -1;
            frac = frac * 10 + (uint32_t)(s[i] - '0');
        }
    }
    if (frac_digits == 1) frac *= 10;
    *pct_x100 = whole * 100 + frac;
    return *pct_x100 <= 10000 ? 0 : -1;
}

/* Index of field in spec, adding it when new; -1 when the list is full. */
static int field_index(struct agg_spec *spec, const char *field, size_t len)
{
    for (size_t i = 0; i < spec->n_fields; i++)
        if (strlen(spec->fields[i]) == len && memcmp(spec->fields[i], field, len) == 0)
            return (int)i;
    if (spec->n_fields == AGG_MAX_FIELDS) return -1;
    memcpy(spec->fields[spec->n_fields], field, len);
    spec->fields[spec->n_fields][len] = '\0';
    return (int)spec->n_fields++;
}

static int reject(char *err, size_t errlen, const char *text, const char *why)
{
    snprintf(err, errlen, "--agg %s: %s", text, why);
    return -1;
}

int agg_spec_add(struct agg_spec *spec, const char *text, char *err, size_t errlen)
{
    const char *eq = strchr(text, '=');
    if (eq == NULL || eq == text) return reject(err, errlen, text, "want NAME=FUNC[:FIELD]");
    size_t name_len = (size_t)(eq - text);
    if (name_len >= WINDOW_RESULT_NAME_MAX) return reject(err, errlen, text, "name too long");
    if (spec->n_metrics == WINDOW_RESULT_MAX_METRICS)
        return reject(err, errlen, text, "too many metrics");

    struct agg_metric m = {.field = -1};
    memcpy(m.name, text, name_len);
    m.name[name_len] = '\0';
    for (size_t i = 0; i < sizeof reserved_names / sizeof *reserved_names; i++)
        if (strcmp(m.name, reserved_names[i]) == 0)
            return reject(err, errlen, text, "that name is reserved for the result record");
    for (size_t i = 0; i < spec->n_metrics; i++)
        if (strcmp(m.name, spec->metrics[i].name) == 0)
            return reject(err, errlen, text, "duplicate metric name");

    const char *func = eq + 1;
    const char *colon = strchr(func, ':');
    size_t func_len = colon ? (size_t)(colon - func) : strlen(func);
    const char *field = colon ? colon + 1 : NULL;
    if (field != NULL && (*field == '\0' || strlen(field) >= AGG_FIELD_MAX))
        return reject(err, errlen, text, "bad field name");

    bool known = false;
    for (size_t i = 0; i < sizeof plain_funcs / sizeof *plain_funcs; i++) {
        if (strlen(plain_funcs[i].name) == func_len &&
            memcmp(plain_funcs[i].name, func, func_len) == 0) {
            m.func = plain_funcs[i].func;
            known = true;
        }
    }
    if (!known) {
        if (func_len < 2 || func[0] != 'p' || parse_percentile(func + 1, func_len - 1, &m.pct_x100))
            return reject(err, errlen, text, "FUNC is count, sum, avg, min, max or pNN (0-100)");
        m.func = AGG_PERCENTILE;
    }
    if (field == NULL) {
        if (m.func != AGG_COUNT_FIELD)
            return reject(err, errlen, text, "this function needs :FIELD");
        m.func = AGG_COUNT;
    } else {
        m.field = field_index(spec, field, strlen(field));
        if (m.field < 0) return reject(err, errlen, text, "too many fields");
        if (m.func == AGG_PERCENTILE && spec->sketch_slot[m.field] == 0)
            spec->sketch_slot[m.field] = (uint8_t)++spec->n_sketches;
    }
    spec->metrics[spec->n_metrics++] = m;
    return 0;
}

static const char *func_name(enum agg_func f)
{
    switch (f) {
    case AGG_COUNT:
    case AGG_COUNT_FIELD:
        return "count";
    case AGG_SUM:
        return "sum";
    case AGG_AVG:
        return "avg";
    case AGG_MIN:
        return "min";
    case AGG_MAX:
        return "max";
    case AGG_PERCENTILE:
        return "p";
    }
    return "?";
}

void agg_spec_describe(const struct agg_spec *spec, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < spec->n_metrics && used < outlen; i++) {
        const struct agg_metric *m = &spec->metrics[i];
        char pct[16] = "";
        if (m->func == AGG_PERCENTILE)
            snprintf(pct, sizeof pct, "%u.%02u", m->pct_x100 / 100, m->pct_x100 % 100);
        int w = snprintf(out + used, outlen - used, "%s%s=%s%s%s%s", i ? "," : "", m->name,
                         func_name(m->func), pct, m->field >= 0 ? ":" : "",
                         m->field >= 0 ? spec->fields[m->field] : "");
        if (w < 0) return;
        used += (size_t)w;
    }
}

/* The sketch of field i, or NULL when no percentile reads it. */
static sketch *field_sketch(const struct agg_spec *spec, struct agg_state *state, size_t i)
{
    if (spec->sketch_slot[i] == 0) return NULL;
    sketch *first = (sketch *)(void *)&state->fields[spec->n_fields];
    return &first[spec->sketch_slot[i] - 1];
}

struct agg_state *agg_state_new(const struct agg_spec *spec)
{
    struct agg_state *state =
        malloc(sizeof *state + spec->n_fields * sizeof(struct agg_field_state) +
               spec->n_sketches * sizeof(sketch));
    if (state == NULL) abort();
    state->count = 0;
    for (size_t i = 0; i < spec->n_fields; i++) {
        struct agg_field_state *f = &state->fields[i];
        f->n = 0;
        f->sum = 0;
        f->min = INFINITY;
        f->max = -INFINITY;
        sketch *values = field_sketch(spec, state, i);
        if (values != NULL) sketch_init(values);
    }
    return state;
}

void agg_state_free(const struct agg_spec *spec, struct agg_state *state)
{
    if (state == NULL) return;
    for (size_t i = 0; i < spec->n_fields; i++) {
        sketch *values = field_sketch(spec, state, i);
        if (values != NULL) sketch_free(values);
    }
    free(state);
}

void agg_state_add(const struct agg_spec *spec, struct agg_state *state, const double *values)
{
    state->count++;
    for (size_t i = 0; i < spec->n_fields; i++) {
        double v = values[i];
        if (isnan(v)) continue;
        struct agg_field_state *f = &state->fields[i];
        f->n++;
        f->sum += v;
        if (v < f->min) f->min = v;
        if (v > f->max) f->max = v;
        sketch *kept = field_sketch(spec, state, i);
        if (kept != NULL) sketch_add(kept, v);
    }
}

static double metric_value(const struct agg_spec *spec, const struct agg_metric *m,
                           struct agg_state *state)
{
    if (m->func == AGG_COUNT) return (double)state->count;
    struct agg_field_state *f = &state->fields[m->field];
    if (m->func == AGG_COUNT_FIELD) return (double)f->n;
    if (f->n == 0) return NAN;
    switch (m->func) {
    case AGG_SUM:
        return f->sum;
    case AGG_AVG:
        return f->sum / (double)f->n;
    case AGG_MIN:
        return f->min;
    case AGG_MAX:
        return f->max;
    case AGG_PERCENTILE:
        return sketch_percentile(field_sketch(spec, state, (size_t)m->field), m->pct_x100);
    default:
        return NAN;
    }
}

void agg_state_results(const struct agg_spec *spec, struct agg_state *state,
                       struct window_result *r)
{
    r->n_metrics = spec->n_metrics;
    for (size_t i = 0; i < spec->n_metrics; i++) {
        memcpy(r->metrics[i].name, spec->metrics[i].name, sizeof r->metrics[i].name);
        r->metrics[i].value = metric_value(spec, &spec->metrics[i], state);
    }
}

/* JSON cannot hold infinities: the empty min/max and an overflowed sum print
 * as null (ndjson_append_double), read back by read_double(). */
static void append_member_double(strbuf *sb, const char *member, double v)
{
    sb_puts(sb, member);
    ndjson_append_double(sb, v);
}

void agg_state_append_json(strbuf *sb, const struct agg_spec *spec, const struct agg_state *state)
{
    sb_puts(sb, "{\"count\":");
    sb_put_i64(sb, (int64_t)state->count);
    sb_puts(sb, ",\"fields\":[");
    for (size_t i = 0; i < spec->n_fields; i++) {
        const struct agg_field_state *f = &state->fields[i];
        sb_puts(sb, i ? ",{\"n\":" : "{\"n\":");
        sb_put_i64(sb, (int64_t)f->n);
        append_member_double(sb, ",\"sum\":", f->sum);
        append_member_double(sb, ",\"min\":", f->min);
        append_member_double(sb, ",\"max\":", f->max);
        const sketch *values = field_sketch(spec, (struct agg_state *)state, i);
        if (values != NULL) {
            sb_puts(sb, ",\"sketch\":");
            sketch_append_json(sb, values);
        }
        sb_putc(sb, '}');
    }
    sb_puts(sb, "]}");
}

/* A number, or null meaning the infinity `absent` stands for. */
static int read_double(const json_t *j, double absent, double *out)
{
    if (json_is_null(j)) {
        *out = absent;
        return 0;
    }
    if (!json_is_number(j)) return -1;
    *out = json_number_value(j);
    return 0;
}

static struct agg_state *fail(const struct agg_spec *spec, struct agg_state *state, char *err,
                              size_t errlen, const char *reason)
{
    if (err[0] == '\0') /* a sketch error has already said what is wrong */
        snprintf(err, errlen, "window state: %s", reason);
    agg_state_free(spec, state);
    return NULL;
}

struct agg_state *agg_state_from_json(const struct agg_spec *spec, const json_t *j, char *err,
                                      size_t errlen)
{
    struct agg_state *state = agg_state_new(spec);
    err[0] = '\0';
    const json_t *count = json_object_get(j, "count");
    const json_t *fields = json_object_get(j, "fields");
    if (!json_is_integer(count) || json_integer_value(count) < 0)
        return fail(spec, state, err, errlen, "\"count\" is not a count");
    if (!json_is_array(fields) || json_array_size(fields) != spec->n_fields)
        return fail(spec, state, err, errlen, "\"fields\" does not match the metrics");
    state->count = (uint64_t)json_integer_value(count);
    for (size_t i = 0; i < spec->n_fields; i++) {
        const json_t *fj = json_array_get(fields, i);
        struct agg_field_state *f = &state->fields[i];
        const json_t *n = json_object_get(fj, "n");
        if (!json_is_integer(n) || json_integer_value(n) < 0 ||
            read_double(json_object_get(fj, "sum"), NAN, &f->sum) ||
            read_double(json_object_get(fj, "min"), INFINITY, &f->min) ||
            read_double(json_object_get(fj, "max"), -INFINITY, &f->max))
            return fail(spec, state, err, errlen, "a field state is malformed");
        f->n = (uint64_t)json_integer_value(n);
        sketch *values = field_sketch(spec, state, i);
        if (values != NULL &&
            sketch_from_json(values, json_object_get(fj, "sketch"), err, errlen) != 0)
            return fail(spec, state, err, errlen, "bad sketch");
    }
    return state;
}
