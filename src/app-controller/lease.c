/* Shard leases (see lease.h). */
#include "lease.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "kube.h"
#include "log.h"
#include "str.h"

/* One shard's Lease as this process sees it. */
struct shard_lease {
	char *name;
	atomic_bool held;
	int64_t last_renew_ms; /* monotonic; touched by the renew thread only (and start) */
};

struct leases {
	struct kube_client *kc;
	char *ns, *identity;
	int64_t duration_ms;
	int own, n;
	struct shard_lease *v;
	atomic_bool ok, gained, stop, running;
	pthread_t thread;
};

static void micro_time(char *out, size_t size)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
}

static bool expired(const json_t *obj)
{
	const char *rt = jx_path_str(obj, "spec", "renewTime", NULL);
	int64_t dur = json_integer_value(jx_path((json_t *)obj, "spec", "leaseDurationSeconds", NULL));
	time_t t;
	char secs[32];
	if (!rt)
		return true;
	str_copy(secs, rt, sizeof(secs));
	char *dot = strchr(secs, '.');
	if (dot) {
		dot[0] = 'Z';
		dot[1] = '\0';
	}
	if (clock_parse_rfc3339(secs, &t) < 0)
		return true;
	return (int64_t)t * 1000 + dur * 1000 + 1000 < clock_wall_ms();
}

/* One attempt to take or renew a Lease (created when absent only with
 * may_create). 0 when held after it. */
static int try_hold(struct leases *l, const char *name, bool may_create)
{
	struct kube_target t = {.api_version = "coordination.k8s.io/v1", .kind = "Lease", .namespace_ = l->ns,
				.name = name};
	char now[64];
	json_t *obj = NULL;
	int rc;

	micro_time(now, sizeof(now));
	rc = kube_get(l->kc, &t, NULL, &obj);
	if (rc == BERR_NOTFOUND && may_create) {
		err_clear();
		json_t *n = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:I,s:s,s:s,s:i}}", "apiVersion",
				      "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", name,
				      "namespace", l->ns, "spec", "holderIdentity", l->identity, "leaseDurationSeconds",
				      (json_int_t)((l->duration_ms + 999) / 1000), "acquireTime", now, "renewTime", now,
				      "leaseTransitions", 0);
		rc = n ? kube_create(l->kc, &t, n, NULL, NULL) : err_set(BERR_NOMEM, "out of memory");
		json_decref(n);
		return rc;
	}
	if (rc < 0)
		return rc;
	const char *holder = jx_path_str(obj, "spec", "holderIdentity", NULL);
	bool mine = str_eq_null(holder, l->identity);
	if (!mine && !expired(obj)) {
		/* holder is borrowed from obj: format the message before freeing it */
		rc = err_set(BERR_CONFLICT, "lease %s held by %s", name, holder ? holder : "?");
		json_decref(obj);
		return rc;
	}
	json_t *spec = jx_obj_ensure(obj, "spec");
	json_object_set_new(spec, "renewTime", json_string(now));
	json_object_set_new(spec, "leaseDurationSeconds", json_integer((l->duration_ms + 999) / 1000));
	if (!mine) {
		json_object_set_new(spec, "holderIdentity", json_string(l->identity));
		json_object_set_new(spec, "acquireTime", json_string(now));
		json_object_set_new(spec, "leaseTransitions",
				    json_integer(json_integer_value(json_object_get(spec, "leaseTransitions")) + 1));
	}
	rc = kube_update(l->kc, &t, obj, NULL, NULL);
	json_decref(obj);
	return rc;
}

/* Every third of the duration: renew what is held, adopt what expired. */
static void *renew_main(void *arg)
{
	struct leases *l = arg;
	while (!atomic_load(&l->stop)) {
		for (int64_t until = clock_mono_ms() + l->duration_ms / 3; clock_mono_ms() < until && !atomic_load(&l->stop);)
			clock_sleep_ms(100);
		if (atomic_load(&l->stop))
			break;
		for (int i = 0; i < l->n && !atomic_load(&l->stop); i++) {
			struct shard_lease *sl = &l->v[i];
			bool held = atomic_load(&sl->held);
			if (try_hold(l, sl->name, held) == 0) {
				sl->last_renew_ms = clock_mono_ms();
				if (!held) {
					log_info("adopted the lease of a shard whose holder let it expire", "lease", sl->name,
						 NULL);
					atomic_store(&sl->held, true);
					atomic_store(&l->gained, true);
				}
				continue;
			}
			if (held) {
				log_warn("lease renewal failed", "lease", sl->name, "error", err_msg(), NULL);
				if (clock_mono_ms() - sl->last_renew_ms > l->duration_ms * 2 / 3) {
					atomic_store(&sl->held, false);
					atomic_store(&l->ok, false);
				}
			}
			err_clear();
		}
	}
	return NULL;
}

int leases_start(struct kube_client *kc, const char *ns, int shard, int shards, int64_t duration_ms,
		 struct leases **ret)
{
	struct leases *l = calloc(1, sizeof(*l));
	char host[256] = "";
	if (!l)
		return err_set(BERR_NOMEM, "out of memory");
	gethostname(host, sizeof(host) - 1);
	l->kc = kc;
	l->own = shard;
	l->n = shards;
	l->duration_ms = duration_ms;
	l->ns = str_dup(ns);
	l->identity = str_printf("%s_%ld_%ld", host, (long)getpid(), (long)(clock_wall_ms() % 100000));
	l->v = calloc((size_t)shards, sizeof(*l->v));
	bool names = l->v != NULL;
	for (int i = 0; names && i < shards; i++)
		names = (l->v[i].name = str_printf("berth-app-controller-shard-%d", i)) != NULL;
	if (!l->ns || !l->identity || !names) {
		leases_free(l);
		return err_set(BERR_NOMEM, "out of memory");
	}
	struct shard_lease *own = &l->v[shard];
	log_info("waiting for the shard lease", "lease", own->name, "identity", l->identity, NULL);
	while (try_hold(l, own->name, true) < 0) {
		err_clear();
		clock_sleep_ms(duration_ms / 5 > 200 ? duration_ms / 5 : 200);
	}
	own->last_renew_ms = clock_mono_ms();
	atomic_store(&own->held, true);
	atomic_store(&l->ok, true);
	log_info("holding the shard lease", "lease", own->name, NULL);
	if (pthread_create(&l->thread, NULL, renew_main, l) != 0) {
		leases_free(l);
		return err_set(BERR_NOMEM, "cannot start the lease thread");
	}
	atomic_store(&l->running, true);
	*ret = l;
	return 0;
}

bool leases_owns(struct leases *l, int shard)
{
	return l && shard >= 0 && shard < l->n && atomic_load(&l->v[shard].held);
}

bool leases_ok(struct leases *l)
{
	return l && atomic_load(&l->ok);
}

bool leases_take_gained(struct leases *l)
{
	return l && atomic_exchange(&l->gained, false);
}

void leases_free(struct leases *l)
{
	if (!l)
		return;
	if (atomic_load(&l->running)) {
		atomic_store(&l->stop, true);
		pthread_join(l->thread, NULL);
	}
	for (int i = 0; l->v && i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	free(l->ns);
	free(l->identity);
	free(l);
}
