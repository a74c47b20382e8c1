/* acked_offset: see acked_offset.h. */
#include "acked_offset.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct pending_line {
    uint64_t end;
    bool done;
};

/* Lines first_pending, first_pending + 1, ... are lines[0..n_lines). */
struct acked_offset {
    uint64_t acked;         /* the prefix offset */
    uint64_t first_pending; /* number of lines[0] */
    struct pending_line *lines;
    size_t n_lines, cap;
};

acked_offset *acked_offset_new(uint64_t start)
{
    acked_offset *a = calloc(1, sizeof *a);
    if (a == NULL) abort();
    a->acked = start;
    a->first_pending = 1;
    return a;
}

void acked_offset_free(acked_offset *a)
{
    if (a == NULL) return;
    free(a->lines);
    free(a);
}

uint64_t acked_offset_add(acked_offset *a, uint64_t end)
{
    if (a->n_lines == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        a->lines = realloc(a->lines, a->cap * sizeof *a->lines);
        if (a->lines == NULL) abort();
    }
    a->lines[a->n_lines++] = (struct pending_line){.end = end};
    return a->first_pending + a->n_lines - 1;
}

void acked_offset_done(acked_offset *a, uint64_t n)
{
    if (n < a->first_pending || n - a->first_pending >= a->n_lines) return;
    a->lines[n - a->first_pending].done = true;
    size_t prefix = 0;
    while (prefix < a->n_lines && a->lines[prefix].done)
        a->acked = a->lines[prefix++].end;
    if (prefix == 0) return;
    memmove(a->lines, a->lines + prefix, (a->n_lines - prefix) * sizeof *a->lines);
    a->n_lines -= prefix;
    a->first_pending += prefix;
}

uint64_t acked_offset_get(const acked_offset *a)
{
    return a->acked;
}
