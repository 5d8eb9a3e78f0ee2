/*
 * Unit tests of kube-sim's garbage collector (test/kube-sim/gc.h) on an
 * in-process store: background, foreground (waiting for blocking
 * dependents), orphan, several owners, dangling references. ConfigMaps
 * serve as owners and dependents: the collector does not care about kinds.
 * kube-sim is not part of libberth, so its sources are compiled in here.
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
#include "../kube-sim/gc.c"

static struct ks_store *st;
static struct gc *gcol;
static const struct ks_type *cm;

static void setup(void)
{
	st = store_new(NULL);
	ck_assert_ptr_nonnull(st);
	cm = store_type_find(st, "", "configmaps");
	ck_assert_ptr_nonnull(cm);
	ck_assert_int_eq(gc_start(st, &gcol), 0);
}

static void teardown(void)
{
	gc_stop(gcol);
	store_free(st);
}

/* Creates ConfigMap name with ownerReferences refs (a JSON array text, or
 * NULL) and finalizers fins (JSON array text or NULL); returns its uid
 * (static storage per call site is not needed: a new string). */
static char *make(const char *name, const char *refs, const char *fins)
{
	char *text = str_printf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"%s%s%s%s}}",
				name, refs ? ",\"ownerReferences\":" : "", refs ? refs : "",
				fins ? ",\"finalizers\":" : "", fins ? fins : "");
	json_t *in = json_loads(text, 0, NULL), *out = NULL;
	struct ks_write_opts o = { .field_manager = "test" };
	ck_assert_ptr_nonnull(in);
	ck_assert_msg(store_create(st, cm, "default", in, &o, &out) == 0, "%s", err_msg());
	char *uid = str_dup(jx_path_str(out, "metadata", "uid", NULL));
	json_decref(in);
	json_decref(out);
	free(text);
	return uid;
}

static char *ref(const char *name, const char *uid, bool block)
{
	return str_printf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"%s\",\"uid\":\"%s\"%s}", name, uid,
			  block ? ",\"blockOwnerDeletion\":true" : "");
}

static bool exists(const char *name)
{
	json_t *o = NULL;
	int rc = store_get(st, cm, "default", name, &o);
	json_decref(o);
	return rc == 0;
}

static size_t nrefs(const char *name)
{
	json_t *o = NULL;
	size_t n = 0;
	if (store_get(st, cm, "default", name, &o) == 0)
		n = json_array_size(jx_path(o, "metadata", "ownerReferences", NULL));
	json_decref(o);
	return n;
}

static void del(const char *name, const char *policy)
{
	struct ks_delete_opts d = { .propagation = policy };
	json_t *ret = NULL;
	bool gone;
	ck_assert_int_eq(store_delete(st, cm, "default", name, &d, &ret, &gone), 0);
	json_decref(ret);
}

/* Waits (up to 3 s) until exists(name) == want. */
static bool wait_exists(const char *name, bool want)
{
	int64_t deadline = clock_mono_ms() + 3000;
	while (clock_mono_ms() < deadline) {
		if (exists(name) == want)
			return true;
		clock_sleep_ms(5);
	}
	return exists(name) == want;
}

START_TEST(gc_background_deletes_dependents_of_a_deleted_owner)
{
	char *owner = make("owner", NULL, NULL), *r = ref("owner", owner, false), *refs = str_printf("[%s]", r);
	free(make("child", refs, NULL));
	char *child_refs = NULL, *cuid;
	json_t *c = NULL;
	store_get(st, cm, "default", "child", &c);
	cuid = str_dup(jx_path_str(c, "metadata", "uid", NULL));
	json_decref(c);
	char *r2 = ref("child", cuid, false);
	child_refs = str_printf("[%s]", r2);
	free(make("grandchild", child_refs, NULL));
	del("owner", "Background");
	ck_assert(wait_exists("child", false));
	ck_assert(wait_exists("grandchild", false));
	free(owner), free(r), free(refs), free(cuid), free(r2), free(child_refs);
}
END_TEST

START_TEST(gc_keeps_a_dependent_while_another_owner_lives)
{
	char *a = make("a", NULL, NULL), *b = make("b", NULL, NULL);
	char *ra = ref("a", a, false), *rb = ref("b", b, false), *refs = str_printf("[%s,%s]", ra, rb);
	free(make("shared", refs, NULL));
	del("a", "Background");
	int64_t deadline = clock_mono_ms() + 3000;
	while (nrefs("shared") != 1 && clock_mono_ms() < deadline)
		clock_sleep_ms(5);
	ck_assert_int_eq(nrefs("shared"), 1);
	ck_assert(exists("shared"));
	del("b", "Background");
	ck_assert(wait_exists("shared", false));
	free(a), free(b), free(ra), free(rb), free(refs);
}
END_TEST

START_TEST(gc_orphan_strips_references_and_keeps_dependents)
{
	char *owner = make("owner", NULL, NULL), *r = ref("owner", owner, true), *refs = str_printf("[%s]", r);
	free(make("child", refs, NULL));
	del("owner", "Orphan");
	ck_assert(wait_exists("owner", false));
	ck_assert(exists("child"));
	ck_assert_int_eq(nrefs("child"), 0);
	free(owner), free(r), free(refs);
}
END_TEST

START_TEST(gc_foreground_waits_for_blocking_dependents)
{
	char *owner = make("owner", NULL, NULL), *r = ref("owner", owner, true), *refs = str_printf("[%s]", r);
	/* The dependent cannot go away until its own finalizer is removed. */
	free(make("child", refs, "[\"example.com/hold\"]"));
	del("owner", "Foreground");
	/* The owner is pending with foregroundDeletion while the child is held. */
	int64_t deadline = clock_mono_ms() + 3000;
	json_t *c = NULL;
	for (;;) {
		json_decref(c);
		c = NULL;
		ck_assert_int_eq(store_get(st, cm, "default", "child", &c), 0);
		if (jx_path(c, "metadata", "deletionTimestamp", NULL) || clock_mono_ms() > deadline)
			break;
		clock_sleep_ms(5);
	}
	ck_assert_ptr_nonnull(jx_path(c, "metadata", "deletionTimestamp", NULL));
	ck_assert(exists("owner"));
	/* release the child: the collector then releases the owner */
	json_object_del(json_object_get(c, "metadata"), "finalizers");
	struct ks_write_opts o = { .field_manager = "test" };
	ck_assert_int_eq(store_update(st, cm, "default", c, &o, NULL), 0);
	json_decref(c);
	ck_assert(wait_exists("child", false));
	ck_assert(wait_exists("owner", false));
	free(owner), free(r), free(refs);
}
END_TEST

START_TEST(gc_deletes_dependents_whose_owner_never_existed)
{
	char *r = ref("ghost", "00000000-0000-4000-8000-000000000000", false), *refs = str_printf("[%s]", r);
	free(make("orphaned", refs, NULL));
	ck_assert(wait_exists("orphaned", false));
	free(r), free(refs);
}
END_TEST

START_TEST(gc_keeps_dependents_of_kinds_nobody_serves)
{
	char *refs = str_dup("[{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"name\":\"w\","
			     "\"uid\":\"00000000-0000-4000-8000-000000000001\"}]");
	free(make("kept", refs, NULL));
	/* a marker created after it: once the collector has seen the marker it
	 * has seen (and checked) the earlier object too */
	char *gone_refs = ref("ghost", "00000000-0000-4000-8000-000000000002", false), *gr = str_printf("[%s]", gone_refs);
	free(make("marker", gr, NULL));
	ck_assert(wait_exists("marker", false));
	ck_assert(exists("kept"));
	free(refs), free(gone_refs), free(gr);
}
END_TEST

START_TEST(gc_leaves_objects_without_owners_alone)
{
	free(make("plain", NULL, NULL));
	char *owner = make("owner", NULL, NULL);
	del("owner", "Background");
	ck_assert(wait_exists("owner", false));
	ck_assert(exists("plain"));
	free(owner);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kubesim_gc");
	TCase *tc = tcase_create("gc");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, gc_background_deletes_dependents_of_a_deleted_owner);
	tcase_add_test(tc, gc_keeps_a_dependent_while_another_owner_lives);
	tcase_add_test(tc, gc_orphan_strips_references_and_keeps_dependents);
	tcase_add_test(tc, gc_foreground_waits_for_blocking_dependents);
	tcase_add_test(tc, gc_deletes_dependents_whose_owner_never_existed);
	tcase_add_test(tc, gc_keeps_dependents_of_kinds_nobody_serves);
	tcase_add_test(tc, gc_leaves_objects_without_owners_alone);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
