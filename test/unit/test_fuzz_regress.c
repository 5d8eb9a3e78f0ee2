/* Replays the fuzz inputs without libFuzzer: every file of
 * test/fuzz/regress/<name>/ (minimised inputs that once crashed, leaked or
 * tripped a sanitizer) and of the seed corpus test/fuzz/corpus/<name>/ is fed
 * to the target's body fuzz_<name>() from test/fuzz/fuzz_<name>.c, included
 * here. A regression shows as a crash, abort() or sanitizer report, which
 * fails the test (run it under `make check-unit SANITIZE=address,undefined`). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fsx.h"

#include "../fuzz/fuzz_annot.c"
#include "../fuzz/fuzz_diff.c"
#include "../fuzz/fuzz_health.c"
#include "../fuzz/fuzz_jqpath.c"
#include "../fuzz/fuzz_jsonx.c"
#include "../fuzz/fuzz_jwks.c"
#include "../fuzz/fuzz_jwt.c"
#include "../fuzz/fuzz_kubeconfig.c"
#include "../fuzz/fuzz_kyaml.c"
#include "../fuzz/fuzz_model.c"
#include "../fuzz/fuzz_patch.c"
#include "../fuzz/fuzz_quantity.c"
#include "../fuzz/fuzz_rbac.c"
#include "../fuzz/fuzz_semver.c"

typedef int (*fuzz_fn)(const uint8_t *, size_t);

static const struct {
	const char *name;
	fuzz_fn fn;
} targets[] = {
	{ "annot", fuzz_annot },	   { "diff", fuzz_diff },   { "health", fuzz_health },
	{ "jqpath", fuzz_jqpath },	   { "jsonx", fuzz_jsonx }, { "jwks", fuzz_jwks },
	{ "jwt", fuzz_jwt },		   { "kubeconfig", fuzz_kubeconfig },
	{ "kyaml", fuzz_kyaml },	   { "model", fuzz_model }, { "patch", fuzz_patch },
	{ "quantity", fuzz_quantity }, { "rbac", fuzz_rbac },   { "semver", fuzz_semver },
};

/* Feeds every regular file of <top>/test/fuzz/<kind>/<name>/ to fn; returns
 * how many (0 when the folder does not exist). */
static size_t replay_dir(const char *kind, const char *name, fuzz_fn fn)
{
	const char *top = getenv("BERTH_TOP");
	char dir[4096], path[4608];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/test/fuzz/%s/%s", top ? top : ".", kind, name);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct buf b;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		buf_init(&b, (size_t)1 << 20);
		ck_assert_msg(fsx_read_file(path, &b) == 0, "cannot read %s", path);
		fn((const uint8_t *)(b.ptr ? b.ptr : ""), b.len);
		buf_release(&b);
		n++;
	}
	closedir(d);
	return n;
}

START_TEST(regression_inputs_run_clean)
{
	replay_dir("regress", targets[_i].name, targets[_i].fn);
}
END_TEST

START_TEST(seed_corpus_runs_clean)
{
	ck_assert_msg(replay_dir("corpus", targets[_i].name, targets[_i].fn) > 0,
		      "no seed corpus for %s", targets[_i].name);
}
END_TEST

START_TEST(split_at_separator_gives_both_parts)
{
	static const uint8_t in[] = { 'a', 'b', 0xff, 'c' };
	struct fuzz_part a, b;

	fuzz_split(in, sizeof in, &a, &b);
	ck_assert_uint_eq(a.len, 2);
	ck_assert_uint_eq(b.len, 1);
	ck_assert_int_eq(b.p[0], 'c');
	fuzz_split(in, 2, &a, &b);
	ck_assert_uint_eq(a.len, 2);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fuzz_regress");
	TCase *tc = tcase_create("replay");
	int n = (int)(sizeof targets / sizeof targets[0]);
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, regression_inputs_run_clean, 0, n);
	tcase_add_loop_test(tc, seed_corpus_runs_clean, 0, n);
	tcase_add_test(tc, split_at_separator_gives_both_parts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
