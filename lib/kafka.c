/* kafka: see kafka.h. */
#include "kafka.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "checkpoint.h"
#include "diag.h"
#include "clock.h"
#include "ndjson.h"

static bool fatal_seen;

bool kafka_fatal(void)
{
    return fatal_seen;
}

/* librdkafka logs warnings and worse (info and debug only when the user
 * raised log_level with -X). A FAIL line says what the error callback is
 * about to say again: keep one. */
static void log_to_diag(const rd_kafka_t *rk, int level, const char *facility, const char *text)
{
    (void)rk;
    (void)level;
    if (strcmp(facility, "FAIL") == 0) return;
    diag_warn("kafka: %s: %s", facility, text);
}

/* Client errors (a broker refusing connections, all brokers down) repeat
 * every few hundred milliseconds while the condition lasts: say each one
 * once, then again only after KAFKA_ERROR_REPEAT_MS. */
static void error_to_diag(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    static int last_err;
    static int64_t last_ms;
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        diag_warn("kafka: fatal error: %s: %s", rd_kafka_err2name(orig), why);
        fatal_seen = true;
        sp_running = 0;
        return;
    }
    int64_t now = monotonic_ms();
    if (err == last_err && now - last_ms < KAFKA_ERROR_REPEAT_MS) return;
    last_err = err;
    last_ms = now;
    diag_warn("kafka: %s (retrying)", reason);
}

rd_kafka_conf_t *kafka_conf_new(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256];
    /* Warnings and worse; the defaults would print every reconnect notice. */
    rd_kafka_conf_set(conf, "log_level", "4", err, sizeof err);
    rd_kafka_conf_set_log_cb(conf, log_to_diag);
    rd_kafka_conf_set_error_cb(conf, error_to_diag);
    return conf;
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                   size_t errlen)
{
    return rd_kafka_conf_set(conf, name, value, err, errlen) == RD_KAFKA_CONF_OK ? 0 : -1;
}

void kafka_conf_set_or_exit(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char why[512];
    if (kafka_conf_set(conf, name, value, why, sizeof why) < 0) diag_fatal(EX_USAGE, "%s", why);
}

int kafka_conf_set_pair(rd_kafka_conf_t *conf, const char *pair, char *err, size_t errlen)
{
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair) {
        snprintf(err, errlen, "%s: expected name=value", pair);
        return -1;
    }
    char name[256];
    size_t name_len = (size_t)(eq - pair);
    if (name_len >= sizeof name) {
        snprintf(err, errlen, "%.40s…: property name too long", pair);
        return -1;
    }
    memcpy(name, pair, name_len);
    name[name_len] = '\0';
    return kafka_conf_set(conf, name, eq + 1, err, errlen);
}

/* A whole decimal number in [0, max] at s; returns 0 and sets *v, or -1. */
static int parse_count(const char *s, int64_t max, int64_t *v)
{
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    long long n = strtoll(s, &end, 10);
    if (errno || *end || n > max) return -1;
    *v = n;
    return 0;
}

int kafka_offset_parse(const char *s, int64_t *offset)
{
    if (strcmp(s, "beginning") == 0) {
        *offset = RD_KAFKA_OFFSET_BEGINNING;
        return 0;
    }
    if (strcmp(s, "end") == 0) {
        *offset = RD_KAFKA_OFFSET_END;
        return 0;
    }
    if (strcmp(s, "stored") == 0) {
        *offset = RD_KAFKA_OFFSET_STORED;
        return 0;
    }
    int64_t n;
    if (*s == '-') {
        /* RD_KAFKA_OFFSET_TAIL(n) subtracts n from a negative base: keep it
         * far from overflow. */
        if (parse_count(s + 1, INT64_MAX / 2, &n) < 0 || n == 0) return -1;
        *offset = RD_KAFKA_OFFSET_TAIL(n);
        return 0;
    }
    if (parse_count(s, INT64_MAX, &n) < 0) return -1;
    *offset = n;
    return 0;
}

static bool partition_listed(const int32_t *parts, size_t n, int32_t p)
{
    for (size_t i = 0; i < n; i++)
        if (parts[i] == p) return true;
    return false;
}

int kafka_partitions_parse(const char *s, int32_t **parts, size_t *n)
{
    char *copy = strdup(s);
    if (!copy) abort();
    int rc = 0;
    char *save = NULL;
    char *item = strtok_r(copy, ",", &save);
    if (!item) rc = -1;
    for (; item && rc == 0; item = strtok_r(NULL, ",", &save)) {
        int64_t first, last;
        char *dash = strchr(item, '-');
        if (dash) *dash = '\0';
        if (parse_count(item, INT32_MAX, &first) < 0 ||
            parse_count(dash ? dash + 1 : item, INT32_MAX, &last) < 0 || last < first) {
            rc = -1;
            break;
        }
        for (int64_t p = first; p <= last; p++) {
            if (partition_listed(*parts, *n, (int32_t)p)) {
                rc = -1;
                break;
            }
            int32_t *grown = realloc(*parts, (*n + 1) * sizeof **parts);
            if (!grown) abort();
            *parts = grown;
            (*parts)[(*n)++] = (int32_t)p;
        }
    }
    /* strtok_r skips empty fields: refuse "0,,1" and a leading or trailing comma. */
    if (strstr(s, ",,") || *s == ',' || (*s && s[strlen(s) - 1] == ',')) rc = -1;
    free(copy);
    return rc;
}

/* SIGALRM during kafka_consumer_close: only async-signal-safe calls. */
static void close_timed_out(int sig)
{
    (void)sig;
    static const char msg[] = ": could not leave the consumer group in time; giving up\n";
    const char *name = diag_progname();
    if (write(STDERR_FILENO, name, strlen(name)) < 0 ||
        write(STDERR_FILENO, msg, sizeof msg - 1) < 0)
        _exit(EX_UNAVAILABLE);
    _exit(EX_UNAVAILABLE);
}

void kafka_consumer_close(rd_kafka_t *rk, int timeout_s)
{
    /* librdkafka's own asynchronous close (rd_kafka_consumer_close_queue)
     * hangs in rd_kafka_destroy when abandoned in 2.0, so the deadline is an
     * alarm instead. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = close_timed_out;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm((unsigned)timeout_s);
    rd_kafka_commit(rk, NULL, 0); /* what was stored; nothing stored is no error */
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    alarm(0);
}
