/* Unit tests of lib/line_io over real pipes and files. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "line_io.h"
#include "unit.h"

/* A temporary file holding n bytes of data, opened for reading. */
static int file_with(const char *data, size_t n)
{
    FILE *f = tmpfile();
    fwrite(data, 1, n, f);
    fflush(f);
    rewind(f);
    return dup(fileno(f)); /* the FILE is leaked on purpose: tests are short */
}

TEST(splits_lines_and_keeps_last_without_newline)
{
    const char text[] = "one\ntwo\r\n\nlast";
    int fd = file_with(text, sizeof text - 1);
    line_reader *r = line_reader_new(fd);
    const char *line;
    size_t len;
    CHECK(line_reader_next(r, &line, &len, -1) == LINE_OK && len == 3 && !memcmp(line, "one", 3));
    CHECK(line_reader_next(r, &line, &len, -1) == LINE_OK && len == 4 && !memcmp(line, "two\r", 4));
    CHECK(line_reader_next(r, &line, &len, -1) == LINE_OK && len == 0);
    CHECK(line_reader_next(r, &line, &len, -1) == LINE_OK && len == 4 && !memcmp(line, "last", 4));
    CHECK_INT(line_reader_line_number(r), 4);
    CHECK(line_reader_next(r, &line, &len, -1) == LINE_EOF);
    CHECK_INT(line_reader_bytes(r), sizeof text - 1);
    line_reader_free(r);
    close(fd);
}

TEST(over_long_line_is_reported_once_and_skipped)
{
    size_t big = 2 * 1024 * 1024;
    size_t n = big + 1 + 6 + LINE_MAX_BYTES + 1;
    char *data = malloc(n);
    memset(data, 'x', big);
    data[big] = '\n';
    memcpy(data + big + 1, "after\n", 6);
    memset(data + big + 7, 'y', LINE_MAX_BYTES); /* exactly the limit: allowed */
    data[n - 1] = '\n';
    int fd = file_with(data, n);
    line_reader *r = line_reader_new(fd);
    const char *line;
    size_t len;
    CHECK(line_reader_next(r, &line, &len, -1) == LINE_TOO_LONG);
    CHECK_INT(len, LINE_MAX_BYTES);
    CHECK(line[0] == 'x' && line[len - 1] == 'x');
    CHECK(line_reader_next(r, &line, &len, -1) == LINE_OK && len == 5 && !memcmp(line, "after", 5));
    CHECK_INT(line_reader_line_number(r), 2);
    CHECK(line_reader_next(r, &line, &len, -1) == LINE_OK);
    CHECK_INT(len, LINE_MAX_BYTES);
    CHECK(line_reader_next(r, &line, &len, -1) == LINE_EOF);
    line_reader_free(r);
    close(fd);
    free(data);
}

/* A line just over the limit whose newline comes in the same read as the
 * rest of it: still LINE_TOO_LONG, never a LINE_OK longer than the limit. */
TEST(line_just_over_the_limit_is_too_long)
{
    size_t n = LINE_MAX_BYTES + 1000;
    char *data = malloc(n + 3);
    memset(data, 'z', n);
    memcpy(data + n, "\nz", 3);
    int fd = file_with(data, n + 2);
    line_reader *r = line_reader_new(fd);
    const char *line;
    size_t len;
    CHECK(line_reader_next(r, &line, &len, -1) == LINE_TOO_LONG);
    CHECK_INT(len, LINE_MAX_BYTES);
    CHECK(line_reader_next(r, &line, &len, -1) == LINE_OK && len == 1 && line[0] == 'z');
    CHECK(line_reader_next(r, &line, &len, -1) == LINE_EOF);
    line_reader_free(r);
    close(fd);
    free(data);
}

TEST(idle_pipe_times_out_then_delivers)
{
    int p[2];
    CHECK(pipe(p) == 0);
    line_reader *r = line_reader_new(p[0]);
    const char *line;
    size_t len;
    CHECK(write(p[1], "par", 3) == 3);
    CHECK(line_reader_next(r, &line, &len, 20) == LINE_IDLE); /* incomplete line */
    CHECK(write(p[1], "tial\n", 5) == 5);
    CHECK(line_reader_next(r, &line, &len, 20) == LINE_OK && len == 7 &&
          !memcmp(line, "partial", 7));
    close(p[1]);
    CHECK(line_reader_next(r, &line, &len, 20) == LINE_EOF);
    line_reader_free(r);
    close(p[0]);
}

TEST(output_is_buffered_until_flush)
{
    int p[2];
    CHECK(pipe(p) == 0);
    out_buf *o = out_new(p[1]);
    CHECK(out_write(o, "hello\n", 6) == 0);
    CHECK_INT(out_pending(o), 6);
    CHECK(out_flush(o) == 0);
    CHECK_INT(out_pending(o), 0);
    char got[16] = {0};
    CHECK(read(p[0], got, sizeof got) == 6 && !strcmp(got, "hello\n"));
    CHECK(out_close(o) == 0);
    close(p[0]);
    close(p[1]);
}

TEST(closed_reader_gives_epipe)
{
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]);
    out_buf *o = out_new(p[1]);
    CHECK(out_write(o, "x\n", 2) == 0);
    errno = 0;
    CHECK(out_flush(o) < 0 && errno == EPIPE);
    out_close(o);
    close(p[1]);
}

TEST(delivered_counts_only_what_the_pipe_reader_took)
{
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    CHECK(pipe(p) == 0);
    out_buf *o = out_new(p[1]);
    CHECK(out_write(o, "abcdef\n", 7) == 0);
    CHECK(out_flush(o) == 0);
    CHECK_INT(out_delivered(o), 0); /* in the pipe, not read */
    char got[16];
    CHECK(read(p[0], got, 3) == 3);
    CHECK_INT(out_delivered(o), 3);
    errno = 0;
    CHECK(out_drain(o, 20) < 0 && errno == ETIMEDOUT);
    CHECK(read(p[0], got, sizeof got) == 4);
    CHECK(out_drain(o, 20) == 0);
    CHECK_INT(out_delivered(o), 7);
    /* the reader goes away with a record unread: never delivered */
    CHECK(!out_reader_gone(o));
    CHECK(out_write(o, "gh\n", 3) == 0);
    close(p[0]);
    CHECK(out_reader_gone(o));
    errno = 0;
    CHECK(out_drain(o, 1000) < 0 && errno == EPIPE);
    CHECK_INT(out_delivered(o), 7);
    out_close(o);
    close(p[1]);
}

TEST(idle_flush_notices_the_reader_is_gone)
{
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    CHECK(pipe(p) == 0);
    out_buf *o = out_new(p[1]);
    CHECK(out_flush(o) == 0); /* nothing to write, reader there */
    close(p[0]);
    errno = 0;
    CHECK(out_flush(o) < 0 && errno == EPIPE);
    out_close(o);
    close(p[1]);
}

TEST(follow_waits_for_a_growing_file_and_tells_offsets)
{
    char path[] = "/tmp/test_line_io.XXXXXX";
    int writer = mkstemp(path);
    CHECK(writer >= 0 && write(writer, "a\nb", 3) == 3);
    int fd = open(path, O_RDONLY);
    unlink(path);
    line_reader *r = line_reader_new(fd);
    line_reader_follow(r);
    const char *line;
    size_t len;
    CHECK(line_reader_next(r, &line, &len, 100) == LINE_OK && len == 1 && line[0] == 'a');
    CHECK_INT(line_reader_offset(r), 2);
    /* "b" has no newline yet: the writer may be in the middle of it */
    CHECK(line_reader_next(r, &line, &len, 100) == LINE_IDLE);
    CHECK(write(writer, "c\n", 2) == 2);
    CHECK(line_reader_next(r, &line, &len, 1000) == LINE_OK && len == 2 && !memcmp(line, "bc", 2));
    CHECK_INT(line_reader_offset(r), 5);
    CHECK(line_reader_next(r, &line, &len, 100) == LINE_IDLE); /* never LINE_EOF */
    line_reader_free(r);
    close(fd);
    close(writer);
}

TEST(ordered_output_writes_the_earlier_one_first)
{
    int a[2], b[2];
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    out_buf *records = out_new(a[1]), *dead = out_new(b[1]);
    out_order_after(records, dead);
    CHECK(out_write(dead, "d1\n", 3) == 0);
    CHECK(out_write(records, "r2\n", 3) == 0);
    CHECK_INT(out_pending(dead), 3);
    CHECK(out_flush(records) == 0);
    CHECK_INT(out_pending(dead), 0); /* d1 went out first */
    char got[8] = {0};
    CHECK(read(b[0], got, sizeof got) == 3 && !strcmp(got, "d1\n"));
    out_close(records);
    out_close(dead);
    close(a[0]), close(a[1]), close(b[0]), close(b[1]);
}

TEST(delivered_to_a_file_is_everything_written)
{
    FILE *f = tmpfile();
    out_buf *o = out_new(fileno(f));
    CHECK(out_write(o, "abc\n", 4) == 0);
    CHECK_INT(out_delivered(o), 0); /* still buffered */
    CHECK(out_drain(o, 0) == 0);
    CHECK_INT(out_delivered(o), 4);
    out_close(o);
    fclose(f);
}

int main(void)
{
    RUN(splits_lines_and_keeps_last_without_newline);
    RUN(over_long_line_is_reported_once_and_skipped);
    RUN(line_just_over_the_limit_is_too_long);
    RUN(idle_pipe_times_out_then_delivers);
    RUN(output_is_buffered_until_flush);
    RUN(closed_reader_gives_epipe);
    RUN(delivered_counts_only_what_the_pipe_reader_took);
    RUN(idle_flush_notices_the_reader_is_gone);
    RUN(follow_waits_for_a_growing_file_and_tells_offsets);
    RUN(ordered_output_writes_the_earlier_one_first);
    RUN(delivered_to_a_file_is_everything_written);
    RETURN_SUMMARY();
}
