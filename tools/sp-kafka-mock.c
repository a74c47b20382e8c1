/* sp-kafka-mock: librdkafka's built-in mock Kafka cluster as a program, for
 * tests and for trying the Kafka path on a machine with no broker.
 *
 * Prints the bootstrap address on stdout (one line) once the brokers listen,
 * then serves until SIGINT/SIGTERM. SIGUSR1 takes every broker down
 * (connections dropped, new ones refused), SIGUSR2 brings them back: the
 * fault tests' lever. */
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "diag.h"
#include "kafka.h"
#include "metrics.h"

#define MAX_BROKERS 16
#define MAX_TOPICS 64

struct topic_spec {
    char *name;
    int partitions;
};

struct options {
    int brokers;
    struct topic_spec topics[MAX_TOPICS];
    int n_topics;
    const char *metrics_file;
};

/* Set by SIGUSR1/SIGUSR2, acted on by the main loop (librdkafka is not
 * async-signal-safe). */
static volatile sig_atomic_t want_down, want_up;

static const struct cli_usage usage = {
    .synopsis = "usage: sp-kafka-mock [-q] [--broker-count n] [-t topic[:partitions]] ...\n"
                "                     [--metrics-file path]\n"
                "       sp-kafka-mock -h | --help | --version\n",
    .options = "Start librdkafka's mock Kafka cluster, print its bootstrap address on stdout,\n"
               "serve until SIGINT or SIGTERM. SIGUSR1 takes all brokers down, SIGUSR2 up.\n"
               "\n"
               "      --broker-count N    number of brokers (default 1, at most 16)\n"
               "  -t, --topic NAME[:P]    create topic NAME with P partitions (default 1);\n"
               "                          repeatable\n"
               "      --metrics-file PATH Prometheus textfile (sp_kafka_mock_brokers_up)\n"
               "  -q, --quiet             no diagnostics\n"
               "  -h, --help              this help\n"
               "      --version           print the version\n",
};

static void on_usr(int sig)
{
    if (sig == SIGUSR1)
        want_down = 1;
    else
        want_up = 1;
}

static void install_fault_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
}

/* "events:4" into spec; returns 0 or -1. */
static int parse_topic(char *arg, struct topic_spec *spec)
{
    char *colon = strrchr(arg, ':');
    spec->name = arg;
    spec->partitions = 1;
    if (colon) {
        char *end;
        long n = strtol(colon + 1, &end, 10);
        if (*end || colon[1] == '\0' || n < 1 || n > 100000) return -1;
        spec->partitions = (int)n;
        *colon = '\0';
    }
    return *spec->name ? 0 : -1;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    /* A count, not kcat's -b broker list: -b means brokers to connect to
     * in every program that takes it. */
    enum { OPT_BROKER_COUNT = CLI_OPT_PROGRAM };
    static const struct option longopts[] = {
        {"broker-count", required_argument, NULL, OPT_BROKER_COUNT},
        {"topic", required_argument, NULL, 't'},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    opt->brokers = 1;
    int c;
    while ((c = cli_getopt(argc, argv, "t:qh", longopts, &opt->metrics_file)) != -1) {
        switch (c) {
        case OPT_BROKER_COUNT:
            opt->brokers = (int)cli_count("--broker-count", optarg, 1, MAX_BROKERS);
            break;
        case 't':
            if (opt->n_topics == MAX_TOPICS) cli_usage_error("at most %d topics", MAX_TOPICS);
            if (parse_topic(optarg, &opt->topics[opt->n_topics]) < 0)
                cli_usage_error("-t %s: expected NAME or NAME:PARTITIONS", optarg);
            opt->n_topics++;
            break;
        }
    }
    if (optind < argc) cli_usage_error("unexpected argument '%s'", argv[optind]);
}

int main(int argc, char **argv)
{
    cli_init("sp-kafka-mock", &usage);
    struct options opt = {0};
    parse_options(argc, argv, &opt);
    diag_install_signals();
    install_fault_signals();

    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kafka_conf_new(), err, sizeof err);
    if (!rk) diag_fatal(EX_SOFTWARE, "cannot create the client the mock lives in: %s", err);
    rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, opt.brokers);
    if (!cluster) diag_fatal(EX_UNAVAILABLE, "cannot start the mock cluster");
    int replication = opt.brokers < 3 ? opt.brokers : 3;
    for (int i = 0; i < opt.n_topics; i++) {
        rd_kafka_resp_err_t rc = rd_kafka_mock_topic_create(cluster, opt.topics[i].name,
                                                            opt.topics[i].partitions, replication);
        if (rc) diag_fatal(EX_USAGE, "topic %s: %s", opt.topics[i].name, rd_kafka_err2str(rc));
    }

    metrics *m = metrics_new("sp-kafka-mock", opt.metrics_file);
    double *up = metrics_gauge(m, "sp_kafka_mock_brokers_up", NULL,
                               "Brokers of the mock cluster accepting connections.");
    *up = opt.brokers;
    metrics_write(m);

    printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    if (fflush(stdout) != 0) diag_warn("cannot write the bootstrap address");

    while (sp_running) {
        poll(NULL, 0, 200); /* a signal cuts the wait short */
        if (want_down) {
            want_down = 0;
            rd_kafka_mock_broker_set_down(cluster, -1);
            *up = 0;
            diag_warn("all brokers down (SIGUSR1)");
        }
        if (want_up) {
            want_up = 0;
            rd_kafka_mock_broker_set_up(cluster, -1);
            *up = opt.brokers;
            diag_warn("all brokers up (SIGUSR2)");
        }
        metrics_tick(m);
    }
    metrics_write(m);
    metrics_free(m);
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(rk);
    return 0;
}
