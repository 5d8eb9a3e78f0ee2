/* Unit tests for the login throttle (lib/throttle.h). Time is passed in,
 * so the tests move the clock instead of sleeping. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "throttle.h"

#define MIN (60 * 1000)
#define T0 1000000

static void fail_n(struct throttle *t, const char *user, int n, int64_t now)
{
	int i;

	for (i = 0; i < n; i++)
		throttle_failure(t, user, now);
}

START_TEST(five_failures_lock_the_account_for_the_window)
{
	struct throttle *t = throttle_new(0, 0, 0);
	int64_t retry = 0;

	fail_n(t, "alice", 4, T0);
	ck_assert_int_eq(throttle_check(t, "alice", T0 + 1, NULL), 0);
	throttle_failure(t, "alice", T0 + 2);
	ck_assert_int_eq(throttle_check(t, "alice", T0 + 3, &retry), BERR_FORBIDDEN);
	ck_assert_int_eq(retry, 5 * MIN - 1);
	/* Locked even with the right password: success does not unlock. */
	throttle_success(t, "alice", T0 + 4);
	ck_assert_int_eq(throttle_check(t, "alice", T0 + 4 * MIN, NULL), BERR_FORBIDDEN);
	ck_assert_int_eq(throttle_check(t, "alice", T0 + 2 + 5 * MIN, NULL), 0);
	/* Other accounts are unaffected. */
	ck_assert_int_eq(throttle_check(t, "bob", T0 + 3, NULL), 0);
	throttle_free(t);
}
END_TEST

START_TEST(failures_outside_the_window_do_not_add_up)
{
	struct throttle *t = throttle_new(0, 0, 0);

	fail_n(t, "alice", 4, T0);
	fail_n(t, "alice", 4, T0 + 6 * MIN);
	ck_assert_int_eq(throttle_check(t, "alice", T0 + 6 * MIN, NULL), 0);
	throttle_failure(t, "alice", T0 + 7 * MIN);
	ck_assert_int_eq(throttle_check(t, "alice", T0 + 7 * MIN, NULL), BERR_FORBIDDEN);
	throttle_free(t);
}
END_TEST

START_TEST(success_forgets_earlier_failures)
{
	struct throttle *t = throttle_new(0, 0, 0);

	fail_n(t, "alice", 4, T0);
	throttle_success(t, "alice", T0 + 1);
	fail_n(t, "alice", 4, T0 + 2);
	ck_assert_int_eq(throttle_check(t, "alice", T0 + 3, NULL), 0);
	ck_assert_uint_eq(throttle_tracked(t, T0 + 3), 1);
	throttle_free(t);
}
END_TEST

/* An attacker fills the table with other usernames: the locked account
 * stays locked and a failing account keeps its count. */
START_TEST(flooding_other_usernames_cannot_evict_an_account)
{
	struct throttle *t = throttle_new(16, 0, 0);
	char name[32];
	int i;

	fail_n(t, "victim", 5, T0);
	fail_n(t, "target", 3, T0);
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "flood-%d", i);
		throttle_failure(t, name, T0 + 10 + i / 100);
	}
	ck_assert_uint_eq(throttle_tracked(t, T0 + 200), 16);
	ck_assert_int_eq(throttle_check(t, "victim", T0 + 200, NULL), BERR_FORBIDDEN);
	fail_n(t, "target", 2, T0 + 200);
	ck_assert_int_eq(throttle_check(t, "target", T0 + 201, NULL), BERR_FORBIDDEN);
	throttle_free(t);
}
END_TEST

/* With the table full, untracked accounts share one bounded counter: the
 * attacker gets at most max_failures guesses per window across all of them. */
START_TEST(untracked_accounts_share_a_bounded_overflow_counter)
{
	struct throttle *t = throttle_new(4, 0, 0);
	char name[32];
	int i, allowed = 0;

	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "filler-%d", i);
		throttle_failure(t, name, T0);
	}
	for (i = 0; i < 50; i++) {
		if (throttle_check(t, "untracked-target", T0 + 1, NULL) == 0) {
			allowed++;
			throttle_failure(t, "untracked-target", T0 + 1);
		}
	}
	ck_assert_int_eq(allowed, 5);
	ck_assert_int_eq(throttle_check(t, "someone-else", T0 + 2, NULL), BERR_FORBIDDEN);
	/* When the window passes, entries free up and logins work again. */
	ck_assert_int_eq(throttle_check(t, "untracked-target", T0 + 1 + 5 * MIN, NULL), 0);
	throttle_free(t);
}
END_TEST

START_TEST(stale_entries_are_reused)
{
	struct throttle *t = throttle_new(2, 0, 0);

	throttle_failure(t, "a", T0);
	throttle_failure(t, "b", T0);
	ck_assert_uint_eq(throttle_tracked(t, T0), 2);
	throttle_failure(t, "c", T0 + 6 * MIN);
	ck_assert_uint_eq(throttle_tracked(t, T0 + 6 * MIN), 1);
	fail_n(t, "c", 4, T0 + 6 * MIN);
	ck_assert_int_eq(throttle_check(t, "c", T0 + 6 * MIN, NULL), BERR_FORBIDDEN);
	throttle_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("throttle");
	TCase *tc = tcase_create("throttle");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, five_failures_lock_the_account_for_the_window);
	tcase_add_test(tc, failures_outside_the_window_do_not_add_up);
	tcase_add_test(tc, success_forgets_earlier_failures);
	tcase_add_test(tc, flooding_other_usernames_cannot_evict_an_account);
	tcase_add_test(tc, untracked_accounts_share_a_bounded_overflow_counter);
	tcase_add_test(tc, stale_entries_are_reused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
