/*
 * model — Application parsing, validation, serialisation and Argo CD
 * conversion. Status shapes live in model_status.c, projects in
 * model_project.c, cluster and repository Secrets in model_creds.c.
 */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "jsonx.h"
#include "modeljson.h"
#include "str.h"

#define TRY(x) do { if ((rc = (x)) < 0) goto out; } while (0)

/* ---- string lists -------------------------------------------------------- */

void model_strv_release(struct model_strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

int model_strv_push(struct model_strv *sv, const char *s)
{
	char **nv;
	char *copy;

	if (sv->n >= MODEL_MAX_LIST)
		return err_set(BERR_TOOLARGE, "list longer than %d entries", MODEL_MAX_LIST);
	copy = strdup(s);
	if (!copy)
		return err_set(BERR_NOMEM, "out of memory");
	nv = realloc(sv->v, (sv->n + 1) * sizeof(*nv));
	if (!nv) {
		free(copy);
		return err_set(BERR_NOMEM, "out of memory");
	}
	nv[sv->n++] = copy;
	sv->v = nv;
	return 0;
}

bool model_strv_has(const struct model_strv *sv, const char *s)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

/* ---- metadata ------------------------------------------------------------- */

void model_meta_release(struct model_meta *m)
{
	free(m->name);
	free(m->namespace_);
	free(m->uid);
	free(m->resource_version);
	free(m->deletion_timestamp);
	model_strv_release(&m->finalizers);
	json_decref(m->labels);
	json_decref(m->annotations);
	json_decref(m->raw);
	memset(m, 0, sizeof(*m));
}

/* resources-finalizer.argocd.argoproj.io[/suffix] -> resources-finalizer.berth.dev[/suffix] */
static char *mapped_finalizer(const char *s)
{
	size_t n = strlen(MODEL_ARGO_FINALIZER);

	if (strncmp(s, MODEL_ARGO_FINALIZER, n) != 0 || (s[n] && s[n] != '/'))
		return NULL;
	return str_printf("%s%s", MODEL_FINALIZER, s + n);
}

static int map_argo_finalizers(struct model_strv *fins)
{
	size_t i;

	for (i = 0; i < fins->n; i++) {
		char *m = mapped_finalizer(fins->v[i]);
		if (m) {
			free(fins->v[i]);
			fins->v[i] = m;
		}
	}
	return 0;
}

int model_meta_parse(const json_t *obj, struct model_meta *out)
{
	const json_t *md;
	const char *av;
	int rc;

	TRY(mj_obj(obj, "metadata", "", &md));
	if (!md)
		return 0;
	TRY(mj_str(md, "name", "metadata", &out->name));
	TRY(mj_str(md, "namespace", "metadata", &out->namespace_));
	TRY(mj_str(md, "uid", "metadata", &out->uid));
	TRY(mj_str(md, "resourceVersion", "metadata", &out->resource_version));
	TRY(mj_int(md, "generation", "metadata", &out->generation));
	TRY(mj_str(md, "deletionTimestamp", "metadata", &out->deletion_timestamp));
	TRY(mj_strv(md, "finalizers", "metadata", &out->finalizers));
	TRY(mj_str_map(md, "labels", "metadata", &out->labels));
	TRY(mj_str_map(md, "annotations", "metadata", &out->annotations));
	av = jx_str(obj, "apiVersion");
	if (av && strcmp(av, MODEL_ARGO_API_VERSION) == 0)
		TRY(map_argo_finalizers(&out->finalizers));
	out->raw = json_deep_copy(md);
	if (!out->raw)
		rc = err_set(BERR_NOMEM, "out of memory");
out:
	return rc;
}

json_t *model_meta_to_json(const struct model_meta *m)
{
	json_t *md = m->raw ? json_deep_copy(m->raw) : json_object();
	int rc = 0;

	if (!md)
		return NULL;
	TRY(mj_set_str(md, "name", m->name));
	TRY(mj_set_str(md, "namespace", m->namespace_));
	TRY(mj_set_str(md, "uid", m->uid));
	TRY(mj_set_str(md, "resourceVersion", m->resource_version));
	if (m->generation)
		TRY(mj_set_int(md, "generation", m->generation));
	TRY(mj_set_str(md, "deletionTimestamp", m->deletion_timestamp));
	json_object_del(md, "finalizers");
	TRY(mj_set_strv(md, "finalizers", &m->finalizers));
	json_object_del(md, "labels");
	TRY(mj_set_json(md, "labels", m->labels));
	json_object_del(md, "annotations");
	TRY(mj_set_json(md, "annotations", m->annotations));
out:
	if (rc < 0) {
		json_decref(md);
		return NULL;
	}
	return md;
}

/* ---- durations ------------------------------------------------------------ */

void model_format_duration(int64_t ms, char *out, size_t size)
{
	int64_t h = ms / 3600000, m = (ms / 60000) % 60, s = (ms / 1000) % 60, rest = ms % 1000;
	struct {
		char b[64];
		size_t len;
	} acc = { .len = 0 };

	acc.b[0] = '\0';
	if (ms <= 0 || rest) {
		if (ms < 1000 || (h == 0 && m == 0 && s == 0)) {
			snprintf(out, size, "%lldms", (long long)ms);
			return;
		}
	}
	if (h)
		acc.len += (size_t)snprintf(acc.b + acc.len, sizeof(acc.b) - acc.len, "%lldh", (long long)h);
	if (m)
		acc.len += (size_t)snprintf(acc.b + acc.len, sizeof(acc.b) - acc.len, "%lldm", (long long)m);
	if (s || rest) {
		if (rest)
			snprintf(acc.b + acc.len, sizeof(acc.b) - acc.len, "%lld.%03llds",
				 (long long)s, (long long)rest);
		else
			snprintf(acc.b + acc.len, sizeof(acc.b) - acc.len, "%llds", (long long)s);
	}
	snprintf(out, size, "%s", acc.b);
}

/* Go durations as Argo CD writes them: "5s", "3m", "1h30m", "250ms", and
 * "3m0s" (Go's own formatting). */
static int parse_duration(const json_t *obj, const char *key, const char *path, int64_t *out)
{
	char *s = NULL;
	char p[256];
	int64_t ms;
	int rc = mj_str(obj, key, path, &s);

	if (rc < 0 || !s)
		return rc;
	if (str_to_duration_ms(s, &ms) < 0 || ms < 0) {
		rc = err_set(BERR_INVALID, "%s: \"%s\" is not a duration (like 5s, 3m, 1h30m)",
			     mj_path(p, sizeof(p), path, key), s);
		free(s);
		return rc;
	}
	free(s);
	*out = ms;
	return 0;
}

/* ---- source --------------------------------------------------------------- */

static void helm_release(struct model_helm *h)
{
	size_t i;

	model_strv_release(&h->value_files);
	free(h->values);
	json_decref(h->values_object);
	for (i = 0; i < h->n_parameters; i++) {
		free(h->parameters[i].name);
		free(h->parameters[i].value);
	}
	free(h->parameters);
	free(h->release_name);
	json_decref(h->extra);
	memset(h, 0, sizeof(*h));
}

static void kustomize_release(struct model_kustomize *k)
{
	size_t i;

	free(k->name_prefix);
	free(k->name_suffix);
	model_strv_release(&k->images);
	json_decref(k->common_labels);
	json_decref(k->common_annotations);
	free(k->namespace_);
	for (i = 0; i < k->n_replicas; i++)
		free(k->replicas[i].name);
	free(k->replicas);
	json_decref(k->extra);
	memset(k, 0, sizeof(*k));
}

static void jsonnet_vars_release(struct model_jsonnet_var *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

static void directory_release(struct model_directory *d)
{
	free(d->include);
	free(d->exclude);
	jsonnet_vars_release(d->ext_vars, d->n_ext_vars);
	jsonnet_vars_release(d->tlas, d->n_tlas);
	model_strv_release(&d->jsonnet_libs);
	json_decref(d->extra);
	memset(d, 0, sizeof(*d));
}

void model_source_release(struct model_source *s)
{
	free(s->repo_url);
	free(s->target_revision);
	free(s->path);
	free(s->chart);
	free(s->ref);
	free(s->name);
	helm_release(&s->helm);
	kustomize_release(&s->kustomize);
	directory_release(&s->directory);
	json_decref(s->extra);
	memset(s, 0, sizeof(*s));
}

static int parse_helm(const json_t *h, const char *path, struct model_helm *out)
{
	const json_t *params, *vo;
	char p[256], pi[280];
	size_t i;
	json_t *e;
	int rc;

	static const char *const known[] = { "valueFiles", "values", "valuesObject", "releaseName",
					     "skipCrds", "ignoreMissingValueFiles", "parameters", NULL };

	out->present = true;
	TRY(mj_extra(h, known, &out->extra));
	TRY(mj_strv(h, "valueFiles", path, &out->value_files));
	TRY(mj_str(h, "values", path, &out->values));
	TRY(mj_obj(h, "valuesObject", path, &vo));
	if (vo && !(out->values_object = json_deep_copy(vo)))
		TRY(err_set(BERR_NOMEM, "out of memory"));
	TRY(mj_str(h, "releaseName", path, &out->release_name));
	TRY(mj_bool(h, "skipCrds", path, &out->skip_crds));
	TRY(mj_bool(h, "ignoreMissingValueFiles", path, &out->ignore_missing_value_files));
	TRY(mj_arr(h, "parameters", path, &params));
	if (!params)
		return 0;
	TRY(mj_calloc(json_array_size(params), sizeof(*out->parameters), (void **)&out->parameters));
	mj_path(p, sizeof(p), path, "parameters");
	json_array_foreach(params, i, e) {
		struct model_helm_param *hp = &out->parameters[i];
		mj_path_index(pi, sizeof(pi), p, i);
		if (!json_is_object(e))
			TRY(err_set(BERR_INVALID, "%s: must be an object", pi));
		out->n_parameters = i + 1;
		TRY(mj_str(e, "name", pi, &hp->name));
		TRY(mj_str(e, "value", pi, &hp->value));
		TRY(mj_bool(e, "forceString", pi, &hp->force_string));
	}
out:
	return rc;
}

static int parse_kustomize(const json_t *k, const char *path, struct model_kustomize *out)
{
	const json_t *reps;
	char p[256], pi[280];
	size_t i;
	json_t *e;
	int rc;

	static const char *const known[] = { "namePrefix", "nameSuffix", "images", "commonLabels",
					     "commonAnnotations", "namespace", "replicas", NULL };

	out->present = true;
	TRY(mj_extra(k, known, &out->extra));
	TRY(mj_str(k, "namePrefix", path, &out->name_prefix));
	TRY(mj_str(k, "nameSuffix", path, &out->name_suffix));
	TRY(mj_strv(k, "images", path, &out->images));
	TRY(mj_str_map(k, "commonLabels", path, &out->common_labels));
	TRY(mj_str_map(k, "commonAnnotations", path, &out->common_annotations));
	TRY(mj_str(k, "namespace", path, &out->namespace_));
	TRY(mj_arr(k, "replicas", path, &reps));
	if (!reps)
		return 0;
	TRY(mj_calloc(json_array_size(reps), sizeof(*out->replicas), (void **)&out->replicas));
	mj_path(p, sizeof(p), path, "replicas");
	json_array_foreach(reps, i, e) {
		mj_path_index(pi, sizeof(pi), p, i);
		if (!json_is_object(e))
			TRY(err_set(BERR_INVALID, "%s: must be an object", pi));
		out->n_replicas = i + 1;
		TRY(mj_str(e, "name", pi, &out->replicas[i].name));
		TRY(mj_int_or_str(e, "count", pi, &out->replicas[i].count));
	}
out:
	return rc;
}

static int parse_jsonnet_vars(const json_t *obj, const char *key, const char *path,
			      struct model_jsonnet_var **ret, size_t *ret_n)
{
	const json_t *arr;
	char p[256], pi[280];
	size_t i;
	json_t *e;
	int rc;

	TRY(mj_arr(obj, key, path, &arr));
	if (!arr)
		return 0;
	TRY(mj_calloc(json_array_size(arr), sizeof(**ret), (void **)ret));
	mj_path(p, sizeof(p), path, key);
	json_array_foreach(arr, i, e) {
		mj_path_index(pi, sizeof(pi), p, i);
		if (!json_is_object(e))
			TRY(err_set(BERR_INVALID, "%s: must be an object", pi));
		*ret_n = i + 1;
		TRY(mj_str(e, "name", pi, &(*ret)[i].name));
		TRY(mj_str(e, "value", pi, &(*ret)[i].value));
		TRY(mj_bool(e, "code", pi, &(*ret)[i].code));
	}
out:
	return rc;
}

static int parse_directory(const json_t *d, const char *path, struct model_directory *out)
{
	const json_t *js;
	char p[256];
	int rc;

	static const char *const known[] = { "recurse", "include", "exclude", "jsonnet", NULL };

	out->present = true;
	TRY(mj_extra(d, known, &out->extra));
	TRY(mj_bool(d, "recurse", path, &out->recurse));
	TRY(mj_str(d, "include", path, &out->include));
	TRY(mj_str(d, "exclude", path, &out->exclude));
	TRY(mj_obj(d, "jsonnet", path, &js));
	if (!js)
		return 0;
	mj_path(p, sizeof(p), path, "jsonnet");
	TRY(parse_jsonnet_vars(js, "extVars", p, &out->ext_vars, &out->n_ext_vars));
	TRY(parse_jsonnet_vars(js, "tlas", p, &out->tlas, &out->n_tlas));
	TRY(mj_strv(js, "libs", p, &out->jsonnet_libs));
out:
	return rc;
}

int model_source_parse(const json_t *obj, const char *path, struct model_source *out)
{
	struct model_source s = { 0 };
	const json_t *h, *k, *d;
	char p[256];
	int rc;

	static const char *const known[] = { "repoURL", "targetRevision", "path", "chart", "ref",
					     "name", "helm", "kustomize", "directory", NULL };

	if (!json_is_object(obj))
		return err_set(BERR_INVALID, "%s: must be an object", path);
	TRY(mj_extra(obj, known, &s.extra));
	TRY(mj_str(obj, "repoURL", path, &s.repo_url));
	TRY(mj_str(obj, "targetRevision", path, &s.target_revision));
	TRY(mj_str(obj, "path", path, &s.path));
	TRY(mj_str(obj, "chart", path, &s.chart));
	TRY(mj_str(obj, "ref", path, &s.ref));
	TRY(mj_str(obj, "name", path, &s.name));
	TRY(mj_obj(obj, "helm", path, &h));
	if (h)
		TRY(parse_helm(h, mj_path(p, sizeof(p), path, "helm"), &s.helm));
	TRY(mj_obj(obj, "kustomize", path, &k));
	if (k)
		TRY(parse_kustomize(k, mj_path(p, sizeof(p), path, "kustomize"), &s.kustomize));
	TRY(mj_obj(obj, "directory", path, &d));
	if (d)
		TRY(parse_directory(d, mj_path(p, sizeof(p), path, "directory"), &s.directory));
	if (!s.target_revision || !*s.target_revision) {
		free(s.target_revision);
		if (!(s.target_revision = strdup(MODEL_DEFAULT_REVISION)))
			TRY(err_set(BERR_NOMEM, "out of memory"));
	}
	*out = s;
	return 0;
out:
	model_source_release(&s);
	return rc;
}

static json_t *helm_to_json(const struct model_helm *h)
{
	json_t *o = json_object(), *params;
	size_t i;
	int rc = 0;

	if (!o)
		return NULL;
	TRY(mj_set_strv(o, "valueFiles", &h->value_files));
	TRY(mj_set_str(o, "values", h->values));
	TRY(mj_set_json(o, "valuesObject", h->values_object));
	TRY(mj_set_str(o, "releaseName", h->release_name));
	TRY(mj_set_bool(o, "skipCrds", h->skip_crds));
	TRY(mj_set_bool(o, "ignoreMissingValueFiles", h->ignore_missing_value_files));
	TRY(mj_merge_extra(o, h->extra));
	if (h->n_parameters) {
		TRY(mj_set_new(o, "parameters", params = json_array()));
		for (i = 0; i < h->n_parameters; i++) {
			json_t *e = json_object();
			TRY(e ? json_array_append_new(params, e) ? BERR_NOMEM : 0 : BERR_NOMEM);
			TRY(mj_set_str(e, "name", h->parameters[i].name));
			TRY(mj_set_str(e, "value", h->parameters[i].value));
			TRY(mj_set_bool(e, "forceString", h->parameters[i].force_string));
		}
	}
out:
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *kustomize_to_json(const struct model_kustomize *k)
{
	json_t *o = json_object(), *reps;
	size_t i;
	int rc = 0;

	if (!o)
		return NULL;
	TRY(mj_set_str(o, "namePrefix", k->name_prefix));
	TRY(mj_set_str(o, "nameSuffix", k->name_suffix));
	TRY(mj_set_strv(o, "images", &k->images));
	TRY(mj_set_json(o, "commonLabels", k->common_labels));
	TRY(mj_set_json(o, "commonAnnotations", k->common_annotations));
	TRY(mj_set_str(o, "namespace", k->namespace_));
	TRY(mj_merge_extra(o, k->extra));
	if (k->n_replicas) {
		TRY(mj_set_new(o, "replicas", reps = json_array()));
		for (i = 0; i < k->n_replicas; i++) {
			json_t *e = json_object();
			TRY(e ? json_array_append_new(reps, e) ? BERR_NOMEM : 0 : BERR_NOMEM);
			TRY(mj_set_str(e, "name", k->replicas[i].name));
			TRY(mj_set_int(e, "count", k->replicas[i].count));
		}
	}
out:
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int jsonnet_vars_set(json_t *o, const char *key, const struct model_jsonnet_var *v, size_t n)
{
	json_t *arr;
	size_t i;
	int rc = 0;

	if (!n)
		return 0;
	TRY(mj_set_new(o, key, arr = json_array()));
	for (i = 0; i < n; i++) {
		json_t *e = json_object();
		TRY(e ? json_array_append_new(arr, e) ? BERR_NOMEM : 0 : BERR_NOMEM);
		TRY(mj_set_str(e, "name", v[i].name));
		TRY(mj_set_str(e, "value", v[i].value));
		TRY(mj_set_bool(e, "code", v[i].code));
	}
out:
	return rc;
}

static json_t *directory_to_json(const struct model_directory *d)
{
	json_t *o = json_object(), *js;
	int rc = 0;

	if (!o)
		return NULL;
	TRY(mj_set_bool(o, "recurse", d->recurse));
	TRY(mj_set_str(o, "include", d->include));
	TRY(mj_set_str(o, "exclude", d->exclude));
	TRY(mj_merge_extra(o, d->extra));
	if (d->n_ext_vars || d->n_tlas || d->jsonnet_libs.n) {
		TRY(mj_set_new(o, "jsonnet", js = json_object()));
		TRY(jsonnet_vars_set(js, "extVars", d->ext_vars, d->n_ext_vars));
		TRY(jsonnet_vars_set(js, "tlas", d->tlas, d->n_tlas));
		TRY(mj_set_strv(js, "libs", &d->jsonnet_libs));
	}
out:
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The rendering settings only (no repoURL, targetRevision, path). */
static int source_settings_set(json_t *o, const struct model_source *s)
{
	int rc = 0;

	TRY(mj_set_str(o, "chart", s->chart));
	TRY(mj_set_str(o, "ref", s->ref));
	if (s->helm.present)
		TRY(mj_set_new(o, "helm", helm_to_json(&s->helm)));
	if (s->kustomize.present)
		TRY(mj_set_new(o, "kustomize", kustomize_to_json(&s->kustomize)));
	if (s->directory.present)
		TRY(mj_set_new(o, "directory", directory_to_json(&s->directory)));
	TRY(mj_merge_extra(o, s->extra));
out:
	return rc;
}

json_t *model_source_to_json(const struct model_source *s)
{
	json_t *o = json_object();
	int rc = 0;

	if (!o)
		return NULL;
	TRY(mj_set_str(o, "repoURL", s->repo_url));
	TRY(mj_set_str(o, "targetRevision", s->target_revision));
	TRY(mj_set_str(o, "path", s->path));
	TRY(mj_set_str(o, "name", s->name));
	TRY(source_settings_set(o, s));
out:
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

const char *model_source_explicit_type(const struct model_source *s)
{
	if (s->helm.present || s->chart)
		return "Helm";
	if (s->kustomize.present)
		return "Kustomize";
	if (s->directory.present)
		return "Directory";
	return NULL;
}

int model_source_settings_hash(const struct model_source *s, char out[65])
{
	json_t *o = json_object();
	int rc = 0;

	if (!o)
		return err_set(BERR_NOMEM, "out of memory");
	TRY(source_settings_set(o, s));
	TRY(jx_hash_hex(o, out));
out:
	json_decref(o);
	return rc;
}

void model_sources_release(struct model_sources *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		model_source_release(&ss->v[i]);
	free(ss->v);
	memset(ss, 0, sizeof(*ss));
}

int model_sources_parse(const json_t *obj, const char *path, struct model_sources *out)
{
	struct model_sources ss = { 0 };
	const json_t *src, *arr;
	char p[256], pi[280];
	size_t i;
	json_t *e;
	int rc;

	TRY(mj_obj(obj, "source", path, &src));
	TRY(mj_arr(obj, "sources", path, &arr));
	if (src && arr && json_array_size(arr) > 0)
		TRY(err_set(BERR_INVALID, "%s: only one of source or sources may be set",
			    mj_path(p, sizeof(p), path, "sources")));
	if (src) {
		TRY(mj_calloc(1, sizeof(*ss.v), (void **)&ss.v));
		TRY(model_source_parse(src, mj_path(p, sizeof(p), path, "source"), &ss.v[0]));
		ss.n = 1;
	} else if (arr && json_array_size(arr) > 0) {
		ss.multi = true;
		TRY(mj_calloc(json_array_size(arr), sizeof(*ss.v), (void **)&ss.v));
		mj_path(p, sizeof(p), path, "sources");
		json_array_foreach(arr, i, e) {
			TRY(model_source_parse(e, mj_path_index(pi, sizeof(pi), p, i), &ss.v[i]));
			ss.n = i + 1;
		}
	}
	model_sources_release(out);
	*out = ss;
	return 0;
out:
	model_sources_release(&ss);
	return rc;
}

int model_sources_set(json_t *obj, const struct model_sources *ss)
{
	json_t *arr;
	size_t i;
	int rc = 0;

	if (ss->n == 0)
		return 0;
	if (!ss->multi)
		return mj_set_new(obj, "source", model_source_to_json(&ss->v[0]));
	TRY(mj_set_new(obj, "sources", arr = json_array()));
	for (i = 0; i < ss->n; i++) {
		json_t *e = model_source_to_json(&ss->v[i]);
		if (!e || json_array_append_new(arr, e) < 0)
			TRY(err_set(BERR_NOMEM, "out of memory"));
	}
out:
	return rc;
}

/* ---- destination, sync policy, ignoreDifferences --------------------------- */

void model_destination_release(struct model_destination *d)
{
	free(d->server);
	free(d->name);
	free(d->namespace_);
	memset(d, 0, sizeof(*d));
}

int model_destination_parse(const json_t *obj, const char *path, struct model_destination *out)
{
	int rc;

	if (!json_is_object(obj))
		return err_set(BERR_INVALID, "%s: must be an object", path);
	TRY(mj_str(obj, "server", path, &out->server));
	TRY(mj_str(obj, "name", path, &out->name));
	TRY(mj_str(obj, "namespace", path, &out->namespace_));
out:
	return rc;
}

json_t *model_destination_to_json(const struct model_destination *d)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (mj_set_str(o, "server", d->server) < 0 || mj_set_str(o, "name", d->name) < 0 ||
	    mj_set_str(o, "namespace", d->namespace_) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

bool model_sync_option_true(const struct model_strv *options, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < options->n; i++) {
		const char *o = options->v[i];
		if (strncmp(o, name, n) == 0 && o[n] == '=' && strcasecmp(o + n + 1, "true") == 0)
			return true;
	}
	return false;
}

static int parse_sync_policy(const json_t *sp, struct model_sync_policy *out)
{
	static const char *const known[] = { "automated", "syncOptions", "retry", NULL };
	const char *path = "spec.syncPolicy";
	const json_t *au, *retry, *bo;
	int rc;

	TRY(mj_extra(sp, known, &out->extra));
	TRY(mj_obj(sp, "automated", path, &au));
	if (au) {
		out->automated = true;
		TRY(mj_bool(au, "prune", "spec.syncPolicy.automated", &out->prune));
		TRY(mj_bool(au, "selfHeal", "spec.syncPolicy.automated", &out->self_heal));
		TRY(mj_bool(au, "allowEmpty", "spec.syncPolicy.automated", &out->allow_empty));
		/* Argo CD 2.14+: automated.enabled: false switches it off. */
		bool enabled = true;
		TRY(mj_bool(au, "enabled", "spec.syncPolicy.automated", &enabled));
		out->automated = enabled;
	}
	TRY(mj_strv(sp, "syncOptions", path, &out->sync_options));
	TRY(mj_obj(sp, "retry", path, &retry));
	if (!retry)
		return 0;
	out->retry.present = true;
	TRY(mj_int(retry, "limit", "spec.syncPolicy.retry", &out->retry.limit));
	TRY(mj_obj(retry, "backoff", "spec.syncPolicy.retry", &bo));
	if (bo) {
		const char *bp = "spec.syncPolicy.retry.backoff";
		TRY(parse_duration(bo, "duration", bp, &out->retry.backoff.duration_ms));
		TRY(mj_int_or_str(bo, "factor", bp, &out->retry.backoff.factor));
		TRY(parse_duration(bo, "maxDuration", bp, &out->retry.backoff.max_duration_ms));
	}
out:
	return rc;
}

static void sync_policy_defaults(struct model_sync_policy *sp)
{
	sp->retry.backoff.duration_ms = 5000;
	sp->retry.backoff.factor = 2;
	sp->retry.backoff.max_duration_ms = 180000;
}

static json_t *sync_policy_to_json(const struct model_sync_policy *sp)
{
	json_t *o = json_object(), *au, *retry, *bo;
	char d[64];
	int rc = 0;

	if (!o)
		return NULL;
	if (sp->automated) {
		TRY(mj_set_new(o, "automated", au = json_object()));
		TRY(mj_set_bool(au, "prune", sp->prune));
		TRY(mj_set_bool(au, "selfHeal", sp->self_heal));
		TRY(mj_set_bool(au, "allowEmpty", sp->allow_empty));
	}
	TRY(mj_set_strv(o, "syncOptions", &sp->sync_options));
	if (sp->retry.present) {
		TRY(mj_set_new(o, "retry", retry = json_object()));
		TRY(mj_set_int(retry, "limit", sp->retry.limit));
		TRY(mj_set_new(retry, "backoff", bo = json_object()));
		model_format_duration(sp->retry.backoff.duration_ms, d, sizeof(d));
		TRY(mj_set_str(bo, "duration", d));
		TRY(mj_set_int(bo, "factor", sp->retry.backoff.factor));
		model_format_duration(sp->retry.backoff.max_duration_ms, d, sizeof(d));
		TRY(mj_set_str(bo, "maxDuration", d));
	}
	TRY(mj_merge_extra(o, sp->extra));
out:
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void ignore_diff_release(struct model_ignore_diff *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].group);
		free(v[i].kind);
		free(v[i].name);
		free(v[i].namespace_);
		model_strv_release(&v[i].json_pointers);
		model_strv_release(&v[i].jq_path_expressions);
		model_strv_release(&v[i].managed_fields_managers);
	}
	free(v);
}

static int parse_ignore_diffs(const json_t *arr, struct model_app *app)
{
	char pi[64];
	size_t i;
	json_t *e;
	int rc = 0;

	TRY(mj_calloc(json_array_size(arr), sizeof(*app->ignore_differences),
		      (void **)&app->ignore_differences));
	json_array_foreach(arr, i, e) {
		struct model_ignore_diff *d = &app->ignore_differences[i];
		mj_path_index(pi, sizeof(pi), "spec.ignoreDifferences", i);
		if (!json_is_object(e))
			TRY(err_set(BERR_INVALID, "%s: must be an object", pi));
		app->n_ignore_differences = i + 1;
		TRY(mj_str(e, "group", pi, &d->group));
		TRY(mj_str(e, "kind", pi, &d->kind));
		TRY(mj_str(e, "name", pi, &d->name));
		TRY(mj_str(e, "namespace", pi, &d->namespace_));
		TRY(mj_strv(e, "jsonPointers", pi, &d->json_pointers));
		TRY(mj_strv(e, "jqPathExpressions", pi, &d->jq_path_expressions));
		TRY(mj_strv(e, "managedFieldsManagers", pi, &d->managed_fields_managers));
	}
out:
	return rc;
}

static json_t *ignore_diffs_to_json(const struct model_app *app)
{
	json_t *arr = json_array();
	size_t i;
	int rc = 0;

	if (!arr)
		return NULL;
	for (i = 0; i < app->n_ignore_differences; i++) {
		const struct model_ignore_diff *d = &app->ignore_differences[i];
		json_t *e = json_object();
		TRY(e ? json_array_append_new(arr, e) ? BERR_NOMEM : 0 : BERR_NOMEM);
		TRY(mj_set_str(e, "group", d->group));
		TRY(mj_set_str(e, "kind", d->kind));
		TRY(mj_set_str(e, "name", d->name));
		TRY(mj_set_str(e, "namespace", d->namespace_));
		TRY(mj_set_strv(e, "jsonPointers", &d->json_pointers));
		TRY(mj_set_strv(e, "jqPathExpressions", &d->jq_path_expressions));
		TRY(mj_set_strv(e, "managedFieldsManagers", &d->managed_fields_managers));
	}
out:
	if (rc < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* ---- operation -------------------------------------------------------------- */

void model_operation_release(struct model_operation *op)
{
	size_t i;

	free(op->revision);
	model_strv_release(&op->revisions);
	for (i = 0; i < op->n_resources; i++) {
		free(op->resources[i].group);
		free(op->resources[i].kind);
		free(op->resources[i].name);
		free(op->resources[i].namespace_);
	}
	free(op->resources);
	model_strv_release(&op->sync_options);
	model_sources_release(&op->sources);
	free(op->initiated_by.username);
	memset(op, 0, sizeof(*op));
}

int model_initiated_by_parse(const json_t *obj, const char *path, struct model_initiated_by *out)
{
	const json_t *ib;
	char p[256];
	int rc;

	TRY(mj_obj(obj, "initiatedBy", path, &ib));
	if (!ib)
		return 0;
	mj_path(p, sizeof(p), path, "initiatedBy");
	TRY(mj_str(ib, "username", p, &out->username));
	TRY(mj_bool(ib, "automated", p, &out->automated));
out:
	return rc;
}

int model_initiated_by_set(json_t *obj, const struct model_initiated_by *ib)
{
	json_t *o;
	int rc = 0;

	if (!ib->username && !ib->automated)
		return 0;
	TRY(mj_set_new(obj, "initiatedBy", o = json_object()));
	TRY(mj_set_str(o, "username", ib->username));
	TRY(mj_set_bool(o, "automated", ib->automated));
out:
	return rc;
}

static int parse_sync_resources(const json_t *arr, const char *path, struct model_operation *op)
{
	char pi[300];
	size_t i;
	json_t *e;
	int rc = 0;

	TRY(mj_calloc(json_array_size(arr), sizeof(*op->resources), (void **)&op->resources));
	json_array_foreach(arr, i, e) {
		struct model_sync_resource *r = &op->resources[i];
		mj_path_index(pi, sizeof(pi), path, i);
		if (!json_is_object(e))
			TRY(err_set(BERR_INVALID, "%s: must be an object", pi));
		op->n_resources = i + 1;
		TRY(mj_str(e, "group", pi, &r->group));
		TRY(mj_str(e, "kind", pi, &r->kind));
		TRY(mj_str(e, "name", pi, &r->name));
		TRY(mj_str(e, "namespace", pi, &r->namespace_));
	}
out:
	return rc;
}

int model_operation_parse(const json_t *obj, const char *path, struct model_operation *out)
{
	struct model_operation op = { 0 };
	const json_t *sync, *res, *retry;
	char p[256], pr[280];
	int rc;

	if (!json_is_object(obj))
		return err_set(BERR_INVALID, "%s: must be an object", path);
	op.present = true;
	TRY(mj_obj(obj, "sync", path, &sync));
	if (sync) {
		op.sync_present = true;
		mj_path(p, sizeof(p), path, "sync");
		TRY(mj_str(sync, "revision", p, &op.revision));
		TRY(mj_strv(sync, "revisions", p, &op.revisions));
		TRY(mj_bool(sync, "prune", p, &op.prune));
		TRY(mj_bool(sync, "dryRun", p, &op.dry_run));
		TRY(mj_strv(sync, "syncOptions", p, &op.sync_options));
		TRY(mj_arr(sync, "resources", p, &res));
		if (res)
			TRY(parse_sync_resources(res, mj_path(pr, sizeof(pr), p, "resources"), &op));
		TRY(model_sources_parse(sync, p, &op.sources));
	}
	TRY(model_initiated_by_parse(obj, path, &op.initiated_by));
	TRY(mj_obj(obj, "retry", path, &retry));
	if (retry)
		TRY(mj_int(retry, "limit", mj_path(p, sizeof(p), path, "retry"), &op.retry_limit));
	*out = op;
	return 0;
out:
	model_operation_release(&op);
	return rc;
}

json_t *model_operation_to_json(const struct model_operation *op)
{
	json_t *o = json_object(), *sync, *arr, *retry;
	size_t i;
	int rc = 0;

	if (!o)
		return NULL;
	if (op->sync_present) {
		TRY(mj_set_new(o, "sync", sync = json_object()));
		TRY(mj_set_str(sync, "revision", op->revision));
		TRY(mj_set_strv(sync, "revisions", &op->revisions));
		TRY(mj_set_bool(sync, "prune", op->prune));
		TRY(mj_set_bool(sync, "dryRun", op->dry_run));
		TRY(mj_set_strv(sync, "syncOptions", &op->sync_options));
		if (op->n_resources) {
			TRY(mj_set_new(sync, "resources", arr = json_array()));
			for (i = 0; i < op->n_resources; i++) {
				const struct model_sync_resource *r = &op->resources[i];
				json_t *e = json_object();
				TRY(e ? json_array_append_new(arr, e) ? BERR_NOMEM : 0 : BERR_NOMEM);
				TRY(mj_set_new(e, "group", json_string(r->group ? r->group : "")));
				TRY(mj_set_str(e, "kind", r->kind));
				TRY(mj_set_str(e, "name", r->name));
				TRY(mj_set_str(e, "namespace", r->namespace_));
			}
		}
		TRY(model_sources_set(sync, &op->sources));
	}
	TRY(model_initiated_by_set(o, &op->initiated_by));
	if (op->retry_limit) {
		TRY(mj_set_new(o, "retry", retry = json_object()));
		TRY(mj_set_int(retry, "limit", op->retry_limit));
	}
out:
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- Application -------------------------------------------------------------- */

void model_app_release(struct model_app *app)
{
	model_meta_release(&app->meta);
	free(app->project);
	model_sources_release(&app->sources);
	model_destination_release(&app->destination);
	model_strv_release(&app->sync_policy.sync_options);
	json_decref(app->sync_policy.extra);
	json_decref(app->spec_extra);
	ignore_diff_release(app->ignore_differences, app->n_ignore_differences);
	model_operation_release(&app->operation);
	model_app_status_release(&app->status);
	memset(app, 0, sizeof(*app));
}

int model_check_type(const json_t *obj, const char *kind)
{
	const char *av, *k;

	if (!json_is_object(obj))
		return err_set(BERR_INVALID, "%s: must be a JSON object", kind);
	av = jx_str(obj, "apiVersion");
	k = jx_str(obj, "kind");
	if (av && strcmp(av, MODEL_API_VERSION) != 0 && strcmp(av, MODEL_ARGO_API_VERSION) != 0)
		return err_set(BERR_INVALID, "apiVersion: \"%s\" is not %s", av, MODEL_API_VERSION);
	if (k && strcmp(k, kind) != 0)
		return err_set(BERR_INVALID, "kind: \"%s\" is not %s", k, kind);
	return 0;
}

static int parse_spec(const json_t *spec, struct model_app *app)
{
	static const char *const known[] = { "project", "source", "sources", "destination",
					     "syncPolicy", "ignoreDifferences",
					     "revisionHistoryLimit", NULL };
	const json_t *dst, *sp, *ids;
	int rc;

	TRY(mj_extra(spec, known, &app->spec_extra));
	TRY(mj_str(spec, "project", "spec", &app->project));
	TRY(model_sources_parse(spec, "spec", &app->sources));
	TRY(mj_obj(spec, "destination", "spec", &dst));
	if (dst)
		TRY(model_destination_parse(dst, "spec.destination", &app->destination));
	TRY(mj_obj(spec, "syncPolicy", "spec", &sp));
	if (sp)
		TRY(parse_sync_policy(sp, &app->sync_policy));
	TRY(mj_arr(spec, "ignoreDifferences", "spec", &ids));
	if (ids)
		TRY(parse_ignore_diffs(ids, app));
	TRY(mj_int(spec, "revisionHistoryLimit", "spec", &app->revision_history_limit));
out:
	return rc;
}

int model_app_parse(const json_t *obj, struct model_app *out)
{
	struct model_app app = { 0 };
	const json_t *spec, *op, *st;
	int rc;

	TRY(model_check_type(obj, MODEL_KIND_APP));
	app.revision_history_limit = MODEL_DEFAULT_HISTORY_LIMIT;
	sync_policy_defaults(&app.sync_policy);
	TRY(model_meta_parse(obj, &app.meta));
	TRY(mj_obj(obj, "spec", "", &spec));
	if (spec)
		TRY(parse_spec(spec, &app));
	if (!app.project || !*app.project) {
		free(app.project);
		if (!(app.project = strdup(MODEL_DEFAULT_PROJECT)))
			TRY(err_set(BERR_NOMEM, "out of memory"));
	}
	TRY(mj_obj(obj, "operation", "", &op));
	if (op)
		TRY(model_operation_parse(op, "operation", &app.operation));
	TRY(mj_obj(obj, "status", "", &st));
	if (st)
		TRY(model_app_status_parse(st, "status", &app.status));
	*out = app;
	return 0;
out:
	model_app_release(&app);
	return rc;
}

/* A DNS-1123 subdomain: lower-case alphanumerics, '-' and '.', starting and
 * ending alphanumeric, at most max characters. */
static bool is_dns_name(const char *s, size_t max)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && c != '-' && c != '.')
			return false;
		if ((i == 0 || i == n - 1) && !alnum)
			return false;
	}
	return true;
}

int model_validate_name(const char *field, const char *name)
{
	if (!name || !*name)
		return err_set(BERR_INVALID, "%s: is required", field);
	if (!is_dns_name(name, 253))
		return err_set(BERR_INVALID,
			       "%s: \"%s\" must be lower-case letters, digits, '-' or '.', "
			       "start and end with a letter or digit, at most 253 characters",
			       field, name);
	return 0;
}

/* A source path must stay inside the repository: relative, no ".." step.
 * (The repo server checks again against the checkout, symlinks included.) */
static bool path_is_inside(const char *p)
{
	const char *seg = p;

	if (p[0] == '/')
		return false;
	while (*seg) {
		size_t n = strcspn(seg, "/");
		if (n == 2 && seg[0] == '.' && seg[1] == '.')
			return false;
		seg += n;
		while (*seg == '/')
			seg++;
	}
	return true;
}

static int validate_source(const struct model_source *s, const char *path)
{
	int types = s->helm.present + s->kustomize.present + s->directory.present;

	if (!s->repo_url || !*s->repo_url)
		return err_set(BERR_INVALID, "%s.repoURL: is required", path);
	if (s->extra && json_object_get(s->extra, "plugin"))
		return err_set(BERR_INVALID, "%s.plugin: config management plugins are not supported",
			       path);
	if (types > 1)
		return err_set(BERR_INVALID,
			       "%s: only one of helm, kustomize or directory may be set", path);
	if (s->path && !path_is_inside(s->path))
		return err_set(BERR_INVALID, "%s.path: \"%s\" is outside the repository root",
			       path, s->path);
	if (s->chart && s->path && *s->path)
		return err_set(BERR_INVALID, "%s: only one of chart or path may be set", path);
	return 0;
}

static int validate_sync_options(const struct model_strv *opts, const char *path)
{
	size_t i;

	for (i = 0; i < opts->n; i++) {
		const char *eq = strchr(opts->v[i], '=');
		if (!eq || eq == opts->v[i] || !eq[1])
			return err_set(BERR_INVALID, "%s[%zu]: \"%s\" must be Name=value", path, i,
				       opts->v[i]);
	}
	return 0;
}

static int validate_spec(const struct model_app *app)
{
	const struct model_destination *d = &app->destination;
	const struct model_retry *r = &app->sync_policy.retry;
	char p[64];
	size_t i;
	int rc;

	if ((rc = model_validate_name("spec.project", app->project)) < 0)
		return rc;
	if (app->sources.n == 0)
		return err_set(BERR_INVALID, "spec.source: one of source or sources is required");
	for (i = 0; i < app->sources.n; i++) {
		if (app->sources.multi)
			mj_path_index(p, sizeof(p), "spec.sources", i);
		else
			str_copy(p, "spec.source", sizeof(p));
		if ((rc = validate_source(&app->sources.v[i], p)) < 0)
			return rc;
	}
	if ((!d->server || !*d->server) && (!d->name || !*d->name))
		return err_set(BERR_INVALID, "spec.destination: one of server or name is required");
	if (d->server && *d->server && d->name && *d->name)
		return err_set(BERR_INVALID,
			       "spec.destination: only one of server or name may be set");
	if ((rc = validate_sync_options(&app->sync_policy.sync_options,
					"spec.syncPolicy.syncOptions")) < 0)
		return rc;
	if (r->present) {
		if (r->backoff.factor < 1)
			return err_set(BERR_INVALID,
				       "spec.syncPolicy.retry.backoff.factor: must be at least 1");
		if (r->backoff.max_duration_ms < r->backoff.duration_ms)
			return err_set(BERR_INVALID, "spec.syncPolicy.retry.backoff.maxDuration: "
				       "must not be shorter than duration");
	}
	if (app->revision_history_limit < 0)
		return err_set(BERR_INVALID, "spec.revisionHistoryLimit: must not be negative");
	for (i = 0; i < app->n_ignore_differences; i++)
		if (!app->ignore_differences[i].kind || !*app->ignore_differences[i].kind)
			return err_set(BERR_INVALID, "spec.ignoreDifferences[%zu].kind: is required",
				       i);
	return 0;
}

static int validate_operation(const struct model_operation *op)
{
	size_t i;
	int rc;

	if (!op->present)
		return 0;
	if (!op->sync_present)
		return err_set(BERR_INVALID, "operation.sync: is required");
	for (i = 0; i < op->n_resources; i++) {
		if (!op->resources[i].kind || !*op->resources[i].kind)
			return err_set(BERR_INVALID, "operation.sync.resources[%zu].kind: is required",
				       i);
		if (!op->resources[i].name || !*op->resources[i].name)
			return err_set(BERR_INVALID, "operation.sync.resources[%zu].name: is required",
				       i);
	}
	if ((rc = validate_sync_options(&op->sync_options, "operation.sync.syncOptions")) < 0)
		return rc;
	return 0;
}

int model_app_validate(const struct model_app *app)
{
	int rc;

	if ((rc = model_validate_name("metadata.name", app->meta.name)) < 0)
		return rc;
	if ((rc = validate_spec(app)) < 0)
		return rc;
	return validate_operation(&app->operation);
}

static json_t *spec_to_json(const struct model_app *app)
{
	json_t *spec = json_object();
	int rc = 0;

	if (!spec)
		return NULL;
	TRY(mj_set_str(spec, "project", app->project));
	TRY(model_sources_set(spec, &app->sources));
	TRY(mj_set_new(spec, "destination", model_destination_to_json(&app->destination)));
	if (app->sync_policy.automated || app->sync_policy.sync_options.n ||
	    app->sync_policy.retry.present || app->sync_policy.extra)
		TRY(mj_set_new(spec, "syncPolicy", sync_policy_to_json(&app->sync_policy)));
	if (app->n_ignore_differences)
		TRY(mj_set_new(spec, "ignoreDifferences", ignore_diffs_to_json(app)));
	TRY(mj_set_int(spec, "revisionHistoryLimit", app->revision_history_limit));
	TRY(mj_merge_extra(spec, app->spec_extra));
out:
	if (rc < 0) {
		json_decref(spec);
		return NULL;
	}
	return spec;
}

json_t *model_app_to_json(const struct model_app *app, bool include_status)
{
	json_t *o = json_object();
	int rc = 0;

	if (!o)
		return NULL;
	TRY(mj_set_str(o, "apiVersion", MODEL_API_VERSION));
	TRY(mj_set_str(o, "kind", MODEL_KIND_APP));
	TRY(mj_set_new(o, "metadata", model_meta_to_json(&app->meta)));
	TRY(mj_set_new(o, "spec", spec_to_json(app)));
	if (app->operation.present)
		TRY(mj_set_new(o, "operation", model_operation_to_json(&app->operation)));
	if (include_status)
		TRY(mj_set_new(o, "status", model_app_status_to_json(&app->status)));
out:
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

const char *model_app_annotation(const struct model_app *app, const char *name)
{
	char key[256];
	const char *v;

	if (!app->meta.annotations)
		return NULL;
	snprintf(key, sizeof(key), "%s%s", MODEL_ANNOTATION_PREFIX, name);
	if ((v = jx_str(app->meta.annotations, key)))
		return v;
	snprintf(key, sizeof(key), "%s%s", MODEL_ARGO_ANNOTATION_PREFIX, name);
	return jx_str(app->meta.annotations, key);
}

const struct model_source *model_app_source(const struct model_app *app)
{
	return app->sources.n ? &app->sources.v[0] : NULL;
}

/* ---- Argo CD conversion ---------------------------------------------------------- */

static int convert_finalizers(json_t *md)
{
	json_t *fins = json_object_get(md, "finalizers"), *f;
	size_t i;

	if (!json_is_array(fins))
		return 0;
	json_array_foreach(fins, i, f) {
		const char *s = json_string_value(f);
		char *mapped;
		/* "…argoproj.io/background" keeps its deletion-mode suffix. */
		if (!s || !(mapped = mapped_finalizer(s)))
			continue;
		if (json_array_set_new(fins, i, json_string(mapped)) < 0) {
			free(mapped);
			return err_set(BERR_NOMEM, "out of memory");
		}
		free(mapped);
	}
	return 0;
}

int model_convert_argocd(json_t *obj)
{
	const char *av, *kind;
	json_t *md;
	int rc;

	if (!json_is_object(obj))
		return err_set(BERR_INVALID, "not a Kubernetes object");
	av = jx_str(obj, "apiVersion");
	kind = jx_str(obj, "kind");
	if (!kind || (strcmp(kind, MODEL_KIND_APP) != 0 && strcmp(kind, MODEL_KIND_PROJECT) != 0))
		return err_set(BERR_INVALID, "kind: \"%s\" is not Application or AppProject",
			       kind ? kind : "");
	if (av && strcmp(av, MODEL_API_VERSION) == 0)
		return 0;
	if (!av || strcmp(av, MODEL_ARGO_API_VERSION) != 0)
		return err_set(BERR_INVALID, "apiVersion: \"%s\" is neither %s nor %s",
			       av ? av : "", MODEL_API_VERSION, MODEL_ARGO_API_VERSION);
	if (json_object_set_new(obj, "apiVersion", json_string(MODEL_API_VERSION)) < 0)
		return err_set(BERR_NOMEM, "out of memory");
	md = json_object_get(obj, "metadata");
	if (json_is_object(md) && (rc = convert_finalizers(md)) < 0)
		return rc;
	return 1;
}
