/* kafka_source: the consuming half of sp-kcat-in. Reads one topic (in a
 * consumer group, or a fixed set of partitions) and writes each message as
 * the NDJSON line of kafka_msg.h, with the assignment control lines of SPEC
 * section 5 whenever the set of partitions changes.
 *
 * Offsets: in a group, the offset after a record is stored for commit only
 * once the next program has read it (out_delivered: a flushed record can
 * still sit in the pipe; checked at every flush, at least every 100 ms under
 * load, at once when no message waits), and everything delivered is
 * committed when partitions are revoked and at the end, after a bounded wait
 * for the reader to drain the pipe: a restart never skips a record the next
 * program did not get. Partitions named in the resume offsets (sp-window's
 * checkpoint) start there, in both modes.
 *
 * With a state store (a Redis beside the results, streampulse(7)) each
 * partition's task state moves with the partition. On assignment its state
 * is read from the store and sent ahead of its records as a restore line
 * (control_line.h); reading starts at the state's next offset, or at the
 * -o offset when it has none (never at the group's committed offset, which
 * counts records handed on, not aggregated). Before partitions are let go
 * (revoked, or at the end unless exit_at_eof) a revoke line asks sp-window
 * for their states, and the partitions are released once the store holds
 * every answer, or after HANDOVER_TIMEOUT_MS, or at once when the pipe's
 * reader is gone: the next owner then resumes from the state stored
 * before, which is exact, only slower.
 *
 * Metrics: sp_events_in_total, sp_events_out_total, sp_kafka_raw_total and
 * the gauge sp_kafka_consumer_lag{topic,partition}. */
#ifndef SP_KAFKA_SOURCE_H
#define SP_KAFKA_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "kafka.h"
#include "line_io.h"
#include "metrics.h"
#include "redis_store.h"

/* Longest wait for the states of partitions being let go. Kept well below
 * librdkafka's max.poll.interval.ms (5 min), within which a member must
 * come back to the group after a revoke. */
#define HANDOVER_TIMEOUT_MS 10000

struct kafka_source_options {
    const char *topic;
    const char *group;         /* a consumer group, or NULL: a static assignment */
    const int32_t *partitions; /* static: these partitions, or NULL for all */
    size_t n_partitions;
    int64_t offset;                  /* static: where a partition without a resume offset starts */
    bool exit_at_eof;                /* stop at the end of every assigned partition */
    const partition_offsets *resume; /* start offsets from a checkpoint, or NULL */
    const struct redis_target *state_store; /* where partition states live, or NULL */
};

typedef struct kafka_source kafka_source;

/* A consumer built from conf (which it takes over), writing to out and
 * counting in m; opt's pointers must outlive it. Returns NULL with
 * librdkafka's reason in err when the configuration is refused. */
kafka_source *kafka_source_new(rd_kafka_conf_t *conf, const struct kafka_source_options *opt,
                               out_buf *out, metrics *m, char *err, size_t errlen);

/* Subscribe (group) or assign (static, after checking the partitions against
 * the topic's metadata). Returns 0, or EX_UNAVAILABLE after saying why. */
int kafka_source_start(kafka_source *c);

/* Consume and write until sp_running is cleared, the output's reader goes
 * away, the topic turns out not to exist, or (exit_at_eof) every assigned
 * partition is at its end. */
void kafka_source_run(kafka_source *c);

/* The one shutdown path: flush, wait for the pipe to drain, store, close out, write the metrics,
 * commit and leave the group (kafka_consumer_close), free c. Returns the exit status: 0, EX_IOERR
 * (output) or EX_UNAVAILABLE (topic gone, fatal error). */
int kafka_source_finish(kafka_source *c);

#endif
