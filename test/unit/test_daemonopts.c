/* Unit tests for lib/daemonopts: the daemons' common flags and their own
 * flag tables, and reading secret files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemonopts.h"
#include "err.h"

/* A daemon's own flags, one of every type. */
struct own {
	bool insecure, shards_given;
	const char *ns;
	int shards;
	int64_t timeout_ms;
	uint64_t max_bytes;
};

#define ARGC(a) ((int)(sizeof(a) / sizeof(*(a))))
#define N_FLAGS(t) (sizeof(t) / sizeof(*(t)))

static int parse(int argc, const char **argv, struct daemon_opts *d, struct own *o)
{
	const struct daemon_flag flags[] = {
		{.name = "--insecure", .type = DAEMON_FLAG_BOOL, .dest = &o->insecure},
		{.name = "--namespace", .type = DAEMON_FLAG_STRING, .dest = &o->ns},
		{.name = "--shards", .type = DAEMON_FLAG_INT, .dest = &o->shards, .min = 1, .max = 8,
		 .given = &o->shards_given},
		{.name = "--timeout", .type = DAEMON_FLAG_DURATION, .dest = &o->timeout_ms},
		{.name = "--max-bytes", .type = DAEMON_FLAG_SIZE, .dest = &o->max_bytes},
	};
	return daemonopts_parse(argc, (char **)argv, flags, N_FLAGS(flags), d);
}

START_TEST(common_flags_fill_daemon_opts)
{
	const char *argv[] = {"d", "--listen", "0.0.0.0:1", "--redis", "r:6379", "--redis-password-file", "/p",
			      "--server-secret-file", "/s", "--log-level", "debug", "--log-format", "json"};
	struct daemon_opts d = {0};
	struct own o = {0};
	ck_assert_int_eq(parse(ARGC(argv), argv, &d, &o), DAEMONOPTS_RUN);
	ck_assert_str_eq(d.listen, "0.0.0.0:1");
	ck_assert_str_eq(d.redis, "r:6379");
	ck_assert_str_eq(d.redis_password_file, "/p");
	ck_assert_str_eq(d.server_secret_file, "/s");
	ck_assert_int_eq(d.log_level, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(d.log_format, LOG_FORMAT_JSON);
}
END_TEST

START_TEST(defaults_stay_when_flags_are_absent)
{
	const char *argv[] = {"d"};
	struct daemon_opts d = {.listen = "127.0.0.1:8080", .log_level = LOG_LEVEL_WARN, .log_format = LOG_FORMAT_TEXT};
	struct own o = {.ns = "berth", .shards = 1};
	ck_assert_int_eq(parse(ARGC(argv), argv, &d, &o), DAEMONOPTS_RUN);
	ck_assert_str_eq(d.listen, "127.0.0.1:8080");
	ck_assert_ptr_null(d.redis);
	ck_assert_int_eq(d.log_level, LOG_LEVEL_WARN);
	ck_assert_str_eq(o.ns, "berth");
	ck_assert_int_eq(o.shards, 1);
	ck_assert(!o.shards_given);
	ck_assert(!o.insecure);
}
END_TEST

START_TEST(own_flags_of_every_type_are_read)
{
	const char *argv[] = {"d", "--insecure", "--namespace", "ns1", "--shards", "3", "--timeout", "90s",
			      "--max-bytes", "2M"};
	struct daemon_opts d = {0};
	struct own o = {0};
	ck_assert_int_eq(parse(ARGC(argv), argv, &d, &o), DAEMONOPTS_RUN);
	ck_assert(o.insecure);
	ck_assert_str_eq(o.ns, "ns1");
	ck_assert_int_eq(o.shards, 3);
	ck_assert(o.shards_given);
	ck_assert_int_eq(o.timeout_ms, 90000);
	ck_assert_uint_eq(o.max_bytes, 2u << 20);
}
END_TEST

START_TEST(boolean_flag_takes_no_value_even_last)
{
	const char *argv[] = {"d", "--namespace", "x", "--insecure"};
	struct daemon_opts d = {0};
	struct own o = {0};
	ck_assert_int_eq(parse(ARGC(argv), argv, &d, &o), DAEMONOPTS_RUN);
	ck_assert(o.insecure);
}
END_TEST

START_TEST(help_and_version_are_returned_not_printed)
{
	const char *help[] = {"d", "--listen", "x", "--help", "--bogus"};
	const char *version[] = {"d", "--version"};
	struct daemon_opts d = {0};
	struct own o = {0};
	ck_assert_int_eq(parse(ARGC(help), help, &d, &o), DAEMONOPTS_HELP);
	ck_assert_int_eq(parse(ARGC(version), version, &d, &o), DAEMONOPTS_VERSION);
}
END_TEST

START_TEST(unknown_flag_is_refused_by_name)
{
	const char *argv[] = {"d", "--bogus", "1"};
	struct daemon_opts d = {0};
	struct own o = {0};
	ck_assert_int_eq(parse(ARGC(argv), argv, &d, &o), BERR_INVALID);
	ck_assert_str_eq(err_msg(), "unknown flag: --bogus");
}
END_TEST

START_TEST(missing_value_is_refused)
{
	const char *argv[] = {"d", "--redis"};
	struct daemon_opts d = {0};
	struct own o = {0};
	ck_assert_int_eq(parse(ARGC(argv), argv, &d, &o), BERR_INVALID);
	ck_assert_str_eq(err_msg(), "unknown flag or missing value: --redis");
	ck_assert_ptr_null(d.redis);
}
END_TEST

/* Every value check: its flag and value are named in the message. */
START_TEST(bad_values_are_refused_with_flag_and_value)
{
	static const char *const cases[][2] = {
		{"--shards", "0"},       {"--shards", "9"},        {"--shards", "2x"}, {"--timeout", "soon"},
		{"--max-bytes", "-1"},   {"--log-level", "loud"}, {"--log-format", "xml"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *argv[] = {"d", cases[i][0], cases[i][1]};
		struct daemon_opts d = {0};
		struct own o = {0};
		char want[128];
		ck_assert_int_eq(parse(ARGC(argv), argv, &d, &o), BERR_INVALID);
		snprintf(want, sizeof(want), "bad value for %s: %s", cases[i][0], cases[i][1]);
		ck_assert_str_eq(err_msg(), want);
		ck_assert(!o.shards_given);
	}
}
END_TEST

START_TEST(usage_common_lines_name_every_common_switch)
{
	const char *u = DAEMONOPTS_USAGE_COMMON;
	ck_assert_ptr_nonnull(strstr(u, "\n  --log-format FORMAT "));
	ck_assert_ptr_nonnull(strstr(u, "  --log-level LEVEL "));
	ck_assert_ptr_nonnull(strstr(u, "\n  --version "));
	ck_assert_ptr_nonnull(strstr(u, "\n  --help "));
}
END_TEST

static char *write_temp(const char *content, size_t len)
{
	char *path = strdup("/tmp/test_daemonopts.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

START_TEST(secret_file_loses_trailing_whitespace_only)
{
	char *path = write_temp(" pass word \r\n\n", 14);
	char *s = NULL;
	size_t len = 0;
	ck_assert_int_eq(daemonopts_read_secret(path, &s, &len), 0);
	ck_assert_str_eq(s, " pass word");
	ck_assert_uint_eq(len, 10);
	daemonopts_secret_free(s);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(empty_secret_file_gives_empty_string)
{
	char *path = write_temp("\n", 1);
	char *s = NULL;
	ck_assert_int_eq(daemonopts_read_secret(path, &s, NULL), 0);
	ck_assert_str_eq(s, "");
	daemonopts_secret_free(s);
	daemonopts_secret_free(NULL);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(missing_or_huge_secret_file_leaves_output_untouched)
{
	char *s = (char *)"untouched";
	size_t len = 7;
	ck_assert_int_eq(daemonopts_read_secret("/nonexistent/berth-secret", &s, &len), BERR_NOTFOUND);
	ck_assert_str_eq(s, "untouched");
	ck_assert_uint_eq(len, 7);

	size_t big_len = (64 << 10) + 1;
	char *big = malloc(big_len);
	memset(big, 'k', big_len);
	char *path = write_temp(big, big_len);
	ck_assert_int_eq(daemonopts_read_secret(path, &s, &len), BERR_TOOLARGE);
	ck_assert_str_eq(s, "untouched");
	unlink(path);
	free(path);
	free(big);
}
END_TEST

START_TEST(cache_without_redis_is_none_but_secret_file_is_checked)
{
	char *short_key = write_temp("too short\n", 10);
	struct daemon_opts d = {0};
	struct rcache_opts base = {0};
	struct rcache *c = (struct rcache *)&d;
	ck_assert_int_eq(daemonopts_open_cache(&d, &base, &c), 0);
	ck_assert_ptr_null(c);
	d.server_secret_file = short_key;
	c = (struct rcache *)&d;
	ck_assert_int_eq(daemonopts_open_cache(&d, &base, &c), BERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err_msg(), "--server-secret-file: the key must have at least 16 bytes"));
	ck_assert_ptr_eq(c, (struct rcache *)&d);
	unlink(short_key);
	free(short_key);
}
END_TEST

START_TEST(cache_with_redis_uses_secret_file_then_base_key_then_random)
{
	char *key = write_temp("0123456789abcdef0123456789abcdef\n", 33);
	struct daemon_opts d = {.redis = "127.0.0.1:1", .server_secret_file = key};
	struct rcache_opts base = {.hmac_key = (const uint8_t *)"short", .hmac_key_len = 5};
	struct rcache *c = NULL;
	/* the file's key wins over base's (too short) one */
	ck_assert_int_eq(daemonopts_open_cache(&d, &base, &c), 0);
	ck_assert_ptr_nonnull(c);
	rcache_free(c);
	/* without the file, base's key is used: refused for its length */
	d.server_secret_file = NULL;
	c = NULL;
	ck_assert_int_eq(daemonopts_open_cache(&d, &base, &c), BERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err_msg(), "--redis: "));
	ck_assert_ptr_null(c);
	/* without either, a random key */
	base.hmac_key = NULL;
	base.hmac_key_len = 0;
	ck_assert_int_eq(daemonopts_open_cache(&d, &base, &c), 0);
	ck_assert_ptr_nonnull(c);
	rcache_free(c);
	unlink(key);
	free(key);
}
END_TEST

START_TEST(cache_errors_name_the_flag)
{
	struct daemon_opts d = {.redis = "127.0.0.1:1", .redis_password_file = "/nonexistent/berth-password"};
	struct rcache_opts base = {0};
	struct rcache *c = NULL;
	ck_assert_int_eq(daemonopts_open_cache(&d, &base, &c), BERR_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(err_msg(), "--redis-password-file: "));
	d.redis_password_file = NULL;
	d.redis = "no port";
	ck_assert_int_lt(daemonopts_open_cache(&d, &base, &c), 0);
	ck_assert_ptr_nonnull(strstr(err_msg(), "--redis: "));
	ck_assert_ptr_null(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemonopts");
	TCase *tc = tcase_create("daemonopts");
	int failed;
	SRunner *sr;

	tcase_add_test(tc, common_flags_fill_daemon_opts);
	tcase_add_test(tc, defaults_stay_when_flags_are_absent);
	tcase_add_test(tc, own_flags_of_every_type_are_read);
	tcase_add_test(tc, boolean_flag_takes_no_value_even_last);
	tcase_add_test(tc, help_and_version_are_returned_not_printed);
	tcase_add_test(tc, unknown_flag_is_refused_by_name);
	tcase_add_test(tc, missing_value_is_refused);
	tcase_add_test(tc, bad_values_are_refused_with_flag_and_value);
	tcase_add_test(tc, usage_common_lines_name_every_common_switch);
	tcase_add_test(tc, secret_file_loses_trailing_whitespace_only);
	tcase_add_test(tc, empty_secret_file_gives_empty_string);
	tcase_add_test(tc, missing_or_huge_secret_file_leaves_output_untouched);
	tcase_add_test(tc, cache_without_redis_is_none_but_secret_file_is_checked);
	tcase_add_test(tc, cache_with_redis_uses_secret_file_then_base_key_then_random);
	tcase_add_test(tc, cache_errors_name_the_flag);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
