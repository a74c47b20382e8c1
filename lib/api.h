/* api: the REST API of sp-serve (SPEC section 7) as a plain function from a
 * request (method and raw request target) to a response (status, JSON body),
 * so routing, parameter checks and handlers are tested without a socket and
 * libmicrohttpd stays at the program's edge.
 *
 *   GET /                            the live page (live_page.h), text/html
 *   GET /health                      200 healthy/degraded, 503 unhealthy
 *   GET /metrics                     Prometheus text: the request metrics, the
 *                                    trip gauges (trip_gauges.h) and the
 *                                    metrics files, merged (prom_merge.h)
 *   GET /metrics/region/{id}         ?window=D ?at=TIME
 *   GET /metrics/timeline/{id}       ?hours=H | ?from=TIME&to=TIME
 *   GET /metrics/regions/top         ?metric=M&limit=N&at=TIME
 *
 * Errors are {"detail":"…"}: 400 bad id or parameter, 404 unknown path or
 * nothing stored, 405 other methods (with an Allow header), 414 a request
 * target over API_TARGET_MAX bytes, 503 Redis unavailable. The raw target is
 * parsed here, before any percent-decoding, so "%00", "%2F" or ".." can never
 * turn an unknown path into a known one. */
#ifndef SP_API_H
#define SP_API_H

#include <stddef.h>

#include "http_metrics.h"
#include "redis_store.h"
#include "strbuf.h"

#define API_TARGET_MAX 8192  /* longest request target (path and query) */
#define API_LIMIT_DEFAULT 10 /* ?limit= of the top regions */
#define API_LIMIT_MAX 1000
#define API_HOURS_MAX 8784     /* ?hours= up to a leap year */
#define API_TIMELINE_MAX 10000 /* windows in one timeline answer */
#define API_ID_DIGITS_MAX 15   /* region ids up to REDIS_REGION_MAX */

enum api_route {
    API_ROUTE_PAGE,
    API_ROUTE_HEALTH,
    API_ROUTE_METRICS,
    API_ROUTE_REGION,
    API_ROUTE_TIMELINE,
    API_ROUTE_TOP,
    API_ROUTE_UNKNOWN,
    API_ROUTE_COUNT
};

/* The route templates, the label values of the request metrics. */
extern const char *const api_route_names[API_ROUTE_COUNT];

/* What every worker shares; read-only once the server runs. */
struct api_config {
    const struct redis_target *redis; /* NULL: no Redis, data requests get 503 */
    int redis_timeout_ms;
    const char *const *rank_metrics; /* the metrics ?metric= accepts (at least one); the
                                        first is the default */
    size_t n_rank_metrics;
    http_metrics *metrics;   /* request counters; not NULL */
    const char *metrics_dir; /* *.prom files merged into /metrics, or NULL */
    /* Kafka state for /health: "connected" or "error"; NULL when Kafka is
     * not configured. Called from any worker thread. */
    const char *(*kafka_status)(void *arg);
    void *kafka_arg;
    /* What the data is, shown in the live page's header; NULL for none. */
    const char *page_title;
};

/* One worker: the config and its own Redis connection, opened on first use
 * and again after any error. One per thread; not shared. */
typedef struct api_worker api_worker;

api_worker *api_worker_new(const struct api_config *cfg);
void api_worker_free(api_worker *w);

struct api_response {
    int status;
    enum api_route route;
    const char *content_type; /* JSON, HTML (GET /) or the Prometheus type */
    const char *allow;        /* the Allow header of a 405, else NULL */
    strbuf body;
};

/* Initialise an empty response; free its body with api_response_free(). */
void api_response_init(struct api_response *resp);
void api_response_free(struct api_response *resp);

/* Answer method on target[0..target_len) (the raw request target, "/path?query",
 * not decoded) into resp, which is reset first, and count it in the metrics.
 * Never fails: every input gets a status and a body. */
void api_handle(api_worker *w, const char *method, const char *target, size_t target_len,
                struct api_response *resp);

/* As api_handle(), for a connection the server took beyond its connection
 * limit: GET /health is answered as usual, so a health check still sees a
 * live server, and every other valid request gets 503 {"detail":…} (errors
 * such as 404 and 405 stay as they are). The caller closes the connection
 * after the answer. */
void api_handle_overloaded(api_worker *w, const char *method, const char *target, size_t target_len,
                           struct api_response *resp);

#endif
