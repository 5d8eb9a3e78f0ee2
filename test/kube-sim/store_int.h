/*
 * store_int — the store's internals shared by store.c (index, reads, watch),
 * write.c (create/update/patch/delete semantics), apply.c (server-side
 * apply) and the HTTP layer (pre-serialised reads). Not for controllers: they
 * use store.h.
 */
#ifndef KUBESIM_STORE_INT_H
#define KUBESIM_STORE_INT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"
#include "types.h"

/* An immutable stored object version. The object is kept once, as its
 * compact serialisation; view is a slim parsed copy (metadata name,
 * namespace, labels, deletionTimestamp and finalizers, and the few fields
 * field selectors read) for selectors and metadata checks. blob_full() parses the
 * whole object when a write or a subscriber needs it. */
struct ks_blob {
	atomic_int refs;
	json_t *view;      /* never modified once the blob exists */
	char *key;         /* "ns/name" or "name" (the etcd-like sort key) */
	char *json;        /* compact JSON of the object */
	size_t len;
	size_t item_off;   /* json + item_off is the body after kind/apiVersion (0: none) */
	uint64_t rv;
};

/* Serialises obj (borrowed; apiVersion and kind first) under key; refs = 1.
 * NULL on failure. */
struct ks_blob *blob_new(const json_t *obj, const char *key, uint64_t rv);
/* The whole object, parsed from the serialisation (new reference; NULL
 * only on allocation failure). */
json_t *blob_full(const struct ks_blob *b);
void blob_ref(struct ks_blob *b);
void blob_unref(struct ks_blob *b);

/* Changes made under the lock, reported to subscribers after it. */
struct note {
	const char *event;
	struct ks_tstate *ts;
	json_t *obj;       /* the full object as committed */
};
struct notes {
	struct note *items;
	size_t n;
};
void notes_init(struct notes *n);
/* Wakes watchers, calls subscribers, frees. Call without the store lock. */
void notes_flush(struct ks_store *s, struct notes *n);

struct ks_tstate *store_tstate(const struct ks_type *t);
struct ks_registry *store_registry(struct ks_store *s);
void store_wrlock(struct ks_store *s);
void store_unlock(struct ks_store *s);
uint64_t store_rv_locked(struct ks_store *s);
size_t store_ring_cap(struct ks_store *s);
/* Runs the defaults hook (0 when none). */
int store_defaults(struct ks_store *s, const struct ks_type *t, json_t *obj, const json_t *old);

/* "ns/name" or "name". */
void obj_key(const struct ks_type *t, const char *ns, const char *name, char *out, size_t size);
/* Borrowed blob under the lock, or NULL. */
struct ks_blob *store_lookup(struct ks_tstate *ts, const char *ns, const char *name);
/* A new reference to the current blob (takes the read lock), or NULL. */
struct ks_blob *store_get_blob(struct ks_store *s, const struct ks_type *t, const char *ns, const char *name);

/* Under the write lock: store a new version (obj stolen; *ret_full, when
 * not NULL, receives the stored object as a new reference) / remove. */
struct ks_blob *commit_put(struct ks_store *s, struct ks_tstate *ts, const char *key, json_t *obj, struct notes *n,
			   json_t **ret_full);
void commit_del(struct ks_store *s, struct ks_tstate *ts, const char *key, struct notes *n);

/* Serialises a list response straight from the stored blobs into out. */
int store_list_write(struct ks_store *s, const struct ks_type *t, const char *ns, const struct ks_list_opts *o,
		     struct buf *out);

/* Error helpers: set err record + Status details. */
void store_err_details(const char *name, const char *group, const char *kind, json_t *causes);
void store_err_retry_after(int secs);
int store_invalid(const struct ks_type *t, const char *name, const char *field, const char *reason_cause,
		  const char *detail);
int store_not_found(const struct ks_type *t, const char *name);
int store_conflict_modified(const struct ks_type *t, const char *name);
int store_bad_request(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The oldest RV watches and exact lists of t can still start from: older
 * ones are compacted (410). */
uint64_t store_type_horizon(struct ks_store *s, const struct ks_type *t);

/* Interval between watch bookmarks (ms), settable for tests. */
extern int64_t store_bookmark_interval_ms;

/* Server-side apply (apply.c): merges the applied configuration cfg of
 * manager into live (a copy the caller owns; NULL when creating), updating
 * managedFields; on conflict without force fails with 409 and causes. The
 * result replaces *obj. */
int apply_merge(const struct ks_type *t, json_t *live, const json_t *cfg, const char *manager, bool force,
		const char *subresource, json_t **ret);

/* managedFields bookkeeping for non-apply writes (apply.c): records that
 * manager (operation Update) set what differs between old (NULL on create)
 * and obj, taking those fields from other managers. obj edited in place. */
void managed_update(const struct ks_type *t, const json_t *old, json_t *obj, const char *manager,
		    const char *subresource);

#endif
