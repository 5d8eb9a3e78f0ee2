/* Unit tests for lib/kdefaults. The table in test/data/kdefaults/ holds
 * client objects and what the API server stores; the live objects of
 * /work/shared/fixtures/gitops-engine/diff (returned by real API servers) are
 * an oracle: defaulting them must change nothing, and whatever defaulting
 * adds to a desired object must be in its live counterpart. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "kdefaults.h"
#include "kyaml.h"
#include "str.h"

static const char *top(void)
{
	const char *t = getenv("BERTH_TOP");
	return t ? t : ".";
}

/* A JSON or YAML file (by its name). */
static json_t *load(const char *path)
{
	json_error_t e;
	json_t *v;

	if (str_ends_with(path, ".yaml")) {
		FILE *f = fopen(path, "re");
		char data[1 << 16];
		size_t n;
		ck_assert_msg(f != NULL, "cannot open %s", path);
		n = fread(data, 1, sizeof(data), f);
		fclose(f);
		ck_assert_uint_lt(n, sizeof(data));
		ck_assert_msg(kyaml_load_one(data, n, NULL, &v) == 0, "%s: %s", path, err_msg());
		return v;
	}
	v = json_load_file(path, 0, &e);
	ck_assert_msg(v != NULL, "%s: %s (line %d)", path, e.text, e.line);
	return v;
}

static char *canon(const json_t *v)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(jx_dump_canonical(v, &b), 0);
	return buf_detach(&b, NULL);
}

static int take_ip(void *ctx, char *out, size_t size)
{
	int *n = ctx;
	snprintf(out, size, "10.96.0.%d", ++*n);
	return 0;
}

static int take_port(void *ctx, int *out)
{
	(void)ctx;
	*out = 31000;
	return 0;
}

START_TEST(kdefaults_table_matches_api_server)
{
	char dir[4096], in[4600], out[4600];
	struct dirent *de;
	int n = 0;
	struct kdefaults_opts o = { .default_storage_class = "standard", .create = true };

	snprintf(dir, sizeof(dir), "%s/test/data/kdefaults", top());
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 9 || strcmp(de->d_name + len - 8, ".in.json") != 0)
			continue;
		snprintf(in, sizeof(in), "%s/%s", dir, de->d_name);
		snprintf(out, sizeof(out), "%s/%.*s.out.json", dir, (int)(len - 8), de->d_name);
		json_t *obj = load(in), *want = load(out);
		ck_assert_msg(kdefaults_apply(obj, &o) == 0, "%s: %s", in, err_msg());
		char *got_s = canon(obj), *want_s = canon(want);
		ck_assert_msg(strcmp(got_s, want_s) == 0, "%s:\n got  %s\n want %s", de->d_name, got_s, want_s);
		/* idempotent */
		ck_assert_int_eq(kdefaults_apply(obj, &o), 0);
		char *again = canon(obj);
		ck_assert_msg(strcmp(again, want_s) == 0, "%s: second pass changed it", de->d_name);
		free(got_s);
		free(want_s);
		free(again);
		json_decref(obj);
		json_decref(want);
		n++;
	}
	closedir(d);
	ck_assert_int_ge(n, 10);
}
END_TEST

static char *fixture_dir(void)
{
	const char *f = getenv("FIXTURES");
	return f ? str_printf("%s/gitops-engine/diff", f)
		 : str_printf("%s/../shared/fixtures/gitops-engine/diff", top());
}

START_TEST(kdefaults_leave_real_live_objects_unchanged)
{
	char *dir = fixture_dir();
	char path[4600];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	ck_assert_msg(d != NULL, "fixtures not found at %s", dir);
	while ((de = readdir(d))) {
		/* *-predicted-live.json and the ssd-* objects are hand-written
		 * test data, not server output; the smd-service ones come from a
		 * server older than 1.22 (no internalTrafficPolicy default). */
		if (!(str_ends_with(de->d_name, "-live.json") || str_ends_with(de->d_name, "-live.yaml")) ||
		    strstr(de->d_name, "predicted") || str_starts_with(de->d_name, "ssd-") ||
		    str_starts_with(de->d_name, "smd-service"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		json_t *obj = load(path);
		char *before = canon(obj);
		ck_assert_int_eq(kdefaults_apply(obj, NULL), 0);
		char *after = canon(obj);
		size_t at = 0;
		while (before[at] && before[at] == after[at])
			at++;
		size_t from = at > 60 ? at - 60 : 0;
		ck_assert_msg(strcmp(before, after) == 0, "%s changed at byte %zu:\n before ...%.200s\n after  ...%.200s",
			      de->d_name, at, before + from, after + from);
		free(before);
		free(after);
		json_decref(obj);
		n++;
	}
	closedir(d);
	free(dir);
	ck_assert_int_ge(n, 10);
}
END_TEST

/* Every value present in got but absent in base must equal live's value at
 * the same place (objects compared member-wise, arrays item by item). */
static void check_added(const char *name, const char *path, const json_t *base, const json_t *got,
			const json_t *live)
{
	if (json_is_object(got)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)got, k, v) {
			char *sub = str_printf("%s/%s", path, k);
			json_t *b = json_is_object(base) ? json_object_get(base, k) : NULL;
			json_t *l = json_is_object(live) ? json_object_get(live, k) : NULL;
			if (!b) {
				char *gs = canon(v), *ls = l ? canon(l) : str_dup("(absent)");
				ck_assert_msg(l && jx_equal(v, l), "%s: default %s = %s, live has %s", name, sub, gs, ls);
				free(gs);
				free(ls);
			} else {
				check_added(name, sub, b, v, l);
			}
			free(sub);
		}
	} else if (json_is_array(got) && json_is_array(base) && json_is_array(live) &&
		   json_array_size(got) == json_array_size(live)) {
		for (size_t i = 0; i < json_array_size(got); i++) {
			char *sub = str_printf("%s/%zu", path, i);
			check_added(name, sub, json_array_get(base, i), json_array_get(got, i), json_array_get(live, i));
			free(sub);
		}
	}
}

START_TEST(kdefaults_add_only_what_real_servers_add)
{
	static const char *const pairs[] = { "deployment.json", "elasticsearch.json", "endpoints.json",
					     "spinnaker-sa.json", "wordpress.json", "grafana-clusterrole.json",
					     "smd-deploy.yaml" };
	char *dir = fixture_dir();
	char path[4600];

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const char *dot = strrchr(pairs[i], '.');
		int stem = (int)(dot - pairs[i]);
		snprintf(path, sizeof(path), "%s/%.*s-config%s", dir, stem, pairs[i], dot);
		json_t *config = load(path);
		snprintf(path, sizeof(path), "%s/%.*s-live%s", dir, stem, pairs[i], dot);
		json_t *live = load(path);
		json_t *got = json_deep_copy(config);
		ck_assert_int_eq(kdefaults_apply(got, NULL), 0);
		check_added(pairs[i], "", config, got, live);
		json_decref(config);
		json_decref(live);
		json_decref(got);
	}
	free(dir);
}
END_TEST

START_TEST(kdefaults_allocate_cluster_ip_and_node_ports)
{
	int n = 0;
	struct kdefaults_opts o = { .alloc_cluster_ip = take_ip, .alloc_node_port = take_port, .ctx = &n };
	json_t *svc = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:[{s:i}]}}", "apiVersion", "v1", "kind", "Service",
				"metadata", "name", "lb", "spec", "type", "LoadBalancer", "ports", "port", 80);
	ck_assert_int_eq(kdefaults_apply(svc, &o), 0);
	ck_assert_str_eq(jx_path_str(svc, "spec", "clusterIP", NULL), "10.96.0.1");
	ck_assert_str_eq(json_string_value(json_array_get(jx_path(svc, "spec", "clusterIPs", NULL), 0)), "10.96.0.1");
	json_t *port = json_array_get(jx_path(svc, "spec", "ports", NULL), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(port, "nodePort")), 31000);
	ck_assert_int_eq(json_integer_value(json_object_get(port, "targetPort")), 80);
	ck_assert(json_is_true(jx_path(svc, "spec", "allocateLoadBalancerNodePorts", NULL)));
	ck_assert_str_eq(jx_path_str(svc, "spec", "externalTrafficPolicy", NULL), "Cluster");
	/* a second pass allocates nothing new */
	ck_assert_int_eq(kdefaults_apply(svc, &o), 0);
	ck_assert_int_eq(n, 1);
	json_decref(svc);
}
END_TEST

START_TEST(kdefaults_headless_service_gets_no_allocation)
{
	int n = 0;
	struct kdefaults_opts o = { .alloc_cluster_ip = take_ip, .ctx = &n };
	json_t *svc = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "Service", "metadata",
				"name", "h", "spec", "clusterIP", "None");
	ck_assert_int_eq(kdefaults_apply(svc, &o), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(json_string_value(json_array_get(jx_path(svc, "spec", "clusterIPs", NULL), 0)), "None");
	json_decref(svc);
}
END_TEST

START_TEST(kdefaults_pull_policy_follows_the_tag)
{
	ck_assert_str_eq(kdefaults_pull_policy("nginx"), "Always");
	ck_assert_str_eq(kdefaults_pull_policy("nginx:latest"), "Always");
	ck_assert_str_eq(kdefaults_pull_policy("nginx:1.25"), "IfNotPresent");
	ck_assert_str_eq(kdefaults_pull_policy("registry:5000/nginx"), "Always");
	ck_assert_str_eq(kdefaults_pull_policy("registry:5000/nginx:1"), "IfNotPresent");
	ck_assert_str_eq(kdefaults_pull_policy("nginx@sha256:00"), "IfNotPresent");
}
END_TEST

START_TEST(kdefaults_refuse_objects_without_kind)
{
	json_t *o = json_pack("{s:s}", "apiVersion", "v1");
	ck_assert_int_eq(kdefaults_apply(o, NULL), BERR_INVALID);
	ck_assert_int_eq(json_object_size(o), 1);
	json_decref(o);
}
END_TEST

START_TEST(kdefaults_job_selector_only_on_create_with_uid)
{
	json_t *job = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:{s:s, s:[{s:s, s:s}]}}}}", "apiVersion", "batch/v1",
				"kind", "Job", "metadata", "name", "j", "spec", "template", "spec", "restartPolicy",
				"Never", "containers", "name", "c", "image", "x:1");
	struct kdefaults_opts o = { .create = true };
	ck_assert_int_eq(kdefaults_apply(job, &o), 0);
	ck_assert_ptr_null(jx_path(job, "spec", "selector", NULL));
	ck_assert_str_eq(jx_path_str(job, "spec", "template", "spec", "restartPolicy", NULL), "Never");
	json_decref(job);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kdefaults");
	TCase *tc = tcase_create("kdefaults");
	tcase_add_test(tc, kdefaults_table_matches_api_server);
	tcase_add_test(tc, kdefaults_leave_real_live_objects_unchanged);
	tcase_add_test(tc, kdefaults_add_only_what_real_servers_add);
	tcase_add_test(tc, kdefaults_allocate_cluster_ip_and_node_ports);
	tcase_add_test(tc, kdefaults_headless_service_gets_no_allocation);
	tcase_add_test(tc, kdefaults_pull_policy_follows_the_tag);
	tcase_add_test(tc, kdefaults_refuse_objects_without_kind);
	tcase_add_test(tc, kdefaults_job_selector_only_on_create_with_uid);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
