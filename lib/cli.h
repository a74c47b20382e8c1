/* cli: the front end every program shares (SPEC section 2).
 *
 * One way to read a command line: a program describes its usage once
 * (struct cli_usage: the synopsis, as its man page's SYNOPSIS, and the option
 * list), calls cli_init(), lists CLI_COMMON_OPTIONS in its getopt_long
 * table and takes its options from cli_getopt(), which handles -q, -h,
 * --version and --metrics-file itself.
 *
 * One way to refuse: bad usage of any kind (an unknown option, a missing or
 * bad value, a missing required option) prints "sp-NAME: what is wrong" and
 * then the synopsis on stderr, and exits 64.
 *
 * One parser per kind of option value that several programs take:
 * durations, counts, the Redis target with its rank list (sp-redis-sink,
 * sp-serve; in cli_redis.c), and the Kafka client (sp-kcat-in, sp-kcat-out;
 * in cli_kafka.c, so that only they link librdkafka). */
#ifndef SP_CLI_H
#define SP_CLI_H

#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdnoreturn.h>

#include "redis_store.h"

/* How a program introduces itself on -h and on bad usage. */
struct cli_usage {
    /* "usage: sp-NAME [-q] ...\n       sp-NAME -h | --help | --version\n":
     * the man page's SYNOPSIS, word for word */
    const char *synopsis;
    /* what -h prints after the synopsis: one line on the program, then its
     * options, each with what it does */
    const char *options;
};

/* Programs number their own long-only options from CLI_OPT_PROGRAM up; the
 * shared ones sit far above. */
enum { CLI_OPT_PROGRAM = 256, CLI_OPT_VERSION = 0x1000, CLI_OPT_METRICS_FILE };

#define CLI_COMMON_OPTIONS                                                                         \
    {"metrics-file", required_argument, NULL, CLI_OPT_METRICS_FILE},                               \
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},                       \
    {                                                                                              \
        "version", no_argument, NULL, CLI_OPT_VERSION                                              \
    }

/* Name the program (diag_init) and remember its usage for the calls below. */
void cli_init(const char *progname, const struct cli_usage *usage);

/* getopt_long over argv with shortopts (which must not start with ':') and
 * longopts. Returns the next option that is the program's own, with its
 * value in optarg, or -1 at the first operand (optind names it). Handles the
 * common options: -q quiets diag_warn(), -h prints the synopsis and the
 * options on stdout and exits 0, --version prints "sp-NAME VERSION" and
 * exits 0, --metrics-file stores its value in *metrics_file. An unknown
 * option, or one without its value, is bad usage. */
int cli_getopt(int argc, char *const argv[], const char *shortopts, const struct option *longopts,
               const char **metrics_file);

/* Bad usage: "sp-NAME: <formatted message>" and the synopsis on stderr,
 * then exit 64. */
noreturn void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The value of a duration option ("100ms", "30s", "5m", "1h", "1d"; a bare
 * number is seconds) in milliseconds, or bad usage. option names it in the
 * message ("--size"). */
int64_t cli_duration_ms(const char *option, const char *value);

/* The value of a count option, decimal digits only, from min to max, or bad
 * usage. */
uint64_t cli_count(const char *option, const char *value, uint64_t min, uint64_t max);

/* ---- the Redis target: -u/--url, -s/--socket, -r/--rank ---- */

#define CLI_MAX_RANKS 16

#define CLI_REDIS_OPTIONS                                                                          \
    {"url", required_argument, NULL, 'u'}, {"socket", required_argument, NULL, 's'},               \
    {                                                                                              \
        "rank", required_argument, NULL, 'r'                                                       \
    }

struct cli_redis {
    struct redis_target target;
    const char *ranks[CLI_MAX_RANKS]; /* metric names, letters, digits and _ */
    size_t n_ranks;
};

/* The defaults: redis://127.0.0.1:6379/0, no rank given yet. */
void cli_redis_init(struct cli_redis *r);

/* Take option c ('u', 's' or 'r') with its value; a bad URL, socket path or
 * metric name, or one rank too many, is bad usage. */
void cli_redis_option(struct cli_redis *r, int c, const char *value);

/* After the last option: without any --rank, tripCount and avgFare. */
void cli_redis_finish(struct cli_redis *r);

/* ---- the Kafka client: -b/--brokers, -t/--topic, -X ---- */

#define CLI_KAFKA_OPTIONS                                                                          \
    {"brokers", required_argument, NULL, 'b'},                                                     \
    {                                                                                              \
        "topic", required_argument, NULL, 't'                                                      \
    }

struct cli_kafka {
    rd_kafka_conf_t *conf; /* kafka_conf_new(), with -b and every -X applied */
    const char *topic;
};

/* A fresh configuration (kafka_conf_new) and no topic yet. */
void cli_kafka_init(struct cli_kafka *k);

/* Take option c ('b', 't' or 'X') with its value; a property librdkafka
 * refuses is bad usage. */
void cli_kafka_option(struct cli_kafka *k, int c, const char *value);

/* After the last option: brokers (-b, or -X bootstrap.servers) and -t are
 * required; without them, bad usage. */
void cli_kafka_finish(const struct cli_kafka *k);

#endif
