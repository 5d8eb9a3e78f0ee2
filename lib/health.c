/* health — see health.h. Built-in rules first, then the custom rule sets. */
#include "health.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annot.h"
#include "err.h"
#include "jsonx.h"
#include "kyaml.h"
#include "str.h"

static const char *const status_names[] = {
	[HEALTH_HEALTHY] = "Healthy",         [HEALTH_SUSPENDED] = "Suspended",
	[HEALTH_PROGRESSING] = "Progressing", [HEALTH_MISSING] = "Missing",
	[HEALTH_DEGRADED] = "Degraded",       [HEALTH_UNKNOWN] = "Unknown",
};

const char *health_status_name(enum health_status s)
{
	if ((unsigned)s > HEALTH_UNKNOWN)
		return "Unknown";
	return status_names[s];
}

int health_status_parse(const char *s, enum health_status *out)
{
	for (unsigned i = 0; s && i <= HEALTH_UNKNOWN; i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum health_status)i;
			return 0;
		}
	}
	return err_set(BERR_INVALID,
		       "\"%s\" is not a health status (Healthy, Suspended, Progressing, Missing, "
		       "Degraded, Unknown)",
		       s ? s : "");
}

enum health_status health_worst(enum health_status a, enum health_status b)
{
	return a > b ? a : b;
}

static int health_rules_eval(const struct health_rules *rules, const char *group, const char *kind,
			     const json_t *obj, struct health *h);

/* ---- reading fields with type checks -------------------------------- */

/*
 * A rule reads the fields it needs through these helpers. A field of the
 * wrong type records an error (the first one wins) and reads as absent;
 * the rule then reports Unknown with that message, as Argo CD reports a
 * failed conversion to the typed object.
 */
struct rd {
	const char *kind;
	char err[256];
};

static void rd_fail(struct rd *r, const char *path, const char *want)
{
	if (!r->err[0])
		snprintf(r->err, sizeof(r->err), "failed to read %s: %s is not %s", r->kind, path, want);
}

/* Walks a dotted path of object keys ("status.loadBalancer.ingress"). */
static const json_t *at(const json_t *o, const char *path)
{
	char key[64];
	const char *p = path;

	while (o && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key) || !json_is_object(o))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		p = dot ? dot + 1 : p + n;
	}
	return o;
}

static bool present(const json_t *v)
{
	return v && !json_is_null(v);
}

static int64_t rd_int(struct rd *r, const json_t *o, const char *path, bool *ret_present)
{
	const json_t *v = at(o, path);
	if (ret_present)
		*ret_present = false;
	if (!present(v))
		return 0;
	if (json_is_integer(v)) {
		if (ret_present)
			*ret_present = true;
		return json_integer_value(v);
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d >= -9e15 && d <= 9e15 && d == (double)(int64_t)d) {
			if (ret_present)
				*ret_present = true;
			return (int64_t)d;
		}
	}
	rd_fail(r, path, "an integer");
	return 0;
}

static const char *rd_str(struct rd *r, const json_t *o, const char *path)
{
	const json_t *v = at(o, path);
	if (!present(v))
		return "";
	if (json_is_string(v))
		return json_string_value(v);
	rd_fail(r, path, "a string");
	return "";
}

static bool rd_bool(struct rd *r, const json_t *o, const char *path)
{
	const json_t *v = at(o, path);
	if (!present(v))
		return false;
	if (json_is_boolean(v))
		return json_is_true(v);
	rd_fail(r, path, "a boolean");
	return false;
}

/* An array (NULL when absent or of the wrong type). */
static const json_t *rd_arr(struct rd *r, const json_t *o, const char *path)
{
	const json_t *v = at(o, path);
	if (!present(v))
		return NULL;
	if (json_is_array(v))
		return v;
	rd_fail(r, path, "a list");
	return NULL;
}

/* The first element of status.conditions (or of arr) whose type is t. */
static const json_t *find_condition(struct rd *r, const json_t *arr, const char *t)
{
	size_t i;
	json_t *c;

	json_array_foreach(arr, i, c) {
		if (!json_is_object(c)) {
			rd_fail(r, "status.conditions[]", "an object");
			return NULL;
		}
		if (strcmp(rd_str(r, c, "type"), t) == 0)
			return c;
	}
	return NULL;
}

static int set(struct health *h, enum health_status s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set(struct health *h, enum health_status s, const char *fmt, ...)
{
	va_list ap;
	h->status = s;
	va_start(ap, fmt);
	vsnprintf(h->message, sizeof(h->message), fmt, ap);
	va_end(ap);
	return 1;
}

/* ---- workloads ------------------------------------------------------ */

static int deployment_health(struct rd *r, const json_t *o, struct health *h)
{
	const char *name = rd_str(r, o, "metadata.name");
	int64_t gen = rd_int(r, o, "metadata.generation", NULL);
	int64_t observed = rd_int(r, o, "status.observedGeneration", NULL);
	bool have_replicas;
	int64_t replicas = rd_int(r, o, "spec.replicas", &have_replicas);
	int64_t updated = rd_int(r, o, "status.updatedReplicas", NULL);
	int64_t current = rd_int(r, o, "status.replicas", NULL);
	int64_t available = rd_int(r, o, "status.availableReplicas", NULL);
	const json_t *conds = rd_arr(r, o, "status.conditions");
	const json_t *progressing = conds ? find_condition(r, conds, "Progressing") : NULL;
	bool paused = rd_bool(r, o, "spec.paused");

	if (r->err[0])
		return 0;
	if (paused)
		return set(h, HEALTH_SUSPENDED, "Deployment is paused");
	if (gen > observed)
		return set(h, HEALTH_PROGRESSING, "Waiting for rollout to finish: observed deployment "
						  "generation less than desired generation");
	if (progressing && strcmp(rd_str(r, progressing, "reason"), "ProgressDeadlineExceeded") == 0)
		return set(h, HEALTH_DEGRADED, "Deployment \"%s\" exceeded its progress deadline", name);
	if (have_replicas && updated < replicas)
		return set(h, HEALTH_PROGRESSING,
			   "Waiting for rollout to finish: %lld out of %lld new replicas have been updated...",
			   (long long)updated, (long long)replicas);
	if (current > updated)
		return set(h, HEALTH_PROGRESSING,
			   "Waiting for rollout to finish: %lld old replicas are pending termination...",
			   (long long)(current - updated));
	if (available < updated)
		return set(h, HEALTH_PROGRESSING,
			   "Waiting for rollout to finish: %lld of %lld updated replicas are available...",
			   (long long)available, (long long)updated);
	return set(h, HEALTH_HEALTHY, "%s", "");
}

static int statefulset_health(struct rd *r, const json_t *o, struct health *h)
{
	int64_t gen = rd_int(r, o, "metadata.generation", NULL);
	int64_t observed = rd_int(r, o, "status.observedGeneration", NULL);
	bool have_replicas, have_partition;
	int64_t replicas = rd_int(r, o, "spec.replicas", &have_replicas);
	int64_t ready = rd_int(r, o, "status.readyReplicas", NULL);
	int64_t updated = rd_int(r, o, "status.updatedReplicas", NULL);
	int64_t current = rd_int(r, o, "status.currentReplicas", NULL);
	const char *strategy = rd_str(r, o, "spec.updateStrategy.type");
	const json_t *rolling = at(o, "spec.updateStrategy.rollingUpdate");
	int64_t partition = rd_int(r, o, "spec.updateStrategy.rollingUpdate.partition", &have_partition);
	const char *update_rev = rd_str(r, o, "status.updateRevision");
	const char *current_rev = rd_str(r, o, "status.currentRevision");

	if (r->err[0])
		return 0;
	if (observed == 0 || gen > observed)
		return set(h, HEALTH_PROGRESSING, "Waiting for statefulset spec update to be observed...");
	if (have_replicas && ready < replicas)
		return set(h, HEALTH_PROGRESSING, "Waiting for %lld pods to be ready...",
			   (long long)(replicas - ready));
	if (strcmp(strategy, "RollingUpdate") == 0 && present(rolling)) {
		if (have_replicas && have_partition && updated < replicas - partition)
			return set(h, HEALTH_PROGRESSING,
				   "Waiting for partitioned roll out to finish: %lld out of %lld new pods "
				   "have been updated...",
				   (long long)updated, (long long)(replicas - partition));
		return set(h, HEALTH_HEALTHY, "partitioned roll out complete: %lld new pods have been updated...",
			   (long long)updated);
	}
	if (strcmp(strategy, "OnDelete") == 0)
		return set(h, HEALTH_HEALTHY, "statefulset has %lld ready pods", (long long)ready);
	if (strcmp(update_rev, current_rev) != 0)
		return set(h, HEALTH_PROGRESSING,
			   "waiting for statefulset rolling update to complete %lld pods at revision %s...",
			   (long long)updated, update_rev);
	return set(h, HEALTH_HEALTHY, "statefulset rolling update complete %lld pods at revision %s...",
		   (long long)current, current_rev);
}

static int daemonset_health(struct rd *r, const json_t *o, struct health *h)
{
	const char *name = rd_str(r, o, "metadata.name");
	int64_t gen = rd_int(r, o, "metadata.generation", NULL);
	int64_t observed = rd_int(r, o, "status.observedGeneration", NULL);
	int64_t updated = rd_int(r, o, "status.updatedNumberScheduled", NULL);
	int64_t desired = rd_int(r, o, "status.desiredNumberScheduled", NULL);
	int64_t available = rd_int(r, o, "status.numberAvailable", NULL);
	const char *strategy = rd_str(r, o, "spec.updateStrategy.type");

	if (r->err[0])
		return 0;
	if (gen > observed)
		return set(h, HEALTH_PROGRESSING, "Waiting for rollout to finish: observed daemon set "
						  "generation less than desired generation");
	if (strcmp(strategy, "OnDelete") == 0)
		return set(h, HEALTH_HEALTHY, "daemon set %lld out of %lld new pods have been updated",
			   (long long)updated, (long long)desired);
	if (updated < desired)
		return set(h, HEALTH_PROGRESSING,
			   "Waiting for daemon set \"%s\" rollout to finish: %lld out of %lld new pods have "
			   "been updated...",
			   name, (long long)updated, (long long)desired);
	if (available < desired)
		return set(h, HEALTH_PROGRESSING,
			   "Waiting for daemon set \"%s\" rollout to finish: %lld of %lld updated pods are "
			   "available...",
			   name, (long long)available, (long long)desired);
	return set(h, HEALTH_HEALTHY, "%s", "");
}

static int replicaset_health(struct rd *r, const json_t *o, struct health *h)
{
	int64_t gen = rd_int(r, o, "metadata.generation", NULL);
	int64_t observed = rd_int(r, o, "status.observedGeneration", NULL);
	bool have_replicas;
	int64_t replicas = rd_int(r, o, "spec.replicas", &have_replicas);
	int64_t available = rd_int(r, o, "status.availableReplicas", NULL);
	const json_t *conds = rd_arr(r, o, "status.conditions");
	const json_t *failure = conds ? find_condition(r, conds, "ReplicaFailure") : NULL;

	if (r->err[0])
		return 0;
	if (gen > observed)
		return set(h, HEALTH_PROGRESSING, "Waiting for rollout to finish: observed replica set "
						  "generation less than desired generation");
	if (failure && strcmp(rd_str(r, failure, "status"), "True") == 0)
		return set(h, HEALTH_DEGRADED, "%s", rd_str(r, failure, "message"));
	if (have_replicas && available < replicas)
		return set(h, HEALTH_PROGRESSING,
			   "Waiting for rollout to finish: %lld out of %lld new replicas are available...",
			   (long long)available, (long long)replicas);
	return set(h, HEALTH_HEALTHY, "%s", "");
}

/* ---- Pod ------------------------------------------------------------ */

static bool waiting_reason_is_error(const char *reason)
{
	size_t n = strlen(reason);
	return strncmp(reason, "Err", 3) == 0 || (n >= 5 && strcmp(reason + n - 5, "Error") == 0) ||
	       (n >= 7 && strcmp(reason + n - 7, "BackOff") == 0);
}

/* Containers in CrashLoopBackOff, ErrImagePull, ...: Degraded, messages
 * joined with ", ". Returns 1 when some container is in such a state. */
static int pod_waiting_errors(struct rd *r, const json_t *statuses, struct health *h)
{
	size_t i, used = 0;
	json_t *c;
	bool any = false;

	h->message[0] = '\0';
	json_array_foreach(statuses, i, c) {
		const char *reason = rd_str(r, c, "state.waiting.reason");
		if (!present(at(c, "state.waiting")) || !waiting_reason_is_error(reason))
			continue;
		used += (size_t)snprintf(h->message + used, used < sizeof(h->message) ? sizeof(h->message) - used : 0,
					 "%s%s", any ? ", " : "", rd_str(r, c, "state.waiting.message"));
		if (used >= sizeof(h->message))
			used = sizeof(h->message) - 1;
		any = true;
	}
	if (any)
		h->status = HEALTH_DEGRADED;
	return any;
}

/* Why a failed container failed, or "" */
static void container_fail_message(struct rd *r, const json_t *c, char *out, size_t size)
{
	const json_t *term = at(c, "state.terminated");
	int64_t code;

	out[0] = '\0';
	if (!present(term))
		return;
	if (*rd_str(r, term, "message")) {
		snprintf(out, size, "%s", rd_str(r, term, "message"));
		return;
	}
	if (strcmp(rd_str(r, term, "reason"), "OOMKilled") == 0) {
		snprintf(out, size, "OOMKilled");
		return;
	}
	code = rd_int(r, term, "exitCode", NULL);
	if (code != 0)
		snprintf(out, size, "container \"%s\" failed with exit code %lld", rd_str(r, c, "name"),
			 (long long)code);
}

static int pod_failed(struct rd *r, const json_t *o, struct health *h)
{
	static const char *const lists[] = {"status.initContainerStatuses", "status.containerStatuses"};
	const char *msg = rd_str(r, o, "status.message");
	char why[HEALTH_MESSAGE_MAX];
	size_t i;
	json_t *c;

	if (*msg)
		return set(h, HEALTH_DEGRADED, "%s", msg);
	for (size_t l = 0; l < 2; l++) {
		const json_t *arr = rd_arr(r, o, lists[l]);
		if (!arr)
			continue;
		json_array_foreach(arr, i, c) {
			container_fail_message(r, c, why, sizeof(why));
			if (why[0])
				return set(h, HEALTH_DEGRADED, "%s", why);
		}
	}
	return set(h, HEALTH_DEGRADED, "%s", "");
}

static int pod_running(struct rd *r, const json_t *o, const char *policy, struct health *h)
{
	const char *msg = rd_str(r, o, "status.message");
	const json_t *conds = rd_arr(r, o, "status.conditions");
	const json_t *ready = conds ? find_condition(r, conds, "Ready") : NULL;
	const json_t *statuses = rd_arr(r, o, "status.containerStatuses");
	size_t i;
	json_t *c;

	/* Pods that run to completion are usually hooks: Progressing until they
	 * finish, unless the ignore-restart-policy annotation says otherwise. */
	if (!annot_get(o, "ignore-restart-policy")) {
		if (strcmp(policy, "OnFailure") == 0 || strcmp(policy, "Never") == 0)
			return set(h, HEALTH_PROGRESSING, "%s", msg);
		if (strcmp(policy, "Always") != 0)
			return set(h, HEALTH_UNKNOWN, "%s", msg);
	}
	if (ready && strcmp(rd_str(r, ready, "status"), "True") == 0)
		return set(h, HEALTH_HEALTHY, "%s", msg);
	if (statuses) {
		json_array_foreach(statuses, i, c) {
			if (present(at(c, "lastState.terminated")))
				return set(h, HEALTH_DEGRADED, "%s", msg);
		}
	}
	return set(h, HEALTH_PROGRESSING, "%s", msg);
}

static int pod_health(struct rd *r, const json_t *o, struct health *h)
{
	const char *policy = rd_str(r, o, "spec.restartPolicy");
	const char *phase = rd_str(r, o, "status.phase");
	const char *msg = rd_str(r, o, "status.message");
	const json_t *statuses = rd_arr(r, o, "status.containerStatuses");
	int rc;

	if (!*policy)
		policy = "Always"; /* the API server's default */
	/* Only for pods that restart forever: a hook pod waiting for its image
	 * must not fail the hook early (gitops-engine's reasoning). */
	if (strcmp(policy, "Always") == 0 && statuses && pod_waiting_errors(r, statuses, h))
		return r->err[0] ? 0 : 1;
	if (strcmp(phase, "Pending") == 0)
		rc = set(h, HEALTH_PROGRESSING, "%s", msg);
	else if (strcmp(phase, "Succeeded") == 0)
		rc = set(h, HEALTH_HEALTHY, "%s", msg);
	else if (strcmp(phase, "Failed") == 0)
		rc = pod_failed(r, o, h);
	else if (strcmp(phase, "Running") == 0)
		rc = pod_running(r, o, policy, h);
	else
		rc = set(h, HEALTH_UNKNOWN, "%s", msg);
	return r->err[0] ? 0 : rc;
}

/* ---- batch ---------------------------------------------------------- */

static int job_health(struct rd *r, const json_t *o, struct health *h)
{
	const json_t *conds = rd_arr(r, o, "status.conditions");
	bool failed = false, complete = false, suspended = false;
	const char *fail_msg = "", *msg = "";
	size_t i;
	json_t *c;

	if (conds) {
		json_array_foreach(conds, i, c) {
			const char *type = rd_str(r, c, "type");
			if (strcmp(type, "Failed") == 0) {
				failed = complete = true;
				fail_msg = rd_str(r, c, "message");
			} else if (strcmp(type, "Complete") == 0) {
				complete = true;
				msg = rd_str(r, c, "message");
			} else if (strcmp(type, "Suspended") == 0) {
				complete = true;
				msg = rd_str(r, c, "message");
				if (strcmp(rd_str(r, c, "status"), "True") == 0)
					suspended = true;
			}
		}
	}
	if (r->err[0])
		return 0;
	if (!complete)
		return set(h, HEALTH_PROGRESSING, "%s", msg);
	if (failed)
		return set(h, HEALTH_DEGRADED, "%s", fail_msg);
	if (suspended)
		return set(h, HEALTH_SUSPENDED, "%s", msg);
	return set(h, HEALTH_HEALTHY, "%s", msg);
}

/* Argo CD's bundled CronJob check. RFC 3339 times in UTC compare as text. */
static int cronjob_health(struct rd *r, const json_t *o, struct health *h)
{
	bool suspend = rd_bool(r, o, "spec.suspend");
	const json_t *status = at(o, "status");
	const char *scheduled = rd_str(r, o, "status.lastScheduleTime");
	const char *succeeded = rd_str(r, o, "status.lastSuccessfulTime");
	const json_t *active = rd_arr(r, o, "status.active");

	if (r->err[0])
		return 0;
	if (suspend)
		return set(h, HEALTH_SUSPENDED, "CronJob is Suspended");
	if (!present(status))
		return set(h, HEALTH_PROGRESSING, "Waiting for CronJob");
	if (!*scheduled)
		return set(h, HEALTH_HEALTHY, "CronJob has not been scheduled yet");
	if (!*succeeded)
		return set(h, HEALTH_HEALTHY, "The CronJob never completed successfully. It may not be healthy");
	if (active && json_array_size(active) > 0)
		return set(h, HEALTH_HEALTHY,
			   "The job is running. Its last execution may not have been successful");
	if (strcmp(succeeded, scheduled) < 0)
		return set(h, HEALTH_DEGRADED, "CronJob has not completed its last execution successfully");
	return set(h, HEALTH_HEALTHY, "CronJob has completed its last execution successfully");
}

/* ---- networking, storage, API --------------------------------------- */

static int service_health(struct rd *r, const json_t *o, struct health *h)
{
	const char *type = rd_str(r, o, "spec.type");
	const json_t *ingress = rd_arr(r, o, "status.loadBalancer.ingress");

	if (r->err[0])
		return 0;
	if (strcmp(type, "LoadBalancer") == 0 && (!ingress || json_array_size(ingress) == 0))
		return set(h, HEALTH_PROGRESSING, "%s", "");
	return set(h, HEALTH_HEALTHY, "%s", "");
}

static int ingress_health(struct rd *r, const json_t *o, struct health *h)
{
	const json_t *ingress = rd_arr(r, o, "status.loadBalancer.ingress");

	if (r->err[0])
		return 0;
	if (ingress && json_array_size(ingress) > 0)
		return set(h, HEALTH_HEALTHY, "%s", "");
	return set(h, HEALTH_PROGRESSING, "%s", "");
}

static int pvc_health(struct rd *r, const json_t *o, struct health *h)
{
	const char *phase = rd_str(r, o, "status.phase");

	if (r->err[0])
		return 0;
	if (strcmp(phase, "Lost") == 0)
		return set(h, HEALTH_DEGRADED, "%s", "");
	if (strcmp(phase, "Pending") == 0)
		return set(h, HEALTH_PROGRESSING, "%s", "");
	if (strcmp(phase, "Bound") == 0)
		return set(h, HEALTH_HEALTHY, "%s", "");
	return set(h, HEALTH_UNKNOWN, "%s", "");
}

static int apiservice_health(struct rd *r, const json_t *o, struct health *h)
{
	const json_t *conds = rd_arr(r, o, "status.conditions");
	const json_t *avail = conds ? find_condition(r, conds, "Available") : NULL;

	if (r->err[0])
		return 0;
	if (!avail)
		return set(h, HEALTH_PROGRESSING, "Waiting to be processed");
	return set(h, strcmp(rd_str(r, avail, "status"), "True") == 0 ? HEALTH_HEALTHY : HEALTH_PROGRESSING,
		   "%s: %s", rd_str(r, avail, "reason"), rd_str(r, avail, "message"));
}

static int crd_health(struct rd *r, const json_t *o, struct health *h)
{
	const json_t *conds = rd_arr(r, o, "status.conditions");
	bool established = false, terminating = false, names_rejected = false, violations = false;
	const char *msg = "";
	size_t i;
	json_t *c;

	if (r->err[0])
		return 0;
	if (!conds || json_array_size(conds) == 0)
		return set(h, HEALTH_PROGRESSING, "Status conditions not found");
	json_array_foreach(conds, i, c) {
		const char *type = rd_str(r, c, "type"), *st = rd_str(r, c, "status");
		if (strcmp(type, "Terminating") == 0 && strcmp(st, "True") == 0) {
			terminating = true;
			msg = rd_str(r, c, "message");
		} else if (strcmp(type, "NamesAccepted") == 0 && strcmp(st, "False") == 0) {
			names_rejected = true;
			msg = rd_str(r, c, "message");
		} else if (strcmp(type, "Established") == 0) {
			if (strcmp(st, "True") == 0)
				established = true;
			else
				msg = rd_str(r, c, "message");
		} else if (strcmp(type, "NonStructuralSchema") == 0 && strcmp(st, "True") == 0) {
			violations = true;
			msg = rd_str(r, c, "message");
		}
	}
	if (r->err[0])
		return 0;
	if (terminating)
		return set(h, HEALTH_PROGRESSING, "CRD is being terminated: %s", msg);
	if (names_rejected)
		return set(h, HEALTH_DEGRADED, "CRD names have not been accepted: %s", msg);
	if (!established)
		return set(h, HEALTH_DEGRADED, "CRD is not established: %s", msg);
	if (violations)
		return set(h, HEALTH_DEGRADED, "Schema violations found: %s", msg);
	return set(h, HEALTH_HEALTHY, "CRD is healthy");
}

/* ---- HPA ------------------------------------------------------------ */

/* Argo CD's HPA rule: the first condition that is a known failure makes it
 * Degraded, the first AbleToScale/ScalingLimited that is True Healthy;
 * otherwise it is waiting to autoscale. */
static int hpa_conditions(struct rd *r, const json_t *conds, struct health *h)
{
	static const char *const degraded[][2] = {
		{"AbleToScale", "FailedGetScale"},
		{"AbleToScale", "FailedUpdateScale"},
		{"ScalingActive", "FailedGetResourceMetric"},
		{"ScalingActive", "InvalidSelector"},
	};
	size_t i;
	json_t *c;

	json_array_foreach(conds, i, c) {
		const char *type = rd_str(r, c, "type"), *reason = rd_str(r, c, "reason");
		for (size_t k = 0; k < sizeof(degraded) / sizeof(degraded[0]); k++)
			if (strcmp(type, degraded[k][0]) == 0 && strcmp(reason, degraded[k][1]) == 0)
				return set(h, HEALTH_DEGRADED, "%s", rd_str(r, c, "message"));
		if ((strcmp(type, "AbleToScale") == 0 || strcmp(type, "ScalingLimited") == 0) &&
		    strcmp(rd_str(r, c, "status"), "True") == 0)
			return set(h, HEALTH_HEALTHY, "%s", rd_str(r, c, "message"));
	}
	return set(h, HEALTH_PROGRESSING, "Waiting to Autoscale");
}

static int hpa_health(struct rd *r, const json_t *o, struct health *h)
{
	const char *api = rd_str(r, o, "apiVersion");
	const json_t *conds;
	json_t *parsed = NULL;
	int rc;

	if (strcmp(api, "autoscaling/v1") == 0) {
		/* v1 keeps its conditions as JSON in an annotation */
		const char *text = jx_path_str(o, "metadata", "annotations",
					       "autoscaling.alpha.kubernetes.io/conditions", NULL);
		if (!text)
			return set(h, HEALTH_PROGRESSING, "Waiting to Autoscale");
		if (jx_parse(text, strlen(text), 1 << 20, 16, &parsed) < 0 || !json_is_array(parsed)) {
			json_decref(parsed);
			snprintf(r->err, sizeof(r->err),
				 "failed to read HorizontalPodAutoscaler: conditions annotation is not a JSON list");
			return 0;
		}
		conds = parsed;
	} else {
		conds = rd_arr(r, o, "status.conditions");
		if (!conds)
			return r->err[0] ? 0 : set(h, HEALTH_PROGRESSING, "Waiting to Autoscale");
	}
	rc = hpa_conditions(r, conds, h);
	json_decref(parsed);
	return r->err[0] ? 0 : rc;
}

/* ---- Argo/Berth kinds ----------------------------------------------- */

static int application_health(struct rd *r, const json_t *o, struct health *h)
{
	const char *st = rd_str(r, o, "status.health.status");
	const char *msg = rd_str(r, o, "status.health.message");
	enum health_status s;

	if (r->err[0])
		return 0;
	if (!*st)
		return set(h, HEALTH_PROGRESSING, "%s", msg);
	if (health_status_parse(st, &s) < 0) {
		err_clear();
		s = HEALTH_UNKNOWN;
	}
	return set(h, s, "%s", msg);
}

static int workflow_health(struct rd *r, const json_t *o, struct health *h)
{
	const char *phase = rd_str(r, o, "status.phase");
	const char *msg = rd_str(r, o, "status.message");

	if (r->err[0])
		return 0;
	if (!*phase || strcmp(phase, "Pending") == 0 || strcmp(phase, "Running") == 0)
		return set(h, HEALTH_PROGRESSING, "%s", msg);
	if (strcmp(phase, "Succeeded") == 0)
		return set(h, HEALTH_HEALTHY, "%s", msg);
	if (strcmp(phase, "Failed") == 0 || strcmp(phase, "Error") == 0)
		return set(h, HEALTH_DEGRADED, "%s", msg);
	return set(h, HEALTH_UNKNOWN, "%s", msg);
}

/* ---- dispatch ------------------------------------------------------- */

typedef int (*rule_fn)(struct rd *r, const json_t *o, struct health *h);

static const struct builtin {
	const char *group;
	const char *kind;
	rule_fn fn;
} builtins[] = {
	{"apps", "Deployment", deployment_health},
	{"extensions", "Deployment", deployment_health},
	{"apps", "StatefulSet", statefulset_health},
	{"apps", "DaemonSet", daemonset_health},
	{"extensions", "DaemonSet", daemonset_health},
	{"apps", "ReplicaSet", replicaset_health},
	{"extensions", "ReplicaSet", replicaset_health},
	{"", "Pod", pod_health},
	{"", "Service", service_health},
	{"", "PersistentVolumeClaim", pvc_health},
	{"batch", "Job", job_health},
	{"batch", "CronJob", cronjob_health},
	{"networking.k8s.io", "Ingress", ingress_health},
	{"extensions", "Ingress", ingress_health},
	{"apiregistration.k8s.io", "APIService", apiservice_health},
	{"apiextensions.k8s.io", "CustomResourceDefinition", crd_health},
	{"autoscaling", "HorizontalPodAutoscaler", hpa_health},
	{"berth.dev", "Application", application_health},
	{"argoproj.io", "Application", application_health},
	{"argoproj.io", "Workflow", workflow_health},
};

static rule_fn find_builtin(const char *group, const char *kind)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i].group, group) == 0 && strcmp(builtins[i].kind, kind) == 0)
			return builtins[i].fn;
	return NULL;
}

int health_assess(const json_t *obj, const struct health_rules *rules, struct health *out)
{
	const char *kind = jx_str(obj, "kind");
	char group[256];
	struct health h = {0};
	struct rd r = {.kind = kind};
	rule_fn fn;
	int rc;

	if (!json_is_object(obj) || !kind || !jx_str(obj, "apiVersion"))
		return err_set(BERR_INVALID, "health: not a Kubernetes object (apiVersion and kind required)");
	annot_api_group(obj, group, sizeof(group));
	if (present(jx_path(obj, "metadata", "deletionTimestamp", NULL))) {
		set(&h, HEALTH_PROGRESSING, "Pending deletion");
		goto done;
	}
	if (rules && (rc = health_rules_eval(rules, group, kind, obj, &h)) != 0) {
		if (rc < 0)
			return rc;
		goto done;
	}
	if (!(fn = find_builtin(group, kind)))
		return 0;
	rc = fn(&r, obj, &h);
	if (r.err[0])
		set(&h, HEALTH_UNKNOWN, "%s", r.err);
	else if (rc == 0)
		set(&h, HEALTH_UNKNOWN, "failed to assess %s", kind);
done:
	*out = h;
	return 1;
}

/* ---- application health -------------------------------------------- */

/* Hook-ness of an object; objects whose annotations do not parse count as
 * plain resources here (the sync reports the annotation error). */
static void hook_flags(const json_t *obj, bool *is_hook, bool *skip)
{
	struct annot a;

	*is_hook = *skip = false;
	if (!obj)
		return;
	if (annot_parse(obj, &a) < 0) {
		err_clear();
		return;
	}
	*is_hook = a.is_hook;
	*skip = a.skip;
	annot_release(&a);
}

static bool is_application(const json_t *obj)
{
	char group[64];
	const char *kind = jx_str(obj, "kind");
	annot_api_group(obj, group, sizeof(group));
	return kind && strcmp(kind, "Application") == 0 &&
	       (strcmp(group, "berth.dev") == 0 || strcmp(group, "argoproj.io") == 0);
}

int health_app(struct health_resource *res, size_t n, const struct health_rules *rules, const char *app_name,
	       enum health_status *out)
{
	enum health_status app = HEALTH_HEALTHY;
	bool any = false, any_live = false;

	for (size_t i = 0; i < n; i++) {
		struct health_resource *r = &res[i];
		const char *ignore;
		bool hook, skip;
		int rc;

		r->has_health = false;
		hook_flags(r->desired, &hook, &skip);
		if (skip)
			continue;
		hook_flags(r->live, &hook, &skip);
		if (r->live && hook)
			continue;
		if (!r->live && !r->desired)
			continue;
		any = true;
		if (!r->live) {
			r->has_health = true;
			set(&r->health, HEALTH_MISSING, "%s", "");
			continue; /* OutOfSync already says it is missing */
		}
		any_live = true;
		ignore = annot_get(r->live, "ignore-healthcheck");
		if (ignore && strcmp(ignore, "true") == 0)
			continue;
		if (app_name && is_application(r->live) &&
		    str_eq_null(jx_path_str(r->live, "metadata", "name", NULL), app_name))
			continue;
		if ((rc = health_assess(r->live, rules, &r->health)) < 0)
			return rc;
		if (rc == 0)
			continue;
		r->has_health = true;
		if (is_application(r->live) &&
		    (r->health.status == HEALTH_MISSING || r->health.status == HEALTH_UNKNOWN))
			continue;
		app = health_worst(app, r->health.status);
	}
	if (any && !any_live)
		app = health_worst(app, HEALTH_MISSING);
	*out = app;
	return 0;
}

/* ---- custom rules --------------------------------------------------- */

#define RULES_MAX_PER_KIND 64
#define RULES_MAX_KINDS 4096
#define RULE_PATH_MAX 512

struct field_test {
	char *ptr;      /* JSON pointer of the field, NULL when the rule has no field test */
	json_t *equals; /* the value it must equal, or NULL */
	json_t *in;     /* a list of values it must be one of, or NULL */
	int exists;     /* 1: must exist (default), 0: must be absent */
};

struct cond_test {
	char *type; /* NULL when the rule has no condition test */
	char *status, *reason; /* NULL: any */
};

struct rule {
	enum health_status status;
	char *message; /* NULL: the matched condition's message, or "" */
	struct cond_test cond;
	struct field_test field;
};

struct rule_set {
	char *group, *kind; /* patterns ('*', '?') */
	bool glob;
	struct rule *rules;
	size_t n;
};

struct health_rules {
	struct rule_set *sets;
	size_t n;
};

struct health_rules *health_rules_new(void)
{
	return calloc(1, sizeof(struct health_rules));
}

static void rule_release(struct rule *ru)
{
	free(ru->message);
	free(ru->cond.type);
	free(ru->cond.status);
	free(ru->cond.reason);
	free(ru->field.ptr);
	json_decref(ru->field.equals);
	json_decref(ru->field.in);
}

static void rule_set_release(struct rule_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		rule_release(&s->rules[i]);
	free(s->rules);
	free(s->group);
	free(s->kind);
}

void health_rules_free(struct health_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		rule_set_release(&r->sets[i]);
	free(r->sets);
	free(r);
}

/* ".status.phase" or "/status/phase" → "/status/phase". */
static int field_pointer(const char *key, size_t idx, const char *path, char **ret)
{
	struct buf b;
	const char *p;
	int rc = 0;

	if (strlen(path) > RULE_PATH_MAX)
		return err_set(BERR_INVALID, "health rules %s: rules[%zu].when.field: longer than %d bytes",
			       key, idx, RULE_PATH_MAX);
	if (path[0] == '/') {
		if (!(*ret = str_dup(path)))
			return err_set(BERR_NOMEM, "out of memory");
		return 0;
	}
	if (path[0] != '.' || path[1] == '\0')
		return err_set(BERR_INVALID,
			       "health rules %s: rules[%zu].when.field: \"%s\" is not a path like .status.phase "
			       "or /status/phase",
			       key, idx, path);
	buf_init(&b, 4 * RULE_PATH_MAX);
	for (p = path + 1; *p && rc == 0;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char seg[RULE_PATH_MAX + 1];
		if (n == 0) {
			buf_release(&b);
			return err_set(BERR_INVALID, "health rules %s: rules[%zu].when.field: empty step in \"%s\"",
				       key, idx, path);
		}
		memcpy(seg, p, n);
		seg[n] = '\0';
		if ((rc = buf_putc(&b, '/')) == 0)
			rc = jx_ptr_escape(&b, seg);
		p = dot ? dot + 1 : p + n;
	}
	if (rc == 0 && !(*ret = buf_detach(&b, NULL)))
		rc = err_set(BERR_NOMEM, "out of memory");
	buf_release(&b);
	return rc;
}

static int dup_opt_string(const json_t *o, const char *name, const char *key, size_t idx, const char *where,
			  char **out)
{
	const json_t *v = json_object_get(o, name);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return err_set(BERR_INVALID, "health rules %s: rules[%zu].%s%s: not a string", key, idx, where,
			       name);
	if (!(*out = str_dup(json_string_value(v))))
		return err_set(BERR_NOMEM, "out of memory");
	return 0;
}

static int parse_when(const char *key, size_t idx, const json_t *when, struct rule *ru)
{
	const json_t *cond = json_object_get(when, "condition");
	const json_t *field = json_object_get(when, "field");
	const char *k;
	json_t *v;
	int rc;

	json_object_foreach((json_t *)when, k, v) {
		if (strcmp(k, "condition") && strcmp(k, "field") && strcmp(k, "equals") && strcmp(k, "in") &&
		    strcmp(k, "exists"))
			return err_set(BERR_INVALID, "health rules %s: rules[%zu].when: unknown key \"%s\"", key,
				       idx, k);
	}
	if (!cond && !field)
		return err_set(BERR_INVALID, "health rules %s: rules[%zu].when: needs a condition or a field",
			       key, idx);
	if (cond) {
		if (!json_is_object(cond))
			return err_set(BERR_INVALID, "health rules %s: rules[%zu].when.condition: not a map", key,
				       idx);
		if ((rc = dup_opt_string(cond, "type", key, idx, "when.condition.", &ru->cond.type)) < 0 ||
		    (rc = dup_opt_string(cond, "status", key, idx, "when.condition.", &ru->cond.status)) < 0 ||
		    (rc = dup_opt_string(cond, "reason", key, idx, "when.condition.", &ru->cond.reason)) < 0)
			return rc;
		if (!ru->cond.type)
			return err_set(BERR_INVALID, "health rules %s: rules[%zu].when.condition: type is required",
				       key, idx);
	}
	if (field) {
		const json_t *equals = json_object_get(when, "equals");
		const json_t *in = json_object_get(when, "in");
		const json_t *exists = json_object_get(when, "exists");
		if (!json_is_string(field))
			return err_set(BERR_INVALID, "health rules %s: rules[%zu].when.field: not a string", key,
				       idx);
		if ((rc = field_pointer(key, idx, json_string_value(field), &ru->field.ptr)) < 0)
			return rc;
		if ((equals != NULL) + (in != NULL) + (exists != NULL) > 1)
			return err_set(BERR_INVALID,
				       "health rules %s: rules[%zu].when: use one of equals, in, exists", key, idx);
		if (in && !json_is_array(in))
			return err_set(BERR_INVALID, "health rules %s: rules[%zu].when.in: not a list", key, idx);
		if (exists && !json_is_boolean(exists))
			return err_set(BERR_INVALID, "health rules %s: rules[%zu].when.exists: not true or false",
				       key, idx);
		ru->field.equals = json_incref((json_t *)equals);
		ru->field.in = json_incref((json_t *)in);
		ru->field.exists = exists ? json_is_true(exists) : 1;
	} else if (json_object_get(when, "equals") || json_object_get(when, "in") ||
		   json_object_get(when, "exists")) {
		return err_set(BERR_INVALID, "health rules %s: rules[%zu].when: equals/in/exists need a field",
			       key, idx);
	}
	return 0;
}

static int parse_rule(const char *key, size_t idx, const json_t *spec, struct rule *ru)
{
	const json_t *status = json_object_get(spec, "status");
	const json_t *when = json_object_get(spec, "when");
	const char *k;
	json_t *v;
	int rc;

	if (!json_is_object(spec))
		return err_set(BERR_INVALID, "health rules %s: rules[%zu]: not a map", key, idx);
	json_object_foreach((json_t *)spec, k, v) {
		if (strcmp(k, "status") && strcmp(k, "when") && strcmp(k, "message"))
			return err_set(BERR_INVALID, "health rules %s: rules[%zu]: unknown key \"%s\"", key, idx, k);
	}
	if (!json_is_string(status))
		return err_set(BERR_INVALID, "health rules %s: rules[%zu].status: required (a health status)",
			       key, idx);
	if (health_status_parse(json_string_value(status), &ru->status) < 0)
		return err_prefix(BERR_INVALID, "health rules %s: rules[%zu].status", key, idx);
	if ((rc = dup_opt_string(spec, "message", key, idx, "", &ru->message)) < 0)
		return rc;
	if (when) {
		if (!json_is_object(when))
			return err_set(BERR_INVALID, "health rules %s: rules[%zu].when: not a map", key, idx);
		if ((rc = parse_when(key, idx, when, ru)) < 0)
			return rc;
	}
	return 0;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

int health_rules_add(struct health_rules *r, const char *key, const json_t *spec)
{
	struct rule_set set = {0};
	const char *us = strchr(key, '_');
	struct rule_set *grown;
	const json_t *list = spec;
	size_t i;
	int rc = 0;

	if (!*key || (us && (us == key || !us[1] || strchr(us + 1, '_'))))
		return err_set(BERR_INVALID, "health rules \"%s\": key is not <group>_<kind> or <kind>", key);
	if (json_is_object(spec) && json_object_get(spec, "rules"))
		list = json_object_get(spec, "rules");
	if (!json_is_array(list) || json_array_size(list) == 0)
		return err_set(BERR_INVALID, "health rules %s: not a non-empty list of rules", key);
	if (json_array_size(list) > RULES_MAX_PER_KIND)
		return err_set(BERR_TOOLARGE, "health rules %s: %zu rules, at most %d", key,
			       json_array_size(list), RULES_MAX_PER_KIND);
	if (r->n >= RULES_MAX_KINDS)
		return err_set(BERR_TOOLARGE, "health rules: more than %d kinds", RULES_MAX_KINDS);
	set.group = us ? str_printf("%.*s", (int)(us - key), key) : str_dup("");
	set.kind = str_dup(us ? us + 1 : key);
	set.rules = calloc(json_array_size(list), sizeof(*set.rules));
	if (!set.group || !set.kind || !set.rules) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < r->n; i++) {
		if (strcmp(r->sets[i].group, set.group) == 0 && strcmp(r->sets[i].kind, set.kind) == 0) {
			rc = err_set(BERR_EXISTS, "health rules %s: given twice", key);
			goto fail;
		}
	}
	set.glob = has_glob(set.group) || has_glob(set.kind);
	for (i = 0; i < json_array_size(list); i++) {
		set.n = i + 1;
		if ((rc = parse_rule(key, i, json_array_get(list, i), &set.rules[i])) < 0)
			goto fail;
	}
	if (!(grown = realloc(r->sets, (r->n + 1) * sizeof(*grown)))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto fail;
	}
	r->sets = grown;
	r->sets[r->n++] = set;
	return 0;
fail:
	rule_set_release(&set);
	return rc;
}

int health_rules_add_text(struct health_rules *r, const char *key, const char *text, size_t len)
{
	json_t *spec = NULL;
	int rc = kyaml_load_any(text, len, NULL, &spec);
	if (rc < 0)
		return err_prefix(rc, "health rules %s", key);
	rc = health_rules_add(r, key, spec);
	json_decref(spec);
	return rc;
}

int health_rules_add_settings(struct health_rules *r, const json_t *cm_data)
{
	static const char prefix[] = "resource.customizations.health.";
	const char *k;
	json_t *v;
	int rc;

	if (!json_is_object(cm_data))
		return 0;
	json_object_foreach((json_t *)cm_data, k, v) {
		if (!str_starts_with(k, prefix))
			continue;
		if (!json_is_string(v))
			return err_set(BERR_INVALID, "%s: not a string", k);
		if ((rc = health_rules_add_text(r, k + sizeof(prefix) - 1, json_string_value(v),
						json_string_length(v))) < 0)
			return rc;
	}
	return 0;
}

static bool value_in(const json_t *v, const json_t *list)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) {
		if (jx_equal(v, x))
			return true;
	}
	return false;
}

/* Does the rule hold for obj? The matched condition goes to *ret_cond. */
static bool rule_matches(const struct rule *ru, const json_t *obj, const json_t **ret_cond)
{
	*ret_cond = NULL;
	if (ru->cond.type) {
		const json_t *conds = jx_path(obj, "status", "conditions", NULL);
		const json_t *found = NULL;
		size_t i;
		json_t *c;
		if (!json_is_array(conds))
			return false;
		json_array_foreach(conds, i, c) {
			if (!str_eq_null(jx_str(c, "type"), ru->cond.type))
				continue;
			if (ru->cond.status && !str_eq_null(jx_str(c, "status"), ru->cond.status))
				continue;
			if (ru->cond.reason && !str_eq_null(jx_str(c, "reason"), ru->cond.reason))
				continue;
			found = c;
			break;
		}
		if (!found)
			return false;
		*ret_cond = found;
	}
	if (ru->field.ptr) {
		const json_t *v = jx_ptr_get((json_t *)obj, ru->field.ptr);
		bool exists = present(v);
		if (ru->field.equals)
			return exists && jx_equal(v, ru->field.equals);
		if (ru->field.in)
			return exists && value_in(v, ru->field.in);
		return exists == (ru->field.exists == 1);
	}
	return true;
}

static const struct rule_set *find_set(const struct health_rules *r, const char *group, const char *kind)
{
	for (size_t i = 0; i < r->n; i++)
		if (!r->sets[i].glob && strcmp(r->sets[i].group, group) == 0 && strcmp(r->sets[i].kind, kind) == 0)
			return &r->sets[i];
	for (size_t i = 0; i < r->n; i++)
		if (r->sets[i].glob && str_glob(r->sets[i].group, group) && str_glob(r->sets[i].kind, kind))
			return &r->sets[i];
	return NULL;
}

static int health_rules_eval(const struct health_rules *rules, const char *group, const char *kind,
			     const json_t *obj, struct health *h)
{
	const struct rule_set *s = find_set(rules, group, kind);
	const json_t *cond;

	if (!s)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct rule *ru = &s->rules[i];
		if (!rule_matches(ru, obj, &cond))
			continue;
		if (ru->message)
			return set(h, ru->status, "%s", ru->message);
		return set(h, ru->status, "%s", cond && jx_str(cond, "message") ? jx_str(cond, "message") : "");
	}
	return 0;
}
