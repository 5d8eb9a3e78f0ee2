/* render — see render.h. This file: detection, the Directory type, output
 * collection and bounds, the tool runner. Helm and Kustomize live in
 * render_tools.c, Jsonnet in render_jsonnet.c. */
#include "render.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsx.h"
#include "jsonx.h"
#include "kyaml.h"
#include "render_int.h"
#include "str.h"
#include "subproc.h"

#define DEFAULT_MAX_MANIFEST_BYTES ((size_t)64 << 20)
#define DEFAULT_MAX_OBJECTS 20000
#define MAX_FILE_BYTES ((size_t)32 << 20)
#define MAX_WALK_DEPTH 32
#define STDERR_IN_MESSAGES 1500

const char *render_type_name(enum render_type t)
{
	switch (t) {
	case RENDER_KUSTOMIZE: return "Kustomize";
	case RENDER_HELM: return "Helm";
	case RENDER_JSONNET: return "Jsonnet";
	case RENDER_DIRECTORY: break;
	}
	return "Directory";
}

static bool file_exists(const char *dir, const char *name)
{
	char *p = str_printf("%s/%s", dir, name);
	struct stat st;
	bool ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
	free(p);
	return ok;
}

static bool has_ext(const char *name, const char *const *exts)
{
	for (; *exts; exts++)
		if (str_ends_with(name, *exts))
			return true;
	return false;
}

static const char *const manifest_exts[] = {".yaml", ".yml", ".json", NULL};
static const char *const jsonnet_exts[] = {".jsonnet", NULL};

/* True when dir holds Jsonnet files and no YAML/JSON manifests. */
static bool only_jsonnet(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool jsonnet = false, other = false;

	if (!d)
		return false;
	while ((de = readdir(d))) {
		if (has_ext(de->d_name, jsonnet_exts))
			jsonnet = true;
		else if (has_ext(de->d_name, manifest_exts))
			other = true;
	}
	closedir(d);
	return jsonnet && !other;
}

static bool jsonnet_settings(const json_t *source)
{
	const json_t *j = jx_path(source, "directory", "jsonnet", NULL);
	return json_is_object(j) && json_object_size(j) > 0;
}

int render_detect(const char *app_dir, const json_t *source, enum render_type *ret)
{
	if (json_is_object(source)) {
		if (json_is_object(json_object_get(source, "helm"))) {
			*ret = RENDER_HELM;
			return 0;
		}
		if (json_is_object(json_object_get(source, "kustomize"))) {
			*ret = RENDER_KUSTOMIZE;
			return 0;
		}
		if (jsonnet_settings(source)) {
			*ret = RENDER_JSONNET;
			return 0;
		}
		if (json_is_object(json_object_get(source, "directory"))) {
			*ret = RENDER_DIRECTORY;
			return 0;
		}
	}
	if (file_exists(app_dir, "Chart.yaml"))
		*ret = RENDER_HELM;
	else if (file_exists(app_dir, "kustomization.yaml") || file_exists(app_dir, "kustomization.yml") ||
		 file_exists(app_dir, "Kustomization"))
		*ret = RENDER_KUSTOMIZE;
	else if (only_jsonnet(app_dir))
		*ret = RENDER_JSONNET;
	else
		*ret = RENDER_DIRECTORY;
	return 0;
}

/* ---- collection -------------------------------------------------------- */

static int collect(json_t *out, json_t *v, const char *file, int depth)
{
	if (depth > 16)
		return err_set(BERR_INVALID, "%s: lists nested too deep", file);
	if (json_is_null(v))
		return 0;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			int rc = collect(out, e, file, depth + 1);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	if (!json_is_object(v))
		return err_set(BERR_INVALID, "%s: document is not an object", file);
	const char *kind = jx_str(v, "kind"), *api = jx_str(v, "apiVersion");
	json_t *items = json_object_get(v, "items");
	if (kind && str_ends_with(kind, "List") && json_is_array(items))
		return collect(out, items, file, depth + 1);
	if (!kind || !*kind || !api || !*api)
		return err_set(BERR_INVALID, "%s: object has no apiVersion or kind", file);
	if (json_array_append(out, v) < 0)
		return err_set(BERR_NOMEM, "out of memory");
	return 0;
}

int render_collect(json_t *out, json_t *value, const char *file)
{
	return collect(out, value, file, 0);
}

static int check_bounds(struct render_ctx *c)
{
	size_t max_obj = c->o->max_objects ? c->o->max_objects : DEFAULT_MAX_OBJECTS;
	if (json_array_size(c->out) > max_obj)
		return err_set(BERR_TOOLARGE, "manifests: more than %zu objects", max_obj);
	return 0;
}

int render_add_yaml(struct render_ctx *c, const char *data, size_t len, const char *label)
{
	struct kyaml_limits lim = {.max_bytes = c->o->max_manifest_bytes ? c->o->max_manifest_bytes
									: DEFAULT_MAX_MANIFEST_BYTES};
	json_t *docs = NULL, *d;
	size_t i;
	int rc;

	if ((rc = kyaml_load_stream(data, len, &lim, &docs)) < 0)
		return err_prefix(rc, "%s", label);
	json_array_foreach(docs, i, d) {
		char what[512];
		snprintf(what, sizeof(what), json_array_size(docs) > 1 ? "%s (document %zu)" : "%s", label, i + 1);
		if ((rc = collect(c->out, d, what, 0)) < 0 || (rc = check_bounds(c)) < 0)
			break;
	}
	json_decref(docs);
	return rc;
}

static int add_json_file(struct render_ctx *c, const char *data, size_t len, const char *label)
{
	json_t *v = NULL;
	int rc = jx_parse(data, len, MAX_FILE_BYTES, JX_MAX_DEPTH, &v);
	if (rc < 0)
		return err_prefix(rc, "%s", label);
	rc = collect(c->out, v, label, 0);
	json_decref(v);
	return rc < 0 ? rc : check_bounds(c);
}

/* ---- messages and tools -------------------------------------------------- */

static void replace_all(struct buf *b, const char *needle, const char *with)
{
	size_t nl = needle ? strlen(needle) : 0;
	struct buf o;
	const char *p;

	if (nl < 2 || !strstr(b->ptr, needle))
		return;
	buf_init(&o, b->max);
	for (p = b->ptr;;) {
		const char *hit = strstr(p, needle);
		if (!hit) {
			buf_puts(&o, p);
			break;
		}
		buf_append(&o, p, (size_t)(hit - p));
		buf_puts(&o, with);
		p = hit + nl;
	}
	buf_release(b);
	*b = o;
}

char *render_scrub(const struct render_ctx *c, const char *text, size_t max)
{
	struct buf b;
	size_t n = strlen(text);

	buf_init(&b, max * 2 + 64);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' ' || text[n - 1] == '\r'))
		n--;
	while (n && (*text == '\n' || *text == ' ')) {
		text++;
		n--;
	}
	if (n > max) {
		buf_append(&b, text, max);
		buf_puts(&b, " …");
	} else {
		buf_append(&b, text, n);
	}
	replace_all(&b, c->app_dir, ".");
	replace_all(&b, c->o->root, "<repo>");
	replace_all(&b, c->scratch, "<tmp>");
	return buf_detach(&b, NULL);
}

int render_tool(struct render_ctx *c, const char *const *argv, const char *cwd, struct buf *out)
{
	/* Bounds for what a hostile chart can make a tool do (a tar bomb among
	 * vendored charts, a huge index): address space and file size. */
	struct subproc_opts so = {.argv = argv, .env = (const char *const *)c->env, .cwd = cwd,
				  .timeout_ms = c->o->exec_timeout_ms, .max_output = c->o->max_tool_output,
				  .max_memory = (uint64_t)8 << 30, .max_file_size = (uint64_t)1 << 30};
	struct subproc_result r;
	int rc;

	if (c->counters)
		c->counters->tool_runs++;
	rc = subproc_run(&so, &r);
	if (rc == 0 && r.exit_code != 0) {
		char *msg = render_scrub(c, r.err.len ? r.err.ptr : r.out.ptr, STDERR_IN_MESSAGES);
		rc = err_set(BERR_INVALID, "%s failed: %s", argv[0], msg ? msg : "");
		free(msg);
	} else if (rc == BERR_NOTFOUND) {
		rc = err_set(BERR_UNSUPPORTED, "%s not found in PATH", argv[0]);
	} else if (rc == 0 && out) {
		rc = buf_append(out, r.out.ptr, r.out.len);
	}
	subproc_result_release(&r);
	return rc;
}

/* ---- Directory ----------------------------------------------------------- */

static void expand(const char *pat, json_t *out, int depth)
{
	const char *open = strchr(pat, '{');
	if (!open || depth > 8 || json_array_size(out) >= 256) {
		json_array_append_new(out, json_string(pat));
		return;
	}
	/* the matching close brace */
	int level = 0;
	const char *close = NULL;
	for (const char *p = open; *p; p++) {
		if (*p == '{')
			level++;
		else if (*p == '}' && --level == 0) {
			close = p;
			break;
		}
	}
	if (!close) {
		json_array_append_new(out, json_string(pat));
		return;
	}
	const char *start = open + 1;
	level = 0;
	for (const char *p = start;; p++) {
		if (*p == '{')
			level++;
		else if (*p == '}' && level > 0)
			level--;
		else if ((*p == ',' && level == 0) || p == close) {
			char *alt = str_printf("%.*s%.*s%s", (int)(open - pat), pat, (int)(p - start), start, close + 1);
			if (alt)
				expand(alt, out, depth + 1);
			free(alt);
			start = p + 1;
			if (p == close)
				break;
		}
	}
}

int render_glob_expand(const char *pattern, json_t *out)
{
	expand(pattern, out, 0);
	return 0;
}

static json_t *patterns(const json_t *dir, const char *key)
{
	json_t *out = json_array();
	const char *s = jx_str(dir, key);
	if (out && s && *s)
		expand(s, out, 0);
	return out;
}

static bool matches_any(const json_t *pats, const char *rel)
{
	size_t i;
	json_t *p;
	const char *base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	json_array_foreach(pats, i, p) {
		const char *s = json_string_value(p);
		if (fnmatch(s, rel, 0) == 0 || fnmatch(s, base, FNM_PATHNAME) == 0)
			return true;
	}
	return false;
}

struct dir_walk {
	struct render_ctx *c;
	bool recurse;
	json_t *include, *exclude;
	size_t files;
};

static int render_file(struct render_ctx *c, const char *abs, const char *rel)
{
	struct buf data;
	int rc;

	if (has_ext(rel, jsonnet_exts))
		return render_jsonnet_file(c, abs, rel);
	buf_init(&data, MAX_FILE_BYTES);
	if ((rc = fsx_read_file(abs, &data)) < 0) {
		rc = err_set(rc, "read \"%s\": %s", rel, rc == BERR_TOOLARGE ? "file too large" : "failed");
		goto out;
	}
	if (str_ends_with(rel, ".json"))
		rc = add_json_file(c, data.ptr, data.len, rel);
	else
		rc = render_add_yaml(c, data.ptr, data.len, rel);
out:
	buf_release(&data);
	return rc;
}

static int walk(struct dir_walk *w, const char *abs, const char *rel, int depth)
{
	struct dirent **names = NULL;
	int n, rc = 0;

	if (depth > MAX_WALK_DEPTH)
		return err_set(BERR_TOOLARGE, "folder \"%s\" nested too deep", rel);
	n = scandir(abs, &names, NULL, alphasort);
	if (n < 0)
		return err_set(BERR_IO, "read folder \"%s\": %s", *rel ? rel : ".", strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char *cabs = NULL, *crel = NULL;
		struct stat st;
		if (rc < 0 || name[0] == '.')
			goto next;
		cabs = str_printf("%s/%s", abs, name);
		crel = *rel ? str_printf("%s/%s", rel, name) : str_printf("%s", name);
		if (!cabs || !crel) {
			rc = err_set(BERR_NOMEM, "out of memory");
			goto next;
		}
		if (stat(cabs, &st) < 0)
			goto next;
		if (S_ISDIR(st.st_mode)) {
			if (w->recurse)
				rc = walk(w, cabs, crel, depth + 1);
			goto next;
		}
		if (!S_ISREG(st.st_mode) || !(has_ext(name, manifest_exts) || has_ext(name, jsonnet_exts)))
			goto next;
		if (json_array_size(w->include) && !matches_any(w->include, crel))
			goto next;
		if (matches_any(w->exclude, crel))
			goto next;
		rc = render_file(w->c, cabs, crel);
	next:
		free(cabs);
		free(crel);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int render_directory(struct render_ctx *c, bool jsonnet_only)
{
	const json_t *dir = jx_path(c->o->source, "directory", NULL);
	json_t *rec = json_object_get(dir, "recurse");
	struct dir_walk w = {.c = c, .recurse = json_is_true(rec)};
	int rc;

	/* library paths are checked even when no Jsonnet file is evaluated */
	size_t i;
	json_t *lib;
	json_array_foreach(jx_path(dir, "jsonnet", "libs", NULL), i, lib) {
		char *resolved = NULL;
		if (!json_is_string(lib))
			return err_set(BERR_INVALID, "jsonnet libs: not a string");
		rc = fsx_confine(c->o->root, json_string_value(lib), &resolved);
		free(resolved);
		if (rc < 0 && rc != BERR_NOTFOUND)
			return err_prefix(rc, "jsonnet library path");
	}
	w.include = patterns(dir, "include");
	w.exclude = patterns(dir, "exclude");
	if (jsonnet_only && !json_array_size(w.include))
		json_array_append_new(w.include, json_string("*.jsonnet"));
	rc = walk(&w, c->app_dir, "", 0);
	json_decref(w.include);
	json_decref(w.exclude);
	return rc;
}

/* ---- entry points ---------------------------------------------------------- */

static int ctx_init(struct render_ctx *c, const struct render_opts *o, struct render_counters *counters)
{
	char *resolved = NULL;
	const char *path = o->path && *o->path ? o->path : ".";
	const char *tmp = o->scratch_dir ? o->scratch_dir : getenv("TMPDIR");
	const char *tool_path = o->tool_path ? o->tool_path : getenv("PATH");
	int rc, k = 0;

	memset(c, 0, sizeof(*c));
	c->o = o;
	c->counters = counters;
	if ((rc = fsx_confine(o->root, path, &resolved)) < 0)
		return err_prefix(rc, "app path");
	str_copy(c->app_dir, resolved, sizeof(c->app_dir));
	free(resolved);
	struct stat st;
	if (stat(c->app_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return err_set(BERR_NOTFOUND, "app path \"%s\" is not a folder", path);
	if ((rc = fsx_private_dir(tmp && *tmp ? tmp : "/tmp", "berth-render-", &c->scratch)) < 0)
		return rc;
	const char *tp = tool_path ? tool_path : "/usr/bin:/bin";
	c->env[k++] = str_printf("PATH=%s", tp);
	c->env[k++] = str_printf("HOME=%s/home", c->scratch);
	c->env[k++] = str_printf("TMPDIR=%s", c->scratch);
	c->env[k++] = str_printf("HELM_CACHE_HOME=%s/helm/cache", c->scratch);
	c->env[k++] = str_printf("HELM_CONFIG_HOME=%s/helm/config", c->scratch);
	c->env[k++] = str_printf("HELM_DATA_HOME=%s/helm/data", c->scratch);
	c->env[k++] = str_printf("KUBECONFIG=%s/none", c->scratch);
	c->env[k++] = str_printf("LANG=C");
	for (int i = 0; i < k; i++)
		if (!c->env[i])
			return err_set(BERR_NOMEM, "out of memory");
	c->env[k] = NULL;
	char *home = str_printf("%s/home", c->scratch);
	if (home)
		mkdir(home, 0700);
	free(home);
	if (!(c->out = json_array()))
		return err_set(BERR_NOMEM, "out of memory");
	return 0;
}

static void ctx_release(struct render_ctx *c)
{
	if (c->scratch) {
		fsx_remove_tree(c->scratch);
		free(c->scratch);
	}
	for (size_t i = 0; i < sizeof(c->env) / sizeof(c->env[0]); i++)
		free(c->env[i]);
	json_decref(c->out);
	c->out = NULL;
}

static int final_bounds(struct render_ctx *c)
{
	size_t max = c->o->max_manifest_bytes ? c->o->max_manifest_bytes : DEFAULT_MAX_MANIFEST_BYTES;
	struct buf b;
	int rc;

	if ((rc = check_bounds(c)) < 0)
		return rc;
	buf_init(&b, max);
	rc = jx_dump_compact(c->out, &b);
	buf_release(&b);
	if (rc == BERR_TOOLARGE)
		return err_set(BERR_TOOLARGE, "manifests: more than %zu bytes", max);
	return rc;
}

int render_run(const struct render_opts *o, enum render_type *ret_type, json_t **ret_manifests,
	       struct render_counters *counters)
{
	struct render_ctx c;
	enum render_type t = RENDER_DIRECTORY;
	int rc;

	if ((rc = ctx_init(&c, o, counters)) < 0)
		goto out;
	if ((rc = render_detect(c.app_dir, o->source, &t)) < 0)
		goto out;
	switch (t) {
	case RENDER_HELM: rc = render_helm(&c); break;
	case RENDER_KUSTOMIZE: rc = render_kustomize(&c); break;
	case RENDER_JSONNET: rc = render_directory(&c, true); break;
	case RENDER_DIRECTORY: rc = render_directory(&c, false); break;
	}
	if (rc == 0)
		rc = final_bounds(&c);
	if (rc == 0) {
		*ret_type = t;
		*ret_manifests = c.out;
		c.out = NULL;
	}
out:
	ctx_release(&c);
	return rc;
}

/* "a.b.c" = value for every scalar leaf of a values tree. */
static void flatten_values(const json_t *v, const char *prefix, json_t *out, int depth)
{
	const char *k;
	json_t *e;

	if (depth > 20 || json_array_size(out) > 2000)
		return;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, e) {
			char *p = *prefix ? str_printf("%s.%s", prefix, k) : str_printf("%s", k);
			if (p)
				flatten_values(e, p, out, depth + 1);
			free(p);
		}
		return;
	}
	if (json_is_array(v) || !*prefix)
		return;
	char *val = json_is_string(v) ? str_dup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
	json_array_append_new(out, json_pack("{s:s, s:s}", "name", prefix, "value", val ? val : ""));
	free(val);
}

static int helm_details(struct render_ctx *c, json_t *d)
{
	json_t *files = json_array(), *params = json_array();
	struct dirent **names = NULL;
	int n = scandir(c->app_dir, &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		if (str_starts_with(nm, "values") && (str_ends_with(nm, ".yaml") || str_ends_with(nm, ".yml")))
			json_array_append_new(files, json_string(nm));
		free(names[i]);
	}
	free(names);
	char *vp = str_printf("%s/values.yaml", c->app_dir);
	struct buf data;
	buf_init(&data, MAX_FILE_BYTES);
	json_t *vals = NULL;
	if (vp && fsx_read_file(vp, &data) == 0 && kyaml_load_one(data.ptr, data.len, NULL, &vals) == 0)
		flatten_values(vals, "", params, 0);
	json_decref(vals);
	buf_release(&data);
	free(vp);
	json_object_set_new(d, "helm", json_pack("{s:o, s:o}", "valueFiles", files, "parameters", params));
	return 0;
}

static int kustomize_details(struct render_ctx *c, json_t *d)
{
	json_t *images = json_array();
	int rc = render_kustomize(c);
	size_t i;
	json_t *obj;

	if (rc < 0) {
		json_decref(images);
		return rc;
	}
	/* images of every container in the built output, without duplicates */
	json_array_foreach(c->out, i, obj) {
		static const char *const lists[] = {"containers", "initContainers"};
		json_t *spec = jx_path(obj, "spec", "template", "spec", NULL);
		if (!spec)
			spec = jx_path(obj, "spec", NULL);
		for (int l = 0; l < 2; l++) {
			size_t k;
			json_t *ct;
			json_array_foreach(json_object_get(spec, lists[l]), k, ct) {
				const char *img = jx_str(ct, "image");
				bool seen = false;
				size_t m;
				json_t *s;
				json_array_foreach(images, m, s) seen = seen || (img && !strcmp(json_string_value(s), img));
				if (img && !seen)
					json_array_append_new(images, json_string(img));
			}
		}
	}
	json_object_set_new(d, "kustomize", json_pack("{s:o}", "images", images));
	return 0;
}

int render_app_details(const struct render_opts *o, json_t **ret)
{
	struct render_ctx c;
	enum render_type t = RENDER_DIRECTORY;
	json_t *d = NULL;
	int rc;

	if ((rc = ctx_init(&c, o, NULL)) < 0 || (rc = render_detect(c.app_dir, o->source, &t)) < 0)
		goto out;
	d = json_pack("{s:s}", "sourceType", render_type_name(t));
	if (t == RENDER_HELM)
		rc = helm_details(&c, d);
	else if (t == RENDER_KUSTOMIZE)
		rc = kustomize_details(&c, d);
	if (rc == 0) {
		*ret = d;
		d = NULL;
	}
out:
	json_decref(d);
	ctx_release(&c);
	return rc;
}

char *render_tool_versions(const char *tool_path)
{
	const char *env[] = {NULL, "HOME=/nonexistent", "LANG=C", NULL};
	const char *helm[] = {"helm", "version", "--short", NULL};
	const char *kust[] = {"kustomize", "version", NULL};
	const char *kubectl[] = {"kubectl", "version", "--client=true", NULL};
	char *pathvar = str_printf("PATH=%s", tool_path ? tool_path : (getenv("PATH") ? getenv("PATH") : ""));
	struct subproc_result r;
	struct buf b;

	env[0] = pathvar;
	buf_init(&b, 1024);
	const char *const *cmds[3] = {helm, kust, kubectl};
	for (int i = 0; i < 3; i++) {
		struct subproc_opts so = {.argv = cmds[i], .env = env, .timeout_ms = 10000, .max_output = 4096};
		int rc = subproc_run(&so, &r);
		size_t n = strcspn(r.out.ptr, "\n");
		buf_printf(&b, "%s%s=%.*s", i ? ";" : "", cmds[i][0], (int)(rc == 0 && r.exit_code == 0 ? n : 1),
			   rc == 0 && r.exit_code == 0 ? r.out.ptr : "?");
		subproc_result_release(&r);
	}
	free(pathvar);
	err_clear();
	return buf_detach(&b, NULL);
}
