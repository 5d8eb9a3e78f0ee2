/*
 * oidc — the pure parts of an OpenID Connect login (authorization code flow
 * with PKCE): reading the provider's discovery document, making the
 * one-time values, building the authorization URL and the token request,
 * and vetting the return URL. No I/O: the API server fetches the documents
 * (TLS verified) and verifies the ID token with jwtauth_verify_oidc against
 * the JWKS at jwks_uri, passing the nonce made here.
 *
 * SECURITY.md, "OIDC weaknesses" and "open redirect":
 *  - state, nonce and the PKCE verifier are 32 bytes from the OS RNG each,
 *    base64url (43 characters); the challenge is S256;
 *  - the discovery document must name exactly the configured issuer, and
 *    every endpoint must be https (http only for a loopback host, for tests);
 *  - a return URL is accepted only as a same-origin relative path: "/x",
 *    never "//host", "/\host", a scheme, or a control character.
 */
#ifndef BERTH_OIDC_H
#define BERTH_OIDC_H

#include <stdbool.h>
#include <stddef.h>

#define OIDC_DISCOVERY_MAX ((size_t)256 << 10)

struct oidc_provider {
	char *issuer;
	char *authorization_endpoint;
	char *token_endpoint;
	char *jwks_uri;
	char *userinfo_endpoint;     /* may be NULL */
	char *end_session_endpoint;  /* may be NULL */
};

/* Frees the strings p owns. */
void oidc_provider_release(struct oidc_provider *p);

/* Reads a discovery document (/.well-known/openid-configuration) of len
 * bytes. Its issuer must equal expected_issuer exactly; authorization,
 * token and JWKS endpoints are required; all endpoints must be https (or
 * http on 127.0.0.1, [::1] or localhost); a provider that lists
 * code_challenge_methods_supported without S256 is refused. 0 or
 * BERR_INVALID / BERR_TOOLARGE / BERR_NOMEM; out untouched on failure. */
int oidc_discovery_parse(const char *json, size_t len, const char *expected_issuer,
			 struct oidc_provider *out);

/* 32 random bytes from the OS as base64url (43 characters), for state,
 * nonce and the PKCE verifier. *ret newly allocated. 0, BERR_INTERNAL,
 * BERR_NOMEM. */
int oidc_random(char **ret);

/* The S256 PKCE challenge of verifier: base64url(SHA-256(verifier)), 43
 * characters + NUL. 0 or BERR_INVALID (verifier not 43..128 characters of
 * [A-Za-z0-9-._~]). */
int oidc_pkce_challenge(const char *verifier, char out[44]);

/* The authorization URL: authorization_endpoint with response_type=code,
 * client_id, redirect_uri, scope (space separated; "openid" is added when
 * missing), state, nonce, code_challenge and code_challenge_method=S256,
 * every value percent-encoded. *ret newly allocated. 0, BERR_INVALID (a
 * value missing), BERR_NOMEM. */
int oidc_auth_url(const struct oidc_provider *p, const char *client_id, const char *redirect_uri,
		  const char *scopes, const char *state, const char *nonce, const char *challenge,
		  char **ret);

/* The form body of the token request (grant_type=authorization_code, code,
 * redirect_uri, client_id, code_verifier), percent-encoded. The client
 * secret goes in HTTP basic authentication, not here. *ret newly
 * allocated. 0, BERR_INVALID, BERR_NOMEM. */
int oidc_token_body(const char *code, const char *redirect_uri, const char *client_id,
		    const char *verifier, char **ret);

/* True when url may be used as a post-login redirect: a relative path on
 * this origin ("/applications?x=1"), at most 2048 bytes. */
bool oidc_return_url_ok(const char *url);

#endif
