/*
 * read_index.c - index readers: Deribit DVOL (CSV daily OHLC or a JSON
 * array of [ms, close]) into CPO_STAGE_IV, and CoinMarketCap monthly
 * snapshots into CPO_STAGE_CAPS.
 */
#include "read_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_TRY(expr)                                                                \
    do {                                                                             \
        int r_ = (expr);                                                             \
        if (r_ > 0)                                                                  \
            c->rep->dropped++;                                                       \
        if (r_)                                                                      \
            return r_ < 0 ? r_ : 0;                                                  \
    } while (0)

#define ROW_DROPPED "; row dropped"

static size_t need_of(const int *ix, size_t n)
{
    int m = -1;
    for (size_t k = 0; k < n; k++)
        if (ix[k] > m)
            m = ix[k];
    return (size_t)(m + 1);
}

static int check_rows(cpo_import_ctx *c, int header_done, size_t staged)
{
    if (!header_done)
        return cpo_import_fail(c, CPO_EFORMAT, 0, 0, "file is empty (expected a header line)");
    return cpo_read_no_rows(c, staged);
}

static int field_text(const cpo_csv_row *row, int col, const char **s)
{
    *s = row->f[col];
    return (int)(row->len[col] > 40 ? 40 : row->len[col]);
}

/* --- DVOL ---------------------------------------------------------------------- */

enum { DV_TIME, DV_DATE, DV_OPEN, DV_HIGH, DV_LOW, DV_CLOSE, DV_NCOL };

typedef struct dvol_rd {
    cpo_import_ctx *c;
    int header_done;
    int ix[DV_NCOL];
    size_t need;
    char tname[32]; /* the time and date columns' names as the header spells them */
    char dname[32];
} dvol_rd;

static const char *const dvol_names[DV_NCOL] = {"timestamp_ms", "iso_date", "open",
                                                "high",         "low",      "close"};

static void set_iv_stage(cpo_import_ctx *c)
{
    const char *name = c->o->name && *c->o->name ? c->o->name : "BTC-DVOL";
    snprintf(c->iv.name, sizeof c->iv.name, "%s", name);
    c->stage = CPO_STAGE_IV;
}

static int dvol_header(dvol_rd *st, const cpo_csv_row *hdr)
{
    cpo_import_ctx *c = st->c;
    static const char *const names[DV_NCOL] = {"timestamp_ms|timestamp", "iso_date|date",
                                               "open", "high", "low", "close"};
    static const int req[DV_NCOL] = {1, 0, 0, 0, 0, 1};
    int rc = cpo_csv_map(hdr, c->path, names, req, DV_NCOL, st->ix, c->err);
    c->header_fields = hdr->n;
    if (rc)
        return rc;
    st->need = need_of(st->ix, DV_NCOL);
    cpo_copy_text(st->tname, sizeof st->tname, hdr->f[st->ix[DV_TIME]],
                  hdr->len[st->ix[DV_TIME]]);
    if (st->ix[DV_DATE] >= 0)
        cpo_copy_text(st->dname, sizeof st->dname, hdr->f[st->ix[DV_DATE]],
                      hdr->len[st->ix[DV_DATE]]);
    c->col_ts = st->ix[DV_TIME] + 1;
    c->col_open = st->ix[DV_OPEN] + 1;
    c->col_high = st->ix[DV_HIGH] + 1;
    c->col_low = st->ix[DV_LOW] + 1;
    c->col_close = st->ix[DV_CLOSE] + 1;
    st->header_done = 1;
    return 0;
}

/* iso_date must be the UTC date of timestamp_ms: warn (the time stamp
 * wins) when it is not, refuse text that is no date at all. */
static int dvol_date(const dvol_rd *st, const cpo_csv_row *row, int col, int64_t ts)
{
    cpo_import_ctx *c = st->c;
    const char *s;
    int n = field_text(row, col, &s);
    if (cpo_field_blank(row->f[col], row->len[col]))
        return 0;
    int64_t d;
    if (cpo_time_parse(row->f[col], row->len[col], &d, NULL, NULL))
        return cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                                "%s \"%.*s\" is not a time (expected an ISO 8601 date or "
                                "date-time)",
                                st->dname, n, s);
    int64_t day_ts = ts - ((ts % CPO_MS_DAY) + CPO_MS_DAY) % CPO_MS_DAY;
    int64_t day_d = d - ((d % CPO_MS_DAY) + CPO_MS_DAY) % CPO_MS_DAY;
    if (day_ts != day_d) {
        char want[16];
        cpo_time_format_date(ts, want, sizeof want);
        cpo_import_note(c, CPO_ISSUE_WARNING, CPO_EDATA, row->line, col + 1,
                        "%s \"%.*s\" is not the UTC date of %s (expected %s); the time stamp "
                        "is used",
                        st->dname, n, s, st->tname, want);
    }
    return 0;
}

static int on_dvol(void *ud, const cpo_csv_row *row)
{
    dvol_rd *st = ud;
    cpo_import_ctx *c = st->c;
    if (!st->header_done)
        return dvol_header(st, row);
    c->rep->rows_read++;
    ROW_TRY(cpo_import_width(c, row, st->need));
    int64_t ts;
    double v[DV_NCOL];
    ROW_TRY(cpo_import_time(c, row, st->ix[DV_TIME], st->tname, CPO_TS_AUTO, &ts));
    if (st->ix[DV_DATE] >= 0)
        ROW_TRY(dvol_date(st, row, st->ix[DV_DATE], ts));
    for (int k = DV_OPEN; k <= DV_CLOSE; k++) {
        int col = st->ix[k];
        v[k] = NAN;
        if (col < 0)
            continue;
        ROW_TRY(cpo_import_f64(c, row, col, dvol_names[k], k != DV_CLOSE, &v[k]));
        if (!isnan(v[k]) && v[k] <= 0) {
            const char *s;
            int n = field_text(row, col, &s);
            ROW_TRY(cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                                     "%s \"%.*s\" is not positive (expected vol points > 0)",
                                     dvol_names[k], n, s));
        }
    }
    if (cpo_ivindex_append(&c->iv, ts, v[DV_OPEN], v[DV_HIGH], v[DV_LOW], v[DV_CLOSE]))
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    return cpo_import_push_line(c, row->line);
}

/* One [ms, close] element; 0, or the helper convention. */
static int dvol_element(cpo_import_ctx *c, const cpo_json_doc *d, size_t i)
{
    const json_t *e = json_array_get(d->root, i);
    if (!json_is_array(e))
        return cpo_json_problem(c, d, i, CPO_EDATA, "value is %s (expected [ms, close])",
                                cpo_json_type_name(e));
    if (json_array_size(e) != 2)
        return cpo_json_problem(c, d, i, CPO_EDATA, "array has %zu item%s (expected [ms, close])",
                                json_array_size(e), json_array_size(e) == 1 ? "" : "s");
    const json_t *jt = json_array_get(e, 0), *jv = json_array_get(e, 1);
    int64_t ts;
    double v;
    int rc = cpo_json_ms(c, d, i, jt, "time", &ts);
    if (!rc)
        rc = cpo_json_f64(c, d, i, jv, "close", &v);
    if (rc)
        return rc;
    if (!(v > 0))
        return cpo_json_problem(c, d, i, CPO_EDATA,
                                "close %.17g is not positive (expected vol points > 0)", v);
    if (cpo_ivindex_append(&c->iv, ts, NAN, NAN, NAN, v))
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    return cpo_import_push_line(c, d->line[i]);
}

static int dvol_json(cpo_import_ctx *c)
{
    cpo_json_doc d;
    int rc = cpo_json_load_array(c, &d);
    if (rc)
        return rc;
    for (size_t i = 0; i < d.n; i++) {
        c->rep->rows_read++;
        int r = dvol_element(c, &d, i);
        if (r > 0)
            c->rep->dropped++;
        if (r < 0) {
            rc = r;
            goto cleanup;
        }
    }
    if (c->iv.n == 0) {
        rc = d.n == 0 ? cpo_import_fail(c, CPO_EDATA, 0, 0,
                                        "the array is empty (expected at least one element)")
                      : cpo_read_no_rows(c, 0);
        goto cleanup;
    }
    set_iv_stage(c);
cleanup:
    cpo_json_doc_fini(&d);
    return rc;
}

int cpo_read_dvol(cpo_import_ctx *c)
{
    if (cpo_looks_like_json(c->path))
        return dvol_json(c);
    dvol_rd st;
    memset(&st, 0, sizeof st);
    st.c = c;
    int rc = cpo_csv_read(c->path, on_dvol, &st, c->err);
    if (rc)
        return rc;
    rc = check_rows(c, st.header_done, c->iv.n);
    if (rc)
        return rc;
    set_iv_stage(c);
    return 0;
}

/* --- CoinMarketCap --------------------------------------------------------------- */

enum { CM_RANK, CM_NAME, CM_SYMBOL, CM_MCAP, CM_PRICE, CM_SUPPLY, CM_VOLUME, CM_DATE, CM_NCOL };

static const char *const cmc_names[CM_NCOL] = {
    "Rank", "Name", "Symbol", "Market Cap", "Price", "Circulating Supply", "Volume (24h)",
    "snapshot_date"};

typedef struct cmc_rd {
    cpo_import_ctx *c;
    int header_done;
    int ix[CM_NCOL];
    size_t need;
    size_t zero_price;      /* rows whose Price is 0 (kept as NaN) */
    long zero_line;         /* the first of them */
    char zero_sym[CPO_CCY_MAX];
} cmc_rd;

static int cmc_header(cmc_rd *st, const cpo_csv_row *hdr)
{
    cpo_import_ctx *c = st->c;
    static const int req[CM_NCOL] = {1, 1, 1, 1, 1, 0, 0, 1};
    int rc = cpo_csv_map(hdr, c->path, cmc_names, req, CM_NCOL, st->ix, c->err);
    c->header_fields = hdr->n;
    if (rc)
        return rc;
    st->need = need_of(st->ix, CM_NCOL);
    c->col_ts = st->ix[CM_DATE] + 1;
    st->header_done = 1;
    return 0;
}

static int cmc_rank(cpo_import_ctx *c, const cpo_csv_row *row, int col, int32_t *out)
{
    int64_t v;
    const char *s;
    int n = field_text(row, col, &s);
    if (cpo_field_blank(row->f[col], row->len[col]))
        return cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                                "Rank is empty (expected a whole number >= 1)");
    if (cpo_parse_i64(row->f[col], row->len[col], &v) || v < 1 || v > INT32_MAX)
        return cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                                "Rank \"%.*s\" is not a rank (expected a whole number >= 1)", n,
                                s);
    *out = (int32_t)v;
    return 0;
}

/* Name and Symbol: not blank; a Name too long for the store is cut (with
 * a warning), a Symbol too long is refused (it is part of the key). */
static int cmc_text(cpo_import_ctx *c, const cpo_csv_row *row, int col, const char *name,
                    char *dst, size_t cap, int may_cut)
{
    const char *s = row->f[col];
    size_t n = row->len[col];
    if (cpo_field_blank(s, n))
        return cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                                "%s is empty (expected text)", name);
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= cap && !may_cut)
        return cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                                "%s \"%.40s\" is too long (expected at most %zu bytes)", name, s,
                                cap - 1);
    if (cpo_copy_text(dst, cap, s, n))
        cpo_import_note(c, CPO_ISSUE_WARNING, CPO_EDATA, row->line, col + 1,
                        "%s \"%.60s\" is longer than %zu bytes; stored as \"%s\"", name, s,
                        cap - 1, dst);
    return 0;
}

static int on_cmc(void *ud, const cpo_csv_row *row)
{
    cmc_rd *st = ud;
    cpo_import_ctx *c = st->c;
    if (!st->header_done)
        return cmc_header(st, row);
    c->rep->rows_read++;
    ROW_TRY(cpo_import_width(c, row, st->need));
    int64_t ts;
    int32_t rank = 0;
    char sym[CPO_CCY_MAX], name[CPO_SYMBOL_MAX];
    double v[CM_NCOL];
    ROW_TRY(cpo_import_time(c, row, st->ix[CM_DATE], "snapshot_date", CPO_TS_ISO, &ts));
    ROW_TRY(cmc_rank(c, row, st->ix[CM_RANK], &rank));
    ROW_TRY(cmc_text(c, row, st->ix[CM_NAME], "Name", name, sizeof name, 1));
    ROW_TRY(cmc_text(c, row, st->ix[CM_SYMBOL], "Symbol", sym, sizeof sym, 0));
    for (int k = CM_MCAP; k <= CM_VOLUME; k++) {
        int col = st->ix[k];
        v[k] = NAN;
        if (col < 0)
            continue;
        /* Market Cap and Price are required; Supply and Volume may be blank */
        ROW_TRY(cpo_import_f64(c, row, col, cmc_names[k], k >= CM_SUPPLY, &v[k]));
        const char *s;
        int n = field_text(row, col, &s);
        if (k == CM_MCAP && !(v[k] > 0))
            ROW_TRY(cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                                     "Market Cap \"%.*s\" is not positive (expected USD > 0)", n,
                                     s));
        if (v[k] < 0)
            ROW_TRY(cpo_read_problem(c, CPO_EDATA, row->line, col + 1, ROW_DROPPED,
                                     "%s \"%.*s\" is negative (expected a number >= 0)",
                                     cmc_names[k], n, s));
    }
    if (v[CM_PRICE] == 0) {
        /* CMC prints prices below its precision as 0.0 (Baby Doge Coin):
         * missing, not free. */
        v[CM_PRICE] = NAN;
        if (!st->zero_price++) {
            st->zero_line = row->line;
            memcpy(st->zero_sym, sym, sizeof sym);
        }
    }
    if (cpo_caps_append(&c->caps, ts, rank, sym, name, v[CM_MCAP], v[CM_PRICE], v[CM_SUPPLY],
                        v[CM_VOLUME]))
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    return cpo_import_push_line(c, row->line);
}

int cpo_read_cmc(cpo_import_ctx *c)
{
    cmc_rd st;
    memset(&st, 0, sizeof st);
    st.c = c;
    int rc = cpo_csv_read(c->path, on_cmc, &st, c->err);
    if (rc)
        return rc;
    rc = check_rows(c, st.header_done, c->caps.n);
    if (rc)
        return rc;
    if (st.zero_price)
        cpo_import_note(c, CPO_ISSUE_WARNING, CPO_EDATA, st.zero_line,
                        st.ix[CM_PRICE] + 1,
                        "Price is 0 in %zu row%s, the first for %s (expected a positive price; "
                        "stored as missing)",
                        st.zero_price, st.zero_price == 1 ? "" : "s", st.zero_sym);
    c->stage = CPO_STAGE_CAPS;
    return 0;
}
