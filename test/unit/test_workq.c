/* Unit tests for workq: de-duplication, one worker per key, rate limiting,
 * delayed adds, shutdown. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "workq.h"

static char *get_now(struct workq *q)
{
	char *k = NULL;
	if (workq_get(q, 0, &k) < 0)
		return NULL;
	return k;
}

START_TEST(workq_adding_a_key_twice_queues_it_once)
{
	struct workq *q;
	ck_assert_int_eq(workq_new(0, &q), 0);
	ck_assert_int_eq(workq_add(q, "a"), 0);
	ck_assert_int_eq(workq_add(q, "a"), 0);
	ck_assert_int_eq(workq_add(q, "b"), 0);
	ck_assert_uint_eq(workq_len(q), 2);
	char *k1 = get_now(q), *k2 = get_now(q), *k3 = get_now(q);
	ck_assert_str_eq(k1, "a");
	ck_assert_str_eq(k2, "b");
	ck_assert_ptr_null(k3);
	free(k1);
	free(k2);
	workq_free(q);
}
END_TEST

START_TEST(workq_key_added_while_processing_comes_back_after_done)
{
	struct workq *q;
	ck_assert_int_eq(workq_new(0, &q), 0);
	workq_add(q, "a");
	char *k = get_now(q);
	ck_assert_str_eq(k, "a");
	workq_add(q, "a");
	ck_assert_ptr_null(get_now(q)); /* never two workers on one key */
	ck_assert_uint_eq(workq_processing(q), 1);
	workq_done(q, "a");
	char *again = get_now(q);
	ck_assert_str_eq(again, "a");
	workq_done(q, "a");
	ck_assert_ptr_null(get_now(q));
	free(k);
	free(again);
	workq_free(q);
}
END_TEST

START_TEST(workq_rate_limit_delays_a_key_started_recently)
{
	struct workq *q;
	ck_assert_int_eq(workq_new(200, &q), 0);
	workq_add(q, "a");
	char *k = get_now(q);
	ck_assert_ptr_nonnull(k);
	workq_done(q, "a");
	free(k);
	workq_add(q, "a");
	workq_add(q, "b");
	k = get_now(q);
	ck_assert_str_eq(k, "b"); /* a waits for its window; b is not held up */
	free(k);
	ck_assert_ptr_null(get_now(q));
	int64_t t0 = clock_mono_ms();
	ck_assert_int_eq(workq_get(q, 2000, &k), 0);
	ck_assert_str_eq(k, "a");
	ck_assert_int_ge(clock_mono_ms() - t0, 100);
	free(k);
	workq_free(q);
}
END_TEST

START_TEST(workq_delayed_add_keeps_the_earliest_due_time)
{
	struct workq *q;
	ck_assert_int_eq(workq_new(0, &q), 0);
	workq_add_after(q, "a", 60000);
	ck_assert_ptr_null(get_now(q));
	workq_add_after(q, "a", 0);
	char *k = get_now(q);
	ck_assert_str_eq(k, "a");
	free(k);
	workq_done(q, "a");
	workq_add_after(q, "b", 50);
	workq_add_after(q, "b", 60000);
	ck_assert_int_eq(workq_get(q, 2000, &k), 0);
	ck_assert_str_eq(k, "b");
	free(k);
	workq_free(q);
}
END_TEST

static void *shut_later(void *arg)
{
	clock_sleep_ms(50);
	workq_shutdown(arg);
	return NULL;
}

START_TEST(workq_shutdown_wakes_waiting_workers)
{
	struct workq *q;
	pthread_t t;
	char *k = NULL;
	ck_assert_int_eq(workq_new(0, &q), 0);
	pthread_create(&t, NULL, shut_later, q);
	ck_assert_int_eq(workq_get(q, -1, &k), BERR_CANCELED);
	pthread_join(t, NULL);
	ck_assert_int_eq(workq_add(q, "a"), BERR_CANCELED);
	workq_free(q);
}
END_TEST

START_TEST(workq_get_times_out_when_empty)
{
	struct workq *q;
	char *k = NULL;
	ck_assert_int_eq(workq_new(0, &q), 0);
	ck_assert_int_eq(workq_get(q, 30, &k), BERR_TIMEOUT);
	ck_assert_ptr_null(k);
	workq_free(q);
}
END_TEST

START_TEST(workq_hands_out_many_keys_in_due_order)
{
	struct workq *q;
	char name[16];
	ck_assert_int_eq(workq_new(0, &q), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		workq_add_after(q, name, i % 2 ? 60000 : 0);
	}
	for (int i = 0; i < 500; i++) {
		char *k = get_now(q);
		snprintf(name, sizeof(name), "k%d", 2 * i);
		ck_assert_str_eq(k, name);
		free(k);
	}
	ck_assert_ptr_null(get_now(q));
	ck_assert_uint_eq(workq_len(q), 500);
	workq_free(q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("workq");
	TCase *tc = tcase_create("workq");
	tcase_add_test(tc, workq_adding_a_key_twice_queues_it_once);
	tcase_add_test(tc, workq_key_added_while_processing_comes_back_after_done);
	tcase_add_test(tc, workq_rate_limit_delays_a_key_started_recently);
	tcase_add_test(tc, workq_delayed_add_keeps_the_earliest_due_time);
	tcase_add_test(tc, workq_shutdown_wakes_waiting_workers);
	tcase_add_test(tc, workq_get_times_out_when_empty);
	tcase_add_test(tc, workq_hands_out_many_keys_in_due_order);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
