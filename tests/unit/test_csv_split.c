/* Unit tests of lib/csv_split: the libcsv splitter. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv_split.h"
#include "line_io.h"
#include "unit.h"

static int field_is(const csv_record *r, size_t i, const char *want)
{
    return i < r->nfields && r->fields[i].len == strlen(want) &&
           memcmp(r->fields[i].s, want, r->fields[i].len) == 0;
}

TEST(splitter_plain_and_quoted_fields)
{
    csv_splitter *s = csv_splitter_new();
    csv_record r;
    const char *line = "a,\"b,c\",\"say \"\"hi\"\"\",";
    CHECK(csv_splitter_feed(s, line, strlen(line), 7, &r));
    CHECK(r.error == NULL);
    CHECK_INT(r.nfields, 4);
    CHECK(field_is(&r, 0, "a"));
    CHECK(field_is(&r, 1, "b,c"));
    CHECK(field_is(&r, 2, "say \"hi\""));
    CHECK(field_is(&r, 3, ""));
    CHECK_INT(r.line, 7);
    CHECK_INT(r.raw_len, strlen(line));
    csv_splitter_free(s);
}

TEST(splitter_crlf_and_blank_lines)
{
    csv_splitter *s = csv_splitter_new();
    csv_record r;
    CHECK(!csv_splitter_feed(s, "", 0, 1, &r));
    CHECK(!csv_splitter_feed(s, "  \t", 3, 2, &r));
    CHECK(csv_splitter_feed(s, "x,y\r", 4, 3, &r));
    CHECK(r.error == NULL);
    CHECK_INT(r.nfields, 2);
    CHECK(field_is(&r, 1, "y"));
    CHECK_INT(r.raw_len, 3);
    csv_splitter_free(s);
}

TEST(splitter_broken_rows_do_not_spoil_the_next)
{
    csv_splitter *s = csv_splitter_new();
    csv_record r;
    CHECK(csv_splitter_feed(s, "a,b\"c,d", 7, 1, &r));
    CHECK(r.error != NULL);
    CHECK_INT(r.error_column, 1);
    CHECK(csv_splitter_feed(s, "a,x,\"b\"c,d", 10, 2, &r));
    CHECK(r.error != NULL);
    CHECK_INT(r.error_column, 2);
    CHECK(csv_splitter_feed(s, "\"open,d", 7, 3, &r));
    CHECK(r.error != NULL);
    CHECK_INT(r.error_column, 0);
    CHECK_INT(r.line, 3);
    CHECK(csv_splitter_feed(s, "a,b\rc,d", 7, 4, &r));
    CHECK(r.error != NULL);
    CHECK_INT(r.error_column, SIZE_MAX);
    CHECK(csv_splitter_feed(s, "e,f", 3, 5, &r));
    CHECK(r.error == NULL);
    CHECK_INT(r.nfields, 2);
    CHECK(field_is(&r, 0, "e"));
    CHECK_INT(r.line, 5);
    csv_splitter_free(s);
}

TEST(splitter_multiline_records)
{
    csv_splitter *s = csv_splitter_new();
    csv_splitter_set_multiline(s, true);
    csv_record r;
    CHECK(!csv_splitter_feed(s, "1,\"two", 6, 4, &r));
    CHECK(!csv_splitter_feed(s, "", 0, 5, &r));
    CHECK(csv_splitter_feed(s, "lines\",3", 8, 6, &r));
    CHECK(r.error == NULL);
    CHECK_INT(r.line, 4);
    CHECK_INT(r.nfields, 3);
    CHECK(field_is(&r, 1, "two\n\nlines"));
    CHECK_INT(r.raw_len, strlen("1,\"two\n\nlines\",3"));
    CHECK(memcmp(r.raw, "1,\"two\n\nlines\",3", r.raw_len) == 0);

    /* A quote still open at the end of input is broken, then forgotten. */
    CHECK(!csv_splitter_feed(s, "\"never closed", 13, 7, &r));
    CHECK(csv_splitter_finish(s, &r));
    CHECK(r.error != NULL);
    CHECK_INT(r.error_column, 0);
    CHECK_INT(r.line, 7);
    CHECK_INT(r.raw_len, 13);
    CHECK(!csv_splitter_finish(s, &r));
    csv_splitter_free(s);
}

TEST(splitter_limits)
{
    csv_splitter *s = csv_splitter_new();
    csv_record r;
    size_t n = CSV_MAX_FIELDS + 1;
    char *wide = malloc(2 * n);
    for (size_t i = 0; i < n; i++) {
        wide[2 * i] = 'x';
        wide[2 * i + 1] = ',';
    }
    CHECK(csv_splitter_feed(s, wide, 2 * n - 1, 1, &r));
    CHECK(r.error != NULL);
    CHECK(csv_splitter_feed(s, wide, 2 * n - 3, 2, &r));
    CHECK(r.error == NULL);
    CHECK_INT(r.nfields, CSV_MAX_FIELDS);
    free(wide);

    csv_splitter_too_long(s, "abc", 3, 9, &r);
    CHECK(r.too_long);
    CHECK(r.error != NULL);
    CHECK_INT(r.line, 9);

    /* A multi-line record that outgrows the line limit. */
    csv_splitter_set_multiline(s, true);
    char *big = malloc(LINE_MAX_BYTES / 2);
    memset(big, 'y', LINE_MAX_BYTES / 2);
    CHECK(!csv_splitter_feed(s, "\"", 1, 10, &r));
    int broken = 0;
    for (uint64_t line = 11; line < 14 && !broken; line++)
        if (csv_splitter_feed(s, big, LINE_MAX_BYTES / 2, line, &r)) broken = r.too_long;
    CHECK(broken);
    CHECK_INT(r.line, 10);
    CHECK(csv_splitter_feed(s, "ok", 2, 20, &r));
    CHECK(r.error == NULL);
    free(big);
    csv_splitter_free(s);
}

int main(void)
{
    RUN(splitter_plain_and_quoted_fields);
    RUN(splitter_crlf_and_blank_lines);
    RUN(splitter_broken_rows_do_not_spoil_the_next);
    RUN(splitter_multiline_records);
    RUN(splitter_limits);
    RETURN_SUMMARY();
}
