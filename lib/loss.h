/* loss: the word on stderr when a large share of a program's input went to
 * the dead-letter queue or came late. A dead-letter file nobody opens is the
 * quietest way to lose data, so the program names the count, the likely
 * cause and the fix:
 *
 *   sp-validate: 8129 of 10000 lines failed region_id's maximum: NYC taxi
 *       zones go up to 265, so NYC data needs --schema schemas/nyc_tlc.json
 *   sp-window: 9914 of 9927 events were late: is the input in event-time
 *       order? sp-replay --sort, or a larger --max-delay
 *
 * Every lost record is counted under its cause: its error type, field and
 * broken schema rule. When the records lost since the start (at the end of
 * the run) or within the last LOSS_REPORT_INTERVAL_MS (periodically, on a
 * long run) are at least LOSS_REPORT_SHARE_PCT percent of the input read in
 * that time, the biggest causes (at most LOSS_REPORT_MAX_LINES, each with
 * a tenth of the loss at least) get one line each and the rest one more,
 * through diag_warn(), so -q silences them. A small share is the normal cost of real data (the NYC
 * samples lose under 1% to refunds and zero-distance trips) and stays quiet. */
#ifndef SP_LOSS_H
#define SP_LOSS_H

#include <stdbool.h>
#include <stdint.h>

#include "dlq.h"
#include "strbuf.h"

#define LOSS_REPORT_SHARE_PCT 10
#define LOSS_REPORT_INTERVAL_MS (60 * 1000)
/* Causes named one by one; the rest are summed up in one line. */
#define LOSS_REPORT_MAX_LINES 3

typedef struct loss_report loss_report;

/* A report on input counted by *input_total (the program's own counter of
 * records read, which must outlive the report), called noun in the lines
 * ("lines", "events", "rows"). builtin_schema: the records were checked
 * against the built-in StreamPulse v1 schema, so a violation points at
 * --schema. now_ms starts the first period (monotonic clock). */
loss_report *loss_report_new(const char *noun, const uint64_t *input_total, bool builtin_schema,
                             int64_t now_ms);
void loss_report_free(loss_report *lr);

/* Count one lost record under its cause (rec's error, field and rule). */
void loss_report_count(loss_report *lr, const struct dlq_record *rec);

/* Periodically: once LOSS_REPORT_INTERVAL_MS has passed since the last
 * period began, print the lines for that period ("in the last 60s, …") if
 * its share calls for them, and begin the next. Cheap enough per record. */
void loss_report_tick(loss_report *lr, int64_t now_ms);

/* At the end of the run: print the lines for the whole run, if its share
 * calls for them. */
void loss_report_final(loss_report *lr);

/* The lines loss_report_final() prints (without "sp-NAME: "), each ending
 * in '\n', appended to out; nothing when the share is below the threshold. */
void loss_report_format(const loss_report *lr, strbuf *out);

#endif
