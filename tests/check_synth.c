/* check_synth.c - the seeded synthetic market. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/dataset.h"
#include "cpo/synth.h"
#include "cpo/time.h"
#include "testutil.h"

#define H CPO_MS_HOUR
#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00:00Z, a Monday */

static cpo_dataset *gen(const cpo_synth_spec *spec)
{
    cpo_dataset *ds = NULL;
    cpo_error err;
    cpo_error_clear(&err);
    ck_assert_int_eq(cpo_dataset_new(&ds, NULL), 0);
    int rc = cpo_synth_generate(ds, spec, &err);
    ck_assert_msg(rc == 0, "generate failed: %s", tu_errstr(&err));
    return ds;
}

static int same_bytes(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* Every array of two datasets holds the same bytes. */
static void expect_identical(const cpo_dataset *a, const cpo_dataset *b)
{
    ck_assert_uint_eq(a->n_instr, b->n_instr);
    for (size_t i = 0; i < a->n_instr; i++) {
        const cpo_instrument *x = &a->instr[i], *y = &b->instr[i];
        ck_assert_str_eq(x->symbol, y->symbol);
        ck_assert_str_eq(x->exchange, y->exchange);
        ck_assert_int_eq(x->kind, y->kind);
        const cpo_bars *p = &a->bars[i], *q = &b->bars[i];
        ck_assert_uint_eq(p->n, q->n);
        ck_assert(p->bar_ms == q->bar_ms);
        size_t nb = p->n * sizeof(double);
        ck_assert(same_bytes(p->ts, q->ts, p->n * sizeof(int64_t)));
        ck_assert(same_bytes(p->open, q->open, nb));
        ck_assert(same_bytes(p->high, q->high, nb));
        ck_assert(same_bytes(p->low, q->low, nb));
        ck_assert(same_bytes(p->close, q->close, nb));
        ck_assert(same_bytes(p->volume, q->volume, nb));
        ck_assert(same_bytes(p->mark, q->mark, nb));
        ck_assert(same_bytes(p->index, q->index, nb));
        const cpo_funding *f = &a->funding[i], *g = &b->funding[i];
        ck_assert_uint_eq(f->n, g->n);
        size_t nf = f->n * sizeof(double);
        ck_assert(same_bytes(f->ts, g->ts, f->n * sizeof(int64_t)));
        ck_assert(same_bytes(f->rate, g->rate, nf));
        ck_assert(same_bytes(f->mark, g->mark, nf));
        ck_assert(same_bytes(f->index, g->index, nf));
    }
    ck_assert_uint_eq(a->n_chains, b->n_chains);
    for (size_t c = 0; c < a->n_chains; c++) {
        const cpo_chain *x = &a->chains[c], *y = &b->chains[c];
        ck_assert_uint_eq(x->n, y->n);
        size_t n = x->n, nd = n * sizeof(double);
        ck_assert(same_bytes(x->ts, y->ts, n * sizeof(int64_t)));
        ck_assert(same_bytes(x->expiry_ms, y->expiry_ms, n * sizeof(int64_t)));
        ck_assert(same_bytes(x->right, y->right, n));
        ck_assert(same_bytes(x->strike, y->strike, nd));
        ck_assert(same_bytes(x->mark_px, y->mark_px, nd));
        ck_assert(same_bytes(x->bid_px, y->bid_px, nd));
        ck_assert(same_bytes(x->ask_px, y->ask_px, nd));
        ck_assert(same_bytes(x->mark_iv, y->mark_iv, nd));
        ck_assert(same_bytes(x->fwd_px, y->fwd_px, nd));
        ck_assert(same_bytes(x->index_px, y->index_px, nd));
        ck_assert(same_bytes(x->delta, y->delta, nd));
        ck_assert(same_bytes(x->vega, y->vega, nd));
        ck_assert(same_bytes(x->open_interest, y->open_interest, nd));
        ck_assert(same_bytes(x->name, y->name, n * CPO_SYMBOL_MAX));
    }
    ck_assert_uint_eq(a->n_prov, b->n_prov);
    for (size_t p = 0; p < a->n_prov; p++) {
        ck_assert_str_eq(a->prov[p].options, b->prov[p].options);
        ck_assert(a->prov[p].rows_kept == b->prov[p].rows_kept);
        ck_assert(a->prov[p].import_ms == b->prov[p].import_ms);
    }
}

START_TEST(test_spec_defaults)
{
    cpo_synth_spec s;
    memset(&s, 0x5a, sizeof s);
    cpo_synth_spec_init(&s);
    ck_assert(s.seed == 42);
    ck_assert_uint_eq(s.n_assets, 8);
    ck_assert_uint_eq(s.n_steps, 8760);
    ck_assert(s.start_ms == T0);
    ck_assert(s.step_ms == H);
    ck_assert(s.vol_annual == 0.6);
    ck_assert(s.corr == 0.5);
    ck_assert(s.t_dof == 4);
    ck_assert_int_eq(s.perps, 0);
    ck_assert_int_eq(s.options, 0);
    ck_assert_int_eq(s.futures, CPO_SYNTH_FUTURES_NONE);
    ck_assert(s.basis_mean == 0.08 && s.basis_kappa == 6 && s.basis_vol == 0.15);
}
END_TEST

START_TEST(test_deterministic)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_assets = 4;
    s.n_steps = 24 * 20;
    s.perps = 1;
    s.options = 1;
    cpo_dataset *a = gen(&s), *b = gen(&s);
    ck_assert_uint_eq(a->n_instr, 8);
    ck_assert_uint_eq(a->n_chains, 1);
    ck_assert_uint_gt(a->chains[0].n, 0);
    expect_identical(a, b);
    cpo_dataset_free(a);
    cpo_dataset_free(b);
}
END_TEST

START_TEST(test_seeds_differ)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_assets = 2;
    s.n_steps = 100;
    s.perps = 1;
    cpo_dataset *a = gen(&s);
    s.seed = 43;
    cpo_dataset *b = gen(&s);
    s.seed = 42 + (UINT64_C(1) << 32); /* the high bits count too */
    cpo_dataset *c = gen(&s);
    size_t n = 100 * sizeof(double);
    for (size_t i = 0; i < 4; i++) {
        ck_assert(memcmp(a->bars[i].close, b->bars[i].close, n) != 0);
        ck_assert(memcmp(a->bars[i].close, c->bars[i].close, n) != 0);
        ck_assert(memcmp(b->bars[i].close, c->bars[i].close, n) != 0);
    }
    ck_assert(memcmp(a->funding[2].rate, b->funding[2].rate,
                     a->funding[2].n * sizeof(double)) != 0);
    cpo_dataset_free(a);
    cpo_dataset_free(b);
    cpo_dataset_free(c);
}
END_TEST

START_TEST(test_perps_leave_spot_alone)
{
    /* The perp streams are separate: turning perps on keeps the spot bars. */
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_assets = 3;
    s.n_steps = 200;
    cpo_dataset *a = gen(&s);
    s.perps = 1;
    cpo_dataset *b = gen(&s);
    ck_assert_uint_eq(a->n_instr, 3);
    ck_assert_uint_eq(b->n_instr, 6);
    for (size_t i = 0; i < 3; i++)
        ck_assert(memcmp(a->bars[i].close, b->bars[i].close, 200 * sizeof(double)) == 0);
    cpo_dataset_free(a);
    cpo_dataset_free(b);
}
END_TEST

static void check_bars(const cpo_bars *b, const char *sym, size_t n, int64_t start,
                       int64_t step)
{
    ck_assert_uint_eq(b->n, n);
    ck_assert(b->bar_ms == step);
    for (size_t t = 0; t < n; t++) {
        double o = b->open[t], h = b->high[t], l = b->low[t], c = b->close[t];
        ck_assert_msg(b->ts[t] == start + (int64_t)t * step, "%s ts[%zu]", sym, t);
        ck_assert_msg(isfinite(o) && isfinite(h) && isfinite(l) && isfinite(c),
                      "%s bar %zu not finite", sym, t);
        ck_assert_msg(l > 0, "%s bar %zu: low %g <= 0", sym, t, l);
        ck_assert_msg(l <= o && l <= c && o <= h && c <= h,
                      "%s bar %zu: o %.17g h %.17g l %.17g c %.17g", sym, t, o, h, l, c);
        ck_assert_msg(isfinite(b->volume[t]) && b->volume[t] > 0,
                      "%s bar %zu: volume %g", sym, t, b->volume[t]);
    }
}

START_TEST(test_ohlc_invariants)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s); /* 8 assets x 8760 hourly bars, t(4) shocks */
    s.perps = 1;
    cpo_dataset *ds = gen(&s);
    ck_assert_uint_eq(ds->n_instr, 16);
    for (size_t i = 0; i < 8; i++) {
        char sym[32], perp[32], base[16];
        snprintf(base, sizeof base, "SYN%03zu", i);
        snprintf(sym, sizeof sym, "SYN%03zuUSDT", i);
        snprintf(perp, sizeof perp, "SYN%03zuUSDT-PERP", i);
        long si = cpo_dataset_find(ds, sym), pi = cpo_dataset_find(ds, perp);
        ck_assert_int_ge(si, 0);
        ck_assert_int_ge(pi, 0);
        const cpo_instrument *in = &ds->instr[si], *pn = &ds->instr[pi];
        ck_assert_int_eq(in->kind, CPO_KIND_SPOT);
        ck_assert_str_eq(in->exchange, "synthetic");
        ck_assert_str_eq(in->base, base);
        ck_assert_str_eq(in->quote, "USDT");
        ck_assert_int_eq(pn->kind, CPO_KIND_PERP);
        ck_assert_str_eq(pn->underlying, base);
        ck_assert(pn->funding_interval_ms == 8 * H);
        const cpo_bars *sb = &ds->bars[si], *pb = &ds->bars[pi];
        check_bars(sb, sym, 8760, T0, H);
        check_bars(pb, perp, 8760, T0, H);
        for (size_t t = 0; t < 8760; t++) {
            if (t > 0)
                ck_assert_msg(sb->open[t] == sb->close[t - 1], "%s bar %zu gaps", sym, t);
            ck_assert(isnan(sb->mark[t]) && isnan(sb->index[t]));
            ck_assert(pb->index[t] == sb->close[t]);
            ck_assert(isfinite(pb->mark[t]) && pb->mark[t] > 0);
            double basis = pb->close[t] / sb->close[t] - 1.0;
            ck_assert_msg(fabs(basis) <= 0.05 + 1e-12, "%s basis %g", perp, basis);
        }
    }
    cpo_dataset_free(ds);
}
END_TEST

/*
 * Sample statistics of the log returns ln(close/open) of one spec.
 * avg_corr: the mean of the pairwise sample correlations; vol: the square
 * root of the mean sample variance, annualised.
 */
static void return_stats(const cpo_synth_spec *s, double *avg_corr, double *vol)
{
    cpo_dataset *ds = gen(s);
    size_t A = s->n_assets, N = s->n_steps;
    double *r = malloc(A * N * sizeof *r), *mean = calloc(A, sizeof *mean);
    double *sd = calloc(A, sizeof *sd);
    ck_assert(r && mean && sd);
    for (size_t i = 0; i < A; i++) {
        for (size_t t = 0; t < N; t++) {
            r[i * N + t] = log(ds->bars[i].close[t] / ds->bars[i].open[t]);
            mean[i] += r[i * N + t];
        }
        mean[i] /= (double)N;
        for (size_t t = 0; t < N; t++)
            sd[i] += (r[i * N + t] - mean[i]) * (r[i * N + t] - mean[i]);
        sd[i] = sqrt(sd[i] / (double)(N - 1));
    }
    double csum = 0, vsum = 0;
    size_t pairs = 0;
    for (size_t i = 0; i < A; i++) {
        vsum += sd[i] * sd[i];
        for (size_t j = i + 1; j < A; j++) {
            double cov = 0;
            for (size_t t = 0; t < N; t++)
                cov += (r[i * N + t] - mean[i]) * (r[j * N + t] - mean[j]);
            csum += cov / (double)(N - 1) / (sd[i] * sd[j]);
            pairs++;
        }
    }
    *avg_corr = csum / (double)pairs;
    *vol = sqrt(vsum / (double)A * (365.0 * (double)CPO_MS_DAY / (double)s->step_ms));
    free(r);
    free(mean);
    free(sd);
    cpo_dataset_free(ds);
}

/*
 * Tolerances, for n = 8760 hourly returns per asset and 8 assets, with
 * t(6) shocks (finite fourth moment; the default t(4) has none, so the
 * spread of a sample variance is not defined and no tolerance could be
 * justified).  A return is sqrt(rho)*f + sqrt(1-rho)*e with f, e unit
 * t(6) (excess kurtosis 3), so its excess kurtosis is
 * (rho^2 + (1-rho)^2) * 3 = 1.5 at rho = 0.5.
 *  - correlation: under normality sd(r_hat) = (1-rho^2)/sqrt(n) = 0.0080;
 *    the kurtosis inflates the variance by about 1 + 1.5/3, giving
 *    0.0098; the mean over 28 overlapping pairs is no noisier.  A
 *    tolerance of 0.04 is 4 standard errors.  At rho = 0 the pair
 *    estimates have sd 1/sqrt(n) = 0.011 each.
 *  - volatility: the relative sd of a sample sd is
 *    sqrt((kurtosis - 1)/n)/2 = sqrt(3.5/8760)/2 = 0.010 per asset;
 *    pooling 8 assets whose squared returns are positively correlated
 *    still helps (to about 0.0075).  A tolerance of 4% is > 4 standard
 *    errors, and leaving out the t variance scaling (a 22% error at
 *    dof 6) or using a wrong time scale fails it.
 */
START_TEST(test_corr_and_vol)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.t_dof = 6;
    double c, v;
    return_stats(&s, &c, &v);
    ck_assert_msg(fabs(c - 0.5) < 0.04, "mean pairwise correlation %g, expected 0.5", c);
    ck_assert_msg(fabs(v / 0.6 - 1.0) < 0.04, "annualised vol %g, expected 0.6", v);

    s.corr = 0.0;
    s.vol_annual = 1.2;
    s.seed = 7;
    return_stats(&s, &c, &v);
    ck_assert_msg(fabs(c) < 0.04, "mean pairwise correlation %g, expected 0", c);
    ck_assert_msg(fabs(v / 1.2 - 1.0) < 0.04, "annualised vol %g, expected 1.2", v);

    s.corr = 0.8;
    s.vol_annual = 0.3;
    s.step_ms = 4 * H;
    s.n_steps = 8760; /* 4 years of 4h bars */
    return_stats(&s, &c, &v);
    ck_assert_msg(fabs(c - 0.8) < 0.04, "mean pairwise correlation %g, expected 0.8", c);
    ck_assert_msg(fabs(v / 0.3 - 1.0) < 0.04, "annualised vol %g, expected 0.3", v);
}
END_TEST

START_TEST(test_funding_times)
{
    /* Bars from T0+5h (05:00): events fall on the 00/08/16 times in
     * (first bar open, last bar close] = (T0+5h, T0+1005h], i.e. T0+8h,
     * T0+16h, ..., T0+1000h (2024-02-11T16:00): 125 events. */
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_assets = 3;
    s.n_steps = 1000;
    s.start_ms = T0 + 5 * H;
    s.perps = 1;
    cpo_dataset *ds = gen(&s);
    for (size_t i = 0; i < 3; i++) {
        char perp[32], sym[32];
        snprintf(perp, sizeof perp, "SYN%03zuUSDT-PERP", i);
        snprintf(sym, sizeof sym, "SYN%03zuUSDT", i);
        long pi = cpo_dataset_find(ds, perp), si = cpo_dataset_find(ds, sym);
        ck_assert_int_ge(pi, 0);
        const cpo_funding *f = &ds->funding[pi];
        const cpo_bars *pb = &ds->bars[pi];
        ck_assert(f->interval_ms == 8 * H);
        ck_assert_uint_eq(f->n, 125);
        ck_assert(f->ts[0] == T0 + 8 * H);
        ck_assert(f->ts[124] == T0 + 1000 * H); /* 2024-02-11T16:00 */
        ck_assert_uint_eq(ds->funding[si].n, 0);
        double sum = 0;
        for (size_t k = 0; k < f->n; k++) {
            cpo_civil c;
            cpo_time_to_civil(f->ts[k], &c);
            ck_assert_msg(c.hour % 8 == 0 && c.minute == 0 && c.second == 0 && c.ms == 0,
                          "event %zu at %02d:%02d:%02d.%03d", k, c.hour, c.minute,
                          c.second, c.ms);
            if (k > 0)
                ck_assert(f->ts[k] - f->ts[k - 1] == 8 * H);
            /* mark/index of the perp bar that closed at the event */
            size_t j = (size_t)((f->ts[k] - s.start_ms) / H) - 1;
            ck_assert(pb->ts[j] + H == f->ts[k]);
            ck_assert(f->mark[k] == pb->mark[j]);
            ck_assert(f->index[k] == pb->index[j]);
            ck_assert(isfinite(f->rate[k]) && fabs(f->rate[k]) < 0.01);
            sum += f->rate[k];
        }
        /* AR(1) around 1e-4 (phi 0.8, stationary sd 1e-4): the sd of the
         * mean of 125 is 1e-4 * sqrt(1.8/0.2) / sqrt(125) = 2.7e-5. */
        ck_assert_msg(fabs(sum / (double)f->n - 1e-4) < 1e-4, "mean rate %g",
                      sum / (double)f->n);
    }
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_options_chain)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_assets = 2;
    s.n_steps = 24 * 30; /* 30 days from Monday 2024-01-01 */
    s.options = 1;
    cpo_dataset *ds = gen(&s);
    ck_assert_uint_eq(ds->n_chains, 1);
    const cpo_chain *ch = &ds->chains[0];
    const cpo_bars *spot = &ds->bars[cpo_dataset_find(ds, "SYN000USDT")];
    ck_assert_str_eq(ch->underlying, "SYN000");
    /* 30 snapshots x 13 expiries x 21 strikes x 2 rights. */
    ck_assert_uint_eq(ch->n, 30 * 13 * 21 * 2);
    size_t pairs = 0;
    for (size_t r = 0; r < ch->n; r++) {
        cpo_civil c;
        cpo_time_to_civil(ch->ts[r], &c);
        ck_assert(c.hour == 8 && c.minute == 0 && c.second == 0);
        if (r > 0) { /* sorted by (ts, name) */
            ck_assert(ch->ts[r] >= ch->ts[r - 1]);
            if (ch->ts[r] == ch->ts[r - 1])
                ck_assert_msg(strcmp(ch->name[r - 1], ch->name[r]) < 0, "%s !< %s",
                              ch->name[r - 1], ch->name[r]);
        }
        /* Expiry: a Friday 08:00, after the snapshot, within 13 weeks. */
        int64_t day = ch->expiry_ms[r] / CPO_MS_DAY;
        ck_assert(ch->expiry_ms[r] % CPO_MS_DAY == 8 * H);
        ck_assert_int_eq((int)(day % 7), 1); /* 1970-01-02 was a Friday */
        ck_assert(ch->expiry_ms[r] > ch->ts[r]);
        ck_assert(ch->expiry_ms[r] - ch->ts[r] <= 13 * CPO_MS_WEEK);
        ck_assert(ch->strike[r] > 0);
        ck_assert(ch->mark_px[r] >= 0 && isfinite(ch->mark_px[r]));
        ck_assert(ch->mark_iv[r] >= 0.05 && ch->mark_iv[r] < 3);
        /* index = the spot price at the snapshot: the open of its bar */
        size_t j = (size_t)((ch->ts[r] - s.start_ms) / H);
        ck_assert(ch->index_px[r] == spot->open[j]);
        ck_assert(ch->fwd_px[r] > ch->index_px[r]); /* positive carry */
        if (ch->right[r] == CPO_RIGHT_CALL) {
            ck_assert(ch->delta[r] >= 0 && ch->delta[r] <= 1);
            /* The put of the same series follows its call. */
            ck_assert_uint_lt(r + 1, ch->n);
            size_t p = r + 1;
            ck_assert_int_eq(ch->right[p], CPO_RIGHT_PUT);
            ck_assert(ch->ts[p] == ch->ts[r] && ch->expiry_ms[p] == ch->expiry_ms[r] &&
                      ch->strike[p] == ch->strike[r]);
            ck_assert(ch->mark_iv[p] == ch->mark_iv[r]);
            ck_assert(fabs(ch->delta[r] - ch->delta[p] - 1.0) < 1e-15);
            /* Put-call parity in USD with zero rates: C - P = F - K. */
            double lhs = (ch->mark_px[r] - ch->mark_px[p]) * ch->index_px[r];
            double rhs = ch->fwd_px[r] - ch->strike[r];
            double e = fabs(lhs - rhs);
            ck_assert_msg(e <= 1e-10, "%s: C-P = %.17g, F-K = %.17g", ch->name[r], lhs, rhs);
            pairs++;
        } else {
            ck_assert_int_eq(ch->right[r], CPO_RIGHT_PUT);
            ck_assert(ch->delta[r] >= -1 && ch->delta[r] <= 0);
        }
    }
    ck_assert_uint_eq(pairs, ch->n / 2);
    /* The first snapshot (Mon 2024-01-01 08:00) first expires Fri 5 Jan. */
    ck_assert(ch->ts[0] == T0 + 8 * H);
    ck_assert_msg(strncmp(ch->name[0], "SYN000-", 7) == 0, "%s", ch->name[0]);
    int found = 0;
    for (size_t r = 0; r < 546; r++)
        if (ch->expiry_ms[r] == T0 + 4 * CPO_MS_DAY + 8 * H) {
            char want[64];
            snprintf(want, sizeof want, "SYN000-5JAN24-%.0f-%c", ch->strike[r],
                     ch->right[r] == CPO_RIGHT_CALL ? 'C' : 'P');
            ck_assert_str_eq(ch->name[r], want);
            found++;
        }
    ck_assert_int_eq(found, 42);
    /* The smile (skew -0.1, curvature 0.4 in log-moneyness): at the first
     * snapshot and expiry the lowest strike (k near -0.25) has a higher
     * vol than the highest (k near +0.22). */
    double lo_k = INFINITY, hi_k = 0, lo_iv = 0, hi_iv = 0;
    for (size_t r = 0; r < 546; r++)
        if (ch->expiry_ms[r] == T0 + 4 * CPO_MS_DAY + 8 * H) {
            if (ch->strike[r] < lo_k)
                lo_k = ch->strike[r], lo_iv = ch->mark_iv[r];
            if (ch->strike[r] > hi_k)
                hi_k = ch->strike[r], hi_iv = ch->mark_iv[r];
        }
    ck_assert_msg(lo_iv > hi_iv + 0.03, "iv %g at %g, %g at %g", lo_iv, lo_k, hi_iv, hi_k);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_provenance)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_steps = 10;
    cpo_dataset *ds = gen(&s);
    ck_assert_uint_eq(ds->n_prov, 1);
    const cpo_provenance *p = &ds->prov[0];
    ck_assert_str_eq(p->format, "synthetic");
    ck_assert_str_eq(p->target, "SYN000USDT..SYN007USDT");
    ck_assert_str_eq(p->options, "seed=42 assets=8 steps=10 start=2024-01-01T00:00:00Z "
                                 "step=1h vol=0.6 corr=0.5 dof=4 perps=0 options=0");
    ck_assert(p->rows_kept == 80 && p->rows_read == 80);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_bad_spec)
{
    cpo_dataset *ds = NULL;
    cpo_error err;
    ck_assert_int_eq(cpo_dataset_new(&ds, NULL), 0);
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.corr = 1.5;
    ck_assert_int_eq(cpo_synth_generate(ds, &s, &err), CPO_EINVAL);
    ck_assert_str_eq(err.msg, "corr 1.5 (expected 0 <= corr <= 1)");
    cpo_synth_spec_init(&s);
    s.t_dof = 2;
    ck_assert_int_eq(cpo_synth_generate(ds, &s, &err), CPO_EINVAL);
    ck_assert_str_eq(err.msg, "t_dof 2 (expected a finite value > 2, so that returns "
                              "have a variance)");
    cpo_synth_spec_init(&s);
    s.n_assets = 0;
    ck_assert_int_eq(cpo_synth_generate(ds, &s, &err), CPO_EINVAL);
    ck_assert_uint_eq(ds->n_instr, 0);
    /* Generating into a dataset that already holds the symbols is refused. */
    cpo_synth_spec_init(&s);
    s.n_assets = 1;
    s.n_steps = 5;
    ck_assert_int_eq(cpo_synth_generate(ds, &s, &err), 0);
    ck_assert_int_eq(cpo_synth_generate(ds, &s, &err), CPO_EEXIST);
    ck_assert_str_eq(err.msg, "SYN000USDT already has data in the dataset (expected an "
                              "empty dataset or new symbols)");
    cpo_dataset_free(ds);
    /* futures: the variant and the basis model's parameters */
    ds = NULL;
    ck_assert_int_eq(cpo_dataset_new(&ds, NULL), 0);
    cpo_synth_spec_init(&s);
    s.futures = 5;
    ck_assert_int_eq(cpo_synth_generate(ds, &s, &err), CPO_EINVAL);
    ck_assert_str_eq(err.msg, "futures 5 (expected CPO_SYNTH_FUTURES_NONE, _LINEAR, _INVERSE or "
                              "_BOTH)");
    cpo_synth_spec_init(&s);
    s.futures = CPO_SYNTH_FUTURES_LINEAR;
    s.basis_kappa = 0;
    ck_assert_int_eq(cpo_synth_generate(ds, &s, &err), CPO_EINVAL);
    ck_assert_str_eq(err.msg, "basis mean 0.08, kappa 0, vol 0.15 (expected a mean in [-1, 1] a "
                              "year, kappa in (0, 1000] and vol in [0, 10])");
    ck_assert_uint_eq(ds->n_instr, 0);
    cpo_dataset_free(ds);
}
END_TEST

/* --- futures ------------------------------------------------------------------ */

static const cpo_bars *bars_of(const cpo_dataset *ds, const char *sym)
{
    long i = cpo_dataset_find(ds, sym);
    ck_assert_msg(i >= 0, "%s not in the dataset", sym);
    return &ds->bars[i];
}

/* The contracts of a year of hourly bars from 2024-01-01: the quarterly
 * expiries (last Fridays of the quarters' last months, 08:00 UTC, from the
 * calendar) 2024-03-29, 06-28, 09-27, 12-27, 2025-03-28, 06-27, each
 * trading from the expiry two before it (the first two from the start)
 * up to the bar that ends at its expiry. */
START_TEST(test_futures_contracts)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_assets = 2;
    s.futures = CPO_SYNTH_FUTURES_BOTH;
    cpo_dataset *ds = gen(&s);
    ck_assert_uint_eq(ds->n_instr, 2 + 2 * 2 * 6);
    static const struct {
        const char *date, *expiry, *first;
        size_t n; /* (end - first) / 1h, end = expiry or the last bar's close */
    } c[] = {
        {"240329", "2024-03-29T08:00:00Z", "2024-01-01T00:00:00Z", 88 * 24 + 8},
        {"240628", "2024-06-28T08:00:00Z", "2024-01-01T00:00:00Z", 179 * 24 + 8},
        {"240927", "2024-09-27T08:00:00Z", "2024-03-29T08:00:00Z", 182 * 24},
        {"241227", "2024-12-27T08:00:00Z", "2024-06-28T08:00:00Z", 182 * 24},
        {"250328", "2025-03-28T08:00:00Z", "2024-09-27T08:00:00Z", 94 * 24 + 16},
        {"250627", "2025-06-27T08:00:00Z", "2024-12-27T08:00:00Z", 3 * 24 + 16},
    };
    for (size_t a = 0; a < 2; a++)
        for (int inv = 0; inv < 2; inv++)
            for (size_t k = 0; k < 6; k++) {
                char sym[32];
                snprintf(sym, sizeof sym, "SYN%03zu%s_%s", a, inv ? "USD" : "USDT", c[k].date);
                long i = cpo_dataset_find(ds, sym);
                ck_assert_msg(i >= 0, "%s missing", sym);
                const cpo_instrument *in = &ds->instr[i];
                int64_t e, f;
                ck_assert_int_eq(cpo_time_parse(c[k].expiry, strlen(c[k].expiry), &e, NULL, NULL), 0);
                ck_assert_int_eq(cpo_time_parse(c[k].first, strlen(c[k].first), &f, NULL, NULL), 0);
                ck_assert_int_eq(in->kind, CPO_KIND_FUTURE);
                ck_assert_int_eq(in->settle, inv ? CPO_SETTLE_INVERSE : CPO_SETTLE_LINEAR);
                ck_assert_int_eq(in->expiry_ms, e);
                /* Binance: USD-M 1 coin; COIN-M 100 USD for BTC (asset 0), 10 USD else */
                ck_assert(in->contract_size == (!inv ? 1.0 : a == 0 ? 100.0 : 10.0));
                ck_assert_str_eq(in->quote, inv ? "USD" : "USDT");
                ck_assert_str_eq(in->underlying, a ? "SYN001" : "SYN000");
                const cpo_bars *b = &ds->bars[i];
                ck_assert_msg(b->n == c[k].n, "%s: %zu bars", sym, b->n);
                ck_assert_int_eq(b->bar_ms, H);
                ck_assert_int_eq(b->ts[0], f);
                for (size_t t = 1; t < b->n; t++)
                    ck_assert_int_eq(b->ts[t] - b->ts[t - 1], H);
                ck_assert(b->ts[b->n - 1] + H <= e);
                for (size_t t = 0; t < b->n; t++) {
                    ck_assert(b->low[t] > 0 && b->low[t] <= fmin(b->open[t], b->close[t]));
                    ck_assert(b->high[t] >= fmax(b->open[t], b->close[t]));
                    ck_assert(b->mark[t] == b->close[t]);
                }
            }
    /* the last bar of a contract whose expiry is on the grid ends at the
     * expiry, where the basis is gone: its close is the spot's, exactly */
    const cpo_bars *f = bars_of(ds, "SYN000USDT_240329"), *sp = bars_of(ds, "SYN000USDT");
    size_t j = f->n - 1; /* the spot bar of the same time: the spot starts at T0 too */
    ck_assert_int_eq(sp->ts[j], f->ts[j]);
    ck_assert(f->close[j] == sp->close[j]);
    ck_assert(f->index[j] == sp->close[j]);
    ck_assert(f->volume[j] == 0.5 * sp->volume[j]);
    cpo_dataset_free(ds);
}
END_TEST

/*
 * The basis model, read back from the bars: b = ln(F / S) / T at every bar
 * boundary (T in 365-day years) follows the OU recursion of synth.c,
 * b' = mean + (b - mean) e^(-kappa dt) + sd z with sd = vol sqrt((1 -
 * e^(-2 kappa dt)) / (2 kappa)), from b = mean at the first bar; so the z
 * recovered are standard normal draws: over the 4,304 bars of the June
 * 2024 contract (boundaries at least a day before expiry) their mean is
 * within 0.05 (3.3 standard errors of 1/sqrt(4300)) of 0 and their
 * variance within 0.1 (4.6 standard errors of sqrt(2/4300)) of 1.  A bar's
 * open and the previous bar's close give the same basis.
 */
START_TEST(test_futures_basis_model)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_assets = 1;
    s.futures = CPO_SYNTH_FUTURES_LINEAR;
    cpo_dataset *ds = gen(&s);
    const cpo_bars *f = bars_of(ds, "SYN000USDT_240628"), *sp = bars_of(ds, "SYN000USDT");
    const int64_t e = ds->instr[cpo_dataset_find(ds, "SYN000USDT_240628")].expiry_ms;
    const double year = 365.0 * (double)CPO_MS_DAY, dt = (double)H / year;
    const double decay = exp(-s.basis_kappa * dt);
    const double sd = s.basis_vol * sqrt((1 - exp(-2 * s.basis_kappa * dt)) / (2 * s.basis_kappa));
    ck_assert_double_eq_tol(log(f->open[0] / sp->open[0]) / ((double)(e - f->ts[0]) / year),
                            s.basis_mean, 1e-9);
    double sum = 0, sum2 = 0;
    size_t m = 0;
    for (size_t t = 0; t + 1 < f->n; t++) {
        double T0b = (double)(e - f->ts[t]) / year, T1b = (double)(e - f->ts[t] - H) / year;
        if (T1b < 1.0 / 365)
            break;
        double b0 = log(f->open[t] / sp->open[t]) / T0b;
        double b1 = log(f->close[t] / sp->close[t]) / T1b;
        double b1n = log(f->open[t + 1] / sp->open[t + 1]) / T1b;
        ck_assert_double_eq_tol(b1, b1n, 1e-9);
        double z = (b1 - s.basis_mean - (b0 - s.basis_mean) * decay) / sd;
        sum += z;
        sum2 += z * z;
        m++;
    }
    ck_assert_uint_gt(m, 4000);
    double mean = sum / (double)m, var = sum2 / (double)m - mean * mean;
    ck_assert_msg(fabs(mean) < 0.05, "mean of z %g", mean);
    ck_assert_msg(fabs(var - 1) < 0.1, "variance of z %g", var);
    cpo_dataset_free(ds);
}
END_TEST

/* Futures have their own streams: the spot and perps stay as they were,
 * and the linear futures do not change when the inverse ones are added. */
START_TEST(test_futures_leave_the_rest_alone)
{
    cpo_synth_spec s;
    cpo_synth_spec_init(&s);
    s.n_assets = 2;
    s.n_steps = 500;
    s.perps = 1;
    cpo_dataset *a = gen(&s);
    s.futures = CPO_SYNTH_FUTURES_LINEAR;
    cpo_dataset *b = gen(&s);
    s.futures = CPO_SYNTH_FUTURES_BOTH;
    cpo_dataset *c = gen(&s);
    ck_assert_uint_eq(a->n_instr, 4);
    ck_assert_uint_eq(b->n_instr, 4 + 2 * 2); /* 240329 and 240628 within 500 h */
    ck_assert_uint_eq(c->n_instr, 4 + 2 * 2 * 2);
    for (size_t i = 0; i < 4; i++) {
        ck_assert(memcmp(a->bars[i].close, b->bars[i].close, 500 * sizeof(double)) == 0);
        ck_assert(memcmp(a->bars[i].close, c->bars[i].close, 500 * sizeof(double)) == 0);
    }
    ck_assert(memcmp(a->funding[2].rate, c->funding[2].rate, a->funding[2].n * sizeof(double)) == 0);
    const cpo_bars *x = bars_of(b, "SYN001USDT_240628"), *y = bars_of(c, "SYN001USDT_240628");
    ck_assert_uint_eq(x->n, 500);
    ck_assert(memcmp(x->close, y->close, 500 * sizeof(double)) == 0);
    /* the inverse ones follow another path of the basis */
    ck_assert(memcmp(x->close, bars_of(c, "SYN001USD_240628")->close, 500 * sizeof(double)) != 0);
    const cpo_provenance *p = &c->prov[0];
    ck_assert_str_eq(p->options, "seed=42 assets=2 steps=500 start=2024-01-01T00:00:00Z step=1h "
                                 "vol=0.6 corr=0.5 dof=4 perps=1 options=0 futures=both basis=0.08 "
                                 "basis_kappa=6 basis_vol=0.15");
    cpo_dataset *d = gen(&s);
    expect_identical(c, d);
    cpo_dataset_free(a);
    cpo_dataset_free(b);
    cpo_dataset_free(c);
    cpo_dataset_free(d);
}
END_TEST

static Suite *synth_suite(void)
{
    Suite *s = suite_create("synth");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_spec_defaults);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_seeds_differ);
    tcase_add_test(tc, test_perps_leave_spot_alone);
    tcase_add_test(tc, test_ohlc_invariants);
    tcase_add_test(tc, test_corr_and_vol);
    tcase_add_test(tc, test_funding_times);
    tcase_add_test(tc, test_options_chain);
    tcase_add_test(tc, test_provenance);
    tcase_add_test(tc, test_bad_spec);
    tcase_add_test(tc, test_futures_contracts);
    tcase_add_test(tc, test_futures_basis_model);
    tcase_add_test(tc, test_futures_leave_the_rest_alone);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(synth_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
