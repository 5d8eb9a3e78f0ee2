/*
 * ctrl — helpers shared by kube-sim's simulated controllers (controllers.c:
 * the work queue, the kubelet, Services/Ingresses/PVCs; workloads.c: the
 * Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and CronJob
 * controllers). Internal to kube-sim; everything runs on the controllers'
 * single worker thread unless said otherwise.
 */
#ifndef KUBESIM_CTRL_H
#define KUBESIM_CTRL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "controllers.h"
#include "store.h"

/* The field managers the real components write as. */
#define CTRL_MANAGER "kube-controller-manager"
#define KUBELET_MANAGER "kubelet"

struct ctrl {
	struct ks_store *s;
	struct controllers_opts o;
	/* Types looked up once (NULL when the store does not serve one). */
	const struct ks_type *pods, *rs, *rc, *deploy, *sts, *ds, *job, *cronjob, *cr, *svc, *ing, *pvc, *pv,
		*nodes, *ns, *ep, *hpa, *apisvc, *events;
};

/* Requeues (t, ns, name) after delay_ms (dedups; the earliest due time
 * wins). Any thread. */
void ctrl_enqueue(struct ctrl *c, const struct ks_type *t, const char *ns, const char *name, int64_t delay_ms);

/* Workload reconcilers (workloads.c). obj is a fresh copy of the stored
 * object (owned by the caller, may be modified). Each returns the delay
 * after which it wants to run again, or -1. */
int64_t ctrl_deployment(struct ctrl *c, json_t *obj);
int64_t ctrl_replicaset(struct ctrl *c, const struct ks_type *t, json_t *obj);
int64_t ctrl_statefulset(struct ctrl *c, json_t *obj);
int64_t ctrl_daemonset(struct ctrl *c, json_t *obj);
int64_t ctrl_job(struct ctrl *c, json_t *obj);
int64_t ctrl_cronjob(struct ctrl *c, json_t *obj);

/* ---- helpers (controllers.c) ---- */

/* True when obj has metadata.deletionTimestamp. */
bool ctrl_deleting(const json_t *obj);

/* metadata.<key> string of obj (borrowed) or "". */
const char *ctrl_meta(const json_t *obj, const char *key);

/* A new ownerReference to owner (controller, blockOwnerDeletion). */
json_t *ctrl_owner_ref(const json_t *owner, const struct ks_type *t);

/* Objects of type t in ns whose controller ownerReference has owner's uid
 * (matching the owner's spec.selector.matchLabels when given). New array of
 * new references (each with kind/apiVersion set), sorted by name; NULL on
 * error. Objects being deleted are included; callers skip them. */
json_t *ctrl_list_owned(struct ctrl *c, const struct ks_type *t, const char *ns, const json_t *owner);

/* Lowercase random suffix of n (< 16) characters from the alphabet Kubernetes
 * uses for generated names. out has room for n+1. */
void ctrl_rand_suffix(char *out, size_t n);

/* The Kubernetes "safe encoding" of a 32-bit hash (pod-template-hash,
 * controller-revision-hash) of v's canonical form. out has room for 11. */
void ctrl_hash(const json_t *v, char out[16]);

/* Creates obj (kind/apiVersion/metadata set) as CTRL_MANAGER. 0 or BERR. */
int ctrl_create(struct ctrl *c, const struct ks_type *t, const json_t *obj);

/* Replaces obj's status with status (stolen) through /status, as manager;
 * a no-op when equal. 0 or BERR (conflict: caller requeues). */
int ctrl_write_status(struct ctrl *c, const struct ks_type *t, json_t *obj, json_t *status, const char *manager);

/* PUT of the whole (modified) obj. 0 or BERR. */
int ctrl_update(struct ctrl *c, const struct ks_type *t, const json_t *obj);

/* Deletes ns/name with propagation (NULL = Background). 0 or BERR (404 is
 * success). */
int ctrl_delete(struct ctrl *c, const struct ks_type *t, const char *ns, const char *name, const char *propagation);

/* A condition object; lastTransitionTime (and lastUpdateTime when
 * with_update) are taken from the same-typed condition in old_conds when
 * status (and for lastUpdateTime also reason+message) are unchanged, else now. */
json_t *ctrl_condition(const json_t *old_conds, const char *type, const char *status, const char *reason,
		       const char *message, bool with_update);

/* Records a core v1 Event about obj (of type t): type "Normal" or
 * "Warning", a reason and a message, from component ("deployment-controller",
 * "kubelet", ...). Best effort: failures are ignored. */
void ctrl_event(struct ctrl *c, const json_t *obj, const struct ks_type *t, const char *type, const char *reason,
		const char *component, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* The current time, RFC 3339. */
void ctrl_now(char out[32]);

/* Pod state as the workload controllers see it. */
bool ctrl_pod_ready(const json_t *pod);
const char *ctrl_pod_phase(const json_t *pod); /* "" when unset */

/* True when any container image of the pod spec ends with ":fail". */
bool ctrl_spec_fails(const json_t *pod_spec);

/* Builds a Pod for a workload: metadata {name, namespace, labels (template
 * labels + extra_labels), annotations (template), ownerReferences}, spec
 * (template spec, nodeName node). New reference. */
json_t *ctrl_pod_from_template(const json_t *owner, const struct ks_type *owner_t, const json_t *tmpl,
			       const char *name, const json_t *extra_labels, const char *node);

/* Name of simulated node i (0-based). Static buffer per call site is NOT
 * used: writes into out[64]. */
void ctrl_node_name(int i, char out[64]);

#endif
