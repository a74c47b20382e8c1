/* fuzz_checkpoint: any bytes as a checkpoint file. Reading, validating and
 * restoring must never crash, leak or trip a sanitizer, and a restored state
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
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, 0, &jerr);
    if (doc == NULL) return 0;
    uint64_t records;
    char err[256];
    checkpoint_validate(doc, "key=region_id", &records, err, sizeof err);

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
    if (window_state_from_json(ws, doc, 1700000000000LL, err, sizeof err) == 0) {
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
    json_decref(doc);
    return 0;
}
