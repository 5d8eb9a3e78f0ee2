/* Benchmark of lib/livecache against kube-sim: initial sync of N objects in
 * 10 types (8 custom resource kinds, ConfigMaps, Secrets) with a fraction
 * kept full (time, RSS, bytes per compact and full record), then event
 * latency under a steady rate of changes. Driven by bench/kube-cache.
 *
 *   kube-cache --kubeconfig FILE [--objects 100000] [--full-pct 10]
 *              [--rate 1000] [--secs 10] [--page 500] [--populate]
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "kube.h"
#include "kubeconfig.h"
#include "livecache.h"
#include "str.h"

#define NTYPES 10
#define NCRD 8

static struct kube_client *kc;
static long n_objects = 100000, full_pct = 10, rate = 1000, secs = 10, page = 500;

static const char *kind_of(int t)
{
	static const char *const kinds[NTYPES] = {"Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf",
						  "Hotel", "ConfigMap", "Secret"};
	return kinds[t];
}

static const char *api_of(int t)
{
	return t < NCRD ? "bench.example.com/v1" : "v1";
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (str_starts_with(line, "VmRSS:"))
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static void make_crds(void)
{
	for (int t = 0; t < NCRD; t++) {
		char lower[32], name[96];
		size_t i;
		for (i = 0; kind_of(t)[i] && i < sizeof(lower) - 1; i++)
			lower[i] = (char)(kind_of(t)[i] | 0x20);
		lower[i] = '\0';
		snprintf(name, sizeof(name), "%ss.bench.example.com", lower);
		char *plural = str_printf("%ss", lower), *list = str_printf("%sList", kind_of(t));
		json_t *crd = json_pack(
			"{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:[{s:s, s:b, s:b, s:{s:{s:s, s:b}}}]}}",
			"apiVersion", "apiextensions.k8s.io/v1", "kind", "CustomResourceDefinition", "metadata", "name", name,
			"spec", "group", "bench.example.com", "scope", "Namespaced", "names", "plural", plural, "singular",
			lower, "kind", kind_of(t), "listKind", list, "versions", "name", "v1", "served", 1, "storage", 1,
			"schema", "openAPIV3Schema", "type", "object", "x-kubernetes-preserve-unknown-fields", 1);
		struct kube_target ct = {.api_version = "apiextensions.k8s.io/v1", .kind = "CustomResourceDefinition"};
		int rc = kube_create(kc, &ct, crd, NULL, NULL);
		if (rc < 0 && rc != BERR_EXISTS)
			fprintf(stderr, "crd %s: %s\n", name, err_msg());
		json_decref(crd);
		free(plural);
		free(list);
	}
}

static json_t *object(int t, long i)
{
	char name[64], ns[32], val[32];
	snprintf(name, sizeof(name), "o-%ld", i);
	snprintf(ns, sizeof(ns), "bench-%ld", i % 10);
	snprintf(val, sizeof(val), "%ld", i);
	const char *full = (i % 100) < full_pct ? "yes" : "no";
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s}}}", "apiVersion", api_of(t), "kind",
			      kind_of(t), "metadata", "name", name, "namespace", ns, "labels", "app", "bench", "full", full,
			      "tier", "backend", "annotations", "bench/created", val);
	if (t == NTYPES - 1)
		json_object_set_new(o, "data", json_pack("{s:s, s:s}", "user", "YWRtaW4=", "password", "c2VjcmV0LXNlY3JldA=="));
	else if (t == NTYPES - 2)
		json_object_set_new(o, "data", json_pack("{s:s, s:s}", "config.yaml", "replicas: 3\nimage: web:1.2.3\n", "mode", "fast"));
	else
		json_object_set_new(o, "spec", json_pack("{s:s, s:i, s:[s, s]}", "image", "registry.example/app:1.2.3",
							 "replicas", 3, "args", "--port=8080", "--verbose"));
	return o;
}

struct pop {
	int id, nthreads;
};

static void *populate_main(void *arg)
{
	struct pop *p = arg;
	for (long i = p->id; i < n_objects; i += p->nthreads) {
		int t = (int)(i % NTYPES);
		json_t *o = object(t, i / NTYPES);
		struct kube_target kt;
		kube_target_of(o, &kt);
		int rc = kube_create(kc, &kt, o, NULL, NULL);
		if (rc < 0 && rc != BERR_EXISTS)
			fprintf(stderr, "create: %s\n", err_msg());
		json_decref(o);
	}
	return NULL;
}

static void populate(void)
{
	for (int n = 0; n < 10; n++) {
		char ns[32];
		snprintf(ns, sizeof(ns), "bench-%d", n);
		json_t *o = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", ns);
		struct kube_target t = {.api_version = "v1", .kind = "Namespace"};
		kube_create(kc, &t, o, NULL, NULL);
		json_decref(o);
	}
	make_crds();
	clock_sleep_ms(1500); /* let the CRDs become Established */
	int64_t t0 = clock_mono_ms();
	pthread_t th[4];
	struct pop p[4];
	for (int i = 0; i < 4; i++) {
		p[i] = (struct pop){i, 4};
		pthread_create(&th[i], NULL, populate_main, &p[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("populate: %ld objects in %.1f s\n", n_objects, (double)(clock_mono_ms() - t0) / 1000.0);
}

/* ---- event latency ---- */

static pthread_mutex_t lat_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t *lat;
static size_t n_lat, cap_lat;

static int64_t writes_from_ms; /* under lat_mu; 0 until the writers start */

static void on_batch(const struct lc_event *ev, size_t n, void *ud)
{
	(void)ud;
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&lat_mu);
	/* Only this run's writes: the initial list's events carry the stamps
	 * an earlier run against the same kube-sim left. */
	if (!writes_from_ms) {
		pthread_mutex_unlock(&lat_mu);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!ev[i].new_)
			continue;
		const char *ts = jx_path_str((json_t *)ev[i].new_->meta, "annotations", "bench/t", NULL);
		int64_t t;
		if (!ts || str_to_i64(ts, &t) < 0 || t < writes_from_ms || n_lat == cap_lat)
			continue;
		lat[n_lat++] = now - t;
	}
	pthread_mutex_unlock(&lat_mu);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static bool keep_full(const json_t *obj, void *ud)
{
	(void)ud;
	const char *f = jx_path_str(obj, "metadata", "labels", "full", NULL);
	return f && strcmp(f, "yes") == 0;
}

struct writer {
	long count;
	int id;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	int64_t start = clock_mono_ms(), end = start + secs * 1000;
	double per_ms = (double)rate / 2000.0; /* two writers */
	long k = w->id;
	while (clock_mono_ms() < end) {
		int64_t due = start + (int64_t)((double)w->count / per_ms);
		int64_t now = clock_mono_ms();
		if (due > now)
			clock_sleep_ms(due - now);
		long i = (k * 7919) % n_objects;
		k += 2;
		int t = (int)(i % NTYPES);
		char name[64], ns[32], ts[32];
		snprintf(name, sizeof(name), "o-%ld", i / NTYPES);
		snprintf(ns, sizeof(ns), "bench-%ld", (i / NTYPES) % 10);
		snprintf(ts, sizeof(ts), "%lld", (long long)clock_mono_ms());
		json_t *p = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "bench/t", ts);
		struct kube_target kt = {.api_version = api_of(t), .kind = kind_of(t), .namespace_ = ns, .name = name};
		if (kube_patch(kc, &kt, KUBE_PATCH_MERGE, p, NULL, NULL) < 0)
			fprintf(stderr, "patch: %s\n", err_msg());
		json_decref(p);
		w->count++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *kcfg = NULL;
	bool do_populate = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc)
			kcfg = argv[++i];
		else if (strcmp(argv[i], "--objects") == 0 && i + 1 < argc)
			n_objects = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--full-pct") == 0 && i + 1 < argc)
			full_pct = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
			rate = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--secs") == 0 && i + 1 < argc)
			secs = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--page") == 0 && i + 1 < argc)
			page = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--populate") == 0)
			do_populate = true;
		else {
			fprintf(stderr, "usage: kube-cache --kubeconfig FILE [--objects N] [--full-pct P] [--rate R] "
					"[--secs S] [--page P] [--populate]\n");
			return 2;
		}
	}
	struct kube_config cfg;
	if (!kcfg || kube_config_load_files(&kcfg, 1, NULL, &cfg) < 0) {
		fprintf(stderr, "kube-cache: %s\n", kcfg ? err_msg() : "--kubeconfig is required");
		return 2;
	}
	struct kube_client_opts ko = {.qps = -1, .page_size = (unsigned)page};
	if (kube_client_new(&cfg, &ko, &kc) < 0) {
		fprintf(stderr, "kube-cache: %s\n", err_msg());
		return 1;
	}
	kube_config_release(&cfg);
	if (do_populate)
		populate();

	struct lc_type_spec types[NTYPES];
	for (int t = 0; t < NTYPES; t++) {
		types[t].group = t < NCRD ? "bench.example.com" : "";
		types[t].kind = kind_of(t);
	}
	static const char *const ann[] = {"bench/t", NULL};
	cap_lat = (size_t)(rate * secs * 2 + 1000);
	lat = calloc(cap_lat, sizeof(*lat));
	struct livecache_opts o = {.types = types, .n_types = NTYPES, .keep_full = keep_full, .annotations = ann,
				   .on_batch = on_batch, .batch_window_ms = 100};
	long rss0 = rss_kb();
	double cpu0 = cpu_s();
	int64_t t0 = clock_mono_ms();
	struct livecache *lc;
	if (livecache_new(kc, &o, &lc) < 0 || livecache_wait_synced(lc, 600000) < 0) {
		fprintf(stderr, "kube-cache: %s\n", err_msg());
		return 1;
	}
	int64_t took = clock_mono_ms() - t0;
	long rss1 = rss_kb();
	struct lc_metrics m;
	livecache_metrics(lc, &m, NULL, NULL);
	size_t n_compact = m.objects - m.full_objects;
	printf("initial sync: %zu objects (%zu full) in %zu types: %.2f s (client CPU %.2f s), RSS %ld MB -> %ld MB "
	       "(+%ld MB)\n",
	       m.objects, m.full_objects, m.types, (double)took / 1000.0, cpu_s() - cpu0, rss0 / 1024, rss1 / 1024,
	       (rss1 - rss0) / 1024);
	printf("bytes per record (estimate): compact %zu, full object JSON %zu (+ its compact record)\n",
	       m.objects ? m.bytes_compact / m.objects : 0, m.full_objects ? m.bytes_full / m.full_objects : 0);
	printf("RSS per object: %.0f bytes (compact: %zu, full: %zu)\n",
	       m.objects ? (double)(rss1 - rss0) * 1024.0 / (double)m.objects : 0.0, n_compact, m.full_objects);

	/* Steady changes; the batch window is 100 ms. */
	pthread_t th[2];
	struct writer w[2] = {{0, 0}, {0, 1}};
	int64_t w0 = clock_mono_ms();
	pthread_mutex_lock(&lat_mu);
	writes_from_ms = w0;
	pthread_mutex_unlock(&lat_mu);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, writer_main, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	double wsecs = (double)(clock_mono_ms() - w0) / 1000.0;
	clock_sleep_ms(1000);
	pthread_mutex_lock(&lat_mu);
	qsort(lat, n_lat, sizeof(*lat), cmp64);
	printf("events: %ld changes in %.1f s (%.0f/s); delivered %zu; latency write->batch p50 %lld ms, p99 %lld ms, "
	       "max %lld ms\n",
	       w[0].count + w[1].count, wsecs, (double)(w[0].count + w[1].count) / wsecs, n_lat,
	       n_lat ? (long long)lat[n_lat / 2] : -1LL, n_lat ? (long long)lat[n_lat * 99 / 100] : -1LL,
	       n_lat ? (long long)lat[n_lat - 1] : -1LL);
	pthread_mutex_unlock(&lat_mu);
	livecache_metrics(lc, &m, NULL, NULL);
	printf("after: %zu objects, RSS %ld MB, batches %llu, relists %llu, watch restarts %llu\n", m.objects,
	       rss_kb() / 1024, (unsigned long long)m.batches, (unsigned long long)m.relists,
	       (unsigned long long)m.watch_restarts);
	livecache_free(lc);
	kube_client_free(kc);
	free(lat);
	return 0;
}
