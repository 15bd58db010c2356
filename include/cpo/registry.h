/*
 * cpo/registry.h - the stage registry: built-in stages and stages loaded
 * from shared objects, through one table and the same checks.
 */
#ifndef CPO_REGISTRY_H
#define CPO_REGISTRY_H

#include <stddef.h>
#include <stdio.h>

#include "cpo/error.h"
#include "cpo/stage.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cpo_registry cpo_registry;

/* A registry holding every built-in stage. */
int cpo_registry_new(cpo_registry **out, cpo_error *err);
/* Closes the shared objects it loaded.  NULL is a no-op. */
void cpo_registry_free(cpo_registry *reg);

/*
 * Check a stage table and add it.  Refused (CPO_EPLUGIN): NULL table, ABI
 * version other than CPO_STAGE_ABI_VERSION, struct_size smaller than the
 * first ABI's table, no name, no run function, an unknown role, a bad
 * parameter spec (no name, min > max, default outside its own range), or a
 * name already registered for the same role.  `origin` names where the
 * table came from in messages ("built-in" or the plugin path).
 */
int cpo_registry_add(cpo_registry *reg, const cpo_stage_def *def,
                     const char *origin, cpo_error *err);

/*
 * Load a plugin: dlopen(path, RTLD_NOW | RTLD_LOCAL), dlsym of
 * CPO_PLUGIN_ENTRY, call it with CPO_STAGE_ABI_VERSION, and add every
 * table it returns.  Every failure is a CPO_EPLUGIN naming the path, and
 * the handle is closed.
 */
int cpo_registry_load(cpo_registry *reg, const char *path, cpo_error *err);

/* The stage of this role and name, or NULL. */
const cpo_stage_def *cpo_registry_find(const cpo_registry *reg,
                                       cpo_stage_role role, const char *name);

/* Number of stages, and stage k (in role, then registration order). */
size_t cpo_registry_count(const cpo_registry *reg);
const cpo_stage_def *cpo_registry_get(const cpo_registry *reg, size_t k,
                                      const char **origin);

/* The names of the stages of one role, ", "-separated, into buf. */
size_t cpo_registry_names(const cpo_registry *reg, cpo_stage_role role,
                          char *buf, size_t n);

/* Print every stage with its parameters and help (`cpo strategies`). */
void cpo_registry_print(const cpo_registry *reg, FILE *out);

/* Print the stages named in names[0..n_names) ("meanvar", "weigh.meanvar",
 * or a role: "weigh"); all of them when n_names is 0.  Returns 0, or
 * k + 1 when names[k] names no stage (nothing printed). */
int cpo_registry_print_some(const cpo_registry *reg, const char *const *names, size_t n_names,
                            FILE *out);

#ifdef __cplusplus
}
#endif
#endif
