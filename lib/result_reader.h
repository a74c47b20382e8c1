/* result_reader: window result lines read fast, for sp-redis-sink.
 *
 * window_result_parse() builds a whole jansson document per line, which is
 * half of the sink's CPU time. The lines sp-window writes are flat objects
 * of plain ASCII names, numbers, two time strings and a boolean; this reader
 * scans exactly those in place. Anything else (escapes, non-ASCII, nesting,
 * repeated names, numbers it cannot be sure of, and every malformed line)
 * goes to window_result_parse(), so the answer is always the one
 * window_result_parse() gives: fuzz_result_reader checks that. */
#ifndef SP_RESULT_READER_H
#define SP_RESULT_READER_H

#include <stddef.h>

#include "window_result.h"

/* As window_result_parse(): 0 with r filled, or -1 with a reason in err. */
int result_reader_parse(const char *line, size_t len, struct window_result *r, char *err,
                        size_t errlen);

/* The fast path alone: 0 with r filled, or -1 when the line is not one it
 * handles (then nothing can be concluded about the line). For tests. */
int result_reader_fast(const char *line, size_t len, struct window_result *r);

#endif
