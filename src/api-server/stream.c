/* GET /api/v1/stream/applications — Server-Sent Events of Application
 * changes.
 *
 * One Kubernetes watch of Applications feeds a hub: every event gets a
 * sequence number, is kept in a ring of the last SSE_RING events and
 * written to each subscriber allowed to see the app (RBAC get on
 * "<project>/<name>", checked per subscriber per event). The controller's
 * status writes arrive through the same watch, so a client sees a sync go
 * from Running to Synced. A new client first receives the current state of
 * every app it may see; a client that reconnects with Last-Event-ID, or
 * passes ?resourceVersion= (a list's metadata.resourceVersion, which is
 * the hub's sequence number the list was current at), gets the events
 * after it from the ring (or the current state when the ring no longer
 * reaches back that far). The current state is written as the client
 * reads it: the hub tops the stream's queue up in name order from a
 * cursor (memory per stream stays bounded, any number of apps fits the
 * queue cap); live events for apps past the cursor wait for it, and ids
 * are withheld until the snapshot ends with an "id:" line, so a reconnect
 * never skips apps the snapshot had not reached. Heartbeat comments keep
 * proxies from closing idle streams; a subscriber whose token expires is
 * closed.
 *
 * The hub's state doubles as the Application cache the list and get
 * endpoints read (Argo CD serves them from an informer the same way): it
 * starts from a LIST and follows the watch. Writes made through this
 * process are registered (sse_hub_expect) and reads wait, up to 2 s, until
 * the watch has delivered them, so a client reads its own writes; past
 * that, or before the first list, readers go to the Kubernetes API.
 *
 * Handlers only register the stream and return (httpd's rule: a handler
 * must not wait for its stream); the hub's thread and the watch thread
 * write. */
#include <pthread.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "jsonx.h"
#include "log.h"
#include "server.h"
#include "str.h"

#define SSE_RING 1024

struct sse_event {
	uint64_t seq;
	char *object;                /* "<project>/<name>" */
	char *name;
	char *frame;                 /* "id: N\ndata: {...}\n\n" */
};

struct sse_sub {
	struct sse_sub *next;
	struct httpd_stream *stream;
	struct principal p;
	char *name_filter;           /* ?name= */
	char *project_filter;        /* ?project= */
	volatile bool dead;          /* to be closed */
	volatile bool conn_done;     /* httpd is done with the stream: may be freed */
	bool snap;                   /* still being sent the current state */
	char *snap_after;            /* the last name the snapshot has passed (NULL: none yet) */
};

/* A subscriber's snapshot is written as the client reads: the hub tops its
 * queue up to this many bytes, in name order, from a cursor. */
#define SNAP_FILL (256u << 10)
#define SNAP_TICK_MS 20

/* A write this process made and the cache has not seen yet (read your
 * own writes: lists from the cache wait for these). */
struct expected_write {
	char name[256];
	uint64_t rv;                 /* 0: a deletion */
	int64_t deadline_ms;
};

#define EXPECT_MAX 256
#define EXPECT_WAIT_MS 2000

/* Which entries one caller may see, over the whole sorted index: cum[i]
 * is how many of names[0..i) it may. Valid while the hub's generation
 * (the set of apps and their projects) is unchanged. */
struct visible_memo {
	char *key;                   /* the caller (sse_hub_page's memo_key) */
	uint64_t gen;
	uint32_t *cum;               /* n_names + 1 counts */
	uint64_t used;               /* for eviction: the least recently used goes */
};

#define MEMO_MAX 8

struct sse_hub {
	struct api_server *s;
	bool synced;                 /* state holds a complete list */
	uint64_t gen;                /* bumped when an app comes, goes or changes project */
	uint64_t memo_clock;
	struct visible_memo memo[MEMO_MAX];
	char **names;                /* the state's names, sorted (rebuilt when dirty) */
	size_t n_names;
	bool names_dirty;
	struct expected_write expect[EXPECT_MAX];
	size_t n_expect;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct sse_sub *subs;
	struct sse_event ring[SSE_RING];
	uint64_t seq;                /* last sequence number given */
	json_t *state;               /* name -> {obj, seq} of live apps */
	struct kube_watch *watch;
	bool watch_ended;
	int watch_rc;
	char *last_rv;
	pthread_t thread;
	bool started;
};

static bool sub_wants(const struct sse_sub *sub, const char *object, const char *name)
{
	if (sub->name_filter && strcmp(sub->name_filter, name))
		return false;
	if (sub->project_filter) {
		size_t n = strlen(sub->project_filter);
		if (strncmp(object, sub->project_filter, n) || object[n] != '/')
			return false;
	}
	return api_can(&sub->p, "applications", "get", object);
}

/* An SSE frame around an application's JSON text (already dumped). */
static char *make_frame(uint64_t seq, const char *type, const char *app_json)
{
	return str_printf("id: %llu\ndata: {\"result\":{\"type\":\"%s\",\"application\":%s}}\n\n",
			  (unsigned long long)seq, type, app_json);
}

/* obj dumped compactly (newly allocated), or NULL. */
static char *dump_app(const json_t *obj)
{
	struct buf b;
	char *out = NULL;

	buf_init(&b, 64u << 20);
	if (jx_dump_compact(obj, &b) == 0)
		out = buf_detach(&b, NULL);
	buf_release(&b);
	return out;
}

static int names_rebuild(struct sse_hub *h);

/* Writes frame without its "id:" line: during a snapshot the client's
 * last event id must not move past what the snapshot has not sent yet. */
static void write_without_id(struct sse_sub *sub, const char *frame)
{
	const char *nl = strchr(frame, '\n');
	const char *d = nl ? nl + 1 : frame;

	if (httpd_stream_write(sub->stream, d, strlen(d)) < 0)
		sub->dead = true;
}

/* True when an event for name must wait for the snapshot (which will
 * send the app's state then) rather than go out now. */
static bool snap_pending(const struct sse_sub *sub, const char *name)
{
	return sub->snap && (!sub->snap_after || strcmp(name, sub->snap_after) > 0);
}

/* Tops sub's queue up with the next apps of its snapshot, in name order
 * (hub->mu held). At its end an "id:" line carries the hub's sequence
 * number: the state sent reflects every event up to it, so a reconnect
 * resumes from there. */
static void snap_fill(struct sse_hub *h, struct sse_sub *sub)
{
	size_t lo = 0, hi;

	if (!sub->snap || sub->dead)
		return;
	if (h->names_dirty && names_rebuild(h) < 0) {
		sub->dead = true;
		return;
	}
	hi = h->n_names;
	while (sub->snap_after && lo < hi) { /* first name > snap_after */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(h->names[mid], sub->snap_after) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t i = lo;
	for (; i < h->n_names && !sub->dead && httpd_stream_queued(sub->stream) < SNAP_FILL; i++) {
		json_t *e = json_object_get(h->state, h->names[i]);
		if (!e || !sub_wants(sub, jx_str(e, "object"), h->names[i]))
			continue;
		char *f = str_printf("data: {\"result\":{\"type\":\"ADDED\",\"application\":%s}}\n\n",
				     jx_str(e, "json"));
		if (!f || httpd_stream_write(sub->stream, f, strlen(f)) < 0)
			sub->dead = true;
		free(f);
	}
	if (i > lo) {
		char *a = str_dup(h->names[i - 1]);
		if (!a) {
			sub->dead = true;
			return;
		}
		free(sub->snap_after);
		sub->snap_after = a;
	}
	if (i == h->n_names && !sub->dead) {
		char mark[48];
		int n = snprintf(mark, sizeof(mark), "id: %llu\n\n", (unsigned long long)h->seq);
		if (httpd_stream_write(sub->stream, mark, (size_t)n) < 0)
			sub->dead = true;
		sub->snap = false;
		free(sub->snap_after);
		sub->snap_after = NULL;
	}
}

/* Clears the expected writes an event for name at rv satisfies. */
static void expect_seen(struct sse_hub *h, const char *name, const char *rv, bool deleted)
{
	uint64_t v = 0;

	if (rv)
		str_to_u64(rv, &v);
	for (size_t i = 0; i < h->n_expect;) {
		struct expected_write *e = &h->expect[i];
		if (!strcmp(e->name, name) && (deleted || (e->rv && v >= e->rv))) {
			*e = h->expect[--h->n_expect];
			continue;
		}
		i++;
	}
	pthread_cond_broadcast(&h->cond);
}

/* Records an event and sends it to the subscribers (hub->mu held). */
static void record_event(struct sse_hub *h, enum kube_event_type type, const json_t *obj)
{
	const char *t = type == KUBE_EV_ADDED ? "ADDED" : type == KUBE_EV_MODIFIED ? "MODIFIED" : "DELETED";
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	char object[512];

	if (!name)
		return;
	api_app_object(obj, object, sizeof(object));
	uint64_t seq = ++h->seq;
	char *text = dump_app(obj);
	if (!text)
		return;
	char *frame = make_frame(seq, t, text);
	struct sse_event *slot = &h->ring[seq % SSE_RING];
	free(slot->object);
	free(slot->name);
	free(slot->frame);
	slot->seq = seq;
	slot->object = str_dup(object);
	slot->name = str_dup(name);
	slot->frame = frame;
	json_t *old = json_object_get(json_object_get(h->state, name), "obj");
	if (type == KUBE_EV_DELETED || !old)
		h->names_dirty = true;
	if (type == KUBE_EV_DELETED || !old ||
	    !str_eq_null(jx_path_str(old, "spec", "project", NULL), jx_path_str(obj, "spec", "project", NULL)))
		h->gen++;
	if (type == KUBE_EV_DELETED)
		json_object_del(h->state, name);
	else
		json_object_set_new(h->state, name,
				    json_pack("{s:O,s:I,s:s,s:s,s:s}", "obj", obj, "seq", (json_int_t)seq, "json",
					      text, "name", name, "object", object));
	free(text);
	expect_seen(h, name, jx_path_str(obj, "metadata", "resourceVersion", NULL), type == KUBE_EV_DELETED);
	for (struct sse_sub *sub = h->subs; frame && sub; sub = sub->next) {
		if (sub->dead || !sub_wants(sub, object, name) || snap_pending(sub, name))
			continue;
		if (sub->snap)
			write_without_id(sub, frame);
		else if (httpd_stream_write(sub->stream, frame, strlen(frame)) < 0)
			sub->dead = true;
	}
}

static int on_app_event(enum kube_event_type type, json_t *obj, void *ud)
{
	struct sse_hub *h = ud;
	const char *rv = jx_path_str(obj, "metadata", "resourceVersion", NULL);

	pthread_mutex_lock(&h->mu);
	if (rv) {
		free(h->last_rv);
		h->last_rv = str_dup(rv);
	}
	if (type != KUBE_EV_BOOKMARK)
		record_event(h, type, obj);
	pthread_mutex_unlock(&h->mu);
	return 0;
}

/* Replaces the state with a fresh list (hub->mu held): changed and new
 * apps are sent as MODIFIED/ADDED, vanished ones as DELETED. */
static void apply_list(struct sse_hub *h, json_t *list)
{
	json_t *seen = json_object();
	size_t i;
	json_t *it;

	json_array_foreach(json_object_get(list, "items"), i, it) {
		const char *name = jx_path_str(it, "metadata", "name", NULL);
		if (!name)
			continue;
		json_object_set_new(seen, name, json_true());
		json_t *old = json_object_get(json_object_get(h->state, name), "obj");
		const char *orv = jx_path_str(old, "metadata", "resourceVersion", NULL);
		const char *nrv = jx_path_str(it, "metadata", "resourceVersion", NULL);
		if (!old || !str_eq_null(orv, nrv))
			record_event(h, old ? KUBE_EV_MODIFIED : KUBE_EV_ADDED, it);
	}
	const char *name;
	json_t *e, *tmp;
	json_object_foreach_safe(h->state, tmp, name, e) {
		if (!json_object_get(seen, name)) {
			json_t *obj = json_incref(json_object_get(e, "obj"));
			record_event(h, KUBE_EV_DELETED, obj);
			json_decref(obj);
		}
	}
	json_decref(seen);
	free(h->last_rv);
	h->last_rv = str_dup(jx_path_str(list, "metadata", "resourceVersion", NULL));
	h->synced = true;
	pthread_cond_broadcast(&h->cond);
}

static void on_watch_end(int rc, const char *last_rv, const char *message, void *ud)
{
	struct sse_hub *h = ud;

	(void)last_rv;
	pthread_mutex_lock(&h->mu);
	h->watch_ended = true;
	h->watch_rc = rc;
	h->watch = NULL;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
	if (rc != 0 && rc != BERR_CANCELED)
		log_limited(LOG_LEVEL_WARN, "application watch ended", "error", message ? message : "", NULL);
}

static int watch_start(struct sse_hub *h, const char *from_rv)
{
	struct kube_target t = {.api_version = MODEL_API_VERSION, .kind = MODEL_KIND_APP, .namespace_ = h->s->ns};
	struct kube_watch *w = NULL;
	int rc;

	pthread_mutex_lock(&h->mu);
	h->watch_ended = false;
	pthread_mutex_unlock(&h->mu);
	rc = kube_watch_start(h->s->kc, &t, NULL, from_rv, on_app_event, on_watch_end, h, &w);
	pthread_mutex_lock(&h->mu);
	if (rc < 0) {
		h->watch_ended = true;
		h->watch_rc = rc;
	}
	else if (!h->watch_ended)
		h->watch = w;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

/* Frees dead subscribers (hub->mu held). */
static void reap(struct sse_hub *h)
{
	struct sse_sub **pp = &h->subs;

	while (*pp) {
		struct sse_sub *sub = *pp;
		if (sub->dead)
			httpd_stream_close(sub->stream);
		/* Freed only once httpd has called on_stream_close, which
		 * uses sub. */
		if (sub->conn_done) {
			*pp = sub->next;
			httpd_stream_unref(sub->stream);
			principal_release(&sub->p);
			free(sub->name_filter);
			free(sub->project_filter);
			free(sub->snap_after);
			free(sub);
		} else {
			pp = &sub->next;
		}
	}
}

/* The hub's thread: restarts the watch when it ends, sends heartbeats,
 * closes streams whose token expired, reaps closed ones. */
static void *hub_main(void *arg)
{
	struct sse_hub *h = arg;
	int64_t next_beat = clock_mono_ms() + (int64_t)h->s->sse_heartbeat_s * 1000;
	int64_t backoff = 200;

	pthread_mutex_lock(&h->mu);
	while (!h->s->stopping) {
		if (h->watch_ended) {
			char *rv = h->watch_rc == BERR_GONE || h->watch_rc < 0 ? NULL : str_dup(h->last_rv);
			bool relist = !rv;
			pthread_mutex_unlock(&h->mu);
			if (h->watch_rc != 0)
				clock_sleep_ms(backoff);
			if (relist) {
				/* List, then watch from the list's version: the
				 * state is complete (synced) from then on. */
				struct kube_target t = {.api_version = MODEL_API_VERSION, .kind = MODEL_KIND_APP,
							.namespace_ = h->s->ns};
				json_t *list = NULL;
				if (kube_list(h->s->kc, &t, NULL, &list) < 0) {
					log_limited(LOG_LEVEL_WARN, "cannot list applications", "error", err_msg(), NULL);
					clock_sleep_ms(backoff);
					backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
					pthread_mutex_lock(&h->mu);
					continue;
				}
				pthread_mutex_lock(&h->mu);
				apply_list(h, list);
				rv = str_dup(h->last_rv);
				pthread_mutex_unlock(&h->mu);
				json_decref(list);
			}
			int rc = watch_start(h, rv);
			free(rv);
			backoff = rc < 0 || h->watch_rc != 0 ? (backoff * 2 > 5000 ? 5000 : backoff * 2) : 200;
			pthread_mutex_lock(&h->mu);
			continue;
		}
		bool snapping = false;
		for (struct sse_sub *sub = h->subs; sub; sub = sub->next) {
			snap_fill(h, sub);
			snapping |= sub->snap && !sub->dead;
		}
		struct timespec ts = clock_realtime_after_ms(snapping ? SNAP_TICK_MS : 200);
		pthread_cond_timedwait(&h->cond, &h->mu, &ts);
		int64_t now = clock_mono_ms(), wall = clock_wall_ms() / 1000;
		if (now >= next_beat) {
			next_beat = now + (int64_t)h->s->sse_heartbeat_s * 1000;
			for (struct sse_sub *sub = h->subs; sub; sub = sub->next) {
				if (sub->p.exp && wall >= sub->p.exp)
					sub->dead = true;
				else if (httpd_stream_write(sub->stream, ": heartbeat\n\n", 13) < 0)
					sub->dead = true;
			}
		}
		reap(h);
	}
	for (struct sse_sub *sub = h->subs; sub; sub = sub->next)
		sub->dead = true;
	reap(h);
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int sse_hub_start(struct api_server *s)
{
	struct sse_hub *h = calloc(1, sizeof(*h));

	if (!h || !(h->state = json_object())) {
		free(h);
		return err_set(BERR_NOMEM, "out of memory");
	}
	h->s = s;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cond, NULL);
	/* Numbering starts from the wall clock (in µs): an id or
	 * resourceVersion a client got from an earlier run of the server is
	 * then below this run's window and gets the current state, never
	 * another run's events. */
	h->seq = (uint64_t)clock_wall_ms() * 1000u;
	h->watch_ended = true; /* the thread starts the first watch */
	h->watch_rc = 0;
	s->hub = h;
	if (pthread_create(&h->thread, NULL, hub_main, h) != 0)
		return err_set(BERR_INTERNAL, "cannot start the event hub");
	h->started = true;
	return 0;
}

void sse_hub_stop(struct api_server *s)
{
	struct sse_hub *h = s->hub;

	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
	if (h->started)
		pthread_join(h->thread, NULL);
	h->started = false;
}

/* After kube_client_free: the watch's on_end (which touches the hub) has
 * run, so the hub can go. */
void sse_hub_free(struct api_server *s)
{
	struct sse_hub *h = s->hub;

	if (!h)
		return;
	/* httpd is gone (main frees it first): no stream callback can run
	 * any more, so every subscriber left is freed here. */
	while (h->subs) {
		struct sse_sub *sub = h->subs;
		h->subs = sub->next;
		httpd_stream_unref(sub->stream);
		principal_release(&sub->p);
		free(sub->name_filter);
		free(sub->project_filter);
		free(sub->snap_after);
		free(sub);
	}
	for (size_t i = 0; i < SSE_RING; i++) {
		free(h->ring[i].object);
		free(h->ring[i].name);
		free(h->ring[i].frame);
	}
	json_decref(h->state);
	for (size_t i = 0; i < MEMO_MAX; i++) {
		free(h->memo[i].key);
		free(h->memo[i].cum);
	}
	for (size_t i = 0; i < h->n_names; i++)
		free(h->names[i]);
	free(h->names);
	free(h->last_rv);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cond);
	free(h);
	s->hub = NULL;
}

static void on_stream_close(struct httpd_stream *st, void *ud)
{
	struct sse_sub *sub = ud;

	(void)st;
	sub->dead = true;
	sub->conn_done = true;
}

void api_stream_apps(struct httpd_req *req, void *ud)
{
	struct api_server *s = ud;
	struct sse_hub *h = s->hub;
	struct sse_sub *sub = calloc(1, sizeof(*sub));
	const char *last = httpd_req_header(req, "Last-Event-ID");
	const char *rv = httpd_req_query(req, "resourceVersion");
	const char *name = httpd_req_query(req, "name"), *proj = httpd_req_query(req, "project");
	uint64_t from = 0;

	if (!sub) {
		httpd_respond_error(req, 500, "out of memory");
		return;
	}
	if (!api_begin(s, req, &sub->p)) {
		free(sub);
		return;
	}
	if (name && *name)
		sub->name_filter = str_dup(name);
	if (proj && *proj)
		sub->project_filter = str_dup(proj);
	/* Last-Event-ID (set by the browser on a reconnect) is newer than
	 * the resourceVersion the stream was first opened with. */
	if (!(last && *last) && rv && *rv)
		last = rv;
	if (last && str_to_u64(last, &from) < 0)
		from = 0;
	httpd_add_header(req, "Cache-Control", "no-cache");
	httpd_add_header(req, "X-Accel-Buffering", "no");
	if (httpd_stream_start(req, 200, "text/event-stream", &sub->stream) < 0) {
		principal_release(&sub->p);
		free(sub->name_filter);
		free(sub->project_filter);
		free(sub);
		return;
	}
	httpd_stream_on_close(sub->stream, on_stream_close, sub);
	pthread_mutex_lock(&h->mu);
	httpd_stream_write(sub->stream, ": connected\n\n", 13);
	if (from && from <= h->seq && h->seq - from < SSE_RING && h->ring[(from + 1) % SSE_RING].seq == from + 1) {
		for (uint64_t q = from + 1; q <= h->seq; q++) {
			struct sse_event *e = &h->ring[q % SSE_RING];
			if (e->frame && sub_wants(sub, e->object, e->name))
				httpd_stream_write(sub->stream, e->frame, strlen(e->frame));
		}
	} else if (!from || from != h->seq) {
		sub->snap = true;
	}
	sub->next = h->subs;
	h->subs = sub;
	snap_fill(h, sub);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
}

void sse_hub_expect(struct api_server *s, const char *name, const json_t *written)
{
	struct sse_hub *h = s->hub;
	uint64_t rv = 0;
	const char *rvs = jx_path_str(written, "metadata", "resourceVersion", NULL);

	if (!h || !name)
		return;
	if (written && (!rvs || str_to_u64(rvs, &rv) < 0 || rv == 0))
		rv = UINT64_MAX; /* an RV we cannot compare: never satisfied, lists fall back */
	pthread_mutex_lock(&h->mu);
	if (h->n_expect == EXPECT_MAX)
		h->expect[0] = h->expect[--h->n_expect];
	struct expected_write *e = &h->expect[h->n_expect++];
	str_copy(e->name, name, sizeof(e->name));
	e->rv = written ? rv : 0;
	e->deadline_ms = clock_mono_ms() + EXPECT_WAIT_MS;
	pthread_mutex_unlock(&h->mu);
}

/* Waits (hub->mu held) until the cache has seen this process's writes;
 * false when it has not within their deadline (they are then dropped). */
static bool wait_consistent(struct sse_hub *h)
{
	while (h->n_expect && !h->s->stopping) {
		int64_t now = clock_mono_ms(), first = INT64_MAX;
		for (size_t i = 0; i < h->n_expect; i++)
			if (h->expect[i].deadline_ms < first)
				first = h->expect[i].deadline_ms;
		if (now >= first) {
			h->n_expect = 0;
			return false;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = ts.tv_nsec + (first - now) * 1000000L;
		ts.tv_sec += ns / 1000000000L;
		ts.tv_nsec = ns % 1000000000L;
		pthread_cond_timedwait(&h->cond, &h->mu, &ts);
	}
	return h->synced;
}

int sse_hub_get(struct api_server *s, const char *name, json_t **ret)
{
	struct sse_hub *h = s->hub;
	int rc = BERR_UNAVAILABLE;

	if (!h)
		return rc;
	pthread_mutex_lock(&h->mu);
	if (h->synced && wait_consistent(h)) {
		json_t *obj = json_object_get(json_object_get(h->state, name), "obj");
		rc = obj ? 0 : BERR_NOTFOUND;
		if (obj)
			*ret = json_incref(obj);
	}
	pthread_mutex_unlock(&h->mu);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Rebuilds the sorted name index (hub->mu held). */
static int names_rebuild(struct sse_hub *h)
{
	size_t n = json_object_size(h->state), i = 0;
	char **v = calloc(n + 1, sizeof(*v));
	const char *name;
	json_t *e;

	if (!v)
		return err_set(BERR_NOMEM, "out of memory");
	json_object_foreach(h->state, name, e) {
		if (!(v[i++] = str_dup(name))) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return err_set(BERR_NOMEM, "out of memory");
		}
	}
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t j = 0; j < h->n_names; j++)
		free(h->names[j]);
	free(h->names);
	h->names = v;
	h->n_names = n;
	h->names_dirty = false;
	return 0;
}


/* The memo for key at the current generation, built when missing
 * (hub->mu held, names current). NULL when out of memory. */
static const struct visible_memo *memo_get(struct sse_hub *h, const char *key, sse_accept_fn accept, void *ud)
{
	struct visible_memo *m = NULL, *victim = &h->memo[0];

	for (size_t i = 0; i < MEMO_MAX; i++) {
		struct visible_memo *x = &h->memo[i];
		if (x->key && x->gen == h->gen && !strcmp(x->key, key)) {
			x->used = ++h->memo_clock;
			return x;
		}
		if (!x->key ? victim->key != NULL : victim->key && x->used < victim->used)
			victim = x; /* an empty slot, else the least recently used */
	}
	m = victim;
	uint32_t *cum = malloc((h->n_names + 1) * sizeof(*cum));
	char *k = str_dup(key);
	if (!cum || !k) {
		free(cum);
		free(k);
		return NULL;
	}
	cum[0] = 0;
	for (size_t i = 0; i < h->n_names; i++) {
		json_t *e = json_object_get(h->state, h->names[i]);
		cum[i + 1] = cum[i] + (e && accept(e, ud) ? 1 : 0);
	}
	free(m->key);
	free(m->cum);
	m->key = k;
	m->cum = cum;
	m->gen = h->gen;
	m->used = ++h->memo_clock;
	return m;
}

int sse_hub_page(struct api_server *s, const char *after, size_t limit, sse_accept_fn accept, void *ud,
		 const char *memo_key, json_t **ret_entries, size_t *ret_remaining, uint64_t *ret_version)
{
	struct sse_hub *h = s->hub;
	json_t *entries = NULL;
	size_t remaining = 0, i;
	int rc = BERR_UNAVAILABLE;

	if (!h)
		return rc;
	pthread_mutex_lock(&h->mu);
	if (!h->synced || !wait_consistent(h))
		goto out;
	if (h->names_dirty && (rc = names_rebuild(h)) < 0)
		goto out;
	if (!(entries = json_array())) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	size_t lo = 0, hi = h->n_names;
	while (after && *after && lo < hi) { /* first name > after */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(h->names[mid], after) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* With a memo, whether the caller sees an entry is read from it (no
	 * RBAC check per entry, which matters for a full list). */
	const struct visible_memo *m = memo_key ? memo_get(h, memo_key, accept, ud) : NULL;
	for (i = lo; i < h->n_names && (!limit || json_array_size(entries) < limit); i++) {
		json_t *e = json_object_get(h->state, h->names[i]);
		if (e && (m ? m->cum[i + 1] > m->cum[i] : accept(e, ud)))
			json_array_append(entries, e);
	}
	if (i < h->n_names && limit && json_array_size(entries) == limit) {
		/* What is left: from the memo when the caller gave a key,
		 * else counted here. */
		if (m) {
			remaining = m->cum[h->n_names] - m->cum[i];
		} else {
			for (; i < h->n_names; i++) {
				json_t *e = json_object_get(h->state, h->names[i]);
				remaining += e && accept(e, ud);
			}
		}
	}
	*ret_entries = entries;
	*ret_remaining = remaining;
	*ret_version = h->seq;
	entries = NULL;
	rc = 0;
out:
	pthread_mutex_unlock(&h->mu);
	json_decref(entries);
	return rc;
}
