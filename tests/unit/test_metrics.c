/* Unit tests of lib/metrics: the exposition text is checked line by line,
 * and the file written is read back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "unit.h"

TEST(counters_and_gauges_format)
{
    metrics *m = metrics_new("sp-test", NULL);
    uint64_t *in = metrics_counter(m, "sp_events_in_total", NULL, "Lines read.");
    uint64_t *dlq_a =
        metrics_counter(m, "sp_dlq_total", "error_type=\"SCHEMA_VIOLATION\"", "DLQ records.");
    double *lag = metrics_gauge(m, "sp_watermark_lag_seconds", NULL, "Lag.");
    uint64_t *dlq_b = metrics_counter(m, "sp_dlq_total", "error_type=\"JSON_PARSE_ERROR\"", NULL);
    CHECK(metrics_counter(m, "sp_events_in_total", NULL, NULL) == in);
    *in = 10;
    *dlq_a = 3;
    *dlq_b = 2;
    *lag = 1.5;
    strbuf sb = STRBUF_INIT;
    metrics_format(m, &sb);
    CHECK(strstr(sb.data,
                 "# TYPE sp_events_in_total counter\nsp_events_in_total{tool=\"sp-test\"} 10\n"));
    /* both samples of sp_dlq_total adjacent under one TYPE line */
    CHECK(strstr(sb.data, "# TYPE sp_dlq_total counter\n"
                          "sp_dlq_total{tool=\"sp-test\",error_type=\"SCHEMA_VIOLATION\"} 3\n"
                          "sp_dlq_total{tool=\"sp-test\",error_type=\"JSON_PARSE_ERROR\"} 2\n"));
    CHECK(strstr(sb.data, "sp_watermark_lag_seconds{tool=\"sp-test\"} 1.5\n"));
    const char *t = sb.data;
    int type_lines = 0;
    while ((t = strstr(t, "# TYPE sp_dlq_total")))
        type_lines++, t++;
    CHECK_INT(type_lines, 1);
    sb_free(&sb);
    metrics_free(m);
}

TEST(writes_file_atomically)
{
    char dir[] = "/tmp/sp-metrics-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/sp.prom", dir);
    metrics *m = metrics_new("sp-test", path);
    *metrics_counter(m, "sp_events_out_total", NULL, "Out.") = 7;
    CHECK(metrics_write(m) == 0);
    FILE *f = fopen(path, "r");
    char text[512] = {0};
    CHECK(f && fread(text, 1, sizeof text - 1, f) > 0);
    if (f) fclose(f);
    CHECK(strstr(text, "sp_events_out_total{tool=\"sp-test\"} 7\n") != NULL);
    metrics_free(m);
    unlink(path);
    /* a directory that does not exist: an error, no crash */
    metrics *bad = metrics_new("sp-test", "/nonexistent-dir/sp.prom");
    CHECK(metrics_write(bad) < 0);
    metrics_free(bad);
    rmdir(dir);
}

int main(void)
{
    RUN(counters_and_gauges_format);
    RUN(writes_file_atomically);
    RETURN_SUMMARY();
}
