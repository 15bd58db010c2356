/*
 * sched_drift.c - the "drift" schedule stage: rebalance when a weight
 * leaves its band around the last target (METHODS, "Rebalancing"):
 *
 *     absolute  |w_i - w*_i| > abs          (abs > 0)
 *     relative  |w_i / w*_i - 1| > rel      (rel > 0, w*_i != 0)
 *
 * w_i is the instrument's weight in the book at the close of this step
 * (h->weight), w*_i its last target (h->target); instruments without a
 * target (NaN) are ignored, and the relative band ignores w*_i = 0.
 * mode any fires when some instrument breaches an enabled band, mode all
 * when some instrument breaches every enabled band.  The stage also fires
 * while no instrument has a target yet, so "drift" alone starts a
 * strategy.  A calendar-or-band rule is two schedule stages
 * ("monthly, drift"): the engine ORs them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

typedef struct drift_state {
    double abs_band, rel_band;
    int all; /* mode all */
} drift_state;

static const cpo_param_spec drift_params[] = {
    {"abs", CPO_PARAM_REAL, "0.05", 0, 10, NULL,
     "absolute band |w - w*| in weight units (0 = off)"},
    {"rel", CPO_PARAM_REAL, "0", 0, 100, NULL, "relative band |w / w* - 1| (0 = off)"},
    {"mode", CPO_PARAM_CHOICE, "any", 0, 0, "any|all",
     "any: fire when a weight breaches either band; all: when it breaches both"},
};

static int drift_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                      cpo_error *err)
{
    (void)v;
    double a = h->param_real(p, "abs"), r = h->param_real(p, "rel");
    if (!(a > 0.0) && !(r > 0.0))
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "drift: both bands are off (abs = 0 and rel = 0) (expected abs > 0 "
                             "or rel > 0; \"once\" is the schedule that never rebalances)");
    drift_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    s->abs_band = a;
    s->rel_band = r;
    s->all = !strcmp(h->param_str(p, "mode"), "all");
    *state = s;
    return 0;
}

static void drift_fini(void *state)
{
    free(state);
}

static int drift_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                     cpo_stage_io *io, cpo_error *err)
{
    (void)p, (void)err;
    const drift_state *s = state;
    size_t n = h->n_instr(v);
    int any_target = 0;
    for (size_t i = 0; i < n; i++) {
        double ws = h->target(v, i);
        if (!isfinite(ws))
            continue;
        any_target = 1;
        double w = h->weight(v, i);
        if (!isfinite(w))
            continue;
        int on_a = s->abs_band > 0.0, on_r = s->rel_band > 0.0;
        int out_a = on_a && fabs(w - ws) > s->abs_band;
        int out_r = on_r && ws != 0.0 && fabs(w / ws - 1.0) > s->rel_band;
        int breach = s->all ? (!on_a || out_a) && (!on_r || out_r) : out_a || out_r;
        if (breach) {
            io->fire = 1;
            return 0;
        }
    }
    if (!any_target)
        io->fire = 1;
    return 0;
}

const cpo_stage_def cpo_stage_drift = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "drift", CPO_ROLE_SCHEDULE,
    "rebalance when a weight leaves its band around the last target (and at the start)",
    drift_params, sizeof drift_params / sizeof drift_params[0], drift_init, drift_run,
    drift_fini};
