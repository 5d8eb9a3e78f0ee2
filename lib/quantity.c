/* quantity — see quantity.h. */
#include "quantity.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "str.h"

#define NANO_PER_UNIT ((__int128)1000000000)
/* The largest magnitude accepted: 2^63-1 units. */
#define MAX_NANO ((__int128)INT64_MAX * NANO_PER_UNIT)

struct suffix {
	const char *name;
	int base;     /* 10 or 2 */
	int exponent; /* power of base */
};

static const struct suffix suffixes[] = {
	{ "n", 10, -9 }, { "u", 10, -6 }, { "m", 10, -3 }, { "", 10, 0 },
	{ "k", 10, 3 },  { "M", 10, 6 },  { "G", 10, 9 },  { "T", 10, 12 },
	{ "P", 10, 15 }, { "E", 10, 18 }, { "Ki", 2, 10 }, { "Mi", 2, 20 },
	{ "Gi", 2, 30 }, { "Ti", 2, 40 }, { "Pi", 2, 50 }, { "Ei", 2, 60 },
};

static int invalid(const char *s)
{
	return err_set(BERR_INVALID, "quantity \"%s\": not a valid quantity", s);
}

/* Parses the suffix: sets *format and the scale as (base, exponent). */
static int parse_suffix(const char *sfx, enum quantity_format *format, int *base, int *exponent)
{
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcmp(sfx, suffixes[i].name) == 0) {
			*base = suffixes[i].base;
			*exponent = suffixes[i].exponent;
			*format = *base == 2 ? QUANTITY_BINARY_SI : QUANTITY_DECIMAL_SI;
			return 0;
		}
	}
	if (sfx[0] == 'e' || sfx[0] == 'E') {
		int64_t e;
		if (str_to_i64(sfx + 1, &e) < 0 || sfx[1] == '+' || e < -40 || e > 40)
			return BERR_INVALID;
		*base = 10;
		*exponent = (int)e;
		*format = QUANTITY_DECIMAL_EXPONENT;
		return 0;
	}
	return BERR_INVALID;
}

static __int128 pow10_i128(int n)
{
	__int128 r = 1;
	while (n-- > 0)
		r *= 10;
	return r;
}

/* digits * 10^-frac * base^exponent, in nanos, rounded up (away from zero)
 * when digits were dropped or the division is inexact. 0 with *ret set, or
 * -1 when the value passes MAX_NANO. */
static int scale_to_nano(__int128 digits, int frac, bool dropped_nonzero, int base, int exponent,
			 __int128 *ret)
{
	__int128 num = digits, den = 1, nano;
	int e10 = 9 - frac; /* nanos: * 10^9 */
	if (base == 10)
		e10 += exponent;
	else
		for (int i = 0; i < exponent; i++) {
			if (num > MAX_NANO * 1000)
				return -1;
			num *= 2;
		}
	if (e10 >= 0) {
		for (int i = 0; i < e10; i++) {
			if (num > MAX_NANO)
				return -1;
			num *= 10;
		}
	} else {
		if (-e10 > 36)
			den = 0; /* below any representable nano: rounds to 1n or 0 */
		else
			den = pow10_i128(-e10);
	}
	if (den == 0) {
		nano = (num != 0 || dropped_nonzero) ? 1 : 0;
	} else {
		nano = num / den;
		if (num % den != 0 || dropped_nonzero)
			nano++; /* round up, away from zero */
	}
	if (nano > MAX_NANO)
		return -1;
	*ret = nano;
	return 0;
}

int quantity_parse(const char *s, struct quantity *out)
{
	const char *p = s;
	bool neg = false;
	/* The digits, without the point, as a number with `frac` decimals.
	 * Digits past what we can hold only matter for rounding. */
	__int128 digits = 0, nano;
	int frac = 0, ndigits = 0;
	bool dropped_nonzero = false, seen_point = false;
	enum quantity_format format;
	int base, exponent;

	if (!s || !*s)
		return invalid(s ? s : "");
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; isdigit((unsigned char)*p) || *p == '.'; p++) {
		if (*p == '.') {
			if (seen_point)
				return invalid(s);
			seen_point = true;
			continue;
		}
		ndigits++;
		if (digits > MAX_NANO * 1000) { /* precision beyond what matters */
			if (!seen_point)
				return invalid(s);
			if (*p != '0')
				dropped_nonzero = true;
			continue;
		}
		digits = digits * 10 + (*p - '0');
		if (seen_point)
			frac++;
	}
	if (ndigits == 0)
		return invalid(s);
	if (parse_suffix(p, &format, &base, &exponent) < 0)
		return invalid(s);
	if (scale_to_nano(digits, frac, dropped_nonzero, base, exponent, &nano) < 0)
		return invalid(s);
	out->nano = neg ? -nano : nano;
	out->format = format;
	return 0;
}

int quantity_from_json(const json_t *v, struct quantity *out)
{
	char tmp[64];

	if (json_is_string(v))
		return quantity_parse(json_string_value(v), out);
	if (json_is_integer(v)) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
		return quantity_parse(tmp, out);
	}
	if (json_is_real(v)) {
		snprintf(tmp, sizeof(tmp), "%.15g", json_real_value(v));
		/* "%g" may write "1e+20"; the quantity grammar has no '+'. */
		char *plus = strchr(tmp, '+');
		if (plus)
			memmove(plus, plus + 1, strlen(plus));
		return quantity_parse(tmp, out);
	}
	return err_set(BERR_INVALID, "quantity: not a string or number");
}

/* Appends the decimal digits of v (>= 0) to out at *pos. */
static int put_u128(char *out, size_t size, size_t *pos, __int128 v)
{
	char rev[48];
	size_t n = 0;
	do {
		rev[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v > 0);
	if (*pos + n >= size)
		return BERR_TOOLARGE;
	while (n > 0)
		out[(*pos)++] = rev[--n];
	out[*pos] = '\0';
	return 0;
}

static int put_str(char *out, size_t size, size_t *pos, const char *s)
{
	size_t n = strlen(s);
	if (*pos + n >= size)
		return BERR_TOOLARGE;
	memcpy(out + *pos, s, n + 1);
	*pos += n;
	return 0;
}

static const char *decimal_suffix(int exponent)
{
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (suffixes[i].base == 10 && suffixes[i].exponent == exponent)
			return suffixes[i].name;
	return NULL;
}

int quantity_format(const struct quantity *q, char *out, size_t size)
{
	size_t pos = 0;
	__int128 mag = q->nano < 0 ? -q->nano : q->nano;
	enum quantity_format format = q->format;
	int rc;

	if (size == 0)
		return BERR_TOOLARGE;
	out[0] = '\0';
	if (mag == 0)
		return put_str(out, size, &pos, "0");
	if (q->nano < 0 && (rc = put_str(out, size, &pos, "-")) < 0)
		return rc;

	if (format == QUANTITY_BINARY_SI) {
		if (mag < 1024 * NANO_PER_UNIT || mag % NANO_PER_UNIT != 0)
			format = QUANTITY_DECIMAL_SI;
	}
	if (format == QUANTITY_BINARY_SI) {
		static const char *const bin[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
		__int128 units = mag / NANO_PER_UNIT;
		int k = 0;
		while (k < 6 && units % 1024 == 0) {
			units /= 1024;
			k++;
		}
		if ((rc = put_u128(out, size, &pos, units)) < 0)
			return rc;
		return put_str(out, size, &pos, bin[k]);
	}

	/* Decimal: mantissa * 10^exponent with the exponent a multiple of 3. */
	__int128 mantissa = mag;
	int exponent = -9;
	while (mantissa % 10 == 0) {
		mantissa /= 10;
		exponent++;
	}
	switch (exponent % 3) {
	case 1: case -2:
		mantissa *= 10;
		exponent -= 1;
		break;
	case 2: case -1:
		mantissa *= 100;
		exponent -= 2;
		break;
	default:
		break;
	}
	const char *sfx = format == QUANTITY_DECIMAL_SI ? decimal_suffix(exponent) : NULL;
	if ((rc = put_u128(out, size, &pos, mantissa)) < 0)
		return rc;
	if (sfx)
		return put_str(out, size, &pos, sfx);
	if (exponent == 0)
		return 0;
	char e[16];
	snprintf(e, sizeof(e), "e%d", exponent);
	return put_str(out, size, &pos, e);
}

int quantity_canonical(const char *s, char *out, size_t size)
{
	struct quantity q;
	int rc;

	if ((rc = quantity_parse(s, &q)) < 0)
		return rc;
	if ((rc = quantity_format(&q, out, size)) < 0)
		return err_set(rc, "quantity \"%s\": output buffer too small", s);
	return 0;
}

int quantity_cmp(const struct quantity *a, const struct quantity *b)
{
	return a->nano < b->nano ? -1 : a->nano > b->nano ? 1 : 0;
}

bool quantity_equal_str(const char *a, const char *b)
{
	struct quantity qa, qb;

	if (!a || !b || quantity_parse(a, &qa) < 0 || quantity_parse(b, &qb) < 0)
		return false;
	return quantity_cmp(&qa, &qb) == 0;
}

json_t *quantity_canonical_json(const json_t *v)
{
	struct quantity q;
	char s[QUANTITY_STR_MAX];

	if (quantity_from_json(v, &q) < 0 || quantity_format(&q, s, sizeof(s)) < 0)
		return NULL;
	return json_string(s);
}

int quantity_canonicalize_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	json_t *c;

	if (!v)
		return 0;
	if (!(c = quantity_canonical_json(v)))
		return err_set(BERR_INVALID, "quantity at \"%s\": not a valid quantity", key);
	if (json_is_string(v) && strcmp(json_string_value(v), json_string_value(c)) == 0) {
		json_decref(c);
		return 0;
	}
	if (json_object_set_new(obj, key, c) < 0)
		return err_set(BERR_NOMEM, "quantity: out of memory");
	return 0;
}

int quantity_canonicalize_map(json_t *map)
{
	const char *key;
	json_t *v;
	int bad = 0;

	if (!json_is_object(map))
		return 0;
	json_object_foreach(map, key, v) {
		(void)v;
		if (quantity_canonicalize_member(map, key) < 0)
			bad++;
	}
	return bad;
}
