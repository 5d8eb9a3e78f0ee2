/*
 * health — how healthy a live Kubernetes object is (DESIGN.md §6).
 *
 * Built-in rules follow Argo CD's (gitops-engine pkg/health and Argo CD's
 * bundled CronJob/Application checks), status for status, so an app shows the
 * same health in Berth as it did in Argo CD: Deployment, StatefulSet,
 * DaemonSet, ReplicaSet, Pod, Job, CronJob, Service, Ingress,
 * PersistentVolumeClaim, APIService, HorizontalPodAutoscaler,
 * CustomResourceDefinition, Argo Workflow and Application (berth.dev and
 * argoproj.io: the app's own status.health). An object being deleted
 * (metadata.deletionTimestamp set) is Progressing "Pending deletion",
 * whatever its kind. Kinds without a rule have no health at all — they do
 * not count towards an app's health (Argo CD does the same), which is
 * different from Unknown.
 *
 * Messages are Argo CD's word for word ("Waiting for rollout to finish: 1 of
 * 2 updated replicas are available..."), its two spelling slips corrected
 * ("less than", "successfully").
 *
 * Two deliberate differences from gitops-engine: a Pod without
 * spec.restartPolicy is read as "Always" (the API server's default), and
 * argoproj.io/Application has a rule (gitops-engine has none; Argo CD users
 * add the same rule as a Lua customisation).
 *
 * Custom rules (berth-cm "resource.customizations.health.<group>_<kind>",
 * group omitted for the core group; '*' and '?' globs allowed) are
 * declarative, not Lua: a list of rules, first match wins, in JSON or YAML:
 *
 *     - status: Degraded
 *       when: {condition: {type: Ready, status: "False", reason: Failed}}
 *     - status: Healthy
 *       when: {condition: {type: Ready, status: "True"}}
 *       message: certificate issued
 *     - status: Progressing
 *       when: {field: .status.phase, in: [Pending, Issuing]}
 *     - status: Progressing            # no "when": always matches
 *       message: waiting for the issuer
 *
 * "when" holds a "condition" (an entry of status.conditions with this type,
 * and this status/reason when given) and/or a "field" test (path as
 * ".a.b.c" or a JSON pointer "/a/b/c"; with "equals": value, "in": [values],
 * or "exists": true|false; without one of these the field must exist); both
 * must hold when both are given. "message" is literal; without it the
 * matched condition's message (or "") is used. A custom rule set overrides
 * the built-in rule of its kind; when none of its rules matches, the
 * built-in rule (if any) decides.
 */
#ifndef BERTH_HEALTH_H
#define BERTH_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* In order from best to worst (health_worst relies on it). */
enum health_status {
	HEALTH_HEALTHY = 0,
	HEALTH_SUSPENDED,
	HEALTH_PROGRESSING,
	HEALTH_MISSING,
	HEALTH_DEGRADED,
	HEALTH_UNKNOWN,
};

#define HEALTH_MESSAGE_MAX 1024

struct health {
	enum health_status status;
	char message[HEALTH_MESSAGE_MAX]; /* may be ""; truncated to fit */
};

/* "Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown". */
const char *health_status_name(enum health_status s);

/* Parses one of the names above (exact case). 0 or BERR_INVALID. */
int health_status_parse(const char *s, enum health_status *out);

/* The worse of two statuses: Healthy < Suspended < Progressing < Missing <
 * Degraded < Unknown (Argo CD's order). */
enum health_status health_worst(enum health_status a, enum health_status b);

/* A set of custom rules keyed by group/kind. Opaque; owned by the caller. */
struct health_rules;

/* An empty rule set, or NULL when out of memory. */
struct health_rules *health_rules_new(void);

/* Frees a rule set (NULL is fine). */
void health_rules_free(struct health_rules *r);

/* Adds the rules for one kind. key is "<group>_<kind>" or "<kind>" for the
 * core group (the part after "resource.customizations.health."); spec is the
 * parsed rule list (borrowed). 0, or BERR_INVALID with a message naming the
 * key and the offending rule/field, BERR_TOOLARGE past 64 rules,
 * BERR_EXISTS when the key was added before. r unchanged on failure. */
int health_rules_add(struct health_rules *r, const char *key, const json_t *spec);

/* The same from text (JSON or YAML) as found in a ConfigMap value. */
int health_rules_add_text(struct health_rules *r, const char *key, const char *text, size_t len);

/* Adds every "resource.customizations.health.<key>" entry of a ConfigMap's
 * data object (borrowed). Stops at the first bad entry (0 or its error). */
int health_rules_add_settings(struct health_rules *r, const json_t *cm_data);

/*
 * Assesses obj (a live object, borrowed) with the custom rules (NULL for
 * none), then the built-in rule of its kind.
 * Returns 1 with *out filled when the object has a health, 0 when its kind
 * has no rule (*out untouched), BERR_INVALID when obj is not an object with
 * apiVersion and kind. Fields of the wrong type do not fail the call: they
 * give Unknown with a message saying which field, as Argo CD does.
 */
int health_assess(const json_t *obj, const struct health_rules *rules, struct health *out);

/* One resource of an application for health_app. */
struct health_resource {
	const json_t *desired; /* from Git, or NULL (borrowed) */
	const json_t *live;    /* from the cluster, or NULL (borrowed) */
	struct health health;  /* out: the resource's health ... */
	bool has_health;       /* out: ... when it has one */
};

/*
 * An application's health from its resources, as Argo CD computes it:
 * the worst resource health, starting from Healthy, where
 * - hooks (live) and Skip objects (desired) do not count and get no health;
 * - a live object annotated ignore-healthcheck: "true" (berth.dev/ or
 *   argocd.argoproj.io/) does not count;
 * - a resource missing live is Missing but does not make the app Missing
 *   (OutOfSync says that) — unless no resource is live at all;
 * - a child Application that is Missing or Unknown does not count, nor an
 *   Application named app_name (an app managing itself; NULL: none);
 * - kinds without a rule do not count.
 * Fills each resource's health/has_health and *out. 0, or BERR_INVALID when
 * an object is not a Kubernetes object (message names it).
 */
int health_app(struct health_resource *res, size_t n, const struct health_rules *rules, const char *app_name,
	       enum health_status *out);

#endif
