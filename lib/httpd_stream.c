/*
 * httpd_stream — the streaming responses of httpd (see httpd.h for the
 * contract, httpd_int.h for the seam with httpd.c).
 *
 * The MHD content reader runs on the connection's thread and blocks on the
 * stream's condition variable until data arrives or the stream ends; while
 * waiting it checks every STREAM_POLL_MS whether the peer has hung up, so a
 * vanished client ends its stream even when nothing is written. The first
 * reader call returns 0 bytes when nothing is queued, so the status line and
 * headers reach the client at once. Writers only queue and signal; the close
 * callback runs when MHD lets go of the response, on the connection's
 * thread, so it never runs inside a writer's locks.
 */
#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "err.h"
#include "httpd.h"
#include "httpd_int.h"

#define STREAM_POLL_MS 500
#define STREAM_BLOCK_BYTES (32u << 10)

struct httpd_stream {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	unsigned refs;
	struct httpd_streams *set;
	struct httpd_stream *next, *prev;  /* in set while the response lives */
	bool listed;

	char *q;             /* queued bytes q[head..len) */
	size_t head, len, cap, max;
	bool closing;        /* end after draining */
	bool aborted;        /* end now: client gone, overflow */
	bool first_read;
	bool response_gone;
	int fd;              /* connection socket while the request lives, else -1 */
	uint64_t sent;

	void (*on_close)(struct httpd_stream *, void *);
	void *on_close_ud;
	bool on_close_done;
};

static void stream_free(struct httpd_stream *s)
{
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	free(s->q);
	free(s);
}

void httpd_stream_ref(struct httpd_stream *s)
{
	pthread_mutex_lock(&s->mu);
	s->refs++;
	pthread_mutex_unlock(&s->mu);
}

void httpd_stream_unref(struct httpd_stream *s)
{
	bool last;
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->mu);
	if (last)
		stream_free(s);
}

/* Ends the stream abruptly (lock held): the reader closes the connection. */
static void stream_abort_locked(struct httpd_stream *s)
{
	s->aborted = true;
	free(s->q);
	s->q = NULL;
	s->head = s->len = s->cap = 0;
	/* Wake a connection thread stuck sending to a client that does not
	 * read: MHD then sees the socket fail and ends the request. */
	if (s->fd >= 0)
		shutdown(s->fd, SHUT_RDWR);
	pthread_cond_broadcast(&s->cond);
}

int httpd_stream_write(struct httpd_stream *s, const void *data, size_t len)
{
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	if (s->closing || s->aborted) {
		rc = BERR_CANCELED;
		goto out;
	}
	if (len > s->max - (s->len - s->head)) {
		stream_abort_locked(s);
		rc = BERR_TOOLARGE;
		goto out;
	}
	if (s->len + len > s->cap) {
		size_t live = s->len - s->head;
		if (s->head > 0) {
			memmove(s->q, s->q + s->head, live);
			s->head = 0;
			s->len = live;
		}
		if (s->len + len > s->cap) {
			size_t cap = s->cap ? s->cap : 4096;
			char *q;
			while (cap < s->len + len)
				cap *= 2;
			q = realloc(s->q, cap);
			if (!q) {
				stream_abort_locked(s);
				rc = BERR_NOMEM;
				goto out;
			}
			s->q = q;
			s->cap = cap;
		}
	}
	memcpy(s->q + s->len, data, len);
	s->len += len;
	pthread_cond_broadcast(&s->cond);
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void httpd_stream_close(struct httpd_stream *s)
{
	pthread_mutex_lock(&s->mu);
	s->closing = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

bool httpd_stream_closed(struct httpd_stream *s)
{
	bool ended;
	pthread_mutex_lock(&s->mu);
	ended = s->closing || s->aborted;
	pthread_mutex_unlock(&s->mu);
	return ended;
}

bool httpd_stream_wait_closed(struct httpd_stream *s, int64_t timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : clock_mono_ms() + timeout_ms;
	bool ended;
	pthread_mutex_lock(&s->mu);
	while (!(ended = (s->closing || s->aborted))) {
		struct timespec ts;
		int64_t wait_ms = 1000;
		if (deadline >= 0) {
			int64_t left = deadline - clock_mono_ms();
			if (left <= 0)
				break;
			if (left < wait_ms)
				wait_ms = left;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cond, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	return ended;
}

size_t httpd_stream_queued(struct httpd_stream *s)
{
	size_t n;
	pthread_mutex_lock(&s->mu);
	n = s->len - s->head;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Runs the on-close callback once, if the stream has ended (lock not held). */
static void stream_fire_on_close(struct httpd_stream *s)
{
	void (*fn)(struct httpd_stream *, void *) = NULL;
	void *ud = NULL;
	pthread_mutex_lock(&s->mu);
	if ((s->closing || s->aborted || s->response_gone) && !s->on_close_done && s->on_close) {
		s->on_close_done = true;
		fn = s->on_close;
		ud = s->on_close_ud;
	}
	pthread_mutex_unlock(&s->mu);
	if (fn)
		fn(s, ud);
}

void httpd_stream_on_close(struct httpd_stream *s, void (*fn)(struct httpd_stream *s, void *ud),
			   void *userdata)
{
	bool now;
	pthread_mutex_lock(&s->mu);
	s->on_close = fn;
	s->on_close_ud = userdata;
	s->on_close_done = false;
	now = s->response_gone;
	pthread_mutex_unlock(&s->mu);
	if (now)
		stream_fire_on_close(s);
}

static bool peer_hung_up(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLRDHUP};
	if (fd < 0)
		return false;
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/* MHD content reader, on the connection's thread. */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct httpd_stream *s = cls;
	ssize_t ret;
	(void)pos;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (s->aborted) {
			ret = MHD_CONTENT_READER_END_WITH_ERROR;
			break;
		}
		if (s->len > s->head) {
			size_t n = s->len - s->head;
			if (n > max)
				n = max;
			memcpy(out, s->q + s->head, n);
			s->head += n;
			if (s->head == s->len)
				s->head = s->len = 0;
			s->sent += n;
			ret = (ssize_t)n;
			break;
		}
		if (s->closing) {
			ret = MHD_CONTENT_READER_END_OF_STREAM;
			break;
		}
		if (!s->first_read) {
			/* Nothing yet: let MHD send the headers now. */
			s->first_read = true;
			ret = 0;
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += STREAM_POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&s->cond, &s->mu, &ts) == ETIMEDOUT && peer_hung_up(s->fd))
			stream_abort_locked(s);
	}
	s->first_read = true;
	pthread_mutex_unlock(&s->mu);
	return ret;
}

/* MHD calls this when the response is destroyed: the connection is done
 * with the stream. */
static void stream_response_gone(void *cls)
{
	struct httpd_stream *s = cls;
	struct httpd_streams *set = s->set;

	pthread_mutex_lock(&set->mu);
	if (s->listed) {
		if (s->prev)
			s->prev->next = s->next;
		else
			set->head = s->next;
		if (s->next)
			s->next->prev = s->prev;
		s->listed = false;
		atomic_fetch_sub(&set->open, 1);
	}
	pthread_mutex_unlock(&set->mu);

	pthread_mutex_lock(&s->mu);
	s->response_gone = true;
	s->fd = -1;
	if (!s->closing && !s->aborted)
		s->aborted = true;  /* connection ended under us: client gone */
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	stream_fire_on_close(s);
	httpd_stream_unref(s);
}

void httpd_streams_init(struct httpd_streams *set)
{
	pthread_mutex_init(&set->mu, NULL);
	set->head = NULL;
	atomic_init(&set->open, 0);
}

void httpd_streams_release(struct httpd_streams *set)
{
	pthread_mutex_destroy(&set->mu);
}

void httpd_streams_close_all(struct httpd_streams *set, int64_t drain_ms)
{
	int64_t deadline = clock_mono_ms() + drain_ms;
	pthread_mutex_lock(&set->mu);
	for (struct httpd_stream *s = set->head; s; s = s->next)
		httpd_stream_close(s);
	pthread_mutex_unlock(&set->mu);
	while (atomic_load(&set->open) > 0 && clock_mono_ms() < deadline)
		clock_sleep_ms(10);
}

int httpd_stream_new(struct httpd_streams *set, size_t max_queue, int fd, struct httpd_stream **ret,
		     struct MHD_Response **ret_resp)
{
	struct httpd_stream *s = calloc(1, sizeof(*s));
	struct MHD_Response *resp;
	if (!s)
		return err_set(BERR_NOMEM, "out of memory");
	pthread_mutex_init(&s->mu, NULL);
	monotonic_cond_init(&s->cond);
	s->set = set;
	s->max = max_queue;
	s->refs = 3;  /* the caller's, the response's and the request's */
	s->fd = fd;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK_BYTES, stream_read, s,
						 stream_response_gone);
	if (!resp) {
		stream_free(s);
		return err_set(BERR_NOMEM, "out of memory");
	}
	pthread_mutex_lock(&set->mu);
	s->next = set->head;
	if (s->next)
		s->next->prev = s;
	set->head = s;
	s->listed = true;
	atomic_fetch_add(&set->open, 1);
	pthread_mutex_unlock(&set->mu);
	*ret = s;
	*ret_resp = resp;
	return 0;
}

uint64_t httpd_stream_request_done(struct httpd_stream *s)
{
	uint64_t sent;
	pthread_mutex_lock(&s->mu);
	sent = s->sent;
	s->fd = -1;  /* MHD closes the socket after this */
	pthread_mutex_unlock(&s->mu);
	httpd_stream_unref(s);
	return sent;
}
