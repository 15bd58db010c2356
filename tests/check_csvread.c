/* check_csvread.c - libcsv wrapper: records, line numbers, header lookup,
 * number parsing; and the numbers CSV files are written with. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
#include "csvwrite.h"
#include "testutil.h"

typedef struct rows {
    int n;
    long line[16];
    size_t nf[16];
    char text[16][128]; /* fields joined with '|' */
} rows;

static int collect(void *ctx, const cpo_csv_row *row)
{
    rows *r = ctx;
    if (r->n >= 16)
        return 1;
    r->line[r->n] = row->line;
    r->nf[r->n] = row->n;
    r->text[r->n][0] = '\0';
    for (size_t i = 0; i < row->n; i++) {
        if (i)
            strcat(r->text[r->n], "|");
        strncat(r->text[r->n], row->f[i], 60);
    }
    r->n++;
    return 0;
}

START_TEST(test_csv_read__lines_quotes_blank_crlf_bom)
{
    /* Line numbers by hand: header 1, blank 2, row 3, quoted newline row
     * starting on 4 and ending on 5, row 6 with CRLF. */
    const char *text = "\xEF\xBB\xBF" "a,b,c\n\n1,2,3\n\"x\ny\",\"q,\"\"r\"\"\",z\n4,,6\r\n";
    rows r = {0};
    cpo_error e;
    ck_assert_int_eq(cpo_csv_read_mem("t.csv", text, strlen(text), collect, &r, &e), 0);
    ck_assert_int_eq(r.n, 4);
    ck_assert_str_eq(r.text[0], "a|b|c");
    ck_assert_int_eq(r.line[0], 1);
    ck_assert_str_eq(r.text[1], "1|2|3");
    ck_assert_int_eq(r.line[1], 3);
    ck_assert_str_eq(r.text[2], "x\ny|q,\"r\"|z");
    ck_assert_int_eq(r.line[2], 5);
    ck_assert_str_eq(r.text[3], "4||6");
    ck_assert_int_eq(r.line[3], 6);
    ck_assert_uint_eq(r.nf[3], 3);
}
END_TEST

START_TEST(test_csv_read__no_final_newline)
{
    rows r = {0};
    ck_assert_int_eq(cpo_csv_read_mem("t.csv", "a,b\n1,2", 7, collect, &r, NULL), 0);
    ck_assert_int_eq(r.n, 2);
    ck_assert_str_eq(r.text[1], "1|2");
    ck_assert_int_eq(r.line[1], 2);
}
END_TEST

START_TEST(test_csv_read__unterminated_quote)
{
    rows r = {0};
    cpo_error e;
    const char *text = "a,b\n1,\"2\n3,4\n";
    ck_assert_int_eq(cpo_csv_read_mem("t.csv", text, strlen(text), collect, &r, &e), CPO_EPARSE);
    ck_assert_str_eq(tu_errstr(&e),
                     "t.csv:4: unterminated quoted field at end of file (expected a closing quote)");
}
END_TEST

START_TEST(test_csv_read__nul_byte)
{
    rows r = {0};
    cpo_error e;
    const char text[] = "a,b\n1,x\0y\n";
    ck_assert_int_eq(cpo_csv_read_mem("t.csv", text, sizeof text - 1, collect, &r, &e), CPO_EPARSE);
    ck_assert_str_eq(tu_errstr(&e), "t.csv:2:2: NUL byte inside a field (expected text)");
}
END_TEST

START_TEST(test_csv_read__missing_file)
{
    cpo_error e;
    ck_assert_int_eq(cpo_csv_read("/nonexistent/x.csv", collect, NULL, &e), CPO_EIO);
    ck_assert_str_eq(tu_errstr(&e),
                     "/nonexistent/x.csv: cannot open: No such file or directory (expected a readable file)");
}
END_TEST

static int stop_at_two(void *ctx, const cpo_csv_row *row)
{
    int *n = ctx;
    (*n)++;
    return row->line == 2 ? 42 : 0;
}

START_TEST(test_csv_read__callback_stops)
{
    int n = 0;
    ck_assert_int_eq(cpo_csv_read_mem("t.csv", "a\nb\nc\n", 6, stop_at_two, &n, NULL), 42);
    ck_assert_int_eq(n, 2);
}
END_TEST

static int map_header(void *ctx, const cpo_csv_row *row)
{
    cpo_error *e = ctx;
    const char *names[] = {"timestamp|open_time", "open", "close", "volume", "trades"};
    int req[] = {1, 1, 1, 0, 1};
    int idx[5];
    int rc = cpo_csv_map(row, "k.csv", names, req, 5, idx, e);
    if (rc == 0) {
        ck_assert_int_eq(idx[0], 0);
        ck_assert_int_eq(idx[1], 1);
        ck_assert_int_eq(idx[2], 2);
        ck_assert_int_eq(idx[3], -1);
    }
    return rc ? rc : 1;
}

START_TEST(test_csv_map__missing_column_message)
{
    cpo_error e;
    const char *t = "Open_Time, OPEN ,close,x\n";
    ck_assert_int_eq(cpo_csv_read_mem("k.csv", t, strlen(t), map_header, &e, &e), CPO_EFORMAT);
    ck_assert_str_eq(tu_errstr(&e),
                     "k.csv:1: missing column \"trades\" (expected columns: "
                     "timestamp|open_time,open,close,trades)");
}
END_TEST

START_TEST(test_parse_f64__exact_against_strtod)
{
    /* The fast path must give strtod's correctly rounded result. */
    const char *cases[] = {"0", "-0", "1", "42283.58", "0.00037409", "-0.00012359", "6.900000000000001e-4",
                           "1.1", "0.1", "2.2250738585072014e-308", "1e22", "1e23", "123456789012345678",
                           "9007199254740993", "0.30000000000000004", "130580829149.587",
                           "18135787.0", "  7.5 ", "+3", ".5", "5.", "1E-5", "4.9e-324"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double a, b = strtod(cases[i], NULL);
        ck_assert_msg(cpo_parse_f64(cases[i], strlen(cases[i]), &a) == 0, "refused %s", cases[i]);
        ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "%s: %.17g vs %.17g", cases[i], a, b);
    }
    /* Random decimal strings of up to 17 significant digits. */
    srand(7);
    for (int k = 0; k < 200000; k++) {
        char s[64];
        long long m = ((long long)rand() << 20) ^ rand();
        int e = rand() % 40 - 20;
        snprintf(s, sizeof s, "%lld.%03de%d", m % 100000000000000LL, rand() % 1000, e);
        double a, b = strtod(s, NULL);
        ck_assert_int_eq(cpo_parse_f64(s, strlen(s), &a), 0);
        ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "%s: %.17g vs %.17g", s, a, b);
    }
    /* The files' own numbers: cpo_fmt_double of any finite double reads
     * back to its bits (every exponent, subnormals included), as strtod
     * reads it; and what is out of range reads as strtod says (1e-400:
     * 0, as before). */
    uint64_t u = 88172645463325252u;
    for (int k = 0; k < 200000; k++) {
        u ^= u << 13, u ^= u >> 7, u ^= u << 17;
        double x, a;
        memcpy(&x, &u, sizeof x);
        if (!isfinite(x) || x == 0.0)
            continue;
        char t[40];
        cpo_fmt_double(t, sizeof t, x);
        ck_assert_int_eq(cpo_parse_f64(t, strlen(t), &a), 0);
        ck_assert_msg(memcmp(&a, &x, sizeof a) == 0, "%s: %a vs %a", t, a, x);
    }
    double z = 1.0;
    ck_assert_int_eq(cpo_parse_f64("1e-400", 6, &z), 0);
    ck_assert(z == 0.0);
    ck_assert_int_eq(cpo_parse_f64("-2.5e-320", 9, &z), 0);
    ck_assert(z == strtod("-2.5e-320", NULL));
}
END_TEST

START_TEST(test_parse_f64__refuses)
{
    const char *bad[] = {"", " ", "abc", "1,5", "1.2.3", "nan", "NaN", "inf", "-", "1e", "1e+", "0x10",
                         "1e999", "--1", "1 2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v;
        ck_assert_msg(cpo_parse_f64(bad[i], strlen(bad[i]), &v) == CPO_EPARSE, "accepted '%s'", bad[i]);
    }
}
END_TEST

START_TEST(test_parse_i64__ranges)
{
    int64_t v;
    ck_assert_int_eq(cpo_parse_i64("1704067200000", 13, &v), 0);
    ck_assert_int_eq(v, INT64_C(1704067200000));
    ck_assert_int_eq(cpo_parse_i64("-9223372036854775808", 20, &v), 0);
    ck_assert_int_eq(v, INT64_MIN);
    ck_assert_int_eq(cpo_parse_i64("9223372036854775808", 19, &v), CPO_ERANGE);
    ck_assert_int_eq(cpo_parse_i64("12a", 3, &v), CPO_EPARSE);
    ck_assert_int_eq(cpo_parse_i64("", 0, &v), CPO_EPARSE);
}
END_TEST


/* cpo_fmt_double must give printf's "%.17g" byte for byte (the reference
 * is glibc's printf, exact to the last digit): the outputs of every run
 * stay what they were when the function was snprintf. */
static void expect_printf(double x)
{
    char got[40], want[40];
    size_t len = cpo_fmt_double(got, sizeof got, x);
    ck_assert_uint_eq(len, strlen(got));
    snprintf(want, sizeof want, "%.17g", x == 0.0 ? 0.0 : x);
    if (isnan(x))
        strcpy(want, "nan");
    ck_assert_msg(strcmp(got, want) == 0, "%a: got %s, printf %s", x, got, want);
}

START_TEST(test_fmt_double__printf_17g_by_hand)
{
    /* Layout edges (%g switches to e-notation below 1e-4 and at 1e17),
     * trailing zeros, signs, the specials. */
    const double v[] = {1.0, -1.0, 0.1, 0.5, 1e-4, 9.9999999999999991e-5, 1e-5, 123456.0,
                        1e16, 1e17, 99999999999999984.0, 1.7976931348623157e308,
                        4.9406564584124654e-324, 2.2250738585072014e-308, -2.5e-300,
                        1234567.8901234567, 1e100, 1e-100, 0.30000000000000004, 1e21};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        expect_printf(v[k]);
    char b[40];
    cpo_fmt_double(b, sizeof b, -0.0);
    ck_assert_str_eq(b, "0");
    cpo_fmt_double(b, sizeof b, -INFINITY);
    ck_assert_str_eq(b, "-inf");
    cpo_fmt_double(b, sizeof b, NAN);
    ck_assert_str_eq(b, "nan");
    ck_assert_uint_eq(cpo_fmt_double(b, 6, 1.0 / 3.0), 5); /* cut like snprintf */
    ck_assert_str_eq(b, "0.333");
    ck_assert_uint_eq(cpo_fmt_double(b, 3, -INFINITY), 2);
    ck_assert_str_eq(b, "-i");
}
END_TEST

START_TEST(test_fmt_double__halfway_cases_round_to_even)
{
    /* Doubles exactly halfway between two 17-digit decimals (18 digits
     * ending in 5): printf rounds to even, double-conversion away from
     * zero.  By hand: 2^-25 = 2.98023223876953125e-8 -> ...312 (2 even);
     * 1000000000000000.25 -> ...0.2; 1000000000000000.75 -> ...0.8
     * (7 odd: up); 3 x 2^-25 = 8.94069671630859375e-8 -> ...938. */
    char b[40];
    cpo_fmt_double(b, sizeof b, ldexp(1.0, -25));
    ck_assert_str_eq(b, "2.9802322387695312e-08");
    cpo_fmt_double(b, sizeof b, 1000000000000000.25);
    ck_assert_str_eq(b, "1000000000000000.2");
    cpo_fmt_double(b, sizeof b, -1000000000000000.75);
    ck_assert_str_eq(b, "-1000000000000000.8");
    cpo_fmt_double(b, sizeof b, 3 * ldexp(1.0, -25));
    ck_assert_str_eq(b, "8.9406967163085938e-08");
    /* Every halfway double m 2^e, m odd, e = -1..-25, 18 digits. */
    for (int e = 1; e <= 25; e++)
        for (uint64_t m = 1; m < (UINT64_C(1) << 53); m = m * 3 + 1)
            expect_printf(ldexp((double)(m | 1), -e));
}
END_TEST

START_TEST(test_fmt_double__random_doubles_against_printf)
{
    /* 600,000 doubles (4 x 150,000): uniform bit patterns (every exponent), prices and
     * amounts of a few decimals, and integers near 2^53. */
    uint64_t s = 88172645463325252u;
    for (int k = 0; k < 150000; k++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double x;
        memcpy(&x, &s, sizeof x);
        if (!isfinite(x))
            continue;
        expect_printf(x);
        expect_printf((double)(s % 100000000) / 100.0);
        expect_printf((double)(s >> 11) + 0.5);
        expect_printf(ldexp((double)(s >> 11), (int)(s % 200) - 100));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("csvread");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_csv_read__lines_quotes_blank_crlf_bom);
    tcase_add_test(tc, test_csv_read__no_final_newline);
    tcase_add_test(tc, test_csv_read__unterminated_quote);
    tcase_add_test(tc, test_csv_read__nul_byte);
    tcase_add_test(tc, test_csv_read__missing_file);
    tcase_add_test(tc, test_csv_read__callback_stops);
    tcase_add_test(tc, test_csv_map__missing_column_message);
    tcase_add_test(tc, test_parse_f64__exact_against_strtod);
    tcase_add_test(tc, test_parse_f64__refuses);
    tcase_add_test(tc, test_parse_i64__ranges);
    tcase_add_test(tc, test_fmt_double__printf_17g_by_hand);
    tcase_add_test(tc, test_fmt_double__halfway_cases_round_to_even);
    tcase_add_test(tc, test_fmt_double__random_doubles_against_printf);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
