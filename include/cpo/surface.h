/*
 * cpo/surface.h - an implied-volatility surface built from one option
 * chain snapshot, for pricing options between snapshots.  METHODS.md 2.2
 * (Black-76 on the forward), 2.3 (coin values of inverse options), 3
 * (sticky strike).
 *
 * Built once per snapshot (cpo_surface_new), then queried any number of
 * times: a query allocates nothing, changes nothing, and may run on
 * parallel threads.
 *
 * Time.  T in years is ACT/365 in milliseconds: (expiry_ms - t_ms) /
 * (365 * 86400000), as in cpo/black76.h.  The snapshot time t0 is the rows'
 * common ts; T_i = (expiry_i - t0) / year is expiry i's time at the
 * snapshot.
 *
 * The nodes.  For each expiry of the snapshot:
 *   - its forward F_i: the median of the rows' forwards (fwd_px, finite)
 *     over all rows of that expiry (calls and puts; Deribit records one
 *     futures price per row, and rows quoted a few seconds apart differ by
 *     up to about 5 bp); if no row has one, put-call parity of the coin
 *     marks at the strike whose call and put marks are closest (r = 0:
 *     coin marks at the forward c_C - c_P = (F - K)/F, so F = K/(1 - (c_C
 *     - c_P)); with opts.parity_by_index, c_C - c_P = (F - K)/I); else the
 *     median index of the snapshot.  A forward that is present but not
 *     positive is an error, never replaced.
 *   - its points: log-moneyness k = ln(K/F_i) and the row's mark IV of
 *     the out-of-the-money option at each strike: the call for K >= F_i,
 *     the put for K < F_i.  Rows are dropped, in this order and counted by
 *     reason (cpo_surface_info): expired (expiry <= t0), in the money (the
 *     other right at that strike), no IV (mark IV NaN, infinite or <= 0),
 *     crossed (bid and ask both present and bid > ask), duplicate (a second
 *     usable row with the same expiry, strike and right: the one earlier in
 *     the chain is kept).  So every strike gives at most one point and the
 *     result does not depend on the row order beyond the first-kept rule.
 *   An expiry left with no point is not part of the surface.
 *
 * The snapshot surface sigma_0(k, T) (non-parametric):
 *   - within expiry i: Steffen's monotone cubic through the points in k
 *     (GSL gsl_interp_steffen; linear with 2 points, constant with 1): it
 *     passes through every point, is monotone between adjacent points, and
 *     has its extrema only at points (no overshoot).  Beyond the outermost
 *     points the smile is flat: sigma_i(k) = sigma_i(k_min) for k < k_min.
 *   - between expiries T_i < T < T_i+1: total variance w = sigma^2 T is
 *     linear in T at fixed k:
 *         w(k, T) = w_i(k) + (w_i+1(k) - w_i(k)) (T - T_i)/(T_i+1 - T_i),
 *         w_i(k) = sigma_i(k)^2 T_i,    sigma = sqrt(w/T).
 *   - before the first expiry (T < T_1): sigma(k, T) = sigma_1(k) (total
 *     variance scales with T, flat vol); after the last: sigma_N(k).
 *   - calendar arbitrage (w_i+1(k) < w_i(k)) is counted, not refused: at
 *     every point k of two adjacent expiries that lies inside both their
 *     ranges of k (cpo_surface_info.calendar_*).
 *
 * The snapshot's forward curve F_0(T): ln F linear in T through (0, ln
 * I_0) (I_0 the median index of the snapshot; omitted if it has none) and
 * (T_i, ln F_i) for every expiry; beyond the last expiry the last
 * segment's slope continues (constant basis rate); with one expiry and no
 * index it is flat.  F_0(T_i) = F_i exactly.
 *
 * The fitted surface sigma_fit(k, T) (parametric, DVOL mode): per expiry
 *
 *     sigma_i(k) = atm_i (1 + skew_i k + curv_i k^2),   k in [k_min, k_max]
 *
 * (flat beyond the expiry's outermost points, at least opts.fit_vol_floor)
 * fitted by weighted linear least squares (gsl_multifit_wlinear, columns
 * 1, k, k^2) with vega weights w = phi(d1)/phi(0) + 0.01, d1 = -k/s +
 * s/2, s = sigma sqrt(T_i) of the point itself: the fit follows the
 * options whose prices depend on the vol, the far wings count at 1 % of
 * the money.  2 points: the line through them (curv 0); 1 point: flat.
 * Between and beyond expiries as above (linear total variance at fixed
 * k, flat vol outside).
 *
 * Queries (cpo_surface_vol).  A query is an option (strike K, expiry E)
 * valued at time t >= t0, with the forward F of expiry E at time t as the
 * caller has it (the future's mark, or the cube's).
 *
 *   CPO_SURFACE_STICKY_STRIKE.  The implied vol of an option is a
 *   function of its strike and expiry date only, held fixed while the
 *   underlying and the clock move between snapshots:
 *
 *       sigma(K, E; t) = sigma_0(ln(K / F_0(T_E)), T_E),  T_E = (E - t0)/year
 *
 *   i.e. the snapshot's smile read at the option's own strike with the
 *   snapshot's forward of that expiry and the option's time to expiry as
 *   of the snapshot.  The caller's F and t do not move the vol (only the
 *   price); at t = t0 every point's IV is returned exactly.  (Reading the
 *   smile at ln(K/F) with the current F would be sticky moneyness: the
 *   smile would move with the underlying.)
 *
 *   CPO_SURFACE_DVOL_SCALED.  The fitted smile floats with the forward and
 *   the clock, its level scaled by the 30-day implied-vol index:
 *
 *       sigma(K, E; t) = lambda(t) sigma_fit(ln(K/F), (E - t)/year),
 *       lambda(t) = DVOL(t) / DVOL(t0),
 *
 *   where DVOL(t) is the close of the last DVOL bar known at t: a bar
 *   stamped ts (Deribit: the day's 00:00 UTC open time) is known from ts +
 *   opts.dvol_known_after_ms (default 1 day: the day's close is known at
 *   the end of the day), bars with a close that is NaN or not positive are
 *   skipped.  So at a snapshot on Friday 09:18 UTC DVOL(t0) is Thursday's
 *   close, and a query at Saturday 12:00 uses Friday's close: a value
 *   dated after the query, or whose day has not ended, is never used.
 *   lambda applies to the whole surface (doubling DVOL doubles every vol,
 *   the 30-day ATM one included).
 *
 * Errors: 0 or a negative CPO_E* code with a message in the optional
 * cpo_error ("BTC snapshot 2026-01-02T09:18:09.153Z: ...").
 */
#ifndef CPO_SURFACE_H
#define CPO_SURFACE_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/black76.h"
#include "cpo/dataset.h"
#include "cpo/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How vols between snapshots are obtained (recorded in the run manifest). */
typedef enum cpo_surface_mode {
    CPO_SURFACE_STICKY_STRIKE = 0, /* "sticky_strike" */
    CPO_SURFACE_DVOL_SCALED = 1,   /* "dvol_scaled" */
    CPO_SURFACE_MODE_COUNT
} cpo_surface_mode;

/* "sticky_strike", "dvol_scaled"; "unknown" for anything else. */
const char *cpo_surface_mode_name(int mode);
/* The inverse of cpo_surface_mode_name; CPO_EINVAL (message lists the
 * names) if s is none of them. */
int cpo_surface_mode_parse(const char *s, cpo_surface_mode *out, cpo_error *err);

typedef struct cpo_surface_opts {
    cpo_surface_mode mode;      /* default STICKY_STRIKE */
    const cpo_ivindex *dvol;    /* DVOL_SCALED: the index (borrowed: it must
                                   outlive the surface); ignored otherwise */
    int64_t dvol_known_after_ms; /* a DVOL bar stamped ts is known from ts +
                                    this (default CPO_MS_DAY: daily closes) */
    int parity_by_index;        /* forwards from parity: 0 coin marks are
                                   V/F (Deribit, default), 1 they are V/I */
    size_t min_expiries;        /* fewer expiries with points: CPO_EDATA
                                   (default 1) */
    double fit_vol_floor;       /* the fitted smile is at least this
                                   (default 0.01) */
} cpo_surface_opts;

void cpo_surface_opts_init(cpo_surface_opts *o);

/* Where an expiry's forward came from. */
typedef enum cpo_surface_fwd_source {
    CPO_SURFACE_FWD_ROWS = 0,   /* median of the rows' fwd_px */
    CPO_SURFACE_FWD_PARITY = 1, /* put-call parity of the coin marks */
    CPO_SURFACE_FWD_INDEX = 2   /* the snapshot's median index */
} cpo_surface_fwd_source;

/* What the build did. */
typedef struct cpo_surface_info {
    char underlying[CPO_CCY_MAX];
    cpo_surface_mode mode;
    int64_t snapshot_ms;   /* t0 */
    double index;          /* I_0, the median index_px; NaN if none */
    size_t rows;           /* rows given */
    size_t points;         /* points kept (all expiries) */
    size_t expiries;       /* expiries with at least one point */
    size_t expiries_empty; /* expiries (not expired) left without a point */
    size_t dropped_expired, dropped_itm, dropped_no_iv, dropped_crossed, dropped_duplicate;
    size_t fwd_parity, fwd_index; /* expiries whose forward came from there */
    size_t calendar_checked;    /* (pair of adjacent expiries, k) checked */
    size_t calendar_violations; /* of which w_i+1(k) < w_i(k) */
    double calendar_worst;      /* largest w_i(k) - w_i+1(k); 0 if none */
    double fit_rms;             /* root mean square of sigma_fit - mark IV
                                   over all points (unweighted) */
    double dvol_ref;            /* DVOL(t0) (index units, percent); NaN in
                                   STICKY_STRIKE mode */
    int64_t dvol_ref_ms;        /* ts of the DVOL bar used; CPO_TIME_NONE */
} cpo_surface_info;

/* One expiry of a surface: views into it (valid while it lives). */
typedef struct cpo_surface_expiry {
    int64_t expiry_ms;
    double t_years;        /* T_i at the snapshot */
    double fwd;            /* F_i */
    cpo_surface_fwd_source fwd_source;
    size_t n;              /* points */
    const double *k;       /* [n] ln(K/F_i), strictly increasing */
    const double *vol;     /* [n] mark IV (decimal) */
    const double *strike;  /* [n] K, USD */
    const int8_t *right;   /* [n] cpo_right of the option used */
    double atm, skew, curv; /* the fit: atm (1 + skew k + curv k^2) */
    double fit_rms;        /* rms of the fit's residuals (vol) */
} cpo_surface_expiry;

typedef struct cpo_surface cpo_surface;

/*
 * Build a surface from the rows [begin, end) of a chain, which must all
 * have the same ts (one snapshot; cpo_surface_find_snapshot finds them in
 * a sorted chain).  o may be NULL (defaults).  *out belongs to the caller
 * (cpo_surface_free).  The chain is not referenced after the call.
 * Errors: CPO_EINVAL (range, mixed ts, options; DVOL mode without an
 * index), CPO_EDATA (a strike or forward present but not positive, an
 * expiry without any forward, no usable point, fewer expiries than
 * opts.min_expiries), CPO_ENOTFOUND (DVOL mode: no DVOL value known at
 * the snapshot), CPO_ENUMERIC (GSL failed), CPO_ENOMEM.
 */
int cpo_surface_new(cpo_surface **out, const cpo_chain *ch, size_t begin, size_t end,
                    const cpo_surface_opts *o, cpo_error *err);
void cpo_surface_free(cpo_surface *s); /* NULL is a no-op */

/*
 * The rows of the latest snapshot at or before t_ms in a chain sorted by
 * ts (as a dataset's and a cube's chains are): [*begin, *end).  Returns 0,
 * or CPO_ENOTFOUND if every snapshot is after t_ms (or the chain is
 * empty).
 */
int cpo_surface_find_snapshot(const cpo_chain *ch, int64_t t_ms, size_t *begin, size_t *end);

const cpo_surface_info *cpo_surface_info_get(const cpo_surface *s);
size_t cpo_surface_n_expiries(const cpo_surface *s);
/* Expiry i (0 .. n-1, increasing T); CPO_ERANGE if i is out of range. */
int cpo_surface_expiry_get(const cpo_surface *s, size_t i, cpo_surface_expiry *out);

/* --- queries ------------------------------------------------------------- */

/* An option valued at time t_ms from the surface. */
typedef struct cpo_surface_query {
    int64_t t_ms;      /* valuation time, >= the snapshot time */
    int64_t expiry_ms; /* the option's expiry, > t_ms */
    double strike;     /* K > 0, USD */
    double fwd;        /* F > 0 of that expiry at t_ms, USD (DVOL mode and
                          prices; STICKY_STRIKE's vol does not use it) */
    /* Prices only (cpo_surface_price): */
    int right;         /* cpo_right */
    double index;      /* I > 0, the index at t_ms, USD */
    double coin_px;    /* P > 0 for the coin value c = V/P: index (METHODS
                          2.3) or fwd (Deribit's mark convention) */
    double rate;       /* r, continuous per year; 0 for Deribit */
} cpo_surface_query;

/* Zero every field but fwd/index/coin_px (NaN). */
void cpo_surface_query_init(cpo_surface_query *q);

/*
 * The implied vol of the option per the surface's mode (above).  Returns 0,
 * or CPO_EINVAL (strike, fwd in DVOL mode not positive; t before the
 * snapshot; expired: E <= t), CPO_ENOTFOUND (DVOL mode: no DVOL known at
 * t); *vol is NaN then.
 */
int cpo_surface_vol(const cpo_surface *s, const cpo_surface_query *q, double *vol,
                    cpo_error *err);

/* Price and Greeks of the option at the surface's vol. */
typedef struct cpo_surface_px {
    double vol;               /* sigma from cpo_surface_vol */
    double t_years;           /* (E - t)/year */
    cpo_black76_out usd;      /* cpo_black76 on (F, K, T, r, sigma): USD */
    cpo_black76_coin coin;    /* cpo_black76_coin_greeks(usd, F, I, P):
                                 the Deribit inverse option, in coin */
} cpo_surface_px;

/*
 * Price a Deribit inverse option (and its USD/linear equivalent) from the
 * surface: vol from cpo_surface_vol, then cpo_black76 and
 * cpo_black76_coin_greeks.  Errors as cpo_surface_vol, and CPO_EINVAL for
 * a right, index, coin_px or rate that is not valid; every output NaN.
 */
int cpo_surface_price(const cpo_surface *s, const cpo_surface_query *q, cpo_surface_px *out,
                      cpo_error *err);

/*
 * The pieces, in the snapshot's frame (no DVOL scaling).  NaN for a t
 * that is not positive and finite or a k that is not finite.
 */
double cpo_surface_vol_kt(const cpo_surface *s, double k, double t_years); /* sigma_0 */
double cpo_surface_fit_vol_kt(const cpo_surface *s, double k, double t_years); /* sigma_fit */
double cpo_surface_fwd(const cpo_surface *s, double t_years);              /* F_0(T) */

/*
 * lambda(t) = DVOL(t)/DVOL(t0) (DVOL mode), *dvol_ms the ts of the bar
 * used (may be NULL).  CPO_EINVAL in STICKY_STRIKE mode or for t before
 * the snapshot, CPO_ENOTFOUND if no DVOL is known at t.
 */
int cpo_surface_dvol_scale(const cpo_surface *s, int64_t t_ms, double *scale, int64_t *dvol_ms,
                           cpo_error *err);

#ifdef __cplusplus
}
#endif
#endif
