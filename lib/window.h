/* window: event-time windows per key, the watermark, lateness and the order
 * in which results come out. Knows nothing of I/O: results leave through a
 * callback, the wall clock comes in as an argument.
 *
 * Windows are aligned to the epoch: with size S and slide D (D = S for
 * tumbling windows) an event at time t belongs to every [k*D, k*D + S) that
 * holds t, i.e. ceil(S/D) windows at most.
 *
 * Watermark. Every input partition keeps the highest event time it has seen;
 * a record without Kafka coordinates belongs to the one "plain" partition.
 * The watermark is min(highest) - max_delay over the partitions that hold it
 * back: the assigned ones once an assignment was given (window_assign), else
 * every partition seen; a partition idle for idle_timeout (wall clock) stops
 * holding back, an assigned one that has sent nothing holds the watermark
 * where it is until it is idle. While no record at all arrives for
 * idle_timeout, the watermark advances with the wall clock from the highest
 * event time seen. idle_timeout 0 turns idleness off (fully deterministic).
 * The watermark never goes back.
 *
 * Closing. Window [start, end) closes when watermark >= end: its result goes
 * out final, in order of end, then key (integer keys numerically, before
 * string keys, which compare bytewise). With allowed lateness L the window is
 * kept until watermark >= end + L; an event for it in that time updates it
 * and its result goes out again, final. An event whose every window has
 * end + L <= watermark is late (as Flink decides it): nothing counts it.
 *
 * Determinism: the same records in the same order give the same results in
 * the same order, as long as no idle timeout fires. */
#ifndef SP_WINDOW_H
#define SP_WINDOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "window_result.h"

/* Most windows one event may belong to (size / slide). */
#define WINDOW_MAX_PER_EVENT 1000

/* Longest Kafka topic name (Kafka's own limit is 249). */
#define WINDOW_TOPIC_MAX 256

struct window_config {
    int64_t size_ms;
    int64_t slide_ms; /* == size_ms for tumbling windows */
    int64_t max_delay_ms;
    int64_t allowed_lateness_ms;
    int64_t idle_timeout_ms; /* 0: partitions and input never count as idle */
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

/* Kafka coordinates of a record; a NULL source means a plain input line. */
struct window_source {
    const char *topic;
    size_t topic_len;
    int32_t partition;
    int64_t offset;
};

enum window_verdict {
    WINDOW_ACCEPTED, /* counted in at least one window */
    WINDOW_LATE,     /* every window it belongs to is past its lateness */
    WINDOW_FUTURE    /* beyond wall clock + max_future: not counted, watermark untouched */
};

/* Where a refused event would have gone: its last window. */
struct window_span {
    int64_t start_ms;
    int64_t end_ms;
};

/* Receives each result; r is valid only during the call. */
typedef void (*window_emit_fn)(void *ctx, const struct window_result *r);

typedef struct window_set window_set;

/* A set with no windows and no watermark yet. cfg (and its spec) must
 * outlive the set. */
window_set *window_set_new(const struct window_config *cfg, window_emit_fn emit, void *ctx);
void window_set_free(window_set *ws);

/* Is window [start, end) checked? size_ms > 0, 0 < slide_ms <= size_ms,
 * size_ms / slide_ms <= WINDOW_MAX_PER_EVENT. Returns NULL when cfg is usable,
 * else what is wrong. */
const char *window_config_check(const struct window_config *cfg);

/* True when src's offset is below the next offset recorded for its
 * partition: the record was counted before a restart and must be skipped. */
bool window_already_counted(const window_set *ws, const struct window_source *src);

/* Count one event at event_ms for key, with values[i] the value of
 * spec->fields[i] (NaN when absent). src is NULL for a plain line. now_ms is
 * the wall clock. May emit results (closed windows; an updated window within
 * its lateness). On WINDOW_LATE *span names the event's last window; on
 * WINDOW_FUTURE nothing changes but the partition's offset. */
enum window_verdict window_add(window_set *ws, const struct window_key *key, int64_t event_ms,
                               const double *values, const struct window_source *src,
                               int64_t now_ms, struct window_span *span);

/* Replace the set of assigned partitions (a {"_kafka_assignment":[...]}
 * line). Each of them holds the watermark back from now_ms on until it sends
 * records or goes idle. */
void window_assign(window_set *ws, const struct window_source *parts, size_t n, int64_t now_ms);

/* Let the wall clock act: idle partitions stop holding back, an idle input
 * moves the watermark; may emit closed windows. Call when input is idle and
 * now and then under load. */
void window_tick(window_set *ws, int64_t now_ms);

/* Emit a provisional result (final false) for every open window that
 * changed since the last call, in end-then-key order. Needs track_changes. */
void window_emit_changed(window_set *ws);

/* End of input: close every window, in order; the watermark becomes final. */
void window_close_all(window_set *ws);

/* The watermark, or INT64_MIN when there is none yet. */
int64_t window_watermark(const window_set *ws);

/* The highest event time seen, or INT64_MIN. */
int64_t window_highest(const window_set *ws);

/* Windows held in memory (open, or closed and within their lateness). */
size_t window_count(const window_set *ws);

/* Append the whole state as the members of a checkpoint (no braces):
 * "watermark", "highest", "assignment_known", "partitions" (topic,
 * partition, next_offset, highest, assigned) and "windows" (key, start,
 * emitted, state), windows in end-then-key order. Written straight as text:
 * a jansson tree of 300,000 windows took 1.3 GB and seconds. */
void window_state_append_json(strbuf *sb, const window_set *ws);

/* Replace the state of an empty set with the one in j (members as written by
 * window_state_append_json; "windows" may be left out and its windows given
 * one by one to window_restore_window). Returns 0, or -1 with the reason in
 * err; the set is then empty again. now_ms starts the idle clocks. */
int window_state_from_json(window_set *ws, const json_t *j, int64_t now_ms, char *err,
                           size_t errlen);

/* Add one window of a checkpoint, {"key":...,"start":...,"emitted":...,
 * "state":{...}}, to a set restored by window_state_from_json. Returns 0, or
 * -1 with the reason in err; the set is then empty again. A window the
 * watermark has already passed (never so in a file sp-window wrote) closes
 * at once. */
int window_restore_window(window_set *ws, const json_t *wj, char *err, size_t errlen);

#endif
