/* testutil.h - small helpers shared by the Check suites. */
#ifndef CPO_TESTUTIL_H
#define CPO_TESTUTIL_H

#include <glob.h>
#include <stddef.h>
#include <stdint.h>

#include "cpo/dataset.h"
#include "cpo/error.h"

/* Make a fresh temporary directory; returns a static-lifetime copy owned by
 * the caller (free it).  Aborts the test on failure. */
char *tu_tmpdir(void);

/* Remove a directory tree made by tu_tmpdir. */
void tu_rmtree(const char *dir);

/* Join dir and name into a new string (caller frees). */
char *tu_path(const char *dir, const char *name);

/* Write text to a file (aborts the test on failure). */
void tu_write_file(const char *path, const char *text);

/* Whether path exists; whether dir/name does. */
int tu_exists(const char *path);
int tu_file_in(const char *dir, const char *name);

/* Files under dir (recursively) whose name ends in ".tmp" or ".tmp.<pid>",
 * and lock files (".cpo.lock"); the path of the first one found goes to
 * first[0..n) if first is still "". */
size_t tu_count_tmp(const char *dir, char *first, size_t n);

/* Read a whole file (caller frees); *len gets its size.  NULL if missing. */
char *tu_read_file(const char *path, size_t *len);

/* dir/name read as JSON (aborts the test when it is not); json_decref it. */
struct json_t;
struct json_t *tu_load_json(const char *dir, const char *name);

/* Format an error as "path:line:col: msg" into a static buffer. */
const char *tu_errstr(const cpo_error *err);

/* The path of a file in tests/data. */
const char *tu_data(const char *name);

/* Run a shell command line with stdout+stderr captured into *out (caller
 * frees); returns the exit status (or -1). */
int tu_run(const char *cmd, char **out);

/* 2024-01-01 00:00 UTC, a Monday (ms). */
#define TU_T0 INT64_C(1704067200000)

/* dir/store.h5 (caller frees the path): two spot coins AAAUSDT and
 * BBBUSDT, 60 daily bars from TU_T0; AAA closes at 100 + t and BBB at
 * 200 - t on day t, each bar opens at the previous close (100 and 200 on
 * day 0), high/low one above/below, volume 1,000. */
char *tu_two_coin_store(const char *dir);

/* A spot instrument SYMBOL (base BASE, quote USDT, linear) added to ds
 * with no bars yet, bars of bar_ms; its bars to append to. */
cpo_bars *tu_add_spot(cpo_dataset *ds, const char *symbol, const char *base, int64_t bar_ms);

/* The real exchange data of the workshop, beside the repository (absent
 * in a user's clone: tests that use it skip). */
#define TU_REAL_DIR CPO_SOURCE_DIR "/../shared/data/real"

/* The Deribit weekly chain snapshots: the real copies, else the bundled
 * .csv.gz unpacked into dir.  Returns how many were found (paths in g;
 * globfree it). */
size_t tu_weekly_snapshots(glob_t *g, const char *dir);

/* The demo store crypto-SET.h5 (out/demo/, made by scripts/demo.sh), or,
 * if it is not there, the same store imported into tmp from the bundled
 * sample.  The path goes into *store (caller frees); 0 if none. */
int tu_real_store(const char *tmp, const char *set, char **store);

/* configs/CONFIG (a file name) on store into tmp/CONFIG, as cpo run makes
 * it (its report too); rep and capital (the config's) may be NULL.
 * Returns the run folder (caller frees). */
struct cpo_run_report;
char *tu_run_example(const char *tmp, const char *config, const char *store,
                     struct cpo_run_report *rep, double *capital);

#endif
