/*
 * cpo/synth.h - a seeded synthetic market for tests and benchmarks.
 *
 * Correlated fat-tailed returns (a one-factor model with Student-t
 * shocks), OHLCV bars, perpetuals with 8-hourly funding that follows a
 * mean-reverting process, an option chain priced from a smile surface,
 * and quarterly futures on a mean-reverting annualised basis.  The same
 * spec and seed give the same bytes on every machine.
 */
#ifndef CPO_SYNTH_H
#define CPO_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/dataset.h"
#include "cpo/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cpo_synth_spec {
    uint64_t seed;
    size_t n_assets;        /* spot instruments "SYN000USDT", ... */
    size_t n_steps;         /* bars per asset */
    int64_t start_ms;
    int64_t step_ms;        /* bar spacing (1h default) */
    double vol_annual;      /* typical annual volatility (0.6) */
    double corr;            /* average pairwise correlation (0.5) */
    double t_dof;           /* Student-t degrees of freedom (4) */
    int perps;              /* 1: also a USDT-M perp per asset, with funding */
    int options;            /* 1: an option chain on asset 0, daily snapshots */
    /* Quarterly futures per asset (CPO_SYNTH_FUTURES_*: linear "SYN000USDT_240329",
     * inverse "SYN000USD_240329", or both), priced F = S exp(b(t) T) with
     * b(t) an Ornstein-Uhlenbeck annualised basis: */
    int futures;
    double basis_mean;      /* its long-run mean (0.08 a year) */
    double basis_kappa;     /* its mean reversion per year (6: a half-life of 42 days) */
    double basis_vol;       /* its volatility per square root of a year (0.15) */
} cpo_synth_spec;

#define CPO_SYNTH_FUTURES_NONE 0
#define CPO_SYNTH_FUTURES_LINEAR 1
#define CPO_SYNTH_FUTURES_INVERSE 2
#define CPO_SYNTH_FUTURES_BOTH 3

void cpo_synth_spec_init(cpo_synth_spec *s);

/* Fill ds (normally empty) with the synthetic market. */
int cpo_synth_generate(cpo_dataset *ds, const cpo_synth_spec *spec,
                       cpo_error *err);

#ifdef __cplusplus
}
#endif
#endif
