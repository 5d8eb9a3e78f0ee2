/*
 * Unit tests of kube-sim's defaulting glue (test/kube-sim/simdefaults.h) on
 * an in-process store: cluster IP and node port allocation without reuse,
 * allocated values kept across a PUT that omits them, the default
 * StorageClass, and the Job selector from the uid. kube-sim's sources are
 * compiled in here.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../kube-sim/kmap.c"
#include "../kube-sim/selector.c"
#include "../kube-sim/types.c"
#include "../kube-sim/store.c"
#include "../kube-sim/write.c"
#include "../kube-sim/apply.c"
#include "../kube-sim/simdefaults.c"

static struct ks_store *st;
static struct simdefaults *sd;

static void setup(void)
{
	st = store_new(NULL);
	sd = simdefaults_new();
	ck_assert_ptr_nonnull(sd);
	store_set_defaults_hook(st, simdefaults_hook, sd);
	simdefaults_seed(sd, st);
}

static void teardown(void)
{
	simdefaults_free(sd); /* unsubscribes from the store first */
	store_free(st);
}

static json_t *create(const char *group, const char *res, const char *text)
{
	json_t *in = json_loads(text, 0, NULL), *out = NULL;
	struct ks_write_opts o = { .field_manager = "test" };
	ck_assert_ptr_nonnull(in);
	ck_assert_msg(store_create(st, store_type_find(st, group, res), "default", in, &o, &out) == 0, "%s", err_msg());
	json_decref(in);
	return out;
}

#define SVC(name, type) \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"" name "\"},\"spec\":{\"type\":\"" type \
	"\",\"ports\":[{\"port\":80}]}}"

START_TEST(simdefaults_allocate_distinct_cluster_ips_and_node_ports)
{
	json_t *a = create("", "services", SVC("a", "NodePort")), *b = create("", "services", SVC("b", "LoadBalancer"));
	const char *ipa = jx_path_str(a, "spec", "clusterIP", NULL), *ipb = jx_path_str(b, "spec", "clusterIP", NULL);
	ck_assert_ptr_nonnull(ipa);
	ck_assert_ptr_nonnull(ipb);
	ck_assert(str_starts_with(ipa, "10.96."));
	ck_assert_str_ne(ipa, ipb);
	json_int_t pa = json_integer_value(json_object_get(json_array_get(jx_path(a, "spec", "ports", NULL), 0), "nodePort"));
	json_int_t pb = json_integer_value(json_object_get(json_array_get(jx_path(b, "spec", "ports", NULL), 0), "nodePort"));
	ck_assert(pa >= 30000 && pa <= 32767);
	ck_assert(pb >= 30000 && pb <= 32767);
	ck_assert_int_ne(pa, pb);
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(simdefaults_keep_allocated_values_on_update)
{
	json_t *a = create("", "services", SVC("a", "NodePort"));
	char *ip = str_dup(jx_path_str(a, "spec", "clusterIP", NULL));
	json_int_t port = json_integer_value(json_object_get(json_array_get(jx_path(a, "spec", "ports", NULL), 0), "nodePort"));
	json_t *put = json_loads(SVC("a", "NodePort"), 0, NULL), *out = NULL;
	struct ks_write_opts o = { .field_manager = "test" };
	ck_assert_int_eq(store_update(st, store_type_find(st, "", "services"), "default", put, &o, &out), 0);
	ck_assert_str_eq(jx_path_str(out, "spec", "clusterIP", NULL), ip);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(jx_path(out, "spec", "ports", NULL), 0), "nodePort")),
			 port);
	/* nothing changed, so nothing was stored */
	ck_assert_str_eq(jx_path_str(out, "metadata", "resourceVersion", NULL),
			 jx_path_str(a, "metadata", "resourceVersion", NULL));
	free(ip);
	json_decref(put);
	json_decref(out);
	json_decref(a);
}
END_TEST

START_TEST(simdefaults_dry_runs_do_not_use_up_node_ports)
{
	const struct ks_type *t = store_type_find(st, "", "services");
	struct ks_write_opts dry = { .field_manager = "test", .dry_run = true };
	json_t *in = json_loads(SVC("probe", "NodePort"), 0, NULL);
	/* more dry runs than the node port range holds */
	for (int i = 0; i < 3000; i++)
		ck_assert_msg(store_create(st, t, "default", in, &dry, NULL) == 0, "dry run %d: %s", i, err_msg());
	json_decref(in);
	json_t *real = create("", "services", SVC("real", "NodePort"));
	ck_assert_ptr_nonnull(jx_path_str(real, "spec", "clusterIP", NULL));
	json_decref(real);
}
END_TEST

START_TEST(simdefaults_give_pvcs_the_default_storage_class)
{
	json_t *p = create("", "persistentvolumeclaims",
			   "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"c\"},"
			   "\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"1024Mi\"}}}}");
	ck_assert_str_eq(jx_path_str(p, "spec", "storageClassName", NULL), "standard");
	ck_assert_str_eq(jx_path_str(p, "spec", "resources", "requests", "storage", NULL), "1Gi");
	json_decref(p);
}
END_TEST

START_TEST(simdefaults_job_selector_uses_the_uid)
{
	json_t *j = create("batch", "jobs",
			   "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"j\"},\"spec\":{\"template\":"
			   "{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"x:1\"}]}}}}");
	const char *uid = jx_path_str(j, "metadata", "uid", NULL);
	ck_assert_ptr_nonnull(uid);
	ck_assert_str_eq(jx_path_str(j, "spec", "selector", "matchLabels", "batch.kubernetes.io/controller-uid", NULL), uid);
	ck_assert_str_eq(jx_path_str(j, "spec", "template", "metadata", "labels", "job-name", NULL), "j");
	json_decref(j);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kubesim_simdefaults");
	TCase *tc = tcase_create("simdefaults");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, simdefaults_allocate_distinct_cluster_ips_and_node_ports);
	tcase_add_test(tc, simdefaults_keep_allocated_values_on_update);
	tcase_add_test(tc, simdefaults_dry_runs_do_not_use_up_node_ports);
	tcase_add_test(tc, simdefaults_give_pvcs_the_default_storage_class);
	tcase_add_test(tc, simdefaults_job_selector_uses_the_uid);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
