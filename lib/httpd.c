/*
 * httpd — see httpd.h. Design notes:
 *
 * - One httpd_req per HTTP request, created by MHD's URI log callback (which
 *   sees the raw request target, query included, before MHD unescapes
 *   anything) and freed by the request-completed callback, which also writes
 *   the access log line. Path and query are parsed here, not by MHD, so the
 *   raw and decoded forms are both at hand and '%2F' stays inside a segment.
 * - One conn_ctx per TCP connection (MHD's socket context) caches the
 *   client-certificate verdict, so keep-alive requests verify once.
 * - Slow clients: MHD's connection timeout ends idle connections; a reaper
 *   thread ends connections whose headers trickle in past header_timeout_s
 *   (a client sending a byte a second is never idle).
 * - Streams live in httpd_stream.c; httpd_int.h is the seam.
 */
#include "httpd.h"
#include "httpd_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "str.h"

#define DEFAULT_MAX_CONNECTIONS 1024u
#define DEFAULT_IDLE_TIMEOUT_S 60u
#define DEFAULT_HEADER_TIMEOUT_S 30u
#define REAPER_PERIOD_MS 250
#define DEFAULT_MAX_HEADER_BYTES ((size_t)16 << 10)
#define DEFAULT_MAX_BODY_BYTES ((size_t)1 << 20)
#define DEFAULT_STREAM_QUEUE_BYTES ((size_t)1 << 20)
#define MAX_PEM_BYTES ((size_t)1 << 20)
#define MAX_PARAMS 16
#define STOP_DRAIN_MS 2000

struct route {
	char *method;
	char **segs;      /* literal text, or "{name}" / "{name...}" as written */
	size_t nsegs;
	bool tail;        /* last segment is "{name...}" */
	httpd_handler_fn handler;
	void *userdata;
};

struct httpd {
	char *listen;
	char *cert_pem, *key_pem, *ca_pem;
	bool client_cert_required;
	unsigned max_connections, max_connections_per_ip, idle_timeout_s, header_timeout_s;
	size_t max_header_bytes, max_body_bytes, stream_queue_bytes;
	bool access_log;

	struct route *routes;
	size_t nroutes;
	httpd_handler_fn fallback;
	void *fallback_ud;

	struct MHD_Daemon *mhd;
	int listen_fd;
	unsigned port;
	bool started, stopped;

	/* Requests whose headers are still arriving, for the reaper thread
	 * that cuts off clients trickling them (slowloris). */
	pthread_mutex_t awaiting_mu;
	pthread_cond_t awaiting_cond;
	struct httpd_req *awaiting;
	pthread_t reaper;
	bool reaper_running, reaper_stop;

	struct httpd_streams streams;  /* open streams, for httpd_stop */

	atomic_uint_fast64_t connections_total, connections_open, requests_total, responses_4xx, responses_5xx;
};

enum tls_verdict { TLS_UNCHECKED = 0, TLS_NONE, TLS_VERIFIED, TLS_REJECTED };

/* Per TCP connection. */
struct conn_ctx {
	enum tls_verdict verdict;
	char *cn;
	char **orgs;
	size_t norgs;
};

struct kv {
	char *key;
	char *value;
};

struct httpd_req {
	struct httpd *srv;
	struct MHD_Connection *conn;
	struct conn_ctx *cctx;
	char *target;        /* raw request target as sent */
	char *raw_path;      /* up to '?' */
	char *path;          /* decoded; NULL when undecodable */
	struct kv *query;
	size_t nquery;
	struct kv params[MAX_PARAMS];
	size_t nparams;
	struct buf body;
	bool body_too_large;
	bool bad_request;    /* undecodable path or query */
	bool dispatched;
	struct kv *out_headers;
	size_t nout_headers;
	bool answered;
	unsigned status;
	uint64_t bytes;
	struct httpd_stream *stream;  /* holds a reference (the response holds another) */
	int64_t start_ms;
	int fd;                    /* the connection's socket */
	bool awaiting;             /* in srv->awaiting */
	struct httpd_req *aw_next, *aw_prev;
	char peer[64];
	char method[16];
};


/* ---------------------------------------------------------------- helpers */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..len) (percent escapes; '+' as space when plus_is_space) into
 * a new string. NULL on a bad escape, an encoded NUL, or no memory. */
static char *percent_decode(const char *s, size_t len, bool plus_is_space)
{
	char *out = malloc(len + 1);
	size_t o = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= len) {
				free(out);
				return NULL;
			}
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '+' && plus_is_space) {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

static bool header_text_ok(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return false;
	return true;
}

static int read_pem_file(const char *path, char **ret)
{
	struct buf b;
	char chunk[4096];
	int fd, rc = 0;
	buf_init(&b, MAX_PEM_BYTES);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(BERR_INVALID, "read \"%s\": %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(BERR_INVALID, "read \"%s\": %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) < 0) {
			rc = err_set(BERR_INVALID, "read \"%s\": larger than %zu bytes", path, MAX_PEM_BYTES);
			goto out;
		}
	}
	*ret = buf_detach(&b, NULL);
	if (!*ret)
		rc = err_set(BERR_NOMEM, "read \"%s\": out of memory", path);
out:
	close(fd);
	buf_release(&b);
	return rc;
}

/* Either the PEM text or the file's contents, into *ret (NULL when neither). */
static int load_pem(const char *pem, const char *file, const char *what, char **ret)
{
	*ret = NULL;
	if (pem && file)
		return err_set(BERR_INVALID, "%s: give PEM text or a file, not both", what);
	if (pem) {
		*ret = strdup(pem);
		return *ret ? 0 : err_set(BERR_NOMEM, "out of memory");
	}
	if (file) {
		int rc = read_pem_file(file, ret);
		return rc < 0 ? err_prefix(rc, "%s", what) : 0;
	}
	return 0;
}

/* ------------------------------------------------------------ config, new */

static void route_release(struct route *r)
{
	free(r->method);
	for (size_t i = 0; i < r->nsegs; i++)
		free(r->segs[i]);
	free(r->segs);
}

void httpd_free(struct httpd *srv)
{
	if (!srv)
		return;
	httpd_stop(srv);
	for (size_t i = 0; i < srv->nroutes; i++)
		route_release(&srv->routes[i]);
	free(srv->routes);
	free(srv->listen);
	free(srv->cert_pem);
	if (srv->key_pem) {
		explicit_bzero(srv->key_pem, strlen(srv->key_pem));
		free(srv->key_pem);
	}
	free(srv->ca_pem);
	httpd_streams_release(&srv->streams);
	pthread_mutex_destroy(&srv->awaiting_mu);
	pthread_cond_destroy(&srv->awaiting_cond);
	free(srv);
}

static void default_fallback(struct httpd_req *req, void *ud)
{
	(void)ud;
	httpd_respond_error(req, 404, "not found: %s", req->path ? req->path : req->raw_path);
}

int httpd_new(const struct httpd_config *cfg, struct httpd **ret)
{
	struct httpd *srv;
	int rc;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return err_set(BERR_NOMEM, "out of memory");
	httpd_streams_init(&srv->streams);
	pthread_mutex_init(&srv->awaiting_mu, NULL);
	monotonic_cond_init(&srv->awaiting_cond);
	srv->listen_fd = -1;
	srv->fallback = default_fallback;
	srv->listen = strdup(cfg->listen ? cfg->listen : "127.0.0.1:0");
	if (!srv->listen) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((rc = load_pem(cfg->tls_cert_pem, cfg->tls_cert_file, "tls certificate", &srv->cert_pem)) < 0 ||
	    (rc = load_pem(cfg->tls_key_pem, cfg->tls_key_file, "tls key", &srv->key_pem)) < 0 ||
	    (rc = load_pem(cfg->tls_client_ca_pem, cfg->tls_client_ca_file, "tls client ca", &srv->ca_pem)) < 0)
		goto fail;
	if (!srv->cert_pem != !srv->key_pem) {
		rc = err_set(BERR_INVALID, "tls: a certificate needs a key and a key a certificate");
		goto fail;
	}
	if (srv->ca_pem && !srv->cert_pem) {
		rc = err_set(BERR_INVALID, "tls: a client CA needs a server certificate");
		goto fail;
	}
	srv->client_cert_required = cfg->tls_client_cert_required;
	srv->max_connections = cfg->max_connections ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS;
	srv->max_connections_per_ip = cfg->max_connections_per_ip;
	srv->header_timeout_s = cfg->header_timeout_s ? cfg->header_timeout_s : DEFAULT_HEADER_TIMEOUT_S;
	srv->idle_timeout_s = cfg->idle_timeout_s ? cfg->idle_timeout_s : DEFAULT_IDLE_TIMEOUT_S;
	srv->max_header_bytes = cfg->max_header_bytes ? cfg->max_header_bytes : DEFAULT_MAX_HEADER_BYTES;
	srv->max_body_bytes = cfg->max_body_bytes ? cfg->max_body_bytes : DEFAULT_MAX_BODY_BYTES;
	srv->stream_queue_bytes = cfg->stream_queue_bytes ? cfg->stream_queue_bytes : DEFAULT_STREAM_QUEUE_BYTES;
	srv->access_log = cfg->access_log;
	*ret = srv;
	return 0;
fail:
	httpd_free(srv);
	return rc;
}

/* ---------------------------------------------------------------- routes */

static bool seg_is_param(const char *seg, size_t *name_len, bool *tail)
{
	size_t n = strlen(seg);
	if (n < 3 || seg[0] != '{' || seg[n - 1] != '}')
		return false;
	*tail = n > 5 && memcmp(seg + n - 4, "...}", 4) == 0;
	*name_len = *tail ? n - 5 : n - 2;
	return *name_len > 0;
}

int httpd_route(struct httpd *srv, const char *method, const char *pattern,
		httpd_handler_fn handler, void *userdata)
{
	struct route r = {0};
	struct route *grown;
	const char *p;
	int rc;

	if (srv->started)
		return err_set(BERR_INVALID, "route %s %s: server already started", method, pattern);
	if (!method || !*method || !pattern || pattern[0] != '/' || !handler)
		return err_set(BERR_INVALID, "route %s %s: needs a method, a path starting with '/' and a handler",
			       method ? method : "(null)", pattern ? pattern : "(null)");
	r.method = strdup(method);
	r.handler = handler;
	r.userdata = userdata;
	if (!r.method)
		goto nomem;
	p = pattern + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		char **segs = realloc(r.segs, (r.nsegs + 1) * sizeof(*segs));
		size_t name_len;
		bool tail;
		if (!segs)
			goto nomem;
		r.segs = segs;
		r.segs[r.nsegs] = strndup(p, n);
		if (!r.segs[r.nsegs])
			goto nomem;
		r.nsegs++;
		if (seg_is_param(r.segs[r.nsegs - 1], &name_len, &tail) && tail) {
			if (slash) {
				rc = err_set(BERR_INVALID, "route %s %s: \"{name...}\" must be the last segment",
					     method, pattern);
				goto fail;
			}
			r.tail = true;
		} else if (strchr(r.segs[r.nsegs - 1], '{') || strchr(r.segs[r.nsegs - 1], '}')) {
			if (!seg_is_param(r.segs[r.nsegs - 1], &name_len, &tail)) {
				rc = err_set(BERR_INVALID, "route %s %s: malformed parameter \"%s\"", method,
					     pattern, r.segs[r.nsegs - 1]);
				goto fail;
			}
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	grown = realloc(srv->routes, (srv->nroutes + 1) * sizeof(*grown));
	if (!grown)
		goto nomem;
	srv->routes = grown;
	srv->routes[srv->nroutes++] = r;
	return 0;
nomem:
	rc = err_set(BERR_NOMEM, "out of memory");
fail:
	route_release(&r);
	return rc;
}

void httpd_set_fallback(struct httpd *srv, httpd_handler_fn handler, void *userdata)
{
	if (srv->started)
		return;
	srv->fallback = handler ? handler : default_fallback;
	srv->fallback_ud = handler ? userdata : NULL;
}

static void params_clear(struct httpd_req *req)
{
	for (size_t i = 0; i < req->nparams; i++) {
		free(req->params[i].key);
		free(req->params[i].value);
	}
	req->nparams = 0;
}

static int param_add(struct httpd_req *req, const char *seg, const char *raw, size_t raw_len)
{
	size_t name_len;
	bool tail;
	if (req->nparams == MAX_PARAMS)
		return BERR_TOOLARGE;
	seg_is_param(seg, &name_len, &tail);
	req->params[req->nparams].key = strndup(seg + 1, name_len);
	req->params[req->nparams].value = percent_decode(raw, raw_len, false);
	req->nparams++;
	if (!req->params[req->nparams - 1].key || !req->params[req->nparams - 1].value)
		return BERR_INVALID;
	return 0;
}

/* Matches the raw path (starting after its leading '/') against r. On a
 * match the request's params are set; 1 = match, 0 = no match, < 0 = the
 * path matched but a parameter does not decode. */
static int route_match(const struct route *r, struct httpd_req *req, const char *path)
{
	const char *p = path;
	params_clear(req);
	for (size_t i = 0; i < r->nsegs; i++) {
		const char *seg = r->segs[i];
		size_t name_len;
		bool tail;
		bool is_param = seg_is_param(seg, &name_len, &tail);
		const char *slash;
		size_t n;

		if (!p)
			goto nomatch;  /* path ran out */
		if (is_param && tail) {
			if (param_add(req, seg, p, strlen(p)) < 0)
				return -1;
			return 1;
		}
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (is_param) {
			if (n == 0)
				goto nomatch;
			if (param_add(req, seg, p, n) < 0)
				return -1;
		} else if (strlen(seg) != n || memcmp(seg, p, n) != 0) {
			goto nomatch;
		}
		p = slash ? slash + 1 : NULL;
	}
	if (p)
		goto nomatch;  /* path has more segments */
	return 1;
nomatch:
	params_clear(req);
	return 0;
}

/* ------------------------------------------------------------- requests */

static int parse_query(struct httpd_req *req, const char *q)
{
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', n);
		struct kv *grown;
		if (n > 0) {
			grown = realloc(req->query, (req->nquery + 1) * sizeof(*grown));
			if (!grown)
				return BERR_NOMEM;
			req->query = grown;
			grown[req->nquery].key = percent_decode(q, eq ? (size_t)(eq - q) : n, true);
			grown[req->nquery].value =
				eq ? percent_decode(eq + 1, n - (size_t)(eq + 1 - q), true) : strdup("");
			req->nquery++;
			if (!grown[req->nquery - 1].key || !grown[req->nquery - 1].value)
				return BERR_INVALID;
		}
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

static void format_peer(const struct sockaddr *sa, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (!sa) {
		str_copy(out, "?", size);
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, size, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			/* An IPv4 client of a dual-stack listener: show it as IPv4. */
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(out, size, "%s:%u", host, port);
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			snprintf(out, size, "[%s]:%u", host, port);
		}
	} else {
		str_copy(out, "?", size);
	}
}

static void out_headers_clear(struct httpd_req *req)
{
	for (size_t i = 0; i < req->nout_headers; i++) {
		free(req->out_headers[i].key);
		free(req->out_headers[i].value);
	}
	free(req->out_headers);
	req->out_headers = NULL;
	req->nout_headers = 0;
}

static void req_free(struct httpd_req *req)
{
	if (!req)
		return;
	free(req->target);
	free(req->raw_path);
	free(req->path);
	for (size_t i = 0; i < req->nquery; i++) {
		free(req->query[i].key);
		free(req->query[i].value);
	}
	free(req->query);
	params_clear(req);
	out_headers_clear(req);
	buf_release(&req->body);
	free(req);
}

/* Requests between their request line and the end of their headers. */
static void awaiting_add(struct httpd *srv, struct httpd_req *req)
{
	pthread_mutex_lock(&srv->awaiting_mu);
	req->aw_prev = NULL;
	req->aw_next = srv->awaiting;
	if (req->aw_next)
		req->aw_next->aw_prev = req;
	srv->awaiting = req;
	req->awaiting = true;
	pthread_mutex_unlock(&srv->awaiting_mu);
}

static void awaiting_remove_locked(struct httpd *srv, struct httpd_req *req)
{
	if (!req->awaiting)
		return;
	if (req->aw_prev)
		req->aw_prev->aw_next = req->aw_next;
	else
		srv->awaiting = req->aw_next;
	if (req->aw_next)
		req->aw_next->aw_prev = req->aw_prev;
	req->aw_next = req->aw_prev = NULL;
	req->awaiting = false;
}

static void awaiting_remove(struct httpd *srv, struct httpd_req *req)
{
	pthread_mutex_lock(&srv->awaiting_mu);
	awaiting_remove_locked(srv, req);
	pthread_mutex_unlock(&srv->awaiting_mu);
}

/* Cuts off connections whose request headers take longer than
 * header_timeout_s to arrive. The idle timeout alone would not: a client
 * sending one byte a second is never idle. Shutting the socket down makes
 * the connection's thread see the end and finish the request; the request
 * stays valid until then because on_completed removes it from the list
 * under the same lock before freeing it. */
static void *reaper_main(void *arg)
{
	struct httpd *srv = arg;
	pthread_mutex_lock(&srv->awaiting_mu);
	while (!srv->reaper_stop) {
		struct timespec ts;
		int64_t now = clock_mono_ms(), limit = (int64_t)srv->header_timeout_s * 1000;
		for (struct httpd_req *r = srv->awaiting, *next; r; r = next) {
			next = r->aw_next;
			if (now - r->start_ms > limit) {
				if (r->fd >= 0)
					shutdown(r->fd, SHUT_RDWR);
				awaiting_remove_locked(srv, r);
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += REAPER_PERIOD_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&srv->awaiting_cond, &srv->awaiting_mu, &ts);
	}
	pthread_mutex_unlock(&srv->awaiting_mu);
	return NULL;
}

/* MHD_OPTION_URI_LOG_CALLBACK: the first thing MHD calls for a request; its
 * result becomes the request's context. NULL (no memory) makes MHD fail the
 * request. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct httpd *srv = cls;
	struct httpd_req *req = calloc(1, sizeof(*req));
	const char *qmark;
	const union MHD_ConnectionInfo *ci;

	if (!req)
		return NULL;
	req->srv = srv;
	req->conn = conn;
	req->start_ms = clock_mono_ms();
	buf_init(&req->body, srv->max_body_bytes);
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	req->cctx = ci ? ci->socket_context : NULL;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	format_peer(ci ? ci->client_addr : NULL, req->peer, sizeof(req->peer));
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	req->fd = ci ? ci->connect_fd : -1;
	req->target = strdup(uri ? uri : "/");
	if (!req->target)
		goto fail;
	qmark = strchr(req->target, '?');
	req->raw_path = qmark ? strndup(req->target, (size_t)(qmark - req->target)) : strdup(req->target);
	if (!req->raw_path)
		goto fail;
	req->path = percent_decode(req->raw_path, strlen(req->raw_path), false);
	if (!req->path || req->raw_path[0] != '/')
		req->bad_request = true;
	if (parse_query(req, qmark ? qmark + 1 : NULL) < 0)
		req->bad_request = true;
	awaiting_add(srv, req);
	return req;
fail:
	req_free(req);
	return NULL;
}

const char *httpd_req_method(const struct httpd_req *req)
{
	return req->method;
}

const char *httpd_req_path(const struct httpd_req *req)
{
	return req->path ? req->path : req->raw_path;
}

const char *httpd_req_raw_path(const struct httpd_req *req)
{
	return req->raw_path;
}

const char *httpd_req_query_nth(const struct httpd_req *req, const char *key, size_t n)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (req->query[i].key && strcmp(req->query[i].key, key) == 0 && n-- == 0)
			return req->query[i].value;
	return NULL;
}

const char *httpd_req_query(const struct httpd_req *req, const char *key)
{
	return httpd_req_query_nth(req, key, 0);
}

const char *httpd_req_header(const struct httpd_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *httpd_req_cookie(const struct httpd_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

bool httpd_req_content_type_is(const struct httpd_req *req, const char *mime)
{
	const char *ct = httpd_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n;
	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	return n == strlen(mime) && strncasecmp(ct, mime, n) == 0;
}

const char *httpd_req_body(const struct httpd_req *req, size_t *ret_len)
{
	if (ret_len)
		*ret_len = req->body.len;
	return req->body.ptr;
}

int httpd_req_json(const struct httpd_req *req, json_t **ret)
{
	int rc;
	if (req->body.len == 0)
		return err_set(BERR_INVALID, "request body: empty, JSON expected");
	rc = jx_parse(req->body.ptr, req->body.len, req->srv->max_body_bytes, JX_MAX_DEPTH, ret);
	return rc < 0 ? err_prefix(rc, "request body") : 0;
}

const char *httpd_req_param(const struct httpd_req *req, const char *name)
{
	for (size_t i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].key, name) == 0)
			return req->params[i].value;
	return NULL;
}

const char *httpd_req_peer(const struct httpd_req *req)
{
	return req->peer;
}

bool httpd_req_is_tls(const struct httpd_req *req)
{
	return req->srv->cert_pem != NULL;
}

const char *httpd_req_tls_cn(const struct httpd_req *req)
{
	if (!req->cctx || req->cctx->verdict != TLS_VERIFIED)
		return NULL;
	return req->cctx->cn;
}

const char *httpd_req_tls_org(const struct httpd_req *req, size_t n)
{
	if (!req->cctx || req->cctx->verdict != TLS_VERIFIED || n >= req->cctx->norgs)
		return NULL;
	return req->cctx->orgs[n];
}

struct httpd *httpd_req_server(const struct httpd_req *req)
{
	return req->srv;
}

bool httpd_req_answered(const struct httpd_req *req)
{
	return req->answered;
}

/* ------------------------------------------------------------ responses */

int httpd_add_header(struct httpd_req *req, const char *name, const char *value)
{
	struct kv *grown;
	if (req->answered)
		return err_set(BERR_INVALID, "add header %s: response already sent", name);
	if (!*name || !header_text_ok(name) || strchr(name, ':') || !header_text_ok(value))
		return err_set(BERR_INVALID, "add header: invalid characters in header \"%s\"", name);
	grown = realloc(req->out_headers, (req->nout_headers + 1) * sizeof(*grown));
	if (!grown)
		return err_set(BERR_NOMEM, "out of memory");
	req->out_headers = grown;
	grown[req->nout_headers].key = strdup(name);
	grown[req->nout_headers].value = strdup(value);
	if (!grown[req->nout_headers].key || !grown[req->nout_headers].value) {
		free(grown[req->nout_headers].key);
		free(grown[req->nout_headers].value);
		return err_set(BERR_NOMEM, "out of memory");
	}
	req->nout_headers++;
	return 0;
}

static int queue(struct httpd_req *req, unsigned status, const char *content_type,
		 struct MHD_Response *resp)
{
	int rc = 0;
	if (content_type && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES)
		rc = err_set(BERR_INVALID, "respond: bad content type");
	for (size_t i = 0; rc == 0 && i < req->nout_headers; i++)
		if (MHD_add_response_header(resp, req->out_headers[i].key, req->out_headers[i].value) != MHD_YES)
			rc = err_set(BERR_INVALID, "respond: header \"%s\" refused", req->out_headers[i].key);
	if (rc == 0 && MHD_queue_response(req->conn, status, resp) != MHD_YES)
		rc = err_set(BERR_IO, "respond %u to %s %s: connection refused the response", status,
			     req->method, req->raw_path);
	MHD_destroy_response(resp);
	if (rc == 0) {
		req->answered = true;
		req->status = status;
	}
	return rc;
}

int httpd_respond(struct httpd_req *req, unsigned status, const char *content_type,
		  const void *body, size_t len)
{
	struct MHD_Response *resp;
	int rc;
	if (req->answered)
		return err_set(BERR_INVALID, "respond %u: %s %s already answered", status, req->method,
			       req->raw_path);
	resp = MHD_create_response_from_buffer(len, (void *)(len ? body : ""), MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return err_set(BERR_NOMEM, "out of memory");
	rc = queue(req, status, content_type, resp);
	if (rc == 0)
		req->bytes = len;
	return rc;
}

int httpd_respond_json(struct httpd_req *req, unsigned status, const json_t *v)
{
	struct buf b;
	int rc;
	buf_init(&b, BUF_DEFAULT_MAX);
	if ((rc = jx_dump_compact(v, &b)) < 0) {
		buf_release(&b);
		return err_prefix(rc, "respond json");
	}
	rc = httpd_respond(req, status, "application/json", b.ptr, b.len);
	buf_release(&b);
	return rc;
}

int httpd_respond_error(struct httpd_req *req, unsigned status, const char *fmt, ...)
{
	struct buf msg;
	json_t *v;
	va_list ap;
	int rc;
	buf_init(&msg, 64 << 10);
	va_start(ap, fmt);
	rc = buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc < 0)
		buf_reset(&msg);
	v = json_pack("{s:s%, s:i}", "error", msg.ptr, msg.len, "code", (int)status);
	buf_release(&msg);
	if (!v)
		return httpd_respond(req, status, "application/json", "{}", 2);
	rc = httpd_respond_json(req, status, v);
	json_decref(v);
	return rc;
}

/* -------------------------------------------------------------- streams */

int httpd_stream_start(struct httpd_req *req, unsigned status, const char *content_type,
		       struct httpd_stream **ret)
{
	struct httpd_stream *s;
	struct MHD_Response *resp;
	const union MHD_ConnectionInfo *ci;
	int rc;

	if (req->answered)
		return err_set(BERR_INVALID, "stream %u: %s %s already answered", status, req->method,
			       req->raw_path);
	ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if ((rc = httpd_stream_new(&req->srv->streams, req->srv->stream_queue_bytes, ci ? ci->connect_fd : -1,
				   &s, &resp)) < 0)
		return rc;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	/* From here the response owns one reference; queue() destroys our
	 * handle on the response, and if MHD refused it, that drops it. */
	rc = queue(req, status, content_type, resp);
	if (rc < 0) {
		httpd_stream_unref(s);  /* the request's */
		httpd_stream_unref(s);  /* the caller's */
		return rc;
	}
	req->stream = s;
	*ret = s;
	return 0;
}

/* ------------------------------------------------------------- dispatch */

static void tls_check_peer(struct MHD_Connection *conn, struct conn_ctx *cc);

static void dispatch(struct httpd_req *req)
{
	struct httpd *srv = req->srv;
	const char *path = req->raw_path + 1;
	struct buf allow;
	bool path_matched = false;

	buf_init(&allow, 1024);
	for (size_t i = 0; i < srv->nroutes; i++) {
		const struct route *r = &srv->routes[i];
		int m = route_match(r, req, path);
		if (m < 0) {
			httpd_respond_error(req, 400, "bad path encoding");
			goto out;
		}
		if (m == 0)
			continue;
		if (strcmp(r->method, "*") == 0 || strcmp(r->method, req->method) == 0 ||
		    (strcmp(req->method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
			r->handler(req, r->userdata);
			goto answered;
		}
		path_matched = true;
		if (!strstr(allow.ptr, r->method))
			buf_printf(&allow, "%s%s", allow.len ? ", " : "", r->method);
	}
	params_clear(req);
	if (path_matched) {
		httpd_add_header(req, "Allow", allow.ptr);
		httpd_respond_error(req, 405, "method %s not allowed for %s", req->method, httpd_req_path(req));
		goto out;
	}
	srv->fallback(req, srv->fallback_ud);
answered:
	if (!req->answered) {
		/* No answer, or one MHD refused (a header it will not send):
		 * answer 500 without the handler's headers. */
		out_headers_clear(req);
		httpd_respond_error(req, 500, "internal error: no response");
	}
out:
	buf_release(&allow);
}

/* Refuses requests that must not reach a handler; true when answered. */
static bool refuse_early(struct httpd_req *req)
{
	struct httpd *srv = req->srv;
	const union MHD_ConnectionInfo *ci;
	const char *cl;
	uint64_t n;

	ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	if (ci && ci->header_size > srv->max_header_bytes) {
		httpd_respond_error(req, 431, "request headers larger than %zu bytes", srv->max_header_bytes);
		return true;
	}
	if (req->bad_request) {
		httpd_respond_error(req, 400, "bad request target encoding");
		return true;
	}
	if (srv->ca_pem && !req->cctx) {
		httpd_respond_error(req, 503, "out of memory");  /* cannot judge the certificate */
		return true;
	}
	if (srv->ca_pem) {
		if (req->cctx->verdict == TLS_UNCHECKED)
			tls_check_peer(req->conn, req->cctx);
		if (req->cctx->verdict == TLS_REJECTED) {
			httpd_respond_error(req, 401, "client certificate not trusted");
			return true;
		}
		if (req->cctx->verdict != TLS_VERIFIED && srv->client_cert_required) {
			httpd_respond_error(req, 401, "client certificate required");
			return true;
		}
	}
	cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && str_to_u64(cl, &n) == 0 && n > srv->max_body_bytes) {
		httpd_respond_error(req, 413, "request body larger than %zu bytes", srv->max_body_bytes);
		return true;
	}
	return false;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_size, void **con_cls)
{
	struct httpd_req *req = *con_cls;
	(void)cls;
	(void)url;
	(void)version;

	if (!req)
		return MHD_NO;
	if (!req->dispatched && req->method[0] == '\0') {
		/* First call: headers are in, no body yet. */
		awaiting_remove(req->srv, req);
		str_copy(req->method, method, sizeof(req->method));
		if (strlen(method) >= sizeof(req->method)) {
			httpd_respond_error(req, 501, "method not implemented");
			return MHD_YES;
		}
		refuse_early(req);  /* may answer at once (413, 401, ...) */
		return MHD_YES;
	}
	if (req->answered) {
		/* Answered early; drop whatever body still arrives. */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!req->body_too_large && buf_append(&req->body, upload_data, *upload_size) < 0) {
			req->body_too_large = true;
			buf_release(&req->body);
			if (httpd_respond_error(req, 413, "request body larger than %zu bytes",
						req->srv->max_body_bytes) == 0) {
				*upload_size = 0;
				return MHD_YES;
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (req->dispatched)
		return MHD_YES;
	req->dispatched = true;
	if (req->body_too_large) {
		httpd_respond_error(req, 413, "request body larger than %zu bytes", req->srv->max_body_bytes);
		return MHD_YES;
	}
	(void)conn;
	err_clear();
	dispatch(req);
	return req->answered ? MHD_YES : MHD_NO;  /* MHD_NO: drop the connection */
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct httpd *srv = cls;
	struct httpd_req *req = *con_cls;
	uint64_t bytes;
	(void)conn;
	(void)toe;
	if (!req)
		return;
	*con_cls = NULL;
	awaiting_remove(srv, req);
	bytes = req->bytes;
	if (req->stream) {
		bytes = httpd_stream_request_done(req->stream);
		req->stream = NULL;
	}
	atomic_fetch_add(&srv->requests_total, 1);
	if (req->answered && req->status >= 400 && req->status < 500)
		atomic_fetch_add(&srv->responses_4xx, 1);
	else if (req->answered && req->status >= 500 && req->status < 600)
		atomic_fetch_add(&srv->responses_5xx, 1);
	if (srv->access_log && req->method[0]) {
		char status[16], nbytes[32], ms[32];
		snprintf(status, sizeof(status), "%u", req->answered ? req->status : 0u);
		snprintf(nbytes, sizeof(nbytes), "%llu", (unsigned long long)bytes);
		snprintf(ms, sizeof(ms), "%lld", (long long)(clock_mono_ms() - req->start_ms));
		log_info("http request", "method", req->method, "path", httpd_req_path(req), "status", status,
			 "bytes", nbytes, "ms", ms, "peer", req->peer, NULL);
	}
	req_free(req);
}

/* ------------------------------------------------------------------ TLS */

static void conn_ctx_free(struct conn_ctx *cc)
{
	if (!cc)
		return;
	free(cc->cn);
	for (size_t i = 0; i < cc->norgs; i++)
		free(cc->orgs[i]);
	free(cc->orgs);
	free(cc);
}

static char *dn_value(gnutls_x509_crt_t crt, const char *oid, unsigned idx)
{
	char buf[1024];
	size_t size = sizeof(buf);
	if (gnutls_x509_crt_get_dn_by_oid(crt, oid, idx, 0, buf, &size) != GNUTLS_E_SUCCESS)
		return NULL;
	return strndup(buf, size);
}

/* Verifies the client certificate of conn against the configured CA (MHD
 * loaded it as the session's trust list) for client authentication (its
 * extended key usage must allow it, as Kubernetes requires) and records
 * its CN and O values. */
static void tls_check_peer(struct MHD_Connection *conn, struct conn_ctx *cc)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t session;
	const gnutls_datum_t *certs;
	unsigned ncerts = 0, status = 0;
	gnutls_x509_crt_t crt = NULL;
	gnutls_typed_vdata_st purpose = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
					 .data = (unsigned char *)(uintptr_t)GNUTLS_KP_TLS_WWW_CLIENT};

	cc->verdict = TLS_REJECTED;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return;
	session = ci->tls_session;
	certs = gnutls_certificate_get_peers(session, &ncerts);
	if (!certs || ncerts == 0) {
		cc->verdict = TLS_NONE;
		return;
	}
	if (gnutls_certificate_verify_peers(session, &purpose, 1, &status) != GNUTLS_E_SUCCESS || status != 0)
		return;
	if (gnutls_x509_crt_init(&crt) != GNUTLS_E_SUCCESS)
		return;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) != GNUTLS_E_SUCCESS)
		goto out;
	cc->cn = dn_value(crt, GNUTLS_OID_X520_COMMON_NAME, 0);
	for (unsigned i = 0; i < 64; i++) {
		char *o = dn_value(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, i);
		char **grown;
		if (!o)
			break;
		grown = realloc(cc->orgs, (cc->norgs + 1) * sizeof(*grown));
		if (!grown) {
			free(o);
			break;
		}
		cc->orgs = grown;
		cc->orgs[cc->norgs++] = o;
	}
	cc->verdict = TLS_VERIFIED;
out:
	gnutls_x509_crt_deinit(crt);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *srv = cls;
	(void)conn;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = calloc(1, sizeof(struct conn_ctx));
		atomic_fetch_add(&srv->connections_total, 1);
		atomic_fetch_add(&srv->connections_open, 1);
	} else {
		conn_ctx_free(*socket_context);
		*socket_context = NULL;
		atomic_fetch_sub(&srv->connections_open, 1);
	}
}

/* ---------------------------------------------------------- start, stop */

/* Splits "HOST:PORT", "[V6]:PORT", ":PORT" and opens a listening socket. */
static int open_listener(const char *listen_addr, int *ret_fd, unsigned *ret_port)
{
	char host[256];
	const char *colon = strrchr(listen_addr, ':');
	const char *h = listen_addr;
	size_t hlen;
	int port, fd = -1, rc, one = 1;
	struct addrinfo hints = {0}, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (!colon || str_to_int(colon + 1, 0, 65535, &port) < 0)
		return err_set(BERR_INVALID, "listen \"%s\": expected HOST:PORT", listen_addr);
	hlen = (size_t)(colon - h);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return err_set(BERR_INVALID, "listen \"%s\": host name too long", listen_addr);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(hlen ? host : NULL, portstr, &hints, &ai);
	if (rc != 0)
		return err_set(BERR_INVALID, "listen \"%s\": %s", listen_addr, gai_strerror(rc));
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		rc = err_set(BERR_UNAVAILABLE, "listen \"%s\": socket: %s", listen_addr, strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 512) < 0) {
		rc = err_set(BERR_UNAVAILABLE, "listen \"%s\": %s", listen_addr, strerror(errno));
		goto out;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		rc = err_set(BERR_UNAVAILABLE, "listen \"%s\": %s", listen_addr, strerror(errno));
		goto out;
	}
	*ret_port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	*ret_fd = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

int httpd_start(struct httpd *srv)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
			 MHD_USE_ITC;
	struct MHD_OptionItem opts[16];
	size_t n = 0;
	int rc;

	if (srv->started)
		return err_set(BERR_INVALID, "httpd %s: already started", srv->listen);
	if ((rc = open_listener(srv->listen, &srv->listen_fd, &srv->port)) < 0)
		return rc;
#define OPT(o, v, p) (opts[n++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (p)})
	OPT(MHD_OPTION_LISTEN_SOCKET, srv->listen_fd, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, srv->max_connections, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, srv->idle_timeout_s, NULL);
	if (srv->max_connections_per_ip)
		OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, srv->max_connections_per_ip, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv->max_header_bytes + (16u << 10), NULL);
	OPT(MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv);
	if (srv->cert_pem) {
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key_pem);
		if (srv->ca_pem)
			OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->ca_pem);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_ARRAY, opts,
				    MHD_OPTION_END);
	if (!srv->mhd) {
		close(srv->listen_fd);
		srv->listen_fd = -1;
		srv->port = 0;
		return err_set(BERR_INVALID, "httpd %s: the HTTP library refused to start (bad TLS material?)",
			       srv->listen);
	}
	srv->listen_fd = -1;  /* MHD's now */
	srv->started = true;
	srv->reaper_running = pthread_create(&srv->reaper, NULL, reaper_main, srv) == 0;
	return 0;
}

unsigned httpd_port(const struct httpd *srv)
{
	return srv->port;
}

void httpd_get_stats(struct httpd *srv, struct httpd_stats *out)
{
	out->connections_total = atomic_load(&srv->connections_total);
	out->connections_open = atomic_load(&srv->connections_open);
	out->requests_total = atomic_load(&srv->requests_total);
	out->responses_4xx = atomic_load(&srv->responses_4xx);
	out->responses_5xx = atomic_load(&srv->responses_5xx);
	out->streams_open = atomic_load(&srv->streams.open);
}

int httpd_stats_prometheus(const struct httpd_stats *st, const char *prefix, struct buf *out)
{
	const struct {
		const char *name, *type, *help;
		uint64_t value;
	} m[] = {
		{"connections_total", "counter", "HTTP connections accepted.", st->connections_total},
		{"connections_open", "gauge", "HTTP connections open.", st->connections_open},
		{"requests_total", "counter", "HTTP requests completed.", st->requests_total},
		{"responses_4xx_total", "counter", "HTTP requests answered with a 4xx status.", st->responses_4xx},
		{"responses_5xx_total", "counter", "HTTP requests answered with a 5xx status.", st->responses_5xx},
		{"streams_open", "gauge", "Streaming responses open (watches, event streams).", st->streams_open},
	};
	int rc;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if ((rc = buf_printf(out, "# HELP %s_http_%s %s\n# TYPE %s_http_%s %s\n%s_http_%s %llu\n", prefix,
				     m[i].name, m[i].help, prefix, m[i].name, m[i].type, prefix, m[i].name,
				     (unsigned long long)m[i].value)) < 0)
			return rc;
	return 0;
}

void httpd_stop(struct httpd *srv)
{
	if (!srv->started || srv->stopped)
		return;
	srv->stopped = true;
	/* Stop accepting, then let every stream end so the connection threads
	 * blocked in stream_read return, then join everything. */
	MHD_socket lfd = MHD_quiesce_daemon(srv->mhd);
	httpd_streams_close_all(&srv->streams, STOP_DRAIN_MS);
	if (srv->reaper_running) {
		pthread_mutex_lock(&srv->awaiting_mu);
		srv->reaper_stop = true;
		pthread_cond_broadcast(&srv->awaiting_cond);
		pthread_mutex_unlock(&srv->awaiting_mu);
		pthread_join(srv->reaper, NULL);
		srv->reaper_running = false;
	}
	MHD_stop_daemon(srv->mhd);
	srv->mhd = NULL;
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);  /* quiesced: the listener is ours again */
}
