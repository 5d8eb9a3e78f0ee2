/* GET /api/v1/stream/applications — Server-Sent Events of Application
 * changes.
 *
 * One Kubernetes watch of Applications feeds a hub: every event gets a
 * sequence number, is kept in a ring of the last SSE_RING events and
 * written to each subscriber allowed to see the app (RBAC get on
 * "<project>/<name>", checked per subscriber per event). The controller's
 * status writes arrive through the same watch, so a client sees a sync go
 * from Running to Synced. A new client first receives the current state of
 * every app it may see; a client that reconnects with Last-Event-ID gets
 * the events it missed from the ring (or the current state when the ring
 * no longer reaches back that far). Heartbeat comments keep proxies from
 * closing idle streams; a subscriber whose token expires is closed.
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
};

struct sse_hub {
	struct api_server *s;
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

static char *make_frame(uint64_t seq, const char *type, const json_t *obj)
{
	json_t *ev = json_pack("{s:{s:s,s:O}}", "result", "type", type, "application", obj);
	struct buf b;
	char *out = NULL;

	buf_init(&b, 64u << 20);
	if (ev && buf_printf(&b, "id: %llu\ndata: ", (unsigned long long)seq) == 0 && jx_dump_compact(ev, &b) == 0 &&
	    buf_puts(&b, "\n\n") == 0)
		out = buf_detach(&b, NULL);
	buf_release(&b);
	json_decref(ev);
	return out;
}

/* Sends s the current state (hub->mu held). */
static void send_state(struct sse_hub *h, struct sse_sub *sub)
{
	const char *name;
	json_t *e;

	json_object_foreach(h->state, name, e) {
		json_t *obj = json_object_get(e, "obj");
		char object[512];
		api_app_object(obj, object, sizeof(object));
		if (!sub_wants(sub, object, name))
			continue;
		char *f = make_frame((uint64_t)json_integer_value(json_object_get(e, "seq")), "ADDED", obj);
		if (f && httpd_stream_write(sub->stream, f, strlen(f)) < 0)
			sub->dead = true;
		free(f);
	}
}

static int on_app_event(enum kube_event_type type, json_t *obj, void *ud)
{
	struct sse_hub *h = ud;
	const char *t = type == KUBE_EV_ADDED ? "ADDED" : type == KUBE_EV_MODIFIED ? "MODIFIED" : "DELETED";
	const char *name = jx_path_str(obj, "metadata", "name", NULL);
	const char *rv = jx_path_str(obj, "metadata", "resourceVersion", NULL);
	char object[512];

	if (rv) {
		pthread_mutex_lock(&h->mu);
		free(h->last_rv);
		h->last_rv = str_dup(rv);
		pthread_mutex_unlock(&h->mu);
	}
	if (type == KUBE_EV_BOOKMARK || !name)
		return 0;
	api_app_object(obj, object, sizeof(object));
	pthread_mutex_lock(&h->mu);
	uint64_t seq = ++h->seq;
	char *frame = make_frame(seq, t, obj);
	struct sse_event *slot = &h->ring[seq % SSE_RING];
	free(slot->object);
	free(slot->name);
	free(slot->frame);
	slot->seq = seq;
	slot->object = str_dup(object);
	slot->name = str_dup(name);
	slot->frame = frame;
	if (type == KUBE_EV_DELETED)
		json_object_del(h->state, name);
	else
		json_object_set_new(h->state, name, json_pack("{s:O,s:I}", "obj", obj, "seq", (json_int_t)seq));
	for (struct sse_sub *sub = h->subs; frame && sub; sub = sub->next) {
		if (!sub->dead && sub_wants(sub, object, name) &&
		    httpd_stream_write(sub->stream, frame, strlen(frame)) < 0)
			sub->dead = true;
	}
	pthread_mutex_unlock(&h->mu);
	return 0;
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
	if (rc < 0)
		h->watch_ended = true;
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
				/* A relist replays ADDED for every app; drop apps
				 * gone meanwhile by starting from an empty state. */
				pthread_mutex_lock(&h->mu);
				json_object_clear(h->state);
				pthread_mutex_unlock(&h->mu);
			}
			int rc = watch_start(h, rv);
			free(rv);
			backoff = rc < 0 || h->watch_rc != 0 ? (backoff * 2 > 5000 ? 5000 : backoff * 2) : 200;
			pthread_mutex_lock(&h->mu);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
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
	struct kube_watch *w = h->watch;
	h->watch = NULL;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
	if (w)
		kube_watch_stop(s->kc, w);
	if (h->started)
		pthread_join(h->thread, NULL);
	for (size_t i = 0; i < SSE_RING; i++) {
		free(h->ring[i].object);
		free(h->ring[i].name);
		free(h->ring[i].frame);
	}
	json_decref(h->state);
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
		send_state(h, sub);
	}
	sub->next = h->subs;
	h->subs = sub;
	pthread_mutex_unlock(&h->mu);
}
