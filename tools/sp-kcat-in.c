/* sp-kcat-in: a Kafka topic to NDJSON on stdout, every object tagged with
 * the "_kafka" coordinates of its message (SPEC section 5).
 *
 * Three ways to choose partitions, as kcat: a consumer group (-G, subscribe
 * and rebalance), a fixed list (-p), or, with neither, every partition of the
 * topic. In a group, an offset is stored for commit only after the next
 * program has read its record, so a restart never skips a record the next
 * program did not get. With --state-url each partition's state moves with
 * it (kafka_source.h). */
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "diag.h"
#include "kafka.h"
#include "kafka_source.h"
#include "metrics.h"
#include "redis_store.h"

/* Partition numbers above this are refused: the consumer keeps its
 * partitions in an array. */
#define MAX_PARTITION 999999

struct options {
    struct cli_kafka kafka; /* -b, -t, -X */
    const char *group;
    int32_t *partitions; /* -p, or NULL */
    size_t n_partitions;
    int64_t offset;
    bool offset_given;
    bool exit_at_eof;
    const char *resume_from;
    struct redis_target state_store;
    bool state_store_given;
    const char *metrics_file;
};

static const struct cli_usage usage = {
    .synopsis =
        "usage: sp-kcat-in [-eq] -b brokers -t topic [-G group | -p partitions] [-o offset]\n"
        "                  [--resume-from checkpoint | --state-url url | --state-socket path]\n"
        "                  [-X property=value] ...\n"
        "                  [--metrics-file path]\n"
        "       sp-kcat-in -h | --help | --version\n",
    .options = "Consume TOPIC and write each message as one NDJSON line with\n"
               "\"_kafka\":{\"topic\",\"partition\",\"offset\"} as its first member.\n"
               "\n"
               "  -b, --brokers LIST        bootstrap brokers, host:port[,host:port...]\n"
               "  -t, --topic TOPIC         topic to consume\n"
               "  -G, --group GROUP         consume as a member of GROUP (subscribe; offsets\n"
               "                            committed after the reader took the records)\n"
               "  -p, --partitions LIST     consume only these partitions: 0,1,3 or 0-3\n"
               "  -o, --offset OFFSET       beginning (default), end, stored, N, or -N from the\n"
               "                            end; with -G only beginning or end, for partitions\n"
               "                            the group has no offset for\n"
               "  -e, --exit                exit at the end of every assigned partition\n"
               "      --resume-from PATH    start each partition at the offset saved in\n"
               "                            sp-window's checkpoint PATH (absent: as -o)\n"
               "      --state-url URL       keep each partition's state in the Redis at URL\n"
               "                            (redis://[:password@]host[:port][/db]), where\n"
               "                            sp-redis-sink stores it: a partition moves to\n"
               "                            another member or machine with its state\n"
               "      --state-socket PATH   the same over a unix socket\n"
               "  -X PROP=VALUE             any librdkafka property (overrides the defaults:\n"
               "                            fetch.wait.max.ms=10, queued.min.messages=1000000)\n"
               "      --metrics-file PATH   Prometheus textfile: sp_events_in_total,\n"
               "                            sp_events_out_total, sp_kafka_raw_total,\n"
               "                            sp_kafka_consumer_lag{topic,partition}\n"
               "  -q, --quiet               no diagnostics\n"
               "  -h, --help                this help\n"
               "      --version             print the version\n",
};

/* Settings that depend on the mode, once every flag is known. */
static void finish_options(struct options *opt)
{
    rd_kafka_conf_t *conf = opt->kafka.conf;
    cli_kafka_finish(&opt->kafka);
    for (size_t i = 0; i < opt->n_partitions; i++)
        if (opt->partitions[i] > MAX_PARTITION) cli_usage_error("-p: partition number too large");
    if (opt->group && opt->partitions) cli_usage_error("-G and -p exclude each other");
    if (opt->resume_from && opt->state_store_given)
        cli_usage_error("--resume-from and --state-url exclude each other");
    if (!opt->group && opt->offset == RD_KAFKA_OFFSET_STORED)
        cli_usage_error("-o stored needs a consumer group (-G)");
    if (opt->group) {
        if (opt->offset_given && opt->offset != RD_KAFKA_OFFSET_BEGINNING &&
            opt->offset != RD_KAFKA_OFFSET_END && opt->offset != RD_KAFKA_OFFSET_STORED)
            cli_usage_error("-o with -G takes beginning, end or stored");
        kafka_conf_set_or_exit(conf, "group.id", opt->group);
        kafka_conf_set_or_exit(conf, "auto.offset.reset",
                               opt->offset == RD_KAFKA_OFFSET_END ? "latest" : "earliest");
    } else {
        /* librdkafka's assign() wants a group id even when no group is
         * joined; nothing is committed under it. */
        char current[256];
        size_t len = sizeof current;
        if (rd_kafka_conf_get(conf, "group.id", current, &len) != RD_KAFKA_CONF_OK || len <= 1)
            kafka_conf_set_or_exit(conf, "group.id", "sp-kcat-in");
        kafka_conf_set_or_exit(conf, "enable.auto.commit", "false");
    }
    if (opt->exit_at_eof) kafka_conf_set_or_exit(conf, "enable.partition.eof", "true");
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    enum { OPT_RESUME = CLI_OPT_PROGRAM, OPT_STATE_URL, OPT_STATE_SOCKET };
    static const struct option longopts[] = {
        CLI_KAFKA_OPTIONS,
        {"group", required_argument, NULL, 'G'},
        {"partitions", required_argument, NULL, 'p'},
        {"offset", required_argument, NULL, 'o'},
        {"exit", no_argument, NULL, 'e'},
        {"resume-from", required_argument, NULL, OPT_RESUME},
        {"state-url", required_argument, NULL, OPT_STATE_URL},
        {"state-socket", required_argument, NULL, OPT_STATE_SOCKET},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    opt->offset = RD_KAFKA_OFFSET_BEGINNING;
    cli_kafka_init(&opt->kafka);
    redis_target_default(&opt->state_store);
    rd_kafka_conf_t *conf = opt->kafka.conf;
    /* Offsets are stored by hand once their records are downstream; the
     * auto-committer only sends what was stored. */
    kafka_conf_set_or_exit(conf, "enable.auto.offset.store", "false");
    kafka_conf_set_or_exit(conf, "enable.auto.commit", "true");
    /* A fetch that finds nothing new is answered within 10 ms: a broker
     * answers at once when data arrives, but sp-kafka-mock only at the end
     * of the wait (bench/latency.py: p99 27 ms through Kafka at 10 ms, 105
     * ms at 100 ms). A deep prefetch queue keeps the writer busy under
     * load: librdkafka 2.0 stops fetching for up to a second once its queue
     * is full, so a small one costs most of the throughput (bench/README). */
    kafka_conf_set_or_exit(conf, "fetch.wait.max.ms", "10");
    kafka_conf_set_or_exit(conf, "queued.min.messages", "1000000");
    int c;
    while ((c = cli_getopt(argc, argv, "b:t:G:p:o:eX:qh", longopts, &opt->metrics_file)) != -1) {
        switch (c) {
        case 'b':
        case 't':
        case 'X':
            cli_kafka_option(&opt->kafka, c, optarg);
            break;
        case 'G':
            opt->group = optarg;
            break;
        case 'p':
            if (kafka_partitions_parse(optarg, &opt->partitions, &opt->n_partitions) < 0)
                cli_usage_error("-p %s: expected partitions like 0,1,3 or 0-3", optarg);
            break;
        case 'o':
            if (kafka_offset_parse(optarg, &opt->offset) < 0)
                cli_usage_error("-o %s: expected beginning, end, stored, N or -N", optarg);
            opt->offset_given = true;
            break;
        case 'e':
            opt->exit_at_eof = true;
            break;
        case OPT_RESUME:
            opt->resume_from = optarg;
            break;
        case OPT_STATE_URL: {
            char why[256];
            if (redis_target_parse_url(optarg, &opt->state_store, why, sizeof why) != 0)
                cli_usage_error("--state-url %s", why);
            opt->state_store_given = true;
            break;
        }
        case OPT_STATE_SOCKET:
            if (redis_target_set_socket(&opt->state_store, optarg) != 0)
                cli_usage_error("--state-socket %s: not a unix socket path", optarg);
            opt->state_store_given = true;
            break;
        }
    }
    if (optind < argc) cli_usage_error("unexpected argument '%s'", argv[optind]);
    finish_options(opt);
}

static void load_resume_offsets(const struct options *opt, partition_offsets *resume)
{
    char why[512];
    int rc = checkpoint_read_offsets(opt->resume_from, opt->kafka.topic, resume, why, sizeof why);
    if (rc < 0) diag_fatal(EX_NOINPUT, "--resume-from %s", why);
    if (rc == 1) diag_warn("no checkpoint at %s yet: starting as -o says", opt->resume_from);
}

int main(int argc, char **argv)
{
    cli_init("sp-kcat-in", &usage);
    struct options opt = {0};
    parse_options(argc, argv, &opt);
    diag_install_signals();

    partition_offsets resume = {0};
    if (opt.resume_from) load_resume_offsets(&opt, &resume);
    struct kafka_source_options source_opt = {
        .topic = opt.kafka.topic,
        .group = opt.group,
        .partitions = opt.partitions,
        .n_partitions = opt.n_partitions,
        .offset = opt.offset,
        .exit_at_eof = opt.exit_at_eof,
        .resume = &resume,
        .state_store = opt.state_store_given ? &opt.state_store : NULL,
    };
    metrics *m = metrics_new("sp-kcat-in", opt.metrics_file);
    char why[512];
    kafka_source *source =
        kafka_source_new(opt.kafka.conf, &source_opt, out_new(STDOUT_FILENO), m, why, sizeof why);
    if (!source) diag_fatal(EX_USAGE, "%s", why);
    int code = kafka_source_start(source);
    if (code == 0) kafka_source_run(source);
    int finish_code = kafka_source_finish(source);
    metrics_free(m);
    partition_offsets_free(&resume);
    free(opt.partitions);
    return code ? code : finish_code;
}
