/* check_inifile.c - INI parsing with line numbers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inifile.h"
#include "testutil.h"

typedef struct seen {
    int n;
    char text[8][96];
} seen;

static int collect(void *ctx, const char *section, const char *key, const char *value, long line,
                   cpo_error *err)
{
    seen *s = ctx;
    if (!strcmp(key, "stop"))
        return cpo_error_set(err, CPO_ECONFIG, "x.ini", line, 0, "stopped at %s", value);
    snprintf(s->text[s->n++], sizeof s->text[0], "%ld [%s] %s=%s", line, section, key, value);
    return 0;
}

START_TEST(test_ini__keys_with_lines)
{
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "a.ini");
    /* Line numbers by hand: 1 comment, 2 section, 3 key, 4 blank, 5 key
     * with inline comment, 6 section, 7 key. */
    tu_write_file(p, "; comment\n[backtest]\nstart = 2021-01-01\n\ncapital = 1000 ; usd\n[costs]\nfee_bps=10\n");
    seen s = {0};
    cpo_error e;
    ck_assert_int_eq(cpo_ini_parse(p, collect, &s, &e), 0);
    ck_assert_int_eq(s.n, 3);
    ck_assert_str_eq(s.text[0], "3 [backtest] start=2021-01-01");
    ck_assert_str_eq(s.text[1], "5 [backtest] capital=1000");
    ck_assert_str_eq(s.text[2], "7 [costs] fee_bps=10");
    tu_rmtree(dir);
    free(p);
    free(dir);
}
END_TEST

START_TEST(test_ini__syntax_error_line)
{
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "b.ini");
    tu_write_file(p, "[a]\nx = 1\nthis line has no equals sign\n");
    seen s = {0};
    cpo_error e;
    ck_assert_int_eq(cpo_ini_parse(p, collect, &s, &e), CPO_ECONFIG);
    char want[600];
    snprintf(want, sizeof want, "%s:3: syntax error (expected [section] or key = value)", p);
    ck_assert_str_eq(tu_errstr(&e), want);
    tu_rmtree(dir);
    free(p);
    free(dir);
}
END_TEST

START_TEST(test_ini__handler_error_stops)
{
    char *dir = tu_tmpdir();
    char *p = tu_path(dir, "c.ini");
    tu_write_file(p, "[a]\nx = 1\nstop = here\ny = 2\n");
    seen s = {0};
    cpo_error e;
    ck_assert_int_eq(cpo_ini_parse(p, collect, &s, &e), CPO_ECONFIG);
    ck_assert_str_eq(tu_errstr(&e), "x.ini:3: stopped at here");
    ck_assert_int_eq(s.n, 1);
    tu_rmtree(dir);
    free(p);
    free(dir);
}
END_TEST

START_TEST(test_ini__missing_file)
{
    cpo_error e;
    ck_assert_int_eq(cpo_ini_parse("/nonexistent.ini", collect, NULL, &e), CPO_EIO);
    ck_assert_str_eq(tu_errstr(&e),
                     "/nonexistent.ini: cannot open: No such file or directory (expected a readable INI file)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("inifile");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ini__keys_with_lines);
    tcase_add_test(tc, test_ini__syntax_error_line);
    tcase_add_test(tc, test_ini__handler_error_stops);
    tcase_add_test(tc, test_ini__missing_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
