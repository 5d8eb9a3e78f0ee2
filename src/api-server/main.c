/* berth-api-server: the REST API, login, RBAC, webhooks and live events in
 * front of everything the dashboard and the CLI do (DESIGN.md §9). This
 * file parses flags and wires the parts; see server.h for the map. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fsx.h"
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
	"  --log-level LEVEL             debug, info, warn or error (default info)\n"
	"  --log-format FORMAT           text or json (default text)\n"
	"  --version                     print the version and exit\n"
	"  --help                        print this help and exit\n";

struct flags {
	const char *listen, *kubeconfig, *ns, *redis, *redis_password_file, *repo_server, *secret_file;
	const char *tls_cert, *tls_key, *static_dir;
	bool insecure;
	uint64_t max_request_bytes, webhook_max_bytes;
	int64_t heartbeat_ms;
	int login_table_size;
	enum log_level level;
	enum log_format format;
};

static int parse_flags(int argc, char **argv, struct flags *f)
{
	*f = (struct flags){.listen = "127.0.0.1:8080", .ns = "berth", .max_request_bytes = 1u << 20,
			    .webhook_max_bytes = 1u << 20, .heartbeat_ms = 15000, .login_table_size = 4096, .level = LOG_LEVEL_INFO,
			    .format = LOG_FORMAT_TEXT};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help")) {
			fputs(usage, stdout);
			exit(0);
		}
		if (!strcmp(a, "--version")) {
			printf("berth-api-server %s\n", API_VERSION_STRING);
			exit(0);
		}
		if (!strcmp(a, "--insecure")) {
			f->insecure = true;
			continue;
		}
		if (!v)
			return err_set(BERR_INVALID, "unknown flag or missing value: %s", a);
		i++;
		int rc = 0;
		if (!strcmp(a, "--listen"))
			f->listen = v;
		else if (!strcmp(a, "--kubeconfig"))
			f->kubeconfig = v;
		else if (!strcmp(a, "--namespace"))
			f->ns = v;
		else if (!strcmp(a, "--redis"))
			f->redis = v;
		else if (!strcmp(a, "--redis-password-file"))
			f->redis_password_file = v;
		else if (!strcmp(a, "--server-secret-file"))
			f->secret_file = v;
		else if (!strcmp(a, "--repo-server"))
			f->repo_server = v;
		else if (!strcmp(a, "--tls-cert"))
			f->tls_cert = v;
		else if (!strcmp(a, "--tls-key"))
			f->tls_key = v;
		else if (!strcmp(a, "--static-dir"))
			f->static_dir = v;
		else if (!strcmp(a, "--max-request-bytes"))
			rc = str_to_size(v, &f->max_request_bytes);
		else if (!strcmp(a, "--webhook-max-bytes"))
			rc = str_to_size(v, &f->webhook_max_bytes);
		else if (!strcmp(a, "--sse-heartbeat"))
			rc = str_to_duration_ms(v, &f->heartbeat_ms);
		else if (!strcmp(a, "--login-table-size"))
			rc = str_to_int(v, 1, 1 << 20, &f->login_table_size);
		else if (!strcmp(a, "--log-level"))
			rc = log_parse_level(v, &f->level);
		else if (!strcmp(a, "--log-format"))
			rc = log_parse_format(v, &f->format);
		else
			return err_set(BERR_INVALID, "unknown flag: %s", a);
		if (rc < 0)
			return err_set(BERR_INVALID, "bad value for %s: %s", a, v);
	}
	if (!f->tls_cert != !f->tls_key)
		return err_set(BERR_INVALID, "--tls-cert and --tls-key go together");
	if (!f->tls_cert && !f->insecure)
		return err_set(BERR_INVALID, "give --tls-cert and --tls-key, or --insecure for plain HTTP");
	if (f->heartbeat_ms < 1000)
		return err_set(BERR_INVALID, "--sse-heartbeat must be at least 1s");
	if (f->webhook_max_bytes > f->max_request_bytes)
		f->max_request_bytes = f->webhook_max_bytes;
	return 0;
}

static int read_text_file(const char *path, char **ret)
{
	struct buf b;
	int rc;

	buf_init(&b, 64 << 10);
	if ((rc = fsx_read_file(path, &b)) < 0) {
		buf_release(&b);
		return rc;
	}
	while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == '\r' || b.ptr[b.len - 1] == ' '))
		b.len--;
	b.ptr[b.len] = '\0';
	*ret = buf_detach(&b, NULL);
	return *ret ? 0 : err_set(BERR_NOMEM, "out of memory");
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
	char *password = NULL, *file_key = NULL;
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
	if (f->redis) {
		struct settings *st = settings_get(s);
		if (f->redis_password_file && (rc = read_text_file(f->redis_password_file, &password)) < 0) {
			settings_put(st);
			return err_prefix(rc, "--redis-password-file");
		}
		if (f->secret_file && (rc = read_text_file(f->secret_file, &file_key)) < 0) {
			settings_put(st);
			free(password);
			return err_prefix(rc, "--server-secret-file");
		}
		if (file_key && strlen(file_key) < 16) {
			settings_put(st);
			free(password);
			free(file_key);
			return err_set(BERR_INVALID, "--server-secret-file: the key must have at least 16 bytes");
		}
		const uint8_t *hk = file_key ? (const uint8_t *)file_key : st->key;
		size_t hk_len = file_key ? strlen(file_key) : st->key_len;
		struct rcache_opts ro = {.addr = f->redis,
					 .password = password,
					 .hmac_key = hk,
					 .hmac_key_len = hk_len > 64 ? 64 : hk_len,
					 .timeout_ms = 1000,
					 .pool_size = 8,
					 .on_state = on_redis_state};
		rc = rcache_new(&ro, &s->cache);
		settings_put(st);
		if (file_key) {
			explicit_bzero(file_key, strlen(file_key));
			free(file_key);
		}
		if (password) {
			explicit_bzero(password, strlen(password));
			free(password);
		}
		if (rc < 0)
			return err_prefix(rc, "--redis");
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
	{"DELETE", "/api/v1/repositories/{url}", api_repo_delete},
	{"GET", "/api/v1/clusters", api_clusters_list},
	{"POST", "/api/v1/clusters", api_cluster_create},
	{"GET", "/api/v1/clusters/{server}", api_cluster_get},
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
	if (parse_flags(argc, argv, &f) < 0) {
		fprintf(stderr, "berth-api-server: %s\n(see --help)\n", err_msg());
		return 2;
	}
	log_setup(f.level, f.format);
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
	struct httpd_config hc = {.listen = f.listen,
				  .tls_cert_file = f.tls_cert,
				  .tls_key_file = f.tls_key,
				  .max_body_bytes = (size_t)f.max_request_bytes,
				  .idle_timeout_s = 3600, /* event streams stay open; heartbeats keep them busy */
				  .header_timeout_s = 10,
				  .max_header_bytes = 16 << 10,
				  .access_log = f.level == LOG_LEVEL_DEBUG};
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
	log_info("berth-api-server ready", "listen", f.listen, "port", port, "namespace", s.ns, "tls",
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
