/*
 * throttle — login brute-force protection: after max_failures failed logins
 * for one account within window_ms, the account is locked for window_ms,
 * and a login is refused while locked even with the right password.
 *
 * The failure table has a fixed capacity (memory is bounded whatever an
 * attacker sends). Flooding it with other usernames must neither evict an
 * account that is failing or locked (that would reset its counter) nor let
 * an untracked account be guessed without limit. So:
 *  - an entry is only ever reused after its window has passed and it is not
 *    locked (a stale entry); entries are never evicted early;
 *  - when no entry is free, failures of untracked accounts are counted in
 *    one shared overflow entry with the same limit; once it is locked, every
 *    untracked account is refused until it unlocks (fail closed). A flood
 *    can thus delay logins of accounts that have no entry, for one window,
 *    but can never unlock or reset an account, nor buy unlimited guesses.
 * Accounts are keyed by a SHA-256 of the username, so any length works and
 * no username is kept in memory. Callers pass the canonical account name
 * (the string the account is looked up by), so spelling variants of one
 * account cannot get separate counters.
 *
 * Usage per login attempt:
 *     if (throttle_check(t, user, now) < 0) -> refuse (same message as a bad password)
 *     if (password ok) throttle_success(t, user, now) else throttle_failure(t, user, now)
 *
 * All functions are thread-safe (one mutex).
 */
#ifndef BERTH_THROTTLE_H
#define BERTH_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define THROTTLE_DEFAULT_CAPACITY 4096
#define THROTTLE_DEFAULT_FAILURES 5
#define THROTTLE_DEFAULT_WINDOW_MS (5 * 60 * 1000)

struct throttle;

/* A table for capacity accounts (0: THROTTLE_DEFAULT_CAPACITY), locking after
 * max_failures (0: 5) failures within window_ms (0: 5 min). NULL when out of
 * memory. */
struct throttle *throttle_new(size_t capacity, unsigned max_failures, int64_t window_ms);
void throttle_free(struct throttle *t);

/* 0 when user may try to log in at now_ms; BERR_FORBIDDEN when the account
 * (or, for an untracked account while the table is full, the overflow entry)
 * is locked. ret_retry_ms, when not NULL, receives the time left. */
int throttle_check(struct throttle *t, const char *user, int64_t now_ms, int64_t *ret_retry_ms);

/* Records a failed login. */
void throttle_failure(struct throttle *t, const char *user, int64_t now_ms);

/* Records a successful login: forgets the account's failures (a locked
 * account stays locked: callers check first). */
void throttle_success(struct throttle *t, const char *user, int64_t now_ms);

/* Entries in use (failing or locked) at now_ms; for tests and metrics. */
size_t throttle_tracked(struct throttle *t, int64_t now_ms);

#endif
