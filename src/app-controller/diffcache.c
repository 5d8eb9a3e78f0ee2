/* Diff verdicts remembered by their inputs (DESIGN.md §5: "an unchanged
 * resource is never diffed twice").
 *
 * The key is lib/diff's diff_cache_key: the canonical desired object, the
 * live object's uid and resourceVersion and the normalisation settings. Any
 * change of one of those makes a new key, so an entry is never stale: it is
 * only dropped for room. A verdict is small JSON: {"m": modified} plus, for
 * a modified resource, "d" (the masked unified diff) and "p" (the masked
 * predicted live object as JSON text).
 *
 * Two levels: memory (two generations of at most MEM_GEN_MAX entries each:
 * when the current one is full it becomes the old one, and a hit in the old
 * one moves back; so what every pass uses stays, and the rest goes within
 * two fills) and Redis (`diff:<key>`, DIFF_TTL_S), which survives a restart
 * and is shared by replicas. Redis down: memory only. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "ctl.h"
#include "err.h"
#include "jsonx.h"
#include "str.h"

#define MEM_GEN_MAX 150000
#define DIFF_TTL_S (6 * 3600)
#define VERDICT_MAX_BYTES ((size_t)8 << 20)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *gen_cur, *gen_old;
static atomic_ullong n_computed, n_memory, n_redis;

static void mem_put_locked(const char *key, json_t *verdict)
{
	if (!gen_cur && !(gen_cur = json_object()))
		return;
	if (json_object_size(gen_cur) >= MEM_GEN_MAX) {
		json_decref(gen_old);
		gen_old = gen_cur;
		if (!(gen_cur = json_object()))
			return;
	}
	json_object_set(gen_cur, key, verdict);
}

static json_t *mem_get(const char *key)
{
	pthread_mutex_lock(&mu);
	json_t *v = gen_cur ? json_object_get(gen_cur, key) : NULL;
	if (!v && gen_old && (v = json_object_get(gen_old, key))) {
		json_incref(v);
		json_object_del(gen_old, key);
		mem_put_locked(key, v);
		json_decref(v);
	}
	json_incref(v);
	pthread_mutex_unlock(&mu);
	return v;
}

json_t *ctl_diffcache_get(struct ctl *c, const char *key)
{
	json_t *v = mem_get(key);
	if (v) {
		atomic_fetch_add(&n_memory, 1);
		return v;
	}
	if (!c->cache)
		return NULL;
	char *rkey = str_printf("diff:%s", key);
	struct buf b;
	buf_init(&b, VERDICT_MAX_BYTES);
	if (rkey && rcache_get(c->cache, rkey, &b) == 0 &&
	    jx_parse(b.ptr ? b.ptr : "", b.len, VERDICT_MAX_BYTES, JX_MAX_DEPTH, &v) == 0 && json_is_object(v) &&
	    json_is_boolean(json_object_get(v, "m"))) {
		atomic_fetch_add(&n_redis, 1);
		pthread_mutex_lock(&mu);
		mem_put_locked(key, v);
		pthread_mutex_unlock(&mu);
	} else {
		json_decref(v);
		v = NULL;
	}
	err_clear();
	buf_release(&b);
	free(rkey);
	return v;
}

void ctl_diffcache_put(struct ctl *c, const char *key, json_t *verdict)
{
	atomic_fetch_add(&n_computed, 1);
	pthread_mutex_lock(&mu);
	mem_put_locked(key, verdict);
	pthread_mutex_unlock(&mu);
	if (!c->cache)
		return;
	char *rkey = str_printf("diff:%s", key);
	struct buf b;
	buf_init(&b, VERDICT_MAX_BYTES);
	if (rkey && jx_dump_compact(verdict, &b) == 0 && rcache_set(c->cache, rkey, b.ptr, b.len, DIFF_TTL_S) < 0)
		err_clear();
	err_clear();
	buf_release(&b);
	free(rkey);
}

void ctl_diffcache_metrics(struct buf *out)
{
	pthread_mutex_lock(&mu);
	size_t n = json_object_size(gen_cur) + json_object_size(gen_old);
	pthread_mutex_unlock(&mu);
	buf_printf(out,
		   "# TYPE berth_controller_diffs_total counter\n"
		   "berth_controller_diffs_total{source=\"computed\"} %llu\n"
		   "berth_controller_diffs_total{source=\"memory\"} %llu\n"
		   "berth_controller_diffs_total{source=\"redis\"} %llu\n"
		   "# TYPE berth_controller_diff_cache_entries gauge\nberth_controller_diff_cache_entries %zu\n",
		   (unsigned long long)atomic_load(&n_computed), (unsigned long long)atomic_load(&n_memory),
		   (unsigned long long)atomic_load(&n_redis), n);
}
