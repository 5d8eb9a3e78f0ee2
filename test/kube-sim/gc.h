/*
 * gc — kube-sim's garbage collector for ownerReferences (KUBE-API.md §5.6).
 *
 * - Background: when an owner is gone (deleted, or no object with that uid),
 *   its dependents are deleted (Background again).
 * - Foreground: an owner with deletionTimestamp and the finalizer
 *   "foregroundDeletion" has its dependents deleted in foreground; once no
 *   dependent with blockOwnerDeletion=true remains, the finalizer is removed
 *   (and the store removes the owner).
 * - Orphan: an owner with deletionTimestamp and the finalizer "orphan" has
 *   its dependents' ownerReferences to it removed, then the finalizer.
 * Dependents with several owners are deleted only when all owners are gone
 * (references to missing owners are dropped otherwise).
 *
 * Dependents whose owner reference cannot be resolved (a kind nobody serves,
 * a namespaced owner of a cluster-scoped object) are left alone, as the real
 * collector does.
 *
 * Runs on its own worker thread, fed by store change events, after a full
 * scan at start (call it after persistence has loaded).
 */
#ifndef KUBESIM_GC_H
#define KUBESIM_GC_H

struct ks_store;
struct gc;

/* Starts the collector on s. 0 or a BERR. */
int gc_start(struct ks_store *s, struct gc **ret);

/* Stops and frees. NULL is fine. */
void gc_stop(struct gc *g);

#endif
