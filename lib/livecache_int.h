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

/* What a record keeps of an object besides its identity. */
struct lc_rec_opts {
	const char *const *annotations;  /* names kept, NULL-terminated; may be NULL */
	bool full;                       /* keep the full object */
	const char *caller_key;          /* may be NULL */
};

/* Builds a record of obj (full object, borrowed) for the type
 * group/version/kind. NULL when out of memory or obj has no name. */
struct lc_rec *lc_rec_new(const json_t *obj, const char *group, const char *version, const char *kind,
			  const struct lc_rec_opts *o);

/* Estimated bytes of memory of a jansson value (for metrics). */
size_t lc_json_bytes(const json_t *v);

#endif
