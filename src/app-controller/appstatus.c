/* Reading Applications and writing their status and operation.
 *
 * A status is written only when it differs from the stored one in more than
 * reconciledAt (and observedGeneration), so an unchanged app costs no write and a write cannot
 * trigger another (the write's own watch event finds nothing to change). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctl.h"
#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "str.h"

static struct kube_target app_target(const struct ctl *c, const char *name, const char *sub)
{
	return (struct kube_target){.api_version = MODEL_API_VERSION, .kind = MODEL_KIND_APP,
				    .namespace_ = c->ns, .name = name, .subresource = sub};
}

int ctl_app_get(struct ctl *c, const char *name, bool fresh, json_t **ret)
{
	if (!fresh && c->cp) {
		const struct lc_record *r = livecache_get(c->cp, MODEL_GROUP, MODEL_KIND_APP, c->ns, name);
		if (r) {
			int rc = lc_record_object(r, ret);
			lc_record_unref(r);
			if (rc == 0)
				return 0;
		}
	}
	struct kube_target t = app_target(c, name, NULL);
	return kube_get(c->kc, &t, NULL, ret);
}

/* A copy of status without reconciledAt and observedGeneration, for
 * comparisons. observedGeneration moves with every operation set or
 * cleared (the operation is outside metadata and status, so it bumps the
 * generation); it is written along with the next real change instead of
 * costing two status writes (and their watch events) per sync. */
static json_t *comparable(const json_t *status)
{
	json_t *s = json_is_object(status) ? json_copy((json_t *)status) : json_object();
	if (s) {
		json_object_del(s, "reconciledAt");
		json_object_del(s, "observedGeneration");
	}
	return s;
}

static bool same_status(const json_t *a, const json_t *b)
{
	json_t *x = comparable(a), *y = comparable(b);
	bool eq = x && y && jx_equal(x, y);
	json_decref(x);
	json_decref(y);
	return eq;
}

static int write_once(struct ctl *c, const json_t *obj, json_t *status)
{
	json_t *o = json_copy((json_t *)obj);
	if (!o)
		return err_set(BERR_NOMEM, "out of memory");
	json_object_set(o, "status", status);
	struct kube_target t = app_target(c, jx_path_str(obj, "metadata", "name", NULL), "status");
	int rc = kube_update(c->kc, &t, o, NULL, NULL);
	json_decref(o);
	return rc;
}

/* A failpoint for tests: with $BERTH_FAILPOINT_STATUS_WRITE_DELAY_MS set,
 * every status write waits that long between computing the status and
 * writing it, so an operation can start and finish in between (as it may on
 * a loaded machine: the reconcile that queues an operation writes the status
 * it computed from the copy read before). t0904 checks that such a stale
 * write keeps the operation's operationState and history. Read once. */
static int64_t failpoint_delay_ms(void)
{
	static atomic_llong cached = -1;
	long long ms = atomic_load(&cached);
	if (ms < 0) {
		const char *e = getenv("BERTH_FAILPOINT_STATUS_WRITE_DELAY_MS");
		int64_t v = 0;
		if (!e || str_to_i64(e, &v) < 0 || v < 0)
			v = 0;
		ms = v;
		atomic_store(&cached, ms);
	}
	return ms;
}

int ctl_status_write(struct ctl *c, const json_t *obj, json_t *status)
{
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	json_t *fresh = NULL;
	int rc;

	if (same_status(json_object_get(obj, "status"), status)) {
		atomic_fetch_add(&c->m.status_skipped, 1);
		return 0;
	}
	if (failpoint_delay_ms() > 0) {
		const char *rev = jx_path_str(status, "sync", "revision", NULL);
		log_info("failpoint: status write delayed", "app", name, "revision", rev ? rev : "", NULL);
		clock_sleep_ms(failpoint_delay_ms());
	}
	rc = write_once(c, obj, status);
	if (rc == BERR_CONFLICT) {
		err_clear();
		if ((rc = ctl_app_get(c, name, true, &fresh)) < 0)
			return rc;
		/* the operation workers own operationState and history: keep theirs */
		static const char *const owned[] = {"operationState", "history"};
		for (size_t i = 0; i < 2; i++) {
			json_t *v = jx_path(fresh, "status", owned[i], NULL);
			if (v)
				json_object_set(status, owned[i], v);
			else
				json_object_del(status, owned[i]);
		}
		if (same_status(json_object_get(fresh, "status"), status)) {
			json_decref(fresh);
			return 0;
		}
		rc = write_once(c, fresh, status);
		json_decref(fresh);
	}
	if (rc < 0)
		return err_prefix(rc, "write status of application \"%s\"", name);
	atomic_fetch_add(&c->m.status_writes, 1);
	ctl_publish(c, name, "status");
	return 1;
}

static int patch_operation(struct ctl *c, const char *name, json_t *op)
{
	json_t *patch = json_pack("{s:o}", "operation", op ? op : json_null());
	struct kube_target t = app_target(c, name, NULL);
	if (!patch)
		return err_set(BERR_NOMEM, "out of memory");
	int rc = kube_patch(c->kc, &t, KUBE_PATCH_MERGE, patch, NULL, NULL);
	json_decref(patch);
	return rc;
}

int ctl_operation_clear(struct ctl *c, const char *name)
{
	return patch_operation(c, name, NULL);
}

int ctl_operation_start(struct ctl *c, const json_t *obj, json_t *operation)
{
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	json_t *fresh = NULL, *patch = NULL;
	int rc;

	if (!name) {
		json_decref(operation);
		return err_set(BERR_INVALID, "application without a name");
	}
	if ((rc = ctl_app_get(c, name, true, &fresh)) < 0) {
		json_decref(operation);
		return rc;
	}
	const char *rv = jx_path_str(fresh, "metadata", "resourceVersion", NULL);
	json_t *g_then = jx_path((json_t *)obj, "metadata", "generation", NULL);
	json_t *g_now = jx_path(fresh, "metadata", "generation", NULL);
	/* An operation (a user's request) or a spec change since obj was read
	 * wins: the caller decides again from the new state. */
	json_t *cur_op = json_object_get(fresh, "operation");
	if (!rv || (cur_op && !json_is_null(cur_op)) ||
	    json_integer_value(g_then) != json_integer_value(g_now)) {
		json_decref(operation);
		rc = 0;
		goto out;
	}
	patch = json_pack("{s:{s:s},s:o}", "metadata", "resourceVersion", rv, "operation", operation);
	if (!patch) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	struct kube_target t = app_target(c, name, NULL);
	rc = kube_patch(c->kc, &t, KUBE_PATCH_MERGE, patch, NULL, NULL);
	if (rc == BERR_CONFLICT) {
		err_clear();
		rc = 0;
	} else if (rc == 0) {
		rc = 1;
	}
out:
	json_decref(fresh);
	json_decref(patch);
	return rc;
}

void ctl_publish(struct ctl *c, const char *name, const char *what)
{
	if (!c->cache)
		return;
	json_t *ev = json_pack("{s:s,s:s,s:s}", "type", what, "namespace", c->ns, "name", name);
	struct buf b;
	buf_init(&b, 4096);
	if (ev && jx_dump_compact(ev, &b) == 0)
		rcache_publish(c->cache, "applications", b.ptr, b.len);
	buf_release(&b);
	json_decref(ev);
}
