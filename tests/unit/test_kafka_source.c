/* Unit tests of lib/kafka_source against librdkafka's in-process mock
 * cluster: messages produced with plain librdkafka calls must come out as
 * lines (read back with jansson) with the right coordinates, after the
 * assignment control line, starting where the resume offsets say. */
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "diag.h"
#include "kafka_source.h"
#include "unit.h"

static rd_kafka_t *mock_owner;
static rd_kafka_mock_cluster_t *cluster;

static rd_kafka_conf_t *conf_for_cluster(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256];
    rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(cluster), err,
                      sizeof err);
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    return conf;
}

/* Produce value to topic/partition and wait for it to be acknowledged. */
static void produce(const char *topic, int32_t partition, const char *value)
{
    char err[256];
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf_for_cluster(), err, sizeof err);
    CHECK(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                            RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == 0);
    CHECK(rd_kafka_flush(p, 10000) == 0);
    rd_kafka_destroy(p);
}

/* Run a static source over topic with opt to its end; return its output
 * (malloc'd) and set *code to what kafka_source_start/finish returned. */
static char *consume_all(struct kafka_source_options *opt, int *code)
{
    char path[] = "/tmp/test_kafka_source_XXXXXX";
    int fd = mkstemp(path);
    metrics *m = metrics_new("test", NULL);
    char err[256];
    rd_kafka_conf_t *conf = conf_for_cluster();
    rd_kafka_conf_set(conf, "group.id", "unit", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    opt->exit_at_eof = true;
    kafka_source *s = kafka_source_new(conf, opt, out_new(fd), m, err, sizeof err);
    CHECK(s != NULL);
    *code = kafka_source_start(s);
    if (*code == 0) kafka_source_run(s);
    int finish = kafka_source_finish(s);
    if (*code == 0) *code = finish;
    metrics_free(m);
    off_t size = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)size + 1);
    CHECK(pread(fd, text, (size_t)size, 0) == size);
    close(fd);
    unlink(path);
    return text;
}

/* Line n (0-based) of text, parsed. */
static json_t *line_at(const char *text, int n)
{
    const char *p = text;
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !*p) return NULL;
    return json_loadb(p, strcspn(p, "\n"), 0, NULL);
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        n++;
    return n;
}

TEST(every_partition_with_coordinates)
{
    rd_kafka_mock_topic_create(cluster, "t2", 2, 1);
    produce("t2", 0, "{\"a\":1}");
    produce("t2", 1, "{\"b\":2}");
    produce("t2", 1, "plain");
    struct kafka_source_options opt = {.topic = "t2", .offset = RD_KAFKA_OFFSET_BEGINNING};
    int code;
    char *out = consume_all(&opt, &code);
    CHECK_INT(code, 0);
    CHECK_INT(count_lines(out), 4);
    json_t *want = json_loads("{\"_kafka_assignment\":[{\"topic\":\"t2\",\"partition\":0},"
                              "{\"topic\":\"t2\",\"partition\":1}]}",
                              0, NULL);
    json_t *first = line_at(out, 0);
    CHECK(json_equal(first, want));
    json_decref(first);
    json_decref(want);
    int seen_b = 0, seen_raw = 0;
    for (int i = 1; i < 4; i++) {
        json_t *l = line_at(out, i);
        json_t *k = json_object_get(l, "_kafka");
        int p = (int)json_integer_value(json_object_get(k, "partition"));
        int o = (int)json_integer_value(json_object_get(k, "offset"));
        if (json_object_get(l, "a")) CHECK(p == 0 && o == 0);
        if (json_object_get(l, "b")) seen_b = p == 1 && o == 0;
        if (json_object_get(l, "_raw")) seen_raw = p == 1 && o == 1;
        json_decref(l);
    }
    CHECK(seen_b && seen_raw);
    free(out);
}

TEST(resume_offsets_and_chosen_partitions)
{
    rd_kafka_mock_topic_create(cluster, "t3", 2, 1);
    for (int i = 0; i < 3; i++)
        produce("t3", 0, "{\"x\":0}");
    produce("t3", 1, "{\"x\":1}");
    struct partition_offset entries[] = {{0, 2}};
    partition_offsets resume = {1, entries};
    int32_t only_zero[] = {0};
    struct kafka_source_options opt = {.topic = "t3",
                                       .partitions = only_zero,
                                       .n_partitions = 1,
                                       .offset = RD_KAFKA_OFFSET_BEGINNING,
                                       .resume = &resume};
    int code;
    char *out = consume_all(&opt, &code);
    CHECK_INT(code, 0);
    CHECK_INT(count_lines(out), 2); /* the assignment, then offset 2 only */
    json_t *l = line_at(out, 1);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(l, "_kafka"), "offset")), 2);
    json_decref(l);
    free(out);
}

TEST(missing_partition_is_unavailable)
{
    rd_kafka_mock_topic_create(cluster, "t4", 1, 1);
    int32_t parts[] = {0, 3};
    struct kafka_source_options opt = {
        .topic = "t4", .partitions = parts, .n_partitions = 2, .offset = RD_KAFKA_OFFSET_BEGINNING};
    int code;
    char *out = consume_all(&opt, &code);
    CHECK_INT(code, EX_UNAVAILABLE);
    CHECK_STR(out, "");
    free(out);
}

int main(void)
{
    char err[256];
    diag_quiet = 1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    mock_owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    cluster = rd_kafka_mock_cluster_new(mock_owner, 1);
    RUN(every_partition_with_coordinates);
    RUN(resume_offsets_and_chosen_partitions);
    RUN(missing_partition_is_unavailable);
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(mock_owner);
    RETURN_SUMMARY();
}
