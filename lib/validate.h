/* validate: what sp-validate does with one input line, without any I/O, so
 * every rule is unit-tested and fuzzed on plain buffers.
 *
 * A line is exactly one of:
 *   - an event that keeps the schema: it goes to stdout unchanged;
 *   - a control line ({"_kafka_assignment":…}, {"_kafka_restore":…},
 *     {"_kafka_revoke":…}: control_line.h, SPEC section 5): it goes to
 *     stdout unchanged and is not an event;
 *   - anything else: one DLQ record.
 * The DLQ record's error is:
 *   JSON_PARSE_ERROR  the line is empty or blank (nothing to validate is
 *                     still one input line, so it still gets one output),
 *                     is not JSON (the reason says what broke and at which
 *                     byte: invalid UTF-8 is one such break), or is JSON but
 *                     not an object; and a Kafka message sp-kcat-in could not
 *                     pass as an object: {"_kafka":{…},"_raw":"…"} (original
 *                     = the message), "_raw_base64" (original = the decoded
 *                     bytes) or "_raw":null (a tombstone, original empty);
 *   SCHEMA_VIOLATION  a valid object that breaks a rule; field names it;
 *   LINE_TOO_LONG     see validate_too_long().
 * Its source is the line number, or the Kafka coordinates when the line is a
 * JSON object whose first member is a well-formed
 * "_kafka":{"topic":…,"partition":…,"offset":…}. */
#ifndef SP_VALIDATE_H
#define SP_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "dlq.h"
#include "schema.h"

#define VALIDATE_COMPONENT "sp-validate"

enum verdict {
    VERDICT_EVENT,   /* a valid event: write the line */
    VERDICT_CONTROL, /* a control line: write it, count nothing */
    VERDICT_DLQ      /* write the DLQ record filled in */
};

typedef struct validator validator;

/* A validator that checks events against s (which it binds; s must outlive
 * the validator). Returns NULL when s names too many members. */
validator *validator_new(schema *s);
void validator_free(validator *v);

/* Judge line[0..len), line number line_no of its input. For VERDICT_DLQ,
 * fills *rec (processed_at 0, meaning now): its strings point into the line
 * or into the validator, valid until the next call. */
enum verdict validator_check(validator *v, const char *line, size_t len, uint64_t line_no,
                             struct dlq_record *rec);

/* Fill *rec for line[0..len), the first LINE_MAX_BYTES bytes of an
 * over-long line (its original is cut to DLQ_ORIGINAL_MAX by dlq_format). */
void validate_too_long(const char *line, size_t len, uint64_t line_no, struct dlq_record *rec);

#endif
