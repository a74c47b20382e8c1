/* kafka_msg: the bytes of Kafka messages on their way to and from NDJSON
 * (SPEC section 5), with no librdkafka in sight so every rule here is tested
 * and fuzzed on plain buffers.
 *
 * Out of Kafka (sp-kcat-in), every message becomes exactly one line:
 *
 *   a JSON object without a raw newline:
 *     {"_kafka":{"topic":"events","partition":2,"offset":1234},<the object's members, bytes
 * unchanged>} anything else that is valid UTF-8 (not JSON, a scalar, an array, an object spread
 * over several lines):
 *     {"_kafka":{…},"_raw":"<the value as a JSON string>"}
 *   anything else (bytes that are not UTF-8), so that no byte is lost:
 *     {"_kafka":{…},"_raw_base64":"<the value in base64>"}
 *   a message with no value at all (a tombstone):
 *     {"_kafka":{…},"_raw":null}
 *
 * "A JSON object" means what jansson would load (RFC 8259, UTF-8 only, at
 * most KAFKA_MSG_MAX_DEPTH levels of nesting); the only thing jansson refuses
 * that this module accepts is a number too large for a C long long or double,
 * which is still valid JSON. Whitespace around the object is dropped.
 *
 * Into Kafka (sp-kcat-out), the message key is read from one top-level member
 * of the line: a string member gives its decoded text, any other value its
 * JSON text as written (region_id 5 gives the key "5"). */
#ifndef SP_KAFKA_MSG_H
#define SP_KAFKA_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* Deeper nesting than this is not taken for a JSON object (it becomes _raw). */
#define KAFKA_MSG_MAX_DEPTH 1024

/* True when s[0..n) is exactly one JSON value, with optional whitespace
 * around it. */
bool kafka_msg_is_json(const char *s, size_t n);

/* True when s[0..n) is exactly one JSON object, with optional whitespace
 * around it. */
bool kafka_msg_is_object(const char *s, size_t n);

/* Append the _kafka member's value, {"topic":"events","partition":2,"offset":1234},
 * without a trailing comma. */
void kafka_coordinates_append(strbuf *sb, const char *topic, int32_t partition, int64_t offset);

/* Append the NDJSON line, with its '\n', that stands for one message (see the
 * rules at the top). value is NULL for a message without a value.
 * Returns true when the message was a JSON object, false when it was wrapped
 * as _raw or _raw_base64. */
bool kafka_msg_to_ndjson(strbuf *sb, const char *topic, int32_t partition, int64_t offset,
                         const void *value, size_t len);

/* Find the top-level member called field (field_len bytes) of the JSON object
 * in line[0..n) and append the key it gives (see the top) to key.
 * Returns true when found; false, with key untouched, when the line is not an
 * object, has no such member, or breaks before reaching it. Members after the
 * one found are not checked. */
bool kafka_msg_key(const char *line, size_t n, const char *field, size_t field_len, strbuf *key);

#endif
