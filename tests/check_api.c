/*
 * check_api.c - cpo/api.h and cpo/table.h: a run in memory gives, byte
 * for byte, the files cpo_run_to_dir writes (the expected bytes are the
 * run folder's files of the same config); a folder read back gives the
 * same tables; overrides are checked as the file's keys; tables of a
 * dataset view its arrays.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/api.h"
#include "cpo/config.h"
#include "cpo/dataset.h"
#include "cpo/run.h"
#include "cpo/table.h"
#include "cpo/time.h"
#include "run_priv.h"
#include "testutil.h"

/* 2024-01-01, a Monday. */
#define T0 INT64_C(1704067200000)

/* Two spot coins, 60 daily bars: AAA closes at 100 + t, BBB at 200 - t on
 * day t (tu_two_coin_store). */
static char *write_store(const char *dir)
{
    return tu_two_coin_store(dir);
}

static const char *const cfg_text =
    "[backtest]\ndata = store.h5\ncapital = 100000\n"
    "[costs]\nfee_bps = 10\nslippage_bps = 5\n"
    "[strategy]\nschedule = every_n\nweigh = equal\n"
    "[schedule.every_n]\nn = 10\n";

typedef struct fixture {
    char *dir, *store, *cfg, *out;
} fixture;

/* The store, the config file, and its run folder written by cpo_run_to_dir. */
static void fixture_make(fixture *f)
{
    f->dir = tu_tmpdir();
    f->store = write_store(f->dir);
    f->cfg = tu_path(f->dir, "equal.ini");
    tu_write_file(f->cfg, cfg_text);
    f->out = tu_path(f->dir, "run");
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_msg(cpo_config_load(&c, f->cfg, &e) == 0, "%s", tu_errstr(&e));
    cpo_run_opts o;
    cpo_run_opts_init(&o);
    o.out_dir = f->out;
    cpo_run_report rep;
    ck_assert_msg(cpo_run_to_dir(c, &o, &rep, &e) == 0, "%s", tu_errstr(&e));
    cpo_config_free(c);
}

static void fixture_free(fixture *f)
{
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->store);
    free(f->cfg);
    free(f->out);
}

/* cpo_run_emit: each output against the file of the folder (ctx). */
typedef struct cmp_ctx {
    const char *dir;
    size_t n;
} cmp_ctx;

static int same_as_file(void *ctx, const char *name, char *bytes, size_t len, cpo_error *err)
{
    (void)err;
    cmp_ctx *c = ctx;
    char *p = tu_path(c->dir, name);
    size_t flen = 0;
    char *file = tu_read_file(p, &flen);
    ck_assert_msg(file != NULL, "%s is not in the run folder", name);
    ck_assert_msg(flen == len && memcmp(file, bytes, len) == 0,
                  "%s: %zu bytes in memory, %zu in the file, not the same", name, len, flen);
    free(file);
    free(p);
    c->n++;
    return 0;
}

START_TEST(test_api_memory__outputs_are_the_files_bytes)
{
    fixture f;
    fixture_make(&f);
    cpo_config *c = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_msg(cpo_config_load(&c, f.cfg, &e) == 0, "%s", tu_errstr(&e));
    cmp_ctx ctx = {f.out, 0};
    cpo_result *r = NULL;
    ck_assert_msg(cpo_run_to_memory(c, NULL, same_as_file, &ctx, &r, &e) == 0, "%s",
                  tu_errstr(&e));
    /* trades, events, the 6 attribution files and summary.json (no options). */
    ck_assert_uint_eq(ctx.n, 9);
    /* The ledger table written as CSV is ledger.csv. */
    cpo_results *res = NULL;
    ck_assert_msg(cpo_results_run(&res, f.cfg, NULL, NULL, 0, &e) == 0, "%s", tu_errstr(&e));
    const cpo_table *led = cpo_results_find(res, "ledger");
    ck_assert_ptr_nonnull(led);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    cpo_table_write_csv(led, fp, 0);
    fclose(fp);
    char *p = tu_path(f.out, "ledger.csv");
    size_t flen = 0;
    char *file = tu_read_file(p, &flen);
    ck_assert_msg(flen == len && !memcmp(buf, file, len), "the ledger table is not ledger.csv");
    /* The equity column is the result's array (a view, no copy): the last
     * value equals the summary's final equity. */
    const cpo_col *eq = cpo_table_find(led, "equity");
    ck_assert_int_eq(eq->type, CPO_COL_F64);
    ck_assert_uint_eq(eq->stride, sizeof(double));
    ck_assert_uint_eq(cpo_table_rows(led), r->n_steps);
    ck_assert(memcmp(eq->data, r->equity, r->n_steps * sizeof(double)) == 0);
    ck_assert_ptr_nonnull(strstr(cpo_results_summary(res), "\"final_equity\""));
    free(buf);
    free(file);
    free(p);
    cpo_results_free(res);
    cpo_result_free(r);
    cpo_config_free(c);
    fixture_free(&f);
}
END_TEST

/* Two tables hold the same values (columns, types, rows, notes). */
static void tables_equal(const cpo_table *a, const cpo_table *b)
{
    ck_assert_str_eq(cpo_table_name(a), cpo_table_name(b));
    ck_assert_uint_eq(cpo_table_cols(a), cpo_table_cols(b));
    ck_assert_uint_eq(cpo_table_rows(a), cpo_table_rows(b));
    const char *na = cpo_table_notes(a), *nb = cpo_table_notes(b);
    ck_assert_str_eq(na ? na : "", nb ? nb : "");
    for (size_t k = 0; k < cpo_table_cols(a); k++) {
        const cpo_col *x = cpo_table_col(a, k), *y = cpo_table_col(b, k);
        ck_assert_str_eq(x->name, y->name);
        ck_assert_msg(x->type == y->type, "%s.%s: %s against %s", cpo_table_name(a), x->name,
                      cpo_col_type_name(x->type), cpo_col_type_name(y->type));
        for (size_t i = 0; i < cpo_table_rows(a); i++) {
            const char *p = (const char *)x->data + i * x->stride;
            const char *q = (const char *)y->data + i * y->stride;
            if (x->type == CPO_COL_STR)
                ck_assert_str_eq(*(const char *const *)p, *(const char *const *)q);
            else if (x->type == CPO_COL_F64) {
                double u, v;
                memcpy(&u, p, sizeof u);
                memcpy(&v, q, sizeof v);
                ck_assert_msg(u == v || (isnan(u) && isnan(v)), "%s.%s row %zu: %.17g vs %.17g",
                              cpo_table_name(a), x->name, i, u, v);
            } else
                ck_assert(memcmp(p, q, x->size) == 0);
        }
    }
}

START_TEST(test_api_load__equals_the_run_in_memory)
{
    fixture f;
    fixture_make(&f);
    cpo_error e;
    cpo_error_clear(&e);
    cpo_results *mem = NULL, *disk = NULL;
    /* The config's text, named as the file: relative paths start there. */
    ck_assert_msg(cpo_results_run(&mem, f.cfg, cfg_text, NULL, 0, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_msg(cpo_results_load(&disk, f.out, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_str_eq(cpo_results_summary(mem), cpo_results_summary(disk));
    ck_assert_uint_eq(cpo_results_count(mem), 9); /* ledger, trades, events, 6 attribution */
    ck_assert_uint_eq(cpo_results_count(disk), 9);
    for (size_t k = 0; k < cpo_results_count(mem); k++)
        tables_equal(cpo_results_table(mem, k), cpo_results_table(disk, k));
    /* Types by value: ts is a time, symbol text, qty a number. */
    const cpo_table *tr = cpo_results_find(mem, "trades");
    ck_assert_int_eq(cpo_table_find(tr, "ts")->type, CPO_COL_TIME);
    ck_assert_int_eq(cpo_table_find(tr, "symbol")->type, CPO_COL_STR);
    ck_assert_int_eq(cpo_table_find(tr, "qty")->type, CPO_COL_F64);
    /* The first rebalance buys both coins at the open of day 1 (fill = next_open). */
    ck_assert_uint_ge(cpo_table_rows(tr), 2);
    ck_assert_int_eq(((const int64_t *)cpo_table_find(tr, "ts")->data)[0], T0 + CPO_MS_DAY);
    ck_assert_ptr_nonnull(cpo_table_notes(cpo_results_find(mem, "attribution_asset")));
    cpo_results_free(mem);
    cpo_results_free(disk);
    fixture_free(&f);
}
END_TEST

START_TEST(test_api_overrides__checked_as_the_files_keys)
{
    fixture f;
    fixture_make(&f);
    cpo_error e;
    cpo_error_clear(&e);
    cpo_results *res = NULL;
    const char *free_ov[] = {"costs.fee_bps = 0", " costs.slippage_bps=0 "};
    ck_assert_msg(cpo_results_run(&res, f.cfg, NULL, free_ov, 2, &e) == 0, "%s", tu_errstr(&e));
    const cpo_col *fees = cpo_table_find(cpo_results_find(res, "ledger"), "fees");
    for (size_t i = 0; i < cpo_table_rows(cpo_results_find(res, "ledger")); i++)
        ck_assert(((const double *)fees->data)[i] == 0.0);
    cpo_results_free(res);
    const char *bad[] = {"costs.fill = tomorrow"};
    ck_assert_int_eq(cpo_results_run(&res, f.cfg, NULL, bad, 1, &e), CPO_ECONFIG);
    ck_assert_ptr_null(res);
    char want[1200];
    snprintf(want, sizeof want,
             "%s: fill = \"tomorrow\" is not valid (expected next_open or close)", f.cfg);
    ck_assert_str_eq(tu_errstr(&e), want);
    const char *shape[] = {"fee_bps 5"};
    ck_assert_int_eq(cpo_results_run(&res, f.cfg, NULL, shape, 1, &e), CPO_EUSAGE);
    ck_assert_str_eq(tu_errstr(&e), "override \"fee_bps 5\" is not SECTION.KEY = value "
                                    "(expected e.g. costs.fee_bps = 5 or weigh.fixed.weights = "
                                    "BTCUSDT:1)");
    const char *section[] = {"nosuch.key = 1"};
    ck_assert_int_eq(cpo_results_run(&res, f.cfg, NULL, section, 1, &e), CPO_ECONFIG);
    ck_assert_ptr_nonnull(strstr(e.msg, "unknown section [nosuch]"));
    /* A text with a mistake names the path given and the line. */
    ck_assert_int_eq(cpo_results_run(&res, f.cfg, "[backtest]\ndata = store.h5\n[costs]\nfee_bsp = 1\n",
                                     NULL, 0, &e),
                     CPO_ECONFIG);
    ck_assert_str_eq(e.path, f.cfg);
    ck_assert_int_eq(e.line, 4);
    ck_assert_int_eq(cpo_results_load(&res, f.dir, &e), CPO_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(e.msg, "no summary.json"));
    fixture_free(&f);
}
END_TEST

START_TEST(test_api_dataset_table__views_the_arrays)
{
    fixture f;
    fixture_make(&f);
    cpo_dataset *ds = NULL;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_msg(cpo_store_read(&ds, f.store, &e) == 0, "%s", tu_errstr(&e));
    cpo_table *t = NULL;
    ck_assert_msg(cpo_dataset_table(&t, ds, "bars", "BBBUSDT", &e) == 0, "%s", tu_errstr(&e));
    long i = cpo_dataset_find(ds, "BBBUSDT");
    ck_assert_uint_eq(cpo_table_rows(t), 60);
    ck_assert_ptr_eq(cpo_table_find(t, "close")->data, ds->bars[i].close);
    /* BBB closes at 200 - t on day t. */
    ck_assert(((const double *)cpo_table_find(t, "close")->data)[59] == 141.0);
    cpo_table_free(t);
    ck_assert_msg(cpo_dataset_table(&t, ds, "instruments", NULL, &e) == 0, "%s", tu_errstr(&e));
    const cpo_col *sym = cpo_table_find(t, "symbol"), *kind = cpo_table_find(t, "kind");
    ck_assert_int_eq(sym->type, CPO_COL_CHARS);
    ck_assert_str_eq((const char *)sym->data + sym->stride, "BBBUSDT");
    ck_assert_str_eq(((const char *const *)kind->data)[0], "spot");
    cpo_table_free(t);
    ck_assert_int_eq(cpo_dataset_table(&t, ds, "bars", "CCCUSDT", &e), CPO_ENOTFOUND);
    ck_assert_str_eq(e.msg, "the store has no bars \"CCCUSDT\" (expected one of: AAAUSDT, BBBUSDT)");
    ck_assert_int_eq(cpo_dataset_table(&t, ds, "candles", NULL, &e), CPO_EINVAL);
    cpo_dataset_free(ds);
    fixture_free(&f);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_api_memory__outputs_are_the_files_bytes);
    tcase_add_test(tc, test_api_load__equals_the_run_in_memory);
    tcase_add_test(tc, test_api_overrides__checked_as_the_files_keys);
    tcase_add_test(tc, test_api_dataset_table__views_the_arrays);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(api_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
