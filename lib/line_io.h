/* line_io: reading newline-delimited input of bounded line length, and
 * buffered output that is flushed by size and by age.
 *
 * Reading: a line is returned as a pointer into the reader's buffer, without
 * its '\n', valid until the next call: no copy on the hot path. A line longer
 * than LINE_MAX_BYTES is returned once as LINE_TOO_LONG with its first
 * LINE_MAX_BYTES bytes; the rest of it is skipped. The final line needs no
 * '\n'. Line numbers count every line returned, from 1.
 *
 * Writing: out_write() copies into a 256 KiB buffer and writes it out when it
 * is full or when its oldest byte has waited OUT_MAX_DELAY_MS; callers also
 * call out_flush() whenever their input is idle, so a record never waits in
 * a buffer while nothing else is coming. */
#ifndef SP_LINE_IO_H
#define SP_LINE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINE_MAX_BYTES (1024 * 1024)
#define OUT_MAX_DELAY_MS 100

enum line_status {
    LINE_OK,       /* a complete line */
    LINE_TOO_LONG, /* the first LINE_MAX_BYTES bytes of an over-long line */
    LINE_IDLE,     /* no complete line arrived within the timeout */
    LINE_EOF,      /* end of input, every line returned */
    LINE_ERROR,    /* read error; errno says which */
    LINE_STOPPED   /* sp_running was cleared while waiting */
};

typedef struct line_reader line_reader;

/* A reader over fd (not closed by line_reader_free). */
line_reader *line_reader_new(int fd);
void line_reader_free(line_reader *r);

/* Next line into *line and *len. timeout_ms < 0 waits for as long as it takes;
 * otherwise LINE_IDLE comes back when no complete line arrived in time. */
enum line_status line_reader_next(line_reader *r, const char **line, size_t *len, int timeout_ms);

/* Number of the line last returned (1-based). */
uint64_t line_reader_line_number(const line_reader *r);

/* Total bytes consumed from fd so far (for progress reports). */
uint64_t line_reader_bytes(const line_reader *r);

/* Bytes of input up to the end of the line last returned as LINE_OK, its
 * newline included: where reading would resume after it. */
uint64_t line_reader_offset(const line_reader *r);

/* Follow a file as it grows (tail -f): at its end, look again every 50 ms
 * instead of ending; LINE_IDLE when the timeout passes, never LINE_EOF. A
 * last line without its '\n' is not returned until the '\n' is there. */
void line_reader_follow(line_reader *r);

typedef struct out_buf out_buf;

/* Buffered output to fd (not closed by out_free). When fd is a pipe, it is
 * asked to hold one full buffer (256 KB, F_SETPIPE_SZ) where the system
 * allows. */
out_buf *out_new(int fd);

/* Flush what is left, then free. Returns 0, or -1 with errno on write error. */
int out_close(out_buf *o);

/* Append n bytes; may write. Returns 0, or -1 with errno (EPIPE when the
 * reader went away: end quietly). */
int out_write(out_buf *o, const void *p, size_t n);

/* Write everything buffered. Returns 0, or -1 with errno. With nothing
 * buffered it still fails with EPIPE when o is a pipe whose reader has gone,
 * so a program whose input is idle notices, on its idle flush, that the
 * next program died, and ends (letting a supervisor restart the pipeline). */
int out_flush(out_buf *o);

/* Bytes waiting in the buffer. */
size_t out_pending(const out_buf *o);

/* From now on, whenever o writes, it first writes what earlier holds: the
 * dead letters of a filter reach their file before the records read after
 * them reach the next program, which may checkpoint past them. A write
 * error of earlier is returned as o's. */
void out_order_after(out_buf *o, out_buf *earlier);

/* Bytes the reader has taken so far: everything written to fd, less what
 * still waits unread in the pipe when fd is a pipe or FIFO. A write into a
 * pipe succeeds long before anyone reads it, so this, not a successful
 * write, says a record is downstream. */
uint64_t out_delivered(const out_buf *o);

/* Whether o writes to a pipe that no one reads any more (a write would fail
 * with EPIPE). Always false for anything but a pipe. */
bool out_reader_gone(const out_buf *o);

/* Flush, then wait up to timeout_ms for the pipe's reader to take
 * everything (or to go away). Returns 0 when all is delivered, -1 when not
 * (errno EPIPE when the reader went away, ETIMEDOUT when it was too slow). */
int out_drain(out_buf *o, int timeout_ms);

#endif
