/* series.c - growable struct-of-arrays series and the dataset container. */
#include "cpo/dataset.h"
#include "cpo/time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Grow each array in `arrs` (element sizes in `sizes`) from *cap to at
 * least want elements.  All-or-nothing: on failure nothing is lost (arrays
 * already grown keep their old contents and stay valid). */
static int grow(void **arrs[], const size_t sizes[], size_t narr, size_t *cap,
                size_t want)
{
    if (want <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < want) {
        if (nc > SIZE_MAX / 2)
            return CPO_ENOMEM;
        nc *= 2;
    }
    for (size_t i = 0; i < narr; i++) {
        if (nc > SIZE_MAX / sizes[i])
            return CPO_ENOMEM;
        void *p = realloc(*arrs[i], nc * sizes[i]);
        if (!p)
            return CPO_ENOMEM;
        *arrs[i] = p;
    }
    *cap = nc;
    return 0;
}

#define NARR(a) (sizeof(a) / sizeof((a)[0]))

/* --- bars --------------------------------------------------------------- */

void cpo_bars_init(cpo_bars *b) { memset(b, 0, sizeof *b); }

int cpo_bars_reserve(cpo_bars *b, size_t cap)
{
    /* mark_high and mark_low grow with the others once they exist. */
    void **arrs[] = {(void **)&b->ts,    (void **)&b->open,   (void **)&b->high,
                     (void **)&b->low,   (void **)&b->close,  (void **)&b->volume,
                     (void **)&b->mark,  (void **)&b->index,  (void **)&b->mark_high,
                     (void **)&b->mark_low};
    const size_t sizes[] = {8, 8, 8, 8, 8, 8, 8, 8, 8, 8};
    size_t narr = b->mark_high ? NARR(arrs) : NARR(arrs) - 2;
    return grow(arrs, sizes, narr, &b->cap, cap);
}

int cpo_bars_alloc_mark_hl(cpo_bars *b)
{
    if (b->mark_high && b->mark_low)
        return 0;
    size_t n = b->cap ? b->cap : 1;
    double *hi = b->mark_high ? b->mark_high : malloc(n * sizeof *hi);
    double *lo = b->mark_low ? b->mark_low : malloc(n * sizeof *lo);
    if (!hi || !lo) {
        if (hi != b->mark_high)
            free(hi);
        if (lo != b->mark_low)
            free(lo);
        return CPO_ENOMEM;
    }
    if (hi != b->mark_high)
        for (size_t i = 0; i < n; i++)
            hi[i] = NAN;
    if (lo != b->mark_low)
        for (size_t i = 0; i < n; i++)
            lo[i] = NAN;
    b->mark_high = hi;
    b->mark_low = lo;
    return 0;
}

int cpo_bars_append(cpo_bars *b, int64_t ts, double open, double high,
                    double low, double close, double volume, double mark,
                    double mark_high, double mark_low, double index)
{
    if (b->n == b->cap && cpo_bars_reserve(b, b->n + 1))
        return CPO_ENOMEM;
    if ((!isnan(mark_high) || !isnan(mark_low)) && cpo_bars_alloc_mark_hl(b))
        return CPO_ENOMEM;
    size_t i = b->n++;
    b->ts[i] = ts;
    b->open[i] = open;
    b->high[i] = high;
    b->low[i] = low;
    b->close[i] = close;
    b->volume[i] = volume;
    b->mark[i] = mark;
    b->index[i] = index;
    if (b->mark_high) {
        b->mark_high[i] = mark_high;
        b->mark_low[i] = mark_low;
    }
    return 0;
}

void cpo_bars_fini(cpo_bars *b)
{
    if (!b)
        return;
    free(b->ts);
    free(b->open);
    free(b->high);
    free(b->low);
    free(b->close);
    free(b->volume);
    free(b->mark);
    free(b->index);
    free(b->mark_high);
    free(b->mark_low);
    memset(b, 0, sizeof *b);
}

/* --- funding ------------------------------------------------------------ */

void cpo_funding_init(cpo_funding *f) { memset(f, 0, sizeof *f); }

int cpo_funding_reserve(cpo_funding *f, size_t cap)
{
    void **arrs[] = {(void **)&f->ts, (void **)&f->rate, (void **)&f->mark,
                     (void **)&f->index};
    const size_t sizes[] = {8, 8, 8, 8};
    return grow(arrs, sizes, NARR(arrs), &f->cap, cap);
}

int cpo_funding_append(cpo_funding *f, int64_t ts, double rate, double mark,
                       double index)
{
    if (f->n == f->cap && cpo_funding_reserve(f, f->n + 1))
        return CPO_ENOMEM;
    size_t i = f->n++;
    f->ts[i] = ts;
    f->rate[i] = rate;
    f->mark[i] = mark;
    f->index[i] = index;
    return 0;
}

void cpo_funding_fini(cpo_funding *f)
{
    if (!f)
        return;
    free(f->ts);
    free(f->rate);
    free(f->mark);
    free(f->index);
    memset(f, 0, sizeof *f);
}

/* --- chains ------------------------------------------------------------- */

void cpo_chain_init(cpo_chain *c, const char *underlying)
{
    memset(c, 0, sizeof *c);
    if (underlying) {
        size_t n = strlen(underlying);
        if (n >= sizeof c->underlying)
            n = sizeof c->underlying - 1;
        memcpy(c->underlying, underlying, n);
    }
}

int cpo_chain_reserve(cpo_chain *c, size_t cap)
{
    void **arrs[] = {
        (void **)&c->ts,      (void **)&c->expiry_ms, (void **)&c->strike,
        (void **)&c->right,   (void **)&c->mark_px,   (void **)&c->bid_px,
        (void **)&c->ask_px,  (void **)&c->mark_iv,   (void **)&c->fwd_px,
        (void **)&c->index_px, (void **)&c->delta,    (void **)&c->vega,
        (void **)&c->open_interest, (void **)&c->name};
    const size_t sizes[] = {8, 8, 8, 1, 8, 8, 8, 8, 8, 8, 8, 8, 8,
                            CPO_SYMBOL_MAX};
    return grow(arrs, sizes, NARR(arrs), &c->cap, cap);
}

int cpo_chain_append_row(cpo_chain *c, size_t *row)
{
    if (c->n == c->cap && cpo_chain_reserve(c, c->n + 1))
        return CPO_ENOMEM;
    size_t i = c->n++;
    c->ts[i] = CPO_TIME_NONE;
    c->expiry_ms[i] = CPO_TIME_NONE;
    c->strike[i] = NAN;
    c->right[i] = CPO_RIGHT_NONE;
    c->mark_px[i] = c->bid_px[i] = c->ask_px[i] = NAN;
    c->mark_iv[i] = c->fwd_px[i] = c->index_px[i] = NAN;
    c->delta[i] = c->vega[i] = c->open_interest[i] = NAN;
    memset(c->name[i], 0, CPO_SYMBOL_MAX);
    if (row)
        *row = i;
    return 0;
}


/* Sort a permutation with a merge sort (stable, no qsort_r in C11). */
static int chain_less(const cpo_chain *c, size_t a, size_t b)
{
    if (c->ts[a] != c->ts[b])
        return c->ts[a] < c->ts[b];
    return strcmp(c->name[a], c->name[b]) < 0;
}

static void merge_sort(const cpo_chain *c, size_t *p, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(c, p, tmp, h);
    merge_sort(c, p + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = chain_less(c, p[j], p[i]) ? p[j++] : p[i++];
    while (i < h)
        tmp[k++] = p[i++];
    while (j < n)
        tmp[k++] = p[j++];
    memcpy(p, tmp, n * sizeof *p);
}

#define PERMUTE(arr, type)                                                    \
    do {                                                                      \
        type *np_ = malloc((n ? n : 1) * sizeof(type));                       \
        if (!np_) {                                                           \
            rc = CPO_ENOMEM;                                                  \
            goto cleanup;                                                     \
        }                                                                     \
        for (size_t i_ = 0; i_ < n; i_++)                                     \
            memcpy(&np_[i_], &c->arr[perm[i_]], sizeof(type));                \
        free(c->arr);                                                         \
        c->arr = np_;                                                         \
    } while (0)

typedef char name_row[CPO_SYMBOL_MAX];

int cpo_chain_sort(cpo_chain *c)
{
    size_t n = c->n;
    int rc = 0, sorted = 1;
    for (size_t i = 1; i < n && sorted; i++)
        if (chain_less(c, i, i - 1))
            sorted = 0;
    if (sorted)
        return 0;
    size_t *perm = malloc(n * sizeof *perm), *tmp = malloc(n * sizeof *tmp);
    if (!perm || !tmp) {
        rc = CPO_ENOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    merge_sort(c, perm, tmp, n);
    /* After this point each array is replaced whole; capacity becomes n. */
    PERMUTE(ts, int64_t);
    PERMUTE(expiry_ms, int64_t);
    PERMUTE(strike, double);
    PERMUTE(right, int8_t);
    PERMUTE(mark_px, double);
    PERMUTE(bid_px, double);
    PERMUTE(ask_px, double);
    PERMUTE(mark_iv, double);
    PERMUTE(fwd_px, double);
    PERMUTE(index_px, double);
    PERMUTE(delta, double);
    PERMUTE(vega, double);
    PERMUTE(open_interest, double);
    PERMUTE(name, name_row);
    c->cap = n;
cleanup:
    free(perm);
    free(tmp);
    return rc;
}

void cpo_chain_fini(cpo_chain *c)
{
    if (!c)
        return;
    free(c->ts);
    free(c->expiry_ms);
    free(c->strike);
    free(c->right);
    free(c->mark_px);
    free(c->bid_px);
    free(c->ask_px);
    free(c->mark_iv);
    free(c->fwd_px);
    free(c->index_px);
    free(c->delta);
    free(c->vega);
    free(c->open_interest);
    free(c->name);
    memset(c, 0, sizeof *c);
}

/* --- IV indices --------------------------------------------------------- */

void cpo_ivindex_init(cpo_ivindex *v, const char *name)
{
    memset(v, 0, sizeof *v);
    if (name) {
        size_t n = strlen(name);
        if (n >= sizeof v->name)
            n = sizeof v->name - 1;
        memcpy(v->name, name, n);
    }
}

int cpo_ivindex_append(cpo_ivindex *v, int64_t ts, double open, double high,
                       double low, double close)
{
    if (v->n == v->cap) {
        void **arrs[] = {(void **)&v->ts, (void **)&v->open, (void **)&v->high,
                         (void **)&v->low, (void **)&v->close};
        const size_t sizes[] = {8, 8, 8, 8, 8};
        if (grow(arrs, sizes, NARR(arrs), &v->cap, v->n + 1))
            return CPO_ENOMEM;
    }
    size_t i = v->n++;
    v->ts[i] = ts;
    v->open[i] = open;
    v->high[i] = high;
    v->low[i] = low;
    v->close[i] = close;
    return 0;
}

void cpo_ivindex_fini(cpo_ivindex *v)
{
    if (!v)
        return;
    free(v->ts);
    free(v->open);
    free(v->high);
    free(v->low);
    free(v->close);
    memset(v, 0, sizeof *v);
}

/* --- caps --------------------------------------------------------------- */

void cpo_caps_init(cpo_caps *c) { memset(c, 0, sizeof *c); }

int cpo_caps_append(cpo_caps *c, int64_t ts, int32_t rank, const char *symbol,
                    const char *name, double market_cap, double price,
                    double supply, double volume_24h)
{
    if (c->n == c->cap) {
        void **arrs[] = {(void **)&c->ts,     (void **)&c->rank,
                         (void **)&c->market_cap, (void **)&c->price,
                         (void **)&c->supply, (void **)&c->volume_24h,
                         (void **)&c->symbol, (void **)&c->name};
        const size_t sizes[] = {8, 4, 8, 8, 8, 8, CPO_CCY_MAX, CPO_SYMBOL_MAX};
        if (grow(arrs, sizes, NARR(arrs), &c->cap, c->n + 1))
            return CPO_ENOMEM;
    }
    size_t i = c->n++;
    c->ts[i] = ts;
    c->rank[i] = rank;
    c->market_cap[i] = market_cap;
    c->price[i] = price;
    c->supply[i] = supply;
    c->volume_24h[i] = volume_24h;
    memset(c->symbol[i], 0, CPO_CCY_MAX);
    memset(c->name[i], 0, CPO_SYMBOL_MAX);
    if (symbol)
        strncpy(c->symbol[i], symbol, CPO_CCY_MAX - 1);
    if (name)
        strncpy(c->name[i], name, CPO_SYMBOL_MAX - 1);
    return 0;
}

void cpo_caps_fini(cpo_caps *c)
{
    if (!c)
        return;
    free(c->ts);
    free(c->rank);
    free(c->market_cap);
    free(c->price);
    free(c->supply);
    free(c->volume_24h);
    free(c->symbol);
    free(c->name);
    memset(c, 0, sizeof *c);
}

/* --- dataset ------------------------------------------------------------ */

int cpo_dataset_new(cpo_dataset **out, cpo_error *err)
{
    cpo_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    cpo_caps_init(&ds->caps);
    *out = ds;
    return 0;
}

void cpo_dataset_free(cpo_dataset *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < ds->n_instr; i++) {
        cpo_bars_fini(&ds->bars[i]);
        cpo_funding_fini(&ds->funding[i]);
    }
    free(ds->instr);
    free(ds->bars);
    free(ds->funding);
    for (size_t i = 0; i < ds->n_chains; i++)
        cpo_chain_fini(&ds->chains[i]);
    free(ds->chains);
    for (size_t i = 0; i < ds->n_iv; i++)
        cpo_ivindex_fini(&ds->iv[i]);
    free(ds->iv);
    cpo_caps_fini(&ds->caps);
    free(ds->prov);
    free(ds);
}

long cpo_dataset_find(const cpo_dataset *ds, const char *symbol)
{
    for (size_t i = 0; i < ds->n_instr; i++)
        if (!strcmp(ds->instr[i].symbol, symbol))
            return (long)i;
    return -1;
}

int cpo_dataset_add(cpo_dataset *ds, const cpo_instrument *in, size_t *idx,
                    cpo_error *err)
{
    long f = cpo_dataset_find(ds, in->symbol);
    if (f >= 0) {
        const cpo_instrument *old = &ds->instr[f];
        if (old->kind != in->kind || old->settle != in->settle)
            return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                 "instrument %s is already in the dataset as %s %s "
                                 "(expected the same kind and settlement, got %s %s)",
                                 in->symbol, cpo_settle_name(old->settle),
                                 cpo_kind_name(old->kind), cpo_settle_name(in->settle),
                                 cpo_kind_name(in->kind));
        if (old->kind == CPO_KIND_FUTURE &&
            (old->expiry_ms != in->expiry_ms || old->contract_size != in->contract_size)) {
            char a[40], b[40];
            cpo_time_format(old->expiry_ms, a, sizeof a);
            cpo_time_format(in->expiry_ms, b, sizeof b);
            return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                                 "future %s is already in the dataset expiring %s, %.10g a "
                                 "contract (expected the same expiry and contract size, got %s, "
                                 "%.10g)",
                                 in->symbol, a, old->contract_size, b, in->contract_size);
        }
        if (idx)
            *idx = (size_t)f;
        return 0;
    }
    if (ds->n_instr == ds->cap_instr) {
        size_t nc = ds->cap_instr ? ds->cap_instr * 2 : 8;
        cpo_instrument *ni = realloc(ds->instr, nc * sizeof *ni);
        if (!ni)
            goto nomem;
        ds->instr = ni;
        cpo_bars *nb = realloc(ds->bars, nc * sizeof *nb);
        if (!nb)
            goto nomem;
        ds->bars = nb;
        cpo_funding *nf = realloc(ds->funding, nc * sizeof *nf);
        if (!nf)
            goto nomem;
        ds->funding = nf;
        ds->cap_instr = nc;
    }
    size_t i = ds->n_instr++;
    ds->instr[i] = *in;
    cpo_bars_init(&ds->bars[i]);
    cpo_funding_init(&ds->funding[i]);
    if (idx)
        *idx = i;
    return 0;
nomem:
    return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
}

int cpo_dataset_chain(cpo_dataset *ds, const char *underlying, cpo_chain **out,
                      cpo_error *err)
{
    for (size_t i = 0; i < ds->n_chains; i++)
        if (!strcmp(ds->chains[i].underlying, underlying)) {
            *out = &ds->chains[i];
            return 0;
        }
    if (ds->n_chains == ds->cap_chains) {
        size_t nc = ds->cap_chains ? ds->cap_chains * 2 : 4;
        cpo_chain *p = realloc(ds->chains, nc * sizeof *p);
        if (!p)
            return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        ds->chains = p;
        ds->cap_chains = nc;
    }
    cpo_chain *c = &ds->chains[ds->n_chains++];
    cpo_chain_init(c, underlying);
    *out = c;
    return 0;
}

int cpo_dataset_ivindex(cpo_dataset *ds, const char *name, cpo_ivindex **out,
                        cpo_error *err)
{
    for (size_t i = 0; i < ds->n_iv; i++)
        if (!strcmp(ds->iv[i].name, name)) {
            *out = &ds->iv[i];
            return 0;
        }
    if (ds->n_iv == ds->cap_iv) {
        size_t nc = ds->cap_iv ? ds->cap_iv * 2 : 4;
        cpo_ivindex *p = realloc(ds->iv, nc * sizeof *p);
        if (!p)
            return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        ds->iv = p;
        ds->cap_iv = nc;
    }
    cpo_ivindex *v = &ds->iv[ds->n_iv++];
    cpo_ivindex_init(v, name);
    *out = v;
    return 0;
}

int cpo_dataset_add_provenance(cpo_dataset *ds, const cpo_provenance *p,
                               cpo_error *err)
{
    if (ds->n_prov == ds->cap_prov) {
        size_t nc = ds->cap_prov ? ds->cap_prov * 2 : 8;
        cpo_provenance *np = realloc(ds->prov, nc * sizeof *np);
        if (!np)
            return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        ds->prov = np;
        ds->cap_prov = nc;
    }
    ds->prov[ds->n_prov++] = *p;
    return 0;
}
