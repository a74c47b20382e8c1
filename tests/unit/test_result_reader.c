/* test_result_reader: the scanner's reading is window_result_parse's, and
 * what it refuses gets window_result_parse's verdict and reason. */
#include <math.h>
#include <string.h>

#include "result_reader.h"
#include "unit.h"

static const char SPEC_LINE[] =
    "{\"regionId\":5,\"windowStart\":\"2025-08-31T08:00:00Z\",\"windowEnd\":\"2025-08-31T08:01:"
    "00Z\","
    "\"tripCount\":12,\"avgFare\":41.2,\"totalDistance\":130.4,\"avgDuration\":1800.5,"
    "\"p50Duration\":1700,\"p95Duration\":2900,\"p99Duration\":3100,\"final\":true}";

TEST(reads_the_spec_line_as_jansson_does)
{
    struct window_result fast, slow;
    char err[128];
    CHECK_INT(result_reader_fast(SPEC_LINE, strlen(SPEC_LINE), &fast), 0);
    CHECK_INT(window_result_parse(SPEC_LINE, strlen(SPEC_LINE), &slow, err, sizeof err), 0);
    CHECK_STR(fast.key_name, "regionId");
    CHECK_STR(fast.key, "5");
    CHECK(!fast.key_is_string);
    CHECK_INT(fast.start_ms, slow.start_ms);
    CHECK_INT(fast.end_ms - fast.start_ms, 60000);
    CHECK(fast.final);
    CHECK_INT(fast.n_metrics, 7);
    CHECK_INT(fast.n_metrics, slow.n_metrics);
    for (size_t i = 0; i < fast.n_metrics && i < slow.n_metrics; i++) {
        CHECK_STR(fast.metrics[i].name, slow.metrics[i].name);
        CHECK(fast.metrics[i].value == slow.metrics[i].value);
    }
}

TEST(null_metrics_and_whitespace)
{
    const char *line = " { \"regionId\" : 0 ,\"windowStart\":\"2025-08-31 08:00:00\", "
                       "\"windowEnd\":\"2025-08-31T10:01:00+02:00\",\"avgFare\":null,"
                       "\"x\":-1.5e-3,\"final\":false}\r";
    struct window_result r;
    CHECK_INT(result_reader_fast(line, strlen(line), &r), 0);
    CHECK_STR(r.key, "0");
    CHECK(!r.final);
    CHECK(isnan(r.metrics[0].value));
    CHECK(r.metrics[1].value == -1.5e-3);
    CHECK_INT(r.end_ms - r.start_ms, 60000);
}

#define TIMES "\"windowStart\":\"2025-08-31T08:00:00Z\",\"windowEnd\":\"2025-08-31T08:01:00Z\""

/* Escapes, string and negative keys: the scanner reads them as jansson does. */
TEST(escapes_and_other_keys_read_as_jansson_does)
{
    const char *lines[] = {
        "{\"regionId\":\"north\"," TIMES "}",
        "{\"regionId\":-1," TIMES "}",
        "{\"regionId\":123456789012345678," TIMES ",\"n\":1}",
        "{\"regionId\":1,\"windowStart\":\"2025-08-31T08:00:00\\u005a\",\"windowEnd\":\"2025-08-"
        "31T08:01:00Z\"}",
        "{\"r\\u00e9gion\":\"\\u00e9\"," TIMES ",\"f\\u0061re\":2.5}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct window_result fast, slow;
        char err[128];
        CHECK_INT(result_reader_fast(lines[i], strlen(lines[i]), &fast), 0);
        CHECK_INT(window_result_parse(lines[i], strlen(lines[i]), &slow, err, sizeof err), 0);
        CHECK_STR(fast.key_name, slow.key_name);
        CHECK_STR(fast.key, slow.key);
        CHECK(fast.key_is_string == slow.key_is_string);
        CHECK_INT(fast.start_ms, slow.start_ms);
        CHECK_INT(fast.n_metrics, slow.n_metrics);
        for (size_t m = 0; m < fast.n_metrics && m < slow.n_metrics; m++) {
            CHECK_STR(fast.metrics[m].name, slow.metrics[m].name);
            CHECK(fast.metrics[m].value == slow.metrics[m].value);
        }
    }
}

/* A repeated member refuses the line: jansson used to keep the last
 * tripCount (5), and sp-redis-sink stored it. */
TEST(repeated_members_refuse_the_line)
{
    const char *lines[] = {
        "{\"regionId\":1," TIMES ",\"tripCount\":1,\"tripCount\":5}",
        "{\"regionId\":1," TIMES ",\"regionId\":2}",
        "{\"regionId\":1," TIMES ",\"windowEnd\":\"2025-08-31T08:02:00Z\"}",
        "{\"regionId\":1," TIMES ",\"final\":true,\"final\":false}",
        "{\"windowStart\":1," TIMES "}",
        "{\"regionId\":1," TIMES ",\"a\":1,\"\\u0061\":2}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct window_result r;
        char err[128] = "";
        CHECK_INT(result_reader_fast(lines[i], strlen(lines[i]), &r), -1);
        CHECK_INT(result_reader_parse(lines[i], strlen(lines[i]), &r, err, sizeof err), -1);
        CHECK(strstr(err, "duplicate") != NULL);
    }
}

/* What the scanner refuses gets window_result_parse's verdict and reason. */
TEST(refused_lines_get_jansson_s_reason)
{
    const char *lines[] = {
        "{\"regionId\":1," TIMES ",\"n\":1234567890123456789012}",
        "{\"regionId\":1," TIMES ",\"n\":1e999}",
        "{\"regionId\":1," TIMES ",\"n\":[1]}",
        "{\"regionId\":1," TIMES "} x",
        "{\"regionId\":1,\"windowStart\":\"2025-08-31T08:00:00Z\"}",
        "{\"regionId\":01," TIMES "}",
        "{\"regionId\":1.5," TIMES "}",
        "[1]",
        "",
        "{}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct window_result fast, viaparse, slow;
        char err1[128] = "", err2[128] = "";
        CHECK_INT(result_reader_fast(lines[i], strlen(lines[i]), &fast), -1);
        int want = window_result_parse(lines[i], strlen(lines[i]), &slow, err1, sizeof err1);
        CHECK_INT(want, -1);
        CHECK_INT(result_reader_parse(lines[i], strlen(lines[i]), &viaparse, err2, sizeof err2),
                  want);
        CHECK_STR(err2, err1);
    }
}

int main(void)
{
    RUN(reads_the_spec_line_as_jansson_does);
    RUN(null_metrics_and_whitespace);
    RUN(escapes_and_other_keys_read_as_jansson_does);
    RUN(repeated_members_refuse_the_line);
    RUN(refused_lines_get_jansson_s_reason);
    RETURN_SUMMARY();
}
