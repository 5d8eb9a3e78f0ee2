/* Sync operations (DESIGN.md §7): the plan of lib/syncplan walked step by
 * step — phase, then wave — applying, running hooks and pruning, a step
 * starting only when the previous one is applied and healthy.
 *
 * State lives in status.operationState: Running with the operation when it
 * starts, syncResult.resources updated after every step that another
 * follows (or in which a hook finished), then Succeeded or Failed, history
 * appended and the top-level operation cleared. Each write is one JSON
 * patch of operationState (the Application of a large app is large, and
 * every write of it costs the API server and every watcher). While the
 * operation is pending or running, compares of the app are held back
 * (ctl_compare_delay): each of its applies and writes would otherwise queue
 * a full compare that competes with it. A
 * controller killed mid-sync finds phase Running on restart and walks the
 * plan again: applying is idempotent, and hooks recorded as finished in
 * syncResult are not run twice. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "annot.h"
#include "clock.h"
#include "ctl.h"
#include "diff.h"
#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "str.h"
#include "syncplan.h"

#define POLL_MS 250
#define STEP_TIMEOUT_MS (10 * 60 * 1000)
#define CRD_TIMEOUT_MS 60000
#define HOOK_DELETE_TIMEOUT_MS 30000

struct sync_run {
	struct ctl *c;
	struct cluster *cl;
	struct model_app *app;
	const char *name;
	json_t *op;                /* the operation JSON (owned) */
	unsigned options;          /* ANNOT_SYNC_* of app + operation */
	bool dry_run;
	bool prune;
	json_t *results;           /* syncResult.resources (owned) */
	json_t *done_hooks;        /* {key: true} hooks finished before a restart */
	char *revision;
	char *started_at;
	char message[1024];
	bool failed;
	bool terminated;
	pthread_mutex_t mu;        /* results, failed and message, for parallel applies */
	/* where the time went (debug log at the end) */
	int64_t t_start, prepare_ms, apply_ms, wait_ms, write_ms;
	size_t n_tasks;
	unsigned writes;
	/* the first Running write, sent while the first step applies */
	pthread_t first_write;
	bool first_write_pending;
	bool running_written;      /* phase Running is stored (progress writes may test it) */
	json_t *first_os;
	int first_rc;
};

static json_t *result_entry(const json_t *obj, const char *status, const char *msg, const struct syncplan_task *t)
{
	char group[256];
	const char *av = jx_str(obj, "apiVersion");
	const char *slash = av ? strchr(av, '/') : NULL;
	annot_api_group(obj, group, sizeof(group));
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	const char *ns = jx_path_str(obj, "metadata", "namespace", NULL);
	json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "group", group, "version",
			      slash ? slash + 1 : av ? av : "", "kind", jx_str(obj, "kind") ? jx_str(obj, "kind") : "",
			      "namespace", ns ? ns : "", "name", name ? name : "", "status", status, "message",
			      msg ? msg : "", "syncPhase", syncplan_phase_name(t->phase));
	if (e && t->hook) {
		json_object_set_new(e, "hookType", json_string(syncplan_phase_name(t->phase)));
		json_object_set_new(e, "hookPhase", json_string(status));
	}
	return e;
}

static char *hook_key(const json_t *obj, enum syncplan_phase phase)
{
	return str_printf("%s/%s/%s/%s", syncplan_phase_name(phase), jx_str(obj, "kind") ? jx_str(obj, "kind") : "",
			  jx_path_str(obj, "metadata", "namespace", NULL) ? jx_path_str(obj, "metadata", "namespace", NULL) : "",
			  jx_path_str(obj, "metadata", "name", NULL) ? jx_path_str(obj, "metadata", "name", NULL) : "");
}

/* ---- writing operationState ---- */

static json_t *op_state_json(struct sync_run *s, const char *phase)
{
	char now[64];
	clock_now_rfc3339(now, sizeof(now));
	json_t *os = json_pack("{s:O,s:s,s:s,s:s,s:{s:O,s:s}}", "operation", s->op, "phase", phase, "message",
			       s->message, "startedAt", s->started_at ? s->started_at : now, "syncResult",
			       "resources", s->results, "revision", s->revision ? s->revision : "");
	if (os && strcmp(phase, "Running") && strcmp(phase, "Terminating"))
		json_object_set_new(os, "finishedAt", json_string(now));
	const json_t *src = jx_path(s->op, "sync", "source", NULL);
	if (os && !src)
		src = jx_path((json_t *)json_object_get(s->op, "sync"), "sources", NULL);
	return os;
}

static struct kube_target status_target(const struct sync_run *s)
{
	return (struct kube_target){.api_version = MODEL_API_VERSION, .kind = MODEL_KIND_APP,
				    .namespace_ = s->c->ns, .name = s->name, .subresource = "status"};
}

/* The slow path of write_op_state: read the app, replace operationState
 * (and history) in its status and PUT it, re-reading on conflicts. With
 * only_running, nothing is written when the stored phase is no longer
 * Running (a terminate request): s->terminated is set instead. */
static int put_op_state(struct sync_run *s, json_t *os, json_t *history, bool only_running)
{
	int rc = 0;
	for (int attempt = 0; attempt < 5; attempt++) {
		json_t *obj = NULL;
		if ((rc = ctl_app_get(s->c, s->name, true, &obj)) < 0)
			return rc;
		if (only_running && !str_eq_null(jx_path_str(obj, "status", "operationState", "phase", NULL), "Running")) {
			s->terminated = true;
			json_decref(obj);
			return 0;
		}
		json_t *st = json_is_object(json_object_get(obj, "status")) ? json_deep_copy(json_object_get(obj, "status"))
									    : json_object();
		json_object_set(st, "operationState", os);
		if (history)
			json_object_set(st, "history", history);
		json_object_set(obj, "status", st);
		json_decref(st);
		struct kube_target t = status_target(s);
		rc = kube_update(s->c->kc, &t, obj, NULL, NULL);
		json_decref(obj);
		if (rc != BERR_CONFLICT)
			break;
	}
	return rc;
}

/* Replaces operationState (and history when given) in the stored status.
 * One JSON patch on the status subresource: no read first and the
 * comparison fields (status.resources can hold thousands of entries) are
 * neither sent back nor overwritten; the status workers' writes carry a
 * resourceVersion and keep the stored operationState on a conflict. With
 * only_running the patch first tests that the stored phase is still
 * Running, so a terminate request (phase Terminating) is never
 * overwritten. When the patch cannot apply (no status yet, the test
 * failed) the app is read and written whole. */
static int write_op_state_now(struct sync_run *s, json_t *os, json_t *history, bool only_running)
{
	json_t *patch = json_array();
	int rc;
	if (!patch)
		return err_set(BERR_NOMEM, "out of memory");
	if (only_running)
		json_array_append_new(patch, json_pack("{s:s,s:s,s:s}", "op", "test", "path",
						       "/status/operationState/phase", "value", "Running"));
	json_array_append_new(patch, json_pack("{s:s,s:s,s:O}", "op", "add", "path", "/status/operationState",
					       "value", os));
	if (history)
		json_array_append_new(patch, json_pack("{s:s,s:s,s:O}", "op", "add", "path", "/status/history",
						       "value", history));
	struct kube_target t = status_target(s);
	int64_t t0 = clock_mono_ms();
	rc = json_array_size(patch) == 1u + (only_running ? 1 : 0) + (history ? 1 : 0)
		     ? kube_patch(s->c->kc, &t, KUBE_PATCH_JSON, patch, NULL, NULL)
		     : err_set(BERR_NOMEM, "out of memory");
	json_decref(patch);
	if (rc == BERR_INVALID || rc == BERR_CONFLICT) {
		err_clear();
		rc = put_op_state(s, os, history, only_running);
	}
	s->write_ms += clock_mono_ms() - t0;
	s->writes++;
	if (rc == 0)
		ctl_publish(s->c, s->name, "operation");
	return rc;
}

/* Waits for the first Running write (start_running) to be done. */
static void join_first_write(struct sync_run *s)
{
	if (!s->first_write_pending)
		return;
	pthread_join(s->first_write, NULL);
	s->first_write_pending = false;
	s->running_written = s->first_rc == 0;
	json_decref(s->first_os);
	s->first_os = NULL;
}

static int write_op_state(struct sync_run *s, json_t *os, json_t *history, bool only_running)
{
	join_first_write(s);
	return write_op_state_now(s, os, history, only_running && s->running_written);
}

/* Records phase Running; progress (only_running) never replaces a
 * terminate request. */
static int write_running(struct sync_run *s, bool only_running)
{
	json_t *os = op_state_json(s, "Running");
	int rc = os ? write_op_state(s, os, NULL, only_running) : err_set(BERR_NOMEM, "out of memory");
	json_decref(os);
	return rc;
}

static void *first_write_main(void *arg)
{
	struct sync_run *s = arg;
	if ((s->first_rc = write_op_state_now(s, s->first_os, NULL, false)) < 0) {
		log_debug("operationState not written", "app", s->name, "error", err_msg(), NULL);
		err_clear();
	}
	return NULL;
}

/* Records phase Running on a thread of its own while the first step
 * applies: with thousands of resources the Application object is large and
 * a write of it takes long. Harmless for a resume: the operation stays
 * until the final write, so a controller killed before this write landed
 * starts it again (applying is idempotent; no hook has finished yet). Every
 * later write joins it first. */
static void start_running(struct sync_run *s)
{
	json_t *os = op_state_json(s, "Running"), *copy = NULL;
	/* the workers append to s->results meanwhile: the thread gets a copy */
	if (os && (copy = json_deep_copy(s->results)))
		json_object_set_new(json_object_get(os, "syncResult"), "resources", copy);
	if (!os || !copy) {
		json_decref(os);
		return;
	}
	s->first_os = os;
	if (pthread_create(&s->first_write, NULL, first_write_main, s) == 0) {
		s->first_write_pending = true;
		return;
	}
	first_write_main(s);
	s->running_written = s->first_rc == 0;
	json_decref(s->first_os);
	s->first_os = NULL;
}

/* ---- termination ---- */

static bool terminate_requested(struct sync_run *s)
{
	json_t *obj = NULL;
	if (ctl_app_get(s->c, s->name, false, &obj) < 0) {
		err_clear();
		return false;
	}
	const char *phase = jx_path_str(obj, "status", "operationState", "phase", NULL);
	bool t = phase && !strcmp(phase, "Terminating");
	json_decref(obj);
	if (t)
		s->terminated = true;
	return t;
}

/* ---- applying ---- */

/* desired plus the last-applied annotation kubectl would write (for a
 * Secret: its keys with empty values). New reference. */
static json_t *with_last_applied(const json_t *desired)
{
	json_t *obj = json_deep_copy(desired), *rec = json_deep_copy(desired);
	struct buf b;
	if (!obj || !rec) {
		json_decref(obj);
		json_decref(rec);
		return NULL;
	}
	if (str_eq_null(jx_str(desired, "kind"), "Secret") && str_eq_null(jx_str(desired, "apiVersion"), "v1")) {
		const char *maps[] = {"data", "stringData"};
		for (int i = 0; i < 2; i++) {
			const char *k;
			json_t *v;
			json_object_foreach(json_object_get(rec, maps[i]), k, v)
				json_object_set_new(json_object_get(rec, maps[i]), k, json_string(""));
		}
	}
	buf_init(&b, (size_t)8 << 20);
	if (jx_dump_canonical(rec, &b) == 0 && buf_putc(&b, '\n') == 0) {
		json_t *ann = jx_obj_ensure(jx_obj_ensure(obj, "metadata"), "annotations");
		if (ann)
			json_object_set_new(ann, ANNOT_LAST_APPLIED, json_stringn(b.ptr, b.len));
	}
	buf_release(&b);
	json_decref(rec);
	return obj;
}

static int live_of(struct cluster *cl, const json_t *obj, json_t **ret)
{
	struct kube_target t;
	int rc = kube_target_of(obj, &t);
	if (rc < 0)
		return rc;
	return kube_get(cl->kc, &t, NULL, ret);
}

/* Whether every type of the cache has been listed: then an object it does
 * not hold is created without a GET first. Not the strict
 * livecache_synced, which is false while any watch event waits for
 * delivery — always, during a sync that creates objects. A cache behind
 * the cluster costs nothing worse than an AlreadyExists answer, after which
 * the object is read. */
static bool cache_listed(struct livecache *lc)
{
	if (livecache_wait_synced(lc, 0) == 0)
		return true;
	err_clear();
	return false;
}

/* Applies one desired object; 0 with *ret_changed telling whether a write
 * was sent, or a BERR code (message in err). */
static int apply_object(struct sync_run *s, const json_t *desired, unsigned obj_opts, bool *ret_changed)
{
	struct kube_target t;
	struct kube_req_opts ro = {.dry_run = s->dry_run, .field_manager = "berth"};
	unsigned opts = s->options | obj_opts;
	json_t *live = NULL, *body = NULL;
	int rc;

	*ret_changed = false;
	if ((rc = kube_target_of(desired, &t)) < 0)
		return rc;
	if (opts & ANNOT_SYNC_SERVER_SIDE_APPLY) {
		ro.force = true;
		*ret_changed = true;
		return kube_patch(s->cl->kc, &t, KUBE_PATCH_APPLY, desired, &ro, NULL);
	}
	/* The live object from the cache when it is kept there in full (one
	 * GET less per object); absent from the cache: create it, and only on
	 * "already exists" (a cache behind the cluster) read it. */
	char group[256];
	annot_api_group(desired, group, sizeof(group));
	const struct lc_record *rec = livecache_get(s->cl->lc, group, t.kind, t.namespace_, t.name);
	bool cached = false;
	if (rec && rec->full && lc_record_object(rec, &live) == 0) {
		rc = 0;
		cached = true;
	} else if (!rec && cache_listed(s->cl->lc)) {
		rc = BERR_NOTFOUND;
	} else {
		rc = live_of(s->cl, desired, &live);
	}
	lc_record_unref(rec);
	if (rc == BERR_NOTFOUND) {
		err_clear();
		if (!(body = with_last_applied(desired)))
			return err_set(BERR_NOMEM, "out of memory");
		rc = kube_create(s->cl->kc, &t, body, &ro, NULL);
		*ret_changed = true;
		if (rc != BERR_EXISTS)
			goto out;
		err_clear();
		if ((rc = live_of(s->cl, desired, &live)) < 0)
			goto out;
	}
	if (rc < 0)
		goto out;
	if (opts & ANNOT_SYNC_APPLY_OUT_OF_SYNC_ONLY) {
		/* an object already in sync is left alone (no PUT, no patch) */
		struct diff_result same;
		diff_result_init(&same);
		bool in_sync = diff_compute(desired, live, NULL, &same) == 0 && !same.modified;
		diff_result_release(&same);
		err_clear();
		if (in_sync)
			goto out;
	}
	if (opts & ANNOT_SYNC_REPLACE) {
		if (!(body = with_last_applied(desired))) {
			rc = err_set(BERR_NOMEM, "out of memory");
			goto out;
		}
		json_t *rv = jx_path(live, "metadata", "resourceVersion", NULL);
		if (rv)
			json_object_set(json_object_get(body, "metadata"), "resourceVersion", rv);
		rc = kube_update(s->cl->kc, &t, body, &ro, NULL);
		*ret_changed = true;
		goto out;
	}
	struct diff_result dr;
	diff_result_init(&dr);
	if ((rc = diff_compute(desired, live, NULL, &dr)) == 0 && dr.modified && dr.patch) {
		rc = kube_patch(s->cl->kc, &t, dr.patch_is_strategic ? KUBE_PATCH_STRATEGIC : KUBE_PATCH_MERGE, dr.patch,
				&ro, NULL);
		*ret_changed = true;
		if (rc == BERR_NOTFOUND && cached) {
			/* deleted since the cache saw it */
			err_clear();
			if ((body = with_last_applied(desired)))
				rc = kube_create(s->cl->kc, &t, body, &ro, NULL);
			else
				rc = err_set(BERR_NOMEM, "out of memory");
		}
	}
	diff_result_release(&dr);
out:
	json_decref(live);
	json_decref(body);
	return rc;
}

/* Waits until a CRD is Established (its custom resources come next). */
static int wait_crd(struct sync_run *s, const json_t *crd)
{
	int64_t deadline = clock_mono_ms() + CRD_TIMEOUT_MS;
	while (clock_mono_ms() < deadline) {
		json_t *live = NULL;
		struct health h;
		if (live_of(s->cl, crd, &live) == 0 && health_assess(live, NULL, &h) == 1 &&
		    h.status == HEALTH_HEALTHY) {
			json_decref(live);
			kube_discover(s->cl->kc);
			return 0;
		}
		json_decref(live);
		err_clear();
		clock_sleep_ms(POLL_MS);
	}
	return err_set(BERR_TIMEOUT, "CustomResourceDefinition %s not established",
		       jx_path_str(crd, "metadata", "name", NULL));
}

static int delete_object(struct cluster *cl, const json_t *obj, const char *policy, bool wait_gone)
{
	struct kube_target t;
	struct kube_req_opts ro = {.propagation_policy = policy};
	int rc = kube_target_of(obj, &t);
	if (rc < 0)
		return rc;
	rc = kube_delete(cl->kc, &t, &ro, NULL);
	if (rc == BERR_NOTFOUND) {
		err_clear();
		return 0;
	}
	if (rc < 0 || !wait_gone)
		return rc;
	int64_t deadline = clock_mono_ms() + HOOK_DELETE_TIMEOUT_MS;
	while (clock_mono_ms() < deadline) {
		json_t *live = NULL;
		rc = kube_get(cl->kc, &t, NULL, &live);
		json_decref(live);
		if (rc == BERR_NOTFOUND) {
			err_clear();
			return 0;
		}
		clock_sleep_ms(POLL_MS);
	}
	return err_set(BERR_TIMEOUT, "%s %s still exists", t.kind, t.name);
}

static const char *prune_policy(unsigned opts)
{
	if (opts & ANNOT_SYNC_PRUNE_PROPAGATION_BACKGROUND)
		return "Background";
	if (opts & ANNOT_SYNC_PRUNE_PROPAGATION_ORPHAN)
		return "Orphan";
	return "Foreground";
}

/* Runs one task; the object of a created hook goes to *ret_obj (for the
 * wait). 0 or a BERR code (then s->failed and s->message are set). */
static int run_task(struct sync_run *s, const struct syncplan_task *t, json_t **ret_obj)
{
	bool changed = false;
	int rc = 0;
	const char *status = "Synced";
	char msg[512] = "";

	*ret_obj = NULL;
	if (t->prune) {
		if (!s->dry_run)
			rc = delete_object(s->cl, t->obj, prune_policy(s->options | t->sync_options), false);
		status = "Pruned";
		str_copy(msg, "pruned", sizeof(msg));
	} else if (t->hook) {
		char *key = hook_key(t->obj, t->phase);
		bool done = key && json_object_get(s->done_hooks, key);
		free(key);
		if (done || s->dry_run)
			return 0;
		json_t *created = NULL;
		struct kube_target kt;
		if (*t->name && (t->delete_policies & ANNOT_DELETE_BEFORE_HOOK_CREATION))
			rc = delete_object(s->cl, t->obj, "Background", true);
		if (rc == 0 && (rc = kube_target_of(t->obj, &kt)) == 0) {
			json_t *body = with_last_applied(t->obj);
			rc = body ? kube_create(s->cl->kc, &kt, body, NULL, &created) : err_set(BERR_NOMEM, "out of memory");
			json_decref(body);
		}
		if (rc == 0) {
			*ret_obj = created;
			status = "Running";
			str_copy(msg, "hook created", sizeof(msg));
		}
	} else {
		rc = apply_object(s, t->obj, t->sync_options, &changed);
		snprintf(msg, sizeof(msg), "%s%s", changed ? "applied" : "unchanged", s->dry_run ? " (dry run)" : "");
		if (rc == 0 && !s->dry_run && str_eq_null(t->kind, "CustomResourceDefinition"))
			rc = wait_crd(s, t->obj);
	}
	json_t *entry = result_entry(t->obj, status, msg, t);
	pthread_mutex_lock(&s->mu);
	if (rc < 0) {
		json_object_set_new(entry, "status", json_string("SyncFailed"));
		json_object_set_new(entry, "message", json_string(err_msg()));
		s->failed = true;
		snprintf(s->message, sizeof(s->message), "one or more objects failed to apply: %s %s: %s", t->kind,
			 t->name, err_msg());
		err_clear();
	}
	json_array_append_new(s->results, entry);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Updates the hook's entry in results. */
static void set_hook_result(struct sync_run *s, const json_t *obj, const char *phase, const char *msg)
{
	size_t i;
	json_t *e;
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	json_array_foreach(s->results, i, e) {
		if (str_eq_null(jx_str(e, "kind"), jx_str(obj, "kind")) && str_eq_null(jx_str(e, "name"), name) &&
		    json_object_get(e, "hookType")) {
			json_object_set_new(e, "hookPhase", json_string(phase));
			json_object_set_new(e, "status", json_string(!strcmp(phase, "Succeeded") ? "Synced" : phase));
			json_object_set_new(e, "message", json_string(msg));
		}
	}
}

/* Waits for the step's hooks to finish and, when more steps follow, its
 * resources to be healthy. */
static int wait_step(struct sync_run *s, const struct syncplan *p, size_t from, size_t end, json_t **created,
		     bool last)
{
	int64_t deadline = clock_mono_ms() + STEP_TIMEOUT_MS;
	bool *done = calloc(end - from + 1, sizeof(bool));
	int rc = 0;
	if (!done)
		return err_set(BERR_NOMEM, "out of memory");
	for (;;) {
		bool all = true;
		for (size_t i = from; i < end; i++) {
			const struct syncplan_task *t = &p->tasks[i];
			json_t *obj = created[i - from] ? created[i - from] : (json_t *)t->obj;
			if (done[i - from] || t->prune || (!t->hook && last) || (t->hook && !created[i - from])) {
				done[i - from] = true;
				continue;
			}
			json_t *live = NULL;
			struct health h;
			if (live_of(s->cl, obj, &live) < 0) {
				err_clear();
				all = false;
				continue;
			}
			int hr = health_assess(live, NULL, &h);
			json_decref(live);
			if (hr != 1 || h.status == HEALTH_HEALTHY) {
				done[i - from] = true;
				if (t->hook) {
					set_hook_result(s, obj, "Succeeded", h.message);
					char *key = hook_key(t->obj, t->phase);
					if (key)
						json_object_set_new(s->done_hooks, key, json_true());
					free(key);
					if (t->delete_policies & ANNOT_DELETE_HOOK_SUCCEEDED)
						delete_object(s->cl, obj, "Background", false);
				}
				continue;
			}
			if (t->hook && h.status == HEALTH_DEGRADED) {
				done[i - from] = true;
				set_hook_result(s, obj, "Failed", h.message);
				s->failed = true;
				snprintf(s->message, sizeof(s->message), "%s hook %s %s failed: %.400s",
					 syncplan_phase_name(t->phase), t->kind, jx_path_str(obj, "metadata", "name", NULL),
					 h.message);
				if (t->delete_policies & ANNOT_DELETE_HOOK_FAILED)
					delete_object(s->cl, obj, "Background", false);
				continue;
			}
			all = false;
		}
		if (all || s->failed)
			break;
		if (terminate_requested(s))
			break;
		if (clock_mono_ms() > deadline) {
			s->failed = true;
			snprintf(s->message, sizeof(s->message), "timed out waiting for wave %d to become healthy",
				 p->tasks[from].wave);
			break;
		}
		clock_sleep_ms(POLL_MS);
	}
	free(done);
	return rc;
}

/* Plain applies and prunes of one kind in a step run on APPLY_THREADS
 * threads (kinds stay in order; a hook runs alone). */
#define APPLY_THREADS 8

struct apply_batch {
	struct sync_run *s;
	const struct syncplan_task *tasks;
	json_t **created;
	size_t n;
	atomic_size_t next;
};

static void *apply_thread(void *arg)
{
	struct apply_batch *b = arg;
	for (size_t i; (i = atomic_fetch_add(&b->next, 1)) < b->n;)
		run_task(b->s, &b->tasks[i], &b->created[i]);
	return NULL;
}

static void run_batch(struct sync_run *s, const struct syncplan_task *tasks, json_t **created, size_t n)
{
	pthread_t th[APPLY_THREADS];
	size_t nt = n < APPLY_THREADS ? n : APPLY_THREADS, started = 0;
	struct apply_batch b = {.s = s, .tasks = tasks, .created = created, .n = n};
	if (n < 4) {
		for (size_t i = 0; i < n && !s->failed; i++)
			run_task(s, &tasks[i], &created[i]);
		return;
	}
	for (size_t i = 0; i < nt; i++)
		if (pthread_create(&th[started], NULL, apply_thread, &b) == 0)
			started++;
	if (!started)
		apply_thread(&b);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* Runs the steps of tasks[0..n); stops at the first failure. */
static int run_tasks(struct sync_run *s, const struct syncplan *p)
{
	for (size_t from = 0; from < p->n && !s->failed && !s->terminated;) {
		size_t end = syncplan_step(p, from);
		json_t **created = calloc(end - from + 1, sizeof(*created));
		if (!created)
			return err_set(BERR_NOMEM, "out of memory");
		snprintf(s->message, sizeof(s->message), "running %s wave %d", syncplan_phase_name(p->tasks[from].phase),
			 p->tasks[from].wave);
		int64_t t_apply = clock_mono_ms();
		for (size_t i = from; i < end && !s->failed;) {
			size_t j = i + 1;
			if (!p->tasks[i].hook)
				while (j < end && !p->tasks[j].hook && p->tasks[j].kind_order == p->tasks[i].kind_order &&
				       str_eq_null(p->tasks[j].kind, p->tasks[i].kind))
					j++;
			run_batch(s, &p->tasks[i], &created[i - from], j - i);
			i = j;
		}
		int64_t t_wait = clock_mono_ms();
		s->apply_ms += t_wait - t_apply;
		if (!s->failed && !s->dry_run)
			wait_step(s, p, from, end, created, end >= p->n);
		s->wait_ms += clock_mono_ms() - t_wait;
		for (size_t i = from; i < end; i++)
			json_decref(created[i - from]);
		free(created);
		/* progress, unless a terminate request arrived (not to overwrite
		 * it); after the last step the final state follows at once, so
		 * it is skipped there unless a hook finished (recorded for a
		 * resume) */
		bool hooks = false;
		for (size_t i = from; i < end; i++)
			hooks |= p->tasks[i].hook;
		if ((end < p->n || hooks) && !s->failed && !s->terminated && !terminate_requested(s) &&
		    write_running(s, true) < 0)
			err_clear();
		from = end;
	}
	return 0;
}

static int run_fail_hooks(struct sync_run *s, const struct syncplan *p)
{
	if (!p->n_fail || s->dry_run)
		return 0;
	struct syncplan fp = {.tasks = p->fail_tasks, .n = p->n_fail};
	char saved[sizeof(s->message)];
	str_copy(saved, s->message, sizeof(saved));
	s->failed = false;
	run_tasks(s, &fp);
	str_copy(s->message, saved, sizeof(saved));
	s->failed = true;
	return 0;
}

/* ---- compares while an operation runs ---- */

/* {app name: monotonic ms of its last compare while busy}; one controller
 * per process. An entry lives from the first compare that finds the app
 * busy to the first that finds it idle. */
static pthread_mutex_t busy_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *busy_apps;

int64_t ctl_compare_delay(struct ctl *c, const char *name, bool busy)
{
	int64_t now = clock_mono_ms(), delay = 0;
	(void)c;
	pthread_mutex_lock(&busy_mu);
	if (!busy_apps)
		busy_apps = json_object();
	json_t *e = json_object_get(busy_apps, name);
	if (!busy) {
		if (e)
			json_object_del(busy_apps, name);
	} else if (!e) {
		json_object_set_new(busy_apps, name, json_integer(now));
		delay = SYNC_COMPARE_INTERVAL_MS;
	} else if (now - json_integer_value(e) >= SYNC_COMPARE_INTERVAL_MS) {
		json_integer_set(e, now);
	} else {
		delay = SYNC_COMPARE_INTERVAL_MS - (now - json_integer_value(e));
	}
	pthread_mutex_unlock(&busy_mu);
	return delay;
}

/* The operation has ended: the next compare runs at once, even one that
 * still finds the operation in a stale cached copy of the app. */
static void compare_now(const char *name)
{
	pthread_mutex_lock(&busy_mu);
	json_t *e = json_object_get(busy_apps, name);
	if (e)
		json_integer_set(e, INT64_MIN / 2);
	pthread_mutex_unlock(&busy_mu);
}

/* ---- the operation ---- */

static bool selected(const struct model_operation *op, const json_t *obj)
{
	if (!op->n_resources)
		return true;
	char group[256];
	annot_api_group(obj, group, sizeof(group));
	for (size_t i = 0; i < op->n_resources; i++) {
		const struct model_sync_resource *r = &op->resources[i];
		if (str_eq_null(r->kind, jx_str(obj, "kind")) &&
		    str_eq_null(r->name, jx_path_str(obj, "metadata", "name", NULL)) &&
		    str_eq_null(r->group ? r->group : "", group) &&
		    (!r->namespace_ || !*r->namespace_ ||
		     str_eq_null(r->namespace_, jx_path_str(obj, "metadata", "namespace", NULL))))
			return true;
	}
	return false;
}

static char *obj_key(const json_t *obj)
{
	char group[256];
	annot_api_group(obj, group, sizeof(group));
	const char *ns = jx_path_str(obj, "metadata", "namespace", NULL);
	return str_printf("%s/%s/%s/%s", group, jx_str(obj, "kind") ? jx_str(obj, "kind") : "", ns ? ns : "",
			  jx_path_str(obj, "metadata", "name", NULL) ? jx_path_str(obj, "metadata", "name", NULL) : "");
}

/* Desired objects (selected), and live objects to prune. */
static int select_objects(struct sync_run *s, const struct model_operation *op, json_t *desired_all,
			  json_t **ret_desired, json_t **ret_prune)
{
	json_t *desired = json_array(), *prune = json_array(), *live = NULL, *keys = json_object();
	size_t i;
	json_t *o;
	int rc;

	if (!desired || !prune || !keys) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto fail;
	}
	json_array_foreach(desired_all, i, o) {
		char *k = obj_key(o);
		if (k)
			json_object_set_new(keys, k, json_true());
		free(k);
		if (selected(op, o))
			json_array_append(desired, o);
	}
	if ((rc = ctl_live_objects(s->cl, s->name, &live)) < 0)
		goto fail;
	json_array_foreach(live, i, o) {
		char *k = obj_key(o);
		struct annot an;
		bool hook = annot_parse(o, &an) == 0 && (an.is_hook || an.skip);
		annot_release(&an);
		err_clear();
		if (k && !json_object_get(keys, k) && !hook && s->prune && selected(op, o))
			json_array_append(prune, o);
		free(k);
	}
	json_decref(live);
	json_decref(keys);
	*ret_desired = desired;
	*ret_prune = prune;
	return 0;
fail:
	json_decref(desired);
	json_decref(prune);
	json_decref(keys);
	return rc;
}

static int ensure_namespace(struct sync_run *s)
{
	const char *ns = s->app->destination.namespace_;
	if (!ns || !*ns || !(s->options & ANNOT_SYNC_CREATE_NAMESPACE) || s->dry_run)
		return 0;
	json_t *obj = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", ns);
	struct kube_target t = {.api_version = "v1", .kind = "Namespace"};
	int rc = obj ? kube_create(s->cl->kc, &t, obj, NULL, NULL) : err_set(BERR_NOMEM, "out of memory");
	json_decref(obj);
	if (rc == BERR_EXISTS) {
		err_clear();
		rc = 0;
	}
	return rc;
}

static json_t *history_json(struct sync_run *s, const json_t *obj)
{
	const json_t *old = jx_path((json_t *)obj, "status", "history", NULL);
	json_t *h = json_is_array(old) ? json_deep_copy(old) : json_array();
	int64_t id = 0;
	size_t i;
	json_t *e;
	char now[64];
	clock_now_rfc3339(now, sizeof(now));
	json_array_foreach(h, i, e)
		if (json_integer_value(json_object_get(e, "id")) >= id)
			id = json_integer_value(json_object_get(e, "id")) + 1;
	json_t *sync = json_object_get(s->op, "sync");
	json_t *entry = json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)id, "revision", s->revision ? s->revision : "",
				  "deployedAt", now, "deployStartedAt", s->started_at ? s->started_at : now);
	const json_t *spec = jx_path((json_t *)obj, "spec", NULL);
	json_t *src = json_object_get(sync, "source") ? json_object_get(sync, "source") : json_object_get(spec, "source");
	json_t *srcs = json_object_get(sync, "sources") ? json_object_get(sync, "sources")
							: json_object_get(spec, "sources");
	if (src)
		json_object_set(entry, "source", src);
	else if (srcs)
		json_object_set(entry, "sources", srcs);
	if (json_object_get(s->op, "initiatedBy"))
		json_object_set(entry, "initiatedBy", json_object_get(s->op, "initiatedBy"));
	json_array_append_new(h, entry);
	int64_t limit = s->app->revision_history_limit > 0 ? s->app->revision_history_limit : MODEL_DEFAULT_HISTORY_LIMIT;
	while ((int64_t)json_array_size(h) > limit)
		json_array_remove(h, 0);
	return h;
}

/* One debug line: total, preparing (manifests, project, plan), applying,
 * waiting for health, writing operationState (count; the first write
 * overlaps applying). */
static void log_timings(const struct sync_run *s)
{
	int64_t total = clock_mono_ms() - s->t_start;
	char v[6][24];
	snprintf(v[0], sizeof(v[0]), "%lld", (long long)total);
	snprintf(v[1], sizeof(v[1]), "%lld", (long long)s->prepare_ms);
	snprintf(v[2], sizeof(v[2]), "%lld", (long long)s->apply_ms);
	snprintf(v[3], sizeof(v[3]), "%lld", (long long)s->wait_ms);
	snprintf(v[4], sizeof(v[4]), "%lld/%u", (long long)s->write_ms, s->writes);
	snprintf(v[5], sizeof(v[5]), "%zu", s->n_tasks);
	log_debug("sync timings", "app", s->name, "total_ms", v[0], "prepare_ms", v[1], "apply_ms", v[2], "wait_ms",
		  v[3], "write_ms", v[4], "tasks", v[5], NULL);
}

static int finish(struct sync_run *s, const json_t *obj)
{
	const char *phase = s->failed || s->terminated ? "Failed" : "Succeeded";
	if (s->terminated)
		str_copy(s->message, "operation terminated", sizeof(s->message));
	else if (!s->failed)
		snprintf(s->message, sizeof(s->message), "successfully synced (all tasks run)%s",
			 s->dry_run ? " (dry run)" : "");
	json_t *os = op_state_json(s, phase);
	const json_t *old = jx_path((json_t *)obj, "status", "operationState", NULL);
	int64_t retries = json_integer_value(jx_path(s->op, "retry", "limit", NULL));
	if (os && s->failed && str_eq_null(jx_path_str(old, "syncResult", "revision", NULL), s->revision))
		json_object_set_new(os, "retryCount", json_integer(retries));
	json_t *history = (!s->failed && !s->terminated && !s->dry_run) ? history_json(s, obj) : NULL;
	int rc = os ? write_op_state(s, os, history, false) : err_set(BERR_NOMEM, "out of memory");
	json_decref(os);
	json_decref(history);
	if (rc == 0)
		rc = ctl_operation_clear(s->c, s->name);
	log_info("sync finished", "app", s->name, "phase", phase, "message", s->message, NULL);
	log_timings(s);
	return rc;
}

static int resolve_cluster(struct ctl *c, struct model_app *app, struct cluster **ret)
{
	struct model_cluster *cls = NULL;
	size_t n = 0;
	struct model_destination dst = {0};
	int rc = ctl_cluster_list(c, &cls, &n);
	if (rc == 0 && model_destination_resolve(&app->destination, cls, n, &dst) < 0)
		rc = err_code() ? err_code() : BERR_NOTFOUND;
	if (rc == 0) {
		free(app->destination.server);
		free(app->destination.name);
		app->destination.server = str_dup(dst.server);
		app->destination.name = str_dup(dst.name);
		rc = ctl_cluster_get(c, dst.server, ret);
	}
	if (rc == 0)
		rc = livecache_wait_synced((*ret)->lc, 30000);
	model_destination_release(&dst);
	for (size_t i = 0; i < n; i++)
		model_cluster_release(&cls[i]);
	free(cls);
	return rc;
}

static int check_project(struct ctl *c, struct model_app *app, json_t *desired, char *msg, size_t size)
{
	struct model_project proj = {0};
	const struct lc_record *r = livecache_get(c->cp, MODEL_GROUP, MODEL_KIND_PROJECT, c->ns, app->project);
	json_t *pobj = NULL;
	int rc = 0;
	char *why = NULL;
	if (r && lc_record_object(r, &pobj) == 0)
		rc = model_project_parse(pobj, &proj);
	else if (!strcmp(app->project, MODEL_DEFAULT_PROJECT))
		rc = model_project_init_default(&proj, c->ns);
	else
		rc = err_set(BERR_NOTFOUND, "project %s does not exist", app->project);
	lc_record_unref(r);
	json_decref(pobj);
	if (rc < 0) {
		str_copy(msg, err_msg(), size);
		return rc;
	}
	if (!model_project_permits_app(&proj, app, &why)) {
		rc = BERR_FORBIDDEN;
	} else {
		size_t i;
		json_t *o;
		json_array_foreach(desired, i, o) {
			char group[256];
			annot_api_group(o, group, sizeof(group));
			bool namespaced = jx_path_str(o, "metadata", "namespace", NULL) != NULL;
			if (!model_project_permits_resource(&proj, group, jx_str(o, "kind"), namespaced, &why)) {
				rc = BERR_FORBIDDEN;
				break;
			}
		}
	}
	if (rc < 0)
		str_copy(msg, why ? why : "not permitted by the project", size);
	free(why);
	model_project_release(&proj);
	return rc;
}

static void collect_done_hooks(struct sync_run *s, const json_t *old_os)
{
	size_t i;
	json_t *e;
	json_array_foreach(jx_path((json_t *)old_os, "syncResult", "resources", NULL), i, e) {
		if (!str_eq_null(jx_str(e, "hookPhase"), "Succeeded"))
			continue;
		json_array_append(s->results, e);
		char *k = str_printf("%s/%s/%s/%s", jx_str(e, "hookType") ? jx_str(e, "hookType") : "",
				     jx_str(e, "kind") ? jx_str(e, "kind") : "", jx_str(e, "namespace") ? jx_str(e, "namespace") : "",
				     jx_str(e, "name") ? jx_str(e, "name") : "");
		if (k)
			json_object_set_new(s->done_hooks, k, json_true());
		free(k);
	}
}

static int sync_app(struct ctl *c, const json_t *obj, struct model_app *app, struct model_operation *op,
		    json_t *op_json, bool resuming)
{
	struct sync_run s = {.c = c, .app = app, .name = app->meta.name, .op = json_incref(op_json),
			     .results = json_array(), .done_hooks = json_object()};
	pthread_mutex_init(&s.mu, NULL);
	struct syncplan plan = {0};
	json_t *desired_all = NULL, *desired = NULL, *prune = NULL;
	char *type = NULL;
	const json_t *old_os = jx_path((json_t *)obj, "status", "operationState", NULL);
	char now[64];
	int rc;

	s.t_start = clock_mono_ms();
	clock_now_rfc3339(now, sizeof(now));
	s.started_at = str_dup(resuming && jx_str(old_os, "startedAt") ? jx_str(old_os, "startedAt") : now);
	s.dry_run = op->dry_run;
	s.prune = op->prune;
	annot_sync_options_array(jx_path(op_json, "sync", "syncOptions", NULL), &s.options, NULL, NULL);
	for (size_t i = 0; i < app->sync_policy.sync_options.n; i++)
		annot_sync_option_add(app->sync_policy.sync_options.v[i], &s.options);
	if (resuming)
		collect_done_hooks(&s, old_os);
	if ((rc = resolve_cluster(c, app, &s.cl)) < 0) {
		s.failed = true;
		snprintf(s.message, sizeof(s.message), "%s", err_msg());
		goto done;
	}
	const struct model_sources *srcs = op->sources.n ? &op->sources : &app->sources;
	if ((rc = ctl_manifests(c, s.cl, app, srcs, op->revision, false, &desired_all, &s.revision, &type)) < 0) {
		s.failed = true;
		snprintf(s.message, sizeof(s.message), "%s", err_msg());
		goto done;
	}
	if (check_project(c, app, desired_all, s.message, sizeof(s.message)) < 0) {
		s.failed = true;
		goto done;
	}
	if (!s.dry_run)
		start_running(&s);
	if ((rc = select_objects(&s, op, desired_all, &desired, &prune)) < 0 ||
	    (rc = ensure_namespace(&s)) < 0) {
		s.failed = true;
		snprintf(s.message, sizeof(s.message), "%s", err_msg());
		goto done;
	}
	if (op->prune && json_array_size(desired) == 0 && json_array_size(prune) > 0 && !app->sync_policy.allow_empty &&
	    json_object_get(op_json, "initiatedBy") && jx_path(op_json, "initiatedBy", "automated", NULL) == json_true()) {
		s.failed = true;
		str_copy(s.message, "refusing to prune every resource: allowEmpty is off", sizeof(s.message));
		goto done;
	}
	struct syncplan_options po = {.prune_last = (s.options & ANNOT_SYNC_PRUNE_LAST) != 0};
	if ((rc = syncplan_build(desired, prune, &po, &plan)) < 0) {
		s.failed = true;
		snprintf(s.message, sizeof(s.message), "%s", err_msg());
		goto done;
	}
	s.prepare_ms = clock_mono_ms() - s.t_start;
	s.n_tasks = plan.n;
	run_tasks(&s, &plan);
	if (s.failed && !s.terminated)
		run_fail_hooks(&s, &plan);
done:
	err_clear();
	rc = finish(&s, obj);
	syncplan_release(&plan);
	json_decref(desired_all);
	json_decref(desired);
	json_decref(prune);
	json_decref(s.op);
	json_decref(s.results);
	json_decref(s.done_hooks);
	free(s.revision);
	free(s.started_at);
	free(type);
	pthread_mutex_destroy(&s.mu);
	compare_now(app->meta.name);
	workq_add(c->status_q, app->meta.name);
	return rc;
}

int ctl_sync(struct ctl *c, const char *name)
{
	json_t *obj = NULL;
	struct model_app app = {0};
	struct model_operation resumed = {0};
	int64_t t0 = clock_mono_ms();
	int rc;

	if ((rc = ctl_app_get(c, name, true, &obj)) < 0) {
		if (rc == BERR_NOTFOUND) {
			err_clear();
			ctl_compare_delay(c, name, false);
		}
		return rc == BERR_NOTFOUND ? 0 : rc;
	}
	if ((rc = model_app_parse(obj, &app)) < 0 || !ctl_app_in_shard(c, &app))
		goto out;
	const json_t *os = jx_path(obj, "status", "operationState", NULL);
	const char *phase = jx_str(os, "phase");
	bool running = phase && (!strcmp(phase, "Running") || !strcmp(phase, "Terminating"));
	json_t *op_json = json_object_get(obj, "operation");
	struct model_operation *op = &app.operation;
	if (!app.operation.present) {
		if (!running)
			goto out;
		op_json = json_object_get(os, "operation");
		if (!op_json || (rc = model_operation_parse(op_json, "status.operationState.operation", &resumed)) < 0)
			goto out;
		op = &resumed;
	}
	if (!op->sync_present || app.meta.deletion_timestamp)
		goto out;
	if (!running && op->sources.n && app.sync_policy.automated) {
		/* a rollback (a history entry's source) would be undone at once */
		log_warn("rollback refused: auto-sync is on", "app", name, NULL);
		rc = ctl_operation_clear(c, name);
		goto out;
	}
	log_info(running ? "resuming sync" : "sync", "app", name, NULL);
	atomic_fetch_add(&c->m.syncs, 1);
	rc = sync_app(c, obj, &app, op, op_json, running);
	atomic_fetch_add(&c->m.sync_ms, (unsigned long long)(clock_mono_ms() - t0));
out:
	model_operation_release(&resumed);
	model_app_release(&app);
	json_decref(obj);
	return rc;
}

/* ---- deletion (finalizer) ---- */

int ctl_delete_resources(struct ctl *c, struct cluster *cl, const struct model_app *app)
{
	json_t *live = NULL;
	int rc = ctl_live_objects(cl, app->meta.name, &live);
	(void)c;
	if (rc < 0)
		return rc;
	int top = INT32_MIN;
	size_t i, n_deletable = 0;
	json_t *o;
	/* Delete=false objects stay when the app goes (they are not waited for) */
	json_array_foreach(live, i, o) {
		struct annot an;
		int wave = 0;
		bool keep = false;
		if (annot_parse(o, &an) == 0) {
			wave = an.wave;
			keep = an.sync_options & ANNOT_SYNC_DELETE_FALSE;
		}
		if (!keep) {
			n_deletable++;
			if (wave > top)
				top = wave;
		}
		annot_release(&an);
		err_clear();
	}
	if (n_deletable == 0) {
		json_decref(live);
		return 1;
	}
	json_array_foreach(live, i, o) {
		struct annot an;
		bool keep = false;
		int wave = 0;
		if (annot_parse(o, &an) == 0) {
			wave = an.wave;
			keep = an.sync_options & ANNOT_SYNC_DELETE_FALSE;
		}
		annot_release(&an);
		err_clear();
		if (!keep && wave == top && !jx_path_str(o, "metadata", "deletionTimestamp", NULL) &&
		    delete_object(cl, o, "Foreground", false) < 0)
			err_clear();
	}
	json_decref(live);
	return 0;
}
