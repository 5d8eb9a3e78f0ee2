/* berth-repo-server: fetches Git repositories, renders manifests, caches
 * them (DESIGN.md §1, §9). This file parses flags and wires the parts;
 * routes.c, manifests.c and metrics.c hold the logic. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemonopts.h"
#include "err.h"
#include "fsx.h"
#include "log.h"
#include "server.h"
#include "str.h"

#define VERSION "0.1.0"

static const char usage[] =
	"usage: berth-repo-server [flags]\n"
	"\n"
	"Fetches Git repositories, renders Kubernetes manifests (Directory, Kustomize,\n"
	"Helm, Jsonnet) and caches them in Redis. Serves POST /v1/manifests,\n"
	"/v1/resolve, /v1/app-details, GET /healthz and /metrics.\n"
	"\n"
	"flags:\n"
	"  --listen HOST:PORT            address to serve on (default 127.0.0.1:8081)\n"
	"  --tls-cert-file FILE          serve HTTPS with this certificate chain (PEM)\n"
	"  --tls-key-file FILE           the certificate's private key (PEM)\n"
	"  --tls-client-ca-file FILE     require client certificates signed by this CA (mTLS)\n"
	"  --redis HOST:PORT             Redis for the manifest cache (default: no cache)\n"
	"  --redis-password-file FILE    file holding the Redis password\n"
	"  --server-secret-file FILE     file holding server.secretkey, the cache signing key\n"
	"                                (default: a random key per process)\n"
	"  --cache-dir DIR               Git cache clones and private checkouts\n"
	"                                (default $TMPDIR/berth-repo-server)\n"
	"  --max-cached-repos N          cache clones kept on disk, least recently used\n"
	"                                removed first (default 1000)\n"
	"  --work-dir DIR                private checkouts of renders, best on tmpfs (default: a\n"
	"                                private folder in /dev/shm, else DIR/work of --cache-dir)\n"
	"  --exec-timeout DURATION       limit per helm/kustomize/git run (default 90s)\n"
	"  --max-manifest-bytes SIZE     limit on one app's rendered manifests (default 64M)\n"
	"  --max-request-bytes SIZE      limit on request bodies (default 1M)\n"
	"  --parallelism N               renders at once (default 8)\n"
	DAEMONOPTS_USAGE_COMMON;

struct flags {
	struct daemon_opts d;
	const char *cache_dir, *work_dir;
	const char *tls_cert, *tls_key, *tls_client_ca;
	int64_t exec_timeout_ms;
	uint64_t max_manifest_bytes, max_request_bytes;
	int parallelism, max_cached_repos;
};

/* DAEMONOPTS_* (>= 0) or BERR_INVALID. */
static int parse_flags(int argc, char **argv, struct flags *f)
{
	*f = (struct flags){.d = {.listen = "127.0.0.1:8081", .log_level = LOG_LEVEL_INFO, .log_format = LOG_FORMAT_TEXT},
			    .exec_timeout_ms = 90000, .max_manifest_bytes = (uint64_t)64 << 20,
			    .max_request_bytes = (uint64_t)1 << 20, .parallelism = 8, .max_cached_repos = 1000};
	const struct daemon_flag flags[] = {
		{.name = "--tls-cert-file", .type = DAEMON_FLAG_STRING, .dest = &f->tls_cert},
		{.name = "--tls-key-file", .type = DAEMON_FLAG_STRING, .dest = &f->tls_key},
		{.name = "--tls-client-ca-file", .type = DAEMON_FLAG_STRING, .dest = &f->tls_client_ca},
		{.name = "--cache-dir", .type = DAEMON_FLAG_STRING, .dest = &f->cache_dir},
		{.name = "--work-dir", .type = DAEMON_FLAG_STRING, .dest = &f->work_dir},
		{.name = "--exec-timeout", .type = DAEMON_FLAG_DURATION, .dest = &f->exec_timeout_ms},
		{.name = "--max-manifest-bytes", .type = DAEMON_FLAG_SIZE, .dest = &f->max_manifest_bytes},
		{.name = "--max-request-bytes", .type = DAEMON_FLAG_SIZE, .dest = &f->max_request_bytes},
		{.name = "--max-cached-repos", .type = DAEMON_FLAG_INT, .dest = &f->max_cached_repos, .min = 1, .max = 1000000},
		{.name = "--parallelism", .type = DAEMON_FLAG_INT, .dest = &f->parallelism, .min = 1, .max = 1024},
	};
	int rc = daemonopts_parse(argc, argv, flags, sizeof(flags) / sizeof(*flags), &f->d);

	if (rc != DAEMONOPTS_RUN)
		return rc;
	if (f->exec_timeout_ms <= 0)
		return err_set(BERR_INVALID, "--exec-timeout must be positive");
	if (!f->tls_cert != !f->tls_key)
		return err_set(BERR_INVALID, "--tls-cert-file and --tls-key-file go together");
	if (f->tls_client_ca && !f->tls_cert)
		return err_set(BERR_INVALID, "--tls-client-ca-file needs --tls-cert-file");
	return DAEMONOPTS_RUN;
}

static void on_redis_state(bool up, const char *msg, void *arg)
{
	(void)arg;
	if (up)
		log_info("redis reachable, manifest cache on", NULL);
	else
		log_warn("redis unavailable, rendering without cache", "error", msg, NULL);
}

/* PATH for tools: ours, plus .deps/bin next to the build (helm from
 * scripts/install-deps) when it exists. */
static char *tool_path(void)
{
	char exe[PATH_MAX];
	const char *path = getenv("PATH");
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *deps = NULL, *out;
	struct stat st;

	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			deps = str_printf("%s/../.deps/bin", exe);
			if (deps && (stat(deps, &st) < 0 || !S_ISDIR(st.st_mode))) {
				free(deps);
				deps = str_printf("%s/../../../.deps/bin", exe); /* build/san/bin */
				if (deps && (stat(deps, &st) < 0 || !S_ISDIR(st.st_mode))) {
					free(deps);
					deps = NULL;
				}
			}
		}
	}
	out = str_printf("%s%s%s", path ? path : "/usr/local/bin:/usr/bin:/bin", deps ? ":" : "", deps ? deps : "");
	free(deps);
	return out;
}

/* ls-remote answers shared through Redis (signed like every entry). */
static int ref_store_get(void *arg, const char *key, struct buf *out)
{
	return rcache_get(arg, key, out);
}

static void ref_store_put(void *arg, const char *key, const char *text, size_t len, int64_t ttl_s)
{
	rcache_set(arg, key, text, len, ttl_s);
}

static int setup_cache(const struct flags *f, struct repo_server *s)
{
	struct rcache_opts base = {.timeout_ms = 1000, .pool_size = 8, .on_state = on_redis_state};

	if (f->d.redis && !f->d.server_secret_file)
		log_info("no --server-secret-file: signing the cache with a random per-process key", NULL);
	return daemonopts_open_cache(&f->d, &base, &s->cache);
}

/* Private checkouts are written and removed for every render, so they
 * belong on tmpfs: creating 500 small files takes ~150 ms on the disk of
 * the benchmark machine and ~6 ms in /dev/shm (bench/RESULTS.md). An
 * explicit --work-dir is emptied at start (leftovers of a killed run); the
 * default is a private folder in /dev/shm, removed at exit. */
static int setup_work_dir(const struct flags *f, const char *cache_dir, struct repo_server *s)
{
	struct stat st;

	if (f->work_dir) {
		if (!(s->work_dir = str_dup(f->work_dir)))
			return err_set(BERR_NOMEM, "out of memory");
		fsx_remove_tree(s->work_dir);
		if (mkdir(s->work_dir, 0700) < 0)
			return err_set(BERR_IO, "--work-dir \"%s\": %s", s->work_dir, strerror(errno));
		return 0;
	}
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0 &&
	    fsx_private_dir("/dev/shm", "berth-repo-server-", &s->work_dir) == 0) {
		s->work_dir_private = true;
		return 0;
	}
	if (!(s->work_dir = str_printf("%s/work", cache_dir)))
		return err_set(BERR_NOMEM, "out of memory");
	fsx_remove_tree(s->work_dir);
	if (mkdir(s->work_dir, 0700) < 0)
		return err_set(BERR_IO, "work dir \"%s\": %s", s->work_dir, strerror(errno));
	return 0;
}

static int setup(const struct flags *f, struct repo_server *s)
{
	char *cache_dir = NULL, *git_dir = NULL;
	const char *tmp = getenv("TMPDIR");
	int rc;

	memset(s, 0, sizeof(*s));
	repo_metrics_init(&s->metrics);
	sem_init(&s->render_slots, 0, (unsigned)f->parallelism);
	s->exec_timeout_ms = f->exec_timeout_ms;
	s->max_manifest_bytes = (size_t)f->max_manifest_bytes;
	cache_dir = f->cache_dir ? str_dup(f->cache_dir) : str_printf("%s/berth-repo-server", tmp && *tmp ? tmp : "/tmp");
	if (!cache_dir)
		return err_set(BERR_NOMEM, "out of memory");
	if (mkdir(cache_dir, 0700) < 0 && errno != EEXIST) {
		rc = err_set(BERR_IO, "--cache-dir \"%s\": %s", cache_dir, strerror(errno));
		goto out;
	}
	git_dir = str_printf("%s/git", cache_dir);
	s->tool_path = tool_path();
	if (!git_dir || !s->tool_path) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = setup_work_dir(f, cache_dir, s)) < 0)
		goto out;
	if ((rc = gitrepo_cache_new(git_dir, f->exec_timeout_ms, &s->git)) < 0)
		goto out;
	gitrepo_set_max_repos(s->git, (size_t)f->max_cached_repos);
	s->tool_versions = render_tool_versions(s->tool_path);
	if ((rc = setup_cache(f, s)) < 0)
		goto out;
	if (s->cache) {
		struct gitrepo_ref_store store = {.get = ref_store_get, .put = ref_store_put, .arg = s->cache};
		gitrepo_set_ref_store(s->git, &store);
	}
out:
	free(cache_dir);
	free(git_dir);
	return rc;
}

static void teardown(struct repo_server *s)
{
	gitrepo_cache_free(s->git);
	rcache_free(s->cache);
	if (s->work_dir_private && s->work_dir)
		fsx_remove_tree(s->work_dir);
	free(s->work_dir);
	free(s->tool_path);
	free(s->tool_versions);
	sem_destroy(&s->render_slots);
	pthread_mutex_destroy(&s->metrics.mu);
}

int main(int argc, char **argv)
{
	struct flags f;
	struct repo_server s;
	struct httpd *srv = NULL;
	sigset_t sigs;
	int rc, sig = 0;

	switch (parse_flags(argc, argv, &f)) {
	case DAEMONOPTS_RUN:
		break;
	case DAEMONOPTS_HELP:
		fputs(usage, stdout);
		return 0;
	case DAEMONOPTS_VERSION:
		printf("berth-repo-server %s\n", VERSION);
		return 0;
	default:
		fprintf(stderr, "berth-repo-server: %s\n(see --help)\n", err_msg());
		return 2;
	}
	log_setup(f.d.log_level, f.d.log_format);
	/* Block the stop signals in every thread; main waits for them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((rc = setup(&f, &s)) < 0) {
		log_error("cannot start", "error", err_msg(), NULL);
		teardown(&s);
		return 1;
	}
	/* Callers hold repository credentials: off loopback, use mTLS. */
	struct httpd_config hc = {.listen = f.d.listen,
				  .max_body_bytes = (size_t)f.max_request_bytes,
				  .access_log = f.d.log_level == LOG_LEVEL_DEBUG,
				  .tls_cert_file = f.tls_cert,
				  .tls_key_file = f.tls_key,
				  .tls_client_ca_file = f.tls_client_ca,
				  .tls_client_cert_required = f.tls_client_ca != NULL};
	if ((rc = httpd_new(&hc, &srv)) < 0 ||
	    (rc = httpd_route(srv, "POST", "/v1/manifests", repo_handle_manifests, &s)) < 0 ||
	    (rc = httpd_route(srv, "POST", "/v1/resolve", repo_handle_resolve, &s)) < 0 ||
	    (rc = httpd_route(srv, "POST", "/v1/app-details", repo_handle_app_details, &s)) < 0 ||
	    (rc = httpd_route(srv, "GET", "/healthz", repo_handle_healthz, &s)) < 0 ||
	    (rc = httpd_route(srv, "GET", "/metrics", repo_handle_metrics, &s)) < 0 || (rc = httpd_start(srv)) < 0) {
		log_error("cannot serve", "error", err_msg(), NULL);
		httpd_free(srv);
		teardown(&s);
		return 1;
	}
	char port[16];
	snprintf(port, sizeof(port), "%u", httpd_port(srv));
	log_info("berth-repo-server ready", "listen", f.d.listen, "port", port, "tools", s.tool_versions, NULL);
	while (sigwait(&sigs, &sig) != 0)
		;
	log_info("stopping", NULL);
	httpd_free(srv);
	teardown(&s);
	return 0;
}
