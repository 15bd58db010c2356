/*
 * inifile.h - INI files through inih, with line numbers for every key.
 * Private to libcpo (the engine's config and the import manifests).
 */
#ifndef CPO_INIFILE_H
#define CPO_INIFILE_H

#include "cpo/error.h"

/* Called for every key.  Return 0 to go on, or a negative CPO_E* code
 * (with err filled) to stop. */
typedef int (*cpo_ini_fn)(void *ctx, const char *section, const char *key,
                          const char *value, long line, cpo_error *err);

/* Parse path.  Syntax errors give "path:line: syntax error (expected
 * [section] or key = value)"; a missing file CPO_EIO. */
int cpo_ini_parse(const char *path, cpo_ini_fn fn, void *ctx, cpo_error *err);

/* The same over the text of a file (NUL-terminated); path names it in
 * messages and is not read. */
int cpo_ini_parse_text(const char *path, const char *text, cpo_ini_fn fn, void *ctx,
                       cpo_error *err);

#endif
