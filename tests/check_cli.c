/* check_cli.c - the `cpo` program: exit codes, messages, the data commands. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpo/dataset.h"
#include "testutil.h"

static char *out;

static int cpo(const char *args)
{
    char cmd[4096];
    free(out);
    out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s", CPO_BINARY, args);
    return tu_run(cmd, &out);
}

START_TEST(test_cli_usage__exit_codes)
{
    ck_assert_int_eq(cpo(""), 2);
    ck_assert_int_eq(cpo("frobnicate"), 2);
    /* The list of commands follows; its head is fixed. */
    const char *want = "cpo: unknown command \"frobnicate\" (expected one of: data ";
    ck_assert_int_eq(strncmp(out, want, strlen(want)), 0);
    ck_assert_int_eq(cpo("version"), 0);
    ck_assert_int_eq(cpo("data import x.csv"), 2);
    ck_assert_ptr_nonnull(strstr(out, "cpo: no output store (expected -o STORE)\n"));
    ck_assert_int_eq(cpo("data import -o /tmp/x.h5 --partial-last maybe x.csv"), 2);
    ck_assert_ptr_nonnull(strstr(out, "cpo: --partial-last maybe is not valid (expected flag, drop or keep)\n"));
    ck_assert_int_eq(cpo("data info"), 2);
    ck_assert_int_eq(cpo("data formats"), 0);
    ck_assert_ptr_nonnull(strstr(out, "binance-klines"));
    ck_assert_ptr_nonnull(strstr(out, "deribit-chain"));
    ck_assert_ptr_nonnull(strstr(out, "binance-mark-klines"));
    ck_assert_ptr_nonnull(strstr(out, "\nbinance-delivery-klines  Binance quarterly futures klines"));
    ck_assert_ptr_nonnull(strstr(out, "\nderibit-futures          Deribit futures OHLCV"));
    ck_assert_ptr_nonnull(strstr(out, "\nderibit-chain-futures    the futures quotes"));
    ck_assert_int_eq(cpo("data synth -o /tmp/x.h5 --futures sideways"), 2);
    ck_assert_ptr_nonnull(strstr(out, "cpo: --futures sideways is not valid (expected linear, "
                                      "inverse or both)\n"));
    ck_assert_int_eq(cpo("data synth -o /tmp/x.h5 --basis 2"), 2);
    ck_assert_ptr_nonnull(strstr(out, "cpo: --basis 2 is not valid\n"));
}
END_TEST

START_TEST(test_cli_manifest__bad_manifests)
{
    char args[2048];
    char *dir = tu_tmpdir();
    snprintf(args, sizeof args, "data import -o %s/s.h5 -m %s/manifests/unknown_key.ini", dir, CPO_TEST_DATA);
    ck_assert_int_eq(cpo(args), 1);
    char want[2048];
    snprintf(want, sizeof want,
             "cpo: %s/manifests/unknown_key.ini:7: unknown key \"symbl\" in [btc] (expected one of: "
             "file, format, mode, sort, tz, partial_last, symbol, underlying, kind, settle, exchange, "
             "contract_size, step, iv_unit, snapshot_time, keep_last_poll, name)\n",
             CPO_TEST_DATA);
    ck_assert_str_eq(out, want);

    snprintf(args, sizeof args, "data import -o %s/s.h5 -m %s/manifests/bad_value.ini", dir, CPO_TEST_DATA);
    ck_assert_int_eq(cpo(args), 1);
    snprintf(want, sizeof want,
             "cpo: %s/manifests/bad_value.ini:4: partial_last = \"maybe\" is not valid (expected flag, drop or keep)\n",
             CPO_TEST_DATA);
    ck_assert_str_eq(out, want);

    snprintf(args, sizeof args, "data import -o %s/s.h5 -m %s/manifests/no_file.ini", dir, CPO_TEST_DATA);
    ck_assert_int_eq(cpo(args), 1);
    snprintf(want, sizeof want,
             "cpo: %s/manifests/no_file.ini:2: import section has no \"file\" key (expected file = PATH)\n",
             CPO_TEST_DATA);
    ck_assert_str_eq(out, want);

    snprintf(args, sizeof args, "data import -o %s/s.h5 -m %s/manifests/file_in_defaults.ini", dir,
             CPO_TEST_DATA);
    ck_assert_int_eq(cpo(args), 1);
    snprintf(want, sizeof want,
             "cpo: %s/manifests/file_in_defaults.ini:2: key \"file\" in [defaults] (expected it in an import section)\n",
             CPO_TEST_DATA);
    ck_assert_str_eq(out, want);
    /* Nothing was written for any of them. */
    char *s = tu_path(dir, "s.h5");
    ck_assert_ptr_null(tu_read_file(s, NULL));
    free(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_cli_import__writes_store_and_refuses_overwrite)
{
    char args[2048];
    char *dir = tu_tmpdir();
    snprintf(args, sizeof args, "data import --quiet -o %s/s.h5 -m %s/manifests/good.ini", dir, CPO_TEST_DATA);
    ck_assert_msg(cpo(args) == 0, "%s", out);
    /* The store holds the 5 rows of the file (counted by hand). */
    char *s = tu_path(dir, "s.h5");
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_msg(cpo_store_read(&ds, s, &e) == 0, "%s", tu_errstr(&e));
    long i = cpo_dataset_find(ds, "BTCUSDT");
    ck_assert_int_ge(i, 0);
    ck_assert_uint_eq(ds->bars[i].n, 5);
    ck_assert_double_eq(ds->bars[i].close[2], 42845.23);
    ck_assert_uint_eq(ds->n_prov, 1);
    cpo_dataset_free(ds);

    /* A second import without --append or --force is refused, and the
     * store is left as it was. */
    size_t n1, n2;
    char *before = tu_read_file(s, &n1);
    ck_assert_int_eq(cpo(args), 1);
    char want[1024];
    snprintf(want, sizeof want,
             "cpo: %s: the store already exists (expected --append to add to it, or --force to replace it)\n", s);
    ck_assert_str_eq(out, want);
    char *after = tu_read_file(s, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_int_eq(memcmp(before, after, n1), 0);
    free(before);
    free(after);

    /* A failing import into an existing store with --force keeps the old store. */
    snprintf(args, sizeof args, "data import --force -o %s --format binance-klines %s/nonexistent.csv", s, dir);
    ck_assert_int_eq(cpo(args), 1);
    ck_assert_ptr_nonnull(strstr(out, "nothing written"));
    cpo_dataset *again = NULL;
    ck_assert_int_eq(cpo_store_read(&again, s, &e), 0);
    cpo_dataset_free(again);

    /* info describes it. */
    snprintf(args, sizeof args, "data info %s", s);
    ck_assert_int_eq(cpo(args), 0);
    ck_assert_ptr_nonnull(strstr(out, "BTCUSDT"));
    ck_assert_ptr_nonnull(strstr(out, "2024-01-01"));
    free(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A manifest attaches mark-price klines to the klines imported above them
 * (tests/data/mark/, synthetic); in the other order it is refused with the
 * mark file's line and nothing is written. */
START_TEST(test_cli_import__mark_klines_manifest)
{
    char args[2048], want[2048];
    char *dir = tu_tmpdir(), *s = tu_path(dir, "s.h5");
    snprintf(args, sizeof args, "data import -o %s -m %s/manifests/mark.ini", s, CPO_TEST_DATA);
    ck_assert_msg(cpo(args) == 0, "%s", out);
    snprintf(want, sizeof want,
             "%s/manifests/../mark/mark_BTCUSDT_1h_noheader.csv: binance-mark-klines -> "
             "BTCUSDT-PERP: 6 rows read, 6 kept, 2024-01-01T00:00:00Z .. 2024-01-01T05:00:00Z, "
             "step 1h, 0 gaps (0 missing steps); 6 bars marked, 0 mark bars without a bar, 0 bars "
             "without a mark bar\n",
             CPO_TEST_DATA);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_msg(cpo_store_read(&ds, s, &e) == 0, "%s", tu_errstr(&e));
    long i = cpo_dataset_find(ds, "BTCUSDT-PERP");
    ck_assert_int_ge(i, 0);
    ck_assert_ptr_nonnull(ds->bars[i].mark_high);
    /* mark_BTCUSDT_1h_noheader.csv, row 3: close 41852.2, high 42270.0, low 41760.5 */
    ck_assert_double_eq(ds->bars[i].mark[2], 41852.2);
    ck_assert_double_eq(ds->bars[i].mark_high[2], 42270.0);
    ck_assert_double_eq(ds->bars[i].mark_low[2], 41760.5);
    ck_assert_double_eq(ds->bars[i].close[2], 41850);
    ck_assert_uint_eq(ds->n_prov, 2);
    ck_assert_str_eq(ds->prov[1].format, "binance-mark-klines");
    cpo_dataset_free(ds);
    snprintf(args, sizeof args, "data info %s", s);
    ck_assert_int_eq(cpo(args), 0);
    ck_assert_ptr_nonnull(strstr(out, "mark price klines (1)"));
    ck_assert_msg(strstr(out, "6 of 6") != NULL, "%s", out);

    char *s2 = tu_path(dir, "s2.h5");
    snprintf(args, sizeof args, "data import -o %s -m %s/manifests/mark_wrong_order.ini", s2,
             CPO_TEST_DATA);
    ck_assert_int_eq(cpo(args), 1);
    snprintf(want, sizeof want,
             "cpo: %s/manifests/../mark/mark_BTCUSDT_1h_header.csv:2:1: BTCUSDT-PERP is not in "
             "the dataset (expected its klines imported first: before this file on the command "
             "line, or in a section above this one in the manifest)\n"
             "cpo: nothing written to %s\n",
             CPO_TEST_DATA, s2);
    ck_assert_str_eq(out, want);
    ck_assert(!tu_exists(s2));
    free(s2);
    free(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_cli_synth__deterministic)
{
    char args[2048];
    char *dir = tu_tmpdir();
    snprintf(args, sizeof args, "data synth -o %s/a.h5 --assets 3 --steps 500 --seed 9", dir);
    ck_assert_msg(cpo(args) == 0, "%s", out);
    snprintf(args, sizeof args, "data synth -o %s/b.h5 --assets 3 --steps 500 --seed 9", dir);
    ck_assert_int_eq(cpo(args), 0);
    char *a = tu_path(dir, "a.h5"), *b = tu_path(dir, "b.h5");
    cpo_dataset *da = NULL, *db = NULL;
    ck_assert_int_eq(cpo_store_read(&da, a, NULL), 0);
    ck_assert_int_eq(cpo_store_read(&db, b, NULL), 0);
    ck_assert_uint_eq(da->n_instr, 3);
    for (size_t i = 0; i < da->n_instr; i++) {
        ck_assert_uint_eq(da->bars[i].n, 500);
        ck_assert_int_eq(memcmp(da->bars[i].close, db->bars[i].close, 500 * sizeof(double)), 0);
    }
    cpo_dataset_free(da);
    cpo_dataset_free(db);
    snprintf(args, sizeof args, "data synth -o %s/a.h5 --assets 0", dir);
    ck_assert_int_eq(cpo(args), 2);
    free(a);
    free(b);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/*
 * --help on every command and subcommand: exit 0, the usage, and one line
 * of the options list ("  --flag ... what it does") for every --flag the
 * usage names (issue 20: `cpo data --help` and `cpo data info --help` exited
 * 2, `data import --help` listed flags without descriptions).
 */
static void check_help(const char *args)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s --help", args);
    ck_assert_msg(cpo(cmd) == 0, "cpo %s: %s", cmd, out);
    ck_assert_msg(!strncmp(out, "usage: cpo ", 11), "cpo %s: %s", cmd, out);
    const char *blank = strstr(out, "\n\n");
    ck_assert_ptr_nonnull(blank);
    const char *opts = strstr(out, "\noptions:\n");
    /* a command of subcommands only (cpo data) lists them instead */
    ck_assert_msg(opts != NULL || strstr(out, "\ncommands:\n"), "cpo %s: no options list", cmd);
    size_t flags = 0;
    for (const char *p = out; p < blank; p++) {
        if (p[0] != '-' || p[1] != '-' || (p > out && p[-1] != '[' && p[-1] != ' ' && p[-1] != '|'))
            continue;
        char tok[64];
        size_t n = 0;
        while (n + 1 < sizeof tok && (p[n] == '-' || (p[n] >= 'a' && p[n] <= 'z')))
            tok[n] = p[n], n++;
        tok[n] = '\0';
        /* A line of the list: "  --tok" or "  -x, --tok", then the flag's
         * argument and at least two spaces before its help, or a newline
         * and the help on the next line. */
        int found = 0;
        ck_assert_msg(opts != NULL, "cpo %s: %s has no options list", cmd, tok);
        for (const char *l = opts; l && !found; l = strchr(l + 1, '\n')) {
            const char *q = l + 1;
            if (strncmp(q, "  -", 3))
                continue;
            const char *end = strchr(q, '\n');
            const char *at = strstr(q, tok);
            if (!at || (end && at > end))
                continue;
            char after = at[n];
            if (after != ' ' && after != '\n' && after != ',')
                continue;
            const char *help = end ? end : q + strlen(q);
            /* the help text: after a run of 2+ spaces on this line, or the next line */
            const char *gap = strstr(at, "  ");
            found = (gap && gap < help) || (end && !strncmp(end + 1, "    ", 4));
        }
        ck_assert_msg(found, "cpo %s: %s has no line with a description", cmd, tok);
        flags++;
    }
    (void)flags;
}

START_TEST(test_cli_help__every_command)
{
    static const char *const cmds[] = {
        "run",          "report",      "compare",      "sweep",       "metrics",
        "strategies",   "version",     "data",         "data import", "data info",
        "data synth",   "data formats", "options",     "options price", "man",
        "completion"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        check_help(cmds[i]);
    /* `cpo help CMD` is CMD's help (it printed the top-level help). */
    ck_assert_int_eq(cpo("run --help"), 0);
    char *run_help = strdup(out);
    ck_assert_int_eq(cpo("help run"), 0);
    ck_assert_str_eq(out, run_help);
    free(run_help);
    ck_assert_int_eq(cpo("data import --help"), 0);
    char *imp = strdup(out);
    ck_assert_int_eq(cpo("help data import"), 0);
    ck_assert_str_eq(out, imp);
    /* descriptions, not bare flags */
    ck_assert_ptr_nonnull(strstr(imp, "  --lenient                  repair what is safe"));
    free(imp);
    ck_assert_int_eq(cpo("help frobnicate"), 2);
    ck_assert_ptr_nonnull(strstr(out, "cpo: unknown command \"frobnicate\""));
}
END_TEST

/*
 * The README's command list names every command `cpo help` lists (issue
 * 20: `options` and `strategies` were missing), and its attribution
 * section says the Greek table exists (it said "By Greek: not yet").
 */
START_TEST(test_cli_readme__commands_and_greek_attribution)
{
    char *readme = tu_read_file(CPO_SOURCE_DIR "/README.md", NULL);
    ck_assert_ptr_nonnull(readme);
    const char *sec = strstr(readme, "\n## Commands\n");
    ck_assert_ptr_nonnull(sec);
    const char *open = strstr(sec, "```\n"), *close = open ? strstr(open + 4, "```") : NULL;
    ck_assert_ptr_nonnull(close);
    ck_assert_int_eq(cpo("help"), 0);
    size_t n = 0;
    for (const char *l = strstr(out, "commands:\n"); l && (l = strchr(l, '\n')); l++) {
        if (strncmp(l + 1, "  ", 2) || l[3] == ' ')
            continue;
        char name[32], want[48];
        size_t k = 0;
        while (k + 1 < sizeof name && l[3 + k] && l[3 + k] != ' ' && l[3 + k] != '\n')
            name[k] = l[3 + k], k++;
        name[k] = '\0';
        snprintf(want, sizeof want, "\ncpo %s", name);
        const char *at = strstr(open, want);
        ck_assert_msg(at && at < close, "README's command list has no \"cpo %s\"", name);
        n++;
    }
    ck_assert_uint_ge(n, 9);
    ck_assert_ptr_null(strstr(readme, "By Greek**: not yet"));
    const char *attr = strstr(readme, "\n## Attribution\n");
    ck_assert_ptr_nonnull(attr);
    ck_assert_ptr_nonnull(strstr(attr, "**By Greek** — `attribution_greek.csv`"));
    free(readme);
}
END_TEST

/* Every futures format from a manifest; a file whose bars run past the
 * symbol's expiry is refused (exit 1) and nothing is written. */
/*
 * The same file imported twice gives the same store bytes when
 * SOURCE_DATE_EPOCH fixes the import time (HDF5 keeps no object times),
 * and the provenance holds that time: 1700000000 s = 2023-11-14T22:13:20Z.
 */
START_TEST(test_cli_import__reproducible_store)
{
    char *dir = tu_tmpdir(), *a = tu_path(dir, "a.h5"), *b = tu_path(dir, "b.h5");
    char cmd[4096], *text = NULL;
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd,
                 "SOURCE_DATE_EPOCH=1700000000 %s data import --quiet -o %s "
                 "%s/klines/klines_BTCUSDT_1d.csv",
                 CPO_BINARY, k ? b : a, CPO_TEST_DATA);
        ck_assert_msg(tu_run(cmd, &text) == 0, "%s", text);
        free(text);
        if (k == 0)
            nanosleep(&(struct timespec){1, 100000000}, NULL); /* the clock moves on */
    }
    size_t na, nb;
    char *x = tu_read_file(a, &na), *y = tu_read_file(b, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_msg(memcmp(x, y, na) == 0, "the two stores differ");
    free(x);
    free(y);
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_msg(cpo_store_read(&ds, a, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_int_eq(ds->prov[0].import_ms, INT64_C(1700000000000));
    cpo_dataset_free(ds);
    free(a);
    free(b);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_cli_import__futures)
{
    char args[2048];
    char *dir = tu_tmpdir(), *s = tu_path(dir, "f.h5");
    snprintf(args, sizeof args, "data import --quiet -o %s -m %s/manifests/futures.ini", s,
             CPO_TEST_DATA);
    ck_assert_msg(cpo(args) == 0, "%s", out);
    cpo_dataset *ds = NULL;
    cpo_error e;
    ck_assert_msg(cpo_store_read(&ds, s, &e) == 0, "%s", tu_errstr(&e));
    /* BTCUSDT_260327, ETH-27MAR26 (chart data, then a chain quote on
     * 2026-01-02), BTC-27MAR26 (two weekly quotes), BTC-9JAN26 */
    ck_assert_uint_eq(ds->n_instr, 4);
    ck_assert_str_eq(ds->instr[cpo_dataset_find(ds, "BTCUSDT_260327")].exchange, "binance");
    long i = cpo_dataset_find(ds, "ETH-27MAR26");
    ck_assert_str_eq(ds->instr[i].exchange, "deribit");
    ck_assert_uint_eq(ds->bars[i].n, 4);
    ck_assert_uint_eq(ds->bars[cpo_dataset_find(ds, "BTC-27MAR26")].n, 2);
    ck_assert_uint_eq(ds->n_prov, 4);
    cpo_dataset_free(ds);
    snprintf(args, sizeof args, "data info %s", s);
    ck_assert_int_eq(cpo(args), 0);
    ck_assert_msg(strstr(out, "\nfutures (4)\n") != NULL, "%s", out);

    snprintf(args, sizeof args,
             "data import --append -o %s --format binance-delivery-klines "
             "%s/bad/delivery_BTCUSDT_260327_after_expiry.csv",
             s, CPO_TEST_DATA);
    ck_assert_int_eq(cpo(args), 1);
    char want[2048];
    snprintf(want, sizeof want,
             "cpo: %s/bad/delivery_BTCUSDT_260327_after_expiry.csv:6:1: timestamp "
             "2026-03-27T08:00:00Z is at or after the expiry of BTCUSDT_260327, "
             "2026-03-27T08:00:00Z (expected times before the expiry its name gives: the data "
             "disagree with the symbol)\n",
             CPO_TEST_DATA);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "nothing written"));

    snprintf(args, sizeof args, "data synth --force -o %s --assets 1 --steps 100 --futures inverse "
                                "--basis 0.1", s);
    ck_assert_msg(cpo(args) == 0, "%s", out);
    ck_assert_msg(cpo_store_read(&ds, s, &e) == 0, "%s", tu_errstr(&e));
    ck_assert_uint_eq(ds->n_instr, 3); /* SYN000USDT, SYN000USD_240329, SYN000USD_240628 */
    ck_assert_int_ge(cpo_dataset_find(ds, "SYN000USD_240628"), 0);
    ck_assert_ptr_nonnull(strstr(ds->prov[0].options, " futures=inverse basis=0.1 "));
    cpo_dataset_free(ds);
    free(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cli_usage__exit_codes);
    tcase_add_test(tc, test_cli_manifest__bad_manifests);
    tcase_add_test(tc, test_cli_import__mark_klines_manifest);
    tcase_add_test(tc, test_cli_import__writes_store_and_refuses_overwrite);
    tcase_add_test(tc, test_cli_synth__deterministic);
    tcase_add_test(tc, test_cli_help__every_command);
    tcase_add_test(tc, test_cli_readme__commands_and_greek_attribution);
    tcase_add_test(tc, test_cli_import__futures);
    tcase_add_test(tc, test_cli_import__reproducible_store);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(out);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
