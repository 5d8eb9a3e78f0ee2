/* OIDC login: GET /auth/login and GET /auth/callback (authorization code
 * flow with PKCE S256), on lib/oidc (the pure parts) and lib/jwtauth (ID
 * token verification with the algorithm pinned by the provider's key).
 *
 * oidc.config in berth-cm (YAML, as in Argo CD): issuer, clientID,
 * clientSecret (a value, or "$berth-secret:<key>"), requestedScopes, name.
 * The discovery document and the JWKS are fetched over verified TLS (http
 * only on loopback, which lib/oidc allows for tests), cached for ten
 * minutes, and the JWKS is refetched once when a token names an unknown
 * kid. state, nonce and the PKCE verifier come from the OS RNG; a pending
 * login lives ten minutes in Redis (key "oidc:pending:<sha256 of state>",
 * taken with GETDEL: used once, and any replica can finish a login another
 * started; writes bounded per window, see redis_budget_take) or, without
 * Redis, in this process's memory (table bounded).
 *
 * After the callback the user gets a Berth session whose subject is the ID
 * token's sub and whose groups are the claims named by berth-rbac-cm's
 * scopes. The browser is sent to return_url (a same-origin path); the CLI
 * (`berth login --sso`) passes a loopback return_url
 * ("http://127.0.0.1:PORT/...") together with its own PKCE challenge
 * (code_challenge, S256, as RFC 8252 asks of native apps; a loopback
 * return_url without one is refused). It receives a one-time ?code= at the
 * loopback URL and redeems it with POST /auth/token {code, code_verifier}:
 * the session token never appears in a URL (browser history), and a code
 * seen by anyone else is worthless without the CLI's verifier. A grant is
 * stored like a pending login (Redis key "oidc:grant:<sha256 of code>",
 * else the bounded table), is used once (a wrong verifier spends it) and
 * expires after a minute. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "jwks.h"
#include "jwtauth.h"
#include "kyaml.h"
#include "log.h"
#include "oidc.h"
#include "server.h"
#include "str.h"

#define PENDING_MAX 4096
#define REDIS_PENDING_MAX 16384
#define PENDING_TTL_MS (10 * 60 * 1000)
#define GRANT_TTL_MS (60 * 1000)
#define B64URL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define CACHE_TTL_MS (10 * 60 * 1000)
#define FETCH_MAX ((size_t)1 << 20)

/* A pending login (keyed by state), or with grant set a code the CLI may
 * redeem (keyed by the code; cli_challenge and token set). */
struct pending {
	char *state, *nonce, *verifier, *return_url;
	char *cli_challenge;         /* the CLI's PKCE S256 challenge, or NULL */
	char *token;                 /* grant: the session token */
	bool grant;
	int64_t created_ms;
};

static struct {
	pthread_mutex_t mu;
	struct pending v[PENDING_MAX];
	char *issuer;                /* issuer the caches belong to */
	struct oidc_provider prov;
	bool have_prov;
	int64_t prov_at;
	char *jwks_text;
	int64_t jwks_at;
} oc = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct oidc_cfg {
	json_t *doc;
	const char *issuer, *client_id, *client_secret, *scopes_text;
	char scopes[1024];
};

static void cfg_release(struct oidc_cfg *c)
{
	json_decref(c->doc);
	memset(c, 0, sizeof(*c));
}

/* Reads oidc.config from the snapshot. BERR_NOTFOUND when none. */
static int cfg_load(const struct settings *st, struct oidc_cfg *c)
{
	const char *text = settings_cm(st, "oidc.config");
	int rc;

	memset(c, 0, sizeof(*c));
	if (!text || !*text)
		return err_set(BERR_NOTFOUND, "OIDC is not configured");
	if ((rc = kyaml_load_one(text, strlen(text), NULL, &c->doc)) < 0)
		return err_prefix(rc, "oidc.config");
	c->issuer = jx_str(c->doc, "issuer");
	c->client_id = jx_str(c->doc, "clientID");
	c->client_secret = jx_str(c->doc, "clientSecret");
	if (c->client_secret && str_starts_with(c->client_secret, "$berth-secret:"))
		c->client_secret = settings_secret(st, c->client_secret + strlen("$berth-secret:"));
	if (!c->issuer || !c->client_id) {
		cfg_release(c);
		return err_set(BERR_INVALID, "oidc.config: issuer and clientID are required");
	}
	str_copy(c->scopes, "openid profile email", sizeof(c->scopes));
	json_t *rs = json_object_get(c->doc, "requestedScopes");
	if (json_is_array(rs)) {
		struct buf b;
		size_t i;
		json_t *v;
		buf_init(&b, sizeof(c->scopes) - 1);
		json_array_foreach(rs, i, v) {
			if (json_is_string(v))
				buf_printf(&b, "%s%s", b.len ? " " : "", json_string_value(v));
		}
		if (b.len)
			str_copy(c->scopes, b.ptr, sizeof(c->scopes));
		buf_release(&b);
	}
	return 0;
}

static int fetch(struct api_server *s, const char *url, const char *method, const char *body,
		 const char *const *headers, struct buf *out, long *ret_status)
{
	struct httpc_resp resp;
	int rc;

	httpc_resp_init(&resp);
	struct httpc_req r = {.method = method, .url = url, .headers = headers, .body = body,
			      .body_len = body ? strlen(body) : 0,
			      .content_type = body ? "application/x-www-form-urlencoded" : NULL,
			      .timeout_ms = 15000, .max_response_bytes = FETCH_MAX};
	if ((rc = httpc_request(s->oidc_hc, &r, &resp)) == 0) {
		*ret_status = resp.status;
		rc = buf_append(out, resp.body.ptr, resp.body.len);
	}
	httpc_resp_release(&resp);
	return rc;
}

/* Fills *out with the provider (cached); caller holds nothing. */
static int provider_get(struct api_server *s, const struct oidc_cfg *c, bool refresh_jwks,
			struct oidc_provider *out_copy, struct jwks **ret_keys)
{
	int64_t now = clock_mono_ms();
	struct buf b;
	long status = 0;
	char *url = NULL;
	int rc = 0;

	buf_init(&b, FETCH_MAX);
	pthread_mutex_lock(&oc.mu);
	if (!oc.issuer || strcmp(oc.issuer, c->issuer)) {
		free(oc.issuer);
		oc.issuer = str_dup(c->issuer);
		if (oc.have_prov)
			oidc_provider_release(&oc.prov);
		oc.have_prov = false;
		free(oc.jwks_text);
		oc.jwks_text = NULL;
	}
	if (!oc.have_prov || now - oc.prov_at > CACHE_TTL_MS) {
		size_t n = strlen(c->issuer);
		url = str_printf("%.*s/.well-known/openid-configuration", (int)(n && c->issuer[n - 1] == '/' ? n - 1 : n),
				 c->issuer);
		struct oidc_provider p = {0};
		if (!url || (rc = fetch(s, url, "GET", NULL, NULL, &b, &status)) < 0)
			goto out;
		if (status != 200) {
			rc = err_set(BERR_UNAVAILABLE, "OIDC discovery: HTTP %ld", status);
			goto out;
		}
		if ((rc = oidc_discovery_parse(b.ptr, b.len, c->issuer, &p)) < 0)
			goto out;
		if (oc.have_prov)
			oidc_provider_release(&oc.prov);
		oc.prov = p;
		oc.have_prov = true;
		oc.prov_at = now;
		buf_reset(&b);
	}
	if (ret_keys) {
		if (!oc.jwks_text || refresh_jwks || now - oc.jwks_at > CACHE_TTL_MS) {
			buf_reset(&b);
			if ((rc = fetch(s, oc.prov.jwks_uri, "GET", NULL, NULL, &b, &status)) < 0)
				goto out;
			if (status != 200) {
				rc = err_set(BERR_UNAVAILABLE, "OIDC JWKS: HTTP %ld", status);
				goto out;
			}
			free(oc.jwks_text);
			oc.jwks_text = str_dup(b.ptr);
			oc.jwks_at = now;
		}
		if ((rc = jwks_parse(oc.jwks_text, strlen(oc.jwks_text), ret_keys)) < 0)
			goto out;
	}
	if (out_copy) {
		out_copy->issuer = str_dup(oc.prov.issuer);
		out_copy->authorization_endpoint = str_dup(oc.prov.authorization_endpoint);
		out_copy->token_endpoint = str_dup(oc.prov.token_endpoint);
		out_copy->jwks_uri = str_dup(oc.prov.jwks_uri);
	}
out:
	pthread_mutex_unlock(&oc.mu);
	free(url);
	buf_release(&b);
	return rc;
}

static void pending_clear(struct pending *p)
{
	free(p->state);
	free(p->nonce);
	free(p->verifier);
	free(p->return_url);
	free(p->cli_challenge);
	if (p->token) {
		explicit_bzero(p->token, strlen(p->token));
		free(p->token);
	}
	memset(p, 0, sizeof(*p));
}

/* Stores a pending login (taking ownership of the strings). When the
 * table is full the oldest entry gives way: anonymous /auth/login requests
 * can then delay a login (the user starts again) but never block logins
 * for the whole ten minutes. */
static int pending_put_mem(struct pending *in)
{
	int64_t now = clock_mono_ms();
	struct pending *slot = NULL, *oldest = NULL;

	pthread_mutex_lock(&oc.mu);
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &oc.v[i];
		if (p->state && now - p->created_ms > (p->grant ? GRANT_TTL_MS : PENDING_TTL_MS))
			pending_clear(p);
		if (!p->state && !slot)
			slot = p;
		if (p->state && (!oldest || p->created_ms < oldest->created_ms))
			oldest = p;
	}
	if (!slot) {
		pending_clear(oldest);
		slot = oldest;
	}
	*slot = *in;
	slot->created_ms = now;
	pthread_mutex_unlock(&oc.mu);
	return 0;
}

/* Takes the pending login for state, or with grant the grant for that
 * code (used once). */
static bool pending_take_mem(const char *state, bool grant, struct pending *out)
{
	int64_t now = clock_mono_ms();
	bool found = false;

	pthread_mutex_lock(&oc.mu);
	for (size_t i = 0; i < PENDING_MAX && !found; i++) {
		struct pending *p = &oc.v[i];
		if (p->state && p->grant == grant && str_secure_eq(p->state, strlen(p->state), state, strlen(state))) {
			found = now - p->created_ms <= (grant ? GRANT_TTL_MS : PENDING_TTL_MS);
			if (found) {
				*out = *p;
				memset(p, 0, sizeof(*p));
			} else {
				pending_clear(p);
			}
		}
	}
	pthread_mutex_unlock(&oc.mu);
	return found;
}

/* The Redis key of a pending login or a grant: the state (code) hashed,
 * so the key alone does not give it away. */
static void pending_key(const char *state, bool grant, char *out, size_t size)
{
	char hex[65] = "";
	json_t *j = json_string(state);

	if (!j || jx_hash_hex(j, hex) < 0)
		hex[0] = '\0';
	snprintf(out, size, "oidc:%s:%s", grant ? "grant" : "pending", hex);
	json_decref(j);
}

/* The Redis value of a pending login or grant (NULL when out of memory). */
static char *pending_text(const struct pending *in)
{
	json_t *v = json_object();
	char *text = NULL;

	if (!v)
		return NULL;
	if (in->grant) {
		if (json_object_set_new(v, "token", json_string(in->token)) < 0)
			goto out;
	} else if (json_object_set_new(v, "nonce", json_string(in->nonce)) < 0 ||
		   json_object_set_new(v, "verifier", json_string(in->verifier)) < 0 ||
		   json_object_set_new(v, "returnURL", json_string(in->return_url)) < 0) {
		goto out;
	}
	if (in->cli_challenge && json_object_set_new(v, "cliChallenge", json_string(in->cli_challenge)) < 0)
		goto out;
	text = json_dumps(v, JSON_COMPACT);
out:
	json_decref(v);
	return text;
}

/* Fills out (grant or pending login for state) from its Redis value. */
static bool pending_from_json(const json_t *v, const char *state, bool grant, struct pending *out)
{
	const char *ch = jx_str(v, "cliChallenge");
	bool ok;

	out->grant = grant;
	out->state = str_dup(state);
	out->cli_challenge = ch ? str_dup(ch) : NULL;
	if (grant) {
		out->token = jx_str(v, "token") ? str_dup(jx_str(v, "token")) : NULL;
		ok = out->token != NULL;
	} else {
		out->nonce = jx_str(v, "nonce") ? str_dup(jx_str(v, "nonce")) : NULL;
		out->verifier = jx_str(v, "verifier") ? str_dup(jx_str(v, "verifier")) : NULL;
		out->return_url = jx_str(v, "returnURL") ? str_dup(jx_str(v, "returnURL")) : NULL;
		ok = out->nonce && out->verifier && out->return_url;
	}
	ok = ok && out->state && (!ch || out->cli_challenge);
	if (!ok)
		pending_clear(out);
	return ok;
}

/* Whether one more pending login or grant may go to Redis. /auth/login is
 * anonymous, so what it writes there is bounded: at most REDIS_PENDING_MAX
 * per PENDING_TTL_MS window and process (keys live one window, so about
 * twice that exist at once, a few MB). Past it, logins go to the bounded
 * memory table: a flood then costs cross-replica completion for a while,
 * never Redis memory. $BERTH_FAILPOINT_OIDC_REDIS_MAX lowers the bound for
 * tests. */
static bool redis_budget_take(void)
{
	static int max = -1;
	static int64_t window_start;
	static int used;
	int64_t now = clock_mono_ms();
	bool ok;

	pthread_mutex_lock(&oc.mu);
	if (max < 0) {
		const char *e = getenv("BERTH_FAILPOINT_OIDC_REDIS_MAX");
		if (!e || str_to_int(e, 0, REDIS_PENDING_MAX, &max) < 0)
			max = REDIS_PENDING_MAX;
	}
	if (!window_start || now - window_start > PENDING_TTL_MS) {
		window_start = now;
		used = 0;
	}
	ok = used < max;
	if (ok)
		used++;
	pthread_mutex_unlock(&oc.mu);
	return ok;
}

/* Stores a pending login or grant in Redis (any replica can finish it, a
 * restart does not lose it), else in this process's memory. Takes
 * ownership of in's strings. */
static int pending_put(struct api_server *s, struct pending *in)
{
	char key[128];
	char *text = NULL;
	int rc = BERR_UNAVAILABLE;
	int ttl_ms = in->grant ? GRANT_TTL_MS : PENDING_TTL_MS;

	if (s->cache && redis_budget_take()) {
		pending_key(in->state, in->grant, key, sizeof(key));
		if ((text = pending_text(in)) != NULL) {
			rc = rcache_set(s->cache, key, text, strlen(text), ttl_ms / 1000);
			explicit_bzero(text, strlen(text));
			free(text);
		}
	}
	if (rc == 0) {
		pending_clear(in);
		return 0;
	}
	return pending_put_mem(in);
}

/* Takes the pending login for state (or with grant the grant for that
 * code), once: GETDEL in Redis (of two replicas finishing the same login,
 * one wins), else from memory. */
static bool pending_take(struct api_server *s, const char *state, bool grant, struct pending *out)
{
	char key[128];
	struct buf b;
	json_t *v = NULL;
	bool found = false;

	if (s->cache) {
		pending_key(state, grant, key, sizeof(key));
		buf_init(&b, 64 << 10);
		if (rcache_take(s->cache, key, &b) == 0 && jx_parse(b.ptr, b.len, b.len + 1, 8, &v) == 0)
			found = pending_from_json(v, state, grant, out);
		if (b.ptr)
			explicit_bzero(b.ptr, b.len);
		buf_release(&b);
		json_decref(v);
	}
	return found || pending_take_mem(state, grant, out);
}

/* http://127.0.0.1:PORT/... (the CLI). Not "localhost", which a hosts
 * file or resolver may send elsewhere (RFC 8252 8.3). */
static bool loopback_return_url(const char *u)
{
	const char *rest;

	if (!str_starts_with(u, "http://127.0.0.1:"))
		return false;
	rest = u + strlen("http://127.0.0.1:");
	size_t digits = strspn(rest, "0123456789");
	if (!digits || digits > 5 || (rest[digits] != '/' && rest[digits] != '\0'))
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '#')
			return false;
	return strlen(u) < 2048;
}

static char *redirect_uri(struct api_server *s, struct httpd_req *req, const struct settings *st)
{
	const char *url = settings_cm(st, "url"), *host = httpd_req_header(req, "Host");

	if (url && *url) {
		size_t n = strlen(url);
		return str_printf("%.*s/auth/callback", (int)(url[n - 1] == '/' ? n - 1 : n), url);
	}
	return str_printf("%s://%s/auth/callback", s->tls ? "https" : "http", host ? host : "localhost");
}

static void redirect(struct httpd_req *req, const char *location)
{
	httpd_add_header(req, "Location", location);
	httpd_add_header(req, "Cache-Control", "no-store");
	httpd_respond(req, 303, NULL, NULL, 0);
}

/* GET /auth/login?return_url=/path */
void api_auth_login(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct settings *st = settings_get(s);
	struct oidc_cfg c;
	struct oidc_provider prov = {0};
	struct pending pd = {0};
	char *url = NULL, *redir = NULL, challenge[44];
	const char *ret = httpd_req_query(req, "return_url"), *cli_challenge = httpd_req_query(req, "code_challenge");
	const char *cli_method = httpd_req_query(req, "code_challenge_method");

	if (cfg_load(st, &c) < 0) {
		httpd_respond_error(req, 404, "%s", err_msg());
		goto out;
	}
	if (!ret || !*ret)
		ret = "/";
	if (!oidc_return_url_ok(ret) && !loopback_return_url(ret)) {
		httpd_respond_error(req, 400, "return_url: only a path on this site is accepted");
		goto out;
	}
	/* A loopback return_url is the CLI's, and only with its challenge: a
	 * session token is never put in a URL. */
	if ((cli_challenge || loopback_return_url(ret)) &&
	    (!cli_challenge || !loopback_return_url(ret) || !str_eq_null(cli_method, "S256") ||
	     strlen(cli_challenge) != 43 || strspn(cli_challenge, B64URL_CHARS) != 43)) {
		httpd_respond_error(req, 400, "code_challenge: an S256 challenge (43 characters) with a loopback "
					      "return_url is expected");
		goto out;
	}
	if (provider_get(s, &c, false, &prov, NULL) < 0) {
		log_warn("OIDC provider unavailable", "error", err_msg(), NULL);
		httpd_respond_error(req, 503, "identity provider unavailable");
		goto out;
	}
	if (oidc_random(&pd.state) < 0 || oidc_random(&pd.nonce) < 0 || oidc_random(&pd.verifier) < 0 ||
	    oidc_pkce_challenge(pd.verifier, challenge) < 0 || !(pd.return_url = str_dup(ret)) ||
	    (cli_challenge && !(pd.cli_challenge = str_dup(cli_challenge))) ||
	    !(redir = redirect_uri(s, req, st)) ||
	    oidc_auth_url(&prov, c.client_id, redir, c.scopes, pd.state, pd.nonce, challenge, &url) < 0) {
		pending_clear(&pd);
		httpd_respond_error(req, 500, "cannot start the login");
		goto out;
	}
	if (pending_put(s, &pd) < 0) {
		httpd_respond_error(req, 503, "%s", err_msg());
		goto out;
	}
	redirect(req, url);
out:
	free(url);
	free(redir);
	oidc_provider_release(&prov);
	cfg_release(&c);
	settings_put(st);
}

/* Exchanges code for tokens; *ret_id_token newly allocated. */
static int exchange_code(struct api_server *s, const struct oidc_cfg *c, const struct oidc_provider *prov,
			 const char *code, const char *redir, const char *verifier, char **ret_id_token)
{
	char *body = NULL, *auth = NULL, *basic = NULL;
	struct buf b, cred;
	long status = 0;
	json_t *ans = NULL;
	int rc;

	buf_init(&b, FETCH_MAX);
	buf_init(&cred, 4096);
	if ((rc = oidc_token_body(code, redir, c->client_id, verifier, &body)) < 0)
		goto out;
	const char *headers[2] = {NULL, NULL};
	if (c->client_secret) {
		/* RFC 6749 §2.3.1: form-encode both parts, then base64. */
		buf_printf(&cred, "%s:%s", c->client_id, c->client_secret);
		basic = b64_encode(cred.ptr, cred.len, false);
		auth = str_printf("Authorization: Basic %s", basic ? basic : "");
		headers[0] = auth;
	}
	if ((rc = fetch(s, prov->token_endpoint, "POST", body, headers, &b, &status)) < 0)
		goto out;
	if (status != 200 || jx_parse(b.ptr, b.len, b.len + 1, 32, &ans) < 0 || !jx_str(ans, "id_token")) {
		rc = err_set(BERR_UNAUTHORIZED, "token endpoint refused the code (HTTP %ld)", status);
		goto out;
	}
	*ret_id_token = str_dup(jx_str(ans, "id_token"));
out:
	if (cred.ptr)
		explicit_bzero(cred.ptr, cred.len);
	buf_release(&cred);
	buf_release(&b);
	free(body);
	free(auth);
	free(basic);
	json_decref(ans);
	return rc;
}

/* Where the callback sends a CLI's browser: its loopback URL with a code
 * to redeem with the verifier of its PKCE challenge (the challenge moves
 * from pd to the new grant). NULL when out of memory or when pd has no
 * challenge (api_auth_login refuses that). */
static char *loopback_location(struct api_server *s, struct pending *pd, const char *token)
{
	const char *sep = strchr(pd->return_url, '?') ? "&" : "?";
	struct pending grant = {.grant = true};
	char *loc;

	if (!pd->cli_challenge)
		return NULL;
	if (oidc_random(&grant.state) < 0 || !(grant.token = str_dup(token)) ||
	    !(loc = str_printf("%s%scode=%s", pd->return_url, sep, grant.state))) {
		pending_clear(&grant);
		return NULL;
	}
	grant.cli_challenge = pd->cli_challenge;
	pd->cli_challenge = NULL;
	if (pending_put(s, &grant) < 0) {
		free(loc);
		return NULL;
	}
	return loc;
}

/* GET /auth/callback?code=&state= */
void api_auth_callback(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct settings *st = settings_get(s);
	struct oidc_cfg c = {0};
	struct oidc_provider prov = {0};
	struct pending pd = {0};
	struct jwks *keys = NULL;
	struct jwtauth_claims claims = {0};
	struct model_strv groups = {0};
	char *idt = NULL, *redir = NULL, *token = NULL, *loc = NULL;
	const char *code = httpd_req_query(req, "code"), *state = httpd_req_query(req, "state");
	int64_t now = clock_wall_ms() / 1000;
	int rc;

	if (cfg_load(st, &c) < 0) {
		httpd_respond_error(req, 404, "%s", err_msg());
		goto out;
	}
	/* The provider's error parameters are never echoed (XSS). */
	if (!state || !pending_take(s, state, false, &pd)) {
		httpd_respond_error(req, 400, "login expired or unknown state; start again");
		goto out;
	}
	if (!code || !*code) {
		httpd_respond_error(req, 401, "login failed at the identity provider");
		goto out;
	}
	if (!(redir = redirect_uri(s, req, st)) || provider_get(s, &c, false, &prov, &keys) < 0 ||
	    exchange_code(s, &c, &prov, code, redir, pd.verifier, &idt) < 0) {
		log_warn("OIDC login failed", "error", err_msg(), NULL);
		httpd_respond_error(req, 401, "login failed");
		goto out;
	}
	rc = jwtauth_verify_oidc(keys, idt, c.issuer, c.client_id, pd.nonce, now, &claims);
	if (rc == BERR_NOTFOUND) {
		/* Unknown kid: the provider may have rotated its keys. */
		jwks_free(keys);
		keys = NULL;
		if (provider_get(s, &c, true, NULL, &keys) == 0)
			rc = jwtauth_verify_oidc(keys, idt, c.issuer, c.client_id, pd.nonce, now, &claims);
	}
	if (rc < 0) {
		log_warn("OIDC ID token refused", "error", err_msg(), NULL);
		httpd_respond_error(req, 401, "login failed");
		goto out;
	}
	rbac_groups_from_claims(st->policy, claims.all, &groups);
	json_t *extra = json_object(), *ga = json_array();
	for (size_t i = 0; i < groups.n; i++)
		json_array_append_new(ga, json_string(groups.v[i]));
	json_object_set_new(extra, "groups", ga);
	const char *email = jx_str(claims.all, "email");
	if (email)
		json_object_set_new(extra, "email", json_string(email));
	struct jwtauth_issue iss = {.subject = claims.sub, .extra = extra};
	rc = jwtauth_issue_hs256(st->key, st->key_len, &iss, now, &token, NULL);
	json_decref(extra);
	if (rc < 0) {
		httpd_respond_error(req, 500, "cannot issue a session");
		goto out;
	}
	log_info("OIDC login", "sub", claims.sub, NULL);
	if (loopback_return_url(pd.return_url)) {
		loc = loopback_location(s, &pd, token);
	} else {
		char cookie[JWTAUTH_MAX_TOKEN + 128];
		snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s", API_COOKIE, token,
			 s->tls ? "; Secure" : "");
		httpd_add_header(req, "Set-Cookie", cookie);
		loc = str_dup(pd.return_url);
	}
	redirect(req, loc ? loc : "/");
out:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	free(loc);
	free(idt);
	free(redir);
	model_strv_release(&groups);
	jwtauth_claims_release(&claims);
	jwks_free(keys);
	pending_clear(&pd);
	oidc_provider_release(&prov);
	cfg_release(&c);
	settings_put(st);
}

/* POST /auth/token {code, code_verifier}: redeems a code the callback sent
 * to a CLI's loopback URL for the session token (see the top of the file). */
void api_auth_token(struct httpd_req *req, void *ud)
{
	struct pending g = {0};
	json_t *body = NULL, *ans = NULL;
	char challenge[44];
	struct api_server *s = ud;

	if (!api_require_json(req))
		goto out;
	if (httpd_req_json(req, &body) < 0 || !jx_str(body, "code") || !jx_str(body, "code_verifier")) {
		httpd_respond_error(req, 400, "body: {\"code\": ..., \"code_verifier\": ...} is expected");
		goto out;
	}
	/* Taken before the check: a wrong verifier spends the code. */
	if (!pending_take(s, jx_str(body, "code"), true, &g) || !g.cli_challenge ||
	    oidc_pkce_challenge(jx_str(body, "code_verifier"), challenge) < 0 ||
	    !str_secure_eq(challenge, strlen(challenge), g.cli_challenge, strlen(g.cli_challenge))) {
		err_clear();
		log_warn("login code refused", NULL);
		httpd_respond_error(req, 400, "invalid, used or expired code");
		goto out;
	}
	ans = json_pack("{s:s}", "token", g.token);
	httpd_respond_json(req, 200, ans);
out:
	pending_clear(&g);
	json_decref(body);
	json_decref(ans);
}
