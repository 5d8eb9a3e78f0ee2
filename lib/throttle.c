/* throttle — bounded login failure table that flooding cannot evict. */
#include "throttle.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct entry {
	uint8_t key[SHA256_DIGEST_LENGTH];
	bool used;
	unsigned failures;
	int64_t window_start;   /* first failure of the current window */
	int64_t locked_until;   /* 0 when not locked */
};

struct throttle {
	pthread_mutex_t lock;
	struct entry *entries;
	size_t capacity;
	struct entry overflow;  /* shared by accounts that found no free entry */
	unsigned max_failures;
	int64_t window_ms;
};

struct throttle *throttle_new(size_t capacity, unsigned max_failures, int64_t window_ms)
{
	struct throttle *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->capacity = capacity ? capacity : THROTTLE_DEFAULT_CAPACITY;
	t->max_failures = max_failures ? max_failures : THROTTLE_DEFAULT_FAILURES;
	t->window_ms = window_ms > 0 ? window_ms : THROTTLE_DEFAULT_WINDOW_MS;
	t->entries = calloc(t->capacity, sizeof(*t->entries));
	if (!t->entries) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->entries);
	free(t);
}

/* An entry is live while locked or while its failure window runs. */
static bool live(const struct throttle *t, const struct entry *e, int64_t now)
{
	if (!e->used)
		return false;
	if (e->locked_until > now)
		return true;
	return e->failures > 0 && e->locked_until == 0 && now - e->window_start < t->window_ms;
}

static struct entry *find(struct throttle *t, const uint8_t key[32], int64_t now)
{
	size_t i;

	for (i = 0; i < t->capacity; i++) {
		struct entry *e = &t->entries[i];
		if (e->used && memcmp(e->key, key, 32) == 0)
			return live(t, e, now) ? e : (e->used = false, NULL);
	}
	return NULL;
}

static struct entry *claim(struct throttle *t, const uint8_t key[32], int64_t now)
{
	size_t i;

	for (i = 0; i < t->capacity; i++) {
		struct entry *e = &t->entries[i];
		if (!live(t, e, now)) {
			memset(e, 0, sizeof(*e));
			memcpy(e->key, key, 32);
			e->used = true;
			return e;
		}
	}
	return NULL;
}

static void user_key(const char *user, uint8_t key[32])
{
	SHA256((const unsigned char *)(user ? user : ""), user ? strlen(user) : 0, key);
}

static bool table_full(struct throttle *t, int64_t now)
{
	size_t i;

	for (i = 0; i < t->capacity; i++)
		if (!live(t, &t->entries[i], now))
			return false;
	return true;
}

int throttle_check(struct throttle *t, const char *user, int64_t now_ms, int64_t *ret_retry_ms)
{
	uint8_t key[32];
	struct entry *e;
	int64_t until = 0;

	user_key(user, key);
	pthread_mutex_lock(&t->lock);
	e = find(t, key, now_ms);
	if (e && e->locked_until > now_ms)
		until = e->locked_until;
	else if (!e && t->overflow.locked_until > now_ms && table_full(t, now_ms))
		until = t->overflow.locked_until;
	pthread_mutex_unlock(&t->lock);
	if (until) {
		if (ret_retry_ms)
			*ret_retry_ms = until - now_ms;
		return err_set(BERR_FORBIDDEN, "too many failed logins; try again later");
	}
	return 0;
}

static void count_failure(struct throttle *t, struct entry *e, int64_t now)
{
	if (e->locked_until > now)
		return;
	if (e->locked_until || e->failures == 0 || now - e->window_start >= t->window_ms) {
		e->failures = 0;
		e->locked_until = 0;
		e->window_start = now;
	}
	if (++e->failures >= t->max_failures)
		e->locked_until = now + t->window_ms;
}

void throttle_failure(struct throttle *t, const char *user, int64_t now_ms)
{
	uint8_t key[32];
	struct entry *e;

	user_key(user, key);
	pthread_mutex_lock(&t->lock);
	e = find(t, key, now_ms);
	if (!e)
		e = claim(t, key, now_ms);
	count_failure(t, e ? e : &t->overflow, now_ms);
	pthread_mutex_unlock(&t->lock);
}

void throttle_success(struct throttle *t, const char *user, int64_t now_ms)
{
	uint8_t key[32];
	struct entry *e;

	user_key(user, key);
	pthread_mutex_lock(&t->lock);
	e = find(t, key, now_ms);
	if (e && e->locked_until <= now_ms)
		memset(e, 0, sizeof(*e));
	pthread_mutex_unlock(&t->lock);
}

size_t throttle_tracked(struct throttle *t, int64_t now_ms)
{
	size_t i, n = 0;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->capacity; i++)
		n += live(t, &t->entries[i], now_ms);
	pthread_mutex_unlock(&t->lock);
	return n;
}
