/* Unit tests for the parts of lib/livecache that need no API server: the
 * compact record (what it keeps, what it drops), shared meta values, and the
 * lcmap multimap under the indexes. The sync machinery is tested against
 * kube-sim in test_kube.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "lcmap.h"
#include "livecache.h"
#include "livecache_int.h"

static json_t *load(const char *text)
{
	json_t *v = NULL;
	ck_assert_int_eq(jx_parse(text, strlen(text), 1 << 20, 64, &v), 0);
	return v;
}

static const char *pod =
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-1\",\"namespace\":\"shop\","
	"\"uid\":\"u-1\",\"resourceVersion\":\"42\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
	"\"labels\":{\"app\":\"web\"},\"annotations\":{\"berth.dev/tracking-id\":\"shop:/Pod:shop/web-1\","
	"\"kubectl.kubernetes.io/last-applied-configuration\":\"{...huge...}\"},"
	"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-abc\",\"uid\":\"rs-1\","
	"\"controller\":true,\"blockOwnerDeletion\":true}],\"managedFields\":[{\"manager\":\"kubectl\"}]},"
	"\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]},"
	"\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
	"\"lastProbeTime\":null}],\"containerStatuses\":[{\"name\":\"c\",\"ready\":true,\"restartCount\":2,"
	"\"image\":\"nginx\",\"state\":{\"running\":{}}}]}}";

static const char *const tracked[] = {"berth.dev/tracking-id", NULL};

START_TEST(compact_record_keeps_identity_and_health_fields)
{
	json_t *obj = load(pod);
	struct lc_rec_opts o = {.annotations = tracked, .caller_key = "shop"};
	struct lc_rec *r = lc_rec_new(obj, "", "v1", "Pod", &o);
	ck_assert_ptr_nonnull(r);
	const struct lc_record *p = &r->pub;
	ck_assert_str_eq(p->group, "");
	ck_assert_str_eq(p->kind, "Pod");
	ck_assert_str_eq(p->namespace_, "shop");
	ck_assert_str_eq(p->name, "web-1");
	ck_assert_str_eq(p->uid, "u-1");
	ck_assert_str_eq(p->resource_version, "42");
	ck_assert_str_eq(p->creation_timestamp, "2026-01-01T00:00:00Z");
	ck_assert_str_eq(p->deletion_timestamp, "");
	ck_assert_str_eq(p->caller_key, "shop");
	ck_assert(!p->full);
	ck_assert_str_eq(jx_path_str((json_t *)p->meta, "labels", "app", NULL), "web");
	ck_assert_str_eq(jx_path_str((json_t *)p->meta, "status", "phase", NULL), "Running");
	json_t *owner = json_array_get(json_object_get(p->meta, "ownerReferences"), 0);
	ck_assert_str_eq(jx_str(owner, "uid"), "rs-1");
	ck_assert_ptr_null(json_object_get(owner, "blockOwnerDeletion"));
	json_t *cs = json_array_get(jx_path((json_t *)p->meta, "status", "containerStatuses", NULL), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(cs, "restartCount")), 2);
	ck_assert_ptr_null(json_object_get(cs, "image"));
	json_t *out = NULL;
	ck_assert_int_eq(lc_record_object(p, &out), BERR_NOTFOUND);
	lc_record_unref(p);
	json_decref(obj);
}
END_TEST

START_TEST(compact_record_drops_bulky_metadata)
{
	json_t *obj = load(pod);
	struct lc_rec_opts o = {.annotations = tracked};
	struct lc_rec *r = lc_rec_new(obj, "", "v1", "Pod", &o);
	const json_t *meta = r->pub.meta;
	json_t *ann = json_object_get(meta, "annotations");
	ck_assert_int_eq(json_object_size(ann), 1);
	ck_assert_ptr_nonnull(json_object_get(ann, "berth.dev/tracking-id"));
	ck_assert_ptr_null(json_object_get(meta, "managedFields"));
	ck_assert_ptr_null(jx_path((json_t *)meta, "status", "podIP", NULL));
	ck_assert_ptr_null(json_object_get(json_array_get(jx_path((json_t *)meta, "status", "conditions", NULL), 0),
					   "lastProbeTime"));
	lc_record_unref(&r->pub);
	json_decref(obj);
}
END_TEST

START_TEST(full_record_returns_the_object)
{
	json_t *obj = load(pod);
	struct lc_rec_opts o = {.full = true};
	struct lc_rec *r = lc_rec_new(obj, "", "v1", "Pod", &o);
	ck_assert(r->pub.full);
	json_t *back = NULL;
	ck_assert_int_eq(lc_record_object(&r->pub, &back), 0);
	ck_assert(jx_equal(back, obj));
	json_t *j = lc_record_to_json(&r->pub);
	ck_assert_str_eq(jx_str(j, "name"), "web-1");
	ck_assert(jx_equal(json_object_get(j, "object"), obj));
	json_decref(j);
	json_decref(back);
	lc_record_unref(&r->pub);
	json_decref(obj);
}
END_TEST

START_TEST(object_without_name_gives_no_record)
{
	json_t *obj = load("{\"metadata\":{\"namespace\":\"x\"}}");
	struct lc_rec_opts o = {0};
	ck_assert_ptr_null(lc_rec_new(obj, "", "v1", "ConfigMap", &o));
	json_decref(obj);
}
END_TEST

START_TEST(equal_meta_is_shared)
{
	struct lc_intern *in = lc_intern_new();
	json_t *a = load("{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"web\",\"tier\":\"front\"}}}");
	json_t *b = load("{\"metadata\":{\"name\":\"b\",\"labels\":{\"tier\":\"front\",\"app\":\"web\"}}}");
	json_t *c = load("{\"metadata\":{\"name\":\"c\",\"labels\":{\"app\":\"db\"}}}");
	struct lc_rec_opts o = {.intern = in};
	struct lc_rec *ra = lc_rec_new(a, "", "v1", "ConfigMap", &o), *rb = lc_rec_new(b, "", "v1", "ConfigMap", &o),
		      *rc = lc_rec_new(c, "", "v1", "ConfigMap", &o);
	ck_assert_ptr_eq(ra->pub.meta, rb->pub.meta);
	ck_assert_ptr_ne(ra->pub.meta, rc->pub.meta);
	ck_assert_int_eq(lc_intern_size(in), 2);
	ck_assert(rb->pub.bytes_ < ra->pub.bytes_); /* the sharer is not charged for the meta */
	lc_record_unref(&ra->pub);
	lc_record_unref(&rb->pub);
	lc_record_unref(&rc->pub);
	lc_intern_free(in);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}
END_TEST

START_TEST(empty_meta_is_an_empty_object)
{
	json_t *a = load("{\"metadata\":{\"name\":\"a\"}}");
	struct lc_rec_opts o = {0};
	struct lc_rec *r = lc_rec_new(a, "", "v1", "ConfigMap", &o);
	ck_assert(json_is_object(r->pub.meta));
	ck_assert_int_eq(json_object_size(r->pub.meta), 0);
	const struct lc_record *again = lc_record_ref(&r->pub);
	lc_record_unref(&r->pub);
	ck_assert_str_eq(again->name, "a"); /* still alive: one reference left */
	lc_record_unref(again);
	json_decref(a);
}
END_TEST

/* ---- lcmap ---- */

START_TEST(lcmap_keeps_duplicates_and_deletes_one)
{
	struct lcmap m;
	int x = 1, y = 2;
	lcmap_init(&m);
	ck_assert_int_eq(lcmap_add(&m, "owner", NULL, NULL, &x), 0);
	ck_assert_int_eq(lcmap_add(&m, "owner", NULL, NULL, &y), 0);
	ck_assert_int_eq(m.n, 2);
	ck_assert_ptr_eq(lcmap_del(&m, "owner", NULL, NULL, &x), &x);
	ck_assert_ptr_eq(lcmap_get(&m, "owner", NULL, NULL), &y);
	ck_assert_ptr_null(lcmap_del(&m, "owner", NULL, NULL, &x));
	lcmap_release(&m);
}
END_TEST

START_TEST(lcmap_key_parts_do_not_run_together)
{
	struct lcmap m;
	int x = 1;
	lcmap_init(&m);
	ck_assert_int_eq(lcmap_add(&m, "ab", "c", NULL, &x), 0);
	ck_assert_ptr_null(lcmap_get(&m, "a", "bc", NULL));
	ck_assert_ptr_eq(lcmap_get(&m, "ab", "c", ""), &x); /* NULL and "" are the same part */
	lcmap_release(&m);
}
END_TEST

static bool count_cb(void *val, void *ud)
{
	(void)val;
	(*(int *)ud)++;
	return true;
}

START_TEST(lcmap_grows_and_finds_everything)
{
	struct lcmap m;
	static char names[20000][16];
	lcmap_init(&m);
	for (int i = 0; i < 20000; i++) {
		snprintf(names[i], sizeof(names[i]), "n%d", i);
		ck_assert_int_eq(lcmap_add(&m, "ns", names[i], NULL, names[i]), 0);
	}
	for (int i = 0; i < 20000; i += 7)
		ck_assert_ptr_eq(lcmap_get(&m, "ns", names[i], NULL), names[i]);
	int n = 0;
	lcmap_each(&m, count_cb, &n);
	ck_assert_int_eq(n, 20000);
	n = 0;
	lcmap_each_key(&m, "ns", "n5", NULL, count_cb, &n);
	ck_assert_int_eq(n, 1);
	lcmap_release(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("livecache");
	TCase *tc = tcase_create("records");
	tcase_add_test(tc, compact_record_keeps_identity_and_health_fields);
	tcase_add_test(tc, compact_record_drops_bulky_metadata);
	tcase_add_test(tc, full_record_returns_the_object);
	tcase_add_test(tc, object_without_name_gives_no_record);
	tcase_add_test(tc, equal_meta_is_shared);
	tcase_add_test(tc, empty_meta_is_an_empty_object);
	suite_add_tcase(s, tc);
	tc = tcase_create("lcmap");
	tcase_add_test(tc, lcmap_keeps_duplicates_and_deletes_one);
	tcase_add_test(tc, lcmap_key_parts_do_not_run_together);
	tcase_add_test(tc, lcmap_grows_and_finds_everything);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
