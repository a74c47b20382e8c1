/* test_window_event: what sp-window reads from one line. */
#include <math.h>

#include "unit.h"
#include "window_event.h"

static struct agg_spec spec;
static struct window_event_reader reader;

static void parse(const char *text, struct window_line *out)
{
    window_line_parse(&reader, text, strlen(text), out);
}

TEST(plain_event)
{
    struct window_line l;
    parse("{\"trip_id\":\"t\",\"region_id\":5,\"event_time\":\"2025-08-31T08:00:02Z\","
          "\"fare\":73.79,\"duration\":2113,\"distance\":23.0}",
          &l);
    CHECK_INT(l.kind, WINDOW_LINE_EVENT);
    CHECK(!l.key.is_string);
    CHECK_INT(l.key.num, 5);
    CHECK_INT(l.event_ms, 1756627202000LL);
    /* spec fields in order: fare, distance, duration */
    CHECK(l.values[0] == 73.79 && l.values[1] == 23.0 && l.values[2] == 2113);
    CHECK(!l.has_source);
    window_line_clear(&l);
}

TEST(string_key_with_escapes_and_missing_values)
{
    struct window_line l;
    parse("{\"region_id\":\"zone \\\"\\u00e9\\\"\",\"event_time\":\"2025-08-31 08:00:02\","
          "\"fare\":\"12\",\"duration\":null}",
          &l);
    CHECK_INT(l.kind, WINDOW_LINE_EVENT);
    CHECK(l.key.is_string);
    CHECK_INT(l.key.len, 9);
    CHECK(memcmp(l.key.text, "zone \"\xc3\xa9\"", 9) == 0);
    CHECK(isnan(l.values[0]) && isnan(l.values[1]) && isnan(l.values[2]));
    window_line_clear(&l);
}

TEST(kafka_coordinates_and_raw_messages)
{
    struct window_line l;
    parse("{\"_kafka\":{\"topic\":\"events\",\"partition\":2,\"offset\":1234},\"region_id\":1,"
          "\"event_time\":\"2025-08-31T08:00:02Z\"}",
          &l);
    CHECK_INT(l.kind, WINDOW_LINE_EVENT);
    CHECK(l.has_source);
    CHECK_INT(l.source.partition, 2);
    CHECK_INT(l.source.offset, 1234);
    CHECK(l.source.topic_len == 6 && memcmp(l.source.topic, "events", 6) == 0);
    window_line_clear(&l);

    /* A Kafka message that was not JSON: a parse error that keeps its coordinates. */
    parse("{\"_kafka\":{\"topic\":\"events\",\"partition\":0,\"offset\":7},\"_raw\":\"oops\"}", &l);
    CHECK_INT(l.kind, WINDOW_LINE_BAD);
    CHECK_INT(l.error, DLQ_JSON_PARSE_ERROR);
    CHECK(l.has_source && l.source.offset == 7);
    window_line_clear(&l);
}

TEST(unusable_lines_say_why)
{
    static const struct {
        const char *line;
        enum dlq_error error;
        const char *field;
    } cases[] = {
        {"not json", DLQ_JSON_PARSE_ERROR, NULL},
        {"[1]", DLQ_JSON_PARSE_ERROR, NULL},
        {"{\"event_time\":\"2025-08-31T08:00:02Z\"}", DLQ_SCHEMA_VIOLATION, "region_id"},
        {"{\"region_id\":1.5,\"event_time\":\"2025-08-31T08:00:02Z\"}", DLQ_SCHEMA_VIOLATION,
         "region_id"},
        {"{\"region_id\":1}", DLQ_SCHEMA_VIOLATION, "event_time"},
        {"{\"region_id\":1,\"event_time\":1756627202}", DLQ_SCHEMA_VIOLATION, "event_time"},
        {"{\"region_id\":1,\"event_time\":\"2025-02-30T00:00:00Z\"}", DLQ_SCHEMA_VIOLATION,
         "event_time"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct window_line l;
        parse(cases[i].line, &l);
        CHECK_INT(l.kind, WINDOW_LINE_BAD);
        CHECK_INT(l.error, cases[i].error);
        if (cases[i].field) CHECK_STR(l.field, cases[i].field);
        CHECK(l.reason[0] != '\0');
        window_line_clear(&l);
    }
}

/* A member the window reads, given twice, refuses the record as sp-validate
 * does: sp-window used to count the record below for region 59 (the last
 * region_id, jansson's choice), sp-kcat-out keyed it by 9, and sp-validate
 * refused it. */
TEST(repeated_members_are_refused)
{
    static const struct {
        const char *line;
        const char *field;
        const char *reason;
    } cases[] = {
        {"{\"trip_id\":\"d9\",\"region_id\":9,\"event_time\":\"2025-08-31T08:00:02Z\","
         "\"fare\":1,\"region_id\":59}",
         "region_id", "region_id: given 2 times"},
        {"{\"region_id\":9,\"event_time\":\"2025-08-31T08:00:02Z\",\"event_t\\u0069me\":\"x\"}",
         "event_time", "event_time: given 2 times"},
        {"{\"region_id\":9,\"event_time\":\"2025-08-31T08:00:02Z\",\"fare\":1,\"fare\":2,"
         "\"fare\":3}",
         "fare", "fare: given 3 times"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct window_line l;
        parse(cases[i].line, &l);
        CHECK_INT(l.kind, WINDOW_LINE_BAD);
        CHECK_INT(l.error, DLQ_SCHEMA_VIOLATION);
        CHECK_STR(l.field, cases[i].field);
        CHECK_STR(l.reason, cases[i].reason);
        window_line_clear(&l);
    }
    /* Kafka coordinates still name the record's source. */
    struct window_line l;
    parse("{\"_kafka\":{\"topic\":\"events\",\"partition\":1,\"offset\":4},\"region_id\":1,"
          "\"region_id\":2,\"event_time\":\"2025-08-31T08:00:02Z\"}",
          &l);
    CHECK_INT(l.kind, WINDOW_LINE_BAD);
    CHECK(l.has_source && l.source.partition == 1 && l.source.offset == 4);
    window_line_clear(&l);
    /* A member the window does not read may repeat, as in sp-validate. */
    parse("{\"region_id\":1,\"note\":1,\"note\":2,\"event_time\":\"2025-08-31T08:00:02Z\"}", &l);
    CHECK_INT(l.kind, WINDOW_LINE_EVENT);
    window_line_clear(&l);
}

TEST(lean_and_tree_paths_agree)
{
    const char *lines[] = {
        "{\"region_id\":8,\"event_time\":\"2025-08-31T08:00:02.123456+02:00\","
        "\"fare\":1e2,\"duration\":-0.0,\"distance\":12345678901234567890.5}",
        "{\"region_id\":\"\\u0041\",\"event_time\":\"2025-08-31T08:00:02Z\",\"fare\":-7}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        struct window_line lean, tree;
        parse(lines[i], &lean);
        char key[16] = "";
        if (lean.key.is_string) memcpy(key, lean.key.text, lean.key.len);
        window_line_parse_tree(&reader, lines[i], strlen(lines[i]), &tree);
        CHECK_INT(lean.kind, WINDOW_LINE_EVENT);
        CHECK_INT(tree.kind, WINDOW_LINE_EVENT);
        CHECK_INT(lean.event_ms, tree.event_ms);
        CHECK(lean.key.is_string == tree.key.is_string);
        if (!tree.key.is_string) CHECK_INT(lean.key.num, tree.key.num);
        if (tree.key.is_string) CHECK(memcmp(key, tree.key.text, tree.key.len) == 0);
        for (size_t f = 0; f < spec.n_fields; f++)
            CHECK(memcmp(&lean.values[f], &tree.values[f], sizeof(double)) == 0 ||
                  (isnan(lean.values[f]) && isnan(tree.values[f])));
        window_line_clear(&lean);
        window_line_clear(&tree);
    }
}

TEST(kafka_line_prefix)
{
    CHECK(window_event_is_kafka_line("{\"_kafka\":{}}", 13));
    CHECK(window_event_is_kafka_line("{\"_kafka_assignment\":[]}", 24));
    CHECK(!window_event_is_kafka_line("{\"region_id\":1}", 15));
    CHECK(!window_event_is_kafka_line("{\"_ka", 5));
}

int main(void)
{
    agg_spec_default(&spec);
    if (window_event_reader_init(&reader, "region_id", "event_time", &spec) != 0) return 2;
    RUN(plain_event);
    RUN(string_key_with_escapes_and_missing_values);
    RUN(kafka_coordinates_and_raw_messages);
    RUN(unusable_lines_say_why);
    RUN(repeated_members_are_refused);
    RUN(lean_and_tree_paths_agree);
    RUN(kafka_line_prefix);
    window_event_reader_free(&reader);
    RETURN_SUMMARY();
}
