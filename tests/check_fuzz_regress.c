/*
 * check_fuzz_regress.c - every input the fuzzers found a bug with, fed to
 * its reader again in the normal build (and, in scripts/test.sh, under
 * ASan + UBSan): each file of tests/fuzz/regress/TARGET/ goes to the
 * target TARGET of tests/fuzz/targets.c, and so do the seeds in
 * tests/fuzz/corpus/TARGET/.
 * Each must come back cleanly: 0, or a negative code with a message (the
 * target aborts on a positive code or an empty message; a crash fails the
 * test in Check's fork mode).
 */
#define _DEFAULT_SOURCE
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "targets.h"
#include "testutil.h"

#define CORPUS_DIR CPO_SOURCE_DIR "/tests/fuzz/corpus"

/* Under LeakSanitizer (the ASan build of scripts/test.sh): the leaks of
 * libhdf5 itself on a corrupt store, as tests/fuzz/lsan.supp lists them
 * for the fuzzers.  Leaks of cpo's own allocations are still reported. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libhdf5_serial.so\n";
}

const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}

/* Feed every regular file of dir/name to t; returns the number fed. */
static size_t feed_dir(const fz_target *t, const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, t->name);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t fed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *p = tu_path(path, e->d_name);
        struct stat st;
        ck_assert_int_eq(stat(p, &st), 0);
        if (!S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        size_t n = 0;
        char *buf = tu_read_file(p, &n);
        ck_assert_msg(buf != NULL, "%s: cannot read", p);
        cpo_error err;
        cpo_error_clear(&err);
        int rc = t->fn((const uint8_t *)buf, n, &err);
        ck_assert_msg(rc <= 0, "%s: %s returned %d (expected 0 or a negative code)", p, t->name, rc);
        ck_assert_msg(rc == 0 || err.msg[0], "%s: %s returned %d without a message", p, t->name,
                      rc);
        free(buf);
        free(p);
        fed++;
    }
    closedir(d);
    return fed;
}

START_TEST(test_fuzz_regress__inputs_return_cleanly)
{
    const fz_target *t = &fz_targets[_i];
    feed_dir(t, CPO_FUZZ_REGRESS);
    feed_dir(t, CORPUS_DIR);
}
END_TEST

/* A folder of regress/ or corpus/ that names no target would never run. */
static void check_names(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "%s: cannot open", dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        ck_assert_msg(fz_find(e->d_name) != NULL, "%s/%s: no fuzz target of that name", dir,
                      e->d_name);
    }
    closedir(d);
}

START_TEST(test_fuzz_regress__folders_name_targets)
{
    check_names(CPO_FUZZ_REGRESS);
    check_names(CORPUS_DIR);
}
END_TEST

/* The regression inputs are there at all (a wrong path would pass silently). */
START_TEST(test_fuzz_regress__inputs_exist)
{
    size_t fed = 0;
    for (size_t i = 0; i < fz_n_targets; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", CPO_FUZZ_REGRESS, fz_targets[i].name);
        DIR *d = opendir(path);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            fed += e->d_name[0] != '.';
        closedir(d);
    }
    ck_assert_msg(fed > 0, "no input in %s", CPO_FUZZ_REGRESS);
}
END_TEST

static Suite *fuzz_regress_suite(void)
{
    Suite *s = suite_create("fuzz_regress");
    TCase *tc = tcase_create("regress");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_fuzz_regress__inputs_return_cleanly, 0, (int)fz_n_targets);
    tcase_add_test(tc, test_fuzz_regress__folders_name_targets);
    tcase_add_test(tc, test_fuzz_regress__inputs_exist);
    suite_add_tcase(s, tc);
    return s;
}

/* `check_fuzz_regress TARGET FILE...`: feed the files to the target and
 * print what it returned (triage of a new input); no argument: the suite. */
static int feed_files(int argc, char **argv)
{
    const fz_target *t = fz_find(argv[1]);
    if (!t) {
        fprintf(stderr, "no fuzz target \"%s\"\n", argv[1]);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        size_t n = 0;
        char *buf = tu_read_file(argv[i], &n);
        if (!buf) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            return 2;
        }
        cpo_error err;
        cpo_error_clear(&err);
        int rc = t->fn((const uint8_t *)buf, n, &err);
        printf("%s: %s: %d %s\n", argv[i], t->name, rc, rc ? tu_errstr(&err) : "");
        free(buf);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3)
        return feed_files(argc, argv);
    SRunner *sr = srunner_create(fuzz_regress_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
