/* Unit tests for lib/httpd: a server on an ephemeral loopback port, driven
 * by lib/httpc and, where a misbehaving client is needed, by raw sockets. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "httpc.h"
#include "httpd.h"
#include "jsonx.h"
#include "log.h"
#include "str.h"

/* -Wwrite-strings: pass a literal as handler userdata. */
#define UD(s) ((void *)(uintptr_t)(s))

/* ------------------------------------------------------------ fixtures */

static struct httpd *srv;
static struct httpc *cli;
static char base[64];

static void echo_handler(struct httpd_req *req, void *ud)
{
	json_t *v = json_object();
	const char *names[] = {"name", "rest", "ns", NULL};
	json_object_set_new(v, "route", json_string(ud ? ud : ""));
	json_object_set_new(v, "method", json_string(httpd_req_method(req)));
	json_object_set_new(v, "path", json_string(httpd_req_path(req)));
	json_object_set_new(v, "raw", json_string(httpd_req_raw_path(req)));
	for (int i = 0; names[i]; i++)
		if (httpd_req_param(req, names[i]))
			json_object_set_new(v, names[i], json_string(httpd_req_param(req, names[i])));
	httpd_respond_json(req, 200, v);
	json_decref(v);
}

static void query_handler(struct httpd_req *req, void *ud)
{
	(void)ud;
	json_t *v = json_object(), *a = json_array();
	const char *s;
	for (size_t i = 0; (s = httpd_req_query_nth(req, "a", i)); i++)
		json_array_append_new(a, json_string(s));
	json_object_set_new(v, "a", a);
	json_object_set_new(v, "q", json_string(httpd_req_query(req, "q") ? httpd_req_query(req, "q") : "(null)"));
	json_object_set_new(v, "flag", json_string(httpd_req_query(req, "flag") ? httpd_req_query(req, "flag") : "(null)"));
	json_object_set_new(v, "missing", json_boolean(httpd_req_query(req, "missing") == NULL));
	json_object_set_new(v, "hdr", json_string(httpd_req_header(req, "x-test-header") ? httpd_req_header(req, "X-TEST-HEADER") : "(null)"));
	json_object_set_new(v, "cookie", json_string(httpd_req_cookie(req, "berth.token") ? httpd_req_cookie(req, "berth.token") : "(null)"));
	json_object_set_new(v, "json", json_boolean(httpd_req_content_type_is(req, "application/json")));
	httpd_respond_json(req, 200, v);
	json_decref(v);
}

static void json_handler(struct httpd_req *req, void *ud)
{
	json_t *v;
	(void)ud;
	if (httpd_req_json(req, &v) < 0) {
		httpd_respond_error(req, 400, "%s", err_msg());
		return;
	}
	json_object_set_new(v, "seen", json_true());
	httpd_respond_json(req, 201, v);
	json_decref(v);
}

static void body_len_handler(struct httpd_req *req, void *ud)
{
	size_t n;
	char out[32];
	(void)ud;
	httpd_req_body(req, &n);
	snprintf(out, sizeof(out), "%zu", n);
	httpd_respond(req, 200, "text/plain", out, strlen(out));
}

static void headers_handler(struct httpd_req *req, void *ud)
{
	(void)ud;
	ck_assert_int_eq(httpd_add_header(req, "Retry-After", "7"), 0);
	ck_assert_int_eq(httpd_add_header(req, "Set-Cookie", "a=1"), 0);
	ck_assert_int_eq(httpd_add_header(req, "Set-Cookie", "b=2"), 0);
	ck_assert_int_eq(httpd_add_header(req, "X-Bad", "evil\r\nInjected: yes"), BERR_INVALID);
	httpd_respond(req, 200, "text/plain", "ok", 2);
	ck_assert_int_eq(httpd_respond(req, 200, "text/plain", "again", 5), BERR_INVALID);
}

static void refused_header_handler(struct httpd_req *req, void *ud)
{
	(void)ud;
	/* MHD manages Content-Length itself and refuses it from callers. */
	httpd_add_header(req, "Content-Length", "999");
	httpd_respond(req, 200, "text/plain", "ok", 2);
}

static void silent_handler(struct httpd_req *req, void *ud)
{
	(void)req;
	(void)ud;
}

static void start_server(struct httpd_config *cfg)
{
	ck_assert_int_eq(httpd_new(cfg, &srv), 0);
	ck_assert_int_eq(httpd_route(srv, "GET", "/api/v1/applications/{name}", echo_handler, UD("app")), 0);
	ck_assert_int_eq(httpd_route(srv, "DELETE", "/api/v1/applications/{name}", echo_handler, UD("app-del")), 0);
	ck_assert_int_eq(httpd_route(srv, "GET", "/api/v1/namespaces/{ns}/pods/{name}", echo_handler, UD("pod")), 0);
	ck_assert_int_eq(httpd_route(srv, "*", "/static/{rest...}", echo_handler, UD("static")), 0);
	ck_assert_int_eq(httpd_route(srv, "GET", "/query", query_handler, NULL), 0);
	ck_assert_int_eq(httpd_route(srv, "POST", "/json", json_handler, NULL), 0);
	ck_assert_int_eq(httpd_route(srv, "POST", "/body", body_len_handler, NULL), 0);
	ck_assert_int_eq(httpd_route(srv, "GET", "/headers", headers_handler, NULL), 0);
	ck_assert_int_eq(httpd_route(srv, "GET", "/silent", silent_handler, NULL), 0);
	ck_assert_int_eq(httpd_route(srv, "GET", "/refused-header", refused_header_handler, NULL), 0);
	ck_assert_int_eq(httpd_start(srv), 0);
	ck_assert_uint_gt(httpd_port(srv), 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", httpd_port(srv));
}

static void setup(void)
{
	struct httpd_config cfg = {.listen = "127.0.0.1:0", .max_body_bytes = 1024, .max_header_bytes = 4096,
				   .idle_timeout_s = 1};
	struct httpc_config ccfg = {.timeout_ms = 5000};
	start_server(&cfg);
	ck_assert_int_eq(httpc_new(&ccfg, &cli), 0);
}

static void teardown(void)
{
	httpc_free(cli);
	cli = NULL;
	httpd_free(srv);
	srv = NULL;
}

/* Sends req (its url set to base+path for the call) through client c into
 * out, which is initialised here (the caller releases it). httpc_request's
 * return. */
static int request_on(struct httpc *c, struct httpc_req *req, const char *path, struct httpc_resp *out)
{
	char url[512];
	int rc;
	snprintf(url, sizeof(url), "%s%s", base, path);
	req->url = url;
	httpc_resp_init(out);
	rc = httpc_request(c, req, out);
	req->url = NULL;
	return rc;
}

/* GET base+path; returns status, body in *out (caller releases). */
static long get(const char *path, struct httpc_resp *out)
{
	struct httpc_req req = {0};
	ck_assert_msg(request_on(cli, &req, path, out) == 0, "GET %s: %s", path, err_msg());
	return out->status;
}

static json_t *body_json(const struct httpc_resp *r)
{
	json_t *v = NULL;
	ck_assert_msg(jx_parse(r->body.ptr, r->body.len, 1 << 20, 64, &v) == 0, "body %s", r->body.ptr);
	return v;
}

/* A raw TCP connection to the server. */
static int raw_connect(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)httpd_port(srv))};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void raw_send(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		ck_assert_int_gt(w, 0);
		s += w;
		n -= (size_t)w;
	}
}

/* Reads until the peer closes or timeout_ms passes; returns true on close. */
static bool raw_read_until_close(int fd, struct buf *out, int64_t timeout_ms)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	char chunk[65536];
	for (;;) {
		int64_t left = deadline - clock_mono_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0)
			return false;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n <= 0)
			return true;
		if (out)
			buf_append(out, chunk, (size_t)n);
	}
}

/* ------------------------------------------------------------- routing */

/* Routing as a table: a path, the status it gets and, for a match, fields
 * of the echoing handler's JSON answer (key, value pairs). */
static const struct route_case {
	const char *what, *path;
	long status;
	const char *fields[8];
} route_cases[] = {
	{"route param is extracted", "/api/v1/applications/guestbook", 200,
	 {"route", "app", "name", "guestbook"}},
	{"route with two params matches both", "/api/v1/namespaces/berth/pods/web-1", 200,
	 {"ns", "berth", "name", "web-1"}},
	{"route param decodes percent escapes within one segment", "/api/v1/applications/a%2Fb%20c", 200,
	 {"name", "a/b c", "raw", "/api/v1/applications/a%2Fb%20c", "path", "/api/v1/applications/a/b c"}},
	{"route tail wildcard takes the rest of the path", "/static/js/app/main.js", 200,
	 {"route", "static", "rest", "js/app/main.js"}},
	{"route tail wildcard matches an empty rest", "/static/", 200, {"rest", ""}},
	{"route does not match extra segments", "/api/v1/applications/web/extra", 404, {NULL}},
	{"route does not match an empty segment", "/api/v1/applications/", 404, {NULL}},
	{"route does not match missing segments", "/api/v1/applications", 404, {NULL}},
};

START_TEST(route_table_case)
{
	const struct route_case *rc = &route_cases[_i];
	struct httpc_resp r;
	ck_assert_msg(get(rc->path, &r) == rc->status, "%s: %s got %ld", rc->what, rc->path, r.status);
	if (rc->fields[0]) {
		json_t *v = body_json(&r);
		for (size_t k = 0; k + 1 < 8 && rc->fields[k]; k += 2) {
			const char *got = jx_str(v, rc->fields[k]);
			ck_assert_msg(got && !strcmp(got, rc->fields[k + 1]), "%s: %s is \"%s\", want \"%s\"", rc->what,
				      rc->fields[k], got ? got : "(none)", rc->fields[k + 1]);
		}
		json_decref(v);
	}
	httpc_resp_release(&r);
}
END_TEST

START_TEST(unknown_path_gets_404_json_error)
{
	struct httpc_resp r;
	ck_assert_int_eq(get("/nope", &r), 404);
	json_t *v = body_json(&r);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "code")), 404);
	ck_assert_ptr_nonnull(strstr(jx_str(v, "error"), "/nope"));
	ck_assert_str_eq(httpc_resp_header(&r, "content-type"), "application/json");
	json_decref(v);
	httpc_resp_release(&r);
}
END_TEST

START_TEST(known_path_with_wrong_method_gets_405_and_allow)
{
	struct httpc_req req = {.method = "PUT"};
	struct httpc_resp r;
	ck_assert_int_eq(request_on(cli, &req, "/api/v1/applications/web", &r), 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(httpc_resp_header(&r, "Allow"), "GET, DELETE");
	httpc_resp_release(&r);
}
END_TEST

START_TEST(head_is_served_by_the_get_route_without_body)
{
	struct httpc_req req = {.method = "HEAD"};
	struct httpc_resp r;
	ck_assert_int_eq(request_on(cli, &req, "/api/v1/applications/web", &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert_str_eq(httpc_resp_header(&r, "Content-Type"), "application/json");
	httpc_resp_release(&r);
}
END_TEST

static void custom_fallback(struct httpd_req *req, void *ud)
{
	httpd_respond(req, 299, "text/plain", ud, strlen(ud));
}

START_TEST(catch_all_route_and_fallback)
{
	struct httpd_config cfg = {0};
	struct httpc_resp r;
	httpd_free(srv);
	ck_assert_int_eq(httpd_new(&cfg, &srv), 0);
	ck_assert_int_eq(httpd_route(srv, "GET", "/{rest...}", echo_handler, UD("all")), 0);
	httpd_set_fallback(srv, custom_fallback, UD("fallback"));
	ck_assert_int_eq(httpd_start(srv), 0);
	ck_assert_int_eq(httpd_route(srv, "GET", "/late", echo_handler, NULL), BERR_INVALID);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", httpd_port(srv));
	ck_assert_int_eq(get("/apis/apps/v1/namespaces/x/deployments", &r), 200);
	json_t *v = body_json(&r);
	ck_assert_str_eq(jx_str(v, "rest"), "apis/apps/v1/namespaces/x/deployments");
	json_decref(v);
	httpc_resp_release(&r);
	ck_assert_int_eq(get("/", &r), 200);
	httpc_resp_release(&r);
	struct httpc_req req = {.method = "POST", .url = base};
	httpc_resp_init(&r);
	ck_assert_int_eq(httpc_request(cli, &req, &r), 0);
	ck_assert_int_eq(r.status, 405);
	httpc_resp_release(&r);
}
END_TEST

static void rest_bytes_handler(struct httpd_req *req, void *ud)
{
	const char *rest = httpd_req_param(req, "rest");
	(void)ud;
	httpd_respond(req, 200, "application/octet-stream", rest, strlen(rest));
}

START_TEST(tail_parameter_decodes_every_byte)
{
	/* Random paths of bytes 1..255, percent-encoded except unreserved
	 * characters and '/': the handler must see exactly the bytes sent. */
	struct httpd_config cfg = {0};
	unsigned seed = 42;
	httpd_free(srv);
	ck_assert_int_eq(httpd_new(&cfg, &srv), 0);
	ck_assert_int_eq(httpd_route(srv, "GET", "/b/{rest...}", rest_bytes_handler, NULL), 0);
	ck_assert_int_eq(httpd_start(srv), 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", httpd_port(srv));
	for (int round = 0; round < 100; round++) {
		char raw[64], path[256];
		size_t n = 1 + (size_t)(rand_r(&seed) % 40), o = 0;
		struct httpc_resp r;
		o += (size_t)snprintf(path, sizeof(path), "/b/");
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)(1 + rand_r(&seed) % 255);
			raw[i] = (char)c;
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '_' || c == '.' || c == '~' || c == '/')
				path[o++] = (char)c;
			else
				o += (size_t)snprintf(path + o, sizeof(path) - o, "%%%02X", c);
		}
		path[o] = '\0';
		raw[n] = '\0';
		/* curl collapses "/./" and "/../": skip paths it would rewrite. */
		if (strstr(path, "/.") || strstr(path, "//"))
			continue;
		ck_assert_int_eq(get(path, &r), 200);
		ck_assert_uint_eq(r.body.len, n);
		ck_assert_msg(memcmp(r.body.ptr, raw, n) == 0, "round %d path %s", round, path);
		httpc_resp_release(&r);
	}
}
END_TEST

START_TEST(malformed_route_patterns_are_refused)
{
	struct httpd *s2;
	struct httpd_config cfg = {0};
	ck_assert_int_eq(httpd_new(&cfg, &s2), 0);
	ck_assert_int_eq(httpd_route(s2, "GET", "no-slash", echo_handler, NULL), BERR_INVALID);
	ck_assert_int_eq(httpd_route(s2, "GET", "/a/{rest...}/b", echo_handler, NULL), BERR_INVALID);
	ck_assert_int_eq(httpd_route(s2, "GET", "/a/{x", echo_handler, NULL), BERR_INVALID);
	ck_assert_int_eq(httpd_route(s2, "GET", "/a/{}", echo_handler, NULL), BERR_INVALID);
	httpd_free(s2);
}
END_TEST

START_TEST(bad_percent_encoding_gets_400)
{
	struct httpc_resp r;
	ck_assert_int_eq(get("/api/v1/applications/a%zz", &r), 400);
	httpc_resp_release(&r);
	ck_assert_int_eq(get("/api/v1/applications/a%00b", &r), 400);
	httpc_resp_release(&r);
}
END_TEST

/* ------------------------------------------------------ requests, bodies */

START_TEST(query_is_decoded_and_repeated_keys_kept)
{
	struct httpc_req req = {0};
	struct httpc_resp r;
	const char *hdrs[] = {"X-Test-Header: hello", "Cookie: theme=dark; berth.token=abc.def", NULL};
	req.headers = hdrs;
	ck_assert_int_eq(request_on(cli, &req, "/query?a=1&a=two%203&q=x+y%2Bz&flag", &r), 0);
	ck_assert_int_eq(r.status, 200);
	json_t *v = body_json(&r);
	ck_assert_int_eq(json_array_size(json_object_get(v, "a")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "a"), 0)), "1");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "a"), 1)), "two 3");
	ck_assert_str_eq(jx_str(v, "q"), "x y+z");
	ck_assert_str_eq(jx_str(v, "flag"), "");
	ck_assert(json_is_true(json_object_get(v, "missing")));
	ck_assert_str_eq(jx_str(v, "hdr"), "hello");
	ck_assert_str_eq(jx_str(v, "cookie"), "abc.def");
	ck_assert(json_is_false(json_object_get(v, "json")));
	json_decref(v);
	httpc_resp_release(&r);
}
END_TEST

/* GET /query with Content-Type ct; whether the server saw application/json. */
static bool seen_as_json(const char *ct)
{
	char hdr[256];
	const char *hdrs[] = {hdr, NULL};
	struct httpc_req req = {.headers = hdrs};
	struct httpc_resp r;
	bool json;
	snprintf(hdr, sizeof(hdr), "Content-Type: %s", ct);
	ck_assert_int_eq(request_on(cli, &req, "/query", &r), 0);
	json_t *v = body_json(&r);
	json = json_is_true(json_object_get(v, "json"));
	json_decref(v);
	httpc_resp_release(&r);
	return json;
}

START_TEST(content_type_match_ignores_case_and_parameters)
{
	ck_assert(seen_as_json("application/json"));
	ck_assert(seen_as_json("Application/JSON; charset=utf-8"));
	ck_assert(!seen_as_json("application/jsonp"));
	ck_assert(!seen_as_json("text/plain"));
	ck_assert(!seen_as_json("application/x-www-form-urlencoded"));
}
END_TEST

START_TEST(json_body_round_trips)
{
	struct httpc_req req = {.method = "POST", .content_type = "application/json"};
	struct httpc_resp r;
	char url[256];
	const char *body = "{\"name\":\"web\",\"n\":[1,2,3]}";
	snprintf(url, sizeof(url), "%s/json", base);
	req.url = url;
	req.body = body;
	req.body_len = strlen(body);
	httpc_resp_init(&r);
	ck_assert_int_eq(httpc_request(cli, &req, &r), 0);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(r.body.ptr, "{\"name\":\"web\",\"n\":[1,2,3],\"seen\":true}");
	req.body = "{bad";
	req.body_len = 4;
	ck_assert_int_eq(httpc_request(cli, &req, &r), 0);
	ck_assert_int_eq(r.status, 400);
	httpc_resp_release(&r);
}
END_TEST

START_TEST(body_at_the_limit_is_accepted)
{
	char body[1024];
	struct httpc_req req = {.method = "POST", .body = body, .body_len = sizeof(body)};
	struct httpc_resp r;
	memset(body, 'x', sizeof(body));
	ck_assert_int_eq(request_on(cli, &req, "/body", &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body.ptr, "1024");
	httpc_resp_release(&r);
}
END_TEST

START_TEST(body_over_the_limit_gets_413_before_it_is_read)
{
	/* Announce 10 MB and send none of it: the answer must come anyway. */
	int fd = raw_connect();
	struct buf out;
	buf_init(&out, 1 << 16);
	raw_send(fd, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n");
	raw_read_until_close(fd, &out, 3000);
	ck_assert_msg(str_starts_with(out.ptr, "HTTP/1.1 413"), "got: %s", out.ptr);
	buf_release(&out);
	close(fd);
}
END_TEST

START_TEST(chunked_body_over_the_limit_gets_413)
{
	int fd = raw_connect();
	struct buf out;
	char chunk[700];
	buf_init(&out, 1 << 16);
	raw_send(fd, "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 3; i++) {
		memset(chunk, 0, sizeof(chunk));
		snprintf(chunk, sizeof(chunk), "200\r\n");
		memset(chunk + 5, 'y', 0x200);
		memcpy(chunk + 5 + 0x200, "\r\n", 3);
		send(fd, chunk, strlen(chunk), MSG_NOSIGNAL);
	}
	send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
	raw_read_until_close(fd, &out, 3000);
	ck_assert_msg(str_starts_with(out.ptr, "HTTP/1.1 413"), "got: %s", out.ptr);
	buf_release(&out);
	close(fd);
}
END_TEST

START_TEST(oversized_headers_are_refused)
{
	int fd = raw_connect();
	struct buf out, req;
	buf_init(&out, 1 << 16);
	buf_init(&req, 1 << 20);
	buf_puts(&req, "GET /query HTTP/1.1\r\nHost: x\r\nX-Big: ");
	for (int i = 0; i < 8000; i++)
		buf_putc(&req, 'a');
	buf_puts(&req, "\r\n\r\n");
	send(fd, req.ptr, req.len, MSG_NOSIGNAL);
	raw_read_until_close(fd, &out, 3000);
	ck_assert_msg(str_starts_with(out.ptr, "HTTP/1.1 4"), "got: %s", out.ptr);
	ck_assert(!str_starts_with(out.ptr, "HTTP/1.1 200"));
	buf_release(&out);
	buf_release(&req);
	close(fd);
}
END_TEST

START_TEST(idle_client_is_disconnected)
{
	/* idle_timeout_s = 1: a client that sends half a request and stalls is
	 * dropped within a few seconds. */
	int fd = raw_connect();
	int64_t t0 = clock_mono_ms();
	raw_send(fd, "GET /query HTTP/1.1\r\nHost: x\r\n");
	ck_assert(raw_read_until_close(fd, NULL, 5000));
	ck_assert_int_ge(clock_mono_ms() - t0, 900);
	close(fd);
}
END_TEST

START_TEST(client_trickling_headers_is_cut_off)
{
	/* Never idle for a second, yet never done: the header deadline
	 * (1 s here), not the idle timeout (30 s), ends it. */
	struct httpd_config cfg = {.header_timeout_s = 1, .idle_timeout_s = 30};
	bool closed = false;
	httpd_free(srv);
	srv = NULL;
	start_server(&cfg);
	int fd = raw_connect();
	int64_t t0 = clock_mono_ms();
	raw_send(fd, "GET /query HTTP/1.1\r\n");
	while (!closed && clock_mono_ms() - t0 < 6000) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char c;
		if (poll(&p, 1, 200) > 0 && recv(fd, &c, 1, 0) <= 0)
			closed = true;
		else if (send(fd, "X-Drip: 1\r\n", 11, MSG_NOSIGNAL) < 0)
			closed = true;
	}
	int64_t elapsed = clock_mono_ms() - t0;
	ck_assert(closed);
	ck_assert_int_ge(elapsed, 900);
	ck_assert_int_lt(elapsed, 4000);
	close(fd);
	/* Normal clients are not affected. */
	struct httpc_resp r;
	ck_assert_int_eq(get("/query", &r), 200);
	httpc_resp_release(&r);
}
END_TEST

START_TEST(response_headers_are_sent_and_injection_refused)
{
	struct httpc_resp r;
	ck_assert_int_eq(get("/headers", &r), 200);
	ck_assert_str_eq(httpc_resp_header(&r, "retry-after"), "7");
	ck_assert_str_eq(httpc_resp_header_nth(&r, "Set-Cookie", 0), "a=1");
	ck_assert_str_eq(httpc_resp_header_nth(&r, "Set-Cookie", 1), "b=2");
	ck_assert_ptr_null(httpc_resp_header(&r, "Injected"));
	ck_assert_str_eq(r.body.ptr, "ok");
	httpc_resp_release(&r);
}
END_TEST

START_TEST(handler_without_answer_gets_500)
{
	struct httpc_resp r;
	ck_assert_int_eq(get("/silent", &r), 500);
	httpc_resp_release(&r);
}
END_TEST

START_TEST(response_the_library_refuses_becomes_500)
{
	struct httpc_resp r;
	ck_assert_int_eq(get("/refused-header", &r), 500);
	ck_assert_ptr_null(httpc_resp_header(&r, "Content-Length") && strcmp(httpc_resp_header(&r, "Content-Length"), "999") == 0 ? "bad" : NULL);
	httpc_resp_release(&r);
}
END_TEST

START_TEST(keep_alive_reuses_one_connection)
{
	struct httpc_resp r;
	struct httpd_stats st;
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(get("/query", &r), 200);
		httpc_resp_release(&r);
	}
	httpd_get_stats(srv, &st);
	ck_assert_uint_eq(st.connections_total, 1);
	/* A request counts once completed, just after its response is sent. */
	for (int64_t end = clock_mono_ms() + 3000; st.requests_total < 10 && clock_mono_ms() < end;) {
		clock_sleep_ms(5);
		httpd_get_stats(srv, &st);
	}
	ck_assert_uint_ge(st.requests_total, 10);
}
END_TEST

START_TEST(stats_count_errors_and_render_as_prometheus)
{
	struct httpc_resp r;
	struct httpd_stats st;
	struct buf text;
	ck_assert_int_eq(get("/query", &r), 200);
	httpc_resp_release(&r);
	ck_assert_int_eq(get("/nope", &r), 404);
	httpc_resp_release(&r);
	ck_assert_int_eq(get("/silent", &r), 500);
	httpc_resp_release(&r);
	httpd_get_stats(srv, &st);
	for (int64_t end = clock_mono_ms() + 3000; st.requests_total < 3 && clock_mono_ms() < end;) {
		clock_sleep_ms(5);
		httpd_get_stats(srv, &st);
	}
	ck_assert_uint_eq(st.requests_total, 3);
	ck_assert_uint_eq(st.responses_4xx, 1);
	ck_assert_uint_eq(st.responses_5xx, 1);
	buf_init(&text, 1 << 16);
	ck_assert_int_eq(httpd_stats_prometheus(&st, "berth_test", &text), 0);
	ck_assert_ptr_nonnull(strstr(text.ptr, "# TYPE berth_test_http_requests_total counter\nberth_test_http_requests_total 3\n"));
	ck_assert_ptr_nonnull(strstr(text.ptr, "berth_test_http_responses_5xx_total 1\n"));
	ck_assert_ptr_nonnull(strstr(text.ptr, "# TYPE berth_test_http_connections_open gauge\n"));
	buf_release(&text);
}
END_TEST

START_TEST(access_log_line_names_method_path_status_and_peer)
{
	struct httpd_config cfg = {.access_log = true};
	struct httpc_resp r;
	char tmpl[] = "/tmp/berth-httpd-log.XXXXXX";
	int logfd = mkstemp(tmpl), saved = dup(2);
	char text[4096] = "";
	ssize_t n;
	httpd_free(srv);
	srv = NULL;
	start_server(&cfg);
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	dup2(logfd, 2);
	ck_assert_int_eq(get("/api/v1/applications/web?secret=1", &r), 200);
	httpc_resp_release(&r);
	/* The line is written when the request completes, just after the
	 * response: wait for it. */
	int64_t deadline = clock_mono_ms() + 3000;
	do {
		n = pread(logfd, text, sizeof(text) - 1, 0);
		text[n > 0 ? n : 0] = '\0';
		if (strstr(text, "status=200"))
			break;
		clock_sleep_ms(10);
	} while (clock_mono_ms() < deadline);
	dup2(saved, 2);
	close(saved);
	close(logfd);
	unlink(tmpl);
	ck_assert_msg(strstr(text, "http request") != NULL, "log: %s", text);
	ck_assert_ptr_nonnull(strstr(text, "method=GET"));
	ck_assert_ptr_nonnull(strstr(text, "path=/api/v1/applications/web"));
	ck_assert_ptr_null(strstr(text, "secret"));
	ck_assert_ptr_nonnull(strstr(text, "status=200"));
	ck_assert_ptr_nonnull(strstr(text, "peer=127.0.0.1:"));
	ck_assert_ptr_nonnull(strstr(text, "ms="));
	ck_assert_ptr_nonnull(strstr(text, "bytes="));
}
END_TEST

START_TEST(garbage_requests_get_errors_and_the_server_keeps_serving)
{
	const char *bad[] = {
		"GARBAGE\r\n\r\n",
		"GET\r\n\r\n",
		"GET /query HTTP/9.9\r\nHost: x\r\n\r\n",
		"GET /query HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
		"GET /query HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		"GET /query HTTP/1.1\r\nBad Header Line\r\n\r\n",
		"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n",
		"GET http://evil/query HTTP/1.1\r\nHost: x\r\n\r\n",
		"AVERYLONGMETHODNAMEINDEED /query HTTP/1.1\r\nHost: x\r\n\r\n",
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		int fd = raw_connect();
		struct buf out;
		buf_init(&out, 1 << 16);
		send(fd, bad[i], strlen(bad[i]), MSG_NOSIGNAL);
		shutdown(fd, SHUT_WR);
		raw_read_until_close(fd, &out, 3000);
		ck_assert_msg(out.len == 0 || !str_starts_with(out.ptr, "HTTP/1.1 2"), "request %d answered: %s", i,
			      out.ptr);
		buf_release(&out);
		close(fd);
	}
	struct httpc_resp r;
	ck_assert_int_eq(get("/query", &r), 200);
	httpc_resp_release(&r);
}
END_TEST

START_TEST(connections_past_the_limit_are_refused)
{
	struct httpd_config cfg = {.max_connections = 2};
	int fds[3];
	struct buf out;
	httpd_free(srv);
	srv = NULL;
	start_server(&cfg);
	fds[0] = raw_connect();
	fds[1] = raw_connect();
	raw_send(fds[0], "GET /query HTTP/1.1\r\nHost: x\r\n");
	raw_send(fds[1], "GET /query HTTP/1.1\r\nHost: x\r\n");
	struct httpd_stats st;
	int64_t deadline = clock_mono_ms() + 3000;
	do {  /* both accepted before the third arrives */
		httpd_get_stats(srv, &st);
	} while (st.connections_open < 2 && clock_mono_ms() < deadline && (clock_sleep_ms(5), 1));
	ck_assert_uint_eq(st.connections_open, 2);
	fds[2] = raw_connect();
	buf_init(&out, 1 << 16);
	send(fds[2], "GET /query HTTP/1.1\r\nHost: x\r\n\r\n", 32, MSG_NOSIGNAL);
	ck_assert(raw_read_until_close(fds[2], &out, 3000));
	ck_assert_msg(!str_starts_with(out.ptr, "HTTP/1.1 200"), "third connection served: %s", out.ptr);
	buf_release(&out);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}
END_TEST

START_TEST(connections_past_the_per_address_limit_are_refused)
{
	struct httpd_config cfg = {.max_connections_per_ip = 1};
	struct httpd_stats st;
	struct buf out;
	int first, second;
	httpd_free(srv);
	srv = NULL;
	start_server(&cfg);
	first = raw_connect();
	raw_send(first, "GET /query HTTP/1.1\r\nHost: x\r\n");
	int64_t deadline = clock_mono_ms() + 3000;
	do {
		httpd_get_stats(srv, &st);
	} while (st.connections_open < 1 && clock_mono_ms() < deadline && (clock_sleep_ms(5), 1));
	second = raw_connect();
	buf_init(&out, 1 << 16);
	send(second, "GET /query HTTP/1.1\r\nHost: x\r\n\r\n", 32, MSG_NOSIGNAL);
	ck_assert(raw_read_until_close(second, &out, 3000));
	ck_assert_msg(!str_starts_with(out.ptr, "HTTP/1.1 200"), "second connection served: %s", out.ptr);
	/* The first one is still served. */
	buf_reset(&out);
	raw_send(first, "Connection: close\r\n\r\n");
	ck_assert(raw_read_until_close(first, &out, 3000));
	ck_assert_msg(str_starts_with(out.ptr, "HTTP/1.1 200"), "first: %s", out.ptr);
	buf_release(&out);
	close(first);
	close(second);
}
END_TEST

START_TEST(listen_accepts_any_interface_and_host_names)
{
	const char *forms[] = {":0", "localhost:0", "0.0.0.0:0", NULL};
	for (int i = 0; forms[i]; i++) {
		struct httpd *s2;
		struct httpd_config cfg = {.listen = forms[i]};
		struct httpc_resp r;
		char url[128];
		struct httpc_req req = {0};
		ck_assert_int_eq(httpd_new(&cfg, &s2), 0);
		ck_assert_int_eq(httpd_route(s2, "GET", "/query", query_handler, NULL), 0);
		ck_assert_msg(httpd_start(s2) == 0, "%s: %s", forms[i], err_msg());
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/query", httpd_port(s2));
		req.url = url;
		httpc_resp_init(&r);
		ck_assert_msg(httpc_request(cli, &req, &r) == 0, "%s: %s", forms[i], err_msg());
		ck_assert_int_eq(r.status, 200);
		httpc_resp_release(&r);
		httpd_free(s2);
	}
}
END_TEST

START_TEST(listen_on_a_busy_port_fails_with_unavailable)
{
	struct httpd *s2;
	char addr[64];
	struct httpd_config cfg = {0};
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", httpd_port(srv));
	cfg.listen = addr;
	ck_assert_int_eq(httpd_new(&cfg, &s2), 0);
	ck_assert_int_eq(httpd_start(s2), BERR_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(err_msg(), addr));
	httpd_free(s2);
	cfg.listen = "nonsense";
	ck_assert_int_eq(httpd_new(&cfg, &s2), 0);
	ck_assert_int_eq(httpd_start(s2), BERR_INVALID);
	httpd_free(s2);
}
END_TEST

/* -------------------------------------------------------------- streams */

static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t held_cond = PTHREAD_COND_INITIALIZER;
static struct httpd_stream *held;  /* a stream the test thread drives */
static int closed_calls;

static void count_close(struct httpd_stream *s, void *ud)
{
	(void)s;
	(void)ud;
	pthread_mutex_lock(&held_mu);
	closed_calls++;
	pthread_mutex_unlock(&held_mu);
}

static void hold_stream_handler(struct httpd_req *req, void *ud)
{
	struct httpd_stream *s;
	(void)ud;
	ck_assert_int_eq(httpd_add_header(req, "X-Accel-Buffering", "no"), 0);
	ck_assert_int_eq(httpd_stream_start(req, 200, "application/json", &s), 0);
	ck_assert_int_eq(httpd_stream_start(req, 200, "application/json", &s), BERR_INVALID);
	httpd_stream_on_close(s, count_close, NULL);
	pthread_mutex_lock(&held_mu);
	held = s;
	pthread_cond_broadcast(&held_cond);
	pthread_mutex_unlock(&held_mu);
}

static struct httpd_stream *wait_held(void)
{
	struct httpd_stream *s;
	int64_t deadline = clock_mono_ms() + 5000;
	pthread_mutex_lock(&held_mu);
	while (!held && clock_mono_ms() < deadline) {
		pthread_mutex_unlock(&held_mu);
		clock_sleep_ms(5);
		pthread_mutex_lock(&held_mu);
	}
	s = held;
	held = NULL;
	pthread_mutex_unlock(&held_mu);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void stream_setup(void)
{
	struct httpd_config cfg = {.stream_queue_bytes = 64 << 10, .idle_timeout_s = 30};
	struct httpc_config ccfg = {.timeout_ms = 5000};
	held = NULL;
	closed_calls = 0;
	ck_assert_int_eq(httpd_new(&cfg, &srv), 0);
	ck_assert_int_eq(httpd_route(srv, "GET", "/hold", hold_stream_handler, NULL), 0);
	ck_assert_int_eq(httpd_start(srv), 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", httpd_port(srv));
	ck_assert_int_eq(httpc_new(&ccfg, &cli), 0);
}

struct pieces_ctx {
	struct httpd_stream *s;
};

/* Writes lines cut at odd places, several per piece, pausing so the pieces
 * reach the client as separate chunks. */
static void *write_pieces(void *arg)
{
	struct httpd_stream *s = arg;
	const char *pieces[] = {"{\"n\":1}\n{\"n\"", ":2}\n", "{\"n\":3", "}\n{\"n\":4}\n{\"n\":5}\n{", "\"n\":6}\n", NULL};
	for (int i = 0; pieces[i]; i++) {
		ck_assert_int_eq(httpd_stream_write(s, pieces[i], strlen(pieces[i])), 0);
		clock_sleep_ms(30);
	}
	httpd_stream_close(s);
	httpd_stream_unref(s);
	return NULL;
}

struct lines {
	char *v[64];
	size_t n;
	size_t stop_after;
};

static int collect_line(const char *line, size_t len, void *ud)
{
	struct lines *l = ud;
	ck_assert_uint_eq(strlen(line), len);
	if (l->n < 64)
		l->v[l->n++] = strdup(line);
	return l->stop_after && l->n >= l->stop_after ? BERR_CANCELED : 0;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
}

struct client_ctx {
	struct lines lines;
	int rc;
	struct httpc_resp resp;
};

static void *client_stream(void *arg)
{
	struct client_ctx *cc = arg;
	char url[256];
	struct httpc_req req = {.idle_timeout_ms = 10000};
	snprintf(url, sizeof(url), "%s/hold", base);
	req.url = url;
	httpc_resp_init(&cc->resp);
	cc->rc = httpc_stream_lines(cli, &req, collect_line, &cc->lines, &cc->resp);
	return NULL;
}

START_TEST(stream_lines_split_at_odd_places_arrive_whole)
{
	struct client_ctx cc = {0};
	pthread_t ct, wt;
	pthread_create(&ct, NULL, client_stream, &cc);
	struct httpd_stream *s = wait_held();
	pthread_create(&wt, NULL, write_pieces, s);
	pthread_join(wt, NULL);
	pthread_join(ct, NULL);
	ck_assert_msg(cc.rc == 0, "rc %d %s", cc.rc, err_msg());
	ck_assert_int_eq(cc.resp.status, 200);
	ck_assert_str_eq(httpc_resp_header(&cc.resp, "Content-Type"), "application/json");
	ck_assert_uint_eq(cc.lines.n, 6);
	for (size_t i = 0; i < 6; i++) {
		char want[32];
		snprintf(want, sizeof(want), "{\"n\":%zu}", i + 1);
		ck_assert_str_eq(cc.lines.v[i], want);
	}
	lines_free(&cc.lines);
	httpc_resp_release(&cc.resp);
}
END_TEST

START_TEST(stream_headers_arrive_before_any_data)
{
	/* A watch with no events yet must still get its status line. */
	int fd = raw_connect();
	struct buf out;
	char chunk[1024];
	int64_t deadline = clock_mono_ms() + 3000;
	buf_init(&out, 1 << 16);
	raw_send(fd, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
	struct httpd_stream *s = wait_held();
	while (!strstr(out.ptr, "\r\n\r\n") && clock_mono_ms() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) > 0) {
			ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
			if (n <= 0)
				break;
			buf_append(&out, chunk, (size_t)n);
		}
	}
	ck_assert_msg(str_starts_with(out.ptr, "HTTP/1.1 200"), "got: %s", out.ptr);
	ck_assert_ptr_nonnull(strcasestr(out.ptr, "transfer-encoding: chunked"));
	ck_assert_ptr_nonnull(strcasestr(out.ptr, "x-accel-buffering: no"));
	close(fd);
	ck_assert(httpd_stream_wait_closed(s, 5000));
	httpd_stream_unref(s);
	buf_release(&out);
}
END_TEST

START_TEST(slow_client_stream_is_closed_without_memory_growth)
{
	/* The client asks and never reads: the server's queue is bounded at
	 * 64 KiB, so writes must fail within (socket buffers + 64 KiB). */
	int fd = raw_connect();
	char line[1024];
	int rc = 0;
	size_t written = 0, max_queued = 0;
	raw_send(fd, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
	struct httpd_stream *s = wait_held();
	memset(line, 'z', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	/* Write holding the lock the close callback takes, as a broadcaster
	 * holding its watcher list would: the callback must not run inside
	 * httpd_stream_write (that would deadlock here). */
	pthread_mutex_lock(&held_mu);
	while (written < ((size_t)64 << 20)) {
		rc = httpd_stream_write(s, line, sizeof(line));
		if (rc < 0)
			break;
		written += sizeof(line);
		size_t q = httpd_stream_queued(s);
		if (q > max_queued)
			max_queued = q;
	}
	pthread_mutex_unlock(&held_mu);
	ck_assert_int_eq(rc, BERR_TOOLARGE);
	ck_assert_uint_le(max_queued, 64 << 10);
	ck_assert(httpd_stream_closed(s));
	ck_assert_int_eq(httpd_stream_write(s, "x", 1), BERR_CANCELED);
	/* The connection is cut and the close callback runs. */
	ck_assert(raw_read_until_close(fd, NULL, 5000));
	int64_t deadline = clock_mono_ms() + 5000;
	for (;;) {
		pthread_mutex_lock(&held_mu);
		int calls = closed_calls;
		pthread_mutex_unlock(&held_mu);
		if (calls == 1 || clock_mono_ms() > deadline) {
			ck_assert_int_eq(calls, 1);
			break;
		}
		clock_sleep_ms(10);
	}
	httpd_stream_unref(s);
	close(fd);
}
END_TEST

START_TEST(client_going_away_ends_the_stream)
{
	struct client_ctx cc = {.lines = {.stop_after = 1}};
	pthread_t ct;
	pthread_create(&ct, NULL, client_stream, &cc);
	struct httpd_stream *s = wait_held();
	ck_assert_int_eq(httpd_stream_write(s, "first\n", 6), 0);
	pthread_join(ct, NULL);
	ck_assert_int_eq(cc.rc, BERR_CANCELED);
	ck_assert_uint_eq(cc.lines.n, 1);
	/* Nothing more is written, yet the server learns the client left. */
	ck_assert(httpd_stream_wait_closed(s, 5000));
	ck_assert_int_eq(httpd_stream_write(s, "more\n", 5), BERR_CANCELED);
	lines_free(&cc.lines);
	httpc_resp_release(&cc.resp);
	httpd_stream_unref(s);
}
END_TEST

START_TEST(stop_ends_open_streams_and_returns)
{
	struct client_ctx cc = {0};
	pthread_t ct;
	pthread_create(&ct, NULL, client_stream, &cc);
	struct httpd_stream *s = wait_held();
	ck_assert_int_eq(httpd_stream_write(s, "a\n", 2), 0);
	int64_t t0 = clock_mono_ms();
	httpd_stop(srv);
	ck_assert_int_lt(clock_mono_ms() - t0, 3000);
	pthread_join(ct, NULL);
	ck_assert(httpd_stream_closed(s));
	ck_assert_uint_ge(cc.lines.n, 1);
	ck_assert_str_eq(cc.lines.v[0], "a");
	httpd_stream_unref(s);
	lines_free(&cc.lines);
	httpc_resp_release(&cc.resp);
}
END_TEST

/* ------------------------------------------------------------------ TLS */

static char tlsdir[64];

static char *slurp(const char *name)
{
	char path[256];
	FILE *f;
	char *data;
	long n;
	snprintf(path, sizeof(path), "%s/%s", tlsdir, name);
	f = fopen(path, "re");
	ck_assert_msg(f != NULL, "open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(data, 1, (size_t)n, f), n);
	fclose(f);
	return data;
}

/* Makes a CA, a server certificate for 127.0.0.1, a client certificate
 * (CN=alice, O=devs, O=admins) signed by the CA and one signed by another
 * CA, with the openssl command. */
static void make_certs(void)
{
	char cmd[4096];
	str_copy(tlsdir, "/tmp/berth-httpd-tls.XXXXXX", sizeof(tlsdir));
	ck_assert_ptr_nonnull(mkdtemp(tlsdir));
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd %s;"
		 "q() { \"$@\" >/dev/null 2>&1; };"
		 "q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca"
		 " -keyout ca.key -out ca.pem;"
		 "q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other-ca"
		 " -keyout other.key -out other.pem;"
		 "q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost"
		 " -keyout srv.key -out srv.csr;"
		 "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\\nextendedKeyUsage=serverAuth\\n' > srv.ext;"
		 "q openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext -out srv.pem;"
		 "printf 'extendedKeyUsage=clientAuth\\n' > cli.ext;"
		 "q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/O=devs/O=admins/CN=alice'"
		 " -keyout cli.key -out cli.csr;"
		 "q openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile cli.ext -out cli.pem;"
		 "q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/O=devs/CN=mallory'"
		 " -keyout bad.key -out bad.csr;"
		 "q openssl x509 -req -in bad.csr -CA other.pem -CAkey other.key -CAcreateserial -days 2 -extfile cli.ext -out bad.pem",
		 tlsdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void whoami_handler(struct httpd_req *req, void *ud)
{
	json_t *v = json_object(), *orgs = json_array();
	const char *o;
	(void)ud;
	for (size_t i = 0; (o = httpd_req_tls_org(req, i)); i++)
		json_array_append_new(orgs, json_string(o));
	json_object_set_new(v, "cn", httpd_req_tls_cn(req) ? json_string(httpd_req_tls_cn(req)) : json_null());
	json_object_set_new(v, "orgs", orgs);
	json_object_set_new(v, "tls", json_boolean(httpd_req_is_tls(req)));
	httpd_respond_json(req, 200, v);
	json_decref(v);
}

static void tls_setup(void)
{
	char cert[256], key[256];
	char *ca = NULL;
	snprintf(cert, sizeof(cert), "%s/srv.pem", tlsdir);
	snprintf(key, sizeof(key), "%s/srv.key", tlsdir);
	ca = slurp("ca.pem");
	struct httpd_config cfg = {.tls_cert_file = cert, .tls_key_file = key, .tls_client_ca_pem = ca};
	ck_assert_msg(httpd_new(&cfg, &srv) == 0, "%s", err_msg());
	free(ca);
	ck_assert_int_eq(httpd_route(srv, "GET", "/whoami", whoami_handler, NULL), 0);
	ck_assert_msg(httpd_start(srv) == 0, "%s", err_msg());
	snprintf(base, sizeof(base), "https://127.0.0.1:%u", httpd_port(srv));
}

static void tls_teardown(void)
{
	httpd_free(srv);
	srv = NULL;
}

static void tls_certs_teardown(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tlsdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* GET /whoami with a client built from the named PEM files (NULL: none). */
static int tls_get(const char *ca, const char *cert, const char *key, struct httpc_resp *r)
{
	char *ca_pem = ca ? slurp(ca) : NULL, *cert_pem = cert ? slurp(cert) : NULL, *key_pem = key ? slurp(key) : NULL;
	struct httpc_config ccfg = {.ca_pem = ca_pem, .client_cert_pem = cert_pem, .client_key_pem = key_pem,
				    .timeout_ms = 5000};
	struct httpc *c;
	struct httpc_req req = {0};
	int rc;
	ck_assert_int_eq(httpc_new(&ccfg, &c), 0);
	rc = request_on(c, &req, "/whoami", r);
	httpc_free(c);
	free(ca_pem);
	free(cert_pem);
	free(key_pem);
	return rc;
}

START_TEST(tls_serves_a_client_that_trusts_the_ca)
{
	struct httpc_resp r;
	ck_assert_msg(tls_get("ca.pem", NULL, NULL, &r) == 0, "%s", err_msg());
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body.ptr, "{\"cn\":null,\"orgs\":[],\"tls\":true}");
	httpc_resp_release(&r);
}
END_TEST

START_TEST(tls_insecure_client_skips_verification)
{
	struct httpc_config cfg = {.insecure_skip_verify = true};
	struct httpc *c;
	struct httpc_resp r;
	struct httpc_req req = {0};
	ck_assert_int_eq(httpc_new(&cfg, &c), 0);
	ck_assert_msg(request_on(c, &req, "/whoami", &r) == 0, "%s", err_msg());
	ck_assert_int_eq(r.status, 200);
	httpc_resp_release(&r);
	httpc_free(c);
}
END_TEST

START_TEST(tls_client_without_the_ca_refuses_the_server)
{
	struct httpc_resp r;
	ck_assert_int_eq(tls_get("other.pem", NULL, NULL, &r), BERR_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(err_msg(), "127.0.0.1"));
	httpc_resp_release(&r);
}
END_TEST

START_TEST(tls_server_name_sets_the_name_verified)
{
	char *ca = slurp("ca.pem");
	struct httpc_config ok_cfg = {.ca_pem = ca, .tls_server_name = "kubernetes.default.svc"};
	struct httpc_config bad_cfg = {.ca_pem = ca, .tls_server_name = "elsewhere.example"};
	struct httpc *c;
	struct httpc_resp r;
	char url[256];
	struct httpc_req req = {0};
	snprintf(url, sizeof(url), "%s/whoami", base);
	req.url = url;
	httpc_resp_init(&r);
	ck_assert_int_eq(httpc_new(&ok_cfg, &c), 0);
	ck_assert_msg(httpc_request(c, &req, &r) == 0, "%s", err_msg());
	ck_assert_int_eq(r.status, 200);
	httpc_free(c);
	ck_assert_int_eq(httpc_new(&bad_cfg, &c), 0);
	ck_assert_int_eq(httpc_request(c, &req, &r), BERR_UNAVAILABLE);
	/* Refused for the certificate's names, not for a failed lookup. */
	ck_assert_msg(strstr(err_msg(), "elsewhere.example") && !strstr(err_msg(), "resolve"), "%s", err_msg());
	httpc_free(c);
	httpc_resp_release(&r);
	free(ca);
}
END_TEST

START_TEST(tls_client_certificate_subject_reaches_the_handler)
{
	struct httpc_resp r;
	ck_assert_msg(tls_get("ca.pem", "cli.pem", "cli.key", &r) == 0, "%s", err_msg());
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body.ptr, "{\"cn\":\"alice\",\"orgs\":[\"devs\",\"admins\"],\"tls\":true}");
	httpc_resp_release(&r);
}
END_TEST

START_TEST(tls_keep_alive_reuses_one_connection)
{
	char *ca = slurp("ca.pem"), *cert = slurp("cli.pem"), *key = slurp("cli.key");
	struct httpc_config cfg = {.ca_pem = ca, .client_cert_pem = cert, .client_key_pem = key};
	struct httpc *c;
	struct httpc_resp r;
	struct httpd_stats st;
	char url[256];
	struct httpc_req req = {0};
	snprintf(url, sizeof(url), "%s/whoami", base);
	req.url = url;
	httpc_resp_init(&r);
	ck_assert_int_eq(httpc_new(&cfg, &c), 0);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(httpc_request(c, &req, &r), 0);
		ck_assert_int_eq(r.status, 200);
	}
	httpd_get_stats(srv, &st);
	ck_assert_uint_eq(st.connections_total, 1);
	httpc_free(c);
	httpc_resp_release(&r);
	free(ca);
	free(cert);
	free(key);
}
END_TEST

START_TEST(tls_untrusted_client_certificate_is_refused)
{
	struct httpc_resp r;
	ck_assert_msg(tls_get("ca.pem", "bad.pem", "bad.key", &r) == 0, "%s", err_msg());
	ck_assert_int_eq(r.status, 401);
	ck_assert_ptr_null(strstr(r.body.ptr, "mallory"));
	httpc_resp_release(&r);
}
END_TEST

START_TEST(tls_certificate_not_meant_for_clients_is_refused)
{
	/* The server's own certificate is signed by the trusted CA but its
	 * extended key usage is serverAuth only. */
	struct httpc_resp r;
	ck_assert_msg(tls_get("ca.pem", "srv.pem", "srv.key", &r) == 0, "%s", err_msg());
	ck_assert_int_eq(r.status, 401);
	httpc_resp_release(&r);
}
END_TEST

START_TEST(tls_required_client_certificate_missing_is_refused)
{
	char cert[256], key[256];
	char *ca = slurp("ca.pem");
	struct httpc_resp r;
	httpd_free(srv);
	snprintf(cert, sizeof(cert), "%s/srv.pem", tlsdir);
	snprintf(key, sizeof(key), "%s/srv.key", tlsdir);
	struct httpd_config cfg = {.tls_cert_file = cert, .tls_key_file = key, .tls_client_ca_pem = ca,
				   .tls_client_cert_required = true};
	ck_assert_int_eq(httpd_new(&cfg, &srv), 0);
	free(ca);
	ck_assert_int_eq(httpd_route(srv, "GET", "/whoami", whoami_handler, NULL), 0);
	ck_assert_int_eq(httpd_start(srv), 0);
	snprintf(base, sizeof(base), "https://127.0.0.1:%u", httpd_port(srv));
	ck_assert_int_eq(tls_get("ca.pem", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	httpc_resp_release(&r);
	ck_assert_int_eq(tls_get("ca.pem", "cli.pem", "cli.key", &r), 0);
	ck_assert_int_eq(r.status, 200);
	httpc_resp_release(&r);
}
END_TEST

START_TEST(tls_key_without_certificate_is_invalid)
{
	struct httpd *s2;
	struct httpd_config cfg = {.tls_key_pem = "x"};
	ck_assert_int_eq(httpd_new(&cfg, &s2), BERR_INVALID);
	struct httpd_config cfg2 = {.tls_cert_file = "/nonexistent/cert.pem", .tls_key_file = "/nonexistent/k"};
	ck_assert_int_eq(httpd_new(&cfg2, &s2), BERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err_msg(), "/nonexistent/cert.pem"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("httpd");
	TCase *tc = tcase_create("basics");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, route_table_case, 0, sizeof(route_cases) / sizeof(*route_cases));
	tcase_add_test(tc, unknown_path_gets_404_json_error);
	tcase_add_test(tc, known_path_with_wrong_method_gets_405_and_allow);
	tcase_add_test(tc, head_is_served_by_the_get_route_without_body);
	tcase_add_test(tc, catch_all_route_and_fallback);
	tcase_add_test(tc, tail_parameter_decodes_every_byte);
	tcase_add_test(tc, malformed_route_patterns_are_refused);
	tcase_add_test(tc, bad_percent_encoding_gets_400);
	tcase_add_test(tc, query_is_decoded_and_repeated_keys_kept);
	tcase_add_test(tc, content_type_match_ignores_case_and_parameters);
	tcase_add_test(tc, json_body_round_trips);
	tcase_add_test(tc, body_at_the_limit_is_accepted);
	tcase_add_test(tc, body_over_the_limit_gets_413_before_it_is_read);
	tcase_add_test(tc, chunked_body_over_the_limit_gets_413);
	tcase_add_test(tc, oversized_headers_are_refused);
	tcase_add_test(tc, idle_client_is_disconnected);
	tcase_add_test(tc, client_trickling_headers_is_cut_off);
	tcase_add_test(tc, response_headers_are_sent_and_injection_refused);
	tcase_add_test(tc, handler_without_answer_gets_500);
	tcase_add_test(tc, response_the_library_refuses_becomes_500);
	tcase_add_test(tc, keep_alive_reuses_one_connection);
	tcase_add_test(tc, stats_count_errors_and_render_as_prometheus);
	tcase_add_test(tc, access_log_line_names_method_path_status_and_peer);
	tcase_add_test(tc, garbage_requests_get_errors_and_the_server_keeps_serving);
	tcase_add_test(tc, connections_past_the_limit_are_refused);
	tcase_add_test(tc, connections_past_the_per_address_limit_are_refused);
	tcase_add_test(tc, listen_accepts_any_interface_and_host_names);
	tcase_add_test(tc, listen_on_a_busy_port_fails_with_unavailable);
	suite_add_tcase(s, tc);

	TCase *ts = tcase_create("streams");
	tcase_add_checked_fixture(ts, stream_setup, teardown);
	tcase_set_timeout(ts, 30);
	tcase_add_test(ts, stream_lines_split_at_odd_places_arrive_whole);
	tcase_add_test(ts, stream_headers_arrive_before_any_data);
	tcase_add_test(ts, slow_client_stream_is_closed_without_memory_growth);
	tcase_add_test(ts, client_going_away_ends_the_stream);
	tcase_add_test(ts, stop_ends_open_streams_and_returns);
	suite_add_tcase(s, ts);

	TCase *tt = tcase_create("tls");
	tcase_add_unchecked_fixture(tt, make_certs, tls_certs_teardown);
	tcase_add_checked_fixture(tt, tls_setup, tls_teardown);
	tcase_set_timeout(tt, 30);
	tcase_add_test(tt, tls_serves_a_client_that_trusts_the_ca);
	tcase_add_test(tt, tls_insecure_client_skips_verification);
	tcase_add_test(tt, tls_client_without_the_ca_refuses_the_server);
	tcase_add_test(tt, tls_server_name_sets_the_name_verified);
	tcase_add_test(tt, tls_client_certificate_subject_reaches_the_handler);
	tcase_add_test(tt, tls_keep_alive_reuses_one_connection);
	tcase_add_test(tt, tls_untrusted_client_certificate_is_refused);
	tcase_add_test(tt, tls_certificate_not_meant_for_clients_is_refused);
	tcase_add_test(tt, tls_required_client_certificate_missing_is_refused);
	tcase_add_test(tt, tls_key_without_certificate_is_invalid);
	suite_add_tcase(s, tt);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : 0;
}
