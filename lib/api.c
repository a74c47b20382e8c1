/* api: routing, parameter checks and handlers of sp-serve. See api.h. */
#include "api.h"

#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event_time.h"
#include "clock.h"
#include "live_page.h"
#include "ndjson.h"
#include "prom_merge.h"
#include "trip_gauges.h"
#include "window_result.h"

const char *const api_route_names[API_ROUTE_COUNT] = {
    [API_ROUTE_PAGE] = "/",
    [API_ROUTE_HEALTH] = "/health",
    [API_ROUTE_METRICS] = "/metrics",
    [API_ROUTE_REGION] = "/metrics/region/{id}",
    [API_ROUTE_TIMELINE] = "/metrics/timeline/{id}",
    [API_ROUTE_TOP] = "/metrics/regions/top",
    [API_ROUTE_UNKNOWN] = "other",
};

static const char JSON_TYPE[] = "application/json";
static const char HTML_TYPE[] = "text/html; charset=utf-8";
static const char PROMETHEUS_TYPE[] = "text/plain; version=0.0.4; charset=utf-8";
static const char ALLOWED_METHODS[] = "GET, HEAD";

/* Times beyond year 9999 cannot be formatted back; refusing them keeps
 * every window start the API prints a valid RFC 3339 time. */
#define TIME_MS_MAX INT64_C(253402300799999)

struct api_worker {
    const struct api_config *cfg;
    redisContext *redis;
    bool opened_now;   /* the connection was opened during this attempt */
    bool stale_failed; /* a connection from an earlier request failed */
};

api_worker *api_worker_new(const struct api_config *cfg)
{
    api_worker *w = calloc(1, sizeof *w);
    if (w == NULL) abort();
    w->cfg = cfg;
    return w;
}

void api_worker_free(api_worker *w)
{
    if (w == NULL) return;
    if (w->redis) redisFree(w->redis);
    free(w);
}

void api_response_init(struct api_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->body = (strbuf)STRBUF_INIT;
}

void api_response_free(struct api_response *resp)
{
    sb_free(&resp->body);
}

/* ---- answers ---- */

/* Monotonic nanoseconds, for request latencies. */
static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void answer_json(struct api_response *resp, int status)
{
    resp->status = status;
    resp->content_type = JSON_TYPE;
}

/* {"detail":"<message>"} with status; the message may quote client input,
 * which ndjson_append_string makes safe JSON whatever its bytes. */
static void answer_error(struct api_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void answer_error(struct api_response *resp, int status, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof detail ? (size_t)n : sizeof detail - 1;
    sb_reset(&resp->body);
    sb_puts(&resp->body, "{\"detail\":");
    ndjson_append_string(&resp->body, detail, len);
    sb_putc(&resp->body, '}');
    answer_json(resp, status);
}

/* ---- Redis ---- */

/* The worker's connection, opened now if needed; NULL with the reason in
 * err (a failed connection counts as a Redis error). */
static redisContext *worker_connect(api_worker *w, char *err, size_t errlen)
{
    if (w->redis) return w->redis;
    if (w->cfg->redis == NULL) {
        snprintf(err, errlen, "Redis is not configured");
        return NULL;
    }
    w->redis = redis_store_connect(w->cfg->redis, w->cfg->redis_timeout_ms, err, errlen);
    w->opened_now = w->redis != NULL;
    if (w->redis == NULL) http_metrics_redis_error(w->cfg->metrics);
    return w->redis;
}

/* worker_connect(), answering 503 when there is no connection. */
static redisContext *worker_redis(api_worker *w, struct api_response *resp)
{
    char err[256];
    redisContext *c = worker_connect(w, err, sizeof err);
    if (c == NULL) answer_error(resp, 503, "Redis unavailable: %s", err);
    return c;
}

/* A Redis command failed: drop the connection and answer 503. When the
 * connection came from an earlier request (Redis may have restarted since),
 * say so: dispatch() then runs the request once more on a new connection,
 * which is how the server recovers by itself without a failed request. */
static void drop_connection(api_worker *w)
{
    http_metrics_redis_error(w->cfg->metrics);
    redisFree(w->redis);
    w->redis = NULL;
    w->stale_failed = !w->opened_now;
}

static void redis_failed(api_worker *w, struct api_response *resp, const char *err)
{
    drop_connection(w);
    answer_error(resp, 503, "Redis unavailable: %s", err);
}

/* ---- request target ---- */

enum param { P_WINDOW, P_AT, P_HOURS, P_FROM, P_TO, P_METRIC, P_LIMIT, P_COUNT };
static const char *const param_names[P_COUNT] = {"window", "at",     "hours", "from",
                                                 "to",     "metric", "limit"};

struct request {
    enum api_route route;
    const char *id; /* the {id} segment, not decoded (ids are digits) */
    size_t id_len;
    const char *param[P_COUNT]; /* decoded values (NUL-terminated), or NULL */
    char decoded[API_TARGET_MAX + 1];
};

/* Percent-decode s[0..n) ('+' is a space) into out, NUL-terminated. Returns
 * 0, or -1 for a bad escape or an escaped NUL (a C string cannot hold it). */
static int percent_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? hex_digit_value((unsigned char)s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit_value((unsigned char)s[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* "/metrics/region/5" with prefix "/metrics/region/": the id segment, which
 * must not be empty. */
static bool match_id_route(const char *path, size_t n, const char *prefix, struct request *req)
{
    size_t plen = strlen(prefix);
    if (n <= plen || memcmp(path, prefix, plen) != 0 || memchr(path + plen, '/', n - plen))
        return false;
    req->id = path + plen;
    req->id_len = n - plen;
    return true;
}

static bool path_is(const char *path, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(path, want, n) == 0;
}

/* The route of path[0..n): exact segments only, so anything else (a
 * trailing slash, "..", an escape) is API_ROUTE_UNKNOWN. */
static enum api_route route_of(const char *path, size_t n, struct request *req)
{
    if (path_is(path, n, "/")) return API_ROUTE_PAGE;
    if (path_is(path, n, "/health")) return API_ROUTE_HEALTH;
    if (path_is(path, n, "/metrics")) return API_ROUTE_METRICS;
    if (path_is(path, n, "/metrics/regions/top")) return API_ROUTE_TOP;
    if (match_id_route(path, n, "/metrics/region/", req)) return API_ROUTE_REGION;
    if (match_id_route(path, n, "/metrics/timeline/", req)) return API_ROUTE_TIMELINE;
    return API_ROUTE_UNKNOWN;
}

/* Split query[0..n) at '&' and '=', decode names and values, and keep the
 * first value of each parameter the API knows (others are ignored, as web
 * APIs do). Returns 0, or -1 with a 400 answered. */
static int parse_query(const char *query, size_t n, struct request *req, struct api_response *resp)
{
    char *out = req->decoded;
    const char *p = query, *end = query + n;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *item_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(item_end - p));
        const char *name_end = eq ? eq : item_end;
        char *name = out;
        if (percent_decode(p, (size_t)(name_end - p), name) != 0) {
            answer_error(resp, 400, "bad percent-encoding in the query string");
            return -1;
        }
        out += strlen(name) + 1;
        char *value = out;
        const char *vstart = eq ? eq + 1 : item_end;
        if (percent_decode(vstart, (size_t)(item_end - vstart), value) != 0) {
            answer_error(resp, 400, "bad percent-encoding in parameter '%s'", name);
            return -1;
        }
        out += strlen(value) + 1;
        for (int i = 0; i < P_COUNT; i++)
            if (req->param[i] == NULL && strcmp(name, param_names[i]) == 0) req->param[i] = value;
        p = item_end + 1;
    }
    return 0;
}

/* ---- parameters ---- */

/* The region id: 1 to API_ID_DIGITS_MAX decimal digits. */
static int parse_id(const struct request *req, int64_t *id, struct api_response *resp)
{
    if (req->id_len == 0 || req->id_len > API_ID_DIGITS_MAX) {
        answer_error(resp, 400, "region id must be a non-negative integer of at most %d digits",
                     API_ID_DIGITS_MAX);
        return -1;
    }
    int64_t v = 0;
    for (size_t i = 0; i < req->id_len; i++) {
        char c = req->id[i];
        if (c < '0' || c > '9') {
            answer_error(resp, 400, "region id must be a non-negative integer");
            return -1;
        }
        v = v * 10 + (c - '0');
    }
    *id = v;
    return 0;
}

/* An optional time parameter: 0 with *present false when absent. */
static int parse_time_param(const struct request *req, enum param p, int64_t *ms, bool *present,
                            struct api_response *resp)
{
    const char *s = req->param[p];
    *present = s != NULL;
    if (s == NULL) return 0;
    if (time_or_epoch_parse(s, strlen(s), ms) != 0 || *ms < -TIME_MS_MAX || *ms > TIME_MS_MAX) {
        answer_error(resp, 400, "%s must be an RFC 3339 time or epoch seconds, not '%.64s'",
                     param_names[p], s);
        return -1;
    }
    return 0;
}

/* Floor and ceiling of ms in whole seconds (window starts are seconds). */
static int64_t floor_s(int64_t ms)
{
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

static int64_t ceil_s(int64_t ms)
{
    return -floor_s(-ms);
}

/* The end of a stored window, read from its value; -1 when the value is not
 * a window result (then nothing can be said to hold a time). */
static int stored_window(const char *json, size_t len, int64_t *start_ms, int64_t *end_ms)
{
    struct window_result r;
    char err[128];
    if (window_result_parse(json, len, &r, err, sizeof err) != 0) return -1;
    *start_ms = r.start_ms;
    *end_ms = r.end_ms;
    return 0;
}

/* ---- handlers ---- */

static void handle_region(api_worker *w, const struct request *req, struct api_response *resp)
{
    int64_t region, at_ms = 0, window_ms = 0;
    bool has_at;
    if (parse_id(req, &region, resp) != 0 ||
        parse_time_param(req, P_AT, &at_ms, &has_at, resp) != 0)
        return;
    if (req->param[P_WINDOW] &&
        (duration_parse(req->param[P_WINDOW], &window_ms) != 0 || window_ms <= 0)) {
        answer_error(resp, 400, "window must be a duration such as 1m, not '%.64s'",
                     req->param[P_WINDOW]);
        return;
    }
    redisContext *c = worker_redis(w, resp);
    if (c == NULL) return;
    char err[256];
    int found =
        has_at ? redis_read_at_or_before(c, region, floor_s(at_ms), &resp->body, err, sizeof err)
               : redis_read_newest(c, region, &resp->body, err, sizeof err);
    if (found < 0) {
        redis_failed(w, resp, err);
        return;
    }
    /* The bounds are read from the value only when a parameter asks about
     * them: parsing the JSON was a tenth of the server's CPU time under
     * load, and the newest window is answered as it is stored. */
    int64_t start_ms, end_ms;
    bool usable = found > 0;
    if (usable && (has_at || window_ms))
        usable = stored_window(resp->body.data, resp->body.len, &start_ms, &end_ms) == 0 &&
                 !(has_at && at_ms >= end_ms) && !(window_ms && end_ms - start_ms != window_ms);
    if (!usable) {
        if (has_at)
            answer_error(resp, 404, "no window of region %lld holds %s", (long long)region,
                         req->param[P_AT]);
        else
            answer_error(resp, 404, "no windows for region %lld", (long long)region);
        return;
    }
    answer_json(resp, 200);
}

/* The start range [from_s, to_s] a timeline request asks for; 1 when it
 * needs the region's newest start first (?hours=), 0 when complete, -1
 * with a 400 answered. */
static int timeline_range(const struct request *req, double *hours, int64_t *from_s, int64_t *to_s,
                          struct api_response *resp)
{
    int64_t from_ms, to_ms;
    bool has_from, has_to;
    if (parse_time_param(req, P_FROM, &from_ms, &has_from, resp) != 0 ||
        parse_time_param(req, P_TO, &to_ms, &has_to, resp) != 0)
        return -1;
    if (req->param[P_HOURS] && (has_from || has_to)) {
        answer_error(resp, 400, "give either hours or from/to, not both");
        return -1;
    }
    if (has_from || has_to) {
        if (has_from && has_to && from_ms > to_ms) {
            answer_error(resp, 400, "from is after to");
            return -1;
        }
        *from_s = has_from ? ceil_s(from_ms) : floor_s(-TIME_MS_MAX);
        *to_s = has_to ? floor_s(to_ms) : floor_s(TIME_MS_MAX);
        return 0;
    }
    *hours = 1;
    if (req->param[P_HOURS]) {
        char *end;
        *hours = strtod(req->param[P_HOURS], &end);
        if (end == req->param[P_HOURS] || *end != '\0' || !(*hours > 0) || *hours > API_HOURS_MAX) {
            answer_error(resp, 400, "hours must be a number above 0 and at most %d, not '%.64s'",
                         API_HOURS_MAX, req->param[P_HOURS]);
            return -1;
        }
    }
    return 1;
}

static void handle_timeline(api_worker *w, const struct request *req, struct api_response *resp)
{
    int64_t region, from_s = 0, to_s = 0;
    double hours = 0;
    if (parse_id(req, &region, resp) != 0) return;
    int need_newest = timeline_range(req, &hours, &from_s, &to_s, resp);
    if (need_newest < 0) return;
    redisContext *c = worker_redis(w, resp);
    if (c == NULL) return;
    char err[256];
    sb_printf(&resp->body, "{\"regionId\":%lld,\"windows\":[", (long long)region);
    if (need_newest) {
        int64_t newest;
        int found = redis_read_newest_start(c, region, &newest, err, sizeof err);
        if (found < 0) {
            redis_failed(w, resp, err);
            return;
        }
        if (!found) {
            sb_puts(&resp->body, "]}");
            answer_json(resp, 200);
            return;
        }
        /* Windows starting within the last `hours` up to the newest one:
         * hours=1 over one-minute windows gives sixty of them. */
        to_s = newest;
        from_s = (int64_t)floor((double)newest - hours * 3600) + 1;
    }
    size_t count;
    if (redis_read_range(c, region, from_s, to_s, API_TIMELINE_MAX, &resp->body, &count, err,
                         sizeof err) < 0) {
        redis_failed(w, resp, err);
        return;
    }
    sb_puts(&resp->body, "]}");
    answer_json(resp, 200);
}

static void handle_top(api_worker *w, const struct request *req, struct api_response *resp)
{
    const struct api_config *cfg = w->cfg;
    /* Without ?metric=, the first ranked one: tripCount by default, but a
     * sink that ranks only maxFare (--rank) has no other. */
    const char *metric = req->param[P_METRIC] ? req->param[P_METRIC] : cfg->rank_metrics[0];
    size_t m = 0;
    while (m < cfg->n_rank_metrics && strcmp(cfg->rank_metrics[m], metric) != 0)
        m++;
    if (m == cfg->n_rank_metrics) {
        strbuf ranked = STRBUF_INIT;
        for (size_t i = 0; i < cfg->n_rank_metrics; i++)
            sb_printf(&ranked, "%s%s", i ? ", " : "", cfg->rank_metrics[i]);
        answer_error(resp, 400, "unknown metric '%.64s': ranked are %s (sp-serve --rank)", metric,
                     ranked.data);
        sb_free(&ranked);
        return;
    }
    long limit = API_LIMIT_DEFAULT;
    if (req->param[P_LIMIT]) {
        const char *s = req->param[P_LIMIT];
        size_t n = strlen(s);
        limit = n > 0 && n <= 4 && strspn(s, "0123456789") == n ? strtol(s, NULL, 10) : 0;
        if (limit < 1 || limit > API_LIMIT_MAX) {
            answer_error(resp, 400, "limit must be an integer from 1 to %d, not '%.64s'",
                         API_LIMIT_MAX, s);
            return;
        }
    }
    int64_t at_ms;
    bool has_at;
    if (parse_time_param(req, P_AT, &at_ms, &has_at, resp) != 0) return;
    redisContext *c = worker_redis(w, resp);
    if (c == NULL) return;

    char err[256];
    int64_t start_s;
    int found;
    if (has_at) {
        strbuf value = STRBUF_INIT;
        int64_t start_ms, end_ms;
        found =
            redis_read_window_at_or_before(c, floor_s(at_ms), &start_s, &value, err, sizeof err);
        if (found > 0 &&
            (stored_window(value.data, value.len, &start_ms, &end_ms) != 0 || at_ms >= end_ms))
            found = 0;
        sb_free(&value);
    } else {
        found = redis_read_latest_final(c, &start_s, err, sizeof err);
    }
    if (found < 0) {
        redis_failed(w, resp, err);
        return;
    }
    if (!found) {
        if (has_at)
            answer_error(resp, 404, "no window holds %s", req->param[P_AT]);
        else
            answer_error(resp, 404, "no final window yet");
        return;
    }
    char start_text[EVENT_TIME_TEXT_MAX];
    event_time_format(start_s * 1000, start_text);
    sb_puts(&resp->body, "{\"windowStart\":\"");
    sb_puts(&resp->body, start_text);
    sb_puts(&resp->body, "\",\"metric\":");
    ndjson_append_string(&resp->body, metric, strlen(metric));
    sb_puts(&resp->body, ",\"regions\":[");
    if (redis_read_top(c, start_s, metric, (size_t)limit, &resp->body, err, sizeof err) < 0) {
        redis_failed(w, resp, err);
        return;
    }
    sb_puts(&resp->body, "]}");
    answer_json(resp, 200);
}

static void handle_health(api_worker *w, struct api_response *resp, int64_t started_ns)
{
    const char *redis_state = "connected";
    char err[256];
    if (worker_connect(w, err, sizeof err) == NULL) redis_state = "disconnected";
    if (w->redis && redis_read_ping(w->redis, err, sizeof err) < 0) {
        drop_connection(w);
        redis_state = "error";
    }
    const char *kafka_state =
        w->cfg->kafka_status ? w->cfg->kafka_status(w->cfg->kafka_arg) : "not_configured";
    bool redis_ok = strcmp(redis_state, "connected") == 0;
    bool kafka_ok = strcmp(kafka_state, "error") != 0;
    const char *status = !redis_ok ? "unhealthy" : kafka_ok ? "healthy" : "degraded";

    int64_t elapsed_ms = (now_ns() - started_ns) / 1000000;
    char now[EVENT_TIME_TEXT_MAX];
    event_time_format_ms(wallclock_ms(), now);
    sb_printf(&resp->body,
              "{\"status\":\"%s\",\"timestamp\":\"%s\",\"services\":{\"redis\":\"%s\","
              "\"kafka\":\"%s\",\"api\":\"running\",\"response_time_ms\":\"%lld\"}}",
              status, now, redis_state, kafka_state, (long long)elapsed_ms);
    answer_json(resp, redis_ok ? 200 : 503);
}

/* The trip gauges of the newest final window into out; nothing while there
 * is none or when Redis fails (counted in the Redis errors: a scrape must
 * not fail because the data behind some of its series is unreachable). */
static void read_trip_gauges(api_worker *w, strbuf *out)
{
    char err[256];
    redisContext *c = worker_connect(w, err, sizeof err);
    if (c == NULL) return;
    int64_t start_s = 0;
    trip_gauges *tg = trip_gauges_new();
    int found = redis_read_latest_values(c, &start_s, trip_gauges_add, tg, err, sizeof err);
    if (found < 0) drop_connection(w);
    if (found > 0) trip_gauges_format(tg, start_s, out);
    trip_gauges_free(tg);
}

/* sp-serve's own metrics, the trip gauges and the metrics files, merged
 * into one exposition (see prom_merge.h for why they cannot be appended). */
static void handle_metrics(api_worker *w, struct api_response *resp)
{
    strbuf text = STRBUF_INIT;
    read_trip_gauges(w, &text);
    /* formatted after the gauges, so a Redis error shows in this scrape */
    http_metrics_format(w->cfg->metrics, &text);
    prom_merge *pm = prom_merge_new();
    prom_merge_add(pm, text.data ? text.data : "", text.len, NULL);
    if (w->cfg->metrics_dir) http_metrics_merge_dir(pm, w->cfg->metrics_dir);
    prom_merge_format(pm, &resp->body);
    prom_merge_free(pm);
    sb_free(&text);
    resp->status = 200;
    resp->content_type = PROMETHEUS_TYPE;
}

/* The live page, with the --title text (HTML-escaped) inside its
 * <span id="dataset">. */
static void handle_page(const struct api_config *cfg, struct api_response *resp)
{
    static const char slot[] = "<span id=\"dataset\">";
    const char *page = (const char *)live_page_html;
    const char *at = memmem(page, live_page_html_len, slot, sizeof slot - 1);
    size_t head = at && cfg->page_title ? (size_t)(at - page) + sizeof slot - 1 : 0;
    sb_append(&resp->body, page, head);
    for (const char *c = head ? cfg->page_title : ""; *c; c++) {
        switch (*c) {
        case '&':
            sb_puts(&resp->body, "&amp;");
            break;
        case '<':
            sb_puts(&resp->body, "&lt;");
            break;
        case '>':
            sb_puts(&resp->body, "&gt;");
            break;
        case '"':
            sb_puts(&resp->body, "&quot;");
            break;
        default:
            sb_putc(&resp->body, *c);
        }
    }
    sb_append(&resp->body, page + head, live_page_html_len - head);
    resp->status = 200;
    resp->content_type = HTML_TYPE;
}

/* ---- dispatch ---- */

static void run_handler(api_worker *w, const struct request *req, struct api_response *resp,
                        int64_t started_ns)
{
    switch (req->route) {
    case API_ROUTE_PAGE:
        handle_page(w->cfg, resp);
        return;
    case API_ROUTE_HEALTH:
        handle_health(w, resp, started_ns);
        return;
    case API_ROUTE_METRICS:
        handle_metrics(w, resp);
        return;
    case API_ROUTE_REGION:
        handle_region(w, req, resp);
        return;
    case API_ROUTE_TIMELINE:
        handle_timeline(w, req, resp);
        return;
    case API_ROUTE_TOP:
        handle_top(w, req, resp);
        return;
    default:
        answer_error(resp, 404, "no such path");
        return;
    }
}

/* Route, check the method, parse the query and run the handler (twice when
 * a connection left from an earlier request turned out dead); on an
 * overloaded connection, only /health. */
static void dispatch(api_worker *w, const char *method, const char *target, size_t target_len,
                     bool overloaded, struct request *req, struct api_response *resp,
                     int64_t started_ns)
{
    req->route = API_ROUTE_UNKNOWN;
    if (target_len > API_TARGET_MAX) {
        answer_error(resp, 414, "request target longer than %d bytes", API_TARGET_MAX);
        return;
    }
    const char *question = memchr(target, '?', target_len);
    size_t path_len = question ? (size_t)(question - target) : target_len;
    req->route = route_of(target, path_len, req);
    if (req->route == API_ROUTE_UNKNOWN) {
        answer_error(resp, 404, "no such path");
        return;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        resp->allow = ALLOWED_METHODS;
        answer_error(resp, 405, "method %.16s not allowed; use GET", method);
        return;
    }
    if (overloaded && req->route != API_ROUTE_HEALTH) {
        answer_error(resp, 503, "too many connections; try again later");
        return;
    }
    if (question && parse_query(question + 1, target_len - path_len - 1, req, resp) != 0) return;
    for (int attempt = 0; attempt < 2; attempt++) {
        w->opened_now = false;
        w->stale_failed = false;
        sb_reset(&resp->body);
        run_handler(w, req, resp, started_ns);
        if (!w->stale_failed) return;
    }
}

static void handle(api_worker *w, const char *method, const char *target, size_t target_len,
                   bool overloaded, struct api_response *resp)
{
    int64_t started = now_ns();
    /* On the stack, and only the fields zeroed: the decoded buffer (8 KiB)
     * is written before it is read, and this runs on every request. */
    struct request req;
    memset(&req, 0, offsetof(struct request, decoded));
    sb_reset(&resp->body);
    resp->allow = NULL;
    dispatch(w, method, target, target_len, overloaded, &req, resp, started);
    resp->route = req.route;
    http_metrics_observe(w->cfg->metrics, resp->route, resp->status,
                         (double)(now_ns() - started) / 1e9);
}

void api_handle(api_worker *w, const char *method, const char *target, size_t target_len,
                struct api_response *resp)
{
    handle(w, method, target, target_len, false, resp);
}

void api_handle_overloaded(api_worker *w, const char *method, const char *target, size_t target_len,
                           struct api_response *resp)
{
    handle(w, method, target, target_len, true, resp);
}
