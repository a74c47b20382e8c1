/* sp-serve: the REST API of SPEC section 7 over Redis. libmicrohttpd runs a
 * pool of threads; each thread keeps its own api_worker (and so its own
 * Redis connection). Everything the API decides lives in lib/api.c; this
 * file is option parsing and the libmicrohttpd edge. */
#include <errno.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "diag.h"
#include "http_metrics.h"
#include "kafka.h"
#include "clock.h"
#include "metrics.h"
#include "redis_store.h"

#define REDIS_TIMEOUT_MS 1000
#define KAFKA_TIMEOUT_MS 1000
#define DEFAULT_MAX_CONNECTIONS 1024
#define DEFAULT_TIMEOUT_S 30
#define LISTEN_BACKLOG 1024
#define MAX_TIMEOUT_S 86400
/* Per-connection memory: room for a request a little past API_TARGET_MAX,
 * so an over-long target still reaches the API and gets its JSON 414; a
 * request over this size gets libmicrohttpd's own (HTML) 414 or 431. Kept
 * small because libmicrohttpd zeroes the used part of the pool after every
 * request, which makes it resident for as long as the connection stays
 * open: 10,000 idle keep-alive connections held 2.5 GB at 256 KB each. */
#define CONNECTION_MEMORY (12 * 1024)

struct config {
    const char *listen;
    struct cli_redis redis;
    unsigned threads;
    unsigned max_connections;
    unsigned timeout_s;
    const char *metrics_dir;
    const char *metrics_path;
    const char *kafka_brokers;
    const char *title;
};

static const struct cli_usage usage = {
    .synopsis = "usage: sp-serve [-q] [-l address:port] [-u url | -s path] [-T n] [-r metric]\n"
                "                [--max-connections n] [--timeout duration] [--metrics-dir dir]\n"
                "                [--kafka brokers] [--title text] [--metrics-file path]\n"
                "       sp-serve -h | --help | --version\n",
    .options = "Serve the window results in Redis over HTTP (the StreamPulse v1 API).\n"
               "\n"
               "  -l, --listen ADDR:PORT   listen address (default 127.0.0.1:8000)\n"
               "  -u, --url URL            redis://[:password@]host[:port][/db] (default\n"
               "                           redis://127.0.0.1:6379/0)\n"
               "  -s, --socket PATH        connect to Redis over a unix socket instead\n"
               "  -T, --threads N          worker threads (default: 4 per CPU, at most 64)\n"
               "  -r, --rank METRIC        a metric /metrics/regions/top accepts (repeatable;\n"
               "                           default tripCount and avgFare, as sp-redis-sink)\n"
               "      --max-connections N  connections served at once (default 1024); up to N\n"
               "                           more get 503 (or /health) and are closed, and any\n"
               "                           beyond that are closed at once\n"
               "      --timeout D          close a connection idle for D (default 30s; whole\n"
               "                           seconds, from 1s to 1d)\n"
               "      --metrics-dir DIR    append DIR/*.prom to GET /metrics\n"
               "      --kafka BROKERS      report Kafka in /health (asks for metadata only)\n"
               "      --title TEXT         what the data is, shown on the live page (GET /)\n"
               "      --metrics-file PATH  write the request metrics to PATH every few seconds\n"
               "  -q, --quiet              no diagnostics\n"
               "  -h, --help               this help\n"
               "      --version            print the version\n",
};

enum { OPT_MAX_CONN = CLI_OPT_PROGRAM, OPT_TIMEOUT, OPT_METRICS_DIR, OPT_KAFKA, OPT_TITLE };

/* --timeout in whole seconds (rounded up), as libmicrohttpd takes it. */
static unsigned timeout_seconds(const char *value)
{
    int64_t ms = cli_duration_ms("--timeout", value);
    if (ms < 1 || ms > (int64_t)MAX_TIMEOUT_S * 1000)
        cli_usage_error("--timeout %s: from 1s to 1d", value);
    return (unsigned)((ms + 999) / 1000);
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
    static const struct option options[] = {
        {"listen", required_argument, NULL, 'l'},
        CLI_REDIS_OPTIONS,
        {"threads", required_argument, NULL, 'T'},
        {"max-connections", required_argument, NULL, OPT_MAX_CONN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"metrics-dir", required_argument, NULL, OPT_METRICS_DIR},
        {"kafka", required_argument, NULL, OPT_KAFKA},
        {"title", required_argument, NULL, OPT_TITLE},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cfg->listen = "127.0.0.1:8000";
    cli_redis_init(&cfg->redis);
    /* Workers spend most of a request waiting for Redis, so a few per CPU
     * keep both busy (8 on two cores: 37k requests/s against 27k with 2). */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = cpus > 0 ? (unsigned)(cpus < 16 ? cpus * 4 : 64) : 8;
    cfg->max_connections = DEFAULT_MAX_CONNECTIONS;
    cfg->timeout_s = DEFAULT_TIMEOUT_S;
    int c;
    while ((c = cli_getopt(argc, argv, "l:u:s:T:r:qh", options, &cfg->metrics_path)) != -1) {
        switch (c) {
        case 'l':
            cfg->listen = optarg;
            break;
        case 'u':
        case 's':
        case 'r':
            cli_redis_option(&cfg->redis, c, optarg);
            break;
        case 'T':
            cfg->threads = (unsigned)cli_count("--threads", optarg, 1, 256);
            break;
        case OPT_MAX_CONN:
            cfg->max_connections = (unsigned)cli_count("--max-connections", optarg, 1, 65536);
            break;
        case OPT_TIMEOUT:
            cfg->timeout_s = timeout_seconds(optarg);
            break;
        case OPT_METRICS_DIR:
            cfg->metrics_dir = optarg;
            break;
        case OPT_KAFKA:
            cfg->kafka_brokers = optarg;
            break;
        case OPT_TITLE:
            cfg->title = optarg;
            break;
        }
    }
    if (optind < argc) cli_usage_error("unexpected argument '%s'", argv[optind]);
    cli_redis_finish(&cfg->redis);
}

/* "host:port" or "[v6]:port", port 0 (any free one) to 65535, into a
 * socket address, or bad usage. */
static struct addrinfo *resolve_listen(const char *listen)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    size_t hostlen = colon ? (size_t)(colon - listen) : 0;
    if (colon == NULL || hostlen >= sizeof host)
        cli_usage_error("--listen %s: want HOST:PORT", listen);
    /* getaddrinfo takes any number and keeps its low 16 bits: 99999 would
     * listen on 34463. */
    const char *port = colon + 1;
    cli_count("--listen port", port, 0, 65535);
    const char *h = listen;
    if (hostlen >= 2 && listen[0] == '[' && listen[hostlen - 1] == ']') {
        h++;
        hostlen -= 2;
    }
    memcpy(host, h, hostlen);
    host[hostlen] = '\0';
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int rc = getaddrinfo(hostlen ? host : NULL, port, &hints, &ai);
    if (rc != 0) cli_usage_error("--listen %s: %s", listen, gai_strerror(rc));
    return ai;
}

/* A socket listening on ai, as libmicrohttpd would open it, or exit 69 with
 * the system's reason ("Address already in use"), which libmicrohttpd keeps
 * to itself. */
static int listen_on(const struct addrinfo *ai, const char *address)
{
    int one = 1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0)
        diag_fatal(EX_UNAVAILABLE, "cannot listen on %s: %s", address, strerror(errno));
    return fd;
}

/* The port fd listens on: the one asked for, or the free one port 0 found. */
static unsigned bound_port(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0) return 0;
    if (addr.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

/* ---- Kafka health ---- */

static const char *kafka_status(void *arg)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err = rd_kafka_metadata(arg, 0, NULL, &md, KAFKA_TIMEOUT_MS);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return "error";
    int brokers = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    return brokers > 0 ? "connected" : "error";
}

/* A client that only ever asks for metadata: a producer handle, as it needs
 * no group, which never produces anything. */
static rd_kafka_t *kafka_open(const char *brokers)
{
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_new();
    if (kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) != 0)
        cli_usage_error("--kafka %s: %s", brokers, err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == NULL) diag_fatal(EX_UNAVAILABLE, "cannot create a Kafka client: %s", err);
    return rk;
}

/* ---- connection limit ----
 * At its own connection limit libmicrohttpd stops accepting and leaves new
 * connections unanswered in the listen backlog, health checks included,
 * until an idle one times out. So the server counts connections itself:
 * the first --max-connections are served; a connection opened while that
 * many are open is an overflow connection, which gets one answer
 * (api_handle_overloaded: 503, or /health as usual) and is closed; and once
 * as many again are open, a new connection is closed as soon as it is
 * accepted. libmicrohttpd's limit sits above all of them, so it never stops
 * accepting. */

struct connection_limits {
    atomic_uint open;
    unsigned served;   /* --max-connections */
    unsigned accepted; /* open connections at most, overflow ones included */
};

static int overflow_marker; /* its address marks an overflow connection */

/* The limits for --max-connections n, within the file descriptors the
 * process may open (a few kept for Redis, Kafka and the metrics files). */
static void connection_limits_init(struct connection_limits *cl, unsigned n, unsigned threads)
{
    atomic_init(&cl->open, 0);
    cl->served = n;
    cl->accepted = 2 * n;
    struct rlimit rl;
    rlim_t spare = 64 + 2 * (rlim_t)threads;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < cl->accepted + spare) {
        cl->accepted = rl.rlim_cur > spare + 2 ? (unsigned)(rl.rlim_cur - spare) : 2;
        cl->served = cl->served < cl->accepted ? cl->served : cl->accepted / 2;
        diag_warn("ulimit -n %llu: serving %u connections, %u at most open",
                  (unsigned long long)rl.rlim_cur, cl->served, cl->accepted);
    }
}

static enum MHD_Result accept_connection(void *cls, const struct sockaddr *addr, socklen_t len)
{
    (void)addr;
    (void)len;
    struct connection_limits *cl = cls;
    return atomic_load(&cl->open) < cl->accepted ? MHD_YES : MHD_NO;
}

static void count_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode code)
{
    (void)conn;
    struct connection_limits *cl = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        unsigned open = atomic_fetch_add(&cl->open, 1) + 1;
        *socket_context = open > cl->served ? &overflow_marker : NULL;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        atomic_fetch_sub(&cl->open, 1);
    }
}

static bool is_overflow(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info && info->socket_context == &overflow_marker;
}

/* ---- libmicrohttpd edge ---- */

static pthread_key_t worker_key;

static void free_worker(void *w)
{
    api_worker_free(w);
}

/* Per request: the raw request target ("/path?query", not decoded), since
 * libmicrohttpd hands the access handler a decoded path in which "%00"
 * would already have cut the string short; and whether the handler has
 * seen the request yet. */
struct request_state {
    bool headers_seen;
    size_t target_len;
    char target[];
};

static void *remember_target(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    size_t n = strlen(uri);
    struct request_state *rs = malloc(sizeof *rs + n + 1);
    if (rs == NULL) abort();
    rs->headers_seen = false;
    rs->target_len = n;
    memcpy(rs->target, uri, n + 1);
    return rs;
}

static void request_done(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*req_cls);
    *req_cls = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)url;
    (void)version;
    (void)upload_data;
    struct request_state *rs = *req_cls;
    if (rs == NULL) return MHD_NO;
    /* Answer only once the whole request is in (the first call comes right
     * after the headers; answering then would make libmicrohttpd close the
     * connection instead of keeping it alive). A body is read and dropped:
     * no route takes one. */
    if (!rs->headers_seen || *upload_data_size > 0) {
        rs->headers_seen = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    const struct api_config *cfg = cls;
    api_worker *w = pthread_getspecific(worker_key);
    if (w == NULL) {
        w = api_worker_new(cfg);
        pthread_setspecific(worker_key, w);
    }
    struct api_response resp;
    api_response_init(&resp);
    bool overflow = is_overflow(conn);
    if (overflow)
        api_handle_overloaded(w, method, rs->target, rs->target_len, &resp);
    else
        api_handle(w, method, rs->target, rs->target_len, &resp);

    /* The response takes over the body's memory (freed with free()). */
    size_t len = resp.body.len;
    char *body = resp.body.data;
    resp.body = (strbuf)STRBUF_INIT;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body ? body : "", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp.content_type);
    if (resp.allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp.allow);
    if (overflow) /* frees its place for a connection under the limit */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)resp.status, r);
    MHD_destroy_response(r);
    return ok;
}

static void write_metrics_file(const http_metrics *hm, const char *path)
{
    if (path && http_metrics_write_file(hm, path) != 0)
        diag_warn("cannot write --metrics-file %s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
    cli_init("sp-serve", &usage);
    struct config cfg = {0};
    parse_args(argc, argv, &cfg);
    diag_install_signals();

    struct addrinfo *addr = resolve_listen(cfg.listen);
    http_metrics *hm = http_metrics_new(api_route_names, API_ROUTE_COUNT);
    rd_kafka_t *kafka = cfg.kafka_brokers ? kafka_open(cfg.kafka_brokers) : NULL;
    struct api_config api = {
        .redis = &cfg.redis.target,
        .redis_timeout_ms = REDIS_TIMEOUT_MS,
        .rank_metrics = cfg.redis.ranks,
        .n_rank_metrics = cfg.redis.n_ranks,
        .metrics = hm,
        .metrics_dir = cfg.metrics_dir,
        .kafka_status = kafka ? kafka_status : NULL,
        .kafka_arg = kafka,
        .page_title = cfg.title,
    };
    if (pthread_key_create(&worker_key, free_worker) != 0)
        diag_fatal(EX_OSERR, "pthread_key_create failed");

    struct connection_limits limits;
    connection_limits_init(&limits, cfg.max_connections, cfg.threads);
    int listen_fd = listen_on(addr, cfg.listen);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO;
    struct MHD_Daemon *daemon = MHD_start_daemon(
        flags, 0, accept_connection, &limits, on_request, &api, MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, cfg.threads, MHD_OPTION_CONNECTION_LIMIT,
        limits.accepted + cfg.threads, MHD_OPTION_NOTIFY_CONNECTION, count_connection, &limits,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg.timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONNECTION_MEMORY, MHD_OPTION_URI_LOG_CALLBACK, remember_target, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
    if (daemon == NULL) diag_fatal(EX_UNAVAILABLE, "cannot serve on %s", cfg.listen);
    diag_warn("listening on %s (port %u), %u threads", cfg.listen, bound_port(listen_fd),
              cfg.threads);

    int64_t next_write = monotonic_ms();
    while (sp_running) {
        if (cfg.metrics_path && monotonic_ms() >= next_write) {
            write_metrics_file(hm, cfg.metrics_path);
            next_write = monotonic_ms() + METRICS_INTERVAL_MS;
        }
        sleep_ms(50);
    }

    MHD_stop_daemon(daemon); /* joins the pool; each thread frees its worker */
    write_metrics_file(hm, cfg.metrics_path);
    pthread_key_delete(worker_key);
    if (kafka) rd_kafka_destroy(kafka);
    http_metrics_free(hm);
    freeaddrinfo(addr);
    return 0;
}
