/* clock — see clock.h. */
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int64_t clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_format_rfc3339(time_t t, char *out, size_t size)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	if (!strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) && size)
		out[0] = '\0';
}

void clock_now_rfc3339(char *out, size_t size)
{
	clock_format_rfc3339(time(NULL), out, size);
}

int clock_parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm;
	const char *p;
	long off = 0;

	memset(&tm, 0, sizeof(tm));
	p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!p)
		return err_set(BERR_INVALID, "bad timestamp \"%s\"", s ? s : "");
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return err_set(BERR_INVALID, "bad timestamp offset \"%s\"", s);
		off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return err_set(BERR_INVALID, "bad timestamp \"%s\": no zone", s);
	}
	if (*p)
		return err_set(BERR_INVALID, "bad timestamp \"%s\": trailing text", s);
	*out = timegm(&tm) - off;
	return 0;
}

struct timespec clock_realtime_after_ms(int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

void clock_sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
