/* Unit tests for diff: normalisation, three-way prediction, comparison,
 * rendering, cache key; data-driven on the real API-server objects in the
 * shared gitops-engine fixtures (test/data/diff/fixtures.json lists them). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diff.h"
#include "err.h"
#include "jsonx.h"
#include "kdefaults.h"
#include "kyaml.h"
#include "mergekeys.h"
#include "patch.h"

static json_t *t_fixtures;

static const char *fixtures_dir(void)
{
	static char dir[4096];
	const char *f = getenv("FIXTURES");
	const char *top = getenv("BERTH_TOP");
	if (f)
		snprintf(dir, sizeof(dir), "%s/gitops-engine/diff", f);
	else
		snprintf(dir, sizeof(dir), "%s/../shared/fixtures/gitops-engine/diff", top ? top : ".");
	return dir;
}

/* Loads a fixture, JSON or YAML (read as Kubernetes reads it, lib/kyaml). */
static json_t *load_fixture(const char *name)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", fixtures_dir(), name);
	if (strstr(name, ".yaml")) {
		FILE *fp = fopen(path, "r");
		ck_assert_msg(fp != NULL, "open %s", path);
		static char data[1 << 20];
		size_t n = fread(data, 1, sizeof(data), fp);
		fclose(fp);
		json_t *v = NULL;
		ck_assert_msg(kyaml_load_one(data, n, NULL, &v) == 0, "%s: %s", path, err_msg());
		return v;
	}
	json_error_t e;
	json_t *v = json_load_file(path, 0, &e);
	ck_assert_msg(v != NULL, "load %s: %s", path, e.text);
	return v;
}

static json_t *jparse(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, 0, &e);
	ck_assert_msg(v != NULL, "bad test JSON: %s: %s", e.text, s);
	return v;
}

static char *dump(const json_t *v)
{
	return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : strdup("(null)");
}

static void explain(const struct diff_result *r, struct buf *b)
{
	for (size_t i = 0; i < r->n_changes && i < 10; i++) {
		char *o = dump(r->changes[i].old_value), *n = dump(r->changes[i].new_value);
		buf_printf(b, "\n  %s: %.200s -> %.200s", r->changes[i].pointer, o, n);
		free(o);
		free(n);
	}
}

/* True when one pointer is the other or an ancestor of it. */
static bool str_starts_with_ptr(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	const char *longer = la >= lb ? a : b, *shorter = la >= lb ? b : a;
	size_t ls = strlen(shorter);
	return strncmp(longer, shorter, ls) == 0 && (longer[ls] == '\0' || longer[ls] == '/');
}

/* The controller defaults the namespace of desired objects before diffing
 * (DESIGN.md §5); the fixtures' configs often lack it. */
static void default_namespace(json_t *desired, const json_t *live)
{
	const char *ns = jx_path_str(live, "metadata", "namespace", NULL);
	json_t *md = json_object_get(desired, "metadata");
	if (ns && md && !json_object_get(md, "namespace"))
		json_object_set_new(md, "namespace", json_string(ns));
}

static void assert_not_modified(const char *what, const json_t *desired, const json_t *live,
				const struct diff_settings *s)
{
	struct diff_result r;
	diff_result_init(&r);
	int rc = diff_compute(desired, live, s, &r);
	ck_assert_msg(rc == 0, "%s: %s", what, err_msg());
	if (r.modified) {
		struct buf b;
		buf_init(&b, 1 << 16);
		explain(&r, &b);
		ck_abort_msg("%s: reported modified:%s", what, b.ptr);
	}
	diff_result_release(&r);
}

/* Fixture: unchanged config → not modified. */
START_TEST(fixture_unchanged_is_not_modified)
{
	const json_t *row = json_array_get(t_fixtures, (size_t)_i);
	json_t *desired = load_fixture(jx_str(row, "config"));
	json_t *live = load_fixture(jx_str(row, "live"));
	default_namespace(desired, live);
	const char *at = jx_str(row, "modified_at");
	if (!at) {
		assert_not_modified(jx_str(row, "name"), desired, live, NULL);
	} else {
		/* a pair whose config really differs from live (a change made in
		 * Git): modified, with the change where the table says */
		struct diff_result r;
		diff_result_init(&r);
		ck_assert_msg(diff_compute(desired, live, NULL, &r) == 0, "%s", err_msg());
		ck_assert_msg(r.modified, "%s: not modified", jx_str(row, "name"));
		bool named = false;
		for (size_t i = 0; i < r.n_changes; i++)
			if (str_starts_with_ptr(at, r.changes[i].pointer))
				named = true;
		ck_assert_msg(named, "%s: no change at %s", jx_str(row, "name"), at);
		diff_result_release(&r);
	}
	json_decref(desired);
	json_decref(live);
}
END_TEST

/* Fixture: one field Git manages changed → modified, the change names the
 * field, and the patch sent to the server brings live to desired. */
START_TEST(fixture_mutated_field_is_modified)
{
	const json_t *row = json_array_get(t_fixtures, (size_t)_i);
	const char *name = jx_str(row, "name");
	json_t *desired = load_fixture(jx_str(row, "config"));
	json_t *live = load_fixture(jx_str(row, "live"));
	default_namespace(desired, live);
	const json_t *m = json_object_get(row, "mutate");
	const char *ptr = jx_str(m, "path");
	ck_assert_int_eq(jx_ptr_set(desired, ptr, json_deep_copy(json_object_get(m, "value")), false), 0);

	struct diff_result r;
	diff_result_init(&r);
	ck_assert_msg(diff_compute(desired, live, NULL, &r) == 0, "%s: %s", name, err_msg());
	ck_assert_msg(r.modified, "%s: mutation of %s not detected", name, ptr);
	/* the change is at the field, above it, or (a keyed list item whose key
	 * changed reads as an added item) in the list that holds it */
	char list[512];
	snprintf(list, sizeof(list), "%s", ptr);
	for (char *q = strrchr(list, '/'); q; q = strrchr(list, '/')) {
		bool digits = q[1] != '\0';
		for (char *d = q + 1; *d; d++)
			digits = digits && *d >= '0' && *d <= '9';
		*q = '\0';
		if (digits)
			break;
	}
	bool named = false;
	for (size_t i = 0; i < r.n_changes; i++)
		if (str_starts_with_ptr(ptr, r.changes[i].pointer) ||
		    (list[0] && strncmp(r.changes[i].pointer, list, strlen(list)) == 0))
			named = true;
	if (!named) {
		struct buf b;
		buf_init(&b, 1 << 16);
		explain(&r, &b);
		ck_abort_msg("%s: no change at %s:%s", name, ptr, b.ptr);
	}
	ck_assert_ptr_nonnull(r.patch);
	ck_assert_uint_gt(json_object_size(r.patch), 0);

	/* applying the patch as the API server would gives an object in sync
	 * (except where the table explains why it cannot) */
	if (jx_str(row, "no_convergence")) {
		diff_result_release(&r);
		json_decref(desired);
		json_decref(live);
		return;
	}
	json_t *synced = json_deep_copy(live);
	const char *av = jx_str(live, "apiVersion");
	char group[128] = "";
	const char *slash = strchr(av, '/');
	if (slash)
		snprintf(group, sizeof(group), "%.*s", (int)(slash - av), av);
	int rc = r.patch_is_strategic ? patch_apply_strategic(synced, r.patch, group, jx_str(live, "kind"))
				      : patch_apply_merge(synced, r.patch);
	ck_assert_msg(rc == 0, "%s: apply patch: %s", name, err_msg());
	assert_not_modified(name, desired, synced, NULL);
	json_decref(synced);
	diff_result_release(&r);
	json_decref(desired);
	json_decref(live);
}
END_TEST

/* ---- behaviour ---- */

struct dr {
	struct diff_result r;
	int rc;
};

static struct dr run(const char *desired, const char *live, const struct diff_settings *s)
{
	struct dr d;
	json_t *a = desired ? jparse(desired) : NULL, *b = live ? jparse(live) : NULL;
	diff_result_init(&d.r);
	d.rc = diff_compute(a, b, s, &d.r);
	json_decref(a);
	json_decref(b);
	return d;
}

static bool has_change(const struct diff_result *r, const char *ptr, enum diff_op op)
{
	for (size_t i = 0; i < r->n_changes; i++)
		if (strcmp(r->changes[i].pointer, ptr) == 0 && r->changes[i].op == op)
			return true;
	return false;
}

#define DEPLOY_HEAD "\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\""
#define LA(json) "\"kubectl.kubernetes.io/last-applied-configuration\":" json

START_TEST(diff_ignores_server_metadata_and_status)
{
	struct dr d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\",\"namespace\":\"d\"},\"spec\":{\"replicas\":2}}",
			  "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\",\"namespace\":\"d\",\"uid\":\"u\",\"resourceVersion\":\"9\","
			  "\"generation\":3,\"creationTimestamp\":\"2024-01-01T00:00:00Z\",\"managedFields\":[{}],\"selfLink\":\"x\","
			  "\"annotations\":{\"deployment.kubernetes.io/revision\":\"4\",\"berth.dev/tracking-id\":\"a:apps/Deployment:d/w\"}},"
			  "\"spec\":{\"replicas\":2,\"revisionHistoryLimit\":10},\"status\":{\"replicas\":2}}",
			  NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(!d.r.modified);
	ck_assert(!d.r.three_way);
	ck_assert_int_eq(json_object_size(d.r.patch), 0);
	diff_result_release(&d.r);
}
END_TEST

/* Pairs (Git, live) that must not count as drift, each with the behaviour it
 * pins down. */
static const struct unmodified_case {
	const char *what, *desired, *live;
} unmodified_cases[] = {
	{"two-way diff keeps fields set in the cluster",
	 "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":2}}",
	 "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\",\"labels\":{\"by-hand\":\"yes\"}},\"spec\":{\"replicas\":2,\"paused\":true}}"},
	{"an empty map equals an absent one",
	 "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\",\"annotations\":{},\"labels\":{}},\"spec\":{\"template\":{\"spec\":{\"volumes\":[]}}}}",
	 "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"template\":{\"spec\":{}}}}"},
	{"template creationTimestamp null is ignored",
	 "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"template\":{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"a\":\"b\"}}}}}",
	 "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}}}}}"},
	{"the namespace name label is ignored",
	 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"team\"}}",
	 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"team\",\"labels\":{\"kubernetes.io/metadata.name\":\"team\"}},"
	  "\"spec\":{\"finalizers\":[\"kubernetes\"]},\"status\":{\"phase\":\"Active\"}}"},
	{"cluster-scoped objects compare without namespace",
	 "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"r\",\"namespace\":\"apps\"},\"rules\":[]}",
	 "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"r\"}}"},
	/* Endpoints subsets are atomic: the server's protocol default in each
	 * port must not count as drift when Git changes nothing. */
	{"defaults inside atomic lists are not drift",
	 "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"e\",\"annotations\":{}},"
	  "\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.1\"}],\"ports\":[{\"port\":80}]}]}",
	 "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"e\",\"annotations\":{" LA("\"{\\\"metadata\\\":{\\\"name\\\":\\\"e\\\"},\\\"subsets\\\":[{\\\"addresses\\\":[{\\\"ip\\\":\\\"10.0.0.1\\\"}],\\\"ports\\\":[{\\\"port\\\":8080}]}]}\"") "}},"
	  "\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.1\"}],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}]}"},
	{"quantities compare by value",
	 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\","
	  "\"resources\":{\"limits\":{\"cpu\":\"1000m\",\"memory\":\"1024Mi\"},\"requests\":{\"cpu\":0.5}}}]}}",
	 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\","
	  "\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},\"requests\":{\"cpu\":\"500m\"}}}]}}"},
};

START_TEST(diff_unmodified_table_case)
{
	const struct unmodified_case *c = &unmodified_cases[_i];
	struct dr d = run(c->desired, c->live, NULL);
	ck_assert_msg(d.rc == 0, "%s: %s", c->what, err_msg());
	ck_assert_msg(!d.r.modified, "%s: reported modified", c->what);
	diff_result_release(&d.r);
}
END_TEST

START_TEST(diff_reports_changed_managed_field)
{
	struct dr d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":3}}",
			  "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":2}}", NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(d.r.modified);
	ck_assert(has_change(&d.r, "/spec/replicas", DIFF_OP_REPLACE));
	ck_assert_int_eq(json_integer_value(d.r.changes[0].old_value), 2);
	ck_assert_int_eq(json_integer_value(d.r.changes[0].new_value), 3);
	ck_assert(d.r.patch_is_strategic);
	diff_result_release(&d.r);
}
END_TEST

START_TEST(diff_compare_only_reports_the_same_changes_without_a_patch)
{
	const char *desired = "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":3}}";
	const char *live = "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":2}}";
	struct diff_settings only = {.compare_only = true};
	struct dr full = run(desired, live, NULL), cmp = run(desired, live, &only);
	ck_assert_int_eq(full.rc, 0);
	ck_assert_int_eq(cmp.rc, 0);
	ck_assert(cmp.r.modified);
	ck_assert_ptr_nonnull(full.r.patch);
	ck_assert_ptr_null(cmp.r.patch);
	ck_assert_uint_eq(cmp.r.n_changes, full.r.n_changes);
	ck_assert(jx_equal(cmp.r.predicted_live, full.r.predicted_live));
	char k1[65], k2[65];
	json_t *a = jparse(desired), *b = jparse(live);
	json_object_set_new(json_object_get(b, "metadata"), "uid", json_string("u1"));
	json_object_set_new(json_object_get(b, "metadata"), "resourceVersion", json_string("7"));
	ck_assert_int_eq(diff_cache_key(a, b, NULL, k1), 0);
	ck_assert_int_eq(diff_cache_key(a, b, &only, k2), 0);
	ck_assert_str_eq(k1, k2);
	json_decref(a);
	json_decref(b);
	diff_result_release(&full.r);
	diff_result_release(&cmp.r);
}
END_TEST

START_TEST(diff_three_way_deletes_field_dropped_from_git)
{
	struct dr d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":2}}",
			  "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\",\"annotations\":{" LA("\"{\\\"spec\\\":{\\\"replicas\\\":2,\\\"paused\\\":true}}\"") "}},"
			  "\"spec\":{\"replicas\":2,\"paused\":true,\"minReadySeconds\":5}}", NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(d.r.three_way);
	ck_assert(d.r.modified);
	ck_assert(has_change(&d.r, "/spec/paused", DIFF_OP_REMOVE));
	ck_assert_uint_eq(d.r.n_changes, 1); /* minReadySeconds: never in Git, not drift */
	ck_assert(json_is_null(jx_path(d.r.patch, "spec", "paused", NULL)));
	diff_result_release(&d.r);
}
END_TEST

START_TEST(diff_keyed_list_changes_name_items)
{
	const char *live = "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"template\":{\"spec\":{\"containers\":["
			   "{\"name\":\"a\",\"image\":\"a:1\"},{\"name\":\"b\",\"image\":\"b:1\"}]}}}}";
	/* Git adds c before b and changes a's image */
	struct dr d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"template\":{\"spec\":{\"containers\":["
			  "{\"name\":\"a\",\"image\":\"a:2\"},{\"name\":\"c\",\"image\":\"c:1\"},{\"name\":\"b\",\"image\":\"b:1\"}]}}}}",
			  live, NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert_uint_eq(d.r.n_changes, 2);
	ck_assert(has_change(&d.r, "/spec/template/spec/containers/0/image", DIFF_OP_REPLACE));
	ck_assert(has_change(&d.r, "/spec/template/spec/containers/1", DIFF_OP_ADD));
	diff_result_release(&d.r);
	/* the same items in another order: one replacement of the list. Git
	 * reorders a and b and drops c (which live no longer has), so kubectl
	 * sends $setElementOrder and the server reorders. */
	d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"template\":{\"spec\":{\"containers\":["
		"{\"name\":\"b\",\"image\":\"b:1\"},{\"name\":\"a\",\"image\":\"a:1\"}]}}}}",
		"{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\",\"annotations\":{" LA("\"{\\\"spec\\\":{\\\"template\\\":{\\\"spec\\\":{\\\"containers\\\":[{\\\"name\\\":\\\"a\\\"},{\\\"name\\\":\\\"b\\\"},{\\\"name\\\":\\\"c\\\"}]}}}}\"") "}},"
		"\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"a:1\"},{\"name\":\"b\",\"image\":\"b:1\"}]}}}}", NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(d.r.modified);
	ck_assert_uint_eq(d.r.n_changes, 1);
	ck_assert(has_change(&d.r, "/spec/template/spec/containers", DIFF_OP_REPLACE));
	diff_result_release(&d.r);
}
END_TEST

static bool cluster_all(void *ctx, const char *group, const char *kind)
{
	(void)ctx;
	(void)group;
	(void)kind;
	return true;
}

START_TEST(diff_uses_scope_callback)
{
	struct diff_settings s = {.cluster_scoped = cluster_all};
	struct dr d = run("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"r\",\"namespace\":\"apps\"}}",
			  "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"r\"}}", &s);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(!d.r.modified);
	diff_result_release(&d.r);
}
END_TEST

START_TEST(diff_drops_configured_annotations)
{
	const char *ann[] = {"team.example/owner", "ci.example/", NULL};
	struct diff_settings s = {.ignore_annotations = ann};
	struct dr d = run("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"annotations\":{\"keep\":\"1\"}}}",
			  "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"annotations\":{\"keep\":\"1\","
			  "\"team.example/owner\":\"x\",\"ci.example/build\":\"7\"}}}", &s);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(!d.r.modified);
	diff_result_release(&d.r);
	d = run("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"annotations\":{\"keep\":\"1\"}}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"annotations\":{\"keep\":\"2\",\"ci.example/build\":\"7\"}}}", &s);
	ck_assert(d.r.modified);
	ck_assert(has_change(&d.r, "/metadata/annotations/keep", DIFF_OP_REPLACE));
	diff_result_release(&d.r);
}
END_TEST

START_TEST(diff_folds_secret_string_data)
{
	struct dr d = run("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"stringData\":{\"user\":\"admin\"}}",
			  "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"type\":\"Opaque\",\"data\":{\"user\":\"YWRtaW4=\"}}", NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(!d.r.modified);
	diff_result_release(&d.r);
}
END_TEST

START_TEST(diff_rejects_invalid_base64_in_secret)
{
	struct dr d = run("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"data\":{\"k\":\"not base64!\"}}",
			  "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"data\":{\"k\":\"YQ==\"}}", NULL);
	ck_assert_int_eq(d.rc, BERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err_msg(), "base64"));
	ck_assert_ptr_null(d.r.patch);
}
END_TEST

START_TEST(diff_unified_masks_secret_values)
{
	struct dr d = run("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"data\":{\"same\":\"c2FtZQ==\",\"pw\":\"bmV3cGFzcw==\"}}",
			  "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"data\":{\"same\":\"c2FtZQ==\",\"pw\":\"b2xkcGFzcw==\"}}", NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(d.r.modified);
	struct buf b;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(diff_unified(&d.r, &b), 0);
	ck_assert_ptr_null(strstr(b.ptr, "c2FtZQ"));
	ck_assert_ptr_null(strstr(b.ptr, "bmV3cGFzcw"));
	ck_assert_ptr_null(strstr(b.ptr, "b2xkcGFzcw"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "++++++++"));
	/* the changed value's masks differ, so exactly one line pair shows */
	ck_assert_ptr_nonnull(strstr(b.ptr, "\n-"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "\n+"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "++++++++++++"));
	/* the change list holds masks, not values */
	ck_assert(d.r.is_secret);
	ck_assert(has_change(&d.r, "/data/pw", DIFF_OP_REPLACE));
	for (size_t i = 0; i < d.r.n_changes; i++) {
		char *o = dump(d.r.changes[i].old_value), *n = dump(d.r.changes[i].new_value);
		ck_assert_ptr_null(strstr(o, "cGFzcw"));
		ck_assert_ptr_null(strstr(n, "cGFzcw"));
		ck_assert_str_ne(o, n);
		free(o);
		free(n);
	}
	buf_release(&b);
	diff_result_release(&d.r);
}
END_TEST

START_TEST(diff_new_secret_is_masked_in_changes)
{
	struct dr d = run("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"stringData\":{\"pw\":\"hunter2\"}}", NULL, NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(has_change(&d.r, "", DIFF_OP_ADD));
	char *n = dump(d.r.changes[0].new_value);
	ck_assert_ptr_null(strstr(n, "hunter2"));
	ck_assert_ptr_null(strstr(n, "aHVudGVyMg"));
	ck_assert_ptr_nonnull(strstr(n, "++++"));
	free(n);
	struct buf b;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(diff_unified(&d.r, &b), 0);
	ck_assert_ptr_null(strstr(b.ptr, "aHVudGVyMg"));
	buf_release(&b);
	diff_result_release(&d.r);
}
END_TEST

START_TEST(diff_secret_last_applied_records_keys_only)
{
	json_t *v1 = jparse("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"namespace\":\"d\"},"
			    "\"data\":{\"a\":\"c2VjcmV0QQ==\",\"b\":\"c2VjcmV0Qg==\"},\"stringData\":{\"c\":\"plainC\"}}");
	json_t *live = jparse("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"namespace\":\"d\"},\"type\":\"Opaque\"}");
	struct diff_result r;
	diff_result_init(&r);
	ck_assert_int_eq(diff_compute(v1, live, NULL, &r), 0);
	ck_assert(r.modified);
	const char *ann = jx_path_str(r.patch, "metadata", "annotations", DIFF_LAST_APPLIED, NULL);
	ck_assert_ptr_nonnull(ann);
	ck_assert_ptr_null(strstr(ann, "c2VjcmV0"));
	ck_assert_ptr_null(strstr(ann, "plainC"));
	ck_assert_ptr_nonnull(strstr(ann, "\"b\":\"\""));
	/* the server stores it (stringData folded into data) */
	ck_assert_int_eq(patch_apply_strategic(live, r.patch, "", "Secret"), 0);
	json_t *data = jx_obj_ensure(live, "data");
	json_object_set_new(data, "c", json_string("cGxhaW5D"));
	json_object_del(live, "stringData");
	diff_result_release(&r);
	assert_not_modified("after sync", v1, live, NULL);
	/* Git drops b: the recorded key is enough to delete it */
	json_object_del(json_object_get(v1, "data"), "b");
	ck_assert_int_eq(diff_compute(v1, live, NULL, &r), 0);
	ck_assert(r.modified);
	ck_assert(has_change(&r, "/data/b", DIFF_OP_REMOVE));
	ck_assert(json_is_null(jx_path(r.patch, "data", "b", NULL)));
	diff_result_release(&r);
	json_decref(v1);
	json_decref(live);
}
END_TEST

START_TEST(diff_unified_shows_changed_lines)
{
	struct dr d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":5,\"paused\":false}}",
			  "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":1,\"paused\":false}}", NULL);
	struct buf b;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(diff_unified(&d.r, &b), 0);
	ck_assert(strncmp(b.ptr, "--- live\n+++ desired\n@@ ", 24) == 0);
	ck_assert_ptr_nonnull(strstr(b.ptr, "replicas\": 1") ? strstr(b.ptr, "replicas\": 1") : strstr(b.ptr, "replicas: 1"));
	ck_assert_ptr_nonnull(strstr(b.ptr, "-"));
	buf_release(&b);
	diff_result_release(&d.r);
	d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"}}", "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"}}", NULL);
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(diff_unified(&d.r, &b), 0);
	ck_assert_uint_eq(b.len, 0);
	buf_release(&b);
	diff_result_release(&d.r);
}
END_TEST

START_TEST(diff_ignore_differences_json_pointer)
{
	json_t *rules = jparse("[{\"group\":\"apps\",\"kind\":\"Deployment\",\"jsonPointers\":[\"/spec/replicas\"]}]");
	struct diff_settings s = {.ignore_differences = rules};
	struct dr d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":3}}",
			  "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":7}}", &s);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(!d.r.modified);
	diff_result_release(&d.r);
	/* a rule for another kind does not apply */
	json_object_set_new(json_array_get(rules, 0), "kind", json_string("StatefulSet"));
	d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":3}}",
		"{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":7}}", &s);
	ck_assert(d.r.modified);
	diff_result_release(&d.r);
	json_decref(rules);
}
END_TEST

START_TEST(diff_ignore_differences_jq_select)
{
	json_t *rules = jparse("[{\"group\":\"apps\",\"kind\":\"*\",\"name\":\"w\",\"jqPathExpressions\":"
			       "[\".spec.template.spec.containers[] | select(.name == \\\"app\\\") | .image\"]}]");
	struct diff_settings s = {.ignore_differences = rules};
	const char *desired = "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"template\":{\"spec\":{\"containers\":["
			      "{\"name\":\"app\",\"image\":\"a:1\"},{\"name\":\"side\",\"image\":\"s:1\"}]}}}}";
	struct dr d = run(desired, "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"template\":{\"spec\":{\"containers\":["
			  "{\"name\":\"app\",\"image\":\"a:2\"},{\"name\":\"side\",\"image\":\"s:1\"}]}}}}", &s);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(!d.r.modified);
	diff_result_release(&d.r);
	d = run(desired, "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"template\":{\"spec\":{\"containers\":["
		"{\"name\":\"app\",\"image\":\"a:1\"},{\"name\":\"side\",\"image\":\"s:2\"}]}}}}", &s);
	ck_assert(d.r.modified);
	diff_result_release(&d.r);
	json_decref(rules);
}
END_TEST

START_TEST(diff_ignore_differences_jq_annotation_key)
{
	json_t *rules = jparse("[{\"kind\":\"ConfigMap\",\"jqPathExpressions\":[\".metadata.annotations[\\\"a/b\\\"]\"]}]");
	struct diff_settings s = {.ignore_differences = rules};
	struct dr d = run("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"annotations\":{\"a/b\":\"1\"}}}",
			  "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"annotations\":{\"a/b\":\"2\"}}}", &s);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(!d.r.modified);
	diff_result_release(&d.r);
	json_decref(rules);
}
END_TEST

START_TEST(diff_ignore_differences_bad_jq_is_an_error)
{
	json_t *rules = jparse("[{\"kind\":\"ConfigMap\",\"jqPathExpressions\":[\".data | length\"]}]");
	struct diff_settings s = {.ignore_differences = rules};
	struct dr d = run("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}",
			  "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}", &s);
	ck_assert_int_eq(d.rc, BERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err_msg(), "jq path"));
	json_decref(rules);
}
END_TEST

START_TEST(diff_refuses_too_many_matching_rules)
{
	json_t *rules = json_array();
	for (int i = 0; i < 70; i++)
		json_array_append_new(rules, json_pack("{s:s, s:[s]}", "kind", "ConfigMap", "jsonPointers", "/data/x"));
	struct diff_settings s = {.ignore_differences = rules};
	struct dr d = run("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}",
			  "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}", &s);
	ck_assert_int_eq(d.rc, BERR_TOOLARGE);
	json_decref(rules);
}
END_TEST

START_TEST(diff_customizations_by_group_kind)
{
	json_t *custom = jparse("{\"apps_Deployment\":{\"jsonPointers\":[\"/spec/replicas\"]},"
				"\"ConfigMap\":{\"jqPathExpressions\":[\".data.x\"]}}");
	struct diff_settings s = {.customizations = custom};
	struct dr d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":3}}",
			  "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":7}}", &s);
	ck_assert(!d.r.modified);
	diff_result_release(&d.r);
	d = run("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},\"data\":{\"x\":\"1\",\"y\":\"1\"}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},\"data\":{\"x\":\"2\",\"y\":\"1\"}}", &s);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(!d.r.modified);
	diff_result_release(&d.r);
	json_decref(custom);
}
END_TEST

START_TEST(diff_ignore_managed_fields_manager)
{
	json_t *rules = jparse("[{\"group\":\"apps\",\"kind\":\"Deployment\",\"managedFieldsManagers\":[\"hpa-controller\"]}]");
	struct diff_settings s = {.ignore_differences = rules};
	struct dr d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":3,\"paused\":false}}",
			  "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\",\"managedFields\":[{\"manager\":\"hpa-controller\",\"operation\":\"Update\","
			  "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:spec\":{\"f:replicas\":{}}}}]},\"spec\":{\"replicas\":9,\"paused\":false}}", &s);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(!d.r.modified);
	diff_result_release(&d.r);
	/* a keyed list item's field owned by the manager (k:{"name":...}) */
	const char *mf = "\"managedFields\":[{\"manager\":\"hpa-controller\",\"operation\":\"Update\",\"fieldsType\":\"FieldsV1\","
			 "\"fieldsV1\":{\"f:spec\":{\"f:template\":{\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"app\\\"}\":"
			 "{\".\":{},\"f:image\":{}}}}}}}}]";
	char live[1024];
	snprintf(live, sizeof(live), "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\",%s},\"spec\":{\"template\":{\"spec\":{\"containers\":"
		 "[{\"name\":\"app\",\"image\":\"a:2\"}]}}}}", mf);
	d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"a:1\"}]}}}}",
		live, &s);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(!d.r.modified);
	diff_result_release(&d.r);
	json_decref(rules);
}
END_TEST

START_TEST(diff_custom_resource_uses_merge_patch)
{
	struct dr d = run("{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\"},\"spec\":{\"items\":[{\"name\":\"a\",\"v\":2}]}}",
			  "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"w\"},\"spec\":{\"items\":[{\"name\":\"a\",\"v\":1},{\"name\":\"b\"}]}}", NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(d.r.modified);
	ck_assert(!d.r.patch_is_strategic);
	ck_assert_uint_eq(json_array_size(jx_path(d.r.patch, "spec", "items", NULL)), 1);
	diff_result_release(&d.r);
}
END_TEST

START_TEST(diff_missing_live_is_added)
{
	struct dr d = run("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}", NULL, NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(d.r.modified);
	ck_assert(has_change(&d.r, "", DIFF_OP_ADD));
	ck_assert_ptr_null(d.r.patch);
	ck_assert_ptr_nonnull(d.r.predicted_live);
	diff_result_release(&d.r);
	d = run(NULL, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}", NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(has_change(&d.r, "", DIFF_OP_REMOVE));
	diff_result_release(&d.r);
	d = run(NULL, NULL, NULL);
	ck_assert_int_eq(d.rc, BERR_INVALID);
}
END_TEST

START_TEST(diff_rejects_bad_objects)
{
	const char *bad[] = {"[1,2]", "\"x\"", "{\"kind\":\"ConfigMap\"}", "{\"apiVersion\":\"v1\"}",
			     "{\"apiVersion\":3,\"kind\":\"ConfigMap\"}", "{\"apiVersion\":\"v1\",\"kind\":\"\"}"};
	const char *good = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *b = json_loads(bad[i], JSON_DECODE_ANY, NULL), *g = jparse(good);
		struct diff_result r;
		diff_result_init(&r);
		ck_assert_int_eq(diff_compute(b, g, NULL, &r), BERR_INVALID);
		ck_assert_int_eq(diff_compute(g, b, NULL, &r), BERR_INVALID);
		ck_assert(!r.modified);
		json_decref(b);
		json_decref(g);
	}
	struct dr d = run(good, "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"c\"}}", NULL);
	ck_assert_int_eq(d.rc, BERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err_msg(), "different kinds"));
}
END_TEST

START_TEST(diff_wrong_type_in_known_field_is_a_difference)
{
	struct dr d = run("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":\"3\",\"template\":{\"spec\":{\"containers\":{\"name\":\"x\"}}}}}",
			  "{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":3,\"template\":{\"spec\":{\"containers\":[{\"name\":\"x\"}]}}}}", NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(d.r.modified);
	ck_assert(has_change(&d.r, "/spec/replicas", DIFF_OP_REPLACE));
	ck_assert(has_change(&d.r, "/spec/template/spec/containers", DIFF_OP_REPLACE));
	diff_result_release(&d.r);
}
END_TEST

START_TEST(diff_refuses_deep_nesting)
{
	json_t *deep = json_object(), *cur = deep;
	for (int i = 0; i < DIFF_MAX_DEPTH + 10; i++) {
		json_t *n = json_object();
		json_object_set_new(cur, "a", n);
		cur = n;
	}
	json_t *obj = json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name", "c", "data", deep);
	json_t *live = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name", "c");
	struct diff_result r;
	diff_result_init(&r);
	ck_assert_int_eq(diff_compute(obj, live, NULL, &r), BERR_TOOLARGE);
	ck_assert_int_eq(diff_compute(live, obj, NULL, &r), BERR_TOOLARGE);
	json_decref(obj);
	json_decref(live);
}
END_TEST

START_TEST(diff_handles_50mb_object)
{
	size_t n = (size_t)50 << 20;
	char *big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	json_t *desired = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name", "c", "data", "k", big);
	json_t *live = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name", "c", "data", "k", "small");
	free(big);
	struct diff_result r;
	diff_result_init(&r);
	int rc = diff_compute(desired, live, NULL, &r);
	ck_assert(rc == 0 || rc == BERR_TOOLARGE);
	if (rc == 0)
		ck_assert(r.modified);
	diff_result_release(&r);
	/* many values: refused by the node bound */
	json_t *arr = json_array();
	for (size_t i = 0; i < DIFF_MAX_NODES + 10; i++)
		json_array_append_new(arr, json_true());
	json_object_set_new(json_object_get(desired, "data"), "many", arr);
	ck_assert_int_eq(diff_compute(desired, live, NULL, &r), BERR_TOOLARGE);
	json_decref(desired);
	json_decref(live);
}
END_TEST

START_TEST(diff_huge_lists_stay_bounded)
{
	/* a live object with 50000 containers: the diff either refuses the
	 * merge (BERR_TOOLARGE) or answers; it never goes quadratic */
	json_t *live = jparse("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":1,\"template\":{\"spec\":{}}}}");
	json_t *cs = json_array();
	char name[32];
	for (int i = 0; i < 50000; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		json_array_append_new(cs, json_pack("{s:s}", "name", name));
	}
	json_object_set_new(jx_path(live, "spec", "template", "spec", NULL), "containers", cs);
	json_t *d1 = jparse("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"replicas\":2}}");
	json_t *d2 = jparse("{" DEPLOY_HEAD ",\"metadata\":{\"name\":\"w\"},\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c1\",\"image\":\"x\"}]}}}}");
	struct diff_result r;
	diff_result_init(&r);
	ck_assert_int_eq(diff_compute(d1, live, NULL, &r), 0);
	ck_assert(r.modified);
	ck_assert(has_change(&r, "/spec/replicas", DIFF_OP_REPLACE));
	ck_assert_uint_eq(r.n_changes, 1);
	diff_result_release(&r);
	ck_assert_int_eq(diff_compute(d2, live, NULL, &r), BERR_TOOLARGE);
	json_decref(live);
	json_decref(d1);
	json_decref(d2);
}
END_TEST

START_TEST(diff_normalized_hash_ignores_server_fields)
{
	json_t *a = jparse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},\"data\":{\"k\":\"v\"}}");
	json_t *b = jparse("{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"data\":{\"k\":\"v\"},\"metadata\":{\"name\":\"c\",\"uid\":\"u\","
			   "\"resourceVersion\":\"7\"},\"status\":{}}");
	json_t *c = jparse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},\"data\":{\"k\":\"w\"}}");
	char ha[65], hb[65], hc[65];
	ck_assert_int_eq(diff_normalized_hash(a, NULL, ha), 0);
	ck_assert_int_eq(diff_normalized_hash(b, NULL, hb), 0);
	ck_assert_int_eq(diff_normalized_hash(c, NULL, hc), 0);
	ck_assert_str_eq(ha, hb);
	ck_assert_str_ne(ha, hc);
	ck_assert_int_eq(diff_normalized_hash(json_object_get(a, "data"), NULL, ha), BERR_INVALID);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}
END_TEST

START_TEST(diff_cache_key_tracks_inputs)
{
	json_t *d = jparse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}");
	json_t *l1 = jparse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"uid\":\"u\",\"resourceVersion\":\"1\"}}");
	json_t *l2 = jparse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"uid\":\"u\",\"resourceVersion\":\"2\"}}");
	json_t *rules = jparse("[{\"kind\":\"ConfigMap\",\"jsonPointers\":[\"/data\"]}]");
	struct diff_settings s = {.ignore_differences = rules};
	char k1[65], k1b[65], k2[65], k3[65];
	ck_assert_int_eq(diff_cache_key(d, l1, NULL, k1), 0);
	ck_assert_int_eq(diff_cache_key(d, l1, NULL, k1b), 0);
	ck_assert_int_eq(diff_cache_key(d, l2, NULL, k2), 0);
	ck_assert_int_eq(diff_cache_key(d, l1, &s, k3), 0);
	ck_assert_str_eq(k1, k1b);
	ck_assert_str_ne(k1, k2);
	ck_assert_str_ne(k1, k3);
	ck_assert_uint_eq(strlen(k1), 64);
	ck_assert_int_eq(diff_cache_key(d, d, NULL, k1), BERR_INVALID);
	json_decref(d);
	json_decref(l1);
	json_decref(l2);
	json_decref(rules);
}
END_TEST

START_TEST(diff_normalize_in_place)
{
	json_t *o = jparse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"uid\":\"u\",\"annotations\":{"
			   "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}},\"status\":{}}");
	ck_assert_int_eq(diff_normalize(o, NULL), 0);
	json_t *want = jparse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}");
	ck_assert(jx_equal(o, want));
	json_decref(o);
	json_decref(want);
}
END_TEST

START_TEST(diff_does_not_modify_inputs)
{
	json_t *d = load_fixture("deployment-config.json"), *l = load_fixture("deployment-live.json");
	json_object_set_new(json_object_get(d, "spec"), "replicas", json_integer(4));
	json_t *d0 = json_deep_copy(d), *l0 = json_deep_copy(l);
	struct diff_result r;
	diff_result_init(&r);
	ck_assert_int_eq(diff_compute(d, l, NULL, &r), 0);
	ck_assert(r.modified);
	ck_assert(json_equal(d, d0));
	ck_assert(json_equal(l, l0));
	diff_result_release(&r);
	json_decref(d);
	json_decref(l);
	json_decref(d0);
	json_decref(l0);
}
END_TEST

/* ---- predicted live vs a server-side dry run ---- */

static json_t *t_predicted;

static void collect_diffs(const json_t *a, const json_t *b, struct buf *ptr, json_t *out)
{
	if (json_is_object(a) && json_is_object(b)) {
		const char *k;
		json_t *v;
		json_t *keys = json_object();
		json_object_foreach((json_t *)a, k, v) json_object_set_new(keys, k, json_true());
		json_object_foreach((json_t *)b, k, v) json_object_set_new(keys, k, json_true());
		json_object_foreach(keys, k, v) {
			size_t mark = ptr->len;
			buf_putc(ptr, '/');
			jx_ptr_escape(ptr, k);
			json_t *x = json_object_get(a, k), *y = json_object_get(b, k);
			bool empty = (x && json_is_object(x) && json_object_size(x) == 0) ||
				     (y && json_is_object(y) && json_object_size(y) == 0);
			if ((!x || !y) && !empty) /* {} and absent are the same to Kubernetes */
				json_array_append_new(out, json_string(ptr->ptr));
			else if (x && y)
				collect_diffs(x, y, ptr, out);
			buf_truncate(ptr, mark);
		}
		json_decref(keys);
		return;
	}
	if (json_is_array(a) && json_is_array(b) && json_array_size(a) == json_array_size(b)) {
		for (size_t i = 0; i < json_array_size(a); i++) {
			size_t mark = ptr->len;
			buf_printf(ptr, "/%zu", i);
			collect_diffs(json_array_get(a, i), json_array_get(b, i), ptr, out);
			buf_truncate(ptr, mark);
		}
		return;
	}
	if (!jx_equal(a, b))
		json_array_append_new(out, json_string(ptr->ptr));
}

/* Our predicted object matches what a real API server's dry-run apply
 * returned, except for the residual differences the data file explains
 * (webhook mutations no client can know, server-side-apply ownership that
 * client-side three-way semantics do not have). smd-deploy2-predicted-live
 * is not compared: it was computed by structured-merge-diff without server
 * defaulting, so it is not what a server returns. */
START_TEST(predicted_live_matches_server_dry_run)
{
	const json_t *row = json_array_get(t_predicted, (size_t)_i);
	const char *name = jx_str(row, "name");
	json_t *desired = load_fixture(jx_str(row, "config"));
	json_t *live = load_fixture(jx_str(row, "live"));
	json_t *want = load_fixture(jx_str(row, "predicted"));
	struct diff_result r;
	diff_result_init(&r);
	ck_assert_msg(diff_compute(desired, live, NULL, &r) == 0, "%s: %s", name, err_msg());
	ck_assert_int_eq(diff_normalize(want, NULL), 0);
	json_t *diffs = json_array();
	struct buf ptr;
	buf_init(&ptr, 1 << 16);
	collect_diffs(r.predicted_live, want, &ptr, diffs);
	size_t i;
	json_t *d;
	json_array_foreach(diffs, i, d) {
		bool allowed = false;
		size_t j;
		json_t *res;
		json_array_foreach(json_object_get(row, "residual"), j, res)
			if (strcmp(jx_str(res, "pointer"), json_string_value(d)) == 0)
				allowed = true;
		ck_assert_msg(allowed, "%s: predicted differs from the dry run at %s", name, json_string_value(d));
	}
	buf_release(&ptr);
	json_decref(diffs);
	diff_result_release(&r);
	json_decref(desired);
	json_decref(live);
	json_decref(want);
}
END_TEST

/* ---- property: syncing with the reported patch ends the drift ---- */

static unsigned long long rng;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static json_t *rand_container(const char *name)
{
	json_t *c = json_pack("{s:s, s:s}", "name", name, "image", rnd(2) ? "app:1" : "app:2");
	if (rnd(2))
		json_object_set_new(c, "args", json_pack("[s]", rnd(2) ? "-v" : "-q"));
	if (rnd(2)) {
		json_t *env = json_array();
		if (rnd(2))
			json_array_append_new(env, json_pack("{s:s, s:s}", "name", "A", "value", rnd(2) ? "1" : "2"));
		if (rnd(2))
			json_array_append_new(env, json_pack("{s:s, s:s}", "name", "B", "value", "x"));
		json_object_set_new(c, "env", env);
	}
	if (rnd(2))
		json_object_set_new(c, "ports", json_pack("[{s:i}]", "containerPort", rnd(2) ? 80 : 8080));
	if (rnd(3) == 0)
		json_object_set_new(c, "resources", json_pack("{s:{s:s}}", "limits", "cpu", rnd(2) ? "500m" : "0.5"));
	return c;
}

static json_t *rand_deployment(void)
{
	json_t *containers = json_array();
	json_array_append_new(containers, rand_container("main"));
	if (rnd(2))
		json_array_append_new(containers, rand_container("side"));
	json_t *labels = json_pack("{s:s}", "app", "w");
	if (rnd(2))
		json_object_set_new(labels, "tier", json_string(rnd(2) ? "a" : "b"));
	json_t *d = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:{s:{s:{s:s}}, s:{s:{s:{s:s}}, s:{s:o}}}}",
			      "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", "w", "namespace", "d",
			      "labels", labels, "spec", "selector", "matchLabels", "app", "w", "template", "metadata",
			      "labels", "app", "w", "spec", "containers", containers);
	if (rnd(2))
		json_object_set_new(json_object_get(d, "spec"), "replicas", json_integer(rnd(3)));
	if (rnd(3) == 0)
		json_object_set_new(json_object_get(d, "spec"), "strategy", json_pack("{s:s}", "type", "Recreate"));
	return d;
}

/* Simulates the API server storing obj: defaults filled, last-applied
 * annotation as given. */
static json_t *as_stored(const json_t *obj, const char *last_applied)
{
	json_t *live = json_deep_copy(obj);
	kdefaults_apply(live, NULL);
	if (last_applied) {
		json_t *ann = jx_obj_ensure(jx_obj_ensure(live, "metadata"), "annotations");
		json_object_set_new(ann, DIFF_LAST_APPLIED, json_string(last_applied));
	}
	return live;
}

START_TEST(sync_patch_ends_drift)
{
	rng = 0x2545f4914f6cdd1dULL + (unsigned long long)_i * 7919;
	for (int iter = 0; iter < 150; iter++) {
		/* live: an earlier version applied with kubectl (or by hand: no
		 * last-applied), possibly edited in the cluster since */
		json_t *old = rand_deployment(), *desired = rand_deployment();
		char *la = rnd(4) ? json_dumps(old, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_t *live = as_stored(old, la);
		if (rnd(3) == 0)
			json_object_set_new(json_object_get(live, "spec"), "paused", json_true());
		struct diff_result r;
		diff_result_init(&r);
		ck_assert_msg(diff_compute(desired, live, NULL, &r) == 0, "%s", err_msg());
		if (r.modified) {
			json_t *synced = json_deep_copy(live);
			ck_assert_int_eq(patch_apply_strategic(synced, r.patch, "apps", "Deployment"), 0);
			kdefaults_apply(synced, NULL);
			struct diff_result r2;
			diff_result_init(&r2);
			ck_assert_msg(diff_compute(desired, synced, NULL, &r2) == 0, "%s", err_msg());
			if (r2.modified) {
				struct buf b;
				buf_init(&b, 1 << 16);
				explain(&r2, &b);
				char *ds = dump(desired), *ls = dump(live), *ps = dump(r.patch);
				ck_abort_msg("still modified after sync:%s\n desired %s\n live %s\n patch %s", b.ptr, ds, ls, ps);
			}
			diff_result_release(&r2);
			/* what kubectl applied before and Git dropped is gone */
			if (la) {
				const char *k;
				json_t *v;
				json_object_foreach(jx_path(old, "metadata", "labels", NULL), k, v)
					if (!json_object_get(jx_path(desired, "metadata", "labels", NULL), k))
						ck_assert_ptr_null(json_object_get(jx_path(synced, "metadata", "labels", NULL), k));
				size_t i;
				json_array_foreach(jx_path(old, "spec", "template", "spec", "containers", NULL), i, v) {
					const char *n = jx_str(v, "name");
					bool in_desired = false, in_synced = false;
					size_t j;
					json_t *w;
					json_array_foreach(jx_path(desired, "spec", "template", "spec", "containers", NULL), j, w)
						in_desired = in_desired || strcmp(jx_str(w, "name"), n) == 0;
					json_array_foreach(jx_path(synced, "spec", "template", "spec", "containers", NULL), j, w)
						in_synced = in_synced || strcmp(jx_str(w, "name"), n) == 0;
					ck_assert_msg(in_desired || !in_synced, "container %s dropped from Git survived the sync", n);
				}
			}
			json_decref(synced);
		}
		/* and desired against its own stored form is never drift */
		json_t *same = as_stored(desired, NULL);
		assert_not_modified("desired as stored", desired, same, NULL);
		json_decref(same);
		diff_result_release(&r);
		free(la);
		json_decref(old);
		json_decref(desired);
		json_decref(live);
	}
}
END_TEST

static json_t *rand_junk(int depth)
{
	static const char *keys[] = {"spec", "template", "containers", "name", "data", "stringData",
				     "metadata", "annotations", "labels", "ports", "resources", "limits", "cpu",
				     "status", "namespace", "env", "$patch", "a/b", "~"};
	switch (depth > 0 ? rnd(6) : rnd(4)) {
	case 0: return json_null();
	case 1: return json_integer((json_int_t)rnd(5) - 2);
	case 2: {
		static const char *strs[] = {"YQ==", "not base64", "500m", "1Gi", "", "x"};
		return json_string(strs[rnd(6)]);
	}
	case 3: return json_boolean(rnd(2));
	case 4: {
		json_t *a = json_array();
		for (unsigned i = rnd(4); i > 0; i--)
			json_array_append_new(a, rand_junk(depth - 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (unsigned i = rnd(5); i > 0; i--)
			json_object_set_new(o, keys[rnd(sizeof(keys) / sizeof(keys[0]))], rand_junk(depth - 1));
		return o;
	}
	}
}

static json_t *rand_object(const char *av, const char *kind)
{
	json_t *o = rand_junk(5);
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	json_object_set_new(o, "apiVersion", json_string(av));
	json_object_set_new(o, "kind", json_string(kind));
	if (rnd(2)) {
		json_t *md = json_object_get(o, "metadata");
		if (!json_is_object(md)) {
			md = json_object();
			json_object_set_new(o, "metadata", md);
		}
		json_t *ann = json_object_get(md, "annotations");
		if (!json_is_object(ann)) {
			ann = json_object();
			json_object_set_new(md, "annotations", ann);
		}
		json_t *la = rand_junk(3);
		char *txt = rnd(3) ? json_dumps(la, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("{not json");
		json_object_set_new(ann, DIFF_LAST_APPLIED, json_string(txt));
		free(txt);
		json_decref(la);
	}
	return o;
}

/* Random, mostly nonsensical objects of real kinds: every diff returns 0 or
 * a BERR code, and a successful one renders. Run under ASan in CI. */
START_TEST(diff_survives_random_objects)
{
	static const char *kinds[][2] = {{"apps/v1", "Deployment"}, {"v1", "Secret"}, {"example.com/v1", "Widget"},
					 {"v1", "Service"}};
	rng = 0x9e3779b97f4a7c15ULL ^ (unsigned long long)(_i + 1) * 104729;
	json_t *rules = jparse("[{\"kind\":\"*\",\"group\":\"*\",\"jsonPointers\":[\"/spec/a\"],"
			       "\"jqPathExpressions\":[\".spec.containers[] | select(.name == \\\"x\\\") | .env\"]}]");
	struct diff_settings s = {.ignore_differences = rules};
	for (int iter = 0; iter < 400; iter++) {
		const char *const *k = kinds[rnd(4)];
		json_t *d = rand_object(k[0], k[1]), *l = rand_object(k[0], k[1]);
		struct diff_result r;
		diff_result_init(&r);
		int rc = diff_compute(rnd(8) ? d : NULL, l, rnd(2) ? &s : NULL, &r);
		ck_assert_msg(rc == 0 || rc == BERR_INVALID || rc == BERR_TOOLARGE, "rc %d: %s", rc, err_msg());
		if (rc == 0) {
			struct buf b;
			buf_init(&b, 1 << 20);
			ck_assert_int_eq(diff_unified(&r, &b), 0);
			buf_release(&b);
		}
		diff_result_release(&r);
		json_decref(d);
		json_decref(l);
	}
	json_decref(rules);
}
END_TEST

static json_t *load_table(const char *name)
{
	const char *top = getenv("BERTH_TOP");
	char path[4096];
	json_error_t e;
	snprintf(path, sizeof(path), "%s/test/data/diff/%s", top ? top : ".", name);
	json_t *v = json_load_file(path, 0, &e);
	if (!json_is_array(v)) {
		fprintf(stderr, "cannot load %s: %s\n", path, e.text);
		exit(2);
	}
	return v;
}

int main(void)
{
	t_fixtures = load_table("fixtures.json");
	t_predicted = load_table("predicted.json");

	Suite *s = suite_create("diff");
	TCase *tc = tcase_create("fixtures");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, fixture_unchanged_is_not_modified, 0, (int)json_array_size(t_fixtures));
	tcase_add_loop_test(tc, fixture_mutated_field_is_modified, 0, (int)json_array_size(t_fixtures));
	tcase_add_loop_test(tc, predicted_live_matches_server_dry_run, 0, (int)json_array_size(t_predicted));
	tcase_add_loop_test(tc, sync_patch_ends_drift, 0, 6);
	tcase_add_loop_test(tc, diff_survives_random_objects, 0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("behaviour");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, diff_ignores_server_metadata_and_status);
	tcase_add_loop_test(tc, diff_unmodified_table_case, 0, sizeof(unmodified_cases) / sizeof(*unmodified_cases));
	tcase_add_test(tc, diff_reports_changed_managed_field);
	tcase_add_test(tc, diff_compare_only_reports_the_same_changes_without_a_patch);
	tcase_add_test(tc, diff_three_way_deletes_field_dropped_from_git);
	tcase_add_test(tc, diff_keyed_list_changes_name_items);
	tcase_add_test(tc, diff_uses_scope_callback);
	tcase_add_test(tc, diff_drops_configured_annotations);
	tcase_add_test(tc, diff_folds_secret_string_data);
	tcase_add_test(tc, diff_rejects_invalid_base64_in_secret);
	tcase_add_test(tc, diff_unified_masks_secret_values);
	tcase_add_test(tc, diff_unified_shows_changed_lines);
	tcase_add_test(tc, diff_new_secret_is_masked_in_changes);
	tcase_add_test(tc, diff_secret_last_applied_records_keys_only);
	tcase_add_test(tc, diff_ignore_differences_json_pointer);
	tcase_add_test(tc, diff_ignore_differences_jq_select);
	tcase_add_test(tc, diff_ignore_differences_jq_annotation_key);
	tcase_add_test(tc, diff_ignore_differences_bad_jq_is_an_error);
	tcase_add_test(tc, diff_customizations_by_group_kind);
	tcase_add_test(tc, diff_refuses_too_many_matching_rules);
	tcase_add_test(tc, diff_ignore_managed_fields_manager);
	tcase_add_test(tc, diff_custom_resource_uses_merge_patch);
	tcase_add_test(tc, diff_missing_live_is_added);
	tcase_add_test(tc, diff_rejects_bad_objects);
	tcase_add_test(tc, diff_wrong_type_in_known_field_is_a_difference);
	tcase_add_test(tc, diff_refuses_deep_nesting);
	tcase_add_test(tc, diff_handles_50mb_object);
	tcase_add_test(tc, diff_huge_lists_stay_bounded);
	tcase_add_test(tc, diff_cache_key_tracks_inputs);
	tcase_add_test(tc, diff_normalized_hash_ignores_server_fields);
	tcase_add_test(tc, diff_normalize_in_place);
	tcase_add_test(tc, diff_does_not_modify_inputs);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	json_decref(t_fixtures);
	json_decref(t_predicted);
	return failed ? 1 : 0;
}
