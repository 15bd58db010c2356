/*
 * dataset_table.c - parts of a dataset as tables of views into its arrays
 * (cpo_dataset_table, cpo/dataset.h), for programs that embed cpo.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cpo/dataset.h"
#include "cpo/table.h"

/* One column of a table being made; rc carries the first failure. */
typedef struct mk {
    cpo_table *t;
    int rc;
    cpo_error *err;
} mk;

static void col(mk *m, const char *name, cpo_col_type type, const void *data, size_t stride,
                size_t size)
{
    if (!m->rc)
        m->rc = cpo_table_add(m->t, name, type, data, stride, size, m->err);
}

static void f64(mk *m, const char *name, const double *v)
{
    col(m, name, CPO_COL_F64, v, sizeof *v, 0);
}

static void ts(mk *m, const char *name, const int64_t *v)
{
    col(m, name, CPO_COL_TIME, v, sizeof *v, 0);
}

/* A column of names: name_of(base + i * stride) for each row. */
static void names(mk *m, const char *name, size_t n, const void *base, size_t stride,
                  const char *(*name_of)(const void *))
{
    if (m->rc)
        return;
    const char **p = cpo_table_alloc(m->t, n * sizeof *p, m->err);
    if (!p) {
        m->rc = CPO_ENOMEM;
        return;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = name_of((const char *)base + i * stride);
    col(m, name, CPO_COL_STR, p, sizeof *p, 0);
}

static const char *kind_of(const void *p)
{
    return cpo_kind_name(((const cpo_instrument *)p)->kind);
}

static const char *settle_of(const void *p)
{
    return cpo_settle_name(((const cpo_instrument *)p)->settle);
}

static const char *right_of(const void *p)
{
    return cpo_right_name(((const cpo_instrument *)p)->right);
}

static const char *chain_right_of(const void *p)
{
    return cpo_right_name((cpo_right) * (const int8_t *)p);
}

#define FIELD(arr, type, f) (arr ? (const void *)&(arr)[0].f : NULL), sizeof(type)

static void instruments(mk *m, const cpo_dataset *ds)
{
    const cpo_instrument *in = ds->instr;
    size_t n = ds->n_instr, s = sizeof *in;
    col(m, "symbol", CPO_COL_CHARS, FIELD(in, cpo_instrument, symbol), CPO_SYMBOL_MAX);
    col(m, "exchange", CPO_COL_CHARS, FIELD(in, cpo_instrument, exchange), CPO_CCY_MAX);
    col(m, "base", CPO_COL_CHARS, FIELD(in, cpo_instrument, base), CPO_CCY_MAX);
    col(m, "quote", CPO_COL_CHARS, FIELD(in, cpo_instrument, quote), CPO_CCY_MAX);
    col(m, "underlying", CPO_COL_CHARS, FIELD(in, cpo_instrument, underlying), CPO_SYMBOL_MAX);
    names(m, "kind", n, in, s, kind_of);
    names(m, "settle", n, in, s, settle_of);
    col(m, "contract_size", CPO_COL_F64, FIELD(in, cpo_instrument, contract_size), 0);
    col(m, "tick_size", CPO_COL_F64, FIELD(in, cpo_instrument, tick_size), 0);
    col(m, "lot_size", CPO_COL_F64, FIELD(in, cpo_instrument, lot_size), 0);
    col(m, "strike", CPO_COL_F64, FIELD(in, cpo_instrument, strike), 0);
    col(m, "expiry", CPO_COL_TIME, FIELD(in, cpo_instrument, expiry_ms), 0);
    names(m, "right", n, in, s, right_of);
    col(m, "funding_interval_ms", CPO_COL_I64, FIELD(in, cpo_instrument, funding_interval_ms), 0);
}

static void provenance(mk *m, const cpo_dataset *ds)
{
    const cpo_provenance *p = ds->prov;
    col(m, "source", CPO_COL_CHARS, FIELD(p, cpo_provenance, source), sizeof p->source);
    col(m, "sha256", CPO_COL_CHARS, FIELD(p, cpo_provenance, sha256), sizeof p->sha256);
    col(m, "format", CPO_COL_CHARS, FIELD(p, cpo_provenance, format), sizeof p->format);
    col(m, "target", CPO_COL_CHARS, FIELD(p, cpo_provenance, target), sizeof p->target);
    col(m, "rows_read", CPO_COL_I64, FIELD(p, cpo_provenance, rows_read), 0);
    col(m, "rows_kept", CPO_COL_I64, FIELD(p, cpo_provenance, rows_kept), 0);
    col(m, "import_time", CPO_COL_TIME, FIELD(p, cpo_provenance, import_ms), 0);
    col(m, "options", CPO_COL_CHARS, FIELD(p, cpo_provenance, options), sizeof p->options);
}

static void chain(mk *m, const cpo_chain *c)
{
    ts(m, "ts", c->ts);
    ts(m, "expiry", c->expiry_ms);
    f64(m, "strike", c->strike);
    names(m, "right", c->n, c->right, sizeof *c->right, chain_right_of);
    col(m, "name", CPO_COL_CHARS, c->name, CPO_SYMBOL_MAX, CPO_SYMBOL_MAX);
    f64(m, "mark_px", c->mark_px);
    f64(m, "bid_px", c->bid_px);
    f64(m, "ask_px", c->ask_px);
    f64(m, "mark_iv", c->mark_iv);
    f64(m, "fwd_px", c->fwd_px);
    f64(m, "index_px", c->index_px);
    f64(m, "delta", c->delta);
    f64(m, "vega", c->vega);
    f64(m, "open_interest", c->open_interest);
}

/* "BTCUSDT, ETHUSDT, ..." of the parts that exist, for messages. */
static void list_names(char *buf, size_t n, const cpo_dataset *ds, const char *part)
{
    size_t used = 0;
    buf[0] = '\0';
    size_t count = !strcmp(part, "chain") ? ds->n_chains
                   : !strcmp(part, "ivindex") ? ds->n_iv : ds->n_instr;
    for (size_t i = 0; i < count && used + 60 < n; i++) {
        const char *nm = !strcmp(part, "chain")     ? ds->chains[i].underlying
                         : !strcmp(part, "ivindex") ? ds->iv[i].name
                                                    : ds->instr[i].symbol;
        size_t rows = !strcmp(part, "bars")      ? ds->bars[i].n
                      : !strcmp(part, "funding") ? ds->funding[i].n : 1;
        if (!rows)
            continue;
        used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? ", " : "", nm);
    }
    if (!used)
        snprintf(buf, n, "none in this store");
}

static int not_found(const cpo_dataset *ds, const char *part, const char *name, cpo_error *err)
{
    char list[1024];
    list_names(list, sizeof list, ds, part);
    return cpo_error_set(err, CPO_ENOTFOUND, NULL, 0, 0,
                         "the store has no %s \"%s\" (expected one of: %s)", part,
                         name ? name : "", list);
}

int cpo_dataset_table(cpo_table **out, const cpo_dataset *ds, const char *part,
                      const char *name, cpo_error *err)
{
    *out = NULL;
    mk m = {NULL, 0, err};
    size_t n = 0;
    const void *what = NULL;
    if (!strcmp(part, "instruments")) {
        n = ds->n_instr;
    } else if (!strcmp(part, "provenance")) {
        n = ds->n_prov;
    } else if (!strcmp(part, "caps")) {
        n = ds->caps.n;
    } else if (!strcmp(part, "bars") || !strcmp(part, "funding")) {
        long i = name ? cpo_dataset_find(ds, name) : -1;
        if (i < 0 || (part[0] == 'b' ? ds->bars[i].n : ds->funding[i].n) == 0)
            return not_found(ds, part, name, err);
        what = part[0] == 'b' ? (const void *)&ds->bars[i] : (const void *)&ds->funding[i];
        n = part[0] == 'b' ? ds->bars[i].n : ds->funding[i].n;
    } else if (!strcmp(part, "chain")) {
        for (size_t k = 0; name && k < ds->n_chains && !what; k++)
            if (!strcmp(ds->chains[k].underlying, name))
                what = &ds->chains[k];
        if (!what)
            return not_found(ds, part, name, err);
        n = ((const cpo_chain *)what)->n;
    } else if (!strcmp(part, "ivindex")) {
        for (size_t k = 0; name && k < ds->n_iv && !what; k++)
            if (!strcmp(ds->iv[k].name, name))
                what = &ds->iv[k];
        if (!what)
            return not_found(ds, part, name, err);
        n = ((const cpo_ivindex *)what)->n;
    } else {
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "no part \"%s\" in a store (expected instruments, bars, funding, "
                             "chain, ivindex, caps or provenance)",
                             part);
    }
    int rc = cpo_table_new(&m.t, part, n, err);
    if (rc)
        return rc;
    if (!strcmp(part, "instruments")) {
        instruments(&m, ds);
    } else if (!strcmp(part, "provenance")) {
        provenance(&m, ds);
    } else if (!strcmp(part, "caps")) {
        const cpo_caps *c = &ds->caps;
        ts(&m, "ts", c->ts);
        col(&m, "rank", CPO_COL_I32, c->rank, sizeof *c->rank, 0);
        col(&m, "symbol", CPO_COL_CHARS, c->symbol, CPO_CCY_MAX, CPO_CCY_MAX);
        col(&m, "name", CPO_COL_CHARS, c->name, CPO_SYMBOL_MAX, CPO_SYMBOL_MAX);
        f64(&m, "market_cap", c->market_cap);
        f64(&m, "price", c->price);
        f64(&m, "supply", c->supply);
        f64(&m, "volume_24h", c->volume_24h);
    } else if (part[0] == 'b') {
        const cpo_bars *b = what;
        ts(&m, "ts", b->ts);
        f64(&m, "open", b->open);
        f64(&m, "high", b->high);
        f64(&m, "low", b->low);
        f64(&m, "close", b->close);
        f64(&m, "volume", b->volume);
        f64(&m, "mark", b->mark);
        f64(&m, "index", b->index);
        if (b->mark_high) { /* mark-price klines: NULL when none */
            f64(&m, "mark_high", b->mark_high);
            f64(&m, "mark_low", b->mark_low);
        }
    } else if (part[0] == 'f') {
        const cpo_funding *f = what;
        ts(&m, "ts", f->ts);
        f64(&m, "rate", f->rate);
        f64(&m, "mark", f->mark);
        f64(&m, "index", f->index);
    } else if (part[0] == 'c') {
        chain(&m, what);
    } else {
        const cpo_ivindex *v = what;
        ts(&m, "ts", v->ts);
        f64(&m, "open", v->open);
        f64(&m, "high", v->high);
        f64(&m, "low", v->low);
        f64(&m, "close", v->close);
    }
    if (m.rc) {
        cpo_table_free(m.t);
        return m.rc;
    }
    *out = m.t;
    return 0;
}
