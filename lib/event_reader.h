/* event_reader: one pass over a JSON line that checks its syntax completely
 * and picks out the top-level members a caller asked for, without
 * allocating and without building a tree: the hot path of sp-validate.
 *
 * Jansson stays the parser of everything else (schema files, the rare DLQ
 * path). This reader accepts exactly what json_loadb(line, len,
 * JSON_DECODE_ANY, …) accepts, so a line that passes sp-validate parses in
 * every later program (the one exception: a raw NUL byte is refused
 * everywhere, while jansson 2.14 skips one that directly follows a number or
 * a literal):
 *   - RFC 8259 syntax; whitespace is space, tab, CR, LF;
 *   - strings are well-formed UTF-8 (no overlongs, surrogates or code points
 *     above U+10FFFF); escapes are the JSON ones; a \uD800-\uDBFF escape must
 *     be followed by a \uDC00-\uDFFF one; \u0000 is refused (jansson refuses
 *     NUL unless JSON_ALLOW_NUL);
 *   - a number without fraction or exponent must fit int64_t; any other
 *     number must not overflow a double (underflow to 0 is fine);
 *   - at most EVENT_READER_MAX_DEPTH values nested in one another.
 * tests/fuzz/fuzz_event_reader.c holds it to that on every input, values
 * included.
 *
 * Members are found by their name after unescaping ("region\u005fid" is
 * region_id), as jansson sees them. When a name occurs more than once the
 * last occurrence is the one described (jansson's choice) and its count
 * says how many there were.
 *
 * This is the one JSON scanner of the programs that read records: sp-validate
 * (validate.c), sp-window (window_event.c), sp-kcat-in and sp-kcat-out
 * (kafka_msg.c) and sp-redis-sink (result_reader.c) all accept what it
 * accepts. The programs that count or store records keep one rule for
 * repeated members: a record that gives a member the program reads more than
 * once (a count above 1) is refused, since which of them counts would be a
 * guess that another program may make differently. (sp-kcat-out only routes:
 * it keys such a record by the first copy, see kafka_msg.h.) */
#ifndef SP_EVENT_READER_H
#define SP_EVENT_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* Deepest nesting accepted: jansson's JSON_PARSER_MAX_DEPTH. */
#define EVENT_READER_MAX_DEPTH 2048

/* Most member names one field set can hold. */
#define EVENT_READER_MAX_FIELDS 64

/* Longest member name a field set can hold, in bytes. */
#define EVENT_READER_NAME_MAX 128

/* The kind of a JSON value. Numbers are told apart by how they are written,
 * as jansson does: EV_INTEGER has neither fraction nor exponent. */
enum ev_kind {
    EV_ABSENT, /* the member is not in the line */
    EV_OBJECT,
    EV_ARRAY,
    EV_STRING,
    EV_INTEGER,
    EV_REAL,
    EV_TRUE,
    EV_FALSE,
    EV_NULL
};

/* The member names to pick out, each with a small index. */
struct ev_fields {
    size_t count;
    char name[EVENT_READER_MAX_FIELDS][EVENT_READER_NAME_MAX];
    size_t len[EVENT_READER_MAX_FIELDS];
};

/* One picked-out member: where its value lies in the line. */
struct ev_value {
    enum ev_kind kind;
    const char *text; /* the value as written; a string keeps its quotes */
    size_t len;
    uint32_t count;    /* occurrences of the name (0 when absent) */
    uint32_t position; /* 0-based place of the described member in its object */
    bool escaped;      /* a string with at least one backslash escape */
};

/* The outcome of one scan. */
struct ev_scan {
    enum ev_kind top;  /* kind of the whole line's value */
    const char *error; /* NULL when the line is valid JSON, else what is wrong */
    size_t error_at;   /* byte offset of the problem */
    size_t members;    /* top-level members when top is EV_OBJECT */
    struct ev_value value[EVENT_READER_MAX_FIELDS];
};

/* One top-level member of an object, as ev_scan_members() hands it over. */
struct ev_member {
    const char *name; /* as written, between its quotes */
    size_t name_len;
    bool name_escaped;     /* the name holds a backslash escape */
    struct ev_value value; /* count and position are not set */
};

/* Called by ev_scan_members() for each top-level member, in line order.
 * Returns 0 to go on, anything else to stop the scan there. */
typedef int (*ev_member_fn)(void *arg, const struct ev_member *member);

/* An empty field set. */
void ev_fields_init(struct ev_fields *f);

/* Add name (a C string) and return its index; the index it already has when
 * it is there; -1 when the set is full or name is longer than
 * EVENT_READER_NAME_MAX - 1 bytes. */
int ev_fields_add(struct ev_fields *f, const char *name);

/* Scan text[0..len) as one JSON document (any value, not only objects, so
 * the caller can say what it got). Fills out->top, out->error and, when the
 * document is an object, out->value[i] for every name i of fields (kind
 * EV_ABSENT when missing). Returns 0 when the text is valid JSON, -1 with
 * out->error and out->error_at set otherwise; the values are then
 * meaningless. Never reads outside text[0..len). */
int ev_scan(const char *text, size_t len, const struct ev_fields *fields, struct ev_scan *out);

/* ev_scan(), and each(arg, member) for every top-level member of an object
 * as soon as its value is scanned: before the scan has seen the rest of the
 * line, so what a visitor learnt counts only once this returns 0. Returns 1
 * when each() stopped the scan: the line up to that member is valid JSON,
 * the rest was not looked at. */
int ev_scan_members(const char *text, size_t len, const struct ev_fields *fields,
                    struct ev_scan *out, ev_member_fn each, void *arg);

/* The int64 value of an EV_INTEGER. */
int64_t ev_integer(const struct ev_value *v);

/* The double value of an EV_INTEGER or EV_REAL, correctly rounded (strtod's
 * answer, reached without strtod for the short decimals events carry). */
double ev_number(const struct ev_value *v);

/* The bytes of an EV_STRING with escapes decoded: a pointer into the line
 * when it has none, else into scratch (reset first). Sets *len. The bytes are
 * valid UTF-8 without NUL. */
const char *ev_string(const struct ev_value *v, strbuf *scratch, size_t *len);

/* The name of a member with escapes decoded, as ev_string(). */
const char *ev_member_name(const struct ev_member *m, strbuf *scratch, size_t *len);

/* Human name of a kind, with its article: "an integer", "a string". */
const char *ev_kind_name(enum ev_kind k);

#endif
