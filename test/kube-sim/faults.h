/*
 * faults — kube-sim's fault injection: the test hooks of KUBE-API.md §10.
 *
 * A fault set says what goes wrong with requests: a fraction answered 429
 * (with Retry-After), 500 or 503; answers 500/503 on paths matching a glob;
 * added latency; a fraction of connections dropped without an answer; watch
 * streams closed every interval; the watch history compacted every interval
 * (so resumed watches get 410); the bearer token expired (401) or rotated.
 *
 * It is set at start from --faults SPEC, a comma list:
 *     429=0.1,500=0.05,503=0.1,latency=20ms,drop=0.01,watch-drop=10s,
 *     compact=30s,500@/apis/apps/GLOB=1
 * (CODE=FRACTION; CODE@GLOB=FRACTION for a path pattern, CODE 500 or 503,
 * GLOB a shell pattern where a star also matches slashes;
 * durations as lib/str.h parses them) and changed at run time through the
 * admin endpoint under /_admin/, which needs its own token (not the cluster
 * token): "Authorization: Bearer <admin token>".
 *
 *   GET    /_admin/faults            the current fault set as JSON
 *   PUT    /_admin/faults            replace it: {"429":0.1,"500":0.05,"503":0,
 *                                    "latency":"20ms","drop":0.01,"watch-drop":"10s",
 *                                    "compact":"30s","paths":[{"pattern":"/api/v1/GLOB",
 *                                    "status":503,"fraction":1}]}  (or a "spec" string)
 *   DELETE /_admin/faults            clear every fault (token state too)
 *   POST   /_admin/compact           compact the watch history now
 *   POST   /_admin/drop-watches      end every open watch stream now
 *   GET    /_admin/watches           {"open": N, "opened": M}: watch streams open
 *                                    now and ever opened
 *   POST   /_admin/token/expire      the cluster token stops working (401)
 *   POST   /_admin/token/rotate      a new cluster token replaces the old one;
 *                                    answer {"token":"..."}; body {"token":"x"} picks it
 *   POST   /_admin/token/restore     the original token works again
 *
 * Requests under /_admin/ are never faulted. Thread safety: every function
 * may be called from any thread.
 */
#ifndef KUBESIM_FAULTS_H
#define KUBESIM_FAULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_store;
struct faults;

/* The path prefix of the admin endpoint. */
#define FAULTS_ADMIN_PREFIX "/_admin/"

/* A new, empty fault set for store s (used for compaction and dropping
 * watches), with admin token admin_token (copied; NULL: a random one is
 * made, read it with faults_admin_token) and cluster bearer token
 * cluster_token (copied; NULL: the server uses no bearer token, and the
 * token endpoints answer 409). Starts the timer thread for watch-drop and
 * compact intervals. NULL on failure (err_msg says why). */
struct faults *faults_new(struct ks_store *s, const char *admin_token, const char *cluster_token);

/* Stops the timer thread and frees f. NULL is fine. */
void faults_free(struct faults *f);

/* Replaces the fault set with one parsed from SPEC (see above). 0, or
 * BERR_INVALID with a message naming the bad item (f unchanged). */
int faults_set_spec(struct faults *f, const char *spec);

/* The admin token (borrowed; lives as long as f). */
const char *faults_admin_token(struct faults *f);

/* What to do with one request, decided by faults_before_request(). */
struct faults_verdict {
	int status;          /* 0: serve normally; else answer with this code */
	int retry_after_s;   /* > 0: send "Retry-After: N" (429) */
	bool drop;           /* close the connection without an answer */
};

/* Called by the HTTP layer for every request before it is handled (also
 * watches; not for /_admin/). Sleeps the configured latency, then decides.
 * method and path (without the query) are as received. */
void faults_before_request(struct faults *f, const char *method, const char *path, struct faults_verdict *out);

/* The Kubernetes Status body for a faulted answer (429 TooManyRequests with
 * details.retryAfterSeconds, 500 InternalError, 503 ServiceUnavailable). New
 * reference. */
json_t *faults_status_body(const struct faults_verdict *v);

/* Token check for the HTTP layer: true when bearer (the token after
 * "Bearer ", NULL when none was sent) is the current valid cluster token.
 * Always false while the token is expired. When faults_new got no cluster
 * token this returns true for any bearer (auth off or by client cert only;
 * the caller decides). */
bool faults_token_accepted(struct faults *f, const char *bearer);

/* Handles a request under /_admin/: checks the admin token (bearer as
 * above), acts, and returns the HTTP status; *ret_body (new reference)
 * receives the JSON answer (a Status body on errors). path is the full path
 * ("/_admin/faults"); body may be NULL. */
int faults_admin(struct faults *f, const char *method, const char *path, const char *bearer, const char *body,
		 size_t body_len, json_t **ret_body);

#endif
