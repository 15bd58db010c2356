/* csvwrite.c - numbers, text fields and whole files of CSV output. */
#include "csvwrite.h"

#include <errno.h>
#include <math.h>
#include <string.h>

void cpo_fmt_double(char *buf, size_t n, double x)
{
    if (isnan(x))
        snprintf(buf, n, "nan");
    else if (isinf(x))
        snprintf(buf, n, x > 0 ? "inf" : "-inf");
    else
        snprintf(buf, n, "%.17g", x == 0.0 ? 0.0 : x); /* no "-0" */
}

void cpo_csv_num(FILE *fp, double x)
{
    char b[40];
    cpo_fmt_double(b, sizeof b, x);
    fputc(',', fp);
    fputs(b, fp);
}

void cpo_csv_text(FILE *fp, const char *s, int flags)
{
    if (!strpbrk(s, (flags & CPO_CSV_QUOTE_HASH) ? ",\"\n\r#" : ",\"\n\r")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

FILE *cpo_csv_create(const char *path, cpo_error *err)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        cpo_error_set(err, CPO_EIO, path, 0, 0, "cannot create: %s (expected a writable folder)",
                      strerror(errno));
    return fp;
}

int cpo_csv_close(FILE *fp, const char *path, cpo_error *err)
{
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad)
        return cpo_error_set(err, CPO_EIO, path, 0, 0, "cannot write: %s",
                             strerror(errno ? errno : EIO));
    return 0;
}

int cpo_csv_create_all(FILE **fps, const char *const *paths, size_t n, cpo_error *err)
{
    for (size_t k = 0; k < n; k++)
        if (!(fps[k] = cpo_csv_create(paths[k], err))) {
            while (k--)
                fclose(fps[k]);
            return err ? err->code : CPO_EIO;
        }
    return 0;
}

int cpo_csv_close_all(FILE **fps, const char *const *paths, size_t n, int rc, cpo_error *err)
{
    for (size_t k = 0; k < n; k++) {
        if (rc)
            fclose(fps[k]);
        else
            rc = cpo_csv_close(fps[k], paths[k], err);
    }
    return rc;
}
