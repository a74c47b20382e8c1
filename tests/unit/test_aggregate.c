/* test_aggregate: the --agg syntax and the metrics of a window. */
#include <math.h>

#include "aggregate.h"
#include "unit.h"

TEST(default_list)
{
    struct agg_spec spec;
    agg_spec_default(&spec);
    char text[512];
    agg_spec_describe(&spec, text, sizeof text);
    CHECK_STR(text, "tripCount=count,avgFare=avg:fare,totalDistance=sum:distance,"
                    "avgDuration=avg:duration,p50Duration=p50.00:duration,"
                    "p95Duration=p95.00:duration,p99Duration=p99.00:duration");
    CHECK_INT(spec.n_fields, 3);
    CHECK_INT(spec.n_sketches, 1); /* p50, p95 and p99 of duration share one */
    CHECK(spec.sketch_slot[2] == 1 && spec.sketch_slot[0] == 0 && spec.sketch_slot[1] == 0);
}

TEST(syntax_errors)
{
    const char *bad[] = {"x",           "=count",   "a=",
                         "a=sum",       "a=p101:f", "a=p9.999:f",
                         "a=median:f",  "a=sum:",   "windowStart=count",
                         "final=count", "a=p:f",    "a=p1.:f"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct agg_spec spec;
        char err[256] = "";
        agg_spec_init(&spec);
        CHECK_INT(agg_spec_add(&spec, bad[i], err, sizeof err), -1);
        CHECK(err[0] != '\0');
    }
    struct agg_spec spec;
    char err[256];
    agg_spec_init(&spec);
    CHECK_INT(agg_spec_add(&spec, "a=count", err, sizeof err), 0);
    CHECK_INT(agg_spec_add(&spec, "a=sum:x", err, sizeof err), -1); /* duplicate name */
}

TEST(metrics_of_a_window)
{
    struct agg_spec spec;
    char err[256];
    agg_spec_init(&spec);
    const char *list[] = {"n=count",  "nf=count:f", "s=sum:f",   "a=avg:f",      "lo=min:f",
                          "hi=max:f", "p0=p0:f",    "p50=p50:f", "p999=p99.9:f", "g=avg:g"};
    for (size_t i = 0; i < sizeof list / sizeof *list; i++)
        CHECK_INT(agg_spec_add(&spec, list[i], err, sizeof err), 0);
    struct agg_state *st = agg_state_new(&spec);
    /* f takes 1..10 except a missing one; g is never present. */
    for (int i = 1; i <= 11; i++) {
        double values[2] = {i == 5 ? NAN : (double)(i == 11 ? 5 : i), NAN};
        agg_state_add(&spec, st, values);
    }
    struct window_result r;
    agg_state_results(&spec, st, &r);
    CHECK_INT(r.n_metrics, 10);
    double want[] = {11, 10, 55, 5.5, 1, 10, 1, 5, 10};
    for (size_t i = 0; i < 9; i++) {
        if (r.metrics[i].value != want[i])
            fprintf(stderr, "%s = %g, want %g\n", r.metrics[i].name, r.metrics[i].value, want[i]);
        CHECK(r.metrics[i].value == want[i]);
    }
    CHECK(isnan(r.metrics[9].value));
    CHECK_STR(r.metrics[3].name, "a");

    /* JSON round trip keeps every metric. */
    strbuf text = STRBUF_INIT;
    agg_state_append_json(&text, &spec, st);
    json_t *back = json_loads(text.data, 0, NULL);
    struct agg_state *st2 = agg_state_from_json(&spec, back, err, sizeof err);
    CHECK(st2 != NULL);
    struct window_result r2;
    agg_state_results(&spec, st2, &r2);
    for (size_t i = 0; i < 9; i++)
        CHECK(r2.metrics[i].value == r.metrics[i].value);
    CHECK(isnan(r2.metrics[9].value));
    sb_free(&text);
    json_decref(back);
    agg_state_free(&spec, st);
    agg_state_free(&spec, st2);
}

TEST(state_from_json_rejects_mismatch)
{
    struct agg_spec spec;
    char err[256];
    agg_spec_default(&spec);
    json_t *j = json_loads("{\"count\":1,\"fields\":[]}", 0, NULL);
    CHECK(agg_state_from_json(&spec, j, err, sizeof err) == NULL);
    json_decref(j);
    j = json_loads("{\"count\":1,\"fields\":[{\"n\":1,\"sum\":1,\"min\":1,\"max\":1},"
                   "{\"n\":1,\"sum\":1,\"min\":1,\"max\":1},"
                   "{\"n\":1,\"sum\":1,\"min\":1,\"max\":1,\"sketch\":{\"n\":2,\"exact\":[1]}}]}",
                   0, NULL);
    CHECK(agg_state_from_json(&spec, j, err, sizeof err) == NULL);
    CHECK(strstr(err, "sketch") != NULL);
    json_decref(j);
}

int main(void)
{
    RUN(default_list);
    RUN(syntax_errors);
    RUN(metrics_of_a_window);
    RUN(state_from_json_rejects_mismatch);
    RETURN_SUMMARY();
}
