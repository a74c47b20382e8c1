/* kafka_source: see kafka_source.h.
 *
 * One thread does everything: librdkafka runs the rebalance callback inside
 * rd_kafka_consumer_poll, so the partition table and the output need no
 * lock. */
#include "kafka_source.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>

#include "clock.h"
#include "control_line.h"
#include "diag.h"
#include "kafka_msg.h"

/* Flush and store offsets at least this often under load. */
#define FLUSH_INTERVAL_MS 100
/* How long a poll waits while nothing is pending (bounds the reaction to
 * SIGTERM); with output pending it does not wait at all. */
#define POLL_IDLE_MS 100
#define LAG_INTERVAL_MS 1000
#define METADATA_TIMEOUT_MS 5000
#define METADATA_ATTEMPTS 3
/* Redis timeout of the state store's connection and replies. */
#define STORE_TIMEOUT_MS 5000
/* How often the store is asked whether the states of a handover are in. */
#define HANDOVER_POLL_MS 10
/* Longest wait to commit and leave the group at exit. */
#define CLOSE_TIMEOUT_S 5
/* Longest wait for the reader to take what is in the pipe before the
 * partitions are handed to another member; what it has not taken by then
 * is read again there. */
#define REVOKE_DRAIN_MS 1000

/* The output's byte position just after a record, and the offset to
 * commit once the reader has taken every byte before it. */
struct delivery_mark {
    uint64_t byte_end;
    int64_t next_offset;
};

struct partition_state {
    bool assigned;
    bool at_eof;
    int64_t next_offset;         /* after the last record handed to the output, or -1 */
    int64_t marked_offset;       /* next_offset of the newest delivery mark, or -1 */
    int64_t stored_offset;       /* last offset stored for commit, or -1 */
    struct delivery_mark *marks; /* oldest first, not yet delivered */
    size_t n_marks, cap_marks;
    double *lag;
};

struct kafka_source {
    rd_kafka_t *rk;
    struct kafka_source_options opt;
    out_buf *out;
    strbuf line;
    metrics *m;
    uint64_t *in_total, *out_total, *raw_total;
    struct partition_state *parts;
    size_t n_parts;
    uint64_t bytes_handed; /* bytes given to the output, in all */
    int64_t last_flush_ms, last_lag_ms;
    bool assigned_once;
    bool downstream_gone;
    bool handed_over; /* at the end: every partition's state asked for already */
    redisContext *store;
    int exit_code;
};

static struct partition_state *partition(struct kafka_source *c, int32_t p)
{
    if ((size_t)p >= c->n_parts) {
        size_t n = (size_t)p + 1;
        struct partition_state *grown = realloc(c->parts, n * sizeof *grown);
        if (!grown) abort();
        for (size_t i = c->n_parts; i < n; i++)
            grown[i] = (struct partition_state){
                .next_offset = -1, .marked_offset = -1, .stored_offset = -1};
        c->parts = grown;
        c->n_parts = n;
    }
    return &c->parts[p];
}

/* The downstream reader went away (EPIPE: stop quietly) or the write failed
 * (stop with EX_IOERR). */
static void output_failed(struct kafka_source *c)
{
    if (errno != EPIPE) {
        diag_warn("write error: %m");
        c->exit_code = EX_IOERR;
    }
    c->downstream_gone = true;
    sp_running = 0;
}

static void write_line(struct kafka_source *c)
{
    if (c->downstream_gone) return;
    if (out_write(c->out, c->line.data, c->line.len) < 0) {
        output_failed(c);
        return;
    }
    c->bytes_handed += c->line.len;
}

/* Remember that the partition's records up to next_offset end at the
 * output's current byte position. */
static void mark_handed(struct kafka_source *c, struct partition_state *ps)
{
    if (ps->next_offset <= ps->marked_offset) return;
    if (ps->n_marks == ps->cap_marks) {
        ps->cap_marks = ps->cap_marks ? 2 * ps->cap_marks : 16;
        ps->marks = realloc(ps->marks, ps->cap_marks * sizeof *ps->marks);
        if (!ps->marks) abort();
    }
    ps->marks[ps->n_marks++] = (struct delivery_mark){c->bytes_handed, ps->next_offset};
    ps->marked_offset = ps->next_offset;
}

/* The offset after the partition's last record the reader has taken
 * (delivered bytes of output in all), or -1 when no new one is. */
static int64_t take_delivered(struct partition_state *ps, uint64_t delivered)
{
    size_t n = 0;
    while (n < ps->n_marks && ps->marks[n].byte_end <= delivered)
        n++;
    if (n == 0) return -1;
    int64_t offset = ps->marks[n - 1].next_offset;
    memmove(ps->marks, ps->marks + n, (ps->n_marks - n) * sizeof *ps->marks);
    ps->n_marks -= n;
    return offset;
}

/* In a group, store for commit the offset after the last record of each
 * partition that the reader has taken from the output: a record that only
 * sits in the pipe is not downstream yet, and one lost there when the
 * reader goes away must be read again by whoever resumes the group. */
static void store_delivered(struct kafka_source *c)
{
    if (!c->opt.group) return;
    uint64_t delivered = out_delivered(c->out);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < c->n_parts; i++) {
        struct partition_state *ps = &c->parts[i];
        if (!ps->assigned) continue;
        mark_handed(c, ps);
        int64_t offset = take_delivered(ps, delivered);
        if (offset <= ps->stored_offset) continue;
        rd_kafka_topic_partition_list_add(list, c->opt.topic, (int32_t)i)->offset = offset;
        ps->stored_offset = offset;
    }
    if (list->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, list);
        if (err) diag_warn("cannot store offsets: %s", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(list);
}

/* Flush the output, then store what has been delivered. */
static void flush_and_store(struct kafka_source *c)
{
    c->last_flush_ms = monotonic_ms();
    if (!c->downstream_gone && out_flush(c->out) < 0) output_failed(c);
    store_delivered(c);
}

/* Give the reader up to timeout_ms to take what is in the pipe, then store
 * what has been delivered. */
static void drain_and_store(struct kafka_source *c, int timeout_ms)
{
    c->last_flush_ms = monotonic_ms();
    if (!c->downstream_gone && out_drain(c->out, timeout_ms) < 0 && errno != ETIMEDOUT)
        output_failed(c);
    store_delivered(c);
}

/* The control line naming every partition now assigned. */
static void announce_assignment(struct kafka_source *c)
{
    rd_kafka_topic_partition_list_t *now = NULL;
    rd_kafka_resp_err_t err = rd_kafka_assignment(c->rk, &now);
    if (err) {
        diag_warn("cannot read the assignment: %s", rd_kafka_err2str(err));
        return;
    }
    struct control_partition *parts = calloc(now->cnt ? (size_t)now->cnt : 1, sizeof *parts);
    if (parts == NULL) abort();
    for (int i = 0; i < now->cnt; i++)
        parts[i] = (struct control_partition){now->elems[i].topic, strlen(now->elems[i].topic),
                                              now->elems[i].partition};
    sb_reset(&c->line);
    control_assignment_format(&c->line, parts, (size_t)now->cnt);
    free(parts);
    rd_kafka_topic_partition_list_destroy(now);
    write_line(c);
}

static void mark_assigned(struct kafka_source *c, const rd_kafka_topic_partition_list_t *parts,
                          bool assigned)
{
    for (int i = 0; i < parts->cnt; i++) {
        struct partition_state *ps = partition(c, parts->elems[i].partition);
        ps->assigned = assigned;
        ps->at_eof = false;
        ps->next_offset = ps->marked_offset = ps->stored_offset = -1;
        ps->n_marks = 0;
        if (assigned && !ps->lag) {
            char labels[128];
            snprintf(labels, sizeof labels, "topic=\"%s\",partition=\"%" PRId32 "\"", c->opt.topic,
                     parts->elems[i].partition);
            ps->lag = metrics_gauge(c->m, "sp_kafka_consumer_lag", labels,
                                    "Messages in the partition not yet consumed.");
        }
    }
    if (assigned) c->assigned_once = true;
}

/* Start each partition at its checkpoint offset when --resume-from has one;
 * the others keep default (the -o offset, or in a group the committed one). */
static void apply_start_offsets(struct kafka_source *c, rd_kafka_topic_partition_list_t *parts,
                                int64_t otherwise)
{
    for (int i = 0; i < parts->cnt; i++) {
        int64_t saved =
            c->opt.resume ? partition_offsets_get(c->opt.resume, parts->elems[i].partition) : -1;
        parts->elems[i].offset = saved >= 0 ? saved : otherwise;
    }
}

/* ---- the state store ------------------------------------------------------ */

/* The store's connection, made on first use; NULL with err when it cannot
 * be had. */
static redisContext *store_connection(struct kafka_source *c, char *err, size_t errlen)
{
    if (c->store == NULL)
        c->store = redis_store_connect(c->opt.state_store, STORE_TIMEOUT_MS, err, errlen);
    return c->store;
}

static void store_drop(struct kafka_source *c)
{
    if (c->store) redisFree(c->store);
    c->store = NULL;
}

/* Read partition's stored state into checkpoint (*next_offset -1 when it
 * has none), retrying with backoff while the store is away: a partition
 * must not start without its state. Returns 0, or -1 when told to stop
 * first. */
static int read_state(struct kafka_source *c, int32_t partition, strbuf *checkpoint,
                      int64_t *next_offset)
{
    char err[512], where[300];
    redis_target_describe(c->opt.state_store, where, sizeof where);
    for (unsigned attempt = 0; sp_running; attempt++) {
        sb_reset(checkpoint);
        *next_offset = -1;
        redisContext *r = store_connection(c, err, sizeof err);
        int rc = r ? redis_read_task_state(r, c->opt.topic, partition, checkpoint, next_offset, err,
                                           sizeof err)
                   : -1;
        if (rc >= 0) {
            if (attempt > 0) diag_warn("state store at %s is back", where);
            return 0;
        }
        store_drop(c);
        if (attempt == 0)
            diag_warn("state store at %s unavailable (%s): partition %s/%d waits for its state",
                      where, err, c->opt.topic, partition);
        sleep_ms(redis_backoff_ms(attempt));
    }
    return -1;
}

/* Newly assigned partitions: send each one's stored state ahead of its
 * records and start it at the state's offset, or at otherwise when it has
 * none. */
static void restore_states(struct kafka_source *c, rd_kafka_topic_partition_list_t *parts,
                           int64_t otherwise)
{
    strbuf checkpoint = STRBUF_INIT;
    for (int i = 0; i < parts->cnt && sp_running; i++) {
        int64_t next_offset;
        struct control_partition p = {c->opt.topic, strlen(c->opt.topic),
                                      parts->elems[i].partition};
        if (read_state(c, p.partition, &checkpoint, &next_offset) != 0) break;
        bool found = checkpoint.len > 0;
        parts->elems[i].offset = next_offset >= 0 ? next_offset : otherwise;
        sb_reset(&c->line);
        control_restore_format(&c->line, &p, found ? checkpoint.data : NULL, checkpoint.len);
        write_line(c);
    }
    sb_free(&checkpoint);
}

/* A token no other handover shares. */
static void new_token(char *token, size_t size)
{
    uint64_t r[2] = {0, 0};
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) r[0] ^= (uint64_t)monotonic_ms();
    snprintf(token, size, "%016" PRIx64 "-%016" PRIx64, r[0], r[1]);
}

/* Whether the store holds, for every partition of parts, a state answering
 * token. A store that is away counts as not yet. */
static bool states_answered(struct kafka_source *c, const rd_kafka_topic_partition_list_t *parts,
                            const char *token)
{
    char err[512];
    redisContext *r = store_connection(c, err, sizeof err);
    for (int i = 0; r != NULL && i < parts->cnt; i++) {
        int rc = redis_read_task_token(r, c->opt.topic, parts->elems[i].partition, token, err,
                                       sizeof err);
        if (rc < 0) store_drop(c);
        if (rc != 1) return false;
    }
    return r != NULL;
}

/* Partitions about to be let go: ask sp-window for their states (a revoke
 * line) and wait until the store holds them, within HANDOVER_TIMEOUT_MS.
 * lost: they may be another member's already, so nothing is asked. */
static void hand_over(struct kafka_source *c, const rd_kafka_topic_partition_list_t *parts,
                      bool lost)
{
    if (c->opt.state_store == NULL || c->downstream_gone || parts->cnt == 0) return;
    char token[CONTROL_TOKEN_MAX];
    new_token(token, sizeof token);
    struct control_partition *list = calloc((size_t)parts->cnt, sizeof *list);
    if (list == NULL) abort();
    for (int i = 0; i < parts->cnt; i++)
        list[i] = (struct control_partition){c->opt.topic, strlen(c->opt.topic),
                                             parts->elems[i].partition};
    sb_reset(&c->line);
    control_revoke_format(&c->line, token, lost, list, (size_t)parts->cnt);
    free(list);
    write_line(c);
    if (!c->downstream_gone && out_flush(c->out) < 0) output_failed(c);
    if (lost) return;
    int64_t start = monotonic_ms();
    while (!c->downstream_gone && !out_reader_gone(c->out) && !states_answered(c, parts, token)) {
        if (monotonic_ms() - start >= HANDOVER_TIMEOUT_MS) {
            diag_warn("handing over %d partition(s) of %s without their newest state after %d s: "
                      "the next owner resumes from the state stored before (exact, only slower)",
                      parts->cnt, c->opt.topic, HANDOVER_TIMEOUT_MS / 1000);
            return;
        }
        sleep_ms(HANDOVER_POLL_MS);
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct kafka_source *c = opaque;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t assign_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (c->opt.state_store)
            restore_states(c, parts, c->opt.offset);
        else
            apply_start_offsets(c, parts, RD_KAFKA_OFFSET_INVALID);
        mark_assigned(c, parts, true);
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            assign_err = rd_kafka_assign(rk, parts);
    } else {
        /* Hand the partitions back with their states stored (with a state
         * store) and everything delivered committed. */
        if (!c->handed_over) hand_over(c, parts, rd_kafka_assignment_lost(rk));
        drain_and_store(c, REVOKE_DRAIN_MS);
        if (!rd_kafka_assignment_lost(rk)) rd_kafka_commit(rk, NULL, 0);
        mark_assigned(c, parts, false);
        if (cooperative)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            assign_err = rd_kafka_assign(rk, NULL);
    }
    if (error) {
        diag_warn("rebalance: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (assign_err) {
        diag_warn("rebalance: %s", rd_kafka_err2str(assign_err));
    }
    /* Eager rebalancing revokes everything before it assigns the new set:
     * the assign step says what holds from now on. */
    if (cooperative || err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) announce_assignment(c);
}

/* Every partition of the topic, from the cluster's metadata. */
static rd_kafka_topic_partition_list_t *all_partitions(struct kafka_source *c)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, c->opt.topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 1; attempt <= METADATA_ATTEMPTS && sp_running; attempt++) {
        err = rd_kafka_metadata(c->rk, 0, rkt, &md, METADATA_TIMEOUT_MS);
        if (!err) break;
        diag_warn("reading the partitions of %s: %s (attempt %d of %d)", c->opt.topic,
                  rd_kafka_err2str(err), attempt, METADATA_ATTEMPTS);
    }
    rd_kafka_topic_destroy(rkt);
    if (err || !md) {
        diag_warn("cannot read the partitions of %s", c->opt.topic);
        return NULL;
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
        rd_kafka_resp_err_t terr =
            md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        rd_kafka_metadata_destroy(md);
        diag_warn("topic %s: %s", c->opt.topic, rd_kafka_err2str(terr));
        return NULL;
    }
    rd_kafka_topic_partition_list_t *list =
        rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(list, c->opt.topic, md->topics[0].partitions[i].id);
    rd_kafka_metadata_destroy(md);
    return list;
}

/* -p (checked against the topic), or every partition: assign once, for
 * the whole run. Returns 0, or EX_UNAVAILABLE after saying why. */
static int assign_static(struct kafka_source *c)
{
    rd_kafka_topic_partition_list_t *list = all_partitions(c);
    if (!list) return EX_UNAVAILABLE;
    if (c->opt.partitions) {
        /* A partition the topic lacks would only produce retry warnings. */
        rd_kafka_topic_partition_list_t *chosen =
            rd_kafka_topic_partition_list_new((int)c->opt.n_partitions);
        for (size_t i = 0; i < c->opt.n_partitions; i++) {
            int32_t p = c->opt.partitions[i];
            if (!rd_kafka_topic_partition_list_find(list, c->opt.topic, p)) {
                diag_warn("topic %s has no partition %" PRId32, c->opt.topic, p);
                rd_kafka_topic_partition_list_destroy(chosen);
                rd_kafka_topic_partition_list_destroy(list);
                return EX_UNAVAILABLE;
            }
            rd_kafka_topic_partition_list_add(chosen, c->opt.topic, p);
        }
        rd_kafka_topic_partition_list_destroy(list);
        list = chosen;
    }
    if (c->opt.state_store)
        restore_states(c, list, c->opt.offset);
    else
        apply_start_offsets(c, list, c->opt.offset);
    mark_assigned(c, list, true);
    rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) {
        diag_warn("cannot assign partitions: %s", rd_kafka_err2str(err));
        return EX_UNAVAILABLE;
    }
    announce_assignment(c);
    return 0;
}

static bool all_at_eof(const struct kafka_source *c)
{
    if (!c->assigned_once) return false;
    for (size_t i = 0; i < c->n_parts; i++)
        if (c->parts[i].assigned && !c->parts[i].at_eof) return false;
    return true;
}

static void handle_error(struct kafka_source *c, const rd_kafka_message_t *msg)
{
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        partition(c, msg->partition)->at_eof = true;
        return;
    }
    if (msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
        msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
        diag_warn("%s: %s", c->opt.topic, rd_kafka_message_errstr(msg));
        c->exit_code = EX_UNAVAILABLE;
        sp_running = 0;
        return;
    }
    diag_warn("%s [%" PRId32 "]: %s", c->opt.topic, msg->partition, rd_kafka_message_errstr(msg));
}

static void handle_message(struct kafka_source *c, const rd_kafka_message_t *msg)
{
    struct partition_state *ps = partition(c, msg->partition);
    ps->at_eof = false;
    (*c->in_total)++;
    sb_reset(&c->line);
    if (!kafka_msg_to_ndjson(&c->line, c->opt.topic, msg->partition, msg->offset, msg->payload,
                             msg->len))
        (*c->raw_total)++;
    write_line(c);
    if (c->downstream_gone) return;
    (*c->out_total)++;
    ps->next_offset = msg->offset + 1;
}

/* Lag = the partition's high watermark (as last fetched; no request is
 * sent) minus the next offset to hand downstream. */
static void update_lag(struct kafka_source *c)
{
    c->last_lag_ms = monotonic_ms();
    for (size_t i = 0; i < c->n_parts; i++) {
        struct partition_state *ps = &c->parts[i];
        int64_t low, high;
        if (!ps->assigned || ps->next_offset < 0) continue;
        if (rd_kafka_get_watermark_offsets(c->rk, c->opt.topic, (int32_t)i, &low, &high) ||
            high < 0)
            continue;
        *ps->lag = (double)(high > ps->next_offset ? high - ps->next_offset : 0);
    }
    metrics_tick(c->m);
}

void kafka_source_run(kafka_source *c)
{
    while (sp_running) {
        /* Output goes the moment no message waits: large batches under
         * load, a record at once when they trickle in. */
        int timeout = out_pending(c->out) ? 0 : POLL_IDLE_MS;
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, timeout);
        if (msg) {
            if (msg->err)
                handle_error(c, msg);
            else
                handle_message(c, msg);
            rd_kafka_message_destroy(msg);
        }
        int64_t now = monotonic_ms();
        if (!msg || now - c->last_flush_ms >= FLUSH_INTERVAL_MS) flush_and_store(c);
        if (now - c->last_lag_ms >= LAG_INTERVAL_MS) update_lag(c);
        if (c->opt.exit_at_eof && all_at_eof(c)) break;
    }
}

kafka_source *kafka_source_new(rd_kafka_conf_t *conf, const struct kafka_source_options *opt,
                               out_buf *out, metrics *m, char *err, size_t errlen)
{
    kafka_source *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->opt = *opt;
    c->out = out;
    c->m = m;
    c->in_total = metrics_counter(m, "sp_events_in_total", NULL, "Messages consumed.");
    c->out_total = metrics_counter(m, "sp_events_out_total", NULL, "Lines written.");
    c->raw_total = metrics_counter(m, "sp_kafka_raw_total", NULL,
                                   "Messages that were not a one-line JSON object (_raw).");
    rd_kafka_conf_set_opaque(conf, c);
    if (opt->group) rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (!c->rk) {
        free(c);
        return NULL;
    }
    rd_kafka_poll_set_consumer(c->rk);
    c->last_flush_ms = c->last_lag_ms = monotonic_ms();
    return c;
}

int kafka_source_start(kafka_source *c)
{
    if (!c->opt.group) return assign_static(c);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, c->opt.topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (!err) return 0;
    diag_warn("cannot subscribe to %s: %s", c->opt.topic, rd_kafka_err2str(err));
    return EX_UNAVAILABLE;
}

/* At the end, unless the input was read to its end (-e: sp-window then
 * closes every window itself), every partition goes with its state. */
static void hand_over_all(struct kafka_source *c)
{
    rd_kafka_topic_partition_list_t *now = NULL;
    if (c->opt.state_store == NULL || c->opt.exit_at_eof || rd_kafka_assignment(c->rk, &now))
        return;
    hand_over(c, now, false);
    rd_kafka_topic_partition_list_destroy(now);
    c->handed_over = true;
}

int kafka_source_finish(kafka_source *c)
{
    hand_over_all(c);
    drain_and_store(c, CLOSE_TIMEOUT_S * 1000);
    update_lag(c);
    /* Nothing more is written, but the output stays open until the group is
     * left: the revoke callback still asks it what was delivered. */
    bool failed_before = c->downstream_gone;
    c->downstream_gone = true;
    metrics_write(c->m);
    kafka_consumer_close(c->rk, CLOSE_TIMEOUT_S);
    if (out_close(c->out) < 0 && !failed_before && errno != EPIPE && !c->exit_code) {
        diag_warn("write error: %m");
        c->exit_code = EX_IOERR;
    }
    int code = c->exit_code;
    if (kafka_fatal() && !code) code = EX_UNAVAILABLE;
    sb_free(&c->line);
    store_drop(c);
    for (size_t i = 0; i < c->n_parts; i++)
        free(c->parts[i].marks);
    free(c->parts);
    free(c);
    return code;
}
