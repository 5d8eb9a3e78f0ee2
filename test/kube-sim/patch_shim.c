/* patch_shim — see patch_shim.h (temporary). */
#include "patch_shim.h"

#include <string.h>

#include "err.h"
#include "jsonx.h"

static void merge_into(json_t *doc, const json_t *patch)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)patch, k, v) {
		if (json_is_null(v)) {
			json_object_del(doc, k);
		} else if (json_is_object(v)) {
			json_t *cur = json_object_get(doc, k);
			if (!json_is_object(cur)) {
				cur = json_object();
				json_object_set_new(doc, k, cur);
			}
			merge_into(cur, v);
		} else {
			json_object_set_new(doc, k, json_deep_copy(v));
		}
	}
}

int patch_apply_merge(json_t *doc, const json_t *patch)
{
	if (!json_is_object(patch))
		return err_set(BERR_INVALID, "merge patch must be an object");
	merge_into(doc, patch);
	return 0;
}

int patch_apply_strategic(json_t *doc, const json_t *patch, const char *group, const char *kind)
{
	(void)group;
	(void)kind;
	return patch_apply_merge(doc, patch);
}

int patch_apply_json_patch(json_t *doc, const json_t *ops)
{
	if (!json_is_array(ops))
		return err_set(BERR_INVALID, "json patch must be an array");
	json_t *work = json_deep_copy(doc);
	size_t i;
	json_t *op;
	int rc = 0;
	json_array_foreach(ops, i, op) {
		const char *o = jx_str(op, "op"), *path = jx_str(op, "path");
		json_t *val = json_object_get(op, "value");
		if (!o || !path) {
			rc = err_set(BERR_INVALID, "op %zu: missing op or path", i);
			break;
		}
		if (strcmp(o, "add") == 0) {
			rc = jx_ptr_set(work, path, json_deep_copy(val), false);
		} else if (strcmp(o, "replace") == 0) {
			rc = jx_ptr_get(work, path) ? jx_ptr_set(work, path, json_deep_copy(val), false) : BERR_NOTFOUND;
		} else if (strcmp(o, "remove") == 0) {
			rc = jx_ptr_del(work, path);
		} else if (strcmp(o, "test") == 0) {
			rc = jx_equal(jx_ptr_get(work, path), val) ? 0 : BERR_INVALID;
		} else {
			rc = BERR_INVALID;
		}
		if (rc < 0) {
			rc = err_set(BERR_INVALID, "op %zu (%s %s): failed", i, o, path);
			break;
		}
	}
	if (rc == 0) {
		json_object_clear(doc);
		json_object_update(doc, work);
	}
	json_decref(work);
	return rc;
}
