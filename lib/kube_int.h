/*
 * kube_int — internals shared by kube.c (client, requests, errors,
 * credentials, limiter), kube_disc.c (discovery) and kube_watch.c (watches
 * on the multiplexer). Not part of the public API.
 */
#ifndef BERTH_KUBE_INT_H
#define BERTH_KUBE_INT_H

#include <pthread.h>

#include "httpc.h"
#include "kube.h"

#define KUBE_MAX_HEADERS 16

struct kube_client {
	struct kube_config cfg;
	struct kube_client_opts o;
	struct httpc *http;

	pthread_mutex_t mu;          /* credential, limiter, metrics */
	char *auth_header;           /* "Authorization: Bearer ..." or NULL */
	char *cert_pem;              /* client certificate in use (NULL: none); key in kc->http only */
	int64_t cred_read_ms;        /* monotonic time of the last credential read */
	int64_t cred_expires_ms;     /* wall ms; 0 = no expiry known */
	char **fixed_headers;        /* Impersonate-*; NULL-terminated, may be NULL */
	double tokens;               /* QPS bucket */
	int64_t refill_ms;
	struct kube_metrics m;

	pthread_mutex_t disc_mu;     /* discovery map */
	struct kube_resource *res;
	size_t n_res;
	bool discovered;
	bool aggregated;
	int64_t disc_ms;             /* monotonic time of the last discovery */

	pthread_mutex_t mux_mu;
	struct httpc_mux *mux;
};

/* Builds the header list for one request: the fixed headers, the current
 * Authorization, then extra (may be NULL). *ret_auth is an owned copy of the
 * Authorization line the array points at (free it after the request). */
int kube_headers(struct kube_client *kc, const char *extra, const char **hdrs, size_t size, char **ret_auth);

/* Re-reads the credential (force: unconditionally; else only when the token
 * file is due or the exec credential has expired). 0 or the error. */
int kube_cred_refresh(struct kube_client *kc, bool force);

/* Maps a non-2xx response to a BERR code with err_set/err_set_status and
 * keeps the Status in kube_last_status(). what names the request. */
int kube_map_error(const char *what, long status, const char *body, size_t len);

/* An HTTP request through the limiter, auth and 401 refresh. accept may be
 * NULL (application/json). resp receives the answer (any status). */
int kube_do(struct kube_client *kc, const char *method, const char *path, const char *accept,
	    const char *content_type, const char *body, size_t body_len, struct httpc_resp *resp);

/* Appends "<*sep><key>=<value percent-encoded>" to url and sets *sep to
 * '&'; nothing when value is NULL or "". 0 or a BERR code from buf. */
int kube_query_add(struct buf *url, char *sep, const char *key, const char *value);

/* Metric helpers under kc->mu. */
void kube_count(struct kube_client *kc, uint64_t *counter, uint64_t n);

/* Stops every watch and frees the multiplexer (kube_watch.c). */
void kube_watch_shutdown(struct kube_client *kc);

#endif
