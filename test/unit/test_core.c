/* Unit tests for the core modules: err, buf, str, clock. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "str.h"

START_TEST(err_set_returns_code_and_keeps_message)
{
	int rc = err_set(BERR_NOTFOUND, "app \"%s\" not found", "web");
	ck_assert_int_eq(rc, BERR_NOTFOUND);
	ck_assert_int_eq(err_code(), BERR_NOTFOUND);
	ck_assert_str_eq(err_msg(), "app \"web\" not found");
}
END_TEST

START_TEST(err_prefix_prepends_context)
{
	err_set(BERR_IO, "permission denied");
	ck_assert_int_eq(err_prefix(BERR_INVALID, "load \"%s\"", "x.yaml"), BERR_INVALID);
	ck_assert_str_eq(err_msg(), "load \"x.yaml\": permission denied");
	ck_assert_int_eq(err_code(), BERR_INVALID);
}
END_TEST

START_TEST(err_prefix_truncates_instead_of_overflowing)
{
	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(BERR_IO, "%s", big);
	err_prefix(BERR_IO, "%s", big);
	ck_assert_uint_lt(strlen(err_msg()), 2048);
}
END_TEST

START_TEST(err_status_is_attached_and_cleared)
{
	err_set(BERR_CONFLICT, "stale");
	err_set_status(409, "Conflict");
	ck_assert_int_eq(err_status(), 409);
	ck_assert_str_eq(err_reason(), "Conflict");
	err_set(BERR_IO, "other");
	ck_assert_int_eq(err_status(), 0);
	err_clear();
	ck_assert_str_eq(err_msg(), "");
}
END_TEST

START_TEST(buf_appends_and_stays_terminated)
{
	struct buf b;
	buf_init(&b, 100);
	ck_assert_str_eq(b.ptr, "");
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	ck_assert_int_eq(buf_printf(&b, "-%d-", 42), 0);
	ck_assert_int_eq(buf_putc(&b, 'z'), 0);
	ck_assert_str_eq(b.ptr, "abc-42-z");
	ck_assert_uint_eq(b.len, 8);
	buf_truncate(&b, 3);
	ck_assert_str_eq(b.ptr, "abc");
	buf_release(&b);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(buf_refuses_to_pass_its_limit_and_stays_unchanged)
{
	struct buf b;
	buf_init(&b, 10);
	ck_assert_int_eq(buf_puts(&b, "0123456789"), 0);
	ck_assert_int_eq(buf_putc(&b, 'x'), BERR_TOOLARGE);
	ck_assert_int_eq(buf_printf(&b, "%s", "y"), BERR_TOOLARGE);
	ck_assert_str_eq(b.ptr, "0123456789");
	buf_release(&b);
}
END_TEST

START_TEST(buf_detach_hands_over_memory)
{
	struct buf b;
	size_t n;
	char *p;
	buf_init(&b, 100);
	p = buf_detach(&b, &n);
	ck_assert_str_eq(p, "");
	free(p);
	buf_puts(&b, "hello");
	p = buf_detach(&b, &n);
	ck_assert_str_eq(p, "hello");
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(b.len, 0);
	free(p);
}
END_TEST

START_TEST(buf_grows_across_many_appends)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(buf_puts(&b, "0123456789"), 0);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_uint_eq(strlen(b.ptr), 100000);
	buf_release(&b);
}
END_TEST

START_TEST(str_parses_whole_numbers_only)
{
	int64_t v = 7;
	uint64_t u = 7;
	int i = 0;
	ck_assert_int_eq(str_to_i64("-42", &v), 0);
	ck_assert_int_eq(v, -42);
	ck_assert_int_eq(str_to_i64("42x", &v), BERR_INVALID);
	ck_assert_int_eq(str_to_i64("", &v), BERR_INVALID);
	ck_assert_int_eq(str_to_i64(" 1", &v), BERR_INVALID);
	ck_assert_int_eq(str_to_i64("99999999999999999999", &v), BERR_INVALID);
	ck_assert_int_eq(v, -42);
	ck_assert_int_eq(str_to_u64("-1", &u), BERR_INVALID);
	ck_assert_int_eq(str_to_u64("18446744073709551615", &u), 0);
	ck_assert(u == UINT64_MAX);
	ck_assert_int_eq(str_to_int("70000", 0, 65535, &i), BERR_INVALID);
	ck_assert_int_eq(str_to_int("8080", 0, 65535, &i), 0);
	ck_assert_int_eq(i, 8080);
}
END_TEST

START_TEST(str_parses_durations_and_sizes)
{
	int64_t ms;
	uint64_t sz;
	ck_assert_int_eq(str_to_duration_ms("250ms", &ms), 0);
	ck_assert_int_eq(ms, 250);
	ck_assert_int_eq(str_to_duration_ms("1h30m", &ms), 0);
	ck_assert_int_eq(ms, 5400000);
	ck_assert_int_eq(str_to_duration_ms("180", &ms), 0);
	ck_assert_int_eq(ms, 180000);
	ck_assert_int_eq(str_to_duration_ms("5x", &ms), BERR_INVALID);
	ck_assert_int_eq(str_to_size("10M", &sz), 0);
	ck_assert(sz == 10u << 20);
	ck_assert_int_eq(str_to_size("1GiB", &sz), 0);
	ck_assert(sz == 1u << 30);
	ck_assert_int_eq(str_to_size("1T", &sz), BERR_INVALID);
}
END_TEST

START_TEST(str_copy_truncates_and_reports_length)
{
	char small[4];
	ck_assert_uint_eq(str_copy(small, "abcdef", sizeof(small)), 6);
	ck_assert_str_eq(small, "abc");
}
END_TEST

START_TEST(str_secure_eq_compares_length_and_bytes)
{
	ck_assert(str_secure_eq("abc", 3, "abc", 3));
	ck_assert(!str_secure_eq("abc", 3, "abd", 3));
	ck_assert(!str_secure_eq("abc", 3, "abcd", 4));
	ck_assert(str_glob("team-*", "team-a"));
	ck_assert(!str_glob("team-*", "other"));
}
END_TEST

START_TEST(str_hex_writes_lower_case_digits_and_nul)
{
	const unsigned char in[] = { 0x00, 0x9f, 0xa0, 0xff };
	char out[9];

	memset(out, 'x', sizeof(out));
	str_hex(in, sizeof(in), out);
	ck_assert_str_eq(out, "009fa0ff");
	str_hex(in, 0, out);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(buf_url_escape_keeps_only_unreserved_characters)
{
	struct buf b;

	buf_init(&b, 64);
	ck_assert_int_eq(buf_puts(&b, "q="), 0);
	ck_assert_int_eq(buf_put_url_escaped(&b, "a-Z.0_~ /?&=%\xc3\xa9"), 0);
	ck_assert_str_eq(b.ptr, "q=a-Z.0_~%20%2F%3F%26%3D%25%C3%A9");
	buf_release(&b);
}
END_TEST

START_TEST(buf_url_escape_over_the_limit_leaves_buffer_unchanged)
{
	struct buf b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_puts(&b, "k="), 0);
	ck_assert_int_eq(buf_put_url_escaped(&b, "a b c"), BERR_TOOLARGE);
	ck_assert_uint_eq(b.len, 2);
	ck_assert_str_eq(b.ptr, "k=");
	buf_release(&b);
}
END_TEST

START_TEST(clock_realtime_after_ms_carries_into_seconds)
{
	struct timespec now, ts;

	clock_gettime(CLOCK_REALTIME, &now);
	ts = clock_realtime_after_ms(1999);
	ck_assert_int_ge(ts.tv_nsec, 0);
	ck_assert_int_lt(ts.tv_nsec, 1000000000L);
	int64_t ms = ((int64_t)ts.tv_sec - now.tv_sec) * 1000 + (ts.tv_nsec - now.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 1999);
	ck_assert_int_lt(ms, 1999 + 1000);
}
END_TEST

START_TEST(clock_round_trips_rfc3339)
{
	char s[32];
	time_t t;
	clock_format_rfc3339(1714557600, s, sizeof(s));
	ck_assert_str_eq(s, "2024-05-01T10:00:00Z");
	ck_assert_int_eq(clock_parse_rfc3339(s, &t), 0);
	ck_assert_int_eq(t, 1714557600);
	ck_assert_int_eq(clock_parse_rfc3339("2024-05-01T12:00:00.5+02:00", &t), 0);
	ck_assert_int_eq(t, 1714557600);
	ck_assert_int_eq(clock_parse_rfc3339("yesterday", &t), BERR_INVALID);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");
	int failed;
	SRunner *sr;

	tcase_add_test(tc, err_set_returns_code_and_keeps_message);
	tcase_add_test(tc, err_prefix_prepends_context);
	tcase_add_test(tc, err_prefix_truncates_instead_of_overflowing);
	tcase_add_test(tc, err_status_is_attached_and_cleared);
	tcase_add_test(tc, buf_appends_and_stays_terminated);
	tcase_add_test(tc, buf_refuses_to_pass_its_limit_and_stays_unchanged);
	tcase_add_test(tc, buf_detach_hands_over_memory);
	tcase_add_test(tc, buf_grows_across_many_appends);
	tcase_add_test(tc, str_parses_whole_numbers_only);
	tcase_add_test(tc, str_parses_durations_and_sizes);
	tcase_add_test(tc, str_copy_truncates_and_reports_length);
	tcase_add_test(tc, str_secure_eq_compares_length_and_bytes);
	tcase_add_test(tc, str_hex_writes_lower_case_digits_and_nul);
	tcase_add_test(tc, buf_url_escape_keeps_only_unreserved_characters);
	tcase_add_test(tc, buf_url_escape_over_the_limit_leaves_buffer_unchanged);
	tcase_add_test(tc, clock_round_trips_rfc3339);
	tcase_add_test(tc, clock_realtime_after_ms_carries_into_seconds);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
