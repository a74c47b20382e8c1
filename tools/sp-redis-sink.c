/* sp-redis-sink: window results (NDJSON) into Redis, in MULTI/EXEC batches,
 * with the indexes sp-serve reads (SPEC section 7). While Redis is away it
 * retries the same batch and stops reading, so the pipe fills, upstream
 * waits, and nothing is lost. With --checkpoint it completes the checkpoints
 * of sp-window --barriers: a barrier line moves the pending checkpoint into
 * place once Redis has every result before it (checkpoint.h). A Kafka
 * partition's state (a _kafka_state line, control_line.h) is stored in the
 * same MULTI/EXEC as the results before it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "control_line.h"
#include "diag.h"
#include "dlq.h"
#include "event_time.h"
#include "clock.h"
#include "line_io.h"
#include "metrics.h"
#include "redis_store.h"
#include "result_reader.h"
#include "window_result.h"

#define DEFAULT_BATCH 1000
#define MAX_BATCH 100000
#define REDIS_TIMEOUT_MS 5000

struct config {
    struct cli_redis redis;
    int64_t ttl_s;
    size_t batch;
    const char *dlq_path;
    const char *metrics_path;
    const char *input_path;
    const char *checkpoint_path; /* completed on barrier lines; NULL: ignore them */
    int64_t give_up_ms;          /* 0: retry for ever */
    uint64_t retry_limit;        /* 0: no limit */
};

struct counters {
    uint64_t *in, *out, *redis_errors, *retries, *batches, *checkpoints, *task_states;
    uint64_t *dlq[DLQ_ERROR_COUNT];
};

/* Two batches: one filling from the input while the other is on its way to
 * Redis (sent, its replies not read yet), so parsing and Redis overlap. */
struct sink {
    struct config *cfg;
    redisContext *redis;
    redis_batch *batch;    /* filling */
    redis_batch *inflight; /* sent, awaiting replies (when inflight_replies) */
    size_t inflight_replies;
    out_buf *dlq;
    metrics *metrics;
    struct counters n;
    int64_t first_pending_ms; /* when the oldest result of the batch arrived */
    bool barrier_ignored;     /* warned of a barrier without --checkpoint */
};

static const struct cli_usage usage = {
    .synopsis =
        "usage: sp-redis-sink [-q] [-u url | -s path] [-t ttl] [-r metric] [-b n] [--dlq path]\n"
        "                     [--checkpoint path] [--give-up-after duration] [--retry-limit n]\n"
        "                     [--metrics-file path] [file]\n"
        "       sp-redis-sink -h | --help | --version\n",
    .options = "Write window results (NDJSON, from FILE or stdin) into Redis.\n"
               "\n"
               "  -u, --url URL          redis://[:password@]host[:port][/db] (default\n"
               "                         redis://127.0.0.1:6379/0)\n"
               "  -s, --socket PATH      connect to Redis over a unix socket instead\n"
               "  -t, --ttl D            expiry of the keys (default 86400s; 0 keeps them)\n"
               "  -r, --rank METRIC      rank regions by METRIC (repeatable; default\n"
               "                         tripCount and avgFare)\n"
               "  -b, --batch N          at most N results per MULTI/EXEC (default 1000)\n"
               "      --dlq PATH         append dead-letter records to PATH (default stderr)\n"
               "      --checkpoint PATH  complete sp-window's checkpoints at PATH: on each\n"
               "                         barrier, once Redis has every result before it\n"
               "      --give-up-after D  exit 69 when Redis stays away for D (default never)\n"
               "      --retry-limit N    exit 69 after N failed retries of a batch\n"
               "      --metrics-file PATH  Prometheus textfile, rewritten every few seconds\n"
               "  -q, --quiet            no diagnostics\n"
               "  -h, --help             this help\n"
               "      --version          print the version\n",
};

enum { OPT_DLQ = CLI_OPT_PROGRAM, OPT_CHECKPOINT, OPT_GIVE_UP, OPT_RETRY_LIMIT };

static void parse_args(int argc, char **argv, struct config *cfg)
{
    static const struct option options[] = {
        CLI_REDIS_OPTIONS,
        {"ttl", required_argument, NULL, 't'},
        {"batch", required_argument, NULL, 'b'},
        {"dlq", required_argument, NULL, OPT_DLQ},
        {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
        {"give-up-after", required_argument, NULL, OPT_GIVE_UP},
        {"retry-limit", required_argument, NULL, OPT_RETRY_LIMIT},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cli_redis_init(&cfg->redis);
    cfg->ttl_s = 86400;
    cfg->batch = DEFAULT_BATCH;
    int c;
    while ((c = cli_getopt(argc, argv, "u:s:t:r:b:qh", options, &cfg->metrics_path)) != -1) {
        switch (c) {
        case 'u':
        case 's':
        case 'r':
            cli_redis_option(&cfg->redis, c, optarg);
            break;
        case 't':
            cfg->ttl_s = (cli_duration_ms("--ttl", optarg) + 999) / 1000;
            break;
        case 'b':
            cfg->batch = cli_count("--batch", optarg, 1, MAX_BATCH);
            break;
        case OPT_DLQ:
            cfg->dlq_path = optarg;
            break;
        case OPT_CHECKPOINT:
            cfg->checkpoint_path = optarg;
            break;
        case OPT_GIVE_UP:
            cfg->give_up_ms = cli_duration_ms("--give-up-after", optarg);
            break;
        case OPT_RETRY_LIMIT:
            cfg->retry_limit = cli_count("--retry-limit", optarg, 0, UINT64_MAX);
            break;
        }
    }
    if (argc - optind > 1) cli_usage_error("unexpected argument '%s'", argv[optind + 1]);
    cfg->input_path = optind < argc ? argv[optind] : NULL;
    cli_redis_finish(&cfg->redis);
}

static void register_counters(struct sink *s)
{
    metrics *m = s->metrics;
    s->n.in = metrics_counter(m, "sp_events_in_total", NULL, "Input lines read.");
    s->n.out = metrics_counter(m, "sp_events_out_total", NULL, "Window results written to Redis.");
    s->n.redis_errors =
        metrics_counter(m, "sp_redis_errors_total", NULL, "Failed Redis connections or batches.");
    s->n.retries = metrics_counter(m, "sp_redis_retries_total", NULL, "Batches sent again.");
    s->n.batches =
        metrics_counter(m, "sp_redis_batches_total", NULL, "MULTI/EXEC batches written.");
    s->n.checkpoints = metrics_counter(m, "sp_checkpoints_completed_total", NULL,
                                       "Checkpoints of sp-window completed on their barrier.");
    s->n.task_states = metrics_counter(m, "sp_task_states_stored_total", NULL,
                                       "Kafka partition states stored with their results.");
    for (int e = 0; e < DLQ_ERROR_COUNT; e++) {
        char labels[64];
        snprintf(labels, sizeof labels, "error_type=\"%s\"", dlq_error_name(e));
        s->n.dlq[e] = metrics_counter(m, "sp_dlq_total", labels, "Dead-letter records written.");
    }
}

/* One input line that is not a storable result becomes a DLQ record. */
static void dead_letter(struct sink *s, enum dlq_error error, const char *reason, const char *field,
                        const char *line, size_t len, uint64_t line_no)
{
    struct dlq_record rec = {
        .error = error,
        .reason = reason,
        .field = field,
        .component = "sp-redis-sink",
        .source = {.line = line_no},
        .original = line,
        .original_len = len,
    };
    strbuf sb = STRBUF_INIT;
    dlq_format(&sb, &rec);
    if (out_write(s->dlq, sb.data, sb.len) != 0)
        diag_warn("cannot write the DLQ: %s", strerror(errno));
    sb_free(&sb);
    ++*s->n.dlq[error];
}

static void take_line(struct sink *s, const char *line, size_t len, uint64_t line_no)
{
    struct window_result r;
    char err[256];
    if (result_reader_parse(line, len, &r, err, sizeof err) != 0) {
        json_t *doc = json_loadb(line, len, JSON_DECODE_ANY, NULL);
        dead_letter(s, doc ? DLQ_SCHEMA_VIOLATION : DLQ_JSON_PARSE_ERROR, doc ? err : "not JSON",
                    NULL, line, len, line_no);
        json_decref(doc);
        return;
    }
    if (redis_batch_add(s->batch, &r, line, len, err, sizeof err) != 0) {
        dead_letter(s, DLQ_SCHEMA_VIOLATION, err, r.key_name, line, len, line_no);
        return;
    }
    if (redis_batch_count(s->batch) == 1) s->first_pending_ms = monotonic_ms();
}

/* Sleep ms, waking early when a signal clears sp_running. */
static void pause_ms(int64_t ms)
{
    int64_t until = monotonic_ms() + ms;
    while (sp_running && monotonic_ms() < until)
        sleep_ms(20);
}

/* Count a batch Redis has taken and forget it. */
static void batch_done(struct sink *s, redis_batch *b)
{
    *s->n.out += redis_batch_count(b);
    ++*s->n.batches;
    redis_batch_clear(b);
    out_flush(s->dlq);
    metrics_tick(s->metrics);
}

/* Write b synchronously, retrying with backoff for as long as the
 * configuration allows; first_err is why the first try failed. Input is not
 * read meanwhile. Returns 0 when written, -1 when giving up (exit 69). */
static int write_with_retry(struct sink *s, redis_batch *b, const char *first_err)
{
    char where[300], err[512];
    redis_target_describe(&s->cfg->redis.target, where, sizeof where);
    snprintf(err, sizeof err, "%s", first_err);
    int64_t outage_start = monotonic_ms();
    diag_warn("Redis at %s unavailable (%s); holding input back and retrying", where, err);
    for (unsigned attempt = 0;; attempt++) {
        ++*s->n.redis_errors;
        if (s->redis) {
            redisFree(s->redis);
            s->redis = NULL;
        }
        bool out_of_time =
            s->cfg->give_up_ms > 0 && monotonic_ms() - outage_start >= s->cfg->give_up_ms;
        bool out_of_tries = s->cfg->retry_limit > 0 && attempt >= s->cfg->retry_limit;
        if (out_of_time || out_of_tries || !sp_running) {
            /* b is the batch in flight; the filling one is not written either */
            diag_warn("giving up on Redis at %s (%s): %zu results not written", where, err,
                      redis_batch_count(b) + redis_batch_count(s->batch));
            return -1;
        }
        metrics_tick(s->metrics);
        pause_ms(redis_backoff_ms(attempt));
        ++*s->n.retries;
        s->redis = redis_store_connect(&s->cfg->redis.target, REDIS_TIMEOUT_MS, err, sizeof err);
        if (s->redis && redis_batch_exec(s->redis, b, err, sizeof err) == 0) break;
    }
    diag_warn("Redis at %s is back after %.1f s; nothing lost", where,
              (double)(monotonic_ms() - outage_start) / 1000);
    batch_done(s, b);
    return 0;
}

/* Wait for the batch in flight, if any. Returns 0, or -1 when giving up. */
static int wait_inflight(struct sink *s)
{
    if (s->inflight_replies == 0) return 0;
    char err[512];
    size_t n = s->inflight_replies;
    s->inflight_replies = 0;
    if (redis_batch_wait(s->redis, n, err, sizeof err) == 0) {
        batch_done(s, s->inflight);
        return 0;
    }
    return write_with_retry(s, s->inflight, err);
}

/* Send the filling batch, after the one in flight has been taken, and make
 * it the one in flight. Returns 0, or -1 when giving up on Redis. */
static int send_batch(struct sink *s)
{
    if (redis_batch_empty(s->batch)) return 0;
    if (wait_inflight(s) != 0) return -1;
    redis_batch *b = s->batch;
    s->batch = s->inflight;
    s->inflight = b;
    char err[512] = "not connected";
    if (s->redis == NULL)
        s->redis = redis_store_connect(&s->cfg->redis.target, REDIS_TIMEOUT_MS, err, sizeof err);
    if (s->redis && redis_batch_send(s->redis, b, &s->inflight_replies, err, sizeof err) == 0)
        return 0;
    s->inflight_replies = 0;
    return write_with_retry(s, b, err);
}

/* Everything read so far into Redis, acknowledged. */
static int flush_all(struct sink *s)
{
    return send_batch(s) == 0 && wait_inflight(s) == 0 ? 0 : -1;
}

/* A barrier line: every result before it into Redis, acknowledged, then the
 * pending checkpoint into place. Returns 0, or -1 when giving up on Redis
 * (the checkpoint then stays pending, and a restart resumes before it). */
static int complete_checkpoint(struct sink *s)
{
    const char *path = s->cfg->checkpoint_path;
    if (path == NULL) {
        if (!s->barrier_ignored)
            diag_warn("checkpoint barriers in the input but no --checkpoint: sp-window's "
                      "checkpoints are not completed");
        s->barrier_ignored = true;
        return 0;
    }
    if (flush_all(s) != 0) return -1;
    if (checkpoint_complete(path) != 0)
        diag_warn("cannot complete the checkpoint %s: %s", path, strerror(errno));
    else
        ++*s->n.checkpoints;
    return 0;
}

/* A partition's state: into the batch with the results before it, and the
 * batch into Redis now (a member handing the partition over waits for it).
 * A malformed line is a dead letter. Returns 0, or -1 when giving up on
 * Redis. */
static int store_task_state(struct sink *s, const char *line, size_t len, uint64_t line_no)
{
    struct control_line cl;
    char err[256];
    if (control_line_parse(line, len, &cl, err, sizeof err) != 0) {
        dead_letter(s, DLQ_SCHEMA_VIOLATION, err, "_kafka_state", line, len, line_no);
        control_line_clear(&cl);
        return 0;
    }
    redis_batch_add_task_state(s->batch, cl.part.topic, cl.part.topic_len, cl.part.partition,
                               cl.next_offset, cl.token, cl.checkpoint, cl.checkpoint_len);
    control_line_clear(&cl);
    if (flush_all(s) != 0) return -1;
    ++*s->n.task_states;
    return 0;
}

/* Read, batch and write until the input ends or a signal arrives. Returns
 * the exit status. */
static int run(struct sink *s, line_reader *reader)
{
    for (;;) {
        /* Anything not yet in Redis (a batch filling, or one in flight whose
         * replies are unread) goes the moment the input runs dry: large
         * batches under load, a result at once when they trickle in. */
        bool waiting = !redis_batch_empty(s->batch) || s->inflight_replies > 0;
        int timeout = waiting ? 0 : METRICS_INTERVAL_MS;
        const char *line;
        size_t len;
        enum line_status st = line_reader_next(reader, &line, &len, timeout);
        uint64_t line_no = line_reader_line_number(reader);
        switch (st) {
        case LINE_OK:
            if (checkpoint_is_barrier(line, len)) {
                if (complete_checkpoint(s) != 0) return EX_UNAVAILABLE;
                continue;
            }
            if (control_line_kind(line, len) == CONTROL_STATE) {
                if (store_task_state(s, line, len, line_no) != 0) return EX_UNAVAILABLE;
                continue;
            }
            ++*s->n.in;
            take_line(s, line, len, line_no);
            break;
        case LINE_TOO_LONG:
            ++*s->n.in;
            dead_letter(s, DLQ_LINE_TOO_LONG, "line longer than 1 MiB", NULL, line, len, line_no);
            continue;
        case LINE_IDLE:
            out_flush(s->dlq);
            metrics_tick(s->metrics);
            break;
        case LINE_EOF:
        case LINE_STOPPED:
            return flush_all(s) == 0 ? 0 : EX_UNAVAILABLE;
        case LINE_ERROR:
            diag_warn("read error: %s", strerror(errno));
            return flush_all(s) == 0 ? EX_IOERR : EX_UNAVAILABLE;
        }
        /* A full batch goes out and the next one fills meanwhile, as does
         * one the dry input leaves partial, or one that has waited its 100
         * ms under load; dry with nothing filling, the replies of the batch
         * in flight are read, so nothing sits unacknowledged while idle. */
        bool full = redis_batch_count(s->batch) >= s->cfg->batch;
        bool old = redis_batch_count(s->batch) > 0 &&
                   monotonic_ms() - s->first_pending_ms >= OUT_MAX_DELAY_MS;
        bool dry = st == LINE_IDLE;
        int rc = 0;
        if (full || old || (dry && !redis_batch_empty(s->batch)))
            rc = send_batch(s);
        else if (dry)
            rc = wait_inflight(s);
        if (rc != 0) return EX_UNAVAILABLE;
    }
}

int main(int argc, char **argv)
{
    cli_init("sp-redis-sink", &usage);
    struct config cfg = {0};
    parse_args(argc, argv, &cfg);
    diag_install_signals();

    int in_fd = 0;
    if (cfg.input_path && (in_fd = open(cfg.input_path, O_RDONLY)) < 0)
        diag_fatal(EX_NOINPUT, "cannot open %s: %s", cfg.input_path, strerror(errno));
    int dlq_fd = 2;
    if (cfg.dlq_path &&
        (dlq_fd = open(cfg.dlq_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0)
        diag_fatal(EX_IOERR, "cannot open --dlq %s: %s", cfg.dlq_path, strerror(errno));

    struct sink s = {.cfg = &cfg};
    s.batch = redis_batch_new(cfg.ttl_s, cfg.redis.ranks, cfg.redis.n_ranks);
    s.inflight = redis_batch_new(cfg.ttl_s, cfg.redis.ranks, cfg.redis.n_ranks);
    s.dlq = out_new(dlq_fd);
    s.metrics = metrics_new("sp-redis-sink", cfg.metrics_path);
    register_counters(&s);
    line_reader *reader = line_reader_new(in_fd);

    int status = run(&s, reader);

    line_reader_free(reader);
    if (out_close(s.dlq) != 0 && status == 0) {
        diag_warn("cannot write the DLQ: %s", strerror(errno));
        status = EX_IOERR;
    }
    if (metrics_write(s.metrics) != 0)
        diag_warn("cannot write --metrics-file %s: %s", cfg.metrics_path, strerror(errno));
    metrics_free(s.metrics);
    redis_batch_free(s.batch);
    redis_batch_free(s.inflight);
    if (s.redis) redisFree(s.redis);
    if (cfg.dlq_path) close(dlq_fd);
    if (in_fd != 0) close(in_fd);
    return status;
}
