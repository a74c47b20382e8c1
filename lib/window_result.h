/* window_result: the window result record of SPEC section 6, defined here and
 * nowhere else. sp-window formats it; sp-redis-sink and sp-serve parse it.
 *
 *   {"regionId":5,"windowStart":"2025-08-31T08:00:00Z","windowEnd":"2025-08-31T08:01:00Z",
 *    "tripCount":12,"avgFare":41.2,...,"p99Duration":3100,"final":true}
 *
 * Members in that order: the key, windowStart, windowEnd, the metrics in
 * their configured order, final. The key member is named after the key field
 * in camelCase (region_id gives regionId); its value is an integer when the
 * key field held an integer, else a string. Metric values print with at most
 * WINDOW_RESULT_DIGITS significant digits, so a sum of decimal fares shows as
 * 130.4 rather than 130.39999999999998 and a replay gives the same bytes. */
#ifndef SP_WINDOW_RESULT_H
#define SP_WINDOW_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define WINDOW_RESULT_MAX_METRICS 32
#define WINDOW_RESULT_NAME_MAX 64
#define WINDOW_RESULT_KEY_MAX 256
#define WINDOW_RESULT_DIGITS 15

struct window_metric {
    char name[WINDOW_RESULT_NAME_MAX];
    double value;
};

struct window_result {
    char key_name[WINDOW_RESULT_NAME_MAX]; /* "regionId" */
    char key[WINDOW_RESULT_KEY_MAX];       /* the key's value as text: "5", or the string */
    bool key_is_string;
    int64_t start_ms; /* window [start_ms, end_ms) */
    int64_t end_ms;
    bool final;
    size_t n_metrics;
    struct window_metric metrics[WINDOW_RESULT_MAX_METRICS];
};

/* Append r as one JSON line, with its '\n'. */
void window_result_format(strbuf *sb, const struct window_result *r);

/* Parse one result line into r. The first member is taken as the key.
 * Returns 0, or -1 with a reason in err (errlen bytes) when the line is not a
 * window result (not JSON, no windowStart/windowEnd, a metric neither a number
 * nor null, a member given twice). A null metric (one with no values, as an average over a field no
 * event of the window carried) reads back as NaN. */
int window_result_parse(const char *line, size_t len, struct window_result *r, char *err,
                        size_t errlen);

/* The value of the metric called name, or false when r has none. */
bool window_result_metric(const struct window_result *r, const char *name, double *value);

/* camelCase of a snake_case field name: "region_id" gives "regionId". */
void camel_case(const char *field, char *out, size_t outlen);

#endif
