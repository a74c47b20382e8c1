/* test_checkpoint: atomic write, read back, validation, side-output sizes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "unit.h"

static char dir[] = "/tmp/test_checkpoint.XXXXXX";

static char *path_in_dir(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

TEST(write_then_read_back)
{
    json_t *state = json_pack("{s:I,s:[]}", "watermark", (json_int_t)42, "windows");
    json_t *doc = checkpoint_build("key=region_id", 1234, state, 1700000000000LL);
    const char *path = path_in_dir("cp.json");
    CHECK_INT(checkpoint_write(path, doc), 0);
    /* No temporary file is left behind. */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0);
    bool missing;
    char err[256];
    json_t *back = checkpoint_read(path, &missing, err, sizeof err);
    CHECK(back != NULL);
    uint64_t records = 0;
    CHECK_INT(checkpoint_validate(back, "key=region_id", &records, err, sizeof err), 0);
    CHECK_INT(records, 1234);
    CHECK_INT(json_integer_value(json_object_get(back, "watermark")), 42);
    CHECK_STR(json_string_value(json_object_get(back, "written_at")), "2023-11-14T22:13:20.000Z");
    /* Another configuration is refused. */
    CHECK_INT(checkpoint_validate(back, "key=zone", &records, err, sizeof err), -1);
    CHECK(strstr(err, "other options") != NULL);
    json_decref(back);
    json_decref(doc);
    json_decref(state);
}

TEST(text_document_reads_back)
{
    strbuf sb = STRBUF_INIT;
    checkpoint_start(&sb, "key=\"odd\" name", 77, NULL, 1700000000000LL);
    sb_puts(&sb, "\"watermark\":null,\"windows\":[]");
    checkpoint_finish(&sb);
    const char *path = path_in_dir("text.json");
    CHECK_INT(checkpoint_write_text(path, sb.data, sb.len), 0);
    bool missing;
    char err[256];
    json_t *back = checkpoint_read(path, &missing, err, sizeof err);
    CHECK(back != NULL);
    uint64_t records = 0;
    CHECK_INT(checkpoint_validate(back, "key=\"odd\" name", &records, err, sizeof err), 0);
    CHECK_INT(records, 77);
    CHECK(json_is_null(json_object_get(back, "watermark")));
    /* The tree form of the same document has the same members. */
    json_t *state = json_pack("{s:n,s:[]}", "watermark", "windows");
    json_t *tree = checkpoint_build("key=\"odd\" name", 77, state, 1700000000000LL);
    CHECK(json_equal(tree, back));
    json_decref(tree);
    json_decref(state);
    json_decref(back);
    sb_free(&sb);
}

TEST(reader_gives_the_windows_one_by_one)
{
    /* Keys with commas, brackets and escaped quotes must not split a window. */
    const char *text = "{\"format\":\"x\",\"windows\":[ {\"key\":\"a,]}\\\"[\",\"n\":[1,2]},\n"
                       "{\"key\":2} ,{\"key\":3}],\"records\":5}";
    struct checkpoint_reader r;
    char err[256];
    CHECK_INT(checkpoint_reader_parse(&r, text, strlen(text), err, sizeof err), 0);
    CHECK(json_array_size(json_object_get(r.head, "windows")) == 0);
    CHECK_INT(json_integer_value(json_object_get(r.head, "records")), 5);
    json_t *w;
    CHECK_INT(checkpoint_reader_next(&r, &w), 1);
    CHECK_STR(json_string_value(json_object_get(w, "key")), "a,]}\"[");
    CHECK_INT(json_array_size(json_object_get(w, "n")), 2);
    json_decref(w);
    CHECK_INT(checkpoint_reader_next(&r, &w), 1);
    CHECK_INT(json_integer_value(json_object_get(w, "key")), 2);
    json_decref(w);
    CHECK_INT(checkpoint_reader_next(&r, &w), 1);
    CHECK_INT(json_integer_value(json_object_get(w, "key")), 3);
    json_decref(w);
    CHECK_INT(checkpoint_reader_next(&r, &w), 0);
    checkpoint_reader_close(&r);

    const char *empty = "{\"windows\":[ ]}";
    CHECK_INT(checkpoint_reader_parse(&r, empty, strlen(empty), err, sizeof err), 0);
    CHECK_INT(checkpoint_reader_next(&r, &w), 0);
    checkpoint_reader_close(&r);
    const char *none = "{\"records\":1}";
    CHECK_INT(checkpoint_reader_parse(&r, none, strlen(none), err, sizeof err), 0);
    CHECK_INT(checkpoint_reader_next(&r, &w), 0);
    checkpoint_reader_close(&r);

    const char *bad[] = {"", "[1]", "{\"windows\":{}}", "{\"windows\":[1,]}",
                         "{\"windows\":[],\"windows\":[]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_INT(checkpoint_reader_parse(&r, bad[i], strlen(bad[i]), err, sizeof err), -1);
    CHECK_INT(checkpoint_reader_open(&r, path_in_dir("absent.json"), err, sizeof err), 1);
}

TEST(missing_and_corrupt_files)
{
    bool missing = false;
    char err[256];
    CHECK(checkpoint_read(path_in_dir("none.json"), &missing, err, sizeof err) == NULL);
    CHECK(missing);
    const char *path = path_in_dir("corrupt.json");
    FILE *f = fopen(path, "w");
    fputs("{\"format\":", f);
    fclose(f);
    CHECK(checkpoint_read(path, &missing, err, sizeof err) == NULL);
    CHECK(!missing);
    CHECK(strstr(err, "not a checkpoint") != NULL);
}

TEST(validate_checks_format_and_version)
{
    const char *bad[] = {
        "{}",
        "{\"format\":\"other\",\"version\":1,\"config\":\"c\",\"records\":1}",
        "{\"format\":\"sp-window-checkpoint\",\"version\":1,\"config\":\"c\",\"records\":1}",
        "{\"format\":\"sp-window-checkpoint\",\"version\":2,\"config\":\"c\",\"records\":-1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *doc = json_loads(bad[i], 0, NULL);
        uint64_t records;
        char err[256];
        CHECK_INT(checkpoint_validate(doc, "c", &records, err, sizeof err), -1);
        json_decref(doc);
    }
}

TEST(output_sizes_round_trip_through_the_document)
{
    strbuf sb = STRBUF_INIT;
    struct checkpoint_outputs sizes = {.late_bytes = 5120, .dlq_bytes = -1};
    checkpoint_start(&sb, "c", 1, &sizes, 0);
    sb_puts(&sb, "\"windows\":[]");
    checkpoint_finish(&sb);
    json_t *doc = json_loadb(sb.data, sb.len, 0, NULL);
    CHECK(doc != NULL);
    struct checkpoint_outputs back = {0, 0};
    checkpoint_outputs_get(doc, &back);
    CHECK_INT(back.late_bytes, 5120);
    CHECK_INT(back.dlq_bytes, -1);
    CHECK(json_is_null(json_object_get(json_object_get(doc, "outputs"), "dlq")));
    json_decref(doc);
    /* An older checkpoint, without "outputs": nothing recorded. */
    json_t *old = json_pack("{s:s}", "format", CHECKPOINT_FORMAT);
    checkpoint_outputs_get(old, &back);
    CHECK_INT(back.late_bytes, -1);
    CHECK_INT(back.dlq_bytes, -1);
    json_decref(old);
    sb_free(&sb);
}

TEST(rewind_cuts_a_longer_file_back_and_leaves_the_rest)
{
    const char *path = path_in_dir("late.ndjson");
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_INT(write(fd, "one\ntwo\nthree\n", 14), 14);
    CHECK_INT(checkpoint_output_size(fd), 14);
    char err[256];
    /* Nothing recorded, or the recorded size: untouched. */
    CHECK_INT(checkpoint_output_rewind(fd, -1, err, sizeof err), 0);
    CHECK_INT(checkpoint_output_rewind(fd, 14, err, sizeof err), 0);
    CHECK_INT(checkpoint_output_size(fd), 14);
    /* Longer: cut back; appending then continues at the cut. */
    CHECK_INT(checkpoint_output_rewind(fd, 8, err, sizeof err), 0);
    CHECK_INT(write(fd, "2\n", 2), 2);
    close(fd);
    FILE *f = fopen(path, "r");
    char text[32] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    CHECK_STR(text, "one\ntwo\n2\n");
    /* Shorter than recorded: refused with a reason, file untouched. */
    fd = open(path, O_WRONLY | O_APPEND);
    CHECK_INT(checkpoint_output_rewind(fd, 100, err, sizeof err), -1);
    CHECK(strstr(err, "shorter") != NULL);
    CHECK_INT(checkpoint_output_size(fd), 10);
    close(fd);
}

TEST(rewind_leaves_a_pipe_alone)
{
    int p[2];
    CHECK_INT(pipe(p), 0);
    CHECK_INT(write(p[1], "x\n", 2), 2);
    CHECK_INT(checkpoint_output_size(p[1]), -1);
    char err[256];
    CHECK_INT(checkpoint_output_rewind(p[1], 0, err, sizeof err), 0);
    char c[2];
    CHECK_INT(read(p[0], c, 2), 2);
    close(p[0]);
    close(p[1]);
}

TEST(format_ok_checks_format_and_version_only)
{
    json_t *head =
        json_pack("{s:s,s:i}", "format", CHECKPOINT_FORMAT, "version", CHECKPOINT_VERSION);
    char err[256];
    CHECK_INT(checkpoint_format_ok(head, err, sizeof err), 0);
    json_object_set_new(head, "version", json_integer(CHECKPOINT_VERSION + 1));
    CHECK_INT(checkpoint_format_ok(head, err, sizeof err), -1);
    CHECK(strstr(err, "version") != NULL);
    json_decref(head);
}

TEST(write_into_missing_directory_fails_cleanly)
{
    json_t *doc = json_object();
    CHECK_INT(checkpoint_write("/nonexistent-dir/cp.json", doc), -1);
    json_decref(doc);
}

TEST(barrier_line_is_recognised_and_only_it)
{
    strbuf sb = STRBUF_INIT;
    checkpoint_barrier_format(&sb, 1767225600000);
    CHECK(sb.len > 0 && sb.data[sb.len - 1] == '\n');
    CHECK(checkpoint_is_barrier(sb.data, sb.len - 1));
    json_t *doc = json_loadb(sb.data, sb.len, 0, NULL); /* one JSON object */
    CHECK(doc != NULL && json_is_object(json_object_get(doc, "_checkpoint")));
    CHECK(!strcmp(
        json_string_value(json_object_get(json_object_get(doc, "_checkpoint"), "written_at")),
        "2026-01-01T00:00:00.000Z"));
    json_decref(doc);
    const char *result = "{\"regionId\":1,\"_checkpoint\":1}";
    CHECK(!checkpoint_is_barrier(result, strlen(result)));
    CHECK(!checkpoint_is_barrier("{\"_check", 8));
    sb_free(&sb);
}

TEST(complete_moves_the_pending_checkpoint_into_place)
{
    char *path = strdup(path_in_dir("barrier.ckpt"));
    char *pending = checkpoint_pending_path(path);
    CHECK(strlen(pending) == strlen(path) + strlen(".pending"));
    errno = 0;
    CHECK(checkpoint_complete(path) == -1 && errno == ENOENT); /* nothing pending */
    CHECK(checkpoint_write_text(path, "old\n", 4) == 0);
    CHECK(checkpoint_write_text(pending, "new\n", 4) == 0);
    CHECK(checkpoint_complete(path) == 0);
    CHECK(access(pending, F_OK) != 0);
    char got[8] = {0};
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && read(fd, got, sizeof got) == 4 && !strcmp(got, "new\n"));
    close(fd);
    free(pending);
    free(path);
}

/* A checkpoint written by lib/checkpoint holding the given tasks. */
static void write_tasks(const char *path, const char *tasks_json)
{
    json_t *state = json_pack("{s:o}", "tasks", json_loads(tasks_json, 0, NULL));
    json_t *doc = checkpoint_build("test", 42, state, 0);
    CHECK(checkpoint_write(path, doc) == 0);
    json_decref(doc);
    json_decref(state);
}

TEST(offsets_of_one_topic_from_the_tasks)
{
    char path[] = "/tmp/test_kafka_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    write_tasks(path, "[{\"topic\":\"events\",\"partition\":0,\"next_offset\":1234,"
                      "\"highest\":null,\"assigned\":true},"
                      "{\"topic\":\"other\",\"partition\":1,\"next_offset\":5,"
                      "\"highest\":null,\"assigned\":true},"
                      "{\"topic\":\"events\",\"partition\":2,\"next_offset\":99,"
                      "\"highest\":null,\"assigned\":false},"
                      "{\"topic\":\"events\",\"partition\":3,\"next_offset\":-1,"
                      "\"highest\":null,\"assigned\":true},"
                      "{\"topic\":\"\",\"partition\":-1,\"next_offset\":7,"
                      "\"highest\":null,\"assigned\":false}]");
    partition_offsets o = {0};
    char err[256];
    CHECK_INT(checkpoint_read_offsets(path, "events", &o, err, sizeof err), 0);
    CHECK_INT(o.n, 2);
    CHECK_INT(partition_offsets_get(&o, 0), 1234);
    CHECK_INT(partition_offsets_get(&o, 2), 99);
    CHECK_INT(partition_offsets_get(&o, 1), -1);
    CHECK_INT(partition_offsets_get(&o, 3), -1);
    partition_offsets_free(&o);

    CHECK_INT(checkpoint_read_offsets(path, "absent", &o, err, sizeof err), 0);
    CHECK_INT(o.n, 0);

    write_tasks(path, "[{\"topic\":\"events\",\"partition\":\"0\",\"next_offset\":1}]");
    CHECK_INT(checkpoint_read_offsets(path, "events", &o, err, sizeof err), -1);
    CHECK(o.n == 0 && o.entries == NULL);

    FILE *f = fopen(path, "w");
    fputs("{\"tasks\":[]}", f); /* JSON, but not a checkpoint */
    fclose(f);
    CHECK_INT(checkpoint_read_offsets(path, "events", &o, err, sizeof err), -1);
    CHECK(strstr(err, "not an sp-window checkpoint") != NULL);
    f = fopen(path, "w");
    fputs("{\"format\":", f);
    fclose(f);
    CHECK_INT(checkpoint_read_offsets(path, "events", &o, err, sizeof err), -1);

    unlink(path);
    CHECK_INT(checkpoint_read_offsets(path, "events", &o, err, sizeof err), 1);
    CHECK_INT(o.n, 0);
}

int main(void)
{
    if (mkdtemp(dir) == NULL) return 2;
    RUN(write_then_read_back);
    RUN(text_document_reads_back);
    RUN(reader_gives_the_windows_one_by_one);
    RUN(missing_and_corrupt_files);
    RUN(validate_checks_format_and_version);
    RUN(output_sizes_round_trip_through_the_document);
    RUN(rewind_cuts_a_longer_file_back_and_leaves_the_rest);
    RUN(rewind_leaves_a_pipe_alone);
    RUN(format_ok_checks_format_and_version_only);
    RUN(write_into_missing_directory_fails_cleanly);
    RUN(barrier_line_is_recognised_and_only_it);
    RUN(complete_moves_the_pending_checkpoint_into_place);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 2;
    RUN(offsets_of_one_topic_from_the_tasks);
    RETURN_SUMMARY();
}
