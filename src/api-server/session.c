/* Sessions: local login, logout, revocation, password change, and the
 * authentication and authorisation of every request.
 *
 * A session is an HS256 JWT (lib/jwtauth) signed with server.secretkey,
 * sent back as the cookie berth.token (HttpOnly, SameSite=Strict, Secure
 * under TLS) and in the body for the CLI. A token is refused when its jti is
 * revoked (logout, password change) or when it was issued before the
 * account's last password change. Revocations are written to this
 * process's memory (immediate), to Redis (other replicas, immediate) and to
 * the Secret berth-revoked-tokens (durable: a Redis flush does not bring a
 * token back; read into every settings snapshot).
 *
 * Logins are throttled per account (lib/throttle) and every failed login
 * answers the same message after the same bcrypt work (lib/passwd), whether
 * the account exists, the password was wrong or the account is locked. */
#include <string.h>
#include <time.h>

#include "b64.h"
#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "jwtauth.h"
#include "log.h"
#include "passwd.h"
#include "server.h"
#include "str.h"

#define LOGIN_FAILED "invalid username or password"
#define MAX_USERNAME 128

void principal_release(struct principal *p)
{
	free(p->sub);
	free(p->jti);
	model_strv_release(&p->groups);
	rbac_policy_free(p->proj_policy);
	settings_put(p->settings);
	memset(p, 0, sizeof(*p));
}

bool api_can(const struct principal *p, const char *resource, const char *action, const char *object)
{
	const struct rbac_policy *pol = p->proj_policy ? p->proj_policy : p->settings->policy;

	return rbac_can(pol, p->sub, (const char *const *)p->groups.v, p->groups.n, resource, action, object);
}

void api_denied(struct httpd_req *req, const char *resource, const char *action, const char *object)
{
	(void)resource;
	(void)action;
	(void)object;
	httpd_respond_error(req, 403, "permission denied");
}

bool api_require_json(struct httpd_req *req)
{
	if (httpd_req_content_type_is(req, "application/json"))
		return true;
	httpd_respond_error(req, 415, "state-changing requests need Content-Type: application/json");
	return false;
}

/* The bcrypt hash and password mtime keys of a local account that may log
 * in with a password, or false. */
static bool local_account(const struct settings *st, const char *name, char *hash_key, size_t hk,
			  char *mtime_key, size_t mk)
{
	if (!strcmp(name, "admin")) {
		if (!st->admin_enabled)
			return false;
		str_copy(hash_key, "admin.password", hk);
		str_copy(mtime_key, "admin.passwordMtime", mk);
		return true;
	}
	char cmkey[MAX_USERNAME + 16];
	snprintf(cmkey, sizeof(cmkey), "accounts.%s", name);
	const char *caps = settings_cm(st, cmkey);
	if (!caps)
		return false;
	snprintf(hash_key, hk, "accounts.%s.password", name);
	snprintf(mtime_key, mk, "accounts.%s.passwordMtime", name);
	return true;
}

static bool account_has_cap(const struct settings *st, const char *name, const char *cap)
{
	char cmkey[MAX_USERNAME + 16];
	const char *caps;

	if (!strcmp(name, "admin"))
		return !strcmp(cap, "login");
	snprintf(cmkey, sizeof(cmkey), "accounts.%s", name);
	if (!(caps = settings_cm(st, cmkey)))
		return false;
	for (const char *p = caps; *p;) {
		p += strspn(p, " ,");
		size_t n = strcspn(p, " ,");
		if (n == strlen(cap) && !strncmp(p, cap, n))
			return true;
		p += n;
	}
	return false;
}

static bool is_revoked(struct api_server *s, const struct settings *st, const char *jti)
{
	bool r;

	if (!jti)
		return false;
	if (json_object_get(st->revoked, jti))
		return true;
	pthread_mutex_lock(&s->mu);
	r = json_object_get(s->revoked_local, jti) != NULL;
	pthread_mutex_unlock(&s->mu);
	if (r)
		return true;
	if (s->cache) {
		struct buf b;
		char key[96];
		buf_init(&b, 64);
		snprintf(key, sizeof(key), "revoked/%s", jti);
		r = rcache_get(s->cache, key, &b) == 0;
		buf_release(&b);
	}
	return r;
}

/* Revokes jti everywhere (see the top of this file). */
static int revoke(struct api_server *s, const char *jti, int64_t exp)
{
	char expstr[32], key[96];
	int64_t now = clock_wall_ms() / 1000;
	int rc;

	if (!jti)
		return 0;
	snprintf(expstr, sizeof(expstr), "%lld", (long long)exp);
	pthread_mutex_lock(&s->mu);
	json_object_set_new(s->revoked_local, jti, json_string(expstr));
	pthread_mutex_unlock(&s->mu);
	if (s->cache) {
		snprintf(key, sizeof(key), "revoked/%s", jti);
		rcache_set(s->cache, key, "1", 1, exp > now ? exp - now + 60 : JWTAUTH_DEFAULT_TTL_S);
	}
	char *enc = b64_encode(expstr, strlen(expstr), false);
	json_t *patch = json_pack("{s:{s:s}}", "data", jti, enc ? enc : "");
	struct kube_target t = {.api_version = "v1", .kind = "Secret", .namespace_ = s->ns,
				.name = API_REVOKED_SECRET};
	rc = kube_patch(s->kc, &t, KUBE_PATCH_MERGE, patch, NULL, NULL);
	if (rc == BERR_NOTFOUND) {
		json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:O}", "apiVersion", "v1", "kind", "Secret",
					"metadata", "name", API_REVOKED_SECRET, "namespace", s->ns, "type",
					"Opaque", "data", json_object_get(patch, "data"));
		t.name = NULL;
		rc = kube_create(s->kc, &t, obj, NULL, NULL);
		json_decref(obj);
	}
	json_decref(patch);
	free(enc);
	if (rc < 0)
		log_warn("cannot record a revocation in the Secret", "secret", API_REVOKED_SECRET, "error",
			 err_msg(), NULL);
	return rc;
}

static int64_t mtime_of(const struct settings *st, const char *mtime_key)
{
	const char *m = settings_secret(st, mtime_key);
	time_t t;

	return m && clock_parse_rfc3339(m, &t) == 0 ? (int64_t)t : 0;
}

int api_verify_token(struct api_server *s, const char *token, struct principal *p)
{
	struct jwtauth_claims c = {0};
	struct settings *st = settings_get(s);
	int64_t now = clock_wall_ms() / 1000;
	char *proj = NULL, *role = NULL;
	struct model_project project = {0};
	int rc;

	memset(p, 0, sizeof(*p));
	if (!st || !st->key) {
		rc = err_set(BERR_UNAVAILABLE, "no server key yet");
		goto out;
	}
	if ((rc = jwtauth_verify_hs256(st->key, st->key_len, token, NULL, now, &c)) < 0)
		goto out;
	if (is_revoked(s, st, c.jti)) {
		rc = err_set(BERR_UNAUTHORIZED, "token revoked");
		goto out;
	}
	if (jwtauth_parse_project_subject(c.sub, &proj, &role) == 0) {
		/* A project token lives as long as its entry in the project. */
		if ((rc = api_project_fetch(s, proj, &project)) < 0 ||
		    !model_project_token_valid(&project, role, c.jti, now)) {
			rc = err_set(BERR_UNAUTHORIZED, "project token revoked");
			goto out;
		}
		if ((rc = rbac_policy_new(NULL, NULL, NULL, &p->proj_policy)) < 0 ||
		    (rc = rbac_policy_add_project(p->proj_policy, &project)) < 0) {
			rc = err_set(BERR_UNAUTHORIZED, "project token: %s", err_msg());
			goto out;
		}
	} else {
		char hk[MAX_USERNAME + 40], mk[MAX_USERNAME + 40];
		const json_t *local = json_object_get(c.all, "berth.local");
		if (json_is_true(local)) {
			if (!local_account(st, c.sub, hk, sizeof(hk), mk, sizeof(mk))) {
				rc = err_set(BERR_UNAUTHORIZED, "account disabled");
				goto out;
			}
			if (c.iat < mtime_of(st, mk)) {
				rc = err_set(BERR_UNAUTHORIZED, "token issued before the last password change");
				goto out;
			}
			p->is_local = true;
		}
		if ((rc = rbac_groups_from_claims(st->policy, c.all, &p->groups)) < 0)
			goto out;
	}
	p->sub = c.sub;
	p->jti = c.jti;
	c.sub = c.jti = NULL;
	p->iat = c.iat;
	p->exp = c.exp;
	p->settings = st;
	st = NULL;
out:
	if (rc < 0) {
		model_strv_release(&p->groups);
		rbac_policy_free(p->proj_policy);
		p->proj_policy = NULL;
	}
	model_project_release(&project);
	free(proj);
	free(role);
	jwtauth_claims_release(&c);
	settings_put(st);
	return rc;
}

static const char *request_token(struct httpd_req *req)
{
	const char *auth = httpd_req_header(req, "Authorization");

	if (auth && !strncasecmp(auth, "Bearer ", 7))
		return auth + 7;
	return httpd_req_cookie(req, API_COOKIE);
}

int api_authenticate(struct api_server *s, struct httpd_req *req, struct principal *p)
{
	const char *tok = request_token(req);
	int rc;

	if (!tok || !*tok) {
		httpd_respond_error(req, 401, "authentication required");
		return BERR_UNAUTHORIZED;
	}
	if ((rc = api_verify_token(s, tok, p)) < 0) {
		log_debug("token refused", "error", err_msg(), NULL);
		httpd_respond_error(req, 401, "invalid session");
		return BERR_UNAUTHORIZED;
	}
	return 0;
}

bool api_begin(struct api_server *s, struct httpd_req *req, struct principal *p)
{
	const char *m = httpd_req_method(req);
	size_t len = 0;

	httpd_req_body(req, &len);
	/* CSRF: a form or text/plain POST can be sent cross-site with cookies;
	 * JSON cannot without a CORS preflight. DELETE without a body is fine
	 * (SameSite=Strict keeps the cookie off cross-site requests). */
	if ((!strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH") ||
	     (!strcmp(m, "DELETE") && len > 0)) &&
	    !api_require_json(req))
		return false;
	return api_authenticate(s, req, p) == 0;
}

static void set_cookie(struct api_server *s, struct httpd_req *req, const char *token, bool clear)
{
	char *c = str_printf("%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", API_COOKIE, clear ? "" : token,
			     s->tls ? "; Secure" : "", clear ? "; Max-Age=0" : "");
	if (c)
		httpd_add_header(req, "Set-Cookie", c);
	free(c);
}

/* Makes a failed login take at least as long as the slowest path, so the
 * clock tells nothing either (bcrypt already costs the same in each). */
static void pad_time(int64_t start_ms, int64_t floor_ms)
{
	int64_t left = floor_ms - (clock_mono_ms() - start_ms);
	if (left > 0)
		clock_sleep_ms(left);
}

/* POST /api/v1/session {username, password} -> {token} + cookie. */
void api_session_create(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct settings *st = NULL;
	json_t *body = NULL, *out = NULL;
	char *token = NULL;
	int64_t start = clock_mono_ms(), now_ms = clock_wall_ms();
	char hk[MAX_USERNAME + 40], mk[MAX_USERNAME + 40];
	const char *user, *password, *hash = NULL;
	bool known;

	if (!api_require_json(req))
		return;
	if (httpd_req_json(req, &body) < 0 || !(user = jx_str(body, "username")) ||
	    !(password = jx_str(body, "password")) || strlen(user) > MAX_USERNAME || !*user) {
		httpd_respond_error(req, 400, "username and password are required");
		goto out;
	}
	st = settings_get(s);
	known = st && local_account(st, user, hk, sizeof(hk), mk, sizeof(mk)) &&
		account_has_cap(st, user, "login");
	if (known)
		hash = settings_secret(st, hk);
	/* Unknown accounts share the throttle's overflow handling; the name
	 * is hashed there, never kept. */
	if (throttle_check(s->throttle, user, now_ms, NULL) < 0) {
		passwd_check(password, NULL);
		log_info("login refused: account locked", "user", known ? user : "(unknown)", NULL);
		pad_time(start, s->login_floor_ms);
		httpd_respond_error(req, 401, LOGIN_FAILED);
		goto out;
	}
	if (passwd_check(password, hash) < 0) {
		throttle_failure(s->throttle, user, now_ms);
		log_info("login failed", "user", known ? user : "(unknown)", NULL);
		pad_time(start, s->login_floor_ms);
		httpd_respond_error(req, 401, LOGIN_FAILED);
		goto out;
	}
	throttle_success(s->throttle, user, now_ms);
	json_t *extra = json_pack("{s:b}", "berth.local", 1);
	struct jwtauth_issue iss = {.subject = user, .extra = extra};
	int rc = jwtauth_issue_hs256(st->key, st->key_len, &iss, now_ms / 1000, &token, NULL);
	json_decref(extra);
	if (rc < 0) {
		httpd_respond_error(req, 500, "cannot issue a session");
		goto out;
	}
	set_cookie(s, req, token, false);
	out = json_pack("{s:s}", "token", token);
	httpd_respond_json(req, 200, out);
	log_info("login", "user", user, NULL);
out:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	json_decref(body);
	json_decref(out);
	settings_put(st);
}

/* DELETE /api/v1/session: revokes the caller's token, clears the cookie. */
void api_session_delete(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;

	if (!api_begin(s, req, &p))
		return;
	revoke(s, p.jti, p.exp);
	set_cookie(s, req, NULL, true);
	httpd_respond(req, 200, "application/json", "{}", 2);
	principal_release(&p);
}

/* GET /api/v1/session/userinfo */
void api_userinfo(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	const char *tok = request_token(req);

	if (!tok || api_verify_token(s, tok, &p) < 0) {
		json_t *o = json_pack("{s:b}", "loggedIn", 0);
		httpd_respond_json(req, 200, o);
		json_decref(o);
		return;
	}
	json_t *groups = json_array();
	for (size_t i = 0; i < p.groups.n; i++)
		json_array_append_new(groups, json_string(p.groups.v[i]));
	json_t *o = json_pack("{s:b,s:s,s:o,s:I}", "loggedIn", 1, "username", p.sub, "groups", groups, "exp",
			      (json_int_t)p.exp);
	httpd_respond_json(req, 200, o);
	json_decref(o);
	principal_release(&p);
}

/* GET /api/v1/account/can-i/{resource}/{action}/{object...} -> {"value":"yes"|"no"} */
void api_can_i(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;

	if (!api_begin(s, req, &p))
		return;
	bool yes = api_can(&p, httpd_req_param(req, "resource"), httpd_req_param(req, "action"),
			   httpd_req_param(req, "object"));
	json_t *o = json_pack("{s:s}", "value", yes ? "yes" : "no");
	httpd_respond_json(req, 200, o);
	json_decref(o);
	principal_release(&p);
}

/* PUT /api/v1/account/password {currentPassword, newPassword, name?}: a local
 * account changes its own password (or, with accounts/update, another's
 * when name is given). The caller's current token and every token issued
 * before now are revoked. */
void api_account_password(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct principal p;
	json_t *body = NULL, *kv = NULL;
	char *hash = NULL;
	char hk[MAX_USERNAME + 40], mk[MAX_USERNAME + 40], mtime[40];
	const char *cur, *npw, *name;
	int64_t now_ms = clock_wall_ms();

	if (!api_begin(s, req, &p))
		return;
	if (httpd_req_json(req, &body) < 0 || !(cur = jx_str(body, "currentPassword")) ||
	    !(npw = jx_str(body, "newPassword"))) {
		httpd_respond_error(req, 400, "currentPassword and newPassword are required");
		goto out;
	}
	name = jx_str(body, "name");
	if (!name || !*name)
		name = p.sub;
	if (strcmp(name, p.sub) && !api_can(&p, "accounts", "update", name)) {
		api_denied(req, "accounts", "update", name);
		goto out;
	}
	if (!p.is_local || !local_account(p.settings, name, hk, sizeof(hk), mk, sizeof(mk))) {
		httpd_respond_error(req, 400, "account %s has no local password", name);
		goto out;
	}
	/* The current password is the caller's own, throttled like a login. */
	char ck[MAX_USERNAME + 40], cm[MAX_USERNAME + 40];
	local_account(p.settings, p.sub, ck, sizeof(ck), cm, sizeof(cm));
	if (throttle_check(s->throttle, p.sub, now_ms, NULL) < 0 ||
	    passwd_check(cur, settings_secret(p.settings, ck)) < 0) {
		throttle_failure(s->throttle, p.sub, now_ms);
		httpd_respond_error(req, 401, "current password does not match");
		goto out;
	}
	if (strlen(npw) < 8 || passwd_hash(npw, 0, &hash) < 0) {
		httpd_respond_error(req, 400, "new password: 8 to %d characters", PASSWD_MAX_LEN);
		goto out;
	}
	/* Tokens issued before this second are refused from now on; the
	 * caller's own token is revoked by id below. */
	clock_format_rfc3339((time_t)(now_ms / 1000), mtime, sizeof(mtime));
	kv = json_pack("{s:s,s:s}", hk, hash, mk, mtime);
	if (settings_secret_patch(s, kv) < 0) {
		httpd_respond_error(req, 500, "cannot store the password");
		goto out;
	}
	if (!strcmp(name, p.sub)) {
		revoke(s, p.jti, p.exp);
		set_cookie(s, req, NULL, true);
	}
	httpd_respond(req, 200, "application/json", "{}", 2);
	log_info("password changed", "account", name, "by", p.sub, NULL);
out:
	free(hash);
	json_decref(body);
	json_decref(kv);
	principal_release(&p);
}
