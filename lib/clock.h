/*
 * clock — time in the forms Berth needs: a monotonic clock for deadlines and
 * rate limits, wall-clock time as Kubernetes writes it (RFC 3339, UTC, whole
 * seconds), and parsing of that form back.
 */
#ifndef BERTH_CLOCK_H
#define BERTH_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on a monotonic clock (for deadlines; not wall time). */
int64_t clock_mono_ms(void);

/* Wall-clock milliseconds since the Unix epoch. */
int64_t clock_wall_ms(void);

/* Writes t as "2024-05-01T10:00:00Z" into out[size] (size >= 21). */
void clock_format_rfc3339(time_t t, char *out, size_t size);

/* The current time as above. */
void clock_now_rfc3339(char *out, size_t size);

/* Parses "2024-05-01T10:00:00Z" (also with fractional seconds or a numeric
 * offset). 0 with *out set, or BERR_INVALID. */
int clock_parse_rfc3339(const char *s, time_t *out);

/* The CLOCK_REALTIME instant ms milliseconds from now (ms >= 0), as
 * pthread_cond_timedwait wants its deadline. */
struct timespec clock_realtime_after_ms(int64_t ms);

/* Sleeps ms milliseconds (restarting after signals). */
void clock_sleep_ms(int64_t ms);

#endif
