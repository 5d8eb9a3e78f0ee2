/* repo-client — load generator for bench/repo-server.
 *
 *   repo-client latency URL BODY-FILE N     N sequential POSTs of one body on one
 *                                           keep-alive connection: p50/p99/max ms
 *   repo-client burst URL BODIES-FILE       one thread per line of BODIES-FILE, all
 *                                           posting at once: wall time, failures
 *   repo-client fetch URL DIR               libgit2 fetch of URL into a new bare
 *                                           repository DIR: ms (for the git CLI
 *                                           comparison)
 */
#include <curl/curl.h>
#include <git2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "fsx.h"
#include "str.h"

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

static long post(CURL *h, const char *url, const char *body)
{
	long code = 0;
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdr);
	return code;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static char *slurp(const char *path)
{
	struct buf b;
	buf_init(&b, 64 << 20);
	if (fsx_read_file(path, &b) < 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	return buf_detach(&b, NULL);
}

static int latency(const char *url, const char *body_file, int n)
{
	char *body = slurp(body_file);
	int64_t *us = calloc((size_t)n, sizeof(*us));
	CURL *h = curl_easy_init();
	int bad = 0;

	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		bad += post(h, url, body) != 200;
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
	}
	qsort(us, (size_t)n, sizeof(*us), cmp_i64);
	printf("requests %d failed %d p50 %.3f ms p99 %.3f ms max %.3f ms\n", n, bad, us[n / 2] / 1000.0,
	       us[(n * 99) / 100] / 1000.0, us[n - 1] / 1000.0);
	curl_easy_cleanup(h);
	free(us);
	free(body);
	return bad != 0;
}

struct job {
	pthread_t th;
	const char *url;
	char *body;
	long code;
};

static void *burst_one(void *arg)
{
	struct job *j = arg;
	CURL *h = curl_easy_init();
	j->code = post(h, j->url, j->body);
	curl_easy_cleanup(h);
	return NULL;
}

static int burst(const char *url, const char *bodies_file)
{
	char *all = slurp(bodies_file);
	struct job jobs[1024];
	int n = 0, bad = 0;
	for (char *line = all; *line && n < 1024;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line) {
			jobs[n].url = url;
			jobs[n++].body = line;
		}
		line = nl ? nl + 1 : line + strlen(line);
	}
	int64_t t0 = clock_mono_ms();
	for (int i = 0; i < n; i++)
		pthread_create(&jobs[i].th, NULL, burst_one, &jobs[i]);
	for (int i = 0; i < n; i++) {
		pthread_join(jobs[i].th, NULL);
		bad += jobs[i].code != 200;
	}
	printf("requests %d failed %d wall %lld ms\n", n, bad, (long long)(clock_mono_ms() - t0));
	free(all);
	return bad != 0;
}

static int fetch(const char *url, const char *dir)
{
	git_repository *repo;
	git_remote *remote;
	git_fetch_options o;
	static char spec[] = "+refs/heads/*:refs/heads/*";
	char *specs[] = {spec};
	git_strarray rs = {specs, 1};

	git_libgit2_init();
	if (git_repository_init(&repo, dir, 1) < 0)
		return 1;
	git_fetch_options_init(&o, GIT_FETCH_OPTIONS_VERSION);
	o.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	int64_t t0 = clock_mono_ms();
	if (git_remote_create_anonymous(&remote, repo, url) < 0 || git_remote_fetch(remote, &rs, &o, NULL) < 0) {
		fprintf(stderr, "fetch: %s\n", git_error_last()->message);
		return 1;
	}
	printf("%lld\n", (long long)(clock_mono_ms() - t0));
	git_remote_free(remote);
	git_repository_free(repo);
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0;
	curl_global_init(CURL_GLOBAL_ALL);
	if (argc == 5 && !strcmp(argv[1], "latency") && str_to_int(argv[4], 1, 1000000, &n) == 0)
		return latency(argv[2], argv[3], n);
	if (argc == 4 && !strcmp(argv[1], "burst"))
		return burst(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "fetch"))
		return fetch(argv[2], argv[3]);
	fprintf(stderr, "usage: repo-client latency URL BODY-FILE N | burst URL BODIES-FILE | fetch URL DIR\n");
	return 2;
}
