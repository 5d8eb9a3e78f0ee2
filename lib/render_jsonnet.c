/* render — Jsonnet, evaluated in-process with libjsonnet (see render.h).
 *
 * libjsonnet's default importer reads any file on the machine (`importstr
 * "/etc/passwd"`), so we install our own import callback: it looks next to
 * the importing file and then in the source's library paths, resolves the
 * candidate with realpath() and refuses anything outside the repository.
 * Library paths themselves are confined the same way. Deep recursion is
 * bounded by the VM's stack limit. */
#include <libjsonnet.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "fsx.h"
#include "jsonx.h"
#include "render_int.h"
#include "str.h"

#define MAX_JPATHS 32
#define MAX_IMPORT_BYTES ((size_t)16 << 20)

struct jsonnet_import {
	struct render_ctx *c;
	struct JsonnetVm *vm;
	char *jpaths[MAX_JPATHS];
	size_t njpaths;
};

static char *vm_strdup(struct JsonnetVm *vm, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = jsonnet_realloc(vm, NULL, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static char *import_fail(struct JsonnetVm *vm, int *success, const char *msg)
{
	*success = 0;
	return vm_strdup(vm, msg);
}

static char *import_cb(void *ctxp, const char *base, const char *rel, char **found_here, int *success)
{
	struct jsonnet_import *im = ctxp;
	const char *root = im->c->o->root;

	if (!rel || rel[0] == '/' || strstr(rel, "://"))
		return import_fail(im->vm, success, "import is outside repository root");
	for (size_t i = 0; i <= im->njpaths; i++) {
		const char *dir = i == 0 ? base : im->jpaths[i - 1];
		char resolved[PATH_MAX];
		char *cand = str_printf("%s/%s", dir && *dir ? dir : ".", rel);
		struct stat st;
		if (!cand)
			return import_fail(im->vm, success, "out of memory");
		if (!realpath(cand, resolved)) {
			free(cand);
			continue;
		}
		free(cand);
		if (!fsx_is_inside(root, resolved))
			return import_fail(im->vm, success, "import is outside repository root");
		if (stat(resolved, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		struct buf data;
		buf_init(&data, MAX_IMPORT_BYTES);
		if (fsx_read_file(resolved, &data) < 0) {
			buf_release(&data);
			return import_fail(im->vm, success, "import cannot be read");
		}
		char *content = jsonnet_realloc(im->vm, NULL, data.len + 1);
		if (content)
			memcpy(content, data.ptr, data.len + 1);
		buf_release(&data);
		*found_here = vm_strdup(im->vm, resolved);
		*success = content && *found_here;
		return content ? content : vm_strdup(im->vm, "out of memory");
	}
	return import_fail(im->vm, success, "import not found");
}

/* extVars / tlas: [{name, value, code}] */
static int bind_vars(struct JsonnetVm *vm, const json_t *list, bool tla)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v) {
		const char *name = jx_str(v, "name"), *value = jx_str(v, "value");
		bool code = json_is_true(json_object_get(v, "code"));
		if (!name || !*name || !value)
			return err_set(BERR_INVALID, "jsonnet %s: entry needs name and value", tla ? "tlas" : "extVars");
		if (tla)
			(code ? jsonnet_tla_code : jsonnet_tla_var)(vm, name, value);
		else
			(code ? jsonnet_ext_code : jsonnet_ext_var)(vm, name, value);
	}
	return 0;
}

int render_jsonnet_file(struct render_ctx *c, const char *abs_path, const char *label)
{
	const json_t *js = jx_path(c->o->source, "directory", "jsonnet", NULL);
	struct jsonnet_import im = {.c = c};
	json_t *v = NULL;
	char *out = NULL;
	int error = 0, rc = 0;
	size_t i;
	json_t *lib;

	if (!(im.vm = jsonnet_make()))
		return err_set(BERR_NOMEM, "out of memory");
	jsonnet_max_stack(im.vm, 500);
	jsonnet_max_trace(im.vm, 20);
	jsonnet_import_callback(im.vm, import_cb, &im);
	json_array_foreach(json_object_get(js, "libs"), i, lib) {
		char *resolved = NULL;
		if (!json_is_string(lib) || im.njpaths >= MAX_JPATHS) {
			rc = err_set(BERR_INVALID, "jsonnet libs: bad entry");
			goto out;
		}
		if ((rc = fsx_confine(c->o->root, json_string_value(lib), &resolved)) < 0) {
			err_prefix(rc, "jsonnet library path");
			goto out;
		}
		im.jpaths[im.njpaths++] = resolved;
	}
	if ((rc = bind_vars(im.vm, json_object_get(js, "extVars"), false)) < 0 ||
	    (rc = bind_vars(im.vm, json_object_get(js, "tlas"), true)) < 0)
		goto out;
	out = jsonnet_evaluate_file(im.vm, abs_path, &error);
	if (error) {
		char *msg = render_scrub(c, out ? out : "", 1500);
		rc = err_set(BERR_INVALID, "%s: jsonnet: %s", label, msg ? msg : "");
		free(msg);
		goto out;
	}
	if ((rc = jx_parse(out, strlen(out), c->o->max_manifest_bytes ? c->o->max_manifest_bytes : JX_MAX_BYTES,
			   JX_MAX_DEPTH, &v)) < 0) {
		err_prefix(rc, "%s", label);
		goto out;
	}
	rc = render_collect(c->out, v, label);
out:
	json_decref(v);
	if (out)
		jsonnet_realloc(im.vm, out, 0);
	for (size_t k = 0; k < im.njpaths; k++)
		free(im.jpaths[k]);
	jsonnet_destroy(im.vm);
	return rc;
}
