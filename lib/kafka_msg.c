/* kafka_msg: see kafka_msg.h. JSON is judged by the one record scanner
 * (event_reader.h), which allocates nothing and looks at each byte once, so
 * sp-kcat-in stays near the speed of kcat. */
#include "kafka_msg.h"

#include <string.h>

#include "ndjson.h"

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* True when s[0..n) is exactly one JSON object, with optional whitespace
 * around it. */
static bool is_object(const char *s, size_t n)
{
    static const struct ev_fields no_fields;
    struct ev_scan scan;
    return ev_scan(s, n, &no_fields, &scan) == 0 && scan.top == EV_OBJECT;
}

void kafka_coordinates_append(strbuf *sb, const char *topic, int32_t partition, int64_t offset)
{
    sb_puts(sb, "{\"topic\":");
    ndjson_append_string(sb, topic, strlen(topic));
    sb_puts(sb, ",\"partition\":");
    sb_put_i64(sb, partition);
    sb_puts(sb, ",\"offset\":");
    sb_put_i64(sb, offset);
    sb_putc(sb, '}');
}

bool kafka_msg_to_ndjson(strbuf *sb, const char *topic, int32_t partition, int64_t offset,
                         const void *value, size_t len)
{
    const char *s = value;
    sb_puts(sb, "{\"_kafka\":");
    kafka_coordinates_append(sb, topic, partition, offset);
    if (!s) {
        sb_puts(sb, ",\"_raw\":null}\n");
        return false;
    }
    if (!memchr(s, '\n', len) && is_object(s, len)) {
        const char *begin = skip_ws(s, s + len);
        const char *end = s + len;
        while (end > begin && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            end--;
        const char *members = begin + 1; /* past the object's '{' */
        if (*skip_ws(members, end) != '}') sb_putc(sb, ',');
        sb_append(sb, members, (size_t)(end - members));
        sb_putc(sb, '\n');
        return true;
    }
    ndjson_append_bytes_member(sb, "_raw", s, len);
    sb_puts(sb, "}\n");
    return false;
}

int kafka_key_reader_init(struct kafka_key_reader *r, const char *field)
{
    ev_fields_init(&r->field);
    return ev_fields_add(&r->field, field) < 0 ? -1 : 0;
}

/* The key member's first occurrence, as the scan meets it. */
struct key_search {
    const struct kafka_key_reader *r;
    struct ev_value value;
    bool found;
    strbuf name;
};

static int stop_at_key(void *arg, const struct ev_member *m)
{
    struct key_search *ks = arg;
    size_t len;
    const char *name = ev_member_name(m, &ks->name, &len);
    ks->found = len == ks->r->field.len[0] && memcmp(name, ks->r->field.name[0], len) == 0;
    if (ks->found) ks->value = m->value;
    return ks->found;
}

bool kafka_key_read(struct kafka_key_reader *r, const char *line, size_t n, strbuf *key)
{
    static const struct ev_fields no_fields;
    struct key_search ks = {.r = r, .name = STRBUF_INIT};
    int rc = ev_scan_members(line, n, &no_fields, &r->scan, stop_at_key, &ks);
    sb_free(&ks.name);
    if (rc < 0 || !ks.found) return false;
    const struct ev_value *v = &ks.value;
    if (v->kind != EV_STRING) {
        sb_append(key, v->text, v->len);
        return true;
    }
    size_t len;
    strbuf scratch = STRBUF_INIT;
    const char *text = ev_string(v, &scratch, &len);
    sb_append(key, text, len);
    sb_free(&scratch);
    return true;
}
