/* Unit tests of lib/kafka_msg. The oracle is jansson, an independent JSON
 * parser: a message is an object when it loads one, every line written must
 * load with it, and the members around "_kafka" must be the message's own. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_msg.h"
#include "unit.h"

/* What jansson says about s: 1 it is an object, 0 it is some other value,
 * -1 it is not JSON. */
static int jansson_kind(const char *s, size_t n)
{
    json_error_t err;
    json_t *v = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!v) return -1;
    int kind = json_is_object(v) ? 1 : 0;
    json_decref(v);
    return kind;
}

static const char *const samples[] = {
    "{}",
    " { } ",
    "{\"a\":1}",
    "{\"a\":[1,2,{\"b\":null}],\"c\":true,\"d\":false}",
    "{\"trip_id\":\"trip_000001\",\"region_id\":5,\"fare\":73.79,\"distance\":23.0}",
    "{\"e\":-0.5e+10,\"f\":0,\"g\":1E-3}",
    "{\"s\":\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude95 \\n\\\"\"}",
    "[1,2]",
    "\"x\"",
    "5",
    "null",
    "true",
    "",
    "   ",
    "{",
    "}",
    "{\"a\"}",
    "{\"a\":}",
    "{\"a\":1,}",
    "{,}",
    "{\"a\":1 \"b\":2}",
    "{'a':1}",
    "{\"a\":01}",
    "{\"a\":1.}",
    "{\"a\":.5}",
    "{\"a\":-}",
    "{\"a\":1e}",
    "{\"a\":+1}",
    "{\"a\":tru}",
    "{\"a\":nul}",
    "{\"a\":\"\x01\"}",
    "{\"a\":\"\x1f\"}",
    "{\"a\":\"\x7f\"}",
    "{\"a\":\"\\x\"}",
    "{\"a\":\"\\u12g4\"}",
    "{\"a\":\"\\ud800\"}",
    "{\"a\":\"\\udc00\"}",
    "{\"a\":\"\\ud800\\u0041\"}",
    "{\"a\":\"\xff\"}",
    "{\"a\":\"\xc0\xaf\"}",
    "{\"a\":\"\xed\xa0\x80\"}",
    "{\"a\":1}x",
    "{\"a\":1}{}",
    "{\"a\":[1,2}",
    "{\"a\":[1,2]]}",
    "{1:2}",
    "{\"a\":\"unterminated}",
    "not json",
    "{\"a\":[]}",
    "{\"a\":{}}",
    "[[[]]]",
};

/* A message is passed as an object exactly when jansson loads it as one. */
TEST(objects_are_what_jansson_loads)
{
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        const char *s = samples[i];
        strbuf sb = STRBUF_INIT;
        if (kafka_msg_to_ndjson(&sb, "t", 0, 0, s, strlen(s)) !=
            (jansson_kind(s, strlen(s)) == 1)) {
            fprintf(stderr, "disagrees with jansson on: %s\n", s);
            CHECK(0);
        }
        sb_free(&sb);
    }
}

/* {"a":{"a":...1...}}, depth objects deep; free() it. */
static char *nested_objects(size_t depth)
{
    char *s = malloc(6 * depth + 2);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++) {
        memcpy(s + n, "{\"a\":", 5);
        n += 5;
    }
    s[n++] = '1';
    memset(s + n, '}', depth);
    s[n + depth] = '\0';
    return s;
}

/* The nesting bound is jansson's (2048), the one of every later program: an
 * object 1500 deep used to become _raw here (a bound of 1024) although
 * sp-validate reads it, and sp-validate then called it "spread over several
 * lines". */
TEST(nesting_bound_is_jansson_s)
{
    strbuf sb = STRBUF_INIT;
    char *deep = nested_objects(1500);
    CHECK_INT(jansson_kind(deep, strlen(deep)), 1);
    CHECK(kafka_msg_to_ndjson(&sb, "t", 0, 0, deep, strlen(deep)));
    free(deep);
    char *too_deep = nested_objects(EVENT_READER_MAX_DEPTH + 1);
    CHECK_INT(jansson_kind(too_deep, strlen(too_deep)), -1);
    sb_reset(&sb);
    CHECK(!kafka_msg_to_ndjson(&sb, "t", 0, 0, too_deep, strlen(too_deep)));
    free(too_deep);
    sb_free(&sb);
}

/* The line written for value must be one JSON object, with '\n' at its end
 * only, whose first member is _kafka with these coordinates. Returns it. */
static json_t *load_line(const strbuf *sb, const char *topic, int partition, long long offset)
{
    CHECK(sb->len > 0 && sb->data[sb->len - 1] == '\n');
    CHECK(memchr(sb->data, '\n', sb->len) == sb->data + sb->len - 1);
    json_error_t err;
    json_t *doc = json_loadb(sb->data, sb->len, JSON_ALLOW_NUL, &err);
    CHECK(json_is_object(doc));
    void *first = json_object_iter(doc);
    CHECK_STR(first ? json_object_iter_key(first) : NULL, "_kafka");
    json_t *k = json_object_get(doc, "_kafka");
    CHECK_STR(json_string_value(json_object_get(k, "topic")), topic);
    CHECK_INT(json_integer_value(json_object_get(k, "partition")), partition);
    CHECK_INT(json_integer_value(json_object_get(k, "offset")), offset);
    CHECK_INT(json_object_size(k), 3);
    return doc;
}

TEST(object_gets_kafka_first_and_keeps_its_members)
{
    const char *value = "{\"trip_id\":\"t1\",\"region_id\":5,\"fare\":73.79}";
    strbuf sb = STRBUF_INIT;
    CHECK(kafka_msg_to_ndjson(&sb, "events", 2, 1234, value, strlen(value)));
    json_t *doc = load_line(&sb, "events", 2, 1234);
    json_t *orig = json_loads(value, 0, NULL);
    json_object_del(doc, "_kafka");
    CHECK(json_equal(doc, orig));
    /* The members' bytes follow the coordinates unchanged. */
    CHECK(strstr(sb.data, value + 1) != NULL);
    json_decref(doc);
    json_decref(orig);
    sb_free(&sb);
}

TEST(empty_object_and_surrounding_whitespace)
{
    strbuf sb = STRBUF_INIT;
    CHECK(kafka_msg_to_ndjson(&sb, "t", 0, 0, " {}\r\n", 3));
    json_t *doc = load_line(&sb, "t", 0, 0);
    CHECK_INT(json_object_size(doc), 1);
    json_decref(doc);
    sb_reset(&sb);
    CHECK(kafka_msg_to_ndjson(&sb, "t", 0, 7, "\t{ \"a\" : 1 }\r ", 14));
    doc = load_line(&sb, "t", 0, 7);
    CHECK_INT(json_integer_value(json_object_get(doc, "a")), 1);
    json_decref(doc);
    sb_free(&sb);
}

/* value must come out as "_raw" holding exactly its bytes. */
static void check_raw(const char *value, size_t len)
{
    strbuf sb = STRBUF_INIT;
    CHECK(!kafka_msg_to_ndjson(&sb, "events", 1, 9, value, len));
    json_t *doc = load_line(&sb, "events", 1, 9);
    json_t *raw = json_object_get(doc, "_raw");
    CHECK(json_is_string(raw));
    CHECK(json_string_length(raw) == len && memcmp(json_string_value(raw), value, len) == 0);
    CHECK_INT(json_object_size(doc), 2);
    json_decref(doc);
    sb_free(&sb);
}

TEST(non_objects_become_raw)
{
    check_raw("not json", 8);
    check_raw("[1,2]", 5);
    check_raw("42", 2);
    check_raw("", 0);
    check_raw("{\"a\":\n1}", 8); /* a valid object, but spread over two lines */
    check_raw("{\"a\":1}\n", 8);
    check_raw("{\"a\":\"x\0y\"}", 11); /* a raw NUL inside a string */
    check_raw("{\"broken\":", 10);
}

TEST(non_utf8_becomes_base64)
{
    strbuf sb = STRBUF_INIT;
    /* RFC 4648 section 10: "foob" is Zm9vYg==; here with a byte that is not UTF-8. */
    CHECK(!kafka_msg_to_ndjson(&sb, "events", 0, 1,
                               "\xff"
                               "foob",
                               5));
    json_t *doc = load_line(&sb, "events", 0, 1);
    CHECK_STR(json_string_value(json_object_get(doc, "_raw_base64")), "/2Zvb2I=");
    CHECK(json_object_get(doc, "_raw") == NULL);
    json_decref(doc);
    sb_free(&sb);
}

TEST(tombstone_is_raw_null)
{
    strbuf sb = STRBUF_INIT;
    CHECK(!kafka_msg_to_ndjson(&sb, "events", 3, 5, NULL, 0));
    json_t *doc = load_line(&sb, "events", 3, 5);
    CHECK(json_is_null(json_object_get(doc, "_raw")));
    json_decref(doc);
    sb_free(&sb);
}

TEST(topic_name_is_escaped)
{
    strbuf sb = STRBUF_INIT;
    kafka_msg_to_ndjson(&sb, "we\"ird", 0, 0, "{}", 2);
    json_t *doc = load_line(&sb, "we\"ird", 0, 0);
    json_decref(doc);
    sb_free(&sb);
}

/* The key of field in line, or NULL when there is none (static buffer). */
static const char *key_of(const char *line, const char *field)
{
    static char out[256];
    static struct kafka_key_reader reader;
    strbuf sb = STRBUF_INIT;
    CHECK_INT(kafka_key_reader_init(&reader, field), 0);
    bool found = kafka_key_read(&reader, line, strlen(line), &sb);
    snprintf(out, sizeof out, "%s", found ? sb.data : "");
    sb_free(&sb);
    return found ? out : NULL;
}

TEST(key_from_member)
{
    const char *line = "{\"trip_id\":\"trip_1\",\"nested\":{\"region_id\":9},\"region_id\":5}";
    CHECK_STR(key_of(line, "region_id"), "5");
    CHECK_STR(key_of(line, "trip_id"), "trip_1");
    CHECK(key_of(line, "fare") == NULL);
    CHECK_STR(key_of("{\"k\":\"a\\u00e9\\\"b\"}", "k"), "a\xc3\xa9\"b");
    CHECK_STR(key_of("{\"k\\u0031\":\"x\"}", "k1"), "x"); /* an escaped member name */
    CHECK_STR(key_of("{ \"k\" : -1.5e3 }", "k"), "-1.5e3");
    CHECK_STR(key_of("{\"k\":[1, 2]}", "k"), "[1, 2]");
    CHECK_STR(key_of("{\"k\":\"\\ud83d\\ude95\"}", "k"), "\xf0\x9f\x9a\x95");
    CHECK(key_of("[{\"k\":1}]", "k") == NULL);
    CHECK(key_of("{\"a\":1 \"k\":2}", "k") == NULL);
    CHECK(key_of("not json", "k") == NULL);
    CHECK(key_of("", "k") == NULL);
    CHECK(key_of("{\"a\":1,,\"k\":2}", "k") == NULL); /* broken before the member */
    CHECK_STR(key_of("{\"k\":1,}", "k"), "1");        /* broken after it: sp-validate's business */
}

/* A repeated key member: keyed by its first copy, the line read no further
 * (no program counts such a record: see kafka_msg.h). */
TEST(key_is_the_first_copy)
{
    const char *line = "{\"trip_id\":\"d9\",\"region_id\":9,\"fare\":1,\"region_id\":59}";
    CHECK_STR(key_of(line, "region_id"), "9");
    CHECK_STR(key_of(line, "trip_id"), "d9");
    CHECK_STR(key_of("{\"k\":1,\"a\":{\"k\":2}}", "k"), "1");
}

/* A key name that does not fit the scanner's field set is refused up front. */
TEST(overlong_key_name_is_refused)
{
    struct kafka_key_reader reader;
    char name[EVENT_READER_NAME_MAX + 1];
    memset(name, 'k', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    CHECK_INT(kafka_key_reader_init(&reader, name), -1);
    name[EVENT_READER_NAME_MAX - 1] = '\0';
    CHECK_INT(kafka_key_reader_init(&reader, name), 0);
}

/* The decoded key agrees with jansson's reading of the same string. */
TEST(key_decoding_agrees_with_jansson)
{
    const char *line = "{\"k\":\"tab\\t nl\\n sl\\/ bs\\\\ q\\\" u\\u0041 b\\b f\\f r\\r\"}";
    json_t *doc = json_loads(line, 0, NULL);
    CHECK_STR(key_of(line, "k"), json_string_value(json_object_get(doc, "k")));
    json_decref(doc);
}

int main(void)
{
    RUN(objects_are_what_jansson_loads);
    RUN(nesting_bound_is_jansson_s);
    RUN(object_gets_kafka_first_and_keeps_its_members);
    RUN(empty_object_and_surrounding_whitespace);
    RUN(non_objects_become_raw);
    RUN(non_utf8_becomes_base64);
    RUN(tombstone_is_raw_null);
    RUN(topic_name_is_escaped);
    RUN(key_from_member);
    RUN(key_decoding_agrees_with_jansson);
    RUN(key_is_the_first_copy);
    RUN(overlong_key_name_is_refused);
    RETURN_SUMMARY();
}
