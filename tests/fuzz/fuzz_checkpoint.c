/* fuzz_checkpoint: any bytes as a checkpoint file. Reading it window by
 * window, validating and restoring must never crash, leak or trip a
 * sanitizer, recorded output sizes are -1 or sizes, and a restored state
 * must keep working: events go in, windows close, the state writes out. */
#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "checkpoint.h"
#include "window.h"

static void discard(void *ctx, const struct window_result *r)
{
    strbuf *sb = ctx;
    sb_reset(sb);
    window_result_format(sb, r);
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

    struct window_config cfg = {.size_ms = 60000,
                                .slide_ms = 60000,
                                .max_delay_ms = 300000,
                                .allowed_lateness_ms = 60000,
                                .max_future_ms = 3600000,
                                .idle_timeout_ms = 10000,
                                .track_changes = true,
                                .spec = &spec};
    strbuf sb = STRBUF_INIT;
    window_set *ws = window_set_new(&cfg, discard, &sb);
    int rc = window_state_from_json(ws, reader.head, 1700000000000LL, err, sizeof err);
    json_t *window;
    while (rc == 0 && checkpoint_reader_next(&reader, &window) == 1) {
        rc = window_restore_window(ws, window, err, sizeof err);
        json_decref(window);
    }
    if (rc == 0) {
        struct window_key key = {.num = 5};
        double values[AGG_MAX_FIELDS] = {10, 2, 600};
        struct window_span span;
        struct window_source src = {"events", 6, 0, 7};
        window_add(ws, &key, 1690000000000LL, values, NULL, 1700000000000LL, &span);
        window_add(ws, &key, 1690000060000LL, values, &src, 1700000000000LL, &span);
        window_emit_changed(ws);
        strbuf state = STRBUF_INIT;
        window_state_append_json(&state, ws);
        sb_free(&state);
        window_tick(ws, 1700000100000LL);
        window_close_all(ws);
    }
    window_set_free(ws);
    sb_free(&sb);
    checkpoint_reader_close(&reader);
    return 0;
}
