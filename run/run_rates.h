/*
 * run_rates.h - dated rate series for [financing] (run/rates.c).  Private
 * to libcpo.
 */
#ifndef CPO_RUN_RATES_H
#define CPO_RUN_RATES_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/error.h"

/* Read path (CSV date,rate); *ts and *rate (n values, ascending dates)
 * belong to the caller (free).  Errors with path, line and column. */
int cpo_rates_read(const char *path, int64_t **ts, double **rate, size_t *n, cpo_error *err);

#endif
