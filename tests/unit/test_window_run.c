/* test_window_run: whole runs over small files, results captured from
 * stdout: the end-of-input order (checkpoint first, windows still open) and
 * the late file cut back to its recorded size on a restore. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "diag.h"
#include "unit.h"
#include "window_result.h"
#include "window_run.h"

static char dir[] = "/tmp/test_window_run.XXXXXX";

static char *path_in_dir(const char *name)
{
    static char paths[4][256];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* The whole file as a string (the caller frees it). */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return strdup("");
    strbuf sb = STRBUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_append(&sb, chunk, n);
    fclose(f);
    sb_puts(&sb, "");
    return sb.data;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static void options(struct window_run_options *o, int64_t max_delay_ms, const char *late,
                    const char *checkpoint)
{
    memset(o, 0, sizeof *o);
    o->key_field = "region_id";
    o->time_field = "event_time";
    o->late_path = late;
    o->checkpoint_path = checkpoint;
    o->checkpoint_interval_ms = 30000;
    agg_spec_init(&o->spec);
    agg_spec_default(&o->spec);
    o->cfg.size_ms = o->cfg.slide_ms = 60000;
    o->cfg.max_delay_ms = max_delay_ms;
    o->cfg.max_future_ms = 3600000;
    o->cfg.spec = &o->spec;
    camel_case(o->key_field, o->cfg.key_name, sizeof o->cfg.key_name);
}

/* One run of input with stdout into out_path; returns its exit code. */
static int run_once(const struct window_run_options *o, const char *input, const char *out_path)
{
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    char *paths[] = {(char *)input};
    window_run *run = window_run_start(o);
    bool finished = window_run_read(run, 1, paths);
    int code = window_run_finish(run, finished);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    return code;
}

#define EV(region, time)                                                                           \
    "{\"region_id\":" #region ",\"event_time\":\"" time                                            \
    "\",\"fare\":10,\"duration\":60,\"distance\":1}\n"

TEST(end_of_input_checkpoints_open_windows_then_closes_them)
{
    const char *input = path_in_dir("in.ndjson");
    write_file(input, EV(1, "2025-01-01T10:00:10Z") EV(2, "2025-01-01T10:00:20Z")
                          EV(1, "2025-01-01T10:01:30Z"));
    const char *cp = path_in_dir("eoi.ckpt");
    struct window_run_options o;
    options(&o, 300000, NULL, cp);
    CHECK_INT(run_once(&o, input, path_in_dir("out1")), 0);
    char *first = read_file(path_in_dir("out1"));
    CHECK_INT(count_lines(first), 3);
    /* The checkpoint holds all three windows open and the watermark the
     * records made (10:01:30 - 5m), not the one of the close. */
    bool missing;
    char err[256];
    json_t *doc = checkpoint_read(cp, &missing, err, sizeof err);
    CHECK(doc != NULL);
    CHECK_INT(json_integer_value(json_object_get(doc, "records")), 3);
    CHECK_INT(json_array_size(json_object_get(doc, "windows")), 3);
    const json_t *task = json_array_get(json_object_get(doc, "tasks"), 0);
    CHECK_INT(json_array_size(json_object_get(doc, "tasks")), 1);
    CHECK_INT(json_integer_value(json_object_get(task, "watermark")), 1735725690000LL - 300000);
    json_decref(doc);
    /* The same input again: every line skipped, the same results. */
    CHECK_INT(run_once(&o, input, path_in_dir("out2")), 0);
    char *second = read_file(path_in_dir("out2"));
    CHECK_STR(second, first);
    free(first);
    free(second);
}

TEST(restore_cuts_the_late_file_back_to_the_checkpoint)
{
    const char *input = path_in_dir("late-in.ndjson");
    write_file(input, EV(1, "2025-01-01T10:00:00Z") EV(1, "2025-01-01T09:00:00Z"));
    const char *late = path_in_dir("late.ndjson");
    const char *cp = path_in_dir("late.ckpt");
    struct window_run_options o;
    options(&o, 0, late, cp);
    CHECK_INT(run_once(&o, input, path_in_dir("out3")), 0);
    char *after_first = read_file(late);
    CHECK_INT(count_lines(after_first), 1);
    CHECK(strstr(after_first, "LATE_EVENT") != NULL);
    /* A record written after the checkpoint, as a crash leaves it. */
    FILE *f = fopen(late, "a");
    fputs("{\"written\":\"after the checkpoint\"}\n", f);
    fclose(f);
    CHECK_INT(run_once(&o, input, path_in_dir("out4")), 0);
    char *after_restore = read_file(late);
    CHECK_STR(after_restore, after_first);
    free(after_first);
    free(after_restore);
}

int main(void)
{
    if (mkdtemp(dir) == NULL) return 2;
    diag_init("sp-window");
    diag_quiet = 1;
    RUN(end_of_input_checkpoints_open_windows_then_closes_them);
    RUN(restore_cuts_the_late_file_back_to_the_checkpoint);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 2;
    RETURN_SUMMARY();
}
