/* Unit tests of lib/ndjson and lib/strbuf. JSON output is checked by
 * reading it back with jansson, an independent parser. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "unit.h"

/* Parse sb as a JSON string value with jansson and compare with want. */
static int string_reads_back(const strbuf *sb, const char *want, size_t want_len)
{
    json_error_t err;
    json_t *v = json_loadb(sb->data, sb->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    int ok = v && json_is_string(v) && json_string_length(v) == want_len &&
             memcmp(json_string_value(v), want, want_len) == 0;
    json_decref(v);
    return ok;
}

TEST(escapes_strings)
{
    strbuf sb = STRBUF_INIT;
    const char in[] = "a\"b\\c\nd\te\x01 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x95";
    ndjson_append_string(&sb, in, sizeof in - 1);
    CHECK(string_reads_back(&sb, in, sizeof in - 1));
    CHECK(strstr(sb.data, "\\u0001") != NULL);
    sb_reset(&sb);
    const char nul[] = "x\0y";
    ndjson_append_string(&sb, nul, 3);
    CHECK(string_reads_back(&sb, nul, 3));
    sb_free(&sb);
}

TEST(invalid_utf8_becomes_replacement)
{
    strbuf sb = STRBUF_INIT;
    ndjson_append_string(&sb,
                         "a\xff"
                         "b\xc3",
                         4);
    CHECK(string_reads_back(&sb,
                            "a\xef\xbf\xbd"
                            "b\xef\xbf\xbd",
                            8));
    sb_free(&sb);
}

TEST(utf8_validation)
{
    CHECK(utf8_valid("plain", 5));
    CHECK(utf8_valid("caf\xc3\xa9", 5));
    CHECK(utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
    CHECK(!utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    CHECK(!utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    CHECK(!utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    CHECK(!utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    CHECK(!utf8_valid("\xc3", 1));             /* truncated */
    CHECK(!utf8_valid("\x80", 1));             /* lone continuation */
    CHECK(!utf8_valid("\xff", 1));
}

TEST(doubles_round_trip)
{
    strbuf sb = STRBUF_INIT;
    double values[] = {73.79, 23.0, 0.1, 1e-7, 123456789.125, -2.5, 1e300, 130.39999999999998};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        sb_reset(&sb);
        ndjson_append_double(&sb, values[i]);
        CHECK(strtod(sb.data, NULL) == values[i]);
        CHECK(ndjson_is_number(sb.data, sb.len));
    }
    sb_reset(&sb);
    ndjson_append_double(&sb, 73.79);
    CHECK_STR(sb.data, "73.79");
    sb_reset(&sb);
    ndjson_append_double(&sb, 23.0);
    CHECK_STR(sb.data, "23");
    sb_reset(&sb);
    ndjson_append_double(&sb, NAN);
    CHECK_STR(sb.data, "null");
    sb_free(&sb);
}

TEST(number_grammar)
{
    const char *good[] = {"0", "-0", "23.0", "1e5", "1E+5", "-1.5e-3", "73.79"};
    const char *bad[] = {"", "-", "01", "1.", ".5", "+1", "1e", "0x10", "NaN", "1 ", "--1"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(ndjson_is_number(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!ndjson_is_number(bad[i], strlen(bad[i])));
}

/* RFC 4648 section 10 test vectors. */
TEST(base64_vectors)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        strbuf sb = STRBUF_INIT;
        base64_append(&sb, in[i], strlen(in[i]));
        CHECK_STR(sb.len ? sb.data : "", out[i]);
        sb_free(&sb);
    }
}

TEST(bytes_member_is_text_or_base64)
{
    strbuf sb = STRBUF_INIT;
    ndjson_append_bytes_member(&sb, "original", "caf\xc3\xa9\"", 6);
    CHECK_STR(sb.data, ",\"original\":\"caf\xc3\xa9\\\"\"");
    sb_reset(&sb);
    ndjson_append_bytes_member(&sb, "_raw",
                               "\xff"
                               "foob",
                               5);
    CHECK_STR(sb.data, ",\"_raw_base64\":\"/2Zvb2I=\"");
    sb_free(&sb);
}

TEST(hex_digits)
{
    CHECK_INT(hex_digit_value('0'), 0);
    CHECK_INT(hex_digit_value('9'), 9);
    CHECK_INT(hex_digit_value('a'), 10);
    CHECK_INT(hex_digit_value('F'), 15);
    CHECK_INT(hex_digit_value('g'), -1);
    CHECK_INT(hex_digit_value(0xC3), -1);
}

TEST(strbuf_basics)
{
    strbuf sb = STRBUF_INIT;
    for (int i = 0; i < 1000; i++)
        sb_putc(&sb, 'x');
    CHECK_INT(sb.len, 1000);
    CHECK_INT(strlen(sb.data), 1000);
    sb_reset(&sb);
    sb_put_i64(&sb, INT64_MIN);
    CHECK_STR(sb.data, "-9223372036854775808");
    sb_reset(&sb);
    sb_printf(&sb, "%s=%d", "n", 42);
    sb_put_i64(&sb, 0);
    CHECK_STR(sb.data, "n=420");
    sb_free(&sb);
}

int main(void)
{
    RUN(escapes_strings);
    RUN(invalid_utf8_becomes_replacement);
    RUN(utf8_validation);
    RUN(doubles_round_trip);
    RUN(number_grammar);
    RUN(base64_vectors);
    RUN(bytes_member_is_text_or_base64);
    RUN(hex_digits);
    RUN(strbuf_basics);
    RETURN_SUMMARY();
}
