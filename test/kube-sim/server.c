/*
 * server — see server.h.
 *
 * Request flow: MHD calls handle() several times per request; the first
 * call allocates a struct request, the middle ones append the body (bounded),
 * the last dispatches: admin prefix -> faults; health/version/discovery;
 * /api/v1/... and /apis/{g}/{v}/... -> resource handlers over the store.
 * Every error answers a Kubernetes Status body built from the err record
 * (store_status_body), so codes and reasons follow KUBE-API.md §7.
 *
 * Why not lib/httpd: a watch here is pulled. libmicrohttpd asks watch_reader
 * for bytes when the socket can take them, and the reader waits on the
 * store's event window, so a slow client only falls behind the window and
 * gets the 410 ERROR event a real API server sends. lib/httpd's streams are
 * pushed into a bounded queue that closes a slow client's stream instead,
 * and would need a pump thread per watch. Dispatch is by parsed Kubernetes
 * path, not by route patterns, so only the libmicrohttpd glue would be
 * shared.
 */
#include "server.h"

#include <dlfcn.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "discovery.h"
#include "err.h"
#include "faults.h"
#include "jsonx.h"
#include "kpb.h"
#include "kyaml.h"
#include "log.h"
#include "store_int.h"
#include "patch.h"
#include "str.h"
#include "table.h"
#include <arpa/inet.h>


struct ks_server {
	struct MHD_Daemon *d;
	struct ks_store *s;
	char *token;
	struct faults *faults;
	bool tls, client_ca;
	size_t max_body;
	atomic_bool stopping;
	int port;
	/* gnutls entry points resolved at run time (libmicrohttpd's TLS). */
	int (*verify_peers)(void *session, unsigned int *status);
	const void *(*get_peers)(void *session, unsigned int *list_size);
};

struct request {
	struct buf body;
	bool too_large;
};

/* ---- responses ---------------------------------------------------------------- */

static enum MHD_Result send_bytes(struct MHD_Connection *c, int code, const char *ctype, char *data, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-cache, private");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, int code, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (!s)
		return MHD_NO;
	return send_bytes(c, code, "application/json", s, strlen(s));
}

static enum MHD_Result send_json_ct(struct MHD_Connection *c, int code, json_t *v, const char *ctype)
{
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (!s)
		return MHD_NO;
	return send_bytes(c, code, ctype, s, strlen(s));
}

static enum MHD_Result send_buf(struct MHD_Connection *c, int code, struct buf *b)
{
	size_t len;
	char *p = buf_detach(b, &len);
	if (!p)
		return MHD_NO;
	return send_bytes(c, code, "application/json", p, len);
}

/* Answers the current error record as a Status. */
static enum MHD_Result send_error(struct MHD_Connection *c)
{
	json_t *st = store_status_body();
	int code = (int)json_integer_value(json_object_get(st, "code"));
	return send_json(c, code ? code : 500, st);
}

static enum MHD_Result send_status(struct MHD_Connection *c, int code, const char *reason, const char *msg)
{
	err_set(BERR_INVALID, "%s", msg);
	err_set_status(code, reason);
	store_err_details(NULL, NULL, NULL, NULL);
	return send_error(c);
}

static enum MHD_Result not_found_resource(struct MHD_Connection *c)
{
	json_t *st = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:{},s:i}", "kind", "Status", "apiVersion", "v1", "metadata",
			       "status", "Failure", "message", "the server could not find the requested resource",
			       "reason", "NotFound", "details", "code", 404);
	return send_json(c, 404, st);
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *c)
{
	return send_status(c, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
}

/* ---- helpers -------------------------------------------------------------------- */

static const char *arg(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static bool arg_true(struct MHD_Connection *c, const char *name)
{
	const char *v = arg(c, name);
	return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static bool dry_run(struct MHD_Connection *c)
{
	const char *v = arg(c, "dryRun");
	return v && strcmp(v, "All") == 0;
}

/* fieldManager, or the User-Agent's program name ("kubectl/v1.32 ..." ->
 * "kubectl"). */
static void field_manager(struct MHD_Connection *c, char *out, size_t size)
{
	const char *fm = arg(c, "fieldManager");
	if (fm && *fm) {
		str_copy(out, fm, size);
		return;
	}
	const char *ua = header(c, "User-Agent");
	if (!ua || !*ua) {
		str_copy(out, "unknown", size);
		return;
	}
	str_copy(out, ua, size);
	char *slash = strchr(out, '/');
	if (slash)
		*slash = '\0';
	char *sp = strchr(out, ' ');
	if (sp)
		*sp = '\0';
}

static int parse_body(struct request *rq, json_t **ret)
{
	if (rq->body.len == 0)
		return store_bad_request("the body of the request was empty");
	int rc = jx_parse(rq->body.ptr, rq->body.len, rq->body.max, JX_MAX_DEPTH, ret);
	if (rc < 0) {
		char msg[512];
		str_copy(msg, err_msg(), sizeof(msg));
		return store_bad_request("the body of the request could not be decoded: %s", msg);
	}
	return 0;
}

/* ---- watch streaming ---------------------------------------------------------------- */

struct watch_stream {
	struct ks_server *srv;
	struct ks_watch *w;
	struct buf pending;
	size_t off;
	int64_t deadline_ms;
	bool ended;
	const struct ks_type *table_t; /* non-NULL: events carry Tables (kubectl get -w) */
	char include_object[16];
};

/* Rewrites the last event line of pending (from offset start) so that its
 * object is a one-row Table. */
static void watch_tableize(struct watch_stream *ws, size_t start)
{
	json_t *ev = NULL;
	if (jx_parse(ws->pending.ptr + start, ws->pending.len - start, ws->pending.max, JX_MAX_DEPTH, &ev) < 0)
		return;
	const char *type = jx_str(ev, "type");
	if (type && (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0 || strcmp(type, "DELETED") == 0)) {
		json_t *tbl = table_of(ws->table_t, json_object_get(ev, "object"), ws->include_object);
		json_object_set_new(ev, "object", tbl);
		char *line = json_dumps(ev, JSON_COMPACT);
		if (line) {
			buf_truncate(&ws->pending, start);
			buf_puts(&ws->pending, line);
			buf_putc(&ws->pending, '\n');
			free(line);
		}
	}
	json_decref(ev);
}

static ssize_t watch_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct watch_stream *ws = cls;
	(void)pos;
	for (;;) {
		if (ws->off < ws->pending.len) {
			size_t n = ws->pending.len - ws->off;
			if (n > max)
				n = max;
			memcpy(out, ws->pending.ptr + ws->off, n);
			ws->off += n;
			if (ws->off == ws->pending.len) {
				buf_reset(&ws->pending);
				ws->off = 0;
			}
			return (ssize_t)n;
		}
		if (ws->ended || atomic_load(&ws->srv->stopping))
			return MHD_CONTENT_READER_END_OF_STREAM;
		int64_t left = ws->deadline_ms - clock_mono_ms();
		if (left <= 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		size_t start = ws->pending.len;
		int rc = store_watch_next(ws->w, left < 500 ? left : 500, &ws->pending);
		if (rc == 1 && ws->table_t)
			watch_tableize(ws, start);
		if (rc == BERR_CANCELED)
			ws->ended = true;
		else if (rc < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

static void watch_free(void *cls)
{
	struct watch_stream *ws = cls;
	store_watch_close(ws->w);
	buf_release(&ws->pending);
	free(ws);
}

static enum MHD_Result do_watch(struct ks_server *srv, struct MHD_Connection *c, const struct ks_type *t, const char *ns,
				const char *name)
{
	struct ks_watch_opts wo = {
		.resource_version = arg(c, "resourceVersion"),
		.label_selector = arg(c, "labelSelector"),
		.field_selector = arg(c, "fieldSelector"),
		.bookmarks = arg_true(c, "allowWatchBookmarks"),
		.send_initial_events = arg_true(c, "sendInitialEvents"),
	};
	char *fs = NULL;
	if (name) {
		/* A watch on one object (…/{name}?watch=1) is a metadata.name field selector. */
		fs = str_printf("metadata.name=%s%s%s", name, wo.field_selector ? "," : "",
				wo.field_selector ? wo.field_selector : "");
		wo.field_selector = fs;
	}
	struct ks_watch *w = NULL;
	int rc = store_watch_open(srv->s, t, ns, &wo, &w);
	free(fs);
	if (rc < 0)
		return send_error(c);
	struct watch_stream *ws = calloc(1, sizeof(*ws));
	if (!ws) {
		store_watch_close(w);
		return MHD_NO;
	}
	ws->srv = srv;
	ws->w = w;
	if (table_wanted(header(c, "Accept"))) {
		ws->table_t = t;
		str_copy(ws->include_object, arg(c, "includeObject") ? arg(c, "includeObject") : "", sizeof(ws->include_object));
	}
	buf_init(&ws->pending, (size_t)64 << 20);
	int64_t timeout_s = 1800;
	const char *ts = arg(c, "timeoutSeconds");
	if (ts) {
		int64_t v;
		if (str_to_i64(ts, &v) == 0 && v > 0)
			timeout_s = v;
	}
	ws->deadline_ms = clock_mono_ms() + timeout_s * 1000;
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, watch_reader, ws, watch_free);
	if (!r) {
		watch_free(ws);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-cache, private");
	enum MHD_Result ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- scale subresource -------------------------------------------------------------------- */

/* A CRD scale path (".spec.replicas") as a JSON pointer ("/spec/replicas"). */
static void scale_pointer(const char *path, const char *dflt, char *out, size_t size)
{
	str_copy(out, path && *path ? path : dflt, size);
	for (char *p = out; *p; p++)
		if (*p == '.')
			*p = '/';
}

static json_t *scale_of(const struct ks_type *t, const json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *sm = json_object();
	static const char *const keep[] = { "name", "namespace", "uid", "resourceVersion", "creationTimestamp", NULL };
	for (const char *const *k = keep; *k; k++)
		if (json_object_get(meta, *k))
			json_object_set(sm, *k, json_object_get(meta, *k));
	char spec_p[256], status_p[256];
	scale_pointer(t->scale_spec_path, ".spec.replicas", spec_p, sizeof(spec_p));
	scale_pointer(t->scale_status_path, ".status.replicas", status_p, sizeof(status_p));
	json_int_t spec_r = json_integer_value(jx_ptr_get((json_t *)obj, spec_p));
	json_int_t st_r = json_integer_value(jx_ptr_get((json_t *)obj, status_p));
	struct buf sel;
	buf_init(&sel, 4096);
	if (t->scale_selector_path) {
		char sel_p[256];
		scale_pointer(t->scale_selector_path, "", sel_p, sizeof(sel_p));
		const json_t *sv = jx_ptr_get((json_t *)obj, sel_p);
		if (json_is_string(sv))
			buf_puts(&sel, json_string_value(sv));
	}
	json_t *ml = jx_path(obj, "spec", "selector", "matchLabels", NULL);
	if (!ml && json_is_object(jx_path(obj, "spec", "selector", NULL)) &&
	    !jx_path(obj, "spec", "selector", "matchExpressions", NULL))
		ml = jx_path(obj, "spec", "selector", NULL); /* ReplicationController: a plain map */
	const char *k;
	json_t *v;
	json_object_foreach(t->custom ? NULL : ml, k, v) if (json_is_string(v)) buf_printf(&sel, "%s%s=%s", sel.len ? "," : "", k, json_string_value(v));
	json_t *sc = json_pack("{s:s,s:s,s:o,s:{s:I},s:{s:I,s:s}}", "kind", "Scale", "apiVersion", "autoscaling/v1",
			       "metadata", sm, "spec", "replicas", (json_int_t)spec_r, "status", "replicas",
			       (json_int_t)st_r, "selector", sel.ptr);
	buf_release(&sel);
	return sc;
}

static enum MHD_Result do_scale(struct ks_server *srv, struct MHD_Connection *c, const char *method,
				const struct ks_type *t, const char *ns, const char *name, struct request *rq)
{
	json_t *obj = NULL, *body = NULL, *out = NULL;
	int rc = store_get(srv->s, t, ns, name, &obj);
	if (rc < 0)
		return send_error(c);
	json_t *sc = scale_of(t, obj);
	json_decref(obj);
	if (strcmp(method, "GET") == 0)
		return send_json(c, 200, sc);
	if (strcmp(method, "PUT") != 0 && strcmp(method, "PATCH") != 0) {
		json_decref(sc);
		return method_not_allowed(c);
	}
	if ((rc = parse_body(rq, &body)) < 0) {
		json_decref(sc);
		return send_error(c);
	}
	if (strcmp(method, "PUT") == 0) {
		json_decref(sc);
		sc = json_incref(body);
	} else {
		const char *ct = header(c, "Content-Type");
		if (ct && strstr(ct, "json-patch"))
			rc = patch_apply_json_patch(sc, body);
		else
			rc = patch_apply_merge(sc, body);
		if (rc < 0) {
			json_decref(sc);
			json_decref(body);
			err_set_status(422, "Invalid");
			return send_error(c);
		}
	}
	json_t *rep = jx_path(sc, "spec", "replicas", NULL);
	const char *rv = jx_path_str(sc, "metadata", "resourceVersion", NULL);
	json_t *patch = json_object();
	char spec_p[256];
	scale_pointer(t->scale_spec_path, ".spec.replicas", spec_p, sizeof(spec_p));
	jx_ptr_set(patch, spec_p, rep ? json_incref(rep) : json_integer(0), true);
	if (rv && strcmp(method, "PUT") == 0)
		json_object_set_new(patch, "metadata", json_pack("{s:s}", "resourceVersion", rv));
	char fm[256];
	field_manager(c, fm, sizeof(fm));
	struct ks_write_opts wo = { .dry_run = dry_run(c), .field_manager = fm, .sub = KS_SUB_SCALE };
	rc = store_patch(srv->s, t, ns, name, KS_PATCH_MERGE, patch, &wo, &out, NULL);
	json_decref(patch);
	json_decref(sc);
	json_decref(body);
	if (rc < 0)
		return send_error(c);
	sc = scale_of(t, out);
	json_decref(out);
	return send_json(c, 200, sc);
}

/* ---- resource requests ------------------------------------------------------------------- */

static enum ks_subresource sub_of(const char *sub)
{
	if (!sub)
		return KS_SUB_NONE;
	return strcmp(sub, "status") == 0 ? KS_SUB_STATUS : KS_SUB_SCALE;
}

static int patch_type(const char *ct, enum ks_patch_type *out)
{
	if (!ct)
		return -1;
	if (str_starts_with(ct, "application/json-patch+json"))
		*out = KS_PATCH_JSON;
	else if (str_starts_with(ct, "application/merge-patch+json"))
		*out = KS_PATCH_MERGE;
	else if (str_starts_with(ct, "application/strategic-merge-patch+json"))
		*out = KS_PATCH_STRATEGIC;
	else if (str_starts_with(ct, "application/apply-patch+yaml"))
		*out = KS_PATCH_APPLY;
	else
		return -1;
	return 0;
}

static enum MHD_Result do_delete(struct ks_server *srv, struct MHD_Connection *c, const struct ks_type *t,
				 const char *ns, const char *name, struct request *rq)
{
	struct ks_delete_opts dopt = { .propagation = arg(c, "propagationPolicy"), .dry_run = dry_run(c) };
	json_t *body = NULL;
	if (rq->body.len) {
		if (parse_body(rq, &body) < 0)
			return send_error(c);
		const char *pp = jx_str(body, "propagationPolicy");
		if (pp)
			dopt.propagation = pp;
		if (json_is_true(json_object_get(body, "orphanDependents")))
			dopt.propagation = "Orphan";
		dopt.precond_uid = jx_path_str(body, "preconditions", "uid", NULL);
		dopt.precond_rv = jx_path_str(body, "preconditions", "resourceVersion", NULL);
		json_t *dr = json_object_get(body, "dryRun");
		if (json_is_array(dr) && json_array_size(dr))
			dopt.dry_run = true;
	}
	if (dopt.propagation && strcmp(dopt.propagation, "Foreground") != 0 &&
	    strcmp(dopt.propagation, "Background") != 0 && strcmp(dopt.propagation, "Orphan") != 0) {
		json_decref(body);
		return send_status(c, 400, "BadRequest", "propagationPolicy: Unsupported value");
	}
	json_t *out = NULL;
	bool gone = false;
	int rc = store_delete(srv->s, t, ns, name, &dopt, &out, &gone);
	json_decref(body);
	if (rc < 0)
		return send_error(c);
	if (!gone)
		return send_json(c, 200, out);
	json_t *st = json_pack("{s:s,s:s,s:{},s:s,s:{s:s,s:s,s:s}}", "kind", "Status", "apiVersion", "v1", "metadata",
			       "status", "Success", "details", "name", name, "kind", t->plural, "uid",
			       jx_path_str(out, "metadata", "uid", NULL) ? jx_path_str(out, "metadata", "uid", NULL) : "");
	if (*t->group)
		json_object_set_new(json_object_get(st, "details"), "group", json_string(t->group));
	json_decref(out);
	return send_json(c, 200, st);
}

static enum MHD_Result do_delete_collection(struct ks_server *srv, struct MHD_Connection *c, const struct ks_type *t,
					    const char *ns)
{
	struct ks_list_opts lo = { .label_selector = arg(c, "labelSelector"), .field_selector = arg(c, "fieldSelector") };
	json_t *list = NULL;
	if (store_list(srv->s, t, ns, &lo, &list) < 0)
		return send_error(c);
	struct ks_delete_opts dopt = { .propagation = arg(c, "propagationPolicy"), .dry_run = dry_run(c) };
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(list, "items"), i, item) {
		json_t *out = NULL;
		bool gone;
		if (store_delete(srv->s, t, jx_path_str(item, "metadata", "namespace", NULL),
				 jx_path_str(item, "metadata", "name", NULL), &dopt, &out, &gone) == 0)
			json_decref(out);
	}
	json_decref(list);
	return send_json(c, 200, json_pack("{s:s,s:s,s:{},s:s}", "kind", "Status", "apiVersion", "v1", "metadata",
					   "status", "Success"));
}

/* 422 for PatchOptions: a missing/too long fieldManager, or force on a
 * non-apply patch. */
static enum MHD_Result patch_options_invalid(struct MHD_Connection *c, const char *field, const char *cause,
					     const char *detail)
{
	err_set(BERR_INVALID, "PatchOptions.meta.k8s.io \"\" is invalid: %s: %s", field, detail);
	err_set_status(422, "Invalid");
	store_err_details(NULL, "meta.k8s.io", "PatchOptions",
			  json_pack("[{s:s,s:s,s:s}]", "reason", cause, "message", detail, "field", field));
	return send_error(c);
}

static enum MHD_Result do_put(struct ks_server *srv, struct MHD_Connection *c, const struct ks_type *t,
			      const char *ns, const char *name, const struct ks_write_opts *wo, struct request *rq)
{
	json_t *body = NULL, *out = NULL;
	if (parse_body(rq, &body) < 0)
		return send_error(c);
	const char *bn = jx_path_str(body, "metadata", "name", NULL);
	if (bn && strcmp(bn, name) != 0) {
		json_decref(body);
		return send_status(c, 400, "BadRequest", "the name of the object does not match the name on the URL");
	}
	if (!bn)
		json_object_set_new(jx_obj_ensure(body, "metadata"), "name", json_string(name));
	int rc = store_update(srv->s, t, ns, body, wo, &out);
	json_decref(body);
	return rc < 0 ? send_error(c) : send_json(c, 200, out);
}

static enum MHD_Result do_patch(struct ks_server *srv, struct MHD_Connection *c, const struct ks_type *t,
				const char *ns, const char *name, const struct ks_write_opts *wo, struct request *rq)
{
	enum ks_patch_type pt;
	json_t *body = NULL, *out = NULL;
	if (patch_type(header(c, "Content-Type"), &pt) < 0) {
		err_set(BERR_UNSUPPORTED, "the body of the request was in an unknown format - accepted media types "
					  "include: application/json-patch+json, application/merge-patch+json, "
					  "application/apply-patch+yaml");
		err_set_status(415, "UnsupportedMediaType");
		store_err_details(NULL, NULL, NULL, NULL);
		return send_error(c);
	}
	if (wo->force && pt != KS_PATCH_APPLY)
		return patch_options_invalid(c, "force", "FieldValueForbidden",
					     "Forbidden: may not be specified for non-apply patch");
	const char *fmq = arg(c, "fieldManager");
	if (pt == KS_PATCH_APPLY && (!fmq || !*fmq))
		return patch_options_invalid(c, "fieldManager", "FieldValueRequired",
					     "Required value: is required for apply patch");
	/* Apply bodies may be YAML (JSON is YAML too). */
	if (pt == KS_PATCH_APPLY && rq->body.len && kyaml_load_one(rq->body.ptr, rq->body.len, NULL, &body) < 0) {
		char msg[512];
		str_copy(msg, err_msg(), sizeof(msg));
		store_bad_request("error decoding YAML: %s", msg);
		return send_error(c);
	}
	if (!body && parse_body(rq, &body) < 0)
		return send_error(c);
	bool created = false;
	int rc = store_patch(srv->s, t, ns, name, pt, body, wo, &out, &created);
	json_decref(body);
	return rc < 0 ? send_error(c) : send_json(c, created ? 201 : 200, out);
}

static enum MHD_Result do_object(struct ks_server *srv, struct MHD_Connection *c, const char *method,
				 const struct ks_type *t, const char *ns, const char *name, const char *sub,
				 struct request *rq)
{
	if (sub && strcmp(sub, "status") != 0 && strcmp(sub, "scale") != 0)
		return not_found_resource(c);
	if (sub && strcmp(sub, "status") == 0 && !t->has_status)
		return not_found_resource(c);
	if (sub && strcmp(sub, "scale") == 0) {
		if (!t->has_scale)
			return not_found_resource(c);
		return do_scale(srv, c, method, t, ns, name, rq);
	}
	if (strcmp(method, "GET") == 0) {
		if (arg_true(c, "watch"))
			return do_watch(srv, c, t, ns, name);
		struct ks_blob *b = store_get_blob(srv->s, t, ns, name);
		if (!b) {
			store_not_found(t, name);
			return send_error(c);
		}
		if (table_wanted(header(c, "Accept"))) {
			json_t *obj = blob_full(b);
			blob_unref(b);
			json_t *tbl = obj ? table_of(t, obj, arg(c, "includeObject")) : NULL;
			json_decref(obj);
			return tbl ? send_json(c, 200, tbl) : MHD_NO;
		}
		char *copy = malloc(b->len + 1);
		if (copy)
			memcpy(copy, b->json, b->len + 1);
		size_t len = b->len;
		blob_unref(b);
		return copy ? send_bytes(c, 200, "application/json", copy, len) : MHD_NO;
	}
	if (strcmp(method, "DELETE") == 0)
		return do_delete(srv, c, t, ns, name, rq);
	char fm[256];
	field_manager(c, fm, sizeof(fm));
	const char *fmq = arg(c, "fieldManager");
	if (fmq && strlen(fmq) > 128)
		return patch_options_invalid(c, "fieldManager", "FieldValueTooLong",
					     "Too long: may not be more than 128 bytes");
	struct ks_write_opts wo = { .dry_run = dry_run(c), .field_manager = fm, .sub = sub_of(sub),
				    .force = arg_true(c, "force") };
	if (strcmp(method, "PUT") == 0)
		return do_put(srv, c, t, ns, name, &wo, rq);
	if (strcmp(method, "PATCH") == 0)
		return do_patch(srv, c, t, ns, name, &wo, rq);
	return method_not_allowed(c);
}

static enum MHD_Result do_collection(struct ks_server *srv, struct MHD_Connection *c, const char *method,
				     const struct ks_type *t, const char *ns, struct request *rq)
{
	if (strcmp(method, "GET") == 0) {
		if (arg_true(c, "watch"))
			return do_watch(srv, c, t, ns, NULL);
		if (arg(c, "resourceVersionMatch") && !arg(c, "resourceVersion"))
			return send_status(c, 400, "BadRequest",
					   "resourceVersionMatch is forbidden unless resourceVersion is provided");
		struct ks_list_opts lo = { .label_selector = arg(c, "labelSelector"),
					   .field_selector = arg(c, "fieldSelector"),
					   .continue_token = arg(c, "continue") };
		const char *lim = arg(c, "limit");
		if (lim && str_to_i64(lim, &lo.limit) < 0)
			return send_status(c, 400, "BadRequest", "invalid limit");
		const char *rvs = arg(c, "resourceVersion"), *rvm = arg(c, "resourceVersionMatch");
		uint64_t rv = 0;
		if (rvm && strcmp(rvm, "Exact") != 0 && strcmp(rvm, "NotOlderThan") != 0)
			return send_status(c, 400, "BadRequest", "resourceVersionMatch: Unsupported value");
		if (rvs && *rvs && str_to_u64(rvs, &rv) < 0)
			return send_status(c, 400, "BadRequest", "invalid resourceVersion");
		/* "Exactly N" (Exact, or N with a limit): only the current state
		 * is kept, so an N older than the history window is 410. */
		bool exact = rvs && *rvs && strcmp(rvs, "0") != 0 &&
			     ((rvm && strcmp(rvm, "Exact") == 0) || (!rvm && lo.limit > 0));
		if (exact && rv < store_type_horizon(srv->s, t)) {
			err_set(BERR_GONE, "The resourceVersion for the provided list is too old.");
			err_set_status(410, "Expired");
			store_err_details(NULL, NULL, NULL, NULL);
			return send_error(c);
		}
		if (rvs && *rvs && rv > store_rv(srv->s)) {
			err_set(BERR_TIMEOUT, "Too large resource version: %s, current: %llu", rvs,
				(unsigned long long)store_rv(srv->s));
			err_set_status(504, "Timeout");
			store_err_details(NULL, NULL, NULL,
					  json_pack("[{s:s,s:s}]", "reason", "ResourceVersionTooLarge", "message",
						    "Too large resource version"));
			store_err_retry_after(1);
			return send_error(c);
		}
		if (table_wanted(header(c, "Accept"))) {
			json_t *list = NULL;
			if (store_list(srv->s, t, ns, &lo, &list) < 0)
				return send_error(c);
			json_t *tbl = table_of(t, list, arg(c, "includeObject"));
			json_decref(list);
			return send_json(c, 200, tbl);
		}
		struct buf out;
		buf_init(&out, (size_t)2 << 30);
		if (store_list_write(srv->s, t, ns, &lo, &out) < 0) {
			buf_release(&out);
			return send_error(c);
		}
		return send_buf(c, 200, &out);
	}
	if (strcmp(method, "POST") == 0) {
		json_t *body = NULL, *out = NULL;
		char fm[256];
		if (parse_body(rq, &body) < 0)
			return send_error(c);
		if (!json_is_object(body)) {
			json_decref(body);
			return send_status(c, 400, "BadRequest", "the body of the request was in an unknown format");
		}
		field_manager(c, fm, sizeof(fm));
		struct ks_write_opts wo = { .dry_run = dry_run(c), .field_manager = fm };
		int rc = store_create(srv->s, t, ns, body, &wo, &out);
		json_decref(body);
		return rc < 0 ? send_error(c) : send_json(c, 201, out);
	}
	if (strcmp(method, "DELETE") == 0)
		return do_delete_collection(srv, c, t, ns);
	return method_not_allowed(c);
}

/* /api/v1/... or /apis/{g}/{v}/...: segs after the version. */
static enum MHD_Result do_resource_path(struct ks_server *srv, struct MHD_Connection *c, const char *method,
				       const char *group, char **segs, size_t n, struct request *rq)
{
	const char *ns = NULL, *res, *name = NULL, *sub = NULL;
	if (n >= 3 && strcmp(segs[0], "namespaces") == 0 &&
	    !(n == 3 && (strcmp(segs[2], "status") == 0 || strcmp(segs[2], "finalize") == 0) && !*group)) {
		ns = segs[1];
		res = segs[2];
		name = n > 3 ? segs[3] : NULL;
		sub = n > 4 ? segs[4] : NULL;
		if (n > 5)
			return not_found_resource(c);
	} else {
		res = segs[0];
		name = n > 1 ? segs[1] : NULL;
		sub = n > 2 ? segs[2] : NULL;
		if (n > 3)
			return not_found_resource(c);
	}
	const struct ks_type *t = store_type_find(srv->s, group, res);
	if (!t)
		return not_found_resource(c);
	if (ns && !t->namespaced)
		return not_found_resource(c);
	if (sub && strcmp(sub, "finalize") == 0 && strcmp(t->kind, "Namespace") == 0 && !*t->group)
		sub = NULL; /* PUT …/namespaces/x/finalize: an ordinary update */
	if (!name) {
		if (t->namespaced && !ns && strcmp(method, "GET") != 0)
			return method_not_allowed(c);
		return do_collection(srv, c, method, t, ns, rq);
	}
	if (t->namespaced && !ns)
		return not_found_resource(c);
	return do_object(srv, c, method, t, ns, name, sub, rq);
}

/* ---- dispatch -------------------------------------------------------------------------- */

static const char *bearer_of(struct MHD_Connection *c)
{
	const char *a = header(c, "Authorization");
	if (a && strncasecmp(a, "Bearer ", 7) == 0)
		return a + 7;
	return NULL;
}

static bool client_cert_ok(struct ks_server *srv, struct MHD_Connection *c)
{
	if (!srv->tls || !srv->client_ca || !srv->verify_peers || !srv->get_peers)
		return false;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return false;
	unsigned int n = 0;
	if (!srv->get_peers(ci->tls_session, &n) || n == 0)
		return false;
	unsigned int status = 1;
	return srv->verify_peers(ci->tls_session, &status) == 0 && status == 0;
}

static bool authorized(struct ks_server *srv, struct MHD_Connection *c)
{
	const char *bearer = bearer_of(c);
	if (srv->tls && srv->client_ca && client_cert_ok(srv, c))
		return true;
	if (srv->faults) {
		if (!srv->token && !(srv->tls && srv->client_ca))
			return true;
		if (!srv->token)
			return false;
		return faults_token_accepted(srv->faults, bearer);
	}
	if (!srv->token)
		return !(srv->tls && srv->client_ca);
	return bearer && str_secure_eq(bearer, strlen(bearer), srv->token, strlen(srv->token));
}

static size_t split_path(char *path, char **segs, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *s = strtok_r(path, "/", &save); s && n < max; s = strtok_r(NULL, "/", &save))
		segs[n++] = s;
	return n;
}

/* Health, version, discovery and OpenAPI. True when url was one of them
 * (the answer in *ret). */
static bool serve_meta(struct ks_server *srv, struct MHD_Connection *c, const char *url, bool public_path,
		       enum MHD_Result *ret)
{
	const char *accept = header(c, "Accept");
	if (public_path && strcmp(url, "/version") != 0)
		return (*ret = send_bytes(c, 200, "text/plain; charset=utf-8", str_dup("ok"), 2)), true;
	if (strcmp(url, "/version") == 0)
		return (*ret = send_json(c, 200, discovery_version())), true;
	if (strcmp(url, "/api") == 0 || strcmp(url, "/api/") == 0) {
		if (discovery_wants_v2(accept))
			return (*ret = send_json_ct(c, 200, discovery_aggregated(srv->s, true), DISCOVERY_V2_CONTENT_TYPE)), true;
		return (*ret = send_json(c, 200, discovery_api_versions())), true;
	}
	if (strcmp(url, "/apis") == 0 || strcmp(url, "/apis/") == 0) {
		if (discovery_wants_v2(accept))
			return (*ret = send_json_ct(c, 200, discovery_aggregated(srv->s, false), DISCOVERY_V2_CONTENT_TYPE)), true;
		return (*ret = send_json(c, 200, discovery_group_list(srv->s))), true;
	}
	/* No OpenAPI schemas are served: kubectl then skips client-side
	 * validation (it asks /openapi/v3, then /openapi/v2 in protobuf). */
	if (strcmp(url, "/openapi/v2") == 0 && accept && strstr(accept, "protobuf"))
		return (*ret = not_found_resource(c)), true;
	if (strcmp(url, "/openapi/v2") == 0) {
		*ret = send_json(c, 200, json_pack("{s:s,s:{s:s,s:s},s:{},s:{}}", "swagger", "2.0", "info", "title",
						   "Kubernetes", "version", "v1.32.0", "paths", "definitions"));
		return true;
	}
	if (strcmp(url, "/openapi/v3") == 0)
		return (*ret = send_json(c, 200, discovery_openapi_index(srv->s))), true;
	if (str_starts_with(url, "/openapi/v3/")) {
		char gv[512];
		str_copy(gv, url + strlen("/openapi/v3/"), sizeof(gv));
		char *segs2[4];
		size_t n2 = split_path(gv, segs2, 4);
		json_t *doc = NULL;
		if (n2 == 2 && strcmp(segs2[0], "api") == 0)
			doc = discovery_openapi_gv(srv->s, "", segs2[1]);
		else if (n2 == 3 && strcmp(segs2[0], "apis") == 0)
			doc = discovery_openapi_gv(srv->s, segs2[1], segs2[2]);
		return (*ret = doc ? send_json(c, 200, doc) : not_found_resource(c)), true;
	}
	return false;
}

/* Injected faults (faults.h): latency is slept inside; a drop closes the
 * connection, a status answers it. True when the request was faulted. */
static bool serve_fault(struct ks_server *srv, struct MHD_Connection *c, const char *method, const char *url,
			enum MHD_Result *ret)
{
	struct faults_verdict v = { 0 };
	faults_before_request(srv->faults, method, url, &v);
	if (v.drop) {
		*ret = MHD_NO;
		return true;
	}
	if (!v.status)
		return false;
	json_t *body = faults_status_body(&v);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	struct MHD_Response *r = MHD_create_response_from_buffer(text ? strlen(text) : 0, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		*ret = MHD_NO;
		return true;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	if (v.retry_after_s > 0) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%d", v.retry_after_s);
		MHD_add_response_header(r, "Retry-After", ra);
	}
	*ret = MHD_queue_response(c, (unsigned)v.status, r);
	MHD_destroy_response(r);
	return true;
}

/* Authorization and identity reviews (kubectl auth can-i / whoami): every
 * authenticated caller may do everything. True when url was one. */
static bool serve_review(struct MHD_Connection *c, const char *url, enum MHD_Result *ret)
{
	if (strcmp(url, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") == 0) {
		*ret = send_json(c, 201, json_pack("{s:s,s:s,s:{},s:{},s:{s:b,s:s}}", "kind", "SelfSubjectAccessReview",
						   "apiVersion", "authorization.k8s.io/v1", "metadata", "spec", "status",
						   "allowed", 1, "reason", "kube-sim allows every authenticated request"));
		return true;
	}
	if (strcmp(url, "/apis/authentication.k8s.io/v1/selfsubjectreviews") == 0) {
		*ret = send_json(c, 201, json_pack("{s:s,s:s,s:{},s:{s:{s:s,s:[s,s]}}}", "kind", "SelfSubjectReview",
						   "apiVersion", "authentication.k8s.io/v1", "metadata", "status",
						   "userInfo", "username", "kube-sim-admin", "groups", "system:masters",
						   "system:authenticated"));
		return true;
	}
	return false;
}

static enum MHD_Result dispatch(struct ks_server *srv, struct MHD_Connection *c, const char *url, const char *method,
				struct request *rq)
{
	if (str_starts_with(url, FAULTS_ADMIN_PREFIX) && srv->faults) {
		json_t *out = NULL;
		int code = faults_admin(srv->faults, method, url, bearer_of(c), rq->body.ptr, rq->body.len, &out);
		return send_json(c, code, out ? out : json_object());
	}
	bool public_path = strcmp(url, "/healthz") == 0 || strcmp(url, "/livez") == 0 || strcmp(url, "/readyz") == 0 ||
			   strcmp(url, "/version") == 0;
	if (!public_path && !authorized(srv, c)) {
		json_t *st = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1", "metadata",
				       "status", "Failure", "message", "Unauthorized", "reason", "Unauthorized", "code", 401);
		return send_json(c, 401, st);
	}
	enum MHD_Result ret;
	if (srv->faults && serve_fault(srv, c, method, url, &ret))
		return ret;
	if (strcmp(method, "POST") == 0 && serve_review(c, url, &ret))
		return ret;
	if (serve_meta(srv, c, url, public_path, &ret))
		return ret;
	char path[2048];
	if (str_copy(path, url, sizeof(path)) >= sizeof(path))
		return not_found_resource(c);
	char *segs[16];
	size_t n = split_path(path, segs, 16);
	if (n >= 2 && strcmp(segs[0], "api") == 0) {
		if (strcmp(segs[1], "v1") != 0)
			return not_found_resource(c);
		if (n == 2)
			return send_json(c, 200, discovery_resource_list(srv->s, "", "v1"));
		return do_resource_path(srv, c, method, "", segs + 2, n - 2, rq);
	}
	if (n >= 3 && strcmp(segs[0], "apis") == 0) {
		if (n == 3) {
			json_t *l = discovery_resource_list(srv->s, segs[1], segs[2]);
			return l ? send_json(c, 200, l) : not_found_resource(c);
		}
		/* The version must be the one the type is served at. */
		char **rest = segs + 3;
		size_t rn = n - 3;
		const char *res = (rn >= 3 && strcmp(rest[0], "namespaces") == 0) ? rest[2] : rest[0];
		const struct ks_type *t = store_type_find(srv->s, segs[1], res);
		if (!t || strcmp(t->version, segs[2]) != 0)
			return not_found_resource(c);
		return do_resource_path(srv, c, method, segs[1], rest, rn, rq);
	}
	if (n == 2 && strcmp(segs[0], "apis") == 0) {
		json_t *gl = discovery_group_list(srv->s);
		size_t i;
		json_t *g;
		json_array_foreach(json_object_get(gl, "groups"), i, g) if (strcmp(jx_str(g, "name"), segs[1]) == 0) {
			json_t *out = json_deep_copy(g);
			json_object_set_new(out, "kind", json_string("APIGroup"));
			json_object_set_new(out, "apiVersion", json_string("v1"));
			json_decref(gl);
			return send_json(c, 200, out);
		}
		json_decref(gl);
	}
	return not_found_resource(c);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct ks_server *srv = cls;
	(void)version;
	struct request *rq = *con_cls;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		buf_init(&rq->body, srv->max_body);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_large && buf_append(&rq->body, upload, *upload_size) < 0)
			rq->too_large = true;
		*upload_size = 0;
		return MHD_YES;
	}
	err_clear();
	store_err_details(NULL, NULL, NULL, NULL);
	if (rq->too_large)
		return send_status(c, 413, "RequestEntityTooLarge", "the request body is too large");
	const char *ct = header(c, "Content-Type");
	if (rq->body.len && ct && strstr(ct, "protobuf") && !strstr(url, "reviews")) {
		/* kubectl's imperative create commands send protobuf; the kinds
		 * they use are decoded, others are 415. */
		json_t *obj = NULL;
		int rc = kpb_decode((const unsigned char *)rq->body.ptr, rq->body.len, &obj);
		char *js = rc == 0 ? json_dumps(obj, JSON_COMPACT) : NULL;
		json_decref(obj);
		if (!js) {
			err_set(rc == BERR_INVALID ? BERR_INVALID : BERR_UNSUPPORTED, "%s",
				rc == BERR_INVALID ? "the body of the request could not be decoded as protobuf"
						   : "the body of the request was in an unknown format - accepted media "
						     "types include: application/json, application/yaml");
			err_set_status(rc == BERR_INVALID ? 400 : 415, rc == BERR_INVALID ? "BadRequest" : "UnsupportedMediaType");
			return send_error(c);
		}
		buf_reset(&rq->body);
		rc = buf_puts(&rq->body, js);
		free(js);
		if (rc < 0)
			return send_status(c, 413, "RequestEntityTooLarge", "the request body is too large");
	}
	enum MHD_Result ret = dispatch(srv, c, url, method, rq);
	store_err_details(NULL, NULL, NULL, NULL); /* drop per-thread detail before the thread ends */
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct request *rq = *con_cls;
	if (rq) {
		buf_release(&rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

int server_start(struct ks_store *s, const struct ks_server_opts *o, struct ks_server **ret)
{
	struct ks_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return BERR_NOMEM;
	srv->s = s;
	srv->token = str_dup(o->token);
	srv->faults = o->faults;
	srv->max_body = o->max_body > 0 ? (size_t)o->max_body : (size_t)16 << 20;
	srv->tls = o->tls_cert_pem && o->tls_key_pem;
	srv->client_ca = srv->tls && o->client_ca_pem;
	if (srv->tls) {
		srv->verify_peers = (int (*)(void *, unsigned int *))dlsym(RTLD_DEFAULT, "gnutls_certificate_verify_peers2");
		srv->get_peers = (const void *(*)(void *, unsigned int *))dlsym(RTLD_DEFAULT, "gnutls_certificate_get_peers");
	}
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
	const char *host = o->host && strcmp(o->host, "localhost") != 0 ? o->host : "127.0.0.1";
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		free(srv->token);
		free(srv);
		return err_set(BERR_INVALID, "listen address \"%s\": not an IPv4 address", host);
	}
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (srv->tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem opts[8];
	size_t k = 0;
	if (srv->tls) {
		opts[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert_pem };
		opts[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key_pem };
		if (srv->client_ca)
			opts[k++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)o->client_ca_pem };
	}
	opts[k++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	srv->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, srv, MHD_OPTION_SOCK_ADDR, &addr,
				  MHD_OPTION_NOTIFY_COMPLETED, completed, srv, MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned)600, MHD_OPTION_CONNECTION_LIMIT, (unsigned)2000, MHD_OPTION_ARRAY, opts,
				  MHD_OPTION_END);
	if (!srv->d) {
		free(srv->token);
		free(srv);
		return err_set(BERR_IO, "listen on %s:%d: cannot start the HTTP server", host, o->port);
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di ? di->port : o->port;
	*ret = srv;
	return 0;
}

int server_port(const struct ks_server *srv)
{
	return srv->port;
}

void server_stop(struct ks_server *srv)
{
	if (!srv)
		return;
	atomic_store(&srv->stopping, true);
	MHD_stop_daemon(srv->d);
	free(srv->token);
	free(srv);
}
