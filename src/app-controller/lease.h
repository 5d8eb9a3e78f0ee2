/* Leader election for one shard through a coordination.k8s.io/v1 Lease in
 * the control-plane namespace: a replica holds the Lease while it renews
 * it (every third of its duration); another takes it over only after
 * renewTime + leaseDurationSeconds has passed, so two replicas never work
 * on the same shard at once (the holder gives up — lease_held turns false —
 * when it could not renew for a whole duration). */
#ifndef BERTH_CTL_LEASE_H
#define BERTH_CTL_LEASE_H

#include <stdbool.h>
#include <stdint.h>

struct kube_client;
struct lease;

/* Blocks until this process holds Lease ns/name (creating it when absent),
 * then renews it in the background. 0 with *ret, or a BERR code. */
int lease_acquire(struct kube_client *kc, const char *ns, const char *name, int64_t duration_ms,
		  struct lease **ret);

/* True while the Lease is renewed in time. */
bool lease_held(struct lease *l);

/* Stops renewing (the Lease then expires for the next holder). NULL is fine. */
void lease_release(struct lease *l);

#endif
