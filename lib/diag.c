/* diag: see diag.h. */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t sp_running = 1;
int diag_quiet;

static const char *progname = "sp";

void diag_init(const char *name)
{
    progname = name;
}

const char *diag_progname(void)
{
    return progname;
}

/* Format the whole message into one buffer first so that one write(2)
 * carries it: lines from several programs sharing a terminal never mix. */
static void vreport(const char *fmt, va_list ap)
{
    char msg[2048];
    int n = snprintf(msg, sizeof msg, "%s: ", progname);
    if (n < 0 || (size_t)n >= sizeof msg) return;
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", msg);
}

void diag_warn(const char *fmt, ...)
{
    if (diag_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
}

void diag_fatal(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    exit(code);
}

static void stop_running(int sig)
{
    (void)sig;
    sp_running = 0;
}

void diag_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = stop_running;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking reads must return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
