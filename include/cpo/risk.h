/*
 * cpo/risk.h - the risk of a book as it stands at one step of a run:
 * value at risk and expected shortfall (historical, parametric normal and
 * filtered historical simulation), and stress scenarios with their P&L by
 * position and by Greek.  Options are revalued in full with Black-76
 * (cpo/black76.h), never through their Greeks; the Greeks only split a
 * scenario's P&L, with the rest reported as `residual`.
 *
 * The book (cpo_risk_book_load): at a step of a run folder, the linear
 * positions of ledger_instruments.csv (spot and perpetuals: exposure in
 * USD), the option positions of options.csv (strike, expiry, vol, forward,
 * index, quantity) and the cash balances of ledger.csv (dollar cash, and
 * coins valued at their price).
 *
 * A scenario (cpo_risk_move) moves each coin's USD price by a relative
 * return r (the forward moves with the index: the basis is held), each
 * coin's implied vols by a relative change, lets time pass, and may flip
 * the perpetuals' funding or depeg the dollar stablecoin the run's cash is
 * held in:
 *
 *   linear position   exposure * r                      (exact for spot
 *                                                        and linear perps)
 *   coin cash         amount * price * r
 *   option (coin)     qty * m * [B(F(1+r), K, T - dt, sigma(1+dv)) - B(F, K, T, sigma)]
 *                     m = I / F when the coin price is the forward (Deribit
 *                     marks), 1 when it is the index (cpo_black76_coin)
 *   funding           -exposure * rate * dt / 8h per perpetual, the rate
 *                     negated with funding_flip (the move's P&L is the
 *                     funding under the scenario)
 *   depeg             dollar cash * depeg
 *
 * All amounts are USD.  Nothing here reads a clock or a random number:
 * the same run folder and market give the same numbers.
 */
#ifndef CPO_RISK_H
#define CPO_RISK_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/error.h"
#include "cpo/instrument.h"
#include "cpo/market.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CPO_RISK_MAX_COINS 16

typedef struct cpo_risk_linear {
    char symbol[CPO_SYMBOL_MAX];
    char coin[CPO_CCY_MAX];
    int perp;          /* margined: pays funding */
    double qty, px;    /* contracts, mark */
    double exposure;   /* USD */
    double funding;    /* the latest funding rate known (per 8 h), 0 if none */
} cpo_risk_linear;

typedef struct cpo_risk_option {
    char name[CPO_SYMBOL_MAX];
    char coin[CPO_CCY_MAX]; /* the underlying */
    int right;              /* cpo_right */
    int px_index;           /* 1: coin value = USD / index; 0: USD / forward */
    double qty, strike, t_years, rate, index, fwd, vol;
} cpo_risk_option;

typedef struct cpo_risk_cash {
    char ccy[CPO_CCY_MAX];
    double amount;          /* in ccy */
    double px;              /* USD per unit (1 for the dollar cash) */
    int dollar;             /* the reporting dollar (depegs with the stablecoin) */
} cpo_risk_cash;

typedef struct cpo_risk_book {
    int64_t ts;             /* the step (bar open) */
    double equity;          /* USD, ledger.csv */
    size_t n_lin, n_opt, n_cash;
    cpo_risk_linear *lin;
    cpo_risk_option *opt;
    cpo_risk_cash *cash;
    size_t n_coins;         /* the coins the book depends on */
    char coins[CPO_RISK_MAX_COINS][CPO_CCY_MAX];
} cpo_risk_book;

/*
 * The book of run_dir at the last step at or before at_ms (CPO_TIME_NONE:
 * the last step), with the instruments' coins and funding from m (the
 * run's market).  Refused with the file's path when a file is missing or
 * bad: ledger_instruments.csv is needed (a run with detail = instrument).
 * coin_px_index: the run's [options] coin_price (1 = index).
 * cpo_risk_book_fini frees it.
 */
int cpo_risk_book_load(cpo_risk_book *b, const char *run_dir, int64_t at_ms,
                       const cpo_market *m, int coin_px_index, cpo_error *err);
void cpo_risk_book_fini(cpo_risk_book *b);

/* The parts a scenario's P&L is split into. */
enum {
    CPO_RISK_DELTA = 0, /* linear positions, coin cash, options' delta */
    CPO_RISK_GAMMA,
    CPO_RISK_VEGA,
    CPO_RISK_THETA,
    CPO_RISK_VANNA,
    CPO_RISK_VOLGA,
    CPO_RISK_FUNDING,
    CPO_RISK_DEPEG,
    CPO_RISK_RESIDUAL,  /* full revaluation less the Taylor terms (options) */
    CPO_RISK_PARTS
};
const char *cpo_risk_part_name(int part); /* "delta", ... */

typedef struct cpo_risk_move {
    const double *ret;  /* [n_coins] relative USD price change of each coin */
    const double *dvol; /* [n_coins] relative change of implied vol, or NULL */
    double dt_years;    /* time that passes */
    int funding_flip;   /* the perpetuals' funding rate negated */
    double depeg;       /* relative change of the dollar cash's USD value (-0.1) */
} cpo_risk_move;

/*
 * The P&L of the book under one move.  by_pos (may be NULL) gets n_lin +
 * n_opt + n_cash values (linear positions, options, cash, in book
 * order: funding goes with its perpetual, depeg with the dollar cash);
 * by_part (may be NULL) CPO_RISK_PARTS values that add up to the total
 * exactly (the residual closes it).  Returns the total.
 */
double cpo_risk_revalue(const cpo_risk_book *b, const cpo_risk_move *mv, double *by_pos,
                        double *by_part);

/* Index of coin in b->coins, or -1. */
long cpo_risk_coin(const cpo_risk_book *b, const char *coin);

/*
 * Historical VaR and ES at level (0.99) of n P&L values: VaR = -q, q the
 * (1 - level) quantile (linear interpolation between order statistics,
 * gsl_stats_quantile_from_sorted_data), ES = -(mean of the P&Ls <= q).
 * pnl is sorted in place.  NaN for n < 2.
 */
void cpo_risk_var_hist(double *pnl, size_t n, double level, double *var, double *es);

/* Normal VaR and ES of a P&L with mean mu and sd s: z = Phi^-1(1 - level),
 * VaR = -(mu + z s), ES = -(mu - s phi(z) / (1 - level)). */
void cpo_risk_var_normal(double mu, double s, double level, double *var, double *es);

/*
 * Filtered historical simulation (Barone-Adesi et al. 1999; Hull & White
 * 1998): out[t] = r[t] * sigma_now / sigma_t, sigma_t^2 the EWMA variance
 * known before r[t] (lambda per period; seeded with the mean square of the
 * first min(n, 30) returns) and sigma_now^2 the one after r[n-1].  n >= 2.
 */
void cpo_risk_fhs(double *out, const double *r, size_t n, double lambda);

/* A stress scenario as the [stress] section writes it:
 *     NAME = spot -30%, vol +50%, funding flip, corr 1, depeg -10%, days 1
 * spot: every coin's return; vol: relative change of implied vols;
 * funding flip; corr 1: correlations to 1, every coin at once moves by
 * Phi^-1(0.01) = -2.326 of its own daily volatility (each coin's 1-in-100
 * day together; added to spot); depeg: the dollar cash's change; days:
 * time passed (1). */
typedef struct cpo_risk_stress {
    char name[64];
    double spot, vol, depeg, days;
    int funding_flip, corr_one;
    long line;
} cpo_risk_stress;

/* Parse one [stress] value; CPO_ECONFIG "... (expected ...)" naming the
 * term. */
int cpo_risk_stress_parse(cpo_risk_stress *s, const char *name, const char *value,
                          cpo_error *err);

#ifdef __cplusplus
}
#endif
#endif
