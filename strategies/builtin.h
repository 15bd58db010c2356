/*
 * builtin.h - the built-in stage tables (private to libcpo).
 *
 * Every built-in stage is a const cpo_stage_def like a plugin's, uses the
 * host API only, and is registered by cpo_registry_new through
 * cpo_registry_add, so it passes the same checks as a loaded one.
 */
#ifndef CPO_STRATEGIES_BUILTIN_H
#define CPO_STRATEGIES_BUILTIN_H

#include "cpo/stage.h"

/* schedule (sched_every.c, sched_calendar.c, sched_drift.c) */
extern const cpo_stage_def cpo_stage_every;
extern const cpo_stage_def cpo_stage_once;
extern const cpo_stage_def cpo_stage_every_n;
extern const cpo_stage_def cpo_stage_daily;
extern const cpo_stage_def cpo_stage_weekly;
extern const cpo_stage_def cpo_stage_monthly;
extern const cpo_stage_def cpo_stage_drift;
/* select (select_all.c, select_list.c, select_top.c) */
extern const cpo_stage_def cpo_stage_all;
extern const cpo_stage_def cpo_stage_list;
extern const cpo_stage_def cpo_stage_top_volume;
extern const cpo_stage_def cpo_stage_top_cap; /* select_top_cap.c */
/* overlay (overlay_events.c, overlay_roll.c) */
extern const cpo_stage_def cpo_stage_events;
extern const cpo_stage_def cpo_stage_roll;
/* weigh (weigh_equal.c, weigh_fixed.c) */
extern const cpo_stage_def cpo_stage_equal;
extern const cpo_stage_def cpo_stage_fixed;
/* weigh (weigh_agent.c): the targets a learning agent gives through
 * cpo_env (run/env.c), and the targets of a recorded episode's file */
extern const cpo_stage_def cpo_stage_agent;
extern const cpo_stage_def cpo_stage_replay;

/* Where the agent stage reads its targets: the env sets the stage's state
 * to its slot after eng_begin (the stage has no init), and weight to an
 * array of one target weight per instrument for the decision of a step
 * (NULL: no decision, nothing changes). */
typedef struct cpo_agent_slot {
    const double *weight;
} cpo_agent_slot;
/* options (opt_stages.c): weigh strangle, straddle, covered_call,
 * protective_put; hedge delta_hedge */
extern const cpo_stage_def cpo_stage_strangle;
extern const cpo_stage_def cpo_stage_straddle;
extern const cpo_stage_def cpo_stage_covered_call;
extern const cpo_stage_def cpo_stage_protective_put;
extern const cpo_stage_def cpo_stage_delta_hedge;

/*
 * Helpers shared by the built-in stages (stage_util.c); host API only.
 */

/* CPO_ECONFIG "<stage>: symbol \"X\" is not in the market (expected one
 * of: A, B, ...)". */
int cpo_builtin_unknown_symbol(const cpo_host *h, const cpo_view *v, const char *stage,
                               const char *symbol, cpo_error *err);

/* The close of instrument i at the current step (NaN if missing). */
double cpo_builtin_close(const cpo_host *h, const cpo_view *v, size_t i);

#endif
