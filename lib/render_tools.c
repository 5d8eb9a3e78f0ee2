/* render — Helm and Kustomize (see render.h). Both run as subprocesses
 * through render_tool (subproc: no shell, fixed environment, timeout,
 * capped output) in the private copy of the repository. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
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

#define MAX_ARGS 512
#define MAX_SMALL_FILE ((size_t)8 << 20)

struct argv_list {
	const char *v[MAX_ARGS + 1];
	char *owned[MAX_ARGS];
	size_t n, nowned;
};

static int arg(struct argv_list *a, const char *s)
{
	if (a->n >= MAX_ARGS)
		return err_set(BERR_TOOLARGE, "too many tool arguments");
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

/* Adds an argument it owns (s newly allocated; NULL → BERR_NOMEM). */
static int arg_own(struct argv_list *a, char *s)
{
	if (!s)
		return err_set(BERR_NOMEM, "out of memory");
	if (a->nowned >= MAX_ARGS || arg(a, s) < 0) {
		free(s);
		return err_set(BERR_TOOLARGE, "too many tool arguments");
	}
	a->owned[a->nowned++] = s;
	return 0;
}

static void argv_release(struct argv_list *a)
{
	for (size_t i = 0; i < a->nowned; i++)
		free(a->owned[i]);
}

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(BERR_IO, "write scratch file: %s", strerror(errno));
	while (len) {
		ssize_t w = write(fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return err_set(BERR_IO, "write scratch file: %s", strerror(errno));
		}
		data += w;
		len -= (size_t)w;
	}
	close(fd);
	return 0;
}

/* The app folder relative to root, for resolving paths given relative to
 * the app ("" when the app is the root). */
static const char *app_rel(const struct render_ctx *c)
{
	size_t n = strlen(c->o->root);
	const char *r = c->app_dir + n;
	return *r == '/' ? r + 1 : r;
}

/* Resolves p (relative to the app folder) inside the repository. */
static int confine_from_app(const struct render_ctx *c, const char *p, char **ret)
{
	char *rel;
	int rc;

	if (!p || !*p || p[0] == '/' || strstr(p, "://"))
		return err_set(BERR_FORBIDDEN, "path \"%.200s\" is outside repository root", p ? p : "");
	rel = *app_rel(c) ? str_printf("%s/%s", app_rel(c), p) : str_printf("%s", p);
	if (!rel)
		return err_set(BERR_NOMEM, "out of memory");
	rc = fsx_confine(c->o->root, rel, ret);
	free(rel);
	if (rc < 0)
		err_set(rc, "path \"%.200s\" %s", p, rc == BERR_FORBIDDEN ? "is outside repository root" : "does not exist");
	return rc;
}

static int load_yaml_file(const char *path, json_t **ret)
{
	struct buf data;
	int rc;

	buf_init(&data, MAX_SMALL_FILE);
	if ((rc = fsx_read_file(path, &data)) == 0)
		rc = kyaml_load_one(data.ptr, data.len, NULL, ret);
	buf_release(&data);
	return rc;
}

/* ---- Helm ------------------------------------------------------------------ */

/* Helm's --set splits on commas; a literal comma in a value is "\,". */
static char *set_arg(const char *name, const char *value)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	buf_printf(&b, "%s=", name);
	for (const char *p = value; *p; p++) {
		if (*p == ',')
			buf_putc(&b, '\\');
		buf_putc(&b, *p);
	}
	return buf_detach(&b, NULL);
}

/* Dependencies from Chart.yaml (and a v1 chart's requirements.yaml): file://
 * ones must stay in the repository; any dependency means `helm dependency
 * build` runs unless charts/ is already there. */
static int helm_dependencies(struct render_ctx *c)
{
	static const char *const files[] = {"Chart.yaml", "requirements.yaml"};
	bool any = false;
	char *remote = NULL; /* "name" from "repo" of the first remote dependency */
	int rc = 0;

	for (int f = 0; f < 2 && rc == 0; f++) {
		char *p = str_printf("%s/%s", c->app_dir, files[f]);
		json_t *chart = NULL, *dep;
		size_t i;
		struct stat st;
		if (!p)
			return err_set(BERR_NOMEM, "out of memory");
		if (stat(p, &st) < 0 || load_yaml_file(p, &chart) < 0) {
			free(p);
			continue;
		}
		free(p);
		json_array_foreach(json_object_get(chart, "dependencies"), i, dep) {
			const char *repo = jx_str(dep, "repository");
			any = true;
			if (repo && !str_starts_with(repo, "file://") && !remote)
				remote = str_printf("\"%.100s\" from \"%.200s\"",
						    jx_str(dep, "name") ? jx_str(dep, "name") : "?", repo);
			if (repo && str_starts_with(repo, "file://")) {
				char *resolved = NULL;
				rc = confine_from_app(c, repo + 7, &resolved);
				free(resolved);
				if (rc < 0) {
					err_prefix(rc, "chart dependency \"%s\"", jx_str(dep, "name") ? jx_str(dep, "name") : "?");
					break;
				}
			}
		}
		json_decref(chart);
	}
	if (rc < 0 || !any) {
		free(remote);
		return rc;
	}
	char *charts = str_printf("%s/charts", c->app_dir);
	struct stat st;
	bool vendored = charts && stat(charts, &st) == 0 && S_ISDIR(st.st_mode);
	free(charts);
	if (vendored) {
		free(remote);
		return 0;
	}
	/* Local-only dependencies build offline; remote ones need the index. */
	const char *argv[] = {"helm", "dependency", "build", ".", remote ? NULL : "--skip-refresh", NULL};
	rc = render_tool(c, argv, c->app_dir, NULL);
	if (rc < 0 && remote)
		err_prefix(rc, "chart dependency %s could not be fetched", remote);
	else if (rc < 0)
		err_prefix(rc, "helm dependency build");
	free(remote);
	return rc;
}

static int helm_values_args(struct render_ctx *c, const json_t *helm, struct argv_list *a)
{
	size_t i;
	json_t *v;
	int rc = 0;

	json_array_foreach(json_object_get(helm, "valueFiles"), i, v) {
		char *resolved = NULL;
		if (!json_is_string(v))
			return err_set(BERR_INVALID, "helm valueFiles: not a string");
		if ((rc = confine_from_app(c, json_string_value(v), &resolved)) < 0)
			return err_prefix(rc, "helm value file");
		if ((rc = arg(a, "--values")) < 0 || (rc = arg_own(a, resolved)) < 0)
			return rc;
	}
	const char *values = jx_str(helm, "values");
	if (values && *values) {
		char *p = str_printf("%s/values-inline.yaml", c->scratch);
		if (!p || (rc = write_file(p, values, strlen(values))) < 0) {
			free(p);
			return rc ? rc : err_set(BERR_NOMEM, "out of memory");
		}
		if ((rc = arg(a, "--values")) < 0 || (rc = arg_own(a, p)) < 0)
			return rc;
	}
	json_t *obj = json_object_get(helm, "valuesObject");
	if (json_is_object(obj)) {
		char *p = str_printf("%s/values-object.json", c->scratch);
		char *text = json_dumps(obj, JSON_COMPACT);
		if (!p || !text || (rc = write_file(p, text, strlen(text))) < 0) {
			free(p);
			free(text);
			return rc ? rc : err_set(BERR_NOMEM, "out of memory");
		}
		free(text);
		if ((rc = arg(a, "--values")) < 0 || (rc = arg_own(a, p)) < 0)
			return rc;
	}
	json_array_foreach(json_object_get(helm, "parameters"), i, v) {
		const char *name = jx_str(v, "name");
		json_t *val = json_object_get(v, "value");
		char *vs;
		if (!name || !*name || name[0] == '-')
			return err_set(BERR_INVALID, "helm parameter without a valid name");
		vs = json_is_string(val) ? str_dup(json_string_value(val)) : json_dumps(val, JSON_ENCODE_ANY);
		if ((rc = arg(a, json_is_true(json_object_get(v, "forceString")) ? "--set-string" : "--set")) < 0 ||
		    (rc = arg_own(a, set_arg(name, vs ? vs : ""))) < 0) {
			free(vs);
			return rc;
		}
		free(vs);
	}
	return 0;
}

/* A release name or namespace as Kubernetes allows them (lowercase
 * alphanumerics, '-' and '.', alphanumeric at both ends): never something
 * helm would read as a flag. */
static bool valid_dns_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n > max || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

int render_helm(struct render_ctx *c)
{
	const json_t *helm = jx_path(c->o->source, "helm", NULL);
	const char *release = jx_str(helm, "releaseName");
	struct argv_list a = {.n = 0};
	struct buf out;
	int rc;

	if (!release || !*release)
		release = c->o->app_name && *c->o->app_name ? c->o->app_name : "release";
	buf_init(&out, c->o->max_tool_output ? c->o->max_tool_output : (size_t)50 << 20);
	if (!valid_dns_name(release, 53)) {
		rc = err_set(BERR_INVALID, "helm release name \"%.60s\" is not a valid name", release);
		goto out;
	}
	if (c->o->namespace && *c->o->namespace && !valid_dns_name(c->o->namespace, 63)) {
		rc = err_set(BERR_INVALID, "namespace \"%.70s\" is not a valid name", c->o->namespace);
		goto out;
	}
	if ((c->o->kube_version && c->o->kube_version[0] == '-')) {
		rc = err_set(BERR_INVALID, "kubeVersion is not a version");
		goto out;
	}
	for (size_t i = 0; c->o->api_versions && c->o->api_versions[i]; i++)
		if (c->o->api_versions[i][0] == '-') {
			rc = err_set(BERR_INVALID, "apiVersions entry is not an API version");
			goto out;
		}
	if ((rc = helm_dependencies(c)) < 0)
		goto out;
	arg(&a, "helm");
	arg(&a, "template");
	arg(&a, release);
	arg(&a, ".");
	if (c->o->namespace && *c->o->namespace) {
		arg(&a, "--namespace");
		arg(&a, c->o->namespace);
	}
	arg(&a, json_is_true(json_object_get(helm, "skipCrds")) ? "--skip-crds" : "--include-crds");
	if (c->o->kube_version && *c->o->kube_version) {
		arg(&a, "--kube-version");
		arg(&a, c->o->kube_version);
	}
	for (size_t i = 0; c->o->api_versions && c->o->api_versions[i]; i++) {
		arg(&a, "--api-versions");
		arg(&a, c->o->api_versions[i]);
	}
	if ((rc = helm_values_args(c, helm, &a)) < 0)
		goto out;
	if ((rc = render_tool(c, a.v, c->app_dir, &out)) < 0)
		goto out;
	rc = render_add_yaml(c, out.ptr, out.len, "helm template");
out:
	argv_release(&a);
	buf_release(&out);
	return rc;
}

/* ---- Kustomize ------------------------------------------------------------------ */

static const char *const kustomization_names[] = {"kustomization.yaml", "kustomization.yml", "Kustomization"};

static char *find_kustomization(const char *dir)
{
	for (size_t i = 0; i < 3; i++) {
		char *p = str_printf("%s/%s", dir, kustomization_names[i]);
		struct stat st;
		if (p && stat(p, &st) == 0 && S_ISREG(st.st_mode))
			return p;
		free(p);
	}
	return NULL;
}

/* Splits "old=new:tag@digest" the way `kustomize edit set image` reads it. */
static json_t *image_entry(const char *spec)
{
	const char *eq = strchr(spec, '=');
	const char *img = eq ? eq + 1 : spec;
	const char *at = strchr(img, '@');
	size_t ilen = at ? (size_t)(at - img) : strlen(img);
	const char *slash = memrchr(img, '/', ilen);
	const char *colon = memrchr(slash ? slash : img, ':', ilen - (size_t)((slash ? slash : img) - img));
	size_t nlen = colon ? (size_t)(colon - img) : ilen;
	json_t *e = json_object();
	char *name = eq ? strndup(spec, (size_t)(eq - spec)) : strndup(img, nlen);
	char *new_name = strndup(img, nlen);

	if (!e || !name || !new_name)
		goto fail;
	json_object_set_new(e, "name", json_string(name));
	if (strcmp(name, new_name))
		json_object_set_new(e, "newName", json_string(new_name));
	if (colon) {
		char *tag = strndup(colon + 1, ilen - nlen - 1);
		json_object_set_new(e, "newTag", json_string(tag ? tag : ""));
		free(tag);
	}
	if (at)
		json_object_set_new(e, "digest", json_string(at + 1));
	free(name);
	free(new_name);
	return e;
fail:
	json_decref(e);
	free(name);
	free(new_name);
	return NULL;
}

/* Replaces the entry of list named like e (key "name"), else appends. */
static void upsert_by_name(json_t *list, json_t *e)
{
	size_t i;
	json_t *old;
	const char *name = jx_str(e, "name");
	json_array_foreach(list, i, old) {
		const char *n = jx_str(old, "name");
		if (n && name && !strcmp(n, name)) {
			json_array_set_new(list, i, e);
			return;
		}
	}
	json_array_append_new(list, e);
}

static void merge_map(json_t *k, const char *key, const json_t *add)
{
	const char *name;
	json_t *v;
	json_t *m;

	if (!json_is_object(add) || !json_object_size(add))
		return;
	m = jx_obj_ensure(k, key);
	json_object_foreach((json_t *)add, name, v) {
		if (json_is_string(v))
			json_object_set(m, name, v);
	}
}

int render_kustomize_edit(json_t *k, const json_t *ks)
{
	static const char *const strings[] = {"namePrefix", "nameSuffix", "namespace"};
	size_t i;
	json_t *v;

	if (!json_is_object(k))
		return err_set(BERR_INVALID, "kustomization is not a map");
	if (!json_is_object(ks))
		return 0;
	for (size_t s = 0; s < 3; s++) {
		const char *val = jx_str(ks, strings[s]);
		if (val && *val)
			json_object_set_new(k, strings[s], json_string(val));
	}
	json_array_foreach(json_object_get(ks, "images"), i, v) {
		json_t *list = json_object_get(k, "images"), *e;
		if (!json_is_string(v))
			return err_set(BERR_INVALID, "kustomize images: not a string");
		if (!json_is_array(list)) {
			list = json_array();
			json_object_set_new(k, "images", list);
		}
		if (!(e = image_entry(json_string_value(v))))
			return err_set(BERR_NOMEM, "out of memory");
		upsert_by_name(list, e);
	}
	merge_map(k, "commonLabels", json_object_get(ks, "commonLabels"));
	merge_map(k, "commonAnnotations", json_object_get(ks, "commonAnnotations"));
	json_array_foreach(json_object_get(ks, "replicas"), i, v) {
		json_t *list = json_object_get(k, "replicas"), *count = json_object_get(v, "count");
		int64_t n = 0;
		const char *name = jx_str(v, "name");
		if (!name)
			return err_set(BERR_INVALID, "kustomize replicas: entry without a name");
		if (json_is_integer(count))
			n = (int64_t)json_integer_value(count);
		else if (!json_is_string(count) || str_to_i64(json_string_value(count), &n) < 0)
			return err_set(BERR_INVALID, "kustomize replicas \"%s\": count is not a number", name);
		if (!json_is_array(list)) {
			list = json_array();
			json_object_set_new(k, "replicas", list);
		}
		upsert_by_name(list, json_pack("{s:s, s:I}", "name", name, "count", (json_int_t)n));
	}
	return 0;
}

/* Kustomize reads whatever local path a kustomization names; make sure all
 * of them (through nested kustomizations) stay in the repository. Remote
 * resources (URLs) are left to kustomize. */
static int check_kustomize_paths(const struct render_ctx *c, const char *dir, int depth);

static int check_one_path(const struct render_ctx *c, const char *dir, const char *p, int depth)
{
	char resolved_dir[PATH_MAX];
	char *rel, *resolved = NULL;
	int rc;

	if (!p || strstr(p, "://") || str_starts_with(p, "github.com/") || str_starts_with(p, "git@"))
		return 0;
	if (p[0] == '/')
		return err_set(BERR_FORBIDDEN, "kustomization path \"%.200s\" is outside repository root", p);
	str_copy(resolved_dir, dir + strlen(c->o->root), sizeof(resolved_dir));
	rel = str_printf("%s%s%s", resolved_dir[0] == '/' ? resolved_dir + 1 : resolved_dir,
			 resolved_dir[0] ? "/" : "", p);
	if (!rel)
		return err_set(BERR_NOMEM, "out of memory");
	rc = fsx_confine(c->o->root, rel, &resolved);
	free(rel);
	if (rc == BERR_NOTFOUND)
		return 0; /* kustomize will say it is missing */
	if (rc < 0)
		return err_set(rc, "kustomization path \"%.200s\" is outside repository root", p);
	struct stat st;
	if (stat(resolved, &st) == 0 && S_ISDIR(st.st_mode))
		rc = check_kustomize_paths(c, resolved, depth + 1);
	free(resolved);
	return rc;
}

static int check_kustomize_paths(const struct render_ctx *c, const char *dir, int depth)
{
	static const char *const lists[] = {"resources", "bases", "components", "crds", "patchesStrategicMerge",
					    "configurations", "transformers", "generators"};
	char *path = find_kustomization(dir);
	json_t *k = NULL, *v, *g;
	size_t i, j;
	int rc = 0;

	if (depth > 20)
		return err_set(BERR_TOOLARGE, "kustomizations nested too deep");
	if (!path)
		return 0;
	if ((rc = load_yaml_file(path, &k)) < 0) {
		free(path);
		return err_prefix(rc, "kustomization");
	}
	free(path);
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]) && !rc; l++)
		json_array_foreach(json_object_get(k, lists[l]), i, v) {
			if (json_is_string(v) && (rc = check_one_path(c, dir, json_string_value(v), depth)) < 0)
				break;
		}
	json_array_foreach(json_object_get(k, "patches"), i, v) {
		if (rc == 0)
			rc = check_one_path(c, dir, jx_str(v, "path"), depth);
	}
	static const char *const gens[] = {"configMapGenerator", "secretGenerator"};
	for (int gi = 0; gi < 2 && !rc; gi++)
		json_array_foreach(json_object_get(k, gens[gi]), i, g) {
			static const char *const fl[] = {"files", "envs"};
			for (int f = 0; f < 2 && !rc; f++)
				json_array_foreach(json_object_get(g, fl[f]), j, v) {
					const char *s = json_string_value(v);
					const char *eq = s ? strchr(s, '=') : NULL;
					if (s && (rc = check_one_path(c, dir, eq ? eq + 1 : s, depth)) < 0)
						break;
				}
			if (!rc && jx_str(g, "env"))
				rc = check_one_path(c, dir, jx_str(g, "env"), depth);
		}
	json_decref(k);
	return rc;
}

static int kustomize_apply_source(struct render_ctx *c)
{
	const json_t *ks = jx_path(c->o->source, "kustomize", NULL);
	char *path;
	json_t *k = NULL;
	struct buf out;
	int rc;

	if (!json_is_object(ks) || !json_object_size(ks))
		return 0;
	if (!(path = find_kustomization(c->app_dir)))
		return err_set(BERR_NOTFOUND, "no kustomization file in the app folder");
	buf_init(&out, MAX_SMALL_FILE);
	if ((rc = load_yaml_file(path, &k)) < 0 || (rc = render_kustomize_edit(k, ks)) < 0 ||
	    (rc = kyaml_dump(k, &out)) < 0)
		goto out;
	/* replace, not write through: the file may be a (checked) symlink */
	unlink(path);
	rc = write_file(path, out.ptr, out.len);
out:
	json_decref(k);
	buf_release(&out);
	free(path);
	return rc;
}

int render_kustomize(struct render_ctx *c)
{
	struct buf out;
	char *kpath = NULL;
	int rc;

	buf_init(&out, c->o->max_tool_output ? c->o->max_tool_output : (size_t)50 << 20);
	if ((rc = check_kustomize_paths(c, c->app_dir, 0)) < 0 || (rc = kustomize_apply_source(c)) < 0)
		goto out;
	const char *path_var = c->env[0] + 5;
	if ((kpath = subproc_which("kustomize", path_var))) {
		const char *argv[] = {"kustomize", "build", ".", NULL};
		rc = render_tool(c, argv, c->app_dir, &out);
	} else {
		const char *argv[] = {"kubectl", "kustomize", ".", NULL};
		rc = render_tool(c, argv, c->app_dir, &out);
	}
	if (rc < 0)
		goto out;
	rc = render_add_yaml(c, out.ptr, out.len, "kustomize build");
out:
	free(kpath);
	buf_release(&out);
	return rc;
}
