/* check_time.c - civil time, ISO 8601, time zones and durations. */
#define _DEFAULT_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpo/error.h"
#include "cpo/time.h"

static int64_t parse(const char *s)
{
    int64_t t = 0;
    int fl = 0;
    ck_assert_msg(cpo_time_parse(s, strlen(s), &t, &fl, NULL) == 0, "cannot parse %s", s);
    return t;
}

/* Expected epoch values: `date -u -d ... +%s` (GNU date), times 1000. */
START_TEST(test_time_parse__forms)
{
    ck_assert_int_eq(parse("1970-01-01"), 0);
    ck_assert_int_eq(parse("2024-01-01"), INT64_C(1704067200000));
    ck_assert_int_eq(parse("2024-01-01T00:00:00Z"), INT64_C(1704067200000));
    ck_assert_int_eq(parse("2024-01-01 08:00:00"), INT64_C(1704096000000));
    ck_assert_int_eq(parse("2020-01-01 03:00:00.001"), INT64_C(1577847600001));
    /* Microseconds are truncated to ms. */
    ck_assert_int_eq(parse("2026-01-02T09:18:09.153333+00:00"), INT64_C(1767345489153));
    /* An explicit offset: 03:00 at +03:00 is 00:00 UTC. */
    ck_assert_int_eq(parse("2020-01-01T03:00:00+03:00"), INT64_C(1577836800000));
    ck_assert_int_eq(parse("2020-01-01T03:00:00+0300"), INT64_C(1577836800000));
    ck_assert_int_eq(parse("20200101"), INT64_C(1577836800000));
    /* Leap day 2024-02-29 = 19782 days after the epoch. */
    ck_assert_int_eq(parse("2024-02-29"), INT64_C(19782) * CPO_MS_DAY);
}
END_TEST

START_TEST(test_time_parse__refuses_bad)
{
    const char *bad[] = {"", "2024", "2024-13-01", "2023-02-29", "2024-01-32", "2024-01-01T24:00",
                         "2024-01-01T10:60", "2024/01/01", "2024-01-01x", "abc", "2024-01-01T10:00:00.",
                         "2024-01-01T10:00+25:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t;
        ck_assert_msg(cpo_time_parse(bad[i], strlen(bad[i]), &t, NULL, NULL) == CPO_EPARSE,
                      "accepted %s", bad[i]);
    }
    size_t pos = 99;
    int64_t t;
    ck_assert_int_eq(cpo_time_parse("2024-01-0x", 10, &t, NULL, &pos), CPO_EPARSE);
    ck_assert_uint_eq(pos, 8);
}
END_TEST

START_TEST(test_time_format__round_trip)
{
    char buf[64];
    cpo_time_format(INT64_C(1704096000000), buf, sizeof buf);
    ck_assert_str_eq(buf, "2024-01-01T08:00:00Z");
    cpo_time_format(INT64_C(1577847600001), buf, sizeof buf);
    ck_assert_str_eq(buf, "2020-01-01T03:00:00.001Z");
    cpo_time_format_date(INT64_C(1704096000000), buf, sizeof buf);
    ck_assert_str_eq(buf, "2024-01-01");
    /* Every day from 1990 to 2100 survives civil -> ms -> civil. */
    for (int64_t d = 7305; d < 47482; d++) {
        cpo_civil c;
        int64_t t = d * CPO_MS_DAY + 3 * CPO_MS_HOUR + 7;
        cpo_time_to_civil(t, &c);
        int64_t back;
        ck_assert_int_eq(cpo_time_from_civil(&c, &back), 0);
        ck_assert_int_eq(back, t);
    }
    /* Before the epoch. */
    cpo_civil c;
    cpo_time_to_civil(-1, &c);
    ck_assert_int_eq(c.year, 1969);
    ck_assert_int_eq(c.ms, 999);
}
END_TEST

START_TEST(test_tz__fixed_and_london)
{
    cpo_tz tz;
    char buf[32];
    ck_assert_int_eq(cpo_tz_parse("+03:00", &tz), 0);
    ck_assert_int_eq(tz.offset_ms, 3 * CPO_MS_HOUR);
    cpo_tz_format(&tz, buf, sizeof buf);
    ck_assert_str_eq(buf, "+03:00");
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2020-01-01 03:00:00")), parse("2020-01-01T00:00:00Z"));
    ck_assert_int_eq(cpo_tz_parse("UTC+3", &tz), 0);
    ck_assert_int_eq(tz.offset_ms, 3 * CPO_MS_HOUR);
    ck_assert_int_eq(cpo_tz_parse("-0130", &tz), 0);
    ck_assert_int_eq(tz.offset_ms, -(CPO_MS_HOUR + 30 * CPO_MS_MINUTE));
    ck_assert_int_eq(cpo_tz_parse("Mars/Olympus", &tz), CPO_EPARSE);

    ck_assert_int_eq(cpo_tz_parse("Europe/London", &tz), 0);
    /* Winter: London = UTC. */
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2020-01-15 12:00:00")), parse("2020-01-15T12:00:00Z"));
    /* Summer: BST = UTC+1 (the deribit time_dt column runs one hour ahead). */
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2019-04-30 11:00:00")), parse("2019-04-30T10:00:00Z"));
    /* 2019 change dates: 31 March 01:00 UTC and 27 October 01:00 UTC. */
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2019-03-31 00:59:00")), parse("2019-03-31T00:59:00Z"));
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2019-03-31 02:00:00")), parse("2019-03-31T01:00:00Z"));
    /* The repeated hour 01:00-02:00 local on 27 October maps to summer time. */
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2019-10-27 01:30:00")), parse("2019-10-27T00:30:00Z"));
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2019-10-27 02:00:00")), parse("2019-10-27T02:00:00Z"));
}
END_TEST

/*
 * Any zone of the system's tz database (issue 20: --tz Asia/Shanghai was
 * refused; only UTC, offsets and a hand-coded Europe/London were known).
 * Expected instants: the zones' rules as published in the tz database
 * (tzdata's northamerica, asia, australasia files), worked by hand.
 */
START_TEST(test_tz__zones_of_the_tz_database)
{
    cpo_tz tz;
    char buf[64];
    ck_assert_int_eq(cpo_tz_parse("Asia/Shanghai", &tz), 0);
    cpo_tz_format(&tz, buf, sizeof buf);
    ck_assert_str_eq(buf, "Asia/Shanghai");
    /* CST = UTC+8, no DST since 1991. */
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2024-01-01 08:00:00")), parse("2024-01-01T00:00:00Z"));
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2024-07-01 08:00:00")), parse("2024-07-01T00:00:00Z"));

    /* New York: EST (UTC-5) until 2024-03-10 02:00 local, then EDT (UTC-4)
     * until 2024-11-03 02:00 local. */
    ck_assert_int_eq(cpo_tz_parse("America/New_York", &tz), 0);
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2024-03-10 01:59:00")), parse("2024-03-10T06:59:00Z"));
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2024-03-10 03:00:00")), parse("2024-03-10T07:00:00Z"));
    /* 02:30 does not exist that day: read as EST, the offset before. */
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2024-03-10 02:30:00")), parse("2024-03-10T07:30:00Z"));
    /* 01:30 on 3 November happens twice: the earlier (EDT) instant. */
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2024-11-03 01:30:00")), parse("2024-11-03T05:30:00Z"));
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2024-11-03 02:00:00")), parse("2024-11-03T07:00:00Z"));
    ck_assert_int_eq(cpo_tz_offset_at(&tz, parse("2024-07-01T00:00:00Z")), -4 * CPO_MS_HOUR);
    ck_assert_int_eq(cpo_tz_offset_at(&tz, parse("2024-12-01T00:00:00Z")), -5 * CPO_MS_HOUR);

    /* Sydney (southern summer): AEDT (UTC+11) until 2024-04-07 03:00 local,
     * AEST (UTC+10) until 2024-10-06 02:00 local. */
    ck_assert_int_eq(cpo_tz_parse("Australia/Sydney", &tz), 0);
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2024-01-15 11:00:00")), parse("2024-01-15T00:00:00Z"));
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2024-06-15 10:00:00")), parse("2024-06-15T00:00:00Z"));
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2024-04-07 02:30:00")), parse("2024-04-06T15:30:00Z"));
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2024-10-06 03:00:00")), parse("2024-10-05T16:00:00Z"));

    /* Not zones: refused. */
    ck_assert_int_eq(cpo_tz_parse("Mars/Olympus", &tz), CPO_EPARSE);
    ck_assert_int_eq(cpo_tz_parse("../../etc/passwd", &tz), CPO_EPARSE);
    ck_assert_int_eq(cpo_tz_parse("/etc/localtime", &tz), CPO_EPARSE);
    ck_assert_int_eq(cpo_tz_parse("Europe/", &tz), CPO_EPARSE);
    ck_assert_int_eq(cpo_tz_parse("", &tz), CPO_EPARSE);
    /* Fixed offsets are kept. */
    ck_assert_int_eq(cpo_tz_parse("+05:30", &tz), 0);
    ck_assert_int_eq(tz.kind, CPO_TZ_FIXED);
    ck_assert_int_eq(cpo_tz_to_utc(&tz, parse("2024-01-01 05:30:00")), parse("2024-01-01T00:00:00Z"));
}
END_TEST

/* Against the C library itself: every half hour of 2023-2025 in zones of
 * both hemispheres, a half-hour zone and one with 4 changes a year, the
 * offset equals localtime_r's tm_gmtoff, and local -> UTC gives the
 * instant back (or, in a repeated hour, the earlier instant of the two). */
START_TEST(test_tz__against_localtime_r)
{
    static const char *const zones[] = {"Europe/London",  "America/New_York", "Australia/Sydney",
                                        "Asia/Kolkata",   "Australia/Lord_Howe",
                                        "Africa/Casablanca", "America/Sao_Paulo"};
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        cpo_tz tz;
        ck_assert_msg(cpo_tz_parse(zones[z], &tz) == 0, "%s", zones[z]);
        char tzv[80];
        snprintf(tzv, sizeof tzv, ":%s", zones[z]);
        setenv("TZ", tzv, 1);
        tzset();
        for (int64_t u = parse("2023-01-01T00:00:00Z"); u < parse("2026-01-01T00:00:00Z");
             u += 30 * CPO_MS_MINUTE) {
            time_t t = (time_t)(u / 1000);
            struct tm tm;
            ck_assert_ptr_nonnull(localtime_r(&t, &tm));
            int64_t off = (int64_t)tm.tm_gmtoff * 1000;
            ck_assert_msg(cpo_tz_offset_at(&tz, u) == off, "%s at %lld", zones[z], (long long)u);
            int64_t back = cpo_tz_to_utc(&tz, u + off);
            if (back != u) {
                /* a repeated local time: the earlier instant, same wall clock */
                ck_assert_msg(back < u && back + cpo_tz_offset_at(&tz, back) == u + off,
                              "%s at %lld: %lld", zones[z], (long long)u, (long long)back);
            }
        }
        unsetenv("TZ");
    }
}
END_TEST

START_TEST(test_duration__parse_and_format)
{
    int64_t d;
    char buf[32];
    ck_assert_int_eq(cpo_duration_parse("90d", &d), 0);
    ck_assert_int_eq(d, 90 * CPO_MS_DAY);
    ck_assert_int_eq(cpo_duration_parse("8h", &d), 0);
    ck_assert_int_eq(d, 8 * CPO_MS_HOUR);
    ck_assert_int_eq(cpo_duration_parse("15m", &d), 0);
    ck_assert_int_eq(d, 15 * CPO_MS_MINUTE);
    ck_assert_int_eq(cpo_duration_parse("500ms", &d), 0);
    ck_assert_int_eq(d, 500);
    ck_assert_int_eq(cpo_duration_parse("2w", &d), 0);
    ck_assert_int_eq(d, 14 * CPO_MS_DAY);
    ck_assert_int_eq(cpo_duration_parse("0d", &d), CPO_ERANGE);
    ck_assert_int_eq(cpo_duration_parse("-1d", &d), CPO_EPARSE);
    ck_assert_int_eq(cpo_duration_parse("1y", &d), CPO_EPARSE);
    ck_assert_int_eq(cpo_duration_parse("d", &d), CPO_EPARSE);
    ck_assert_int_eq(cpo_duration_parse("99999999999999999999d", &d), CPO_ERANGE);
    cpo_duration_format(8 * CPO_MS_HOUR, buf, sizeof buf);
    ck_assert_str_eq(buf, "8h");
    cpo_duration_format(CPO_MS_DAY, buf, sizeof buf);
    ck_assert_str_eq(buf, "1d");
    cpo_duration_format(90 * CPO_MS_DAY, buf, sizeof buf);
    ck_assert_str_eq(buf, "90d");
    cpo_duration_format(1500, buf, sizeof buf);
    ck_assert_str_eq(buf, "1500ms");
}
END_TEST

/* Counts by hand over {10, 20, 20, 30}: before 20 are 1, up to 20 are 3. */
START_TEST(test_ts_count__before_and_upto)
{
    const int64_t ts[] = {10, 20, 20, 30};
    ck_assert_uint_eq(cpo_ts_count_before(ts, 4, 20), 1);
    ck_assert_uint_eq(cpo_ts_count_upto(ts, 4, 20), 3);
    ck_assert_uint_eq(cpo_ts_count_before(ts, 4, 10), 0);
    ck_assert_uint_eq(cpo_ts_count_upto(ts, 4, 9), 0);
    ck_assert_uint_eq(cpo_ts_count_before(ts, 4, 31), 4);
    ck_assert_uint_eq(cpo_ts_count_upto(ts, 4, 30), 4);
    ck_assert_uint_eq(cpo_ts_count_upto(ts, 4, INT64_MAX), 4);
    ck_assert_uint_eq(cpo_ts_count_before(ts, 4, INT64_MIN), 0);
    ck_assert_uint_eq(cpo_ts_count_before(ts, 0, 20), 0);
    ck_assert_uint_eq(cpo_ts_count_upto(ts, 2, 25), 2); /* only the first n count */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("time");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_time_parse__forms);
    tcase_add_test(tc, test_time_parse__refuses_bad);
    tcase_add_test(tc, test_time_format__round_trip);
    tcase_add_test(tc, test_tz__fixed_and_london);
    tcase_add_test(tc, test_tz__zones_of_the_tz_database);
    tcase_add_test(tc, test_tz__against_localtime_r);
    tcase_add_test(tc, test_duration__parse_and_format);
    tcase_add_test(tc, test_ts_count__before_and_upto);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
