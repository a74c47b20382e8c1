/* fuzz_checkpoint: any bytes as a checkpoint document. Reading it window by
 * window, validating and restoring must never crash, leak or trip a
 * sanitizer, recorded output sizes are -1 or sizes, and a restored state
 * must keep working and survive a round trip: written out and restored
 * again, it writes out the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aggregate.h"
#include "checkpoint.h"
#include "window.h"
#include "window_state.h"

#define NOW 1700000000000LL

static void discard(void *ctx, const struct window_result *r)
{
    strbuf *sb = ctx;
    sb_reset(sb);
    window_result_format(sb, r);
}

/* The state of ws as a checkpoint document in doc. */
static void write_state(const window_set *ws, strbuf *doc)
{
    sb_reset(doc);
    checkpoint_start(doc, "key=region_id", 0, NULL, NOW);
    window_state_append(doc, ws, NULL);
    checkpoint_finish(doc);
}

/* Restore text into ws; the number of tasks made, or -1. */
static int restore(window_set *ws, const char *text, size_t len)
{
    struct checkpoint_reader reader;
    char err[256];
    if (checkpoint_reader_parse(&reader, text, len, err, sizeof err) != 0) return -1;
    int made = window_state_restore(ws, &reader, NOW, err, sizeof err);
    checkpoint_reader_close(&reader);
    return made;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct agg_spec spec;
    if (spec.n_metrics == 0) agg_spec_default(&spec);
    struct checkpoint_reader reader;
    char err[256];
    if (checkpoint_reader_parse(&reader, (const char *)data, size, err, sizeof err) != 0) return 0;
    uint64_t records;
    checkpoint_validate(reader.head, "key=region_id", &records, err, sizeof err);
    struct checkpoint_outputs outputs;
    checkpoint_outputs_get(reader.head, &outputs);
    if (outputs.late_bytes < -1 || outputs.dlq_bytes < -1) __builtin_trap();
    checkpoint_reader_close(&reader);

    /* No lateness and no idle timeout: a restored window past its
     * watermark closes at once, and nothing depends on the clock. */
    struct window_config cfg = {.size_ms = 60000,
                                .slide_ms = 60000,
                                .max_delay_ms = 300000,
                                .max_future_ms = 3600000,
                                .track_changes = true,
                                .spec = &spec};
    strbuf sb = STRBUF_INIT, first = STRBUF_INIT, second = STRBUF_INIT;
    window_set *ws = window_set_new(&cfg, discard, &sb);
    if (restore(ws, (const char *)data, size) >= 0) {
        write_state(ws, &first);
        window_set *again = window_set_new(&cfg, discard, &sb);
        if (restore(again, first.data, first.len) < 0) __builtin_trap();
        write_state(again, &second);
        if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
            __builtin_trap();
        window_set_free(again);

        struct window_key key = {.num = 5};
        double values[AGG_MAX_FIELDS] = {10, 2, 600};
        struct window_refusal why;
        struct window_source src = {"events", 6, 0, 7};
        window_add(ws, &key, 1690000000000LL, values, NULL, NOW, &why);
        window_add(ws, &key, 1690000060000LL, values, &src, NOW, &why);
        window_emit_changed(ws);
        window_tick(ws, NOW + 100000);
        window_close_all(ws);
    }
    window_set_free(ws);
    sb_free(&sb);
    sb_free(&first);
    sb_free(&second);
    return 0;
}
