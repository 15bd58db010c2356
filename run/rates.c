/*
 * rates.c - dated rate series for [financing] (cash.CCY, borrow.CCY, rf =
 * FILE): a CSV of `date,rate`, the rate annual and decimal (0.04 = 4 % a
 * year), one row a date (ISO date or UTC date-time), ascending.  '#' lines
 * are comments (the series' source).  Refused, with path:line:col: a row
 * that is not two fields, a date that does not parse or does not follow the
 * one before it, a rate that is not a number in [-0.5, 2], and a gap of
 * more than 7 days between two dates (a series with holes would carry one
 * rate across them without saying so: weekends and holidays pass, a
 * missing month does not).
 */
#include "run_rates.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/time.h"
#include "csvread.h"

#define MAX_GAP_MS (7 * CPO_MS_DAY)

typedef struct rr {
    const char *path;
    cpo_error *err;
    int header;      /* 1 once the header row was seen */
    int64_t *ts;
    double *rate;
    size_t n, cap;
} rr;

static int row(void *ctx, const cpo_csv_row *rw)
{
    rr *r = ctx;
    if (rw->n && rw->f[0][0] == '#')
        return 0;
    if (!r->header) {
        r->header = 1;
        if (rw->n != 2 || strcmp(rw->f[0], "date") || strcmp(rw->f[1], "rate"))
            return cpo_error_set(r->err, CPO_EFORMAT, r->path, rw->line, 1,
                                 "the header is not date,rate (expected the columns date,rate: an "
                                 "ISO date and an annual rate, 0.04 = 4 %%)");
        return 0;
    }
    if (rw->n != 2)
        return cpo_error_set(r->err, CPO_EFORMAT, r->path, rw->line, rw->n > 2 ? 3 : 1,
                             "%zu fields (expected 2: date,rate)", rw->n);
    int64_t t;
    if (cpo_time_parse(rw->f[0], rw->len[0], &t, NULL, NULL))
        return cpo_error_set(r->err, CPO_EPARSE, r->path, rw->line, 1,
                             "date \"%s\" is not valid (expected an ISO date like 2024-01-31)",
                             rw->f[0]);
    double x;
    if (cpo_parse_f64(rw->f[1], rw->len[1], &x) || !(x >= -0.5 && x <= 2.0))
        return cpo_error_set(r->err, CPO_EDATA, r->path, rw->line, 2,
                             "rate \"%s\" is not valid (expected an annual rate in [-0.5, 2]: "
                             "0.04 = 4 %% a year)",
                             rw->f[1]);
    if (r->n) {
        int64_t prev = r->ts[r->n - 1];
        if (t <= prev)
            return cpo_error_set(r->err, CPO_EDATA, r->path, rw->line, 1,
                                 "date %s does not follow the row before it (expected ascending "
                                 "dates, each once)",
                                 rw->f[0]);
        if (t - prev > MAX_GAP_MS) {
            char a[40], d[40];
            cpo_time_format_date(prev, a, sizeof a);
            cpo_duration_format(t - prev, d, sizeof d);
            return cpo_error_set(r->err, CPO_EDATA, r->path, rw->line, 1,
                                 "a gap of %s after %s (expected a rate at least every 7 days)",
                                 d, a);
        }
    }
    if (r->n == r->cap) {
        size_t nc = r->cap ? 2 * r->cap : 256;
        int64_t *nt = realloc(r->ts, nc * sizeof *nt);
        if (!nt)
            return cpo_error_set(r->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        r->ts = nt;
        double *nr = realloc(r->rate, nc * sizeof *nr);
        if (!nr)
            return cpo_error_set(r->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        r->rate = nr;
        r->cap = nc;
    }
    r->ts[r->n] = t;
    r->rate[r->n++] = x;
    return 0;
}

int cpo_rates_read(const char *path, int64_t **ts, double **rate, size_t *n, cpo_error *err)
{
    rr r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.err = err;
    *ts = NULL;
    *rate = NULL;
    *n = 0;
    int rc = cpo_csv_read(path, row, &r, err);
    if (!rc && r.n == 0)
        rc = cpo_error_set(err, CPO_EDATA, path, 0, 0,
                           "no rate (expected rows date,rate under the header)");
    if (rc) {
        free(r.ts);
        free(r.rate);
        return rc;
    }
    *ts = r.ts;
    *rate = r.rate;
    *n = r.n;
    return 0;
}
