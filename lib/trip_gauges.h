/* trip_gauges: the trip metrics of the newest final window as Prometheus
 * gauges, for the Trips dashboard (monitoring/README.md, "Trip gauges"):
 *
 *   sp_window_start_timestamp_seconds W
 *   sp_window_trip_count{region_id="R"}         tripCount, 0 when R has no
 *                                               window at W
 *   sp_window_avg_fare{region_id="R"}           avgFare        \  left out for
 *   sp_window_total_distance{region_id="R"}     totalDistance   > a region with
 *   sp_window_duration_seconds{region_id="R",   p50/p95/p99-   /  no window at W
 *       quantile="0.5"|"0.95"|"0.99"}           Duration
 *
 * (sp_window_trip_count is TYPE untyped and sp_window_duration_seconds a
 * summary, for promtool's lint; see trip_gauges_format.)
 *
 * Regions are collected one by one (the shape of redis_read_latest_values'
 * callback), then written family by family in region id order, as the text
 * format wants every sample of a family together. */
#ifndef SP_TRIP_GAUGES_H
#define SP_TRIP_GAUGES_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

typedef struct trip_gauges trip_gauges;

/* An empty set of regions. */
trip_gauges *trip_gauges_new(void);
void trip_gauges_free(trip_gauges *tg);

/* Region's result at the window: json[0..len), or json NULL when it has
 * none. A value that is not a window result counts as none; a metric it
 * lacks (or holds as null) is left out. Matches redis_value_fn. */
void trip_gauges_add(void *tg, int64_t region, const char *json, size_t len);

/* Append the exposition text for the window starting at start_s (epoch
 * seconds), # HELP and # TYPE included (sorts the regions added so far). */
void trip_gauges_format(trip_gauges *tg, int64_t start_s, strbuf *out);

#endif
