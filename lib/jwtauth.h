/*
 * jwtauth — Berth's session tokens and OIDC ID token verification (JWT,
 * RFC 7519), on libjwt and OpenSSL.
 *
 * Session tokens are HS256 JWTs Berth issues itself (key: server.secretkey)
 * with claims iss "berth", sub, iat, exp (24 h by default), jti (16 random
 * bytes from the OS, hex) and optional aud and extra claims. Project role
 * tokens use the subject "proj:<project>:<role>" and may live without exp;
 * their jti is listed in the project's role (model.h) so the caller can
 * revoke them, as it revokes session tokens by jti.
 *
 * Verification is ordered so that nothing from a token is trusted before
 * it has to be (SECURITY.md "JWT forgery"):
 *  1. the token's shape and size are checked;
 *  2. the header's "alg" is compared with the ONE algorithm allowed for the
 *     key — HS256 for sessions; RS256 or ES256 as the JWKS key dictates for
 *     OIDC — so "none", and HS256 signed with a public key used as an HMAC
 *     secret, are refused before any signature check; a "crit" header is
 *     refused;
 *  3. libjwt checks the signature with that key;
 *  4. iss, aud, exp, nbf and iat are checked (JWTAUTH_LEEWAY_S of clock
 *     skew allowed);
 * and only then are claims returned. Every refusal is BERR_UNAUTHORIZED
 * with a message naming the reason, except an OIDC token whose "kid" the
 * key set does not know: BERR_NOTFOUND, so the caller refetches the JWKS
 * once and retries.
 */
#ifndef BERTH_JWTAUTH_H
#define BERTH_JWTAUTH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "jwks.h"

#define JWTAUTH_ISSUER "berth"
#define JWTAUTH_DEFAULT_TTL_S (24 * 3600)
#define JWTAUTH_LEEWAY_S 30
#define JWTAUTH_MAX_TOKEN 16384
/* HS256 keys shorter than this are refused (RFC 7518 §3.2). */
#define JWTAUTH_MIN_KEY 32

struct jwtauth_claims {
	char *iss;
	char *sub;
	char *jti;          /* NULL when absent (OIDC tokens need not have one) */
	int64_t iat;        /* 0 when absent */
	int64_t nbf;
	int64_t exp;        /* 0: no expiry (project tokens only) */
	json_t *all;        /* every claim of the token (owned reference) */
};

/* Frees the strings and the claims object c owns and zeroes c. */
void jwtauth_claims_release(struct jwtauth_claims *c);

struct jwtauth_issue {
	const char *subject;        /* required */
	const char *audience;       /* optional aud claim */
	int64_t ttl_s;              /* 0: JWTAUTH_DEFAULT_TTL_S; < 0: no exp (only for proj: subjects) */
	const char *jti;            /* optional id; else 16 random bytes in hex */
	const json_t *extra;        /* optional object of more claims (groups, ...);
				     * registered names (iss sub aud exp nbf iat jti) are refused */
};

/* Issues an HS256 token signed with key (at least JWTAUTH_MIN_KEY bytes) at
 * time now (Unix seconds). *ret_token is newly allocated (free()).
 * ret_claims, when not NULL, receives the claims issued. 0, BERR_INVALID,
 * BERR_NOMEM, BERR_INTERNAL (libjwt or the OS RNG failed). */
int jwtauth_issue_hs256(const uint8_t *key, size_t key_len, const struct jwtauth_issue *req,
			int64_t now, char **ret_token, struct jwtauth_claims *ret_claims);

/* Verifies a Berth session or project token. audience: the aud the token
 * must carry, or NULL when tokens must carry none. A token without exp is
 * accepted only for a "proj:" subject. 0 with *out filled, else
 * BERR_UNAUTHORIZED (out untouched). */
int jwtauth_verify_hs256(const uint8_t *key, size_t key_len, const char *token,
			 const char *audience, int64_t now, struct jwtauth_claims *out);

/* Verifies an OIDC ID token against keys: the key is chosen by the header's
 * kid, its algorithm is pinned by the key, iss must equal issuer, aud must
 * be (or contain) audience (the client ID; required), exp is required, and
 * when nonce is not NULL the token's nonce claim must equal it (compared in
 * constant time; the login callback passes the nonce it sent).
 * 0, BERR_NOTFOUND (unknown kid), BERR_UNAUTHORIZED, BERR_INVALID (issuer or
 * audience not given). */
int jwtauth_verify_oidc(const struct jwks *keys, const char *token, const char *issuer,
			const char *audience, const char *nonce, int64_t now,
			struct jwtauth_claims *out);

/* "proj:<project>:<role>" for a project role token; *ret newly allocated.
 * parse splits one (BERR_INVALID when sub is not of that form). */
int jwtauth_project_subject(const char *project, const char *role, char **ret);
int jwtauth_parse_project_subject(const char *sub, char **ret_project, char **ret_role);

/* 16 bytes from the OS RNG as 32 hex characters + NUL. 0 or BERR_INTERNAL. */
int jwtauth_random_id(char out[33]);

#endif
