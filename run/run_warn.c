/*
 * run_warn.c - what could make a run's numbers mislead (cpo/run.h):
 * refused before the run where the config and the store show it, else
 * found in the market and the result after the run and summarised.
 *
 * Before the run (cpo_run_check_period, cpo_run_check_plan):
 *   - start or end outside the span of the universe's bars in the store
 *     (the period would hold steps without any price);
 *   - a fixed weigh stage without overlays whose spot weights need more
 *     cash than the book has (spot is bought with cash: the long spot
 *     weights, and the margin of the shorts and perpetuals, times
 *     1 - cash_buffer, must fit in 1).
 *
 * After the run (cpo_run_warnings), one warning per problem and
 * instrument, with counts and the first and last time:
 *   no_price        an instrument of the universe without a price for a
 *                   stretch of the period, where the run wanted it (targets
 *                   ignored or orders dropped, or held to the end)
 *   target_ignored  target weights ignored for want of a price
 *   order_dropped   orders dropped for want of a fill price
 *   order_cut       orders cut to less than half for lack of cash or margin,
 *                   when they are at least 5 % of the run's orders (a
 *                   book that needs more cash than it has, not a cut now
 *                   and then)
 *   once_not_invested  a `once` schedule whose only rebalance could not
 *                   invest (no price, or nothing filled)
 *
 * The engine tells its events apart by kind and, within a kind, by its
 * message (cpo/backtest.h): "target weight ... ignored" and "order of X
 * dropped" (CPO_EVENT_NO_PRICE), "order of X cut to Y" (CPO_EVENT_MARGIN).
 */
#include "cpo/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/time.h"
#include "params.h"

/* --- before the run ------------------------------------------------------ */

static long key_line(const cpo_config *cfg, const char *section, const char *key)
{
    for (size_t i = 0; i < cfg->n_keys; i++)
        if (!strcmp(cfg->keys[i].section, section) && !strcmp(cfg->keys[i].key, key))
            return cfg->keys[i].line;
    return 0;
}

int cpo_run_check_period(const cpo_config *cfg, const cpo_dataset *ds, char *const *syms,
                         size_t n, cpo_error *err)
{
    int64_t first = CPO_TIME_NONE, end = CPO_TIME_NONE;
    for (size_t i = 0; i < ds->n_instr; i++) {
        const cpo_bars *b = &ds->bars[i];
        int in = n == 0;
        for (size_t k = 0; k < n && !in; k++)
            in = !strcmp(syms[k], ds->instr[i].symbol);
        if (!in || b->n == 0)
            continue;
        int64_t a = b->ts[0], z = b->ts[b->n - 1] + (b->bar_ms > 0 ? b->bar_ms : 1);
        if (first == CPO_TIME_NONE || a < first)
            first = a;
        if (end == CPO_TIME_NONE || z > end)
            end = z;
    }
    if (first == CPO_TIME_NONE)
        return 0; /* no bars: the cube says so */
    int64_t start_ms = cfg->run.start_ms, end_ms = cfg->run.end_ms;
    const char *key = NULL;
    if (start_ms != CPO_TIME_NONE && (start_ms < first || start_ms >= end))
        key = "start";
    else if (end_ms != CPO_TIME_NONE && (end_ms >= end || end_ms < first))
        key = "end";
    if (!key)
        return 0;
    char a[40], z[40];
    cpo_time_format(first, a, sizeof a);
    cpo_time_format(end, z, sizeof z);
    const char *v = cpo_config_get(cfg, "backtest", key);
    return cpo_error_set(err, CPO_ECONFIG, cfg->path, key_line(cfg, "backtest", key), 0,
                         "%s = \"%s\" is outside the data: the bars of the universe in %s run "
                         "from %s to %s (expected a period inside that span; leave out end to "
                         "run to the end of the data)",
                         key, v ? v : "", cfg->data_path, a, z);
}

/* The weight of SYMBOL:WEIGHT, or NAN; the symbol's index in the cube in *i. */
static double fixed_item(const cpo_market *m, const char *item, long *i)
{
    const char *colon = strrchr(item, ':');
    *i = -1;
    if (!colon || colon == item)
        return NAN;
    char sym[CPO_SYMBOL_MAX];
    size_t len = (size_t)(colon - item);
    while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
        len--;
    if (len >= sizeof sym)
        return NAN;
    memcpy(sym, item, len);
    sym[len] = '\0';
    *i = cpo_market_find(m, sym);
    char *end;
    double w = strtod(colon + 1, &end);
    return end == colon + 1 ? NAN : w;
}

int cpo_run_check_plan(const cpo_config *cfg, const cpo_market *m, cpo_error *err)
{
    const cpo_run_spec *s = &cfg->run;
    const cpo_params *fixed = NULL;
    for (size_t k = 0; k < s->n_stages; k++) {
        const cpo_stage_def *d = s->stages[k].def;
        if (d->role == CPO_ROLE_OVERLAY)
            return 0; /* an overlay may scale the weights down */
        if (d->role == CPO_ROLE_WEIGH && !strcmp(d->name, "fixed"))
            fixed = s->stages[k].params;
    }
    if (!fixed)
        return 0;
    /* Cash a unit of equity needs: long spot at its value, short spot and
     * perpetuals at their initial margin; only spot legs make it a spot
     * book (perpetuals bring their own leverage). */
    double need = 0.0, spot_long = 0.0;
    size_t n_spot = 0;
    for (size_t k = 0; k < cpo_params_count(fixed, "weights"); k++) {
        long i;
        double w = fixed_item(m, cpo_params_item(fixed, "weights", k), &i);
        if (i < 0 || !isfinite(w))
            continue; /* the stage refuses it when the run starts */
        const cpo_instrument *in = &m->instr[i];
        double imr = s->costs.kind[in->kind].imr;
        if (in->kind == CPO_KIND_SPOT) {
            n_spot++;
            need += w > 0 ? w : -w * imr;
            spot_long += w > 0 ? w : 0.0;
        } else {
            need += fabs(w) * imr;
        }
    }
    /* The engine scales every weight by 1 - cash_buffer. */
    need *= 1.0 - s->cash_buffer;
    spot_long *= 1.0 - s->cash_buffer;
    if (n_spot == 0 || need <= 1.0 + 1e-9)
        return 0;
    const char *v = cpo_params_str(fixed, "weights");
    long line = key_line(cfg, "weigh.fixed", "weights");
    return cpo_error_set(err, CPO_ECONFIG, cfg->path, line, 0,
                         "[weigh.fixed] weights = \"%s\" need %.4g of equity in cash (long spot "
                         "%.4g) (expected at most 1: spot is bought with cash and the book has no "
                         "leverage for it; lower the weights, or trade perpetuals)",
                         v ? v : "", need, spot_long);
}

/* --- after the run ------------------------------------------------------- */

typedef struct wlist {
    cpo_run_warning *w;
    size_t n, max, dropped;
} wlist;

static cpo_run_warning *wnew(wlist *L)
{
    if (L->n == L->max) {
        L->dropped++;
        return NULL;
    }
    cpo_run_warning *w = &L->w[L->n++];
    memset(w, 0, sizeof *w);
    return w;
}

/* One warning of a kind about an instrument, from a tally. */
typedef struct tally {
    size_t count;
    int64_t first, last;
} tally;

static void tally_add(tally *t, int64_t ts)
{
    if (t->count++ == 0)
        t->first = ts;
    t->last = ts;
}

static void span(char *buf, size_t n, const tally *t)
{
    char a[40], z[40];
    cpo_time_format(t->first, a, sizeof a);
    cpo_time_format(t->last, z, sizeof z);
    if (t->count == 1)
        snprintf(buf, n, "at %s", a);
    else
        snprintf(buf, n, "from %s to %s", a, z);
}

static void add(wlist *L, const char *kind, const char *sym, const tally *t, size_t of,
                const char *what)
{
    cpo_run_warning *w = wnew(L);
    if (!w)
        return;
    snprintf(w->kind, sizeof w->kind, "%s", kind);
    snprintf(w->symbol, sizeof w->symbol, "%s", sym);
    w->count = t->count;
    w->of = of;
    w->first_ms = t->first;
    w->last_ms = t->last;
    char sp[100];
    span(sp, sizeof sp, t);
    snprintf(w->text, sizeof w->text, "%s%s%s %s", sym, sym[0] ? ": " : "", what, sp);
}

/* "order of X cut to Y": whether Y is under half of X. */
static int cut_under_half(const char *msg)
{
    const char *p = strstr(msg, "order of ");
    double asked, got;
    if (!p || sscanf(p, "order of %lf cut to %lf", &asked, &got) != 2)
        return 0;
    return fabs(got) < 0.5 * fabs(asked);
}

static int schedule_is_once(const cpo_config *cfg)
{
    int once = 0, other = 0;
    for (size_t k = 0; k < cfg->run.n_stages; k++) {
        const cpo_stage_def *d = cfg->run.stages[k].def;
        if (d->role != CPO_ROLE_SCHEDULE)
            continue;
        if (!strcmp(d->name, "once"))
            once = 1;
        else
            other = 1;
    }
    return once && !other;
}

enum { T_IGNORED, T_DROPPED, T_CUT, T_NKIND };

int cpo_run_warnings(cpo_run_warning *out, size_t max, size_t *n_out, const cpo_config *cfg,
                     const cpo_market *m, const cpo_result *r, cpo_error *err)
{
    wlist L = {out, 0, max, 0};
    *n_out = 0;
    size_t ni = r->n_instr;
    tally *t = calloc((ni ? ni : 1) * T_NKIND, sizeof *t);
    if (!t)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    size_t steps = r->n_steps;

    /* The engine's events. */
    int once = schedule_is_once(cfg);
    int64_t once_step_ts = steps ? r->ts[0] : CPO_TIME_NONE;
    char once_syms[200] = "";
    for (size_t e = 0; e < r->n_events; e++) {
        const cpo_event *ev = &r->events[e];
        size_t i = ev->instr >= 0 && (size_t)ev->instr < ni ? (size_t)ev->instr : SIZE_MAX;
        int kind = -1;
        if (ev->kind == CPO_EVENT_NO_PRICE)
            kind = strstr(ev->msg, "target weight") ? T_IGNORED : T_DROPPED;
        else if (ev->kind == CPO_EVENT_MARGIN && cut_under_half(ev->msg))
            kind = T_CUT;
        if (kind < 0 || i == SIZE_MAX)
            continue;
        tally_add(&t[i * T_NKIND + (size_t)kind], ev->ts);
        if (once && kind == T_IGNORED && ev->ts == once_step_ts) {
            size_t len = strlen(once_syms);
            snprintf(once_syms + len, sizeof once_syms - len, "%s%s", len ? ", " : "",
                     r->instr[i].symbol);
        }
    }
    /* Prices missing on the steps of the run (the cube's step of the run's
     * first step on; the warmup before it does not count), for the
     * instruments the run wanted there: targets ignored or orders dropped
     * for want of a price, or a position held to the end without one.  A
     * point-in-time universe's coin that stops trading, and is not picked
     * again, is no problem. */
    long k0 = steps ? cpo_market_step_at(m, r->ts[0]) : -1;
    for (size_t i = 0; k0 >= 0 && i < m->n_instr; i++) {
        const double *c = cpo_market_col(m, CPO_F_CLOSE, i);
        tally miss = {0, 0, 0};
        for (size_t s = 0; s < steps && (size_t)k0 + s < m->n_steps; s++)
            if (!isfinite(c[(size_t)k0 + s]))
                tally_add(&miss, m->ts[(size_t)k0 + s]);
        if (!miss.count)
            continue;
        int wanted = i < ni && (t[i * T_NKIND + T_IGNORED].count ||
                                t[i * T_NKIND + T_DROPPED].count ||
                                (r->final_qty[i] != 0.0 && miss.last == r->ts[steps - 1]));
        if (!wanted)
            continue;
        char what[96];
        snprintf(what, sizeof what, "no price at %zu of the %zu steps of the run,", miss.count,
                 steps);
        add(&L, "no_price", m->instr[i].symbol, &miss, steps, what);
    }
    static const char *const kinds[T_NKIND] = {"target_ignored", "order_dropped", "order_cut"};
    static const char *const whats[T_NKIND] = {
        "target weights ignored for want of a price:", "orders dropped for want of a fill price:",
        "orders cut to less than half for lack of cash or margin:"};
    size_t cuts = 0;
    for (size_t i = 0; i < ni; i++)
        cuts += t[i * T_NKIND + T_CUT].count;
    int cuts_matter = 20 * cuts >= r->n_trades + cuts;
    for (size_t i = 0; i < ni; i++)
        for (int k = 0; k < T_NKIND; k++) {
            const tally *x = &t[i * T_NKIND + (size_t)k];
            if (!x->count || (k == T_CUT && !cuts_matter))
                continue;
            char what[128];
            snprintf(what, sizeof what, "%zu %s", x->count, whats[k]);
            add(&L, kinds[k], r->instr[i].symbol, x, 0, what);
        }
    if (once && steps && (once_syms[0] || r->n_trades == 0)) {
        tally x = {1, once_step_ts, once_step_ts};
        char what[sizeof once_syms + 160];
        if (once_syms[0])
            snprintf(what, sizeof what,
                     "the once schedule could not invest in %s (no price at its only rebalance); "
                     "the run holds cash for them,", once_syms);
        else
            snprintf(what, sizeof what,
                     "the once schedule bought nothing at its only rebalance; the run holds cash,");
        add(&L, "once_not_invested", "", &x, 0, what);
    }
    if (L.dropped && L.n > 0) {
        /* The last line says how many more there are. */
        cpo_run_warning *w = &L.w[L.n - 1];
        snprintf(w->kind, sizeof w->kind, "more");
        w->symbol[0] = '\0';
        w->count = L.dropped + 1;
        w->of = 0;
        snprintf(w->text, sizeof w->text,
                 "and %zu more warnings like these (events.csv and ledger.csv have the details)",
                 L.dropped + 1);
    }
    free(t);
    *n_out = L.n;
    return 0;
}

void cpo_run_warnings_print(const cpo_run_report *rep, FILE *out)
{
    for (size_t k = 0; k < rep->n_warnings; k++)
        fprintf(out, "cpo: warning: %s\n", rep->warnings[k].text);
}
