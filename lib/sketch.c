/* sketch: exact values first, then a DDSketch-style log-bucket histogram. */
#include "sketch.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

#define EXACT_INITIAL_CAP 8

static double gamma_value(void)
{
    return (1.0 + SKETCH_RELATIVE_ACCURACY) / (1.0 - SKETCH_RELATIVE_ACCURACY);
}

/* ln(gamma), computed once: log() is deterministic for a given libm, so the
 * same value always lands in the same bucket. */
static double log_gamma(void)
{
    static double cached;
    if (cached == 0) cached = log(gamma_value());
    return cached;
}

/* Bucket of magnitude m > SKETCH_MIN_MAGNITUDE: (gamma^(i-1), gamma^i]. */
static int32_t bucket_index(double m)
{
    return (int32_t)ceil(log(m) / log_gamma());
}

/* The value that is within relative distance a of every value of bucket i. */
static double bucket_value(int32_t i)
{
    return 2.0 * exp((double)i * log_gamma()) / (gamma_value() + 1.0);
}

static void buckets_free(struct sketch_buckets *b)
{
    free(b->counts);
    memset(b, 0, sizeof *b);
}

/* Make b cover [lo, hi] exactly, folding every count below lo into bucket lo
 * (the collapse that keeps the bucket count bounded). */
static void buckets_reshape(struct sketch_buckets *b, int32_t lo, int32_t hi)
{
    uint32_t len = (uint32_t)(hi - lo + 1);
    uint64_t *counts = calloc(len, sizeof *counts);
    if (counts == NULL) abort();
    for (uint32_t i = 0; i < b->len; i++) {
        int32_t index = b->min_index + (int32_t)i;
        int32_t target = index < lo ? lo : index;
        counts[target - lo] += b->counts[i];
    }
    free(b->counts);
    b->counts = counts;
    b->min_index = lo;
    b->len = len;
}

/* Count `count` values of bucket index in b. When the range would exceed
 * SKETCH_MAX_BUCKETS the lowest buckets merge; which bucket a value ends in
 * then depends only on the highest index ever seen, never on the order. */
static void buckets_add(struct sketch_buckets *b, int32_t index, uint64_t count)
{
    int32_t lo = index, hi = index;
    if (b->len > 0) {
        int32_t cur_hi = b->min_index + (int32_t)b->len - 1;
        lo = index < b->min_index ? index : b->min_index;
        hi = index > cur_hi ? index : cur_hi;
    }
    if ((int64_t)hi - lo + 1 > SKETCH_MAX_BUCKETS) lo = hi - SKETCH_MAX_BUCKETS + 1;
    if (b->len == 0 || lo != b->min_index || hi != b->min_index + (int32_t)b->len - 1)
        buckets_reshape(b, lo, hi);
    int32_t target = index < lo ? lo : index;
    b->counts[target - b->min_index] += count;
}

static void histogram_add(sketch *s, double v)
{
    double m = fabs(v);
    if (m < SKETCH_MIN_MAGNITUDE) {
        s->zero_count++;
        return;
    }
    buckets_add(v > 0 ? &s->positive : &s->negative, bucket_index(m), 1);
}

/* Leave the exact mode: every held value goes into the histogram. */
static void switch_to_histogram(sketch *s)
{
    for (uint32_t i = 0; i < s->exact_len; i++)
        histogram_add(s, s->exact[i]);
    free(s->exact);
    s->exact = NULL;
    s->exact_len = s->exact_cap = 0;
    s->is_exact = false;
}

void sketch_init(sketch *s)
{
    memset(s, 0, sizeof *s);
    s->is_exact = true;
}

void sketch_free(sketch *s)
{
    free(s->exact);
    buckets_free(&s->positive);
    buckets_free(&s->negative);
    sketch_init(s);
}

void sketch_add(sketch *s, double v)
{
    if (isnan(v)) return;
    if (isinf(v)) v = v > 0 ? DBL_MAX : -DBL_MAX;
    s->n++;
    if (s->is_exact && s->exact_len == SKETCH_EXACT_MAX) switch_to_histogram(s);
    if (!s->is_exact) {
        histogram_add(s, v);
        return;
    }
    if (s->exact_len == s->exact_cap) {
        uint32_t cap = s->exact_cap ? s->exact_cap * 2 : EXACT_INITIAL_CAP;
        double *grown = realloc(s->exact, cap * sizeof *grown);
        if (grown == NULL) abort();
        s->exact = grown;
        s->exact_cap = cap;
    }
    s->exact[s->exact_len++] = v;
    s->exact_sorted = false;
}

uint64_t sketch_count(const sketch *s)
{
    return s->n;
}

bool sketch_is_exact(const sketch *s)
{
    return s->is_exact;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ceil(pct/100 * n) in integers, clamped to [1, n]. */
static uint64_t nearest_rank(uint32_t pct_x100, uint64_t n)
{
    if (pct_x100 > 10000) pct_x100 = 10000;
    uint64_t rank = ((uint64_t)pct_x100 * n + 9999) / 10000;
    if (rank < 1) rank = 1;
    return rank > n ? n : rank;
}

double sketch_percentile(sketch *s, uint32_t pct_x100)
{
    if (s->n == 0) return NAN;
    uint64_t rank = nearest_rank(pct_x100, s->n);
    if (s->is_exact) {
        if (!s->exact_sorted) {
            qsort(s->exact, s->exact_len, sizeof *s->exact, compare_doubles);
            s->exact_sorted = true;
        }
        return s->exact[rank - 1];
    }
    /* Ascending order: the most negative first, then zero, then positives. */
    uint64_t seen = 0;
    for (uint32_t i = s->negative.len; i-- > 0;) {
        seen += s->negative.counts[i];
        if (seen >= rank) return -bucket_value(s->negative.min_index + (int32_t)i);
    }
    seen += s->zero_count;
    if (seen >= rank) return 0.0;
    for (uint32_t i = 0; i < s->positive.len; i++) {
        seen += s->positive.counts[i];
        if (seen >= rank) return bucket_value(s->positive.min_index + (int32_t)i);
    }
    /* Unreachable while the counts add up to n, which sketch_from_json checks. */
    return NAN;
}

static void buckets_append_json(strbuf *sb, const struct sketch_buckets *b)
{
    sb_putc(sb, '[');
    sb_put_i64(sb, b->min_index);
    for (uint32_t i = 0; i < b->len; i++) {
        sb_putc(sb, ',');
        sb_put_i64(sb, (int64_t)b->counts[i]);
    }
    sb_putc(sb, ']');
}

void sketch_append_json(strbuf *sb, const sketch *s)
{
    sb_puts(sb, "{\"n\":");
    sb_put_i64(sb, (int64_t)s->n);
    if (s->is_exact) {
        sb_puts(sb, ",\"exact\":[");
        for (uint32_t i = 0; i < s->exact_len; i++) {
            if (i > 0) sb_putc(sb, ',');
            ndjson_append_double(sb, s->exact[i]);
        }
        sb_puts(sb, "]}");
        return;
    }
    sb_puts(sb, ",\"zero\":");
    sb_put_i64(sb, (int64_t)s->zero_count);
    sb_puts(sb, ",\"pos\":");
    buckets_append_json(sb, &s->positive);
    sb_puts(sb, ",\"neg\":");
    buckets_append_json(sb, &s->negative);
    sb_putc(sb, '}');
}

/* Read [min_index, c, c, ...] into b; adds the counts to *total. */
static int buckets_from_json(struct sketch_buckets *b, const json_t *arr, uint64_t *total)
{
    size_t size = json_array_size(arr);
    if (!json_is_array(arr) || size == 0 || size - 1 > SKETCH_MAX_BUCKETS) return -1;
    const json_t *first = json_array_get(arr, 0);
    if (!json_is_integer(first)) return -1;
    json_int_t min_index = json_integer_value(first);
    if (min_index < INT32_MIN / 2 || min_index > INT32_MAX / 2) return -1;
    if (size == 1) return 0;
    b->counts = calloc(size - 1, sizeof *b->counts);
    if (b->counts == NULL) abort();
    b->min_index = (int32_t)min_index;
    b->len = (uint32_t)(size - 1);
    for (size_t i = 1; i < size; i++) {
        const json_t *c = json_array_get(arr, i);
        if (!json_is_integer(c) || json_integer_value(c) < 0) return -1;
        b->counts[i - 1] = (uint64_t)json_integer_value(c);
        *total += b->counts[i - 1];
    }
    return 0;
}

static int fail(sketch *s, char *err, size_t errlen, const char *reason)
{
    snprintf(err, errlen, "sketch: %s", reason);
    sketch_free(s);
    return -1;
}

int sketch_from_json(sketch *s, const json_t *j, char *err, size_t errlen)
{
    sketch_free(s);
    const json_t *n = json_object_get(j, "n");
    if (!json_is_integer(n) || json_integer_value(n) < 0)
        return fail(s, err, errlen, "\"n\" is not a count");
    uint64_t want_n = (uint64_t)json_integer_value(n);
    const json_t *exact = json_object_get(j, "exact");
    if (exact != NULL) {
        size_t size = json_array_size(exact);
        if (!json_is_array(exact) || size > SKETCH_EXACT_MAX || size != want_n)
            return fail(s, err, errlen, "\"exact\" does not hold n values");
        for (size_t i = 0; i < size; i++) {
            const json_t *v = json_array_get(exact, i);
            if (!json_is_number(v)) return fail(s, err, errlen, "an exact value is not a number");
            sketch_add(s, json_number_value(v));
        }
        return 0;
    }
    s->n = want_n;
    s->is_exact = false;
    const json_t *zero = json_object_get(j, "zero");
    if (!json_is_integer(zero) || json_integer_value(zero) < 0)
        return fail(s, err, errlen, "\"zero\" is not a count");
    s->zero_count = (uint64_t)json_integer_value(zero);
    uint64_t total = s->zero_count;
    if (buckets_from_json(&s->positive, json_object_get(j, "pos"), &total) != 0 ||
        buckets_from_json(&s->negative, json_object_get(j, "neg"), &total) != 0)
        return fail(s, err, errlen, "bad buckets");
    if (total != s->n) return fail(s, err, errlen, "bucket counts do not add up to n");
    return 0;
}
