/* sp-kcat-out: NDJSON lines to a Kafka topic, one message per line.
 *
 * An idempotent producer with acks=all, keyed by one field of each line
 * (--key region_id) so that a key always lands on the same partition. Every
 * message is accounted for: a delivery report with an error is printed and
 * turns the exit status into 69; nothing is dropped without a word. */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "dlq.h"
#include "kafka.h"
#include "kafka_msg.h"
#include "line_io.h"
#include "metrics.h"

/* Delivery failures printed one by one; past that only the final count. */
#define MAX_REPORTED_FAILURES 10
/* How long line_reader_next waits before the loop serves delivery reports. */
#define IDLE_POLL_MS 100
/* The input line travels with its message as the delivery opaque:
 * (file index << LINE_BITS) | line number. */
#define LINE_BITS 48

struct options {
    const char *topic;
    const char *key_field;
    int32_t partition;
    const char *metrics_file;
    char **inputs; /* files to read, in order; none means stdin */
    int n_inputs;
    rd_kafka_conf_t *conf;
};

struct producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    const struct options *opt;
    metrics *m;
    uint64_t *in_total, *out_total, *errors_total, *unkeyed_total, *too_long_total;
    uint64_t failures_reported;
    int input_index;
    strbuf key;
};

static void usage(FILE *out)
{
    fputs("usage: sp-kcat-out [-q] -b BROKERS -t TOPIC [--key FIELD] [-p PARTITION]\n"
          "                   [-X PROP=VALUE]... [--metrics-file PATH] [FILE...]\n"
          "\n"
          "Produce each NDJSON line of the FILEs (or stdin; '-' is stdin) as one\n"
          "message to TOPIC: idempotent, acks=all, linger.ms=5, message.timeout.ms=60000.\n"
          "\n"
          "  -b, --brokers LIST      bootstrap brokers, host:port[,host:port...]\n"
          "  -t, --topic TOPIC       topic to produce to\n"
          "      --key FIELD         message key: the value of this top-level member;\n"
          "                          a line without it is sent with no key\n"
          "  -p, --partition N       send every message to partition N\n"
          "  -X PROP=VALUE           any librdkafka property (overrides the defaults)\n"
          "      --metrics-file PATH Prometheus textfile: sp_events_in_total,\n"
          "                          sp_events_out_total, sp_kafka_delivery_errors_total\n"
          "  -q, --quiet             no diagnostics but the final failure count\n"
          "  -h, --help              this help\n"
          "      --version           print the version\n",
          out);
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    enum { OPT_KEY };
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"key", required_argument, NULL, OPT_KEY},
        {"partition", required_argument, NULL, 'p'},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    opt->partition = RD_KAFKA_PARTITION_UA;
    opt->conf = kafka_conf_new();
    kafka_conf_set_or_exit(opt->conf, "enable.idempotence", "true");
    kafka_conf_set_or_exit(opt->conf, "acks", "all");
    kafka_conf_set_or_exit(opt->conf, "linger.ms", "5");
    kafka_conf_set_or_exit(opt->conf, "message.timeout.ms", "60000");
    int c;
    char why[512];
    while ((c = getopt_long(argc, argv, "b:t:p:X:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            kafka_conf_set_or_exit(opt->conf, "bootstrap.servers", optarg);
            break;
        case 't':
            opt->topic = optarg;
            break;
        case OPT_KEY:
            opt->key_field = optarg;
            break;
        case 'p': {
            int32_t *parts = NULL;
            size_t n = 0;
            if (kafka_partitions_parse(optarg, &parts, &n) < 0 || n != 1)
                diag_fatal(EX_USAGE, "-p: expected one partition number, got '%s'", optarg);
            opt->partition = parts[0];
            free(parts);
            break;
        }
        case 'X':
            if (kafka_conf_set_pair(opt->conf, optarg, why, sizeof why) < 0)
                diag_fatal(EX_USAGE, "-X %s", why);
            break;
        default:
            if (cli_common_option(c, optarg, usage, &opt->metrics_file))
                break;
            usage(stderr);
            exit(EX_USAGE);
        }
    }
    if (!opt->topic) {
        diag_warn("-t TOPIC is required");
        usage(stderr);
        exit(EX_USAGE);
    }
    opt->inputs = argv + optind;
    opt->n_inputs = argc - optind;
    if (opt->n_inputs >= (1 << (64 - LINE_BITS)))
        diag_fatal(EX_USAGE, "at most %d input files", (1 << (64 - LINE_BITS)) - 1);
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
    if (!msg->err) {
        (*p->out_total)++;
        return;
    }
    (*p->errors_total)++;
    if (p->failures_reported++ >= MAX_REPORTED_FAILURES) return;
    uint64_t where = (uint64_t)(uintptr_t)msg->_private;
    diag_warn("%s: line %" PRIu64 ": not delivered to %s: %s%s",
              input_name(p->opt, (int)(where >> LINE_BITS)),
              (uint64_t)(where & ((UINT64_C(1) << LINE_BITS) - 1)), p->opt->topic,
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
    if (opt->key_field) {
        sb_reset(&p->key);
        if (kafka_msg_key(line, len, opt->key_field, strlen(opt->key_field), &p->key)) {
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
        if (why == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(p->rk, 10);
            continue;
        }
        /* Refused before it was queued (too large, unknown partition): the
         * same account as a failed delivery. */
        rd_kafka_message_t failed = {.err = why, ._private = where};
        on_delivery(p->rk, &failed, p);
        break;
    }
    rd_kafka_poll(p->rk, 0);
}

/* Produce every line of fd. Returns 0, or EX_IOERR after a read error. */
static int produce_fd(struct producer *p, int fd)
{
    line_reader *r = line_reader_new(fd);
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
        if (st == LINE_OK && len > 0) {
            (*p->in_total)++;
            produce_line(p, line, len, line_reader_line_number(r));
        } else if (st == LINE_TOO_LONG) {
            (*p->in_total)++;
            report_too_long(p, line, len, line_reader_line_number(r));
        } else {
            rd_kafka_poll(p->rk, 0); /* idle: serve delivery reports */
        }
        metrics_tick(p->m);
    }
    line_reader_free(r);
    return rc;
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
    diag_init("sp-kcat-out");
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
    p.m = metrics_new("sp-kcat-out", opt.metrics_file);
    register_metrics(&p);
    rd_kafka_conf_set_opaque(opt.conf, &p);
    rd_kafka_conf_set_dr_msg_cb(opt.conf, on_delivery);
    char why[512];
    p.rk = rd_kafka_new(RD_KAFKA_PRODUCER, opt.conf, why, sizeof why);
    if (!p.rk) diag_fatal(EX_USAGE, "%s", why);
    p.rkt = rd_kafka_topic_new(p.rk, opt.topic, NULL);
    if (!p.rkt)
        diag_fatal(EX_USAGE, "topic %s: %s", opt.topic, rd_kafka_err2str(rd_kafka_last_error()));

    int rc = 0;
    for (p.input_index = 0; p.input_index < n_fds && sp_running && rc == 0; p.input_index++)
        rc = produce_fd(&p, fds[p.input_index]);

    /* Everything queued is delivered or reported: message.timeout.ms bounds
     * the wait even with every broker gone. */
    while (rd_kafka_outq_len(p.rk) > 0) {
        rd_kafka_flush(p.rk, 100);
        metrics_tick(p.m);
    }
    metrics_write(p.m);
    uint64_t failed = *p.errors_total;
    uint64_t sent = *p.in_total - *p.too_long_total;

    rd_kafka_topic_destroy(p.rkt);
    rd_kafka_destroy(p.rk);
    metrics_free(p.m);
    sb_free(&p.key);
    for (int i = 0; i < n_fds; i++)
        if (fds[i] != STDIN_FILENO) close(fds[i]);
    free(fds);
    if (failed)
        diag_fatal(EX_UNAVAILABLE, "%" PRIu64 " of %" PRIu64 " messages not delivered to %s",
                   failed, sent, opt.topic);
    if (kafka_fatal()) diag_fatal(EX_UNAVAILABLE, "stopped by a fatal producer error");
    return rc;
}
