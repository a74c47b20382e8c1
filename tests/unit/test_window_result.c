/* test_window_result: the result record, formatted and parsed back. */
#include <math.h>

#include "unit.h"
#include "window_result.h"

static struct window_result sample(void) {
    struct window_result r = {.key_name = "regionId", .key = "5", .start_ms = 1756627200000LL,
                              .end_ms = 1756627260000LL, .final = true, .n_metrics = 3};
    strcpy(r.metrics[0].name, "tripCount");
    r.metrics[0].value = 12;
    strcpy(r.metrics[1].name, "totalDistance");
    r.metrics[1].value = 130.39999999999998; /* a sum of decimal fares */
    strcpy(r.metrics[2].name, "avgFare");
    r.metrics[2].value = NAN;
    return r;
}

TEST(format_matches_the_spec_layout) {
    struct window_result r = sample();
    strbuf sb = STRBUF_INIT;
    window_result_format(&sb, &r);
    CHECK_STR(sb.data, "{\"regionId\":5,\"windowStart\":\"2025-08-31T08:00:00Z\","
                       "\"windowEnd\":\"2025-08-31T08:01:00Z\",\"tripCount\":12,"
                       "\"totalDistance\":130.4,\"avgFare\":null,\"final\":true}\n");
    sb_free(&sb);
}

TEST(string_key_is_escaped_and_parses_back) {
    struct window_result r = sample();
    strcpy(r.key, "zone \"A\"\\1");
    r.key_is_string = true;
    r.final = false;
    strbuf sb = STRBUF_INIT;
    window_result_format(&sb, &r);
    struct window_result back;
    char err[128];
    CHECK_INT(window_result_parse(sb.data, sb.len - 1, &back, err, sizeof err), 0);
    CHECK_STR(back.key, "zone \"A\"\\1");
    CHECK(back.key_is_string);
    CHECK(!back.final);
    CHECK_INT(back.start_ms, r.start_ms);
    CHECK_INT(back.end_ms, r.end_ms);
    CHECK_INT(back.n_metrics, 3);
    double v;
    CHECK(window_result_metric(&back, "totalDistance", &v) && v == 130.4);
    CHECK(window_result_metric(&back, "avgFare", &v) && isnan(v));
    CHECK(!window_result_metric(&back, "nope", &v));
    sb_free(&sb);
}

TEST(parse_rejects_what_is_not_a_result) {
    const char *bad[] = {
        "",
        "[1]",
        "{\"regionId\":5}",
        "{\"regionId\":5,\"windowStart\":\"x\",\"windowEnd\":\"2025-08-31T08:01:00Z\"}",
        "{\"regionId\":[],\"windowStart\":\"2025-08-31T08:00:00Z\",\"windowEnd\":\"2025-08-31T08:01:00Z\"}",
        "{\"regionId\":5,\"windowStart\":\"2025-08-31T08:00:00Z\",\"windowEnd\":\"2025-08-31T08:01:00Z\",\"m\":\"1\"}",
        "{\"regionId\":5,\"windowStart\":\"2025-08-31T08:00:00Z\",\"windowEnd\":\"2025-08-31T08:01:00Z\",\"final\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct window_result r;
        char err[128] = "";
        CHECK_INT(window_result_parse(bad[i], strlen(bad[i]), &r, err, sizeof err), -1);
        CHECK(err[0] != '\0');
    }
}

TEST(camel_case_of_field_names) {
    char out[64];
    camel_case("region_id", out, sizeof out);
    CHECK_STR(out, "regionId");
    camel_case("pickup_location_id", out, sizeof out);
    CHECK_STR(out, "pickupLocationId");
    camel_case("zone", out, sizeof out);
    CHECK_STR(out, "zone");
    camel_case("region_id", out, 4);
    CHECK_STR(out, "reg");
}

int main(void) {
    RUN(format_matches_the_spec_layout);
    RUN(string_key_is_escaped_and_parses_back);
    RUN(parse_rejects_what_is_not_a_result);
    RUN(camel_case_of_field_names);
    RETURN_SUMMARY();
}
