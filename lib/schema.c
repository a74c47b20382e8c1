/* schema: see schema.h. Loading uses jansson (a schema is read once);
 * checking works on the spans event_reader picked out (once per event). */
#include "schema.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_time.h"
#include "ndjson.h"

/* The default schema. schemas/streampulse_v1.json is this very text; the
 * unit test compares them byte for byte, so neither can drift. */
static const char default_schema_text[] =
    "{\n"
    "  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n"
    "  \"title\": \"StreamPulse v1 TripEvent\",\n"
    "  \"description\": \"The default schema of sp-validate (SPEC section 3). notBlank and the "
    "event-time format are StreamPulse keywords; other members pass unchecked.\",\n"
    "  \"type\": \"object\",\n"
    "  \"required\": [\"trip_id\", \"region_id\", \"event_time\", \"fare\", \"duration\", "
    "\"distance\"],\n"
    "  \"properties\": {\n"
    "    \"trip_id\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 50, \"notBlank\": "
    "true},\n"
    "    \"region_id\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 100},\n"
    "    \"event_time\": {\"type\": \"string\", \"format\": \"event-time\"},\n"
    "    \"fare\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 1000},\n"
    "    \"duration\": {\"type\": \"integer\", \"minimum\": 60, \"maximum\": 7200, "
    "\"description\": \"seconds\"},\n"
    "    \"distance\": {\"type\": \"number\", \"minimum\": 0.1, \"maximum\": 200}\n"
    "  },\n"
    "  \"additionalProperties\": true\n"
    "}\n";

/* How much of a value a reason quotes before cutting it short. */
#define REASON_VALUE_MAX 64

enum value_type {
    TYPE_ANY,
    TYPE_STRING,
    TYPE_INTEGER,
    TYPE_NUMBER,
    TYPE_BOOLEAN,
    TYPE_NULL,
    TYPE_OBJECT,
    TYPE_ARRAY
};

static const struct {
    const char *name;
    const char *with_article; /* as in "is not an integer" */
} type_names[] = {
    [TYPE_ANY] = {"any", "anything"},           [TYPE_STRING] = {"string", "a string"},
    [TYPE_INTEGER] = {"integer", "an integer"}, [TYPE_NUMBER] = {"number", "a number"},
    [TYPE_BOOLEAN] = {"boolean", "a boolean"},  [TYPE_NULL] = {"null", "null"},
    [TYPE_OBJECT] = {"object", "an object"},    [TYPE_ARRAY] = {"array", "an array"},
};

/* A numeric limit, kept as written: an integer limit compares exactly with
 * integers of any size. */
struct bound {
    bool set;
    bool is_integer;
    int64_t integer;
    double real;
};

enum bound_kind {
    BOUND_MINIMUM,
    BOUND_MAXIMUM,
    BOUND_EXCLUSIVE_MINIMUM,
    BOUND_EXCLUSIVE_MAXIMUM,
    BOUND_COUNT
};

static const struct {
    const char *keyword;
    const char *violation; /* "is below the minimum" */
    int failing_sign;      /* the comparison result (value vs limit) that fails */
    bool fails_on_equal;
} bound_rules[BOUND_COUNT] = {
    [BOUND_MINIMUM] = {"minimum", "is below the minimum", -1, false},
    [BOUND_MAXIMUM] = {"maximum", "is above the maximum", 1, false},
    [BOUND_EXCLUSIVE_MINIMUM] = {"exclusiveMinimum", "is not above the exclusive minimum", -1,
                                 true},
    [BOUND_EXCLUSIVE_MAXIMUM] = {"exclusiveMaximum", "is not below the exclusive maximum", 1, true},
};

/* A string length limit, in characters. */
struct length_limit {
    bool set;
    uint64_t value;
};

struct rule {
    char *name;
    int field; /* index in the bound ev_fields */
    bool required;
    enum value_type type;
    struct bound bound[BOUND_COUNT];
    struct length_limit min_length, max_length;
    bool not_blank;
    bool event_time_format;
};

struct schema {
    size_t count;
    struct rule *rules;
    strbuf scratch; /* decoded strings with escapes */
};

/* ---- loading ---- */

static bool is_annotation(const char *key)
{
    static const char *const annotations[] = {"$schema",     "$id",     "$comment", "title",
                                              "description", "default", "examples"};
    for (size_t i = 0; i < sizeof annotations / sizeof *annotations; i++)
        if (strcmp(key, annotations[i]) == 0) return true;
    return false;
}

static void set_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static struct rule *add_rule(schema *s, const char *name)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->rules[i].name, name) == 0) return &s->rules[i];
    struct rule *grown = realloc(s->rules, (s->count + 1) * sizeof *grown);
    if (!grown) abort();
    s->rules = grown;
    struct rule *r = &s->rules[s->count++];
    memset(r, 0, sizeof *r);
    r->name = strdup(name);
    if (!r->name) abort();
    r->field = -1;
    return r;
}

static int parse_bound(const json_t *value, struct bound *b)
{
    if (json_is_integer(value)) {
        *b = (struct bound){true, true, json_integer_value(value),
                            (double)json_integer_value(value)};
        return 0;
    }
    if (json_is_real(value)) {
        *b = (struct bound){true, false, 0, json_real_value(value)};
        return 0;
    }
    return -1;
}

static int parse_length(const json_t *value, struct length_limit *limit)
{
    if (!json_is_integer(value) || json_integer_value(value) < 0) return -1;
    *limit = (struct length_limit){true, (uint64_t)json_integer_value(value)};
    return 0;
}

/* One member of a property rule. */
static int parse_rule_keyword(struct rule *r, const char *key, const json_t *value, char *err,
                              size_t errlen)
{
    const char *where = r->name;
    if (strcmp(key, "type") == 0) {
        const char *t = json_string_value(value);
        for (size_t i = TYPE_STRING; t && i < sizeof type_names / sizeof *type_names; i++) {
            if (strcmp(t, type_names[i].name) == 0) {
                r->type = (enum value_type)i;
                return 0;
            }
        }
        set_error(err, errlen,
                  "properties.%s.type: must be one of string, integer, number, boolean, null, "
                  "object, array",
                  where);
        return -1;
    }
    for (int b = 0; b < BOUND_COUNT; b++) {
        if (strcmp(key, bound_rules[b].keyword) != 0) continue;
        if (parse_bound(value, &r->bound[b]) == 0) return 0;
        set_error(err, errlen, "properties.%s.%s: must be a number", where, key);
        return -1;
    }
    struct length_limit *limit = strcmp(key, "minLength") == 0   ? &r->min_length
                                 : strcmp(key, "maxLength") == 0 ? &r->max_length
                                                                 : NULL;
    if (limit) {
        if (parse_length(value, limit) == 0) return 0;
        set_error(err, errlen, "properties.%s.%s: must be a non-negative integer", where, key);
        return -1;
    }
    if (strcmp(key, "notBlank") == 0) {
        if (json_is_boolean(value)) {
            r->not_blank = json_is_true(value);
            return 0;
        }
        set_error(err, errlen, "properties.%s.notBlank: must be true or false", where);
        return -1;
    }
    if (strcmp(key, "format") == 0) {
        if (json_is_string(value) && strcmp(json_string_value(value), "event-time") == 0) {
            r->event_time_format = true;
            return 0;
        }
        set_error(err, errlen, "properties.%s.format: the only format known is \"event-time\"",
                  where);
        return -1;
    }
    if (is_annotation(key)) return 0;
    set_error(err, errlen, "properties.%s: unknown keyword \"%s\"", where, key);
    return -1;
}

static int parse_name(const char *name, const char *where, char *err, size_t errlen)
{
    if (strlen(name) < EVENT_READER_NAME_MAX) return 0;
    set_error(err, errlen, "%s: member name longer than %d bytes", where,
              EVENT_READER_NAME_MAX - 1);
    return -1;
}

static int parse_properties(schema *s, const json_t *properties, char *err, size_t errlen)
{
    if (!json_is_object(properties)) {
        set_error(err, errlen, "properties: must be an object");
        return -1;
    }
    const char *name;
    const json_t *rule_doc;
    json_object_foreach((json_t *)properties, name, rule_doc)
    {
        if (parse_name(name, "properties", err, errlen) < 0) return -1;
        if (!json_is_object(rule_doc)) {
            set_error(err, errlen, "properties.%s: must be an object", name);
            return -1;
        }
        struct rule *r = add_rule(s, name);
        const char *key;
        const json_t *value;
        json_object_foreach((json_t *)rule_doc, key, value)
        {
            if (parse_rule_keyword(r, key, value, err, errlen) < 0) return -1;
        }
    }
    return 0;
}

static int parse_required(schema *s, const json_t *required, char *err, size_t errlen)
{
    if (!json_is_array(required)) {
        set_error(err, errlen, "required: must be an array of member names");
        return -1;
    }
    size_t i;
    const json_t *name;
    json_array_foreach(required, i, name)
    {
        if (!json_is_string(name)) {
            set_error(err, errlen, "required[%zu]: must be a string", i);
            return -1;
        }
        if (parse_name(json_string_value(name), "required", err, errlen) < 0) return -1;
        add_rule(s, json_string_value(name))->required = true;
    }
    return 0;
}

/* The top level: properties first, so rules keep the properties' order and
 * required names without a rule come after them. */
static int parse_document(schema *s, const json_t *doc, char *err, size_t errlen)
{
    if (!json_is_object(doc)) {
        set_error(err, errlen, "a schema must be a JSON object");
        return -1;
    }
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)doc, key, value)
    {
        if (strcmp(key, "type") == 0) {
            if (json_is_string(value) && strcmp(json_string_value(value), "object") == 0) continue;
            set_error(err, errlen, "type: an event schema has type \"object\"");
            return -1;
        }
        if (strcmp(key, "additionalProperties") == 0) {
            if (json_is_true(value)) continue;
            set_error(err, errlen,
                      "additionalProperties: only true is supported (other members "
                      "pass unchecked)");
            return -1;
        }
        if (strcmp(key, "properties") != 0 && strcmp(key, "required") != 0 && !is_annotation(key)) {
            set_error(err, errlen, "unknown keyword \"%s\"", key);
            return -1;
        }
    }
    const json_t *properties = json_object_get(doc, "properties");
    if (properties && parse_properties(s, properties, err, errlen) < 0) return -1;
    const json_t *required = json_object_get(doc, "required");
    if (required && parse_required(s, required, err, errlen) < 0) return -1;
    if (s->count > SCHEMA_MAX_FIELDS) {
        set_error(err, errlen, "names %zu members; at most %d can be checked", s->count,
                  SCHEMA_MAX_FIELDS);
        return -1;
    }
    return 0;
}

schema *schema_parse(const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        set_error(err, errlen, "line %d: %s", jerr.line, jerr.text);
        return NULL;
    }
    schema *s = calloc(1, sizeof *s);
    if (!s) abort();
    int rc = parse_document(s, doc, err, errlen);
    json_decref(doc);
    if (rc < 0) {
        schema_free(s);
        return NULL;
    }
    return s;
}

schema *schema_load_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_error(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    strbuf text = STRBUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_append(&text, chunk, n);
    int read_error = ferror(f);
    fclose(f);
    if (read_error) {
        sb_free(&text);
        set_error(err, errlen, "%s: read error", path);
        errno = EIO;
        return NULL;
    }
    char why[256];
    schema *s = schema_parse(text.data ? text.data : "", text.len, why, sizeof why);
    sb_free(&text);
    if (!s) {
        set_error(err, errlen, "%s: %s", path, why);
        errno = EINVAL;
    }
    return s;
}

const char *schema_default_text(void)
{
    return default_schema_text;
}

void schema_free(schema *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->count; i++)
        free(s->rules[i].name);
    free(s->rules);
    sb_free(&s->scratch);
    free(s);
}

int schema_bind(schema *s, struct ev_fields *fields)
{
    for (size_t i = 0; i < s->count; i++) {
        s->rules[i].field = ev_fields_add(fields, s->rules[i].name);
        if (s->rules[i].field < 0) return -1;
    }
    return 0;
}

/* ---- checking ---- */

/* Compare an integer with a double exactly: <0, 0 or >0. */
static int compare_integer_real(int64_t x, double d)
{
    if (d >= 9223372036854775808.0) return -1;
    if (d < -9223372036854775808.0) return 1;
    int64_t whole = (int64_t)d; /* exact: |d| < 2^63, truncated toward zero */
    if (x != whole) return x < whole ? -1 : 1;
    double fraction = d - (double)whole;
    return fraction > 0 ? -1 : fraction < 0 ? 1 : 0;
}

/* The value (an EV_INTEGER or EV_REAL) compared with a bound: <0, 0, >0. */
static int compare_with_bound(const struct ev_value *v, const struct bound *b)
{
    if (v->kind == EV_INTEGER) {
        int64_t x = ev_integer(v);
        if (b->is_integer) return (x > b->integer) - (x < b->integer);
        return compare_integer_real(x, b->real);
    }
    double d = ev_number(v);
    if (b->is_integer) return -compare_integer_real(b->integer, d);
    return (d > b->real) - (d < b->real);
}

static bool type_matches(enum value_type t, enum ev_kind k)
{
    switch (t) {
    case TYPE_ANY:
        return true;
    case TYPE_STRING:
        return k == EV_STRING;
    case TYPE_INTEGER:
        return k == EV_INTEGER;
    case TYPE_NUMBER:
        return k == EV_INTEGER || k == EV_REAL;
    case TYPE_BOOLEAN:
        return k == EV_TRUE || k == EV_FALSE;
    case TYPE_NULL:
        return k == EV_NULL;
    case TYPE_OBJECT:
        return k == EV_OBJECT;
    case TYPE_ARRAY:
        return k == EV_ARRAY;
    }
    return false;
}

/* Number of Unicode code points in valid UTF-8: the bytes that start one. */
static uint64_t count_characters(const char *s, size_t n)
{
    uint64_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += ((unsigned char)s[i] & 0xC0) != 0x80;
    return count;
}

static bool is_unicode_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

/* True when valid UTF-8 s[0..n) holds nothing but Unicode White_Space. */
static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char lead = (unsigned char)s[i];
        size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        uint32_t cp = len == 1 ? lead : lead & (0x7F >> len);
        for (size_t k = 1; k < len; k++)
            cp = cp << 6 | ((unsigned char)s[i + k] & 0x3F);
        if (!is_unicode_space(cp)) return false;
        i += len;
    }
    return true;
}

/* Start the reason: "<field>: ", for the broken keyword rule. */
static strbuf *begin_reason(struct schema_violation *v, const struct rule *r, const char *rule)
{
    v->field = r->name;
    v->rule = rule;
    sb_reset(&v->reason);
    sb_puts(&v->reason, r->name);
    sb_puts(&v->reason, ": ");
    return &v->reason;
}

/* Append the value as written, cut short (at a character boundary) when long. */
static void append_value(strbuf *sb, const struct ev_value *v)
{
    size_t n = v->len;
    if (n <= REASON_VALUE_MAX) {
        sb_append(sb, v->text, n);
        return;
    }
    n = REASON_VALUE_MAX;
    while (n > 0 && ((unsigned char)v->text[n] & 0xC0) == 0x80)
        n--;
    sb_append(sb, v->text, n);
    sb_puts(sb, "\xE2\x80\xA6"); /* U+2026 HORIZONTAL ELLIPSIS */
}

static void append_bound(strbuf *sb, const struct bound *b)
{
    if (b->is_integer)
        sb_put_i64(sb, b->integer);
    else
        ndjson_append_double(sb, b->real);
}

static bool check_numeric(const struct rule *r, const struct ev_value *v,
                          struct schema_violation *out)
{
    for (int b = 0; b < BOUND_COUNT; b++) {
        if (!r->bound[b].set) continue;
        int cmp = compare_with_bound(v, &r->bound[b]);
        if (cmp != bound_rules[b].failing_sign && !(cmp == 0 && bound_rules[b].fails_on_equal))
            continue;
        strbuf *sb = begin_reason(out, r, bound_rules[b].keyword);
        append_value(sb, v);
        sb_putc(sb, ' ');
        sb_puts(sb, bound_rules[b].violation);
        sb_putc(sb, ' ');
        append_bound(sb, &r->bound[b]);
        return false;
    }
    return true;
}

static bool check_string(schema *s, const struct rule *r, const struct ev_value *v,
                         struct schema_violation *out)
{
    if (!r->min_length.set && !r->max_length.set && !r->not_blank && !r->event_time_format)
        return true;
    size_t n;
    const char *text = ev_string(v, &s->scratch, &n);
    if (r->min_length.set || r->max_length.set) {
        uint64_t chars = count_characters(text, n);
        bool too_short = r->min_length.set && chars < r->min_length.value;
        bool too_long = r->max_length.set && chars > r->max_length.value;
        if (too_short || too_long) {
            strbuf *sb = begin_reason(out, r, too_short ? "minLength" : "maxLength");
            append_value(sb, v);
            sb_printf(sb, " (%llu character%s) is %s than the %s length %llu",
                      (unsigned long long)chars, chars == 1 ? "" : "s",
                      too_short ? "shorter" : "longer", too_short ? "minimum" : "maximum",
                      (unsigned long long)(too_short ? r->min_length.value : r->max_length.value));
            return false;
        }
    }
    if (r->not_blank && is_blank(text, n)) {
        strbuf *sb = begin_reason(out, r, "notBlank");
        append_value(sb, v);
        sb_puts(sb, " is blank");
        return false;
    }
    int64_t ms;
    if (r->event_time_format && event_time_parse(text, n, &ms) < 0) {
        strbuf *sb = begin_reason(out, r, "format");
        append_value(sb, v);
        sb_puts(sb, " is not an event time (RFC 3339 or YYYY-MM-DD HH:MM:SS)");
        return false;
    }
    return true;
}

bool schema_check(schema *s, const struct ev_scan *scan, struct schema_violation *v)
{
    for (size_t i = 0; i < s->count; i++) {
        const struct rule *r = &s->rules[i];
        const struct ev_value *value = &scan->value[r->field];
        if (value->kind == EV_ABSENT) {
            if (!r->required) continue;
            sb_puts(begin_reason(v, r, "required"), "missing");
            return false;
        }
        if (value->count > 1) {
            sb_printf(begin_reason(v, r, "unique"), "given %u times", (unsigned)value->count);
            return false;
        }
        if (!type_matches(r->type, value->kind)) {
            strbuf *sb = begin_reason(v, r, "type");
            append_value(sb, value);
            sb_puts(sb, " is not ");
            sb_puts(sb, type_names[r->type].with_article);
            return false;
        }
        if ((value->kind == EV_INTEGER || value->kind == EV_REAL) && !check_numeric(r, value, v))
            return false;
        if (value->kind == EV_STRING && !check_string(s, r, value, v)) return false;
    }
    return true;
}
