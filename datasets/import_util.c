/* import_util.c - problem reporting and field parsing for the readers. */
#include "importer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_issue(cpo_import_ctx *c, cpo_issue_level level, int code,
                      long line, long col, const char *fmt, va_list ap)
{
    cpo_import_report *r = c->rep;
    r->n_issues_total++;
    if (r->n_issues >= CPO_REPORT_MAX_ISSUES)
        return;
    cpo_import_issue *is = &r->issues[r->n_issues++];
    is->level = level;
    is->code = code;
    is->line = line;
    is->col = col;
    vsnprintf(is->msg, sizeof is->msg, fmt, ap);
}

int cpo_import_problem(cpo_import_ctx *c, int code, long line, long col,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (c->o->mode == CPO_IMPORT_STRICT) {
        if (c->err) {
            char msg[CPO_ERROR_MSG_MAX];
            vsnprintf(msg, sizeof msg, fmt, ap);
            cpo_error_set(c->err, code, c->path, line, col, "%s", msg);
        }
        va_end(ap);
        return code;
    }
    add_issue(c, CPO_ISSUE_REPAIRED, code, line, col, fmt, ap);
    va_end(ap);
    return 0;
}

int cpo_import_fail(cpo_import_ctx *c, int code, long line, long col,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (c->err) {
        char msg[CPO_ERROR_MSG_MAX];
        vsnprintf(msg, sizeof msg, fmt, ap);
        cpo_error_set(c->err, code, c->path, line, col, "%s", msg);
    }
    va_end(ap);
    return code;
}

void cpo_import_note(cpo_import_ctx *c, cpo_issue_level level, int code,
                     long line, long col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_issue(c, level, code, line, col, fmt, ap);
    va_end(ap);
}

int cpo_import_push_line(cpo_import_ctx *c, long line)
{
    if (c->n_line == c->cap_line) {
        size_t nc = c->cap_line ? c->cap_line * 2 : 1024;
        long *p = realloc(c->line, nc * sizeof *p);
        if (!p)
            return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
        c->line = p;
        c->cap_line = nc;
    }
    c->line[c->n_line++] = line;
    return 0;
}

/* --- pieces of a file parsed on several threads ------------------------------ */

void cpo_import_piece_init(cpo_import_ctx *p, const cpo_import_ctx *c, cpo_import_report *rep,
                           cpo_error *err)
{
    memset(p, 0, sizeof *p);
    memset(rep, 0, sizeof *rep);
    p->path = c->path;
    p->o = c->o;
    p->rep = rep;
    p->err = err;
    p->stage = c->stage;
    p->instr = c->instr;
    cpo_bars_init(&p->bars);
    p->col_ts = c->col_ts;
    p->col_open = c->col_open;
    p->col_high = c->col_high;
    p->col_low = c->col_low;
    p->col_close = c->col_close;
    p->col_volume = c->col_volume;
    p->header_fields = c->header_fields;
}

int cpo_import_piece_join(cpo_import_ctx *c, const cpo_import_ctx *p)
{
    cpo_import_report *r = c->rep;
    const cpo_import_report *pr = p->rep;
    for (size_t i = 0; i < pr->n_issues && r->n_issues < CPO_REPORT_MAX_ISSUES; i++)
        r->issues[r->n_issues++] = pr->issues[i];
    r->n_issues_total += pr->n_issues_total;
    r->rows_read += pr->rows_read;
    r->dropped += pr->dropped;
    const cpo_bars *b = &p->bars;
    if (b->n == 0)
        return 0;
    size_t need = c->n_line + p->n_line;
    if (need > c->cap_line) {
        long *l = realloc(c->line, need * sizeof *l);
        if (!l)
            return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
        c->line = l;
        c->cap_line = need;
    }
    memcpy(c->line + c->n_line, p->line, p->n_line * sizeof *p->line);
    c->n_line = need;
    if (cpo_bars_reserve(&c->bars, c->bars.n + b->n))
        return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    for (size_t i = 0; i < b->n; i++)
        if (cpo_bars_append(&c->bars, b->ts[i], b->open[i], b->high[i], b->low[i], b->close[i],
                            b->volume[i], b->mark[i], b->mark_high ? b->mark_high[i] : NAN,
                            b->mark_low ? b->mark_low[i] : NAN, b->index[i]))
            return cpo_import_fail(c, CPO_ENOMEM, 0, 0, "out of memory");
    return 0;
}

void cpo_import_piece_fini(cpo_import_ctx *p)
{
    cpo_bars_fini(&p->bars);
    free(p->line);
    p->line = NULL;
    p->n_line = p->cap_line = 0;
}

/* Quote a field for a message, shortened to keep messages readable. */
static const char *shown(const char *s, size_t n, char *buf, size_t bn)
{
    if (n > 40)
        snprintf(buf, bn, "%.37s...", s);
    else
        snprintf(buf, bn, "%.*s", (int)n, s);
    return buf;
}

static int problem_or_drop(cpo_import_ctx *c, int code, long line, long col,
                           const char *msg)
{
    int rc = cpo_import_problem(c, code, line, col, "%s", msg);
    return rc ? rc : CPO_IMPORT_DROP;
}

int cpo_import_width(cpo_import_ctx *c, const cpo_csv_row *row, size_t need)
{
    char msg[256];
    if (c->header_fields && row->n > c->header_fields) {
        size_t k = c->header_fields;
        while (k < row->n && cpo_field_blank(row->f[k], row->len[k]))
            k++;
        if (k < row->n) {
            snprintf(msg, sizeof msg, "row has %zu fields (expected %zu, as in the header)%s",
                     row->n, c->header_fields,
                     c->o->mode == CPO_IMPORT_LENIENT ? "; row dropped" : "");
            return problem_or_drop(c, CPO_EDATA, row->line, (long)k + 1, msg);
        }
    }
    if (row->n >= need)
        return 0;
    snprintf(msg, sizeof msg, "row has %zu field%s (expected at least %zu, as in the header)%s",
             row->n, row->n == 1 ? "" : "s", need,
             c->o->mode == CPO_IMPORT_LENIENT ? "; row dropped" : "");
    return problem_or_drop(c, CPO_EDATA, row->line, (long)row->n, msg);
}

int cpo_import_f64(cpo_import_ctx *c, const cpo_csv_row *row, int col,
                   const char *name, int allow_blank, double *out)
{
    const char *s = row->f[col];
    size_t n = row->len[col];
    char msg[320], b[64];
    if (cpo_field_blank(s, n)) {
        if (allow_blank) {
            *out = NAN;
            return 0;
        }
        snprintf(msg, sizeof msg, "%s is empty (expected a number)%s", name,
                 c->o->mode == CPO_IMPORT_LENIENT ? "; row dropped" : "");
        return problem_or_drop(c, CPO_EDATA, row->line, col + 1, msg);
    }
    if (cpo_parse_f64(s, n, out) == 0)
        return 0;
    snprintf(msg, sizeof msg, "%s \"%s\" is not a number (expected a decimal number)%s", name,
             shown(s, n, b, sizeof b), c->o->mode == CPO_IMPORT_LENIENT ? "; row dropped" : "");
    return problem_or_drop(c, CPO_EDATA, row->line, col + 1, msg);
}

int cpo_import_parse_time(const cpo_import_ctx *c, const char *s, size_t n,
                          cpo_ts_unit unit, int64_t *out)
{
    int64_t v;
    int all_digits = n > 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            all_digits = 0;
    int was_auto = unit == CPO_TS_AUTO;
    if (was_auto)
        unit = all_digits && n != 8 ? CPO_TS_MS : CPO_TS_ISO;
    if (unit == CPO_TS_MS || unit == CPO_TS_SEC) {
        if (cpo_parse_i64(s, n, &v))
            return CPO_EPARSE;
        if (was_auto && v < INT64_C(100000000000) && v > -INT64_C(100000000000)) {
            /* auto: ten-digit stamps are seconds */
            v *= 1000;
        } else if (unit == CPO_TS_SEC) {
            if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
                return CPO_ERANGE;
            v *= 1000;
        }
        /* Plausible range: 1990..2100 */
        if (v < INT64_C(631152000000) || v > INT64_C(4102444800000))
            return CPO_ERANGE;
        *out = v;
        return 0;
    }
    int flags = 0;
    if (cpo_time_parse(s, n, &v, &flags, NULL))
        return CPO_EPARSE;
    if (!(flags & CPO_TIME_HAS_OFFSET))
        v = cpo_tz_to_utc(&c->o->tz, v);
    *out = v;
    return 0;
}

int cpo_import_time(cpo_import_ctx *c, const cpo_csv_row *row, int col,
                    const char *name, cpo_ts_unit unit, int64_t *out)
{
    const char *s = row->f[col];
    size_t n = row->len[col];
    char msg[320], b[64];
    if (cpo_field_blank(s, n)) {
        snprintf(msg, sizeof msg, "%s is empty (expected a time)%s", name,
                 c->o->mode == CPO_IMPORT_LENIENT ? "; row dropped" : "");
        return problem_or_drop(c, CPO_EDATA, row->line, col + 1, msg);
    }
    int rc = cpo_import_parse_time(c, s, n, unit, out);
    if (rc == 0)
        return 0;
    if (rc == CPO_ERANGE)
        snprintf(msg, sizeof msg, "%s \"%s\" is out of range (expected a time between 1990 and 2100)%s",
                 name, shown(s, n, b, sizeof b),
                 c->o->mode == CPO_IMPORT_LENIENT ? "; row dropped" : "");
    else
        snprintf(msg, sizeof msg,
                 "%s \"%s\" is not a time (expected %s)%s", name, shown(s, n, b, sizeof b),
                 unit == CPO_TS_MS    ? "milliseconds since 1970"
                 : unit == CPO_TS_SEC ? "seconds since 1970"
                 : unit == CPO_TS_ISO ? "an ISO 8601 date or date-time"
                                      : "ms since 1970 or an ISO 8601 date-time",
                 c->o->mode == CPO_IMPORT_LENIENT ? "; row dropped" : "");
    return problem_or_drop(c, CPO_EDATA, row->line, col + 1, msg);
}
