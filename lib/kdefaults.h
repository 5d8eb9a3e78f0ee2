/*
 * kdefaults — the defaults a Kubernetes API server fills into objects it
 * stores (KUBE-API.md §6), as a pure library: no I/O, no clock, no global
 * state.
 *
 * kube-sim calls it on every create and update so its live objects look like
 * a real cluster's; the diff engine calls it on desired objects to predict
 * what the server will add, so a defaulted field is not reported as drift.
 * Both must see the same rules, hence one module.
 *
 * kdefaults_apply() edits an object in place. It is idempotent: applying it
 * to its own result (or to a live object a real API server returned) changes
 * nothing. It only adds fields that are absent and rewrites values into the
 * server's canonical spelling (quantities "1000m" -> "1", Secret stringData
 * folded into base64 data); it never removes or overrides what the object
 * sets, and never validates (an invalid object stays invalid).
 *
 * What depends on the server's state is left to the caller through
 * kdefaults_opts: cluster IP and node port allocation (callbacks; when NULL
 * those fields are left unset), the default StorageClass of PVCs, and
 * whether the object is being created (a few defaults, such as the Job
 * selector that needs metadata.uid, apply only then and only when the uid is
 * set).
 *
 * Covered kinds (by apiVersion + kind): core v1 Pod, Service, Secret,
 * Namespace, PersistentVolumeClaim, PersistentVolume, ReplicationController,
 * ConfigMap (nothing), ServiceAccount (nothing), ResourceQuota and
 * LimitRange (quantities only), Endpoints; apps/v1 Deployment,
 * StatefulSet, DaemonSet, ReplicaSet; batch/v1 Job, CronJob;
 * networking.k8s.io/v1 Ingress (pathType untouched; it is required),
 * NetworkPolicy (policyTypes); autoscaling/v2 HorizontalPodAutoscaler;
 * policy/v1 PodDisruptionBudget; rbac (nothing but apiGroup on subjects);
 * storage.k8s.io/v1 StorageClass. Other kinds are left unchanged.
 */
#ifndef BERTH_KDEFAULTS_H
#define BERTH_KDEFAULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct kdefaults_opts {
	/* Allocates a cluster IP for a Service that has none (type ClusterIP,
	 * NodePort or LoadBalancer; not for headless "None" or ExternalName).
	 * Writes a dotted IPv4 address into out[size]. 0, or a BERR code which
	 * kdefaults_apply returns. NULL: clusterIP/clusterIPs left unset. */
	int (*alloc_cluster_ip)(void *ctx, char *out, size_t size);
	/* Allocates a node port (30000-32767) for a NodePort/LoadBalancer
	 * Service port that has none. 0 or a BERR code. NULL: left unset. */
	int (*alloc_node_port)(void *ctx, int *out);
	void *ctx;
	/* storageClassName given to PVCs that set none (the default
	 * StorageClass admission plugin); NULL: left unset. */
	const char *default_storage_class;
	/* True on create. Create-only defaults: the Job selector and labels
	 * (need metadata.uid), Pod spec.nodeName is never set here. */
	bool create;
};

/* Fills the server-side defaults of obj's kind into obj, in place. opts may
 * be NULL (no allocation, no storage class, create = false). 0 on success;
 * BERR_INVALID when obj is not an object with string apiVersion and kind
 * (nothing changed); an allocator's error code (obj may be partly defaulted).
 * Quantities that do not parse are left as they are (validation is the
 * caller's business). */
int kdefaults_apply(json_t *obj, const struct kdefaults_opts *opts);

/* Defaults of a pod spec (containers, init containers, volumes, probes,
 * restartPolicy, dnsPolicy, ...), as used inside every workload template.
 * bare_pod adds what only bare Pods get from defaulting and admission
 * (enableServiceLinks, priority, preemptionPolicy, serviceAccountName,
 * requests copied from limits, the 300 s tolerations of not-ready and
 * unreachable nodes).
 * spec must be an object; 0 or BERR_INVALID. */
int kdefaults_pod_spec(json_t *spec, bool bare_pod);

/* The imagePullPolicy the server picks for an image reference: "Always" for
 * the tag "latest" or no tag (and no digest), else "IfNotPresent". Returns a
 * static string. */
const char *kdefaults_pull_policy(const char *image);

#endif
