/* prom_merge: several Prometheus text expositions made into one valid one.
 *
 * GET /metrics joins sp-serve's own metrics with the metrics files of the
 * pipeline's programs (--metrics-dir). Pasted one after another they repeat
 * the # HELP and # TYPE lines of shared families (sp_redis_errors_total is
 * written by sp-serve and by sp-redis-sink) and split a family's samples,
 * which the format forbids and `promtool check metrics` rejects. Here every
 * family gets one HELP and one TYPE (the first seen) and all its samples
 * together, families in the order they first appear. Samples of a histogram
 * or summary (name_bucket, name_sum, name_count) join the family their TYPE
 * line names.
 *
 * A sample from a file can be given a label file="<name>", so two instances
 * of one program on one machine stay distinct series. Comment lines other
 * than HELP and TYPE, blank lines and lines that do not start with a metric
 * name are dropped; the rest of a sample line is copied as it is. */
#ifndef SP_PROM_MERGE_H
#define SP_PROM_MERGE_H

#include <stddef.h>

#include "strbuf.h"

typedef struct prom_merge prom_merge;

prom_merge *prom_merge_new(void);
void prom_merge_free(prom_merge *pm);

/* Add the exposition text[0..len) (need not end in a newline). When
 * file_label is not NULL, every sample of it gets the label
 * file="<file_label>" first (escaped as a label value). */
void prom_merge_add(prom_merge *pm, const char *text, size_t len, const char *file_label);

/* Append the merged exposition to out. */
void prom_merge_format(const prom_merge *pm, strbuf *out);

#endif
