/* strbuf: see strbuf.h. */
#include "strbuf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_free(strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

void sb_reset(strbuf *sb)
{
    sb->len = 0;
    if (sb->data) sb->data[0] = '\0';
}

char *sb_reserve(strbuf *sb, size_t n)
{
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *p = realloc(sb->data, cap);
        if (!p) abort();
        sb->data = p;
        sb->cap = cap;
    }
    return sb->data + sb->len;
}

void sb_append(strbuf *sb, const void *p, size_t n)
{
    char *dst = sb_reserve(sb, n);
    if (n) memcpy(dst, p, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void sb_puts(strbuf *sb, const char *s)
{
    sb_append(sb, s, strlen(s));
}

void sb_putc(strbuf *sb, char c)
{
    char *dst = sb_reserve(sb, 1);
    *dst = c;
    sb->len++;
    sb->data[sb->len] = '\0';
}

void sb_put_i64(strbuf *sb, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof tmp, *p = end;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    sb_append(sb, p, (size_t)(end - p));
}

/* Most formatted pieces are short: one pass into a stack buffer, and a
 * second one straight into the strbuf only when that did not fit. */
void sb_printf(strbuf *sb, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        sb_append(sb, small, (size_t)n);
        return;
    }
    char *dst = sb_reserve(sb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}
