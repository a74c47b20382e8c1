/* checkpoint: build, write atomically, read and validate. */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
            rc = rename(tmp, path) == 0 ? sync_directory(path) : -1;
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

void checkpoint_start(strbuf *sb, const char *config, uint64_t records, int64_t written_at_ms)
{
    char when[EVENT_TIME_TEXT_MAX];
    size_t when_len = event_time_format_ms(written_at_ms, when);
    sb_puts(sb, "{\"format\":\"" CHECKPOINT_FORMAT "\",\"version\":");
    sb_put_i64(sb, CHECKPOINT_VERSION);
    sb_puts(sb, ",\"config\":");
    ndjson_append_string(sb, config, strlen(config));
    sb_puts(sb, ",\"records\":");
    sb_put_i64(sb, (int64_t)records);
    sb_puts(sb, ",\"written_at\":");
    ndjson_append_string(sb, when, when_len);
    sb_putc(sb, ',');
}

void checkpoint_finish(strbuf *sb)
{
    sb_puts(sb, "}\n");
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

int checkpoint_validate(const json_t *doc, const char *config, uint64_t *records, char *err,
                        size_t errlen)
{
    const json_t *format = json_object_get(doc, "format");
    const json_t *version = json_object_get(doc, "version");
    const json_t *saved_config = json_object_get(doc, "config");
    const json_t *count = json_object_get(doc, "records");
    if (!json_is_string(format) || strcmp(json_string_value(format), CHECKPOINT_FORMAT) != 0) {
        snprintf(err, errlen, "not an sp-window checkpoint");
        return -1;
    }
    if (!json_is_integer(version) || json_integer_value(version) != CHECKPOINT_VERSION) {
        snprintf(err, errlen, "checkpoint version is not %d", CHECKPOINT_VERSION);
        return -1;
    }
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
