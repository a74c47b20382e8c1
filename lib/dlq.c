/* dlq: see dlq.h. */
#include "dlq.h"

#include <stdbool.h>
#include <string.h>

#include "event_time.h"
#include "clock.h"
#include "ndjson.h"

static const char *const error_names[DLQ_ERROR_COUNT] = {
    [DLQ_CSV_PARSE_ERROR] = "CSV_PARSE_ERROR",
    [DLQ_JSON_PARSE_ERROR] = "JSON_PARSE_ERROR",
    [DLQ_SCHEMA_VIOLATION] = "SCHEMA_VIOLATION",
    [DLQ_LINE_TOO_LONG] = "LINE_TOO_LONG",
    [DLQ_LATE_EVENT] = "LATE_EVENT",
    [DLQ_FUTURE_EVENT] = "FUTURE_EVENT",
};

const char *dlq_error_name(enum dlq_error e)
{
    return (unsigned)e < DLQ_ERROR_COUNT ? error_names[e] : "UNKNOWN";
}

/* Append ,"name": then the string value. */
static void member_string(strbuf *sb, const char *name, const char *value)
{
    sb_puts(sb, ",\"");
    sb_puts(sb, name);
    sb_puts(sb, "\":");
    ndjson_append_string(sb, value, strlen(value));
}

void dlq_format(strbuf *sb, const struct dlq_record *rec)
{
    sb_puts(sb, "{\"error_type\":\"");
    sb_puts(sb, dlq_error_name(rec->error));
    sb_putc(sb, '"');
    member_string(sb, "error_reason", rec->reason ? rec->reason : "");
    if (rec->field) member_string(sb, "field", rec->field);
    member_string(sb, "component", rec->component ? rec->component : "");

    char when[EVENT_TIME_TEXT_MAX];
    event_time_format_ms(rec->processed_at_ms ? rec->processed_at_ms : wallclock_ms(), when);
    member_string(sb, "processed_at", when);

    if (rec->source.kafka_topic) {
        sb_puts(sb, ",\"source\":{\"topic\":");
        ndjson_append_string(sb, rec->source.kafka_topic, rec->source.kafka_topic_len);
        sb_puts(sb, ",\"partition\":");
        sb_put_i64(sb, rec->source.kafka_partition);
        sb_puts(sb, ",\"offset\":");
        sb_put_i64(sb, rec->source.kafka_offset);
        sb_putc(sb, '}');
    } else {
        sb_puts(sb, ",\"source\":{\"line\":");
        sb_put_i64(sb, (int64_t)rec->source.line);
        sb_putc(sb, '}');
    }
    if (rec->extra_members && *rec->extra_members) {
        sb_putc(sb, ',');
        sb_puts(sb, rec->extra_members);
    }

    size_t len = rec->original_len;
    bool truncated = len > DLQ_ORIGINAL_MAX;
    if (truncated) {
        len = DLQ_ORIGINAL_MAX;
        /* Never cut a UTF-8 sequence in half: back up to a boundary. */
        while (len > DLQ_ORIGINAL_MAX - 4 && ((unsigned char)rec->original[len] & 0xC0) == 0x80)
            len--;
    }
    const char *orig = rec->original ? rec->original : "";
    ndjson_append_bytes_member(sb, "original", orig, len);
    if (truncated) sb_puts(sb, ",\"original_truncated\":true");
    sb_puts(sb, "}\n");
}
