/* http_metrics: request counters and latency histograms shared by the
 * threads of sp-serve. See http_metrics.h for the contract. */
#include "http_metrics.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndjson.h"

const double http_metrics_bucket_bounds[HTTP_METRICS_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

#define STATUS_MIN 100
#define STATUS_COUNT 500 /* 100..599 */

struct route_metrics {
    atomic_uint_fast64_t by_status[STATUS_COUNT];
    atomic_uint_fast64_t buckets[HTTP_METRICS_BUCKETS + 1]; /* the last is +Inf */
    atomic_uint_fast64_t sum_ns;
    atomic_uint_fast64_t count;
};

struct http_metrics {
    const char *const *route_names;
    size_t n_routes;
    atomic_uint_fast64_t redis_errors;
    struct route_metrics routes[];
};

http_metrics *http_metrics_new(const char *const *route_names, size_t n_routes)
{
    http_metrics *hm = calloc(1, sizeof *hm + n_routes * sizeof hm->routes[0]);
    if (hm == NULL) abort();
    hm->route_names = route_names;
    hm->n_routes = n_routes;
    return hm;
}

void http_metrics_free(http_metrics *hm)
{
    free(hm);
}

void http_metrics_observe(http_metrics *hm, size_t route, int status, double seconds)
{
    if (route >= hm->n_routes) return;
    if (status < STATUS_MIN || status >= STATUS_MIN + STATUS_COUNT) status = 500;
    struct route_metrics *rm = &hm->routes[route];
    atomic_fetch_add_explicit(&rm->by_status[status - STATUS_MIN], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < HTTP_METRICS_BUCKETS && seconds > http_metrics_bucket_bounds[b])
        b++;
    atomic_fetch_add_explicit(&rm->buckets[b], 1, memory_order_relaxed);
    uint64_t ns = seconds > 0 ? (uint64_t)(seconds * 1e9) : 0;
    atomic_fetch_add_explicit(&rm->sum_ns, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&rm->count, 1, memory_order_relaxed);
}

void http_metrics_redis_error(http_metrics *hm)
{
    atomic_fetch_add_explicit(&hm->redis_errors, 1, memory_order_relaxed);
}

static uint64_t load(const atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

void http_metrics_format(const http_metrics *hm, strbuf *sb)
{
    sb_puts(sb, "# HELP sp_http_requests_total HTTP requests answered, by route and status.\n"
                "# TYPE sp_http_requests_total counter\n");
    for (size_t r = 0; r < hm->n_routes; r++) {
        for (int s = 0; s < STATUS_COUNT; s++) {
            uint64_t n = load(&hm->routes[r].by_status[s]);
            if (n == 0) continue;
            sb_printf(sb, "sp_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                      hm->route_names[r], s + STATUS_MIN, (unsigned long long)n);
        }
    }
    sb_puts(sb, "# HELP sp_http_request_duration_seconds Time to answer a request, by route.\n"
                "# TYPE sp_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < hm->n_routes; r++) {
        const struct route_metrics *rm = &hm->routes[r];
        uint64_t count = load(&rm->count);
        if (count == 0) continue;
        /* Buckets are cumulative; the count is their total so the +Inf
         * bucket and _count agree even while other threads add. */
        uint64_t cumulative = 0;
        for (size_t b = 0; b <= HTTP_METRICS_BUCKETS; b++) {
            cumulative += load(&rm->buckets[b]);
            sb_printf(sb, "sp_http_request_duration_seconds_bucket{route=\"%s\",le=\"",
                      hm->route_names[r]);
            if (b < HTTP_METRICS_BUCKETS)
                ndjson_append_double(sb, http_metrics_bucket_bounds[b]);
            else
                sb_puts(sb, "+Inf");
            sb_printf(sb, "\"} %llu\n", (unsigned long long)cumulative);
        }
        sb_printf(sb, "sp_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n",
                  hm->route_names[r], (double)load(&rm->sum_ns) / 1e9);
        sb_printf(sb, "sp_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                  hm->route_names[r], (unsigned long long)cumulative);
    }
    sb_puts(sb, "# HELP sp_redis_errors_total Redis commands or connections that failed.\n"
                "# TYPE sp_redis_errors_total counter\n");
    sb_printf(sb, "sp_redis_errors_total{tool=\"sp-serve\"} %llu\n",
              (unsigned long long)load(&hm->redis_errors));
}

int http_metrics_write_file(const http_metrics *hm, const char *path)
{
    strbuf text = STRBUF_INIT, tmp = STRBUF_INIT;
    http_metrics_format(hm, &text);
    sb_printf(&tmp, "%s.tmp", path);
    FILE *f = fopen(tmp.data, "w");
    int rc = -1;
    if (f != NULL) {
        bool written = fwrite(text.data, 1, text.len, f) == text.len;
        int saved = errno;
        if (fclose(f) == 0 && written && rename(tmp.data, path) == 0)
            rc = 0;
        else
            errno = written ? errno : saved;
        if (rc != 0) unlink(tmp.data);
    }
    sb_free(&text);
    sb_free(&tmp);
    return rc;
}

/* scandir filter: visible files named *.prom. */
static int is_prom_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".prom") == 0;
}

/* Read at most HTTP_METRICS_FILE_MAX bytes of path into sb. */
static void read_file(strbuf *sb, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return;
    char buf[16384];
    size_t n;
    while (sb->len < HTTP_METRICS_FILE_MAX) {
        size_t room = HTTP_METRICS_FILE_MAX - sb->len;
        n = fread(buf, 1, room < sizeof buf ? room : sizeof buf, f);
        if (n == 0) break;
        sb_append(sb, buf, n);
    }
    fclose(f);
}

void http_metrics_merge_dir(prom_merge *pm, const char *dir)
{
    struct dirent **entries;
    int n = scandir(dir, &entries, is_prom_file, alphasort);
    if (n < 0) return;
    strbuf path = STRBUF_INIT, text = STRBUF_INIT;
    for (int i = 0; i < n; i++) {
        sb_reset(&path);
        sb_reset(&text);
        sb_printf(&path, "%s/%s", dir, entries[i]->d_name);
        read_file(&text, path.data);
        prom_merge_add(pm, text.data ? text.data : "", text.len, entries[i]->d_name);
        free(entries[i]);
    }
    sb_free(&path);
    sb_free(&text);
    free(entries);
}
