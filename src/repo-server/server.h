/*
 * berth-repo-server internals: the state the route handlers share.
 *
 * main.c parses flags and wires things; routes.c holds the HTTP handlers
 * (resolve, app-details, health, metrics) and the request/error plumbing;
 * manifests.c the /v1/manifests pipeline (resolve → cache → export →
 * render → cache); metrics.c the counters and their Prometheus text.
 */
#ifndef BERTH_REPO_SERVER_H
#define BERTH_REPO_SERVER_H

#include <jansson.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>

#include "gitrepo.h"
#include "httpd.h"
#include "rcache.h"
#include "render.h"

#define MANIFEST_TTL_S (24 * 3600)

struct repo_metrics {
	pthread_mutex_t mu;
	uint64_t renders[4];       /* by enum render_type */
	uint64_t render_errors;
	uint64_t cache_hits, cache_misses;
	uint64_t render_ms_sum, render_count;
	uint64_t tool_runs;
	uint64_t requests[4];      /* manifests, resolve, app-details, errors */
};

struct repo_server {
	struct gitrepo_cache *git;
	struct rcache *cache;       /* NULL when no --redis */
	char *work_dir;             /* where private checkouts go */
	bool work_dir_private;      /* made by us in /dev/shm: removed at exit */
	char *tool_path;            /* PATH for helm/kustomize */
	char *tool_versions;        /* for cache keys */
	int64_t exec_timeout_ms;
	size_t max_manifest_bytes;
	sem_t render_slots;         /* --parallelism */
	struct repo_metrics metrics;
};

/* A request's repository credentials, borrowed from its JSON body. */
int repo_creds_from_json(const json_t *repo, const char **ret_url, struct gitrepo_creds *ret);

/* Answers {"error": err_msg(), "reason": ...} with the status for code. */
void repo_respond_error(struct httpd_req *req, int code);

/* Exports commit sha of url into a new private folder under work_dir;
 * *ret_root is its resolved path (remove with fsx_remove_tree, free). */
int repo_checkout(struct repo_server *s, const char *url, const char *sha, char **ret_root);

void repo_handle_manifests(struct httpd_req *req, void *ud);
void repo_handle_resolve(struct httpd_req *req, void *ud);
void repo_handle_app_details(struct httpd_req *req, void *ud);
void repo_handle_healthz(struct httpd_req *req, void *ud);
void repo_handle_metrics(struct httpd_req *req, void *ud);

void repo_metrics_init(struct repo_metrics *m);
void repo_metrics_count(struct repo_metrics *m, uint64_t *field, uint64_t n);
/* The Prometheus text exposition (newly allocated). */
char *repo_metrics_text(struct repo_server *s);

#endif
