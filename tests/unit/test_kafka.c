/* Unit tests of lib/kafka: flags as kcat users type them, the assignment
 * control line (read back with jansson) and the offsets of a checkpoint
 * written by lib/checkpoint, the module sp-window saves with. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "kafka.h"
#include "unit.h"

TEST(offsets_as_kcat)
{
    int64_t o = 0;
    CHECK(kafka_offset_parse("beginning", &o) == 0 && o == RD_KAFKA_OFFSET_BEGINNING);
    CHECK(kafka_offset_parse("end", &o) == 0 && o == RD_KAFKA_OFFSET_END);
    CHECK(kafka_offset_parse("stored", &o) == 0 && o == RD_KAFKA_OFFSET_STORED);
    CHECK(kafka_offset_parse("0", &o) == 0 && o == 0);
    CHECK(kafka_offset_parse("1234", &o) == 0 && o == 1234);
    CHECK(kafka_offset_parse("-10", &o) == 0 && o == RD_KAFKA_OFFSET_TAIL(10));
    CHECK(kafka_offset_parse("9223372036854775807", &o) == 0 && o == INT64_MAX);
    const char *bad[] = {"", "-", "-0", "begin", "12x", " 5", "+5", "9223372036854775808", "1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(kafka_offset_parse(bad[i], &o) < 0);
}

/* Parse s; return the partitions as "0,1,3" (or "error"). */
static const char *partitions_of(const char *s)
{
    static char out[256];
    int32_t *parts = NULL;
    size_t n = 0;
    if (kafka_partitions_parse(s, &parts, &n) < 0) {
        free(parts);
        return "error";
    }
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%d", i ? "," : "", parts[i]);
    free(parts);
    return out;
}

TEST(partition_lists)
{
    CHECK_STR(partitions_of("0"), "0");
    CHECK_STR(partitions_of("0,1,3"), "0,1,3");
    CHECK_STR(partitions_of("0-3"), "0,1,2,3");
    CHECK_STR(partitions_of("2-3,0"), "2,3,0");
    CHECK_STR(partitions_of("5-5"), "5");
    const char *bad[] = {"",    ",",  "0,",    ",0",  "0,,1",  "a",          "-1",
                         "3-1", "0-", "1-2-3", "1,1", "0-2,2", "2147483648", " 1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (strcmp(partitions_of(bad[i]), "error") != 0) {
            fprintf(stderr, "accepted -p '%s'\n", bad[i]);
            CHECK(0);
        }
    }
}

TEST(conf_pairs)
{
    rd_kafka_conf_t *conf = kafka_conf_new();
    char err[256], value[64];
    size_t len = sizeof value;
    CHECK(kafka_conf_set_pair(conf, "linger.ms=7", err, sizeof err) == 0);
    CHECK(rd_kafka_conf_get(conf, "linger.ms", value, &len) == RD_KAFKA_CONF_OK);
    CHECK_STR(value, "7");
    /* A value may itself hold '=' (SASL JAAS strings do). */
    CHECK(kafka_conf_set_pair(conf, "client.id=a=b", err, sizeof err) == 0);
    len = sizeof value;
    rd_kafka_conf_get(conf, "client.id", value, &len);
    CHECK_STR(value, "a=b");
    CHECK(kafka_conf_set_pair(conf, "linger.ms", err, sizeof err) < 0);
    CHECK(strstr(err, "name=value") != NULL);
    CHECK(kafka_conf_set_pair(conf, "=5", err, sizeof err) < 0);
    CHECK(kafka_conf_set_pair(conf, "no.such.property=1", err, sizeof err) < 0);
    CHECK(kafka_conf_set_pair(conf, "linger.ms=soon", err, sizeof err) < 0);
    rd_kafka_conf_destroy(conf);
}

int main(void)
{
    RUN(offsets_as_kcat);
    RUN(partition_lists);
    RUN(conf_pairs);
    RETURN_SUMMARY();
}
