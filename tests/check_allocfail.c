/*
 * check_allocfail.c - every allocation of a whole `cpo run`, failed one at
 * a time.
 *
 * This suite is linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,
 * --wrap=free,--wrap=strdup,--wrap=strndup (CMakeLists.txt, this suite
 * only), so every call that cpo's own code (the static cpo_lib) makes to
 * those functions lands in the __wrap_* functions below.  Allocations made
 * inside the shared libraries (libhdf5, libgsl, jansson, inih, libcsv,
 * libc itself) are not seen: they are not cpo's to handle.
 *
 * The walk: run the whole thing once counting the allocation calls (N),
 * then for k = 1 .. N run it again with the k-th call returning NULL and
 * assert that
 *   - the call returns CPO_ENOMEM with a message (never 0, never a crash:
 *     Check runs the test in a child process, so a crash fails it);
 *   - every block cpo allocated during the call has been freed by the
 *     time the cleanup functions ran (a pointer table in the wrappers);
 *   - no HDF5 object (file, dataset, group, ...) is left open;
 *   - no temporary file (*.tmp) is left in the run folder, and no file of
 *     a run that failed before the renames sits under its final name.
 *
 * Walked so: a run of spot and perpetuals (minimum variance, weekly), the
 * engine alone with every kind of built-in stage, and two runs with
 * option positions (a hedged short strangle on an hourly store with a
 * chain and DVOL: sticky strike filling at the next open, DVOL-scaled
 * filling at the close), which open, mark from the chain and the
 * surface, settle and hedge options and write every option output.
 *
 * Allocation hooks need state that outlives a call, so the counters and
 * the pointer table are file-static here (the project's rule allows a
 * test-only hook to be file-static in the test).
 *
 * pthread_create is wrapped too, and always fails (EAGAIN): every place
 * cpo starts a thread (the attribution files written and read beside the
 * others, sweep workers) does the work in line when it cannot, so the walk
 * sees one thread and the same allocation order every time (k names the
 * same call in every run), and the in-line fallbacks are walked as well.
 */
#define _DEFAULT_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <dirent.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpo/backtest.h"
#include "cpo/black76.h"
#include "cpo/config.h"
#include "cpo/dataset.h"
#include "cpo/import.h"
#include "cpo/market.h"
#include "cpo/registry.h"
#include "cpo/run.h"
#include "cpo/time.h"
#include "params.h"
#include "testutil.h"

/* --- the wrappers ----------------------------------------------------------- */

int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg);

int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg)
{
    (void)th;
    (void)attr;
    (void)fn;
    (void)arg;
    return EAGAIN;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

#define LIVE_SLOTS (1u << 20) /* open addressing; far more than a run holds */
#define TOMB ((uintptr_t)1)

static struct {
    int on;            /* counting and tracking */
    unsigned long calls;
    unsigned long fail_at; /* 1-based call to fail; 0 = none */
    int failed;        /* the armed call was reached */
    size_t live;       /* tracked blocks not freed */
    uintptr_t *slot;   /* LIVE_SLOTS entries: 0 empty, TOMB deleted */
    void **site;       /* [LIVE_SLOTS] the caller that allocated slot[s] */
} hk;

static size_t slot_of(uintptr_t p)
{
    uint64_t h = (uint64_t)p * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 40) & (LIVE_SLOTS - 1);
}

static void track(void *p, void *site)
{
    if (!p || !hk.slot)
        return;
    size_t s = slot_of((uintptr_t)p);
    for (size_t k = 0; k < LIVE_SLOTS; k++, s = (s + 1) & (LIVE_SLOTS - 1))
        if (hk.slot[s] == 0 || hk.slot[s] == TOMB) {
            hk.slot[s] = (uintptr_t)p;
            hk.site[s] = site;
            hk.live++;
            return;
        }
    abort(); /* table full: raise LIVE_SLOTS */
}

/* 1 if p was tracked (and is no longer). */
static int untrack(void *p)
{
    if (!p || !hk.slot)
        return 0;
    size_t s = slot_of((uintptr_t)p);
    for (size_t k = 0; k < LIVE_SLOTS; k++, s = (s + 1) & (LIVE_SLOTS - 1)) {
        if (hk.slot[s] == 0)
            return 0;
        if (hk.slot[s] == (uintptr_t)p) {
            hk.slot[s] = TOMB;
            hk.live--;
            return 1;
        }
    }
    return 0;
}

/* 1: this call fails. */
static int should_fail(void)
{
    if (!hk.on)
        return 0;
    hk.calls++;
    if (hk.fail_at && hk.calls == hk.fail_at) {
        hk.failed = 1;
        return 1;
    }
    return 0;
}

static void *counted_malloc(size_t n, void *site)
{
    if (should_fail())
        return NULL;
    void *p = __real_malloc(n);
    if (hk.on)
        track(p, site);
    return p;
}

void *__wrap_malloc(size_t n)
{
    return counted_malloc(n, __builtin_return_address(0));
}

void *__wrap_calloc(size_t k, size_t n)
{
    if (should_fail())
        return NULL;
    void *p = __real_calloc(k, n);
    if (hk.on)
        track(p, __builtin_return_address(0));
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (!p)
        return counted_malloc(n, __builtin_return_address(0));
    if (n == 0) { /* frees p */
        untrack(p);
        return __real_realloc(p, n);
    }
    if (should_fail())
        return NULL;
    void *q = __real_realloc(p, n);
    if (q && (untrack(p) || hk.on))
        track(q, __builtin_return_address(0));
    return q;
}

void __wrap_free(void *p)
{
    untrack(p);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = counted_malloc(n, __builtin_return_address(0));
    if (p)
        memcpy(p, s, n);
    return p;
}

char *__wrap_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = counted_malloc(len + 1, __builtin_return_address(0));
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static void hk_start(unsigned long fail_at)
{
    if (!hk.slot) {
        hk.slot = __real_calloc(LIVE_SLOTS, sizeof *hk.slot);
        hk.site = __real_calloc(LIVE_SLOTS, sizeof *hk.site);
        ck_assert_ptr_nonnull(hk.slot);
        ck_assert_ptr_nonnull(hk.site);
    } else {
        memset(hk.slot, 0, LIVE_SLOTS * sizeof *hk.slot);
    }
    hk.calls = 0;
    hk.live = 0;
    hk.failed = 0;
    hk.fail_at = fail_at;
    hk.on = 1;
}

static void hk_stop(void)
{
    hk.on = 0;
}

/* The call site of a block still tracked, as "file:line" by dladdr-free
 * means: the address, for addr2line -e BINARY. */
static void *hk_leaked_site(void)
{
    for (size_t s = 0; s < LIVE_SLOTS; s++)
        if (hk.slot[s] != 0 && hk.slot[s] != TOMB)
            return hk.site[s];
    return NULL;
}

/* --- the market: a store with a spot pair, a linear and an inverse perp --- */

#define T0 INT64_C(1704067200000) /* 2024-01-01T00:00Z, a Monday */
#define NDAYS 70

static void add_instr(cpo_dataset *ds, const char *sym, cpo_kind kind, cpo_settle settle,
                      double cs, const char *base, const char *quote, double p0, double drift,
                      int mark, int index, double rate)
{
    cpo_instrument in;
    cpo_instrument_init(&in, sym, kind, settle);
    in.contract_size = cs;
    snprintf(in.base, sizeof in.base, "%s", base);
    snprintf(in.quote, sizeof in.quote, "%s", quote);
    size_t idx;
    cpo_error e;
    ck_assert_msg(cpo_dataset_add(ds, &in, &idx, &e) == 0, "%s", tu_errstr(&e));
    cpo_bars *b = &ds->bars[idx];
    b->bar_ms = CPO_MS_DAY;
    double prev = p0;
    for (int t = 0; t < NDAYS; t++) {
        /* A wobble so that the covariance is positive definite. */
        double c = p0 * (1.0 + drift * t + 0.03 * sin(t * 0.9 + p0));
        int64_t ts = T0 + (int64_t)t * CPO_MS_DAY;
        /* with a mark: its high and low too (mark-price klines), so that the
         * store's optional columns and the cube's columns of them are walked */
        ck_assert_int_eq(cpo_bars_append(b, ts, prev, fmax(prev, c) * 1.01, fmin(prev, c) * 0.99,
                                         c, 5000.0, mark ? c * 1.0005 : NAN,
                                         mark ? c * 1.004 : NAN, mark ? c * 0.996 : NAN,
                                         index ? c : NAN),
                         0);
        prev = c;
        if (rate != 0.0)
            for (int h = 0; h < 3; h++)
                ck_assert_int_eq(cpo_funding_append(&ds->funding[idx], ts + h * 8 * CPO_MS_HOUR,
                                                    rate * (1 + h), NAN, NAN),
                                 0);
    }
}

static char *write_store(const char *dir)
{
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    add_instr(ds, "BTCUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT", 40000, 0.002, 0, 0,
              0.0);
    add_instr(ds, "ETHUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "ETH", "USDT", 2200, -0.001, 0, 0,
              0.0);
    add_instr(ds, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT", 40010, 0.002,
              1, 0, 0.0001);
    add_instr(ds, "BTCUSD-PERP", CPO_KIND_PERP, CPO_SETTLE_INVERSE, 100.0, "BTC", "USD", 39990,
              0.0021, 0, 1, -0.00005);
    char *p = tu_path(dir, "store.h5");
    ck_assert_msg(cpo_store_write(ds, p, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    return p;
}

/* Weekly minimum variance on the four, scaled by a volatility target,
 * with costs, a participation cap and impact, per-instrument detail, and
 * a benchmark (its own cube and returns). */
static const char *const run_cfg =
    "[backtest]\ndata = store.h5\nstart = 2024-01-20\nwarmup = 19d\ncapital = 100000\n"
    "detail = instrument\ncash_buffer = 0.02\nbenchmark = ETHUSDT\n"
    "[universe]\nsymbols = BTCUSDT, ETHUSDT, BTCUSDT-PERP, BTCUSD-PERP\n"
    "[costs]\nfee_bps = 10\nslippage_bps = 5\nimpact_coef = 0.1\nparticipation_cap = 0.5\n"
    "perp_leverage = 2\n"
    "[strategy]\nschedule = weekly, monthly\nselect = all\nweigh = minvar\noverlay = voltarget\n"
    "[weigh.minvar]\nlookback = 14d\nmax_weight = 0.6\n"
    "[overlay.voltarget]\ntarget = 0.5\nlookback = 14d\nmax_leverage = 1\n";

/* --- the walk --------------------------------------------------------------- */

typedef struct walk {
    char *dir;   /* temp folder holding the store and the config */
    char *cfg;   /* config path */
    char *out;   /* run folder */
} walk;

static void walk_init(walk *w, char *(*store)(const char *dir), const char *cfg_text)
{
    w->dir = tu_tmpdir();
    free(store(w->dir));
    w->cfg = tu_path(w->dir, "alloc.ini");
    tu_write_file(w->cfg, cfg_text);
    w->out = tu_path(w->dir, "run");
    /* No gnuplot: the report writes its scripts and data, draws nothing
     * (a fork per step of the walk would take minutes). */
    setenv("PATH", "/nonexistent", 1);
}

static void walk_fini(walk *w)
{
    tu_rmtree(w->dir);
    free(w->dir);
    free(w->cfg);
    free(w->out);
}

/* `cpo run CONFIG -o OUT` as the CLI does it, minus the printing. */
static int whole_run(const walk *w, cpo_error *e)
{
    cpo_config *cfg = NULL;
    int rc = cpo_config_load(&cfg, w->cfg, e);
    if (rc)
        return rc;
    cpo_run_opts o;
    cpo_run_opts_init(&o);
    o.out_dir = w->out;
    o.command = "cpo run alloc.ini";
    cpo_run_report rep;
    rc = cpo_run_to_dir(cfg, &o, &rep, e);
    cpo_config_free(cfg);
    return rc;
}

/* Quiet stderr while the walk runs (warnings of the report, HDF5's error
 * stack); returns the saved descriptor. */
static int mute_stderr(void)
{
    fflush(stderr);
    int saved = dup(2);
    int nul = open("/dev/null", O_WRONLY);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(nul, 0);
    dup2(nul, 2);
    close(nul);
    return saved;
}

static void unmute_stderr(int saved)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

/* The clean run: counts its allocation calls, asserts it succeeded and
 * left nothing allocated; the run folder stays for the caller to check. */
static unsigned long count_run(const walk *w)
{
    cpo_error e;
    cpo_error_clear(&e);
    hk_start(0);
    int rc = whole_run(w, &e);
    hk_stop();
    ck_assert_msg(rc == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(hk.live, 0);
    return hk.calls;
}

/* Fail the k-th allocation for k = 1 .. total, asserting what the header
 * says for each.  Returns how many were walked. */
static unsigned long walk_failures(const walk *w, unsigned long total)
{
    cpo_error e;
    unsigned long walked = 0;
    int saved = mute_stderr();
    /* Debugging aids: CPO_ALLOCFAIL_FROM=k starts the walk at k (with
     * CK_FORK=no under gdb), CPO_ALLOCFAIL_TRACE=1 prints each k. */
    const char *from = getenv("CPO_ALLOCFAIL_FROM");
    unsigned long k0 = from ? strtoul(from, NULL, 10) : 1;
    for (unsigned long k = k0 ? k0 : 1; k <= total; k++) {
        cpo_error_clear(&e);
        if (getenv("CPO_ALLOCFAIL_TRACE"))
            dprintf(saved, "allocation %lu\n", k);
        hk_start(k);
        int rc = whole_run(w, &e);
        hk_stop();
        ck_assert_msg(hk.failed, "allocation %lu of %lu never reached", k, total);
        ck_assert_msg(rc == CPO_ENOMEM, "allocation %lu of %lu failed: returned %d (%s), "
                      "expected CPO_ENOMEM", k, total, rc, tu_errstr(&e));
        ck_assert_msg(e.msg[0] != '\0', "allocation %lu: no message", k);
        ck_assert_msg(hk.live == 0,
                      "allocation %lu of %lu failed: %zu blocks left allocated (one by the call "
                      "at %p)", k, total, hk.live, hk_leaked_site());
        ssize_t open_h5 = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
        ck_assert_msg(open_h5 == 0, "allocation %lu: %zd HDF5 objects left open", k, open_h5);
        char first_tmp[2048] = "";
        size_t ntmp = tu_count_tmp(w->out, first_tmp, sizeof first_tmp);
        ck_assert_msg(ntmp == 0, "allocation %lu: %zu temporary files left (%s)", k, ntmp,
                      first_tmp);
        /* The manifest is renamed last, before the report: a failure
         * before it leaves no final-named file at all. */
        if (!tu_file_in(w->out, "manifest.json"))
            ck_assert_msg(!tu_file_in(w->out, "summary.json") && !tu_file_in(w->out, "ledger.csv"),
                          "allocation %lu: final files without the manifest", k);
        tu_rmtree(w->out);
        walked++;
    }
    unmute_stderr(saved);
    return walked;
}

START_TEST(test_allocfail__whole_run_every_allocation)
{
    walk w;
    walk_init(&w, write_store, run_cfg);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    /* (a) The count: a clean run, and nothing of it left allocated. */
    unsigned long total = count_run(&w);
    /* The run allocates (config, cube, engine, outputs, report): a count
     * of a few is a sign the wrappers are not linked in. */
    ck_assert_uint_gt(total, 200);
    ck_assert(tu_file_in(w.out, "summary.json"));
    ck_assert(tu_file_in(w.out, "report.html"));
    tu_rmtree(w.out);
    fprintf(stderr, "check_allocfail: whole run: %lu allocation calls walked\n", total);

    /* (b) Every call failed in turn. */
    walk_failures(&w, total);
    walk_fini(&w);
}
END_TEST

/* --- a whole run with options ------------------------------------------------ */

/*
 * The market of an options run, hourly over 2024-01-01 00:00 .. 01-03 23:00
 * (72 bars):
 *   - BTCUSDT spot, the index I of the options: close I(t) = 42000 (1 +
 *     0.0004 t + 0.012 sin(0.35 t)), t the hour (a drift and a wobble, so
 *     that the hedge has something to do);
 *   - BTCUSDT-PERP, linear, the hedge: close 1.0003 I(t), mark the same,
 *     funding 0.0001 (1 + 0.5 sin t) every 8 hours;
 *   - a BTC chain of four snapshots, at 01-01 01:20 (before the start:
 *     the grid reaches back to its bar), 01-02 09:20, 01-02 16:20 and
 *     01-03 09:20, each listing the first three expiries still alive of
 *     01-02, 01-03, 01-05 and 01-12 (08:00), calls and puts at strikes
 *     38000 .. 48000 step 1000; vol sigma(k) = 0.55 - 0.1 k + 0.3 k^2 + 0.02 j (k = ln(K/F),
 *     j the snapshot), forward F = I exp(0.05 T), I the close of the bar
 *     holding the snapshot; mark = cpo_black76 price / F (Deribit's coin
 *     mark), bid and ask 2 % either side less and plus 0.0001 coin (no bid
 *     under 0.0001), delta from the same cpo_black76 call.  The snapshot
 *     of 01-02 16:20 repeats the rows of 09:20 without a mark IV: it has
 *     no surface, an event of the run (the walk fails its allocation
 *     too), and 09:20's surface stays;
 *   - BTC-DVOL, daily 2023-12-25 .. 2024-01-04, close 52 + 0.7 d.
 * The values are made up to give a run that opens, marks, settles and
 * hedges options; the walk checks only that every failure is clean.
 */
#define OPT_HOURS 72
#define OPT_EXPIRY(day) (T0 + (int64_t)((day) - 1) * CPO_MS_DAY + 8 * CPO_MS_HOUR)

static double opt_index(int h)
{
    return 42000.0 * (1.0 + 0.0004 * h + 0.012 * sin(0.35 * h));
}

static void opt_bars(cpo_dataset *ds, const char *sym, cpo_kind kind, double basis, int funding)
{
    cpo_instrument in;
    cpo_instrument_init(&in, sym, kind, CPO_SETTLE_LINEAR);
    snprintf(in.base, sizeof in.base, "BTC");
    snprintf(in.quote, sizeof in.quote, "USDT");
    size_t idx;
    cpo_error e;
    ck_assert_msg(cpo_dataset_add(ds, &in, &idx, &e) == 0, "%s", tu_errstr(&e));
    cpo_bars *b = &ds->bars[idx];
    b->bar_ms = CPO_MS_HOUR;
    for (int h = 0; h < OPT_HOURS; h++) {
        double o = basis * opt_index(h > 0 ? h - 1 : 0), c = basis * opt_index(h);
        int64_t ts = T0 + (int64_t)h * CPO_MS_HOUR;
        ck_assert_int_eq(cpo_bars_append(b, ts, o, fmax(o, c) * 1.001, fmin(o, c) * 0.999, c, 1e4,
                                         funding ? c : NAN, NAN, NAN, NAN),
                         0);
        if (funding && h % 8 == 0)
            ck_assert_int_eq(cpo_funding_append(&ds->funding[idx], ts, 1e-4 * (1.0 + 0.5 * sin(h)),
                                                NAN, NAN),
                             0);
    }
}

static void opt_snapshot(cpo_chain *ch, int j, int hour, int minute, int no_iv)
{
    static const int day[] = {2, 3, 5, 12};
    int64_t ts = T0 + (int64_t)hour * CPO_MS_HOUR + (int64_t)minute * CPO_MS_MINUTE;
    double I = opt_index(hour);
    int listed = 0;
    for (size_t x = 0; x < sizeof day / sizeof day[0] && listed < 3; x++) {
        int64_t ex = OPT_EXPIRY(day[x]);
        if (ex <= ts)
            continue;
        listed++;
        double T = (double)(ex - ts) / (365.0 * 86400000.0), F = I * exp(0.05 * T);
        for (int K = 38000; K <= 48000; K += 1000)
            for (int right = CPO_RIGHT_CALL; right <= CPO_RIGHT_PUT; right++) {
                double k = log(K / F), vol = 0.55 - 0.1 * k + 0.3 * k * k + 0.02 * j;
                cpo_black76_in in = {F, K, T, 0.0, vol, right};
                cpo_black76_out o;
                ck_assert_int_eq(cpo_black76(&in, &o), 0);
                size_t r;
                ck_assert_int_eq(cpo_chain_append_row(ch, &r), 0);
                ch->ts[r] = ts;
                ch->expiry_ms[r] = ex;
                ch->strike[r] = K;
                ch->right[r] = (int8_t)right;
                ch->mark_px[r] = o.price / F;
                ch->mark_iv[r] = no_iv ? NAN : vol;
                ch->fwd_px[r] = F;
                ch->index_px[r] = I;
                ch->delta[r] = o.delta;
                double bid = ch->mark_px[r] * 0.98 - 1e-4;
                ch->bid_px[r] = bid >= 1e-4 ? bid : NAN;
                ch->ask_px[r] = ch->mark_px[r] * 1.02 + 1e-4;
                snprintf(ch->name[r], sizeof ch->name[r], "BTC-%dJAN24-%d-%c", day[x], K,
                         right == CPO_RIGHT_PUT ? 'P' : 'C');
            }
    }
}

static char *write_opt_store(const char *dir)
{
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_int_eq(cpo_dataset_new(&ds, &e), 0);
    opt_bars(ds, "BTCUSDT", CPO_KIND_SPOT, 1.0, 0);
    opt_bars(ds, "BTCUSDT-PERP", CPO_KIND_PERP, 1.0003, 1);
    cpo_chain *ch;
    ck_assert_int_eq(cpo_dataset_chain(ds, "BTC", &ch, &e), 0);
    opt_snapshot(ch, 0, 1, 20, 0);
    opt_snapshot(ch, 1, 33, 20, 0);
    opt_snapshot(ch, 1, 40, 20, 1);
    opt_snapshot(ch, 2, 57, 20, 0);
    ck_assert_int_eq(cpo_chain_sort(ch), 0);
    cpo_ivindex *iv;
    ck_assert_int_eq(cpo_dataset_ivindex(ds, "BTC-DVOL", &iv, &e), 0);
    for (int d = 0; d < 11; d++) {
        double c = 52.0 + 0.7 * d;
        int64_t ts = T0 + (int64_t)(d - 7) * CPO_MS_DAY;
        ck_assert_int_eq(cpo_ivindex_append(iv, ts, c - 0.5, c + 1.0, c - 1.0, c), 0);
    }
    char *p = tu_path(dir, "store.h5");
    ck_assert_msg(cpo_store_write(ds, p, &e) == 0, "%s", tu_errstr(&e));
    cpo_dataset_free(ds);
    return p;
}

/* A short 25-delta strangle on the expiry about a day out, held to
 * settlement (three expiries sold, two settle in the run), delta-hedged
 * with the perp at every step outside a 2 % band (configs/
 * short_strangle_hedged.ini, shortened); the %s are the fill (next_open,
 * close) and the surface mode. */
static const char *const opt_cfg_fmt =
    "[backtest]\ndata = store.h5\nstart = 2024-01-01T02:00:00Z\nend = 2024-01-03T23:00:00Z\n"
    "capital = 1000000\ncurrency = USD\ncollateral = BTC:0.5\ndetail = instrument\n"
    "[universe]\nperp = BTCUSDT-PERP\n"
    "[costs]\nfill = %s\nperp_fee_bps = 5\nslippage_bps = 1\nperp_leverage = 5\n"
    "[options]\nunderlyings = BTC\nindex.BTC = BTCUSDT\ndvol.BTC = BTC-DVOL\nsurface = %s\n"
    "coin_price = forward\nfee_rate = 0.0003\nfee_cap = 0.125\ndelivery_fee = 0.00015\n"
    "delivery_cap = 0.125\nmax_quote_age = 2d\n"
    "[strategy]\nschedule = every\nweigh = strangle\nhedge = delta_hedge\n"
    "[weigh.strangle]\nunderlying = BTC\nside = sell\ndelta = 0.25\ntenor = 1d\nmin_tenor = 6h\n"
    "roll = expiry\nsize = 1\n"
    "[hedge.delta_hedge]\ninstrument = BTCUSDT-PERP\nband = 0.02\n";

/* 1 if a file of this name is anywhere under dir. */
static int found_under(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int hit = 0;
    struct dirent *de;
    while (!hit && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            hit = found_under(p, name);
        else
            hit = !strcmp(de->d_name, name);
    }
    closedir(d);
    return hit;
}

/* Lines of file dir/name containing needle;
 * 0 if the file is missing. */
static size_t lines_with(const char *dir, const char *name, const char *needle)
{
    char *p = tu_path(dir, name);
    size_t len = 0, n = 0;
    char *text = tu_read_file(p, &len);
    free(p);
    if (!text)
        return 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        n += strstr(line, needle) != NULL;
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return n;
}

/* Rows of a CSV whose column `a` reads `va` and column `b` reads `vb`,
 * the columns found by name in the header (the files gain columns). */
static size_t rows_where(const char *dir, const char *name, const char *a, const char *va,
                         const char *b, const char *vb)
{
    char *p = tu_path(dir, name);
    size_t len = 0, n = 0;
    char *text = tu_read_file(p, &len);
    free(p);
    if (!text)
        return 0;
    int ia = -1, ib = -1, row = 0;
    for (char *line = text; line && *line; row++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        int col = 0, hit = 0;
        for (char *f = line; f; col++) {
            char *comma = strchr(f, ',');
            if (comma)
                *comma = '\0';
            if (row == 0) {
                if (!strcmp(f, a))
                    ia = col;
                if (!strcmp(f, b))
                    ib = col;
            } else {
                hit += (col == ia && !strcmp(f, va)) + (col == ib && !strcmp(f, vb));
            }
            f = comma ? comma + 1 : NULL;
        }
        n += row > 0 && hit == 2;
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    ck_assert_msg(ia >= 0 && ib >= 0, "%s: no column %s or %s", name, a, b);
    return n;
}

static void options_walk(const char *fill, const char *surface)
{
    char cfg[2048];
    int n = snprintf(cfg, sizeof cfg, opt_cfg_fmt, fill, surface);
    ck_assert(n > 0 && (size_t)n < sizeof cfg);
    walk w;
    walk_init(&w, write_opt_store, cfg);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    /* (a) The clean run opens, marks (chain and surface), settles and
     * hedges options and writes every option output. */
    unsigned long total = count_run(&w);
    ck_assert_uint_gt(total, 200);
    static const char *const files[] = {"summary.json",      "report.html",
                                        "options.csv",       "option_trades.csv",
                                        "explain.csv",       "explain_by.csv",
                                        "trades.csv",        "ledger_instruments.csv"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++)
        ck_assert_msg(tu_file_in(w.out, files[f]), "%s: no %s", surface, files[f]);
    ck_assert_msg(found_under(w.out, "attribution_greek.csv"), "%s: no attribution_greek.csv",
                  surface);
    /* option_trades.csv: settlement 0 (a fill) or 1, liquidation 0.
     * The strangle (tenor 1d, min_tenor 6h) sells at the first step the
     * expiry of 01-02 (30 h away; 01-03 is 54 h), at its settlement (01-02
     * 08:00) the one of 01-03 (24 h), at that one's settlement the one of
     * 01-05 (48 h; 01-12 is 9 days): three pairs of fills, the first two
     * pairs settled in the run.  max_quote_age = 2d lets the next-open
     * fills take the snapshot before them (up to 31 h old), so legs are
     * held through the 09:20 snapshots (the chain marks below); the wait
     * for a fresh quote has its own tests in check_optbook. */
    ck_assert_uint_eq(rows_where(w.out, "option_trades.csv", "settlement", "0", "liquidation", "0"),
                      6);
    ck_assert_uint_eq(rows_where(w.out, "option_trades.csv", "settlement", "1", "liquidation", "0"),
                      4);
    ck_assert_uint_eq(lines_with(w.out, "events.csv", "fresh quote"), 0);
    /* options.csv: the source column of the marks; the snapshots of
     * 01-02 and 01-03 09:20 fall in a bar where legs are held. */
    ck_assert_uint_gt(lines_with(w.out, "options.csv", ",chain,"), 0);
    ck_assert_uint_gt(lines_with(w.out, "options.csv", ",surface,"), 0);
    ck_assert_uint_gt(lines_with(w.out, "options.csv", ",settle,"), 0);
    /* The hedge traded the perp. */
    ck_assert_uint_gt(lines_with(w.out, "trades.csv", "BTCUSDT-PERP"), 2);
    /* The snapshot without IVs: an event, the surface of 09:20 kept. */
    ck_assert_uint_eq(lines_with(w.out, "events.csv", "no surface"), 1);
    tu_rmtree(w.out);

    /* (b) Every call failed in turn, under ASan too (measured: about 50 s
     * for each of the two runs there, 15 to 20 s without; well inside the
     * timeouts). */
    unsigned long walked = walk_failures(&w, total);
    fprintf(stderr, "check_allocfail: options run (fill %s, %s): %lu allocation calls walked\n",
            fill, surface, walked);
    walk_fini(&w);
}

START_TEST(test_allocfail__options_run_sticky_strike_next_open)
{
    options_walk("next_open", "sticky_strike");
}
END_TEST

START_TEST(test_allocfail__options_run_dvol_scaled_fill_close)
{
    options_walk("close", "dvol_scaled");
}
END_TEST

/* --- the engine alone, with every built-in kind of stage ------------------ */

START_TEST(test_allocfail__engine_fill_at_close)
{
    /* The same market straight into cpo_backtest_run (no store, no files),
     * filling at the close, with per-instrument rows into a sink: the
     * engine's and the stages' own paths, walked the same way. */
    cpo_dataset *ds = NULL;
    ck_assert_int_eq(cpo_dataset_new(&ds, NULL), 0);
    add_instr(ds, "BTCUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT", 40000, 0.002, 0, 0,
              0.0);
    add_instr(ds, "ETHUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR, 1.0, "ETH", "USDT", 2200, -0.001, 0, 0,
              0.0);
    add_instr(ds, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR, 1.0, "BTC", "USDT", 40010, 0.002,
              1, 0, 0.0001);
    add_instr(ds, "BTCUSD-PERP", CPO_KIND_PERP, CPO_SETTLE_INVERSE, 100.0, "BTC", "USD", 39990,
              0.0021, 0, 1, -0.00005);
    cpo_market *m = NULL;
    cpo_market_spec ms;
    cpo_market_spec_init(&ms);
    cpo_error e;
    ck_assert_msg(cpo_market_build(&m, ds, &ms, &e) == 0, "%s", tu_errstr(&e));
    cpo_registry *reg = NULL;
    ck_assert_int_eq(cpo_registry_new(&reg, NULL), 0);
    static const struct {
        cpo_stage_role role;
        const char *name;
    } pipe[] = {{CPO_ROLE_SCHEDULE, "weekly"}, {CPO_ROLE_SELECT, "all"},
                {CPO_ROLE_WEIGH, "erc"},      {CPO_ROLE_OVERLAY, "voltarget"},
                {CPO_ROLE_HEDGE, "hedge_beta"}};
    cpo_run_spec spec;
    cpo_run_spec_init(&spec);
    spec.fill = CPO_FILL_THIS_CLOSE;
    spec.detail = CPO_DETAIL_INSTRUMENT;
    spec.collateral[0] = '\0';
    cpo_params *ps[5];
    for (size_t s = 0; s < 5; s++) {
        const cpo_stage_def *d = cpo_registry_find(reg, pipe[s].role, pipe[s].name);
        ck_assert_msg(d != NULL, "no stage %s", pipe[s].name);
        ck_assert_int_eq(cpo_params_new(&ps[s], d, NULL), 0);
        if (!strcmp(pipe[s].name, "hedge_beta"))
            ck_assert_int_eq(cpo_params_set(ps[s], "hedge", "BTCUSDT-PERP", NULL, 0), 0);
        if (!strcmp(pipe[s].name, "erc") || !strcmp(pipe[s].name, "voltarget") ||
            !strcmp(pipe[s].name, "hedge_beta"))
            ck_assert_int_eq(cpo_params_set(ps[s], "lookback", "14d", NULL, 0), 0);
        const char *missing = NULL;
        ck_assert_msg(cpo_params_finish(ps[s], &missing) == 0, "%s: no %s", pipe[s].name, missing);
        spec.stages[s].def = d;
        spec.stages[s].params = ps[s];
    }
    spec.n_stages = 5;
    cpo_result *r = NULL;
    hk_start(0);
    int rc = cpo_backtest_run(&r, m, &spec, NULL, NULL, &e);
    hk_stop();
    ck_assert_msg(rc == 0, "%s", tu_errstr(&e));
    ck_assert_uint_gt(r->n_trades, 0);
    cpo_result_free(r);
    unsigned long total = hk.calls;
    ck_assert_uint_gt(total, 20);
    fprintf(stderr, "check_allocfail: engine: %lu allocation calls walked\n", total);
    for (unsigned long k = 1; k <= total; k++) {
        hk_start(k);
        r = NULL;
        rc = cpo_backtest_run(&r, m, &spec, NULL, NULL, &e);
        hk_stop();
        ck_assert_msg(rc == CPO_ENOMEM, "allocation %lu of %lu: returned %d (%s)", k, total, rc,
                      tu_errstr(&e));
        ck_assert_ptr_null(r);
        ck_assert_msg(hk.live == 0, "allocation %lu: %zu blocks left (one by the call at %p)", k,
                      hk.live, hk_leaked_site());
    }
    for (size_t s = 0; s < 5; s++)
        cpo_params_free(ps[s]);
    cpo_registry_free(reg);
    cpo_market_free(m);
    cpo_dataset_free(ds);
}
END_TEST

/* The dated futures' imports (tests/data/futures/): two chain snapshots
 * into one dataset (the second merged over the first: the several
 * instruments of one file, CPO_STAGE_SETS), Deribit's JSON chart data and
 * Binance delivery klines, the dataset freed inside the walk. */
static int futures_imports(cpo_error *e)
{
    static const struct {
        const char *file;
        cpo_format fmt;
    } f[] = {{"futures/weekly_futures_20260109.csv", CPO_FMT_DERIBIT_CHAIN_FUTURES},
             {"futures/weekly_futures_20260102.csv", CPO_FMT_DERIBIT_CHAIN_FUTURES},
             {"futures/deribit_ETH-27MAR26_1h.json", CPO_FMT_DERIBIT_FUTURES},
             {"futures/BTCUSDT_260327_1h.csv", CPO_FMT_BINANCE_DELIVERY_KLINES}};
    cpo_dataset *ds = NULL;
    int rc = cpo_dataset_new(&ds, e);
    for (size_t i = 0; !rc && i < sizeof f / sizeof f[0]; i++) {
        cpo_import_opts o;
        cpo_import_opts_init(&o);
        o.format = f[i].fmt;
        size_t n0 = ds->n_instr, p0 = ds->n_prov;
        rc = cpo_import_file(ds, tu_data(f[i].file), &o, NULL, e);
        /* a failed import leaves the dataset as it was */
        if (rc && (ds->n_instr != n0 || ds->n_prov != p0))
            rc = CPO_EINVAL;
    }
    if (!rc && ds->n_instr != 4)
        rc = cpo_error_set(e, CPO_EINVAL, NULL, 0, 0, "%zu instruments", ds->n_instr);
    cpo_dataset_free(ds);
    return rc;
}

START_TEST(test_allocfail__futures_imports)
{
    cpo_error e;
    cpo_error_clear(&e);
    hk_start(0);
    int rc = futures_imports(&e);
    hk_stop();
    ck_assert_msg(rc == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(hk.live, 0);
    unsigned long total = hk.calls;
    ck_assert_uint_gt(total, 20);
    fprintf(stderr, "check_allocfail: futures imports: %lu allocation calls walked\n", total);
    int saved = mute_stderr();
    for (unsigned long k = 1; k <= total; k++) {
        cpo_error_clear(&e);
        hk_start(k);
        rc = futures_imports(&e);
        hk_stop();
        ck_assert_msg(hk.failed, "allocation %lu of %lu never reached", k, total);
        ck_assert_msg(rc == CPO_ENOMEM, "allocation %lu of %lu: returned %d (%s)", k, total, rc,
                      tu_errstr(&e));
        ck_assert_msg(e.msg[0] != '\0', "allocation %lu: no message", k);
        ck_assert_msg(hk.live == 0, "allocation %lu: %zu blocks left (one by the call at %p)", k,
                      hk.live, hk_leaked_site());
    }
    unmute_stderr(saved);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("allocfail");
    TCase *te = tcase_create("engine");
    tcase_set_timeout(te, 600);
    tcase_add_test(te, test_allocfail__engine_fill_at_close);
    tcase_add_test(te, test_allocfail__futures_imports);
    suite_add_tcase(s, te);
    TCase *tr = tcase_create("run");
    tcase_set_timeout(tr, 1200);
    tcase_add_test(tr, test_allocfail__whole_run_every_allocation);
    suite_add_tcase(s, tr);
    TCase *to = tcase_create("options");
    tcase_set_timeout(to, 1200);
    tcase_add_test(to, test_allocfail__options_run_sticky_strike_next_open);
    tcase_add_test(to, test_allocfail__options_run_dvol_scaled_fill_close);
    suite_add_tcase(s, to);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
