/*
 * passwd — password hashes for local accounts: bcrypt ("$2b$") through
 * libcrypt, checked in constant time.
 *
 * Login code calls passwd_check with the stored hash, or NULL when the
 * account does not exist: the unknown account is then verified against a
 * dummy hash of the same cost, so both cases take the same time and give
 * the same answer (no user enumeration by timing or message).
 *
 * bcrypt reads at most 72 bytes of a password; longer passwords are refused
 * by passwd_hash rather than silently truncated (and never match).
 */
#ifndef BERTH_PASSWD_H
#define BERTH_PASSWD_H

#define PASSWD_DEFAULT_COST 10
#define PASSWD_MIN_COST 4
#define PASSWD_MAX_COST 15
#define PASSWD_MAX_LEN 72

/* Hashes password with a fresh random salt. cost 0 means
 * PASSWD_DEFAULT_COST. *ret_hash is newly allocated ("$2b$10$..."). 0,
 * BERR_INVALID (empty or over-long password, cost out of range),
 * BERR_INTERNAL (libcrypt or the OS RNG failed), BERR_NOMEM. */
int passwd_hash(const char *password, int cost, char **ret_hash);

/* Checks password against a bcrypt hash. 0 on a match, BERR_UNAUTHORIZED
 * on a mismatch, BERR_INVALID when hash is not a bcrypt hash. */
int passwd_verify(const char *password, const char *hash);

/* Login check: like passwd_verify, but hash NULL (no such account) or a
 * malformed hash costs a verification against a dummy cost-10 hash and
 * answers BERR_UNAUTHORIZED, the same as a wrong password. */
int passwd_check(const char *password, const char *hash);

#endif
