/*
 * kube-sim-fanout — watch fan-out benchmark for kube-sim (bench/kube-sim).
 *
 *   kube-sim-fanout PORT WATCHERS RATE SECONDS
 *
 * Creates ConfigMap "fan" in default, opens WATCHERS watch streams on it
 * (plain HTTP to 127.0.0.1:PORT), then merge-patches it RATE times per
 * second for SECONDS, each patch carrying the send time. Each watcher
 * records the delay between the send time and the moment it read the
 * event. Prints events sent, the rate reached, events received per watcher
 * (min/max) and the lag distribution.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "str.h"

static int port;
static volatile int stopping;

struct watcher {
	pthread_t th;
	long received;
	double max_lag_ms;
	double *lags;
	size_t nlags, cap;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_local(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		exit(1);
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w <= 0) {
			perror("write");
			exit(1);
		}
		s += w;
		n -= (size_t)w;
	}
}

/* Reads one HTTP response with Content-Length (the writer's answers). */
static void read_response(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r <= 0) {
			perror("read");
			exit(1);
		}
		len += (size_t)r;
		buf[len] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		char *cl = strcasestr(buf, "Content-Length:");
		size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
		if (len >= (size_t)(end + 4 - buf) + body)
			return;
	}
}

static void *watch_main(void *arg)
{
	struct watcher *w = arg;
	int fd = connect_local();
	char req[512];
	snprintf(req, sizeof(req),
		 "GET /api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%%3Dfan&timeoutSeconds=600 "
		 "HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
	send_all(fd, req, strlen(req));
	static __thread char buf[1 << 16];
	size_t len = 0;
	while (!stopping) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		char *p = buf, *nl;
		while ((nl = strchr(p, '\n'))) {
			*nl = '\0';
			char *t = strstr(p, "\"t\":\"");
			if (t && strstr(p, "\"type\":\"MODIFIED\"")) {
				double sent = strtod(t + 5, NULL);
				double lag = (now_s() - sent) * 1000.0;
				if (w->nlags == w->cap) {
					w->cap = w->cap ? w->cap * 2 : 4096;
					w->lags = realloc(w->lags, w->cap * sizeof(double));
				}
				w->lags[w->nlags++] = lag;
				if (lag > w->max_lag_ms)
					w->max_lag_ms = lag;
				w->received++;
			}
			p = nl + 1;
		}
		len = (size_t)(buf + len - p);
		memmove(buf, p, len);
	}
	close(fd);
	return NULL;
}

struct writer {
	pthread_t th;
	double t0, rate;
	int secs;
	long sent;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	static __thread char resp[1 << 16];
	char req[1024];
	int fd = connect_local();
	while (now_s() - w->t0 < w->secs) {
		double target = w->t0 + (double)w->sent / w->rate;
		double d = target - now_s();
		if (d > 0)
			clock_sleep_ms((int64_t)(d * 1000));
		char body[128];
		/* Unique per write (writer, sequence), so no patch is a no-op. */
		int bl = snprintf(body, sizeof(body), "{\"data\":{\"t\":\"%.6f-%p-%ld\"}}", now_s(), (void *)w, w->sent);
		int n = snprintf(req, sizeof(req),
				 "PATCH /api/v1/namespaces/default/configmaps/fan HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				 "Content-Type: application/merge-patch+json\r\nContent-Length: %d\r\n\r\n%s",
				 bl, body);
		send_all(fd, req, (size_t)n);
		read_response(fd, resp, sizeof(resp));
		w->sent++;
	}
	close(fd);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int nw, rate, secs;
	if (argc != 5 || str_to_int(argv[1], 1, 65535, &port) < 0 || str_to_int(argv[2], 1, 10000, &nw) < 0 ||
	    str_to_int(argv[3], 1, 1000000, &rate) < 0 || str_to_int(argv[4], 1, 3600, &secs) < 0) {
		fprintf(stderr, "usage: kube-sim-fanout PORT WATCHERS RATE SECONDS\n");
		return 2;
	}
	static char resp[1 << 16];
	int wfd = connect_local();
	const char *create = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"fan\"},\"data\":{\"t\":\"0\"}}";
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
			 "application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 strlen(create), create);
	send_all(wfd, req, (size_t)n);
	read_response(wfd, resp, sizeof(resp));

	struct watcher *ws = calloc((size_t)nw, sizeof(*ws));
	for (int i = 0; i < nw; i++)
		pthread_create(&ws[i].th, NULL, watch_main, &ws[i]);
	clock_sleep_ms(500);

	/* Two writer connections share the rate (one request-response loop
	 * alone cannot always keep up on a loaded machine). */
	struct writer wr[2];
	double t0 = now_s();
	for (int i = 0; i < 2; i++) {
		wr[i] = (struct writer){ .t0 = t0, .rate = rate / 2.0, .secs = secs };
		pthread_create(&wr[i].th, NULL, writer_main, &wr[i]);
	}
	long sent = 0;
	for (int i = 0; i < 2; i++) {
		pthread_join(wr[i].th, NULL);
		sent += wr[i].sent;
	}
	double elapsed = now_s() - t0;
	clock_sleep_ms(1500);
	stopping = 1;
	long minr = -1, maxr = 0;
	size_t total = 0;
	for (int i = 0; i < nw; i++) {
		total += ws[i].nlags;
		if (minr < 0 || ws[i].received < minr)
			minr = ws[i].received;
		if (ws[i].received > maxr)
			maxr = ws[i].received;
	}
	double *all = malloc((total + 1) * sizeof(double));
	size_t k = 0;
	for (int i = 0; i < nw; i++)
		for (size_t j = 0; j < ws[i].nlags; j++)
			all[k++] = ws[i].lags[j];
	qsort(all, k, sizeof(double), cmp_double);
	printf("sent %ld events in %.1f s (%.0f/s) to %d watchers; received per watcher min %ld max %ld; "
	       "lag p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
	       sent, elapsed, sent / elapsed, nw, minr, maxr, k ? all[k / 2] : 0, k ? all[(size_t)(k * 0.99)] : 0,
	       k ? all[k - 1] : 0);
	/* Watcher threads are left blocked in read(); the process exits. */
	return 0;
}
