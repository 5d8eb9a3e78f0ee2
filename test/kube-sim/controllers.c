/* controllers — see controllers.h. This file holds the work queue, the
 * dispatch of store events, the shared helpers (ctrl.h), the simulated
 * kubelet, and the small controllers (Services, Ingresses, PVCs, Nodes);
 * the workload controllers live in workloads.c. */
#include "controllers.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "ctrl.h"
#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "str.h"

/* One pending reconcile: (type, ns, name) due at a monotonic time. */
struct work {
	const struct ks_type *t;
	char *ns, *name;
	int64_t due_ms;
};

struct controllers {
	struct ctrl c;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, started;
	struct work *q;   /* unordered; small (one entry per object with work) */
	size_t n, cap;
	int sub;
};

/* ---- helpers ------------------------------------------------------------------ */

static const char name_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

void ctrl_rand_suffix(char *out, size_t n)
{
	static __thread unsigned seed;
	if (!seed)
		seed = (unsigned)clock_wall_ms() ^ (unsigned)(uintptr_t)&seed;
	for (size_t i = 0; i < n; i++)
		out[i] = name_alphabet[rand_r(&seed) % (sizeof(name_alphabet) - 1)];
	out[n] = '\0';
}

void ctrl_hash(const json_t *v, char out[16])
{
	uint8_t h[32];
	char dec[16];
	uint32_t x = 0;

	if (jx_hash(v, h) == 0)
		x = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	snprintf(dec, sizeof(dec), "%u", x);
	size_t i;
	for (i = 0; dec[i] && i < 15; i++)
		out[i] = name_alphabet[(unsigned char)dec[i] % (sizeof(name_alphabet) - 1)];
	out[i] = '\0';
}

void ctrl_event(struct ctrl *c, const json_t *obj, const struct ks_type *t, const char *type, const char *reason,
		const char *component, const char *fmt, ...)
{
	char now[32], sfx[16], name[400], msg[1024];
	va_list ap;
	const char *ns = ctrl_meta(obj, "namespace");

	if (!c->events)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctrl_now(now);
	ctrl_rand_suffix(sfx, 10);
	snprintf(name, sizeof(name), "%s.%s", ctrl_meta(obj, "name"), sfx);
	json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:{s:s}, "
			       "s:s, s:s, s:i, s:s, s:s}",
			       "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace",
			       *ns ? ns : "default", "involvedObject", "apiVersion", ks_type_api_version(t), "kind",
			       t->kind, "name", ctrl_meta(obj, "name"), "namespace", ns, "uid", ctrl_meta(obj, "uid"),
			       "resourceVersion", ctrl_meta(obj, "resourceVersion"), "type", type, "reason", reason,
			       "message", msg, "source", "component", component, "firstTimestamp", now, "lastTimestamp",
			       now, "count", 1, "reportingComponent", component, "reportingInstance", "kube-sim");
	if (!*ns)
		json_object_del(json_object_get(ev, "involvedObject"), "namespace");
	struct ks_write_opts wo = { .field_manager = component };
	store_create(c->s, c->events, *ns ? ns : "default", ev, &wo, NULL);
	json_decref(ev);
}

void ctrl_now(char out[32])
{
	clock_now_rfc3339(out, 32);
}

bool ctrl_deleting(const json_t *obj)
{
	return jx_path(obj, "metadata", "deletionTimestamp", NULL) != NULL;
}

const char *ctrl_meta(const json_t *obj, const char *key)
{
	const char *v = jx_path_str(obj, "metadata", key, NULL);
	return v ? v : "";
}

json_t *ctrl_owner_ref(const json_t *owner, const struct ks_type *t)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", ks_type_api_version(t), "kind", t->kind,
			 "name", ctrl_meta(owner, "name"), "uid", ctrl_meta(owner, "uid"), "controller", 1,
			 "blockOwnerDeletion", 1);
}

static bool owned_by(const json_t *obj, const char *uid)
{
	size_t i;
	json_t *ref;
	json_array_foreach(jx_path(obj, "metadata", "ownerReferences", NULL), i, ref) {
		if (json_is_true(json_object_get(ref, "controller")) && str_eq_null(jx_str(ref, "uid"), uid))
			return true;
	}
	return false;
}

/* "k=v,k2=v2" from a matchLabels map, or NULL (no narrowing). */
static char *selector_string(const json_t *owner)
{
	json_t *ml = jx_path(owner, "spec", "selector", "matchLabels", NULL);
	struct buf b;
	const char *k;
	json_t *v;

	if (!json_is_object(ml) || json_object_size(ml) == 0)
		return NULL;
	buf_init(&b, 64 * 1024);
	json_object_foreach(ml, k, v) {
		if (!json_is_string(v) || buf_printf(&b, "%s%s=%s", b.len ? "," : "", k, json_string_value(v)) < 0) {
			buf_release(&b);
			return NULL;
		}
	}
	return buf_detach(&b, NULL);
}

json_t *ctrl_list_owned(struct ctrl *c, const struct ks_type *t, const char *ns, const json_t *owner)
{
	char *sel = t == c->rc ? NULL : selector_string(owner);
	struct ks_list_opts lo = { .label_selector = sel };
	json_t *list = NULL, *out, *item;
	const char *uid = ctrl_meta(owner, "uid");
	size_t i;

	if (!t || store_list(c->s, t, ns, &lo, &list) < 0) {
		free(sel);
		return NULL;
	}
	free(sel);
	out = json_array();
	json_array_foreach(json_object_get(list, "items"), i, item) {
		if (!owned_by(item, uid))
			continue;
		json_object_set_new(item, "apiVersion", json_string(ks_type_api_version(t)));
		json_object_set_new(item, "kind", json_string(t->kind));
		json_array_append(out, item);
	}
	json_decref(list);
	return out;
}

int ctrl_create(struct ctrl *c, const struct ks_type *t, const json_t *obj)
{
	struct ks_write_opts wo = { .field_manager = CTRL_MANAGER };
	const char *ns = jx_path_str(obj, "metadata", "namespace", NULL);
	int rc = store_create(c->s, t, t->namespaced ? ns : NULL, obj, &wo, NULL);
	if (rc < 0 && rc != BERR_EXISTS)
		log_debug("controllers: create failed", "kind", t->kind, "name", ctrl_meta(obj, "name"), "error",
			  err_msg(), NULL);
	return rc;
}

int ctrl_write_status(struct ctrl *c, const struct ks_type *t, json_t *obj, json_t *status, const char *manager)
{
	struct ks_write_opts wo = { .field_manager = manager, .sub = t->has_status ? KS_SUB_STATUS : KS_SUB_NONE };
	const char *ns = jx_path_str(obj, "metadata", "namespace", NULL);

	json_t *old = json_object_get(obj, "status");
	if (old && jx_equal(old, status)) {
		json_decref(status);
		return 0;
	}
	json_object_set_new(obj, "status", status);
	return store_update(c->s, t, t->namespaced ? ns : NULL, obj, &wo, NULL);
}

int ctrl_update(struct ctrl *c, const struct ks_type *t, const json_t *obj)
{
	struct ks_write_opts wo = { .field_manager = CTRL_MANAGER };
	const char *ns = jx_path_str(obj, "metadata", "namespace", NULL);
	return store_update(c->s, t, t->namespaced ? ns : NULL, obj, &wo, NULL);
}

int ctrl_delete(struct ctrl *c, const struct ks_type *t, const char *ns, const char *name, const char *propagation)
{
	struct ks_delete_opts d = { .propagation = propagation ? propagation : "Background" };
	json_t *ret = NULL;
	bool gone = false;
	int rc = store_delete(c->s, t, t->namespaced ? ns : NULL, name, &d, &ret, &gone);
	json_decref(ret);
	return rc == BERR_NOTFOUND ? 0 : rc;
}

json_t *ctrl_condition(const json_t *old_conds, const char *type, const char *status, const char *reason,
		       const char *message, bool with_update)
{
	char now[32];
	size_t i;
	json_t *old = NULL, *c;

	ctrl_now(now);
	json_array_foreach(old_conds, i, c) {
		if (str_eq_null(jx_str(c, "type"), type))
			old = c;
	}
	const char *ltt = now, *lut = now;
	if (old && str_eq_null(jx_str(old, "status"), status) && jx_str(old, "lastTransitionTime")) {
		ltt = jx_str(old, "lastTransitionTime");
		if (str_eq_null(jx_str(old, "reason"), reason) && str_eq_null(jx_str(old, "message"), message) &&
		    jx_str(old, "lastUpdateTime"))
			lut = jx_str(old, "lastUpdateTime");
	}
	c = json_pack("{s:s, s:s, s:s}", "type", type, "status", status, "lastTransitionTime", ltt);
	if (with_update)
		json_object_set_new(c, "lastUpdateTime", json_string(lut));
	if (reason)
		json_object_set_new(c, "reason", json_string(reason));
	if (message)
		json_object_set_new(c, "message", json_string(message));
	return c;
}

bool ctrl_pod_ready(const json_t *pod)
{
	size_t i;
	json_t *c;
	if (ctrl_deleting(pod))
		return false;
	json_array_foreach(jx_path(pod, "status", "conditions", NULL), i, c) {
		if (str_eq_null(jx_str(c, "type"), "Ready"))
			return str_eq_null(jx_str(c, "status"), "True");
	}
	return false;
}

const char *ctrl_pod_phase(const json_t *pod)
{
	const char *p = jx_path_str(pod, "status", "phase", NULL);
	return p ? p : "";
}

bool ctrl_spec_fails(const json_t *spec)
{
	static const char *const lists[] = { "containers", "initContainers" };
	size_t i;
	json_t *ct;

	for (size_t l = 0; l < 2; l++)
		json_array_foreach(json_object_get(spec, lists[l]), i, ct) {
			const char *img = jx_str(ct, "image");
			if (img && str_ends_with(img, ":fail"))
				return true;
		}
	return false;
}

void ctrl_node_name(int i, char out[64])
{
	snprintf(out, 64, "kube-sim-node-%d", i + 1);
}

json_t *ctrl_pod_from_template(const json_t *owner, const struct ks_type *owner_t, const json_t *tmpl,
			       const char *name, const json_t *extra_labels, const char *node)
{
	json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Pod", "metadata", "name",
				name, "namespace", ctrl_meta(owner, "namespace"));
	json_t *md = json_object_get(pod, "metadata");
	json_t *labels = json_deep_copy(jx_path(tmpl, "metadata", "labels", NULL));
	json_t *ann = jx_path(tmpl, "metadata", "annotations", NULL);
	json_t *spec = json_deep_copy(json_object_get(tmpl, "spec"));

	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	if (json_is_object(extra_labels))
		json_object_update(labels, (json_t *)extra_labels);
	json_object_set_new(md, "labels", labels);
	if (json_is_object(ann))
		json_object_set_new(md, "annotations", json_deep_copy(ann));
	json_object_set_new(md, "ownerReferences", json_pack("[o]", ctrl_owner_ref(owner, owner_t)));
	if (!json_is_object(spec)) {
		json_decref(spec);
		spec = json_object();
	}
	if (node && !json_object_get(spec, "nodeName"))
		json_object_set_new(spec, "nodeName", json_string(node));
	json_object_set_new(pod, "spec", spec);
	return pod;
}

/* ---- queue ------------------------------------------------------------------ */

static struct controllers *of(struct ctrl *c)
{
	return (struct controllers *)((char *)c - offsetof(struct controllers, c));
}

void ctrl_enqueue(struct ctrl *c, const struct ks_type *t, const char *ns, const char *name, int64_t delay_ms)
{
	struct controllers *k = of(c);
	int64_t due = clock_mono_ms() + (delay_ms > 0 ? delay_ms : 0);

	if (!t || !name)
		return;
	pthread_mutex_lock(&k->mu);
	for (size_t i = 0; i < k->n; i++) {
		struct work *w = &k->q[i];
		if (w->t == t && str_eq_null(w->ns, ns) && strcmp(w->name, name) == 0) {
			if (due < w->due_ms)
				w->due_ms = due;
			pthread_cond_signal(&k->cv);
			pthread_mutex_unlock(&k->mu);
			return;
		}
	}
	if (k->n == k->cap) {
		size_t ncap = k->cap ? k->cap * 2 : 64;
		struct work *nq = realloc(k->q, ncap * sizeof(*nq));
		if (!nq) {
			pthread_mutex_unlock(&k->mu);
			return;
		}
		k->q = nq;
		k->cap = ncap;
	}
	k->q[k->n++] = (struct work){ t, str_dup(ns), str_dup(name), due };
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

/* Takes the earliest due item when due; else waits until it is (or 1 s). */
static bool next_work(struct controllers *k, struct work *out)
{
	pthread_mutex_lock(&k->mu);
	while (!k->stop) {
		int64_t now = clock_mono_ms(), best_due = now + 1000;
		size_t best = (size_t)-1;
		for (size_t i = 0; i < k->n; i++)
			if (k->q[i].due_ms < best_due) {
				best_due = k->q[i].due_ms;
				best = i;
			}
		if (best != (size_t)-1 && best_due <= now) {
			*out = k->q[best];
			k->q[best] = k->q[--k->n];
			pthread_mutex_unlock(&k->mu);
			return true;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t wait = best_due - now;
		ts.tv_sec += wait / 1000;
		ts.tv_nsec += (wait % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&k->cv, &k->mu, &ts);
	}
	pthread_mutex_unlock(&k->mu);
	return false;
}

/* ---- the kubelet ------------------------------------------------------------ */

static json_t *container_statuses(const json_t *pod, const char *state, int restarts, bool ready, const char *now)
{
	json_t *arr = json_array(), *ct;
	size_t i;
	const char *uid = ctrl_meta(pod, "uid");

	json_array_foreach(jx_path(pod, "spec", "containers", NULL), i, ct) {
		const char *name = jx_str(ct, "name"), *image = jx_str(ct, "image");
		char cid[96];
		snprintf(cid, sizeof(cid), "containerd://%.8s%02zu%s", uid, i, "0000000000000000");
		json_t *cs = json_pack("{s:s, s:s, s:s, s:b, s:i, s:b, s:s}", "name", name ? name : "",
				       "image", image ? image : "", "imageID", "", "ready", ready, "restartCount",
				       restarts, "started", strcmp(state, "running") == 0, "containerID", cid);
		json_t *st;
		if (strcmp(state, "running") == 0)
			st = json_pack("{s:{s:s}}", "running", "startedAt", now);
		else if (strcmp(state, "crash") == 0) {
			char msg[256];
			snprintf(msg, sizeof(msg), "back-off 10s restarting failed container=%s pod=%s_%s(%s)",
				 name ? name : "", ctrl_meta(pod, "name"), ctrl_meta(pod, "namespace"), uid);
			st = json_pack("{s:{s:s, s:s}}", "waiting", "reason", "CrashLoopBackOff", "message", msg);
			json_object_set_new(cs, "lastState",
					    json_pack("{s:{s:i, s:s, s:s, s:s, s:s}}", "terminated", "exitCode", 1,
						      "reason", "Error", "startedAt", now, "finishedAt", now,
						      "containerID", cid));
		} else if (strcmp(state, "succeeded") == 0)
			st = json_pack("{s:{s:i, s:s, s:s, s:s, s:s}}", "terminated", "exitCode", 0, "reason",
				       "Completed", "startedAt", now, "finishedAt", now, "containerID", cid);
		else if (strcmp(state, "failed") == 0)
			st = json_pack("{s:{s:i, s:s, s:s, s:s, s:s}}", "terminated", "exitCode", 1, "reason", "Error",
				       "startedAt", now, "finishedAt", now, "containerID", cid);
		else
			st = json_pack("{s:{s:s}}", "waiting", "reason", "ContainerCreating");
		json_object_set_new(cs, "state", st);
		json_array_append_new(arr, cs);
	}
	return arr;
}

static const char *qos_class(const json_t *pod)
{
	size_t i;
	json_t *ct;
	bool any = false, guaranteed = true;
	json_array_foreach(jx_path(pod, "spec", "containers", NULL), i, ct) {
		json_t *lim = jx_path(ct, "resources", "limits", NULL), *req = jx_path(ct, "resources", "requests", NULL);
		if (json_object_size(lim) || json_object_size(req))
			any = true;
		if (!json_object_get(lim, "cpu") || !json_object_get(lim, "memory"))
			guaranteed = false;
	}
	return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

/* Keeps the timestamps of an existing container status so that repeated
 * writes are no-ops. */
static void keep_times(json_t *status, const json_t *old)
{
	json_t *olds = json_object_get(old, "containerStatuses"), *news = json_object_get(status, "containerStatuses");
	size_t i;
	json_t *cs;

	json_array_foreach(news, i, cs) {
		json_t *o = json_array_get(olds, i);
		const char *kinds[] = { "running", "terminated" };
		for (int k = 0; k < 2; k++) {
			json_t *ns = jx_path(cs, "state", kinds[k], NULL), *os = jx_path(o, "state", kinds[k], NULL);
			if (ns && os) {
				json_t *ts;
				if ((ts = json_object_get(os, "startedAt")))
					json_object_set(ns, "startedAt", ts);
				if ((ts = json_object_get(os, "finishedAt")) && json_object_get(ns, "finishedAt"))
					json_object_set(ns, "finishedAt", ts);
			}
		}
		json_t *nl = jx_path(cs, "lastState", "terminated", NULL), *ol = jx_path(o, "lastState", "terminated", NULL);
		if (nl && ol) {
			json_object_set(nl, "startedAt", json_object_get(ol, "startedAt"));
			json_object_set(nl, "finishedAt", json_object_get(ol, "finishedAt"));
		}
	}
	if (json_object_get(old, "startTime"))
		json_object_set(status, "startTime", json_object_get(old, "startTime"));
}

/* The status the kubelet reports for a pod in new_phase with its containers
 * in state ("running", "crash", "succeeded", "failed", "creating"). */
static json_t *pod_status(const json_t *pod, const char *new_phase, const char *state, int restarts, bool ready,
			  const char *now)
{
	json_t *old = json_object_get(pod, "status");
	char ip[32];
	const char *uid = ctrl_meta(pod, "uid");
	unsigned h = 0;
	for (const char *p = uid; *p; p++)
		h = h * 31 + (unsigned char)*p;
	snprintf(ip, sizeof(ip), "10.244.%u.%u", (h >> 8) % 250, h % 250 + 2);

	bool done = strcmp(new_phase, "Succeeded") == 0 || strcmp(new_phase, "Failed") == 0;
	json_t *conds = json_array(), *oc = json_object_get(old, "conditions");
	json_array_append_new(conds, ctrl_condition(oc, "PodReadyToStartContainers", done ? "False" : "True", NULL,
						    NULL, false));
	json_array_append_new(conds, ctrl_condition(oc, "Initialized", "True", done ? "PodCompleted" : NULL, NULL,
						    false));
	const char *rs = ready ? "True" : "False";
	const char *reason = ready ? NULL : done ? "PodCompleted" : "ContainersNotReady";
	char msg[256];
	const char *cname = jx_str(json_array_get(jx_path(pod, "spec", "containers", NULL), 0), "name");
	snprintf(msg, sizeof(msg), "containers with unready status: [%s]", cname ? cname : "");
	json_array_append_new(conds, ctrl_condition(oc, "Ready", rs, reason, ready || done ? NULL : msg, false));
	json_array_append_new(conds, ctrl_condition(oc, "ContainersReady", rs, reason, ready || done ? NULL : msg,
						    false));
	json_array_append_new(conds, ctrl_condition(oc, "PodScheduled", "True", NULL, NULL, false));

	json_t *status = json_pack("{s:s, s:o, s:s, s:[{s:s}], s:s, s:[{s:s}], s:s, s:s}", "phase", new_phase,
				   "conditions", conds, "hostIP", "172.18.0.2", "hostIPs", "ip", "172.18.0.2", "podIP",
				   ip, "podIPs", "ip", ip, "startTime", now, "qosClass", qos_class(pod));
	json_object_set_new(status, "containerStatuses", container_statuses(pod, state, restarts, ready, now));
	return status;
}

/* A new pod is Pending (scheduled, containers being created) until the
 * status delay has passed. */
static int64_t pod_pending(struct ctrl *c, json_t *pod)
{
	char now[32];
	ctrl_now(now);
	json_t *conds = json_pack("[{s:s, s:s, s:s}]", "type", "PodScheduled", "status", "True", "lastTransitionTime", now);
	json_t *status = json_pack("{s:s, s:o, s:s, s:[{s:s}], s:s, s:s}", "phase", "Pending", "conditions", conds,
				   "hostIP", "172.18.0.2", "hostIPs", "ip", "172.18.0.2", "startTime", now, "qosClass",
				   qos_class(pod));
	json_object_set_new(status, "containerStatuses", container_statuses(pod, "creating", 0, false, now));
	int rc = ctrl_write_status(c, c->pods, pod, status, KUBELET_MANAGER);
	return rc == BERR_CONFLICT ? 50 : c->o.status_delay_ms;
}

static int64_t kubelet(struct ctrl *c, json_t *pod)
{
	json_t *old = json_object_get(pod, "status");
	const char *phase = ctrl_pod_phase(pod);
	const char *restart = jx_path_str(pod, "spec", "restartPolicy", NULL);
	bool run_to_completion = restart && strcmp(restart, "Always") != 0;
	bool fails = ctrl_spec_fails(json_object_get(pod, "spec"));
	int restarts = 0;
	char now[32];
	const char *state, *new_phase;
	bool ready = false;
	int64_t again = -1;
	json_t *cs0 = json_array_get(json_object_get(old, "containerStatuses"), 0);

	if (ctrl_deleting(pod) || strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)
		return -1;
	if (!*phase)
		return pod_pending(c, pod);
	ctrl_now(now);
	restarts = (int)json_integer_value(json_object_get(cs0, "restartCount"));
	if (strcmp(phase, "Running") != 0) {
		/* Pending (or new) → running, crash-looping, or done. */
		new_phase = "Running";
		if (fails && !run_to_completion) {
			state = "crash";
			again = c->o.status_delay_ms * 5;
		} else {
			state = "running";
			ready = !run_to_completion;
			if (run_to_completion)
				again = c->o.status_delay_ms;
		}
	} else if (run_to_completion) {
		new_phase = fails ? "Failed" : "Succeeded";
		state = fails ? "failed" : "succeeded";
	} else if (fails) {
		new_phase = "Running";
		state = "crash";
		if (restarts < 5) {
			restarts++;
			again = c->o.status_delay_ms * 5;
		}
	} else {
		new_phase = "Running";
		state = "running";
		ready = true;
	}

	json_t *status = pod_status(pod, new_phase, state, restarts, ready, now);
	const char *cname = jx_str(json_array_get(jx_path(pod, "spec", "containers", NULL), 0), "name");
	keep_times(status, old);
	if (strcmp(phase, "Running") != 0) {
		const char *img = jx_str(json_array_get(jx_path(pod, "spec", "containers", NULL), 0), "image");
		ctrl_event(c, pod, c->pods, "Normal", "Scheduled", "default-scheduler",
			   "Successfully assigned %s/%s to %s", ctrl_meta(pod, "namespace"), ctrl_meta(pod, "name"),
			   jx_path_str(pod, "spec", "nodeName", NULL) ? jx_path_str(pod, "spec", "nodeName", NULL)
								     : "kube-sim-node-1");
		ctrl_event(c, pod, c->pods, "Normal", "Pulled", KUBELET_MANAGER,
			   "Container image \"%s\" already present on machine", img ? img : "");
		ctrl_event(c, pod, c->pods, "Normal", "Started", KUBELET_MANAGER, "Started container %s",
			   cname ? cname : "");
	}
	if (strcmp(state, "crash") == 0 && (strcmp(phase, "Running") != 0 || restarts < 5))
		ctrl_event(c, pod, c->pods, "Warning", "BackOff", KUBELET_MANAGER,
			   "Back-off restarting failed container %s in pod %s_%s(%s)", cname ? cname : "",
			   ctrl_meta(pod, "name"), ctrl_meta(pod, "namespace"), ctrl_meta(pod, "uid"));
	int rc = ctrl_write_status(c, c->pods, pod, status, KUBELET_MANAGER);
	if (rc == BERR_CONFLICT)
		return 50;
	return again;
}

/* ---- Services, Ingresses, PVCs --------------------------------------------- */

static int64_t service(struct ctrl *c, json_t *svc)
{
	const char *type = jx_path_str(svc, "spec", "type", NULL);
	json_t *status;

	if (!type || strcmp(type, "LoadBalancer") != 0 || ctrl_deleting(svc))
		return -1;
	if (json_array_size(jx_path(svc, "status", "loadBalancer", "ingress", NULL)) > 0)
		return -1;
	unsigned h = 0;
	for (const char *p = ctrl_meta(svc, "uid"); *p; p++)
		h = h * 31 + (unsigned char)*p;
	char ip[32];
	snprintf(ip, sizeof(ip), "172.18.255.%u", h % 200 + 10);
	status = json_pack("{s:{s:[{s:s, s:s}]}}", "loadBalancer", "ingress", "ip", ip, "ipMode", "VIP");
	return ctrl_write_status(c, c->svc, svc, status, CTRL_MANAGER) == BERR_CONFLICT ? 50 : -1;
}

static int64_t ingress(struct ctrl *c, json_t *ing)
{
	if (ctrl_deleting(ing) || json_array_size(jx_path(ing, "status", "loadBalancer", "ingress", NULL)) > 0)
		return -1;
	json_t *status = json_pack("{s:{s:[{s:s}]}}", "loadBalancer", "ingress", "ip", "172.18.255.200");
	return ctrl_write_status(c, c->ing, ing, status, CTRL_MANAGER) == BERR_CONFLICT ? 50 : -1;
}

static int64_t pvc(struct ctrl *c, json_t *claim)
{
	const char *ns = ctrl_meta(claim, "namespace");
	json_t *spec = json_object_get(claim, "spec");
	json_t *storage = jx_path(spec, "resources", "requests", "storage", NULL);
	json_t *modes = json_object_get(spec, "accessModes");
	char pvname[128];
	int rc;

	if (ctrl_deleting(claim) || !json_is_object(spec))
		return -1;
	if (str_eq_null(jx_path_str(claim, "status", "phase", NULL), "Bound"))
		return -1;
	snprintf(pvname, sizeof(pvname), "pvc-%s", ctrl_meta(claim, "uid"));
	if (c->pv && !jx_str(spec, "volumeName")) {
		const char *sc = jx_str(spec, "storageClassName");
		json_t *pv = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:{s:o}, s:o, s:s, s:s, s:s, s:{s:s}, "
				       "s:{s:s, s:s, s:s, s:s, s:s}}}",
				       "apiVersion", "v1", "kind", "PersistentVolume", "metadata", "name", pvname,
				       "annotations", "pv.kubernetes.io/provisioned-by", "kube-sim", "spec",
				       "capacity", "storage", storage ? json_incref(storage) : json_string("1Gi"),
				       "accessModes", modes ? json_incref(modes) : json_pack("[s]", "ReadWriteOnce"),
				       "persistentVolumeReclaimPolicy", "Delete", "storageClassName", sc ? sc : "",
				       "volumeMode", "Filesystem", "hostPath", "path", "/var/lib/kube-sim/pv",
				       "claimRef", "apiVersion", "v1", "kind", "PersistentVolumeClaim", "namespace", ns,
				       "name", ctrl_meta(claim, "name"), "uid", ctrl_meta(claim, "uid"));
		if (!sc)
			json_object_del(json_object_get(pv, "spec"), "storageClassName");
		rc = ctrl_create(c, c->pv, pv);
		json_decref(pv);
		if (rc < 0 && rc != BERR_EXISTS)
			return 500;
		json_t *pvobj = NULL;
		if (store_get(c->s, c->pv, NULL, pvname, &pvobj) == 0) {
			ctrl_write_status(c, c->pv, pvobj, json_pack("{s:s}", "phase", "Bound"), CTRL_MANAGER);
			json_decref(pvobj);
		}
		json_object_set_new(spec, "volumeName", json_string(pvname));
		json_t *ann = jx_obj_ensure(jx_obj_ensure(claim, "metadata"), "annotations");
		json_object_set_new(ann, "pv.kubernetes.io/bind-completed", json_string("yes"));
		json_object_set_new(ann, "pv.kubernetes.io/bound-by-controller", json_string("yes"));
		if ((rc = ctrl_update(c, c->pvc, claim)) < 0)
			return rc == BERR_CONFLICT ? 50 : -1;
		return 0; /* status next round, on the updated object */
	}
	json_t *status = json_pack("{s:s, s:o, s:{s:o}}", "phase", "Bound", "accessModes",
				   modes ? json_incref(modes) : json_pack("[s]", "ReadWriteOnce"), "capacity", "storage",
				   storage ? json_incref(storage) : json_string("1Gi"));
	return ctrl_write_status(c, c->pvc, claim, status, CTRL_MANAGER) == BERR_CONFLICT ? 50 : -1;
}

/* A provisioned volume whose claim is gone is deleted (reclaim policy
 * Delete) or Released (Retain). */
static int64_t pv(struct ctrl *c, json_t *vol)
{
	json_t *ref = jx_path(vol, "spec", "claimRef", NULL), *claim = NULL;
	bool claim_alive;

	if (!ref || ctrl_deleting(vol))
		return -1;
	claim_alive = store_get(c->s, c->pvc, jx_str(ref, "namespace"), jx_str(ref, "name"), &claim) == 0 &&
		      str_eq_null(ctrl_meta(claim, "uid"), jx_str(ref, "uid"));
	json_decref(claim);
	if (claim_alive)
		return -1;
	if (str_eq_null(jx_path_str(vol, "spec", "persistentVolumeReclaimPolicy", NULL), "Delete")) {
		ctrl_delete(c, c->pv, NULL, ctrl_meta(vol, "name"), NULL);
		return -1;
	}
	return ctrl_write_status(c, c->pv, vol, json_pack("{s:s}", "phase", "Released"), CTRL_MANAGER) == BERR_CONFLICT
		       ? 50
		       : -1;
}

/* ---- APIServices, HPAs, Endpoints -------------------------------------------------- */

static int64_t apiservice(struct ctrl *c, json_t *as)
{
	bool local = !json_is_object(jx_path(as, "spec", "service", NULL));
	json_t *conds = json_pack("[o]", ctrl_condition(jx_path(as, "status", "conditions", NULL), "Available", "True",
							 local ? "Local" : "Passed",
							 local ? "Local APIServices are always available"
							       : "all checks passed",
							 false));
	json_t *status = json_pack("{s:o}", "conditions", conds);
	return ctrl_write_status(c, c->apisvc, as, status, CTRL_MANAGER) == BERR_CONFLICT ? 50 : -1;
}

/* Reports the target's replicas clamped to [minReplicas, maxReplicas]; the
 * simulation has no metrics, so it never scales. */
static int64_t hpa(struct ctrl *c, json_t *h)
{
	json_t *ref = jx_path(h, "spec", "scaleTargetRef", NULL), *target = NULL, *oc;
	const struct ks_type *tt = store_type_by_kind(c->s, jx_str(ref, "apiVersion") ? jx_str(ref, "apiVersion") : "apps/v1",
						    jx_str(ref, "kind"));
	json_int_t cur = 0, lo = 1, hi = 1;
	json_t *v;

	if (ctrl_deleting(h))
		return -1;
	if ((v = jx_path(h, "spec", "minReplicas", NULL)))
		lo = json_integer_value(v);
	if ((v = jx_path(h, "spec", "maxReplicas", NULL)))
		hi = json_integer_value(v);
	if (tt && jx_str(ref, "name") &&
	    store_get(c->s, tt, tt->namespaced ? jx_path_str(h, "metadata", "namespace", NULL) : NULL, jx_str(ref, "name"),
		      &target) == 0)
		cur = json_integer_value(jx_path(target, "status", "replicas", NULL));
	json_decref(target);
	json_int_t want = cur < lo ? lo : cur > hi ? hi : cur;
	oc = jx_path(h, "status", "conditions", NULL);
	json_t *conds = json_array();
	json_array_append_new(conds, ctrl_condition(oc, "AbleToScale", "True", "ReadyForNewScale",
						    "recommended size matches current size", false));
	json_array_append_new(conds, ctrl_condition(oc, "ScalingActive", "True", "ValidMetricFound",
						    "the HPA was able to successfully calculate a replica count from cpu "
						    "resource utilization (percentage of request)",
						    false));
	json_array_append_new(conds, ctrl_condition(oc, "ScalingLimited", "False", "DesiredWithinRange",
						    "the desired count is within the acceptable range", false));
	json_t *status = json_pack("{s:I, s:I, s:o, s:I}", "currentReplicas", cur, "desiredReplicas", want, "conditions",
				   conds, "observedGeneration", json_integer_value(jx_path(h, "metadata", "generation", NULL)));
	/* Look at the target again later, like the HPA's sync period. */
	return ctrl_write_status(c, c->hpa, h, status, CTRL_MANAGER) == BERR_CONFLICT ? 50 : 5000;
}

static bool labels_match(const json_t *selector, const json_t *labels)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)selector, k, v) {
		if (!json_is_string(v) || !str_eq_null(jx_str(labels, k), json_string_value(v)))
			return false;
	}
	return true;
}

/* Endpoints of one Service from the ready pods of its namespace. */
static void endpoints_for(struct ctrl *c, const json_t *svc, const json_t *pods)
{
	json_t *sel = jx_path(svc, "spec", "selector", NULL), *addrs = json_array(), *ports = json_array(), *p;
	const char *ns = ctrl_meta(svc, "namespace"), *name = ctrl_meta(svc, "name");
	size_t i;

	json_array_foreach(pods, i, p) {
		if (!ctrl_pod_ready(p) || !labels_match(sel, jx_path(p, "metadata", "labels", NULL)))
			continue;
		json_t *a = json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "ip", jx_path_str(p, "status", "podIP", NULL)
							? jx_path_str(p, "status", "podIP", NULL) : "",
				      "targetRef", "kind", "Pod", "name", ctrl_meta(p, "name"), "namespace", ns, "uid",
				      ctrl_meta(p, "uid"));
		if (jx_path_str(p, "spec", "nodeName", NULL))
			json_object_set_new(a, "nodeName", json_string(jx_path_str(p, "spec", "nodeName", NULL)));
		json_array_append_new(addrs, a);
	}
	json_array_foreach(jx_path(svc, "spec", "ports", NULL), i, p) {
		json_t *tp = json_object_get(p, "targetPort");
		json_t *ep = json_pack("{s:O, s:s}", "port", json_is_integer(tp) ? tp : json_object_get(p, "port"),
				       "protocol", jx_str(p, "protocol") ? jx_str(p, "protocol") : "TCP");
		if (jx_str(p, "name"))
			json_object_set_new(ep, "name", json_string(jx_str(p, "name")));
		json_array_append_new(ports, ep);
	}
	json_t *want = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Endpoints",
				 "metadata", "name", name, "namespace", ns, "labels", "endpoints.kubernetes.io/managed-by",
				 "kube-sim");
	if (json_array_size(addrs))
		json_object_set_new(want, "subsets", json_pack("[{s:o, s:o}]", "addresses", addrs, "ports", ports));
	else {
		json_decref(addrs);
		json_decref(ports);
	}
	json_t *live = NULL;
	if (store_get(c->s, c->ep, ns, name, &live) < 0) {
		ctrl_create(c, c->ep, want);
	} else if (!jx_equal(json_object_get(live, "subsets") ? json_object_get(live, "subsets") : json_null(),
			     json_object_get(want, "subsets") ? json_object_get(want, "subsets") : json_null())) {
		if (json_object_get(want, "subsets"))
			json_object_set(live, "subsets", json_object_get(want, "subsets"));
		else
			json_object_del(live, "subsets");
		ctrl_update(c, c->ep, live);
	}
	json_decref(live);
	json_decref(want);
}

/* All Services of a namespace (work item name "*"). */
static void endpoints_ns(struct ctrl *c, const char *ns)
{
	json_t *svcs = NULL, *pods = NULL, *svc;
	size_t i;

	if (!c->ep || !c->svc || !c->pods || store_list(c->s, c->svc, ns, NULL, &svcs) < 0)
		return;
	if (store_list(c->s, c->pods, ns, NULL, &pods) == 0) {
		json_array_foreach(json_object_get(svcs, "items"), i, svc) {
			if (json_object_size(jx_path(svc, "spec", "selector", NULL)) == 0 || ctrl_deleting(svc))
				continue;
			endpoints_for(c, svc, json_object_get(pods, "items"));
		}
	}
	/* Endpoints this controller made for Services that are gone. */
	json_t *eps = NULL, *ep;
	struct ks_list_opts lo = { .label_selector = "endpoints.kubernetes.io/managed-by=kube-sim" };
	if (store_list(c->s, c->ep, ns, &lo, &eps) == 0) {
		json_array_foreach(json_object_get(eps, "items"), i, ep) {
			json_t *live = NULL;
			if (store_get(c->s, c->svc, ns, ctrl_meta(ep, "name"), &live) == BERR_NOTFOUND)
				ctrl_delete(c, c->ep, ns, ctrl_meta(ep, "name"), NULL);
			json_decref(live);
		}
	}
	json_decref(eps);
	json_decref(svcs);
	json_decref(pods);
}

/* ---- nodes ------------------------------------------------------------------- */

static void create_nodes(struct ctrl *c)
{
	char name[64], now[32];

	if (!c->nodes)
		return;
	ctrl_now(now);
	for (int i = 0; i < c->o.nodes; i++) {
		ctrl_node_name(i, name);
		json_t *node = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s, s:s}}}", "apiVersion", "v1", "kind",
					 "Node", "metadata", "name", name, "labels", "kubernetes.io/hostname", name,
					 "kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64",
					 "node-role.kubernetes.io/control-plane", "");
		ctrl_create(c, c->nodes, node);
		json_decref(node);
		json_t *live = NULL;
		if (store_get(c->s, c->nodes, NULL, name, &live) == 0) {
			json_t *st = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s, s:s}], s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, "
					       "s:{s:s, s:s, s:s, s:s}}",
					       "conditions", "type", "Ready", "status", "True", "reason", "KubeletReady",
					       "message", "kubelet is posting ready status", "lastHeartbeatTime", now,
					       "lastTransitionTime", now, "capacity", "cpu", "8", "memory", "16Gi", "pods",
					       "110", "allocatable", "cpu", "8", "memory", "16Gi", "pods", "110",
					       "nodeInfo", "kubeletVersion", "v1.32.0", "operatingSystem", "linux",
					       "architecture", "amd64", "containerRuntimeVersion", "containerd://1.7.0");
			if (!json_object_get(json_object_get(live, "status"), "conditions"))
				ctrl_write_status(c, c->nodes, live, st, KUBELET_MANAGER);
			else
				json_decref(st);
			json_decref(live);
		}
	}
}

/* ---- dispatch --------------------------------------------------------------- */

static int64_t reconcile(struct ctrl *c, const struct ks_type *t, json_t *obj)
{
	if (t == c->pods)
		return kubelet(c, obj);
	if (t == c->deploy)
		return ctrl_deployment(c, obj);
	if (t == c->rs || t == c->rc)
		return ctrl_replicaset(c, t, obj);
	if (t == c->sts)
		return ctrl_statefulset(c, obj);
	if (t == c->ds)
		return ctrl_daemonset(c, obj);
	if (t == c->job)
		return ctrl_job(c, obj);
	if (t == c->cronjob)
		return ctrl_cronjob(c, obj);
	if (t == c->svc)
		return service(c, obj);
	if (t == c->ing)
		return ingress(c, obj);
	if (t == c->pvc)
		return pvc(c, obj);
	if (t == c->apisvc)
		return apiservice(c, obj);
	if (t == c->pv)
		return pv(c, obj);
	if (t == c->hpa)
		return hpa(c, obj);
	return -1;
}

static bool handled(struct ctrl *c, const struct ks_type *t)
{
	return t && (t == c->pods || t == c->deploy || t == c->rs || t == c->rc || t == c->sts || t == c->ds ||
		     t == c->job || t == c->cronjob || t == c->svc || t == c->ing || t == c->pvc ||
		     t == c->apisvc || t == c->hpa || t == c->pv);
}

/* Store subscription: runs on the writer's thread; only queues work. */
static void on_change(void *ctx, const char *event, const struct ks_type *t, const json_t *obj)
{
	struct ctrl *c = ctx;
	const char *ns = jx_path_str(obj, "metadata", "namespace", NULL);
	size_t i;
	json_t *ref;

	if (handled(c, t) && strcmp(event, "DELETED") != 0)
		ctrl_enqueue(c, t, ns, ctrl_meta(obj, "name"),
			     t == c->pods && *ctrl_pod_phase(obj) ? c->o.status_delay_ms : 0);
	if ((t == c->pods || t == c->svc) && c->ep && ns)
		ctrl_enqueue(c, c->ep, ns, "*", 50);
	if (t == c->pvc && c->pv && strcmp(event, "DELETED") == 0) {
		const char *vol = jx_path_str(obj, "spec", "volumeName", NULL);
		if (vol)
			ctrl_enqueue(c, c->pv, NULL, vol, 0);
	}
	/* The controller owning a changed object reconciles again. */
	json_array_foreach(jx_path(obj, "metadata", "ownerReferences", NULL), i, ref) {
		if (!json_is_true(json_object_get(ref, "controller")))
			continue;
		const struct ks_type *ot = store_type_by_kind(c->s, jx_str(ref, "apiVersion"), jx_str(ref, "kind"));
		if (handled(c, ot))
			ctrl_enqueue(c, ot, ot->namespaced ? ns : NULL, jx_str(ref, "name"), 0);
	}
}

static void enqueue_existing(void *ctx, const struct ks_type *t, const json_t *obj)
{
	struct ctrl *c = ctx;
	if (handled(c, t))
		ctrl_enqueue(c, t, jx_path_str(obj, "metadata", "namespace", NULL), ctrl_meta(obj, "name"), 0);
}

static void *worker(void *arg)
{
	struct controllers *k = arg;
	struct ctrl *c = &k->c;
	struct work w;

	create_nodes(c);
	store_foreach(c->s, enqueue_existing, c);
	while (next_work(k, &w)) {
		json_t *obj = NULL;
		if (w.t == c->ep) {
			endpoints_ns(c, w.ns);
		} else if (store_get(c->s, w.t, w.t->namespaced ? w.ns : NULL, w.name, &obj) == 0) {
			int64_t again = reconcile(c, w.t, obj);
			if (again >= 0)
				ctrl_enqueue(c, w.t, w.ns, w.name, again);
		}
		json_decref(obj);
		free(w.ns);
		free(w.name);
	}
	return NULL;
}

static const struct ks_type *find(struct ks_store *s, const char *av, const char *kind)
{
	return store_type_by_kind(s, av, kind);
}

int controllers_start(struct ks_store *s, const struct controllers_opts *opts, struct controllers **ret)
{
	struct controllers *k = calloc(1, sizeof(*k));
	struct ctrl *c;

	if (!k)
		return err_set(BERR_NOMEM, "controllers: out of memory");
	c = &k->c;
	c->s = s;
	c->o.status_delay_ms = 200;
	c->o.fail_deadline_ms = 3000;
	c->o.nodes = 1;
	if (opts) {
		if (opts->status_delay_ms > 0)
			c->o.status_delay_ms = opts->status_delay_ms;
		if (opts->fail_deadline_ms > 0)
			c->o.fail_deadline_ms = opts->fail_deadline_ms;
		if (opts->nodes > 0)
			c->o.nodes = opts->nodes;
	}
	c->pods = find(s, "v1", "Pod");
	c->rc = find(s, "v1", "ReplicationController");
	c->svc = find(s, "v1", "Service");
	c->pvc = find(s, "v1", "PersistentVolumeClaim");
	c->pv = find(s, "v1", "PersistentVolume");
	c->nodes = find(s, "v1", "Node");
	c->ns = find(s, "v1", "Namespace");
	c->rs = find(s, "apps/v1", "ReplicaSet");
	c->deploy = find(s, "apps/v1", "Deployment");
	c->sts = find(s, "apps/v1", "StatefulSet");
	c->ds = find(s, "apps/v1", "DaemonSet");
	c->cr = find(s, "apps/v1", "ControllerRevision");
	c->job = find(s, "batch/v1", "Job");
	c->cronjob = find(s, "batch/v1", "CronJob");
	c->ing = find(s, "networking.k8s.io/v1", "Ingress");
	c->ep = find(s, "v1", "Endpoints");
	c->events = find(s, "v1", "Event");
	c->hpa = find(s, "autoscaling/v2", "HorizontalPodAutoscaler");
	c->apisvc = find(s, "apiregistration.k8s.io/v1", "APIService");
	pthread_mutex_init(&k->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cv, &ca);
	pthread_condattr_destroy(&ca);
	k->sub = store_subscribe(s, on_change, c);
	if (k->sub < 0 || pthread_create(&k->thread, NULL, worker, k) != 0) {
		if (k->sub >= 0)
			store_unsubscribe(s, k->sub);
		pthread_mutex_destroy(&k->mu);
		pthread_cond_destroy(&k->cv);
		free(k);
		return err_set(BERR_INTERNAL, "controllers: cannot start the worker");
	}
	k->started = true;
	*ret = k;
	return 0;
}

void controllers_stop(struct controllers *k)
{
	if (!k)
		return;
	store_unsubscribe(k->c.s, k->sub);
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
	if (k->started)
		pthread_join(k->thread, NULL);
	for (size_t i = 0; i < k->n; i++) {
		free(k->q[i].ns);
		free(k->q[i].name);
	}
	free(k->q);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	free(k);
}
