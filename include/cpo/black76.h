/*
 * cpo/black76.h - Black-76 on the forward: prices, Greeks, coin Greeks of
 * inverse options, implied volatility.  METHODS.md sections 2.2 to 2.4.
 *
 * Model.  F forward (USD per coin), K strike (USD), T years to expiry
 * (ACT/365: seconds / (365 * 86400)), r continuously compounded rate per
 * year, D = exp(-rT), sigma the annual volatility as a decimal (0.45 =
 * 45 %), s = sigma * sqrt(T), d1 = ln(F/K)/s + s/2, d2 = d1 - s:
 *
 *     call  V = D [F N(d1) - K N(d2)]      put  V = D [K N(-d2) - F N(-d1)]
 *
 * Units of the Greeks (raw; the quoting convention in brackets):
 *
 *     price  V, USD per coin of underlying (premium of one option on 1 coin)
 *     delta  dV/dF                          (USD per USD of forward)
 *     gamma  d2V/dF2                        (per USD)
 *     vega   dV/dsigma per unit of sigma    (x 0.01 per vol point)
 *     theta  dV/dt = -dV/dT, F held fixed, per year of calendar time
 *                                           (/ 365 per day)
 *     rho    dV/dr per unit of rate, F held fixed: -T V   (x 0.01 per 1 %)
 *     vanna  d2V/dF dsigma
 *     volga  d2V/dsigma2                    (vomma)
 *
 * Degenerate inputs: sigma = 0 or T = 0 (s = 0) give the limits: V =
 * D * intrinsic, delta = D * 1{in the money} (D/2 at F == K, signed for
 * puts), theta = rV, rho = -TV, and gamma, vega, vanna, volga 0 (their
 * limits at F == K are not finite: NaN there).  Invalid inputs (F or K
 * not positive and finite, T or sigma negative or not finite, r not
 * finite, right neither call nor put) give NaN in every output.
 *
 * Accuracy.  The normal distribution is cpo's own (Cody's rational
 * approximations, W. J. Cody, Math. Comp. 23 (1969) 631-637 and ACM TOMS
 * 19 (1993) 22-32, with an exp and a log of its own), written without
 * branches so that the batch vectorises.  Relative error, measured against
 * mpmath at 50 digits and long double erfcl on 400,001 points of
 * [-37.5, 8.3] (tests/check_black76.c; 2*10^6 points give the same): N(x)
 * at most 8.5e-16 (documented bound 1e-15), phi(x) at most 4.4e-16
 * (bound 5e-16).  Below -37.5 (N under 5e-308) results are subnormal
 * and lose precision, and are 0 below -37.6; N(x) is 1 above 8.3.
 * Prices and Greeks are accurate to a few ulps of F N(d1); deep out of
 * the money, where F N(d1) - K N(d2) cancels, the relative
 * accuracy of the price is about 1e-16 |d1|/(sigma sqrt T).
 *
 * Implied volatility: normalised price (x = ln(F/K), the out-of-the-money
 * side by parity), bounds per METHODS 2.4, an initial guess per region
 * (low / middle / high price, split at the inflection point s = sqrt(2|x|))
 * refined by third-order Householder steps on a transformed objective,
 * GSL's Brent solver as the fallback (quant/pricing/iv.c).  Never a wrong number:
 * every failure is NaN with a status.
 *
 * Speed (cpo_black76_bench, one core of an AMD EPYC at 2.6 GHz, 10^6
 * options): 40-70 million options priced with all Greeks a second (AVX2
 * and AVX-512 paths; 19 million on the portable SSE2 path) and 3.7
 * million implied-vol solves a second.
 *
 * Nothing here allocates (except the Brent fallback, through GSL); every
 * function is safe to call from parallel threads.
 */
#ifndef CPO_BLACK76_H
#define CPO_BLACK76_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One option's inputs.  right is a cpo_right (CPO_RIGHT_CALL, _PUT). */
typedef struct cpo_black76_in {
    double fwd;     /* F > 0, USD */
    double strike;  /* K > 0, USD */
    double t_years; /* T >= 0, ACT/365 */
    double rate;    /* r per year, continuous; D = exp(-rT); 0 for Deribit */
    double vol;     /* sigma >= 0, annual, decimal */
    int right;      /* cpo_right */
} cpo_black76_in;

/* Price and Greeks in the quote currency (USD), units as above. */
typedef struct cpo_black76_out {
    double price, delta, gamma, vega, theta, rho, vanna, volga;
} cpo_black76_out;

/*
 * Price and Greeks of one option.  Returns 0, or CPO_EINVAL for invalid
 * inputs (every output NaN).
 */
int cpo_black76(const cpo_black76_in *in, cpo_black76_out *out);

/* Output columns of the batch; each points to n doubles, all non-NULL. */
typedef struct cpo_black76_cols {
    double *price, *delta, *gamma, *vega, *theta, *rho, *vanna, *volga;
} cpo_black76_cols;

/*
 * Price and Greeks of n options given as columns (structure of arrays;
 * right as stored in cpo_chain, int8_t cpo_right).  rate may be NULL (r =
 * 0 for all).  Output columns must not overlap the inputs or each other.
 * No allocation; the loop works on blocks of 8 options and vectorises.
 * Results are bit-identical to cpo_black76 on the same inputs.  Returns
 * how many options had invalid inputs (their outputs NaN).
 */
size_t cpo_black76_batch(size_t n, const double *fwd, const double *strike,
                         const double *t_years, const double *rate, const double *vol,
                         const int8_t *right, const cpo_black76_cols *out);

/*
 * Coin-denominated value and Greeks of an inverse option (Deribit: premium
 * in coin, payoff max(S-K,0)/S per coin), METHODS 2.3: c = V/P, the USD
 * value divided by the USD price P of one coin used for the conversion,
 * with the basis held fixed (F = I exp(bT), and P/I fixed):
 *
 *   P = I, the index: the theoretical value of the payoff (METHODS 2.3,
 *          Alexander & Imeraj);
 *   P = F, the forward: the convention of Deribit's mark prices, which
 *          are the Black USD price divided by the row's underlying
 *          (forward) price -- measured on the weekly snapshots: model USD
 *          price / mark coin price / F has median 1.000001, / I 1.0049
 *          (tests/check_black76.c).
 *
 * With g = F/I and p = P/I (I the index, > 0):
 *
 *   delta_index   = g delta            dV/dI, USD per USD of index
 *   gamma_index   = g^2 gamma          d2V/dI2
 *   price         = V/P                coin per option
 *   delta         = (g delta - c p)/P               dc/dI, coin per USD
 *   gamma         = (g^2 gamma - 2 (g delta - c p)/I)/P     d2c/dI2
 *   vega, theta, rho, volga  = the USD ones / P      (coin)
 *   vanna         = (g vanna - vega/I)/P            d2c/dI dsigma
 *   delta_account = I dc/dI = (g delta - c p)/p: the coin delta of a long
 *                   option as the exchange counts it (Deribit
 *                   "DeltaTotal"), the premium being already in the coin
 *                   equity: delta_index - c for P = I (METHODS 2.3),
 *                   delta - c (Black delta less the coin price) for P = F.
 *
 * For P = I these are exactly METHODS 2.3's formulas.  For a linear
 * option (premium in USD) use the USD Greeks of cpo_black76 as they are
 * (with respect to F), and delta_index / gamma_index for the Greeks with
 * respect to the index.
 */
typedef struct cpo_black76_coin {
    double price, delta, gamma, vega, theta, rho, vanna, volga;
    double delta_index, gamma_index, delta_account;
} cpo_black76_coin;

/* From the USD Greeks of one option; fwd, index and coin_px (P) positive
 * (else every output NaN and CPO_EINVAL). */
int cpo_black76_coin_greeks(const cpo_black76_out *usd, double fwd, double index,
                            double coin_px, cpo_black76_coin *out);

/* --- the normal distribution --------------------------------------------- */

/* N(x), relative error below 1e-15 for x >= -37.5 (0 below -37.6). */
double cpo_black76_norm_cdf(double x);
/* phi(x) = exp(-x^2/2)/sqrt(2 pi), relative error below 5e-16 (0 below
 * about 1e-307). */
double cpo_black76_norm_pdf(double x);

/* --- implied volatility ---------------------------------------------------- */

/* X(id, name, text) */
#define CPO_IV_STATUS_LIST(X)                                                     \
    X(OK, "ok", "solved")                                                         \
    X(AT_INTRINSIC, "at_intrinsic", "price equals intrinsic value: vol 0")       \
    X(BELOW_INTRINSIC, "below_intrinsic", "price below intrinsic value")         \
    X(ABOVE_MAX, "above_max", "price at or above the maximum (F call, K put)")    \
    X(NO_CONVERGENCE, "no_convergence", "the solvers did not converge")           \
    X(BAD_INPUT, "bad_input", "invalid input (not positive, not finite, bad right)")

typedef enum cpo_iv_status {
#define CPO_X_IVS(id, name, text) CPO_IV_##id,
    CPO_IV_STATUS_LIST(CPO_X_IVS)
#undef CPO_X_IVS
    CPO_IV_STATUS_COUNT
} cpo_iv_status;

/* "ok", "below_intrinsic", ...; never NULL. */
const char *cpo_iv_status_name(int status);

/*
 * Implied vol of one option from its price V (discounted, USD, same
 * units as cpo_black76_out.price; for a Deribit mark: the coin price x
 * the forward, which is how Deribit converts -- see cpo_black76_coin).
 * The undiscounted price beta = V/D is checked against the
 * bounds: beta < intrinsic - tol: BELOW_INTRINSIC; |beta - intrinsic| <=
 * tol: AT_INTRINSIC with *vol = 0; beta >= F (call) or K (put):
 * ABOVE_MAX.  tol = 4 eps intrinsic (the rounding of beta - intrinsic;
 * 0 out of the money, where a price of 0 is AT_INTRINSIC and any positive
 * price is solved).  T must be positive.  *vol is NaN unless the status
 * is OK or AT_INTRINSIC.  Accuracy: a few ulps of the information the
 * price carries (about 1e-13 relative or better where vega is not
 * negligible against the rounding of the price; up to 1e-15/(sigma sqrt
 * T) near the money at tiny sigma sqrt T).
 */
cpo_iv_status cpo_black76_iv(double price, double fwd, double strike, double t_years,
                             double rate, int right, double *vol);

/*
 * The same for n options as columns; rate may be NULL (0).  status may be
 * NULL.  Returns how many were not OK/AT_INTRINSIC.
 */
size_t cpo_black76_iv_batch(size_t n, const double *price, const double *fwd,
                            const double *strike, const double *t_years, const double *rate,
                            const int8_t *right, double *vol, int8_t *status);

/* --- benchmark -------------------------------------------------------------- */

/*
 * Options priced with all Greeks per second (cpo_black76_batch) and IV
 * solves per second (cpo_black76_iv_batch) on one core, batches of 10^6
 * options with mixed moneyness and expiries, best of 3; prints a few lines
 * to out.  Returns 0, or CPO_ENOMEM.
 */
int cpo_black76_bench(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
