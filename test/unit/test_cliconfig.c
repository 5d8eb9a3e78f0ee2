/* Unit tests for cliconfig: the berth CLI's contexts file. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cliconfig.h"
#include "err.h"
#include "fsx.h"
#include "jsonx.h"
#include "str.h"

static char *top;

static void setup(void)
{
	ck_assert_int_eq(fsx_private_dir("/tmp", "berth-test-cliconfig-", &top), 0);
}

static void teardown(void)
{
	fsx_remove_tree(top);
	free(top);
	top = NULL;
}

static char *at(const char *rel)
{
	return str_printf("%s/%s", top, rel);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

START_TEST(load_of_missing_file_is_empty_config)
{
	char *p = at("nope/config");
	json_t *cfg = NULL;
	ck_assert_int_eq(cliconfig_load(p, &cfg), 0);
	ck_assert(json_is_object(cfg));
	ck_assert_int_eq(json_object_size(cfg), 0);
	json_decref(cfg);
	free(p);
}
END_TEST

START_TEST(save_then_load_round_trips_contexts)
{
	char *p = at("a/b/config");
	json_t *cfg = json_object(), *back = NULL, *ctx;
	ck_assert_int_eq(cliconfig_set_context(cfg, "prod", "https://cd.example", "admin", "tok-1", false), 0);
	ck_assert_int_eq(cliconfig_set_context(cfg, "dev", "http://127.0.0.1:8080", NULL, "tok-2", true), 0);
	ck_assert_int_eq(cliconfig_save(p, cfg), 0);
	ck_assert_int_eq(cliconfig_load(p, &back), 0);
	ck_assert(jx_equal(cfg, back));
	ck_assert_str_eq(jx_str(back, "current"), "dev");
	ctx = cliconfig_context(back, NULL, false);
	ck_assert_str_eq(jx_str(ctx, "token"), "tok-2");
	ck_assert(json_is_true(json_object_get(ctx, "insecure")));
	json_decref(cfg);
	json_decref(back);
	free(p);
}
END_TEST

START_TEST(saved_file_is_private_whatever_the_umask)
{
	char *p = at("cfgdir/config"), *d = at("cfgdir");
	json_t *cfg = json_object();
	struct stat st;
	mode_t old = umask(0);
	cliconfig_set_context(cfg, "x", "https://x", "u", "secret-token", false);
	ck_assert_int_eq(cliconfig_save(p, cfg), 0);
	umask(old);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(d, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	json_decref(cfg);
	free(p);
	free(d);
}
END_TEST

START_TEST(save_replaces_a_readable_file_with_a_private_one)
{
	char *p = at("config");
	json_t *cfg = json_object();
	struct stat st;
	write_text(p, "{}", 0644);
	cliconfig_set_context(cfg, "x", "https://x", "u", "t", false);
	ck_assert_int_eq(cliconfig_save(p, cfg), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	json_decref(cfg);
	free(p);
}
END_TEST

START_TEST(save_leaves_no_temporary_file)
{
	char *p = at("config"), *cmd = str_printf("test \"$(ls -A %s)\" = config", top);
	json_t *cfg = json_object();
	ck_assert_int_eq(cliconfig_save(p, cfg), 0);
	ck_assert_int_eq(cliconfig_save(p, cfg), 0);
	ck_assert_int_eq(system(cmd), 0);
	json_decref(cfg);
	free(cmd);
	free(p);
}
END_TEST

START_TEST(load_rejects_non_json_naming_the_file)
{
	char *p = at("config");
	json_t *cfg = NULL;
	write_text(p, "server: x\n", 0600);
	ck_assert_int_eq(cliconfig_load(p, &cfg), BERR_INVALID);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(strstr(err_msg(), p));
	free(p);
}
END_TEST

START_TEST(load_rejects_a_json_array)
{
	char *p = at("config");
	json_t *cfg = NULL;
	write_text(p, "[1]", 0600);
	ck_assert_int_eq(cliconfig_load(p, &cfg), BERR_INVALID);
	ck_assert_ptr_null(cfg);
	free(p);
}
END_TEST

START_TEST(load_of_empty_file_is_empty_config)
{
	char *p = at("config");
	json_t *cfg = NULL;
	write_text(p, "", 0600);
	ck_assert_int_eq(cliconfig_load(p, &cfg), 0);
	ck_assert_int_eq(json_object_size(cfg), 0);
	json_decref(cfg);
	free(p);
}
END_TEST

START_TEST(server_url_adds_scheme_and_drops_trailing_slash)
{
	const struct {
		const char *in;
		bool plaintext;
		const char *want;
	} cases[] = {
		{"127.0.0.1:8080", true, "http://127.0.0.1:8080"},
		{"127.0.0.1:8080", false, "https://127.0.0.1:8080"},
		{"cd.example/", false, "https://cd.example"},
		{"http://cd.example//", false, "http://cd.example"},
		{"https://cd.example/berth", true, "https://cd.example/berth"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *u = cliconfig_server_url(cases[i].in, cases[i].plaintext);
		ck_assert_str_eq(u, cases[i].want);
		free(u);
	}
}
END_TEST

START_TEST(context_is_found_by_name_or_by_url)
{
	json_t *cfg = json_object();
	cliconfig_set_context(cfg, "prod", "https://cd.example", "admin", "p", false);
	cliconfig_set_context(cfg, "127.0.0.1:8080", "http://127.0.0.1:8080", "admin", "l", false);
	ck_assert_str_eq(jx_str(cliconfig_context(cfg, "prod", false), "token"), "p");
	ck_assert_str_eq(jx_str(cliconfig_context(cfg, "cd.example", false), "token"), "p");
	ck_assert_str_eq(jx_str(cliconfig_context(cfg, "https://cd.example/", false), "token"), "p");
	ck_assert_str_eq(jx_str(cliconfig_context(cfg, "http://127.0.0.1:8080", false), "token"), "l");
	ck_assert_ptr_null(cliconfig_context(cfg, "cd.example", true));
	ck_assert_ptr_null(cliconfig_context(cfg, "other:1", false));
	json_decref(cfg);
}
END_TEST

START_TEST(no_current_context_gives_null)
{
	json_t *cfg = json_object();
	ck_assert_ptr_null(cliconfig_context(cfg, NULL, false));
	json_decref(cfg);
}
END_TEST

START_TEST(path_prefers_explicit_then_env_then_xdg_then_home)
{
	char out[PATH_MAX];
	setenv("HOME", "/h", 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("BERTH_CONFIG");
	cliconfig_path(NULL, out, sizeof(out));
	ck_assert_str_eq(out, "/h/.config/berth/config");
	setenv("XDG_CONFIG_HOME", "/x", 1);
	cliconfig_path(NULL, out, sizeof(out));
	ck_assert_str_eq(out, "/x/berth/config");
	setenv("BERTH_CONFIG", "/e/cfg", 1);
	cliconfig_path(NULL, out, sizeof(out));
	ck_assert_str_eq(out, "/e/cfg");
	cliconfig_path("/flag/cfg", out, sizeof(out));
	ck_assert_str_eq(out, "/flag/cfg");
	unsetenv("BERTH_CONFIG");
	unsetenv("XDG_CONFIG_HOME");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cliconfig");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, load_of_missing_file_is_empty_config);
	tcase_add_test(tc, save_then_load_round_trips_contexts);
	tcase_add_test(tc, saved_file_is_private_whatever_the_umask);
	tcase_add_test(tc, save_replaces_a_readable_file_with_a_private_one);
	tcase_add_test(tc, save_leaves_no_temporary_file);
	tcase_add_test(tc, load_rejects_non_json_naming_the_file);
	tcase_add_test(tc, load_rejects_a_json_array);
	tcase_add_test(tc, load_of_empty_file_is_empty_config);
	tcase_add_test(tc, server_url_adds_scheme_and_drops_trailing_slash);
	tcase_add_test(tc, context_is_found_by_name_or_by_url);
	tcase_add_test(tc, no_current_context_gives_null);
	tcase_add_test(tc, path_prefers_explicit_then_env_then_xdg_then_home);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
