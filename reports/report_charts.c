/*
 * report_charts.c - the charts of a report: for each one, charts/NAME.dat
 * (the numbers), charts/NAME.gp (the script) and what gnuplot draws of
 * them, NAME.png (pngcairo) and NAME.svg.  See cpo/report.h.
 *
 * gnuplot runs without a shell: the program is looked up on PATH here
 * (once), then fork + execve of
 *     gnuplot -e "cpo_suffix = '.tmp.<pid>'" NAME.gp
 * in charts/, stdin /dev/null, stdout and stderr read back through a pipe
 * (its message goes into the report when it fails).  The scripts write
 * "NAME.png".cpo_suffix, so run by hand they make NAME.png, and run by cpo
 * NAME.png.tmp.<pid>, renamed when gnuplot succeeded.  The -e text is fixed: no
 * data or config text is ever on gnuplot's command line, and in the
 * scripts such text only appears quoted by cpo_report_gp_quote.
 *
 * Terminals are noenhanced: gnuplot 5.4's SVG terminal writes an '&' of
 * enhanced text unescaped (invalid XML), and literal text needs no
 * enhanced-text escapes.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpo/time.h"
#include "outfile.h"
#include "report_priv.h"

extern char **environ;

/* --- quoting ------------------------------------------------------------------ */

size_t cpo_report_gp_quote(char *buf, size_t n, const char *s, int flags)
{
    size_t len = 0, w = 0;
    int full = 0; /* stopped writing */
    /* Room for the closing quote and the NUL is kept back. */
    if (n >= 3) {
        buf[w++] = '"';
    } else {
        full = 1;
    }
    len = 1;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        char tmp[8];
        const char *rep = tmp;
        unsigned char c = *p;
        if (c == '\\')
            rep = flags & CPO_GP_ENHANCED ? "\\\\\\\\" : "\\\\";
        else if (c == '"')
            rep = "\\\"";
        else if (c == '`')
            rep = "\\140";
        else if (c < 0x20 || c == 0x7f)
            rep = " ";
        else if ((flags & CPO_GP_ENHANCED) && strchr("@^_{}&~", c)) {
            tmp[0] = '\\';
            tmp[1] = '\\';
            tmp[2] = (char)c;
            tmp[3] = '\0';
        } else {
            tmp[0] = (char)c;
            tmp[1] = '\0';
        }
        size_t k = strlen(rep);
        if (!full && w + k + 2 <= n) {
            memcpy(buf + w, rep, k);
            w += k;
        } else {
            full = 1;
        }
        len += k;
    }
    len++;
    if (n >= 3) {
        buf[w++] = '"';
        buf[w] = '\0';
    } else if (n > 0) {
        buf[0] = '\0';
    }
    return len;
}

/* Quoted into a buffer of a fixed size (long names are cut). */
typedef struct gpq {
    char s[600];
} gpq;

static gpq q(const char *s)
{
    gpq r;
    cpo_report_gp_quote(r.s, sizeof r.s, s, 0);
    return r;
}

/* --- files ---------------------------------------------------------------------- */

int rp_mkdir(const char *dir, cpo_error *err)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        return cpo_error_set(err, CPO_EIO, dir, 0, 0, "exists and is not a folder (expected a folder)");
    }
    return cpo_error_set(err, CPO_EIO, dir, 0, 0, "cannot create the folder: %s", strerror(errno));
}

int rp_out_open(rp_out *o, const char *dir, const char *name, cpo_error *err)
{
    memset(o, 0, sizeof *o);
    if (snprintf(o->path, sizeof o->path, "%s/%s", dir, name) >= (int)sizeof o->path ||
        cpo_tmp_path(o->tmp, sizeof o->tmp, o->path) != 0)
        return cpo_error_set(err, CPO_ERANGE, dir, 0, 0, "path too long (expected < 1024 bytes)");
    o->fp = fopen(o->tmp, "wb");
    if (!o->fp)
        return cpo_error_set(err, CPO_EIO, o->tmp, 0, 0, "cannot create: %s (expected a writable "
                             "folder)", strerror(errno));
    return 0;
}

int rp_out_close(rp_out *o, int ok, cpo_error *err)
{
    if (!o->fp)
        return 0;
    int bad = ferror(o->fp);
    int e = errno;
    int rc = fclose(o->fp);
    o->fp = NULL;
    if (!ok) {
        unlink(o->tmp);
        return 0;
    }
    if (rc != 0 || bad) {
        unlink(o->tmp);
        return cpo_error_set(err, CPO_EIO, o->tmp, 0, 0, "cannot write: %s",
                             strerror(e ? e : EIO));
    }
    if (rename(o->tmp, o->path) != 0) {
        e = errno;
        unlink(o->tmp);
        return cpo_error_set(err, CPO_EIO, o->path, 0, 0, "cannot rename %s: %s", o->tmp,
                             strerror(e));
    }
    return 0;
}

/* --- gnuplot ------------------------------------------------------------------------ */

void rp_gnuplot_init(rp_gnuplot *g, const cpo_report_opts *o)
{
    memset(g, 0, sizeof *g);
    g->warn = o ? o->warn : stderr;
    g->cancel = o ? o->cancel : NULL;
    if (o && o->gnuplot)
        snprintf(g->path, sizeof g->path, "%s", o->gnuplot);
}

static int executable(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* Find the program (g->path: a name, or a path with a '/'; "" = gnuplot). */
static void gnuplot_find(rp_gnuplot *g)
{
    if (g->looked)
        return;
    g->looked = 1;
    char name[1024];
    if (snprintf(name, sizeof name, "%s", g->path[0] ? g->path : "gnuplot") >= (int)sizeof name)
        return;
    g->path[0] = '\0';
    char found[PATH_MAX];
    found[0] = '\0';
    if (strchr(name, '/')) {
        if (executable(name))
            snprintf(found, sizeof found, "%s", name);
    } else {
        const char *path = getenv("PATH");
        if (!path)
            path = "/usr/bin:/bin";
        while (*path && !found[0]) {
            const char *end = strchr(path, ':');
            size_t len = end ? (size_t)(end - path) : strlen(path);
            char cand[PATH_MAX + 1100];
            int use = len < PATH_MAX ? (int)len : PATH_MAX - 1;
            if (len == 0)
                snprintf(cand, sizeof cand, "./%s", name);
            else
                snprintf(cand, sizeof cand, "%.*s/%s", use, path, name);
            if (strlen(cand) < sizeof found && executable(cand))
                memcpy(found, cand, strlen(cand) + 1);
            path += len + (end ? 1 : 0);
        }
    }
    if (!found[0])
        return;
    /* Absolute: the child changes folder before it runs it. */
    char abs[PATH_MAX];
    if (!realpath(found, abs))
        return;
    snprintf(g->path, sizeof g->path, "%s", abs);
    g->found = 1;
}

/* The last lines of gnuplot's output, on one line. */
static void tail_text(char *note, size_t n, const char *out)
{
    size_t len = strlen(out);
    while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
        len--;
    size_t start = len > 300 ? len - 300 : 0;
    size_t w = 0;
    for (size_t i = start; i < len && w + 1 < n; i++) {
        char c = out[i];
        note[w++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    }
    note[w] = '\0';
}

/*
 * Run gnuplot on dir/NAME.gp; 0 when it exited 0 and made NAME.png.tmp and
 * NAME.svg.tmp, else -1 with note.
 */
static int gnuplot_run(const rp_gnuplot *g, const char *dir, const char *name, char *note,
                       size_t nn)
{
    char script[128];
    snprintf(script, sizeof script, "%s.gp", name);
    char a0[] = "gnuplot", a1[] = "-e", a2[64], sfx[32];
    cpo_tmp_suffix(sfx, sizeof sfx);
    snprintf(a2, sizeof a2, "cpo_suffix = '%s'", sfx); /* digits only: no text of data */
    char *argv[] = {a0, a1, a2, script, NULL};
    int pfd[2];
    if (pipe(pfd) != 0) {
        snprintf(note, nn, "cannot run gnuplot: pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(note, nn, "cannot run gnuplot: fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        /* The child: only async-signal-safe calls up to execve. */
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || chdir(dir) != 0 || dup2(in, 0) < 0 || dup2(pfd[1], 1) < 0 ||
            dup2(pfd[1], 2) < 0)
            _exit(126);
        close(pfd[0]);
        close(pfd[1]);
        close(in);
        execve(g->path, argv, environ);
        _exit(127);
    }
    close(pfd[1]);
    char out[4096];
    size_t n = 0;
    for (;;) {
        char b[1024];
        ssize_t r = read(pfd[0], b, sizeof b);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        /* Keep the last 4 KiB (b is smaller than out). */
        size_t k = (size_t)r;
        if (n + k > sizeof out - 1) {
            size_t drop = n + k - (sizeof out - 1);
            memmove(out, out + drop, n - drop);
            n -= drop;
        }
        memcpy(out + n, b, k);
        n += k;
    }
    out[n] = '\0';
    close(pfd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            snprintf(note, nn, "cannot run gnuplot: waitpid: %s", strerror(errno));
            return -1;
        }
    }
    char png[1200], svg[1200];
    snprintf(png, sizeof png, "%s/%s.png%s", dir, name, sfx);
    snprintf(svg, sizeof svg, "%s/%s.svg%s", dir, name, sfx);
    struct stat s1, s2;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && stat(png, &s1) == 0 && s1.st_size > 0 &&
        stat(svg, &s2) == 0 && s2.st_size > 0)
        return 0;
    char msg[400];
    tail_text(msg, sizeof msg, out);
    if (WIFEXITED(st))
        snprintf(note, nn, "gnuplot %s exited with status %d%s%s", script, WEXITSTATUS(st),
                 msg[0] ? ": " : " without making both images", msg);
    else
        snprintf(note, nn, "gnuplot %s was killed by signal %d", script,
                 WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    unlink(png);
    unlink(svg);
    return -1;
}

/* --- one chart -------------------------------------------------------------------------- */

typedef struct chart_ctx {
    const char *dir;
    rp_gnuplot *g;
    cpo_error *err;
} chart_ctx;

static void remove_files(const char *dir, const char *name, int images_only)
{
    static const char *const ext[] = {".png", ".svg", ".gp", ".dat"};
    for (size_t k = 0; k < (images_only ? 2u : 4u); k++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s%s", dir, name, ext[k]);
        unlink(p);
    }
}

static void size_of(rp_chart *ch, int w, int h)
{
    ch->w = w;
    ch->h = h;
}

static void chart_init(rp_chart *ch, const char *name, const char *title)
{
    memset(ch, 0, sizeof *ch);
    snprintf(ch->name, sizeof ch->name, "%s", name);
    snprintf(ch->title, sizeof ch->title, "%s", title);
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void chart_skip(chart_ctx *c, rp_chart *ch, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ch->note, sizeof ch->note, fmt, ap);
    va_end(ap);
    ch->state = RP_CHART_SKIPPED;
    remove_files(c->dir, ch->name, 0); /* an earlier report's */
}

/* The .dat and .gp are written: draw them. */
static void chart_draw(chart_ctx *c, rp_chart *ch)
{
    if (c->g->cancel && *c->g->cancel) {
        /* Interrupted: the caller fails with CPO_EINTR after this chart. */
        ch->state = RP_CHART_NOT_DRAWN;
        snprintf(ch->note, sizeof ch->note, "interrupted");
        remove_files(c->dir, ch->name, 1);
        return;
    }
    gnuplot_find(c->g);
    if (!c->g->found) {
        ch->state = RP_CHART_NOT_DRAWN;
        snprintf(ch->note, sizeof ch->note, "gnuplot is not on PATH: %s.gp and %s.dat are in "
                 "charts/ (gnuplot %s.gp there draws them)", ch->name, ch->name, ch->name);
        remove_files(c->dir, ch->name, 1);
        if (!c->g->warned && c->g->warn) {
            fprintf(c->g->warn, "cpo: warning: gnuplot not found on PATH: charts/ keeps the "
                    "scripts and data, no images (install gnuplot-nox)\n");
            fflush(c->g->warn);
        }
        c->g->warned = 1;
        return;
    }
    if (gnuplot_run(c->g, c->dir, ch->name, ch->note, sizeof ch->note)) {
        ch->state = RP_CHART_FAILED;
        remove_files(c->dir, ch->name, 1);
        return;
    }
    static const char *const ext[] = {".png", ".svg"};
    for (int k = 0; k < 2; k++) {
        char from[1300], to[1280];
        snprintf(to, sizeof to, "%s/%s%s", c->dir, ch->name, ext[k]);
        cpo_tmp_path(from, sizeof from, to);
        if (rename(from, to) != 0) {
            snprintf(ch->note, sizeof ch->note, "cannot rename %s: %s", strrchr(from, '/') + 1,
                     strerror(errno));
            unlink(from);
            ch->state = RP_CHART_FAILED;
            return;
        }
    }
    ch->state = RP_CHART_DRAWN;
}

/* --- script pieces ------------------------------------------------------------------------ */

#define FONT "DejaVu Sans,10"
/* Image sizes (px): half-width charts sit two to a row in the HTML. */
#define HALF_W 660
#define HALF_H 330
#define WIDE_W 1340
#define WIDE_H 400

static void num(FILE *fp, double x)
{
    if (isnan(x))
        fputs(" NaN", fp);
    else if (isinf(x))
        fputs(x > 0 ? " Inf" : " -Inf", fp);
    else
        fprintf(fp, " %.17g", x == 0.0 ? 0.0 : x);
}

static void put_t(FILE *fp, int64_t ms)
{
    /* Unix seconds (bars are whole seconds; a fraction would show). */
    if (ms % 1000 == 0)
        fprintf(fp, "%lld", (long long)(ms / 1000));
    else
        fprintf(fp, "%.3f", (double)ms / 1000.0);
}

/* A comment line of data text: control characters become spaces. */
static void comment_text(FILE *fp, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, fp);
}

static void gp_begin(FILE *fp, const char *name, const char *what, int w, int h)
{
    fprintf(fp,
            "# %s.gp - %s\n"
            "# Made by cpo from %s.dat (its columns are named at its top).\n"
            "# Redraw: gnuplot %s.gp (in this folder) writes %s.png and %s.svg.\n"
            "if (!exists(\"cpo_suffix\")) cpo_suffix = \"\"\n"
            "set terminal pngcairo noenhanced size %d,%d font \"" FONT "\"\n"
            "set output \"%s.png\".cpo_suffix\n"
            "set datafile missing \"NaN\"\n"
            "set border 3 lw 1 lc rgb \"#444444\"\n"
            "set tics nomirror out scale 0.6\n"
            "set grid xtics ytics lw 1 lc rgb \"#dddddd\"\n"
            "set key top left opaque box lc rgb \"#cccccc\" samplen 2 spacing 1.1\n"
            "set lmargin 12\nset rmargin 4\n",
            name, what, name, name, name, name, w, h, name);
}

static void gp_end(FILE *fp, const char *name, int w, int h)
{
    fprintf(fp,
            "set terminal svg noenhanced size %d,%d font \"" FONT "\" background \"white\"\n"
            "set output \"%s.svg\".cpo_suffix\n"
            "replot\n"
            "unset output\n",
            w, h, name);
}

/* Month index (year * 12 + month - 1) of a time, and the time of one. */
static int64_t month_of(int64_t ms)
{
    cpo_civil c;
    cpo_time_to_civil(ms, &c);
    return (int64_t)c.year * 12 + c.month - 1;
}

static int64_t month_start(int64_t m)
{
    cpo_civil c = {0};
    c.year = (int)(m / 12);
    c.month = (int)(m % 12) + 1;
    c.day = 1;
    int64_t t = 0;
    cpo_time_from_civil(&c, &t);
    return t;
}

/*
 * The x axis: time, Unix seconds in column 1, with ticks made here at
 * round times (hours, days, weeks, month or year starts) so that their
 * labels never overlap at the image width.
 */
static void gp_time_x(FILE *fp, int64_t t0, int64_t t1, int width)
{
    fputs("set xdata time\nset timefmt \"%s\"\n", fp);
    if (t1 <= t0) {
        fputs("set format x \"%Y-%m-%d\"\n", fp);
        return;
    }
    fprintf(fp, "set xrange [\"%lld\":\"%lld\"]\n", (long long)(t0 / 1000), (long long)(t1 / 1000));
    static const struct {
        int64_t ms;
        int months, label; /* label: 0 MM-DD HH:MM, 1 MM-DD, 2 YYYY-MM, 3 YYYY */
    } steps[] = {
        {CPO_MS_HOUR, 0, 0},     {3 * CPO_MS_HOUR, 0, 0},  {6 * CPO_MS_HOUR, 0, 0},
        {12 * CPO_MS_HOUR, 0, 0}, {CPO_MS_DAY, 0, 1},      {2 * CPO_MS_DAY, 0, 1},
        {CPO_MS_WEEK, 0, 1},     {2 * CPO_MS_WEEK, 0, 1},  {0, 1, 2},
        {0, 2, 2},               {0, 3, 2},                {0, 6, 2},
        {0, 12, 3},              {0, 24, 3},               {0, 60, 3},
        {0, 120, 3}};
    int per = 75; /* px a label needs, with room between */
    int max_ticks = (width - 120) / per;
    if (max_ticks < 2)
        max_ticks = 2;
    size_t k = 0, ns = sizeof steps / sizeof steps[0];
    double span = (double)(t1 - t0);
    /* The longest step giving at least 5 ticks, else the shortest that fits. */
    size_t fit = ns - 1, best = ns;
    for (size_t j = ns; j-- > 0;) {
        double len = steps[j].ms ? (double)steps[j].ms : steps[j].months * 30.44 * CPO_MS_DAY;
        int limit = steps[j].label == 0 ? max_ticks * 2 / 3 : max_ticks; /* longer labels */
        double cnt = span / len;
        if (cnt > limit)
            break;
        fit = j;
        if (cnt >= 5.0 && best == ns)
            best = j;
    }
    k = best < ns ? best : fit;
    fputs("set xtics (", fp);
    int n = 0;
    if (steps[k].ms) {
        int64_t st = steps[k].ms;
        int64_t t = t0 % st == 0 ? t0 : (t0 / st + 1) * st;
        if (st == CPO_MS_WEEK || st == 2 * CPO_MS_WEEK) {
            /* Mondays: 1970-01-05 was one */
            int64_t mon = 4 * CPO_MS_DAY;
            t = t0 - ((t0 - mon) % st + st) % st;
            if (t < t0)
                t += st;
        }
        for (; t <= t1 && n < 64; t += st, n++) {
            cpo_civil c;
            cpo_time_to_civil(t, &c);
            if (steps[k].label == 0)
                fprintf(fp, "%s\"%02d-%02d %02d:%02d\" %lld", n ? ", " : "", c.month, c.day,
                        c.hour, c.minute, (long long)(t / 1000));
            else
                fprintf(fp, "%s\"%02d-%02d\" %lld", n ? ", " : "", c.month, c.day,
                        (long long)(t / 1000));
        }
    } else {
        int mstep = steps[k].months;
        int64_t m = month_of(t0);
        if (month_start(m) < t0)
            m++;
        while (m % mstep)
            m++;
        for (int64_t t; (t = month_start(m)) <= t1 && n < 64; m += mstep, n++) {
            if (steps[k].label == 3)
                fprintf(fp, "%s\"%lld\" %lld", n ? ", " : "", (long long)(m / 12),
                        (long long)(t / 1000));
            else
                fprintf(fp, "%s\"%lld-%02d\" %lld", n ? ", " : "", (long long)(m / 12),
                        (int)(m % 12) + 1, (long long)(t / 1000));
        }
    }
    fputs(")\n", fp);
}

static const char *const colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                      "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                      "#bcbd22", "#17becf", "#393b79", "#ad494a"};
#define N_COLOURS (sizeof colours / sizeof colours[0])

/* --- value axis ticks ----------------------------------------------------------------------- */

static double nice_step(double range, int target)
{
    double raw = range / target;
    if (!(raw > 0.0))
        return 1.0;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0) * mag;
}

static void unit_of(double a, double *scale, const char **suffix)
{
    *scale = 1.0;
    *suffix = "";
    if (a >= 1e9) {
        *scale = 1e9;
        *suffix = "B";
    } else if (a >= 1e6) {
        *scale = 1e6;
        *suffix = "M";
    } else if (a >= 1e3) {
        *scale = 1e3;
        *suffix = "k";
    }
}

/*
 * "set ytics (...)" for a positive axis [lo, hi] on a log scale: 1-2-5
 * steps when it spans a decade or more, else even steps; labels like
 * "1.004M" (made here: numbers only).
 */
static void gp_log_ticks(FILE *fp, double lo, double hi)
{
    double ticks[64];
    size_t n = 0;
    if (hi / lo >= 8.0) {
        static const double m3[] = {1, 2, 5}, m1[] = {1};
        for (int pass = 0; pass < 2; pass++) {
            const double *m = pass == 0 ? m3 : m1;
            size_t nm = pass == 0 ? 3 : 1;
            n = 0;
            for (int e = (int)floor(log10(lo)); e <= (int)ceil(log10(hi)) && n < 64; e++)
                for (size_t k = 0; k < nm && n < 64; k++) {
                    double v = m[k] * pow(10.0, e);
                    if (v >= lo && v <= hi)
                        ticks[n++] = v;
                }
            if (n <= 12)
                break;
        }
        fputs("set ytics (", fp);
        for (size_t k = 0; k < n; k++) {
            double s;
            const char *u;
            unit_of(ticks[k], &s, &u);
            fprintf(fp, "%s\"%g%s\" %.17g", k ? ", " : "", ticks[k] / s, u, ticks[k]);
        }
        fputs(")\n", fp);
        return;
    }
    double step = nice_step(hi - lo, 6);
    for (double v = ceil(lo / step) * step; v <= hi * (1 + 1e-12) && n < 64; v += step)
        ticks[n++] = v;
    double s;
    const char *u;
    unit_of(fmax(fabs(lo), fabs(hi)), &s, &u);
    int dec = (int)ceil(-log10(step / s) - 1e-9);
    if (dec < 0)
        dec = 0;
    if (dec > 10)
        dec = 10;
    fputs("set ytics (", fp);
    for (size_t k = 0; k < n; k++)
        fprintf(fp, "%s\"%.*f%s\" %.17g", k ? ", " : "", dec, ticks[k] / s, u, ticks[k]);
    fputs(")\n", fp);
}

/* --- the charts of a run --------------------------------------------------------------------- */

static int chart_equity(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    char title[200];
    snprintf(title, sizeof title, "Equity (%s, log scale)", r->currency[0] ? r->currency : "");
    chart_init(ch, "equity", title);
    if (r->n < 1) {
        chart_skip(c, ch, "ledger.csv has no rows");
        return 0;
    }
    double lo = INFINITY, hi = -INFINITY;
    int positive = 1;
    for (size_t t = 0; t < r->n; t++) {
        double e = r->equity[t];
        if (!isfinite(e))
            continue;
        if (e <= 0.0)
            positive = 0;
        lo = fmin(lo, e);
        hi = fmax(hi, e);
    }
    if (isfinite(r->capital)) {
        lo = fmin(lo, r->capital);
        hi = fmax(hi, r->capital);
    }
    if (!isfinite(lo)) {
        chart_skip(c, ch, "no finite equity in ledger.csv");
        return 0;
    }
    rp_out d, s;
    int rc = rp_out_open(&d, c->dir, "equity.dat", c->err);
    if (rc)
        return rc;
    fputs("# equity after each step\n# columns: 1 time (Unix seconds, bar open), 2 equity (",
          d.fp);
    comment_text(d.fp, r->currency);
    fputs(")\n", d.fp);
    for (size_t t = 0; t < r->n; t++) {
        put_t(d.fp, r->ts[t]);
        num(d.fp, r->equity[t]);
        fputc('\n', d.fp);
    }
    if ((rc = rp_out_close(&d, 1, c->err)) || (rc = rp_out_open(&s, c->dir, "equity.gp", c->err)))
        return rc;
    gp_begin(s.fp, "equity", "equity curve", WIDE_W, WIDE_H);
    size_of(ch, WIDE_W, WIDE_H);
    gp_time_x(s.fp, r->ts[0], r->ts[r->n - 1], WIDE_W);
    if (positive) {
        double pad = hi > lo ? pow(hi / lo, 0.05) : 1.001;
        fprintf(s.fp, "set logscale y\nset yrange [%.17g:%.17g]\n", lo / pad, hi * pad);
        gp_log_ticks(s.fp, lo / pad, hi * pad);
    } else {
        snprintf(ch->title, sizeof ch->title, "Equity (%s; linear scale: equity is not above 0 "
                 "throughout)", r->currency);
    }
    fprintf(s.fp, "set ylabel %s\n", q(r->currency[0] ? r->currency : "equity").s);
    fprintf(s.fp, "plot \"equity.dat\" using 1:2 with lines lw 1.5 lc rgb \"%s\" title %s",
            colours[0], q("equity").s);
    if (isfinite(r->capital))
        fprintf(s.fp, ", %.17g with lines dt 2 lw 1 lc rgb \"#888888\" title %s", r->capital,
                q("capital").s);
    fputc('\n', s.fp);
    gp_end(s.fp, "equity", WIDE_W, WIDE_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    chart_draw(c, ch);
    return 0;
}

static int chart_drawdown(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    chart_init(ch, "drawdown", "Underwater: fall from the running peak (%)");
    if (r->n < 1) {
        chart_skip(c, ch, "ledger.csv has no rows");
        return 0;
    }
    rp_out d, s;
    int rc = rp_out_open(&d, c->dir, "drawdown.dat", c->err);
    if (rc)
        return rc;
    fputs("# drawdown: equity / running peak - 1 (the capital is the first peak)\n"
          "# columns: 1 time (Unix seconds, bar open), 2 drawdown (fraction, <= 0)\n", d.fp);
    double peak = isfinite(r->capital) ? r->capital : r->equity[0], worst = 0.0;
    for (size_t t = 0; t < r->n; t++) {
        double e = r->equity[t], dd = NAN;
        if (isfinite(e)) {
            if (e > peak)
                peak = e;
            dd = peak > 0.0 ? e / peak - 1.0 : NAN;
            if (dd < worst)
                worst = dd;
        }
        put_t(d.fp, r->ts[t]);
        num(d.fp, dd);
        fputc('\n', d.fp);
    }
    if ((rc = rp_out_close(&d, 1, c->err)) ||
        (rc = rp_out_open(&s, c->dir, "drawdown.gp", c->err)))
        return rc;
    snprintf(ch->title, sizeof ch->title, "Underwater: fall from the running peak (max %.2f %%)",
             -100.0 * worst);
    gp_begin(s.fp, "drawdown", "underwater chart", HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    gp_time_x(s.fp, r->ts[0], r->ts[r->n - 1], HALF_W);
    double lo = worst < 0.0 ? worst * 100.0 * 1.08 : -1.0;
    fprintf(s.fp, "set yrange [%.17g:0]\nset format y \"%%g%%%%\"\nset ylabel %s\n"
            "set key bottom left\n"
            "plot \"drawdown.dat\" using 1:($2*100) with filledcurves y=0 fc rgb \"#d62728\" "
            "fs transparent solid 0.35 noborder notitle, \\\n"
            "     \"drawdown.dat\" using 1:($2*100) with lines lw 1 lc rgb \"#b2182b\" title %s\n",
            lo, q("drawdown (%)").s, q("drawdown").s);
    gp_end(s.fp, "drawdown", HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    chart_draw(c, ch);
    return 0;
}

/* Rolling volatility and Sharpe: window of 30 days of bars. */
static int chart_rolling(chart_ctx *c, const rp_run *r, rp_chart *ch, int sharpe)
{
    const char *name = sharpe ? "rolling_sharpe" : "rolling_vol";
    int64_t win_ms = 30 * CPO_MS_DAY;
    size_t w = r->bar_ms > 0 ? (size_t)llround((double)win_ms / (double)r->bar_ms) : 30;
    if (w < 2)
        w = 2;
    char title[200];
    snprintf(title, sizeof title, sharpe ? "Rolling Sharpe ratio (30 days: %zu bars; %.0f bars a year)"
                                         : "Rolling volatility (30 days: %zu bars; annualised, %.0f "
                                           "bars a year)",
             w, r->ppy);
    chart_init(ch, name, title);
    if (r->n < w) {
        chart_skip(c, ch, "%zu bars, fewer than the 30-day window (%zu bars)", r->n, w);
        return 0;
    }
    double *ret = malloc(r->n * sizeof *ret);
    if (!ret)
        return cpo_error_set(c->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    double prev = isfinite(r->capital) ? r->capital : r->equity[0];
    for (size_t t = 0; t < r->n; t++) {
        ret[t] = prev != 0.0 && isfinite(prev) ? r->equity[t] / prev - 1.0 : NAN;
        prev = r->equity[t];
    }
    rp_out d, s;
    char fn[64];
    snprintf(fn, sizeof fn, "%s.dat", name);
    int rc = rp_out_open(&d, c->dir, fn, c->err);
    if (rc) {
        free(ret);
        return rc;
    }
    fprintf(d.fp, "# %s over the last %zu bar returns (simple returns of equity; sample sd; "
            "annualised with %.17g bars a year, a 365-day year)\n"
            "# columns: 1 time (Unix seconds, bar open of the window's last bar), 2 %s\n",
            sharpe ? "Sharpe ratio (mean / sd * sqrt(bars a year), no risk-free rate)"
                   : "volatility (sd * sqrt(bars a year), fraction)",
            w, r->ppy, sharpe ? "sharpe" : "volatility");
    for (size_t t = w - 1; t < r->n; t++) {
        double m = 0.0, ss = 0.0;
        int ok = 1;
        for (size_t k = t + 1 - w; k <= t; k++) {
            if (!isfinite(ret[k])) {
                ok = 0;
                break;
            }
            m += ret[k];
        }
        double val = NAN;
        if (ok) {
            m /= (double)w;
            for (size_t k = t + 1 - w; k <= t; k++)
                ss += (ret[k] - m) * (ret[k] - m);
            double sd = sqrt(ss / (double)(w - 1));
            val = sharpe ? (sd > 0.0 ? m / sd * sqrt(r->ppy) : NAN) : sd * sqrt(r->ppy);
        }
        put_t(d.fp, r->ts[t]);
        num(d.fp, val);
        fputc('\n', d.fp);
    }
    free(ret);
    snprintf(fn, sizeof fn, "%s.gp", name);
    if ((rc = rp_out_close(&d, 1, c->err)) || (rc = rp_out_open(&s, c->dir, fn, c->err)))
        return rc;
    gp_begin(s.fp, name, sharpe ? "rolling Sharpe ratio" : "rolling volatility", HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    gp_time_x(s.fp, r->ts[0], r->ts[r->n - 1], HALF_W);
    if (sharpe)
        fprintf(s.fp, "set ylabel %s\nset xzeroaxis lt 1 lw 1 lc rgb \"#888888\"\n"
                "plot \"%s.dat\" using 1:2 with lines lw 1.2 lc rgb \"%s\" title %s\n",
                q("Sharpe (annualised)").s, name, colours[4], q("30-day Sharpe").s);
    else
        fprintf(s.fp, "set ylabel %s\nset format y \"%%g%%%%\"\nset yrange [0:*]\n"
                "plot \"%s.dat\" using 1:($2*100) with lines lw 1.2 lc rgb \"%s\" title %s\n",
                q("volatility (% a year)").s, name, colours[1], q("30-day volatility").s);
    gp_end(s.fp, name, HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    chart_draw(c, ch);
    return 0;
}

typedef struct rank {
    size_t i;
    double key;
} rank;

static int cmp_rank(const void *a, const void *b)
{
    const rank *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

#define MAX_LINES 11 /* series drawn one by one; the rest go into "other" */

static int chart_weights(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    chart_init(ch, "weights", "Weights over time (exposure / equity, stacked)");
    if (!r->has_instr) {
        chart_skip(c, ch, "no ledger_instruments.csv (run with detail = instrument in [backtest] "
                   "for weights and correlations)");
        return 0;
    }
    if (r->n_sym == 0 || r->n == 0) {
        chart_skip(c, ch, "ledger_instruments.csv has no rows");
        return 0;
    }
    size_t ns = r->n_sym;
    rank *rk = malloc(ns * sizeof *rk);
    double *w = malloc(ns * sizeof *w);
    size_t *pos = malloc(ns * sizeof *pos);
    if (!rk || !w || !pos) {
        free(rk);
        free(w);
        free(pos);
        return cpo_error_set(c->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    for (size_t k = 0; k < ns; k++) {
        double sum = 0.0;
        for (size_t t = 0; t < r->n; t++)
            if (r->equity[t] > 0.0)
                sum += fabs(r->expo[t * ns + k] / r->equity[t]);
        rk[k].i = k;
        rk[k].key = sum;
    }
    qsort(rk, ns, sizeof *rk, cmp_rank);
    size_t shown = ns <= MAX_LINES + 1 ? ns : MAX_LINES;
    int other = ns > shown;
    size_t nl = shown + (size_t)other;
    for (size_t k = 0; k < ns; k++)
        pos[rk[k].i] = k < shown ? k : shown;
    rp_out d, s;
    int rc = rp_out_open(&d, c->dir, "weights.dat", c->err);
    if (rc)
        goto out;
    fputs("# weights: exposure / equity of each instrument (ledger_instruments.csv, "
          "ledger.csv); longs stacked up from 0, shorts down\n"
          "# columns: 1 time (Unix seconds, bar open), then for each series 3 columns: weight, "
          "lower and upper edge of its band; then net and gross\n# series:", d.fp);
    for (size_t k = 0; k < shown; k++) {
        fputs(" ", d.fp);
        comment_text(d.fp, r->sym[rk[k].i]);
    }
    if (other)
        fputs(" other", d.fp);
    fputc('\n', d.fp);
    for (size_t t = 0; t < r->n; t++) {
        double eq = r->equity[t];
        if (!(eq > 0.0))
            continue;
        for (size_t k = 0; k < nl; k++)
            w[k] = 0.0;
        for (size_t k = 0; k < ns; k++)
            w[pos[k]] += r->expo[t * ns + k] / eq;
        put_t(d.fp, r->ts[t]);
        double up = 0.0, down = 0.0, net = 0.0, gross = 0.0;
        for (size_t k = 0; k < nl; k++) {
            double lo, hi;
            if (w[k] >= 0.0) {
                lo = up;
                hi = up + w[k];
                up = hi;
            } else {
                hi = down;
                lo = down + w[k];
                down = lo;
            }
            net += w[k];
            gross += fabs(w[k]);
            num(d.fp, w[k]);
            num(d.fp, lo);
            num(d.fp, hi);
        }
        num(d.fp, net);
        num(d.fp, gross);
        fputc('\n', d.fp);
    }
    if ((rc = rp_out_close(&d, 1, c->err)) || (rc = rp_out_open(&s, c->dir, "weights.gp", c->err)))
        goto out;
    gp_begin(s.fp, "weights", "weights over time, stacked", HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    gp_time_x(s.fp, r->ts[0], r->ts[r->n - 1], HALF_W);
    fprintf(s.fp, "set key outside bottom center horizontal Left reverse noopaque nobox width 2\n"
            "set ylabel %s\nset xzeroaxis lt 1 lw 1 lc rgb \"#444444\"\nplot ",
            q("weight (exposure / equity)").s);
    for (size_t k = 0; k < nl; k++) {
        const char *label = k < shown ? r->sym[rk[k].i] : "other";
        fprintf(s.fp, "\"weights.dat\" using 1:%zu:%zu with filledcurves fc rgb \"%s\" "
                "fs solid 0.8 noborder title %s, \\\n     ",
                2 + 3 * k + 1, 2 + 3 * k + 2, colours[k % N_COLOURS], q(label).s);
    }
    fprintf(s.fp, "\"weights.dat\" using 1:%zu with lines lw 1.5 lc rgb \"black\" title %s\n",
            2 + 3 * nl, q("net").s);
    gp_end(s.fp, "weights", HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        goto out;
    if (other)
        snprintf(ch->note, sizeof ch->note, "%zu instruments: the %d largest by mean |weight| are "
                 "drawn, the other %zu together as \"other\"", ns, MAX_LINES, ns - shown);
    chart_draw(c, ch);
out:
    free(rk);
    free(w);
    free(pos);
    return rc;
}

/* Lines of an attribution series file over time: the first of files[]
 * that is in the run folder with a time column. */
typedef struct attr_chart {
    const char *name, *title;
    int files[2];
    size_t nfiles;
    const char *cols;
    int mode;
    int pct;           /* values are fractions: drawn in % */
    const char *ylabel;
    const char *strip; /* prefix left out of the line titles (NULL: none) */
    int skip_zero;     /* leave out lines that are 0 throughout */
} attr_chart;

/* A line's title: its column name less spec->strip. */
static const char *line_label(const attr_chart *spec, const char *name)
{
    size_t n = spec->strip ? strlen(spec->strip) : 0;
    return n && !strncmp(name, spec->strip, n) && name[n] ? name + n : name;
}

static int chart_attr(chart_ctx *c, const rp_run *r, const attr_chart *spec, rp_chart *ch)
{
    chart_init(ch, spec->name, spec->title);
    const rp_attr *a = NULL;
    for (size_t k = 0; k < spec->nfiles && !a; k++)
        if (r->attr[spec->files[k]].present && r->attr[spec->files[k]].tcol >= 0)
            a = &r->attr[spec->files[k]];
    if (!a) {
        const rp_attr *f = &r->attr[spec->files[0]];
        if (f->present)
            chart_skip(c, ch, "%s has no time column", f->file);
        else
            chart_skip(c, ch, "no %s in the run folder", f->file);
        return 0;
    }
    rp_series v;
    int rc = rp_attr_series(a, spec->cols, spec->mode, &v, c->err);
    if (rc)
        return rc;
    /* Lines with a number somewhere, the largest at the end first. */
    rank *rk = malloc((v.ns ? v.ns : 1) * sizeof *rk);
    if (!rk) {
        rp_series_free(&v);
        return cpo_error_set(c->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    size_t nl = 0;
    for (size_t k = 0; k < v.ns; k++) {
        double last = NAN;
        for (size_t i = 0; i < v.nt; i++)
            if (!isnan(v.s[i * v.ns + k]))
                last = v.s[i * v.ns + k];
        if (isnan(last))
            continue;
        int nonzero = 0;
        for (size_t i = 0; i < v.nt && !nonzero; i++)
            nonzero = !isnan(v.s[i * v.ns + k]) && v.s[i * v.ns + k] != 0.0;
        if (spec->skip_zero && !nonzero)
            continue;
        rk[nl].i = k;
        rk[nl++].key = rp_attr_key_role(line_label(spec, v.name[k])) == RP_ROLE_TOTAL ? INFINITY
                                                                                    : fabs(last);
    }
    if (nl == 0 || v.nt == 0) {
        chart_skip(c, ch, "%s has no numbers in the columns %s", a->file, spec->cols);
        goto out;
    }
    qsort(rk, nl, sizeof *rk, cmp_rank);
    size_t shown = nl <= MAX_LINES + 1 ? nl : MAX_LINES;
    char fn[64];
    rp_out d, s;
    snprintf(fn, sizeof fn, "%s.dat", spec->name);
    if ((rc = rp_out_open(&d, c->dir, fn, c->err)))
        goto out;
    fprintf(d.fp, "# %s: %s of %s\n# columns: 1 time (Unix seconds: %s), then one per line:",
            spec->title, v.cumulated ? "running sums of the values" : "the values as they are",
            a->file, a->t.name[a->tcol]);
    for (size_t k = 0; k < shown; k++) {
        fputs(k ? ", " : " ", d.fp);
        comment_text(d.fp, line_label(spec, v.name[rk[k].i]));
    }
    fputc('\n', d.fp);
    for (size_t i = 0; i < v.nt; i++) {
        put_t(d.fp, v.ts[i]);
        for (size_t k = 0; k < shown; k++)
            num(d.fp, v.s[i * v.ns + rk[k].i]);
        fputc('\n', d.fp);
    }
    if ((rc = rp_out_close(&d, 1, c->err)))
        goto out;
    snprintf(fn, sizeof fn, "%s.gp", spec->name);
    if ((rc = rp_out_open(&s, c->dir, fn, c->err)))
        goto out;
    gp_begin(s.fp, spec->name, spec->title, HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    gp_time_x(s.fp, v.ts[0], v.ts[v.nt - 1], HALF_W);
    fprintf(s.fp, "set key outside bottom center horizontal Left reverse noopaque nobox width 2\n"
            "set ylabel %s\nset xzeroaxis lt 1 lw 1 lc rgb \"#888888\"\n%s",
            q(spec->ylabel).s, spec->pct ? "set format y \"%g%%\"\n" : "");
    fputs("plot ", s.fp);
    for (size_t k = 0; k < shown; k++) {
        const char *label = line_label(spec, v.name[rk[k].i]);
        int role = rp_attr_key_role(label);
        char col[32];
        snprintf(col, sizeof col, spec->pct ? "($%zu*100)" : "%zu", k + 2);
        fprintf(s.fp, "%s\"%s.dat\" using 1:%s with lines lw %s lc rgb \"%s\"%s title %s",
                k ? ", \\\n     " : "", spec->name, col, role == RP_ROLE_TOTAL ? "2.5" : "1.5",
                role == RP_ROLE_TOTAL ? "black" : colours[k % N_COLOURS],
                role == RP_ROLE_RESIDUAL ? " dt 2" : "", q(label).s);
    }
    fputc('\n', s.fp);
    gp_end(s.fp, spec->name, HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        goto out;
    snprintf(ch->note, sizeof ch->note, "from %s (%s)%s", a->file,
             v.cumulated ? "running sums of its per-period values" : "as in the file",
             shown < nl ? "; only the largest lines at the end are drawn" : "");
    chart_draw(c, ch);
out:
    free(rk);
    rp_series_free(&v);
    return rc;
}

#define MAX_CORR 40

static int chart_corr(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    chart_init(ch, "correlation", "Correlation of the instruments' bar returns");
    if (!r->has_instr) {
        chart_skip(c, ch, "no ledger_instruments.csv (run with detail = instrument in [backtest] "
                   "for weights and correlations)");
        return 0;
    }
    size_t ns = r->n_sym, n = r->n;
    if (ns < 2) {
        chart_skip(c, ch, "%zu instrument held: no pairs to correlate", ns);
        return 0;
    }
    /* Returns of the marks, where held at both steps. */
    double *ret = malloc((n * ns != 0 ? n * ns : 1) * sizeof *ret);
    rank *rk = malloc(ns * sizeof *rk);
    int rc = 0;
    if (!ret || !rk) {
        rc = cpo_error_set(c->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < ns; k++) {
        size_t cnt = 0;
        for (size_t t = 0; t < n; t++) {
            double p0 = t ? r->px[(t - 1) * ns + k] : NAN, p1 = r->px[t * ns + k];
            ret[t * ns + k] = p0 > 0.0 && p1 > 0.0 ? p1 / p0 - 1.0 : NAN;
            cnt += !isnan(ret[t * ns + k]);
        }
        rk[k].i = k;
        rk[k].key = (double)cnt;
    }
    size_t m = ns;
    if (m > MAX_CORR) {
        qsort(rk, ns, sizeof *rk, cmp_rank);
        m = MAX_CORR;
    }
    rp_out d, s;
    if ((rc = rp_out_open(&d, c->dir, "correlation.dat", c->err)))
        goto out;
    fputs("# correlation of simple bar returns of the marks (px of ledger_instruments.csv), over "
          "the steps where both instruments were held at this step and the one before\n"
          "# columns: 1 column index, 2 row index, 3 correlation (0 where undefined), "
          "4 defined (1: at least 3 common returns)\n# instruments:", d.fp);
    for (size_t k = 0; k < m; k++) {
        fputs(" ", d.fp);
        comment_text(d.fp, r->sym[rk[k].i]);
    }
    fputc('\n', d.fp);
    size_t undefined = 0;
    for (size_t a = 0; a < m; a++) {
        for (size_t b = 0; b < m; b++) {
            size_t i = rk[a].i, j = rk[b].i, cnt = 0;
            double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
            for (size_t t = 0; t < n; t++) {
                double x = ret[t * ns + i], y = ret[t * ns + j];
                if (isnan(x) || isnan(y))
                    continue;
                cnt++;
                sx += x;
                sy += y;
            }
            double corr = NAN;
            if (cnt >= 3) {
                double mx = sx / (double)cnt, my = sy / (double)cnt;
                for (size_t t = 0; t < n; t++) {
                    double x = ret[t * ns + i], y = ret[t * ns + j];
                    if (isnan(x) || isnan(y))
                        continue;
                    sxx += (x - mx) * (x - mx);
                    syy += (y - my) * (y - my);
                    sxy += (x - mx) * (y - my);
                }
                if (sxx > 0.0 && syy > 0.0)
                    corr = fmax(-1.0, fmin(1.0, sxy / sqrt(sxx * syy)));
            }
            undefined += isnan(corr);
            fprintf(d.fp, "%zu %zu", b, a);
            num(d.fp, isnan(corr) ? 0.0 : corr);
            fprintf(d.fp, " %d\n", isnan(corr) ? 0 : 1);
        }
        fputc('\n', d.fp);
    }
    if ((rc = rp_out_close(&d, 1, c->err)) ||
        (rc = rp_out_open(&s, c->dir, "correlation.gp", c->err)))
        goto out;
    int side = m <= 3 ? HALF_H : 58 * (int)m + 140;
    if (side > 1100)
        side = 1100;
    gp_begin(s.fp, "correlation", "correlation heatmap", side + 190, side);
    size_of(ch, side + 190, side);
    fprintf(s.fp, "unset grid\nunset key\nset border 15\nset tics scale 0\nset size ratio -1\n"
            "set xrange [-0.5:%zu.5]\nset yrange [%zu.5:-0.5]\n"
            "set cbrange [-1:1]\nset cbtics 0.5\n"
            "set palette defined (-1 \"#2166ac\", 0 \"#f7f7f7\", 1 \"#b2182b\")\n"
            "set lmargin 14\nset bmargin 8\n",
            m - 1, m - 1);
    fputs("set xtics rotate by 45 right (", s.fp);
    for (size_t k = 0; k < m; k++)
        fprintf(s.fp, "%s%s %zu", k ? ", " : "", q(r->sym[rk[k].i]).s, k);
    fputs(")\nset ytics (", s.fp);
    for (size_t k = 0; k < m; k++)
        fprintf(s.fp, "%s%s %zu", k ? ", " : "", q(r->sym[rk[k].i]).s, k);
    fputs(")\n", s.fp);
    fputs("plot \"correlation.dat\" using 1:2:3 with image", s.fp);
    if (m <= 15) {
        const char *f = m <= 3 ? "%.3f" : "%.2f";
        fprintf(s.fp, ", \\\n     \"correlation.dat\" using 1:2:(($4 > 0 && abs($3) < 0.6) ? "
                "sprintf(\"%s\", $3) : $4 > 0 ? \"\" : \"n/a\") with labels font \",9\" "
                "tc rgb \"black\", \\\n     \"correlation.dat\" using 1:2:(($4 > 0 && "
                "abs($3) >= 0.6) ? sprintf(\"%s\", $3) : \"\") with labels font \",9\" "
                "tc rgb \"white\"", f, f);
    }
    fputc('\n', s.fp);
    gp_end(s.fp, "correlation", side + 190, side);
    if ((rc = rp_out_close(&s, 1, c->err)))
        goto out;
    if (m < ns)
        snprintf(ch->note, sizeof ch->note, "%zu instruments: the %zu with the most returns are "
                 "shown", ns, m);
    else if (undefined)
        snprintf(ch->note, sizeof ch->note, "n/a: fewer than 3 common returns, or a constant mark");
    chart_draw(c, ch);
out:
    free(ret);
    free(rk);
    return rc;
}

static const attr_chart attr_charts[] = {
    {"attribution_asset", "Attribution by asset, cumulative (contribution to the return)",
     {RP_ATTR_ASSET_SERIES, RP_ATTR_ASSET}, 2, "*", RP_SERIES_AUTO, 1, "contribution (% of capital)", NULL, 0},
    {"attribution_factor", "Attribution by factor, cumulative (per-period contributions summed)",
     {RP_ATTR_FACTOR_ROLLING, RP_ATTR_FACTOR}, 2, "c_*|residual", RP_SERIES_SUM, 1,
     "contribution (% of capital)", NULL, 0},
    {"attribution_factor_betas", "Rolling factor betas (estimated on the periods before)",
     {RP_ATTR_FACTOR_ROLLING}, 1, "beta_*", RP_SERIES_AS_IS, 0, "beta", NULL, 0},
    {"attribution_greek", "Attribution by Greek, cumulative (P&L since the start)",
     {RP_ATTR_GREEK}, 1, "cum_*", RP_SERIES_AS_IS, 0, "P&L (reporting currency)", "cum_", 1},
};

int rp_charts_run(const rp_run *r, const char *charts_dir, rp_gnuplot *g, rp_chart *out,
                  cpo_error *err)
{
    int rc = rp_mkdir(charts_dir, err);
    if (rc)
        return rc;
    chart_ctx c = {charts_dir, g, err};
    if ((rc = chart_equity(&c, r, &out[RP_C_EQUITY])) ||
        (rc = chart_drawdown(&c, r, &out[RP_C_DRAWDOWN])) ||
        (rc = chart_rolling(&c, r, &out[RP_C_VOL], 0)) ||
        (rc = chart_rolling(&c, r, &out[RP_C_SHARPE], 1)) ||
        (rc = chart_weights(&c, r, &out[RP_C_WEIGHTS])) ||
        (rc = chart_attr(&c, r, &attr_charts[0], &out[RP_C_ATTR_ASSET])) ||
        (rc = chart_attr(&c, r, &attr_charts[1], &out[RP_C_ATTR_FACTOR])) ||
        (rc = chart_attr(&c, r, &attr_charts[2], &out[RP_C_ATTR_BETAS])) ||
        (rc = chart_attr(&c, r, &attr_charts[3], &out[RP_C_ATTR_GREEK])) ||
        (rc = chart_corr(&c, r, &out[RP_C_CORR])))
        return rc;
    return rp_cancelled(g, err);
}

int rp_cancelled(const rp_gnuplot *g, cpo_error *err)
{
    if (g->cancel && *g->cancel)
        return cpo_error_set(err, CPO_EINTR, NULL, 0, 0,
                             "interrupted while drawing the charts (expected the report to be "
                             "made whole; run cpo report again)");
    return 0;
}

/* --- compare ------------------------------------------------------------------------------------- */

static int overlay(chart_ctx *c, rp_chart *ch, const char *name, size_t nrun,
                   const char *const *labels, size_t nt, const int64_t *ts, const double *v,
                   int growth)
{
    rp_out d, s;
    char fn[64];
    snprintf(fn, sizeof fn, "%s.dat", name);
    int rc = rp_out_open(&d, c->dir, fn, c->err);
    if (rc)
        return rc;
    fprintf(d.fp, "# %s of each run on the common times\n# columns: 1 time (Unix seconds, bar "
            "open), then one per run:", growth ? "growth of 1 (equity / equity before the first "
                                                 "common bar)"
                                               : "drawdown (fraction below the running peak)");
    for (size_t k = 0; k < nrun; k++) {
        fputs(k ? ", " : " ", d.fp);
        comment_text(d.fp, labels[k]);
    }
    fputc('\n', d.fp);
    double lo = INFINITY, hi = -INFINITY;
    int positive = 1;
    for (size_t i = 0; i < nt; i++) {
        put_t(d.fp, ts[i]);
        for (size_t k = 0; k < nrun; k++) {
            double x = v[k * nt + i];
            num(d.fp, x);
            if (isfinite(x)) {
                lo = fmin(lo, x);
                hi = fmax(hi, x);
                if (x <= 0.0)
                    positive = 0;
            }
        }
        fputc('\n', d.fp);
    }
    if ((rc = rp_out_close(&d, 1, c->err)))
        return rc;
    snprintf(fn, sizeof fn, "%s.gp", name);
    if ((rc = rp_out_open(&s, c->dir, fn, c->err)))
        return rc;
    gp_begin(s.fp, name, growth ? "equity of the runs, overlaid" : "drawdowns of the runs, overlaid",
             WIDE_W, growth ? WIDE_H : 320);
    size_of(ch, WIDE_W, growth ? WIDE_H : 320);
    gp_time_x(s.fp, ts[0], ts[nt - 1], WIDE_W);
    fputs("set key outside bottom center horizontal Left reverse noopaque nobox width 2\n", s.fp);
    if (growth) {
        if (positive && isfinite(lo)) {
            lo = fmin(lo, 1.0);
            hi = fmax(hi, 1.0);
            double pad = hi > lo ? pow(hi / lo, 0.05) : 1.001;
            fprintf(s.fp, "set logscale y\nset yrange [%.17g:%.17g]\n", lo / pad, hi * pad);
            gp_log_ticks(s.fp, lo / pad, hi * pad);
        }
        fprintf(s.fp, "set ylabel %s\n", q(positive ? "growth of 1 (log scale)" : "growth of 1").s);
    } else {
        double ylo = isfinite(lo) && lo < 0.0 ? lo * 100.0 * 1.08 : -1.0;
        fprintf(s.fp, "set yrange [%.17g:0]\nset format y \"%%g%%%%\"\nset ylabel %s\n", ylo,
                q("drawdown (%)").s);
    }
    fputs("plot ", s.fp);
    for (size_t k = 0; k < nrun; k++)
        fprintf(s.fp, "%s\"%s.dat\" using 1:%s%zu%s with lines lw 1.5 lc rgb \"%s\" title %s",
                k ? ", \\\n     " : "", name, growth ? "" : "($", k + 2, growth ? "" : "*100)",
                colours[k % N_COLOURS], q(labels[k]).s);
    fputc('\n', s.fp);
    gp_end(s.fp, name, WIDE_W, growth ? WIDE_H : 320);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    chart_draw(c, ch);
    return 0;
}

int rp_charts_compare(const char *charts_dir, size_t nrun, const char *const *labels, size_t nt,
                      const int64_t *ts, const double *growth, const double *dd, rp_gnuplot *g,
                      rp_chart *out, cpo_error *err)
{
    int rc = rp_mkdir(charts_dir, err);
    if (rc)
        return rc;
    chart_ctx c = {charts_dir, g, err};
    chart_init(&out[0], "equity", "Growth of 1 over the compared period (log scale)");
    chart_init(&out[1], "drawdown", "Drawdown over the compared period (%)");
    if (nt == 0) {
        chart_skip(&c, &out[0], "no common bars");
        chart_skip(&c, &out[1], "no common bars");
        return 0;
    }
    if ((rc = overlay(&c, &out[0], "equity", nrun, labels, nt, ts, growth, 1)) ||
        (rc = overlay(&c, &out[1], "drawdown", nrun, labels, nt, ts, dd, 0)))
        return rc;
    return rp_cancelled(g, err);
}
