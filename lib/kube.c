/*
 * kube — the client: credentials, the QPS limiter, requests and error
 * mapping (see kube.h). Discovery is in kube_disc.c, watches in
 * kube_watch.c.
 *
 * The Authorization header is sent per request (not baked into the httpc
 * client), so a refreshed token takes effect on the next request without
 * rebuilding connections.
 */
#include "kube.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "jscan.h"
#include "jsonx.h"
#include "kube_int.h"
#include "str.h"

/* ---- last Status per thread ---- */

static pthread_key_t status_key;
static pthread_once_t status_once = PTHREAD_ONCE_INIT;

static void status_free(void *p)
{
	json_decref(p);
}

static void status_key_init(void)
{
	(void)pthread_key_create(&status_key, status_free);
}

static void last_status_set(json_t *st)
{
	pthread_once(&status_once, status_key_init);
	json_t *old = pthread_getspecific(status_key);
	pthread_setspecific(status_key, st);
	json_decref(old);
}

const json_t *kube_last_status(void)
{
	pthread_once(&status_once, status_key_init);
	return pthread_getspecific(status_key);
}

/* ---- helpers ---- */

int kube_query_add(struct buf *url, char *sep, const char *key, const char *value)
{
	int rc;

	if (!value || !*value)
		return 0;
	if ((rc = buf_printf(url, "%c%s=", *sep, key)) < 0 || (rc = buf_put_url_escaped(url, value)) < 0)
		return rc;
	*sep = '&';
	return 0;
}

void kube_count(struct kube_client *kc, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&kc->mu);
	*counter += n;
	pthread_mutex_unlock(&kc->mu);
}

int kube_split_api_version(const char *api_version, char *group, size_t gsize, char *version, size_t vsize)
{
	if (!api_version || !*api_version)
		return err_set(BERR_INVALID, "apiVersion is empty");
	const char *slash = strchr(api_version, '/');
	if (!slash) {
		if (gsize < 1 || str_copy(version, api_version, vsize) >= vsize)
			return err_set(BERR_INVALID, "apiVersion \"%.64s\" is too long", api_version);
		group[0] = '\0';
		return 0;
	}
	size_t glen = (size_t)(slash - api_version);
	if (glen == 0 || !slash[1] || strchr(slash + 1, '/') || glen >= gsize ||
	    strlen(slash + 1) >= vsize)
		return err_set(BERR_INVALID, "apiVersion \"%.64s\" is malformed", api_version);
	memcpy(group, api_version, glen);
	group[glen] = '\0';
	str_copy(version, slash + 1, vsize);
	return 0;
}

int kube_path(const struct kube_resource *res, const struct kube_target *t, struct buf *out)
{
	int rc;
	if (res->group[0])
		rc = buf_printf(out, "/apis/%s/%s", res->group, res->version);
	else
		rc = buf_printf(out, "/api/%s", res->version);
	if (rc == 0 && res->namespaced && t->namespace_ && *t->namespace_) {
		rc = buf_puts(out, "/namespaces/");
		if (rc == 0)
			rc = buf_put_url_escaped(out, t->namespace_);
	}
	if (rc == 0)
		rc = buf_printf(out, "/%s", res->resource);
	if (rc == 0 && t->name && *t->name) {
		rc = buf_putc(out, '/');
		if (rc == 0)
			rc = buf_put_url_escaped(out, t->name);
		if (rc == 0 && t->subresource && *t->subresource)
			rc = buf_printf(out, "/%s", t->subresource);
	}
	return rc;
}

int kube_target_of(const json_t *obj, struct kube_target *t)
{
	const char *av = jx_str(obj, "apiVersion"), *kind = jx_str(obj, "kind");
	if (!av || !*av || !kind || !*kind)
		return err_set(BERR_INVALID, "object has no apiVersion or kind");
	memset(t, 0, sizeof(*t));
	t->api_version = av;
	t->kind = kind;
	t->namespace_ = jx_path_str(obj, "metadata", "namespace", NULL);
	t->name = jx_path_str(obj, "metadata", "name", NULL);
	return 0;
}

void kube_resource_release(struct kube_resource *r)
{
	if (!r)
		return;
	free(r->group);
	free(r->version);
	free(r->kind);
	free(r->resource);
	memset(r, 0, sizeof(*r));
}

void kube_resources_free(struct kube_resource *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		kube_resource_release(&v[i]);
	free(v);
}

/* ---- errors ---- */

static int code_for_status(long status, const char *reason)
{
	switch (status) {
	case 400: return BERR_INVALID;
	case 401: return BERR_UNAUTHORIZED;
	case 403: return BERR_FORBIDDEN;
	case 404: return BERR_NOTFOUND;
	case 405:
	case 415: return BERR_UNSUPPORTED;
	case 409: return reason && strcmp(reason, "AlreadyExists") == 0 ? BERR_EXISTS : BERR_CONFLICT;
	case 410: return BERR_GONE;
	case 413: return BERR_TOOLARGE;
	case 422: return BERR_INVALID;
	case 504: return BERR_TIMEOUT;
	default: break;
	}
	if (status == 429 || status >= 500)
		return BERR_UNAVAILABLE;
	return BERR_INVALID;
}

int kube_map_error(const char *what, long status, const char *body, size_t len)
{
	json_t *st = NULL;
	struct buf msg;
	int code;
	const char *reason = NULL;

	buf_init(&msg, 8192);
	if (len > 0 && jx_parse(body, len, 4 << 20, 64, &st) == 0 && json_is_object(st) &&
	    json_is_string(json_object_get(st, "message"))) {
		reason = jx_str(st, "reason");
		(void)buf_puts(&msg, jx_str(st, "message"));
		json_t *causes = jx_path(st, "details", "causes", NULL), *c;
		size_t i;
		if (json_is_array(causes))
			json_array_foreach(causes, i, c) {
				const char *f = jx_str(c, "field"), *m = jx_str(c, "message"), *r = jx_str(c, "reason");
				if (i >= 8)
					break;
				/* The Status message usually already holds the causes; add only what it misses. */
				if (m && strstr(msg.ptr, m))
					continue;
				(void)buf_printf(&msg, "; %s%s%s (%s)", f ? f : "", f ? ": " : "", m ? m : "",
						 r ? r : "");
			}
	} else {
		json_decref(st);
		st = NULL;
		char snippet[201];
		size_t k = 0;
		for (size_t i = 0; i < len && k < sizeof(snippet) - 1; i++)
			snippet[k++] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
		snippet[k] = '\0';
		(void)buf_printf(&msg, "HTTP %ld%s%s", status, k ? ": " : "", snippet);
	}
	code = code_for_status(status, reason);
	err_set(code, "%s: %s", what, msg.ptr);
	err_set_status((int)status, reason);
	buf_release(&msg);
	last_status_set(st);
	return code;
}

/* ---- credentials and headers ---- */

/* A client certificate the credential brings (an exec plugin's): when it
 * differs from the one in use, new connections use it from now on. The
 * first one is given to httpc_new by kube_client_new (kc->http NULL). */
static int set_client_cert(struct kube_client *kc, const struct kube_credential *cr)
{
	int rc;
	if (!cr->cert_pem || !cr->key_pem || (kc->cert_pem && strcmp(kc->cert_pem, cr->cert_pem) == 0))
		return 0;
	char *copy = strdup(cr->cert_pem);
	if (!copy)
		return err_set(BERR_NOMEM, "credential: out of memory");
	if (kc->http && (rc = httpc_set_client_cert(kc->http, cr->cert_pem, cr->key_pem)) < 0) {
		free(copy);
		return rc;
	}
	free(kc->cert_pem);
	kc->cert_pem = copy;
	return 0;
}

static int set_auth(struct kube_client *kc, const struct kube_credential *cr)
{
	char *h = NULL;
	int rc;
	if (cr->token && !(h = str_printf("Authorization: Bearer %s", cr->token)))
		return err_set(BERR_NOMEM, "credential: out of memory");
	if (h && strpbrk(h, "\r\n")) {
		free(h);
		return err_set(BERR_INVALID, "credential: token holds a line break");
	}
	if ((rc = set_client_cert(kc, cr)) < 0) {
		free(h);
		return rc;
	}
	free(kc->auth_header);
	kc->auth_header = h;
	kc->cred_read_ms = clock_mono_ms();
	kc->cred_expires_ms = cr->expires_ms;
	return 0;
}

int kube_cred_refresh(struct kube_client *kc, bool force)
{
	struct kube_credential cr;
	int rc;
	bool dynamic = kc->cfg.token_file || (kc->cfg.exec.argv && kc->cfg.exec.argv[0]);
	if (!dynamic)
		return 0;
	pthread_mutex_lock(&kc->mu);
	bool due = force;
	if (!due && kc->cfg.token_file && clock_mono_ms() - kc->cred_read_ms >= kc->o.token_reread_ms)
		due = true;
	if (!due && kc->cred_expires_ms > 0 && clock_wall_ms() + 10000 >= kc->cred_expires_ms)
		due = true;
	if (!due) {
		pthread_mutex_unlock(&kc->mu);
		return 0;
	}
	/* Held across the read (a plugin run): concurrent requests wait for the
	 * new credential rather than all running the plugin. */
	rc = kube_config_credential(&kc->cfg, &cr);
	if (rc == 0) {
		rc = set_auth(kc, &cr);
		kc->m.credential_refreshes++;
		kube_credential_release(&cr);
	}
	pthread_mutex_unlock(&kc->mu);
	return rc;
}

int kube_headers(struct kube_client *kc, const char *extra, const char **hdrs, size_t size, char **ret_auth)
{
	size_t n = 0;
	char *auth = NULL;
	pthread_mutex_lock(&kc->mu);
	if (kc->auth_header && !(auth = strdup(kc->auth_header))) {
		pthread_mutex_unlock(&kc->mu);
		return err_set(BERR_NOMEM, "request: out of memory");
	}
	pthread_mutex_unlock(&kc->mu);
	for (char **h = kc->fixed_headers; h && *h && n + 3 < size; h++)
		hdrs[n++] = *h;
	if (auth)
		hdrs[n++] = auth;
	if (extra)
		hdrs[n++] = extra;
	hdrs[n] = NULL;
	*ret_auth = auth;
	return 0;
}

/* ---- limiter ---- */

static void limiter_take(struct kube_client *kc)
{
	if (kc->o.qps <= 0)
		return;
	int64_t wait = 0;
	pthread_mutex_lock(&kc->mu);
	int64_t now = clock_mono_ms();
	kc->tokens += (double)(now - kc->refill_ms) * kc->o.qps / 1000.0;
	if (kc->tokens > kc->o.burst)
		kc->tokens = kc->o.burst;
	kc->refill_ms = now;
	kc->tokens -= 1.0; /* reserve, possibly going into debt */
	if (kc->tokens < 0) {
		wait = (int64_t)(-kc->tokens * 1000.0 / kc->o.qps) + 1;
		kc->m.throttle_waits++;
		kc->m.throttle_wait_ms += (uint64_t)wait;
	}
	pthread_mutex_unlock(&kc->mu);
	if (wait > 0)
		clock_sleep_ms(wait);
}

/* ---- requests ---- */

int kube_do(struct kube_client *kc, const char *method, const char *path, const char *accept,
	    const char *content_type, const char *body, size_t body_len, struct httpc_resp *resp)
{
	struct buf url;
	int rc = 0;
	char *accept_h = NULL, *auth = NULL;
	const char *hdrs[KUBE_MAX_HEADERS];

	buf_init(&url, 64 * 1024);
	if ((rc = buf_printf(&url, "%s%s", kc->cfg.server, path)) < 0)
		goto out;
	if (!(accept_h = str_printf("Accept: %s", accept ? accept : "application/json"))) {
		rc = err_set(BERR_NOMEM, "request: out of memory");
		goto out;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((rc = kube_cred_refresh(kc, attempt > 0)) < 0)
			goto out;
		free(auth);
		auth = NULL;
		if ((rc = kube_headers(kc, accept_h, hdrs, KUBE_MAX_HEADERS, &auth)) < 0)
			goto out;
		limiter_take(kc);
		struct httpc_req req = {
			.method = method,
			.url = url.ptr,
			.headers = hdrs,
			.body = body,
			.body_len = body_len,
			.content_type = content_type,
			.timeout_ms = kc->o.timeout_ms,
			.max_response_bytes = KUBE_MAX_RESPONSE_BYTES,
			/* POST and PATCH: only when the API server cannot have
			 * applied them (kube.h, "Retries"). */
			.retry_unsafe = true,
			.retry_unsafe_rejected_only = true,
		};
		int64_t t0 = clock_mono_ms();
		rc = httpc_request(kc->http, &req, resp);
		pthread_mutex_lock(&kc->mu);
		kc->m.latency_ms_sum += (uint64_t)(clock_mono_ms() - t0);
		if (rc == 0) {
			kc->m.requests += resp->attempts;
			kc->m.retries += resp->attempts > 1 ? resp->attempts - 1 : 0;
		} else {
			kc->m.requests++;
			kc->m.errors++;
		}
		pthread_mutex_unlock(&kc->mu);
		if (rc < 0)
			goto out;
		bool dynamic = kc->cfg.token_file || (kc->cfg.exec.argv && kc->cfg.exec.argv[0]);
		if (resp->status != 401 || !dynamic)
			break;
	}
out:
	free(auth);
	free(accept_h);
	buf_release(&url);
	return rc;
}

/* A request whose 2xx answer is left in resp (initialised by the caller);
 * any other status mapped to its error. */
static int request_ok(struct kube_client *kc, const char *method, const char *path, const char *content_type,
		      const char *body, size_t body_len, struct httpc_resp *resp)
{
	int rc;
	char what[512];

	if ((rc = kube_do(kc, method, path, NULL, content_type, body, body_len, resp)) < 0)
		return rc;
	if (resp->status < 200 || resp->status > 299) {
		snprintf(what, sizeof(what), "%s %s", method, path);
		rc = kube_map_error(what, resp->status, resp->body.ptr, resp->body.len);
		pthread_mutex_lock(&kc->mu);
		kc->m.errors++;
		pthread_mutex_unlock(&kc->mu);
		return rc;
	}
	last_status_set(NULL);
	return 0;
}

/* A request whose 2xx JSON body goes to *ret (may be NULL); errors mapped. */
static int request_json(struct kube_client *kc, const char *method, const char *path, const char *content_type,
			const char *body, size_t body_len, json_t **ret)
{
	struct httpc_resp resp;
	json_t *doc = NULL;
	int rc;

	httpc_resp_init(&resp);
	if ((rc = request_ok(kc, method, path, content_type, body, body_len, &resp)) < 0)
		goto out;
	if (ret) {
		if ((rc = jx_parse(resp.body.ptr, resp.body.len, KUBE_MAX_RESPONSE_BYTES, JX_MAX_DEPTH, &doc)) < 0) {
			rc = err_prefix(rc, "%s %s: response", method, path);
			goto out;
		}
		*ret = doc;
	}
out:
	httpc_resp_release(&resp);
	return rc;
}

int kube_raw(struct kube_client *kc, const char *method, const char *path, const char *content_type,
	     const char *body, size_t body_len, json_t **ret)
{
	return request_json(kc, method, path, content_type, body, body_len, ret);
}

/* Resolves t and builds its path plus the query of o for verb. */
static int build_url(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o,
		     bool write, struct buf *out, struct kube_resource *ret_res)
{
	struct kube_resource res;
	int rc;
	char sep = '?';
	if (!t->api_version || !t->kind)
		return err_set(BERR_INVALID, "request: apiVersion and kind are required");
	if ((rc = kube_resource_for(kc, t->api_version, t->kind, &res)) < 0)
		return rc;
	if ((rc = kube_path(&res, t, out)) < 0)
		goto out;
	if (res.namespaced && t->name && (!t->namespace_ || !*t->namespace_)) {
		rc = err_set(BERR_INVALID, "%s \"%s\": namespaced kind needs a namespace", t->kind, t->name);
		goto out;
	}
	if (o && write) {
		if (o->dry_run && (rc = kube_query_add(out, &sep, "dryRun", "All")) < 0)
			goto out;
		if ((rc = kube_query_add(out, &sep, "fieldValidation", o->field_validation)) < 0)
			goto out;
	} else if (o) {
		if ((rc = kube_query_add(out, &sep, "labelSelector", o->label_selector)) < 0 ||
		    (rc = kube_query_add(out, &sep, "fieldSelector", o->field_selector)) < 0 ||
		    (rc = kube_query_add(out, &sep, "resourceVersion", o->resource_version)) < 0 ||
		    (rc = kube_query_add(out, &sep, "resourceVersionMatch", o->resource_version_match)) < 0)
			goto out;
	}
	if (ret_res) {
		*ret_res = res;
		memset(&res, 0, sizeof(res));
	}
out:
	kube_resource_release(&res);
	return rc;
}

static char query_sep(const struct buf *b)
{
	return strchr(b->ptr, '?') ? '&' : '?';
}

int kube_get(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o, json_t **ret)
{
	struct buf path;
	int rc;
	if (!t->name || !*t->name)
		return err_set(BERR_INVALID, "get %s: no name", t->kind ? t->kind : "");
	buf_init(&path, 64 * 1024);
	if ((rc = build_url(kc, t, o, false, &path, NULL)) == 0)
		rc = request_json(kc, "GET", path.ptr, NULL, NULL, 0, ret);
	buf_release(&path);
	return rc;
}

/* Gives every item of a list page kind and apiVersion. */
static void complete_items(json_t *page)
{
	const char *lk = jx_str(page, "kind"), *av = jx_str(page, "apiVersion");
	json_t *items = json_object_get(page, "items"), *it;
	size_t i;
	if (!json_is_array(items)) {
		json_object_set_new(page, "items", json_array());
		return;
	}
	if (!lk || !av || !str_ends_with(lk, "List"))
		return;
	json_t *kind = json_stringn(lk, strlen(lk) - 4), *apiv = json_string(av);
	json_array_foreach(items, i, it) {
		if (!json_is_object(it))
			continue;
		if (!json_object_get(it, "kind"))
			json_object_set(it, "kind", kind);
		if (!json_object_get(it, "apiVersion"))
			json_object_set(it, "apiVersion", apiv);
	}
	json_decref(kind);
	json_decref(apiv);
}

/* The URL of one list page into url (reset first): base, the limit, then
 * the continue token or, on the first page only, resourceVersion(Match)
 * from o (the API server rejects them together with a continue token). */
static int page_url(const struct buf *base, unsigned limit, const char *cont, const struct kube_req_opts *o,
		    struct buf *url)
{
	char sep = '&';
	int rc;

	buf_reset(url);
	if ((rc = buf_puts(url, base->ptr)) < 0 ||
	    (rc = buf_printf(url, "%climit=%u", query_sep(base), limit)) < 0)
		return rc;
	if (cont)
		return kube_query_add(url, &sep, "continue", cont);
	if (o && ((rc = kube_query_add(url, &sep, "resourceVersion", o->resource_version)) < 0 ||
		  (rc = kube_query_add(url, &sep, "resourceVersionMatch", o->resource_version_match)) < 0))
		return rc;
	return 0;
}

/* One page fetched: parsed (kube_list_pages) or taken apart (raw). */
struct page_sink {
	kube_page_fn on_page;
	kube_raw_page_fn on_raw;
	void *userdata;
};

/* The raw page body: kind, apiVersion and metadata parsed, items as text.
 * *ret_cont receives a copy of metadata.continue (NULL when none). */
static int raw_page(const struct page_sink *sink, const char *body, size_t len, bool restarted, char **ret_cont)
{
	struct jscan it;
	struct jscan_span k, v, items = {NULL, 0};
	json_t *meta = NULL, *lk = NULL, *av = NULL;
	int rc, more;

	*ret_cont = NULL;
	if ((rc = jscan_open(&it, body, len, '{')) < 0)
		return err_prefix(rc, "list page");
	while ((more = jscan_next(&it, &k, &v)) == 1) {
		json_t **dst = jscan_key_is(&k, "metadata") ? &meta : jscan_key_is(&k, "kind") ? &lk
			     : jscan_key_is(&k, "apiVersion") ? &av : NULL;
		if (jscan_key_is(&k, "items"))
			items = v;
		else if (dst && !*dst && (rc = jx_parse(v.p, v.len, v.len + 1, JX_MAX_DEPTH, dst)) < 0)
			goto out;
	}
	if ((rc = more) < 0)
		goto out;
	if (!items.p || items.p[0] != '[') {
		rc = err_set(BERR_INVALID, "list page: no items array");
		goto out;
	}
	if (!meta)
		meta = json_object();
	const char *cont = jx_str(meta, "continue");
	if (cont && *cont && !(*ret_cont = strdup(cont))) {
		rc = err_set(BERR_NOMEM, "list: out of memory");
		goto out;
	}
	rc = sink->on_raw(items.p, items.len, meta, json_string_value(lk), json_string_value(av), restarted,
			  sink->userdata);
out:
	json_decref(meta);
	json_decref(lk);
	json_decref(av);
	return rc;
}

/* The parsed page to on_page. *ret_cont as raw_page. */
static int parsed_page(const struct page_sink *sink, const char *body, size_t len, bool restarted, char **ret_cont)
{
	json_t *page = NULL;
	int rc;
	*ret_cont = NULL;
	if ((rc = jx_parse(body, len, KUBE_MAX_RESPONSE_BYTES, JX_MAX_DEPTH, &page)) < 0)
		return err_prefix(rc, "list page");
	complete_items(page);
	rc = sink->on_page(page, restarted, sink->userdata);
	const char *next = jx_path_str(page, "metadata", "continue", NULL);
	if (rc == 0 && next && *next && !(*ret_cont = strdup(next)))
		rc = err_set(BERR_NOMEM, "list: out of memory");
	json_decref(page);
	return rc;
}

static int list_loop(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o,
		     const struct page_sink *sink)
{
	struct buf base, url;
	struct kube_target lt = *t;
	char *cont = NULL;
	int rc, restarts = 0;
	bool restarted = false;
	unsigned limit = o && o->limit ? o->limit : kc->o.page_size;

	/* resourceVersion goes on the first request only: the API server
	 * rejects it together with a continue token. */
	struct kube_req_opts base_o = {0};
	if (o) {
		base_o = *o;
		base_o.resource_version = NULL;
		base_o.resource_version_match = NULL;
	}
	lt.name = NULL;
	lt.subresource = NULL;
	buf_init(&base, 64 * 1024);
	buf_init(&url, 64 * 1024);
	if ((rc = build_url(kc, &lt, &base_o, false, &base, NULL)) < 0)
		goto out;
	for (;;) {
		struct httpc_resp resp;
		char *next = NULL;
		if ((rc = page_url(&base, limit, cont, o, &url)) < 0)
			goto out;
		httpc_resp_init(&resp);
		resp.body.max = KUBE_MAX_RESPONSE_BYTES;
		rc = request_ok(kc, "GET", url.ptr, NULL, NULL, 0, &resp);
		if (rc == BERR_GONE && cont && restarts < 3) {
			/* The continue token expired: start over. */
			httpc_resp_release(&resp);
			restarts++;
			restarted = true;
			free(cont);
			cont = NULL;
			continue;
		}
		if (rc == 0)
			rc = sink->on_raw ? raw_page(sink, resp.body.ptr, resp.body.len, restarted, &next)
					  : parsed_page(sink, resp.body.ptr, resp.body.len, restarted, &next);
		httpc_resp_release(&resp);
		restarted = false;
		free(cont);
		cont = next;
		if (rc < 0 || !cont)
			break;
	}
out:
	free(cont);
	buf_release(&base);
	buf_release(&url);
	return rc;
}

int kube_list_pages(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o,
		    kube_page_fn on_page, void *userdata)
{
	struct page_sink sink = {.on_page = on_page, .userdata = userdata};
	return list_loop(kc, t, o, &sink);
}

int kube_list_pages_raw(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o,
			kube_raw_page_fn on_page, void *userdata)
{
	struct page_sink sink = {.on_raw = on_page, .userdata = userdata};
	return list_loop(kc, t, o, &sink);
}

struct list_acc {
	json_t *list;
};

static int list_collect(json_t *page, bool restarted, void *userdata)
{
	struct list_acc *acc = userdata;
	if (!acc->list || restarted) {
		json_decref(acc->list);
		acc->list = json_deep_copy(page);
		if (!acc->list)
			return err_set(BERR_NOMEM, "list: out of memory");
		json_t *md = json_object_get(acc->list, "metadata");
		if (json_is_object(md)) {
			json_object_del(md, "continue");
			json_object_del(md, "remainingItemCount");
		}
		return 0;
	}
	json_t *items = json_object_get(acc->list, "items");
	if (json_array_extend(items, json_object_get(page, "items")) < 0)
		return err_set(BERR_NOMEM, "list: out of memory");
	return 0;
}

int kube_list(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o, json_t **ret)
{
	struct list_acc acc = {NULL};
	int rc = kube_list_pages(kc, t, o, list_collect, &acc);
	if (rc < 0) {
		json_decref(acc.list);
		return rc;
	}
	*ret = acc.list;
	return 0;
}

static int write_req(struct kube_client *kc, const char *method, const struct kube_target *t, bool collection,
		     const struct kube_req_opts *o, const char *ctype, const json_t *obj, const char *extra_query,
		     json_t **ret)
{
	struct buf path;
	struct kube_target wt = *t;
	char *body = NULL;
	int rc;
	if (collection) {
		wt.name = NULL;
		wt.subresource = NULL;
	} else if (!t->name || !*t->name) {
		return err_set(BERR_INVALID, "%s %s: no name", method, t->kind ? t->kind : "");
	}
	buf_init(&path, 64 * 1024);
	if ((rc = build_url(kc, &wt, o, true, &path, NULL)) < 0)
		goto out;
	if (extra_query && *extra_query && (rc = buf_printf(&path, "%c%s", query_sep(&path), extra_query)) < 0)
		goto out;
	if (obj && !(body = json_dumps(obj, JSON_COMPACT))) {
		rc = err_set(BERR_NOMEM, "%s: cannot serialise the body", method);
		goto out;
	}
	rc = request_json(kc, method, path.ptr, ctype, body, body ? strlen(body) : 0, ret);
out:
	free(body);
	buf_release(&path);
	return rc;
}

int kube_create(struct kube_client *kc, const struct kube_target *t, const json_t *obj,
		const struct kube_req_opts *o, json_t **ret)
{
	return write_req(kc, "POST", t, true, o, "application/json", obj, NULL, ret);
}

int kube_update(struct kube_client *kc, const struct kube_target *t, const json_t *obj,
		const struct kube_req_opts *o, json_t **ret)
{
	return write_req(kc, "PUT", t, false, o, "application/json", obj, NULL, ret);
}

int kube_patch(struct kube_client *kc, const struct kube_target *t, enum kube_patch_type type,
	       const json_t *patch, const struct kube_req_opts *o, json_t **ret)
{
	static const char *const ctypes[] = {
		[KUBE_PATCH_JSON] = "application/json-patch+json",
		[KUBE_PATCH_MERGE] = "application/merge-patch+json",
		[KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
		[KUBE_PATCH_APPLY] = "application/apply-patch+yaml",
	};
	struct buf q;
	int rc;
	if ((unsigned)type > KUBE_PATCH_APPLY)
		return err_set(BERR_INVALID, "patch: unknown type %d", (int)type);
	buf_init(&q, 4096);
	const char *fm = o && o->field_manager ? o->field_manager : (type == KUBE_PATCH_APPLY ? "berth" : NULL);
	if (fm) {
		rc = buf_puts(&q, "fieldManager=");
		if (rc == 0)
			rc = buf_put_url_escaped(&q, fm);
		if (rc < 0)
			goto out;
	}
	if (type == KUBE_PATCH_APPLY && o && o->force && (rc = buf_printf(&q, "%sforce=true", q.len ? "&" : "")) < 0)
		goto out;
	rc = write_req(kc, "PATCH", t, false, o, ctypes[type], patch, q.ptr, ret);
out:
	buf_release(&q);
	return rc;
}

int kube_delete(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o, json_t **ret)
{
	const char *policy = o && o->propagation_policy ? o->propagation_policy : "Background";
	json_t *body = json_pack("{s:s, s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1", "propagationPolicy",
				 policy);
	char q[128];
	int rc;
	if (!body)
		return err_set(BERR_NOMEM, "delete: out of memory");
	if (o && (o->precondition_uid || o->precondition_rv)) {
		json_t *pre = json_object();
		if (o->precondition_uid)
			json_object_set_new(pre, "uid", json_string(o->precondition_uid));
		if (o->precondition_rv)
			json_object_set_new(pre, "resourceVersion", json_string(o->precondition_rv));
		json_object_set_new(body, "preconditions", pre);
	}
	q[0] = '\0';
	if (o && (o->grace_period_s > 0 || o->grace_period_zero)) {
		int64_t g = o->grace_period_zero ? 0 : o->grace_period_s;
		snprintf(q, sizeof(q), "gracePeriodSeconds=%lld", (long long)g);
		json_object_set_new(body, "gracePeriodSeconds", json_integer(g));
	}
	rc = write_req(kc, "DELETE", t, false, o, "application/json", body, q, ret);
	json_decref(body);
	return rc;
}

/* ---- client ---- */

static int add_fixed(char ***v, size_t *n, char *h)
{
	if (!h)
		return BERR_NOMEM;
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv) {
		free(h);
		return BERR_NOMEM;
	}
	nv[(*n)++] = h;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

/* Zero (or negative) options take their documented defaults (kube.h). */
static void opts_apply_defaults(struct kube_client_opts *o)
{
	if (o->qps == 0)
		o->qps = 50;
	if (o->burst == 0)
		o->burst = 100;
	if (o->timeout_ms <= 0)
		o->timeout_ms = 60000;
	if (o->max_attempts == 0)
		o->max_attempts = 5;
	if (o->base_delay_ms <= 0)
		o->base_delay_ms = 200;
	if (o->max_delay_ms <= 0)
		o->max_delay_ms = 10000;
	if (o->max_retry_after_ms <= 0)
		o->max_retry_after_ms = 30000;
	if (o->token_reread_ms <= 0)
		o->token_reread_ms = 60000;
	if (o->page_size == 0)
		o->page_size = 500;
	if (o->watch_timeout_s <= 0)
		o->watch_timeout_s = 300;
	if (o->watch_idle_ms <= 0)
		o->watch_idle_ms = o->watch_timeout_s * 1000 + 30000;
}

int kube_client_new(const struct kube_config *cfg, const struct kube_client_opts *opts, struct kube_client **ret)
{
	struct kube_client *kc;
	struct kube_credential cr;
	int rc;
	size_t nh = 0;

	if (!cfg->server || !*cfg->server)
		return err_set(BERR_INVALID, "kube client: no server");
	if (!(kc = calloc(1, sizeof(*kc))))
		return err_set(BERR_NOMEM, "kube client: out of memory");
	memset(&cr, 0, sizeof(cr));
	pthread_mutex_init(&kc->mu, NULL);
	pthread_mutex_init(&kc->disc_mu, NULL);
	pthread_mutex_init(&kc->mux_mu, NULL);
	if (opts)
		kc->o = *opts;
	kc->o.user_agent = NULL;
	opts_apply_defaults(&kc->o);
	kc->tokens = kc->o.burst;
	kc->refill_ms = clock_mono_ms();
	if ((rc = kube_config_copy(cfg, &kc->cfg)) < 0)
		goto fail;
	if ((rc = kube_config_credential(&kc->cfg, &cr)) < 0)
		goto fail;
	if ((rc = set_auth(kc, &cr)) < 0)
		goto fail;
	if (cfg->impersonate_user) {
		if (add_fixed(&kc->fixed_headers, &nh, str_printf("Impersonate-User: %s", cfg->impersonate_user)) < 0)
			goto nomem;
		for (char **g = cfg->impersonate_groups; g && *g && nh < 8; g++)
			if (add_fixed(&kc->fixed_headers, &nh, str_printf("Impersonate-Group: %s", *g)) < 0)
				goto nomem;
	}
	struct httpc_config hc = {
		.ca_pem = kc->cfg.ca_pem,
		.client_cert_pem = cr.cert_pem ? cr.cert_pem : kc->cfg.cert_pem,
		.client_key_pem = cr.key_pem ? cr.key_pem : kc->cfg.key_pem,
		.insecure_skip_verify = kc->cfg.insecure,
		.tls_server_name = kc->cfg.tls_server_name,
		.user_agent = opts && opts->user_agent ? opts->user_agent : NULL,
		.timeout_ms = kc->o.timeout_ms,
		.max_response_bytes = KUBE_MAX_RESPONSE_BYTES,
		.retry = {.max_attempts = kc->o.max_attempts,
			  .base_delay_ms = kc->o.base_delay_ms,
			  .max_delay_ms = kc->o.max_delay_ms,
			  .max_retry_after_ms = kc->o.max_retry_after_ms,
			  .retry_5xx = true},
	};
	if ((rc = httpc_new(&hc, &kc->http)) < 0)
		goto fail;
	kube_credential_release(&cr);
	*ret = kc;
	return 0;
nomem:
	rc = err_set(BERR_NOMEM, "kube client: out of memory");
fail:
	kube_credential_release(&cr);
	kube_client_free(kc);
	return rc;
}

void kube_client_free(struct kube_client *kc)
{
	if (!kc)
		return;
	kube_watch_shutdown(kc);
	httpc_free(kc->http);
	kube_resources_free(kc->res, kc->n_res);
	for (char **h = kc->fixed_headers; h && *h; h++)
		free(*h);
	free(kc->fixed_headers);
	free(kc->auth_header);
	free(kc->cert_pem);
	kube_config_release(&kc->cfg);
	pthread_mutex_destroy(&kc->mu);
	pthread_mutex_destroy(&kc->disc_mu);
	pthread_mutex_destroy(&kc->mux_mu);
	free(kc);
}

const struct kube_config *kube_client_config(const struct kube_client *kc)
{
	return &kc->cfg;
}

void kube_client_metrics(struct kube_client *kc, struct kube_metrics *out)
{
	pthread_mutex_lock(&kc->mu);
	*out = kc->m;
	pthread_mutex_unlock(&kc->mu);
}
