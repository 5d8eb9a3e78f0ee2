/*
 * berth-api-server internals: the state every handler shares, and the
 * functions the modules of this folder offer each other.
 *
 *   main.c      flags, wiring, routes
 *   settings.c  berth-cm / berth-rbac-cm / berth-secret snapshots (reloaded
 *               while serving), first-start bootstrap, GET /api/v1/settings
 *   oidc.c      OIDC login (/auth/login, /auth/callback)
 *   session.c   login, logout, sessions, revocation, password change,
 *               authentication of every request, RBAC checks, can-i
 *   apps.c      Applications (CRUD, sync, rollback, terminate, refresh)
 *   appviews.c  resource tree, managed resources, manifests
 *   projects.c  AppProjects
 *   creds.c     repositories and clusters (Secrets)
 *   stream.c    Server-Sent Events of Application changes
 *   webhook.c   Git push webhooks (GitHub, GitLab, Bitbucket Cloud)
 *   static.c    the dashboard's files with security headers
 *   misc.c      version, healthz, metrics, JSON helpers
 *
 * Settings are an immutable, reference-counted snapshot: a handler takes one
 * with settings_get, uses it without locks, and drops it; the reloader swaps
 * in a new one when the ConfigMaps or Secret change.
 */
#ifndef BERTH_API_SERVER_H
#define BERTH_API_SERVER_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "httpc.h"
#include "httpd.h"
#include "kube.h"
#include "model.h"
#include "rbac.h"
#include "rcache.h"
#include "throttle.h"

#define API_VERSION_STRING "0.1.0"
#define API_SECRET "berth-secret"
#define API_CM "berth-cm"
#define API_RBAC_CM "berth-rbac-cm"
#define API_INITIAL_SECRET "berth-initial-admin-secret"
#define API_REVOKED_SECRET "berth-revoked-tokens"
#define API_COOKIE "berth.token"

struct settings {
	int refs;
	uint64_t gen;                /* distinct for every snapshot this process made */
	json_t *cm;                  /* berth-cm data (object of strings) */
	json_t *rbac_cm;             /* berth-rbac-cm data */
	json_t *secret;              /* berth-secret data, decoded (object of strings) */
	json_t *revoked;             /* jti -> exp (strings), from berth-revoked-tokens */
	struct rbac_policy *policy;
	uint8_t *key;                /* server.secretkey */
	size_t key_len;
	bool admin_enabled;
};

struct api_server {
	const char *ns;
	struct kube_client *kc;
	struct rcache *cache;        /* NULL without --redis */
	struct httpc *hc;            /* repo server */
	struct httpc *oidc_hc;       /* OIDC provider (TLS verified) */
	const char *repo_server;     /* URL or NULL */
	struct throttle *throttle;
	size_t webhook_max_bytes;
	unsigned sse_heartbeat_s;
	bool tls;

	pthread_mutex_t mu;          /* guards settings and revoked_local */
	struct settings *settings;
	json_t *revoked_local;       /* jti -> exp, revocations made by this process */
	int64_t login_floor_ms;      /* minimum time a failed login answer takes */

	struct sse_hub *hub;
	volatile bool stopping;
};

/* The caller, once authenticated. */
struct principal {
	char *sub;                   /* "admin", "alice", "proj:p:r", OIDC subject */
	char *jti;
	int64_t iat, exp;
	struct model_strv groups;
	bool is_local;               /* a local account (password login) */
	struct rbac_policy *proj_policy;  /* project tokens: policy with the project's roles */
	struct settings *settings;   /* snapshot the request runs on (owned ref) */
};

/* ---- settings.c ---- */
struct settings *settings_get(struct api_server *s);
void settings_put(struct settings *st);
/* The decoded value of key in berth-cm / berth-secret, or NULL. Borrowed. */
const char *settings_cm(const struct settings *st, const char *key);
const char *settings_secret(const struct settings *st, const char *key);
/* Reads everything now and swaps the snapshot in. 0 or a BERR code. */
int settings_reload(struct api_server *s);
/* First start: server.secretkey and the admin password. */
int settings_bootstrap(struct api_server *s);
/* Merge-patches berth-secret's data with the given key/values (plain text,
 * encoded here); NULL values delete. Reloads the snapshot after. */
int settings_secret_patch(struct api_server *s, const json_t *kv);
void *settings_reloader(void *arg);
void api_settings(struct httpd_req *req, void *ud);

/* ---- session.c ---- */
/* Authenticates req: 0 with *p filled (release with principal_release), or
 * answers 401 itself and returns BERR_UNAUTHORIZED. */
int api_authenticate(struct api_server *s, struct httpd_req *req, struct principal *p);
void principal_release(struct principal *p);
bool api_can(const struct principal *p, const char *resource, const char *action, const char *object);
/* The CSRF rule: state-changing requests must carry JSON. Answers 415 and
 * returns false otherwise. */
bool api_require_json(struct httpd_req *req);
/* Authenticates and checks JSON for state-changing methods; false when it
 * answered already. */
bool api_begin(struct api_server *s, struct httpd_req *req, struct principal *p);
void api_session_create(struct httpd_req *req, void *ud);
void api_session_delete(struct httpd_req *req, void *ud);
void api_userinfo(struct httpd_req *req, void *ud);
void api_can_i(struct httpd_req *req, void *ud);
void api_account_password(struct httpd_req *req, void *ud);
void api_account_token_create(struct httpd_req *req, void *ud);
void api_account_token_delete(struct httpd_req *req, void *ud);
/* Verifies a token (session or project) without a request; for SSE too. */
int api_verify_token(struct api_server *s, const char *token, struct principal *p);
/* The same 403 for "forbidden" and for "not found" the caller may not see. */
void api_denied(struct httpd_req *req, const char *resource, const char *action, const char *object);

/* ---- oidc.c ---- */
void api_auth_login(struct httpd_req *req, void *ud);
void api_auth_callback(struct httpd_req *req, void *ud);
void api_auth_token(struct httpd_req *req, void *ud);

/* ---- apps.c ---- */
void api_apps_list(struct httpd_req *req, void *ud);
void api_app_create(struct httpd_req *req, void *ud);
void api_app_get(struct httpd_req *req, void *ud);
void api_app_update(struct httpd_req *req, void *ud);
void api_app_delete(struct httpd_req *req, void *ud);
void api_app_sync(struct httpd_req *req, void *ud);
void api_app_rollback(struct httpd_req *req, void *ud);
void api_app_terminate(struct httpd_req *req, void *ud);
/* Loads app name; checks action on it for p. 0 with *ret (new ref); else
 * answered (404/403/500) and < 0. */
int api_app_load(struct api_server *s, struct httpd_req *req, const struct principal *p,
		 const char *name, const char *action, json_t **ret);
/* "<project>/<name>" of an Application object into out. */
void api_app_object(const json_t *app, char *out, size_t size);

/* ---- appviews.c ---- */
void api_app_resource_tree(struct httpd_req *req, void *ud);
void api_app_managed_resources(struct httpd_req *req, void *ud);
void api_app_manifests(struct httpd_req *req, void *ud);

/* ---- projects.c ---- */
void api_projects_list(struct httpd_req *req, void *ud);
void api_project_create(struct httpd_req *req, void *ud);
void api_project_get(struct httpd_req *req, void *ud);
void api_project_update(struct httpd_req *req, void *ud);
void api_project_delete(struct httpd_req *req, void *ud);
void api_project_token_create(struct httpd_req *req, void *ud);
void api_project_token_delete(struct httpd_req *req, void *ud);
/* The project called name (the built-in default when "default" is absent).
 * 0, BERR_NOTFOUND, or a kube error. */
int api_project_fetch(struct api_server *s, const char *name, struct model_project *out);
/* Checks an app against its project and the known clusters; answers 400/403
 * and returns false when refused. */
bool api_project_check_app(struct api_server *s, struct httpd_req *req, const struct model_app *app);
/* Checks the kinds of objects (an array of manifests as objects or JSON
 * text, or of {group, kind}) against the project's resource allow/deny
 * lists, as the controller does before applying; answers 403 with the
 * project's reason (or 400/5xx) and returns false when one is refused. */
bool api_project_check_kinds(struct api_server *s, struct httpd_req *req, const char *project,
			     const json_t *objects);

/* ---- creds.c ---- */
void api_repos_list(struct httpd_req *req, void *ud);
void api_repo_create(struct httpd_req *req, void *ud);
void api_repo_get(struct httpd_req *req, void *ud);
void api_repo_update(struct httpd_req *req, void *ud);
void api_repo_delete(struct httpd_req *req, void *ud);
void api_clusters_list(struct httpd_req *req, void *ud);
void api_cluster_create(struct httpd_req *req, void *ud);
void api_cluster_get(struct httpd_req *req, void *ud);
void api_cluster_update(struct httpd_req *req, void *ud);
void api_cluster_delete(struct httpd_req *req, void *ud);
/* Every repository / cluster Secret, parsed. Arrays freed with the _free. */
int api_repos_load(struct api_server *s, struct model_repo **ret, size_t *ret_n);
void api_repos_free(struct model_repo *v, size_t n);
int api_clusters_load(struct api_server *s, struct model_cluster **ret, size_t *ret_n);
void api_clusters_free(struct model_cluster *v, size_t n);
/* {url, username?, password?, sshPrivateKey?, insecure?} for the repo server. */
json_t *api_repo_request_creds(struct api_server *s, const char *url);

/* ---- stream.c ---- */
int sse_hub_start(struct api_server *s);
/* stop joins the hub's thread (s->stopping must be set); free frees the
 * hub, after kube_client_free has ended its watch. */
void sse_hub_stop(struct api_server *s);
void sse_hub_free(struct api_server *s);
void api_stream_apps(struct httpd_req *req, void *ud);
/* The Application cache (see stream.c). It cannot answer (BERR_UNAVAILABLE:
 * ask the API) before its first list, or when this process's own writes
 * have not come through the watch within 2 s.
 * expect: this process wrote name and got written back (NULL for a
 * deletion); reads wait for the cache to have seen it.
 * get: 0 with *ret (new ref, read-only), BERR_NOTFOUND, BERR_UNAVAILABLE. */
void sse_hub_expect(struct api_server *s, const char *name, const json_t *written);
int sse_hub_get(struct api_server *s, const char *name, json_t **ret);
/* One page of the cache in name order: the first `limit` entries (0: all)
 * after `after` that accept takes, as *ret_entries (a new array of the
 * cache's entries {obj, json, name, object}: read-only, json the object's
 * compact text, object "<project>/<name>"), and in *ret_remaining how many entries past
 * them accept would take too (0 when the page ends the list). accept runs
 * under the cache's lock and must be quick and depend only on the entry
 * and the caller. With a memo_key naming the caller (its identity and the
 * settings it runs on), whether each entry is accepted is remembered
 * until an app comes, goes or changes project, so later pages cost
 * O(page), not O(apps), and a full list checks no entry again.
 * *ret_version is the hub's sequence number the page is current at: the
 * list's metadata.resourceVersion, which the stream takes as
 * ?resourceVersion= to send only what changed after it.
 * 0 or BERR_UNAVAILABLE / BERR_NOMEM. */
typedef bool (*sse_accept_fn)(json_t *entry, void *ud);
int sse_hub_page(struct api_server *s, const char *after, size_t limit, sse_accept_fn accept, void *ud,
		 const char *memo_key, json_t **ret_entries, size_t *ret_remaining, uint64_t *ret_version);

/* ---- webhook.c ---- */
void api_webhook(struct httpd_req *req, void *ud);

/* ---- static.c ---- */
/* Serves --static-dir (path may be NULL: the fallback then answers 404). */
int static_init(const char *path);
void static_release(void);
void api_static(struct httpd_req *req, void *ud);

/* ---- misc.c ---- */
void api_version(struct httpd_req *req, void *ud);
void api_healthz(struct httpd_req *req, void *ud);
void api_metrics(struct httpd_req *req, void *ud);
/* Maps a BERR code from kube to an HTTP answer {"error","code"}. */
void api_respond_err(struct httpd_req *req, int rc);
unsigned api_http_status(int rc);
/* POSTs body to the repo server at path; 0 with *ret (parsed JSON). */
int api_repo_server_call(struct api_server *s, const char *path, const json_t *body, json_t **ret);

#endif
