/* bench/yaml — throughput of lib/kyaml beside raw libyaml.
 *
 *   build/bench/yaml [--sock-shop DIR] [--gen-mb N] [--min-ms N]
 *
 * Two inputs: the YAML files of a directory (default: the shared fixtures'
 * sock-shop), concatenated as one multi-document stream; and a generated
 * stream of N MB (default 10) of Deployments and ConfigMaps. For each it
 * times, in the same run and on the same bytes:
 *   libyaml-events  yaml_parser_parse in a loop, events discarded (the floor:
 *                   what tokenising alone costs)
 *   yaml->json      kyaml_load_stream (libyaml events + the JSON tree)
 *   json->yaml      kyaml_dump_stream of that tree
 * Each figure is the best of repeated runs lasting at least --min-ms in
 * total (default 1500), so a neighbour's burst of load does not decide it.
 * Prints MB/s (of the YAML bytes), documents/s, and the time relative to
 * raw libyaml event parsing.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "kyaml.h"
#include "str.h"

static struct buf files_buf;
static char **file_names;
static size_t file_count;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_F && (str_ends_with(path, ".yaml") || str_ends_with(path, ".yml"))) {
		file_names = realloc(file_names, (file_count + 1) * sizeof(*file_names));
		if (!file_names)
			return 1;
		file_names[file_count++] = str_dup(path);
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Concatenates the directory's YAML files (sorted by path) with "---". */
static int load_dir(const char *dir, struct buf *out)
{
	char chunk[65536];
	size_t n;

	if (nftw(dir, collect, 16, FTW_PHYS) != 0 || file_count == 0) {
		fprintf(stderr, "yaml: no YAML files under %s\n", dir);
		return -1;
	}
	qsort(file_names, file_count, sizeof(*file_names), name_cmp);
	for (size_t i = 0; i < file_count; i++) {
		FILE *f = fopen(file_names[i], "rb");
		if (!f)
			return -1;
		if (out->len && buf_puts(out, "\n---\n") < 0)
			return -1;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			if (buf_append(out, chunk, n) < 0)
				return -1;
		fclose(f);
		free(file_names[i]);
	}
	free(file_names);
	return 0;
}

/* A deterministic stream of Deployments and ConfigMaps of about mb MB. */
static int generate(size_t mb, struct buf *out)
{
	size_t target = mb << 20;
	int rc = 0;

	for (unsigned i = 0; out->len < target && rc == 0; i++) {
		if (i % 2 == 0) {
			rc = buf_printf(out,
					"---\n"
					"apiVersion: apps/v1\n"
					"kind: Deployment\n"
					"metadata:\n"
					"  name: svc-%u\n"
					"  namespace: team-%u\n"
					"  labels:\n"
					"    app.kubernetes.io/name: svc-%u\n"
					"    app.kubernetes.io/part-of: shop\n"
					"  annotations:\n"
					"    berth.dev/sync-wave: \"%u\"\n"
					"spec:\n"
					"  replicas: %u\n"
					"  selector:\n"
					"    matchLabels:\n"
					"      app.kubernetes.io/name: svc-%u\n"
					"  template:\n"
					"    metadata:\n"
					"      labels:\n"
					"        app.kubernetes.io/name: svc-%u\n"
					"    spec:\n"
					"      containers:\n"
					"      - name: app\n"
					"        image: registry.example.com/shop/svc-%u:1.%u.%u\n"
					"        args: [\"--port=8080\", \"--verbose\", '--mode=fast']\n"
					"        ports:\n"
					"        - containerPort: 8080\n"
					"          protocol: TCP\n"
					"        env:\n"
					"        - name: ENABLE_CACHE\n"
					"          value: \"true\"\n"
					"        - name: MAX_CONNECTIONS\n"
					"          value: \"%u\"\n"
					"        resources:\n"
					"          limits: {cpu: 500m, memory: 256Mi}\n"
					"          requests: {cpu: 100m, memory: 64Mi}\n"
					"        readinessProbe:\n"
					"          httpGet: {path: /healthz, port: 8080}\n"
					"          periodSeconds: 10\n"
					"      securityContext:\n"
					"        runAsNonRoot: true\n"
					"        runAsUser: 1000\n",
					i, i % 17, i, i % 5, 1 + i % 4, i, i, i, i % 10, i % 7, 100 + i % 900);
		} else {
			rc = buf_printf(out,
					"---\n"
					"apiVersion: v1\n"
					"kind: ConfigMap\n"
					"metadata:\n"
					"  name: config-%u\n"
					"data:\n"
					"  app.properties: |\n"
					"    server.port=8080\n"
					"    cache.size=%u\n"
					"    feature.flags=a,b,c\n"
					"  mode: '0644'\n"
					"  script.sh: |-\n"
					"    #!/bin/sh\n"
					"    exec /app --config /etc/app/app.properties\n",
					i, i * 3);
		}
	}
	return rc;
}

struct result {
	double best_s;
	size_t docs;
};

/* Raw libyaml: events only. Returns the number of documents. */
static size_t run_libyaml(const struct buf *in)
{
	yaml_parser_t p;
	yaml_event_t ev;
	size_t docs = 0;
	int done = 0;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)in->ptr, in->len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			fprintf(stderr, "yaml: libyaml failed: %s\n", p.problem);
			exit(1);
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT)
			docs++;
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return docs;
}

static size_t run_load(const struct buf *in)
{
	json_t *docs;
	size_t n;

	if (kyaml_load_stream(in->ptr, in->len, NULL, &docs) < 0) {
		fprintf(stderr, "yaml: kyaml_load_stream: %s\n", err_msg());
		exit(1);
	}
	n = json_array_size(docs);
	json_decref(docs);
	return n;
}

static json_t *dump_input;
static struct buf dump_out;

static size_t run_dump(const struct buf *in)
{
	(void)in;
	buf_reset(&dump_out);
	if (kyaml_dump_stream(dump_input, &dump_out) < 0) {
		fprintf(stderr, "yaml: kyaml_dump_stream: %s\n", err_msg());
		exit(1);
	}
	return json_array_size(dump_input);
}

static struct result measure(size_t (*fn)(const struct buf *), const struct buf *in, double min_s)
{
	struct result r = { 1e99, 0 };
	double start = now_s(), t0, t;
	int runs = 0;

	while (runs < 3 || now_s() - start < min_s) {
		t0 = now_s();
		r.docs = fn(in);
		t = now_s() - t0;
		if (t < r.best_s)
			r.best_s = t;
		runs++;
	}
	return r;
}

static void report(const char *input, const struct buf *in, double min_s)
{
	struct result raw, load, dump;

	raw = measure(run_libyaml, in, min_s);
	load = measure(run_load, in, min_s);
	if (kyaml_load_stream(in->ptr, in->len, NULL, &dump_input) < 0)
		exit(1);
	buf_init(&dump_out, (size_t)1 << 30);
	dump = measure(run_dump, in, min_s);
	json_decref(dump_input);
	buf_release(&dump_out);

	/* Documents counted as kyaml returns them (empty ones skipped). */
	raw.docs = load.docs;
	double mb = (double)in->len / 1e6;
	printf("%-10s %9zu bytes %6zu docs  %-15s %8.1f MB/s %10.0f docs/s  %5.2fx libyaml\n", input, in->len,
	       raw.docs, "libyaml-events", mb / raw.best_s, (double)raw.docs / raw.best_s, 1.0);
	printf("%-10s %9zu bytes %6zu docs  %-15s %8.1f MB/s %10.0f docs/s  %5.2fx libyaml\n", input, in->len,
	       load.docs, "yaml->json", mb / load.best_s, (double)load.docs / load.best_s,
	       load.best_s / raw.best_s);
	printf("%-10s %9zu bytes %6zu docs  %-15s %8.1f MB/s %10.0f docs/s  %5.2fx libyaml\n", input, in->len,
	       dump.docs, "json->yaml", mb / dump.best_s, (double)dump.docs / dump.best_s,
	       dump.best_s / raw.best_s);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	uint64_t gen_mb = 10, min_ms = 1500;
	struct buf gen;
	char defdir[4096];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sock-shop") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strcmp(argv[i], "--gen-mb") && i + 1 < argc) {
			if (str_to_u64(argv[++i], &gen_mb) < 0 || gen_mb == 0 || gen_mb > 1024)
				goto usage;
		} else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) {
			if (str_to_u64(argv[++i], &min_ms) < 0)
				goto usage;
		} else {
			goto usage;
		}
	}
	if (!dir) {
		const char *top = getenv("BERTH_TOP");
		snprintf(defdir, sizeof(defdir), "%s/../shared/fixtures/argocd-example-apps/sock-shop",
			 top ? top : ".");
		dir = defdir;
	}
	buf_init(&files_buf, (size_t)256 << 20);
	if (load_dir(dir, &files_buf) < 0)
		return 1;
	buf_init(&gen, (size_t)(gen_mb + 1) << 20);
	if (generate((size_t)gen_mb, &gen) < 0)
		return 1;
	report("sock-shop", &files_buf, (double)min_ms / 1000);
	report("generated", &gen, (double)min_ms / 1000);
	buf_release(&files_buf);
	buf_release(&gen);
	return 0;
usage:
	fprintf(stderr, "usage: yaml [--sock-shop DIR] [--gen-mb N] [--min-ms N]\n");
	return 2;
}
