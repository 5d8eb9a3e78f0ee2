/* Unit tests for session tokens, OIDC ID token verification and JWKS
 * (lib/jwtauth.h, lib/jwks.h): the SECURITY.md JWT forgery set and the
 * ordinary paths. Keys are generated once per run with OpenSSL. */
#include <check.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "buf.h"
#include "err.h"
#include "jsonx.h"
#include "jwks.h"
#include "jwtauth.h"
#include "str.h"

static const uint8_t session_key[] = "0123456789abcdef0123456789abcdef-berth-test-key";
#define SKEY session_key, sizeof(session_key) - 1
#define ISSUER "https://idp.example"
#define CLIENT "berth"

static int64_t now;
static EVP_PKEY *rsa, *ec;
static char *rsa_priv_pem, *rsa_pub_pem, *ec_priv_pem;
static char *jwks_doc;
static struct jwks *keys;

static char *pem_of(EVP_PKEY *k, bool priv)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	char *out;

	if (priv)
		PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
	else
		PEM_write_bio_PUBKEY(bio, k);
	n = BIO_get_mem_data(bio, &data);
	out = strndup(data, (size_t)n);
	BIO_free(bio);
	return out;
}

static char *bn_param_b64(EVP_PKEY *k, const char *param, int pad)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	int n;
	char *out;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(k, param, &bn), 1);
	n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	out = b64_encode(buf, (size_t)n, true);
	BN_free(bn);
	return out;
}

static void make_keys(void)
{
	char *n, *e, *x, *y;

	now = (int64_t)time(NULL);
	rsa = EVP_RSA_gen(2048);
	ec = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(rsa);
	ck_assert_ptr_nonnull(ec);
	rsa_priv_pem = pem_of(rsa, true);
	rsa_pub_pem = pem_of(rsa, false);
	ec_priv_pem = pem_of(ec, true);
	n = bn_param_b64(rsa, OSSL_PKEY_PARAM_RSA_N, 0);
	e = bn_param_b64(rsa, OSSL_PKEY_PARAM_RSA_E, 0);
	x = bn_param_b64(ec, OSSL_PKEY_PARAM_EC_PUB_X, 32);
	y = bn_param_b64(ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
	jwks_doc = str_printf(
		"{\"keys\":["
		"{\"kty\":\"oct\",\"kid\":\"sym\",\"k\":\"c2VjcmV0\"},"
		"{\"kty\":\"EC\",\"kid\":\"p384\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"},"
		"{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"%s\",\"e\":\"%s\"},"
		"{\"kty\":\"RSA\",\"kid\":\"rsa-1\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"%s\",\"e\":\"%s\"},"
		"{\"kty\":\"EC\",\"kid\":\"ec-1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
		n, e, n, e, x, y);
	ck_assert_int_eq(jwks_parse(jwks_doc, strlen(jwks_doc), &keys), 0);
	free(n);
	free(e);
	free(x);
	free(y);
}

static void free_keys(void)
{
	jwks_free(keys);
	free(jwks_doc);
	free(rsa_priv_pem);
	free(rsa_pub_pem);
	free(ec_priv_pem);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

/* A token signed by libjwt with any algorithm and key, any claims: the
 * attacker's tool. */
static char *forge(jwt_alg_t alg, const void *key, size_t key_len, const char *kid,
		   const char *claims_json)
{
	jwt_t *jwt = NULL;
	char *tok, *hdr;

	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_set_alg(jwt, alg, key, (int)key_len), 0);
	if (kid) {
		hdr = str_printf("{\"kid\":\"%s\"}", kid);
		ck_assert_int_eq(jwt_add_headers_json(jwt, hdr), 0);
		free(hdr);
	}
	ck_assert_int_eq(jwt_add_grants_json(jwt, claims_json), 0);
	tok = jwt_encode_str(jwt);
	ck_assert_ptr_nonnull(tok);
	jwt_free(jwt);
	return tok;
}

static char *oidc_claims(const char *iss, const char *aud, int64_t exp)
{
	return str_printf("{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u-42\",\"iat\":%lld,"
			  "\"exp\":%lld,\"email\":\"a@example.com\",\"groups\":[\"dev\",\"ops\"]}",
			  iss, aud, (long long)now, (long long)exp);
}

static char *berth_claims(const char *iss, int64_t nbf, int64_t exp)
{
	return str_printf("{\"iss\":\"%s\",\"sub\":\"alice\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,"
			  "\"jti\":\"j1\"}",
			  iss, (long long)now, (long long)nbf, (long long)exp);
}

/* ES256 signed with OpenSSL directly in the JWS format (R || S, 64 bytes),
 * as an identity provider does it — independent of libjwt's signing. */
static char *es256_sign_raw(const char *kid, const char *claims_json)
{
	char *hdr = str_printf("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	char *h64 = b64_encode(hdr, strlen(hdr), true);
	char *p64 = b64_encode(claims_json, strlen(claims_json), true);
	char *input = str_printf("%s.%s", h64, p64), *s64, *tok;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[128], raw[64];
	const uint8_t *dp = der;
	size_t derlen = sizeof(der);
	ECDSA_SIG *sig;
	const BIGNUM *r, *s;

	ck_assert_int_eq(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ec), 1);
	ck_assert_int_eq(EVP_DigestSign(md, der, &derlen, (const uint8_t *)input, strlen(input)), 1);
	sig = d2i_ECDSA_SIG(NULL, &dp, (long)derlen);
	ck_assert_ptr_nonnull(sig);
	ECDSA_SIG_get0(sig, &r, &s);
	BN_bn2binpad(r, raw, 32);
	BN_bn2binpad(s, raw + 32, 32);
	s64 = b64_encode(raw, 64, true);
	tok = str_printf("%s.%s", input, s64);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	free(hdr);
	free(h64);
	free(p64);
	free(input);
	free(s64);
	return tok;
}

static void expect_unauthorized(int rc, const char *why)
{
	ck_assert_int_eq(rc, BERR_UNAUTHORIZED);
	ck_assert_msg(strstr(err_msg(), why) != NULL, "message \"%s\" lacks \"%s\"", err_msg(), why);
}

/* ---- sessions --------------------------------------------------------------- */

START_TEST(session_token_round_trips_with_default_claims)
{
	struct jwtauth_issue req = { .subject = "alice" };
	struct jwtauth_claims issued, got;
	char *tok = NULL;
	size_t i;

	ck_assert_int_eq(jwtauth_issue_hs256(SKEY, &req, now, &tok, &issued), 0);
	ck_assert_int_eq(jwtauth_verify_hs256(SKEY, tok, NULL, now + 10, &got), 0);
	ck_assert_str_eq(got.iss, "berth");
	ck_assert_str_eq(got.sub, "alice");
	ck_assert_int_eq(got.iat, now);
	ck_assert_int_eq(got.exp, now + 24 * 3600);
	ck_assert_str_eq(got.jti, issued.jti);
	ck_assert_uint_eq(strlen(got.jti), 32);
	for (i = 0; i < 32; i++)
		ck_assert(strchr("0123456789abcdef", got.jti[i]) != NULL);
	jwtauth_claims_release(&issued);
	jwtauth_claims_release(&got);
	free(tok);
}
END_TEST

START_TEST(session_tokens_get_distinct_ids)
{
	struct jwtauth_issue req = { .subject = "alice" };
	struct jwtauth_claims a, b;
	char *t1 = NULL, *t2 = NULL;

	ck_assert_int_eq(jwtauth_issue_hs256(SKEY, &req, now, &t1, &a), 0);
	ck_assert_int_eq(jwtauth_issue_hs256(SKEY, &req, now, &t2, &b), 0);
	ck_assert_str_ne(a.jti, b.jti);
	ck_assert_str_ne(t1, t2);
	jwtauth_claims_release(&a);
	jwtauth_claims_release(&b);
	free(t1);
	free(t2);
}
END_TEST

START_TEST(session_extra_claims_are_carried_but_cannot_override)
{
	json_t *extra = json_pack("{s:[s,s]}", "groups", "dev", "ops");
	json_t *bad = json_pack("{s:s}", "iss", "evil");
	struct jwtauth_issue req = { .subject = "bob", .extra = extra };
	struct jwtauth_claims got;
	char *tok = NULL;

	ck_assert_int_eq(jwtauth_issue_hs256(SKEY, &req, now, &tok, NULL), 0);
	ck_assert_int_eq(jwtauth_verify_hs256(SKEY, tok, NULL, now, &got), 0);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(got.all, "groups"), 1)), "ops");
	req.extra = bad;
	free(tok);
	tok = NULL;
	ck_assert_int_eq(jwtauth_issue_hs256(SKEY, &req, now, &tok, NULL), BERR_INVALID);
	ck_assert_ptr_null(tok);
	jwtauth_claims_release(&got);
	json_decref(extra);
	json_decref(bad);
}
END_TEST

START_TEST(session_key_must_be_long_enough)
{
	struct jwtauth_issue req = { .subject = "alice" };
	struct jwtauth_claims got;
	char *tok = NULL;

	ck_assert_int_eq(jwtauth_issue_hs256((const uint8_t *)"short", 5, &req, now, &tok, NULL),
			 BERR_INVALID);
	ck_assert_int_eq(jwtauth_issue_hs256(SKEY, &req, now, &tok, NULL), 0);
	ck_assert_int_eq(jwtauth_verify_hs256((const uint8_t *)"short", 5, tok, NULL, now, &got),
			 BERR_UNAUTHORIZED);
	free(tok);
}
END_TEST

START_TEST(session_rejects_alg_none)
{
	char *claims = berth_claims("berth", now, now + 600);
	char *tok = forge(JWT_ALG_NONE, NULL, 0, NULL, claims);
	/* The same, with a signature part present so the shape check passes. */
	char *tok2 = str_printf("%sAAAA", tok);
	struct jwtauth_claims got;

	expect_unauthorized(jwtauth_verify_hs256(SKEY, tok, NULL, now, &got), "");
	expect_unauthorized(jwtauth_verify_hs256(SKEY, tok2, NULL, now, &got), "alg \"none\"");
	free(tok);
	free(tok2);
	free(claims);
}
END_TEST

START_TEST(session_rejects_rs256_where_hs256_is_pinned)
{
	char *claims = berth_claims("berth", now, now + 600);
	char *tok = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), NULL, claims);
	struct jwtauth_claims got;

	expect_unauthorized(jwtauth_verify_hs256(SKEY, tok, NULL, now, &got),
			    "alg \"RS256\" where HS256 is required");
	free(tok);
	free(claims);
}
END_TEST

START_TEST(session_rejects_wrong_key_and_tampering)
{
	static const uint8_t other[] = "another-key-another-key-another-key!!";
	char *claims = berth_claims("berth", now, now + 600);
	char *tok = forge(JWT_ALG_HS256, other, sizeof(other) - 1, NULL, claims);
	char *good = forge(JWT_ALG_HS256, SKEY, NULL, claims);
	char *dot = strchr(good, '.');
	struct jwtauth_claims got;

	expect_unauthorized(jwtauth_verify_hs256(SKEY, tok, NULL, now, &got), "bad signature");
	ck_assert_int_eq(jwtauth_verify_hs256(SKEY, good, NULL, now, &got), 0);
	jwtauth_claims_release(&got);
	dot[3] = dot[3] == 'A' ? 'B' : 'A'; /* flip a payload character */
	ck_assert_int_eq(jwtauth_verify_hs256(SKEY, good, NULL, now, &got), BERR_UNAUTHORIZED);
	free(tok);
	free(good);
	free(claims);
}
END_TEST

START_TEST(session_rejects_wrong_issuer)
{
	char *claims = berth_claims("not-berth", now, now + 600);
	char *tok = forge(JWT_ALG_HS256, SKEY, NULL, claims);
	struct jwtauth_claims got;

	expect_unauthorized(jwtauth_verify_hs256(SKEY, tok, NULL, now, &got),
			    "issuer \"not-berth\" is not \"berth\"");
	free(tok);
	free(claims);
}
END_TEST

START_TEST(session_checks_audience_when_configured)
{
	struct jwtauth_issue req = { .subject = "alice", .audience = "other-service" };
	struct jwtauth_claims got;
	char *tok = NULL;

	ck_assert_int_eq(jwtauth_issue_hs256(SKEY, &req, now, &tok, NULL), 0);
	expect_unauthorized(jwtauth_verify_hs256(SKEY, tok, "berth-api", now, &got),
			    "audience is not \"berth-api\"");
	expect_unauthorized(jwtauth_verify_hs256(SKEY, tok, NULL, now, &got), "unexpected audience");
	ck_assert_int_eq(jwtauth_verify_hs256(SKEY, tok, "other-service", now, &got), 0);
	jwtauth_claims_release(&got);
	free(tok);
}
END_TEST

START_TEST(session_rejects_expired_tokens_after_leeway)
{
	struct jwtauth_issue req = { .subject = "alice", .ttl_s = 60 };
	struct jwtauth_claims got;
	char *tok = NULL;

	ck_assert_int_eq(jwtauth_issue_hs256(SKEY, &req, now, &tok, NULL), 0);
	ck_assert_int_eq(jwtauth_verify_hs256(SKEY, tok, NULL, now + 60 + JWTAUTH_LEEWAY_S, &got), 0);
	jwtauth_claims_release(&got);
	expect_unauthorized(jwtauth_verify_hs256(SKEY, tok, NULL, now + 61 + JWTAUTH_LEEWAY_S, &got),
			    "expired");
	free(tok);
}
END_TEST

START_TEST(session_rejects_future_nbf)
{
	char *claims = berth_claims("berth", now + 3600, now + 7200);
	char *tok = forge(JWT_ALG_HS256, SKEY, NULL, claims);
	struct jwtauth_claims got;

	expect_unauthorized(jwtauth_verify_hs256(SKEY, tok, NULL, now, &got), "not valid yet");
	ck_assert_int_eq(jwtauth_verify_hs256(SKEY, tok, NULL, now + 3600, &got), 0);
	jwtauth_claims_release(&got);
	free(tok);
	free(claims);
}
END_TEST

START_TEST(session_rejects_critical_headers)
{
	jwt_t *jwt = NULL;
	char *tok, *claims = berth_claims("berth", now, now + 600);
	struct jwtauth_claims got;

	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_set_alg(jwt, JWT_ALG_HS256, SKEY), 0);
	ck_assert_int_eq(jwt_add_headers_json(jwt, "{\"crit\":[\"exp\"]}"), 0);
	ck_assert_int_eq(jwt_add_grants_json(jwt, claims), 0);
	tok = jwt_encode_str(jwt);
	expect_unauthorized(jwtauth_verify_hs256(SKEY, tok, NULL, now, &got), "critical");
	jwt_free(jwt);
	free(tok);
	free(claims);
}
END_TEST

START_TEST(only_project_tokens_may_omit_expiry)
{
	struct jwtauth_issue req = { .subject = "alice", .ttl_s = -1 };
	struct jwtauth_claims got;
	char *tok = NULL, *sub = NULL, *proj = NULL, *role = NULL;
	char *claims = str_printf("{\"iss\":\"berth\",\"sub\":\"alice\",\"iat\":%lld}", (long long)now);
	char *noexp = forge(JWT_ALG_HS256, SKEY, NULL, claims);

	ck_assert_int_eq(jwtauth_issue_hs256(SKEY, &req, now, &tok, NULL), BERR_INVALID);
	expect_unauthorized(jwtauth_verify_hs256(SKEY, noexp, NULL, now, &got), "no expiry");
	ck_assert_int_eq(jwtauth_project_subject("team", "ci", &sub), 0);
	ck_assert_str_eq(sub, "proj:team:ci");
	req.subject = sub;
	req.jti = "tok-1";
	ck_assert_int_eq(jwtauth_issue_hs256(SKEY, &req, now, &tok, NULL), 0);
	ck_assert_int_eq(jwtauth_verify_hs256(SKEY, tok, NULL, now + 400 * 86400, &got), 0);
	ck_assert_int_eq(got.exp, 0);
	ck_assert_str_eq(got.jti, "tok-1");
	ck_assert_int_eq(jwtauth_parse_project_subject(got.sub, &proj, &role), 0);
	ck_assert_str_eq(proj, "team");
	ck_assert_str_eq(role, "ci");
	ck_assert_int_eq(jwtauth_parse_project_subject("proj:a:b:c", &proj, &role), BERR_INVALID);
	ck_assert_int_eq(jwtauth_parse_project_subject("alice", &proj, &role), BERR_INVALID);
	jwtauth_claims_release(&got);
	free(proj);
	free(role);
	free(sub);
	free(tok);
	free(noexp);
	free(claims);
}
END_TEST

START_TEST(malformed_tokens_are_rejected)
{
	static const char *const bad[] = { "", "abc", "a.b", "a.b.c.d", "a..c", "!!.b.c",
					   "eyJhbGciOiJIUzI1NiJ9.e30.", "e30.e30.e30" };
	struct jwtauth_claims got;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(jwtauth_verify_hs256(SKEY, bad[i], NULL, now, &got), BERR_UNAUTHORIZED);
	ck_assert_int_eq(jwtauth_verify_hs256(SKEY, NULL, NULL, now, &got), BERR_UNAUTHORIZED);
}
END_TEST

/* Any change to the signed part of a token (header or claims) makes it
 * invalid. */
START_TEST(every_single_character_change_is_rejected)
{
	static const char repl[] = "AaZz09-_.";
	struct jwtauth_issue req = { .subject = "alice" };
	struct jwtauth_claims got;
	char *tok = NULL;
	size_t i, j, signed_len, tried = 0;

	ck_assert_int_eq(jwtauth_issue_hs256(SKEY, &req, now, &tok, NULL), 0);
	signed_len = (size_t)(strrchr(tok, '.') - tok);
	for (i = 0; i < signed_len; i++) {
		char orig = tok[i];
		for (j = 0; j < sizeof(repl) - 1; j++) {
			if (repl[j] == orig)
				continue;
			tok[i] = repl[j];
			ck_assert_msg(jwtauth_verify_hs256(SKEY, tok, NULL, now, &got) == BERR_UNAUTHORIZED,
				      "position %zu -> '%c' verified", i, repl[j]);
			tried++;
		}
		tok[i] = orig;
	}
	ck_assert_int_eq(jwtauth_verify_hs256(SKEY, tok, NULL, now, &got), 0);
	jwtauth_claims_release(&got);
	ck_assert_uint_gt(tried, 500);
	free(tok);
}
END_TEST

/* ---- OIDC ------------------------------------------------------------------------ */

START_TEST(oidc_rs256_token_is_accepted)
{
	char *claims = oidc_claims(ISSUER, CLIENT, now + 300);
	char *tok = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "rsa-1", claims);
	struct jwtauth_claims got;

	ck_assert_int_eq(jwtauth_verify_oidc(keys, tok, ISSUER, CLIENT, NULL, now, &got), 0);
	ck_assert_str_eq(got.sub, "u-42");
	ck_assert_str_eq(jx_str(got.all, "email"), "a@example.com");
	jwtauth_claims_release(&got);
	free(tok);
	free(claims);
}
END_TEST

START_TEST(oidc_es256_token_in_jws_format_is_accepted)
{
	char *claims = oidc_claims(ISSUER, CLIENT, now + 300);
	char *tok = es256_sign_raw("ec-1", claims);
	struct jwtauth_claims got;

	ck_assert_int_eq(jwtauth_verify_oidc(keys, tok, ISSUER, CLIENT, NULL, now, &got), 0);
	ck_assert_str_eq(got.iss, ISSUER);
	jwtauth_claims_release(&got);
	free(tok);
	free(claims);
}
END_TEST

START_TEST(oidc_rejects_hs256_signed_with_the_public_key)
{
	char *claims = oidc_claims(ISSUER, CLIENT, now + 300);
	char *tok = forge(JWT_ALG_HS256, rsa_pub_pem, strlen(rsa_pub_pem), "rsa-1", claims);
	struct jwtauth_claims got;

	expect_unauthorized(jwtauth_verify_oidc(keys, tok, ISSUER, CLIENT, NULL, now, &got),
			    "alg \"HS256\" where RS256 is required");
	free(tok);
	free(claims);
}
END_TEST

START_TEST(oidc_rejects_alg_none)
{
	char *claims = oidc_claims(ISSUER, CLIENT, now + 300);
	char *tok = forge(JWT_ALG_NONE, NULL, 0, "rsa-1", claims);
	char *tok2 = str_printf("%sAAAA", tok);
	struct jwtauth_claims got;

	ck_assert_int_eq(jwtauth_verify_oidc(keys, tok, ISSUER, CLIENT, NULL, now, &got), BERR_UNAUTHORIZED);
	expect_unauthorized(jwtauth_verify_oidc(keys, tok2, ISSUER, CLIENT, NULL, now, &got), "alg \"none\"");
	free(tok);
	free(tok2);
	free(claims);
}
END_TEST

START_TEST(oidc_pins_the_algorithm_of_the_key)
{
	char *claims = oidc_claims(ISSUER, CLIENT, now + 300);
	/* Signed with the RSA key but claiming the EC key's kid. */
	char *tok = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "ec-1", claims);
	struct jwtauth_claims got;

	expect_unauthorized(jwtauth_verify_oidc(keys, tok, ISSUER, CLIENT, NULL, now, &got),
			    "alg \"RS256\" where ES256 is required");
	free(tok);
	free(claims);
}
END_TEST

START_TEST(oidc_rejects_wrong_issuer_and_foreign_audience)
{
	char *c1 = oidc_claims("https://evil.example", CLIENT, now + 300);
	char *c2 = oidc_claims(ISSUER, "someone-else", now + 300);
	char *t1 = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "rsa-1", c1);
	char *t2 = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "rsa-1", c2);
	struct jwtauth_claims got;

	expect_unauthorized(jwtauth_verify_oidc(keys, t1, ISSUER, CLIENT, NULL, now, &got), "issuer");
	expect_unauthorized(jwtauth_verify_oidc(keys, t2, ISSUER, CLIENT, NULL, now, &got), "audience");
	ck_assert_int_eq(jwtauth_verify_oidc(keys, t2, ISSUER, NULL, NULL, now, &got), BERR_INVALID);
	free(t1);
	free(t2);
	free(c1);
	free(c2);
}
END_TEST

START_TEST(oidc_audience_may_be_a_list)
{
	char *claims = str_printf("{\"iss\":\"%s\",\"aud\":[\"x\",\"%s\"],\"sub\":\"u\",\"exp\":%lld}",
				  ISSUER, CLIENT, (long long)now + 300);
	char *tok = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "rsa-1", claims);
	struct jwtauth_claims got;

	ck_assert_int_eq(jwtauth_verify_oidc(keys, tok, ISSUER, CLIENT, NULL, now, &got), 0);
	jwtauth_claims_release(&got);
	free(tok);
	free(claims);
}
END_TEST

START_TEST(oidc_rejects_expired_and_missing_expiry)
{
	char *c1 = oidc_claims(ISSUER, CLIENT, now - 3600);
	char *c2 = str_printf("{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u\"}", ISSUER, CLIENT);
	char *t1 = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "rsa-1", c1);
	char *t2 = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "rsa-1", c2);
	struct jwtauth_claims got;

	expect_unauthorized(jwtauth_verify_oidc(keys, t1, ISSUER, CLIENT, NULL, now, &got), "expired");
	expect_unauthorized(jwtauth_verify_oidc(keys, t2, ISSUER, CLIENT, NULL, now, &got), "no expiry");
	free(t1);
	free(t2);
	free(c1);
	free(c2);
}
END_TEST

START_TEST(oidc_checks_the_nonce_when_given)
{
	char *claims = str_printf("{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u\",\"exp\":%lld,"
				  "\"nonce\":\"n-123\"}", ISSUER, CLIENT, (long long)now + 300);
	char *tok = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "rsa-1", claims);
	char *c2 = oidc_claims(ISSUER, CLIENT, now + 300);
	char *nononce = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "rsa-1", c2);
	struct jwtauth_claims got;

	ck_assert_int_eq(jwtauth_verify_oidc(keys, tok, ISSUER, CLIENT, "n-123", now, &got), 0);
	jwtauth_claims_release(&got);
	expect_unauthorized(jwtauth_verify_oidc(keys, tok, ISSUER, CLIENT, "n-999", now, &got), "nonce");
	expect_unauthorized(jwtauth_verify_oidc(keys, nononce, ISSUER, CLIENT, "n-123", now, &got), "nonce");
	free(tok);
	free(nononce);
	free(claims);
	free(c2);
}
END_TEST

START_TEST(oidc_rejects_future_nbf_and_iat)
{
	char *c1 = str_printf("{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u\",\"exp\":%lld,\"nbf\":%lld}",
			      ISSUER, CLIENT, (long long)now + 7200, (long long)now + 3600);
	char *c2 = str_printf("{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"u\",\"exp\":%lld,\"iat\":%lld}",
			      ISSUER, CLIENT, (long long)now + 7200, (long long)now + 3600);
	char *t1 = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "rsa-1", c1);
	char *t2 = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "rsa-1", c2);
	struct jwtauth_claims got;

	expect_unauthorized(jwtauth_verify_oidc(keys, t1, ISSUER, CLIENT, NULL, now, &got), "not valid yet");
	expect_unauthorized(jwtauth_verify_oidc(keys, t2, ISSUER, CLIENT, NULL, now, &got), "issued in the future");
	free(t1);
	free(t2);
	free(c1);
	free(c2);
}
END_TEST

START_TEST(oidc_unknown_kid_is_a_distinct_error)
{
	char *claims = oidc_claims(ISSUER, CLIENT, now + 300);
	char *tok = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "rotated-key", claims);
	char *nokid = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), NULL, claims);
	struct jwtauth_claims got;

	ck_assert_int_eq(jwtauth_verify_oidc(keys, tok, ISSUER, CLIENT, NULL, now, &got), BERR_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(err_msg(), "rotated-key"));
	/* The attacker's kid is quoted harmlessly (no line breaks in logs). */
	free(tok);
	tok = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), "x\\ninjected", claims);
	ck_assert_int_eq(jwtauth_verify_oidc(keys, tok, ISSUER, CLIENT, NULL, now, &got), BERR_NOTFOUND);
	ck_assert_ptr_null(strchr(err_msg(), '\n'));
	/* No kid and more than one key: the key cannot be chosen. */
	ck_assert_int_eq(jwtauth_verify_oidc(keys, nokid, ISSUER, CLIENT, NULL, now, &got), BERR_NOTFOUND);
	free(tok);
	free(nokid);
	free(claims);
}
END_TEST

START_TEST(oidc_rejects_signature_by_another_key)
{
	EVP_PKEY *other = EVP_RSA_gen(2048);
	char *pem = pem_of(other, true);
	char *claims = oidc_claims(ISSUER, CLIENT, now + 300);
	char *tok = forge(JWT_ALG_RS256, pem, strlen(pem), "rsa-1", claims);
	struct jwtauth_claims got;

	expect_unauthorized(jwtauth_verify_oidc(keys, tok, ISSUER, CLIENT, NULL, now, &got), "bad signature");
	free(tok);
	free(claims);
	free(pem);
	EVP_PKEY_free(other);
}
END_TEST

/* ---- JWKS ------------------------------------------------------------------------- */

START_TEST(jwks_keeps_only_usable_signing_keys)
{
	ck_assert_uint_eq(keys->n, 2);
	ck_assert_ptr_nonnull(jwks_find(keys, "rsa-1"));
	ck_assert_int_eq(jwks_find(keys, "rsa-1")->alg, JWKS_ALG_RS256);
	ck_assert_int_eq(jwks_find(keys, "ec-1")->alg, JWKS_ALG_ES256);
	ck_assert_ptr_null(jwks_find(keys, "sym"));
	ck_assert_ptr_null(jwks_find(keys, "enc"));
	ck_assert(str_starts_with(jwks_find(keys, "ec-1")->pem, "-----BEGIN PUBLIC KEY-----"));
}
END_TEST

START_TEST(jwks_refuses_documents_without_usable_keys)
{
	static const char *const docs[] = {
		"{\"keys\":[]}", "{\"keys\":{}}", "[]", "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AA\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", /* too short */
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
		"\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}", /* not on the curve */
	};
	struct jwks *set = NULL;
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		ck_assert_msg(jwks_parse(docs[i], strlen(docs[i]), &set) < 0, "doc %zu", i);
		ck_assert_ptr_null(set);
	}
}
END_TEST

START_TEST(jwks_single_key_serves_tokens_without_kid)
{
	json_t *doc = NULL, *one;
	struct jwks *set = NULL;
	struct buf b;
	char *claims = oidc_claims(ISSUER, CLIENT, now + 300);
	char *tok = forge(JWT_ALG_RS256, rsa_priv_pem, strlen(rsa_priv_pem), NULL, claims);
	struct jwtauth_claims got;

	ck_assert_int_eq(jx_parse(jwks_doc, strlen(jwks_doc), 1 << 20, 16, &doc), 0);
	one = json_pack("{s:[O]}", "keys", json_array_get(json_object_get(doc, "keys"), 3));
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(jx_dump_compact(one, &b), 0);
	ck_assert_int_eq(jwks_parse(b.ptr, b.len, &set), 0);
	ck_assert_int_eq(jwtauth_verify_oidc(set, tok, ISSUER, CLIENT, NULL, now, &got), 0);
	jwtauth_claims_release(&got);
	jwks_free(set);
	buf_release(&b);
	json_decref(one);
	json_decref(doc);
	free(tok);
	free(claims);
}
END_TEST

static Suite *jwtauth_suite(void)
{
	Suite *s = suite_create("jwtauth");
	TCase *tc = tcase_create("jwtauth");

	tcase_add_unchecked_fixture(tc, make_keys, free_keys);
	tcase_add_test(tc, session_token_round_trips_with_default_claims);
	tcase_add_test(tc, session_tokens_get_distinct_ids);
	tcase_add_test(tc, session_extra_claims_are_carried_but_cannot_override);
	tcase_add_test(tc, session_key_must_be_long_enough);
	tcase_add_test(tc, session_rejects_alg_none);
	tcase_add_test(tc, session_rejects_rs256_where_hs256_is_pinned);
	tcase_add_test(tc, session_rejects_wrong_key_and_tampering);
	tcase_add_test(tc, session_rejects_wrong_issuer);
	tcase_add_test(tc, session_checks_audience_when_configured);
	tcase_add_test(tc, session_rejects_expired_tokens_after_leeway);
	tcase_add_test(tc, session_rejects_future_nbf);
	tcase_add_test(tc, session_rejects_critical_headers);
	tcase_add_test(tc, only_project_tokens_may_omit_expiry);
	tcase_add_test(tc, malformed_tokens_are_rejected);
	tcase_add_test(tc, every_single_character_change_is_rejected);
	tcase_add_test(tc, oidc_rs256_token_is_accepted);
	tcase_add_test(tc, oidc_es256_token_in_jws_format_is_accepted);
	tcase_add_test(tc, oidc_rejects_hs256_signed_with_the_public_key);
	tcase_add_test(tc, oidc_rejects_alg_none);
	tcase_add_test(tc, oidc_pins_the_algorithm_of_the_key);
	tcase_add_test(tc, oidc_rejects_wrong_issuer_and_foreign_audience);
	tcase_add_test(tc, oidc_audience_may_be_a_list);
	tcase_add_test(tc, oidc_rejects_expired_and_missing_expiry);
	tcase_add_test(tc, oidc_checks_the_nonce_when_given);
	tcase_add_test(tc, oidc_rejects_future_nbf_and_iat);
	tcase_add_test(tc, oidc_unknown_kid_is_a_distinct_error);
	tcase_add_test(tc, oidc_rejects_signature_by_another_key);
	tcase_add_test(tc, jwks_keeps_only_usable_signing_keys);
	tcase_add_test(tc, jwks_refuses_documents_without_usable_keys);
	tcase_add_test(tc, jwks_single_key_serves_tokens_without_kid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jwtauth_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
