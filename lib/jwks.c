/* jwks — JSON Web Key Sets to PEM public keys with OpenSSL 3. */
#include "jwks.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "jsonx.h"

/* RSA moduli shorter than this are refused (NIST: 2048 minimum). */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BYTES 1024 /* 8192-bit modulus */

const char *jwks_alg_name(enum jwks_alg alg)
{
	return alg == JWKS_ALG_ES256 ? "ES256" : "RS256";
}

/* A base64url number from the JWK (n, e, x, y). */
static int jwk_bytes(const json_t *jwk, const char *key, size_t max, uint8_t **ret, size_t *ret_len)
{
	const char *s = jx_str(jwk, key);
	int rc;

	if (!s || !*s)
		return err_set(BERR_INVALID, "jwk: \"%s\" is missing", key);
	if ((rc = b64_decode(s, true, max, ret, ret_len)) < 0)
		return err_prefix(rc, "jwk: \"%s\"", key);
	return 0;
}

static int pkey_to_pem(EVP_PKEY *pkey, char **ret)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *copy;
	long n;

	if (!bio)
		return err_set(BERR_NOMEM, "out of memory");
	if (PEM_write_bio_PUBKEY(bio, pkey) != 1) {
		BIO_free(bio);
		return err_set(BERR_INTERNAL, "jwk: cannot write the key as PEM");
	}
	n = BIO_get_mem_data(bio, &data);
	copy = n > 0 ? strndup(data, (size_t)n) : NULL;
	BIO_free(bio);
	if (!copy)
		return err_set(BERR_NOMEM, "out of memory");
	*ret = copy;
	return 0;
}

/* Builds a public key of type name ("RSA", "EC") from params. For EC keys
 * the point is checked to lie on the curve. */
static int pkey_from_params(const char *name, OSSL_PARAM *params, EVP_PKEY **ret)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL), *check = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = 0;

	if (!ctx)
		return err_set(BERR_NOMEM, "out of memory");
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		rc = err_set(BERR_INVALID, "jwk: not a valid %s public key", name);
		goto out;
	}
	if (strcmp(name, "EC") == 0) {
		check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		if (!check || EVP_PKEY_public_check(check) != 1) {
			rc = err_set(BERR_INVALID, "jwk: EC point is not on the curve");
			goto out;
		}
	}
	*ret = pkey;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int rsa_to_pkey(const json_t *jwk, EVP_PKEY **ret)
{
	uint8_t *n = NULL, *e = NULL;
	size_t nlen = 0, elen = 0;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	int rc;

	if ((rc = jwk_bytes(jwk, "n", RSA_MAX_BYTES, &n, &nlen)) < 0 ||
	    (rc = jwk_bytes(jwk, "e", 8, &e, &elen)) < 0)
		goto out;
	bn_n = BN_bin2bn(n, (int)nlen, NULL);
	bn_e = BN_bin2bn(e, (int)elen, NULL);
	if (!bn_n || !bn_e) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	if (BN_num_bits(bn_n) < RSA_MIN_BITS) {
		rc = err_set(BERR_UNSUPPORTED, "jwk: RSA key of %d bits is shorter than %d",
			     BN_num_bits(bn_n), RSA_MIN_BITS);
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (!bld || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1 ||
	    !(params = OSSL_PARAM_BLD_to_param(bld))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	rc = pkey_from_params("RSA", params, ret);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
	return rc;
}

static int ec_to_pkey(const json_t *jwk, EVP_PKEY **ret)
{
	const char *crv = jx_str(jwk, "crv");
	uint8_t *x = NULL, *y = NULL, point[65];
	size_t xlen = 0, ylen = 0;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	int rc;

	if (!crv || strcmp(crv, "P-256") != 0)
		return err_set(BERR_UNSUPPORTED, "jwk: EC curve \"%s\" is not P-256", crv ? crv : "");
	if ((rc = jwk_bytes(jwk, "x", 32, &x, &xlen)) < 0 ||
	    (rc = jwk_bytes(jwk, "y", 32, &y, &ylen)) < 0)
		goto out;
	if (xlen != 32 || ylen != 32) {
		rc = err_set(BERR_INVALID, "jwk: P-256 coordinates must be 32 bytes");
		goto out;
	}
	point[0] = 0x04; /* uncompressed point */
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	bld = OSSL_PARAM_BLD_new();
	if (!bld ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) != 1 ||
	    !(params = OSSL_PARAM_BLD_to_param(bld))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	rc = pkey_from_params("EC", params, ret);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return rc;
}

int jwks_key_to_pem(const json_t *jwk, char **ret_pem, enum jwks_alg *ret_alg)
{
	const char *kty = jx_str(jwk, "kty"), *alg = jx_str(jwk, "alg"), *use = jx_str(jwk, "use");
	enum jwks_alg pinned;
	EVP_PKEY *pkey = NULL;
	int rc;

	if (!json_is_object(jwk) || !kty)
		return err_set(BERR_INVALID, "jwk: \"kty\" is missing");
	if (use && strcmp(use, "sig") != 0)
		return err_set(BERR_UNSUPPORTED, "jwk: use \"%s\" is not sig", use);
	if (strcmp(kty, "RSA") == 0)
		pinned = JWKS_ALG_RS256;
	else if (strcmp(kty, "EC") == 0)
		pinned = JWKS_ALG_ES256;
	else
		return err_set(BERR_UNSUPPORTED, "jwk: key type \"%s\" is not RSA or EC", kty);
	if (alg && strcmp(alg, jwks_alg_name(pinned)) != 0)
		return err_set(BERR_UNSUPPORTED, "jwk: alg \"%s\" is not %s", alg,
			       jwks_alg_name(pinned));
	rc = pinned == JWKS_ALG_RS256 ? rsa_to_pkey(jwk, &pkey) : ec_to_pkey(jwk, &pkey);
	if (rc < 0)
		return rc;
	rc = pkey_to_pem(pkey, ret_pem);
	EVP_PKEY_free(pkey);
	if (rc == 0)
		*ret_alg = pinned;
	return rc;
}

void jwks_free(struct jwks *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n; i++) {
		free(set->keys[i].kid);
		free(set->keys[i].pem);
	}
	free(set->keys);
	free(set);
}

int jwks_parse(const char *json, size_t len, struct jwks **ret)
{
	json_t *doc = NULL, *keys, *k;
	struct jwks *set = NULL;
	size_t i;
	int rc;

	if ((rc = jx_parse(json, len, JWKS_MAX_BYTES, 16, &doc)) < 0)
		return err_prefix(rc, "jwks");
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		rc = err_set(BERR_INVALID, "jwks: \"keys\" must be a list");
		goto out;
	}
	if (json_array_size(keys) > JWKS_MAX_KEYS) {
		rc = err_set(BERR_TOOLARGE, "jwks: more than %d keys", JWKS_MAX_KEYS);
		goto out;
	}
	set = calloc(1, sizeof(*set));
	if (!set || (json_array_size(keys) &&
		     !(set->keys = calloc(json_array_size(keys), sizeof(*set->keys))))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(keys, i, k) {
		struct jwks_key *dst = &set->keys[set->n];
		const char *kid = jx_str(k, "kid");
		rc = jwks_key_to_pem(k, &dst->pem, &dst->alg);
		if (rc == BERR_NOMEM)
			goto out;
		if (rc < 0)
			continue; /* skip keys Berth cannot or will not use */
		if (kid && !(dst->kid = strdup(kid))) {
			free(dst->pem);
			rc = err_set(BERR_NOMEM, "out of memory");
			goto out;
		}
		set->n++;
	}
	if (set->n == 0) {
		rc = err_set(BERR_INVALID, "jwks: no usable RSA or P-256 signing key");
		goto out;
	}
	*ret = set;
	set = NULL;
	rc = 0;
out:
	jwks_free(set);
	json_decref(doc);
	return rc;
}

const struct jwks_key *jwks_find(const struct jwks *set, const char *kid)
{
	size_t i;

	if (!set)
		return NULL;
	if (!kid)
		return set->n == 1 ? &set->keys[0] : NULL;
	for (i = 0; i < set->n; i++)
		if (set->keys[i].kid && strcmp(set->keys[i].kid, kid) == 0)
			return &set->keys[i];
	return NULL;
}
