/*
 * cpo/time.h - time is int64_t milliseconds since the Unix epoch, UTC.
 *
 * Never a double.  Durations are int64_t milliseconds too.  Text forms:
 * ISO 8601 dates and date-times ("2024-01-01", "2024-01-01T08:00:00Z",
 * "2024-01-01 08:00:00.001", "...+03:00"), and durations "90d", "8h",
 * "15m", "30s", "500ms", "2w".
 */
#ifndef CPO_TIME_H
#define CPO_TIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CPO_MS_SECOND INT64_C(1000)
#define CPO_MS_MINUTE INT64_C(60000)
#define CPO_MS_HOUR   INT64_C(3600000)
#define CPO_MS_DAY    INT64_C(86400000)
#define CPO_MS_WEEK   INT64_C(604800000)
/* The missing time value. */
#define CPO_TIME_NONE INT64_MIN

typedef struct cpo_civil {
    int year, month, day;         /* month 1..12, day 1..31 */
    int hour, minute, second, ms; /* 0..23, 0..59, 0..59 (60 refused), 0..999 */
} cpo_civil;

/* Days since 1970-01-01 of a proleptic Gregorian date (no range checks). */
int64_t cpo_days_from_civil(int y, int m, int d);

/* Milliseconds of a civil UTC time; CPO_ERANGE if a field is out of range. */
int cpo_time_from_civil(const cpo_civil *c, int64_t *out_ms);

/* The civil UTC time of t. */
void cpo_time_to_civil(int64_t t_ms, cpo_civil *out);

/*
 * A time zone as the importers declare it: UTC, a fixed offset, or a zone
 * of the system's tz database by its IANA name ("Europe/London",
 * "America/New_York", "Asia/Shanghai": the zoneinfo files, read by the C
 * library through TZ and localtime_r).  A named zone keeps its UTC offsets
 * from 1970 to 2100 as a table of transitions, filled once by
 * cpo_tz_parse, so conversions read no file and touch no global state.
 */
typedef enum cpo_tz_kind {
    CPO_TZ_FIXED = 0,
    CPO_TZ_ZONE = 1
} cpo_tz_kind;

#define CPO_TZ_NAME_MAX 64
#define CPO_TZ_MAX_TRANS 768 /* transitions 1970-2100 (Morocco's 4 a year fit) */

typedef struct cpo_tz {
    cpo_tz_kind kind;
    int64_t offset_ms;  /* FIXED: local = UTC + offset_ms; ZONE: the offset
                           before the first transition */
    char name[CPO_TZ_NAME_MAX]; /* ZONE: the IANA name */
    size_t n_trans;     /* ZONE: from trans_ms[k] on, local = UTC + trans_off_ms[k] */
    int64_t trans_ms[CPO_TZ_MAX_TRANS];
    int32_t trans_off_s[CPO_TZ_MAX_TRANS];
} cpo_tz;

/* Parse "UTC", "Z", "+03:00", "-0130", "UTC+3", or an IANA zone name of
 * the system's tz database ("Europe/London").  CPO_EPARSE for anything
 * else (a name that is not a zoneinfo file among them). */
int cpo_tz_parse(const char *s, cpo_tz *out);

/* Write the canonical name ("UTC", "+03:00", "Europe/London"). */
void cpo_tz_format(const cpo_tz *tz, char *buf, size_t n);

/* The zone's offset (local - UTC, ms) at the UTC instant utc_ms. */
int64_t cpo_tz_offset_at(const cpo_tz *tz, int64_t utc_ms);

/* Convert a naive local wall-clock time (ms as if it were UTC) to UTC.  A
 * local time that occurs twice (the hour repeated when the clocks go back)
 * maps to the earlier instant (summer time); one that does not occur (the
 * hour skipped when they go forward) is read with the offset in force
 * before the change (winter time). */
int64_t cpo_tz_to_utc(const cpo_tz *tz, int64_t local_ms);

/* Flags returned by cpo_time_parse. */
#define CPO_TIME_HAS_TIME   1 /* a time of day was present */
#define CPO_TIME_HAS_OFFSET 2 /* an explicit Z or +hh:mm was present */

/*
 * Parse an ISO 8601 date or date-time of n bytes: "YYYY-MM-DD", optionally
 * followed by 'T' or ' ' and "HH:MM[:SS[.fraction]]", optionally followed
 * by "Z" or "+HH:MM"/"-HH:MM"/"+HHMM".  A fraction is truncated to ms.
 * Without an explicit offset the time is taken as UTC (callers apply a
 * declared cpo_tz).  Also accepts "YYYYMMDD" (8 digits).  On success
 * returns 0, sets *out_ms and, if flags is not NULL, *flags.  Returns
 * CPO_EPARSE for anything else, with *bad_pos (if not NULL) set to the
 * 0-based byte offset of the first offending character.
 */
int cpo_time_parse(const char *s, size_t n, int64_t *out_ms, int *flags,
                   size_t *bad_pos);

/* "2024-01-01T08:00:00Z" (with ".123" when ms != 0); returns length. */
size_t cpo_time_format(int64_t t_ms, char *buf, size_t n);

/* "2024-01-01"; returns length. */
size_t cpo_time_format_date(int64_t t_ms, char *buf, size_t n);

/* Parse a duration: integer followed by ms, s, m, h, d or w ("90d").
 * Returns CPO_EPARSE if the text is not one, CPO_ERANGE if it overflows
 * or is not positive. */
int cpo_duration_parse(const char *s, int64_t *out_ms);

/* Write the shortest exact form ("8h", "1d", "90d", "1500ms"). */
size_t cpo_duration_format(int64_t ms, char *buf, size_t n);

/* In ascending ts[0..n): how many stamps are before t (the first index
 * with ts[i] >= t), and how many are at or before t. */
size_t cpo_ts_count_before(const int64_t *ts, size_t n, int64_t t);
size_t cpo_ts_count_upto(const int64_t *ts, size_t n, int64_t t);

#ifdef __cplusplus
}
#endif
#endif
