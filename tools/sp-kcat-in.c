/* sp-kcat-in: a Kafka topic to NDJSON on stdout, every object tagged with
 * the "_kafka" coordinates of its message (SPEC section 5).
 *
 * Three ways to choose partitions, as kcat: a consumer group (-G, subscribe
 * and rebalance), a fixed list (-p), or, with neither, every partition of the
 * topic. In a group, an offset is stored for commit only after its record was
 * written and flushed downstream, so a restart never skips a record the next
 * program did not get. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "diag.h"
#include "kafka.h"
#include "kafka_msg.h"
#include "line_io.h"
#include "metrics.h"

/* Flush and store offsets at least this often under load. */
#define FLUSH_INTERVAL_MS 100
/* How long a poll waits while output is pending (idle input flushes it) and
 * while nothing is (bounds the reaction to SIGTERM). */
#define POLL_PENDING_MS 10
#define POLL_IDLE_MS 100
#define LAG_INTERVAL_MS 1000
#define METADATA_TIMEOUT_MS 5000
#define METADATA_ATTEMPTS 3
/* Longest wait to commit and leave the group at exit. */
#define CLOSE_TIMEOUT_S 5
/* Partition numbers above this are refused: the state is an array. */
#define MAX_PARTITION 999999

struct options {
    const char *topic;
    const char *group;
    int32_t *partitions; /* -p, or NULL */
    size_t n_partitions;
    int64_t offset;
    bool offset_given;
    bool exit_at_eof;
    const char *resume_from;
    const char *metrics_file;
    rd_kafka_conf_t *conf;
};

struct partition_state {
    bool assigned;
    bool at_eof;
    int64_t next_offset;   /* after the last record handed to the output, or -1 */
    int64_t stored_offset; /* last offset stored for commit, or -1 */
    double *lag;
};

struct consumer {
    rd_kafka_t *rk;
    const struct options *opt;
    out_buf *out;
    strbuf line;
    metrics *m;
    uint64_t *in_total, *out_total, *raw_total;
    struct partition_state *parts;
    size_t n_parts;
    kafka_offsets resume;
    int64_t last_flush_ms, last_lag_ms;
    bool assigned_once;
    bool downstream_gone;
    int exit_code;
};

static void usage(FILE *out)
{
    fputs("usage: sp-kcat-in [-q] -b BROKERS -t TOPIC [-G GROUP | -p PARTITIONS]\n"
          "                  [-o OFFSET] [-e] [--resume-from CHECKPOINT] [-X PROP=VALUE]...\n"
          "                  [--metrics-file PATH]\n"
          "\n"
          "Consume TOPIC and write each message as one NDJSON line with\n"
          "\"_kafka\":{\"topic\",\"partition\",\"offset\"} as its first member.\n"
          "\n"
          "  -b, --brokers LIST        bootstrap brokers, host:port[,host:port...]\n"
          "  -t, --topic TOPIC         topic to consume\n"
          "  -G, --group GROUP         consume as a member of GROUP (subscribe; offsets\n"
          "                            committed after the records were written)\n"
          "  -p, --partitions LIST     consume only these partitions: 0,1,3 or 0-3\n"
          "  -o, --offset OFFSET       beginning (default), end, stored, N, or -N from the\n"
          "                            end; with -G only beginning or end, for partitions\n"
          "                            the group has no offset for\n"
          "  -e, --exit                exit at the end of every assigned partition\n"
          "      --resume-from PATH    start each partition at the offset saved in\n"
          "                            sp-window's checkpoint PATH (absent: as -o)\n"
          "  -X PROP=VALUE             any librdkafka property (overrides the defaults:\n"
          "                            fetch.wait.max.ms=100, queued.min.messages=1000000)\n"
          "      --metrics-file PATH   Prometheus textfile: sp_events_in_total,\n"
          "                            sp_events_out_total, sp_kafka_raw_total,\n"
          "                            sp_kafka_consumer_lag{topic,partition}\n"
          "  -q, --quiet               no diagnostics\n"
          "  -h, --help                this help\n"
          "      --version             print the version\n",
          out);
}

static void conf_set_or_die(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char why[512];
    if (kafka_conf_set(conf, name, value, why, sizeof why) < 0) diag_fatal(EX_USAGE, "%s", why);
}

static void usage_error(const char *what)
{
    diag_warn("%s", what);
    usage(stderr);
    exit(EX_USAGE);
}

/* Settings that depend on the mode, once every flag is known. */
static void finish_options(struct options *opt)
{
    if (!opt->topic) usage_error("-t TOPIC is required");
    for (size_t i = 0; i < opt->n_partitions; i++)
        if (opt->partitions[i] > MAX_PARTITION) usage_error("-p: partition number too large");
    if (opt->group && opt->partitions) usage_error("-G and -p exclude each other");
    if (!opt->group && opt->offset == RD_KAFKA_OFFSET_STORED)
        usage_error("-o stored needs a consumer group (-G)");
    if (opt->group) {
        if (opt->offset_given && opt->offset != RD_KAFKA_OFFSET_BEGINNING &&
            opt->offset != RD_KAFKA_OFFSET_END && opt->offset != RD_KAFKA_OFFSET_STORED)
            usage_error("-o with -G takes beginning, end or stored");
        conf_set_or_die(opt->conf, "group.id", opt->group);
        conf_set_or_die(opt->conf, "auto.offset.reset",
                        opt->offset == RD_KAFKA_OFFSET_END ? "latest" : "earliest");
    } else {
        /* librdkafka's assign() wants a group id even when no group is
         * joined; nothing is committed under it. */
        char current[256];
        size_t len = sizeof current;
        if (rd_kafka_conf_get(opt->conf, "group.id", current, &len) != RD_KAFKA_CONF_OK || len <= 1)
            conf_set_or_die(opt->conf, "group.id", "sp-kcat-in");
        conf_set_or_die(opt->conf, "enable.auto.commit", "false");
    }
    if (opt->exit_at_eof) conf_set_or_die(opt->conf, "enable.partition.eof", "true");
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    enum { OPT_VERSION = 256, OPT_METRICS, OPT_RESUME };
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"group", required_argument, NULL, 'G'},
        {"partitions", required_argument, NULL, 'p'},
        {"offset", required_argument, NULL, 'o'},
        {"exit", no_argument, NULL, 'e'},
        {"resume-from", required_argument, NULL, OPT_RESUME},
        {"metrics-file", required_argument, NULL, OPT_METRICS},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    opt->offset = RD_KAFKA_OFFSET_BEGINNING;
    opt->conf = kafka_conf_new();
    /* Offsets are stored by hand once their records are downstream; the
     * auto-committer only sends what was stored. */
    conf_set_or_die(opt->conf, "enable.auto.offset.store", "false");
    conf_set_or_die(opt->conf, "enable.auto.commit", "true");
    /* A fetch answers within the 100 ms latency budget even when some
     * partitions have nothing new, and a deep prefetch queue keeps the
     * writer busy under load (both measured on bench/bench_kafka.sh). */
    conf_set_or_die(opt->conf, "fetch.wait.max.ms", "100");
    conf_set_or_die(opt->conf, "queued.min.messages", "1000000");
    int c;
    char why[512];
    while ((c = getopt_long(argc, argv, "b:t:G:p:o:eX:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            conf_set_or_die(opt->conf, "bootstrap.servers", optarg);
            break;
        case 't':
            opt->topic = optarg;
            break;
        case 'G':
            opt->group = optarg;
            break;
        case 'p':
            if (kafka_partitions_parse(optarg, &opt->partitions, &opt->n_partitions) < 0)
                diag_fatal(EX_USAGE, "-p: expected partitions like 0,1,3 or 0-3, got '%s'", optarg);
            break;
        case 'o':
            if (kafka_offset_parse(optarg, &opt->offset) < 0)
                diag_fatal(EX_USAGE, "-o: expected beginning, end, stored, N or -N, got '%s'",
                           optarg);
            opt->offset_given = true;
            break;
        case 'e':
            opt->exit_at_eof = true;
            break;
        case OPT_RESUME:
            opt->resume_from = optarg;
            break;
        case 'X':
            if (kafka_conf_set_pair(opt->conf, optarg, why, sizeof why) < 0)
                diag_fatal(EX_USAGE, "-X %s", why);
            break;
        case OPT_METRICS:
            opt->metrics_file = optarg;
            break;
        case 'q':
            diag_quiet = 1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case OPT_VERSION:
            printf("sp-kcat-in %s\n", SP_VERSION);
            exit(0);
        default:
            usage(stderr);
            exit(EX_USAGE);
        }
    }
    if (optind < argc) usage_error("unexpected argument");
    finish_options(opt);
}

static struct partition_state *partition(struct consumer *c, int32_t p)
{
    if ((size_t)p >= c->n_parts) {
        size_t n = (size_t)p + 1;
        struct partition_state *grown = realloc(c->parts, n * sizeof *grown);
        if (!grown) abort();
        for (size_t i = c->n_parts; i < n; i++)
            grown[i] = (struct partition_state){.next_offset = -1, .stored_offset = -1};
        c->parts = grown;
        c->n_parts = n;
    }
    return &c->parts[p];
}

/* The downstream reader went away (EPIPE: stop quietly) or the write failed
 * (stop with EX_IOERR). */
static void output_failed(struct consumer *c)
{
    if (errno != EPIPE) {
        diag_warn("write error: %m");
        c->exit_code = EX_IOERR;
    }
    c->downstream_gone = true;
    sp_running = 0;
}

static void write_line(struct consumer *c)
{
    if (c->downstream_gone) return;
    if (out_write(c->out, c->line.data, c->line.len) < 0) output_failed(c);
}

/* Flush the output, then (in a group) store for commit the offset after the
 * last record of each partition: only now is it downstream. */
static void flush_and_store(struct consumer *c)
{
    c->last_flush_ms = monotonic_ms();
    if (c->downstream_gone) return;
    if (out_flush(c->out) < 0) {
        output_failed(c);
        return;
    }
    if (!c->opt->group) return;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < c->n_parts; i++) {
        struct partition_state *ps = &c->parts[i];
        if (!ps->assigned || ps->next_offset <= ps->stored_offset) continue;
        rd_kafka_topic_partition_list_add(list, c->opt->topic, (int32_t)i)->offset =
            ps->next_offset;
        ps->stored_offset = ps->next_offset;
    }
    if (list->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, list);
        if (err) diag_warn("cannot store offsets: %s", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(list);
}

/* The control line naming every partition now assigned. */
static void announce_assignment(struct consumer *c)
{
    rd_kafka_topic_partition_list_t *now = NULL;
    rd_kafka_resp_err_t err = rd_kafka_assignment(c->rk, &now);
    if (err) {
        diag_warn("cannot read the assignment: %s", rd_kafka_err2str(err));
        return;
    }
    sb_reset(&c->line);
    kafka_assignment_format(&c->line, now);
    rd_kafka_topic_partition_list_destroy(now);
    write_line(c);
}

static void mark_assigned(struct consumer *c, const rd_kafka_topic_partition_list_t *parts,
                          bool assigned)
{
    for (int i = 0; i < parts->cnt; i++) {
        struct partition_state *ps = partition(c, parts->elems[i].partition);
        ps->assigned = assigned;
        ps->at_eof = false;
        ps->next_offset = ps->stored_offset = -1;
        if (assigned && !ps->lag) {
            char labels[128];
            snprintf(labels, sizeof labels, "topic=\"%s\",partition=\"%" PRId32 "\"", c->opt->topic,
                     parts->elems[i].partition);
            ps->lag = metrics_gauge(c->m, "sp_kafka_consumer_lag", labels,
                                    "Messages in the partition not yet consumed.");
        }
    }
    if (assigned) c->assigned_once = true;
}

/* Start each partition at its checkpoint offset when --resume-from has one;
 * the others keep default (the -o offset, or in a group the committed one). */
static void apply_start_offsets(struct consumer *c, rd_kafka_topic_partition_list_t *parts,
                                int64_t otherwise)
{
    for (int i = 0; i < parts->cnt; i++) {
        int64_t saved = kafka_offsets_get(&c->resume, parts->elems[i].partition);
        parts->elems[i].offset = saved != RD_KAFKA_OFFSET_INVALID ? saved : otherwise;
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct consumer *c = opaque;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t assign_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        apply_start_offsets(c, parts, RD_KAFKA_OFFSET_INVALID);
        mark_assigned(c, parts, true);
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            assign_err = rd_kafka_assign(rk, parts);
    } else {
        /* Hand the partitions back with everything written committed, so
         * the next owner starts exactly after it. */
        flush_and_store(c);
        if (!rd_kafka_assignment_lost(rk)) rd_kafka_commit(rk, NULL, 0);
        mark_assigned(c, parts, false);
        if (cooperative)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            assign_err = rd_kafka_assign(rk, NULL);
    }
    if (error) {
        diag_warn("rebalance: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (assign_err) {
        diag_warn("rebalance: %s", rd_kafka_err2str(assign_err));
    }
    /* Eager rebalancing revokes everything before it assigns the new set:
     * the assign step says what holds from now on. */
    if (cooperative || err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) announce_assignment(c);
}

/* Every partition of the topic, from the cluster's metadata. */
static rd_kafka_topic_partition_list_t *all_partitions(struct consumer *c)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, c->opt->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 1; attempt <= METADATA_ATTEMPTS && sp_running; attempt++) {
        err = rd_kafka_metadata(c->rk, 0, rkt, &md, METADATA_TIMEOUT_MS);
        if (!err) break;
        diag_warn("reading the partitions of %s: %s (attempt %d of %d)", c->opt->topic,
                  rd_kafka_err2str(err), attempt, METADATA_ATTEMPTS);
    }
    rd_kafka_topic_destroy(rkt);
    if (err || !md) diag_fatal(EX_UNAVAILABLE, "cannot read the partitions of %s", c->opt->topic);
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
        rd_kafka_resp_err_t terr =
            md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        rd_kafka_metadata_destroy(md);
        diag_fatal(EX_UNAVAILABLE, "topic %s: %s", c->opt->topic, rd_kafka_err2str(terr));
    }
    rd_kafka_topic_partition_list_t *list =
        rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(list, c->opt->topic, md->topics[0].partitions[i].id);
    rd_kafka_metadata_destroy(md);
    return list;
}

/* -p (checked against the topic), or every partition: assign once, for
 * the whole run. */
static void assign_static(struct consumer *c)
{
    rd_kafka_topic_partition_list_t *list = all_partitions(c);
    if (c->opt->partitions) {
        /* A partition the topic lacks would only produce retry warnings. */
        rd_kafka_topic_partition_list_t *chosen =
            rd_kafka_topic_partition_list_new((int)c->opt->n_partitions);
        for (size_t i = 0; i < c->opt->n_partitions; i++) {
            int32_t p = c->opt->partitions[i];
            if (!rd_kafka_topic_partition_list_find(list, c->opt->topic, p))
                diag_fatal(EX_UNAVAILABLE, "topic %s has no partition %" PRId32, c->opt->topic, p);
            rd_kafka_topic_partition_list_add(chosen, c->opt->topic, p);
        }
        rd_kafka_topic_partition_list_destroy(list);
        list = chosen;
    }
    apply_start_offsets(c, list, c->opt->offset);
    mark_assigned(c, list, true);
    rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) diag_fatal(EX_UNAVAILABLE, "cannot assign partitions: %s", rd_kafka_err2str(err));
    announce_assignment(c);
}

static bool all_at_eof(const struct consumer *c)
{
    if (!c->assigned_once) return false;
    for (size_t i = 0; i < c->n_parts; i++)
        if (c->parts[i].assigned && !c->parts[i].at_eof) return false;
    return true;
}

static void handle_error(struct consumer *c, const rd_kafka_message_t *msg)
{
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        partition(c, msg->partition)->at_eof = true;
        return;
    }
    if (msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
        msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
        diag_warn("%s: %s", c->opt->topic, rd_kafka_message_errstr(msg));
        c->exit_code = EX_UNAVAILABLE;
        sp_running = 0;
        return;
    }
    diag_warn("%s [%" PRId32 "]: %s", c->opt->topic, msg->partition, rd_kafka_message_errstr(msg));
}

static void handle_message(struct consumer *c, const rd_kafka_message_t *msg)
{
    struct partition_state *ps = partition(c, msg->partition);
    ps->at_eof = false;
    (*c->in_total)++;
    sb_reset(&c->line);
    if (!kafka_msg_to_ndjson(&c->line, c->opt->topic, msg->partition, msg->offset, msg->payload,
                             msg->len))
        (*c->raw_total)++;
    write_line(c);
    if (c->downstream_gone) return;
    (*c->out_total)++;
    ps->next_offset = msg->offset + 1;
}

/* Lag = the partition's high watermark (as last fetched; no request is
 * sent) minus the next offset to hand downstream. */
static void update_lag(struct consumer *c)
{
    c->last_lag_ms = monotonic_ms();
    for (size_t i = 0; i < c->n_parts; i++) {
        struct partition_state *ps = &c->parts[i];
        int64_t low, high;
        if (!ps->assigned || ps->next_offset < 0) continue;
        if (rd_kafka_get_watermark_offsets(c->rk, c->opt->topic, (int32_t)i, &low, &high) ||
            high < 0)
            continue;
        *ps->lag = (double)(high > ps->next_offset ? high - ps->next_offset : 0);
    }
    metrics_tick(c->m);
}

static void consume(struct consumer *c)
{
    while (sp_running) {
        int timeout = out_pending(c->out) ? POLL_PENDING_MS : POLL_IDLE_MS;
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, timeout);
        if (msg) {
            if (msg->err)
                handle_error(c, msg);
            else
                handle_message(c, msg);
            rd_kafka_message_destroy(msg);
        }
        int64_t now = monotonic_ms();
        if (!msg || now - c->last_flush_ms >= FLUSH_INTERVAL_MS) flush_and_store(c);
        if (now - c->last_lag_ms >= LAG_INTERVAL_MS) update_lag(c);
        if (c->opt->exit_at_eof && all_at_eof(c)) break;
    }
}

static void load_resume_offsets(struct consumer *c)
{
    char why[512];
    int rc =
        kafka_checkpoint_offsets(c->opt->resume_from, c->opt->topic, &c->resume, why, sizeof why);
    if (rc < 0) diag_fatal(EX_NOINPUT, "--resume-from %s", why);
    if (rc == 1) diag_warn("no checkpoint at %s yet: starting as -o says", c->opt->resume_from);
}

int main(int argc, char **argv)
{
    diag_init("sp-kcat-in");
    struct options opt = {0};
    parse_options(argc, argv, &opt);
    diag_install_signals();

    struct consumer c = {.opt = &opt, .line = STRBUF_INIT};
    if (opt.resume_from) load_resume_offsets(&c);
    c.m = metrics_new("sp-kcat-in", opt.metrics_file);
    c.in_total = metrics_counter(c.m, "sp_events_in_total", NULL, "Messages consumed.");
    c.out_total = metrics_counter(c.m, "sp_events_out_total", NULL, "Lines written.");
    c.raw_total = metrics_counter(c.m, "sp_kafka_raw_total", NULL,
                                  "Messages that were not a one-line JSON object (_raw).");
    c.out = out_new(STDOUT_FILENO);
    rd_kafka_conf_set_opaque(opt.conf, &c);
    if (opt.group) rd_kafka_conf_set_rebalance_cb(opt.conf, on_rebalance);

    char why[512];
    c.rk = rd_kafka_new(RD_KAFKA_CONSUMER, opt.conf, why, sizeof why);
    if (!c.rk) diag_fatal(EX_USAGE, "%s", why);
    rd_kafka_poll_set_consumer(c.rk);
    c.last_flush_ms = c.last_lag_ms = monotonic_ms();

    if (opt.group) {
        rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(topics, opt.topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(c.rk, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (err)
            diag_fatal(EX_UNAVAILABLE, "cannot subscribe to %s: %s", opt.topic,
                       rd_kafka_err2str(err));
    } else {
        assign_static(&c);
    }

    consume(&c);

    /* One shutdown path: flush, store, commit, leave the group at once. */
    flush_and_store(&c);
    update_lag(&c);
    if (out_close(c.out) < 0 && errno != EPIPE && !c.exit_code) {
        diag_warn("write error: %m");
        c.exit_code = EX_IOERR;
    }
    c.downstream_gone = true; /* the output is closed: callbacks write nothing */
    metrics_write(c.m);
    kafka_consumer_close(c.rk, CLOSE_TIMEOUT_S);
    metrics_free(c.m);
    kafka_offsets_free(&c.resume);
    sb_free(&c.line);
    free(c.parts);
    free(opt.partitions);
    if (kafka_fatal() && !c.exit_code) c.exit_code = EX_UNAVAILABLE;
    return c.exit_code;
}
