/* cli_redis: the Redis target options of cli.h (sp-redis-sink, sp-serve),
 * apart so that only the programs that take them link hiredis. */
#include <string.h>

#include "cli.h"
#include "window_result.h"

void cli_redis_init(struct cli_redis *r)
{
    redis_target_default(&r->target);
    r->n_ranks = 0;
}

/* A rank metric names a result member: letters, digits and _, as sp-window
 * writes them (camelCase), short enough to be one. */
static bool is_metric_name(const char *s)
{
    static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
    size_t n = strlen(s);
    return n > 0 && n < WINDOW_RESULT_NAME_MAX && strspn(s, allowed) == n;
}

void cli_redis_option(struct cli_redis *r, int c, const char *value)
{
    char err[256];
    switch (c) {
    case 'u':
        if (redis_target_parse_url(value, &r->target, err, sizeof err) != 0)
            cli_usage_error("--url %s", err);
        return;
    case 's':
        if (redis_target_set_socket(&r->target, value) != 0)
            cli_usage_error("--socket %s: not a unix socket path", value);
        return;
    case 'r':
        if (!is_metric_name(value))
            cli_usage_error("--rank '%s': not a metric name (letters, digits, _)", value);
        if (r->n_ranks == CLI_MAX_RANKS)
            cli_usage_error("at most %d --rank metrics", CLI_MAX_RANKS);
        r->ranks[r->n_ranks++] = value;
        return;
    }
}

void cli_redis_finish(struct cli_redis *r)
{
    if (r->n_ranks > 0) return;
    r->ranks[r->n_ranks++] = "tripCount";
    r->ranks[r->n_ranks++] = "avgFare";
}
