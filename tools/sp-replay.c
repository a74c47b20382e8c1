/* sp-replay: replay CSV trip records as NDJSON trip events, keeping their
 * event-time gaps. The first program of the pipeline; see man/sp-replay.1. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "csv_layout.h"
#include "cli.h"
#include "diag.h"
#include "dlq.h"
#include "clock.h"
#include "line_io.h"
#include "loss.h"
#include "metrics.h"
#include "replay.h"

/* The progress line is rewritten at most this often. */
#define PROGRESS_INTERVAL_MS 250

static const struct cli_usage usage = {
    .synopsis =
        "usage: sp-replay [-q] [--speed speed] [--rate eps] [--sort] [--skip n] [--limit n]\n"
        "                 [--loop] [--time-field name] [--dlq path] [--metrics-file path]\n"
        "                 [file ...]\n"
        "       sp-replay -h | --help | --version\n",
    .options = "Replay CSV trip records (StreamPulse v1, NYC TLC, or any CSV with --time-field)\n"
               "as NDJSON trip events on stdout; FILE - or none reads stdin.\n"
               "\n"
               "  --speed SPEED       1 real time, N N times faster, max no waiting (default max)\n"
               "  --rate EPS          send at most EPS rows per second\n"
               "  --sort              read everything first, replay in event-time order\n"
               "  --skip N            do not send the first N rows\n"
               "  --limit N           stop after sending N rows\n"
               "  --loop              at the end, replay again with later times and new trip ids\n"
               "  --time-field NAME   the event-time column of a CSV of any other layout\n"
               "  --dlq PATH          append dead-letter records to PATH (default stderr)\n"
               "  --metrics-file PATH write Prometheus textfile metrics to PATH\n"
               "  -q, --quiet         no diagnostics\n"
               "  -h, --help          this help\n"
               "      --version       print the version\n",
};

struct options {
    double speed;
    double rate;
    bool sort;
    bool loop;
    uint64_t skip;
    uint64_t limit;
    const char *time_field;
    const char *dlq_path;
    const char *metrics_path;
    char *const *inputs;
    size_t ninputs;
};

enum {
    OPT_SPEED = CLI_OPT_PROGRAM,
    OPT_RATE,
    OPT_SORT,
    OPT_SKIP,
    OPT_LIMIT,
    OPT_LOOP,
    OPT_TIME_FIELD,
    OPT_DLQ
};

static void parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"speed", required_argument, NULL, OPT_SPEED},
        {"rate", required_argument, NULL, OPT_RATE},
        {"sort", no_argument, NULL, OPT_SORT},
        {"skip", required_argument, NULL, OPT_SKIP},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"loop", no_argument, NULL, OPT_LOOP},
        {"time-field", required_argument, NULL, OPT_TIME_FIELD},
        {"dlq", required_argument, NULL, OPT_DLQ},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    *o = (struct options){.limit = UINT64_MAX};
    int c;
    while ((c = cli_getopt(argc, argv, "qh", longopts, &o->metrics_path)) != -1) {
        switch (c) {
        case OPT_SPEED:
            if (replay_parse_speed(optarg, &o->speed) < 0)
                cli_usage_error("--speed %s: want max or a number above 0", optarg);
            break;
        case OPT_RATE: {
            char *end;
            o->rate = strtod(optarg, &end);
            if (end == optarg || *end || !(o->rate > 0) || o->rate > 1e12)
                cli_usage_error("--rate %s: want rows per second above 0", optarg);
            break;
        }
        case OPT_SORT:
            o->sort = true;
            break;
        case OPT_SKIP:
            o->skip = cli_count("--skip", optarg, 0, UINT64_MAX);
            break;
        case OPT_LIMIT:
            o->limit = cli_count("--limit", optarg, 0, UINT64_MAX);
            break;
        case OPT_LOOP:
            o->loop = true;
            break;
        case OPT_TIME_FIELD:
            o->time_field = optarg;
            break;
        case OPT_DLQ:
            o->dlq_path = optarg;
            break;
        }
    }
    o->inputs = argv + optind;
    o->ninputs = (size_t)(argc - optind);
}

/* Everything one run shares between reading, pacing and writing. */
struct run {
    const struct options *opt;
    replay_input *in;
    out_buf *out, *dlq;
    int dlq_fd;
    metrics *metrics;
    loss_report *loss;
    uint64_t *events_in, *events_out;
    uint64_t *dlq_total[DLQ_ERROR_COUNT];
    replay_pacer pacer;
    replay_count count;
    replay_span span; /* event times of the first pass, for --loop */
    strbuf record;    /* the event or DLQ record being sent */
    bool progress;    /* stderr is a terminal */
    int64_t started_ms, progress_ms;
    int64_t newest_ms;    /* event-time clock of the progress line */
    uint64_t done, total; /* how far through the pass, for the progress line */
    int exit_code;
    bool stop; /* end of the run: limit reached, signal, write failure */
};

static void show_progress(struct run *r, bool force)
{
    if (!r->progress || diag_quiet) return;
    int64_t now = monotonic_ms();
    if (!force && now - r->progress_ms < PROGRESS_INTERVAL_MS) return;
    r->progress_ms = now;
    double secs = (double)(now - r->started_ms) / 1000.0;
    uint64_t sent = r->count.sent;
    strbuf sb = STRBUF_INIT;
    replay_progress_format(&sb, sent, secs > 0 ? (double)sent / secs : 0, r->newest_ms, r->done,
                           r->total);
    if (write(STDERR_FILENO, sb.data, sb.len) < 0) r->progress = false;
    sb_free(&sb);
}

/* A failed write ends the run: quietly when the reader went away. */
static void write_failed(struct run *r, const char *what)
{
    if (errno != EPIPE) {
        diag_warn("writing %s: %s", what, strerror(errno));
        r->exit_code = EX_IOERR;
    }
    r->stop = true;
}

static void flush_all(struct run *r)
{
    if (out_flush(r->out) < 0) write_failed(r, "stdout");
    if (out_flush(r->dlq) < 0) write_failed(r, r->opt->dlq_path ? r->opt->dlq_path : "stderr");
}

/* Input is idle or a row is waiting for its time: nothing may sit in a
 * buffer meanwhile. */
static void idle(struct run *r)
{
    flush_all(r);
    metrics_tick(r->metrics);
    loss_report_tick(r->loss, monotonic_coarse_ms());
    show_progress(r, false);
}

/* Wait delay_ms, flushing first and keeping the progress line fresh; a
 * signal cuts the wait short (the row in hand still goes out). */
static void wait_ms(struct run *r, int64_t delay_ms)
{
    idle(r);
    int64_t until = monotonic_ms() + delay_ms;
    for (;;) {
        int64_t left = until - monotonic_ms();
        if (left <= 0 || !sp_running) return;
        poll(NULL, 0, left > PROGRESS_INTERVAL_MS ? PROGRESS_INTERVAL_MS : (int)left);
        show_progress(r, false);
        metrics_tick(r->metrics);
    }
}

/* The counter of DLQ records of type e, registered on first use. */
static uint64_t *dlq_counter(struct run *r, enum dlq_error e)
{
    if (!r->dlq_total[e]) {
        char labels[64];
        snprintf(labels, sizeof labels, "error_type=\"%s\"", dlq_error_name(e));
        r->dlq_total[e] = metrics_counter(r->metrics, "sp_dlq_total", labels,
                                          "Rows sent to the dead-letter queue");
    }
    return r->dlq_total[e];
}

static void send_dlq(struct run *r, const csv_record *rec, const struct csv_row_error *err)
{
    sb_reset(&r->record);
    struct dlq_record d = {
        .error = err->type,
        .reason = err->reason,
        .field = err->field,
        .component = "sp-replay",
        .source = {.line = rec->line},
        .original = rec->raw,
        .original_len = rec->raw_len,
    };
    dlq_format(&r->record, &d);
    (*dlq_counter(r, err->type))++;
    loss_report_count(r->loss, &d);
    if (out_write(r->dlq, r->record.data, r->record.len) < 0)
        write_failed(r, r->opt->dlq_path ? r->opt->dlq_path : "stderr");
}

/* One row: map it, count it against --skip/--limit, wait for its time, send
 * it as an event or a DLQ record. Rows that are not events are reported on
 * the first pass only: a loop repeats the events, not the complaints. */
static void replay_row(struct run *r, const csv_record *rec, const csv_layout *layout,
                       const struct csv_pass *pass)
{
    struct csv_row_error err;
    int64_t ms = 0;
    sb_reset(&r->record);
    bool is_event = csv_layout_map(layout, rec, pass, &r->record, &ms, &err) == 0;
    if (!is_event && pass->number > 0) return;
    if (is_event && pass->number == 0) replay_span_add(&r->span, ms);
    if (!replay_count_take(&r->count)) return;

    int64_t delay = replay_pacer_delay(&r->pacer, is_event, ms, monotonic_ms());
    if (delay > 0) wait_ms(r, delay);
    (*r->events_in)++;
    if (is_event) {
        if (ms > r->newest_ms) r->newest_ms = ms;
        (*r->events_out)++;
        if (out_write(r->out, r->record.data, r->record.len) < 0) write_failed(r, "stdout");
    } else {
        send_dlq(r, rec, &err);
    }
    if ((r->count.sent & 4095) == 0) {
        metrics_tick(r->metrics);
        loss_report_tick(r->loss, monotonic_coarse_ms());
        show_progress(r, false);
    }
    if (replay_count_done(&r->count) || !sp_running) r->stop = true;
}

/* Ends the run on an input that cannot go on. */
static void input_failed(struct run *r, enum replay_read st)
{
    diag_warn("%s", replay_input_error(r->in));
    r->exit_code = st == REPLAY_BAD_HEADER ? EX_USAGE : EX_IOERR;
    r->stop = true;
}

/* One pass over the inputs, row by row as they arrive. */
static void stream_pass(struct run *r, const struct csv_pass *pass)
{
    /* Regular files never leave us idle; a pipe may. */
    int timeout = r->total ? -1 : OUT_MAX_DELAY_MS;
    while (!r->stop) {
        csv_record rec;
        const csv_layout *layout;
        enum replay_read st = replay_input_next(r->in, &rec, &layout, timeout);
        replay_input_progress(r->in, &r->done, &r->total);
        switch (st) {
        case REPLAY_ROW:
            replay_row(r, &rec, layout, pass);
            break;
        case REPLAY_IDLE:
            idle(r);
            break;
        case REPLAY_END:
        case REPLAY_STOPPED:
            return;
        case REPLAY_BAD_HEADER:
        case REPLAY_IO_ERROR:
            input_failed(r, st);
            return;
        }
    }
}

/* --sort: hold every row, then replay them in event-time order. */
static replay_sorted *read_all(struct run *r)
{
    replay_sorted *rs = replay_sorted_new();
    for (;;) {
        csv_record rec;
        const csv_layout *layout;
        enum replay_read st = replay_input_next(r->in, &rec, &layout, -1);
        if (st == REPLAY_END || st == REPLAY_STOPPED) break;
        if (st != REPLAY_ROW) {
            input_failed(r, st);
            break;
        }
        int64_t ms;
        struct csv_row_error err;
        if (csv_layout_event_time(layout, &rec, &ms, &err) < 0) ms = INT64_MIN;
        replay_sorted_add(rs, &rec, layout, ms);
    }
    replay_sorted_sort(rs);
    return rs;
}

static void sorted_pass(struct run *r, replay_sorted *rs, const struct csv_pass *pass)
{
    size_t n = replay_sorted_count(rs);
    r->total = n;
    for (size_t i = 0; i < n && !r->stop; i++) {
        csv_record rec;
        const csv_layout *layout;
        replay_sorted_get(rs, i, &rec, &layout);
        r->done = i;
        replay_row(r, &rec, layout, pass);
    }
}

static void replay_all(struct run *r)
{
    if (r->stop) return;
    replay_sorted *rs = r->opt->sort ? read_all(r) : NULL;
    struct csv_pass pass = {0, 0};
    while (!r->stop && sp_running) {
        if (rs)
            sorted_pass(r, rs, &pass);
        else
            stream_pass(r, &pass);
        /* A pass without a single event would loop for ever doing nothing. */
        if (!r->opt->loop || r->stop || !sp_running || !r->span.any) break;
        pass.number++;
        pass.shift_ms = (int64_t)pass.number * replay_span_period(&r->span);
        if (!rs) replay_input_rewind(r->in);
    }
    replay_sorted_free(rs);
}

static int open_dlq(const char *path)
{
    if (!path) return STDERR_FILENO;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) diag_fatal(EX_IOERR, "--dlq %s: %s", path, strerror(errno));
    return fd;
}

int main(int argc, char **argv)
{
    cli_init("sp-replay", &usage);
    struct options opt;
    parse_options(argc, argv, &opt);

    struct run r = {.opt = &opt, .exit_code = EX_OK, .newest_ms = INT64_MIN};
    r.in = replay_input_new(opt.inputs, opt.ninputs, opt.time_field);
    const char *bad;
    if (replay_input_prepare(r.in, &bad) < 0)
        diag_fatal(EX_NOINPUT, "%s: %s", bad, strerror(errno));
    if (opt.loop && !opt.sort && !replay_input_rewindable(r.in))
        cli_usage_error("--loop reads the input again: give a file, or add --sort");
    replay_input_progress(r.in, &r.done, &r.total);

    diag_install_signals();
    r.dlq_fd = open_dlq(opt.dlq_path);
    r.out = out_new(STDOUT_FILENO);
    r.dlq = out_new(r.dlq_fd);
    r.metrics = metrics_new("sp-replay", opt.metrics_path);
    r.events_in = metrics_counter(r.metrics, "sp_events_in_total", NULL, "CSV rows read");
    r.events_out = metrics_counter(r.metrics, "sp_events_out_total", NULL, "Trip events written");
    r.loss = loss_report_new("rows", r.events_in, false, monotonic_coarse_ms());
    /* The kinds sp-replay can produce show from the start, at 0. */
    dlq_counter(&r, DLQ_CSV_PARSE_ERROR);
    dlq_counter(&r, DLQ_LINE_TOO_LONG);
    replay_pacer_init(&r.pacer, opt.speed, opt.rate);
    r.count = (replay_count){.skip = opt.skip, .limit = opt.limit};
    r.stop = replay_count_done(&r.count); /* --limit 0 */
    r.progress = isatty(STDERR_FILENO);
    r.started_ms = r.progress_ms = monotonic_ms();

    replay_all(&r);

    flush_all(&r);
    if (out_close(r.out) < 0 && errno != EPIPE && r.exit_code == EX_OK) r.exit_code = EX_IOERR;
    if (out_close(r.dlq) < 0 && errno != EPIPE && r.exit_code == EX_OK) r.exit_code = EX_IOERR;
    if (r.dlq_fd != STDERR_FILENO) close(r.dlq_fd);
    loss_report_final(r.loss);
    if (metrics_write(r.metrics) < 0)
        diag_warn("--metrics-file %s: %s", opt.metrics_path, strerror(errno));
    if (r.progress && !diag_quiet) {
        show_progress(&r, true);
        if (write(STDERR_FILENO, "\n", 1) < 0) r.progress = false;
    }
    metrics_free(r.metrics);
    loss_report_free(r.loss);
    sb_free(&r.record);
    replay_input_free(r.in);
    return r.exit_code;
}
