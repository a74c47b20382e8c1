/* redis_store: where window results live in Redis (SPEC section 7), written
 * by sp-redis-sink and read by sp-serve. The key layout is defined here and
 * nowhere else:
 *
 *   region:{regionId}:window:{windowStart}   the result JSON line, EX ttl
 *   region:{regionId}:windows                ZSET of window starts (score =
 *                                            member = epoch seconds), trimmed
 *                                            to ttl back from its newest start
 *   window:{windowStart}:rank:{metric}       ZSET member regionId, score the
 *                                            metric, EX ttl
 *   regions                                  SET of region ids
 *   sp:latest_window                         newest FINAL window start; never
 *                                            moves backwards
 *   sp:task:{topic}:{partition}              HASH of one Kafka partition's
 *                                            task state (streampulse(7)):
 *                                            next_offset, checkpoint (the
 *                                            task's checkpoint document) and
 *                                            token (the revoke it answered,
 *                                            "" for none); no expiry
 *
 * Window starts are epoch seconds throughout. Writes go in batches: one
 * MULTI/EXEC pipeline per batch, with the index, rank and region updates of
 * the batch merged into one command per key, so a batch of 1000 results over
 * 10 windows and 100 regions costs about 1250 commands, not 9000. Every
 * command is idempotent, so a batch may be replayed after an error. The
 * index trim is a small Lua script (it needs the index's newest start,
 * which an older batch replayed later does not know).
 *
 * A task state goes into the MULTI/EXEC of the batch it closes, so Redis
 * holds a partition's results and the state that accounts for them
 * together or not at all.
 *
 * The reads take one round trip each (a small Lua script where a read needs
 * two steps), so sp-serve holds no state of its own. */
#ifndef SP_REDIS_STORE_H
#define SP_REDIS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "strbuf.h"
#include "window_result.h"

#define REDIS_KEY_REGIONS "regions"
#define REDIS_KEY_LATEST "sp:latest_window"

/* Largest region id the layout accepts (ids are written as decimal text and
 * read back by the API, which rejects anything longer). */
#define REDIS_REGION_MAX INT64_C(999999999999999)

/* Where to connect: TCP host and port, or a unix socket when socket_path
 * is not empty; then AUTH password (when not empty) and SELECT db. */
struct redis_target {
    char host[256];
    int port;
    char socket_path[108];
    char password[256];
    int db;
};

/* Fill t with the default target, 127.0.0.1:6379 database 0. */
void redis_target_default(struct redis_target *t);

/* Parse redis://[:password@]host[:port][/db] (also redis://user:password@…,
 * the user being ignored as Redis 5 has none) into t, keeping defaults for
 * the parts left out. Returns 0, or -1 with a reason in err. */
int redis_target_parse_url(const char *url, struct redis_target *t, char *err, size_t errlen);

/* Use the unix socket at path instead of TCP. Returns 0, or -1 when the path
 * does not fit a sockaddr_un. */
int redis_target_set_socket(struct redis_target *t, const char *path);

/* "host:port" or the socket path, for messages (never the password). */
void redis_target_describe(const struct redis_target *t, char *out, size_t outlen);

/* Key names. Each appends to sb (which it does not reset). */
void redis_key_window(strbuf *sb, int64_t region, int64_t start_s);
void redis_key_index(strbuf *sb, int64_t region);
void redis_key_rank(strbuf *sb, int64_t start_s, const char *metric);
void redis_key_task(strbuf *sb, const char *topic, size_t topic_len, int32_t partition);

/* Retry schedule: the wait before retry number attempt (0-based) is
 * REDIS_BACKOFF_FIRST_MS doubled each time, capped at REDIS_BACKOFF_MAX_MS. */
#define REDIS_BACKOFF_FIRST_MS 100
#define REDIS_BACKOFF_MAX_MS 5000
int64_t redis_backoff_ms(unsigned attempt);

/* Connect to t, authenticate and select the database, with timeout_ms for
 * the connection and for every reply after it. Returns the context, or NULL
 * with a reason in err. Free with redisFree(). */
redisContext *redis_store_connect(const struct redis_target *t, int timeout_ms, char *err,
                                  size_t errlen);

/* ---- writing ---- */

typedef struct redis_batch redis_batch;

/* A batch whose keys expire after ttl_s seconds (0: never; then the index
 * is not trimmed either) and which ranks regions by the given metrics. The
 * metric names are copied. */
redis_batch *redis_batch_new(int64_t ttl_s, const char *const *rank_metrics, size_t n_rank_metrics);
void redis_batch_free(redis_batch *b);

/* Add one result; line[0..len) is the exact text stored as its value. The
 * key must be a non-negative integer up to REDIS_REGION_MAX (the layout and
 * the API are about regions). Returns 0, or -1 with a reason in err when the
 * result cannot be stored. A metric the result lacks is simply not ranked. */
int redis_batch_add(redis_batch *b, const struct window_result *r, const char *line, size_t len,
                    char *err, size_t errlen);

/* Add the state of a Kafka partition's task (a _kafka_state line,
 * control_line.h): checkpoint[0..len) is its document, token the revoke it
 * answers ("" for none). A later state of the same partition in the batch
 * replaces it. */
void redis_batch_add_task_state(redis_batch *b, const char *topic, size_t topic_len,
                                int32_t partition, int64_t next_offset, const char *token,
                                const char *checkpoint, size_t len);

/* Results added since the last redis_batch_clear(). */
size_t redis_batch_count(const redis_batch *b);

/* Whether the batch holds nothing at all: no result and no task state. */
bool redis_batch_empty(const redis_batch *b);

/* Forget every result; keep the memory for the next batch. */
void redis_batch_clear(redis_batch *b);

/* The whole batch as Redis protocol text: MULTI, the commands, EXEC. Sets
 * *n_commands to the number of commands in it (MULTI and EXEC included),
 * which is the number of replies the server sends back. Resets out first.
 * Pure: this is what redis_batch_exec() sends. */
void redis_batch_encode(const redis_batch *b, strbuf *out, size_t *n_commands);

/* Send the batch (MULTI ... EXEC) without waiting for the answer, so the
 * caller can prepare the next batch while Redis works on this one. Sets
 * *n_replies to the replies to read with redis_batch_wait(). Returns 0, or
 * -1 with a reason in err when the connection failed. */
int redis_batch_send(redisContext *c, const redis_batch *b, size_t *n_replies, char *err,
                     size_t errlen);

/* Read the n_replies replies of a sent batch. Returns 0 when EXEC ran every
 * command without error; -1 with a reason in err otherwise (connection
 * lost, LOADING, OOM, an error inside the transaction): the caller then
 * reconnects and sends the same batch again, which is safe as every command
 * is idempotent. After -1 the context may be unusable; free it. */
int redis_batch_wait(redisContext *c, size_t n_replies, char *err, size_t errlen);

/* redis_batch_send(), then redis_batch_wait(). */
int redis_batch_exec(redisContext *c, const redis_batch *b, char *err, size_t errlen);

/* ---- reading (sp-serve) ----
 * Each returns 1 when found, 0 when there is nothing, -1 on a Redis error
 * (err says which; the context should then be freed and reconnected). */

/* The region's newest window whose value still exists: its JSON into out
 * (appended). */
int redis_read_newest(redisContext *c, int64_t region, strbuf *out, char *err, size_t errlen);

/* The region's newest window starting at or before at_s: its JSON into out.
 * The caller checks that the window also ends after the time it wants. */
int redis_read_at_or_before(redisContext *c, int64_t region, int64_t at_s, strbuf *out, char *err,
                            size_t errlen);

/* The region's newest window start into *start_s. */
int redis_read_newest_start(redisContext *c, int64_t region, int64_t *start_s, char *err,
                            size_t errlen);

/* The region's windows with from_s <= start <= to_s, oldest first, at most
 * max_windows of them, appended to out as JSON values separated by commas
 * (windows whose value has expired are left out). *count gets how many. */
int redis_read_range(redisContext *c, int64_t region, int64_t from_s, int64_t to_s,
                     size_t max_windows, strbuf *out, size_t *count, char *err, size_t errlen);

/* sp:latest_window into *start_s. */
int redis_read_latest_final(redisContext *c, int64_t *start_s, char *err, size_t errlen);

/* Over every region, the newest window starting at or before at_s: its
 * start into *start_s and one of its values (appended to out) so the caller
 * can check its end. */
int redis_read_window_at_or_before(redisContext *c, int64_t at_s, int64_t *start_s, strbuf *out,
                                   char *err, size_t errlen);

/* The top limit regions of the window's rank by metric, highest first, as
 * JSON objects {"regionId":N,"value":V} separated by commas, appended to out. */
int redis_read_top(redisContext *c, int64_t start_s, const char *metric, size_t limit, strbuf *out,
                   char *err, size_t errlen);

/* Called once per region id: json[0..len) its value at the window asked
 * for, or json NULL when the region has none there. */
typedef void (*redis_value_fn)(void *arg, int64_t region, const char *json, size_t len);

/* sp:latest_window into *start_s and, in the same round trip (one script),
 * each(arg, …) for every region in the regions set with its value at that
 * window. 0 while sp:latest_window is unset (each is never called). */
int redis_read_latest_values(redisContext *c, int64_t *start_s, redis_value_fn each, void *arg,
                             char *err, size_t errlen);

/* The stored state of a Kafka partition's task: its checkpoint document
 * appended to checkpoint and its next offset into *next_offset. */
int redis_read_task_state(redisContext *c, const char *topic, int32_t partition, strbuf *checkpoint,
                          int64_t *next_offset, char *err, size_t errlen);

/* Whether the stored state of the partition answers token: 1 yes, 0 not
 * (yet). */
int redis_read_task_token(redisContext *c, const char *topic, int32_t partition, const char *token,
                          char *err, size_t errlen);

/* PING. Returns 1 when the server answers PONG, -1 otherwise. */
int redis_read_ping(redisContext *c, char *err, size_t errlen);

#endif
