/*
 * patch — applying and creating the three kinds of patch the Kubernetes API
 * speaks (KUBE-API.md §5.3, §5.4):
 *
 *   JSON patch (RFC 6902)        a list of add/remove/replace/move/copy/test
 *                                operations on JSON pointers;
 *   JSON merge patch (RFC 7386)  maps merge, null deletes, lists replaced;
 *   strategic merge patch (SMP)  merge patch plus list merging by merge key
 *                                (lib/mergekeys.h) and the directives
 *                                $patch (replace|delete|merge),
 *                                $setElementOrder/<field>,
 *                                $deleteFromPrimitiveList/<field> and
 *                                $retainKeys. Unknown directives are ignored.
 *
 * and creating them the way kubectl apply does: a two-way merge patch, and
 * the three-way patch (last-applied, desired, live) that adds and changes
 * what desired says relative to live and deletes only what last-applied had
 * and desired dropped, so fields set by others in the cluster survive.
 *
 * The apply functions patch doc in place. doc must be a JSON object (a
 * Kubernetes object); a patch that would replace the root with a non-object
 * fails with BERR_INVALID. On failure doc is unchanged: the public apply
 * functions work on a copy and move the result into doc on success. Callers
 * that own a scratch object and do not need that guarantee (the diff engine)
 * use the *_nocopy variants, which leave doc partially patched on failure.
 *
 * All functions are pure (no I/O, no globals) and reentrant. Nesting is
 * bounded by PATCH_MAX_DEPTH and merged lists by PATCH_MAX_MERGE_ITEMS
 * (BERR_TOOLARGE beyond), so hostile input cannot make them quadratic. Errors set err_msg();
 * JSON patch errors name the operation index and path.
 */
#ifndef BERTH_PATCH_H
#define BERTH_PATCH_H

#include <jansson.h>

#define PATCH_MAX_DEPTH 100
/* Longest list merged item by item (keyed and set lists); longer ones are
 * BERR_TOOLARGE. Atomic lists have no bound here. */
#define PATCH_MAX_MERGE_ITEMS 10000

/* Applies an RFC 6902 operation array to doc. Every failure (malformed op,
 * missing path, failed "test") is BERR_INVALID with "op N (<op> <path>): ...";
 * doc unchanged on failure. */
int patch_apply_json_patch(json_t *doc, const json_t *ops);

/* Applies an RFC 7386 merge patch to doc. patch must be an object (a
 * non-object patch would replace the root: BERR_INVALID). doc unchanged on
 * failure. */
int patch_apply_merge(json_t *doc, const json_t *patch);

/* Applies a strategic merge patch to an object of (group, kind) (group ""
 * for core). Kinds unknown to lib/mergekeys.h get merge-patch list
 * semantics but directives still apply. Errors: BERR_INVALID (a list item
 * without its merge key, a malformed directive), BERR_TOOLARGE (nesting).
 * doc unchanged on failure. */
int patch_apply_strategic(json_t *doc, const json_t *patch, const char *group, const char *kind);

/* The same without the copy: doc may be half-patched on failure. */
int patch_apply_merge_nocopy(json_t *doc, const json_t *patch);
int patch_apply_strategic_nocopy(json_t *doc, const json_t *patch, const char *group,
				 const char *kind);

/* Creates the RFC 7386 merge patch that turns original into modified (both
 * objects). *ret_patch is a new reference (an empty object when they are
 * equal); untouched on failure. */
int patch_create_merge(const json_t *original, const json_t *modified, json_t **ret_patch);

/* Creates kubectl apply's three-way patch.
 *   original  the last-applied configuration (NULL or an empty object when
 *             there is none: then nothing is deleted);
 *   modified  the desired object;
 *   current   the live object.
 * For built-in kinds (mk_is_builtin) the result is a strategic merge patch
 * as kubectl sends it: changes and additions of modified relative to
 * current, plus deletions of what original had and modified dropped (null
 * for map keys, {"<key>":v,"$patch":"delete"} for keyed list items,
 * $deleteFromPrimitiveList for set lists), with $setElementOrder for changed
 * merged lists and $retainKeys for union structs. For custom resources it is
 * a JSON merge patch (lists whole). Property: applying the result to current
 * with patch_apply_strategic / patch_apply_merge gives the object the API
 * server would store. *ret_patch is a new reference (an empty object when
 * there is nothing to do); untouched on failure. BERR_INVALID for non-object
 * inputs or list items missing their merge key. */
int patch_create_three_way(const json_t *original, const json_t *modified, const json_t *current,
			   const char *group, const char *kind, json_t **ret_patch);

#endif
