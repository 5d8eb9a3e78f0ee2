/* berth-api-server: the REST API, login, RBAC, webhooks and live events in
 * front of everything the dashboard and the CLI do (DESIGN.md §9). This
 * file parses flags and wires the parts; see server.h for the map. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemonopts.h"
#include "err.h"
#include "log.h"
#include "server.h"
#include "str.h"

static const char usage[] =
	"usage: berth-api-server [flags]\n"
	"\n"
	"Serves Berth's REST API (applications, projects, repositories, clusters,\n"
	"sessions, RBAC), Git webhooks, Server-Sent Events of application changes\n"
	"and the dashboard's static files.\n"
	"\n"
	"flags:\n"
	"  --listen HOST:PORT            address to serve on (default 127.0.0.1:8080)\n"
	"  --kubeconfig FILE             Kubernetes configuration (default $KUBECONFIG,\n"
	"                                else in-cluster, else ~/.kube/config)\n"
	"  --namespace NS                control-plane namespace (default berth)\n"
	"  --redis HOST:PORT             Redis for events, caches and revocations\n"
	"  --redis-password-file FILE    file holding the Redis password\n"
	"  --server-secret-file FILE     key that signs Redis entries, as the controller and repo\n"
	"                                server are given it (default: berth-secret server.secretkey)\n"
	"  --repo-server URL             the repo server (e.g. http://127.0.0.1:8081)\n"
	"  --tls-cert FILE               TLS certificate chain (PEM)\n"
	"  --tls-key FILE                TLS private key (PEM)\n"
	"  --insecure                    serve plain HTTP (without --tls-cert)\n"
	"  --static-dir DIR              the dashboard's files (ui-static/)\n"
	"  --max-request-bytes SIZE      limit on request bodies (default 1M)\n"
	"  --webhook-max-bytes SIZE      limit on webhook bodies (default 1M)\n"
	"  --sse-heartbeat DURATION      interval of event-stream heartbeats (default 15s)\n"
	"  --login-table-size N          accounts tracked by the login throttle (default 4096)\n"
	DAEMONOPTS_USAGE_COMMON;

struct flags {
	struct daemon_opts d;
	const char *kubeconfig, *ns, *repo_server;
	const char *tls_cert, *tls_key, *static_dir;
	bool insecure;
	uint64_t max_request_bytes, webhook_max_bytes;
	int64_t heartbeat_ms;
	int login_table_size;
};

/* DAEMONOPTS_* (>= 0) or BERR_INVALID. */
static int parse_flags(int argc, char **argv, struct flags *f)
{
	*f = (struct flags){.d = {.listen = "127.0.0.1:8080", .log_level = LOG_LEVEL_INFO, .log_format = LOG_FORMAT_TEXT},
			    .ns = "berth", .max_request_bytes = 1u << 20, .webhook_max_bytes = 1u << 20,
			    .heartbeat_ms = 15000, .login_table_size = 4096};
	const struct daemon_flag flags[] = {
		{.name = "--insecure", .type = DAEMON_FLAG_BOOL, .dest = &f->insecure},
		{.name = "--kubeconfig", .type = DAEMON_FLAG_STRING, .dest = &f->kubeconfig},
		{.name = "--namespace", .type = DAEMON_FLAG_STRING, .dest = &f->ns},
		{.name = "--repo-server", .type = DAEMON_FLAG_STRING, .dest = &f->repo_server},
		{.name = "--tls-cert", .type = DAEMON_FLAG_STRING, .dest = &f->tls_cert},
		{.name = "--tls-key", .type = DAEMON_FLAG_STRING, .dest = &f->tls_key},
		{.name = "--static-dir", .type = DAEMON_FLAG_STRING, .dest = &f->static_dir},
		{.name = "--max-request-bytes", .type = DAEMON_FLAG_SIZE, .dest = &f->max_request_bytes},
		{.name = "--webhook-max-bytes", .type = DAEMON_FLAG_SIZE, .dest = &f->webhook_max_bytes},
		{.name = "--sse-heartbeat", .type = DAEMON_FLAG_DURATION, .dest = &f->heartbeat_ms},
		{.name = "--login-table-size", .type = DAEMON_FLAG_INT, .dest = &f->login_table_size, .min = 1, .max = 1 << 20},
	};
	int rc = daemonopts_parse(argc, argv, flags, sizeof(flags) / sizeof(*flags), &f->d);

	if (rc != DAEMONOPTS_RUN)
		return rc;
	if (!f->tls_cert != !f->tls_key)
		return err_set(BERR_INVALID, "--tls-cert and --tls-key go together");
	if (!f->tls_cert && !f->insecure)
		return err_set(BERR_INVALID, "give --tls-cert and --tls-key, or --insecure for plain HTTP");
	if (f->heartbeat_ms < 1000)
		return err_set(BERR_INVALID, "--sse-heartbeat must be at least 1s");
	if (f->webhook_max_bytes > f->max_request_bytes)
		f->max_request_bytes = f->webhook_max_bytes;
	return DAEMONOPTS_RUN;
}

static void on_redis_state(bool up, const char *msg, void *arg)
{
	(void)arg;
	if (up)
		log_info("redis reachable", NULL);
	else
		log_warn("redis unavailable, working without it", "error", msg, NULL);
}

static int setup(const struct flags *f, struct api_server *s)
{
	struct kube_config kcfg = {0};
	int rc;

	s->ns = f->ns;
	s->repo_server = f->repo_server;
	s->webhook_max_bytes = (size_t)f->webhook_max_bytes;
	s->sse_heartbeat_s = (unsigned)(f->heartbeat_ms / 1000);
	s->tls = f->tls_cert != NULL;
	s->login_floor_ms = 0;
	pthread_mutex_init(&s->mu, NULL);
	if (!(s->revoked_local = json_object()) || !(s->throttle = throttle_new((size_t)f->login_table_size, 0, 0)))
		return err_set(BERR_NOMEM, "out of memory");
	if ((rc = kube_config_load_default(f->kubeconfig, NULL, &kcfg)) < 0)
		return err_prefix(rc, "kubeconfig");
	rc = kube_client_new(&kcfg, NULL, &s->kc);
	kube_config_release(&kcfg);
	if (rc < 0)
		return err_prefix(rc, "kubernetes client");
	if ((rc = settings_bootstrap(s)) < 0)
		return err_prefix(rc, "settings in namespace %s", s->ns);
	struct httpc_config oc = {.timeout_ms = 15000, .retry = {.max_attempts = 2}};
	if ((rc = httpc_new(&oc, &s->oidc_hc)) < 0)
		return rc;
	if (f->repo_server) {
		struct httpc_config hc = {.timeout_ms = 120000, .retry = {.max_attempts = 2}};
		if ((rc = httpc_new(&hc, &s->hc)) < 0)
			return rc;
	}
	if (f->d.redis) {
		/* Without --server-secret-file, entries are signed with
		 * server.secretkey of berth-secret, as the other daemons are told. */
		struct settings *st = settings_get(s);
		struct rcache_opts base = {.hmac_key = st->key ? st->key : (const uint8_t *)"",
					   .hmac_key_len = st->key_len > 64 ? 64 : st->key_len,
					   .timeout_ms = 1000,
					   .pool_size = 8,
					   .on_state = on_redis_state};
		rc = daemonopts_open_cache(&f->d, &base, &s->cache);
		settings_put(st);
		if (rc < 0)
			return rc;
	}
	if ((rc = static_init(f->static_dir)) < 0)
		return rc;
	return sse_hub_start(s);
}

static void teardown(struct api_server *s)
{
	sse_hub_stop(s);
	static_release();
	rcache_free(s->cache);
	httpc_free(s->hc);
	httpc_free(s->oidc_hc);
	kube_client_free(s->kc);
	sse_hub_free(s);
	throttle_free(s->throttle);
	settings_put(s->settings);
	json_decref(s->revoked_local);
	pthread_mutex_destroy(&s->mu);
}

struct route {
	const char *method, *pattern;
	httpd_handler_fn fn;
};

static const struct route routes[] = {
	{"GET", "/healthz", api_healthz},
	{"GET", "/metrics", api_metrics},
	{"GET", "/api/version", api_version},
	{"GET", "/api/v1/settings", api_settings},
	{"POST", "/api/v1/session", api_session_create},
	{"DELETE", "/api/v1/session", api_session_delete},
	{"GET", "/api/v1/session/userinfo", api_userinfo},
	{"GET", "/auth/login", api_auth_login},
	{"GET", "/auth/callback", api_auth_callback},
	{"POST", "/auth/token", api_auth_token},
	{"GET", "/api/v1/account/can-i/{resource}/{action}/{object...}", api_can_i},
	{"PUT", "/api/v1/account/password", api_account_password},
	{"POST", "/api/v1/account/{name}/token", api_account_token_create},
	{"DELETE", "/api/v1/account/{name}/token/{id}", api_account_token_delete},
	{"GET", "/api/v1/applications", api_apps_list},
	{"POST", "/api/v1/applications", api_app_create},
	{"GET", "/api/v1/applications/{name}", api_app_get},
	{"PUT", "/api/v1/applications/{name}", api_app_update},
	{"DELETE", "/api/v1/applications/{name}", api_app_delete},
	{"POST", "/api/v1/applications/{name}/sync", api_app_sync},
	{"POST", "/api/v1/applications/{name}/rollback", api_app_rollback},
	{"DELETE", "/api/v1/applications/{name}/operation", api_app_terminate},
	{"GET", "/api/v1/applications/{name}/resource-tree", api_app_resource_tree},
	{"GET", "/api/v1/applications/{name}/managed-resources", api_app_managed_resources},
	{"GET", "/api/v1/applications/{name}/manifests", api_app_manifests},
	{"GET", "/api/v1/stream/applications", api_stream_apps},
	{"GET", "/api/v1/projects", api_projects_list},
	{"POST", "/api/v1/projects", api_project_create},
	{"GET", "/api/v1/projects/{name}", api_project_get},
	{"PUT", "/api/v1/projects/{name}", api_project_update},
	{"DELETE", "/api/v1/projects/{name}", api_project_delete},
	{"POST", "/api/v1/projects/{name}/roles/{role}/token", api_project_token_create},
	{"DELETE", "/api/v1/projects/{name}/roles/{role}/token/{id}", api_project_token_delete},
	{"GET", "/api/v1/repositories", api_repos_list},
	{"POST", "/api/v1/repositories", api_repo_create},
	{"GET", "/api/v1/repositories/{url}", api_repo_get},
	{"PUT", "/api/v1/repositories/{url}", api_repo_update},
	{"DELETE", "/api/v1/repositories/{url}", api_repo_delete},
	{"GET", "/api/v1/clusters", api_clusters_list},
	{"POST", "/api/v1/clusters", api_cluster_create},
	{"GET", "/api/v1/clusters/{server}", api_cluster_get},
	{"PUT", "/api/v1/clusters/{server}", api_cluster_update},
	{"DELETE", "/api/v1/clusters/{server}", api_cluster_delete},
	{"POST", "/api/webhook", api_webhook},
};

int main(int argc, char **argv)
{
	struct flags f;
	struct api_server s;
	struct httpd *srv = NULL;
	pthread_t reloader;
	bool reloading = false;
	sigset_t sigs;
	int rc, sig = 0;

	memset(&s, 0, sizeof(s));
	switch (parse_flags(argc, argv, &f)) {
	case DAEMONOPTS_RUN:
		break;
	case DAEMONOPTS_HELP:
		fputs(usage, stdout);
		return 0;
	case DAEMONOPTS_VERSION:
		printf("berth-api-server %s\n", API_VERSION_STRING);
		return 0;
	default:
		fprintf(stderr, "berth-api-server: %s\n(see --help)\n", err_msg());
		return 2;
	}
	log_setup(f.d.log_level, f.d.log_format);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((rc = setup(&f, &s)) < 0) {
		log_error("cannot start", "error", err_msg(), NULL);
		s.stopping = true;
		teardown(&s);
		return 1;
	}
	reloading = pthread_create(&reloader, NULL, settings_reloader, &s) == 0;
	struct httpd_config hc = {.listen = f.d.listen,
				  .tls_cert_file = f.tls_cert,
				  .tls_key_file = f.tls_key,
				  .max_body_bytes = (size_t)f.max_request_bytes,
				  .idle_timeout_s = 3600, /* event streams stay open; heartbeats keep them busy */
				  .header_timeout_s = 10,
				  .max_header_bytes = 16 << 10,
				  .access_log = f.d.log_level == LOG_LEVEL_DEBUG};
	rc = httpd_new(&hc, &srv);
	for (size_t i = 0; rc == 0 && i < sizeof(routes) / sizeof(*routes); i++)
		rc = httpd_route(srv, routes[i].method, routes[i].pattern, routes[i].fn, &s);
	if (rc == 0) {
		httpd_set_fallback(srv, api_static, &s);
		rc = httpd_start(srv);
	}
	if (rc < 0) {
		log_error("cannot serve", "error", err_msg(), NULL);
		s.stopping = true;
		httpd_free(srv);
		if (reloading)
			pthread_join(reloader, NULL);
		teardown(&s);
		return 1;
	}
	char port[16];
	snprintf(port, sizeof(port), "%u", httpd_port(srv));
	log_info("berth-api-server ready", "listen", f.d.listen, "port", port, "namespace", s.ns, "tls",
		 s.tls ? "on" : "off", NULL);
	while (sigwait(&sigs, &sig) != 0)
		;
	log_info("stopping", NULL);
	s.stopping = true;
	httpd_free(srv);
	if (reloading)
		pthread_join(reloader, NULL);
	teardown(&s);
	return 0;
}
