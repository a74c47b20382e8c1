/* cli: see cli.h. */
#include "cli.h"

#include <stdlib.h>

#include "diag.h"

bool cli_common_option(int c, const char *arg, void (*usage)(FILE *), const char **metrics_file)
{
    switch (c) {
    case 'q':
        diag_quiet = 1;
        return true;
    case 'h':
        usage(stdout);
        exit(0);
    case CLI_OPT_VERSION:
        printf("%s %s\n", diag_progname(), SP_VERSION);
        exit(0);
    case CLI_OPT_METRICS_FILE:
        *metrics_file = arg;
        return true;
    default:
        return false;
    }
}
