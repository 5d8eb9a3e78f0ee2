/* Tests of lib/jscan: walking objects and arrays in place. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jscan.h"

/* A copy of text in a buffer of exactly its length (no NUL after it), so
 * a read past the end is caught under ASan. */
static char *exact(const char *text, size_t *len)
{
	*len = strlen(text);
	char *p = malloc(*len ? *len : 1);
	memcpy(p, text, *len);
	return p;
}

static int walk_count(const char *text, char open)
{
	size_t len;
	char *p = exact(text, &len);
	struct jscan it;
	struct jscan_span k, v;
	int rc, n = 0;
	if ((rc = jscan_open(&it, p, len, open)) == 0) {
		while ((rc = jscan_next(&it, &k, &v)) == 1)
			n++;
	}
	free(p);
	return rc < 0 ? rc : n;
}

START_TEST(object_members_come_back_as_raw_text)
{
	const char *text = " { \"kind\" : \"ConfigMap\", \"metadata\":{\"name\":\"a\",\"labels\":{\"x\":\"}\"}},"
			   "\"n\":-1.5e3 ,\"ok\":true,\"items\":[1,[2],{\"3\":null}] } ";
	size_t len;
	char *p = exact(text, &len);
	struct jscan it;
	struct jscan_span k, v;
	ck_assert_int_eq(jscan_open(&it, p, len, '{'), 0);
	static const char *const keys[] = {"kind", "metadata", "n", "ok", "items"};
	static const char *const vals[] = {"\"ConfigMap\"", "{\"name\":\"a\",\"labels\":{\"x\":\"}\"}}", "-1.5e3", "true",
					   "[1,[2],{\"3\":null}]"};
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(jscan_next(&it, &k, &v), 1);
		ck_assert(jscan_key_is(&k, keys[i]));
		ck_assert_int_eq(v.len, strlen(vals[i]));
		ck_assert(memcmp(v.p, vals[i], v.len) == 0);
	}
	ck_assert_int_eq(jscan_next(&it, &k, &v), 0);
	ck_assert_int_eq(jscan_next(&it, &k, &v), 0);
	free(p);
}
END_TEST

START_TEST(array_elements_come_back_as_raw_text)
{
	size_t len;
	char *p = exact("[{\"a\":\"x\\\"]\"}, \"s\\\\\", 7,[]]", &len);
	struct jscan it;
	struct jscan_span k, v;
	ck_assert_int_eq(jscan_open(&it, p, len, '['), 0);
	ck_assert_int_eq(jscan_next(&it, &k, &v), 1);
	ck_assert_int_eq(v.len, strlen("{\"a\":\"x\\\"]\"}"));
	ck_assert_int_eq(jscan_next(&it, &k, &v), 1);
	ck_assert(v.len == 5 && memcmp(v.p, "\"s\\\\\"", 5) == 0);
	ck_assert_int_eq(jscan_next(&it, &k, &v), 1);
	ck_assert(v.len == 1 && v.p[0] == '7');
	ck_assert_int_eq(jscan_next(&it, &k, &v), 1);
	ck_assert(v.len == 2);
	ck_assert_int_eq(jscan_next(&it, &k, &v), 0);
	free(p);
}
END_TEST

START_TEST(empty_containers_have_no_members)
{
	ck_assert_int_eq(walk_count("{}", '{'), 0);
	ck_assert_int_eq(walk_count(" [ ] ", '['), 0);
}
END_TEST

START_TEST(wrong_container_is_invalid)
{
	ck_assert_int_eq(walk_count("[1]", '{'), BERR_INVALID);
	ck_assert_int_eq(walk_count("", '['), BERR_INVALID);
	ck_assert_int_eq(walk_count("\"x\"", '['), BERR_INVALID);
}
END_TEST

START_TEST(malformed_text_is_invalid_without_reading_past_the_end)
{
	static const char *const bad_obj[] = {
		"{\"a\":1",          /* unterminated */
		"{\"a\":\"x",        /* unterminated string */
		"{\"a\" 1}",         /* no colon */
		"{\"a\":1 \"b\":2}", /* no comma */
		"{a:1}",             /* unquoted key */
		"{\"a\":}",          /* no value */
		"{\"a\":[1}}",       /* unbalanced */
		"{\"a\":\"x\\",      /* escape at the end */
		"{\"a\":\"\x01\"}",  /* control character in a string */
	};
	for (size_t i = 0; i < sizeof(bad_obj) / sizeof(bad_obj[0]); i++)
		ck_assert_msg(walk_count(bad_obj[i], '{') == BERR_INVALID, "%s", bad_obj[i]);
	ck_assert_int_eq(walk_count("[1,", '['), BERR_INVALID);
	ck_assert_int_eq(walk_count("[1 2]", '['), BERR_INVALID);
}
END_TEST

START_TEST(nesting_past_the_limit_is_invalid)
{
	char text[2 * JSCAN_MAX_DEPTH + 8];
	size_t n = 0;
	text[n++] = '[';
	for (int i = 0; i < JSCAN_MAX_DEPTH + 1; i++)
		text[n++] = '[';
	for (int i = 0; i < JSCAN_MAX_DEPTH + 1; i++)
		text[n++] = ']';
	text[n++] = ']';
	text[n] = '\0';
	ck_assert_int_eq(walk_count(text, '['), BERR_INVALID);
	/* At the limit it walks. */
	ck_assert_int_eq(walk_count(text + 1, '['), 1);
}
END_TEST

START_TEST(escaped_keys_are_reported)
{
	size_t len;
	char *p = exact("{\"a\\u0062\":1}", &len);
	struct jscan it;
	struct jscan_span k, v;
	ck_assert_int_eq(jscan_open(&it, p, len, '{'), 0);
	ck_assert_int_eq(jscan_next(&it, &k, &v), 1);
	ck_assert(jscan_key_escaped(&k));
	ck_assert(!jscan_key_is(&k, "ab"));
	free(p);
}
END_TEST

static Suite *jscan_suite(void)
{
	Suite *s = suite_create("jscan");
	TCase *tc = tcase_create("walk");
	tcase_add_test(tc, object_members_come_back_as_raw_text);
	tcase_add_test(tc, array_elements_come_back_as_raw_text);
	tcase_add_test(tc, empty_containers_have_no_members);
	tcase_add_test(tc, wrong_container_is_invalid);
	tcase_add_test(tc, malformed_text_is_invalid_without_reading_past_the_end);
	tcase_add_test(tc, nesting_past_the_limit_is_invalid);
	tcase_add_test(tc, escaped_keys_are_reported);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jscan_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
