/* sketch: nearest-rank percentiles of a stream of doubles, exact while the
 * stream is small, then in bounded memory with a bounded relative error.
 *
 * Nearest rank: sort the n values and take value number ceil(p/100 * n)
 * (1-based; p = 0 takes the smallest). The rank is computed in integers from
 * the percentile in hundredths, so 0.95 * 20 is 19, not 19.000000000000004.
 *
 * Up to SKETCH_EXACT_MAX values are kept as they are and the answer is exact.
 * Past that the values move into a log-bucket histogram (DDSketch): value v > 0
 * lands in bucket ceil(log_gamma(v)) with gamma = (1 + a) / (1 - a) and
 * a = SKETCH_RELATIVE_ACCURACY, and a bucket answers with the value whose
 * relative distance to every value in it is at most a. Negative values use a
 * mirrored histogram of |v|; values with |v| < SKETCH_MIN_MAGNITUDE count as 0.
 * At most SKETCH_MAX_BUCKETS buckets per sign: when the values span a wider
 * range (over 8 decades at a = 0.5 %) the buckets of the smallest magnitudes
 * merge, so only those lose accuracy. Memory per sketch is therefore bounded
 * however many values it sees: at most 8 KiB exact, 2 x 32 KiB as buckets.
 *
 * Deterministic: the answer depends only on the multiset of values added, not
 * on their order, so a replay gives the same bytes. */
#ifndef SP_SKETCH_H
#define SP_SKETCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "strbuf.h"

#define SKETCH_EXACT_MAX 1024
#define SKETCH_RELATIVE_ACCURACY 0.005
#define SKETCH_MAX_BUCKETS 4096
#define SKETCH_MIN_MAGNITUDE 1e-9

/* Counts of one sign: counts[i] belongs to bucket index min_index + i. */
struct sketch_buckets {
    int32_t min_index;
    uint32_t len;
    uint64_t *counts;
};

typedef struct sketch {
    uint64_t n;
    uint32_t exact_len; /* values held in exact[]; meaningful while is_exact */
    uint32_t exact_cap;
    double *exact;
    bool is_exact;
    bool exact_sorted; /* exact[] is in ascending order (a quantile sorted it) */
    uint64_t zero_count;
    struct sketch_buckets positive;
    struct sketch_buckets negative; /* indexed by |v| */
} sketch;

/* An empty exact sketch; no allocation until the first value. */
void sketch_init(sketch *s);

/* Release the memory; s is then as after sketch_init(). */
void sketch_free(sketch *s);

/* Add one value. NaN is ignored (the caller decides what "no value" means);
 * infinities are clamped to +-DBL_MAX. */
void sketch_add(sketch *s, double v);

/* Number of values added. */
uint64_t sketch_count(const sketch *s);

/* True while every value is held exactly. */
bool sketch_is_exact(const sketch *s);

/* The nearest-rank percentile, pct_x100 in hundredths of a percent
 * (9500 = p95, 9990 = p99.9, 0..10000). NaN when the sketch is empty. May
 * sort the exact values in place (hence not const); that changes no answer. */
double sketch_percentile(sketch *s, uint32_t pct_x100);

/* Append the state as JSON: {"n":N,"exact":[v,...]} or
 * {"n":N,"zero":Z,"pos":[min_index,c,c,...],"neg":[min_index,c,...]}.
 * Doubles are written with the fewest digits that read back equal. */
void sketch_append_json(strbuf *sb, const sketch *s);

/* Replace s (initialised) with the state in j. Returns 0, or -1 with a reason
 * in err when j is not a well-formed sketch (counts that do not add up, too
 * many buckets or values, wrong types); s is then empty. */
int sketch_from_json(sketch *s, const json_t *j, char *err, size_t errlen);

#endif
