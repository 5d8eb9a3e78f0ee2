/* Unit tests for bcrypt password hashes (lib/passwd.h). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "passwd.h"

START_TEST(hash_round_trips_and_uses_bcrypt_2b_cost_10)
{
	char *h = NULL;

	ck_assert_int_eq(passwd_hash("correct horse", 0, &h), 0);
	ck_assert(strncmp(h, "$2b$10$", 7) == 0);
	ck_assert_uint_eq(strlen(h), 60);
	ck_assert_int_eq(passwd_verify("correct horse", h), 0);
	ck_assert_int_eq(passwd_verify("correct horsE", h), BERR_UNAUTHORIZED);
	ck_assert_int_eq(passwd_verify("", h), BERR_UNAUTHORIZED);
	free(h);
}
END_TEST

START_TEST(same_password_gets_different_salts)
{
	char *a = NULL, *b = NULL;

	ck_assert_int_eq(passwd_hash("pw", 4, &a), 0);
	ck_assert_int_eq(passwd_hash("pw", 4, &b), 0);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(passwd_verify("pw", a), 0);
	ck_assert_int_eq(passwd_verify("pw", b), 0);
	free(a);
	free(b);
}
END_TEST

START_TEST(hash_refuses_bad_input)
{
	char longpw[80];
	char *h = NULL;

	memset(longpw, 'x', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	ck_assert_int_eq(passwd_hash("", 0, &h), BERR_INVALID);
	ck_assert_int_eq(passwd_hash(longpw, 0, &h), BERR_INVALID);
	ck_assert_int_eq(passwd_hash("pw", 3, &h), BERR_INVALID);
	ck_assert_int_eq(passwd_hash("pw", 16, &h), BERR_INVALID);
	ck_assert_ptr_null(h);
}
END_TEST

START_TEST(verify_refuses_non_bcrypt_hashes)
{
	ck_assert_int_eq(passwd_verify("pw", "plaintext"), BERR_INVALID);
	ck_assert_int_eq(passwd_verify("pw", "$1$abc$def"), BERR_INVALID);
	ck_assert_int_eq(passwd_verify("pw", NULL), BERR_INVALID);
	/* A stored plain-text "hash" never logs anyone in. */
	ck_assert_int_eq(passwd_check("plaintext", "plaintext"), BERR_UNAUTHORIZED);
}
END_TEST

START_TEST(unknown_user_and_wrong_password_read_the_same)
{
	char *h = NULL;
	char msg_wrong[256];

	ck_assert_int_eq(passwd_hash("right", 0, &h), 0);
	ck_assert_int_eq(passwd_check("wrong", h), BERR_UNAUTHORIZED);
	snprintf(msg_wrong, sizeof(msg_wrong), "%s", err_msg());
	ck_assert_int_eq(passwd_check("wrong", NULL), BERR_UNAUTHORIZED);
	ck_assert_str_eq(err_msg(), msg_wrong);
	ck_assert_int_eq(passwd_check("right", h), 0);
	free(h);
}
END_TEST

static int64_t time_one(const char *pw, const char *hash)
{
	int64_t start = clock_mono_ms();

	ck_assert_int_eq(passwd_check(pw, hash), BERR_UNAUTHORIZED);
	return clock_mono_ms() - start;
}

/* A timing side channel would tell an attacker which accounts exist: an
 * unknown user must cost a full bcrypt verification too. */
START_TEST(unknown_user_takes_as_long_as_wrong_password)
{
	char *h = NULL;
	int64_t wrong, unknown;
	int i;

	ck_assert_int_eq(passwd_hash("right", 0, &h), 0);
	(void)passwd_check("warm-up", NULL);
	/* Interleaved, best of five each: the minimum is the cost of the work
	 * itself, least disturbed by other load on the machine. */
	wrong = unknown = INT64_MAX;
	for (i = 0; i < 5; i++) {
		int64_t a = time_one("wrong", h), b = time_one("wrong", NULL);
		wrong = a < wrong ? a : wrong;
		unknown = b < unknown ? b : unknown;
	}
	ck_assert_msg(wrong >= 5, "a cost-10 bcrypt check took only %lld ms", (long long)wrong);
	ck_assert_msg(unknown * 2 >= wrong && wrong * 2 >= unknown,
		      "wrong password %lld ms, unknown user %lld ms", (long long)wrong,
		      (long long)unknown);
	free(h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("passwd");
	TCase *tc = tcase_create("passwd");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, hash_round_trips_and_uses_bcrypt_2b_cost_10);
	tcase_add_test(tc, same_password_gets_different_salts);
	tcase_add_test(tc, hash_refuses_bad_input);
	tcase_add_test(tc, verify_refuses_non_bcrypt_hashes);
	tcase_add_test(tc, unknown_user_and_wrong_password_read_the_same);
	tcase_add_test(tc, unknown_user_takes_as_long_as_wrong_password);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
