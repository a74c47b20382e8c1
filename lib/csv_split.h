/* csv_split: physical lines in, CSV records out, around libcsv.
 *
 * The splitter is fed lines and hands back records: their fields, their raw
 * bytes and the line they started on, or records marked broken when the
 * bytes are not CSV. What the columns mean is csv_layout's business. */
#ifndef SP_CSV_SPLIT_H
#define SP_CSV_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A record with more fields than this is broken: it bounds the memory one
 * row can take whatever the input. */
#define CSV_MAX_FIELDS 1024

typedef struct csv_field {
    const char *s; /* not NUL-terminated */
    size_t len;
} csv_field;

/* One CSV record. Every pointer stays valid until the next call on whatever
 * produced it. */
typedef struct csv_record {
    const csv_field *fields;
    size_t nfields;
    const char *raw; /* the record's physical line(s), without the last line break */
    size_t raw_len;
    uint64_t line;       /* physical line number of its first line, from 1 */
    const char *error;   /* NULL, or why the bytes are not a CSV record */
    size_t error_column; /* with error: the column (from 0) where the bytes
                          * broke, or SIZE_MAX when no one column did */
    bool too_long;       /* longer than LINE_MAX_BYTES: raw holds only its start */
} csv_record;

typedef struct csv_splitter csv_splitter;

/* A splitter, in single-line mode (see csv_splitter_set_multiline). */
csv_splitter *csv_splitter_new(void);
void csv_splitter_free(csv_splitter *s);

/* In multi-line mode a quoted field may hold line breaks, so a record can
 * span lines (up to LINE_MAX_BYTES in all). In single-line mode, the one the
 * StreamPulse and NYC layouts use since none of their fields is free text,
 * a quote left open at the end of a line is broken quoting: that line alone
 * is a broken record, and the next line starts afresh. */
void csv_splitter_set_multiline(csv_splitter *s, bool multiline);

/* Feed one physical line (without its '\n'; a trailing '\r' is dropped)
 * numbered line_no. Returns true and fills *rec when a record is complete,
 * broken ones included; false when the line was blank or the record goes on
 * to the next line. Broken records: a quote inside an unquoted field or text
 * after a closing quote, a quote left open (single-line mode), a bare '\r'
 * inside a line, more than CSV_MAX_FIELDS fields, a record over
 * LINE_MAX_BYTES (marked too_long). */
bool csv_splitter_feed(csv_splitter *s, const char *line, size_t len, uint64_t line_no,
                       csv_record *rec);

/* A line longer than LINE_MAX_BYTES arrived (its first bytes in line): drop
 * any record in progress and fill *rec with a too_long broken record. */
void csv_splitter_too_long(csv_splitter *s, const char *line, size_t len, uint64_t line_no,
                           csv_record *rec);

/* End of input. Returns true and fills *rec with a broken record when a
 * quoted field was still open; false when nothing was pending. The splitter
 * is then ready for a new input. */
bool csv_splitter_finish(csv_splitter *s, csv_record *rec);

#endif
