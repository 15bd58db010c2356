/* testutil.c - small helpers shared by the Check suites. */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include "testutil.h"

#include "cpo/config.h"
#include "cpo/run.h"

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpo/dataset.h"
#include "cpo/time.h"

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/cpo-test-XXXXXX", base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    ck_assert_msg(d != NULL, "mkdtemp failed");
    return strdup(d);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void tu_rmtree(const char *dir)
{
    if (dir)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    size_t n = strlen(text);
    ck_assert_uint_eq(fwrite(text, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

const char *tu_errstr(const cpo_error *err)
{
    static char buf[2048];
    cpo_error_format(err, buf, sizeof buf);
    return buf;
}

const char *tu_data(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", CPO_TEST_DATA, name);
    return buf;
}

int tu_run(const char *cmd, char **out)
{
    char full[4096];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return -1;
    size_t cap = 4096, n = 0, r;
    char *buf = malloc(cap + 1);
    while ((r = fread(buf + n, 1, cap - n, p)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    buf[n] = '\0';
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

size_t tu_weekly_snapshots(glob_t *g, const char *dir)
{
    memset(g, 0, sizeof *g);
    if (glob(TU_REAL_DIR "/options/deribit_weekly_snapshots/deribit_options_snapshot_*.csv", 0,
             NULL, g) == 0 && g->gl_pathc)
        return g->gl_pathc;
    globfree(g);
    memset(g, 0, sizeof *g);
    glob_t gz;
    if (glob(CPO_SAMPLE_DIR "/csv/options/deribit_options_snapshot_*.csv.gz", 0, NULL, &gz) != 0)
        return 0;
    for (size_t i = 0; i < gz.gl_pathc; i++) {
        const char *base = strrchr(gz.gl_pathv[i], '/') + 1;
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "gzip -dc '%s' > '%s/%.*s'", gz.gl_pathv[i], dir,
                 (int)(strlen(base) - 3), base);
        ck_assert_int_eq(system(cmd), 0);
    }
    globfree(&gz);
    char pat[1024];
    snprintf(pat, sizeof pat, "%s/deribit_options_snapshot_*.csv", dir);
    if (glob(pat, 0, NULL, g) != 0)
        return 0;
    return g->gl_pathc;
}

int tu_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int tu_file_in(const char *dir, const char *name)
{
    char *p = tu_path(dir, name);
    int r = tu_exists(p);
    free(p);
    return r;
}

size_t tu_count_tmp(const char *dir, char *first, size_t n)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t k = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            k += tu_count_tmp(p, first, n);
            continue;
        }
        /* NAME.tmp, or NAME.tmp.<pid> (cpo's temporary names), or the
         * lock file of a writer (.cpo.lock) */
        size_t len = strlen(de->d_name);
        const char *t = strstr(de->d_name, ".tmp.");
        int pid_tmp = t && t[5] && strspn(t + 5, "0123456789") == strlen(t + 5);
        if ((len >= 4 && !strcmp(de->d_name + len - 4, ".tmp")) || pid_tmp ||
            !strcmp(de->d_name, ".cpo.lock")) {
            if (first[0] == '\0')
                snprintf(first, n, "%s", p);
            k++;
        }
    }
    closedir(d);
    return k;
}

json_t *tu_load_json(const char *dir, const char *name)
{
    char *p = tu_path(dir, name);
    json_error_t je;
    json_t *j = json_load_file(p, 0, &je);
    ck_assert_msg(j != NULL, "%s: %s", p, je.text);
    free(p);
    return j;
}

/*
 * The demo stores (out/demo/, made by scripts/demo.sh), or, if they are
 * not there, the same stores imported here from the bundled sample.  The
 * path of the store goes into *store (caller frees); 0 if none.
 */
/* 1 if the file at p was modified after time t (or cannot be read). */
static int newer_than(const char *p, time_t t)
{
    struct stat st;
    return stat(p, &st) != 0 || st.st_mtime > t;
}

/* 1 if the demo store at store was written after its manifest and every
 * sample file (a store from older manifests or data would test old data). */
static int demo_store_fresh(const char *store, const char *set)
{
    struct stat st;
    if (stat(store, &st) != 0)
        return 0;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s.ini", CPO_SAMPLE_DIR, set);
    if (newer_than(p, st.st_mtime))
        return 0;
    char cmd[2048], *text = NULL;
    snprintf(cmd, sizeof cmd, "find %s/csv -newer %s -print -quit", CPO_SAMPLE_DIR, store);
    int rc = tu_run(cmd, &text);
    int fresh = rc == 0 && text && text[0] == '\0';
    free(text);
    return fresh;
}

int tu_real_store(const char *tmp, const char *set, char **store)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/out/demo/crypto-%s.h5", CPO_SOURCE_DIR, set);
    if (tu_exists(p) && demo_store_fresh(p, set)) {
        *store = strdup(p);
        return 1;
    }
    char cmd[4096], *text = NULL;
    snprintf(cmd, sizeof cmd,
             "set -e; mkdir -p %s/csv; cd %s/csv; "
             "(cd %s/csv && find . -name '*.gz') | while read -r f; do "
             "mkdir -p \"$(dirname \"$f\")\"; gzip -dc \"%s/csv/$f\" > \"${f%%.gz}\"; done; "
             "%s data import --force --quiet -m %s/%s.ini --root %s/csv -o %s/crypto-%s.h5",
             tmp, tmp, CPO_SAMPLE_DIR, CPO_SAMPLE_DIR, CPO_BINARY, CPO_SAMPLE_DIR, set, tmp, tmp,
             set);
    int rc = tu_run(cmd, &text);
    if (rc != 0) {
        fprintf(stderr, "tests: real data skipped: cannot import the sample (%s)\n",
                text ? text : "");
        free(text);
        return 0;
    }
    free(text);
    snprintf(p, sizeof p, "%s/crypto-%s.h5", tmp, set);
    *store = strdup(p);
    return 1;
}

char *tu_run_example(const char *tmp, const char *config, const char *store, cpo_run_report *rep,
                     double *capital)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/configs/%s", CPO_SOURCE_DIR, config);
    cpo_config *c = NULL;
    cpo_error e;
    ck_assert_msg(cpo_config_load(&c, p, &e) == 0, "%s", tu_errstr(&e));
    free(c->data_path);
    c->data_path = strdup(store);
    char *out = tu_path(tmp, config);
    cpo_run_opts o;
    cpo_run_opts_init(&o);
    o.out_dir = out;
    cpo_run_report local;
    ck_assert_msg(cpo_run_to_dir(c, &o, rep ? rep : &local, &e) == 0, "%s", tu_errstr(&e));
    if (capital)
        *capital = c->run.capital;
    cpo_config_free(c);
    return out;
}

/*
 * Two spot coins, 60 daily bars.  AAA closes at 100 + t and BBB at
 * 200 - t on day t; each bar opens at the previous close (100 and 200 on
 * day 0), high/low one above/below, volume 1,000.
 */
cpo_bars *tu_add_spot(cpo_dataset *ds, const char *symbol, const char *base, int64_t bar_ms)
{
    cpo_error e;
    cpo_instrument in;
    cpo_instrument_init(&in, symbol, CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
    snprintf(in.base, sizeof in.base, "%s", base);
    snprintf(in.quote, sizeof in.quote, "USDT");
    size_t idx;
    ck_assert_int_eq(cpo_dataset_add(ds, &in, &idx, &e), 0);
    ds->bars[idx].bar_ms = bar_ms;
    return &ds->bars[idx];
}

char *tu_two_coin_store(const char *dir)
{
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    const char *syms[2] = {"AAAUSDT", "BBBUSDT"}, *bases[2] = {"AAA", "BBB"};
    for (int k = 0; k < 2; k++) {
        cpo_bars *b = tu_add_spot(ds, syms[k], bases[k], CPO_MS_DAY);
        double prev = k == 0 ? 100.0 : 200.0;
        for (int t = 0; t < 60; t++) {
            double c = k == 0 ? 100.0 + t : 200.0 - t;
            ck_assert_int_eq(cpo_bars_append(b, TU_T0 + t * CPO_MS_DAY, prev, fmax(prev, c) + 1,
                                             fmin(prev, c) - 1, c, 1000.0, NAN, NAN, NAN, NAN),
                             0);
            prev = c;
        }
    }
    char *p = tu_path(dir, "store.h5");
    ck_assert_msg(cpo_store_write(ds, p, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    return p;
}
