/* result_reader: window result lines read fast, for sp-redis-sink.
 *
 * window_result_parse() builds a whole jansson document per line, which is
 * half of the sink's CPU time. This reader takes the members in place with
 * the one record scanner (event_reader.h), which accepts what jansson
 * accepts. A line it refuses (not a result, a repeated member, or one of
 * the bytes jansson reads differently, such as a raw NUL) goes to
 * window_result_parse() for the verdict and its reason, so the answer is
 * always the one window_result_parse() gives: fuzz_result_reader checks
 * that. */
#ifndef SP_RESULT_READER_H
#define SP_RESULT_READER_H

#include <stddef.h>

#include "window_result.h"

/* As window_result_parse(): 0 with r filled, or -1 with a reason in err. */
int result_reader_parse(const char *line, size_t len, struct window_result *r, char *err,
                        size_t errlen);

/* The scanner's reading alone: 0 with r filled, or -1 when it refuses the
 * line (window_result_parse() then gives the reason). For tests. */
int result_reader_fast(const char *line, size_t len, struct window_result *r);

#endif
