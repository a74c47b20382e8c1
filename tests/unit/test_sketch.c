/* test_sketch: nearest-rank percentiles against a brute-force sort. */
#include <math.h>
#include <stdlib.h>

#include "sketch.h"
#include "unit.h"

/* A small deterministic generator, so a failure reproduces. */
static uint64_t rng_state = 88172645463325252ULL;
static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The definition, read straight: value number ceil(p/100 * n) of the sorted
 * values, with p/100 * n computed exactly as a fraction. */
static double brute_force(const double *values, size_t n, uint32_t pct_x100)
{
    double *sorted = malloc(n * sizeof *sorted);
    memcpy(sorted, values, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_value);
    size_t rank = 1;
    while ((uint64_t)rank * 10000 < (uint64_t)pct_x100 * n)
        rank++;
    double v = sorted[rank - 1];
    free(sorted);
    return v;
}

static const uint32_t percentiles[] = {0, 100, 5000, 9000, 9500, 9900, 9990, 10000};
#define N_PERCENTILES (sizeof percentiles / sizeof *percentiles)

/* Fill values with n random values of a given shape. */
static void fill(double *values, size_t n, int shape)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next_random();
        switch (shape) {
        case 0: /* trip durations: integers 60..7200 */
            values[i] = (double)(60 + r % 7141);
            break;
        case 1: /* wide range, log-uniform */
            values[i] = exp((double)(r % 20000) / 1000.0 - 5.0);
            break;
        default: /* mixed signs with zeros */
            values[i] = (r % 5 == 0) ? 0.0 : ((double)(r % 2001) - 1000.0) / 7.0;
        }
    }
}

static void check_against_brute_force(size_t n, int shape, double tolerance)
{
    double *values = malloc(n * sizeof *values);
    fill(values, n, shape);
    sketch s;
    sketch_init(&s);
    for (size_t i = 0; i < n; i++)
        sketch_add(&s, values[i]);
    CHECK_INT(sketch_count(&s), n);
    for (size_t i = 0; i < N_PERCENTILES; i++) {
        double want = brute_force(values, n, percentiles[i]);
        double got = sketch_percentile(&s, percentiles[i]);
        bool ok = tolerance == 0 ? got == want : fabs(got - want) <= tolerance * fabs(want);
        if (!ok)
            fprintf(stderr, "n=%zu shape=%d p=%u: got %.17g want %.17g\n", n, shape, percentiles[i],
                    got, want);
        CHECK(ok);
    }
    sketch_free(&s);
    free(values);
}

TEST(exact_up_to_the_bound)
{
    size_t sizes[] = {1, 2, 3, 7, 20, 100, 999, SKETCH_EXACT_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int shape = 0; shape < 3; shape++)
            check_against_brute_force(sizes[i], shape, 0);
}

TEST(within_one_percent_past_the_bound)
{
    size_t sizes[] = {SKETCH_EXACT_MAX + 1, 5000, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int shape = 0; shape < 3; shape++)
            check_against_brute_force(sizes[i], shape, 0.01);
}

TEST(rank_is_computed_in_integers)
{
    /* 0.95 * 20 is 19.000000000000004 in doubles: p95 of 1..20 is 19, not 20. */
    sketch s;
    sketch_init(&s);
    for (int i = 1; i <= 20; i++)
        sketch_add(&s, i);
    CHECK(sketch_percentile(&s, 9500) == 19);
    CHECK(sketch_percentile(&s, 5000) == 10);
    CHECK(sketch_percentile(&s, 0) == 1);
    CHECK(sketch_percentile(&s, 10000) == 20);
    sketch_free(&s);
}

TEST(empty_and_nan)
{
    sketch s;
    sketch_init(&s);
    CHECK(isnan(sketch_percentile(&s, 5000)));
    sketch_add(&s, NAN);
    CHECK_INT(sketch_count(&s), 0);
    sketch_add(&s, INFINITY);
    CHECK(sketch_percentile(&s, 5000) > 1e308);
    sketch_free(&s);
}

TEST(order_does_not_matter)
{
    size_t n = 20000;
    double *values = malloc(n * sizeof *values);
    fill(values, n, 1);
    sketch a, b;
    sketch_init(&a);
    sketch_init(&b);
    for (size_t i = 0; i < n; i++)
        sketch_add(&a, values[i]);
    qsort(values, n, sizeof *values, by_value);
    for (size_t i = n; i-- > 0;)
        sketch_add(&b, values[i]);
    for (size_t i = 0; i < N_PERCENTILES; i++)
        CHECK(sketch_percentile(&a, percentiles[i]) == sketch_percentile(&b, percentiles[i]));
    sketch_free(&a);
    sketch_free(&b);
    free(values);
}

TEST(memory_is_bounded)
{
    sketch s;
    sketch_init(&s);
    for (int i = 0; i < 200000; i++)
        sketch_add(&s, exp((double)(i % 4000) / 10.0 - 200.0)); /* 1e-87 .. 1e86 */
    CHECK(!sketch_is_exact(&s));
    CHECK(s.positive.len <= SKETCH_MAX_BUCKETS);
    CHECK(s.exact == NULL);
    /* The top of the range keeps its accuracy. */
    double p100 = sketch_percentile(&s, 10000);
    CHECK(fabs(p100 - exp(3999 / 10.0 - 200.0)) <= 0.01 * exp(3999 / 10.0 - 200.0));
    sketch_free(&s);
}

static bool same(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

static void round_trip(size_t n)
{
    double *values = malloc(n * sizeof *values);
    fill(values, n, 2);
    sketch s, t;
    sketch_init(&s);
    sketch_init(&t);
    for (size_t i = 0; i < n; i++)
        sketch_add(&s, values[i]);
    strbuf text = STRBUF_INIT;
    sketch_append_json(&text, &s);
    json_t *back = json_loads(text.data, 0, NULL);
    char err[128];
    CHECK_INT(sketch_from_json(&t, back, err, sizeof err), 0);
    CHECK_INT(sketch_count(&t), n);
    for (size_t i = 0; i < N_PERCENTILES; i++)
        CHECK(same(sketch_percentile(&s, percentiles[i]), sketch_percentile(&t, percentiles[i])));
    /* Both go on alike. */
    sketch_add(&s, 12.5);
    sketch_add(&t, 12.5);
    CHECK(sketch_percentile(&s, 5000) == sketch_percentile(&t, 5000));
    sb_free(&text);
    json_decref(back);
    sketch_free(&s);
    sketch_free(&t);
    free(values);
}

TEST(json_round_trip)
{
    round_trip(0);
    round_trip(10);
    round_trip(SKETCH_EXACT_MAX);
    round_trip(3000);
}

TEST(json_rejects_inconsistent_state)
{
    const char *bad[] = {
        "{}",
        "{\"n\":2,\"exact\":[1]}",
        "{\"n\":1,\"exact\":[\"x\"]}",
        "{\"n\":3,\"zero\":1,\"pos\":[5,1],\"neg\":[0]}",
        "{\"n\":-1,\"zero\":0,\"pos\":[0],\"neg\":[0]}",
        "{\"n\":1,\"zero\":0,\"pos\":[1.5,1],\"neg\":[0]}",
        "{\"n\":1,\"zero\":0,\"pos\":[0,-1,2],\"neg\":[0]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        sketch s;
        sketch_init(&s);
        char err[128];
        CHECK_INT(sketch_from_json(&s, j, err, sizeof err), -1);
        CHECK_INT(sketch_count(&s), 0);
        json_decref(j);
    }
}

int main(void)
{
    RUN(exact_up_to_the_bound);
    RUN(within_one_percent_past_the_bound);
    RUN(rank_is_computed_in_integers);
    RUN(empty_and_nan);
    RUN(order_does_not_matter);
    RUN(memory_is_bounded);
    RUN(json_round_trip);
    RUN(json_rejects_inconsistent_state);
    RETURN_SUMMARY();
}
