/*
 * check_signal.c - `cpo run`, `cpo sweep` and `cpo report` stopped by
 * SIGTERM or SIGINT: exit status 128 + the signal (143, 130), no .tmp file
 * left, no file under its final name from a run that did not finish.
 *
 * A run has to be caught in the middle: the example plugin's schedule
 * every_k_hours sleeps 5 ms a step under CPO_EXAMPLE_PLUGIN_TEST=slow
 * (tests/plugins/example_plugin.c), so a run of 3,000 hourly steps lasts
 * 15 s; the test waits until the run's first temporary file exists (the
 * engine starts right after it is made), then sends the signal.  The
 * report is caught the same way with a stand-in "gnuplot" on PATH that
 * sleeps a second.
 */
#define _DEFAULT_SOURCE
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Start `cpo ARGS...` with stdout and stderr into log, env "slow" hook,
 * PATH as given (NULL: unchanged). */
static pid_t spawn(const char *log, const char *path_env, char *const argv[])
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        setenv("CPO_EXAMPLE_PLUGIN_TEST", "slow", 1);
        if (path_env)
            setenv("PATH", path_env, 1);
        execv(CPO_BINARY, argv);
        _exit(127);
    }
    return pid;
}

/* Wait (up to 60 s) until path exists or the child ended; 1 if it exists. */
static int wait_for(const char *path, pid_t pid)
{
    for (int k = 0; k < 6000; k++) {
        if (tu_exists(path))
            return 1;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            ck_abort_msg("cpo ended (status %d) before %s appeared", st, path);
        nap_ms(10);
    }
    return 0;
}

static int wait_status(pid_t pid)
{
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st), "cpo did not exit (killed by signal %d)",
                  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return WEXITSTATUS(st);
}

typedef struct fx {
    char *dir, *store, *cfg, *out, *log;
} fx;

/* A 2-asset, 3,000-step hourly synthetic store and a config running the
 * plugin's schedule every step with equal weights. */
static void fx_init(fx *f, const char *extra)
{
    f->dir = tu_tmpdir();
    f->store = tu_path(f->dir, "store.h5");
    f->cfg = tu_path(f->dir, "slow.ini");
    f->out = tu_path(f->dir, "run");
    f->log = tu_path(f->dir, "log.txt");
    char cmd[4096], *text = NULL;
    snprintf(cmd, sizeof cmd, "%s data synth -o %s --assets 2 --steps 3000 --step 1h", CPO_BINARY,
             f->store);
    ck_assert_msg(tu_run(cmd, &text) == 0, "%s", text);
    free(text);
    char cfg[4096];
    snprintf(cfg, sizeof cfg,
             "[backtest]\ndata = store.h5\ncapital = 100000\ndetail = instrument\n"
             "[strategy]\nplugin = %s\nschedule = every_k_hours\nweigh = equal\n"
             "[schedule.every_k_hours]\nk = 1\n%s",
             CPO_EXAMPLE_PLUGIN, extra ? extra : "");
    tu_write_file(f->cfg, cfg);
}

/* The temporary name of dir/name in process pid (outfile.h). */
static char *tmp_of(const char *dir, const char *name, pid_t pid)
{
    char n[256];
    snprintf(n, sizeof n, "%s.tmp.%ld", name, (long)pid);
    return tu_path(dir, n);
}

static void fx_fini(fx *f)
{
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->store);
    free(f->cfg);
    free(f->out);
    free(f->log);
}

static void run_stopped_by(int sig, int want_status)
{
    fx f;
    fx_init(&f, NULL);
    char *argv[] = {"cpo", "run", f.cfg, "-o", f.out, NULL};
    pid_t pid = spawn(f.log, NULL, argv);
    /* ledger.h5.tmp.<pid> is made just before the engine starts. */
    char *tmp = tmp_of(f.out, "ledger.h5", pid);
    ck_assert(wait_for(tmp, pid));
    nap_ms(200);
    ck_assert_int_eq(kill(pid, sig), 0);
    int status = wait_status(pid);
    char *log = tu_read_file(f.log, NULL);
    /* 128 + SIGTERM (15) = 143, 128 + SIGINT (2) = 130: the shell's
     * convention for a command ended by a signal. */
    ck_assert_msg(status == want_status, "exit %d, expected %d; output:\n%s", status, want_status,
                  log);
    /* The engine's own words, then the CLI's. */
    ck_assert_msg(strstr(log, "interrupted at step"), "%s", log);
    ck_assert_msg(strstr(log, sig == SIGINT ? "stopped by SIGINT" : "stopped by SIGTERM"), "%s",
                  log);
    /* The run made the folder: it is gone with its .tmp files. */
    char first[2048] = "";
    ck_assert_uint_eq(tu_count_tmp(f.out, first, sizeof first), 0);
    ck_assert_msg(!tu_exists(f.out), "%s is left behind", f.out);
    free(log);
    free(tmp);
    fx_fini(&f);
}

START_TEST(test_signal_run__sigterm_exit_143_no_files)
{
    run_stopped_by(SIGTERM, 143);
}
END_TEST

START_TEST(test_signal_run__sigint_exit_130_no_files)
{
    run_stopped_by(SIGINT, 130);
}
END_TEST

START_TEST(test_signal_run__forced_rerun_keeps_the_old_files_whole)
{
    /* A finished run, then a --force rerun into the same folder stopped
     * midway: the first run's files stay as they were (the rerun's are
     * .tmp until whole, and removed), and a rerun without --force is
     * refused. */
    fx f;
    fx_init(&f, NULL);
    char cmd[4096], *text = NULL;
    snprintf(cmd, sizeof cmd, "PATH=/nonexistent %s run %s -o %s --quiet", CPO_BINARY, f.cfg,
             f.out);
    ck_assert_msg(tu_run(cmd, &text) == 0, "%s", text);
    free(text);
    char *summary = tu_path(f.out, "summary.json"), *manifest = tu_path(f.out, "manifest.json");
    size_t len0 = 0;
    char *before = tu_read_file(manifest, &len0);
    ck_assert_ptr_nonnull(before);
    ck_assert_int_eq(tu_run(cmd, &text), 1);
    ck_assert_msg(strstr(text, "the run folder already exists (expected -o NEW_DIR or --force)"),
                  "%s", text);
    free(text);
    char *argv[] = {"cpo", "run", f.cfg, "-o", f.out, "--force", NULL};
    pid_t pid = spawn(f.log, NULL, argv);
    char *tmp = tmp_of(f.out, "ledger.h5", pid);
    ck_assert(wait_for(tmp, pid));
    nap_ms(100);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(wait_status(pid), 143);
    char first[2048] = "";
    ck_assert_msg(tu_count_tmp(f.out, first, sizeof first) == 0, "left: %s", first);
    size_t len1 = 0;
    char *after = tu_read_file(manifest, &len1);
    ck_assert_ptr_nonnull(after);
    ck_assert_uint_eq(len0, len1);
    ck_assert_int_eq(memcmp(before, after, len0), 0);
    ck_assert(tu_exists(summary));
    free(before);
    free(after);
    free(tmp);
    free(summary);
    free(manifest);
    fx_fini(&f);
}
END_TEST

START_TEST(test_signal_sweep__sigterm_exit_143_no_folder)
{
    fx f;
    fx_init(&f, "[sweep]\ncosts.fee_bps = 1, 2, 3, 4\n");
    char *out = tu_path(f.dir, "sweep");
    char *argv[] = {"cpo", "sweep", f.cfg, "-j", "1", "-o", out, "--quiet", NULL};
    pid_t pid = spawn(f.log, NULL, argv);
    /* The folder is made once the market is loaded, before the first
     * backtest; 4 points of 15 s each are far from done 0.3 s later. */
    ck_assert(wait_for(out, pid));
    nap_ms(300);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    int status = wait_status(pid);
    char *log = tu_read_file(f.log, NULL);
    ck_assert_msg(status == 143, "exit %d; output:\n%s", status, log);
    ck_assert_msg(strstr(log, "interrupted after"), "%s", log);
    ck_assert_msg(!tu_exists(out), "%s is left behind", out);
    free(log);
    free(out);
    fx_fini(&f);
}
END_TEST

START_TEST(test_signal_report__sigterm_exit_143_no_tmp)
{
    /* A finished run without gnuplot, then `cpo report` with a stand-in
     * gnuplot that sleeps 1 s and fails: SIGTERM during the first chart
     * stops the report before its page (exit 143), nothing .tmp is left,
     * and no report.html. */
    fx f;
    fx_init(&f, NULL);
    char cmd[4096], *text = NULL;
    snprintf(cmd, sizeof cmd, "PATH=/nonexistent %s run %s -o %s --quiet", CPO_BINARY, f.cfg,
             f.out);
    /* The run alone (not slow: no hook in tu_run's environment). */
    ck_assert_msg(tu_run(cmd, &text) == 0, "%s", text);
    free(text);
    char *bin = tu_path(f.dir, "bin"), *gp = tu_path(bin, "gnuplot");
    ck_assert_int_eq(mkdir(bin, 0755), 0);
    tu_write_file(gp, "#!/bin/sh\nsleep 1\nexit 1\n");
    ck_assert_int_eq(chmod(gp, 0755), 0);
    char *html = tu_path(f.out, "report.html");
    ck_assert_int_eq(unlink(html), 0);
    char path_env[2048];
    snprintf(path_env, sizeof path_env, "%s:/usr/bin:/bin", bin);
    char *argv[] = {"cpo", "report", f.out, "--quiet", NULL};
    /* equity.gp is written again just before gnuplot is started on it. */
    char *eq = tu_path(f.out, "charts/equity.gp");
    ck_assert_int_eq(unlink(eq), 0);
    pid_t pid = spawn(f.log, path_env, argv);
    ck_assert(wait_for(eq, pid));
    nap_ms(200);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    int status = wait_status(pid);
    char *log = tu_read_file(f.log, NULL);
    ck_assert_msg(status == 143, "exit %d; output:\n%s", status, log);
    ck_assert_msg(strstr(log, "interrupted while drawing the charts"), "%s", log);
    char first[2048] = "";
    ck_assert_msg(tu_count_tmp(f.out, first, sizeof first) == 0, "left: %s", first);
    ck_assert(!tu_exists(html));
    free(log);
    free(eq);
    free(html);
    free(gp);
    free(bin);
    fx_fini(&f);
}
END_TEST

/*
 * One writer per folder (issue 20: two runs into the same -o folder both
 * failed with misleading messages, on the same fixed .tmp names).  While a
 * slow run writes its folder, a second `cpo run --force`, `cpo report`,
 * `cpo sweep --force` and `cpo compare -o` into it are refused at once,
 * naming the folder; the first run is then stopped and leaves nothing.
 */
START_TEST(test_lock__a_second_writer_is_refused)
{
    fx f;
    fx_init(&f, NULL);
    char *a = tu_path(f.dir, "a"), *b = tu_path(f.dir, "b"), *sw = tu_path(f.dir, "sweep.ini");
    char cmd[4096], *text = NULL, want[2048];
    /* two finished runs to compare (fast: no "slow" hook, no gnuplot) */
    snprintf(cmd, sizeof cmd, "PATH=/nonexistent %s run %s -o %s --quiet && PATH=/nonexistent "
             "%s run %s -o %s --quiet", CPO_BINARY, f.cfg, a, CPO_BINARY, f.cfg, b);
    ck_assert_msg(tu_run(cmd, &text) == 0, "%s", text);
    free(text);
    char *cfg_text = tu_read_file(f.cfg, NULL);
    char sweep_text[4096];
    snprintf(sweep_text, sizeof sweep_text, "%s[sweep]\ncosts.fee_bps = 1, 2\n", cfg_text);
    tu_write_file(sw, sweep_text);
    free(cfg_text);
    char *argv[] = {"cpo", "run", f.cfg, "-o", f.out, NULL};
    pid_t pid = spawn(f.log, NULL, argv);
    char *tmp = tmp_of(f.out, "ledger.h5", pid);
    ck_assert(wait_for(tmp, pid));
    snprintf(want, sizeof want,
             "cpo: %s: another cpo is writing this folder (expected one writer per folder: wait "
             "for it to finish, or write to another folder)\n",
             f.out);
    const char *const cmds[] = {"run --force %s -o %s", "report %.0s%s", "sweep --force %s -o %s",
                                "compare %.0s-o %s"};
    for (size_t k = 0; k < 4; k++) {
        char args[2048];
        snprintf(args, sizeof args, cmds[k], k == 2 ? sw : f.cfg, f.out);
        if (k == 3)
            snprintf(args + strlen(args), sizeof args - strlen(args), " %s %s", a, b);
        snprintf(cmd, sizeof cmd, "%s %s", CPO_BINARY, args);
        int st = tu_run(cmd, &text);
        ck_assert_msg(st == 1, "cpo %s: exit %d: %.300s", args, st, text);
        ck_assert_msg(!strcmp(text, want), "cpo %s: %.300s", args, text);
        free(text);
    }
    /* The first run is still writing its own files: stop it. */
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(wait_status(pid), 143);
    ck_assert(!tu_exists(f.out));
    free(tmp);
    free(a);
    free(b);
    free(sw);
    fx_fini(&f);
}
END_TEST

/*
 * `cpo data import` stopped by SIGTERM (issue 20: it left STORE.tmp.<pid>).
 * A 1,500,000-row file of one-minute klines takes about a second to read
 * and the store a few hundred milliseconds to write: the signal comes
 * while the file is read (100 ms in), or once the store's temporary file
 * exists.  Either way: exit 143, no store, no temporary file.
 */
static void import_stopped(int while_writing)
{
    char *dir = tu_tmpdir(), *csv = tu_path(dir, "BTCUSDT_1m.csv"),
         *store = tu_path(dir, "s.h5"), *log = tu_path(dir, "log.txt");
    FILE *f = fopen(csv, "w");
    ck_assert_ptr_nonnull(f);
    fputs("timestamp,open,high,low,close,volume\n", f);
    long long t0 = 1577836800000LL; /* 2020-01-01 */
    for (long k = 0; k < 1500000; k++) {
        double p = 100.0 + (double)(k % 977) * 0.01;
        fprintf(f, "%lld,%.2f,%.2f,%.2f,%.2f,%ld\n", t0 + k * 60000LL, p, p + 1, p - 1, p,
                k % 100);
    }
    ck_assert_int_eq(fclose(f), 0);
    char *argv[] = {"cpo", "data", "import", "--quiet", "-o", store, csv, NULL};
    pid_t pid = spawn(log, NULL, argv);
    if (while_writing) {
        char *tmp = tmp_of(dir, "s.h5", pid);
        ck_assert(wait_for(tmp, pid));
        free(tmp);
    } else {
        nap_ms(100);
    }
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    int status = wait_status(pid);
    char *text = tu_read_file(log, NULL);
    ck_assert_msg(status == 143, "exit %d: %s", status, text);
    ck_assert_msg(strstr(text, "nothing was written"), "%s", text);
    ck_assert_msg(strstr(text, "cpo: stopped by SIGTERM; temporary files removed"), "%s", text);
    char first[2048] = "";
    ck_assert_msg(tu_count_tmp(dir, first, sizeof first) == 0, "left: %s", first);
    ck_assert(!tu_exists(store));
    free(text);
    tu_rmtree(dir);
    free(dir);
    free(csv);
    free(store);
    free(log);
}

START_TEST(test_signal_import__while_reading)
{
    import_stopped(0);
}
END_TEST

START_TEST(test_signal_import__while_writing_the_store)
{
    import_stopped(1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("signal");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_signal_run__sigterm_exit_143_no_files);
    tcase_add_test(tc, test_signal_run__sigint_exit_130_no_files);
    tcase_add_test(tc, test_signal_run__forced_rerun_keeps_the_old_files_whole);
    tcase_add_test(tc, test_signal_sweep__sigterm_exit_143_no_folder);
    tcase_add_test(tc, test_signal_report__sigterm_exit_143_no_tmp);
    tcase_add_test(tc, test_lock__a_second_writer_is_refused);
    tcase_add_test(tc, test_signal_import__while_reading);
    tcase_add_test(tc, test_signal_import__while_writing_the_store);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
