/* window_event: what sp-window needs from one input record: the key, the
 * event time and the aggregated fields of a trip event and its Kafka
 * coordinates; or, for a line that is no event, the DLQ error and reason.
 * Control lines are control_line.h's.
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
#include "event_reader.h"
#include "strbuf.h"
#include "window.h"

/* The line starts a Kafka record or a control line ({"_kafka...): such
 * lines are not counted by position (see checkpoint.h). */
bool window_event_is_kafka_line(const char *line, size_t len);

enum window_line_kind {
    WINDOW_LINE_EVENT,
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
    /* WINDOW_LINE_BAD */
    enum dlq_error error;
    char reason[256];
    const char *field;
    const char *rule; /* the rule broken ("unique" for a repeated member), or NULL */

    json_t *doc; /* what the pointers above point into (NULL: the input line) */
};

/* Which members to read, and the scratch space of the lean reader. */
struct window_event_reader {
    const char *key_field;
    const char *time_field;
    const struct agg_spec *spec;
    struct ev_fields names;
    int key_at, time_at, kafka_at, raw_at, value_at[AGG_MAX_FIELDS];
    int event_at[2 + AGG_MAX_FIELDS]; /* key, time and values: may not repeat */
    size_t n_event_at;
    struct ev_scan scan;
    struct ev_fields coordinate_names; /* topic, partition, offset of "_kafka" */
    struct ev_scan coordinate_scan;
    strbuf key_scratch, time_scratch, topic_scratch;
};

/* Prepare r to read key_field, time_field and the fields of spec (which must
 * outlive r). Returns 0, or -1 when a name is too long for the lean reader. */
int window_event_reader_init(struct window_event_reader *r, const char *key_field,
                             const char *time_field, const struct agg_spec *spec);
void window_event_reader_free(struct window_event_reader *r);

/* Read one line (without its '\n') into out. Always fills out; release it
 * with window_line_clear() before the next call. A well-formed event, with
 * or without well-formed "_kafka" coordinates, is read by the lean reader
 * (event_reader.h, which accepts exactly what jansson accepts); so is an
 * object that gives the key, the time or an aggregated field more than once,
 * which is refused (SCHEMA_VIOLATION "region_id: given 2 times", the rule of
 * event_reader.h). Anything else (a line to refuse) takes
 * window_line_parse_tree(), so the answer is always that of jansson. */
void window_line_parse(struct window_event_reader *r, const char *line, size_t len,
                       struct window_line *out);

/* The same reading through a jansson tree, for a line without repeated
 * members: the reference the lean path is fuzzed against
 * (tests/fuzz/fuzz_window_event.c). */
void window_line_parse_tree(struct window_event_reader *r, const char *line, size_t len,
                            struct window_line *out);

/* Release what window_line_parse() took. */
void window_line_clear(struct window_line *out);

#endif
