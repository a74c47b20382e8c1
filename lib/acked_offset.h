/* acked_offset: how far into an input every message is acknowledged.
 *
 * A producer reads lines from a file and hands them to Kafka, whose
 * acknowledgements come back out of order across partitions. To resume the
 * file after a crash without losing a line, it may only save an offset
 * before which every line was acknowledged (or needed no message): the
 * contiguous acknowledged prefix. Lines are numbered 1, 2, ... in the order
 * they were added; a line still unacknowledged holds the offset back, so a
 * restart sends it, and maybe some after it, again: at least once. */
#ifndef SP_ACKED_OFFSET_H
#define SP_ACKED_OFFSET_H

#include <stdint.h>

typedef struct acked_offset acked_offset;

/* A tracker for an input read from byte offset start. */
acked_offset *acked_offset_new(uint64_t start);
void acked_offset_free(acked_offset *a);

/* The next line, whose bytes (its newline included) end at offset end.
 * Returns its number. */
uint64_t acked_offset_add(acked_offset *a, uint64_t end);

/* Line number n is acknowledged (or was never a message). Numbers not
 * added, or already done, are ignored. */
void acked_offset_done(acked_offset *a, uint64_t n);

/* Every byte before this offset belongs to acknowledged lines. */
uint64_t acked_offset_get(const acked_offset *a);

#endif
