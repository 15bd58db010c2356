/* check_csvread.c - libcsv wrapper: records, line numbers, header lookup,
 * number parsing; and the numbers CSV files are written with. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
#include "csvwrite.h"
#include "testutil.h"

typedef struct rows {
    int n;
    long line[16];
    size_t nf[16];
    char text[16][128]; /* fields joined with '|' */
} rows;

static int collect(void *ctx, const cpo_csv_row *row)
{
    rows *r = ctx;
    if (r->n >= 16)
        return 1;
    r->line[r->n] = row->line;
    r->nf[r->n] = row->n;
    r->text[r->n][0] = '\0';
    for (size_t i = 0; i < row->n; i++) {
        if (i)
            strcat(r->text[r->n], "|");
        strncat(r->text[r->n], row->f[i], 60);
    }
    r->n++;
    return 0;
}

START_TEST(test_csv_read__lines_quotes_blank_crlf_bom)
{
    /* Line numbers by hand: header 1, blank 2, row 3, quoted newline row
     * starting on 4 and ending on 5, row 6 with CRLF. */
    const char *text = "\xEF\xBB\xBF" "a,b,c\n\n1,2,3\n\"x\ny\",\"q,\"\"r\"\"\",z\n4,,6\r\n";
    rows r = {0};
    cpo_error e;
    ck_assert_int_eq(cpo_csv_read_mem("t.csv", text, strlen(text), collect, &r, &e), 0);
    ck_assert_int_eq(r.n, 4);
    ck_assert_str_eq(r.text[0], "a|b|c");
    ck_assert_int_eq(r.line[0], 1);
    ck_assert_str_eq(r.text[1], "1|2|3");
    ck_assert_int_eq(r.line[1], 3);
    ck_assert_str_eq(r.text[2], "x\ny|q,\"r\"|z");
    ck_assert_int_eq(r.line[2], 5);
    ck_assert_str_eq(r.text[3], "4||6");
    ck_assert_int_eq(r.line[3], 6);
    ck_assert_uint_eq(r.nf[3], 3);
}
END_TEST

START_TEST(test_csv_read__no_final_newline)
{
    rows r = {0};
    ck_assert_int_eq(cpo_csv_read_mem("t.csv", "a,b\n1,2", 7, collect, &r, NULL), 0);
    ck_assert_int_eq(r.n, 2);
    ck_assert_str_eq(r.text[1], "1|2");
    ck_assert_int_eq(r.line[1], 2);
}
END_TEST

START_TEST(test_csv_read__unterminated_quote)
{
    rows r = {0};
    cpo_error e;
    const char *text = "a,b\n1,\"2\n3,4\n";
    ck_assert_int_eq(cpo_csv_read_mem("t.csv", text, strlen(text), collect, &r, &e), CPO_EPARSE);
    ck_assert_str_eq(tu_errstr(&e),
                     "t.csv:4: unterminated quoted field at end of file (expected a closing quote)");
}
END_TEST

START_TEST(test_csv_read__nul_byte)
{
    rows r = {0};
    cpo_error e;
    const char text[] = "a,b\n1,x\0y\n";
    ck_assert_int_eq(cpo_csv_read_mem("t.csv", text, sizeof text - 1, collect, &r, &e), CPO_EPARSE);
    ck_assert_str_eq(tu_errstr(&e), "t.csv:2:2: NUL byte inside a field (expected text)");
}
END_TEST

START_TEST(test_csv_read__missing_file)
{
    cpo_error e;
    ck_assert_int_eq(cpo_csv_read("/nonexistent/x.csv", collect, NULL, &e), CPO_EIO);
    ck_assert_str_eq(tu_errstr(&e),
                     "/nonexistent/x.csv: cannot open: No such file or directory (expected a readable file)");
}
END_TEST

static int stop_at_two(void *ctx, const cpo_csv_row *row)
{
    int *n = ctx;
    (*n)++;
    return row->line == 2 ? 42 : 0;
}

START_TEST(test_csv_read__callback_stops)
{
    int n = 0;
    ck_assert_int_eq(cpo_csv_read_mem("t.csv", "a\nb\nc\n", 6, stop_at_two, &n, NULL), 42);
    ck_assert_int_eq(n, 2);
}
END_TEST

/* --- one file in pieces (cpo_csv_read_pieces) ---------------------------------- */

/* What the pieces' callbacks saw: the rows joined, in the order joined
 * (the header as piece -1), and which pieces were opened and joined. */
typedef struct prow {
    int piece;
    long line;
    char text[64];
} prow;

typedef struct plog {
    prow row[1024];
    size_t n;
    size_t opened, joined, used; /* pieces opened, joined, joined with use */
    int use[32];                 /* use of each piece's join */
} plog;

typedef struct ppiece {
    plog *log;
    size_t k;
    cpo_error *perr;
    prow row[1024];
    size_t n;
} ppiece;

static void log_row(prow *out, size_t *n, int piece, const cpo_csv_row *row)
{
    ck_assert_uint_lt(*n, 1024);
    prow *r = &out[(*n)++];
    r->piece = piece;
    r->line = row->line;
    r->text[0] = '\0';
    for (size_t i = 0; i < row->n; i++) {
        if (i)
            strcat(r->text, "|");
        strncat(r->text, row->f[i], 20);
    }
}

static int p_first(void *ctx, const cpo_csv_row *row)
{
    plog *log = ctx;
    log_row(log->row, &log->n, -1, row);
    return 0;
}

static int p_open(void *ctx, size_t k, cpo_error *perr, void **piece)
{
    plog *log = ctx;
    ck_assert_uint_eq(k, log->opened); /* opened in order */
    ppiece *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    p->log = log;
    p->k = k;
    p->perr = perr;
    log->opened++;
    *piece = p;
    return 0;
}

/* A row whose first field is "bad" fails it, as a strict import would. */
static int p_row(void *ctx, const cpo_csv_row *row)
{
    ppiece *p = ctx;
    log_row(p->row, &p->n, (int)p->k, row);
    if (!strcmp(row->f[0], "bad"))
        return cpo_error_set(p->perr, CPO_EDATA, "t.csv", row->line, 1, "bad row");
    return 0;
}

static int p_join(void *ctx, void *piece, size_t k, int use)
{
    plog *log = ctx;
    ppiece *p = piece;
    ck_assert_uint_eq(k, log->joined); /* joined in file order */
    ck_assert_uint_eq(p->k, k);
    log->use[k] = use;
    log->joined++;
    if (use) {
        log->used++;
        for (size_t i = 0; i < p->n; i++)
            log->row[log->n++] = p->row[i];
    }
    free(p);
    return 0;
}

/* path read in at most `pieces` pieces (min_bytes 1: any file is cut). */
static int read_in_pieces(const char *path, size_t pieces, plog *log, cpo_error *e)
{
    memset(log, 0, sizeof *log);
    cpo_csv_pieces pc = {log, p_first, p_open, p_row, p_join, 1, pieces};
    return cpo_csv_read_pieces(path, &pc, e);
}

/* The same file read serially by cpo_csv_read, as the reference. */
static int s_row(void *ctx, const cpo_csv_row *row)
{
    plog *log = ctx;
    log_row(log->row, &log->n, 0, row);
    if (log->n > 1 && !strcmp(row->f[0], "bad"))
        return cpo_error_set(NULL, CPO_EDATA, NULL, 0, 0, NULL);
    return 0;
}

static void same_rows(const plog *a, const plog *serial)
{
    ck_assert_uint_eq(a->n, serial->n);
    for (size_t i = 0; i < a->n; i++) {
        ck_assert_int_eq(a->row[i].line, serial->row[i].line);
        ck_assert_str_eq(a->row[i].text, serial->row[i].text);
    }
}

/* A header "t,v" and rows "001,x" .. "099,x": 4 + 99 * 6 bytes, row i on
 * line i + 1; `tweak` replaces the text of the rows it names. */
static char *numbered_file(const char *dir, const char *name, const char *const *tweak)
{
    char *p = tu_path(dir, name), text[4096];
    size_t w = (size_t)snprintf(text, sizeof text, "t,v\n");
    for (int i = 1; i <= 99; i++) {
        const char *row = NULL;
        for (size_t k = 0; tweak && tweak[k]; k += 2)
            if (atoi(tweak[k]) == i)
                row = tweak[k + 1];
        if (row)
            w += (size_t)snprintf(text + w, sizeof text - w, "%s", row);
        else
            w += (size_t)snprintf(text + w, sizeof text - w, "%03d,x\n", i);
    }
    tu_write_file(p, text);
    return p;
}

START_TEST(test_csv_read_pieces__cut_at_line_ends)
{
    char *dir = tu_tmpdir(), *p = numbered_file(dir, "n.csv", NULL);
    static plog serial, log;
    cpo_error e;
    memset(&serial, 0, sizeof serial);
    ck_assert_int_eq(cpo_csv_read(p, s_row, &serial, &e), 0);
    ck_assert_uint_eq(serial.n, 100);
    /* Three pieces, by hand: the 594 bytes after the header (line 1, 4
     * bytes) in shares of 198; the first cut is at the line end after
     * byte 4 + 198, the first byte of row 34 (4 + 33 * 6), so row 35
     * (line 36) starts piece 1; the second after byte 4 + 396, in row 67:
     * row 68 (line 69) starts piece 2. */
    ck_assert_int_eq(read_in_pieces(p, 3, &log, &e), 0);
    ck_assert_uint_eq(log.opened, 3);
    ck_assert_uint_eq(log.used, 3);
    same_rows(&log, &serial);
    ck_assert_int_eq(log.row[0].piece, -1);
    ck_assert_int_eq(log.row[1].piece, 0);
    ck_assert_int_eq(log.row[1].line, 2);
    ck_assert_int_eq(log.row[34].piece, 0);
    ck_assert_int_eq(log.row[35].piece, 1);
    ck_assert_int_eq(log.row[35].line, 36);
    ck_assert_int_eq(log.row[67].piece, 1);
    ck_assert_int_eq(log.row[68].piece, 2);
    ck_assert_int_eq(log.row[68].line, 69);
    ck_assert_int_eq(log.row[99].piece, 2);
    /* Other counts: as many pieces, the same rows. */
    static const size_t counts[] = {2, 5, 16};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(read_in_pieces(p, counts[i], &log, &e), 0);
        ck_assert_uint_eq(log.opened, counts[i]);
        same_rows(&log, &serial);
    }
    /* One piece below min_bytes. */
    memset(&log, 0, sizeof log);
    cpo_csv_pieces pc = {&log, p_first, p_open, p_row, p_join, 4096, 3};
    ck_assert_int_eq(cpo_csv_read_pieces(p, &pc, &e), 0);
    ck_assert_uint_eq(log.opened, 1);
    same_rows(&log, &serial);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Line ends that are not one byte apart from records: CRLF, blank and
 * blank-looking lines, a BOM, no line end at the end; and a quote char,
 * with which a line end may be inside a field: then one piece. */
START_TEST(test_csv_read_pieces__as_serial)
{
    static const char *const tweaks[][9] = {
        {"20", "\r\n\r\n020,crlf\r\n", "50", "\n \n\t\n050,blank\n", "99", "099,last", NULL},
        {"1", "\n\n001,x\n", "60", "060,\"quoted\nnewline\"\n", NULL},
        {"70", "\"070\",q\n", NULL},
    };
    static const size_t want_opened[] = {4, 1, 1};
    char *dir = tu_tmpdir();
    for (size_t t = 0; t < 3; t++) {
        char name[32];
        snprintf(name, sizeof name, "t%zu.csv", t);
        char *p = numbered_file(dir, name, tweaks[t]);
        static plog serial, log;
        cpo_error e;
        memset(&serial, 0, sizeof serial);
        ck_assert_int_eq(cpo_csv_read(p, s_row, &serial, &e), 0);
        ck_assert_int_eq(read_in_pieces(p, 4, &log, &e), 0);
        ck_assert_uint_eq(log.opened, want_opened[t]);
        same_rows(&log, &serial);
        free(p);
    }
    /* A BOM before the header, skipped as cpo_csv_read skips it. */
    char *p = tu_path(dir, "bom.csv");
    tu_write_file(p, "\xEF\xBB\xBF" "t,v\n1,a\n2,b\n3,c\n4,d\n");
    static plog serial, log;
    cpo_error e;
    memset(&serial, 0, sizeof serial);
    ck_assert_int_eq(cpo_csv_read(p, s_row, &serial, &e), 0);
    ck_assert_int_eq(read_in_pieces(p, 2, &log, &e), 0);
    ck_assert_uint_eq(log.opened, 2);
    same_rows(&log, &serial);
    ck_assert_str_eq(log.row[0].text, "t|v");
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Rows that fail in pieces 1 and 2: the error is that of the earlier
 * (line 50, in piece 1 of three: see the cut above), the rows joined are
 * those a serial read reached (lines 1 to 50), piece 2 is only freed. */
START_TEST(test_csv_read_pieces__first_error_in_file_order)
{
    static const char *const tweak[] = {"49", "bad,1\n", "79", "bad,2\n", NULL};
    char *dir = tu_tmpdir(), *p = numbered_file(dir, "e.csv", tweak);
    static plog log;
    cpo_error e;
    cpo_error_clear(&e);
    ck_assert_int_eq(read_in_pieces(p, 3, &log, &e), CPO_EDATA);
    ck_assert_str_eq(tu_errstr(&e), "t.csv:50:1: bad row");
    ck_assert_uint_eq(log.opened, 3);
    ck_assert_uint_eq(log.joined, 3);
    ck_assert_int_eq(log.use[0], 1);
    ck_assert_int_eq(log.use[1], 1);
    ck_assert_int_eq(log.use[2], 0);
    ck_assert_uint_eq(log.n, 50); /* the header and rows 1..49 */
    ck_assert_int_eq(log.row[49].line, 50);
    ck_assert_str_eq(log.row[49].text, "bad|1");
    /* The NUL byte message of the reader itself, from piece 2 (row 90,
     * line 91, field 2), as cpo_csv_read gives it. */
    FILE *f = fopen(p, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 4 + 89 * 6 + 4, SEEK_SET), 0);
    ck_assert_int_eq(fputc('\0', f), 0);
    fclose(f);
    cpo_error se;
    static plog serial;
    memset(&serial, 0, sizeof serial);
    ck_assert_int_eq(cpo_csv_read(p, s_row, &serial, &se), CPO_EDATA); /* row 49 first */
    ck_assert_int_eq(read_in_pieces(p, 3, &log, &e), CPO_EDATA);
    ck_assert_str_eq(tu_errstr(&e), "t.csv:50:1: bad row");
    static const char *const nul_only[] = {"49", "049,x\n", "79", "079,x\n", NULL};
    free(p);
    p = numbered_file(dir, "e.csv", nul_only);
    f = fopen(p, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 4 + 89 * 6 + 4, SEEK_SET), 0);
    ck_assert_int_eq(fputc('\0', f), 0);
    fclose(f);
    memset(&serial, 0, sizeof serial);
    ck_assert_int_eq(cpo_csv_read(p, s_row, &serial, &se), CPO_EPARSE);
    ck_assert_int_eq(read_in_pieces(p, 3, &log, &e), CPO_EPARSE);
    ck_assert_str_eq(tu_errstr(&e), tu_errstr(&se));
    ck_assert_int_eq(e.line, 91);
    ck_assert_int_eq(e.col, 2);
    ck_assert_int_eq(log.use[2], 1);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static int map_header(void *ctx, const cpo_csv_row *row)
{
    cpo_error *e = ctx;
    const char *names[] = {"timestamp|open_time", "open", "close", "volume", "trades"};
    int req[] = {1, 1, 1, 0, 1};
    int idx[5];
    int rc = cpo_csv_map(row, "k.csv", names, req, 5, idx, e);
    if (rc == 0) {
        ck_assert_int_eq(idx[0], 0);
        ck_assert_int_eq(idx[1], 1);
        ck_assert_int_eq(idx[2], 2);
        ck_assert_int_eq(idx[3], -1);
    }
    return rc ? rc : 1;
}

START_TEST(test_csv_map__missing_column_message)
{
    cpo_error e;
    const char *t = "Open_Time, OPEN ,close,x\n";
    ck_assert_int_eq(cpo_csv_read_mem("k.csv", t, strlen(t), map_header, &e, &e), CPO_EFORMAT);
    ck_assert_str_eq(tu_errstr(&e),
                     "k.csv:1: missing column \"trades\" (expected columns: "
                     "timestamp|open_time,open,close,trades)");
}
END_TEST

START_TEST(test_parse_f64__exact_against_strtod)
{
    /* The fast path must give strtod's correctly rounded result. */
    const char *cases[] = {"0", "-0", "1", "42283.58", "0.00037409", "-0.00012359", "6.900000000000001e-4",
                           "1.1", "0.1", "2.2250738585072014e-308", "1e22", "1e23", "123456789012345678",
                           "9007199254740993", "0.30000000000000004", "130580829149.587",
                           "18135787.0", "  7.5 ", "+3", ".5", "5.", "1E-5", "4.9e-324"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double a, b = strtod(cases[i], NULL);
        ck_assert_msg(cpo_parse_f64(cases[i], strlen(cases[i]), &a) == 0, "refused %s", cases[i]);
        ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "%s: %.17g vs %.17g", cases[i], a, b);
    }
    /* Random decimal strings of up to 17 significant digits. */
    srand(7);
    for (int k = 0; k < 200000; k++) {
        char s[64];
        long long m = ((long long)rand() << 20) ^ rand();
        int e = rand() % 40 - 20;
        snprintf(s, sizeof s, "%lld.%03de%d", m % 100000000000000LL, rand() % 1000, e);
        double a, b = strtod(s, NULL);
        ck_assert_int_eq(cpo_parse_f64(s, strlen(s), &a), 0);
        ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "%s: %.17g vs %.17g", s, a, b);
    }
    /* The files' own numbers: cpo_fmt_double of any finite double reads
     * back to its bits (every exponent, subnormals included), as strtod
     * reads it; and what is out of range reads as strtod says (1e-400:
     * 0, as before). */
    uint64_t u = 88172645463325252u;
    for (int k = 0; k < 200000; k++) {
        u ^= u << 13, u ^= u >> 7, u ^= u << 17;
        double x, a;
        memcpy(&x, &u, sizeof x);
        if (!isfinite(x) || x == 0.0)
            continue;
        char t[40];
        cpo_fmt_double(t, sizeof t, x);
        ck_assert_int_eq(cpo_parse_f64(t, strlen(t), &a), 0);
        ck_assert_msg(memcmp(&a, &x, sizeof a) == 0, "%s: %a vs %a", t, a, x);
    }
    double z = 1.0;
    ck_assert_int_eq(cpo_parse_f64("1e-400", 6, &z), 0);
    ck_assert(z == 0.0);
    ck_assert_int_eq(cpo_parse_f64("-2.5e-320", 9, &z), 0);
    ck_assert(z == strtod("-2.5e-320", NULL));
}
END_TEST

START_TEST(test_parse_f64__refuses)
{
    const char *bad[] = {"", " ", "abc", "1,5", "1.2.3", "nan", "NaN", "inf", "-", "1e", "1e+", "0x10",
                         "1e999", "--1", "1 2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v;
        ck_assert_msg(cpo_parse_f64(bad[i], strlen(bad[i]), &v) == CPO_EPARSE, "accepted '%s'", bad[i]);
    }
}
END_TEST

START_TEST(test_parse_i64__ranges)
{
    int64_t v;
    ck_assert_int_eq(cpo_parse_i64("1704067200000", 13, &v), 0);
    ck_assert_int_eq(v, INT64_C(1704067200000));
    ck_assert_int_eq(cpo_parse_i64("-9223372036854775808", 20, &v), 0);
    ck_assert_int_eq(v, INT64_MIN);
    ck_assert_int_eq(cpo_parse_i64("9223372036854775808", 19, &v), CPO_ERANGE);
    ck_assert_int_eq(cpo_parse_i64("12a", 3, &v), CPO_EPARSE);
    ck_assert_int_eq(cpo_parse_i64("", 0, &v), CPO_EPARSE);
}
END_TEST


/* cpo_fmt_double must give printf's "%.17g" byte for byte (the reference
 * is glibc's printf, exact to the last digit): the outputs of every run
 * stay what they were when the function was snprintf. */
static void expect_printf(double x)
{
    char got[40], want[40];
    size_t len = cpo_fmt_double(got, sizeof got, x);
    ck_assert_uint_eq(len, strlen(got));
    snprintf(want, sizeof want, "%.17g", x == 0.0 ? 0.0 : x);
    if (isnan(x))
        strcpy(want, "nan");
    ck_assert_msg(strcmp(got, want) == 0, "%a: got %s, printf %s", x, got, want);
}

START_TEST(test_fmt_double__printf_17g_by_hand)
{
    /* Layout edges (%g switches to e-notation below 1e-4 and at 1e17),
     * trailing zeros, signs, the specials. */
    const double v[] = {1.0, -1.0, 0.1, 0.5, 1e-4, 9.9999999999999991e-5, 1e-5, 123456.0,
                        1e16, 1e17, 99999999999999984.0, 1.7976931348623157e308,
                        4.9406564584124654e-324, 2.2250738585072014e-308, -2.5e-300,
                        1234567.8901234567, 1e100, 1e-100, 0.30000000000000004, 1e21};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        expect_printf(v[k]);
    char b[40];
    cpo_fmt_double(b, sizeof b, -0.0);
    ck_assert_str_eq(b, "0");
    cpo_fmt_double(b, sizeof b, -INFINITY);
    ck_assert_str_eq(b, "-inf");
    cpo_fmt_double(b, sizeof b, NAN);
    ck_assert_str_eq(b, "nan");
    ck_assert_uint_eq(cpo_fmt_double(b, 6, 1.0 / 3.0), 5); /* cut like snprintf */
    ck_assert_str_eq(b, "0.333");
    ck_assert_uint_eq(cpo_fmt_double(b, 3, -INFINITY), 2);
    ck_assert_str_eq(b, "-i");
}
END_TEST

START_TEST(test_fmt_double__halfway_cases_round_to_even)
{
    /* Doubles exactly halfway between two 17-digit decimals (18 digits
     * ending in 5): printf rounds to even, double-conversion away from
     * zero.  By hand: 2^-25 = 2.98023223876953125e-8 -> ...312 (2 even);
     * 1000000000000000.25 -> ...0.2; 1000000000000000.75 -> ...0.8
     * (7 odd: up); 3 x 2^-25 = 8.94069671630859375e-8 -> ...938. */
    char b[40];
    cpo_fmt_double(b, sizeof b, ldexp(1.0, -25));
    ck_assert_str_eq(b, "2.9802322387695312e-08");
    cpo_fmt_double(b, sizeof b, 1000000000000000.25);
    ck_assert_str_eq(b, "1000000000000000.2");
    cpo_fmt_double(b, sizeof b, -1000000000000000.75);
    ck_assert_str_eq(b, "-1000000000000000.8");
    cpo_fmt_double(b, sizeof b, 3 * ldexp(1.0, -25));
    ck_assert_str_eq(b, "8.9406967163085938e-08");
    /* Every halfway double m 2^e, m odd, e = -1..-25, 18 digits. */
    for (int e = 1; e <= 25; e++)
        for (uint64_t m = 1; m < (UINT64_C(1) << 53); m = m * 3 + 1)
            expect_printf(ldexp((double)(m | 1), -e));
}
END_TEST

START_TEST(test_fmt_double__random_doubles_against_printf)
{
    /* 600,000 doubles (4 x 150,000): uniform bit patterns (every exponent), prices and
     * amounts of a few decimals, and integers near 2^53. */
    uint64_t s = 88172645463325252u;
    for (int k = 0; k < 150000; k++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double x;
        memcpy(&x, &s, sizeof x);
        if (!isfinite(x))
            continue;
        expect_printf(x);
        expect_printf((double)(s % 100000000) / 100.0);
        expect_printf((double)(s >> 11) + 0.5);
        expect_printf(ldexp((double)(s >> 11), (int)(s % 200) - 100));
    }
}
END_TEST

/* cpo_csv_put_rows: rows whose text depends on the row (its number, a
 * number of it, and a time shown only when it changes, as trades.csv
 * does: a piece shows its first row's time), written in pieces of 1, 3,
 * 7, 64 and the default rows, are the bytes of one call over all rows
 * (expected: the rows by hand, one fprintf each). */
static void rows_put(void *ctx, FILE *fp, size_t a, size_t b)
{
    (void)ctx;
    char when[24] = "";
    size_t shown = 0;
    for (size_t k = a; k < b; k++) {
        if (k == a || k / 5 != shown) /* as trades.csv keeps its time */
            snprintf(when, sizeof when, "t%zu", shown = k / 5);
        fprintf(fp, "%s,%zu", when, k);
        cpo_csv_num(fp, (double)k / 7.0);
        fputc('\n', fp);
    }
}

START_TEST(test_csv_put_rows__pieces_as_one)
{
    static const size_t ns[] = {0, 1, 2, 5, 64, 1000, 40000};
    static const size_t pieces[] = {1, 3, 7, 64, 0};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        size_t n = ns[i];
        char *want = NULL, *got = NULL;
        size_t wlen = 0, glen = 0;
        FILE *w = open_memstream(&want, &wlen);
        ck_assert_ptr_nonnull(w);
        for (size_t k = 0; k < n; k++) {
            char num[40];
            cpo_fmt_double(num, sizeof num, (double)k / 7.0);
            fprintf(w, "t%zu,%zu,%s\n", k / 5, k, num);
        }
        ck_assert_int_eq(fclose(w), 0);
        for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
            if (n > 5000 && pieces[p] && pieces[p] < 64)
                continue; /* a thread round per few rows: slow, and no more to see */
            FILE *g = open_memstream(&got, &glen);
            ck_assert_ptr_nonnull(g);
            cpo_csv_put_rows(g, n, pieces[p], rows_put, NULL);
            ck_assert_int_eq(fclose(g), 0);
            ck_assert_msg(glen == wlen && memcmp(got, want, wlen) == 0,
                          "%zu rows in pieces of %zu: %zu bytes, expected %zu", n, pieces[p],
                          glen, wlen);
            free(got);
            got = NULL;
        }
        free(want);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("csvread");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_csv_read__lines_quotes_blank_crlf_bom);
    tcase_add_test(tc, test_csv_read__no_final_newline);
    tcase_add_test(tc, test_csv_read__unterminated_quote);
    tcase_add_test(tc, test_csv_read__nul_byte);
    tcase_add_test(tc, test_csv_read__missing_file);
    tcase_add_test(tc, test_csv_read__callback_stops);
    tcase_add_test(tc, test_csv_read_pieces__cut_at_line_ends);
    tcase_add_test(tc, test_csv_read_pieces__as_serial);
    tcase_add_test(tc, test_csv_read_pieces__first_error_in_file_order);
    tcase_add_test(tc, test_csv_map__missing_column_message);
    tcase_add_test(tc, test_parse_f64__exact_against_strtod);
    tcase_add_test(tc, test_parse_f64__refuses);
    tcase_add_test(tc, test_parse_i64__ranges);
    tcase_add_test(tc, test_fmt_double__printf_17g_by_hand);
    tcase_add_test(tc, test_fmt_double__halfway_cases_round_to_even);
    tcase_add_test(tc, test_fmt_double__random_doubles_against_printf);
    tcase_add_test(tc, test_csv_put_rows__pieces_as_one);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
