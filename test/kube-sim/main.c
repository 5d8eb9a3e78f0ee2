/*
 * kube-sim — a Kubernetes API server simulator for Berth's tests and demo.
 * main wires the store, the defaults, B's controllers, garbage collector,
 * faults and persistence, and the HTTP server; writes a kubeconfig; prints
 * "kube-sim ready <url>" once it serves; stops on SIGINT/SIGTERM.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "controllers.h"
#include "err.h"
#include "faults.h"
#include "gc.h"
#include "log.h"
#include "persist.h"
#include "server.h"
#include "simdefaults.h"
#include "store.h"
#include "store_int.h"
#include "str.h"
#include "tls.h"


#define KUBE_SIM_VERSION "0.1.0"

static const char usage[] =
	"usage: kube-sim [options]\n"
	"\n"
	"A Kubernetes API server simulator that kubectl accepts.\n"
	"\n"
	"  --listen HOST:PORT        address to serve on (default 127.0.0.1:6443; port 0 = any)\n"
	"  --write-kubeconfig FILE   write a kubeconfig for this server to FILE\n"
	"  --tls                     serve HTTPS with a generated CA and certificate\n"
	"  --tls-cert FILE           serving certificate (PEM; with --tls-key)\n"
	"  --tls-key FILE            serving key (PEM)\n"
	"  --client-ca FILE          CA whose client certificates are accepted (PEM)\n"
	"  --token T                 bearer token clients must send\n"
	"  --data-dir DIR            keep objects in DIR across restarts\n"
	"  --faults SPEC             fault injection, e.g. 429=0.1,500=0.05,latency=20ms\n"
	"  --watch-window N          watch history events kept per type (default 10000)\n"
	"  --bookmark-interval DUR   interval of watch bookmarks (default 60s)\n"
	"  --status-delay MS         simulated controller/pod status delay (default 200)\n"
	"  --fail-deadline MS        crash-looping rollouts fail after MS (default 3000)\n"
	"  --nodes N                 simulated nodes (default 1)\n"
	"  --no-controllers          run no simulated controllers or garbage collector\n"
	"  --log-level LEVEL         debug, info, warn or error (default info)\n"
	"  --version                 print the version and exit\n"
	"  --help                    print this help and exit\n";

static int read_file(const char *path, char **ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(BERR_IO, "open \"%s\": %m", path);
	struct buf b;
	buf_init(&b, 1 << 20);
	char tmp[4096];
	ssize_t n;
	int rc = 0;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		if ((rc = buf_append(&b, tmp, (size_t)n)) < 0)
			break;
	close(fd);
	if (n < 0)
		rc = err_set(BERR_IO, "read \"%s\": %m", path);
	if (rc < 0) {
		buf_release(&b);
		return rc;
	}
	*ret = buf_detach(&b, NULL);
	return *ret ? 0 : BERR_NOMEM;
}

static int write_private(const char *path, const char *data)
{
	char *tmp = str_printf("%s.tmp", path);
	if (!tmp)
		return BERR_NOMEM;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		int rc = err_set(BERR_IO, "write \"%s\": %m", path);
		free(tmp);
		return rc;
	}
	size_t len = strlen(data), off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fd);
	int rc = off == len && rename(tmp, path) == 0 ? 0 : err_set(BERR_IO, "write \"%s\": %m", path);
	free(tmp);
	return rc;
}

static char *b64(const char *s)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (!out)
		return NULL;
	size_t j = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[j++] = tbl[(v >> 18) & 63];
		out[j++] = tbl[(v >> 12) & 63];
		out[j++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		out[j++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	out[j] = '\0';
	return out;
}

static int write_kubeconfig(const char *path, const char *url, const char *ca_pem, const char *token,
			    const char *client_cert, const char *client_key)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	buf_printf(&b, "apiVersion: v1\nkind: Config\ncurrent-context: kube-sim\nclusters:\n- name: kube-sim\n  cluster:\n"
		       "    server: %s\n", url);
	if (ca_pem) {
		char *e = b64(ca_pem);
		buf_printf(&b, "    certificate-authority-data: %s\n", e ? e : "");
		free(e);
	}
	buf_puts(&b, "contexts:\n- name: kube-sim\n  context:\n    cluster: kube-sim\n    user: kube-sim\n"
		     "    namespace: default\nusers:\n- name: kube-sim\n  user:\n");
	bool any = false;
	if (token) {
		buf_printf(&b, "    token: %s\n", token);
		any = true;
	}
	if (client_cert && client_key) {
		char *c = b64(client_cert), *k = b64(client_key);
		buf_printf(&b, "    client-certificate-data: %s\n    client-key-data: %s\n", c ? c : "", k ? k : "");
		free(c);
		free(k);
		any = true;
	}
	if (!any)
		buf_puts(&b, "    {}\n");
	int rc = write_private(path, b.ptr);
	buf_release(&b);
	return rc;
}

struct config {
	const char *listen, *kubeconfig, *tls_cert, *tls_key, *client_ca, *token, *data_dir, *faults;
	bool tls, no_controllers;
	size_t watch_window;
	int64_t bookmark_ms, status_delay_ms, fail_deadline_ms;
	int nodes;
};

static int parse_args(int argc, char **argv, struct config *cfg)
{
	enum { O_LISTEN = 256, O_KUBECONFIG, O_TLS, O_TLS_CERT, O_TLS_KEY, O_CLIENT_CA, O_TOKEN, O_DATA_DIR, O_FAULTS,
	       O_WINDOW, O_BOOKMARK, O_STATUS_DELAY, O_FAIL_DEADLINE, O_NODES, O_NO_CONTROLLERS, O_LOG_LEVEL, O_VERSION, O_HELP };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "write-kubeconfig", required_argument, NULL, O_KUBECONFIG },
		{ "tls", no_argument, NULL, O_TLS },
		{ "tls-cert", required_argument, NULL, O_TLS_CERT },
		{ "tls-key", required_argument, NULL, O_TLS_KEY },
		{ "client-ca", required_argument, NULL, O_CLIENT_CA },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "data-dir", required_argument, NULL, O_DATA_DIR },
		{ "faults", required_argument, NULL, O_FAULTS },
		{ "watch-window", required_argument, NULL, O_WINDOW },
		{ "bookmark-interval", required_argument, NULL, O_BOOKMARK },
		{ "status-delay", required_argument, NULL, O_STATUS_DELAY },
		{ "fail-deadline", required_argument, NULL, O_FAIL_DEADLINE },
		{ "nodes", required_argument, NULL, O_NODES },
		{ "no-controllers", no_argument, NULL, O_NO_CONTROLLERS },
		{ "log-level", required_argument, NULL, O_LOG_LEVEL },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	uint64_t u;
	enum log_level lvl;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case O_LISTEN: cfg->listen = optarg; break;
		case O_KUBECONFIG: cfg->kubeconfig = optarg; break;
		case O_TLS: cfg->tls = true; break;
		case O_TLS_CERT: cfg->tls_cert = optarg; cfg->tls = true; break;
		case O_TLS_KEY: cfg->tls_key = optarg; cfg->tls = true; break;
		case O_CLIENT_CA: cfg->client_ca = optarg; break;
		case O_TOKEN: cfg->token = optarg; break;
		case O_DATA_DIR: cfg->data_dir = optarg; break;
		case O_FAULTS: cfg->faults = optarg; break;
		case O_WINDOW:
			if (str_to_u64(optarg, &u) < 0 || u == 0)
				return err_set(BERR_INVALID, "--watch-window: not a positive number: %s", optarg);
			cfg->watch_window = (size_t)u;
			break;
		case O_BOOKMARK:
			if (str_to_duration_ms(optarg, &cfg->bookmark_ms) < 0 || cfg->bookmark_ms <= 0)
				return err_set(BERR_INVALID, "--bookmark-interval: not a duration: %s", optarg);
			break;
		case O_STATUS_DELAY:
			if (str_to_duration_ms(optarg, &cfg->status_delay_ms) < 0)
				return err_set(BERR_INVALID, "--status-delay: not a duration: %s", optarg);
			if (str_to_u64(optarg, &u) == 0)
				cfg->status_delay_ms = (int64_t)u; /* a bare number means milliseconds here */
			break;
		case O_FAIL_DEADLINE:
			if (str_to_duration_ms(optarg, &cfg->fail_deadline_ms) < 0)
				return err_set(BERR_INVALID, "--fail-deadline: not a duration: %s", optarg);
			if (str_to_u64(optarg, &u) == 0)
				cfg->fail_deadline_ms = (int64_t)u;
			break;
		case O_NODES:
			if (str_to_int(optarg, 1, 1000, &cfg->nodes) < 0)
				return err_set(BERR_INVALID, "--nodes: not a number in 1..1000: %s", optarg);
			break;
		case O_NO_CONTROLLERS: cfg->no_controllers = true; break;
		case O_LOG_LEVEL:
			if (log_parse_level(optarg, &lvl) < 0)
				return err_set(BERR_INVALID, "--log-level: unknown level: %s", optarg);
			log_setup(lvl, LOG_FORMAT_TEXT);
			break;
		case O_VERSION:
			printf("kube-sim %s\n", KUBE_SIM_VERSION);
			exit(0);
		case O_HELP:
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			exit(2);
		}
	}
	if (optind < argc)
		return err_set(BERR_INVALID, "unexpected argument: %s", argv[optind]);
	if ((cfg->tls_cert != NULL) != (cfg->tls_key != NULL))
		return err_set(BERR_INVALID, "--tls-cert and --tls-key go together");
	return 0;
}

/* Everything kube-sim runs, for start-up and orderly shut-down. */
struct sim {
	struct ks_store *store;
	struct ks_server *srv;
	struct faults *faults;
	struct controllers *ctrl;
	struct gc *gc;
	struct persist *persist;
	struct simdefaults *sd;
	struct tls_material tm;
	char *cert, *key, *ca;
	char url[300];
};

/* The store and what lives on it: defaults, persistence, faults,
 * controllers, garbage collector. 0, or -1 after printing why. */
static int sim_start_cluster(struct sim *sim, const struct config *cfg)
{
	struct ks_store_opts so = { .watch_window = cfg->watch_window };
	sim->store = store_new(&so);
	if (!sim->store) {
		fprintf(stderr, "kube-sim: cannot create the store\n");
		return -1;
	}
	sim->sd = simdefaults_new();
	if (sim->sd)
		store_set_defaults_hook(sim->store, simdefaults_hook, sim->sd);
	if (cfg->data_dir && (persist_open(cfg->data_dir, &sim->persist) < 0 ||
			      persist_load(sim->persist, sim->store, NULL) < 0)) {
		fprintf(stderr, "kube-sim: --data-dir %s: %s\n", cfg->data_dir, err_msg());
		return -1;
	}
	if (sim->sd)
		simdefaults_seed(sim->sd, sim->store);
	if (sim->persist && persist_attach(sim->persist, sim->store) < 0) {
		fprintf(stderr, "kube-sim: --data-dir %s: %s\n", cfg->data_dir, err_msg());
		return -1;
	}
	sim->faults = faults_new(sim->store, NULL, cfg->token);
	if (!sim->faults) {
		fprintf(stderr, "kube-sim: faults: %s\n", err_msg());
		return -1;
	}
	if (cfg->faults && faults_set_spec(sim->faults, cfg->faults) < 0) {
		fprintf(stderr, "kube-sim: --faults: %s\n", err_msg());
		return -1;
	}
	if (cfg->no_controllers)
		return 0;
	struct controllers_opts co = { .status_delay_ms = cfg->status_delay_ms,
				       .fail_deadline_ms = cfg->fail_deadline_ms,
				       .nodes = cfg->nodes };
	if (controllers_start(sim->store, &co, &sim->ctrl) < 0) {
		fprintf(stderr, "kube-sim: controllers: %s\n", err_msg());
		return -1;
	}
	if (gc_start(sim->store, &sim->gc) < 0) {
		fprintf(stderr, "kube-sim: garbage collector: %s\n", err_msg());
		return -1;
	}
	return 0;
}

/* TLS material and the HTTP server. 0, or -1 after printing why. */
static int sim_start_server(struct sim *sim, const struct config *cfg, const char *host, int port)
{
	struct ks_server_opts so = { .host = host, .port = port, .token = cfg->token, .faults = sim->faults };
	if (cfg->tls_cert) {
		if (read_file(cfg->tls_cert, &sim->cert) < 0 || read_file(cfg->tls_key, &sim->key) < 0) {
			fprintf(stderr, "kube-sim: %s\n", err_msg());
			return -1;
		}
		so.tls_cert_pem = sim->cert;
		so.tls_key_pem = sim->key;
	} else if (cfg->tls) {
		if (tls_generate(&sim->tm) < 0) {
			fprintf(stderr, "kube-sim: generate TLS material: %s\n", err_msg());
			return -1;
		}
		so.tls_cert_pem = sim->tm.server_cert;
		so.tls_key_pem = sim->tm.server_key;
		so.client_ca_pem = sim->tm.ca_cert;
	}
	if (cfg->client_ca) {
		if (read_file(cfg->client_ca, &sim->ca) < 0) {
			fprintf(stderr, "kube-sim: %s\n", err_msg());
			return -1;
		}
		so.client_ca_pem = sim->ca;
	}
	if (server_start(sim->store, &so, &sim->srv) < 0) {
		fprintf(stderr, "kube-sim: %s\n", err_msg());
		return -1;
	}
	snprintf(sim->url, sizeof(sim->url), "%s://%s:%d", so.tls_cert_pem ? "https" : "http",
		 strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" : host, server_port(sim->srv));
	return 0;
}

/* Writes a private file named <base><suffix>. */
static void write_beside(const char *base, const char *suffix, const char *data)
{
	char *p = str_printf("%s%s", base, suffix);
	if (p && data)
		write_private(p, data);
	free(p);
}

/* The kubeconfig and the files beside it. 0, or -1 after printing why. */
static int sim_write_files(struct sim *sim, const struct config *cfg)
{
	if (!cfg->kubeconfig)
		return 0;
	/* With generated TLS and no token, the kubeconfig carries a client
	 * certificate signed by the CA. */
	const struct tls_material *tm = &sim->tm;
	/* With --tls-cert the serving certificate itself is the trust anchor
	 * (Go accepts a certificate found in its root pool). */
	const char *ca_for_kc = cfg->tls_cert ? sim->cert : cfg->tls ? tm->ca_cert : NULL;
	if (write_kubeconfig(cfg->kubeconfig, sim->url, ca_for_kc, cfg->token, cfg->token ? NULL : tm->client_cert,
			     cfg->token ? NULL : tm->client_key) < 0) {
		fprintf(stderr, "kube-sim: %s\n", err_msg());
		return -1;
	}
	if (tm->ca_cert) {
		write_beside(cfg->kubeconfig, ".ca.crt", tm->ca_cert);
		write_beside(cfg->kubeconfig, ".client.crt", tm->client_cert);
		write_beside(cfg->kubeconfig, ".client.key", tm->client_key);
	}
	if (sim->faults)
		write_beside(cfg->kubeconfig, ".admin-token", faults_admin_token(sim->faults));
	return 0;
}

static void sim_stop(struct sim *sim)
{
	if (sim->store)
		store_drop_watches(sim->store);
	server_stop(sim->srv);
	gc_stop(sim->gc);
	controllers_stop(sim->ctrl);
	persist_close(sim->persist);
	faults_free(sim->faults);
	simdefaults_free(sim->sd); /* unsubscribes from the store */
	store_free(sim->store);
	tls_material_release(&sim->tm);
	free(sim->cert);
	free(sim->key);
	free(sim->ca);
}

int main(int argc, char **argv)
{
	struct config cfg = { .listen = "127.0.0.1:6443", .bookmark_ms = 60000, .status_delay_ms = 200,
			      .fail_deadline_ms = 3000, .nodes = 1 };
	struct sim sim = { 0 };
	int rc = 1;

	/* Thread-per-connection would otherwise give each thread its own
	 * malloc arena, and the store's memory would fragment across them. */
	mallopt(M_ARENA_MAX, 2);
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	if (parse_args(argc, argv, &cfg) < 0) {
		fprintf(stderr, "kube-sim: %s\n", err_msg());
		return 2;
	}
	char host[256];
	str_copy(host, cfg.listen, sizeof(host));
	char *colon = strrchr(host, ':');
	int port = 6443;
	if (colon) {
		*colon = '\0';
		if (str_to_int(colon + 1, 0, 65535, &port) < 0) {
			fprintf(stderr, "kube-sim: --listen: bad port in \"%s\"\n", cfg.listen);
			return 2;
		}
	}
	store_bookmark_interval_ms = cfg.bookmark_ms;
	signal(SIGPIPE, SIG_IGN);
	/* SIGINT/SIGTERM are blocked before any thread starts (every thread
	 * inherits the mask) and taken with sigwait once serving: a handler
	 * plus pause() lost a signal that arrived just before pause() or was
	 * delivered to another thread, and the process never stopped. */
	sigset_t stop_set;
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_set, NULL);

	if (sim_start_cluster(&sim, &cfg) < 0 || sim_start_server(&sim, &cfg, host, port) < 0 ||
	    sim_write_files(&sim, &cfg) < 0)
		goto out;
	printf("kube-sim ready %s\n", sim.url);
	fflush(stdout);
	int sig = 0;
	while (sigwait(&stop_set, &sig) != 0)
		;
	rc = 0;
out:
	sim_stop(&sim);
	return rc;
}
