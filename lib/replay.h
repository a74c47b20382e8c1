/* replay: everything sp-replay decides besides what a CSV row means.
 *
 *   replay_input   the named CSV inputs one after another, headers read and
 *                  layouts recognised, rows out; rewinding for --loop
 *   replay_sorted  the whole input held in memory in event-time order (--sort)
 *   replay_pacer   when the next row may go out (--speed, --rate)
 *   replay_span    the event-time span of a pass, which --loop shifts by
 *   replay_count   --skip and --limit
 *   replay_progress_format  the progress line for a terminal
 *
 * Only replay_sorted holds more than one row: everything else streams in
 * constant memory. */
#ifndef SP_REPLAY_H
#define SP_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csv_layout.h"
#include "strbuf.h"

/* ---- inputs ------------------------------------------------------------ */

typedef struct replay_input replay_input;

enum replay_read {
    REPLAY_ROW,        /* a row (perhaps broken) and its layout */
    REPLAY_IDLE,       /* nothing arrived within the timeout */
    REPLAY_END,        /* every input read to its end */
    REPLAY_STOPPED,    /* sp_running was cleared */
    REPLAY_BAD_HEADER, /* a header sp-replay cannot use: replay_input_error says why */
    REPLAY_IO_ERROR    /* open or read failed: replay_input_error says why */
};

/* The inputs named by paths[0..n) ("-" is stdin; n == 0 means stdin alone),
 * read in order; time_field is --time-field or NULL. Opens nothing yet. */
replay_input *replay_input_new(char *const *paths, size_t n, const char *time_field);
void replay_input_free(replay_input *in);

/* Check that every named file can be opened, and total up the sizes for
 * progress. Returns 0, or -1 with errno set and *bad the path that failed. */
int replay_input_prepare(replay_input *in, const char **bad);

/* True when the inputs can be read again from the start: every one is a
 * file, or stdin is a seekable file. */
bool replay_input_rewindable(const replay_input *in);

/* The next row into *rec, with the layout of its input in *layout (both
 * valid until the next call; layouts live as long as in). timeout_ms < 0
 * waits as long as it takes. */
enum replay_read replay_input_next(replay_input *in, csv_record *rec, const csv_layout **layout,
                                   int timeout_ms);

/* Start again at the first row of the first input (stdin where it started).
 * An input that cannot be read again shows up as REPLAY_IO_ERROR from the
 * next replay_input_next. */
void replay_input_rewind(replay_input *in);

/* Why the last REPLAY_BAD_HEADER or REPLAY_IO_ERROR. */
const char *replay_input_error(const replay_input *in);

/* Bytes of this pass consumed so far and the total (0 when an input is a
 * pipe, whose size nobody knows). */
void replay_input_progress(const replay_input *in, uint64_t *done, uint64_t *total);

/* ---- --sort -------------------------------------------------------------- */

typedef struct replay_sorted replay_sorted;

replay_sorted *replay_sorted_new(void);
void replay_sorted_free(replay_sorted *rs);

/* Keep a copy of rec, read with layout (which must outlive rs), whose event
 * time is event_ms; rows without one (broken, or a time that does not parse)
 * pass INT64_MIN and so come first. */
void replay_sorted_add(replay_sorted *rs, const csv_record *rec, const csv_layout *layout,
                       int64_t event_ms);

/* Order the rows by event time; rows with equal times keep their input
 * order (a stable sort). */
void replay_sorted_sort(replay_sorted *rs);

size_t replay_sorted_count(const replay_sorted *rs);

/* Row i of the order into *rec and *layout, valid until the next call. */
void replay_sorted_get(replay_sorted *rs, size_t i, csv_record *rec, const csv_layout **layout);

/* ---- pacing -------------------------------------------------------------- */

/* Rows go out so that event-time gaps take gap / speed of wall time, timed
 * against the newest event time seen so far (an event older than that one,
 * in unsorted input, goes out at once: never a wait backwards), and no
 * faster than rate rows per second. */
typedef struct replay_pacer {
    double speed; /* 0: no event-time pacing (--speed max) */
    double rate;  /* 0: no cap */
    bool timed;   /* the first event time has been seen */
    int64_t event_origin_ms;
    int64_t event_newest_ms;
    int64_t wall_origin_ms; /* the wall clock the event origin maps to */
    bool rated;             /* the first row under the rate cap has gone */
    int64_t rate_origin_ms;
    uint64_t rate_rows;
} replay_pacer;

void replay_pacer_init(replay_pacer *p, double speed, double rate);

/* How long to wait, in ms from now_ms (a monotonic clock), before sending
 * the next row; has_time false for a row without an event time (it counts
 * against the rate only). The row counts as sent once this returns. A rate
 * that fell more than a second behind (a slow reader downstream) starts
 * afresh rather than bursting to catch up. */
int64_t replay_pacer_delay(replay_pacer *p, bool has_time, int64_t event_ms, int64_t now_ms);

/* Parse --speed: "max" (0) or a number above 0. Returns 0, or -1. */
int replay_parse_speed(const char *s, double *speed);

/* ---- --loop -------------------------------------------------------------- */

/* Event times seen on a pass. */
typedef struct replay_span {
    bool any;
    int64_t min_ms, max_ms;
} replay_span;

void replay_span_add(replay_span *s, int64_t ms);

/* How much later each pass runs than the one before: the span of the first
 * pass plus one second, so the first event of a pass comes one second after
 * the last of the pass before and event times keep increasing. */
int64_t replay_span_period(const replay_span *s);

/* ---- --skip, --limit ------------------------------------------------------- */

typedef struct replay_count {
    uint64_t skip;  /* rows to pass over first */
    uint64_t limit; /* rows to send in all; UINT64_MAX: no limit */
    uint64_t seen;
    uint64_t sent;
} replay_count;

/* Count one row; true when it should be sent, false while skipping. */
bool replay_count_take(replay_count *c);

/* True once limit rows were sent. */
bool replay_count_done(const replay_count *c);

/* ---- progress ------------------------------------------------------------ */

/* The progress line: "\r", rows sent, rows per second, the event-time clock
 * (when there is one, event_ms != INT64_MIN), the percent done when total is
 * known (done/total in any unit), then erase-to-end-of-line. */
void replay_progress_format(strbuf *sb, uint64_t rows, double rows_per_s, int64_t event_ms,
                            uint64_t done, uint64_t total);

#endif
