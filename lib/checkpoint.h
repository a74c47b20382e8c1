/* checkpoint: the sp-window checkpoint document, written atomically, read
 * back and validated.
 *
 *   {"format":"sp-window-checkpoint","version":2,
 *    "config":"key=region_id time=event_time size=60000 slide=60000 agg=...",
 *    "records":12345, "outputs":{"late":5120,"dlq":null},
 *    "written_at":"2026-11-25T12:00:00.000Z",
 *    "tasks":[...], "windows":[...]}
 *
 * "records" counts the input lines consumed that carry no Kafka coordinates:
 * a file or pipe replayed from its start skips that many. Records with
 * "_kafka" are skipped by offset instead (each task's next_offset). "tasks"
 * and "windows" are the window state (window_state.h): the whole set in a
 * local checkpoint file, one task in the state a Kafka partition carries
 * from machine to machine. "config" names what the state depends on; a
 * restore under another config is refused rather than silently mixing two
 * computations.
 *
 * "outputs" holds the byte sizes of the late-event and dead-letter files
 * ({"late":N,"dlq":N}, null for one that is not a regular file): records
 * written after the checkpoint are written again by a restarted run, so a
 * restore cuts each file back to its recorded size (checkpoint_output_rewind)
 * and every record is in it exactly once. A checkpoint without "outputs"
 * (a task's state) restores without cutting.
 *
 * Reading: the windows are most of the document (62 MB for 300,000
 * windows), and a jansson tree of them takes over a gigabyte, so a
 * checkpoint_reader parses every member but "windows" into its head and
 * gives the windows one at a time. checkpoint_read_offsets() reads only the
 * head (sp-kcat-in --resume-from). */
#ifndef SP_CHECKPOINT_H
#define SP_CHECKPOINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event_reader.h"
#include "strbuf.h"

#define CHECKPOINT_FORMAT "sp-window-checkpoint"
#define CHECKPOINT_VERSION 2

/* Sizes in bytes of the side outputs when a checkpoint is written; -1 for
 * one that is not a regular file (stderr, a pipe): nothing to cut back. */
struct checkpoint_outputs {
    int64_t late_bytes;
    int64_t dlq_bytes;
};

/* The size of the regular file open on fd, or -1 when fd is something else
 * (or fstat fails). Flush what is buffered for fd first. */
int64_t checkpoint_output_size(int fd);

/* Bring the file open on fd back to the recorded size of a checkpoint.
 * Returns 0 when done or nothing to do (recorded < 0, fd not a regular file,
 * the file already that size), or -1 with the reason in err: the file is
 * shorter than recorded (removed or cut by someone else: records are
 * missing, which no restart can bring back), or ftruncate failed. The caller
 * warns and goes on. */
int checkpoint_output_rewind(int fd, int64_t recorded, char *err, size_t errlen);

/* The "outputs" of a checkpoint into *out; -1 for any size not recorded
 * (an older checkpoint, null, not a non-negative integer). */
void checkpoint_outputs_get(const json_t *doc, struct checkpoint_outputs *out);

/* Append the opening of the document and its own members, up to and with
 * the comma after "written_at" ("outputs" from outputs; NULL records none):
 * the state members follow (window_state_append), then checkpoint_finish().
 * The text form is what sp-window writes: it costs no tree however many
 * windows it holds. The document has no newline in it. */
void checkpoint_start(strbuf *sb, const char *config, uint64_t records,
                      const struct checkpoint_outputs *outputs, int64_t written_at_ms);

/* Close the document begun by checkpoint_start() (no newline). */
void checkpoint_finish(strbuf *sb);

/* Write text[0..len) to path atomically: to "path.tmp", fsync, rename over
 * path, fsync the directory, so after a crash at any moment path holds
 * either the old or the new document, whole. Returns 0, or -1 with errno. */
int checkpoint_write_text(const char *path, const char *text, size_t len);

/* ---- checkpoints completed by the sink (sp-window --barriers) ----
 * Results written before a checkpoint may still sit in the pipe or in the
 * sink when the sink dies; a checkpoint saved by sp-window alone would count
 * them as stored. So sp-window writes the checkpoint to the pending path and
 * then a barrier line after the last result it accounts for; sp-redis-sink,
 * once Redis has acknowledged every result before the barrier, moves the
 * pending file onto the checkpoint path (Flink's checkpoint barrier, over a
 * pipe). At most one checkpoint is pending at a time. */

/* path with ".pending" appended (malloc'd; the caller frees it). */
char *checkpoint_pending_path(const char *path);

/* Append the barrier line, with its newline, to sb. */
void checkpoint_barrier_format(strbuf *sb, int64_t written_at_ms);

/* Whether line[0..len) is a barrier line. */
bool checkpoint_is_barrier(const char *line, size_t len);

/* Move the pending checkpoint onto path, durably (rename, then fsync the
 * directory). Returns 0, or -1 with errno (ENOENT: nothing pending). */
int checkpoint_complete(const char *path);

/* The same document as a jansson tree, with the members of state copied in
 * (state itself is left to the caller): for tests and tools that make a
 * checkpoint by hand (tests/unit/test_kafka.c). */
json_t *checkpoint_build(const char *config, uint64_t records, const json_t *state,
                         int64_t written_at_ms);

/* Write a tree made by checkpoint_build() as checkpoint_write_text() does. */
int checkpoint_write(const char *path, const json_t *doc);

/* Read path. Returns the document, or NULL: *missing is then true when the
 * file does not exist (a first start), false with the reason in err when it
 * cannot be read or is not JSON. */
json_t *checkpoint_read(const char *path, bool *missing, char *err, size_t errlen);

/* A checkpoint read for a restore: every member but the windows as one small
 * tree (head, its "windows" emptied to []), then the windows one at a time, so a
 * restore holds one window's tree at a time rather than all of them (a
 * jansson tree of 300,000 windows took 1.1 GB for a 62 MB file). */
struct checkpoint_reader {
    char *text;
    size_t len;
    json_t *head;
    size_t next; /* where the next window starts, within the "windows" array */
    size_t end;  /* the array's closing ']' */
};

/* Read path into r. Returns 0, 1 when path does not exist (a first start),
 * or -1 with the reason in err (unreadable, not JSON, not an object). */
int checkpoint_reader_open(struct checkpoint_reader *r, const char *path, char *err, size_t errlen);

/* The same from len bytes of text (copied). Returns 0 or -1. */
int checkpoint_reader_parse(struct checkpoint_reader *r, const char *text, size_t len, char *err,
                            size_t errlen);

/* The next window as a tree in *window (the caller frees it). Returns 1, 0
 * after the last, or -1 when an element does not parse. */
int checkpoint_reader_next(struct checkpoint_reader *r, json_t **window);

/* Release what the reader holds. */
void checkpoint_reader_close(struct checkpoint_reader *r);

/* Is doc (a whole checkpoint or a reader's head) an sp-window checkpoint
 * of this format and version? Returns 0, or -1 with the reason in err. */
int checkpoint_format_ok(const json_t *doc, char *err, size_t errlen);

/* Check that doc is a checkpoint of this format and version made under
 * config; set *records. Returns 0, or -1 with the reason in err. The window
 * state is then restored by window_state_restore(). */
int checkpoint_validate(const json_t *doc, const char *config, uint64_t *records, char *err,
                        size_t errlen);

/* The next offset to read of each Kafka partition of one topic. */
struct partition_offset {
    int32_t partition;
    int64_t offset;
};
typedef struct partition_offsets {
    size_t n;
    struct partition_offset *entries;
} partition_offsets;

/* The offsets the checkpoint at path saved for topic: its tasks' next
 * offsets (tasks without Kafka coordinates or without an offset are passed
 * over). Returns 0 and fills *out (free with partition_offsets_free), 1 when
 * path does not exist (a first run: *out is left empty), or -1 with the
 * reason in err when the file cannot be read or is not a checkpoint. A topic
 * absent from the checkpoint gives an empty *out, not an error. */
int checkpoint_read_offsets(const char *path, const char *topic, partition_offsets *out, char *err,
                            size_t errlen);

/* The saved offset of partition, or -1 when there is none. */
int64_t partition_offsets_get(const partition_offsets *o, int32_t partition);

void partition_offsets_free(partition_offsets *o);

#endif
