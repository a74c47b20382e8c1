/* Unit tests of lib/loss: when the summary speaks, what it names, and the
 * periodic lines of a long run (read back from stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "loss.h"
#include "unit.h"

static const struct dlq_record region_max = {.error = DLQ_SCHEMA_VIOLATION,
                                             .field = "region_id",
                                             .rule = "maximum",
                                             .component = "sp-validate"};
static const struct dlq_record fare_min = {.error = DLQ_SCHEMA_VIOLATION,
                                           .field = "fare",
                                           .rule = "exclusiveMinimum",
                                           .component = "sp-validate"};
static const struct dlq_record late = {
    .error = DLQ_LATE_EVENT, .field = "event_time", .component = "sp-window"};

static void count_n(loss_report *lr, const struct dlq_record *rec, int n)
{
    for (int i = 0; i < n; i++)
        loss_report_count(lr, rec);
}

/* The summary of the whole run is want. */
#define CHECK_SUMMARY(lr, want)                                                                    \
    do {                                                                                           \
        strbuf sb_ = STRBUF_INIT;                                                                  \
        loss_report_format(lr, &sb_);                                                              \
        CHECK_STR(sb_.data ? sb_.data : "", want);                                                 \
        sb_free(&sb_);                                                                             \
    } while (0)

TEST(quiet_below_the_share)
{
    uint64_t input = 1000;
    loss_report *lr = loss_report_new("lines", &input, true, 0);
    count_n(lr, &fare_min, 99); /* 9.9 % */
    CHECK_SUMMARY(lr, "");
    loss_report_count(lr, &fare_min); /* 10 % */
    CHECK_SUMMARY(lr, "100 of 1000 lines failed fare's exclusiveMinimum: the built-in schema is "
                      "StreamPulse v1's: other data needs its own --schema\n");
    loss_report_free(lr);
}

TEST(nyc_zones_under_the_builtin_schema_point_at_the_nyc_schema)
{
    uint64_t input = 10000;
    loss_report *lr = loss_report_new("lines", &input, true, 0);
    count_n(lr, &region_max, 8129);
    count_n(lr, &fare_min, 23);
    CHECK_SUMMARY(lr, "8129 of 10000 lines failed region_id's maximum: NYC taxi data needs "
                      "--schema schemas/nyc_tlc.json (zones 1-265)\n"
                      "and 23 more for other reasons (see the dead-letter records)\n");
    loss_report_free(lr);

    /* With a schema of the user's own, the records say the rest. */
    lr = loss_report_new("lines", &input, false, 0);
    count_n(lr, &region_max, 8129);
    CHECK_SUMMARY(lr, "8129 of 10000 lines failed region_id's maximum\n");
    loss_report_free(lr);
}

TEST(late_events_ask_for_event_time_order)
{
    uint64_t input = 9927;
    loss_report *lr = loss_report_new("events", &input, false, 0);
    count_n(lr, &late, 9914);
    CHECK_SUMMARY(lr, "9914 of 9927 events were late: is the input in event-time order? "
                      "sp-replay --sort, or a larger --max-delay\n");
    loss_report_free(lr);
}

TEST(big_causes_named_biggest_first_small_ones_summed)
{
    uint64_t input = 100;
    loss_report *lr = loss_report_new("lines", &input, false, 0);
    struct dlq_record json = {.error = DLQ_JSON_PARSE_ERROR, .component = "sp-validate"};
    struct dlq_record missing = {.error = DLQ_SCHEMA_VIOLATION,
                                 .field = "trip_id",
                                 .rule = "required",
                                 .component = "sp-validate"};
    count_n(lr, &fare_min, 10);
    count_n(lr, &json, 30);
    count_n(lr, &missing, 10);
    count_n(lr, &region_max, 1);
    CHECK_SUMMARY(lr, "30 of 100 lines were not JSON objects: is the input NDJSON? sp-replay turns "
                      "CSV into events\n"
                      "10 of 100 lines failed fare's exclusiveMinimum\n"
                      "10 of 100 lines had no trip_id\n"
                      "and 1 more for other reasons (see the dead-letter records)\n");
    loss_report_free(lr);
}

/* Run tick with stderr in a file; return what it printed (freed by the
 * caller). */
static char *tick_output(loss_report *lr, int64_t now_ms)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *tmp = tmpfile();
    if (saved < 0 || tmp == NULL) abort();
    dup2(fileno(tmp), STDERR_FILENO);
    loss_report_tick(lr, now_ms);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    long n = ftell(tmp);
    char *text = calloc(1, (size_t)n + 1);
    rewind(tmp);
    if (text == NULL || fread(text, 1, (size_t)n, tmp) != (size_t)n) abort();
    fclose(tmp);
    return text;
}

/* A tick at now_ms prints want. */
#define CHECK_TICK(lr, now_ms, want)                                                               \
    do {                                                                                           \
        char *text_ = tick_output(lr, now_ms);                                                     \
        CHECK_STR(text_, want);                                                                    \
        free(text_);                                                                               \
    } while (0)

TEST(periodic_lines_count_only_their_own_period)
{
    uint64_t input = 0;
    loss_report *lr = loss_report_new("events", &input, false, 1000);
    input = 100;
    count_n(lr, &late, 50);
    CHECK_TICK(lr, 1000 + LOSS_REPORT_INTERVAL_MS - 1, ""); /* not yet */
    CHECK_TICK(lr, 1000 + LOSS_REPORT_INTERVAL_MS,
               "sp-test: in the last 60s, 50 of 100 events were late: is the input in "
               "event-time order? sp-replay --sort, or a larger --max-delay\n");
    /* The next period is clean: nothing. */
    input = 1100;
    CHECK_TICK(lr, 1000 + 2 * LOSS_REPORT_INTERVAL_MS, "");
    /* A bad minute in a long run that is fine as a whole: the periodic line
     * spoke for it, the final summary stays quiet (4.5 %). */
    CHECK_SUMMARY(lr, "");
    /* -q silences the periodic lines too. */
    count_n(lr, &late, 500);
    input = 1700;
    diag_quiet = 1;
    CHECK_TICK(lr, 1000 + 3 * LOSS_REPORT_INTERVAL_MS, "");
    diag_quiet = 0;
    loss_report_free(lr);
}

int main(void)
{
    diag_init("sp-test");
    RUN(quiet_below_the_share);
    RUN(nyc_zones_under_the_builtin_schema_point_at_the_nyc_schema);
    RUN(late_events_ask_for_event_time_order);
    RUN(big_causes_named_biggest_first_small_ones_summed);
    RUN(periodic_lines_count_only_their_own_period);
    RETURN_SUMMARY();
}
