/* strbuf: a growable byte buffer, the one way records are built in memory.
 *
 * data is always NUL-terminated (not counted in len), so a strbuf can be
 * handed to functions that want a C string. Allocation failure aborts: a
 * filter that cannot get a few kilobytes has nothing sensible left to do. */
#ifndef SP_STRBUF_H
#define SP_STRBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct strbuf {
    char *data;
    size_t len;
    size_t cap;
} strbuf;

/* An empty buffer; no allocation until the first append. */
#define STRBUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Release the memory and leave an empty buffer. */
void sb_free(strbuf *sb);

/* Forget the contents, keep the memory. */
void sb_reset(strbuf *sb);

/* Make room for at least n more bytes; returns where they would go. */
char *sb_reserve(strbuf *sb, size_t n);

/* Append n bytes. */
void sb_append(strbuf *sb, const void *p, size_t n);

/* Append a C string. */
void sb_puts(strbuf *sb, const char *s);

/* Append one byte. */
void sb_putc(strbuf *sb, char c);

/* Append a decimal integer. */
void sb_put_i64(strbuf *sb, int64_t v);

/* Append printf-formatted text. */
void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
