/* jscan — see jscan.h. */
#include "jscan.h"

#include <string.h>

#include "err.h"

static void skip_ws(const char *s, size_t len, size_t *pos)
{
	while (*pos < len && (s[*pos] == ' ' || s[*pos] == '\t' || s[*pos] == '\n' || s[*pos] == '\r'))
		(*pos)++;
}

/* *pos at an opening quote: moves past the closing one. */
static int skip_string(const char *s, size_t len, size_t *pos)
{
	size_t i = *pos + 1;
	while (i < len) {
		char c = s[i];
		if (c == '"') {
			*pos = i + 1;
			return 0;
		}
		if (c == '\\')
			i++;
		else if ((unsigned char)c < 0x20)
			break;
		i++;
	}
	return err_set(BERR_INVALID, "json: unterminated string at byte %zu", *pos);
}

/* *pos at the first byte of a value: moves past it. */
static int skip_value(const char *s, size_t len, size_t *pos)
{
	char stack[JSCAN_MAX_DEPTH];
	size_t depth = 0, i = *pos;
	int rc;

	if (i >= len)
		return err_set(BERR_INVALID, "json: value expected at byte %zu", i);
	do {
		if (i >= len)
			return err_set(BERR_INVALID, "json: unterminated value from byte %zu", *pos);
		char c = s[i];
		if (c == '"') {
			if ((rc = skip_string(s, len, &i)) < 0)
				return rc;
			continue;
		}
		if (c == '{' || c == '[') {
			if (depth == JSCAN_MAX_DEPTH)
				return err_set(BERR_INVALID, "json: nested deeper than %d", JSCAN_MAX_DEPTH);
			stack[depth++] = c == '{' ? '}' : ']';
		} else if (c == '}' || c == ']') {
			if (depth == 0 || stack[depth - 1] != c)
				return err_set(BERR_INVALID, "json: unbalanced '%c' at byte %zu", c, i);
			depth--;
		} else if (depth == 0) {
			/* A scalar at the top: up to the next delimiter. */
			while (i < len && !strchr(",}] \t\r\n", s[i]))
				i++;
			if (i == *pos)
				return err_set(BERR_INVALID, "json: value expected at byte %zu", i);
			*pos = i;
			return 0;
		}
		i++;
	} while (depth > 0);
	*pos = i;
	return 0;
}

int jscan_open(struct jscan *it, const char *text, size_t len, char open)
{
	size_t pos = 0;
	memset(it, 0, sizeof(*it));
	skip_ws(text, len, &pos);
	if (pos >= len || text[pos] != open || (open != '{' && open != '['))
		return err_set(BERR_INVALID, "json: '%c' expected", open == '[' ? '[' : '{');
	it->s = text;
	it->len = len;
	it->pos = pos + 1;
	it->close = open == '{' ? '}' : ']';
	return 0;
}

static int fail(struct jscan *it, int rc)
{
	it->done = true;
	return rc;
}

int jscan_next(struct jscan *it, struct jscan_span *key, struct jscan_span *value)
{
	const char *s = it->s;
	size_t len = it->len;
	int rc;

	if (it->done)
		return 0;
	skip_ws(s, len, &it->pos);
	if (it->pos < len && s[it->pos] == it->close) {
		it->pos++;
		it->done = true;
		return 0;
	}
	if (it->started) {
		if (it->pos >= len || s[it->pos] != ',')
			return fail(it, err_set(BERR_INVALID, "json: ',' expected at byte %zu", it->pos));
		it->pos++;
		skip_ws(s, len, &it->pos);
	}
	it->started = true;
	if (it->close == '}') {
		if (it->pos >= len || s[it->pos] != '"')
			return fail(it, err_set(BERR_INVALID, "json: key expected at byte %zu", it->pos));
		size_t k0 = it->pos;
		if ((rc = skip_string(s, len, &it->pos)) < 0)
			return fail(it, rc);
		key->p = s + k0 + 1;
		key->len = it->pos - k0 - 2;
		skip_ws(s, len, &it->pos);
		if (it->pos >= len || s[it->pos] != ':')
			return fail(it, err_set(BERR_INVALID, "json: ':' expected at byte %zu", it->pos));
		it->pos++;
		skip_ws(s, len, &it->pos);
	}
	size_t v0 = it->pos;
	if ((rc = skip_value(s, len, &it->pos)) < 0)
		return fail(it, rc);
	value->p = s + v0;
	value->len = it->pos - v0;
	return 1;
}

bool jscan_key_is(const struct jscan_span *key, const char *name)
{
	size_t n = strlen(name);
	return key->len == n && memcmp(key->p, name, n) == 0;
}

bool jscan_key_escaped(const struct jscan_span *key)
{
	return memchr(key->p, '\\', key->len) != NULL;
}
