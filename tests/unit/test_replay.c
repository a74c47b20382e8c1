/* Unit tests of lib/replay: pacing, --loop spans, --skip/--limit, the --sort
 * store, the progress line and reading inputs. Clocks are passed in, so no
 * test waits or measures time. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "replay.h"
#include "unit.h"

TEST(speed_keeps_scaled_gaps_against_the_newest_time)
{
    replay_pacer p;
    replay_pacer_init(&p, 60, 0);
    int64_t now = 5000;
    CHECK_INT(replay_pacer_delay(&p, true, 1000000, now), 0);
    /* 60 s of event time at 60x: one second. */
    CHECK_INT(replay_pacer_delay(&p, true, 1060000, now), 1000);
    now += 1000;
    /* Older than the newest: out at once, never a wait backwards. */
    CHECK_INT(replay_pacer_delay(&p, true, 1000000, now), 0);
    /* A row without a time does not wait for one. */
    CHECK_INT(replay_pacer_delay(&p, false, 0, now), 0);
    /* Falling behind means no wait, not a negative one. */
    CHECK_INT(replay_pacer_delay(&p, true, 1120000, now + 5000), 0);
    /* One hour of event time takes one minute from the start. */
    CHECK_INT(replay_pacer_delay(&p, true, 1000000 + 3600000, 5000), 60000);
}

TEST(max_speed_never_waits)
{
    replay_pacer p;
    replay_pacer_init(&p, 0, 0);
    CHECK_INT(replay_pacer_delay(&p, true, 0, 10), 0);
    CHECK_INT(replay_pacer_delay(&p, true, 86400000, 10), 0);
}

TEST(rate_caps_rows_per_second)
{
    replay_pacer p;
    replay_pacer_init(&p, 0, 4);
    CHECK_INT(replay_pacer_delay(&p, true, 0, 100), 0);
    CHECK_INT(replay_pacer_delay(&p, true, 0, 100), 250);
    CHECK_INT(replay_pacer_delay(&p, false, 0, 350), 250);
    CHECK_INT(replay_pacer_delay(&p, true, 0, 700), 150);
    /* Far behind (a stalled reader): start afresh, no burst. */
    CHECK_INT(replay_pacer_delay(&p, true, 0, 10000), 0);
    CHECK_INT(replay_pacer_delay(&p, true, 0, 10000), 250);
}

TEST(speed_and_rate_together_take_the_later)
{
    replay_pacer p;
    replay_pacer_init(&p, 1, 10);
    CHECK_INT(replay_pacer_delay(&p, true, 0, 0), 0);
    CHECK_INT(replay_pacer_delay(&p, true, 10, 0), 100);      /* the rate is slower */
    CHECK_INT(replay_pacer_delay(&p, true, 2000, 100), 1900); /* the gap is longer */
}

TEST(speed_option)
{
    double v;
    CHECK_INT(replay_parse_speed("max", &v), 0);
    CHECK(v == 0);
    CHECK_INT(replay_parse_speed("60", &v), 0);
    CHECK(v == 60);
    CHECK_INT(replay_parse_speed("0.5", &v), 0);
    CHECK(v == 0.5);
    CHECK_INT(replay_parse_speed("0", &v), -1);
    CHECK_INT(replay_parse_speed("-2", &v), -1);
    CHECK_INT(replay_parse_speed("fast", &v), -1);
    CHECK_INT(replay_parse_speed("2x", &v), -1);
    CHECK_INT(replay_parse_speed("inf", &v), -1);
    CHECK_INT(replay_parse_speed("", &v), -1);
}

TEST(loop_period_is_span_plus_a_second)
{
    replay_span s = {0};
    CHECK_INT(replay_span_period(&s), 1000);
    replay_span_add(&s, 5000);
    CHECK_INT(replay_span_period(&s), 1000);
    replay_span_add(&s, 2000);
    replay_span_add(&s, 65000);
    replay_span_add(&s, 3000);
    CHECK_INT(s.min_ms, 2000);
    CHECK_INT(s.max_ms, 65000);
    CHECK_INT(replay_span_period(&s), 64000);
}

TEST(skip_and_limit)
{
    replay_count c = {.skip = 2, .limit = 3};
    int sent = 0;
    for (int i = 0; i < 10 && !replay_count_done(&c); i++)
        sent += replay_count_take(&c);
    CHECK_INT(sent, 3);
    CHECK_INT(c.seen, 5);
    replay_count none = {.limit = 0};
    CHECK(replay_count_done(&none));
    replay_count unlimited = {.limit = UINT64_MAX};
    for (int i = 0; i < 100; i++)
        replay_count_take(&unlimited);
    CHECK(!replay_count_done(&unlimited));
    CHECK_INT(unlimited.sent, 100);
}

/* A held row comes back whole: fields, raw bytes, line, and a broken row's
 * error and column. */
TEST(sorted_store_keeps_every_part_of_a_row)
{
    csv_splitter *s = csv_splitter_new();
    replay_sorted *rs = replay_sorted_new();
    csv_layout dummy;
    csv_record r, back;
    const char *broken_error;
    const csv_layout *l;
    CHECK(csv_splitter_feed(s, "a,\"b,c\",", 8, 42, &r));
    replay_sorted_add(rs, &r, &dummy, 1);
    CHECK(csv_splitter_feed(s, "x,\"y", 4, 43, &r));
    broken_error = r.error;
    CHECK(broken_error != NULL);
    replay_sorted_add(rs, &r, &dummy, 2);
    replay_sorted_get(rs, 0, &back, &l);
    CHECK_INT(back.line, 42);
    CHECK_INT(back.nfields, 3);
    CHECK(back.fields[1].len == 3 && memcmp(back.fields[1].s, "b,c", 3) == 0);
    CHECK_INT(back.fields[2].len, 0);
    CHECK_INT(back.raw_len, 8);
    CHECK(memcmp(back.raw, "a,\"b,c\",", 8) == 0);
    CHECK(back.error == NULL);
    replay_sorted_get(rs, 1, &back, &l);
    CHECK(back.error == broken_error);
    CHECK_INT(back.error_column, 1);
    CHECK_INT(back.line, 43);
    replay_sorted_free(rs);
    csv_splitter_free(s);
}

TEST(sorted_store_is_stable)
{
    csv_splitter *s = csv_splitter_new();
    replay_sorted *rs = replay_sorted_new();
    const int64_t times[] = {30, 10, 20, 10, INT64_MIN, 20};
    char line[32];
    csv_record rec;
    csv_layout dummy;
    for (int i = 0; i < 6; i++) {
        snprintf(line, sizeof line, "row%d,x", i);
        CHECK(csv_splitter_feed(s, line, strlen(line), (uint64_t)i + 2, &rec));
        replay_sorted_add(rs, &rec, &dummy, times[i]);
    }
    replay_sorted_sort(rs);
    CHECK_INT(replay_sorted_count(rs), 6);
    const int want[] = {4, 1, 3, 2, 5, 0};
    for (size_t i = 0; i < 6; i++) {
        const csv_layout *l;
        replay_sorted_get(rs, i, &rec, &l);
        snprintf(line, sizeof line, "row%d", want[i]);
        CHECK(rec.fields[0].len == strlen(line) &&
              memcmp(rec.fields[0].s, line, rec.fields[0].len) == 0);
        CHECK_INT(rec.line, want[i] + 2);
        CHECK(l == &dummy);
    }
    replay_sorted_free(rs);
    csv_splitter_free(s);
}

TEST(progress_line)
{
    diag_init("sp-replay");
    strbuf sb = STRBUF_INIT;
    replay_progress_format(&sb, 1234, 99.6, 1756627202000, 1, 4);
    CHECK_STR(sb.data,
              "\rsp-replay: 1234 rows, 100 rows/s, event time 2025-08-31T08:00:02Z, 25%\033[K");
    sb_reset(&sb);
    replay_progress_format(&sb, 0, 0, INT64_MIN, 5, 0);
    CHECK_STR(sb.data, "\rsp-replay: 0 rows, 0 rows/s\033[K");
    sb_free(&sb);
}

/* A temporary file holding text; returns its path (static). */
static const char *temp_csv(const char *name, const char *text)
{
    static char paths[4][64];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, 64, "/tmp/test_replay_%d_%s.csv", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* Read every row of in; returns the count and the trip_id-ish first fields
 * concatenated into out. */
static int read_rows(replay_input *in, char *out, size_t outlen, enum replay_read *last)
{
    int rows = 0;
    out[0] = '\0';
    csv_record rec;
    const csv_layout *l;
    while ((*last = replay_input_next(in, &rec, &l, -1)) == REPLAY_ROW) {
        rows++;
        size_t used = strlen(out);
        if (rec.error || rec.nfields == 0) {
            snprintf(out + used, outlen - used, "!%llu ", (unsigned long long)rec.line);
        } else {
            snprintf(out + used, outlen - used, "%.*s:%s:%llu ", (int)rec.fields[0].len,
                     rec.fields[0].s, csv_layout_name(l), (unsigned long long)rec.line);
        }
    }
    return rows;
}

TEST(inputs_one_after_another)
{
    char *paths[2];
    paths[0] = (char *)temp_csv("a", "trip_id,region_id,event_time,fare,duration,distance\n"
                                     "t1,1,2025-01-01T00:00:00Z,1,60,1\n\n"
                                     "t2,\"1,2025-01-01T00:00:00Z,1,60,1\n");
    paths[1] = (char *)temp_csv("b", "k,ts\r\n\"multi\nline\",2020-01-01T00:00:00Z\r\n\"open,");
    replay_input *in = replay_input_new(paths, 2, NULL);
    const char *bad = NULL;
    CHECK_INT(replay_input_prepare(in, &bad), 0);
    CHECK(replay_input_rewindable(in));
    char seen[256];
    enum replay_read last;
    CHECK_INT(read_rows(in, seen, sizeof seen, &last), 2);
    CHECK_STR(seen, "t1:StreamPulse v1:2 !4 ");
    /* The second file has neither known header and no --time-field. */
    CHECK_INT(last, REPLAY_BAD_HEADER);
    CHECK(strstr(replay_input_error(in), "--time-field") != NULL);
    replay_input_free(in);

    in = replay_input_new(paths, 2, "ts");
    CHECK_INT(replay_input_prepare(in, &bad), 0);
    uint64_t done, total;
    replay_input_progress(in, &done, &total);
    CHECK(total > 0);
    CHECK_INT(done, 0);
    /* With --time-field both are generic; the first has no ts column. */
    read_rows(in, seen, sizeof seen, &last);
    CHECK_INT(last, REPLAY_BAD_HEADER);
    replay_input_free(in);

    in = replay_input_new(paths + 1, 1, "ts");
    CHECK_INT(read_rows(in, seen, sizeof seen, &last), 2);
    CHECK_STR(seen, "multi\nline:generic:2 !4 ");
    CHECK_INT(last, REPLAY_END);
    replay_input_progress(in, &done, &total);
    replay_input_rewind(in);
    CHECK_INT(read_rows(in, seen, sizeof seen, &last), 2);
    CHECK_STR(seen, "multi\nline:generic:2 !4 ");
    replay_input_free(in);
    unlink(paths[0]);
    unlink(paths[1]);
}

TEST(missing_input)
{
    char *paths[] = {(char *)"/nonexistent/trips.csv"};
    replay_input *in = replay_input_new(paths, 1, NULL);
    const char *bad = NULL;
    CHECK_INT(replay_input_prepare(in, &bad), -1);
    CHECK_STR(bad, "/nonexistent/trips.csv");
    replay_input_free(in);
}

int main(void)
{
    RUN(speed_keeps_scaled_gaps_against_the_newest_time);
    RUN(max_speed_never_waits);
    RUN(rate_caps_rows_per_second);
    RUN(speed_and_rate_together_take_the_later);
    RUN(speed_option);
    RUN(loop_period_is_span_plus_a_second);
    RUN(skip_and_limit);
    RUN(sorted_store_keeps_every_part_of_a_row);
    RUN(sorted_store_is_stable);
    RUN(progress_line);
    RUN(inputs_one_after_another);
    RUN(missing_input);
    RETURN_SUMMARY();
}
