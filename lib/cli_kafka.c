/* cli_kafka: the Kafka client options of cli.h (sp-kcat-in, sp-kcat-out),
 * apart so that only the programs that take them link librdkafka. */
#include "cli.h"
#include "kafka.h"

void cli_kafka_init(struct cli_kafka *k)
{
    k->conf = kafka_conf_new();
    k->topic = NULL;
}

void cli_kafka_option(struct cli_kafka *k, int c, const char *value)
{
    char why[512];
    switch (c) {
    case 'b':
        if (kafka_conf_set(k->conf, "bootstrap.servers", value, why, sizeof why) < 0)
            cli_usage_error("-b %s", why);
        return;
    case 't':
        k->topic = value;
        return;
    case 'X':
        if (kafka_conf_set_pair(k->conf, value, why, sizeof why) < 0) cli_usage_error("-X %s", why);
        return;
    }
}

void cli_kafka_finish(const struct cli_kafka *k)
{
    /* An unset property is "unknown" to rd_kafka_conf_get; an empty one has
     * a length of 1, its NUL. */
    size_t len = 0;
    if (rd_kafka_conf_get(k->conf, "bootstrap.servers", NULL, &len) != RD_KAFKA_CONF_OK || len <= 1)
        cli_usage_error("-b BROKERS is required");
    if (k->topic == NULL) cli_usage_error("-t TOPIC is required");
}
