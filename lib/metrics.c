/* metrics: see metrics.h. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "ndjson.h"

struct metric {
    char *name;
    char *labels; /* NULL when the metric has no labels of its own */
    char *help;
    bool is_counter;
    uint64_t counter;
    double gauge;
};

struct metrics {
    char *tool;
    char *path;
    struct metric **items; /* pointers stay put while the array grows */
    size_t count;
    size_t cap;
    int64_t last_write_ms;
};

static char *dup_or_null(const char *s)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

metrics *metrics_new(const char *tool, const char *path)
{
    metrics *m = calloc(1, sizeof *m);
    if (!m) abort();
    m->tool = dup_or_null(tool);
    m->path = dup_or_null(path);
    m->last_write_ms = monotonic_ms();
    return m;
}

void metrics_free(metrics *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->count; i++) {
        free(m->items[i]->name);
        free(m->items[i]->labels);
        free(m->items[i]->help);
        free(m->items[i]);
    }
    free(m->items);
    free(m->tool);
    free(m->path);
    free(m);
}

/* The metric with this name and labels, created on first use. */
static struct metric *lookup(metrics *m, const char *name, const char *labels, const char *help,
                             bool is_counter)
{
    for (size_t i = 0; i < m->count; i++) {
        struct metric *x = m->items[i];
        bool same_labels =
            (!x->labels && !labels) || (x->labels && labels && !strcmp(x->labels, labels));
        if (!strcmp(x->name, name) && same_labels) return x;
    }
    if (m->count == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->items = realloc(m->items, m->cap * sizeof *m->items);
        if (!m->items) abort();
    }
    struct metric *x = calloc(1, sizeof *x);
    if (!x) abort();
    x->name = dup_or_null(name);
    x->labels = dup_or_null(labels && *labels ? labels : NULL);
    x->help = dup_or_null(help);
    x->is_counter = is_counter;
    m->items[m->count++] = x;
    return x;
}

uint64_t *metrics_counter(metrics *m, const char *name, const char *labels, const char *help)
{
    return &lookup(m, name, labels, help, true)->counter;
}

double *metrics_gauge(metrics *m, const char *name, const char *labels, const char *help)
{
    return &lookup(m, name, labels, help, false)->gauge;
}

void metrics_format(const metrics *m, strbuf *sb)
{
    for (size_t i = 0; i < m->count; i++) {
        const struct metric *x = m->items[i];
        bool first_of_name = true;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(m->items[j]->name, x->name)) first_of_name = false;
        if (first_of_name) {
            /* HELP and TYPE once per name, before its first sample, as the
             * exposition format requires. Samples of one name must be
             * adjacent too: emit them all here. */
            const char *help = x->help;
            for (size_t j = i; j < m->count && !help; j++)
                if (!strcmp(m->items[j]->name, x->name)) help = m->items[j]->help;
            if (help) sb_printf(sb, "# HELP %s %s\n", x->name, help);
            sb_printf(sb, "# TYPE %s %s\n", x->name, x->is_counter ? "counter" : "gauge");
            for (size_t j = i; j < m->count; j++) {
                const struct metric *y = m->items[j];
                if (strcmp(y->name, x->name)) continue;
                sb_printf(sb, "%s{tool=\"%s\"%s%s} ", y->name, m->tool ? m->tool : "",
                          y->labels ? "," : "", y->labels ? y->labels : "");
                if (y->is_counter)
                    sb_printf(sb, "%llu\n", (unsigned long long)y->counter);
                else {
                    ndjson_append_double(sb, y->gauge);
                    sb_putc(sb, '\n');
                }
            }
        }
    }
}

int metrics_write(metrics *m)
{
    m->last_write_ms = monotonic_ms();
    if (!m->path) return 0;
    strbuf text = STRBUF_INIT;
    metrics_format(m, &text);

    size_t plen = strlen(m->path);
    char *tmp = malloc(plen + 32);
    if (!tmp) abort();
    snprintf(tmp, plen + 32, "%s.tmp.%ld", m->path, (long)getpid());
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        size_t off = 0;
        while (off < text.len) {
            ssize_t w = write(fd, text.data + off, text.len - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += (size_t)w;
        }
        int close_rc = close(fd);
        if (off == text.len && close_rc == 0 && rename(tmp, m->path) == 0) rc = 0;
    }
    if (rc < 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    }
    free(tmp);
    sb_free(&text);
    return rc;
}

void metrics_tick(metrics *m)
{
    if (!m->path) return;
    if (monotonic_coarse_ms() - m->last_write_ms >= METRICS_INTERVAL_MS) metrics_write(m);
}
