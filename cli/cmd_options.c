/*
 * cmd_options.c - `cpo options price FILE`: Black-76 prices, Greeks and
 * implied vols of a table of options.
 *
 * Input, recognised from the header line:
 *
 *   plain table   type,forward,strike,expiry_years[,rate],vol|price (by
 *                 name, any order, other columns ignored; type call/put or
 *                 C/P; rate defaults to 0; a row needs vol or price, or
 *                 both).  Prices in the quote currency (USD), discounted.
 *   Deribit chain any layout the deribit-chain importer reads (cpo data
 *                 formats), read through cpo_import_file: prices in coin,
 *                 IV as the exchange marks it; the forward is the row's
 *                 underlying/futures price, else put-call parity of the
 *                 coin marks at the strike nearest the money of the same
 *                 snapshot and expiry, else the index (column
 *                 forward_source says which).
 *                 T from the snapshot time to expiry, ACT/365.  Coin
 *                 prices convert to USD at the forward (--coin-usd
 *                 forward, the default: Deribit's marks are the Black USD
 *                 price divided by the forward, so the implied vol of the
 *                 mark reproduces the mark IV) or at the index (--coin-usd
 *                 index: c = V/I, METHODS 2.3); the coin price and Greeks
 *                 use the same price (cpo_black76_coin_greeks).
 *
 * Output CSV (to -o OUT, written to OUT.tmp.<pid> and renamed when whole, or to
 * stdout): the inputs, the model price and Greeks (cpo/black76.h units:
 * raw, per unit of vol and rate, theta per year), and for rows with a
 * price the implied vol and its status.  A chain also gets the coin
 * price and coin Greeks of the inverse option (METHODS 2.3) and the
 * implied vol recovered from the exchange's mark price next to its mark
 * IV.  Numbers are printed with 15 significant digits; missing ones are
 * empty fields.
 *
 * Exit status: 0, 1 for bad input (path:line:col: what (expected)), 2 for
 * usage.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "cpo/black76.h"
#include "cpo/dataset.h"
#include "cpo/import.h"
#include "cpo/instrument.h"
#include "cpo/time.h"
#include "csvread.h"
#include "outfile.h"

#define OPTIONS_USAGE "options price FILE [-o OUT.csv] ..."
#define PRICE_USAGE                                                                     \
    "cpo options price FILE [--underlying BTC] [--snapshot-time ISO]\n"                 \
    "       [--iv-unit auto|decimal|percent] [--rate R] [--coin-usd forward|index]\n"   \
    "       [--lenient] [-o OUT.csv]\n"                                                 \
    "  FILE: a plain table type,forward,strike,expiry_years[,rate],vol|price\n"         \
    "        or a Deribit option chain in any layout of `cpo data formats`"

#define YEAR_MS 31536000000.0 /* 365 days: ACT/365 */

/* --- output ---------------------------------------------------------------- */

static void put_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.15g", v);
    else
        fputc(',', f);
}

/* --- the plain table --------------------------------------------------------- */

enum { P_TYPE, P_FWD, P_STRIKE, P_T, P_RATE, P_VOL, P_PRICE, P_NCOL };

static const char *const PLAIN_NAMES[P_NCOL] = {
    "type|right", "forward|fwd", "strike", "expiry_years|t_years", "rate", "vol|sigma", "price"};

typedef struct plain {
    const char *path;
    cpo_error *err;
    int col[P_NCOL];
    size_t n, cap;
    double *fwd, *strike, *t, *rate, *vol, *price;
    int8_t *right;
} plain;

static int plain_grow(plain *p)
{
    size_t nc = p->cap ? 2 * p->cap : 256;
    double **cols[6] = {&p->fwd, &p->strike, &p->t, &p->rate, &p->vol, &p->price};
    for (int k = 0; k < 6; k++) {
        double *q = realloc(*cols[k], nc * sizeof(double));
        if (!q)
            return CPO_ENOMEM;
        *cols[k] = q;
    }
    int8_t *r = realloc(p->right, nc);
    if (!r)
        return CPO_ENOMEM;
    p->right = r;
    p->cap = nc;
    return 0;
}

static void plain_fini(plain *p)
{
    free(p->fwd);
    free(p->strike);
    free(p->t);
    free(p->rate);
    free(p->vol);
    free(p->price);
    free(p->right);
}

/* One number of a row; blank gives NaN when allowed. */
static int plain_num(plain *p, const cpo_csv_row *row, int k, int allow_blank, double lo,
                     int lo_open, double *out)
{
    static const char *const what[P_NCOL] = {"type",  "forward", "strike", "expiry_years",
                                             "rate",  "vol",     "price"};
    *out = NAN;
    int c = p->col[k];
    if (c < 0)
        return 0;
    if ((size_t)c >= row->n)
        return cpo_error_set(p->err, CPO_EDATA, p->path, row->line, 0,
                             "%zu fields, %s missing (expected %zu fields as in the header)",
                             row->n, what[k], (size_t)c + 1);
    const char *s = row->f[c];
    size_t n = row->len[c];
    if (cpo_field_blank(s, n)) {
        if (allow_blank)
            return 0;
        return cpo_error_set(p->err, CPO_EDATA, p->path, row->line, c + 1,
                             "%s is empty (expected a number)", what[k]);
    }
    double v;
    if (cpo_parse_f64(s, n, &v))
        return cpo_error_set(p->err, CPO_EDATA, p->path, row->line, c + 1,
                             "%s \"%.*s\" is not a number (expected a decimal number)", what[k],
                             (int)(n > 40 ? 40 : n), s);
    if (lo_open ? !(v > lo) : !(v >= lo))
        return cpo_error_set(p->err, CPO_EDATA, p->path, row->line, c + 1,
                             "%s %.*s is out of range (expected a number %s %g)", what[k],
                             (int)(n > 40 ? 40 : n), s, lo_open ? ">" : ">=", lo);
    *out = v;
    return 0;
}

static int parse_right(const char *s, size_t n, int8_t *out)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if ((n == 4 && !strncasecmp(s, "call", 4)) || (n == 1 && (*s == 'c' || *s == 'C')))
        *out = CPO_RIGHT_CALL;
    else if ((n == 3 && !strncasecmp(s, "put", 3)) || (n == 1 && (*s == 'p' || *s == 'P')))
        *out = CPO_RIGHT_PUT;
    else
        return -1;
    return 0;
}

static int plain_row(void *ctx, const cpo_csv_row *row)
{
    plain *p = ctx;
    if (p->col[P_TYPE] == -2) {
        /* The header. */
        static const int req[P_NCOL] = {1, 1, 1, 1, 0, 0, 0};
        int rc = cpo_csv_map(row, p->path, PLAIN_NAMES, req, P_NCOL, p->col, p->err);
        if (rc)
            return rc;
        if (p->col[P_VOL] < 0 && p->col[P_PRICE] < 0)
            return cpo_error_set(p->err, CPO_EFORMAT, p->path, row->line, 0,
                                 "no vol and no price column (expected vol, price or both)");
        return 0;
    }
    if (p->n == p->cap && plain_grow(p))
        return cpo_error_set(p->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    size_t i = p->n;
    int c = p->col[P_TYPE];
    if ((size_t)c >= row->n)
        return cpo_error_set(p->err, CPO_EDATA, p->path, row->line, 0,
                             "%zu fields, type missing (expected %zu fields as in the header)",
                             row->n, (size_t)c + 1);
    if (parse_right(row->f[c], row->len[c], &p->right[i]))
        return cpo_error_set(p->err, CPO_EDATA, p->path, row->line, c + 1,
                             "type \"%.*s\" is not an option type (expected call, put, C or P)",
                             (int)(row->len[c] > 40 ? 40 : row->len[c]), row->f[c]);
    int rc;
    if ((rc = plain_num(p, row, P_FWD, 0, 0.0, 1, &p->fwd[i])) ||
        (rc = plain_num(p, row, P_STRIKE, 0, 0.0, 1, &p->strike[i])) ||
        (rc = plain_num(p, row, P_T, 0, 0.0, 1, &p->t[i])) ||
        (rc = plain_num(p, row, P_RATE, 1, -1.0, 1, &p->rate[i])) ||
        (rc = plain_num(p, row, P_VOL, 1, 0.0, 0, &p->vol[i])) ||
        (rc = plain_num(p, row, P_PRICE, 1, 0.0, 0, &p->price[i])))
        return rc;
    if (isnan(p->rate[i]))
        p->rate[i] = 0.0;
    if (isnan(p->vol[i]) && isnan(p->price[i]))
        return cpo_error_set(p->err, CPO_EDATA, p->path, row->line, 0,
                             "neither vol nor price given (expected at least one of them)");
    p->n++;
    return 0;
}

static int run_plain(const char *path, FILE *out, cpo_error *err)
{
    plain p;
    memset(&p, 0, sizeof p);
    p.path = path;
    p.err = err;
    p.col[P_TYPE] = -2; /* header not seen yet */
    int rc = cpo_csv_read(path, plain_row, &p, err);
    if (rc == 0 && p.col[P_TYPE] == -2)
        rc = cpo_error_set(err, CPO_EFORMAT, path, 0, 0,
                           "the file is empty (expected a header line and option rows)");
    if (rc) {
        plain_fini(&p);
        return rc;
    }
    fputs("type,forward,strike,expiry_years,rate,vol,price,vol_used,model_price,delta,gamma,"
          "vega,theta,rho,vanna,volga,iv,iv_status\n",
          out);
    for (size_t i = 0; i < p.n; i++) {
        double iv = NAN;
        int st = -1;
        if (!isnan(p.price[i]))
            st = cpo_black76_iv(p.price[i], p.fwd[i], p.strike[i], p.t[i], p.rate[i],
                                p.right[i], &iv);
        double v = !isnan(p.vol[i]) ? p.vol[i] : iv;
        cpo_black76_in in = {p.fwd[i], p.strike[i], p.t[i], p.rate[i], v, p.right[i]};
        cpo_black76_out o;
        cpo_black76(&in, &o);
        fputs(p.right[i] == CPO_RIGHT_CALL ? "call" : "put", out);
        put_num(out, p.fwd[i]);
        put_num(out, p.strike[i]);
        put_num(out, p.t[i]);
        put_num(out, p.rate[i]);
        put_num(out, p.vol[i]);
        put_num(out, p.price[i]);
        put_num(out, v);
        put_num(out, o.price);
        put_num(out, o.delta);
        put_num(out, o.gamma);
        put_num(out, o.vega);
        put_num(out, o.theta);
        put_num(out, o.rho);
        put_num(out, o.vanna);
        put_num(out, o.volga);
        put_num(out, iv);
        fprintf(out, ",%s\n", st < 0 ? "" : cpo_iv_status_name(st));
    }
    plain_fini(&p);
    return 0;
}

/* --- a Deribit chain ------------------------------------------------------------- */

/*
 * The forward of row i when the chain has none: put-call parity at the
 * strike of the same snapshot and expiry whose call and put marks are
 * closest (r = 0 as in Deribit's marks; C - P = F - K in USD).  With coin
 * prices converted at the forward, c_C - c_P = (F - K)/F, so F = K/(1 -
 * (c_C - c_P)); at the index, F = K + (c_C - c_P) I.  NaN if there is no
 * such pair.
 */
static double parity_forward(const cpo_chain *ch, size_t i, int by_index)
{
    double best = INFINITY, fwd = NAN;
    /* The rows of the group; in sorted chains they are contiguous, but
     * only (ts, expiry) is relied on. */
    for (size_t a = 0; a < ch->n; a++) {
        if (ch->ts[a] != ch->ts[i] || ch->expiry_ms[a] != ch->expiry_ms[i] ||
            ch->right[a] != CPO_RIGHT_CALL)
            continue;
        for (size_t b = 0; b < ch->n; b++) {
            if (ch->strike[b] != ch->strike[a] || ch->right[b] != CPO_RIGHT_PUT ||
                ch->ts[b] != ch->ts[i] || ch->expiry_ms[b] != ch->expiry_ms[i])
                continue;
            double d = ch->mark_px[a] - ch->mark_px[b];
            double idx = !isnan(ch->index_px[a]) ? ch->index_px[a] : ch->index_px[b];
            if (!isfinite(d) || !(fabs(d) < best) || (by_index && !isfinite(idx)) ||
                (!by_index && !(d < 1.0)))
                continue;
            best = fabs(d);
            fwd = by_index ? ch->strike[a] + d * idx : ch->strike[a] / (1.0 - d);
        }
    }
    return fwd > 0.0 ? fwd : NAN;
}

/* The last parity forward computed, per (snapshot, expiry). */
typedef struct fwd_memo {
    int64_t ts, expiry;
    double fwd;
    int set;
} fwd_memo;

static double parity_forward_memo(fwd_memo *m, const cpo_chain *ch, size_t i, int by_index)
{
    if (!m->set || m->ts != ch->ts[i] || m->expiry != ch->expiry_ms[i]) {
        m->ts = ch->ts[i];
        m->expiry = ch->expiry_ms[i];
        m->fwd = parity_forward(ch, i, by_index);
        m->set = 1;
    }
    return m->fwd;
}

static int run_chain(const char *path, const cpo_import_opts *io, double rate, int by_index,
                     FILE *out, cpo_error *err)
{
    cpo_dataset *ds = NULL;
    int rc = cpo_dataset_new(&ds, err);
    if (rc)
        return rc;
    cpo_import_report rep;
    rc = cpo_import_file(ds, path, io, &rep, err);
    if (rc) {
        cpo_dataset_free(ds);
        return rc;
    }
    for (size_t k = 0; k < rep.n_issues; k++) {
        const cpo_import_issue *is = &rep.issues[k];
        if (is->level >= CPO_ISSUE_WARNING) {
            if (is->line)
                fprintf(stderr, "cpo: %s:%ld: %s: %s\n", path, is->line,
                        is->level == CPO_ISSUE_WARNING ? "warning" : "repaired", is->msg);
            else
                fprintf(stderr, "cpo: %s: %s: %s\n", path,
                        is->level == CPO_ISSUE_WARNING ? "warning" : "repaired", is->msg);
        }
    }
    fputs("snapshot,instrument,underlying,type,strike,expiry,expiry_years,forward,"
          "forward_source,index,coin_usd,rate,mark_iv,mark_price_coin,mark_price_usd,model_price_usd,"
          "model_price_coin,delta,gamma,vega,theta,rho,vanna,volga,delta_coin,gamma_coin,"
          "vega_coin,theta_coin,delta_account,iv,iv_status,iv_minus_mark\n",
          out);
    for (size_t c = 0; c < ds->n_chains; c++) {
        const cpo_chain *ch = &ds->chains[c];
        fwd_memo memo = {0, 0, NAN, 0};
        for (size_t i = 0; i < ch->n; i++) {
            double T = (double)(ch->expiry_ms[i] - ch->ts[i]) / YEAR_MS;
            double F = ch->fwd_px[i], I = ch->index_px[i];
            const char *fsrc = "exchange";
            if (!(F > 0.0)) {
                F = parity_forward_memo(&memo, ch, i, by_index);
                fsrc = "parity";
                if (!(F > 0.0)) {
                    F = I;
                    fsrc = "index";
                }
            }
            if (!(I > 0.0))
                I = NAN;
            cpo_black76_in in = {F, ch->strike[i], T, rate, ch->mark_iv[i], ch->right[i]};
            cpo_black76_out o;
            cpo_black76(&in, &o);
            double P = by_index ? I : F; /* USD per coin for the conversion */
            cpo_black76_coin cg;
            cpo_black76_coin_greeks(&o, F, I, P, &cg);
            double mark_usd = ch->mark_px[i] * P;
            double iv = NAN;
            int st = cpo_black76_iv(mark_usd, F, ch->strike[i], T, rate, ch->right[i], &iv);
            char snap[40], expiry[40];
            cpo_time_format(ch->ts[i], snap, sizeof snap);
            cpo_time_format(ch->expiry_ms[i], expiry, sizeof expiry);
            fprintf(out, "%s,%s,%s,%s", snap, ch->name[i], ch->underlying,
                    ch->right[i] == CPO_RIGHT_CALL ? "call" : "put");
            put_num(out, ch->strike[i]);
            fprintf(out, ",%s", expiry);
            put_num(out, T);
            put_num(out, F);
            fprintf(out, ",%s", fsrc);
            put_num(out, I);
            fprintf(out, ",%s", by_index ? "index" : "forward");
            put_num(out, rate);
            put_num(out, ch->mark_iv[i]);
            put_num(out, ch->mark_px[i]);
            put_num(out, mark_usd);
            put_num(out, o.price);
            put_num(out, cg.price);
            put_num(out, o.delta);
            put_num(out, o.gamma);
            put_num(out, o.vega);
            put_num(out, o.theta);
            put_num(out, o.rho);
            put_num(out, o.vanna);
            put_num(out, o.volga);
            put_num(out, cg.delta);
            put_num(out, cg.gamma);
            put_num(out, cg.vega);
            put_num(out, cg.theta);
            put_num(out, cg.delta_account);
            put_num(out, iv);
            fprintf(out, ",%s", cpo_iv_status_name(st));
            put_num(out, iv - ch->mark_iv[i]);
            fputc('\n', out);
        }
    }
    cpo_dataset_free(ds);
    return 0;
}

/* --- the command ------------------------------------------------------------------- */

/* Stops the read at the header: it is kept in *ctx. */
typedef struct header_peek {
    int plain;
} header_peek;

static int peek_header(void *ctx, const cpo_csv_row *row)
{
    header_peek *h = ctx;
    h->plain = cpo_csv_find(row, "forward") >= 0 && cpo_csv_find(row, "strike") >= 0 &&
               cpo_csv_find(row, "expiry_years") >= 0;
    return 1; /* stop */
}

enum { O_UND = 256, O_SNAP, O_IVU, O_RATE, O_LENIENT, O_COIN };

static const cpo_cli_opt price_opts[] = {
    {"output", 'o', 'o', "OUT.csv", "write the table to OUT.csv (default: standard output)"},
    {"underlying", 0, O_UND, "COIN", "the underlying of a chain file holding several"},
    {"snapshot-time", 0, O_SNAP, "ISO", "when a chain file that does not record it was taken"},
    {"iv-unit", 0, O_IVU, "auto|decimal|percent", "implied vol unit of a chain file (auto)"},
    {"rate", 0, O_RATE, "R", "the continuous rate per year (0)"},
    {"lenient", 0, O_LENIENT, NULL, "repair what is safe in a chain file and report it"},
    {"coin-usd", 0, O_COIN, "forward|index", "the USD price of a coin for coin prices (forward)"},
    {"help", 'h', 'h', NULL, "print the usage and what the command does"},
    {NULL, 0, 0, NULL, NULL}};

static int cmd_price(int argc, char **argv)
{
    struct option longopts[CPO_CLI_MAX_OPTS + 1];
    char shorts[3 * CPO_CLI_MAX_OPTS + 1];
    cpo_cli_getopt(price_opts, longopts, shorts);
    const char *outp = NULL;
    double rate = 0.0;
    int by_index = 0;
    cpo_import_opts io;
    cpo_import_opts_init(&io);
    io.format = CPO_FMT_DERIBIT_CHAIN;
    io.kind = CPO_KIND_OPTION;
    io.settle = CPO_SETTLE_INVERSE;
    int c, idx = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, shorts, longopts, &idx)) != -1) {
        switch (c) {
        case 'o': outp = optarg; break;
        case O_UND:
            if (!*optarg || strlen(optarg) >= CPO_CCY_MAX)
                return cpo_cli_usage(PRICE_USAGE, "--underlying %s is not valid (expected a "
                                     "currency code such as BTC)", optarg);
            io.symbol = optarg;
            break;
        case O_SNAP: {
            int fl;
            if (cpo_time_parse(optarg, strlen(optarg), &io.snapshot_ms, &fl, NULL))
                return cpo_cli_usage(PRICE_USAGE, "--snapshot-time %s is not valid (expected "
                                     "an ISO 8601 date-time in UTC)", optarg);
            break;
        }
        case O_IVU:
            if (!strcmp(optarg, "auto"))
                io.iv_unit = CPO_IV_AUTO;
            else if (!strcmp(optarg, "decimal"))
                io.iv_unit = CPO_IV_DECIMAL;
            else if (!strcmp(optarg, "percent"))
                io.iv_unit = CPO_IV_PERCENT;
            else
                return cpo_cli_usage(PRICE_USAGE, "--iv-unit %s is not valid (expected auto, "
                                     "decimal or percent)", optarg);
            break;
        case O_RATE: {
            char *end;
            errno = 0;
            rate = strtod(optarg, &end);
            if (end == optarg || *end || errno || !(fabs(rate) < 1.0))
                return cpo_cli_usage(PRICE_USAGE, "--rate %s is not valid (expected a decimal "
                                     "rate per year such as 0.05)", optarg);
            break;
        }
        case O_LENIENT: io.mode = CPO_IMPORT_LENIENT; break;
        case O_COIN:
            if (!strcmp(optarg, "forward"))
                by_index = 0;
            else if (!strcmp(optarg, "index"))
                by_index = 1;
            else
                return cpo_cli_usage(PRICE_USAGE, "--coin-usd %s is not valid (expected "
                                     "forward or index)", optarg);
            break;
        case 'h':
            return cpo_cli_help(PRICE_USAGE,
                                "Black-76 prices, Greeks and implied vols of a table of options "
                                "or a Deribit chain.",
                                price_opts, NULL);
        default: return cpo_cli_usage(PRICE_USAGE, "bad option");
        }
    }
    if (optind >= argc)
        return cpo_cli_usage(PRICE_USAGE, "no input file");
    if (optind + 1 < argc)
        return cpo_cli_usage(PRICE_USAGE, "more than one input file (expected one)");
    const char *path = argv[optind];

    cpo_error err;
    cpo_error_clear(&err);
    header_peek hp = {0};
    int rc = cpo_csv_read(path, peek_header, &hp, &err);
    if (rc < 0)
        return cpo_cli_fail(&err);

    char tmp[4096];
    FILE *out = stdout;
    if (outp) {
        if (cpo_tmp_path(tmp, sizeof tmp, outp) != 0)
            return cpo_cli_usage(PRICE_USAGE, "output path too long");
        out = fopen(tmp, "w");
        if (!out) {
            cpo_error_set(&err, CPO_EIO, tmp, 0, 0, "cannot write: %s (expected a writable "
                          "path)", strerror(errno));
            return cpo_cli_fail(&err);
        }
    }
    if (hp.plain)
        rc = run_plain(path, out, &err);
    else
        rc = run_chain(path, &io, rate, by_index, out, &err);
    if (outp) {
        int werr = ferror(out);
        if (fclose(out) != 0 || werr) {
            if (!rc)
                rc = cpo_error_set(&err, CPO_EIO, tmp, 0, 0, "write failed (expected space "
                                   "on the device)");
        }
        if (!rc && rename(tmp, outp) != 0)
            rc = cpo_error_set(&err, CPO_EIO, outp, 0, 0, "cannot rename %s to it: %s", tmp,
                               strerror(errno));
        if (rc)
            unlink(tmp);
    } else {
        fflush(stdout);
    }
    if (rc)
        return cpo_cli_fail(&err);
    return 0;
}

static const cpo_cmd_entry options_price_entry = {
    "price", PRICE_USAGE, "Black-76 prices, Greeks and implied vols of a table or a chain file",
    cmd_price, price_opts, NULL, CPO_ARGS_FILE, NULL};
static const cpo_cmd_entry *const options_subs[] = {&options_price_entry, NULL};

static int options_exec(int argc, char **argv)
{
    if (argc < 2)
        return cpo_cli_usage("cpo " OPTIONS_USAGE, "no options command (expected price)");
    if (!strcmp(argv[1], "price"))
        return cmd_price(argc - 1, argv + 1);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return cpo_cli_help("cpo " OPTIONS_USAGE, "The option commands (cpo options price --help).",
                            NULL, options_subs);
    return cpo_cli_usage("cpo " OPTIONS_USAGE,
                         "unknown options command \"%s\" (expected price)", argv[1]);
}

const cpo_cmd_entry cpo_cmd_options_entry = {
    "options", OPTIONS_USAGE,
    "Black-76 prices, Greeks and implied vols of an option table or Deribit chain",
    options_exec, NULL, options_subs, CPO_ARGS_NONE, NULL};
