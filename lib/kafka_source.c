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
#include <sysexits.h>

#include "clock.h"
#include "diag.h"
#include "kafka_msg.h"

/* Flush and store offsets at least this often under load. */
#define FLUSH_INTERVAL_MS 100
/* How long a poll waits while output is pending (idle input flushes it) and
 * while nothing is (bounds the reaction to SIGTERM). */
#define POLL_PENDING_MS 10
#define POLL_IDLE_MS 100
#define LAG_INTERVAL_MS 1000
#define METADATA_TIMEOUT_MS 5000
#define METADATA_ATTEMPTS 3
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
    sb_reset(&c->line);
    kafka_assignment_format(&c->line, now);
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
        int64_t saved = c->opt.resume ? kafka_offsets_get(c->opt.resume, parts->elems[i].partition)
                                      : RD_KAFKA_OFFSET_INVALID;
        parts->elems[i].offset = saved != RD_KAFKA_OFFSET_INVALID ? saved : otherwise;
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
        apply_start_offsets(c, parts, RD_KAFKA_OFFSET_INVALID);
        mark_assigned(c, parts, true);
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            assign_err = rd_kafka_assign(rk, parts);
    } else {
        /* Hand the partitions back with everything delivered committed, so
         * the next owner starts exactly after it. */
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
        int timeout = out_pending(c->out) ? POLL_PENDING_MS : POLL_IDLE_MS;
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

int kafka_source_finish(kafka_source *c)
{
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
    for (size_t i = 0; i < c->n_parts; i++)
        free(c->parts[i].marks);
    free(c->parts);
    free(c);
    return code;
}
