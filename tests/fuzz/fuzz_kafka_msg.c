/* fuzz_kafka_msg: any message value through lib/kafka_msg, with jansson as
 * the oracle.
 *
 * - The line written for it is always one JSON object whose first member is
 *   "_kafka"; when the value was taken as an object, the other members are
 *   exactly the value's.
 * - The scanner accepts what jansson accepts, and refuses what it refuses,
 *   except numbers too large for jansson, member names holding \u0000
 *   (valid JSON that jansson refuses), nesting near the depth bounds and a
 *   NUL byte after the value (jansson takes it for the end of input).
 * - The key read from member "k" is the string jansson reads there. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t bracket_depth(const char *s, size_t n)
{
    size_t depth = 0, max = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '[' || s[i] == '{')
            depth++;
        else if ((s[i] == ']' || s[i] == '}') && depth)
            depth--;
        if (depth > max) max = depth;
    }
    return max;
}

/* Valid JSON that jansson cannot load: the oracle has nothing to say. */
static bool beyond_jansson(const json_error_t *err)
{
    enum json_error_code code = json_error_code(err);
    return code == json_error_numeric_overflow || code == json_error_null_byte_in_key;
}

static void check_line(const char *value, size_t n)
{
    strbuf sb = STRBUF_INIT;
    bool as_object = kafka_msg_to_ndjson(&sb, "events", 3, 77, value, n);
    if (sb.len == 0 || sb.data[sb.len - 1] != '\n' ||
        memchr(sb.data, '\n', sb.len) != sb.data + sb.len - 1)
        abort();
    json_error_t err;
    json_t *line = json_loadb(sb.data, sb.len, JSON_ALLOW_NUL, &err);
    if (!line && as_object && beyond_jansson(&err)) {
        sb_free(&sb);
        return;
    }
    if (!line || !json_is_object(line)) abort();
    void *first = json_object_iter(line);
    if (!first || strcmp(json_object_iter_key(first), "_kafka") != 0) abort();
    if (as_object && !memmem(value, n, "_kafka", 6)) {
        json_t *orig = json_loadb(value, n, JSON_ALLOW_NUL, &err);
        json_object_del(line, "_kafka");
        /* Huge numbers load in neither; otherwise the members must match. */
        if (orig && !json_equal(orig, line)) abort();
        json_decref(orig);
    }
    json_decref(line);
    sb_free(&sb);
}

static void check_scanner(const char *value, size_t n)
{
    json_error_t err;
    json_t *v = json_loadb(value, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    bool ours = kafka_msg_is_json(value, n);
    bool near_depth_bound = bracket_depth(value, n) >= KAFKA_MSG_MAX_DEPTH - 1;
    /* jansson stops reading at a NUL byte after the value; JSON has none. */
    bool nul = memchr(value, '\0', n) != NULL;
    if (v && !ours && !near_depth_bound && !nul) abort();
    if (!v && ours && !beyond_jansson(&err) && json_error_code(&err) != json_error_stack_overflow)
        abort();
    json_decref(v);
}

static size_t occurrences(const char *s, size_t n, const char *needle)
{
    size_t count = 0, len = strlen(needle);
    for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), needle, len)); p += len)
        count++;
    return count;
}

static void check_key(const char *value, size_t n)
{
    strbuf key = STRBUF_INIT;
    bool found = kafka_msg_key(value, n, "k", 1, &key);
    json_t *v = json_loadb(value, n, JSON_ALLOW_NUL, NULL);
    const json_t *k = json_object_get(v, "k");
    /* Compared only when "k" can appear once: jansson keeps the last of
     * duplicate members, the key reader the first. */
    bool single = occurrences(value, n, "\"k\"") == 1 && !memmem(value, n, "\\u", 2);
    if (single && json_is_string(k)) {
        if (!found || key.len != json_string_length(k) ||
            (key.len && memcmp(key.data, json_string_value(k), key.len) != 0))
            abort();
    }
    json_decref(v);
    sb_free(&key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *value = (const char *)data;
    check_line(value, size);
    check_scanner(value, size);
    check_key(value, size);
    return 0;
}
