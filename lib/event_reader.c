/* event_reader: a single-pass, non-allocating JSON checker that also picks
 * out named top-level members. See event_reader.h for the contract, and
 * tests/fuzz/fuzz_event_reader.c for the proof that it agrees with jansson. */
#include "event_reader.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

/* The decimal digits of the smallest number that strtod rounds up to
 * infinity: 2^1024 - 2^970, halfway between DBL_MAX and 2^1024 (a tie
 * rounds to the even neighbour, which is 2^1024). It has 309 digits. */
static const char overflow_threshold[] =
    "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664"
    "90179775872070963302864166928879109465555478519404026306574886715058206819089020007083"
    "83676273854845817711531764475730270069855571366959622842914819860834936475292719074168"
    "444365510704342711559699508093042880177904174497792";

/* Exactly representable powers of ten for the fast path of ev_number(). */
static const double exact_powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                             1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                             1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Inlined whatever the compiler's size budget says: the parser is the hot
 * path of sp-validate and sp-window, and left to itself the compiler calls
 * these (callgrind: 4% more instructions per event). */
#define HOT_INLINE static inline __attribute__((always_inline))

struct scanner {
    const unsigned char *p;
    const unsigned char *start;
    const unsigned char *end;
    const char *error;
    const unsigned char *error_at;
};

static int fail(struct scanner *sc, const char *what)
{
    sc->error = what;
    sc->error_at = sc->p;
    return -1;
}

static inline bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Whitespace is rare between the tokens of a record: one comparison rules it
 * out for any byte above ' '. */
static inline void skip_whitespace(struct scanner *sc)
{
    while (sc->p < sc->end && *sc->p <= ' ' &&
           (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

/* The code unit of the four hex digits at p, or -1. */
static int32_t hex4(const unsigned char *p)
{
    int32_t value = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_digit_value(p[i]);
        if (h < 0) return -1;
        value = value << 4 | h;
    }
    return value;
}

/* Length of the well-formed UTF-8 sequence of two to four bytes at p, or 0.
 * The rules are RFC 3629's, which are also jansson's utf8_check_full. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    unsigned lead = p[0];
    size_t n;
    uint32_t cp;
    if (lead >= 0xC2 && lead <= 0xDF) {
        n = 2;
        cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        n = 3;
        cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        n = 4;
        cp = lead & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
    if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
    return n;
}

/* Bytes that stand for themselves inside a string: printable ASCII other
 * than '"' and '\\'. A table keeps the hot loop to one load and one branch
 * per byte. */
#define PLAIN(c) ((c) >= 0x20 && (c) < 0x80 && (c) != '"' && (c) != '\\')
#define PLAIN4(c) PLAIN(c), PLAIN((c) + 1), PLAIN((c) + 2), PLAIN((c) + 3)
#define PLAIN16(c) PLAIN4(c), PLAIN4((c) + 4), PLAIN4((c) + 8), PLAIN4((c) + 12)
#define PLAIN64(c) PLAIN16(c), PLAIN16((c) + 16), PLAIN16((c) + 32), PLAIN16((c) + 48)
static const bool plain_byte[256] = {PLAIN64(0), PLAIN64(64), PLAIN64(128), PLAIN64(192)};

/* A \uXXXX escape at p (pointing at the 'u'); advances past it and, for a
 * high surrogate, past its low partner. Refuses what jansson refuses. */
static int scan_unicode_escape(struct scanner *sc)
{
    const unsigned char *p = sc->p;
    if (sc->end - p < 5) return fail(sc, "invalid \\u escape");
    int32_t unit = hex4(p + 1);
    if (unit < 0) return fail(sc, "invalid \\u escape");
    if (unit == 0) return fail(sc, "\\u0000 in a string");
    if (unit >= 0xDC00 && unit <= 0xDFFF) return fail(sc, "unpaired UTF-16 surrogate");
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        if (sc->end - p < 11 || p[5] != '\\' || p[6] != 'u')
            return fail(sc, "unpaired UTF-16 surrogate");
        int32_t low = hex4(p + 7);
        if (low < 0) return fail(sc, "invalid \\u escape");
        if (low < 0xDC00 || low > 0xDFFF) return fail(sc, "unpaired UTF-16 surrogate");
        sc->p = p + 11;
        return 0;
    }
    sc->p = p + 5;
    return 0;
}

/* A string starting at the opening quote; leaves p after the closing one. */
static int scan_string(struct scanner *sc, bool *escaped)
{
    const unsigned char *end = sc->end;
    *escaped = false;
    sc->p++;
    for (;;) {
        const unsigned char *p = sc->p;
        while (p < end && plain_byte[*p])
            p++;
        sc->p = p;
        if (p == end) return fail(sc, "unterminated string");
        unsigned char c = *p;
        if (c == '"') {
            sc->p = p + 1;
            return 0;
        }
        if (c == '\\') {
            *escaped = true;
            sc->p = ++p;
            if (p == end) return fail(sc, "unterminated string");
            if (*p == 'u') {
                if (scan_unicode_escape(sc) < 0) return -1;
                continue;
            }
            switch (*p) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                sc->p = p + 1;
                continue;
            default:
                return fail(sc, "invalid escape");
            }
        }
        if (c < 0x20) return fail(sc, "control character in a string");
        size_t n = utf8_sequence(p, end);
        if (n == 0) return fail(sc, "invalid UTF-8");
        sc->p = p + n;
    }
}

/* True when the digits of an integer (sign excluded) exceed int64_t. */
static bool integer_overflows(const unsigned char *digits, size_t n, bool negative)
{
    if (n < 19) return false;
    if (n > 19) return true;
    return memcmp(digits, negative ? "9223372036854775808" : "9223372036854775807", 19) > 0;
}

/* The parts of a number already known to follow the JSON grammar. */
struct number_parts {
    bool negative;
    const unsigned char *int_digits; /* no leading zero unless it is "0" */
    size_t int_len;
    const unsigned char *frac_digits;
    size_t frac_len;
    int64_t exponent; /* saturated at +-1e9: no line holds enough digits to matter */
};

static void split_number(const unsigned char *s, const unsigned char *end, struct number_parts *np)
{
    memset(np, 0, sizeof *np);
    np->negative = *s == '-';
    if (np->negative) s++;
    np->int_digits = s;
    while (s < end && is_digit(*s))
        s++;
    np->int_len = (size_t)(s - np->int_digits);
    if (s < end && *s == '.') {
        np->frac_digits = ++s;
        while (s < end && is_digit(*s))
            s++;
        np->frac_len = (size_t)(s - np->frac_digits);
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        bool negative_exponent = *s == '-';
        if (*s == '-' || *s == '+') s++;
        int64_t e = 0;
        while (s < end && is_digit(*s)) {
            if (e < 1000000000) e = e * 10 + (*s - '0');
            s++;
        }
        np->exponent = negative_exponent ? -e : e;
    }
}

/* The i-th significant digit: the digits of int and fraction run together. */
static unsigned char mantissa_digit(const struct number_parts *np, size_t i)
{
    return i < np->int_len ? np->int_digits[i] : np->frac_digits[i - np->int_len];
}

/* True when strtod would overflow to infinity on this number, decided on the
 * digits (the number may be a megabyte long; strtod is not called). */
static bool real_overflows(const struct number_parts *np)
{
    size_t total = np->int_len + np->frac_len;
    size_t first = 0;
    while (first < total && mantissa_digit(np, first) == '0')
        first++;
    if (first == total) return false; /* zero */
    /* The value lies in [10^(magnitude-1), 10^magnitude). */
    int64_t magnitude = (int64_t)np->int_len - (int64_t)first + np->exponent;
    if (magnitude <= 308) return false;
    if (magnitude >= 310) return true;
    /* Between 1e308 and 1e309: compare the digits with the threshold's. */
    size_t t = 0;
    for (size_t i = first; i < total; i++, t++) {
        if (t == sizeof overflow_threshold - 1) return true; /* threshold is a prefix: >= */
        unsigned char d = mantissa_digit(np, i);
        if (d != (unsigned char)overflow_threshold[t])
            return d > (unsigned char)overflow_threshold[t];
    }
    return t == sizeof overflow_threshold - 1; /* ran out first: smaller, unless equal */
}

/* A number starting at '-' or a digit; sets *kind. */
HOT_INLINE int scan_number(struct scanner *sc, enum ev_kind *kind)
{
    const unsigned char *s = sc->p, *p = sc->p, *end = sc->end;
    bool negative = *p == '-';
    if (negative) p++;
    const unsigned char *int_start = p;
    if (p == end || !is_digit(*p)) {
        sc->p = p;
        return fail(sc, "invalid number");
    }
    if (*p == '0')
        p++;
    else
        while (p < end && is_digit(*p))
            p++;
    size_t int_len = (size_t)(p - int_start);
    *kind = EV_INTEGER;
    if (p < end && *p == '.') {
        p++;
        if (p == end || !is_digit(*p)) {
            sc->p = p;
            return fail(sc, "invalid number");
        }
        while (p < end && is_digit(*p))
            p++;
        *kind = EV_REAL;
    }
    bool exponent = p < end && (*p == 'e' || *p == 'E');
    if (exponent) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p == end || !is_digit(*p)) {
            sc->p = p;
            return fail(sc, "invalid number");
        }
        while (p < end && is_digit(*p))
            p++;
        *kind = EV_REAL;
    }
    if (*kind == EV_INTEGER && integer_overflows(int_start, int_len, negative))
        return fail(sc, "integer out of the 64-bit range");
    /* Without an exponent, under 309 integer digits stay below 1e308. */
    if (*kind == EV_REAL && (exponent || int_len > 308)) {
        struct number_parts np;
        split_number(s, p, &np);
        if (real_overflows(&np)) return fail(sc, "number too large for a double");
    }
    sc->p = p;
    return 0;
}

static int scan_literal(struct scanner *sc, const char *word, size_t n)
{
    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
        return fail(sc, "invalid literal");
    sc->p += n;
    return 0;
}

/* Decode the validated string body s[0..n) (no quotes) into out, which has
 * room for n bytes (decoding never lengthens). Returns the decoded length. */
static size_t decode_string(const unsigned char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') {
            out[o++] = (char)s[i++];
            continue;
        }
        unsigned char c = s[i + 1];
        i += 2;
        switch (c) {
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            uint32_t cp = (uint32_t)hex4(s + i);
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)hex4(s + i + 2) - 0xDC00);
                i += 6;
            }
            if (cp < 0x80) {
                out[o++] = (char)cp;
            } else if (cp < 0x800) {
                out[o++] = (char)(0xC0 | cp >> 6);
                out[o++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                out[o++] = (char)(0xE0 | cp >> 12);
                out[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
                out[o++] = (char)(0x80 | (cp & 0x3F));
            } else {
                out[o++] = (char)(0xF0 | cp >> 18);
                out[o++] = (char)(0x80 | (cp >> 12 & 0x3F));
                out[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
                out[o++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            out[o++] = (char)c;
            break; /* '"', '\\', '/' */
        }
    }
    return o;
}

/* Index of the field named by the string body s[0..n), or -1. */
HOT_INLINE int lookup_field(const struct ev_fields *f, const unsigned char *s, size_t n,
                            bool escaped)
{
    /* An escape takes at most six bytes to spell one byte of the name. */
    char decoded[6 * EVENT_READER_NAME_MAX];
    if (escaped) {
        if (n > sizeof decoded) return -1;
        n = decode_string(s, n, decoded);
        s = (const unsigned char *)decoded;
    }
    for (size_t i = 0; i < f->count; i++)
        if (f->len[i] == n && memcmp(f->name[i], s, n) == 0) return (int)i;
    return -1;
}

void ev_fields_init(struct ev_fields *f)
{
    f->count = 0;
}

int ev_fields_add(struct ev_fields *f, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < f->count; i++)
        if (f->len[i] == n && memcmp(f->name[i], name, n) == 0) return (int)i;
    if (f->count == EVENT_READER_MAX_FIELDS || n >= EVENT_READER_NAME_MAX) return -1;
    memcpy(f->name[f->count], name, n + 1);
    f->len[f->count] = n;
    return (int)f->count++;
}

/* Open containers as a bit stack: 1 for an object, 0 for an array. */
struct nesting {
    size_t depth;
    uint8_t is_object[EVENT_READER_MAX_DEPTH / 8];
};

static void nesting_push(struct nesting *n, bool object)
{
    size_t i = n->depth++;
    if (object)
        n->is_object[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        n->is_object[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

static bool nesting_in_object(const struct nesting *n)
{
    size_t i = n->depth - 1;
    return n->is_object[i / 8] >> (i % 8) & 1;
}

/* The parser behind ev_scan() and ev_scan_members() (one copy: two, inlined
 * into each, ran slower for the larger code). It is one loop over
 * three states, joined by goto: "value" (a value starts here), "value_done"
 * (one just ended: close containers, record a top-level member) and "member"
 * (a member name starts here). No recursion, so a deeply nested line costs a
 * bit per level, not a stack frame. */
static int scan_document(const char *text, size_t len, const struct ev_fields *fields,
                         struct ev_scan *out, ev_member_fn each, void *arg)
{
    struct scanner sc = {(const unsigned char *)text, (const unsigned char *)text,
                         (const unsigned char *)text + len, NULL, NULL};
    struct nesting nest;
    nest.depth = 0;
    for (size_t i = 0; i < fields->count; i++)
        out->value[i] = (struct ev_value){0};
    out->top = EV_ABSENT;
    out->members = 0;
    out->error = NULL;
    out->error_at = 0;

    int member_field = -1;         /* field index of the top-level member being read */
    uint32_t member_position = 0;  /* its place in the object */
    struct ev_member member = {0}; /* the top-level member being read, for each() */
    const unsigned char *value_start = sc.p;
    enum ev_kind kind = EV_ABSENT; /* the value just completed */
    bool escaped = false;

value:
    skip_whitespace(&sc);
    if (sc.p == sc.end) goto unexpected_end;
    if (nest.depth >= EVENT_READER_MAX_DEPTH) {
        fail(&sc, "nested too deeply");
        goto error;
    }
    if (nest.depth == 1) value_start = sc.p;
    escaped = false;
    switch (*sc.p) {
    case '{':
        if (nest.depth == 0) out->top = EV_OBJECT;
        nesting_push(&nest, true);
        sc.p++;
        skip_whitespace(&sc);
        if (sc.p < sc.end && *sc.p == '}') {
            sc.p++;
            nest.depth--;
            kind = EV_OBJECT;
            goto value_done;
        }
        goto member;
    case '[':
        if (nest.depth == 0) out->top = EV_ARRAY;
        nesting_push(&nest, false);
        sc.p++;
        skip_whitespace(&sc);
        if (sc.p < sc.end && *sc.p == ']') {
            sc.p++;
            nest.depth--;
            kind = EV_ARRAY;
            goto value_done;
        }
        goto value;
    case '"':
        if (scan_string(&sc, &escaped) < 0) goto error;
        kind = EV_STRING;
        break;
    case 't':
        if (scan_literal(&sc, "true", 4) < 0) goto error;
        kind = EV_TRUE;
        break;
    case 'f':
        if (scan_literal(&sc, "false", 5) < 0) goto error;
        kind = EV_FALSE;
        break;
    case 'n':
        if (scan_literal(&sc, "null", 4) < 0) goto error;
        kind = EV_NULL;
        break;
    default:
        if (*sc.p != '-' && !is_digit(*sc.p)) {
            bool utf8 = *sc.p < 0x80 || utf8_sequence(sc.p, sc.end) > 0;
            fail(&sc, utf8 ? "unexpected character" : "invalid UTF-8");
            goto error;
        }
        if (scan_number(&sc, &kind) < 0) goto error;
        break;
    }

value_done:
    if (nest.depth == 0) {
        if (out->top == EV_ABSENT) out->top = kind;
        skip_whitespace(&sc);
        if (sc.p != sc.end) {
            fail(&sc, "unexpected data after the JSON value");
            goto error;
        }
        return 0;
    }
    if (nest.depth == 1 && member_field >= 0) {
        struct ev_value *v = &out->value[member_field];
        v->kind = kind;
        v->text = (const char *)value_start;
        v->len = (size_t)(sc.p - value_start);
        v->count++;
        v->position = member_position;
        v->escaped = escaped;
    }
    if (nest.depth == 1 && each && out->top == EV_OBJECT) {
        member.value = (struct ev_value){.kind = kind,
                                         .text = (const char *)value_start,
                                         .len = (size_t)(sc.p - value_start),
                                         .escaped = escaped};
        if (each(arg, &member) != 0) return 1;
    }
    skip_whitespace(&sc);
    if (sc.p == sc.end) goto unexpected_end;
    if (nesting_in_object(&nest)) {
        if (*sc.p == ',') {
            sc.p++;
            goto member;
        }
        if (*sc.p == '}') {
            sc.p++;
            nest.depth--;
            kind = EV_OBJECT;
            escaped = false;
            goto value_done;
        }
        fail(&sc, "expected ',' or '}'");
        goto error;
    }
    if (*sc.p == ',') {
        sc.p++;
        goto value;
    }
    if (*sc.p == ']') {
        sc.p++;
        nest.depth--;
        kind = EV_ARRAY;
        escaped = false;
        goto value_done;
    }
    fail(&sc, "expected ',' or ']'");
    goto error;

member:
    skip_whitespace(&sc);
    if (sc.p == sc.end) goto unexpected_end;
    if (*sc.p != '"') {
        fail(&sc, "expected a member name");
        goto error;
    }
    {
        const unsigned char *name = sc.p + 1;
        bool name_escaped;
        if (scan_string(&sc, &name_escaped) < 0) goto error;
        if (nest.depth == 1) {
            size_t name_len = (size_t)(sc.p - 1 - name);
            member_field = lookup_field(fields, name, name_len, name_escaped);
            member_position = (uint32_t)out->members++;
            member.name = (const char *)name;
            member.name_len = name_len;
            member.name_escaped = name_escaped;
        }
    }
    skip_whitespace(&sc);
    if (sc.p == sc.end) goto unexpected_end;
    if (*sc.p != ':') {
        fail(&sc, "expected ':'");
        goto error;
    }
    sc.p++;
    goto value;

unexpected_end:
    fail(&sc, "unexpected end of input");
error:
    out->error = sc.error;
    out->error_at = (size_t)(sc.error_at - sc.start);
    return -1;
}

int ev_scan(const char *text, size_t len, const struct ev_fields *fields, struct ev_scan *out)
{
    return scan_document(text, len, fields, out, NULL, NULL);
}

int ev_scan_members(const char *text, size_t len, const struct ev_fields *fields,
                    struct ev_scan *out, ev_member_fn each, void *arg)
{
    return scan_document(text, len, fields, out, each, arg);
}

int64_t ev_integer(const struct ev_value *v)
{
    const char *s = v->text, *end = v->text + v->len;
    bool negative = *s == '-';
    if (negative) s++;
    /* Accumulate on the negative side, which holds INT64_MIN. */
    int64_t value = 0;
    for (; s < end; s++)
        value = value * 10 - (*s - '0');
    return negative ? value : -value;
}

double ev_number(const struct ev_value *v)
{
    if (v->kind == EV_INTEGER) return (double)ev_integer(v);
    struct number_parts np;
    split_number((const unsigned char *)v->text, (const unsigned char *)v->text + v->len, &np);
    /* Clinger's fast path: a mantissa below 2^53 times or over an exact power
     * of ten is one correctly rounded operation. */
    size_t total = np.int_len + np.frac_len;
    if (total <= 15) {
        uint64_t mantissa = 0;
        for (size_t i = 0; i < total; i++)
            mantissa = mantissa * 10 + (mantissa_digit(&np, i) - '0');
        int64_t e = np.exponent - (int64_t)np.frac_len;
        if (e >= -22 && e <= 22) {
            double value = (double)mantissa;
            value = e >= 0 ? value * exact_powers_of_ten[e] : value / exact_powers_of_ten[-e];
            return np.negative ? -value : value;
        }
    }
    char small[64];
    char *copy = v->len < sizeof small ? small : malloc(v->len + 1);
    if (!copy) abort();
    memcpy(copy, v->text, v->len);
    copy[v->len] = '\0';
    double value = strtod(copy, NULL);
    if (copy != small) free(copy);
    return value;
}

/* The string body s[0..n) decoded: s itself when it has no escape, else a
 * copy decoded into scratch. */
static const char *decoded(const char *s, size_t n, bool escaped, strbuf *scratch, size_t *len)
{
    if (!escaped) {
        *len = n;
        return s;
    }
    sb_reset(scratch);
    char *out = sb_reserve(scratch, n + 1);
    *len = decode_string((const unsigned char *)s, n, out);
    scratch->len = *len;
    out[*len] = '\0';
    return out;
}

const char *ev_string(const struct ev_value *v, strbuf *scratch, size_t *len)
{
    return decoded(v->text + 1, v->len - 2, v->escaped, scratch, len);
}

const char *ev_member_name(const struct ev_member *m, strbuf *scratch, size_t *len)
{
    return decoded(m->name, m->name_len, m->name_escaped, scratch, len);
}

const char *ev_kind_name(enum ev_kind k)
{
    switch (k) {
    case EV_OBJECT:
        return "an object";
    case EV_ARRAY:
        return "an array";
    case EV_STRING:
        return "a string";
    case EV_INTEGER:
        return "an integer";
    case EV_REAL:
        return "a number";
    case EV_TRUE:
    case EV_FALSE:
        return "a boolean";
    case EV_NULL:
        return "null";
    case EV_ABSENT:
        break;
    }
    return "nothing";
}
