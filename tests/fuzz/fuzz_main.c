/*
 * fuzz_main.c - the libFuzzer entry of one target (FZ_TARGET, a name in
 * targets.c's table): one executable per reader, fuzz_<name>.
 */
#include <stdio.h>
#include <stdlib.h>

#include "targets.h"

#ifndef FZ_TARGET
#error "FZ_TARGET must name a target of targets.c"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const fz_target *t;
    if (!t && !(t = fz_find(FZ_TARGET))) {
        fprintf(stderr, "cpo fuzz: no target %s\n", FZ_TARGET);
        abort();
    }
    cpo_error err;
    t->fn(data, size, &err);
    return 0;
}
