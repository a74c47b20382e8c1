/* sp-kcat-out: NDJSON lines to a Kafka topic, one message per line.
 *
 * An idempotent producer with acks=all, keyed by one field of each line
 * (--key region_id) so that a key always lands on the same partition. Every
 * message is accounted for: a delivery report with an error is printed and
 * turns the exit status into 69; nothing is dropped without a word.
 *
 * With --follow and --offset-file it ships a growing file (a journal, such
 * as sp-validate's DLQ in pipelines/process) and saves how far every line
 * is acknowledged, so a restart after kill -9 resends what was in flight
 * instead of losing it (acked_offset.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "acked_offset.h"
#include "checkpoint.h"
#include "cli.h"
#include "diag.h"
#include "dlq.h"
#include "kafka.h"
#include "kafka_drain.h"
#include "kafka_msg.h"
#include "clock.h"
#include "line_io.h"
#include "metrics.h"

/* Delivery failures printed one by one; past that only the final count. */
#define MAX_REPORTED_FAILURES 10
/* How long line_reader_next waits before the loop serves delivery reports. */
#define IDLE_POLL_MS 100
/* The input line travels with its message as the delivery opaque:
 * (file index << LINE_BITS) | line number. */
#define LINE_BITS 48
#define LINE_OF(where) ((where) & ((UINT64_C(1) << LINE_BITS) - 1))
/* How often the acknowledged offset is saved while it moves. */
#define OFFSET_SAVE_MS 200

struct options {
    struct cli_kafka kafka; /* -b, -t, -X */
    const char *key_field;
    struct kafka_key_reader key_reader; /* with --key */
    int32_t partition;
    const char *metrics_file;
    char **inputs; /* files to read, in order; none means stdin */
    int n_inputs;
    bool follow;             /* wait for the one input file to grow */
    const char *offset_file; /* resume from and save the acknowledged offset */
};

struct producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    const struct options *opt;
    metrics *m;
    uint64_t *in_total, *out_total, *errors_total, *unkeyed_total, *too_long_total;
    uint64_t failures_reported;
    int input_index;
    struct kafka_key_reader *key_reader; /* NULL without --key */
    strbuf key;
    acked_offset *acked; /* with --offset-file */
    uint64_t start_offset, last_line_end, saved_offset;
    int64_t last_save_ms;
    bool save_failing;
};

static const struct cli_usage usage = {
    .synopsis = "usage: sp-kcat-out [-q] -b brokers -t topic [--key field] [-p partition]\n"
                "                   [-X property=value] ... [--metrics-file path] [file ...]\n"
                "       sp-kcat-out ... [--follow] --offset-file path file\n"
                "       sp-kcat-out -h | --help | --version\n",
    .options = "Produce each NDJSON line of the FILEs (or stdin; '-' is stdin) as one\n"
               "message to TOPIC: idempotent, acks=all, linger.ms=1, message.timeout.ms=60000.\n"
               "A line that cannot be delivered is written to stdout, to be sent again.\n"
               "\n"
               "  -b, --brokers LIST      bootstrap brokers, host:port[,host:port...]\n"
               "  -t, --topic TOPIC       topic to produce to\n"
               "      --key FIELD         message key: the value of this top-level member;\n"
               "                          a line without it is sent with no key\n"
               "  -p, --partition N       send every message to partition N\n"
               "  -X PROP=VALUE           any librdkafka property (overrides the defaults)\n"
               "      --follow            keep reading FILE as it grows (tail -f); ends on a\n"
               "                          signal or the first message that cannot be delivered\n"
               "      --offset-file PATH  start FILE at the byte offset saved in PATH (absent:\n"
               "                          0) and save there how far every line is acknowledged\n"
               "      --metrics-file PATH Prometheus textfile: sp_events_in_total,\n"
               "                          sp_events_out_total, sp_kafka_delivery_errors_total\n"
               "  -q, --quiet             no diagnostics but the final failure count\n"
               "  -h, --help              this help\n"
               "      --version           print the version\n",
};

static void parse_options(int argc, char **argv, struct options *opt)
{
    enum { OPT_KEY = CLI_OPT_PROGRAM, OPT_FOLLOW, OPT_OFFSET_FILE };
    static const struct option longopts[] = {
        CLI_KAFKA_OPTIONS,
        {"key", required_argument, NULL, OPT_KEY},
        {"follow", no_argument, NULL, OPT_FOLLOW},
        {"offset-file", required_argument, NULL, OPT_OFFSET_FILE},
        {"partition", required_argument, NULL, 'p'},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    opt->partition = RD_KAFKA_PARTITION_UA;
    cli_kafka_init(&opt->kafka);
    rd_kafka_conf_t *conf = opt->kafka.conf;
    kafka_conf_set_or_exit(conf, "enable.idempotence", "true");
    kafka_conf_set_or_exit(conf, "acks", "all");
    /* Under load batches fill while a request is in flight anyway; a
     * longer linger only delays a lone message (bench/latency.py). */
    kafka_conf_set_or_exit(conf, "linger.ms", "1");
    kafka_conf_set_or_exit(conf, "message.timeout.ms", "60000");
    int c;
    while ((c = cli_getopt(argc, argv, "b:t:p:X:qh", longopts, &opt->metrics_file)) != -1) {
        switch (c) {
        case 'b':
        case 't':
        case 'X':
            cli_kafka_option(&opt->kafka, c, optarg);
            break;
        case OPT_KEY:
            if (kafka_key_reader_init(&opt->key_reader, optarg) < 0)
                cli_usage_error("--key %s: a member name of at most %d bytes", optarg,
                                EVENT_READER_NAME_MAX - 1);
            opt->key_field = optarg;
            break;
        case OPT_FOLLOW:
            opt->follow = true;
            break;
        case OPT_OFFSET_FILE:
            opt->offset_file = optarg;
            break;
        case 'p': {
            int32_t *parts = NULL;
            size_t n = 0;
            if (kafka_partitions_parse(optarg, &parts, &n) < 0 || n != 1)
                cli_usage_error("-p %s: expected one partition number", optarg);
            opt->partition = parts[0];
            free(parts);
            break;
        }
        }
    }
    cli_kafka_finish(&opt->kafka);
    opt->inputs = argv + optind;
    opt->n_inputs = argc - optind;
    if ((opt->follow || opt->offset_file) && (opt->n_inputs != 1 || !strcmp(opt->inputs[0], "-")))
        cli_usage_error("--follow and --offset-file read exactly one FILE, not stdin");
    if (opt->n_inputs >= (1 << (64 - LINE_BITS)))
        cli_usage_error("at most %d input files", (1 << (64 - LINE_BITS)) - 1);
}

static const char *input_name(const struct options *opt, int index)
{
    return opt->n_inputs == 0 ? "-" : opt->inputs[index];
}

/* Runs inside rd_kafka_poll/flush, on this thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    struct producer *p = opaque;
    (void)rk;
    uint64_t where = (uint64_t)(uintptr_t)msg->_private;
    if (!msg->err) {
        (*p->out_total)++;
        if (p->acked) acked_offset_done(p->acked, LINE_OF(where));
        return;
    }
    (*p->errors_total)++;
    /* Following, a line that cannot go out holds the saved offset back:
     * stop, so that a restart sends it again. Otherwise the journal is
     * standard output: the line goes there, to be sent again from it. */
    if (p->opt->follow) sp_running = 0;
    if (!p->acked) {
        fwrite(msg->payload, 1, msg->len, stdout);
        putchar('\n');
    }
    if (p->failures_reported++ >= MAX_REPORTED_FAILURES) return;
    diag_warn("%s: line %" PRIu64 ": not delivered to %s: %s%s",
              input_name(p->opt, (int)(where >> LINE_BITS)), LINE_OF(where), p->opt->kafka.topic,
              rd_kafka_err2str(msg->err),
              p->failures_reported == MAX_REPORTED_FAILURES ? " (further failures only counted)"
                                                            : "");
}

/* A line over the length limit cannot be one message: it becomes a DLQ
 * record on stderr, as the other programs do without --dlq. */
static void report_too_long(struct producer *p, const char *line, size_t len, uint64_t line_no)
{
    (*p->too_long_total)++;
    strbuf sb = STRBUF_INIT;
    struct dlq_record rec = {
        .error = DLQ_LINE_TOO_LONG,
        .reason = "line longer than 1 MiB",
        .component = "sp-kcat-out",
        .source = {.line = line_no},
        .original = line,
        .original_len = len,
    };
    dlq_format(&sb, &rec);
    if (!diag_quiet) fwrite(sb.data, 1, sb.len, stderr);
    sb_free(&sb);
}

/* Hand one line to librdkafka, waiting while its queue is full. */
static void produce_line(struct producer *p, const char *line, size_t len, uint64_t line_no)
{
    const struct options *opt = p->opt;
    const void *key = NULL;
    size_t key_len = 0;
    if (p->key_reader) {
        sb_reset(&p->key);
        if (kafka_key_read(p->key_reader, line, len, &p->key)) {
            key = p->key.len ? p->key.data : ""; /* an empty key, not none */
            key_len = p->key.len;
        } else {
            (*p->unkeyed_total)++;
        }
    }
    void *where = (void *)(uintptr_t)(((uint64_t)p->input_index << LINE_BITS) | line_no);
    for (;;) {
        if (rd_kafka_produce(p->rkt, opt->partition, RD_KAFKA_MSG_F_COPY, (void *)line, len, key,
                             key_len, where) == 0)
            break;
        rd_kafka_resp_err_t why = rd_kafka_last_error();
        /* A full queue drains as the cluster acknowledges, unless we are
         * told to stop: then the line is one that did not go. */
        if (why == RD_KAFKA_RESP_ERR__QUEUE_FULL && sp_running) {
            rd_kafka_poll(p->rk, 10);
            continue;
        }
        /* Refused before it was queued (too large, unknown partition): the
         * same account as a failed delivery. */
        rd_kafka_message_t failed = {
            .err = why, .payload = (void *)line, .len = len, ._private = where};
        on_delivery(p->rk, &failed, p);
        break;
    }
    rd_kafka_poll(p->rk, 0);
}

/* --offset-file: the offset saved there, 0 when there is none yet. */
static uint64_t saved_offset(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOENT) return 0;
    if (!f) diag_fatal(EX_NOINPUT, "%s: %m", path);
    unsigned long long offset;
    int got = fscanf(f, "%llu", &offset);
    fclose(f);
    if (got != 1) diag_fatal(EX_DATAERR, "%s: not a byte offset", path);
    return offset;
}

/* Start fd at the saved offset; one past the end means the file is not the
 * one the offset was saved for. */
static void resume_input(struct producer *p, int fd)
{
    p->start_offset = p->last_line_end = p->saved_offset = saved_offset(p->opt->offset_file);
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0) diag_fatal(EX_NOINPUT, "%s: not a regular file (%m)", p->opt->inputs[0]);
    if ((uint64_t)size < p->start_offset)
        diag_fatal(EX_DATAERR, "%s: offset %" PRIu64 " in %s is past its end (%lld bytes)",
                   p->opt->inputs[0], p->start_offset, p->opt->offset_file, (long long)size);
    lseek(fd, (off_t)p->start_offset, SEEK_SET);
    p->acked = acked_offset_new(p->start_offset);
}

/* Save the acknowledged offset when it moved (at most every
 * OFFSET_SAVE_MS, unless now is set). A failure is said once. */
static void save_offset(struct producer *p, bool now)
{
    if (!p->acked) return;
    uint64_t offset = acked_offset_get(p->acked);
    int64_t ms = monotonic_ms();
    if (offset == p->saved_offset || (!now && ms - p->last_save_ms < OFFSET_SAVE_MS)) return;
    char text[32];
    int len = snprintf(text, sizeof text, "%" PRIu64 "\n", offset);
    bool ok = checkpoint_write_text(p->opt->offset_file, text, (size_t)len) == 0;
    if (!ok && !p->save_failing) diag_warn("%s: %m (retrying)", p->opt->offset_file);
    p->save_failing = !ok;
    p->last_save_ms = ms;
    if (ok) p->saved_offset = offset;
}

/* With --offset-file, number the line just read as acked_offset does (the
 * same numbers as line_reader's): a message waits for its delivery report;
 * an empty line is done at once, and an over-long one too, at the offset
 * before it (the rest of it was skipped: a restart reads it, and reports
 * it, again). */
static void track_line(struct producer *p, line_reader *r, enum line_status st, size_t len)
{
    if (!p->acked) return;
    if (st == LINE_OK) p->last_line_end = p->start_offset + line_reader_offset(r);
    uint64_t n = acked_offset_add(p->acked, p->last_line_end);
    if (st != LINE_OK || len == 0) acked_offset_done(p->acked, n);
}

/* Produce every line of fd. Returns 0, or EX_IOERR after a read error. */
static int produce_fd(struct producer *p, int fd)
{
    line_reader *r = line_reader_new(fd);
    if (p->opt->follow) line_reader_follow(r);
    int rc = 0;
    while (sp_running) {
        const char *line;
        size_t len;
        enum line_status st = line_reader_next(r, &line, &len, IDLE_POLL_MS);
        if (st == LINE_EOF || st == LINE_STOPPED) break;
        if (st == LINE_ERROR) {
            diag_warn("%s: read error: %m", input_name(p->opt, p->input_index));
            rc = EX_IOERR;
            break;
        }
        if (st == LINE_OK || st == LINE_TOO_LONG) track_line(p, r, st, len);
        if (st == LINE_OK && len > 0) {
            (*p->in_total)++;
            produce_line(p, line, len, line_reader_line_number(r));
        } else if (st == LINE_TOO_LONG) {
            (*p->in_total)++;
            report_too_long(p, line, len, line_reader_line_number(r));
        } else {
            rd_kafka_poll(p->rk, 0); /* idle: serve delivery reports */
        }
        save_offset(p, false);
        metrics_tick(p->m);
    }
    line_reader_free(r);
    return rc;
}

static void tick_metrics(void *m)
{
    metrics_tick(m);
}

static int open_input(const char *name)
{
    if (strcmp(name, "-") == 0) return STDIN_FILENO;
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) diag_fatal(EX_NOINPUT, "%s: %m", name);
    return fd;
}

static void register_metrics(struct producer *p)
{
    p->in_total = metrics_counter(p->m, "sp_events_in_total", NULL, "Lines read.");
    p->out_total =
        metrics_counter(p->m, "sp_events_out_total", NULL, "Messages the cluster acknowledged.");
    p->errors_total = metrics_counter(p->m, "sp_kafka_delivery_errors_total", NULL,
                                      "Messages that could not be delivered.");
    p->unkeyed_total = metrics_counter(p->m, "sp_kafka_unkeyed_total", NULL,
                                       "Messages sent without a key (no --key member).");
    p->too_long_total = metrics_counter(p->m, "sp_dlq_total", "error_type=\"LINE_TOO_LONG\"",
                                        "Lines not sent, by reason.");
}

int main(int argc, char **argv)
{
    cli_init("sp-kcat-out", &usage);
    struct options opt = {0};
    parse_options(argc, argv, &opt);
    /* Open every input first: a missing file is a usage mistake, found
     * before anything is sent. */
    int n_fds = opt.n_inputs ? opt.n_inputs : 1;
    int *fds = calloc((size_t)n_fds, sizeof *fds);
    if (!fds) abort();
    for (int i = 0; i < n_fds; i++)
        fds[i] = open_input(input_name(&opt, i));
    diag_install_signals();

    struct producer p = {.opt = &opt, .key = STRBUF_INIT};
    p.key_reader = opt.key_field ? &opt.key_reader : NULL;
    p.m = metrics_new("sp-kcat-out", opt.metrics_file);
    register_metrics(&p);
    rd_kafka_conf_set_opaque(opt.kafka.conf, &p);
    rd_kafka_conf_set_dr_msg_cb(opt.kafka.conf, on_delivery);
    char why[512];
    p.rk = rd_kafka_new(RD_KAFKA_PRODUCER, opt.kafka.conf, why, sizeof why);
    if (!p.rk) diag_fatal(EX_USAGE, "%s", why);
    p.rkt = rd_kafka_topic_new(p.rk, opt.kafka.topic, NULL);
    if (!p.rkt)
        diag_fatal(EX_USAGE, "topic %s: %s", opt.kafka.topic,
                   rd_kafka_err2str(rd_kafka_last_error()));

    if (opt.offset_file) resume_input(&p, fds[0]);
    int rc = 0;
    for (p.input_index = 0; p.input_index < n_fds && sp_running && rc == 0; p.input_index++)
        rc = produce_fd(&p, fds[p.input_index]);

    /* Everything queued is delivered or reported: message.timeout.ms bounds
     * the wait even with every broker gone, a stop signal a few seconds. */
    bool purged = kafka_drain(p.rk, tick_metrics, p.m);
    save_offset(&p, true);
    metrics_write(p.m);
    uint64_t failed = *p.errors_total;
    uint64_t sent = *p.in_total - *p.too_long_total;

    rd_kafka_topic_destroy(p.rkt);
    rd_kafka_destroy(p.rk);
    metrics_free(p.m);
    sb_free(&p.key);
    acked_offset_free(p.acked);
    for (int i = 0; i < n_fds; i++)
        if (fds[i] != STDIN_FILENO) close(fds[i]);
    free(fds);
    if (failed) {
        fflush(stdout);
        diag_fatal(
            EX_UNAVAILABLE, "%" PRIu64 " of %" PRIu64 " messages not delivered to %s%s; %s", failed,
            sent, opt.kafka.topic, purged ? " (stopped before the brokers answered)" : "",
            opt.offset_file ? "they stay in the file past the saved offset, for the next start"
                            : "they are on standard output, as read");
    }
    if (kafka_fatal()) diag_fatal(EX_UNAVAILABLE, "stopped by a fatal producer error");
    return rc;
}
