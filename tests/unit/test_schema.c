/* Unit tests of lib/schema: loading (and refusing) schema documents, and
 * checking events against the default StreamPulse v1 rules of SPEC section 3
 * at each bound, on both sides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "unit.h"

/* The repository root, found from this file's path as the compiler saw it
 * (the Makefile compiles from the root: "tests/unit/test_schema.c"). */
static void repo_path(char *out, size_t outlen, const char *relative)
{
    const char *self = __FILE__;
    const char *cut = strstr(self, "tests/unit/test_schema.c");
    int prefix = cut ? (int)(cut - self) : 0;
    snprintf(out, outlen, "%.*s%s", prefix, self, relative);
}

static schema *load_text(const char *text, char *err, size_t errlen)
{
    return schema_parse(text, strlen(text), err, errlen);
}

/* Check line against s; returns true when valid, else copies the reason. */
static bool check_line(schema *s, const char *line, char *reason, size_t reasonlen,
                       const char **field)
{
    static struct ev_fields fields;
    static struct ev_scan scan;
    ev_fields_init(&fields);
    CHECK_INT(schema_bind(s, &fields), 0);
    CHECK_INT(ev_scan(line, strlen(line), &fields, &scan), 0);
    struct schema_violation v = {.reason = STRBUF_INIT};
    bool ok = schema_check(s, &scan, &v);
    snprintf(reason, reasonlen, "%s", ok ? "" : v.reason.data);
    if (field) *field = v.field;
    sb_free(&v.reason);
    return ok;
}

/* A StreamPulse v1 event with one member replaced (or added). */
static void v1_event(char *out, size_t outlen, const char *member, const char *value)
{
    static const char *const names[] = {"trip_id", "region_id", "event_time",
                                        "fare",    "duration",  "distance"};
    static const char *const values[] = {"\"trip_000001\"", "5",    "\"2025-08-31T08:00:02Z\"",
                                         "73.79",           "2113", "23.0"};
    size_t n = (size_t)snprintf(out, outlen, "{");
    for (size_t i = 0; i < 6; i++) {
        const char *v = strcmp(names[i], member) == 0 ? value : values[i];
        if (!v) continue; /* NULL value: leave the member out */
        n += (size_t)snprintf(out + n, outlen - n, "%s\"%s\":%s", n > 1 ? "," : "", names[i], v);
    }
    snprintf(out + n, outlen - n, "}");
}

/* Expect the default schema to accept (reason NULL) or refuse with reason. */
static void expect_v1(const char *member, const char *value, const char *reason)
{
    char err[256], line[512], got[512];
    schema *s = load_text(schema_default_text(), err, sizeof err);
    CHECK(s != NULL);
    if (!s) return;
    v1_event(line, sizeof line, member, value);
    const char *field = NULL;
    bool ok = check_line(s, line, got, sizeof got, &field);
    if (!reason) {
        if (!ok) fprintf(stderr, "%s=%s refused: %s\n", member, value, got);
        CHECK(ok);
    } else {
        CHECK(!ok);
        CHECK_STR(got, reason);
        CHECK_STR(field, member);
    }
    schema_free(s);
}

TEST(default_is_the_shipped_file)
{
    char path[1024];
    repo_path(path, sizeof path, "schemas/streampulse_v1.json");
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) return;
    static char file[65536];
    size_t n = fread(file, 1, sizeof file, f);
    fclose(f);
    CHECK_INT(n, strlen(schema_default_text()));
    CHECK(memcmp(file, schema_default_text(), n) == 0);
}

TEST(shipped_schemas_load)
{
    char path[1024], err[256];
    repo_path(path, sizeof path, "schemas/nyc_tlc.json");
    schema *s = schema_load_file(path, err, sizeof err);
    CHECK(s != NULL);
    schema_free(s);
    s = schema_load_file("/nonexistent/schema.json", err, sizeof err);
    CHECK(s == NULL);
    CHECK(strstr(err, "No such file") != NULL);
}

TEST(v1_valid_event)
{
    expect_v1("", NULL, NULL);
    expect_v1("event_time", "\"2025-08-31 08:00:02\"", NULL);
    expect_v1("event_time", "\"2025-08-31T08:00:02.123456+02:00\"", NULL);
}

TEST(v1_region_bounds)
{
    expect_v1("region_id", "1", NULL);
    expect_v1("region_id", "100", NULL);
    expect_v1("region_id", "0", "region_id: 0 is below the minimum 1");
    expect_v1("region_id", "101", "region_id: 101 is above the maximum 100");
    expect_v1("region_id", "999", "region_id: 999 is above the maximum 100");
    expect_v1("region_id", "-9223372036854775808",
              "region_id: -9223372036854775808 is below the minimum 1");
    expect_v1("region_id", "2.5", "region_id: 2.5 is not an integer");
    expect_v1("region_id", "2.0", "region_id: 2.0 is not an integer");
    expect_v1("region_id", "2e0", "region_id: 2e0 is not an integer");
    expect_v1("region_id", "\"5\"", "region_id: \"5\" is not an integer");
    expect_v1("region_id", "null", "region_id: null is not an integer");
    expect_v1("region_id", NULL, "region_id: missing");
}

TEST(v1_fare_duration_distance_bounds)
{
    expect_v1("fare", "0", NULL);
    expect_v1("fare", "1000", NULL);
    expect_v1("fare", "1000.0", NULL);
    expect_v1("fare", "-0.01", "fare: -0.01 is below the minimum 0");
    expect_v1("fare", "1000.01", "fare: 1000.01 is above the maximum 1000");
    expect_v1("fare", "1e3", NULL);
    expect_v1("fare", "\"abc\"", "fare: \"abc\" is not a number");
    expect_v1("duration", "60", NULL);
    expect_v1("duration", "7200", NULL);
    expect_v1("duration", "59", "duration: 59 is below the minimum 60");
    expect_v1("duration", "7201", "duration: 7201 is above the maximum 7200");
    expect_v1("duration", "60.5", "duration: 60.5 is not an integer");
    expect_v1("distance", "0.1", NULL);
    expect_v1("distance", "200", NULL);
    expect_v1("distance", "0.09999999999999999",
              "distance: 0.09999999999999999 is below the minimum 0.1");
    expect_v1("distance", "200.00000000000003",
              "distance: 200.00000000000003 is above the maximum 200");
    expect_v1("distance", "true", "distance: true is not a number");
}

TEST(v1_trip_id_rules)
{
    char fifty[64], fifty_one[64], fifty_e[256], reason[256];
    memset(fifty, 'x', 50);
    snprintf(fifty_one, sizeof fifty_one, "\"%.50sy\"", fifty);
    fifty[50] = '\0';
    char quoted[sizeof fifty + 2];
    snprintf(quoted, sizeof quoted, "\"%s\"", fifty);
    expect_v1("trip_id", quoted, NULL);
    snprintf(reason, sizeof reason,
             "trip_id: %s (51 characters) is longer than the maximum length 50", fifty_one);
    expect_v1("trip_id", fifty_one, reason);
    /* Characters, not bytes: 50 two-byte characters are fine. */
    size_t n = 0;
    fifty_e[n++] = '"';
    for (int i = 0; i < 50; i++)
        n += (size_t)snprintf(fifty_e + n, sizeof fifty_e - n, "\xc3\xa9");
    snprintf(fifty_e + n, sizeof fifty_e - n, "\"");
    expect_v1("trip_id", fifty_e, NULL);
    expect_v1("trip_id", "\"\\u00e9\"", NULL);
    expect_v1("trip_id", "\"\"",
              "trip_id: \"\" (0 characters) is shorter than the minimum length 1");
    expect_v1("trip_id", "\"   \"", "trip_id: \"   \" is blank");
    expect_v1("trip_id", "\"\\t\\u00a0\\u3000\"", "trip_id: \"\\t\\u00a0\\u3000\" is blank");
    expect_v1("trip_id", "\" a \"", NULL);
    expect_v1("trip_id", "5", "trip_id: 5 is not a string");
}

TEST(v1_event_time_rules)
{
    expect_v1("event_time", "\"2025-13-01T00:00:00Z\"",
              "event_time: \"2025-13-01T00:00:00Z\" is not an event time (RFC 3339 or YYYY-MM-DD "
              "HH:MM:SS)");
    expect_v1("event_time", "\"\"",
              "event_time: \"\" is not an event time (RFC 3339 or YYYY-MM-DD HH:MM:SS)");
    expect_v1("event_time", "1756627202", "event_time: 1756627202 is not a string");
    expect_v1("event_time", NULL, "event_time: missing");
}

TEST(long_values_are_cut_in_reasons)
{
    char value[400], reason[512];
    size_t n = 0;
    value[n++] = '"';
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(value + n, sizeof value - n, "\xe2\x82\xac");
    snprintf(value + n, sizeof value - n, "\"");
    /* 64 bytes cut back to a character boundary: the quote and 21 euro signs. */
    char cut[128];
    n = 0;
    cut[n++] = '"';
    for (int i = 0; i < 21; i++)
        n += (size_t)snprintf(cut + n, sizeof cut - n, "\xe2\x82\xac");
    cut[n] = '\0';
    snprintf(reason, sizeof reason,
             "trip_id: %s\xe2\x80\xa6 (100 characters) is longer than the maximum length 50", cut);
    expect_v1("trip_id", value, reason);
}

TEST(duplicate_members_refused)
{
    char err[256], got[256];
    schema *s = load_text(schema_default_text(), err, sizeof err);
    const char *field;
    CHECK(
        !check_line(s,
                    "{\"trip_id\":\"t\",\"region_id\":5,\"region_id\":500,\"event_time\":\"2025-08-"
                    "31T08:00:02Z\",\"fare\":1,\"duration\":100,\"distance\":1}",
                    got, sizeof got, &field));
    CHECK_STR(got, "region_id: given 2 times");
    schema_free(s);
}

TEST(custom_rules)
{
    char err[256], got[256];
    schema *s = load_text("{\"properties\":{"
                          "\"p\":{\"exclusiveMinimum\":0,\"exclusiveMaximum\":1.5},"
                          "\"big\":{\"type\":\"integer\",\"maximum\":9007199254740992},"
                          "\"flag\":{\"type\":\"boolean\"},"
                          "\"any\":{\"minLength\":2}},"
                          "\"required\":[\"p\",\"extra\"]}",
                          err, sizeof err);
    CHECK(s != NULL);
    if (!s) return;
    CHECK(check_line(s, "{\"p\":1,\"extra\":null,\"any\":5}", got, sizeof got, NULL));
    CHECK(!check_line(s, "{\"p\":0,\"extra\":1}", got, sizeof got, NULL));
    CHECK_STR(got, "p: 0 is not above the exclusive minimum 0");
    CHECK(!check_line(s, "{\"p\":1.5,\"extra\":1}", got, sizeof got, NULL));
    CHECK_STR(got, "p: 1.5 is not below the exclusive maximum 1.5");
    /* Integer bounds compare exactly, past 2^53. */
    CHECK(check_line(s, "{\"p\":1,\"extra\":1,\"big\":9007199254740992}", got, sizeof got, NULL));
    CHECK(!check_line(s, "{\"p\":1,\"extra\":1,\"big\":9007199254740993}", got, sizeof got, NULL));
    CHECK_STR(got, "big: 9007199254740993 is above the maximum 9007199254740992");
    CHECK(!check_line(s, "{\"p\":1,\"extra\":1,\"flag\":\"yes\"}", got, sizeof got, NULL));
    CHECK_STR(got, "flag: \"yes\" is not a boolean");
    /* minLength without a type applies to strings only. */
    CHECK(!check_line(s, "{\"p\":1,\"extra\":1,\"any\":\"x\"}", got, sizeof got, NULL));
    CHECK_STR(got, "any: \"x\" (1 character) is shorter than the minimum length 2");
    /* A required name without a rule is checked after the properties. */
    CHECK(!check_line(s, "{\"p\":1}", got, sizeof got, NULL));
    CHECK_STR(got, "extra: missing");
    CHECK(!check_line(s, "{\"extra\":1}", got, sizeof got, NULL));
    CHECK_STR(got, "p: missing");
    schema_free(s);
}

static void expect_refused(const char *doc, const char *message)
{
    char err[256];
    schema *s = load_text(doc, err, sizeof err);
    CHECK(s == NULL);
    if (s) {
        schema_free(s);
        return;
    }
    CHECK_STR(err, message);
}

TEST(bad_schemas_refused)
{
    expect_refused("[]", "a schema must be a JSON object");
    expect_refused("{\"type\":\"array\"}", "type: an event schema has type \"object\"");
    expect_refused("{\"maximun\":1}", "unknown keyword \"maximun\"");
    expect_refused("{\"properties\":{\"a\":{\"maximun\":1}}}",
                   "properties.a: unknown keyword \"maximun\"");
    expect_refused("{\"properties\":{\"a\":{\"type\":\"int\"}}}",
                   "properties.a.type: must be one of string, integer, number, boolean, null, "
                   "object, array");
    expect_refused("{\"properties\":{\"a\":{\"minimum\":\"1\"}}}",
                   "properties.a.minimum: must be a number");
    expect_refused("{\"properties\":{\"a\":{\"exclusiveMinimum\":true}}}",
                   "properties.a.exclusiveMinimum: must be a number");
    expect_refused("{\"properties\":{\"a\":{\"minLength\":-1}}}",
                   "properties.a.minLength: must be a non-negative integer");
    expect_refused("{\"properties\":{\"a\":{\"format\":\"date-time\"}}}",
                   "properties.a.format: the only format known is \"event-time\"");
    expect_refused("{\"properties\":{\"a\":{\"notBlank\":1}}}",
                   "properties.a.notBlank: must be true or false");
    expect_refused("{\"properties\":{\"a\":5}}", "properties.a: must be an object");
    expect_refused("{\"required\":\"a\"}", "required: must be an array of member names");
    expect_refused("{\"required\":[1]}", "required[0]: must be a string");
    expect_refused("{\"additionalProperties\":false}",
                   "additionalProperties: only true is supported (other members pass unchecked)");
    char err[256];
    CHECK(load_text("{\"type\":\"object\",\"type\":\"object\"}", err, sizeof err) == NULL);
    CHECK(strstr(err, "duplicate") != NULL);
    CHECK(load_text("{", err, sizeof err) == NULL);
}

TEST(too_many_members_refused)
{
    strbuf doc = STRBUF_INIT;
    sb_puts(&doc, "{\"required\":[");
    for (int i = 0; i <= SCHEMA_MAX_FIELDS; i++)
        sb_printf(&doc, "%s\"f%d\"", i ? "," : "", i);
    sb_puts(&doc, "]}");
    char err[256];
    CHECK(load_text(doc.data, err, sizeof err) == NULL);
    sb_free(&doc);
}

int main(void)
{
    RUN(default_is_the_shipped_file);
    RUN(shipped_schemas_load);
    RUN(v1_valid_event);
    RUN(v1_region_bounds);
    RUN(v1_fare_duration_distance_bounds);
    RUN(v1_trip_id_rules);
    RUN(v1_event_time_rules);
    RUN(long_values_are_cut_in_reasons);
    RUN(duplicate_members_refused);
    RUN(custom_rules);
    RUN(bad_schemas_refused);
    RUN(too_many_members_refused);
    RETURN_SUMMARY();
}
