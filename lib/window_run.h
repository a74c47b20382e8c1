/* window_run: one run of sp-window around the decisions of window.h: the
 * input lines in, results on stdout, late events and dead letters to their
 * outputs, the clocks (provisional results, idle timeouts, checkpoints,
 * flushing, metrics), and the checkpoint restored at start and saved during
 * and at the end of the run.
 *
 * Order of events at the end of input (an end of input may be an upstream
 * stage that died, so it is no proof that the stream ended): checkpoint with
 * every window still open, then close them all and write their results.
 *
 * The --late and --dlq files are exact across crashes: each checkpoint
 * records their size after flushing them, and a restore cuts them back to
 * it, since the restarted run writes the records after that point again.
 *
 * With barriers, each checkpoint is saved to the pending path and completed
 * by the sink after a barrier line in the results (checkpoint.h).
 *
 * Errors of the start (an output that cannot be created, a checkpoint that
 * cannot be used) end the program through diag_fatal(). */
#ifndef SP_WINDOW_RUN_H
#define SP_WINDOW_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "aggregate.h"
#include "window.h"

/* What the command line decides. */
struct window_run_options {
    const char *key_field, *time_field;
    const char *late_path, *dlq_path, *checkpoint_path, *metrics_path; /* NULL: not given */
    int64_t emit_every_ms;          /* 0: no provisional results */
    int64_t checkpoint_interval_ms; /* between periodic checkpoints */
    bool barriers;                  /* checkpoints completed by the sink (checkpoint.h) */
    struct agg_spec spec;
    struct window_config cfg; /* cfg.spec points at spec */
};

typedef struct window_run window_run;

/* Open the outputs (results on stdout; late events and dead letters appended
 * to late_path and dlq_path, stderr without them), the metrics, and restore
 * from checkpoint_path when it exists, cutting the late and dead-letter files
 * back to the sizes it recorded (a warning when one is shorter). opt must outlive the run. Exits
 * with EX_CANTCREAT (an output), EX_USAGE (field names) or EX_DATAERR (an unusable checkpoint, or
 * one made with other options). */
window_run *window_run_start(const struct window_run_options *opt);

/* Read the inputs in order: n paths, "-" for stdin, stdin when n is 0.
 * Returns true when every input was read to its end, false when the run was
 * stopped first (SIGINT/SIGTERM, a read or write error, the downstream pipe
 * closed, an input that cannot be opened). */
bool window_run_read(window_run *run, int n, char **paths);

/* End the run: save the checkpoint (windows still open), then, when
 * finished is true and the downstream is still there, close every window
 * and write the results; flush, write the metrics, free the run. Returns the
 * exit code: EX_IOERR after a read or write error (a closed downstream pipe
 * is no error), else 0. */
int window_run_finish(window_run *run, bool finished);

#endif
