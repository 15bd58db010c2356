/*
 * check_iofail.c - write failures at every size that matters (issue 20: a
 * disk-full `cpo run` crashed with SIGSEGV at exit after "ledger.h5.tmp:
 * cannot write the file"; a disk-full sweep left leaderboard.* under final
 * names).
 *
 * Each command runs in a child with RLIMIT_FSIZE set to a limit (bytes)
 * and SIGXFSZ ignored, so that a write past the limit fails with EFBIG as
 * a full disk fails with ENOSPC; the limits run from 0 to past the largest
 * file the command writes, so every file in turn is the one that fails.
 * Whatever the limit: the command exits 0 or 1 (never a signal), a
 * failure says what it could not write, no temporary file and no lock
 * file is left, and no file of an unfinished job sits under its final name
 * (or the earlier one is kept whole).
 *
 * A file size limit fails the largest file first; to fail every file of a
 * run in turn, test_iofail__run_every_file walks them in this process:
 * the suite is linked with -Wl,--wrap=fopen,--wrap=open,--wrap=write
 * (CMakeLists.txt), so the k-th file cpo_lib opens for writing gets a
 * stream (fopencookie) or a descriptor whose writes fail with ENOSPC, at
 * its first byte or past 4 KiB; cpo_run_to_dir must return an error with
 * a message, leave no temporary file, no run folder it made, and no HDF5
 * object open.  The hooks' state is file-static, as the project's rule
 * allows for a test-only hook.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <hdf5.h>
#include <stdarg.h>

#include "cpo/config.h"
#include "cpo/hash.h"
#include "cpo/run.h"
#include "testutil.h"

/* --- the write-failing hooks -------------------------------------------------- */

FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);

static int hook_armed;       /* count and fail only while a walked run runs */
static size_t hook_opens;    /* files opened for writing so far */
static size_t hook_target;   /* the one whose writes fail (1-based; 0: none) */
static size_t hook_after;    /* bytes it takes before it fails */
static int hook_fd = -1;     /* the descriptor of the target, opened by open() */
static size_t hook_fd_bytes; /* bytes written to it */
static char hook_name[1024]; /* the target's path */
static int hook_fired;       /* a write was failed */

static int is_write_mode(const char *mode)
{
    return strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+');
}

typedef struct cookie {
    FILE *real;
    size_t bytes;
} cookie;

static ssize_t ck_write(void *c, const char *buf, size_t n)
{
    cookie *k = c;
    if (k->bytes + n > hook_after) {
        hook_fired = 1;
        errno = ENOSPC;
        return -1;
    }
    k->bytes += n;
    return (ssize_t)fwrite(buf, 1, n, k->real);
}

static int ck_close(void *c)
{
    cookie *k = c;
    int rc = fclose(k->real);
    free(k);
    return rc;
}

FILE *__wrap_fopen(const char *path, const char *mode)
{
    if (!hook_armed || !is_write_mode(mode))
        return __real_fopen(path, mode);
    if (++hook_opens != hook_target)
        return __real_fopen(path, mode);
    snprintf(hook_name, sizeof hook_name, "%s", path);
    cookie *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    if (!(k->real = __real_fopen(path, mode))) {
        free(k);
        return NULL;
    }
    cookie_io_functions_t io = {NULL, ck_write, NULL, ck_close};
    FILE *f = fopencookie(k, mode, io);
    if (!f) {
        fclose(k->real);
        free(k);
    }
    return f;
}

int __wrap_open(const char *path, int flags, ...)
{
    mode_t m = 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        m = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    int fd = __real_open(path, flags, m);
    /* files written through a descriptor (the HDF5 images); the lock
     * file is opened too but never written */
    if (fd >= 0 && hook_armed && (flags & (O_WRONLY | O_RDWR)) && (flags & O_TRUNC) &&
        ++hook_opens == hook_target) {
        hook_fd = fd;
        hook_fd_bytes = 0;
        snprintf(hook_name, sizeof hook_name, "%s", path);
    }
    return fd;
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    if (hook_armed && fd == hook_fd) {
        if (hook_fd_bytes + n > hook_after) {
            hook_fired = 1;
            errno = ENOSPC;
            return -1;
        }
        hook_fd_bytes += n;
    }
    return __real_write(fd, buf, n);
}

/* The limits: 0, then about x2.5 each up to 8 MiB (past every file here). */
static const long limits[] = {0,     1,      200,    1000,   4000,    10000,   25000,
                              60000, 150000, 400000, 1000000, 2500000, 8000000};
#define N_LIMITS (sizeof limits / sizeof limits[0])

/* Run `cpo argv...` with files limited to limit bytes (< 0: no limit);
 * stdout and stderr into *out (caller frees).  The exit status, or 128 +
 * the signal that ended it. */
static int run_limited(char *const argv[], long limit, char **out)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[1]);
        signal(SIGXFSZ, SIG_IGN);
        if (limit >= 0) {
            struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(125);
        }
        execv(CPO_BINARY, argv);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (;;) {
        if (n + 1024 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        ssize_t k = read(p[0], buf + n, 1024);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    close(p[0]);
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* A failure's words: what could not be written, and why. */
static void check_failure_text(const char *what, long limit, const char *out)
{
    ck_assert_msg(strstr(out, "cpo: ") &&
                      (strstr(out, "File too large") || strstr(out, "cannot write")),
                  "%s, limit %ld: %s", what, limit, out);
}

static void no_tmp(const char *dir, const char *what, long limit)
{
    char first[2048] = "";
    ck_assert_msg(tu_count_tmp(dir, first, sizeof first) == 0, "%s, limit %ld: %s left", what,
                  limit, first);
}

/* Every file the manifest lists has the SHA-256 it says: the folder is one
 * run's, whole. */
static void manifest_consistent(const char *dir, const char *what, long limit)
{
    json_t *m = tu_load_json(dir, "manifest.json");
    json_t *files = json_object_get(m, "files");
    ck_assert_uint_ge(json_object_size(files), 5);
    const char *name;
    json_t *v;
    json_object_foreach(files, name, v)
    {
        char *p = tu_path(dir, name), hex[65];
        cpo_error e;
        ck_assert_msg(cpo_sha256_file(p, hex, &e) == 0, "%s, limit %ld: %s", what, limit,
                      tu_errstr(&e));
        ck_assert_msg(!strcmp(hex, json_string_value(v)), "%s, limit %ld: %s does not match the "
                      "manifest", what, limit, name);
        free(p);
    }
    json_decref(m);
}

typedef struct fx {
    char *dir, *store, *cfg, *sweep;
} fx;

/* A 2-asset, 400-day synthetic store, a run config writing every file
 * (detail = instrument), and a sweep of 4 points of two keys (heatmap). */
static void fx_init(fx *f)
{
    f->dir = tu_tmpdir();
    f->store = tu_path(f->dir, "store.h5");
    f->cfg = tu_path(f->dir, "run.ini");
    f->sweep = tu_path(f->dir, "sweep.ini");
    char cmd[4096], *text = NULL;
    snprintf(cmd, sizeof cmd, "%s data synth -o %s --assets 2 --steps 400 --step 1d", CPO_BINARY,
             f->store);
    ck_assert_msg(tu_run(cmd, &text) == 0, "%s", text);
    free(text);
    tu_write_file(f->cfg, "[backtest]\ndata = store.h5\ncapital = 100000\ndetail = instrument\n"
                          "[costs]\nfee_bps = 10\n[strategy]\nschedule = every_n\nweigh = equal\n"
                          "[schedule.every_n]\nn = 5\n");
    tu_write_file(f->sweep, "[backtest]\ndata = store.h5\ncapital = 100000\n"
                            "[strategy]\nschedule = every_n\nweigh = equal\n"
                            "[schedule.every_n]\nn = 5\n"
                            "[sweep]\nschedule.every_n.n = 5, 10\ncosts.fee_bps = 5, 10\n");
}

static void fx_fini(fx *f)
{
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->store);
    free(f->cfg);
    free(f->sweep);
}

START_TEST(test_iofail__run)
{
    fx f;
    fx_init(&f);
    size_t fails = 0, oks = 0;
    char *keep = tu_path(f.dir, "kept");
    char *argv0[] = {"cpo", "run", "--quiet", "-o", keep, f.cfg, NULL};
    char *out = NULL;
    ck_assert_msg(run_limited(argv0, -1, &out) == 0, "%s", out);
    free(out);
    for (size_t k = 0; k < N_LIMITS; k++) {
        /* A new folder: gone on failure. */
        char *dir = tu_path(f.dir, "run");
        char *argv[] = {"cpo", "run", "--quiet", "-o", dir, f.cfg, NULL};
        int st = run_limited(argv, limits[k], &out);
        ck_assert_msg(st == 0 || st == 1, "run, limit %ld: exit %d: %s", limits[k], st, out);
        if (st) {
            check_failure_text("run", limits[k], out);
            ck_assert_msg(!tu_exists(dir), "run, limit %ld: %s left", limits[k], dir);
            fails++;
        } else {
            manifest_consistent(dir, "run", limits[k]);
            no_tmp(dir, "run", limits[k]);
            tu_rmtree(dir);
            oks++;
        }
        free(out);
        /* Over an earlier run with --force: whole, one run's files. */
        char *argv2[] = {"cpo", "run", "--quiet", "--force", "-o", keep, f.cfg, NULL};
        st = run_limited(argv2, limits[k], &out);
        ck_assert_msg(st == 0 || st == 1, "run --force, limit %ld: exit %d: %s", limits[k], st, out);
        if (st)
            check_failure_text("run --force", limits[k], out);
        manifest_consistent(keep, "run --force", limits[k]);
        no_tmp(keep, "run --force", limits[k]);
        free(out);
        free(dir);
    }
    /* Both sides were seen: the limits reach past the largest file. */
    ck_assert_uint_ge(fails, 5);
    ck_assert_uint_ge(oks, 1);
    free(keep);
    fx_fini(&f);
}
END_TEST

START_TEST(test_iofail__sweep)
{
    fx f;
    fx_init(&f);
    size_t fails = 0, oks = 0;
    for (size_t k = 0; k < N_LIMITS; k++) {
        char *dir = tu_path(f.dir, "sweep");
        char *argv[] = {"cpo", "sweep", "--quiet", "-j", "2", "-o", dir, f.sweep, NULL};
        char *out = NULL;
        int st = run_limited(argv, limits[k], &out);
        ck_assert_msg(st == 0 || st == 1, "sweep, limit %ld: exit %d: %s", limits[k], st, out);
        if (st) {
            check_failure_text("sweep", limits[k], out);
            /* no leaderboard.* under a final name: the folder it made is gone */
            ck_assert_msg(!tu_exists(dir), "sweep, limit %ld: %s left", limits[k], dir);
            fails++;
        } else {
            ck_assert(tu_file_in(dir, "leaderboard.csv"));
            ck_assert(tu_file_in(dir, "leaderboard.html"));
            ck_assert(tu_file_in(dir, "heatmap.dat"));
            ck_assert(tu_file_in(dir, "heatmap.gp"));
            no_tmp(dir, "sweep", limits[k]);
            tu_rmtree(dir);
            oks++;
        }
        free(out);
        free(dir);
    }
    ck_assert_uint_ge(fails, 3);
    ck_assert_uint_ge(oks, 1);
    fx_fini(&f);
}
END_TEST

/* cpo report over a run folder, and cpo compare of two: a failure keeps
 * the report.html that was there (or makes no compare.html). */
START_TEST(test_iofail__report_and_compare)
{
    fx f;
    fx_init(&f);
    char *a = tu_path(f.dir, "a"), *b = tu_path(f.dir, "b"), *out = NULL;
    char *argv_a[] = {"cpo", "run", "--quiet", "-o", a, f.cfg, NULL};
    char *argv_b[] = {"cpo", "run", "--quiet", "-o", b, f.cfg, NULL};
    ck_assert_msg(run_limited(argv_a, -1, &out) == 0, "%s", out);
    free(out);
    ck_assert_msg(run_limited(argv_b, -1, &out) == 0, "%s", out);
    free(out);
    char *page = tu_path(a, "report.html");
    size_t fails = 0, oks = 0;
    for (size_t k = 0; k < N_LIMITS; k++) {
        size_t n0 = 0, n1 = 0;
        char *before = tu_read_file(page, &n0);
        char *argv[] = {"cpo", "report", "--quiet", a, NULL};
        int st = run_limited(argv, limits[k], &out);
        ck_assert_msg(st == 0 || st == 1, "report, limit %ld: exit %d: %s", limits[k], st, out);
        char *after = tu_read_file(page, &n1);
        ck_assert_ptr_nonnull(after);
        if (st) {
            check_failure_text("report", limits[k], out);
            ck_assert_msg(n0 == n1 && !memcmp(before, after, n0),
                          "report, limit %ld: report.html changed", limits[k]);
            fails++;
        } else {
            oks++;
        }
        no_tmp(a, "report", limits[k]);
        manifest_consistent(a, "report", limits[k]);
        free(before);
        free(after);
        free(out);
    }
    ck_assert_uint_ge(fails, 3);
    ck_assert_uint_ge(oks, 1);
    fails = oks = 0;
    for (size_t k = 0; k < N_LIMITS; k++) {
        char *c = tu_path(f.dir, "cmp");
        char *argv[] = {"cpo", "compare", "--quiet", "-o", c, a, b, NULL};
        int st = run_limited(argv, limits[k], &out);
        ck_assert_msg(st == 0 || st == 1, "compare, limit %ld: exit %d: %s", limits[k], st, out);
        if (st) {
            check_failure_text("compare", limits[k], out);
            ck_assert_msg(!tu_file_in(c, "compare.html"), "compare, limit %ld: compare.html",
                          limits[k]);
            fails++;
        } else {
            ck_assert(tu_file_in(c, "compare.html"));
            oks++;
        }
        if (tu_exists(c)) {
            no_tmp(c, "compare", limits[k]);
            tu_rmtree(c);
        }
        free(out);
        free(c);
    }
    ck_assert_uint_ge(fails, 3);
    ck_assert_uint_ge(oks, 1);
    free(page);
    free(a);
    free(b);
    fx_fini(&f);
}
END_TEST

/* cpo data import: no store (or the earlier one, unchanged) and no
 * temporary store (issue 20: the import crashed like the run). */
START_TEST(test_iofail__import)
{
    char *dir = tu_tmpdir(), *store = tu_path(dir, "s.h5"), *out = NULL;
    char manifest[1024], root[1024];
    snprintf(manifest, sizeof manifest, "%s/daily.ini", CPO_SAMPLE_DIR);
    snprintf(root, sizeof root, "%s/csv", dir);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %s/csv && find . -name '*.gz' | grep -e spot_daily -e caps | while read -r f; do "
             "mkdir -p %s/csv/$(dirname $f); gzip -dc $f > %s/csv/${f%%.gz}; done",
             CPO_SAMPLE_DIR, dir, dir);
    ck_assert_msg(tu_run(cmd, &out) == 0, "%s", out);
    free(out);
    size_t fails = 0, oks = 0;
    for (size_t k = 0; k < N_LIMITS; k++) {
        char *argv[] = {"cpo", "data", "import", "--quiet", "-o", store, "-m", manifest,
                        "--root", root, NULL};
        int st = run_limited(argv, limits[k], &out);
        ck_assert_msg(st == 0 || st == 1, "import, limit %ld: exit %d: %s", limits[k], st, out);
        if (st) {
            check_failure_text("import", limits[k], out);
            ck_assert(!tu_exists(store));
            fails++;
        } else {
            oks++;
            unlink(store);
        }
        no_tmp(dir, "import", limits[k]);
        free(out);
    }
    ck_assert_uint_ge(fails, 5);
    ck_assert_uint_ge(oks, 1);
    /* --force over a store: kept whole when the new one cannot be written. */
    char *argv0[] = {"cpo", "data", "import", "--quiet", "-o", store, "-m", manifest,
                     "--root", root, NULL};
    ck_assert_msg(run_limited(argv0, -1, &out) == 0, "%s", out);
    free(out);
    size_t n0 = 0, n1 = 0;
    char *before = tu_read_file(store, &n0);
    char *argv[] = {"cpo", "data", "import", "--quiet", "--force", "-o", store, "-m", manifest,
                    "--root", root, NULL};
    ck_assert_int_eq(run_limited(argv, 25000, &out), 1);
    char *after = tu_read_file(store, &n1);
    ck_assert(n0 == n1 && !memcmp(before, after, n0));
    no_tmp(dir, "import --force", 25000);
    free(before);
    free(after);
    free(out);
    tu_rmtree(dir);
    free(store);
    free(dir);
}
END_TEST

/* Every file of `cpo run` failing in turn, at its first byte and past
 * 4 KiB, in this process. */
START_TEST(test_iofail__run_every_file)
{
    fx f;
    fx_init(&f);
    char *dir = tu_path(f.dir, "walk");
    cpo_config *c = NULL;
    cpo_error e;
    ck_assert_msg(cpo_config_load(&c, f.cfg, &e) == 0, "%s", tu_errstr(&e));
    cpo_run_opts o;
    cpo_run_opts_init(&o);
    o.out_dir = dir;
    /* Count the files a run writes. */
    cpo_run_report rep;
    hook_opens = hook_target = 0;
    hook_armed = 1;
    int rc = cpo_run_to_dir(c, &o, &rep, &e);
    hook_armed = 0;
    ck_assert_msg(rc == 0, "%s", tu_errstr(&e));
    size_t n = hook_opens;
    ck_assert_uint_ge(n, 20); /* the run's files, the report's page and chart files */
    tu_rmtree(dir);
    size_t walked = 0;
    for (int pass = 0; pass < 2; pass++) {
        hook_after = pass ? 4096 : 0;
        for (size_t k = 1; k <= n; k++) {
            hook_opens = 0;
            hook_target = k;
            hook_fd = -1;
            hook_name[0] = '\0';
            hook_fired = 0;
            hook_armed = 1;
            cpo_error_clear(&e);
            rc = cpo_run_to_dir(c, &o, &rep, &e);
            hook_armed = 0;
            hook_fd = -1;
            if (rc == 0) {
                /* no write failed: the file was smaller than hook_after, or
                 * a name taken before the bytes come (ledger.h5's) */
                ck_assert_msg(!hook_fired, "file %zu (%s): a write failed, the run did not", k,
                              hook_name);
                tu_rmtree(dir);
                continue;
            }
            ck_assert_msg(hook_fired, "file %zu (%s): %s", k, hook_name, tu_errstr(&e));
            walked++;
            ck_assert_msg(e.msg[0] && (strstr(e.msg, "No space left on device") ||
                                       strstr(e.msg, "cannot write")),
                          "file %zu (%s): %s", k, hook_name, tu_errstr(&e));
            /* HDF5 holds nothing: a failed write left the library whole. */
            ck_assert_int_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
            if (tu_exists(dir)) {
                /* only when the report failed, after the run's renames */
                manifest_consistent(dir, hook_name, (long)k);
                no_tmp(dir, hook_name, (long)k);
                tu_rmtree(dir);
            }
        }
    }
    ck_assert_uint_ge(walked, n); /* most files fail on both passes */
    cpo_config_free(c);
    free(dir);
    fx_fini(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iofail");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_iofail__run);
    tcase_add_test(tc, test_iofail__run_every_file);
    tcase_add_test(tc, test_iofail__sweep);
    tcase_add_test(tc, test_iofail__report_and_compare);
    tcase_add_test(tc, test_iofail__import);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
