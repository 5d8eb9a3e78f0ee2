/* Unit tests for subproc: argv without a shell, environment, caps, timeout. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "str.h"
#include "subproc.h"

static const char *const base_env[] = {"PATH=/usr/bin:/bin", "LANG=C", NULL};

static int run(const char *const *argv, const char *const *env, int64_t timeout_ms, size_t cap,
	       struct subproc_result *r)
{
	struct subproc_opts o = {.argv = argv, .env = env ? env : base_env, .timeout_ms = timeout_ms,
				 .max_output = cap};
	return subproc_run(&o, r);
}

START_TEST(subproc_captures_stdout_stderr_and_exit_code)
{
	const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	struct subproc_result r;
	ck_assert_int_eq(run(argv, NULL, 5000, 0, &r), 0);
	ck_assert_int_eq(r.exit_code, 3);
	ck_assert_str_eq(r.out.ptr, "out\n");
	ck_assert_str_eq(r.err.ptr, "err\n");
	subproc_result_release(&r);
}
END_TEST

START_TEST(subproc_passes_argv_without_a_shell)
{
	const char *argv[] = {"printf", "%s|", "a b", "$(id)", ";ls", NULL};
	struct subproc_result r;
	ck_assert_int_eq(run(argv, NULL, 5000, 0, &r), 0);
	ck_assert_str_eq(r.out.ptr, "a b|$(id)|;ls|");
	subproc_result_release(&r);
}
END_TEST

START_TEST(subproc_child_sees_only_the_given_environment)
{
	const char *argv[] = {"env", NULL};
	struct subproc_result r;
	setenv("BERTH_SECRET_TEST", "leak", 1);
	ck_assert_int_eq(run(argv, NULL, 5000, 0, &r), 0);
	ck_assert_str_eq(r.out.ptr, "PATH=/usr/bin:/bin\nLANG=C\n");
	subproc_result_release(&r);
}
END_TEST

START_TEST(subproc_kills_process_group_on_timeout)
{
	const char *argv[] = {"sh", "-c", "sleep 30 & sleep 30; echo never", NULL};
	struct subproc_result r;
	int64_t t0 = clock_mono_ms();
	ck_assert_int_eq(run(argv, NULL, 300, 0, &r), BERR_TIMEOUT);
	ck_assert_int_lt(clock_mono_ms() - t0, 5000);
	ck_assert_int_eq(r.term_signal, SIGKILL);
	ck_assert_ptr_nonnull(strstr(err_msg(), "timed out"));
	subproc_result_release(&r);
}
END_TEST

START_TEST(subproc_caps_output)
{
	const char *argv[] = {"yes", NULL};
	struct subproc_result r;
	ck_assert_int_eq(run(argv, NULL, 10000, 4096, &r), BERR_TOOLARGE);
	ck_assert_uint_le(r.out.len, 4096);
	subproc_result_release(&r);
}
END_TEST

START_TEST(subproc_missing_program_is_not_found)
{
	const char *argv[] = {"berth-no-such-tool", NULL};
	struct subproc_result r;
	ck_assert_int_eq(run(argv, NULL, 1000, 0, &r), BERR_NOTFOUND);
	subproc_result_release(&r);
}
END_TEST

START_TEST(subproc_daemonised_grandchild_does_not_stall)
{
	const char *argv[] = {"sh", "-c", "(sleep 30 &) ; echo done", NULL};
	struct subproc_result r;
	int64_t t0 = clock_mono_ms();
	ck_assert_int_eq(run(argv, NULL, 20000, 0, &r), 0);
	ck_assert_int_lt(clock_mono_ms() - t0, 3000);
	ck_assert_str_eq(r.out.ptr, "done\n");
	subproc_result_release(&r);
}
END_TEST

START_TEST(subproc_runs_in_given_directory)
{
	const char *argv[] = {"pwd", NULL};
	struct subproc_opts o = {.argv = argv, .env = base_env, .cwd = "/tmp"};
	struct subproc_result r;
	ck_assert_int_eq(subproc_run(&o, &r), 0);
	ck_assert_str_eq(r.out.ptr, "/tmp\n");
	subproc_result_release(&r);
}
END_TEST

START_TEST(subproc_limits_file_size)
{
	char dir[] = "/tmp/berth-test-subproc.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	const char *argv[] = {"sh", "-c", "head -c 5000000 /dev/zero > big; echo $?", NULL};
	struct subproc_opts o = {.argv = argv, .env = base_env, .cwd = dir, .max_file_size = 1 << 20};
	struct subproc_result r;
	ck_assert_int_eq(subproc_run(&o, &r), 0);
	ck_assert_str_ne(r.out.ptr, "0\n"); /* head was stopped (SIGXFSZ / EFBIG) */
	subproc_result_release(&r);
	char *cmd = str_printf("rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("subproc");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, subproc_captures_stdout_stderr_and_exit_code);
	tcase_add_test(tc, subproc_passes_argv_without_a_shell);
	tcase_add_test(tc, subproc_child_sees_only_the_given_environment);
	tcase_add_test(tc, subproc_kills_process_group_on_timeout);
	tcase_add_test(tc, subproc_caps_output);
	tcase_add_test(tc, subproc_missing_program_is_not_found);
	tcase_add_test(tc, subproc_daemonised_grandchild_does_not_stall);
	tcase_add_test(tc, subproc_runs_in_given_directory);
	tcase_add_test(tc, subproc_limits_file_size);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
