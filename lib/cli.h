/* cli: the options every program takes alike (SPEC section 2): -q/--quiet,
 * -h/--help, --version and --metrics-file PATH.
 *
 * A program lists CLI_COMMON_OPTIONS in its getopt_long table and hands each
 * option its own switch does not know to cli_common_option() first. */
#ifndef SP_CLI_H
#define SP_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

/* Far above the values programs give their own long options (256 up). */
enum { CLI_OPT_VERSION = 0x1000, CLI_OPT_METRICS_FILE };

#define CLI_COMMON_OPTIONS                                                                         \
    {"metrics-file", required_argument, NULL, CLI_OPT_METRICS_FILE},                               \
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},                       \
    {                                                                                              \
        "version", no_argument, NULL, CLI_OPT_VERSION                                              \
    }

/* Act on c when it is a common option: -q quiets diag_warn(), -h prints
 * usage on stdout and exits 0, --version prints "sp-NAME VERSION" (the name
 * given to diag_init) and exits 0, --metrics-file stores arg in
 * *metrics_file. Returns true when c was one of them, false otherwise. */
bool cli_common_option(int c, const char *arg, void (*usage)(FILE *), const char **metrics_file);

#endif
