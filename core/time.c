/* time.c - civil time, ISO 8601 parsing, time zones and durations. */
#define _DEFAULT_SOURCE
#include "cpo/time.h"
#include "cpo/error.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Howard Hinnant's days_from_civil (public-domain algorithm). */
int64_t cpo_days_from_civil(int y, int m, int d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

int cpo_time_from_civil(const cpo_civil *c, int64_t *out_ms)
{
    if (c->year < 1 || c->year > 9999 || c->month < 1 || c->month > 12 ||
        c->day < 1 || c->day > days_in_month(c->year, c->month) ||
        c->hour < 0 || c->hour > 23 || c->minute < 0 || c->minute > 59 ||
        c->second < 0 || c->second > 59 || c->ms < 0 || c->ms > 999)
        return CPO_ERANGE;
    int64_t days = cpo_days_from_civil(c->year, c->month, c->day);
    *out_ms = days * CPO_MS_DAY + c->hour * CPO_MS_HOUR +
              c->minute * CPO_MS_MINUTE + c->second * CPO_MS_SECOND + c->ms;
    return 0;
}

void cpo_time_to_civil(int64_t t, cpo_civil *out)
{
    int64_t days = t / CPO_MS_DAY;
    int64_t rem = t % CPO_MS_DAY;
    if (rem < 0) {
        rem += CPO_MS_DAY;
        days -= 1;
    }
    civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(rem / CPO_MS_HOUR);
    rem %= CPO_MS_HOUR;
    out->minute = (int)(rem / CPO_MS_MINUTE);
    rem %= CPO_MS_MINUTE;
    out->second = (int)(rem / CPO_MS_SECOND);
    out->ms = (int)(rem % CPO_MS_SECOND);
}

static int digits(const char *s, size_t n, size_t at, size_t k, int *out)
{
    int v = 0;
    if (at + k > n)
        return -1;
    for (size_t i = 0; i < k; i++) {
        if (s[at + i] < '0' || s[at + i] > '9')
            return -1;
        v = v * 10 + (s[at + i] - '0');
    }
    *out = v;
    return 0;
}

/* Parse an offset "Z", "+HH:MM", "+HHMM", "+HH" at s[i..n); sets *off_ms. */
static int parse_offset(const char *s, size_t n, size_t *i, int64_t *off_ms)
{
    if (*i < n && (s[*i] == 'Z' || s[*i] == 'z')) {
        (*i)++;
        *off_ms = 0;
        return 0;
    }
    if (*i >= n || (s[*i] != '+' && s[*i] != '-'))
        return -1;
    int sign = s[*i] == '-' ? -1 : 1;
    int hh, mm = 0;
    (*i)++;
    if (digits(s, n, *i, 2, &hh))
        return -1;
    *i += 2;
    if (*i < n && s[*i] == ':')
        (*i)++;
    if (*i < n && isdigit((unsigned char)s[*i])) {
        if (digits(s, n, *i, 2, &mm))
            return -1;
        *i += 2;
    }
    if (hh > 23 || mm > 59)
        return -1;
    *off_ms = sign * (hh * CPO_MS_HOUR + mm * CPO_MS_MINUTE);
    return 0;
}

int cpo_time_parse(const char *s, size_t n, int64_t *out_ms, int *flags,
                   size_t *bad_pos)
{
    cpo_civil c = {0};
    size_t i = 0;
    int fl = 0;
    int64_t off = 0;

    /* Trim surrounding blanks. */
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t start = i;
    if (n - start == 8) { /* YYYYMMDD */
        if (digits(s, n, i, 4, &c.year) || digits(s, n, i + 4, 2, &c.month) ||
            digits(s, n, i + 6, 2, &c.day))
            goto bad;
        i += 8;
        goto done;
    }
    if (digits(s, n, i, 4, &c.year))
        goto bad;
    i += 4;
    if (i >= n || s[i] != '-')
        goto bad;
    i++;
    if (digits(s, n, i, 2, &c.month))
        goto bad;
    i += 2;
    if (i >= n || s[i] != '-')
        goto bad;
    i++;
    if (digits(s, n, i, 2, &c.day))
        goto bad;
    i += 2;
    if (i == n)
        goto done;
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
        goto bad;
    i++;
    fl |= CPO_TIME_HAS_TIME;
    if (digits(s, n, i, 2, &c.hour))
        goto bad;
    i += 2;
    if (i >= n || s[i] != ':')
        goto bad;
    i++;
    if (digits(s, n, i, 2, &c.minute))
        goto bad;
    i += 2;
    if (i < n && s[i] == ':') {
        i++;
        if (digits(s, n, i, 2, &c.second))
            goto bad;
        i += 2;
        if (i < n && (s[i] == '.' || s[i] == ',')) {
            i++;
            int nd = 0, ms = 0;
            while (i < n && isdigit((unsigned char)s[i])) {
                if (nd < 3)
                    ms = ms * 10 + (s[i] - '0');
                nd++;
                i++;
            }
            if (nd == 0)
                goto bad;
            while (nd < 3) {
                ms *= 10;
                nd++;
            }
            c.ms = ms;
        }
    }
    if (i < n) {
        if (parse_offset(s, n, &i, &off))
            goto bad;
        fl |= CPO_TIME_HAS_OFFSET;
    }
    if (i != n)
        goto bad;
done:
    if (cpo_time_from_civil(&c, out_ms)) {
        i = start;
        goto bad;
    }
    *out_ms -= off;
    if (flags)
        *flags = fl;
    return 0;
bad:
    if (bad_pos)
        *bad_pos = i < n ? i : n;
    return CPO_EPARSE;
}

size_t cpo_time_format(int64_t t, char *buf, size_t n)
{
    cpo_civil c;
    int len;
    cpo_time_to_civil(t, &c);
    if (c.ms)
        len = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", c.year,
                       c.month, c.day, c.hour, c.minute, c.second, c.ms);
    else
        len = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year,
                       c.month, c.day, c.hour, c.minute, c.second);
    return len < 0 ? 0 : (size_t)len;
}

size_t cpo_time_format_date(int64_t t, char *buf, size_t n)
{
    cpo_civil c;
    cpo_time_to_civil(t, &c);
    int len = snprintf(buf, n, "%04d-%02d-%02d", c.year, c.month, c.day);
    return len < 0 ? 0 : (size_t)len;
}

/* --- named zones: the system's tz database -------------------------------- */

/* A zone name as the tz database spells them: letters, digits, '_', '-',
 * '+' and '/'-separated parts, none empty, "." or "..". */
static int zone_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= CPO_TZ_NAME_MAX || s[0] == '/' || s[n - 1] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && ch != '_' && ch != '-' && ch != '+' && ch != '/')
            return 0;
        if (ch == '/' && s[i + 1] == '/')
            return 0;
    }
    return 1;
}

/* Whether the tz database has a zone file of that name ("TZif" magic). */
static int zone_file_ok(const char *name)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char magic[4];
    int ok = fread(magic, 1, 4, f) == 4 && !memcmp(magic, "TZif", 4);
    fclose(f);
    return ok;
}

/*
 * TZ is the one process-wide setting the C library reads zones through:
 * it is set, read and put back under this lock, once per cpo_tz_parse.
 */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

static int gmtoff_at(time_t t, long *off)
{
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return -1;
    *off = tm.tm_gmtoff;
    return 0;
}

/* The offsets of the zone (TZ already set) from 1970 to 2100: a scan in
 * steps of 4 days (changes of the tz database are weeks apart), each
 * change narrowed to its second by bisection. */
static int scan_zone(cpo_tz *out)
{
    const time_t t0 = 0, t1 = (time_t)4102444800; /* 2100-01-01 */
    const time_t day = 4 * 86400;
    long prev;
    if (gmtoff_at(t0, &prev))
        return CPO_EPARSE;
    out->offset_ms = (int64_t)prev * 1000;
    out->n_trans = 0;
    for (time_t a = t0; a < t1; a += day) {
        long next;
        if (gmtoff_at(a + day, &next))
            return CPO_EPARSE;
        if (next == prev)
            continue;
        /* The first second in (a, a + day] with the new offset. */
        time_t lo = a, hi = a + day;
        while (hi - lo > 1) {
            time_t mid = lo + (hi - lo) / 2;
            long o;
            if (gmtoff_at(mid, &o))
                return CPO_EPARSE;
            if (o == prev)
                lo = mid;
            else
                hi = mid;
        }
        if (out->n_trans == CPO_TZ_MAX_TRANS)
            return CPO_ERANGE;
        out->trans_ms[out->n_trans] = (int64_t)hi * 1000;
        out->trans_off_s[out->n_trans] = (int32_t)next;
        out->n_trans++;
        prev = next;
    }
    return 0;
}

static int load_zone(const char *name, cpo_tz *out)
{
    if (!zone_name_ok(name) || !zone_file_ok(name))
        return CPO_EPARSE;
    char tzval[CPO_TZ_NAME_MAX + 2];
    snprintf(tzval, sizeof tzval, ":%s", name);
    pthread_mutex_lock(&tz_lock);
    const char *old = getenv("TZ");
    char saved[256];
    int had = old != NULL && strlen(old) < sizeof saved;
    if (had)
        snprintf(saved, sizeof saved, "%s", old);
    int rc = setenv("TZ", tzval, 1) == 0 ? 0 : CPO_ENOMEM;
    if (!rc) {
        tzset();
        rc = scan_zone(out);
    }
    if (had)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    pthread_mutex_unlock(&tz_lock);
    if (rc)
        return rc == CPO_ENOMEM ? rc : CPO_EPARSE;
    out->kind = CPO_TZ_ZONE;
    snprintf(out->name, sizeof out->name, "%s", name);
    return 0;
}

int cpo_tz_parse(const char *s, cpo_tz *out)
{
    size_t n = strlen(s), i = 0;
    int64_t off = 0;
    out->kind = CPO_TZ_FIXED;
    out->offset_ms = 0;
    out->name[0] = '\0';
    out->n_trans = 0;
    if (!strcmp(s, "UTC") || !strcmp(s, "Z") || !strcmp(s, "GMT"))
        return 0;
    if (n > 3 && !strncmp(s, "UTC", 3))
        i = 3;
    if (i < n && (s[i] == '+' || s[i] == '-') && n - i == 2) {
        /* "+3" */
        if (!isdigit((unsigned char)s[i + 1]))
            return CPO_EPARSE;
        off = (s[i + 1] - '0') * CPO_MS_HOUR;
        out->offset_ms = s[i] == '-' ? -off : off;
        return 0;
    }
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        if (parse_offset(s, n, &i, &off) || i != n)
            return CPO_EPARSE;
        out->offset_ms = off;
        return 0;
    }
    return load_zone(s, out);
}

void cpo_tz_format(const cpo_tz *tz, char *buf, size_t n)
{
    if (tz->kind == CPO_TZ_ZONE) {
        snprintf(buf, n, "%s", tz->name);
        return;
    }
    if (tz->offset_ms == 0) {
        snprintf(buf, n, "UTC");
        return;
    }
    int64_t a = tz->offset_ms < 0 ? -tz->offset_ms : tz->offset_ms;
    snprintf(buf, n, "%c%02d:%02d", tz->offset_ms < 0 ? '-' : '+',
             (int)(a / CPO_MS_HOUR), (int)(a % CPO_MS_HOUR / CPO_MS_MINUTE));
}

int64_t cpo_tz_offset_at(const cpo_tz *tz, int64_t utc)
{
    if (tz->kind == CPO_TZ_FIXED || tz->n_trans == 0 || utc < tz->trans_ms[0])
        return tz->offset_ms;
    /* The last transition at or before utc. */
    size_t lo = 0, hi = tz->n_trans;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans_ms[mid] <= utc)
            lo = mid;
        else
            hi = mid;
    }
    return (int64_t)tz->trans_off_s[lo] * 1000;
}

int64_t cpo_tz_to_utc(const cpo_tz *tz, int64_t local)
{
    if (tz->kind == CPO_TZ_FIXED)
        return local - tz->offset_ms;
    /* The offsets in force a day either side (offsets are under a day and
     * changes are days apart): each gives a candidate instant, valid if
     * that offset is the one in force then. */
    int64_t before = cpo_tz_offset_at(tz, local - CPO_MS_DAY);
    int64_t after = cpo_tz_offset_at(tz, local + CPO_MS_DAY);
    int64_t u1 = local - before, u2 = local - after;
    int ok1 = cpo_tz_offset_at(tz, u1) == before, ok2 = cpo_tz_offset_at(tz, u2) == after;
    if (ok1 && ok2)
        return u1 < u2 ? u1 : u2; /* repeated: the earlier instant */
    if (ok2)
        return u2;
    return u1; /* valid, or skipped: the offset before the change */
}

int cpo_duration_parse(const char *s, int64_t *out_ms)
{
    const char *p = s;
    int64_t v = 0;
    if (!isdigit((unsigned char)*p))
        return CPO_EPARSE;
    while (isdigit((unsigned char)*p)) {
        if (v > INT64_MAX / 10 - 10)
            return CPO_ERANGE;
        v = v * 10 + (*p - '0');
        p++;
    }
    int64_t unit;
    if (!strcmp(p, "ms"))
        unit = 1;
    else if (!strcmp(p, "s"))
        unit = CPO_MS_SECOND;
    else if (!strcmp(p, "m"))
        unit = CPO_MS_MINUTE;
    else if (!strcmp(p, "h"))
        unit = CPO_MS_HOUR;
    else if (!strcmp(p, "d"))
        unit = CPO_MS_DAY;
    else if (!strcmp(p, "w"))
        unit = CPO_MS_WEEK;
    else
        return CPO_EPARSE;
    if (v <= 0)
        return CPO_ERANGE;
    if (v > INT64_MAX / unit)
        return CPO_ERANGE;
    *out_ms = v * unit;
    return 0;
}

size_t cpo_duration_format(int64_t ms, char *buf, size_t n)
{
    static const struct { int64_t u; const char *s; } units[] = {
        {CPO_MS_WEEK, "w"}, {CPO_MS_DAY, "d"}, {CPO_MS_HOUR, "h"},
        {CPO_MS_MINUTE, "m"}, {CPO_MS_SECOND, "s"}, {1, "ms"}};
    int len = 0;
    if (ms <= 0) {
        len = snprintf(buf, n, "%lldms", (long long)ms);
        return len < 0 ? 0 : (size_t)len;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        /* Prefer days over weeks unless a whole number of weeks. */
        if (ms % units[i].u == 0) {
            len = snprintf(buf, n, "%lld%s", (long long)(ms / units[i].u), units[i].s);
            break;
        }
    }
    return len < 0 ? 0 : (size_t)len;
}

size_t cpo_ts_count_before(const int64_t *ts, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ts[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t cpo_ts_count_upto(const int64_t *ts, size_t n, int64_t t)
{
    return t == INT64_MAX ? n : cpo_ts_count_before(ts, n, t + 1);
}
