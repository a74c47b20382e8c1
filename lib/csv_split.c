/* csv_split: see csv_split.h. */
#include "csv_split.h"

#include <csv.h>
#include <stdlib.h>

#include "line_io.h"
#include "strbuf.h"

/* libcsv grows its field buffer by this much at a time; the default (128)
 * makes a long field cost thousands of reallocs. */
#define CSV_BLOCK_SIZE (16 * 1024)

struct csv_splitter {
    struct csv_parser parser;
    bool multiline;
    bool pending;   /* a record started on an earlier line and goes on */
    bool row_ended; /* libcsv ended a row while the current line was fed */
    bool bare_cr;   /* ... and it ended it at a '\r' inside the line */
    uint64_t first_line;
    size_t nfields; /* fields seen, even past CSV_MAX_FIELDS */
    size_t field_end[CSV_MAX_FIELDS];
    csv_field fields[CSV_MAX_FIELDS];
    strbuf values; /* the field bytes of the current record, back to back */
    strbuf raw;    /* the lines of a record spanning several */
};

static void on_field(void *s, size_t len, void *data)
{
    csv_splitter *sp = data;
    if (sp->nfields < CSV_MAX_FIELDS) {
        sb_append(&sp->values, s, len);
        sp->field_end[sp->nfields] = sp->values.len;
    }
    sp->nfields++;
}

static void on_row_end(int c, void *data)
{
    csv_splitter *sp = data;
    /* Trailing '\r's are cut before feeding, so one here sat inside the line. */
    if (c == '\r') sp->bare_cr = true;
    sp->row_ended = true;
}

csv_splitter *csv_splitter_new(void)
{
    csv_splitter *s = calloc(1, sizeof *s);
    if (!s) abort();
    csv_init(&s->parser, CSV_STRICT);
    csv_set_blk_size(&s->parser, CSV_BLOCK_SIZE);
    return s;
}

void csv_splitter_free(csv_splitter *s)
{
    if (!s) return;
    csv_free(&s->parser);
    sb_free(&s->values);
    sb_free(&s->raw);
    free(s);
}

void csv_splitter_set_multiline(csv_splitter *s, bool multiline)
{
    s->multiline = multiline;
}

/* Forget the record in progress; libcsv's csv_fini without callbacks resets
 * its state (and its error status) without reporting anything. */
static void reset(csv_splitter *s)
{
    csv_fini(&s->parser, NULL, NULL, NULL);
    s->pending = false;
}

static bool is_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t') return false;
    return true;
}

static void fill_broken(csv_record *rec, const char *raw, size_t raw_len, uint64_t line,
                        size_t column, const char *why)
{
    *rec = (csv_record){
        .raw = raw, .raw_len = raw_len, .line = line, .error = why, .error_column = column};
}

static void fill_fields(csv_splitter *s, csv_record *rec)
{
    size_t start = 0;
    for (size_t i = 0; i < s->nfields; i++) {
        s->fields[i].s = s->values.data + start;
        s->fields[i].len = s->field_end[i] - start;
        start = s->field_end[i];
    }
    rec->fields = s->fields;
    rec->nfields = s->nfields;
}

bool csv_splitter_feed(csv_splitter *s, const char *line, size_t len, uint64_t line_no,
                       csv_record *rec)
{
    if (len > 0 && line[len - 1] == '\r') len--;
    if (!s->pending) {
        if (is_blank(line, len)) return false;
        sb_reset(&s->values);
        s->nfields = 0;
        s->bare_cr = false;
        s->first_line = line_no;
    }
    s->row_ended = false;
    bool parsed = csv_parse(&s->parser, line, len, on_field, on_row_end, s) == len &&
                  csv_parse(&s->parser, "\n", 1, on_field, on_row_end, s) == 1;

    const char *raw = line;
    size_t raw_len = len;
    if (s->pending) {
        sb_append(&s->raw, line, len);
        raw = s->raw.data;
        raw_len = s->raw.len;
    }
    uint64_t first = s->first_line;
    /* The fields libcsv completed; a break happened in the one after them. */
    size_t column = s->nfields;

    if (!parsed) {
        reset(s);
        fill_broken(rec, raw, raw_len, first, column,
                    "stray quote: a quote inside an unquoted field or text after a closing quote");
        return true;
    }
    if (!s->row_ended) {
        /* Only an open quoted field keeps a fed line from ending its row. */
        if (!s->multiline) {
            reset(s);
            fill_broken(rec, raw, raw_len, first, column, "unterminated quoted field");
            return true;
        }
        if (!s->pending) {
            sb_reset(&s->raw);
            sb_append(&s->raw, line, len);
            s->pending = true;
        }
        sb_putc(&s->raw, '\n');
        if (s->raw.len > LINE_MAX_BYTES) {
            reset(s);
            fill_broken(rec, s->raw.data, LINE_MAX_BYTES, first, SIZE_MAX,
                        "record longer than 1 MiB");
            rec->too_long = true;
            return true;
        }
        return false;
    }
    s->pending = false;
    if (s->bare_cr) {
        reset(s);
        fill_broken(rec, raw, raw_len, first, SIZE_MAX, "carriage return inside a record");
        return true;
    }
    if (s->nfields > CSV_MAX_FIELDS) {
        fill_broken(rec, raw, raw_len, first, SIZE_MAX, "more than 1024 fields");
        return true;
    }
    *rec = (csv_record){.raw = raw, .raw_len = raw_len, .line = first};
    fill_fields(s, rec);
    return true;
}

void csv_splitter_too_long(csv_splitter *s, const char *line, size_t len, uint64_t line_no,
                           csv_record *rec)
{
    uint64_t first = s->pending ? s->first_line : line_no;
    reset(s);
    fill_broken(rec, line, len, first, SIZE_MAX, "line longer than 1 MiB");
    rec->too_long = true;
}

bool csv_splitter_finish(csv_splitter *s, csv_record *rec)
{
    bool open = s->pending;
    reset(s);
    if (!open) return false;
    /* raw ends with the '\n' added after its last line. */
    fill_broken(rec, s->raw.data, s->raw.len - 1, s->first_line, s->nfields,
                "unterminated quoted field");
    return true;
}
