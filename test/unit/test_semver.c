/* Unit tests for semver: parsing, ordering, constraints as Argo CD users
 * write them in targetRevision. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "semver.h"

START_TEST(semver_parses_lenient_tag_forms)
{
	struct semver v;
	ck_assert_int_eq(semver_parse("v1.2.3", &v), 0);
	ck_assert(v.major == 1 && v.minor == 2 && v.patch == 3 && !v.pre[0]);
	ck_assert_int_eq(semver_parse("2.5", &v), 0);
	ck_assert(v.major == 2 && v.minor == 5 && v.patch == 0);
	ck_assert_int_eq(semver_parse("1.0.0-rc.1+build.5", &v), 0);
	ck_assert_str_eq(v.pre, "rc.1");
	ck_assert_int_eq(semver_parse("main", &v), BERR_INVALID);
	ck_assert_int_eq(semver_parse("1.2.3.4", &v), BERR_INVALID);
	ck_assert_int_eq(semver_parse("1.2.*", &v), BERR_INVALID);
}
END_TEST

START_TEST(semver_orders_prereleases_before_release)
{
	static const char *const order[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
					    "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1",
					    "1.10.0", "2.0.0"};
	for (size_t i = 0; i + 1 < sizeof(order) / sizeof(order[0]); i++) {
		struct semver a, b;
		ck_assert_int_eq(semver_parse(order[i], &a), 0);
		ck_assert_int_eq(semver_parse(order[i + 1], &b), 0);
		ck_assert_msg(semver_cmp(&a, &b) < 0, "%s < %s", order[i], order[i + 1]);
		ck_assert_msg(semver_cmp(&b, &a) > 0, "%s > %s", order[i + 1], order[i]);
	}
}
END_TEST

static const char *const tags[] = {"v0.9.0", "v1.0.0", "v1.2.0", "v1.2.7", "v1.3.0-rc.1", "v1.4.0", "v1.4.5",
				   "v1.5.0", "v2.0.0", "v2.1.0-beta.1", "latest", "release-1"};
#define NTAGS (sizeof(tags) / sizeof(tags[0]))

static const char *pick(const char *constraint)
{
	size_t i;
	int rc = semver_max_satisfying(constraint, tags, NTAGS, &i);
	return rc == 0 ? tags[i] : rc == BERR_NOTFOUND ? "none" : "invalid";
}

START_TEST(semver_constraints_pick_the_highest_matching_tag)
{
	static const struct { const char *c, *want; } table[] = {
		{"1.2.*", "v1.2.7"},
		{"1.2.x", "v1.2.7"},
		{">=1.0.0 <2.0.0", "v1.5.0"},
		{">=1.0.0, <1.4.0", "v1.2.7"},
		{"~1.4", "v1.4.5"},
		{"~1.4.1", "v1.4.5"},
		{"^1.2", "v1.5.0"},
		{"^0.9", "v0.9.0"},
		{"*", "v2.0.0"},
		{">2", "none"},
		{">=2", "v2.0.0"},
		{"<=1.2", "v1.2.7"},
		{"1.0 - 1.4", "v1.4.5"},
		{"~1.3 || ~0.9", "v0.9.0"},
		{"=1.4.0", "v1.4.0"},
		{"!=2.0.0, >=1.5", "v1.5.0"},
		{">=1.3.0-rc.0 <1.4.0", "v1.3.0-rc.1"},
		{">=1.3.0 <1.4.0", "none"},
		{"3.x", "none"},
		{">=", "invalid"},
		{">=1.0 <<2", "invalid"},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		ck_assert_msg(!strcmp(pick(table[i].c), table[i].want), "%s: want %s, got %s", table[i].c,
			      table[i].want, pick(table[i].c));
}
END_TEST

START_TEST(semver_tells_constraints_from_ref_names)
{
	ck_assert(semver_is_constraint("1.2.*"));
	ck_assert(semver_is_constraint(">=1.0.0 <2.0.0"));
	ck_assert(semver_is_constraint("~1.4"));
	ck_assert(semver_is_constraint("^2"));
	ck_assert(semver_is_constraint("1.x"));
	ck_assert(!semver_is_constraint("main"));
	ck_assert(!semver_is_constraint("v1.2.3"));
	ck_assert(!semver_is_constraint("fix-x"));
	ck_assert(!semver_is_constraint("HEAD"));
	ck_assert(!semver_is_constraint("0123abcd"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("semver");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, semver_parses_lenient_tag_forms);
	tcase_add_test(tc, semver_orders_prereleases_before_release);
	tcase_add_test(tc, semver_constraints_pick_the_highest_matching_tag);
	tcase_add_test(tc, semver_tells_constraints_from_ref_names);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
