/*
 * cpo/hash.h - SHA-256 digests (libcrypto), as the run manifests and the
 * store's provenance record them: 64 lowercase hex digits, the same text
 * `sha256sum` prints.
 */
#ifndef CPO_HASH_H
#define CPO_HASH_H

#include <stddef.h>

#include "cpo/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hex SHA-256 of a file's bytes into hex[65].  CPO_EIO (the path) if it
 * cannot be opened or read. */
int cpo_sha256_file(const char *path, char hex[65], cpo_error *err);

/* Hex SHA-256 of n bytes at p into hex[65]. */
int cpo_sha256_mem(const void *p, size_t n, char hex[65], cpo_error *err);

#ifdef __cplusplus
}
#endif
#endif
