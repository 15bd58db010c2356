/*
 * cpo/error.h - one error type and one list of error codes.
 *
 * A fallible function returns 0 or a negative CPO_E* code and, when the
 * caller passes a non-NULL cpo_error, fills it with a message.  For input
 * problems the message carries the file, line and column:
 *
 *     btc.csv:1042:5: close "abc" is not a number (expected a decimal number)
 *
 * The message text says what is wrong and, in parentheses, what was
 * expected.  Lines and columns are 1-based; 0 means "not known".  In CSV
 * files the column is the 1-based field number.  There is no global error
 * state: every call gets its own cpo_error, so parallel runs are safe.
 */
#ifndef CPO_ERROR_H
#define CPO_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, text): the only list of error codes. */
#define CPO_ERROR_LIST(X)                                                   \
    X(OK,        0,   "no error")                                           \
    X(ENOMEM,   -1,   "out of memory")                                      \
    X(EIO,      -2,   "input/output error")                                 \
    X(EPARSE,   -3,   "parse error")                                        \
    X(EINVAL,   -4,   "invalid argument")                                   \
    X(ERANGE,   -5,   "value out of range")                                 \
    X(EFORMAT,  -6,   "unrecognised or unsupported format")                 \
    X(EDATA,    -7,   "bad data")                                           \
    X(EORDER,   -8,   "timestamps out of order")                            \
    X(EDUP,     -9,   "duplicate timestamp")                                \
    X(ENOTFOUND,-10,  "not found")                                          \
    X(ESTORE,   -11,  "store error")                                        \
    X(ECONFIG,  -12,  "config error")                                       \
    X(EPLUGIN,  -13,  "plugin error")                                       \
    X(ENUMERIC, -14,  "numeric error")                                      \
    X(EUSAGE,   -15,  "usage error")                                        \
    X(EEXIST,   -16,  "already exists")                                     \
    X(EINTR,    -17,  "interrupted")                                        \
    X(EBUSY,    -18,  "in use by another process")

enum cpo_error_code {
#define CPO_X_ENUM(name, value, text) CPO_##name = value,
    CPO_ERROR_LIST(CPO_X_ENUM)
#undef CPO_X_ENUM
    CPO_ERROR_CODE_MIN = -18
};

#define CPO_ERROR_PATH_MAX 512
#define CPO_ERROR_MSG_MAX 512

typedef struct cpo_error {
    int code;                       /* CPO_OK or a negative CPO_E* code */
    long line;                      /* 1-based; 0 if not known */
    long col;                       /* 1-based; 0 if not known */
    char path[CPO_ERROR_PATH_MAX];  /* "" if the error is not about a file */
    char msg[CPO_ERROR_MSG_MAX];    /* "what is wrong (what was expected)" */
} cpo_error;

/* The fixed text of a code ("bad data"); never NULL. */
const char *cpo_strerror(int code);

/* The name of a code ("EDATA"); never NULL. */
const char *cpo_error_name(int code);

/* Reset to CPO_OK with empty path and message.  NULL is a no-op. */
void cpo_error_clear(cpo_error *err);

/*
 * Fill err (if not NULL) and return code, so that callers can write
 * `return cpo_error_set(err, CPO_EDATA, path, line, col, "...", ...);`.
 * path may be NULL.  The message is truncated to fit.
 */
int cpo_error_set(cpo_error *err, int code, const char *path, long line,
                  long col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/*
 * Write "path:line:col: msg" into buf (always NUL-terminated when n > 0).
 * Parts that are not known are left out: "path:line: msg", "path: msg",
 * or "msg".  Returns the length that the full text would have.
 */
size_t cpo_error_format(const cpo_error *err, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
