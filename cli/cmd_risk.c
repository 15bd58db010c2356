/*
 * cmd_risk.c - `cpo risk RUN_DIR [--at DATE] [--level P] [--window DUR]
 * [--horizon DUR]`: the risk of a run's book as it stands at a step
 * (cpo/risk.h): VaR and expected shortfall by historical simulation, a
 * normal fitted to it, and filtered historical simulation, with options
 * revalued in full; and the stress scenarios of the run's config's
 * [stress] section (or four standard ones), with their P&L by position and
 * by Greek.
 *
 * The run's config (manifest.json: config.path, as the run was started)
 * gives the market: the same store, universe and grid.  Scenarios are the
 * non-overlapping horizon returns of each coin of the book over the
 * window before the step (a coin's price: its dollar spot, else its
 * perpetual's mark), with the relative change of its volatility index
 * (the [options] dvol.COIN) for the implied vols; a scenario where a price
 * is missing is left out.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cpo/config.h"
#include "cpo/risk.h"
#include "cpo/run.h"
#include "cpo/stats.h"
#include "cpo/time.h"

#define RISK_USAGE                                                                          \
    "cpo risk RUN_DIR [--at DATE] [--level P] [--window DUR] [--horizon DUR]"

typedef struct hist {
    size_t n;       /* scenarios */
    double *ret;    /* [n * n_coins], newest first */
    double *dvol;   /* [n * n_coins] */
    double sigma[CPO_RISK_MAX_COINS]; /* sd of each coin's returns */
} hist;

static const char *base_of(const cpo_instrument *in)
{
    return in->base[0] ? in->base : in->underlying;
}

static int is_dollar(const char *c)
{
    return !strcmp(c, "USD") || !strcmp(c, "USDT") || !strcmp(c, "USDC") || !strcmp(c, "BUSD");
}

/* The price column of a coin: its dollar spot, else any instrument of it. */
static long price_instr(const cpo_market *m, const char *coin)
{
    long best = -1;
    for (size_t i = 0; i < m->n_instr; i++) {
        const cpo_instrument *in = &m->instr[i];
        if (strcmp(base_of(in), coin))
            continue;
        if (in->kind == CPO_KIND_SPOT && is_dollar(in->quote))
            return (long)i;
        if (best < 0)
            best = (long)i;
    }
    return best;
}

static double px_at(const cpo_market *m, long i, long s)
{
    if (i < 0 || s < 0)
        return NAN;
    const double *mc = cpo_market_col(m, CPO_F_MARK, (size_t)i);
    double mk = mc ? mc[s] : NAN;
    double cl = cpo_market_col(m, CPO_F_CLOSE, (size_t)i)[s];
    return isfinite(mk) && mk > 0.0 ? mk : cl;
}

static double iv_at(const cpo_ivindex *iv, int64_t t)
{
    size_t k = cpo_ts_count_upto(iv->ts, iv->n, t);
    return k ? iv->close[k - 1] : NAN;
}

static int build_hist(hist *h, const cpo_risk_book *b, const cpo_config *cfg,
                      const cpo_market *m, int64_t window_ms, int64_t horizon_ms, cpo_error *err)
{
    memset(h, 0, sizeof *h);
    size_t nc = b->n_coins;
    long step = cpo_market_step_at(m, b->ts);
    int64_t k = m->step_ms > 0 ? horizon_ms / m->step_ms : 0;
    if (step < 0 || k < 1)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "the horizon %lld ms is shorter than a bar of %lld ms (expected a "
                             "horizon of whole bars)",
                             (long long)horizon_ms, (long long)m->step_ms);
    size_t want = (size_t)(window_ms / horizon_ms);
    long idx[CPO_RISK_MAX_COINS];
    const cpo_ivindex *iv[CPO_RISK_MAX_COINS];
    for (size_t c = 0; c < nc; c++) {
        idx[c] = price_instr(m, b->coins[c]);
        iv[c] = NULL;
        const cpo_option_spec *o = &cfg->run.options;
        for (size_t u = 0; o->enabled && u < o->n_underlyings; u++)
            if (!strcmp(o->underlying[u], b->coins[c]))
                for (size_t v = 0; v < m->n_iv; v++)
                    if (!strcmp(m->iv[v].name, o->dvol[u]))
                        iv[c] = &m->iv[v];
        if (idx[c] < 0)
            return cpo_error_set(err, CPO_EDATA, cfg->path, 0, 0,
                                 "no instrument of %s in the run's market (expected its price "
                                 "history)",
                                 b->coins[c]);
    }
    h->ret = malloc((want ? want : 1) * (nc ? nc : 1) * sizeof *h->ret);
    h->dvol = malloc((want ? want : 1) * (nc ? nc : 1) * sizeof *h->dvol);
    if (!h->ret || !h->dvol)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t j = 0; j < want; j++) {
        long s1 = step - (long)j * (long)k, s0 = s1 - (long)k;
        if (s0 < 0)
            break;
        int ok = 1;
        for (size_t c = 0; c < nc && ok; c++) {
            double p0 = px_at(m, idx[c], s0), p1 = px_at(m, idx[c], s1);
            ok = isfinite(p0) && isfinite(p1) && p0 > 0.0;
            h->ret[h->n * nc + c] = ok ? p1 / p0 - 1.0 : NAN;
            double d = 0.0;
            if (iv[c]) {
                double v0 = iv_at(iv[c], m->ts[s0]), v1 = iv_at(iv[c], m->ts[s1]);
                d = isfinite(v0) && isfinite(v1) && v0 > 0.0 ? v1 / v0 - 1.0 : 0.0;
            }
            h->dvol[h->n * nc + c] = d;
        }
        if (ok)
            h->n++;
    }
    if (h->n < 10)
        return cpo_error_set(err, CPO_EDATA, cfg->path, 0, 0,
                             "%zu scenarios of history before the step (expected at least 10: "
                             "a longer --window, or a later --at)",
                             h->n);
    double *col = malloc(h->n * sizeof *col);
    if (!col)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t c = 0; c < nc; c++) {
        double sm = 0.0, ss = 0.0;
        for (size_t j = 0; j < h->n; j++)
            sm += h->ret[j * nc + c];
        sm /= (double)h->n;
        for (size_t j = 0; j < h->n; j++)
            ss += pow(h->ret[j * nc + c] - sm, 2);
        h->sigma[c] = sqrt(ss / (double)(h->n - 1));
    }
    free(col);
    return 0;
}

static void hist_free(hist *h)
{
    free(h->ret);
    free(h->dvol);
}

/* The P&L of every scenario; fhs: the returns filtered first. */
static int scenario_pnl(double *pnl, const cpo_risk_book *b, const hist *h, double dt,
                        double lambda, int fhs)
{
    size_t nc = b->n_coins, n = h->n;
    double *r = malloc(n * nc * sizeof *r), *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    if (!r || !x || !y) {
        free(r);
        free(x);
        free(y);
        return CPO_ENOMEM;
    }
    memcpy(r, h->ret, n * nc * sizeof *r);
    if (fhs)
        for (size_t c = 0; c < nc; c++) {
            /* oldest first for the filter */
            for (size_t j = 0; j < n; j++)
                x[j] = h->ret[(n - 1 - j) * nc + c];
            cpo_risk_fhs(y, x, n, lambda);
            for (size_t j = 0; j < n; j++)
                r[(n - 1 - j) * nc + c] = y[j];
        }
    for (size_t j = 0; j < n; j++) {
        cpo_risk_move mv = {r + j * nc, h->dvol + j * nc, dt, 0, 0.0};
        pnl[j] = cpo_risk_revalue(b, &mv, NULL, NULL);
    }
    free(r);
    free(x);
    free(y);
    return 0;
}

static void money(char *buf, size_t n, double x)
{
    snprintf(buf, n, "%.2f", x == 0.0 ? 0.0 : x);
}

static const cpo_cli_opt risk_opts[] = {
    {"at", 0, 'a', "DATE", "the book of the last step at or before DATE (default: the last)"},
    {"level", 0, 'l', "P", "the confidence level, in [0.5, 1) (0.99)"},
    {"window", 0, 'w', "DUR", "the history before the step the scenarios come from (365d)"},
    {"horizon", 0, 'z', "DUR", "the horizon of the losses (1d)"},
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

static int risk_exec(int argc, char **argv)
{
    struct option longopts[CPO_CLI_MAX_OPTS + 1];
    char shorts[3 * CPO_CLI_MAX_OPTS + 1];
    cpo_cli_getopt(risk_opts, longopts, shorts);
    int64_t at = CPO_TIME_NONE, window = 365 * CPO_MS_DAY, horizon = CPO_MS_DAY;
    double level = 0.99;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (cpo_time_parse(optarg, strlen(optarg), &at, NULL, NULL))
                return cpo_cli_usage(RISK_USAGE, "--at \"%s\" is not a date (expected an ISO "
                                                 "date or date-time)",
                                     optarg);
            if (strlen(optarg) == 10)
                at += CPO_MS_DAY - 1; /* a date: its last step */
            break;
        case 'l': {
            char *end;
            level = strtod(optarg, &end);
            if (end == optarg || *end || !(level >= 0.5 && level < 1.0))
                return cpo_cli_usage(RISK_USAGE, "--level \"%s\" is not valid (expected a "
                                                 "confidence level in [0.5, 1), e.g. 0.99)",
                                     optarg);
            break;
        }
        case 'w':
        case 'z': {
            int64_t ms;
            if (cpo_duration_parse(optarg, &ms) || ms <= 0)
                return cpo_cli_usage(RISK_USAGE, "%s \"%s\" is not a duration (expected e.g. "
                                                 "365d, 1d or 8h)",
                                     c == 'w' ? "--window" : "--horizon", optarg);
            *(c == 'w' ? &window : &horizon) = ms;
            break;
        }
        case 'h':
            printf("usage: %s\n\n"
                   "The value at risk and expected shortfall of RUN_DIR's book at its last step\n"
                   "(or the last step at or before --at), over --horizon (1d) at --level (0.99),\n"
                   "from the --window (365d) of history before it: historical, normal, and\n"
                   "filtered historical simulation, options revalued in full with Black-76;\n"
                   "then the stress scenarios of the run's config's [stress] section (or\n"
                   "four standard ones) with their P&L by position and by Greek.  Needs a\n"
                   "run with detail = instrument, and the run's config and store.\n",
                   RISK_USAGE);
            return 0;
        default: return cpo_cli_usage(RISK_USAGE, "bad option");
        }
    }
    if (optind >= argc)
        return cpo_cli_usage(RISK_USAGE, "no run folder (expected cpo risk RUN_DIR)");
    if (optind + 1 < argc)
        return cpo_cli_usage(RISK_USAGE, "more than one run folder (expected one)");
    const char *dir = argv[optind];
    cpo_error err;
    cpo_error_clear(&err);
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t je;
    json_t *man = json_load_file(path, 0, &je);
    if (!man) {
        cpo_error_set(&err, CPO_EIO, path, je.line > 0 ? je.line : 0, 0,
                      "cannot read: %s (expected a run folder written by cpo run)", je.text);
        return cpo_cli_fail(&err);
    }
    const char *cfg_path = json_string_value(json_object_get(json_object_get(man, "config"),
                                                             "path"));
    const json_t *ro = json_object_get(json_object_get(man, "resolved"), "options");
    const char *cpx = json_string_value(json_object_get(ro, "coin_px"));
    int px_index = cpx && !strcmp(cpx, "index");
    double opt_rate = json_is_number(json_object_get(ro, "rate"))
                          ? json_number_value(json_object_get(ro, "rate"))
                          : 0.0;
    cpo_config *cfg = NULL;
    cpo_market *m = NULL;
    cpo_risk_book b;
    memset(&b, 0, sizeof b);
    hist h;
    memset(&h, 0, sizeof h);
    double *pnl = NULL, *byp = NULL;
    cpo_risk_stress *st = NULL;
    size_t n_st = 0;
    int rc = 0;
    if (!cfg_path) {
        rc = cpo_error_set(&err, CPO_EDATA, path, 0, 0,
                           "no config.path (expected a manifest written by cpo run)");
        goto done;
    }
    if ((rc = cpo_config_load(&cfg, cfg_path, &err)) || (rc = cpo_run_market(&m, cfg, &err)) ||
        (rc = cpo_risk_book_load(&b, dir, at, m, px_index, &err)))
        goto done;
    /* The options' interest rate is the run's [options] rate. */
    for (size_t i = 0; i < b.n_opt; i++)
        b.opt[i].rate = opt_rate;
    /* The history: the same market, from a window before the book's step. */
    {
        cpo_market *hm = NULL;
        cfg->market.start_ms = b.ts - window - 2 * horizon;
        cfg->market.end_ms = b.ts;
        if ((rc = cpo_run_market(&hm, cfg, &err)))
            goto done;
        rc = build_hist(&h, &b, cfg, hm, window, horizon, &err);
        cpo_market_free(hm);
        if (rc)
            goto done;
    }
    /* [stress], or the standard four. */
    for (size_t i = 0; i < cfg->n_keys; i++)
        n_st += !strcmp(cfg->keys[i].section, "stress");
    static const char *const dflt[4][2] = {{"crash", "spot -30%, vol +50%"},
                                           {"funding_flip", "funding flip"},
                                           {"correlation_1", "corr 1"},
                                           {"depeg", "depeg -10%"}};
    size_t cap = n_st ? n_st : 4;
    st = calloc(cap, sizeof *st);
    pnl = malloc(h.n * sizeof *pnl);
    size_t np = b.n_lin + b.n_opt + b.n_cash;
    byp = malloc((np ? np : 1) * sizeof *byp);
    if (!st || !pnl || !byp) {
        rc = cpo_error_set(&err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto done;
    }
    if (n_st) {
        size_t k = 0;
        for (size_t i = 0; i < cfg->n_keys; i++) {
            const cpo_config_key *kk = &cfg->keys[i];
            if (strcmp(kk->section, "stress"))
                continue;
            if ((rc = cpo_risk_stress_parse(&st[k], kk->key, kk->value, &err))) {
                char msg[CPO_ERROR_MSG_MAX];
                snprintf(msg, sizeof msg, "%s", err.msg);
                cpo_error_set(&err, rc, cfg->path, kk->line, 0, "%s", msg);
                goto done;
            }
            st[k++].line = kk->line;
        }
    } else {
        for (size_t k = 0; k < 4; k++)
            cpo_risk_stress_parse(&st[k], dflt[k][0], dflt[k][1], &err);
        n_st = 4;
    }

    char a[40], bar[24], win[24];
    cpo_time_format(b.ts, a, sizeof a);
    cpo_duration_format(horizon, bar, sizeof bar);
    cpo_duration_format(window, win, sizeof win);
    printf("cpo risk %s\n", dir);
    printf("  book at       %s: equity %.2f USD; %zu linear, %zu option, %zu cash position%s\n",
           a, b.equity, b.n_lin, b.n_opt, b.n_cash, b.n_cash == 1 ? "" : "s");
    printf("  scenarios     %zu non-overlapping %s moves of", h.n, bar);
    for (size_t k = 0; k < b.n_coins; k++)
        printf(" %s (sd %.2f%%)", b.coins[k], 100.0 * h.sigma[k]);
    printf(" over the %s before it\n\n", win);
    printf("positions\n");
    for (size_t i = 0; i < b.n_lin; i++)
        printf("  %-24s qty %14.6g  exposure %14.2f USD%s\n", b.lin[i].symbol, b.lin[i].qty,
               b.lin[i].exposure, b.lin[i].perp ? "  (perpetual)" : "");
    for (size_t i = 0; i < b.n_opt; i++)
        printf("  %-24s qty %14.6g  vol %.4f  T %.4f y  fwd %.2f\n", b.opt[i].name, b.opt[i].qty,
               b.opt[i].vol, b.opt[i].t_years, b.opt[i].fwd);
    for (size_t i = 0; i < b.n_cash; i++)
        printf("  cash %-19s %14.6g  = %14.2f USD\n", b.cash[i].ccy, b.cash[i].amount,
               b.cash[i].amount * b.cash[i].px);

    double dt = (double)horizon / (365.0 * CPO_MS_DAY);
    double lambda = pow(0.94, (double)horizon / CPO_MS_DAY);
    printf("\nvalue at risk over %s (USD; %% of equity)\n", bar);
    printf("  %-26s %8s %16s %9s %16s %9s\n", "method", "level", "VaR", "%", "ES", "%");
    double levels[2] = {0.95, level};
    size_t nl = level == 0.95 ? 1 : 2;
    for (int meth = 0; meth < 3; meth++) {
        if ((rc = scenario_pnl(pnl, &b, &h, dt, lambda, meth == 2))) {
            rc = cpo_error_set(&err, rc, NULL, 0, 0, "out of memory");
            goto done;
        }
        double mu = 0.0, s2 = 0.0;
        for (size_t j = 0; j < h.n; j++)
            mu += pnl[j] / (double)h.n;
        for (size_t j = 0; j < h.n; j++)
            s2 += (pnl[j] - mu) * (pnl[j] - mu) / (double)(h.n - 1);
        static const char *const names[3] = {"historical", "normal (fitted)",
                                             "filtered historical (FHS)"};
        for (size_t l = 0; l < nl; l++) {
            double var, es;
            if (meth == 1)
                cpo_risk_var_normal(mu, sqrt(s2), levels[l], &var, &es);
            else
                cpo_risk_var_hist(pnl, h.n, levels[l], &var, &es);
            printf("  %-26s %8.3f %16.2f %8.3f%% %16.2f %8.3f%%\n", names[meth], levels[l], var,
                   100.0 * var / b.equity, es, 100.0 * es / b.equity);
        }
    }

    printf("\nstress (USD; P&L by Greek and by position)\n");
    printf("  %-16s %14s", "scenario", "total");
    for (int q = 0; q < CPO_RISK_PARTS; q++)
        printf(" %12s", cpo_risk_part_name(q));
    printf("\n");
    double ret[CPO_RISK_MAX_COINS], dv[CPO_RISK_MAX_COINS];
    for (size_t s = 0; s < n_st; s++) {
        const cpo_risk_stress *x = &st[s];
        double z = -2.3263478740408408; /* Phi^-1(0.01) */
        for (size_t k = 0; k < b.n_coins; k++) {
            ret[k] = x->spot + (x->corr_one ? z * h.sigma[k] : 0.0);
            if (ret[k] < -0.99)
                ret[k] = -0.99;
            dv[k] = x->vol;
        }
        cpo_risk_move mv = {ret, dv, x->days / 365.0, x->funding_flip, x->depeg};
        double parts[CPO_RISK_PARTS];
        double tot = cpo_risk_revalue(&b, &mv, byp, parts);
        printf("  %-16s %14.2f", x->name, tot);
        for (int q = 0; q < CPO_RISK_PARTS; q++) {
            char v[32];
            money(v, sizeof v, parts[q]);
            printf(" %12s", v);
        }
        printf("\n");
        size_t k = 0;
        for (size_t i = 0; i < b.n_lin; i++, k++)
            printf("      %-28s %14.2f\n", b.lin[i].symbol, byp[k]);
        for (size_t i = 0; i < b.n_opt; i++, k++)
            printf("      %-28s %14.2f\n", b.opt[i].name, byp[k]);
        for (size_t i = 0; i < b.n_cash; i++, k++) {
            char nm[40];
            snprintf(nm, sizeof nm, "cash %s", b.cash[i].ccy);
            printf("      %-28s %14.2f\n", nm, byp[k]);
        }
    }
done:
    json_decref(man);
    free(pnl);
    free(byp);
    free(st);
    hist_free(&h);
    cpo_risk_book_fini(&b);
    cpo_market_free(m);
    cpo_config_free(cfg);
    return rc ? cpo_cli_fail(&err) : 0;
}

const cpo_cmd_entry cpo_cmd_risk_entry = {
    "risk", "risk RUN_DIR [--at DATE] [--level P] [--window DUR] [--horizon DUR]",
    "VaR, expected shortfall and stress tests of a run's book (options revalued in full)",
    risk_exec, risk_opts, NULL, CPO_ARGS_DIR, NULL};
