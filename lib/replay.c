/* replay: see replay.h. */
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "event_time.h"
#include "line_io.h"

/* ---- inputs ------------------------------------------------------------ */

static char stdin_name[] = "-";
static char *const stdin_only[] = {stdin_name};

struct replay_input {
    char *const *paths;
    size_t n;
    const char *time_field;
    uint64_t pass;     /* how many times the inputs were rewound */
    off_t stdin_start; /* where a seekable stdin started, to go back to */
    size_t cur;        /* the input being read */
    int fd;            /* its descriptor, while lr is set */
    line_reader *lr;   /* NULL between inputs */
    bool header_done;  /* its header was read */
    csv_splitter *splitter;
    csv_layout *layouts; /* one per input, kept for --sort */
    bool *layout_ready;
    uint64_t total; /* bytes in all inputs; 0 when unknown */
    uint64_t done;  /* bytes of the lines returned on this pass (the
                     * reader's own count runs ahead by its buffer) */
    char error[512];
};

static bool is_stdin(const char *path)
{
    return strcmp(path, "-") == 0;
}

/* How diagnostics name an input. */
static const char *display_name(const char *path)
{
    return is_stdin(path) ? "stdin" : path;
}

replay_input *replay_input_new(char *const *paths, size_t n, const char *time_field)
{
    replay_input *in = calloc(1, sizeof *in);
    if (!in) abort();
    in->paths = n ? paths : stdin_only;
    in->n = n ? n : 1;
    in->time_field = time_field;
    in->splitter = csv_splitter_new();
    in->layouts = calloc(in->n, sizeof *in->layouts);
    in->layout_ready = calloc(in->n, sizeof *in->layout_ready);
    if (!in->layouts || !in->layout_ready) abort();
    return in;
}

static void close_current(replay_input *in)
{
    if (!in->lr) return;
    line_reader_free(in->lr);
    in->lr = NULL;
    if (!is_stdin(in->paths[in->cur])) close(in->fd);
    in->cur++;
}

void replay_input_free(replay_input *in)
{
    if (!in) return;
    close_current(in);
    for (size_t i = 0; i < in->n; i++)
        if (in->layout_ready[i]) csv_layout_free(&in->layouts[i]);
    free(in->layouts);
    free(in->layout_ready);
    csv_splitter_free(in->splitter);
    free(in);
}

int replay_input_prepare(replay_input *in, const char **bad)
{
    bool known = true;
    uint64_t total = 0;
    for (size_t i = 0; i < in->n; i++) {
        const char *path = in->paths[i];
        int fd = is_stdin(path) ? STDIN_FILENO : open(path, O_RDONLY);
        if (fd < 0) {
            *bad = path;
            return -1;
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            off_t at = fd == STDIN_FILENO ? lseek(fd, 0, SEEK_CUR) : 0;
            if (at < 0) at = 0;
            if (fd == STDIN_FILENO) in->stdin_start = at;
            total += (uint64_t)st.st_size - (uint64_t)at;
        } else {
            known = false;
        }
        if (fd != STDIN_FILENO) close(fd);
    }
    in->total = known ? total : 0;
    return 0;
}

bool replay_input_rewindable(const replay_input *in)
{
    for (size_t i = 0; i < in->n; i++) {
        struct stat st;
        if (is_stdin(in->paths[i]) && (fstat(STDIN_FILENO, &st) < 0 || !S_ISREG(st.st_mode)))
            return false;
    }
    return true;
}

static int open_current(replay_input *in)
{
    const char *path = in->paths[in->cur];
    if (is_stdin(path)) {
        in->fd = STDIN_FILENO;
        if (in->pass > 0 && lseek(STDIN_FILENO, in->stdin_start, SEEK_SET) < 0) {
            snprintf(in->error, sizeof in->error, "stdin: cannot read it again: %s",
                     strerror(errno));
            return -1;
        }
    } else {
        in->fd = open(path, O_RDONLY);
        if (in->fd < 0) {
            snprintf(in->error, sizeof in->error, "%s: %s", path, strerror(errno));
            return -1;
        }
    }
    in->lr = line_reader_new(in->fd);
    in->header_done = false;
    csv_splitter_set_multiline(in->splitter, false);
    return 0;
}

/* Recognise the header of input idx; the generic layout may hold quoted
 * line breaks, the known ones never do. */
static int read_header(replay_input *in, size_t idx, const csv_record *header)
{
    if (in->layout_ready[idx]) csv_layout_free(&in->layouts[idx]);
    in->layout_ready[idx] = false;
    char label[256], why[384];
    csv_layout_label(in->paths[idx], label, sizeof label);
    if (csv_layout_init(&in->layouts[idx], header, in->time_field, label, why, sizeof why) < 0) {
        snprintf(in->error, sizeof in->error, "%s: %s", display_name(in->paths[idx]), why);
        return -1;
    }
    in->layout_ready[idx] = true;
    csv_splitter_set_multiline(in->splitter, in->layouts[idx].kind == CSV_LAYOUT_GENERIC);
    return 0;
}

enum replay_read replay_input_next(replay_input *in, csv_record *rec, const csv_layout **layout,
                                   int timeout_ms)
{
    for (;;) {
        if (in->cur >= in->n) return REPLAY_END;
        if (!in->lr && open_current(in) < 0) return REPLAY_IO_ERROR;

        size_t idx = in->cur;
        bool header = !in->header_done;
        const char *line;
        size_t len;
        enum line_status st = line_reader_next(in->lr, &line, &len, timeout_ms);
        uint64_t line_no = line_reader_line_number(in->lr);
        if (st == LINE_OK || st == LINE_TOO_LONG) in->done += len + 1;
        switch (st) {
        case LINE_OK:
            if (!csv_splitter_feed(in->splitter, line, len, line_no, rec)) continue;
            break;
        case LINE_TOO_LONG:
            csv_splitter_too_long(in->splitter, line, len, line_no, rec);
            break;
        case LINE_EOF: {
            bool open_quote = csv_splitter_finish(in->splitter, rec);
            close_current(in);
            if (!open_quote) continue;
            break;
        }
        case LINE_IDLE:
            return REPLAY_IDLE;
        case LINE_STOPPED:
            return REPLAY_STOPPED;
        case LINE_ERROR:
            snprintf(in->error, sizeof in->error, "%s: %s", display_name(in->paths[idx]),
                     strerror(errno));
            return REPLAY_IO_ERROR;
        }
        if (header) {
            if (read_header(in, idx, rec) < 0) return REPLAY_BAD_HEADER;
            in->header_done = true;
            continue;
        }
        *layout = &in->layouts[idx];
        return REPLAY_ROW;
    }
}

void replay_input_rewind(replay_input *in)
{
    if (in->lr) {
        csv_record ignored;
        csv_splitter_finish(in->splitter, &ignored);
        close_current(in);
    }
    in->cur = 0;
    in->done = 0;
    in->pass++;
}

const char *replay_input_error(const replay_input *in)
{
    return in->error;
}

void replay_input_progress(const replay_input *in, uint64_t *done, uint64_t *total)
{
    *done = in->done;
    *total = in->total;
}

/* ---- --sort -------------------------------------------------------------- */

/* A row held by --sort: this header, its raw bytes, then each field as its
 * length and bytes. */
struct packed_header {
    uint64_t line;
    size_t nfields;
    size_t raw_len;
    const char *error; /* always a string literal, so the pointer keeps */
    size_t error_column;
    bool too_long;
};

/* Append a self-contained copy of rec to arena; returns the offset where it
 * starts. */
static size_t record_pack(strbuf *arena, const csv_record *rec)
{
    size_t start = arena->len;
    struct packed_header h = {rec->line,  rec->nfields,      rec->raw_len,
                              rec->error, rec->error_column, rec->too_long};
    sb_append(arena, &h, sizeof h);
    sb_append(arena, rec->raw, rec->raw_len);
    for (size_t i = 0; i < rec->nfields; i++) {
        sb_append(arena, &rec->fields[i].len, sizeof rec->fields[i].len);
        sb_append(arena, rec->fields[i].s, rec->fields[i].len);
    }
    return start;
}

/* Rebuild the record packed at p into *rec, its fields in fields[] (which
 * must hold CSV_MAX_FIELDS). Pointers go into the arena: valid while it is
 * neither changed nor freed. */
static void record_unpack(const char *p, csv_record *rec, csv_field *fields)
{
    struct packed_header h;
    memcpy(&h, p, sizeof h);
    p += sizeof h;
    *rec = (csv_record){.raw = p,
                        .raw_len = h.raw_len,
                        .line = h.line,
                        .error = h.error,
                        .error_column = h.error_column,
                        .too_long = h.too_long,
                        .fields = fields,
                        .nfields = h.nfields};
    p += h.raw_len;
    for (size_t i = 0; i < h.nfields; i++) {
        memcpy(&fields[i].len, p, sizeof fields[i].len);
        fields[i].s = p + sizeof fields[i].len;
        p = fields[i].s + fields[i].len;
    }
}

struct sorted_row {
    int64_t ms;
    size_t off; /* where the packed row starts: also its input order */
    const csv_layout *layout;
};

struct replay_sorted {
    strbuf arena;
    struct sorted_row *rows;
    size_t n, cap;
    csv_field fields[CSV_MAX_FIELDS];
};

replay_sorted *replay_sorted_new(void)
{
    replay_sorted *rs = calloc(1, sizeof *rs);
    if (!rs) abort();
    return rs;
}

void replay_sorted_free(replay_sorted *rs)
{
    if (!rs) return;
    sb_free(&rs->arena);
    free(rs->rows);
    free(rs);
}

void replay_sorted_add(replay_sorted *rs, const csv_record *rec, const csv_layout *layout,
                       int64_t event_ms)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 1024;
        rs->rows = realloc(rs->rows, rs->cap * sizeof *rs->rows);
        if (!rs->rows) abort();
    }
    size_t off = record_pack(&rs->arena, rec);
    rs->rows[rs->n++] = (struct sorted_row){event_ms, off, layout};
}

static int by_time_then_input_order(const void *a, const void *b)
{
    const struct sorted_row *x = a, *y = b;
    if (x->ms != y->ms) return x->ms < y->ms ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

void replay_sorted_sort(replay_sorted *rs)
{
    /* qsort is not stable; the input order as the second key makes it so. */
    if (rs->n) qsort(rs->rows, rs->n, sizeof *rs->rows, by_time_then_input_order);
}

size_t replay_sorted_count(const replay_sorted *rs)
{
    return rs->n;
}

void replay_sorted_get(replay_sorted *rs, size_t i, csv_record *rec, const csv_layout **layout)
{
    record_unpack(rs->arena.data + rs->rows[i].off, rec, rs->fields);
    *layout = rs->rows[i].layout;
}

/* ---- pacing -------------------------------------------------------------- */

void replay_pacer_init(replay_pacer *p, double speed, double rate)
{
    *p = (replay_pacer){.speed = speed, .rate = rate};
}

int64_t replay_pacer_delay(replay_pacer *p, bool has_time, int64_t event_ms, int64_t now_ms)
{
    int64_t due = now_ms;
    if (p->speed > 0 && has_time) {
        if (!p->timed) {
            p->timed = true;
            p->event_origin_ms = p->event_newest_ms = event_ms;
            p->wall_origin_ms = now_ms;
        } else if (event_ms > p->event_newest_ms) {
            p->event_newest_ms = event_ms;
        }
        double gap = (double)(p->event_newest_ms - p->event_origin_ms) / p->speed;
        int64_t at = p->wall_origin_ms + (int64_t)ceil(gap);
        if (at > due) due = at;
    }
    if (p->rate > 0) {
        double at = (double)p->rate_origin_ms + (double)p->rate_rows * 1000.0 / p->rate;
        if (!p->rated || at + 1000.0 < (double)now_ms) {
            p->rated = true;
            p->rate_origin_ms = now_ms;
            p->rate_rows = 0;
            at = (double)now_ms;
        }
        p->rate_rows++;
        int64_t at_ms = (int64_t)ceil(at);
        if (at_ms > due) due = at_ms;
    }
    return due - now_ms;
}

int replay_parse_speed(const char *s, double *speed)
{
    if (strcmp(s, "max") == 0) {
        *speed = 0;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0) return -1;
    *speed = v;
    return 0;
}

/* ---- --loop -------------------------------------------------------------- */

void replay_span_add(replay_span *s, int64_t ms)
{
    if (!s->any) {
        s->any = true;
        s->min_ms = s->max_ms = ms;
    } else if (ms < s->min_ms) {
        s->min_ms = ms;
    } else if (ms > s->max_ms) {
        s->max_ms = ms;
    }
}

int64_t replay_span_period(const replay_span *s)
{
    return (s->any ? s->max_ms - s->min_ms : 0) + 1000;
}

/* ---- --skip, --limit ------------------------------------------------------- */

bool replay_count_take(replay_count *c)
{
    if (c->seen++ < c->skip) return false;
    c->sent++;
    return true;
}

bool replay_count_done(const replay_count *c)
{
    return c->sent >= c->limit;
}

/* ---- progress ------------------------------------------------------------ */

void replay_progress_format(strbuf *sb, uint64_t rows, double rows_per_s, int64_t event_ms,
                            uint64_t done, uint64_t total)
{
    sb_printf(sb, "\r%s: %llu rows, %.0f rows/s", diag_progname(), (unsigned long long)rows,
              rows_per_s);
    if (event_ms != INT64_MIN) {
        char text[EVENT_TIME_TEXT_MAX];
        event_time_format(event_ms, text);
        sb_printf(sb, ", event time %s", text);
    }
    if (total)
        sb_printf(sb, ", %llu%%", (unsigned long long)(done >= total ? 100 : done * 100 / total));
    sb_puts(sb, "\033[K");
}
