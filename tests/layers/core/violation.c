/*
 * violation.c - a call and an include that run up: a file that would sit
 * in core/ but includes the engine's header and calls the engine.  ctest
 * check_layers_catches hands its object to scripts/check_layers.sh as part
 * of the core layer, check_layers_catches_include its folder as the
 * sources (--src tests/layers), and each expects the violation to be
 * named; it is never linked into anything.
 */
#include "cpo/backtest.h"

int cpo_layer_violation(cpo_result **out, const cpo_market *m, const cpo_run_spec *spec);

int cpo_layer_violation(cpo_result **out, const cpo_market *m, const cpo_run_spec *spec)
{
    return cpo_backtest_run(out, m, spec, NULL, NULL, NULL);
}
