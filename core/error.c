/* error.c - the error type: codes, texts and formatting. */
#include "cpo/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *cpo_strerror(int code)
{
    switch (code) {
#define CPO_X_TEXT(name, value, text) case value: return text;
        CPO_ERROR_LIST(CPO_X_TEXT)
#undef CPO_X_TEXT
    default: return "unknown error";
    }
}

const char *cpo_error_name(int code)
{
    switch (code) {
#define CPO_X_NAME(name, value, text) case value: return #name;
        CPO_ERROR_LIST(CPO_X_NAME)
#undef CPO_X_NAME
    default: return "EUNKNOWN";
    }
}

void cpo_error_clear(cpo_error *err)
{
    if (!err)
        return;
    err->code = CPO_OK;
    err->line = 0;
    err->col = 0;
    err->path[0] = '\0';
    err->msg[0] = '\0';
}

int cpo_error_set(cpo_error *err, int code, const char *path, long line,
                  long col, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->line = line;
    err->col = col;
    if (path)
        snprintf(err->path, sizeof err->path, "%s", path);
    else
        err->path[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    } else {
        snprintf(err->msg, sizeof err->msg, "%s", cpo_strerror(code));
    }
    return code;
}

size_t cpo_error_format(const cpo_error *err, char *buf, size_t n)
{
    int len;
    if (!err)
        return (size_t)snprintf(buf, n, "%s", "no error");
    const char *msg = err->msg[0] ? err->msg : cpo_strerror(err->code);
    if (err->path[0] && err->line > 0 && err->col > 0)
        len = snprintf(buf, n, "%s:%ld:%ld: %s", err->path, err->line, err->col, msg);
    else if (err->path[0] && err->line > 0)
        len = snprintf(buf, n, "%s:%ld: %s", err->path, err->line, msg);
    else if (err->path[0])
        len = snprintf(buf, n, "%s: %s", err->path, msg);
    else
        len = snprintf(buf, n, "%s", msg);
    return len < 0 ? 0 : (size_t)len;
}
