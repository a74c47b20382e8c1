/* Unit tests of lib/acked_offset: the contiguous acknowledged prefix. */
#include <stdbool.h>

#include "acked_offset.h"
#include "unit.h"

TEST(out_of_order_acks_advance_only_the_prefix)
{
    acked_offset *a = acked_offset_new(100);
    CHECK_INT(acked_offset_get(a), 100);
    uint64_t l1 = acked_offset_add(a, 110), l2 = acked_offset_add(a, 125),
             l3 = acked_offset_add(a, 130);
    CHECK_INT(l1, 1);
    CHECK_INT(l3, 3);
    acked_offset_done(a, l3);
    acked_offset_done(a, l2);
    CHECK_INT(acked_offset_get(a), 100); /* line 1 holds it back */
    acked_offset_done(a, l1);
    CHECK_INT(acked_offset_get(a), 130);
    acked_offset_done(a, l2); /* again: ignored */
    acked_offset_done(a, 99); /* never added: ignored */
    CHECK_INT(acked_offset_get(a), 130);
    CHECK_INT(acked_offset_add(a, 140), 4);
    acked_offset_done(a, 4);
    CHECK_INT(acked_offset_get(a), 140);
    acked_offset_free(a);
}

TEST(many_lines_against_a_reference)
{
    /* acks in a scrambled order; after each, the prefix must equal the
     * end of the longest run of acknowledged lines from the start */
    enum { N = 5000 };
    static bool acked[N + 1];
    acked_offset *a = acked_offset_new(0);
    for (uint64_t i = 1; i <= N; i++)
        CHECK_INT(acked_offset_add(a, i * 10), i);
    uint64_t next = 1;
    for (uint64_t k = 0; k < N; k++) {
        uint64_t n = (k * 7919) % N + 1; /* 7919 is prime: a permutation */
        acked[n] = true;
        acked_offset_done(a, n);
        while (next <= N && acked[next])
            next++;
        CHECK_INT(acked_offset_get(a), (next - 1) * 10);
    }
    CHECK_INT(acked_offset_get(a), N * 10);
    acked_offset_free(a);
}

int main(void)
{
    RUN(out_of_order_acks_advance_only_the_prefix);
    RUN(many_lines_against_a_reference);
    RETURN_SUMMARY();
}
