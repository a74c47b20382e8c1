/* fuzz_event_reader: differential test of lib/event_reader against jansson.
 *
 * For every input: ev_scan accepts exactly when json_loadb(…, JSON_DECODE_ANY)
 * does, reports the same top-level kind, and for every top-level member of
 * an object (each name jansson found, plus a few that may be absent) gives
 * the same presence, kind and value: strings byte for byte after unescaping,
 * integers exactly, reals bit for bit, and a text span that jansson parses
 * back into an equal value. The members ev_scan_members() visits are the
 * object's, in order: as many as the scan counted, each name one jansson
 * found, the last value of each name jansson's value. The counts add up to
 * the members, so a name given twice is seen as such. Any disagreement
 * aborts. The one allowed difference (a raw NUL byte jansson skips) is
 * explained below. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event_reader.h"

static enum ev_kind kind_of(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return EV_OBJECT;
    case JSON_ARRAY:
        return EV_ARRAY;
    case JSON_STRING:
        return EV_STRING;
    case JSON_INTEGER:
        return EV_INTEGER;
    case JSON_REAL:
        return EV_REAL;
    case JSON_TRUE:
        return EV_TRUE;
    case JSON_FALSE:
        return EV_FALSE;
    case JSON_NULL:
        return EV_NULL;
    }
    abort();
}

static void check_value(const struct ev_value *v, const json_t *expected)
{
    if (!expected) {
        if (v->kind != EV_ABSENT || v->count != 0) abort();
        return;
    }
    if (v->kind != kind_of(expected) || v->count == 0) abort();

    /* The span is exactly the value: jansson reads it back as an equal one. */
    json_t *again = json_loadb(v->text, v->len, JSON_DECODE_ANY, NULL);
    if (!again || !json_equal(again, expected)) abort();
    json_decref(again);

    if (v->kind == EV_STRING) {
        strbuf scratch = STRBUF_INIT;
        size_t len;
        const char *s = ev_string(v, &scratch, &len);
        if (len != json_string_length(expected) || memcmp(s, json_string_value(expected), len) != 0)
            abort();
        sb_free(&scratch);
    } else if (v->kind == EV_INTEGER) {
        if (ev_integer(v) != json_integer_value(expected)) abort();
        double d = ev_number(v), want = (double)json_integer_value(expected);
        if (memcmp(&d, &want, sizeof d) != 0) abort();
    } else if (v->kind == EV_REAL) {
        double d = ev_number(v), want = json_real_value(expected);
        if (memcmp(&d, &want, sizeof d) != 0) abort();
    }
}

/* What the member visitor saw. */
struct visit {
    size_t members;
    strbuf name;
    json_t *last; /* name -> the last value visited under it */
};

static int visit_member(void *arg, const struct ev_member *m)
{
    struct visit *v = arg;
    v->members++;
    size_t len;
    const char *name = ev_member_name(m, &v->name, &len);
    json_t *value = json_loadb(m->value.text, m->value.len, JSON_DECODE_ANY, NULL);
    if (!value || kind_of(value) != m->value.kind) abort();
    json_object_setn_new(v->last, name, len, value);
    return 0;
}

/* The members visited agree with jansson's object, doc. */
static void check_visit(const struct visit *v, const struct ev_scan *scan, const json_t *doc)
{
    if (v->members != scan->members) abort();
    if (!json_equal(v->last, doc)) abort();
}

/* Every name of doc was a field: their counts add up to the members. */
static void check_counts(const struct ev_fields *fields, const struct ev_scan *scan,
                         const json_t *doc)
{
    const char *key;
    size_t key_len;
    json_t *member;
    json_object_keylen_foreach((json_t *)doc, key, key_len, member)
    {
        (void)member;
        bool listed = false;
        for (size_t i = 0; i < fields->count && !listed; i++)
            listed = fields->len[i] == key_len && memcmp(fields->name[i], key, key_len) == 0;
        if (!listed) return; /* a name too long or one too many for the field set */
    }
    size_t total = 0;
    for (size_t i = 0; i < fields->count; i++)
        total += scan->value[i].count;
    if (total != scan->members) abort();
    bool repeated = false;
    for (size_t i = 0; i < fields->count; i++)
        repeated = repeated || scan->value[i].count > 1;
    if (repeated != (scan->members > json_object_size(doc))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ev_fields fields;
    static struct ev_scan scan;
    const char *text = (const char *)data;

    json_t *doc = json_loadb(text, size, JSON_DECODE_ANY, NULL);
    ev_fields_init(&fields);
    static const char *const maybe_absent[] = {"region_id", "trip_id", "event_time", "", "a"};
    for (size_t i = 0; i < sizeof maybe_absent / sizeof *maybe_absent; i++)
        ev_fields_add(&fields, maybe_absent[i]);
    if (doc && json_is_object(doc)) {
        const char *key;
        json_t *member;
        json_object_foreach(doc, key, member)
        {
            (void)member;
            ev_fields_add(&fields, key); /* a name too long or one too many is skipped */
        }
    }

    struct visit visit = {.name = STRBUF_INIT, .last = json_object()};
    int rc = ev_scan_members(text, size, &fields, &scan, visit_member, &visit);
    /* The one deliberate difference: jansson 2.14 drops a raw NUL byte that
     * directly follows a number or a literal ("54\0" parses as 54: its
     * lexer takes the NUL for an empty look-ahead buffer). The reader refuses
     * raw NUL everywhere, which only ever sends such a line to the DLQ. */
    if (rc != 0 && doc && memchr(data, '\0', size)) {
        json_decref(doc);
        json_decref(visit.last);
        sb_free(&visit.name);
        return 0;
    }
    if ((rc == 0) != (doc != NULL)) abort();
    if (!doc) {
        if (!scan.error || scan.error_at > size) abort();
        json_decref(visit.last);
        sb_free(&visit.name);
        return 0;
    }
    if (scan.error || scan.top != kind_of(doc)) abort();
    if (json_is_object(doc)) {
        for (size_t i = 0; i < fields.count; i++)
            check_value(&scan.value[i], json_object_getn(doc, fields.name[i], fields.len[i]));
        check_visit(&visit, &scan, doc);
        check_counts(&fields, &scan, doc);
    } else if (visit.members != 0) {
        abort();
    }
    json_decref(visit.last);
    sb_free(&visit.name);
    json_decref(doc);
    return 0;
}
