/* http_metrics: what sp-serve says about itself on GET /metrics: request
 * counts per route and status, a latency histogram per route, and Redis
 * errors, in the Prometheus text format.
 *
 * Routes are a fixed list of templates ("/metrics/region/{id}"), never raw
 * paths, so a client cannot grow the label set. Every update is one relaxed
 * atomic add: the server's threads share one instance without a lock. */
#ifndef SP_HTTP_METRICS_H
#define SP_HTTP_METRICS_H

#include <stddef.h>

#include "prom_merge.h"
#include "strbuf.h"

/* Upper bounds (seconds) of the latency buckets, +Inf aside. */
#define HTTP_METRICS_BUCKETS 12
extern const double http_metrics_bucket_bounds[HTTP_METRICS_BUCKETS];

typedef struct http_metrics http_metrics;

/* Counters for n_routes routes labelled with route_names (not copied: they
 * must outlive the instance; string literals in practice). */
http_metrics *http_metrics_new(const char *const *route_names, size_t n_routes);
void http_metrics_free(http_metrics *hm);

/* One request on route (an index into route_names) answered with status
 * (100-599; anything else is counted as 500) after seconds. */
void http_metrics_observe(http_metrics *hm, size_t route, int status, double seconds);

/* One failed Redis command or connection. */
void http_metrics_redis_error(http_metrics *hm);

/* Append the exposition text: sp_http_requests_total{route,status} for every
 * pair seen, sp_http_request_duration_seconds per route seen, and
 * sp_redis_errors_total{tool="sp-serve"}. */
void http_metrics_format(const http_metrics *hm, strbuf *sb);

/* Write the exposition text of http_metrics_format() to path atomically (a
 * temporary file beside it, then rename), the --metrics-file convention.
 * Returns 0, or -1 with errno. */
int http_metrics_write_file(const http_metrics *hm, const char *path);

/* Add every regular file in dir whose name ends in ".prom", in name order,
 * to pm, each sample labelled file="<the file's name>" (at most
 * HTTP_METRICS_FILE_MAX bytes of each), the node_exporter textfile
 * convention. A missing or unreadable directory adds nothing. */
#define HTTP_METRICS_FILE_MAX (1024 * 1024)
void http_metrics_merge_dir(prom_merge *pm, const char *dir);

#endif
