/*
 * example_plugin.c - an out-of-tree stage plugin (being written).
 */
#include "cpo/stage.h"
#include <stddef.h>

const cpo_stage_def *const *cpo_plugin_entry(uint32_t host_abi, size_t *n_stages);
const cpo_stage_def *const *cpo_plugin_entry(uint32_t host_abi, size_t *n_stages)
{
    (void)host_abi;
    *n_stages = 0;
    return NULL;
}
