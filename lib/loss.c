/* loss: see loss.h. */
#include "loss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

/* Distinct causes counted one by one; a record of any further cause counts
 * as "other reasons" (a schema has few rules, a program few error types). */
#define MAX_CAUSES 32

struct cause {
    enum dlq_error error;
    char field[64];     /* "" when the record names none */
    char rule[24];      /* the schema keyword broken, "" when none */
    char component[16]; /* the program that wrote the record */
    uint64_t total, at_period_start;
};

struct loss_report {
    const char *noun;
    const uint64_t *input_total;
    bool builtin_schema;
    struct cause causes[MAX_CAUSES];
    size_t n_causes;
    uint64_t other_total, other_at_period_start;
    uint64_t input_at_period_start;
    int64_t period_start_ms;
};

/* A period's view: how many of each cause, and of the input, it holds. */
struct tally {
    uint64_t input, other, lost;
    uint64_t count[MAX_CAUSES];
};

loss_report *loss_report_new(const char *noun, const uint64_t *input_total, bool builtin_schema,
                             int64_t now_ms)
{
    loss_report *lr = calloc(1, sizeof *lr);
    if (lr == NULL) abort();
    lr->noun = noun;
    lr->input_total = input_total;
    lr->builtin_schema = builtin_schema;
    lr->period_start_ms = now_ms;
    return lr;
}

void loss_report_free(loss_report *lr)
{
    free(lr);
}

/* Copy s (NULL: empty) into dst[0..n), cut short if need be. */
static void copy_text(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s ? s : "");
}

static bool same_cause(const struct cause *c, const struct dlq_record *rec)
{
    return c->error == rec->error && strcmp(c->field, rec->field ? rec->field : "") == 0 &&
           strcmp(c->rule, rec->rule ? rec->rule : "") == 0 &&
           strcmp(c->component, rec->component ? rec->component : "") == 0;
}

void loss_report_count(loss_report *lr, const struct dlq_record *rec)
{
    for (size_t i = 0; i < lr->n_causes; i++) {
        if (same_cause(&lr->causes[i], rec)) {
            lr->causes[i].total++;
            return;
        }
    }
    if (lr->n_causes == MAX_CAUSES) {
        lr->other_total++;
        return;
    }
    struct cause *c = &lr->causes[lr->n_causes++];
    c->error = rec->error;
    copy_text(c->field, sizeof c->field, rec->field);
    copy_text(c->rule, sizeof c->rule, rec->rule);
    copy_text(c->component, sizeof c->component, rec->component);
    c->total = 1;
}

/* What the records of c have in common, after "N of M lines ". */
static void append_cause(strbuf *sb, const struct cause *c)
{
    switch (c->error) {
    case DLQ_LATE_EVENT:
        sb_puts(sb, "were late");
        return;
    case DLQ_FUTURE_EVENT:
        sb_puts(sb, "were more than --max-future ahead of the wall clock");
        return;
    case DLQ_JSON_PARSE_ERROR:
        sb_puts(sb, "were not JSON objects");
        return;
    case DLQ_LINE_TOO_LONG:
        sb_puts(sb, "were longer than 1 MiB");
        return;
    case DLQ_CSV_PARSE_ERROR:
        if (*c->field)
            sb_printf(sb, "had an unreadable %s", c->field);
        else
            sb_puts(sb, "could not be read as rows of the header's columns");
        return;
    case DLQ_SCHEMA_VIOLATION:
    case DLQ_ERROR_COUNT:
        break;
    }
    if (!*c->rule)
        sb_printf(sb, "had no usable %s", c->field);
    else if (strcmp(c->rule, "required") == 0)
        sb_printf(sb, "had no %s", c->field);
    else if (strcmp(c->rule, "type") == 0)
        sb_printf(sb, "had a %s of the wrong type", c->field);
    else if (strcmp(c->rule, "unique") == 0)
        sb_printf(sb, "gave %s more than once", c->field);
    else if (strcmp(c->rule, "partition") == 0)
        sb_printf(sb, "came with a %s another partition had sent", c->field);
    else
        sb_printf(sb, "failed %s's %s", c->field, c->rule);
}

/* The likely cause and its fix, or NULL when there is no better advice
 * than the dead-letter records themselves. */
static const char *hint(const loss_report *lr, const struct cause *c)
{
    switch (c->error) {
    case DLQ_LATE_EVENT:
        return "is the input in event-time order? sp-replay --sort, or a larger --max-delay";
    case DLQ_FUTURE_EVENT:
        return "is a producer's clock, or the year, wrong?";
    case DLQ_JSON_PARSE_ERROR:
        return "is the input NDJSON? sp-replay turns CSV into events";
    case DLQ_SCHEMA_VIOLATION:
        if (strcmp(c->rule, "partition") == 0)
            return "produce keyed by the window key (sp-kcat-out --key)";
        if (strcmp(c->component, "sp-window") == 0)
            return *c->rule ? NULL : "--key and --time name the fields";
        if (!lr->builtin_schema) return NULL;
        /* Both layouts sp-replay reads give the same members, so only the
         * values tell NYC zones (1-265) from StreamPulse v1 regions (1-100). */
        if (strcmp(c->field, "region_id") == 0 && strcmp(c->rule, "maximum") == 0)
            return "NYC taxi data needs --schema schemas/nyc_tlc.json (zones 1-265)";
        return "the built-in schema is StreamPulse v1's: other data needs its own --schema";
    default:
        return NULL;
    }
}

/* The lines for a tally, each after prefix; nothing below the threshold. */
static void format_tally(const loss_report *lr, const struct tally *t, const char *prefix,
                         strbuf *out)
{
    if (t->lost == 0 || t->lost * 100 < t->input * LOSS_REPORT_SHARE_PCT) return;
    bool listed[MAX_CAUSES] = {false};
    uint64_t unlisted = t->lost;
    for (int line = 0; line < LOSS_REPORT_MAX_LINES; line++) {
        size_t best = MAX_CAUSES;
        for (size_t i = 0; i < lr->n_causes; i++)
            if (!listed[i] && t->count[i] > 0 &&
                (best == MAX_CAUSES || t->count[i] > t->count[best]))
                best = i;
        /* A cause too small to matter beside the others goes unnamed. */
        if (best == MAX_CAUSES || (line > 0 && t->count[best] * 10 < t->lost)) break;
        listed[best] = true;
        unlisted -= t->count[best];
        const struct cause *c = &lr->causes[best];
        sb_printf(out, "%s%llu of %llu %s ", prefix, (unsigned long long)t->count[best],
                  (unsigned long long)t->input, lr->noun);
        append_cause(out, c);
        const char *h = hint(lr, c);
        if (h) sb_printf(out, ": %s", h);
        sb_putc(out, '\n');
    }
    if (unlisted > 0)
        sb_printf(out, "%sand %llu more for other reasons (see the dead-letter records)\n", prefix,
                  (unsigned long long)unlisted);
}

/* The counts since the period began (since_period) or since the start. */
static void take_tally(const loss_report *lr, bool since_period, struct tally *t)
{
    t->input = *lr->input_total - (since_period ? lr->input_at_period_start : 0);
    t->other = lr->other_total - (since_period ? lr->other_at_period_start : 0);
    t->lost = t->other;
    for (size_t i = 0; i < lr->n_causes; i++) {
        const struct cause *c = &lr->causes[i];
        t->count[i] = c->total - (since_period ? c->at_period_start : 0);
        t->lost += t->count[i];
    }
}

/* Print each line of text through diag_warn (which adds "sp-NAME: "). */
static void warn_lines(const strbuf *text)
{
    const char *p = text->data, *end = text->data + text->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        diag_warn("%.*s", (int)(nl - p), p);
        p = nl + 1;
    }
}

void loss_report_tick(loss_report *lr, int64_t now_ms)
{
    if (now_ms - lr->period_start_ms < LOSS_REPORT_INTERVAL_MS) return;
    struct tally t;
    take_tally(lr, true, &t);
    strbuf text = STRBUF_INIT;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "in the last %llds, ",
             (long long)((now_ms - lr->period_start_ms) / 1000));
    format_tally(lr, &t, prefix, &text);
    warn_lines(&text);
    sb_free(&text);
    lr->period_start_ms = now_ms;
    lr->input_at_period_start = *lr->input_total;
    lr->other_at_period_start = lr->other_total;
    for (size_t i = 0; i < lr->n_causes; i++)
        lr->causes[i].at_period_start = lr->causes[i].total;
}

void loss_report_format(const loss_report *lr, strbuf *out)
{
    struct tally t;
    take_tally(lr, false, &t);
    format_tally(lr, &t, "", out);
}

void loss_report_final(loss_report *lr)
{
    strbuf text = STRBUF_INIT;
    loss_report_format(lr, &text);
    warn_lines(&text);
    sb_free(&text);
}
