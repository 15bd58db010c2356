/*
 * report_sections.c - the sections of report.html made from numbers the
 * report works out (report_calc.c) rather than reads as they are: the
 * returns (monthly table, distribution, worst periods), the P&L by line
 * and by instrument (option contracts included, so that the table adds up
 * to the change in equity), the option book (Greeks, P&L by expiry and by
 * Greek) and the round trips of the trades.  See report_priv.h.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/time.h"
#include "report_priv.h"

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

/* A percentage cell, green when > 0 and red when < 0. */
static void td_pct(FILE *fp, double x)
{
    char b[64];
    rp_fmt_pct(b, sizeof b, x);
    fprintf(fp, "<td class=\"n%s\">", !isfinite(x) ? "" : x > 0.0 ? " pos" : x < 0.0 ? " neg" : "");
    rp_html(fp, b);
    fputs("</td>", fp);
}

/* "2024-01-01" of a period start. */
static void date_of(char *b, size_t n, int64_t ms)
{
    cpo_time_format_date(ms, b, n);
}

/* --- returns ---------------------------------------------------------------------------- */

static const char *const month_name[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void monthly_table(FILE *fp, const rp_run *r, const rp_period *mo, size_t nm,
                          const rp_period *yr, size_t ny)
{
    fprintf(fp, "<h3>Monthly returns (%%)</h3>\n<table class=\"monthly\">\n<tr><th>year</th>");
    for (int m = 0; m < 12; m++)
        fprintf(fp, "<th class=\"n\">%s</th>", month_name[m]);
    fputs("<th class=\"n\">year</th>", fp);
    if (r->has_bench) {
        fputs("<th class=\"n\">", fp);
        rp_html(fp, r->bench);
        fputs("</th>", fp);
    }
    fputs("</tr>\n", fp);
    /* Two decimals when every month is under 10 %, else one. */
    double big = 0.0;
    for (size_t i = 0; i < nm; i++)
        if (isfinite(mo[i].ret))
            big = fmax(big, fabs(mo[i].ret));
    int dec = big < 0.1 ? 2 : 1;
    size_t k = 0;
    for (size_t y = 0; y < ny; y++) {
        cpo_civil cy;
        cpo_time_to_civil(yr[y].start_ms, &cy);
        fprintf(fp, "<tr><td>%d</td>", cy.year);
        for (int m = 1; m <= 12; m++) {
            cpo_civil cm = {0};
            if (k < nm)
                cpo_time_to_civil(mo[k].start_ms, &cm);
            if (k < nm && cm.year == cy.year && cm.month == m) {
                char b[32];
                double x = mo[k].ret;
                if (isfinite(x))
                    snprintf(b, sizeof b, "%.*f", dec,
                             fabs(100.0 * x) < 0.5 * pow(10.0, -dec) ? 0.0 : 100.0 * x);
                else
                    snprintf(b, sizeof b, "n/a");
                fprintf(fp, "<td class=\"n%s\">%s</td>",
                        !isfinite(x) ? "" : x > 0 ? " pos" : x < 0 ? " neg" : "", b);
                k++;
            } else {
                fputs("<td></td>", fp);
            }
        }
        td_pct(fp, yr[y].ret);
        if (r->has_bench)
            td_pct(fp, yr[y].bench);
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n", fp);
}

static int cmp_period_ret(const void *a, const void *b)
{
    const rp_period *x = a, *y = b;
    int nx = !isfinite(x->ret), ny = !isfinite(y->ret);
    if (nx != ny)
        return nx - ny;
    if (!nx && x->ret != y->ret)
        return x->ret < y->ret ? -1 : 1;
    return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

#define WORST 5

/* The WORST periods of a kind, worst first (p is sorted here). */
static void worst_table(FILE *fp, const rp_run *r, const char *what, rp_period *p, size_t n)
{
    qsort(p, n, sizeof *p, cmp_period_ret);
    fputs("<div><table>\n<tr><th>#</th><th>", fp);
    rp_html(fp, what);
    fputs("</th><th class=\"n\">return</th>", fp);
    if (r->has_bench) {
        fputs("<th class=\"n\">", fp);
        rp_html(fp, r->bench);
        fputs("</th>", fp);
    }
    fputs("</tr>\n", fp);
    for (size_t k = 0; k < n && k < WORST && isfinite(p[k].ret); k++) {
        char b[40];
        date_of(b, sizeof b, p[k].start_ms);
        fprintf(fp, "<tr><td>%zu</td>", k + 1);
        rp_td_text(fp, b);
        td_pct(fp, p[k].ret);
        if (r->has_bench)
            td_pct(fp, p[k].bench);
        fputs("</tr>\n", fp);
    }
    fputs("</table></div>\n", fp);
}

int rp_sec_returns(FILE *fp, const rp_run *r, const rp_chart *ch, cpo_error *err)
{
    fputs("<section id=\"returns\"><h2>Returns</h2>\n<p>Simple returns of the equity "
          "(ledger.csv), by calendar period (UTC): a step counts in the period of its bar's "
          "open, and a period's return is the equity after its last step over the equity "
          "before its first (the capital before the run's first step) − 1, so the periods "
          "chain to the total return.", fp);
    if (r->has_bench) {
        fputs(" The benchmark ", fp);
        rp_html(fp, r->bench);
        fputs(": its returns of the same steps (benchmark.csv) compounded.", fp);
    }
    fputs("</p>\n", fp);
    int rc = 0;
    rp_period *p[4] = {NULL, NULL, NULL, NULL};
    size_t np[4] = {0, 0, 0, 0};
    for (int k = 0; k < 4 && !rc; k++)
        rc = rp_periods(r, k, &p[k], &np[k], err);
    double *x = NULL;
    if (rc)
        goto out;
    static const int figs1[] = {RP_C_MONTHLY};
    rp_html_figs(fp, ch, figs1, 1);
    if (r->n)
        monthly_table(fp, r, p[RP_PER_MONTH], np[RP_PER_MONTH], p[RP_PER_YEAR], np[RP_PER_YEAR]);
    size_t n = 0;
    const char *what = "";
    if ((rc = rp_dist_returns(r, &x, &n, &what, err)))
        goto out;
    rp_dist d;
    rp_distribution(x, n, &d);
    size_t up = 0;
    for (size_t k = 0; k < n; k++)
        up += x[k] > 0.0;
    /* The histogram beside its numbers. */
    fputs("<div class=\"grid\">\n", fp);
    rp_html_chart(fp, &ch[RP_C_DIST]);
    fprintf(fp, "<div><h3>Distribution of %s returns</h3>\n<table>\n", what);
    char b[64];
    snprintf(b, sizeof b, "%zu", n);
    fputs("<tr><td>returns</td>", fp);
    rp_td_num(fp, b);
    fputs("</tr>\n<tr><td>positive</td>", fp);
    rp_fmt_pct(b, sizeof b, n ? (double)up / (double)n : NAN);
    rp_td_num(fp, b);
    fputs("</tr>\n<tr><td>mean</td>", fp);
    td_pct(fp, d.mean);
    fputs("</tr>\n<tr><td>standard deviation (sample)</td>", fp);
    rp_fmt_pct(b, sizeof b, d.sd);
    rp_td_num(fp, b);
    snprintf(b, sizeof b, isfinite(d.skew) ? "%.3f" : "n/a", d.skew);
    fputs("</tr>\n<tr><td>skewness</td>", fp);
    rp_td_num(fp, b);
    snprintf(b, sizeof b, isfinite(d.kurt) ? "%.3f" : "n/a", d.kurt);
    fputs("</tr>\n<tr><td>excess kurtosis (normal: 0)</td>", fp);
    rp_td_num(fp, b);
    fputs("</tr>\n<tr><td>best</td>", fp);
    td_pct(fp, d.max);
    fputs("</tr>\n<tr><td>worst</td>", fp);
    td_pct(fp, d.min);
    fputs("</tr>\n</table>\n</div>\n</div>\n", fp);
    fputs("<h3>Worst periods</h3>\n<div class=\"cols\">\n", fp);
    worst_table(fp, r, "day", p[RP_PER_DAY], np[RP_PER_DAY]);
    worst_table(fp, r, "week from", p[RP_PER_WEEK], np[RP_PER_WEEK]);
    worst_table(fp, r, "month", p[RP_PER_MONTH], np[RP_PER_MONTH]);
    fputs("</div>\n", fp);
    if (r->bar_ms > CPO_MS_DAY)
        fputs("<p class=\"note\">The bars are longer than a day: a day's return is the return of "
              "the bar opening that day.</p>\n", fp);
    fputs("</section>\n", fp);
out:
    for (int k = 0; k < 4; k++)
        free(p[k]);
    free(x);
    return rc;
}

/* --- P&L ---------------------------------------------------------------------------------- */

/* A P&L line over the run: summary.json's pnl, else ledger.csv's column summed. */
static double line_total(const rp_run *r, const char *name)
{
    const json_t *v = json_object_get(json_object_get(r->summary, "pnl"), name);
    if (json_is_number(v))
        return json_number_value(v);
    int c = rp_ledger_col(r, name);
    double s = 0.0;
    for (size_t t = 0; c >= 0 && t < r->n; t++)
        if (!isnan(rp_ledger(r, c, t)))
            s += rp_ledger(r, c, t);
    return c >= 0 ? s : NAN;
}

/* Small numbers of a check row: "%.3g", never "-0". */
static void td_check(FILE *fp, double x)
{
    char b[64];
    snprintf(b, sizeof b, "%.3g", x == 0.0 ? 0.0 : x);
    rp_td_num(fp, b);
}

static void lines_table(FILE *fp, const rp_run *r, const char *const *names, size_t nl)
{
    double final = r->n ? r->equity[r->n - 1] : NAN, sum = 0.0;
    fputs("<h3>P&amp;L lines</h3>\n<table>\n<tr><th>line</th><th class=\"n\">amount</th>"
          "<th class=\"n\">% of capital</th></tr>\n", fp);
    for (size_t k = 0; k < nl; k++) {
        double x = line_total(r, names[k]);
        if (!isnan(x))
            sum += x;
        char b[64];
        fputs("<tr>", fp);
        rp_td_text(fp, names[k]);
        rp_td_money(fp, x);
        rp_fmt_pct(b, sizeof b, x / r->capital);
        rp_td_num(fp, b);
        fputs("</tr>\n", fp);
    }
    fputs("<tr class=\"total\"><td>sum of the lines</td>", fp);
    rp_td_money(fp, sum);
    rp_td_num(fp, "");
    fputs("</tr>\n<tr><td>change in equity (final − capital)</td>", fp);
    rp_td_money(fp, final - r->capital);
    rp_td_num(fp, "");
    fputs("</tr>\n<tr class=\"check\"><td>difference</td>", fp);
    td_check(fp, sum - (final - r->capital));
    rp_td_num(fp, "");
    fputs("</tr>\n</table>\n", fp);
}

#define MAX_CONTRACT_ROWS 150

/* One row of the instrument table: label, kind, the line values, total. */
static void inst_row(FILE *fp, const char *cls, const char *label, const char *kind,
                     const double *v, const int *use, size_t nl)
{
    fprintf(fp, "<tr%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    rp_td_text(fp, label);
    rp_td_text(fp, kind);
    double tot = 0.0;
    for (size_t k = 0; k < nl; k++) {
        if (use[k])
            rp_td_money(fp, v[k]);
        if (!isnan(v[k]))
            tot += v[k];
    }
    rp_td_money(fp, tot);
    fputs("</tr>\n", fp);
}

static long name_at(const char *const *names, size_t nl, const char *name)
{
    for (size_t k = 0; k < nl; k++)
        if (!strcmp(names[k], name))
            return (long)k;
    return -1;
}

/*
 * P&L by instrument: the spot and perpetual instruments of summary.json,
 * the option contracts (their options line, fees and slippage from the
 * option files) by expiry, their sum, the book's own lines (coin balances
 * revalued, the engine's residual: the portfolio less the instruments),
 * and the check against the change in equity.
 */
static int instrument_table(FILE *fp, const rp_run *r, const char *const *names, size_t nl,
                            cpo_error *err)
{
    const json_t *ins = json_object_get(r->summary, "instruments");
    size_t ni = json_is_array(ins) ? json_array_size(ins) : 0;
    const rp_opt *o = &r->opt;
    if (ni == 0 && (!r->has_opt || o->ncon == 0))
        return 0;
    double *sum = calloc(3 * nl + 1, sizeof *sum), *row = sum + nl, *sub = row + nl;
    int *use = calloc(nl + 1, sizeof *use);
    if (!sum || !use) {
        free(sum);
        free(use);
        return nomem(err);
    }
    long l_opt = name_at(names, nl, "options"), l_fee = name_at(names, nl, "fees"),
         l_slip = name_at(names, nl, "slippage");
    /* The columns: the lines that are not 0 for the portfolio or for some
     * instrument. */
    size_t ncol = 0;
    for (size_t k = 0; k < nl; k++) {
        double x = line_total(r, names[k]);
        use[k] = x != 0.0 && !isnan(x);
        size_t i;
        const json_t *e;
        json_array_foreach(ins, i, e)
        {
            const json_t *v = json_object_get(json_object_get(e, "pnl"), names[k]);
            use[k] |= json_is_number(v) && json_number_value(v) != 0.0;
        }
        for (size_t c = 0; r->has_opt && c < o->ncon; c++)
            use[k] |= ((long)k == l_opt && o->con[c].options != 0.0) ||
                      ((long)k == l_fee && o->con[c].fees != 0.0) ||
                      ((long)k == l_slip && o->con[c].slippage != 0.0);
        ncol += (size_t)use[k];
    }
    fputs("<h3>P&amp;L by instrument</h3>\n<table>\n<tr><th>instrument</th><th>kind</th>", fp);
    for (size_t k = 0; k < nl; k++) {
        if (!use[k])
            continue;
        fputs("<th class=\"n\">", fp);
        rp_html(fp, names[k]);
        fputs("</th>", fp);
    }
    fputs("<th class=\"n\">total</th></tr>\n", fp);
    size_t i;
    const json_t *e;
    json_array_foreach(ins, i, e)
    {
        const json_t *ep = json_object_get(e, "pnl");
        for (size_t k = 0; k < nl; k++) {
            const json_t *x = json_object_get(ep, names[k]);
            row[k] = json_is_number(x) ? json_number_value(x) : 0.0;
            sum[k] += row[k];
        }
        inst_row(fp, NULL, rp_jstr(e, "symbol"), rp_jstr(e, "kind"), row, use, nl);
    }
    size_t shown = 0;
    for (size_t c = 0; r->has_opt && c < o->ncon; c++) {
        const rp_contract *k = &o->con[c];
        int first = c == 0 || strcmp(o->con[c - 1].expiry, k->expiry);
        if (first) {
            memset(sub, 0, nl * sizeof *sub);
            fprintf(fp, "<tr class=\"group\"><th colspan=\"%zu\">options expiring ", ncol + 3);
            rp_html(fp, k->expiry);
            fputs("</th></tr>\n", fp);
        }
        memset(row, 0, nl * sizeof *row);
        if (l_opt >= 0)
            row[l_opt] = k->options;
        if (l_fee >= 0)
            row[l_fee] = k->fees;
        if (l_slip >= 0)
            row[l_slip] = k->slippage;
        for (size_t q = 0; q < nl; q++) {
            sum[q] += row[q];
            sub[q] += row[q];
        }
        if (o->ncon <= MAX_CONTRACT_ROWS) {
            inst_row(fp, NULL, k->name, "option", row, use, nl);
            shown++;
        }
        if (c + 1 == o->ncon || strcmp(o->con[c + 1].expiry, k->expiry)) {
            char lab[96];
            snprintf(lab, sizeof lab, "expiry %.10s", k->expiry);
            inst_row(fp, "sub", lab, "options", sub, use, nl);
        }
    }
    inst_row(fp, "total", "sum of the instruments", "", sum, use, nl);
    /* The portfolio's lines less the instruments': the book's own. */
    double *port = row;
    for (size_t k = 0; k < nl; k++) {
        port[k] = line_total(r, names[k]);
        sub[k] = port[k] - sum[k];
    }
    inst_row(fp, NULL, "the book: coin balances revalued, the engine's residual", "", sub, use, nl);
    inst_row(fp, "total", "portfolio (every P&L line)", "", port, use, nl);
    double tot = 0.0, final = r->n ? r->equity[r->n - 1] : NAN;
    for (size_t k = 0; k < nl; k++)
        if (!isnan(port[k]))
            tot += port[k];
    fprintf(fp, "<tr><td colspan=\"%zu\">change in equity (final − capital)</td>", ncol + 2);
    rp_td_money(fp, final - r->capital);
    fprintf(fp, "</tr>\n<tr class=\"check\"><td colspan=\"%zu\">difference</td>", ncol + 2);
    td_check(fp, tot - (final - r->capital));
    fputs("</tr>\n</table>\n<p>", fp);
    if (r->has_opt) {
        fprintf(fp, "Option contracts: their options line (the sum over options.csv of mtm_coin × "
                "rate), fees and slippage (option_trades.csv, coin × the rate of the step)%s. ",
                o->ncon > MAX_CONTRACT_ROWS ? "; only the expiries are shown, there are too many "
                                              "contracts" : "");
        if (o->approx)
            fprintf(fp, "%zu option trades had no rate at their step and were converted at their "
                    "own index. ", o->approx);
    }
    if (r->has_opt)
        fputs("Premiums and payoffs are exchanges of cash for the position's value, not "
              "P&amp;L. ", fp);
    fputs("The revaluation of coin balances and the engine's residual belong to the book, not to "
          "an instrument. Lines that are 0 throughout are left out.</p>\n", fp);
    (void)shown;
    free(sum);
    free(use);
    return 0;
}

int rp_sec_pnl(FILE *fp, const rp_run *r, const rp_chart *ch, cpo_error *err)
{
    fputs("<section id=\"pnl\"><h2>P&amp;L</h2>\n<div class=\"grid\">\n", fp);
    rp_html_chart(fp, &ch[RP_C_PNL_LINES]);
    const char *names[RP_MAX_PNL];
    size_t nl = rp_pnl_lines(r, names, RP_MAX_PNL);
    fputs("<div>", fp);
    if (nl)
        lines_table(fp, r, names, nl);
    fputs("</div>\n</div>\n", fp);
    int rc = instrument_table(fp, r, names, nl, err);
    fputs("</section>\n", fp);
    return rc;
}

/* --- the option book ---------------------------------------------------------------------- */

static const char *const terms[] = {"delta", "gamma", "vega", "theta", "vanna", "volga", "rho",
                                    "unexplained"};
#define N_TERMS (sizeof terms / sizeof terms[0])

/* explain_by.csv rows of one `by`: key, options, the terms, rows; the
 * file's total, sum of parts and residual as it has them. */
static void explain_table(FILE *fp, const rp_table *t, const char *by, const char *title)
{
    int ck = rp_table_col(t, "kind"), cb = rp_table_col(t, "by"), cy = rp_table_col(t, "key"),
        co = rp_table_col(t, "options"), cr = rp_table_col(t, "rows");
    if (ck < 0 || cb < 0 || cy < 0 || co < 0)
        return;
    int tc[N_TERMS];
    for (size_t k = 0; k < N_TERMS; k++)
        tc[k] = rp_table_col(t, terms[k]);
    size_t any = 0;
    for (size_t i = 0; i < t->nrow; i++)
        any += !strcmp(t->text[i * t->ncol + (size_t)cb], by);
    if (!any)
        return;
    fputs("<h3>", fp);
    rp_html(fp, title);
    fputs("</h3>\n<table>\n<tr><th>", fp);
    rp_html(fp, by);
    fputs("</th><th class=\"n\">options line</th>", fp);
    for (size_t k = 0; k < N_TERMS; k++)
        if (tc[k] >= 0)
            fprintf(fp, "<th class=\"n\">%s</th>", terms[k]);
    fputs(cr >= 0 ? "<th class=\"n\">rows</th></tr>\n" : "</tr>\n", fp);
    for (size_t i = 0; i < t->nrow; i++) {
        const char *const *f = (const char *const *)t->text + i * t->ncol;
        if (strcmp(f[cb], by))
            continue;
        const char *kind = f[ck];
        int part = !strcmp(kind, "part"), tot = !strcmp(kind, "total");
        fprintf(fp, "<tr%s>", part ? "" : tot ? " class=\"total\"" : " class=\"check\"");
        int res = !strcmp(kind, "residual");
        rp_td_text(fp, part ? f[cy] : kind);
        (res ? td_check : rp_td_money)(fp, t->num[i * t->ncol + (size_t)co]);
        for (size_t k = 0; k < N_TERMS; k++)
            if (tc[k] >= 0)
                (res ? td_check : rp_td_money)(fp, t->num[i * t->ncol + (size_t)tc[k]]);
        if (cr >= 0)
            rp_td_text(fp, f[cr]);
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n", fp);
}

int rp_sec_options(FILE *fp, const rp_run *r, const rp_chart *ch, cpo_error *err)
{
    (void)err;
    if (!r->has_opt)
        return 0;
    const rp_opt *o = &r->opt;
    fputs("<section id=\"options\"><h2>Options</h2>\n<p>The option book from options.csv (a row "
          "per position and step), option_trades.csv (fills and settlements) and explain_by.csv "
          "(the options line explained by Greek, summed by underlying, expiry and strategy): ",
          fp);
    size_t trades = 0;
    for (size_t k = 0; k < o->ncon; k++)
        trades += o->con[k].trades;
    fprintf(fp, "%zu contracts on %zu underlying%s, %zu fills and settlements.", o->ncon, o->nu,
            o->nu == 1 ? "" : "s", trades);
    const json_t *ob = json_object_get(r->summary, "options");
    const json_t *fl = json_object_get(ob, "flagged_steps");
    if (json_is_integer(fl))
        fprintf(fp, " Steps whose Taylor explain left more than the threshold unexplained: %lld "
                "(summary.json).", (long long)json_integer_value(fl));
    fputs(" Each term is the coin term of a position's row × the row's rate (reporting "
          "currency); the terms add up to the options line. Option contracts, their fees and "
          "slippage are in the P&amp;L by instrument.</p>\n", fp);
    static const int figs[] = {RP_C_GREEKS, RP_C_OPT_EXPIRY};
    rp_html_figs(fp, ch, figs, 2);
    if (json_is_object(ob)) {
        /* summary.json's options block, as it is. */
        fputs("<h3>The option book over the run (summary.json)</h3>\n<table>\n", fp);
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)ob, key, v)
        {
            if (json_is_object(v) || json_is_array(v))
                continue;
            char b[96];
            if (!strcmp(key, "options") && json_is_number(v))
                rp_fmt_money(b, sizeof b, json_number_value(v), 2);
            else if (json_is_real(v) && strstr(key, "gap"))
                snprintf(b, sizeof b, "%.3g", json_real_value(v));
            else
                rp_fmt_metric(b, sizeof b, key, v);
            fputs("<tr>", fp);
            rp_td_text(fp, key);
            rp_td_num(fp, b);
            fputs("</tr>\n", fp);
        }
        fputs("</table>\n", fp);
    }
    if (o->has_explain_by) {
        explain_table(fp, &o->explain_by, "underlying", "P&L by Greek, by underlying");
        explain_table(fp, &o->explain_by, "expiry", "P&L by Greek, by expiry");
        explain_table(fp, &o->explain_by, "strategy", "P&L by Greek, by strategy (the stage "
                      "that opened the position)");
    } else {
        fputs("<p class=\"note\">No explain_by.csv in this run folder.</p>\n", fp);
    }
    fputs("</section>\n", fp);
    return 0;
}

/* --- dated futures ------------------------------------------------------------------------- */

int rp_sec_futures(FILE *fp, const rp_run *r, const rp_chart *ch)
{
    const json_t *fb = json_object_get(r->summary, "futures");
    if (!json_is_object(fb) && !r->has_fut)
        return 0;
    fputs("<section id=\"futures\"><h2>Futures</h2>\n<p>Dated futures from futures.csv (a row "
          "per future and step with a price or a position: its price and where it came from, "
          "the index, the basis) and summary.json. A price is a <em>quote</em> of the data, "
          "<em>filled</em> (the last quote carried forward: a stale mark) or <em>basis</em> "
          "(modelled from the index at the latest quote's implied carry, [futures] "
          "between_quotes = basis).</p>\n",
          fp);
    static const int figs[] = {RP_C_BASIS};
    rp_html_figs(fp, ch, figs, 1);
    const json_t *ins = json_object_get(fb, "instruments");
    if (json_is_array(ins) && json_array_size(ins)) {
        fputs("<h3>Each future over the run (summary.json)</h3>\n<table>\n<tr><th>future</th>"
              "<th>expiry</th><th>index</th><th>steps quoted</th><th>filled</th><th>basis</th>"
              "<th>none</th><th>held</th><th>delivered</th><th>at</th><th>fee</th></tr>\n",
              fp);
        size_t k;
        const json_t *e;
        json_array_foreach(ins, k, e)
        {
            const json_t *st = json_object_get(e, "steps"), *d = json_object_get(e, "delivery");
            fputs("<tr>", fp);
            rp_td_text(fp, rp_jstr(e, "symbol") ? rp_jstr(e, "symbol") : "");
            rp_td_text(fp, rp_jstr(e, "expiry") ? rp_jstr(e, "expiry") : "");
            rp_td_text(fp, rp_jstr(e, "index") ? rp_jstr(e, "index") : "");
            static const char *const keys[] = {"quote", "filled", "basis", "none", "held"};
            for (size_t j = 0; j < 5; j++) {
                char b[32];
                const json_t *v = json_object_get(st, keys[j]);
                snprintf(b, sizeof b, "%lld", json_is_integer(v) ? (long long)json_integer_value(v)
                                                                 : 0LL);
                rp_td_num(fp, b);
            }
            if (json_is_object(d)) {
                rp_td_gen(fp, json_number_value(json_object_get(d, "qty")));
                rp_td_gen(fp, json_number_value(json_object_get(d, "price")));
                rp_td_gen(fp, json_number_value(json_object_get(d, "fee")));
            } else {
                fputs("<td></td><td></td><td></td>", fp);
            }
            fputs("</tr>\n", fp);
        }
        fputs("</table>\n", fp);
    }
    if (json_is_object(fb)) {
        fputs("<h3>Deliveries and rolls (summary.json)</h3>\n<table>\n", fp);
        static const char *const keys[] = {"deliveries", "deliveries_estimated", "delivery_fees",
                                           "expired_orders_dropped", "rolls", "roll_costs",
                                           "held_steps_modelled", "held_steps_stale",
                                           "between_quotes", "delivery_fee_bps"};
        for (size_t j = 0; j < sizeof keys / sizeof keys[0]; j++) {
            const json_t *v = json_object_get(fb, keys[j]);
            if (!v)
                continue;
            char b[96];
            if (json_is_string(v))
                snprintf(b, sizeof b, "%s", json_string_value(v));
            else if (strstr(keys[j], "fees") || strstr(keys[j], "costs"))
                rp_fmt_money(b, sizeof b, json_number_value(v), 2);
            else
                rp_fmt_metric(b, sizeof b, keys[j], v);
            fputs("<tr>", fp);
            rp_td_text(fp, keys[j]);
            rp_td_num(fp, b);
            fputs("</tr>\n", fp);
        }
        fputs("</table>\n", fp);
        const json_t *stale = json_object_get(fb, "held_steps_stale");
        if (json_is_integer(stale) && json_integer_value(stale) > 0)
            fputs("<p class=\"warn\">Futures were held on stale prices (carried forward, or "
                  "none) for the steps counted above: their P&amp;L between quotes is not "
                  "known. [futures] between_quotes = basis models them from the index.</p>\n",
                  fp);
        const json_t *est = json_object_get(fb, "deliveries_estimated");
        if (json_is_integer(est) && json_integer_value(est) > 0)
            fputs("<p class=\"warn\">Some deliveries are at an estimated price: the index bars "
                  "are coarser than a minute or miss part of the 30 minutes before the expiry "
                  "(events.csv says which).</p>\n",
                  fp);
    }
    fputs("</section>\n", fp);
    return 0;
}

/* --- round trips ---------------------------------------------------------------------------- */

/* A duration: "5.0 h" under two days, else "3.2 d". */
static void fmt_hold(char *b, size_t n, double ms)
{
    if (!isfinite(ms))
        snprintf(b, n, "n/a");
    else if (ms < 2.0 * CPO_MS_DAY)
        snprintf(b, n, "%.1f h", ms / CPO_MS_HOUR);
    else
        snprintf(b, n, "%.1f d", ms / CPO_MS_DAY);
}

int rp_html_round_trips(FILE *fp, const rp_run *r, cpo_error *err)
{
    rp_trip_sum *s = NULL;
    size_t n = 0;
    int rc = rp_round_trips(r, &s, &n, err);
    if (rc || n == 0)
        return rc;
    fputs("<h3>Round trips</h3>\n<p>A round trip opens a position in one instrument from 0 and "
          "closes it back to 0 (a fill that crosses 0 closes one and opens the next, its fee "
          "split pro rata). Its P&amp;L is realised at fill prices with average-cost accounting, "
          "less its fees, per unit of qty × price (the notional above: linear contracts of "
          "size 1). Holding time: from the opening fill to the closing one. Positions still "
          "open at the end are not counted.", fp);
    const json_t *rt = json_object_get(json_object_get(r->summary, "metrics"), "round_trips");
    if (json_is_integer(rt))
        fprintf(fp, " summary.json counts %lld round trips the same way.",
                (long long)json_integer_value(rt));
    fputs("</p>\n<table>\n<tr><th>symbol</th><th class=\"n\">trips</th><th class=\"n\">won</th>"
          "<th class=\"n\">win rate</th><th class=\"n\">average win</th><th class=\"n\">average "
          "loss</th><th class=\"n\">profit factor</th><th class=\"n\">best</th><th class=\"n\">"
          "worst</th><th class=\"n\">P&amp;L</th><th class=\"n\">average holding</th>"
          "<th class=\"n\">open at the end</th></tr>\n", fp);
    for (size_t k = 0; k < n; k++) {
        const rp_trip_sum *x = &s[k];
        char b[64];
        fprintf(fp, "<tr%s>", x->symbol ? "" : " class=\"total\"");
        rp_td_text(fp, x->symbol ? x->symbol : "all");
        snprintf(b, sizeof b, "%zu", x->trips);
        rp_td_num(fp, b);
        snprintf(b, sizeof b, "%zu", x->won);
        rp_td_num(fp, b);
        rp_fmt_pct(b, sizeof b, x->trips ? (double)x->won / (double)x->trips : NAN);
        rp_td_num(fp, b);
        rp_td_money(fp, x->won ? x->win_sum / (double)x->won : NAN);
        rp_td_money(fp, x->lost ? x->loss_sum / (double)x->lost : NAN);
        if (x->loss_sum < 0.0)
            snprintf(b, sizeof b, "%.2f", x->win_sum / -x->loss_sum);
        else
            snprintf(b, sizeof b, "n/a");
        rp_td_num(fp, b);
        rp_td_money(fp, x->best);
        rp_td_money(fp, x->worst);
        rp_td_money(fp, x->trips ? x->win_sum + x->loss_sum : NAN);
        fmt_hold(b, sizeof b, x->trips ? x->hold_ms / (double)x->trips : NAN);
        rp_td_num(fp, b);
        snprintf(b, sizeof b, "%zu", x->open);
        rp_td_num(fp, b);
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n<p>Profit factor: the P&amp;L of the trips won over that of the others "
          "(n/a without a losing trip).</p>\n", fp);
    free(s);
    return 0;
}
