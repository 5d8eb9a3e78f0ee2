/* Unit tests for jsonx: JSON pointers, bounded parsing, canonical form,
 * hashing, equality. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "jsonx.h"

static json_t *parse(const char *text)
{
	json_t *v = NULL;
	int rc = jx_parse(text, strlen(text), JX_MAX_BYTES, JX_MAX_DEPTH, &v);
	ck_assert_msg(rc == 0, "parse %s: %s", text, err_msg());
	return v;
}

static char *canonical(const json_t *v)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(jx_dump_canonical(v, &b), 0);
	return buf_detach(&b, NULL);
}

static void expect_canonical(const json_t *v, const char *want)
{
	char *got = canonical(v);
	ck_assert_str_eq(got, want);
	free(got);
}

/* ---- pointers ---- */

START_TEST(ptr_get_walks_objects_and_arrays)
{
	json_t *v = parse("{\"a\":{\"b\":[10,{\"c\":true}]}}");
	ck_assert_int_eq(json_integer_value(jx_ptr_get(v, "/a/b/0")), 10);
	ck_assert(json_is_true(jx_ptr_get(v, "/a/b/1/c")));
	ck_assert_ptr_eq(jx_ptr_get(v, ""), v);
	json_decref(v);
}
END_TEST

START_TEST(ptr_get_decodes_tilde_escapes)
{
	json_t *v = parse("{\"a/b\":1,\"m~n\":2,\"~1\":3,\"\":4}");
	ck_assert_int_eq(json_integer_value(jx_ptr_get(v, "/a~1b")), 1);
	ck_assert_int_eq(json_integer_value(jx_ptr_get(v, "/m~0n")), 2);
	ck_assert_int_eq(json_integer_value(jx_ptr_get(v, "/~01")), 3);
	ck_assert_int_eq(json_integer_value(jx_ptr_get(v, "/")), 4);
	json_decref(v);
}
END_TEST

START_TEST(ptr_get_returns_null_for_absent_or_malformed)
{
	json_t *v = parse("{\"a\":[1,2],\"s\":\"x\"}");
	ck_assert_ptr_null(jx_ptr_get(v, "/missing"));
	ck_assert_ptr_null(jx_ptr_get(v, "/a/2"));
	ck_assert_ptr_null(jx_ptr_get(v, "/a/-"));
	ck_assert_ptr_null(jx_ptr_get(v, "/a/01"));
	ck_assert_ptr_null(jx_ptr_get(v, "/a/x"));
	ck_assert_ptr_null(jx_ptr_get(v, "/s/0"));
	ck_assert_ptr_null(jx_ptr_get(v, "a"));
	ck_assert_ptr_null(jx_ptr_get(v, "/a~2"));
	ck_assert_ptr_null(jx_ptr_get(v, "/a~"));
	ck_assert_ptr_null(jx_ptr_get(NULL, "/a"));
	json_decref(v);
}
END_TEST

START_TEST(ptr_set_replaces_and_adds_object_members)
{
	json_t *v = parse("{\"a\":{\"b\":1}}");
	ck_assert_int_eq(jx_ptr_set(v, "/a/b", json_integer(2), false), 0);
	ck_assert_int_eq(jx_ptr_set(v, "/a/c~1d", json_string("x"), false), 0);
	expect_canonical(v, "{\"a\":{\"b\":2,\"c/d\":\"x\"}}");
	json_decref(v);
}
END_TEST

START_TEST(ptr_set_creates_parents_only_when_asked)
{
	json_t *v = json_object();
	ck_assert_int_eq(jx_ptr_set(v, "/x/y/z", json_true(), false), BERR_NOTFOUND);
	ck_assert_uint_eq(json_object_size(v), 0);
	ck_assert_int_eq(jx_ptr_set(v, "/x/y/z", json_true(), true), 0);
	expect_canonical(v, "{\"x\":{\"y\":{\"z\":true}}}");
	json_decref(v);
}
END_TEST

START_TEST(ptr_set_on_arrays_replaces_inserts_at_end_and_appends_with_dash)
{
	json_t *v = parse("{\"l\":[1,2]}");
	ck_assert_int_eq(jx_ptr_set(v, "/l/0", json_integer(9), false), 0);
	ck_assert_int_eq(jx_ptr_set(v, "/l/2", json_integer(3), false), 0);
	ck_assert_int_eq(jx_ptr_set(v, "/l/-", json_integer(4), false), 0);
	expect_canonical(v, "{\"l\":[9,2,3,4]}");
	ck_assert_int_eq(jx_ptr_set(v, "/l/9", json_integer(5), false), BERR_INVALID);
	ck_assert_int_eq(jx_ptr_set(v, "/l/x", json_integer(5), false), BERR_INVALID);
	json_decref(v);
}
END_TEST

START_TEST(ptr_set_refuses_root_and_scalar_parents)
{
	json_t *v = parse("{\"s\":1}");
	ck_assert_int_eq(jx_ptr_set(v, "", json_integer(1), false), BERR_INVALID);
	ck_assert_int_eq(jx_ptr_set(v, "/s/x", json_integer(1), false), BERR_INVALID);
	ck_assert_int_eq(jx_ptr_set(v, "nope", json_integer(1), false), BERR_INVALID);
	expect_canonical(v, "{\"s\":1}");
	json_decref(v);
}
END_TEST

START_TEST(ptr_set_steals_the_value_also_on_failure)
{
	json_t *v = json_object();
	json_t *val = json_string("x");
	json_incref(val);
	ck_assert_int_eq(jx_ptr_set(v, "/a/b", val, false), BERR_NOTFOUND);
	ck_assert_int_eq(val->refcount, 1);
	ck_assert_int_eq(jx_ptr_set(v, "/a", val, false), 0);
	ck_assert_int_eq(val->refcount, 1);
	json_decref(v);
}
END_TEST

START_TEST(ptr_del_removes_members_and_elements)
{
	json_t *v = parse("{\"a~b\":1,\"l\":[1,2,3],\"k\":0}");
	ck_assert_int_eq(jx_ptr_del(v, "/a~0b"), 0);
	ck_assert_int_eq(jx_ptr_del(v, "/l/1"), 0);
	expect_canonical(v, "{\"k\":0,\"l\":[1,3]}");
	ck_assert_int_eq(jx_ptr_del(v, "/l/5"), BERR_NOTFOUND);
	ck_assert_int_eq(jx_ptr_del(v, "/nope"), BERR_NOTFOUND);
	ck_assert_int_eq(jx_ptr_del(v, "/nope/deeper"), BERR_NOTFOUND);
	ck_assert_int_eq(jx_ptr_del(v, ""), BERR_INVALID);
	json_decref(v);
}
END_TEST

START_TEST(ptr_escape_writes_tilde_forms)
{
	struct buf b;
	buf_init(&b, 64);
	ck_assert_int_eq(jx_ptr_escape(&b, "a/b~c"), 0);
	ck_assert_str_eq(b.ptr, "a~1b~0c");
	buf_release(&b);
}
END_TEST

/* ---- parsing ---- */

START_TEST(parse_accepts_scalars_and_containers)
{
	json_t *v = parse("  \"x\" ");
	ck_assert_str_eq(json_string_value(v), "x");
	json_decref(v);
	v = parse("[1, 2.5, null]");
	ck_assert_uint_eq(json_array_size(v), 3);
	json_decref(v);
}
END_TEST

START_TEST(parse_reports_line_and_column_of_a_syntax_error)
{
	json_t *v = NULL;
	const char *t = "{\n  \"a\": 1,\n  \"b\": ]\n}";
	ck_assert_int_eq(jx_parse(t, strlen(t), JX_MAX_BYTES, JX_MAX_DEPTH, &v), BERR_INVALID);
	ck_assert_ptr_null(v);
	ck_assert_msg(strstr(err_msg(), "line 3 column") != NULL, "%s", err_msg());
}
END_TEST

START_TEST(parse_refuses_input_over_the_byte_limit)
{
	json_t *v = NULL;
	ck_assert_int_eq(jx_parse("[1,2,3]", 7, 6, JX_MAX_DEPTH, &v), BERR_TOOLARGE);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(strstr(err_msg(), "6-byte limit"));
}
END_TEST

START_TEST(parse_refuses_nesting_over_the_depth_limit_with_position)
{
	json_t *v = NULL;
	const char *t = "{\"a\":\n [[[1]]]}";
	ck_assert_int_eq(jx_parse(t, strlen(t), JX_MAX_BYTES, 3, &v), BERR_INVALID);
	ck_assert_ptr_null(v);
	ck_assert_msg(strstr(err_msg(), "line 2 column 4: nesting deeper than 3") != NULL, "%s", err_msg());
	ck_assert_int_eq(jx_parse(t, strlen(t), JX_MAX_BYTES, 4, &v), 0);
	json_decref(v);
}
END_TEST

START_TEST(parse_depth_check_ignores_brackets_in_strings)
{
	json_t *v = NULL;
	const char *t = "[\"[[[[\\\"[[[\"]";
	ck_assert_int_eq(jx_parse(t, strlen(t), JX_MAX_BYTES, 1, &v), 0);
	json_decref(v);
}
END_TEST

START_TEST(depth_counts_nesting)
{
	json_t *v = parse("{\"a\":[{\"b\":1}],\"c\":2}");
	ck_assert_uint_eq(jx_depth(v), 3);
	json_decref(v);
	v = json_integer(1);
	ck_assert_uint_eq(jx_depth(v), 0);
	json_decref(v);
}
END_TEST

/* ---- canonical form and hash ---- */

START_TEST(canonical_dump_sorts_keys_at_every_level)
{
	json_t *v = parse("{\"b\":{\"z\":1,\"a\":[{\"y\":1,\"x\":2}]},\"a\":null,\"B\":true}");
	expect_canonical(v, "{\"B\":true,\"a\":null,\"b\":{\"a\":[{\"x\":2,\"y\":1}],\"z\":1}}");
	json_decref(v);
}
END_TEST

START_TEST(canonical_dump_escapes_strings_like_jansson)
{
	json_t *v = json_pack("{s:s}", "k\"", "a\\b\n\t\x01/\xc3\xa9");
	expect_canonical(v, "{\"k\\\"\":\"a\\\\b\\n\\t\\u0001/\xc3\xa9\"}");
	json_decref(v);
}
END_TEST

START_TEST(canonical_dump_writes_whole_reals_as_integers)
{
	json_t *v = json_pack("[f,f,f,i]", 2.0, 0.5, 1e300, -3);
	expect_canonical(v, "[2,0.5,1.0000000000000001e+300,-3]");
	json_decref(v);
}
END_TEST

START_TEST(canonical_dump_on_failure_leaves_the_buffer_unchanged)
{
	json_t *v = parse("{\"aaaa\":\"bbbbbbbbbbbbbbbbbbbb\"}");
	struct buf b;
	buf_init(&b, 10);
	buf_puts(&b, "x");
	ck_assert_int_eq(jx_dump_canonical(v, &b), BERR_TOOLARGE);
	ck_assert_str_eq(b.ptr, "x");
	buf_release(&b);
	json_decref(v);
}
END_TEST

START_TEST(hash_is_stable_across_key_order)
{
	json_t *a = parse("{\"x\":1,\"y\":{\"p\":[1,2],\"q\":\"s\"}}");
	json_t *b = parse("{\"y\":{\"q\":\"s\",\"p\":[1,2]},\"x\":1}");
	char ha[65], hb[65];
	ck_assert_int_eq(jx_hash_hex(a, ha), 0);
	ck_assert_int_eq(jx_hash_hex(b, hb), 0);
	ck_assert_str_eq(ha, hb);
	ck_assert_uint_eq(strlen(ha), 64);
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(hash_differs_when_a_value_differs)
{
	json_t *a = parse("{\"x\":1}"), *b = parse("{\"x\":2}"), *c = parse("[1,2]"), *d = parse("[2,1]");
	uint8_t h1[32], h2[32];
	jx_hash(a, h1);
	jx_hash(b, h2);
	ck_assert(memcmp(h1, h2, 32) != 0);
	jx_hash(c, h1);
	jx_hash(d, h2);
	ck_assert(memcmp(h1, h2, 32) != 0);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
}
END_TEST

START_TEST(hash_of_equal_values_with_int_and_real_agrees)
{
	json_t *a = parse("{\"r\":1}"), *b = parse("{\"r\":1.0}");
	char ha[65], hb[65];
	ck_assert(jx_equal(a, b));
	jx_hash_hex(a, ha);
	jx_hash_hex(b, hb);
	ck_assert_str_eq(ha, hb);
	json_decref(a);
	json_decref(b);
}
END_TEST

/* ---- equality and helpers ---- */

START_TEST(equal_treats_integer_and_real_alike)
{
	json_t *a = parse("[1,{\"x\":2.5}]"), *b = parse("[1.0,{\"x\":2.5}]"), *c = parse("[1.5,{\"x\":2.5}]");
	ck_assert(jx_equal(a, b));
	ck_assert(!jx_equal(a, c));
	ck_assert(!json_equal(a, b)); /* jansson's own equality differs here */
	json_decref(a);
	json_decref(b);
	json_decref(c);
}
END_TEST

START_TEST(equal_ignores_key_order_but_not_array_order)
{
	json_t *a = parse("{\"a\":1,\"b\":[1,2]}"), *b = parse("{\"b\":[1,2],\"a\":1}"), *c = parse("{\"a\":1,\"b\":[2,1]}");
	ck_assert(jx_equal(a, b));
	ck_assert(!jx_equal(a, c));
	json_decref(a);
	json_decref(b);
	json_decref(c);
}
END_TEST

START_TEST(equal_tells_types_and_sizes_apart)
{
	json_t *a = parse("{\"a\":null}"), *b = parse("{\"a\":false}"), *c = parse("{\"a\":null,\"b\":1}");
	json_t *s = parse("\"1\""), *i = parse("1");
	ck_assert(!jx_equal(a, b));
	ck_assert(!jx_equal(a, c));
	ck_assert(!jx_equal(c, a));
	ck_assert(!jx_equal(s, i));
	ck_assert(jx_equal(NULL, NULL));
	ck_assert(!jx_equal(a, NULL));
	ck_assert(!jx_equal(NULL, a));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(s);
	json_decref(i);
}
END_TEST

START_TEST(path_helpers_follow_keys)
{
	json_t *v = parse("{\"metadata\":{\"name\":\"web\",\"n\":1}}");
	ck_assert_str_eq(jx_path_str(v, "metadata", "name", NULL), "web");
	ck_assert_ptr_null(jx_path_str(v, "metadata", "n", NULL));
	ck_assert_ptr_null(jx_path(v, "metadata", "name", "deeper", NULL));
	ck_assert_ptr_null(jx_str(v, "absent"));
	json_decref(v);
}
END_TEST

START_TEST(obj_ensure_creates_or_returns_an_object)
{
	json_t *v = parse("{\"a\":{\"k\":1},\"s\":\"x\"}");
	json_t *a = jx_obj_ensure(v, "a");
	ck_assert_int_eq(json_integer_value(json_object_get(a, "k")), 1);
	ck_assert(json_is_object(jx_obj_ensure(v, "new")));
	ck_assert(json_is_object(jx_obj_ensure(v, "s"))); /* a non-object is replaced */
	json_t *arr = json_array();
	ck_assert_ptr_null(jx_obj_ensure(arr, "k"));
	json_decref(arr);
	json_decref(v);
}
END_TEST

START_TEST(compact_and_pretty_dumps_keep_insertion_order)
{
	json_t *v = parse("{\"z\":1,\"a\":[true]}");
	struct buf b;
	buf_init(&b, 1024);
	ck_assert_int_eq(jx_dump_compact(v, &b), 0);
	ck_assert_str_eq(b.ptr, "{\"z\":1,\"a\":[true]}");
	buf_reset(&b);
	ck_assert_int_eq(jx_dump_pretty(v, &b), 0);
	ck_assert_str_eq(b.ptr, "{\n  \"z\": 1,\n  \"a\": [\n    true\n  ]\n}");
	buf_release(&b);
	json_decref(v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jsonx");
	TCase *tc = tcase_create("jsonx");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, ptr_get_walks_objects_and_arrays);
	tcase_add_test(tc, ptr_get_decodes_tilde_escapes);
	tcase_add_test(tc, ptr_get_returns_null_for_absent_or_malformed);
	tcase_add_test(tc, ptr_set_replaces_and_adds_object_members);
	tcase_add_test(tc, ptr_set_creates_parents_only_when_asked);
	tcase_add_test(tc, ptr_set_on_arrays_replaces_inserts_at_end_and_appends_with_dash);
	tcase_add_test(tc, ptr_set_refuses_root_and_scalar_parents);
	tcase_add_test(tc, ptr_set_steals_the_value_also_on_failure);
	tcase_add_test(tc, ptr_del_removes_members_and_elements);
	tcase_add_test(tc, ptr_escape_writes_tilde_forms);
	tcase_add_test(tc, parse_accepts_scalars_and_containers);
	tcase_add_test(tc, parse_reports_line_and_column_of_a_syntax_error);
	tcase_add_test(tc, parse_refuses_input_over_the_byte_limit);
	tcase_add_test(tc, parse_refuses_nesting_over_the_depth_limit_with_position);
	tcase_add_test(tc, parse_depth_check_ignores_brackets_in_strings);
	tcase_add_test(tc, depth_counts_nesting);
	tcase_add_test(tc, canonical_dump_sorts_keys_at_every_level);
	tcase_add_test(tc, canonical_dump_escapes_strings_like_jansson);
	tcase_add_test(tc, canonical_dump_writes_whole_reals_as_integers);
	tcase_add_test(tc, canonical_dump_on_failure_leaves_the_buffer_unchanged);
	tcase_add_test(tc, hash_is_stable_across_key_order);
	tcase_add_test(tc, hash_differs_when_a_value_differs);
	tcase_add_test(tc, hash_of_equal_values_with_int_and_real_agrees);
	tcase_add_test(tc, equal_treats_integer_and_real_alike);
	tcase_add_test(tc, equal_ignores_key_order_but_not_array_order);
	tcase_add_test(tc, equal_tells_types_and_sizes_apart);
	tcase_add_test(tc, path_helpers_follow_keys);
	tcase_add_test(tc, obj_ensure_creates_or_returns_an_object);
	tcase_add_test(tc, compact_and_pretty_dumps_keep_insertion_order);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
