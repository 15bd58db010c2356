/* stage_util.c - helpers shared by the built-in stages (host API only). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"

int cpo_builtin_unknown_symbol(const cpo_host *h, const cpo_view *v, const char *stage,
                               const char *symbol, cpo_error *err)
{
    char have[320];
    size_t w = 0, n = h->n_instr(v);
    have[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *s = h->instrument(v, i)->symbol;
        size_t need = (i ? 2 : 0) + strlen(s);
        if (w + need + 5 >= sizeof have) {
            memcpy(have + w, ", ...", 6);
            break;
        }
        w += (size_t)snprintf(have + w, sizeof have - w, "%s%s", i ? ", " : "", s);
    }
    return cpo_error_set(err, CPO_ECONFIG, NULL, 0, 0,
                         "%s: symbol \"%s\" is not in the market (expected one of: %s)", stage,
                         symbol, n ? have : "no instruments");
}

double cpo_builtin_close(const cpo_host *h, const cpo_view *v, size_t i)
{
    size_t len = 0;
    const double *c = h->series(v, CPO_F_CLOSE, i, &len);
    return c && len ? c[len - 1] : NAN;
}
