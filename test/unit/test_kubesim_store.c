/*
 * Unit tests of kube-sim's object store (test/kube-sim/store.h): write
 * semantics, watch history, paging, selectors and server-side apply. The
 * store lives in the kube-sim program, not in libberth, so its sources are
 * compiled into this test directly.
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

static struct ks_store *st;

static void setup(void)
{
	struct ks_store_opts o = { .watch_window = 8 };
	st = store_new(&o);
	ck_assert_ptr_nonnull(st);
}

static void teardown(void)
{
	store_free(st);
	st = NULL;
}

static const struct ks_type *T(const char *group, const char *res)
{
	const struct ks_type *t = store_type_find(st, group, res);
	ck_assert_ptr_nonnull(t);
	return t;
}

static json_t *J(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(v);
	return v;
}

static json_t *create(const char *group, const char *res, const char *ns, const char *text)
{
	json_t *in = J(text), *out = NULL;
	struct ks_write_opts o = { .field_manager = "test" };
	ck_assert_int_eq(store_create(st, T(group, res), ns, in, &o, &out), 0);
	json_decref(in);
	return out;
}

static const char *rv_of(const json_t *o)
{
	return jx_path_str(o, "metadata", "resourceVersion", NULL);
}

#define DEPLOY                                                                                            \
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},\"spec\":{"   \
	"\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{"      \
	"\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\"}]}}}," \
	"\"status\":{\"replicas\":4}}"

START_TEST(create_sets_server_fields_and_drops_status)
{
	json_t *d = create("apps", "deployments", "default", DEPLOY);
	ck_assert_int_eq(strlen(jx_path_str(d, "metadata", "uid", NULL)), 36);
	ck_assert_ptr_nonnull(rv_of(d));
	ck_assert_int_eq(json_integer_value(jx_path(d, "metadata", "generation", NULL)), 1);
	ck_assert_ptr_null(json_object_get(d, "status"));
	ck_assert_str_eq(jx_path_str(d, "metadata", "managedFields", NULL) ? "" : "ok", "ok");
	json_decref(d);
}
END_TEST

START_TEST(create_in_missing_namespace_is_404)
{
	json_t *in = J("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}}");
	ck_assert_int_eq(store_create(st, T("", "configmaps"), "nowhere", in, NULL, NULL), BERR_NOTFOUND);
	ck_assert_int_eq(err_status(), 404);
	json_t *body = store_status_body();
	ck_assert_str_eq(jx_str(body, "message"), "namespaces \"nowhere\" not found");
	json_decref(body);
	json_decref(in);
}
END_TEST

START_TEST(noop_patch_keeps_resource_version)
{
	json_t *d = create("apps", "deployments", "default", DEPLOY);
	uint64_t before = store_rv(st);
	json_t *p = J("{\"spec\":{\"replicas\":1}}"), *out = NULL;
	ck_assert_int_eq(store_patch(st, T("apps", "deployments"), "default", "web", KS_PATCH_MERGE, p, NULL, &out, NULL), 0);
	ck_assert_str_eq(rv_of(out), rv_of(d));
	ck_assert_uint_eq(store_rv(st), before);
	json_decref(p);
	json_decref(out);
	json_decref(d);
}
END_TEST

START_TEST(spec_change_bumps_generation_label_change_does_not)
{
	json_t *d = create("apps", "deployments", "default", DEPLOY), *out = NULL;
	json_t *p1 = J("{\"metadata\":{\"labels\":{\"a\":\"b\"}}}"), *p2 = J("{\"spec\":{\"replicas\":3}}");
	const struct ks_type *t = T("apps", "deployments");
	ck_assert_int_eq(store_patch(st, t, "default", "web", KS_PATCH_MERGE, p1, NULL, &out, NULL), 0);
	ck_assert_int_eq(json_integer_value(jx_path(out, "metadata", "generation", NULL)), 1);
	json_decref(out);
	ck_assert_int_eq(store_patch(st, t, "default", "web", KS_PATCH_MERGE, p2, NULL, &out, NULL), 0);
	ck_assert_int_eq(json_integer_value(jx_path(out, "metadata", "generation", NULL)), 2);
	json_decref(out);
	json_decref(p1);
	json_decref(p2);
	json_decref(d);
}
END_TEST

START_TEST(stale_resource_version_conflicts)
{
	json_t *d = create("", "configmaps", "default", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}");
	json_t *u = json_deep_copy(d), *out = NULL;
	json_object_set_new(u, "data", json_pack("{s:s}", "k", "1"));
	ck_assert_int_eq(store_update(st, T("", "configmaps"), "default", u, NULL, &out), 0);
	json_decref(out);
	json_object_set_new(u, "data", json_pack("{s:s}", "k", "2"));
	ck_assert_int_eq(store_update(st, T("", "configmaps"), "default", u, NULL, &out), BERR_CONFLICT);
	ck_assert_str_eq(err_reason(), "Conflict");
	json_decref(u);
	json_decref(d);
}
END_TEST

START_TEST(status_write_takes_only_status)
{
	json_t *d = create("apps", "deployments", "default", DEPLOY), *out = NULL;
	json_t *u = json_deep_copy(d);
	json_object_set_new(u, "status", json_pack("{s:i}", "replicas", 2));
	json_object_set_new(json_object_get(u, "spec"), "replicas", json_integer(9));
	struct ks_write_opts o = { .sub = KS_SUB_STATUS };
	ck_assert_int_eq(store_update(st, T("apps", "deployments"), "default", u, &o, &out), 0);
	ck_assert_int_eq(json_integer_value(jx_path(out, "status", "replicas", NULL)), 2);
	ck_assert_int_eq(json_integer_value(jx_path(out, "spec", "replicas", NULL)), 1);
	ck_assert_int_eq(json_integer_value(jx_path(out, "metadata", "generation", NULL)), 1);
	json_decref(out);
	json_decref(u);
	json_decref(d);
}
END_TEST

START_TEST(finalizer_delays_delete_until_emptied)
{
	json_t *d = create("", "configmaps", "default",
			   "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"f\",\"finalizers\":[\"x/y\"]}}");
	json_t *out = NULL;
	bool gone = true;
	const struct ks_type *t = T("", "configmaps");
	ck_assert_int_eq(store_delete(st, t, "default", "f", NULL, &out, &gone), 0);
	ck_assert(!gone);
	ck_assert_ptr_nonnull(jx_path(out, "metadata", "deletionTimestamp", NULL));
	json_decref(out);
	json_t *p = J("{\"metadata\":{\"finalizers\":null}}");
	ck_assert_int_eq(store_patch(st, t, "default", "f", KS_PATCH_MERGE, p, NULL, &out, NULL), 0);
	json_decref(out);
	ck_assert_int_eq(store_get(st, t, "default", "f", &out), BERR_NOTFOUND);
	json_decref(p);
	json_decref(d);
}
END_TEST

START_TEST(watch_from_compacted_rv_gets_410)
{
	const struct ks_type *t = T("", "configmaps");
	for (int i = 0; i < 12; i++) {
		char text[128];
		snprintf(text, sizeof(text), "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"w%d\"}}", i);
		json_decref(create("", "configmaps", "default", text));
	}
	struct ks_watch *w = NULL;
	struct ks_watch_opts o = { .resource_version = "1" };
	ck_assert_int_eq(store_watch_open(st, t, NULL, &o, &w), 0);
	struct buf b;
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(store_watch_next(w, 100, &b), 1);
	ck_assert_ptr_nonnull(strstr(b.ptr, "\"code\":410"));
	ck_assert_int_eq(store_watch_next(w, 100, &b), BERR_CANCELED);
	buf_release(&b);
	store_watch_close(w);
}
END_TEST

START_TEST(watch_selector_enter_and_leave)
{
	const struct ks_type *t = T("", "configmaps");
	char rv[32];
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)store_rv(st));
	struct ks_watch *w = NULL;
	struct ks_watch_opts o = { .resource_version = rv, .label_selector = "w=yes" };
	ck_assert_int_eq(store_watch_open(st, t, "default", &o, &w), 0);
	json_decref(create("", "configmaps", "default", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"s\"}}"));
	json_t *on = J("{\"metadata\":{\"labels\":{\"w\":\"yes\"}}}"), *off = J("{\"metadata\":{\"labels\":{\"w\":\"no\"}}}"), *out;
	ck_assert_int_eq(store_patch(st, t, "default", "s", KS_PATCH_MERGE, on, NULL, &out, NULL), 0);
	json_decref(out);
	ck_assert_int_eq(store_patch(st, t, "default", "s", KS_PATCH_MERGE, off, NULL, &out, NULL), 0);
	json_decref(out);
	struct buf b;
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(store_watch_next(w, 100, &b), 1);
	ck_assert(str_starts_with(b.ptr, "{\"type\":\"ADDED\""));
	buf_reset(&b);
	ck_assert_int_eq(store_watch_next(w, 100, &b), 1);
	ck_assert(str_starts_with(b.ptr, "{\"type\":\"DELETED\""));
	buf_reset(&b);
	ck_assert_int_eq(store_watch_next(w, 50, &b), 0);
	buf_release(&b);
	store_watch_close(w);
	json_decref(on);
	json_decref(off);
}
END_TEST

START_TEST(list_pages_are_a_snapshot)
{
	const struct ks_type *t = T("", "configmaps");
	for (int i = 0; i < 5; i++) {
		char text[128];
		snprintf(text, sizeof(text), "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"p%d\"}}", i);
		json_decref(create("", "configmaps", "default", text));
	}
	struct ks_list_opts o = { .limit = 2 };
	json_t *l1 = NULL, *l2 = NULL;
	ck_assert_int_eq(store_list(st, t, "default", &o, &l1), 0);
	ck_assert_int_eq(json_array_size(json_object_get(l1, "items")), 2);
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(l1, "items"), 0), "kind"));
	json_decref(create("", "configmaps", "default", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"p9\"}}"));
	o.continue_token = jx_path_str(l1, "metadata", "continue", NULL);
	ck_assert_int_eq(store_list(st, t, "default", &o, &l2), 0);
	ck_assert_str_eq(jx_path_str(l2, "metadata", "resourceVersion", NULL), jx_path_str(l1, "metadata", "resourceVersion", NULL));
	ck_assert_int_eq(json_integer_value(jx_path(l2, "metadata", "remainingItemCount", NULL)), 1);
	json_decref(l1);
	json_decref(l2);
	struct ks_list_opts bad = { .continue_token = "nope" };
	ck_assert_int_eq(store_list(st, t, "default", &bad, &l1), BERR_GONE);
}
END_TEST

START_TEST(label_selector_forms)
{
	static const struct {
		const char *sel;
		bool match;
	} cases[] = {
		{ "a=1", true },   { "a==1", true },      { "a!=1", false },    { "a in (1,2)", true },
		{ "a notin (1)", false }, { "a", true }, { "!a", false },     { "b", false },
		{ "!b", true },    { "a=1,c=3", true },   { "a=1,c=4", false }, { "", true },
	};
	json_t *obj = J("{\"metadata\":{\"labels\":{\"a\":\"1\",\"c\":\"3\"}}}");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct selector s;
		ck_assert_msg(selector_parse_labels(cases[i].sel, &s) == 0, "parse %s", cases[i].sel);
		ck_assert_msg(selector_match_labels(&s, obj) == cases[i].match, "match %s", cases[i].sel);
		selector_release(&s);
	}
	struct selector s;
	ck_assert_int_eq(selector_parse_labels("a in b", &s), BERR_INVALID);
	json_decref(obj);
}
END_TEST

START_TEST(apply_conflicts_then_force_takes_ownership)
{
	const struct ks_type *t = T("", "configmaps");
	json_t *cfg = J("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"1\",\"m\":\"2\"}}");
	json_t *out = NULL;
	bool created = false;
	struct ks_write_opts one = { .field_manager = "one" }, two = { .field_manager = "two" };
	ck_assert_int_eq(store_patch(st, t, "default", "a", KS_PATCH_APPLY, cfg, &one, &out, &created), 0);
	ck_assert(created);
	json_decref(out);
	json_t *cfg2 = J("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"9\"}}");
	ck_assert_int_eq(store_patch(st, t, "default", "a", KS_PATCH_APPLY, cfg2, &two, &out, NULL), BERR_CONFLICT);
	ck_assert_ptr_nonnull(strstr(err_msg(), "conflict with \"one\": .data.k"));
	two.force = true;
	ck_assert_int_eq(store_patch(st, t, "default", "a", KS_PATCH_APPLY, cfg2, &two, &out, NULL), 0);
	ck_assert_str_eq(jx_path_str(out, "data", "k", NULL), "9");
	json_decref(out);
	/* "one" drops m from its configuration: m goes, k stays (two owns it). */
	json_t *cfg3 = J("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\"}}");
	ck_assert_int_eq(store_patch(st, t, "default", "a", KS_PATCH_APPLY, cfg3, &one, &out, NULL), 0);
	ck_assert_ptr_null(jx_path(out, "data", "m", NULL));
	ck_assert_str_eq(jx_path_str(out, "data", "k", NULL), "9");
	json_decref(out);
	json_decref(cfg);
	json_decref(cfg2);
	json_decref(cfg3);
}
END_TEST

static int events_seen;
static void count_events(void *ctx, const char *event, const struct ks_type *t, const json_t *obj)
{
	(void)ctx;
	(void)t;
	(void)obj;
	if (strcmp(event, "ADDED") == 0)
		events_seen++;
}

START_TEST(subscribers_see_commits)
{
	events_seen = 0;
	int id = store_subscribe(st, count_events, NULL);
	ck_assert_int_ge(id, 0);
	json_decref(create("", "configmaps", "default", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"sub\"}}"));
	ck_assert_int_eq(events_seen, 1);
	store_unsubscribe(st, id);
	json_decref(create("", "configmaps", "default", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"sub2\"}}"));
	ck_assert_int_eq(events_seen, 1);
}
END_TEST

START_TEST(namespace_termination_deletes_contents)
{
	json_decref(create("", "namespaces", NULL, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"gone\"}}"));
	json_decref(create("", "configmaps", "gone", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}"));
	json_t *out = NULL;
	bool is_gone;
	ck_assert_int_eq(store_delete(st, T("", "namespaces"), NULL, "gone", NULL, &out, &is_gone), 0);
	json_decref(out);
	ck_assert_int_eq(store_get(st, T("", "configmaps"), "gone", "c", &out), BERR_NOTFOUND);
	ck_assert_int_eq(store_get(st, T("", "namespaces"), NULL, "gone", &out), BERR_NOTFOUND);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("kubesim_store");
	TCase *tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_sets_server_fields_and_drops_status);
	tcase_add_test(tc, create_in_missing_namespace_is_404);
	tcase_add_test(tc, noop_patch_keeps_resource_version);
	tcase_add_test(tc, spec_change_bumps_generation_label_change_does_not);
	tcase_add_test(tc, stale_resource_version_conflicts);
	tcase_add_test(tc, status_write_takes_only_status);
	tcase_add_test(tc, finalizer_delays_delete_until_emptied);
	tcase_add_test(tc, watch_from_compacted_rv_gets_410);
	tcase_add_test(tc, watch_selector_enter_and_leave);
	tcase_add_test(tc, list_pages_are_a_snapshot);
	tcase_add_test(tc, label_selector_forms);
	tcase_add_test(tc, apply_conflicts_then_force_takes_ownership);
	tcase_add_test(tc, subscribers_see_commits);
	tcase_add_test(tc, namespace_termination_deletes_contents);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
