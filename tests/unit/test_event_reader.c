/* Unit tests of lib/event_reader. jansson is the oracle for what is JSON
 * (the reader promises to accept exactly what json_loadb accepts) and
 * strtod for what a number is worth; fuzz_event_reader does the same on
 * random inputs. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "event_reader.h"
#include "unit.h"

static struct ev_fields fields;
static struct ev_scan scan;

static int scan_text(const char *text)
{
    return ev_scan(text, strlen(text), &fields, &scan);
}

/* ev_scan and jansson agree on text[0..len); returns ev_scan's verdict. */
static int agrees_with_jansson(const char *text, size_t len)
{
    json_t *doc = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    int rc = ev_scan(text, len, &fields, &scan);
    if ((rc == 0) != (doc != NULL)) {
        fprintf(stderr, "disagreement on \"%.*s\": reader %d, jansson %s\n", (int)len, text, rc,
                doc ? "accepts" : "refuses");
        unit_current_failed = 1;
    }
    json_decref(doc);
    return rc;
}

#define ACCEPTED(text) CHECK(agrees_with_jansson(text, sizeof text - 1) == 0)
#define REFUSED(text) CHECK(agrees_with_jansson(text, sizeof text - 1) < 0)

static void setup(void)
{
    ev_fields_init(&fields);
    ev_fields_add(&fields, "region_id");
    ev_fields_add(&fields, "trip_id");
    ev_fields_add(&fields, "fare");
}

TEST(picks_out_named_members)
{
    setup();
    const char *line = "{\"trip_id\":\"t1\", \"region_id\":5,\"other\":[1,{\"region_id\":7}],"
                       "\"fare\":73.79}";
    CHECK_INT(scan_text(line), 0);
    CHECK_INT(scan.top, EV_OBJECT);
    CHECK_INT(scan.members, 4);
    const struct ev_value *region = &scan.value[0], *trip = &scan.value[1], *fare = &scan.value[2];
    CHECK_INT(region->kind, EV_INTEGER);
    CHECK_INT(ev_integer(region), 5); /* the top-level one, not the nested 7 */
    CHECK_INT(region->position, 1);
    CHECK_INT(trip->kind, EV_STRING);
    CHECK_INT(trip->len, 4);
    CHECK(memcmp(trip->text, "\"t1\"", 4) == 0);
    CHECK_INT(trip->position, 0);
    CHECK_INT(fare->kind, EV_REAL);
    CHECK(ev_number(fare) == strtod("73.79", NULL));
}

TEST(absent_and_container_members)
{
    setup();
    CHECK_INT(scan_text("{\"region_id\":{\"a\":[1,2]} ,\"fare\":[ ]}"), 0);
    CHECK_INT(scan.value[0].kind, EV_OBJECT);
    CHECK_INT(scan.value[0].len, strlen("{\"a\":[1,2]}"));
    CHECK_INT(scan.value[1].kind, EV_ABSENT);
    CHECK_INT(scan.value[1].count, 0);
    CHECK_INT(scan.value[2].kind, EV_ARRAY);
    CHECK_INT(scan.value[2].len, 3);
}

TEST(escaped_names_are_found)
{
    setup();
    CHECK_INT(scan_text("{\"region\\u005fid\":9}"), 0);
    CHECK_INT(scan.value[0].kind, EV_INTEGER);
    CHECK_INT(ev_integer(&scan.value[0]), 9);
}

TEST(duplicates_counted_last_wins)
{
    setup();
    CHECK_INT(scan_text("{\"region_id\":1,\"region_id\":2,\"region_id\":3}"), 0);
    CHECK_INT(scan.value[0].count, 3);
    CHECK_INT(ev_integer(&scan.value[0]), 3);
    json_t *doc = json_loads("{\"region_id\":1,\"region_id\":2,\"region_id\":3}", 0, NULL);
    CHECK_INT(json_integer_value(json_object_get(doc, "region_id")), 3); /* jansson's choice */
    json_decref(doc);
}

TEST(strings_decode_like_jansson)
{
    setup();
    const char *line = "{\"trip_id\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud834\\udd1e\"}";
    CHECK_INT(scan_text(line), 0);
    CHECK(scan.value[1].escaped);
    strbuf scratch = STRBUF_INIT;
    size_t n;
    const char *s = ev_string(&scan.value[1], &scratch, &n);
    json_t *doc = json_loads(line, 0, NULL);
    const json_t *want = json_object_get(doc, "trip_id");
    CHECK_INT(n, json_string_length(want));
    CHECK(memcmp(s, json_string_value(want), n) == 0);
    json_decref(doc);
    sb_free(&scratch);
}

TEST(syntax_errors)
{
    setup();
    REFUSED("");
    REFUSED("   ");
    REFUSED("{");
    REFUSED("{\"a\":1");
    REFUSED("{\"a\":1,}");
    REFUSED("{\"a\" 1}");
    REFUSED("{a:1}");
    REFUSED("[1,]");
    REFUSED("{\"a\":1}x");
    REFUSED("{\"a\":1}{}");
    REFUSED("{\"a\":tru}");
    REFUSED("{\"a\":truex}");
    REFUSED("{\"a\":nul}");
    REFUSED("{\"a\":01}");
    REFUSED("{\"a\":-}");
    REFUSED("{\"a\":1.}");
    REFUSED("{\"a\":.5}");
    REFUSED("{\"a\":1e}");
    REFUSED("{\"a\":+1}");
    REFUSED("{\"a\":\"x}");
    REFUSED("{\"a\":\"\\x\"}");
    REFUSED("{\"a\":\"\\u12\"}");
    REFUSED("{\"a\":\"tab\there\"}");
    ACCEPTED(" {\"a\" : [ 1 , -0 , 0.5e-3 , 1E+2 , true , false , null , \"\" ] } \r\n");
    ACCEPTED("42");
    ACCEPTED("\"s\"");
    ACCEPTED("[]");
    ACCEPTED("{}");
    CHECK_INT(scan_text("{\"a\":1"), -1);
    CHECK_STR(scan.error, "unexpected end of input");
    CHECK_INT(scan.error_at, 6);
}

TEST(unicode_rules)
{
    setup();
    ACCEPTED("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\"}");
    REFUSED("{\"a\":\"\xc3\x28\"}");         /* broken continuation */
    REFUSED("{\"a\":\"\xc0\x80\"}");         /* overlong NUL */
    REFUSED("{\"a\":\"\xe0\x80\xaf\"}");     /* overlong '/' */
    REFUSED("{\"a\":\"\xed\xa0\x80\"}");     /* UTF-16 surrogate encoded */
    REFUSED("{\"a\":\"\xf4\x90\x80\x80\"}"); /* above U+10FFFF */
    REFUSED("{\"a\":\"\xf5\x80\x80\x80\"}");
    REFUSED("{\"a\":\"\xe2\x82\"}"); /* cut short */
    REFUSED("{\"a\":\"\\ud800\"}");  /* lone high surrogate */
    REFUSED("{\"a\":\"\\udc00\"}");  /* lone low surrogate */
    REFUSED("{\"a\":\"\\ud800\\u0041\"}");
    REFUSED("{\"a\":\"\\u0000\"}");
    REFUSED("{\"\\u0000\":1}");
    ACCEPTED("{\"a\":\"\\ud83d\\ude00\"}");
    CHECK_INT(scan_text("{\"a\":\"\xff\"}"), -1);
    CHECK_STR(scan.error, "invalid UTF-8");
    CHECK_INT(scan_text("\xff"), -1);
    CHECK_STR(scan.error, "invalid UTF-8");
    /* A raw NUL byte: refused. */
    CHECK_INT(ev_scan("{\"a\":\"\0\"}", 8, &fields, &scan), -1);
    CHECK_INT(ev_scan("{\"a\":1\0}", 8, &fields, &scan), -1);
}

TEST(number_limits)
{
    setup();
    ACCEPTED("{\"a\":9223372036854775807}");
    REFUSED("{\"a\":9223372036854775808}");
    ACCEPTED("{\"a\":-9223372036854775808}");
    REFUSED("{\"a\":-9223372036854775809}");
    REFUSED("{\"a\":100000000000000000000}");
    ACCEPTED("{\"a\":1.7976931348623157e308}");
    ACCEPTED("{\"a\":1.7976931348623158e308}"); /* rounds down to DBL_MAX */
    REFUSED("{\"a\":1.7976931348623159e308}");  /* rounds up to infinity */
    REFUSED("{\"a\":1e309}");
    REFUSED("{\"a\":-1e309}");
    ACCEPTED("{\"a\":0e999999999999}");
    ACCEPTED("{\"a\":1e-999999}");
    ACCEPTED("{\"a\":0.000000001e317}");
    REFUSED("{\"a\":0.000000001e318}");
    CHECK_INT(scan_text("{\"region_id\":-9223372036854775808}"), 0);
    CHECK(ev_integer(&scan.value[0]) == INT64_MIN);
    /* Without an exponent the digits alone decide: 308 of them stay below
     * DBL_MAX whatever they are, 309 nines do not. */
    char text[400];
    memcpy(text, "{\"a\":", 5);
    memset(text + 5, '9', 308);
    memcpy(text + 313, ".5}", 4);
    CHECK(agrees_with_jansson(text, strlen(text)) == 0);
    memset(text + 5, '9', 309);
    memcpy(text + 314, ".5}", 4);
    CHECK(agrees_with_jansson(text, strlen(text)) < 0);
}

TEST(numbers_are_strtod_exact)
{
    setup();
    static const char *const numbers[] = {"0.1",
                                          "73.79",
                                          "-0.0",
                                          "1e22",
                                          "1e23",
                                          "2.5e-3",
                                          "123456789012345678",
                                          "4.9e-324",
                                          "0.30000000000000004",
                                          "9007199254740993.0",
                                          "1.7976931348623157e308",
                                          "3.14159265358979323846"};
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"fare\":%s}", numbers[i]);
        CHECK_INT(scan_text(line), 0);
        double got = ev_number(&scan.value[2]), want = strtod(numbers[i], NULL);
        if (memcmp(&got, &want, sizeof got) != 0) {
            fprintf(stderr, "%s: got %.17g, want %.17g\n", numbers[i], got, want);
            unit_current_failed = 1;
        }
    }
}

static char *nested(size_t depth, const char *inner)
{
    size_t n = strlen(inner);
    char *s = malloc(2 * depth + n + 1);
    memset(s, '[', depth);
    memcpy(s + depth, inner, n);
    memset(s + depth + n, ']', depth);
    s[2 * depth + n] = '\0';
    return s;
}

TEST(nesting_limit_is_janssons)
{
    setup();
    char *deepest_empty = nested(EVENT_READER_MAX_DEPTH, "");
    char *too_deep_scalar = nested(EVENT_READER_MAX_DEPTH, "1");
    char *deepest_scalar = nested(EVENT_READER_MAX_DEPTH - 1, "1");
    CHECK(agrees_with_jansson(deepest_empty, strlen(deepest_empty)) == 0);
    CHECK(agrees_with_jansson(too_deep_scalar, strlen(too_deep_scalar)) < 0);
    CHECK(agrees_with_jansson(deepest_scalar, strlen(deepest_scalar)) == 0);
    free(deepest_empty);
    free(too_deep_scalar);
    free(deepest_scalar);
}

TEST(field_set)
{
    struct ev_fields f;
    ev_fields_init(&f);
    CHECK_INT(ev_fields_add(&f, "a"), 0);
    CHECK_INT(ev_fields_add(&f, "b"), 1);
    CHECK_INT(ev_fields_add(&f, "a"), 0);
    char long_name[EVENT_READER_NAME_MAX + 1];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CHECK_INT(ev_fields_add(&f, long_name), -1);
    for (int i = 2; i < EVENT_READER_MAX_FIELDS; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        CHECK_INT(ev_fields_add(&f, name), i);
    }
    CHECK_INT(ev_fields_add(&f, "one_too_many"), -1);
}

int main(void)
{
    RUN(picks_out_named_members);
    RUN(absent_and_container_members);
    RUN(escaped_names_are_found);
    RUN(duplicates_counted_last_wins);
    RUN(strings_decode_like_jansson);
    RUN(syntax_errors);
    RUN(unicode_rules);
    RUN(number_limits);
    RUN(numbers_are_strtod_exact);
    RUN(nesting_limit_is_janssons);
    RUN(field_set);
    RETURN_SUMMARY();
}
