/* window_state: see window_state.h. */
#include "window_state.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

/* ---- writing ------------------------------------------------------------- */

static void append_time_or_null(strbuf *sb, int64_t t)
{
    if (t == INT64_MIN)
        sb_puts(sb, "null");
    else
        sb_put_i64(sb, t);
}

static void append_key(strbuf *sb, const struct window_key *k)
{
    if (k->is_string)
        ndjson_append_string(sb, k->text, k->len);
    else
        sb_put_i64(sb, k->num);
}

/* Commas between the elements of an array written by a visitor. */
struct list_writer {
    strbuf *sb;
    const struct agg_spec *spec;
    size_t task_index;
    size_t written;
};

static void separate(struct list_writer *lw)
{
    if (lw->written++ > 0) sb_putc(lw->sb, ',');
}

static void write_key(void *ctx, const struct window_key *k)
{
    struct list_writer *lw = ctx;
    separate(lw);
    append_key(lw->sb, k);
}

static void write_window(void *ctx, const struct window_view *w)
{
    struct list_writer *lw = ctx;
    separate(lw);
    sb_puts(lw->sb, "{\"task\":");
    sb_put_i64(lw->sb, (int64_t)lw->task_index);
    sb_puts(lw->sb, ",\"key\":");
    append_key(lw->sb, &w->key);
    sb_puts(lw->sb, ",\"start\":");
    sb_put_i64(lw->sb, w->start_ms);
    sb_puts(lw->sb, w->emitted ? ",\"emitted\":true,\"state\":" : ",\"emitted\":false,\"state\":");
    agg_state_append_json(lw->sb, lw->spec, w->state);
    sb_putc(lw->sb, '}');
}

static void append_task(strbuf *sb, const window_set *ws, const window_task *t)
{
    struct window_task_info info;
    window_task_describe(t, &info);
    sb_puts(sb, "{\"topic\":");
    ndjson_append_string(sb, info.topic, info.topic_len);
    sb_puts(sb, ",\"partition\":");
    sb_put_i64(sb, info.partition);
    sb_puts(sb, ",\"next_offset\":");
    sb_put_i64(sb, info.next_offset);
    sb_puts(sb, ",\"highest\":");
    append_time_or_null(sb, info.highest);
    sb_puts(sb, ",\"watermark\":");
    append_time_or_null(sb, info.watermark);
    sb_printf(sb, ",\"counts\":{\"events\":%llu,\"late\":%llu,\"future\":%llu,\"elsewhere\":%llu}",
              (unsigned long long)info.counts.events, (unsigned long long)info.counts.late,
              (unsigned long long)info.counts.future, (unsigned long long)info.counts.elsewhere);
    if (window_task_is_kafka(t)) {
        sb_puts(sb, ",\"keys\":[");
        struct list_writer keys = {.sb = sb};
        window_task_foreach_key(ws, t, write_key, &keys);
        sb_putc(sb, ']');
    }
    sb_putc(sb, '}');
}

void window_state_append(strbuf *sb, const window_set *ws, const window_task *only)
{
    size_t n = only ? 1 : window_task_count(ws);
    sb_puts(sb, "\"tasks\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0) sb_putc(sb, ',');
        append_task(sb, ws, only ? only : window_task_at(ws, i));
    }
    sb_puts(sb, "],\"windows\":[");
    struct list_writer windows = {.sb = sb, .spec = window_set_config(ws)->spec};
    for (size_t i = 0; i < n; i++) {
        windows.task_index = i;
        window_task_foreach_window(ws, only ? only : window_task_at(ws, i), write_window, &windows);
    }
    sb_putc(sb, ']');
}

/* ---- reading ------------------------------------------------------------- */

static int read_time(const json_t *j, int64_t *t)
{
    if (json_is_null(j)) {
        *t = INT64_MIN;
        return 0;
    }
    if (!json_is_integer(j)) return -1;
    *t = (int64_t)json_integer_value(j);
    return 0;
}

static int read_count(const json_t *counts, const char *name, uint64_t *n)
{
    const json_t *j = json_object_get(counts, name);
    if (!json_is_integer(j) || json_integer_value(j) < 0) return -1;
    *n = (uint64_t)json_integer_value(j);
    return 0;
}

/* A key as a checkpoint writes it: an integer, or a string the windows can
 * hold. Returns 0, or -1. */
static int read_key(const json_t *j, struct window_key *k)
{
    memset(k, 0, sizeof *k);
    if (json_is_integer(j)) {
        k->num = (int64_t)json_integer_value(j);
        return 0;
    }
    if (!json_is_string(j) || json_string_length(j) >= WINDOW_RESULT_KEY_MAX ||
        memchr(json_string_value(j), '\0', json_string_length(j)) != NULL)
        return -1;
    k->is_string = true;
    k->text = json_string_value(j);
    k->len = json_string_length(j);
    return 0;
}

static window_task *restore_task(window_set *ws, const json_t *tj, int64_t now_ms, char *err,
                                 size_t errlen)
{
    const json_t *topic = json_object_get(tj, "topic");
    const json_t *partition = json_object_get(tj, "partition");
    const json_t *next = json_object_get(tj, "next_offset");
    const json_t *counts = json_object_get(tj, "counts");
    struct window_task_info info = {0};
    if (!json_is_string(topic) || !json_is_integer(partition) || !json_is_integer(next) ||
        json_integer_value(partition) < -1 || json_integer_value(partition) > INT32_MAX ||
        read_time(json_object_get(tj, "highest"), &info.highest) != 0 ||
        read_time(json_object_get(tj, "watermark"), &info.watermark) != 0 ||
        read_count(counts, "events", &info.counts.events) != 0 ||
        read_count(counts, "late", &info.counts.late) != 0 ||
        read_count(counts, "future", &info.counts.future) != 0 ||
        read_count(counts, "elsewhere", &info.counts.elsewhere) != 0) {
        snprintf(err, errlen, "a task is malformed");
        return NULL;
    }
    info.topic = json_string_value(topic);
    info.topic_len = json_string_length(topic);
    info.partition = (int32_t)json_integer_value(partition);
    info.next_offset = (int64_t)json_integer_value(next);
    window_task *t = window_task_restore(ws, &info, now_ms, err, errlen);
    if (t == NULL) return NULL;
    const json_t *keys = json_object_get(tj, "keys");
    if (keys != NULL && (!json_is_array(keys) || !window_task_is_kafka(t))) {
        snprintf(err, errlen, "a task's keys are malformed");
        window_task_drop(ws, t);
        return NULL;
    }
    size_t i;
    const json_t *kj;
    json_array_foreach(keys, i, kj)
    {
        struct window_key k;
        if (read_key(kj, &k) != 0) {
            snprintf(err, errlen, "a task's key is neither an integer nor a string");
            window_task_drop(ws, t);
            return NULL;
        }
        if (window_task_restore_key(ws, t, &k, err, errlen) != 0) {
            window_task_drop(ws, t);
            return NULL;
        }
    }
    return t;
}

static int restore_window(window_set *ws, window_task **tasks, size_t n_tasks, const json_t *wj,
                          char *err, size_t errlen)
{
    const json_t *task = json_object_get(wj, "task");
    const json_t *start = json_object_get(wj, "start");
    const json_t *emitted = json_object_get(wj, "emitted");
    struct window_view view = {0};
    if (!json_is_integer(task) || json_integer_value(task) < 0 ||
        (size_t)json_integer_value(task) >= n_tasks) {
        snprintf(err, errlen, "a window names no task of the checkpoint");
        return -1;
    }
    if (read_key(json_object_get(wj, "key"), &view.key) != 0) {
        snprintf(err, errlen, "a window key is neither an integer nor a string");
        return -1;
    }
    if (!json_is_integer(start) || !json_is_boolean(emitted)) {
        snprintf(err, errlen, "a window has no start or no emitted flag");
        return -1;
    }
    view.start_ms = (int64_t)json_integer_value(start);
    view.emitted = json_is_true(emitted);
    const struct agg_spec *spec = window_set_config(ws)->spec;
    struct agg_state *state = agg_state_from_json(spec, json_object_get(wj, "state"), err, errlen);
    if (state == NULL) return -1;
    window_task *t = tasks[json_integer_value(task)];
    if (window_task_is_kafka(t) && window_task_restore_key(ws, t, &view.key, err, errlen) != 0) {
        agg_state_free(spec, state);
        return -1;
    }
    return window_task_restore_window(ws, t, &view, state, err, errlen);
}

int window_state_restore(window_set *ws, struct checkpoint_reader *r, int64_t now_ms, char *err,
                         size_t errlen)
{
    const json_t *tasks_json = json_object_get(r->head, "tasks");
    if (!json_is_array(tasks_json)) {
        snprintf(err, errlen, "no \"tasks\" array");
        return -1;
    }
    size_t n = json_array_size(tasks_json), made = 0;
    window_task **tasks = calloc(n ? n : 1, sizeof *tasks);
    if (tasks == NULL) abort();
    int rc = 0;
    for (; made < n && rc == 0; made++) {
        tasks[made] = restore_task(ws, json_array_get(tasks_json, made), now_ms, err, errlen);
        if (tasks[made] == NULL) rc = -1;
    }
    json_t *window = NULL;
    int got;
    while (rc == 0 && (got = checkpoint_reader_next(r, &window)) != 0) {
        if (got < 0) {
            snprintf(err, errlen, "a window does not parse");
            rc = -1;
            break;
        }
        rc = restore_window(ws, tasks, n, window, err, errlen);
        json_decref(window);
    }
    for (size_t i = 0; rc != 0 && i < made; i++)
        if (tasks[i] != NULL) window_task_drop(ws, tasks[i]);
    free(tasks);
    return rc == 0 ? (int)n : -1;
}
