/* str — see str.h. */
#include "str.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int str_to_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return err_set(BERR_INVALID, "\"%s\" is not an integer", s ? s : "");
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return err_set(BERR_INVALID, "\"%s\" is not an integer in range", s);
	*out = v;
	return 0;
}

int str_to_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return err_set(BERR_INVALID, "\"%s\" is not an unsigned integer", s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return err_set(BERR_INVALID, "\"%s\" is not an unsigned integer in range", s);
	*out = v;
	return 0;
}

int str_to_int(const char *s, int min, int max, int *out)
{
	int64_t v;
	int rc = str_to_i64(s, &v);
	if (rc < 0)
		return rc;
	if (v < min || v > max)
		return err_set(BERR_INVALID, "%s is outside %d..%d", s, min, max);
	*out = (int)v;
	return 0;
}

int str_to_duration_ms(const char *s, int64_t *out)
{
	const char *p = s;
	int64_t total = 0;
	bool any = false;

	if (!s || !*s)
		return err_set(BERR_INVALID, "empty duration");
	while (*p) {
		char *end;
		double v;
		int64_t unit;

		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno || v < 0)
			return err_set(BERR_INVALID, "bad duration \"%s\"", s);
		p = end;
		if (!*p && !any)
			unit = 1000;
		else if (!strncmp(p, "ms", 2)) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (*p == 'm') {
			unit = 60000;
			p++;
		} else if (*p == 'h') {
			unit = 3600000;
			p++;
		} else
			return err_set(BERR_INVALID, "bad duration \"%s\": unknown unit", s);
		if (v * (double)unit > 9.0e15)
			return err_set(BERR_INVALID, "duration \"%s\" is too long", s);
		total += (int64_t)(v * (double)unit);
		any = true;
	}
	*out = total;
	return 0;
}

int str_to_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!s || !isdigit((unsigned char)*s))
		return err_set(BERR_INVALID, "bad size \"%s\"", s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return err_set(BERR_INVALID, "bad size \"%s\"", s);
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'k': mult = 1ULL << 10; end++; break;
	case 'm': mult = 1ULL << 20; end++; break;
	case 'g': mult = 1ULL << 30; end++; break;
	default: return err_set(BERR_INVALID, "bad size \"%s\": unknown unit", s);
	}
	if (*end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return err_set(BERR_INVALID, "bad size \"%s\"", s);
	if (v > UINT64_MAX / mult)
		return err_set(BERR_INVALID, "size \"%s\" is too large", s);
	*out = v * mult;
	return 0;
}

size_t str_copy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (size) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

char *str_printf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : p;
}

char *str_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

bool str_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool str_eq_null(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

bool str_secure_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char *x = a, *y = b;
	unsigned char diff = alen != blen;
	size_t i, n = alen < blen ? alen : blen;

	for (i = 0; i < n; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

void str_hex(const void *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = in;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

bool str_glob(const char *pattern, const char *s)
{
	return fnmatch(pattern, s, 0) == 0;
}
