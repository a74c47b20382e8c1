/* kafka_msg: the bytes of Kafka messages on their way to and from NDJSON
 * (SPEC section 5), with no librdkafka in sight so every rule here is tested
 * and fuzzed on plain buffers.
 *
 * Out of Kafka (sp-kcat-in), every message becomes exactly one line:
 *
 *   a JSON object without a raw newline:
 *     {"_kafka":{"topic":"events","partition":2,"offset":1234},<its members>}
 *     (the object's members, bytes unchanged)
 *   anything else that is valid UTF-8 (not JSON, a scalar, an array, an
 *   object spread over several lines):
 *     {"_kafka":{…},"_raw":"<the value as a JSON string>"}
 *   anything else (bytes that are not UTF-8), so that no byte is lost:
 *     {"_kafka":{…},"_raw_base64":"<the value in base64>"}
 *   a message with no value at all (a tombstone):
 *     {"_kafka":{…},"_raw":null}
 *
 * "A JSON object" is what the one record scanner accepts (event_reader.h),
 * which is what jansson loads, so sp-kcat-in passes exactly the objects the
 * programs after it can read. Whitespace around the object is dropped.
 *
 * Into Kafka (sp-kcat-out), the message key is read from one top-level member
 * of the line: a string member gives its decoded text, any other value its
 * JSON text as written (region_id 5 gives the key "5"). A line that lacks the
 * member, or breaks before it, has no key. The line is read up to the
 * member's first copy and no further: a line that gives it again, or breaks
 * after it, is keyed by that copy. No program counts such a record
 * (sp-validate and sp-window refuse a repeated member, see event_reader.h,
 * and a broken line), so the partition it lands in holds no state of its
 * key; looking further would cost sp-kcat-out a tenth of its throughput. */
#ifndef SP_KAFKA_MSG_H
#define SP_KAFKA_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event_reader.h"
#include "strbuf.h"

/* Append the _kafka member's value, {"topic":"events","partition":2,"offset":1234},
 * without a trailing comma. */
void kafka_coordinates_append(strbuf *sb, const char *topic, int32_t partition, int64_t offset);

/* Append the NDJSON line, with its '\n', that stands for one message (see the
 * rules at the top). value is NULL for a message without a value.
 * Returns true when the message was a JSON object, false when it was wrapped
 * as _raw or _raw_base64. */
bool kafka_msg_to_ndjson(strbuf *sb, const char *topic, int32_t partition, int64_t offset,
                         const void *value, size_t len);

/* What sp-kcat-out needs to read keys: the member's name and the scanner's
 * state, prepared once. */
struct kafka_key_reader {
    struct ev_fields field;
    struct ev_scan scan;
};

/* Prepare r to read the member called field. Returns 0, or -1 when the name
 * is longer than EVENT_READER_NAME_MAX - 1 bytes. */
int kafka_key_reader_init(struct kafka_key_reader *r, const char *field);

/* Append the key line[0..n) gives (see the top) to key. Returns true when
 * it gives one; false, with key untouched, when it has none. */
bool kafka_key_read(struct kafka_key_reader *r, const char *line, size_t n, strbuf *key);

#endif
