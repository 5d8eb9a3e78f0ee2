/* err — see err.h. One record per thread, fixed size: an error message can
 * never grow without bound or fail to be recorded for want of memory. */
#include "err.h"

#include <stdio.h>
#include <string.h>

#define ERR_MSG_MAX 2048

struct err_record {
	int code;
	int status;
	char reason[64];
	char msg[ERR_MSG_MAX];
};

static _Thread_local struct err_record err_rec;

int err_setv(int code, const char *fmt, va_list ap)
{
	err_rec.code = code;
	err_rec.status = 0;
	err_rec.reason[0] = '\0';
	vsnprintf(err_rec.msg, sizeof(err_rec.msg), fmt, ap);
	return code;
}

int err_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_setv(code, fmt, ap);
	va_end(ap);
	return code;
}

/* Writes "a: b" into dst[size], truncating (messages are bounded by design). */
static void join2(char *dst, size_t size, const char *a, const char *b)
{
	size_t n = 0;
	const char *parts[3] = { a, ": ", b };
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(parts[i]);
		if (l > size - 1 - n)
			l = size - 1 - n;
		memcpy(dst + n, parts[i], l);
		n += l;
	}
	dst[n] = '\0';
}

int err_prefix(int code, const char *fmt, ...)
{
	char prefix[ERR_MSG_MAX];
	char old[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err_rec.msg, sizeof(old));
	join2(err_rec.msg, sizeof(err_rec.msg), prefix, old[0] ? old : err_name(code));
	err_rec.code = code;
	return code;
}

void err_set_status(int status, const char *reason)
{
	err_rec.status = status;
	snprintf(err_rec.reason, sizeof(err_rec.reason), "%s", reason ? reason : "");
}

const char *err_msg(void)
{
	return err_rec.msg;
}

int err_code(void)
{
	return err_rec.code;
}

int err_status(void)
{
	return err_rec.status;
}

const char *err_reason(void)
{
	return err_rec.reason;
}

void err_clear(void)
{
	memset(&err_rec, 0, sizeof(err_rec));
}

const char *err_name(int code)
{
	switch (code) {
	case BERR_OK: return "ok";
	case BERR_NOMEM: return "out of memory";
	case BERR_INVALID: return "invalid input";
	case BERR_NOTFOUND: return "not found";
	case BERR_EXISTS: return "already exists";
	case BERR_CONFLICT: return "conflict";
	case BERR_FORBIDDEN: return "forbidden";
	case BERR_UNAUTHORIZED: return "unauthorized";
	case BERR_UNAVAILABLE: return "unavailable";
	case BERR_TIMEOUT: return "timed out";
	case BERR_TOOLARGE: return "too large";
	case BERR_IO: return "i/o error";
	case BERR_GONE: return "gone";
	case BERR_UNSUPPORTED: return "unsupported";
	case BERR_INTERNAL: return "internal error";
	case BERR_CANCELED: return "canceled";
	default: return "unknown error";
	}
}
