/* jwtauth — session JWTs (HS256) and OIDC ID tokens (RS256/ES256). */
#include "jwtauth.h"

#include <stdarg.h>
#include <jwt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "jsonx.h"
#include "osrand.h"
#include "str.h"

void jwtauth_claims_release(struct jwtauth_claims *c)
{
	free(c->iss);
	free(c->sub);
	free(c->jti);
	json_decref(c->all);
	memset(c, 0, sizeof(*c));
}

int jwtauth_random_id(char out[33])
{
	uint8_t raw[16];
	int rc = osrand_bytes(raw, sizeof(raw));

	if (rc < 0)
		return rc;
	str_hex(raw, sizeof(raw), out);
	return 0;
}

int jwtauth_project_subject(const char *project, const char *role, char **ret)
{
	char *s;

	if (!project || !*project || !role || !*role || strchr(project, ':') || strchr(role, ':'))
		return err_set(BERR_INVALID, "project token: project and role names are required "
			       "and may not contain ':'");
	if (!(s = str_printf("proj:%s:%s", project, role)))
		return err_set(BERR_NOMEM, "out of memory");
	*ret = s;
	return 0;
}

int jwtauth_parse_project_subject(const char *sub, char **ret_project, char **ret_role)
{
	const char *p, *colon;
	char *proj, *role;

	if (!sub || !str_starts_with(sub, "proj:"))
		return err_set(BERR_INVALID, "subject is not a project token subject");
	p = sub + 5;
	colon = strchr(p, ':');
	if (!colon || colon == p || !colon[1] || strchr(colon + 1, ':'))
		return err_set(BERR_INVALID, "subject \"%s\" is not proj:<project>:<role>", sub);
	proj = strndup(p, (size_t)(colon - p));
	role = strdup(colon + 1);
	if (!proj || !role) {
		free(proj);
		free(role);
		return err_set(BERR_NOMEM, "out of memory");
	}
	*ret_project = proj;
	*ret_role = role;
	return 0;
}

/* ---- issuing ---------------------------------------------------------------- */

static const char *const registered[] = { "iss", "sub", "aud", "exp", "nbf", "iat", "jti" };

static int check_extra(const json_t *extra)
{
	size_t i;

	if (!extra)
		return 0;
	if (!json_is_object(extra))
		return err_set(BERR_INVALID, "token: extra claims must be an object");
	for (i = 0; i < sizeof(registered) / sizeof(registered[0]); i++)
		if (json_object_get(extra, registered[i]))
			return err_set(BERR_INVALID, "token: extra claims may not set \"%s\"",
				       registered[i]);
	return 0;
}

/* The claims object a token will carry. */
static int build_claims(const struct jwtauth_issue *req, int64_t now, json_t **ret)
{
	json_t *c = json_object();
	char jti[33];
	int64_t ttl = req->ttl_s ? req->ttl_s : JWTAUTH_DEFAULT_TTL_S;
	int rc = 0;

	if (!c)
		return err_set(BERR_NOMEM, "out of memory");
	if (!req->jti && (rc = jwtauth_random_id(jti)) < 0)
		goto out;
	if (req->extra && json_object_update(c, (json_t *)req->extra) < 0)
		goto nomem;
	if (json_object_set_new(c, "iss", json_string(JWTAUTH_ISSUER)) < 0 ||
	    json_object_set_new(c, "sub", json_string(req->subject)) < 0 ||
	    json_object_set_new(c, "iat", json_integer(now)) < 0 ||
	    json_object_set_new(c, "nbf", json_integer(now)) < 0 ||
	    json_object_set_new(c, "jti", json_string(req->jti ? req->jti : jti)) < 0)
		goto nomem;
	if (ttl > 0 && json_object_set_new(c, "exp", json_integer(now + ttl)) < 0)
		goto nomem;
	if (req->audience && json_object_set_new(c, "aud", json_string(req->audience)) < 0)
		goto nomem;
	*ret = c;
	return 0;
nomem:
	rc = err_set(BERR_NOMEM, "out of memory");
out:
	json_decref(c);
	return rc;
}

static int claims_fill(json_t *all, struct jwtauth_claims *out);

int jwtauth_issue_hs256(const uint8_t *key, size_t key_len, const struct jwtauth_issue *req,
			int64_t now, char **ret_token, struct jwtauth_claims *ret_claims)
{
	json_t *claims = NULL;
	jwt_t *jwt = NULL;
	struct buf b;
	char *tok = NULL;
	int rc;

	buf_init(&b, JWTAUTH_MAX_TOKEN);
	if (!key || key_len < JWTAUTH_MIN_KEY)
		return err_set(BERR_INVALID, "token: signing key shorter than %d bytes",
			       JWTAUTH_MIN_KEY);
	if (!req->subject || !*req->subject)
		return err_set(BERR_INVALID, "token: subject is required");
	if (req->ttl_s < 0 && !str_starts_with(req->subject, "proj:"))
		return err_set(BERR_INVALID, "token: only project tokens may live without expiry");
	if ((rc = check_extra(req->extra)) < 0 || (rc = build_claims(req, now, &claims)) < 0)
		return rc;
	if ((rc = jx_dump_compact(claims, &b)) < 0)
		goto out;
	if (jwt_new(&jwt) != 0 || jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)key_len) != 0 ||
	    jwt_add_grants_json(jwt, b.ptr) != 0 || !(tok = jwt_encode_str(jwt))) {
		rc = err_set(BERR_INTERNAL, "token: libjwt could not sign");
		goto out;
	}
	if (ret_claims) {
		json_incref(claims);
		if ((rc = claims_fill(claims, ret_claims)) < 0)
			goto out;
	}
	*ret_token = tok;
	tok = NULL;
out:
	free(tok);
	jwt_free(jwt);
	json_decref(claims);
	buf_release(&b);
	return rc;
}

/* ---- verifying ------------------------------------------------------------------ */

static int refuse(const char *why, ...) __attribute__((format(printf, 1, 2)));

static int refuse(const char *why, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, why);
	vsnprintf(msg, sizeof(msg), why, ap);
	va_end(ap);
	return err_set(BERR_UNAUTHORIZED, "token rejected: %s", msg);
}

/* A token's own strings (kid, iss) are attacker-controlled: quote them in
 * messages only as short printable ASCII, so nothing is injected into logs. */
static const char *printable(const char *in, char *out, size_t size)
{
	size_t i;

	if (!in)
		in = "";
	for (i = 0; in[i] && i + 1 < size && i < 64; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"') ? in[i] : '?';
	out[i] = '\0';
	return out;
}

/* Checks the compact form and parses the header (step 1). */
static int parse_header(const char *token, json_t **ret)
{
	const char *dot1, *dot2, *p;
	char seg[1024];
	uint8_t *raw = NULL;
	size_t n, len;
	int rc;

	if (!token)
		return refuse("no token");
	len = strlen(token);
	if (len > JWTAUTH_MAX_TOKEN)
		return refuse("longer than %d bytes", JWTAUTH_MAX_TOKEN);
	for (p = token; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return refuse("not a compact JWT");
	dot1 = strchr(token, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot1 || !dot2 || strchr(dot2 + 1, '.') || dot2[1] == '\0')
		return refuse("not a signed compact JWT (three non-empty parts)");
	n = (size_t)(dot1 - token);
	if (n == 0 || n >= sizeof(seg))
		return refuse("header too large");
	memcpy(seg, token, n);
	seg[n] = '\0';
	if (b64_decode(seg, true, sizeof(seg), &raw, &n) < 0)
		return refuse("header is not base64url");
	rc = jx_parse((const char *)raw, n, sizeof(seg), 4, ret);
	free(raw);
	if (rc < 0 || !json_is_object(*ret)) {
		if (rc == 0)
			json_decref(*ret);
		return refuse("header is not a JSON object");
	}
	return 0;
}

/* Step 2: the algorithm is the one pinned, and no extension is demanded. */
static int check_header(const json_t *hdr, const char *want_alg)
{
	const char *alg = jx_str(hdr, "alg");
	char shown[80];

	if (!alg)
		return refuse("no alg in header");
	if (strcmp(alg, want_alg) != 0)
		return refuse("alg \"%s\" where %s is required", printable(alg, shown, sizeof(shown)),
			      want_alg);
	if (json_object_get(hdr, "crit"))
		return refuse("critical header extensions are not supported");
	return 0;
}

static bool get_time(const json_t *all, const char *key, int64_t *out)
{
	json_t *v = json_object_get(all, key);

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v) && json_real_value(v) > 0 && json_real_value(v) < 1e15) {
		*out = (int64_t)json_real_value(v);
		return true;
	}
	return false;
}

static bool aud_has(const json_t *aud, const char *want)
{
	size_t i;
	json_t *e;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (json_is_array(aud))
		json_array_foreach(aud, i, e)
			if (json_is_string(e) && strcmp(json_string_value(e), want) == 0)
				return true;
	return false;
}

/* Step 4. */
static int check_claims(const json_t *all, const char *issuer, const char *audience, int64_t now,
			bool exp_required)
{
	const char *iss = jx_str(all, "iss"), *sub = jx_str(all, "sub");
	json_t *aud = json_object_get(all, "aud");
	int64_t exp = 0, nbf = 0, iat = 0;
	char shown[80];

	if (!iss || strcmp(iss, issuer) != 0)
		return refuse("issuer \"%s\" is not \"%s\"", printable(iss, shown, sizeof(shown)),
			      issuer);
	if (!sub || !*sub)
		return refuse("no subject");
	if (audience && !aud_has(aud, audience))
		return refuse("audience is not \"%s\"", audience);
	if (!audience && aud)
		return refuse("unexpected audience");
	if (json_object_get(all, "exp") && !get_time(all, "exp", &exp))
		return refuse("exp is not a number");
	if (!json_object_get(all, "exp") && exp_required)
		return refuse("no expiry");
	if (json_object_get(all, "exp") && now > exp + JWTAUTH_LEEWAY_S)
		return refuse("expired");
	if (json_object_get(all, "nbf") && (!get_time(all, "nbf", &nbf) || now + JWTAUTH_LEEWAY_S < nbf))
		return refuse("not valid yet (nbf)");
	if (json_object_get(all, "iat") && (!get_time(all, "iat", &iat) || now + JWTAUTH_LEEWAY_S < iat))
		return refuse("issued in the future");
	return 0;
}

static int claims_fill(json_t *all, struct jwtauth_claims *out)
{
	struct jwtauth_claims c = { 0 };

	c.all = all; /* steals */
	c.iss = str_dup(jx_str(all, "iss"));
	c.sub = str_dup(jx_str(all, "sub"));
	c.jti = str_dup(jx_str(all, "jti"));
	get_time(all, "iat", &c.iat);
	get_time(all, "nbf", &c.nbf);
	get_time(all, "exp", &c.exp);
	if (!c.iss || !c.sub || (jx_str(all, "jti") && !c.jti)) {
		jwtauth_claims_release(&c);
		return err_set(BERR_NOMEM, "out of memory");
	}
	*out = c;
	return 0;
}

/* Step 3 and the claims read-out: libjwt verifies the signature with key
 * (whose algorithm the caller pinned); the claims come from libjwt only
 * after that succeeded. */
static int verify_signature(const char *token, const uint8_t *key, size_t key_len,
			    jwt_alg_t want, json_t **ret_claims)
{
	jwt_t *jwt = NULL;
	char *grants = NULL;
	int rc;

	if (jwt_decode(&jwt, token, key, (int)key_len) != 0 || !jwt)
		return refuse("bad signature or malformed token");
	if (jwt_get_alg(jwt) != want) {
		rc = refuse("algorithm changed during decoding");
		goto out;
	}
	grants = jwt_get_grants_json(jwt, NULL);
	if (!grants || jx_parse(grants, strlen(grants), JWTAUTH_MAX_TOKEN, 16, ret_claims) < 0) {
		rc = refuse("claims are not a JSON object");
		goto out;
	}
	if (!json_is_object(*ret_claims)) {
		json_decref(*ret_claims);
		rc = refuse("claims are not a JSON object");
		goto out;
	}
	rc = 0;
out:
	free(grants);
	jwt_free(jwt);
	return rc;
}

int jwtauth_verify_hs256(const uint8_t *key, size_t key_len, const char *token,
			 const char *audience, int64_t now, struct jwtauth_claims *out)
{
	json_t *hdr = NULL, *all = NULL;
	int rc;

	if (!key || key_len < JWTAUTH_MIN_KEY)
		return refuse("server key not configured");
	if ((rc = parse_header(token, &hdr)) < 0)
		return rc;
	if ((rc = check_header(hdr, "HS256")) < 0)
		goto out;
	if ((rc = verify_signature(token, key, key_len, JWT_ALG_HS256, &all)) < 0)
		goto out;
	rc = check_claims(all, JWTAUTH_ISSUER, audience, now,
			  !str_starts_with(jx_str(all, "sub") ? jx_str(all, "sub") : "", "proj:"));
	if (rc < 0)
		goto out;
	rc = claims_fill(all, out);
	all = NULL;
out:
	json_decref(all);
	json_decref(hdr);
	return rc;
}

int jwtauth_verify_oidc(const struct jwks *keys, const char *token, const char *issuer,
			const char *audience, const char *nonce, int64_t now,
			struct jwtauth_claims *out)
{
	const struct jwks_key *key;
	json_t *hdr = NULL, *all = NULL;
	const char *kid;
	int rc;

	if (!issuer || !*issuer || !audience || !*audience)
		return err_set(BERR_INVALID, "oidc: issuer and client ID must be configured");
	if ((rc = parse_header(token, &hdr)) < 0)
		return rc;
	kid = jx_str(hdr, "kid");
	if (!(key = jwks_find(keys, kid))) {
		char shown[80];
		rc = err_set(BERR_NOTFOUND, "token rejected: unknown signing key \"%s\"",
			     printable(kid, shown, sizeof(shown)));
		goto out;
	}
	if ((rc = check_header(hdr, jwks_alg_name(key->alg))) < 0)
		goto out;
	rc = verify_signature(token, (const uint8_t *)key->pem, strlen(key->pem),
			      key->alg == JWKS_ALG_ES256 ? JWT_ALG_ES256 : JWT_ALG_RS256, &all);
	if (rc < 0)
		goto out;
	if ((rc = check_claims(all, issuer, audience, now, true)) < 0)
		goto out;
	if (nonce) {
		const char *got = jx_str(all, "nonce");
		if (!got || !str_secure_eq(got, strlen(got), nonce, strlen(nonce))) {
			rc = refuse("nonce does not match the login request");
			goto out;
		}
	}
	rc = claims_fill(all, out);
	all = NULL;
out:
	json_decref(all);
	json_decref(hdr);
	return rc;
}
