/* kmap — see kmap.h. FNV-1a hashing, chained buckets, load factor <= 1. */
#include "kmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static size_t kmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

void kmap_init(struct kmap *m)
{
	m->buckets = NULL;
	m->nbuckets = 0;
	m->count = 0;
}

void kmap_release(struct kmap *m)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct kmap_entry *e = m->buckets[i];
		while (e) {
			struct kmap_entry *n = e->next;
			free(e);
			e = n;
		}
	}
	free(m->buckets);
	kmap_init(m);
}

void *kmap_get(const struct kmap *m, const char *key)
{
	if (!m->nbuckets)
		return NULL;
	size_t h = kmap_hash(key);
	for (struct kmap_entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e->value;
	return NULL;
}

static int kmap_grow(struct kmap *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 64;
	struct kmap_entry **b = calloc(n, sizeof(*b));
	if (!b)
		return BERR_NOMEM;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct kmap_entry *e = m->buckets[i];
		while (e) {
			struct kmap_entry *next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
	return 0;
}

int kmap_put(struct kmap *m, const char *key, void *value, void **ret_old)
{
	size_t h = kmap_hash(key);
	if (ret_old)
		*ret_old = NULL;
	if (m->nbuckets) {
		for (struct kmap_entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next) {
			if (e->hash == h && strcmp(e->key, key) == 0) {
				if (ret_old)
					*ret_old = e->value;
				e->value = value;
				return 0;
			}
		}
	}
	if (m->count >= m->nbuckets && kmap_grow(m) < 0)
		return BERR_NOMEM;
	size_t len = strlen(key);
	struct kmap_entry *e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return BERR_NOMEM;
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->value = value;
	e->next = m->buckets[h & (m->nbuckets - 1)];
	m->buckets[h & (m->nbuckets - 1)] = e;
	m->count++;
	return 0;
}

void *kmap_del(struct kmap *m, const char *key)
{
	if (!m->nbuckets)
		return NULL;
	size_t h = kmap_hash(key);
	struct kmap_entry **pp = &m->buckets[h & (m->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->next) {
		struct kmap_entry *e = *pp;
		if (e->hash == h && strcmp(e->key, key) == 0) {
			void *v = e->value;
			*pp = e->next;
			free(e);
			m->count--;
			return v;
		}
	}
	return NULL;
}

struct kmap_entry *kmap_first(const struct kmap *m, size_t *iter)
{
	*iter = 0;
	for (size_t i = 0; i < m->nbuckets; i++) {
		if (m->buckets[i]) {
			*iter = i;
			return m->buckets[i];
		}
	}
	return NULL;
}

struct kmap_entry *kmap_next(const struct kmap *m, struct kmap_entry *e, size_t *iter)
{
	if (e->next)
		return e->next;
	for (size_t i = *iter + 1; i < m->nbuckets; i++) {
		if (m->buckets[i]) {
			*iter = i;
			return m->buckets[i];
		}
	}
	return NULL;
}
