/* fuzz_control_line: any bytes as an input line of sp-validate, sp-window
 * or sp-redis-sink. Telling control lines apart and parsing them must never
 * crash or leak; a line that parses formats back to one that parses to the
 * same fields. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "control_line.h"

static bool same_partition(const struct control_partition *a, const struct control_partition *b)
{
    return a->partition == b->partition && a->topic_len == b->topic_len &&
           memcmp(a->topic, b->topic, a->topic_len) == 0;
}

static void format_again(const struct control_line *cl, strbuf *sb)
{
    switch (cl->kind) {
    case CONTROL_ASSIGNMENT:
        control_assignment_format(sb, cl->parts, cl->n_parts);
        break;
    case CONTROL_RESTORE:
        control_restore_format(sb, &cl->part, cl->checkpoint, cl->checkpoint_len);
        break;
    case CONTROL_REVOKE:
        control_revoke_format(sb, cl->token, cl->lost, cl->parts, cl->n_parts);
        break;
    default:
        control_state_format(sb, &cl->part, cl->next_offset, cl->token, cl->checkpoint,
                             cl->checkpoint_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    enum control_kind kind = control_line_kind(line, size);
    struct control_line cl, back;
    char err[256];
    int rc = control_line_parse(line, size, &cl, err, sizeof err);
    if (rc == 0 && cl.kind != kind) __builtin_trap();
    if (rc == 0 && memchr(line, '\n', size) == NULL) {
        strbuf sb = STRBUF_INIT;
        format_again(&cl, &sb);
        if (control_line_parse(sb.data, sb.len - 1, &back, err, sizeof err) != 0) __builtin_trap();
        bool same = back.kind == cl.kind && back.n_parts == cl.n_parts && back.lost == cl.lost &&
                    strcmp(back.token, cl.token) == 0 && back.checkpoint_len == cl.checkpoint_len &&
                    (cl.checkpoint == NULL ||
                     memcmp(back.checkpoint, cl.checkpoint, cl.checkpoint_len) == 0);
        if (cl.kind == CONTROL_RESTORE || cl.kind == CONTROL_STATE)
            same = same && same_partition(&back.part, &cl.part);
        if (cl.kind == CONTROL_STATE) same = same && back.next_offset == cl.next_offset;
        for (size_t i = 0; same && i < cl.n_parts; i++)
            same = same_partition(&back.parts[i], &cl.parts[i]);
        if (!same) __builtin_trap();
        control_line_clear(&back);
        sb_free(&sb);
    }
    control_line_clear(&cl);
    return 0;
}
