/*
 * run_files.c - the files of a run folder that are the engine's result as
 * it is: ledger.csv, trades.csv, events.csv and, for runs with options,
 * options.csv, option_trades.csv, explain.csv, explain_by.csv and the
 * summary's "options" block (cpo/report.h).  Each writer takes the path
 * it writes (run/run.c gives the temporary names and renames them when whole).
 * Numbers %.17g (core/csvwrite.h), times ISO 8601 UTC (bar opens).
 */
#include "run_files.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/report.h"
#include "cpo/surface.h"
#include "cpo/time.h"
#include "csvwrite.h"

/* The summary's JSON numbers: null where not finite, never -0. */
static json_t *jreal(double x)
{
    return isfinite(x) ? json_real(x == 0.0 ? 0.0 : x) : json_null();
}

int cpo_result_ledger_table(cpo_table **out, const cpo_result *r, cpo_error *err)
{
    cpo_table *t = NULL;
    int rc = cpo_table_new(&t, "ledger", r->n_steps, err);
    if (!rc)
        rc = cpo_table_add(t, "ts", CPO_COL_TIME, r->ts, sizeof *r->ts, 0, err);
    if (!rc)
        rc = cpo_table_add(t, "equity", CPO_COL_F64, r->equity, sizeof(double), 0, err);
    for (int l = 0; !rc && l < CPO_PNL_COUNT; l++)
        if (cpo_pnl_shown(r, (cpo_pnl_line)l))
            rc = cpo_table_add(t, cpo_pnl_name((cpo_pnl_line)l), CPO_COL_F64, r->pnl[l],
                               sizeof(double), 0, err);
    if (!rc)
        rc = cpo_table_add(t, "gross", CPO_COL_F64, r->gross, sizeof(double), 0, err);
    if (!rc)
        rc = cpo_table_add(t, "net", CPO_COL_F64, r->net, sizeof(double), 0, err);
    for (size_t c = 0; !rc && c < r->n_ccy; c++) {
        char name[CPO_CCY_MAX + 8];
        snprintf(name, sizeof name, "cash_%s", r->ccy[c]);
        rc = cpo_table_add(t, name, CPO_COL_F64, r->cash + c * r->n_steps, sizeof(double), 0,
                           err);
    }
    /* Margined pools: initial and maintenance margin, margin balance and
     * their ratio (maintenance / balance: 1 is liquidation), per currency. */
    for (size_t c = 0; !rc && r->im && c < r->n_ccy; c++) {
        if (!r->margin_ccy[c])
            continue;
        size_t k0 = c * r->n_steps;
        double *ratio = cpo_table_alloc(t, r->n_steps * sizeof *ratio, err);
        if (!ratio) {
            rc = CPO_ENOMEM;
            break;
        }
        for (size_t s = 0; s < r->n_steps; s++) {
            double mm = r->mm[k0 + s], mb = r->mb[k0 + s];
            ratio[s] = mb > 0.0 ? mm / mb : mm > 0.0 ? INFINITY : 0.0;
        }
        const char *ccy = r->ccy[c];
        char n_im[CPO_CCY_MAX + 4], n_mm[CPO_CCY_MAX + 4], n_mb[CPO_CCY_MAX + 16],
            n_ratio[CPO_CCY_MAX + 16];
        snprintf(n_im, sizeof n_im, "im_%s", ccy);
        snprintf(n_mm, sizeof n_mm, "mm_%s", ccy);
        snprintf(n_mb, sizeof n_mb, "margin_balance_%s", ccy);
        snprintf(n_ratio, sizeof n_ratio, "margin_ratio_%s", ccy);
        rc = cpo_table_add(t, n_im, CPO_COL_F64, r->im + k0, sizeof(double), 0, err);
        if (!rc)
            rc = cpo_table_add(t, n_mm, CPO_COL_F64, r->mm + k0, sizeof(double), 0, err);
        if (!rc)
            rc = cpo_table_add(t, n_mb, CPO_COL_F64, r->mb + k0, sizeof(double), 0, err);
        if (!rc)
            rc = cpo_table_add(t, n_ratio, CPO_COL_F64, ratio, sizeof(double), 0, err);
    }
    /* Runs with options: the book's Greeks per underlying (cpo_book_greek). */
    for (size_t u = 0; !rc && r->book_greek && u < r->n_bg_und; u++)
        for (int g = 0; !rc && g < CPO_BG_COUNT; g++) {
            char name[64];
            snprintf(name, sizeof name, "%s_%s", cpo_book_greek_name((cpo_book_greek)g),
                     r->bg_und[u]);
            rc = cpo_table_add(t, name, CPO_COL_F64,
                               r->book_greek + (u * CPO_BG_COUNT + (size_t)g) * r->n_steps,
                               sizeof(double), 0, err);
        }
    /* Runs with a [financing] rf: the risk-free return of each step, so
     * that `cpo metrics ledger.csv` measures the run as its summary does. */
    if (!rc && r->rf)
        rc = cpo_table_add(t, "rf", CPO_COL_F64, r->rf, sizeof(double), 0, err);
    if (rc) {
        cpo_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int cpo_result_put_ledger_csv(const cpo_result *r, FILE *fp, cpo_error *err)
{
    cpo_table *t;
    int rc = cpo_result_ledger_table(&t, r, err);
    if (rc)
        return rc;
    cpo_table_write_csv(t, fp, 0);
    cpo_table_free(t);
    return 0;
}

int cpo_result_write_ledger_csv(const cpo_result *r, const char *path, cpo_error *err)
{
    FILE *fp = cpo_csv_create(path, err);
    if (!fp)
        return err->code;
    int rc = cpo_result_put_ledger_csv(r, fp, err);
    if (rc) {
        fclose(fp);
        return rc;
    }
    return cpo_csv_close(fp, path, err);
}

int cpo_result_write_trades_csv(const cpo_result *r, const char *path, cpo_error *err)
{
    FILE *fp = cpo_csv_create(path, err);
    if (!fp)
        return err->code;
    cpo_result_put_trades_csv(r, fp);
    return cpo_csv_close(fp, path, err);
}

/* Rows [a, b) of trades.csv (cpo_csv_rows_fn). */
static void trades_rows(void *ctx, FILE *fp, size_t a, size_t b)
{
    const cpo_result *r = ctx;
    int fut = r->n_fut > 0;
    char when[40];
    int64_t shown = 0;
    for (size_t k = a; k < b; k++) {
        const cpo_trade *tr = &r->trades[k];
        if (k == a || tr->ts != shown) /* a rebalance's trades share a time */
            cpo_time_format(shown = tr->ts, when, sizeof when);
        fputs(when, fp);
        fputc(',', fp);
        cpo_csv_text(fp, tr->instr < r->n_instr ? r->instr[tr->instr].symbol : "?", 0);
        cpo_csv_num(fp, tr->qty);
        cpo_csv_num(fp, tr->px);
        cpo_csv_num(fp, tr->ref_px);
        cpo_csv_num(fp, tr->fee);
        cpo_csv_num(fp, tr->slippage);
        fputs(tr->liquidation ? ",1" : ",0", fp);
        if (fut)
            fputs(tr->delivery ? ",1" : ",0", fp);
        fputc('\n', fp);
    }
}

void cpo_result_put_trades_csv(const cpo_result *r, FILE *fp)
{
    /* delivery: only in runs with dated futures (the others' files are
     * unchanged). */
    fputs(r->n_fut > 0 ? "ts,symbol,qty,px,ref_px,fee,slippage,liquidation,delivery\n"
                       : "ts,symbol,qty,px,ref_px,fee,slippage,liquidation\n",
          fp);
    cpo_csv_put_rows(fp, r->n_trades, 0, trades_rows, (void *)r);
}

static const char *fut_source(int s)
{
    switch (s) {
    case CPO_FUT_SRC_QUOTE: return "quote";
    case CPO_FUT_SRC_FILLED: return "filled";
    case CPO_FUT_SRC_BASIS: return "basis";
    default: return "none";
    }
}

void cpo_result_put_futures_csv(const cpo_result *r, FILE *fp)
{
    fputs("ts,symbol,expiry,days,price,source,index,basis,basis_annual,qty\n", fp);
    char when[40], exp[40];
    size_t T = r->n_steps;
    for (size_t t = 0; t < T; t++) {
        cpo_time_format(r->ts[t], when, sizeof when);
        for (size_t f = 0; f < r->n_fut; f++) {
            const cpo_instrument *in = &r->instr[r->fut_instr[f]];
            size_t k = f * T + t;
            double px = r->fut_px[k], q = r->fut_qty[k], I = r->fut_index[k];
            int dated = in->expiry_ms > 0 && in->expiry_ms != CPO_TIME_NONE;
            if ((!isfinite(px) && q == 0.0) || (dated && r->ts[t] >= in->expiry_ms))
                continue;
            fputs(when, fp);
            fputc(',', fp);
            cpo_csv_text(fp, in->symbol, 0);
            fputc(',', fp);
            if (dated) {
                cpo_time_format(in->expiry_ms, exp, sizeof exp);
                fputs(exp, fp);
            }
            /* days from the step's close to the expiry */
            double days = dated ? (double)(in->expiry_ms - r->ts[t] -
                                           (T > 1 ? r->ts[1] - r->ts[0] : 0)) /
                                      (double)CPO_MS_DAY
                                : NAN;
            double basis = px / I - 1.0;
            cpo_csv_num(fp, days);
            cpo_csv_num(fp, px);
            fprintf(fp, ",%s", fut_source(r->fut_src[k]));
            cpo_csv_num(fp, I);
            cpo_csv_num(fp, basis);
            cpo_csv_num(fp, days > 0.0 ? basis * 365.0 / days : NAN);
            cpo_csv_num(fp, q);
            fputc('\n', fp);
        }
    }
}

static const char *event_kind(int k)
{
    switch (k) {
    case CPO_EVENT_LIQUIDATION: return "liquidation";
    case CPO_EVENT_CAPPED: return "capped";
    case CPO_EVENT_NO_PRICE: return "no_price";
    case CPO_EVENT_MARGIN: return "margin";
    case CPO_EVENT_OPTION: return "option";
    case CPO_EVENT_MARGIN_CALL: return "margin_call";
    case CPO_EVENT_RUIN: return "ruin";
    case CPO_EVENT_STAGE: return "stage";
    case CPO_EVENT_DELIVERY: return "delivery";
    default: return "other";
    }
}

int cpo_result_write_events_csv(const cpo_result *r, const char *path, cpo_error *err)
{
    FILE *fp = cpo_csv_create(path, err);
    if (!fp)
        return err->code;
    cpo_result_put_events_csv(r, fp);
    return cpo_csv_close(fp, path, err);
}

void cpo_result_put_events_csv(const cpo_result *r, FILE *fp)
{
    fputs("ts,symbol,kind,value,message\n", fp);
    char when[40];
    for (size_t k = 0; k < r->n_events; k++) {
        const cpo_event *ev = &r->events[k];
        cpo_time_format(ev->ts, when, sizeof when);
        fputs(when, fp);
        fputc(',', fp);
        cpo_csv_text(fp, ev->instr >= 0 && (size_t)ev->instr < r->n_instr ? r->instr[ev->instr].symbol : "", 0);
        fprintf(fp, ",%s", event_kind(ev->kind));
        cpo_csv_num(fp, ev->value);
        fputc(',', fp);
        cpo_csv_text(fp, ev->msg, 0);
        fputc('\n', fp);
    }
}

const char *cpo_opt_file_name(cpo_opt_file f)
{
    static const char *const names[CPO_OPT_FILE_COUNT] = {"options.csv", "option_trades.csv",
                                                          "explain.csv", "explain_by.csv"};
    return (unsigned)f < CPO_OPT_FILE_COUNT ? names[f] : NULL;
}

int cpo_run_has_options(const cpo_result *r)
{
    return r->greek[CPO_GREEK_DELTA] != NULL || r->wf[CPO_WF_TIME] != NULL ||
           r->explain_flag != NULL || r->n_opt_rows > 0 || r->n_opt_trades > 0;
}

static const char *opt_source(int s)
{
    switch (s) {
    case CPO_OPT_SRC_CHAIN: return "chain";
    case CPO_OPT_SRC_SURFACE: return "surface";
    case CPO_OPT_SRC_SETTLE: return "settle";
    default: return "none";
    }
}

/* The stage that opened a position: "<role>.<name>" of spec->stages[tag]
 * (its config section), with "#<tag>" when another stage has the same. */
static void stage_of(char *buf, size_t n, const cpo_run_spec *spec, uint32_t tag)
{
    if (!spec || tag >= spec->n_stages || !spec->stages[tag].def) {
        snprintf(buf, n, "stage%u", (unsigned)tag);
        return;
    }
    const cpo_stage_def *d = spec->stages[tag].def;
    int dup = 0;
    for (size_t k = 0; k < spec->n_stages; k++) {
        const cpo_stage_def *e = spec->stages[k].def;
        if (k != tag && e && e->role == d->role && !strcmp(e->name, d->name))
            dup = 1;
    }
    if (dup)
        snprintf(buf, n, "%s.%s#%u", cpo_role_name(d->role), d->name, (unsigned)tag);
    else
        snprintf(buf, n, "%s.%s", cpo_role_name(d->role), d->name);
}

static double col_at(const double *c, size_t t)
{
    return c ? c[t] : NAN;
}

/* name, underlying, expiry, strike, right, tag, stage */
static void put_key(FILE *fp, const char *name, const cpo_option_key *k, uint32_t tag,
                    const cpo_run_spec *spec)
{
    char b[128];
    fputc(',', fp);
    cpo_csv_text(fp, name, 0);
    fputc(',', fp);
    cpo_csv_text(fp, k->underlying, 0);
    cpo_time_format(k->expiry_ms, b, sizeof b);
    fprintf(fp, ",%s", b);
    cpo_csv_num(fp, k->strike);
    fprintf(fp, ",%s,%u,", cpo_right_name((cpo_right)k->right), (unsigned)tag);
    stage_of(b, sizeof b, spec, tag);
    cpo_csv_text(fp, b, 0);
}

static void write_opt_rows(const cpo_result *r, const cpo_run_spec *spec, FILE *fp)
{
    fputs("ts,step,name,underlying,expiry,strike,right,tag,stage,qty,source,index,fwd,vol,"
          "t_years,coin_price,coin_delta,coin_gamma,coin_vega,coin_theta,coin_vanna,coin_volga,"
          "coin_rho,coin_delta_account,rate,value_coin,value_usd,mtm_coin",
          fp);
    for (int g = 0; g < CPO_GREEK_COUNT; g++)
        fprintf(fp, ",%s", cpo_greek_name((cpo_greek_line)g));
    for (int w = 0; w < CPO_WF_COUNT; w++)
        fprintf(fp, ",%s", cpo_wf_name((cpo_wf_line)w));
    fputs(",flagged,settled\n", fp);
    char when[40];
    for (size_t k = 0; k < r->n_opt_rows; k++) {
        const cpo_option_row *o = &r->opt_rows[k];
        const cpo_option_quote *q = &o->quote;
        const cpo_black76_coin *c = &q->coin;
        cpo_time_format(o->ts, when, sizeof when);
        fprintf(fp, "%s,%zu", when, o->step);
        put_key(fp, o->name, &o->key, o->tag, spec);
        cpo_csv_num(fp, o->qty);
        fprintf(fp, ",%s", opt_source(q->source));
        const double v[] = {q->index, q->fwd,   q->vol,   q->t_years, c->price,
                            c->delta, c->gamma, c->vega,  c->theta,   c->vanna,
                            c->volga, c->rho,   c->delta_account,     o->rate,
                            o->value_coin, o->value_coin * o->rate,   o->mtm_coin};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            cpo_csv_num(fp, v[i]);
        for (int g = 0; g < CPO_GREEK_COUNT; g++)
            cpo_csv_num(fp, o->greek_coin[g]);
        for (int w = 0; w < CPO_WF_COUNT; w++)
            cpo_csv_num(fp, o->wf_coin[w]);
        fprintf(fp, ",%d,%d\n", o->flagged ? 1 : 0, o->settled ? 1 : 0);
    }
}

static void write_opt_trades(const cpo_result *r, const cpo_run_spec *spec, FILE *fp)
{
    fputs("ts,step,name,underlying,expiry,strike,right,tag,stage,qty,px,ref_px,fee,slippage,"
          "index,settlement,liquidation,quote_age_s,delta,delivery_approx\n",
          fp);
    char when[40];
    for (size_t k = 0; k < r->n_opt_trades; k++) {
        const cpo_option_trade *tr = &r->opt_trades[k];
        cpo_time_format(tr->ts, when, sizeof when);
        fprintf(fp, "%s,%zu", when, tr->step);
        put_key(fp, tr->name, &tr->key, tr->tag, spec);
        const double v[] = {tr->qty, tr->px, tr->ref_px, tr->fee, tr->slippage, tr->index};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            cpo_csv_num(fp, v[i]);
        fprintf(fp, ",%d,%d", tr->settlement ? 1 : 0, tr->liquidation ? 1 : 0);
        cpo_csv_num(fp, (double)(tr->ts - tr->quote_ms) / 1000.0);
        cpo_csv_num(fp, tr->delta);
        fprintf(fp, ",%d\n", tr->delivery_approx ? 1 : 0);
    }
}

static void write_explain(const cpo_result *r, FILE *fp)
{
    fputs("ts,options", fp);
    for (int g = 0; g < CPO_GREEK_COUNT; g++)
        fprintf(fp, ",%s", cpo_greek_name((cpo_greek_line)g));
    for (int w = 0; w < CPO_WF_COUNT; w++)
        fprintf(fp, ",%s", cpo_wf_name((cpo_wf_line)w));
    fputs(",flag\n", fp);
    char when[40];
    for (size_t t = 0; t < r->n_steps; t++) {
        cpo_time_format(r->ts[t], when, sizeof when);
        fputs(when, fp);
        cpo_csv_num(fp, col_at(r->pnl[CPO_PNL_OPTIONS], t));
        for (int g = 0; g < CPO_GREEK_COUNT; g++)
            cpo_csv_num(fp, col_at(r->greek[g], t));
        for (int w = 0; w < CPO_WF_COUNT; w++)
            cpo_csv_num(fp, col_at(r->wf[w], t));
        fprintf(fp, ",%d\n", r->explain_flag && r->explain_flag[t] ? 1 : 0);
    }
}

/* explain_by.csv: the value columns after kind, by, key. */
enum { XB_OPTIONS = 0, XB_GREEK = 1, XB_WF = XB_GREEK + CPO_GREEK_COUNT,
       XB_ROWS = XB_WF + CPO_WF_COUNT, XB_COUNT };

enum { BY_UNDERLYING = 0, BY_EXPIRY, BY_STRATEGY, BY_COUNT };

typedef struct xb_item {
    int64_t num;      /* ordering: expiry ms, tag; 0 by underlying */
    size_t row;       /* index into opt_rows (ties: row order) */
    char key[80];
} xb_item;

static int xb_cmp(const void *pa, const void *pb)
{
    const xb_item *a = pa, *b = pb;
    if (a->num != b->num)
        return a->num < b->num ? -1 : 1;
    int c = strcmp(a->key, b->key);
    if (c)
        return c;
    return a->row < b->row ? -1 : a->row > b->row;
}

static void xb_row(FILE *fp, const char *kind, const char *by, const char *key, const double *v)
{
    fprintf(fp, "%s,%s,", kind, by);
    cpo_csv_text(fp, key, 0);
    for (int c = 0; c < XB_COUNT; c++)
        cpo_csv_num(fp, v[c]);
    fputc('\n', fp);
}

/* The row's terms in the reporting currency, added to v. */
static void xb_add(double *v, const cpo_option_row *o)
{
    v[XB_OPTIONS] += o->mtm_coin * o->rate;
    for (int g = 0; g < CPO_GREEK_COUNT; g++)
        v[XB_GREEK + g] += o->greek_coin[g] * o->rate;
    for (int w = 0; w < CPO_WF_COUNT; w++)
        v[XB_WF + w] += o->wf_coin[w] * o->rate;
    v[XB_ROWS] += 1.0;
}

static int write_explain_by(const cpo_result *r, const cpo_run_spec *spec, FILE *fp,
                            cpo_error *err)
{
    size_t n = r->n_opt_rows;
    xb_item *it = malloc((n ? n : 1) * sizeof *it);
    if (!it)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    fputs("kind,by,key,options", fp);
    for (int g = 0; g < CPO_GREEK_COUNT; g++)
        fprintf(fp, ",%s", cpo_greek_name((cpo_greek_line)g));
    for (int w = 0; w < CPO_WF_COUNT; w++)
        fprintf(fp, ",%s", cpo_wf_name((cpo_wf_line)w));
    fputs(",rows\n", fp);
    /* The run's totals, from the per-step lines. */
    double total[XB_COUNT] = {0};
    for (size_t t = 0; t < r->n_steps; t++) {
        total[XB_OPTIONS] += col_at(r->pnl[CPO_PNL_OPTIONS], t);
        for (int g = 0; g < CPO_GREEK_COUNT; g++)
            total[XB_GREEK + g] += col_at(r->greek[g], t);
        for (int w = 0; w < CPO_WF_COUNT; w++)
            total[XB_WF + w] += col_at(r->wf[w], t);
    }
    total[XB_ROWS] = (double)n;
    static const char *const by_name[BY_COUNT] = {"underlying", "expiry", "strategy"};
    for (int b = 0; b < BY_COUNT; b++) {
        for (size_t k = 0; k < n; k++) {
            const cpo_option_row *o = &r->opt_rows[k];
            xb_item *x = &it[k];
            x->row = k;
            switch (b) {
            case BY_UNDERLYING:
                x->num = 0;
                snprintf(x->key, sizeof x->key, "%s", o->key.underlying);
                break;
            case BY_EXPIRY:
                x->num = o->key.expiry_ms;
                cpo_time_format(o->key.expiry_ms, x->key, sizeof x->key);
                break;
            default:
                x->num = (int64_t)o->tag;
                stage_of(x->key, sizeof x->key, spec, o->tag);
                break;
            }
        }
        qsort(it, n, sizeof *it, xb_cmp);
        double sum[XB_COUNT] = {0};
        for (size_t k = 0; k < n;) {
            double v[XB_COUNT] = {0};
            size_t e = k;
            for (; e < n && it[e].num == it[k].num && !strcmp(it[e].key, it[k].key); e++)
                xb_add(v, &r->opt_rows[it[e].row]);
            xb_row(fp, "part", by_name[b], it[k].key, v);
            for (int c = 0; c < XB_COUNT; c++)
                sum[c] += v[c];
            k = e;
        }
        double res[XB_COUNT];
        for (int c = 0; c < XB_COUNT; c++)
            res[c] = total[c] - sum[c];
        xb_row(fp, "total", by_name[b], "total", total);
        xb_row(fp, "sum_of_parts", by_name[b], "sum_of_parts", sum);
        xb_row(fp, "residual", by_name[b], "residual", res);
    }
    free(it);
    return 0;
}

int cpo_run_put_options(const cpo_result *r, const cpo_run_spec *spec,
                        FILE *const fps[CPO_OPT_FILE_COUNT], cpo_error *err)
{
    write_opt_rows(r, spec, fps[CPO_OPT_FILE_POSITIONS]);
    write_opt_trades(r, spec, fps[CPO_OPT_FILE_TRADES]);
    write_explain(r, fps[CPO_OPT_FILE_EXPLAIN]);
    return write_explain_by(r, spec, fps[CPO_OPT_FILE_EXPLAIN_BY], err);
}

int cpo_run_write_options(const cpo_result *r, const cpo_run_spec *spec,
                          const char *const paths[CPO_OPT_FILE_COUNT], cpo_error *err)
{
    FILE *fps[CPO_OPT_FILE_COUNT];
    int rc = cpo_csv_create_all(fps, paths, CPO_OPT_FILE_COUNT, err);
    if (!rc)
        rc = cpo_csv_close_all(fps, paths, CPO_OPT_FILE_COUNT,
                               cpo_run_put_options(r, spec, fps, err), err);
    return rc;
}

json_t *cpo_run_options_json(const cpo_result *r)
{
    if (!cpo_run_has_options(r))
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    double opt = 0.0, greek[CPO_GREEK_COUNT] = {0}, wf[CPO_WF_COUNT] = {0};
    double gap_g = 0.0, gap_w = 0.0;
    for (size_t t = 0; t < r->n_steps; t++) {
        double line = col_at(r->pnl[CPO_PNL_OPTIONS], t), sg = 0.0, sw = 0.0;
        opt += line;
        for (int g = 0; g < CPO_GREEK_COUNT; g++) {
            greek[g] += col_at(r->greek[g], t);
            sg += col_at(r->greek[g], t);
        }
        for (int w = 0; w < CPO_WF_COUNT; w++) {
            wf[w] += col_at(r->wf[w], t);
            sw += col_at(r->wf[w], t);
        }
        double scale = fmax(fabs(r->equity[t]), 1.0);
        double eg = fabs(sg - line) / scale, ew = fabs(sw - line) / scale;
        if (!(eg <= gap_g)) /* NaN counts */
            gap_g = eg;
        if (!(ew <= gap_w))
            gap_w = ew;
    }
    size_t fills = 0, settles = 0;
    for (size_t k = 0; k < r->n_opt_trades; k++)
        if (r->opt_trades[k].settlement)
            settles++;
        else
            fills++;
    json_object_set_new(o, "surface_mode", json_string(cpo_surface_mode_name(r->surface_mode)));
    json_object_set_new(o, "chain_marks", json_integer((json_int_t)r->n_chain_marks));
    json_object_set_new(o, "surface_marks", json_integer((json_int_t)r->n_surface_marks));
    json_object_set_new(o, "flagged_steps", json_integer((json_int_t)r->n_explain_flagged));
    json_object_set_new(o, "positions", json_integer((json_int_t)r->n_opt_rows));
    json_object_set_new(o, "trades", json_integer((json_int_t)fills));
    json_object_set_new(o, "settlements", json_integer((json_int_t)settles));
    /* Settlements whose delivery price was estimated from bars coarser
     * than a minute (the index's 30-minute TWAP before 08:00 UTC). */
    size_t approx = 0;
    double age_max = 0.0;
    for (size_t k = 0; k < r->n_opt_trades; k++) {
        const cpo_option_trade *tr = &r->opt_trades[k];
        approx += tr->settlement && tr->delivery_approx;
        if (!tr->settlement && !tr->liquidation && (double)(tr->ts - tr->quote_ms) > age_max)
            age_max = (double)(tr->ts - tr->quote_ms);
    }
    json_object_set_new(o, "settlements_approximate", json_integer((json_int_t)approx));
    json_object_set_new(o, "stale_quote_waits", json_integer((json_int_t)r->n_quote_waits));
    json_object_set_new(o, "max_quote_age_s", jreal(age_max / 1000.0));
    json_object_set_new(o, "options", jreal(opt));
    json_t *jg = json_object(), *jw = json_object();
    for (int g = 0; g < CPO_GREEK_COUNT; g++)
        json_object_set_new(jg, cpo_greek_name((cpo_greek_line)g), jreal(greek[g]));
    for (int w = 0; w < CPO_WF_COUNT; w++)
        json_object_set_new(jw, cpo_wf_name((cpo_wf_line)w), jreal(wf[w]));
    json_object_set_new(o, "greek", jg);
    json_object_set_new(o, "waterfall", jw);
    json_object_set_new(o, "explain_gap", jreal(gap_g));
    json_object_set_new(o, "waterfall_gap", jreal(gap_w));
    return o;
}

