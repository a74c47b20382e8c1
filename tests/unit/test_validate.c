/* Unit tests of lib/validate: the verdict on each kind of line, and the DLQ
 * record it fills, read back through dlq_format and jansson. */
#include <jansson.h>
#include <string.h>

#include "validate.h"
#include "unit.h"

static const char valid_event[] = "{\"trip_id\":\"trip_000001\",\"region_id\":5,\"event_time\":"
                                  "\"2025-08-31T08:00:02Z\",\"fare\":73.79,\"duration\":2113,"
                                  "\"distance\":23.0}";

static schema *s;
static validator *v;

static void setup(void)
{
    char err[256];
    const char *text = schema_default_text();
    s = schema_parse(text, strlen(text), err, sizeof err);
    v = validator_new(s);
}

static void teardown(void)
{
    validator_free(v);
    schema_free(s);
}

/* The DLQ record for line, as a jansson object (NULL when the verdict was
 * not VERDICT_DLQ). */
static json_t *dlq_of(const char *line, size_t len, uint64_t line_no)
{
    struct dlq_record rec;
    if (validator_check(v, line, len, line_no, &rec) != VERDICT_DLQ) return NULL;
    strbuf sb = STRBUF_INIT;
    dlq_format(&sb, &rec);
    json_t *j = json_loadb(sb.data, sb.len, 0, NULL);
    sb_free(&sb);
    return j;
}

static const char *member(const json_t *j, const char *name)
{
    return json_string_value(json_object_get(j, name));
}

TEST(valid_event_passes)
{
    setup();
    struct dlq_record rec;
    CHECK_INT(validator_check(v, valid_event, strlen(valid_event), 1, &rec), VERDICT_EVENT);
    teardown();
}

TEST(control_line_passes)
{
    setup();
    struct dlq_record rec;
    const char line[] = "{\"_kafka_assignment\":[{\"topic\":\"events\",\"partition\":0}]}";
    CHECK_INT(validator_check(v, line, strlen(line), 1, &rec), VERDICT_CONTROL);
    /* Not first: an ordinary object, which then lacks every field. */
    const char late[] = "{\"a\":1,\"_kafka_assignment\":[]}";
    CHECK_INT(validator_check(v, late, strlen(late), 1, &rec), VERDICT_DLQ);
    teardown();
}

TEST(parse_errors)
{
    setup();
    static const struct {
        const char *line;
        const char *reason;
    } cases[] = {
        {"", "empty line"},
        {" \t\r", "blank line"},
        {"[1,2]", "not a JSON object: an array"},
        {"42", "not a JSON object: an integer"},
        {"\"s\"", "not a JSON object: a string"},
        {"null", "not a JSON object: null"},
        {"{\"trip_id\":\"t", "unterminated string at byte 14"},
        {"{\"a\":1}}", "unexpected data after the JSON value at byte 8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *j = dlq_of(cases[i].line, strlen(cases[i].line), 7);
        CHECK(j != NULL);
        if (!j) continue;
        CHECK_STR(member(j, "error_type"), "JSON_PARSE_ERROR");
        CHECK_STR(member(j, "error_reason"), cases[i].reason);
        CHECK_STR(member(j, "component"), "sp-validate");
        CHECK_STR(member(j, "original"), cases[i].line);
        CHECK(json_object_get(j, "field") == NULL);
        CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "source"), "line")), 7);
        json_decref(j);
    }
    teardown();
}

TEST(invalid_utf8_keeps_every_byte)
{
    setup();
    const char line[] = "{\"trip_id\":\"\xff\xfe\"}";
    json_t *j = dlq_of(line, sizeof line - 1, 3);
    CHECK(j != NULL);
    CHECK_STR(member(j, "error_reason"), "invalid UTF-8 at byte 13");
    CHECK(json_object_get(j, "original") == NULL);
    CHECK_STR(member(j, "original_base64"), "eyJ0cmlwX2lkIjoi//4ifQ==");
    json_decref(j);
    teardown();
}

TEST(schema_violation_names_field)
{
    setup();
    const char line[] =
        "{\"trip_id\":\"t\",\"region_id\":999,\"event_time\":\"2025-08-31T08:00:02Z\","
        "\"fare\":1,\"duration\":100,\"distance\":1}";
    json_t *j = dlq_of(line, strlen(line), 14);
    CHECK_STR(member(j, "error_type"), "SCHEMA_VIOLATION");
    CHECK_STR(member(j, "field"), "region_id");
    CHECK_STR(member(j, "error_reason"), "region_id: 999 is above the maximum 100");
    CHECK_STR(member(j, "original"), line);
    json_decref(j);
    teardown();
}

TEST(kafka_coordinates_are_the_source)
{
    setup();
    const char line[] = "{\"_kafka\":{\"topic\":\"ev\\u0065nts\",\"partition\":2,\"offset\":1234},"
                        "\"trip_id\":\"t\"}";
    json_t *j = dlq_of(line, strlen(line), 9);
    const json_t *src = json_object_get(j, "source");
    CHECK_STR(member(src, "topic"), "events");
    CHECK_INT(json_integer_value(json_object_get(src, "partition")), 2);
    CHECK_INT(json_integer_value(json_object_get(src, "offset")), 1234);
    CHECK(json_object_get(src, "line") == NULL);
    CHECK_STR(member(j, "error_reason"), "region_id: missing");
    json_decref(j);
    /* _kafka not first, or malformed: the line number stays the source. */
    const char second[] =
        "{\"trip_id\":\"t\",\"_kafka\":{\"topic\":\"e\",\"partition\":2,\"offset\":1}}";
    const char broken[] = "{\"_kafka\":{\"topic\":\"e\",\"partition\":-1,\"offset\":1}}";
    const char *lines[] = {second, broken};
    for (int i = 0; i < 2; i++) {
        j = dlq_of(lines[i], strlen(lines[i]), 9);
        CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "source"), "line")), 9);
        json_decref(j);
    }
    teardown();
}

TEST(wrapped_kafka_messages)
{
    setup();
    const char raw[] =
        "{\"_kafka\":{\"topic\":\"e\",\"partition\":0,\"offset\":5},\"_raw\":\"[1,\\n2]\"}";
    json_t *j = dlq_of(raw, strlen(raw), 1);
    CHECK_STR(member(j, "error_type"), "JSON_PARSE_ERROR");
    CHECK_STR(member(j, "original"), "[1,\n2]");
    CHECK_STR(member(j, "error_reason"), "not a JSON object: an array");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "source"), "offset")), 5);
    json_decref(j);

    const char spread[] =
        "{\"_kafka\":{\"topic\":\"e\",\"partition\":0,\"offset\":6},\"_raw\":\"{\\n}\"}";
    j = dlq_of(spread, strlen(spread), 1);
    CHECK_STR(member(j, "error_reason"), "a JSON object spread over several lines");
    json_decref(j);

    /* "/w==" is the single byte 0xFF. */
    const char b64[] =
        "{\"_kafka\":{\"topic\":\"e\",\"partition\":0,\"offset\":7},\"_raw_base64\":\"/w==\"}";
    j = dlq_of(b64, strlen(b64), 1);
    CHECK_STR(member(j, "original_base64"), "/w==");
    CHECK_STR(member(j, "error_reason"), "invalid UTF-8 at byte 1");
    json_decref(j);

    const char bad_b64[] =
        "{\"_kafka\":{\"topic\":\"e\",\"partition\":0,\"offset\":8},\"_raw_base64\":\"/w=\"}";
    j = dlq_of(bad_b64, strlen(bad_b64), 1);
    CHECK_STR(member(j, "original"), bad_b64);
    json_decref(j);

    const char tombstone[] =
        "{\"_kafka\":{\"topic\":\"e\",\"partition\":0,\"offset\":9},\"_raw\":null}";
    j = dlq_of(tombstone, strlen(tombstone), 1);
    CHECK_STR(member(j, "original"), "");
    CHECK_STR(member(j, "error_reason"), "Kafka message without a value (a tombstone)");
    json_decref(j);
    teardown();
}

TEST(too_long_record)
{
    struct dlq_record rec;
    validate_too_long("{\"a\":", 5, 4, &rec);
    CHECK_INT(rec.error, DLQ_LINE_TOO_LONG);
    CHECK_INT(rec.source.line, 4);
    CHECK_INT(rec.original_len, 5);
    CHECK_STR(rec.component, "sp-validate");
}

int main(void)
{
    RUN(valid_event_passes);
    RUN(control_line_passes);
    RUN(parse_errors);
    RUN(invalid_utf8_keeps_every_byte);
    RUN(schema_violation_names_field);
    RUN(kafka_coordinates_are_the_source);
    RUN(wrapped_kafka_messages);
    RUN(too_long_record);
    RETURN_SUMMARY();
}
