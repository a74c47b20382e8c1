/* unit.h: a minimal unit-test runner for lib/ modules.
 *
 * Each tests/unit/test_<module>.c defines tests with TEST(name) and lists
 * them in main() with RUN(name). A failed CHECK records the failure and
 * the test goes on; RETURN_SUMMARY prints "N passed, N failed" and gives
 * the exit status. No framework to install, nothing hidden. */
#ifndef SP_UNIT_H
#define SP_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed, unit_current_failed;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            unit_current_failed = 1;                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_STR(got, want)                                                                       \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (g_ == NULL || strcmp(g_, w_) != 0) {                                                   \
            fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__,                \
                    g_ ? g_ : "(null)", w_);                                                       \
            unit_current_failed = 1;                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_INT(got, want)                                                                       \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        if (g_ != w_) {                                                                            \
            fprintf(stderr, "%s:%d: %s is %lld, want %lld\n", __FILE__, __LINE__, #got, g_, w_);   \
            unit_current_failed = 1;                                                               \
        }                                                                                          \
    } while (0)

#define RUN(name)                                                                                  \
    do {                                                                                           \
        unit_current_failed = 0;                                                                   \
        name();                                                                                    \
        if (unit_current_failed) {                                                                 \
            unit_failed++;                                                                         \
            printf("not ok %s\n", #name);                                                          \
        } else {                                                                                   \
            unit_passed++;                                                                         \
        }                                                                                          \
    } while (0)

#define RETURN_SUMMARY()                                                                           \
    do {                                                                                           \
        printf("%d passed, %d failed\n", unit_passed, unit_failed);                                \
        return unit_failed ? 1 : 0;                                                                \
    } while (0)

#endif
