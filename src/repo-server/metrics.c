/* berth-repo-server: counters and their Prometheus text (GET /metrics). */
#include <stdlib.h>

#include "buf.h"
#include "server.h"

void repo_metrics_init(struct repo_metrics *m)
{
	*m = (struct repo_metrics){0};
	pthread_mutex_init(&m->mu, NULL);
}

void repo_metrics_count(struct repo_metrics *m, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&m->mu);
	*field += n;
	pthread_mutex_unlock(&m->mu);
}

char *repo_metrics_text(struct repo_server *s)
{
	struct repo_metrics m;
	struct gitrepo_stats g;
	struct rcache_stats r = {0};
	struct buf b;
	static const char *const types[] = {"Directory", "Kustomize", "Helm", "Jsonnet"};

	pthread_mutex_lock(&s->metrics.mu);
	m = s->metrics;
	pthread_mutex_unlock(&s->metrics.mu);
	gitrepo_get_stats(s->git, &g);
	if (s->cache)
		rcache_get_stats(s->cache, &r);
	buf_init(&b, 1 << 20);
	buf_puts(&b, "# HELP berth_repo_renders_total Renders run, by source type.\n"
		     "# TYPE berth_repo_renders_total counter\n");
	for (int i = 0; i < 4; i++)
		buf_printf(&b, "berth_repo_renders_total{type=\"%s\"} %llu\n", types[i], (unsigned long long)m.renders[i]);
	buf_printf(&b,
		   "# TYPE berth_repo_render_errors_total counter\nberth_repo_render_errors_total %llu\n"
		   "# TYPE berth_repo_render_duration_seconds summary\n"
		   "berth_repo_render_duration_seconds_sum %.3f\nberth_repo_render_duration_seconds_count %llu\n"
		   "# TYPE berth_repo_tool_runs_total counter\nberth_repo_tool_runs_total %llu\n"
		   "# TYPE berth_repo_cache_hits_total counter\nberth_repo_cache_hits_total %llu\n"
		   "# TYPE berth_repo_cache_misses_total counter\nberth_repo_cache_misses_total %llu\n"
		   "# TYPE berth_repo_cache_rejected_total counter\nberth_repo_cache_rejected_total %llu\n"
		   "# TYPE berth_repo_redis_up gauge\nberth_repo_redis_up %d\n"
		   "# TYPE berth_repo_git_fetches_total counter\nberth_repo_git_fetches_total %llu\n"
		   "# TYPE berth_repo_git_fetch_errors_total counter\nberth_repo_git_fetch_errors_total %llu\n"
		   "# TYPE berth_repo_git_ls_remote_total counter\nberth_repo_git_ls_remote_total %llu\n"
		   "# TYPE berth_repo_git_ls_remote_cache_hits_total counter\n"
		   "berth_repo_git_ls_remote_cache_hits_total %llu\n"
		   "# TYPE berth_repo_git_cache_evictions_total counter\nberth_repo_git_cache_evictions_total %llu\n"
		   "# TYPE berth_repo_requests_total counter\n"
		   "berth_repo_requests_total{route=\"manifests\"} %llu\n"
		   "berth_repo_requests_total{route=\"resolve\"} %llu\n"
		   "berth_repo_requests_total{route=\"app-details\"} %llu\n"
		   "# TYPE berth_repo_request_errors_total counter\nberth_repo_request_errors_total %llu\n",
		   (unsigned long long)m.render_errors, (double)m.render_ms_sum / 1000.0,
		   (unsigned long long)m.render_count, (unsigned long long)m.tool_runs,
		   (unsigned long long)m.cache_hits, (unsigned long long)m.cache_misses,
		   (unsigned long long)r.rejected, s->cache && rcache_up(s->cache) ? 1 : 0,
		   (unsigned long long)g.fetches, (unsigned long long)g.fetch_errors, (unsigned long long)g.ls_remotes,
		   (unsigned long long)g.ls_remote_hits, (unsigned long long)g.evictions,
		   (unsigned long long)m.requests[0],
		   (unsigned long long)m.requests[1], (unsigned long long)m.requests[2],
		   (unsigned long long)m.requests[3]);
	return buf_detach(&b, NULL);
}
