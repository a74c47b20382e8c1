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
