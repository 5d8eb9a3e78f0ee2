/* Unit tests for osrand: random bytes from the kernel. */
#include <check.h>
#include <string.h>

#include "err.h"
#include "osrand.h"

START_TEST(osrand_fills_the_whole_buffer)
{
	/* The tail of a large fill still all zero would mean a short read was
	 * taken for a full one; by chance that is a 2^-512 event. */
	static unsigned char a[4096], zero[4096];

	ck_assert_int_eq(osrand_bytes(a, sizeof(a)), 0);
	ck_assert(memcmp(a + sizeof(a) - 64, zero, 64) != 0);
}
END_TEST

START_TEST(osrand_gives_different_bytes_each_call)
{
	unsigned char a[32], b[32];

	ck_assert_int_eq(osrand_bytes(a, sizeof(a)), 0);
	ck_assert_int_eq(osrand_bytes(b, sizeof(b)), 0);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

START_TEST(osrand_accepts_zero_length)
{
	unsigned char a[1] = { 0x5a };

	ck_assert_int_eq(osrand_bytes(a, 0), 0);
	ck_assert_int_eq(a[0], 0x5a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("osrand");
	TCase *tc = tcase_create("osrand");
	int failed;
	SRunner *sr;

	tcase_add_test(tc, osrand_fills_the_whole_buffer);
	tcase_add_test(tc, osrand_gives_different_bytes_each_call);
	tcase_add_test(tc, osrand_accepts_zero_length);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
