/*
 * hash.c - SHA-256 of a file's bytes or of a buffer, by libcrypto's EVP
 * interface (OpenSSL), read in 64 KiB blocks.  cpo_sha256_file is what the
 * manifests and the store's provenance record; the digest is the standard
 * one (FIPS 180-4), so `sha256sum FILE` prints the same hex.
 */
#include "cpo/hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static void to_hex(const unsigned char *md, unsigned n, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n && i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

int cpo_sha256_mem(const void *p, size_t n, char hex[65], cpo_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) || len != 32)
        return cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0, "SHA-256 failed (libcrypto)");
    to_hex(md, len, hex);
    return 0;
}

int cpo_sha256_file(const char *path, char hex[65], cpo_error *err)
{
    enum { BLOCK = 64 * 1024 };
    int rc = 0;
    unsigned char *buf = NULL;
    EVP_MD_CTX *ctx = NULL;
    FILE *f = fopen(path, "rb");

    if (!f)
        return cpo_error_set(err, CPO_EIO, path, 0, 0,
                             "cannot open: %s (expected a readable file)",
                             strerror(errno));
    buf = malloc(BLOCK);
    ctx = EVP_MD_CTX_new();
    if (!buf || !ctx) {
        rc = cpo_error_set(err, CPO_ENOMEM, path, 0, 0, "out of memory");
        goto cleanup;
    }
    if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        rc = cpo_error_set(err, CPO_ENUMERIC, path, 0, 0, "SHA-256 failed (libcrypto)");
        goto cleanup;
    }
    for (;;) {
        size_t got = fread(buf, 1, BLOCK, f);
        if (got && !EVP_DigestUpdate(ctx, buf, got)) {
            rc = cpo_error_set(err, CPO_ENUMERIC, path, 0, 0, "SHA-256 failed (libcrypto)");
            goto cleanup;
        }
        if (got < BLOCK)
            break;
    }
    if (ferror(f)) {
        rc = cpo_error_set(err, CPO_EIO, path, 0, 0, "read error: %s",
                           strerror(errno));
        goto cleanup;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!EVP_DigestFinal_ex(ctx, md, &len) || len != 32) {
        rc = cpo_error_set(err, CPO_ENUMERIC, path, 0, 0, "SHA-256 failed (libcrypto)");
        goto cleanup;
    }
    to_hex(md, len, hex);

cleanup:
    EVP_MD_CTX_free(ctx);
    free(buf);
    fclose(f);
    return rc;
}
