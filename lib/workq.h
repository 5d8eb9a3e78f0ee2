/*
 * workq — the controller's work queue of keys (application names): each key
 * is queued at most once however often it is added, is handed to at most
 * one worker at a time, and is not started more often than once per
 * min_interval_ms (per-key rate limiting), so a burst of watch events for
 * one app becomes one reconcile, and a hot app cannot starve the others.
 *
 * A key added while a worker holds it is marked dirty and queued again when
 * the worker calls workq_done. A delayed add (workq_add_after) keeps the
 * earliest due time when the key is already waiting. Keys are handed out in
 * due-time order (then insertion order).
 *
 * Thread-safe: any number of producers and workers.
 */
#ifndef BERTH_WORKQ_H
#define BERTH_WORKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct workq;

/* A queue whose keys are started at most once per min_interval_ms (0: no
 * limit). 0 with *ret, or BERR_NOMEM. */
int workq_new(int64_t min_interval_ms, struct workq **ret);

/* Frees the queue (workers must have returned). NULL is fine. */
void workq_free(struct workq *q);

/* Queues key (copied) to be handed out now, or as soon as its rate limit
 * allows. 0, BERR_NOMEM, or BERR_CANCELED after workq_shutdown. */
int workq_add(struct workq *q, const char *key);

/* Queues key to be handed out after delay_ms (an earlier pending due time
 * wins). Same returns as workq_add. */
int workq_add_after(struct workq *q, const char *key, int64_t delay_ms);

/* Waits up to timeout_ms (< 0: forever) for a due key and hands it to the
 * caller: *ret_key is a new string (free() it) and the key is "processing"
 * until workq_done. 0, BERR_TIMEOUT, or BERR_CANCELED after shutdown. */
int workq_get(struct workq *q, int64_t timeout_ms, char **ret_key);

/* Ends the processing of key; if it was added meanwhile it is queued again
 * (rate limit applies). */
void workq_done(struct workq *q, const char *key);

/* Wakes every waiting worker with BERR_CANCELED; later adds fail. */
void workq_shutdown(struct workq *q);

/* Keys waiting (due or not), not counting those being processed. */
size_t workq_len(struct workq *q);

/* Keys being processed now. */
size_t workq_processing(struct workq *q);

#endif
