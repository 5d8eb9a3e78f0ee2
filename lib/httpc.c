/*
 * httpc — see httpc.h. Design notes:
 *
 * - Connection reuse: curl keeps live connections in each easy handle's
 *   cache, so the client keeps a pool of idle easy handles; a request takes
 *   one (or makes one), resets its options (curl_easy_reset keeps the
 *   connections) and puts it back. A CURLSH shares DNS and TLS sessions
 *   between them. We do not share the connection cache itself across
 *   threads: the pool gives the same reuse without that lock contention.
 * - Response headers are stored in resp->headers as "name\0value\0" pairs,
 *   reset at every status line, so the last response of a sequence wins.
 * - Lines: body bytes go into a bounded partial-line buffer; each '\n'
 *   hands a NUL-terminated line to the caller. A callback that wants to stop
 *   makes the write callback return 0, which curl reports as a write error;
 *   the stored code is returned instead.
 */
#include "httpc.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "err.h"
#include "str.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_TIMEOUT_MS 60000
#define DEFAULT_MAX_RESPONSE ((size_t)64 << 20)
#define DEFAULT_MAX_IDLE 16u
#define DEFAULT_BASE_DELAY_MS 200
#define DEFAULT_MAX_DELAY_MS 10000
#define DEFAULT_MAX_RETRY_AFTER_MS 30000
#define DEFAULT_IDLE_TIMEOUT_MS 60000
#define DEFAULT_MAX_LINE ((size_t)16 << 20)
#define MAX_ERROR_BODY ((size_t)1 << 20)
#define MAX_HEADER_BYTES ((size_t)256 << 10)
#define USER_AGENT "berth/0.1"

struct httpc {
	char *ca_pem;
	pthread_mutex_t cert_mu;     /* cert_pem, key_pem, cert_gen */
	char *cert_pem, *key_pem;
	unsigned cert_gen;           /* bumped by httpc_set_client_cert */
	bool insecure;
	char **headers;
	size_t nheaders;
	char *user_agent;
	char *server_name;
	int64_t connect_timeout_ms, timeout_ms;
	size_t max_response;
	unsigned max_idle;
	struct httpc_retry retry;

	CURLSH *share;
	pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];

	pthread_mutex_t pool_mu;
	CURL **idle;
	size_t nidle;
};

/* What the curl callbacks of one transfer write into. */
struct transfer {
	CURL *easy;
	struct httpc_resp *resp;
	bool too_large;
	/* line mode */
	bool lines;
	bool status_checked;
	bool error_body;     /* non-2xx: collect the body instead of lines */
	httpc_line_fn on_line;
	void *userdata;
	struct buf partial;
	int stop_rc;         /* what the line callback asked to stop with */
	/* tls_server_name: the URL with the host replaced, and where to
	 * really connect */
	char *url_override;
	struct curl_slist *connect_to;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ------------------------------------------------------------- responses */

void httpc_resp_init(struct httpc_resp *resp)
{
	resp->status = 0;
	resp->attempts = 0;
	resp->http_version = 0;
	buf_init(&resp->body, DEFAULT_MAX_RESPONSE);
	buf_init(&resp->headers, MAX_HEADER_BYTES);
}

void httpc_resp_release(struct httpc_resp *resp)
{
	buf_release(&resp->body);
	buf_release(&resp->headers);
	resp->status = 0;
}

const char *httpc_resp_header_nth(const struct httpc_resp *resp, const char *name, size_t n)
{
	const char *p = resp->headers.ptr, *end = resp->headers.ptr + resp->headers.len;
	while (p < end) {
		const char *value = p + strlen(p) + 1;
		if (value >= end)
			break;
		if (strcasecmp(p, name) == 0 && n-- == 0)
			return value;
		p = value + strlen(value) + 1;
	}
	return NULL;
}

const char *httpc_resp_header(const struct httpc_resp *resp, const char *name)
{
	return httpc_resp_header_nth(resp, name, 0);
}

void httpc_url_redact(const char *url, char *out, size_t size)
{
	const char *scheme = strstr(url, "://");
	const char *auth, *auth_end, *at = NULL;
	struct buf b;
	if (!scheme) {
		str_copy(out, url, size);
		return;
	}
	auth = scheme + 3;
	auth_end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < auth_end; p++)
		if (*p == '@')
			at = p;
	if (!at) {
		str_copy(out, url, size);
		return;
	}
	buf_init(&b, strlen(url));
	if (buf_append(&b, url, (size_t)(auth - url)) < 0 || buf_puts(&b, at + 1) < 0)
		buf_reset(&b);
	str_copy(out, b.ptr, size);  /* truncates to fit */
	buf_release(&b);
}

/* ----------------------------------------------------------- the client */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	struct httpc *c = ud;
	(void)h;
	(void)access;
	pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
	struct httpc *c = ud;
	(void)h;
	pthread_mutex_unlock(&c->share_mu[data]);
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void httpc_free(struct httpc *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	free(c->idle);
	pthread_mutex_destroy(&c->cert_mu);
	if (c->share)
		curl_share_cleanup(c->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_mu[i]);
	pthread_mutex_destroy(&c->pool_mu);
	free(c->ca_pem);
	free(c->cert_pem);
	free_secret(c->key_pem);
	for (size_t i = 0; i < c->nheaders; i++)
		free_secret(c->headers[i]);
	free(c->headers);
	free(c->user_agent);
	free(c->server_name);
	free(c);
}

static bool dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return true;
	*out = strdup(s);
	return *out != NULL;
}

int httpc_new(const struct httpc_config *cfg, struct httpc **ret)
{
	struct httpc *c;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return err_set(BERR_INTERNAL, "http client: curl_global_init failed");
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(BERR_NOMEM, "out of memory");
	pthread_mutex_init(&c->pool_mu, NULL);
	pthread_mutex_init(&c->cert_mu, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_mu[i], NULL);
	if (!dup_opt(cfg->ca_pem, &c->ca_pem) || !dup_opt(cfg->client_cert_pem, &c->cert_pem) ||
	    !dup_opt(cfg->client_key_pem, &c->key_pem) ||
	    !dup_opt(cfg->user_agent ? cfg->user_agent : USER_AGENT, &c->user_agent) ||
	    !dup_opt(cfg->tls_server_name, &c->server_name))
		goto nomem;
	if (!c->cert_pem != !c->key_pem) {
		httpc_free(c);
		return err_set(BERR_INVALID, "http client: a client certificate needs a key and a key a certificate");
	}
	for (const char *const *h = cfg->headers; h && *h; h++) {
		char **grown = realloc(c->headers, (c->nheaders + 1) * sizeof(*grown));
		if (!grown)
			goto nomem;
		c->headers = grown;
		if (!(c->headers[c->nheaders] = strdup(*h)))
			goto nomem;
		c->nheaders++;
	}
	c->insecure = cfg->insecure_skip_verify;
	c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->max_response = cfg->max_response_bytes ? cfg->max_response_bytes : DEFAULT_MAX_RESPONSE;
	c->max_idle = cfg->max_idle_handles ? cfg->max_idle_handles : DEFAULT_MAX_IDLE;
	c->retry = cfg->retry;
	if (c->retry.base_delay_ms <= 0)
		c->retry.base_delay_ms = DEFAULT_BASE_DELAY_MS;
	if (c->retry.max_delay_ms <= 0)
		c->retry.max_delay_ms = DEFAULT_MAX_DELAY_MS;
	if (c->retry.max_retry_after_ms <= 0)
		c->retry.max_retry_after_ms = DEFAULT_MAX_RETRY_AFTER_MS;
	if (c->retry.max_attempts == 0)
		c->retry.max_attempts = 1;

	c->idle = calloc(c->max_idle, sizeof(*c->idle));
	c->share = curl_share_init();
	if (!c->idle || !c->share)
		goto nomem;
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	*ret = c;
	return 0;
nomem:
	httpc_free(c);
	return err_set(BERR_NOMEM, "out of memory");
}

static unsigned cert_gen(struct httpc *c)
{
	pthread_mutex_lock(&c->cert_mu);
	unsigned g = c->cert_gen;
	pthread_mutex_unlock(&c->cert_mu);
	return g;
}

/* An idle handle (its connections) or a new one; *gen receives the client
 * certificate generation it will be set up with. */
static CURL *pool_get(struct httpc *c, unsigned *gen)
{
	CURL *easy = NULL;
	*gen = cert_gen(c);
	pthread_mutex_lock(&c->pool_mu);
	if (c->nidle > 0)
		easy = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->pool_mu);
	if (easy)
		curl_easy_reset(easy);
	else
		easy = curl_easy_init();
	return easy;
}

/* Keeps easy (and its connections) for reuse, unless its connections were
 * made with a client certificate replaced since (gen). */
static void pool_put(struct httpc *c, CURL *easy, unsigned gen)
{
	bool current = gen == cert_gen(c);
	pthread_mutex_lock(&c->pool_mu);
	if (current && c->nidle < c->max_idle) {
		c->idle[c->nidle++] = easy;
		easy = NULL;
	}
	pthread_mutex_unlock(&c->pool_mu);
	if (easy)
		curl_easy_cleanup(easy);
}

int httpc_set_client_cert(struct httpc *c, const char *cert_pem, const char *key_pem)
{
	char *cert = NULL, *key = NULL, *old_cert, *old_key;
	CURL **drop = NULL;
	size_t ndrop = 0;
	if (!cert_pem != !key_pem)
		return err_set(BERR_INVALID, "http client: a client certificate needs a key and a key a certificate");
	if ((cert_pem && !(cert = strdup(cert_pem))) || (key_pem && !(key = strdup(key_pem)))) {
		free(cert);
		return err_set(BERR_NOMEM, "out of memory");
	}
	pthread_mutex_lock(&c->cert_mu);
	old_cert = c->cert_pem;
	old_key = c->key_pem;
	c->cert_pem = cert;
	c->key_pem = key;
	c->cert_gen++;
	pthread_mutex_unlock(&c->cert_mu);
	free(old_cert);
	free_secret(old_key);
	/* Idle connections were authenticated with the old certificate. */
	pthread_mutex_lock(&c->pool_mu);
	if (c->nidle && (drop = malloc(c->nidle * sizeof(*drop)))) {
		memcpy(drop, c->idle, c->nidle * sizeof(*drop));
		ndrop = c->nidle;
		c->nidle = 0;
	}
	pthread_mutex_unlock(&c->pool_mu);
	for (size_t i = 0; i < ndrop; i++)
		curl_easy_cleanup(drop[i]);
	free(drop);
	return 0;
}

/* ------------------------------------------------------------- transfers */

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct transfer *t = ud;
	size_t n = size * nmemb, len = n;
	const char *colon;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		buf_reset(&t->resp->headers);  /* a new response (after 100, a redirect) */
		return n;
	}
	colon = memchr(data, ':', len);
	if (!colon)
		return n;
	size_t vstart = (size_t)(colon - data) + 1;
	while (vstart < len && (data[vstart] == ' ' || data[vstart] == '\t'))
		vstart++;
	if (buf_append(&t->resp->headers, data, (size_t)(colon - data)) < 0 ||
	    buf_putc(&t->resp->headers, '\0') < 0 ||
	    buf_append(&t->resp->headers, data + vstart, len - vstart) < 0 ||
	    buf_putc(&t->resp->headers, '\0') < 0) {
		t->too_large = true;
		return 0;
	}
	return n;
}

static int deliver_lines(struct transfer *t, const char *data, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		if (buf_append(&t->partial, data, take) < 0) {
			t->too_large = true;
			return BERR_TOOLARGE;
		}
		if (!nl)
			break;
		int rc = t->on_line(t->partial.ptr, t->partial.len, t->userdata);
		buf_reset(&t->partial);
		if (rc != 0) {
			t->stop_rc = rc < 0 ? rc : BERR_CANCELED;
			return t->stop_rc;
		}
		data = nl + 1;
		n -= take + 1;
	}
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct transfer *t = ud;
	size_t n = size * nmemb;
	if (t->lines && !t->status_checked) {
		long status = 0;
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
		t->status_checked = true;
		t->error_body = status < 200 || status > 299;
	}
	if (t->lines && !t->error_body)
		return deliver_lines(t, data, n) < 0 ? 0 : n;
	if (buf_append(&t->resp->body, data, n) < 0) {
		t->too_large = true;
		return 0;
	}
	return n;
}

static bool method_is(const char *m, const char *want)
{
	return strcmp(m, want) == 0;
}

static void transfer_clear_target(struct transfer *t)
{
	if (t->easy)
		curl_easy_setopt(t->easy, CURLOPT_CONNECT_TO, NULL);
	curl_slist_free_all(t->connect_to);
	t->connect_to = NULL;
	free(t->url_override);
	t->url_override = NULL;
}

/* With tls_server_name: the request goes to url's host and port, but the
 * URL (and so SNI, certificate verification and Host) names server_name.
 * curl's CONNECT_TO maps one to the other. */
static int aim_at_server_name(struct httpc *c, struct transfer *t, const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *aimed = NULL, *entry = NULL;
	int rc = 0;
	if (!u)
		return err_set(BERR_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, c->server_name, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &aimed, 0) != CURLUE_OK) {
		char shown[512];
		httpc_url_redact(url, shown, sizeof(shown));
		rc = err_set(BERR_INVALID, "%s: not a URL usable with tls server name \"%s\"", shown,
			     c->server_name);
		goto out;
	}
	entry = str_printf("%s:%s:%s:%s", c->server_name, port, host, port);
	t->url_override = str_dup(aimed);
	if (!entry || !t->url_override || !(t->connect_to = curl_slist_append(NULL, entry))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	curl_easy_setopt(t->easy, CURLOPT_CONNECT_TO, t->connect_to);
out:
	free(entry);
	curl_free(host);
	curl_free(port);
	curl_free(aimed);
	curl_url_cleanup(u);
	return rc;
}

/* TLS material from the client's settings (curl copies the blobs). */
static void setup_tls(struct httpc *c, CURL *e)
{
	if (c->ca_pem) {
		struct curl_blob blob = {c->ca_pem, strlen(c->ca_pem), CURL_BLOB_COPY};
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	}
	pthread_mutex_lock(&c->cert_mu);
	if (c->cert_pem) {
		struct curl_blob cert = {c->cert_pem, strlen(c->cert_pem), CURL_BLOB_COPY};
		struct curl_blob key = {c->key_pem, strlen(c->key_pem), CURL_BLOB_COPY};
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	pthread_mutex_unlock(&c->cert_mu);
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

/* Sets every option of one transfer on easy (after a reset). */
static int setup(struct httpc *c, struct transfer *t, const struct httpc_req *req,
		 struct curl_slist **ret_headers, char *errbuf, bool copy_body)
{
	CURL *e = t->easy;
	const char *method = req->method ? req->method : "GET";
	struct curl_slist *hl = NULL, *tmp;
	char ctype[512];
	int rc;

	transfer_clear_target(t);
	if (c->server_name && (rc = aim_at_server_name(c, t, req->url)) < 0)
		return rc;
	curl_easy_setopt(e, CURLOPT_URL, t->url_override ? t->url_override : req->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SHARE, c->share);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	setup_tls(c, e);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);

	if (method_is(method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (req->body || method_is(method, "POST") || method_is(method, "PUT") ||
		   method_is(method, "PATCH")) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		if (copy_body)
			curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? (const char *)req->body : "");
		else
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
		if (!method_is(method, "POST"))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	} else if (!method_is(method, "GET")) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}

	for (size_t i = 0; i < c->nheaders; i++) {
		if (!(tmp = curl_slist_append(hl, c->headers[i])))
			goto nomem;
		hl = tmp;
	}
	for (const char *const *h = req->headers; h && *h; h++) {
		if (!(tmp = curl_slist_append(hl, *h)))
			goto nomem;
		hl = tmp;
	}
	if (req->content_type) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", req->content_type);
		if (!(tmp = curl_slist_append(hl, ctype)))
			goto nomem;
		hl = tmp;
	}
	if (!(tmp = curl_slist_append(hl, "Expect:")))
		goto nomem;
	hl = tmp;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
	*ret_headers = hl;
	return 0;
nomem:
	curl_slist_free_all(hl);
	return err_set(BERR_NOMEM, "out of memory");
}

/* Maps the outcome of a finished transfer to a BERR code with a message. */
static int transfer_result(struct transfer *t, CURLcode cc, const struct httpc_req *req, const char *errbuf)
{
	char url[512];
	const char *method = req->method ? req->method : "GET";
	int code;
	if (cc == CURLE_OK)
		return 0;
	httpc_url_redact(req->url, url, sizeof(url));
	if (t->stop_rc < 0 && (cc == CURLE_WRITE_ERROR))
		return t->stop_rc;
	if (t->too_large) {
		if (t->lines && !t->error_body)
			return err_set(BERR_TOOLARGE, "%s %s: a line is longer than %zu bytes", method, url,
				       t->partial.max);
		return err_set(BERR_TOOLARGE, "%s %s: response larger than %zu bytes", method, url,
			       t->resp->body.max);
	}
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		code = BERR_TIMEOUT;
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		code = BERR_INVALID;
		break;
	case CURLE_OUT_OF_MEMORY:
		code = BERR_NOMEM;
		break;
	default:
		code = BERR_UNAVAILABLE;
		break;
	}
	return err_set(code, "%s %s: %s", method, url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

static int http_version(CURL *easy)
{
	long v = 0;
	curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &v);
	switch (v) {
	case CURL_HTTP_VERSION_1_0:
		return 10;
	case CURL_HTTP_VERSION_1_1:
		return 11;
	case CURL_HTTP_VERSION_2_0:
		return 20;
	case CURL_HTTP_VERSION_3:
		return 30;
	default:
		return 0;
	}
}

/* One attempt; fills t->resp. 0 when an HTTP response arrived. */
static int perform(struct httpc *c, struct transfer *t, const struct httpc_req *req, int64_t timeout_ms,
		   int64_t low_speed_ms)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hl = NULL;
	CURLcode cc;
	int rc;

	if (!req->url)
		return err_set(BERR_INVALID, "http request without a URL");
	if ((rc = setup(c, t, req, &hl, errbuf, false)) < 0) {
		curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, NULL);
		transfer_clear_target(t);
		return rc;
	}
	if (timeout_ms > 0)
		curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	if (low_speed_ms > 0) {
		curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_TIME, (long)((low_speed_ms + 999) / 1000));
	}
	cc = curl_easy_perform(t->easy);
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->resp->status);
	t->resp->http_version = http_version(t->easy);
	rc = transfer_result(t, cc, req, errbuf);
	if (rc == 0 && t->lines && !t->error_body && t->partial.len > 0 && t->status_checked) {
		int lrc = t->on_line(t->partial.ptr, t->partial.len, t->userdata);
		buf_reset(&t->partial);
		if (lrc != 0)
			rc = lrc < 0 ? lrc : BERR_CANCELED;
	}
	/* Nothing of this call's stack may stay attached to a pooled handle
	 * (curl may report to the error buffer while closing connections). */
	curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	transfer_clear_target(t);
	return rc;
}

static bool method_idempotent(const char *m)
{
	return method_is(m, "GET") || method_is(m, "HEAD") || method_is(m, "OPTIONS") ||
	       method_is(m, "PUT") || method_is(m, "DELETE");
}

/* The wait a Retry-After header asks for, in ms; -1 when absent or bad. */
static int64_t retry_after_ms(const struct httpc_resp *resp)
{
	const char *v = httpc_resp_header(resp, "Retry-After");
	uint64_t secs;
	time_t when;
	if (!v)
		return -1;
	if (str_to_u64(v, &secs) == 0)
		return secs > INT64_MAX / 1000 ? INT64_MAX : (int64_t)secs * 1000;
	when = curl_getdate(v, NULL);
	if (when < 0)
		return -1;
	int64_t ms = (int64_t)when * 1000 - clock_wall_ms();
	return ms < 0 ? 0 : ms;
}

static int64_t backoff_ms(const struct httpc_retry *r, unsigned attempt)
{
	int64_t d = r->base_delay_ms;
	for (unsigned i = 1; i < attempt && d < r->max_delay_ms; i++)
		d *= 2;
	if (d > r->max_delay_ms)
		d = r->max_delay_ms;
	if (!r->no_jitter && d > 1)
		d += (int64_t)arc4random_uniform((uint32_t)(d / 2 > UINT32_MAX ? UINT32_MAX : d / 2));
	return d;
}

/* True when the last transfer did not get as far as a connection (a
 * connect timeout: safe to retry, nothing reached the server). */
static bool never_connected(CURL *easy)
{
	curl_off_t t = 0;
	return curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK && t == 0;
}

static bool status_retryable(const struct httpc_retry *r, long status)
{
	if (status == 429 || status == 503)
		return true;
	return r->retry_5xx && (status == 500 || status == 502 || status == 504);
}

int httpc_request(struct httpc *c, const struct httpc_req *req, struct httpc_resp *resp)
{
	const char *method = req->method ? req->method : "GET";
	bool idempotent = method_idempotent(method);
	bool may_retry = req->retry_unsafe || idempotent;
	/* Non-idempotent and only when rejected unprocessed (httpc.h). */
	bool rejected_only = !idempotent && req->retry_unsafe_rejected_only;
	int64_t timeout = req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms;
	struct transfer t = {0};
	unsigned gen;
	struct httpc_resp tmp;
	unsigned attempt = 0;
	int rc;

	t.easy = pool_get(c, &gen);
	if (!t.easy)
		return err_set(BERR_NOMEM, "out of memory");
	httpc_resp_init(&tmp);
	tmp.body.max = req->max_response_bytes ? req->max_response_bytes : c->max_response;
	t.resp = &tmp;
	for (;;) {
		int64_t wait;
		attempt++;
		buf_reset(&tmp.body);
		buf_reset(&tmp.headers);
		tmp.status = 0;
		t.too_large = false;
		if (attempt > 1)
			curl_easy_reset(t.easy);
		rc = perform(c, &t, req, timeout, 0);
		if (attempt >= c->retry.max_attempts || !may_retry)
			break;
		if ((rc == BERR_UNAVAILABLE && !rejected_only) ||
		    ((rc == BERR_UNAVAILABLE || rc == BERR_TIMEOUT) && never_connected(t.easy)))
			wait = backoff_ms(&c->retry, attempt);
		else if (rc == 0 && status_retryable(&c->retry, tmp.status)) {
			wait = retry_after_ms(&tmp);
			if (rejected_only && tmp.status != 429 && wait < 0)
				break; /* a bare 5xx: the write may have been applied */
			if (wait < 0)
				wait = backoff_ms(&c->retry, attempt);
			else if (wait > c->retry.max_retry_after_ms)
				wait = c->retry.max_retry_after_ms;
		} else
			break;
		clock_sleep_ms(wait);
	}
	pool_put(c, t.easy, gen);
	if (rc < 0) {
		httpc_resp_release(&tmp);
		return rc;
	}
	tmp.attempts = attempt;
	httpc_resp_release(resp);
	*resp = tmp;
	return 0;
}

/* The stream idle timeout in ms; 0 when disabled. */
static int64_t idle_timeout(const struct httpc_req *req)
{
	if (req->idle_timeout_ms < 0)
		return 0;
	return req->idle_timeout_ms > 0 ? req->idle_timeout_ms : DEFAULT_IDLE_TIMEOUT_MS;
}

int httpc_stream_lines(struct httpc *c, const struct httpc_req *req, httpc_line_fn on_line,
		       void *userdata, struct httpc_resp *resp)
{
	struct transfer t = {0};
	unsigned gen;
	struct httpc_resp local;
	int rc;

	t.easy = pool_get(c, &gen);
	if (!t.easy)
		return err_set(BERR_NOMEM, "out of memory");
	httpc_resp_init(&local);
	local.body.max = MAX_ERROR_BODY;
	t.resp = &local;
	t.lines = true;
	t.on_line = on_line;
	t.userdata = userdata;
	buf_init(&t.partial, req->max_line_bytes ? req->max_line_bytes : DEFAULT_MAX_LINE);
	rc = perform(c, &t, req, 0, idle_timeout(req));
	local.attempts = 1;
	/* A connection cut off by the server mid-stream is not reusable; a
	 * handle that saw an error is dropped rather than pooled. */
	if (rc == 0)
		pool_put(c, t.easy, gen);
	else
		curl_easy_cleanup(t.easy);
	buf_release(&t.partial);
	if (resp && (rc == 0 || local.status != 0)) {
		httpc_resp_release(resp);
		*resp = local;
	} else {
		httpc_resp_release(&local);
	}
	return rc;
}

/* ---------------------------------------------------------- multiplexer */

struct httpc_mux_stream {
	struct httpc_mux *mux;
	struct httpc_mux_stream *next, *prev;
	struct transfer t;
	struct httpc_resp resp;
	struct curl_slist *headers;
	char *url, *method;
	httpc_done_fn on_done;
	bool in_multi;
	atomic_bool cancel;
	char errbuf[CURL_ERROR_SIZE];
	struct httpc_req req;  /* url and method point into this stream */
};

struct httpc_mux {
	struct httpc *c;
	CURLM *multi;
	pthread_mutex_t mu;
	struct httpc_mux_stream *pending;  /* added, not yet in the multi handle */
	struct httpc_mux_stream *active;   /* in the multi handle; mux thread only */
	size_t count;
	atomic_bool interrupt;
	atomic_bool stop;
	pthread_t thread;
	bool thread_started;
};

static void list_push(struct httpc_mux_stream **head, struct httpc_mux_stream *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
}

static void list_remove(struct httpc_mux_stream **head, struct httpc_mux_stream *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static void mux_stream_free(struct httpc_mux_stream *s)
{
	if (s->t.easy)
		curl_easy_cleanup(s->t.easy);
	s->t.easy = NULL;
	transfer_clear_target(&s->t);
	curl_slist_free_all(s->headers);
	buf_release(&s->t.partial);
	httpc_resp_release(&s->resp);
	free(s->url);
	free(s->method);
	free(s);
}

/* Ends s (already out of every list and the multi handle): on_done, free. */
static void mux_finish(struct httpc_mux *m, struct httpc_mux_stream *s, int rc)
{
	if (s->t.easy) {
		curl_easy_getinfo(s->t.easy, CURLINFO_RESPONSE_CODE, &s->resp.status);
		s->resp.http_version = http_version(s->t.easy);
	}
	s->resp.attempts = 1;
	if (s->on_done)
		s->on_done(rc, &s->resp, s->t.userdata);
	mux_stream_free(s);
	pthread_mutex_lock(&m->mu);
	m->count--;
	pthread_mutex_unlock(&m->mu);
}

int httpc_mux_new(struct httpc *c, struct httpc_mux **ret)
{
	struct httpc_mux *m = calloc(1, sizeof(*m));
	if (!m)
		return err_set(BERR_NOMEM, "out of memory");
	m->c = c;
	m->multi = curl_multi_init();
	if (!m->multi) {
		free(m);
		return err_set(BERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&m->mu, NULL);
	*ret = m;
	return 0;
}

int httpc_mux_add_stream(struct httpc_mux *m, const struct httpc_req *req, httpc_line_fn on_line,
			 httpc_done_fn on_done, void *userdata, struct httpc_mux_stream **ret)
{
	struct httpc_mux_stream *s;
	int rc;
	if (!req->url || !on_line)
		return err_set(BERR_INVALID, "mux stream: needs a URL and a line callback");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(BERR_NOMEM, "out of memory");
	s->mux = m;
	s->on_done = on_done;
	httpc_resp_init(&s->resp);
	s->resp.body.max = MAX_ERROR_BODY;
	buf_init(&s->t.partial, req->max_line_bytes ? req->max_line_bytes : DEFAULT_MAX_LINE);
	s->t.resp = &s->resp;
	s->t.lines = true;
	s->t.on_line = on_line;
	s->t.userdata = userdata;
	s->req = *req;
	s->url = strdup(req->url);
	s->method = strdup(req->method ? req->method : "GET");
	s->t.easy = curl_easy_init();
	if (!s->url || !s->method || !s->t.easy) {
		mux_stream_free(s);
		return err_set(BERR_NOMEM, "out of memory");
	}
	s->req.url = s->url;
	s->req.method = s->method;
	s->req.headers = NULL;  /* copied into s->headers by setup */
	s->req.body = NULL;
	if ((rc = setup(m->c, &s->t, req, &s->headers, s->errbuf, true)) < 0) {
		mux_stream_free(s);
		return rc;
	}
	int64_t idle = idle_timeout(req);
	if (idle > 0) {
		curl_easy_setopt(s->t.easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(s->t.easy, CURLOPT_LOW_SPEED_TIME, (long)((idle + 999) / 1000));
	}
	curl_easy_setopt(s->t.easy, CURLOPT_PRIVATE, s);
	/* Hand out the handle before the mux can see the stream: once it is
	 * queued, the mux thread may finish it (and the caller's on_done may
	 * free whatever *ret points into) before this function returns. */
	if (ret)
		*ret = s;
	pthread_mutex_lock(&m->mu);
	list_push(&m->pending, s);
	m->count++;
	pthread_mutex_unlock(&m->mu);
	curl_multi_wakeup(m->multi);
	return 0;
}

void httpc_mux_cancel(struct httpc_mux *m, struct httpc_mux_stream *s)
{
	/* Touch s only if it is still ours: a cancel racing the stream's end
	 * must not write to freed memory. */
	pthread_mutex_lock(&m->mu);
	for (struct httpc_mux_stream *x = m->active; x; x = x->next)
		if (x == s)
			atomic_store(&s->cancel, true);
	for (struct httpc_mux_stream *x = m->pending; x; x = x->next)
		if (x == s)
			atomic_store(&s->cancel, true);
	pthread_mutex_unlock(&m->mu);
	curl_multi_wakeup(m->multi);
}

/* Takes s out of the active list (mux thread; the lock keeps
 * httpc_mux_cancel's walk safe). */
static void active_remove(struct httpc_mux *m, struct httpc_mux_stream *s)
{
	pthread_mutex_lock(&m->mu);
	list_remove(&m->active, s);
	pthread_mutex_unlock(&m->mu);
}

void httpc_mux_wakeup(struct httpc_mux *m)
{
	atomic_store(&m->interrupt, true);
	curl_multi_wakeup(m->multi);
}

size_t httpc_mux_count(struct httpc_mux *m)
{
	size_t n;
	pthread_mutex_lock(&m->mu);
	n = m->count;
	pthread_mutex_unlock(&m->mu);
	return n;
}

/* Moves pending streams into the multi handle and ends canceled ones. */
static void mux_admit_and_cancel(struct httpc_mux *m)
{
	struct httpc_mux_stream *s, *next;
	pthread_mutex_lock(&m->mu);
	while ((s = m->pending)) {
		list_remove(&m->pending, s);
		list_push(&m->active, s);
	}
	pthread_mutex_unlock(&m->mu);
	for (s = m->active; s; s = next) {
		next = s->next;
		if (!s->in_multi && !atomic_load(&s->cancel)) {
			if (curl_multi_add_handle(m->multi, s->t.easy) == CURLM_OK) {
				s->in_multi = true;
			} else {
				active_remove(m, s);
				mux_finish(m, s, err_set(BERR_NOMEM, "mux: cannot add a stream"));
			}
			continue;
		}
		if (atomic_load(&s->cancel)) {
			active_remove(m, s);
			if (s->in_multi)
				curl_multi_remove_handle(m->multi, s->t.easy);
			s->in_multi = false;
			mux_finish(m, s, BERR_CANCELED);
		}
	}
}

static void mux_collect_done(struct httpc_mux *m)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(m->multi, &left))) {
		struct httpc_mux_stream *s = NULL;
		CURLcode cc = msg->data.result;
		int rc;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
		if (!s)
			continue;
		curl_multi_remove_handle(m->multi, s->t.easy);
		s->in_multi = false;
		active_remove(m, s);
		curl_easy_getinfo(s->t.easy, CURLINFO_RESPONSE_CODE, &s->resp.status);
		rc = transfer_result(&s->t, cc, &s->req, s->errbuf);
		if (rc == 0 && !s->t.error_body && s->t.partial.len > 0 && s->t.status_checked) {
			int lrc = s->t.on_line(s->t.partial.ptr, s->t.partial.len, s->t.userdata);
			if (lrc != 0)
				rc = lrc < 0 ? lrc : BERR_CANCELED;
		}
		mux_finish(m, s, rc);
	}
}

int httpc_mux_run(struct httpc_mux *m, int timeout_ms)
{
	int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int running;
	for (;;) {
		int64_t left;
		mux_admit_and_cancel(m);
		if (curl_multi_perform(m->multi, &running) != CURLM_OK)
			return err_set(BERR_INTERNAL, "mux: curl_multi_perform failed");
		mux_collect_done(m);
		if (atomic_exchange(&m->interrupt, false))
			break;
		left = deadline - clock_mono_ms();
		if (left <= 0)
			break;
		if (curl_multi_poll(m->multi, NULL, 0, (int)(left > 1000 ? 1000 : left), NULL) != CURLM_OK)
			return err_set(BERR_INTERNAL, "mux: curl_multi_poll failed");
	}
	return (int)httpc_mux_count(m);
}

static void *mux_thread(void *arg)
{
	struct httpc_mux *m = arg;
	while (!atomic_load(&m->stop))
		if (httpc_mux_run(m, 1000) < 0)
			clock_sleep_ms(100);
	return NULL;
}

int httpc_mux_start(struct httpc_mux *m)
{
	if (m->thread_started)
		return err_set(BERR_INVALID, "mux: already started");
	if (pthread_create(&m->thread, NULL, mux_thread, m) != 0)
		return err_set(BERR_NOMEM, "mux: cannot start a thread");
	m->thread_started = true;
	return 0;
}

void httpc_mux_free(struct httpc_mux *m)
{
	struct httpc_mux_stream *s;
	if (!m)
		return;
	if (m->thread_started) {
		atomic_store(&m->stop, true);
		httpc_mux_wakeup(m);
		pthread_join(m->thread, NULL);
	}
	pthread_mutex_lock(&m->mu);
	while ((s = m->pending)) {
		list_remove(&m->pending, s);
		list_push(&m->active, s);
	}
	pthread_mutex_unlock(&m->mu);
	while ((s = m->active)) {
		active_remove(m, s);
		if (s->in_multi)
			curl_multi_remove_handle(m->multi, s->t.easy);
		mux_finish(m, s, BERR_CANCELED);
	}
	curl_multi_cleanup(m->multi);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
