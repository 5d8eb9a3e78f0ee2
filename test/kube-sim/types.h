/*
 * types — kube-sim's registry of resource types: the built-in table
 * (core, apps, batch, networking, rbac, policy, autoscaling, coordination,
 * storage, apiextensions, apiregistration) with their plural and singular
 * names, short names, categories, scope and subresources, and the custom
 * types that CRDs add at run time.
 *
 * The registry holds struct ks_tstate values (a ks_type plus the store's
 * per-type state); types are never freed before the registry, so borrowed
 * struct ks_type pointers stay valid. A read/write lock guards the list.
 */
#ifndef KUBESIM_TYPES_H
#define KUBESIM_TYPES_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kmap.h"
#include "store.h"

struct ks_blob;

/* One watch-history event. */
struct ks_event {
	uint64_t rv;
	const char *type;       /* static "ADDED" / "MODIFIED" / "DELETED" */
	struct ks_blob *obj;    /* the object after the change (last state for DELETED) */
	struct ks_blob *prev;   /* the object before (MODIFIED), or NULL */
};

struct ks_tstate {
	struct ks_type t;       /* first: a ks_type * is a ks_tstate * */
	char api_version[128];
	struct kmap objs;       /* "ns/name" or "name" -> struct ks_blob * */
	struct ks_event *ring;  /* watch history, ring of cap entries */
	size_t ring_cap, ring_start, ring_len;
	uint64_t horizon;       /* watches from an RV < horizon get 410 */
};

struct ks_registry {
	pthread_rwlock_t lock;
	struct ks_tstate **types;
	size_t n, cap;
	json_t *graveyard;      /* old CRD schemas kept alive for readers */
	char **old_strings;     /* replaced list kinds, likewise */
	size_t nold;
};

int registry_init(struct ks_registry *r, size_t ring_cap);
void registry_release(struct ks_registry *r);

/* Lookups (take the registry read lock). find_any ignores "served". */
struct ks_tstate *registry_find(struct ks_registry *r, const char *group, const char *resource, bool served_only);
struct ks_tstate *registry_by_kind(struct ks_registry *r, const char *api_version, const char *kind, bool served_only);

/* Registers or updates the custom type described by a CRD object (for its
 * storage version, or the first served one) and marks it served. Returns the
 * type through ret (may be NULL). 0, BERR_INVALID (bad CRD), BERR_NOMEM. */
int registry_add_crd(struct ks_registry *r, const json_t *crd, size_t ring_cap, struct ks_tstate **ret);

/* Validates a CRD body (names, group, scope, versions). 0 or BERR_INVALID
 * with a 422-style message naming the field. */
int registry_validate_crd(const json_t *crd);

/* Marks every type of the CRD named crd_name unserved. */
void registry_unserve_crd(struct ks_registry *r, const char *crd_name);

#endif
