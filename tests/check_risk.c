/*
 * check_risk.c - cpo/risk.h and `cpo risk`: revaluation of a book by hand
 * (linear positions, coin cash, funding and its flip, a depeg, and an
 * at-the-money option against Black-76 values of the methods notes and
 * the closed form F (2 N(sigma sqrt(T) / 2) - 1)), the split by Greek
 * adding up, historical and normal VaR and ES by hand, filtered historical
 * simulation, [stress] parsing with its refusals, and the command on a
 * run of known returns.
 */
#define _DEFAULT_SOURCE
#include <check.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/config.h"
#include "cpo/risk.h"
#include "cpo/run.h"
#include "cpo/time.h"
#include "testutil.h"

/* A book of one linear perp (exposure 1000 USD, funding 1e-4 per 8 h), 2
 * BTC of coin cash at 100, 500 USD of dollar cash, and one short ATM call
 * (F = K = 100, T = 0.5, vol 0.2, r = 0, coin price = index: m = qty). */
static void mk_book(cpo_risk_book *b, cpo_risk_linear *l, cpo_risk_option *o, cpo_risk_cash *c)
{
    memset(b, 0, sizeof *b);
    memset(l, 0, sizeof *l);
    memset(o, 0, sizeof *o);
    memset(c, 0, 2 * sizeof *c);
    snprintf(l->symbol, sizeof l->symbol, "BTCUSDT-PERP");
    snprintf(l->coin, sizeof l->coin, "BTC");
    l->perp = 1;
    l->exposure = 1000.0;
    l->funding = 1e-4;
    snprintf(o->name, sizeof o->name, "BTC-C-100");
    snprintf(o->coin, sizeof o->coin, "BTC");
    o->right = CPO_RIGHT_CALL;
    o->px_index = 1;
    o->qty = -1.0;
    o->strike = 100.0;
    o->t_years = 0.5;
    o->index = o->fwd = 100.0;
    o->vol = 0.2;
    snprintf(c[0].ccy, sizeof c[0].ccy, "USD");
    c[0].amount = 500.0;
    c[0].px = 1.0;
    c[0].dollar = 1;
    snprintf(c[1].ccy, sizeof c[1].ccy, "BTC");
    c[1].amount = 2.0;
    c[1].px = 100.0;
    b->lin = l;
    b->n_lin = 1;
    b->opt = o;
    b->n_opt = 1;
    b->cash = c;
    b->n_cash = 2;
    b->n_coins = 1;
    snprintf(b->coins[0], sizeof b->coins[0], "BTC");
}

/*
 * r = -10 %, no vol change, no time: perp -100, funding 0 (no time), BTC
 * cash 2 x 100 x -0.1 = -20, dollar cash 0.  One day (dt = 1/365) and
 * nothing else: funding -1000 x 1e-4 x 24 / 8 = -0.3 (flipped +0.3).
 * Depeg -10 %: 500 x -0.1 = -50.  The option: F = K = 100, vol 0.2; at T
 * = 0.5 Black is 5.6371977797 (METHODS 2.2, undiscounted); at T = 0.25,
 * 100 (2 N(0.05) - 1) = 3.98776 (N(0.05) = 0.5199388): a short call gains
 * 5.63720 - 3.98776 = 1.64944 when a quarter of a year passes.
 */
START_TEST(test_risk_revalue__by_hand)
{
    cpo_risk_book b;
    cpo_risk_linear l;
    cpo_risk_option o;
    cpo_risk_cash c[2];
    mk_book(&b, &l, &o, c);
    double ret = -0.1, by_pos[4], parts[CPO_RISK_PARTS];
    cpo_risk_move mv = {&ret, NULL, 0.0, 0, 0.0};
    double tot = cpo_risk_revalue(&b, &mv, by_pos, parts);
    ck_assert_double_eq_tol(by_pos[0], -100.0, 1e-12);
    ck_assert_double_eq_tol(by_pos[2], 0.0, 1e-12);
    ck_assert_double_eq_tol(by_pos[3], -20.0, 1e-12);
    double s = 0.0;
    for (int q = 0; q < CPO_RISK_PARTS; q++)
        s += parts[q];
    ck_assert_double_eq_tol(s, tot, 1e-12);
    ck_assert_double_eq_tol(tot, by_pos[0] + by_pos[1] + by_pos[2] + by_pos[3], 1e-12);
    /* A short call gains when F falls. */
    ck_assert(by_pos[1] > 0.0);

    ret = 0.0;
    cpo_risk_move day = {&ret, NULL, 1.0 / 365.0, 0, 0.0};
    cpo_risk_revalue(&b, &day, by_pos, parts);
    ck_assert_double_eq_tol(by_pos[0], -0.3, 1e-12);
    ck_assert_double_eq_tol(parts[CPO_RISK_FUNDING], -0.3, 1e-12);
    day.funding_flip = 1;
    cpo_risk_revalue(&b, &day, by_pos, parts);
    ck_assert_double_eq_tol(by_pos[0], 0.3, 1e-12);
    cpo_risk_move dep = {&ret, NULL, 0.0, 0, -0.1};
    cpo_risk_revalue(&b, &dep, by_pos, parts);
    ck_assert_double_eq_tol(by_pos[2], -50.0, 1e-12);
    ck_assert_double_eq_tol(parts[CPO_RISK_DEPEG], -50.0, 1e-12);

    cpo_risk_move q = {&ret, NULL, 0.25, 0, 0.0};
    cpo_risk_revalue(&b, &q, by_pos, parts);
    ck_assert_double_eq_tol(by_pos[1], 5.6371977797 - 3.98776, 2e-5);
    /* Theta explains most of it; the residual closes the sum. */
    ck_assert(parts[CPO_RISK_THETA] > 0.0);
    s = 0.0;
    for (int k = 0; k < CPO_RISK_PARTS; k++)
        s += parts[k];
    ck_assert_double_eq_tol(s, by_pos[0] + by_pos[1] + by_pos[2] + by_pos[3], 1e-12);
    /* Implied vols up 50 %: the short call loses, mostly vega. */
    double dv = 0.5;
    cpo_risk_move vm = {&ret, &dv, 0.0, 0, 0.0};
    cpo_risk_revalue(&b, &vm, by_pos, parts);
    ck_assert(parts[CPO_RISK_VEGA] < 0.0 && by_pos[1] < 0.0);
}
END_TEST

/*
 * Historical: P&L = -5, -4, ..., 4 (10 values), level 0.9: the 10 %
 * quantile is at h = 9 x 0.1 = 0.9 between -5 and -4: -4.1; VaR 4.1, ES
 * the mean of the P&Ls <= -4.1: 5.  Normal, mu 0, s 1, level 0.99: VaR =
 * 2.326348, ES = phi(2.326348) / 0.01 = 2.665214.
 */
START_TEST(test_risk_var__by_hand)
{
    double p[10] = {4, -5, 3, -4, 2, -3, 1, -2, 0, -1};
    double var, es;
    cpo_risk_var_hist(p, 10, 0.9, &var, &es);
    ck_assert_double_eq_tol(var, 4.1, 1e-12);
    ck_assert_double_eq_tol(es, 5.0, 1e-12);
    cpo_risk_var_normal(0.0, 1.0, 0.99, &var, &es);
    ck_assert_double_eq_tol(var, 2.326348, 1e-6);
    ck_assert_double_eq_tol(es, 2.665214, 1e-6);
    cpo_risk_var_hist(p, 1, 0.9, &var, &es);
    ck_assert(isnan(var) && isnan(es));
}
END_TEST

/*
 * FHS: returns of constant size 0.01 (signs alternating) have a constant
 * EWMA variance 1e-4 from the seed on, so nothing is rescaled.  After a
 * jump to 0.04 the current variance is larger than what the old returns
 * saw: they are scaled up by sigma_now / sigma_t.
 */
START_TEST(test_risk_fhs__scaling)
{
    double r[40], out[40];
    for (int t = 0; t < 40; t++)
        r[t] = t % 2 ? 0.01 : -0.01;
    cpo_risk_fhs(out, r, 40, 0.94);
    for (int t = 0; t < 40; t++)
        ck_assert_double_eq_tol(out[t], r[t], 1e-15);
    r[39] = 0.04;
    cpo_risk_fhs(out, r, 40, 0.94);
    double now = sqrt(0.94 * 1e-4 + 0.06 * 0.0016);
    ck_assert_double_eq_tol(out[0], -0.01 * now / 0.01, 1e-14);
    ck_assert_double_eq_tol(out[39], 0.04 * now / 0.01, 1e-14);
}
END_TEST

START_TEST(test_risk_stress__parse)
{
    cpo_risk_stress s;
    cpo_error e;
    ck_assert_int_eq(cpo_risk_stress_parse(&s, "crash", "spot -30%, vol +50%, days 2", &e), 0);
    ck_assert_double_eq_tol(s.spot, -0.3, 1e-15);
    ck_assert_double_eq_tol(s.vol, 0.5, 1e-15);
    ck_assert_double_eq(s.days, 2.0);
    ck_assert_int_eq(cpo_risk_stress_parse(&s, "x", "funding flip, corr 1, depeg -0.05", &e), 0);
    ck_assert(s.funding_flip && s.corr_one);
    ck_assert_double_eq_tol(s.depeg, -0.05, 1e-15);
    ck_assert_int_eq(cpo_risk_stress_parse(&s, "bad", "spot -30%, moon 2", &e), CPO_ECONFIG);
    ck_assert_str_eq(e.msg, "[stress] bad: \"moon 2\" is not valid (expected spot X%, vol X%, "
                            "funding flip, corr 1, depeg X% or days N, comma-separated)");
    ck_assert_int_eq(cpo_risk_stress_parse(&s, "neg", "spot -150%", &e), CPO_ECONFIG);
    ck_assert_int_eq(cpo_risk_stress_parse(&s, "up", "depeg +5%", &e), CPO_ECONFIG);
}
END_TEST

/* --- the command -------------------------------------------------------------------- */

/* One coin, 60 daily bars: the close moves by a fixed pattern of returns. */
static const double PAT[6] = {0.03, -0.05, 0.02, -0.01, 0.04, -0.02};

static char *write_store(const char *dir)
{
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    cpo_instrument in;
    cpo_instrument_init(&in, "BTCUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
    snprintf(in.base, sizeof in.base, "BTC");
    snprintf(in.quote, sizeof in.quote, "USDT");
    size_t idx;
    ck_assert_int_eq(cpo_dataset_add(ds, &in, &idx, &e), 0);
    cpo_bars *b = &ds->bars[idx];
    b->bar_ms = CPO_MS_DAY;
    double px = 100.0;
    for (int t = 0; t < 60; t++) {
        double c = t ? px * (1.0 + PAT[t % 6]) : px;
        ck_assert_int_eq(cpo_bars_append(b, INT64_C(1704067200000) + t * CPO_MS_DAY, px,
                                         fmax(px, c), fmin(px, c), c, 1000.0, NAN, NAN, NAN, NAN),
                         0);
        px = c;
    }
    char *p = tu_path(dir, "store.h5");
    ck_assert_msg(cpo_store_write(ds, p, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    return p;
}

/*
 * Half the equity in BTC from the first close (fill = close, no costs).
 * `cpo risk` at the last step, 30 days of daily history, level 0.9: the
 * scenarios are the last 30 daily returns, five times the pattern; the
 * P&L of each is exposure x r (dollar cash does not move).  Historical
 * VaR: -(10 % quantile of exposure x r), worked out here from the ledger
 * and the pattern.  The defaults stress the book too.  A folder without a
 * manifest is refused.
 */
START_TEST(test_risk_cli__known_returns)
{
    char *dir = tu_tmpdir();
    free(write_store(dir));
    char *cfg = tu_path(dir, "half.ini");
    tu_write_file(cfg, "[backtest]\ndata = store.h5\ncapital = 100000\ndetail = instrument\n"
                       "[costs]\nfill = close\nfee_bps = 0\nslippage_bps = 0\nlot_rounding = no\n"
                       "[strategy]\nschedule = once\nweigh = fixed\n"
                       "[weigh.fixed]\nweights = BTCUSDT:0.5\n");
    char *run = tu_path(dir, "run");
    cpo_config *c = NULL;
    cpo_error e;
    ck_assert_msg(cpo_config_load(&c, cfg, &e) == 0, "%s", tu_errstr(&e));
    cpo_run_opts o;
    cpo_run_opts_init(&o);
    o.out_dir = run;
    cpo_run_report rep;
    ck_assert_msg(cpo_run_to_dir(c, &o, &rep, &e) == 0, "%s", tu_errstr(&e));
    cpo_config_free(c);
    /* The exposure at the last step, from ledger_instruments.csv. */
    char *li = tu_path(run, "ledger_instruments.csv");
    char *text = tu_read_file(li, NULL);
    char *last = strrchr(text, '\n');
    *last = '\0';
    last = strrchr(text, '\n') + 1;
    double expo = 0.0;
    int field = 0;
    for (char *p = last; p && field < 5; field++) {
        if (field == 4)
            expo = strtod(p, NULL);
        p = strchr(p, ',');
        if (p)
            p++;
    }
    free(text);
    free(li);
    double pnl[30];
    for (int j = 0; j < 30; j++)
        pnl[j] = expo * PAT[(59 - j) % 6];
    double var, es;
    cpo_risk_var_hist(pnl, 30, 0.9, &var, &es);
    char cmd[3000], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s risk %s --window 30d --level 0.9", CPO_BINARY, run);
    ck_assert_msg(tu_run(cmd, &out) == 0, "%s", out);
    char want[200];
    snprintf(want, sizeof want, "historical                    0.900 %16.2f", var);
    ck_assert_msg(strstr(out, want) != NULL, "want \"%s\" in\n%s", want, out);
    ck_assert_ptr_nonnull(strstr(out, "30 non-overlapping 1d moves of BTC"));
    ck_assert_ptr_nonnull(strstr(out, "crash"));
    ck_assert_ptr_nonnull(strstr(out, "depeg"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s risk %s", CPO_BINARY, dir);
    ck_assert_int_eq(tu_run(cmd, &out), 1);
    ck_assert_ptr_nonnull(strstr(out, "manifest.json: cannot read"));
    free(out);
    free(run);
    free(cfg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    gsl_set_error_handler_off();
    Suite *s = suite_create("risk");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_risk_revalue__by_hand);
    tcase_add_test(tc, test_risk_var__by_hand);
    tcase_add_test(tc, test_risk_fhs__scaling);
    tcase_add_test(tc, test_risk_stress__parse);
    tcase_add_test(tc, test_risk_cli__known_returns);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
