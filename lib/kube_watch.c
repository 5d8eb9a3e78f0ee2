/*
 * kube_watch — watch streams (KUBE-API.md §3) on the client's curl multi
 * handle: one thread serves every watch of a client. The httpc mux splits
 * the chunked body on newlines; each line is one event. A 410, whether as an
 * ERROR event or as the HTTP status, ends the watch with BERR_GONE so the
 * caller relists; anything else tells the caller to resume from last_rv.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "kube.h"
#include "kube_int.h"
#include "str.h"

#define WATCH_MAX_LINE ((size_t)32 << 20)

struct kube_watch {
	struct kube_client *kc;
	kube_event_fn on_event;
	kube_watch_end_fn on_end;
	void *userdata;
	struct httpc_mux_stream *stream;
	char last_rv[128];
	char msg[512];
};

static int get_mux(struct kube_client *kc, struct httpc_mux **ret)
{
	int rc = 0;
	pthread_mutex_lock(&kc->mux_mu);
	if (!kc->mux) {
		struct httpc_mux *m;
		if ((rc = httpc_mux_new(kc->http, &m)) == 0) {
			if ((rc = httpc_mux_start(m)) < 0)
				httpc_mux_free(m);
			else
				kc->mux = m;
		}
	}
	*ret = kc->mux;
	pthread_mutex_unlock(&kc->mux_mu);
	return rc;
}

void kube_watch_shutdown(struct kube_client *kc)
{
	pthread_mutex_lock(&kc->mux_mu);
	struct httpc_mux *m = kc->mux;
	kc->mux = NULL;
	pthread_mutex_unlock(&kc->mux_mu);
	httpc_mux_free(m);
}

static int on_line(const char *line, size_t len, void *userdata)
{
	struct kube_watch *w = userdata;
	json_t *ev = NULL;
	int rc = 0;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	if ((rc = jx_parse(line, len, WATCH_MAX_LINE, JX_MAX_DEPTH, &ev)) < 0) {
		snprintf(w->msg, sizeof(w->msg), "watch event: %s", err_msg());
		return BERR_UNAVAILABLE;
	}
	const char *type = jx_str(ev, "type");
	json_t *obj = json_object_get(ev, "object");
	enum kube_event_type t;
	if (!type || !json_is_object(obj)) {
		snprintf(w->msg, sizeof(w->msg), "watch event without type or object");
		rc = BERR_UNAVAILABLE;
		goto out;
	}
	if (strcmp(type, "ERROR") == 0) {
		json_t *code = json_object_get(obj, "code");
		const char *m = jx_str(obj, "message");
		snprintf(w->msg, sizeof(w->msg), "watch: %s", m ? m : "ERROR event");
		rc = json_integer_value(code) == 410 ? BERR_GONE : BERR_UNAVAILABLE;
		goto out;
	}
	if (strcmp(type, "ADDED") == 0)
		t = KUBE_EV_ADDED;
	else if (strcmp(type, "MODIFIED") == 0)
		t = KUBE_EV_MODIFIED;
	else if (strcmp(type, "DELETED") == 0)
		t = KUBE_EV_DELETED;
	else if (strcmp(type, "BOOKMARK") == 0)
		t = KUBE_EV_BOOKMARK;
	else
		goto out; /* unknown types are ignored */
	kube_count(w->kc, &w->kc->m.watch_events, 1);
	rc = w->on_event(t, obj, w->userdata);
	/* Only an event the caller took moves the resume point: one it
	 * refused is sent again after the resume. */
	const char *rv = jx_path_str(obj, "metadata", "resourceVersion", NULL);
	if (rc == 0 && rv && *rv)
		str_copy(w->last_rv, rv, sizeof(w->last_rv));
out:
	json_decref(ev);
	return rc;
}

static void on_done(int rc, const struct httpc_resp *resp, void *userdata)
{
	struct kube_watch *w = userdata;
	if (rc == 0 && resp && resp->status && (resp->status < 200 || resp->status > 299)) {
		rc = kube_map_error("watch", resp->status, resp->body.ptr, resp->body.len);
		snprintf(w->msg, sizeof(w->msg), "%s", err_msg());
		if (resp->status == 401)
			(void)kube_cred_refresh(w->kc, true);
	} else if (rc < 0 && !w->msg[0]) {
		snprintf(w->msg, sizeof(w->msg), "watch: %s", rc == BERR_CANCELED ? "canceled" : err_name(rc));
	}
	w->on_end(rc, w->last_rv, w->msg, w->userdata);
	free(w);
}

int kube_watch_start(struct kube_client *kc, const struct kube_target *t, const struct kube_req_opts *o,
		     const char *resource_version, kube_event_fn on_event, kube_watch_end_fn on_end,
		     void *userdata, struct kube_watch **ret)
{
	struct kube_resource res;
	struct kube_target wt = *t;
	struct buf url;
	struct httpc_mux *m;
	struct kube_watch *w = NULL;
	char *auth = NULL;
	const char *hdrs[KUBE_MAX_HEADERS];
	int rc;

	memset(&res, 0, sizeof(res));
	buf_init(&url, 64 * 1024);
	wt.name = NULL;
	wt.subresource = NULL;
	if ((rc = kube_resource_for(kc, t->api_version, t->kind, &res)) < 0)
		goto out;
	if ((rc = buf_puts(&url, kc->cfg.server)) < 0 || (rc = kube_path(&res, &wt, &url)) < 0 ||
	    (rc = buf_printf(&url, "?watch=1&allowWatchBookmarks=true&timeoutSeconds=%lld",
			     (long long)kc->o.watch_timeout_s)) < 0)
		goto out;
#define PARAM(key, val)                                                      \
	do {                                                                 \
		if (rc == 0 && (val) && *(val)) {                            \
			rc = buf_puts(&url, "&" key "=");                    \
			if (rc == 0)                                         \
				rc = buf_put_url_escaped(&url, val);                 \
		}                                                            \
	} while (0)
	PARAM("resourceVersion", resource_version);
	if (o) {
		PARAM("labelSelector", o->label_selector);
		PARAM("fieldSelector", o->field_selector);
	}
#undef PARAM
	if (rc < 0)
		goto out;
	if (!(w = calloc(1, sizeof(*w)))) {
		rc = err_set(BERR_NOMEM, "watch: out of memory");
		goto out;
	}
	w->kc = kc;
	w->on_event = on_event;
	w->on_end = on_end;
	w->userdata = userdata;
	if (resource_version)
		str_copy(w->last_rv, resource_version, sizeof(w->last_rv));
	if ((rc = kube_cred_refresh(kc, false)) < 0 || (rc = kube_headers(kc, "Accept: application/json", hdrs, KUBE_MAX_HEADERS, &auth)) < 0 ||
	    (rc = get_mux(kc, &m)) < 0)
		goto out;
	struct httpc_req req = {
		.url = url.ptr,
		.headers = hdrs,
		.idle_timeout_ms = kc->o.watch_idle_ms,
		.max_line_bytes = WATCH_MAX_LINE,
	};
	/* After a successful add, w belongs to the stream (freed in on_done);
	 * the handle is written by the add itself, before any callback. */
	struct kube_watch *handle = w;
	if ((rc = httpc_mux_add_stream(m, &req, on_line, on_done, w, &w->stream)) < 0)
		goto out;
	w = NULL;
	kube_count(kc, &kc->m.watches_started, 1);
	if (ret)
		*ret = handle;
out:
	free(w);
	free(auth);
	buf_release(&url);
	kube_resource_release(&res);
	return rc;
}

void kube_watch_stop(struct kube_client *kc, struct kube_watch *w)
{
	pthread_mutex_lock(&kc->mux_mu);
	struct httpc_mux *m = kc->mux;
	pthread_mutex_unlock(&kc->mux_mu);
	if (m && w && w->stream)
		httpc_mux_cancel(m, w->stream);
}
