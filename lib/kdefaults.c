/* kdefaults — see kdefaults.h. The rules follow the API server's
 * SetDefaults_* functions of k8s.io/kubernetes/pkg/apis/<group>/<version>
 * and the admission plugins every cluster runs (DefaultStorageClass,
 * DefaultTolerationSeconds, ServiceAccount, Priority). */
#include "kdefaults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "jsonx.h"
#include "quantity.h"

enum pod_kind { POD_TEMPLATE = 0, POD_BARE, POD_JOB_TEMPLATE };

/* obj[key] = v when obj has no key; steals v either way. */
static void set_default(json_t *obj, const char *key, json_t *v)
{
	if (json_is_object(obj) && !json_object_get(obj, key))
		json_object_set_new(obj, key, v);
	else
		json_decref(v);
}

static void default_str(json_t *obj, const char *key, const char *s)
{
	set_default(obj, key, json_string(s));
}

static void default_int(json_t *obj, const char *key, json_int_t n)
{
	set_default(obj, key, json_integer(n));
}

/* obj[key] as an object, created when absent; NULL when obj is not an object
 * or obj[key] is present but not an object. Borrowed. */
static json_t *child(json_t *obj, const char *key)
{
	json_t *c;
	if (!json_is_object(obj))
		return NULL;
	c = json_object_get(obj, key);
	if (c)
		return json_is_object(c) ? c : NULL;
	c = json_object();
	if (!c || json_object_set_new(obj, key, c) < 0)
		return NULL;
	return c;
}

/* obj[key] if it is an object, else NULL (never creates). */
static json_t *get_obj(const json_t *obj, const char *key)
{
	json_t *c = json_object_get(obj, key);
	return json_is_object(c) ? c : NULL;
}

const char *kdefaults_pull_policy(const char *image)
{
	const char *slash, *colon;

	if (!image || strchr(image, '@'))
		return image ? "IfNotPresent" : "Always";
	/* The tag is after the last ':' that comes after the last '/' (a ':'
	 * before it belongs to a registry port). */
	slash = strrchr(image, '/');
	colon = strrchr(slash ? slash : image, ':');
	if (!colon || strcmp(colon + 1, "latest") == 0)
		return "Always";
	return "IfNotPresent";
}

static void default_probe(json_t *probe)
{
	json_t *http;

	if (!json_is_object(probe))
		return;
	default_int(probe, "timeoutSeconds", 1);
	default_int(probe, "periodSeconds", 10);
	default_int(probe, "successThreshold", 1);
	default_int(probe, "failureThreshold", 3);
	if ((http = get_obj(probe, "httpGet"))) {
		default_str(http, "path", "/");
		default_str(http, "scheme", "HTTP");
	}
}

static void default_lifecycle_handler(json_t *h)
{
	json_t *http = get_obj(h, "httpGet");
	if (http) {
		default_str(http, "path", "/");
		default_str(http, "scheme", "HTTP");
	}
}

static void default_env(json_t *env)
{
	size_t i;
	json_t *e, *from, *ref;

	json_array_foreach(env, i, e) {
		from = get_obj(e, "valueFrom");
		if ((ref = get_obj(from, "fieldRef")))
			default_str(ref, "apiVersion", "v1");
		if ((ref = get_obj(from, "resourceFieldRef"))) {
			default_str(ref, "divisor", "0");
			quantity_canonicalize_member(ref, "divisor");
		}
	}
}

static void default_resources(json_t *res)
{
	if (!json_is_object(res))
		return;
	quantity_canonicalize_map(get_obj(res, "limits"));
	quantity_canonicalize_map(get_obj(res, "requests"));
}

/* Bare pods: requests default to limits for each resource limited. */
static void copy_limits_to_requests(json_t *res)
{
	json_t *limits = get_obj(res, "limits"), *requests, *v;
	const char *key;

	if (!limits || json_object_size(limits) == 0)
		return;
	if (!(requests = child(res, "requests")))
		return;
	json_object_foreach(limits, key, v)
		set_default(requests, key, json_incref(v));
}

static void default_container(json_t *c, enum pod_kind kind)
{
	size_t i;
	json_t *port, *lc;

	if (!json_is_object(c))
		return;
	default_str(c, "terminationMessagePath", "/dev/termination-log");
	default_str(c, "terminationMessagePolicy", "File");
	default_str(c, "imagePullPolicy", kdefaults_pull_policy(json_string_value(json_object_get(c, "image"))));
	set_default(c, "resources", json_object());
	default_resources(json_object_get(c, "resources"));
	if (kind == POD_BARE)
		copy_limits_to_requests(json_object_get(c, "resources"));
	json_array_foreach(json_object_get(c, "ports"), i, port)
		default_str(port, "protocol", "TCP");
	default_probe(json_object_get(c, "livenessProbe"));
	default_probe(json_object_get(c, "readinessProbe"));
	default_probe(json_object_get(c, "startupProbe"));
	if ((lc = get_obj(c, "lifecycle"))) {
		default_lifecycle_handler(get_obj(lc, "postStart"));
		default_lifecycle_handler(get_obj(lc, "preStop"));
	}
	default_env(json_object_get(c, "env"));
}

static void default_volume(json_t *vol)
{
	static const char *const with_mode[] = { "configMap", "secret", "projected", "downwardAPI" };
	json_t *src, *items, *it, *ref;
	size_t i, j;

	for (i = 0; i < sizeof(with_mode) / sizeof(with_mode[0]); i++) {
		if ((src = get_obj(vol, with_mode[i])))
			default_int(src, "defaultMode", 420);
	}
	if ((src = get_obj(vol, "downwardAPI"))) {
		items = json_object_get(src, "items");
		json_array_foreach(items, j, it)
			if ((ref = get_obj(it, "fieldRef")))
				default_str(ref, "apiVersion", "v1");
	}
	if ((src = get_obj(vol, "projected"))) {
		json_array_foreach(json_object_get(src, "sources"), j, it) {
			json_t *sat = get_obj(it, "serviceAccountToken"), *dapi = get_obj(it, "downwardAPI"), *dit;
			size_t k;
			if (sat)
				default_int(sat, "expirationSeconds", 3600);
			json_array_foreach(json_object_get(dapi, "items"), k, dit)
				if ((ref = get_obj(dit, "fieldRef")))
					default_str(ref, "apiVersion", "v1");
		}
	}
	if ((src = get_obj(vol, "hostPath")))
		default_str(src, "type", "");
	if ((src = get_obj(vol, "emptyDir")))
		quantity_canonicalize_member(src, "sizeLimit");
	if ((src = get_obj(vol, "iscsi")))
		default_str(src, "iscsiInterface", "default");
	if ((src = get_obj(vol, "rbd"))) {
		default_str(src, "pool", "rbd");
		default_str(src, "user", "admin");
		default_str(src, "keyring", "/etc/ceph/keyring");
	}
}

/* The tolerations the DefaultTolerationSeconds admission plugin adds. */
static void default_tolerations(json_t *spec)
{
	static const char *const keys[] = { "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable" };
	json_t *tols = json_object_get(spec, "tolerations"), *t;
	size_t i, k;

	if (!tols) {
		tols = json_array();
		json_object_set_new(spec, "tolerations", tols);
	}
	if (!json_is_array(tols))
		return;
	for (k = 0; k < 2; k++) {
		bool have = false;
		json_array_foreach(tols, i, t) {
			const char *key = json_string_value(json_object_get(t, "key"));
			const char *effect = json_string_value(json_object_get(t, "effect"));
			/* A toleration of any key, or of this key with NoExecute or
			 * any effect, already covers it. */
			if ((!key || strcmp(key, keys[k]) == 0) && (!effect || strcmp(effect, "NoExecute") == 0))
				have = true;
		}
		if (!have)
			json_array_append_new(tols, json_pack("{s:s, s:s, s:s, s:I}", "effect", "NoExecute", "key",
							      keys[k], "operator", "Exists", "tolerationSeconds",
							      (json_int_t)300));
	}
}

static int pod_spec_defaults(json_t *spec, enum pod_kind kind)
{
	size_t i;
	json_t *c, *v;
	static const char *const lists[] = { "containers", "initContainers", "ephemeralContainers" };

	if (!json_is_object(spec))
		return err_set(BERR_INVALID, "pod spec: not an object");
	if (kind != POD_JOB_TEMPLATE)
		default_str(spec, "restartPolicy", "Always");
	default_str(spec, "dnsPolicy", "ClusterFirst");
	default_int(spec, "terminationGracePeriodSeconds", 30);
	default_str(spec, "schedulerName", "default-scheduler");
	set_default(spec, "securityContext", json_object());
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		json_array_foreach(json_object_get(spec, lists[l]), i, c)
			default_container(c, kind);
	json_array_foreach(json_object_get(spec, "volumes"), i, v)
		default_volume(v);
	if (kind == POD_BARE) {
		set_default(spec, "enableServiceLinks", json_true());
		default_str(spec, "preemptionPolicy", "PreemptLowerPriority");
		default_int(spec, "priority", 0);
		if (!json_object_get(spec, "serviceAccountName") && json_is_string(json_object_get(spec, "serviceAccount")))
			json_object_set(spec, "serviceAccountName", json_object_get(spec, "serviceAccount"));
		default_str(spec, "serviceAccountName", "default");
		default_str(spec, "serviceAccount", json_string_value(json_object_get(spec, "serviceAccountName")));
		default_tolerations(spec);
	}
	return 0;
}

int kdefaults_pod_spec(json_t *spec, bool bare_pod)
{
	return pod_spec_defaults(spec, bare_pod ? POD_BARE : POD_TEMPLATE);
}

/* spec.template: metadata.creationTimestamp null (as Go serialises an unset
 * time) and the pod spec. */
static void template_defaults(json_t *spec, enum pod_kind kind)
{
	json_t *tmpl = get_obj(spec, "template"), *md;

	if (!tmpl)
		return;
	if ((md = child(tmpl, "metadata")))
		set_default(md, "creationTimestamp", json_null());
	if (get_obj(tmpl, "spec"))
		pod_spec_defaults(get_obj(tmpl, "spec"), kind);
}

static void deployment_defaults(json_t *spec)
{
	json_t *strategy, *ru;
	const char *type;

	default_int(spec, "replicas", 1);
	default_int(spec, "revisionHistoryLimit", 10);
	default_int(spec, "progressDeadlineSeconds", 600);
	if (!(strategy = child(spec, "strategy")))
		return;
	default_str(strategy, "type", "RollingUpdate");
	type = json_string_value(json_object_get(strategy, "type"));
	if (type && strcmp(type, "RollingUpdate") == 0 && (ru = child(strategy, "rollingUpdate"))) {
		default_str(ru, "maxUnavailable", "25%");
		default_str(ru, "maxSurge", "25%");
	}
}

static void statefulset_defaults(json_t *spec)
{
	json_t *us, *ru, *ret, *vct, *pvc;
	const char *type;
	size_t i;

	default_int(spec, "replicas", 1);
	default_str(spec, "podManagementPolicy", "OrderedReady");
	default_int(spec, "revisionHistoryLimit", 10);
	if ((us = child(spec, "updateStrategy"))) {
		default_str(us, "type", "RollingUpdate");
		type = json_string_value(json_object_get(us, "type"));
		if (type && strcmp(type, "RollingUpdate") == 0 && (ru = child(us, "rollingUpdate")))
			default_int(ru, "partition", 0);
	}
	if ((ret = child(spec, "persistentVolumeClaimRetentionPolicy"))) {
		default_str(ret, "whenDeleted", "Retain");
		default_str(ret, "whenScaled", "Retain");
	}
	vct = json_object_get(spec, "volumeClaimTemplates");
	json_array_foreach(vct, i, pvc) {
		if (!json_is_object(pvc))
			continue;
		default_str(pvc, "apiVersion", "v1");
		default_str(pvc, "kind", "PersistentVolumeClaim");
		if (get_obj(pvc, "spec")) {
			default_str(get_obj(pvc, "spec"), "volumeMode", "Filesystem");
			default_resources(get_obj(get_obj(pvc, "spec"), "resources"));
		}
		json_t *st = child(pvc, "status");
		if (st)
			default_str(st, "phase", "Pending");
	}
}

static void daemonset_defaults(json_t *spec)
{
	json_t *us, *ru;
	const char *type;

	default_int(spec, "revisionHistoryLimit", 10);
	if ((us = child(spec, "updateStrategy"))) {
		default_str(us, "type", "RollingUpdate");
		type = json_string_value(json_object_get(us, "type"));
		if (type && strcmp(type, "RollingUpdate") == 0 && (ru = child(us, "rollingUpdate"))) {
			default_int(ru, "maxUnavailable", 1);
			default_int(ru, "maxSurge", 0);
		}
	}
}

/* Job selector and labels generated from the uid (create only, not with
 * manualSelector). */
static void job_selector(json_t *obj, json_t *spec)
{
	const char *uid = json_string_value(jx_path(obj, "metadata", "uid", NULL));
	const char *name = json_string_value(jx_path(obj, "metadata", "name", NULL));
	json_t *sel, *ml, *tmpl, *md, *labels;

	if (!uid || !name || json_is_true(json_object_get(spec, "manualSelector")) ||
	    json_object_get(spec, "selector"))
		return;
	if (!(sel = child(spec, "selector")) || !(ml = child(sel, "matchLabels")))
		return;
	default_str(ml, "batch.kubernetes.io/controller-uid", uid);
	if (!(tmpl = get_obj(spec, "template")) || !(md = child(tmpl, "metadata")) ||
	    !(labels = child(md, "labels")))
		return;
	default_str(labels, "batch.kubernetes.io/controller-uid", uid);
	default_str(labels, "batch.kubernetes.io/job-name", name);
	default_str(labels, "controller-uid", uid);
	default_str(labels, "job-name", name);
}

static void job_defaults(json_t *obj, json_t *spec, bool create)
{
	if (!json_object_get(spec, "completions") && !json_object_get(spec, "parallelism"))
		default_int(spec, "completions", 1);
	default_int(spec, "parallelism", 1);
	default_int(spec, "backoffLimit", 6);
	default_str(spec, "completionMode", "NonIndexed");
	set_default(spec, "suspend", json_false());
	default_str(spec, "podReplacementPolicy", "TerminatingOrFailed");
	if (create)
		job_selector(obj, spec);
	template_defaults(spec, POD_JOB_TEMPLATE);
}

static void cronjob_defaults(json_t *spec)
{
	json_t *jt;

	default_str(spec, "concurrencyPolicy", "Allow");
	default_int(spec, "successfulJobsHistoryLimit", 3);
	default_int(spec, "failedJobsHistoryLimit", 1);
	set_default(spec, "suspend", json_false());
	if ((jt = get_obj(spec, "jobTemplate"))) {
		json_t *md = child(jt, "metadata");
		if (md)
			set_default(md, "creationTimestamp", json_null());
		if (get_obj(jt, "spec"))
			template_defaults(get_obj(jt, "spec"), POD_JOB_TEMPLATE);
	}
}

static bool str_is(const json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static int service_defaults(json_t *obj, const struct kdefaults_opts *o)
{
	json_t *spec = child(obj, "spec"), *ports, *p, *st;
	const char *type;
	bool node_ports;
	size_t i;
	int rc;

	if (!spec)
		return 0;
	default_str(spec, "type", "ClusterIP");
	type = json_string_value(json_object_get(spec, "type"));
	if (!type)
		return 0;
	default_str(spec, "sessionAffinity", "None");
	if (str_is(json_object_get(spec, "sessionAffinity"), "ClientIP")) {
		json_t *sac = child(spec, "sessionAffinityConfig"), *cip = sac ? child(sac, "clientIP") : NULL;
		if (cip)
			default_int(cip, "timeoutSeconds", 10800);
	}
	if (strcmp(type, "ExternalName") != 0) {
		json_t *ip = json_object_get(spec, "clusterIP");
		if ((!ip || str_is(ip, "")) && o && o->alloc_cluster_ip) {
			char buf[64];
			if ((rc = o->alloc_cluster_ip(o->ctx, buf, sizeof(buf))) < 0)
				return rc;
			json_object_set_new(spec, "clusterIP", json_string(buf));
		}
		ip = json_object_get(spec, "clusterIP");
		if (json_is_string(ip) && json_string_length(ip) > 0) {
			set_default(spec, "clusterIPs", json_pack("[O]", ip));
			set_default(spec, "ipFamilies", json_pack("[s]", "IPv4"));
			default_str(spec, "ipFamilyPolicy", "SingleStack");
		}
		default_str(spec, "internalTrafficPolicy", "Cluster");
	}
	node_ports = strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0;
	ports = json_object_get(spec, "ports");
	json_array_foreach(ports, i, p) {
		if (!json_is_object(p))
			continue;
		default_str(p, "protocol", "TCP");
		if (!json_object_get(p, "targetPort") && json_object_get(p, "port"))
			json_object_set(p, "targetPort", json_object_get(p, "port"));
		if (node_ports && !json_object_get(p, "nodePort") && o && o->alloc_node_port) {
			int np;
			if ((rc = o->alloc_node_port(o->ctx, &np)) < 0)
				return rc;
			json_object_set_new(p, "nodePort", json_integer(np));
		}
	}
	if (node_ports)
		default_str(spec, "externalTrafficPolicy", "Cluster");
	if (strcmp(type, "LoadBalancer") == 0)
		set_default(spec, "allocateLoadBalancerNodePorts", json_true());
	if ((st = child(obj, "status")))
		set_default(st, "loadBalancer", json_object());
	return 0;
}

/* A new JSON string holding the base64 of data[len]. */
static json_t *base64_json(const char *data, size_t len)
{
	char *enc = b64_encode(data, len, false);
	json_t *r = enc ? json_string(enc) : NULL;
	free(enc);
	return r;
}

static void secret_defaults(json_t *obj)
{
	json_t *sd = get_obj(obj, "stringData"), *data, *v;
	const char *key;

	default_str(obj, "type", "Opaque");
	if (!sd)
		return;
	if (!(data = child(obj, "data")))
		return;
	json_object_foreach(sd, key, v) {
		if (json_is_string(v))
			json_object_set_new(data, key, base64_json(json_string_value(v), json_string_length(v)));
	}
	json_object_del(obj, "stringData");
}

static void namespace_defaults(json_t *obj)
{
	json_t *md = child(obj, "metadata"), *labels, *spec, *fin;
	const char *name = json_string_value(json_object_get(md, "name"));

	if (name && (labels = child(md, "labels")))
		default_str(labels, "kubernetes.io/metadata.name", name);
	if ((spec = child(obj, "spec"))) {
		fin = json_object_get(spec, "finalizers");
		if (!fin)
			json_object_set_new(spec, "finalizers", json_pack("[s]", "kubernetes"));
	}
}

static void pvc_defaults(json_t *obj, const struct kdefaults_opts *o)
{
	json_t *spec = child(obj, "spec");

	if (!spec)
		return;
	default_str(spec, "volumeMode", "Filesystem");
	if (o && o->default_storage_class && o->create)
		default_str(spec, "storageClassName", o->default_storage_class);
	default_resources(get_obj(spec, "resources"));
}

static void pv_defaults(json_t *obj)
{
	json_t *spec = child(obj, "spec");

	if (!spec)
		return;
	default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
	default_str(spec, "volumeMode", "Filesystem");
	quantity_canonicalize_map(get_obj(spec, "capacity"));
}

static void rc_defaults(json_t *obj, json_t *spec)
{
	json_t *labels = jx_path(spec, "template", "metadata", "labels", NULL), *md;

	default_int(spec, "replicas", 1);
	if (json_is_object(labels) && json_object_size(labels) > 0) {
		set_default(spec, "selector", json_deep_copy(labels));
		if ((md = child(obj, "metadata")))
			set_default(md, "labels", json_deep_copy(labels));
	}
	template_defaults(spec, POD_TEMPLATE);
}

static void networkpolicy_defaults(json_t *spec)
{
	static const char *const dirs[] = { "ingress", "egress" };
	json_t *types, *rule, *port;
	size_t i, j;

	for (size_t d = 0; d < 2; d++)
		json_array_foreach(json_object_get(spec, dirs[d]), i, rule)
			json_array_foreach(json_object_get(rule, "ports"), j, port)
				if (json_is_object(port))
					default_str(port, "protocol", "TCP");
	if (json_object_get(spec, "policyTypes"))
		return;
	types = json_pack("[s]", "Ingress");
	if (json_object_get(spec, "egress"))
		json_array_append_new(types, json_string("Egress"));
	json_object_set_new(spec, "policyTypes", types);
}

static void rbac_subjects(json_t *obj)
{
	size_t i;
	json_t *s;

	json_array_foreach(json_object_get(obj, "subjects"), i, s) {
		const char *kind = json_string_value(json_object_get(s, "kind"));
		if (!kind || !json_is_object(s))
			continue;
		/* ServiceAccount subjects keep an empty apiGroup, which is
		 * omitted on the wire. */
		if (strcmp(kind, "User") == 0 || strcmp(kind, "Group") == 0)
			default_str(s, "apiGroup", "rbac.authorization.k8s.io");
	}
}

static void endpoints_defaults(json_t *obj)
{
	size_t i, j;
	json_t *subset, *p;

	json_array_foreach(json_object_get(obj, "subsets"), i, subset)
		json_array_foreach(json_object_get(subset, "ports"), j, p)
			if (json_is_object(p))
				default_str(p, "protocol", "TCP");
}

/* HPA scaling rules: nil fields of a given behavior get the defaults
 * (GenerateHPAScaleUpRules / GenerateHPAScaleDownRules); scaleDown keeps no
 * stabilizationWindowSeconds (the controller applies 300 s itself). */
static void hpa_rules(json_t *behavior, const char *key, bool up)
{
	json_t *r = json_object_get(behavior, key);

	if (!r) {
		r = json_object();
		json_object_set_new(behavior, key, r);
	}
	if (!json_is_object(r))
		return;
	default_str(r, "selectPolicy", "Max");
	if (up) {
		default_int(r, "stabilizationWindowSeconds", 0);
		set_default(r, "policies",
			    json_pack("[{s:s, s:i, s:i}, {s:s, s:i, s:i}]", "type", "Pods", "value", 4, "periodSeconds",
				      15, "type", "Percent", "value", 100, "periodSeconds", 15));
	} else {
		set_default(r, "policies",
			    json_pack("[{s:s, s:i, s:i}]", "type", "Percent", "value", 100, "periodSeconds", 15));
	}
}

static void hpa_defaults(json_t *spec)
{
	json_t *behavior;

	default_int(spec, "minReplicas", 1);
	if (json_array_size(json_object_get(spec, "metrics")) == 0)
		json_object_set_new(spec, "metrics",
				    json_pack("[{s:s, s:{s:s, s:{s:s, s:i}}}]", "type", "Resource", "resource", "name",
					      "cpu", "target", "type", "Utilization", "averageUtilization", 80));
	if ((behavior = get_obj(spec, "behavior"))) {
		hpa_rules(behavior, "scaleUp", true);
		hpa_rules(behavior, "scaleDown", false);
	}
}

static void limitrange_defaults(json_t *spec)
{
	static const char *const maps[] = { "max", "min", "default", "defaultRequest", "maxLimitRequestRatio" };
	size_t i;
	json_t *item;

	json_array_foreach(json_object_get(spec, "limits"), i, item)
		for (size_t m = 0; m < sizeof(maps) / sizeof(maps[0]); m++)
			quantity_canonicalize_map(get_obj(item, maps[m]));
}

static bool kind_is(const char *api_version, const char *kind, const char *want_av, const char *want_kind)
{
	return strcmp(api_version, want_av) == 0 && strcmp(kind, want_kind) == 0;
}

int kdefaults_apply(json_t *obj, const struct kdefaults_opts *opts)
{
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	json_t *spec;
	bool create = opts && opts->create;

	if (!json_is_object(obj) || !av || !kind)
		return err_set(BERR_INVALID, "defaults: object without apiVersion and kind");
	spec = get_obj(obj, "spec");

	if (strcmp(av, "v1") == 0) {
		if (strcmp(kind, "Pod") == 0) {
			if (spec)
				pod_spec_defaults(spec, POD_BARE);
		} else if (strcmp(kind, "Service") == 0) {
			return service_defaults(obj, opts);
		} else if (strcmp(kind, "Secret") == 0) {
			secret_defaults(obj);
		} else if (strcmp(kind, "Namespace") == 0) {
			namespace_defaults(obj);
		} else if (strcmp(kind, "PersistentVolumeClaim") == 0) {
			pvc_defaults(obj, opts);
		} else if (strcmp(kind, "PersistentVolume") == 0) {
			pv_defaults(obj);
		} else if (strcmp(kind, "ReplicationController") == 0) {
			if (spec)
				rc_defaults(obj, spec);
		} else if (strcmp(kind, "Endpoints") == 0) {
			endpoints_defaults(obj);
		} else if (strcmp(kind, "ResourceQuota") == 0) {
			quantity_canonicalize_map(get_obj(spec, "hard"));
		} else if (strcmp(kind, "LimitRange") == 0) {
			limitrange_defaults(spec);
		} else if (strcmp(kind, "PodTemplate") == 0) {
			json_t *tmpl = get_obj(obj, "template");
			if (tmpl && get_obj(tmpl, "spec"))
				pod_spec_defaults(get_obj(tmpl, "spec"), POD_TEMPLATE);
		}
		return 0;
	}
	if (strcmp(av, "apps/v1") == 0 && spec) {
		if (strcmp(kind, "Deployment") == 0) {
			deployment_defaults(spec);
			template_defaults(spec, POD_TEMPLATE);
		} else if (strcmp(kind, "StatefulSet") == 0) {
			statefulset_defaults(spec);
			template_defaults(spec, POD_TEMPLATE);
		} else if (strcmp(kind, "DaemonSet") == 0) {
			daemonset_defaults(spec);
			template_defaults(spec, POD_TEMPLATE);
		} else if (strcmp(kind, "ReplicaSet") == 0) {
			default_int(spec, "replicas", 1);
			template_defaults(spec, POD_TEMPLATE);
		}
		return 0;
	}
	if (kind_is(av, kind, "batch/v1", "Job") && spec)
		job_defaults(obj, spec, create);
	else if (kind_is(av, kind, "batch/v1", "CronJob") && spec)
		cronjob_defaults(spec);
	else if (kind_is(av, kind, "networking.k8s.io/v1", "NetworkPolicy") && spec)
		networkpolicy_defaults(spec);
	else if (kind_is(av, kind, "autoscaling/v2", "HorizontalPodAutoscaler") && spec)
		hpa_defaults(spec);
	else if (kind_is(av, kind, "storage.k8s.io/v1", "StorageClass")) {
		default_str(obj, "reclaimPolicy", "Delete");
		default_str(obj, "volumeBindingMode", "Immediate");
	} else if (strcmp(av, "rbac.authorization.k8s.io/v1") == 0 &&
		   (strcmp(kind, "RoleBinding") == 0 || strcmp(kind, "ClusterRoleBinding") == 0))
		rbac_subjects(obj);
	return 0;
}
