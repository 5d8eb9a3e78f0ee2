/*
 * syncplan — the order in which a sync applies, runs and prunes an app's
 * resources (DESIGN.md §7). Pure: objects in, an ordered task list out; the
 * controller executes it.
 *
 * Order, as Argo CD's gitops-engine sorts its sync tasks:
 *   1. phase: PreSync, Sync, PostSync (SyncFail tasks are kept apart and run
 *      only when the sync fails);
 *   2. wave: the sync-wave annotation (or Helm's hook-weight), default 0;
 *   3. kind: Namespace, NetworkPolicy, ResourceQuota, LimitRange,
 *      PodSecurityPolicy, PodDisruptionBudget, ServiceAccount, Secret,
 *      SecretList, ConfigMap, StorageClass, PersistentVolume,
 *      PersistentVolumeClaim, CustomResourceDefinition, ClusterRole,
 *      ClusterRoleList, ClusterRoleBinding, ClusterRoleBindingList, Role,
 *      RoleList, RoleBinding, RoleBindingList, Service, DaemonSet, Pod,
 *      ReplicationController, ReplicaSet, Deployment, HorizontalPodAutoscaler,
 *      StatefulSet, Job, CronJob, IngressClass, Ingress, APIService, then all
 *      other kinds;
 *   4. name (then namespace and input position, so the order is total).
 * After sorting, a Namespace the plan creates is moved just before the first
 * task in that namespace, and a CRD just before the first custom resource of
 * its group/kind, taking that task's phase and wave.
 *
 * Plain resources are Sync-phase tasks. A hook becomes one task per phase it
 * names, carrying its delete policies; "Skip" objects, hooks without a sync
 * phase (Helm test/delete hooks, PostDelete) are left out and counted.
 * Prune tasks (live objects Git no longer has) are Sync-phase tasks whose
 * waves are mirrored, so the last wave created is the first pruned; with
 * PruneLast (app option or the object's sync-options) they move to a wave
 * after every other Sync-phase task. Live objects marked Prune=false are
 * left out and counted.
 *
 * A wave starts only when the previous one is applied and healthy: the
 * controller walks the plan step by step (syncplan_step). As in Argo CD, a
 * hook's health (lib/health) tells its fate: Healthy = succeeded, Degraded
 * = failed, anything else = still running (a hook Pod with restartPolicy
 * Never/OnFailure is Progressing while it runs). Delete policies:
 * BeforeHookCreation deletes the previous object of that name before
 * creating it, HookSucceeded / HookFailed delete it after that outcome.
 */
#ifndef BERTH_SYNCPLAN_H
#define BERTH_SYNCPLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum syncplan_phase {
	SYNCPLAN_PRESYNC = 0,
	SYNCPLAN_SYNC,
	SYNCPLAN_POSTSYNC,
	SYNCPLAN_SYNCFAIL,
};

struct syncplan_task {
	const json_t *obj;        /* borrowed: desired object, or the live one for a prune task */
	enum syncplan_phase phase;
	int wave;                 /* effective wave (after dependency moves, mirroring, PruneLast) */
	bool hook;                /* a hook: created fresh, waited for, deleted per policy */
	bool prune;               /* delete obj (a live object) */
	unsigned delete_policies; /* ANNOT_DELETE_* bits, for hooks */
	unsigned sync_options;    /* ANNOT_SYNC_* bits from the object's annotation */
	const char *kind;         /* borrowed from obj */
	const char *name;         /* metadata.name, or "" (generateName hooks) */
	const char *ns;           /* metadata.namespace, or "" */
	int kind_order;           /* syncplan_kind_order(kind) */
	size_t input;             /* index in the input array it came from */
};

struct syncplan {
	struct syncplan_task *tasks;      /* PreSync, Sync (incl. prune), PostSync, in order */
	size_t n;
	struct syncplan_task *fail_tasks; /* SyncFail hooks, in order */
	size_t n_fail;
	size_t n_skipped;       /* "Skip" objects and hooks without a sync phase */
	size_t n_prune_disabled;/* live objects not pruned because of Prune=false */
};

struct syncplan_options {
	bool prune_last; /* the app's PruneLast=true sync option */
};

/*
 * Builds the plan. desired: JSON array of the rendered objects (borrowed;
 * must outlive the plan). prune: JSON array of live objects to delete, or
 * NULL. opts may be NULL. 0 with *out filled (syncplan_release it), or
 * BERR_INVALID (an element that is not an object with kind, a sync-wave that
 * is not an integer — the message names the object), BERR_TOOLARGE (more
 * than 100000 objects), BERR_NOMEM. *out untouched on failure.
 */
int syncplan_build(const json_t *desired, const json_t *prune, const struct syncplan_options *opts,
		   struct syncplan *out);

/* Frees the task arrays (not the objects); a zeroed plan is fine. */
void syncplan_release(struct syncplan *p);

/* The step starting at tasks[from]: the tasks of the same phase and wave.
 * Returns the index one past its last task (from itself when from >= n). */
size_t syncplan_step(const struct syncplan *p, size_t from);

/* Position of a kind in the kind order (negative for listed kinds, 0 for
 * every other kind, so other kinds come last). */
int syncplan_kind_order(const char *kind);

/* "PreSync", "Sync", "PostSync", "SyncFail". */
const char *syncplan_phase_name(enum syncplan_phase phase);

#endif
