/* test_control_line: each control line formats as streampulse(7) shows it,
 * reads back as written, and only control lines are taken for one. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "control_line.h"
#include "unit.h"

static const struct control_partition PARTS[] = {{"events", 6, 0}, {"events", 6, 3}};

/* The line in sb equals the JSON text want, compared as trees. */
static bool json_same(const strbuf *sb, const char *want)
{
    json_t *w = json_loads(want, 0, NULL), *g = json_loadb(sb->data, sb->len, 0, NULL);
    bool same = w && g && json_equal(w, g);
    json_decref(w);
    json_decref(g);
    return same;
}

TEST(assignment_line)
{
    strbuf sb = STRBUF_INIT;
    control_assignment_format(&sb, PARTS, 2);
    CHECK(sb.len > 0 && sb.data[sb.len - 1] == '\n');
    CHECK(json_same(&sb, "{\"_kafka_assignment\":[{\"topic\":\"events\",\"partition\":0},"
                         "{\"topic\":\"events\",\"partition\":3}]}"));
    struct control_line cl;
    char err[256];
    CHECK_INT(control_line_parse(sb.data, sb.len - 1, &cl, err, sizeof err), 0);
    CHECK_INT(cl.kind, CONTROL_ASSIGNMENT);
    CHECK_INT(cl.n_parts, 2);
    CHECK_INT(cl.parts[1].partition, 3);
    CHECK(cl.parts[1].topic_len == 6 && memcmp(cl.parts[1].topic, "events", 6) == 0);
    control_line_clear(&cl);
    sb_reset(&sb);
    control_assignment_format(&sb, NULL, 0);
    CHECK_STR(sb.data, "{\"_kafka_assignment\":[]}\n");
    sb_free(&sb);
}

TEST(restore_line_carries_the_checkpoint_or_null)
{
    const char *doc = "{\"format\":\"sp-window-checkpoint\",\"tasks\":[],\"windows\":[]}";
    strbuf sb = STRBUF_INIT;
    control_restore_format(&sb, &PARTS[1], doc, strlen(doc));
    struct control_line cl;
    char err[256];
    CHECK_INT(control_line_parse(sb.data, sb.len - 1, &cl, err, sizeof err), 0);
    CHECK_INT(cl.kind, CONTROL_RESTORE);
    CHECK_INT(cl.part.partition, 3);
    CHECK(cl.checkpoint_len == strlen(doc) && memcmp(cl.checkpoint, doc, strlen(doc)) == 0);
    control_line_clear(&cl);

    sb_reset(&sb);
    control_restore_format(&sb, &PARTS[0], NULL, 0);
    CHECK(json_same(&sb, "{\"_kafka_restore\":{\"topic\":\"events\",\"partition\":0},"
                         "\"checkpoint\":null}"));
    CHECK_INT(control_line_parse(sb.data, sb.len - 1, &cl, err, sizeof err), 0);
    CHECK(cl.checkpoint == NULL);
    control_line_clear(&cl);
    sb_free(&sb);
}

TEST(revoke_line_names_token_and_partitions)
{
    strbuf sb = STRBUF_INIT;
    control_revoke_format(&sb, "abc-123", false, PARTS, 2);
    CHECK(json_same(&sb, "{\"_kafka_revoke\":{\"token\":\"abc-123\",\"lost\":false,"
                         "\"partitions\":[{\"topic\":\"events\",\"partition\":0},"
                         "{\"topic\":\"events\",\"partition\":3}]}}"));
    struct control_line cl;
    char err[256];
    CHECK_INT(control_line_parse(sb.data, sb.len - 1, &cl, err, sizeof err), 0);
    CHECK_INT(cl.kind, CONTROL_REVOKE);
    CHECK_STR(cl.token, "abc-123");
    CHECK(!cl.lost);
    CHECK_INT(cl.n_parts, 2);
    control_line_clear(&cl);
    sb_free(&sb);
}

TEST(state_line_round_trip)
{
    const char *doc = "{\"format\":\"sp-window-checkpoint\",\"version\":2}";
    strbuf sb = STRBUF_INIT;
    control_state_format(&sb, &PARTS[0], 1234, "tok", doc, strlen(doc));
    struct control_line cl;
    char err[256];
    CHECK_INT(control_line_parse(sb.data, sb.len - 1, &cl, err, sizeof err), 0);
    CHECK_INT(cl.kind, CONTROL_STATE);
    CHECK_INT(cl.next_offset, 1234);
    CHECK_STR(cl.token, "tok");
    CHECK(cl.checkpoint_len == strlen(doc) && memcmp(cl.checkpoint, doc, strlen(doc)) == 0);
    control_line_clear(&cl);

    sb_reset(&sb);
    control_state_format(&sb, &PARTS[0], -1, NULL, doc, strlen(doc));
    CHECK(strstr(sb.data, "\"token\":null") != NULL);
    CHECK_INT(control_line_parse(sb.data, sb.len - 1, &cl, err, sizeof err), 0);
    CHECK_STR(cl.token, "");
    control_line_clear(&cl);
    sb_free(&sb);
}

TEST(kind_is_read_from_the_first_member_only)
{
    const char *lines[] = {
        "{\"_kafka\":{\"topic\":\"t\",\"partition\":0,\"offset\":1},\"region_id\":1}",
        "{\"region_id\":1,\"_kafka_assignment\":[]}",
        "{\"_kafka_assignments\":[]}",
        "{\"_checkpoint\":{}}",
        "[{\"_kafka_assignment\":[]}]",
        "",
        "{",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        CHECK_INT(control_line_kind(lines[i], strlen(lines[i])), CONTROL_NONE);
    const char *spaced = " { \"_kafka_revoke\" : {} }";
    CHECK_INT(control_line_kind(spaced, strlen(spaced)), CONTROL_REVOKE);
}

TEST(malformed_control_lines_are_refused_with_a_reason)
{
    const char *bad[] = {
        "{\"_kafka_assignment\":[{\"topic\":\"t\"}]}",
        "{\"_kafka_assignment\":{}}",
        "{\"_kafka_restore\":{\"topic\":\"t\",\"partition\":0}}",
        "{\"_kafka_restore\":{\"topic\":\"t\",\"partition\":-1},\"checkpoint\":null}",
        "{\"_kafka_revoke\":{\"token\":\"bad token\",\"lost\":false,\"partitions\":[]}}",
        "{\"_kafka_revoke\":{\"token\":\"t\",\"partitions\":[]}}",
        "{\"_kafka_state\":{\"topic\":\"t\",\"partition\":0,\"next_offset\":1,\"token\":null},"
        "\"checkpoint\":null}",
        "{\"_kafka_state\":{\"topic\":\"t\",\"partition\":0,\"token\":null},\"checkpoint\":{}}",
        "{\"_kafka_assignment\":[],\"_kafka_assignment\":[]}",
        "{\"_kafka_assignment\":[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct control_line cl;
        char err[256] = "";
        CHECK_INT(control_line_parse(bad[i], strlen(bad[i]), &cl, err, sizeof err), -1);
        CHECK(err[0] != '\0');
        control_line_clear(&cl);
    }
    CHECK(control_token_valid("9f3c-01"));
    CHECK(!control_token_valid(""));
    CHECK(!control_token_valid("a\"b"));
}

int main(void)
{
    RUN(assignment_line);
    RUN(restore_line_carries_the_checkpoint_or_null);
    RUN(revoke_line_names_token_and_partitions);
    RUN(state_line_round_trip);
    RUN(kind_is_read_from_the_first_member_only);
    RUN(malformed_control_lines_are_refused_with_a_reason);
    RETURN_SUMMARY();
}
