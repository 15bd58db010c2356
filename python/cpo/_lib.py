"""libcpo.so through cffi (ABI mode): the declarations the package uses,
copied from include/cpo/*.h, and the library found at import.

Where the library is looked for, first found first:
  1. the file named by the environment variable CPO_LIBRARY;
  2. the path `cmake --install` wrote into cpo/_install.py;
  3. libcpo.so.0 through the dynamic loader (ldconfig, LD_LIBRARY_PATH).
"""
import os

import cffi

CDEF = """
typedef struct cpo_error {
    int code;
    long line;
    long col;
    char path[512];
    char msg[512];
} cpo_error;
size_t cpo_error_format(const cpo_error *err, char *buf, size_t n);
const char *cpo_error_name(int code);

typedef struct cpo_col {
    const char *name;
    int type;
    const void *data;
    size_t stride;
    size_t size;
} cpo_col;
typedef struct cpo_table cpo_table;
const char *cpo_table_name(const cpo_table *t);
size_t cpo_table_rows(const cpo_table *t);
size_t cpo_table_cols(const cpo_table *t);
const cpo_col *cpo_table_col(const cpo_table *t, size_t k);
const char *cpo_table_notes(const cpo_table *t);
void cpo_table_free(cpo_table *t);

typedef struct cpo_results cpo_results;
int cpo_results_run(cpo_results **out, const char *path, const char *text,
                    const char *const *overrides, size_t n_overrides, cpo_error *err);
int cpo_results_load(cpo_results **out, const char *dir, cpo_error *err);
void cpo_results_free(cpo_results *res);
const char *cpo_results_summary(const cpo_results *res);
size_t cpo_results_count(const cpo_results *res);
const cpo_table *cpo_results_table(const cpo_results *res, size_t k);
int cpo_sweep_leaderboard(cpo_table **out, const char *path, int n_threads,
                          const char *objective, cpo_error *err);

typedef struct cpo_dataset cpo_dataset;
int cpo_store_read(cpo_dataset **out, const char *path, cpo_error *err);
void cpo_dataset_free(cpo_dataset *ds);
int cpo_dataset_table(cpo_table **out, const cpo_dataset *ds, const char *part,
                      const char *name, cpo_error *err);

typedef struct cpo_black76_cols {
    double *price, *delta, *gamma, *vega, *theta, *rho, *vanna, *volga;
} cpo_black76_cols;
size_t cpo_black76_batch(size_t n, const double *fwd, const double *strike,
                         const double *t_years, const double *rate, const double *vol,
                         const int8_t *right, const cpo_black76_cols *out);
size_t cpo_black76_iv_batch(size_t n, const double *price, const double *fwd,
                            const double *strike, const double *t_years, const double *rate,
                            const int8_t *right, double *vol, int8_t *status);
const char *cpo_iv_status_name(int status);

typedef struct cpo_env cpo_env;
typedef struct cpo_env_status {
    double reward;
    int terminated;
    int truncated;
    int64_t ts_ms;
    size_t step;
    double equity;
    double turnover;
} cpo_env_status;
int cpo_env_new(cpo_env **out, const char *path, const char *text,
                const char *const *overrides, size_t n_overrides, cpo_error *err);
void cpo_env_free(cpo_env *env);
size_t cpo_env_obs_size(const cpo_env *env);
size_t cpo_env_action_size(const cpo_env *env);
const char *cpo_env_obs_name(const cpo_env *env, size_t k);
const char *cpo_env_action_name(const cpo_env *env, size_t k);
void cpo_env_action_bounds(const cpo_env *env, double *low, double *high);
size_t cpo_env_episode_steps(const cpo_env *env);
int64_t cpo_env_bar_ms(const cpo_env *env);
int cpo_env_reset(cpo_env *env, const uint64_t *seed, double *obs, cpo_env_status *st,
                  cpo_error *err);
int cpo_env_step(cpo_env *env, const double *action, size_t n_action, double *obs,
                 cpo_env_status *st, cpo_error *err);
const cpo_env_status *cpo_env_last(const cpo_env *env);
int cpo_env_write_episode(const cpo_env *env, const char *dir, cpo_error *err);
typedef struct cpo_vecenv cpo_vecenv;
int cpo_vecenv_new(cpo_vecenv **out, size_t n_envs, const char *path, const char *text,
                   const char *const *overrides, size_t n_overrides, cpo_error *err);
void cpo_vecenv_free(cpo_vecenv *v);
size_t cpo_vecenv_size(const cpo_vecenv *v);
const cpo_env *cpo_vecenv_env(const cpo_vecenv *v, size_t k);
int cpo_vecenv_reset(cpo_vecenv *v, const uint64_t *seed, double *obs, cpo_error *err);
int cpo_vecenv_step(cpo_vecenv *v, const double *actions, size_t n_actions, double *obs,
                    double *reward, uint8_t *terminated, uint8_t *truncated, double *final_obs,
                    cpo_error *err);

const char *cpo_config_section_keys(const char *section);
const char *cpo_config_section_name(size_t k);
"""

ffi = cffi.FFI()
ffi.cdef(CDEF)


def _candidates():
    env = os.environ.get("CPO_LIBRARY")
    if env:
        return [env]
    found = []
    try:
        from . import _install  # written by cmake --install
        found.append(_install.LIBRARY)
    except ImportError:
        pass
    found.append("libcpo.so.0")
    return found


def _open():
    errors = []
    for name in _candidates():
        try:
            return ffi.dlopen(name)
        except OSError as e:
            errors.append(f"{name}: {e}")
    raise ImportError("cpo: cannot load libcpo.so (" + "; ".join(errors) +
                      "; expected `cmake --install` of cpo, or CPO_LIBRARY=/path/to/libcpo.so.0)")


lib = _open()
