/*
 * err — the project-wide error codes and the per-thread error record.
 *
 * Every function in Berth that can fail returns int: 0 on success, or one of
 * the negative BERR_* codes below. The code says which kind of failure it was
 * (what a caller branches on); the human detail goes into a per-thread error
 * record, read with err_msg(). This is the libgit2 model: the return value is
 * small and stable, the message is rich.
 *
 * Usage:
 *     if (n > max)
 *         return err_set(BERR_TOOLARGE, "manifest %s: %zu bytes over the %zu limit", name, n, max);
 *     ...
 *     if ((rc = load(x)) < 0)
 *         return err_prefix(rc, "load \"%s\"", path);   // "load "x": <old message>"
 *
 * Messages start lowercase, name the object, and say what failed first
 * (STYLE.md). Callers that log or print an error use err_msg().
 *
 * Optional HTTP-ish detail (a Kubernetes Status code and reason, say) can be
 * attached with err_set_status(); err_status()/err_reason() read it back.
 */
#ifndef BERTH_ERR_H
#define BERTH_ERR_H

#include <stdarg.h>

enum berr {
	BERR_OK = 0,
	BERR_NOMEM = -1,       /* allocation failed */
	BERR_INVALID = -2,     /* bad input: syntax, type, value out of range */
	BERR_NOTFOUND = -3,    /* the object does not exist */
	BERR_EXISTS = -4,      /* the object already exists */
	BERR_CONFLICT = -5,    /* stale version, concurrent change, precondition */
	BERR_FORBIDDEN = -6,   /* authenticated but not allowed */
	BERR_UNAUTHORIZED = -7,/* not authenticated, or credentials rejected */
	BERR_UNAVAILABLE = -8, /* peer unreachable or overloaded; may be retried */
	BERR_TIMEOUT = -9,     /* a deadline passed */
	BERR_TOOLARGE = -10,   /* a size or count bound was exceeded */
	BERR_IO = -11,         /* local I/O (file, pipe, socket) failed */
	BERR_GONE = -12,       /* the version asked for is no longer available (410) */
	BERR_UNSUPPORTED = -13,/* a valid request this code does not implement */
	BERR_INTERNAL = -14,   /* a bug or a broken invariant */
	BERR_CANCELED = -15,   /* the operation was stopped on request */
};

/* Sets the thread's error record to (code, formatted message) and returns
 * code, so it can be returned directly. Clears any status detail. */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int err_setv(int code, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Prepends "<formatted>: " to the current message and returns code (which may
 * differ from the recorded one: the record takes the new code). */
int err_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Attaches a protocol status (e.g. HTTP 409) and reason (e.g. "Conflict") to
 * the current record. reason may be NULL. */
void err_set_status(int status, const char *reason);

/* The current message; never NULL (an empty string when clear). Borrowed:
 * valid until the next err_* call on this thread. */
const char *err_msg(void);

/* The current code (0 when clear), status (0 when none) and reason ("" when
 * none). */
int err_code(void);
int err_status(void);
const char *err_reason(void);

/* Clears the record. */
void err_clear(void);

/* A short constant name for a code: "not found", "conflict", ... */
const char *err_name(int code);

#endif
