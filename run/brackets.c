/*
 * brackets.c - Binance leverage-bracket tables from a file ([margin]
 * brackets = PATH; cpo/config.h).  Two layouts:
 *
 *   CSV, one row per bracket, brackets of a symbol lowest first:
 *     symbol,notional_floor,notional_cap,max_leverage,mmr,maintenance_amount[,settle]
 *     (lines starting with '#' are comments: the table's source and date;
 *     settle: linear, the default, notionals in the quote currency, as
 *     USDⓈ-M's notionalFloor/notionalCap; inverse: in the coin, as COIN-M's
 *     qtyFloor/qtyCap)
 *   JSON, the response of Binance's GET /fapi/v1/leverageBracket (or
 *     /dapi/v2/leverageBracket): [{"symbol": ..., "brackets": [{"bracket",
 *     "initialLeverage", "notionalCap", "notionalFloor" (or "qtyCap",
 *     "qtyFloor": COIN-M), "maintMarginRatio", "cum"}]}]
 *
 * Every table is checked (cpo_brackets_check: no gap, no overlap, the
 * maintenance amounts Binance's recurrence gives); errors name the file
 * and line (CSV) or the symbol (JSON).
 */
#include "run_brackets.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"

typedef struct rd {
    const char *path;
    cpo_error *err;
    int idx[7];
    cpo_brackets *t;      /* tables read so far */
    size_t n, cap;
    long first_line[512]; /* line of each table's first row (messages) */
} rd;

static int nomem(cpo_error *err)
{
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

static cpo_brackets *table_for(rd *r, const char *sym, int inverse, long line)
{
    if (r->n && !strcmp(r->t[r->n - 1].symbol, sym))
        return &r->t[r->n - 1];
    for (size_t k = 0; k < r->n; k++)
        if (!strcmp(r->t[k].symbol, sym)) {
            cpo_error_set(r->err, CPO_EDATA, r->path, line, 1,
                          "symbol %s appears again after other symbols (expected each "
                          "symbol's brackets in one block)",
                          sym);
            return NULL;
        }
    if (r->n == sizeof r->first_line / sizeof r->first_line[0]) {
        cpo_error_set(r->err, CPO_ERANGE, r->path, line, 1,
                      "more than %zu symbols (expected fewer)", r->n);
        return NULL;
    }
    if (r->n == r->cap) {
        size_t nc = r->cap ? 2 * r->cap : 8;
        cpo_brackets *p = realloc(r->t, nc * sizeof *p);
        if (!p) {
            nomem(r->err);
            return NULL;
        }
        r->t = p;
        r->cap = nc;
    }
    cpo_brackets *t = &r->t[r->n];
    memset(t, 0, sizeof *t);
    snprintf(t->symbol, sizeof t->symbol, "%s", sym);
    t->inverse = inverse;
    r->first_line[r->n] = line;
    r->n++;
    return t;
}

static int csv_row(void *ctx, const cpo_csv_row *row)
{
    rd *r = ctx;
    static const char *const names[7] = {"symbol",       "notional_floor|floor",
                                         "notional_cap|cap", "max_leverage|leverage",
                                         "mmr|maintenance_margin_rate",
                                         "maintenance_amount|cum", "settle"};
    static const int required[7] = {1, 1, 1, 1, 1, 1, 0};
    if (row->n && row->f[0][0] == '#')
        return 0; /* a comment line (the file's source and date) */
    if (r->idx[0] < 0)
        return cpo_csv_map(row, r->path, names, required, 7, r->idx, r->err);
    size_t width = 0;
    for (int k = 0; k < 7; k++)
        if (r->idx[k] + 1 > (int)width)
            width = (size_t)r->idx[k] + 1;
    if (row->n < width)
        return cpo_error_set(r->err, CPO_EFORMAT, r->path, row->line, (long)row->n + 1,
                             "%zu fields (expected %zu, as the header)", row->n, width);
    const char *sym = row->f[r->idx[0]];
    if (!*sym || strlen(sym) >= CPO_SYMBOL_MAX)
        return cpo_error_set(r->err, CPO_EDATA, r->path, row->line, r->idx[0] + 1,
                             "symbol \"%s\" is not valid (expected 1 to %d characters)", sym,
                             CPO_SYMBOL_MAX - 1);
    int inverse = 0;
    if (r->idx[6] >= 0) {
        const char *s = row->f[r->idx[6]];
        if (!strcmp(s, "inverse"))
            inverse = 1;
        else if (*s && strcmp(s, "linear"))
            return cpo_error_set(r->err, CPO_EDATA, r->path, row->line, r->idx[6] + 1,
                                 "settle \"%s\" (expected linear or inverse)", s);
    }
    double v[5];
    for (int k = 1; k <= 5; k++) {
        int c = r->idx[k];
        if (cpo_parse_f64(row->f[c], row->len[c], &v[k - 1]) || !isfinite(v[k - 1]))
            return cpo_error_set(r->err, CPO_EPARSE, r->path, row->line, c + 1,
                                 "%s \"%s\" is not a number (expected a finite number)",
                                 names[k], row->f[c]);
    }
    cpo_brackets *t = table_for(r, sym, inverse, row->line);
    if (!t)
        return r->err ? r->err->code : CPO_EDATA;
    if (t->inverse != inverse)
        return cpo_error_set(r->err, CPO_EDATA, r->path, row->line, r->idx[6] + 1,
                             "%s: settle changes within the symbol's brackets (expected one "
                             "settlement per symbol)",
                             sym);
    if (t->n == CPO_BRACKETS_MAX)
        return cpo_error_set(r->err, CPO_ERANGE, r->path, row->line, 1,
                             "%s: more than %d brackets (expected at most %d)", sym,
                             CPO_BRACKETS_MAX, CPO_BRACKETS_MAX);
    cpo_bracket *b = &t->b[t->n++];
    b->floor = v[0];
    b->cap = v[1];
    b->max_leverage = v[2];
    b->mmr = v[3];
    b->cum = v[4];
    /* Checked row by row, so that the message names this row. */
    char why[300];
    size_t bad = 0;
    cpo_brackets head = *t;
    if (cpo_brackets_check(&head, &bad, why, sizeof why) && bad == t->n)
        return cpo_error_set(r->err, CPO_EDATA, r->path, row->line, 1, "%s: %s", sym, why);
    return 0;
}

static double jnum(json_t *o, const char *a, const char *b, int *ok)
{
    json_t *v = json_object_get(o, a);
    if (!v && b)
        v = json_object_get(o, b);
    if (json_is_number(v))
        return json_number_value(v);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        double x;
        if (!cpo_parse_f64(s, strlen(s), &x))
            return x;
    }
    *ok = 0;
    return NAN;
}

static int read_json(rd *r)
{
    json_error_t je;
    json_t *root = json_load_file(r->path, 0, &je);
    if (!root)
        return cpo_error_set(r->err, CPO_EPARSE, r->path, je.line, je.column,
                             "%s (expected Binance's leverageBracket response)", je.text);
    int rc = 0;
    if (!json_is_array(root)) {
        rc = cpo_error_set(r->err, CPO_EFORMAT, r->path, 1, 1,
                           "the top level is not an array (expected Binance's "
                           "leverageBracket response: [{\"symbol\", \"brackets\"}])");
        goto done;
    }
    size_t i;
    json_t *e;
    json_array_foreach(root, i, e) {
        json_t *js = json_object_get(e, "symbol");
        if (!js)
            js = json_object_get(e, "pair");
        json_t *jb = json_object_get(e, "brackets");
        if (!json_is_string(js) || !json_is_array(jb) || json_array_size(jb) == 0) {
            rc = cpo_error_set(r->err, CPO_EFORMAT, r->path, 0, 0,
                               "element %zu has no \"symbol\" and \"brackets\" (expected "
                               "Binance's leverageBracket response)",
                               i + 1);
            goto done;
        }
        const char *sym = json_string_value(js);
        if (!*sym || strlen(sym) >= CPO_SYMBOL_MAX) {
            rc = cpo_error_set(r->err, CPO_EDATA, r->path, 0, 0,
                               "element %zu: symbol \"%s\" is not valid", i + 1, sym);
            goto done;
        }
        int inverse = json_object_get(json_array_get(jb, 0), "qtyCap") != NULL;
        cpo_brackets *t = table_for(r, sym, inverse, 0);
        if (!t) {
            rc = r->err ? r->err->code : CPO_EDATA;
            goto done;
        }
        size_t k;
        json_t *b;
        json_array_foreach(jb, k, b) {
            if (t->n == CPO_BRACKETS_MAX) {
                rc = cpo_error_set(r->err, CPO_ERANGE, r->path, 0, 0,
                                   "%s: more than %d brackets", sym, CPO_BRACKETS_MAX);
                goto done;
            }
            int ok = 1;
            cpo_bracket *x = &t->b[t->n++];
            x->floor = jnum(b, "notionalFloor", "qtyFloor", &ok);
            x->cap = jnum(b, "notionalCap", "qtyCap", &ok);
            x->max_leverage = jnum(b, "initialLeverage", NULL, &ok);
            x->mmr = jnum(b, "maintMarginRatio", NULL, &ok);
            x->cum = jnum(b, "cum", NULL, &ok);
            if (!ok) {
                rc = cpo_error_set(r->err, CPO_EFORMAT, r->path, 0, 0,
                                   "%s bracket %zu: a field is missing or not a number "
                                   "(expected notionalFloor, notionalCap, initialLeverage, "
                                   "maintMarginRatio, cum)",
                                   sym, k + 1);
                goto done;
            }
        }
    }
done:
    json_decref(root);
    return rc;
}

int cpo_brackets_read(const char *path, cpo_brackets **out, size_t *n, cpo_error *err)
{
    *out = NULL;
    *n = 0;
    rd r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.err = err;
    for (int k = 0; k < 7; k++)
        r.idx[k] = -1;
    size_t len = strlen(path);
    int json = len > 5 && !strcmp(path + len - 5, ".json");
    int rc = json ? read_json(&r) : cpo_csv_read(path, csv_row, &r, err);
    if (!rc && r.n == 0)
        rc = cpo_error_set(err, CPO_EDATA, path, 0, 0,
                           "no bracket (expected at least one row under the header)");
    /* Whole tables: each checked again (the last brackets of a symbol,
     * the JSON). */
    for (size_t k = 0; !rc && k < r.n; k++) {
        char why[300];
        size_t bad = 0;
        if (cpo_brackets_check(&r.t[k], &bad, why, sizeof why))
            rc = cpo_error_set(err, CPO_EDATA, path, json ? 0 : r.first_line[k] + (long)bad - 1,
                               json ? 0 : 1, "%s: %s", r.t[k].symbol, why);
    }
    if (rc) {
        free(r.t);
        return rc;
    }
    *out = r.t;
    *n = r.n;
    return 0;
}
