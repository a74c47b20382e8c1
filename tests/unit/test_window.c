/* test_window: assignment, watermark, lateness, closing order, state. */
#include <math.h>
#include <stdlib.h>

#include "aggregate.h"
#include "unit.h"
#include "window.h"

#define MIN 60000

static struct agg_spec spec;
static strbuf emitted = STRBUF_INIT; /* every result, one line each */
static int n_emitted;

static void collect(void *ctx, const struct window_result *r)
{
    (void)ctx;
    window_result_format(&emitted, r);
    n_emitted++;
}

static void reset_output(void)
{
    sb_reset(&emitted);
    sb_puts(&emitted, "");
    n_emitted = 0;
}

static struct window_config config(void)
{
    struct window_config cfg = {.size_ms = MIN,
                                .slide_ms = MIN,
                                .max_delay_ms = 0,
                                .max_future_ms = 3600000,
                                .spec = &spec};
    strcpy(cfg.key_name, "k");
    return cfg;
}

/* Add an event with key k (integer) at time t (ms), fare/distance/duration v. */
static enum window_verdict add_at(window_set *ws, int64_t k, int64_t t, double v,
                                  const struct window_source *src, int64_t now)
{
    struct window_key key = {.num = k};
    double values[3] = {v, v, v};
    struct window_span span;
    return window_add(ws, &key, t, values, src, now, &span);
}

static const int64_t NOW = 1700000000000LL; /* a wall clock well after the events */

static bool contains(const char *needle)
{
    return emitted.data != NULL && strstr(emitted.data, needle) != NULL;
}

TEST(tumbling_closes_in_end_then_key_order)
{
    struct window_config cfg = config();
    window_set *ws = window_set_new(&cfg, collect, NULL);
    reset_output();
    CHECK_INT(add_at(ws, 10, 1000, 1, NULL, NOW), WINDOW_ACCEPTED);
    CHECK_INT(add_at(ws, 9, 2000, 1, NULL, NOW), WINDOW_ACCEPTED);
    CHECK_INT(add_at(ws, 10, MIN + 5, 1, NULL, NOW), WINDOW_ACCEPTED); /* closes [0,1m) */
    CHECK_INT(n_emitted, 2);
    /* Key 9 before key 10: numeric order, not text order. */
    CHECK(strstr(emitted.data, "\"k\":9,") < strstr(emitted.data, "\"k\":10,"));
    CHECK(contains(
        "\"windowStart\":\"1970-01-01T00:00:00Z\",\"windowEnd\":\"1970-01-01T00:01:00Z\""));
    CHECK_INT(window_count(ws), 1);
    reset_output();
    window_close_all(ws);
    CHECK_INT(n_emitted, 1);
    CHECK(contains("\"windowStart\":\"1970-01-01T00:01:00Z\""));
    CHECK_INT(window_count(ws), 0);
    window_set_free(ws);
}

TEST(string_keys_after_integers_bytewise)
{
    struct window_config cfg = config();
    window_set *ws = window_set_new(&cfg, collect, NULL);
    reset_output();
    struct window_key b = {.is_string = true, .text = "b", .len = 1};
    struct window_key a = {.is_string = true, .text = "ab", .len = 2};
    double values[3] = {1, 1, 1};
    struct window_span span;
    window_add(ws, &b, 10, values, NULL, NOW, &span);
    window_add(ws, &a, 10, values, NULL, NOW, &span);
    add_at(ws, 500, 10, 1, NULL, NOW);
    window_close_all(ws);
    const char *p500 = strstr(emitted.data, "\"k\":500"),
               *pab = strstr(emitted.data, "\"k\":\"ab\""),
               *pb = strstr(emitted.data, "\"k\":\"b\"");
    CHECK(p500 && pab && pb && p500 < pab && pab < pb);
    window_set_free(ws);
}

TEST(disorder_within_delay_lands_in_its_window)
{
    struct window_config cfg = config();
    cfg.max_delay_ms = 5 * MIN;
    window_set *ws = window_set_new(&cfg, collect, NULL);
    reset_output();
    add_at(ws, 1, 10 * MIN + 1, 100, NULL, NOW);
    CHECK_INT(add_at(ws, 1, 6 * MIN, 200, NULL, NOW), WINDOW_ACCEPTED); /* 4 min behind */
    CHECK_INT(n_emitted, 0);
    add_at(ws, 1, 12 * MIN, 1, NULL, NOW); /* watermark 7m: closes [6m,7m) */
    CHECK_INT(n_emitted, 1);
    CHECK(contains("\"windowStart\":\"1970-01-01T00:06:00Z\""));
    CHECK(contains("\"tripCount\":1,\"avgFare\":200,"));
    window_set_free(ws);
}

TEST(past_delay_is_late_with_its_window)
{
    struct window_config cfg = config();
    cfg.max_delay_ms = MIN;
    window_set *ws = window_set_new(&cfg, collect, NULL);
    add_at(ws, 1, 10 * MIN, 1, NULL, NOW); /* watermark 9m */
    struct window_key key = {.num = 1};
    double values[3] = {1, 1, 1};
    struct window_span span;
    CHECK_INT(window_add(ws, &key, 8 * MIN + 30000, values, NULL, NOW, &span), WINDOW_LATE);
    CHECK_INT(span.start_ms, 8 * MIN);
    CHECK_INT(span.end_ms, 9 * MIN);
    /* The window [9m,10m) is still open. */
    CHECK_INT(window_add(ws, &key, 9 * MIN, values, NULL, NOW, &span), WINDOW_ACCEPTED);
    window_set_free(ws);
}

TEST(allowed_lateness_reemits_updated_result)
{
    struct window_config cfg = config();
    cfg.allowed_lateness_ms = 2 * MIN;
    window_set *ws = window_set_new(&cfg, collect, NULL);
    reset_output();
    add_at(ws, 1, 1000, 10, NULL, NOW);
    add_at(ws, 1, MIN, 10, NULL, NOW); /* watermark 1m: [0,1m) closes */
    CHECK_INT(n_emitted, 1);
    CHECK(contains("\"tripCount\":1,"));
    reset_output();
    CHECK_INT(add_at(ws, 1, 2000, 30, NULL, NOW), WINDOW_ACCEPTED);
    CHECK_INT(n_emitted, 1);
    CHECK(contains("\"windowStart\":\"1970-01-01T00:00:00Z\""));
    CHECK(contains("\"tripCount\":2,\"avgFare\":20,"));
    CHECK(contains("\"final\":true"));
    /* A key with no window yet in a closed period within lateness: out at once. */
    reset_output();
    CHECK_INT(add_at(ws, 2, 3000, 5, NULL, NOW), WINDOW_ACCEPTED);
    CHECK_INT(n_emitted, 1);
    CHECK(contains("\"k\":2,"));
    /* Past end + lateness: late, and the window has been let go. */
    add_at(ws, 1, 3 * MIN, 1, NULL, NOW);
    CHECK_INT(add_at(ws, 1, 4000, 1, NULL, NOW), WINDOW_LATE);
    CHECK_INT(window_count(ws), 2); /* [1m,2m) kept for lateness, [3m,4m) open */
    window_set_free(ws);
}

TEST(future_event_is_refused_and_moves_nothing)
{
    struct window_config cfg = config();
    window_set *ws = window_set_new(&cfg, collect, NULL);
    reset_output();
    add_at(ws, 1, NOW - 10 * MIN, 1, NULL, NOW);
    CHECK_INT(add_at(ws, 1, NOW + 2 * 3600000LL, 1, NULL, NOW), WINDOW_FUTURE);
    CHECK_INT(window_highest(ws), NOW - 10 * MIN);
    CHECK_INT(add_at(ws, 1, NOW - 10 * MIN + 1, 1, NULL, NOW), WINDOW_ACCEPTED);
    CHECK_INT(n_emitted, 0);
    window_set_free(ws);
}

TEST(hopping_windows_take_each_event_size_over_slide_times)
{
    struct window_config cfg = config();
    cfg.size_ms = 3 * MIN;
    cfg.slide_ms = MIN;
    window_set *ws = window_set_new(&cfg, collect, NULL);
    reset_output();
    add_at(ws, 1, 10 * MIN + 1, 1, NULL, NOW);
    CHECK_INT(window_count(ws), 3);
    window_close_all(ws);
    CHECK_INT(n_emitted, 3);
    CHECK(contains(
        "\"windowStart\":\"1970-01-01T00:08:00Z\",\"windowEnd\":\"1970-01-01T00:11:00Z\""));
    CHECK(contains(
        "\"windowStart\":\"1970-01-01T00:10:00Z\",\"windowEnd\":\"1970-01-01T00:13:00Z\""));
    window_set_free(ws);
}

TEST(partition_backlog_does_not_make_another_late)
{
    struct window_config cfg = config();
    cfg.max_delay_ms = MIN;
    window_set *ws = window_set_new(&cfg, collect, NULL);
    struct window_source parts[2] = {{"events", 6, 0, 0}, {"events", 6, 1, 0}};
    window_assign(ws, parts, 2, NOW);
    for (int i = 0; i < 60; i++) {
        parts[0].offset = i;
        add_at(ws, 1, (int64_t)i * MIN, 1, &parts[0], NOW);
    }
    CHECK(window_watermark(ws) == INT64_MIN); /* partition 1 has sent nothing */
    parts[1].offset = 0;
    CHECK_INT(add_at(ws, 2, 0, 1, &parts[1], NOW), WINDOW_ACCEPTED);
    CHECK_INT(window_watermark(ws), -MIN);
    parts[1].offset = 1;
    add_at(ws, 2, 30 * MIN, 1, &parts[1], NOW);
    CHECK_INT(window_watermark(ws), 29 * MIN);
    /* Offsets below the next one are recognised as counted. */
    parts[0].offset = 59;
    CHECK(window_already_counted(ws, &parts[0]));
    parts[0].offset = 60;
    CHECK(!window_already_counted(ws, &parts[0]));
    window_set_free(ws);
}

TEST(idle_partition_and_idle_input)
{
    struct window_config cfg = config();
    cfg.idle_timeout_ms = 10000;
    window_set *ws = window_set_new(&cfg, collect, NULL);
    reset_output();
    struct window_source parts[2] = {{"t", 1, 0, 0}, {"t", 1, 1, 0}};
    window_assign(ws, parts, 2, NOW);
    add_at(ws, 1, 5 * MIN, 1, &parts[0], NOW);
    CHECK(window_watermark(ws) == INT64_MIN);
    add_at(ws, 1, 5 * MIN + 1, 1, &parts[0], NOW + 9000);
    window_tick(ws, NOW + 9999);
    CHECK(window_watermark(ws) == INT64_MIN);
    window_tick(ws, NOW + 10000); /* partition 1 idle for 10 s */
    CHECK_INT(window_watermark(ws), 5 * MIN + 1);
    /* Nothing arrives for 10 s: the watermark follows the wall clock. */
    window_tick(ws, NOW + 9000 + 60000);
    CHECK_INT(window_watermark(ws), 5 * MIN + 1 + 60000);
    CHECK_INT(n_emitted, 1);
    window_set_free(ws);
}

TEST(emit_changed_gives_provisional_results_once)
{
    struct window_config cfg = config();
    cfg.max_delay_ms = 10 * MIN;
    cfg.track_changes = true;
    window_set *ws = window_set_new(&cfg, collect, NULL);
    reset_output();
    add_at(ws, 2, 1000, 1, NULL, NOW);
    add_at(ws, 1, 1000, 1, NULL, NOW);
    add_at(ws, 1, MIN + 1, 1, NULL, NOW);
    window_emit_changed(ws);
    CHECK_INT(n_emitted, 3);
    CHECK(strstr(emitted.data, "\"final\":true") == NULL);
    CHECK(strstr(emitted.data, "\"k\":1,") < strstr(emitted.data, "\"k\":2,"));
    reset_output();
    window_emit_changed(ws);
    CHECK_INT(n_emitted, 0);
    add_at(ws, 2, 2000, 1, NULL, NOW);
    window_emit_changed(ws);
    CHECK_INT(n_emitted, 1);
    CHECK(contains("\"k\":2,\"windowStart\":\"1970-01-01T00:00:00Z\""));
    CHECK(contains("\"tripCount\":2"));
    window_set_free(ws);
}

/* Run events [from, to) of a fixed pseudo-random stream. */
static void feed(window_set *ws, int from, int to)
{
    for (int i = from; i < to; i++) {
        int64_t t = (int64_t)i * 997 - (i * 7919 % 5) * 20000;
        add_at(ws, (i * 31) % 50, t, (double)(i % 977) / 3.0, NULL, NOW);
    }
}

TEST(state_round_trip_continues_exactly)
{
    struct window_config cfg = config();
    cfg.max_delay_ms = 90000;
    cfg.allowed_lateness_ms = 30000;
    window_set *whole = window_set_new(&cfg, collect, NULL);
    reset_output();
    feed(whole, 0, 30000);
    window_close_all(whole);
    char *uninterrupted = strdup(emitted.data);
    window_set_free(whole);

    reset_output();
    window_set *first = window_set_new(&cfg, collect, NULL);
    feed(first, 0, 12345);
    strbuf text = STRBUF_INIT;
    sb_putc(&text, '{');
    window_state_append_json(&text, first);
    sb_putc(&text, '}');
    window_set_free(first);

    window_set *second = window_set_new(&cfg, collect, NULL);
    json_t *back = json_loads(text.data, 0, NULL);
    char err[256];
    CHECK_INT(window_state_from_json(second, back, NOW, err, sizeof err), 0);
    feed(second, 12345, 30000);
    window_close_all(second);
    CHECK_STR(emitted.data, uninterrupted);
    window_set_free(second);
    json_decref(back);
    sb_free(&text);
    free(uninterrupted);
}

TEST(many_keys_hash_table_keeps_every_window)
{
    struct window_config cfg = config();
    window_set *ws = window_set_new(&cfg, collect, NULL);
    reset_output();
    /* 20 minutes x 5000 keys, in time order: every window closes exactly once. */
    for (int m = 0; m < 20; m++)
        for (int k = 0; k < 5000; k++)
            add_at(ws, k * 7919, (int64_t)m * MIN + k, 1, NULL, NOW);
    window_close_all(ws);
    CHECK_INT(n_emitted, 20 * 5000);
    CHECK_INT(window_count(ws), 0);
    window_set_free(ws);
}

TEST(restore_rejects_bad_state)
{
    struct window_config cfg = config();
    const char *bad[] = {
        "{}",
        "{\"watermark\":\"x\",\"highest\":null,\"assignment_known\":false,\"partitions\":[],"
        "\"windows\":[]}",
        ("{\"watermark\":null,\"highest\":null,\"assignment_known\":false,\"partitions\":[],"
         "\"windows\":[{\"key\":1,\"start\":5,\"emitted\":false,\"state\":{\"count\":1,"
         "\"fields\":[]}}]}"),
        "{\"watermark\":null,\"highest\":null,\"assignment_known\":false,\"partitions\":[{}],"
        "\"windows\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        window_set *ws = window_set_new(&cfg, collect, NULL);
        json_t *j = json_loads(bad[i], 0, NULL);
        char err[256];
        CHECK_INT(window_state_from_json(ws, j, NOW, err, sizeof err), -1);
        CHECK_INT(window_count(ws), 0);
        json_decref(j);
        window_set_free(ws);
    }
}

TEST(config_check)
{
    struct window_config cfg = config();
    CHECK(window_config_check(&cfg) == NULL);
    cfg.slide_ms = 2 * MIN;
    CHECK(window_config_check(&cfg) != NULL);
    cfg.slide_ms = 1;
    CHECK(window_config_check(&cfg) != NULL); /* 60000 windows per event */
    cfg.slide_ms = MIN;
    cfg.size_ms = 0;
    CHECK(window_config_check(&cfg) != NULL);
}

int main(void)
{
    char err[128];
    agg_spec_init(&spec);
    agg_spec_add(&spec, "tripCount=count", err, sizeof err);
    agg_spec_add(&spec, "avgFare=avg:fare", err, sizeof err);
    agg_spec_add(&spec, "p50=p50:duration", err, sizeof err);
    RUN(tumbling_closes_in_end_then_key_order);
    RUN(string_keys_after_integers_bytewise);
    RUN(disorder_within_delay_lands_in_its_window);
    RUN(past_delay_is_late_with_its_window);
    RUN(allowed_lateness_reemits_updated_result);
    RUN(future_event_is_refused_and_moves_nothing);
    RUN(hopping_windows_take_each_event_size_over_slide_times);
    RUN(partition_backlog_does_not_make_another_late);
    RUN(idle_partition_and_idle_input);
    RUN(emit_changed_gives_provisional_results_once);
    RUN(state_round_trip_continues_exactly);
    RUN(many_keys_hash_table_keeps_every_window);
    RUN(restore_rejects_bad_state);
    RUN(config_check);
    sb_free(&emitted);
    RETURN_SUMMARY();
}
