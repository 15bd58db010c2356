#include <stdbool.h>
/* inifile.c - inih with line numbers: the reader callback counts lines. */
#include "inifile.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

typedef struct ini_state {
    FILE *f;
    const char *path;
    long line;       /* lines handed to inih so far */
    cpo_ini_fn fn;
    void *ctx;
    cpo_error *err;
    int rc;
} ini_state;

static char *reader(char *buf, int n, void *stream)
{
    ini_state *s = stream;
    char *r = fgets(buf, n, s->f);
    if (r) {
        size_t len = strlen(buf);
        s->line++;
        if (len > 0 && buf[len - 1] != '\n' && !feof(s->f)) {
            /* The buffer is full: fine if the line ends right here, else
             * inih would take the rest as a line of its own (and read
             * "a:b" in it as a key), so refuse it. */
            int c = getc(s->f);
            if (c != '\n' && c != EOF) {
                s->rc = cpo_error_set(s->err, CPO_ECONFIG, s->path, s->line, 0,
                                      "line longer than %d characters (expected shorter lines: "
                                      "continue a long value on the next line, indented)",
                                      n - 1);
                return NULL;
            }
        }
    }
    return r;
}

static int handler(void *user, const char *section, const char *name,
                   const char *value)
{
    ini_state *s = user;
    if (s->rc)
        return 0;
    if (!name)
        return 1; /* section start (INI_CALL_HANDLER_ON_NEW_SECTION) */
    int rc = s->fn(s->ctx, section, name, value ? value : "", s->line, s->err);
    if (rc) {
        s->rc = rc;
        return 0;
    }
    return 1;
}

/* Parse the open stream f (closed here); path names it in messages. */
static int parse_stream(FILE *f, const char *path, cpo_ini_fn fn, void *ctx, cpo_error *err)
{
    ini_state s = {0};
    s.f = f;
    s.path = path;
    s.fn = fn;
    s.ctx = ctx;
    s.err = err;
    int r = ini_parse_stream(reader, &s, handler, &s);
    fclose(s.f);
    if (s.rc)
        return s.rc;
    if (r > 0)
        return cpo_error_set(err, CPO_ECONFIG, path, r, 0,
                             "syntax error (expected [section] or key = value)");
    if (r < 0)
        return cpo_error_set(err, CPO_EIO, path, 0, 0, "cannot read the file");
    return 0;
}

int cpo_ini_parse(const char *path, cpo_ini_fn fn, void *ctx, cpo_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cpo_error_set(err, CPO_EIO, path, 0, 0,
                             "cannot open: %s (expected a readable INI file)",
                             strerror(errno));
    return parse_stream(f, path, fn, ctx, err);
}

int cpo_ini_parse_text(const char *path, const char *text, cpo_ini_fn fn, void *ctx,
                       cpo_error *err)
{
    /* fmemopen refuses a buffer of 0 bytes: an empty text is one empty line. */
    FILE *f = *text ? fmemopen((void *)text, strlen(text), "r") : fmemopen("\n", 1, "r");
    if (!f)
        return cpo_error_set(err, CPO_ENOMEM, path, 0, 0, "cannot read the text: %s",
                             strerror(errno));
    return parse_stream(f, path, fn, ctx, err);
}
