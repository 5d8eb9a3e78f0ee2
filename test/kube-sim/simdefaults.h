/*
 * simdefaults — kube-sim's glue between the store's defaulting hook and
 * lib/kdefaults: allocates Service cluster IPs (10.96.0.0/16) and node ports
 * (30000-32767) without reuse (values count as taken once a Service holding
 * them is stored, so dry runs do not use up the ranges; simdefaults_seed
 * subscribes to the store for that), keeps allocated values across updates (a PUT
 * without clusterIP keeps the old one, as the API server does), and names
 * the default StorageClass "standard".
 *
 * Usage in main:
 *     struct simdefaults *d = simdefaults_new();
 *     store_set_defaults_hook(store, simdefaults_hook, d);
 *     ... after persistence loaded: simdefaults_seed(d, store);
 */
#ifndef KUBESIM_SIMDEFAULTS_H
#define KUBESIM_SIMDEFAULTS_H

#include <jansson.h>

struct ks_store;
struct ks_type;
struct simdefaults;

/* NULL on allocation failure. */
struct simdefaults *simdefaults_new(void);
void simdefaults_free(struct simdefaults *d);

/* Marks the cluster IPs and node ports of the Services already in s as
 * taken (call after loading persisted objects, before serving). */
void simdefaults_seed(struct simdefaults *d, struct ks_store *s);

/* The store's ks_defaults_fn (ctx = struct simdefaults *). */
int simdefaults_hook(void *ctx, const struct ks_type *t, json_t *obj, const json_t *old);

#endif
