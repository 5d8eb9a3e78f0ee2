/*
 * httpd_int — the seam between httpd.c (server, routing, requests) and
 * httpd_stream.c (streaming responses). Not public API: only those two
 * files include it.
 */
#ifndef BERTH_HTTPD_INT_H
#define BERTH_HTTPD_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct httpd_stream;

/* The streams of one server whose responses are alive. */
struct httpd_streams {
	pthread_mutex_t mu;
	struct httpd_stream *head;
	atomic_uint_fast64_t open;
};

/* Initialises an empty set; release destroys its mutex and must come after
 * httpd_streams_close_all, when no stream is left. */
void httpd_streams_init(struct httpd_streams *set);
void httpd_streams_release(struct httpd_streams *set);

/* Ends every stream in set, then waits up to drain_ms for their
 * connections to let go of them. */
void httpd_streams_close_all(struct httpd_streams *set, int64_t drain_ms);

/* A new stream in set with its MHD response (for the caller to queue, then
 * destroy its handle). The stream starts with three references: the
 * caller's, the response's (dropped when MHD frees the response) and the
 * request's (dropped by httpd_stream_request_done). fd is the connection's
 * socket, used to notice a client that hung up. 0 or BERR_NOMEM. */
int httpd_stream_new(struct httpd_streams *set, size_t max_queue, int fd, struct httpd_stream **ret,
		     struct MHD_Response **ret_resp);

/* At request completion: returns the bytes sent, forgets the socket and
 * drops the request's reference. */
uint64_t httpd_stream_request_done(struct httpd_stream *s);

/* Initialises a condition variable whose timed waits use CLOCK_MONOTONIC
 * (so wall-clock jumps neither stall nor hurry them). */
static inline void monotonic_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

#endif
