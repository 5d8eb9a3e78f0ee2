/* Unit tests for the GitOps model: applications, projects, clusters,
 * repositories (lib/model.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "kyaml.h"
#include "model.h"
#include "str.h"

/* String literals into the model's (non-const) struct fields. */
#define S(x) ((char *)(x))

static json_t *load_json(const char *name)
{
	const char *top = getenv("BERTH_TOP");
	char path[1024];
	json_error_t e;
	json_t *v;

	snprintf(path, sizeof(path), "%s/test/data/model/%s", top ? top : ".", name);
	v = json_load_file(path, 0, &e);
	ck_assert_msg(v != NULL, "load %s: %s", path, e.text);
	return v;
}

static char *read_top_file(const char *rel, size_t *ret_len)
{
	const char *top = getenv("BERTH_TOP");
	char path[1024];
	FILE *f;
	char *buf = calloc(1, 1 << 20);
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", top ? top : ".", rel);
	f = fopen(path, "re");
	ck_assert_msg(f != NULL, "open %s", path);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	*ret_len = n;
	return buf;
}

static json_t *parse_str(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
	ck_assert_msg(v != NULL, "bad test JSON: %s", e.text);
	return v;
}

static const char *minimal_app =
	"{\"apiVersion\":\"berth.dev/v1alpha1\",\"kind\":\"Application\","
	"\"metadata\":{\"name\":\"guestbook\",\"namespace\":\"berth\"},"
	"\"spec\":{\"source\":{\"repoURL\":\"https://git.example/apps.git\",\"path\":\"guestbook\"},"
	"\"destination\":{\"server\":\"https://kubernetes.default.svc\",\"namespace\":\"gb\"}}}";

/* ---- applications ---------------------------------------------------------- */

START_TEST(app_parse_applies_defaults)
{
	json_t *o = parse_str(minimal_app);
	struct model_app app;

	ck_assert_int_eq(model_app_parse(o, &app), 0);
	ck_assert_str_eq(app.project, "default");
	ck_assert_str_eq(app.sources.v[0].target_revision, "HEAD");
	ck_assert_int_eq(app.revision_history_limit, 10);
	ck_assert(!app.sources.multi);
	ck_assert_int_eq(app.sync_policy.retry.backoff.duration_ms, 5000);
	ck_assert_int_eq(model_app_validate(&app), 0);
	model_app_release(&app);
	json_decref(o);
}
END_TEST

START_TEST(app_full_object_round_trips_exactly)
{
	json_t *o = load_json("full-app.json"), *back;
	struct model_app app;

	ck_assert_int_eq(model_app_parse(o, &app), 0);
	ck_assert_int_eq(model_app_validate(&app), 0);
	back = model_app_to_json(&app, true);
	ck_assert_ptr_nonnull(back);
	if (!jx_equal(o, back)) {
		struct buf a, b;
		buf_init(&a, 1 << 20);
		buf_init(&b, 1 << 20);
		jx_dump_canonical(o, &a);
		jx_dump_canonical(back, &b);
		ck_abort_msg("round trip differs:\n%s\n%s", a.ptr, b.ptr);
	}
	ck_assert(app.sources.multi);
	ck_assert_int_eq(app.sources.n, 3);
	ck_assert_str_eq(model_source_explicit_type(&app.sources.v[0]), "Kustomize");
	ck_assert_str_eq(model_source_explicit_type(&app.sources.v[1]), "Directory");
	ck_assert_str_eq(model_source_explicit_type(&app.sources.v[2]), "Helm");
	ck_assert_int_eq(app.sync_policy.retry.backoff.max_duration_ms, 5400000);
	ck_assert_int_eq(app.sync_policy.retry.limit, -1);
	ck_assert_int_eq(app.status.n_history, 1);
	ck_assert_int_eq(app.status.resources[0].sync_wave, -1);
	ck_assert(app.status.resources[1].hook);
	ck_assert_str_eq(app.operation.resources[0].name, "web");
	ck_assert(app.operation.dry_run);
	ck_assert(model_sync_option_true(&app.sync_policy.sync_options, "ServerSideApply"));
	ck_assert(!model_sync_option_true(&app.sync_policy.sync_options, "Replace"));
	json_decref(back);
	model_app_release(&app);
	json_decref(o);
}
END_TEST

/* Fields Berth does not model (Argo CD's info, managedNamespaceMetadata,
 * Kustomize patches, Helm fileParameters, ...) survive a change made
 * through the model, and count in the rendering settings. */
START_TEST(app_keeps_fields_it_does_not_model)
{
	json_t *o = load_json("full-app.json"), *back;
	struct model_app app;
	char h1[65], h2[65];

	ck_assert_int_eq(model_app_parse(o, &app), 0);
	free(app.project);
	app.project = strdup("shop");
	back = model_app_to_json(&app, false);
	ck_assert_str_eq(json_string_value(jx_ptr_get(back, "/spec/project")), "shop");
	ck_assert(jx_equal(jx_ptr_get(back, "/spec/info"), jx_ptr_get(o, "/spec/info")));
	ck_assert(jx_equal(jx_ptr_get(back, "/spec/syncPolicy/managedNamespaceMetadata"),
			   jx_ptr_get(o, "/spec/syncPolicy/managedNamespaceMetadata")));
	ck_assert(jx_equal(jx_ptr_get(back, "/spec/sources/0/kustomize/patches"),
			   jx_ptr_get(o, "/spec/sources/0/kustomize/patches")));
	ck_assert_str_eq(json_string_value(jx_ptr_get(back, "/spec/sources/2/helm/fileParameters/0/path")),
			 "files/config.json");
	ck_assert_int_eq(model_source_settings_hash(&app.sources.v[0], h1), 0);
	json_object_del(app.sources.v[0].kustomize.extra, "patches");
	ck_assert_int_eq(model_source_settings_hash(&app.sources.v[0], h2), 0);
	ck_assert_str_ne(h1, h2);
	json_decref(back);
	model_app_release(&app);
	json_decref(o);
}
END_TEST

START_TEST(app_without_status_omits_it)
{
	json_t *o = load_json("full-app.json"), *back;
	struct model_app app;

	ck_assert_int_eq(model_app_parse(o, &app), 0);
	back = model_app_to_json(&app, false);
	ck_assert_ptr_null(json_object_get(back, "status"));
	ck_assert_ptr_nonnull(json_object_get(back, "operation"));
	json_decref(back);
	model_app_release(&app);
	json_decref(o);
}
END_TEST

START_TEST(app_status_alone_round_trips)
{
	json_t *o = load_json("full-app.json"), *st = json_object_get(o, "status"), *back;
	struct model_app_status s;

	ck_assert_int_eq(model_app_status_parse(st, "status", &s), 0);
	back = model_app_status_to_json(&s);
	ck_assert(jx_equal(st, back));
	json_decref(back);
	model_app_status_release(&s);
	json_decref(o);
}
END_TEST

/* Each row: a JSON pointer to set (value JSON) or delete (value NULL), and
 * the message the result must start with. */
static const struct {
	const char *ptr;
	const char *value;
	const char *msg;
} invalid_apps[] = {
	{ "/spec/destination/server", NULL, "spec.destination: one of server or name is required" },
	{ "/spec/destination/name", "\"prod\"", "spec.destination: only one of server or name" },
	{ "/spec/source", NULL, "spec.source: one of source or sources is required" },
	{ "/spec/source/repoURL", NULL, "spec.source.repoURL: is required" },
	{ "/spec/source/repoURL", "\"\"", "spec.source.repoURL: is required" },
	{ "/spec/source/path", "\"../other\"", "spec.source.path: \"../other\" is outside the repository root" },
	{ "/spec/source/path", "\"/etc\"", "spec.source.path: \"/etc\" is outside" },
	{ "/spec/source/path", "\"a/../../b\"", "spec.source.path: \"a/../../b\" is outside" },
	{ "/spec/source/helm", "{}", NULL }, /* placeholder replaced below: two types */
	{ "/metadata/name", NULL, "metadata.name: is required" },
	{ "/metadata/name", "\"Guest_Book\"", "metadata.name: \"Guest_Book\" must be lower-case" },
	{ "/spec/project", "\"Bad Project\"", "spec.project: \"Bad Project\" must be lower-case" },
	{ "/spec/revisionHistoryLimit", "-1", "spec.revisionHistoryLimit: must not be negative" },
	{ "/spec/syncPolicy", "{\"syncOptions\":[\"CreateNamespace\"]}",
	  "spec.syncPolicy.syncOptions[0]: \"CreateNamespace\" must be Name=value" },
	{ "/spec/syncPolicy", "{\"retry\":{\"backoff\":{\"factor\":0}}}",
	  "spec.syncPolicy.retry.backoff.factor: must be at least 1" },
	{ "/spec/syncPolicy", "{\"retry\":{\"backoff\":{\"duration\":\"5m\",\"maxDuration\":\"1m\"}}}",
	  "spec.syncPolicy.retry.backoff.maxDuration: must not be shorter than duration" },
	{ "/spec/ignoreDifferences", "[{\"group\":\"apps\"}]", "spec.ignoreDifferences[0].kind: is required" },
	{ "/operation", "{\"sync\":{\"resources\":[{\"kind\":\"Deployment\"}]}}",
	  "operation.sync.resources[0].name: is required" },
	{ "/operation", "{\"initiatedBy\":{\"username\":\"a\"}}", "operation.sync: is required" },
	{ "/spec/source/chart", "\"redis\"", "spec.source: only one of chart or path may be set" },
	{ "/spec/source/plugin", "{\"name\":\"cmp\"}", "spec.source.plugin: config management plugins are not supported" },
};

START_TEST(app_validation_names_the_field)
{
	json_t *o = parse_str(minimal_app);
	struct model_app app;
	const char *msg = invalid_apps[_i].msg;
	int rc;

	if (!msg) {
		/* helm and kustomize together */
		ck_assert_int_eq(jx_ptr_set(o, "/spec/source/helm", json_object(), false), 0);
		ck_assert_int_eq(jx_ptr_set(o, "/spec/source/kustomize", json_object(), false), 0);
		msg = "spec.source: only one of helm, kustomize or directory may be set";
	} else if (invalid_apps[_i].value) {
		ck_assert_int_eq(jx_ptr_set(o, invalid_apps[_i].ptr,
					    parse_str(invalid_apps[_i].value), true), 0);
	} else {
		ck_assert_int_eq(jx_ptr_del(o, invalid_apps[_i].ptr), 0);
	}
	rc = model_app_parse(o, &app);
	if (rc == 0) {
		rc = model_app_validate(&app);
		model_app_release(&app);
	}
	ck_assert_int_eq(rc, BERR_INVALID);
	ck_assert_msg(strncmp(err_msg(), msg, strlen(msg)) == 0, "row %d: got \"%s\", want \"%s\"",
		      _i, err_msg(), msg);
	json_decref(o);
}
END_TEST

static const struct {
	const char *ptr;
	const char *value;
	const char *msg;
} mistyped_apps[] = {
	{ "/spec/source/path", "3", "spec.source.path: must be a string" },
	{ "/spec/source/helm/valueFiles", "[\"a\",2]", "spec.source.helm.valueFiles[1]: must be a string" },
	{ "/spec/source/helm/parameters", "[{\"name\":1}]", "spec.source.helm.parameters[0].name: must be a string" },
	{ "/spec/syncPolicy/automated/prune", "\"yes\"", "spec.syncPolicy.automated.prune: must be a boolean" },
	{ "/spec/syncPolicy/retry/backoff/duration", "\"soon\"",
	  "spec.syncPolicy.retry.backoff.duration: \"soon\" is not a duration" },
	{ "/spec/destination", "[]", "spec.destination: must be an object" },
	{ "/spec/revisionHistoryLimit", "\"ten\"", "spec.revisionHistoryLimit: must be an integer" },
	{ "/spec/sources", "[{\"repoURL\":\"x\"}]", "spec.sources: only one of source or sources may be set" },
	{ "/kind", "\"Deployment\"", "kind: \"Deployment\" is not Application" },
	{ "/apiVersion", "\"apps/v1\"", "apiVersion: \"apps/v1\" is not berth.dev/v1alpha1" },
	{ "/metadata/labels", "{\"a\":1}", "metadata.labels.a: must be a string" },
	{ "/status/history", "[{\"id\":\"x\"}]", "status.history[0].id: must be an integer" },
};

START_TEST(app_parse_rejects_wrong_types_by_path)
{
	json_t *o = parse_str(minimal_app);
	struct model_app app;
	const char *msg = mistyped_apps[_i].msg;

	ck_assert_int_eq(jx_ptr_set(o, mistyped_apps[_i].ptr, parse_str(mistyped_apps[_i].value), true),
			 0);
	ck_assert_int_eq(model_app_parse(o, &app), BERR_INVALID);
	ck_assert_msg(strncmp(err_msg(), msg, strlen(msg)) == 0, "row %d: got \"%s\"", _i, err_msg());
	json_decref(o);
}
END_TEST

START_TEST(argocd_application_converts_by_api_version)
{
	json_t *o = load_json("argocd-helm-app.json"), *back;
	struct model_app app;

	ck_assert_int_eq(model_convert_argocd(o), 1);
	ck_assert_str_eq(jx_str(o, "apiVersion"), "berth.dev/v1alpha1");
	ck_assert_str_eq(json_string_value(jx_ptr_get(o, "/metadata/finalizers/0")),
			 "resources-finalizer.berth.dev");
	ck_assert_int_eq(model_app_parse(o, &app), 0);
	ck_assert_int_eq(model_app_validate(&app), 0);
	ck_assert_str_eq(app.project, "web");
	ck_assert_str_eq(app.sources.v[0].helm.release_name, "guestbook");
	ck_assert_int_eq(app.sources.v[0].helm.n_parameters, 2);
	ck_assert(app.sources.v[0].helm.parameters[1].force_string);
	ck_assert(app.sync_policy.automated && app.sync_policy.prune && app.sync_policy.self_heal);
	ck_assert_int_eq(app.sync_policy.retry.limit, 5);
	ck_assert_int_eq(app.sync_policy.retry.backoff.max_duration_ms, 180000);
	ck_assert_int_eq(app.revision_history_limit, 3);
	/* Argo CD annotations are kept and honoured. */
	ck_assert_str_eq(model_app_annotation(&app, "refresh"), "hard");
	ck_assert_ptr_null(model_app_annotation(&app, "sync-wave"));
	back = model_app_to_json(&app, false);
	ck_assert(jx_equal(o, back));
	json_decref(back);
	model_app_release(&app);
	json_decref(o);
}
END_TEST

/* Applications written the way Argo CD users keep them in Git (YAML, read
 * with Kubernetes' YAML rules): each converts, parses and validates. */
START_TEST(argocd_yaml_applications_convert_parse_and_validate)
{
	size_t len, i;
	char *yaml = read_top_file("test/data/model/argocd-apps.yaml", &len);
	json_t *docs = NULL, *doc;
	struct model_app apps[4];
	struct model_project def;

	ck_assert_int_eq(kyaml_load_stream(yaml, len, NULL, &docs), 0);
	ck_assert_uint_eq(json_array_size(docs), 4);
	ck_assert_int_eq(model_project_init_default(&def, "berth"), 0);
	json_array_foreach(docs, i, doc) {
		ck_assert_int_eq(model_convert_argocd(doc), 1);
		ck_assert_msg(model_app_parse(doc, &apps[i]) == 0, "doc %zu: %s", i, err_msg());
		ck_assert_msg(model_app_validate(&apps[i]) == 0, "doc %zu: %s", i, err_msg());
		ck_assert(model_project_permits_source(&def, apps[i].sources.v[0].repo_url, NULL));
		ck_assert(model_project_permits_destination(&def, &apps[i].destination, NULL) ||
			  apps[i].destination.name);
	}
	/* directory.recurse: yes is a YAML 1.1 boolean, as Kubernetes reads it. */
	ck_assert(apps[0].sources.v[0].directory.recurse);
	ck_assert_str_eq(apps[0].meta.finalizers.v[0], "resources-finalizer.berth.dev");
	ck_assert(apps[0].sync_policy.automated && apps[0].sync_policy.self_heal);
	ck_assert(model_sync_option_true(&apps[0].sync_policy.sync_options, "CreateNamespace"));
	ck_assert_str_eq(model_app_annotation(&apps[1], "sync-wave"), "2");
	ck_assert_int_eq(apps[1].sources.v[0].kustomize.replicas[0].count, 2);
	ck_assert_str_eq(model_source_explicit_type(&apps[1].sources.v[0]), "Kustomize");
	ck_assert_str_eq(apps[2].destination.name, "in-cluster");
	ck_assert(apps[2].sources.v[0].directory.tlas[0].code);
	ck_assert_str_eq(apps[2].sources.v[0].directory.ext_vars[0].value, "prod");
	ck_assert_str_eq(apps[3].sources.v[0].helm.values, "service:\n  type: ClusterIP\n");
	ck_assert_int_eq(apps[3].sync_policy.retry.backoff.max_duration_ms, 180000);
	ck_assert_int_eq(apps[3].sync_policy.retry.limit, 2);
	for (i = 0; i < 4; i++)
		model_app_release(&apps[i]);
	model_project_release(&def);
	json_decref(docs);
	free(yaml);
}
END_TEST

START_TEST(crds_parse_with_kyaml)
{
	static const struct {
		const char *file, *name, *kind, *shorts;
		size_t columns;
	} crds[] = {
		{ "manifests/crds/application.yaml", "applications.berth.dev", "Application", "app,apps", 5 },
		{ "manifests/crds/appproject.yaml", "appprojects.berth.dev", "AppProject", "proj", 1 },
	};
	size_t i, j, len;

	for (i = 0; i < 2; i++) {
		char *yaml = read_top_file(crds[i].file, &len), shorts[64] = "";
		json_t *crd = NULL, *v, *sn;

		ck_assert_msg(kyaml_load_one(yaml, len, NULL, &crd) == 0, "%s: %s", crds[i].file, err_msg());
		ck_assert_str_eq(jx_path_str(crd, "metadata", "name", NULL), crds[i].name);
		ck_assert_str_eq(jx_path_str(crd, "spec", "group", NULL), "berth.dev");
		ck_assert_str_eq(jx_path_str(crd, "spec", "scope", NULL), "Namespaced");
		ck_assert_str_eq(jx_path_str(crd, "spec", "names", "kind", NULL), crds[i].kind);
		json_array_foreach(jx_path(crd, "spec", "names", "shortNames", NULL), j, sn) {
			size_t off = strlen(shorts);
			snprintf(shorts + off, sizeof(shorts) - off, "%s%s", j ? "," : "",
				 json_string_value(sn));
		}
		ck_assert_str_eq(shorts, crds[i].shorts);
		v = json_array_get(jx_path(crd, "spec", "versions", NULL), 0);
		ck_assert_str_eq(jx_str(v, "name"), "v1alpha1");
		ck_assert(json_is_object(jx_path(v, "subresources", "status", NULL)));
		ck_assert_uint_eq(json_array_size(json_object_get(v, "additionalPrinterColumns")),
				  crds[i].columns);
		ck_assert_str_eq(jx_path_str(v, "schema", "openAPIV3Schema", "type", NULL), "object");
		json_decref(crd);
		free(yaml);
	}
}
END_TEST

START_TEST(project_fixture_round_trips)
{
	json_t *o = load_json("project.json"), *back;
	struct model_project p;

	ck_assert_int_eq(model_project_parse(o, &p), 0);
	ck_assert_int_eq(model_project_validate(&p), 0);
	back = model_project_to_json(&p);
	ck_assert(jx_equal(o, back));
	json_decref(back);
	model_project_release(&p);
	json_decref(o);
}
END_TEST

START_TEST(argocd_conversion_maps_finalizer_variants_and_projects)
{
	json_t *o = parse_str("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"AppProject\","
			      "\"metadata\":{\"name\":\"p\",\"finalizers\":[\"other\","
			      "\"resources-finalizer.argocd.argoproj.io/background\","
			      "\"resources-finalizer.argocd.argoproj.iox\"]}}");

	ck_assert_int_eq(model_convert_argocd(o), 1);
	ck_assert_str_eq(json_string_value(jx_ptr_get(o, "/metadata/finalizers/0")), "other");
	ck_assert_str_eq(json_string_value(jx_ptr_get(o, "/metadata/finalizers/1")),
			 "resources-finalizer.berth.dev/background");
	ck_assert_str_eq(json_string_value(jx_ptr_get(o, "/metadata/finalizers/2")),
			 "resources-finalizer.argocd.argoproj.iox");
	ck_assert_int_eq(model_convert_argocd(o), 0);
	json_decref(o);
}
END_TEST

START_TEST(argocd_application_parses_without_explicit_conversion)
{
	json_t *o = load_json("argocd-helm-app.json"), *back;
	struct model_app app;

	ck_assert_int_eq(model_app_parse(o, &app), 0);
	ck_assert_str_eq(app.meta.finalizers.v[0], "resources-finalizer.berth.dev");
	back = model_app_to_json(&app, false);
	ck_assert_str_eq(jx_str(back, "apiVersion"), "berth.dev/v1alpha1");
	ck_assert_str_eq(json_string_value(jx_ptr_get(back, "/metadata/finalizers/0")),
			 "resources-finalizer.berth.dev");
	json_decref(back);
	model_app_release(&app);
	json_decref(o);
}
END_TEST

START_TEST(argocd_conversion_refuses_other_kinds)
{
	json_t *a = parse_str("{\"apiVersion\":\"apps/v1\",\"kind\":\"Application\"}");
	json_t *b = parse_str("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"ApplicationSet\"}");

	ck_assert_int_eq(model_convert_argocd(a), BERR_INVALID);
	ck_assert_int_eq(model_convert_argocd(b), BERR_INVALID);
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(source_settings_hash_ignores_revision_but_not_settings)
{
	json_t *o = load_json("argocd-helm-app.json");
	struct model_app app;
	char h1[65], h2[65], h3[65];

	ck_assert_int_eq(model_app_parse(o, &app), 0);
	ck_assert_int_eq(model_source_settings_hash(&app.sources.v[0], h1), 0);
	free(app.sources.v[0].target_revision);
	app.sources.v[0].target_revision = strdup("other");
	ck_assert_int_eq(model_source_settings_hash(&app.sources.v[0], h2), 0);
	ck_assert_str_eq(h1, h2);
	free(app.sources.v[0].helm.parameters[0].value);
	app.sources.v[0].helm.parameters[0].value = strdup("4");
	ck_assert_int_eq(model_source_settings_hash(&app.sources.v[0], h3), 0);
	ck_assert_str_ne(h1, h3);
	ck_assert_int_eq(strlen(h1), 64);
	model_app_release(&app);
	json_decref(o);
}
END_TEST

START_TEST(durations_format_like_go)
{
	static const struct {
		int64_t ms;
		const char *s;
	} rows[] = { { 5000, "5s" }, { 180000, "3m" }, { 5400000, "1h30m" }, { 250, "250ms" },
		     { 90500, "1m30.500s" }, { 0, "0ms" } };
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		model_format_duration(rows[i].ms, out, sizeof(out));
		ck_assert_str_eq(out, rows[i].s);
	}
}
END_TEST

/* ---- URLs and repositories ---------------------------------------------------- */

static const struct {
	const char *in;
	const char *out;
} url_rows[] = {
	{ "https://github.com/argoproj/argocd-example-apps.git", "https://github.com/argoproj/argocd-example-apps" },
	{ "https://GitHub.com/ArgoProj/Argocd-Example-Apps/", "https://github.com/argoproj/argocd-example-apps" },
	{ "  https://github.com/a/b.git/  ", "https://github.com/a/b" },
	{ "git@github.com:argoproj/argocd-example-apps.git", "git@github.com/argoproj/argocd-example-apps" },
	{ "ssh://git@github.com/argoproj/argocd-example-apps.git", "git@github.com/argoproj/argocd-example-apps" },
	{ "ssh://git@github.com:2222/a/b", "git@github.com:2222/a/b" },
	{ "http://git.local:3000/x/y", "http://git.local:3000/x/y" },
	{ "https://charts.example/stable", "https://charts.example/stable" },
};

START_TEST(repo_url_normalises_like_argocd)
{
	char *n = NULL;

	ck_assert_int_eq(model_repo_url_normalize(url_rows[_i].in, &n), 0);
	ck_assert_str_eq(n, url_rows[_i].out);
	free(n);
}
END_TEST

START_TEST(repo_url_equal_across_forms)
{
	char *n = NULL;

	ck_assert(model_repo_url_equal("git@github.com:org/repo.git", "ssh://git@github.com/org/repo"));
	ck_assert(model_repo_url_equal("https://github.com/Org/Repo", "https://github.com/org/repo.git"));
	ck_assert(!model_repo_url_equal("https://github.com/org/repo", "https://github.com/org/repo2"));
	ck_assert_int_eq(model_repo_url_normalize("   ", &n), BERR_INVALID);
	ck_assert_ptr_null(n);
}
END_TEST

START_TEST(repo_urls_are_redacted_in_messages)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
		{ "https://alice:s3cret@git.example/a.git", "https://***@git.example/a.git" },
		{ "https://token@git.example/a", "https://***@git.example/a" },
		{ "https://git.example/a@b", "https://git.example/a@b" },
		{ "git@github.com:org/repo.git", "git@github.com:org/repo.git" },
		{ "ssh://git:pw@host/x", "ssh://***@host/x" },
	};
	struct model_project p = { 0 };
	char out[256], *reason = NULL;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ck_assert_str_eq(model_repo_url_redact(rows[i].in, out, sizeof(out)), rows[i].out);
	p.meta.name = S("p");
	model_strv_push(&p.source_repos, "https://other.example/*");
	ck_assert(!model_project_permits_source(&p, "https://alice:s3cret@git.example/a.git", &reason));
	ck_assert_ptr_null(strstr(reason, "s3cret"));
	ck_assert_ptr_nonnull(strstr(reason, "https://***@git.example/a.git"));
	free(reason);
	model_strv_release(&p.source_repos);
}
END_TEST

START_TEST(repo_match_prefers_exact_then_longest_template)
{
	struct model_repo repos[4] = {
		{ .url = S("https://github.com/"), .is_template = true },
		{ .url = S("https://github.com/org/"), .is_template = true },
		{ .url = S("https://github.com/org/app.git") },
		{ .url = S("https://gitlab.com/org/app") },
	};

	ck_assert_int_eq(model_repo_match(repos, 4, "https://GitHub.com/org/app"), 2);
	ck_assert_int_eq(model_repo_match(repos, 4, "https://github.com/org/other"), 1);
	ck_assert_int_eq(model_repo_match(repos, 4, "https://github.com/else/x"), 0);
	ck_assert_int_eq(model_repo_match(repos, 4, "https://bitbucket.org/x"), -1);
}
END_TEST

START_TEST(repo_secret_round_trips_and_hides_secrets)
{
	struct model_repo r = { .url = S("https://git.example/a.git"), .username = S("u"),
				.password = S("s3cret-pw"), .insecure = true, .type = S("git") };
	struct model_repo back;
	json_t *sec = NULL, *api;
	const char *b64;

	ck_assert_int_eq(model_repo_to_secret(&r, "berth", "repo-a", &sec), 0);
	ck_assert_str_eq(jx_path_str(sec, "metadata", "labels", "berth.dev/secret-type", NULL),
			 "repository");
	b64 = jx_path_str(sec, "data", "password", NULL);
	ck_assert_str_eq(b64, "czNjcmV0LXB3");
	ck_assert_int_eq(model_repo_from_secret(sec, &back), 0);
	ck_assert_str_eq(back.url, r.url);
	ck_assert_str_eq(back.password, "s3cret-pw");
	ck_assert(back.insecure);
	ck_assert(!back.is_template);
	api = model_repo_to_json(&back, false);
	ck_assert_ptr_null(json_object_get(api, "password"));
	ck_assert_str_eq(jx_str(api, "repo"), r.url);
	json_decref(api);
	model_repo_release(&back);
	json_decref(sec);
}
END_TEST

START_TEST(repo_secret_reads_argocd_string_data)
{
	json_t *sec = parse_str("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"r\","
				"\"labels\":{\"argocd.argoproj.io/secret-type\":\"repo-creds\"}},"
				"\"stringData\":{\"url\":\"https://github.com/org\",\"sshPrivateKey\":\"KEY\"}}");
	json_t *bad = parse_str("{\"metadata\":{\"labels\":{\"berth.dev/secret-type\":\"repository\"}},"
				"\"data\":{\"url\":\"!!!\"}}");
	struct model_repo r;

	ck_assert_int_eq(model_repo_from_secret(sec, &r), 0);
	ck_assert(r.is_template);
	ck_assert_str_eq(r.ssh_private_key, "KEY");
	model_repo_release(&r);
	ck_assert_int_eq(model_repo_from_secret(bad, &r), BERR_INVALID);
	ck_assert_str_eq(err_msg(), "data.url: not valid base64");
	json_decref(sec);
	json_decref(bad);
}
END_TEST

/* ---- clusters ---------------------------------------------------------------- */

START_TEST(cluster_secret_round_trips)
{
	struct model_cluster c = { .name = S("prod"), .server = S("https://10.0.0.1:6443"),
				   .bearer_token = S("tok"), .ca_data = S("-----BEGIN CERTIFICATE-----\nX\n"),
				   .server_name = S("api.prod") };
	struct model_cluster back;
	json_t *sec = NULL, *api;

	ck_assert_int_eq(model_cluster_to_secret(&c, "berth", "cluster-prod", &sec), 0);
	ck_assert_str_eq(jx_path_str(sec, "metadata", "labels", "berth.dev/secret-type", NULL),
			 "cluster");
	ck_assert_int_eq(model_cluster_from_secret(sec, &back), 0);
	ck_assert_str_eq(back.name, "prod");
	ck_assert_str_eq(back.server, c.server);
	ck_assert_str_eq(back.bearer_token, "tok");
	ck_assert_str_eq(back.ca_data, c.ca_data);
	ck_assert_str_eq(back.server_name, "api.prod");
	ck_assert(!back.insecure);
	api = model_cluster_to_json(&back, false);
	ck_assert_ptr_null(jx_path(api, "config", "bearerToken", NULL));
	ck_assert_str_eq(jx_str(api, "server"), c.server);
	json_decref(api);
	model_cluster_release(&back);
	json_decref(sec);
}
END_TEST

START_TEST(cluster_secret_from_argocd_shape)
{
	/* config = {"bearerToken":"t","tlsClientConfig":{"insecure":true,"caData":"UEVN"}} */
	json_t *sec = parse_str(
		"{\"metadata\":{\"name\":\"c\",\"labels\":{\"argocd.argoproj.io/secret-type\":\"cluster\"}},"
		"\"stringData\":{\"server\":\"https://k.example\",\"namespaces\":\"a,b\","
		"\"config\":\"{\\\"bearerToken\\\":\\\"t\\\",\\\"tlsClientConfig\\\":{\\\"insecure\\\":true,"
		"\\\"caData\\\":\\\"UEVN\\\"}}\"}}");
	json_t *bad = parse_str("{\"metadata\":{\"labels\":{\"berth.dev/secret-type\":\"cluster\"}},"
				"\"stringData\":{\"server\":\"https://x\",\"config\":\"{nope\"}}");
	struct model_cluster c;

	ck_assert_int_eq(model_cluster_from_secret(sec, &c), 0);
	ck_assert_str_eq(c.name, "https://k.example");
	ck_assert_str_eq(c.bearer_token, "t");
	ck_assert_str_eq(c.ca_data, "PEM");
	ck_assert(c.insecure);
	ck_assert_int_eq(c.namespaces.n, 2);
	model_cluster_release(&c);
	ck_assert_int_eq(model_cluster_from_secret(bad, &c), BERR_INVALID);
	ck_assert(strncmp(err_msg(), "data.config", 11) == 0);
	json_decref(sec);
	json_decref(bad);
}
END_TEST

START_TEST(in_cluster_is_kubernetes_default_svc)
{
	struct model_cluster c;

	ck_assert_int_eq(model_cluster_init_in_cluster(&c), 0);
	ck_assert_str_eq(c.server, "https://kubernetes.default.svc");
	ck_assert_str_eq(c.name, "in-cluster");
	model_cluster_release(&c);
}
END_TEST

START_TEST(destinations_resolve_by_name_or_server)
{
	struct model_cluster clusters[2] = {
		{ .name = S("prod"), .server = S("https://10.0.0.1:6443") },
		{ .name = S("staging"), .server = S("https://10.0.0.2:6443") },
	};
	struct model_destination by_name = { .name = S("staging"), .namespace_ = S("web") };
	struct model_destination by_server = { .server = S("https://10.0.0.1:6443") };
	struct model_destination local = { .name = S("in-cluster"), .namespace_ = S("x") };
	struct model_destination unknown = { .name = S("nope") };
	struct model_destination none = { .namespace_ = S("x") };
	struct model_destination out;

	ck_assert_int_eq(model_destination_resolve(&by_name, clusters, 2, &out), 1);
	ck_assert_str_eq(out.server, "https://10.0.0.2:6443");
	ck_assert_str_eq(out.namespace_, "web");
	model_destination_release(&out);
	ck_assert_int_eq(model_destination_resolve(&by_server, clusters, 2, &out), 0);
	ck_assert_str_eq(out.name, "prod");
	ck_assert_ptr_null(out.namespace_);
	model_destination_release(&out);
	ck_assert_int_eq(model_destination_resolve(&local, clusters, 2, &out), 2);
	ck_assert_str_eq(out.server, "https://kubernetes.default.svc");
	model_destination_release(&out);
	ck_assert_int_eq(model_destination_resolve(&unknown, clusters, 2, &out), BERR_NOTFOUND);
	ck_assert_str_eq(err_msg(), "spec.destination: no cluster named \"nope\"");
	ck_assert_int_eq(model_destination_resolve(&none, clusters, 2, &out), BERR_INVALID);
}
END_TEST

START_TEST(conditions_are_one_per_type)
{
	struct model_app_status st = { 0 };

	ck_assert_int_eq(model_app_condition_set(&st, "SyncError", "boom", "2026-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(model_app_condition_set(&st, "ComparisonError", "x", "2026-01-01T00:00:01Z"), 0);
	ck_assert_int_eq(model_app_condition_set(&st, "SyncError", "boom", "2026-01-01T00:00:02Z"), 0);
	ck_assert_uint_eq(st.n_conditions, 2);
	ck_assert_str_eq(st.conditions[0].last_transition_time, "2026-01-01T00:00:00Z");
	ck_assert_int_eq(model_app_condition_set(&st, "SyncError", "bang", "2026-01-01T00:00:03Z"), 0);
	ck_assert_str_eq(st.conditions[0].message, "bang");
	ck_assert_str_eq(st.conditions[0].last_transition_time, "2026-01-01T00:00:03Z");
	ck_assert(model_app_condition_clear(&st, "SyncError"));
	ck_assert(!model_app_condition_clear(&st, "SyncError"));
	ck_assert_uint_eq(st.n_conditions, 1);
	ck_assert_str_eq(st.conditions[0].type, "ComparisonError");
	model_app_status_release(&st);
}
END_TEST

static struct model_history history_entry(const char *rev)
{
	struct model_history h = { 0 };

	h.revision = strdup(rev);
	h.deployed_at = strdup("2026-01-01T00:00:00Z");
	return h;
}

START_TEST(history_is_kept_to_the_limit_with_increasing_ids)
{
	json_t *o = parse_str(minimal_app);
	struct model_app app;
	char rev[16];
	int i;

	ck_assert_int_eq(model_app_parse(o, &app), 0);
	app.revision_history_limit = 3;
	for (i = 0; i < 5; i++) {
		struct model_history h;
		snprintf(rev, sizeof(rev), "rev-%d", i);
		h = history_entry(rev);
		ck_assert_int_eq(model_app_history_push(&app, &h), 0);
		ck_assert_ptr_null(h.revision);
	}
	ck_assert_uint_eq(app.status.n_history, 3);
	ck_assert_int_eq(app.status.history[0].id, 2);
	ck_assert_str_eq(app.status.history[2].revision, "rev-4");
	ck_assert_int_eq(app.status.history[2].id, 4);
	ck_assert_ptr_nonnull(model_app_history_find(&app, 3));
	ck_assert_ptr_null(model_app_history_find(&app, 1));
	model_app_release(&app);
	json_decref(o);
}
END_TEST

/* ---- projects ------------------------------------------------------------------ */

static const char *team_project =
	"{\"apiVersion\":\"berth.dev/v1alpha1\",\"kind\":\"AppProject\","
	"\"metadata\":{\"name\":\"team\",\"namespace\":\"berth\"},"
	"\"spec\":{\"description\":\"team apps\","
	"\"sourceRepos\":[\"https://github.com/team/*\",\"git@github.com:shared/*.git\"],"
	"\"destinations\":[{\"server\":\"https://kubernetes.default.svc\",\"namespace\":\"team-*\"},"
	"{\"name\":\"staging\",\"namespace\":\"*\"},"
	"{\"server\":\"*\",\"namespace\":\"!kube-system\"},"
	"{\"server\":\"!https://forbidden.example\",\"namespace\":\"*\"}],"
	"\"clusterResourceWhitelist\":[{\"group\":\"\",\"kind\":\"Namespace\"},"
	"{\"group\":\"rbac.authorization.k8s.io\",\"kind\":\"Cluster*\"}],"
	"\"clusterResourceBlacklist\":[{\"group\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRoleBinding\"}],"
	"\"namespaceResourceBlacklist\":[{\"group\":\"\",\"kind\":\"ResourceQuota\"}],"
	"\"roles\":[{\"name\":\"ci\",\"policies\":[\"p, proj:team:ci, applications, sync, team/*, allow\"],"
	"\"groups\":[\"team-ci\"],\"jwtTokens\":[{\"iat\":1700000000,\"id\":\"tok-1\"}]}],"
	"\"syncWindows\":[{\"kind\":\"deny\",\"schedule\":\"0 22 * * *\",\"duration\":\"1h\","
	"\"applications\":[\"*\"],\"manualSync\":true}]}}";

static struct model_project load_team(void)
{
	json_t *o = parse_str(team_project);
	struct model_project p;

	ck_assert_int_eq(model_project_parse(o, &p), 0);
	ck_assert_int_eq(model_project_validate(&p), 0);
	json_decref(o);
	return p;
}

START_TEST(project_round_trips)
{
	json_t *o = parse_str(team_project), *back;
	struct model_project p;

	ck_assert_int_eq(model_project_parse(o, &p), 0);
	back = model_project_to_json(&p);
	ck_assert(jx_equal(o, back));
	ck_assert_ptr_nonnull(model_project_role(&p, "ci"));
	ck_assert_ptr_null(model_project_role(&p, "admin"));
	ck_assert_int_eq(p.roles[0].jwt_tokens[0].iat, 1700000000);
	json_decref(back);
	model_project_release(&p);
	json_decref(o);
}
END_TEST

static const struct {
	const char *url;
	bool ok;
} source_rows[] = {
	{ "https://github.com/team/web.git", true },
	{ "https://GITHUB.com/team/web", true },
	{ "https://github.com/team/sub/deep", false },         /* '*' does not cross '/' */
	{ "https://github.com/other/web", false },
	{ "ssh://git@github.com/shared/lib.git", true },       /* scp pattern, ssh:// URL */
	{ "git@github.com:shared/lib", true },
};

START_TEST(project_sources_follow_globs_and_negation)
{
	struct model_project p = load_team();
	char *reason = NULL;
	bool ok = model_project_permits_source(&p, source_rows[_i].url, &reason);

	ck_assert_msg(ok == source_rows[_i].ok, "%s", source_rows[_i].url);
	if (!ok) {
		ck_assert_ptr_nonnull(reason);
		ck_assert_msg(strstr(reason, "project \"team\"") && strstr(reason, "sourceRepos"), "%s",
			      reason);
	}
	free(reason);
	model_project_release(&p);
}
END_TEST

static const struct {
	const char *server, *name, *ns;
	bool ok;
} dest_rows[] = {
	{ "https://kubernetes.default.svc", NULL, "team-web", true },
	{ "https://staging.example", "staging", "anything", true },
	{ "https://other.example", NULL, "web", true },            /* "*" + "!kube-system" */
	{ "https://other.example", NULL, "kube-system", false },   /* denied namespace */
	{ "https://kubernetes.default.svc", NULL, "kube-system", false },
	{ "https://forbidden.example", NULL, "web", false },       /* denied server */
};

START_TEST(project_destinations_follow_argocd_rules)
{
	struct model_project p = load_team();
	struct model_destination d = { .server = (char *)dest_rows[_i].server,
				       .name = (char *)dest_rows[_i].name,
				       .namespace_ = (char *)dest_rows[_i].ns };
	char *reason = NULL;
	bool ok = model_project_permits_destination(&p, &d, &reason);

	ck_assert_msg(ok == dest_rows[_i].ok, "row %d", _i);
	if (!ok)
		ck_assert_ptr_nonnull(strstr(reason, "is not permitted"));
	free(reason);
	model_project_release(&p);
}
END_TEST

/* Argo CD: a "!" entry excludes what it names and matches everything else. */
START_TEST(project_source_negation_excludes_and_admits_the_rest)
{
	json_t *o = parse_str("{\"metadata\":{\"name\":\"n\"},\"spec\":{\"sourceRepos\":"
			      "[\"!https://github.com/team/secret.git\"]}}");
	json_t *both = parse_str("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"sourceRepos\":"
				 "[\"https://github.com/team/*\",\"!https://github.com/team/secret\"]}}");
	struct model_project p, q;
	char *reason = NULL;

	ck_assert_int_eq(model_project_parse(o, &p), 0);
	ck_assert_int_eq(model_project_parse(both, &q), 0);
	ck_assert(!model_project_permits_source(&p, "https://github.com/Team/secret", &reason));
	ck_assert_ptr_nonnull(strstr(reason, "is not permitted in sourceRepos"));
	ck_assert(model_project_permits_source(&p, "https://github.com/team/web", NULL));
	ck_assert(!model_project_permits_source(&q, "https://github.com/team/secret.git/", NULL));
	ck_assert(model_project_permits_source(&q, "https://github.com/team/web", NULL));
	free(reason);
	model_project_release(&p);
	model_project_release(&q);
	json_decref(o);
	json_decref(both);
}
END_TEST

START_TEST(project_tokens_are_valid_while_listed_and_unexpired)
{
	json_t *o = load_json("project.json");
	struct model_project p;

	ck_assert_int_eq(model_project_parse(o, &p), 0);
	ck_assert(model_project_token_valid(&p, "ci", "tok-1", 1700000001));
	ck_assert(!model_project_token_valid(&p, "ci", "tok-1", 1800000000));
	ck_assert(!model_project_token_valid(&p, "ci", "tok-2", 1700000001));
	ck_assert(!model_project_token_valid(&p, "admin", "tok-1", 1700000001));
	ck_assert(!model_project_token_valid(&p, "ci", NULL, 1700000001));
	p.roles[0].jwt_tokens[0].exp = 0;
	ck_assert(model_project_token_valid(&p, "ci", "tok-1", 1900000000));
	model_project_release(&p);
	json_decref(o);
}
END_TEST

START_TEST(project_checks_a_whole_application)
{
	struct model_project p = load_team();
	json_t *o = parse_str(minimal_app);
	struct model_app app;
	char *reason = NULL;

	ck_assert_int_eq(model_app_parse(o, &app), 0);
	ck_assert(!model_project_permits_app(&p, &app, &reason));
	ck_assert_str_eq(reason, "application \"guestbook\" belongs to project \"default\", not \"team\"");
	free(reason);
	free(app.project);
	app.project = strdup("team");
	ck_assert(!model_project_permits_app(&p, &app, &reason));
	ck_assert_ptr_nonnull(strstr(reason, "sourceRepos"));
	free(reason);
	free(app.sources.v[0].repo_url);
	app.sources.v[0].repo_url = strdup("https://github.com/team/web.git");
	free(app.destination.namespace_);
	app.destination.namespace_ = strdup("kube-system");
	ck_assert(!model_project_permits_app(&p, &app, &reason));
	ck_assert_ptr_nonnull(strstr(reason, "destination"));
	free(reason);
	free(app.destination.namespace_);
	app.destination.namespace_ = strdup("team-web");
	ck_assert(model_project_permits_app(&p, &app, NULL));
	model_app_release(&app);
	model_project_release(&p);
	json_decref(o);
}
END_TEST

START_TEST(project_destination_needs_an_allowing_entry)
{
	json_t *o = parse_str("{\"metadata\":{\"name\":\"narrow\"},\"spec\":{\"destinations\":"
			      "[{\"server\":\"https://a\",\"namespace\":\"web\"}]}}");
	struct model_project p;
	struct model_destination ok = { .server = S("https://a"), .namespace_ = S("web") };
	struct model_destination other_ns = { .server = S("https://a"), .namespace_ = S("db") };
	struct model_destination by_name = { .name = S("a"), .namespace_ = S("web") };

	ck_assert_int_eq(model_project_parse(o, &p), 0);
	ck_assert(model_project_permits_destination(&p, &ok, NULL));
	ck_assert(!model_project_permits_destination(&p, &other_ns, NULL));
	ck_assert(!model_project_permits_destination(&p, &by_name, NULL));
	model_project_release(&p);
	json_decref(o);
}
END_TEST

static const struct {
	const char *group, *kind;
	bool namespaced, ok;
} resource_rows[] = {
	{ "", "Namespace", false, true },
	{ "rbac.authorization.k8s.io", "ClusterRole", false, true },
	{ "rbac.authorization.k8s.io", "ClusterRoleBinding", false, false }, /* blacklisted */
	{ "apiextensions.k8s.io", "CustomResourceDefinition", false, false }, /* not whitelisted */
	{ "apps", "Deployment", true, true },       /* no namespaced whitelist: all */
	{ "", "ResourceQuota", true, false },       /* namespaced blacklist */
};

START_TEST(project_resources_follow_white_and_black_lists)
{
	struct model_project p = load_team();
	char *reason = NULL;
	bool ok = model_project_permits_resource(&p, resource_rows[_i].group, resource_rows[_i].kind,
						 resource_rows[_i].namespaced, &reason);

	ck_assert_msg(ok == resource_rows[_i].ok, "row %d", _i);
	if (!ok)
		ck_assert_msg(strstr(reason, resource_rows[_i].kind) != NULL, "%s", reason);
	free(reason);
	model_project_release(&p);
}
END_TEST

START_TEST(project_empty_namespace_whitelist_permits_nothing)
{
	json_t *o = parse_str("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"namespaceResourceWhitelist\":[]}}");
	struct model_project p;
	json_t *back;

	ck_assert_int_eq(model_project_parse(o, &p), 0);
	ck_assert(!model_project_permits_resource(&p, "apps", "Deployment", true, NULL));
	back = model_project_to_json(&p);
	ck_assert(json_is_array(jx_ptr_get(back, "/spec/namespaceResourceWhitelist")));
	json_decref(back);
	model_project_release(&p);
	json_decref(o);
}
END_TEST

START_TEST(default_project_permits_everything)
{
	struct model_project p;
	struct model_destination d = { .server = S("https://any.example"), .namespace_ = S("kube-system") };
	struct model_destination byname = { .server = S("https://x"), .name = S("x"), .namespace_ = S("") };

	ck_assert_int_eq(model_project_init_default(&p, "berth"), 0);
	ck_assert_str_eq(p.meta.name, "default");
	ck_assert_int_eq(model_project_validate(&p), 0);
	ck_assert(model_project_permits_source(&p, "https://anything.example/x/y/z.git", NULL));
	ck_assert(model_project_permits_source(&p, "git@host:a/b", NULL));
	ck_assert(model_project_permits_destination(&p, &d, NULL));
	ck_assert(model_project_permits_destination(&p, &byname, NULL));
	ck_assert(model_project_permits_resource(&p, "apiextensions.k8s.io",
						 "CustomResourceDefinition", false, NULL));
	ck_assert(model_project_permits_resource(&p, "", "Secret", true, NULL));
	model_project_release(&p);
}
END_TEST

static const struct {
	const char *spec;
	const char *msg;
} invalid_projects[] = {
	{ "{\"destinations\":[{\"namespace\":\"x\"}]}", "spec.destinations[0]: one of server or name is required" },
	{ "{\"roles\":[{\"policies\":[]}]}", "spec.roles[0].name: is required" },
	{ "{\"roles\":[{\"name\":\"a\"},{\"name\":\"a\"}]}", "spec.roles[1].name: duplicate role \"a\"" },
	{ "{\"roles\":[{\"name\":\"a\",\"policies\":[\"p, proj:other:a, applications, get, p/*, allow\"]}]}",
	  "spec.roles[0].policies[0]: subject must be \"proj:p:a\"" },
	{ "{\"roles\":[{\"name\":\"a\",\"policies\":[\"p, proj:p:a, applications, get, q/*, allow\"]}]}",
	  "spec.roles[0].policies[0]: object must start with \"p/\"" },
	{ "{\"roles\":[{\"name\":\"a\",\"policies\":[\"p, proj:p:a, applications\"]}]}",
	  "spec.roles[0].policies[0]: \"p, proj:p:a, applications\" must be" },
	{ "{\"syncWindows\":[{\"kind\":\"maybe\",\"schedule\":\"* * * * *\",\"duration\":\"1h\"}]}",
	  "spec.syncWindows[0].kind: must be allow or deny" },
	{ "{\"syncWindows\":[{\"kind\":\"allow\",\"schedule\":\"* * * * *\",\"duration\":\"later\"}]}",
	  "spec.syncWindows[0].duration: must be a duration" },
	{ "{\"sourceRepos\":\"*\"}", "spec.sourceRepos: must be a list" },
	{ "{\"clusterResourceWhitelist\":[\"*\"]}", "spec.clusterResourceWhitelist[0]: must be an object" },
};

START_TEST(project_validation_names_the_field)
{
	json_t *o = parse_str("{\"metadata\":{\"name\":\"p\"}}");
	struct model_project p;
	int rc;

	json_object_set_new(o, "spec", parse_str(invalid_projects[_i].spec));
	rc = model_project_parse(o, &p);
	if (rc == 0) {
		rc = model_project_validate(&p);
		model_project_release(&p);
	}
	ck_assert_int_eq(rc, BERR_INVALID);
	ck_assert_msg(strncmp(err_msg(), invalid_projects[_i].msg, strlen(invalid_projects[_i].msg)) == 0,
		      "row %d: got \"%s\"", _i, err_msg());
	json_decref(o);
}
END_TEST

static const struct {
	const char *pattern, *s;
	char sep;
	bool ok;
} glob_rows[] = {
	{ "*", "a/b", 0, true },
	{ "a/*", "a/b/c", '/', false },
	{ "a/**", "a/b/c", '/', true },
	{ "a/?", "a/b", '/', true },
	{ "team-[a-c]", "team-b", 0, true },
	{ "team-[!a-c]", "team-b", 0, false },
	{ "{web,db}-*", "db-1", 0, true },
	{ "{web,db}-*", "cache-1", 0, false },
	{ "exact", "exact", 0, true },
	{ "exact", "exactly", 0, false },
	{ "a\\*", "a*", 0, true },
	{ "a\\*", "ab", 0, false },
};

START_TEST(glob_matches_argocd_patterns)
{
	ck_assert_msg(model_glob(glob_rows[_i].pattern, glob_rows[_i].s, glob_rows[_i].sep) ==
			      glob_rows[_i].ok,
		      "%s ~ %s", glob_rows[_i].pattern, glob_rows[_i].s);
}
END_TEST

/* Collects the JSON pointer of every value under v. */
static void collect_pointers(json_t *v, const char *prefix, json_t *out)
{
	const char *k;
	json_t *c;
	size_t i;
	char p[1024];

	json_array_append_new(out, json_string(prefix));
	if (json_is_object(v)) {
		json_object_foreach(v, k, c) {
			snprintf(p, sizeof(p), "%s/%s", prefix, k);
			collect_pointers(c, p, out);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c) {
			snprintf(p, sizeof(p), "%s/%zu", prefix, i);
			collect_pointers(c, p, out);
		}
	}
}

/* Every value of a full Application replaced by every other JSON type: the
 * parser answers 0 or BERR_INVALID (never crashes, never leaks: run under
 * ASan), and what it accepts validates and serialises. */
START_TEST(app_parser_survives_every_type_substitution)
{
	static const char *const subs[] = { "1", "-1", "\"x\"", "[]", "{}", "true", "null", "[1]",
					    "{\"a\":1}", "1.5" };
	json_t *orig = load_json("full-app.json"), *ptrs = json_array(), *pv;
	size_t i, j, accepted = 0, refused = 0;

	collect_pointers(orig, "", ptrs);
	ck_assert_uint_gt(json_array_size(ptrs), 100);
	json_array_foreach(ptrs, i, pv) {
		const char *ptr = json_string_value(pv);
		if (!*ptr)
			continue;
		for (j = 0; j < sizeof(subs) / sizeof(subs[0]); j++) {
			json_t *o = json_deep_copy(orig);
			struct model_app app;
			int rc;

			ck_assert_int_eq(jx_ptr_set(o, ptr, parse_str(subs[j]), false), 0);
			rc = model_app_parse(o, &app);
			ck_assert_msg(rc == 0 || rc == BERR_INVALID, "%s = %s: %d", ptr, subs[j], rc);
			if (rc == 0) {
				json_t *back = model_app_to_json(&app, true);
				ck_assert_ptr_nonnull(back);
				rc = model_app_validate(&app);
				ck_assert(rc == 0 || rc == BERR_INVALID);
				json_decref(back);
				model_app_release(&app);
				accepted++;
			} else {
				ck_assert_msg(strlen(err_msg()) > 0, "%s: no message", ptr);
				refused++;
			}
			json_decref(o);
		}
	}
	ck_assert_uint_gt(accepted, 0);
	ck_assert_uint_gt(refused, 0);
	json_decref(ptrs);
	json_decref(orig);
}
END_TEST

/* Backtracking over many stars is exponential; the step budget stops it,
 * and deny rules treat "too costly" as excluded. */
START_TEST(costly_patterns_are_bounded_and_fail_safe)
{
	const char *evil = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
	char s[200];
	char *deny_entry = NULL;
	struct model_project p = { 0 };
	int64_t start = clock_mono_ms();

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	ck_assert_int_eq(model_glob_checked(evil, s, 0), BERR_TOOLARGE);
	ck_assert(!model_glob(evil, s, 0));
	ck_assert_int_lt(clock_mono_ms() - start, 2000);
	/* A deny entry that cannot be evaluated excludes; an allow entry does
	 * not admit. */
	deny_entry = str_printf("!https://git.example/%s", evil);
	p.meta.name = S("p");
	model_strv_push(&p.source_repos, deny_entry);
	model_strv_push(&p.source_repos, "https://git.example/*");
	ck_assert(!model_project_permits_source(&p, "https://git.example/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL));
	ck_assert(model_project_permits_source(&p, "https://git.example/web", NULL));
	model_strv_release(&p.source_repos);
	model_strv_push(&p.source_repos, evil);
	ck_assert(!model_project_permits_source(&p, s, NULL));
	model_strv_release(&p.source_repos);
	free(deny_entry);
	/* Resource blacklists fail safe too. */
	{
		struct model_group_kind all = { .group = S("*"), .kind = S("*") };
		struct model_group_kind bad = { .group = S("*"), .kind = S(evil) };
		p.namespace_blacklist = &bad;
		p.n_namespace_blacklist = 1;
		ck_assert(!model_project_permits_resource(&p, "", s, true, NULL));
		ck_assert(model_project_permits_resource(&p, "", "ConfigMap", true, NULL));
		p.cluster_whitelist = &bad;
		p.n_cluster_whitelist = 1;
		p.cluster_blacklist = NULL;
		ck_assert(!model_project_permits_resource(&p, "", s, false, NULL));
		p.cluster_whitelist = &all;
		ck_assert(model_project_permits_resource(&p, "", s, false, NULL));
	}
}
END_TEST

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *model_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("model");

	tcase_add_test(tc, app_parse_applies_defaults);
	tcase_add_test(tc, app_full_object_round_trips_exactly);
	tcase_add_test(tc, app_keeps_fields_it_does_not_model);
	tcase_add_test(tc, app_without_status_omits_it);
	tcase_add_test(tc, app_status_alone_round_trips);
	tcase_add_test(tc, app_parser_survives_every_type_substitution);
	tcase_add_loop_test(tc, app_validation_names_the_field, 0, NROWS(invalid_apps));
	tcase_add_loop_test(tc, app_parse_rejects_wrong_types_by_path, 0, NROWS(mistyped_apps));
	tcase_add_test(tc, argocd_application_converts_by_api_version);
	tcase_add_test(tc, argocd_yaml_applications_convert_parse_and_validate);
	tcase_add_test(tc, crds_parse_with_kyaml);
	tcase_add_test(tc, project_fixture_round_trips);
	tcase_add_test(tc, argocd_conversion_maps_finalizer_variants_and_projects);
	tcase_add_test(tc, argocd_conversion_refuses_other_kinds);
	tcase_add_test(tc, argocd_application_parses_without_explicit_conversion);
	tcase_add_test(tc, source_settings_hash_ignores_revision_but_not_settings);
	tcase_add_test(tc, durations_format_like_go);
	tcase_add_loop_test(tc, repo_url_normalises_like_argocd, 0, NROWS(url_rows));
	tcase_add_test(tc, repo_url_equal_across_forms);
	tcase_add_test(tc, repo_urls_are_redacted_in_messages);
	tcase_add_test(tc, repo_match_prefers_exact_then_longest_template);
	tcase_add_test(tc, repo_secret_round_trips_and_hides_secrets);
	tcase_add_test(tc, repo_secret_reads_argocd_string_data);
	tcase_add_test(tc, cluster_secret_round_trips);
	tcase_add_test(tc, cluster_secret_from_argocd_shape);
	tcase_add_test(tc, in_cluster_is_kubernetes_default_svc);
	tcase_add_test(tc, destinations_resolve_by_name_or_server);
	tcase_add_test(tc, history_is_kept_to_the_limit_with_increasing_ids);
	tcase_add_test(tc, conditions_are_one_per_type);
	tcase_add_test(tc, project_round_trips);
	tcase_add_test(tc, project_checks_a_whole_application);
	tcase_add_test(tc, project_tokens_are_valid_while_listed_and_unexpired);
	tcase_add_loop_test(tc, project_sources_follow_globs_and_negation, 0, NROWS(source_rows));
	tcase_add_loop_test(tc, project_destinations_follow_argocd_rules, 0, NROWS(dest_rows));
	tcase_add_test(tc, project_source_negation_excludes_and_admits_the_rest);
	tcase_add_test(tc, project_destination_needs_an_allowing_entry);
	tcase_add_loop_test(tc, project_resources_follow_white_and_black_lists, 0, NROWS(resource_rows));
	tcase_add_test(tc, project_empty_namespace_whitelist_permits_nothing);
	tcase_add_test(tc, default_project_permits_everything);
	tcase_add_loop_test(tc, project_validation_names_the_field, 0, NROWS(invalid_projects));
	tcase_add_test(tc, costly_patterns_are_bounded_and_fail_safe);
	tcase_add_loop_test(tc, glob_matches_argocd_patterns, 0, NROWS(glob_rows));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(model_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
