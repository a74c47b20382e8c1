/* test_http_metrics: counters, cumulative histogram buckets, the exposition
 * text, and the *.prom files of a directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_metrics.h"
#include "unit.h"

static const char *const routes[] = {"/a/{id}", "/b"};

static int has_line(const strbuf *sb, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = sb->data; (p = strstr(p, line)) != NULL; p++)
        if ((p == sb->data || p[-1] == '\n') && p[n] == '\n') return 1;
    return 0;
}

TEST(counts_by_route_and_status)
{
    http_metrics *hm = http_metrics_new(routes, 2);
    http_metrics_observe(hm, 0, 200, 0.0001);
    http_metrics_observe(hm, 0, 200, 0.0001);
    http_metrics_observe(hm, 0, 404, 0.0001);
    http_metrics_observe(hm, 1, 999, 0.0001); /* out of range: counted as 500 */
    http_metrics_observe(hm, 7, 200, 0.0001); /* no such route: ignored */
    http_metrics_redis_error(hm);
    strbuf sb = STRBUF_INIT;
    http_metrics_format(hm, &sb);
    CHECK(has_line(&sb, "sp_http_requests_total{route=\"/a/{id}\",status=\"200\"} 2"));
    CHECK(has_line(&sb, "sp_http_requests_total{route=\"/a/{id}\",status=\"404\"} 1"));
    CHECK(has_line(&sb, "sp_http_requests_total{route=\"/b\",status=\"500\"} 1"));
    CHECK(has_line(&sb, "sp_redis_errors_total{tool=\"sp-serve\"} 1"));
    CHECK(has_line(&sb, "# TYPE sp_http_request_duration_seconds histogram"));
    sb_free(&sb);
    http_metrics_free(hm);
}

TEST(histogram_buckets_are_cumulative)
{
    http_metrics *hm = http_metrics_new(routes, 2);
    http_metrics_observe(hm, 1, 200, 0.0004); /* <= 0.0005 */
    http_metrics_observe(hm, 1, 200, 0.0005); /* on the bound: still <= 0.0005 */
    http_metrics_observe(hm, 1, 200, 0.003);  /* <= 0.005 */
    http_metrics_observe(hm, 1, 200, 7.0);    /* only +Inf */
    strbuf sb = STRBUF_INIT;
    http_metrics_format(hm, &sb);
    CHECK(has_line(&sb, "sp_http_request_duration_seconds_bucket{route=\"/b\",le=\"0.0005\"} 2"));
    CHECK(has_line(&sb, "sp_http_request_duration_seconds_bucket{route=\"/b\",le=\"0.0025\"} 2"));
    CHECK(has_line(&sb, "sp_http_request_duration_seconds_bucket{route=\"/b\",le=\"0.005\"} 3"));
    CHECK(has_line(&sb, "sp_http_request_duration_seconds_bucket{route=\"/b\",le=\"2.5\"} 3"));
    CHECK(has_line(&sb, "sp_http_request_duration_seconds_bucket{route=\"/b\",le=\"+Inf\"} 4"));
    CHECK(has_line(&sb, "sp_http_request_duration_seconds_count{route=\"/b\"} 4"));
    CHECK(has_line(&sb, "sp_http_request_duration_seconds_sum{route=\"/b\"} 7.003900000"));
    /* a route with no requests has no histogram */
    CHECK(strstr(sb.data, "route=\"/a/{id}\",le=") == NULL);
    sb_free(&sb);
    http_metrics_free(hm);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

TEST(directory_prom_files_in_name_order_labelled_by_file)
{
    char dir[] = "/tmp/test_http_metrics.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    write_file(dir, "b.prom", "b_total 2"); /* no newline at the end */
    write_file(dir, "a.prom", "a_total 1\n");
    write_file(dir, "c.txt", "c_total 3\n");        /* not *.prom */
    write_file(dir, ".hidden.prom", "h_total 4\n"); /* a half-written temp file */
    strbuf sb = STRBUF_INIT;
    prom_merge *pm = prom_merge_new();
    http_metrics_merge_dir(pm, dir);
    prom_merge_format(pm, &sb);
    prom_merge_free(pm);
    CHECK_STR(sb.data, "a_total{file=\"a.prom\"} 1\nb_total{file=\"b.prom\"} 2\n");
    sb_reset(&sb);
    pm = prom_merge_new();
    http_metrics_merge_dir(pm, "/nonexistent/dir");
    prom_merge_format(pm, &sb);
    prom_merge_free(pm);
    CHECK_INT(sb.len, 0);
    sb_free(&sb);

    char path[512];
    snprintf(path, sizeof path, "%s/out.prom", dir);
    http_metrics *hm = http_metrics_new(routes, 2);
    CHECK_INT(http_metrics_write_file(hm, path), 0);
    FILE *f = fopen(path, "r");
    char first[128] = "";
    CHECK(f != NULL && fgets(first, sizeof first, f) != NULL);
    if (f) fclose(f);
    CHECK(strncmp(first, "# HELP sp_http_requests_total", 29) == 0);
    http_metrics_free(hm);
    const char *names[] = {"a.prom", "b.prom", "c.txt", ".hidden.prom", "out.prom"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    RUN(counts_by_route_and_status);
    RUN(histogram_buckets_are_cumulative);
    RUN(directory_prom_files_in_name_order_labelled_by_file);
    RETURN_SUMMARY();
}
