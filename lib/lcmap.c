/*
 * lcmap — see lcmap.h. FNV-1a over the key strings (with a separator so
 * ("ab","c") and ("a","bc") differ), chains, doubling when the load passes
 * one entry per bucket.
 */
#include "lcmap.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

void lcmap_init(struct lcmap *m)
{
	memset(m, 0, sizeof(*m));
}

void lcmap_release(struct lcmap *m)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct lcmap_entry *e = m->buckets[i];
		while (e) {
			struct lcmap_entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(m->buckets);
	lcmap_init(m);
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	h ^= 0xff;
	h *= 1099511628211ULL;
	return h;
}

uint64_t lcmap_hash(const char *k1, const char *k2, const char *k3)
{
	return fnv(fnv(fnv(14695981039346656037ULL, k1), k2), k3);
}

static bool streq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool key_eq(const struct lcmap_entry *e, uint64_t h, const char *k1, const char *k2, const char *k3)
{
	return e->hash == h && streq(e->k1, k1) && streq(e->k2, k2) && streq(e->k3, k3);
}

static int grow(struct lcmap *m)
{
	size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
	struct lcmap_entry **b = calloc(nb, sizeof(*b));
	if (!b)
		return BERR_NOMEM;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct lcmap_entry *e = m->buckets[i];
		while (e) {
			struct lcmap_entry *next = e->next;
			size_t k = e->hash & (nb - 1);
			e->next = b[k];
			b[k] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
	return 0;
}

int lcmap_add(struct lcmap *m, const char *k1, const char *k2, const char *k3, void *val)
{
	if (m->n >= m->nbuckets && grow(m) < 0)
		return err_set(BERR_NOMEM, "index: out of memory");
	struct lcmap_entry *e = malloc(sizeof(*e));
	if (!e)
		return err_set(BERR_NOMEM, "index: out of memory");
	e->hash = lcmap_hash(k1, k2, k3);
	e->k1 = k1;
	e->k2 = k2;
	e->k3 = k3;
	e->val = val;
	size_t b = e->hash & (m->nbuckets - 1);
	e->next = m->buckets[b];
	m->buckets[b] = e;
	m->n++;
	return 0;
}

void *lcmap_get(const struct lcmap *m, const char *k1, const char *k2, const char *k3)
{
	if (!m->nbuckets)
		return NULL;
	uint64_t h = lcmap_hash(k1, k2, k3);
	for (struct lcmap_entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next)
		if (key_eq(e, h, k1, k2, k3))
			return e->val;
	return NULL;
}

void *lcmap_del(struct lcmap *m, const char *k1, const char *k2, const char *k3, const void *val)
{
	if (!m->nbuckets)
		return NULL;
	uint64_t h = lcmap_hash(k1, k2, k3);
	for (struct lcmap_entry **pp = &m->buckets[h & (m->nbuckets - 1)]; *pp; pp = &(*pp)->next) {
		struct lcmap_entry *e = *pp;
		if (key_eq(e, h, k1, k2, k3) && (!val || e->val == val)) {
			void *v = e->val;
			*pp = e->next;
			free(e);
			m->n--;
			return v;
		}
	}
	return NULL;
}

void lcmap_each_key(const struct lcmap *m, const char *k1, const char *k2, const char *k3,
		    bool (*fn)(void *val, void *ud), void *ud)
{
	if (!m->nbuckets)
		return;
	uint64_t h = lcmap_hash(k1, k2, k3);
	for (struct lcmap_entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->next)
		if (key_eq(e, h, k1, k2, k3) && !fn(e->val, ud))
			return;
}

void lcmap_each(const struct lcmap *m, bool (*fn)(void *val, void *ud), void *ud)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct lcmap_entry *e = m->buckets[i]; e; e = e->next)
			if (!fn(e->val, ud))
				return;
}
