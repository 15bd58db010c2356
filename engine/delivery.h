/*
 * delivery.h - the delivery price of an expiry: the time-weighted average
 * of an index over the 30 minutes before it (engine/delivery.c), shared by
 * the option book and dated futures.  Private to libcpo.
 */
#ifndef CPO_ENGINE_DELIVERY_H
#define CPO_ENGINE_DELIVERY_H

#include <stdint.h>

#include "cpo/market.h"

/*
 * The TWAP of the index over [T - 30 min, T] from raw bars (at their own
 * spacing: the market's delivery series) if raw is not NULL, else from
 * the grid bars of instrument i of m; each bar's path taken as a line from
 * its open to its close, only bars that end by T used.  *approx = 1 when
 * the bars are coarser than a minute or do not cover the whole window.
 * NaN if no bar covers any of it.
 */
double cpo_delivery_twap(const cpo_bars *raw, const cpo_market *m, size_t i, int64_t T,
                         int *approx);

#endif
