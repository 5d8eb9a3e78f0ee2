/* oidc — discovery, one-time values, PKCE and URLs of an OIDC login. */
#include "oidc.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "buf.h"
#include "err.h"
#include "jsonx.h"
#include "osrand.h"
#include "str.h"

void oidc_provider_release(struct oidc_provider *p)
{
	free(p->issuer);
	free(p->authorization_endpoint);
	free(p->token_endpoint);
	free(p->jwks_uri);
	free(p->userinfo_endpoint);
	free(p->end_session_endpoint);
	memset(p, 0, sizeof(*p));
}

/* https://…, or http:// to a loopback host (tests, local IdPs). */
static bool endpoint_ok(const char *url)
{
	static const char *const loopback[] = { "http://127.0.0.1", "http://localhost",
						"http://[::1]" };
	size_t i;

	if (!url)
		return false;
	for (i = 0; url[i]; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return false;
	if (str_starts_with(url, "https://") && url[8])
		return true;
	for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		size_t n = strlen(loopback[i]);
		if (strncmp(url, loopback[i], n) == 0 &&
		    (url[n] == ':' || url[n] == '/' || url[n] == '\0'))
			return true;
	}
	return false;
}

static int take_endpoint(const json_t *doc, const char *key, bool required, char **out)
{
	const char *v = jx_str(doc, key);

	if (!v) {
		if (required)
			return err_set(BERR_INVALID, "oidc discovery: %s is missing", key);
		return 0;
	}
	if (!endpoint_ok(v))
		return err_set(BERR_INVALID, "oidc discovery: %s must be an https URL", key);
	if (!(*out = strdup(v)))
		return err_set(BERR_NOMEM, "out of memory");
	return 0;
}

static bool supports_s256(const json_t *doc)
{
	json_t *methods = json_object_get(doc, "code_challenge_methods_supported"), *m;
	size_t i;

	if (!methods)
		return true; /* not advertised: try S256, the provider will say */
	json_array_foreach(methods, i, m)
		if (json_is_string(m) && strcmp(json_string_value(m), "S256") == 0)
			return true;
	return false;
}

int oidc_discovery_parse(const char *json, size_t len, const char *expected_issuer,
			 struct oidc_provider *out)
{
	struct oidc_provider p = { 0 };
	json_t *doc = NULL;
	const char *iss;
	int rc;

	if (!expected_issuer || !*expected_issuer)
		return err_set(BERR_INVALID, "oidc: no issuer configured");
	if ((rc = jx_parse(json, len, OIDC_DISCOVERY_MAX, 16, &doc)) < 0)
		return err_prefix(rc, "oidc discovery");
	iss = jx_str(doc, "issuer");
	if (!json_is_object(doc) || !iss || strcmp(iss, expected_issuer) != 0) {
		rc = err_set(BERR_INVALID, "oidc discovery: issuer does not match the configured "
			     "issuer \"%s\"", expected_issuer);
		goto out;
	}
	if (!supports_s256(doc)) {
		rc = err_set(BERR_INVALID, "oidc discovery: provider does not support PKCE S256");
		goto out;
	}
	if (!(p.issuer = strdup(iss))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = take_endpoint(doc, "authorization_endpoint", true, &p.authorization_endpoint)) < 0 ||
	    (rc = take_endpoint(doc, "token_endpoint", true, &p.token_endpoint)) < 0 ||
	    (rc = take_endpoint(doc, "jwks_uri", true, &p.jwks_uri)) < 0 ||
	    (rc = take_endpoint(doc, "userinfo_endpoint", false, &p.userinfo_endpoint)) < 0 ||
	    (rc = take_endpoint(doc, "end_session_endpoint", false, &p.end_session_endpoint)) < 0)
		goto out;
	*out = p;
	memset(&p, 0, sizeof(p));
out:
	oidc_provider_release(&p);
	json_decref(doc);
	return rc;
}

int oidc_random(char **ret)
{
	unsigned char raw[32];
	char *s;
	int rc = osrand_bytes(raw, sizeof(raw));

	if (rc < 0)
		return rc;
	s = b64_encode(raw, sizeof(raw), true);
	explicit_bzero(raw, sizeof(raw));
	if (!s)
		return err_set(BERR_NOMEM, "out of memory");
	*ret = s;
	return 0;
}

int oidc_pkce_challenge(const char *verifier, char out[44])
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	size_t i, n = verifier ? strlen(verifier) : 0;
	char *enc;

	if (n < 43 || n > 128)
		return err_set(BERR_INVALID, "pkce: verifier must be 43 to 128 characters");
	for (i = 0; i < n; i++) {
		char c = verifier[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == '~'))
			return err_set(BERR_INVALID, "pkce: verifier has a character outside "
				       "[A-Za-z0-9-._~]");
	}
	SHA256((const unsigned char *)verifier, n, digest);
	if (!(enc = b64_encode(digest, sizeof(digest), true)))
		return err_set(BERR_NOMEM, "out of memory");
	str_copy(out, enc, 44);
	free(enc);
	return 0;
}

/* Appends "<sep><key>=<percent-encoded value>". */
static int add_param(struct buf *b, char sep, const char *key, const char *value)
{
	int rc = buf_printf(b, "%c%s=", sep, key);

	return rc < 0 ? rc : buf_put_url_escaped(b, value);
}

static int detach(struct buf *b, char **ret)
{
	char *s = buf_detach(b, NULL);

	if (!s)
		return err_set(BERR_NOMEM, "out of memory");
	*ret = s;
	return 0;
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

int oidc_auth_url(const struct oidc_provider *p, const char *client_id, const char *redirect_uri,
		  const char *scopes, const char *state, const char *nonce, const char *challenge,
		  char **ret)
{
	struct buf b;
	char *scope = NULL;
	int rc;

	if (!p || !p->authorization_endpoint || !client_id || !*client_id || !redirect_uri ||
	    !*redirect_uri || !state || !*state || !nonce || !*nonce || !challenge || !*challenge)
		return err_set(BERR_INVALID, "oidc: authorization request is missing a value");
	if (!scopes || !*scopes)
		scope = strdup("openid");
	else if (has_word(scopes, "openid"))
		scope = strdup(scopes);
	else
		scope = str_printf("openid %s", scopes);
	if (!scope)
		return err_set(BERR_NOMEM, "out of memory");
	buf_init(&b, 16384);
	rc = buf_puts(&b, p->authorization_endpoint);
	if (rc == 0)
		rc = add_param(&b, strchr(p->authorization_endpoint, '?') ? '&' : '?', "response_type",
			       "code");
	if (rc == 0)
		rc = add_param(&b, '&', "client_id", client_id);
	if (rc == 0)
		rc = add_param(&b, '&', "redirect_uri", redirect_uri);
	if (rc == 0)
		rc = add_param(&b, '&', "scope", scope);
	if (rc == 0)
		rc = add_param(&b, '&', "state", state);
	if (rc == 0)
		rc = add_param(&b, '&', "nonce", nonce);
	if (rc == 0)
		rc = add_param(&b, '&', "code_challenge", challenge);
	if (rc == 0)
		rc = add_param(&b, '&', "code_challenge_method", "S256");
	if (rc == 0)
		rc = detach(&b, ret);
	buf_release(&b);
	free(scope);
	return rc < 0 ? err_prefix(rc, "oidc: authorization URL") : 0;
}

int oidc_token_body(const char *code, const char *redirect_uri, const char *client_id,
		    const char *verifier, char **ret)
{
	struct buf b;
	int rc;

	if (!code || !*code || !redirect_uri || !client_id || !verifier)
		return err_set(BERR_INVALID, "oidc: token request is missing a value");
	buf_init(&b, 16384);
	rc = buf_puts(&b, "grant_type=authorization_code");
	if (rc == 0)
		rc = add_param(&b, '&', "code", code);
	if (rc == 0)
		rc = add_param(&b, '&', "redirect_uri", redirect_uri);
	if (rc == 0)
		rc = add_param(&b, '&', "client_id", client_id);
	if (rc == 0)
		rc = add_param(&b, '&', "code_verifier", verifier);
	if (rc == 0)
		rc = detach(&b, ret);
	buf_release(&b);
	return rc < 0 ? err_prefix(rc, "oidc: token request") : 0;
}

bool oidc_return_url_ok(const char *url)
{
	size_t i, n;

	if (!url || url[0] != '/')
		return false;
	n = strlen(url);
	if (n > 2048)
		return false;
	/* "//host" and "/\host" are network-path references to another host
	 * (browsers read '\' as '/'). */
	if (url[1] == '/' || url[1] == '\\')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			return false;
	}
	return true;
}
