/*
 * check_optstages.c - the option stages (strategies/opt_stages.c) driven
 * through a fake host: a cpo_host table of this file's functions over a
 * hand-built view (instruments, one chain snapshot, option positions, a
 * coin delta), so that every expected strike, expiry, quantity and hedge
 * is a hand calculation written next to its assertion.
 *
 * The fake host's option_quote answers from a table of hand-chosen Black
 * deltas (quote.usd.delta) per option; an option not in the table has no
 * price (CPO_ENOTFOUND), as the engine's has none before a snapshot.
 */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/config.h"
#include "cpo/dataset.h"
#include "cpo/market.h"
#include "cpo/registry.h"
#include "cpo/run.h"
#include "cpo/stage.h"
#include "cpo/time.h"
#include "params.h"
#include "testutil.h"

#define D CPO_MS_DAY
#define H CPO_MS_HOUR
#define T0 INT64_C(1767600000000) /* 2026-01-05T08:00:00Z */
#define MAX_INSTR 4
#define MAX_QUOTES 32
#define MAX_POS 8
#define CAP_OPT 16

/* --- the fake host -------------------------------------------------------- */

typedef struct fake_quote {
    int64_t expiry_ms;
    double strike;
    int right;
    double delta;         /* usd.delta (Black delta, signed) */
    double delta_account; /* coin.delta_account */
} fake_quote;

struct cpo_view {
    int64_t now, bar;
    size_t n;
    cpo_instrument in[MAX_INSTR];
    double close[MAX_INSTR], mark[MAX_INSTR], pos[MAX_INSTR];
    double equity;
    cpo_chain ch;
    int have_chain;
    double index, fwd;   /* quote.index, quote.fwd */
    fake_quote q[MAX_QUOTES];
    size_t n_q;
    cpo_option_pos op[MAX_POS];
    size_t n_op;
    double coin_delta;
    uint32_t stage;
};

static size_t f_step(const cpo_view *v) { (void)v; return 0; }
static int64_t f_now(const cpo_view *v) { return v->now; }
static int64_t f_bar_ms(const cpo_view *v) { return v->bar; }
static size_t f_n_instr(const cpo_view *v) { return v->n; }

static const cpo_instrument *f_instrument(const cpo_view *v, size_t i)
{
    return i < v->n ? &v->in[i] : NULL;
}

static long f_find(const cpo_view *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->in[i].symbol, s))
            return (long)i;
    return -1;
}

/* One step of history: the value of the current step. */
static const double *f_series(const cpo_view *v, cpo_field f, size_t i, size_t *len)
{
    *len = 0;
    if (i >= v->n)
        return NULL;
    *len = 1;
    if (f == CPO_F_MARK)
        return &v->mark[i];
    return &v->close[i];
}

static const int64_t *f_times(const cpo_view *v, size_t *len)
{
    *len = 1;
    return &v->now;
}

static size_t f_funding(const cpo_view *v, size_t i, const int64_t **ts, const double **rate)
{
    (void)v, (void)i;
    *ts = NULL;
    *rate = NULL;
    return 0;
}

static double f_equity(const cpo_view *v) { return v->equity; }
static double f_position(const cpo_view *v, size_t i) { return i < v->n ? v->pos[i] : NAN; }
static double f_weight(const cpo_view *v, size_t i) { (void)v, (void)i; return NAN; }
static double f_target(const cpo_view *v, size_t i) { (void)v, (void)i; return NAN; }

static int f_chain(const cpo_view *v, const char *und, const cpo_chain **ch, size_t *b, size_t *e)
{
    if (!v->have_chain || strcmp(und, v->ch.underlying))
        return CPO_ENOTFOUND;
    *ch = &v->ch;
    *b = 0;
    *e = v->ch.n;
    return 0;
}

static int f_quote(const cpo_view *v, const cpo_option_key *k, cpo_option_quote *out)
{
    memset(out, 0, sizeof *out);
    out->source = CPO_OPT_SRC_NONE;
    for (size_t j = 0; j < v->n_q; j++) {
        const fake_quote *q = &v->q[j];
        if (q->expiry_ms == k->expiry_ms && q->strike == k->strike && q->right == k->right) {
            out->source = CPO_OPT_SRC_SURFACE;
            out->index = v->index;
            out->fwd = v->fwd;
            out->usd.delta = q->delta;
            out->coin.delta_account = q->delta_account;
            return 0;
        }
    }
    return CPO_ENOTFOUND;
}

static size_t f_positions(const cpo_view *v, const cpo_option_pos **pos)
{
    *pos = v->op;
    return v->n_op;
}

static double f_coin_delta(const cpo_view *v, const char *und)
{
    (void)und;
    return v->coin_delta;
}

static int f_target_opt(const cpo_view *v, cpo_stage_io *io, const cpo_option_key *k, double qty)
{
    (void)v;
    for (size_t j = 0; j < io->n_opt; j++)
        if (io->opt[j].key.expiry_ms == k->expiry_ms && io->opt[j].key.strike == k->strike &&
            io->opt[j].key.right == k->right) {
            io->opt[j].qty = qty;
            return 0;
        }
    if (io->n_opt == io->cap_opt)
        return CPO_ERANGE;
    io->opt[io->n_opt].key = *k;
    io->opt[io->n_opt].qty = qty;
    io->n_opt++;
    return 0;
}

static uint32_t f_stage_index(const cpo_view *v) { return v->stage; }

static cpo_host fake_host(void)
{
    cpo_host h;
    memset(&h, 0, sizeof h);
    h.abi_version = CPO_STAGE_ABI_VERSION;
    h.struct_size = sizeof h;
    h.step = f_step;
    h.now = f_now;
    h.bar_ms = f_bar_ms;
    h.n_instr = f_n_instr;
    h.instrument = f_instrument;
    h.find = f_find;
    h.series = f_series;
    h.times = f_times;
    h.funding = f_funding;
    h.equity = f_equity;
    h.position = f_position;
    h.weight = f_weight;
    h.target = f_target;
    h.param_int = cpo_params_int;
    h.param_real = cpo_params_real;
    h.param_str = cpo_params_str;
    h.param_count = cpo_params_count;
    h.param_item = cpo_params_item;
    h.chain = f_chain;
    h.option_quote = f_quote;
    h.option_positions = f_positions;
    h.coin_delta = f_coin_delta;
    h.option_target = f_target_opt;
    h.stage_index = f_stage_index;
    return h;
}

/* --- building a view ------------------------------------------------------ */

static void add_instr(cpo_view *v, const char *sym, const char *base, cpo_kind kind,
                      cpo_settle settle, double cs, double close, double pos)
{
    ck_assert_uint_lt(v->n, MAX_INSTR);
    cpo_instrument *in = &v->in[v->n];
    cpo_instrument_init(in, sym, kind, settle);
    snprintf(in->base, sizeof in->base, "%s", base);
    in->contract_size = cs;
    v->close[v->n] = close;
    v->mark[v->n] = NAN;
    v->pos[v->n] = pos;
    v->n++;
}

static void view_init(cpo_view *v)
{
    memset(v, 0, sizeof *v);
    v->now = T0;
    v->bar = H;
    v->equity = 1e6;
    v->index = 100000.0;
    v->fwd = 100000.0;
    cpo_chain_init(&v->ch, "BTC");
    v->have_chain = 1;
}

static void view_fini(cpo_view *v)
{
    cpo_chain_fini(&v->ch);
}

/* A chain row of the snapshot taken an hour before T0; col_delta is the
 * row's own delta column (NaN: none). */
static void add_row(cpo_view *v, int64_t expiry, double strike, int right, double col_delta)
{
    size_t r;
    ck_assert_int_eq(cpo_chain_append_row(&v->ch, &r), 0);
    v->ch.ts[r] = T0 - H;
    v->ch.expiry_ms[r] = expiry;
    v->ch.strike[r] = strike;
    v->ch.right[r] = (int8_t)right;
    v->ch.delta[r] = col_delta;
    v->ch.index_px[r] = 99000.0;
    v->ch.fwd_px[r] = 99500.0;
    v->ch.mark_px[r] = 0.01;
}

static void add_quote(cpo_view *v, int64_t expiry, double strike, int right, double delta,
                      double delta_account)
{
    ck_assert_uint_lt(v->n_q, MAX_QUOTES);
    v->q[v->n_q++] = (fake_quote){expiry, strike, right, delta, delta_account};
}

/* A row and its quote. */
static void add_opt(cpo_view *v, int64_t expiry, double strike, int right, double delta)
{
    add_row(v, expiry, strike, right, NAN);
    add_quote(v, expiry, strike, right, delta, 0.0);
}

/* --- running a stage -------------------------------------------------------- */

typedef struct bench {
    cpo_host h;
    const cpo_stage_def *def;
    cpo_params *p;
    void *state;
    cpo_stage_io io;
    uint8_t sel[MAX_INSTR];
    double w[MAX_INSTR], q[MAX_INSTR];
    cpo_option_target opt[CAP_OPT];
} bench;

static const cpo_stage_def *find_stage(cpo_stage_role role, const char *name)
{
    /* The registry holds the stages as every run sees them. */
    cpo_registry *reg = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_registry_new(&reg, &e), 0);
    const cpo_stage_def *d = cpo_registry_find(reg, role, name);
    ck_assert_msg(d != NULL, "stage %s is not registered", name);
    cpo_registry_free(reg); /* built-in tables are static */
    return d;
}

/* kv: "key=value" pairs, NULL-terminated. */
static int bench_init(bench *b, cpo_view *v, cpo_stage_role role, const char *name,
                      const char *const *kv, cpo_error *err)
{
    memset(b, 0, sizeof *b);
    b->h = fake_host();
    b->def = find_stage(role, name);
    ck_assert_int_eq(cpo_params_new(&b->p, b->def, err), 0);
    for (size_t k = 0; kv && kv[k]; k++) {
        char key[64], why[256];
        const char *eq = strchr(kv[k], '=');
        ck_assert_ptr_nonnull(eq);
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv[k]), kv[k]);
        ck_assert_msg(cpo_params_set(b->p, key, eq + 1, why, sizeof why) == 0, "%s: %s", kv[k],
                      why);
    }
    const char *missing = NULL;
    ck_assert_int_eq(cpo_params_finish(b->p, &missing), 0);
    return b->def->init(&b->state, b->p, &b->h, v, err);
}

static void io_reset(bench *b, const cpo_view *v)
{
    b->io.n = v->n;
    b->io.fire = 1;
    b->io.selected = b->sel;
    b->io.weight = b->w;
    b->io.qty = b->q;
    b->io.opt = b->opt;
    b->io.n_opt = 0;
    b->io.cap_opt = CAP_OPT;
    for (size_t i = 0; i < MAX_INSTR; i++) {
        b->sel[i] = 1;
        b->w[i] = NAN;
        b->q[i] = NAN;
    }
}

static void bench_run(bench *b, cpo_view *v)
{
    cpo_error e;
    cpo_error_clear(&e);
    io_reset(b, v);
    int rc = b->def->run(b->state, b->p, &b->h, v, &b->io, &e);
    ck_assert_msg(rc == 0, "%s", tu_errstr(&e));
}

static void bench_fini(bench *b)
{
    if (b->def && b->def->fini)
        b->def->fini(b->state);
    cpo_params_free(b->p);
}

/* The book fills every target of the last run (tag = the view's stage). */
static void fill_targets(cpo_view *v, const bench *b)
{
    for (size_t k = 0; k < b->io.n_opt; k++) {
        const cpo_option_target *t = &b->io.opt[k];
        size_t j = 0;
        while (j < v->n_op && !(v->op[j].key.expiry_ms == t->key.expiry_ms &&
                                v->op[j].key.strike == t->key.strike &&
                                v->op[j].key.right == t->key.right))
            j++;
        if (j == v->n_op) {
            ck_assert_uint_lt(v->n_op, MAX_POS);
            memset(&v->op[j], 0, sizeof v->op[j]);
            v->op[j].key = t->key;
            v->op[j].tag = v->stage;
            v->n_op++;
        }
        v->op[j].qty = t->qty;
    }
    /* Closed positions leave the book. */
    size_t w = 0;
    for (size_t j = 0; j < v->n_op; j++)
        if (v->op[j].qty != 0.0)
            v->op[w++] = v->op[j];
    v->n_op = w;
}

static const cpo_option_target *target_of(const bench *b, int64_t expiry, double strike,
                                          int right)
{
    for (size_t k = 0; k < b->io.n_opt; k++)
        if (b->io.opt[k].key.expiry_ms == expiry && b->io.opt[k].key.strike == strike &&
            b->io.opt[k].key.right == right)
            return &b->io.opt[k];
    return NULL;
}

static void expect_target(const bench *b, int64_t expiry, double strike, int right, double qty)
{
    const cpo_option_target *t = target_of(b, expiry, strike, right);
    char when[40];
    cpo_time_format(expiry, when, sizeof when);
    ck_assert_msg(t != NULL, "no target for %s %.0f %s", when, strike,
                  right == CPO_RIGHT_CALL ? "call" : "put");
    ck_assert_str_eq(t->key.underlying, "BTC");
    ck_assert_msg(fabs(t->qty - qty) <= 1e-12 * fmax(1.0, fabs(qty)),
                  "%s %.0f: qty %.17g, expected %.17g", when, strike, t->qty, qty);
}

/* --- strangle: strikes ----------------------------------------------------- */

/* One expiry 7 days out: calls and puts with hand-chosen quote deltas; the
 * rows' own delta columns say otherwise (0.25 exactly at 115000 and
 * -0.25 at 85000) to show that the book's valuation wins. */
static void strike_chain(cpo_view *v, int64_t ex)
{
    add_opt(v, ex, 100000, CPO_RIGHT_CALL, 0.52);
    add_opt(v, ex, 105000, CPO_RIGHT_CALL, 0.38);
    add_opt(v, ex, 110000, CPO_RIGHT_CALL, 0.27);
    add_opt(v, ex, 115000, CPO_RIGHT_CALL, 0.16);
    add_opt(v, ex, 100000, CPO_RIGHT_PUT, -0.48);
    add_opt(v, ex, 95000, CPO_RIGHT_PUT, -0.33);
    add_opt(v, ex, 90000, CPO_RIGHT_PUT, -0.22);
    add_opt(v, ex, 85000, CPO_RIGHT_PUT, -0.12);
    v->ch.delta[3] = 0.25;
    v->ch.delta[7] = -0.25;
}

START_TEST(test_strangle__strike_closest_to_delta)
{
    cpo_view v;
    view_init(&v);
    int64_t ex = T0 + 7 * D;
    strike_chain(&v, ex);
    v.equity = 2e6;
    bench b;
    cpo_error e;
    const char *kv[] = {"size=0.5", NULL};
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "strangle", kv, &e), 0);
    bench_run(&b, &v);
    /* |0.27 - 0.25| = 0.02 is the smallest call gap (0.13, 0.09 the
     * neighbours'); 0.25 - |-0.22| = 0.03 the smallest put gap (0.08,
     * 0.13).  qty = size x equity / I = 0.5 x 2e6 / 1e5 = 10, short. */
    ck_assert_uint_eq(b.io.n_opt, 2);
    expect_target(&b, ex, 110000, CPO_RIGHT_CALL, -10.0);
    expect_target(&b, ex, 90000, CPO_RIGHT_PUT, -10.0);
    /* A weigh stage of options leaves the instruments' weights alone. */
    for (size_t i = 0; i < MAX_INSTR; i++)
        ck_assert(isnan(b.w[i]) && isnan(b.q[i]));
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

START_TEST(test_strangle__row_delta_when_no_quote)
{
    /* No quotes at all: the rows' delta columns decide.  Calls 0.40, 0.24,
     * 0.11 -> 105000 (gap 0.01); puts -0.36, -0.26, -0.10 -> 95000. */
    cpo_view v;
    view_init(&v);
    int64_t ex = T0 + 7 * D;
    add_row(&v, ex, 100000, CPO_RIGHT_CALL, 0.40);
    add_row(&v, ex, 105000, CPO_RIGHT_CALL, 0.24);
    add_row(&v, ex, 110000, CPO_RIGHT_CALL, 0.11);
    add_row(&v, ex, 97000, CPO_RIGHT_PUT, -0.36);
    add_row(&v, ex, 95000, CPO_RIGHT_PUT, -0.26);
    add_row(&v, ex, 90000, CPO_RIGHT_PUT, -0.10);
    add_row(&v, ex, 80000, CPO_RIGHT_PUT, NAN); /* no delta: never chosen */
    bench b;
    cpo_error e;
    const char *kv[] = {"side=buy", NULL};
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "strangle", kv, &e), 0);
    bench_run(&b, &v);
    /* No quote, so I is the rows' index_px 99000: qty = 1 x 1e6 / 99000,
     * long (side = buy). */
    ck_assert_uint_eq(b.io.n_opt, 2);
    expect_target(&b, ex, 105000, CPO_RIGHT_CALL, 1e6 / 99000.0);
    expect_target(&b, ex, 95000, CPO_RIGHT_PUT, 1e6 / 99000.0);
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

START_TEST(test_strangle__tie_goes_further_out)
{
    /* Deltas 0.375 and 0.125 (exact in binary) are both 0.125 from 0.25:
     * the further out of the money wins, 110000 for calls, 90000 for
     * puts. */
    cpo_view v;
    view_init(&v);
    int64_t ex = T0 + 7 * D;
    add_opt(&v, ex, 105000, CPO_RIGHT_CALL, 0.375);
    add_opt(&v, ex, 110000, CPO_RIGHT_CALL, 0.125);
    add_opt(&v, ex, 90000, CPO_RIGHT_PUT, -0.125);
    add_opt(&v, ex, 95000, CPO_RIGHT_PUT, -0.375);
    bench b;
    cpo_error e;
    const char *kv[] = {"contracts=3", NULL};
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "strangle", kv, &e), 0);
    bench_run(&b, &v);
    /* contracts = 3 overrides size. */
    ck_assert_uint_eq(b.io.n_opt, 2);
    expect_target(&b, ex, 110000, CPO_RIGHT_CALL, -3.0);
    expect_target(&b, ex, 90000, CPO_RIGHT_PUT, -3.0);
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

START_TEST(test_strangle__out_of_the_money_only)
{
    /* F = 100000 (the quotes' fwd).  The put at 105000 and the call at
     * 95000 are in the money: their deltas (-0.26, 0.24) are the closest
     * to 0.25 but they are skipped; of the rest, call 100000 (0.30, gap
     * 0.05; K = F counts as out of the money) and put 95000 (-0.33, gap
     * 0.08). */
    cpo_view v;
    view_init(&v);
    int64_t ex = T0 + 7 * D;
    add_opt(&v, ex, 95000, CPO_RIGHT_CALL, 0.24);
    add_opt(&v, ex, 100000, CPO_RIGHT_CALL, 0.30);
    add_opt(&v, ex, 105000, CPO_RIGHT_CALL, 0.15);
    add_opt(&v, ex, 105000, CPO_RIGHT_PUT, -0.26);
    add_opt(&v, ex, 95000, CPO_RIGHT_PUT, -0.33);
    add_opt(&v, ex, 90000, CPO_RIGHT_PUT, -0.12);
    bench b;
    cpo_error e;
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "strangle", NULL, &e), 0);
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 2);
    expect_target(&b, ex, 100000, CPO_RIGHT_CALL, -10.0);
    expect_target(&b, ex, 95000, CPO_RIGHT_PUT, -10.0);
    bench_fini(&b);
    view_fini(&v);
    /* No put at or below the forward: no leg is opened. */
    view_init(&v);
    add_opt(&v, ex, 105000, CPO_RIGHT_CALL, 0.25);
    add_opt(&v, ex, 105000, CPO_RIGHT_PUT, -0.25);
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "strangle", NULL, &e), 0);
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 0);
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

/* --- strangle: expiries ----------------------------------------------------- */

/* Expiries 12 h, 6 d, 9 d and 30 d out, a call and a put each (column
 * deltas 0.25 / -0.25, strikes 110000 / 90000). */
static void tenor_chain(cpo_view *v)
{
    static const int64_t out[] = {12 * H, 6 * D, 9 * D, 30 * D};
    for (size_t k = 0; k < 4; k++) {
        add_row(v, T0 + out[k], 110000, CPO_RIGHT_CALL, 0.25);
        add_row(v, T0 + out[k], 90000, CPO_RIGHT_PUT, -0.25);
    }
}

static int64_t expiry_chosen(const char *const *kv)
{
    cpo_view v;
    view_init(&v);
    tenor_chain(&v);
    bench b;
    cpo_error e;
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "strangle", kv, &e), 0);
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 2);
    ck_assert_int_eq(b.io.opt[0].key.expiry_ms, b.io.opt[1].key.expiry_ms);
    int64_t ex = b.io.opt[0].key.expiry_ms;
    bench_fini(&b);
    view_fini(&v);
    return ex;
}

START_TEST(test_strangle__expiry_closest_to_tenor)
{
    /* tenor 7d: 6d is 1d away, 9d 2d -> 6d. */
    const char *a[] = {"tenor=7d", NULL};
    ck_assert_int_eq(expiry_chosen(a), T0 + 6 * D);
    /* tenor 8d: 6d is 2d away, 9d 1d -> 9d. */
    const char *b[] = {"tenor=8d", NULL};
    ck_assert_int_eq(expiry_chosen(b), T0 + 9 * D);
    /* tenor 7.5d (180h): 1.5d either way -> the earlier, 6d. */
    const char *c[] = {"tenor=180h", NULL};
    ck_assert_int_eq(expiry_chosen(c), T0 + 6 * D);
    /* tenor 1h: 12h is closest but under min_tenor (1d) -> 6d. */
    const char *d[] = {"tenor=1h", NULL};
    ck_assert_int_eq(expiry_chosen(d), T0 + 6 * D);
    /* min_tenor 6h lets 12h in. */
    const char *f[] = {"tenor=1h", "min_tenor=6h", NULL};
    ck_assert_int_eq(expiry_chosen(f), T0 + 12 * H);
    /* roll = before, roll_before 7d: 6d would roll at once -> 9d. */
    const char *g[] = {"tenor=7d", "roll=before", "roll_before=7d", NULL};
    ck_assert_int_eq(expiry_chosen(g), T0 + 9 * D);
}
END_TEST

START_TEST(test_strangle__no_snapshot_no_target)
{
    cpo_view v;
    view_init(&v);
    v.have_chain = 0; /* host->chain: CPO_ENOTFOUND */
    bench b;
    cpo_error e;
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "strangle", NULL, &e), 0);
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 0);
    /* A snapshot whose only expiry is under min_tenor: nothing either. */
    v.have_chain = 1;
    add_row(&v, T0 + 12 * H, 110000, CPO_RIGHT_CALL, 0.25);
    add_row(&v, T0 + 12 * H, 90000, CPO_RIGHT_PUT, -0.25);
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 0);
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

/* --- strangle: holding and rolling ---------------------------------------- */

/* Two expiries, E1 = T0 + 7d and E2 = T0 + 14d, each with a 0.25-delta
 * call at 110000 and put at 90000 (quotes: I = 100000). */
static void roll_chain(cpo_view *v)
{
    for (int k = 1; k <= 2; k++) {
        add_opt(v, T0 + 7 * k * D, 110000, CPO_RIGHT_CALL, 0.25);
        add_opt(v, T0 + 7 * k * D, 90000, CPO_RIGHT_PUT, -0.25);
    }
}

START_TEST(test_strangle__roll_before)
{
    cpo_view v;
    view_init(&v);
    roll_chain(&v);
    v.stage = 3;
    const int64_t E1 = T0 + 7 * D, E2 = T0 + 14 * D;
    bench b;
    cpo_error e;
    const char *kv[] = {"roll=before", "roll_before=1d", NULL};
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "strangle", kv, &e), 0);
    /* T0: E1 is 7d out (tenor 7d): open it; qty = 1e6 / 1e5 = 10. */
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 2);
    expect_target(&b, E1, 110000, CPO_RIGHT_CALL, -10.0);
    expect_target(&b, E1, 90000, CPO_RIGHT_PUT, -10.0);
    fill_targets(&v, &b);
    /* Held, 25h before E1 (not under 1d): nothing to do, and no resizing
     * although equity moved. */
    v.now = E1 - 25 * H;
    v.equity = 3e6;
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 0);
    /* 23h before E1 (under 1d): close both E1 legs, open E2 (7d23h out,
     * the only expiry at least 1d away), sized at the equity now:
     * 3e6 / 1e5 = 30. */
    v.now = E1 - 23 * H;
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 4);
    expect_target(&b, E1, 110000, CPO_RIGHT_CALL, 0.0);
    expect_target(&b, E1, 90000, CPO_RIGHT_PUT, 0.0);
    expect_target(&b, E2, 110000, CPO_RIGHT_CALL, -30.0);
    expect_target(&b, E2, 90000, CPO_RIGHT_PUT, -30.0);
    fill_targets(&v, &b);
    ck_assert_uint_eq(v.n_op, 2);
    v.now = E1 - 22 * H;
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 0);
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

START_TEST(test_strangle__roll_at_expiry)
{
    cpo_view v;
    view_init(&v);
    roll_chain(&v);
    const int64_t E1 = T0 + 7 * D, E2 = T0 + 14 * D;
    bench b;
    cpo_error e;
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "strangle", NULL, &e), 0);
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 2);
    expect_target(&b, E1, 110000, CPO_RIGHT_CALL, -10.0);
    fill_targets(&v, &b);
    /* Held through the last bar before expiry (E1 - 1h, its bar ends at
     * E1): no roll with roll = expiry. */
    v.now = E1 - 23 * H;
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 0);
    v.now = E1 - H;
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 0);
    /* The bar that starts at E1: the engine has settled E1 (the book is
     * empty); the stage opens E2, 7d out, and asks nothing of E1. */
    v.now = E1;
    v.n_op = 0;
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 2);
    expect_target(&b, E2, 110000, CPO_RIGHT_CALL, -10.0);
    expect_target(&b, E2, 90000, CPO_RIGHT_PUT, -10.0);
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

START_TEST(test_strangle__missing_leg_asked_again)
{
    cpo_view v;
    view_init(&v);
    roll_chain(&v);
    v.stage = 2;
    const int64_t E1 = T0 + 7 * D;
    bench b;
    cpo_error e;
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "strangle", NULL, &e), 0);
    bench_run(&b, &v);
    fill_targets(&v, &b);
    ck_assert_uint_eq(v.n_op, 2);
    /* The put was not filled: the next run asks for it again (and only
     * for it). */
    v.op[1].qty = 0.0;
    ck_assert_int_eq(v.op[1].key.right, CPO_RIGHT_PUT);
    v.now += H;
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 1);
    expect_target(&b, E1, 90000, CPO_RIGHT_PUT, -10.0);
    /* The same put held by another stage (tag 5) is not this stage's. */
    v.op[1].qty = -10.0;
    v.op[1].tag = 5;
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 1);
    v.op[1].tag = 2;
    bench_run(&b, &v);
    ck_assert_uint_eq(b.io.n_opt, 0);
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

/* --- straddle ------------------------------------------------------------------ */

START_TEST(test_straddle__strike_closest_to_forward)
{
    /* F = 101000 (the quote's fwd).  102000 and 100000 are both 1000 away:
     * the lower wins; 101500 is closer but has no put row. */
    cpo_view v;
    view_init(&v);
    v.fwd = 101000.0;
    int64_t ex = T0 + 7 * D;
    add_opt(&v, ex, 98000, CPO_RIGHT_CALL, 0.6);
    add_opt(&v, ex, 100000, CPO_RIGHT_CALL, 0.55);
    add_opt(&v, ex, 101500, CPO_RIGHT_CALL, 0.5);
    add_opt(&v, ex, 102000, CPO_RIGHT_CALL, 0.45);
    add_opt(&v, ex, 98000, CPO_RIGHT_PUT, -0.4);
    add_opt(&v, ex, 100000, CPO_RIGHT_PUT, -0.45);
    add_opt(&v, ex, 102000, CPO_RIGHT_PUT, -0.55);
    for (int k = 0; k < 2; k++) {
        bench b;
        cpo_error e;
        /* straddle, and strangle with delta = 0.5: the same legs. */
        const char *kv_straddle[] = {"size=0.2", NULL};
        const char *kv_strangle[] = {"size=0.2", "delta=0.5", NULL};
        ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, k ? "strangle" : "straddle",
                                    k ? kv_strangle : kv_straddle, &e),
                         0);
        bench_run(&b, &v);
        /* qty = 0.2 x 1e6 / 1e5 = 2. */
        ck_assert_uint_eq(b.io.n_opt, 2);
        expect_target(&b, ex, 100000, CPO_RIGHT_CALL, -2.0);
        expect_target(&b, ex, 100000, CPO_RIGHT_PUT, -2.0);
        bench_fini(&b);
    }
    view_fini(&v);
}
END_TEST

/* --- covered_call, protective_put -------------------------------------------- */

START_TEST(test_covered_call__spot_and_calls)
{
    cpo_view v;
    view_init(&v);
    add_instr(&v, "BTCUSDT", "BTC", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1, 50000, 0);
    add_instr(&v, "ETHUSDT", "ETH", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1, 3000, 0);
    v.index = 50000.0;
    v.fwd = 50000.0;
    int64_t ex = T0 + 7 * D;
    add_opt(&v, ex, 55000, CPO_RIGHT_CALL, 0.24);
    add_opt(&v, ex, 60000, CPO_RIGHT_CALL, 0.10);
    add_opt(&v, ex, 45000, CPO_RIGHT_PUT, -0.26);
    add_opt(&v, ex, 40000, CPO_RIGHT_PUT, -0.09);
    for (int k = 0; k < 2; k++) {
        bench b;
        cpo_error e;
        const char *kv[] = {"weight=0.8", NULL};
        ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, k ? "protective_put" : "covered_call",
                                    kv, &e),
                         0);
        io_reset(&b, &v);
        b.w[1] = 0.1; /* set by an earlier weigh stage */
        ck_assert_int_eq(b.def->run(b.state, b.p, &b.h, &v, &b.io, &e), 0);
        /* The spot leg: weight 0.8; coins = 0.8 x 1e6 / 50000 = 16, the
         * calls sold (puts bought) on them, cover 1.  ETH keeps 0.1. */
        ck_assert_double_eq(b.w[0], 0.8);
        ck_assert_double_eq(b.w[1], 0.1);
        ck_assert_uint_eq(b.io.n_opt, 1);
        if (k)
            expect_target(&b, ex, 45000, CPO_RIGHT_PUT, 16.0);
        else
            expect_target(&b, ex, 55000, CPO_RIGHT_CALL, -16.0);
        bench_fini(&b);
    }
    view_fini(&v);
}
END_TEST

/* --- delta_hedge ---------------------------------------------------------------- */

/* BTCUSDT spot 1.5 coins, BTCUSDT-PERP 0.5, ETHUSDT 10 (another coin),
 * BTC-PERPETUAL inverse (10 USD contracts) -2000, all at 100000 (ETH
 * 3000); coin_delta -3.2 (options, coin balance and the inverse perp, as
 * the host counts them). */
static void hedge_view(cpo_view *v)
{
    view_init(v);
    add_instr(v, "BTCUSDT", "BTC", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1, 100000, 1.5);
    /* The perp's base as the demo store records it (its symbol): the coin
     * comes from the symbol then. */
    add_instr(v, "BTCUSDT-PERP", "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1, 100000,
              0.5);
    add_instr(v, "ETHUSDT", "ETH", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1, 3000, 10);
    add_instr(v, "BTC-PERPETUAL", "BTC", CPO_KIND_PERP, CPO_SETTLE_INVERSE, 10, 100000, -2000);
    v->coin_delta = -3.2;
}

#define HEDGE_TOL 1e-12

START_TEST(test_delta_hedge__held_positions)
{
    cpo_view v;
    hedge_view(&v);
    bench b;
    cpo_error e;
    const char *kv[] = {"pending=no", NULL};
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_HEDGE, "delta_hedge", kv, &e), 0);
    io_reset(&b, &v);
    b.w[2] = 0.3; /* an earlier stage's weight of ETHUSDT */
    ck_assert_int_eq(b.def->run(b.state, b.p, &b.h, &v, &b.io, &e), 0);
    /* net = -3.2 + 1.5 (spot) + 0.5 (the perp) = -1.2 coins (ETH not
     * counted; the inverse perp is in coin_delta); target = 0.5 + 1.2. */
    ck_assert_msg(fabs(b.q[1] - 1.7) < HEDGE_TOL, "perp target %.17g, expected 1.7", b.q[1]);
    ck_assert_double_eq(b.w[2], 0.3);
    ck_assert(isnan(b.w[0]) && isnan(b.w[1]) && isnan(b.w[3]));
    ck_assert(isnan(b.q[0]) && isnan(b.q[2]) && isnan(b.q[3]));
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

START_TEST(test_delta_hedge__pending_targets)
{
    cpo_view v;
    hedge_view(&v);
    /* An option of the book: -1 held, the strangle's target -4 at this
     * step, coin delta_account 0.2 per contract. */
    cpo_option_key k;
    memset(&k, 0, sizeof k);
    snprintf(k.underlying, sizeof k.underlying, "BTC");
    k.expiry_ms = T0 + 7 * D;
    k.strike = 110000;
    k.right = CPO_RIGHT_CALL;
    add_quote(&v, k.expiry_ms, k.strike, k.right, 0.3, 0.2);
    v.op[0].key = k;
    v.op[0].qty = -1.0;
    v.n_op = 1;
    bench b;
    cpo_error e;
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_HEDGE, "delta_hedge", NULL, &e), 0);
    io_reset(&b, &v);
    b.w[0] = 0.25; /* BTCUSDT to 0.25 x 1e6 / 100000 = 2.5 coins */
    ck_assert_int_eq(f_target_opt(&v, &b.io, &k, -4.0), 0);
    ck_assert_int_eq(b.def->run(b.state, b.p, &b.h, &v, &b.io, &e), 0);
    /* net = -3.2 + 2.5 + 0.5 + (-4 - -1) x 0.2 = -0.8; target 0.5 + 0.8. */
    ck_assert_msg(fabs(b.q[1] - 1.3) < HEDGE_TOL, "perp target %.17g, expected 1.3", b.q[1]);
    ck_assert_double_eq(b.w[0], 0.25);
    ck_assert_uint_eq(b.io.n_opt, 1);
    ck_assert_double_eq(b.io.opt[0].qty, -4.0);
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

START_TEST(test_delta_hedge__expiry_at_next_open)
{
    /* Only the perp (flat) and 10 short puts K = 110000, I = 100000, coin
     * price c = 0.1 and delta_account -1.1 (deep in the money: c + da =
     * -1, a dollar delta of +10 coins in coin_delta). */
    cpo_view v;
    view_init(&v);
    add_instr(&v, "BTCUSDT-PERP", "BTC", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1, 100000, 0.0);
    v.coin_delta = 10.0;
    cpo_option_pos *o = &v.op[0];
    snprintf(o->key.underlying, sizeof o->key.underlying, "BTC");
    o->key.strike = 110000;
    o->key.right = CPO_RIGHT_PUT;
    o->key.expiry_ms = T0 + 2 * H;
    o->qty = -10.0;
    o->quote.index = 100000.0;
    o->quote.coin.price = 0.1;
    o->quote.coin.delta_account = -1.1;
    v.n_op = 1;
    bench b;
    cpo_error e;
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_HEDGE, "delta_hedge", NULL, &e), 0);
    /* Two bars to expiry: hedged as an option, target 0 - 10 = -10. */
    bench_run(&b, &v);
    ck_assert_msg(fabs(b.q[0] + 10.0) < HEDGE_TOL, "target %.17g, expected -10", b.q[0]);
    /* Expiring at the next open: its payoff (110000 - 100000) / 100000 =
     * 0.1 coin a put, paid by the short: -1 coin, a dollar delta of -1;
     * net = 10 + -10 x (0.1 - (0.1 - 1.1)) = -1, target +1. */
    v.now = T0 + H;
    bench_run(&b, &v);
    ck_assert_msg(fabs(b.q[0] - 1.0) < HEDGE_TOL, "target %.17g, expected 1", b.q[0]);
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

START_TEST(test_delta_hedge__inverse_perp)
{
    cpo_view v;
    hedge_view(&v);
    bench b;
    cpo_error e;
    const char *kv[] = {"instrument=BTC-PERPETUAL", NULL};
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_HEDGE, "delta_hedge", kv, &e), 0);
    bench_run(&b, &v);
    /* net = -3.2 + 1.5 + 0.5 = -1.2 coins; a contract is 10 / 100000
     * coins: target = -2000 + 1.2 x 100000 / 10 = 10000. */
    ck_assert_msg(fabs(b.q[3] - 10000.0) < 1e-8, "inverse target %.17g, expected 10000", b.q[3]);
    ck_assert(isnan(b.q[1]));
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

START_TEST(test_delta_hedge__band)
{
    cpo_view v;
    hedge_view(&v);
    bench b;
    cpo_error e;
    /* pending = no: an earlier stage's weight of the perp below is not
     * counted as its quantity. */
    const char *kv[] = {"band=0.05", "pending=no", NULL};
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_HEDGE, "delta_hedge", kv, &e), 0);
    /* |net| x P / equity = 1.2 x 100000 / 1e6 = 0.12 > 0.05: hedge. */
    bench_run(&b, &v);
    ck_assert_msg(fabs(b.q[1] - 1.7) < HEDGE_TOL, "perp target %.17g, expected 1.7", b.q[1]);
    /* coin_delta -2.4: net = -0.4, 0.04 <= 0.05: the hedge is left alone
     * (no qty, its weight untouched). */
    v.coin_delta = -2.4;
    io_reset(&b, &v);
    b.w[1] = -0.5;
    ck_assert_int_eq(b.def->run(b.state, b.p, &b.h, &v, &b.io, &e), 0);
    ck_assert(isnan(b.q[1]));
    ck_assert_double_eq(b.w[1], -0.5);
    /* net = -0.6 (0.06 > 0.05): hedged again. */
    v.coin_delta = -2.6;
    bench_run(&b, &v);
    ck_assert_msg(fabs(b.q[1] - 1.1) < HEDGE_TOL, "perp target %.17g, expected 1.1", b.q[1]);
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

/* --- refusals and registration ---------------------------------------------- */

START_TEST(test_optstages__refusals)
{
    cpo_view v;
    hedge_view(&v);
    bench b;
    cpo_error e;
    cpo_error_clear(&e);
    const char *eth[] = {"instrument=ETHUSDT", "underlying=BTC", NULL};
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_HEDGE, "delta_hedge", eth, &e), CPO_ECONFIG);
    ck_assert_str_eq(tu_errstr(&e),
                     "delta_hedge: instrument \"ETHUSDT\" (spot, base ETH) cannot hedge BTC "
                     "(expected a perpetual, future or spot whose base is BTC)");
    bench_fini(&b);
    const char *perp[] = {"spot=BTCUSDT-PERP", NULL};
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "covered_call", perp, &e), CPO_ECONFIG);
    ck_assert_str_eq(tu_errstr(&e), "covered_call: spot \"BTCUSDT-PERP\" is a perp instrument "
                                    "(expected a spot instrument such as BTCUSDT)");
    bench_fini(&b);
    /* A host table from before the option API (it ends at param_item). */
    memset(&b, 0, sizeof b);
    b.h = fake_host();
    b.h.struct_size = (uint32_t)offsetof(cpo_host, chain);
    b.def = find_stage(CPO_ROLE_WEIGH, "strangle");
    ck_assert_int_eq(cpo_params_new(&b.p, b.def, &e), 0);
    ck_assert_int_eq(cpo_params_finish(b.p, NULL), 0);
    ck_assert_int_eq(b.def->init(&b.state, b.p, &b.h, &v, &e), CPO_ECONFIG);
    ck_assert_str_eq(tu_errstr(&e), "strangle: this engine has no option positions (expected a "
                                    "cpo whose host API has chain, option_quote and "
                                    "option_target)");
    b.state = NULL;
    bench_fini(&b);
    /* A run without [options]: the engine gives no room for targets. */
    view_fini(&v);
    view_init(&v);
    roll_chain(&v);
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "strangle", NULL, &e), 0);
    io_reset(&b, &v);
    b.io.cap_opt = 0;
    b.io.opt = NULL;
    ck_assert_int_eq(b.def->run(b.state, b.p, &b.h, &v, &b.io, &e), CPO_ECONFIG);
    ck_assert_str_eq(tu_errstr(&e), "strangle: the run holds no options (expected an [options] "
                                    "section with underlyings = BTC)");
    bench_fini(&b);
    /* A full io: the engine's CPO_ERANGE becomes a message. */
    view_fini(&v);
    view_init(&v);
    roll_chain(&v);
    ck_assert_int_eq(bench_init(&b, &v, CPO_ROLE_WEIGH, "strangle", NULL, &e), 0);
    io_reset(&b, &v);
    b.io.cap_opt = 1;
    ck_assert_int_eq(b.def->run(b.state, b.p, &b.h, &v, &b.io, &e), CPO_ERANGE);
    ck_assert_str_eq(tu_errstr(&e), "strangle: no room for the target of BTC "
                                    "2026-01-12T08:00:00Z 90000 put (expected at most 1 option "
                                    "targets at a step)");
    bench_fini(&b);
    view_fini(&v);
}
END_TEST

START_TEST(test_optstages__registered)
{
    static const struct {
        cpo_stage_role role;
        const char *name;
    } want[] = {{CPO_ROLE_WEIGH, "strangle"},
                {CPO_ROLE_WEIGH, "straddle"},
                {CPO_ROLE_WEIGH, "covered_call"},
                {CPO_ROLE_WEIGH, "protective_put"},
                {CPO_ROLE_HEDGE, "delta_hedge"}};
    cpo_registry *reg = NULL;
    cpo_error e;
    /* cpo_registry_new runs every table through the registry's checks
     * (names, ranges, defaults that pass their own spec). */
    ck_assert_msg(cpo_registry_new(&reg, &e) == 0, "%s", tu_errstr(&e));
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        const cpo_stage_def *d = cpo_registry_find(reg, want[k].role, want[k].name);
        ck_assert_msg(d != NULL, "%s is not registered as a %s stage", want[k].name,
                      cpo_role_name(want[k].role));
    }
    cpo_registry_free(reg);
}
END_TEST

/* --- the market of an options run (run/market.c) ---------------------------- */

/* A store: BTCUSDT and ETHUSDT hourly bars over 2026-01-02 00:00 .. 23:00
 * and one BTC chain row at 09:18 (a snapshot before a 10:00 start). */
static void write_store(const char *path)
{
    const int64_t day0 = INT64_C(1767312000000); /* 2026-01-02T00:00:00Z */
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    static const char *const sym[] = {"BTCUSDT", "ETHUSDT"};
    for (int k = 0; k < 2; k++) {
        cpo_instrument in;
        size_t idx;
        cpo_instrument_init(&in, sym[k], CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
        snprintf(in.base, sizeof in.base, "%.3s", sym[k]);
        snprintf(in.quote, sizeof in.quote, "USDT");
        ck_assert_int_eq(cpo_dataset_add(ds, &in, &idx, &e), 0);
        ds->bars[idx].bar_ms = H;
        for (int t = 0; t < 24; t++)
            ck_assert_int_eq(cpo_bars_append(&ds->bars[idx], day0 + t * H, 100, 100, 100, 100, 1,
                                             NAN, NAN, NAN, NAN),
                             0);
    }
    cpo_chain *ch = NULL;
    size_t r;
    ck_assert_int_eq(cpo_dataset_chain(ds, "BTC", &ch, &e), 0);
    ck_assert_int_eq(cpo_chain_append_row(ch, &r), 0);
    ch->ts[r] = day0 + 9 * H + 18 * CPO_MS_MINUTE;
    ch->expiry_ms[r] = day0 + 7 * D + 8 * H;
    ch->strike[r] = 100;
    ch->right[r] = CPO_RIGHT_CALL;
    snprintf(ch->name[r], sizeof ch->name[r], "BTC-9JAN26-100-C");
    ck_assert_msg(cpo_store_write(ds, path, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
}

static cpo_market *market_of(const char *dir, const char *options)
{
    char *cfg = tu_path(dir, "run.ini");
    char text[1024];
    snprintf(text, sizeof text,
             "[backtest]\ndata = s.h5\nstart = 2026-01-02T10:00:00Z\nend = 2026-01-02T20:00:00Z\n"
             "[universe]\nspot = ETHUSDT\n[strategy]\nschedule = every\nweigh = equal\n%s",
             options);
    tu_write_file(cfg, text);
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_msg(cpo_config_load(&c, cfg, &e) == 0, "%s", tu_errstr(&e));
    cpo_market *m = NULL;
    ck_assert_msg(cpo_run_market(&m, c, &e) == 0, "%s", tu_errstr(&e));
    /* The run still starts at 10:00 whatever the grid. */
    ck_assert_int_eq(c->run.start_ms, INT64_C(1767312000000) + 10 * H);
    cpo_config_free(c);
    free(cfg);
    return m;
}

/* A daily index cannot settle Deribit's 08:00 expiries without looking
 * ahead (its bar ends at 24:00): the run is refused at load with the
 * line of the index key and the data it needs; hourly bars are kept off
 * the grid as the delivery series (a 1-day grid then settles from them). */
START_TEST(test_run_market__delivery_series)
{
    char *dir = tu_tmpdir();
    char *store = tu_path(dir, "s.h5");
    const int64_t day0 = INT64_C(1767312000000);
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    static const char *const sym[] = {"BTCUSDT", "BTCUSDT-1D"};
    for (int k = 0; k < 2; k++) {
        cpo_instrument in;
        size_t idx;
        cpo_instrument_init(&in, sym[k], CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
        snprintf(in.base, sizeof in.base, "BTC");
        snprintf(in.quote, sizeof in.quote, "USDT");
        ck_assert_int_eq(cpo_dataset_add(ds, &in, &idx, &e), 0);
        int64_t step = k ? D : H;
        ds->bars[idx].bar_ms = step;
        for (int t = 0; t < (k ? 3 : 72); t++)
            ck_assert_int_eq(cpo_bars_append(&ds->bars[idx], day0 + t * step, 100, 100, 100, 100,
                                             1, NAN, NAN, NAN, NAN),
                             0);
    }
    cpo_chain *ch = NULL;
    size_t r;
    ck_assert_int_eq(cpo_dataset_chain(ds, "BTC", &ch, &e), 0);
    ck_assert_int_eq(cpo_chain_append_row(ch, &r), 0);
    ch->ts[r] = day0 + 9 * H;
    ch->expiry_ms[r] = day0 + D + 8 * H;
    ch->strike[r] = 100;
    ch->right[r] = CPO_RIGHT_CALL;
    snprintf(ch->name[r], sizeof ch->name[r], "BTC-3JAN26-100-C");
    ck_assert_msg(cpo_store_write(ds, store, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    char *cfg = tu_path(dir, "run.ini");
    tu_write_file(cfg, "[backtest]\ndata = s.h5\nstart = 2026-01-02\nend = 2026-01-03\n"
                       "[universe]\nsymbols = BTCUSDT-1D\n[strategy]\nschedule = every\n"
                       "weigh = equal\n[options]\nunderlyings = BTC\nindex.BTC = BTCUSDT-1D\n");
    cpo_config *c = NULL;
    ck_assert_msg(cpo_config_load(&c, cfg, &e) == 0, "%s", tu_errstr(&e));
    cpo_market *m = NULL;
    ck_assert_int_eq(cpo_run_market(&m, c, &e), CPO_ECONFIG);
    ck_assert_ptr_null(m);
    char want[2048];
    snprintf(want, sizeof want,
             "%s:12: options: BTC expiries settle at 08:00 UTC on the 30-minute TWAP of the index, "
             "and the 1d bars of BTCUSDT-1D do not end at 08:00 (expected bars of BTCUSDT-1D at "
             "1h or finer, minute bars for the exact TWAP: delivery.BTC = a symbol of the store "
             "that has them)",
             cfg);
    ck_assert_str_eq(tu_errstr(&e), want);
    cpo_config_free(c);
    /* delivery.BTC = the hourly BTCUSDT: accepted, kept off the daily grid. */
    tu_write_file(cfg, "[backtest]\ndata = s.h5\nstart = 2026-01-02\nend = 2026-01-03\n"
                       "[universe]\nsymbols = BTCUSDT-1D\n[strategy]\nschedule = every\n"
                       "weigh = equal\n[options]\nunderlyings = BTC\nindex.BTC = BTCUSDT-1D\n"
                       "delivery.BTC = BTCUSDT\n");
    ck_assert_msg(cpo_config_load(&c, cfg, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_msg(cpo_run_market(&m, c, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_int_eq(m->step_ms, D);
    ck_assert_uint_eq(m->n_raw, 1);
    ck_assert_str_eq(m->raw_symbol[0], "BTCUSDT");
    ck_assert_int_eq(m->raw[0].bar_ms, H);
    ck_assert_uint_eq(m->raw[0].n, 48); /* the grid's two days (none before them) */
    cpo_market_free(m);
    cpo_config_free(c);
    tu_rmtree(dir);
    free(cfg);
    free(store);
    free(dir);
}
END_TEST

START_TEST(test_run_market__options)
{
    char *dir = tu_tmpdir();
    char *store = tu_path(dir, "s.h5");
    write_store(store);
    const int64_t day0 = INT64_C(1767312000000);
    /* Without [options]: the universe (ETHUSDT) from 10:00, no chain row
     * (the snapshot is before the grid). */
    cpo_market *m = market_of(dir, "");
    ck_assert_uint_eq(m->n_instr, 1);
    ck_assert_int_eq(m->ts[0], day0 + 10 * H);
    ck_assert_uint_eq(m->n_chains, 1);
    ck_assert_uint_eq(m->chains[0].n, 0);
    cpo_market_free(m);
    /* With [options] on BTC: its index BTCUSDT joins the universe, and the
     * grid reaches back to the bar of the 09:18 snapshot (09:00), which
     * the cube then holds. */
    m = market_of(dir, "[options]\nunderlyings = BTC\n");
    ck_assert_uint_eq(m->n_instr, 2);
    ck_assert_str_eq(m->instr[0].symbol, "ETHUSDT");
    ck_assert_str_eq(m->instr[1].symbol, "BTCUSDT");
    ck_assert_int_eq(m->ts[0], day0 + 9 * H);
    ck_assert_uint_eq(m->chains[0].n, 1);
    ck_assert_int_eq(m->chains[0].ts[0], day0 + 9 * H + 18 * CPO_MS_MINUTE);
    cpo_market_free(m);
    tu_rmtree(dir);
    free(store);
    free(dir);
}
END_TEST

static Suite *optstages_suite(void)
{
    Suite *s = suite_create("optstages");
    TCase *tc = tcase_create("optstages");
    tcase_add_test(tc, test_strangle__strike_closest_to_delta);
    tcase_add_test(tc, test_strangle__row_delta_when_no_quote);
    tcase_add_test(tc, test_strangle__tie_goes_further_out);
    tcase_add_test(tc, test_strangle__out_of_the_money_only);
    tcase_add_test(tc, test_strangle__expiry_closest_to_tenor);
    tcase_add_test(tc, test_strangle__no_snapshot_no_target);
    tcase_add_test(tc, test_strangle__roll_before);
    tcase_add_test(tc, test_strangle__roll_at_expiry);
    tcase_add_test(tc, test_strangle__missing_leg_asked_again);
    tcase_add_test(tc, test_straddle__strike_closest_to_forward);
    tcase_add_test(tc, test_covered_call__spot_and_calls);
    tcase_add_test(tc, test_delta_hedge__held_positions);
    tcase_add_test(tc, test_delta_hedge__pending_targets);
    tcase_add_test(tc, test_delta_hedge__expiry_at_next_open);
    tcase_add_test(tc, test_delta_hedge__inverse_perp);
    tcase_add_test(tc, test_delta_hedge__band);
    tcase_add_test(tc, test_optstages__refusals);
    tcase_add_test(tc, test_optstages__registered);
    tcase_add_test(tc, test_run_market__options);
    tcase_add_test(tc, test_run_market__delivery_series);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(optstages_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
