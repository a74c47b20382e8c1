/* kafka_msg: see kafka_msg.h.
 *
 * The JSON check is a small non-recursive scanner rather than a jansson
 * load: it allocates nothing and looks at each byte once, which keeps
 * sp-kcat-in near the speed of kcat while still deciding exactly what jansson
 * (and so sp-validate) would accept. */
#include "kafka_msg.h"

#include <string.h>

#include "ndjson.h"

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The 4 hex digits at p as a code unit, or -1. */
static long hex4(const char *p, const char *end)
{
    if (end - p < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(p[i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

/* p at "\u": the code point of the escape (a surrogate pair counts as one)
 * into *cp; returns the end of the escape, or NULL when it is malformed or a
 * lone surrogate, which jansson refuses. */
static const char *scan_unicode_escape(const char *p, const char *end, long *cp)
{
    long unit = hex4(p + 2, end);
    if (unit < 0) return NULL;
    p += 6;
    if (unit >= 0xDC00 && unit <= 0xDFFF) return NULL;
    if (unit < 0xD800 || unit > 0xDBFF) {
        *cp = unit;
        return p;
    }
    if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return NULL;
    long low = hex4(p + 2, end);
    if (low < 0xDC00 || low > 0xDFFF) return NULL;
    *cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    return p + 6;
}

/* p at a backslash inside a string: the end of the escape, or NULL. */
static const char *scan_escape(const char *p, const char *end)
{
    if (end - p < 2) return NULL;
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return p + 2;
    case 'u': {
        long cp;
        return scan_unicode_escape(p, end, &cp);
    }
    default:
        return NULL;
    }
}

/* Length of the UTF-8 sequence at p when it is well-formed, else 0. */
static size_t utf8_char_length(const char *p, const char *end)
{
    unsigned char lead = (unsigned char)*p;
    size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if ((size_t)(end - p) < len || !utf8_valid(p, len)) return 0;
    return len;
}

/* p at '"': the byte after the closing quote, or NULL when the string is
 * unterminated, holds a control character, a bad escape or bad UTF-8. */
static const char *scan_string(const char *p, const char *end)
{
    p++;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            p = scan_escape(p, end);
            if (!p) return NULL;
        } else if (c < 0x80) {
            p++;
        } else {
            size_t len = utf8_char_length(p, end);
            if (len == 0) return NULL;
            p += len;
        }
    }
    return NULL;
}

static const char *scan_digits(const char *p, const char *end)
{
    const char *start = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p == start ? NULL : p;
}

/* An RFC 8259 number at p: its end, or NULL. */
static const char *scan_number(const char *p, const char *end)
{
    if (p < end && *p == '-') p++;
    if (p < end && *p == '0') {
        p++;
    } else {
        p = scan_digits(p, end);
        if (!p) return NULL;
    }
    if (p < end && *p == '.') {
        p = scan_digits(p + 1, end);
        if (!p) return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        p = scan_digits(p, end);
    }
    return p;
}

static const char *scan_literal(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(end - p) < n || memcmp(p, word, n) != 0) return NULL;
    return p + n;
}

/* p at what should be a member name: the byte after its ':', or NULL. */
static const char *scan_member_name(const char *p, const char *end)
{
    if (p == end || *p != '"') return NULL;
    p = scan_string(p, end);
    if (!p) return NULL;
    p = skip_ws(p, end);
    if (p == end || *p != ':') return NULL;
    return p + 1;
}

/* One scalar value at p (not an object or array): its end, or NULL. */
static const char *scan_scalar(const char *p, const char *end)
{
    switch (*p) {
    case '"':
        return scan_string(p, end);
    case 't':
        return scan_literal(p, end, "true");
    case 'f':
        return scan_literal(p, end, "false");
    case 'n':
        return scan_literal(p, end, "null");
    default:
        return scan_number(p, end);
    }
}

/* One JSON value, leading whitespace allowed: its end, or NULL. Containers
 * are tracked on an explicit stack (the closing byte each one expects) so
 * hostile nesting costs no C stack. */
static const char *scan_value(const char *p, const char *end)
{
    char expect[KAFKA_MSG_MAX_DEPTH];
    size_t depth = 0;
    for (;;) {
        p = skip_ws(p, end);
        if (p == end) return NULL;
        if (*p == '{' || *p == '[') {
            if (depth == KAFKA_MSG_MAX_DEPTH) return NULL;
            char close = *p == '{' ? '}' : ']';
            p = skip_ws(p + 1, end);
            if (p < end && *p == close) {
                p++;
            } else {
                expect[depth++] = close;
                if (close == '}' && !(p = scan_member_name(p, end))) return NULL;
                continue;
            }
        } else if (!(p = scan_scalar(p, end))) {
            return NULL;
        }
        /* A value is complete: close the containers it completes, or move to
         * the next element of the innermost one. */
        for (;;) {
            if (depth == 0) return p;
            p = skip_ws(p, end);
            if (p == end) return NULL;
            if (*p == expect[depth - 1]) {
                depth--;
                p++;
                continue;
            }
            if (*p != ',') return NULL;
            p = skip_ws(p + 1, end);
            if (expect[depth - 1] == '}' && !(p = scan_member_name(p, end))) return NULL;
            break;
        }
    }
}

bool kafka_msg_is_json(const char *s, size_t n)
{
    const char *end = s + n;
    const char *p = scan_value(s, end);
    return p && skip_ws(p, end) == end;
}

bool kafka_msg_is_object(const char *s, size_t n)
{
    const char *p = skip_ws(s, s + n);
    return p < s + n && *p == '{' && kafka_msg_is_json(p, (size_t)(s + n - p));
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
    if (!memchr(s, '\n', len) && kafka_msg_is_object(s, len)) {
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
    if (utf8_valid(s, len)) {
        sb_puts(sb, ",\"_raw\":");
        ndjson_append_string(sb, s, len);
    } else {
        sb_puts(sb, ",\"_raw_base64\":\"");
        base64_append(sb, s, len);
        sb_putc(sb, '"');
    }
    sb_puts(sb, "}\n");
    return false;
}

static void utf8_append(strbuf *sb, long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sb_append(sb, b, n);
}

/* Append the decoded text of the string whose quotes are at p and end - 1;
 * the string was already checked by scan_string. */
static void string_decode(const char *p, const char *end, strbuf *out)
{
    p++;
    end--;
    while (p < end) {
        const char *run = p;
        while (p < end && *p != '\\')
            p++;
        sb_append(out, run, (size_t)(p - run));
        if (p == end) return;
        long cp;
        switch (p[1]) {
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u':
            p = scan_unicode_escape(p, end, &cp);
            utf8_append(out, cp);
            continue;
        default:
            cp = p[1];
            break;
        }
        sb_putc(out, (char)cp);
        p += 2;
    }
}

/* True when the member name whose quotes are at p and end - 1 decodes to
 * field[0..field_len). */
static bool name_equals(const char *p, const char *end, const char *field, size_t field_len)
{
    size_t raw_len = (size_t)(end - p - 2);
    if (!memchr(p + 1, '\\', raw_len))
        return raw_len == field_len && memcmp(p + 1, field, field_len) == 0;
    strbuf decoded = STRBUF_INIT;
    string_decode(p, end, &decoded);
    bool equal = decoded.len == field_len && memcmp(decoded.data, field, field_len) == 0;
    sb_free(&decoded);
    return equal;
}

bool kafka_msg_key(const char *line, size_t n, const char *field, size_t field_len, strbuf *key)
{
    const char *end = line + n;
    const char *p = skip_ws(line, end);
    if (p == end || *p != '{') return false;
    p = skip_ws(p + 1, end);
    for (;;) {
        if (p == end || *p != '"') return false;
        const char *name = p;
        const char *name_end = scan_string(p, end);
        if (!name_end) return false;
        p = skip_ws(name_end, end);
        if (p == end || *p != ':') return false;
        const char *value = skip_ws(p + 1, end);
        const char *value_end = scan_value(value, end);
        if (!value_end) return false;
        if (name_equals(name, name_end, field, field_len)) {
            if (*value == '"')
                string_decode(value, value_end, key);
            else
                sb_append(key, value, (size_t)(value_end - value));
            return true;
        }
        p = skip_ws(value_end, end);
        if (p == end || *p != ',') return false;
        p = skip_ws(p + 1, end);
    }
}
