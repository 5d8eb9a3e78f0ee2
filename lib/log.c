/* log — see log.h. Each line is assembled in a bounded stack buffer and
 * written with one write(2), so lines from threads never interleave. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"

#define LOG_LINE_MAX 8192

static enum log_level log_min_level = LOG_LEVEL_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static pthread_mutex_t log_limit_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_level_names[] = { "debug", "info", "warn", "error" };

void log_setup(enum log_level level, enum log_format format)
{
	log_min_level = level;
	log_fmt = format;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, log_level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return err_set(BERR_INVALID, "unknown log level \"%s\" (debug, info, warn, error)", s);
}

int log_parse_format(const char *s, enum log_format *out)
{
	if (!strcmp(s, "text"))
		*out = LOG_FORMAT_TEXT;
	else if (!strcmp(s, "json"))
		*out = LOG_FORMAT_JSON;
	else
		return err_set(BERR_INVALID, "unknown log format \"%s\" (text, json)", s);
	return 0;
}

bool log_enabled(enum log_level level)
{
	return level >= log_min_level;
}

/* Bounded line under construction; once full, further text is dropped and
 * the line ends with "...". */
struct log_line {
	char s[LOG_LINE_MAX];
	size_t n;
	int truncated;
};

static void line_put(struct log_line *l, const char *s, size_t len)
{
	size_t room = sizeof(l->s) - 5 - l->n;
	if (len > room) {
		len = room;
		l->truncated = 1;
	}
	memcpy(l->s + l->n, s, len);
	l->n += len;
}

static void line_puts(struct log_line *l, const char *s)
{
	line_put(l, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one
 * (stray continuation byte, truncated or overlong sequence, surrogate). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0) {
		len = 2;
		cp = s[0] & 0x1Fu;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3;
		cp = s[0] & 0x0Fu;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3Fu);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* A JSON string: quotes, backslashes and control characters escaped, bytes
 * that are not UTF-8 replaced by U+FFFD, so every line parses as JSON. */
static void line_json_string_max(struct log_line *l, const char *s, size_t max)
{
	size_t n = strnlen(s, max), i = 0, k;

	line_put(l, "\"", 1);
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			line_put(l, esc, 2);
			i++;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			line_put(l, esc, 2);
			i++;
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			line_puts(l, esc);
			i++;
		} else if ((k = utf8_len((const unsigned char *)s + i, n - i)) == 0) {
			line_puts(l, "\\ufffd");
			i++;
		} else {
			line_put(l, s + i, k);
			i += k;
		}
	}
	line_put(l, "\"", 1);
}

static void line_json_string(struct log_line *l, const char *s)
{
	line_json_string_max(l, s, SIZE_MAX);
}

/* Text as-is, except control characters, which are escaped (\n, \t, \xNN)
 * so that no message can start a forged line or drive a terminal. */
static void line_text_escaped(struct log_line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *start = s;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[4] = { '\\', 0, 0, 0 };
		size_t elen = 2;
		if (c >= 0x20 && c != 0x7F)
			continue;
		line_put(l, start, (size_t)(s - start));
		start = s + 1;
		if (c == '\n')
			esc[1] = 'n';
		else if (c == '\r')
			esc[1] = 'r';
		else if (c == '\t')
			esc[1] = 't';
		else {
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			elen = 4;
		}
		line_put(l, esc, elen);
	}
	line_put(l, start, (size_t)(s - start));
}

/* A field value in text format: bare when it is a plain word, else quoted
 * and escaped as a JSON string. */
static void line_text_value(struct log_line *l, const char *s)
{
	const char *p;

	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c == 0x7F || c == '"' || c == '=' || c == '\\')
			break;
	}
	if (*s && !*p) {
		line_puts(l, s);
		return;
	}
	line_json_string(l, s);
}

/* The start of a JSON line, up to and including "msg": (the message
 * itself is the caller's, as its length bound differs). */
static void line_json_head(struct log_line *l, const char *now, enum log_level level)
{
	line_puts(l, "{\"time\":\"");
	line_puts(l, now);
	line_puts(l, "\",\"level\":\"");
	line_puts(l, log_level_names[level]);
	line_puts(l, "\",\"msg\":");
}

/* Ends the line and writes it to stderr: one write(2) per line, continued
 * after a short write; an error drops the rest (logging never fails). */
static void line_emit(struct log_line *l)
{
	ssize_t w;

	l->s[l->n++] = '\n';
	for (size_t off = 0; off < l->n; off += (size_t)w) {
		w = write(STDERR_FILENO, l->s + off, l->n - off);
		if (w <= 0)
			break;
	}
}

static void log_vwrite(enum log_level level, unsigned dropped, const char *msg, va_list ap)
{
	struct log_line l;
	char now[32], nbuf[24];
	const char *k, *v;

	if (!log_enabled(level))
		return;
	l.n = 0;
	l.truncated = 0;
	clock_now_rfc3339(now, sizeof(now));
	if (log_fmt == LOG_FORMAT_JSON) {
		line_json_head(&l, now, level);
		line_json_string(&l, msg);
	} else {
		line_puts(&l, now);
		line_puts(&l, " ");
		line_puts(&l, log_level_names[level]);
		line_puts(&l, " ");
		line_text_escaped(&l, msg);
	}
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (!v)
			v = "";
		if (log_fmt == LOG_FORMAT_JSON) {
			line_puts(&l, ",");
			line_json_string(&l, k);
			line_puts(&l, ":");
			line_json_string(&l, v);
		} else {
			line_puts(&l, " ");
			line_text_escaped(&l, k);
			line_puts(&l, "=");
			line_text_value(&l, v);
		}
	}
	snprintf(nbuf, sizeof(nbuf), "%u", dropped);
	if (dropped) {
		line_puts(&l, log_fmt == LOG_FORMAT_JSON ? ",\"dropped\":" : " dropped=");
		line_puts(&l, nbuf);
	}
	if (log_fmt == LOG_FORMAT_JSON)
		line_puts(&l, "}");
	if (l.truncated && log_fmt == LOG_FORMAT_JSON) {
		/* A cut JSON line would not parse: write the head of the message
		 * alone, marked, instead. */
		l.n = 0;
		l.truncated = 0;
		line_json_head(&l, now, level);
		line_json_string_max(&l, msg, 1024);
		line_puts(&l, ",\"truncated\":true");
		if (dropped) {
			line_puts(&l, ",\"dropped\":");
			line_puts(&l, nbuf);
		}
		line_puts(&l, "}");
	} else if (l.truncated) {
		memcpy(l.s + l.n, "...", 3);
		l.n += 3;
	}
	line_emit(&l);
}

void log_write(enum log_level level, const char *msg, ...)
{
	va_list ap;
	va_start(ap, msg);
	log_vwrite(level, 0, msg, ap);
	va_end(ap);
}

void log_write_dropped(enum log_level level, unsigned dropped, const char *msg, ...)
{
	va_list ap;
	va_start(ap, msg);
	log_vwrite(level, dropped, msg, ap);
	va_end(ap);
}

bool log_limit_allow(struct log_limit *lim, unsigned burst, int64_t interval_ms, unsigned *ret_dropped)
{
	int64_t now = clock_mono_ms();
	bool ok;

	pthread_mutex_lock(&log_limit_lock);
	if (lim->window_start_ms == 0 || now - lim->window_start_ms >= interval_ms) {
		lim->window_start_ms = now;
		lim->printed = 0;
	}
	ok = lim->printed < burst;
	if (ok) {
		lim->printed++;
		*ret_dropped = lim->dropped;
		lim->dropped = 0;
	} else {
		lim->dropped++;
	}
	pthread_mutex_unlock(&log_limit_lock);
	return ok;
}
