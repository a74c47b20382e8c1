/* cli: see cli.h. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "diag.h"
#include "event_time.h"
#include "kafka.h"
#include "window_result.h"

static const struct cli_usage *program_usage;

void cli_init(const char *progname, const struct cli_usage *usage)
{
    diag_init(progname);
    program_usage = usage;
}

noreturn void cli_usage_error(const char *fmt, ...)
{
    fprintf(stderr, "%s: ", diag_progname());
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", program_usage->synopsis);
    exit(EX_USAGE);
}

/* The option getopt_long just refused, as the user wrote it: "--bogus" (up
 * to any '='), or "-x". */
static void refused_option(char *const argv[], char *out, size_t outlen)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    if (strncmp(arg, "--", 2) == 0)
        snprintf(out, outlen, "%.*s", (int)strcspn(arg, "="), arg);
    else
        snprintf(out, outlen, "-%c", optopt);
}

int cli_getopt(int argc, char *const argv[], const char *shortopts, const struct option *longopts,
               const char **metrics_file)
{
    /* A leading ':' tells a missing value ':' from an unknown option '?',
     * and keeps getopt's own messages (which name argv[0], a path) quiet. */
    char quiet_shortopts[64];
    snprintf(quiet_shortopts, sizeof quiet_shortopts, ":%s", shortopts);
    for (;;) {
        int c = getopt_long(argc, argv, quiet_shortopts, longopts, NULL);
        char name[64];
        switch (c) {
        case 'q':
            diag_quiet = 1;
            break;
        case 'h':
            printf("%s\n%s", program_usage->synopsis, program_usage->options);
            exit(EX_OK);
        case CLI_OPT_VERSION:
            printf("%s %s\n", diag_progname(), SP_VERSION);
            exit(EX_OK);
        case CLI_OPT_METRICS_FILE:
            *metrics_file = optarg;
            break;
        case ':':
            refused_option(argv, name, sizeof name);
            cli_usage_error("option %s needs a value", name);
        case '?':
            refused_option(argv, name, sizeof name);
            /* getopt_long also says '?' for "--flag=value" of a flag */
            if (optopt != 0 && strncmp(name, "--", 2) == 0)
                cli_usage_error("option %s takes no value", name);
            cli_usage_error("unknown option %s", name);
        default:
            return c;
        }
    }
}

int64_t cli_duration_ms(const char *option, const char *value)
{
    int64_t ms;
    if (duration_parse(value, &ms) != 0)
        cli_usage_error("%s %s: not a duration (like 100ms, 30s, 5m, 1h)", option, value);
    return ms;
}

uint64_t cli_count(const char *option, const char *value, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    bool count = value[0] >= '0' && value[0] <= '9' && *end == '\0' && errno == 0;
    if (count && v >= min && v <= max) return v;
    if (max == UINT64_MAX)
        cli_usage_error("%s %s: not a whole number of at least %llu", option, value,
                        (unsigned long long)min);
    cli_usage_error("%s %s: not a whole number from %llu to %llu", option, value,
                    (unsigned long long)min, (unsigned long long)max);
}

void cli_redis_init(struct cli_redis *r)
{
    redis_target_default(&r->target);
    r->n_ranks = 0;
}

/* A rank metric names a result member: letters, digits and _, as sp-window
 * writes them (camelCase), short enough to be one. */
static bool is_metric_name(const char *s)
{
    static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
    size_t n = strlen(s);
    return n > 0 && n < WINDOW_RESULT_NAME_MAX && strspn(s, allowed) == n;
}

void cli_redis_option(struct cli_redis *r, int c, const char *value)
{
    char err[256];
    switch (c) {
    case 'u':
        if (redis_target_parse_url(value, &r->target, err, sizeof err) != 0)
            cli_usage_error("--url %s", err);
        return;
    case 's':
        if (redis_target_set_socket(&r->target, value) != 0)
            cli_usage_error("--socket %s: not a unix socket path", value);
        return;
    case 'r':
        if (!is_metric_name(value))
            cli_usage_error("--rank '%s': not a metric name (letters, digits, _)", value);
        if (r->n_ranks == CLI_MAX_RANKS)
            cli_usage_error("at most %d --rank metrics", CLI_MAX_RANKS);
        r->ranks[r->n_ranks++] = value;
        return;
    }
}

void cli_redis_finish(struct cli_redis *r)
{
    if (r->n_ranks > 0) return;
    r->ranks[r->n_ranks++] = "tripCount";
    r->ranks[r->n_ranks++] = "avgFare";
}

void cli_kafka_init(struct cli_kafka *k)
{
    k->conf = kafka_conf_new();
    k->topic = NULL;
}

void cli_kafka_option(struct cli_kafka *k, int c, const char *value)
{
    char why[512];
    switch (c) {
    case 'b':
        if (kafka_conf_set(k->conf, "bootstrap.servers", value, why, sizeof why) < 0)
            cli_usage_error("-b %s", why);
        return;
    case 't':
        k->topic = value;
        return;
    case 'X':
        if (kafka_conf_set_pair(k->conf, value, why, sizeof why) < 0) cli_usage_error("-X %s", why);
        return;
    }
}

void cli_kafka_finish(const struct cli_kafka *k)
{
    /* An unset property is "unknown" to rd_kafka_conf_get; an empty one has
     * a length of 1, its NUL. */
    size_t len = 0;
    if (rd_kafka_conf_get(k->conf, "bootstrap.servers", NULL, &len) != RD_KAFKA_CONF_OK || len <= 1)
        cli_usage_error("-b BROKERS is required");
    if (k->topic == NULL) cli_usage_error("-t TOPIC is required");
}
