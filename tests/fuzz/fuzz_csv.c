/* fuzz_csv: lib/csv_split and lib/csv_layout on any bytes, the way
 * sp-replay drives them.
 *
 * The input is cut into lines and fed to the splitter; the first record is
 * the header. The first byte picks single- or multi-line mode and whether
 * the first header column is given as --time-field (forcing the generic
 * layout). For every record: holding it as --sort does (replay_sorted) gives
 * back the same fields; mapping either fails with a reason, or appends
 * exactly one line of valid UTF-8 that jansson parses as a JSON object with
 * no repeated member. Two kinds of valid JSON are beyond jansson and
 * excused: numbers too big for its int64 or double (a CSV number's text is
 * kept as it is), and a NUL byte (written \u0000) in a member name. Any
 * other breach aborts. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv_layout.h"
#include "ndjson.h"
#include "replay.h"

/* A row held by --sort comes back as it went in. */
static void check_sorted_round_trip(const csv_record *rec)
{
    replay_sorted *rs = replay_sorted_new();
    csv_layout none;
    replay_sorted_add(rs, rec, &none, 0);
    csv_record back;
    const csv_layout *layout;
    replay_sorted_get(rs, 0, &back, &layout);
    if (back.line != rec->line || back.nfields != rec->nfields || back.raw_len != rec->raw_len ||
        back.error != rec->error || back.too_long != rec->too_long ||
        (rec->error && back.error_column != rec->error_column) ||
        memcmp(back.raw, rec->raw, rec->raw_len) != 0 || layout != &none)
        abort();
    for (size_t i = 0; i < rec->nfields; i++)
        if (back.fields[i].len != rec->fields[i].len ||
            memcmp(back.fields[i].s, rec->fields[i].s, rec->fields[i].len) != 0)
            abort();
    replay_sorted_free(rs);
}

static bool beyond_jansson(const char *why)
{
    return strstr(why, "too big") || strstr(why, "overflow") ||
           strstr(why, "NUL byte in object key");
}

static void check_mapping(const csv_layout *layout, const csv_record *rec, uint64_t pass_no)
{
    strbuf out = STRBUF_INIT;
    struct csv_pass pass = {pass_no, (int64_t)pass_no * 3601000};
    struct csv_row_error err;
    int64_t ms;
    if (csv_layout_map(layout, rec, &pass, &out, &ms, &err) < 0) {
        if (out.len != 0 || err.reason[0] == '\0') abort();
        sb_free(&out);
        return;
    }
    if (out.len == 0 || out.data[out.len - 1] != '\n' ||
        memchr(out.data, '\n', out.len) != out.data + out.len - 1)
        abort();
    if (!utf8_valid(out.data, out.len)) abort();
    json_error_t jerr;
    json_t *j = json_loadb(out.data, out.len - 1, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    if (!j && !beyond_jansson(jerr.text)) abort();
    if (j && !json_is_object(j)) abort();
    json_decref(j);
    sb_free(&out);
}

struct state {
    bool header_seen;
    bool have_layout;
    bool time_field_from_header; /* use the first header name as --time-field */
    csv_layout layout;
};

static void handle(struct state *st, const csv_record *rec)
{
    check_sorted_round_trip(rec);
    if (st->header_seen) {
        if (!st->have_layout) return;
        check_mapping(&st->layout, rec, 0);
        check_mapping(&st->layout, rec, 2);
        return;
    }
    st->header_seen = true;
    char time_field[64] = "";
    if (!rec->error && rec->nfields > 0 && rec->fields[0].len < sizeof time_field) {
        memcpy(time_field, rec->fields[0].s, rec->fields[0].len);
        time_field[rec->fields[0].len] = '\0';
    }
    char why[256] = "";
    st->have_layout =
        csv_layout_init(&st->layout, rec, st->time_field_from_header ? time_field : NULL, "fuzz",
                        why, sizeof why) == 0;
    if (!st->have_layout && why[0] == '\0') abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    struct state st = {.time_field_from_header = data[0] & 2};
    csv_splitter *s = csv_splitter_new();
    csv_splitter_set_multiline(s, data[0] & 1);
    csv_record rec;
    uint64_t line_no = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (csv_splitter_feed(s, p, len, ++line_no, &rec)) handle(&st, &rec);
        p = nl ? nl + 1 : end;
    }
    if (csv_splitter_finish(s, &rec)) handle(&st, &rec);
    if (st.have_layout) csv_layout_free(&st.layout);
    csv_splitter_free(s);
    return 0;
}
