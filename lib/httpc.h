/*
 * httpc — the HTTP client every Berth part uses to talk to Kubernetes, the
 * repo server, OIDC providers and webhooks: a layer over libcurl with
 * keep-alive connection reuse, TLS material held in memory, bounded response
 * bodies, retries with backoff that honour Retry-After, and line streaming
 * (Kubernetes watch, Server-Sent Events), alone or many streams on one
 * thread (the multiplexer).
 *
 * A client (struct httpc) is thread-safe: any number of threads may call
 * httpc_request on it at once. It keeps a small pool of idle curl handles,
 * each holding its keep-alive connections, so consecutive requests reuse
 * connections; DNS results and TLS sessions are shared across the pool.
 * HTTP/2 is used when a TLS server offers it.
 *
 *     struct httpc_config cfg = { .timeout_ms = 30000,
 *                                 .retry = { .max_attempts = 4 } };
 *     struct httpc *c;
 *     if ((rc = httpc_new(&cfg, &c)) < 0) ...
 *     struct httpc_req req = { .url = "http://127.0.0.1:8081/healthz" };
 *     struct httpc_resp resp;
 *     httpc_resp_init(&resp);
 *     if ((rc = httpc_request(c, &req, &resp)) < 0) ... err_msg() ...
 *     else if (resp.status == 200) use(resp.body.ptr, resp.body.len);
 *     httpc_resp_release(&resp);
 *     httpc_free(c);
 *
 * Errors: a request that got a complete HTTP response returns 0 whatever
 * the status (the caller judges 404 or 409). Transport failures return
 * BERR_UNAVAILABLE (connect refused, reset, DNS, TLS), BERR_TIMEOUT, or
 * BERR_TOOLARGE (body past the bound); messages name the method and URL with
 * any user:password@ removed, never credentials.
 *
 * Retries (httpc_request only): on failures to connect or connection errors
 * (not on a timeout once connected), 429 and 503 (and other
 * 5xx when retry_5xx), up to max_attempts in all, waiting base * 2^n capped
 * at max_delay, with jitter, or what Retry-After says (seconds or an HTTP
 * date, capped at max_retry_after_ms). Methods other than GET, HEAD,
 * OPTIONS, PUT, DELETE are retried only when the request says
 * retry_unsafe (and, with retry_unsafe_rejected_only, only when the server
 * cannot have acted on them). The last response is returned when attempts
 * run out.
 */
#ifndef BERTH_HTTPC_H
#define BERTH_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct httpc;
struct httpc_mux;
struct httpc_mux_stream;

struct httpc_retry {
	unsigned max_attempts;       /* attempts in all; 0 or 1 = no retries */
	int64_t base_delay_ms;       /* first wait; default 200 */
	int64_t max_delay_ms;        /* cap on a computed wait; default 10000 */
	int64_t max_retry_after_ms;  /* cap on a server's Retry-After; default 30000 */
	bool no_jitter;              /* exact waits (tests); default: up to +50% random */
	bool retry_5xx;              /* also retry 500, 502, 504 */
};

/* Client settings. Zero values mean the default given. Strings are copied by
 * httpc_new. */
struct httpc_config {
	/* TLS. PEM text held in memory (never written to disk). ca_pem NULL →
	 * the system's CA store. */
	const char *ca_pem;
	const char *client_cert_pem;
	const char *client_key_pem;
	bool insecure_skip_verify;   /* do not verify the server (kube "insecure") */
	/* Verify the server as this name (SNI, certificate name, Host) while
	 * connecting to the URL's host (kube tlsClientConfig.serverName). */
	const char *tls_server_name;

	/* Headers sent with every request, "Name: value", NULL-terminated array
	 * (e.g. "Authorization: Bearer ..."). May be NULL. */
	const char *const *headers;
	const char *user_agent;      /* default "berth/0.1" */

	int64_t connect_timeout_ms;  /* default 10000 */
	int64_t timeout_ms;          /* whole request; default 60000 */
	size_t max_response_bytes;   /* body bound; default 64 MiB */
	unsigned max_idle_handles;   /* idle curl handles kept; default 16 */

	struct httpc_retry retry;
};

/* One request. Only url is required. The struct and what it points to must
 * stay valid for the duration of the call (httpc_mux_add_stream copies it). */
struct httpc_req {
	const char *method;          /* default "GET" */
	const char *url;
	const char *const *headers;  /* extra "Name: value" headers, NULL-terminated; may be NULL */
	const void *body;            /* request body (copied by the mux, not by httpc_request) */
	size_t body_len;
	const char *content_type;    /* Content-Type of the body, if any */
	int64_t timeout_ms;          /* overrides the client's total timeout (httpc_request) */
	size_t max_response_bytes;   /* overrides the client's body bound (httpc_request) */
	bool retry_unsafe;           /* allow retrying a non-idempotent method */
	/* With retry_unsafe: retry a non-idempotent method only when the
	 * server cannot have acted on it: no connection was made, 429, or a
	 * 5xx carrying Retry-After (the Kubernetes API server's and client-go's
	 * semantics); a bare 5xx or a broken connection is returned at once. */
	bool retry_unsafe_rejected_only;

	/* Streams only. */
	/* Abort when no byte arrives for this long (rounded up to whole
	 * seconds); default 60000; negative: never (TCP keep-alive still
	 * notices a dead peer, slowly). A Kubernetes watch sends nothing while
	 * nothing changes: use the watch's timeoutSeconds plus a margin. */
	int64_t idle_timeout_ms;
	size_t max_line_bytes;       /* longest line accepted; default 16 MiB */
};

/* A response: status, headers, body. httpc_resp_init before first use;
 * reusable across requests (each request replaces the contents). */
struct httpc_resp {
	long status;                 /* HTTP status, 0 when none */
	struct buf body;             /* response body, NUL-terminated */
	struct buf headers;          /* internal: header lines; use httpc_resp_header */
	unsigned attempts;           /* attempts made (1 + retries) */
	int http_version;            /* protocol of the response: 10, 11, 20 (0: unknown) */
};

/* Initialises an empty response (bounded buffers); release frees the body
 * and headers and leaves resp empty and reusable. */
void httpc_resp_init(struct httpc_resp *resp);
void httpc_resp_release(struct httpc_resp *resp);

/* The value of response header name (case-insensitive; the first one when
 * repeated, of the last response in a redirect/retry sequence), trimmed,
 * or NULL. Borrowed from resp. */
const char *httpc_resp_header(const struct httpc_resp *resp, const char *name);

/* The n-th value of a repeated response header (Set-Cookie), or NULL. */
const char *httpc_resp_header_nth(const struct httpc_resp *resp, const char *name, size_t n);

/* Creates a client. 0 with *ret set (free with httpc_free), BERR_NOMEM,
 * BERR_INVALID. */
int httpc_new(const struct httpc_config *cfg, struct httpc **ret);

/* Replaces the client certificate and key (PEM, copied; both NULL: none)
 * for requests and streams set up from now on: idle connections made with
 * the old certificate are closed, and a handle in use when this is called
 * is not kept for reuse. Requests and streams in flight go on with the old
 * one. Thread-safe. 0, BERR_INVALID (one without the other), BERR_NOMEM. */
int httpc_set_client_cert(struct httpc *c, const char *cert_pem, const char *key_pem);

/* Frees the client and its connections. No request may be in flight. NULL
 * is a no-op. */
void httpc_free(struct httpc *c);

/* Performs req, retrying as configured, and fills resp (status, headers,
 * body). 0 when an HTTP response arrived (any status); a negative BERR code
 * otherwise (see above); resp is left as it was on failure. Thread-safe. */
int httpc_request(struct httpc *c, const struct httpc_req *req, struct httpc_resp *resp);

/* Strips "user:password@" from url into out (bounded); for messages. */
void httpc_url_redact(const char *url, char *out, size_t size);

/* ---- Line streaming ---- */

/* Called with each line without its '\n' (a trailing '\r' is kept),
 * NUL-terminated at line[len]. Return 0 to go on, or a negative BERR code
 * to stop the stream (that code is then the stream's result). */
typedef int (*httpc_line_fn)(const char *line, size_t len, void *userdata);

/* Opens req and calls on_line for every '\n'-terminated line of the body,
 * joined across network chunks, until the server ends the body, on_line
 * stops it, or no byte arrives for req->idle_timeout_ms. A last line without
 * '\n' is delivered when the body ends. No total timeout, no retries.
 *
 * When resp is not NULL it receives status and headers. A response whose
 * status is not 2xx is not split into lines: its body (bounded) goes to
 * resp->body and 0 is returned, so the caller can read the error (410 Gone
 * for a stale watch).
 *
 * Returns 0 when the body ended normally, the code on_line returned,
 * BERR_TOOLARGE (a line past max_line_bytes), BERR_TIMEOUT (idle),
 * BERR_UNAVAILABLE (connection failed or broke). Thread-safe. */
int httpc_stream_lines(struct httpc *c, const struct httpc_req *req, httpc_line_fn on_line,
		       void *userdata, struct httpc_resp *resp);

/* ---- Multiplexer: many streams on one thread ---- */

/* Called once per stream when it ends: rc as httpc_stream_lines would
 * return it (BERR_CANCELED after httpc_mux_cancel or httpc_mux_free), resp
 * with status, headers and, for a non-2xx status, the body. resp is
 * borrowed for the call. After on_done the stream handle is invalid. */
typedef void (*httpc_done_fn)(int rc, const struct httpc_resp *resp, void *userdata);

/* Creates a multiplexer using c's settings (TLS, headers, timeouts). c must
 * outlive it. 0 with *ret, BERR_NOMEM. */
int httpc_mux_new(struct httpc *c, struct httpc_mux **ret);

/* Cancels every stream (each on_done runs with BERR_CANCELED, on the calling
 * thread), stops the mux thread if started, frees. NULL is a no-op. Must not
 * be called from a callback. */
void httpc_mux_free(struct httpc_mux *m);

/* Adds a stream. Thread-safe: may be called from any thread, including from
 * callbacks. req is copied (url, method, headers, body), so it need not
 * outlive the call. on_line and on_done run on the thread running the mux.
 * *ret (may be NULL) receives a handle for httpc_mux_cancel, valid until
 * on_done has run; it is written before the stream can start, so it may
 * point into memory that on_done frees. On failure *ret is untouched and
 * on_done never runs. 0, BERR_NOMEM, BERR_INVALID. */
int httpc_mux_add_stream(struct httpc_mux *m, const struct httpc_req *req, httpc_line_fn on_line,
			 httpc_done_fn on_done, void *userdata, struct httpc_mux_stream **ret);

/* Asks for s to end; its on_done runs with BERR_CANCELED on the mux thread
 * (soon, or during the current callback's return when called from one).
 * Thread-safe; a cancel that races the end of the stream is harmless, but
 * calling it long after on_done has run is a bug (the handle may have been
 * reused by a newer stream). */
void httpc_mux_cancel(struct httpc_mux *m, struct httpc_mux_stream *s);

/* Drives the streams on the calling thread for up to timeout_ms (returns
 * earlier when httpc_mux_wakeup is called). Returns the number of streams
 * still active, or a negative BERR code. Must not run on two threads at
 * once, nor while the mux's own thread runs. */
int httpc_mux_run(struct httpc_mux *m, int timeout_ms);

/* Interrupts a httpc_mux_run in progress. Thread-safe. */
void httpc_mux_wakeup(struct httpc_mux *m);

/* Starts a thread owned by the mux that runs it until httpc_mux_free. 0,
 * BERR_INVALID (already started), BERR_NOMEM. */
int httpc_mux_start(struct httpc_mux *m);

/* Number of streams added and not yet done. Thread-safe. */
size_t httpc_mux_count(struct httpc_mux *m);

#endif
