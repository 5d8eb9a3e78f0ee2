/*
 * log — levelled, structured logging for the daemons, as text or JSON lines.
 *
 * A log line has a level, a message and optional key/value fields:
 *
 *     log_info("synced", "app", app_name, "revision", rev, NULL);
 *
 * prints, in text format,
 *     2026-11-26T10:00:00Z info synced app=guestbook revision=abc123
 * and in JSON format
 *     {"time":"2026-11-26T10:00:00Z","level":"info","msg":"synced","app":"guestbook","revision":"abc123"}
 *
 * Fields are NULL-terminated (key, value) string pairs. In JSON every string
 * is escaped (bytes that are not UTF-8 become U+FFFD), so each line parses.
 * In text, a value is quoted and escaped when it is empty or holds spaces,
 * quotes, '=', backslashes or control characters, and control characters in the
 * message and keys are escaped, so nothing logged can forge a line. A line
 * is at most 8 KiB: text lines are cut and end with "..."; a JSON line that
 * would be cut keeps only the message's head and gets "truncated":true.
 * Lines go to stderr, each with one write(2).
 *
 * Rate limiting: log_limited() drops lines beyond a burst per call site and
 * per interval, and reports how many were dropped when it next prints
 * (" dropped=N" in text, "dropped":N in JSON), so a flapping peer cannot
 * flood the log.
 *
 * Library code logs at debug level at most (STYLE.md); daemons decide what to
 * print above that. Never pass credentials as fields.
 */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

/* Sets the minimum level and the format (process-wide; call before threads
 * start or accept that lines in flight use the old setting). */
void log_setup(enum log_level level, enum log_format format);

/* Parses "debug|info|warn|error" / "text|json". 0 or BERR_INVALID. */
int log_parse_level(const char *s, enum log_level *out);
int log_parse_format(const char *s, enum log_format *out);

/* True when lines at this level are printed. */
bool log_enabled(enum log_level level);

/* Writes one line. fields: (const char *key, const char *value) pairs ending
 * with NULL. A NULL value prints as an empty string. */
void log_write(enum log_level level, const char *msg, ...) __attribute__((sentinel));

#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)

/* Per-call-site rate limit state; use through the macro below. */
struct log_limit {
	int64_t window_start_ms;
	unsigned printed;
	unsigned dropped;
};

/* Decides whether a rate-limited line may print now (at most burst lines per
 * interval_ms); returns the number dropped since the last printed line in
 * *ret_dropped. */
bool log_limit_allow(struct log_limit *lim, unsigned burst, int64_t interval_ms, unsigned *ret_dropped);

/* At most 5 lines per 10 s from this call site. */
#define log_limited(level, ...)                                                  \
	do {                                                                      \
		static struct log_limit log_limit_site_;                              \
		unsigned log_dropped_;                                                \
		if (log_enabled(level) &&                                             \
		    log_limit_allow(&log_limit_site_, 5, 10000, &log_dropped_))       \
			log_write_dropped(level, log_dropped_, __VA_ARGS__);          \
	} while (0)

/* log_write for log_limited: the line also reports how many lines from
 * the same call site were dropped since the last one printed. */
void log_write_dropped(enum log_level level, unsigned dropped, const char *msg, ...)
	__attribute__((sentinel));

#endif
