/* window: event-time windows per key, grouped in tasks, with a watermark per
 * task, lateness and the order in which results come out. Knows nothing of
 * I/O or of any file format: results leave through a callback, the wall
 * clock comes in as an argument, and the checkpoint form of the state is
 * window_state.h's business.
 *
 * Windows are aligned to the epoch: with size S and slide D (D = S for
 * tumbling windows) an event at time t belongs to every [k*D, k*D + S) that
 * holds t, i.e. ceil(S/D) windows at most.
 *
 * Tasks. Every Kafka topic-partition is a task of its own, as in Kafka
 * Streams; records without Kafka coordinates form the one "plain" task. A
 * task has its own highest event time, its own watermark (highest -
 * max_delay, never going back), its own windows and its own counts, so a
 * partition that arrives late (a backlog, a rebalance that hands it to this
 * process) is never measured against another partition, and any split of
 * the partitions over processes gives the same windows. A task whose
 * records stop for idle_timeout (wall clock) has its watermark advance with
 * the wall clock from its highest event time. idle_timeout 0 turns that off
 * (fully deterministic).
 *
 * Keys and partitions. A key belongs to the first Kafka task it is seen in;
 * a record of it from another Kafka task is refused (WINDOW_KEY_ELSEWHERE),
 * so no window is ever made of two partitions. The producer must key by the
 * window key (sp-kcat-out --key). The plain task is not checked.
 *
 * Closing. Window [start, end) closes when its task's watermark reaches
 * end: its result goes out final, in order of end, then key (integer keys
 * numerically, before string keys, which compare bytewise) within the
 * task. With allowed lateness L the window is kept until watermark >= end +
 * L; an event for it in that time updates it and its result goes out again,
 * final. An event whose every window has end + L <= watermark is late (as
 * Flink decides it): nothing counts it.
 *
 * Determinism: the same records of a task in the same order give the same
 * results in the same order, as long as no idle timeout fires. */
#ifndef SP_WINDOW_H
#define SP_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "window_result.h"

/* Most windows one event may belong to (size / slide). */
#define WINDOW_MAX_PER_EVENT 1000

/* Longest Kafka topic name (Kafka's own limit is 249). */
#define WINDOW_TOPIC_MAX 256

/* Times beyond these (about year 33658 either way) are refused, so no sum
 * of a time and a duration can overflow. */
#define WINDOW_TIME_LIMIT_MS (1000LL * 1000 * 1000 * 1000 * 1000)

struct window_config {
    int64_t size_ms;
    int64_t slide_ms; /* == size_ms for tumbling windows */
    int64_t max_delay_ms;
    int64_t allowed_lateness_ms;
    int64_t idle_timeout_ms; /* 0: tasks never count as idle */
    int64_t max_future_ms;   /* events later than wall clock + this are refused */
    bool track_changes;      /* keep the list window_emit_changed() needs */
    const struct agg_spec *spec;
    char key_name[WINDOW_RESULT_NAME_MAX]; /* the result's key member, "regionId" */
};

/* A key value: an integer (num) or a string (text, len bytes, valid UTF-8,
 * shorter than WINDOW_RESULT_KEY_MAX). text is ignored for integers. */
struct window_key {
    bool is_string;
    int64_t num;
    const char *text;
    size_t len;
};

/* Kafka coordinates of a record; a NULL source means a plain input line.
 * offset is ignored where only the partition matters. */
struct window_source {
    const char *topic;
    size_t topic_len;
    int32_t partition;
    int64_t offset;
};

enum window_verdict {
    WINDOW_ACCEPTED,     /* counted in at least one window */
    WINDOW_LATE,         /* every window it belongs to is past its lateness */
    WINDOW_FUTURE,       /* beyond wall clock + max_future: not counted, watermark untouched */
    WINDOW_KEY_ELSEWHERE /* its key belongs to another partition: not counted */
};

typedef struct window_task window_task;

/* Why an event was refused: on WINDOW_LATE its last window; on
 * WINDOW_KEY_ELSEWHERE the task that owns its key. */
struct window_refusal {
    int64_t start_ms;
    int64_t end_ms;
    const window_task *owner;
};

/* What a task has counted, for its checkpoint and the metrics. */
struct window_task_counts {
    uint64_t events;    /* records of the task that reached window_add */
    uint64_t late;      /* WINDOW_LATE */
    uint64_t future;    /* WINDOW_FUTURE */
    uint64_t elsewhere; /* WINDOW_KEY_ELSEWHERE */
};

/* A task's own members: everything of its state but the windows and keys. */
struct window_task_info {
    const char *topic; /* "" for the plain task */
    size_t topic_len;
    int32_t partition;   /* -1 for the plain task */
    int64_t next_offset; /* first offset not yet counted; -1 when none was seen */
    int64_t highest;     /* INT64_MIN until a record arrives */
    int64_t watermark;   /* INT64_MIN until a record arrives */
    struct window_task_counts counts;
};

/* A window as the checkpoint sees it; state is the window's own. */
struct window_view {
    struct window_key key;
    int64_t start_ms;
    bool emitted; /* its final result is out; kept only for allowed lateness */
    const struct agg_state *state;
};

/* Receives each result; r is valid only during the call. */
typedef void (*window_emit_fn)(void *ctx, const struct window_result *r);

typedef struct window_set window_set;

/* A set with no tasks yet. cfg (and its spec) must outlive the set. */
window_set *window_set_new(const struct window_config *cfg, window_emit_fn emit, void *ctx);
void window_set_free(window_set *ws);

/* The configuration the set was made with. */
const struct window_config *window_set_config(const window_set *ws);

/* Is the configuration usable? size_ms > 0, 0 < slide_ms <= size_ms,
 * size_ms / slide_ms <= WINDOW_MAX_PER_EVENT, durations within the time
 * limit. Returns NULL when it is, else what is wrong. */
const char *window_config_check(const struct window_config *cfg);

/* True when src's offset is below the next offset its task has recorded:
 * the record was counted before a restart and must be skipped. */
bool window_already_counted(const window_set *ws, const struct window_source *src);

/* Count one event at event_ms for key, with values[i] the value of
 * spec->fields[i] (NaN when absent), in the task of src (NULL: the plain
 * task; made when it is new). now_ms is the wall clock. May emit results
 * (closed windows; an updated window within its lateness). The task's next
 * offset moves past src's whatever the verdict; *why says more on
 * WINDOW_LATE and WINDOW_KEY_ELSEWHERE. */
enum window_verdict window_add(window_set *ws, const struct window_key *key, int64_t event_ms,
                               const double *values, const struct window_source *src,
                               int64_t now_ms, struct window_refusal *why);

/* Let the wall clock act: a task idle for idle_timeout has its watermark
 * advance; may emit closed windows. Call when input is idle and now and
 * then under load. */
void window_tick(window_set *ws, int64_t now_ms);

/* Emit a provisional result (final false) for every open window that
 * changed since the last call, in end-then-key order. Needs track_changes. */
void window_emit_changed(window_set *ws);

/* End of input: close every window of every task, in order (tasks in the
 * order they were made); every watermark becomes final. */
void window_close_all(window_set *ws);

/* Windows held in memory (open, or closed and within their lateness). */
size_t window_count(const window_set *ws);

/* The largest highest-event-time minus watermark over the tasks (0 when
 * none has both), for the watermark lag gauge. */
int64_t window_lag_ms(const window_set *ws);

/* ---- tasks ---- */

/* Number of tasks, and task i of them (0 <= i < window_task_count), in the
 * order they were made. */
size_t window_task_count(const window_set *ws);
window_task *window_task_at(const window_set *ws, size_t i);

/* The task of src's partition (NULL src: the plain task), or NULL. */
window_task *window_task_find(const window_set *ws, const struct window_source *src);

/* The task's own members into *info (its topic points into the task). */
void window_task_describe(const window_task *t, struct window_task_info *info);

/* Windows t holds (open, or closed and within their lateness). */
size_t window_task_windows(const window_task *t);

/* Whether t is a Kafka partition's task (not the plain one). */
bool window_task_is_kafka(const window_task *t);

/* Forget t, its windows and its keys without emitting anything: its
 * partition went to another process, which continues from its checkpoint. */
void window_task_drop(window_set *ws, window_task *t);

/* Call visit for each window of t, in end-then-key-then-start order. */
void window_task_foreach_window(const window_set *ws, const window_task *t,
                                void (*visit)(void *ctx, const struct window_view *w), void *ctx);

/* Call visit for each key t owns (Kafka tasks only), in key order. */
void window_task_foreach_key(const window_set *ws, const window_task *t,
                             void (*visit)(void *ctx, const struct window_key *k), void *ctx);

/* ---- restoring a checkpoint (window_state.h) ---- */

/* Make the task of info's partition with info's members; now_ms starts its
 * idle clock. Returns NULL with the reason in err when the set has that
 * task already, or when a time or the topic is out of range. */
window_task *window_task_restore(window_set *ws, const struct window_task_info *info,
                                 int64_t now_ms, char *err, size_t errlen);

/* Give t one window, taking over state (freed on failure too). A window
 * whose end t's watermark has passed (never so in a checkpoint sp-window
 * wrote) closes at once. Returns 0, or -1 with the reason in err: a start
 * off the window grid, a window or key that exists already. */
int window_task_restore_window(window_set *ws, window_task *t, const struct window_view *w,
                               struct agg_state *state, char *err, size_t errlen);

/* Give t ownership of key (Kafka tasks). Returns 0, or -1 with the reason
 * in err when another task owns it. */
int window_task_restore_key(window_set *ws, window_task *t, const struct window_key *key, char *err,
                            size_t errlen);

#endif
