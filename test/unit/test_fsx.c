/* Unit tests for fsx: confinement, symlink checks, safe removal, copying. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsx.h"
#include "str.h"

static char top[PATH_MAX];

static void setup(void)
{
	char *d = NULL;
	ck_assert_int_eq(fsx_private_dir("/tmp", "berth-test-fsx-", &d), 0);
	ck_assert_ptr_nonnull(realpath(d, top));
	free(d);
	char *cmd = str_printf("set -e; cd %s; mkdir -p repo/app outside; echo x > repo/app/a.yaml; echo secret > outside/s;"
			       "ln -s ../app/a.yaml repo/app/inner; ln -s %s/outside repo/out", top, top);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static void teardown(void)
{
	fsx_remove_tree(top);
}

static char *at(const char *rel)
{
	return str_printf("%s/%s", top, rel);
}

START_TEST(fsx_confine_accepts_paths_inside)
{
	char *root = at("repo"), *got = NULL;
	ck_assert_int_eq(fsx_confine(root, "app/../app", &got), 0);
	char *want = at("repo/app");
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	free(root);
}
END_TEST

START_TEST(fsx_confine_refuses_escapes)
{
	char *root = at("repo"), *got = NULL;
	static const char *const bad[] = {"..", "../outside", "app/../../outside", "/etc", "out", "out/s",
					  "%2e%2e", "file:///etc"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(fsx_confine(root, bad[i], &got) == BERR_FORBIDDEN, "%s", bad[i]);
		ck_assert_ptr_nonnull(strstr(err_msg(), "outside repository root"));
	}
	ck_assert_int_eq(fsx_confine(root, "app/missing.yaml", &got), BERR_NOTFOUND);
	free(root);
}
END_TEST

START_TEST(fsx_link_check_follows_resolution)
{
	char *root = at("repo"), *inner = at("repo/app/inner"), *out = at("repo/out");
	ck_assert(fsx_link_stays_inside(root, inner));
	ck_assert(!fsx_link_stays_inside(root, out));
	free(root);
	free(inner);
	free(out);
}
END_TEST

START_TEST(fsx_remove_tree_does_not_follow_links)
{
	char *repo = at("repo"), *secret = at("outside/s");
	struct stat st;
	ck_assert_int_eq(fsx_remove_tree(repo), 0);
	ck_assert_int_ne(stat(repo, &st), 0);
	ck_assert_int_eq(stat(secret, &st), 0);
	free(repo);
	free(secret);
}
END_TEST

START_TEST(fsx_copy_tree_refuses_links_out)
{
	char *repo = at("repo"), *dst = at("copy");
	mkdir(dst, 0700);
	ck_assert_int_eq(fsx_copy_tree(repo, dst, 0, 0), BERR_FORBIDDEN);
	ck_assert_ptr_nonnull(strstr(err_msg(), "outside the repository root"));
	free(repo);
	free(dst);
}
END_TEST

START_TEST(fsx_copy_tree_copies_files_and_inner_links)
{
	char *out = at("repo/out"), *app = at("repo/app"), *dst = at("copy2"), *a = at("copy2/a.yaml"),
	     *inner = at("copy2/inner");
	struct stat st;
	unlink(out);
	mkdir(dst, 0700);
	char *repo = at("repo");
	ck_assert_int_eq(fsx_copy_tree(repo, dst, 0, 0), 0);
	free(a);
	a = at("copy2/app/a.yaml");
	ck_assert_int_eq(stat(a, &st), 0);
	free(inner);
	inner = at("copy2/app/inner");
	ck_assert_int_eq(lstat(inner, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	char *dst3 = at("copy3");
	mkdir(dst3, 0700);
	ck_assert_int_eq(fsx_copy_tree(repo, dst3, 1, 0), BERR_TOOLARGE);
	free(dst3);
	free(repo);
	free(out);
	free(app);
	free(dst);
	free(a);
	free(inner);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fsx");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fsx_confine_accepts_paths_inside);
	tcase_add_test(tc, fsx_confine_refuses_escapes);
	tcase_add_test(tc, fsx_link_check_follows_resolution);
	tcase_add_test(tc, fsx_remove_tree_does_not_follow_links);
	tcase_add_test(tc, fsx_copy_tree_refuses_links_out);
	tcase_add_test(tc, fsx_copy_tree_copies_files_and_inner_links);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
