/* instrument.c - instrument defaults and enum names. */
#include "cpo/instrument.h"
#include "cpo/error.h"
#include "cpo/time.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void cpo_instrument_init(cpo_instrument *in, const char *symbol, cpo_kind kind,
                         cpo_settle settle)
{
    memset(in, 0, sizeof *in);
    snprintf(in->symbol, sizeof in->symbol, "%s", symbol ? symbol : "");
    in->kind = kind;
    in->settle = settle;
    in->contract_size = 1.0;
    in->strike = NAN;
    in->expiry_ms = CPO_TIME_NONE;
    in->right = CPO_RIGHT_NONE;
    in->funding_interval_ms = kind == CPO_KIND_PERP ? 8 * CPO_MS_HOUR : 0;
}

static const char *const kind_names[] = {"spot", "perp", "option", "future"};
static const char *const settle_names[] = {"linear", "inverse"};

const char *cpo_kind_name(cpo_kind k)
{
    return (unsigned)k < 4 ? kind_names[k] : "?";
}

int cpo_kind_parse(const char *s, cpo_kind *out)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, kind_names[i])) {
            *out = (cpo_kind)i;
            return 0;
        }
    if (!strcmp(s, "perpetual")) {
        *out = CPO_KIND_PERP;
        return 0;
    }
    return CPO_EINVAL;
}

const char *cpo_settle_name(cpo_settle s)
{
    return (unsigned)s < 2 ? settle_names[s] : "?";
}

int cpo_settle_parse(const char *s, cpo_settle *out)
{
    for (int i = 0; i < 2; i++)
        if (!strcmp(s, settle_names[i])) {
            *out = (cpo_settle)i;
            return 0;
        }
    return CPO_EINVAL;
}

const char *cpo_right_name(cpo_right r)
{
    return r == CPO_RIGHT_CALL ? "call" : r == CPO_RIGHT_PUT ? "put" : "";
}

int cpo_symbol_split(const char *symbol, const char *dflt_quote, char base[CPO_CCY_MAX],
                     char quote[CPO_CCY_MAX])
{
    static const char *const quotes[] = {"USDT", "USDC", "BUSD", "FDUSD", "USD"};
    char sym[CPO_SYMBOL_MAX];
    size_t k = 0;
    for (const char *p = symbol; *p && k + 1 < sizeof sym; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '-' || ch == '_' || ch == '/' || isspace(ch))
            continue;
        sym[k++] = (char)toupper(ch);
    }
    sym[k] = '\0';
    /* A contract suffix is not part of the pair. */
    static const char *const suffixes[] = {"PERPETUAL", "PERP", "SWAP"};
    for (size_t x = 0; x < sizeof suffixes / sizeof *suffixes; x++) {
        size_t m = strlen(suffixes[x]);
        if (k > m + 2 && !strcmp(sym + k - m, suffixes[x])) {
            k -= m;
            sym[k] = '\0';
            break;
        }
    }
    /* The longest known quote the name ends with, after a base. */
    const char *bq = NULL;
    for (size_t q = 0; q < sizeof quotes / sizeof *quotes; q++) {
        size_t m = strlen(quotes[q]);
        if (k > m && !strcmp(sym + k - m, quotes[q]) && (!bq || m > strlen(bq)))
            bq = quotes[q];
    }
    if (bq) {
        size_t n = k - strlen(bq);
        if (n > CPO_CCY_MAX - 1)
            n = CPO_CCY_MAX - 1;
        memcpy(base, sym, n);
        base[n] = '\0';
        snprintf(quote, CPO_CCY_MAX, "%s", bq);
        return 1;
    }
    size_t n = strcspn(symbol, "-_/");
    if (n > CPO_CCY_MAX - 1)
        n = CPO_CCY_MAX - 1;
    for (size_t i = 0; i < n; i++)
        base[i] = (char)toupper((unsigned char)symbol[i]);
    base[n] = '\0';
    snprintf(quote, CPO_CCY_MAX, "%s", dflt_quote ? dflt_quote : "");
    return 0;
}

/* 08:00 UTC on the last Friday of month m (1..12) of year y. */
static int64_t last_friday_0800(int y, int m)
{
    int64_t first_next = m == 12 ? cpo_days_from_civil(y + 1, 1, 1) : cpo_days_from_civil(y, m + 1, 1);
    int64_t last = first_next - 1;
    /* 1970-01-01 (day 0) was a Thursday: weekday 0 = Sunday .. 5 = Friday. */
    int64_t wd = ((last % 7) + 7 + 4) % 7;
    int64_t back = (wd - 5 + 7) % 7;
    return (last - back) * CPO_MS_DAY + 8 * CPO_MS_HOUR;
}

int64_t cpo_future_quarterly_after(int64_t t_ms)
{
    cpo_civil c;
    cpo_time_to_civil(t_ms, &c);
    int y = c.year, m = (c.month + 2) / 3 * 3; /* this quarter's last month */
    for (;;) {
        int64_t e = last_friday_0800(y, m);
        if (e > t_ms)
            return e;
        m += 3;
        if (m > 12) {
            m = 3;
            y++;
        }
    }
}
