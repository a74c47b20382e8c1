/* test_api: routing, methods, limits and parameter checks of the API,
 * without Redis: a request that passes every check reaches for Redis and,
 * with none configured, gets 503; one that fails a check never gets there. */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "live_page.h"
#include "unit.h"

static http_metrics *metrics;
static api_worker *worker;
static const char *ranks[] = {"tripCount", "avgFare"};

static const char *kafka_down(void *arg)
{
    (void)arg;
    return "error";
}

/* Status of method on target; the body must be JSON with a detail for
 * every error but /metrics. */
static int status_of(const char *method, const char *target)
{
    struct api_response resp;
    api_response_init(&resp);
    api_handle(worker, method, target, strlen(target), &resp);
    int status = resp.status;
    if (status >= 400) {
        if (resp.body.data == NULL || strncmp(resp.body.data, "{\"detail\":\"", 11) != 0 ||
            strcmp(resp.content_type, "application/json") != 0) {
            fprintf(stderr, "%s %s: body %s\n", method, target,
                    resp.body.data ? resp.body.data : "(none)");
            status = -1;
        }
    }
    api_response_free(&resp);
    return status;
}

/* Check one request's status, naming the target when it is wrong. */
#define CHECK_STATUS(method, target, want)                                                         \
    do {                                                                                           \
        const char *t_ = (target);                                                                 \
        int got_ = status_of(method, t_);                                                          \
        if (got_ != (want)) fprintf(stderr, "%s %s\n", method, t_);                                \
        CHECK_INT(got_, want);                                                                     \
    } while (0)

TEST(routes_reach_redis_when_valid)
{
    CHECK_STATUS("GET", "/metrics/region/5", 503);
    CHECK_STATUS("GET", "/metrics/region/0005?window=1m&at=2025-08-31T08:00:00Z", 503);
    CHECK_STATUS("GET", "/metrics/region/5?at=1756627200", 503);
    CHECK_STATUS("GET", "/metrics/region/5?at=1756627200.5&unknown=x", 503);
    CHECK_STATUS("GET", "/metrics/timeline/5", 503);
    CHECK_STATUS("GET", "/metrics/timeline/5?hours=2.5", 503);
    CHECK_STATUS("GET", "/metrics/timeline/5?from=2025-08-31T08:00:00Z&to=2025-08-31T08:00:00Z",
                 503);
    CHECK_STATUS("GET", "/metrics/timeline/5?from=2025-08-31+08:00:00", 503);
    CHECK_STATUS("GET", "/metrics/regions/top", 503);
    CHECK_STATUS("GET", "/metrics/regions/top?metric=avgFare&limit=1000", 503);
    CHECK_STATUS("HEAD", "/metrics/regions/top?limit=1&at=2025-08-31T08%3A00%3A00Z", 503);
}

TEST(unknown_paths_are_404)
{
    const char *paths[] = {"",
                           "/index.html",
                           "/health/",
                           "/Health",
                           "/metrics/",
                           "/metrics/region",
                           "/metrics/region/",
                           "/metrics/region/1/",
                           "/metrics/region/1/x",
                           "/metrics/../health",
                           "/metrics/region/../timeline/1",
                           "/health%00",
                           "/metrics%2Fregion%2F1",
                           "/metrics/regions/top/",
                           "/metrics/regions",
                           "//health",
                           "health"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        CHECK_STATUS("GET", paths[i], 404);
}

TEST(root_is_the_live_page)
{
    struct api_response resp;
    api_response_init(&resp);
    api_handle(worker, "GET", "/?refresh=1", 11, &resp);
    CHECK_INT(resp.status, 200);
    CHECK_STR(resp.content_type, "text/html; charset=utf-8");
    CHECK_INT(resp.body.len, live_page_html_len);
    CHECK(resp.body.data && memcmp(resp.body.data, live_page_html, live_page_html_len) == 0);
    CHECK_STR(api_route_names[resp.route], "/");
    api_response_free(&resp);
    CHECK_STATUS("HEAD", "/", 200);
    CHECK_STATUS("POST", "/", 405);
}

TEST(bad_ids_are_400)
{
    const char *paths[] = {"/metrics/region/abc",    "/metrics/region/-1",
                           "/metrics/region/+1",     "/metrics/region/1.0",
                           "/metrics/region/1e3",    "/metrics/region/%31",
                           "/metrics/region/1%00",   "/metrics/region/9999999999999999",
                           "/metrics/timeline/0x10", "/metrics/timeline/%20"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        CHECK_STATUS("GET", paths[i], 400);
    CHECK_STATUS("GET", "/metrics/region/999999999999999", 503); /* 15 digits is fine */
}

TEST(bad_parameters_are_400)
{
    const char *targets[] = {
        "/metrics/region/1?at=",
        "/metrics/region/1?at=yesterday",
        "/metrics/region/1?at=2025-02-30T00:00:00Z",
        "/metrics/region/1?at=99999999999999999999",
        "/metrics/region/1?at=%00",
        "/metrics/region/1?at=1%0",
        "/metrics/region/1?at=%g1",
        "/metrics/region/1?window=0s",
        "/metrics/region/1?window=soon",
        "/metrics/timeline/1?hours=0",
        "/metrics/timeline/1?hours=-1",
        "/metrics/timeline/1?hours=nan",
        "/metrics/timeline/1?hours=inf",
        "/metrics/timeline/1?hours=8785",
        "/metrics/timeline/1?hours=1h",
        "/metrics/timeline/1?hours=1&to=0",
        "/metrics/timeline/1?from=2025-08-31T08:00:01Z&to=2025-08-31T08:00:00Z",
        "/metrics/timeline/1?from=1756627201&to=1756627200",
        "/metrics/timeline/1?from=later",
        "/metrics/regions/top?metric=",
        "/metrics/regions/top?metric=p99Duration",
        "/metrics/regions/top?metric=tripcount",
        "/metrics/regions/top?limit=0",
        "/metrics/regions/top?limit=1001",
        "/metrics/regions/top?limit=1000000000",
        "/metrics/regions/top?limit=-5",
        "/metrics/regions/top?limit=5x",
        "/metrics/regions/top?limit=",
        "/metrics/regions/top?at=noon",
    };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        CHECK_STATUS("GET", targets[i], 400);
}

TEST(other_methods_are_405_with_allow)
{
    const char *methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        struct api_response resp;
        api_response_init(&resp);
        api_handle(worker, methods[i], "/metrics/region/1", 17, &resp);
        CHECK_INT(resp.status, 405);
        CHECK_STR(resp.allow, "GET, HEAD");
        api_response_free(&resp);
    }
    CHECK_STATUS("DELETE", "/nowhere", 404);
}

TEST(long_targets_are_414)
{
    size_t n = API_TARGET_MAX + 1;
    char *target = malloc(n + 1);
    memcpy(target, "/metrics/region/1?x=", 20);
    memset(target + 20, 'a', n - 20);
    target[n] = '\0';
    CHECK_STATUS("GET", target, 414);
    target[API_TARGET_MAX] = '\0'; /* exactly the limit: accepted */
    CHECK_STATUS("GET", target, 503);
    free(target);
}

TEST(health_without_redis_is_unhealthy)
{
    struct api_response resp;
    api_response_init(&resp);
    api_handle(worker, "GET", "/health", 7, &resp);
    CHECK_INT(resp.status, 503);
    CHECK(strstr(resp.body.data, "\"status\":\"unhealthy\"") != NULL);
    CHECK(strstr(resp.body.data, "\"redis\":\"disconnected\"") != NULL);
    CHECK(strstr(resp.body.data, "\"kafka\":\"error\"") != NULL);
    CHECK(strstr(resp.body.data, "\"api\":\"running\"") != NULL);
    api_response_free(&resp);
}

TEST(metrics_count_by_route_template)
{
    /* a worker of its own, so the counts are only these requests */
    api_worker *saved = worker;
    struct api_config cfg = {.rank_metrics = ranks, .n_rank_metrics = 2};
    cfg.metrics = http_metrics_new(api_route_names, API_ROUTE_COUNT);
    worker = api_worker_new(&cfg);
    CHECK_STATUS("GET", "/metrics/region/x", 400);
    CHECK_STATUS("GET", "/metrics/region/y", 400);
    CHECK_STATUS("GET", "/metrics/region/1?at=z", 400);
    CHECK_STATUS("GET", "/nope", 404);
    CHECK_STATUS("GET", "/metrics/region/1/2", 404);

    struct api_response resp;
    api_response_init(&resp);
    api_handle(worker, "GET", "/metrics", 8, &resp);
    CHECK_INT(resp.status, 200);
    CHECK(strncmp(resp.content_type, "text/plain", 10) == 0);
    CHECK(strstr(resp.body.data,
                 "sp_http_requests_total{route=\"/metrics/region/{id}\",status=\"400\"} 3\n") !=
          NULL);
    CHECK(strstr(resp.body.data, "sp_http_requests_total{route=\"other\",status=\"404\"} 2\n") !=
          NULL);
    CHECK(strstr(resp.body.data, "route=\"/metrics/region/1") == NULL);
    CHECK(strstr(resp.body.data, "sp_redis_errors_total{tool=\"sp-serve\"} 0\n") != NULL);
    api_response_free(&resp);
    api_worker_free(worker);
    http_metrics_free(cfg.metrics);
    worker = saved;
}

int main(void)
{
    struct api_config cfg = {
        .redis = NULL,
        .rank_metrics = ranks,
        .n_rank_metrics = 2,
        .kafka_status = kafka_down,
    };
    metrics = http_metrics_new(api_route_names, API_ROUTE_COUNT);
    cfg.metrics = metrics;
    worker = api_worker_new(&cfg);
    RUN(routes_reach_redis_when_valid);
    RUN(bad_ids_are_400);
    RUN(unknown_paths_are_404);
    RUN(root_is_the_live_page);
    RUN(bad_parameters_are_400);
    RUN(other_methods_are_405_with_allow);
    RUN(long_targets_are_414);
    RUN(health_without_redis_is_unhealthy);
    RUN(metrics_count_by_route_template);
    api_worker_free(worker);
    http_metrics_free(metrics);
    RETURN_SUMMARY();
}
