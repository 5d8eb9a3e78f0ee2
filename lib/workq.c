/* workq — keyed, de-duplicating, rate-limited work queue (see workq.h).
 *
 * Every key ever added has an item in a hash map (lcmap) that remembers when
 * it was last started (for the rate limit); a waiting item also sits in a
 * binary min-heap ordered by (due time, sequence). Items are forgotten when
 * they are idle and their rate-limit window has passed, on the next add. */
#include "workq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "err.h"
#include "lcmap.h"
#include "str.h"

struct item {
	char *key;
	int64_t due;          /* when queued */
	uint64_t seq;
	ssize_t heap_idx;     /* -1 when not queued */
	bool processing;
	bool dirty;           /* added while processing */
	int64_t dirty_due;
	int64_t last_start;   /* INT64_MIN: never */
};

struct workq {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct lcmap items;
	struct item **heap;
	size_t n, cap;
	uint64_t seq;
	int64_t min_interval_ms;
	size_t n_processing;
	bool shutdown;
};

static bool before(const struct item *a, const struct item *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_set(struct workq *q, size_t i, struct item *it)
{
	q->heap[i] = it;
	it->heap_idx = (ssize_t)i;
}

static void sift_up(struct workq *q, size_t i)
{
	struct item *it = q->heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(it, q->heap[p]))
			break;
		heap_set(q, i, q->heap[p]);
		i = p;
	}
	heap_set(q, i, it);
}

static void sift_down(struct workq *q, size_t i)
{
	struct item *it = q->heap[i];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct item *best = it;
		if (l < q->n && before(q->heap[l], best)) {
			m = l;
			best = q->heap[l];
		}
		if (r < q->n && before(q->heap[r], best))
			m = r;
		if (m == i)
			break;
		heap_set(q, i, q->heap[m]);
		i = m;
	}
	heap_set(q, i, it);
}

static void heap_remove(struct workq *q, struct item *it)
{
	size_t i = (size_t)it->heap_idx;
	struct item *last = q->heap[--q->n];
	it->heap_idx = -1;
	if (i == q->n)
		return;
	heap_set(q, i, last);
	sift_up(q, i);
	sift_down(q, (size_t)last->heap_idx);
}

static int heap_push(struct workq *q, struct item *it)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct item **h = realloc(q->heap, cap * sizeof(*h));
		if (!h)
			return err_set(BERR_NOMEM, "out of memory");
		q->heap = h;
		q->cap = cap;
	}
	it->seq = q->seq++;
	q->heap[q->n] = it;
	it->heap_idx = (ssize_t)q->n;
	q->n++;
	sift_up(q, q->n - 1);
	return 0;
}

int workq_new(int64_t min_interval_ms, struct workq **ret)
{
	struct workq *q = calloc(1, sizeof(*q));
	pthread_condattr_t ca;

	if (!q)
		return err_set(BERR_NOMEM, "out of memory");
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	lcmap_init(&q->items);
	q->min_interval_ms = min_interval_ms > 0 ? min_interval_ms : 0;
	*ret = q;
	return 0;
}

static bool free_item(void *val, void *ud)
{
	(void)ud;
	struct item *it = val;
	free(it->key);
	free(it);
	return true;
}

void workq_free(struct workq *q)
{
	if (!q)
		return;
	lcmap_each(&q->items, free_item, NULL);
	lcmap_release(&q->items);
	free(q->heap);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

/* The earliest time key may start, given its rate limit. */
static int64_t limited(const struct workq *q, const struct item *it, int64_t due)
{
	if (q->min_interval_ms && it->last_start != INT64_MIN && due < it->last_start + q->min_interval_ms)
		return it->last_start + q->min_interval_ms;
	return due;
}

static int enqueue_locked(struct workq *q, struct item *it, int64_t due)
{
	due = limited(q, it, due);
	if (it->processing) {
		if (!it->dirty || due < it->dirty_due)
			it->dirty_due = due;
		it->dirty = true;
		return 0;
	}
	if (it->heap_idx >= 0) {
		if (due < it->due) {
			it->due = due;
			sift_up(q, (size_t)it->heap_idx);
			pthread_cond_broadcast(&q->cond);
		}
		return 0;
	}
	it->due = due;
	int rc = heap_push(q, it);
	if (rc == 0)
		pthread_cond_broadcast(&q->cond);
	return rc;
}

static int add_at(struct workq *q, const char *key, int64_t due)
{
	int rc;

	pthread_mutex_lock(&q->mu);
	if (q->shutdown) {
		rc = err_set(BERR_CANCELED, "work queue shut down");
		goto out;
	}
	struct item *it = lcmap_get(&q->items, key, NULL, NULL);
	if (!it) {
		if (!(it = calloc(1, sizeof(*it))) || !(it->key = str_dup(key))) {
			free(it);
			rc = err_set(BERR_NOMEM, "out of memory");
			goto out;
		}
		it->heap_idx = -1;
		it->last_start = INT64_MIN;
		if ((rc = lcmap_add(&q->items, it->key, NULL, NULL, it)) < 0) {
			free_item(it, NULL);
			goto out;
		}
	}
	rc = enqueue_locked(q, it, due);
out:
	pthread_mutex_unlock(&q->mu);
	return rc;
}

int workq_add(struct workq *q, const char *key)
{
	return add_at(q, key, clock_mono_ms());
}

int workq_add_after(struct workq *q, const char *key, int64_t delay_ms)
{
	return add_at(q, key, clock_mono_ms() + (delay_ms > 0 ? delay_ms : 0));
}

static void wait_until(struct workq *q, int64_t until_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	int64_t wait = until_ms - now;
	if (wait <= 0)
		return;
	ts.tv_sec += wait / 1000;
	ts.tv_nsec += (wait % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&q->cond, &q->mu, &ts);
}

int workq_get(struct workq *q, int64_t timeout_ms, char **ret_key)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : clock_mono_ms() + timeout_ms;
	int rc;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		if (q->shutdown) {
			rc = err_set(BERR_CANCELED, "work queue shut down");
			break;
		}
		int64_t now = clock_mono_ms();
		if (q->n && q->heap[0]->due <= now) {
			struct item *it = q->heap[0];
			char *key = str_dup(it->key);
			if (!key) {
				rc = err_set(BERR_NOMEM, "out of memory");
				break;
			}
			heap_remove(q, it);
			it->processing = true;
			it->dirty = false;
			it->last_start = now;
			q->n_processing++;
			*ret_key = key;
			rc = 0;
			break;
		}
		if (now >= deadline) {
			rc = err_set(BERR_TIMEOUT, "no work");
			break;
		}
		int64_t until = deadline;
		if (q->n && q->heap[0]->due < until)
			until = q->heap[0]->due;
		if (until == INT64_MAX)
			pthread_cond_wait(&q->cond, &q->mu);
		else
			wait_until(q, until);
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void workq_done(struct workq *q, const char *key)
{
	pthread_mutex_lock(&q->mu);
	struct item *it = lcmap_get(&q->items, key, NULL, NULL);
	if (it && it->processing) {
		it->processing = false;
		q->n_processing--;
		if (it->dirty && !q->shutdown) {
			it->dirty = false;
			enqueue_locked(q, it, it->dirty_due);
		}
	}
	pthread_mutex_unlock(&q->mu);
}

void workq_shutdown(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	q->shutdown = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->mu);
}

size_t workq_len(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->n;
	pthread_mutex_unlock(&q->mu);
	return n;
}

size_t workq_processing(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->n_processing;
	pthread_mutex_unlock(&q->mu);
	return n;
}
