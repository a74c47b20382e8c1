/* fuzz_event_reader: differential test of lib/event_reader against jansson.
 *
 * For every input: ev_scan accepts exactly when json_loadb(…, JSON_DECODE_ANY)
 * does, reports the same top-level kind, and for every top-level member of
 * an object (each name jansson found, plus a few that may be absent) gives
 * the same presence, kind and value: strings byte for byte after unescaping,
 * integers exactly, reals bit for bit, and a text span that jansson parses
 * back into an equal value. Any disagreement aborts. The one allowed
 * difference (a raw NUL byte jansson skips) is explained below. */
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

    int rc = ev_scan(text, size, &fields, &scan);
    /* The one deliberate difference: jansson 2.14 drops a raw NUL byte that
     * directly follows a number or a literal ("54\0" parses as 54: its
     * lexer takes the NUL for an empty look-ahead buffer). The reader refuses
     * raw NUL everywhere, which only ever sends such a line to the DLQ. */
    if (rc != 0 && doc && memchr(data, '\0', size)) {
        json_decref(doc);
        return 0;
    }
    if ((rc == 0) != (doc != NULL)) abort();
    if (!doc) {
        if (!scan.error || scan.error_at > size) abort();
        return 0;
    }
    if (scan.error || scan.top != kind_of(doc)) abort();
    if (json_is_object(doc)) {
        for (size_t i = 0; i < fields.count; i++)
            check_value(&scan.value[i], json_object_getn(doc, fields.name[i], fields.len[i]));
    }
    json_decref(doc);
    return 0;
}
