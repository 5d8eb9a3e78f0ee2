/* Unit tests for rcache against a real redis-server with a password. */
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "rcache.h"
#include "str.h"

static const char password[] = "rcache-test-pw-4242";
static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";
static char addr[64];
static int port;
static pid_t redis_pid;

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	bind(s, (struct sockaddr *)&a, sizeof(a));
	getsockname(s, (struct sockaddr *)&a, &len);
	close(s);
	return ntohs(a.sin_port);
}

static void start_redis(void)
{
	char p[16];
	snprintf(p, sizeof(p), "%d", port);
	redis_pid = fork();
	if (redis_pid == 0) {
		int dn = open("/dev/null", O_WRONLY);
		dup2(dn, 1);
		execlp("redis-server", "redis-server", "--bind", "127.0.0.1", "--port", p, "--requirepass", password,
		       "--save", "", "--appendonly", "no", "--dir", "/tmp", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(s);
		if (ok)
			return;
		clock_sleep_ms(25);
	}
	ck_abort_msg("redis did not start");
}

static void stop_redis(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0); /* fails when we are a forked test: wait for the port instead */
		for (int i = 0; i < 200; i++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
						.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
			int up = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
			close(s);
			if (!up)
				break;
			clock_sleep_ms(25);
		}
		redis_pid = 0;
	}
}

static void setup(void)
{
	port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	start_redis();
}

static int transitions_down, transitions_up;
static void on_state(bool up, const char *msg, void *arg)
{
	(void)arg;
	ck_assert_ptr_null(strstr(msg, password));
	if (up)
		transitions_up++;
	else
		transitions_down++;
}

static struct rcache *client(const char *pw, const uint8_t *k)
{
	struct rcache_opts o = {.addr = addr, .password = pw, .hmac_key = k, .hmac_key_len = 32,
				.timeout_ms = 500, .on_state = on_state};
	struct rcache *rc;
	ck_assert_int_eq(rcache_new(&o, &rc), 0);
	return rc;
}

START_TEST(rcache_round_trips_small_and_large_values)
{
	struct rcache *rc = client(password, key);
	struct buf out;
	char *big = malloc(200000);
	for (int i = 0; i < 200000; i++)
		big[i] = (char)('a' + i % 7);
	buf_init(&out, 1 << 20);
	ck_assert_int_eq(rcache_set(rc, "t:small", "hello", 5, 60), 0);
	ck_assert_int_eq(rcache_get(rc, "t:small", &out), 0);
	ck_assert_str_eq(out.ptr, "hello");
	buf_reset(&out);
	ck_assert_int_eq(rcache_set(rc, "t:big", big, 200000, 60), 0);
	ck_assert_int_eq(rcache_get(rc, "t:big", &out), 0);
	ck_assert_uint_eq(out.len, 200000);
	ck_assert(!memcmp(out.ptr, big, 200000));
	buf_release(&out);
	free(big);
	rcache_free(rc);
}
END_TEST

START_TEST(rcache_missing_key_is_a_miss)
{
	struct rcache *rc = client(password, key);
	struct buf out;
	struct rcache_stats st;
	buf_init(&out, 1024);
	ck_assert_int_eq(rcache_get(rc, "t:absent", &out), BERR_NOTFOUND);
	rcache_get_stats(rc, &st);
	ck_assert_uint_eq(st.misses, 1);
	buf_release(&out);
	rcache_free(rc);
}
END_TEST

START_TEST(rcache_rejects_forged_entry)
{
	struct rcache *rc = client(password, key);
	struct buf out;
	struct rcache_stats st;
	buf_init(&out, 1024);
	ck_assert_int_eq(rcache_set_raw(rc, "t:forged", "[{\"kind\":\"Pod\"}]", 16), 0);
	ck_assert_int_eq(rcache_get(rc, "t:forged", &out), BERR_NOTFOUND);
	ck_assert_uint_eq(out.len, 0);
	rcache_get_stats(rc, &st);
	ck_assert_uint_eq(st.rejected, 1);
	buf_release(&out);
	rcache_free(rc);
}
END_TEST

START_TEST(rcache_rejects_entry_signed_with_another_key)
{
	uint8_t other[32];
	memset(other, 'z', sizeof(other));
	struct rcache *evil = client(password, other), *rc = client(password, key);
	struct buf out;
	buf_init(&out, 1024);
	ck_assert_int_eq(rcache_set(evil, "t:other", "planted", 7, 60), 0);
	ck_assert_int_eq(rcache_get(rc, "t:other", &out), BERR_NOTFOUND);
	buf_release(&out);
	rcache_free(evil);
	rcache_free(rc);
}
END_TEST

START_TEST(rcache_rejects_entry_moved_from_another_key)
{
	struct rcache *rc = client(password, key);
	struct buf out, raw;
	buf_init(&out, 1024);
	buf_init(&raw, 1024);
	ck_assert_int_eq(rcache_set(rc, "t:a", "value-a", 7, 60), 0);
	/* copy the stored envelope of t:a to t:b through a second, raw path */
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
		 "REDISCLI_AUTH=%s redis-cli -p %d --no-auth-warning COPY berth:v1:t:a berth:v1:t:b REPLACE >/dev/null",
		 password, port);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(rcache_get(rc, "t:b", &out), BERR_NOTFOUND);
	ck_assert_int_eq(rcache_get(rc, "t:a", &out), 0);
	buf_release(&out);
	buf_release(&raw);
	rcache_free(rc);
}
END_TEST

START_TEST(rcache_set_applies_ttl)
{
	struct rcache *rc = client(password, key);
	char cmd[256], line[64] = "";
	ck_assert_int_eq(rcache_set(rc, "t:ttl", "v", 1, 77), 0);
	snprintf(cmd, sizeof(cmd), "REDISCLI_AUTH=%s redis-cli -p %d --no-auth-warning TTL berth:v1:t:ttl", password,
		 port);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	pclose(f);
	int ttl = 0;
	line[strcspn(line, "\n")] = '\0';
	ck_assert_int_eq(str_to_int(line, 0, 1000, &ttl), 0);
	ck_assert_int_gt(ttl, 70);
	ck_assert_int_le(ttl, 77);
	rcache_free(rc);
}
END_TEST

START_TEST(rcache_del_removes)
{
	struct rcache *rc = client(password, key);
	struct buf out;
	buf_init(&out, 1024);
	ck_assert_int_eq(rcache_set(rc, "t:d", "x", 1, 60), 0);
	ck_assert_int_eq(rcache_del(rc, "t:d"), 0);
	ck_assert_int_eq(rcache_get(rc, "t:d", &out), BERR_NOTFOUND);
	buf_release(&out);
	rcache_free(rc);
}
END_TEST

START_TEST(rcache_take_reads_once)
{
	struct rcache *rc = client(password, key);
	struct buf out;
	buf_init(&out, 1024);
	ck_assert_int_eq(rcache_set(rc, "t:once", "v1", 2, 60), 0);
	ck_assert_int_eq(rcache_take(rc, "t:once", &out), 0);
	ck_assert_uint_eq(out.len, 2);
	ck_assert_int_eq(memcmp(out.ptr, "v1", 2), 0);
	ck_assert_int_eq(rcache_take(rc, "t:once", &out), BERR_NOTFOUND);
	ck_assert_int_eq(rcache_get(rc, "t:once", &out), BERR_NOTFOUND);
	buf_release(&out);
	rcache_free(rc);
}
END_TEST

START_TEST(rcache_wrong_password_is_unavailable_without_leaking_it)
{
	struct rcache *rc = client("not-the-password", key);
	struct buf out;
	buf_init(&out, 1024);
	ck_assert_int_eq(rcache_get(rc, "t:x", &out), BERR_UNAVAILABLE);
	ck_assert_ptr_null(strstr(err_msg(), "not-the-password"));
	ck_assert(!rcache_up(rc));
	buf_release(&out);
	rcache_free(rc);
}
END_TEST

START_TEST(rcache_degrades_when_down_and_reconnects)
{
	struct rcache *rc = client(password, key);
	struct buf out;
	buf_init(&out, 1024);
	transitions_down = transitions_up = 0;
	ck_assert_int_eq(rcache_set(rc, "t:r", "1", 1, 60), 0);
	stop_redis();
	ck_assert_int_eq(rcache_get(rc, "t:r", &out), BERR_UNAVAILABLE);
	int64_t t0 = clock_mono_ms();
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(rcache_get(rc, "t:r", &out), BERR_UNAVAILABLE);
	ck_assert_int_lt(clock_mono_ms() - t0, 1000); /* fails fast while down */
	ck_assert_int_eq(transitions_down, 1);        /* told once */
	start_redis();
	int rc_ = BERR_UNAVAILABLE;
	for (int64_t end = clock_mono_ms() + 10000; clock_mono_ms() < end && rc_ == BERR_UNAVAILABLE;) {
		rc_ = rcache_get(rc, "t:r", &out);
		clock_sleep_ms(50);
	}
	ck_assert_int_eq(rc_, BERR_NOTFOUND); /* redis is back (empty: no persistence) */
	ck_assert_int_eq(transitions_up, 1);
	buf_release(&out);
	rcache_free(rc);
	stop_redis(); /* the one this test started */
}
END_TEST

struct sub {
	struct rcache *rc;
	volatile bool stop;
	char got[64];
	volatile int n;
};

static void on_msg(const char *msg, size_t len, void *arg)
{
	struct sub *s = arg;
	snprintf(s->got, sizeof(s->got), "%.*s", (int)len, msg);
	s->n++;
}

static void *sub_thread(void *arg)
{
	struct sub *s = arg;
	rcache_subscribe(s->rc, "events", on_msg, s, &s->stop);
	return NULL;
}

START_TEST(rcache_publish_reaches_subscriber)
{
	struct sub s = {.rc = client(password, key)};
	pthread_t th;
	pthread_create(&th, NULL, sub_thread, &s);
	for (int64_t end = clock_mono_ms() + 10000; clock_mono_ms() < end && s.n == 0;) {
		rcache_publish(s.rc, "events", "app-changed", 11);
		clock_sleep_ms(50);
	}
	s.stop = true;
	pthread_join(th, NULL);
	ck_assert_int_gt(s.n, 0);
	ck_assert_str_eq(s.got, "app-changed");
	rcache_free(s.rc);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rcache");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, setup, stop_redis);
	tcase_add_test(tc, rcache_round_trips_small_and_large_values);
	tcase_add_test(tc, rcache_missing_key_is_a_miss);
	tcase_add_test(tc, rcache_take_reads_once);
	tcase_add_test(tc, rcache_rejects_forged_entry);
	tcase_add_test(tc, rcache_rejects_entry_signed_with_another_key);
	tcase_add_test(tc, rcache_rejects_entry_moved_from_another_key);
	tcase_add_test(tc, rcache_del_removes);
	tcase_add_test(tc, rcache_set_applies_ttl);
	tcase_add_test(tc, rcache_wrong_password_is_unavailable_without_leaking_it);
	tcase_add_test(tc, rcache_publish_reaches_subscriber);
	tcase_add_test(tc, rcache_degrades_when_down_and_reconnects);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
