/* check_instrument.c - instrument defaults, enum names, pair names. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpo/error.h"
#include "cpo/instrument.h"
#include "cpo/time.h"

static void split(const char *sym, const char *dflt, const char *base, const char *quote, int found)
{
    char b[CPO_CCY_MAX], q[CPO_CCY_MAX];
    ck_assert_int_eq(cpo_symbol_split(sym, dflt, b, q), found);
    ck_assert_str_eq(b, base);
    ck_assert_str_eq(q, quote);
}

START_TEST(test_symbol_split__exchange_names)
{
    /* Binance spot and USDT-M names, with and without separators and a
     * -PERP suffix; BitMEX XBTUSD; Deribit BTC-PERPETUAL (no quote in the
     * name: the caller's default). */
    split("BTCUSDT", "", "BTC", "USDT", 1);
    split("BTC-USDT", "", "BTC", "USDT", 1);
    split("btc_usdt", "", "BTC", "USDT", 1);
    split("ETH/USDC", "", "ETH", "USDC", 1);
    split("BTCUSDT-PERP", "", "BTC", "USDT", 1);
    split("XBTUSD", "", "XBT", "USD", 1);
    split("USDCUSDT", "", "USDC", "USDT", 1);
    split("1000PEPEUSDT", "", "1000PEPE", "USDT", 1);
    /* "BUSD" inside the name is not the quote: the name ends in USDT. */
    split("BNBUSDT", "", "BNB", "USDT", 1);
    split("SHIBUSDT", "", "SHIB", "USDT", 1);
    split("BTCBUSD", "", "BTC", "BUSD", 1);
    split("BTCFDUSD", "", "BTC", "FDUSD", 1);
    split("BTC-PERPETUAL", "USD", "BTC", "USD", 0);
    split("SYN000", "", "SYN000", "", 0);
}
END_TEST

START_TEST(test_instrument__defaults_and_names)
{
    cpo_instrument in;
    cpo_instrument_init(&in, "BTCUSDT-PERP", CPO_KIND_PERP, CPO_SETTLE_LINEAR);
    ck_assert_str_eq(in.symbol, "BTCUSDT-PERP");
    ck_assert_double_eq(in.contract_size, 1.0);
    ck_assert(isnan(in.strike));
    ck_assert_int_eq(in.expiry_ms, CPO_TIME_NONE);
    ck_assert_int_eq(in.funding_interval_ms, 8 * CPO_MS_HOUR);
    cpo_instrument_init(&in, "BTCUSDT", CPO_KIND_SPOT, CPO_SETTLE_LINEAR);
    ck_assert_int_eq(in.funding_interval_ms, 0);
    cpo_kind k;
    cpo_settle s;
    ck_assert_int_eq(cpo_kind_parse("perpetual", &k), 0);
    ck_assert_int_eq(k, CPO_KIND_PERP);
    ck_assert_int_eq(cpo_kind_parse("swap", &k), CPO_EINVAL);
    ck_assert_int_eq(cpo_settle_parse("inverse", &s), 0);
    ck_assert_int_eq(s, CPO_SETTLE_INVERSE);
    ck_assert_str_eq(cpo_kind_name(CPO_KIND_OPTION), "option");
    ck_assert_str_eq(cpo_settle_name(CPO_SETTLE_LINEAR), "linear");
    ck_assert_str_eq(cpo_right_name(CPO_RIGHT_PUT), "put");
}
END_TEST

static int64_t at(const char *iso)
{
    int64_t t;
    ck_assert_int_eq(cpo_time_parse(iso, strlen(iso), &t, NULL, NULL), 0);
    return t;
}

/* The quarterly expiries: 08:00 UTC on the last Friday of Mar/Jun/Sep/Dec.
 * Expected dates from the calendar (Binance's delivery dates of those
 * quarters: BTCUSDT_240329, _240628, _240927, _241227, _250328, _260327,
 * _260626, _270326). */
START_TEST(test_future_quarterly_after)
{
    static const struct {
        const char *t, *want;
    } cases[] = {
        {"2024-01-01T00:00:00Z", "2024-03-29T08:00:00Z"},
        {"2024-03-29T07:59:59.999Z", "2024-03-29T08:00:00Z"},
        {"2024-03-29T08:00:00Z", "2024-06-28T08:00:00Z"}, /* strictly after */
        {"2024-06-30T00:00:00Z", "2024-09-27T08:00:00Z"},
        {"2024-10-01T00:00:00Z", "2024-12-27T08:00:00Z"},
        {"2024-12-27T08:00:00Z", "2025-03-28T08:00:00Z"}, /* across the year */
        {"2026-01-02T09:18:09Z", "2026-03-27T08:00:00Z"},
        {"2026-03-28T00:00:00Z", "2026-06-26T08:00:00Z"},
        {"2026-12-25T08:00:00Z", "2027-03-26T08:00:00Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(cpo_future_quarterly_after(at(cases[i].t)) == at(cases[i].want), "after %s",
                      cases[i].t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("instrument");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_symbol_split__exchange_names);
    tcase_add_test(tc, test_instrument__defaults_and_names);
    tcase_add_test(tc, test_future_quarterly_after);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
