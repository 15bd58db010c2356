/* check_error.c - the error type: codes, texts and the message form. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/error.h"

START_TEST(test_error_format__full_position)
{
    cpo_error e;
    char buf[256];
    int rc = cpo_error_set(&e, CPO_EDATA, "btc.csv", 1042, 5,
                           "close \"%s\" is not a number (expected a decimal number)", "abc");
    ck_assert_int_eq(rc, CPO_EDATA);
    cpo_error_format(&e, buf, sizeof buf);
    ck_assert_str_eq(buf, "btc.csv:1042:5: close \"abc\" is not a number (expected a decimal number)");
}
END_TEST

START_TEST(test_error_format__parts_left_out)
{
    cpo_error e;
    char buf[256];
    cpo_error_set(&e, CPO_ECONFIG, "a.ini", 7, 0, "bad");
    cpo_error_format(&e, buf, sizeof buf);
    ck_assert_str_eq(buf, "a.ini:7: bad");
    cpo_error_set(&e, CPO_EIO, "a.ini", 0, 0, "gone");
    cpo_error_format(&e, buf, sizeof buf);
    ck_assert_str_eq(buf, "a.ini: gone");
    cpo_error_set(&e, CPO_ENOMEM, NULL, 0, 0, NULL);
    cpo_error_format(&e, buf, sizeof buf);
    ck_assert_str_eq(buf, "out of memory");
}
END_TEST

START_TEST(test_error_format__truncates_safely)
{
    cpo_error e;
    char buf[8];
    size_t need = (size_t)cpo_error_set(&e, CPO_EDATA, "x.csv", 1, 2, "abcdef");
    (void)need;
    size_t n = cpo_error_format(&e, buf, sizeof buf);
    ck_assert_uint_eq(n, strlen("x.csv:1:2: abcdef"));
    ck_assert_str_eq(buf, "x.csv:1");
}
END_TEST

START_TEST(test_error_codes__texts_and_names)
{
    ck_assert_str_eq(cpo_strerror(CPO_OK), "no error");
    ck_assert_str_eq(cpo_strerror(CPO_EDATA), "bad data");
    ck_assert_str_eq(cpo_error_name(CPO_EDUP), "EDUP");
    ck_assert_str_eq(cpo_strerror(12345), "unknown error");
    /* Every code from the list has a distinct text. */
    int codes[] = {
#define X(name, value, text) value,
        CPO_ERROR_LIST(X)
#undef X
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            ck_assert_str_ne(cpo_strerror(codes[i]), cpo_strerror(codes[j]));
}
END_TEST

START_TEST(test_error_null__is_harmless)
{
    ck_assert_int_eq(cpo_error_set(NULL, CPO_EIO, "p", 1, 1, "x"), CPO_EIO);
    cpo_error_clear(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_error_format__full_position);
    tcase_add_test(tc, test_error_format__parts_left_out);
    tcase_add_test(tc, test_error_format__truncates_safely);
    tcase_add_test(tc, test_error_codes__texts_and_names);
    tcase_add_test(tc, test_error_null__is_harmless);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
