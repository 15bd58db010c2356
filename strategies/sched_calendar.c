/*
 * sched_calendar.c - calendar schedule stages: "daily", "weekly",
 * "monthly".  Each fires on the first step whose UTC day, week or month
 * (of the step's time, h->now(): the bar's open) differs from the previous
 * step's, and on the first step of the run, so that a run starts invested.
 * With hourly bars "daily" fires on the 00:00 bar (or the first bar of a
 * day after a gap); with daily bars "monthly" fires on the first day of
 * each month that has a bar.
 */
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "cpo/time.h"

typedef enum cal_unit { CAL_DAY, CAL_WEEK, CAL_MONTH } cal_unit;

typedef struct cal_state {
    int have;       /* 1 once a step has been seen */
    int64_t last;   /* period of the previous step */
    int64_t wday;   /* weekly: first day of the week, 0 = Monday */
    int64_t m_from, m_to; /* monthly: the times [m_from, m_to) of month m_per, ms */
    int64_t m_per;
} cal_state;

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The period of time t: days since the epoch, weeks starting on s->wday,
 * or months since year 0 (the month's bounds kept, so that the calendar is
 * worked out once a month, not every step). */
static int64_t period_of(cal_state *s, cal_unit u, int64_t t)
{
    if (u == CAL_MONTH) {
        if (s->m_to > s->m_from && t >= s->m_from && t < s->m_to)
            return s->m_per;
        cpo_civil c;
        cpo_time_to_civil(t, &c);
        s->m_from = cpo_days_from_civil(c.year, c.month, 1) * CPO_MS_DAY;
        s->m_to = (c.month == 12 ? cpo_days_from_civil(c.year + 1, 1, 1)
                                 : cpo_days_from_civil(c.year, c.month + 1, 1)) *
                  CPO_MS_DAY;
        s->m_per = (int64_t)c.year * 12 + (c.month - 1);
        return s->m_per;
    }
    int64_t day = floor_div(t, CPO_MS_DAY);
    if (u == CAL_WEEK)
        /* 1970-01-01 was a Thursday: weekday (Monday = 0) of day d is
         * (d + 3) mod 7, so weeks starting on w are floor((d + 3 - w) / 7). */
        return floor_div(day + 3 - s->wday, 7);
    return day;
}

static const char *const weekdays[7] = {"monday", "tuesday", "wednesday", "thursday",
                                        "friday", "saturday", "sunday"};

static int cal_init(void **state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                    cpo_error *err)
{
    (void)v;
    cal_state *s = calloc(1, sizeof *s);
    if (!s)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    /* "" for daily and monthly, which have no weekday: Monday. */
    const char *wd = h->param_str(p, "weekday");
    for (int k = 0; k < 7; k++)
        if (!strcmp(wd, weekdays[k]))
            s->wday = k;
    *state = s;
    return 0;
}

static void cal_fini(void *state)
{
    free(state);
}

static int cal_step(cal_state *s, cal_unit u, const cpo_host *h, const cpo_view *v,
                    cpo_stage_io *io)
{
    int64_t per = period_of(s, u, h->now(v));
    if (!s->have || per != s->last)
        io->fire = 1;
    s->have = 1;
    s->last = per;
    return 0;
}

static int daily_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                     cpo_stage_io *io, cpo_error *err)
{
    (void)p, (void)err;
    return cal_step(state, CAL_DAY, h, v, io);
}

static int weekly_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                      cpo_stage_io *io, cpo_error *err)
{
    (void)p, (void)err;
    return cal_step(state, CAL_WEEK, h, v, io);
}

static int monthly_run(void *state, const cpo_params *p, const cpo_host *h, const cpo_view *v,
                       cpo_stage_io *io, cpo_error *err)
{
    (void)p, (void)err;
    return cal_step(state, CAL_MONTH, h, v, io);
}

const cpo_stage_def cpo_stage_daily = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "daily", CPO_ROLE_SCHEDULE,
    "rebalance on the first step of each UTC day", NULL, 0, cal_init, daily_run, cal_fini};

static const cpo_param_spec weekly_params[] = {
    {"weekday", CPO_PARAM_CHOICE, "monday", 0, 0,
     "monday|tuesday|wednesday|thursday|friday|saturday|sunday",
     "the day each week starts on (UTC)"},
};

const cpo_stage_def cpo_stage_weekly = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "weekly", CPO_ROLE_SCHEDULE,
    "rebalance on the first step of each week (starting on weekday, UTC)", weekly_params,
    sizeof weekly_params / sizeof weekly_params[0], cal_init, weekly_run, cal_fini};

const cpo_stage_def cpo_stage_monthly = {
    CPO_STAGE_ABI_VERSION, sizeof(cpo_stage_def), "monthly", CPO_ROLE_SCHEDULE,
    "rebalance on the first step of each calendar month (UTC)", NULL, 0, cal_init, monthly_run,
    cal_fini};
