/*
 * lcmap — the chained hash multimap under livecache's indexes: keys are
 * up to three strings (type, namespace, name; or an owner uid; or a caller
 * key), values are pointers, and one key may map to several values (the
 * owner and caller-key indexes). The map does not own keys or values: a
 * key's strings must live as long as its entry (livecache points them into
 * the record the entry holds). Not thread-safe; livecache locks around it.
 */
#ifndef BERTH_LCMAP_H
#define BERTH_LCMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lcmap_entry {
	struct lcmap_entry *next;
	uint64_t hash;
	const char *k1, *k2, *k3;
	void *val;
};

struct lcmap {
	struct lcmap_entry **buckets;
	size_t nbuckets;             /* a power of two, or 0 */
	size_t n;
};

/* An empty map (no allocation). */
void lcmap_init(struct lcmap *m);

/* Frees the entries (not keys or values). */
void lcmap_release(struct lcmap *m);

/* The hash of a key; k2 and k3 may be NULL (same as ""). */
uint64_t lcmap_hash(const char *k1, const char *k2, const char *k3);

/* Adds (key, val), allowing duplicates of key. 0 or BERR_NOMEM. */
int lcmap_add(struct lcmap *m, const char *k1, const char *k2, const char *k3, void *val);

/* The first value under key, or NULL. */
void *lcmap_get(const struct lcmap *m, const char *k1, const char *k2, const char *k3);

/* Removes the entry (key, val) (val NULL: the first under key). Returns the
 * removed value or NULL. */
void *lcmap_del(struct lcmap *m, const char *k1, const char *k2, const char *k3, const void *val);

/* Calls fn for every value under key (fn returns false to stop). */
void lcmap_each_key(const struct lcmap *m, const char *k1, const char *k2, const char *k3,
		    bool (*fn)(void *val, void *ud), void *ud);

/* Calls fn for every entry. */
void lcmap_each(const struct lcmap *m, bool (*fn)(void *val, void *ud), void *ud);

#endif
