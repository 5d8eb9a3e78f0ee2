/* kyaml_scalar — see kyaml_scalar.h. */
#include "kyaml_scalar.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct word {
	const char *s;
	unsigned char len;
	unsigned char kind;
	signed char sign;
};

#define W(s, k, sg) { s, sizeof(s) - 1, k, sg }
static const struct word scalar_words[] = {
	W("y", KYAML_SCALAR_TRUE, 0), W("Y", KYAML_SCALAR_TRUE, 0),
	W("yes", KYAML_SCALAR_TRUE, 0), W("Yes", KYAML_SCALAR_TRUE, 0), W("YES", KYAML_SCALAR_TRUE, 0),
	W("true", KYAML_SCALAR_TRUE, 0), W("True", KYAML_SCALAR_TRUE, 0), W("TRUE", KYAML_SCALAR_TRUE, 0),
	W("on", KYAML_SCALAR_TRUE, 0), W("On", KYAML_SCALAR_TRUE, 0), W("ON", KYAML_SCALAR_TRUE, 0),
	W("n", KYAML_SCALAR_FALSE, 0), W("N", KYAML_SCALAR_FALSE, 0),
	W("no", KYAML_SCALAR_FALSE, 0), W("No", KYAML_SCALAR_FALSE, 0), W("NO", KYAML_SCALAR_FALSE, 0),
	W("false", KYAML_SCALAR_FALSE, 0), W("False", KYAML_SCALAR_FALSE, 0), W("FALSE", KYAML_SCALAR_FALSE, 0),
	W("off", KYAML_SCALAR_FALSE, 0), W("Off", KYAML_SCALAR_FALSE, 0), W("OFF", KYAML_SCALAR_FALSE, 0),
	W("~", KYAML_SCALAR_NULL, 0), W("null", KYAML_SCALAR_NULL, 0), W("Null", KYAML_SCALAR_NULL, 0),
	W("NULL", KYAML_SCALAR_NULL, 0),
	W(".nan", KYAML_SCALAR_NAN, 0), W(".NaN", KYAML_SCALAR_NAN, 0), W(".NAN", KYAML_SCALAR_NAN, 0),
	W(".inf", KYAML_SCALAR_INF, 1), W(".Inf", KYAML_SCALAR_INF, 1), W(".INF", KYAML_SCALAR_INF, 1),
	W("+.inf", KYAML_SCALAR_INF, 1), W("+.Inf", KYAML_SCALAR_INF, 1), W("+.INF", KYAML_SCALAR_INF, 1),
	W("-.inf", KYAML_SCALAR_INF, -1), W("-.Inf", KYAML_SCALAR_INF, -1), W("-.INF", KYAML_SCALAR_INF, -1),
};
#undef W

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* go-yaml v2's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool is_yaml_float(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i < n && s[i] == '.') {
		i++;
		for (d = i; i < n && is_digit(s[i]); i++)
			;
		if (i == d)
			return false;
	} else {
		for (d = i; i < n && is_digit(s[i]); i++)
			;
		if (i == d)
			return false;
		if (i < n && s[i] == '.')
			for (i++; i < n && is_digit(s[i]); i++)
				;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && is_digit(s[i]); i++)
			;
		if (i == d)
			return false;
	}
	return i == n;
}

/* strtod on s[n] (a validated decimal float). False when out of double
 * range (Go's ParseFloat returns an error there). */
static bool parse_float(const char *s, size_t n, double *out)
{
	char tmp[128];
	char *heap = NULL, *p = tmp, *end;
	double d;
	bool ok;

	if (n >= sizeof(tmp)) {
		heap = malloc(n + 1);
		if (!heap)
			return false;
		p = heap;
	}
	memcpy(p, s, n);
	p[n] = '\0';
	errno = 0;
	d = strtod(p, &end);
	ok = end == p + n && !(errno == ERANGE && isinf(d));
	free(heap);
	if (ok)
		*out = d;
	return ok;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/* Go's strconv.ParseInt(s, 0, 64) and, failing that, ParseUint(s, 0, 64):
 * 1 = fits int64 (*i), 2 = fits only uint64 (*u), 0 = not an integer. */
static int parse_go_int(const char *s, size_t n, long long *i, uint64_t *u)
{
	bool neg = false, sign = false;
	unsigned base = 10;
	uint64_t v = 0;
	size_t k = 0;

	if (k < n && (s[k] == '+' || s[k] == '-')) {
		neg = s[k] == '-';
		sign = true;
		k++;
	}
	if (k < n && s[k] == '0') {
		char c = k + 1 < n ? (char)(s[k + 1] | 0x20) : 0;
		if (n - k >= 3 && c == 'b') {
			base = 2;
			k += 2;
		} else if (n - k >= 3 && c == 'o') {
			base = 8;
			k += 2;
		} else if (n - k >= 3 && c == 'x') {
			base = 16;
			k += 2;
		} else {
			base = 8;
			k += 1;
			if (k == n) {
				*i = 0;
				return 1;
			}
		}
	}
	if (k == n)
		return 0;
	for (; k < n; k++) {
		int dv = digit_value(s[k]);
		if (dv >= (int)base)
			return 0;
		if (v > (UINT64_MAX - (uint64_t)dv) / base)
			return 0;
		v = v * base + (uint64_t)dv;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return 0;
		*i = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(long long)v;
		return 1;
	}
	if (v <= (uint64_t)INT64_MAX) {
		*i = (long long)v;
		return 1;
	}
	if (sign) /* ParseUint takes no sign */
		return 0;
	*u = v;
	return 2;
}

/* Go's strconv.ParseInt(s, 2, 64), or of "-" + s when negate: an optional
 * sign (not after negate's "-"), then binary digits. */
static bool parse_base2(const char *s, size_t n, bool negate, long long *out)
{
	bool neg = negate;
	uint64_t v = 0;
	size_t i = 0;

	if (!negate && i < n && (s[i] == '+' || s[i] == '-')) {
		neg = s[i] == '-';
		i++;
	}
	if (i == n)
		return false;
	for (; i < n; i++) {
		if (s[i] != '0' && s[i] != '1')
			return false;
		if (v > ((uint64_t)INT64_MAX + 1) / 2)
			return false;
		v = v * 2 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		return false;
	*out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(long long)v) : (long long)v;
	return true;
}

/* The 'D'/'S' branch of go-yaml v2's resolve: digits or a sign first. */
static void resolve_number(const char *s, size_t len, struct kyaml_scalar *out)
{
	char tmp[128];
	char *heap = NULL, *p = tmp;
	size_t n = 0, k;
	long long iv;
	uint64_t uv;
	double d;
	int r;

	out->kind = KYAML_SCALAR_STRING;
	if (len >= sizeof(tmp)) {
		heap = malloc(len + 1);
		if (!heap)
			return;
		p = heap;
	}
	for (k = 0; k < len; k++)
		if (s[k] != '_')
			p[n++] = s[k];
	r = parse_go_int(p, n, &iv, &uv);
	if (r == 1) {
		out->kind = KYAML_SCALAR_INT;
		out->i = iv;
	} else if (r == 2) {
		out->kind = KYAML_SCALAR_FLOAT;
		out->d = (double)uv;
	} else if (is_yaml_float(p, n) && parse_float(p, n, &d)) {
		out->kind = KYAML_SCALAR_FLOAT;
		out->d = d;
	} else if (n > 2 && !memcmp(p, "0b", 2) && parse_base2(p + 2, n - 2, false, &iv)) {
		/* go-yaml's own binary branch: ParseInt(rest, 2) takes a sign */
		out->kind = KYAML_SCALAR_INT;
		out->i = iv;
	} else if (n > 3 && !memcmp(p, "-0b", 3) && parse_base2(p + 3, n - 3, true, &iv)) {
		out->kind = KYAML_SCALAR_INT;
		out->i = iv;
	}
	free(heap);
}

/* Go's rule for "_" in number literals: only between two digits (hex
 * digits after 0x), or between a radix prefix and a digit. */
static bool go_underscores_ok(const char *s, size_t n)
{
	char saw = '^';
	size_t i = 0;
	bool hex = false;

	if (n >= 1 && (s[0] == '-' || s[0] == '+')) {
		s++;
		n--;
	}
	if (n >= 2 && s[0] == '0' && strchr("bBoOxX", s[1])) {
		i = 2;
		saw = '0';
		hex = s[1] == 'x' || s[1] == 'X';
	}
	for (; i < n; i++) {
		char c = s[i];
		if (is_digit(c) || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))) {
			saw = '0';
			continue;
		}
		if (c == '_') {
			if (saw != '0')
				return false;
			saw = '_';
			continue;
		}
		if (saw == '_')
			return false;
		saw = '!';
	}
	return saw != '_';
}

void kyaml_scalar_resolve(const char *s, size_t len, struct kyaml_scalar *out)
{
	char c;
	double d;

	out->kind = KYAML_SCALAR_STRING;
	out->i = 0;
	out->d = 0;
	if (len == 0) {
		out->kind = KYAML_SCALAR_NULL;
		return;
	}
	c = s[0];
	if (!(is_digit(c) || c == '+' || c == '-' || c == '.' || strchr("yYnNtTfFoO~", c)))
		return;
	if (len <= 5) {
		for (size_t i = 0; i < sizeof(scalar_words) / sizeof(scalar_words[0]); i++) {
			const struct word *w = &scalar_words[i];
			if (w->len == len && !memcmp(w->s, s, len)) {
				out->kind = (enum kyaml_scalar_kind)w->kind;
				if (w->kind == KYAML_SCALAR_INF)
					out->d = w->sign < 0 ? -INFINITY : INFINITY;
				else if (w->kind == KYAML_SCALAR_NAN)
					out->d = NAN;
				return;
			}
		}
	}
	if (c == '.') {
		/* go-yaml hands these to Go's ParseFloat as they are, which takes
		 * "_" between digits (Go literal syntax) */
		if (go_underscores_ok(s, len)) {
			char tmp[128];
			size_t n = 0;
			for (size_t i = 0; i < len && n < sizeof(tmp); i++)
				if (s[i] != '_')
					tmp[n++] = s[i];
			if (n < sizeof(tmp) && is_yaml_float(tmp, n) && parse_float(tmp, n, &d)) {
				out->kind = KYAML_SCALAR_FLOAT;
				out->d = d;
			}
		}
		return;
	}
	if (is_digit(c) || c == '+' || c == '-')
		resolve_number(s, len, out);
}

/* Shortest "%.*e" digits (up to max_prec) that read back as the same value
 * after cast through the given width. */
static void shortest_e(double d, int max_prec, bool as_float, char *tmp, size_t size)
{
	for (int p = 1; p <= max_prec; p++) {
		snprintf(tmp, size, "%.*e", p - 1, d);
		double back = strtod(tmp, NULL);
		if (as_float ? (float)back == (float)d : back == d)
			return;
	}
}

/* Splits "%.Ne" output into digits (no dot, no sign) and the exponent. */
static void split_e(const char *e, bool *neg, char *digits, size_t *nd, int *exp10)
{
	const char *p = e;
	size_t n = 0;

	*neg = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	for (; *p && *p != 'e'; p++)
		if (is_digit(*p))
			digits[n++] = *p;
	/* trailing zeros carry no information (keep at least one digit) */
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
	*nd = n;
	*exp10 = *p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0;
}

size_t kyaml_format_float_key(double d, char *out, size_t size)
{
	char tmp[64], digits[40], res[64];
	size_t nd, n = 0;
	bool neg;
	int x, dp;

	if (isnan(d))
		return (size_t)snprintf(out, size, ".nan");
	if (isinf(d))
		return (size_t)snprintf(out, size, "%s", d < 0 ? "-.inf" : ".inf");
	d = (double)(float)d;
	shortest_e(d, 9, true, tmp, sizeof(tmp));
	split_e(tmp, &neg, digits, &nd, &x);
	if (nd == 1 && digits[0] == '0')
		return (size_t)snprintf(out, size, "%s0", neg ? "-" : "");
	dp = x + 1;
	if (neg)
		res[n++] = '-';
	if (x < -4 || x >= 6) {
		res[n++] = digits[0];
		if (nd > 1) {
			res[n++] = '.';
			memcpy(res + n, digits + 1, nd - 1);
			n += nd - 1;
		}
		n += (size_t)snprintf(res + n, sizeof(res) - n, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
	} else if (dp <= 0) {
		res[n++] = '0';
		res[n++] = '.';
		for (int z = 0; z < -dp; z++)
			res[n++] = '0';
		memcpy(res + n, digits, nd);
		n += nd;
	} else {
		for (int k = 0; k < dp; k++)
			res[n++] = (size_t)k < nd ? digits[k] : '0';
		if ((size_t)dp < nd) {
			res[n++] = '.';
			memcpy(res + n, digits + dp, nd - (size_t)dp);
			n += nd - (size_t)dp;
		}
	}
	res[n] = '\0';
	return (size_t)snprintf(out, size, "%s", res);
}

size_t kyaml_format_real(double d, char *out, size_t size)
{
	char tmp[40];
	size_t n;

	for (int p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*g", p, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	n = strlen(tmp);
	if (!strpbrk(tmp, ".eEn") && n + 2 < sizeof(tmp)) {
		memcpy(tmp + n, ".0", 3);
		n += 2;
	}
	return (size_t)snprintf(out, size, "%s", tmp);
}
