/*
 * annot — the annotation vocabulary Berth reads on managed resources
 * (DESIGN.md §4): hooks, hook delete policies, sync waves, sync and compare
 * options, the tracking id and the refresh request.
 *
 * Every name is read under Berth's own prefix "berth.dev/" and, so that
 * repositories written for Argo CD work unchanged, under
 * "argocd.argoproj.io/"; when both are present the berth.dev/ one wins.
 * Helm's "helm.sh/hook", "helm.sh/hook-weight" and
 * "helm.sh/hook-delete-policy" are mapped as Argo CD maps them:
 *
 *     pre-install, pre-upgrade               -> PreSync
 *     post-install, post-upgrade             -> PostSync
 *     crd-install, pre-delete, post-delete, pre-rollback, post-rollback, test,
 *     test-success, test-failure             -> no phase (the object is a hook
 *                                               that never runs in a sync)
 *     helm.sh/hook-weight                    -> wave (when no sync-wave is set)
 *     before-hook-creation, hook-succeeded, hook-failed -> delete policies
 *
 * The Helm hook types are ignored when a Berth/Argo CD hook annotation names
 * a known type (as gitops-engine does, they are used when it names none).
 * "helm.sh/hook: crd-install" alone does not make a hook (Helm uses it to
 * mark CRDs, which Berth applies first anyway). Delete policies of both
 * vocabularies add up; with none given the policy is BeforeHookCreation.
 *
 * Comma lists are split on ',' with surrounding blanks trimmed and empty
 * items dropped. Unknown hook types, delete policies and options are not
 * errors (an Argo CD repository may use newer names); they are collected in
 * struct annot.unknown so a caller can warn. The one hard error is a
 * sync-wave that is not an integer: it names the object and the value.
 */
#ifndef BERTH_ANNOT_H
#define BERTH_ANNOT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define ANNOT_PREFIX "berth.dev/"
#define ANNOT_ARGO_PREFIX "argocd.argoproj.io/"
#define ANNOT_TRACKING_ID "berth.dev/tracking-id"
#define ANNOT_REFRESH "berth.dev/refresh"
#define ANNOT_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* Hook types (bits of struct annot.hooks). */
enum annot_hook {
	ANNOT_HOOK_PRESYNC = 1u << 0,
	ANNOT_HOOK_SYNC = 1u << 1,
	ANNOT_HOOK_POSTSYNC = 1u << 2,
	ANNOT_HOOK_SYNCFAIL = 1u << 3,
	ANNOT_HOOK_SKIP = 1u << 4,
	ANNOT_HOOK_POSTDELETE = 1u << 5, /* runs when the app is deleted, not in a sync */
};

/* Hook delete policies (bits of struct annot.delete_policies). */
enum annot_delete_policy {
	ANNOT_DELETE_HOOK_SUCCEEDED = 1u << 0,
	ANNOT_DELETE_HOOK_FAILED = 1u << 1,
	ANNOT_DELETE_BEFORE_HOOK_CREATION = 1u << 2,
};

/* Sync options (bits of struct annot.sync_options), written as
 * "Name=value" in annotations and in Application syncOptions. */
enum annot_sync_option {
	ANNOT_SYNC_PRUNE_FALSE = 1u << 0,            /* Prune=false */
	ANNOT_SYNC_PRUNE_CONFIRM = 1u << 1,          /* Prune=confirm */
	ANNOT_SYNC_DELETE_FALSE = 1u << 2,           /* Delete=false */
	ANNOT_SYNC_DELETE_CONFIRM = 1u << 3,         /* Delete=confirm */
	ANNOT_SYNC_REPLACE = 1u << 4,                /* Replace=true */
	ANNOT_SYNC_SERVER_SIDE_APPLY = 1u << 5,      /* ServerSideApply=true */
	ANNOT_SYNC_VALIDATE_FALSE = 1u << 6,         /* Validate=false */
	ANNOT_SYNC_PRUNE_LAST = 1u << 7,             /* PruneLast=true */
	ANNOT_SYNC_SKIP_DRY_RUN_ON_MISSING = 1u << 8,/* SkipDryRunOnMissingResource=true */
	ANNOT_SYNC_CREATE_NAMESPACE = 1u << 9,       /* CreateNamespace=true */
	ANNOT_SYNC_APPLY_OUT_OF_SYNC_ONLY = 1u << 10,/* ApplyOutOfSyncOnly=true */
	ANNOT_SYNC_FORCE = 1u << 11,                 /* Force=true */
	ANNOT_SYNC_FAIL_ON_SHARED = 1u << 12,        /* FailOnSharedResource=true */
	ANNOT_SYNC_RESPECT_IGNORE_DIFFERENCES = 1u << 13, /* RespectIgnoreDifferences=true */
	ANNOT_SYNC_PRUNE_PROPAGATION_FOREGROUND = 1u << 14, /* PrunePropagationPolicy=foreground */
	ANNOT_SYNC_PRUNE_PROPAGATION_BACKGROUND = 1u << 15, /* PrunePropagationPolicy=background */
	ANNOT_SYNC_PRUNE_PROPAGATION_ORPHAN = 1u << 16,     /* PrunePropagationPolicy=orphan */
};

/* Compare options (bits of struct annot.compare_options). */
enum annot_compare_option {
	ANNOT_COMPARE_IGNORE_EXTRANEOUS = 1u << 0,   /* IgnoreExtraneous */
	ANNOT_COMPARE_SERVER_SIDE_DIFF = 1u << 1,    /* ServerSideDiff=true */
	ANNOT_COMPARE_NO_SERVER_SIDE_DIFF = 1u << 2, /* ServerSideDiff=false */
};

enum annot_refresh {
	ANNOT_REFRESH_NONE = 0,
	ANNOT_REFRESH_NORMAL,
	ANNOT_REFRESH_HARD,
};

/* What the annotations of one object say. Strings are owned. */
struct annot {
	unsigned hooks;           /* ANNOT_HOOK_* bits named by the object */
	bool is_hook;             /* a hook (hooks named, or a Helm hook), and not Skip-only */
	bool skip;                /* "Skip" is its only hook type: never applied */
	bool helm_hook;           /* the hook types came from helm.sh/hook */
	unsigned delete_policies; /* ANNOT_DELETE_* bits; BeforeHookCreation when none given */
	int wave;                 /* sync-wave, else helm hook-weight, else 0 */
	bool wave_set;            /* a sync-wave or hook-weight was present */
	unsigned sync_options;    /* ANNOT_SYNC_* bits */
	unsigned compare_options; /* ANNOT_COMPARE_* bits */
	enum annot_refresh refresh;
	char *tracking_id;        /* berth.dev/tracking-id or NULL */
	char **unknown;           /* "annotation=item" for every item not understood */
	size_t n_unknown;
};

/* Parses the annotations of a Kubernetes object (metadata.annotations; an
 * object without annotations gives the defaults). 0 with *out filled (release
 * it with annot_release), BERR_INVALID for a sync-wave that is not an integer
 * or for annotations that are not an object of strings (message names the
 * object as Kind/name), BERR_NOMEM. *out untouched on failure. */
int annot_parse(const json_t *obj, struct annot *out);

/* Frees what annot_parse allocated; a zeroed struct is fine. */
void annot_release(struct annot *a);

/* Borrowed value of the annotation "<berth.dev/ or argocd.argoproj.io/><name>"
 * on obj (berth.dev/ first), or NULL. name is without prefix ("sync-wave"). */
const char *annot_get(const json_t *obj, const char *name);

/* Adds one sync option ("Replace=true"; blanks around it ignored) to *bits.
 * Returns true when the option is known (also for the default spellings such
 * as "Prune=true", which set no bit), false otherwise (bits unchanged). */
bool annot_sync_option_add(const char *opt, unsigned *bits);

/* Adds every option of a comma list / a JSON array of strings to *bits.
 * Unknown items are appended, as "item", to the NULL-able collector
 * (struct annot-style: *unknown grows by one per item, *n_unknown counts).
 * 0 or BERR_NOMEM (BERR_INVALID for an array item that is not a string). */
int annot_sync_options_csv(const char *csv, unsigned *bits, char ***unknown, size_t *n_unknown);
int annot_sync_options_array(const json_t *arr, unsigned *bits, char ***unknown, size_t *n_unknown);

/* Short names for single bits, for messages and JSON: "PreSync",
 * "HookSucceeded", ... NULL for values that are not a single known bit. */
const char *annot_hook_name(unsigned hook);
const char *annot_delete_policy_name(unsigned policy);

/* The tracking id of an object for an app: "<app>:<group>/<kind>:<namespace>/<name>"
 * (group "" for the core group, namespace "" for cluster-scoped objects).
 * Appends to out. 0 or BERR_TOOLARGE/BERR_NOMEM. */
int annot_tracking_id_build(struct buf *out, const char *app, const char *group, const char *kind,
			    const char *ns, const char *name);

/* The tracking id of obj (its apiVersion's group, kind, namespace and name)
 * for app, appended to out. 0, BERR_INVALID (obj has no kind or name),
 * BERR_TOOLARGE/BERR_NOMEM. */
int annot_tracking_id_of(struct buf *out, const char *app, const json_t *obj);

/* The parts of a tracking id; strings owned. */
struct annot_tracking {
	char *app, *group, *kind, *ns, *name;
};

/* Parses a tracking id. 0 with *out filled (release with
 * annot_tracking_release), BERR_INVALID naming the value when it is not of
 * the form above (app, kind and name must be non-empty). */
int annot_tracking_parse(const char *id, struct annot_tracking *out);
void annot_tracking_release(struct annot_tracking *t);

/* True when obj carries berth.dev/tracking-id and it is exactly the id
 * built for app and obj's own group, kind, namespace and name (so a copied
 * object, or one renamed or moved, does not match). */
bool annot_tracking_matches(const json_t *obj, const char *app);

/* The API group of obj's apiVersion ("" for "v1", "apps" for "apps/v1").
 * Writes into out[size] (truncating); returns out. */
const char *annot_api_group(const json_t *obj, char *out, size_t size);

#endif
