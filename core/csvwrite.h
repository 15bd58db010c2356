/*
 * csvwrite.h - the small writers every CSV file of a run uses: numbers that
 * read back to the same double, quoted text fields, and a file opened for
 * writing whose close reports a failed write.  Private to libcpo.
 */
#ifndef CPO_CSVWRITE_H
#define CPO_CSVWRITE_H

#include <stddef.h>
#include <stdio.h>

#include "cpo/error.h"

/* Text of a double for CSV: %.17g (reads back to the same double), "nan",
 * "inf", "-inf"; never "-0".  Cut to n - 1 bytes like snprintf; returns
 * the length written. */
size_t cpo_fmt_double(char *buf, size_t n, double x);

/* ",<number>" (cpo_fmt_double). */
void cpo_csv_num(FILE *fp, double x);

/* Quote a field that holds '#' as well (files whose comment lines start
 * with '#', so that no data line does). */
#define CPO_CSV_QUOTE_HASH 1

/* A CSV field, in double quotes (inner quotes doubled) when it holds a
 * comma, a quote or a line break, or '#' with CPO_CSV_QUOTE_HASH. */
void cpo_csv_text(FILE *fp, const char *s, int flags);

/* Writes rows [a, b) of a file into fp; rows [0, n) in pieces give the
 * same bytes as one call (a row's text depends on its row only). */
typedef void (*cpo_csv_rows_fn)(void *ctx, FILE *fp, size_t a, size_t b);

/* The rows of a large file in pieces of `piece` rows (CPO_CSV_PIECE_ROWS;
 * 0: that), formatted on the cores into memory, a round of one piece a
 * core at a time, and written into fp in row order: the bytes of
 * put(ctx, fp, 0, n).  One piece or one core: put(ctx, fp, 0, n) itself;
 * a piece that cannot be formatted in memory (no memory) is formatted
 * into fp in its place.  put must only read what it formats. */
#define CPO_CSV_PIECE_ROWS 16384
void cpo_csv_put_rows(FILE *fp, size_t n, size_t piece, cpo_csv_rows_fn put, void *ctx);

/* fopen(path, "wb"); NULL with CPO_EIO "cannot create: ..." in err. */
FILE *cpo_csv_create(const char *path, cpo_error *err);

/* fclose; CPO_EIO "cannot write: ..." (the path) if any write or the close
 * failed.  fp is closed whatever the outcome. */
int cpo_csv_close(FILE *fp, const char *path, cpo_error *err);

/* Create each of paths[0..n) (cpo_csv_create); on a failure the ones made
 * are closed and the error returned. */
int cpo_csv_create_all(FILE **fps, const char *const *paths, size_t n, cpo_error *err);

/* Close each of fps[0..n) (cpo_csv_close); returns rc if it is not 0, else
 * the first failure of a close. */
int cpo_csv_close_all(FILE **fps, const char *const *paths, size_t n, int rc, cpo_error *err);

#endif
