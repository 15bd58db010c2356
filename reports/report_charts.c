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
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gsl/gsl_histogram.h>
#include <gsl/gsl_randist.h>

#include "cpo/time.h"
#include "csvwrite.h"
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
    g->no_plot = o ? o->no_plot : 0;
    g->jobs = o && o->jobs > 0 ? o->jobs : 0;
    int charts = o ? o->charts : CPO_CHARTS_BOTH;
    g->img = charts == CPO_CHARTS_PNG   ? RP_IMG_PNG
             : charts == CPO_CHARTS_SVG ? RP_IMG_SVG
                                        : RP_IMG_PNG | RP_IMG_SVG;
    if (charts == CPO_CHARTS_NONE)
        g->no_plot = 1;
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
 * gnuplot on dir/NAME.gp, started: fork + execve, stdout and stderr to a
 * pipe (*fd, non-blocking, read back by job_read); -1 with note when it
 * cannot be started.
 */
static pid_t gnuplot_spawn(const rp_gnuplot *g, const char *dir, const char *name, int *fd,
                           char *note, size_t nn)
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
    /* Not inherited by the next children (they would hold it open). */
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);
    *fd = pfd[0];
    return pid;
}

static void remove_files(const char *dir, const char *name, int images_only);

/* A gnuplot at work on one chart. */
typedef struct gp_job {
    rp_chart *ch;
    pid_t pid;
    int fd;          /* its output; -1 at EOF */
    size_t n;
    char out[4096];  /* the last 4 KiB of its output */
} gp_job;

/* Read what the job's gnuplot has written; 1 at EOF (or a read error). */
static int job_read(gp_job *j)
{
    for (;;) {
        char b[1024];
        ssize_t r = read(j->fd, b, sizeof b);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (r <= 0)
            return 1;
        /* Keep the last 4 KiB (b is smaller than out). */
        size_t k = (size_t)r;
        if (j->n + k > sizeof j->out - 1) {
            size_t drop = j->n + k - (sizeof j->out - 1);
            memmove(j->out, j->out + drop, j->n - drop);
            j->n -= drop;
        }
        memcpy(j->out + j->n, b, k);
        j->n += k;
    }
}

/* The images a chart's script may write: NAME.png (RP_IMG_PNG), NAME.svg
 * (RP_IMG_SVG). */
static const char *const img_ext[] = {".png", ".svg"};

/*
 * The job's gnuplot has closed its output: its status, then the chart
 * DRAWN with its images renamed (it exited 0 and made NAME.png.tmp.<pid> and
 * NAME.svg.tmp.<pid>, those of img), or FAILED with gnuplot's message.
 */
static void job_finish(gp_job *j, const char *dir, unsigned img)
{
    rp_chart *ch = j->ch;
    close(j->fd);
    j->fd = -1;
    j->out[j->n] = '\0';
    int st = 0;
    while (waitpid(j->pid, &st, 0) < 0) {
        if (errno != EINTR) {
            snprintf(ch->note, sizeof ch->note, "cannot run gnuplot: waitpid: %s",
                     strerror(errno));
            ch->state = RP_CHART_FAILED;
            remove_files(dir, ch->name, 1);
            return;
        }
    }
    char tmp[2][1300];
    int made = 1;
    for (int k = 0; k < 2; k++) {
        struct stat s;
        char to[1280];
        snprintf(to, sizeof to, "%s/%s%s", dir, ch->name, img_ext[k]);
        cpo_tmp_path(tmp[k], sizeof tmp[k], to);
        if (img & (1u << k))
            made = made && stat(tmp[k], &s) == 0 && s.st_size > 0;
    }
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0 && made)) {
        /* The chart's own note (what it shows) gives way to gnuplot's message. */
        char msg[400];
        tail_text(msg, sizeof msg, j->out);
        if (WIFEXITED(st))
            snprintf(ch->note, sizeof ch->note, "gnuplot %s.gp exited with status %d%s%s",
                     ch->name, WEXITSTATUS(st),
                     msg[0]                              ? ": "
                     : img == (RP_IMG_PNG | RP_IMG_SVG) ? " without making both images"
                                                        : " without making its image",
                     msg);
        else
            snprintf(ch->note, sizeof ch->note, "gnuplot %s.gp was killed by signal %d",
                     ch->name, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        for (int k = 0; k < 2; k++)
            unlink(tmp[k]);
        ch->state = RP_CHART_FAILED;
        remove_files(dir, ch->name, 1);
        return;
    }
    for (int k = 0; k < 2; k++) {
        char to[1280];
        snprintf(to, sizeof to, "%s/%s%s", dir, ch->name, img_ext[k]);
        if (!(img & (1u << k))) {
            unlink(to); /* an earlier report's, of another kind */
            continue;
        }
        if (rename(tmp[k], to) != 0) {
            snprintf(ch->note, sizeof ch->note, "cannot rename %s: %s", strrchr(tmp[k], '/') + 1,
                     strerror(errno));
            unlink(tmp[k]);
            ch->state = RP_CHART_FAILED;
            return;
        }
    }
    ch->state = RP_CHART_DRAWN;
    ch->img = img;
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

/* The .dat and .gp are written: gnuplot draws it with the others
 * (rp_charts_draw). */
static void chart_ready(chart_ctx *c, rp_chart *ch)
{
    (void)c;
    ch->state = RP_CHART_PENDING;
}

/* A chart that is not drawn (interrupted, no plots, no gnuplot): its
 * scripts and data stay, its images go. */
static void not_drawn(rp_gnuplot *g, const char *dir, rp_chart *ch)
{
    ch->state = RP_CHART_NOT_DRAWN;
    remove_files(dir, ch->name, 1);
    if (g->cancel && *g->cancel) {
        /* Interrupted: the caller fails with CPO_EINTR. */
        snprintf(ch->note, sizeof ch->note, "interrupted");
    } else if (g->no_plot) {
        snprintf(ch->note, sizeof ch->note, "not drawn (no plots asked for): %s.gp and %s.dat "
                 "are in charts/ (gnuplot %s.gp there draws them)", ch->name, ch->name, ch->name);
    } else {
        snprintf(ch->note, sizeof ch->note, "gnuplot is not on PATH: %s.gp and %s.dat are in "
                 "charts/ (gnuplot %s.gp there draws them)", ch->name, ch->name, ch->name);
        if (!g->warned && g->warn) {
            fprintf(g->warn, "cpo: warning: gnuplot not found on PATH: charts/ keeps the "
                    "scripts and data, no images (install gnuplot-nox)\n");
            fflush(g->warn);
        }
        g->warned = 1;
    }
}

/* What drawing a chart costs gnuplot, roughly: the bytes of its data
 * times the times its script reads them (each plotted column, for each
 * image).  For the order they are drawn in. */
static double draw_cost(const char *dir, const rp_chart *ch)
{
    char p[1200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s.dat", dir, ch->name);
    double bytes = stat(p, &st) == 0 ? (double)st.st_size : 0.0;
    snprintf(p, sizeof p, "%s/%s.gp", dir, ch->name);
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s.dat\"", ch->name);
    size_t reads = 1;
    char *text = NULL;
    size_t len = 0;
    if (rp_slurp(p, &text, &len, NULL) == 0) {
        for (const char *s = text; (s = strstr(s, needle)) != NULL; s += strlen(needle))
            reads++;
        free(text);
    }
    return bytes * (double)reads + 4096.0;
}

typedef struct cost_of {
    double cost;
    size_t k;
} cost_of;

static int by_cost(const void *a, const void *b)
{
    const cost_of *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

/* gnuplot processes at once: the opts' jobs, else one per core. */
static size_t draw_jobs(const rp_gnuplot *g)
{
    if (g->jobs > 0)
        return (size_t)g->jobs;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

/*
 * The one place gnuplot runs: every chart of the list whose script and
 * data are written (RP_CHART_PENDING) is drawn, each by its own gnuplot
 * process (gnuplot NAME.gp in dir), up to one process per core at once
 * (rp_gnuplot jobs), the costliest first so that the last to finish is a
 * short one.  What a chart's files hold does not depend on the order.
 */
void rp_charts_draw(rp_gnuplot *g, const char *dir, rp_chart *ch, size_t n)
{
    size_t np = 0;
    for (size_t k = 0; k < n; k++)
        np += ch[k].state == RP_CHART_PENDING;
    if (!np)
        return;
    if (!g->no_plot)
        gnuplot_find(g);
    if (g->no_plot || !g->found) {
        for (size_t k = 0; k < n; k++)
            if (ch[k].state == RP_CHART_PENDING)
                not_drawn(g, dir, &ch[k]);
        return;
    }
    cost_of *order = malloc(np * sizeof *order);
    size_t maxj = draw_jobs(g);
    if (maxj > np)
        maxj = np;
    gp_job *job = calloc(maxj, sizeof *job);
    struct pollfd *pf = calloc(maxj, sizeof *pf);
    if (!order || !job || !pf) {
        /* Out of memory: one at a time, in order. */
        maxj = 1;
        free(order);
        order = NULL;
        free(pf);
        pf = NULL;
        free(job);
        job = NULL;
    }
    np = 0;
    for (size_t k = 0; k < n; k++)
        if (ch[k].state == RP_CHART_PENDING) {
            if (order) {
                order[np].cost = draw_cost(dir, &ch[k]);
                order[np].k = k;
            }
            np++;
        }
    if (order)
        qsort(order, np, sizeof *order, by_cost);
    gp_job one;
    if (!job) {
        job = &one;
        memset(&one, 0, sizeof one);
    }
    size_t next = 0, running = 0, k_plain = 0;
    for (;;) {
        /* Start gnuplot on the next charts while there is room. */
        while (running < maxj && next < np) {
            size_t k;
            if (order) {
                k = order[next].k;
            } else {
                while (ch[k_plain].state != RP_CHART_PENDING)
                    k_plain++;
                k = k_plain++;
            }
            next++;
            rp_chart *c = &ch[k];
            if (g->cancel && *g->cancel) {
                not_drawn(g, dir, c);
                continue;
            }
            gp_job *j = NULL;
            for (size_t s = 0; s < maxj && !j; s++)
                if (!job[s].ch)
                    j = &job[s];
            memset(j, 0, sizeof *j);
            j->fd = -1;
            j->pid = gnuplot_spawn(g, dir, c->name, &j->fd, c->note, sizeof c->note);
            if (j->pid < 0) {
                c->state = RP_CHART_FAILED;
                remove_files(dir, c->name, 1);
                continue;
            }
            j->ch = c;
            running++;
        }
        if (!running)
            break;
        /* Wait for output or the end of one of them. */
        size_t nf = 0;
        struct pollfd single;
        struct pollfd *p = pf ? pf : &single;
        for (size_t s = 0; s < maxj; s++)
            if (job[s].ch) {
                p[nf].fd = job[s].fd;
                p[nf].events = POLLIN;
                p[nf].revents = 0;
                nf++;
            }
        if (poll(p, nf, -1) < 0 && errno != EINTR)
            break; /* cannot happen with valid descriptors; the loop below still reaps */
        for (size_t s = 0; s < maxj; s++) {
            if (!job[s].ch)
                continue;
            if (job_read(&job[s])) {
                job_finish(&job[s], dir, g->img);
                job[s].ch = NULL;
                running--;
            }
        }
    }
    if (job != &one)
        free(job);
    free(pf);
    free(order);
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
    else {
        char b[40];
        cpo_fmt_double(b, sizeof b, x); /* %.17g, no "-0" */
        fputc(' ', fp);
        fputs(b, fp);
    }
}

static void put_t(FILE *fp, int64_t ms)
{
    /* Unix seconds (bars are whole seconds; a fraction would show). */
    if (ms % 1000 == 0)
        fprintf(fp, "%lld", (long long)(ms / 1000));
    else
        fprintf(fp, "%.3f", (double)ms / 1000.0);
}

/*
 * The rows of a time-series chart worth drawing, by M4 (Jugel, Jerzak,
 * Hackenbroich & Markl, "M4: A Visualization-Oriented Time Series Data
 * Aggregation", PVLDB 7(10), 2014): the n steps are cut into px groups,
 * one per pixel column of the chart, and of each group the first and last
 * rows and, for each line, the rows of its lowest and highest value are
 * kept.  Lines through those points draw the same pixels as through all
 * of them.  Only when there are more than M4_MIN rows a pixel column (an
 * hourly run of years; no example of the repo): below that every row is
 * kept.  v[t * stride + cols[k]] is line k at step t (cols NULL: k).
 * keep[n] gets 1 for the rows to write; returns how many.
 */
#define M4_MIN 8

static size_t m4_keep(unsigned char *keep, size_t n, size_t px, const double *v, size_t stride,
                      const size_t *cols, size_t nlines)
{
    if (px == 0 || n <= M4_MIN * px) {
        memset(keep, 1, n);
        return n;
    }
    memset(keep, 0, n);
    for (size_t b = 0; b < px; b++) {
        size_t lo = b * n / px, hi = (b + 1) * n / px;
        if (lo >= hi)
            continue;
        keep[lo] = keep[hi - 1] = 1;
        for (size_t k = 0; k < nlines; k++) {
            size_t c = cols ? cols[k] : k, imin = n, imax = n;
            for (size_t t = lo; t < hi; t++) {
                double x = v[t * stride + c];
                if (isnan(x))
                    continue;
                if (imin == n || x < v[imin * stride + c])
                    imin = t;
                if (imax == n || x > v[imax * stride + c])
                    imax = t;
            }
            if (imin < n)
                keep[imin] = keep[imax] = 1;
        }
    }
    size_t m = 0;
    for (size_t t = 0; t < n; t++)
        m += keep[t];
    return m;
}

/* The note a decimated .dat file gets (m of n rows kept). */
static void m4_note(FILE *fp, size_t m, size_t n)
{
    if (m < n)
        fprintf(fp, "# rows: %zu of the %zu steps (M4: of each pixel column's steps the first, "
                "the last, and each line's lowest and highest; the chart draws the same)\n", m, n);
}

/* The rows of a time series that M4 keeps for a chart px pixels wide:
 * its note, then "time v[t * nv] .. v[t * nv + nv - 1]" per row kept,
 * each value times scale (100: a fraction drawn in %; M4 chooses the rows
 * by the values as they are).  0, or CPO_ENOMEM in err. */
static int m4_rows(chart_ctx *c, FILE *fp, const int64_t *ts, const double *v, size_t n,
                   size_t nv, size_t px, double scale)
{
    unsigned char *keep = malloc(n ? n : 1);
    if (!keep)
        return cpo_error_set(c->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    m4_note(fp, m4_keep(keep, n, px, v, nv, NULL, nv), n);
    for (size_t t = 0; t < n; t++) {
        if (!keep[t])
            continue;
        put_t(fp, ts[t]);
        for (size_t k = 0; k < nv; k++)
            num(fp, v[t * nv + k] * scale);
        fputc('\n', fp);
    }
    free(keep);
    return 0;
}

/* A comment line of data text: control characters become spaces. */
static void comment_text(FILE *fp, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, fp);
}

static void gp_style(FILE *fp);

/* The terminal and output of image kind k (RP_IMG_PNG or RP_IMG_SVG),
 * indented by ind. */
static void gp_term(FILE *fp, unsigned k, const char *ind, const char *name, int w, int h)
{
    if (k == RP_IMG_PNG)
        fprintf(fp, "%sset terminal pngcairo noenhanced size %d,%d font \"" FONT "\"\n", ind, w,
                h);
    else
        fprintf(fp,
                "%sset terminal svg noenhanced size %d,%d font \"" FONT "\" background "
                "\"white\"\n",
                ind, w, h);
    fprintf(fp, "%sset output \"%s.%s\".cpo_suffix\n", ind, name, k == RP_IMG_PNG ? "png" : "svg");
}

/* "NAME.png and NAME.svg", or the one image of img. */
static void gp_redraw_line(FILE *fp, unsigned img, const char *name)
{
    if (img == (RP_IMG_PNG | RP_IMG_SVG))
        fprintf(fp, "# Redraw: gnuplot %s.gp (in this folder) writes %s.png and %s.svg.\n", name,
                name, name);
    else
        fprintf(fp, "# Redraw: gnuplot %s.gp (in this folder) writes %s.%s.\n", name, name,
                img == RP_IMG_PNG ? "png" : "svg");
}

/* The head of a script that draws the images of img (RP_IMG_*): the PNG
 * first, the SVG by replot in gp_end. */
static void gp_begin(FILE *fp, unsigned img, const char *name, const char *what, int w, int h)
{
    fprintf(fp,
            "# %s.gp - %s\n"
            "# Made by cpo from %s.dat (its columns are named at its top).\n",
            name, what, name);
    gp_redraw_line(fp, img, name);
    fputs("if (!exists(\"cpo_suffix\")) cpo_suffix = \"\"\n", fp);
    gp_term(fp, img & RP_IMG_PNG ? RP_IMG_PNG : RP_IMG_SVG, "", name, w, h);
    gp_style(fp);
}

/* The settings every chart shares. */
static void gp_style(FILE *fp)
{
    fputs("set datafile missing \"NaN\"\n"
            "set border 3 lw 1 lc rgb \"#444444\"\n"
            "set tics nomirror out scale 0.6\n"
            "set grid xtics ytics lw 1 lc rgb \"#dddddd\"\n"
            "set key top left Left reverse opaque box lc rgb \"#cccccc\" samplen 2 spacing 1.1\n"
            "set lmargin 12\nset rmargin 4\n", fp);
}

/*
 * A chart of several panels (multiplot): replot cannot redraw those, so
 * the script draws them once per terminal in a loop, the body between
 * gp_begin_multi and gp_end_multi.
 */
static void gp_begin_multi(FILE *fp, unsigned img, const char *name, const char *what, int w,
                           int h)
{
    fprintf(fp,
            "# %s.gp - %s\n"
            "# Made by cpo from %s.dat (its columns are named at its top).\n",
            name, what, name);
    gp_redraw_line(fp, img, name);
    fputs("if (!exists(\"cpo_suffix\")) cpo_suffix = \"\"\n", fp);
    gp_style(fp);
    if (img != (RP_IMG_PNG | RP_IMG_SVG)) {
        fputs("do for [cpo_k = 1:1] {\n", fp);
        gp_term(fp, img, "  ", name, w, h);
        return;
    }
    fputs("do for [cpo_k = 1:2] {\n"
          "if (cpo_k == 1) {\n", fp);
    gp_term(fp, RP_IMG_PNG, "  ", name, w, h);
    fputs("} else {\n", fp);
    gp_term(fp, RP_IMG_SVG, "  ", name, w, h);
    fputs("}\n", fp);
}

static void gp_end_multi(FILE *fp)
{
    fputs("}\nunset output\n", fp);
}

/* The tail of a gp_begin script: the SVG by replot when img has both. */
static void gp_end(FILE *fp, unsigned img, const char *name, int w, int h)
{
    if (img == (RP_IMG_PNG | RP_IMG_SVG)) {
        gp_term(fp, RP_IMG_SVG, "", name, w, h);
        fputs("replot\n", fp);
    }
    fputs("unset output\n", fp);
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

/*
 * A linear value axis over the data's [lo, hi] (0 included), padded by 6
 * %: its range and ticks at even steps, labelled like "250k" or "-1.5M"
 * (made here: numbers only).  axis is "y" or "x".
 */
static void gp_lin_axis(FILE *fp, const char *axis, double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = -1.0;
        hi = 1.0;
    }
    lo = fmin(lo, 0.0);
    hi = fmax(hi, 0.0);
    if (hi - lo <= 0.0) {
        lo -= 1.0;
        hi += 1.0;
    }
    double pad = (hi - lo) * 0.06;
    lo -= pad;
    hi += pad;
    double step = nice_step(hi - lo, 6), s;
    const char *u;
    unit_of(fmax(fabs(lo), fabs(hi)), &s, &u);
    int dec = (int)ceil(-log10(step / s) - 1e-9);
    dec = dec < 0 ? 0 : dec > 10 ? 10 : dec;
    fprintf(fp, "set %srange [%.17g:%.17g]\nset %stics (", axis, lo, hi, axis);
    long k0 = (long)ceil(lo / step), k1 = (long)floor(hi / step);
    for (long k = k0; k <= k1 && k - k0 < 64; k++) {
        double v = (double)k * step;
        fprintf(fp, "%s\"%.*f%s\" %.17g", k > k0 ? ", " : "", dec, k ? v / s : 0.0, k ? u : "",
                k ? v : 0.0);
    }
    fputs(")\n", fp);
}

/* --- the charts of a run --------------------------------------------------------------------- */

/* The drawdowns of the report's table, shaded behind a time chart. */
#define DD_SHADED 5

static int gp_dd_shading(chart_ctx *c, FILE *fp, const rp_run *r)
{
    rp_span sp[DD_SHADED];
    long n = rp_dd_spans(r, sp, DD_SHADED);
    if (n < 0)
        return cpo_error_set(c->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    fputs("# shaded: the deepest drawdowns (report.html's drawdown table), peak to recovery\n",
          fp);
    for (long k = 0; k < n; k++) {
        fprintf(fp, "set object %ld rect from \"", k + 1);
        put_t(fp, sp[k].from_ms);
        fputs("\", graph 0 to \"", fp);
        put_t(fp, sp[k].to_ms);
        fprintf(fp, "\", graph 1 fc rgb \"#d62728\" fs transparent solid 0.09 noborder behind"
                "  # -%.2f %%%s\n", 100.0 * sp[k].depth, sp[k].recovered ? "" : ", not recovered");
    }
    return 0;
}

/*
 * Equity on a log scale; with a benchmark (benchmark.csv), the growth of
 * 1 of the run (equity / capital) and of the benchmark (its returns
 * compounded from the same start) instead.  The deepest drawdowns shaded.
 */
static int chart_equity(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    char title[200];
    int bench = r->has_bench && isfinite(r->capital) && r->capital > 0.0;
    if (bench)
        snprintf(title, sizeof title, "Growth of 1: the run and its benchmark %s (log scale; "
                 "shaded: the deepest drawdowns)", r->bench);
    else
        snprintf(title, sizeof title, "Equity (%s, log scale; shaded: the deepest drawdowns)",
                 r->currency[0] ? r->currency : "");
    chart_init(ch, "equity", title);
    if (r->n < 1) {
        chart_skip(c, ch, "ledger.csv has no rows");
        return 0;
    }
    double scale = bench ? 1.0 / r->capital : 1.0;
    double lo = INFINITY, hi = -INFINITY, g = 1.0;
    int positive = 1;
    for (size_t t = 0; t < r->n; t++) {
        double e = r->equity[t] * scale;
        if (isfinite(e)) {
            if (e <= 0.0)
                positive = 0;
            lo = fmin(lo, e);
            hi = fmax(hi, e);
        }
        if (bench && isfinite(r->bench_ret[t])) {
            g *= 1.0 + r->bench_ret[t];
            if (g > 0.0) {
                lo = fmin(lo, g);
                hi = fmax(hi, g);
            } else {
                positive = 0;
            }
        }
    }
    if (isfinite(r->capital)) {
        lo = fmin(lo, r->capital * scale);
        hi = fmax(hi, r->capital * scale);
    }
    if (!isfinite(lo)) {
        chart_skip(c, ch, "no finite equity in ledger.csv");
        return 0;
    }
    rp_out d, s;
    int rc = rp_out_open(&d, c->dir, "equity.dat", c->err);
    if (rc)
        return rc;
    fputs("# equity after each step", d.fp);
    if (bench) {
        fputs(", and the growth of 1 of the run (equity / capital) and of the benchmark ", d.fp);
        comment_text(d.fp, r->bench);
        fputs(" (benchmark.csv: its returns compounded; an unknown return leaves it as it was)",
              d.fp);
    }
    fputs("\n# columns: 1 time (Unix seconds, bar open), 2 equity (", d.fp);
    comment_text(d.fp, r->currency);
    fputs(bench ? "), 3 growth of 1 of the run, 4 growth of 1 of the benchmark\n" : ")\n", d.fp);
    g = 1.0;
    for (size_t t = 0; t < r->n; t++) {
        put_t(d.fp, r->ts[t]);
        num(d.fp, r->equity[t]);
        if (bench) {
            if (isfinite(r->bench_ret[t]))
                g *= 1.0 + r->bench_ret[t];
            num(d.fp, r->equity[t] * scale);
            num(d.fp, g);
        }
        fputc('\n', d.fp);
    }
    if ((rc = rp_out_close(&d, 1, c->err)) || (rc = rp_out_open(&s, c->dir, "equity.gp", c->err)))
        return rc;
    gp_begin(s.fp, c->g->img, "equity", bench ? "growth of 1 of the run and its benchmark" : "equity curve",
             WIDE_W, WIDE_H);
    size_of(ch, WIDE_W, WIDE_H);
    gp_time_x(s.fp, r->ts[0], r->ts[r->n - 1], WIDE_W);
    if ((rc = gp_dd_shading(c, s.fp, r))) {
        rp_out_close(&s, 0, NULL);
        return rc;
    }
    if (positive) {
        double pad = hi > lo ? pow(hi / lo, 0.05) : 1.001;
        fprintf(s.fp, "set logscale y\nset yrange [%.17g:%.17g]\n", lo / pad, hi * pad);
        gp_log_ticks(s.fp, lo / pad, hi * pad);
    } else {
        snprintf(ch->title, sizeof ch->title, "%s (linear scale: not above 0 throughout)",
                 bench ? "Growth of 1: the run and its benchmark" : "Equity");
    }
    if (bench) {
        fprintf(s.fp, "set ylabel %s\n", q("growth of 1").s);
        fprintf(s.fp, "plot \"equity.dat\" using 1:3 with lines lw 1.5 lc rgb \"%s\" title %s, "
                "\\\n     \"equity.dat\" using 1:4 with lines lw 1.2 lc rgb \"#555555\" title %s, "
                "\\\n     1 with lines dt 2 lw 1 lc rgb \"#888888\" notitle\n",
                colours[0], q("the run").s, q(r->bench).s);
    } else {
        fprintf(s.fp, "set ylabel %s\n", q(r->currency[0] ? r->currency : "equity").s);
        fprintf(s.fp, "plot \"equity.dat\" using 1:2 with lines lw 1.5 lc rgb \"%s\" title %s",
                colours[0], q("equity").s);
        if (isfinite(r->capital))
            fprintf(s.fp, ", %.17g with lines dt 2 lw 1 lc rgb \"#888888\" title %s", r->capital,
                    q("capital").s);
        fputc('\n', s.fp);
    }
    gp_end(s.fp, c->g->img, "equity", WIDE_W, WIDE_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    if (r->bench[0] && !r->has_bench)
        snprintf(ch->note, sizeof ch->note, "summary.json names the benchmark %s but the folder "
                 "has no benchmark.csv (a run made before cpo wrote it): the run alone", r->bench);
    chart_ready(c, ch);
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
          "# columns: 1 time (Unix seconds, bar open), 2 drawdown (%, <= 0)\n", d.fp);
    double peak = isfinite(r->capital) ? r->capital : r->equity[0], worst = 0.0;
    double *dd = calloc(r->n ? r->n : 1, sizeof *dd);
    if (!dd) {
        rp_out_close(&d, 0, NULL);
        return cpo_error_set(c->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    for (size_t t = 0; t < r->n; t++) {
        double e = r->equity[t];
        dd[t] = NAN;
        if (isfinite(e)) {
            if (e > peak)
                peak = e;
            dd[t] = peak > 0.0 ? e / peak - 1.0 : NAN;
            if (dd[t] < worst)
                worst = dd[t];
        }
    }
    rc = m4_rows(c, d.fp, r->ts, dd, r->n, 1, HALF_W, 100.0);
    free(dd);
    if (rc) {
        rp_out_close(&d, 0, NULL);
        return rc;
    }
    if ((rc = rp_out_close(&d, 1, c->err)) ||
        (rc = rp_out_open(&s, c->dir, "drawdown.gp", c->err)))
        return rc;
    snprintf(ch->title, sizeof ch->title, "Underwater: fall from the running peak (deepest %.2f %%)",
             worst < 0.0 ? 100.0 * worst : 0.0);
    gp_begin(s.fp, c->g->img, "drawdown", "underwater chart", HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    gp_time_x(s.fp, r->ts[0], r->ts[r->n - 1], HALF_W);
    double lo = worst < 0.0 ? worst * 100.0 * 1.08 : -1.0;
    fprintf(s.fp, "set yrange [%.17g:0]\nset format y \"%%g%%%%\"\nset ylabel %s\n"
            "set key bottom left\n"
            "plot \"drawdown.dat\" using 1:2 with filledcurves y=0 fc rgb \"#d62728\" "
            "fs transparent solid 0.35 noborder notitle, \\\n"
            "     \"drawdown.dat\" using 1:2 with lines lw 1 lc rgb \"#b2182b\" title %s\n",
            lo, q("drawdown (%)").s, q("drawdown").s);
    gp_end(s.fp, c->g->img, "drawdown", HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    chart_ready(c, ch);
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
                   : "volatility (sd * sqrt(bars a year), in %)",
            w, r->ppy, sharpe ? "sharpe" : "volatility");
    /* The windows' values first (vals[w - 1 .. n - 1]), then the rows. */
    double *vals = calloc(r->n ? r->n : 1, sizeof *vals);
    if (!vals) {
        free(ret);
        rp_out_close(&d, 0, NULL);
        return cpo_error_set(c->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
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
        vals[t] = val;
    }
    rc = m4_rows(c, d.fp, r->ts + (w - 1), vals + (w - 1), r->n - (w - 1), 1, HALF_W,
                 sharpe ? 1.0 : 100.0);
    free(vals);
    free(ret);
    snprintf(fn, sizeof fn, "%s.gp", name);
    if (rc) {
        rp_out_close(&d, 0, NULL);
        return rc;
    }
    if ((rc = rp_out_close(&d, 1, c->err)) || (rc = rp_out_open(&s, c->dir, fn, c->err)))
        return rc;
    gp_begin(s.fp, c->g->img, name, sharpe ? "rolling Sharpe ratio" : "rolling volatility", HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    gp_time_x(s.fp, r->ts[0], r->ts[r->n - 1], HALF_W);
    if (sharpe)
        fprintf(s.fp, "set ylabel %s\nset xzeroaxis lt 1 lw 1 lc rgb \"#888888\"\n"
                "plot \"%s.dat\" using 1:2 with lines lw 1.2 lc rgb \"%s\" title %s\n",
                q("Sharpe (annualised)").s, name, colours[4], q("30-day Sharpe").s);
    else
        fprintf(s.fp, "set ylabel %s\nset format y \"%%g%%%%\"\nset yrange [0:*]\n"
                "plot \"%s.dat\" using 1:2 with lines lw 1.2 lc rgb \"%s\" title %s\n",
                q("volatility (% a year)").s, name, colours[1], q("30-day volatility").s);
    gp_end(s.fp, c->g->img, name, HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    chart_ready(c, ch);
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
    gp_begin(s.fp, c->g->img, "weights", "weights over time, stacked", HALF_W, HALF_H);
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
    gp_end(s.fp, c->g->img, "weights", HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        goto out;
    if (other)
        snprintf(ch->note, sizeof ch->note, "%zu instruments: the %d largest by mean |weight| are "
                 "drawn, the other %zu together as \"other\"", ns, MAX_LINES, ns - shown);
    chart_ready(c, ch);
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
    /* One block per line (gnuplot's index k), of two columns: gnuplot
     * splits every field of a row it reads, so a plot of one line of a
     * wide table would read all of them, once per line. */
    fprintf(d.fp, "# %s: %s of %s\n# one block per line (gnuplot index 0, 1, ...; blocks "
            "apart by two blank lines), columns: 1 time (Unix seconds: %s), 2 value%s; the lines:",
            spec->title, v.cumulated ? "running sums of the values" : "the values as they are",
            a->file, a->t.name[a->tcol], spec->pct ? " (x 100: in %)" : "");
    for (size_t k = 0; k < shown; k++) {
        fputs(k ? ", " : " ", d.fp);
        comment_text(d.fp, line_label(spec, v.name[rk[k].i]));
    }
    fputc('\n', d.fp);
    unsigned char *keep = malloc(v.nt);
    size_t lines[MAX_LINES + 1];
    for (size_t k = 0; k < shown; k++)
        lines[k] = rk[k].i;
    if (!keep) {
        rp_out_close(&d, 0, NULL);
        rc = cpo_error_set(c->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        goto out;
    }
    m4_note(d.fp, m4_keep(keep, v.nt, HALF_W, v.s, v.ns, lines, shown), v.nt);
    for (size_t k = 0; k < shown; k++) {
        if (k)
            fputs("\n\n", d.fp);
        for (size_t i = 0; i < v.nt; i++) {
            if (!keep[i])
                continue;
            put_t(d.fp, v.ts[i]);
            num(d.fp, v.s[i * v.ns + rk[k].i] * (spec->pct ? 100.0 : 1.0));
            fputc('\n', d.fp);
        }
    }
    free(keep);
    if ((rc = rp_out_close(&d, 1, c->err)))
        goto out;
    snprintf(fn, sizeof fn, "%s.gp", spec->name);
    if ((rc = rp_out_open(&s, c->dir, fn, c->err)))
        goto out;
    gp_begin(s.fp, c->g->img, spec->name, spec->title, HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    gp_time_x(s.fp, v.ts[0], v.ts[v.nt - 1], HALF_W);
    fprintf(s.fp, "set key outside bottom center horizontal Left reverse noopaque nobox width 2\n"
            "set ylabel %s\nset xzeroaxis lt 1 lw 1 lc rgb \"#888888\"\n%s",
            q(spec->ylabel).s, spec->pct ? "set format y \"%g%%\"\n" : "");
    fputs("plot ", s.fp);
    for (size_t k = 0; k < shown; k++) {
        const char *label = line_label(spec, v.name[rk[k].i]);
        int role = rp_attr_key_role(label);
        fprintf(s.fp, "%s\"%s.dat\" index %zu using 1:2 with lines lw %s lc rgb \"%s\"%s title %s",
                k ? ", \\\n     " : "", spec->name, k, role == RP_ROLE_TOTAL ? "2.5" : "1.5",
                role == RP_ROLE_TOTAL ? "black" : colours[k % N_COLOURS],
                role == RP_ROLE_RESIDUAL ? " dt 2" : "", q(label).s);
    }
    fputc('\n', s.fp);
    gp_end(s.fp, c->g->img, spec->name, HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        goto out;
    snprintf(ch->note, sizeof ch->note, "from %s (%s)%s", a->file,
             v.cumulated ? "running sums of its per-period values" : "as in the file",
             shown < nl ? "; only the largest lines at the end are drawn" : "");
    chart_ready(c, ch);
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
    gp_begin(s.fp, c->g->img, "correlation", "correlation heatmap", side + 190, side);
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
    gp_end(s.fp, c->g->img, "correlation", side + 190, side);
    if ((rc = rp_out_close(&s, 1, c->err)))
        goto out;
    if (m < ns)
        snprintf(ch->note, sizeof ch->note, "%zu instruments: the %zu with the most returns are "
                 "shown", ns, m);
    else if (undefined)
        snprintf(ch->note, sizeof ch->note, "n/a: fewer than 3 common returns, or a constant mark");
    chart_ready(c, ch);
out:
    free(ret);
    free(rk);
    return rc;
}

/* --- benchmark, calendar and distribution ------------------------------------------------ */

/* The window of the rolling beta: 90 days of bars when the run spans a
 * year or more, else 30 days. */
static size_t beta_window(const rp_run *r, int *days)
{
    double span_days = r->n ? (double)(r->ts[r->n - 1] - r->ts[0] + r->bar_ms) / CPO_MS_DAY : 0;
    *days = span_days >= 365.0 ? 90 : 30;
    size_t w = r->bar_ms > 0 ? (size_t)llround((double)*days * CPO_MS_DAY / (double)r->bar_ms)
                             : (size_t)*days;
    return w < 3 ? 3 : w;
}

/*
 * Rolling beta and correlation of the run's step returns to the
 * benchmark's (benchmark.csv) over a window of steps ending at each step:
 * beta = cov(r, b) / var(b), correlation = cov / (sd r * sd b), population
 * moments over the pairs where both are known (as the summary's beta), at
 * least half the window.
 */
static int chart_rolling_beta(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    int days;
    size_t w = beta_window(r, &days);
    char title[200];
    snprintf(title, sizeof title, "Rolling beta and correlation to %s (%d days: %zu bars)",
             r->bench[0] ? r->bench : "the benchmark", days, w);
    chart_init(ch, "rolling_beta", title);
    if (!r->bench[0]) {
        chart_skip(c, ch, "no benchmark: [backtest] benchmark = SYMBOL in the config draws the "
                   "run against it");
        return 0;
    }
    if (!r->has_bench) {
        chart_skip(c, ch, "summary.json names the benchmark %s but the folder has no "
                   "benchmark.csv (a run made before cpo wrote it: run it again)", r->bench);
        return 0;
    }
    if (r->n < w) {
        chart_skip(c, ch, "%zu bars, fewer than the %d-day window (%zu bars)", r->n, days, w);
        return 0;
    }
    double *ret = malloc(r->n * sizeof *ret);
    if (!ret)
        return cpo_error_set(c->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    rp_step_returns(r, ret);
    rp_out d, s;
    int rc = rp_out_open(&d, c->dir, "rolling_beta.dat", c->err);
    if (rc) {
        free(ret);
        return rc;
    }
    fprintf(d.fp, "# rolling beta and correlation of the run's step returns (ledger.csv) to the "
            "benchmark's (benchmark.csv) over the last %zu steps: population moments over the "
            "pairs where both are known, at least %zu\n"
            "# columns: 1 time (Unix seconds, bar open of the window's last bar), 2 beta, "
            "3 correlation, 4 pairs\n", w, (w + 1) / 2);
    /* Sliding sums over the pairs in the window. */
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    size_t cnt = 0;
    for (size_t t = 0; t < r->n; t++) {
        for (int side = 0; side < 2; side++) {
            size_t k = side == 0 ? t : t - w;
            if (side == 1 && t < w)
                continue;
            double x = ret[k], y = r->bench_ret[k];
            if (!isfinite(x) || !isfinite(y))
                continue;
            double sg = side == 0 ? 1.0 : -1.0;
            sx += sg * x;
            sy += sg * y;
            sxx += sg * x * x;
            syy += sg * y * y;
            sxy += sg * x * y;
            cnt = side == 0 ? cnt + 1 : cnt - 1;
        }
        if (t + 1 < w)
            continue;
        double beta = NAN, corr = NAN;
        if (cnt >= (w + 1) / 2 && cnt >= 2) {
            double n = (double)cnt, mx = sx / n, my = sy / n;
            double vx = sxx / n - mx * mx, vy = syy / n - my * my, cv = sxy / n - mx * my;
            if (vy > 1e-30)
                beta = cv / vy;
            if (vx > 1e-30 && vy > 1e-30)
                corr = fmax(-1.0, fmin(1.0, cv / sqrt(vx * vy)));
        }
        put_t(d.fp, r->ts[t]);
        num(d.fp, beta);
        num(d.fp, corr);
        fprintf(d.fp, " %zu\n", cnt);
    }
    free(ret);
    if ((rc = rp_out_close(&d, 1, c->err)) ||
        (rc = rp_out_open(&s, c->dir, "rolling_beta.gp", c->err)))
        return rc;
    gp_begin(s.fp, c->g->img, "rolling_beta", "rolling beta and correlation to the benchmark", HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    gp_time_x(s.fp, r->ts[0], r->ts[r->n - 1], HALF_W);
    fprintf(s.fp, "set key outside bottom center horizontal Left reverse noopaque nobox width 2\n"
            "set xzeroaxis lt 1 lw 1 lc rgb \"#888888\"\n"
            "plot \"rolling_beta.dat\" using 1:2 with lines lw 1.3 lc rgb \"%s\" title %s, \\\n"
            "     \"rolling_beta.dat\" using 1:3 with lines lw 1.1 lc rgb \"%s\" title %s, \\\n"
            "     1 with lines dt 2 lw 1 lc rgb \"#888888\" notitle\n",
            colours[0], q("beta").s, colours[1], q("correlation").s);
    gp_end(s.fp, c->g->img, "rolling_beta", HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    chart_ready(c, ch);
    return 0;
}

static const char *const month_abbr[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int year_of(int64_t ms)
{
    cpo_civil cv;
    cpo_time_to_civil(ms, &cv);
    return cv.year;
}

/*
 * Monthly returns: a grid of years (rows) by months, and the year's
 * return in a column of its own, coloured from red (loss) to green.
 */
static int chart_monthly(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    chart_init(ch, "monthly_returns", "Monthly returns (%), with the year's return");
    if (r->n < 1) {
        chart_skip(c, ch, "ledger.csv has no rows");
        return 0;
    }
    rp_period *mo = NULL, *yr = NULL;
    size_t nm = 0, ny = 0;
    int rc = rp_periods(r, RP_PER_MONTH, &mo, &nm, c->err);
    if (!rc)
        rc = rp_periods(r, RP_PER_YEAR, &yr, &ny, c->err);
    if (rc) {
        free(mo);
        return rc;
    }
    int y0 = year_of(yr[0].start_ms);
    double m = 0.0;
    for (size_t k = 0; k < nm; k++)
        if (isfinite(mo[k].ret))
            m = fmax(m, fabs(mo[k].ret));
    rp_out d, s;
    if ((rc = rp_out_open(&d, c->dir, "monthly_returns.dat", c->err)))
        goto out;
    fputs("# monthly returns: equity at the month's last step / equity before its first - 1 "
          "(the capital before the run's first step); the year's return in column 12 of x\n"
          "# columns: 1 x (0..11 the month, 13 the year), 2 y (row: 0 for the first year), "
          "3 return (fraction), 4 year\n", d.fp);
    for (size_t k = 0; k < nm; k++) {
        cpo_civil cv;
        cpo_time_to_civil(mo[k].start_ms, &cv);
        fprintf(d.fp, "%d %d", cv.month - 1, cv.year - y0);
        num(d.fp, mo[k].ret);
        fprintf(d.fp, " %d\n", cv.year);
    }
    for (size_t k = 0; k < ny; k++) {
        int y = year_of(yr[k].start_ms);
        fprintf(d.fp, "13 %d", y - y0);
        num(d.fp, yr[k].ret);
        fprintf(d.fp, " %d\n", y);
    }
    if ((rc = rp_out_close(&d, 1, c->err)) ||
        (rc = rp_out_open(&s, c->dir, "monthly_returns.gp", c->err)))
        goto out;
    int rows = year_of(yr[ny - 1].start_ms) - y0 + 1;
    int h = 90 + 34 * rows;
    if (h < 170)
        h = 170;
    double cb = m > 0.0 ? ceil(m * 100.0) : 1.0;
    /* The labels: two decimals when every month is under 10 %, else one. */
    const char *lf = m < 0.1 ? "%.2f" : "%.1f";
    gp_begin(s.fp, c->g->img, "monthly_returns", "monthly returns heatmap", WIDE_W, h);
    size_of(ch, WIDE_W, h);
    fprintf(s.fp, "unset grid\nunset key\nset border 0\nset tics scale 0\n"
            "set xrange [-0.5:13.5]\nset yrange [%d.5:-0.5]\n"
            "set cbrange [-%g:%g]\nset cblabel %s\n"
            "set palette defined (-1 \"#b2182b\", -0.3 \"#f4a582\", 0 \"#f7f7f7\", 0.3 \"#a6dba0\", "
            "1 \"#1b7837\")\n"
            "set lmargin 8\nset tmargin 2\nset bmargin 1\nset link x2\n",
            rows - 1, cb, cb, q("%").s);
    fputs("set x2tics (", s.fp);
    for (int k = 0; k < 12; k++)
        fprintf(s.fp, "\"%s\" %d, ", month_abbr[k], k);
    fputs("\"year\" 13)\nunset xtics\nset ytics (", s.fp);
    for (int k = 0; k < rows; k++)
        fprintf(s.fp, "%s\"%d\" %d", k ? ", " : "", y0 + k, k);
    fputs(")\n", s.fp);
    fprintf(s.fp, "plot \"monthly_returns.dat\" using 1:2:(0.48):(0.46):($3*100) with boxxyerror "
            "fs solid 1.0 noborder fc palette, \\\n"
            "     \"monthly_returns.dat\" using 1:2:(abs($3*100) < %g ? sprintf(\"%s\", $3*100) "
            ": \"\") with labels font \",9\" tc rgb \"#111111\", \\\n"
            "     \"monthly_returns.dat\" using 1:2:(abs($3*100) >= %g ? sprintf(\"%s\", $3*100) "
            ": \"\") with labels font \",9\" tc rgb \"white\"\n", 0.6 * cb, lf, 0.6 * cb, lf);
    gp_end(s.fp, c->g->img, "monthly_returns", WIDE_W, h);
    if ((rc = rp_out_close(&s, 1, c->err)))
        goto out;
    chart_ready(c, ch);
out:
    free(mo);
    free(yr);
    return rc;
}

/* Calendar years: the run's return beside the benchmark's. */
static int chart_yearly(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    chart_init(ch, "yearly_returns", r->has_bench ? "Yearly returns (%): the run and its benchmark"
                                                  : "Yearly returns (%)");
    if (r->n < 1) {
        chart_skip(c, ch, "ledger.csv has no rows");
        return 0;
    }
    rp_period *yr = NULL;
    size_t ny = 0;
    int rc = rp_periods(r, RP_PER_YEAR, &yr, &ny, c->err);
    if (rc)
        return rc;
    rp_out d, s;
    if ((rc = rp_out_open(&d, c->dir, "yearly_returns.dat", c->err)))
        goto out;
    fputs("# calendar years (UTC; the first and last may be partial): the run's return (equity "
          "at the year's last step / before its first - 1) and the benchmark's (its step returns "
          "compounded; NaN without one)\n"
          "# columns: 1 index, 2 year, 3 run (fraction), 4 benchmark (fraction), 5 steps\n", d.fp);
    double lo = 0.0, hi = 0.0;
    for (size_t k = 0; k < ny; k++) {
        fprintf(d.fp, "%zu %d", k, year_of(yr[k].start_ms));
        num(d.fp, yr[k].ret);
        num(d.fp, yr[k].bench);
        fprintf(d.fp, " %zu\n", yr[k].last - yr[k].first + 1);
        for (int j = 0; j < 2; j++) {
            double x = j ? yr[k].bench : yr[k].ret;
            if (isfinite(x)) {
                lo = fmin(lo, x);
                hi = fmax(hi, x);
            }
        }
    }
    if ((rc = rp_out_close(&d, 1, c->err)) ||
        (rc = rp_out_open(&s, c->dir, "yearly_returns.gp", c->err)))
        goto out;
    gp_begin(s.fp, c->g->img, "yearly_returns", "yearly returns", HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    double pad = (hi - lo) * 0.15 + 1e-4;
    fprintf(s.fp, "set xrange [-0.6:%zu.6]\nset yrange [%.17g:%.17g]\nset format y \"%%g%%%%\"\n"
            "set ylabel %s\nset grid noxtics ytics\nset xzeroaxis lt 1 lw 1 lc rgb \"#444444\"\n"
            "set key outside bottom center horizontal Left reverse noopaque nobox width 2\n"
            "set boxwidth %s\nset style fill solid 0.85 noborder\n",
            ny - 1, (lo - pad) * 100.0, (hi + pad) * 100.0, q("return (%)").s,
            r->has_bench ? "0.38" : "0.6");
    fputs("set xtics (", s.fp);
    for (size_t k = 0; k < ny; k++)
        fprintf(s.fp, "%s\"%d\" %zu", k ? ", " : "", year_of(yr[k].start_ms), k);
    fputs(")\n", s.fp);
    /* Value labels just beyond the bar's end (K: 4 % of the axis, in %),
     * with fewer decimals the larger the returns. */
    double kk = ((hi - lo) + 2.0 * pad) * 100.0 * 0.04, big = fmax(-lo, hi);
    const char *lf = big >= 1.0 ? "%.0f" : big >= 0.1 ? "%.1f" : "%.2f";
    fprintf(s.fp, "K = %.17g\nplot \"yearly_returns.dat\" using ($1%s):($3*100) with boxes lc "
            "rgb \"%s\" title %s", kk, r->has_bench ? "-0.2" : "", colours[0], q("the run").s);
    if (r->has_bench)
        fprintf(s.fp, ", \\\n     \"yearly_returns.dat\" using ($1+0.2):($4*100) with boxes lc "
                "rgb \"#9a9a9a\" title %s", q(r->bench).s);
    for (int j = 0; j < (r->has_bench ? 2 : 1); j++)
        fprintf(s.fp, ", \\\n     \"yearly_returns.dat\" using ($1%s):($%d*100 + ($%d < 0 ? -K : "
                "K)):(sprintf(\"%s\", $%d*100)) with labels font \",8\" tc rgb \"%s\" notitle",
                !r->has_bench ? "" : j ? "+0.2" : "-0.2", 3 + j, 3 + j, lf, 3 + j,
                j ? "#555555" : "#111111");
    fputc('\n', s.fp);
    gp_end(s.fp, c->g->img, "yearly_returns", HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        goto out;
    chart_ready(c, ch);
out:
    free(yr);
    return rc;
}

/*
 * The returns a distribution is drawn of: daily returns (UTC days) when
 * the bars are a day or shorter, else the bar returns; *what says which.
 * *x is the caller's (free); its NaNs are left out.
 */
int rp_dist_returns(const rp_run *r, double **x, size_t *n, const char **what, cpo_error *err)
{
    *x = NULL;
    *n = 0;
    double *v = malloc((r->n ? r->n : 1) * sizeof *v);
    if (!v)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    size_t m = 0;
    if (r->bar_ms < CPO_MS_DAY) {
        rp_period *p = NULL;
        size_t np = 0;
        int rc = rp_periods(r, RP_PER_DAY, &p, &np, err);
        if (rc) {
            free(v);
            return rc;
        }
        for (size_t k = 0; k < np; k++)
            if (isfinite(p[k].ret))
                v[m++] = p[k].ret;
        free(p);
        *what = "daily";
    } else {
        rp_step_returns(r, v);
        for (size_t t = 0; t < r->n; t++)
            if (isfinite(v[t]))
                v[m++] = v[t];
        *what = r->bar_ms == CPO_MS_DAY ? "daily" : "bar";
    }
    *x = v;
    *n = m;
    return 0;
}

/*
 * Histogram of the returns (gsl_histogram, sqrt(n) bins between 10 and 60
 * over [min, max]) with the normal density of the same mean and sample
 * sd scaled to the counts; the skewness and excess kurtosis in the title.
 */
static int chart_dist(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    chart_init(ch, "return_distribution", "Distribution of returns");
    double *x = NULL;
    size_t n = 0;
    const char *what = "";
    int rc = rp_dist_returns(r, &x, &n, &what, c->err);
    if (rc)
        return rc;
    rp_dist st;
    rp_distribution(x, n, &st);
    if (n < 10 || !(st.sd > 0.0)) {
        chart_skip(c, ch, "%zu %s returns%s: too few to draw", n, what,
                   n >= 10 ? ", all equal" : "");
        free(x);
        return 0;
    }
    size_t nb = (size_t)ceil(sqrt((double)n));
    nb = nb < 10 ? 10 : nb > 60 ? 60 : nb;
    gsl_histogram *h = gsl_histogram_alloc(nb);
    if (!h) {
        free(x);
        return cpo_error_set(c->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    double lo = st.min, hi = st.max, wid = (hi - lo) / (double)nb;
    /* The largest value goes into the last bin (GSL's ranges are half-open). */
    gsl_histogram_set_ranges_uniform(h, lo, hi + wid * 1e-9);
    for (size_t k = 0; k < n; k++)
        gsl_histogram_increment(h, x[k]);
    free(x);
    snprintf(ch->title, sizeof ch->title, "Distribution of %s returns (skew %.2f, excess "
             "kurtosis %.2f)", what, st.skew, st.kurt);
    rp_out d, s;
    if ((rc = rp_out_open(&d, c->dir, "return_distribution.dat", c->err))) {
        gsl_histogram_free(h);
        return rc;
    }
    fprintf(d.fp, "# %zu %s returns (simple; ledger.csv%s): histogram (gsl_histogram, %zu equal "
            "bins over [min, max]) and the normal density of the same mean and sample sd, in "
            "counts (n x bin width x density)\n# mean %.17g sd %.17g skewness %.17g excess "
            "kurtosis %.17g (GSL, sample sd)\n"
            "# block 0 columns: 1 bin centre (fraction), 2 count, 3 bin width\n", n, what,
            r->bar_ms < CPO_MS_DAY ? ", steps compounded by UTC day" : "", nb, st.mean, st.sd,
            st.skew, st.kurt);
    for (size_t k = 0; k < nb; k++) {
        double a, b;
        gsl_histogram_get_range(h, k, &a, &b);
        num(d.fp, 0.5 * (a + b));
        num(d.fp, gsl_histogram_get(h, k));
        num(d.fp, wid);
        fputc('\n', d.fp);
    }
    gsl_histogram_free(h);
    fputs("\n\n# block 1 columns: 1 return (fraction), 2 normal density in counts\n", d.fp);
    double a = fmin(lo, st.mean - 4.0 * st.sd), b = fmax(hi, st.mean + 4.0 * st.sd);
    for (int k = 0; k <= 200; k++) {
        double v = a + (b - a) * k / 200.0;
        num(d.fp, v);
        num(d.fp, (double)n * wid * gsl_ran_gaussian_pdf(v - st.mean, st.sd));
        fputc('\n', d.fp);
    }
    if ((rc = rp_out_close(&d, 1, c->err)) ||
        (rc = rp_out_open(&s, c->dir, "return_distribution.gp", c->err)))
        return rc;
    char l1[96], l2[96];
    snprintf(l1, sizeof l1, "skew %.2f", st.skew);
    snprintf(l2, sizeof l2, "excess kurtosis %.2f", st.kurt);
    gp_begin(s.fp, c->g->img, "return_distribution", "distribution of returns", HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    fprintf(s.fp, "set xrange [%.17g:%.17g]\nset yrange [0:*]\nset format x \"%%g%%%%\"\n"
            "set xlabel %s\nset ylabel %s\nset key top right\nset grid noxtics ytics\n"
            "set arrow 1 from 0, graph 0 to 0, graph 1 nohead lc rgb \"#444444\" dt 2\n"
            "set label 1 %s at graph 0.02, graph 0.93 left font \",9\"\n"
            "set label 2 %s at graph 0.02, graph 0.86 left font \",9\"\n"
            "set style fill solid 0.7 noborder\n"
            "plot \"return_distribution.dat\" index 0 using ($1*100):2:($3*100) with boxes "
            "lc rgb \"%s\" title %s, \\\n"
            "     \"return_distribution.dat\" index 1 using ($1*100):2 with lines lw 1.8 "
            "lc rgb \"#d62728\" title %s\n",
            100.0 * a, 100.0 * b, q("return (%)").s, q("count").s,
            q(l1).s, q(l2).s, colours[0], q("returns").s,
            q("normal, same mean and sd").s);
    gp_end(s.fp, c->g->img, "return_distribution", HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    chart_ready(c, ch);
    return 0;
}

/* --- P&L lines over time --------------------------------------------------------------- */

/*
 * The P&L lines of ledger.csv summed from the start (those not 0
 * throughout), and their total (equity - capital): funding and financing
 * where the run has them.
 */
static int chart_pnl_lines(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    char title[200];
    snprintf(title, sizeof title, "P&L by line, cumulative (%s)", r->currency);
    chart_init(ch, "pnl_lines", title);
    const char *names[RP_MAX_PNL];
    size_t nl = rp_pnl_lines(r, names, RP_MAX_PNL);
    int col[RP_MAX_PNL];
    size_t shown = 0;
    for (size_t k = 0; k < nl; k++) {
        int cc = rp_ledger_col(r, names[k]);
        int nonzero = 0;
        for (size_t t = 0; cc >= 0 && t < r->n && !nonzero; t++)
            nonzero = rp_ledger(r, cc, t) != 0.0 && !isnan(rp_ledger(r, cc, t));
        if (nonzero) {
            names[shown] = names[k];
            col[shown++] = cc;
        }
    }
    if (r->n < 1 || shown == 0) {
        chart_skip(c, ch, "ledger.csv has no P&L line that is not 0 throughout");
        return 0;
    }
    rp_out d, s;
    int rc = rp_out_open(&d, c->dir, "pnl_lines.dat", c->err);
    if (rc)
        return rc;
    fputs("# the P&L lines of ledger.csv summed from the first step (NaN counts 0), and the "
          "change in equity since the start (equity - capital)\n# columns: 1 time (Unix seconds, "
          "bar open), 2 equity - capital, then one per line:", d.fp);
    for (size_t k = 0; k < shown; k++) {
        fputs(k ? ", " : " ", d.fp);
        comment_text(d.fp, names[k]);
    }
    fputc('\n', d.fp);
    double sum[RP_MAX_PNL] = {0};
    double base = isfinite(r->capital) ? r->capital : r->equity[0], lo = 0.0, hi = 0.0;
    size_t nv = shown + 1; /* the total, then the lines */
    double *val = calloc(r->n ? r->n * nv : 1, sizeof *val);
    if (!val) {
        rp_out_close(&d, 0, NULL);
        return cpo_error_set(c->err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    for (size_t t = 0; t < r->n; t++) {
        double tot = r->equity[t] - base;
        val[t * nv] = tot;
        if (isfinite(tot)) {
            lo = fmin(lo, tot);
            hi = fmax(hi, tot);
        }
        for (size_t k = 0; k < shown; k++) {
            double x = rp_ledger(r, col[k], t);
            if (!isnan(x))
                sum[k] += x;
            val[t * nv + 1 + k] = sum[k];
            if (isfinite(sum[k])) {
                lo = fmin(lo, sum[k]);
                hi = fmax(hi, sum[k]);
            }
        }
    }
    rc = m4_rows(c, d.fp, r->ts, val, r->n, nv, HALF_W, 1.0);
    free(val);
    if (rc) {
        rp_out_close(&d, 0, NULL);
        return rc;
    }
    if ((rc = rp_out_close(&d, 1, c->err)) ||
        (rc = rp_out_open(&s, c->dir, "pnl_lines.gp", c->err)))
        return rc;
    gp_begin(s.fp, c->g->img, "pnl_lines", "cumulative P&L by line", HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    gp_time_x(s.fp, r->ts[0], r->ts[r->n - 1], HALF_W);
    gp_lin_axis(s.fp, "y", lo, hi);
    fprintf(s.fp, "set key outside bottom center horizontal Left reverse noopaque nobox width 2\n"
            "set xzeroaxis lt 1 lw 1 lc rgb \"#888888\"\n"
            "set ylabel %s\n"
            "plot \"pnl_lines.dat\" using 1:2 with lines lw 2.2 lc rgb \"black\" title %s",
            q(r->currency[0] ? r->currency : "P&L").s, q("total (change in equity)").s);
    for (size_t k = 0; k < shown; k++)
        fprintf(s.fp, ", \\\n     \"pnl_lines.dat\" using 1:%zu with lines lw 1.4 lc rgb \"%s\"%s "
                "title %s", k + 3, colours[k % N_COLOURS],
                !strcmp(names[k], "residual") ? " dt 2" : "", q(names[k]).s);
    fputc('\n', s.fp);
    gp_end(s.fp, c->g->img, "pnl_lines", HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    chart_ready(c, ch);
    return 0;
}

/* --- option books: Greeks, margin, P&L by expiry ---------------------------------------- */

/* Panels of a multi-panel time chart: one column of the data per panel
 * and key (underlying or currency). */
#define MAX_PANELS 7

typedef struct panels {
    size_t np, nk;
    char title[MAX_PANELS][96];
    char key[RP_MAX_UNDERLYINGS][24];
    int col[MAX_PANELS][RP_MAX_UNDERLYINGS]; /* ledger column, -1: none */
} panels;

/* The suffix of name after prefix ("delta_BTC" -> "BTC"), or NULL. */
static const char *suffix_of(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    return !strncmp(name, prefix, n) && name[n] ? name + n : NULL;
}

static long key_of(panels *p, const char *k)
{
    for (size_t i = 0; i < p->nk; i++)
        if (!strcmp(p->key[i], k))
            return (long)i;
    if (p->nk == RP_MAX_UNDERLYINGS || strlen(k) >= sizeof p->key[0])
        return -1;
    snprintf(p->key[p->nk], sizeof p->key[0], "%s", k);
    for (size_t j = 0; j < MAX_PANELS; j++)
        p->col[j][p->nk] = -1;
    return (long)p->nk++;
}

/* Ledger columns PREFIX<KEY> (not starting with any of skip) into panels. */
static void panels_from_ledger(panels *p, const rp_run *r, const char *const *prefix,
                               const char *const *title, size_t n, const char *skip)
{
    memset(p, 0, sizeof *p);
    for (size_t j = 0; j < MAX_PANELS; j++)
        for (size_t i = 0; i < RP_MAX_UNDERLYINGS; i++)
            p->col[j][i] = -1;
    int used[MAX_PANELS] = {0};
    for (size_t c = 0; c < r->ncol; c++)
        for (size_t j = 0; j < n && j < MAX_PANELS; j++) {
            const char *k = suffix_of(r->col[c], prefix[j]);
            if (!k || (skip && !strncmp(r->col[c], skip, strlen(skip)) && strcmp(prefix[j], skip)))
                continue;
            long i = key_of(p, k);
            if (i >= 0) {
                p->col[j][i] = (int)c;
                used[j] = 1;
            }
        }
    /* Keep the panels that have a column, in the order given. */
    for (size_t j = 0; j < n && j < MAX_PANELS; j++) {
        if (!used[j])
            continue;
        snprintf(p->title[p->np], sizeof p->title[0], "%s", title[j]);
        memmove(p->col[p->np], p->col[j], sizeof p->col[0]);
        p->np++;
    }
}

/*
 * A chart of panels over time from values v(t, panel, key): two panels a
 * row (one for a single panel), one line per key in each.
 */
typedef double (*panel_value)(const rp_run *r, const panels *p, size_t t, size_t j, size_t k);

static int chart_panels(chart_ctx *c, const rp_run *r, rp_chart *ch, const panels *p,
                        panel_value val, const char *about, const char *hline)
{
    rp_out d, s;
    char fn[64];
    snprintf(fn, sizeof fn, "%s.dat", ch->name);
    int rc = rp_out_open(&d, c->dir, fn, c->err);
    if (rc)
        return rc;
    double plo[MAX_PANELS], phi[MAX_PANELS];
    for (size_t j = 0; j < MAX_PANELS; j++)
        plo[j] = phi[j] = 0.0;
    fprintf(d.fp, "# %s\n# columns: 1 time (Unix seconds, bar open), then for each panel one "
            "per key:", about);
    for (size_t j = 0; j < p->np; j++)
        for (size_t k = 0; k < p->nk; k++) {
            fprintf(d.fp, "%s", j + k ? ", " : " ");
            comment_text(d.fp, p->title[j]);
            fputc(' ', d.fp);
            comment_text(d.fp, p->key[k]);
        }
    fputc('\n', d.fp);
    for (size_t t = 0; t < r->n; t++) {
        put_t(d.fp, r->ts[t]);
        for (size_t j = 0; j < p->np; j++)
            for (size_t k = 0; k < p->nk; k++) {
                double x = val(r, p, t, j, k);
                num(d.fp, x);
                if (isfinite(x)) {
                    plo[j] = fmin(plo[j], x);
                    phi[j] = fmax(phi[j], x);
                }
            }
        fputc('\n', d.fp);
    }
    snprintf(fn, sizeof fn, "%s.gp", ch->name);
    if ((rc = rp_out_close(&d, 1, c->err)) || (rc = rp_out_open(&s, c->dir, fn, c->err)))
        return rc;
    size_t cols = p->np > 1 ? 2 : 1, rows = (p->np + cols - 1) / cols;
    int w = WIDE_W, h = 40 + 270 * (int)rows;
    gp_begin_multi(s.fp, c->g->img, ch->name, ch->title, w, h);
    size_of(ch, w, h);
    fprintf(s.fp, "set multiplot layout %zu,%zu\n", rows, cols);
    gp_time_x(s.fp, r->ts[0], r->ts[r->n - 1], w / (int)cols);
    fputs("set key top left horizontal noopaque nobox\nset xzeroaxis lt 1 lw 1 lc rgb \"#888888\"\n"
          "set lmargin 10\n", s.fp);
    /* One key: its name in the titles, no legend. */
    if (p->nk == 1)
        fputs("unset key\n", s.fp);
    for (size_t j = 0; j < p->np; j++) {
        if (hline && j == 0)
            phi[j] = fmax(phi[j], 1.0);
        gp_lin_axis(s.fp, "y", plo[j], phi[j]);
        char t[160];
        snprintf(t, sizeof t, "%s%s%s", p->nk == 1 ? p->key[0] : "", p->nk == 1 ? ": " : "",
                 p->title[j]);
        fprintf(s.fp, "set title %s\nplot ", q(t).s);
        for (size_t k = 0; k < p->nk; k++)
            fprintf(s.fp, "%s\"%s.dat\" using 1:%zu with lines lw 1.4 lc rgb \"%s\" title %s",
                    k ? ", \\\n     " : "", ch->name, 2 + j * p->nk + k, colours[k % N_COLOURS],
                    q(p->key[k]).s);
        if (hline && j == 0)
            fprintf(s.fp, ", \\\n     %s with lines dt 2 lw 1.2 lc rgb \"#d62728\" notitle", hline);
        fputc('\n', s.fp);
    }
    fputs("unset multiplot\n", s.fp);
    gp_end_multi(s.fp);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    chart_ready(c, ch);
    return 0;
}

static double ledger_value(const rp_run *r, const panels *p, size_t t, size_t j, size_t k)
{
    int c = p->col[j][k];
    return c >= 0 ? rp_ledger(r, c, t) : NAN;
}

static double option_value(const rp_run *r, const panels *p, size_t t, size_t j, size_t k)
{
    (void)p;
    return r->opt.greek[(t * r->opt.nu + k) * RP_OG_COUNT + j];
}

/*
 * Greek exposures per underlying over time: the ledger's columns
 * delta_U, delta_usd_U, gamma_U, vega_U, theta_U, vanna_U, volga_U where
 * it has them, else the options' own Greeks summed from options.csv.
 */
static int chart_greeks(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    static const char *const prefix[] = {"delta_usd_", "delta_", "gamma_", "vega_",
                                         "theta_",     "vanna_", "volga_"};
    static const char *const title[] = {"delta (USD)", "delta (coin)", "gamma", "vega",
                                        "theta",       "vanna",        "volga"};
    panels p;
    panels_from_ledger(&p, r, prefix, title, 7, "delta_usd_");
    if (p.np) {
        chart_init(ch, "greeks", "Greek exposures over time, per underlying (ledger.csv)");
        if (r->n < 1) {
            chart_skip(c, ch, "ledger.csv has no rows");
            return 0;
        }
        return chart_panels(c, r, ch, &p, ledger_value,
                            "the book's Greeks per underlying: ledger.csv's columns delta_usd_U, "
                            "delta_U, gamma_U, vega_U, theta_U, vanna_U, volga_U as they are",
                            NULL);
    }
    chart_init(ch, "greeks", "Greek exposures of the options over time, per underlying "
               "(options.csv; hedges not included)");
    if (!r->has_opt) {
        ch->state = RP_CHART_ABSENT;
        remove_files(c->dir, ch->name, 0);
        return 0;
    }
    if (r->n < 1 || r->opt.nu == 0) {
        chart_skip(c, ch, "options.csv has no positions");
        return 0;
    }
    memset(&p, 0, sizeof p);
    static const char *const ot[RP_OG_COUNT] = {
        "delta (coin)", "gamma (coin delta per 1 % index move)", "vega (coin per vol point)",
        "theta (coin per day)"};
    p.np = RP_OG_COUNT;
    for (size_t j = 0; j < RP_OG_COUNT; j++)
        snprintf(p.title[j], sizeof p.title[0], "%s", ot[j]);
    p.nk = r->opt.nu;
    for (size_t k = 0; k < p.nk; k++)
        snprintf(p.key[k], sizeof p.key[0], "%s", r->opt.und[k]);
    snprintf(ch->note, sizeof ch->note, "sums over the option positions of qty x the contract's "
             "coin Greek (w.r.t. the index; delta as Deribit's account delta), 0 where none is "
             "held; the perpetual hedge is not in them");
    return chart_panels(c, r, ch, &p, option_value,
                        "the options' Greeks per underlying, summed over the positions of "
                        "options.csv: qty x coin_delta_account; qty x coin_gamma x index^2 / 100 "
                        "(change of the coin delta for a 1 % move); qty x coin_vega / 100 (a vol "
                        "point); qty x coin_theta / 365 (a day)", NULL);
}

static double margin_value(const rp_run *r, const panels *p, size_t t, size_t j, size_t k)
{
    /* p->col: 0 margin_ratio, 1 mm, 2 margin_balance, 3 im (j: 0 ratio, 1 im / balance). */
    int ratio = p->col[0][k], mm = p->col[1][k], mb = p->col[2][k], im = p->col[3][k];
    double bal = mb >= 0 ? rp_ledger(r, mb, t) : NAN;
    if (j == 0) {
        if (ratio >= 0)
            return rp_ledger(r, ratio, t);
        return mm >= 0 && bal > 0.0 ? rp_ledger(r, mm, t) / bal : NAN;
    }
    return im >= 0 && bal > 0.0 ? rp_ledger(r, im, t) / bal : NAN;
}

/* Margin utilisation per currency (ledger.csv: margin_ratio_CCY, mm_CCY,
 * margin_balance_CCY, im_CCY), drawn only when the ledger has them. */
static int chart_margin(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    chart_init(ch, "margin", "Margin utilisation per currency");
    static const char *const prefix[] = {"margin_ratio_", "mm_", "margin_balance_", "im_"};
    static const char *const title[] = {"r", "mm", "mb", "im"};
    panels p;
    panels_from_ledger(&p, r, prefix, title, 4, NULL);
    /* panels_from_ledger keeps only the prefixes found: undo that, the
     * value function wants the four in place. */
    panels all;
    memset(&all, 0, sizeof all);
    all.nk = p.nk;
    memcpy(all.key, p.key, sizeof all.key);
    for (size_t j = 0; j < 4; j++)
        for (size_t k = 0; k < RP_MAX_UNDERLYINGS; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s%s", prefix[j], k < p.nk ? p.key[k] : "");
            all.col[j][k] = k < p.nk ? rp_ledger_col(r, name) : -1;
        }
    int any = 0;
    for (size_t k = 0; k < all.nk; k++)
        any |= all.col[0][k] >= 0 || (all.col[1][k] >= 0 && all.col[2][k] >= 0);
    if (!any || r->n < 1) {
        ch->state = RP_CHART_ABSENT;
        remove_files(c->dir, ch->name, 0);
        return 0;
    }
    all.np = 2;
    snprintf(all.title[0], sizeof all.title[0], "margin ratio: maintenance margin / margin "
             "balance (1 = liquidation)");
    snprintf(all.title[1], sizeof all.title[1], "initial margin / margin balance");
    return chart_panels(c, r, ch, &all, margin_value,
                        "margin per currency from ledger.csv: margin_ratio_CCY (else mm_CCY / "
                        "margin_balance_CCY), and im_CCY / margin_balance_CCY",
                        "1");
}

/* The term columns of explain_by.csv drawn by expiry. */
static const char *const greek_terms[] = {"delta", "gamma", "vega", "theta", "vanna",
                                          "volga", "rho", "unexplained"};
#define N_TERMS (sizeof greek_terms / sizeof greek_terms[0])

/*
 * P&L of the options by expiry (explain_by.csv, rows of kind part by
 * expiry): the Greek terms stacked (gains up from 0, losses down), the
 * options line of each expiry as a dot.
 */
static int chart_opt_expiry(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    char title[200];
    snprintf(title, sizeof title, "Options: P&L by expiry and Greek (%s; explain_by.csv)",
             r->currency);
    chart_init(ch, "option_pnl_expiry", title);
    if (!r->has_opt || !r->opt.has_explain_by) {
        ch->state = RP_CHART_ABSENT;
        remove_files(c->dir, ch->name, 0);
        return 0;
    }
    const rp_table *t = &r->opt.explain_by;
    int ck = rp_table_col(t, "kind"), cb = rp_table_col(t, "by"), cy = rp_table_col(t, "key"),
        co = rp_table_col(t, "options");
    int tc[N_TERMS];
    size_t nt = 0;
    const char *tn[N_TERMS];
    for (size_t k = 0; k < N_TERMS; k++) {
        int cc = rp_table_col(t, greek_terms[k]);
        int nz = 0;
        for (size_t i = 0; cc >= 0 && i < t->nrow && !nz; i++)
            nz = t->num[i * t->ncol + (size_t)cc] != 0.0 && !isnan(t->num[i * t->ncol + (size_t)cc]);
        if (nz) {
            tc[nt] = cc;
            tn[nt++] = greek_terms[k];
        }
    }
    size_t ne = 0;
    for (size_t i = 0; ck >= 0 && cb >= 0 && cy >= 0 && i < t->nrow; i++)
        ne += !strcmp(t->text[i * t->ncol + (size_t)ck], "part") &&
              !strcmp(t->text[i * t->ncol + (size_t)cb], "expiry");
    if (ne == 0 || co < 0) {
        chart_skip(c, ch, "explain_by.csv has no rows by expiry");
        return 0;
    }
    rp_out d, s;
    int rc = rp_out_open(&d, c->dir, "option_pnl_expiry.dat", c->err);
    if (rc)
        return rc;
    fputs("# the options' P&L of each expiry (explain_by.csv, kind part, by expiry; reporting "
          "currency): the Greek terms stacked, gains up from 0 and losses down\n# columns: 1 "
          "index, 2 options line, then for each term: value, lower and upper edge:", d.fp);
    for (size_t k = 0; k < nt; k++)
        fprintf(d.fp, "%s%s", k ? ", " : " ", tn[k]);
    fputc('\n', d.fp);
    size_t e = 0;
    double lo = 0.0, hi = 0.0;
    int same_year = 1, first_year = 0;
    for (size_t i = 0; i < t->nrow; i++) {
        if (strcmp(t->text[i * t->ncol + (size_t)ck], "part") ||
            strcmp(t->text[i * t->ncol + (size_t)cb], "expiry"))
            continue;
        const char *key = t->text[i * t->ncol + (size_t)cy];
        int y = atoi(key);
        if (e == 0)
            first_year = y;
        same_year &= y == first_year;
        fprintf(d.fp, "%zu", e++);
        num(d.fp, t->num[i * t->ncol + (size_t)co]);
        double up = 0.0, down = 0.0;
        for (size_t k = 0; k < nt; k++) {
            double x = t->num[i * t->ncol + (size_t)tc[k]];
            if (isnan(x))
                x = 0.0;
            double a = x >= 0 ? up : down + x, b = x >= 0 ? up + x : down;
            if (x >= 0)
                up = b;
            else
                down = a;
            num(d.fp, x);
            num(d.fp, a);
            num(d.fp, b);
        }
        lo = fmin(lo, fmin(down, t->num[i * t->ncol + (size_t)co]));
        hi = fmax(hi, fmax(up, t->num[i * t->ncol + (size_t)co]));
        fputc('\n', d.fp);
    }
    if ((rc = rp_out_close(&d, 1, c->err)) ||
        (rc = rp_out_open(&s, c->dir, "option_pnl_expiry.gp", c->err)))
        return rc;
    gp_begin(s.fp, c->g->img, "option_pnl_expiry", "options P&L by expiry and Greek", WIDE_W, WIDE_H);
    size_of(ch, WIDE_W, WIDE_H);
    gp_lin_axis(s.fp, "y", lo, hi);
    fprintf(s.fp, "set xrange [-0.6:%zu.6]\n"
            "set ylabel %s\nset grid noxtics ytics\nset xzeroaxis lt 1 lw 1 lc rgb \"#444444\"\n"
            "set key outside right top vertical Left reverse noopaque nobox\n"
            "set style fill solid 0.85 noborder\nset rmargin 18\nset xtics rotate by 30 right (",
            e - 1, q(r->currency[0] ? r->currency : "P&L").s);
    e = 0;
    for (size_t i = 0; i < t->nrow; i++) {
        if (strcmp(t->text[i * t->ncol + (size_t)ck], "part") ||
            strcmp(t->text[i * t->ncol + (size_t)cb], "expiry"))
            continue;
        const char *key = t->text[i * t->ncol + (size_t)cy];
        char lab[16];
        /* 2026-01-09T08:00:00Z -> 01-09 (the year when they differ) */
        snprintf(lab, sizeof lab, "%.*s", same_year ? 5 : 10,
                 strlen(key) >= 10 ? key + (same_year ? 5 : 0) : key);
        fprintf(s.fp, "%s%s %zu", e ? ", " : "", q(lab).s, e);
        e++;
    }
    fputs(")\nplot ", s.fp);
    for (size_t k = 0; k < nt; k++)
        fprintf(s.fp, "\"option_pnl_expiry.dat\" using 1:(($%zu+$%zu)/2):(0.32):(($%zu-$%zu)/2) "
                "with boxxyerror fc rgb \"%s\" title %s, \\\n     ",
                4 + 3 * k, 5 + 3 * k, 5 + 3 * k, 4 + 3 * k, colours[k % N_COLOURS],
                q(tn[k]).s);
    fprintf(s.fp, "\"option_pnl_expiry.dat\" using 1:2 with points pt 7 ps 1.1 lc rgb \"black\" "
            "title %s\n", q("options line").s);
    gp_end(s.fp, c->g->img, "option_pnl_expiry", WIDE_W, WIDE_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    chart_ready(c, ch);
    return 0;
}

/* --- dated futures -------------------------------------------------------------- */

#define MAX_FUT_LINES 8

/*
 * The basis of each future a year (futures.csv: basis_annual, in %) over
 * the run, a line per future (the first MAX_FUT_LINES seen) and its real
 * quotes as points: the line between them is the modelled or carried
 * price.  Steps with less than 7 days to expiry are left out (a year's
 * worth of a basis that is about to vanish says little).
 */
static int chart_basis(chart_ctx *c, const rp_run *r, rp_chart *ch)
{
    chart_init(ch, "basis", "Futures: basis to the index, annualised (futures.csv)");
    const rp_table *t = &r->fut;
    int cts = r->has_fut ? rp_table_col(t, "ts") : -1, csym = rp_table_col(t, "symbol");
    int cdays = rp_table_col(t, "days"), cann = rp_table_col(t, "basis_annual");
    int csrc = rp_table_col(t, "source");
    if (!r->has_fut || cts < 0 || csym < 0 || cdays < 0 || cann < 0 || csrc < 0 ||
        t->nrow == 0) {
        ch->state = RP_CHART_ABSENT;
        remove_files(c->dir, ch->name, 0);
        return 0;
    }
    const char *sym[MAX_FUT_LINES];
    size_t ns = 0;
    for (size_t i = 0; i < t->nrow; i++) {
        const char *s = t->text[i * t->ncol + (size_t)csym];
        size_t k = 0;
        while (k < ns && strcmp(sym[k], s))
            k++;
        if (k == ns && ns < MAX_FUT_LINES)
            sym[ns++] = s;
    }
    rp_out d, g;
    int rc = rp_out_open(&d, c->dir, "basis.dat", c->err);
    if (rc)
        return rc;
    fputs("# futures.csv's basis_annual in % by future (one block each, in the order of the "
          "legend), steps with 7 days or more to expiry\n# columns: 1 time (Unix seconds, bar "
          "open), 2 basis a year (%), 3 the same at the future's own quotes (else NaN)\n",
          d.fp);
    double lo = 0.0, hi = 0.0;
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    for (size_t k = 0; k < ns; k++) {
        fprintf(d.fp, "%s# %s\n", k ? "\n\n" : "", sym[k]);
        for (size_t i = 0; i < t->nrow; i++) {
            const char *const *row = (const char *const *)&t->text[i * t->ncol];
            int64_t ms;
            if (strcmp(row[csym], sym[k]) || rp_parse_time(row[cts], &ms))
                continue;
            double days = t->num[i * t->ncol + (size_t)cdays];
            double a = 100.0 * t->num[i * t->ncol + (size_t)cann];
            if (!(days >= 7.0) || !isfinite(a))
                a = NAN;
            put_t(d.fp, ms);
            num(d.fp, a);
            num(d.fp, !strcmp(row[csrc], "quote") ? a : NAN);
            fputc('\n', d.fp);
            if (isfinite(a)) {
                lo = fmin(lo, a);
                hi = fmax(hi, a);
                t0 = ms < t0 ? ms : t0;
                t1 = ms > t1 ? ms : t1;
            }
        }
    }
    if ((rc = rp_out_close(&d, 1, c->err)))
        return rc;
    if (t0 > t1) {
        chart_skip(c, ch, "futures.csv has no step with 7 days or more to an expiry");
        return 0;
    }
    if ((rc = rp_out_open(&g, c->dir, "basis.gp", c->err)))
        return rc;
    gp_begin(g.fp, c->g->img, "basis", "futures' basis a year", HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    gp_time_x(g.fp, t0, t1 > t0 ? t1 : t0 + 1, HALF_W);
    gp_lin_axis(g.fp, "y", lo, hi);
    fputs("set key outside bottom center horizontal Left reverse noopaque nobox width 2\n"
          "set xzeroaxis lt 1 lw 1 lc rgb \"#888888\"\nset ylabel \"basis a year (%)\"\nplot ",
          g.fp);
    for (size_t k = 0; k < ns; k++)
        fprintf(g.fp,
                "%s\"basis.dat\" index %zu using 1:2 with lines lw 1.6 lc rgb \"%s\" title %s, "
                "\\\n     \"basis.dat\" index %zu using 1:3 with points pt 7 ps 0.6 lc rgb \"%s\" "
                "notitle",
                k ? ", \\\n     " : "", k, colours[k % N_COLOURS], q(sym[k]).s, k,
                colours[k % N_COLOURS]);
    fputc('\n', g.fp);
    gp_end(g.fp, c->g->img, "basis", HALF_W, HALF_H);
    if ((rc = rp_out_close(&g, 1, c->err)))
        return rc;
    chart_ready(c, ch);
    return 0;
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
        (rc = chart_monthly(&c, r, &out[RP_C_MONTHLY])) ||
        (rc = chart_yearly(&c, r, &out[RP_C_YEARLY])) ||
        (rc = chart_dist(&c, r, &out[RP_C_DIST])) ||
        (rc = chart_rolling(&c, r, &out[RP_C_VOL], 0)) ||
        (rc = chart_rolling(&c, r, &out[RP_C_SHARPE], 1)) ||
        (rc = chart_rolling_beta(&c, r, &out[RP_C_BETA])) ||
        (rc = chart_weights(&c, r, &out[RP_C_WEIGHTS])) ||
        (rc = chart_corr(&c, r, &out[RP_C_CORR])) ||
        (rc = chart_margin(&c, r, &out[RP_C_MARGIN])) ||
        (rc = chart_pnl_lines(&c, r, &out[RP_C_PNL_LINES])) ||
        (rc = chart_greeks(&c, r, &out[RP_C_GREEKS])) ||
        (rc = chart_opt_expiry(&c, r, &out[RP_C_OPT_EXPIRY])) ||
        (rc = chart_attr(&c, r, &attr_charts[0], &out[RP_C_ATTR_ASSET])) ||
        (rc = chart_attr(&c, r, &attr_charts[1], &out[RP_C_ATTR_FACTOR])) ||
        (rc = chart_attr(&c, r, &attr_charts[2], &out[RP_C_ATTR_BETAS])) ||
        (rc = chart_attr(&c, r, &attr_charts[3], &out[RP_C_ATTR_GREEK])) ||
        (rc = chart_basis(&c, r, &out[RP_C_BASIS])))
        return rc;
    rp_charts_draw(g, charts_dir, out, RP_RUN_CHARTS);
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

void rp_bars_free(rp_bars *b)
{
    if (!b)
        return;
    free(b->key);
    free(b->v);
    b->key = NULL;
    b->v = NULL;
    b->nkey = 0;
}

enum { OV_GROWTH = 0, OV_DD, OV_SHARPE };

static int overlay(chart_ctx *c, rp_chart *ch, const char *name, size_t nrun,
                   const char *const *labels, size_t nt, const int64_t *ts, const double *v,
                   int what, size_t win)
{
    rp_out d, s;
    char fn[64];
    snprintf(fn, sizeof fn, "%s.dat", name);
    int rc = rp_out_open(&d, c->dir, fn, c->err);
    if (rc)
        return rc;
    static const char *const about[] = {
        "growth of 1 (equity / equity before the first common bar)",
        "drawdown (% below the running peak)",
        "rolling Sharpe ratio (the last window of bar returns; mean / sample sd x sqrt(bars a "
        "year), no risk-free rate)"};
    fprintf(d.fp, "# %s of each run on the common times\n# columns: 1 time (Unix seconds, bar "
            "open), then one per run:", about[what]);
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
            num(d.fp, what == OV_DD ? x * 100.0 : x); /* drawn in %: no expression a point */
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
    static const char *const what_s[] = {"equity of the runs, overlaid",
                                         "drawdowns of the runs, overlaid",
                                         "rolling Sharpe ratios of the runs, overlaid"};
    int w = what == OV_GROWTH ? WIDE_W : HALF_W, h = what == OV_GROWTH ? WIDE_H : HALF_H;
    gp_begin(s.fp, c->g->img, name, what_s[what], w, h);
    size_of(ch, w, h);
    gp_time_x(s.fp, ts[0], ts[nt - 1], w);
    fputs("set key outside bottom center horizontal Left reverse noopaque nobox width 2\n", s.fp);
    if (what == OV_GROWTH) {
        if (positive && isfinite(lo)) {
            lo = fmin(lo, 1.0);
            hi = fmax(hi, 1.0);
            double pad = hi > lo ? pow(hi / lo, 0.05) : 1.001;
            fprintf(s.fp, "set logscale y\nset yrange [%.17g:%.17g]\n", lo / pad, hi * pad);
            gp_log_ticks(s.fp, lo / pad, hi * pad);
        }
        fprintf(s.fp, "set ylabel %s\n", q(positive ? "growth of 1 (log scale)" : "growth of 1").s);
    } else if (what == OV_DD) {
        double ylo = isfinite(lo) && lo < 0.0 ? lo * 100.0 * 1.08 : -1.0;
        fprintf(s.fp, "set yrange [%.17g:0]\nset format y \"%%g%%%%\"\nset ylabel %s\n", ylo,
                q("drawdown (%)").s);
    } else {
        char lab[64];
        snprintf(lab, sizeof lab, "Sharpe (%zu bars, annualised)", win);
        fprintf(s.fp, "set ylabel %s\nset xzeroaxis lt 1 lw 1 lc rgb \"#888888\"\n", q(lab).s);
    }
    fputs("plot ", s.fp);
    for (size_t k = 0; k < nrun; k++)
        fprintf(s.fp, "%s\"%s.dat\" using 1:%zu with lines lw 1.5 lc rgb \"%s\" title %s",
                k ? ", \\\n     " : "", name, k + 2, colours[k % N_COLOURS], q(labels[k]).s);
    fputc('\n', s.fp);
    gp_end(s.fp, c->g->img, name, w, h);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    chart_ready(c, ch);
    return 0;
}

/* Grouped bars: a group per key, a bar per run. */
static int bars_chart(chart_ctx *c, rp_chart *ch, size_t nrun, const char *const *labels,
                      const rp_bars *b)
{
    chart_init(ch, b->name, b->title);
    rp_out d, s;
    char fn[64];
    snprintf(fn, sizeof fn, "%s.dat", b->name);
    int rc = rp_out_open(&d, c->dir, fn, c->err);
    if (rc)
        return rc;
    fprintf(d.fp, "# %s\n# columns: 1 key index, then one per run (%s):", b->title,
            b->pct ? "fractions" : "reporting currency");
    for (size_t k = 0; k < nrun; k++) {
        fputs(k ? ", " : " ", d.fp);
        comment_text(d.fp, labels[k]);
    }
    fputs("\n# keys:", d.fp);
    for (size_t j = 0; j < b->nkey; j++) {
        fputs(j ? ", " : " ", d.fp);
        comment_text(d.fp, b->key[j]);
    }
    fputc('\n', d.fp);
    double lo = 0.0, hi = 0.0, sc = b->pct ? 100.0 : 1.0;
    for (size_t j = 0; j < b->nkey; j++) {
        fprintf(d.fp, "%zu", j);
        for (size_t k = 0; k < nrun; k++) {
            double x = b->v[k * b->nkey + j];
            num(d.fp, x);
            if (isfinite(x)) {
                lo = fmin(lo, x * sc);
                hi = fmax(hi, x * sc);
            }
        }
        fputc('\n', d.fp);
    }
    snprintf(fn, sizeof fn, "%s.gp", b->name);
    if ((rc = rp_out_close(&d, 1, c->err)) || (rc = rp_out_open(&s, c->dir, fn, c->err)))
        return rc;
    gp_begin(s.fp, c->g->img, b->name, b->title, HALF_W, HALF_H);
    size_of(ch, HALF_W, HALF_H);
    double bw = 0.8 / (double)nrun;
    gp_lin_axis(s.fp, "y", lo, hi);
    fprintf(s.fp, "set xrange [-0.6:%zu.6]\nset grid noxtics ytics\n"
            "set xzeroaxis lt 1 lw 1 lc rgb \"#444444\"\nset style fill solid 0.85 noborder\n"
            "set boxwidth %.17g\nset ylabel %s\n"
            "set key outside bottom center horizontal Left reverse noopaque nobox width 2\n"
            "set xtics rotate by 30 right (",
            b->nkey - 1, bw * 0.95, q(b->pct ? "% of capital" : "P&L").s);
    for (size_t j = 0; j < b->nkey; j++)
        fprintf(s.fp, "%s%s %zu", j ? ", " : "", q(b->key[j]).s, j);
    fputs(")\nplot ", s.fp);
    for (size_t k = 0; k < nrun; k++)
        fprintf(s.fp, "%s\"%s.dat\" using ($1%+.17g):($%zu*%g) with boxes lc rgb \"%s\" title %s",
                k ? ", \\\n     " : "", b->name, ((double)k - (double)(nrun - 1) / 2.0) * bw,
                k + 2, sc, colours[k % N_COLOURS], q(labels[k]).s);
    fputc('\n', s.fp);
    gp_end(s.fp, c->g->img, b->name, HALF_W, HALF_H);
    if ((rc = rp_out_close(&s, 1, c->err)))
        return rc;
    snprintf(ch->note, sizeof ch->note, "%s", b->note);
    chart_ready(c, ch);
    return 0;
}

int rp_charts_compare(const char *charts_dir, size_t nrun, const char *const *labels, size_t nt,
                      const int64_t *ts, const double *growth, const double *dd,
                      const double *sharpe, size_t win, const rp_bars *bars, size_t nbars,
                      rp_gnuplot *g, rp_chart *out, cpo_error *err)
{
    int rc = rp_mkdir(charts_dir, err);
    if (rc)
        return rc;
    chart_ctx c = {charts_dir, g, err};
    chart_init(&out[0], "equity", "Growth of 1 over the compared period (log scale)");
    chart_init(&out[1], "drawdown", "Drawdown over the compared period (%)");
    char t[160];
    snprintf(t, sizeof t, "Rolling Sharpe ratio (30 days: %zu bars)", win);
    chart_init(&out[2], "rolling_sharpe", t);
    if (nt == 0) {
        for (int k = 0; k < 3; k++)
            chart_skip(&c, &out[k], "no common bars");
        return 0;
    }
    if ((rc = overlay(&c, &out[0], "equity", nrun, labels, nt, ts, growth, OV_GROWTH, win)) ||
        (rc = overlay(&c, &out[1], "drawdown", nrun, labels, nt, ts, dd, OV_DD, win)))
        return rc;
    if (nt < win)
        chart_skip(&c, &out[2], "%zu common bars, fewer than the 30-day window (%zu bars)", nt,
                   win);
    else if ((rc = overlay(&c, &out[2], "rolling_sharpe", nrun, labels, nt, ts, sharpe,
                           OV_SHARPE, win)))
        return rc;
    for (size_t k = 0; k < nbars; k++)
        if ((rc = bars_chart(&c, &out[3 + k], nrun, labels, &bars[k])))
            return rc;
    rp_charts_draw(g, charts_dir, out, 3 + nbars);
    return rp_cancelled(g, err);
}
