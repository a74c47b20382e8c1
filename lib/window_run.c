/* window_run: one run of sp-window; see window_run.h. */
#include "window_run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "checkpoint.h"
#include "clock.h"
#include "control_line.h"
#include "diag.h"
#include "dlq.h"
#include "event_time.h"
#include "line_io.h"
#include "loss.h"
#include "metrics.h"
#include "window_event.h"
#include "window_result.h"
#include "window_state.h"

/* Act on the clocks (idle timeouts, checkpoints, metrics, the flush
 * ceiling) this often, under load and while idle. Provisional results have
 * their own deadline, --emit-every. */
#define CLOCK_CHECK_MS 50
/* At the end, how long to wait for the sink to complete the checkpoint in
 * flight before the final one can be written (--barriers). */
#define BARRIER_WAIT_MS 5000

/* A partition whose state lives in the store (it came with a restore line):
 * its state goes out as a _kafka_state line every checkpoint interval when
 * it changed, on revoke and at the end. */
struct managed_task {
    char topic[WINDOW_TOPIC_MAX];
    int32_t partition;
    uint64_t events_written; /* the task's event count in the last state written */
    int64_t watermark_written;
    bool written; /* a state has gone out since the restore */
};

struct window_run {
    const struct window_run_options *opt;
    window_set *windows;
    out_buf *out, *late, *dlq;
    int late_fd, dlq_fd; /* of --late and --dlq files; -1 for stderr */
    strbuf line_buf;
    strbuf state_buf; /* a task's checkpoint, for a _kafka_state line */
    struct window_event_reader events;
    struct managed_task *managed;
    size_t n_managed, managed_cap;
    metrics *metrics;
    loss_report *loss;
    uint64_t *events_in, *events_out, *late_events, *dlq_total[DLQ_ERROR_COUNT];
    double *lag_seconds, *checkpoint_age, *open_windows;
    char config[1024];
    uint64_t plain_records; /* lines without Kafka coordinates consumed: the replay skip count */
    uint64_t skip_records;  /* restored from the checkpoint */
    int64_t last_checkpoint_mono, last_checkpoint_wall, next_emit_mono, last_clock_mono;
    char *pending_path;      /* --barriers: where checkpoints wait for the sink */
    int64_t pending_wall;    /* when the checkpoint pending now was written; 0: none */
    bool checkpoint_failing; /* the last save failed (warned once, until one works) */
    bool downstream_gone;    /* EPIPE: end quietly, without a checkpoint */
    bool output_failed;
    bool input_failed;
};

/* ---- output -------------------------------------------------------------- */

static void note_write_error(window_run *run)
{
    if (errno == EPIPE) {
        run->downstream_gone = true;
    } else if (!run->output_failed) {
        diag_warn("write: %s", strerror(errno));
        run->output_failed = true;
    }
    sp_running = 0;
}

static void put(window_run *run, out_buf *o, const strbuf *sb)
{
    if (out_write(o, sb->data, sb->len) != 0) note_write_error(run);
}

static void emit_result(void *ctx, const struct window_result *r)
{
    window_run *run = ctx;
    sb_reset(&run->line_buf);
    window_result_format(&run->line_buf, r);
    put(run, run->out, &run->line_buf);
    (*run->events_out)++;
}

static void emit_dead_letter(window_run *run, out_buf *o, struct dlq_record *rec,
                             const struct window_line *wl, uint64_t line_number)
{
    rec->component = "sp-window";
    rec->source.line = line_number;
    if (wl->has_source) {
        rec->source.kafka_topic = wl->source.topic;
        rec->source.kafka_topic_len = wl->source.topic_len;
        rec->source.kafka_partition = wl->source.partition;
        rec->source.kafka_offset = wl->source.offset;
    }
    sb_reset(&run->line_buf);
    dlq_format(&run->line_buf, rec);
    put(run, o, &run->line_buf);
    (*run->dlq_total[rec->error])++;
    loss_report_count(run->loss, rec);
}

static void flush_all(window_run *run)
{
    out_buf *outs[] = {run->out, run->late, run->dlq};
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++)
        if (outs[i] != NULL && out_flush(outs[i]) != 0) note_write_error(run);
}

/* Output to path, appended, or to stderr without one (*fd is then -1: the
 * checkpoint neither records nor cuts back a stream shared with the
 * diagnostics). */
static out_buf *open_output(const char *path, int *fd)
{
    *fd = -1;
    if (path == NULL) return out_new(STDERR_FILENO);
    *fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (*fd < 0) diag_fatal(EX_CANTCREAT, "%s: %s", path, strerror(errno));
    return out_new(*fd);
}

/* ---- checkpoints ----------------------------------------------------------- */

static void describe_config(window_run *run)
{
    const struct window_run_options *o = run->opt;
    char aggs[768];
    agg_spec_describe(&o->spec, aggs, sizeof aggs);
    snprintf(run->config, sizeof run->config, "key=%s time=%s size=%lld slide=%lld agg=%s",
             o->key_field, o->time_field, (long long)o->cfg.size_ms, (long long)o->cfg.slide_ms,
             aggs);
}

/* Cut a side output back to what the restored checkpoint recorded: the run
 * writes the records after that point again. */
static void rewind_output(int fd, const char *path, int64_t recorded)
{
    char err[256];
    if (fd >= 0 && checkpoint_output_rewind(fd, recorded, err, sizeof err) != 0)
        diag_warn("%s: %s", path, err);
}

/* Check a checkpoint document's head against this run's options. */
static int check_head(window_run *run, const struct checkpoint_reader *r, uint64_t *records,
                      char *err, size_t errlen)
{
    return checkpoint_validate(r->head, run->config, records, err, errlen);
}

static void restore_checkpoint(window_run *run)
{
    const char *path = run->opt->checkpoint_path;
    char err[512];
    struct checkpoint_reader reader;
    int opened = checkpoint_reader_open(&reader, path, err, sizeof err);
    if (opened == 1) return; /* a first start */
    if (opened != 0) diag_fatal(EX_DATAERR, "%s", err);
    if (check_head(run, &reader, &run->skip_records, err, sizeof err) != 0 ||
        window_state_restore(run->windows, &reader, wallclock_ms(), err, sizeof err) < 0)
        diag_fatal(EX_DATAERR, "%s: %s", path, err);
    struct checkpoint_outputs sizes;
    checkpoint_outputs_get(reader.head, &sizes);
    rewind_output(run->late_fd, run->opt->late_path, sizes.late_bytes);
    rewind_output(run->dlq_fd, run->opt->dlq_path, sizes.dlq_bytes);
    checkpoint_reader_close(&reader);
    diag_warn("restored %s: skipping the first %llu records of a replayed input", path,
              (unsigned long long)run->skip_records);
}

/* --barriers: whether the sink has yet to complete the pending checkpoint
 * (it moves the file away once every result before its barrier is stored). */
static bool barrier_in_flight(window_run *run)
{
    if (run->pending_wall == 0) return false;
    if (access(run->pending_path, F_OK) == 0) return true;
    run->last_checkpoint_wall = run->pending_wall;
    run->pending_wall = 0;
    return false;
}

/* A failing checkpoint (a full disk) is reported once, and its recovery. */
static void note_checkpoint_written(window_run *run, const char *path, bool ok)
{
    if (!ok && !run->checkpoint_failing)
        diag_warn("%s: %s (the previous checkpoint stays; retrying every interval)", path,
                  strerror(errno));
    else if (ok && run->checkpoint_failing)
        diag_warn("%s: checkpoints are written again", path);
    run->checkpoint_failing = !ok;
}

/* The document of a checkpoint: the whole state, or only task `only`. */
static void format_checkpoint(window_run *run, strbuf *doc, uint64_t records,
                              const struct checkpoint_outputs *sizes, const window_task *only,
                              int64_t now)
{
    checkpoint_start(doc, run->config, records, sizes, now);
    window_state_append(doc, run->windows, only);
    checkpoint_finish(doc);
}

/* Results first, then the checkpoint that says they are out: a crash
 * between the two only repeats results, which the sink takes idempotently,
 * and late events and dead letters, which the restore cuts back. With
 * --barriers the checkpoint goes to the pending path and a barrier line
 * follows the results; while one is in flight no other is saved (the next
 * clock tick tries again). */
static void save_checkpoint(window_run *run)
{
    if (run->opt->checkpoint_path == NULL || run->downstream_gone) return;
    if (barrier_in_flight(run)) return;
    flush_all(run);
    if (run->downstream_gone || run->output_failed) return;
    int64_t now = wallclock_ms();
    /* While a restarted run is still skipping, the lines it has not re-read yet
     * are consumed all the same. */
    uint64_t records =
        run->plain_records > run->skip_records ? run->plain_records : run->skip_records;
    /* Their sizes are taken after the flush above: what the file holds now
     * is exactly what this checkpoint has accounted for. */
    struct checkpoint_outputs sizes = {
        .late_bytes = run->late_fd >= 0 ? checkpoint_output_size(run->late_fd) : -1,
        .dlq_bytes = run->dlq_fd >= 0 ? checkpoint_output_size(run->dlq_fd) : -1,
    };
    strbuf doc = STRBUF_INIT;
    format_checkpoint(run, &doc, records, &sizes, NULL, now);
    sb_putc(&doc, '\n');
    const char *target = run->pending_path ? run->pending_path : run->opt->checkpoint_path;
    bool ok = checkpoint_write_text(target, doc.data, doc.len) == 0;
    note_checkpoint_written(run, target, ok);
    if (ok && run->pending_path) {
        sb_reset(&doc);
        checkpoint_barrier_format(&doc, now);
        put(run, run->out, &doc);
        flush_all(run);
        run->pending_wall = now;
    } else if (ok) {
        run->last_checkpoint_wall = now;
    }
    sb_free(&doc);
    run->last_checkpoint_mono = monotonic_ms();
}

/* ---- partition states (streampulse(7)) ------------------------------------ */

static struct managed_task *managed_find(window_run *run, const struct control_partition *p)
{
    for (size_t i = 0; i < run->n_managed; i++) {
        struct managed_task *m = &run->managed[i];
        if (m->partition == p->partition && strlen(m->topic) == p->topic_len &&
            memcmp(m->topic, p->topic, p->topic_len) == 0)
            return m;
    }
    return NULL;
}

static void managed_remove(window_run *run, struct managed_task *m)
{
    *m = run->managed[--run->n_managed];
}

static struct window_source source_of(const struct control_partition *p)
{
    return (struct window_source){p->topic, p->topic_len, p->partition, 0};
}

/* Write the state of partition p (its task, or an empty one when it has
 * none) as a _kafka_state line, answering token (NULL: none). The results
 * it accounts for are all before it in the output. */
static void write_state(window_run *run, const struct control_partition *p, const char *token)
{
    struct window_source src = source_of(p);
    window_task *t = window_task_find(run->windows, &src);
    int64_t now = wallclock_ms();
    int64_t next_offset = -1;
    sb_reset(&run->state_buf);
    if (t != NULL) {
        struct window_task_info info;
        window_task_describe(t, &info);
        next_offset = info.next_offset;
        format_checkpoint(run, &run->state_buf, 0, NULL, t, now);
    } else {
        /* Nothing seen since the restore said there was nothing: say so. */
        checkpoint_start(&run->state_buf, run->config, 0, NULL, now);
        sb_printf(&run->state_buf, "\"tasks\":[],\"windows\":[]");
        checkpoint_finish(&run->state_buf);
    }
    sb_reset(&run->line_buf);
    control_state_format(&run->line_buf, p, next_offset, token, run->state_buf.data,
                         run->state_buf.len);
    put(run, run->out, &run->line_buf);
    struct managed_task *m = managed_find(run, p);
    if (m == NULL || t == NULL) return;
    struct window_task_info info;
    window_task_describe(t, &info);
    m->events_written = info.counts.events;
    m->watermark_written = info.watermark;
    m->written = true;
}

/* Every managed partition whose task changed since its last state: the
 * periodic checkpoint of the partitions, one line each. */
static void write_changed_states(window_run *run)
{
    if (run->n_managed == 0 || run->downstream_gone) return;
    for (size_t i = 0; i < run->n_managed; i++) {
        struct managed_task *m = &run->managed[i];
        struct control_partition p = {m->topic, strlen(m->topic), m->partition};
        struct window_source src = source_of(&p);
        window_task *t = window_task_find(run->windows, &src);
        if (t == NULL) continue;
        struct window_task_info info;
        window_task_describe(t, &info);
        if (m->written && info.counts.events == m->events_written &&
            info.watermark == m->watermark_written)
            continue;
        write_state(run, &p, NULL);
    }
    flush_all(run);
    run->last_checkpoint_mono = monotonic_ms();
}

/* A restore line: the partition continues from the state in it (or afresh
 * when it has none), replacing whatever this process held of it. A state
 * that does not fit these options stops the program: going on would mix
 * two computations in one partition. */
static void restore_partition(window_run *run, const struct control_line *cl)
{
    struct window_source src = source_of(&cl->part);
    window_task *old = window_task_find(run->windows, &src);
    if (old != NULL) window_task_drop(run->windows, old);
    struct managed_task *m = managed_find(run, &cl->part);
    if (m == NULL) {
        if (run->n_managed == run->managed_cap) {
            run->managed_cap = run->managed_cap ? 2 * run->managed_cap : 16;
            run->managed = realloc(run->managed, run->managed_cap * sizeof *run->managed);
            if (run->managed == NULL) abort();
        }
        m = &run->managed[run->n_managed++];
    }
    memset(m, 0, sizeof *m);
    memcpy(m->topic, cl->part.topic, cl->part.topic_len);
    m->partition = cl->part.partition;
    if (cl->checkpoint == NULL) return;
    char err[512];
    struct checkpoint_reader reader;
    uint64_t records;
    int made = -1;
    if (checkpoint_reader_parse(&reader, cl->checkpoint, cl->checkpoint_len, err, sizeof err) ==
        0) {
        if (check_head(run, &reader, &records, err, sizeof err) == 0)
            made = window_state_restore(run->windows, &reader, wallclock_ms(), err, sizeof err);
        checkpoint_reader_close(&reader);
    }
    window_task *t = made == 1 ? window_task_find(run->windows, &src) : NULL;
    if (made > 0 && t == NULL) snprintf(err, sizeof err, "it holds another partition's state");
    if (made > 1) snprintf(err, sizeof err, "it holds more than one partition");
    if (t == NULL && made != 0)
        diag_fatal(EX_DATAERR,
                   "the stored state of %s/%d cannot be used: %s (delete it to start the "
                   "partition afresh, e.g. redis-cli DEL sp:task:%s:%d)",
                   m->topic, m->partition, err, m->topic, m->partition);
}

/* A revoke line: each partition's state goes out answering the token, and
 * the partition is forgotten; a lost one is forgotten without a word. */
static void revoke_partitions(window_run *run, const struct control_line *cl)
{
    for (size_t i = 0; i < cl->n_parts; i++) {
        const struct control_partition *p = &cl->parts[i];
        if (!cl->lost) write_state(run, p, cl->token);
        struct window_source src = source_of(p);
        window_task *t = window_task_find(run->windows, &src);
        if (t != NULL) window_task_drop(run->windows, t);
        struct managed_task *m = managed_find(run, p);
        if (m != NULL) managed_remove(run, m);
    }
    flush_all(run);
}

static bool listed(const struct control_line *cl, const char *topic, size_t topic_len,
                   int32_t partition)
{
    for (size_t k = 0; k < cl->n_parts; k++)
        if (cl->parts[k].partition == partition && cl->parts[k].topic_len == topic_len &&
            memcmp(cl->parts[k].topic, topic, topic_len) == 0)
            return true;
    return false;
}

/* An assignment line: the tasks of partitions not in it went to another
 * process. A managed one's state went with a revoke line before; an
 * unmanaged one's open windows are lost to the next owner, which says so. */
static void forget_unassigned(window_run *run, const struct control_line *cl)
{
    for (size_t i = window_task_count(run->windows); i-- > 0;) {
        window_task *t = window_task_at(run->windows, i);
        struct window_task_info info;
        window_task_describe(t, &info);
        if (!window_task_is_kafka(t) || listed(cl, info.topic, info.topic_len, info.partition))
            continue;
        struct control_partition p = {info.topic, info.topic_len, info.partition};
        if (managed_find(run, &p) == NULL && window_task_windows(t) > 0)
            diag_warn("partition %s/%d went to another process with %zu open windows and no "
                      "state store: they are lost there (sp-kcat-in --state-url keeps them; "
                      "see streampulse(7))",
                      info.topic, info.partition, window_task_windows(t));
        window_task_drop(run->windows, t);
    }
    for (size_t i = run->n_managed; i-- > 0;) {
        struct managed_task *m = &run->managed[i];
        if (!listed(cl, m->topic, strlen(m->topic), m->partition)) managed_remove(run, m);
    }
}

/* --barriers, at the end: give the sink a moment to complete the checkpoint
 * in flight, so the final one can be saved; not when it is gone (stopped by
 * the same SIGTERM, say). */
static void wait_for_barrier(window_run *run)
{
    int64_t deadline = monotonic_ms() + BARRIER_WAIT_MS;
    while (!run->downstream_gone && !out_reader_gone(run->out) && barrier_in_flight(run) &&
           monotonic_ms() < deadline)
        sleep_ms(10);
}

/* ---- timers -------------------------------------------------------------- */

static void update_gauges(window_run *run)
{
    *run->lag_seconds = (double)window_lag_ms(run->windows) / 1000;
    *run->open_windows = (double)window_count(run->windows);
    if (run->last_checkpoint_wall != 0)
        *run->checkpoint_age = (double)(wallclock_ms() - run->last_checkpoint_wall) / 1000;
}

/* The next moment (monotonic ms) the clocks need the loop: the next
 * provisional results, or CLOCK_CHECK_MS after the last tick. */
static int64_t next_duty(const window_run *run)
{
    int64_t next = run->last_clock_mono + CLOCK_CHECK_MS;
    if (run->opt->emit_every_ms > 0 && run->next_emit_mono < next) next = run->next_emit_mono;
    return next;
}

static bool output_waiting(const window_run *run)
{
    return out_pending(run->out) > 0 || out_pending(run->late) > 0 || out_pending(run->dlq) > 0;
}

/* How long a read may wait for input: not at all while output waits in a
 * buffer, so it goes out the moment the input runs dry (large batches under
 * load, none at all when lines trickle in), else until the clocks' next
 * duty, so provisional results come on time whatever the input does. */
static int read_timeout(const window_run *run)
{
    if (output_waiting(run)) return 0;
    int64_t left = next_duty(run) - monotonic_ms();
    return left > 0 ? (int)left : 0;
}

/* What the clocks ask for: idle timeouts, provisional results, checkpoints,
 * metrics, and the flush that keeps output from waiting. Called at
 * next_duty(), whether lines keep coming or not. */
static void on_clock(window_run *run)
{
    int64_t mono = monotonic_ms();
    run->last_clock_mono = mono;
    window_tick(run->windows, wallclock_ms());
    if (run->opt->emit_every_ms > 0 && mono >= run->next_emit_mono) {
        window_emit_changed(run->windows);
        flush_all(run);
        /* On the period's own grid; a missed beat is skipped, not made up. */
        run->next_emit_mono += run->opt->emit_every_ms;
        if (run->next_emit_mono <= mono) run->next_emit_mono = mono + run->opt->emit_every_ms;
    }
    if (mono - run->last_checkpoint_mono >= run->opt->checkpoint_interval_ms) {
        save_checkpoint(run);
        write_changed_states(run);
    }
    flush_all(run);
    update_gauges(run);
    metrics_tick(run->metrics);
    loss_report_tick(run->loss, mono);
}

/* ---- input --------------------------------------------------------------- */

static void handle_control(window_run *run, const char *line, size_t len, uint64_t line_number)
{
    struct control_line cl;
    char err[256];
    if (control_line_parse(line, len, &cl, err, sizeof err) != 0 || cl.kind == CONTROL_STATE) {
        struct window_line none = {0};
        char reason[300];
        snprintf(reason, sizeof reason, "control line: %s",
                 cl.kind == CONTROL_STATE ? "a _kafka_state line is sp-window's output" : err);
        struct dlq_record rec = {
            .error = DLQ_SCHEMA_VIOLATION, .reason = reason, .original = line, .original_len = len};
        emit_dead_letter(run, run->dlq, &rec, &none, line_number);
    } else if (cl.kind == CONTROL_ASSIGNMENT) {
        forget_unassigned(run, &cl);
    } else if (cl.kind == CONTROL_RESTORE) {
        restore_partition(run, &cl);
    } else {
        revoke_partitions(run, &cl);
    }
    control_line_clear(&cl);
}

/* The DLQ reason of an event refused by window_add(). */
static void describe_refusal(window_run *run, enum window_verdict v, const struct window_line *wl,
                             const struct window_refusal *why, struct dlq_record *rec, char *reason,
                             size_t reason_len, char *extra, size_t extra_len)
{
    char start[EVENT_TIME_TEXT_MAX], end[EVENT_TIME_TEXT_MAX];
    rec->reason = reason;
    rec->field = run->opt->time_field;
    if (v == WINDOW_LATE) {
        event_time_format(why->start_ms, start);
        event_time_format(why->end_ms, end);
        snprintf(reason, reason_len,
                 "event time is behind the watermark by more than the allowed lateness");
        snprintf(extra, extra_len, "\"windowStart\":\"%s\",\"windowEnd\":\"%s\"", start, end);
        rec->error = DLQ_LATE_EVENT;
        rec->extra_members = extra;
    } else if (v == WINDOW_FUTURE) {
        snprintf(reason, reason_len, "event time is more than %llds ahead of the wall clock",
                 (long long)(run->opt->cfg.max_future_ms / 1000));
        rec->error = DLQ_FUTURE_EVENT;
    } else {
        struct window_task_info owner;
        window_task_describe(why->owner, &owner);
        char key[80];
        if (wl->key.is_string)
            snprintf(key, sizeof key, "\"%.*s\"", (int)(wl->key.len < 60 ? wl->key.len : 60),
                     wl->key.text);
        else
            snprintf(key, sizeof key, "%lld", (long long)wl->key.num);
        snprintf(reason, reason_len,
                 "%s %s came from partition %s/%d before, this record from %.*s/%d: a key must "
                 "stay in one partition (produce keyed by it: sp-kcat-out --key %s)",
                 run->opt->key_field, key, owner.topic, owner.partition, (int)wl->source.topic_len,
                 wl->source.topic, wl->source.partition, run->opt->key_field);
        rec->field = run->opt->key_field;
        rec->rule = "partition";
        rec->error = DLQ_SCHEMA_VIOLATION;
    }
}

static void handle_line(window_run *run, struct window_event_reader *reader, const char *line,
                        size_t len, enum line_status status, uint64_t line_number, int64_t now_ms)
{
    struct window_line wl;
    struct dlq_record rec = {.original = line, .original_len = len};
    if (status == LINE_TOO_LONG) {
        memset(&wl, 0, sizeof wl);
        rec.error = DLQ_LINE_TOO_LONG;
        rec.reason = "line longer than 1 MiB";
        emit_dead_letter(run, run->dlq, &rec, &wl, line_number);
        return;
    }
    if (control_line_kind(line, len) != CONTROL_NONE) {
        handle_control(run, line, len, line_number);
        return;
    }
    window_line_parse(reader, line, len, &wl);
    if (wl.has_source && window_already_counted(run->windows, &wl.source)) {
        window_line_clear(&wl);
        return;
    }
    if (wl.kind == WINDOW_LINE_BAD) {
        rec.error = wl.error;
        rec.reason = wl.reason;
        rec.field = wl.field;
        rec.rule = wl.rule;
        emit_dead_letter(run, run->dlq, &rec, &wl, line_number);
    } else {
        struct window_refusal why;
        enum window_verdict v = window_add(run->windows, &wl.key, wl.event_ms, wl.values,
                                           wl.has_source ? &wl.source : NULL, now_ms, &why);
        if (v != WINDOW_ACCEPTED) {
            char reason[512], extra[128];
            describe_refusal(run, v, &wl, &why, &rec, reason, sizeof reason, extra, sizeof extra);
            emit_dead_letter(run, v == WINDOW_LATE ? run->late : run->dlq, &rec, &wl, line_number);
            if (v == WINDOW_LATE) (*run->late_events)++;
        }
    }
    window_line_clear(&wl);
}

/* Read one input to its end (true) or until told to stop (false). */
static bool read_input(window_run *run, int fd, const char *name)
{
    line_reader *reader = line_reader_new(fd);
    int64_t now = wallclock_ms();
    bool finished = false;
    while (sp_running) {
        const char *line;
        size_t len;
        enum line_status status = line_reader_next(reader, &line, &len, read_timeout(run));
        if (status == LINE_IDLE) {
            if (monotonic_ms() >= next_duty(run))
                on_clock(run);
            else
                flush_all(run); /* the input ran dry */
            now = wallclock_ms();
            continue;
        }
        if (status == LINE_EOF) {
            finished = true;
            break;
        }
        if (status == LINE_STOPPED) break;
        if (status == LINE_ERROR) {
            diag_warn("%s: %s", name, strerror(errno));
            run->input_failed = true; /* exit with EX_IOERR, after the checkpoint */
            break;
        }
        (*run->events_in)++; /* every line read, skipped ones included */
        if (!window_event_is_kafka_line(line, len)) {
            if (run->plain_records++ < run->skip_records) continue;
        }
        handle_line(run, &run->events, line, len, status, line_reader_line_number(reader), now);
        if (monotonic_ms() >= next_duty(run)) {
            on_clock(run);
            now = wallclock_ms();
        }
    }
    line_reader_free(reader);
    return finished;
}

bool window_run_read(window_run *run, int n, char **paths)
{
    if (n == 0) return read_input(run, STDIN_FILENO, "stdin");
    for (int i = 0; i < n && sp_running; i++) {
        if (strcmp(paths[i], "-") == 0) {
            if (!read_input(run, STDIN_FILENO, "stdin")) return false;
            continue;
        }
        int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            diag_warn("%s: %s", paths[i], strerror(errno));
            return false;
        }
        bool finished = read_input(run, fd, paths[i]);
        close(fd);
        if (!finished) return false;
    }
    return sp_running;
}

static void register_metrics(window_run *run)
{
    metrics *m = run->metrics;
    run->events_in = metrics_counter(m, "sp_events_in_total", NULL, "Input records read");
    run->events_out = metrics_counter(m, "sp_events_out_total", NULL, "Window results written");
    run->late_events =
        metrics_counter(m, "sp_late_events_total", NULL, "Events past the allowed lateness");
    for (int e = 0; e < DLQ_ERROR_COUNT; e++) {
        char labels[64];
        snprintf(labels, sizeof labels, "error_type=\"%s\"", dlq_error_name((enum dlq_error)e));
        run->dlq_total[e] = metrics_counter(m, "sp_dlq_total", labels, "Dead-letter records");
    }
    run->lag_seconds = metrics_gauge(m, "sp_watermark_lag_seconds", NULL,
                                     "Highest event time seen minus the watermark");
    run->checkpoint_age =
        metrics_gauge(m, "sp_checkpoint_age_seconds", NULL, "Seconds since the last checkpoint");
    run->open_windows = metrics_gauge(m, "sp_open_windows", NULL, "Windows held in memory");
}

window_run *window_run_start(const struct window_run_options *opt)
{
    window_run *run = calloc(1, sizeof *run);
    if (run == NULL) abort();
    run->opt = opt;
    run->out = out_new(STDOUT_FILENO);
    run->late = open_output(opt->late_path, &run->late_fd);
    run->dlq = open_output(opt->dlq_path, &run->dlq_fd);
    run->metrics = metrics_new("sp-window", opt->metrics_path);
    register_metrics(run);
    run->loss = loss_report_new("events", run->events_in, false, monotonic_ms());
    run->windows = window_set_new(&opt->cfg, emit_result, run);
    describe_config(run);
    if (window_event_reader_init(&run->events, opt->key_field, opt->time_field, &opt->spec) != 0)
        diag_fatal(EX_USAGE, "a field name is too long or there are too many fields");
    if (opt->checkpoint_path != NULL && opt->barriers) {
        /* A pending checkpoint left by a dead run was never completed. */
        run->pending_path = checkpoint_pending_path(opt->checkpoint_path);
        if (unlink(run->pending_path) != 0 && errno != ENOENT)
            diag_fatal(EX_CANTCREAT, "%s: %s", run->pending_path, strerror(errno));
    }
    if (opt->checkpoint_path != NULL) restore_checkpoint(run);
    run->last_checkpoint_mono = run->last_clock_mono = monotonic_ms();
    run->next_emit_mono = run->last_clock_mono + opt->emit_every_ms;
    return run;
}

int window_run_finish(window_run *run, bool finished)
{
    /* End of input may only mean an upstream stage died: the checkpoint keeps
     * the windows open, so a restart on the replayed input completes them. */
    wait_for_barrier(run);
    save_checkpoint(run);
    write_changed_states(run);
    if (finished && !run->downstream_gone) window_close_all(run->windows);
    flush_all(run);
    update_gauges(run);
    metrics_write(run->metrics);
    loss_report_final(run->loss);

    int code = (run->output_failed || run->input_failed) && !run->downstream_gone ? EX_IOERR : 0;
    window_set_free(run->windows);
    metrics_free(run->metrics);
    loss_report_free(run->loss);
    out_close(run->out);
    out_close(run->late);
    out_close(run->dlq);
    sb_free(&run->line_buf);
    sb_free(&run->state_buf);
    free(run->managed);
    window_event_reader_free(&run->events);
    free(run->pending_path);
    free(run);
    return code;
}
