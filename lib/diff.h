/*
 * diff — the drift engine: is the live object what Git says it should be?
 *
 * For one resource the caller has the desired object (rendered from Git,
 * namespace already defaulted) and the live object (from the cluster cache,
 * with server defaults, managedFields and possibly kubectl's last-applied
 * annotation). diff_compute():
 *
 *  1. normalises desired, live and last-applied alike: drops status and
 *     server-owned metadata (uid, resourceVersion, generation,
 *     creationTimestamp, managedFields, selfLink), the last-applied and
 *     deployment.kubernetes.io/revision annotations, Berth's own annotations
 *     (settings), the namespace label kubernetes.io/metadata.name,
 *     template.metadata.creationTimestamp: null, and the namespace of
 *     cluster-scoped objects; folds Secret stringData into base64 data;
 *     removes what ignoreDifferences and the per-kind customisations name
 *     (JSON pointers, a bounded jq-path subset, managedFieldsManagers);
 *  2. predicts the live object after a sync: live + the three-way patch
 *     (last-applied → desired, lib/patch.h), so fields nobody in Git set
 *     stay as they are; without a last-applied annotation desired is the
 *     base (two-way). Server defaults (lib/kdefaults.h) are filled into what
 *     the patch wrote, so a defaulted field is never drift;
 *  3. compares predicted and live the way Kubernetes does (quantities by
 *     value, empty maps/lists equal to absent) and reports: modified, a list
 *     of changes by JSON pointer, and the patch to send (strategic merge
 *     patch for built-in kinds, JSON merge patch for custom resources;
 *     see diff_result.patch). A unified YAML diff for humans,
 *     with Secret values masked, is rendered on demand (diff_unified).
 *
 * The engine is pure (no I/O, no globals) and reentrant; inputs are never
 * modified. It is the controller's hot path: unchanged objects are shared,
 * not copied, and a patch-free comparison allocates little.
 *
 * Bounds: objects nested deeper than DIFF_MAX_DEPTH or with more than
 * DIFF_MAX_NODES values are refused with BERR_TOOLARGE; jq paths evaluate
 * at most DIFF_JQ_MAX_STEPS steps each.
 */
#ifndef BERTH_DIFF_H
#define BERTH_DIFF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define DIFF_MAX_DEPTH 64
#define DIFF_MAX_NODES ((size_t)1 << 20)
#define DIFF_JQ_MAX_STEPS 10000
#define DIFF_JQ_MAX_LEN 1024

#define DIFF_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/*
 * Normalisation settings of one application (all members optional; a
 * zeroed struct is valid). All pointers are borrowed for the call.
 *
 * ignore_differences: the Application's spec.ignoreDifferences array, as
 *   Argo CD spells it: [{group, kind, name, namespace, jsonPointers[],
 *   jqPathExpressions[], managedFieldsManagers[]}]; a missing or "" group
 *   is the core group, "*" any group; kind is required ("*" any); a missing
 *   name or namespace matches any.
 * customizations: the system-wide per-kind rules from berth-cm
 *   (resource.customizations.ignoreDifferences.<group_kind>), already parsed:
 *   an object whose keys are "<group>_<Kind>" ("apps_Deployment"), "<Kind>"
 *   or "_<Kind>" for the core group, or "all", and whose values are
 *   {jsonPointers[], jqPathExpressions[], managedFieldsManagers[]}.
 * ignore_annotations: NULL-terminated list of extra annotation keys to drop
 *   (an entry ending in '/' drops every key with that prefix). Berth's own
 *   "berth.dev/tracking-id" is always dropped.
 * cluster_scoped: tells whether (group, kind) is cluster-scoped (from
 *   discovery); NULL uses the built-in list of cluster-scoped kinds.
 * compare_only: the caller only compares (a controller's refresh), so the
 *   patch to send is not computed: diff_result.patch stays NULL for a
 *   modified object (an empty object when unmodified, as always). Saves a
 *   second three-way patch and a canonical dump of desired per modified
 *   object; nothing else changes (it is not part of diff_cache_key).
 */
struct diff_settings {
	const json_t *ignore_differences;
	const json_t *customizations;
	const char *const *ignore_annotations;
	bool (*cluster_scoped)(void *ctx, const char *group, const char *kind);
	void *ctx;
	bool compare_only;
};

enum diff_op {
	DIFF_OP_ADD,     /* present in predicted, absent live */
	DIFF_OP_REMOVE,  /* present live, absent in predicted */
	DIFF_OP_REPLACE, /* present in both with different values */
};

struct diff_change {
	char *pointer;     /* RFC 6901, into the normalised objects */
	enum diff_op op;
	json_t *old_value; /* live value (NULL for ADD); owned */
	json_t *new_value; /* predicted value (NULL for REMOVE); owned */
};

struct diff_result {
	bool modified;
	/* Changes from normalised live to predicted live, in document order.
	 * Lists merged by key (containers, env, ports, ...) are matched by key:
	 * an added item is one ADD at its index in predicted, a removed one
	 * one REMOVE at its index in live, a pure reordering one REPLACE of
	 * the list; other lists of different lengths are one REPLACE.
	 * Capped at DIFF_MAX_CHANGES entries (changes_truncated then true). */
	struct diff_change *changes;
	size_t n_changes;
	bool changes_truncated;
	/* Normalised objects (new references; either may be NULL when the
	 * object is missing on that side). predicted_live is what the live
	 * object would be after applying `patch`. */
	json_t *normalized_live;
	json_t *predicted_live;
	/* The patch to send to the API server to sync (new reference; an empty
	 * object when not modified; NULL when live is missing, i.e. the
	 * object must be created). It is computed from the un-normalised
	 * last-applied, desired and live, as kubectl apply would, and (unless
	 * desired already carries one) sets the last-applied annotation to the
	 * canonical JSON of desired, so the next diff is three-way. For a
	 * Secret the annotation records the data/stringData keys with empty
	 * values, never the secrets themselves (the three-way patch needs only
	 * the keys, kubectl's included). The patch itself carries desired's
	 * values: mask it before showing it. */
	json_t *patch;
	bool patch_is_strategic; /* else JSON merge patch */
	/* A Secret: diff_unified masks its data values, and the change list
	 * holds masks instead of values under /data: 8 '+' for the desired
	 * value, 8 for an equal live one, 12 for a different one (Argo CD's
	 * scheme). normalized_live and predicted_live keep the real values:
	 * never show them. */
	bool is_secret;
	/* Whether a last-applied annotation was found and used (else two-way). */
	bool three_way;
};

#define DIFF_MAX_CHANGES 1000

/* Zeroes r. */
void diff_result_init(struct diff_result *r);

/* Frees what r holds and zeroes it. */
void diff_result_release(struct diff_result *r);

/*
 * Compares desired with live under settings s (NULL: defaults). Either
 * object may be NULL (missing in Git: extraneous; missing in the cluster:
 * to be created) but not both. Neither is modified. On success *out (which
 * must be initialised) is filled. Errors: BERR_INVALID (not an object,
 * missing or non-string apiVersion/kind, desired and live of different
 * kinds, invalid base64 in Secret data, a list item missing its merge key,
 * a malformed jq path or JSON pointer in the settings — the message names
 * which), BERR_TOOLARGE (nesting, node count, jq step limit, more than 64
 * ignore rules matching one object). *out is left empty on failure.
 *
 * Pass desired exactly as it is (or was) applied — with Berth's tracking
 * annotation if the sync adds it: when live's last-applied annotation is the
 * canonical JSON of desired, the annotation is not parsed at all, which is
 * most of the cost of diffing an unchanged object.
 */
int diff_compute(const json_t *desired, const json_t *live, const struct diff_settings *s,
		 struct diff_result *out);

/*
 * Normalises obj in place as step 1 above (for callers that show one
 * object, e.g. `berth app manifests --normalised`). 0 or a BERR code.
 */
int diff_normalize(json_t *obj, const struct diff_settings *s);

/*
 * Appends a unified diff ("--- live", "+++ desired" headers, @@ hunks with
 * 3 lines of context) of r->normalized_live → r->predicted_live rendered as
 * YAML, to out. For Secrets every data value is replaced by a run of '+'
 * whose length depends only on whether the values are equal (equal values
 * get equal masks, different values different ones), so no byte of a
 * secret appears. Appends nothing when not modified. 0 or a BERR code
 * (BERR_TOOLARGE: out's bound).
 */
int diff_unified(const struct diff_result *r, struct buf *out);

/*
 * SHA-256 hex of the normalised form of obj under settings s (canonical
 * JSON, lib/jsonx): two objects with the same hash cannot differ in
 * anything the diff looks at. out receives 64 hex chars + NUL. 0 or a BERR
 * code as diff_normalize.
 */
int diff_normalized_hash(const json_t *obj, const struct diff_settings *s, char out[65]);

/*
 * The key under which a diff result can be cached: SHA-256 hex over the
 * canonical desired object, live's metadata.uid and resourceVersion, and
 * the canonical settings (ignore_differences, customizations,
 * ignore_annotations). out receives 64 hex chars + NUL. 0 or BERR_INVALID
 * (live without uid/resourceVersion: such an object cannot be cached).
 */
int diff_cache_key(const json_t *desired, const json_t *live, const struct diff_settings *s,
		   char out[65]);

#endif
