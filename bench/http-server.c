/*
 * http-server — benchmark for lib/httpd and lib/httpc.
 *
 *   build/bench/http-server serve [SECONDS]
 *       serves GET /api/v1/namespaces/{ns}/pods/{name} (a small JSON object,
 *       like a kube-sim GET) and GET /watch (one event line every 100 ms) on
 *       127.0.0.1 and prints "ready http://127.0.0.1:PORT"; exits after
 *       SECONDS (default 3600) or on SIGINT/SIGTERM. Drive it with wrk
 *       (bench/http does).
 *   build/bench/http-server self THREADS SECONDS
 *       serves as above and loads it from THREADS lib/httpc threads on one
 *       shared client (keep-alive) for SECONDS; prints requests per second.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "httpc.h"
#include "httpd.h"
#include "str.h"

static const char pod_fmt[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
	"\"resourceVersion\":\"12345\",\"uid\":\"0b3c4d5e-1111-2222-3333-444455556666\"},"
	"\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\"}]},"
	"\"status\":{\"phase\":\"Running\"}}";

static void get_pod(struct httpd_req *req, void *ud)
{
	char body[1024];
	int n;
	(void)ud;
	n = snprintf(body, sizeof(body), pod_fmt, httpd_req_param(req, "name"), httpd_req_param(req, "ns"));
	httpd_respond(req, 200, "application/json", body, (size_t)n);
}

static atomic_bool stopping;

static void *watch_feed(void *arg)
{
	struct httpd_stream *s = arg;
	char line[256];
	for (int i = 0; !atomic_load(&stopping); i++) {
		int n = snprintf(line, sizeof(line), "{\"type\":\"MODIFIED\",\"object\":{\"n\":%d}}\n", i);
		if (httpd_stream_write(s, line, (size_t)n) < 0)
			break;
		clock_sleep_ms(100);
	}
	httpd_stream_unref(s);
	return NULL;
}

static void watch(struct httpd_req *req, void *ud)
{
	struct httpd_stream *s;
	pthread_t t;
	(void)ud;
	if (httpd_stream_start(req, 200, "application/json", &s) < 0)
		return;
	if (pthread_create(&t, NULL, watch_feed, s) != 0) {
		httpd_stream_close(s);
		httpd_stream_unref(s);
		return;
	}
	pthread_detach(t);
}

struct loader {
	struct httpc *c;
	const char *url;
	int64_t until;
	uint64_t ok, failed;
};

static void *load(void *arg)
{
	struct loader *l = arg;
	struct httpc_req req = {.url = l->url};
	struct httpc_resp r;
	httpc_resp_init(&r);
	while (clock_mono_ms() < l->until) {
		if (httpc_request(l->c, &req, &r) == 0 && r.status == 200)
			l->ok++;
		else
			l->failed++;
	}
	httpc_resp_release(&r);
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stopping, true);
}

int main(int argc, char **argv)
{
	struct httpd_config cfg = {.listen = "127.0.0.1:0", .max_connections = 4096};
	struct httpd *srv;
	const char *mode = argc > 1 ? argv[1] : "serve";
	char url[128];

	if (httpd_new(&cfg, &srv) < 0 ||
	    httpd_route(srv, "GET", "/api/v1/namespaces/{ns}/pods/{name}", get_pod, NULL) < 0 ||
	    httpd_route(srv, "GET", "/watch", watch, NULL) < 0 || httpd_start(srv) < 0) {
		fprintf(stderr, "http-server: %s\n", err_msg());
		return 1;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v1/namespaces/default/pods/web-1", httpd_port(srv));

	if (strcmp(mode, "self") == 0) {
		int threads = 4, seconds = 5;
		if (argc > 2)
			str_to_int(argv[2], 1, 256, &threads);
		if (argc > 3)
			str_to_int(argv[3], 1, 600, &seconds);
		struct httpc_config ccfg = {.max_idle_handles = (unsigned)threads};
		struct httpc *c;
		pthread_t *t = calloc((size_t)threads, sizeof(*t));
		struct loader *l = calloc((size_t)threads, sizeof(*l));
		uint64_t ok = 0, failed = 0;
		if (!t || !l || httpc_new(&ccfg, &c) < 0)
			return 1;
		int64_t t0 = clock_mono_ms();
		for (int i = 0; i < threads; i++) {
			l[i] = (struct loader){.c = c, .url = url, .until = t0 + seconds * 1000};
			pthread_create(&t[i], NULL, load, &l[i]);
		}
		for (int i = 0; i < threads; i++) {
			pthread_join(t[i], NULL);
			ok += l[i].ok;
			failed += l[i].failed;
		}
		double secs = (double)(clock_mono_ms() - t0) / 1000.0;
		struct httpd_stats st;
		httpd_get_stats(srv, &st);
		printf("httpc threads=%d seconds=%.1f requests=%llu failed=%llu rate=%.0f/s connections=%llu\n",
		       threads, secs, (unsigned long long)ok, (unsigned long long)failed, (double)ok / secs,
		       (unsigned long long)st.connections_total);
		httpc_free(c);
		free(t);
		free(l);
		httpd_free(srv);
		return failed ? 1 : 0;
	}

	int seconds = 3600;
	if (argc > 2)
		str_to_int(argv[2], 1, 86400, &seconds);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready http://127.0.0.1:%u\n", httpd_port(srv));
	fflush(stdout);
	int64_t until = clock_mono_ms() + seconds * 1000;
	while (!atomic_load(&stopping) && clock_mono_ms() < until)
		clock_sleep_ms(100);
	atomic_store(&stopping, true);
	httpd_free(srv);
	return 0;
}
