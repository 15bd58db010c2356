/*
 * report_html.c - report.html of a run folder (see cpo/report.h): a
 * self-contained tear sheet with inline CSS and no script, its charts
 * referenced as charts/NAME.png (relative), every text of data or config
 * HTML-escaped.  Nothing in it depends on when or where it was made (not
 * even the folder's path), so the same run gives the same bytes.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpo/time.h"
#include "report_priv.h"

/* --- text ----------------------------------------------------------------------- */

void rp_html(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

void rp_iso(char *buf, size_t n, int64_t ms, int date_only)
{
    if (ms == CPO_TIME_NONE)
        snprintf(buf, n, "n/a");
    else if (date_only && ms % CPO_MS_DAY == 0)
        cpo_time_format_date(ms, buf, n);
    else
        cpo_time_format(ms, buf, n);
}

void rp_fmt_money(char *buf, size_t n, double x, int decimals)
{
    if (!isfinite(x)) {
        snprintf(buf, n, isnan(x) ? "n/a" : x > 0 ? "inf" : "-inf");
        return;
    }
    char raw[64];
    snprintf(raw, sizeof raw, "%.*f", decimals, fabs(x));
    if (!strcmp(raw, "0") || strspn(raw, "0.") == strlen(raw))
        x = 0.0; /* no "-0.00" */
    char *dot = strchr(raw, '.');
    size_t ilen = dot ? (size_t)(dot - raw) : strlen(raw);
    char out[96];
    size_t w = 0;
    if (x < 0.0)
        out[w++] = '-';
    for (size_t i = 0; i < ilen; i++) {
        if (i && (ilen - i) % 3 == 0)
            out[w++] = ',';
        out[w++] = raw[i];
    }
    if (dot)
        for (const char *p = dot; *p && w + 1 < sizeof out; p++)
            out[w++] = *p;
    out[w] = '\0';
    snprintf(buf, n, "%s", out);
}

/* A number of unknown kind: separators for large ones, 6 digits else. */
void rp_fmt_gen(char *buf, size_t n, double x)
{
    if (!isfinite(x))
        snprintf(buf, n, isnan(x) ? "n/a" : x > 0 ? "inf" : "-inf");
    else if (fabs(x) >= 1e4 && fabs(x) < 1e15)
        rp_fmt_money(buf, n, x, 2);
    else
        snprintf(buf, n, "%.6g", x == 0.0 ? 0.0 : x);
}

void rp_fmt_pct(char *buf, size_t n, double x)
{
    if (!isfinite(x))
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, "%.2f %%", fabs(100.0 * x) < 0.005 ? 0.0 : 100.0 * x);
}

/* key has w as one of its '_'-separated words. */
static int has_word(const char *key, const char *w)
{
    size_t lw = strlen(w);
    for (const char *p = key; (p = strstr(p, w)); p++) {
        int start = p == key || p[-1] == '_' || p[-1] == '.';
        int end = p[lw] == '\0' || p[lw] == '_' || p[lw] == '.';
        if (start && end)
            return 1;
    }
    return 0;
}

static int key_percent(const char *key)
{
    static const char *const no[] = {"duration", "days", "bars", "length", "steps", "ms", "count",
                                     "peak", "trough", "recovery", "periods"};
    for (size_t k = 0; k < sizeof no / sizeof no[0]; k++)
        if (has_word(key, no[k]))
            return 0;
    const char *dot = strrchr(key, '.');
    if (!strcmp(dot ? dot + 1 : key, "average_gross_exposure"))
        return 1; /* a fraction of equity; the other exposures are amounts */
    static const char *const yes[] = {"return", "volatility", "drawdown", "var", "cvar", "cagr",
                                      "alpha", "turnover", "hit", "win", "rate", "depth", "vol",
                                      "downside", "free", "required", "cutoff", "rf"};
    for (size_t k = 0; k < sizeof yes / sizeof yes[0]; k++)
        if (has_word(key, yes[k]))
            return 1;
    return 0;
}

static int key_money(const char *key)
{
    static const char *const m[] = {"capital", "final_equity", "fees", "funding", "slippage",
                                    "liquidation", "equity"};
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++)
        if (!strcmp(key, m[k]))
            return 1;
    const char *dot = strrchr(key, '.');
    if (strcmp(dot ? dot + 1 : key, "average_gross_exposure") && has_word(key, "exposure"))
        return 1;
    if (!strcmp(dot ? dot + 1 : key, "financing")) /* the P&L line of the financing block */
        return 1;
    return !strncmp(key, "pnl", 3) || has_word(key, "paid");
}

void rp_fmt_metric(char *buf, size_t n, const char *key, const json_t *v)
{
    if (!v || json_is_null(v))
        snprintf(buf, n, "n/a");
    else if (json_is_string(v))
        snprintf(buf, n, "%s", json_string_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, n, "%s", json_is_true(v) ? "yes" : "no");
    else if (json_is_integer(v))
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) {
        double x = json_real_value(v);
        if (key_money(key))
            rp_fmt_money(buf, n, x, 2);
        else if (key_percent(key) && x != 0.0 && fabs(x) < 5e-5)
            snprintf(buf, n, "%.3g %%", 100.0 * x); /* a rate per hour: not "0.00 %" */
        else if (key_percent(key))
            rp_fmt_pct(buf, n, x);
        else if (has_word(key, "days"))
            snprintf(buf, n, "%.1f", x);
        else if (x == floor(x) && fabs(x) < 1e15)
            snprintf(buf, n, "%.0f", x);
        else if (x != 0.0 && (fabs(x) < 1e-3 || fabs(x) >= 1e6))
            snprintf(buf, n, "%.3g", x);
        else
            snprintf(buf, n, "%.4f", x);
    } else
        snprintf(buf, n, "(%s)", json_is_array(v) ? "list" : "table");
}

/* "annual_volatility" -> "annual volatility". */
static void label(FILE *fp, const char *key)
{
    char b[256];
    snprintf(b, sizeof b, "%s", key);
    for (char *p = b; *p; p++)
        if (*p == '_')
            *p = ' ';
    rp_html(fp, b);
}

/*
 * The style sheet of report.html, compare.html and the sweep page: one
 * column of sections, charts that scale to the width, key figures in a
 * grid; narrow screens (phones) get smaller type and tables that scroll
 * sideways; print (and "print to PDF") gets a plain page: no colours
 * behind the header, no table of contents, charts and tables kept whole.
 */
const char rp_css[] =
    "*{box-sizing:border-box}"
    "html{-webkit-text-size-adjust:100%}"
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;font-size:14px;color:#222;"
    "background:#fff;margin:0;padding:0 0 40px 0;line-height:1.35}"
    "main{max-width:1380px;margin:0 auto;padding:0 16px}"
    "header{background:#1f3a5f;color:#fff;padding:16px 24px;margin-bottom:12px}"
    "header h1{margin:0 0 4px 0;font-size:22px;font-weight:600;overflow-wrap:anywhere}"
    "header p{margin:2px 0;color:#d8e2ee}"
    "h2{font-size:18px;border-bottom:2px solid #1f3a5f;padding-bottom:4px;margin:28px 0 10px}"
    "h3{font-size:15px;margin:18px 0 6px}"
    "a{color:#1f3a5f}"
    "nav#contents{font-size:13px;margin:8px 0 4px 0;padding:8px 12px;background:#f5f7fa;"
    "border:1px solid #dfe5ec;border-radius:6px}"
    "nav#contents h2{font-size:14px;border:0;margin:0 0 4px 0;padding:0}"
    "nav#contents ol{margin:0;padding-left:20px;columns:3 200px;column-gap:24px}"
    "nav#contents li{margin:1px 0;break-inside:avoid}"
    "table{border-collapse:collapse;margin:6px 0 10px 0;font-size:13px;display:block;"
    "max-width:100%;overflow-x:auto}"
    "th,td{padding:3px 10px;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}"
    "th{background:#f0f3f7;font-weight:600}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.pos{color:#1b7837}td.neg{color:#b2182b}td.best{font-weight:700;background:#e9f5ec}"
    "tr.total td{font-weight:600;border-top:2px solid #999}"
    "tr.sub td{font-style:italic;background:#fafbfc}"
    "tr.check td{color:#555;font-style:italic}"
    "tr.group th{background:#e4e9f0;text-align:left}"
    "code,.mono{font-family:'DejaVu Sans Mono',monospace;font-size:12px;word-break:break-all}"
    ".kf{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;"
    "margin:8px 0 4px 0}"
    ".card{border:1px solid #d5dde8;border-radius:6px;padding:6px 12px;background:#f8fafc}"
    ".card .v{font-size:19px;font-weight:600;color:#1f3a5f;white-space:nowrap}"
    ".card .k{font-size:12px;color:#555}"
    ".note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;margin:8px 0;"
    "font-size:13px}"
    ".warn{background:#fdecea;border-left:4px solid #d62728;padding:8px 12px;margin:8px 0}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,600px),1fr));"
    "gap:4px 20px}"
    ".grid figure.wide{grid-column:1/-1}"
    "figure{margin:6px 0 14px 0;min-width:0}figure h3{margin:4px 0;font-size:14px}"
    "figure img{max-width:100%;height:auto;border:1px solid #e3e3e3;display:block}"
    "figcaption{font-size:12px;color:#555;margin-top:2px}"
    ".cols{display:flex;flex-wrap:wrap;gap:0 28px}"
    ".scroll{overflow-x:auto;max-width:100%}"
    ".cols>div{min-width:0;max-width:100%}"
    "details summary{cursor:pointer;color:#1f3a5f;margin:6px 0}"
    "footer{margin-top:30px;font-size:12px;color:#666}"
    "@media (max-width:720px){"
    "body{font-size:13px}main{padding:0 8px}header{padding:10px 12px}"
    "header h1{font-size:17px}h2{font-size:16px;margin-top:22px}"
    ".kf{grid-template-columns:repeat(2,1fr)}.card .v{font-size:16px}"
    "table{font-size:12px}"
    "th,td{padding:2px 6px}nav#contents ol{columns:2 120px}}"
    "@media print{"
    "@page{size:A4;margin:12mm}"
    "body{font-size:10pt;padding:0}main{max-width:none;padding:0}"
    "header{background:none;color:#000;padding:0 0 6px 0;border-bottom:2px solid #000}"
    "header p{color:#333}nav#contents{display:none}"
    "a{color:inherit;text-decoration:none}"
    "h2{break-after:avoid;border-color:#000}h3{break-after:avoid}"
    "figure,table,.card,tr{break-inside:avoid}"
    ".grid{display:block}figure img{border:0;max-height:240mm;width:auto}"
    "figcaption,details,.noprint{display:none}"
    "th{background:#eee}.card{background:none}table{display:table;font-size:9pt}}";

/* The chart's image and files, under dir ("charts/" of the page). */
void rp_html_chart_at(FILE *fp, const rp_chart *c, const char *dir)
{
    if (c->state == RP_CHART_ABSENT)
        return;
    fprintf(fp, "<figure%s id=\"chart-", c->w > 700 ? " class=\"wide\"" : "");
    rp_html(fp, c->name);
    fputs("\"><h3>", fp);
    rp_html(fp, c->title);
    fputs("</h3>\n", fp);
    if (c->state == RP_CHART_DRAWN) {
        fputs("<img src=\"", fp);
        rp_html(fp, dir);
        rp_html(fp, c->name);
        fputs(c->img & RP_IMG_PNG ? ".png\" alt=\"" : ".svg\" alt=\"", fp);
        rp_html(fp, c->title);
        fprintf(fp, "\" width=\"%d\" height=\"%d\">\n", c->w, c->h);
    }
    if (c->state != RP_CHART_SKIPPED) {
        fputs("<figcaption>", fp);
        if (c->state == RP_CHART_DRAWN && c->img == (RP_IMG_PNG | RP_IMG_SVG)) {
            fputs("<a href=\"", fp);
            rp_html(fp, dir);
            fprintf(fp, "%s.svg\">SVG</a> · ", c->name);
        }
        fputs("<a href=\"", fp);
        rp_html(fp, dir);
        fprintf(fp, "%s.gp\">script</a> · <a href=\"", c->name);
        rp_html(fp, dir);
        fprintf(fp, "%s.dat\">data</a>", c->name);
        if (c->note[0] && c->state == RP_CHART_DRAWN) {
            fputs(" · ", fp);
            rp_html(fp, c->note);
        }
        fputs("</figcaption>\n", fp);
    }
    if (c->state != RP_CHART_DRAWN) {
        fputs("<p class=\"note\">", fp);
        fputs(c->state == RP_CHART_SKIPPED ? "Not drawn: " : c->state == RP_CHART_FAILED
                                                                ? "gnuplot failed: "
                                                                : "Not drawn: ",
              fp);
        rp_html(fp, c->note);
        fputs("</p>\n", fp);
    }
    fputs("</figure>\n", fp);
}

void rp_html_chart(FILE *fp, const rp_chart *c)
{
    rp_html_chart_at(fp, c, "charts/");
}

/* Charts idx[0..n) of ch in a grid (the ones for this run). */
void rp_html_figs(FILE *fp, const rp_chart *ch, const int *idx, size_t n)
{
    size_t shown = 0;
    for (size_t k = 0; k < n; k++)
        shown += ch[idx[k]].state != RP_CHART_ABSENT;
    if (!shown)
        return;
    fputs("<div class=\"grid\">\n", fp);
    for (size_t k = 0; k < n; k++)
        rp_html_chart(fp, &ch[idx[k]]);
    fputs("</div>\n", fp);
}

void rp_info_add(cpo_report_info *info, const rp_chart *c, size_t n, const rp_gnuplot *g)
{
    if (!info)
        return;
    for (size_t k = 0; k < n; k++) {
        if (c[k].state == RP_CHART_ABSENT)
            continue;
        info->n_charts++;
        info->n_drawn += c[k].state == RP_CHART_DRAWN;
        info->n_skipped += c[k].state == RP_CHART_SKIPPED;
        info->n_failed += c[k].state == RP_CHART_FAILED;
    }
    if (g->looked && !g->found)
        info->gnuplot_missing = 1;
}

/* --- sections ---------------------------------------------------------------------------- */

const char *rp_jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

void rp_td_text(FILE *fp, const char *s)
{
    fputs("<td>", fp);
    rp_html(fp, s ? s : "");
    fputs("</td>", fp);
}

void rp_td_num(FILE *fp, const char *s)
{
    fputs("<td class=\"n\">", fp);
    rp_html(fp, s);
    fputs("</td>", fp);
}

void rp_td_money(FILE *fp, double x)
{
    char b[64];
    rp_fmt_money(b, sizeof b, x, 2);
    rp_td_num(fp, b);
}

void rp_td_gen(FILE *fp, double x)
{
    char b[64];
    rp_fmt_gen(b, sizeof b, x);
    rp_td_num(fp, b);
}

/* summary.json "warnings" (what could make the numbers mislead): a banner
 * at the top of the page, one line each. */
static void warnings_banner(FILE *fp, const json_t *s)
{
    const json_t *w = json_object_get(s, "warnings");
    if (!json_is_array(w) || json_array_size(w) == 0)
        return;
    fputs("<div class=\"warn\" id=\"warnings\"><strong>These numbers may mislead:</strong><ul>\n",
          fp);
    for (size_t k = 0; k < json_array_size(w); k++) {
        const char *m = rp_jstr(json_array_get(w, k), "message");
        if (!m)
            continue;
        fputs("<li>", fp);
        rp_html(fp, m);
        fputs("</li>\n", fp);
    }
    fputs("</ul></div>\n", fp);
}

static void head(FILE *fp, const rp_run *r)
{
    const json_t *s = r->summary, *per = json_object_get(s, "period");
    const char *cfg = rp_jstr(s, "config");
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>cpo "
          "report: ",
          fp);
    rp_html(fp, cfg ? cfg : "run");
    fprintf(fp, "</title>\n<style>%s</style>\n</head>\n<body>\n<header><h1>Backtest report: ",
            rp_css);
    rp_html(fp, cfg ? cfg : "run");
    fputs("</h1>\n<p>", fp);
    char a[40], b[40];
    int daily = r->bar_ms % CPO_MS_DAY == 0;
    rp_iso(a, sizeof a, r->n ? r->ts[0] : CPO_TIME_NONE, daily);
    rp_iso(b, sizeof b, r->n ? r->ts[r->n - 1] : CPO_TIME_NONE, daily);
    fprintf(fp, "%s .. %s (bar opens): %zu bars", a, b, r->n);
    const char *bar = rp_jstr(per, "bar");
    if (bar) {
        fputs(" of ", fp);
        rp_html(fp, bar);
    }
    fprintf(fp, ", %.0f a year (365-day year)", r->ppy);
    fputs("</p>\n<p>capital ", fp);
    char m[64];
    rp_fmt_money(m, sizeof m, r->capital, 2);
    rp_html(fp, m);
    fputc(' ', fp);
    rp_html(fp, r->currency);
    if (r->bench[0]) {
        fputs(" · benchmark ", fp);
        rp_html(fp, r->bench);
    }
    const char *fill = rp_jstr(s, "fill");
    if (fill) {
        fputs(" · fill ", fp);
        rp_html(fp, fill);
    }
    const json_t *seed = json_object_get(s, "seed");
    if (seed) {
        char sd[64];
        rp_fmt_metric(sd, sizeof sd, "seed", seed);
        fputs(" · seed ", fp);
        rp_html(fp, sd);
    }
    const char *ver = rp_jstr(s, "cpo_version");
    if (ver) {
        fputs(" · cpo ", fp);
        rp_html(fp, ver);
    }
    fputs("</p>\n</header>\n<main>\n", fp);
    warnings_banner(fp, s);
    const char *note = rp_jstr(s, "fill_note");
    if (note) {
        fputs("<p class=\"note\">", fp);
        rp_html(fp, note);
        fputs("</p>\n", fp);
    }
}

/* A metric of summary.json: metrics.KEY, else the summary's own KEY. */
static const json_t *metric(const json_t *s, const char *key)
{
    const json_t *v = json_object_get(json_object_get(s, "metrics"), key);
    return v ? v : json_object_get(s, key);
}

static void card(FILE *fp, const char *label, const char *value)
{
    fputs("<div class=\"card\"><div class=\"v\">", fp);
    rp_html(fp, value);
    fputs("</div><div class=\"k\">", fp);
    rp_html(fp, label);
    fputs("</div></div>\n", fp);
}

/* The figures a reader looks at first, in a grid that wraps on a phone.
 * Drawdowns are negative percentages throughout the page. */
static void kf_cards(FILE *fp, const rp_run *r)
{
    const json_t *s = r->summary;
    static const struct {
        const char *key, *alt, *label;
    } keys[] = {{"cumulative_return", "total_return", "total return"},
                {"cagr", "annual_return", "CAGR"},
                {"annual_volatility", NULL, "volatility (annual)"},
                {"sharpe", NULL, "Sharpe"},
                {"sortino", NULL, "Sortino"},
                {"max_drawdown", NULL, "max drawdown"},
                {"calmar", NULL, "Calmar"},
                {"final_equity", NULL, "final equity"}};
    fputs("<div class=\"kf\">\n", fp);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const json_t *v = metric(s, keys[k].key);
        if (!v && keys[k].alt)
            v = json_object_get(s, keys[k].alt);
        if (!v)
            continue;
        char b[96];
        if (!strcmp(keys[k].key, "max_drawdown") && json_is_number(v))
            rp_fmt_pct(b, sizeof b, -fabs(json_number_value(v)));
        else if (!strcmp(keys[k].key, "final_equity") && json_is_number(v))
            rp_fmt_money(b, sizeof b, json_number_value(v), 0);
        else
            rp_fmt_metric(b, sizeof b, keys[k].key, v);
        card(fp, keys[k].label, b);
    }
    if (r->has_bench) {
        double g = 1.0;
        for (size_t t = 0; t < r->n; t++)
            if (isfinite(r->bench_ret[t]))
                g *= 1.0 + r->bench_ret[t];
        char b[96], l[128];
        rp_fmt_pct(b, sizeof b, g - 1.0);
        snprintf(l, sizeof l, "%s total return", r->bench);
        card(fp, l, b);
        static const char *const bk[] = {"beta", "alpha"};
        for (int k = 0; k < 2; k++) {
            const json_t *v = metric(s, bk[k]);
            if (!v)
                continue;
            rp_fmt_metric(b, sizeof b, bk[k], v);
            snprintf(l, sizeof l, "%s to %s", bk[k], r->bench);
            card(fp, l, b);
        }
    }
    fputs("</div>\n", fp);
}

static void key_figures(FILE *fp, const rp_run *r)
{
    fputs("<section id=\"summary\"><h2>Key figures</h2>\n", fp);
    kf_cards(fp, r);
    fputs("</section>\n", fp);
}

int rp_html_brief(FILE *fp, const char *run_dir, const char *rel, cpo_error *err)
{
    rp_run r;
    int rc = rp_run_load(&r, run_dir, err);
    if (rc)
        return rc;
    kf_cards(fp, &r);
    static const struct {
        const char *name, *title;
    } figs[] = {{"equity", "Equity (the deepest drawdowns shaded)"},
                {"drawdown", "Underwater: fall from the running peak"},
                {"monthly_returns", "Monthly returns (%)"}};
    fputs("<div class=\"grid\">\n", fp);
    for (size_t k = 0; k < sizeof figs / sizeof figs[0]; k++) {
        /* The PNG, else the SVG ([report] charts = svg). */
        static const char *const ext[2] = {"png", "svg"};
        FILE *f = NULL;
        int x = 0;
        for (; x < 2 && !f; x++) {
            char p[1200];
            snprintf(p, sizeof p, "%s/charts/%s.%s", run_dir, figs[k].name, ext[x]);
            f = fopen(p, "rb");
        }
        fprintf(fp, "<figure%s><h3>%s</h3>\n", k != 1 ? " class=\"wide\"" : "", figs[k].title);
        if (f) {
            fclose(f);
            fputs("<img src=\"", fp);
            rp_html(fp, rel);
            fprintf(fp, "/charts/%s.%s\" alt=\"%s\">\n", figs[k].name, ext[x - 1],
                    figs[k].title);
        } else {
            fputs("<p class=\"note\">Not drawn (see its report).</p>\n", fp);
        }
        fputs("</figure>\n", fp);
    }
    fputs("</div>\n<p><a href=\"", fp);
    rp_html(fp, rel);
    fputs("/report.html\">The full report of this run</a> (", fp);
    rp_html(fp, rel);
    fputs("/: its run folder).</p>\n", fp);
    rp_run_free(&r);
    return 0;
}

/* The sections of a run's page, in order; options only with options. */
static const struct {
    const char *id, *title;
} sections[] = {
    {"summary", "Key figures"}, {"performance", "Performance"}, {"returns", "Returns"},
    {"risk", "Risk"},           {"metrics", "Metrics"},
    {"bootstrap", "Confidence intervals"},                       {"pnl", "P&L"},
    {"options", "Options"},     {"futures", "Futures"},         {"drawdowns", "Drawdowns"},     {"attribution", "Attribution"},
    {"trades", "Trades"},       {"events", "Events"},           {"settings", "Settings"},
    {"manifest", "Manifest"}};

static void contents(FILE *fp, const rp_run *r)
{
    fputs("<nav id=\"contents\"><h2>Contents</h2>\n<ol>\n", fp);
    for (size_t k = 0; k < sizeof sections / sizeof sections[0]; k++) {
        if ((!strcmp(sections[k].id, "options") && !r->has_opt) ||
            (!strcmp(sections[k].id, "futures") && !r->has_fut &&
             !json_is_object(json_object_get(r->summary, "futures"))) ||
            (!strcmp(sections[k].id, "bootstrap") &&
             !json_is_object(json_object_get(r->summary, "bootstrap"))))
            continue;
        fprintf(fp, "<li><a href=\"#%s\">", sections[k].id);
        rp_html(fp, sections[k].title);
        fputs("</a></li>\n", fp);
    }
    fputs("</ol>\n</nav>\n", fp);
}

static void performance(FILE *fp, const rp_run *r, const rp_chart *ch)
{
    fputs("<section id=\"performance\"><h2>Performance</h2>\n", fp);
    if (r->bench[0] && !r->has_bench) {
        fputs("<p class=\"note\">summary.json names the benchmark ", fp);
        rp_html(fp, r->bench);
        fputs(" but this run folder has no benchmark.csv (a run made before cpo wrote it): the "
              "benchmark is not drawn. Run the config again to get it.</p>\n", fp);
    }
    static const int figs[] = {RP_C_EQUITY, RP_C_DRAWDOWN, RP_C_YEARLY};
    rp_html_figs(fp, ch, figs, 3);
    fputs("</section>\n", fp);
}

static void risk(FILE *fp, const rp_chart *ch)
{
    fputs("<section id=\"risk\"><h2>Risk</h2>\n", fp);
    static const int figs[] = {RP_C_VOL, RP_C_SHARPE, RP_C_BETA, RP_C_WEIGHTS, RP_C_CORR,
                               RP_C_MARGIN};
    rp_html_figs(fp, ch, figs, 6);
    fputs("</section>\n", fp);
}

/* Keys shown elsewhere, not in the metrics table. */
int rp_metric_skip(const char *key)
{
    static const char *const skip[] = {"config", "cpo_version", "currency", "settings",
                                       "instruments", "pnl", "period", "seed", "returns",
                                       "fill", "fill_note", "options", "bootstrap",
                                       "futures", "warnings"};
    for (size_t k = 0; k < sizeof skip / sizeof skip[0]; k++)
        if (!strcmp(key, skip[k]))
            return 1;
    return 0;
}

typedef struct mrows {
    size_t n, cap;
    char (*key)[160];
    char (*val)[160];
} mrows;

static int mrows_add(mrows *m, const char *key, const json_t *v)
{
    if (m->n == m->cap) {
        size_t c = m->cap ? 2 * m->cap : 64;
        char(*k)[160] = realloc(m->key, c * sizeof *k);
        if (k)
            m->key = k;
        char(*x)[160] = realloc(m->val, c * sizeof *x);
        if (x)
            m->val = x;
        if (!k || !x)
            return CPO_ENOMEM;
        m->cap = c;
    }
    snprintf(m->key[m->n], sizeof m->key[0], "%s", key);
    rp_fmt_metric(m->val[m->n], sizeof m->val[0], key, v);
    m->n++;
    return 0;
}

/* The scalars of an object (one level of nested objects as "a.b"). */
/* The summary's own keys that repeat the metrics table (the summary keeps
 * them for older readers: total_return = cumulative_return, max_drawdown
 * = -metrics.max_drawdown, ...) or the P&L lines: shown once. */
static int run_dup(const char *key)
{
    static const char *const dup[] = {"total_return", "annual_return", "annual_volatility",
                                      "sharpe", "max_drawdown", "max_drawdown_peak",
                                      "max_drawdown_trough", "average_gross_exposure", "fees",
                                      "funding", "slippage", "liquidation", "benchmark"};
    for (size_t k = 0; k < sizeof dup / sizeof dup[0]; k++)
        if (!strcmp(key, dup[k]))
            return 1;
    return 0;
}

static int mrows_of(mrows *m, const json_t *o, int top)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        if ((top && (rp_metric_skip(key) || !strcmp(key, "metrics"))) ||
            (top == 2 && run_dup(key)) || json_is_array(v))
            continue;
        if (json_is_object(v)) {
            const char *k2;
            const json_t *v2;
            json_object_foreach((json_t *)v, k2, v2)
            {
                if (json_is_object(v2) || json_is_array(v2))
                    continue;
                char full[160];
                snprintf(full, sizeof full, "%s.%s", key, k2);
                if (mrows_add(m, full, v2))
                    return CPO_ENOMEM;
            }
            continue;
        }
        if (mrows_add(m, key, v))
            return CPO_ENOMEM;
    }
    return 0;
}

/* Rows in three tables side by side. */
static void mrows_html(FILE *fp, const mrows *m)
{
    fputs("<div class=\"cols\">\n", fp);
    size_t per = (m->n + 2) / 3;
    for (size_t t = 0; t < 3 && per; t++) {
        fputs("<table>\n", fp);
        for (size_t i = t * per; i < m->n && i < (t + 1) * per; i++) {
            fputs("<tr><td>", fp);
            label(fp, m->key[i]);
            fputs("</td>", fp);
            rp_td_num(fp, m->val[i]);
            fputs("</tr>\n", fp);
        }
        fputs("</table>\n", fp);
    }
    fputs("</div>\n", fp);
}

static int metrics(FILE *fp, const rp_run *r, cpo_error *err)
{
    const json_t *s = r->summary, *mo = json_object_get(s, "metrics");
    fputs("<section id=\"metrics\"><h2>Metrics</h2>\n", fp);
    const char *ret = rp_jstr(s, "returns");
    if (ret) {
        fputs("<p>", fp);
        rp_html(fp, ret);
        fputs(" (summary.json).</p>\n", fp);
    }
    const char *bench = rp_jstr(s, "benchmark");
    if (bench) {
        fputs("<p>alpha and beta against ", fp);
        rp_html(fp, bench);
        fputs(" (the config's [backtest] benchmark), over the bars where both returns are "
              "known (benchmark pairs).</p>\n",
              fp);
    }
    mrows m = {0};
    int rc = 0;
    if (json_is_object(mo)) {
        if ((rc = mrows_of(&m, mo, 0)))
            goto done;
        mrows_html(fp, &m);
        m.n = 0;
        fputs("<h3>The run</h3>\n<p>The run's own numbers (summary.json; the ones above and "
              "the P&amp;L lines are not repeated).</p>\n", fp);
    }
    if ((rc = mrows_of(&m, s, json_is_object(mo) ? 2 : 1)))
        goto done;
    mrows_html(fp, &m);
    fputs("</section>\n", fp);
done:
    free(m.key);
    free(m.val);
    return rc ? cpo_error_set(err, rc, NULL, 0, 0, "out of memory") : 0;
}

/* summary.json "bootstrap" (a [bootstrap] section): the confidence
 * intervals of the Sharpe ratio, CAGR and maximum drawdown. */
static void bootstrap(FILE *fp, const rp_run *r)
{
    const json_t *b = json_object_get(r->summary, "bootstrap");
    if (!json_is_object(b))
        return;
    const json_t *lv = json_object_get(b, "level"), *ns = json_object_get(b, "samples");
    const json_t *bl = json_object_get(b, "block_bars");
    fprintf(fp, "<section id=\"bootstrap\"><h2>Confidence intervals</h2>\n<p>%.0f%% "
                "percentile intervals from %lld stationary-bootstrap resamples of the bar "
                "returns (mean block %.0f bars; Politis &amp; Romano 1994; seed ",
            100.0 * json_number_value(lv), (long long)json_integer_value(ns),
            json_number_value(bl));
    const char *seed = rp_jstr(b, "seed");
    if (seed)
        rp_html(fp, seed);
    else
        fprintf(fp, "%lld", (long long)json_integer_value(json_object_get(b, "seed")));
    fputs(").</p>\n<table>\n<tr><th></th><th>estimate</th><th>low</th><th>high</th>"
          "<th>std. error</th></tr>\n",
          fp);
    static const char *const keys[] = {"sharpe", "cagr", "max_drawdown"};
    for (size_t k = 0; k < 3; k++) {
        const json_t *c = json_object_get(b, keys[k]);
        if (!json_is_object(c))
            continue;
        fprintf(fp, "<tr><th>%s</th>", keys[k]);
        static const char *const f[] = {"estimate", "lo", "hi", "se"};
        for (size_t q = 0; q < 4; q++) {
            char v[160];
            rp_fmt_metric(v, sizeof v, keys[k], json_object_get(c, f[q]));
            rp_td_num(fp, v);
        }
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n</section>\n", fp);
}

static int drawdowns(FILE *fp, const rp_run *r, cpo_error *err)
{
    fputs("<section id=\"drawdowns\"><h2>Drawdowns</h2>\n", fp);
    /* The metrics' table, when summary.json has one (at the top or one
     * level down): as it is. */
    const json_t *tab = NULL;
    char where[160] = "";
    const char *key;
    const json_t *v;
    json_object_foreach(r->summary, key, v)
    {
        if (strstr(key, "drawdown") && json_is_array(v) && json_array_size(v) &&
            json_is_object(json_array_get(v, 0)) && !tab) {
            tab = v;
            snprintf(where, sizeof where, "%s", key);
        }
    }
    json_object_foreach(r->summary, key, v)
    {
        const char *k2;
        const json_t *v2;
        if (tab || !json_is_object(v))
            continue;
        json_object_foreach((json_t *)v, k2, v2)
        {
            if (!tab && strstr(k2, "drawdown") && json_is_array(v2) && json_array_size(v2) &&
                json_is_object(json_array_get(v2, 0))) {
                tab = v2;
                snprintf(where, sizeof where, "%s.%s", key, k2);
            }
        }
    }
    if (tab) {
        fputs("<p>The deepest drawdowns, from summary.json (", fp);
        rp_html(fp, where);
        fputs("); dates are bar opens.</p>\n<table>\n<tr><th>#</th>", fp);
        /* Known columns first, then the others in the file's order. */
        static const char *const pref[] = {"peak", "trough", "recovery", "depth",
                                           "duration_days", "duration_bars"};
        const char *cols[64];
        size_t nc = 0;
        const json_t *first = json_array_get(tab, 0);
        for (size_t p = 0; p < sizeof pref / sizeof pref[0]; p++)
            if (json_object_get(first, pref[p]))
                cols[nc++] = pref[p];
        const char *k2;
        const json_t *v2;
        json_object_foreach((json_t *)first, k2, v2)
        {
            size_t p = 0;
            while (p < nc && strcmp(cols[p], k2))
                p++;
            if (p == nc && nc < 64)
                cols[nc++] = k2;
        }
        for (size_t c = 0; c < nc; c++) {
            fputs("<th>", fp);
            label(fp, cols[c]);
            fputs("</th>", fp);
        }
        fputs("</tr>\n", fp);
        size_t i;
        const json_t *row;
        json_array_foreach(tab, i, row)
        {
            fprintf(fp, "<tr><td>%zu</td>", i + 1);
            for (size_t c = 0; c < nc; c++) {
                const json_t *x = json_object_get(row, cols[c]);
                char b[128];
                if ((!x || json_is_null(x)) && strstr(cols[c], "recovery"))
                    snprintf(b, sizeof b, "not recovered");
                else if (!x || json_is_null(x))
                    snprintf(b, sizeof b, "—");
                else
                    rp_fmt_metric(b, sizeof b, cols[c], x);
                rp_td_num(fp, b);
            }
            fputs("</tr>\n", fp);
        }
        fputs("</table>\n<p>Shaded in the equity chart.</p>\n</section>\n", fp);
        return 0;
    }
    rp_dd dd[5];
    long got = rp_drawdowns(r->equity, r->n, r->capital, dd, 5);
    if (got < 0)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    size_t n = (size_t)got;
    fputs("<p>The deepest falls of equity from a running peak (the capital is the first peak), "
          "computed from ledger.csv; dates are bar opens.</p>\n", fp);
    if (!n) {
        fputs("<p>None: equity never fell below an earlier peak.</p>\n</section>\n", fp);
        return 0;
    }
    fputs("<table>\n<tr><th>#</th><th>peak</th><th>trough</th><th>recovered</th>"
          "<th class=\"n\">depth</th><th class=\"n\">peak to trough (days)</th>"
          "<th class=\"n\">underwater (days)</th></tr>\n", fp);
    for (size_t k = 0; k < n; k++) {
        char a[40], b[40], c[40], d[40];
        int64_t pk = dd[k].peak == SIZE_MAX ? r->ts[0] : r->ts[dd[k].peak];
        if (dd[k].peak == SIZE_MAX)
            snprintf(a, sizeof a, "start");
        else
            rp_iso(a, sizeof a, pk, 1);
        rp_iso(b, sizeof b, r->ts[dd[k].trough], 1);
        int rec = dd[k].recovery != SIZE_MAX;
        if (rec)
            rp_iso(c, sizeof c, r->ts[dd[k].recovery], 1);
        else
            snprintf(c, sizeof c, "not recovered");
        fprintf(fp, "<tr><td>%zu</td>", k + 1);
        rp_td_text(fp, a);
        rp_td_text(fp, b);
        rp_td_text(fp, c);
        rp_fmt_pct(d, sizeof d, -dd[k].depth);
        rp_td_num(fp, d);
        snprintf(d, sizeof d, "%.1f", (double)(r->ts[dd[k].trough] - pk) / (double)CPO_MS_DAY);
        rp_td_num(fp, d);
        int64_t end = rec ? r->ts[dd[k].recovery] : r->ts[r->n - 1];
        snprintf(d, sizeof d, "%.1f%s", (double)(end - pk) / (double)CPO_MS_DAY, rec ? "" : "+");
        rp_td_num(fp, d);
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n<p>Shaded in the equity chart.</p>\n</section>\n", fp);
    return 0;
}

/* --- attribution ---------------------------------------------------------------------------- */

#define MAX_ATTR_ROWS 80

static const char *const role_class[] = {"", " class=\"total\"", " class=\"check\"",
                                         " class=\"check\"", ""};

/* The file's notes, one paragraph line each. */
static void notes_html(FILE *fp, const char *notes)
{
    if (!notes || !notes[0])
        return;
    fputs("<details><summary>Notes of the file</summary><p class=\"mono\">", fp);
    for (const char *p = notes; *p; p++) {
        if (*p == '\n')
            fputs("<br>\n", fp);
        else {
            char one[2] = {*p, 0};
            rp_html(fp, one);
        }
    }
    fputs("</p></details>\n", fp);
}

int rp_html_attr_table(FILE *fp, const rp_attr *a, const rp_attr_view *v)
{
    const rp_table *t = &a->t;
    int lead = !v->has_kind; /* a first column with each row's role */
    fputs(lead ? "<table>\n<tr><th>role</th>" : "<table>\n<tr>", fp);
    for (size_t c = 0; c < t->ncol; c++) {
        fprintf(fp, "<th%s>", t->is_text[c] ? "" : " class=\"n\"");
        rp_html(fp, t->name[c]);
        fputs("</th>", fp);
    }
    fputs("</tr>\n", fp);
    size_t shown = 0, parts = 0;
    for (size_t r = 0; r < t->nrow; r++) {
        int role = v->role[r];
        parts += role == RP_ROLE_PART || role == RP_ROLE_OTHER;
        if ((role == RP_ROLE_PART || role == RP_ROLE_OTHER) && shown >= MAX_ATTR_ROWS)
            continue;
        shown += role == RP_ROLE_PART || role == RP_ROLE_OTHER;
        fprintf(fp, "<tr%s>", role_class[role]);
        if (lead)
            rp_td_text(fp, role == RP_ROLE_TOTAL ? "total" : role == RP_ROLE_RESIDUAL ? "residual"
                                                        : role == RP_ROLE_SUM ? "sum" : "part");
        for (size_t c = 0; c < t->ncol; c++) {
            if (t->is_text[c])
                rp_td_text(fp, t->text[r * t->ncol + c]);
            else
                rp_td_gen(fp, t->num[r * t->ncol + c]);
        }
        fputs("</tr>\n", fp);
    }
    if (shown < parts)
        fprintf(fp, "<tr class=\"check\"><td colspan=\"%zu\">%zu more rows in the file</td></tr>\n",
                t->ncol + (size_t)lead, parts - shown);
    if (v->has_kind) {
        fputs("</table>\n", fp);
        /* The file reconciles itself; check its sums of parts. */
        double worst = 0.0;
        size_t checked = 0;
        double *acc = calloc(v->nval ? v->nval : 1, sizeof *acc);
        if (!acc)
            return CPO_ENOMEM;
        int prev_part = 0;
        for (size_t r = 0; acc && r < v->nkey; r++) {
            int role = v->role[r];
            if (role == RP_ROLE_PART) {
                if (!prev_part)
                    memset(acc, 0, (v->nval ? v->nval : 1) * sizeof *acc);
                for (size_t c = 0; c < v->nval; c++)
                    if (!isnan(v->v[r * v->nval + c]))
                        acc[c] += v->v[r * v->nval + c];
            } else if (role == RP_ROLE_SUM) {
                for (size_t c = 0; c < v->nval; c++) {
                    double x = v->v[r * v->nval + c];
                    if (!isfinite(x))
                        continue;
                    double d = fabs(x - acc[c]) / fmax(1.0, fabs(x));
                    if (d > worst)
                        worst = d;
                    checked++;
                }
            }
            prev_part = role == RP_ROLE_PART;
        }
        free(acc);
        if (checked)
            fprintf(fp, "<p>Total, sum of parts and residual are the file's rows (kind total, "
                    "sum_of_parts, residual). The part rows added up here give its sum_of_parts "
                    "to %.2g (largest relative difference over %zu numbers).</p>\n",
                    worst, checked);
        return 0;
    }
    /* No kind column: total, sum of parts and residual worked out here. */
    static const char *const what[] = {"total", "sum of parts", "residual",
                                       "total − sum of parts − residual"};
    for (int w = 0; w < 4; w++) {
        fprintf(fp, "<tr class=\"%s\"><td>%s</td>", w == 0 ? "total" : "check", what[w]);
        size_t k = 0;
        for (size_t c = 0; c < t->ncol; c++) {
            if (t->is_text[c]) {
                rp_td_text(fp, "");
                continue;
            }
            while (k < v->nval && strcmp(v->val[k], t->name[c]))
                k++;
            double tot = NAN, sum = 0.0, res = NAN;
            for (size_t r = 0; k < v->nval && r < v->nkey; r++) {
                double x = v->v[r * v->nval + k];
                if (v->role[r] == RP_ROLE_TOTAL)
                    tot = x;
                else if (v->role[r] == RP_ROLE_RESIDUAL)
                    res = x;
                else if (v->role[r] == RP_ROLE_PART && !isnan(x))
                    sum += x;
            }
            char b[64];
            if (w == 0)
                rp_fmt_gen(b, sizeof b, tot);
            else if (w == 1)
                rp_fmt_gen(b, sizeof b, sum);
            else if (w == 2)
                rp_fmt_gen(b, sizeof b, res);
            else
                snprintf(b, sizeof b, "%.3g", tot - sum - (isnan(res) ? 0.0 : res));
            if ((w == 0 || w == 3) && isnan(tot))
                snprintf(b, sizeof b, w == 0 ? "no total row" : "n/a");
            if (w == 2 && isnan(res))
                snprintf(b, sizeof b, "no residual row");
            rp_td_num(fp, b);
        }
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n", fp);
    return 0;
}

/*
 * attribution_greek.csv over the run: its cum_<line> columns at the last
 * step (the lines summed over the run), each with its share of cum_total
 * (the change in equity over the run), then the total and the total less
 * the sum of the lines.
 */
static void greek_totals(FILE *fp, const rp_attr *a)
{
    const rp_table *t = &a->t;
    int ctot = rp_table_col(t, "cum_total");
    if (t->nrow == 0 || ctot < 0)
        return;
    size_t last = t->nrow - 1;
    double total = t->num[last * t->ncol + (size_t)ctot], sum = 0.0;
    fputs("<table>\n<tr><th>line</th><th class=\"n\">P&amp;L over the run</th>"
          "<th class=\"n\">share of the change in equity</th></tr>\n", fp);
    char b[64];
    for (size_t c = 0; c < t->ncol; c++) {
        const char *nm = t->name[c];
        if ((int)c == ctot || strncmp(nm, "cum_", 4) || t->is_text[c])
            continue;
        double x = t->num[last * t->ncol + c];
        if (!isnan(x))
            sum += x;
        fputs("<tr>", fp);
        rp_td_text(fp, nm + 4);
        rp_td_gen(fp, x);
        rp_fmt_pct(b, sizeof b, total != 0.0 ? x / total : NAN);
        rp_td_num(fp, b);
        fputs("</tr>\n", fp);
    }
    fputs("<tr class=\"total\">", fp);
    rp_td_text(fp, "change in equity");
    rp_td_gen(fp, total);
    rp_td_num(fp, "");
    fputs("</tr>\n<tr class=\"check\">", fp);
    rp_td_text(fp, "change in equity − sum of the lines");
    snprintf(b, sizeof b, "%.3g", total - sum);
    rp_td_num(fp, b);
    rp_td_num(fp, "");
    fputs("</tr>\n</table>\n", fp);
}

static int attr_table(FILE *fp, const rp_attr *a, cpo_error *err)
{
    if (a->tcol >= 0) {
        fputs("<p>", fp);
        rp_html(fp, a->file);
        fprintf(fp, ": %zu rows over time, drawn above.</p>\n", a->t.nrow);
        notes_html(fp, a->t.notes);
        if (!strcmp(a->file, "attribution_greek.csv"))
            greek_totals(fp, a);
        return 0;
    }
    rp_attr_view v;
    int rc = rp_attr_view_make(a, &v, err);
    if (rc)
        return rc;
    fputs("<p>From ", fp);
    rp_html(fp, a->file);
    fprintf(fp, " (%zu rows).</p>\n", a->t.nrow);
    notes_html(fp, a->t.notes);
    rc = rp_html_attr_table(fp, a, &v);
    rp_attr_view_free(&v);
    return rc ? cpo_error_set(err, rc, NULL, 0, 0, "out of memory") : 0;
}

static int attribution(FILE *fp, const rp_run *r, const rp_chart *charts, cpo_error *err)
{
    fputs("<section id=\"attribution\"><h2>Attribution</h2>\n", fp);
    static const struct {
        int file;
        int chart[2];
    } parts[] = {
        {RP_ATTR_ASSET, {RP_C_ATTR_ASSET, -1}},
        {RP_ATTR_RISK, {-1, -1}},
        {RP_ATTR_FACTOR, {RP_C_ATTR_FACTOR, RP_C_ATTR_BETAS}},
        {RP_ATTR_GREEK, {RP_C_ATTR_GREEK, -1}},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const rp_attr *a = &r->attr[parts[i].file];
        fputs("<h3>", fp);
        rp_html(fp, a->title);
        fputs("</h3>\n", fp);
        int figs[2];
        size_t nf = 0;
        for (int k = 0; k < 2; k++)
            if (parts[i].chart[k] >= 0)
                figs[nf++] = parts[i].chart[k];
        rp_html_figs(fp, charts, figs, nf);
        if (a->present) {
            int rc = attr_table(fp, a, err);
            if (rc)
                return rc;
        } else {
            fputs("<p class=\"note\">", fp);
            if (parts[i].file == RP_ATTR_GREEK)
                fputs("No attribution_greek.csv in this run folder (a run made before the "
                      "attribution by Greek): table and chart skipped.", fp);
            else {
                fputs("No ", fp);
                rp_html(fp, a->file);
                fputs(" in this run folder: table skipped.", fp);
            }
            fputs("</p>\n", fp);
        }
    }
    const rp_attr *roll = &r->attr[RP_ATTR_FACTOR_ROLLING];
    if (roll->present) {
        fputs("<h3>", fp);
        rp_html(fp, roll->title);
        fputs("</h3>\n", fp);
        int rc = attr_table(fp, roll, err);
        if (rc)
            return rc;
    }
    fputs("</section>\n", fp);
    return 0;
}

/* --- trades and events ------------------------------------------------------------------------ */

static int trades(FILE *fp, const rp_run *r, cpo_error *err)
{
    fputs("<section id=\"trades\"><h2>Trades</h2>\n", fp);
    const rp_table *t = &r->trades;
    if (!r->has_trades) {
        fputs("<p class=\"note\">No trades.csv in this run folder.</p>\n</section>\n", fp);
        return 0;
    }
    int cs = rp_table_col(t, "symbol"), cq = rp_table_col(t, "qty"), cp = rp_table_col(t, "px"),
        cf = rp_table_col(t, "fee"), csl = rp_table_col(t, "slippage"),
        cl = rp_table_col(t, "liquidation");
    fprintf(fp, "<p>%zu fills in trades.csv", t->nrow);
    const json_t *reb = json_object_get(r->summary, "rebalances");
    if (json_is_integer(reb))
        fprintf(fp, ", %lld rebalances", (long long)json_integer_value(reb));
    fputs(". Notional = |qty| × fill price; fees and slippage as paid.</p>\n", fp);
    if (cs < 0 || t->nrow == 0) {
        fputs("</section>\n", fp);
        return 0;
    }
    /* Per symbol, in the order first traded. */
    size_t nsym = 0;
    const char **sym = calloc(t->nrow, sizeof *sym);
    double (*agg)[6] = calloc(t->nrow, sizeof *agg); /* fills, buys, sells, notional, fees, slip */
    size_t *liq = calloc(t->nrow, sizeof *liq);
    if (!sym || !agg || !liq) {
        free(sym);
        free(agg);
        free(liq);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < t->nrow; i++) {
        k = rp_sym_index(sym, &nsym, t->text[i * t->ncol + (size_t)cs], k);
        double qty = cq >= 0 ? t->num[i * t->ncol + (size_t)cq] : NAN;
        double px = cp >= 0 ? t->num[i * t->ncol + (size_t)cp] : NAN;
        agg[k][0] += 1;
        agg[k][1] += qty > 0;
        agg[k][2] += qty < 0;
        if (isfinite(qty * px))
            agg[k][3] += fabs(qty * px);
        if (cf >= 0 && isfinite(t->num[i * t->ncol + (size_t)cf]))
            agg[k][4] += t->num[i * t->ncol + (size_t)cf];
        if (csl >= 0 && isfinite(t->num[i * t->ncol + (size_t)csl]))
            agg[k][5] += t->num[i * t->ncol + (size_t)csl];
        if (cl >= 0 && t->num[i * t->ncol + (size_t)cl] != 0.0 &&
            !isnan(t->num[i * t->ncol + (size_t)cl]))
            liq[k]++;
    }
    fputs("<table>\n<tr><th>symbol</th><th class=\"n\">fills</th><th class=\"n\">buys</th>"
          "<th class=\"n\">sells</th><th class=\"n\">notional traded</th><th class=\"n\">fees</th>"
          "<th class=\"n\">slippage</th><th class=\"n\">liquidations</th></tr>\n", fp);
    double tot[6] = {0};
    size_t tliq = 0;
    for (size_t k = 0; k <= nsym; k++) {
        const double *a = k < nsym ? agg[k] : tot;
        fprintf(fp, "<tr%s>", k < nsym ? "" : " class=\"total\"");
        rp_td_text(fp, k < nsym ? sym[k] : "all");
        for (int j = 0; j < 3; j++) {
            char b[32];
            snprintf(b, sizeof b, "%.0f", a[j]);
            rp_td_num(fp, b);
        }
        rp_td_money(fp, a[3]);
        rp_td_money(fp, a[4]);
        rp_td_money(fp, a[5]);
        char b[32];
        snprintf(b, sizeof b, "%zu", k < nsym ? liq[k] : tliq);
        rp_td_num(fp, b);
        fputs("</tr>\n", fp);
        if (k < nsym) {
            for (int j = 0; j < 6; j++)
                tot[j] += agg[k][j];
            tliq += liq[k];
        }
    }
    fputs("</table>\n", fp);
    free(sym);
    free(agg);
    free(liq);
    int rc = rp_html_round_trips(fp, r, err);
    fputs("</section>\n", fp);
    return rc;
}

#define MAX_EVENTS 100

static void events(FILE *fp, const rp_run *r)
{
    fputs("<section id=\"events\"><h2>Events</h2>\n", fp);
    const rp_table *t = &r->events;
    if (!r->has_events) {
        fputs("<p class=\"note\">No events.csv in this run folder.</p>\n</section>\n", fp);
        return;
    }
    if (t->nrow == 0) {
        fputs("<p>None: no liquidation, no order cut for margin or volume, no missing price."
              "</p>\n</section>\n", fp);
        return;
    }
    int ck = rp_table_col(t, "kind");
    if (ck >= 0) {
        fputs("<table>\n<tr><th>kind</th><th class=\"n\">count</th></tr>\n", fp);
        for (size_t i = 0; i < t->nrow; i++) {
            const char *k = t->text[i * t->ncol + (size_t)ck];
            size_t first = 0, cnt = 0;
            while (first < i && strcmp(t->text[first * t->ncol + (size_t)ck], k))
                first++;
            if (first < i)
                continue;
            for (size_t j = i; j < t->nrow; j++)
                cnt += !strcmp(t->text[j * t->ncol + (size_t)ck], k);
            fputs("<tr>", fp);
            rp_td_text(fp, k);
            char b[32];
            snprintf(b, sizeof b, "%zu", cnt);
            rp_td_num(fp, b);
            fputs("</tr>\n", fp);
        }
        fputs("</table>\n", fp);
    }
    fputs("<table>\n<tr>", fp);
    for (size_t c = 0; c < t->ncol; c++) {
        fputs("<th>", fp);
        rp_html(fp, t->name[c]);
        fputs("</th>", fp);
    }
    fputs("</tr>\n", fp);
    for (size_t i = 0; i < t->nrow && i < MAX_EVENTS; i++) {
        fputs("<tr>", fp);
        for (size_t c = 0; c < t->ncol; c++)
            rp_td_text(fp, t->text[i * t->ncol + c]);
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n", fp);
    if (t->nrow > MAX_EVENTS)
        fprintf(fp, "<p>… and %zu more in events.csv.</p>\n", t->nrow - MAX_EVENTS);
    fputs("</section>\n", fp);
}

/* --- settings and manifest ------------------------------------------------------------------- */

static void flat(FILE *fp, const char *prefix, const json_t *v)
{
    char b[512];
    if (json_is_object(v)) {
        const char *k;
        const json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            snprintf(b, sizeof b, "%s%s%s", prefix, prefix[0] ? "." : "", k);
            flat(fp, b, x);
        }
        return;
    }
    if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        if (json_array_size(v) == 0) {
            fputs("<tr>", fp);
            rp_td_text(fp, prefix);
            rp_td_text(fp, "(none)");
            fputs("</tr>\n", fp);
        }
        json_array_foreach(v, i, x)
        {
            snprintf(b, sizeof b, "%s[%zu]", prefix, i);
            flat(fp, b, x);
        }
        return;
    }
    fputs("<tr>", fp);
    rp_td_text(fp, prefix);
    if (json_is_real(v)) {
        snprintf(b, sizeof b, "%.17g", json_real_value(v));
        rp_td_text(fp, b);
    } else {
        rp_fmt_metric(b, sizeof b, "", v);
        rp_td_text(fp, b);
    }
    fputs("</tr>\n", fp);
}

static void settings(FILE *fp, const rp_run *r)
{
    fputs("<section id=\"settings\"><h2>Settings</h2>\n", fp);
    const json_t *s = json_object_get(r->summary, "settings");
    if (json_is_object(s)) {
        fputs("<p>The config as written (summary.json settings):</p>\n<table>\n<tr><th>section"
              "</th><th>key</th><th>value</th></tr>\n", fp);
        const char *sec;
        const json_t *kv;
        json_object_foreach((json_t *)s, sec, kv)
        {
            const char *k;
            const json_t *x;
            json_object_foreach((json_t *)kv, k, x)
            {
                fputs("<tr><td>[", fp);
                rp_html(fp, sec);
                fputs("]</td>", fp);
                rp_td_text(fp, k);
                rp_td_text(fp, json_is_string(x) ? json_string_value(x) : "");
                fputs("</tr>\n", fp);
            }
        }
        fputs("</table>\n", fp);
    }
    const json_t *res = r->manifest ? json_object_get(r->manifest, "resolved") : NULL;
    if (res) {
        fputs("<details><summary>Every setting as the run used it, defaults included "
              "(manifest.json resolved)</summary>\n<table>\n", fp);
        flat(fp, "", res);
        fputs("</table>\n</details>\n", fp);
    }
    fputs("</section>\n", fp);
}

static void manifest(FILE *fp, const rp_run *r)
{
    fputs("<section id=\"manifest\"><h2>Manifest</h2>\n", fp);
    const json_t *m = r->manifest;
    if (!m) {
        fputs("<p class=\"note\">No manifest.json in this run folder.</p>\n</section>\n", fp);
        return;
    }
    fputs("<table>\n", fp);
    static const char *const top[] = {"cpo_version", "command", "seed"};
    for (size_t k = 0; k < 3; k++) {
        const json_t *v = json_object_get(m, top[k]);
        if (!v)
            continue;
        char b[1024];
        rp_fmt_metric(b, sizeof b, top[k], v);
        fputs("<tr>", fp);
        rp_td_text(fp, top[k]);
        fputs("<td class=\"mono\">", fp);
        rp_html(fp, b);
        fputs("</td></tr>\n", fp);
    }
    static const char *const obj[] = {"config", "data"};
    for (size_t k = 0; k < 2; k++) {
        const json_t *o = json_object_get(m, obj[k]);
        if (!json_is_object(o))
            continue;
        fputs("<tr>", fp);
        rp_td_text(fp, obj[k]);
        fputs("<td class=\"mono\">", fp);
        rp_html(fp, rp_jstr(o, "path"));
        fputs("<br>sha256 ", fp);
        rp_html(fp, rp_jstr(o, "sha256"));
        fputs("</td></tr>\n", fp);
    }
    fputs("</table>\n", fp);
    const json_t *files = json_object_get(m, "files");
    if (json_is_object(files)) {
        fputs("<table>\n<tr><th>file</th><th>sha256</th></tr>\n", fp);
        const char *k;
        const json_t *x;
        json_object_foreach((json_t *)files, k, x)
        {
            fputs("<tr>", fp);
            rp_td_text(fp, k);
            fputs("<td class=\"mono\">", fp);
            rp_html(fp, json_is_string(x) ? json_string_value(x) : "");
            fputs("</td></tr>\n", fp);
        }
        fputs("</table>\n", fp);
    }
    const char *note = rp_jstr(m, "note");
    if (note) {
        fputs("<p>", fp);
        rp_html(fp, note);
        fputs(".</p>\n", fp);
    }
    fputs("<p>report.html and charts/ are made from the files above after the manifest, and are "
          "not listed in it; <code>cpo report RUN_DIR</code> makes them again.</p>\n</section>\n",
          fp);
}

/* --- the page ------------------------------------------------------------------------------------ */

static int write_html(FILE *fp, const rp_run *r, const rp_chart *ch, const rp_gnuplot *g,
                      cpo_error *err)
{
    head(fp, r);
    if (g->looked && !g->found)
        fputs("<p class=\"warn\">gnuplot was not found on PATH when this report was made: the "
              "charts are not drawn. charts/ holds each chart's script (.gp) and data (.dat); "
              "install gnuplot (gnuplot-nox) and run <code>cpo report RUN_DIR</code>, or "
              "<code>gnuplot NAME.gp</code> in charts/.</p>\n",
              fp);
    key_figures(fp, r);
    contents(fp, r);
    performance(fp, r, ch);
    int rc = rp_sec_returns(fp, r, ch, err);
    if (rc)
        return rc;
    risk(fp, ch);
    if ((rc = metrics(fp, r, err)))
        return rc;
    bootstrap(fp, r);
    if ((rc = rp_sec_pnl(fp, r, ch, err)) || (rc = rp_sec_options(fp, r, ch, err)) ||
        (rc = rp_sec_futures(fp, r, ch)) ||
        (rc = drawdowns(fp, r, err)) || (rc = attribution(fp, r, ch, err)) ||
        (rc = trades(fp, r, err)))
        return rc;
    events(fp, r);
    settings(fp, r);
    manifest(fp, r);
    fputs("<footer>Made by cpo from the files of this run folder (no script, no external "
          "resource). Returns are simple returns per bar, annualised with a 365-day year."
          "</footer>\n</main>\n</body>\n</html>\n",
          fp);
    return 0;
}

static const char *const charts_names[] = {"both", "png", "svg", "none"};

const char *cpo_charts_name(int charts)
{
    return charts >= 0 && charts <= CPO_CHARTS_NONE ? charts_names[charts] : "?";
}

int cpo_charts_parse(const char *name)
{
    for (int k = 0; k <= CPO_CHARTS_NONE; k++)
        if (name && !strcmp(name, charts_names[k]))
            return k;
    return -1;
}

void cpo_report_opts_init(cpo_report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->warn = stderr;
}

int cpo_report_build(const char *run_dir, const cpo_report_opts *opts, cpo_report_info *info,
                     cpo_error *err)
{
    cpo_report_opts def;
    if (!opts) {
        cpo_report_opts_init(&def);
        opts = &def;
    }
    if (info)
        memset(info, 0, sizeof *info);
    rp_run r;
    int rc = rp_run_load(&r, run_dir, err);
    if (rc)
        return rc;
    rp_gnuplot g;
    rp_gnuplot_init(&g, opts);
    rp_chart ch[RP_RUN_CHARTS];
    memset(ch, 0, sizeof ch);
    char cdir[1200];
    rp_out o = {0};
    if (snprintf(cdir, sizeof cdir, "%s/charts", run_dir) >= (int)sizeof cdir) {
        rc = cpo_error_set(err, CPO_ERANGE, run_dir, 0, 0, "path too long (expected < 1024 bytes)");
        goto cleanup;
    }
    if ((rc = rp_charts_run(&r, cdir, &g, ch, err)))
        goto cleanup;
    if ((rc = rp_out_open(&o, run_dir, "report.html", err)))
        goto cleanup;
    rc = write_html(o.fp, &r, ch, &g, err);
    {
        int rc2 = rp_out_close(&o, rc == 0, err);
        if (!rc)
            rc = rc2;
    }
    if (!rc)
        rp_info_add(info, ch, RP_RUN_CHARTS, &g);
cleanup:
    rp_run_free(&r);
    return rc;
}
