/* control_line: see control_line.h. The head member of a line is small and
 * read with jansson; the checkpoint beside it may be megabytes, so it is
 * only located (by the one-pass reader), never built into a tree here. */
#include "control_line.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_reader.h"
#include "ndjson.h"

/* The member that starts each kind of line, by kind. */
static const char *const MEMBER[] = {
    [CONTROL_ASSIGNMENT] = "_kafka_assignment",
    [CONTROL_RESTORE] = "_kafka_restore",
    [CONTROL_REVOKE] = "_kafka_revoke",
    [CONTROL_STATE] = "_kafka_state",
};

static size_t skip_space(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i;
}

enum control_kind control_line_kind(const char *line, size_t len)
{
    size_t i = skip_space(line, 0, len);
    if (i >= len || line[i] != '{') return CONTROL_NONE;
    i = skip_space(line, i + 1, len);
    /* Every name starts "_kafka_: a record's "_kafka" is turned away here. */
    if (len - i < 9 || memcmp(line + i, "\"_kafka_", 8) != 0) return CONTROL_NONE;
    for (enum control_kind k = CONTROL_ASSIGNMENT; k <= CONTROL_STATE; k++) {
        size_t n = strlen(MEMBER[k]);
        if (len - i < n + 2 || memcmp(line + i + 1, MEMBER[k], n) != 0 || line[i + 1 + n] != '"')
            continue;
        size_t colon = skip_space(line, i + n + 2, len);
        if (colon < len && line[colon] == ':') return k;
    }
    return CONTROL_NONE;
}

bool control_token_valid(const char *token)
{
    size_t n = strlen(token);
    return n > 0 && n < CONTROL_TOKEN_MAX &&
           strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* ---- parsing --------------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s", what);
    return -1;
}

/* {"topic":"…","partition":N} into *p (strings point into j). */
static bool read_partition(const json_t *j, struct control_partition *p)
{
    const json_t *topic = json_object_get(j, "topic");
    const json_t *partition = json_object_get(j, "partition");
    if (!json_is_string(topic) || json_string_length(topic) == 0 || !json_is_integer(partition) ||
        json_integer_value(partition) < 0 || json_integer_value(partition) > INT32_MAX)
        return false;
    p->topic = json_string_value(topic);
    p->topic_len = json_string_length(topic);
    p->partition = (int32_t)json_integer_value(partition);
    return true;
}

static bool read_partitions(const json_t *list, struct control_line *out)
{
    if (!json_is_array(list)) return false;
    size_t n = json_array_size(list);
    out->parts = calloc(n ? n : 1, sizeof *out->parts);
    if (out->parts == NULL) abort();
    for (size_t i = 0; i < n; i++)
        if (!read_partition(json_array_get(list, i), &out->parts[i])) return false;
    out->n_parts = n;
    return true;
}

/* A token member: a valid token, or (when null_ok) null or absent for none. */
static bool read_token(const json_t *j, bool null_ok, struct control_line *out)
{
    out->token[0] = '\0';
    if (j == NULL || json_is_null(j)) return null_ok;
    if (!json_is_string(j) || !control_token_valid(json_string_value(j))) return false;
    memcpy(out->token, json_string_value(j), json_string_length(j) + 1);
    return true;
}

static int read_head(const json_t *head, struct control_line *out, char *err, size_t errlen)
{
    switch (out->kind) {
    case CONTROL_ASSIGNMENT:
        return read_partitions(head, out) ? 0 : fail(err, errlen, "malformed partition list");
    case CONTROL_RESTORE:
        return read_partition(head, &out->part) ? 0 : fail(err, errlen, "no topic and partition");
    case CONTROL_REVOKE:
        if (!read_token(json_object_get(head, "token"), false, out) ||
            !json_is_boolean(json_object_get(head, "lost")) ||
            !read_partitions(json_object_get(head, "partitions"), out))
            return fail(err, errlen, "expected token, lost and partitions");
        out->lost = json_is_true(json_object_get(head, "lost"));
        return 0;
    case CONTROL_STATE: {
        const json_t *next = json_object_get(head, "next_offset");
        if (!read_partition(head, &out->part) || !json_is_integer(next) ||
            json_integer_value(next) < -1 || !read_token(json_object_get(head, "token"), true, out))
            return fail(err, errlen, "expected topic, partition, next_offset and token");
        out->next_offset = (int64_t)json_integer_value(next);
        return 0;
    }
    default:
        return fail(err, errlen, "not a control line");
    }
}

int control_line_parse(const char *line, size_t len, struct control_line *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->kind = control_line_kind(line, len);
    if (out->kind == CONTROL_NONE) return fail(err, errlen, "not a control line");
    struct ev_fields names;
    ev_fields_init(&names);
    int head_at = ev_fields_add(&names, MEMBER[out->kind]);
    int checkpoint_at = ev_fields_add(&names, "checkpoint");
    struct ev_scan *scan = malloc(sizeof *scan);
    if (scan == NULL) abort();
    int rc = -1;
    if (ev_scan(line, len, &names, scan) != 0 || scan->top != EV_OBJECT) {
        snprintf(err, errlen, "not JSON: %s", scan->error ? scan->error : "not an object");
        goto done;
    }
    const struct ev_value *head = &scan->value[head_at], *checkpoint = &scan->value[checkpoint_at];
    if (head->count != 1 || checkpoint->count > 1) {
        fail(err, errlen, "a member is repeated");
        goto done;
    }
    bool wants_checkpoint = out->kind == CONTROL_RESTORE || out->kind == CONTROL_STATE;
    if (wants_checkpoint && (checkpoint->kind != EV_OBJECT &&
                             !(out->kind == CONTROL_RESTORE && checkpoint->kind == EV_NULL))) {
        fail(err, errlen, "no checkpoint object");
        goto done;
    }
    if (wants_checkpoint && checkpoint->kind == EV_OBJECT) {
        out->checkpoint = checkpoint->text;
        out->checkpoint_len = checkpoint->len;
    }
    out->doc = json_loadb(head->text, head->len, JSON_DECODE_ANY, NULL);
    if (out->doc == NULL) {
        fail(err, errlen, "unreadable head member");
        goto done;
    }
    rc = read_head(out->doc, out, err, errlen);
done:
    free(scan);
    return rc;
}

void control_line_clear(struct control_line *out)
{
    free(out->parts);
    json_decref(out->doc);
    memset(out, 0, sizeof *out);
}

/* ---- formatting ------------------------------------------------------------ */

static void append_partition(strbuf *sb, const struct control_partition *p)
{
    sb_puts(sb, "{\"topic\":");
    ndjson_append_string(sb, p->topic, p->topic_len);
    sb_puts(sb, ",\"partition\":");
    sb_put_i64(sb, p->partition);
    sb_putc(sb, '}');
}

static void append_partitions(strbuf *sb, const struct control_partition *parts, size_t n)
{
    sb_putc(sb, '[');
    for (size_t i = 0; i < n; i++) {
        if (i > 0) sb_putc(sb, ',');
        append_partition(sb, &parts[i]);
    }
    sb_putc(sb, ']');
}

void control_assignment_format(strbuf *sb, const struct control_partition *parts, size_t n)
{
    sb_puts(sb, "{\"_kafka_assignment\":");
    append_partitions(sb, parts, n);
    sb_puts(sb, "}\n");
}

void control_restore_format(strbuf *sb, const struct control_partition *p, const char *checkpoint,
                            size_t len)
{
    sb_puts(sb, "{\"_kafka_restore\":");
    append_partition(sb, p);
    sb_puts(sb, ",\"checkpoint\":");
    if (checkpoint != NULL)
        sb_append(sb, checkpoint, len);
    else
        sb_puts(sb, "null");
    sb_puts(sb, "}\n");
}

void control_revoke_format(strbuf *sb, const char *token, bool lost,
                           const struct control_partition *parts, size_t n)
{
    sb_puts(sb, "{\"_kafka_revoke\":{\"token\":");
    ndjson_append_string(sb, token, strlen(token));
    sb_puts(sb, lost ? ",\"lost\":true,\"partitions\":" : ",\"lost\":false,\"partitions\":");
    append_partitions(sb, parts, n);
    sb_puts(sb, "}}\n");
}

void control_state_format(strbuf *sb, const struct control_partition *p, int64_t next_offset,
                          const char *token, const char *checkpoint, size_t len)
{
    sb_puts(sb, "{\"_kafka_state\":{\"topic\":");
    ndjson_append_string(sb, p->topic, p->topic_len);
    sb_puts(sb, ",\"partition\":");
    sb_put_i64(sb, p->partition);
    sb_puts(sb, ",\"next_offset\":");
    sb_put_i64(sb, next_offset);
    sb_puts(sb, ",\"token\":");
    if (token != NULL && token[0] != '\0')
        ndjson_append_string(sb, token, strlen(token));
    else
        sb_puts(sb, "null");
    sb_puts(sb, "},\"checkpoint\":");
    sb_append(sb, checkpoint, len);
    sb_puts(sb, "}\n");
}
