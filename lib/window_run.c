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
#include "diag.h"
#include "dlq.h"
#include "event_time.h"
#include "clock.h"
#include "line_io.h"
#include "metrics.h"
#include "window_event.h"
#include "window_result.h"

/* Under load, act on the clocks (provisional results, checkpoints, flushing)
 * this often: a slow trickle of lines must not keep results in a buffer. */
#define CLOCK_CHECK_MS 50
/* At the end, how long to wait for the sink to complete the checkpoint in
 * flight before the final one can be written (--barriers). */
#define BARRIER_WAIT_MS 5000

struct window_run {
    const struct window_run_options *opt;
    window_set *windows;
    out_buf *out, *late, *dlq;
    int late_fd, dlq_fd; /* of --late and --dlq files; -1 for stderr */
    strbuf line_buf;
    struct window_event_reader events;
    metrics *metrics;
    uint64_t *events_in, *events_out, *late_events, *dlq_total[DLQ_ERROR_COUNT];
    double *lag_seconds, *checkpoint_age, *open_windows;
    char config[1024];
    uint64_t plain_records; /* lines without Kafka coordinates consumed: the replay skip count */
    uint64_t skip_records;  /* restored from the checkpoint */
    int64_t last_checkpoint_mono, last_checkpoint_wall, last_emit_mono, last_clock_mono;
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

static void restore_checkpoint(window_run *run)
{
    const char *path = run->opt->checkpoint_path;
    char err[512];
    struct checkpoint_reader reader;
    int opened = checkpoint_reader_open(&reader, path, err, sizeof err);
    if (opened == 1) return; /* a first start */
    if (opened != 0) diag_fatal(EX_DATAERR, "%s", err);
    if (checkpoint_validate(reader.head, run->config, &run->skip_records, err, sizeof err) != 0 ||
        window_state_from_json(run->windows, reader.head, wallclock_ms(), err, sizeof err) != 0)
        diag_fatal(EX_DATAERR, "%s: %s", path, err);
    json_t *window;
    int got;
    while ((got = checkpoint_reader_next(&reader, &window)) == 1) {
        int rc = window_restore_window(run->windows, window, err, sizeof err);
        json_decref(window);
        if (rc != 0) diag_fatal(EX_DATAERR, "%s: %s", path, err);
    }
    if (got < 0) diag_fatal(EX_DATAERR, "%s: a window does not parse", path);
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
    checkpoint_start(&doc, run->config, records, &sizes, now);
    window_state_append_json(&doc, run->windows);
    checkpoint_finish(&doc);
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
    int64_t wm = window_watermark(run->windows), high = window_highest(run->windows);
    *run->lag_seconds =
        (wm == INT64_MIN || wm == INT64_MAX || high == INT64_MIN) ? 0 : (double)(high - wm) / 1000;
    *run->open_windows = (double)window_count(run->windows);
    if (run->last_checkpoint_wall != 0)
        *run->checkpoint_age = (double)(wallclock_ms() - run->last_checkpoint_wall) / 1000;
}

/* What the clocks ask for: idle timeouts, provisional results, checkpoints,
 * metrics, and the flush that keeps output from waiting. Called when input
 * is idle and every CLOCK_CHECK_MS while lines keep coming. */
static void on_clock(window_run *run)
{
    int64_t mono = monotonic_ms();
    run->last_clock_mono = mono;
    window_tick(run->windows, wallclock_ms());
    if (run->opt->emit_every_ms > 0 && mono - run->last_emit_mono >= run->opt->emit_every_ms) {
        window_emit_changed(run->windows);
        flush_all(run);
        run->last_emit_mono = mono;
    }
    if (mono - run->last_checkpoint_mono >= run->opt->checkpoint_interval_ms) save_checkpoint(run);
    flush_all(run);
    update_gauges(run);
    metrics_tick(run->metrics);
}

/* ---- input --------------------------------------------------------------- */

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
    window_line_parse(reader, line, len, &wl);
    if (wl.has_source && window_already_counted(run->windows, &wl.source)) {
        window_line_clear(&wl);
        return;
    }
    if (wl.kind == WINDOW_LINE_ASSIGNMENT) {
        window_assign(run->windows, wl.parts, wl.n_parts, now_ms);
    } else if (wl.kind == WINDOW_LINE_BAD) {
        rec.error = wl.error;
        rec.reason = wl.reason;
        rec.field = wl.field;
        emit_dead_letter(run, run->dlq, &rec, &wl, line_number);
    } else {
        struct window_span span;
        enum window_verdict v = window_add(run->windows, &wl.key, wl.event_ms, wl.values,
                                           wl.has_source ? &wl.source : NULL, now_ms, &span);
        char reason[160], extra[128], start[EVENT_TIME_TEXT_MAX], end[EVENT_TIME_TEXT_MAX];
        rec.field = run->opt->time_field;
        rec.reason = reason;
        if (v == WINDOW_LATE) {
            event_time_format(span.start_ms, start);
            event_time_format(span.end_ms, end);
            snprintf(reason, sizeof reason,
                     "event time is behind the watermark by more than the allowed lateness");
            snprintf(extra, sizeof extra, "\"windowStart\":\"%s\",\"windowEnd\":\"%s\"", start,
                     end);
            rec.error = DLQ_LATE_EVENT;
            rec.extra_members = extra;
            emit_dead_letter(run, run->late, &rec, &wl, line_number);
            (*run->late_events)++;
        } else if (v == WINDOW_FUTURE) {
            snprintf(reason, sizeof reason, "event time is more than %llds ahead of the wall clock",
                     (long long)(run->opt->cfg.max_future_ms / 1000));
            rec.error = DLQ_FUTURE_EVENT;
            emit_dead_letter(run, run->dlq, &rec, &wl, line_number);
        }
    }
    window_line_clear(&wl);
}

/* Read one input to its end (true) or until told to stop (false). */
static bool read_input(window_run *run, int fd, const char *name)
{
    int timeout = OUT_MAX_DELAY_MS;
    if (run->opt->emit_every_ms > 0 && run->opt->emit_every_ms < timeout)
        timeout = (int)run->opt->emit_every_ms;
    line_reader *reader = line_reader_new(fd);
    int64_t now = wallclock_ms();
    bool finished = false;
    while (sp_running) {
        const char *line;
        size_t len;
        enum line_status status = line_reader_next(reader, &line, &len, timeout);
        if (status == LINE_IDLE) {
            on_clock(run);
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
        if (monotonic_ms() - run->last_clock_mono >= CLOCK_CHECK_MS) {
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
    run->last_checkpoint_mono = run->last_emit_mono = run->last_clock_mono = monotonic_ms();
    return run;
}

int window_run_finish(window_run *run, bool finished)
{
    /* End of input may only mean an upstream stage died: the checkpoint keeps
     * the windows open, so a restart on the replayed input completes them. */
    wait_for_barrier(run);
    save_checkpoint(run);
    if (finished && !run->downstream_gone) window_close_all(run->windows);
    flush_all(run);
    update_gauges(run);
    metrics_write(run->metrics);

    int code = (run->output_failed || run->input_failed) && !run->downstream_gone ? EX_IOERR : 0;
    window_set_free(run->windows);
    metrics_free(run->metrics);
    out_close(run->out);
    out_close(run->late);
    out_close(run->dlq);
    sb_free(&run->line_buf);
    window_event_reader_free(&run->events);
    free(run->pending_path);
    free(run);
    return code;
}
