/* window: windows of every task in one open-addressing hash table (key,
 * start) for the hot path, and per task in buckets by closing deadline,
 * kept in deadline order: closing takes a task's due buckets in order and
 * sorts each by key, which gives exactly the end-then-key order the results
 * must have. A key lives in one task only, so (key, start) names one window
 * across all tasks. */
#include "window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_INITIAL_CAP 1024
#define NOT_LISTED SIZE_MAX

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
    window_task *task;
    struct agg_state *state;
};

/* Window ends lie on the slide grid, so a task's windows share few distinct
 * deadlines (about (max_delay + size) / slide, plus those kept for their
 * lateness): one bucket each. With 100,000 keys a binary heap of every
 * window spent 40 % of the run in sift-down cache misses; a bucket is
 * appended to in O(1) and sorted once, contiguously, when it closes. */
struct bucket {
    int64_t deadline;
    struct win **items;
    size_t len, cap;
};

struct window_task {
    char topic[WINDOW_TOPIC_MAX]; /* "" with partition -1: the plain task */
    int32_t partition;
    int64_t next_offset;
    int64_t highest;   /* INT64_MIN until a record arrives */
    int64_t watermark; /* INT64_MIN until a record arrives */
    int64_t last_active_ms;
    struct window_task_counts counts;
    struct bucket *buckets; /* ascending deadlines */
    size_t n_buckets, buckets_cap;
    size_t n_windows;
};

/* A key and the task it belongs to (Kafka tasks only). */
struct owned_key {
    uint64_t hash;
    bool is_string;
    int64_t num;
    uint32_t len;
    char *text;
    window_task *task;
};

struct window_set {
    const struct window_config *cfg;
    window_emit_fn emit;
    void *emit_ctx;

    struct win **table; /* open addressing, linear probing, load <= 1/2 */
    size_t table_cap;
    size_t count;

    struct owned_key **keys; /* the same scheme, by key alone */
    size_t keys_cap, n_keys;

    struct win **changed;
    size_t changed_len, changed_cap;

    window_task **tasks; /* in the order they were made */
    size_t n_tasks, tasks_cap;
    window_task *last_task; /* where the previous record went: records come in runs */
};

static void *grow(void *array, size_t *cap, size_t elem)
{
    *cap = *cap ? *cap * 2 : 64;
    void *p = realloc(array, *cap * elem);
    if (p == NULL) abort();
    return p;
}

/* ---- keys -------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t key_hash_alone(const struct window_key *k)
{
    if (!k->is_string) return mix64((uint64_t)k->num);
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < k->len; i++)
        h = (h ^ (unsigned char)k->text[i]) * 0x100000001b3ULL;
    return mix64(h);
}

static uint64_t window_hash(const struct window_key *k, int64_t start)
{
    return mix64(key_hash_alone(k) ^ mix64((uint64_t)start));
}

static bool same_key(bool is_string, int64_t num, uint32_t len, const char *text,
                     const struct window_key *k)
{
    if (is_string != k->is_string) return false;
    if (!k->is_string) return num == k->num;
    return len == k->len && memcmp(text, k->text, k->len) == 0;
}

static struct window_key key_of(const struct win *w)
{
    return (struct window_key){w->key_is_string, w->key_num, w->key_text, w->key_len};
}

/* Integers numerically, before strings; strings bytewise. */
static int key_compare(const struct window_key *a, const struct window_key *b)
{
    if (a->is_string != b->is_string) return a->is_string ? 1 : -1;
    if (!a->is_string) return (a->num > b->num) - (a->num < b->num);
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->text, b->text, n);
    if (c != 0) return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* End, then key, then start: the order results go out in. */
static int compare_for_output(const void *a, const void *b)
{
    const struct win *x = *(const struct win *const *)a, *y = *(const struct win *const *)b;
    if (x->end != y->end) return (x->end > y->end) - (x->end < y->end);
    struct window_key kx = key_of(x), ky = key_of(y);
    int c = key_compare(&kx, &ky);
    if (c != 0) return c;
    return (x->start > y->start) - (x->start < y->start);
}

/* The key as the result prints it: the string itself, or the integer in
 * decimal. malloc'd. */
static char *key_text_copy(const struct window_key *k, uint32_t *len)
{
    char digits[24];
    const char *text = k->text;
    size_t n = k->len;
    if (!k->is_string) {
        n = (size_t)snprintf(digits, sizeof digits, "%lld", (long long)k->num);
        text = digits;
    }
    char *copy = malloc(n + 1);
    if (copy == NULL) abort();
    memcpy(copy, text, n);
    copy[n] = '\0';
    *len = (uint32_t)n;
    return copy;
}

/* ---- key ownership ------------------------------------------------------ */

static void keys_place(window_set *ws, struct owned_key *o)
{
    size_t mask = ws->keys_cap - 1, i = (size_t)o->hash & mask;
    while (ws->keys[i] != NULL)
        i = (i + 1) & mask;
    ws->keys[i] = o;
}

/* Rebuild the key table at capacity cap, leaving out (and freeing) the keys
 * of task drop (NULL: none). */
static void keys_rebuild(window_set *ws, size_t cap, const window_task *drop)
{
    struct owned_key **old = ws->keys;
    size_t old_cap = ws->keys_cap;
    ws->keys = calloc(cap, sizeof *ws->keys);
    if (ws->keys == NULL) abort();
    ws->keys_cap = cap;
    ws->n_keys = 0;
    for (size_t i = 0; i < old_cap; i++) {
        struct owned_key *o = old[i];
        if (o == NULL) continue;
        if (o->task == drop) {
            free(o->text);
            free(o);
            continue;
        }
        keys_place(ws, o);
        ws->n_keys++;
    }
    free(old);
}

static struct owned_key *key_owner(const window_set *ws, const struct window_key *k, uint64_t hash)
{
    if (ws->keys_cap == 0) return NULL;
    size_t mask = ws->keys_cap - 1;
    for (size_t i = (size_t)hash & mask; ws->keys[i] != NULL; i = (i + 1) & mask) {
        struct owned_key *o = ws->keys[i];
        if (o->hash == hash && same_key(o->is_string, o->num, o->len, o->text, k)) return o;
    }
    return NULL;
}

static void key_claim(window_set *ws, const struct window_key *k, uint64_t hash, window_task *t)
{
    if ((ws->n_keys + 1) * 2 > ws->keys_cap)
        keys_rebuild(ws, ws->keys_cap ? ws->keys_cap * 2 : TABLE_INITIAL_CAP, NULL);
    struct owned_key *o = calloc(1, sizeof *o);
    if (o == NULL) abort();
    o->hash = hash;
    o->is_string = k->is_string;
    o->num = k->num;
    if (k->is_string) o->text = key_text_copy(k, &o->len);
    o->task = t;
    keys_place(ws, o);
    ws->n_keys++;
}

/* ---- closing queue ---------------------------------------------------- */

/* A window is due when the watermark reaches its end, or, once its final
 * result is out, its end plus the allowed lateness. */
static int64_t deadline(const window_set *ws, const struct win *w)
{
    return w->emitted ? w->end + ws->cfg->allowed_lateness_ms : w->end;
}

/* Queue w in its task's bucket of its deadline, making the bucket if needed. */
static void schedule(window_set *ws, struct win *w)
{
    window_task *t = w->task;
    int64_t due = deadline(ws, w);
    size_t i = t->n_buckets;
    while (i > 0 && t->buckets[i - 1].deadline > due)
        i--;
    if (i == 0 || t->buckets[i - 1].deadline != due) {
        if (t->n_buckets == t->buckets_cap)
            t->buckets = grow(t->buckets, &t->buckets_cap, sizeof *t->buckets);
        memmove(&t->buckets[i + 1], &t->buckets[i], (t->n_buckets - i) * sizeof *t->buckets);
        t->n_buckets++;
        t->buckets[i] = (struct bucket){.deadline = due};
        i++;
    }
    struct bucket *b = &t->buckets[i - 1];
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

/* ---- window table ------------------------------------------------------ */

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
        if (w->hash == hash && w->start == start &&
            same_key(w->key_is_string, w->key_num, w->key_len, w->key_text, k))
            return w;
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

static struct win *window_create(window_set *ws, window_task *t, const struct window_key *k,
                                 int64_t start, uint64_t hash, bool emitted)
{
    if ((ws->count + 1) * 2 > ws->table_cap) table_grow(ws);
    struct win *w = calloc(1, sizeof *w);
    if (w == NULL) abort();
    w->hash = hash;
    w->start = start;
    w->end = start + ws->cfg->size_ms;
    w->key_is_string = k->is_string;
    w->key_num = k->num;
    w->key_text = key_text_copy(k, &w->key_len);
    w->changed_pos = NOT_LISTED;
    w->emitted = emitted;
    w->task = t;
    w->state = agg_state_new(ws->cfg->spec);
    table_place(ws, w);
    ws->count++;
    t->n_windows++;
    schedule(ws, w);
    return w;
}

static void window_free(window_set *ws, struct win *w)
{
    agg_state_free(ws->cfg->spec, w->state);
    free(w->key_text);
    free(w);
}

/* Free a window already taken out of its bucket. */
static void window_destroy(window_set *ws, struct win *w)
{
    table_remove(ws, w);
    unmark_changed(ws, w);
    ws->count--;
    w->task->n_windows--;
    window_free(ws, w);
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

/* Pop every window of t whose deadline its watermark has reached: an open
 * one emits its final result (and stays for its lateness, if any), a closed
 * one past its lateness is freed. */
static void close_reached(window_set *ws, window_task *t)
{
    while (t->n_buckets > 0 && t->buckets[0].deadline <= t->watermark) {
        struct bucket due = t->buckets[0];
        t->n_buckets--;
        memmove(&t->buckets[0], &t->buckets[1], t->n_buckets * sizeof *t->buckets);
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

static void raise_watermark(window_set *ws, window_task *t, int64_t candidate)
{
    if (candidate <= t->watermark) return;
    t->watermark = candidate;
    close_reached(ws, t);
}

/* ---- tasks ------------------------------------------------------------- */

static bool task_matches(const window_task *t, const struct window_source *src)
{
    if (src == NULL) return t->partition == -1;
    return t->partition == src->partition && strlen(t->topic) == src->topic_len &&
           memcmp(t->topic, src->topic, src->topic_len) == 0;
}

window_task *window_task_find(const window_set *ws, const struct window_source *src)
{
    if (ws->last_task != NULL && task_matches(ws->last_task, src)) return ws->last_task;
    for (size_t i = 0; i < ws->n_tasks; i++)
        if (task_matches(ws->tasks[i], src)) return ws->tasks[i];
    return NULL;
}

/* A new task for topic/partition, with nothing seen yet. */
static window_task *task_new(window_set *ws, const char *topic, size_t topic_len, int32_t partition,
                             int64_t now_ms)
{
    window_task *t = calloc(1, sizeof *t);
    if (t == NULL) abort();
    memcpy(t->topic, topic, topic_len);
    t->partition = partition;
    t->next_offset = -1;
    t->highest = t->watermark = INT64_MIN;
    t->last_active_ms = now_ms;
    if (ws->n_tasks == ws->tasks_cap)
        ws->tasks = grow(ws->tasks, &ws->tasks_cap, sizeof *ws->tasks);
    ws->tasks[ws->n_tasks++] = t;
    return t;
}

/* src's task, made when it is new. A topic name too long for a task is
 * cut: window_event refuses such records before they get here. */
static window_task *task_get(window_set *ws, const struct window_source *src, int64_t now_ms)
{
    window_task *t = window_task_find(ws, src);
    if (t == NULL) {
        size_t len = src ? src->topic_len : 0;
        if (len >= WINDOW_TOPIC_MAX) len = WINDOW_TOPIC_MAX - 1;
        t = task_new(ws, src ? src->topic : "", len, src ? src->partition : -1, now_ms);
    }
    ws->last_task = t;
    return t;
}

static void task_free(window_set *ws, window_task *t)
{
    for (size_t b = 0; b < t->n_buckets; b++) {
        for (size_t i = 0; i < t->buckets[b].len; i++)
            window_free(ws, t->buckets[b].items[i]);
        free(t->buckets[b].items);
    }
    free(t->buckets);
    free(t);
}

size_t window_task_count(const window_set *ws)
{
    return ws->n_tasks;
}

window_task *window_task_at(const window_set *ws, size_t i)
{
    return ws->tasks[i];
}

size_t window_task_windows(const window_task *t)
{
    return t->n_windows;
}

bool window_task_is_kafka(const window_task *t)
{
    return t->partition >= 0;
}

void window_task_describe(const window_task *t, struct window_task_info *info)
{
    info->topic = t->topic;
    info->topic_len = strlen(t->topic);
    info->partition = t->partition;
    info->next_offset = t->next_offset;
    info->highest = t->highest;
    info->watermark = t->watermark;
    info->counts = t->counts;
}

void window_task_drop(window_set *ws, window_task *t)
{
    for (size_t b = 0; b < t->n_buckets; b++) {
        for (size_t i = 0; i < t->buckets[b].len; i++) {
            struct win *w = t->buckets[b].items[i];
            table_remove(ws, w);
            unmark_changed(ws, w);
            ws->count--;
        }
    }
    if (ws->keys_cap > 0) keys_rebuild(ws, ws->keys_cap, t);
    size_t i = 0;
    while (ws->tasks[i] != t)
        i++;
    memmove(&ws->tasks[i], &ws->tasks[i + 1], (ws->n_tasks - i - 1) * sizeof *ws->tasks);
    ws->n_tasks--;
    if (ws->last_task == t) ws->last_task = NULL;
    task_free(ws, t);
}

/* Every window of t, in output order (malloc'd; *n gets the count). */
static struct win **task_windows_sorted(const window_task *t, size_t *n)
{
    size_t total = 0;
    for (size_t b = 0; b < t->n_buckets; b++)
        total += t->buckets[b].len;
    struct win **sorted = malloc((total + 1) * sizeof *sorted);
    if (sorted == NULL) abort();
    *n = 0;
    for (size_t b = 0; b < t->n_buckets; b++)
        for (size_t i = 0; i < t->buckets[b].len; i++)
            sorted[(*n)++] = t->buckets[b].items[i];
    qsort(sorted, *n, sizeof *sorted, compare_for_output);
    return sorted;
}

void window_task_foreach_window(const window_set *ws, const window_task *t,
                                void (*visit)(void *ctx, const struct window_view *w), void *ctx)
{
    (void)ws;
    size_t n;
    struct win **sorted = task_windows_sorted(t, &n);
    for (size_t i = 0; i < n; i++) {
        struct window_view view = {key_of(sorted[i]), sorted[i]->start, sorted[i]->emitted,
                                   sorted[i]->state};
        visit(ctx, &view);
    }
    free(sorted);
}

static struct window_key owned_key_of(const struct owned_key *o)
{
    return (struct window_key){o->is_string, o->num, o->text, o->len};
}

static int compare_owned(const void *a, const void *b)
{
    struct window_key x = owned_key_of(*(const struct owned_key *const *)a),
                      y = owned_key_of(*(const struct owned_key *const *)b);
    return key_compare(&x, &y);
}

void window_task_foreach_key(const window_set *ws, const window_task *t,
                             void (*visit)(void *ctx, const struct window_key *k), void *ctx)
{
    struct owned_key **mine = malloc((ws->n_keys + 1) * sizeof *mine);
    if (mine == NULL) abort();
    size_t n = 0;
    for (size_t i = 0; i < ws->keys_cap; i++)
        if (ws->keys[i] != NULL && ws->keys[i]->task == t) mine[n++] = ws->keys[i];
    qsort(mine, n, sizeof *mine, compare_owned);
    for (size_t i = 0; i < n; i++) {
        struct window_key k = owned_key_of(mine[i]);
        visit(ctx, &k);
    }
    free(mine);
}

/* ---- public ------------------------------------------------------------ */

const char *window_config_check(const struct window_config *cfg)
{
    if (cfg->size_ms <= 0 || cfg->size_ms > WINDOW_TIME_LIMIT_MS) return "--size must be positive";
    if (cfg->slide_ms <= 0 || cfg->slide_ms > cfg->size_ms)
        return "--slide must be positive and at most --size";
    if ((cfg->size_ms + cfg->slide_ms - 1) / cfg->slide_ms > WINDOW_MAX_PER_EVENT)
        return "--size / --slide gives too many windows per event (at most 1000)";
    if (cfg->max_delay_ms > WINDOW_TIME_LIMIT_MS ||
        cfg->allowed_lateness_ms > WINDOW_TIME_LIMIT_MS ||
        cfg->max_future_ms > WINDOW_TIME_LIMIT_MS || cfg->idle_timeout_ms > WINDOW_TIME_LIMIT_MS)
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
    return ws;
}

const struct window_config *window_set_config(const window_set *ws)
{
    return ws->cfg;
}

void window_set_free(window_set *ws)
{
    if (ws == NULL) return;
    for (size_t i = 0; i < ws->n_tasks; i++)
        task_free(ws, ws->tasks[i]);
    for (size_t i = 0; i < ws->keys_cap; i++) {
        if (ws->keys[i] == NULL) continue;
        free(ws->keys[i]->text);
        free(ws->keys[i]);
    }
    free(ws->keys);
    free(ws->tasks);
    free(ws->table);
    free(ws->changed);
    free(ws);
}

bool window_already_counted(const window_set *ws, const struct window_source *src)
{
    if (src == NULL) return false;
    const window_task *t = window_task_find(ws, src);
    return t != NULL && src->offset < t->next_offset;
}

/* Floor division: the window grid must not shift for times before 1970. */
static int64_t floor_to(int64_t t, int64_t step)
{
    int64_t q = t / step;
    if (t % step != 0 && t < 0) q--;
    return q * step;
}

/* Count the event in t's window [start, start + size) unless it is past
 * its lateness. Returns false when it is. */
static bool add_to_window(window_set *ws, window_task *t, const struct window_key *key,
                          int64_t start, const double *values)
{
    int64_t end = start + ws->cfg->size_ms;
    if (t->watermark != INT64_MIN && end + ws->cfg->allowed_lateness_ms <= t->watermark)
        return false;
    uint64_t hash = window_hash(key, start);
    struct win *w = table_find(ws, key, start, hash);
    /* A new window whose end the watermark has passed (within its lateness)
     * is born closed: its result goes out at once, as for any closed one. */
    if (w == NULL) w = window_create(ws, t, key, start, hash, end <= t->watermark);
    agg_state_add(ws->cfg->spec, w->state, values);
    if (w->emitted)
        emit_result(ws, w, true); /* within its lateness: the final result changes */
    else
        mark_changed(ws, w);
    return true;
}

/* Whether key may count in Kafka task t: it belongs to t, or to no one yet
 * (it is t's from now on). Otherwise *owner names the task it belongs to. */
static bool key_admitted(window_set *ws, window_task *t, const struct window_key *key,
                         const window_task **owner)
{
    uint64_t hash = key_hash_alone(key);
    const struct owned_key *o = key_owner(ws, key, hash);
    if (o == NULL) {
        key_claim(ws, key, hash, t);
        return true;
    }
    *owner = o->task;
    return o->task == t;
}

enum window_verdict window_add(window_set *ws, const struct window_key *key, int64_t event_ms,
                               const double *values, const struct window_source *src,
                               int64_t now_ms, struct window_refusal *why)
{
    window_task *t = task_get(ws, src, now_ms);
    t->counts.events++;
    if (src != NULL && src->offset >= t->next_offset) t->next_offset = src->offset + 1;
    if (event_ms > now_ms + ws->cfg->max_future_ms) {
        t->counts.future++;
        return WINDOW_FUTURE;
    }
    t->last_active_ms = now_ms;
    if (src != NULL && !key_admitted(ws, t, key, &why->owner)) {
        t->counts.elsewhere++;
        return WINDOW_KEY_ELSEWHERE;
    }

    int64_t last_start = floor_to(event_ms, ws->cfg->slide_ms);
    bool counted = false;
    for (int64_t start = last_start; start > event_ms - ws->cfg->size_ms;
         start -= ws->cfg->slide_ms)
        counted |= add_to_window(ws, t, key, start, values);
    if (event_ms > t->highest) {
        t->highest = event_ms;
        raise_watermark(ws, t, event_ms - ws->cfg->max_delay_ms);
    }
    if (counted) return WINDOW_ACCEPTED;
    t->counts.late++;
    why->start_ms = last_start;
    why->end_ms = last_start + ws->cfg->size_ms;
    return WINDOW_LATE;
}

void window_tick(window_set *ws, int64_t now_ms)
{
    if (ws->cfg->idle_timeout_ms <= 0) return;
    for (size_t i = 0; i < ws->n_tasks; i++) {
        window_task *t = ws->tasks[i];
        int64_t quiet = now_ms - t->last_active_ms;
        if (t->highest != INT64_MIN && quiet >= ws->cfg->idle_timeout_ms)
            raise_watermark(ws, t, t->highest - ws->cfg->max_delay_ms + quiet);
    }
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
    for (size_t i = 0; i < ws->n_tasks; i++)
        raise_watermark(ws, ws->tasks[i], INT64_MAX);
}

size_t window_count(const window_set *ws)
{
    return ws->count;
}

int64_t window_lag_ms(const window_set *ws)
{
    int64_t lag = 0;
    for (size_t i = 0; i < ws->n_tasks; i++) {
        const window_task *t = ws->tasks[i];
        if (t->highest == INT64_MIN || t->watermark == INT64_MIN || t->watermark == INT64_MAX)
            continue;
        if (t->highest - t->watermark > lag) lag = t->highest - t->watermark;
    }
    return lag;
}

/* ---- restoring ---------------------------------------------------------- */

static bool time_in_range(int64_t t)
{
    return t == INT64_MIN || t == INT64_MAX ||
           (t >= -WINDOW_TIME_LIMIT_MS && t <= WINDOW_TIME_LIMIT_MS);
}

window_task *window_task_restore(window_set *ws, const struct window_task_info *info,
                                 int64_t now_ms, char *err, size_t errlen)
{
    struct window_source src = {info->topic, info->topic_len, info->partition, 0};
    if (info->topic_len >= WINDOW_TOPIC_MAX || info->partition < -1 ||
        (info->partition == -1) != (info->topic_len == 0)) {
        snprintf(err, errlen, "a task's topic or partition is out of range");
        return NULL;
    }
    if (window_task_find(ws, info->partition == -1 ? NULL : &src) != NULL) {
        snprintf(err, errlen, "a task appears twice");
        return NULL;
    }
    if (!time_in_range(info->highest) || !time_in_range(info->watermark) ||
        info->next_offset < -1) {
        snprintf(err, errlen, "a task's times or offset are out of range");
        return NULL;
    }
    window_task *t = task_new(ws, info->topic, info->topic_len, info->partition, now_ms);
    t->next_offset = info->next_offset;
    t->highest = info->highest;
    t->watermark = info->watermark;
    t->counts = info->counts;
    return t;
}

int window_task_restore_window(window_set *ws, window_task *t, const struct window_view *v,
                               struct agg_state *state, char *err, size_t errlen)
{
    int64_t s = v->start_ms;
    if (s <= -WINDOW_TIME_LIMIT_MS || s >= WINDOW_TIME_LIMIT_MS ||
        floor_to(s, ws->cfg->slide_ms) != s) {
        agg_state_free(ws->cfg->spec, state);
        snprintf(err, errlen, "a window start is not on the window grid");
        return -1;
    }
    uint64_t hash = window_hash(&v->key, s);
    if (table_find(ws, &v->key, s, hash) != NULL) {
        agg_state_free(ws->cfg->spec, state);
        snprintf(err, errlen, "a window appears twice");
        return -1;
    }
    struct win *w =
        window_create(ws, t, &v->key, s, hash, v->emitted && ws->cfg->allowed_lateness_ms > 0);
    agg_state_free(ws->cfg->spec, w->state);
    w->state = state;
    if (!w->emitted) mark_changed(ws, w);
    /* A window the watermark has already passed (not possible in a file this
     * program wrote) closes now rather than lingering. */
    close_reached(ws, t);
    return 0;
}

int window_task_restore_key(window_set *ws, window_task *t, const struct window_key *key, char *err,
                            size_t errlen)
{
    uint64_t hash = key_hash_alone(key);
    const struct owned_key *o = key_owner(ws, key, hash);
    if (o != NULL && o->task != t) {
        snprintf(err, errlen, "a key belongs to two partitions");
        return -1;
    }
    if (o == NULL) key_claim(ws, key, hash, t);
    return 0;
}
