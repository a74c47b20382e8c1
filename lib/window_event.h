/* window_event: what sp-window needs from one input line: the key, the event
 * time and the aggregated fields of a trip event; the Kafka coordinates of
 * any record; the partition list of a {"_kafka_assignment":[...]} control
 * line; or, for a line that is none of these, the DLQ error and reason.
 *
 * Key: an integer or a string member (shorter than WINDOW_RESULT_KEY_MAX).
 * Time: a string member in a form event_time_parse() reads. Field values: a
 * JSON number, anything else (or nothing) is NaN, "no value". */
#ifndef SP_WINDOW_EVENT_H
#define SP_WINDOW_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "dlq.h"
#include "window.h"

/* The line starts a Kafka record or control line ({"_kafka...): such lines
 * are not counted by position (see checkpoint.h). */
bool window_event_is_kafka_line(const char *line, size_t len);

enum window_line_kind {
    WINDOW_LINE_EVENT,
    WINDOW_LINE_ASSIGNMENT,
    WINDOW_LINE_BAD /* error, reason and field say why */
};

struct window_line {
    enum window_line_kind kind;
    /* WINDOW_LINE_EVENT */
    struct window_key key;
    int64_t event_ms;
    double values[AGG_MAX_FIELDS];
    /* any kind: the Kafka coordinates when the record has them */
    bool has_source;
    struct window_source source;
    /* WINDOW_LINE_ASSIGNMENT */
    struct window_source *parts;
    size_t n_parts;
    /* WINDOW_LINE_BAD */
    enum dlq_error error;
    char reason[256];
    const char *field;

    json_t *doc; /* what the pointers above point into */
};

/* Which members to read. */
struct window_event_fields {
    const char *key_field;
    const char *time_field;
    const struct agg_spec *spec;
};

/* Read one line (without its '\n') into out. Always fills out; release it
 * with window_line_clear() before the next call. */
void window_line_parse(const struct window_event_fields *f, const char *line, size_t len,
                       struct window_line *out);

/* Release what window_line_parse() took. */
void window_line_clear(struct window_line *out);

#endif
