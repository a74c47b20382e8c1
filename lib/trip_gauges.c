/* trip_gauges: window results as Prometheus gauges. See trip_gauges.h. */
#include "trip_gauges.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "window_result.h"

/* The result fields exported, in the order of the families below. */
enum field { F_TRIPS, F_FARE, F_DISTANCE, F_P50, F_P95, F_P99, F_COUNT };
static const char *const field_names[F_COUNT] = {"tripCount",   "avgFare",     "totalDistance",
                                                 "p50Duration", "p95Duration", "p99Duration"};

struct region_values {
    int64_t region;
    bool has_window;
    bool has[F_COUNT];
    double value[F_COUNT];
};

struct trip_gauges {
    struct region_values *regions;
    size_t n, cap;
};

trip_gauges *trip_gauges_new(void)
{
    trip_gauges *tg = calloc(1, sizeof *tg);
    if (tg == NULL) abort();
    return tg;
}

void trip_gauges_free(trip_gauges *tg)
{
    if (tg == NULL) return;
    free(tg->regions);
    free(tg);
}

void trip_gauges_add(void *arg, int64_t region, const char *json, size_t len)
{
    trip_gauges *tg = arg;
    if (tg->n == tg->cap) {
        tg->cap = tg->cap ? tg->cap * 2 : 64;
        tg->regions = realloc(tg->regions, tg->cap * sizeof *tg->regions);
        if (tg->regions == NULL) abort();
    }
    struct region_values *rv = &tg->regions[tg->n++];
    memset(rv, 0, sizeof *rv);
    rv->region = region;
    struct window_result r;
    char err[128];
    if (json == NULL || window_result_parse(json, len, &r, err, sizeof err) != 0) return;
    rv->has_window = true;
    for (int f = 0; f < F_COUNT; f++)
        rv->has[f] =
            window_result_metric(&r, field_names[f], &rv->value[f]) && !isnan(rv->value[f]);
}

static int by_region(const void *a, const void *b)
{
    int64_t x = ((const struct region_values *)a)->region;
    int64_t y = ((const struct region_values *)b)->region;
    return (x > y) - (x < y);
}

/* Prometheus spells the infinities +Inf and -Inf; NaN never gets here. */
static void append_value(strbuf *out, double v)
{
    if (isinf(v))
        sb_puts(out, v > 0 ? "+Inf" : "-Inf");
    else
        ndjson_append_double(out, v);
    sb_putc(out, '\n');
}

static void append_header(strbuf *out, const char *name, const char *type, const char *help)
{
    sb_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One family of per-region samples of field f; quantile labels the sample
 * when not NULL. */
static void append_region_samples(strbuf *out, const trip_gauges *tg, const char *name,
                                  enum field f, const char *quantile)
{
    for (size_t i = 0; i < tg->n; i++) {
        const struct region_values *rv = &tg->regions[i];
        /* "trips per minute" stays true for a quiet region: 0, not absent */
        bool zero_trips = f == F_TRIPS && !rv->has_window;
        if (!rv->has[f] && !zero_trips) continue;
        sb_printf(out, "%s{region_id=\"%lld\"", name, (long long)rv->region);
        if (quantile) sb_printf(out, ",quantile=\"%s\"", quantile);
        sb_puts(out, "} ");
        append_value(out, zero_trips ? 0 : rv->value[f]);
    }
}

void trip_gauges_format(trip_gauges *tg, int64_t start_s, strbuf *out)
{
    /* sorted in place: the order is part of the output, not of the state */
    if (tg->n > 0) qsort(tg->regions, tg->n, sizeof *tg->regions, by_region);
    /* Types as `promtool check metrics` wants them for these names, which
     * the Trips dashboard fixes: quantile labels belong to a summary (one
     * without _sum and _count is valid), and the _count suffix to a
     * histogram or summary, so the trip count is untyped, which Prometheus
     * stores and queries exactly as a gauge. */
    append_header(out, "sp_window_start_timestamp_seconds", "gauge",
                  "Start of the newest final window (epoch seconds, event time).");
    sb_printf(out, "sp_window_start_timestamp_seconds %lld\n", (long long)start_s);
    append_header(out, "sp_window_trip_count", "untyped",
                  "Trips of the region in the newest final window.");
    append_region_samples(out, tg, "sp_window_trip_count", F_TRIPS, NULL);
    append_header(out, "sp_window_avg_fare", "gauge",
                  "Average fare of the region in the newest final window.");
    append_region_samples(out, tg, "sp_window_avg_fare", F_FARE, NULL);
    append_header(out, "sp_window_total_distance", "gauge",
                  "Distance travelled in the region in the newest final window.");
    append_region_samples(out, tg, "sp_window_total_distance", F_DISTANCE, NULL);
    append_header(out, "sp_window_duration_seconds", "summary",
                  "Trip duration percentiles of the region in the newest final window.");
    append_region_samples(out, tg, "sp_window_duration_seconds", F_P50, "0.5");
    append_region_samples(out, tg, "sp_window_duration_seconds", F_P95, "0.95");
    append_region_samples(out, tg, "sp_window_duration_seconds", F_P99, "0.99");
}
