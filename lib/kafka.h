/* kafka: the librdkafka side shared by sp-kcat-in, sp-kcat-out and
 * sp-kafka-mock: configuration from kcat-style flags, offsets and partition
 * lists as the user types them.
 *
 * What a message looks like as NDJSON is kafka_msg.h's business. */
#ifndef SP_KAFKA_H
#define SP_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "strbuf.h"

/* A configuration whose librdkafka log lines and client errors come out as
 * "sp-NAME: kafka: …" diagnostics (quiet under -q), the same error repeated
 * at most every KAFKA_ERROR_REPEAT_MS. A fatal client error (an idempotent
 * producer that lost its guarantees) also clears sp_running; kafka_fatal()
 * then says so. */
rd_kafka_conf_t *kafka_conf_new(void);

#define KAFKA_ERROR_REPEAT_MS 5000

/* Set one property from "name=value" (the -X argument). Returns 0, or -1
 * with librdkafka's reason, or "expected name=value", in err. */
int kafka_conf_set_pair(rd_kafka_conf_t *conf, const char *pair, char *err, size_t errlen);

/* Set one property. Returns 0, or -1 with the reason in err. */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                   size_t errlen);

/* Set one property the program itself chose, or one named on its command
 * line; a value librdkafka refuses is a usage error: print the reason and
 * exit 64. */
void kafka_conf_set_or_exit(rd_kafka_conf_t *conf, const char *name, const char *value);

/* True once the client reported a fatal error (see kafka_conf_new). */
bool kafka_fatal(void);

/* Parse a -o argument as kcat does: "beginning", "end", "stored", an
 * absolute offset N >= 0, or -N for N messages before the end. Returns 0 and
 * sets *offset to an offset or one of librdkafka's logical offsets
 * (RD_KAFKA_OFFSET_BEGINNING, _END, _STORED, RD_KAFKA_OFFSET_TAIL(N)), or -1. */
int kafka_offset_parse(const char *s, int64_t *offset);

/* Parse a -p argument: partition numbers and ranges separated by commas,
 * "0,1,3" or "0-3" or "0-1,6". Appends each partition to *parts (grown with
 * realloc; *n counts them). Returns 0, or -1 when s is malformed, a number is
 * negative or above INT32_MAX, a range runs backwards, or a partition is
 * named twice. */
int kafka_partitions_parse(const char *s, int32_t **parts, size_t *n);

/* Commit what was stored (waiting for the answer), leave the group and
 * destroy rk. With the brokers
 * gone rd_kafka_consumer_close() would wait for them indefinitely: after
 * timeout_s seconds the process says so and exits with EX_UNAVAILABLE (the
 * group notices at its session timeout). So everything worth keeping
 * (output, metrics) must be written before the call. Uses SIGALRM. */
void kafka_consumer_close(rd_kafka_t *rk, int timeout_s);

#endif
