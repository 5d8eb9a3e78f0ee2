/*
 * httpd — the HTTP server every Berth daemon is built on: a thin
 * layer over libmicrohttpd with routing, bounded request bodies, JSON
 * responses, TLS (optionally with client certificates), an access log, and
 * streaming responses (Kubernetes watch, Server-Sent Events).
 *
 * Threads: libmicrohttpd runs one thread per connection
 * (MHD_USE_THREAD_PER_CONNECTION), so a handler may block (a long request to
 * Kubernetes, a wait for events) without stalling other clients. Handlers run
 * on the connection's thread; they must be thread-safe with respect to each
 * other.
 *
 * Life cycle:
 *
 *     struct httpd_config cfg = { .listen = "127.0.0.1:0", .access_log = true };
 *     struct httpd *srv;
 *     if ((rc = httpd_new(&cfg, &srv)) < 0) ...
 *     httpd_route(srv, "GET", "/api/v1/applications/{name}", get_app, ctx);
 *     httpd_route(srv, "*", "/static/{rest...}", serve_file, ctx);
 *     if ((rc = httpd_start(srv)) < 0) ...
 *     printf("listening on %u\n", httpd_port(srv));
 *     ...
 *     httpd_free(srv);            // stops (ends streams, joins threads) first
 *
 * Routes are added before httpd_start and never change afterwards, so
 * dispatch takes no lock. A pattern is a path of literal segments, "{name}"
 * segments (match one non-empty segment) and, as the last segment only,
 * "{name...}" (matches the rest of the path, possibly empty, slashes
 * included). Segments are matched on the raw (still percent-encoded) path
 * and parameter values are decoded afterwards, so "a%2Fb" is one segment
 * whose value is "a/b". Method "*" matches any method. The first route whose
 * method and pattern match wins. When some route's pattern matches but none
 * of those routes has the method, the answer is 405 with an Allow header
 * (a HEAD request is served by a GET route, without the body);
 * when no pattern matches, the fallback handler runs (default: 404
 * {"error":"not found: /path","code":404}).
 *
 * Handlers: a handler answers with exactly one of httpd_respond*,
 * httpd_stream_start. A handler that returns without answering gets a 500.
 * The request object and every string it hands out are valid only until the
 * handler returns (a stream outlives it; see below).
 *
 * Bodies: the whole request body is read (bounded by max_body_bytes) before
 * the handler runs; a Content-Length above the bound is answered 413 without
 * reading the body, a chunked body that grows past it is answered 413 too.
 *
 * Streams: httpd_stream_start sends the status and headers, then bytes
 * written with httpd_stream_write (from the handler or any other thread) are
 * sent as they come, chunked. The connection's own thread does the sending,
 * and only after the handler has returned: a handler may queue a first
 * batch, but must not wait for the stream (keep the stream, return, and
 * write from elsewhere). Writes go to a queue bounded by
 * stream_queue_bytes; a client too slow to keep it below the bound gets its
 * stream closed (memory never grows without bound). Streams are reference
 * counted: the caller of httpd_stream_start holds one reference and the
 * server another; whoever drops the last frees it. Heartbeats are the
 * caller's business.
 */
#ifndef BERTH_HTTPD_H
#define BERTH_HTTPD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct httpd;
struct httpd_req;
struct httpd_stream;

/* A route handler or the fallback. Runs on the connection's thread. */
typedef void (*httpd_handler_fn)(struct httpd_req *req, void *userdata);

/* Server settings. Zero values mean the default given. Strings are copied by
 * httpd_new; the struct may be discarded afterwards. */
struct httpd_config {
	/* "HOST:PORT", "[v6]:PORT" or ":PORT" (all interfaces). Port 0 picks a
	 * free port (see httpd_port). Default "127.0.0.1:0". */
	const char *listen;

	/* TLS: a certificate chain and key, as PEM file paths or as PEM text
	 * (set one form of each). No certificate → plain HTTP. */
	const char *tls_cert_file;
	const char *tls_key_file;
	const char *tls_cert_pem;
	const char *tls_key_pem;

	/* Client certificates: with a CA (PEM text or file), the server asks for
	 * a client certificate and verifies it against that CA. A request with
	 * a certificate that does not verify is refused (401); a request with
	 * none proceeds unauthenticated unless tls_client_cert_required, in which
	 * case it is refused too. A verified certificate's subject CN and O
	 * values are available through httpd_req_tls_cn / httpd_req_tls_org. */
	const char *tls_client_ca_pem;
	const char *tls_client_ca_file;
	bool tls_client_cert_required;

	unsigned max_connections;   /* concurrent connections; default 1024 */
	unsigned max_connections_per_ip;  /* from one client address; default no limit */
	unsigned idle_timeout_s;    /* close a connection idle this long; default 60 */
	/* Close a connection whose request headers (after the request line)
	 * take longer than this to arrive, however steadily they trickle in;
	 * default 30. */
	unsigned header_timeout_s;
	size_t max_header_bytes;    /* request line + headers; default 16 KiB */
	size_t max_body_bytes;      /* request body; default 1 MiB */
	size_t stream_queue_bytes;  /* unsent bytes per stream; default 1 MiB */

	/* One log_info line per request when it completes: "http request" with
	 * fields method, path (no query), status, bytes, ms, peer. */
	bool access_log;
};

/* Counters, for metrics and tests. */
struct httpd_stats {
	uint64_t connections_total;  /* connections accepted since start */
	uint64_t connections_open;   /* connections open now */
	uint64_t requests_total;     /* requests completed */
	uint64_t responses_4xx;      /* of which answered 400-499 */
	uint64_t responses_5xx;      /* of which answered 500-599 */
	uint64_t streams_open;       /* streams not yet ended */
};

/* Creates a stopped server with cfg's settings (TLS files are read here).
 * 0 with *ret set (free with httpd_free); BERR_INVALID (bad listen address,
 * unreadable or bad TLS material), BERR_NOMEM. */
int httpd_new(const struct httpd_config *cfg, struct httpd **ret);

/* Adds a route (before httpd_start). method is an HTTP method or "*";
 * pattern as described above. userdata is passed to the handler as is.
 * 0, BERR_INVALID (malformed pattern, server already started), BERR_NOMEM. */
int httpd_route(struct httpd *srv, const char *method, const char *pattern,
		httpd_handler_fn handler, void *userdata);

/* Replaces the handler for requests no route matches (before httpd_start). */
void httpd_set_fallback(struct httpd *srv, httpd_handler_fn handler, void *userdata);

/* Binds the listener and starts serving. 0, BERR_UNAVAILABLE (address in
 * use, cannot bind) with a message naming the address, BERR_INVALID (already
 * started, TLS material rejected). */
int httpd_start(struct httpd *srv);

/* The bound TCP port (useful after listening on port 0); 0 before start. */
unsigned httpd_port(const struct httpd *srv);

/* Fills *out with the current counters. */
void httpd_get_stats(struct httpd *srv, struct httpd_stats *out);

/* Appends st in the Prometheus text format, each metric named
 * "<prefix>_http_<counter>" with HELP and TYPE lines, for a daemon's
 * /metrics. prefix like "berth_repo_server". 0 or a BERR code from out. */
int httpd_stats_prometheus(const struct httpd_stats *st, const char *prefix, struct buf *out);

/* Stops serving: closes the listener, ends every stream (giving each up to
 * 2 s to send what is queued), closes connections and joins all threads.
 * Handlers still running are waited for, so a handler must not block
 * without bound; never call this from a handler. Idempotent. */
void httpd_stop(struct httpd *srv);

/* Stops (if running) and frees the server. NULL is a no-op. */
void httpd_free(struct httpd *srv);

/* ---- Request accessors. Strings are borrowed from req, NUL-terminated. ---- */

/* The method as sent ("GET", ...). */
const char *httpd_req_method(const struct httpd_req *req);

/* The path, percent-decoded, without the query ("/api/v1/x y"). */
const char *httpd_req_path(const struct httpd_req *req);

/* The path as sent, still percent-encoded, without the query. */
const char *httpd_req_raw_path(const struct httpd_req *req);

/* The decoded value of the first query parameter named key ("" for "?key"
 * or "?key="), or NULL when absent. '+' decodes to a space. */
const char *httpd_req_query(const struct httpd_req *req, const char *key);

/* The n-th (from 0) value of a repeated query parameter, or NULL past the
 * last: "?a=1&a=2" gives "1" for n=0, "2" for n=1. */
const char *httpd_req_query_nth(const struct httpd_req *req, const char *key, size_t n);

/* The value of request header name (case-insensitive), or NULL. */
const char *httpd_req_header(const struct httpd_req *req, const char *name);

/* The value of cookie name from the Cookie header, or NULL. */
const char *httpd_req_cookie(const struct httpd_req *req, const char *name);

/* True when the request's Content-Type is the media type mime (compared
 * case-insensitively, parameters such as "; charset=utf-8" ignored). For the
 * CSRF rule "state-changing requests need application/json". */
bool httpd_req_content_type_is(const struct httpd_req *req, const char *mime);

/* The request body (complete, NUL-terminated after len bytes) and its
 * length in *ret_len (may be NULL). Never NULL; "" when there is no body. */
const char *httpd_req_body(const struct httpd_req *req, size_t *ret_len);

/* Parses the body as JSON (bounded by the body limit, depth JX_MAX_DEPTH).
 * 0 with *ret a new reference, BERR_INVALID with a message (empty body, bad
 * syntax). */
int httpd_req_json(const struct httpd_req *req, json_t **ret);

/* The decoded value of path parameter name ("{name}" in the pattern), or
 * NULL when the pattern has no such parameter. */
const char *httpd_req_param(const struct httpd_req *req, const char *name);

/* The peer address: "127.0.0.1:50312" or "[::1]:50312". */
const char *httpd_req_peer(const struct httpd_req *req);

/* True when the connection is TLS. */
bool httpd_req_is_tls(const struct httpd_req *req);

/* The subject CN of the verified client certificate, or NULL when there is
 * none (plain HTTP, no certificate, no client CA configured). */
const char *httpd_req_tls_cn(const struct httpd_req *req);

/* The n-th (from 0) subject O value of the verified client certificate, or
 * NULL past the last (Kubernetes reads them as the user's groups). */
const char *httpd_req_tls_org(const struct httpd_req *req, size_t n);

/* The server the request arrived on. */
struct httpd *httpd_req_server(const struct httpd_req *req);

/* ---- Responses ---- */

/* Adds a response header (Retry-After, Set-Cookie, Warning, ...) to the
 * response the handler is about to send; repeated names are sent repeated.
 * 0, BERR_INVALID (CR/LF or NUL in name or value, or response already sent),
 * BERR_NOMEM. */
int httpd_add_header(struct httpd_req *req, const char *name, const char *value);

/* Sends status with body[len] (copied; body may be NULL when len is 0) and
 * Content-Type content_type (omitted when NULL). 0, BERR_INVALID (already
 * answered), BERR_NOMEM, BERR_IO. */
int httpd_respond(struct httpd_req *req, unsigned status, const char *content_type,
		  const void *body, size_t len);

/* Sends v dumped compactly as application/json. v is not stolen. */
int httpd_respond_json(struct httpd_req *req, unsigned status, const json_t *v);

/* Sends {"error":"<formatted>","code":status} as application/json. */
int httpd_respond_error(struct httpd_req *req, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* True once the handler has answered (respond or stream_start). */
bool httpd_req_answered(const struct httpd_req *req);

/* ---- Streams ---- */

/* Answers with status and content_type and a body of unknown length that is
 * written later (chunked). *ret receives a stream holding one reference for
 * the caller (release with httpd_stream_unref). The handler may return at
 * once and let other threads write, or write itself. 0, BERR_INVALID
 * (already answered), BERR_NOMEM. */
int httpd_stream_start(struct httpd_req *req, unsigned status, const char *content_type,
		       struct httpd_stream **ret);

/* Queues data[len] (copied) to be sent. Thread-safe. 0;
 * BERR_CANCELED when the stream has ended (client gone, closed, server
 * stopping); BERR_TOOLARGE when this write would take the queue past its
 * bound — the stream is then ended and the client's connection closed. */
int httpd_stream_write(struct httpd_stream *s, const void *data, size_t len);

/* Ends the stream once what is queued has been sent (the client sees a
 * complete chunked body). Idempotent, thread-safe; does not drop a
 * reference. */
void httpd_stream_close(struct httpd_stream *s);

/* True once the stream has ended for any reason: closed, client gone,
 * queue overflow, server stopping. Thread-safe. */
bool httpd_stream_closed(struct httpd_stream *s);

/* Blocks until the stream has ended or timeout_ms passes (< 0: no limit).
 * Returns true when it has ended. */
bool httpd_stream_wait_closed(struct httpd_stream *s, int64_t timeout_ms);

/* Registers fn to run exactly once when the connection is done with the
 * stream (it ended and what could be sent was sent, or the client left, or
 * the server stopped). fn runs on the connection's thread, never inside
 * httpd_stream_write or httpd_stream_close, so it may take locks a writer
 * holds while writing; it runs at once on the calling thread if the
 * connection is already done. fn must not drop the last reference.
 * Replaces a previous registration. */
void httpd_stream_on_close(struct httpd_stream *s, void (*fn)(struct httpd_stream *s, void *ud),
			   void *userdata);

/* Bytes queued and not yet handed to the connection (for tests, metrics). */
size_t httpd_stream_queued(struct httpd_stream *s);

/* Takes / drops a reference. The last unref frees the stream. NULL is a
 * no-op for unref. */
void httpd_stream_ref(struct httpd_stream *s);
void httpd_stream_unref(struct httpd_stream *s);

#endif
