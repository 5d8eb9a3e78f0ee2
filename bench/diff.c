/*
 * bench/diff — throughput, allocations and memory of the diff engine.
 *
 *   build/bench/diff FIXTURE_DIR [ITERATIONS] [RSS_ITERATIONS]
 *
 * FIXTURE_DIR is the gitops-engine diff fixtures folder (real API-server
 * objects). Cases:
 *   deployment-unchanged  the guestbook Deployment (~4.3 KB live object with
 *                         server defaults, managedFields and last-applied)
 *                         against its own config: not modified;
 *   deployment-changed    the same with replicas changed in Git: modified,
 *                         change list and patch computed;
 *   app-50                a 50-object application (the JSON fixtures of nine
 *                         kinds, renamed), one refresh = 50 diffs;
 * then RSS before and after RSS_ITERATIONS unchanged diffs (memory must stay
 * flat). Allocations are counted through jansson's allocator hooks (the
 * engine's own few mallocs, e.g. change records, are not included).
 * Output: one line per figure, "name value unit".
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "diff.h"
#include "err.h"
#include "patch.h"

static size_t n_allocs;

static void *count_malloc(size_t n)
{
	n_allocs++;
	return malloc(n);
}

static json_t *load(const char *dir, const char *name)
{
	char path[4096];
	json_error_t e;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	json_t *v = json_load_file(path, 0, &e);
	if (!v) {
		fprintf(stderr, "bench: %s: %s\n", path, e.text);
		exit(2);
	}
	return v;
}

static void default_ns(json_t *d, const json_t *l)
{
	json_t *ns = json_object_get(json_object_get(l, "metadata"), "namespace");
	json_t *md = json_object_get(d, "metadata");
	if (ns && !json_object_get(md, "namespace"))
		json_object_set(md, "namespace", ns);
}

/* CPU time of this process: diffs per second per core, whatever else the
 * machine is doing. */
static const char sidecar_desired[] =
	"{\"name\":\"proxy\",\"image\":\"envoyproxy/envoy:v1.29.1\",\"args\":[\"-c\",\"/etc/envoy/envoy.yaml\","
	"\"--log-level\",\"info\"],\"ports\":[{\"containerPort\":9901,\"name\":\"admin\"},{\"containerPort\":8443,"
	"\"name\":\"https\"}],\"env\":[{\"name\":\"POD_NAME\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
	"\"metadata.name\"}}},{\"name\":\"POD_NAMESPACE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
	"\"metadata.namespace\"}}},{\"name\":\"LOG_FORMAT\",\"value\":\"json\"}],\"resources\":{\"limits\":"
	"{\"cpu\":\"500m\",\"memory\":\"256Mi\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}},"
	"\"readinessProbe\":{\"httpGet\":{\"path\":\"/ready\",\"port\":9901}},\"volumeMounts\":[{\"name\":"
	"\"envoy-config\",\"mountPath\":\"/etc/envoy\"}]}";

/* What the API server adds to the sidecar. */
static const char sidecar_defaults[] =
	"{\"name\":\"proxy\",\"imagePullPolicy\":\"IfNotPresent\",\"terminationMessagePath\":\"/dev/termination-log\","
	"\"terminationMessagePolicy\":\"File\",\"ports\":[{\"containerPort\":9901,\"protocol\":\"TCP\"},"
	"{\"containerPort\":8443,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"POD_NAME\",\"valueFrom\":{\"fieldRef\":"
	"{\"apiVersion\":\"v1\"}}},{\"name\":\"POD_NAMESPACE\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\"}}}],"
	"\"readinessProbe\":{\"httpGet\":{\"scheme\":\"HTTP\"},\"timeoutSeconds\":1,\"periodSeconds\":10,"
	"\"successThreshold\":1,\"failureThreshold\":3}}";

/*
 * Makes the fixture Deployment realistic in size: adds an Envoy sidecar and
 * a config volume to desired, syncs live to it with the engine's own patch
 * (which also rewrites last-applied), and adds what the server defaults.
 * Returns the new live object.
 */
static json_t *grow_deployment(json_t *desired, const json_t *live)
{
	json_t *pod = json_object_get(json_object_get(json_object_get(desired, "spec"), "template"), "spec");
	json_array_append_new(json_object_get(pod, "containers"), json_loads(sidecar_desired, 0, NULL));
	json_object_set_new(pod, "volumes", json_loads("[{\"name\":\"envoy-config\",\"configMap\":{\"name\":\"envoy\"}}]", 0, NULL));
	struct diff_result r;
	diff_result_init(&r);
	json_t *nl = json_deep_copy(live);
	if (diff_compute(desired, live, NULL, &r) < 0 ||
	    patch_apply_strategic(nl, r.patch, "apps", "Deployment") < 0) {
		fprintf(stderr, "bench: grow: %s\n", err_msg());
		exit(1);
	}
	diff_result_release(&r);
	json_t *defaults = json_loads(sidecar_defaults, 0, NULL);
	json_t *patch = json_pack("{s:{s:{s:{s:[O], s:[{s:s, s:{s:i}}]}}}}", "spec", "template", "spec", "containers",
				  defaults, "volumes", "name", "envoy-config", "configMap", "defaultMode", 420);
	if (patch_apply_strategic(nl, patch, "apps", "Deployment") < 0) {
		fprintf(stderr, "bench: grow: %s\n", err_msg());
		exit(1);
	}
	json_decref(patch);
	json_decref(defaults);
	return nl;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, resident = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * 4;
}

/* Runs iters diffs of each pair; returns diffs per second. */
static double run(json_t **desired, json_t **live, size_t pairs, size_t iters, int want_modified,
		  double *allocs_per_diff, const struct diff_settings *ds)
{
	size_t a0 = n_allocs;
	double t0 = now_s();
	for (size_t i = 0; i < iters; i++) {
		for (size_t p = 0; p < pairs; p++) {
			struct diff_result r;
			diff_result_init(&r);
			if (diff_compute(desired[p], live[p], ds, &r) < 0) {
				fprintf(stderr, "bench: diff: %s\n", err_msg());
				exit(1);
			}
			if (want_modified >= 0 && r.modified != want_modified) {
				fprintf(stderr, "bench: pair %zu: modified=%d, expected %d\n", p, r.modified, want_modified);
				exit(1);
			}
			diff_result_release(&r);
		}
	}
	double dt = now_s() - t0;
	if (allocs_per_diff)
		*allocs_per_diff = (double)(n_allocs - a0) / (double)(iters * pairs);
	return (double)(iters * pairs) / dt;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FIXTURE_DIR [ITERATIONS] [RSS_ITERATIONS]\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];
	size_t iters = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
	size_t rss_iters = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
	json_set_alloc_funcs(count_malloc, free);

	json_t *dd = load(dir, "deployment-config.json"), *dl0 = load(dir, "deployment-live.json");
	json_t *dl = grow_deployment(dd, dl0);
	json_t *dc = json_deep_copy(dd);
	json_object_set_new(json_object_get(dc, "spec"), "replicas", json_integer(3));
	char *s = json_dumps(dl, JSON_COMPACT);
	printf("deployment-live-bytes %zu bytes\n", strlen(s));
	free(s);

	double allocs;
	double ups = run(&dd, &dl, 1, iters, 0, &allocs, NULL);
	printf("deployment-unchanged %.0f diffs/s\n", ups);
	printf("deployment-unchanged-allocs %.1f allocs/diff\n", allocs);
	double cps = run(&dc, &dl, 1, iters, 1, &allocs, NULL);
	printf("deployment-changed %.0f diffs/s\n", cps);
	printf("deployment-changed-allocs %.1f allocs/diff\n", allocs);
	struct diff_settings compare_only = {.compare_only = true};
	cps = run(&dc, &dl, 1, iters, 1, &allocs, &compare_only);
	printf("deployment-changed-compare-only %.0f diffs/s\n", cps);
	printf("deployment-changed-compare-only-allocs %.1f allocs/diff\n", allocs);

	static const char *kinds[] = {"deployment", "elasticsearch", "endpoints", "grafana-clusterrole",
				      "aggr-clusterrole", "mutatingwebhookconfig", "sealedsecret",
				      "spinnaker-sa", "wordpress"};
	json_t *ad[50], *al[50];
	for (size_t i = 0; i < 50; i++) {
		char name[256];
		const char *k = kinds[i % 9];
		snprintf(name, sizeof(name), "%s-config.json", k);
		ad[i] = load(dir, name);
		snprintf(name, sizeof(name), "%s-live.json", k);
		al[i] = load(dir, name);
		default_ns(ad[i], al[i]);
		char obj[64];
		snprintf(obj, sizeof(obj), "obj-%zu", i);
		json_object_set_new(json_object_get(ad[i], "metadata"), "name", json_string(obj));
		json_object_set_new(json_object_get(al[i], "metadata"), "name", json_string(obj));
	}
	size_t app_iters = iters / 50 ? iters / 50 : 1;
	double aps = run(ad, al, 50, app_iters, 0, &allocs, NULL);
	printf("app-50 %.0f diffs/s\n", aps);
	printf("app-50-refresh %.2f ms/refresh\n", 50.0 / aps * 1000.0);
	printf("app-50-allocs %.1f allocs/diff\n", allocs);

	if (rss_iters) {
		run(&dd, &dl, 1, 10000, 0, NULL, NULL); /* warm up the allocator */
		long before = rss_kb();
		run(&dd, &dl, 1, rss_iters, 0, NULL, NULL);
		long after = rss_kb();
		printf("rss-before %ld KiB\n", before);
		printf("rss-after-%zu %ld KiB\n", rss_iters, after);
	}
	for (size_t i = 0; i < 50; i++) {
		json_decref(ad[i]);
		json_decref(al[i]);
	}
	json_decref(dd);
	json_decref(dl);
	json_decref(dl0);
	json_decref(dc);
	return 0;
}
