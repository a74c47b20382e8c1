/* aggregate: the configurable list of window metrics and the running state
 * of one window.
 *
 * A metric is written NAME=FUNC[:FIELD] (the --agg syntax):
 *   count          events in the window            tripCount=count
 *   count:FIELD    events whose FIELD is a number
 *   sum:FIELD      sum of FIELD                    totalDistance=sum:distance
 *   avg:FIELD      mean of FIELD                   avgFare=avg:fare
 *   min:FIELD, max:FIELD
 *   pNN:FIELD      nearest-rank percentile, NN in 0..100 with up to two
 *                  decimals (p50, p99.9)           p95Duration=p95:duration
 * An event whose FIELD is missing or not a number counts for `count` but not
 * for the metrics of FIELD; a metric over no values is NaN (printed as null).
 * The default list is the StreamPulse v1 one (agg_spec_default).
 *
 * The state keeps, per field, the count of values, the sum, min and max, and
 * for a field that has percentiles one sketch shared by all of them, so
 * p50/p95/p99 of duration cost one sketch and fare and distance none. */
#ifndef SP_AGGREGATE_H
#define SP_AGGREGATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sketch.h"
#include "window_result.h"

#define AGG_MAX_FIELDS WINDOW_RESULT_MAX_METRICS
#define AGG_FIELD_MAX 128

enum agg_func { AGG_COUNT, AGG_COUNT_FIELD, AGG_SUM, AGG_AVG, AGG_MIN, AGG_MAX, AGG_PERCENTILE };

struct agg_metric {
    char name[WINDOW_RESULT_NAME_MAX];
    enum agg_func func;
    int field;         /* index into agg_spec.fields; -1 for AGG_COUNT */
    uint32_t pct_x100; /* AGG_PERCENTILE: 9500 for p95 */
};

struct agg_spec {
    size_t n_metrics;
    struct agg_metric metrics[WINDOW_RESULT_MAX_METRICS];
    size_t n_fields;
    char fields[AGG_MAX_FIELDS][AGG_FIELD_MAX]; /* distinct input fields, in order of use */
    uint8_t sketch_slot[AGG_MAX_FIELDS];        /* 1 + its sketch's index when a percentile reads
                                                   the field, else 0 */
    size_t n_sketches;
};

/* Running state of one window: state->fields[i] belongs to spec->fields[i];
 * the spec->n_sketches sketches follow the fields in the same allocation. */
struct agg_field_state {
    uint64_t n; /* values seen (numbers only) */
    double sum;
    double min;
    double max;
};

struct agg_state {
    uint64_t count; /* events */
    struct agg_field_state fields[];
};

/* An empty list. */
void agg_spec_init(struct agg_spec *spec);

/* The StreamPulse v1 list: tripCount=count avgFare=avg:fare
 * totalDistance=sum:distance avgDuration=avg:duration p50Duration=p50:duration
 * p95Duration=p95:duration p99Duration=p99:duration. */
void agg_spec_default(struct agg_spec *spec);

/* Append one NAME=FUNC[:FIELD] metric. Returns 0, or -1 with the reason in
 * err (bad syntax, unknown function, duplicate name, too many metrics or
 * fields, a reserved name: windowStart, windowEnd, final). */
int agg_spec_add(struct agg_spec *spec, const char *text, char *err, size_t errlen);

/* The list as canonical text ("tripCount=count,avgFare=avg:fare,..."), the
 * form a checkpoint records to refuse a restore under different metrics. */
void agg_spec_describe(const struct agg_spec *spec, char *out, size_t outlen);

/* A zeroed state for spec; agg_state_free releases it. */
struct agg_state *agg_state_new(const struct agg_spec *spec);
void agg_state_free(const struct agg_spec *spec, struct agg_state *state);

/* Count one event; values[i] is the value of spec->fields[i], NaN when the
 * event has none. */
void agg_state_add(const struct agg_spec *spec, struct agg_state *state, const double *values);

/* Fill r->metrics/n_metrics with the metrics in spec order. May sort the
 * exact percentile values in place (no answer changes). */
void agg_state_results(const struct agg_spec *spec, struct agg_state *state,
                       struct window_result *r);

/* Append the state as JSON: {"count":N,"fields":[{"n":..,"sum":..,"min":..,
 * "max":..,"sketch":{...}},...]}; sums, minima and maxima that are not finite
 * are null. Doubles read back equal. */
void agg_state_append_json(strbuf *sb, const struct agg_spec *spec, const struct agg_state *state);

/* A new state read from j, or NULL with the reason in err when j does not
 * match spec (field count, types, a bad sketch). */
struct agg_state *agg_state_from_json(const struct agg_spec *spec, const json_t *j, char *err,
                                      size_t errlen);

#endif
