/* fuzz_result_reader: the fast path of result_reader against
 * window_result_parse (jansson) on any bytes: whenever the fast path
 * accepts a line, jansson must accept it too and read the same result, and
 * result_reader_parse must always agree with window_result_parse. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "result_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_value(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static int same_result(const struct window_result *a, const struct window_result *b)
{
    if (strcmp(a->key_name, b->key_name) != 0 || strcmp(a->key, b->key) != 0 ||
        a->key_is_string != b->key_is_string || a->start_ms != b->start_ms ||
        a->end_ms != b->end_ms || a->final != b->final || a->n_metrics != b->n_metrics)
        return 0;
    for (size_t i = 0; i < a->n_metrics; i++)
        if (strcmp(a->metrics[i].name, b->metrics[i].name) != 0 ||
            !same_value(a->metrics[i].value, b->metrics[i].value))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    static struct window_result fast, slow, both;
    char err[256];
    int slow_rc = window_result_parse(line, size, &slow, err, sizeof err);
    if (result_reader_fast(line, size, &fast) == 0 && (slow_rc != 0 || !same_result(&fast, &slow)))
        abort();
    if (result_reader_parse(line, size, &both, err, sizeof err) != slow_rc) abort();
    return 0;
}
