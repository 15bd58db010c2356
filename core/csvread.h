/*
 * csvread.h - reading CSV with libcsv, with line numbers, header lookup by
 * name and fast number parsing.  Private to libcpo.
 */
#ifndef CPO_CSVREAD_H
#define CPO_CSVREAD_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/error.h"

/* One record.  Fields are unquoted and NUL-terminated; they live until the
 * callback returns. */
typedef struct cpo_csv_row {
    long line;                /* 1-based physical line the record ends on */
    size_t n;                 /* number of fields */
    const char *const *f;     /* [n] field texts */
    const size_t *len;        /* [n] field lengths */
} cpo_csv_row;

/* Called for every record, the header included (the first record).  Return
 * 0 to go on; anything else stops the read and is returned by
 * cpo_csv_read. */
typedef int (*cpo_csv_fn)(void *ctx, const cpo_csv_row *row);

/*
 * Read a CSV file (',' separated, RFC 4180 quoting, CRLF or LF, a UTF-8
 * byte-order mark skipped, blank lines skipped).  Errors: CPO_EIO if the
 * file cannot be read, CPO_EPARSE for a malformed file (unterminated
 * quote, NUL byte) with path and line.
 */
int cpo_csv_read(const char *path, cpo_csv_fn fn, void *ctx, cpo_error *err);

/* Same over a memory buffer; path is used in messages only. */
int cpo_csv_read_mem(const char *path, const char *buf, size_t n, cpo_csv_fn fn,
                     void *ctx, cpo_error *err);

/* --- one file on several threads ---------------------------------------- */

/*
 * What cpo_csv_read_pieces calls, in this order:
 *   first(ctx, row)   the first record, on the calling thread;
 *   open(ctx, k, perr, &piece)   piece k's context (k = 0 right after the
 *                     first record, the others before they are parsed), on
 *                     the calling thread; piece k's rows report their
 *                     errors into perr (piece 0's: cpo_csv_read_pieces's
 *                     err); 0 or an error (into perr);
 *   row(piece, row)   each later record, on the thread parsing its piece:
 *                     pieces run at once, so a piece's context must be its
 *                     own (what they share, they only read);
 *   join(ctx, piece, k, use)   once for each piece opened, in file order,
 *                     on the calling thread after all are parsed: use is 1
 *                     for the pieces a serial read would have reached (each
 *                     up to the first that failed, that one included: its
 *                     rows before the error), 0 for the rest (free them);
 *                     0 or an error of its own (into ctx's err).
 */
typedef struct cpo_csv_pieces {
    void *ctx;
    cpo_csv_fn first;
    int (*open)(void *ctx, size_t k, cpo_error *perr, void **piece);
    cpo_csv_fn row;
    int (*join)(void *ctx, void *piece, size_t k, int use);
    size_t min_bytes;  /* smaller files are one piece (0: CPO_CSV_SPLIT_MIN) */
    size_t max_pieces; /* 0: one a core online (at most CPO_CORES_MAX); 1: serial */
} cpo_csv_pieces;

#define CPO_CSV_SPLIT_MIN ((size_t)4 << 20)

/*
 * Read a CSV file as cpo_csv_read does, its records after the first cut
 * into pieces parsed on the cores, each by its own libcsv parser: the
 * rows, their line numbers and the errors are those of a serial read, the
 * first error (in file order) the one returned.  In a file of at least
 * min_bytes the text after the line where its first record ends is cut
 * at line ends into up to max_pieces pieces of about equal size, each
 * read in blocks (pread) by its own thread: a first pass counts each
 * piece's lines and looks for a quote char, and when the file holds none
 * (a quoted field may hold a line end: with none, every line end ends a
 * record, or a blank line, and a parser starts a line as a new one would)
 * a second pass parses them.  Otherwise, and for smaller files, there is
 * one piece, read as cpo_csv_read reads.  Memory: a block a piece, not
 * the file.
 * (A read error of a whole file is reported without a line.)
 */
int cpo_csv_read_pieces(const char *path, const cpo_csv_pieces *pc, cpo_error *err);

/* Index of the header field named `name` (ASCII case-insensitive, blanks
 * around it ignored), or -1.  If the name appears more than once, the
 * first. */
int cpo_csv_find(const cpo_csv_row *hdr, const char *name);

/*
 * Look up each of names[0..n) in the header; idx[k] gets its index or -1.
 * A name may list alternatives separated by '|' ("timestamp|open_time").
 * Names with required[k] != 0 that are absent give
 *   path:line: missing column "close" (expected columns: a,b,c)
 * and CPO_EFORMAT.
 */
int cpo_csv_map(const cpo_csv_row *hdr, const char *path, const char *const *names,
                const int *required, size_t n, int *idx, cpo_error *err);

/* Parse a decimal number (optional sign, digits, '.', exponent; "nan",
 * "inf" refused) of exactly n bytes, blanks around it allowed.  Exact:
 * the result is the correctly rounded double.  0 or CPO_EPARSE. */
int cpo_parse_f64(const char *s, size_t n, double *out);

/* Parse a decimal integer (optional sign) of n bytes; CPO_EPARSE or
 * CPO_ERANGE. */
int cpo_parse_i64(const char *s, size_t n, int64_t *out);

/* 1 if the field is empty or only blanks. */
int cpo_field_blank(const char *s, size_t n);

#endif
