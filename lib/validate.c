/* validate: see validate.h. */
#include "validate.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "control_line.h"
#include "event_reader.h"

struct validator {
    schema *schema;
    struct ev_fields fields; /* the schema's names plus the Kafka members */
    int kafka, raw, raw_base64;
    struct ev_scan scan;

    struct ev_fields coordinate_fields; /* inside "_kafka" */
    int topic, partition, offset;
    struct ev_scan coordinate_scan;

    struct ev_fields no_fields; /* for judging a Kafka message's own bytes */
    struct ev_scan message_scan;

    struct schema_violation violation;
    strbuf reason;
    strbuf topic_text;
    strbuf message; /* a decoded _raw or _raw_base64 */
    strbuf scratch;
};

validator *validator_new(schema *s)
{
    validator *v = calloc(1, sizeof *v);
    if (!v) abort();
    v->schema = s;
    ev_fields_init(&v->fields);
    if (schema_bind(s, &v->fields) < 0) {
        free(v);
        return NULL;
    }
    v->kafka = ev_fields_add(&v->fields, "_kafka");
    v->raw = ev_fields_add(&v->fields, "_raw");
    v->raw_base64 = ev_fields_add(&v->fields, "_raw_base64");

    ev_fields_init(&v->coordinate_fields);
    v->topic = ev_fields_add(&v->coordinate_fields, "topic");
    v->partition = ev_fields_add(&v->coordinate_fields, "partition");
    v->offset = ev_fields_add(&v->coordinate_fields, "offset");
    ev_fields_init(&v->no_fields);
    return v;
}

void validator_free(validator *v)
{
    if (!v) return;
    sb_free(&v->violation.reason);
    sb_free(&v->reason);
    sb_free(&v->topic_text);
    sb_free(&v->message);
    sb_free(&v->scratch);
    free(v);
}

/* True when the member at index field is the first of the line's object. */
static bool is_first_member(const validator *v, int field)
{
    const struct ev_value *m = &v->scan.value[field];
    return m->kind != EV_ABSENT && m->position == 0;
}

/* Why text[0..len), which is not a JSON object on one line, is no event.
 * scan holds ev_scan's verdict on it (rc its return value). */
static const char *describe_non_event(validator *v, const char *text, size_t len,
                                      const struct ev_scan *scan, int rc, const char *what)
{
    strbuf *sb = &v->reason;
    sb_reset(sb);
    size_t blank = 0;
    while (blank < len && strchr(" \t\r\n", text[blank]) && text[blank] != '\0')
        blank++;
    if (len == 0)
        sb_printf(sb, "empty %s", what);
    else if (blank == len)
        sb_printf(sb, "blank %s", what);
    else if (rc < 0)
        sb_printf(sb, "%s at byte %zu", scan->error, scan->error_at + 1);
    else if (scan->top != EV_OBJECT)
        sb_printf(sb, "not a JSON object: %s", ev_kind_name(scan->top));
    else
        sb_printf(sb, "a JSON object spread over several lines");
    return sb->data;
}

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode standard padded base64 s[0..n) into out. Returns 0, or -1 when s
 * is not base64. */
static int base64_decode(const char *s, size_t n, strbuf *out)
{
    sb_reset(out);
    if (n % 4 != 0) return -1;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        size_t pad = last ? (s[n - 1] == '=') + (s[n - 2] == '=') : 0;
        uint32_t group = 0;
        for (size_t k = 0; k < 4; k++) {
            int d = k >= 4 - pad ? 0 : base64_value((unsigned char)s[i + k]);
            if (d < 0) return -1;
            group = group << 6 | (uint32_t)d;
        }
        char bytes[3] = {(char)(group >> 16), (char)(group >> 8), (char)group};
        sb_append(out, bytes, 3 - pad);
    }
    return 0;
}

/* The message sp-kcat-in wrapped in "_raw" or "_raw_base64", as the record's
 * original, and why it is no event. */
static void describe_wrapped_message(validator *v, struct dlq_record *rec)
{
    const struct ev_value *raw = &v->scan.value[v->raw];
    const struct ev_value *b64 = &v->scan.value[v->raw_base64];
    if (raw->kind == EV_NULL) {
        rec->original = "";
        rec->original_len = 0;
        rec->reason = "Kafka message without a value (a tombstone)";
        return;
    }
    const struct ev_value *wrapper = raw->kind != EV_ABSENT ? raw : b64;
    size_t n = 0;
    const char *text = wrapper->kind == EV_STRING ? ev_string(wrapper, &v->scratch, &n) : NULL;
    if (text && wrapper == raw) {
        sb_reset(&v->message);
        sb_append(&v->message, text, n);
    } else if (!text || base64_decode(text, n, &v->message) < 0) {
        rec->reason = "Kafka message whose _raw is not a string or whose _raw_base64 is not base64";
        return; /* the original stays the whole line */
    }
    rec->original = v->message.data ? v->message.data : "";
    rec->original_len = v->message.len;
    int rc = ev_scan(rec->original, rec->original_len, &v->no_fields, &v->message_scan);
    rec->reason = describe_non_event(v, rec->original, rec->original_len, &v->message_scan, rc,
                                     "Kafka message");
}

/* Fill src with the coordinates of a line whose first member is a
 * well-formed "_kafka"; leave it alone otherwise. */
static void kafka_source(validator *v, struct dlq_source *src)
{
    if (!is_first_member(v, v->kafka)) return;
    const struct ev_value *k = &v->scan.value[v->kafka];
    if (k->kind != EV_OBJECT) return;
    if (ev_scan(k->text, k->len, &v->coordinate_fields, &v->coordinate_scan) < 0) return;
    const struct ev_value *topic = &v->coordinate_scan.value[v->topic];
    const struct ev_value *partition = &v->coordinate_scan.value[v->partition];
    const struct ev_value *offset = &v->coordinate_scan.value[v->offset];
    if (topic->kind != EV_STRING || partition->kind != EV_INTEGER || offset->kind != EV_INTEGER)
        return;
    int64_t p = ev_integer(partition);
    if (p < 0 || p > INT32_MAX) return;
    /* a copy: scratch is reused by the checks that follow */
    size_t n;
    const char *name = ev_string(topic, &v->scratch, &n);
    sb_reset(&v->topic_text);
    sb_append(&v->topic_text, name, n);
    src->kafka_topic = v->topic_text.data;
    src->kafka_topic_len = v->topic_text.len;
    src->kafka_partition = (int32_t)p;
    src->kafka_offset = ev_integer(offset);
}

enum verdict validator_check(validator *v, const char *line, size_t len, uint64_t line_no,
                             struct dlq_record *rec)
{
    int rc = ev_scan(line, len, &v->fields, &v->scan);
    bool object = rc == 0 && v->scan.top == EV_OBJECT;
    if (object && control_line_kind(line, len) != CONTROL_NONE) return VERDICT_CONTROL;

    *rec = (struct dlq_record){0};
    rec->component = VALIDATE_COMPONENT;
    rec->source.line = line_no;
    rec->original = line;
    rec->original_len = len;
    if (!object) {
        rec->error = DLQ_JSON_PARSE_ERROR;
        rec->reason = describe_non_event(v, line, len, &v->scan, rc, "line");
        return VERDICT_DLQ;
    }
    bool wrapped = is_first_member(v, v->kafka) && (v->scan.value[v->raw].kind != EV_ABSENT ||
                                                    v->scan.value[v->raw_base64].kind != EV_ABSENT);
    if (wrapped) {
        rec->error = DLQ_JSON_PARSE_ERROR;
        describe_wrapped_message(v, rec);
    } else if (!schema_check(v->schema, &v->scan, &v->violation)) {
        rec->error = DLQ_SCHEMA_VIOLATION;
        rec->field = v->violation.field;
        rec->rule = v->violation.rule;
        rec->reason = v->violation.reason.data;
    } else {
        return VERDICT_EVENT;
    }
    kafka_source(v, &rec->source);
    return VERDICT_DLQ;
}

void validate_too_long(const char *line, size_t len, uint64_t line_no, struct dlq_record *rec)
{
    *rec = (struct dlq_record){0};
    rec->error = DLQ_LINE_TOO_LONG;
    rec->component = VALIDATE_COMPONENT;
    rec->reason = "line longer than 1 MiB";
    rec->source.line = line_no;
    rec->original = line;
    rec->original_len = len;
}
