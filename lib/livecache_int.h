/*
 * livecache_int — records (livecache_rec.c) as the cache (livecache.c)
 * builds them. Not part of the public API.
 */
#ifndef BERTH_LIVECACHE_INT_H
#define BERTH_LIVECACHE_INT_H

#include "livecache.h"

/* A record as allocated: the public part first, then the full JSON text
 * (or NULL) and the string arena the public strings point into. */
struct lc_rec {
	struct lc_record pub;
	char *full_json;
	size_t full_len;
	char arena[];
};

/* A table of shared "meta" objects: records whose meta is equal (same
 * labels, owners, status subset; common among the Pods of one ReplicaSet or
 * the objects of one app) share one jansson value instead of each holding a
 * copy. Entries no record uses any more are swept out as the table is used.
 * Thread-safe (own mutex). */
struct lc_intern;

/* A new empty table, or NULL when out of memory; free drops every entry
 * (NULL is a no-op). */
struct lc_intern *lc_intern_new(void);
void lc_intern_free(struct lc_intern *in);
/* Distinct meta values held. */
size_t lc_intern_size(struct lc_intern *in);

/* What a record keeps of an object besides its identity. */
struct lc_rec_opts {
	const char *const *annotations;  /* names kept, NULL-terminated; may be NULL */
	bool full;                       /* keep the full object */
	const char *caller_key;          /* may be NULL */
	struct lc_intern *intern;        /* may be NULL: no sharing */
};

/* Builds a record of obj (full object, borrowed) for the type
 * group/version/kind. NULL when out of memory or obj has no name. */
struct lc_rec *lc_rec_new(const json_t *obj, const char *group, const char *version, const char *kind,
			  const struct lc_rec_opts *o);

/* Estimated bytes of memory of a jansson value (for metrics). */
size_t lc_json_bytes(const json_t *v);

#endif
