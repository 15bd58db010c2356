/* params.c - declared, validated stage parameters, and the names of the
 * stage ABI's roles (cpo/stage.h): what every layer that prints a stage
 * (config errors, manifests, option files) needs below the registry. */
#include "params.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/time.h"

const char *cpo_role_name(cpo_stage_role r)
{
    static const char *const names[CPO_ROLE_COUNT] = {"schedule", "select", "weigh", "overlay",
                                                      "hedge"};
    return (unsigned)r < CPO_ROLE_COUNT ? names[r] : "?";
}

typedef struct pval {
    int set;
    char *text;     /* the text as given (or the default) */
    int64_t i;      /* INT, BOOL, DURATION (ms) */
    double r;       /* REAL (and INT/DURATION as double) */
    char **items;   /* LIST */
    size_t n_items;
} pval;

struct cpo_params {
    const cpo_stage_def *def;
    pval *v; /* [def->n_params] */
};

int cpo_params_new(cpo_params **out, const cpo_stage_def *def, cpo_error *err)
{
    cpo_params *p = calloc(1, sizeof *p);
    if (!p || !(p->v = calloc(def->n_params ? def->n_params : 1, sizeof *p->v))) {
        free(p);
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    }
    p->def = def;
    *out = p;
    return 0;
}

static void pval_clear(pval *v)
{
    free(v->text);
    for (size_t k = 0; k < v->n_items; k++)
        free(v->items[k]);
    free(v->items);
    memset(v, 0, sizeof *v);
}

void cpo_params_free(cpo_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->def->n_params; i++)
        pval_clear(&p->v[i]);
    free(p->v);
    free(p);
}

static long find(const cpo_params *p, const char *name)
{
    for (size_t i = 0; i < p->def->n_params; i++)
        if (!strcmp(p->def->params[i].name, name))
            return (long)i;
    return -1;
}

static void fmt_num(char *buf, size_t n, double x, cpo_param_type t)
{
    if (t == CPO_PARAM_DURATION)
        cpo_duration_format((int64_t)x, buf, n);
    else
        snprintf(buf, n, "%.15g", x);
}

static int parse_list(pval *v, const char *s)
{
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *end = e;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        char **ni = realloc(v->items, (v->n_items + 1) * sizeof *ni);
        if (!ni)
            return CPO_ENOMEM;
        v->items = ni;
        size_t len = (size_t)(end - p);
        if (!(v->items[v->n_items] = malloc(len + 1)))
            return CPO_ENOMEM;
        memcpy(v->items[v->n_items], p, len);
        v->items[v->n_items][len] = '\0';
        v->n_items++;
        p = e;
    }
    return 0;
}

int cpo_params_set(cpo_params *p, const char *key, const char *value, char *why,
                   size_t why_len)
{
    char dummy[8];
    if (!why) {
        why = dummy;
        why_len = sizeof dummy;
    }
    why[0] = '\0';
    long k = find(p, key);
    if (k < 0) {
        size_t w = 0;
        int m = snprintf(why, why_len, "one of:");
        w = m > 0 ? (size_t)m : 0;
        for (size_t i = 0; i < p->def->n_params && w < why_len; i++) {
            m = snprintf(why + w, why_len - w, "%s %s", i ? "," : "", p->def->params[i].name);
            if (m < 0)
                break;
            w += (size_t)m;
        }
        if (p->def->n_params == 0)
            snprintf(why, why_len, "no parameters");
        return CPO_ENOTFOUND;
    }
    const cpo_param_spec *s = &p->def->params[k];
    pval nv = {0};
    char lo[32], hi[32];
    fmt_num(lo, sizeof lo, s->min, s->type);
    fmt_num(hi, sizeof hi, s->max, s->type);
    switch (s->type) {
    case CPO_PARAM_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (end == value || *end || errno) {
            snprintf(why, why_len, "an integer in [%s, %s]", lo, hi);
            return CPO_EINVAL;
        }
        if ((double)v < s->min || (double)v > s->max) {
            snprintf(why, why_len, "an integer in [%s, %s]", lo, hi);
            return CPO_ERANGE;
        }
        nv.i = v;
        nv.r = (double)v;
        break;
    }
    case CPO_PARAM_REAL: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v)) {
            snprintf(why, why_len, "a number in [%s, %s]", lo, hi);
            return CPO_EINVAL;
        }
        if (v < s->min || v > s->max) {
            snprintf(why, why_len, "a number in [%s, %s]", lo, hi);
            return CPO_ERANGE;
        }
        nv.r = v;
        break;
    }
    case CPO_PARAM_BOOL:
        if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "on"))
            nv.i = 1;
        else if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "off"))
            nv.i = 0;
        else {
            snprintf(why, why_len, "yes or no");
            return CPO_EINVAL;
        }
        nv.r = (double)nv.i;
        break;
    case CPO_PARAM_DURATION: {
        int64_t ms;
        if (cpo_duration_parse(value, &ms)) {
            snprintf(why, why_len, "a duration like 30d, 8h or 15m in [%s, %s]", lo, hi);
            return CPO_EINVAL;
        }
        if ((double)ms < s->min || (double)ms > s->max) {
            snprintf(why, why_len, "a duration in [%s, %s]", lo, hi);
            return CPO_ERANGE;
        }
        nv.i = ms;
        nv.r = (double)ms;
        break;
    }
    case CPO_PARAM_CHOICE: {
        const char *c = s->choices ? s->choices : "";
        size_t vl = strlen(value);
        int ok = 0;
        while (*c && !ok) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (len == vl && !strncmp(c, value, len))
                ok = 1;
            c += len + (bar ? 1 : 0);
        }
        if (!ok) {
            size_t w = (size_t)snprintf(why, why_len, "one of: ");
            for (const char *q = s->choices ? s->choices : ""; *q && w + 2 < why_len; q++) {
                if (*q == '|') {
                    why[w++] = ',';
                    why[w++] = ' ';
                } else {
                    why[w++] = *q;
                }
            }
            why[w < why_len ? w : why_len - 1] = '\0';
            return CPO_EINVAL;
        }
        break;
    }
    case CPO_PARAM_STRING:
    case CPO_PARAM_PATH:
        break;
    case CPO_PARAM_LIST:
        if (parse_list(&nv, value)) {
            pval_clear(&nv);
            return CPO_ENOMEM;
        }
        break;
    }
    if (!(nv.text = strdup(value))) {
        pval_clear(&nv);
        return CPO_ENOMEM;
    }
    nv.set = 1;
    pval_clear(&p->v[k]);
    p->v[k] = nv;
    return 0;
}

int cpo_params_finish(cpo_params *p, const char **missing)
{
    for (size_t i = 0; i < p->def->n_params; i++) {
        if (p->v[i].set)
            continue;
        const cpo_param_spec *s = &p->def->params[i];
        if (!s->def) {
            if (missing)
                *missing = s->name;
            return CPO_EINVAL;
        }
        int rc = cpo_params_set(p, s->name, s->def, NULL, 0);
        if (rc) {
            /* A default that fails its own spec is a bug in the stage. */
            if (missing)
                *missing = s->name;
            return rc;
        }
    }
    return 0;
}

size_t cpo_params_format(const cpo_params *p, char *buf, size_t n)
{
    size_t w = 0;
    if (n)
        buf[0] = '\0';
    for (size_t i = 0; i < p->def->n_params; i++) {
        int m = snprintf(buf + (w < n ? w : n), w < n ? n - w : 0, "%s%s=%s", i ? " " : "",
                         p->def->params[i].name, p->v[i].text ? p->v[i].text : "");
        if (m > 0)
            w += (size_t)m;
    }
    return w;
}

int64_t cpo_params_int(const cpo_params *p, const char *name)
{
    long k = find(p, name);
    return k < 0 ? 0 : p->v[k].i;
}

double cpo_params_real(const cpo_params *p, const char *name)
{
    long k = find(p, name);
    return k < 0 ? NAN : p->v[k].r;
}

const char *cpo_params_str(const cpo_params *p, const char *name)
{
    long k = find(p, name);
    return k < 0 || !p->v[k].text ? "" : p->v[k].text;
}

size_t cpo_params_count(const cpo_params *p, const char *name)
{
    long k = find(p, name);
    return k < 0 ? 0 : p->v[k].n_items;
}

const char *cpo_params_item(const cpo_params *p, const char *name, size_t k)
{
    long i = find(p, name);
    return i < 0 || k >= p->v[i].n_items ? "" : p->v[i].items[k];
}
