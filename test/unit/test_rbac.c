/* Unit tests for RBAC (lib/rbac.h). The main table is data:
 * test/data/rbac/policy.csv and cases.txt. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "model.h"
#include "rbac.h"

static char *read_data(const char *name)
{
	const char *top = getenv("BERTH_TOP");
	char path[1024];
	FILE *f;
	char *buf;
	size_t n;

	snprintf(path, sizeof(path), "%s/test/data/rbac/%s", top ? top : ".", name);
	f = fopen(path, "re");
	ck_assert_msg(f != NULL, "open %s", path);
	buf = calloc(1, 1 << 16);
	n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(policy_table_cases_hold)
{
	char *csv = read_data("policy.csv"), *cases = read_data("cases.txt");
	struct rbac_policy *p = NULL;
	char *line, *next;
	int lineno = 0, checked = 0;

	ck_assert_msg(rbac_policy_new(csv, NULL, NULL, &p) == 0, "%s", err_msg());
	for (line = cases; line; line = next) {
		char expect[16], subject[128], groups[256], res[64], act[64], obj[256];
		const char *gv[8];
		size_t ng = 0;
		char *g, *rest;
		bool got;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		ck_assert_int_eq(sscanf(line, "%15s %127s %255s %63s %63s %255s", expect, subject, groups,
					res, act, obj), 6);
		rest = strcmp(groups, "-") != 0 ? groups : NULL;
		while (rest && ng < 8 && (g = strsep(&rest, ",")))
			gv[ng++] = g;
		got = rbac_can(p, strcmp(subject, "-") == 0 ? NULL : subject, gv, ng, res, act, obj);
		ck_assert_msg(got == (strcmp(expect, "allow") == 0), "cases.txt line %d: %s", lineno,
			      line);
		checked++;
	}
	ck_assert_int_ge(checked, 30);
	rbac_policy_free(p);
	free(csv);
	free(cases);
}
END_TEST

START_TEST(default_role_applies_to_everyone_but_deny_still_wins)
{
	struct rbac_policy *p = NULL;

	ck_assert_int_eq(rbac_policy_new("p, mallory, applications, get, team/secret, deny\n",
					 "role:readonly", NULL, &p), 0);
	ck_assert(rbac_can(p, NULL, NULL, 0, "applications", "get", "team/web"));
	ck_assert(rbac_can(p, "anyone", NULL, 0, "repositories", "get", "https://x"));
	ck_assert(!rbac_can(p, "anyone", NULL, 0, "applications", "sync", "team/web"));
	ck_assert(!rbac_can(p, "anyone", NULL, 0, "applications", "create", "team/web"));
	ck_assert(!rbac_can(p, "mallory", NULL, 0, "applications", "get", "team/secret"));
	ck_assert(rbac_can(p, "mallory", NULL, 0, "applications", "get", "team/web"));
	rbac_policy_free(p);
}
END_TEST

START_TEST(builtin_readonly_can_only_get)
{
	static const char *const resources[] = { "applications", "projects", "repositories",
						 "clusters", "accounts", "logs" };
	const char *g[] = { "viewers" };
	struct rbac_policy *p = NULL;
	size_t i;

	ck_assert_int_eq(rbac_policy_new("g, viewers, role:readonly", "", NULL, &p), 0);
	for (i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
		ck_assert(rbac_can(p, "v", g, 1, resources[i], "get", "p/a"));
		ck_assert(!rbac_can(p, "v", g, 1, resources[i], "delete", "p/a"));
		ck_assert(rbac_can(p, "admin", NULL, 0, resources[i], "delete", "p/a"));
	}
	rbac_policy_free(p);
}
END_TEST

static const struct {
	const char *csv;
	const char *msg;
} bad_policies[] = {
	{ "p, a, applications, get", "policy.csv line 1: a p line is" },
	{ "\n\nq, a, b, c, d, allow", "policy.csv line 3: \"q\" is neither p nor g" },
	{ "p, a, applications, get, */*, maybe", "policy.csv line 1: effect \"maybe\"" },
	{ "g, a", "policy.csv line 1: a g line is" },
	{ "p, a, , get, */*, allow", "policy.csv line 1: field 3 is empty" },
	{ "p, \"a, applications, get, */*, allow", "policy.csv line 1: too many fields or an unbalanced quote" },
	{ "p, a, b, c, d, allow, extra, more", "policy.csv line 1: too many fields" },
};

START_TEST(malformed_policy_lines_are_named)
{
	struct rbac_policy *p = NULL;

	ck_assert_int_eq(rbac_policy_new(bad_policies[_i].csv, NULL, NULL, &p), BERR_INVALID);
	ck_assert_ptr_null(p);
	ck_assert_msg(strncmp(err_msg(), bad_policies[_i].msg, strlen(bad_policies[_i].msg)) == 0,
		      "got \"%s\"", err_msg());
}
END_TEST

START_TEST(failed_addition_leaves_the_policy_unchanged)
{
	struct rbac_policy *p = NULL;

	ck_assert_int_eq(rbac_policy_new(NULL, NULL, NULL, &p), 0);
	ck_assert_int_eq(rbac_policy_add_csv(p, "p, eve, applications, *, */*, allow\np, broken"),
			 BERR_INVALID);
	ck_assert(!rbac_can(p, "eve", NULL, 0, "applications", "delete", "a/b"));
	ck_assert_int_eq(rbac_policy_add_csv(p, "g, eve, role:admin"), 0);
	ck_assert(rbac_can(p, "eve", NULL, 0, "applications", "delete", "a/b"));
	rbac_policy_free(p);
}
END_TEST

static struct model_project team_project(const char *policy)
{
	struct model_project proj = { 0 };

	proj.meta.name = strdup("team");
	proj.n_roles = 1;
	proj.roles = calloc(1, sizeof(*proj.roles));
	proj.roles[0].name = strdup("ci");
	model_strv_push(&proj.roles[0].policies, policy);
	model_strv_push(&proj.roles[0].groups, "team-ci");
	return proj;
}

START_TEST(project_roles_grant_inside_their_project)
{
	struct model_project proj = team_project("p, proj:team:ci, applications, sync, team/*, allow");
	const char *g[] = { "team-ci" };
	struct rbac_policy *p = NULL;

	ck_assert_int_eq(rbac_policy_new(NULL, NULL, NULL, &p), 0);
	ck_assert_int_eq(rbac_policy_add_project(p, &proj), 0);
	ck_assert(rbac_can(p, "proj:team:ci", NULL, 0, "applications", "sync", "team/web"));
	ck_assert(!rbac_can(p, "proj:team:ci", NULL, 0, "applications", "sync", "other/web"));
	ck_assert(!rbac_can(p, "proj:team:ci", NULL, 0, "applications", "delete", "team/web"));
	/* Members of the role's OIDC groups get it too. */
	ck_assert(rbac_can(p, "someone", g, 1, "applications", "sync", "team/web"));
	ck_assert(!rbac_can(p, "someone", NULL, 0, "applications", "sync", "team/web"));
	rbac_policy_free(p);
	model_project_release(&proj);
}
END_TEST

START_TEST(project_roles_cannot_reach_outside_their_project)
{
	static const char *const escapes[] = {
		"p, proj:team:ci, applications, sync, */*, allow",
		"p, proj:team:ci, applications, sync, teamx/*, allow",
		"p, proj:other:ci, applications, sync, team/*, allow",
		"p, role:admin, applications, sync, team/*, allow",
		"g, proj:team:ci, role:admin",
	};
	struct rbac_policy *p = NULL;
	size_t i;

	ck_assert_int_eq(rbac_policy_new(NULL, NULL, NULL, &p), 0);
	for (i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		struct model_project proj = team_project(escapes[i]);
		ck_assert_msg(rbac_policy_add_project(p, &proj) == BERR_INVALID, "%s", escapes[i]);
		ck_assert_ptr_nonnull(strstr(err_msg(), "project \"team\" role \"ci\""));
		model_project_release(&proj);
	}
	ck_assert(!rbac_can(p, "proj:team:ci", NULL, 0, "applications", "sync", "other/web"));
	ck_assert(!rbac_can(p, "x", (const char *[]){ "team-ci" }, 1, "applications", "sync",
			    "team/web"));
	rbac_policy_free(p);
}
END_TEST

START_TEST(scopes_select_group_claims)
{
	struct rbac_policy *p = NULL, *q = NULL;
	json_t *claims = json_pack("{s:[s,s], s:s, s:s, s:i}", "groups", "dev", "ops", "email",
				   "a@example.com", "sub", "u1", "other", 3);
	struct model_strv out = { 0 };

	ck_assert_int_eq(rbac_policy_new(NULL, NULL, NULL, &p), 0);
	ck_assert_uint_eq(rbac_policy_scopes(p)->n, 1);
	ck_assert_str_eq(rbac_policy_scopes(p)->v[0], "groups");
	ck_assert_int_eq(rbac_policy_new(NULL, NULL, "[groups, 'email', other]", &q), 0);
	ck_assert_int_eq(rbac_groups_from_claims(q, claims, &out), 0);
	ck_assert_uint_eq(out.n, 3);
	ck_assert_str_eq(out.v[0], "dev");
	ck_assert_str_eq(out.v[1], "ops");
	ck_assert_str_eq(out.v[2], "a@example.com");
	model_strv_release(&out);
	rbac_policy_free(p);
	rbac_policy_free(q);
	json_decref(claims);
}
END_TEST

START_TEST(costly_deny_patterns_still_deny)
{
	struct rbac_policy *p = NULL;
	char obj[128];

	memset(obj, 'a', sizeof(obj) - 1);
	obj[sizeof(obj) - 1] = '\0';
	obj[0] = 't';
	obj[1] = '/';
	ck_assert_int_eq(rbac_policy_new(
		"p, u, applications, get, t/*, allow\n"
		"p, u, applications, get, t/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b, deny\n"
		"p, v, applications, get, t/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b, allow\n",
		NULL, NULL, &p), 0);
	ck_assert(!rbac_can(p, "u", NULL, 0, "applications", "get", obj));
	ck_assert(rbac_can(p, "u", NULL, 0, "applications", "get", "t/short"));
	ck_assert(!rbac_can(p, "v", NULL, 0, "applications", "get", obj));
	rbac_policy_free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rbac");
	TCase *tc = tcase_create("rbac");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, policy_table_cases_hold);
	tcase_add_test(tc, default_role_applies_to_everyone_but_deny_still_wins);
	tcase_add_test(tc, builtin_readonly_can_only_get);
	tcase_add_loop_test(tc, malformed_policy_lines_are_named, 0,
			    (int)(sizeof(bad_policies) / sizeof(bad_policies[0])));
	tcase_add_test(tc, failed_addition_leaves_the_policy_unchanged);
	tcase_add_test(tc, project_roles_grant_inside_their_project);
	tcase_add_test(tc, project_roles_cannot_reach_outside_their_project);
	tcase_add_test(tc, scopes_select_group_claims);
	tcase_add_test(tc, costly_deny_patterns_still_deny);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
