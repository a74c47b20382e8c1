/* window_state: the state of a window set, or of one of its tasks, as the
 * members of a checkpoint document (checkpoint.h), and back.
 *
 *   "tasks":[{"topic":"events","partition":2,"next_offset":1234,
 *             "highest":1756627200000,"watermark":1756626900000,
 *             "counts":{"events":9,"late":0,"future":0,"elsewhere":0},
 *             "keys":[5,17]}, ...],
 *   "windows":[{"task":0,"key":5,"start":1756627140000,"emitted":false,
 *               "state":{...}}, ...]
 *
 * A task of the plain input has topic "" and partition -1 and no "keys".
 * Times are epoch milliseconds, null before the first record; next_offset
 * is -1 when no offset was seen. "task" is the window's index in "tasks".
 * Windows come last, in task order and then output order, so two
 * checkpoints of one state are equal byte for byte and a reader can take
 * the windows one at a time (checkpoint_reader).
 *
 * The document of ONE task is what moves between machines with its Kafka
 * partition (streampulse(7)): its offset, watermark, windows, keys and
 * counts are everything another process needs to continue it exactly. */
#ifndef SP_WINDOW_STATE_H
#define SP_WINDOW_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "strbuf.h"
#include "window.h"

/* Append the members "tasks" and "windows" (no braces, no commas around)
 * for every task of ws, or for the task only when it is not NULL. Written
 * straight as text: a jansson tree of 300,000 windows took 1.3 GB. */
void window_state_append(strbuf *sb, const window_set *ws, const window_task *only);

/* Restore the tasks of a checkpoint into ws, none of which it may hold
 * already: the tasks from r->head's "tasks", then the windows read one at a
 * time from r. The caller has checked the document (checkpoint_validate).
 * now_ms starts the tasks' idle clocks. Returns the number of tasks made,
 * or -1 with the reason in err; the tasks made so far are then dropped. */
int window_state_restore(window_set *ws, struct checkpoint_reader *r, int64_t now_ms, char *err,
                         size_t errlen);

#endif
