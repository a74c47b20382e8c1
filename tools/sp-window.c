/* sp-window: event-time windows per key with watermarks, lateness,
 * percentiles and checkpoints. Trip events (NDJSON) in, window results out.
 * The decisions live in lib/window.c, the run around them (input, output,
 * clocks, checkpoints, metrics) in lib/window_run.c; this file parses the
 * command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "aggregate.h"
#include "cli.h"
#include "diag.h"
#include "window.h"
#include "window_result.h"
#include "window_run.h"

static const struct cli_usage usage = {
    .synopsis =
        "usage: sp-window [-q] [-k field] [-t field] [-s duration] [--slide duration]\n"
        "                 [-a name=func[:field]] [--max-delay duration]\n"
        "                 [--allowed-lateness duration] [--max-future duration]\n"
        "                 [--idle-timeout duration] [--emit-every duration] [--late path]\n"
        "                 [--dlq path] [--checkpoint path] [--checkpoint-interval duration]\n"
        "                 [--barriers] [--metrics-file path] [file ...]\n"
        "       sp-window -h | --help | --version\n",
    .options = "Event-time windows per key over trip events (NDJSON; stdin without FILE).\n"
               "  -k, --key FIELD             key field (region_id)\n"
               "  -t, --time FIELD            event time field (event_time)\n"
               "  -s, --size D                window size (60s)\n"
               "      --slide D               hopping windows every D (default: tumbling)\n"
               "  -a, --agg NAME=FUNC[:FIELD] a metric; FUNC is count, sum, avg, min, max, pNN;\n"
               "                              repeat it; any --agg replaces the default set\n"
               "      --max-delay D           watermark = highest event time - D (5m)\n"
               "      --allowed-lateness D    closed windows still take events for D (0)\n"
               "      --max-future D          refuse events more than D ahead of the clock (1h)\n"
               "      --idle-timeout D        a silent partition's (or input's) watermark\n"
               "                              follows the wall clock after D (10s; 0: never)\n"
               "      --emit-every D          provisional results (\"final\":false) every D\n"
               "      --late PATH             LATE_EVENT records here (default: stderr)\n"
               "      --dlq PATH              other dead-letter records here (default: stderr)\n"
               "      --checkpoint PATH       restore from and save state to PATH\n"
               "      --checkpoint-interval D save the checkpoint and the partitions' states\n"
               "                              every D (30s)\n"
               "      --barriers              let the sink complete each checkpoint\n"
               "                              (sp-redis-sink --checkpoint PATH)\n"
               "      --metrics-file PATH     Prometheus textfile metrics\n"
               "  -q, --quiet                 no diagnostics\n"
               "  -h, --help                  this help\n"
               "      --version               print the version\n"
               "Durations: 100ms, 30s, 5m, 1h, 1d (a bare number is seconds).\n",
};

enum {
    OPT_SLIDE = CLI_OPT_PROGRAM,
    OPT_MAX_DELAY,
    OPT_LATENESS,
    OPT_MAX_FUTURE,
    OPT_IDLE,
    OPT_EMIT_EVERY,
    OPT_LATE,
    OPT_DLQ,
    OPT_CHECKPOINT,
    OPT_BARRIERS,
    OPT_CHECKPOINT_INTERVAL
};

static void parse_options(int argc, char **argv, struct window_run_options *o)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"time", required_argument, NULL, 't'},
        {"size", required_argument, NULL, 's'},
        {"slide", required_argument, NULL, OPT_SLIDE},
        {"agg", required_argument, NULL, 'a'},
        {"max-delay", required_argument, NULL, OPT_MAX_DELAY},
        {"allowed-lateness", required_argument, NULL, OPT_LATENESS},
        {"max-future", required_argument, NULL, OPT_MAX_FUTURE},
        {"idle-timeout", required_argument, NULL, OPT_IDLE},
        {"emit-every", required_argument, NULL, OPT_EMIT_EVERY},
        {"late", required_argument, NULL, OPT_LATE},
        {"dlq", required_argument, NULL, OPT_DLQ},
        {"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
        {"checkpoint-interval", required_argument, NULL, OPT_CHECKPOINT_INTERVAL},
        {"barriers", no_argument, NULL, OPT_BARRIERS},
        CLI_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct window_config *cfg = &o->cfg;
    int64_t slide = 0;
    char err[256];
    o->key_field = "region_id";
    o->time_field = "event_time";
    o->checkpoint_interval_ms = 30000;
    cfg->size_ms = 60000;
    cfg->max_delay_ms = 5 * 60000;
    cfg->max_future_ms = 3600000;
    cfg->idle_timeout_ms = 10000;
    agg_spec_init(&o->spec);
    int c;
    while ((c = cli_getopt(argc, argv, "k:t:s:a:qh", longopts, &o->metrics_path)) != -1) {
        switch (c) {
        case 'k':
            o->key_field = optarg;
            break;
        case 't':
            o->time_field = optarg;
            break;
        case 's':
            cfg->size_ms = cli_duration_ms("--size", optarg);
            break;
        case OPT_SLIDE:
            slide = cli_duration_ms("--slide", optarg);
            break;
        case 'a':
            if (agg_spec_add(&o->spec, optarg, err, sizeof err) != 0) cli_usage_error("%s", err);
            break;
        case OPT_MAX_DELAY:
            cfg->max_delay_ms = cli_duration_ms("--max-delay", optarg);
            break;
        case OPT_LATENESS:
            cfg->allowed_lateness_ms = cli_duration_ms("--allowed-lateness", optarg);
            break;
        case OPT_MAX_FUTURE:
            cfg->max_future_ms = cli_duration_ms("--max-future", optarg);
            break;
        case OPT_IDLE:
            cfg->idle_timeout_ms = cli_duration_ms("--idle-timeout", optarg);
            break;
        case OPT_EMIT_EVERY:
            o->emit_every_ms = cli_duration_ms("--emit-every", optarg);
            if (o->emit_every_ms <= 0) cli_usage_error("--emit-every must be positive");
            break;
        case OPT_LATE:
            o->late_path = optarg;
            break;
        case OPT_DLQ:
            o->dlq_path = optarg;
            break;
        case OPT_CHECKPOINT:
            o->checkpoint_path = optarg;
            break;
        case OPT_CHECKPOINT_INTERVAL:
            o->checkpoint_interval_ms = cli_duration_ms("--checkpoint-interval", optarg);
            break;
        case OPT_BARRIERS:
            o->barriers = true;
            break;
        }
    }
    if (o->barriers && o->checkpoint_path == NULL) cli_usage_error("--barriers needs --checkpoint");
    if (o->spec.n_metrics == 0) agg_spec_default(&o->spec);
    cfg->slide_ms = slide ? slide : cfg->size_ms;
    cfg->track_changes = o->emit_every_ms > 0;
    cfg->spec = &o->spec;
    camel_case(o->key_field, cfg->key_name, sizeof cfg->key_name);
    for (size_t i = 0; i < o->spec.n_metrics; i++)
        if (strcmp(o->spec.metrics[i].name, cfg->key_name) == 0)
            cli_usage_error("--agg %s: the result's key is called that", cfg->key_name);
    const char *problem = window_config_check(cfg);
    if (problem != NULL) cli_usage_error("%s", problem);
}

static void check_inputs_exist(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "-") != 0 && access(argv[i], R_OK) != 0)
            diag_fatal(EX_NOINPUT, "%s: %s", argv[i], strerror(errno));
}

int main(int argc, char **argv)
{
    static struct window_run_options opt;
    cli_init("sp-window", &usage);
    parse_options(argc, argv, &opt);
    check_inputs_exist(argc - optind, argv + optind);
    diag_install_signals();
    window_run *run = window_run_start(&opt);
    bool finished = window_run_read(run, argc - optind, argv + optind);
    return window_run_finish(run, finished);
}
