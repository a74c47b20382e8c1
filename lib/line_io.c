/* line_io: see line_io.h. */
#include "line_io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "diag.h"

#define READ_CHUNK (256 * 1024)
#define OUT_CAPACITY (256 * 1024)

struct line_reader {
    int fd;
    char *buf;
    size_t cap;
    size_t start;  /* first byte not yet returned */
    size_t end;    /* end of the bytes read */
    size_t scan;   /* bytes before this offset hold no '\n' of the current line */
    bool skipping; /* discarding the tail of an over-long line */
    bool eof;
    bool follow; /* at the end of the file, wait for more */
    uint64_t line_number;
    uint64_t bytes;
};

line_reader *line_reader_new(int fd)
{
    line_reader *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->fd = fd;
    r->cap = LINE_MAX_BYTES + 1 + READ_CHUNK;
    r->buf = malloc(r->cap);
    if (!r->buf) abort();
    return r;
}

void line_reader_free(line_reader *r)
{
    if (!r) return;
    free(r->buf);
    free(r);
}

uint64_t line_reader_line_number(const line_reader *r)
{
    return r->line_number;
}

uint64_t line_reader_bytes(const line_reader *r)
{
    return r->bytes;
}

uint64_t line_reader_offset(const line_reader *r)
{
    return r->bytes - (r->end - r->start);
}

void line_reader_follow(line_reader *r)
{
    r->follow = true;
}

/* Following a file at its end: pause up to 50 ms before the next read.
 * Returns LINE_OK to read again, else LINE_IDLE (deadline passed) or
 * LINE_STOPPED. */
static enum line_status wait_for_growth(int64_t deadline)
{
    if (!sp_running) return LINE_STOPPED;
    int64_t pause_ms = 50;
    if (deadline >= 0) {
        int64_t left = deadline - monotonic_ms();
        if (left <= 0) return LINE_IDLE;
        if (left < pause_ms) pause_ms = left;
    }
    sleep_ms(pause_ms);
    return LINE_OK;
}

/* Wait until fd is readable or the deadline (monotonic ms, -1 for none)
 * passes. Returns LINE_OK when readable, else LINE_IDLE, LINE_STOPPED or
 * LINE_ERROR. */
static enum line_status wait_readable(int fd, int64_t deadline)
{
    for (;;) {
        if (!sp_running) return LINE_STOPPED;
        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - monotonic_ms();
            timeout = left > 0 ? (int)left : 0;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, timeout);
        if (n > 0) return LINE_OK;
        if (n == 0) return LINE_IDLE;
        if (errno != EINTR) return LINE_ERROR;
    }
}

/* Read more bytes into the buffer, moving the unreturned ones to its front
 * first when the tail has little room. */
static enum line_status fill(line_reader *r, int64_t deadline)
{
    if (r->start > 0 && r->cap - r->end < READ_CHUNK) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->scan -= r->start;
        r->start = 0;
    }
    for (;;) {
        if (deadline >= 0) {
            enum line_status st = wait_readable(r->fd, deadline);
            if (st != LINE_OK) return st;
        }
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n > 0) {
            r->end += (size_t)n;
            r->bytes += (uint64_t)n;
            return LINE_OK;
        }
        if (n == 0 && r->follow) {
            enum line_status st = wait_for_growth(deadline);
            if (st != LINE_OK) return st;
            continue;
        }
        if (n == 0) {
            r->eof = true;
            return LINE_OK;
        }
        if (errno == EINTR) {
            if (!sp_running) return LINE_STOPPED;
            continue;
        }
        if (errno == EAGAIN) {
            enum line_status st = wait_readable(r->fd, deadline);
            if (st != LINE_OK) return st;
            continue;
        }
        return LINE_ERROR;
    }
}

enum line_status line_reader_next(line_reader *r, const char **line, size_t *len, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;
    for (;;) {
        if (r->skipping) {
            char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
            if (nl) {
                r->start = r->scan = (size_t)(nl - r->buf) + 1;
                r->skipping = false;
            } else {
                r->start = r->scan = r->end;
            }
        }
        if (!r->skipping) {
            char *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
            if (nl) {
                *line = r->buf + r->start;
                *len = (size_t)(nl - *line);
                r->start = r->scan = (size_t)(nl - r->buf) + 1;
                r->line_number++;
                /* The newline can arrive in the same read as the bytes
                 * past the limit: the line is over-long all the same. */
                if (*len > LINE_MAX_BYTES) {
                    *len = LINE_MAX_BYTES;
                    return LINE_TOO_LONG;
                }
                return LINE_OK;
            }
            r->scan = r->end;
            if (r->end - r->start > LINE_MAX_BYTES) {
                *line = r->buf + r->start;
                *len = LINE_MAX_BYTES;
                /* The bytes stay in place until the next call. */
                r->start += LINE_MAX_BYTES;
                r->scan = r->start;
                r->skipping = true;
                r->line_number++;
                return LINE_TOO_LONG;
            }
        }
        if (r->eof) {
            if (r->start < r->end && !r->skipping) {
                *line = r->buf + r->start;
                *len = r->end - r->start;
                r->start = r->scan = r->end;
                r->line_number++;
                return LINE_OK;
            }
            return LINE_EOF;
        }
        enum line_status st = fill(r, deadline);
        if (st != LINE_OK) return st;
    }
}

struct out_buf {
    int fd;
    bool is_pipe;
    char *buf;
    size_t len;
    int64_t oldest_ms; /* when the oldest buffered byte arrived */
    out_buf *earlier;  /* written out before each write of this one */
    uint64_t written;  /* bytes write() accepted, in all */
};

out_buf *out_new(int fd)
{
    out_buf *o = calloc(1, sizeof *o);
    if (!o) abort();
    o->fd = fd;
    struct stat st;
    o->is_pipe = fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
    /* A pipe that holds one full buffer takes a flush in one write: a 64 KB
     * pipe made the writer wait for its reader four times a flush, which
     * with four stages on two cores cost the local pipeline about a sixth
     * of its events/s. No larger: what the pipes hold is what a stalled
     * reader leaves upstream. A refusal leaves the pipe as it was, which
     * only costs speed. */
    if (o->is_pipe) (void)fcntl(fd, F_SETPIPE_SZ, OUT_CAPACITY);
    o->buf = malloc(OUT_CAPACITY);
    if (!o->buf) abort();
    return o;
}

/* Write all of p[0..n) to o's fd, waiting when it is non-blocking and full. */
static int write_all(out_buf *o, const char *p, size_t n)
{
    if (o->earlier && o->earlier->len > 0 && out_flush(o->earlier) < 0) return -1;
    while (n > 0) {
        ssize_t w = write(o->fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            o->written += (uint64_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = o->fd, .events = POLLOUT};
            poll(&pfd, 1, 100);
            continue;
        }
        return -1;
    }
    return 0;
}

int out_flush(out_buf *o)
{
    if (o->len == 0) {
        if (!out_reader_gone(o)) return 0;
        errno = EPIPE;
        return -1;
    }
    int rc = write_all(o, o->buf, o->len);
    o->len = 0;
    return rc;
}

int out_write(out_buf *o, const void *p, size_t n)
{
    if (o->len + n > OUT_CAPACITY && out_flush(o) < 0) return -1;
    if (n > OUT_CAPACITY) return write_all(o, p, n);
    if (o->len == 0) o->oldest_ms = monotonic_coarse_ms();
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    if (monotonic_coarse_ms() - o->oldest_ms >= OUT_MAX_DELAY_MS) return out_flush(o);
    return 0;
}

size_t out_pending(const out_buf *o)
{
    return o->len;
}

void out_order_after(out_buf *o, out_buf *earlier)
{
    o->earlier = earlier;
}

bool out_reader_gone(const out_buf *o)
{
    /* The write end of a pipe polls POLLERR once no reader is left. */
    struct pollfd pfd = {.fd = o->fd, .events = 0};
    return o->is_pipe && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR);
}

/* Bytes written but not yet read from o's pipe; 0 for anything else. */
static uint64_t unread_in_pipe(const out_buf *o)
{
    int unread = 0;
    if (!o->is_pipe || ioctl(o->fd, FIONREAD, &unread) < 0 || unread < 0) return 0;
    return (uint64_t)unread;
}

uint64_t out_delivered(const out_buf *o)
{
    return o->written - unread_in_pipe(o);
}

int out_drain(out_buf *o, int timeout_ms)
{
    if (out_flush(o) < 0) return -1;
    int64_t deadline = monotonic_ms() + timeout_ms;
    while (unread_in_pipe(o) > 0) {
        if (out_reader_gone(o)) {
            errno = EPIPE;
            return -1;
        }
        if (monotonic_ms() >= deadline) {
            errno = ETIMEDOUT;
            return -1;
        }
        sleep_ms(5);
    }
    return 0;
}

int out_close(out_buf *o)
{
    if (!o) return 0;
    int rc = out_flush(o);
    free(o->buf);
    free(o);
    return rc;
}
