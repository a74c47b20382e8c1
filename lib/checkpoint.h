/* checkpoint: the sp-window checkpoint document, written atomically, read
 * back and validated.
 *
 *   {"format":"sp-window-checkpoint","version":1,
 *    "config":"key=region_id time=event_time size=60000 slide=60000 agg=...",
 *    "records":12345, "written_at":"2026-11-25T12:00:00.000Z",
 *    "watermark":..., "highest":..., "assignment_known":false,
 *    "partitions":[...], "windows":[...]}
 *
 * "records" counts the input lines consumed that carry no Kafka coordinates:
 * a file or pipe replayed from its start skips that many. Records with
 * "_kafka" are skipped by offset instead (the partitions' next_offset). The
 * members from "watermark" on are the window state (window_state_append_json).
 * "config" names what the state depends on; a restore under another config
 * is refused rather than silently mixing two computations. */
#ifndef SP_CHECKPOINT_H
#define SP_CHECKPOINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event_reader.h"
#include "strbuf.h"

#define CHECKPOINT_FORMAT "sp-window-checkpoint"
#define CHECKPOINT_VERSION 1

/* Append the opening of the document and its own members, up to and with
 * the comma after "written_at": the state members follow
 * (window_state_append_json), then checkpoint_finish(). The text form is
 * what sp-window writes: it costs no tree however many windows it holds. */
void checkpoint_start(strbuf *sb, const char *config, uint64_t records, int64_t written_at_ms);

/* Close the document begun by checkpoint_start(). */
void checkpoint_finish(strbuf *sb);

/* Write text[0..len) to path atomically: to "path.tmp", fsync, rename over
 * path, fsync the directory, so after a crash at any moment path holds
 * either the old or the new document, whole. Returns 0, or -1 with errno. */
int checkpoint_write_text(const char *path, const char *text, size_t len);

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

/* Check that doc is a checkpoint of this format and version made under
 * config; set *records. Returns 0, or -1 with the reason in err. The window
 * state members are then read by window_state_from_json(doc). */
int checkpoint_validate(const json_t *doc, const char *config, uint64_t *records, char *err,
                        size_t errlen);

#endif
