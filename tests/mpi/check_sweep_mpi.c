/* check_sweep_mpi.c - `mpirun -n 2 cpo sweep` writes the same files as
 * `cpo sweep -j 1` (built only with -DCPO_MPI=ON).  Root needs Open MPI's
 * allow-run-as-root variables, set here for the child. */
#define _DEFAULT_SOURCE
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/dataset.h"
#include "cpo/time.h"
#include "testutil.h"

#define T0 INT64_C(1704067200000)

/* Three coins, 90 daily bars of a seeded random walk. */
static char *write_store(const char *dir)
{
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    static const char *const syms[3] = {"AAAUSDT", "BBBUSDT", "CCCUSDT"};
    static const char *const bases[3] = {"AAA", "BBB", "CCC"};
    uint64_t s = 0x2545F4914F6CDD1DULL;
    for (int k = 0; k < 3; k++) {
        cpo_instrument in;
        cpo_instrument_init(&in, syms[k], CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
        snprintf(in.base, sizeof in.base, "%s", bases[k]);
        snprintf(in.quote, sizeof in.quote, "USDT");
        size_t idx;
        ck_assert_int_eq(cpo_dataset_add(ds, &in, &idx, &e), 0);
        cpo_bars *b = &ds->bars[idx];
        b->bar_ms = CPO_MS_DAY;
        double px = 50.0 * (k + 1), prev = px;
        for (int t = 0; t < 90; t++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            double u = (double)(s >> 11) / 9007199254740992.0 - 0.5;
            px *= exp(0.05 * u);
            ck_assert_int_eq(cpo_bars_append(b, T0 + (int64_t)t * CPO_MS_DAY, prev,
                                             fmax(prev, px) * 1.001, fmin(prev, px) * 0.999, px,
                                             1e6, NAN, NAN, NAN, NAN),
                             0);
            prev = px;
        }
    }
    char *p = tu_path(dir, "store.h5");
    ck_assert_msg(cpo_store_write(ds, p, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    return p;
}

static int same_file(const char *a_dir, const char *b_dir, const char *name)
{
    char *a = tu_path(a_dir, name), *b = tu_path(b_dir, name);
    size_t la = 0, lb = 0;
    char *x = tu_read_file(a, &la), *y = tu_read_file(b, &lb);
    ck_assert_msg(x && y, "missing %s or %s", a, b);
    int same = la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    free(a);
    free(b);
    return same;
}

static const char *const mpi_env =
    "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1";

START_TEST(test_mpi__same_leaderboard_as_one_thread)
{
    char *dir = tu_tmpdir();
    free(write_store(dir));
    char *cfg = tu_path(dir, "grid.ini");
    /* 15 points: the ranks get 8 and 7. */
    tu_write_file(cfg, "[backtest]\ndata = store.h5\ncapital = 100000\n"
                       "[costs]\nfee_bps = 10\n"
                       "[strategy]\nschedule = every_n\nweigh = equal\n"
                       "[schedule.every_n]\nn = 10\n"
                       "[sweep]\nschedule.every_n.n = 1, 5, 30\n"
                       "costs.slippage_bps = 0:20:5\n");
    char *d1 = tu_path(dir, "j1"), *dm = tu_path(dir, "mpi");
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s sweep %s -j 1 -o %s --no-plot -q", CPO_BINARY, cfg, d1);
    ck_assert_msg(tu_run(cmd, &out) == 0, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "env %s %s --oversubscribe -n 2 %s sweep %s -j 1 -o %s --no-plot",
             mpi_env, CPO_MPIEXEC, CPO_BINARY, cfg, dm);
    ck_assert_msg(tu_run(cmd, &out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "15 points on 1 thread x 2 ranks") != NULL, "%s", out);
    free(out);
    static const char *const files[] = {"leaderboard.csv", "leaderboard.html", "heatmap.dat",
                                        "heatmap.gp"};
    for (size_t f = 0; f < 4; f++)
        ck_assert_msg(same_file(d1, dm, files[f]), "%s differs between -j 1 and 2 MPI ranks",
                      files[f]);
    /* Two ranks with two threads each: the same again. */
    snprintf(cmd, sizeof cmd,
             "env %s %s --oversubscribe -n 2 %s sweep %s -j 2 -o %s --force --no-plot -q",
             mpi_env, CPO_MPIEXEC, CPO_BINARY, cfg, dm);
    ck_assert_msg(tu_run(cmd, &out) == 0, "%s", out);
    free(out);
    ck_assert(same_file(d1, dm, "leaderboard.csv"));
    /* The folder check is rank 0's, and every rank stops. */
    snprintf(cmd, sizeof cmd, "env %s %s --oversubscribe -n 2 %s sweep %s -o %s -q", mpi_env,
             CPO_MPIEXEC, CPO_BINARY, cfg, dm);
    ck_assert_int_ne(tu_run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "already exists") != NULL, "%s", out);
    free(out);
    free(d1);
    free(dm);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Walk-forward: the training sweeps split across ranks, the same report. */
START_TEST(test_mpi__walkforward)
{
    char *dir = tu_tmpdir();
    free(write_store(dir));
    char *cfg = tu_path(dir, "wf.ini");
    tu_write_file(cfg, "[backtest]\ndata = store.h5\ncapital = 100000\n"
                       "[strategy]\nschedule = every_n\nweigh = equal\n"
                       "[schedule.every_n]\nn = 5\n"
                       "[sweep]\nschedule.every_n.n = 1, 5, 10\n"
                       "[walkforward]\ntrain = 30d\ntest = 15d\nobjective = cagr\n");
    char *d1 = tu_path(dir, "j1"), *dm = tu_path(dir, "mpi");
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s sweep %s -j 1 -o %s -q", CPO_BINARY, cfg, d1);
    ck_assert_msg(tu_run(cmd, &out) == 0, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "env %s %s --oversubscribe -n 2 %s sweep %s -j 1 -o %s -q", mpi_env,
             CPO_MPIEXEC, CPO_BINARY, cfg, dm);
    ck_assert_msg(tu_run(cmd, &out) == 0, "%s", out);
    free(out);
    ck_assert(same_file(d1, dm, "walkforward.csv"));
    ck_assert(same_file(d1, dm, "oos_equity.csv"));
    ck_assert(same_file(d1, dm, "oos_summary.csv"));
    free(d1);
    free(dm);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sweep_mpi");
    TCase *tc = tcase_create("mpi");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mpi__same_leaderboard_as_one_thread);
    tcase_add_test(tc, test_mpi__walkforward);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
