/* check_market.c - the market cube: grid, alignment, fill, chains. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/dataset.h"
#include "cpo/market.h"
#include "cpo/time.h"
#include "testutil.h"

#define H CPO_MS_HOUR
#define M CPO_MS_MINUTE
#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00:00Z */
#define X NAN                     /* "expect NaN" in the tables below */

/* --- helpers ------------------------------------------------------------- */

static size_t add_instr(cpo_dataset *ds, const char *sym, cpo_kind kind)
{
    cpo_instrument in;
    cpo_error err;
    size_t idx = 0;
    cpo_instrument_init(&in, sym, kind, CPO_SETTLE_LINEAR);
    ck_assert_int_eq(cpo_dataset_add(ds, &in, &idx, &err), 0);
    return idx;
}

/* Bars with close c: open c-0.5, high c+1, low c-1, volume 10c, mark c+0.1,
 * index c+0.2, so that every field of a cell tells which bar it came from. */
static void add_bars(cpo_dataset *ds, size_t idx, int64_t bar_ms,
                     const int64_t *ts, const double *close, size_t n)
{
    cpo_bars *b = &ds->bars[idx];
    b->bar_ms = bar_ms;
    for (size_t i = 0; i < n; i++) {
        double c = close[i];
        ck_assert_int_eq(cpo_bars_append(b, ts[i], c - 0.5, c + 1, c - 1, c, 10 * c,
                                         c + 0.1, NAN, NAN, c + 0.2), 0);
    }
}

static cpo_dataset *new_ds(void)
{
    cpo_dataset *ds = NULL;
    ck_assert_int_eq(cpo_dataset_new(&ds, NULL), 0);
    return ds;
}

/* got[0..n) equals want[0..n), NaN matching NaN. */
static void expect_col(const double *got, const double *want, size_t n,
                       const char *what)
{
    for (size_t t = 0; t < n; t++) {
        if (isnan(want[t]))
            ck_assert_msg(isnan(got[t]), "%s[%zu] = %g, expected NaN", what, t, got[t]);
        else
            ck_assert_msg(got[t] == want[t], "%s[%zu] = %g, expected %g", what, t,
                          got[t], want[t]);
    }
}

static void expect_flags(const uint8_t *got, const uint8_t *want, size_t n,
                         const char *what)
{
    for (size_t t = 0; t < n; t++)
        ck_assert_msg(got[t] == want[t], "%s[%zu] = %d, expected %d", what, t,
                      got[t], want[t]);
}

static const uint8_t *filled_of(const cpo_market *m, size_t i)
{
    return m->filled + i * m->n_steps;
}

/* Cell t of field f of instrument i; NaN where the cube has no column of
 * f (mark_high and mark_low without mark klines). */
static double cell(const cpo_market *m, int f, size_t i, size_t t)
{
    const double *c = cpo_market_col(m, (cpo_field)f, i);
    return c ? c[t] : NAN;
}

/*
 * The two-instrument dataset most tests use:
 *   A: hourly bars at T0+0h..3h, closes 10 11 12 13
 *   B: hourly bars at T0+2h,3h,5h,6h, closes 20 21 23 24 (4h missing)
 *   Z: an instrument without bars (left out when symbols is NULL)
 * Default grid: the union span T0..T0+6h at the finest spacing 1h, 7 steps:
 *   t      0   1   2   3   4   5   6
 *   A     10  11  12  13   .   .   .
 *   B      .   .  20  21   .  23  24
 */
static cpo_dataset *ds_ab(void)
{
    cpo_dataset *ds = new_ds();
    size_t a = add_instr(ds, "A", CPO_KIND_SPOT);
    size_t z = add_instr(ds, "Z", CPO_KIND_SPOT);
    size_t b = add_instr(ds, "B", CPO_KIND_PERP);
    (void)z;
    const int64_t ta[] = {T0, T0 + H, T0 + 2 * H, T0 + 3 * H};
    const double ca[] = {10, 11, 12, 13};
    const int64_t tb[] = {T0 + 2 * H, T0 + 3 * H, T0 + 5 * H, T0 + 6 * H};
    const double cb[] = {20, 21, 23, 24};
    add_bars(ds, a, H, ta, ca, 4);
    add_bars(ds, b, H, tb, cb, 4);
    return ds;
}

static cpo_market *build_ok(const cpo_dataset *ds, const cpo_market_spec *spec)
{
    cpo_market *m = NULL;
    cpo_error err;
    cpo_error_clear(&err);
    int rc = cpo_market_build(&m, ds, spec, &err);
    ck_assert_msg(rc == 0, "build failed: %s", tu_errstr(&err));
    ck_assert_ptr_nonnull(m);
    return m;
}

static void build_fails(const cpo_dataset *ds, const cpo_market_spec *spec, int code,
                        const char *msg)
{
    cpo_market *m = (cpo_market *)&m; /* must be reset to NULL */
    cpo_error err;
    cpo_error_clear(&err);
    int rc = cpo_market_build(&m, ds, spec, &err);
    ck_assert_int_eq(rc, code);
    ck_assert_int_eq(err.code, code);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err.msg, msg);
}

/* --- tests --------------------------------------------------------------- */

START_TEST(test_spec_defaults_and_field_names)
{
    cpo_market_spec s;
    memset(&s, 0x5a, sizeof s);
    cpo_market_spec_init(&s);
    ck_assert(s.start_ms == CPO_TIME_NONE);
    ck_assert(s.end_ms == CPO_TIME_NONE);
    ck_assert(s.step_ms == 0);
    ck_assert_int_eq(s.fill, CPO_FILL_NONE);
    ck_assert_uint_eq(s.max_fill, 0);
    ck_assert_ptr_null(s.symbols);
    ck_assert_uint_eq(s.n_symbols, 0);
    ck_assert_str_eq(cpo_field_name(CPO_F_OPEN), "open");
    ck_assert_str_eq(cpo_field_name(CPO_F_HIGH), "high");
    ck_assert_str_eq(cpo_field_name(CPO_F_LOW), "low");
    ck_assert_str_eq(cpo_field_name(CPO_F_CLOSE), "close");
    ck_assert_str_eq(cpo_field_name(CPO_F_VOLUME), "volume");
    ck_assert_str_eq(cpo_field_name(CPO_F_MARK), "mark");
    ck_assert_str_eq(cpo_field_name(CPO_F_INDEX), "index");
    ck_assert_str_eq(cpo_field_name(CPO_F_MARK_HIGH), "mark_high");
    ck_assert_str_eq(cpo_field_name(CPO_F_MARK_LOW), "mark_low");
    ck_assert_str_eq(cpo_field_name(CPO_F_COUNT), "?");
    /* The fields before the mark's high and low keep their numbers. */
    ck_assert_int_eq(CPO_F_INDEX, 6);
    ck_assert_int_eq(CPO_F_MARK_HIGH, 7);
    ck_assert_int_eq(CPO_F_MARK_LOW, 8);
}
END_TEST

START_TEST(test_align_two_spans_nan_leading)
{
    cpo_dataset *ds = ds_ab();
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    cpo_market *m = build_ok(ds, &spec);
    cpo_dataset_free(ds); /* the cube owns copies */

    ck_assert_uint_eq(m->n_steps, 7);
    ck_assert_uint_eq(m->n_instr, 2);
    ck_assert(m->step_ms == H);
    for (size_t t = 0; t < 7; t++)
        ck_assert(m->ts[t] == T0 + (int64_t)t * H);
    ck_assert_str_eq(m->instr[0].symbol, "A");
    ck_assert_str_eq(m->instr[1].symbol, "B");
    ck_assert_int_eq(m->instr[1].kind, CPO_KIND_PERP);
    ck_assert_int_eq(cpo_market_find(m, "A"), 0);
    ck_assert_int_eq(cpo_market_find(m, "B"), 1);
    ck_assert_int_eq(cpo_market_find(m, "Z"), -1);

    const double a_close[] = {10, 11, 12, 13, X, X, X};
    const double b_close[] = {X, X, 20, 21, X, 23, 24};
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 0), a_close, 7, "A.close");
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 1), b_close, 7, "B.close");
    /* Every field of B at t=5 comes from the bar closing 23. */
    ck_assert(cpo_market_col(m, CPO_F_OPEN, 1)[5] == 22.5);
    ck_assert(cpo_market_col(m, CPO_F_HIGH, 1)[5] == 24);
    ck_assert(cpo_market_col(m, CPO_F_LOW, 1)[5] == 22);
    ck_assert(cpo_market_col(m, CPO_F_VOLUME, 1)[5] == 230);
    ck_assert(cpo_market_col(m, CPO_F_MARK, 1)[5] == 23 + 0.1);
    ck_assert(cpo_market_col(m, CPO_F_INDEX, 1)[5] == 23 + 0.2);
    /* Leading steps of B are NaN in every field. */
    for (int f = 0; f < CPO_F_COUNT; f++) {
        ck_assert(isnan(cell(m, f, 1, 0)));
        ck_assert(isnan(cell(m, f, 1, 1)));
        ck_assert(isnan(cell(m, f, 1, 4)));
    }
    /* No mark klines: no column of their high and low. */
    ck_assert_ptr_null(m->col[CPO_F_MARK_HIGH]);
    ck_assert_ptr_null(m->col[CPO_F_MARK_LOW]);
    ck_assert_ptr_null(cpo_market_col(m, CPO_F_MARK_HIGH, 1));
    ck_assert_ptr_nonnull(cpo_market_col(m, CPO_F_MARK, 1));
    const uint8_t none[7] = {0};
    expect_flags(filled_of(m, 0), none, 7, "A.filled");
    expect_flags(filled_of(m, 1), none, 7, "B.filled");
    cpo_market_free(m);
    cpo_market_free(NULL);
}
END_TEST

START_TEST(test_forward_fill_unlimited)
{
    /* FORWARD, no limit:
     *   t      0   1   2   3   4   5   6
     *   A     10  11  12  13 [13][13][13]     [] = filled
     *   B      .   .  20  21 [21] 23  24      leading steps stay NaN */
    cpo_dataset *ds = ds_ab();
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    spec.fill = CPO_FILL_FORWARD;
    cpo_market *m = build_ok(ds, &spec);
    cpo_dataset_free(ds);

    const double a_close[] = {10, 11, 12, 13, 13, 13, 13};
    const double b_close[] = {X, X, 20, 21, 21, 23, 24};
    const uint8_t a_fill[] = {0, 0, 0, 0, 1, 1, 1};
    const uint8_t b_fill[] = {0, 0, 0, 0, 1, 0, 0};
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 0), a_close, 7, "A.close");
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 1), b_close, 7, "B.close");
    expect_flags(filled_of(m, 0), a_fill, 7, "A.filled");
    expect_flags(filled_of(m, 1), b_fill, 7, "B.filled");
    /* A filled cell: O=H=L=C = last close, volume 0, mark/index last. */
    ck_assert(cpo_market_col(m, CPO_F_OPEN, 0)[5] == 13);
    ck_assert(cpo_market_col(m, CPO_F_HIGH, 0)[5] == 13);
    ck_assert(cpo_market_col(m, CPO_F_LOW, 0)[5] == 13);
    ck_assert(cpo_market_col(m, CPO_F_VOLUME, 0)[5] == 0);
    ck_assert(cpo_market_col(m, CPO_F_MARK, 0)[5] == 13 + 0.1);
    ck_assert(cpo_market_col(m, CPO_F_INDEX, 0)[5] == 13 + 0.2);
    /* Leading steps are not filled. */
    for (int f = 0; f < CPO_F_COUNT; f++)
        ck_assert(isnan(cell(m, f, 1, 1)));
    cpo_market_free(m);
}
END_TEST

START_TEST(test_forward_fill_max_fill)
{
    /* FORWARD, max_fill 2: A's run of 3 missing steps is filled twice.
     *   t      0   1   2   3   4   5   6
     *   A     10  11  12  13 [13][13]  .
     *   B      .   .  20  21 [21] 23  24 */
    cpo_dataset *ds = ds_ab();
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    spec.fill = CPO_FILL_FORWARD;
    spec.max_fill = 2;
    cpo_market *m = build_ok(ds, &spec);
    cpo_dataset_free(ds);

    const double a_close[] = {10, 11, 12, 13, 13, 13, X};
    const double b_close[] = {X, X, 20, 21, 21, 23, 24};
    const uint8_t a_fill[] = {0, 0, 0, 0, 1, 1, 0};
    const uint8_t b_fill[] = {0, 0, 0, 0, 1, 0, 0};
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 0), a_close, 7, "A.close");
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 1), b_close, 7, "B.close");
    expect_flags(filled_of(m, 0), a_fill, 7, "A.filled");
    expect_flags(filled_of(m, 1), b_fill, 7, "B.filled");
    for (int f = 0; f < CPO_F_COUNT; f++)
        ck_assert(isnan(cell(m, f, 0, 6)));
    cpo_market_free(m);

    /* max_fill 1: B's single gap is still filled, A's run only once. */
    ds = ds_ab();
    spec.max_fill = 1;
    m = build_ok(ds, &spec);
    cpo_dataset_free(ds);
    const double a1[] = {10, 11, 12, 13, 13, X, X};
    const uint8_t a1_fill[] = {0, 0, 0, 0, 1, 0, 0};
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 0), a1, 7, "A.close");
    expect_flags(filled_of(m, 0), a1_fill, 7, "A.filled");
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 1), b_close, 7, "B.close");
    cpo_market_free(m);
}
END_TEST

START_TEST(test_forward_fill_mark_index_own_last)
{
    /* C: bars at 0h (close 30, mark 30.1, index NaN) and 1h (close 31,
     * mark NaN, index 31.2); 2h and 3h missing, 4h close 34.
     * Filled steps carry close 31, mark 30.1 (the last mark seen) and
     * index 31.2. */
    cpo_dataset *ds = new_ds();
    size_t c = add_instr(ds, "C", CPO_KIND_PERP);
    cpo_bars *b = &ds->bars[c];
    b->bar_ms = H;
    ck_assert_int_eq(cpo_bars_append(b, T0, 30, 30, 30, 30, 1, 30.1, NAN, NAN, NAN), 0);
    ck_assert_int_eq(cpo_bars_append(b, T0 + H, 31, 31, 31, 31, 1, NAN, NAN, NAN, 31.2), 0);
    ck_assert_int_eq(cpo_bars_append(b, T0 + 4 * H, 34, 34, 34, 34, 1, 34.1, NAN, NAN, 34.2), 0);
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    spec.fill = CPO_FILL_FORWARD;
    cpo_market *m = build_ok(ds, &spec);
    cpo_dataset_free(ds);
    ck_assert_uint_eq(m->n_steps, 5);
    const double close[] = {30, 31, 31, 31, 34};
    const double mark[] = {30.1, X, 30.1, 30.1, 34.1}; /* bars keep their NaN */
    const double index[] = {X, 31.2, 31.2, 31.2, 34.2};
    const double vol[] = {1, 1, 0, 0, 1};
    const uint8_t fl[] = {0, 0, 1, 1, 0};
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 0), close, 5, "C.close");
    expect_col(cpo_market_col(m, CPO_F_MARK, 0), mark, 5, "C.mark");
    expect_col(cpo_market_col(m, CPO_F_INDEX, 0), index, 5, "C.index");
    expect_col(cpo_market_col(m, CPO_F_VOLUME, 0), vol, 5, "C.volume");
    expect_flags(filled_of(m, 0), fl, 5, "C.filled");
    cpo_market_free(m);
}
END_TEST

START_TEST(test_symbols_select_and_order)
{
    /* Selecting B then A: B first; the span is still the union (T0..6h). */
    cpo_dataset *ds = ds_ab();
    const char *const syms[] = {"B", "A"};
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    spec.symbols = syms;
    spec.n_symbols = 2;
    cpo_market *m = build_ok(ds, &spec);
    ck_assert_uint_eq(m->n_instr, 2);
    ck_assert_str_eq(m->instr[0].symbol, "B");
    ck_assert_str_eq(m->instr[1].symbol, "A");
    ck_assert_uint_eq(m->n_steps, 7);
    ck_assert(cpo_market_col(m, CPO_F_CLOSE, 0)[2] == 20);
    ck_assert(cpo_market_col(m, CPO_F_CLOSE, 1)[2] == 12);
    cpo_market_free(m);

    /* B alone: the grid is B's span T0+2h..T0+6h, 5 steps. */
    spec.symbols = syms;
    spec.n_symbols = 1;
    m = build_ok(ds, &spec);
    ck_assert_uint_eq(m->n_instr, 1);
    ck_assert_uint_eq(m->n_steps, 5);
    ck_assert(m->ts[0] == T0 + 2 * H);
    const double b_close[] = {20, 21, X, 23, 24};
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 0), b_close, 5, "B.close");
    cpo_market_free(m);

    /* Z has no bars: selected explicitly it is all NaN; the grid is A's
     * span T0..T0+3h. */
    const char *const zs[] = {"A", "Z"};
    spec.symbols = zs;
    spec.n_symbols = 2;
    m = build_ok(ds, &spec);
    ck_assert_uint_eq(m->n_instr, 2);
    ck_assert_uint_eq(m->n_steps, 4);
    for (size_t t = 0; t < 4; t++)
        ck_assert(isnan(cpo_market_col(m, CPO_F_CLOSE, 1)[t]));
    cpo_market_free(m);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_unknown_symbol)
{
    cpo_dataset *ds = ds_ab();
    const char *const syms[] = {"A", "NOPE"};
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    spec.symbols = syms;
    spec.n_symbols = 2;
    build_fails(ds, &spec, CPO_ENOTFOUND,
                "unknown symbol \"NOPE\" (expected an instrument of the dataset)");
    const char *const twice[] = {"A", "A"};
    spec.symbols = twice;
    build_fails(ds, &spec, CPO_EINVAL,
                "symbol \"A\" is selected twice (expected each instrument once)");
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_explicit_span)
{
    /* start T0+1h, end T0+4h30m: grid T0+1h..T0+4h (the last grid time
     * not after end), 4 steps; A: 11 12 13 NaN. */
    cpo_dataset *ds = ds_ab();
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    spec.start_ms = T0 + H;
    spec.end_ms = T0 + 4 * H + 30 * M;
    cpo_market *m = build_ok(ds, &spec);
    ck_assert_uint_eq(m->n_steps, 4);
    ck_assert(m->ts[0] == T0 + H && m->ts[3] == T0 + 4 * H);
    const double a_close[] = {11, 12, 13, X};
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 0), a_close, 4, "A.close");
    cpo_market_free(m);

    /* A grid start between A's bars puts A's bars off the grid. */
    spec.start_ms = T0 + 30 * M;
    build_fails(ds, &spec, CPO_EDATA,
                "A: bar at 2024-01-01T01:00:00Z is not on the grid "
                "2024-01-01T00:30:00Z + k*1h (the instrument's 1h bars do not "
                "divide the grid: expected bar open times on grid times)");

    spec.start_ms = T0 + 5 * H;
    spec.end_ms = T0 + 4 * H;
    build_fails(ds, &spec, CPO_EINVAL,
                "grid end 2024-01-01T04:00:00Z is before its start "
                "2024-01-01T05:00:00Z (expected end >= start)");
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_misaligned_refused)
{
    /* D: hourly bars at :30; on A's hourly grid from T0 they are off-grid. */
    cpo_dataset *ds = ds_ab();
    size_t d = add_instr(ds, "D", CPO_KIND_SPOT);
    const int64_t td[] = {T0 + 30 * M, T0 + 90 * M};
    const double cd[] = {1, 2};
    add_bars(ds, d, H, td, cd, 2);
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    build_fails(ds, &spec, CPO_EDATA,
                "D: bar at 2024-01-01T00:30:00Z is not on the grid "
                "2024-01-01T00:00:00Z + k*1h (the instrument's 1h bars do not "
                "divide the grid: expected bar open times on grid times)");
    cpo_dataset_free(ds);

    /* E: 90-minute bars next to hourly ones: the step is 1h, 90m does not
     * divide into it. */
    ds = ds_ab();
    size_t e = add_instr(ds, "E", CPO_KIND_SPOT);
    const int64_t te[] = {T0, T0 + 90 * M};
    add_bars(ds, e, 90 * M, te, cd, 2);
    build_fails(ds, &spec, CPO_EDATA,
                "E: bar spacing 90m does not divide into the 1h grid (expected a "
                "whole multiple of the grid step)");

    /* Hourly bars on a declared 2h grid: finer than the grid. */
    spec.step_ms = 2 * H;
    const char *const a[] = {"A"};
    spec.symbols = a;
    spec.n_symbols = 1;
    build_fails(ds, &spec, CPO_EDATA,
                "A: bar spacing 1h is finer than the grid step 2h (expected bars no "
                "more frequent than the grid: resample them or use a step of 1h)");
    cpo_dataset_free(ds);
}
END_TEST

/* Daily bars on an hourly grid. */
static cpo_dataset *ds_daily(void)
{
    /* A: hourly T0..T0+47h (close 100+t); DY: daily bars at T0 and T0+24h
     * (closes 1000, 2000). */
    cpo_dataset *ds = new_ds();
    size_t a = add_instr(ds, "A", CPO_KIND_SPOT);
    size_t dy = add_instr(ds, "DY", CPO_KIND_SPOT);
    int64_t ta[48];
    double ca[48];
    for (int t = 0; t < 48; t++) {
        ta[t] = T0 + t * H;
        ca[t] = 100 + t;
    }
    add_bars(ds, a, H, ta, ca, 48);
    const int64_t td[] = {T0, T0 + 24 * H};
    const double cd[] = {1000, 2000};
    add_bars(ds, dy, CPO_MS_DAY, td, cd, 2);
    return ds;
}

START_TEST(test_daily_on_hourly)
{
    cpo_dataset *ds = ds_daily();
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    /* Without forward fill: refused. */
    build_fails(ds, &spec, CPO_EDATA,
                "DY: bar spacing 1d is coarser than the 1h grid (expected "
                "fill=forward to spread each bar over 24 grid steps, or a grid "
                "step of 1d)");

    /* With forward fill: 48 steps T0..T0+47h.  The day-1 bar (open T0,
     * close T0+24h) lands on step 23, the step that closes at T0+24h; steps
     * 0..22 are leading NaN (nothing was known yet); 24..46 carry 1000
     * (filled); the day-2 bar lands on step 47. */
    spec.fill = CPO_FILL_FORWARD;
    cpo_market *m = build_ok(ds, &spec);
    ck_assert_uint_eq(m->n_steps, 48);
    ck_assert(m->step_ms == H);
    long dy = cpo_market_find(m, "DY");
    ck_assert_int_eq(dy, 1);
    const double *c = cpo_market_col(m, CPO_F_CLOSE, 1);
    const uint8_t *fl = filled_of(m, 1);
    for (int t = 0; t < 23; t++)
        ck_assert_msg(isnan(c[t]) && fl[t] == 0, "DY step %d", t);
    ck_assert(c[23] == 1000 && fl[23] == 0);
    ck_assert(cpo_market_col(m, CPO_F_OPEN, 1)[23] == 999.5);
    ck_assert(cpo_market_col(m, CPO_F_HIGH, 1)[23] == 1001);
    ck_assert(cpo_market_col(m, CPO_F_VOLUME, 1)[23] == 10000);
    for (int t = 24; t < 47; t++) {
        ck_assert_msg(c[t] == 1000 && fl[t] == 1, "DY step %d", t);
        ck_assert(cpo_market_col(m, CPO_F_VOLUME, 1)[t] == 0);
    }
    ck_assert(c[47] == 2000 && fl[47] == 0);
    /* No look-ahead: each close is a bar that closed by the step's close. */
    for (size_t t = 0; t < 48; t++)
        if (!isnan(c[t]))
            ck_assert(m->ts[t] + H >= T0 + (c[t] == 1000 ? 24 : 48) * H);
    /* The hourly instrument is untouched. */
    ck_assert(cpo_market_col(m, CPO_F_CLOSE, 0)[47] == 147);
    cpo_market_free(m);

    /* max_fill counts steps past the 23 that every daily bar needs: drop
     * day 2 and extend A to 72h; with max_fill 2, day 1's close carries
     * over steps 24..48 (23 + 2) and steps 49..71 are NaN. */
    cpo_dataset_free(ds);
    ds = new_ds();
    size_t a = add_instr(ds, "A", CPO_KIND_SPOT);
    size_t d2 = add_instr(ds, "DY", CPO_KIND_SPOT);
    int64_t ta[72];
    double ca[72];
    for (int t = 0; t < 72; t++) {
        ta[t] = T0 + t * H;
        ca[t] = 100 + t;
    }
    add_bars(ds, a, H, ta, ca, 72);
    const int64_t td[] = {T0};
    const double cd[] = {1000};
    add_bars(ds, d2, CPO_MS_DAY, td, cd, 1);
    spec.max_fill = 2;
    m = build_ok(ds, &spec);
    ck_assert_uint_eq(m->n_steps, 72);
    c = cpo_market_col(m, CPO_F_CLOSE, 1);
    fl = filled_of(m, 1);
    ck_assert(c[23] == 1000 && fl[23] == 0);
    for (int t = 24; t <= 48; t++)
        ck_assert_msg(c[t] == 1000 && fl[t] == 1, "DY step %d", t);
    for (int t = 49; t < 72; t++)
        ck_assert_msg(isnan(c[t]) && fl[t] == 0, "DY step %d", t);
    cpo_market_free(m);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_coarse_bar_across_grid_edges)
{
    /* 3h bars on an hourly grid T0+1h..T0+6h (declared).  The bar opened at
     * T0 closes at T0+3h: step of T0+2h (t=1), inside the grid though it
     * opened before it.  The bar opened at T0+6h closes at T0+9h, after the
     * grid: left out.  Bar T0+3h: t=4.
     *   t      0(1h) 1(2h) 2(3h) 3(4h) 4(5h) 5(6h)
     *   close   .     30   [30]  [30]   33   [33] */
    cpo_dataset *ds = new_ds();
    size_t k = add_instr(ds, "K", CPO_KIND_SPOT);
    const int64_t tk[] = {T0, T0 + 3 * H, T0 + 6 * H};
    const double ck[] = {30, 33, 36};
    add_bars(ds, k, 3 * H, tk, ck, 3);
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    spec.fill = CPO_FILL_FORWARD;
    spec.step_ms = H;
    spec.start_ms = T0 + H;
    spec.end_ms = T0 + 6 * H;
    cpo_market *m = build_ok(ds, &spec);
    ck_assert_uint_eq(m->n_steps, 6);
    const double want[] = {X, 30, 30, 30, 33, 33};
    const uint8_t fl[] = {0, 0, 1, 1, 0, 1};
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 0), want, 6, "K.close");
    expect_flags(filled_of(m, 0), fl, 6, "K.filled");
    cpo_market_free(m);

    /* Default span: T0 .. T0+8h (the last bar covers steps 6h..8h), 9 steps,
     * bars on steps 2, 5, 8. */
    cpo_market_spec_init(&spec);
    spec.fill = CPO_FILL_FORWARD;
    spec.step_ms = H;
    m = build_ok(ds, &spec);
    ck_assert_uint_eq(m->n_steps, 9);
    const double want2[] = {X, X, 30, 30, 30, 33, 33, 33, 36};
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 0), want2, 9, "K.close");
    cpo_market_free(m);
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_median_spacing)
{
    /* bar_ms 0: gaps 2h 2h 4h, median 2h: grid T0..T0+8h step 2h (5 steps),
     * closes 11 12 13 . 14 (not 1..4: add_bars puts the low 1 below the
     * close, and a low of 0 is not a price). */
    cpo_dataset *ds = new_ds();
    size_t e = add_instr(ds, "E", CPO_KIND_SPOT);
    const int64_t te[] = {T0, T0 + 2 * H, T0 + 4 * H, T0 + 8 * H};
    const double ce[] = {11, 12, 13, 14};
    add_bars(ds, e, 0, te, ce, 4);
    cpo_market *m = build_ok(ds, NULL);
    ck_assert(m->step_ms == 2 * H);
    ck_assert_uint_eq(m->n_steps, 5);
    const double want[] = {11, 12, 13, X, 14};
    expect_col(cpo_market_col(m, CPO_F_CLOSE, 0), want, 5, "E.close");
    cpo_market_free(m);
    cpo_dataset_free(ds);

    /* Gaps 4h 2h 4h 4h: the median is 4h (the smallest gap would be 2h), so
     * the bar at 6h is off the 4h grid. */
    ds = new_ds();
    e = add_instr(ds, "E", CPO_KIND_SPOT);
    const int64_t tf[] = {T0, T0 + 4 * H, T0 + 6 * H, T0 + 10 * H, T0 + 14 * H};
    const double cf[] = {11, 12, 13, 14, 15};
    add_bars(ds, e, 0, tf, cf, 5);
    build_fails(ds, NULL, CPO_EDATA,
                "E: bar at 2024-01-01T06:00:00Z is not on the grid "
                "2024-01-01T00:00:00Z + k*4h (the instrument's 4h bars do not "
                "divide the grid: expected bar open times on grid times)");
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_chain_rows_funding_iv)
{
    cpo_dataset *ds = ds_ab();
    cpo_chain *ch = NULL;
    ck_assert_int_eq(cpo_dataset_chain(ds, "BTC", &ch, NULL), 0);
    /* Rows (sorted by ts, name); the grid is T0..T0+6h, so rows stamped in
     * [T0, T0+7h) are kept:
     *   T0-1h           dropped (before the grid)
     *   T0      a, b    -> copied rows 0, 1  (step 0)
     *   T0+30m  c       -> row 2             (step 0)
     *   T0+2h   d       -> row 3             (step 2)
     *   T0+6h59m59.999s e -> row 4           (step 6)
     *   T0+7h   f       dropped (after the grid's last step closes)
     * chain_row = {0, 3, 3, 4, 4, 4, 4, 5}: step t has rows
     * chain_row[t] .. chain_row[t+1]-1. */
    const int64_t ts[] = {T0 - H, T0, T0, T0 + 30 * M, T0 + 2 * H,
                          T0 + 7 * H - 1, T0 + 7 * H};
    const char *names[] = {"z", "a", "b", "c", "d", "e", "f"};
    for (size_t i = 0; i < 7; i++) {
        size_t r;
        ck_assert_int_eq(cpo_chain_append_row(ch, &r), 0);
        ch->ts[r] = ts[i];
        ch->expiry_ms[r] = T0 + 10 * CPO_MS_DAY;
        ch->strike[r] = 1000.0 * (double)i;
        ch->right[r] = CPO_RIGHT_CALL;
        ch->mark_px[r] = 0.01 * (double)i;
        snprintf(ch->name[r], CPO_SYMBOL_MAX, "%s", names[i]);
    }
    /* Funding of B: T0-8h dropped, T0 and T0+4h kept, T0+7h dropped. */
    size_t b = (size_t)cpo_dataset_find(ds, "B");
    ds->funding[b].interval_ms = 8 * H;
    ck_assert_int_eq(cpo_funding_append(&ds->funding[b], T0 - 8 * H, 1e-4, 1, 2), 0);
    ck_assert_int_eq(cpo_funding_append(&ds->funding[b], T0, 2e-4, 3, 4), 0);
    ck_assert_int_eq(cpo_funding_append(&ds->funding[b], T0 + 4 * H, 3e-4, 5, 6), 0);
    ck_assert_int_eq(cpo_funding_append(&ds->funding[b], T0 + 7 * H, 4e-4, 7, 8), 0);
    /* An IV index is copied whole, even rows outside the grid. */
    cpo_ivindex *iv = NULL;
    ck_assert_int_eq(cpo_dataset_ivindex(ds, "BTC-DVOL", &iv, NULL), 0);
    ck_assert_int_eq(cpo_ivindex_append(iv, T0 - CPO_MS_DAY, 50, 51, 49, 50.5), 0);
    ck_assert_int_eq(cpo_ivindex_append(iv, T0 + 10 * CPO_MS_DAY, 60, 61, 59, 60.5), 0);

    cpo_market *m = build_ok(ds, NULL);
    cpo_dataset_free(ds);
    ck_assert_uint_eq(m->n_steps, 7);

    ck_assert_uint_eq(m->n_chains, 1);
    const cpo_chain *mc = &m->chains[0];
    ck_assert_str_eq(mc->underlying, "BTC");
    ck_assert_uint_eq(mc->n, 5);
    const char *kept[] = {"a", "b", "c", "d", "e"};
    for (size_t r = 0; r < 5; r++) {
        ck_assert_str_eq(mc->name[r], kept[r]);
        ck_assert(mc->strike[r] == 1000.0 * (double)(r + 1));
        ck_assert(mc->mark_px[r] == 0.01 * (double)(r + 1));
        ck_assert(mc->expiry_ms[r] == T0 + 10 * CPO_MS_DAY);
        ck_assert_int_eq(mc->right[r], CPO_RIGHT_CALL);
    }
    const size_t want_rows[] = {0, 3, 3, 4, 4, 4, 4, 5};
    for (size_t t = 0; t <= 7; t++)
        ck_assert_msg(m->chain_row[0][t] == want_rows[t], "chain_row[%zu] = %zu, "
                      "expected %zu", t, m->chain_row[0][t], want_rows[t]);

    long bi = cpo_market_find(m, "B");
    ck_assert_int_eq(bi, 1);
    const cpo_funding *f = &m->funding[bi];
    ck_assert(f->interval_ms == 8 * H);
    ck_assert_uint_eq(f->n, 2);
    ck_assert(f->ts[0] == T0 && f->rate[0] == 2e-4 && f->mark[0] == 3 && f->index[0] == 4);
    ck_assert(f->ts[1] == T0 + 4 * H && f->rate[1] == 3e-4);
    ck_assert_uint_eq(m->funding[0].n, 0);

    ck_assert_uint_eq(m->n_iv, 1);
    ck_assert_str_eq(m->iv[0].name, "BTC-DVOL");
    ck_assert_uint_eq(m->iv[0].n, 2);
    ck_assert(m->iv[0].close[1] == 60.5);
    cpo_market_free(m);
}
END_TEST

START_TEST(test_step_at)
{
    cpo_dataset *ds = ds_ab();
    cpo_market *m = build_ok(ds, NULL);
    cpo_dataset_free(ds);
    /* Grid T0 .. T0+6h, hourly. */
    ck_assert_int_eq(cpo_market_step_at(m, CPO_TIME_NONE), -1);
    ck_assert_int_eq(cpo_market_step_at(m, T0 - 1), -1);
    ck_assert_int_eq(cpo_market_step_at(m, T0), 0);
    ck_assert_int_eq(cpo_market_step_at(m, T0 + H - 1), 0);
    ck_assert_int_eq(cpo_market_step_at(m, T0 + H), 1);
    ck_assert_int_eq(cpo_market_step_at(m, T0 + 5 * H + 30 * M), 5);
    ck_assert_int_eq(cpo_market_step_at(m, T0 + 6 * H), 6);
    ck_assert_int_eq(cpo_market_step_at(m, T0 + 100 * H), 6);
    ck_assert_int_eq(cpo_market_step_at(m, INT64_MAX), 6);
    cpo_market_free(m);
}
END_TEST

START_TEST(test_empty_and_bad_spec)
{
    cpo_dataset *ds = new_ds();
    build_fails(ds, NULL, CPO_EDATA,
                "the dataset has no bars (expected at least one instrument with "
                "bars to build a market from)");
    cpo_dataset_free(ds);
    ds = ds_ab();
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    spec.step_ms = -1;
    build_fails(ds, &spec, CPO_EINVAL,
                "grid step -1 ms is negative (expected > 0, or 0 for the finest "
                "bar spacing)");
    cpo_dataset_free(ds);
}
END_TEST

/* P: a perp with mark klines at 0h..2h and 5h (close 50+t, mark high
 * close+2, low close-2, except 1h: no mark bar), 3h and 4h missing; S: a
 * spot pair without any, hourly 0h..5h. */
static cpo_dataset *ds_marks(void)
{
    cpo_dataset *ds = new_ds();
    size_t s = add_instr(ds, "S", CPO_KIND_SPOT);
    size_t p = add_instr(ds, "P", CPO_KIND_PERP);
    const int64_t ts[] = {T0, T0 + H, T0 + 2 * H, T0 + 3 * H, T0 + 4 * H, T0 + 5 * H};
    const double cs[] = {11, 12, 13, 14, 15, 16};
    add_bars(ds, s, H, ts, cs, 6);
    cpo_bars *b = &ds->bars[p];
    b->bar_ms = H;
    const int64_t tp[] = {T0, T0 + H, T0 + 2 * H, T0 + 5 * H};
    for (int k = 0; k < 4; k++) {
        double c = 50 + (double)(tp[k] - T0) / H, has = k != 1;
        ck_assert_int_eq(cpo_bars_append(b, tp[k], c, c + 1, c - 1, c, 1, has ? c + 0.5 : NAN,
                                         has ? c + 2 : NAN, has ? c - 2 : NAN, NAN),
                         0);
    }
    ck_assert_ptr_null(ds->bars[s].mark_high);
    ck_assert_ptr_nonnull(b->mark_high);
    return ds;
}

START_TEST(test_mark_high_low_columns)
{
    /* No fill: the bars' values where there is a bar, NaN elsewhere; S
     * (no mark klines) is NaN in both. */
    cpo_dataset *ds = ds_marks();
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    cpo_market *m = build_ok(ds, &spec);
    ck_assert_uint_eq(m->n_steps, 6);
    ck_assert_ptr_nonnull(m->col[CPO_F_MARK_HIGH]);
    ck_assert_ptr_nonnull(m->col[CPO_F_MARK_LOW]);
    const double hi[] = {52, X, 54, X, X, 57};
    const double lo[] = {48, X, 50, X, X, 53};
    const double none[] = {X, X, X, X, X, X};
    long p = cpo_market_find(m, "P"), s = cpo_market_find(m, "S");
    expect_col(cpo_market_col(m, CPO_F_MARK_HIGH, (size_t)p), hi, 6, "P.mark_high");
    expect_col(cpo_market_col(m, CPO_F_MARK_LOW, (size_t)p), lo, 6, "P.mark_low");
    expect_col(cpo_market_col(m, CPO_F_MARK_HIGH, (size_t)s), none, 6, "S.mark_high");
    expect_col(cpo_market_col(m, CPO_F_MARK_LOW, (size_t)s), none, 6, "S.mark_low");
    cpo_market_free(m);

    /* S alone: no selected instrument has a value, so no columns. */
    const char *const only_s[] = {"S"};
    spec.symbols = only_s;
    spec.n_symbols = 1;
    m = build_ok(ds, &spec);
    ck_assert_ptr_null(m->col[CPO_F_MARK_HIGH]);
    ck_assert_ptr_null(m->col[CPO_F_MARK_LOW]);
    ck_assert_ptr_null(cpo_market_col(m, CPO_F_MARK_LOW, 0));
    cpo_market_free(m);

    /* A mark high that is no price is refused like any price. */
    ds->bars[1].mark_high[2] = -1;
    spec.symbols = NULL;
    spec.n_symbols = 0;
    build_fails(ds, &spec, CPO_EDATA,
                "P: mark_high -1 in the bar of 2024-01-01T02:00:00Z is not a price (expected "
                "a finite number > 0, or NaN where the data has none)");
    ds->bars[1].mark_high[2] = 54;
    ds->bars[1].mark_low[0] = INFINITY;
    build_fails(ds, &spec, CPO_EDATA,
                "P: mark_low inf in the bar of 2024-01-01T00:00:00Z is not a price (expected "
                "a finite number > 0, or NaN where the data has none)");
    cpo_dataset_free(ds);
}
END_TEST

START_TEST(test_mark_high_low_forward_fill)
{
    /* FORWARD, max_fill 1: like mark, the high and low carry their own last
     * value (the 1h bar has none: 0h's stays), at most one step (3h; 4h is
     * NaN), and a bar keeps its NaN:
     *   t          0   1   2    3   4   5
     *   mark_high 52   .  54  [54]  .  57 */
    cpo_dataset *ds = ds_marks();
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    spec.fill = CPO_FILL_FORWARD;
    spec.max_fill = 1;
    cpo_market *m = build_ok(ds, &spec);
    const double hi[] = {52, X, 54, 54, X, 57};
    const double lo[] = {48, X, 50, 50, X, 53};
    const double mk[] = {50.5, X, 52.5, 52.5, X, 55.5};
    size_t p = (size_t)cpo_market_find(m, "P");
    expect_col(cpo_market_col(m, CPO_F_MARK_HIGH, p), hi, 6, "P.mark_high");
    expect_col(cpo_market_col(m, CPO_F_MARK_LOW, p), lo, 6, "P.mark_low");
    expect_col(cpo_market_col(m, CPO_F_MARK, p), mk, 6, "P.mark");
    cpo_market_free(m);

    /* Daily mark bars on an hourly grid: each lands on the last hour it
     * covers, the 23 before carry the previous day's (NaN before the
     * first). */
    cpo_dataset *dd = new_ds();
    size_t h = add_instr(dd, "H", CPO_KIND_SPOT), d = add_instr(dd, "D", CPO_KIND_PERP);
    int64_t th[48];
    double ch[48];
    for (int t = 0; t < 48; t++) {
        th[t] = T0 + t * H;
        ch[t] = 100 + t;
    }
    add_bars(dd, h, H, th, ch, 48);
    cpo_bars *b = &dd->bars[d];
    b->bar_ms = CPO_MS_DAY;
    ck_assert_int_eq(cpo_bars_append(b, T0, 10, 12, 9, 11, 1, 11, 13, 8, NAN), 0);
    ck_assert_int_eq(cpo_bars_append(b, T0 + 24 * H, 11, 15, 10, 14, 1, 14, 16, 9, NAN), 0);
    spec.max_fill = 0;
    m = build_ok(dd, &spec);
    const double *mh = cpo_market_col(m, CPO_F_MARK_HIGH, 1);
    ck_assert(isnan(mh[0]) && isnan(mh[22]));
    ck_assert(mh[23] == 13 && mh[24] == 13 && mh[46] == 13 && mh[47] == 16);
    ck_assert(cpo_market_col(m, CPO_F_MARK_LOW, 1)[47] == 9);
    cpo_market_free(m);
    cpo_dataset_free(dd);
    cpo_dataset_free(ds);
}
END_TEST

/* Spot bars without marks: the cube has no mark column, under both fill
 * policies (the forward fill must not write one); one bar with a mark
 * brings the column back, NaN where the data has none. */
START_TEST(test_no_mark_no_column)
{
    cpo_dataset *ds = new_ds();
    size_t a = add_instr(ds, "A", CPO_KIND_SPOT);
    const int64_t ta[] = {T0, T0 + H, T0 + 3 * H};
    cpo_bars *b = &ds->bars[a];
    b->bar_ms = H;
    for (size_t k = 0; k < 3; k++)
        ck_assert_int_eq(cpo_bars_append(b, ta[k], 10, 13, 9, 10 + (double)k, 1, NAN, NAN, NAN,
                                         NAN),
                         0);
    cpo_market_spec spec;
    cpo_market_spec_init(&spec);
    for (int fill = 0; fill < 2; fill++) {
        spec.fill = fill ? CPO_FILL_FORWARD : CPO_FILL_NONE;
        cpo_market *m = build_ok(ds, &spec);
        ck_assert_uint_eq(m->n_steps, 4);
        ck_assert_ptr_null(m->col[CPO_F_MARK]);
        ck_assert_ptr_null(cpo_market_col(m, CPO_F_MARK, 0));
        /* the close as the data gives it; step 2 carried forward or NaN */
        const double want[] = {10, 11, fill ? 11 : X, 12};
        expect_col(cpo_market_col(m, CPO_F_CLOSE, 0), want, 4, "A.close");
        cpo_market_free(m);
    }
    /* A second instrument with one mark: the column is back. */
    size_t p = add_instr(ds, "P", CPO_KIND_PERP);
    b = &ds->bars[p];
    b->bar_ms = H;
    ck_assert_int_eq(cpo_bars_append(b, T0 + H, 20, 21, 19, 20, 1, 20.5, NAN, NAN, NAN), 0);
    spec.fill = CPO_FILL_NONE;
    cpo_market *m = build_ok(ds, &spec);
    ck_assert_ptr_nonnull(m->col[CPO_F_MARK]);
    const double a_mark[] = {X, X, X, X}, p_mark[] = {X, 20.5, X, X};
    expect_col(cpo_market_col(m, CPO_F_MARK, 0), a_mark, 4, "A.mark");
    expect_col(cpo_market_col(m, CPO_F_MARK, 1), p_mark, 4, "P.mark");
    cpo_market_free(m);
    cpo_dataset_free(ds);
}
END_TEST

static Suite *market_suite(void)
{
    Suite *s = suite_create("market");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_spec_defaults_and_field_names);
    tcase_add_test(tc, test_align_two_spans_nan_leading);
    tcase_add_test(tc, test_forward_fill_unlimited);
    tcase_add_test(tc, test_forward_fill_max_fill);
    tcase_add_test(tc, test_forward_fill_mark_index_own_last);
    tcase_add_test(tc, test_symbols_select_and_order);
    tcase_add_test(tc, test_unknown_symbol);
    tcase_add_test(tc, test_explicit_span);
    tcase_add_test(tc, test_misaligned_refused);
    tcase_add_test(tc, test_daily_on_hourly);
    tcase_add_test(tc, test_coarse_bar_across_grid_edges);
    tcase_add_test(tc, test_median_spacing);
    tcase_add_test(tc, test_chain_rows_funding_iv);
    tcase_add_test(tc, test_step_at);
    tcase_add_test(tc, test_empty_and_bad_spec);
    tcase_add_test(tc, test_mark_high_low_columns);
    tcase_add_test(tc, test_mark_high_low_forward_fill);
    tcase_add_test(tc, test_no_mark_no_column);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(market_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
