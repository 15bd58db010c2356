/* check_csvread.c - libcsv wrapper: records, line numbers, header lookup,
 * number parsing. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
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
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
