/* metrics: counters and gauges in the Prometheus text format.
 *
 * Each program keeps one registry. Registering returns a pointer the hot path
 * increments directly (no lookup, no lock: one thread owns a registry). The
 * registry is written as a node_exporter textfile (--metrics-file): to a
 * temporary file beside PATH, then renamed over it, so a scraper never reads
 * half a file. Every sample carries tool="sp-NAME". */
#ifndef SP_METRICS_H
#define SP_METRICS_H

#include <stdint.h>

#include "strbuf.h"

/* How often metrics_tick() rewrites the file. */
#define METRICS_INTERVAL_MS 2000

typedef struct metrics metrics;

/* A registry for tool, written to path (NULL: kept in memory only). */
metrics *metrics_new(const char *tool, const char *path);
void metrics_free(metrics *m);

/* A counter. labels is NULL or the inside of the braces without the tool
 * label, e.g. "error_type=\"SCHEMA_VIOLATION\"". The same name and labels
 * give the same counter. help is the # HELP text (first registration wins). */
uint64_t *metrics_counter(metrics *m, const char *name, const char *labels, const char *help);

/* A gauge, as metrics_counter. */
double *metrics_gauge(metrics *m, const char *name, const char *labels, const char *help);

/* Append the exposition text of every metric to sb. */
void metrics_format(const metrics *m, strbuf *sb);

/* Rewrite the file if METRICS_INTERVAL_MS has passed since the last write.
 * Cheap enough to call once per record. */
void metrics_tick(metrics *m);

/* Rewrite the file now. Returns 0, or -1 with errno (the file is then left
 * as it was). Without a path, does nothing and returns 0. */
int metrics_write(metrics *m);

#endif
