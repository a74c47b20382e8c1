/* sp-validate: check NDJSON events against a schema. Valid lines go to
 * stdout byte for byte; every other line becomes one DLQ record on --dlq
 * PATH (stderr without it). One input line, one output line.
 *
 * The judging lives in lib/validate (and lib/schema, lib/event_reader);
 * this file parses options, moves bytes and keeps the counters. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "diag.h"
#include "dlq.h"
#include "line_io.h"
#include "loss.h"
#include "metrics.h"
#include "schema.h"
#include "validate.h"

struct options {
    const char *schema_file;
    const char *dlq_path;
    const char *metrics_file;
    char **inputs; /* none means stdin; "-" is stdin */
    int n_inputs;
};

/* A buffered output and the name its errors are reported under. */
struct sink {
    out_buf *buf;
    const char *name;
    bool buf_is_stdout;
};

struct run {
    validator *validator;
    struct sink out, dlq;
    strbuf record;
    metrics *m;
    loss_report *loss;
    uint64_t *in_total, *out_total;
    uint64_t *dlq_total[DLQ_ERROR_COUNT];
};

static const struct cli_usage usage = {
    .synopsis = "usage: sp-validate [-q] [-s schema] [-d dlq] [--metrics-file path] [file ...]\n"
                "       sp-validate --print-default-schema\n"
                "       sp-validate -h | --help | --version\n",
    .options = "Check each NDJSON line of the FILEs (or stdin; '-' is stdin) against a JSON\n"
               "schema. Valid lines go to stdout unchanged; every other line becomes one\n"
               "dead-letter record (JSON_PARSE_ERROR, SCHEMA_VIOLATION or LINE_TOO_LONG)\n"
               "naming the field and the reason. Kafka control lines (_kafka_assignment,\n"
               "_kafka_restore, _kafka_revoke) pass through.\n"
               "\n"
               "  -s, --schema FILE         the schema (default: the StreamPulse v1 TripEvent)\n"
               "  -d, --dlq PATH            append dead-letter records to PATH, a file or a\n"
               "                            FIFO (default: stderr)\n"
               "      --metrics-file PATH   write Prometheus counters to PATH (textfile format)\n"
               "      --print-default-schema\n"
               "                            print the built-in schema and exit\n"
               "  -q, --quiet               no diagnostics on stderr\n"
               "  -h, --help                print this help\n"
               "      --version             print the version\n",
};

static void parse_options(int argc, char **argv, struct options *opt)
{
    enum { OPT_PRINT_SCHEMA = CLI_OPT_PROGRAM };
    static const struct option longopts[] = {
        {"schema", required_argument, NULL, 's'},
        {"dlq", required_argument, NULL, 'd'},
        {"print-default-schema", no_argument, NULL, OPT_PRINT_SCHEMA},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = cli_getopt(argc, argv, "s:d:qh", longopts, &opt->metrics_file)) != -1) {
        switch (c) {
        case 's':
            opt->schema_file = optarg;
            break;
        case 'd':
            opt->dlq_path = optarg;
            break;
        case OPT_PRINT_SCHEMA:
            fputs(schema_default_text(), stdout);
            exit(EX_OK);
        }
    }
    opt->inputs = argv + optind;
    opt->n_inputs = argc - optind;
}

static schema *load_schema(const char *path)
{
    char why[512];
    if (!path) {
        const char *text = schema_default_text();
        schema *s = schema_parse(text, strlen(text), why, sizeof why);
        if (!s) diag_fatal(EX_SOFTWARE, "built-in schema: %s", why);
        return s;
    }
    schema *s = schema_load_file(path, why, sizeof why);
    if (!s) diag_fatal(errno == EINVAL ? EX_USAGE : EX_NOINPUT, "schema %s", why);
    return s;
}

/* After a failed write: a closed stdout (its reader went away) stops the run
 * quietly, through the usual shutdown path so the metrics still get written;
 * any other error ends it with EX_IOERR. out_buf drops what it could not
 * write, so the final flush does not fail again. */
static void sink_failed(const struct sink *s)
{
    if (errno == EPIPE && s->buf_is_stdout) {
        sp_running = 0;
        return;
    }
    diag_fatal(EX_IOERR, "%s: %s", s->name, strerror(errno));
}

/* Append p[0..n), and a newline when asked. */
static void sink_write(struct sink *s, const char *p, size_t n, bool add_newline)
{
    if (out_write(s->buf, p, n) < 0 || (add_newline && out_write(s->buf, "\n", 1) < 0))
        sink_failed(s);
}

static void sink_flush(struct sink *s)
{
    if (out_flush(s->buf) < 0) sink_failed(s);
}

/* How long the reader may wait for a line. With output pending, not at all:
 * a record must not sit in a buffer while input is idle, so the loop flushes
 * as soon as no complete line is at hand (under load one always is, and
 * output goes out in large blocks). With nothing pending, it wakes up now and
 * then so the metrics file catches up with the last counts. */
static int read_timeout(const struct run *r)
{
    return out_pending(r->out.buf) || out_pending(r->dlq.buf) ? 0 : METRICS_INTERVAL_MS;
}

static void write_dlq(struct run *r, const struct dlq_record *rec)
{
    (*r->dlq_total[rec->error])++;
    loss_report_count(r->loss, rec);
    sb_reset(&r->record);
    dlq_format(&r->record, rec);
    sink_write(&r->dlq, r->record.data, r->record.len, false);
}

static void judge_line(struct run *r, const char *line, size_t len, uint64_t line_no)
{
    struct dlq_record rec;
    switch (validator_check(r->validator, line, len, line_no, &rec)) {
    case VERDICT_CONTROL:
        sink_write(&r->out, line, len, true);
        return;
    case VERDICT_EVENT:
        (*r->in_total)++;
        (*r->out_total)++;
        sink_write(&r->out, line, len, true);
        return;
    case VERDICT_DLQ:
        (*r->in_total)++;
        write_dlq(r, &rec);
        return;
    }
}

/* Validate every line of fd until its end or a stop signal. */
static void validate_fd(struct run *r, int fd, const char *name)
{
    line_reader *reader = line_reader_new(fd);
    while (sp_running) {
        const char *line;
        size_t len;
        enum line_status st = line_reader_next(reader, &line, &len, read_timeout(r));
        if (st == LINE_EOF || st == LINE_STOPPED) break;
        if (st == LINE_ERROR) diag_fatal(EX_IOERR, "%s: %s", name, strerror(errno));
        if (st == LINE_OK) {
            judge_line(r, line, len, line_reader_line_number(reader));
        } else if (st == LINE_TOO_LONG) {
            struct dlq_record rec;
            (*r->in_total)++;
            validate_too_long(line, len, line_reader_line_number(reader), &rec);
            write_dlq(r, &rec);
        } else {
            sink_flush(&r->out);
            sink_flush(&r->dlq);
        }
        metrics_tick(r->m);
        loss_report_tick(r->loss, monotonic_coarse_ms());
    }
    line_reader_free(reader);
}

/* Open every input before reading any, so a missing file fails the run
 * before a single line goes out. */
static int *open_inputs(const struct options *opt)
{
    int n = opt->n_inputs ? opt->n_inputs : 1;
    int *fds = calloc((size_t)n, sizeof *fds);
    if (!fds) abort();
    for (int i = 0; i < n; i++) {
        const char *name = opt->n_inputs ? opt->inputs[i] : "-";
        fds[i] = strcmp(name, "-") == 0 ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) diag_fatal(EX_NOINPUT, "%s: %s", name, strerror(errno));
    }
    return fds;
}

static void register_metrics(struct run *r)
{
    r->in_total = metrics_counter(r->m, "sp_events_in_total", NULL,
                                  "Lines read, Kafka control lines excepted.");
    r->out_total =
        metrics_counter(r->m, "sp_events_out_total", NULL, "Valid events written to stdout.");
    static const enum dlq_error kinds[] = {DLQ_JSON_PARSE_ERROR, DLQ_SCHEMA_VIOLATION,
                                           DLQ_LINE_TOO_LONG};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        char labels[64];
        snprintf(labels, sizeof labels, "error_type=\"%s\"", dlq_error_name(kinds[i]));
        r->dlq_total[kinds[i]] =
            metrics_counter(r->m, "sp_dlq_total", labels, "Dead-letter records written, by error.");
    }
}

int main(int argc, char **argv)
{
    cli_init("sp-validate", &usage);
    struct options opt = {0};
    parse_options(argc, argv, &opt);
    diag_install_signals();

    struct run r = {0};
    schema *s = load_schema(opt.schema_file);
    r.validator = validator_new(s);
    if (!r.validator) diag_fatal(EX_USAGE, "schema names too many members");
    int *fds = open_inputs(&opt);

    int dlq_fd = STDERR_FILENO;
    if (opt.dlq_path) {
        /* A FIFO blocks here until its reader comes; a stop signal meanwhile
         * is a normal end, before anything was read. */
        dlq_fd = open(opt.dlq_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (dlq_fd < 0 && errno == EINTR && !sp_running) exit(EX_OK);
        if (dlq_fd < 0) diag_fatal(EX_CANTCREAT, "%s: %s", opt.dlq_path, strerror(errno));
    }
    r.out = (struct sink){out_new(STDOUT_FILENO), "stdout", true};
    r.dlq = (struct sink){out_new(dlq_fd), opt.dlq_path ? opt.dlq_path : "stderr", false};
    out_order_after(r.out.buf, r.dlq.buf);
    r.m = metrics_new("sp-validate", opt.metrics_file);
    register_metrics(&r);
    r.loss = loss_report_new("lines", r.in_total, opt.schema_file == NULL, monotonic_coarse_ms());

    int n = opt.n_inputs ? opt.n_inputs : 1;
    for (int i = 0; i < n && sp_running; i++) {
        validate_fd(&r, fds[i], opt.n_inputs ? opt.inputs[i] : "-");
        if (fds[i] != STDIN_FILENO) close(fds[i]);
    }

    sink_flush(&r.out);
    sink_flush(&r.dlq);
    loss_report_final(r.loss);
    if (metrics_write(r.m) < 0) diag_warn("%s: %s", opt.metrics_file, strerror(errno));
    out_close(r.out.buf);
    out_close(r.dlq.buf);
    if (opt.dlq_path) close(dlq_fd);
    metrics_free(r.m);
    loss_report_free(r.loss);
    sb_free(&r.record);
    validator_free(r.validator);
    schema_free(s);
    free(fds);
    return EX_OK;
}
