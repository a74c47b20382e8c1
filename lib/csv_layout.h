/* csv_layout: CSV records (csv_split.h) in, trip events out.
 *
 * A layout knows what the columns mean: it recognises the StreamPulse v1
 * header and both NYC TLC yellow-taxi headers by column name, and converts
 * any other CSV column by column around a named event-time column. Mapping a
 * record appends one trip event (SPEC section 3) as a JSON line, or says why
 * the row cannot be one.
 *
 * Numbers keep their CSV text when it is a valid JSON number ("23.0" stays
 * 23.0); ranges are not checked here (that is sp-validate's job). */
#ifndef SP_CSV_LAYOUT_H
#define SP_CSV_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csv_split.h"
#include "dlq.h"
#include "strbuf.h"

enum csv_layout_kind {
    CSV_LAYOUT_V1,     /* trip_id,region_id,event_time,fare,duration,distance */
    CSV_LAYOUT_NYC,    /* NYC TLC yellow taxi, either header */
    CSV_LAYOUT_GENERIC /* column by column, --time-field names the time */
};

typedef struct csv_layout {
    enum csv_layout_kind kind;
    size_t ncols;
    size_t col[6];         /* by kind: see csv_layout.c */
    const char *names[6];  /* the header names of col[] */
    size_t time_col;       /* the event-time column */
    char *time_name;       /* generic: a copy of the --time-field name */
    bool *omit;            /* ncols flags: not a member of its own (one of the
                            * v1 col[], or a name repeating an earlier one) */
    strbuf keys;           /* every column name as a JSON member key "name": */
    size_t *key_off;       /* ncols + 1 offsets into keys */
    strbuf colnames;       /* every column name as a C string, back to back */
    size_t *colname_off;   /* ncols offsets into colnames */
    strbuf trip_id_prefix; /* NYC: the JSON string "<label>: without its closing quote */
} csv_layout;

/* Recognise header (the first record of an input). time_field is NULL or
 * the --time-field column, which forces the column-by-column conversion;
 * label names the input in NYC trip ids ("yellow_tripdata_sample_2019-01",
 * "stdin"). Returns 0, or -1 with a message for the user in err (a broken
 * header, an unrecognised one without time_field, a time_field the header
 * lacks). A UTF-8 byte order mark before the first name is ignored. */
int csv_layout_init(csv_layout *l, const csv_record *header, const char *time_field,
                    const char *label, char *err, size_t errlen);
void csv_layout_free(csv_layout *l);

/* "StreamPulse v1", "NYC TLC" or "generic". */
const char *csv_layout_name(const csv_layout *l);

/* The label csv_layout_init wants for path: its basename without a final
 * ".csv", or "stdin" for "-". */
void csv_layout_label(const char *path, char *out, size_t outlen);

/* Why a row is not an event: the DLQ error, the field (NULL when none) and
 * a reason naming the value and the rule. */
struct csv_row_error {
    enum dlq_error type;
    const char *field;
    char reason[256];
};

/* Which replay of the input a row belongs to. Pass 0 writes rows as they
 * are; pass k > 0 (--loop) moves event times shift_ms later and gives trip
 * ids a "#k" suffix so they stay increasing and unique. */
struct csv_pass {
    uint64_t number;
    int64_t shift_ms;
};

/* The event time of rec (unshifted) into *ms. Returns 0, or -1 with *err
 * filled: a broken record (the field is the column where it broke), a wrong
 * field count (the field is the first missing column, none when there are
 * too many), bytes that are not UTF-8, a time that is empty or does not
 * parse. */
int csv_layout_event_time(const csv_layout *l, const csv_record *rec, int64_t *ms,
                          struct csv_row_error *err);

/* Append the trip event of rec as one JSON line (with '\n') to out and set
 * *ms to its (shifted) event time. Returns 0, or -1 with *err filled (the
 * errors of csv_layout_event_time, plus an NYC dropoff time that does not
 * parse) and out unchanged. */
int csv_layout_map(const csv_layout *l, const csv_record *rec, const struct csv_pass *pass,
                   strbuf *out, int64_t *ms, struct csv_row_error *err);

#endif
