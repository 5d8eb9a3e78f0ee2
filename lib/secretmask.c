/* Argo CD-compatible Secret masking; see secretmask.h. */
#include <string.h>

#include "b64.h"
#include "diff.h"
#include "err.h"
#include "jsonx.h"
#include "secretmask.h"

#define MASK_MAX 4096

bool secretmask_is_secret(const json_t *obj)
{
	return json_is_object(obj) && !strcmp(jx_str(obj, "apiVersion") ? jx_str(obj, "apiVersion") : "", "v1") &&
	       !strcmp(jx_str(obj, "kind") ? jx_str(obj, "kind") : "", "Secret");
}

/* Moves stringData into data as base64 (stringData wins, as on the server). */
static int fold_string_data(json_t *obj)
{
	json_t *sd = json_object_get(obj, "stringData"), *v;
	const char *k;
	if (!json_is_object(sd))
		return 0;
	json_t *data = json_object_get(obj, "data");
	if (!json_is_object(data)) {
		data = json_object();
		if (!data || json_object_set_new(obj, "data", data) < 0)
			return err_set(BERR_NOMEM, "out of memory");
	}
	json_object_foreach(sd, k, v) {
		if (!json_is_string(v))
			return err_set(BERR_INVALID, "secret stringData.%s is not a string", k);
		char *enc = b64_encode(json_string_value(v), json_string_length(v), false);
		if (!enc || json_object_set_new(data, k, json_string(enc)) < 0) {
			free(enc);
			return err_set(BERR_NOMEM, "out of memory");
		}
		free(enc);
	}
	json_object_del(obj, "stringData");
	return 0;
}

/* The object's last-applied annotation parsed (new reference), or NULL. */
static json_t *last_applied(json_t *obj)
{
	const char *text = jx_path_str(obj, "metadata", "annotations", DIFF_LAST_APPLIED, NULL);
	json_t *v = NULL;
	if (!text)
		return NULL;
	if (jx_parse(text, strlen(text), (size_t)16 << 20, JX_MAX_DEPTH, &v) < 0 || !json_is_object(v)) {
		err_clear();
		json_decref(v);
		json_object_del(jx_path(obj, "metadata", "annotations", NULL), DIFF_LAST_APPLIED);
		return NULL;
	}
	return v;
}

/* Replaces the values of each key across the data maps, in map order:
 * the first distinct value gets 8 '+', the next 12, and so on. */
static int mask_maps(json_t **maps, size_t n)
{
	json_t *keys = json_object(), *v;
	const char *k;
	int rc = 0;

	if (!keys)
		return err_set(BERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		json_object_foreach(maps[i], k, v)
			json_object_set(keys, k, json_null());
	json_object_foreach(keys, k, v) {
		json_t *seen = json_array(); /* distinct values of k, in order */
		if (!seen) {
			rc = err_set(BERR_NOMEM, "out of memory");
			break;
		}
		for (size_t j = 0; j < n; j++) {
			json_t *w = json_object_get(maps[j], k);
			if (!w)
				continue;
			size_t idx = 0, m = json_array_size(seen);
			while (idx < m && !json_equal(json_array_get(seen, idx), w))
				idx++;
			if (idx == m)
				json_array_append(seen, w);
			size_t len = 8 + 4 * idx;
			if (len > MASK_MAX)
				len = MASK_MAX;
			char mask[MASK_MAX + 1];
			memset(mask, '+', len);
			mask[len] = '\0';
			json_object_set_new(maps[j], k, json_string(mask));
		}
		json_decref(seen);
	}
	json_decref(keys);
	return rc;
}

int secretmask_apply(json_t **objs, size_t n)
{
	json_t *maps[64], *las[32];
	size_t nm = 0, nl = 0;
	int rc = 0;

	if (n > 32)
		return err_set(BERR_INVALID, "secretmask: at most 32 objects");
	/* objects first, then their annotations: the same order for every call */
	for (size_t pass = 0; pass < 2 && rc == 0; pass++) {
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (!secretmask_is_secret(objs[i]))
				continue;
			json_t *o = objs[i];
			if (pass == 1) {
				if (!(o = last_applied(objs[i])))
					continue;
				las[nl++] = o;
			}
			if ((rc = fold_string_data(o)) < 0)
				break;
			json_t *d = json_object_get(o, "data");
			if (json_is_object(d))
				maps[nm++] = d;
		}
	}
	if (rc == 0)
		rc = mask_maps(maps, nm);
	/* write the masked annotations back */
	size_t li = 0;
	for (size_t i = 0; i < n && rc == 0 && li < nl; i++) {
		if (!secretmask_is_secret(objs[i]) || !jx_path_str(objs[i], "metadata", "annotations",
								      DIFF_LAST_APPLIED, NULL))
			continue;
		struct buf b;
		buf_init(&b, (size_t)16 << 20);
		if ((rc = jx_dump_compact(las[li++], &b)) == 0)
			json_object_set_new(jx_path(objs[i], "metadata", "annotations", NULL), DIFF_LAST_APPLIED,
					    json_stringn(b.ptr ? b.ptr : "", b.len));
		buf_release(&b);
	}
	for (size_t i = 0; i < nl; i++)
		json_decref(las[i]);
	return rc;
}
