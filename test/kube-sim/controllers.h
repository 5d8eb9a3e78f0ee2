/*
 * controllers — kube-sim's simulated kube-controller-manager and kubelet.
 *
 * Reacting to store changes, it does what the real controllers do, enough
 * for kubectl and Berth's health checks to see a live cluster:
 * - Deployment → ReplicaSet per pod template (name <deploy>-<hash>, label
 *   pod-template-hash, annotation deployment.kubernetes.io/revision), old
 *   ReplicaSets scaled to 0 on rollout, history trimmed to
 *   revisionHistoryLimit; status with observedGeneration, replicas,
 *   updated/ready/available replicas and the Available / Progressing
 *   conditions with the real reasons (NewReplicaSetAvailable,
 *   ReplicaSetUpdated, ProgressDeadlineExceeded, MinimumReplicasAvailable).
 * - ReplicaSet / ReplicationController → Pods; StatefulSet → Pods name-0..N-1
 *   and a ControllerRevision (rolling update partition and OnDelete
 *   honoured); DaemonSet → one Pod per simulated node; Job → Pods (one per
 *   index in Indexed mode), then Complete (or Failed, BackoffLimitExceeded);
 *   CronJob → Jobs on
 *   its schedule (five-field cron: *, N, lists, ranges, steps).
 * - The kubelet: a new Pod is Pending (ContainerCreating) at once, then
 *   Running and Ready after the status delay;
 *   a Pod whose image tag is ":fail" crash-loops (waiting reason
 *   CrashLoopBackOff, restartCount growing), a Job's pod with such an image
 *   fails; other Job pods succeed.
 * - LoadBalancer Services get status.loadBalancer.ingress[{ip}], Ingresses
 *   an address, PVCs are Bound (with a PersistentVolume, deleted with the
 *   claim under reclaim policy Delete, else Released); Services with a
 *   selector get Endpoints listing their ready Pods; APIServices are
 *   Available; HPAs report their target's replicas (no metrics, so they
 *   never scale). Namespace termination is the store's.
 * - Events (core v1) for what the real components report: scheduling, pod
 *   starts, BackOff, ReplicaSet scaling, pod and job creation, job outcome.
 *
 * All writes go through the store like any client's (status through the
 * /status subresource, field manager "kube-controller-manager" or
 * "kubelet"), so watches, RVs and no-op suppression apply.
 * One worker thread; work is keyed by object and delayed by the configured
 * status delay.
 */
#ifndef KUBESIM_CONTROLLERS_H
#define KUBESIM_CONTROLLERS_H

#include <stdint.h>

struct ks_store;
struct controllers;

struct controllers_opts {
	int64_t status_delay_ms;     /* pod start / status delay (default 200) */
	int64_t fail_deadline_ms;    /* a Deployment whose pods crash-loop is
				      * ProgressDeadlineExceeded after
				      * min(progressDeadlineSeconds, this)
				      * (default 3000) */
	int nodes;                   /* simulated nodes (default 1) */
};

/* Starts the controllers on s (opts may be NULL for the defaults). Also
 * creates the simulated Node objects when the store serves nodes. 0 or a
 * BERR. */
int controllers_start(struct ks_store *s, const struct controllers_opts *opts, struct controllers **ret);

/* Stops the worker and frees. NULL is fine. */
void controllers_stop(struct controllers *c);

#endif
