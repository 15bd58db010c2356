/*
 * weigh_agent.c - the "agent" weigh stage: the target weights a learning
 * agent gives through cpo_env (include/cpo/env.h, run/env.c).  The env
 * makes the pipeline schedule `every` + weigh `agent`, and before each
 * decision points the stage's state, a cpo_agent_slot (builtin.h), at the
 * action's weights; the engine sizes and fills them as any weigh stage's.
 *
 * In `cpo run` nothing sets the slot: the stage refuses to run there (an
 * episode's recorded actions run with weigh = replay).
 */
#include "builtin.h"

static int agent_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                     cpo_stage_io *io, cpo_error *err)
{
    (void)p, (void)h, (void)v;
    const cpo_agent_slot *s = state;
    if (!s)
        return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                             "agent: the targets of weigh = agent come from a learning agent "
                             "through cpo_env (cpo/env.h, cpo.Env in Python) (expected weigh = "
                             "replay to run an episode's recorded actions)");
    if (!s->weight)
        return 0;
    for (size_t i = 0; i < io->n; i++)
        if (io->selected[i])
            io->weight[i] = s->weight[i];
    return 0;
}

const cpo_stage_def cpo_stage_agent = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "agent", CPO_ROLE_WEIGH,
    "the weights of a learning agent, one per instrument at every step (cpo_env; not for cpo run)",
    NULL, 0, NULL, agent_run, NULL};
