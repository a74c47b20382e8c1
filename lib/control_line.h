/* control_line: the control lines that travel in-band with the records
 * (SPEC section 5, streampulse(7)), defined here and nowhere else. They
 * carry a Kafka partition's state from machine to machine through the
 * pipe, so sp-validate and sp-window stay filters and only the edges
 * (sp-kcat-in, sp-redis-sink) talk to Kafka and Redis.
 *
 * From sp-kcat-in, through sp-validate (untouched, uncounted), to sp-window:
 *
 *   {"_kafka_assignment":[{"topic":"events","partition":0},...]}
 *       On every (re)assignment: the partitions read from now on. A task of
 *       a partition not in it has gone to another process: forgotten.
 *   {"_kafka_restore":{"topic":"events","partition":2},"checkpoint":{...}}
 *       Before the assignment that gains the partition (sp-kcat-in
 *       --state-url): its stored state, or null when it has none. Reading
 *       resumes at the state's next offset; sp-window continues the task
 *       from the state and, from now on, writes it out as _kafka_state.
 *   {"_kafka_revoke":{"token":"9f3c…","lost":false,"partitions":[...]}}
 *       The partitions are going. sp-window writes each one's state,
 *       answering token, then forgets it; sp-kcat-in lets them go once the
 *       store holds every answer. lost:true: another process may own them
 *       already, so they are forgotten without a word.
 *
 * From sp-window to sp-redis-sink:
 *
 *   {"_kafka_state":{"topic":"events","partition":2,"next_offset":1234,
 *                    "token":"9f3c…"},"checkpoint":{...}}
 *       A task's state (checkpoint.h, one task), accounting for every result
 *       before it in the stream; token is null when no revoke asked for it.
 *       The sink stores it in the same MULTI/EXEC as those results.
 *
 * The kind of a line is read from its first member's name. */
#ifndef SP_CONTROL_LINE_H
#define SP_CONTROL_LINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* A revoke token: letters, digits and '-', shorter than this. */
#define CONTROL_TOKEN_MAX 64

enum control_kind {
    CONTROL_NONE, /* a record, or any line that is not one of these */
    CONTROL_ASSIGNMENT,
    CONTROL_RESTORE,
    CONTROL_REVOKE,
    CONTROL_STATE
};

/* One Kafka partition. */
struct control_partition {
    const char *topic;
    size_t topic_len;
    int32_t partition;
};

/* A parsed control line. Pointers point into the line or into doc. */
struct control_line {
    enum control_kind kind;
    struct control_partition *parts; /* assignment, revoke */
    size_t n_parts;
    struct control_partition part; /* restore, state */
    int64_t next_offset;           /* state */
    char token[CONTROL_TOKEN_MAX]; /* revoke, state; "" for none */
    bool lost;                     /* revoke */
    const char *checkpoint;        /* restore, state: the document's text, NULL when null */
    size_t checkpoint_len;
    json_t *doc; /* the head member's tree */
};

/* The kind of line[0..len), from the name of its first member (whitespace
 * allowed around it); CONTROL_NONE for every other line. Cheap: called on
 * every record. */
enum control_kind control_line_kind(const char *line, size_t len);

/* Parse a control line. Returns 0, or -1 with the reason in err when it is
 * none or is malformed. Release with control_line_clear() either way. */
int control_line_parse(const char *line, size_t len, struct control_line *out, char *err,
                       size_t errlen);

void control_line_clear(struct control_line *out);

/* Whether token is a usable revoke token (see CONTROL_TOKEN_MAX). */
bool control_token_valid(const char *token);

/* Each appends one control line, with its '\n'. checkpoint[0..len) is a
 * document without newlines; NULL writes null (restore only). token NULL
 * or "" writes null (state). */
void control_assignment_format(strbuf *sb, const struct control_partition *parts, size_t n);
void control_restore_format(strbuf *sb, const struct control_partition *p, const char *checkpoint,
                            size_t len);
void control_revoke_format(strbuf *sb, const char *token, bool lost,
                           const struct control_partition *parts, size_t n);
void control_state_format(strbuf *sb, const struct control_partition *p, int64_t next_offset,
                          const char *token, const char *checkpoint, size_t len);

#endif
