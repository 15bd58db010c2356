/*
 * cmd_sweep.c - `cpo sweep CONFIG [-j N] [-o DIR] [--objective NAME]
 * [--force]`: every point of the config's [sweep] grid backtested on one
 * market loaded once, a leaderboard (and a heatmap for two keys), or with
 * [walkforward] a walk-forward test (cpo/sweep.h).
 *
 * Built with -DCPO_HAVE_MPI (cmake -DCPO_MPI=ON) and started by mpirun,
 * rank r of K runs the tasks i with i % K == r on its own threads, rank 0
 * gathers the fixed-size records (MPI_Gatherv) and writes the same files
 * as a run on one machine.  Without mpirun the MPI build runs as the
 * plain one (MPI is not even initialised).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef CPO_HAVE_MPI
#include <mpi.h>
#endif

#include "cli.h"
#include "cpo/config.h"
#include "cpo/run.h"
#include "cpo/sweep.h"
#include "cpo/time.h"
#include "outfile.h"

#define SWEEP_USAGE                                                                       \
    "cpo sweep CONFIG [-j N] [-o DIR] [--objective NAME] [--force] [--no-plot] [--quiet]"

/* Where this process stands among the MPI ranks (1 rank without MPI). */
typedef struct ranks {
    int rank, size, local_size, mpi;
} ranks;

static void ranks_init(ranks *r, int *argc, char ***argv)
{
    r->rank = 0;
    r->size = r->local_size = 1;
    r->mpi = 0;
#ifdef CPO_HAVE_MPI
    /* Only under a launcher: a plain `cpo sweep` stays a plain process. */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_SIZE") && !getenv("PMIX_RANK"))
        return;
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return;
    r->mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &r->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &r->size);
    MPI_Comm local;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) ==
        MPI_SUCCESS) {
        MPI_Comm_size(local, &r->local_size);
        MPI_Comm_free(&local);
    }
#else
    (void)argc;
    (void)argv;
#endif
}

static void ranks_fini(ranks *r)
{
#ifdef CPO_HAVE_MPI
    if (r->mpi)
        MPI_Finalize();
#else
    (void)r;
#endif
}

/* Every rank's rc agreed: the worst (most negative) one. */
static int agree(const ranks *r, int rc)
{
#ifdef CPO_HAVE_MPI
    if (r->mpi) {
        int all = rc;
        MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        return all;
    }
#else
    (void)r;
#endif
    return rc;
}

/*
 * Run this rank's share of the tasks and bring every record to rank 0.
 * Rank r holds tasks r, r + K, r + 2K, ...: the k-th of them is the k-th
 * record it sends, so rank 0 puts record k of rank r at r + k * K.
 */
static int run_share(const ranks *rk, const cpo_sweep *sw, const cpo_market *m,
                     const cpo_sweep_task *tasks, size_t n, cpo_sweep_exec *x,
                     cpo_sweep_result *res, cpo_error *err)
{
    x->stride = (size_t)rk->size;
    x->offset = (size_t)rk->rank;
    int rc = cpo_sweep_run_tasks(sw, m, tasks, n, x, res, NULL, err);
#ifdef CPO_HAVE_MPI
    if (!rk->mpi)
        return rc;
    if ((rc = agree(rk, rc)))
        return rc;
    size_t K = (size_t)rk->size, rec = sizeof(cpo_sweep_result);
    size_t mine = n > (size_t)rk->rank ? (n - (size_t)rk->rank + K - 1) / K : 0;
    if (n * rec > (size_t)2147483647)
        return cpo_error_set(err, CPO_ERANGE, NULL, 0, 0,
                             "%zu records are too many for one MPI gather (expected fewer points)",
                             n);
    cpo_sweep_result *send = malloc((mine ? mine : 1) * rec), *recv = NULL;
    int *counts = NULL, *displs = NULL;
    if (rk->rank == 0) {
        recv = malloc((n ? n : 1) * rec);
        counts = malloc(K * sizeof *counts);
        displs = malloc(K * sizeof *displs);
    }
    int ok = send && (rk->rank != 0 || (recv && counts && displs));
    if (agree(rk, ok ? 0 : CPO_ENOMEM)) {
        free(send);
        free(recv);
        free(counts);
        free(displs);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    for (size_t k = 0; k < mine; k++)
        send[k] = res[(size_t)rk->rank + k * K];
    if (rk->rank == 0) {
        size_t off = 0;
        for (size_t r = 0; r < K; r++) {
            size_t c = n > r ? (n - r + K - 1) / K : 0;
            counts[r] = (int)(c * rec);
            displs[r] = (int)(off * rec);
            off += c;
        }
    }
    MPI_Gatherv(send, (int)(mine * rec), MPI_BYTE, recv, counts, displs, MPI_BYTE, 0,
                MPI_COMM_WORLD);
    if (rk->rank == 0) {
        size_t off = 0;
        for (size_t r = 0; r < K; r++) {
            size_t c = n > r ? (n - r + K - 1) / K : 0;
            for (size_t k = 0; k < c; k++)
                res[r + k * K] = recv[off + k];
            off += c;
        }
    }
    free(send);
    free(recv);
    free(counts);
    free(displs);
#endif
    return rc;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void print_values(const cpo_sweep *sw, size_t p, FILE *out)
{
    for (size_t a = 0; a < sw->n_axes; a++)
        fprintf(out, "%s%s=%s", a ? " " : "", sw->axes[a].name, cpo_sweep_value(sw, p, a));
}

/* The failures of a grid: a warning (some) or the error (all). */
static int failures(const cpo_sweep_result *res, size_t n, cpo_error *err)
{
    size_t bad = 0, first = n;
    for (size_t i = 0; i < n; i++)
        if (res[i].status) {
            bad++;
            if (first == n)
                first = i;
        }
    if (bad == n && n)
        return cpo_error_set(err, res[first].status, NULL, 0, 0, "every point failed; point %zu: %s",
                             first, res[first].error);
    if (bad)
        fprintf(stderr, "cpo: warning: %zu of %zu points failed (first: %s)\n", bad, n,
                res[first].error);
    return 0;
}

static int do_grid(const ranks *rk, const cpo_sweep *sw, const cpo_market *m, cpo_sweep_exec *x,
                   const cpo_sweep_out *o, int quiet, cpo_error *err)
{
    size_t n = sw->n_points;
    cpo_sweep_task *tasks = malloc(n * sizeof *tasks);
    cpo_sweep_result *res = calloc(n, sizeof *res);
    size_t *order = malloc(n * sizeof *order);
    int rc = 0;
    if (!tasks || !res || !order) {
        rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        tasks[i].point = i;
        tasks[i].start_ms = tasks[i].end_ms = CPO_TIME_NONE;
    }
    double t0 = mono();
    if ((rc = run_share(rk, sw, m, tasks, n, x, res, err)) || rk->rank != 0)
        goto cleanup;
    double dt = mono() - t0;
    if ((rc = cpo_sweep_write(o, sw, res, err)) ||
        (rc = cpo_sweep_rank(res, n, o->objective, order, err)))
        goto cleanup;
    rc = failures(res, n, err);
    if (quiet)
        goto cleanup;
    printf("sweep    %s: %zu points on %d thread%s", sw->cfg->path, n, x->n_threads,
           x->n_threads == 1 ? "" : "s");
    if (rk->size > 1)
        printf(" x %d ranks", rk->size);
    printf(", %.2f s (%.1f backtests/s)\n", dt, dt > 0 ? (double)n / dt : 0.0);
    printf("best by %s:\n", cpo_objective_name(o->objective));
    for (size_t i = 0; i < n && i < 5; i++) {
        const cpo_sweep_result *r = &res[order[i]];
        if (r->status)
            break;
        printf("  %zu. point %zu  ", i + 1, order[i]);
        print_values(sw, order[i], stdout);
        printf("  sharpe %.3f  cagr %.2f%%  max dd %.2f%%  return %.2f%%\n", r->sharpe,
               r->cagr * 100, r->max_drawdown * 100, r->total_return * 100);
    }
    const cpo_sweep_overfit *ov = o->overfit;
    cpo_error e2;
    int cpcv = sw->has_walkforward && sw->wf.mode == CPO_WF_CPCV;
    if (ov && ov->n_trials > 0) { /* as summary.json has it (cpo_sweep_write) */
        printf("deflated Sharpe ratio %.3f of point %zu (%zu trials; SR0 %.3f a year)\n",
               ov->dsr.dsr, ov->chosen, ov->n_trials,
               ov->dsr.sr0 * sqrt(res[ov->chosen].periods_per_year));
        if (ov->has_pbo)
            printf("probability of backtest overfitting %.3f (CSCV, %zu blocks, %zu splits)\n",
                   ov->pbo.pbo, ov->pbo.n_blocks, ov->pbo.n_splits);
        cpo_cpcv cp;
        if (cpcv && cpo_sweep_cpcv(&cp, sw, res, &e2) == 0) {
            printf("cpcv     %zu splits, %zu paths: path Sharpe mean %.3f (sd %.3f, min %.3f, "
                   "max %.3f); chosen point at or below the median out of sample in %.1f%% of "
                   "splits\n",
                   cp.n_splits, cp.n_paths, cp.path_sharpe_mean, cp.path_sharpe_sd,
                   cp.path_sharpe_min, cp.path_sharpe_max, 100.0 * cp.pbo);
            cpo_cpcv_fini(&cp);
        }
    }
    char png[1100];
    snprintf(png, sizeof png, "%s/heatmap.png", o->dir);
    char best[1100];
    snprintf(best, sizeof best, "%s/best/report.html", o->dir);
    printf("files    %s/leaderboard.csv, leaderboard.html, summary.json%s%s%s%s\n", o->dir,
           cpcv ? ", cpcv.csv, cpcv_paths.csv" : "",
           sw->n_axes == 2 ? ", heatmap.dat, heatmap.gp" : "",
           sw->n_axes == 2 && access(png, F_OK) == 0 ? ", heatmap.png" : "",
           access(best, F_OK) == 0 ? ", best/ (the chosen point's run and report)" : "");
cleanup:
    free(tasks);
    free(res);
    free(order);
    return rc;
}

static int do_walkforward(const ranks *rk, const cpo_sweep *sw, const cpo_market *m,
                          cpo_sweep_exec *x, const cpo_sweep_out *o, int quiet, cpo_error *err)
{
    int64_t start, end;
    cpo_sweep_period(sw, m, &start, &end);
    cpo_wf_window *win = NULL;
    size_t nw = 0, np = sw->n_points;
    cpo_sweep_task *tasks = NULL;
    cpo_sweep_result *res = NULL, oos;
    cpo_wf_outcome *wo = NULL;
    cpo_result **tests = NULL, *chained = NULL;
    int32_t *wos = NULL;
    int rc = cpo_sweep_windows(sw, start, end, &win, &nw, err);
    if (rc)
        return rc;
    if (np * nw > 4 * (size_t)CPO_SWEEP_MAX_POINTS) {
        rc = cpo_error_set(err, CPO_ECONFIG, sw->cfg->path, 0, 0,
                           "[walkforward] %zu windows x %zu points are too many backtests "
                           "(expected at most %u)",
                           nw, np, 4 * CPO_SWEEP_MAX_POINTS);
        goto cleanup;
    }
    size_t nt = np * nw;
    tasks = malloc(nt * sizeof *tasks);
    res = calloc(nt, sizeof *res);
    wo = calloc(nw, sizeof *wo);
    tests = calloc(nw, sizeof *tests);
    if (!tasks || !res || !wo || !tests) {
        rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto cleanup;
    }
    /* Training: every point on every window, one pool. */
    for (size_t w = 0; w < nw; w++)
        for (size_t p = 0; p < np; p++) {
            cpo_sweep_task *t = &tasks[w * np + p];
            t->point = p;
            t->start_ms = win[w].train_start;
            t->end_ms = win[w].train_end - 1;
        }
    x->label = "train";
    if ((rc = run_share(rk, sw, m, tasks, nt, x, res, err)) || rk->rank != 0)
        goto cleanup;
    for (size_t w = 0; w < nw && !rc; w++) {
        wo[w].w = win[w];
        rc = cpo_sweep_choose(&res[w * np], np, sw->wf.objective, &wo[w].point,
                              &wo[w].train_score, err);
        if (rc) {
            char a[32], msg[CPO_ERROR_MSG_MAX];
            cpo_time_format(win[w].train_start, a, sizeof a);
            snprintf(msg, sizeof msg, "%s", err->msg);
            rc = cpo_error_set(err, rc, sw->cfg->path, 0, 0, "walk-forward window %zu (train from %s): %s",
                               w, a, msg);
        }
    }
    if (rc)
        goto cleanup;
    /* Testing: the chosen point of each window, on rank 0. */
    for (size_t w = 0; w < nw; w++) {
        tasks[w].point = wo[w].point;
        tasks[w].start_ms = win[w].test_start;
        tasks[w].end_ms = win[w].test_end - 1;
    }
    cpo_sweep_result *tres = res; /* the training records are no longer needed */
    x->label = "test";
    x->stride = x->offset = 0;
    if ((rc = cpo_sweep_run_tasks(sw, m, tasks, nw, x, tres, tests, err)))
        goto cleanup;
    for (size_t w = 0; w < nw; w++) {
        wo[w].test = tres[w];
        if (tres[w].status) {
            rc = cpo_error_set(err, tres[w].status, NULL, 0, 0, "walk-forward test window %zu: %s",
                               w, tres[w].error);
            goto cleanup;
        }
    }
    if ((rc = cpo_sweep_chain(&chained, tests, nw, sw->cfg->run.capital, &wos, err)))
        goto cleanup;
    memset(&oos, 0, sizeof oos);
    oos.done = 1;
    oos.start_ms = win[0].test_start;
    oos.end_ms = win[nw - 1].test_end - 1;
    if ((rc = cpo_sweep_record(&oos, chained, m->step_ms, err)) ||
        (rc = cpo_sweep_write_walkforward(o, sw, wo, nw, chained, wos, &oos, err)))
        goto cleanup;
    if (quiet)
        goto cleanup;
    printf("walk-forward %s: %zu windows (%s), %zu points each, by %s\n", sw->cfg->path, nw,
           sw->wf.mode == CPO_WF_EXPANDING ? "expanding" : "rolling", np,
           cpo_objective_name(sw->wf.objective));
    for (size_t w = 0; w < nw; w++) {
        char a[32], b[32];
        cpo_time_format_date(win[w].test_start, a, sizeof a);
        cpo_time_format_date(win[w].test_end - 1, b, sizeof b);
        printf("  %3zu  test %s .. %s  point %zu  ", w, a, b, wo[w].point);
        print_values(sw, wo[w].point, stdout);
        printf("  return %.2f%%\n", wo[w].test.total_return * 100);
    }
    printf("out of sample: return %.2f%%  cagr %.2f%%  sharpe %.3f  max dd %.2f%%\n",
           oos.total_return * 100, oos.cagr * 100, oos.sharpe, oos.max_drawdown * 100);
    printf("files    %s/walkforward.csv, oos_equity.csv, oos_summary.csv\n", o->dir);
cleanup:
    if (tests)
        for (size_t w = 0; w < nw; w++)
            cpo_result_free(tests[w]);
    free(tests);
    cpo_result_free(chained);
    free(wos);
    free(win);
    free(tasks);
    free(res);
    free(wo);
    return rc;
}

static const cpo_cli_opt sweep_opts[] = {
    {"jobs", 'j', 'j', "N", "backtest on N threads, and draw best/'s charts with at most N gnuplot processes (default: every core)"},
    {"output", 'o', 'o', "DIR", "write the sweep's files to DIR (default sweeps/<config name>)"},
    {"objective", 0, 'O', "NAME", "rank by NAME: sharpe (default), cagr, total_return, "
                                  "max_drawdown, volatility, calmar or final_equity"},
    {"force", 'f', 'f', NULL, "replace the files of an existing sweep folder"},
    {"no-plot", 0, 'P', NULL, "do not run gnuplot for heatmap.png"},
    {"quiet", 'q', 'q', NULL, "print nothing but errors"},
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

static int sweep_exec(int argc, char **argv)
{
    struct option longopts[CPO_CLI_MAX_OPTS + 1];
    char shorts[3 * CPO_CLI_MAX_OPTS + 1];
    cpo_cli_getopt(sweep_opts, longopts, shorts);
    int c, quiet = 0, jobs = 0, have_obj = 0;
    cpo_objective obj = CPO_OBJ_SHARPE;
    cpo_sweep_out o;
    cpo_sweep_overfit ovf;
    memset(&o, 0, sizeof o);
    memset(&ovf, 0, sizeof ovf);
    o.overfit = &ovf;
    o.plot = 1;
    o.best = 1;
    o.warn = stderr;
    const char *out_dir = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        switch (c) {
        case 'j': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 4096)
                return cpo_cli_usage(SWEEP_USAGE, "-j \"%s\" is not valid (expected a number of "
                                                  "threads in [1, 4096])",
                                     optarg);
            jobs = (int)v;
            break;
        }
        case 'o': out_dir = optarg; break;
        case 'O':
            if (cpo_objective_parse(optarg, &obj))
                return cpo_cli_usage(SWEEP_USAGE, "--objective \"%s\" is not valid (expected one "
                                                  "of: %s)",
                                     optarg, cpo_objective_names());
            have_obj = 1;
            break;
        case 'f': o.force = 1; break;
        case 'P': o.plot = 0; break;
        case 'q': quiet = 1; break;
        case 'h':
            return cpo_cli_help(SWEEP_USAGE,
                                "Backtest every point of the [sweep] grid of CONFIG on one market "
                                "loaded once, on N threads,\nand write DIR: leaderboard.csv and "
                                "leaderboard.html ranked by the objective, for two keys\n"
                                "heatmap.dat, heatmap.gp and heatmap.png (with gnuplot), and best/: "
                                "the chosen point run\nagain, with its report.  summary.json holds "
                                "the deflated Sharpe ratio of the best point\nand the probability "
                                "of backtest overfitting ([overfit] blocks = S, 16).  With a\n"
                                "[walkforward] section: walkforward.csv, oos_equity.csv, "
                                "oos_summary.csv (--objective\noverrides its objective); with mode "
                                "= cpcv: cpcv.csv and cpcv_paths.csv.  The files are\nrenamed "
                                "together once all are whole.  An existing folder is refused unless "
                                "--force; a\nfolder another cpo is writing is refused.",
                                sweep_opts, NULL);
        default: return cpo_cli_usage(SWEEP_USAGE, "bad option");
        }
    }
    if (optind >= argc)
        return cpo_cli_usage(SWEEP_USAGE, "no config (expected cpo sweep CONFIG)");
    if (optind + 1 < argc)
        return cpo_cli_usage(SWEEP_USAGE, "more than one config (expected one)");
    const char *path = argv[optind];

    ranks rk;
    ranks_init(&rk, &argc, &argv);
    cpo_error err;
    cpo_error_clear(&err);
    cpo_config *cfg = NULL;
    cpo_sweep *sw = NULL;
    cpo_market *m = NULL;
    char dir[1024];
    int rc = cpo_config_load(&cfg, path, &err);
    if (!rc)
        rc = cpo_sweep_load(&sw, cfg, &err);
    if (!rc) {
        if (have_obj)
            sw->wf.objective = obj;
        else if (sw->has_walkforward)
            obj = sw->wf.objective;
        o.objective = obj;
        if (out_dir)
            snprintf(dir, sizeof dir, "%s", out_dir);
        else
            snprintf(dir, sizeof dir, "sweeps/%s", cfg->stem);
        o.dir = dir;
    }
    /* Until the folder is made every rank meets the same problems, and
     * rank 0 tells; after that each rank tells its own.  The folder is
     * made once the market loads, so that a bad store leaves none. */
    int agreed = agree(&rk, rc), own = 0, made_dir = 0;
    const volatile sig_atomic_t *cancel = cpo_cli_signals();
    /* One writer per folder (rank 0 writes): a folder that is there is
     * locked before the market loads, a new one once it is made. */
    cpo_dirlock lock;
    cpo_dirlock_init(&lock);
    struct stat st0;
    if (!agreed && rk.rank == 0 && o.force && stat(o.dir, &st0) == 0 && S_ISDIR(st0.st_mode))
        rc = cpo_dirlock_take(&lock, o.dir, &err);
    if (!agreed)
        agreed = agree(&rk, rc);
    if (!agreed)
        agreed = agree(&rk, rc = cpo_run_market(&m, cfg, &err));
    if (!agreed && rk.rank == 0) {
        struct stat st;
        made_dir = stat(o.dir, &st) != 0;
    }
    if (!agreed)
        agreed = agree(&rk, rc = rk.rank == 0 ? cpo_sweep_out_prepare(&o, &err) : 0);
    if (!agreed && rk.rank == 0 && lock.fd < 0)
        rc = cpo_dirlock_take(&lock, o.dir, &err);
    if (!agreed)
        agreed = agree(&rk, rc);
    if (!agreed) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        if (cores < 1)
            cores = 1;
        cpo_sweep_exec x;
        cpo_sweep_exec_init(&x);
        x.n_threads = jobs ? jobs : (int)(cores / rk.local_size > 0 ? cores / rk.local_size : 1);
        o.jobs = x.n_threads; /* best/'s charts: no more cores than the grid */
        x.progress = !quiet && rk.rank == 0 && isatty(2) ? stderr : NULL;
        x.cancel = cancel;
        own = 1;
        int wf = sw->has_walkforward && sw->wf.mode != CPO_WF_CPCV;
        rc = agreed = wf ? do_walkforward(&rk, sw, m, &x, &o, quiet, &err)
                         : do_grid(&rk, sw, m, &x, &o, quiet, &err);
    }
    int status = 0;
    if (agreed) {
        status = 1;
        if (rc && (rk.rank == 0 || own))
            status = cpo_cli_fail_signal(&err);
        else if (rk.rank == 0)
            fprintf(stderr, "cpo: the sweep failed on another MPI rank (see its message)\n");
        /* A folder this sweep made and wrote nothing into goes too. */
        cpo_dirlock_release(&lock);
        if (made_dir && rk.rank == 0)
            rmdir(dir);
    }
    cpo_dirlock_release(&lock);
    cpo_market_free(m);
    cpo_sweep_free(sw);
    cpo_config_free(cfg);
    ranks_fini(&rk);
    return status;
}

const cpo_cmd_entry cpo_cmd_sweep_entry = {
    "sweep", "sweep CONFIG [-j N] [-o DIR] [--objective NAME] [--force]",
    "backtest every point of a parameter grid (or walk forward) on all cores", sweep_exec,
    sweep_opts, NULL, CPO_ARGS_CONFIG, NULL};
