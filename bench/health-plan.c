/*
 * Benchmark of the controller's per-resource bookkeeping: health assessment
 * (lib/health), annotation parsing (lib/annot) and sync planning
 * (lib/syncplan). Run by bench/health-plan; results in bench/RESULTS.md.
 *
 *   build/bench/health-plan FIXTURE_DIR [SECONDS]
 *
 * FIXTURE_DIR is gitops-engine's health fixtures (one object per file).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annot.h"
#include "clock.h"
#include "err.h"
#include "health.h"
#include "kyaml.h"
#include "str.h"
#include "syncplan.h"

static json_t *load_dir(const char *dir)
{
	json_t *objs = json_array();
	struct dirent *e;
	DIR *d = opendir(dir);
	char path[4096];

	if (!d) {
		fprintf(stderr, "health-plan: cannot open %s\n", dir);
		exit(2);
	}
	while ((e = readdir(d))) {
		FILE *f;
		char *data;
		long n;
		json_t *o;
		if (!str_ends_with(e->d_name, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!(f = fopen(path, "rb")))
			continue;
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		data = malloc((size_t)n + 1);
		if (fread(data, 1, (size_t)n, f) == (size_t)n && kyaml_load_one(data, (size_t)n, NULL, &o) == 0)
			json_array_append_new(objs, o);
		free(data);
		fclose(f);
	}
	closedir(d);
	return objs;
}

/* A synthetic app: n objects of common kinds over 10 namespaces and 5
 * waves, with a Namespace and a CRD that must move forward, and hooks. */
static json_t *synthetic_app(size_t n)
{
	static const char *const kinds[][2] = {
		{"v1", "ConfigMap"}, {"v1", "Secret"}, {"v1", "Service"}, {"apps/v1", "Deployment"},
		{"apps/v1", "StatefulSet"}, {"batch/v1", "Job"}, {"example.com/v1", "Widget"},
		{"networking.k8s.io/v1", "Ingress"},
	};
	json_t *app = json_array();
	char name[64], ns[32], wave[16];

	for (size_t i = 0; i < n; i++) {
		size_t k = i % 8;
		snprintf(name, sizeof(name), "obj-%zu", i);
		snprintf(ns, sizeof(ns), "ns-%zu", i % 10);
		snprintf(wave, sizeof(wave), "%d", (int)(i % 5) - 2);
		json_t *o = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}}}", "apiVersion", kinds[k][0], "kind", kinds[k][1],
				      "metadata", "name", name, "namespace", ns, "annotations",
				      "argocd.argoproj.io/sync-wave", wave);
		if (k == 5 && i % 3 == 0)
			json_object_set_new(json_object_get(json_object_get(o, "metadata"), "annotations"),
					    "argocd.argoproj.io/hook", json_string("PreSync"));
		json_array_append_new(app, o);
	}
	for (int i = 0; i < 10; i++) {
		snprintf(ns, sizeof(ns), "ns-%d", i);
		json_array_append_new(app, json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
						     "metadata", "name", ns));
	}
	json_array_append_new(app, json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:{s:s}}}", "apiVersion",
					     "apiextensions.k8s.io/v1", "kind", "CustomResourceDefinition", "metadata",
					     "name", "widgets.example.com", "spec", "group", "example.com", "names",
					     "kind", "Widget"));
	return app;
}

int main(int argc, char **argv)
{
	double secs = argc > 2 ? atof(argv[2]) : 2.0;
	json_t *objs;
	int64_t start, deadline;
	size_t count = 0, n;

	if (argc < 2) {
		fprintf(stderr, "usage: health-plan FIXTURE_DIR [SECONDS]\n");
		return 2;
	}
	objs = load_dir(argv[1]);
	n = json_array_size(objs);
	printf("health: %zu fixture objects\n", n);

	start = clock_mono_ms();
	deadline = start + (int64_t)(secs * 1000);
	while (clock_mono_ms() < deadline) {
		for (size_t i = 0; i < n; i++) {
			struct health h;
			health_assess(json_array_get(objs, i), NULL, &h);
		}
		count += n;
	}
	printf("health_assess: %.0f objects/s\n", count * 1000.0 / (double)(clock_mono_ms() - start));

	count = 0;
	start = clock_mono_ms();
	deadline = start + (int64_t)(secs * 1000);
	while (clock_mono_ms() < deadline) {
		for (size_t i = 0; i < n; i++) {
			struct annot a;
			if (annot_parse(json_array_get(objs, i), &a) == 0)
				annot_release(&a);
		}
		count += n;
	}
	printf("annot_parse: %.0f objects/s\n", count * 1000.0 / (double)(clock_mono_ms() - start));

	for (size_t size = 100; size <= 5000; size *= 50) {
		json_t *app = synthetic_app(size);
		struct syncplan p;
		count = 0;
		start = clock_mono_ms();
		deadline = start + (int64_t)(secs * 1000);
		while (clock_mono_ms() < deadline) {
			if (syncplan_build(app, NULL, NULL, &p) < 0) {
				fprintf(stderr, "syncplan_build: %s\n", err_msg());
				return 1;
			}
			syncplan_release(&p);
			count++;
		}
		double ms = (double)(clock_mono_ms() - start) / (double)count;
		printf("syncplan_build, %zu objects: %.3f ms per plan (%.0f objects/s)\n", json_array_size(app), ms,
		       (double)json_array_size(app) * 1000.0 / ms);
		json_decref(app);
	}
	json_decref(objs);
	return 0;
}
