/*
 * params.h - parameter values of one stage instance, checked against the
 * stage's declared cpo_param_spec list.  Private to libcpo; stages read
 * values through the host API (cpo_host.param_*).
 */
#ifndef CPO_PARAMS_H
#define CPO_PARAMS_H

#include "cpo/stage.h"

/* New parameter set for a stage, every value unset. */
int cpo_params_new(cpo_params **out, const cpo_stage_def *def, cpo_error *err);
void cpo_params_free(cpo_params *p); /* NULL is a no-op */

/*
 * Set one value from text.  Returns 0; CPO_ENOTFOUND if the stage has no
 * such parameter; CPO_ERANGE/CPO_EINVAL if the value is bad.  On error,
 * `why` (if not NULL) gets "what was expected" text, e.g.
 * "a number in [1, 100]", "one of: calendar, band, both", or the list of
 * valid keys for CPO_ENOTFOUND.
 */
int cpo_params_set(cpo_params *p, const char *key, const char *value,
                   char *why, size_t why_len);

/* Fill defaults; CPO_EINVAL with the name of a required parameter that
 * has no value and no default in *missing. */
int cpo_params_finish(cpo_params *p, const char **missing);

/* "key=value key=value ..." of every parameter (for manifests). */
size_t cpo_params_format(const cpo_params *p, char *buf, size_t n);

/* Accessors (also in the host table).  Asking for an undeclared name or
 * the wrong type is a programming error: the result is 0/NaN/"" . */
int64_t cpo_params_int(const cpo_params *p, const char *name);
double cpo_params_real(const cpo_params *p, const char *name);
const char *cpo_params_str(const cpo_params *p, const char *name);
size_t cpo_params_count(const cpo_params *p, const char *name);
const char *cpo_params_item(const cpo_params *p, const char *name, size_t k);

#endif
