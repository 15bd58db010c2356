/*
 * synth.c - a seeded synthetic market.
 *
 * Spot: log returns r_i = mu*dt + sigma*sqrt(dt)*(sqrt(rho)*f + sqrt(1-rho)*e_i)
 * with f, e_i Student-t(dof) scaled to unit variance, so every asset has
 * the annual volatility sigma and every pair the correlation rho.  Each
 * bar opens at the previous close; high and low extend beyond the body by
 * half-normal excursions; volume is lognormal.
 *
 * Perps: close = spot close * (1 + basis), the basis an AR(1) per bar;
 * mark = spot close * (1 + smoothed basis); index = spot close.  Funding
 * events at every 00/08/16 UTC after the first bar closes, the rate an
 * AR(1) around 1e-4 per 8h, with mark/index of the bar that closed last.
 *
 * Options: one chain on asset 0 (underlying "SYN000"), a snapshot every
 * day at 08:00 UTC priced off the open of the bar holding 08:00: Friday
 * 08:00 expiries out to 13 weeks, 21 strikes around spot, calls and puts,
 * Black-76 on the forward F = S*exp(0.05*T) with zero rates (discount 1),
 * volatility sigma(k,T) = atm(T) + skew*k + curv*k^2 with k = ln(K/F),
 * quoted Deribit-style: mark_px in coin = USD price / index.  delta is the
 * Black-76 forward delta (N(d1), N(d1)-1), vega USD per vol point.
 *
 * Futures: per asset, quarterly contracts expiring 08:00 UTC on the last
 * Friday of March, June, September and December, the next two listed at
 * any time (as on Binance): the contract of expiry E_k trades from the
 * expiry E_(k-2) (or the first bar) to E_k, its last bar the one that ends
 * at or before E_k.  Its price is F = S exp(b(t) T), S the spot, T = (E_k
 * - t) / 365 days, b(t) the annualised basis of the asset, one
 * Ornstein-Uhlenbeck process db = kappa (mean - b) dt + vol dW per asset
 * and variant (linear, inverse), sampled exactly at the bar boundaries
 * (b' = mean + (b - mean) e^(-kappa dt) + vol sqrt((1 - e^(-2 kappa dt)) /
 * (2 kappa)) z) from b = mean at the first bar.  A bar opens at S_open
 * exp(b(t) T(t)) and closes at S_close exp(b(t') T(t')), t' = t + step (so
 * it opens at the previous bar's close, and the last bar before an expiry
 * on the grid closes at the spot: the basis converges); high and low are
 * the spot's high and low carried by the larger and smaller of the two
 * exponents, widened to hold open and close; volume half the spot's;
 * mark = close; index = the spot close.  Linear: "SYN000USDT_240329",
 * quote USDT, 1 coin a contract; inverse: "SYN000USD_240329", quote USD,
 * 100 USD a contract for asset 0 and 10 USD for the others (Binance's
 * COIN-M sizes).
 *
 * GSL mt19937 streams (spot, perps, funding, and one per futures variant)
 * are seeded from spec->seed, so turning perps or futures on does not
 * change the spot bars.
 */
#include "cpo/synth.h"
#include "cpo/instrument.h"
#include "cpo/time.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define YEAR_MS (365.0 * (double)CPO_MS_DAY)
#define FUNDING_MS (8 * CPO_MS_HOUR)

/* Model constants. */
#define DRIFT_ANNUAL 0.05      /* log drift per year */
#define HL_SCALE 0.5           /* high/low excursion, in per-bar sigmas */
#define BASIS_MEAN 3e-4
#define BASIS_PHI 0.95
#define BASIS_SD 2e-4          /* innovation sd per bar */
#define MARK_SMOOTH 0.3
#define FUND_MEAN 1e-4
#define FUND_PHI 0.8
#define FUND_SD 6e-5
#define OPT_CARRY 0.05         /* forward carry per year */
#define OPT_SKEW (-0.10)
#define OPT_CURV 0.40
#define OPT_STRIKES 10         /* strikes each side of the centre */
#define OPT_WEEKS 13

void cpo_synth_spec_init(cpo_synth_spec *s)
{
    memset(s, 0, sizeof *s);
    s->seed = 42;
    s->n_assets = 8;
    s->n_steps = 8760;
    s->start_ms = INT64_C(1704067200000); /* 2024-01-01T00:00:00Z */
    s->step_ms = CPO_MS_HOUR;
    s->vol_annual = 0.6;
    s->corr = 0.5;
    s->t_dof = 4.0;
    s->perps = 0;
    s->options = 0;
    s->futures = CPO_SYNTH_FUTURES_NONE;
    s->basis_mean = 0.08;
    s->basis_kappa = 6.0;
    s->basis_vol = 0.15;
}

/* --- seeding ------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

/* mt19937 takes 32 bits of seed.  Seeds below 2^32 are used as they are
 * (seed 42 is mt19937 seeded with 42); larger ones are hashed down, so
 * that the stream never depends on the width of unsigned long. */
static unsigned long seed32(uint64_t x)
{
    return (unsigned long)(x <= UINT32_MAX ? (uint32_t)x : (uint32_t)(splitmix64(x) >> 32));
}

static gsl_rng *rng_new(uint64_t seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r)
        gsl_rng_set(r, seed32(seed));
    return r;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Unit-variance Student-t shock. */
static double t_shock(gsl_rng *r, double dof, double scale)
{
    return gsl_ran_tdist(r, dof) * scale;
}

/* --- Black-76 ------------------------------------------------------------ */

typedef struct b76 {
    double price; /* USD, discount factor 1 */
    double delta; /* dV/dF */
    double vega;  /* USD per vol point (0.01) */
} b76;

static b76 black76(int call, double F, double K, double T, double sigma)
{
    b76 o;
    double sd = sigma * sqrt(T);
    double d1 = (log(F / K) + 0.5 * sd * sd) / sd;
    double d2 = d1 - sd;
    if (call) {
        o.price = F * gsl_cdf_ugaussian_P(d1) - K * gsl_cdf_ugaussian_P(d2);
        o.delta = gsl_cdf_ugaussian_P(d1);
    } else {
        o.price = K * gsl_cdf_ugaussian_P(-d2) - F * gsl_cdf_ugaussian_P(-d1);
        o.delta = gsl_cdf_ugaussian_P(d1) - 1.0;
    }
    o.vega = F * gsl_ran_ugaussian_pdf(d1) * sqrt(T) / 100.0;
    return o;
}

static double smile(double vol, double k, double T)
{
    /* Short expiries a little richer; a put skew and a convex wing. */
    double atm = vol * (0.95 + 0.15 * exp(-T * 12.0));
    double s = atm + OPT_SKEW * k + OPT_CURV * k * k;
    return s < 0.05 ? 0.05 : s;
}

/* A "nice" strike increment near x: 1, 2.5 or 5 times a power of ten. */
static double nice_step(double x, int *decimals)
{
    double e = pow(10.0, floor(log10(x)));
    double mfrac = x / e;
    double m = mfrac < 1.75 ? 1.0 : mfrac < 3.75 ? 2.5 : mfrac < 7.5 ? 5.0 : 10.0;
    int d = -(int)floor(log10(e));
    if (m == 2.5)
        d += 1;
    *decimals = d > 0 ? d : 0;
    return m * e;
}

/* "SYN000-5JAN24-40000-C"; decimal strikes as "0d25" (Deribit style). */
static void option_name(char *buf, size_t n, const char *und, int64_t expiry,
                        const char *strike_txt, int call)
{
    static const char *const mon[12] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                        "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    cpo_civil c;
    cpo_time_to_civil(expiry, &c);
    unsigned day = (unsigned)c.day % 100u, yy = (unsigned)c.year % 100u;
    snprintf(buf, n, "%.8s-%u%s%02u-%.20s-%c", und, day, mon[(c.month - 1) % 12],
             yy, strike_txt, call ? 'C' : 'P');
}

/* Shortest %g form that reads back as the same double. */
static void fmt_double(char *buf, size_t n, double x)
{
    snprintf(buf, n, "%.15g", x);
    if (strtod(buf, NULL) != x)
        snprintf(buf, n, "%.17g", x);
}

/* --- generation ---------------------------------------------------------- */

static int add_instrument(cpo_dataset *ds, const char *sym, cpo_kind kind,
                          const char *base, size_t *idx, cpo_error *err)
{
    cpo_instrument in;
    cpo_instrument_init(&in, sym, kind, CPO_SETTLE_LINEAR);
    snprintf(in.exchange, sizeof in.exchange, "synthetic");
    snprintf(in.base, sizeof in.base, "%s", base);
    snprintf(in.quote, sizeof in.quote, "USDT");
    if (kind == CPO_KIND_PERP) {
        snprintf(in.underlying, sizeof in.underlying, "%s", base);
        in.funding_interval_ms = FUNDING_MS;
    }
    int rc = cpo_dataset_add(ds, &in, idx, err);
    if (rc)
        return rc;
    if (ds->bars[*idx].n || ds->funding[*idx].n)
        return cpo_error_set(err, CPO_EEXIST, NULL, 0, 0,
                             "%s already has data in the dataset (expected an "
                             "empty dataset or new symbols)", sym);
    return 0;
}

static int gen_options(cpo_dataset *ds, const cpo_synth_spec *spec,
                       const cpo_bars *spot, size_t *rows_out, cpo_error *err)
{
    cpo_chain *ch;
    int rc = cpo_dataset_chain(ds, "SYN000", &ch, err);
    if (rc)
        return rc;
    if (ch->n)
        return cpo_error_set(err, CPO_EEXIST, NULL, 0, 0,
                             "the SYN000 chain already has rows (expected an "
                             "empty dataset)");
    const int64_t start = spec->start_ms, step = spec->step_ms;
    const int64_t end = start + (int64_t)spec->n_steps * step; /* exclusive */
    int64_t T = floor_div(start, CPO_MS_DAY) * CPO_MS_DAY + 8 * CPO_MS_HOUR;
    if (T < start)
        T += CPO_MS_DAY;
    for (; T < end; T += CPO_MS_DAY) {
        size_t j = (size_t)((T - start) / step);
        double S = spot->open[j];
        /* First Friday 08:00 after T (1970-01-01 was a Thursday). */
        int64_t day = floor_div(T, CPO_MS_DAY);
        int64_t fri = day + ((1 - day % 7) % 7 + 7) % 7;
        int64_t E = fri * CPO_MS_DAY + 8 * CPO_MS_HOUR;
        if (E <= T)
            E += CPO_MS_WEEK;
        int dec;
        double inc = nice_step(0.04 * S, &dec);
        double centre = floor(S / inc + 0.5);
        for (int w = 0; w < OPT_WEEKS; w++, E += CPO_MS_WEEK) {
            double tau = (double)(E - T) / YEAR_MS;
            double F = S * exp(OPT_CARRY * tau);
            for (int s = -OPT_STRIKES; s <= OPT_STRIKES; s++) {
                if (centre + s <= 0)
                    continue;
                char ktxt[40];
                snprintf(ktxt, sizeof ktxt, "%.*f", dec, (centre + s) * inc);
                double K = strtod(ktxt, NULL); /* the strike the name says */
                for (char *p = ktxt; *p; p++)
                    if (*p == '.')
                        *p = 'd';
                double k = log(K / F);
                double sig = smile(spec->vol_annual, k, tau);
                double oi = floor(2000.0 * exp(-k * k / 0.05) / (1.0 + 4.0 * tau)) + 1.0;
                for (int call = 1; call >= 0; call--) {
                    b76 o = black76(call, F, K, tau, sig);
                    size_t r;
                    if (cpo_chain_append_row(ch, &r))
                        goto nomem;
                    double px = o.price / S;
                    double hs = fmax(1e-4, 0.015 * px);
                    ch->ts[r] = T;
                    ch->expiry_ms[r] = E;
                    ch->strike[r] = K;
                    ch->right[r] = call ? CPO_RIGHT_CALL : CPO_RIGHT_PUT;
                    ch->mark_px[r] = px;
                    ch->bid_px[r] = px - hs > 0 ? px - hs : NAN;
                    ch->ask_px[r] = px + hs;
                    ch->mark_iv[r] = sig;
                    ch->fwd_px[r] = F;
                    ch->index_px[r] = S;
                    ch->delta[r] = o.delta;
                    ch->vega[r] = o.vega;
                    ch->open_interest[r] = oi;
                    option_name(ch->name[r], CPO_SYMBOL_MAX, "SYN000", E, ktxt, call);
                }
            }
        }
    }
    if (cpo_chain_sort(ch))
        goto nomem;
    *rows_out = ch->n;
    return 0;
nomem:
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0,
                         "out of memory generating the option chain");
}

/* Whether a contract listed at `listed` and expiring at e has a bar on the
 * grid start + k * step (k * step < end - start) that ends by e. */
static int has_bar(int64_t start, int64_t step, int64_t end, int64_t listed, int64_t e)
{
    int64_t g = listed <= start ? start : start + (listed - start + step - 1) / step * step;
    return g < end && g + step <= e;
}

/* The futures of every asset in one variant (linear or inverse), their
 * instruments added to ds; spot_idx[i] are the spot instruments' rows. */
static int gen_futures(cpo_dataset *ds, const cpo_synth_spec *spec, int inverse,
                       const size_t *spot_idx, size_t *rows_out, cpo_error *err)
{
    const size_t A = spec->n_assets, N = spec->n_steps;
    const int64_t start = spec->start_ms, step = spec->step_ms;
    const int64_t end = start + (int64_t)N * step; /* the last bar's close */
    const double dt = (double)step / YEAR_MS, k = spec->basis_kappa;
    const double decay = exp(-k * dt);
    const double sd = spec->basis_vol * sqrt(-expm1(-2.0 * k * dt) / (2.0 * k));
    /* The expiries: E[0] and E[1] trade from the start, E[j] from E[j-2]. */
    size_t ne = 0, cap = 8;
    int64_t *E = malloc(cap * sizeof *E);
    double *b = malloc((N + 1) * sizeof *b);
    size_t *idx = NULL;
    gsl_rng *r = rng_new(splitmix64(spec->seed ^ (inverse ? UINT64_C(0x667574696e76)     /* "futinv" */
                                                          : UINT64_C(0x6675746c696e)))); /* "futlin" */
    int rc = 0;
    if (!E || !b || !r)
        goto nomem;
    for (int64_t e = cpo_future_quarterly_after(start);; e = cpo_future_quarterly_after(e)) {
        int64_t listed = ne < 2 ? start : E[ne - 2];
        if (listed >= end)
            break;
        if (ne == cap) {
            int64_t *p = realloc(E, 2 * cap * sizeof *E);
            if (!p)
                goto nomem;
            E = p;
            cap *= 2;
        }
        E[ne++] = e;
    }
    idx = malloc((ne ? ne : 1) * A * sizeof *idx);
    if (!idx)
        goto nomem;
    for (size_t i = 0; i < A; i++)
        for (size_t j = 0; j < ne; j++) {
            idx[i * ne + j] = SIZE_MAX;
            if (!has_bar(start, step, end, j < 2 ? start : E[j - 2], E[j]))
                continue;
            char sym[CPO_SYMBOL_MAX], base[CPO_CCY_MAX];
            cpo_civil c;
            cpo_time_to_civil(E[j], &c);
            snprintf(base, sizeof base, "SYN%03u", (unsigned)i);
            snprintf(sym, sizeof sym, "%s%s_%02d%02d%02d", base, inverse ? "USD" : "USDT",
                     c.year % 100, c.month, c.day);
            cpo_instrument in;
            cpo_instrument_init(&in, sym, CPO_KIND_FUTURE,
                                inverse ? CPO_SETTLE_INVERSE : CPO_SETTLE_LINEAR);
            snprintf(in.exchange, sizeof in.exchange, "synthetic");
            snprintf(in.base, sizeof in.base, "%s", base);
            snprintf(in.underlying, sizeof in.underlying, "%s", base);
            snprintf(in.quote, sizeof in.quote, "%s", inverse ? "USD" : "USDT");
            in.expiry_ms = E[j];
            in.contract_size = !inverse ? 1.0 : i == 0 ? 100.0 : 10.0;
            if ((rc = cpo_dataset_add(ds, &in, &idx[i * ne + j], err)))
                goto cleanup;
            if (ds->bars[idx[i * ne + j]].n) {
                rc = cpo_error_set(err, CPO_EEXIST, NULL, 0, 0,
                                   "%s already has data in the dataset (expected an empty "
                                   "dataset or new symbols)", sym);
                goto cleanup;
            }
        }
    for (size_t i = 0; i < A; i++) {
        const cpo_bars *sb = &ds->bars[spot_idx[i]];
        b[0] = spec->basis_mean;
        for (size_t t = 0; t < N; t++)
            b[t + 1] = spec->basis_mean + (b[t] - spec->basis_mean) * decay +
                       sd * gsl_ran_ugaussian(r);
        for (size_t j = 0; j < ne; j++) {
            if (idx[i * ne + j] == SIZE_MAX)
                continue;
            cpo_bars *fb = &ds->bars[idx[i * ne + j]];
            int64_t listed = j < 2 ? start : E[j - 2];
            fb->bar_ms = step;
            for (size_t t = 0; t < N; t++) {
                int64_t ts = sb->ts[t];
                if (ts < listed || ts + step > E[j])
                    continue;
                double x0 = b[t] * (double)(E[j] - ts) / YEAR_MS;
                double x1 = b[t + 1] * (double)(E[j] - ts - step) / YEAR_MS;
                double o = sb->open[t] * exp(x0), c = sb->close[t] * exp(x1);
                double h = fmax(sb->high[t] * exp(fmax(x0, x1)), fmax(o, c));
                double l = fmin(sb->low[t] * exp(fmin(x0, x1)), fmin(o, c));
                if (cpo_bars_append(fb, ts, o, h, l, c, 0.5 * sb->volume[t], c, NAN, NAN,
                                    sb->close[t]))
                    goto nomem;
            }
            *rows_out += fb->n;
        }
    }
    goto cleanup;
nomem:
    rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory generating the futures");
cleanup:
    if (r)
        gsl_rng_free(r);
    free(E);
    free(b);
    free(idx);
    return rc;
}

int cpo_synth_generate(cpo_dataset *ds, const cpo_synth_spec *spec,
                       cpo_error *err)
{
    int rc = 0;
    gsl_rng *rs = NULL, *rp = NULL, *rf = NULL;
    size_t *spot_idx = NULL, *perp_idx = NULL;
    double *price = NULL, *basis = NULL, *mbasis = NULL, *fund = NULL;
    size_t rows = 0;

    if (!ds || !spec)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "cpo_synth_generate: no %s (expected a pointer)",
                             ds ? "spec" : "dataset");
    const size_t A = spec->n_assets, N = spec->n_steps;
    const int64_t step = spec->step_ms, start = spec->start_ms;
    if (A == 0 || A > 100000 || N == 0)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%zu assets x %zu steps (expected 1..100000 assets "
                             "and at least one step)", A, N);
    if (step <= 0 || start == CPO_TIME_NONE || start < -INT64_MAX / 2 ||
        (uint64_t)N > (uint64_t)((INT64_MAX - (start > 0 ? start : 0)) / step / 2))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "start %lld ms, step %lld ms for %zu steps (expected a "
                             "positive step and a span that fits in time)",
                             (long long)start, (long long)step, N);
    if (!(spec->vol_annual >= 0 && spec->vol_annual < 100))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "vol_annual %g (expected 0 <= vol < 100)", spec->vol_annual);
    if (!(spec->corr >= 0 && spec->corr <= 1))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "corr %g (expected 0 <= corr <= 1)", spec->corr);
    if (!(spec->t_dof > 2 && isfinite(spec->t_dof)))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "t_dof %g (expected a finite value > 2, so that returns "
                             "have a variance)", spec->t_dof);
    if (spec->futures < CPO_SYNTH_FUTURES_NONE || spec->futures > CPO_SYNTH_FUTURES_BOTH)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "futures %d (expected CPO_SYNTH_FUTURES_NONE, _LINEAR, _INVERSE "
                             "or _BOTH)", spec->futures);
    if (spec->futures && !(spec->basis_mean >= -1 && spec->basis_mean <= 1 &&
                           spec->basis_kappa > 0 && spec->basis_kappa <= 1000 &&
                           spec->basis_vol >= 0 && spec->basis_vol <= 10))
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "basis mean %g, kappa %g, vol %g (expected a mean in [-1, 1] a "
                             "year, kappa in (0, 1000] and vol in [0, 10])",
                             spec->basis_mean, spec->basis_kappa, spec->basis_vol);

    rs = rng_new(spec->seed);
    rp = rng_new(splitmix64(spec->seed ^ UINT64_C(0x7065727073))); /* "perps" */
    rf = rng_new(splitmix64(spec->seed ^ UINT64_C(0x66756e64)));   /* "fund" */
    spot_idx = malloc(A * sizeof *spot_idx);
    perp_idx = malloc(A * sizeof *perp_idx);
    price = malloc(A * sizeof *price);
    basis = malloc(A * sizeof *basis);
    mbasis = malloc(A * sizeof *mbasis);
    fund = malloc(A * sizeof *fund);
    if (!rs || !rp || !rf || !spot_idx || !perp_idx || !price || !basis || !mbasis ||
        !fund)
        goto nomem;

    /* Instruments first: adding may move ds->bars. */
    for (size_t i = 0; i < A; i++) {
        char sym[CPO_SYMBOL_MAX], base[CPO_CCY_MAX];
        snprintf(base, sizeof base, "SYN%03u", (unsigned)i);
        snprintf(sym, sizeof sym, "%sUSDT", base);
        if ((rc = add_instrument(ds, sym, CPO_KIND_SPOT, base, &spot_idx[i], err)))
            goto cleanup;
    }
    if (spec->perps)
        for (size_t i = 0; i < A; i++) {
            char sym[CPO_SYMBOL_MAX], base[CPO_CCY_MAX];
            snprintf(base, sizeof base, "SYN%03u", (unsigned)i);
            snprintf(sym, sizeof sym, "%sUSDT-PERP", base);
            if ((rc = add_instrument(ds, sym, CPO_KIND_PERP, base, &perp_idx[i], err)))
                goto cleanup;
        }
    for (size_t i = 0; i < A; i++) {
        cpo_bars *b = &ds->bars[spot_idx[i]];
        b->bar_ms = step;
        if (cpo_bars_reserve(b, N))
            goto nomem;
        if (spec->perps) {
            b = &ds->bars[perp_idx[i]];
            b->bar_ms = step;
            if (cpo_bars_reserve(b, N))
                goto nomem;
        }
    }

    /* Spot. */
    const double dt = (double)step / YEAR_MS;
    const double sig = spec->vol_annual * sqrt(dt);
    const double mu = DRIFT_ANNUAL * dt;
    const double tscale = sqrt((spec->t_dof - 2.0) / spec->t_dof);
    const double wf = sqrt(spec->corr), we = sqrt(1.0 - spec->corr);
    price[0] = 40000.0;
    for (size_t i = 1; i < A; i++)
        price[i] = exp(gsl_ran_flat(rs, log(0.05), log(3000.0)));
    for (size_t t = 0; t < N; t++) {
        int64_t ts = start + (int64_t)t * step;
        double f = t_shock(rs, spec->t_dof, tscale);
        for (size_t i = 0; i < A; i++) {
            double e = t_shock(rs, spec->t_dof, tscale);
            double r = mu + sig * (wf * f + we * e);
            double o = price[i], c = o * exp(r);
            double h = fmax(o, c) * exp(HL_SCALE * sig * fabs(gsl_ran_ugaussian(rs)));
            double l = fmin(o, c) * exp(-HL_SCALE * sig * fabs(gsl_ran_ugaussian(rs)));
            double usd = 2e6 * exp(-0.3 * (double)i) * (1.0 + (sig > 0 ? fabs(r) / sig : 0));
            double v = usd / c * gsl_ran_lognormal(rs, 0.0, 0.5);
            if (cpo_bars_append(&ds->bars[spot_idx[i]], ts, o, h, l, c, v, NAN, NAN, NAN, NAN))
                goto nomem;
            price[i] = c;
        }
    }

    /* Perps and their funding. */
    if (spec->perps) {
        for (size_t i = 0; i < A; i++)
            basis[i] = mbasis[i] = BASIS_MEAN;
        for (size_t t = 0; t < N; t++) {
            for (size_t i = 0; i < A; i++) {
                const cpo_bars *sb = &ds->bars[spot_idx[i]];
                double b0 = basis[i];
                double b1 = BASIS_MEAN + BASIS_PHI * (b0 - BASIS_MEAN) +
                            BASIS_SD * gsl_ran_ugaussian(rp);
                b1 = fmin(0.05, fmax(-0.05, b1));
                mbasis[i] = (1.0 - MARK_SMOOTH) * mbasis[i] + MARK_SMOOTH * b1;
                double o = sb->open[t] * (1.0 + b0), c = sb->close[t] * (1.0 + b1);
                double h = sb->high[t] * (1.0 + fmax(b0, b1));
                double l = sb->low[t] * (1.0 + fmin(b0, b1));
                double v = sb->volume[t] * 3.0 * gsl_ran_lognormal(rp, 0.0, 0.3);
                double mk = sb->close[t] * (1.0 + mbasis[i]);
                if (cpo_bars_append(&ds->bars[perp_idx[i]], sb->ts[t], o, h, l, c, v,
                                    mk, NAN, NAN, sb->close[t]))
                    goto nomem;
                basis[i] = b1;
            }
        }
        for (size_t i = 0; i < A; i++) {
            cpo_funding *fd = &ds->funding[perp_idx[i]];
            const cpo_bars *pb = &ds->bars[perp_idx[i]];
            fd->interval_ms = FUNDING_MS;
            fund[i] = FUND_MEAN;
            int64_t T = (floor_div(start, FUNDING_MS) + 1) * FUNDING_MS;
            const int64_t end = start + (int64_t)N * step;
            for (; T <= end; T += FUNDING_MS) {
                int64_t j = (T - start) / step - 1; /* last bar closed by T */
                if (j < 0)
                    continue;
                fund[i] = FUND_MEAN + FUND_PHI * (fund[i] - FUND_MEAN) +
                          FUND_SD * gsl_ran_ugaussian(rf);
                if (cpo_funding_append(fd, T, fund[i], pb->mark[j], pb->index[j]))
                    goto nomem;
            }
        }
    }

    for (size_t i = 0; i < A; i++) {
        rows += ds->bars[spot_idx[i]].n;
        if (spec->perps)
            rows += ds->bars[perp_idx[i]].n + ds->funding[perp_idx[i]].n;
    }

    if (spec->options) {
        size_t crows = 0;
        if ((rc = gen_options(ds, spec, &ds->bars[spot_idx[0]], &crows, err)))
            goto cleanup;
        rows += crows;
    }
    for (int inv = 0; inv < 2; inv++)
        if ((spec->futures & (inv ? CPO_SYNTH_FUTURES_INVERSE : CPO_SYNTH_FUTURES_LINEAR)) &&
            (rc = gen_futures(ds, spec, inv, spot_idx, &rows, err)))
            goto cleanup;

    /* Provenance: everything needed to generate it again. */
    cpo_provenance p;
    memset(&p, 0, sizeof p);
    snprintf(p.source, sizeof p.source, "synthetic");
    snprintf(p.format, sizeof p.format, "synthetic");
    if (A == 1)
        snprintf(p.target, sizeof p.target, "SYN000USDT");
    else
        snprintf(p.target, sizeof p.target, "SYN000USDT..SYN%03zuUSDT", A - 1);
    p.rows_read = p.rows_kept = (int64_t)rows;
    p.import_ms = 0; /* not the wall clock: the same spec gives the same bytes */
    {
        char st[40], sp[24], vol[32], corr[32], dof[32];
        cpo_time_format(start, st, sizeof st);
        cpo_duration_format(step, sp, sizeof sp);
        fmt_double(vol, sizeof vol, spec->vol_annual);
        fmt_double(corr, sizeof corr, spec->corr);
        fmt_double(dof, sizeof dof, spec->t_dof);
        int w = snprintf(p.options, sizeof p.options,
                         "seed=%llu assets=%zu steps=%zu start=%s step=%s vol=%s corr=%s "
                         "dof=%s perps=%d options=%d",
                         (unsigned long long)spec->seed, A, N, st, sp, vol, corr, dof,
                         spec->perps ? 1 : 0, spec->options ? 1 : 0);
        if (spec->futures && w > 0 && (size_t)w < sizeof p.options) {
            static const char *const fut[] = {"none", "linear", "inverse", "both"};
            char bm[32], bk[32], bv[32];
            fmt_double(bm, sizeof bm, spec->basis_mean);
            fmt_double(bk, sizeof bk, spec->basis_kappa);
            fmt_double(bv, sizeof bv, spec->basis_vol);
            snprintf(p.options + w, sizeof p.options - (size_t)w,
                     " futures=%s basis=%s basis_kappa=%s basis_vol=%s", fut[spec->futures], bm,
                     bk, bv);
        }
    }
    if ((rc = cpo_dataset_add_provenance(ds, &p, err)))
        goto cleanup;
    rc = 0;
    goto cleanup;

nomem:
    rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0,
                       "out of memory generating the synthetic market");
cleanup:
    if (rs)
        gsl_rng_free(rs);
    if (rp)
        gsl_rng_free(rp);
    if (rf)
        gsl_rng_free(rf);
    free(spot_idx);
    free(perp_idx);
    free(price);
    free(basis);
    free(mbasis);
    free(fund);
    return rc;
}
