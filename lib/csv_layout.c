/* csv_layout: see csv_layout.h. */
#include "csv_layout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_time.h"
#include "ndjson.h"

/* ---- layouts ------------------------------------------------------------ */

/* Column roles, the indexes of csv_layout.col[]. */
enum { V1_TRIP_ID, V1_REGION_ID, V1_EVENT_TIME, V1_FARE, V1_DURATION, V1_DISTANCE, V1_COLS };
enum { NYC_PICKUP, NYC_DROPOFF, NYC_LOCATION, NYC_FARE, NYC_DISTANCE, NYC_COLS };

static const char *const v1_names[V1_COLS] = {"trip_id", "region_id", "event_time",
                                              "fare",    "duration",  "distance"};
static const char *const nyc_tlc_names[NYC_COLS] = {"tpep_pickup_datetime", "tpep_dropoff_datetime",
                                                    "PULocationID", "fare_amount", "trip_distance"};
static const char *const nyc_snake_names[NYC_COLS] = {
    "pickup_datetime", "dropoff_datetime", "pickup_location_id", "fare_amount", "trip_distance"};

/* Index of the first of names[0..n) equal to name[0..len), or -1. */
static long find_column(const csv_field *names, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (names[i].len == len && memcmp(names[i].s, name, len) == 0) return (long)i;
    return -1;
}

/* Fill l->col[] and l->names[] when every one of the n names is a column. */
static bool find_all(csv_layout *l, const csv_field *names, size_t ncols, const char *const *wanted,
                     size_t n)
{
    for (size_t i = 0; i < n; i++) {
        long c = find_column(names, ncols, wanted[i], strlen(wanted[i]));
        if (c < 0) return false;
        l->col[i] = (size_t)c;
        l->names[i] = wanted[i];
    }
    return true;
}

void csv_layout_label(const char *path, char *out, size_t outlen)
{
    if (strcmp(path, "-") == 0) {
        snprintf(out, outlen, "stdin");
        return;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".csv") == 0) len -= 4;
    snprintf(out, outlen, "%.*s", (int)len, base);
}

int csv_layout_init(csv_layout *l, const csv_record *header, const char *time_field,
                    const char *label, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    if (header->error) {
        snprintf(err, errlen, "header line %llu: %s", (unsigned long long)header->line,
                 header->error);
        return -1;
    }
    if (!utf8_valid(header->raw, header->raw_len)) {
        snprintf(err, errlen, "header line %llu is not valid UTF-8",
                 (unsigned long long)header->line);
        return -1;
    }
    size_t n = header->nfields;
    csv_field names[CSV_MAX_FIELDS];
    memcpy(names, header->fields, n * sizeof *names);
    if (n > 0 && names[0].len >= 3 && memcmp(names[0].s, "\xEF\xBB\xBF", 3) == 0) {
        names[0].s += 3;
        names[0].len -= 3;
    }

    if (time_field) {
        long c = find_column(names, n, time_field, strlen(time_field));
        if (c < 0) {
            snprintf(err, errlen, "--time-field %s: the header has no such column", time_field);
            return -1;
        }
        l->kind = CSV_LAYOUT_GENERIC;
        l->time_col = (size_t)c;
        l->time_name = strdup(time_field);
        if (!l->time_name) abort();
        l->names[0] = l->time_name;
    } else if (find_all(l, names, n, v1_names, V1_COLS)) {
        l->kind = CSV_LAYOUT_V1;
        l->time_col = l->col[V1_EVENT_TIME];
    } else if (find_all(l, names, n, nyc_tlc_names, NYC_COLS) ||
               find_all(l, names, n, nyc_snake_names, NYC_COLS)) {
        l->kind = CSV_LAYOUT_NYC;
        l->time_col = l->col[NYC_PICKUP];
    } else {
        snprintf(err, errlen,
                 "the header is neither StreamPulse v1 nor NYC TLC: name the event-time "
                 "column with --time-field");
        return -1;
    }

    l->ncols = n;
    l->omit = calloc(n + 1, sizeof *l->omit);
    l->key_off = malloc((n + 1) * sizeof *l->key_off);
    l->colname_off = malloc((n + 1) * sizeof *l->colname_off);
    if (!l->omit || !l->key_off || !l->colname_off) abort();
    if (l->kind == CSV_LAYOUT_V1)
        for (size_t i = 0; i < V1_COLS; i++)
            l->omit[l->col[i]] = true;
    /* A repeated name would repeat a member: the first column wins. */
    for (size_t i = 1; i < n; i++)
        if (find_column(names, i, names[i].s, names[i].len) >= 0) l->omit[i] = true;
    for (size_t i = 0; i < n; i++) {
        l->key_off[i] = l->keys.len;
        ndjson_append_string(&l->keys, names[i].s, names[i].len);
        sb_putc(&l->keys, ':');
        l->colname_off[i] = l->colnames.len;
        sb_append(&l->colnames, names[i].s, names[i].len);
        sb_putc(&l->colnames, '\0');
    }
    l->key_off[n] = l->keys.len;
    /* NYC trip ids are "<label>:<line>": keep the JSON string of "<label>:"
     * without its closing quote, ready for the line number. */
    strbuf id = STRBUF_INIT;
    sb_puts(&id, label);
    sb_putc(&id, ':');
    ndjson_append_string(&l->trip_id_prefix, id.data, id.len);
    l->trip_id_prefix.len--;
    sb_free(&id);
    return 0;
}

void csv_layout_free(csv_layout *l)
{
    free(l->omit);
    free(l->key_off);
    free(l->colname_off);
    sb_free(&l->colnames);
    free(l->time_name);
    sb_free(&l->keys);
    sb_free(&l->trip_id_prefix);
    memset(l, 0, sizeof *l);
}

const char *csv_layout_name(const csv_layout *l)
{
    switch (l->kind) {
    case CSV_LAYOUT_V1:
        return "StreamPulse v1";
    case CSV_LAYOUT_NYC:
        return "NYC TLC";
    case CSV_LAYOUT_GENERIC:
        return "generic";
    }
    return "?";
}

/* ---- mapping ------------------------------------------------------------ */

static int fail(struct csv_row_error *err, enum dlq_error type, const char *field, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

static int fail(struct csv_row_error *err, enum dlq_error type, const char *field, const char *fmt,
                ...)
{
    err->type = type;
    err->field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof err->reason, fmt, ap);
    va_end(ap);
    return -1;
}

/* The header name of column i, or NULL past the last column. */
static const char *column_name(const csv_layout *l, size_t i)
{
    return i < l->ncols ? l->colnames.data + l->colname_off[i] : NULL;
}

/* The checks every row passes before its fields mean anything. */
static int check_record(const csv_layout *l, const csv_record *rec, struct csv_row_error *err)
{
    if (rec->error) {
        enum dlq_error type = rec->too_long ? DLQ_LINE_TOO_LONG : DLQ_CSV_PARSE_ERROR;
        const char *column = column_name(l, rec->error_column);
        if (!column) return fail(err, type, NULL, "%s", rec->error);
        return fail(err, type, column, "%s: %s", column, rec->error);
    }
    if (rec->nfields < l->ncols)
        return fail(err, DLQ_CSV_PARSE_ERROR, column_name(l, rec->nfields),
                    "expected %zu fields as in the header, found %zu: %s is missing", l->ncols,
                    rec->nfields, column_name(l, rec->nfields));
    if (rec->nfields > l->ncols)
        return fail(err, DLQ_CSV_PARSE_ERROR, NULL,
                    "expected %zu fields as in the header, found %zu", l->ncols, rec->nfields);
    /* Fields are cut from raw at ASCII bytes, so valid raw means valid fields. */
    if (!utf8_valid(rec->raw, rec->raw_len))
        return fail(err, DLQ_CSV_PARSE_ERROR, NULL, "the row is not valid UTF-8");
    return 0;
}

/* Parse the time in column col, named name in errors. */
static int parse_time(const csv_record *rec, size_t col, const char *name, bool epoch_ok,
                      int64_t *ms, struct csv_row_error *err)
{
    const csv_field *f = &rec->fields[col];
    if (f->len == 0) return fail(err, DLQ_CSV_PARSE_ERROR, name, "%s is empty", name);
    int rc = epoch_ok ? time_or_epoch_parse(f->s, f->len, ms) : event_time_parse(f->s, f->len, ms);
    if (rc < 0)
        return fail(err, DLQ_CSV_PARSE_ERROR, name, "%s: \"%.*s\" is not a time", name,
                    f->len > 64 ? 64 : (int)f->len, f->s);
    return 0;
}

int csv_layout_event_time(const csv_layout *l, const csv_record *rec, int64_t *ms,
                          struct csv_row_error *err)
{
    if (check_record(l, rec, err) < 0) return -1;
    const char *name = l->kind == CSV_LAYOUT_NYC  ? l->names[NYC_PICKUP]
                       : l->kind == CSV_LAYOUT_V1 ? l->names[V1_EVENT_TIME]
                                                  : l->names[0];
    return parse_time(rec, l->time_col, name, l->kind == CSV_LAYOUT_GENERIC, ms, err);
}

/* A field as a JSON value: its text when it is a JSON number, else a
 * string; an empty field is null when empty_is_null, else "". */
static void append_value(strbuf *out, const csv_field *f, bool empty_is_null)
{
    if (f->len == 0) {
        sb_puts(out, empty_is_null ? "null" : "\"\"");
    } else if (ndjson_is_number(f->s, f->len)) {
        sb_append(out, f->s, f->len);
    } else {
        ndjson_append_string(out, f->s, f->len);
    }
}

static void append_time_string(strbuf *out, int64_t ms)
{
    char text[EVENT_TIME_TEXT_MAX];
    size_t n = event_time_format(ms, text);
    sb_putc(out, '"');
    sb_append(out, text, n);
    sb_putc(out, '"');
}

/* Epoch seconds, with milliseconds only when there are some. */
static void append_epoch_seconds(strbuf *out, int64_t ms)
{
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        secs--;
        frac += 1000;
    }
    sb_put_i64(out, secs);
    if (frac) sb_printf(out, ".%03d", (int)frac);
}

static void append_loop_suffix(strbuf *out, const struct csv_pass *pass)
{
    if (pass->number == 0) return;
    sb_putc(out, '#');
    sb_put_i64(out, (int64_t)pass->number);
}

static void map_v1(const csv_layout *l, const csv_record *rec, const struct csv_pass *pass,
                   int64_t ms, strbuf *out)
{
    const csv_field *f = rec->fields;
    const csv_field *id = &f[l->col[V1_TRIP_ID]];
    sb_puts(out, "{\"trip_id\":");
    if (id->len == 0) {
        sb_puts(out, "null");
    } else {
        ndjson_append_string(out, id->s, id->len);
        /* The suffix needs no escaping: slip it in before the closing quote. */
        if (pass->number > 0) {
            out->len--;
            append_loop_suffix(out, pass);
            sb_putc(out, '"');
        }
    }
    sb_puts(out, ",\"region_id\":");
    append_value(out, &f[l->col[V1_REGION_ID]], true);
    sb_puts(out, ",\"event_time\":");
    if (pass->number == 0) {
        const csv_field *t = &f[l->col[V1_EVENT_TIME]];
        ndjson_append_string(out, t->s, t->len);
    } else {
        append_time_string(out, ms);
    }
    sb_puts(out, ",\"fare\":");
    append_value(out, &f[l->col[V1_FARE]], true);
    sb_puts(out, ",\"duration\":");
    append_value(out, &f[l->col[V1_DURATION]], true);
    sb_puts(out, ",\"distance\":");
    append_value(out, &f[l->col[V1_DISTANCE]], true);
    /* Other columns pass through, as sp-validate passes other fields. */
    for (size_t i = 0; i < l->ncols; i++) {
        if (l->omit[i]) continue;
        sb_putc(out, ',');
        sb_append(out, l->keys.data + l->key_off[i], l->key_off[i + 1] - l->key_off[i]);
        append_value(out, &f[i], true);
    }
    sb_puts(out, "}\n");
}

/* Parses the dropoff time before writing anything, so a failure leaves out
 * unchanged. */
static int map_nyc(const csv_layout *l, const csv_record *rec, const struct csv_pass *pass,
                   int64_t pickup_ms, strbuf *out, struct csv_row_error *err)
{
    int64_t dropoff_ms;
    if (parse_time(rec, l->col[NYC_DROPOFF], l->names[NYC_DROPOFF], false, &dropoff_ms, err) < 0)
        return -1;
    const csv_field *f = rec->fields;
    sb_puts(out, "{\"trip_id\":");
    sb_append(out, l->trip_id_prefix.data, l->trip_id_prefix.len);
    sb_put_i64(out, (int64_t)rec->line);
    append_loop_suffix(out, pass);
    sb_puts(out, "\",\"region_id\":");
    append_value(out, &f[l->col[NYC_LOCATION]], true);
    sb_puts(out, ",\"event_time\":");
    append_time_string(out, pickup_ms + pass->shift_ms);
    sb_puts(out, ",\"fare\":");
    append_value(out, &f[l->col[NYC_FARE]], true);
    sb_puts(out, ",\"duration\":");
    sb_put_i64(out, (dropoff_ms - pickup_ms) / 1000);
    sb_puts(out, ",\"distance\":");
    append_value(out, &f[l->col[NYC_DISTANCE]], true);
    sb_puts(out, "}\n");
    return 0;
}

static void map_generic(const csv_layout *l, const csv_record *rec, const struct csv_pass *pass,
                        int64_t ms, strbuf *out)
{
    sb_putc(out, '{');
    bool first = true;
    for (size_t i = 0; i < l->ncols; i++) {
        if (l->omit[i]) continue;
        if (!first) sb_putc(out, ',');
        first = false;
        sb_append(out, l->keys.data + l->key_off[i], l->key_off[i + 1] - l->key_off[i]);
        const csv_field *f = &rec->fields[i];
        if (i != l->time_col || pass->number == 0) {
            append_value(out, f, false);
        } else if (ndjson_is_number(f->s, f->len)) {
            /* A shifted time keeps the form it came in: epoch seconds. */
            append_epoch_seconds(out, ms);
        } else {
            append_time_string(out, ms);
        }
    }
    sb_puts(out, "}\n");
}

int csv_layout_map(const csv_layout *l, const csv_record *rec, const struct csv_pass *pass,
                   strbuf *out, int64_t *ms, struct csv_row_error *err)
{
    int64_t t;
    if (csv_layout_event_time(l, rec, &t, err) < 0) return -1;
    switch (l->kind) {
    case CSV_LAYOUT_V1:
        map_v1(l, rec, pass, t + pass->shift_ms, out);
        break;
    case CSV_LAYOUT_NYC:
        if (map_nyc(l, rec, pass, t, out, err) < 0) return -1;
        break;
    case CSV_LAYOUT_GENERIC:
        map_generic(l, rec, pass, t + pass->shift_ms, out);
        break;
    }
    *ms = t + pass->shift_ms;
    return 0;
}
