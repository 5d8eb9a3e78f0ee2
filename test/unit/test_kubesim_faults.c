/*
 * Unit tests of kube-sim's fault injection (test/kube-sim/faults.h): spec
 * parsing, per-request verdicts, the token state and the admin endpoint.
 * kube-sim's sources are compiled in here.
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
#include "../kube-sim/faults.c"

static struct ks_store *st;
static struct faults *fl;

static void setup(void)
{
	st = store_new(NULL);
	fl = faults_new(st, "admin-secret", "cluster-token");
	ck_assert_ptr_nonnull(fl);
}

static void teardown(void)
{
	faults_free(fl);
	store_free(st);
}

static int verdict_status(const char *path)
{
	struct faults_verdict v;
	faults_before_request(fl, "GET", path, &v);
	return v.drop ? -1 : v.status;
}

static int admin(const char *method, const char *path, const char *bearer, const char *body, json_t **ret)
{
	json_t *tmp = NULL;
	int code = faults_admin(fl, method, path, bearer, body, body ? strlen(body) : 0, ret ? ret : &tmp);
	json_decref(tmp);
	return code;
}

START_TEST(faults_spec_sets_every_kind)
{
	ck_assert_int_eq(faults_set_spec(fl, "429=0.1,500=0.05,503=0.2,latency=20ms,drop=0.01,watch-drop=10s,"
					     "compact=30s,503@/apis/apps/*=1"),
			 0);
	json_t *d = NULL;
	ck_assert_int_eq(admin("GET", "/_admin/faults", "admin-secret", NULL, &d), 200);
	ck_assert(json_real_value(json_object_get(d, "429")) > 0.09);
	ck_assert_str_eq(jx_str(d, "latency"), "20ms");
	ck_assert_str_eq(jx_str(d, "watch-drop"), "10s");
	ck_assert_str_eq(jx_str(d, "compact"), "30s");
	ck_assert_str_eq(jx_str(json_array_get(json_object_get(d, "paths"), 0), "pattern"), "/apis/apps/*");
	json_decref(d);
}
END_TEST

START_TEST(faults_spec_rejects_bad_items_and_keeps_the_old_set)
{
	ck_assert_int_eq(faults_set_spec(fl, "500=1"), 0);
	ck_assert_int_eq(faults_set_spec(fl, "418=0.5"), BERR_INVALID);
	ck_assert_int_eq(faults_set_spec(fl, "500=2"), BERR_INVALID);
	ck_assert_int_eq(faults_set_spec(fl, "latency=soon"), BERR_INVALID);
	ck_assert_int_eq(faults_set_spec(fl, "500"), BERR_INVALID);
	ck_assert_int_eq(verdict_status("/api/v1/pods"), 500);
}
END_TEST

START_TEST(faults_certain_fraction_always_fires)
{
	ck_assert_int_eq(faults_set_spec(fl, "429=1"), 0);
	struct faults_verdict v;
	faults_before_request(fl, "GET", "/api", &v);
	ck_assert_int_eq(v.status, 429);
	ck_assert_int_eq(v.retry_after_s, 1);
	json_t *body = faults_status_body(&v);
	ck_assert_str_eq(jx_str(body, "reason"), "TooManyRequests");
	ck_assert_int_eq(json_integer_value(jx_path(body, "details", "retryAfterSeconds", NULL)), 1);
	json_decref(body);
	ck_assert_int_eq(verdict_status("/_admin/faults"), 0); /* never faulted */
	ck_assert_int_eq(faults_set_spec(fl, ""), 0);
	ck_assert_int_eq(verdict_status("/api"), 0);
}
END_TEST

START_TEST(faults_path_pattern_only_hits_matching_paths)
{
	ck_assert_int_eq(faults_set_spec(fl, "503@/api/v1/namespaces/*/secrets*=1"), 0);
	ck_assert_int_eq(verdict_status("/api/v1/namespaces/default/secrets/x"), 503);
	ck_assert_int_eq(verdict_status("/api/v1/namespaces/default/configmaps"), 0);
}
END_TEST

START_TEST(faults_drop_closes_connections)
{
	ck_assert_int_eq(faults_set_spec(fl, "drop=1"), 0);
	ck_assert_int_eq(verdict_status("/api"), -1);
}
END_TEST

START_TEST(faults_token_expiry_rotation_and_restore)
{
	ck_assert(faults_token_accepted(fl, "cluster-token"));
	ck_assert(!faults_token_accepted(fl, "other"));
	ck_assert(!faults_token_accepted(fl, NULL));
	ck_assert_int_eq(admin("POST", "/_admin/token/expire", "admin-secret", NULL, NULL), 200);
	ck_assert(!faults_token_accepted(fl, "cluster-token"));
	json_t *r = NULL;
	ck_assert_int_eq(admin("POST", "/_admin/token/rotate", "admin-secret", NULL, &r), 200);
	const char *fresh = jx_str(r, "token");
	ck_assert_ptr_nonnull(fresh);
	ck_assert(faults_token_accepted(fl, fresh));
	ck_assert(!faults_token_accepted(fl, "cluster-token"));
	json_decref(r);
	ck_assert_int_eq(admin("POST", "/_admin/token/restore", "admin-secret", NULL, NULL), 200);
	ck_assert(faults_token_accepted(fl, "cluster-token"));
}
END_TEST

START_TEST(faults_admin_needs_its_token)
{
	ck_assert_int_eq(admin("GET", "/_admin/faults", NULL, NULL, NULL), 401);
	ck_assert_int_eq(admin("GET", "/_admin/faults", "cluster-token", NULL, NULL), 401);
	ck_assert_int_eq(admin("GET", "/_admin/faults", "admin-secret", NULL, NULL), 200);
	ck_assert_int_eq(admin("POST", "/_admin/unknown", "admin-secret", NULL, NULL), 404);
	ck_assert_int_eq(admin("PUT", "/_admin/faults", "admin-secret", "{\"500\":\"x\"}", NULL), 400);
	ck_assert_int_eq(admin("PUT", "/_admin/faults", "admin-secret", "not json", NULL), 400);
	ck_assert_int_eq(admin("PUT", "/_admin/faults", "admin-secret", "{\"503\":1}", NULL), 200);
	ck_assert_int_eq(verdict_status("/api"), 503);
	ck_assert_int_eq(admin("DELETE", "/_admin/faults", "admin-secret", NULL, NULL), 200);
	ck_assert_int_eq(verdict_status("/api"), 0);
}
END_TEST

START_TEST(faults_without_cluster_token_accept_any_bearer)
{
	struct faults *open_f = faults_new(st, NULL, NULL);
	ck_assert_ptr_nonnull(open_f);
	ck_assert(faults_token_accepted(open_f, NULL));
	ck_assert_uint_eq(strlen(faults_admin_token(open_f)), 32);
	json_t *r = NULL;
	ck_assert_int_eq(faults_admin(open_f, "POST", "/_admin/token/expire", faults_admin_token(open_f), NULL, 0, &r),
			 409);
	json_decref(r);
	faults_free(open_f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kubesim_faults");
	TCase *tc = tcase_create("faults");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, faults_spec_sets_every_kind);
	tcase_add_test(tc, faults_spec_rejects_bad_items_and_keeps_the_old_set);
	tcase_add_test(tc, faults_certain_fraction_always_fires);
	tcase_add_test(tc, faults_path_pattern_only_hits_matching_paths);
	tcase_add_test(tc, faults_drop_closes_connections);
	tcase_add_test(tc, faults_token_expiry_rotation_and_restore);
	tcase_add_test(tc, faults_admin_needs_its_token);
	tcase_add_test(tc, faults_without_cluster_token_accept_any_bearer);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
