/* diag: diagnostics on stderr as "sp-NAME: message", the -q switch, and the
 * run flag that SIGINT/SIGTERM clear.
 *
 * Exit codes are the sysexits ones (include <sysexits.h>): EX_USAGE 64,
 * EX_NOINPUT 66, EX_UNAVAILABLE 69, EX_IOERR 74. Bad data never exits. */
#ifndef SP_DIAG_H
#define SP_DIAG_H

#include <signal.h>
#include <stdnoreturn.h>

#define SP_VERSION "0.1.0"

/* Non-zero while the program should keep going; signal handlers clear it. */
extern volatile sig_atomic_t sp_running;

/* Set by -q: diag_warn() then prints nothing. Fatal messages always print. */
extern int diag_quiet;

/* Remember the program name used in every message ("sp-validate"). */
void diag_init(const char *progname);

/* The name given to diag_init(). */
const char *diag_progname(void);

/* Print "sp-NAME: <formatted message>\n" on stderr unless -q was given. */
void diag_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "sp-NAME: <formatted message>\n" on stderr and exit with code. */
noreturn void diag_fatal(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Install SIGINT/SIGTERM handlers that clear sp_running (without SA_RESTART,
 * so a blocking read returns EINTR and the main loop sees the flag), and
 * ignore SIGPIPE so a closed downstream pipe shows up as EPIPE on write. */
void diag_install_signals(void);

#endif
