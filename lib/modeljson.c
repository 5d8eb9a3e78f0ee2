/* modeljson — typed field readers and writers for the model parsers. */
#include "modeljson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "str.h"

const char *mj_path(char *dst, size_t size, const char *parent, const char *key)
{
	if (!parent || !*parent)
		snprintf(dst, size, "%s", key);
	else
		snprintf(dst, size, "%s.%s", parent, key);
	return dst;
}

const char *mj_path_index(char *dst, size_t size, const char *parent, size_t i)
{
	snprintf(dst, size, "%s[%zu]", parent, i);
	return dst;
}

static const json_t *field(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return (v && !json_is_null(v)) ? v : NULL;
}

static int type_error(const char *path, const char *key, const char *type)
{
	if (!path || !*path)
		return err_set(BERR_INVALID, "%s: must be %s", key, type);
	return err_set(BERR_INVALID, "%s.%s: must be %s", path, key, type);
}

int mj_str(const json_t *obj, const char *key, const char *path, char **out)
{
	const json_t *v = field(obj, key);
	char *copy;

	if (!v)
		return 0;
	if (!json_is_string(v))
		return type_error(path, key, "a string");
	copy = strdup(json_string_value(v));
	if (!copy)
		return err_set(BERR_NOMEM, "out of memory");
	free(*out);
	*out = copy;
	return 0;
}

int mj_bool(const json_t *obj, const char *key, const char *path, bool *out)
{
	const json_t *v = field(obj, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return type_error(path, key, "a boolean");
	*out = json_is_true(v);
	return 0;
}

int mj_int(const json_t *obj, const char *key, const char *path, int64_t *out)
{
	const json_t *v = field(obj, key);

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return type_error(path, key, "an integer");
	*out = json_integer_value(v);
	return 0;
}

int mj_int_or_str(const json_t *obj, const char *key, const char *path, int64_t *out)
{
	const json_t *v = field(obj, key);
	int64_t n;

	if (!v)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && str_to_i64(json_string_value(v), &n) == 0) {
		*out = n;
		return 0;
	}
	return type_error(path, key, "an integer");
}

int mj_strv(const json_t *obj, const char *key, const char *path, struct model_strv *out)
{
	const json_t *arr;
	struct model_strv sv = { 0 };
	size_t i;
	json_t *e;
	int rc = mj_arr(obj, key, path, &arr);

	if (rc < 0 || !arr)
		return rc;
	json_array_foreach(arr, i, e) {
		if (!json_is_string(e)) {
			char p[256];
			rc = err_set(BERR_INVALID, "%s[%zu]: must be a string",
				     mj_path(p, sizeof(p), path, key), i);
			goto out;
		}
		if ((rc = model_strv_push(&sv, json_string_value(e))) < 0)
			goto out;
	}
	model_strv_release(out);
	*out = sv;
	return 0;
out:
	model_strv_release(&sv);
	return rc;
}

int mj_obj(const json_t *obj, const char *key, const char *path, const json_t **out)
{
	const json_t *v = field(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return type_error(path, key, "an object");
	*out = v;
	return 0;
}

int mj_arr(const json_t *obj, const char *key, const char *path, const json_t **out)
{
	const json_t *v = field(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return type_error(path, key, "a list");
	if (json_array_size(v) > MODEL_MAX_LIST) {
		char p[256];
		return err_set(BERR_TOOLARGE, "%s: more than %d entries",
			       mj_path(p, sizeof(p), path, key), MODEL_MAX_LIST);
	}
	*out = v;
	return 0;
}

int mj_str_map(const json_t *obj, const char *key, const char *path, json_t **out)
{
	const json_t *m;
	const char *k;
	json_t *v, *copy;
	int rc = mj_obj(obj, key, path, &m);

	if (rc < 0 || !m)
		return rc;
	json_object_foreach((json_t *)m, k, v) {
		if (!json_is_string(v)) {
			char p[256];
			return err_set(BERR_INVALID, "%s.%s: must be a string",
				       mj_path(p, sizeof(p), path, key), k);
		}
	}
	copy = json_deep_copy(m);
	if (!copy)
		return err_set(BERR_NOMEM, "out of memory");
	json_decref(*out);
	*out = copy;
	return 0;
}

int mj_calloc(size_t n, size_t sz, void **out)
{
	void *p;

	*out = NULL;
	if (n == 0)
		return 0;
	p = calloc(n, sz);
	if (!p)
		return err_set(BERR_NOMEM, "out of memory");
	*out = p;
	return 0;
}

int mj_set_new(json_t *obj, const char *key, json_t *v)
{
	if (!v)
		return err_set(BERR_NOMEM, "out of memory");
	if (json_object_set_new(obj, key, v) < 0)
		return err_set(BERR_NOMEM, "out of memory");
	return 0;
}

int mj_set_str(json_t *obj, const char *key, const char *s)
{
	return s ? mj_set_new(obj, key, json_string(s)) : 0;
}

int mj_set_bool(json_t *obj, const char *key, bool v)
{
	return v ? mj_set_new(obj, key, json_true()) : 0;
}

int mj_set_int(json_t *obj, const char *key, int64_t v)
{
	return mj_set_new(obj, key, json_integer(v));
}

int mj_set_strv(json_t *obj, const char *key, const struct model_strv *sv)
{
	json_t *arr;
	size_t i;

	if (sv->n == 0)
		return 0;
	arr = json_array();
	if (!arr)
		return err_set(BERR_NOMEM, "out of memory");
	for (i = 0; i < sv->n; i++) {
		if (json_array_append_new(arr, json_string(sv->v[i])) < 0) {
			json_decref(arr);
			return err_set(BERR_NOMEM, "out of memory");
		}
	}
	return mj_set_new(obj, key, arr);
}

int mj_set_json(json_t *obj, const char *key, const json_t *v)
{
	return v ? mj_set_new(obj, key, json_deep_copy(v)) : 0;
}

int mj_extra(const json_t *obj, const char *const *known, json_t **out)
{
	const char *k;
	json_t *v, *extra = NULL;
	size_t i;

	json_object_foreach((json_t *)obj, k, v) {
		bool is_known = false;
		for (i = 0; known[i] && !is_known; i++)
			is_known = strcmp(known[i], k) == 0;
		if (is_known)
			continue;
		if (!extra && !(extra = json_object()))
			return err_set(BERR_NOMEM, "out of memory");
		if (json_object_set_new(extra, k, json_deep_copy(v)) < 0) {
			json_decref(extra);
			return err_set(BERR_NOMEM, "out of memory");
		}
	}
	json_decref(*out);
	*out = extra;
	return 0;
}

int mj_merge_extra(json_t *obj, const json_t *extra)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)extra, k, v) {
		if (json_object_get(obj, k))
			continue;
		if (json_object_set_new(obj, k, json_deep_copy(v)) < 0)
			return err_set(BERR_NOMEM, "out of memory");
	}
	return 0;
}
