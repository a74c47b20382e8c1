/* test_prom_merge: one HELP/TYPE per family, samples grouped by family,
 * histogram parts kept with their family, the file label. The expected
 * texts are small enough to be written out by hand from the format's rules;
 * the bats tests check real output with promtool. */
#include <string.h>

#include "prom_merge.h"
#include "unit.h"

static void merge2(const char *a, const char *a_label, const char *b, const char *b_label,
                   strbuf *out)
{
    prom_merge *pm = prom_merge_new();
    prom_merge_add(pm, a, strlen(a), a_label);
    prom_merge_add(pm, b, strlen(b), b_label);
    prom_merge_format(pm, out);
    prom_merge_free(pm);
}

TEST(shared_family_gets_one_header_and_its_samples_together)
{
    const char *own = "# HELP x_total X.\n# TYPE x_total counter\nx_total{tool=\"a\"} 1\n"
                      "# HELP y Y.\n# TYPE y gauge\ny 5\n";
    const char *file = "# HELP x_total Other help.\n# TYPE x_total counter\n"
                       "x_total{tool=\"b\"} 2\n";
    strbuf sb = STRBUF_INIT;
    merge2(own, NULL, file, "b.prom", &sb);
    CHECK_STR(sb.data, "# HELP x_total X.\n# TYPE x_total counter\nx_total{tool=\"a\"} 1\n"
                       "x_total{file=\"b.prom\",tool=\"b\"} 2\n"
                       "# HELP y Y.\n# TYPE y gauge\ny 5\n");
    sb_free(&sb);
}

TEST(histogram_parts_stay_with_their_family)
{
    const char *a = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                    "h_sum 3\nh_count 2\n# TYPE z gauge\nz 1\n";
    const char *b = "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 7\nh_sum 9\nh_count 7\n";
    strbuf sb = STRBUF_INIT;
    merge2(a, "a.prom", b, "b.prom", &sb);
    CHECK_STR(sb.data, "# TYPE h histogram\n"
                       "h_bucket{file=\"a.prom\",le=\"1\"} 1\n"
                       "h_bucket{file=\"a.prom\",le=\"+Inf\"} 2\n"
                       "h_sum{file=\"a.prom\"} 3\n"
                       "h_count{file=\"a.prom\"} 2\n"
                       "h_bucket{file=\"b.prom\",le=\"+Inf\"} 7\n"
                       "h_sum{file=\"b.prom\"} 9\n"
                       "h_count{file=\"b.prom\"} 7\n"
                       "# TYPE z gauge\nz{file=\"a.prom\"} 1\n");
    sb_free(&sb);
}

TEST(labels_empty_braces_timestamps_and_escapes)
{
    const char *text = "a{} 1\nb 2 1700000000000\r\n";
    strbuf sb = STRBUF_INIT;
    merge2(text, "we\"ird\\.prom", "", NULL, &sb);
    CHECK_STR(sb.data, "a{file=\"we\\\"ird\\\\.prom\"} 1\n"
                       "b{file=\"we\\\"ird\\\\.prom\"} 2 1700000000000\n");
    sb_free(&sb);
}

TEST(junk_lines_and_other_comments_are_dropped)
{
    const char *text = "\n# just a comment\n#HELP nope\n{x=\"1\"} 3\n  \n9bad 1\n"
                       "# TYPE\n# HELP ok_g Fine.\nok_g 1";
    strbuf sb = STRBUF_INIT;
    merge2(text, NULL, "", NULL, &sb);
    CHECK_STR(sb.data, "# HELP ok_g Fine.\nok_g 1\n");
    sb_free(&sb);
}

TEST(nothing_in_nothing_out)
{
    strbuf sb = STRBUF_INIT;
    merge2("", NULL, "", "x.prom", &sb);
    CHECK_INT(sb.len, 0);
    sb_free(&sb);
}

int main(void)
{
    RUN(shared_family_gets_one_header_and_its_samples_together);
    RUN(histogram_parts_stay_with_their_family);
    RUN(labels_empty_braces_timestamps_and_escapes);
    RUN(junk_lines_and_other_comments_are_dropped);
    RUN(nothing_in_nothing_out);
    RETURN_SUMMARY();
}
