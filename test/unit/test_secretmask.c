/* Unit tests for secretmask: Argo CD-style masking of Secret values. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "err.h"
#include "jsonx.h"
#include "secretmask.h"

static json_t *parse(const char *text)
{
	json_t *v = NULL;
	ck_assert_int_eq(jx_parse(text, strlen(text), 1 << 20, JX_MAX_DEPTH, &v), 0);
	return v;
}

static const char *data_of(const json_t *o, const char *k)
{
	return jx_path_str(o, "data", k, NULL);
}

START_TEST(secretmask_equal_values_get_equal_masks_and_different_ones_differ)
{
	json_t *target = parse("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"a\":\"eA==\",\"b\":\"eQ==\"}}");
	json_t *live = parse("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"a\":\"eA==\",\"b\":\"eg==\"}}");
	json_t *objs[] = {target, live};
	ck_assert_int_eq(secretmask_apply(objs, 2), 0);
	ck_assert_str_eq(data_of(target, "a"), "++++++++");
	ck_assert_str_eq(data_of(live, "a"), "++++++++");
	ck_assert_str_eq(data_of(target, "b"), "++++++++");
	ck_assert_str_eq(data_of(live, "b"), "++++++++++++");
	json_decref(target);
	json_decref(live);
}
END_TEST

START_TEST(secretmask_string_data_masks_like_the_same_value_in_data)
{
	json_t *target = parse("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"stringData\":{\"p\":\"x\"}}");
	json_t *live = parse("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"p\":\"eA==\"}}");
	json_t *objs[] = {target, live};
	ck_assert_int_eq(secretmask_apply(objs, 2), 0);
	ck_assert_ptr_null(json_object_get(target, "stringData"));
	ck_assert_str_eq(data_of(target, "p"), "++++++++");
	ck_assert_str_eq(data_of(live, "p"), "++++++++");
	json_decref(target);
	json_decref(live);
}
END_TEST

START_TEST(secretmask_no_byte_of_a_value_survives_in_the_last_applied_annotation)
{
	json_t *live = parse("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"annotations\":{"
			     "\"kubectl.kubernetes.io/last-applied-configuration\":"
			     "\"{\\\"apiVersion\\\":\\\"v1\\\",\\\"kind\\\":\\\"Secret\\\",\\\"data\\\":{\\\"k\\\":\\\"c2VjcmV0\\\"}}\"}},"
			     "\"data\":{\"k\":\"c2VjcmV0\"}}");
	json_t *objs[] = {NULL, live};
	ck_assert_int_eq(secretmask_apply(objs, 2), 0);
	char *text = json_dumps(live, JSON_COMPACT);
	ck_assert_ptr_null(strstr(text, "c2VjcmV0"));
	ck_assert_ptr_nonnull(strstr(text, "++++++++"));
	free(text);
	json_decref(live);
}
END_TEST

START_TEST(secretmask_leaves_other_kinds_alone)
{
	json_t *cm = parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{\"a\":\"b\"}}");
	json_t *objs[] = {cm};
	ck_assert_int_eq(secretmask_apply(objs, 1), 0);
	ck_assert_str_eq(data_of(cm, "a"), "b");
	json_decref(cm);
}
END_TEST

START_TEST(secretmask_is_deterministic_for_the_same_objects)
{
	const char *t = "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"a\":\"MQ==\",\"b\":\"Mg==\"}}";
	const char *l = "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"a\":\"Mw==\",\"c\":\"NA==\"}}";
	json_t *t1 = parse(t), *l1 = parse(l), *t2 = parse(t), *l2 = parse(l);
	json_t *o1[] = {t1, l1}, *o2[] = {t2, l2};
	ck_assert_int_eq(secretmask_apply(o1, 2), 0);
	ck_assert_int_eq(secretmask_apply(o2, 2), 0);
	ck_assert(json_equal(t1, t2) && json_equal(l1, l2));
	ck_assert_str_eq(data_of(l1, "a"), "++++++++++++");
	ck_assert_str_eq(data_of(l1, "c"), "++++++++");
	json_decref(t1);
	json_decref(l1);
	json_decref(t2);
	json_decref(l2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("secretmask");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, secretmask_equal_values_get_equal_masks_and_different_ones_differ);
	tcase_add_test(tc, secretmask_string_data_masks_like_the_same_value_in_data);
	tcase_add_test(tc, secretmask_no_byte_of_a_value_survives_in_the_last_applied_annotation);
	tcase_add_test(tc, secretmask_leaves_other_kinds_alone);
	tcase_add_test(tc, secretmask_is_deterministic_for_the_same_objects);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
