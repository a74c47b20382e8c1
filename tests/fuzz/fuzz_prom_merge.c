/* fuzz_prom_merge: any bytes as two Prometheus expositions (split at the
 * first NUL; the first from a metrics file, labelled), merged. The output
 * must keep every sample line, give each family at most one HELP and one
 * TYPE line, and hold nothing else. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prom_merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

/* Lines of text[0..n) that are samples (start with a metric name). */
static size_t count_samples(const char *text, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if ((i == 0 || text[i - 1] == '\n') && is_name_start(text[i])) count++;
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t first = nul ? (size_t)(nul - text) : size;
    const char *second = nul ? nul + 1 : text + size;
    size_t second_len = size - first - (nul != NULL);

    prom_merge *pm = prom_merge_new();
    prom_merge_add(pm, text, first, "we\"ird\\name\n.prom");
    prom_merge_add(pm, second, second_len, NULL);
    strbuf out = STRBUF_INIT;
    prom_merge_format(pm, &out);
    prom_merge_free(pm);

    size_t samples = count_samples(text, first) + count_samples(second, second_len);
    if (count_samples(out.data ? out.data : "", out.len) != samples) abort();
    if (out.len > 0 && out.data[out.len - 1] != '\n') abort();
    /* every comment is a HELP or TYPE line, each once per family */
    for (size_t i = 0; i < out.len; i++) {
        if ((i > 0 && out.data[i - 1] != '\n') || out.data[i] != '#') continue;
        const char *line = out.data + i;
        if (strncmp(line, "# HELP ", 7) != 0 && strncmp(line, "# TYPE ", 7) != 0) abort();
        const char *name = line + 7;
        size_t name_len = strcspn(name, " \n");
        for (size_t j = 0; j < i; j++) {
            const char *p = out.data + j;
            if ((j == 0 || p[-1] == '\n') && strncmp(p, line, 7) == 0 &&
                strncmp(p + 7, name, name_len) == 0 &&
                (p[7 + name_len] == ' ' || p[7 + name_len] == '\n'))
                abort();
        }
    }
    sb_free(&out);
    return 0;
}
