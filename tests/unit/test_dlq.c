/* Unit tests of lib/dlq: every record is read back with jansson. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dlq.h"
#include "unit.h"

static json_t *format_and_load(const struct dlq_record *rec, strbuf *sb)
{
    sb_reset(sb);
    dlq_format(sb, rec);
    CHECK(sb->len > 0 && sb->data[sb->len - 1] == '\n');
    CHECK(memchr(sb->data, '\n', sb->len) == sb->data + sb->len - 1); /* one line */
    return json_loadb(sb->data, sb->len, 0, NULL);
}

TEST(schema_violation_record)
{
    strbuf sb = STRBUF_INIT;
    const char line[] = "{\"region_id\":999}";
    struct dlq_record rec = {.error = DLQ_SCHEMA_VIOLATION,
                             .reason = "region_id: 999 is above the maximum 100",
                             .field = "region_id",
                             .component = "sp-validate",
                             .source = {.line = 14},
                             .original = line,
                             .original_len = sizeof line - 1,
                             .processed_at_ms = 1795608000123LL};
    json_t *v = format_and_load(&rec, &sb);
    CHECK(v != NULL);
    CHECK_STR(json_string_value(json_object_get(v, "error_type")), "SCHEMA_VIOLATION");
    CHECK_STR(json_string_value(json_object_get(v, "field")), "region_id");
    CHECK_STR(json_string_value(json_object_get(v, "component")), "sp-validate");
    CHECK_STR(json_string_value(json_object_get(v, "processed_at")), "2026-11-25T12:00:00.123Z");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(v, "source"), "line")), 14);
    CHECK_STR(json_string_value(json_object_get(v, "original")), line);
    CHECK(strncmp(sb.data, "{\"error_type\":", 14) == 0); /* SPEC member order */
    json_decref(v);
    sb_free(&sb);
}

TEST(kafka_source_and_extra_members)
{
    strbuf sb = STRBUF_INIT;
    struct dlq_record rec = {.error = DLQ_LATE_EVENT,
                             .reason = "late",
                             .component = "sp-window",
                             .source = {.kafka_topic = "events!",
                                        .kafka_topic_len = 6, /* not NUL-terminated */
                                        .kafka_partition = 2,
                                        .kafka_offset = 1234},
                             .original = "{}",
                             .original_len = 2,
                             .extra_members = "\"windowStart\":\"2025-08-31T08:00:00Z\""};
    json_t *v = format_and_load(&rec, &sb);
    json_t *src = json_object_get(v, "source");
    CHECK_STR(json_string_value(json_object_get(src, "topic")), "events");
    CHECK_INT(json_integer_value(json_object_get(src, "partition")), 2);
    CHECK_INT(json_integer_value(json_object_get(src, "offset")), 1234);
    CHECK_STR(json_string_value(json_object_get(v, "windowStart")), "2025-08-31T08:00:00Z");
    CHECK(json_object_get(v, "field") == NULL);
    json_decref(v);
    sb_free(&sb);
}

TEST(invalid_utf8_goes_base64)
{
    strbuf sb = STRBUF_INIT;
    const char bytes[] = "{\"trip_id\":\"\xff\xfe\"}";
    struct dlq_record rec = {.error = DLQ_JSON_PARSE_ERROR,
                             .reason = "not UTF-8",
                             .component = "sp-validate",
                             .source = {.line = 1},
                             .original = bytes,
                             .original_len = sizeof bytes - 1};
    json_t *v = format_and_load(&rec, &sb);
    CHECK(json_object_get(v, "original") == NULL);
    /* base64 of the 17 bytes, computed with: printf '{"trip_id":"\xff\xfe"}' | base64 */
    CHECK_STR(json_string_value(json_object_get(v, "original_base64")), "eyJ0cmlwX2lkIjoi//4ifQ==");
    json_decref(v);
    sb_free(&sb);
}

TEST(long_original_is_truncated)
{
    strbuf sb = STRBUF_INIT;
    size_t n = DLQ_ORIGINAL_MAX * 3;
    char *big = malloc(n);
    memset(big, 'a', n);
    struct dlq_record rec = {.error = DLQ_LINE_TOO_LONG,
                             .reason = "too long",
                             .component = "sp-validate",
                             .source = {.line = 2},
                             .original = big,
                             .original_len = n};
    json_t *v = format_and_load(&rec, &sb);
    CHECK_INT(json_string_length(json_object_get(v, "original")), DLQ_ORIGINAL_MAX);
    CHECK(json_is_true(json_object_get(v, "original_truncated")));
    json_decref(v);
    free(big);
    sb_free(&sb);
}

int main(void)
{
    RUN(schema_violation_record);
    RUN(kafka_source_and_extra_members);
    RUN(invalid_utf8_goes_base64);
    RUN(long_original_is_truncated);
    RETURN_SUMMARY();
}
