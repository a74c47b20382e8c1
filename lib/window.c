/* window: windows in an open-addressing hash table (key, start) for the hot
 * path, and in buckets by closing deadline, kept in deadline order: closing
 * takes the due buckets in order and sorts each by key, which gives exactly
 * the end-then-key order the results must have. */
#include "window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

#define TABLE_INITIAL_CAP 1024
#define NOT_LISTED SIZE_MAX
#define TIME_LIMIT_MS (1000LL * 1000 * 1000 * 1000 * 1000) /* ~ year 33658: no overflow */

struct win {
    uint64_t hash;
    int64_t start;
    int64_t end;
    bool key_is_string;
    bool emitted; /* its final result is out; kept only for allowed lateness */
    int64_t key_num;
    uint32_t key_len;
    char *key_text;     /* the key as the result prints it (decimal for integers) */
    size_t changed_pos; /* place in the changed list, or NOT_LISTED */
    struct agg_state *state;
};

struct partition {
    char topic[WINDOW_TOPIC_MAX]; /* "" with number -1: the plain input */
    int32_t number;
    int64_t next_offset;
    int64_t highest; /* INT64_MIN until a record arrives */
    int64_t last_active_ms;
    bool assigned;
};

struct window_set {
    const struct window_config *cfg;
    window_emit_fn emit;
    void *emit_ctx;

    struct win **table; /* open addressing, linear probing, load <= 1/2 */
    size_t table_cap;
    size_t count;

    struct bucket *buckets; /* ascending deadlines */
    size_t n_buckets, buckets_cap;

    struct win **changed;
    size_t changed_len, changed_cap;

    struct partition *parts;
    size_t n_parts, parts_cap;
    bool assignment_known;

    int64_t watermark;
    int64_t highest;
    int64_t last_input_ms;
};

/* ---- keys -------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t key_hash(const struct window_key *k, int64_t start)
{
    uint64_t h;
    if (!k->is_string) {
        h = (uint64_t)k->num;
    } else {
        h = 0xcbf29ce484222325ULL; /* FNV-1a */
        for (size_t i = 0; i < k->len; i++)
            h = (h ^ (unsigned char)k->text[i]) * 0x100000001b3ULL;
    }
    return mix64(h ^ mix64((uint64_t)start));
}

static bool key_equals(const struct win *w, const struct window_key *k)
{
    if (w->key_is_string != k->is_string) return false;
    if (!k->is_string) return w->key_num == k->num;
    return w->key_len == k->len && memcmp(w->key_text, k->text, k->len) == 0;
}

/* Integers numerically, before strings; strings bytewise. */
static int key_compare(const struct win *a, const struct win *b)
{
    if (a->key_is_string != b->key_is_string) return a->key_is_string ? 1 : -1;
    if (!a->key_is_string) return (a->key_num > b->key_num) - (a->key_num < b->key_num);
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key_text, b->key_text, n);
    if (c != 0) return c;
    return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* End, then key, then start: the order results go out in. */
static int compare_for_output(const void *a, const void *b)
{
    const struct win *x = *(const struct win *const *)a, *y = *(const struct win *const *)b;
    if (x->end != y->end) return (x->end > y->end) - (x->end < y->end);
    int c = key_compare(x, y);
    if (c != 0) return c;
    return (x->start > y->start) - (x->start < y->start);
}

/* ---- closing queue ---------------------------------------------------- */

/* Window ends lie on the slide grid, so the windows held share few distinct
 * deadlines (about (max_delay + size) / slide, plus those kept for their
 * lateness): one bucket each. With 100,000 keys a binary heap of every
 * window spent 40 % of the run in sift-down cache misses; a bucket is
 * appended to in O(1) and sorted once, contiguously, when it closes. */
struct bucket {
    int64_t deadline;
    struct win **items;
    size_t len, cap;
};

/* A window is due when the watermark reaches its end, or, once its final
 * result is out, its end plus the allowed lateness. */
static int64_t deadline(const window_set *ws, const struct win *w)
{
    return w->emitted ? w->end + ws->cfg->allowed_lateness_ms : w->end;
}

static void *grow(void *array, size_t *cap, size_t elem)
{
    *cap = *cap ? *cap * 2 : 64;
    void *p = realloc(array, *cap * elem);
    if (p == NULL) abort();
    return p;
}

/* Queue w in the bucket of its deadline, making the bucket if needed. */
static void schedule(window_set *ws, struct win *w)
{
    int64_t due = deadline(ws, w);
    size_t i = ws->n_buckets;
    while (i > 0 && ws->buckets[i - 1].deadline > due)
        i--;
    if (i == 0 || ws->buckets[i - 1].deadline != due) {
        if (ws->n_buckets == ws->buckets_cap)
            ws->buckets = grow(ws->buckets, &ws->buckets_cap, sizeof *ws->buckets);
        memmove(&ws->buckets[i + 1], &ws->buckets[i], (ws->n_buckets - i) * sizeof *ws->buckets);
        ws->n_buckets++;
        ws->buckets[i] = (struct bucket){.deadline = due};
        i++;
    }
    struct bucket *b = &ws->buckets[i - 1];
    if (b->len == b->cap) b->items = grow(b->items, &b->cap, sizeof *b->items);
    b->items[b->len++] = w;
}

/* ---- changed list (for provisional results) ---------------------------- */

static void mark_changed(window_set *ws, struct win *w)
{
    if (!ws->cfg->track_changes || w->changed_pos != NOT_LISTED) return;
    if (ws->changed_len == ws->changed_cap)
        ws->changed = grow(ws->changed, &ws->changed_cap, sizeof *ws->changed);
    w->changed_pos = ws->changed_len;
    ws->changed[ws->changed_len++] = w;
}

static void unmark_changed(window_set *ws, struct win *w)
{
    if (w->changed_pos == NOT_LISTED) return;
    struct win *last = ws->changed[--ws->changed_len];
    ws->changed[w->changed_pos] = last;
    last->changed_pos = w->changed_pos;
    w->changed_pos = NOT_LISTED;
}

/* ---- hash table -------------------------------------------------------- */

static size_t slot_of(const window_set *ws, uint64_t hash)
{
    return (size_t)hash & (ws->table_cap - 1);
}

static void table_place(window_set *ws, struct win *w)
{
    size_t i = slot_of(ws, w->hash);
    while (ws->table[i] != NULL)
        i = (i + 1) & (ws->table_cap - 1);
    ws->table[i] = w;
}

static void table_grow(window_set *ws)
{
    struct win **old = ws->table;
    size_t old_cap = ws->table_cap;
    ws->table_cap = old_cap ? old_cap * 2 : TABLE_INITIAL_CAP;
    ws->table = calloc(ws->table_cap, sizeof *ws->table);
    if (ws->table == NULL) abort();
    for (size_t i = 0; i < old_cap; i++)
        if (old[i] != NULL) table_place(ws, old[i]);
    free(old);
}

static struct win *table_find(const window_set *ws, const struct window_key *k, int64_t start,
                              uint64_t hash)
{
    if (ws->table_cap == 0) return NULL;
    for (size_t i = slot_of(ws, hash); ws->table[i] != NULL; i = (i + 1) & (ws->table_cap - 1)) {
        struct win *w = ws->table[i];
        if (w->hash == hash && w->start == start && key_equals(w, k)) return w;
    }
    return NULL;
}

/* Remove w, shifting later members of its probe run back so that every
 * lookup still finds them without tombstones. */
static void table_remove(window_set *ws, struct win *w)
{
    size_t mask = ws->table_cap - 1;
    size_t hole = slot_of(ws, w->hash);
    while (ws->table[hole] != w)
        hole = (hole + 1) & mask;
    ws->table[hole] = NULL;
    for (size_t i = (hole + 1) & mask; ws->table[i] != NULL; i = (i + 1) & mask) {
        size_t home = slot_of(ws, ws->table[i]->hash);
        /* The entry may move into the hole unless its home lies cyclically in (hole, i]. */
        bool home_after_hole = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (home_after_hole) continue;
        ws->table[hole] = ws->table[i];
        ws->table[i] = NULL;
        hole = i;
    }
}

static struct win *window_create(window_set *ws, const struct window_key *k, int64_t start,
                                 uint64_t hash, bool emitted)
{
    if ((ws->count + 1) * 2 > ws->table_cap) table_grow(ws);
    struct win *w = calloc(1, sizeof *w);
    if (w == NULL) abort();
    w->hash = hash;
    w->start = start;
    w->end = start + ws->cfg->size_ms;
    w->key_is_string = k->is_string;
    w->key_num = k->num;
    w->changed_pos = NOT_LISTED;
    w->emitted = emitted;
    if (k->is_string) {
        w->key_len = (uint32_t)k->len;
        w->key_text = malloc(k->len + 1);
        if (w->key_text == NULL) abort();
        memcpy(w->key_text, k->text, k->len);
        w->key_text[k->len] = '\0';
    } else {
        char digits[24];
        int n = snprintf(digits, sizeof digits, "%lld", (long long)k->num);
        w->key_len = (uint32_t)n;
        w->key_text = strdup(digits);
        if (w->key_text == NULL) abort();
    }
    w->state = agg_state_new(ws->cfg->spec);
    table_place(ws, w);
    ws->count++;
    schedule(ws, w);
    return w;
}

/* Free a window already taken out of its bucket. */
static void window_destroy(window_set *ws, struct win *w)
{
    table_remove(ws, w);
    unmark_changed(ws, w);
    ws->count--;
    agg_state_free(ws->cfg->spec, w->state);
    free(w->key_text);
    free(w);
}

/* ---- results ----------------------------------------------------------- */

static void emit_result(window_set *ws, struct win *w, bool final)
{
    struct window_result r;
    memcpy(r.key_name, ws->cfg->key_name, sizeof r.key_name);
    memcpy(r.key, w->key_text, w->key_len + 1);
    r.key_is_string = w->key_is_string;
    r.start_ms = w->start;
    r.end_ms = w->end;
    r.final = final;
    agg_state_results(ws->cfg->spec, w->state, &r);
    ws->emit(ws->emit_ctx, &r);
}

/* Pop every window whose deadline the watermark has reached: an open one
 * emits its final result (and stays for its lateness, if any), a closed
 * one past its lateness is freed. */
static void close_reached(window_set *ws)
{
    while (ws->n_buckets > 0 && ws->buckets[0].deadline <= ws->watermark) {
        struct bucket due = ws->buckets[0];
        ws->n_buckets--;
        memmove(&ws->buckets[0], &ws->buckets[1], ws->n_buckets * sizeof *ws->buckets);
        /* Open windows in one bucket share their end: this sorts them by key. */
        qsort(due.items, due.len, sizeof *due.items, compare_for_output);
        for (size_t i = 0; i < due.len; i++) {
            struct win *w = due.items[i];
            if (w->emitted) {
                window_destroy(ws, w);
                continue;
            }
            emit_result(ws, w, true);
            unmark_changed(ws, w);
            if (ws->cfg->allowed_lateness_ms > 0) {
                w->emitted = true;
                schedule(ws, w); /* a later bucket: end + lateness > end */
            } else {
                window_destroy(ws, w);
            }
        }
        free(due.items);
    }
}

static void raise_watermark(window_set *ws, int64_t candidate)
{
    if (candidate <= ws->watermark) return;
    ws->watermark = candidate;
    close_reached(ws);
}

/* ---- partitions and the watermark -------------------------------------- */

/* Index of src's partition in ws->parts (NULL src: the plain input), or -1. */
static long partition_index(const window_set *ws, const struct window_source *src)
{
    const char *topic = src ? src->topic : "";
    size_t topic_len = src ? src->topic_len : 0;
    int32_t number = src ? src->partition : -1;
    if (topic_len >= WINDOW_TOPIC_MAX) topic_len = WINDOW_TOPIC_MAX - 1;
    for (size_t i = 0; i < ws->n_parts; i++) {
        const struct partition *p = &ws->parts[i];
        if (p->number == number && strlen(p->topic) == topic_len &&
            memcmp(p->topic, topic, topic_len) == 0)
            return (long)i;
    }
    return -1;
}

static struct partition *partition_get(window_set *ws, const struct window_source *src,
                                       int64_t now_ms)
{
    long found = partition_index(ws, src);
    if (found >= 0) return &ws->parts[found];
    if (ws->n_parts == ws->parts_cap)
        ws->parts = grow(ws->parts, &ws->parts_cap, sizeof *ws->parts);
    struct partition *p = &ws->parts[ws->n_parts++];
    memset(p, 0, sizeof *p);
    size_t topic_len = src ? src->topic_len : 0;
    if (topic_len >= WINDOW_TOPIC_MAX) topic_len = WINDOW_TOPIC_MAX - 1;
    if (src != NULL) memcpy(p->topic, src->topic, topic_len);
    p->number = src ? src->partition : -1;
    p->highest = INT64_MIN;
    p->last_active_ms = now_ms;
    return p;
}

static bool partition_idle(const window_set *ws, const struct partition *p, int64_t now_ms)
{
    return ws->cfg->idle_timeout_ms > 0 && now_ms - p->last_active_ms >= ws->cfg->idle_timeout_ms;
}

/* The lowest highest-event-time over the partitions holding the watermark
 * back; INT64_MIN when one of them has sent nothing or none holds back. */
static int64_t partitions_floor(const window_set *ws, int64_t now_ms)
{
    int64_t floor = INT64_MAX;
    for (size_t i = 0; i < ws->n_parts; i++) {
        const struct partition *p = &ws->parts[i];
        if (ws->assignment_known && !p->assigned) continue;
        if (partition_idle(ws, p, now_ms)) continue;
        if (p->highest < floor) floor = p->highest;
    }
    return floor == INT64_MAX ? INT64_MIN : floor;
}

static void update_watermark(window_set *ws, int64_t now_ms)
{
    int64_t floor = partitions_floor(ws, now_ms);
    if (floor != INT64_MIN) raise_watermark(ws, floor - ws->cfg->max_delay_ms);
}

/* ---- public ------------------------------------------------------------ */

const char *window_config_check(const struct window_config *cfg)
{
    if (cfg->size_ms <= 0 || cfg->size_ms > TIME_LIMIT_MS) return "--size must be positive";
    if (cfg->slide_ms <= 0 || cfg->slide_ms > cfg->size_ms)
        return "--slide must be positive and at most --size";
    if ((cfg->size_ms + cfg->slide_ms - 1) / cfg->slide_ms > WINDOW_MAX_PER_EVENT)
        return "--size / --slide gives too many windows per event (at most 1000)";
    if (cfg->max_delay_ms > TIME_LIMIT_MS || cfg->allowed_lateness_ms > TIME_LIMIT_MS ||
        cfg->max_future_ms > TIME_LIMIT_MS || cfg->idle_timeout_ms > TIME_LIMIT_MS)
        return "a duration is too long";
    return NULL;
}

window_set *window_set_new(const struct window_config *cfg, window_emit_fn emit, void *ctx)
{
    window_set *ws = calloc(1, sizeof *ws);
    if (ws == NULL) abort();
    ws->cfg = cfg;
    ws->emit = emit;
    ws->emit_ctx = ctx;
    ws->watermark = INT64_MIN;
    ws->highest = INT64_MIN;
    return ws;
}

static void free_windows(window_set *ws)
{
    for (size_t b = 0; b < ws->n_buckets; b++) {
        for (size_t i = 0; i < ws->buckets[b].len; i++) {
            struct win *w = ws->buckets[b].items[i];
            agg_state_free(ws->cfg->spec, w->state);
            free(w->key_text);
            free(w);
        }
        free(ws->buckets[b].items);
    }
    ws->n_buckets = ws->changed_len = ws->count = 0;
    if (ws->table != NULL) memset(ws->table, 0, ws->table_cap * sizeof *ws->table);
}

void window_set_free(window_set *ws)
{
    if (ws == NULL) return;
    free_windows(ws);
    free(ws->table);
    free(ws->buckets);
    free(ws->changed);
    free(ws->parts);
    free(ws);
}

bool window_already_counted(const window_set *ws, const struct window_source *src)
{
    if (src == NULL) return false;
    long found = partition_index(ws, src);
    return found >= 0 && src->offset < ws->parts[found].next_offset;
}

/* Floor division: the window grid must not shift for times before 1970. */
static int64_t floor_to(int64_t t, int64_t step)
{
    int64_t q = t / step;
    if (t % step != 0 && t < 0) q--;
    return q * step;
}

/* Count the event in window [start, start + size) unless it is past its
 * lateness. Returns false when it is. */
static bool add_to_window(window_set *ws, const struct window_key *key, int64_t start,
                          const double *values)
{
    int64_t end = start + ws->cfg->size_ms;
    if (ws->watermark != INT64_MIN && end + ws->cfg->allowed_lateness_ms <= ws->watermark)
        return false;
    uint64_t hash = key_hash(key, start);
    struct win *w = table_find(ws, key, start, hash);
    /* A new window whose end the watermark has passed (within its lateness)
     * is born closed: its result goes out at once, as for any closed one. */
    if (w == NULL) w = window_create(ws, key, start, hash, end <= ws->watermark);
    agg_state_add(ws->cfg->spec, w->state, values);
    if (w->emitted)
        emit_result(ws, w, true); /* within its lateness: the final result changes */
    else
        mark_changed(ws, w);
    return true;
}

enum window_verdict window_add(window_set *ws, const struct window_key *key, int64_t event_ms,
                               const double *values, const struct window_source *src,
                               int64_t now_ms, struct window_span *span)
{
    struct partition *p = partition_get(ws, src, now_ms);
    if (src != NULL && src->offset >= p->next_offset) p->next_offset = src->offset + 1;
    if (event_ms > now_ms + ws->cfg->max_future_ms) return WINDOW_FUTURE;
    p->last_active_ms = now_ms;
    ws->last_input_ms = now_ms;

    int64_t last_start = floor_to(event_ms, ws->cfg->slide_ms);
    bool counted = false;
    for (int64_t start = last_start; start > event_ms - ws->cfg->size_ms;
         start -= ws->cfg->slide_ms)
        counted |= add_to_window(ws, key, start, values);
    if (!counted) {
        span->start_ms = last_start;
        span->end_ms = last_start + ws->cfg->size_ms;
    }
    if (event_ms > ws->highest) ws->highest = event_ms;
    if (event_ms > p->highest) {
        p->highest = event_ms;
        update_watermark(ws, now_ms);
    }
    return counted ? WINDOW_ACCEPTED : WINDOW_LATE;
}

void window_assign(window_set *ws, const struct window_source *parts, size_t n, int64_t now_ms)
{
    ws->assignment_known = true;
    for (size_t i = 0; i < ws->n_parts; i++)
        ws->parts[i].assigned = false;
    for (size_t i = 0; i < n; i++) {
        struct partition *p = partition_get(ws, &parts[i], now_ms);
        p->assigned = true;
        p->last_active_ms = now_ms;
    }
    ws->last_input_ms = now_ms;
    update_watermark(ws, now_ms);
}

void window_tick(window_set *ws, int64_t now_ms)
{
    update_watermark(ws, now_ms);
    int64_t quiet = now_ms - ws->last_input_ms;
    if (ws->cfg->idle_timeout_ms > 0 && ws->highest != INT64_MIN &&
        quiet >= ws->cfg->idle_timeout_ms)
        raise_watermark(ws, ws->highest - ws->cfg->max_delay_ms + quiet);
}

void window_emit_changed(window_set *ws)
{
    if (ws->changed_len == 0) return;
    qsort(ws->changed, ws->changed_len, sizeof *ws->changed, compare_for_output);
    for (size_t i = 0; i < ws->changed_len; i++) {
        emit_result(ws, ws->changed[i], false);
        ws->changed[i]->changed_pos = NOT_LISTED;
    }
    ws->changed_len = 0;
}

void window_close_all(window_set *ws)
{
    raise_watermark(ws, INT64_MAX);
}

int64_t window_watermark(const window_set *ws)
{
    return ws->watermark;
}

int64_t window_highest(const window_set *ws)
{
    return ws->highest;
}

size_t window_count(const window_set *ws)
{
    return ws->count;
}

/* ---- checkpoint state --------------------------------------------------- */

static void append_time_or_null(strbuf *sb, int64_t t)
{
    if (t == INT64_MIN)
        sb_puts(sb, "null");
    else
        sb_put_i64(sb, t);
}

static void append_partition(strbuf *sb, const struct partition *p)
{
    sb_puts(sb, "{\"topic\":");
    ndjson_append_string(sb, p->topic, strlen(p->topic));
    sb_puts(sb, ",\"partition\":");
    sb_put_i64(sb, p->number);
    sb_puts(sb, ",\"next_offset\":");
    sb_put_i64(sb, p->next_offset);
    sb_puts(sb, ",\"highest\":");
    append_time_or_null(sb, p->highest);
    sb_puts(sb, p->assigned ? ",\"assigned\":true}" : ",\"assigned\":false}");
}

static void append_window(strbuf *sb, const window_set *ws, const struct win *w)
{
    sb_puts(sb, "{\"key\":");
    if (w->key_is_string)
        ndjson_append_string(sb, w->key_text, w->key_len);
    else
        sb_put_i64(sb, w->key_num);
    sb_puts(sb, ",\"start\":");
    sb_put_i64(sb, w->start);
    sb_puts(sb, w->emitted ? ",\"emitted\":true,\"state\":" : ",\"emitted\":false,\"state\":");
    agg_state_append_json(sb, ws->cfg->spec, w->state);
    sb_putc(sb, '}');
}

void window_state_append_json(strbuf *sb, const window_set *ws)
{
    sb_puts(sb, "\"watermark\":");
    append_time_or_null(sb, ws->watermark);
    sb_puts(sb, ",\"highest\":");
    append_time_or_null(sb, ws->highest);
    sb_puts(sb,
            ws->assignment_known ? ",\"assignment_known\":true" : ",\"assignment_known\":false");
    sb_puts(sb, ",\"partitions\":[");
    for (size_t i = 0; i < ws->n_parts; i++) {
        if (i > 0) sb_putc(sb, ',');
        append_partition(sb, &ws->parts[i]);
    }
    /* Windows in output order, so two checkpoints of one state are equal. */
    struct win **sorted = malloc((ws->count + 1) * sizeof *sorted);
    if (sorted == NULL) abort();
    size_t n = 0;
    for (size_t b = 0; b < ws->n_buckets; b++)
        for (size_t i = 0; i < ws->buckets[b].len; i++)
            sorted[n++] = ws->buckets[b].items[i];
    qsort(sorted, n, sizeof *sorted, compare_for_output);
    sb_puts(sb, "],\"windows\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0) sb_putc(sb, ',');
        append_window(sb, ws, sorted[i]);
    }
    sb_putc(sb, ']');
    free(sorted);
}

static int read_time(const json_t *j, int64_t *t)
{
    if (json_is_null(j)) {
        *t = INT64_MIN;
        return 0;
    }
    if (!json_is_integer(j)) return -1;
    json_int_t v = json_integer_value(j);
    if (v != INT64_MAX && (v < -TIME_LIMIT_MS || v > TIME_LIMIT_MS)) return -1;
    *t = (int64_t)v;
    return 0;
}

static int restore_error(window_set *ws, char *err, size_t errlen, const char *reason)
{
    if (reason != NULL) snprintf(err, errlen, "checkpoint: %s", reason);
    free_windows(ws);
    ws->n_parts = 0;
    ws->watermark = ws->highest = INT64_MIN;
    ws->assignment_known = false;
    return -1;
}

static int restore_partitions(window_set *ws, const json_t *parts, int64_t now_ms)
{
    size_t i;
    const json_t *pj;
    if (!json_is_array(parts)) return -1;
    json_array_foreach(parts, i, pj)
    {
        const json_t *topic = json_object_get(pj, "topic");
        const json_t *number = json_object_get(pj, "partition");
        const json_t *next = json_object_get(pj, "next_offset");
        const json_t *assigned = json_object_get(pj, "assigned");
        if (!json_is_string(topic) || json_string_length(topic) >= WINDOW_TOPIC_MAX ||
            !json_is_integer(number) || json_integer_value(number) < -1 ||
            json_integer_value(number) > INT32_MAX || !json_is_integer(next) ||
            !json_is_boolean(assigned))
            return -1;
        struct window_source src = {json_string_value(topic), json_string_length(topic),
                                    (int32_t)json_integer_value(number), 0};
        if (partition_index(ws, &src) >= 0) return -1;
        struct partition *p = partition_get(ws, &src, now_ms);
        p->next_offset = (int64_t)json_integer_value(next);
        p->assigned = json_is_true(assigned);
        if (read_time(json_object_get(pj, "highest"), &p->highest) != 0) return -1;
    }
    return 0;
}

static int restore_one_window(window_set *ws, const json_t *wj, char *err, size_t errlen)
{
    const json_t *key = json_object_get(wj, "key");
    const json_t *start = json_object_get(wj, "start");
    const json_t *emitted = json_object_get(wj, "emitted");
    struct window_key k = {0};
    if (json_is_integer(key)) {
        k.num = (int64_t)json_integer_value(key);
    } else if (json_is_string(key) && json_string_length(key) < WINDOW_RESULT_KEY_MAX &&
               memchr(json_string_value(key), '\0', json_string_length(key)) == NULL) {
        k.is_string = true;
        k.text = json_string_value(key);
        k.len = json_string_length(key);
    } else {
        snprintf(err, errlen, "checkpoint: a window key is neither an integer nor a string");
        return -1;
    }
    int64_t s;
    if (read_time(start, &s) != 0 || s == INT64_MIN || s == INT64_MAX ||
        floor_to(s, ws->cfg->slide_ms) != s || !json_is_boolean(emitted)) {
        snprintf(err, errlen, "checkpoint: a window start is not on the window grid");
        return -1;
    }
    uint64_t hash = key_hash(&k, s);
    if (table_find(ws, &k, s, hash) != NULL) {
        snprintf(err, errlen, "checkpoint: a window appears twice");
        return -1;
    }
    struct agg_state *state =
        agg_state_from_json(ws->cfg->spec, json_object_get(wj, "state"), err, errlen);
    if (state == NULL) return -1;
    struct win *w =
        window_create(ws, &k, s, hash, json_is_true(emitted) && ws->cfg->allowed_lateness_ms > 0);
    agg_state_free(ws->cfg->spec, w->state);
    w->state = state;
    if (!w->emitted) mark_changed(ws, w);
    return 0;
}

int window_state_from_json(window_set *ws, const json_t *j, int64_t now_ms, char *err,
                           size_t errlen)
{
    const json_t *assignment_known = json_object_get(j, "assignment_known");
    const json_t *windows = json_object_get(j, "windows");
    if (read_time(json_object_get(j, "watermark"), &ws->watermark) != 0 ||
        read_time(json_object_get(j, "highest"), &ws->highest) != 0)
        return restore_error(ws, err, errlen, "watermark or highest is not a time");
    if (!json_is_boolean(assignment_known) || (windows != NULL && !json_is_array(windows)))
        return restore_error(ws, err, errlen, "window state is incomplete");
    ws->assignment_known = json_is_true(assignment_known);
    if (restore_partitions(ws, json_object_get(j, "partitions"), now_ms) != 0)
        return restore_error(ws, err, errlen, "a partition is malformed or repeated");
    ws->last_input_ms = now_ms;
    size_t i;
    const json_t *wj;
    json_array_foreach(windows, i, wj)
    {
        if (window_restore_window(ws, wj, err, errlen) != 0) return -1;
    }
    return 0;
}

int window_restore_window(window_set *ws, const json_t *wj, char *err, size_t errlen)
{
    if (restore_one_window(ws, wj, err, errlen) != 0) return restore_error(ws, err, errlen, NULL);
    /* A window the watermark has already passed (not possible in a file this
     * program wrote) closes now rather than lingering. */
    close_reached(ws);
    return 0;
}
