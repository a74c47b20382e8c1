/* fuzz_kafka_msg: any message value through lib/kafka_msg, with jansson as
 * the oracle.
 *
 * - The line written for it is always one JSON object whose first member is
 *   "_kafka"; the value is taken as an object exactly when jansson loads it
 *   as one (and it holds no newline), and then the other members are
 *   exactly the value's. The one allowed difference: a raw NUL byte, which
 *   jansson skips after a number or a literal and the scanner refuses.
 * - The key read from member "k" is the value jansson reads there, when it
 *   loads the line and "k" is given once (the key reader stops at the first
 *   copy and does not judge the line after it); when jansson has a "k", a
 *   key is read. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *value, size_t n)
{
    strbuf sb = STRBUF_INIT;
    bool as_object = kafka_msg_to_ndjson(&sb, "events", 3, 77, value, n);
    if (sb.len == 0 || sb.data[sb.len - 1] != '\n' ||
        memchr(sb.data, '\n', sb.len) != sb.data + sb.len - 1)
        abort();
    /* A _raw string may hold \u0000, valid JSON that jansson loads only so. */
    json_t *line = json_loadb(sb.data, sb.len, JSON_ALLOW_NUL, NULL);
    if (!line || !json_is_object(line)) abort();
    void *first = json_object_iter(line);
    if (!first || strcmp(json_object_iter_key(first), "_kafka") != 0) abort();

    json_t *orig = json_loadb(value, n, 0, NULL);
    bool jansson_object = json_is_object(orig) && !memchr(value, '\n', n);
    if (as_object != jansson_object && !memchr(value, '\0', n)) abort();
    if (as_object && !memmem(value, n, "_kafka", 6)) {
        json_object_del(line, "_kafka");
        if (!json_equal(orig, line)) abort();
    }
    json_decref(orig);
    json_decref(line);
    sb_free(&sb);
}

static void check_key(const char *value, size_t n)
{
    static struct kafka_key_reader reader;
    static bool ready;
    if (!ready && kafka_key_reader_init(&reader, "k") != 0) abort();
    ready = true;
    strbuf key = STRBUF_INIT;
    bool found = kafka_key_read(&reader, value, n, &key);
    json_t *doc = json_loadb(value, n, 0, NULL);
    const json_t *k = json_object_get(doc, "k");
    json_t *once = json_loadb(value, n, JSON_REJECT_DUPLICATES, NULL);
    if (found && once) {
        if (!k) abort();
        if (json_is_string(k)) {
            if (key.len != json_string_length(k) ||
                (key.len && memcmp(key.data, json_string_value(k), key.len) != 0))
                abort();
        } else {
            json_t *again = json_loadb(key.data, key.len, JSON_DECODE_ANY, NULL);
            if (!json_equal(again, k)) abort();
            json_decref(again);
        }
    } else if (!found && k && !memchr(value, '\0', n)) {
        abort(); /* jansson reads the line and "k" in it, yet no key */
    }
    json_decref(once);
    json_decref(doc);
    sb_free(&key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *value = (const char *)data;
    check_line(value, size);
    check_key(value, size);
    return 0;
}
