/* window_event: one input line into an event, a control line or a DLQ reason. */
#include "window_event.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_time.h"

#define KAFKA_PREFIX "{\"_kafka"

bool window_event_is_kafka_line(const char *line, size_t len)
{
    size_t n = sizeof KAFKA_PREFIX - 1;
    return len >= n && memcmp(line, KAFKA_PREFIX, n) == 0;
}

static void bad(struct window_line *out, enum dlq_error error, const char *field, const char *fmt,
                const char *arg)
{
    out->kind = WINDOW_LINE_BAD;
    out->error = error;
    out->field = field;
    snprintf(out->reason, sizeof out->reason, fmt, arg);
}

/* {"topic":"events","partition":2,"offset":1234} into src. */
static bool read_coordinates(const json_t *j, struct window_source *src)
{
    const json_t *topic = json_object_get(j, "topic");
    const json_t *partition = json_object_get(j, "partition");
    const json_t *offset = json_object_get(j, "offset");
    if (!json_is_string(topic) || !json_is_integer(partition) ||
        json_integer_value(partition) < 0 || json_integer_value(partition) > INT32_MAX ||
        json_string_length(topic) >= WINDOW_TOPIC_MAX)
        return false;
    if (!json_is_integer(offset) || json_integer_value(offset) < 0) return false;
    src->topic = json_string_value(topic);
    src->topic_len = json_string_length(topic);
    src->partition = (int32_t)json_integer_value(partition);
    src->offset = (int64_t)json_integer_value(offset);
    return true;
}

static void read_event(const struct window_event_reader *f, struct window_line *out)
{
    const json_t *key = json_object_get(out->doc, f->key_field);
    const json_t *time = json_object_get(out->doc, f->time_field);
    if (json_is_integer(key)) {
        out->key.num = (int64_t)json_integer_value(key);
    } else if (json_is_string(key) && json_string_length(key) < WINDOW_RESULT_KEY_MAX) {
        out->key.is_string = true;
        out->key.text = json_string_value(key);
        out->key.len = json_string_length(key);
    } else {
        bad(out, DLQ_SCHEMA_VIOLATION, f->key_field,
            key == NULL ? "%s: missing" : "%s: not an integer or a string of under 256 bytes",
            f->key_field);
        return;
    }
    if (time == NULL) {
        bad(out, DLQ_SCHEMA_VIOLATION, f->time_field, "%s: missing", f->time_field);
        return;
    }
    if (!json_is_string(time) ||
        event_time_parse(json_string_value(time), json_string_length(time), &out->event_ms) != 0) {
        bad(out, DLQ_SCHEMA_VIOLATION, f->time_field, "%s: not an RFC 3339 time", f->time_field);
        return;
    }
    for (size_t i = 0; i < f->spec->n_fields; i++) {
        const json_t *v = json_object_get(out->doc, f->spec->fields[i]);
        out->values[i] = json_is_number(v) ? json_number_value(v) : NAN;
    }
    out->kind = WINDOW_LINE_EVENT;
}

void window_line_parse_tree(struct window_event_reader *r, const char *line, size_t len,
                            struct window_line *out)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    out->doc = json_loadb(line, len, 0, &jerr);
    if (out->doc == NULL) {
        bad(out, DLQ_JSON_PARSE_ERROR, NULL, "not JSON: %s", jerr.text);
        return;
    }
    if (!json_is_object(out->doc)) {
        bad(out, DLQ_JSON_PARSE_ERROR, NULL, "%s", "not a JSON object");
        return;
    }
    const json_t *kafka = json_object_get(out->doc, "_kafka");
    if (kafka != NULL) out->has_source = read_coordinates(kafka, &out->source);
    const json_t *raw = json_object_get(out->doc, "_raw");
    if (raw != NULL) {
        bad(out, DLQ_JSON_PARSE_ERROR, NULL, "%s", "the Kafka message is not a JSON object");
        return;
    }
    read_event(r, out);
}

int window_event_reader_init(struct window_event_reader *r, const char *key_field,
                             const char *time_field, const struct agg_spec *spec)
{
    memset(r, 0, sizeof *r);
    r->key_field = key_field;
    r->time_field = time_field;
    r->spec = spec;
    ev_fields_init(&r->names);
    r->key_at = ev_fields_add(&r->names, key_field);
    r->time_at = ev_fields_add(&r->names, time_field);
    r->kafka_at = ev_fields_add(&r->names, "_kafka");
    r->raw_at = ev_fields_add(&r->names, "_raw");
    bool ok = r->key_at >= 0 && r->time_at >= 0 && r->kafka_at >= 0 && r->raw_at >= 0;
    r->event_at[r->n_event_at++] = r->key_at;
    if (r->time_at != r->key_at) r->event_at[r->n_event_at++] = r->time_at;
    for (size_t i = 0; i < spec->n_fields; i++) {
        r->value_at[i] = ev_fields_add(&r->names, spec->fields[i]);
        ok = ok && r->value_at[i] >= 0;
        if (r->value_at[i] != r->key_at && r->value_at[i] != r->time_at)
            r->event_at[r->n_event_at++] = r->value_at[i];
    }
    ev_fields_init(&r->coordinate_names);
    ev_fields_add(&r->coordinate_names, "topic");     /* 0 */
    ev_fields_add(&r->coordinate_names, "partition"); /* 1 */
    ev_fields_add(&r->coordinate_names, "offset");    /* 2 */
    return ok ? 0 : -1;
}

void window_event_reader_free(struct window_event_reader *r)
{
    sb_free(&r->key_scratch);
    sb_free(&r->time_scratch);
    sb_free(&r->topic_scratch);
}

/* The lean reading of a "_kafka" member; false when it is not the object
 * read_coordinates() accepts (the tree path then decides). */
static bool read_plain_coordinates(struct window_event_reader *r, const struct ev_value *kafka,
                                   struct window_source *src)
{
    struct ev_scan *scan = &r->coordinate_scan;
    if (kafka->kind != EV_OBJECT ||
        ev_scan(kafka->text, kafka->len, &r->coordinate_names, scan) != 0)
        return false;
    const struct ev_value *topic = &scan->value[0], *partition = &scan->value[1],
                          *offset = &scan->value[2];
    if (topic->kind != EV_STRING || partition->kind != EV_INTEGER || offset->kind != EV_INTEGER)
        return false;
    int64_t number = ev_integer(partition), at = ev_integer(offset);
    if (number < 0 || number > INT32_MAX || at < 0) return false;
    src->topic = ev_string(topic, &r->topic_scratch, &src->topic_len);
    if (src->topic_len >= WINDOW_TOPIC_MAX) return false;
    src->partition = (int32_t)number;
    src->offset = at;
    return true;
}

/* The first member of an event that the scanned line gives more than once
 * (the rule of event_reader.h), or NULL; its count into *count. */
static const char *repeated_event_member(const struct window_event_reader *r,
                                         const struct ev_scan *scan, uint32_t *count)
{
    for (size_t i = 0; i < r->n_event_at; i++) {
        const struct ev_value *v = &scan->value[r->event_at[i]];
        if (v->count > 1) {
            *count = v->count;
            return r->names.name[r->event_at[i]];
        }
    }
    return NULL;
}

/* The lean pass: true when out holds the line's reading, an event or a
 * record refused for a repeated member; false when the tree path decides. */
static bool read_plain_event(struct window_event_reader *r, const char *line, size_t len,
                             struct window_line *out)
{
    struct ev_scan *scan = &r->scan;
    if (ev_scan(line, len, &r->names, scan) != 0 || scan->top != EV_OBJECT ||
        scan->value[r->raw_at].kind != EV_ABSENT)
        return false;
    const struct ev_value *kafka = &scan->value[r->kafka_at];
    bool coordinates_read =
        kafka->kind == EV_ABSENT || read_plain_coordinates(r, kafka, &out->source);
    out->has_source = kafka->kind != EV_ABSENT && coordinates_read;
    uint32_t count;
    const char *repeated = repeated_event_member(r, scan, &count);
    if (repeated != NULL) {
        out->kind = WINDOW_LINE_BAD;
        out->error = DLQ_SCHEMA_VIOLATION;
        out->field = repeated;
        snprintf(out->reason, sizeof out->reason, "%s: given %u times", repeated, (unsigned)count);
        out->rule = "unique";
        return true;
    }
    if (!coordinates_read) return false;
    const struct ev_value *key = &scan->value[r->key_at];
    const struct ev_value *time = &scan->value[r->time_at];
    if (time->kind != EV_STRING) return false;
    if (key->kind == EV_INTEGER) {
        out->key.num = ev_integer(key);
    } else if (key->kind == EV_STRING) {
        out->key.is_string = true;
        out->key.num = 0;
        out->key.text = ev_string(key, &r->key_scratch, &out->key.len);
        if (out->key.len >= WINDOW_RESULT_KEY_MAX) return false;
    } else {
        return false;
    }
    size_t time_len;
    const char *time_text = ev_string(time, &r->time_scratch, &time_len);
    if (event_time_parse(time_text, time_len, &out->event_ms) != 0) return false;
    for (size_t i = 0; i < r->spec->n_fields; i++) {
        const struct ev_value *v = &scan->value[r->value_at[i]];
        out->values[i] = v->kind == EV_INTEGER || v->kind == EV_REAL ? ev_number(v) : NAN;
    }
    out->kind = WINDOW_LINE_EVENT;
    return true;
}

void window_line_parse(struct window_event_reader *r, const char *line, size_t len,
                       struct window_line *out)
{
    out->doc = NULL;
    out->has_source = false;
    out->key.is_string = false;
    if (read_plain_event(r, line, len, out)) return;
    window_line_parse_tree(r, line, len, out);
}

void window_line_clear(struct window_line *out)
{
    json_decref(out->doc);
    out->doc = NULL;
}
