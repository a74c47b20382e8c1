/* dlq: the dead-letter record of SPEC section 4, defined here and nowhere else.
 *
 *   {"error_type":"SCHEMA_VIOLATION","error_reason":"…","field":"region_id",
 *    "component":"sp-validate","processed_at":"…Z","source":{"line":14},
 *    "original":"<the input line>"}
 *
 * A line that is not valid UTF-8 carries "original_base64" instead of
 * "original", so no byte is lost. An original longer than DLQ_ORIGINAL_MAX
 * (only LINE_TOO_LONG records have one) keeps its first DLQ_ORIGINAL_MAX
 * bytes and says "original_truncated":true, so a DLQ record always fits
 * within the line limit of the next program. */
#ifndef SP_DLQ_H
#define SP_DLQ_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define DLQ_ORIGINAL_MAX (64 * 1024)

enum dlq_error {
    DLQ_CSV_PARSE_ERROR,
    DLQ_JSON_PARSE_ERROR,
    DLQ_SCHEMA_VIOLATION,
    DLQ_LINE_TOO_LONG,
    DLQ_LATE_EVENT,
    DLQ_FUTURE_EVENT,
    DLQ_ERROR_COUNT
};

/* "SCHEMA_VIOLATION" and so on. */
const char *dlq_error_name(enum dlq_error e);

/* Where the bad record came from: a line of a file or pipe, or, when
 * kafka_topic is not NULL, a Kafka message. The topic is kafka_topic_len
 * bytes, not NUL-terminated (it usually points into the input line). */
struct dlq_source {
    uint64_t line;
    const char *kafka_topic;
    size_t kafka_topic_len;
    int32_t kafka_partition;
    int64_t kafka_offset;
};

struct dlq_record {
    enum dlq_error error;
    const char *reason;    /* human-readable, names the value and the rule */
    const char *field;     /* the offending field, or NULL */
    const char *rule;      /* the schema rule broken ("maximum"), or NULL; not
                              written: it groups the records by cause (loss.h) */
    const char *component; /* "sp-validate" */
    struct dlq_source source;
    const char *original; /* the input line, without its newline */
    size_t original_len;
    const char *extra_members; /* pre-formatted members ("\"windowStart\":…"), or NULL */
    int64_t processed_at_ms;   /* wall clock; 0 means now */
};

/* Append the record as one JSON line, with its '\n', to sb. */
void dlq_format(strbuf *sb, const struct dlq_record *rec);

#endif
