/* check_time.c - civil time, ISO 8601, time zones and durations. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

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
    tcase_add_test(tc, test_duration__parse_and_format);
    tcase_add_test(tc, test_ts_count__before_and_upto);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
