/* Unit tests for linediff (unified diff of two texts). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "linediff.h"

static char *udiff(const char *a, const char *b, unsigned ctx)
{
	struct buf out;
	buf_init(&out, 1 << 20);
	ck_assert_int_eq(linediff_unified(a, strlen(a), b, strlen(b), "a", "b", ctx, &out), 0);
	return buf_detach(&out, NULL);
}

START_TEST(linediff_equal_texts_give_nothing)
{
	char *d = udiff("x\ny\n", "x\ny\n", 3);
	ck_assert_str_eq(d, "");
	free(d);
}
END_TEST

START_TEST(linediff_one_changed_line_with_context)
{
	char *d = udiff("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n", 3);
	ck_assert_str_eq(d, "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
	free(d);
}
END_TEST

START_TEST(linediff_separate_hunks_for_distant_changes)
{
	char *d = udiff("a\n1\n2\n3\n4\n5\n6\n7\n8\nb\n", "A\n1\n2\n3\n4\n5\n6\n7\n8\nB\n", 1);
	ck_assert_str_eq(d, "--- a\n+++ b\n@@ -1,2 +1,2 @@\n-a\n+A\n 1\n@@ -9,2 +9,2 @@\n 8\n-b\n+B\n");
	free(d);
}
END_TEST

START_TEST(linediff_insertion_and_deletion)
{
	char *d = udiff("a\nb\nc\n", "a\nc\nd\n", 0);
	ck_assert_str_eq(d, "--- a\n+++ b\n@@ -2,1 +1,0 @@\n-b\n@@ -3,0 +3,1 @@\n+d\n");
	free(d);
}
END_TEST

START_TEST(linediff_from_empty)
{
	char *d = udiff("", "x\n", 3);
	ck_assert_str_eq(d, "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n");
	free(d);
}
END_TEST

START_TEST(linediff_bounded_output)
{
	struct buf out;
	buf_init(&out, 16);
	ck_assert_int_eq(linediff_unified("a\n", 2, "b\n", 2, "left", "right", 3, &out), BERR_TOOLARGE);
	ck_assert_uint_eq(out.len, 0);
	buf_release(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("linediff");
	TCase *tc = tcase_create("linediff");
	tcase_add_test(tc, linediff_equal_texts_give_nothing);
	tcase_add_test(tc, linediff_one_changed_line_with_context);
	tcase_add_test(tc, linediff_separate_hunks_for_distant_changes);
	tcase_add_test(tc, linediff_insertion_and_deletion);
	tcase_add_test(tc, linediff_from_empty);
	tcase_add_test(tc, linediff_bounded_output);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
