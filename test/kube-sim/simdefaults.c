/* simdefaults — see simdefaults.h. */
#include "simdefaults.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "kdefaults.h"
#include "store.h"

#define IP_COUNT 65536          /* 10.96.0.0/16 */
#define IP_FIRST 10             /* .0.1 is the kubernetes Service, keep a few */
#define PORT_MIN 30000
#define PORT_MAX 32767

/* Allocations handed out but perhaps not stored yet (a create in flight, or
 * a dry run that never will be): not reused until RECENT more have been
 * made. Only stored Services (seen through store events) mark the bitmaps,
 * so dry runs do not leak addresses. */
#define RECENT 256

struct simdefaults {
	pthread_mutex_t mu;
	uint32_t recent_ip[RECENT];
	int recent_port[RECENT];
	size_t recent_ip_n, recent_port_n;
	uint8_t ip_used[IP_COUNT / 8];
	uint8_t port_used[(PORT_MAX - PORT_MIN + 1 + 7) / 8];
	uint32_t next_ip;
	int next_port;
	struct ks_store *store;
	int sub;
};

static bool bit_get(const uint8_t *bits, size_t i)
{
	return bits[i / 8] & (1u << (i % 8));
}

static void bit_put(uint8_t *bits, size_t i, bool on)
{
	if (on)
		bits[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		bits[i / 8] &= (uint8_t)~(1u << (i % 8));
}

struct simdefaults *simdefaults_new(void)
{
	struct simdefaults *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	pthread_mutex_init(&d->mu, NULL);
	d->next_ip = IP_FIRST;
	d->next_port = PORT_MIN;
	d->sub = -1;
	bit_put(d->ip_used, 0, true);
	bit_put(d->ip_used, 1, true);
	return d;
}

void simdefaults_free(struct simdefaults *d)
{
	if (!d)
		return;
	if (d->store && d->sub >= 0)
		store_unsubscribe(d->store, d->sub);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* Index of "10.96.X.Y" in the range, or -1. */
static long ip_index(const char *ip)
{
	unsigned a, b, x, y;
	char tail;
	if (!ip || sscanf(ip, "%u.%u.%u.%u%c", &a, &b, &x, &y, &tail) != 4 || a != 10 || b != 96 || x > 255 ||
	    y > 255)
		return -1;
	return (long)(x * 256 + y);
}

/* Marks (on) or frees (!on) the IP and node ports of a Service. Under mu. */
static void mark_service(struct simdefaults *d, const json_t *svc, bool on)
{
	long i = ip_index(jx_path_str(svc, "spec", "clusterIP", NULL));
	size_t k;
	json_t *p;

	if (i >= 0)
		bit_put(d->ip_used, (size_t)i, on);
	json_array_foreach(jx_path(svc, "spec", "ports", NULL), k, p) {
		json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
		if (np >= PORT_MIN && np <= PORT_MAX)
			bit_put(d->port_used, (size_t)(np - PORT_MIN), on);
	}
}

static bool is_service(const struct ks_type *t)
{
	return t && t->group[0] == '\0' && strcmp(t->kind, "Service") == 0;
}

/* Called under the store's read lock: no writer (and so no defaults hook,
 * which takes mu under the write lock) can be running, so taking mu here
 * cannot deadlock; holding mu around store_foreach could. */
static void seed_one(void *ctx, const struct ks_type *t, const json_t *obj)
{
	struct simdefaults *d = ctx;
	if (!is_service(t))
		return;
	pthread_mutex_lock(&d->mu);
	mark_service(d, obj, true);
	pthread_mutex_unlock(&d->mu);
}

static void on_change(void *ctx, const char *event, const struct ks_type *t, const json_t *obj)
{
	struct simdefaults *d = ctx;
	if (!is_service(t))
		return;
	pthread_mutex_lock(&d->mu);
	mark_service(d, obj, strcmp(event, "DELETED") != 0);
	pthread_mutex_unlock(&d->mu);
}

static bool recent_ip(const struct simdefaults *d, uint32_t i)
{
	for (size_t k = 0; k < RECENT && k < d->recent_ip_n; k++)
		if (d->recent_ip[k] == i)
			return true;
	return false;
}

static bool recent_port(const struct simdefaults *d, int p)
{
	for (size_t k = 0; k < RECENT && k < d->recent_port_n; k++)
		if (d->recent_port[k] == p)
			return true;
	return false;
}

void simdefaults_seed(struct simdefaults *d, struct ks_store *s)
{
	store_foreach(s, seed_one, d);
	if (!d->store) {
		d->store = s;
		d->sub = store_subscribe(s, on_change, d);
	}
}

/* Allocators for kdefaults; called with mu held. */
static int alloc_ip(void *ctx, char *out, size_t size)
{
	struct simdefaults *d = ctx;
	for (uint32_t n = 0; n < IP_COUNT; n++) {
		uint32_t i = d->next_ip;
		d->next_ip = d->next_ip + 1 >= IP_COUNT - 1 ? IP_FIRST : d->next_ip + 1;
		if (!bit_get(d->ip_used, i) && !recent_ip(d, i)) {
			d->recent_ip[d->recent_ip_n++ % RECENT] = i;
			snprintf(out, size, "10.96.%u.%u", i / 256, i % 256);
			return 0;
		}
	}
	err_set(BERR_UNAVAILABLE, "Internal error occurred: failed to allocate a serviceIP: range is full");
	err_set_status(500, "InternalError");
	return BERR_UNAVAILABLE;
}

static int alloc_port(void *ctx, int *out)
{
	struct simdefaults *d = ctx;
	for (int n = 0; n <= PORT_MAX - PORT_MIN; n++) {
		int p = d->next_port;
		d->next_port = p >= PORT_MAX ? PORT_MIN : p + 1;
		if (!bit_get(d->port_used, (size_t)(p - PORT_MIN)) && !recent_port(d, p)) {
			d->recent_port[d->recent_port_n++ % RECENT] = p;
			*out = p;
			return 0;
		}
	}
	err_set(BERR_UNAVAILABLE, "Internal error occurred: failed to allocate a nodePort: range is full");
	err_set_status(500, "InternalError");
	return BERR_UNAVAILABLE;
}

/* A PUT of a Service without its allocated values keeps them (the API
 * server's patchAllocatedValues). */
static void keep_allocated(json_t *obj, const json_t *old)
{
	json_t *spec = jx_obj_ensure(obj, "spec"), *ospec = jx_path(old, "spec", NULL);
	static const char *const keys[] = { "clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy" };
	const char *type = jx_path_str(obj, "spec", "type", NULL);
	size_t i, j;
	json_t *p, *op;

	if (!spec || !ospec || (type && strcmp(type, "ExternalName") == 0))
		return;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(spec, keys[i]);
		if ((!v || (json_is_string(v) && json_string_length(v) == 0)) && json_object_get(ospec, keys[i]))
			json_object_set_new(spec, keys[i], json_deep_copy(json_object_get(ospec, keys[i])));
	}
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		if (json_object_get(p, "nodePort"))
			continue;
		json_array_foreach(json_object_get(ospec, "ports"), j, op) {
			if (json_object_get(p, "port") && json_object_get(op, "port") &&
			    jx_equal(json_object_get(p, "port"), json_object_get(op, "port")) &&
			    json_object_get(op, "nodePort")) {
				json_object_set(p, "nodePort", json_object_get(op, "nodePort"));
				break;
			}
		}
	}
}

int simdefaults_hook(void *ctx, const struct ks_type *t, json_t *obj, const json_t *old)
{
	struct simdefaults *d = ctx;
	struct kdefaults_opts o = {
		.alloc_cluster_ip = alloc_ip,
		.alloc_node_port = alloc_port,
		.ctx = d,
		.default_storage_class = "standard",
		.create = old == NULL,
	};
	int rc;

	if (!json_object_get(obj, "apiVersion"))
		json_object_set_new(obj, "apiVersion", json_string(ks_type_api_version(t)));
	if (!json_object_get(obj, "kind"))
		json_object_set_new(obj, "kind", json_string(t->kind));
	if (t->custom)
		return 0;
	pthread_mutex_lock(&d->mu);
	if (old && is_service(t))
		keep_allocated(obj, old);
	rc = kdefaults_apply(obj, &o);
	pthread_mutex_unlock(&d->mu);
	return rc;
}
