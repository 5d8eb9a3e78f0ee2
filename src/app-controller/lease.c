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

struct lease {
	struct kube_client *kc;
	char *ns, *name, *identity;
	int64_t duration_ms;
	int64_t last_renew_ms;       /* monotonic */
	atomic_bool held, stop;
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

/* One attempt to take or renew the Lease. 0 when held after it. */
static int try_hold(struct lease *l)
{
	struct kube_target t = {.api_version = "coordination.k8s.io/v1", .kind = "Lease", .namespace_ = l->ns,
				.name = l->name};
	char now[64];
	json_t *obj = NULL;
	int rc;

	micro_time(now, sizeof(now));
	rc = kube_get(l->kc, &t, NULL, &obj);
	if (rc == BERR_NOTFOUND) {
		err_clear();
		json_t *n = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:I,s:s,s:s,s:i}}", "apiVersion",
				      "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", l->name,
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
		rc = err_set(BERR_CONFLICT, "lease %s held by %s", l->name, holder ? holder : "?");
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

static void *renew_main(void *arg)
{
	struct lease *l = arg;
	while (!atomic_load(&l->stop)) {
		for (int64_t until = clock_mono_ms() + l->duration_ms / 3; clock_mono_ms() < until && !atomic_load(&l->stop);)
			clock_sleep_ms(100);
		if (atomic_load(&l->stop))
			break;
		if (try_hold(l) == 0) {
			l->last_renew_ms = clock_mono_ms();
		} else {
			log_warn("lease renewal failed", "lease", l->name, "error", err_msg(), NULL);
			err_clear();
			if (clock_mono_ms() - l->last_renew_ms > l->duration_ms * 2 / 3)
				atomic_store(&l->held, false);
		}
	}
	return NULL;
}

int lease_acquire(struct kube_client *kc, const char *ns, const char *name, int64_t duration_ms,
		  struct lease **ret)
{
	struct lease *l = calloc(1, sizeof(*l));
	char host[256] = "";
	if (!l)
		return err_set(BERR_NOMEM, "out of memory");
	gethostname(host, sizeof(host) - 1);
	l->kc = kc;
	l->ns = str_dup(ns);
	l->name = str_dup(name);
	l->identity = str_printf("%s_%ld_%ld", host, (long)getpid(), (long)(clock_wall_ms() % 100000));
	l->duration_ms = duration_ms;
	if (!l->ns || !l->name || !l->identity) {
		lease_release(l);
		return err_set(BERR_NOMEM, "out of memory");
	}
	log_info("waiting for the shard lease", "lease", name, "identity", l->identity, NULL);
	while (try_hold(l) < 0) {
		err_clear();
		clock_sleep_ms(duration_ms / 5 > 200 ? duration_ms / 5 : 200);
	}
	l->last_renew_ms = clock_mono_ms();
	atomic_store(&l->held, true);
	log_info("holding the shard lease", "lease", name, NULL);
	pthread_create(&l->thread, NULL, renew_main, l);
	*ret = l;
	return 0;
}

bool lease_held(struct lease *l)
{
	return l && atomic_load(&l->held);
}

void lease_release(struct lease *l)
{
	if (!l)
		return;
	if (atomic_load(&l->held)) {
		atomic_store(&l->stop, true);
		pthread_join(l->thread, NULL);
	}
	free(l->ns);
	free(l->name);
	free(l->identity);
	free(l);
}
