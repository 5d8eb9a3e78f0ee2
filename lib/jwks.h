/*
 * jwks — JSON Web Key Sets (RFC 7517) for verifying OIDC ID tokens.
 *
 * An identity provider publishes its signing keys as a JWKS document
 * ({"keys":[{kty, kid, alg, use, n, e | crv, x, y}, ...]}). libjwt verifies
 * signatures only with PEM keys, so each usable key is converted here, once,
 * to a PEM "PUBLIC KEY" with OpenSSL 3 (EVP_PKEY_fromdata). Each key is
 * pinned to the one algorithm its type allows: RSA keys to RS256, EC P-256
 * keys to ES256 (a JWK's own "alg", when present, must agree). Keys of
 * other types or curves, and keys with "use" other than "sig", are skipped.
 *
 * A jwks is immutable after jwks_parse and may be shared between threads.
 */
#ifndef BERTH_JWKS_H
#define BERTH_JWKS_H

#include <jansson.h>
#include <stddef.h>

/* Upper bounds on what jwks_parse accepts. */
#define JWKS_MAX_BYTES ((size_t)256 << 10)
#define JWKS_MAX_KEYS 64

enum jwks_alg {
	JWKS_ALG_RS256 = 1,
	JWKS_ALG_ES256 = 2,
};

struct jwks_key {
	char *kid;          /* may be NULL when the JWK has none */
	enum jwks_alg alg;
	char *pem;          /* "-----BEGIN PUBLIC KEY-----..." */
};

struct jwks {
	struct jwks_key *keys;
	size_t n;
};

/* Parses a JWKS document of len bytes. Unusable keys are skipped; a
 * document with no usable key is BERR_INVALID. *ret is newly allocated
 * (jwks_free it). 0, BERR_INVALID, BERR_TOOLARGE, BERR_NOMEM. */
int jwks_parse(const char *json, size_t len, struct jwks **ret);

/* Frees set and its keys; NULL is a no-op. */
void jwks_free(struct jwks *set);

/* Converts one JWK object to a PEM public key and its pinned algorithm.
 * *ret_pem is newly allocated. 0, BERR_UNSUPPORTED (key type, curve or use
 * Berth does not verify with), BERR_INVALID (malformed numbers), BERR_NOMEM. */
int jwks_key_to_pem(const json_t *jwk, char **ret_pem, enum jwks_alg *ret_alg);

/* The key with this kid; with kid NULL, the only key when the set holds
 * exactly one. Borrowed; NULL when there is none (the caller should refetch
 * the JWKS once: the provider may have rotated its keys). */
const struct jwks_key *jwks_find(const struct jwks *set, const char *kid);

/* "RS256" / "ES256". */
const char *jwks_alg_name(enum jwks_alg alg);

#endif
