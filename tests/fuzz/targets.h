/*
 * targets.h - the fuzz targets: one per reader of outside input.
 *
 * Each target takes the bytes of one input, hands them to the public
 * reader (through a file in a private temporary folder when the reader
 * only takes a path), frees everything and returns what the reader
 * returned: 0, or a negative CPO_E* code with a message in *err.
 *
 * The same functions back the libFuzzer harnesses (fuzz_main.c, one
 * executable per target, built with CPO_FUZZ=ON by scripts/fuzz.sh) and
 * the Check suite tests/check_fuzz_regress.c, which feeds them every file
 * kept in tests/fuzz/regress/TARGET/.
 *
 * A target aborts (a crash for libFuzzer, a failed test for Check) when a
 * reader breaks its contract without a memory error: a positive return,
 * or a negative one with an empty message.
 */
#ifndef CPO_FUZZ_TARGETS_H
#define CPO_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "cpo/error.h"

typedef int (*fz_fn)(const uint8_t *data, size_t size, cpo_error *err);

typedef struct fz_target {
    const char *name; /* "klines": tests/fuzz/regress/klines/, fuzz_klines */
    fz_fn fn;
    const char *what; /* the reader it drives */
} fz_target;

extern const fz_target fz_targets[];
extern const size_t fz_n_targets;

/* The target of this name, or NULL. */
const fz_target *fz_find(const char *name);

#endif
