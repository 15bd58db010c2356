/*
 * attrib_impl.h - the collector behind cpo/attrib.h, shared by attrib.c
 * (rows, assets, risk, files) and attrib_factor.c (factors, regressions,
 * holdings).  Private to libcpo.
 */
#ifndef CPO_ATTRIB_IMPL_H
#define CPO_ATTRIB_IMPL_H

#include "cpo/attrib.h"

/* The instrument lines of the ledger rows that attribution keeps. */
#define AT_LINES 5 /* price, funding, fees, slippage, liquidation */

/* One ledger row as kept: 56 bytes. */
typedef struct at_row {
    uint32_t step;          /* market step */
    uint32_t instr;
    double exposure;        /* signed, reporting currency, at the close */
    double pnl[AT_LINES];   /* reporting currency */
} at_row;

/* A coin of the factor universe: one spot instrument of the store. */
typedef struct at_coin {
    char base[CPO_CCY_MAX];
    char symbol[CPO_SYMBOL_MAX];
    int64_t bar_ms;
    size_t n;
    int64_t *ts;     /* bar opens */
    double *close;
} at_coin;

struct cpo_attrib {
    cpo_attrib_opts opts;
    int has_fin;              /* the result has the financing line: a third
                                 book part (after revaluation, residual) */
    /* the market, copied */
    size_t n_steps, n_instr;
    int64_t step_ms;
    int64_t *ts;              /* [n_steps] */
    double *px;               /* [n_instr * n_steps]: mark where finite, else close */
    cpo_instrument *instr;    /* [n_instr] */
    /* the rows */
    at_row *rows;
    size_t n_rows, cap_rows;
    int too_big;              /* the worst case exceeds opts.max_bytes */
    int disorder;             /* rows came out of step order */
    char big_note[200];
    cpo_ledger_sink next;
    void *next_ctx;
    /* factor inputs */
    size_t n_coins;
    at_coin *coins;
    size_t n_snap;
    int64_t *snap_ts;         /* [n_snap] snapshot times */
    double *cap;              /* [n_snap * n_coins] USD; NaN = not listed */
    int has_caps;             /* some coin has a cap */
    long proxy_coin;          /* coin index of opts.proxy, or -1 */
    char in_note[256];        /* about the inputs (no store, no caps) */
    /* results */
    int computed;
    cpo_attrib_assets assets;
    cpo_attrib_risk risk;
    cpo_attrib_factors factors;
    /* per-step series (for the cumulative file) */
    size_t ser_steps;         /* run steps */
    double *ser_c;            /* [ser_steps * (n_instr + 2)] contributions per step */
    double *ser_r;            /* [ser_steps] R_t */
    int64_t *ser_ts;          /* [ser_steps] */
    /* the run, as the factor module needs it */
    double *w_period;         /* [n_periods * n_instr] start-of-period weights */
};

/* attrib_factor.c */
int at_factor_inputs(cpo_attrib *a, const cpo_dataset *ds, cpo_error *err);
void at_factor_inputs_free(cpo_attrib *a);
/* Periods of the run (start rows), before the pass over the rows:
 * *starts gets n_periods + 1 row indices (the last = n_steps). */
int at_factor_periods(const cpo_attrib *a, const cpo_result *r, size_t **starts,
                      size_t *n_periods, cpo_error *err);
/* The factor tables, after the pass (a->w_period filled). */
int at_factor_compute(cpo_attrib *a, const cpo_result *r, const size_t *starts,
                      size_t n_periods, cpo_error *err);
void at_factor_free(cpo_attrib_factors *f);
/* Write the two factor files to their streams. */
int at_factor_write(const cpo_attrib *a, const cpo_result *r, FILE *fp_sum, FILE *fp_roll,
                    cpo_error *err);

/* The CSV writers both use (core/csvwrite.h). */
#include "csvwrite.h"

#endif
