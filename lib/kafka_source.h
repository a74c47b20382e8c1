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
 * Metrics: sp_events_in_total, sp_events_out_total, sp_kafka_raw_total and
 * the gauge sp_kafka_consumer_lag{topic,partition}. */
#ifndef SP_KAFKA_SOURCE_H
#define SP_KAFKA_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka.h"
#include "line_io.h"
#include "metrics.h"

struct kafka_source_options {
    const char *topic;
    const char *group;         /* a consumer group, or NULL: a static assignment */
    const int32_t *partitions; /* static: these partitions, or NULL for all */
    size_t n_partitions;
    int64_t offset;              /* static: where a partition without a resume offset starts */
    bool exit_at_eof;            /* stop at the end of every assigned partition */
    const kafka_offsets *resume; /* start offsets from a checkpoint, or NULL */
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
