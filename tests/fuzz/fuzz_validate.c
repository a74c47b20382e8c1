/* fuzz_validate: every line of the input through lib/validate with the
 * default schema, each verdict checked with jansson:
 *   - a DLQ record is one line of valid JSON;
 *   - a line passed as an event is a JSON object whose members keep the
 *     default schema's type, bound and length rules, read here by jansson
 *     from the schema document itself (a second reading of the same rules);
 *   - a SCHEMA_VIOLATION is a JSON object, a JSON_PARSE_ERROR (outside the
 *     Kafka wrappers) is not one.
 * Any breach aborts. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

static size_t characters(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += ((unsigned char)s[i] & 0xC0) != 0x80;
    return count;
}

/* The line jansson loaded as doc keeps every type and bound rule. */
static int keeps_rules(const json_t *doc, const json_t *schema_doc)
{
    const json_t *required = json_object_get(schema_doc, "required");
    size_t i;
    const json_t *name;
    json_array_foreach(required, i, name)
    {
        if (!json_object_get(doc, json_string_value(name))) return 0;
    }
    const char *field;
    const json_t *rule;
    json_object_foreach((json_t *)json_object_get(schema_doc, "properties"), field, rule)
    {
        const json_t *v = json_object_get(doc, field);
        if (!v) continue;
        const char *type = json_string_value(json_object_get(rule, "type"));
        if (strcmp(type, "integer") == 0 && !json_is_integer(v)) return 0;
        if (strcmp(type, "number") == 0 && !json_is_number(v)) return 0;
        if (strcmp(type, "string") == 0 && !json_is_string(v)) return 0;
        const json_t *min = json_object_get(rule, "minimum");
        const json_t *max = json_object_get(rule, "maximum");
        if (min && json_number_value(v) < json_number_value(min)) return 0;
        if (max && json_number_value(v) > json_number_value(max)) return 0;
        const json_t *min_len = json_object_get(rule, "minLength");
        const json_t *max_len = json_object_get(rule, "maxLength");
        size_t n = json_is_string(v) ? characters(json_string_value(v), json_string_length(v)) : 0;
        if (min_len && n < (size_t)json_integer_value(min_len)) return 0;
        if (max_len && n > (size_t)json_integer_value(max_len)) return 0;
    }
    return 1;
}

static void check_line(validator *v, const json_t *schema_doc, const char *line, size_t len)
{
    struct dlq_record rec;
    enum verdict verdict = validator_check(v, line, len, 1, &rec);
    json_t *doc = json_loadb(line, len, JSON_DECODE_ANY, NULL);
    bool has_nul = memchr(line, '\0', len) != NULL;
    if (verdict == VERDICT_EVENT && (!json_is_object(doc) || !keeps_rules(doc, schema_doc)))
        abort();
    if (verdict == VERDICT_DLQ) {
        strbuf sb = STRBUF_INIT;
        dlq_format(&sb, &rec);
        if (memchr(sb.data, '\n', sb.len) != sb.data + sb.len - 1) abort();
        /* An original holding NUL bytes carries them as \u0000. */
        json_t *record = json_loadb(sb.data, sb.len, JSON_ALLOW_NUL, NULL);
        if (!json_is_object(record)) abort();
        json_decref(record);
        sb_free(&sb);
        if (rec.error == DLQ_SCHEMA_VIOLATION && !json_is_object(doc)) abort();
        bool wrapped = json_object_get(doc, "_raw") || json_object_get(doc, "_raw_base64");
        if (rec.error == DLQ_JSON_PARSE_ERROR && !wrapped && json_is_object(doc) && !has_nul)
            abort();
    }
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static schema *s;
    static validator *v;
    static json_t *schema_doc;
    if (!s) {
        char err[256];
        const char *text = schema_default_text();
        s = schema_parse(text, strlen(text), err, sizeof err);
        v = validator_new(s);
        schema_doc = json_loads(text, 0, NULL);
        if (!s || !v || !schema_doc) abort();
    }
    const char *p = (const char *)data, *end = p + size;
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        check_line(v, schema_doc, p, len);
        if (!nl) break;
        p = nl + 1;
    }
    return 0;
}
