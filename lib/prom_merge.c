/* prom_merge: one exposition from several. See prom_merge.h. */
#include "prom_merge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct family {
    char *name;
    strbuf help;    /* the text after "# HELP name ", or empty */
    strbuf type;    /* "counter", "histogram", …, or empty */
    strbuf samples; /* whole lines, each with its '\n' */
};

struct prom_merge {
    struct family *families;
    size_t n, cap;
};

prom_merge *prom_merge_new(void)
{
    prom_merge *pm = calloc(1, sizeof *pm);
    if (pm == NULL) abort();
    return pm;
}

void prom_merge_free(prom_merge *pm)
{
    if (pm == NULL) return;
    for (size_t i = 0; i < pm->n; i++) {
        free(pm->families[i].name);
        sb_free(&pm->families[i].help);
        sb_free(&pm->families[i].type);
        sb_free(&pm->families[i].samples);
    }
    free(pm->families);
    free(pm);
}

static struct family *find_family(prom_merge *pm, const char *name, size_t len)
{
    for (size_t i = 0; i < pm->n; i++)
        if (strlen(pm->families[i].name) == len && memcmp(pm->families[i].name, name, len) == 0)
            return &pm->families[i];
    return NULL;
}

static struct family *get_family(prom_merge *pm, const char *name, size_t len)
{
    struct family *f = find_family(pm, name, len);
    if (f) return f;
    if (pm->n == pm->cap) {
        pm->cap = pm->cap ? pm->cap * 2 : 32;
        pm->families = realloc(pm->families, pm->cap * sizeof *pm->families);
        if (pm->families == NULL) abort();
    }
    f = &pm->families[pm->n++];
    f->name = strndup(name, len);
    if (f->name == NULL) abort();
    f->help = (strbuf)STRBUF_INIT;
    f->type = (strbuf)STRBUF_INIT;
    f->samples = (strbuf)STRBUF_INIT;
    return f;
}

static bool is_name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Length of the metric name at the start of s[0..n), 0 when none. */
static size_t name_length(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_name_char(s[i], i == 0))
        i++;
    return i;
}

/* The family a sample called name[0..len) belongs to: its own, or that of
 * the histogram or summary whose _bucket, _sum or _count it is. */
static struct family *sample_family(prom_merge *pm, const char *name, size_t len)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    struct family *f = find_family(pm, name, len);
    if (f) return f;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t sl = strlen(suffixes[i]);
        if (len <= sl || memcmp(name + len - sl, suffixes[i], sl) != 0) continue;
        struct family *base = find_family(pm, name, len - sl);
        if (base && base->type.len > 0 &&
            (strcmp(base->type.data, "histogram") == 0 || strcmp(base->type.data, "summary") == 0))
            return base;
    }
    return get_family(pm, name, len);
}

/* Append a label value with \, " and newline escaped. */
static void append_label_value(strbuf *sb, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') sb_putc(sb, '\\');
        if (*s == '\n') {
            sb_puts(sb, "\\n");
            continue;
        }
        sb_putc(sb, *s);
    }
}

/* "# HELP name text" or "# TYPE name type": keep the first of each. */
static void add_comment(prom_merge *pm, const char *line, size_t n)
{
    bool help = n > 7 && memcmp(line, "# HELP ", 7) == 0;
    bool type = n > 7 && memcmp(line, "# TYPE ", 7) == 0;
    if (!help && !type) return;
    const char *name = line + 7;
    size_t rest = n - 7;
    size_t name_len = name_length(name, rest);
    if (name_len == 0 || (name_len < rest && name[name_len] != ' ')) return;
    struct family *f = get_family(pm, name, name_len);
    strbuf *field = help ? &f->help : &f->type;
    if (field->len > 0) return;
    const char *text = name + name_len + (name_len < rest);
    sb_append(field, text, (size_t)(line + n - text));
}

static void add_sample(prom_merge *pm, const char *line, size_t n, const char *file_label)
{
    size_t name_len = name_length(line, n);
    if (name_len == 0) return;
    strbuf *out = &sample_family(pm, line, name_len)->samples;
    if (file_label == NULL) {
        sb_append(out, line, n);
        sb_putc(out, '\n');
        return;
    }
    const char *rest = line + name_len, *end = line + n;
    sb_append(out, line, name_len);
    sb_puts(out, "{file=\"");
    append_label_value(out, file_label);
    sb_putc(out, '"');
    if (rest < end && *rest == '{') {
        rest++;
        if (rest < end && *rest != '}') sb_putc(out, ',');
    } else {
        sb_putc(out, '}');
    }
    sb_append(out, rest, (size_t)(end - rest));
    sb_putc(out, '\n');
}

void prom_merge_add(prom_merge *pm, const char *text, size_t len, const char *file_label)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        size_t n = (size_t)(line_end - p);
        if (n > 0 && p[n - 1] == '\r') n--;
        if (n > 0 && p[0] == '#')
            add_comment(pm, p, n);
        else if (n > 0)
            add_sample(pm, p, n, file_label);
        p = line_end + 1;
    }
}

void prom_merge_format(const prom_merge *pm, strbuf *out)
{
    for (size_t i = 0; i < pm->n; i++) {
        const struct family *f = &pm->families[i];
        if (f->help.len > 0) {
            sb_printf(out, "# HELP %s ", f->name);
            sb_append(out, f->help.data, f->help.len);
            sb_putc(out, '\n');
        }
        if (f->type.len > 0) {
            sb_printf(out, "# TYPE %s ", f->name);
            sb_append(out, f->type.data, f->type.len);
            sb_putc(out, '\n');
        }
        sb_append(out, f->samples.data, f->samples.len);
    }
}
