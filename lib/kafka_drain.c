/* kafka_drain: see kafka_drain.h. */
#include "kafka_drain.h"

#include <stdint.h>

#include "clock.h"
#include "diag.h"

#define DRAIN_POLL_MS 100

/* Serve reports until none is outstanding or, once deadline is set (or a
 * stop sets it), until it passes. Returns false when time ran out. */
static bool serve_reports(rd_kafka_t *rk, int64_t deadline, void (*tick)(void *), void *arg)
{
    while (rd_kafka_outq_len(rk) > 0) {
        if (!sp_running && deadline == 0) deadline = monotonic_ms() + KAFKA_DRAIN_GRACE_MS;
        if (deadline != 0 && monotonic_ms() >= deadline) return false;
        rd_kafka_flush(rk, DRAIN_POLL_MS);
        tick(arg);
    }
    return true;
}

bool kafka_drain(rd_kafka_t *rk, void (*tick)(void *arg), void *arg)
{
    if (serve_reports(rk, 0, tick, arg)) return false;
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    /* The purged messages' failure reports are queued at once; the grace
     * again bounds a client that would not let go of something. */
    serve_reports(rk, monotonic_ms() + KAFKA_DRAIN_GRACE_MS, tick, arg);
    return true;
}
