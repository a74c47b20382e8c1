/* test_window_result: the result record, formatted and parsed back. */
#include <math.h>

#include "unit.h"
#include "window_result.h"

static struct window_result sample(void)
{
    struct window_result r = {.key_name = "regionId",
                              .key = "5",
                              .start_ms = 1756627200000LL,
                              .end_ms = 1756627260000LL,
                              .final = true,
                              .n_metrics = 3};
    strcpy(r.metrics[0].name, "tripCount");
    r.metrics[0].value = 12;
    strcpy(r.metrics[1].name, "totalDistance");
    r.metrics[1].value = 130.39999999999998; /* a sum of decimal fares */
    strcpy(r.metrics[2].name, "avgFare");
    r.metrics[2].value = NAN;
    return r;
}

TEST(format_matches_the_spec_layout)
{
    struct window_result r = sample();
    strbuf sb = STRBUF_INIT;
    window_result_format(&sb, &r);
    CHECK_STR(sb.data, "{\"regionId\":5,\"windowStart\":\"2025-08-31T08:00:00Z\","
                       "\"windowEnd\":\"2025-08-31T08:01:00Z\",\"tripCount\":12,"
                       "\"totalDistance\":130.4,\"avgFare\":null,\"final\":true}\n");
    sb_free(&sb);
}

TEST(string_key_is_escaped_and_parses_back)
{
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

TEST(parse_rejects_what_is_not_a_result)
{
    const char *bad[] = {
        "",
        "[1]",
        "{\"regionId\":5}",
        "{\"regionId\":5,\"windowStart\":\"x\",\"windowEnd\":\"2025-08-31T08:01:00Z\"}",
        "{\"regionId\":[],\"windowStart\":\"2025-08-31T08:00:00Z\",\"windowEnd\":\"2025-08-31T08:"
        "01:00Z\"}",
        "{\"regionId\":5,\"windowStart\":\"2025-08-31T08:00:00Z\",\"windowEnd\":\"2025-08-31T08:01:"
        "00Z\",\"m\":\"1\"}",
        "{\"regionId\":5,\"windowStart\":\"2025-08-31T08:00:00Z\",\"windowEnd\":\"2025-08-31T08:01:"
        "00Z\",\"final\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct window_result r;
        char err[128] = "";
        CHECK_INT(window_result_parse(bad[i], strlen(bad[i]), &r, err, sizeof err), -1);
        CHECK(err[0] != '\0');
    }
}

/* The printed value of v as a metric, alone. */
static void format_value(double v, char *out, size_t n)
{
    struct window_result r = {.key_name = "k", .key = "1", .n_metrics = 1};
    strcpy(r.metrics[0].name, "m");
    r.metrics[0].value = v;
    strbuf sb = STRBUF_INIT;
    window_result_format(&sb, &r);
    const char *start = strstr(sb.data, "\"m\":") + 4;
    size_t len = (size_t)(strstr(start, ",\"final\"") - start);
    snprintf(out, n, "%.*s", (int)len, start);
    sb_free(&sb);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double random_unit(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

TEST(numbers_print_as_printf_15g)
{
    /* The oracle is printf itself: sums and means of decimal fares, integers,
     * tiny and huge values, negatives. */
    char got[64], want[64];
    int mismatches = 0;
    for (int i = 0; i < 200000; i++) {
        double v;
        switch (i % 5) {
        case 0: /* a mean of cents */
            v = (double)(long)(random_unit() * 1e7) / 100.0 / (1 + i % 97);
            break;
        case 1: /* a sum of one-decimal distances */
            v = 0;
            for (int k = 0; k < 1 + i % 50; k++)
                v += (double)(long)(random_unit() * 400) / 10.0;
            break;
        case 2:
            v = (random_unit() - 0.5) * pow(10, (int)(random_unit() * 40) - 20);
            break;
        case 3:
            v = (double)(long)((random_unit() - 0.5) * 1e12);
            break;
        default:
            v = random_unit() * 1e6;
        }
        format_value(v, got, sizeof got);
        snprintf(want, sizeof want, "%.15g", v == 0 ? 0.0 : v);
        if (strcmp(got, want) != 0 && mismatches++ < 5)
            fprintf(stderr, "%.17g: got %s, printf %s\n", v, got, want);
    }
    CHECK_INT(mismatches, 0);
    format_value(NAN, got, sizeof got);
    CHECK_STR(got, "null");
    format_value(-0.0, got, sizeof got);
    CHECK_STR(got, "0");
    format_value(1e300, got, sizeof got);
    CHECK_STR(got, "1e+300");
}

TEST(camel_case_of_field_names)
{
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

int main(void)
{
    RUN(format_matches_the_spec_layout);
    RUN(string_key_is_escaped_and_parses_back);
    RUN(parse_rejects_what_is_not_a_result);
    RUN(numbers_print_as_printf_15g);
    RUN(camel_case_of_field_names);
    RETURN_SUMMARY();
}
