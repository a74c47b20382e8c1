/* Unit tests of lib/event_time: the oracle for epoch values is Python's
 * datetime (values computed independently and written here with the
 * command that produced them in the comment). */
#include <string.h>

#include "event_time.h"
#include "unit.h"

static int64_t parse(const char *s)
{
    int64_t ms = -1;
    if (event_time_parse(s, strlen(s), &ms) < 0) return -999;
    return ms;
}

/* python3 -c 'import datetime as
 * d;print(int(d.datetime(2025,8,31,8,0,2,tzinfo=d.timezone.utc).timestamp()*1000))' */
TEST(parses_rfc3339_utc)
{
    CHECK_INT(parse("2025-08-31T08:00:02Z"), 1756627202000LL);
    CHECK_INT(parse("1970-01-01T00:00:00Z"), 0);
    CHECK_INT(parse("2025-08-31t08:00:02z"), 1756627202000LL);
}

TEST(parses_fractions_and_offsets)
{
    /* 2025-08-17T06:40:53.240321Z: microseconds truncated to ms */
    CHECK_INT(parse("2025-08-17T06:40:53.240321Z"), 1755412853240LL);
    CHECK_INT(parse("2025-08-17T06:40:53.2Z"), 1755412853200LL);
    /* +02:00 is two hours ahead of UTC, so the same instant as 06:40:53Z */
    CHECK_INT(parse("2025-08-17T08:40:53+02:00"), 1755412853000LL);
    CHECK_INT(parse("2025-08-17T01:40:53-05:00"), 1755412853000LL);
}

TEST(parses_space_form_as_utc)
{
    CHECK_INT(parse("2019-01-15 03:36:12"), 1547523372000LL);
    CHECK_INT(parse("2019-01-15 03:36:12.5"), 1547523372500LL);
}

TEST(checks_calendar)
{
    CHECK_INT(parse("2024-02-29T00:00:00Z"), 1709164800000LL); /* leap year */
    CHECK_INT(parse("2023-02-29T00:00:00Z"), -999);
    CHECK_INT(parse("2100-02-29T00:00:00Z"), -999); /* not a leap year */
    CHECK_INT(parse("2000-02-29T00:00:00Z"), 951782400000LL);
    CHECK_INT(parse("2025-13-01T00:00:00Z"), -999);
    CHECK_INT(parse("2025-04-31T00:00:00Z"), -999);
    CHECK_INT(parse("2025-01-01T24:00:00Z"), -999);
    CHECK_INT(parse("2025-01-01T23:60:00Z"), -999);
}

TEST(rejects_malformed)
{
    CHECK_INT(parse(""), -999);
    CHECK_INT(parse("2025-08-31T08:00:02"), -999); /* RFC 3339 needs a zone */
    CHECK_INT(parse("2025-08-31T08:00:02Zjunk"), -999);
    CHECK_INT(parse("2025-8-31T08:00:02Z"), -999);
    CHECK_INT(parse("2025-08-31T08:00:02.Z"), -999);
    CHECK_INT(parse("not a time"), -999);
    CHECK_INT(parse("2025-08-31T08:00:02+2:00"), -999);
    /* a NUL inside the bytes is not accepted as an end */
    int64_t ms;
    CHECK(event_time_parse("2025-08-31T08:00:02Z\0x", 22, &ms) < 0);
}

TEST(formats_round_trip)
{
    char out[EVENT_TIME_TEXT_MAX];
    event_time_format(1756627202000LL, out);
    CHECK_STR(out, "2025-08-31T08:00:02Z");
    event_time_format(1755412853240LL, out);
    CHECK_STR(out, "2025-08-17T06:40:53.240Z");
    event_time_format_ms(1756627202000LL, out);
    CHECK_STR(out, "2025-08-31T08:00:02.000Z");
    event_time_format(-1, out);
    CHECK_STR(out, "1969-12-31T23:59:59.999Z");
    /* every hour over four years, both ways */
    for (int64_t t = 1700000000000LL; t < 1700000000000LL + 4LL * 366 * 86400000; t += 3600007) {
        int64_t back;
        size_t n = event_time_format(t, out);
        CHECK(event_time_parse(out, n, &back) == 0 && back == t);
    }
}

TEST(durations)
{
    int64_t ms;
    CHECK(duration_parse("5m", &ms) == 0 && ms == 300000);
    CHECK(duration_parse("100ms", &ms) == 0 && ms == 100);
    CHECK(duration_parse("30s", &ms) == 0 && ms == 30000);
    CHECK(duration_parse("30", &ms) == 0 && ms == 30000);
    CHECK(duration_parse("1.5h", &ms) == 0 && ms == 5400000);
    CHECK(duration_parse("1d", &ms) == 0 && ms == 86400000);
    CHECK(duration_parse("0", &ms) == 0 && ms == 0);
    CHECK(duration_parse("-5m", &ms) < 0);
    CHECK(duration_parse("5 m", &ms) < 0);
    CHECK(duration_parse("m", &ms) < 0);
    CHECK(duration_parse("", &ms) < 0);
    CHECK(duration_parse("5x", &ms) < 0);
    CHECK(duration_parse("inf", &ms) < 0);
    CHECK(duration_parse("1e300h", &ms) < 0);
    /* strtod reads more than decimals: none of it is a duration */
    CHECK(duration_parse("0x10s", &ms) < 0);
    CHECK(duration_parse("1e3s", &ms) < 0);
    CHECK(duration_parse("2025e-21", &ms) < 0);
    CHECK(duration_parse("+5s", &ms) < 0);
    CHECK(duration_parse(".", &ms) < 0);
    CHECK(duration_parse(".5s", &ms) == 0 && ms == 500);
    CHECK(duration_parse("2.", &ms) == 0 && ms == 2000);
}

TEST(time_or_epoch)
{
    int64_t ms;
    CHECK(time_or_epoch_parse("1756627202", 10, &ms) == 0 && ms == 1756627202000LL);
    CHECK(time_or_epoch_parse("1756627202.5", 12, &ms) == 0 && ms == 1756627202500LL);
    CHECK(time_or_epoch_parse("2025-08-31T08:00:02Z", 20, &ms) == 0 && ms == 1756627202000LL);
    CHECK(time_or_epoch_parse("17566x", 6, &ms) < 0);
    CHECK(time_or_epoch_parse("", 0, &ms) < 0);
    CHECK(time_or_epoch_parse("99999999999999999999", 20, &ms) < 0);
}

int main(void)
{
    RUN(parses_rfc3339_utc);
    RUN(parses_fractions_and_offsets);
    RUN(parses_space_form_as_utc);
    RUN(checks_calendar);
    RUN(rejects_malformed);
    RUN(formats_round_trip);
    RUN(durations);
    RUN(time_or_epoch);
    RETURN_SUMMARY();
}
