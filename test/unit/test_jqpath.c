/* Unit tests for jqpath: the ignoreDifferences jq subset, as deletions
 * (table in test/data/jqpath/cases.json). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jqpath.h"
#include "jsonx.h"

static json_t *t_cases;

START_TEST(jqpath_table)
{
	const json_t *row = json_array_get(t_cases, (size_t)_i);
	const char *expr = jx_str(row, "expr");
	struct jqpath *p = NULL;
	int rc = jqpath_compile(expr, &p);
	if (json_is_true(json_object_get(row, "error"))) {
		ck_assert_msg(rc == BERR_INVALID, "%s: expected a compile error, got %d", expr, rc);
		ck_assert_ptr_nonnull(strstr(err_msg(), "jq path"));
		return;
	}
	ck_assert_msg(rc == 0, "%s: %s", expr, err_msg());
	json_t *doc = json_deep_copy(json_object_get(row, "doc"));
	ck_assert_int_eq(jqpath_delete(p, doc, 1000, NULL), 0);
	char *got = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_msg(jx_equal(doc, json_object_get(row, "expected")), "%s: got %s", expr, got);
	free(got);
	json_decref(doc);
	jqpath_free(p);
}
END_TEST

START_TEST(jqpath_step_limit_leaves_doc_unchanged)
{
	json_t *doc = json_object(), *l = json_array();
	for (int i = 0; i < 100; i++)
		json_array_append_new(l, json_pack("{si}", "x", i));
	json_object_set_new(doc, "l", l);
	struct jqpath *p = NULL;
	ck_assert_int_eq(jqpath_compile(".l[] | .x", &p), 0);
	ck_assert_int_eq(jqpath_delete(p, doc, 50, NULL), BERR_TOOLARGE);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(l, 99), "x")), 99);
	size_t n = 0;
	ck_assert_int_eq(jqpath_delete(p, doc, 1000, &n), 0);
	ck_assert_uint_eq(n, 100);
	jqpath_free(p);
	json_decref(doc);
}
END_TEST

START_TEST(jqpath_refuses_long_expressions)
{
	char big[2048];
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '.';
	big[sizeof(big) - 1] = '\0';
	struct jqpath *p = NULL;
	ck_assert_int_eq(jqpath_compile(big, &p), BERR_TOOLARGE);
	ck_assert_ptr_null(p);
}
END_TEST

int main(void)
{
	const char *top = getenv("BERTH_TOP");
	char path[4096];
	snprintf(path, sizeof(path), "%s/test/data/jqpath/cases.json", top ? top : ".");
	t_cases = json_load_file(path, 0, NULL);
	if (!json_is_array(t_cases)) {
		fprintf(stderr, "cannot load %s\n", path);
		return 2;
	}
	Suite *s = suite_create("jqpath");
	TCase *tc = tcase_create("jqpath");
	tcase_add_loop_test(tc, jqpath_table, 0, (int)json_array_size(t_cases));
	tcase_add_test(tc, jqpath_step_limit_leaves_doc_unchanged);
	tcase_add_test(tc, jqpath_refuses_long_expressions);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	json_decref(t_cases);
	return failed ? 1 : 0;
}
