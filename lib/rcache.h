/*
 * rcache — Berth's Redis client: a signed, compressed key/value cache with
 * TTLs, plus publish/subscribe, that degrades gracefully.
 *
 * Redis is a cache and an event bus, never the source of truth (DESIGN.md
 * §8), and it is shared with whatever else can reach it. So:
 * - every key is prefixed "berth:v1:";
 * - every value is stored in an envelope: magic "BC1", a flags byte, the
 *   original length, an HMAC-SHA256 over (key, flags, length, payload) keyed
 *   by the server secret, then the payload (zlib-compressed when that pays).
 *   rcache_get verifies the HMAC in constant time before anything else: a
 *   forged, corrupt, or moved-from-another-key entry reads as a miss (and
 *   counts in stats.rejected), so a poisoned cache is re-rendered, never
 *   served;
 * - when Redis is unreachable every call fails fast with BERR_UNAVAILABLE
 *   and the client retries the connection with exponential backoff (100 ms
 *   doubling to 5 s). The owner is told of each up/down transition once
 *   through on_state (the daemon logs it; this library does not).
 *
 * Thread-safe: a small pool of connections, each used by one thread at a
 * time. Commands time out after timeout_ms.
 */
#ifndef BERTH_RCACHE_H
#define BERTH_RCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define RCACHE_PREFIX "berth:v1:"

struct rcache_opts {
	const char *addr;          /* "host:port" */
	const char *password;      /* AUTH password, or NULL */
	const uint8_t *hmac_key;   /* signing key (>= 16 bytes) */
	size_t hmac_key_len;
	int64_t timeout_ms;        /* connect and command timeout; 0: 1000 */
	size_t pool_size;          /* connections; 0: 4 */
	/* Called on every transition between reachable and unreachable (msg
	 * says why; it never holds the password). May be NULL. */
	void (*on_state)(bool up, const char *msg, void *arg);
	void *state_arg;
};

struct rcache_stats {
	uint64_t hits, misses, rejected, errors, sets;
};

struct rcache;

/* Creates a client; does not connect yet (so it succeeds with Redis down).
 * Copies what it needs from opts. 0, BERR_INVALID (bad address or key),
 * BERR_NOMEM. */
int rcache_new(const struct rcache_opts *opts, struct rcache **ret);
void rcache_free(struct rcache *rc);

/* Reads key into out (appending; out's bound applies). 0 on a verified hit,
 * BERR_NOTFOUND on a miss or a rejected entry, BERR_UNAVAILABLE when Redis
 * is down, BERR_TOOLARGE when the value passes out's bound. */
int rcache_get(struct rcache *rc, const char *key, struct buf *out);

/* Reads and deletes key in one step (GETDEL, Redis >= 6.2): of several
 * clients taking the same key, one gets it. Returns as rcache_get. */
int rcache_take(struct rcache *rc, const char *key, struct buf *out);

/* Stores data under key for ttl_s seconds (0: no expiry), signed and, when
 * it pays, compressed. 0 or BERR_UNAVAILABLE/BERR_NOMEM. */
int rcache_set(struct rcache *rc, const char *key, const void *data, size_t len, int64_t ttl_s);

/* Deletes key. 0 (also when absent) or BERR_UNAVAILABLE. */
int rcache_del(struct rcache *rc, const char *key);

/* Publishes msg on channel (prefixed like keys). 0 or BERR_UNAVAILABLE. */
int rcache_publish(struct rcache *rc, const char *channel, const void *msg, size_t len);

/* Subscribes to channel on a connection of its own and calls cb for each
 * message until *stop becomes true (checked at least every 200 ms).
 * Reconnects with backoff while Redis is down. Returns 0 when stopped. */
typedef void (*rcache_message_fn)(const char *msg, size_t len, void *arg);
int rcache_subscribe(struct rcache *rc, const char *channel, rcache_message_fn cb, void *arg,
		     volatile bool *stop);

/* True unless the last attempt to reach Redis failed. */
bool rcache_up(struct rcache *rc);

void rcache_get_stats(struct rcache *rc, struct rcache_stats *out);

/* Stores a raw, unsigned value (tests use it to plant forgeries). */
int rcache_set_raw(struct rcache *rc, const char *key, const void *data, size_t len);

#endif
