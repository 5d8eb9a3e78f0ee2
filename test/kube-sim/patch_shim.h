/*
 * patch_shim — TEMPORARY stand-in for lib/patch.h (the diff engineer's
 * module) until it lands on main: same function names and contracts, simple
 * implementations (strategic merge = merge patch). Delete this file and
 * patch_shim.c after `git merge main` brings lib/patch.h.
 */
#ifndef KUBESIM_PATCH_SHIM_H
#define KUBESIM_PATCH_SHIM_H

#include <jansson.h>

int patch_apply_json_patch(json_t *doc, const json_t *ops);
int patch_apply_merge(json_t *doc, const json_t *patch);
int patch_apply_strategic(json_t *doc, const json_t *patch, const char *group, const char *kind);

#endif
