/* kafka_drain: the end of a producer's run, bounded.
 *
 * Every message handed to librdkafka gets exactly one delivery report:
 * delivered, or failed once message.timeout.ms (60 s in sp-kcat-out) runs
 * out. Waiting for all of them is right at the end of the input, but not
 * after SIGTERM with the brokers unreachable: a stop that takes a minute is
 * a stop the service manager ends with SIGKILL, and then no report comes at
 * all. So once the program is told to stop, the cluster gets
 * KAFKA_DRAIN_GRACE_MS more, and whatever is still queued or in flight is
 * purged: librdkafka reports each purged message as failed
 * (RD_KAFKA_RESP_ERR__PURGE_QUEUE or _PURGE_INFLIGHT), through the same
 * delivery callback, so the program accounts for it like any other message
 * that did not go. */
#ifndef SP_KAFKA_DRAIN_H
#define SP_KAFKA_DRAIN_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#define KAFKA_DRAIN_GRACE_MS 5000

/* Serve delivery reports of producer rk until none is outstanding, calling
 * tick(arg) (metrics, say) every 100 ms. While sp_running is set that may
 * take up to message.timeout.ms; once it is cleared (before or during the
 * call), KAFKA_DRAIN_GRACE_MS at most, then the rest is purged and its
 * failure reports served. Returns true when it had to purge. */
bool kafka_drain(rd_kafka_t *rk, void (*tick)(void *arg), void *arg);

#endif
