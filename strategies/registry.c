/*
 * registry.c - the stage registry: one table of (stage, origin) for the
 * built-in stages and the stages of loaded plugins, and the checks every
 * table passes before it is added.
 *
 * Errors name where the table came from in err->path ("built-in" or the
 * plugin's path), so that cpo_error_format gives
 *
 *     plug.so: stage "x" has ABI version 7 (expected 1)
 */
#include "cpo/registry.h"

#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc_stages.h"
#include "builtin.h"
#include "params.h"
#include "cpo/time.h"

/* The size of the table of the first ABI: every later table is larger. */
#define REG_DEF_SIZE_V1 (offsetof(cpo_stage_def, fini) + sizeof(void (*)(void *)))
#define REG_ORIGIN_BUILTIN "built-in"

typedef struct reg_entry {
    const cpo_stage_def *def;
    char *origin; /* owned */
} reg_entry;

struct cpo_registry {
    reg_entry *e; /* [n], in registration order */
    size_t n, cap;
    void **handles; /* [n_handles] dlopen handles, owned */
    size_t n_handles, cap_handles;
};

static const cpo_stage_def *const builtins[] = {
    &cpo_stage_every,   &cpo_stage_once, &cpo_stage_every_n, &cpo_stage_daily,
    &cpo_stage_weekly,  &cpo_stage_monthly, &cpo_stage_drift, &cpo_stage_all,
    &cpo_stage_list,    &cpo_stage_top_volume, &cpo_stage_top_cap, &cpo_stage_equal,
    &cpo_stage_fixed,   &cpo_stage_agent, &cpo_stage_replay,
    /* allocation (strategies/alloc_stages.h) */
    &cpo_stage_invvol,  &cpo_stage_minvar, &cpo_stage_meanvar, &cpo_stage_erc,
    &cpo_stage_hrp,     &cpo_stage_bl, &cpo_stage_voltarget, &cpo_stage_caps, &cpo_stage_events,
    &cpo_stage_risk_limits, &cpo_stage_roll,
    &cpo_stage_hedge_beta,
    /* options (strategies/opt_stages.c) */
    &cpo_stage_strangle, &cpo_stage_straddle, &cpo_stage_covered_call,
    &cpo_stage_protective_put, &cpo_stage_delta_hedge,
};

static const char *type_name(cpo_param_type t)
{
    static const char *const names[] = {"int",    "real",   "bool", "duration",
                                        "choice", "string", "list", "path"};
    return (unsigned)t <= CPO_PARAM_PATH ? names[t] : "?";
}

static int insert(cpo_registry *reg, const cpo_stage_def *def, const char *origin,
                  cpo_error *err);

int cpo_registry_new(cpo_registry **out, cpo_error *err)
{
    *out = NULL;
    cpo_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    /* The built-in tables are not checked here: they are part of the
     * program, and check_stages puts each through cpo_registry_add's checks.
     * Checking them was half the time of loading a config, and a sweep
     * loads one per point. */
    for (size_t k = 0; k < sizeof builtins / sizeof builtins[0]; k++) {
        int rc = insert(reg, builtins[k], REG_ORIGIN_BUILTIN, err);
        if (rc) {
            cpo_registry_free(reg);
            return rc;
        }
    }
    *out = reg;
    return 0;
}

/* Drop the entries from n on (the rollback of a failed load). */
static void truncate_to(cpo_registry *reg, size_t n)
{
    while (reg->n > n)
        free(reg->e[--reg->n].origin);
}

void cpo_registry_free(cpo_registry *reg)
{
    if (!reg)
        return;
    truncate_to(reg, 0);
    free(reg->e);
    /* The tables live in the shared objects: close them last. */
    for (size_t k = reg->n_handles; k-- > 0;)
        dlclose(reg->handles[k]);
    free(reg->handles);
    free(reg);
}

/* --- checks -------------------------------------------------------------- */

/* The name of a table for messages, if it has one we may read. */
static const char *def_name(const cpo_stage_def *def)
{
    if (def->struct_size < offsetof(cpo_stage_def, name) + sizeof def->name || !def->name)
        return NULL;
    return def->name;
}

static int name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static int check_param(const cpo_stage_def *def, size_t k, const char *origin, cpo_error *err)
{
    const cpo_param_spec *s = &def->params[k];
    const char *role = cpo_role_name(def->role);
    if (!s->name || !s->name[0])
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "stage \"%s\" (%s): parameter %zu has no name (expected a "
                             "non-empty name)",
                             def->name, role, k + 1);
    if (!name_ok(s->name))
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "stage \"%s\" (%s): parameter name \"%s\" is not a word (expected "
                             "letters, digits, '_' or '-')",
                             def->name, role, s->name);
    for (size_t j = 0; j < k; j++)
        if (!strcmp(def->params[j].name, s->name))
            return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                                 "stage \"%s\" (%s): parameter \"%s\" is declared twice "
                                 "(expected each name once)",
                                 def->name, role, s->name);
    if ((unsigned)s->type > CPO_PARAM_PATH)
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "stage \"%s\" (%s): parameter \"%s\" has unknown type %d "
                             "(expected int, real, bool, duration, choice, string, list or path)",
                             def->name, role, s->name, (int)s->type);
    if ((s->type == CPO_PARAM_INT || s->type == CPO_PARAM_REAL || s->type == CPO_PARAM_DURATION) &&
        !(s->min <= s->max))
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "stage \"%s\" (%s): parameter \"%s\" has range [%g, %g] "
                             "(expected min <= max)",
                             def->name, role, s->name, s->min, s->max);
    if (s->type == CPO_PARAM_CHOICE && (!s->choices || !s->choices[0]))
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "stage \"%s\" (%s): parameter \"%s\" is a choice without choices "
                             "(expected choices like \"a|b\")",
                             def->name, role, s->name);
    return 0;
}

/* Every default must pass its own spec: set it through params.c, the
 * code that will check the user's values. */
static int check_defaults(const cpo_stage_def *def, const char *origin, cpo_error *err)
{
    cpo_params *p = NULL;
    int rc = cpo_params_new(&p, def, err);
    if (rc)
        return rc;
    for (size_t k = 0; k < def->n_params && !rc; k++) {
        const cpo_param_spec *s = &def->params[k];
        char why[256];
        if (!s->def)
            continue;
        int r = cpo_params_set(p, s->name, s->def, why, sizeof why);
        if (r == CPO_ENOMEM)
            rc = cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        else if (r)
            rc = cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                               "stage \"%s\" (%s): parameter \"%s\" has default \"%s\" "
                               "(expected %s)",
                               def->name, cpo_role_name(def->role), s->name, s->def, why);
    }
    cpo_params_free(p);
    return rc;
}

static int grow_entries(cpo_registry *reg, cpo_error *err)
{
    if (reg->n < reg->cap)
        return 0;
    size_t nc = reg->cap ? reg->cap * 2 : 32;
    reg_entry *p = realloc(reg->e, nc * sizeof *p);
    if (!p)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    reg->e = p;
    reg->cap = nc;
    return 0;
}

int cpo_registry_add(cpo_registry *reg, const cpo_stage_def *def, const char *origin,
                     cpo_error *err)
{
    if (!origin)
        origin = "?";
    if (!def)
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "a stage table is NULL (expected a cpo_stage_def)");
    const char *name = def_name(def);
    if (def->abi_version != CPO_STAGE_ABI_VERSION) {
        if (name)
            return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                                 "stage \"%s\" has ABI version %u (expected %u)", name,
                                 (unsigned)def->abi_version, (unsigned)CPO_STAGE_ABI_VERSION);
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "a stage table has ABI version %u (expected %u)",
                             (unsigned)def->abi_version, (unsigned)CPO_STAGE_ABI_VERSION);
    }
    if (def->struct_size < REG_DEF_SIZE_V1) {
        if (name)
            return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                                 "stage \"%s\" has a table of %u bytes (expected at least %zu)",
                                 name, (unsigned)def->struct_size, (size_t)REG_DEF_SIZE_V1);
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "a stage table has %u bytes (expected at least %zu)",
                             (unsigned)def->struct_size, (size_t)REG_DEF_SIZE_V1);
    }
    if (!def->name || !def->name[0])
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "a stage has no name (expected a non-empty name)");
    if (!name_ok(def->name))
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "stage name \"%s\" is not a word (expected letters, digits, '_' "
                             "or '-')",
                             def->name);
    if ((unsigned)def->role >= CPO_ROLE_COUNT)
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "stage \"%s\" has unknown role %d (expected schedule, select, "
                             "weigh, overlay or hedge)",
                             def->name, (int)def->role);
    const char *role = cpo_role_name(def->role);
    if (!def->run)
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "stage \"%s\" (%s) has no run function (expected one)", def->name,
                             role);
    if (def->n_params && !def->params)
        return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                             "stage \"%s\" (%s) declares %zu parameters without a table "
                             "(expected params to point to them)",
                             def->name, role, def->n_params);
    for (size_t k = 0; k < def->n_params; k++) {
        int rc = check_param(def, k, origin, err);
        if (rc)
            return rc;
    }
    int rc = check_defaults(def, origin, err);
    if (rc)
        return rc;
    return insert(reg, def, origin, err);
}

/* Add a checked table: refused if its role already has its name. */
static int insert(cpo_registry *reg, const cpo_stage_def *def, const char *origin,
                  cpo_error *err)
{
    int rc;
    for (size_t k = 0; k < reg->n; k++)
        if (reg->e[k].def->role == def->role && !strcmp(reg->e[k].def->name, def->name))
            return cpo_error_set(err, CPO_EPLUGIN, origin, 0, 0,
                                 "stage \"%s\" (%s) is already registered by %s", def->name,
                                 cpo_role_name(def->role), reg->e[k].origin);
    if ((rc = grow_entries(reg, err)))
        return rc;
    char *o = strdup(origin);
    if (!o)
        return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
    reg->e[reg->n].def = def;
    reg->e[reg->n].origin = o;
    reg->n++;
    return 0;
}

/* --- plugins ------------------------------------------------------------- */

static int keep_handle(cpo_registry *reg, void *h, cpo_error *err)
{
    if (reg->n_handles == reg->cap_handles) {
        size_t nc = reg->cap_handles ? reg->cap_handles * 2 : 4;
        void **p = realloc(reg->handles, nc * sizeof *p);
        if (!p)
            return cpo_error_set(err, CPO_ENOMEM, NULL, 0, 0, "out of memory");
        reg->handles = p;
        reg->cap_handles = nc;
    }
    reg->handles[reg->n_handles++] = h;
    return 0;
}

int cpo_registry_load(cpo_registry *reg, const char *path, cpo_error *err)
{
    size_t n0 = reg->n;
    int rc = 0;
    if (!path || !path[0]) /* dlopen(NULL) would be the program itself */
        return cpo_error_set(err, CPO_EPLUGIN, NULL, 0, 0,
                             "no plugin path (expected the path of a shared object)");
    /* A name without a slash that is a file here is that file, not a
     * library for dlopen to look for on the system's paths ("plugin = x.so"
     * in a config run from its own folder). */
    char here[4096];
    const char *open_path = path;
    if (!strchr(path, '/') && access(path, F_OK) == 0) {
        if ((size_t)snprintf(here, sizeof here, "./%s", path) >= sizeof here)
            return cpo_error_set(err, CPO_EPLUGIN, NULL, 0, 0,
                                 "plugin path too long (expected < 4096 bytes)");
        open_path = here;
    }
    dlerror();
    void *h = dlopen(open_path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return cpo_error_set(err, CPO_EPLUGIN, path, 0, 0,
                             "cannot load plugin: %s (expected a shared object)",
                             why ? why : "unknown error");
    }
    /* POSIX: a data pointer and a function pointer convert through this. */
    cpo_plugin_entry_fn entry;
    void *sym = dlsym(h, CPO_PLUGIN_ENTRY);
    if (!sym) {
        rc = cpo_error_set(err, CPO_EPLUGIN, path, 0, 0,
                           "no entry point " CPO_PLUGIN_ENTRY " (expected a cpo stage plugin)");
        goto fail;
    }
    memcpy(&entry, &sym, sizeof entry);
    size_t n = 0;
    const cpo_stage_def *const *defs = entry(CPO_STAGE_ABI_VERSION, &n);
    if (!defs || n == 0) {
        rc = cpo_error_set(err, CPO_EPLUGIN, path, 0, 0,
                           "the plugin returned no stage table (expected at least one)");
        goto fail;
    }
    for (size_t k = 0; k < n; k++) {
        if (!defs[k]) {
            rc = cpo_error_set(err, CPO_EPLUGIN, path, 0, 0,
                               "stage table %zu of %zu is NULL (expected a cpo_stage_def)",
                               k + 1, n);
            goto fail;
        }
        if ((rc = cpo_registry_add(reg, defs[k], path, err)))
            goto fail;
    }
    if ((rc = keep_handle(reg, h, err)))
        goto fail;
    return 0;
fail:
    truncate_to(reg, n0);
    dlclose(h);
    return rc;
}

/* --- lookup -------------------------------------------------------------- */

const cpo_stage_def *cpo_registry_find(const cpo_registry *reg, cpo_stage_role role,
                                       const char *name)
{
    if (!reg || !name)
        return NULL;
    for (size_t k = 0; k < reg->n; k++)
        if (reg->e[k].def->role == role && !strcmp(reg->e[k].def->name, name))
            return reg->e[k].def;
    return NULL;
}

size_t cpo_registry_count(const cpo_registry *reg)
{
    return reg ? reg->n : 0;
}

const cpo_stage_def *cpo_registry_get(const cpo_registry *reg, size_t k, const char **origin)
{
    if (origin)
        *origin = NULL;
    if (!reg)
        return NULL;
    /* Role order, then registration order: a walk per role (few stages). */
    for (int r = 0; r < CPO_ROLE_COUNT; r++)
        for (size_t j = 0; j < reg->n; j++) {
            if (reg->e[j].def->role != (cpo_stage_role)r)
                continue;
            if (k-- == 0) {
                if (origin)
                    *origin = reg->e[j].origin;
                return reg->e[j].def;
            }
        }
    return NULL;
}

size_t cpo_registry_names(const cpo_registry *reg, cpo_stage_role role, char *buf, size_t n)
{
    size_t w = 0;
    if (n)
        buf[0] = '\0';
    for (size_t k = 0; reg && k < reg->n; k++) {
        if (reg->e[k].def->role != role)
            continue;
        const char *sep = w ? ", " : "";
        size_t need = strlen(sep) + strlen(reg->e[k].def->name);
        if (w + need < n)
            snprintf(buf + w, n - w, "%s%s", sep, reg->e[k].def->name);
        else if (w < n)
            buf[w] = '\0'; /* whole names only */
        w += need;
    }
    return w;
}

/* --- printing ------------------------------------------------------------ */

static void fmt_bound(char *buf, size_t n, double x, cpo_param_type t)
{
    if (t == CPO_PARAM_DURATION && isfinite(x) && x >= 1.0 && x < 9.2e18)
        cpo_duration_format((int64_t)x, buf, n);
    else
        snprintf(buf, n, "%.15g", x);
}

static void print_param(const cpo_param_spec *s, FILE *out)
{
    char lo[32], hi[32];
    fprintf(out, "    %-10s %-9s ", s->name, type_name(s->type));
    if (!s->def)
        fprintf(out, "required");
    else
        fprintf(out, "default %s", s->def[0] ? s->def : "\"\"");
    switch (s->type) {
    case CPO_PARAM_INT:
    case CPO_PARAM_REAL:
    case CPO_PARAM_DURATION:
        fmt_bound(lo, sizeof lo, s->min, s->type);
        fmt_bound(hi, sizeof hi, s->max, s->type);
        fprintf(out, "  [%s, %s]", lo, hi);
        break;
    case CPO_PARAM_CHOICE:
        fprintf(out, "  one of: ");
        for (const char *c = s->choices; *c; c++) {
            if (*c == '|')
                fputs(", ", out);
            else
                fputc(*c, out);
        }
        break;
    default:
        break;
    }
    fprintf(out, "  %s\n", s->help ? s->help : "");
}

void cpo_registry_print(const cpo_registry *reg, FILE *out)
{
    cpo_registry_print_some(reg, NULL, 0, out);
}

/* Is stage d named by one of names ("meanvar", "weigh.meanvar", "weigh")? */
static int named(const cpo_stage_def *d, const char *const *names, size_t n)
{
    const char *role = cpo_role_name(d->role);
    size_t rl = strlen(role);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], d->name) || !strcmp(names[i], role) ||
            (!strncmp(names[i], role, rl) && names[i][rl] == '.' &&
             !strcmp(names[i] + rl + 1, d->name)))
            return 1;
    return 0;
}

int cpo_registry_print_some(const cpo_registry *reg, const char *const *names, size_t n_names,
                            FILE *out)
{
    for (size_t i = 0; i < n_names; i++) {
        int found = 0;
        for (size_t k = 0; k < cpo_registry_count(reg) && !found; k++)
            found = named(cpo_registry_get(reg, k, NULL), &names[i], 1);
        if (!found)
            return (int)i + 1;
    }
    size_t w = 9;
    for (size_t k = 0; reg && k < reg->n; k++) {
        size_t l = strlen(reg->e[k].def->name);
        if (l > w)
            w = l;
    }
    size_t n = cpo_registry_count(reg);
    for (size_t k = 0; k < n; k++) {
        const char *origin;
        const cpo_stage_def *d = cpo_registry_get(reg, k, &origin);
        if (n_names && !named(d, names, n_names))
            continue;
        fprintf(out, "%-9s %-*s %s", cpo_role_name(d->role), (int)w, d->name,
                d->help ? d->help : "");
        if (strcmp(origin, REG_ORIGIN_BUILTIN))
            fprintf(out, "  [plugin %s]", origin);
        fputc('\n', out);
        for (size_t j = 0; j < d->n_params; j++)
            print_param(&d->params[j], out);
    }
    return 0;
}
