/* test_trip_gauges: the gauges of monitoring/README.md from window results:
 * 0 trips for a region without a window, the other gauges left out for it,
 * a metric the result lacks left out, regions in id order. */
#include <string.h>

#include "trip_gauges.h"
#include "unit.h"

static int has_line(const strbuf *sb, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = sb->data; p && (p = strstr(p, line)) != NULL; p++)
        if ((p == sb->data || p[-1] == '\n') && p[n] == '\n') return 1;
    return 0;
}

static void add(trip_gauges *tg, int64_t region, const char *json)
{
    trip_gauges_add(tg, region, json, json ? strlen(json) : 0);
}

TEST(gauges_of_the_window)
{
    trip_gauges *tg = trip_gauges_new();
    add(tg, 7,
        "{\"regionId\":7,\"windowStart\":\"2019-01-01T00:00:00Z\","
        "\"windowEnd\":\"2019-01-01T00:01:00Z\",\"tripCount\":3,\"avgFare\":12.5,"
        "\"totalDistance\":9.25,\"p50Duration\":300,\"p95Duration\":600,"
        "\"p99Duration\":610.5,\"final\":true}");
    add(tg, 4, NULL);
    add(tg, 5, "not a result");
    add(tg, 6,
        "{\"regionId\":6,\"windowStart\":\"2019-01-01T00:00:00Z\","
        "\"windowEnd\":\"2019-01-01T00:01:00Z\",\"tripCount\":1,\"avgFare\":null,"
        "\"final\":true}");
    strbuf sb = STRBUF_INIT;
    trip_gauges_format(tg, 1546300800, &sb);
    CHECK(has_line(&sb, "# TYPE sp_window_trip_count untyped"));
    CHECK(has_line(&sb, "# TYPE sp_window_avg_fare gauge"));
    CHECK(has_line(&sb, "# TYPE sp_window_duration_seconds summary"));
    CHECK(has_line(&sb, "sp_window_start_timestamp_seconds 1546300800"));
    CHECK(has_line(&sb, "sp_window_trip_count{region_id=\"7\"} 3"));
    CHECK(has_line(&sb, "sp_window_trip_count{region_id=\"4\"} 0"));
    CHECK(has_line(&sb, "sp_window_trip_count{region_id=\"5\"} 0"));
    CHECK(has_line(&sb, "sp_window_trip_count{region_id=\"6\"} 1"));
    CHECK(has_line(&sb, "sp_window_avg_fare{region_id=\"7\"} 12.5"));
    CHECK(has_line(&sb, "sp_window_total_distance{region_id=\"7\"} 9.25"));
    CHECK(has_line(&sb, "sp_window_duration_seconds{region_id=\"7\",quantile=\"0.5\"} 300"));
    CHECK(has_line(&sb, "sp_window_duration_seconds{region_id=\"7\",quantile=\"0.95\"} 600"));
    CHECK(has_line(&sb, "sp_window_duration_seconds{region_id=\"7\",quantile=\"0.99\"} 610.5"));
    /* no average of no trips, no null, no metric the result lacks */
    CHECK(strstr(sb.data, "sp_window_avg_fare{region_id=\"4\"}") == NULL);
    CHECK(strstr(sb.data, "sp_window_avg_fare{region_id=\"6\"}") == NULL);
    CHECK(strstr(sb.data, "sp_window_total_distance{region_id=\"6\"}") == NULL);
    /* regions in id order within a family */
    const char *r4 = strstr(sb.data, "sp_window_trip_count{region_id=\"4\"}");
    const char *r7 = strstr(sb.data, "sp_window_trip_count{region_id=\"7\"}");
    CHECK(r4 && r7 && r4 < r7);
    sb_free(&sb);
    trip_gauges_free(tg);
}

TEST(no_regions_still_gives_the_window_start)
{
    trip_gauges *tg = trip_gauges_new();
    strbuf sb = STRBUF_INIT;
    trip_gauges_format(tg, 60, &sb);
    CHECK(has_line(&sb, "sp_window_start_timestamp_seconds 60"));
    CHECK(strstr(sb.data, "region_id") == NULL);
    sb_free(&sb);
    trip_gauges_free(tg);
}

int main(void)
{
    RUN(gauges_of_the_window);
    RUN(no_regions_still_gives_the_window_start);
    RETURN_SUMMARY();
}
