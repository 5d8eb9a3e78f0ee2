/* berth-app-controller: watches Applications, compares them with their
 * clusters, writes status and runs syncs (DESIGN.md §3–§8). This file parses
 * flags and wires the parts; ctl.h lists the files that hold the logic. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "ctl.h"
#include "daemonopts.h"
#include "err.h"
#include "fsx.h"
#include "health.h"
#include "httpc.h"
#include "httpd.h"
#include "jsonx.h"
#include "kyaml.h"
#include "lease.h"
#include "log.h"
#include "str.h"

#define VERSION "0.1.0"

static const char usage[] =
	"usage: berth-app-controller [flags]\n"
	"\n"
	"Watches Applications in the control-plane namespace, compares each with\n"
	"its destination cluster, writes its status, and syncs it on request or\n"
	"automatically. Serves GET /healthz and /metrics.\n"
	"\n"
	"flags:\n"
	"  --listen HOST:PORT            address for /healthz and /metrics (default 127.0.0.1:8082)\n"
	"  --kubeconfig FILE             kubeconfig of the control-plane cluster (default $KUBECONFIG,\n"
	"                                else the in-cluster configuration)\n"
	"  --namespace NS                control-plane namespace (default berth)\n"
	"  --repo-server URL             the repo server (default http://127.0.0.1:8081)\n"
	"  --redis HOST:PORT             Redis for diffs, resource trees and events (default: none)\n"
	"  --redis-password-file FILE    file holding the Redis password\n"
	"  --server-secret-file FILE     file holding server.secretkey, the cache signing key\n"
	"  --install-crds                apply the Application and AppProject CRDs at start-up\n"
	"  --crds-dir DIR                where the CRDs are (default: manifests/crds next to the binary)\n"
	"  --status-processors N         workers comparing apps (default 8)\n"
	"  --operation-processors N      workers running syncs (default 4)\n"
	"  --resync DURATION             periodic refresh (default: timeout.reconciliation of\n"
	"                                berth-cm, else 180s)\n"
	"  --shard N                     this replica's shard (default 0)\n"
	"  --shards M                    number of shards; with it, one replica per shard is\n"
	"                                active, elected through a Lease (default: no sharding,\n"
	"                                no election)\n"
	"  --lease-duration DURATION     leader lease of a shard (default 15s)\n"
	"  --kube-qps N                  Kubernetes requests per second per cluster, 0: no limit\n"
	"                                (default 2000)\n"
	"  --kube-burst N                burst above --kube-qps (default 4000)\n"
	DAEMONOPTS_USAGE_COMMON;

struct flags {
	struct daemon_opts d;
	const char *kubeconfig, *ns, *repo_server, *crds_dir;
	bool install_crds, sharded;
	int status_processors, operation_processors, shard, shards;
	int64_t resync_ms, lease_ms;
	int kube_qps, kube_burst;
};

/* DAEMONOPTS_* (>= 0) or BERR_INVALID. */
static int parse_flags(int argc, char **argv, struct flags *f)
{
	*f = (struct flags){.d = {.listen = "127.0.0.1:8082", .log_level = LOG_LEVEL_INFO, .log_format = LOG_FORMAT_TEXT},
			    .ns = "berth", .repo_server = "http://127.0.0.1:8081",
			    .status_processors = 8, .operation_processors = 4, .shards = 1, .lease_ms = 15000,
			    .kube_qps = 2000, .kube_burst = 4000};
	const struct daemon_flag flags[] = {
		{.name = "--install-crds", .type = DAEMON_FLAG_BOOL, .dest = &f->install_crds},
		{.name = "--kubeconfig", .type = DAEMON_FLAG_STRING, .dest = &f->kubeconfig},
		{.name = "--namespace", .type = DAEMON_FLAG_STRING, .dest = &f->ns},
		{.name = "--repo-server", .type = DAEMON_FLAG_STRING, .dest = &f->repo_server},
		{.name = "--crds-dir", .type = DAEMON_FLAG_STRING, .dest = &f->crds_dir},
		{.name = "--status-processors", .type = DAEMON_FLAG_INT, .dest = &f->status_processors, .min = 1, .max = 256},
		{.name = "--operation-processors", .type = DAEMON_FLAG_INT, .dest = &f->operation_processors, .min = 1, .max = 256},
		{.name = "--shard", .type = DAEMON_FLAG_INT, .dest = &f->shard, .min = 0, .max = 1023},
		{.name = "--shards", .type = DAEMON_FLAG_INT, .dest = &f->shards, .min = 1, .max = 1024, .given = &f->sharded},
		{.name = "--resync", .type = DAEMON_FLAG_DURATION, .dest = &f->resync_ms},
		{.name = "--kube-qps", .type = DAEMON_FLAG_INT, .dest = &f->kube_qps, .min = 0, .max = 1000000},
		{.name = "--kube-burst", .type = DAEMON_FLAG_INT, .dest = &f->kube_burst, .min = 1, .max = 1000000},
		{.name = "--lease-duration", .type = DAEMON_FLAG_DURATION, .dest = &f->lease_ms},
	};
	int rc = daemonopts_parse(argc, argv, flags, sizeof(flags) / sizeof(*flags), &f->d);

	if (rc != DAEMONOPTS_RUN)
		return rc;
	if (f->shard >= f->shards)
		return err_set(BERR_INVALID, "--shard must be below --shards");
	if (f->lease_ms < 1000)
		return err_set(BERR_INVALID, "--lease-duration must be at least 1s");
	return DAEMONOPTS_RUN;
}

static void on_redis_state(bool up, const char *msg, void *arg)
{
	(void)arg;
	if (up)
		log_info("redis reachable", NULL);
	else
		log_warn("redis unavailable, working without the cache", "error", msg, NULL);
}

static int setup_cache(const struct flags *f, struct ctl *c)
{
	struct rcache_opts base = {.timeout_ms = 1000, .pool_size = 8, .on_state = on_redis_state};

	if (!f->d.redis)
		return 0;
	return daemonopts_open_cache(&f->d, &base, &c->cache);
}

/* manifests/crds next to the binary (bin/ or build/san/bin/). */
static char *default_crds_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return str_dup("manifests/crds");
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	char *p = str_printf("%s/../manifests/crds/application.yaml", exe);
	bool here = p && access(p, R_OK) == 0;
	free(p);
	return here ? str_printf("%s/../manifests/crds", exe) : str_printf("%s/../../../manifests/crds", exe);
}

static int install_crd(struct kube_client *kc, const char *path)
{
	struct buf b;
	json_t *docs = NULL, *d;
	size_t i;
	int rc;

	buf_init(&b, (size_t)16 << 20);
	if ((rc = fsx_read_file(path, &b)) < 0 || (rc = kyaml_load_stream(b.ptr, b.len, NULL, &docs)) < 0) {
		buf_release(&b);
		return err_prefix(rc, "%s", path);
	}
	buf_release(&b);
	json_array_foreach(docs, i, d) {
		struct kube_target t;
		json_t *live = NULL;
		if ((rc = kube_target_of(d, &t)) < 0)
			break;
		rc = kube_create(kc, &t, d, NULL, NULL);
		if (rc == BERR_EXISTS && (rc = kube_get(kc, &t, NULL, &live)) == 0) {
			json_object_set(json_object_get(d, "metadata"), "resourceVersion",
					jx_path(live, "metadata", "resourceVersion", NULL));
			rc = kube_update(kc, &t, d, NULL, NULL);
			json_decref(live);
		}
		if (rc < 0)
			break;
		for (int64_t deadline = clock_mono_ms() + 30000; clock_mono_ms() < deadline;) {
			struct health h;
			live = NULL;
			if (kube_get(kc, &t, NULL, &live) == 0 && health_assess(live, NULL, &h) == 1 &&
			    h.status == HEALTH_HEALTHY) {
				json_decref(live);
				break;
			}
			json_decref(live);
			clock_sleep_ms(100);
		}
	}
	json_decref(docs);
	if (rc == 0)
		kube_discover(kc);
	return rc < 0 ? err_prefix(rc, "install %s", path) : 0;
}

static int install_crds(const struct flags *f, struct kube_client *kc)
{
	char *dir = f->crds_dir ? str_dup(f->crds_dir) : default_crds_dir();
	const char *files[] = {"application.yaml", "appproject.yaml"};
	int rc = 0;
	for (size_t i = 0; i < 2 && rc == 0; i++) {
		char *p = str_printf("%s/%s", dir, files[i]);
		rc = p ? install_crd(kc, p) : err_set(BERR_NOMEM, "out of memory");
		free(p);
	}
	free(dir);
	if (rc == 0)
		log_info("CRDs installed", NULL);
	return rc;
}

/* timeout.reconciliation of berth-cm, when present. */
static int64_t settings_resync(struct ctl *c)
{
	struct kube_target t = {.api_version = "v1", .kind = "ConfigMap", .namespace_ = c->ns, .name = "berth-cm"};
	json_t *cm = NULL;
	int64_t ms = 180000;
	if (kube_get(c->kc, &t, NULL, &cm) == 0) {
		const char *v = jx_path_str(cm, "data", "timeout.reconciliation", NULL);
		int64_t parsed;
		if (v && str_to_duration_ms(v, &parsed) == 0 && parsed > 0)
			ms = parsed;
	}
	err_clear();
	json_decref(cm);
	return ms;
}

/* ---- workers ---- */

struct worker {
	struct ctl *c;
	bool ops;
	pthread_t thread;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct workq *q = w->ops ? w->c->op_q : w->c->status_q;
	for (;;) {
		char *name = NULL;
		int rc = workq_get(q, -1, &name);
		if (rc == BERR_CANCELED)
			break;
		if (rc < 0)
			continue;
		rc = w->ops ? ctl_sync(w->c, name) : ctl_reconcile(w->c, name);
		if (rc < 0) {
			atomic_fetch_add(&w->c->m.errors, 1);
			log_limited(LOG_LEVEL_WARN, w->ops ? "sync failed" : "reconcile failed", "app", name, "error",
				    err_msg(), NULL);
			err_clear();
			workq_add_after(q, name, 2000);
		}
		workq_done(q, name);
		free(name);
	}
	return NULL;
}

/* ---- HTTP ---- */

static void handle_healthz(struct httpd_req *req, void *userdata)
{
	(void)userdata;
	httpd_respond(req, 200, "text/plain", "ok\n", 3);
}

static void count_apps(struct ctl *c, struct buf *out)
{
	struct lc_records rs = {0};
	json_t *counts = json_object();
	if (livecache_list(c->cp, MODEL_GROUP, MODEL_KIND_APP, c->ns, &rs) < 0 || !counts) {
		json_decref(counts);
		return;
	}
	for (size_t i = 0; i < rs.n; i++) {
		/* the record's compact status keeps sync and health: no parse */
		const char *s = jx_path_str(rs.v[i]->meta, "status", "sync", "status", NULL);
		const char *h = jx_path_str(rs.v[i]->meta, "status", "health", "status", NULL);
		char *k = str_printf("sync_status=\"%s\",health_status=\"%s\"", s ? s : "Unknown", h ? h : "Unknown");
		if (k)
			json_object_set_new(counts, k, json_integer(json_integer_value(json_object_get(counts, k)) + 1));
		free(k);
	}
	lc_records_free(&rs);
	const char *k;
	json_t *v;
	buf_puts(out, "# TYPE berth_apps gauge\n");
	json_object_foreach(counts, k, v)
		buf_printf(out, "berth_apps{%s} %lld\n", k, (long long)json_integer_value(v));
	json_decref(counts);
}

static void handle_metrics(struct httpd_req *req, void *userdata)
{
	struct ctl *c = userdata;
	struct buf out;
	buf_init(&out, (size_t)16 << 20);
	buf_printf(&out,
		   "# TYPE berth_controller_queue_depth gauge\n"
		   "berth_controller_queue_depth{queue=\"status\"} %zu\n"
		   "berth_controller_queue_depth{queue=\"operation\"} %zu\n"
		   "# TYPE berth_controller_reconciles_total counter\nberth_controller_reconciles_total %llu\n"
		   "# TYPE berth_controller_reconcile_ms_sum counter\nberth_controller_reconcile_ms_sum %llu\n"
		   "# TYPE berth_controller_syncs_total counter\nberth_controller_syncs_total %llu\n"
		   "# TYPE berth_controller_sync_ms_sum counter\nberth_controller_sync_ms_sum %llu\n"
		   "# TYPE berth_controller_status_writes_total counter\nberth_controller_status_writes_total %llu\n"
		   "# TYPE berth_controller_status_unchanged_total counter\nberth_controller_status_unchanged_total %llu\n"
		   "# TYPE berth_controller_errors_total counter\nberth_controller_errors_total %llu\n",
		   workq_len(c->status_q), workq_len(c->op_q), (unsigned long long)atomic_load(&c->m.reconciles),
		   (unsigned long long)atomic_load(&c->m.reconcile_ms), (unsigned long long)atomic_load(&c->m.syncs),
		   (unsigned long long)atomic_load(&c->m.sync_ms), (unsigned long long)atomic_load(&c->m.status_writes),
		   (unsigned long long)atomic_load(&c->m.status_skipped), (unsigned long long)atomic_load(&c->m.errors));
	count_apps(c, &out);
	ctl_diffcache_metrics(&out);
	pthread_mutex_lock(&c->clusters_mu);
	for (size_t i = 0; i < c->n_clusters; i++)
		livecache_metrics_write(c->clusters[i]->lc, c->clusters[i]->server, &out);
	pthread_mutex_unlock(&c->clusters_mu);
	httpd_respond(req, 200, "text/plain; version=0.0.4", out.ptr ? out.ptr : "", out.len);
	buf_release(&out);
}

/* ---- wiring ---- */

static int setup(const struct flags *f, struct ctl *c)
{
	struct kube_config cfg = {0};
	int rc;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->clusters_mu, NULL);
	c->shard = f->shard;
	c->shards = f->shards;
	c->status_processors = f->status_processors;
	c->operation_processors = f->operation_processors;
	c->app_min_interval_ms = 500;
	if (!(c->ns = str_dup(f->ns)) || !(c->repo_server = str_dup(f->repo_server)))
		return err_set(BERR_NOMEM, "out of memory");
	size_t rl = strlen(c->repo_server);
	while (rl && c->repo_server[rl - 1] == '/')
		c->repo_server[--rl] = '\0';
	if ((rc = kube_config_load_default(f->kubeconfig, NULL, &cfg)) < 0)
		return err_prefix(rc, "kubeconfig");
	c->kube_qps = f->kube_qps ? f->kube_qps : -1;
	c->kube_burst = (unsigned)f->kube_burst;
	struct kube_client_opts ko = {.qps = c->kube_qps, .burst = c->kube_burst};
	rc = kube_client_new(&cfg, &ko, &c->kc);
	kube_config_release(&cfg);
	if (rc < 0)
		return rc;
	struct httpc_config hc = {.timeout_ms = 180000, .max_response_bytes = (size_t)256 << 20,
				  .retry = {.max_attempts = 3, .retry_5xx = true}};
	if ((rc = httpc_new(&hc, &c->http)) < 0)
		return rc;
	if ((rc = setup_cache(f, c)) < 0)
		return rc;
	if ((rc = workq_new(c->app_min_interval_ms, &c->status_q)) < 0 || (rc = workq_new(0, &c->op_q)) < 0)
		return rc;
	if (f->install_crds && (rc = install_crds(f, c->kc)) < 0)
		return rc;
	c->resync_ms = f->resync_ms > 0 ? f->resync_ms : settings_resync(c);
	return 0;
}

static void teardown(struct ctl *c)
{
	livecache_free(c->cp);
	ctl_clusters_free(c);
	workq_free(c->status_q);
	workq_free(c->op_q);
	httpc_free(c->http);
	rcache_free(c->cache);
	kube_client_free(c->kc);
	free(c->ns);
	free(c->repo_server);
	pthread_mutex_destroy(&c->clusters_mu);
}

int main(int argc, char **argv)
{
	struct flags f;
	struct ctl c;
	struct httpd *srv = NULL;
	struct worker *workers = NULL;
	struct leases *leases = NULL;
	size_t n_workers = 0;
	sigset_t sigs;
	int rc, sig = 0, status = 1;

	switch (parse_flags(argc, argv, &f)) {
	case DAEMONOPTS_RUN:
		break;
	case DAEMONOPTS_HELP:
		fputs(usage, stdout);
		return 0;
	case DAEMONOPTS_VERSION:
		printf("berth-app-controller %s\n", VERSION);
		return 0;
	default:
		fprintf(stderr, "berth-app-controller: %s\n(see --help)\n", err_msg());
		return 2;
	}
	log_setup(f.d.log_level, f.d.log_format);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)clock_wall_ms());
	if ((rc = setup(&f, &c)) < 0) {
		log_error("cannot start", "error", err_msg(), NULL);
		goto out;
	}
	struct httpd_config hc = {.listen = f.d.listen};
	if ((rc = httpd_new(&hc, &srv)) < 0 || (rc = httpd_route(srv, "GET", "/healthz", handle_healthz, &c)) < 0 ||
	    (rc = httpd_route(srv, "GET", "/metrics", handle_metrics, &c)) < 0 || (rc = httpd_start(srv)) < 0) {
		log_error("cannot serve", "error", err_msg(), NULL);
		goto out;
	}
	if (f.sharded) {
		if ((rc = leases_start(c.kc, c.ns, f.shard, f.shards, f.lease_ms, &leases)) < 0) {
			log_error("cannot lead the shard", "error", err_msg(), NULL);
			goto out;
		}
		c.leases = leases;
	}
	if ((rc = ctl_watch_start(&c)) < 0) {
		log_error("cannot watch", "error", err_msg(), NULL);
		goto out;
	}
	n_workers = (size_t)(f.status_processors + f.operation_processors);
	if (!(workers = calloc(n_workers, sizeof(*workers))))
		goto out;
	for (size_t i = 0; i < n_workers; i++) {
		workers[i] = (struct worker){.c = &c, .ops = i >= (size_t)f.status_processors};
		pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
	}
	char port[16];
	snprintf(port, sizeof(port), "%u", httpd_port(srv));
	log_info("berth-app-controller ready", "listen", f.d.listen, "port", port, "namespace", f.ns, NULL);
	for (;;) {
		struct timespec ts = {.tv_sec = 1};
		sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig > 0)
			break;
		if (leases && !leases_ok(leases)) {
			log_error("lost the shard lease; exiting", NULL);
			break;
		}
		if (leases_take_gained(leases))
			ctl_enqueue_all_apps(&c);
	}
	log_info("stopping", NULL);
	status = 0;
	atomic_store(&c.stopping, true);
	workq_shutdown(c.status_q);
	workq_shutdown(c.op_q);
	for (size_t i = 0; i < n_workers; i++)
		pthread_join(workers[i].thread, NULL);
out:
	free(workers);
	httpd_free(srv);
	leases_free(leases); /* its thread uses c.kc */
	c.leases = NULL;
	teardown(&c);
	return status;
}
