/* test_window: assignment, watermark, lateness, closing order, state. */
#include <math.h>
#include <stdlib.h>

#include "aggregate.h"
#include "checkpoint.h"
#include "unit.h"
#include "window.h"
#include "window_state.h"

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
    struct window_refusal why;
    return window_add(ws, &key, t, values, src, now, &why);
}

/* The members of src's task (NULL: the plain one); zeroes when it has none. */
static struct window_task_info info_of(const window_set *ws, const struct window_source *src)
{
    struct window_task_info info = {0};
    const window_task *t = window_task_find(ws, src);
    if (t != NULL) window_task_describe(t, &info);
    return info;
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
    struct window_refusal why;
    window_add(ws, &b, 10, values, NULL, NOW, &why);
    window_add(ws, &a, 10, values, NULL, NOW, &why);
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
    struct window_refusal why;
    CHECK_INT(window_add(ws, &key, 8 * MIN + 30000, values, NULL, NOW, &why), WINDOW_LATE);
    CHECK_INT(why.start_ms, 8 * MIN);
    CHECK_INT(why.end_ms, 9 * MIN);
    CHECK_INT(info_of(ws, NULL).counts.late, 1);
    /* The window [9m,10m) is still open. */
    CHECK_INT(window_add(ws, &key, 9 * MIN, values, NULL, NOW, &why), WINDOW_ACCEPTED);
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
    CHECK_INT(info_of(ws, NULL).highest, NOW - 10 * MIN);
    CHECK_INT(info_of(ws, NULL).counts.future, 1);
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

TEST(each_partition_is_a_task_with_its_own_watermark)
{
    struct window_config cfg = config();
    cfg.max_delay_ms = MIN;
    window_set *ws = window_set_new(&cfg, collect, NULL);
    reset_output();
    struct window_source parts[2] = {{"events", 6, 0, 0}, {"events", 6, 1, 0}};
    for (int i = 0; i < 60; i++) {
        parts[0].offset = i;
        add_at(ws, 1, (int64_t)i * MIN, 1, &parts[0], NOW);
    }
    CHECK_INT(info_of(ws, &parts[0]).watermark, 58 * MIN);
    CHECK_INT(n_emitted, 58); /* partition 0 closed its own windows */
    /* A backlog in partition 1: never measured against partition 0. */
    parts[1].offset = 0;
    CHECK_INT(add_at(ws, 2, 0, 1, &parts[1], NOW), WINDOW_ACCEPTED);
    CHECK_INT(info_of(ws, &parts[1]).watermark, -MIN);
    parts[1].offset = 1;
    add_at(ws, 2, 30 * MIN, 1, &parts[1], NOW);
    CHECK_INT(info_of(ws, &parts[1]).watermark, 29 * MIN);
    CHECK_INT(info_of(ws, &parts[0]).watermark, 58 * MIN);
    CHECK_INT(info_of(ws, &parts[1]).next_offset, 2);
    CHECK_INT(window_task_count(ws), 2);
    /* Offsets below the next one are recognised as counted. */
    parts[0].offset = 59;
    CHECK(window_already_counted(ws, &parts[0]));
    parts[0].offset = 60;
    CHECK(!window_already_counted(ws, &parts[0]));
    window_set_free(ws);
}

TEST(a_key_stays_in_the_partition_it_came_from)
{
    struct window_config cfg = config();
    window_set *ws = window_set_new(&cfg, collect, NULL);
    struct window_source p0 = {"events", 6, 0, 0}, p1 = {"events", 6, 1, 0};
    struct window_key key = {.num = 7};
    double values[3] = {1, 1, 1};
    struct window_refusal why;
    CHECK_INT(window_add(ws, &key, 1000, values, &p0, NOW, &why), WINDOW_ACCEPTED);
    p1.offset = 5;
    CHECK_INT(window_add(ws, &key, 2000, values, &p1, NOW, &why), WINDOW_KEY_ELSEWHERE);
    CHECK(why.owner == window_task_find(ws, &p0));
    CHECK_INT(info_of(ws, &p1).counts.elsewhere, 1);
    CHECK_INT(info_of(ws, &p1).next_offset, 6); /* refused, but read */
    /* Plain input is one task and is not checked against the partitions. */
    CHECK_INT(window_add(ws, &key, 2000, values, NULL, NOW, &why), WINDOW_ACCEPTED);
    /* Once partition 0's task is handed over, the key is free again. */
    window_task_drop(ws, window_task_find(ws, &p0));
    CHECK(window_task_find(ws, &p0) == NULL);
    CHECK_INT(window_add(ws, &key, 3000, values, &p1, NOW, &why), WINDOW_ACCEPTED);
    window_set_free(ws);
}

TEST(a_dropped_task_emits_nothing_and_leaves_the_others)
{
    struct window_config cfg = config();
    cfg.track_changes = true;
    window_set *ws = window_set_new(&cfg, collect, NULL);
    reset_output();
    struct window_source p0 = {"events", 6, 0, 0}, p1 = {"events", 6, 1, 0};
    for (int k = 0; k < 100; k++) {
        add_at(ws, k, 1000, 1, &p0, NOW);
        add_at(ws, 1000 + k, 1000, 1, &p1, NOW);
    }
    CHECK_INT(window_count(ws), 200);
    window_task_drop(ws, window_task_find(ws, &p0));
    CHECK_INT(window_count(ws), 100);
    window_emit_changed(ws);
    CHECK_INT(n_emitted, 100);
    CHECK(!contains("\"k\":5,"));
    window_close_all(ws);
    CHECK_INT(n_emitted, 200);
    window_set_free(ws);
}

TEST(idle_task_follows_the_wall_clock)
{
    struct window_config cfg = config();
    cfg.idle_timeout_ms = 10000;
    window_set *ws = window_set_new(&cfg, collect, NULL);
    reset_output();
    struct window_source parts[2] = {{"t", 1, 0, 0}, {"t", 1, 1, 0}};
    add_at(ws, 1, 5 * MIN, 1, &parts[0], NOW);
    add_at(ws, 2, 5 * MIN, 1, &parts[1], NOW + 9000);
    window_tick(ws, NOW + 9999);
    CHECK_INT(info_of(ws, &parts[0]).watermark, 5 * MIN);
    window_tick(ws, NOW + 70000); /* partition 0 quiet for 70 s: a minute more */
    CHECK_INT(info_of(ws, &parts[0]).watermark, 5 * MIN + 70000);
    CHECK_INT(info_of(ws, &parts[1]).watermark, 5 * MIN + 61000);
    CHECK_INT(n_emitted, 2);
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

/* The state of ws (or of its task only) as a whole checkpoint document. */
static void checkpoint_of(const window_set *ws, const window_task *only, strbuf *doc)
{
    sb_reset(doc);
    checkpoint_start(doc, "test", 0, NULL, NOW);
    window_state_append(doc, ws, only);
    checkpoint_finish(doc);
}

/* Restore doc into ws. Returns the tasks made, or -1. */
static int restore_from(window_set *ws, const strbuf *doc)
{
    struct checkpoint_reader r;
    char err[256];
    if (checkpoint_reader_parse(&r, doc->data, doc->len, err, sizeof err) != 0) return -1;
    int made = window_state_restore(ws, &r, NOW, err, sizeof err);
    checkpoint_reader_close(&r);
    return made;
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
    checkpoint_of(first, NULL, &text);
    window_set_free(first);

    window_set *second = window_set_new(&cfg, collect, NULL);
    CHECK_INT(restore_from(second, &text), 1);
    feed(second, 12345, 30000);
    window_close_all(second);
    CHECK_STR(emitted.data, uninterrupted);
    window_set_free(second);
    sb_free(&text);
    free(uninterrupted);
}

/* Events of two partitions; a record of partition p at i has key p*100+i%7. */
static void feed_parts(window_set *ws, int from, int to)
{
    for (int i = from; i < to; i++) {
        struct window_source src = {"events", 6, i % 2, i / 2};
        int64_t t = (int64_t)i * 997 - (i * 7919 % 5) * 20000;
        add_at(ws, (i % 2) * 100 + i % 7, t, 1, &src, NOW);
    }
}

TEST(one_task_moves_to_another_set_with_its_keys_and_windows)
{
    struct window_config cfg = config();
    cfg.max_delay_ms = 90000;
    window_set *whole = window_set_new(&cfg, collect, NULL);
    reset_output();
    feed_parts(whole, 0, 20000);
    window_close_all(whole);
    int whole_count = n_emitted;
    window_set_free(whole);

    /* Partition 1 leaves one set half way and continues in another. */
    reset_output();
    window_set *a = window_set_new(&cfg, collect, NULL);
    feed_parts(a, 0, 10000);
    struct window_source p1 = {"events", 6, 1, 0};
    strbuf text = STRBUF_INIT;
    checkpoint_of(a, window_task_find(a, &p1), &text);
    window_task_drop(a, window_task_find(a, &p1));
    window_set *b = window_set_new(&cfg, collect, NULL);
    CHECK_INT(restore_from(b, &text), 1);
    CHECK_INT(window_task_count(b), 1);
    for (int i = 10000; i < 20000; i++) {
        struct window_source src = {"events", 6, i % 2, i / 2};
        int64_t t = (int64_t)i * 997 - (i * 7919 % 5) * 20000;
        add_at(i % 2 ? b : a, (i % 2) * 100 + i % 7, t, 1, &src, NOW);
    }
    window_close_all(a);
    window_close_all(b);
    CHECK_INT(n_emitted, whole_count);
    /* The keys went with it: partition 0 may not take key 101 now in b. */
    struct window_source p0 = {"events", 6, 0, 99999};
    CHECK_INT(add_at(b, 101, 1000, 1, &p0, NOW), WINDOW_KEY_ELSEWHERE);
    window_set_free(a);
    window_set_free(b);
    sb_free(&text);
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
    const char *head = "{\"format\":\"sp-window-checkpoint\",\"version\":2,";
    const char *task = "{\"topic\":\"t\",\"partition\":0,\"next_offset\":1,\"highest\":null,"
                       "\"watermark\":null,\"counts\":{\"events\":0,\"late\":0,\"future\":0,"
                       "\"elsewhere\":0}";
    char bad[6][600];
    snprintf(bad[0], sizeof bad[0], "%s\"windows\":[]}", head);
    snprintf(bad[1], sizeof bad[1], "%s\"tasks\":[{}],\"windows\":[]}", head);
    snprintf(bad[2], sizeof bad[2],
             "%s\"tasks\":[%s}],\"windows\":[{\"task\":1,\"key\":1,"
             "\"start\":0,\"emitted\":false,\"state\":{}}]}",
             head, task);
    snprintf(bad[3], sizeof bad[3],
             "%s\"tasks\":[%s}],\"windows\":[{\"task\":0,\"key\":1,"
             "\"start\":5,\"emitted\":false,\"state\":{\"count\":1,\"fields\":[]}}]}",
             head, task);
    snprintf(bad[4], sizeof bad[4], "%s\"tasks\":[%s},%s}],\"windows\":[]}", head, task, task);
    snprintf(bad[5], sizeof bad[5],
             "%s\"tasks\":[%s,\"keys\":[1]},%s,\"keys\":[1],"
             "\"partition\":1}],\"windows\":[]}",
             head, task, task);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        window_set *ws = window_set_new(&cfg, collect, NULL);
        strbuf doc = STRBUF_INIT;
        sb_puts(&doc, bad[i]);
        CHECK_INT(restore_from(ws, &doc), -1);
        CHECK_INT(window_count(ws), 0);
        CHECK_INT(window_task_count(ws), 0);
        sb_free(&doc);
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
    RUN(each_partition_is_a_task_with_its_own_watermark);
    RUN(a_key_stays_in_the_partition_it_came_from);
    RUN(a_dropped_task_emits_nothing_and_leaves_the_others);
    RUN(idle_task_follows_the_wall_clock);
    RUN(emit_changed_gives_provisional_results_once);
    RUN(state_round_trip_continues_exactly);
    RUN(one_task_moves_to_another_set_with_its_keys_and_windows);
    RUN(many_keys_hash_table_keeps_every_window);
    RUN(restore_rejects_bad_state);
    RUN(config_check);
    sb_free(&emitted);
    RETURN_SUMMARY();
}
