/* workloads — the simulated workload controllers of kube-controller-manager:
 * Deployment, ReplicaSet/ReplicationController, StatefulSet, DaemonSet, Job,
 * CronJob (see controllers.h for what they do, ctrl.h for the helpers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "cron.h"
#include "ctrl.h"
#include "err.h"
#include "jsonx.h"
#include "str.h"

static json_int_t int_at(const json_t *obj, const char *a, const char *b, json_int_t dflt)
{
	json_t *v = jx_path(obj, a, b, NULL);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static const char *ns_of(const json_t *obj)
{
	return jx_path_str(obj, "metadata", "namespace", NULL);
}

/* Sets an integer member only when non-zero (the API's omitempty). */
static void set_nz(json_t *obj, const char *key, json_int_t v)
{
	if (v)
		json_object_set_new(obj, key, json_integer(v));
}

/* ---- ReplicaSet / ReplicationController ------------------------------------------ */

int64_t ctrl_replicaset(struct ctrl *c, const struct ks_type *t, json_t *rs)
{
	json_int_t want = int_at(rs, "spec", "replicas", 1);
	json_t *pods, *pod, *tmpl = jx_path(rs, "spec", "template", NULL);
	json_int_t have = 0, ready = 0, available = 0, labeled = 0;
	size_t i;
	int64_t again = -1;

	if (!c->pods || ctrl_deleting(rs) || !(pods = ctrl_list_owned(c, c->pods, ns_of(rs), rs)))
		return -1;
	json_array_foreach(pods, i, pod) {
		if (ctrl_deleting(pod))
			continue;
		const char *ph = ctrl_pod_phase(pod);
		if (strcmp(ph, "Succeeded") == 0 || strcmp(ph, "Failed") == 0)
			continue;
		have++;
		labeled++;
		if (ctrl_pod_ready(pod)) {
			ready++;
			available++;
		}
	}
	if (have < want && json_is_object(tmpl)) {
		char name[300], sfx[8], node[64];
		ctrl_node_name(0, node);
		for (json_int_t n = have; n < want; n++) {
			ctrl_rand_suffix(sfx, 5);
			snprintf(name, sizeof(name), "%s-%s", ctrl_meta(rs, "name"), sfx);
			json_t *p = ctrl_pod_from_template(rs, t, tmpl, name, NULL, node);
			if (ctrl_create(c, c->pods, p) == 0) {
				have++, labeled++;
				ctrl_event(c, rs, t, "Normal", "SuccessfulCreate",
					   t == c->rc ? "replication-controller" : "replicaset-controller",
					   "Created pod: %s", name);
			}
			json_decref(p);
		}
	} else if (have > want) {
		/* Delete not-ready pods first, then the newest. */
		json_int_t extra = have - want;
		for (int pass = 0; pass < 2 && extra > 0; pass++) {
			for (size_t k = json_array_size(pods); k-- > 0 && extra > 0;) {
				pod = json_array_get(pods, k);
				if (ctrl_deleting(pod) || (pass == 0 && ctrl_pod_ready(pod)))
					continue;
				if (ctrl_delete(c, c->pods, ns_of(pod), ctrl_meta(pod, "name"), NULL) == 0) {
					if (ctrl_pod_ready(pod))
						ready--, available--;
					have--, labeled--, extra--;
					json_object_set_new(jx_obj_ensure(pod, "metadata"), "deletionTimestamp",
							    json_string("x"));
				}
			}
		}
	}
	json_decref(pods);

	json_t *status = json_object();
	json_object_set_new(status, "replicas", json_integer(have));
	set_nz(status, "fullyLabeledReplicas", labeled);
	set_nz(status, "readyReplicas", ready);
	set_nz(status, "availableReplicas", available);
	json_object_set_new(status, "observedGeneration", json_integer(int_at(rs, "metadata", "generation", 1)));
	if (ctrl_write_status(c, t, rs, status, CTRL_MANAGER) == BERR_CONFLICT)
		again = 50;
	return again;
}

/* ---- Deployment ------------------------------------------------------------------ */

/* The template without the pod-template-hash label, for comparisons. */
static json_t *template_key(const json_t *tmpl)
{
	json_t *k = json_deep_copy(tmpl);
	json_t *labels = jx_path(k, "metadata", "labels", NULL);
	if (labels)
		json_object_del(labels, "pod-template-hash");
	return k;
}

static json_int_t revision_of(const json_t *rs)
{
	int64_t v = 0;
	const char *s = jx_path_str(rs, "metadata", "annotations", "deployment.kubernetes.io/revision", NULL);
	if (s && str_to_i64(s, &v) == 0)
		return v;
	return 0;
}

/* Progress tracking for the progress deadline: per Deployment uid, when the
 * counts last changed. Only the worker thread touches it. */
struct progress {
	char uid[64];
	char sig[96];
	int64_t since_ms;
};
static struct progress progress_tab[256];

static int64_t progress_age(const char *uid, const char *sig)
{
	struct progress *slot = NULL, *oldest = &progress_tab[0];
	int64_t now = clock_mono_ms();
	for (size_t i = 0; i < sizeof(progress_tab) / sizeof(progress_tab[0]); i++) {
		if (strcmp(progress_tab[i].uid, uid) == 0) {
			slot = &progress_tab[i];
			break;
		}
		if (progress_tab[i].since_ms < oldest->since_ms)
			oldest = &progress_tab[i];
	}
	if (!slot) {
		slot = oldest;
		str_copy(slot->uid, uid, sizeof(slot->uid));
		slot->sig[0] = '\0';
	}
	if (strcmp(slot->sig, sig) != 0) {
		str_copy(slot->sig, sig, sizeof(slot->sig));
		slot->since_ms = now;
	}
	return now - slot->since_ms;
}

/* Adopts the orphan ns/name of type t (no controller ownerReference, not
 * being deleted) into owner, as the real controllers adopt what their
 * selector matches. 0, or BERR_EXISTS when it cannot be adopted. */
static int adopt(struct ctrl *c, json_t *owner, const struct ks_type *ot, const struct ks_type *t, const char *name)
{
	json_t *obj = NULL, *ref;
	size_t i;
	int rc = BERR_EXISTS;

	if (store_get(c->s, t, ns_of(owner), name, &obj) < 0)
		return BERR_EXISTS;
	json_array_foreach(jx_path(obj, "metadata", "ownerReferences", NULL), i, ref)
		if (json_is_true(json_object_get(ref, "controller")))
			goto out;
	if (ctrl_deleting(obj))
		goto out;
	json_t *refs = jx_path(obj, "metadata", "ownerReferences", NULL);
	if (!json_is_array(refs)) {
		refs = json_array();
		json_object_set_new(jx_obj_ensure(obj, "metadata"), "ownerReferences", refs);
	}
	json_array_append_new(refs, ctrl_owner_ref(owner, ot));
	if (ctrl_update(c, t, obj) == 0)
		rc = 0;
out:
	json_decref(obj);
	return rc;
}

/* Creates the ReplicaSet for the current template. Returns its name in
 * out (0) or a BERR. */
static int new_replicaset(struct ctrl *c, json_t *d, const char *hash, json_int_t revision, json_int_t replicas,
			  char *out, size_t size)
{
	json_t *tmpl = json_deep_copy(jx_path(d, "spec", "template", NULL));
	json_t *sel = json_deep_copy(jx_path(d, "spec", "selector", NULL));
	json_t *labels, *rs;
	char rev[32];
	int rc;

	snprintf(out, size, "%s-%s", ctrl_meta(d, "name"), hash);
	snprintf(rev, sizeof(rev), "%lld", (long long)revision);
	labels = jx_obj_ensure(jx_obj_ensure(tmpl, "metadata"), "labels");
	json_object_set_new(labels, "pod-template-hash", json_string(hash));
	if (!json_is_object(sel))
		sel = json_object();
	json_object_set_new(jx_obj_ensure(sel, "matchLabels"), "pod-template-hash", json_string(hash));
	rs = json_pack("{s:s, s:s, s:{s:s, s:s, s:O, s:{s:s, s:s, s:s}, s:[o]}, s:{s:I, s:o, s:o}}", "apiVersion",
		       "apps/v1", "kind", "ReplicaSet", "metadata", "name", out, "namespace", ctrl_meta(d, "namespace"),
		       "labels", labels, "annotations", "deployment.kubernetes.io/revision", rev,
		       "deployment.kubernetes.io/desired-replicas", "1", "deployment.kubernetes.io/max-replicas", "2",
		       "ownerReferences", ctrl_owner_ref(d, c->deploy), "spec", "replicas", replicas, "selector", sel,
		       "template", tmpl);
	char desired[32];
	snprintf(desired, sizeof(desired), "%lld", (long long)int_at(d, "spec", "replicas", 1));
	json_object_set_new(jx_path(rs, "metadata", "annotations", NULL), "deployment.kubernetes.io/desired-replicas",
			    json_string(desired));
	json_int_t dr = int_at(d, "spec", "replicas", 1);
	snprintf(desired, sizeof(desired), "%lld", (long long)(dr + (dr + 3) / 4));
	json_object_set_new(jx_path(rs, "metadata", "annotations", NULL), "deployment.kubernetes.io/max-replicas",
			    json_string(desired));
	rc = ctrl_create(c, c->rs, rs);
	json_decref(rs);
	if (rc == 0)
		ctrl_event(c, d, c->deploy, "Normal", "ScalingReplicaSet", "deployment-controller",
			   "Scaled up replica set %s to %lld", out, (long long)replicas);
	if (rc == BERR_EXISTS && adopt(c, d, c->deploy, c->rs, out) == 0)
		rc = 0;
	return rc;
}

static void set_rs_replicas(struct ctrl *c, json_t *d, json_t *rs, json_int_t n)
{
	json_int_t was = int_at(rs, "spec", "replicas", 1);
	if (was == n)
		return;
	json_object_set_new(jx_obj_ensure(rs, "spec"), "replicas", json_integer(n));
	if (ctrl_update(c, c->rs, rs) == 0)
		ctrl_event(c, d, c->deploy, "Normal", "ScalingReplicaSet", "deployment-controller",
			   "Scaled %s replica set %s from %lld to %lld", n > was ? "up" : "down", ctrl_meta(rs, "name"),
			   (long long)was, (long long)n);
}

/* Old ReplicaSets go to zero once the new one is fully available (a
 * simplified rolling update); scaled-down ones beyond revisionHistoryLimit
 * are deleted, oldest revision first. */
static void scale_down_and_trim(struct ctrl *c, json_t *d, json_t *rss, json_t *newrs, bool new_done)
{
	json_int_t history = int_at(d, "spec", "revisionHistoryLimit", 10), kept;
	json_t *rs, *oldest;
	size_t i;

	json_array_foreach(rss, i, rs) {
		if (rs != newrs && !ctrl_deleting(rs) && new_done)
			set_rs_replicas(c, d, rs, 0);
	}
	for (;;) {
		oldest = NULL;
		kept = 0;
		json_array_foreach(rss, i, rs) {
			if (rs == newrs || ctrl_deleting(rs) || int_at(rs, "spec", "replicas", 1) != 0 ||
			    int_at(rs, "status", "replicas", 0) != 0)
				continue;
			kept++;
			if (!oldest || revision_of(rs) < revision_of(oldest))
				oldest = rs;
		}
		if (kept <= history || !oldest)
			break;
		ctrl_delete(c, c->rs, ns_of(oldest), ctrl_meta(oldest, "name"), NULL);
		json_object_set_new(jx_obj_ensure(oldest, "metadata"), "deletionTimestamp", json_string("x"));
	}
}

/* maxUnavailable of a RollingUpdate strategy, in pods (0 for Recreate). */
static json_int_t max_unavailable(const json_t *d, json_int_t want)
{
	json_t *mu = jx_path(d, "spec", "strategy", "rollingUpdate", "maxUnavailable", NULL);
	const char *s = json_string_value(mu);
	int64_t pct = 25;
	char tmp[16];

	if (!str_eq_null(jx_path_str(d, "spec", "strategy", "type", NULL), "RollingUpdate"))
		return 0;
	if (json_is_integer(mu))
		return json_integer_value(mu);
	if (s && str_ends_with(s, "%") && str_copy(tmp, s, sizeof(tmp)) < sizeof(tmp)) {
		tmp[strlen(tmp) - 1] = '\0';
		str_to_i64(tmp, &pct);
	}
	return want * pct / 100;
}

struct rollout {
	json_int_t want, total, updated, ready, available;
	bool new_done;
	const char *hash, *newname;
};

/* Writes the Deployment's status; returns the requeue delay. */
static int64_t deployment_status(struct ctrl *c, json_t *d, const struct rollout *r)
{
	json_t *oldc = jx_path(d, "status", "conditions", NULL), *conds = json_array(), *status;
	bool paused = json_is_true(jx_path(d, "spec", "paused", NULL));
	bool min_avail = r->available >= r->want - max_unavailable(d, r->want);
	bool complete = r->new_done && r->total == r->want && r->updated == r->want && r->available >= r->want;
	char msg[512], sig[96];
	int64_t again = -1;

	json_array_append_new(conds, ctrl_condition(oldc, "Available", min_avail ? "True" : "False",
						    min_avail ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
						    min_avail ? "Deployment has minimum availability."
							      : "Deployment does not have minimum availability.",
						    true));
	/* Progress is any change of the counts; the deadline runs from the
	 * last one. */
	snprintf(sig, sizeof(sig), "%s/%lld/%lld/%lld/%lld", r->hash, (long long)r->total, (long long)r->updated,
		 (long long)r->ready, (long long)r->available);
	int64_t age = progress_age(ctrl_meta(d, "uid"), sig);
	int64_t deadline = int_at(d, "spec", "progressDeadlineSeconds", 600) * 1000;
	if (deadline > c->o.fail_deadline_ms)
		deadline = c->o.fail_deadline_ms;
	if (paused) {
		json_array_append_new(conds, ctrl_condition(oldc, "Progressing", "Unknown", "DeploymentPaused",
							    "Deployment is paused", true));
	} else if (complete) {
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has successfully progressed.", r->newname);
		json_array_append_new(conds, ctrl_condition(oldc, "Progressing", "True", "NewReplicaSetAvailable", msg,
							    true));
	} else if (age >= deadline) {
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has timed out progressing.", r->newname);
		json_array_append_new(conds, ctrl_condition(oldc, "Progressing", "False", "ProgressDeadlineExceeded",
							    msg, true));
	} else {
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" is progressing.", r->newname);
		json_array_append_new(conds, ctrl_condition(oldc, "Progressing", "True", "ReplicaSetUpdated", msg,
							    true));
		again = deadline - age + 10;
	}
	json_int_t unavailable = (r->total > r->want ? r->total : r->want) - r->available;
	status = json_object();
	json_object_set_new(status, "observedGeneration", json_integer(int_at(d, "metadata", "generation", 1)));
	set_nz(status, "replicas", r->total);
	set_nz(status, "updatedReplicas", r->updated);
	set_nz(status, "readyReplicas", r->ready);
	set_nz(status, "availableReplicas", r->available);
	set_nz(status, "unavailableReplicas", unavailable > 0 ? unavailable : 0);
	json_object_set_new(status, "conditions", conds);
	if (ctrl_write_status(c, c->deploy, d, status, CTRL_MANAGER) == BERR_CONFLICT)
		return 50;
	return again;
}

int64_t ctrl_deployment(struct ctrl *c, json_t *d)
{
	json_t *rss, *rs, *newrs = NULL, *key;
	json_int_t max_rev = 0;
	struct rollout r = { .want = int_at(d, "spec", "replicas", 1) };
	char hash[16], rsname[300];
	size_t i;
	int64_t again;

	if (!c->rs || ctrl_deleting(d) || !(rss = ctrl_list_owned(c, c->rs, ns_of(d), d)))
		return -1;
	key = template_key(jx_path(d, "spec", "template", NULL));
	ctrl_hash(key, hash);
	json_array_foreach(rss, i, rs) {
		json_t *k = template_key(jx_path(rs, "spec", "template", NULL));
		if (!ctrl_deleting(rs) && k && key && jx_equal(k, key))
			newrs = rs;
		json_decref(k);
		if (revision_of(rs) > max_rev)
			max_rev = revision_of(rs);
	}
	json_decref(key);
	if (!newrs && !json_is_true(jx_path(d, "spec", "paused", NULL))) {
		int rc = new_replicaset(c, d, hash, max_rev + 1, r.want, rsname, sizeof(rsname));
		json_decref(rss);
		/* Again with the new ReplicaSet listed; a namesake still being
		 * deleted makes us wait a little. */
		return rc == 0 ? 0 : rc == BERR_EXISTS ? 200 : 500;
	}
	if (newrs) {
		set_rs_replicas(c, d, newrs, r.want);
		/* A ReplicaSet rolled back to gets the next revision. */
		if (revision_of(newrs) < max_rev) {
			char rev[32];
			snprintf(rev, sizeof(rev), "%lld", (long long)max_rev + 1);
			json_object_set_new(jx_obj_ensure(jx_obj_ensure(newrs, "metadata"), "annotations"),
					    "deployment.kubernetes.io/revision", json_string(rev));
			ctrl_update(c, c->rs, newrs);
		}
		r.new_done = int_at(newrs, "status", "availableReplicas", 0) >= r.want &&
			     int_at(newrs, "status", "replicas", 0) == r.want;
		r.updated = int_at(newrs, "status", "replicas", 0);
	}
	scale_down_and_trim(c, d, rss, newrs, r.new_done);
	json_array_foreach(rss, i, rs) {
		r.total += int_at(rs, "status", "replicas", 0);
		r.ready += int_at(rs, "status", "readyReplicas", 0);
		r.available += int_at(rs, "status", "availableReplicas", 0);
	}
	r.hash = hash;
	r.newname = newrs ? ctrl_meta(newrs, "name") : "";
	again = deployment_status(c, d, &r);
	json_decref(rss);
	return again;
}

/* ---- ControllerRevision (StatefulSet, DaemonSet) ----------------------------- */

/* Makes sure a ControllerRevision <owner>-<hash> holding the template exists;
 * returns its revision number. */
static json_int_t ensure_revision(struct ctrl *c, const struct ks_type *ot, json_t *owner, const char *hash)
{
	char name[300];
	json_t *cr = NULL;
	json_int_t rev = 1;

	if (!c->cr)
		return 1;
	snprintf(name, sizeof(name), "%s-%s", ctrl_meta(owner, "name"), hash);
	if (store_get(c->s, c->cr, ns_of(owner), name, &cr) == 0) {
		rev = json_integer_value(json_object_get(cr, "revision"));
		json_decref(cr);
		return rev;
	}
	json_t *crs = ctrl_list_owned(c, c->cr, ns_of(owner), owner);
	size_t i;
	json_array_foreach(crs, i, cr)
		if (json_integer_value(json_object_get(cr, "revision")) >= rev)
			rev = json_integer_value(json_object_get(cr, "revision")) + 1;
	json_decref(crs);
	json_t *labels = json_deep_copy(jx_path(owner, "spec", "template", "metadata", "labels", NULL));
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	json_object_set_new(labels, "controller-revision-hash", json_string(hash));
	json_t *tmpl = json_deep_copy(jx_path(owner, "spec", "template", NULL));
	json_object_set_new(tmpl, "$patch", json_string("replace"));
	cr = json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:[o]}, s:{s:{s:o}}, s:I}", "apiVersion", "apps/v1", "kind",
		       "ControllerRevision", "metadata", "name", name, "namespace", ctrl_meta(owner, "namespace"),
		       "labels", labels, "ownerReferences", ctrl_owner_ref(owner, ot), "data", "spec", "template",
		       tmpl, "revision", rev);
	ctrl_create(c, c->cr, cr);
	json_decref(cr);
	return rev;
}

/* ---- StatefulSet --------------------------------------------------------------- */

static void create_claims(struct ctrl *c, json_t *sts, const char *pod_name)
{
	size_t i;
	json_t *vct;
	char name[400];

	if (!c->pvc)
		return;
	json_array_foreach(jx_path(sts, "spec", "volumeClaimTemplates", NULL), i, vct) {
		const char *tn = jx_path_str(vct, "metadata", "name", NULL);
		if (!tn)
			continue;
		snprintf(name, sizeof(name), "%s-%s", tn, pod_name);
		json_t *pvc = json_pack("{s:s, s:s, s:{s:s, s:s, s:O*}, s:O*}", "apiVersion", "v1", "kind",
					"PersistentVolumeClaim", "metadata", "name", name, "namespace",
					ctrl_meta(sts, "namespace"), "labels",
					jx_path(sts, "spec", "selector", "matchLabels", NULL), "spec",
					json_object_get(vct, "spec"));
		ctrl_create(c, c->pvc, pvc); /* AlreadyExists is fine: claims outlive pods */
		json_decref(pvc);
	}
}

/* Creates StatefulSet pod `name` (with its claims mounted). 0 or BERR. */
static int sts_create_pod(struct ctrl *c, json_t *sts, const char *name, const char *rev_name)
{
	json_t *spec_s = json_object_get(sts, "spec"), *vct, *spec, *vols;
	char node[64], cn[400];
	size_t k;
	int rc;

	ctrl_node_name(0, node);
	json_t *extra = json_pack("{s:s, s:s}", "controller-revision-hash", rev_name,
				  "statefulset.kubernetes.io/pod-name", name);
	json_t *p = ctrl_pod_from_template(sts, c->sts, json_object_get(spec_s, "template"), name, extra, node);
	spec = json_object_get(p, "spec");
	json_object_set_new(spec, "hostname", json_string(name));
	if (jx_str(spec_s, "serviceName"))
		json_object_set_new(spec, "subdomain", json_string(jx_str(spec_s, "serviceName")));
	create_claims(c, sts, name);
	json_array_foreach(json_object_get(spec_s, "volumeClaimTemplates"), k, vct) {
		const char *tn = jx_path_str(vct, "metadata", "name", NULL);
		if (!tn)
			continue;
		snprintf(cn, sizeof(cn), "%s-%s", tn, name);
		if (!(vols = json_object_get(spec, "volumes"))) {
			vols = json_array();
			json_object_set_new(spec, "volumes", vols);
		}
		json_array_append_new(vols, json_pack("{s:s, s:{s:s}}", "name", tn, "persistentVolumeClaim", "claimName", cn));
	}
	rc = ctrl_create(c, c->pods, p);
	json_decref(p);
	json_decref(extra);
	if (rc == 0)
		ctrl_event(c, sts, c->sts, "Normal", "SuccessfulCreate", "statefulset-controller",
			   "create Pod %s in StatefulSet %s successful", name, ctrl_meta(sts, "name"));
	return rc;
}

int64_t ctrl_statefulset(struct ctrl *c, json_t *sts)
{
	json_int_t want = int_at(sts, "spec", "replicas", 1), have = 0, ready = 0, updated = 0;
	json_t *key = jx_path(sts, "spec", "template", NULL), *pods, *pod;
	char hash[16], rev_name[300], name[300];
	bool ordered = !str_eq_null(jx_path_str(sts, "spec", "podManagementPolicy", NULL), "Parallel");
	size_t i;

	if (!c->pods || ctrl_deleting(sts) || !json_is_object(key))
		return -1;
	ctrl_hash(key, hash);
	snprintf(rev_name, sizeof(rev_name), "%s-%s", ctrl_meta(sts, "name"), hash);
	ensure_revision(c, c->sts, sts, hash);
	if (!(pods = ctrl_list_owned(c, c->pods, ns_of(sts), sts)))
		return -1;
	/* Pods by ordinal: delete those beyond replicas or of an old revision
	 * (highest first, one at a time), create missing ones in order. */
	json_t *by_ord = json_object();
	json_array_foreach(pods, i, pod) {
		if (!ctrl_deleting(pod))
			json_object_set(by_ord, ctrl_meta(pod, "name"), pod);
	}
	bool busy = false;
	for (json_int_t n = want; n < want + 1000; n++) {
		snprintf(name, sizeof(name), "%s-%lld", ctrl_meta(sts, "name"), (long long)n);
		if (!(pod = json_object_get(by_ord, name)))
			break;
		ctrl_delete(c, c->pods, ns_of(sts), name, NULL);
		busy = true;
	}
	/* Rolling update from the highest ordinal down to the partition; with
	 * OnDelete, pods are replaced only when someone deletes them. */
	bool on_delete = str_eq_null(jx_path_str(sts, "spec", "updateStrategy", "type", NULL), "OnDelete");
	json_t *ru = jx_path(sts, "spec", "updateStrategy", "rollingUpdate", "partition", NULL);
	json_int_t partition = json_is_integer(ru) ? json_integer_value(ru) : 0;
	for (json_int_t n = want - 1; n >= partition && !busy && !on_delete; n--) {
		snprintf(name, sizeof(name), "%s-%lld", ctrl_meta(sts, "name"), (long long)n);
		pod = json_object_get(by_ord, name);
		if (pod && !str_eq_null(jx_path_str(pod, "metadata", "labels", "controller-revision-hash", NULL),
					rev_name)) {
			ctrl_delete(c, c->pods, ns_of(sts), name, NULL);
			json_object_del(by_ord, name);
			busy = true;
			break;
		}
	}
	for (json_int_t n = 0; n < want; n++) {
		snprintf(name, sizeof(name), "%s-%lld", ctrl_meta(sts, "name"), (long long)n);
		pod = json_object_get(by_ord, name);
		if (pod) {
			have++;
			if (ctrl_pod_ready(pod))
				ready++;
			else if (ordered)
				busy = true;
			if (str_eq_null(jx_path_str(pod, "metadata", "labels", "controller-revision-hash", NULL), rev_name))
				updated++;
			continue;
		}
		if (busy)
			break;
		if (sts_create_pod(c, sts, name, rev_name) == 0)
			have++, updated++;
		if (ordered)
			break;
	}
	json_decref(by_ord);
	json_decref(pods);

	json_t *status = json_pack("{s:I, s:I, s:s, s:s, s:i}", "observedGeneration",
				   int_at(sts, "metadata", "generation", 1), "replicas", have, "currentRevision",
				   rev_name, "updateRevision", rev_name, "collisionCount", 0);
	set_nz(status, "readyReplicas", ready);
	set_nz(status, "availableReplicas", ready);
	set_nz(status, "currentReplicas", updated);
	set_nz(status, "updatedReplicas", updated);
	return ctrl_write_status(c, c->sts, sts, status, CTRL_MANAGER) == BERR_CONFLICT ? 50 : -1;
}

/* ---- DaemonSet ------------------------------------------------------------------ */

int64_t ctrl_daemonset(struct ctrl *c, json_t *ds)
{
	json_t *tmpl = jx_path(ds, "spec", "template", NULL), *pods, *pod;
	char hash[16], node[64], name[300], sfx[8];
	json_int_t scheduled = 0, ready = 0, updated = 0;
	size_t i;

	if (!c->pods || ctrl_deleting(ds) || !json_is_object(tmpl))
		return -1;
	ctrl_hash(tmpl, hash);
	ensure_revision(c, c->ds, ds, hash);
	/* With OnDelete, pods of an old template stay until someone deletes them. */
	bool on_delete = str_eq_null(jx_path_str(ds, "spec", "updateStrategy", "type", NULL), "OnDelete");
	if (!(pods = ctrl_list_owned(c, c->pods, ns_of(ds), ds)))
		return -1;
	for (int n = 0; n < c->o.nodes; n++) {
		json_t *found = NULL;
		ctrl_node_name(n, node);
		json_array_foreach(pods, i, pod) {
			if (!ctrl_deleting(pod) && str_eq_null(jx_path_str(pod, "spec", "nodeName", NULL), node))
				found = pod;
		}
		if (found && !on_delete &&
		    !str_eq_null(jx_path_str(found, "metadata", "labels", "controller-revision-hash", NULL), hash)) {
			ctrl_delete(c, c->pods, ns_of(ds), ctrl_meta(found, "name"), NULL);
			found = NULL;
		}
		if (found) {
			scheduled++;
			updated++;
			if (ctrl_pod_ready(found))
				ready++;
			continue;
		}
		ctrl_rand_suffix(sfx, 5);
		snprintf(name, sizeof(name), "%s-%s", ctrl_meta(ds, "name"), sfx);
		json_t *extra = json_pack("{s:s, s:s}", "controller-revision-hash", hash, "pod-template-generation", "1");
		json_t *p = ctrl_pod_from_template(ds, c->ds, tmpl, name, extra, node);
		if (ctrl_create(c, c->pods, p) == 0) {
			scheduled++, updated++;
			ctrl_event(c, ds, c->ds, "Normal", "SuccessfulCreate", "daemonset-controller", "Created pod: %s",
				   name);
		}
		json_decref(p);
		json_decref(extra);
	}
	json_decref(pods);
	json_t *status = json_pack("{s:I, s:I, s:I, s:i, s:I}", "observedGeneration",
				   int_at(ds, "metadata", "generation", 1), "currentNumberScheduled", scheduled,
				   "desiredNumberScheduled", (json_int_t)c->o.nodes, "numberMisscheduled", 0,
				   "numberReady", ready);
	set_nz(status, "numberAvailable", ready);
	set_nz(status, "numberUnavailable", c->o.nodes - ready);
	set_nz(status, "updatedNumberScheduled", updated);
	return ctrl_write_status(c, c->ds, ds, status, CTRL_MANAGER) == BERR_CONFLICT ? 50 : -1;
}

/* ---- Job ------------------------------------------------------------------------ */

static bool has_condition(const json_t *obj, const char *type)
{
	size_t i;
	json_t *cnd;
	json_array_foreach(jx_path(obj, "status", "conditions", NULL), i, cnd)
		if (str_eq_null(jx_str(cnd, "type"), type) && str_eq_null(jx_str(cnd, "status"), "True"))
			return true;
	return false;
}

#define JOB_MAX_INDEXES 100000

/* The completion index of an Indexed Job's pod, or -1. */
static json_int_t pod_index(const json_t *pod, json_int_t completions)
{
	const char *s = jx_path_str(pod, "metadata", "annotations", "batch.kubernetes.io/job-completion-index", NULL);
	int64_t v;
	if (!s || str_to_i64(s, &v) < 0 || v < 0 || v >= completions)
		return -1;
	return v;
}

/* Creates up to room pods; for Indexed Jobs each takes the lowest index that
 * is neither done nor running (state[i]: 0 free, 1 running, 2 done). */
static json_int_t job_create_pods(struct ctrl *c, json_t *job, json_int_t room, unsigned char *state,
				  json_int_t completions)
{
	json_t *tmpl = jx_path(job, "spec", "template", NULL);
	char name[300], sfx[8], node[64], idx[32];
	json_int_t created = 0, next = 0;

	ctrl_node_name(0, node);
	for (json_int_t n = 0; n < room; n++) {
		json_t *p;
		ctrl_rand_suffix(sfx, 5);
		if (state) {
			while (next < completions && state[next])
				next++;
			if (next >= completions)
				break;
			snprintf(idx, sizeof(idx), "%lld", (long long)next);
			snprintf(name, sizeof(name), "%s-%s-%s", ctrl_meta(job, "name"), idx, sfx);
			json_t *extra = json_pack("{s:s}", "batch.kubernetes.io/job-completion-index", idx);
			p = ctrl_pod_from_template(job, c->job, tmpl, name, extra, node);
			json_decref(extra);
			json_object_set_new(jx_obj_ensure(jx_obj_ensure(p, "metadata"), "annotations"),
					    "batch.kubernetes.io/job-completion-index", json_string(idx));
			json_object_set_new(jx_obj_ensure(p, "spec"), "hostname", json_string(name));
			state[next] = 1;
		} else {
			snprintf(name, sizeof(name), "%s-%s", ctrl_meta(job, "name"), sfx);
			p = ctrl_pod_from_template(job, c->job, tmpl, name, NULL, node);
		}
		if (ctrl_create(c, c->pods, p) == 0) {
			created++;
			ctrl_event(c, job, c->job, "Normal", "SuccessfulCreate", "job-controller", "Created pod: %s", name);
		}
		json_decref(p);
	}
	return created;
}

/* "0-2,4" for the done indexes. */
static json_t *completed_indexes(const unsigned char *state, json_int_t completions)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	for (json_int_t i = 0; i < completions; i++) {
		if (state[i] != 2)
			continue;
		json_int_t j = i;
		while (j + 1 < completions && state[j + 1] == 2)
			j++;
		buf_printf(&b, j > i ? "%s%lld-%lld" : "%s%lld", b.len ? "," : "", (long long)i, (long long)j);
		i = j;
	}
	json_t *r = b.len ? json_string(b.ptr) : NULL;
	buf_release(&b);
	return r;
}

/* A Job's status from its pod counts; completed (stolen, may be NULL) is
 * the completedIndexes string of an Indexed Job. */
static json_t *job_status(const json_t *old, json_int_t active, json_int_t succeeded, json_int_t failed,
			  json_int_t ready, bool complete, bool failed_out, bool suspended, json_t *completed,
			  const char *now)
{
	json_t *status = json_object(), *conds = json_array();
	json_t *st = json_object_get(old, "startTime");
	json_object_set_new(status, "startTime", st ? json_incref(st) : json_string(now));
	set_nz(status, "active", complete || failed_out ? 0 : active);
	set_nz(status, "succeeded", succeeded);
	set_nz(status, "failed", failed);
	json_object_set_new(status, "ready", json_integer(complete || failed_out ? 0 : ready));
	json_object_set_new(status, "terminating", json_integer(0));
	json_object_set_new(status, "uncountedTerminatedPods", json_object());
	if (completed)
		json_object_set_new(status, "completedIndexes", completed);
	json_t *oc = json_object_get(old, "conditions");
	if (complete) {
		json_array_append_new(conds, ctrl_condition(oc, "SuccessCriteriaMet", "True", "CompletionsReached",
							    "Reached expected number of succeeded pods", true));
		json_array_append_new(conds, ctrl_condition(oc, "Complete", "True", "CompletionsReached",
							    "Reached expected number of succeeded pods", true));
		json_object_set_new(status, "completionTime", json_string(now));
	} else if (failed_out) {
		json_array_append_new(conds, ctrl_condition(oc, "FailureTarget", "True", "BackoffLimitExceeded",
							    "Job has reached the specified backoff limit", true));
		json_array_append_new(conds, ctrl_condition(oc, "Failed", "True", "BackoffLimitExceeded",
							    "Job has reached the specified backoff limit", true));
	} else if (suspended) {
		json_array_append_new(conds, ctrl_condition(oc, "Suspended", "True", "JobSuspended", "Job suspended",
							    true));
	}
	if (json_array_size(conds))
		json_object_set_new(status, "conditions", conds);
	else
		json_decref(conds);
	return status;
}

int64_t ctrl_job(struct ctrl *c, json_t *job)
{
	json_int_t completions = int_at(job, "spec", "completions", 1);
	json_int_t parallelism = int_at(job, "spec", "parallelism", 1);
	json_int_t backoff = int_at(job, "spec", "backoffLimit", 6);
	json_int_t active = 0, succeeded = 0, failed = 0, ready = 0;
	json_t *pods, *pod, *tmpl = jx_path(job, "spec", "template", NULL);
	json_t *old = json_object_get(job, "status");
	bool indexed = str_eq_null(jx_path_str(job, "spec", "completionMode", NULL), "Indexed") && completions > 0 &&
		       completions <= JOB_MAX_INDEXES;
	unsigned char *state = indexed ? calloc((size_t)completions, 1) : NULL;
	char now[32];
	size_t i;

	if (!c->pods || ctrl_deleting(job) || has_condition(job, "Complete") || has_condition(job, "Failed") ||
	    (indexed && !state) || !(pods = ctrl_list_owned(c, c->pods, ns_of(job), job))) {
		free(state);
		return -1;
	}
	json_array_foreach(pods, i, pod) {
		const char *ph = ctrl_pod_phase(pod);
		json_int_t idx = indexed ? pod_index(pod, completions) : -1;
		if (strcmp(ph, "Succeeded") == 0) {
			if (!indexed)
				succeeded++;
			else if (idx >= 0)
				state[idx] = 2;
		} else if (strcmp(ph, "Failed") == 0) {
			failed++;
		} else if (!ctrl_deleting(pod)) {
			active++;
			if (ctrl_pod_ready(pod))
				ready++;
			if (idx >= 0 && state[idx] == 0)
				state[idx] = 1;
		}
	}
	json_decref(pods);
	for (json_int_t k = 0; indexed && k < completions; k++)
		succeeded += state[k] == 2;
	ctrl_now(now);
	bool suspended = json_is_true(jx_path(job, "spec", "suspend", NULL));
	bool complete = succeeded >= completions;
	bool failed_out = failed > backoff;
	if (!complete && !failed_out && !suspended && json_is_object(tmpl)) {
		json_int_t room = parallelism - active;
		if (room > completions - succeeded - active)
			room = completions - succeeded - active;
		active += job_create_pods(c, job, room, state, completions);
	}
	json_t *status = job_status(old, active, succeeded, failed, ready, complete, failed_out, suspended,
				    indexed ? completed_indexes(state, completions) : NULL, now);
	free(state);
	if (complete)
		ctrl_event(c, job, c->job, "Normal", "Completed", "job-controller", "Job completed");
	else if (failed_out)
		ctrl_event(c, job, c->job, "Warning", "BackoffLimitExceeded", "job-controller",
			   "Job has reached the specified backoff limit");
	return ctrl_write_status(c, c->job, job, status, CTRL_MANAGER) == BERR_CONFLICT ? 50 : -1;
}

/* ---- CronJob ---------------------------------------------------------------------- */

static bool job_finished(const json_t *job, bool *ret_ok)
{
	*ret_ok = has_condition(job, "Complete");
	return *ret_ok || has_condition(job, "Failed");
}

/* Deletes the oldest finished jobs beyond limit (ok selects successful or
 * failed ones). jobs is sorted by name, and names carry the schedule time. */
static void trim_jobs(struct ctrl *c, json_t *jobs, bool ok_kind, json_int_t limit)
{
	json_int_t n = 0;
	size_t i;
	json_t *j;
	bool ok;

	json_array_foreach(jobs, i, j)
		if (!ctrl_deleting(j) && job_finished(j, &ok) && ok == ok_kind)
			n++;
	json_array_foreach(jobs, i, j) {
		if (n <= limit)
			break;
		if (!ctrl_deleting(j) && job_finished(j, &ok) && ok == ok_kind) {
			ctrl_delete(c, c->job, ns_of(j), ctrl_meta(j, "name"), "Background");
			n--;
		}
	}
}

/* Creates the Job of cj's run at `when` and lists it in active. 0 or BERR
 * (AlreadyExists counts as success: the run happened). */
static int cron_start_job(struct ctrl *c, json_t *cj, time_t when, json_t *active)
{
	json_t *jt = jx_path(cj, "spec", "jobTemplate", NULL);
	json_t *md = json_deep_copy(json_object_get(jt, "metadata")), *job, *created = NULL;
	char name[300], ts[32];
	int rc;

	snprintf(name, sizeof(name), "%s-%lld", ctrl_meta(cj, "name"), (long long)(when / 60));
	clock_format_rfc3339(when, ts, sizeof(ts));
	if (!json_is_object(md)) {
		json_decref(md);
		md = json_object();
	}
	json_object_del(md, "creationTimestamp");
	json_object_set_new(md, "name", json_string(name));
	json_object_set_new(md, "namespace", json_string(ctrl_meta(cj, "namespace")));
	json_object_set_new(md, "ownerReferences", json_pack("[o]", ctrl_owner_ref(cj, c->cronjob)));
	json_object_set_new(jx_obj_ensure(md, "annotations"), "batch.kubernetes.io/cronjob-scheduled-timestamp",
			    json_string(ts));
	job = json_pack("{s:s, s:s, s:o, s:O*}", "apiVersion", "batch/v1", "kind", "Job", "metadata", md, "spec",
			json_object_get(jt, "spec"));
	rc = ctrl_create(c, c->job, job);
	json_decref(job);
	if (rc < 0 && rc != BERR_EXISTS)
		return rc;
	if (rc == 0)
		ctrl_event(c, cj, c->cronjob, "Normal", "SuccessfulCreate", "cronjob-controller", "Created job %s", name);
	if (store_get(c->s, c->job, ns_of(cj), name, &created) == 0)
		json_array_append_new(active, json_pack("{s:s, s:s, s:s, s:s, s:s}", "apiVersion", "batch/v1", "kind",
							"Job", "name", name, "namespace", ctrl_meta(cj, "namespace"),
							"uid", ctrl_meta(created, "uid")));
	json_decref(created);
	return 0;
}

int64_t ctrl_cronjob(struct ctrl *c, json_t *cj)
{
	struct ks_cron cr;
	const char *sched = jx_path_str(cj, "spec", "schedule", NULL);
	const char *last_s = jx_path_str(cj, "status", "lastScheduleTime", NULL);
	const char *policy = jx_path_str(cj, "spec", "concurrencyPolicy", NULL);
	json_t *jobs, *j, *active = json_array(), *status;
	time_t last = 0, now = time(NULL), next;
	const char *last_ok = NULL;
	char ts[32], last_ok_buf[40] = "";
	size_t i;
	bool ok, scheduled = false;

	if (!c->job || ctrl_deleting(cj) || !sched || cron_parse(sched, &cr) < 0 ||
	    !(jobs = ctrl_list_owned(c, c->job, ns_of(cj), cj))) {
		json_decref(active);
		return -1;
	}
	if (!last_s || clock_parse_rfc3339(last_s, &last) < 0)
		clock_parse_rfc3339(ctrl_meta(cj, "creationTimestamp"), &last);
	json_array_foreach(jobs, i, j) {
		if (ctrl_deleting(j))
			continue;
		if (!job_finished(j, &ok))
			json_array_append_new(active, json_pack("{s:s, s:s, s:s, s:s, s:s}", "apiVersion", "batch/v1",
								"kind", "Job", "name", ctrl_meta(j, "name"), "namespace",
								ctrl_meta(j, "namespace"), "uid", ctrl_meta(j, "uid")));
		else if (ok) {
			const char *ct = jx_path_str(j, "status", "completionTime", NULL);
			if (ct && (!last_ok || strcmp(ct, last_ok) > 0))
				last_ok = ct;
		}
	}
	next = cron_next(&cr, last);
	/* Missed runs collapse into the latest one. */
	while (next && next <= now) {
		time_t after = cron_next(&cr, next);
		if (!after || after > now)
			break;
		next = after;
	}
	bool suspended = json_is_true(jx_path(cj, "spec", "suspend", NULL));
	if (next && next <= now && !suspended &&
	    !(str_eq_null(policy, "Forbid") && json_array_size(active) > 0)) {
		if (str_eq_null(policy, "Replace")) {
			json_array_foreach(active, i, j)
				ctrl_delete(c, c->job, ns_of(cj), jx_str(j, "name"), "Background");
			json_array_clear(active);
		}
		if (cron_start_job(c, cj, next, active) == 0) {
			last = next;
			scheduled = true;
		}
	}
	if (last_ok) /* borrowed from jobs, released below */
		str_copy(last_ok_buf, last_ok, sizeof(last_ok_buf));
	trim_jobs(c, jobs, true, int_at(cj, "spec", "successfulJobsHistoryLimit", 3));
	trim_jobs(c, jobs, false, int_at(cj, "spec", "failedJobsHistoryLimit", 1));
	json_decref(jobs);

	status = json_object();
	if (json_array_size(active))
		json_object_set(status, "active", active);
	json_decref(active);
	if (scheduled || last_s) {
		clock_format_rfc3339(last, ts, sizeof(ts));
		json_object_set_new(status, "lastScheduleTime", json_string(ts));
	}
	if (last_ok_buf[0])
		json_object_set_new(status, "lastSuccessfulTime", json_string(last_ok_buf));
	if (ctrl_write_status(c, c->cronjob, cj, status, CTRL_MANAGER) == BERR_CONFLICT)
		return 50;
	next = cron_next(&cr, now);
	return next ? (int64_t)(next - now) * 1000 + 50 : -1;
}
