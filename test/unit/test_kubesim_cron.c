/* Unit tests of kube-sim's cron schedules (test/kube-sim/cron.h), compiled
 * into this test directly as kube-sim is not part of libberth. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../kube-sim/cron.c"

#include "clock.h"

/* Next fire time after `after` (RFC 3339) as RFC 3339. */
static const char *next_of(const char *spec, const char *after)
{
	static char out[32];
	struct ks_cron c;
	time_t t;
	ck_assert_msg(cron_parse(spec, &c) == 0, "parse %s", spec);
	ck_assert_int_eq(clock_parse_rfc3339(after, &t), 0);
	time_t n = cron_next(&c, t);
	if (!n)
		return "never";
	clock_format_rfc3339(n, out, sizeof(out));
	return out;
}

START_TEST(cron_every_minute_fires_on_the_next_minute)
{
	ck_assert_str_eq(next_of("* * * * *", "2026-11-26T22:10:30Z"), "2026-11-26T22:11:00Z");
	ck_assert_str_eq(next_of("* * * * *", "2026-11-26T22:10:00Z"), "2026-11-26T22:11:00Z");
}
END_TEST

START_TEST(cron_steps_ranges_and_lists)
{
	ck_assert_str_eq(next_of("*/15 * * * *", "2026-11-26T22:10:00Z"), "2026-11-26T22:15:00Z");
	ck_assert_str_eq(next_of("*/15 * * * *", "2026-11-26T22:50:00Z"), "2026-11-26T23:00:00Z");
	ck_assert_str_eq(next_of("5,35 9-17 * * *", "2026-11-26T17:40:00Z"), "2026-11-27T09:05:00Z");
	ck_assert_str_eq(next_of("0 8-18/5 * * *", "2026-11-26T09:00:00Z"), "2026-11-26T13:00:00Z");
}
END_TEST

START_TEST(cron_macros_and_month_rollover)
{
	ck_assert_str_eq(next_of("@hourly", "2026-11-26T22:10:00Z"), "2026-11-26T23:00:00Z");
	ck_assert_str_eq(next_of("@daily", "2026-12-31T22:10:00Z"), "2027-01-01T00:00:00Z");
	ck_assert_str_eq(next_of("@monthly", "2026-11-26T22:10:00Z"), "2026-12-01T00:00:00Z");
	ck_assert_str_eq(next_of("0 0 29 2 *", "2026-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
}
END_TEST

START_TEST(cron_day_of_week_and_month_combine_like_vixie_cron)
{
	/* 2026-11-26 is a Thursday. */
	ck_assert_str_eq(next_of("0 12 * * 1", "2026-11-26T00:00:00Z"), "2026-11-30T12:00:00Z");
	ck_assert_str_eq(next_of("0 12 * * 7", "2026-11-26T00:00:00Z"), "2026-11-29T12:00:00Z");
	/* both restricted: either matches (the 1st of the month or a Monday) */
	ck_assert_str_eq(next_of("0 0 1 * 1", "2026-11-26T00:00:00Z"), "2026-11-30T00:00:00Z");
}
END_TEST

START_TEST(cron_rejects_malformed_schedules)
{
	static const char *const bad[] = { "", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
					   "*/0 * * * *", "5-1 * * * *", "a * * * *", "@often" };
	struct ks_cron c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(cron_parse(bad[i], &c) == BERR_INVALID, "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(cron_impossible_date_never_fires)
{
	ck_assert_str_eq(next_of("0 0 31 2 *", "2026-01-01T00:00:00Z"), "never");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kubesim_cron");
	TCase *tc = tcase_create("cron");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, cron_every_minute_fires_on_the_next_minute);
	tcase_add_test(tc, cron_steps_ranges_and_lists);
	tcase_add_test(tc, cron_macros_and_month_rollover);
	tcase_add_test(tc, cron_day_of_week_and_month_combine_like_vixie_cron);
	tcase_add_test(tc, cron_rejects_malformed_schedules);
	tcase_add_test(tc, cron_impossible_date_never_fires);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
