/*
 * kmap — a string-keyed hash map of pointers for kube-sim's object index
 * (one per resource type, keyed "namespace/name" or "name"). Chained buckets,
 * grows by doubling; the map owns copies of the keys, not the values.
 * Not thread-safe: the store's lock guards it.
 */
#ifndef KUBESIM_KMAP_H
#define KUBESIM_KMAP_H

#include <stddef.h>

struct kmap_entry {
	struct kmap_entry *next;
	size_t hash;
	void *value;
	char key[]; /* NUL-terminated copy */
};

struct kmap {
	struct kmap_entry **buckets;
	size_t nbuckets; /* power of two, or 0 before the first insert */
	size_t count;
};

/* Initialises an empty map (cannot fail) / frees the entries (not values). */
void kmap_init(struct kmap *m);
void kmap_release(struct kmap *m);

/* The value stored under key, or NULL. */
void *kmap_get(const struct kmap *m, const char *key);

/* Stores value under key, replacing (and returning through ret_old, may be
 * NULL) a previous value. 0 or BERR_NOMEM. */
int kmap_put(struct kmap *m, const char *key, void *value, void **ret_old);

/* Removes key and returns its value (NULL when absent). */
void *kmap_del(struct kmap *m, const char *key);

/* Iteration: for (e = kmap_first(m, &i); e; e = kmap_next(m, e, &i)). The map
 * must not change during iteration. */
struct kmap_entry *kmap_first(const struct kmap *m, size_t *iter);
struct kmap_entry *kmap_next(const struct kmap *m, struct kmap_entry *e, size_t *iter);

#endif
