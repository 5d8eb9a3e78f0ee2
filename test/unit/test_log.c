/* Unit tests for log: text and JSON lines, escaping, level filtering, line
 * bound, rate limiting. Lines are captured by pointing stderr at a
 * temporary file for the duration of a call. */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "log.h"

static int saved_stderr = -1, capture_fd = -1;

static void capture_start(void)
{
	char path[] = "/tmp/berth-test-log-XXXXXX";
	capture_fd = mkostemp(path, O_CLOEXEC);
	ck_assert_int_ge(capture_fd, 0);
	unlink(path);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_ge(dup2(capture_fd, STDERR_FILENO), 0);
}

/* Restores stderr and returns what was written (free() it). */
static char *capture_end(void)
{
	struct buf b;
	char chunk[4096];
	ssize_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	lseek(capture_fd, 0, SEEK_SET);
	buf_init(&b, 1 << 20);
	while ((n = read(capture_fd, chunk, sizeof(chunk))) > 0)
		ck_assert_int_eq(buf_append(&b, chunk, (size_t)n), 0);
	close(capture_fd);
	return buf_detach(&b, NULL);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void assert_matches(const char *s, const char *pattern)
{
	regex_t re;
	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, s, 0, NULL, 0) == 0, "\"%s\" does not match /%s/", s, pattern);
	regfree(&re);
}

/* Parses a single JSON line. */
static json_t *json_line(const char *out)
{
	json_error_t e;
	json_t *v;
	ck_assert_uint_eq(count_lines(out), 1);
	v = json_loads(out, 0, &e);
	ck_assert_msg(v != NULL, "not JSON: %s (%s)", out, e.text);
	return v;
}

START_TEST(text_line_has_time_level_message_and_fields)
{
	char *out;
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	capture_start();
	log_info("synced", "app", "guestbook", "revision", "abc123", NULL);
	out = capture_end();
	assert_matches(out, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z info synced app=guestbook "
			    "revision=abc123\n$");
	free(out);
}
END_TEST

START_TEST(text_quotes_values_that_are_not_plain_words)
{
	char *out;
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	capture_start();
	log_warn("m", "sp", "a b", "q", "say \"hi\"", "eq", "a=b", "empty", "", "nul", NULL, "bs", "c:\\x", NULL);
	out = capture_end();
	ck_assert_msg(strstr(out, " sp=\"a b\" q=\"say \\\"hi\\\"\" eq=\"a=b\" empty=\"\" nul=\"\" bs=\"c:\\\\x\"\n"),
		      "%s", out);
	free(out);
}
END_TEST

START_TEST(text_escapes_control_characters_so_lines_cannot_be_forged)
{
	char *out;
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	capture_start();
	log_error("bad\nZ error forged", "k\rey", "v\nx\x1b[31m", NULL);
	out = capture_end();
	ck_assert_uint_eq(count_lines(out), 1);
	ck_assert_msg(strstr(out, " error bad\\nZ error forged k\\rey=\"v\\nx\\u001b[31m\"\n"), "%s", out);
	ck_assert_ptr_null(strchr(out, '\r'));
	ck_assert_ptr_null(strchr(out, '\x1b'));
	free(out);
}
END_TEST

START_TEST(json_line_parses_and_holds_every_field)
{
	char *out;
	json_t *v;
	log_setup(LOG_LEVEL_DEBUG, LOG_FORMAT_JSON);
	capture_start();
	log_debug("synced", "app", "guestbook", "empty", NULL, NULL);
	out = capture_end();
	v = json_line(out);
	ck_assert_str_eq(json_string_value(json_object_get(v, "level")), "debug");
	ck_assert_str_eq(json_string_value(json_object_get(v, "msg")), "synced");
	ck_assert_str_eq(json_string_value(json_object_get(v, "app")), "guestbook");
	ck_assert_str_eq(json_string_value(json_object_get(v, "empty")), "");
	assert_matches(json_string_value(json_object_get(v, "time")), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$");
	ck_assert_ptr_null(json_object_get(v, "dropped"));
	json_decref(v);
	free(out);
}
END_TEST

START_TEST(json_escapes_quotes_backslashes_and_control_characters)
{
	const char *tricky = "q\"b\\s\nnl\ttab\x01 caf\xc3\xa9";
	char *out;
	json_t *v;
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
	capture_start();
	log_info(tricky, "k\"ey", tricky, NULL);
	out = capture_end();
	v = json_line(out);
	ck_assert_str_eq(json_string_value(json_object_get(v, "msg")), tricky);
	ck_assert_str_eq(json_string_value(json_object_get(v, "k\"ey")), tricky);
	json_decref(v);
	free(out);
}
END_TEST

START_TEST(json_replaces_bytes_that_are_not_utf8)
{
	char *out;
	json_t *v;
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
	capture_start();
	log_info("bad \xff\xc3(", "v", "\xe2\x82", NULL);
	out = capture_end();
	v = json_line(out);
	ck_assert_str_eq(json_string_value(json_object_get(v, "msg")), "bad \xef\xbf\xbd\xef\xbf\xbd(");
	ck_assert_str_eq(json_string_value(json_object_get(v, "v")), "\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(v);
	free(out);
}
END_TEST

START_TEST(lines_below_the_minimum_level_are_dropped)
{
	char *out;
	log_setup(LOG_LEVEL_WARN, LOG_FORMAT_TEXT);
	ck_assert(!log_enabled(LOG_LEVEL_INFO));
	ck_assert(log_enabled(LOG_LEVEL_WARN));
	capture_start();
	log_debug("d", NULL);
	log_info("i", NULL);
	log_warn("w", NULL);
	log_error("e", NULL);
	out = capture_end();
	ck_assert_uint_eq(count_lines(out), 2);
	ck_assert_ptr_nonnull(strstr(out, " warn w\n"));
	ck_assert_ptr_nonnull(strstr(out, " error e\n"));
	ck_assert_ptr_null(strstr(out, " info i"));
	free(out);
}
END_TEST

START_TEST(level_and_format_names_parse)
{
	enum log_level lv;
	enum log_format f;
	ck_assert_int_eq(log_parse_level("debug", &lv), 0);
	ck_assert_int_eq(lv, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_parse_level("error", &lv), 0);
	ck_assert_int_eq(lv, LOG_LEVEL_ERROR);
	ck_assert_int_eq(log_parse_level("loud", &lv), BERR_INVALID);
	ck_assert_int_eq(lv, LOG_LEVEL_ERROR);
	ck_assert_int_eq(log_parse_format("json", &f), 0);
	ck_assert_int_eq(f, LOG_FORMAT_JSON);
	ck_assert_int_eq(log_parse_format("xml", &f), BERR_INVALID);
}
END_TEST

START_TEST(long_text_line_is_cut_and_marked)
{
	char *big = malloc(20000), *out;
	memset(big, 'x', 19999);
	big[19999] = '\0';
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	capture_start();
	log_info("long", "v", big, NULL);
	out = capture_end();
	ck_assert_uint_eq(count_lines(out), 1);
	ck_assert_uint_le(strlen(out), 8192);
	ck_assert_ptr_nonnull(strstr(out, "xxx...\n"));
	free(out);
	free(big);
}
END_TEST

START_TEST(long_json_line_stays_valid_json)
{
	char *big = malloc(20000), *out;
	json_t *v;
	memset(big, 'x', 19999);
	big[19999] = '\0';
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
	capture_start();
	log_info(big, "v", big, NULL);
	out = capture_end();
	ck_assert_uint_le(strlen(out), 8192);
	v = json_line(out);
	ck_assert(json_is_true(json_object_get(v, "truncated")));
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(v, "msg"))), 1024);
	json_decref(v);
	free(out);
	free(big);
}
END_TEST

START_TEST(rate_limited_site_prints_its_burst_then_drops)
{
	char *out, n[8];
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	capture_start();
	for (int i = 0; i < 8; i++) {
		snprintf(n, sizeof(n), "%d", i);
		log_limited(LOG_LEVEL_WARN, "flapping", "i", n, NULL);
	}
	out = capture_end();
	ck_assert_uint_eq(count_lines(out), 5);
	ck_assert_ptr_nonnull(strstr(out, "i=4\n"));
	ck_assert_ptr_null(strstr(out, "i=5"));
	free(out);
}
END_TEST

START_TEST(rate_limit_reports_the_dropped_count_when_it_next_allows)
{
	struct log_limit lim = { 0 };
	unsigned dropped = 99, refused = 0;
	int64_t deadline;

	ck_assert(log_limit_allow(&lim, 2, 50, &dropped));
	ck_assert_uint_eq(dropped, 0);
	ck_assert(log_limit_allow(&lim, 2, 50, &dropped));
	for (int i = 0; i < 3; i++)
		ck_assert(!log_limit_allow(&lim, 2, 50, &dropped));
	/* The window reopens after 50 ms; every refused poll counts as dropped. */
	deadline = clock_mono_ms() + 5000;
	while (!log_limit_allow(&lim, 2, 50, &dropped)) {
		refused++;
		ck_assert_msg(clock_mono_ms() < deadline, "rate limit window never reopened");
		clock_sleep_ms(5);
	}
	ck_assert_uint_eq(dropped, 3 + refused);
	ck_assert(log_limit_allow(&lim, 2, 50, &dropped));
	ck_assert_uint_eq(dropped, 0);
}
END_TEST

START_TEST(dropped_count_is_printed_in_text_and_json)
{
	char *out;
	json_t *v;
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	capture_start();
	log_write_dropped(LOG_LEVEL_WARN, 7, "peer down", "peer", "redis", NULL);
	out = capture_end();
	ck_assert_msg(strstr(out, " warn peer down peer=redis dropped=7\n"), "%s", out);
	free(out);
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
	capture_start();
	log_write_dropped(LOG_LEVEL_WARN, 7, "peer down", NULL);
	out = capture_end();
	v = json_line(out);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "dropped")), 7);
	json_decref(v);
	free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, text_line_has_time_level_message_and_fields);
	tcase_add_test(tc, text_quotes_values_that_are_not_plain_words);
	tcase_add_test(tc, text_escapes_control_characters_so_lines_cannot_be_forged);
	tcase_add_test(tc, json_line_parses_and_holds_every_field);
	tcase_add_test(tc, json_escapes_quotes_backslashes_and_control_characters);
	tcase_add_test(tc, json_replaces_bytes_that_are_not_utf8);
	tcase_add_test(tc, lines_below_the_minimum_level_are_dropped);
	tcase_add_test(tc, level_and_format_names_parse);
	tcase_add_test(tc, long_text_line_is_cut_and_marked);
	tcase_add_test(tc, long_json_line_stays_valid_json);
	tcase_add_test(tc, rate_limited_site_prints_its_burst_then_drops);
	tcase_add_test(tc, rate_limit_reports_the_dropped_count_when_it_next_allows);
	tcase_add_test(tc, dropped_count_is_printed_in_text_and_json);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
