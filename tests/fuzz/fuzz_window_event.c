/* fuzz_window_event: the lean path of window_line_parse() against the
 * jansson tree path on any bytes. Both must agree on the kind of line and,
 * for an event, on the key, the event time and every value, bit for bit.
 * A record the lean path refuses for a repeated member must hold one, as
 * jansson's JSON_REJECT_DUPLICATES confirms; the tree path, which keeps the
 * last of them, is not asked about its members then. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "window_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_value(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct agg_spec spec;
    static struct window_event_reader reader;
    if (spec.n_metrics == 0) {
        char err[128];
        agg_spec_default(&spec);
        agg_spec_add(&spec, "n=count:n", err, sizeof err);
        if (window_event_reader_init(&reader, "region_id", "event_time", &spec) != 0) abort();
    }
    const char *line = (const char *)data;
    struct window_line lean, tree;
    window_line_parse(&reader, line, size, &lean);
    /* Copy what the lean result points at before the tree path reuses scratch. */
    char key[WINDOW_RESULT_KEY_MAX];
    size_t key_len = lean.key.is_string ? lean.key.len : 0;
    if (lean.kind == WINDOW_LINE_EVENT && lean.key.is_string) memcpy(key, lean.key.text, key_len);
    window_line_parse_tree(&reader, line, size, &tree);

    char given[WINDOW_RESULT_KEY_MAX];
    if (lean.kind == WINDOW_LINE_BAD && lean.field)
        snprintf(given, sizeof given, "%s: given ", lean.field);
    bool repeated = lean.kind == WINDOW_LINE_BAD && lean.field &&
                    strncmp(lean.reason, given, strlen(given)) == 0;
    if (repeated) {
        json_t *strict = json_loadb(line, size, JSON_REJECT_DUPLICATES, NULL);
        if (strict || lean.error != DLQ_SCHEMA_VIOLATION) abort();
        tree.kind = lean.kind;
        tree.error = lean.error;
    }
    if (lean.kind != tree.kind) abort();
    if (lean.kind == WINDOW_LINE_EVENT) {
        if (lean.key.is_string != tree.key.is_string || lean.event_ms != tree.event_ms) abort();
        if (!lean.key.is_string && lean.key.num != tree.key.num) abort();
        if (lean.key.is_string && (key_len != tree.key.len || memcmp(key, tree.key.text, key_len)))
            abort();
        for (size_t i = 0; i < spec.n_fields; i++)
            if (!same_value(lean.values[i], tree.values[i])) abort();
    }
    if (lean.kind == WINDOW_LINE_BAD && lean.error != tree.error) abort();
    if (lean.has_source != tree.has_source) abort();
    if (lean.has_source &&
        (lean.source.partition != tree.source.partition ||
         lean.source.offset != tree.source.offset ||
         lean.source.topic_len != tree.source.topic_len ||
         memcmp(lean.source.topic, tree.source.topic, tree.source.topic_len) != 0))
        abort();
    window_line_clear(&lean);
    window_line_clear(&tree);
    return 0;
}
