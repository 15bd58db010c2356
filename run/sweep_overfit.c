/*
 * sweep_overfit.c - how much a sweep's best point can be trusted: the
 * deflated Sharpe ratio of the point the objective chooses (Bailey & Lopez
 * de Prado 2014), the probability of backtest overfitting of the choice by
 * CSCV over the points' block returns (Bailey, Borwein, Lopez de Prado &
 * Zhu 2015), and combinatorial purged cross-validation (Lopez de Prado
 * 2018, ch. 12) as a walk-forward mode.  The math is quant/stats
 * (cpo/stats.h); here the records of a sweep (cpo/sweep.h) feed it.
 *
 * Every point runs once over the whole period and its record keeps the
 * sums of its returns by block of steps (cpo_sweep_blocks), so a score on
 * any union of blocks is a sum, and the records stay fixed-size bytes that
 * MPI ranks send as they are.  A split's test returns are those of the
 * whole-period run, as in the PBO paper: a point's state at the start of a
 * test group is what the run had built by then.
 */
#include "cpo/sweep.h"

#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

static int ran(const cpo_sweep_result *r)
{
    return r->done && !r->status;
}

int cpo_sweep_overfit_compute(cpo_sweep_overfit *out, double *dsr, const cpo_sweep *sw,
                              const cpo_sweep_result *res, cpo_objective o, cpo_error *err)
{
    size_t n = sw->n_points;
    memset(out, 0, sizeof *out);
    double score;
    int rc = cpo_sweep_choose(res, n, o, &out->chosen, &score, err);
    if (rc)
        return rc;
    double *sr = malloc((n ? n : 1) * sizeof *sr);
    if (!sr)
        return nomem(err);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ran(&res[i]) && isfinite(res[i].sharpe_bar))
            sr[m++] = res[i].sharpe_bar;
    out->n_trials = m;
    out->var_sharpe = m >= 2 ? gsl_stats_variance(sr, 1, m) : NAN;
    free(sr);
    const cpo_sweep_result *c = &res[out->chosen];
    out->n_obs = (double)c->n_steps;
    cpo_stats_dsr_compute(&out->dsr, c->sharpe_bar, out->var_sharpe, (double)m, out->n_obs,
                          c->skew, c->kurtosis);
    out->psr0 = cpo_stats_psr(c->sharpe_bar, 0.0, out->n_obs, c->skew, c->kurtosis);
    if (dsr)
        for (size_t i = 0; i < n; i++)
            dsr[i] = ran(&res[i]) ? cpo_stats_psr(res[i].sharpe_bar, out->dsr.sr0,
                                                  (double)res[i].n_steps, res[i].skew,
                                                  res[i].kurtosis)
                                  : NAN;
    /* PBO: the points that ran, all with the same S blocks. */
    size_t S = sw->cscv_blocks, np = 0;
    int cpcv = sw->has_walkforward && sw->wf.mode == CPO_WF_CPCV;
    for (size_t i = 0; i < n; i++)
        if (ran(&res[i])) {
            if (cpcv || res[i].n_blocks != S) {
                np = 0;
                break;
            }
            np++;
        }
    if (cpcv) {
        snprintf(out->pbo_note, sizeof out->pbo_note,
                 "mode = cpcv: see the splits (cpcv.csv) for the out-of-sample ranks");
        return 0;
    }
    if (np < 2) {
        snprintf(out->pbo_note, sizeof out->pbo_note,
                 np ? "fewer than 2 points ran" : "the period has fewer than %zu bars (2 per "
                                                  "block of [overfit] blocks = %zu)",
                 2 * S, S);
        return 0;
    }
    cpo_stats_block *bl = malloc(np * S * sizeof *bl);
    if (!bl)
        return nomem(err);
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (ran(&res[i]))
            memcpy(&bl[S * j++], res[i].blocks, S * sizeof *bl);
    rc = cpo_stats_cscv(&out->pbo, NULL, bl, np, S, err);
    free(bl);
    out->has_pbo = rc == 0;
    return rc;
}

/* --- CPCV ------------------------------------------------------------------- */

void cpo_cpcv_fini(cpo_cpcv *c)
{
    free(c->splits);
    free(c->paths);
    memset(c, 0, sizeof *c);
}

/* The objective of a stretch as a score (higher is better). */
static double block_score(const cpo_stats_block *b, cpo_objective o, double A)
{
    if (!(b->n >= 2.0))
        return NAN;
    double mean = b->sum / b->n, var = (b->sumsq - b->n * mean * mean) / (b->n - 1.0);
    switch (o) {
    case CPO_OBJ_SHARPE: return var > 0.0 ? mean / sqrt(var) * sqrt(A) : NAN;
    case CPO_OBJ_CAGR: return isfinite(b->sumlog) ? expm1(b->sumlog * A / b->n) : -1.0;
    case CPO_OBJ_TOTAL_RETURN: return isfinite(b->sumlog) ? expm1(b->sumlog) : -1.0;
    case CPO_OBJ_VOLATILITY: return isfinite(var) ? -sqrt(fmax(var, 0.0) * A) : NAN;
    default: return NAN;
    }
}

/* Average rank (1 = lowest; NaN lowest) of v[who] among v[0..n-1]. */
static double avg_rank(const double *v, size_t n, size_t who)
{
    double below = 0.0, same = 0.0;
    int wn = isnan(v[who]);
    for (size_t i = 0; i < n; i++) {
        int in = isnan(v[i]);
        if (wn ? in : (!in && v[i] == v[who]))
            same++;
        else if (wn ? 0 : (in || v[i] < v[who]))
            below++;
    }
    return below + (same + 1.0) / 2.0;
}

int cpo_sweep_cpcv(cpo_cpcv *out, const cpo_sweep *sw, const cpo_sweep_result *res,
                   cpo_error *err)
{
    memset(out, 0, sizeof *out);
    size_t G = sw->wf.groups, K = sw->wf.test_groups, n = sw->n_points;
    size_t ns = (size_t)cpo_stats_binom(G, K), npath = (size_t)cpo_stats_binom(G - 1, K - 1);
    /* Every point that ran has the 3G blocks; the layout is the same for all. */
    size_t first = n;
    for (size_t i = 0; i < n && first == n; i++)
        if (ran(&res[i]))
            first = i;
    if (first == n)
        return cpo_error_set(err, CPO_EDATA, sw->cfg->path, 0, 0,
                             "cpcv: no point ran (expected at least one backtest)");
    if (res[first].n_blocks != 3 * G)
        return cpo_error_set(err, CPO_EDATA, sw->cfg->path, 0, 0,
                             "cpcv: the period has %llu bars for %zu groups (expected at least "
                             "one bar a group)",
                             (unsigned long long)res[first].n_steps, G);
    const cpo_stats_block *b0 = res[first].blocks;
    /* purge and embargo in whole bars, as cpo_sweep_block_layout rounds
     * them (the bar from the record's bars a year). */
    double A = res[first].periods_per_year;
    int64_t bar_ms = A > 0.0 ? (int64_t)llround(365.0 * 86400000.0 / A) : 0;
    double tail = bar_ms > 0 ? (double)((sw->wf.purge_ms + bar_ms - 1) / bar_ms) : 0.0;
    double head = bar_ms > 0 ? (double)((sw->wf.embargo_ms + bar_ms - 1) / bar_ms) : 0.0;
    double shortest = INFINITY;
    for (size_t g = 0; g < G; g++) {
        double len = b0[3 * g].n + b0[3 * g + 1].n + b0[3 * g + 2].n;
        if (len < shortest)
            shortest = len;
    }
    if (head + tail >= shortest) {
        long line = 0;
        for (size_t i = 0; i < sw->cfg->n_keys && !line; i++)
            if (!strcmp(sw->cfg->keys[i].section, "walkforward") &&
                (!strcmp(sw->cfg->keys[i].key, "purge") || !strcmp(sw->cfg->keys[i].key, "embargo")))
                line = sw->cfg->keys[i].line;
        return cpo_error_set(err, CPO_ECONFIG, sw->cfg->path, line, 0,
                             "[walkforward] purge and embargo take %.0f of the %.0f bars of the "
                             "shortest group (expected purge + embargo shorter than a group)",
                             head + tail, shortest);
    }
    out->n_groups = G;
    out->k = K;
    out->n_splits = ns;
    out->n_paths = npath;
    out->n_points = n;
    out->embargo_steps = (size_t)head;
    out->purge_steps = (size_t)tail;
    uint8_t *test = malloc(ns * G);
    int32_t *ps = malloc(npath * G * sizeof *ps);
    double *score = malloc(n * sizeof *score), *oos = malloc(n * sizeof *oos);
    out->splits = calloc(ns, sizeof *out->splits);
    out->paths = calloc(npath, sizeof *out->paths);
    int rc = 0;
    if (!test || !ps || !score || !oos || !out->splits || !out->paths) {
        rc = nomem(err);
        goto cleanup;
    }
    if ((rc = cpo_stats_cpcv(test, ps, G, K, err)))
        goto cleanup;
    size_t below = 0;
    for (size_t s = 0; s < ns; s++) {
        const uint8_t *tg = test + s * G;
        cpo_cpcv_split *sp = &out->splits[s];
        memcpy(sp->test, tg, G);
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            score[i] = oos[i] = NAN;
            if (!ran(&res[i]) || res[i].n_blocks != 3 * G)
                continue;
            cpo_stats_block tr = {0}, te = {0};
            for (size_t g = 0; g < G; g++) {
                const cpo_stats_block *b = &res[i].blocks[3 * g];
                if (tg[g]) {
                    for (int q = 0; q < 3; q++)
                        cpo_stats_block_add(&te, &b[q]);
                    continue;
                }
                if (!(g > 0 && tg[g - 1]))
                    cpo_stats_block_add(&tr, &b[0]);
                cpo_stats_block_add(&tr, &b[1]);
                if (!(g + 1 < G && tg[g + 1]))
                    cpo_stats_block_add(&tr, &b[2]);
            }
            score[i] = block_score(&tr, sw->wf.objective, A);
            oos[i] = block_score(&te, CPO_OBJ_SHARPE, A);
            if (isfinite(score[i]) && (best == n || score[i] > score[best]))
                best = i;
        }
        if (best == n)
            best = first;
        sp->point = best;
        sp->train_score = score[best];
        cpo_stats_block te = {0};
        for (size_t g = 0; g < G; g++)
            if (tg[g])
                for (int q = 0; q < 3; q++)
                    cpo_stats_block_add(&te, &res[best].blocks[3 * g + (size_t)q]);
        sp->test_sharpe = oos[best];
        sp->test_return = block_score(&te, CPO_OBJ_TOTAL_RETURN, A);
        size_t nr = 0;
        for (size_t i = 0; i < n; i++)
            nr += ran(&res[i]) && res[i].n_blocks == 3 * G;
        /* Rank among the points that ran (failed ones are not candidates). */
        double *v = score; /* reuse: the test Sharpes of the candidates */
        size_t m = 0, who = 0;
        for (size_t i = 0; i < n; i++)
            if (ran(&res[i]) && res[i].n_blocks == 3 * G) {
                if (i == best)
                    who = m;
                v[m++] = oos[i];
            }
        sp->oos_rank = avg_rank(v, m, who);
        double w = sp->oos_rank / (double)(nr + 1);
        sp->logit = log(w / (1.0 - w));
        below += sp->logit <= 0.0;
    }
    out->pbo = (double)below / (double)ns;
    double *psr = malloc(npath * sizeof *psr);
    if (!psr) {
        rc = nomem(err);
        goto cleanup;
    }
    size_t mp = 0;
    for (size_t p = 0; p < npath; p++) {
        cpo_cpcv_path *pa = &out->paths[p];
        cpo_stats_block all = {0};
        for (size_t g = 0; g < G; g++) {
            int32_t s = ps[p * G + g];
            pa->split[g] = s;
            for (int q = 0; q < 3; q++)
                cpo_stats_block_add(&all, &res[out->splits[s].point].blocks[3 * g + (size_t)q]);
        }
        pa->sharpe = block_score(&all, CPO_OBJ_SHARPE, A);
        pa->cagr = block_score(&all, CPO_OBJ_CAGR, A);
        pa->total_return = block_score(&all, CPO_OBJ_TOTAL_RETURN, A);
        pa->annual_vol = -block_score(&all, CPO_OBJ_VOLATILITY, A);
        if (isfinite(pa->sharpe))
            psr[mp++] = pa->sharpe;
    }
    out->path_sharpe_mean = mp ? gsl_stats_mean(psr, 1, mp) : NAN;
    out->path_sharpe_sd = mp >= 2 ? gsl_stats_sd(psr, 1, mp) : NAN;
    out->path_sharpe_min = out->path_sharpe_max = NAN;
    for (size_t q = 0; q < mp; q++) {
        if (q == 0 || psr[q] < out->path_sharpe_min)
            out->path_sharpe_min = psr[q];
        if (q == 0 || psr[q] > out->path_sharpe_max)
            out->path_sharpe_max = psr[q];
    }
    free(psr);
cleanup:
    free(test);
    free(ps);
    free(score);
    free(oos);
    if (rc)
        cpo_cpcv_fini(out);
    return rc;
}
