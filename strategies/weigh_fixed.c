/*
 * weigh_fixed.c - the "fixed" weigh stage: weights given per symbol,
 * "BTCUSDT:0.5, BTCUSDT-PERP:-0.5" (negative = short; they need not add up
 * to 1).  A listed instrument gets its weight while it is selected, and 0
 * when it is not; instruments not listed get 0.  The list is checked when
 * the run starts: a symbol the market does not hold, a weight that is not
 * a number, or a symbol listed twice is refused.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

static const cpo_param_spec fixed_params[] = {
    {"weights", CPO_PARAM_LIST, NULL, 0, 0, NULL,
     "SYMBOL:WEIGHT pairs, e.g. BTCUSDT:0.5, BTCUSDT-PERP:-0.5"},
};

/* Parse one "SYMBOL:WEIGHT" item into w[] (NaN = not listed yet). */
static int fixed_item(double *w, const char *item, const cpo_host *h, const cpo_view *v,
                      cpo_error *err)
{
    const char *colon = strrchr(item, ':');
    if (!colon || colon == item)
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "fixed: \"%s\" is not SYMBOL:WEIGHT (expected e.g. BTCUSDT:0.5)",
                             item);
    char sym[128];
    size_t len = (size_t)(colon - item);
    while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
        len--;
    if (len >= sizeof sym)
        len = sizeof sym - 1;
    memcpy(sym, item, len);
    sym[len] = '\0';
    const char *num = colon + 1;
    while (*num == ' ' || *num == '\t')
        num++;
    char *end;
    errno = 0;
    double x = strtod(num, &end);
    if (end == num || *end || errno || !isfinite(x))
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "fixed: weight \"%s\" of %s is not a number (expected a decimal "
                             "number such as 0.5 or -0.25)",
                             num, sym);
    long i = h->find(v, sym);
    if (i < 0)
        return cpo_builtin_unknown_symbol(h, v, "fixed", sym, err);
    if (!isnan(w[i]))
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "fixed: symbol \"%s\" is listed twice (expected each symbol once)",
                             sym);
    w[i] = x;
    return 0;
}

static int fixed_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                      cpo_error *err)
{
    size_t n = h->n_instr(v), k_max = h->param_count(p, "weights");
    int rc = 0;
    if (k_max == 0)
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "fixed: no weights (expected SYMBOL:WEIGHT pairs, e.g. "
                             "BTCUSDT:0.5)");
    double *w = malloc((n ? n : 1) * sizeof *w);
    if (!w)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t i = 0; i < n; i++)
        w[i] = NAN;
    for (size_t k = 0; k < k_max; k++)
        if ((rc = fixed_item(w, h->param_item(p, "weights", k), h, v, err)))
            goto cleanup;
    for (size_t i = 0; i < n; i++)
        if (isnan(w[i]))
            w[i] = 0.0;
    *state = w;
    return 0;
cleanup:
    free(w);
    return rc;
}

static void fixed_fini(void *state)
{
    free(state);
}

static int fixed_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                     cpo_stage_io *io, cpo_error *err)
{
    (void)p, (void)h, (void)v, (void)err;
    const double *w = state;
    for (size_t i = 0; i < io->n; i++)
        io->weight[i] = io->selected[i] ? w[i] : 0.0;
    return 0;
}

const cpo_stage_def cpo_stage_fixed = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "fixed", CPO_ROLE_WEIGH,
    "fixed weights per symbol (negative = short); 0 for the others", fixed_params,
    sizeof fixed_params / sizeof fixed_params[0], fixed_init, fixed_run, fixed_fini};
