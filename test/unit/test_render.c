/* Unit tests for render. Most are data-driven: each folder under
 * test/data/render/ holds app/ (the app's files), optionally source.json
 * (the Application source) and path.txt (the app path, default "app"), and
 * either expect.txt ("Kind name" per object, in order) or error.txt (a
 * substring the error message must contain). Each case is copied into a
 * private folder first, as the repo server does with a checkout. */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "fsx.h"
#include "jsonx.h"
#include "render.h"
#include "str.h"

#define DATA "test/data/render"

static char *slurp(const char *path)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	if (fsx_read_file(path, &b) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* Copies a fixture folder into a new private folder; returns its resolved path. */
static char *private_copy(const char *src)
{
	char *dir = NULL, *cmd, resolved[PATH_MAX];
	ck_assert_int_eq(fsx_private_dir("/tmp", "berth-test-render-", &dir), 0);
	cmd = str_printf("cp -R '%s'/. '%s'/", src, dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	ck_assert_ptr_nonnull(realpath(dir, resolved));
	free(dir);
	return strdup(resolved);
}

static int render_case_dir(const char *case_dir, const char *app_path, const json_t *source, enum render_type *t,
			   json_t **out)
{
	char *root = private_copy(case_dir);
	struct render_opts o = {.root = root, .path = app_path, .app_name = "demo", .namespace = "ns1", .source = source,
				.exec_timeout_ms = 60000};
	int rc = render_run(&o, t, out, NULL);
	fsx_remove_tree(root);
	free(root);
	return rc;
}

static char *summary(const json_t *objs)
{
	struct buf b;
	size_t i;
	json_t *o;
	buf_init(&b, 1 << 20);
	json_array_foreach(objs, i, o)
		buf_printf(&b, "%s %s\n", jx_str(o, "kind"), jx_path_str(o, "metadata", "name", NULL));
	char *s = buf_detach(&b, NULL);
	trim(s);
	return s;
}

static void run_case(const char *name)
{
	char *dir = str_printf(DATA "/%s", name);
	char *p_src = str_printf("%s/source.json", dir), *p_exp = str_printf("%s/expect.txt", dir);
	char *p_err = str_printf("%s/error.txt", dir), *p_path = str_printf("%s/path.txt", dir);
	char *src_text = slurp(p_src), *expect = slurp(p_exp), *error = slurp(p_err), *path = slurp(p_path);
	json_t *source = NULL, *out = NULL;
	enum render_type t;

	if (src_text)
		ck_assert_int_eq(jx_parse(src_text, strlen(src_text), 1 << 20, 64, &source), 0);
	if (path)
		trim(path);
	char *appdir = str_printf("%s", dir);
	int rc = render_case_dir(appdir, path ? path : "app", source, &t, &out);
	if (expect) {
		ck_assert_msg(rc == 0, "%s: render failed: %s", name, err_msg());
		char *got = summary(out);
		trim(expect);
		ck_assert_msg(!strcmp(got, expect), "%s: got\n%s\nwant\n%s", name, got, expect);
		free(got);
	} else {
		ck_assert_ptr_nonnull(error);
		trim(error);
		ck_assert_msg(rc < 0, "%s: render should fail", name);
		ck_assert_msg(strstr(err_msg(), error) != NULL, "%s: error \"%s\" lacks \"%s\"", name, err_msg(), error);
		ck_assert_msg(!strstr(err_msg(), "root:x:0"), "%s: error leaks a file", name);
	}
	json_decref(out);
	json_decref(source);
	free(appdir);
	free(dir);
	free(p_src);
	free(p_exp);
	free(p_err);
	free(p_path);
	free(src_text);
	free(expect);
	free(error);
	free(path);
}

START_TEST(render_data_driven_cases)
{
	struct dirent **names;
	int n = scandir(DATA, &names, NULL, alphasort);
	ck_assert_int_gt(n, 2);
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.')
			run_case(names[i]->d_name);
		free(names[i]);
	}
	free(names);
}
END_TEST

START_TEST(render_detects_types_like_argocd)
{
	static const struct { const char *dir; enum render_type want; } table[] = {
		{"guestbook", RENDER_DIRECTORY},     {"helm-guestbook", RENDER_HELM},
		{"kustomize-guestbook", RENDER_KUSTOMIZE}, {"jsonnet-guestbook", RENDER_JSONNET},
		{"apps", RENDER_HELM},               {"sock-shop", RENDER_KUSTOMIZE},
	};
	const char *fx = getenv("FIXTURES") ? getenv("FIXTURES") : "../shared/fixtures";
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		char *d = str_printf("%s/argocd-example-apps/%s", fx, table[i].dir);
		enum render_type t;
		ck_assert_int_eq(render_detect(d, NULL, &t), 0);
		ck_assert_msg(t == table[i].want, "%s: %s", table[i].dir, render_type_name(t));
		free(d);
	}
	json_t *src = json_pack("{s:{s:b}}", "directory", "recurse", 1);
	enum render_type t;
	char *d = str_printf("%s/argocd-example-apps/helm-guestbook", fx);
	ck_assert_int_eq(render_detect(d, src, &t), 0);
	ck_assert_int_eq(t, RENDER_DIRECTORY); /* the source overrides detection */
	free(d);
	json_decref(src);
}
END_TEST

START_TEST(render_expands_brace_globs)
{
	json_t *out = json_array();
	render_glob_expand("{a,b/{c,d}}.yaml", out);
	ck_assert_uint_eq(json_array_size(out), 3);
	ck_assert_str_eq(json_string_value(json_array_get(out, 0)), "a.yaml");
	ck_assert_str_eq(json_string_value(json_array_get(out, 1)), "b/c.yaml");
	ck_assert_str_eq(json_string_value(json_array_get(out, 2)), "b/d.yaml");
	json_decref(out);
}
END_TEST

START_TEST(render_kustomize_edit_is_structured)
{
	json_t *k = json_pack("{s:[s], s:[{s:s,s:s}], s:{s:s}}", "resources", "a.yaml", "images", "name", "nginx",
			      "newTag", "1.0", "commonLabels", "app", "x");
	json_t *src = json_pack("{s:s, s:s, s:s, s:[s,s], s:{s:s}, s:{s:s}, s:[{s:s,s:i}]}", "namePrefix", "p-",
				"nameSuffix", "-s", "namespace", "team", "images", "nginx=registry/nginx:1.2",
				"redis:7@sha256:abc", "commonLabels", "env", "prod", "commonAnnotations", "note",
				"a: b\nc", "replicas", "name", "web", "count", 3);
	ck_assert_int_eq(render_kustomize_edit(k, src), 0);
	ck_assert_str_eq(jx_str(k, "namePrefix"), "p-");
	ck_assert_str_eq(jx_str(k, "nameSuffix"), "-s");
	ck_assert_str_eq(jx_str(k, "namespace"), "team");
	json_t *imgs = json_object_get(k, "images");
	ck_assert_uint_eq(json_array_size(imgs), 2);
	ck_assert_str_eq(jx_str(json_array_get(imgs, 0), "newName"), "registry/nginx");
	ck_assert_str_eq(jx_str(json_array_get(imgs, 0), "newTag"), "1.2");
	ck_assert_str_eq(jx_str(json_array_get(imgs, 1), "name"), "redis");
	ck_assert_str_eq(jx_str(json_array_get(imgs, 1), "newTag"), "7");
	ck_assert_str_eq(jx_str(json_array_get(imgs, 1), "digest"), "sha256:abc");
	ck_assert_str_eq(jx_path_str(k, "commonLabels", "app", NULL), "x");
	ck_assert_str_eq(jx_path_str(k, "commonLabels", "env", NULL), "prod");
	ck_assert_str_eq(jx_path_str(k, "commonAnnotations", "note", NULL), "a: b\nc");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(k, "replicas"), 0), "count")),
			 3);
	json_decref(k);
	json_decref(src);
}
END_TEST

static json_t *render_fixture(const char *app, const json_t *source, enum render_type *t)
{
	const char *fx = getenv("FIXTURES") ? getenv("FIXTURES") : "../shared/fixtures";
	char *src = str_printf("%s/argocd-example-apps", fx);
	json_t *out = NULL;
	int rc = render_case_dir(src, app, source, t, &out);
	ck_assert_msg(rc == 0, "%s: %s", app, err_msg());
	free(src);
	return out;
}

START_TEST(render_helm_fixture_with_value_file)
{
	enum render_type t;
	json_t *src = json_pack("{s:{s:[s]}}", "helm", "valueFiles", "values-production.yaml");
	json_t *out = render_fixture("helm-guestbook", src, &t);
	ck_assert_int_eq(t, RENDER_HELM);
	ck_assert_uint_eq(json_array_size(out), 2);
	char *s = summary(out);
	ck_assert_ptr_nonnull(strstr(s, "demo-helm-guestbook"));
	free(s);
	json_decref(out);
	json_decref(src);
}
END_TEST

START_TEST(render_kustomize_fixture_with_name_prefix)
{
	enum render_type t;
	json_t *src = json_pack("{s:{s:s}}", "kustomize", "namePrefix", "zz-");
	json_t *out = render_fixture("kustomize-guestbook", src, &t);
	ck_assert_int_eq(t, RENDER_KUSTOMIZE);
	ck_assert_uint_eq(json_array_size(out), 2);
	char *s = summary(out);
	ck_assert_ptr_nonnull(strstr(s, "zz-"));
	free(s);
	json_decref(out);
	json_decref(src);
}
END_TEST

START_TEST(render_caps_object_count)
{
	const char *fx = getenv("FIXTURES") ? getenv("FIXTURES") : "../shared/fixtures";
	char *src = str_printf("%s/argocd-example-apps", fx), *root = private_copy(src);
	struct render_opts o = {.root = root, .path = "sync-waves", .max_objects = 3};
	enum render_type t;
	json_t *out = NULL;
	ck_assert_int_eq(render_run(&o, &t, &out, NULL), BERR_TOOLARGE);
	ck_assert_ptr_null(out);
	fsx_remove_tree(root);
	free(root);
	free(src);
}
END_TEST

START_TEST(render_removes_its_scratch_folder)
{
	char *scratch = NULL;
	ck_assert_int_eq(fsx_private_dir("/tmp", "berth-test-scratch-", &scratch), 0);
	char *root = private_copy(DATA "/dir-multidoc");
	struct render_opts o = {.root = root, .path = "app", .scratch_dir = scratch};
	enum render_type t;
	json_t *out = NULL;
	ck_assert_int_eq(render_run(&o, &t, &out, NULL), 0);
	DIR *d = opendir(scratch);
	int entries = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		entries += de->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(entries, 0);
	json_decref(out);
	fsx_remove_tree(root);
	fsx_remove_tree(scratch);
	free(root);
	free(scratch);
}
END_TEST

START_TEST(render_stops_endless_jsonnet)
{
	char *root = NULL, resolved[PATH_MAX];
	ck_assert_int_eq(fsx_private_dir("/tmp", "berth-test-render-", &root), 0);
	ck_assert_ptr_nonnull(realpath(root, resolved));
	char *file = str_printf("%s/loop.jsonnet", resolved);
	FILE *f = fopen(file, "w");
	fputs("local loop(n) = loop(n + 1) tailstrict;\n[loop(0)]\n", f);
	fclose(f);
	struct render_opts o = {.root = resolved, .path = ".", .exec_timeout_ms = 1500};
	enum render_type t;
	json_t *out = NULL;
	int64_t t0 = clock_mono_ms();
	ck_assert_int_eq(render_run(&o, &t, &out, NULL), BERR_TIMEOUT);
	ck_assert_int_lt(clock_mono_ms() - t0, 10000);
	ck_assert_ptr_nonnull(strstr(err_msg(), "loop.jsonnet"));
	fsx_remove_tree(resolved);
	free(root);
	free(file);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, render_data_driven_cases);
	tcase_add_test(tc, render_detects_types_like_argocd);
	tcase_add_test(tc, render_expands_brace_globs);
	tcase_add_test(tc, render_kustomize_edit_is_structured);
	tcase_add_test(tc, render_helm_fixture_with_value_file);
	tcase_add_test(tc, render_kustomize_fixture_with_name_prefix);
	tcase_add_test(tc, render_caps_object_count);
	tcase_add_test(tc, render_removes_its_scratch_folder);
	tcase_add_test(tc, render_stops_endless_jsonnet);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
