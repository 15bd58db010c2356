/*
 * check_margin.c - the exchanges' margin formulas (quant/margin/margin.c,
 * cpo/margin.h) against the worked examples of their pages.
 *
 * Sources of the expected numbers (the pages are named in cpo/margin.h):
 *   [B1] Binance USDⓈ-M liquidation-price FAQ: the maintenance amount
 *        250,000 x (1% - 0.5%) + 50 = 1,300; 264,000 USDT is in the 1 %
 *        bracket; the cross-margin example (wallet 1,535,443.01, BTCUSDT
 *        long 109.488 at 32,481.98 marked 31,967.27, ETHUSDT long 3,683.979
 *        at 1,456.84 marked 1,335.18) with "Maintenance Margin of BTCUSDT =
 *        71200.81144 (3500032.458 * 2.50% - 16300)", ETHUSDT 356,512.508,
 *        and liquidation prices 26,316.89 (BTCUSDT) and 1,153.26 (ETHUSDT)
 *        as Binance's calculator gives them (the page shows them as an
 *        image; the values are those re-implementations of the page test
 *        against).  The bracket tables are the 2021 ones that example uses.
 *   [B2] Binance COIN-M FAQ: 100 BTCUSD contracts (100 USD each) marked at
 *        25,000 are 0.4 BTC, in bracket 1 (0.4 %): MM 0.0016 BTC; a 300 BTC
 *        position: MMR 12.5 %, maintenance amount 11.605 BTC; and Binance's
 *        calculator on the thread dev.binance.vision/t/6292: wallet 101
 *        BTC, long 100,000 contracts at 45,000 -> liquidation 33,599.40.
 *   [D1] Deribit standard margin of short options; the numbers of a
 *        third-party port of Deribit's model (underlying 10,000, option
 *        mark 0.025 BTC at the money: call IM 0.175, MM 0.1; put MM 0.1),
 *        and hand calculations with the formula shown beside them.
 *   [D2] Deribit "Linear Perpetual" table: 25 BTC at IM 2% + 25 x 0.005%
 *        = 2.125 % -> 0.53125 BTC, MM 1.125 % -> 0.28125 BTC; 350 BTC ->
 *        3.75 % -> 13.125 BTC.
 *   [D3] Portfolio margin: hand calculations of the scenario grid.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/black76.h"
#include "cpo/margin.h"
#include "testutil.h"

static void add(cpo_brackets *t, double floor, double cap, double lev, double mmr, double cum)
{
    cpo_bracket *b = &t->b[t->n++];
    b->floor = floor;
    b->cap = cap;
    b->max_leverage = lev;
    b->mmr = mmr;
    b->cum = cum;
}

/* BTCUSDT as of 2021 (the table [B1]'s worked examples use). */
static void btc_2021(cpo_brackets *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->symbol, sizeof t->symbol, "BTCUSDT");
    add(t, 0, 50e3, 125, 0.004, 0);
    add(t, 50e3, 250e3, 100, 0.005, 50);
    add(t, 250e3, 1e6, 50, 0.01, 1300);
    add(t, 1e6, 10e6, 20, 0.025, 16300);
    add(t, 10e6, 20e6, 10, 0.05, 266300);
    add(t, 20e6, 50e6, 5, 0.10, 1266300);
    add(t, 50e6, 100e6, 4, 0.125, 2516300);
    add(t, 100e6, 200e6, 3, 0.15, 5016300);
    add(t, 200e6, 300e6, 2, 0.25, 25016300);
    add(t, 300e6, 500e6, 1, 0.50, 100016300);
}

/* ETHUSDT as of 2021. */
static void eth_2021(cpo_brackets *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->symbol, sizeof t->symbol, "ETHUSDT");
    add(t, 0, 10e3, 100, 0.005, 0);
    add(t, 10e3, 100e3, 75, 0.0065, 15);
    add(t, 100e3, 500e3, 50, 0.01, 365);
    add(t, 500e3, 1e6, 20, 0.02, 5365);
    add(t, 1e6, 2e6, 10, 0.05, 35365);
    add(t, 2e6, 5e6, 5, 0.10, 135365);
    add(t, 5e6, 10e6, 4, 0.125, 260365);
    add(t, 10e6, 20e6, 3, 0.15, 510365);
    add(t, 20e6, 50e6, 2, 0.25, 2510365);
    add(t, 50e6, 100e6, 1, 0.50, 15010365);
}

START_TEST(test_margin_brackets__maintenance_amount)
{
    cpo_brackets t;
    btc_2021(&t);
    char why[256] = "";
    size_t bad = 99;
    ck_assert_msg(cpo_brackets_check(&t, &bad, why, sizeof why) == 0, "%s", why);
    ck_assert_uint_eq(bad, 0);
    /* [B1]: "250,000 * (1% - 0.5%) + 50 USDT = 1,300 USDT". */
    ck_assert_double_eq_tol(t.b[2].cum, 250000 * (0.01 - 0.005) + 50, 1e-9);
    /* [B1]: 264,000 USDT is in the 1 % bracket; 500,000 has amount 1,300. */
    ck_assert_double_eq(cpo_bracket_for(&t, 264000)->mmr, 0.01);
    ck_assert_double_eq(cpo_bracket_for(&t, 500000)->cum, 1300);
    ck_assert_double_eq(cpo_bracket_for(&t, 49999.99)->mmr, 0.004);
    ck_assert_double_eq(cpo_bracket_for(&t, 50000)->mmr, 0.005); /* floor inclusive */
    ck_assert_double_eq(cpo_bracket_for(&t, 1e12)->mmr, 0.50);   /* beyond: the last */
    ck_assert_double_eq(cpo_binance_max_leverage(&t, 2.9e6), 20);
    /* [B1]: "Maintenance Margin of BTCUSDT = 71200.81144 (3500032.458 *
     * 2.50% - 16300)": the page truncates 71,200.811444 to 5 decimals. */
    double n_btc = 109.488 * 31967.27;
    ck_assert_double_eq_tol(n_btc, 3500032.458, 5e-4);
    ck_assert_double_eq_tol(cpo_binance_mm(&t, n_btc), 71200.81144, 1e-5);
    cpo_brackets e;
    eth_2021(&e);
    ck_assert_msg(cpo_brackets_check(&e, &bad, why, sizeof why) == 0, "%s", why);
    /* [B1]: "Maintenance Margin of ETHUSDT = 356,512.508 (4918775.081 *
     * 10.00% - 135365)". */
    double n_eth = 3683.979 * 1335.18;
    ck_assert_double_eq_tol(n_eth, 4918775.081, 5e-4);
    ck_assert_double_eq_tol(cpo_binance_mm(&e, n_eth), 356512.508, 5e-4);
}
END_TEST

/* Tables with a gap, an overlap, a wrong amount, rising leverage: refused
 * with the bracket named. */
START_TEST(test_margin_brackets__bad_tables)
{
    cpo_brackets t;
    char why[256];
    size_t bad;
    btc_2021(&t);
    t.b[3].floor = 1.1e6; /* a gap after bracket 3 */
    ck_assert_int_eq(cpo_brackets_check(&t, &bad, why, sizeof why), CPO_EDATA);
    ck_assert_uint_eq(bad, 4);
    ck_assert_str_eq(why, "bracket 4 starts at 1100000 but bracket 3 ends at 1000000 (expected "
                          "each floor to be the cap before it: a gap)");
    btc_2021(&t);
    t.b[3].floor = 0.9e6; /* an overlap */
    ck_assert_int_eq(cpo_brackets_check(&t, &bad, why, sizeof why), CPO_EDATA);
    ck_assert_ptr_nonnull(strstr(why, "an overlap"));
    btc_2021(&t);
    t.b[2].cum = 1200; /* not 1,300 */
    ck_assert_int_eq(cpo_brackets_check(&t, &bad, why, sizeof why), CPO_EDATA);
    ck_assert_uint_eq(bad, 3);
    ck_assert_ptr_nonnull(strstr(why, "(expected 1300:"));
    btc_2021(&t);
    t.b[4].max_leverage = 30; /* more than bracket 4's 20 */
    ck_assert_int_eq(cpo_brackets_check(&t, &bad, why, sizeof why), CPO_EDATA);
    ck_assert_uint_eq(bad, 5);
    btc_2021(&t);
    t.b[0].floor = 10;
    ck_assert_int_eq(cpo_brackets_check(&t, &bad, why, sizeof why), CPO_EDATA);
    ck_assert_uint_eq(bad, 1);
    t.n = 0;
    ck_assert_int_eq(cpo_brackets_check(&t, &bad, why, sizeof why), CPO_EDATA);
    ck_assert_uint_eq(bad, 0);
}
END_TEST

/* [B1]'s cross-margin example: both liquidation prices, and each equals
 * the price where margin balance = maintenance margin. */
START_TEST(test_margin_binance__cross_liquidation_example)
{
    cpo_brackets bt, et;
    btc_2021(&bt);
    eth_2021(&et);
    double wb = 1535443.01;
    double q_b = 109.488, ep_b = 32481.98, mk_b = 31967.27;
    double q_e = 3683.979, ep_e = 1456.84, mk_e = 1335.18;
    double mm_b = cpo_binance_mm(&bt, q_b * mk_b), mm_e = cpo_binance_mm(&et, q_e * mk_e);
    double up_b = q_b * (mk_b - ep_b), up_e = q_e * (mk_e - ep_e);
    double lp_b = cpo_binance_liq_linear(wb, mm_e, up_e, 1, q_b, ep_b, &bt);
    double lp_e = cpo_binance_liq_linear(wb, mm_b, up_b, 1, q_e, ep_e, &et);
    /* 26,316.89 and 1,153.26, to the cent the page shows. */
    ck_assert_double_eq_tol(lp_b, 26316.89, 0.005);
    ck_assert_double_eq_tol(lp_e, 1153.26, 0.005);
    /* At LP: WB - TMM1 + UPNL1 + Q (LP - EP) = Q LP mmr - cum, to 1e-9. */
    double mb = wb - mm_e + up_e + q_b * (lp_b - ep_b);
    ck_assert_double_eq_tol(mb, cpo_binance_mm(&bt, q_b * lp_b), 1e-9 * wb);
    /* Isolated (TMM1 = UPNL1 = 0) with a wallet of 10 % of the notional at
     * 32,481.98, long: (WB + cum - Q EP) / (Q mmr - Q); bracket 4
     * (2.5 %, 16,300) holds the notional at LP. */
    double iso = 0.1 * q_b * ep_b;
    double lp_i = cpo_binance_liq_linear(iso, 0, 0, 1, q_b, ep_b, &bt);
    double want = (iso + 16300 - q_b * ep_b) / (q_b * 0.025 - q_b);
    ck_assert_double_eq_tol(lp_i, want, 1e-9 * want);
    /* Short, isolated: (WB + cum + Q EP) / (Q mmr + Q). */
    double lp_s = cpo_binance_liq_linear(iso, 0, 0, -1, q_b, ep_b, &bt);
    ck_assert_double_eq_tol(lp_s, (iso + 16300 + q_b * ep_b) / (q_b * 0.025 + q_b), 1e-6);
    /* A long with more margin than notional is never liquidated (0); a
     * short with none is liquidated at once or never: no crash. */
    ck_assert_double_eq(cpo_binance_liq_linear(2 * q_b * ep_b, 0, 0, 1, q_b, ep_b, &bt), 0.0);
    ck_assert(isnan(cpo_binance_liq_linear(1, 0, 0, 1, 0.0, ep_b, &bt)));
}
END_TEST

/* [B2]: COIN-M maintenance margin and the calculator's liquidation price. */
START_TEST(test_margin_binance__coin_m)
{
    cpo_brackets t;
    memset(&t, 0, sizeof t);
    t.inverse = 1;
    /* "100 * 100 / 25,000 = 0.4 BTC, which is in margin level 1 ...
     * Maintenance Margin = 100 * 100 / 25,000 * 0.4% - 0 = 0.0016 BTC". */
    add(&t, 0, 5, 125, 0.004, 0);
    ck_assert_double_eq_tol(cpo_binance_mm(&t, 100 * 100 / 25000.0), 0.0016, 1e-15);
    /* The 300 BTC tier (12.5 %, 11.605 BTC) is the one the calculator's
     * position falls in at LP (297.6 BTC): a table of that tier alone. */
    memset(&t, 0, sizeof t);
    t.inverse = 1;
    add(&t, 0, 1e9, 3, 0.125, 11.605);
    double lp = cpo_binance_liq_inverse(101, 0, 0, 1, 100000, 100, 45000, &t);
    /* The calculator shows 33,599.40; the formula gives 33,599.4186. */
    ck_assert_double_eq_tol(lp, 33599.40, 0.05);
    ck_assert_double_eq_tol(lp, 100.0 * 100000 * 1.125 / (101 + 11.605 + 100000 * 100 / 45000.0),
                            1e-9);
    /* A short: LP above EP, and margin = maintenance there. */
    double ls = cpo_binance_liq_inverse(30, 0, 0, -1, 100000, 100, 45000, &t);
    ck_assert(ls > 45000);
    double mb = 30 + -1.0 * 100000 * 100 * (1 / 45000.0 - 1 / ls);
    ck_assert_double_eq_tol(mb, 100000 * 100 / ls * 0.125 - 11.605, 1e-9);
}
END_TEST

START_TEST(test_margin_deribit__options)
{
    double im, mm;
    /* [D1] at the money, underlying 10,000, mark 0.025 BTC. */
    ck_assert_int_eq(cpo_deribit_option_margin(CPO_RIGHT_CALL, 10000, 10000, 0.025, &im, &mm), 0);
    ck_assert_double_eq_tol(im, 0.175, 1e-15);
    ck_assert_double_eq_tol(mm, 0.100, 1e-15);
    ck_assert_int_eq(cpo_deribit_option_margin(CPO_RIGHT_PUT, 10000, 10000, 0.025, &im, &mm), 0);
    ck_assert_double_eq_tol(mm, 0.100, 1e-15);
    ck_assert_double_eq_tol(im, 0.175, 1e-15);
    /* Hand: call K 110,000 on 100,000 marked 0.01: OTM/S = 0.10 ->
     * IM = max(0.15 - 0.10, 0.10) + 0.01 = 0.11, MM = 0.075 + 0.01. */
    ck_assert_int_eq(cpo_deribit_option_margin(CPO_RIGHT_CALL, 110000, 100000, 0.01, &im, &mm), 0);
    ck_assert_double_eq_tol(im, 0.11, 1e-15);
    ck_assert_double_eq_tol(mm, 0.085, 1e-15);
    /* Hand: call K 105,000: OTM/S = 0.05 -> max(0.10, 0.10) = 0.10. And
     * K 102,000: 0.15 - 0.02 = 0.13 -> IM 0.13 + mark. */
    ck_assert_int_eq(cpo_deribit_option_margin(CPO_RIGHT_CALL, 102000, 100000, 0.02, &im, &mm), 0);
    ck_assert_double_eq_tol(im, 0.15, 1e-15);
    /* Hand: put K 70,000 on 100,000 marked 0.002: OTM 30,000 -> 0.10 +
     * 0.002 = 0.102; MM = max(0.075, 0.00015) + 0.002 = 0.077. */
    ck_assert_int_eq(cpo_deribit_option_margin(CPO_RIGHT_PUT, 70000, 100000, 0.002, &im, &mm), 0);
    ck_assert_double_eq_tol(im, 0.102, 1e-15);
    ck_assert_double_eq_tol(mm, 0.077, 1e-15);
    /* A deep put worth more than 1 coin's 0.075 x mark (mark 2): MM =
     * max(0.075, 0.15) + 2 = 2.15 > IM's 0.15 + 2: IM = MM. */
    ck_assert_int_eq(cpo_deribit_option_margin(CPO_RIGHT_PUT, 300000, 100000, 2.0, &im, &mm), 0);
    ck_assert_double_eq_tol(mm, 2.15, 1e-15);
    ck_assert_double_eq_tol(im, 2.15, 1e-15);
    ck_assert_int_eq(cpo_deribit_option_margin(CPO_RIGHT_NONE, 1, 1, 0, &im, &mm), CPO_EINVAL);
    ck_assert(isnan(im) && isnan(mm));
    ck_assert_int_eq(cpo_deribit_option_margin(CPO_RIGHT_CALL, 1, -1, 0, &im, &mm), CPO_EINVAL);
}
END_TEST

START_TEST(test_margin_deribit__futures)
{
    cpo_deribit_fut p;
    int known = 0;
    cpo_deribit_fut_params("BTC", &p, &known);
    ck_assert_int_eq(known, 1);
    double im, mm;
    /* [D2]: 25 BTC -> 2.125 % -> 0.53125 BTC; MM 1.125 % -> 0.28125 BTC. */
    cpo_deribit_fut_margin(&p, 25, &im, &mm);
    ck_assert_double_eq_tol(im, 0.53125, 1e-12);
    ck_assert_double_eq_tol(mm, 0.28125, 1e-12);
    /* 350 BTC -> 3.75 % -> 13.125 BTC (a short counts by its size). */
    cpo_deribit_fut_margin(&p, -350, &im, &mm);
    ck_assert_double_eq_tol(im, 13.125, 1e-12);
    ck_assert_double_eq_tol(mm, 350 * 0.0275, 1e-12);
    cpo_deribit_fut_margin(&p, 0, &im, &mm);
    ck_assert_double_eq(im, 0.0);
    /* ETH: 2 % + size x 0.0004 %: 1,000 ETH -> 2.4 % -> 24 ETH. */
    cpo_deribit_fut_params("ETH", &p, &known);
    cpo_deribit_fut_margin(&p, 1000, &im, &mm);
    ck_assert_double_eq_tol(im, 24, 1e-9);
    ck_assert_double_eq_tol(mm, 14, 1e-9);
    cpo_deribit_fut_params("SOL", &p, &known);
    ck_assert_int_eq(known, 0);
}
END_TEST

/* [D3] by hand: a short inverse future's worst case is +16 %; a short
 * call's is +16 % with the vol shocked up; a long option loses at most
 * its value. */
START_TEST(test_margin_pm__grid_by_hand)
{
    cpo_pm_params p;
    cpo_pm_params_init(&p);
    p.contingency_option = 0.0;
    cpo_pm_result r;
    size_t bad = 99;
    cpo_pm_pos fut = {.kind = CPO_KIND_FUTURE, .qty = -1000, .fwd = 50000, .cs = 10};
    ck_assert_int_eq(cpo_pm_margin(&p, &fut, 1, &r, &bad), 0);
    /* -1000 x 10 x (1/50,000 - 1/58,000) coin. */
    double want = 1000 * 10 * (1 / 50000.0 - 1 / 58000.0);
    ck_assert_double_eq_tol(r.im, want, 1e-15);
    ck_assert_double_eq_tol(r.mm, 0.8 * want, 1e-15);
    ck_assert_double_eq_tol(r.move, 0.16, 1e-15);
    /* A short call, 20 days: vol up = max(0.6 (1 + 0.5 (30/20)^0.3), 0.5). */
    cpo_pm_pos c = {.kind = CPO_KIND_OPTION, .qty = -2, .right = CPO_RIGHT_CALL,
                    .strike = 55000, .t_years = 20 / 365.0, .vol = 0.6, .fwd = 50000};
    ck_assert_int_eq(cpo_pm_margin(&p, &c, 1, &r, &bad), 0);
    double vu = fmax(0.6 * (1 + 0.5 * pow(30.0 / 20.0, 0.3)), 0.5);
    cpo_black76_in a = {58000, 55000, 20 / 365.0, 0, vu, CPO_RIGHT_CALL};
    cpo_black76_in b = {50000, 55000, 20 / 365.0, 0, 0.6, CPO_RIGHT_CALL};
    cpo_black76_out oa, ob;
    cpo_black76(&a, &oa);
    cpo_black76(&b, &ob);
    double loss = 2 * (oa.price / 58000 - ob.price / 50000);
    ck_assert_double_eq_tol(r.im, loss, 1e-13);
    ck_assert_int_eq(r.vol_scenario, 1);
    /* Long: the worst loss is below its value now. */
    c.qty = 1;
    ck_assert_int_eq(cpo_pm_margin(&p, &c, 1, &r, &bad), 0);
    ck_assert(r.im > 0 && r.im < ob.price / 50000);
    /* The contingency: -3 + 1 on one strike is 2 net short: 0.02 coin. */
    p.contingency_option = 0.01;
    cpo_pm_pos two[2] = {c, c};
    two[0].qty = -3;
    ck_assert_int_eq(cpo_pm_margin(&p, two, 2, &r, &bad), 0);
    ck_assert_double_eq_tol(r.contingency, 0.02, 1e-15);
    ck_assert_double_eq_tol(r.im, -r.worst + 0.02, 1e-15);
    /* Bad input named. */
    two[1].fwd = 0;
    ck_assert_int_eq(cpo_pm_margin(&p, two, 2, &r, &bad), CPO_EINVAL);
    ck_assert_uint_eq(bad, 1);
}
END_TEST

static Suite *margin_suite(void)
{
    Suite *s = suite_create("margin");
    TCase *tc = tcase_create("formulas");
    tcase_add_test(tc, test_margin_brackets__maintenance_amount);
    tcase_add_test(tc, test_margin_brackets__bad_tables);
    tcase_add_test(tc, test_margin_binance__cross_liquidation_example);
    tcase_add_test(tc, test_margin_binance__coin_m);
    tcase_add_test(tc, test_margin_deribit__options);
    tcase_add_test(tc, test_margin_deribit__futures);
    tcase_add_test(tc, test_margin_pm__grid_by_hand);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(margin_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
