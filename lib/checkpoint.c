/* checkpoint: build, write atomically, read and validate. */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event_time.h"
#include "ndjson.h"

json_t *checkpoint_build(const char *config, uint64_t records, const json_t *state,
                         int64_t written_at_ms)
{
    char when[EVENT_TIME_TEXT_MAX];
    event_time_format_ms(written_at_ms, when);
    json_t *doc = json_pack("{s:s,s:i,s:s,s:I,s:s}", "format", CHECKPOINT_FORMAT, "version",
                            CHECKPOINT_VERSION, "config", config, "records", (json_int_t)records,
                            "written_at", when);
    json_object_update(doc, (json_t *)state);
    return doc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync the directory holding path, so the rename itself survives a crash. */
static int sync_directory(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL) return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Rename from onto to, then fsync the directory. */
static int move_durably(const char *from, const char *to)
{
    return rename(from, to) == 0 ? sync_directory(to) : -1;
}

int checkpoint_write_text(const char *path, const char *text, size_t len)
{
    size_t tmp_len = strlen(path) + 5;
    char *tmp = malloc(tmp_len);
    if (tmp == NULL) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(tmp, tmp_len, "%s.tmp", path);
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write_all(fd, text, len) == 0 && fsync(fd) == 0 && close(fd) == 0) {
            fd = -1;
            rc = move_durably(tmp, path);
        }
        if (fd >= 0) close(fd);
    }
    int saved = errno;
    if (rc != 0) unlink(tmp);
    free(tmp);
    errno = saved;
    return rc;
}

int checkpoint_write(const char *path, const json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (text == NULL) {
        errno = ENOMEM;
        return -1;
    }
    size_t len = strlen(text);
    int rc = checkpoint_write_text(path, text, len);
    int saved = errno;
    free(text);
    errno = saved;
    return rc;
}

#define PENDING_SUFFIX ".pending"
#define BARRIER_PREFIX "{\"_checkpoint\":"

char *checkpoint_pending_path(const char *path)
{
    size_t len = strlen(path) + sizeof PENDING_SUFFIX;
    char *pending = malloc(len);
    if (pending == NULL) abort();
    snprintf(pending, len, "%s" PENDING_SUFFIX, path);
    return pending;
}

void checkpoint_barrier_format(strbuf *sb, int64_t written_at_ms)
{
    char when[EVENT_TIME_TEXT_MAX];
    size_t when_len = event_time_format_ms(written_at_ms, when);
    sb_puts(sb, BARRIER_PREFIX "{\"written_at\":");
    ndjson_append_string(sb, when, when_len);
    sb_puts(sb, "}}\n");
}

bool checkpoint_is_barrier(const char *line, size_t len)
{
    return len >= sizeof BARRIER_PREFIX - 1 &&
           memcmp(line, BARRIER_PREFIX, sizeof BARRIER_PREFIX - 1) == 0;
}

int checkpoint_complete(const char *path)
{
    char *pending = checkpoint_pending_path(path);
    int rc = move_durably(pending, path);
    int saved = errno;
    free(pending);
    errno = saved;
    return rc;
}

static void append_size(strbuf *sb, int64_t bytes)
{
    if (bytes < 0)
        sb_puts(sb, "null");
    else
        sb_put_i64(sb, bytes);
}

void checkpoint_start(strbuf *sb, const char *config, uint64_t records,
                      const struct checkpoint_outputs *outputs, int64_t written_at_ms)
{
    char when[EVENT_TIME_TEXT_MAX];
    size_t when_len = event_time_format_ms(written_at_ms, when);
    sb_puts(sb, "{\"format\":\"" CHECKPOINT_FORMAT "\",\"version\":");
    sb_put_i64(sb, CHECKPOINT_VERSION);
    sb_puts(sb, ",\"config\":");
    ndjson_append_string(sb, config, strlen(config));
    sb_puts(sb, ",\"records\":");
    sb_put_i64(sb, (int64_t)records);
    if (outputs != NULL) {
        sb_puts(sb, ",\"outputs\":{\"late\":");
        append_size(sb, outputs->late_bytes);
        sb_puts(sb, ",\"dlq\":");
        append_size(sb, outputs->dlq_bytes);
        sb_putc(sb, '}');
    }
    sb_puts(sb, ",\"written_at\":");
    ndjson_append_string(sb, when, when_len);
    sb_putc(sb, ',');
}

void checkpoint_finish(strbuf *sb)
{
    sb_putc(sb, '}');
}

json_t *checkpoint_read(const char *path, bool *missing, char *err, size_t errlen)
{
    *missing = false;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        *missing = errno == ENOENT;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadf(f, 0, &jerr);
    fclose(f);
    if (doc == NULL)
        snprintf(err, errlen, "%s: not a checkpoint: %s (line %d)", path, jerr.text, jerr.line);
    return doc;
}

int checkpoint_reader_parse(struct checkpoint_reader *r, const char *text, size_t len, char *err,
                            size_t errlen)
{
    memset(r, 0, sizeof *r);
    struct ev_fields names;
    ev_fields_init(&names);
    ev_fields_add(&names, "windows");
    struct ev_scan *scan = malloc(sizeof *scan);
    if (scan == NULL) abort();
    int rc = ev_scan(text, len, &names, scan);
    if (rc != 0 || scan->top != EV_OBJECT || scan->value[0].count > 1 ||
        (scan->value[0].kind != EV_ABSENT && scan->value[0].kind != EV_ARRAY)) {
        snprintf(err, errlen, "not a checkpoint: %s",
                 rc != 0 ? scan->error : "not an object with one \"windows\" array");
        free(scan);
        return -1;
    }
    /* The head is the text with the windows array cut down to []. */
    size_t cut_from = len, cut_to = len;
    if (scan->value[0].kind == EV_ARRAY) {
        cut_from = (size_t)(scan->value[0].text - text);
        cut_to = cut_from + scan->value[0].len;
    }
    free(scan);
    r->text = malloc(len + 1);
    if (r->text == NULL) abort();
    memcpy(r->text, text, len);
    r->len = len;
    r->next = r->end = cut_from;
    strbuf head = STRBUF_INIT;
    sb_append(&head, text, cut_from);
    if (cut_to > cut_from) {
        sb_puts(&head, "[]");
        sb_append(&head, text + cut_to, len - cut_to);
        r->next = cut_from + 1;
        r->end = cut_to - 1;
    }
    json_error_t jerr;
    r->head = json_loadb(head.data, head.len, 0, &jerr);
    sb_free(&head);
    if (r->head == NULL) {
        snprintf(err, errlen, "not a checkpoint: %s", jerr.text);
        checkpoint_reader_close(r);
        return -1;
    }
    return 0;
}

int checkpoint_reader_open(struct checkpoint_reader *r, const char *path, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? 1 : -1;
    }
    strbuf text = STRBUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_append(&text, chunk, n);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        snprintf(err, errlen, "%s: read error", path);
        sb_free(&text);
        return -1;
    }
    char why[256];
    int rc = checkpoint_reader_parse(r, text.data ? text.data : "", text.len, why, sizeof why);
    if (rc != 0) snprintf(err, errlen, "%s: %s", path, why);
    sb_free(&text);
    return rc;
}

static size_t skip_space(const char *text, size_t i, size_t end)
{
    while (i < end && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    return i;
}

int checkpoint_reader_next(struct checkpoint_reader *r, json_t **window)
{
    const char *t = r->text;
    size_t i = skip_space(t, r->next, r->end);
    if (i < r->end && t[i] == ',') i = skip_space(t, i + 1, r->end);
    if (i >= r->end) return 0;
    /* The whole text passed ev_scan, so the element ends at the first comma
     * outside strings and brackets. */
    size_t start = i;
    int depth = 0;
    for (; i < r->end; i++) {
        char c = t[i];
        if (c == '"') {
            for (i++; i < r->end && t[i] != '"'; i++)
                if (t[i] == '\\') i++;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == ',' && depth == 0) {
            break;
        }
    }
    r->next = i;
    *window = json_loadb(t + start, i - start, JSON_DECODE_ANY, NULL);
    return *window != NULL ? 1 : -1;
}

void checkpoint_reader_close(struct checkpoint_reader *r)
{
    json_decref(r->head);
    free(r->text);
    memset(r, 0, sizeof *r);
}

int checkpoint_format_ok(const json_t *doc, char *err, size_t errlen)
{
    const json_t *format = json_object_get(doc, "format");
    const json_t *version = json_object_get(doc, "version");
    if (!json_is_string(format) || strcmp(json_string_value(format), CHECKPOINT_FORMAT) != 0) {
        snprintf(err, errlen, "not an sp-window checkpoint");
        return -1;
    }
    if (!json_is_integer(version) || json_integer_value(version) != CHECKPOINT_VERSION) {
        snprintf(err, errlen,
                 "checkpoint version is not %d (one written by an older sp-window: remove it "
                 "to start over)",
                 CHECKPOINT_VERSION);
        return -1;
    }
    return 0;
}

int checkpoint_validate(const json_t *doc, const char *config, uint64_t *records, char *err,
                        size_t errlen)
{
    const json_t *saved_config = json_object_get(doc, "config");
    const json_t *count = json_object_get(doc, "records");
    if (checkpoint_format_ok(doc, err, errlen) != 0) return -1;
    if (!json_is_string(saved_config) || strcmp(json_string_value(saved_config), config) != 0) {
        snprintf(err, errlen, "checkpoint was made with other options (%s)",
                 json_is_string(saved_config) ? json_string_value(saved_config) : "?");
        return -1;
    }
    if (!json_is_integer(count) || json_integer_value(count) < 0) {
        snprintf(err, errlen, "checkpoint has no record count");
        return -1;
    }
    *records = (uint64_t)json_integer_value(count);
    return 0;
}

static int64_t recorded_size(const json_t *outputs, const char *name)
{
    const json_t *size = json_object_get(outputs, name);
    if (!json_is_integer(size) || json_integer_value(size) < 0) return -1;
    return (int64_t)json_integer_value(size);
}

void checkpoint_outputs_get(const json_t *doc, struct checkpoint_outputs *out)
{
    const json_t *outputs = json_object_get(doc, "outputs");
    out->late_bytes = recorded_size(outputs, "late");
    out->dlq_bytes = recorded_size(outputs, "dlq");
}

int64_t checkpoint_output_size(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    return (int64_t)st.st_size;
}

int checkpoint_output_rewind(int fd, int64_t recorded, char *err, size_t errlen)
{
    if (recorded < 0) return 0;
    int64_t size = checkpoint_output_size(fd);
    if (size < 0 || size == recorded) return 0;
    if (size < recorded) {
        snprintf(err, errlen, "%lld bytes, shorter than the %lld of the checkpoint: records lost",
                 (long long)size, (long long)recorded);
        return -1;
    }
    if (ftruncate(fd, (off_t)recorded) != 0) {
        snprintf(err, errlen, "cutting back to %lld bytes: %s", (long long)recorded,
                 strerror(errno));
        return -1;
    }
    return 0;
}

static void offsets_add(partition_offsets *o, int32_t partition, int64_t offset)
{
    struct partition_offset *grown = realloc(o->entries, (o->n + 1) * sizeof *grown);
    if (!grown) abort();
    o->entries = grown;
    o->entries[o->n++] = (struct partition_offset){partition, offset};
}

/* Fill out from the checkpoint's "tasks" array: the tasks of topic that
 * have a next offset. Returns 0, or -1 with err. */
static int offsets_from_tasks(const json_t *tasks, const char *topic, partition_offsets *out,
                              char *err, size_t errlen)
{
    if (!json_is_array(tasks)) {
        snprintf(err, errlen, "no \"tasks\" array");
        return -1;
    }
    size_t i;
    const json_t *task;
    json_array_foreach(tasks, i, task)
    {
        const json_t *name = json_object_get(task, "topic");
        const json_t *number = json_object_get(task, "partition");
        const json_t *next = json_object_get(task, "next_offset");
        if (!json_is_string(name) || !json_is_integer(number) || !json_is_integer(next)) {
            snprintf(err, errlen, "tasks[%zu]: expected topic, partition, next_offset", i);
            return -1;
        }
        json_int_t partition = json_integer_value(number);
        json_int_t offset = json_integer_value(next);
        /* Partition -1 is the plain input; a negative offset a task that
         * has counted nothing: no offset to resume at. */
        if (strcmp(json_string_value(name), topic) != 0 || partition < 0 || partition > INT32_MAX ||
            offset < 0)
            continue;
        offsets_add(out, (int32_t)partition, offset);
    }
    return 0;
}

int checkpoint_read_offsets(const char *path, const char *topic, partition_offsets *out, char *err,
                            size_t errlen)
{
    /* The reader parses every member but the windows: a large state's
     * checkpoint is read for its offsets in a few kilobytes, not gigabytes. */
    struct checkpoint_reader r;
    int opened = checkpoint_reader_open(&r, path, err, errlen);
    if (opened != 0) return opened;
    char why[256];
    int rc = checkpoint_format_ok(r.head, why, sizeof why);
    if (rc == 0)
        rc = offsets_from_tasks(json_object_get(r.head, "tasks"), topic, out, why, sizeof why);
    if (rc < 0) snprintf(err, errlen, "%s: %s", path, why);
    checkpoint_reader_close(&r);
    if (rc < 0) partition_offsets_free(out);
    return rc;
}

int64_t partition_offsets_get(const partition_offsets *o, int32_t partition)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->entries[i].partition == partition) return o->entries[i].offset;
    return -1;
}

void partition_offsets_free(partition_offsets *o)
{
    free(o->entries);
    o->entries = NULL;
    o->n = 0;
}
