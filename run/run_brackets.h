/*
 * run_brackets.h - leverage-bracket tables read from a file (run/brackets.c).
 * Private to libcpo.
 */
#ifndef CPO_RUN_BRACKETS_H
#define CPO_RUN_BRACKETS_H

#include <stddef.h>

#include "cpo/error.h"
#include "cpo/margin.h"

/* Read every symbol's table from path (CSV, or a .json leverageBracket
 * response); *out (n tables) belongs to the caller (free).  Errors with
 * path, line and column: CPO_EIO, CPO_EPARSE, CPO_EFORMAT, CPO_EDATA. */
int cpo_brackets_read(const char *path, cpo_brackets **out, size_t *n, cpo_error *err);

#endif
