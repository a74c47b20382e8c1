/* redis_store: the Redis key layout of SPEC section 7, batched writes and
 * one-round-trip reads. See redis_store.h for the contract. */
#include "redis_store.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "ndjson.h"

/* ---- scripts ----
 * Server-side steps that would otherwise need a second round trip, or a
 * read-then-write that must not race with another writer. EVAL (rather than
 * EVALSHA) keeps them working after a restart or SCRIPT FLUSH; Redis caches
 * the compiled script by its hash, so the cost is hashing a few hundred
 * bytes. Key prefixes come from the C functions below, so the layout stays
 * written down once. */

/* KEYS[1] a region's index; ARGV[1] the ttl in seconds. Drops the starts
 * older than the ttl counted back from the index's newest start (event
 * time), whichever batch wrote that newest start. */
static const char SCRIPT_TRIM[] =
    "local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES') "
    "if top[2] then "
    "  local floor = tonumber(top[2]) - tonumber(ARGV[1]) "
    "  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. floor) "
    "end "
    "return 0";

/* KEYS[1] sp:latest_window; ARGV[1] a final window start. Only moves it
 * forward, so replaying older results never lowers it. */
static const char SCRIPT_LATEST[] =
    "local cur = tonumber(redis.call('GET', KEYS[1])) "
    "local new = tonumber(ARGV[1]) "
    "if cur == nil or new > cur then redis.call('SET', KEYS[1], ARGV[1]) end "
    "return 0";

/* KEYS[1] a region's index; ARGV[1] the region's value key prefix; ARGV[2]
 * the newest start wanted ('+inf' for any). The value of the newest window
 * whose key has not expired (a few tries: the index is trimmed by event time,
 * the values expire by wall-clock time). */
static const char SCRIPT_NEWEST[] =
    "local starts = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[2], '-inf', 'LIMIT', 0, 16) "
    "for _, s in ipairs(starts) do "
    "  local v = redis.call('GET', ARGV[1] .. s) "
    "  if v then return v end "
    "end "
    "return false";

/* KEYS[1] a region's index; ARGV[1] the value key prefix; ARGV[2], ARGV[3]
 * the start range; ARGV[4] the most windows to return. The values, oldest
 * first, leaving out expired ones. */
static const char SCRIPT_RANGE[] =
    "local starts = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[3], 'LIMIT', 0, ARGV[4]) "
    "local out = {} "
    "for _, s in ipairs(starts) do "
    "  local v = redis.call('GET', ARGV[1] .. s) "
    "  if v then out[#out + 1] = v end "
    "end "
    "return out";

/* KEYS[1] the regions set; ARGV[1] a time in epoch seconds; ARGV[2], ARGV[3]
 * the index key around the region id ("region:", ":windows"); ARGV[4] the
 * value key infix (":window:"). Over every region, the newest window start at
 * or before the time, with one of its values: {start, value}. */
static const char SCRIPT_WINDOW_AT[] =
    "local best, best_region = nil, nil "
    "for _, r in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
    "  local s = redis.call('ZREVRANGEBYSCORE', ARGV[2] .. r .. ARGV[3], ARGV[1], '-inf', "
    "                       'LIMIT', 0, 1) "
    "  if s[1] and (best == nil or tonumber(s[1]) > best) then "
    "    best, best_region = tonumber(s[1]), r "
    "  end "
    "end "
    "if best == nil then return false end "
    "local start = string.format('%d', best) "
    "local v = redis.call('GET', ARGV[2] .. best_region .. ARGV[4] .. start) "
    "return {start, v or ''}";

/* KEYS[1] sp:latest_window; KEYS[2] the regions set; ARGV[1], ARGV[2] the
 * value key around the region id ("region:", ":window:"). {W, ids, values}:
 * the newest final window start, every region id and its value at W (false
 * where it has none), or false while sp:latest_window is unset. MGET goes in
 * slices because unpack() is bounded by Lua's C stack. */
static const char SCRIPT_LATEST_VALUES[] =
    "local w = redis.call('GET', KEYS[1]) "
    "if not w then return false end "
    "local ids = redis.call('SMEMBERS', KEYS[2]) "
    "local values = {} "
    "for i = 1, #ids, 1000 do "
    "  local keys = {} "
    "  for j = i, math.min(i + 999, #ids) do "
    "    keys[#keys + 1] = ARGV[1] .. ids[j] .. ARGV[2] .. w "
    "  end "
    "  for _, v in ipairs(redis.call('MGET', unpack(keys))) do values[#values + 1] = v end "
    "end "
    "return {w, ids, values}";

/* ---- key layout ---- */

static const char INDEX_PREFIX[] = "region:";
static const char INDEX_SUFFIX[] = ":windows";
static const char WINDOW_INFIX[] = ":window:";

void redis_key_window(strbuf *sb, int64_t region, int64_t start_s)
{
    sb_puts(sb, INDEX_PREFIX);
    sb_put_i64(sb, region);
    sb_puts(sb, WINDOW_INFIX);
    sb_put_i64(sb, start_s);
}

void redis_key_index(strbuf *sb, int64_t region)
{
    sb_puts(sb, INDEX_PREFIX);
    sb_put_i64(sb, region);
    sb_puts(sb, INDEX_SUFFIX);
}

void redis_key_rank(strbuf *sb, int64_t start_s, const char *metric)
{
    sb_puts(sb, "window:");
    sb_put_i64(sb, start_s);
    sb_puts(sb, ":rank:");
    sb_puts(sb, metric);
}

void redis_key_task(strbuf *sb, const char *topic, size_t topic_len, int32_t partition)
{
    sb_puts(sb, "sp:task:");
    sb_append(sb, topic, topic_len);
    sb_putc(sb, ':');
    sb_put_i64(sb, partition);
}

/* "region:{region}:window:", the value keys of a region without the start. */
static void key_window_prefix(strbuf *sb, int64_t region)
{
    sb_puts(sb, INDEX_PREFIX);
    sb_put_i64(sb, region);
    sb_puts(sb, WINDOW_INFIX);
}

/* ---- targets ---- */

void redis_target_default(struct redis_target *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->host, sizeof t->host, "127.0.0.1");
    t->port = 6379;
}

/* Parse the decimal integer s[0..n) within [min, max]. */
static int parse_int_range(const char *s, size_t n, long min, long max, long *out)
{
    if (n == 0 || n > 10) return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max) return -1;
    *out = v;
    return 0;
}

int redis_target_parse_url(const char *url, struct redis_target *t, char *err, size_t errlen)
{
    static const char scheme[] = "redis://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0) {
        snprintf(err, errlen, "'%s' is not a redis:// URL", url);
        return -1;
    }
    const char *p = url + sizeof scheme - 1;
    const char *at = strrchr(p, '@');
    if (at) {
        /* userinfo: ":password" or "user:password"; Redis 5 knows no users. */
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t pwlen = (size_t)(at - pw);
        if (pwlen >= sizeof t->password) {
            snprintf(err, errlen, "password too long in Redis URL");
            return -1;
        }
        memcpy(t->password, pw, pwlen);
        t->password[pwlen] = '\0';
        p = at + 1;
    }
    const char *slash = strchr(p, '/');
    const char *hostport_end = slash ? slash : p + strlen(p);
    const char *colon = memchr(p, ':', (size_t)(hostport_end - p));
    const char *host_end = colon ? colon : hostport_end;
    size_t hostlen = (size_t)(host_end - p);
    if (hostlen >= sizeof t->host) {
        snprintf(err, errlen, "host name too long in Redis URL");
        return -1;
    }
    if (hostlen > 0) {
        memcpy(t->host, p, hostlen);
        t->host[hostlen] = '\0';
    }
    long v;
    if (colon) {
        if (parse_int_range(colon + 1, (size_t)(hostport_end - colon - 1), 1, 65535, &v) != 0) {
            snprintf(err, errlen, "bad port in Redis URL '%s'", url);
            return -1;
        }
        t->port = (int)v;
    }
    if (slash && slash[1] != '\0') {
        if (parse_int_range(slash + 1, strlen(slash + 1), 0, 1000000, &v) != 0) {
            snprintf(err, errlen, "bad database number in Redis URL '%s'", url);
            return -1;
        }
        t->db = (int)v;
    }
    return 0;
}

int redis_target_set_socket(struct redis_target *t, const char *path)
{
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof t->socket_path || n >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return -1;
    memcpy(t->socket_path, path, n + 1);
    return 0;
}

void redis_target_describe(const struct redis_target *t, char *out, size_t outlen)
{
    if (t->socket_path[0])
        snprintf(out, outlen, "%s", t->socket_path);
    else
        snprintf(out, outlen, "%s:%d", t->host, t->port);
}

int64_t redis_backoff_ms(unsigned attempt)
{
    int64_t ms = REDIS_BACKOFF_FIRST_MS;
    for (unsigned i = 0; i < attempt && ms < REDIS_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < REDIS_BACKOFF_MAX_MS ? ms : REDIS_BACKOFF_MAX_MS;
}

/* ---- commands ---- */

/* Run one command; returns its reply, or NULL with a reason in err when the
 * connection failed or the server answered an error (reply then freed). */
static redisReply *run_command(redisContext *c, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *reply = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (reply == NULL) {
        snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "connection lost");
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s", reply->str);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

redisContext *redis_store_connect(const struct redis_target *t, int timeout_ms, char *err,
                                  size_t errlen)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = t->socket_path[0] ? redisConnectUnixWithTimeout(t->socket_path, tv)
                                        : redisConnectWithTimeout(t->host, t->port, tv);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (c->err) {
        snprintf(err, errlen, "%s", c->errstr);
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    redisReply *reply = NULL;
    if (t->password[0] && (reply = run_command(c, err, errlen, "AUTH %s", t->password)) == NULL)
        goto fail;
    freeReplyObject(reply);
    reply = NULL;
    if (t->db != 0 && (reply = run_command(c, err, errlen, "SELECT %d", t->db)) == NULL) goto fail;
    freeReplyObject(reply);
    return c;
fail:
    redisFree(c);
    return NULL;
}

/* ---- batches ---- */

struct index_entry {
    int64_t region;
    int64_t start_s;
};

struct rank_entry {
    int64_t start_s;
    size_t metric;
    size_t seq; /* arrival order: a later result for the same window wins */
    int64_t region;
    double value;
};

/* A task state waiting in the batch: its key and its HSET arguments. */
struct task_state {
    strbuf key;
    strbuf command; /* the whole HSET, encoded */
};

struct redis_batch {
    int64_t ttl_s;
    char **rank_metrics;
    size_t n_rank_metrics;

    size_t count;
    strbuf sets; /* the SET commands, encoded as they arrive */
    struct index_entry *index;
    size_t n_index, cap_index;
    struct rank_entry *ranks;
    size_t n_ranks, cap_ranks;
    bool has_final;
    int64_t latest_final_s;

    struct task_state *states; /* the newest of each partition */
    size_t n_states, cap_states;

    strbuf scratch; /* the key name of the result or task state being added */
};

redis_batch *redis_batch_new(int64_t ttl_s, const char *const *rank_metrics, size_t n_rank_metrics)
{
    redis_batch *b = calloc(1, sizeof *b);
    if (b == NULL) abort();
    b->ttl_s = ttl_s;
    b->rank_metrics = calloc(n_rank_metrics ? n_rank_metrics : 1, sizeof *b->rank_metrics);
    if (b->rank_metrics == NULL) abort();
    for (size_t i = 0; i < n_rank_metrics; i++) {
        b->rank_metrics[i] = strdup(rank_metrics[i]);
        if (b->rank_metrics[i] == NULL) abort();
    }
    b->n_rank_metrics = n_rank_metrics;
    return b;
}

void redis_batch_free(redis_batch *b)
{
    if (b == NULL) return;
    for (size_t i = 0; i < b->n_rank_metrics; i++)
        free(b->rank_metrics[i]);
    free(b->rank_metrics);
    sb_free(&b->sets);
    sb_free(&b->scratch);
    free(b->index);
    free(b->ranks);
    for (size_t i = 0; i < b->cap_states; i++) {
        sb_free(&b->states[i].key);
        sb_free(&b->states[i].command);
    }
    free(b->states);
    free(b);
}

size_t redis_batch_count(const redis_batch *b)
{
    return b->count;
}

bool redis_batch_empty(const redis_batch *b)
{
    return b->count == 0 && b->n_states == 0;
}

void redis_batch_clear(redis_batch *b)
{
    b->count = 0;
    sb_reset(&b->sets);
    b->n_index = 0;
    b->n_ranks = 0;
    b->has_final = false;
    b->n_states = 0;
}

/* Grow *items (of size each) so one more fits. */
static void *grow(void *items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return items;
    size_t newcap = *cap ? *cap * 2 : 256;
    void *p = realloc(items, newcap * size);
    if (p == NULL) abort();
    *cap = newcap;
    return p;
}

/* Redis protocol: an array header, then bulk strings. */
static void resp_array(strbuf *sb, size_t n)
{
    sb_putc(sb, '*');
    sb_put_i64(sb, (int64_t)n);
    sb_puts(sb, "\r\n");
}

static void resp_bulk(strbuf *sb, const void *p, size_t n)
{
    sb_putc(sb, '$');
    sb_put_i64(sb, (int64_t)n);
    sb_puts(sb, "\r\n");
    sb_append(sb, p, n);
    sb_puts(sb, "\r\n");
}

static void resp_str(strbuf *sb, const char *s)
{
    resp_bulk(sb, s, strlen(s));
}

static void resp_i64(strbuf *sb, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%" PRId64, v);
    resp_bulk(sb, num, (size_t)n);
}

static void resp_double(strbuf *sb, double v)
{
    char num[40];
    int n = snprintf(num, sizeof num, "%.17g", v);
    resp_bulk(sb, num, (size_t)n);
}

/* The region id of r, checked: a non-negative decimal integer. */
static int result_region(const struct window_result *r, int64_t *region)
{
    if (r->key_is_string || r->key[0] == '\0' || strlen(r->key) > 15) return -1;
    int64_t v = 0;
    for (const char *p = r->key; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    *region = v;
    return 0;
}

/* Floor division, so a window before 1970 still gets the second it starts in. */
static int64_t ms_to_s(int64_t ms)
{
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

int redis_batch_add(redis_batch *b, const struct window_result *r, const char *line, size_t len,
                    char *err, size_t errlen)
{
    int64_t region;
    if (result_region(r, &region) != 0) {
        snprintf(err, errlen, "%s: '%s' is not a region id (a non-negative integer)", r->key_name,
                 r->key);
        return -1;
    }
    int64_t start_s = ms_to_s(r->start_ms);

    strbuf *key = &b->scratch;
    sb_reset(key);
    redis_key_window(key, region, start_s);
    resp_array(&b->sets, b->ttl_s > 0 ? 5 : 3);
    resp_str(&b->sets, "SET");
    resp_bulk(&b->sets, key->data, key->len);
    resp_bulk(&b->sets, line, len);
    if (b->ttl_s > 0) {
        resp_str(&b->sets, "EX");
        resp_i64(&b->sets, b->ttl_s);
    }

    b->index = grow(b->index, &b->cap_index, b->n_index, sizeof *b->index);
    b->index[b->n_index++] = (struct index_entry){region, start_s};

    for (size_t m = 0; m < b->n_rank_metrics; m++) {
        double value;
        if (!window_result_metric(r, b->rank_metrics[m], &value) || !isfinite(value)) continue;
        b->ranks = grow(b->ranks, &b->cap_ranks, b->n_ranks, sizeof *b->ranks);
        b->ranks[b->n_ranks++] = (struct rank_entry){start_s, m, b->count, region, value};
    }

    if (r->final && (!b->has_final || start_s > b->latest_final_s)) {
        b->has_final = true;
        b->latest_final_s = start_s;
    }
    b->count++;
    return 0;
}

void redis_batch_add_task_state(redis_batch *b, const char *topic, size_t topic_len,
                                int32_t partition, int64_t next_offset, const char *token,
                                const char *checkpoint, size_t len)
{
    sb_reset(&b->scratch);
    redis_key_task(&b->scratch, topic, topic_len, partition);
    size_t i = 0;
    while (i < b->n_states && (b->states[i].key.len != b->scratch.len ||
                               memcmp(b->states[i].key.data, b->scratch.data, b->scratch.len) != 0))
        i++;
    if (i == b->n_states) {
        if (b->n_states == b->cap_states) {
            size_t cap = b->cap_states ? 2 * b->cap_states : 8;
            b->states = realloc(b->states, cap * sizeof *b->states);
            if (b->states == NULL) abort();
            memset(b->states + b->cap_states, 0, (cap - b->cap_states) * sizeof *b->states);
            b->cap_states = cap;
        }
        b->n_states++;
    }
    struct task_state *st = &b->states[i];
    sb_reset(&st->key);
    sb_append(&st->key, b->scratch.data, b->scratch.len);
    sb_reset(&st->command);
    resp_array(&st->command, 8);
    resp_str(&st->command, "HSET");
    resp_bulk(&st->command, st->key.data, st->key.len);
    resp_str(&st->command, "next_offset");
    resp_i64(&st->command, next_offset);
    resp_str(&st->command, "checkpoint");
    resp_bulk(&st->command, checkpoint, len);
    resp_str(&st->command, "token");
    resp_str(&st->command, token);
}

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

static int cmp_index(const void *pa, const void *pb)
{
    const struct index_entry *a = pa, *b = pb;
    int c = cmp_i64(a->region, b->region);
    return c ? c : cmp_i64(a->start_s, b->start_s);
}

static int cmp_rank(const void *pa, const void *pb)
{
    const struct rank_entry *a = pa, *b = pb;
    int c = cmp_i64(a->start_s, b->start_s);
    if (c == 0) c = (a->metric > b->metric) - (a->metric < b->metric);
    if (c == 0) c = (a->seq > b->seq) - (a->seq < b->seq);
    return c;
}

/* Per region: one ZADD of its starts (each once), then, with a ttl, the
 * trim. entries[0..n) share the region and are sorted by start; key is a
 * work area for the key name. */
static size_t encode_index_group(const redis_batch *b, const struct index_entry *entries, size_t n,
                                 strbuf *key, strbuf *out)
{
    size_t distinct = 1;
    for (size_t i = 1; i < n; i++)
        distinct += entries[i].start_s != entries[i - 1].start_s;
    sb_reset(key);
    redis_key_index(key, entries[0].region);
    resp_array(out, 2 + 2 * distinct);
    resp_str(out, "ZADD");
    resp_bulk(out, key->data, key->len);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && entries[i].start_s == entries[i - 1].start_s) continue;
        resp_i64(out, entries[i].start_s);
        resp_i64(out, entries[i].start_s);
    }
    if (b->ttl_s <= 0) return 1;
    resp_array(out, 5);
    resp_str(out, "EVAL");
    resp_str(out, SCRIPT_TRIM);
    resp_str(out, "1");
    resp_bulk(out, key->data, key->len);
    resp_i64(out, b->ttl_s);
    return 2;
}

/* SADD regions with every distinct region of index[0..n), sorted by region. */
static size_t encode_regions(const struct index_entry *index, size_t n, strbuf *out)
{
    size_t distinct = 1;
    for (size_t i = 1; i < n; i++)
        distinct += index[i].region != index[i - 1].region;
    resp_array(out, 2 + distinct);
    resp_str(out, "SADD");
    resp_str(out, REDIS_KEY_REGIONS);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || index[i].region != index[i - 1].region) resp_i64(out, index[i].region);
    return 1;
}

/* One ZADD (and EXPIRE) per rank key: entries[0..n) share the window and the
 * metric. ZADD applies its pairs in order, so the latest result wins. */
static size_t encode_rank_group(const redis_batch *b, const struct rank_entry *entries, size_t n,
                                strbuf *key, strbuf *out)
{
    sb_reset(key);
    redis_key_rank(key, entries[0].start_s, b->rank_metrics[entries[0].metric]);
    resp_array(out, 2 + 2 * n);
    resp_str(out, "ZADD");
    resp_bulk(out, key->data, key->len);
    for (size_t i = 0; i < n; i++) {
        resp_double(out, entries[i].value);
        resp_i64(out, entries[i].region);
    }
    if (b->ttl_s <= 0) return 1;
    resp_array(out, 3);
    resp_str(out, "EXPIRE");
    resp_bulk(out, key->data, key->len);
    resp_i64(out, b->ttl_s);
    return 2;
}

/* items[0..n) copied and sorted: the commands group the entries by key, and
 * the batch itself stays as it was filled. Free with free(). */
static void *sorted_copy(const void *items, size_t n, size_t size,
                         int (*cmp)(const void *, const void *))
{
    void *copy = malloc(n ? n * size : 1);
    if (copy == NULL) abort();
    if (n > 0) memcpy(copy, items, n * size);
    qsort(copy, n, size, cmp);
    return copy;
}

void redis_batch_encode(const redis_batch *b, strbuf *out, size_t *n_commands)
{
    strbuf key = STRBUF_INIT;
    size_t n = 0;
    sb_reset(out);
    resp_array(out, 1);
    resp_str(out, "MULTI");
    n++;
    sb_append(out, b->sets.data, b->sets.len);
    n += b->count;

    if (b->n_index > 0) {
        struct index_entry *index = sorted_copy(b->index, b->n_index, sizeof *index, cmp_index);
        size_t group = 0;
        for (size_t i = 1; i <= b->n_index; i++) {
            if (i < b->n_index && index[i].region == index[group].region) continue;
            n += encode_index_group(b, index + group, i - group, &key, out);
            group = i;
        }
        n += encode_regions(index, b->n_index, out);
        free(index);
    }

    if (b->n_ranks > 0) {
        struct rank_entry *ranks = sorted_copy(b->ranks, b->n_ranks, sizeof *ranks, cmp_rank);
        size_t group = 0;
        for (size_t i = 1; i <= b->n_ranks; i++) {
            if (i < b->n_ranks && ranks[i].start_s == ranks[group].start_s &&
                ranks[i].metric == ranks[group].metric)
                continue;
            n += encode_rank_group(b, ranks + group, i - group, &key, out);
            group = i;
        }
        free(ranks);
    }

    if (b->has_final) {
        resp_array(out, 5);
        resp_str(out, "EVAL");
        resp_str(out, SCRIPT_LATEST);
        resp_str(out, "1");
        resp_str(out, REDIS_KEY_LATEST);
        resp_i64(out, b->latest_final_s);
        n++;
    }

    for (size_t i = 0; i < b->n_states; i++) {
        sb_append(out, b->states[i].command.data, b->states[i].command.len);
        n++;
    }

    resp_array(out, 1);
    resp_str(out, "EXEC");
    n++;
    *n_commands = n;
    sb_free(&key);
}

int redis_batch_send(redisContext *c, const redis_batch *b, size_t *n_replies, char *err,
                     size_t errlen)
{
    strbuf wire = STRBUF_INIT;
    redis_batch_encode(b, &wire, n_replies);
    int rc = redisAppendFormattedCommand(c, wire.data, wire.len);
    sb_free(&wire);
    int done = 0;
    while (rc == REDIS_OK && !done)
        rc = redisBufferWrite(c, &done);
    if (rc != REDIS_OK) {
        snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "out of memory");
        return -1;
    }
    return 0;
}

int redis_batch_wait(redisContext *c, size_t n_replies, char *err, size_t errlen)
{
    /* Read every reply even after an error, so the connection stays in
     * step; the first error is the one reported. */
    int rc = 0;
    for (size_t i = 0; i < n_replies; i++) {
        void *vreply = NULL;
        if (redisGetReply(c, &vreply) != REDIS_OK) {
            if (rc == 0) snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "connection lost");
            return -1;
        }
        redisReply *reply = vreply;
        if (rc == 0 && reply->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "%s", reply->str);
            rc = -1;
        }
        if (rc == 0 && i == n_replies - 1) {
            if (reply->type != REDIS_REPLY_ARRAY) {
                snprintf(err, errlen, "transaction aborted");
                rc = -1;
            }
            for (size_t k = 0; rc == 0 && k < reply->elements; k++) {
                if (reply->element[k]->type == REDIS_REPLY_ERROR) {
                    snprintf(err, errlen, "%s", reply->element[k]->str);
                    rc = -1;
                }
            }
        }
        freeReplyObject(reply);
    }
    return rc;
}

int redis_batch_exec(redisContext *c, const redis_batch *b, char *err, size_t errlen)
{
    size_t n_replies;
    if (redis_batch_send(c, b, &n_replies, err, errlen) != 0) return -1;
    return redis_batch_wait(c, n_replies, err, errlen);
}

/* ---- reads ---- */

/* A reply of the script: a bulk string (found), nil (not found). */
static int take_string(redisReply *reply, strbuf *out)
{
    int found = reply->type == REDIS_REPLY_STRING;
    if (found) sb_append(out, reply->str, reply->len);
    freeReplyObject(reply);
    return found;
}

static int read_newest_before(redisContext *c, int64_t region, const char *max_score, strbuf *out,
                              char *err, size_t errlen)
{
    strbuf index = STRBUF_INIT, prefix = STRBUF_INIT;
    redis_key_index(&index, region);
    key_window_prefix(&prefix, region);
    redisReply *reply = run_command(c, err, errlen, "EVAL %s 1 %b %b %s", SCRIPT_NEWEST, index.data,
                                    index.len, prefix.data, prefix.len, max_score);
    sb_free(&index);
    sb_free(&prefix);
    return reply ? take_string(reply, out) : -1;
}

int redis_read_newest(redisContext *c, int64_t region, strbuf *out, char *err, size_t errlen)
{
    return read_newest_before(c, region, "+inf", out, err, errlen);
}

int redis_read_at_or_before(redisContext *c, int64_t region, int64_t at_s, strbuf *out, char *err,
                            size_t errlen)
{
    char max[24];
    snprintf(max, sizeof max, "%" PRId64, at_s);
    return read_newest_before(c, region, max, out, err, errlen);
}

/* Parse a decimal integer reply text (a window start). */
static int parse_start(const char *s, size_t n, int64_t *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end != '\0') return -1;
    *out = v;
    return 0;
}

int redis_read_newest_start(redisContext *c, int64_t region, int64_t *start_s, char *err,
                            size_t errlen)
{
    strbuf index = STRBUF_INIT;
    redis_key_index(&index, region);
    redisReply *reply = run_command(c, err, errlen, "ZREVRANGE %b 0 0", index.data, index.len);
    sb_free(&index);
    if (reply == NULL) return -1;
    int found = reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
                reply->element[0]->type == REDIS_REPLY_STRING &&
                parse_start(reply->element[0]->str, reply->element[0]->len, start_s) == 0;
    freeReplyObject(reply);
    return found;
}

int redis_read_range(redisContext *c, int64_t region, int64_t from_s, int64_t to_s,
                     size_t max_windows, strbuf *out, size_t *count, char *err, size_t errlen)
{
    strbuf index = STRBUF_INIT, prefix = STRBUF_INIT;
    redis_key_index(&index, region);
    key_window_prefix(&prefix, region);
    redisReply *reply = run_command(c, err, errlen, "EVAL %s 1 %b %b %lld %lld %lld", SCRIPT_RANGE,
                                    index.data, index.len, prefix.data, prefix.len,
                                    (long long)from_s, (long long)to_s, (long long)max_windows);
    sb_free(&index);
    sb_free(&prefix);
    if (reply == NULL) return -1;
    *count = 0;
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        redisReply *v = reply->element[i];
        if (v->type != REDIS_REPLY_STRING) continue;
        if (*count > 0) sb_putc(out, ',');
        sb_append(out, v->str, v->len);
        ++*count;
    }
    freeReplyObject(reply);
    return *count > 0;
}

int redis_read_latest_final(redisContext *c, int64_t *start_s, char *err, size_t errlen)
{
    redisReply *reply = run_command(c, err, errlen, "GET %s", REDIS_KEY_LATEST);
    if (reply == NULL) return -1;
    int found =
        reply->type == REDIS_REPLY_STRING && parse_start(reply->str, reply->len, start_s) == 0;
    freeReplyObject(reply);
    return found;
}

int redis_read_window_at_or_before(redisContext *c, int64_t at_s, int64_t *start_s, strbuf *out,
                                   char *err, size_t errlen)
{
    redisReply *reply =
        run_command(c, err, errlen, "EVAL %s 1 %s %lld %s %s %s", SCRIPT_WINDOW_AT,
                    REDIS_KEY_REGIONS, (long long)at_s, INDEX_PREFIX, INDEX_SUFFIX, WINDOW_INFIX);
    if (reply == NULL) return -1;
    int found = reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
                reply->element[0]->type == REDIS_REPLY_STRING &&
                reply->element[1]->type == REDIS_REPLY_STRING &&
                parse_start(reply->element[0]->str, reply->element[0]->len, start_s) == 0;
    if (found) sb_append(out, reply->element[1]->str, reply->element[1]->len);
    freeReplyObject(reply);
    return found;
}

/* True when s[0..n) is a region id as the sink writes it. */
static bool is_region_member(const char *s, size_t n)
{
    if (n == 0 || n > 15) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

int redis_read_top(redisContext *c, int64_t start_s, const char *metric, size_t limit, strbuf *out,
                   char *err, size_t errlen)
{
    strbuf key = STRBUF_INIT;
    redis_key_rank(&key, start_s, metric);
    redisReply *reply = run_command(c, err, errlen, "ZREVRANGE %b 0 %lld WITHSCORES", key.data,
                                    key.len, (long long)(limit > 0 ? limit - 1 : 0));
    sb_free(&key);
    if (reply == NULL) return -1;
    size_t written = 0;
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements; i += 2) {
        redisReply *member = reply->element[i], *score = reply->element[i + 1];
        if (member->type != REDIS_REPLY_STRING || score->type != REDIS_REPLY_STRING ||
            !is_region_member(member->str, member->len))
            continue;
        if (written++ > 0) sb_putc(out, ',');
        sb_puts(out, "{\"regionId\":");
        sb_append(out, member->str, member->len);
        sb_puts(out, ",\"value\":");
        ndjson_append_double(out, strtod(score->str, NULL));
        sb_putc(out, '}');
    }
    freeReplyObject(reply);
    return written > 0;
}

int redis_read_task_state(redisContext *c, const char *topic, int32_t partition, strbuf *checkpoint,
                          int64_t *next_offset, char *err, size_t errlen)
{
    strbuf key = STRBUF_INIT;
    redis_key_task(&key, topic, strlen(topic), partition);
    redisReply *reply =
        run_command(c, err, errlen, "HMGET %b next_offset checkpoint", key.data, key.len);
    sb_free(&key);
    if (reply == NULL) return -1;
    int rc = 0;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        reply->element[1]->type == REDIS_REPLY_STRING) {
        char *end;
        long long offset = strtoll(reply->element[0]->str, &end, 10);
        if (*end != '\0' || offset < -1) {
            snprintf(err, errlen, "next_offset of the stored state is not an offset");
            rc = -1;
        } else {
            *next_offset = offset;
            sb_append(checkpoint, reply->element[1]->str, reply->element[1]->len);
            rc = 1;
        }
    }
    freeReplyObject(reply);
    return rc;
}

int redis_read_task_token(redisContext *c, const char *topic, int32_t partition, const char *token,
                          char *err, size_t errlen)
{
    strbuf key = STRBUF_INIT;
    redis_key_task(&key, topic, strlen(topic), partition);
    redisReply *reply = run_command(c, err, errlen, "HGET %b token", key.data, key.len);
    sb_free(&key);
    if (reply == NULL) return -1;
    int rc = reply->type == REDIS_REPLY_STRING && strcmp(reply->str, token) == 0;
    freeReplyObject(reply);
    return rc;
}

int redis_read_ping(redisContext *c, char *err, size_t errlen)
{
    redisReply *reply = run_command(c, err, errlen, "PING");
    if (reply == NULL) return -1;
    int ok = reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
    if (!ok) snprintf(err, errlen, "unexpected reply to PING");
    freeReplyObject(reply);
    return ok ? 1 : -1;
}

int redis_read_latest_values(redisContext *c, int64_t *start_s, redis_value_fn each, void *arg,
                             char *err, size_t errlen)
{
    redisReply *reply =
        run_command(c, err, errlen, "EVAL %s 2 %s %s %s %s", SCRIPT_LATEST_VALUES, REDIS_KEY_LATEST,
                    REDIS_KEY_REGIONS, INDEX_PREFIX, WINDOW_INFIX);
    if (reply == NULL) return -1;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        parse_start(reply->element[0]->str, reply->element[0]->len, start_s) != 0) {
        freeReplyObject(reply);
        return 0;
    }
    const redisReply *ids = reply->element[1], *values = reply->element[2];
    for (size_t i = 0; ids->type == REDIS_REPLY_ARRAY && i < ids->elements; i++) {
        const redisReply *id = ids->element[i];
        int64_t region;
        if (id->type != REDIS_REPLY_STRING || !is_region_member(id->str, id->len) ||
            parse_start(id->str, id->len, &region) != 0)
            continue;
        const redisReply *v =
            values->type == REDIS_REPLY_ARRAY && i < values->elements ? values->element[i] : NULL;
        bool has_value = v && v->type == REDIS_REPLY_STRING;
        each(arg, region, has_value ? v->str : NULL, has_value ? v->len : 0);
    }
    freeReplyObject(reply);
    return 1;
}
