/* Shard leader election through coordination.k8s.io/v1 Leases in the
 * control-plane namespace, one Lease per shard
 * ("berth-app-controller-shard-<N>"). A replica first waits until it holds
 * the Lease of its own shard (--shard), then renews it every third of its
 * duration. Another replica takes a Lease over only after renewTime +
 * leaseDurationSeconds has passed, so two replicas never work on the same
 * shard at once; a holder that could not renew for two thirds of the
 * duration counts the Lease as lost (leases_ok turns false and the daemon
 * exits rather than risk working beside the next holder).
 *
 * Take-over of other shards: a replica that holds its own shard also adopts
 * the Lease of any other shard whose holder has let it expire (a replica
 * that died), and works on that shard too until it exits. It never creates
 * another shard's Lease, so at start-up each replica keeps to its own shard;
 * a replica restarted after its shard was adopted waits as a standby. */
#ifndef BERTH_CTL_LEASE_H
#define BERTH_CTL_LEASE_H

#include <stdbool.h>
#include <stdint.h>

struct kube_client;
struct leases;

/* Blocks until this process holds the Lease of shard `shard` of `shards`
 * in ns (creating it when absent), then renews it, and adopts expired
 * Leases of the other shards, in a background thread. kc is borrowed and
 * must outlive the result. 0 with *ret (free with leases_free), or a BERR
 * code. */
int leases_start(struct kube_client *kc, const char *ns, int shard, int shards, int64_t duration_ms,
		 struct leases **ret);

/* True while this process holds the Lease of shard (its own or adopted). */
bool leases_owns(struct leases *l, int shard);

/* False once a held Lease could not be renewed in time. */
bool leases_ok(struct leases *l);

/* True once after each adoption of another shard (the caller then looks at
 * every app again); false otherwise. */
bool leases_take_gained(struct leases *l);

/* Stops renewing (the Leases then expire for the next holder). NULL is fine. */
void leases_free(struct leases *l);

#endif
