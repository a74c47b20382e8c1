/* test_redis_store: the pure parts of redis_store: key names (SPEC section
 * 7), URL parsing, the backoff schedule, and the batch as it goes on the
 * wire, read back with a small RESP parser written here. */
#include <stdlib.h>
#include <string.h>

#include "redis_store.h"
#include "unit.h"

TEST(key_names_follow_the_spec)
{
    strbuf sb = STRBUF_INIT;
    redis_key_window(&sb, 5, 1756627200);
    CHECK_STR(sb.data, "region:5:window:1756627200");
    sb_reset(&sb);
    redis_key_index(&sb, 17);
    CHECK_STR(sb.data, "region:17:windows");
    sb_reset(&sb);
    redis_key_rank(&sb, 1756627260, "avgFare");
    CHECK_STR(sb.data, "window:1756627260:rank:avgFare");
    CHECK_STR(REDIS_KEY_REGIONS, "regions");
    CHECK_STR(REDIS_KEY_LATEST, "sp:latest_window");
    sb_free(&sb);
}

TEST(url_parts_and_defaults)
{
    struct redis_target t;
    char err[128];
    redis_target_default(&t);
    CHECK_INT(redis_target_parse_url("redis://cache.local", &t, err, sizeof err), 0);
    CHECK_STR(t.host, "cache.local");
    CHECK_INT(t.port, 6379);
    CHECK_INT(t.db, 0);
    CHECK_STR(t.password, "");

    redis_target_default(&t);
    CHECK_INT(redis_target_parse_url("redis://:s3cr@t@10.0.0.2:6380/4", &t, err, sizeof err), 0);
    CHECK_STR(t.password, "s3cr@t");
    CHECK_STR(t.host, "10.0.0.2");
    CHECK_INT(t.port, 6380);
    CHECK_INT(t.db, 4);

    redis_target_default(&t);
    CHECK_INT(redis_target_parse_url("redis://admin:pw@h/2", &t, err, sizeof err), 0);
    CHECK_STR(t.password, "pw");
    CHECK_STR(t.host, "h");
    CHECK_INT(t.db, 2);

    redis_target_default(&t);
    CHECK_INT(redis_target_parse_url("redis://:7000", &t, err, sizeof err), 0);
    CHECK_STR(t.host, "127.0.0.1");
    CHECK_INT(t.port, 7000);

    char where[64];
    redis_target_describe(&t, where, sizeof where);
    CHECK_STR(where, "127.0.0.1:7000");
}

TEST(bad_urls_are_refused)
{
    const char *bad[] = {
        "http://h",   "redis:/h",    "redis://h:0",  "redis://h:65536",      "redis://h:6x",
        "redis://h:", "redis://h/x", "redis://h/-1", "redis://h/99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct redis_target t;
        char err[128] = "";
        redis_target_default(&t);
        CHECK_INT(redis_target_parse_url(bad[i], &t, err, sizeof err), -1);
        CHECK(err[0] != '\0');
    }
}

TEST(socket_path)
{
    struct redis_target t;
    redis_target_default(&t);
    CHECK_INT(redis_target_set_socket(&t, "/run/redis.sock"), 0);
    char where[128];
    redis_target_describe(&t, where, sizeof where);
    CHECK_STR(where, "/run/redis.sock");
    char longpath[300];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    CHECK_INT(redis_target_set_socket(&t, longpath), -1);
    CHECK_INT(redis_target_set_socket(&t, ""), -1);
}

TEST(backoff_doubles_then_caps)
{
    const int64_t want[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_INT(redis_backoff_ms(i), want[i]);
    CHECK_INT(redis_backoff_ms(1000), REDIS_BACKOFF_MAX_MS);
    CHECK_INT(redis_backoff_ms(~0u), REDIS_BACKOFF_MAX_MS);
}

/* ---- the wire format, read back ---- */

struct command {
    size_t argc;
    char *argv[64];
};

/* Parse RESP arrays of bulk strings (what a client sends). Returns the
 * number of commands, or -1 when the text is not exactly that. */
static int parse_resp(const char *p, size_t n, struct command *cmds, int max)
{
    const char *end = p + n;
    int count = 0;
    while (p < end) {
        if (count == max || *p != '*') return -1;
        char *q;
        long argc = strtol(p + 1, &q, 10);
        if (q[0] != '\r' || q[1] != '\n' || argc < 1 || argc > 64) return -1;
        p = q + 2;
        struct command *c = &cmds[count++];
        c->argc = (size_t)argc;
        for (long i = 0; i < argc; i++) {
            if (*p != '$') return -1;
            long len = strtol(p + 1, &q, 10);
            if (q[0] != '\r' || q[1] != '\n' || len < 0 || q + 2 + len + 2 > end) return -1;
            c->argv[i] = strndup(q + 2, (size_t)len);
            p = q + 2 + len;
            if (p[0] != '\r' || p[1] != '\n') return -1;
            p += 2;
        }
    }
    return count;
}

static void free_commands(struct command *cmds, int n)
{
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < cmds[i].argc; k++)
            free(cmds[i].argv[k]);
}

static void add_line(redis_batch *b, const char *line)
{
    struct window_result r;
    char err[128];
    CHECK_INT(window_result_parse(line, strlen(line), &r, err, sizeof err), 0);
    CHECK_INT(redis_batch_add(b, &r, line, strlen(line), err, sizeof err), 0);
}

static const struct command *find(const struct command *cmds, int n, const char *name,
                                  const char *key)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(cmds[i].argv[0], name) != 0) continue;
        /* EVAL name script numkeys key... */
        const char *k = strcmp(name, "EVAL") == 0 ? cmds[i].argv[3] : cmds[i].argv[1];
        if (key == NULL || strcmp(k, key) == 0) return &cmds[i];
    }
    return NULL;
}

static int count_named(const struct command *cmds, int n, const char *name)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += strcmp(cmds[i].argv[0], name) == 0;
    return c;
}

#define R(region, minute, trips, fare, final)                                                      \
    "{\"regionId\":" #region ",\"windowStart\":\"2025-08-31T08:0" #minute                          \
    ":00Z\",\"windowEnd\":\"2025-08-31T08:0" #minute ":59Z\",\"tripCount\":" #trips                \
    ",\"avgFare\":" #fare ",\"final\":" #final "}"

TEST(batch_merges_updates_per_key_in_one_transaction)
{
    const char *ranks[] = {"tripCount", "avgFare"};
    redis_batch *b = redis_batch_new(3600, ranks, 2);
    add_line(b, R(2, 0, 10, 40.5, true));
    add_line(b, R(1, 0, 30, 12.25, true));
    add_line(b, R(2, 1, 5, 7, false));
    add_line(b, R(2, 0, 11, 41, true)); /* the same window again: the later one wins */
    CHECK_INT(redis_batch_count(b), 4);

    strbuf wire = STRBUF_INIT;
    size_t n_commands;
    redis_batch_encode(b, &wire, &n_commands);
    struct command cmds[64];
    int n = parse_resp(wire.data, wire.len, cmds, 64);
    CHECK_INT(n, (long long)n_commands);
    CHECK_STR(cmds[0].argv[0], "MULTI");
    CHECK_STR(cmds[n - 1].argv[0], "EXEC");

    /* one SET per result, in arrival order, exact bytes, with EX */
    CHECK_INT(count_named(cmds, n, "SET"), 4);
    CHECK_STR(cmds[1].argv[1], "region:2:window:1756627200");
    CHECK_STR(cmds[1].argv[2], R(2, 0, 10, 40.5, true));
    CHECK_STR(cmds[1].argv[3], "EX");
    CHECK_STR(cmds[1].argv[4], "3600");
    CHECK_STR(cmds[4].argv[2], R(2, 0, 11, 41, true));

    /* one index ZADD per region, each start once, then the trim with the ttl */
    const struct command *idx = find(cmds, n, "ZADD", "region:2:windows");
    CHECK(idx != NULL);
    if (idx) {
        CHECK_INT(idx->argc, 6);
        CHECK_STR(idx->argv[2], "1756627200");
        CHECK_STR(idx->argv[3], "1756627200");
        CHECK_STR(idx->argv[4], "1756627260");
        CHECK_STR(idx->argv[5], "1756627260");
    }
    const struct command *trim = find(cmds, n, "EVAL", "region:2:windows");
    CHECK(trim != NULL);
    if (trim) CHECK_STR(trim->argv[4], "3600");
    CHECK(find(cmds, n, "ZADD", "region:1:windows") != NULL);
    CHECK(find(cmds, n, "EVAL", "region:1:windows") != NULL);

    const struct command *sadd = find(cmds, n, "SADD", "regions");
    CHECK(sadd != NULL);
    if (sadd) {
        CHECK_INT(sadd->argc, 4);
        CHECK_STR(sadd->argv[2], "1");
        CHECK_STR(sadd->argv[3], "2");
    }

    /* one ZADD per window and metric; region 2 twice, the later score last */
    const struct command *z = find(cmds, n, "ZADD", "window:1756627200:rank:tripCount");
    CHECK(z != NULL);
    if (z) {
        CHECK_INT(z->argc, 8);
        CHECK_STR(z->argv[3], "2");
        CHECK_STR(z->argv[7], "2");
        CHECK_STR(z->argv[6], "11");
        CHECK_INT(atof(z->argv[2]), 10);
    }
    z = find(cmds, n, "ZADD", "window:1756627200:rank:avgFare");
    CHECK(z != NULL);
    if (z) CHECK(atof(z->argv[4]) == 12.25);
    CHECK(find(cmds, n, "EXPIRE", "window:1756627260:rank:avgFare") != NULL);
    CHECK_INT(count_named(cmds, n, "ZADD"), 4 + 2);
    CHECK_INT(count_named(cmds, n, "EXPIRE"), 4);

    /* sp:latest_window: the newest FINAL start (minute 1 was provisional) */
    const struct command *latest = find(cmds, n, "EVAL", "sp:latest_window");
    CHECK(latest != NULL);
    if (latest) CHECK_STR(latest->argv[4], "1756627200");

    free_commands(cmds, n);
    redis_batch_clear(b);
    CHECK_INT(redis_batch_count(b), 0);
    redis_batch_encode(b, &wire, &n_commands);
    CHECK_INT(n_commands, 2); /* MULTI, EXEC */
    sb_free(&wire);
    redis_batch_free(b);
}

TEST(ttl_zero_means_no_expiry_and_provisional_only_means_no_latest)
{
    const char *ranks[] = {"tripCount"};
    redis_batch *b = redis_batch_new(0, ranks, 1);
    add_line(b, R(3, 2, 4, 9, false));
    strbuf wire = STRBUF_INIT;
    size_t n_commands;
    redis_batch_encode(b, &wire, &n_commands);
    struct command cmds[16];
    int n = parse_resp(wire.data, wire.len, cmds, 16);
    CHECK_INT(n, (long long)n_commands);
    const struct command *set = find(cmds, n, "SET", NULL);
    CHECK(set != NULL);
    if (set) CHECK_INT(set->argc, 3);
    CHECK_INT(count_named(cmds, n, "EXPIRE"), 0);
    CHECK(find(cmds, n, "EVAL", "sp:latest_window") == NULL);
    CHECK(find(cmds, n, "ZADD", "region:3:windows") != NULL);
    CHECK(find(cmds, n, "EVAL", "region:3:windows") == NULL); /* no trim without a ttl */
    free_commands(cmds, n);
    sb_free(&wire);
    redis_batch_free(b);
}

TEST(results_without_a_region_id_are_refused)
{
    redis_batch *b = redis_batch_new(60, NULL, 0);
    const char *bad[] = {
        "{\"regionId\":-4,\"windowStart\":\"2025-08-31T08:00:00Z\",\"windowEnd\":\"2025-08-31T08:"
        "01:00Z\"}",
        "{\"regionId\":\"north\",\"windowStart\":\"2025-08-31T08:00:00Z\",\"windowEnd\":\"2025-08-"
        "31T08:01:00Z\"}",
        "{\"regionId\":1234567890123456,\"windowStart\":\"2025-08-31T08:00:00Z\",\"windowEnd\":"
        "\"2025-08-31T08:01:00Z\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct window_result r;
        char err[128] = "";
        CHECK_INT(window_result_parse(bad[i], strlen(bad[i]), &r, err, sizeof err), 0);
        CHECK_INT(redis_batch_add(b, &r, bad[i], strlen(bad[i]), err, sizeof err), -1);
        CHECK(strstr(err, "region id") != NULL);
    }
    CHECK_INT(redis_batch_count(b), 0);
    redis_batch_free(b);
}

int main(void)
{
    RUN(key_names_follow_the_spec);
    RUN(url_parts_and_defaults);
    RUN(bad_urls_are_refused);
    RUN(socket_path);
    RUN(backoff_doubles_then_caps);
    RUN(batch_merges_updates_per_key_in_one_transaction);
    RUN(ttl_zero_means_no_expiry_and_provisional_only_means_no_latest);
    RUN(results_without_a_region_id_are_refused);
    RETURN_SUMMARY();
}
