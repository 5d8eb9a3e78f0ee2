/* jsonx — see jsonx.h. */
#include "jsonx.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "str.h"

size_t jx_depth(const json_t *v)
{
	size_t max = 0, d;
	const char *k;
	json_t *c;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, c) {
			d = jx_depth(c);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, c) {
			d = jx_depth(c);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	return 0;
}

/* Checks nesting before jansson parses (jansson recurses without a bound of
 * ours): counts brackets outside strings, and names the line and column of
 * the first bracket too deep. */
static int check_depth(const char *data, size_t len, size_t max_depth)
{
	size_t depth = 0, i, line = 1, line_start = 0;
	int in_str = 0;

	for (i = 0; i < len; i++) {
		char c = data[i];
		if (c == '\n') {
			line++;
			line_start = i + 1;
		}
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max_depth)
				return err_set(BERR_INVALID, "json: line %zu column %zu: nesting deeper than %zu levels",
					       line, i - line_start + 1, max_depth);
		} else if (c == '}' || c == ']') {
			if (depth)
				depth--;
		}
	}
	return 0;
}

int jx_parse(const char *data, size_t len, size_t max_bytes, size_t max_depth, json_t **ret)
{
	json_error_t jerr;
	json_t *v;
	int rc;

	if (len > max_bytes)
		return err_set(BERR_TOOLARGE, "json: %zu bytes is over the %zu-byte limit", len, max_bytes);
	if ((rc = check_depth(data, len, max_depth)) < 0)
		return rc;
	v = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!v)
		return err_set(BERR_INVALID, "json: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	*ret = v;
	return 0;
}

/* Decodes one reference token [s, s+n) into out (NUL-terminated). */
static int ptr_token(const char *s, size_t n, struct buf *out)
{
	size_t i;
	buf_reset(out);
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '~') {
			if (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1'))
				return err_set(BERR_INVALID, "json pointer: bad escape");
			c = s[i + 1] == '0' ? '~' : '/';
			i++;
		}
		if (buf_putc(out, c) < 0)
			return BERR_TOOLARGE;
	}
	return 0;
}

static int parse_index(const char *tok, size_t *out)
{
	uint64_t v;
	if (!*tok || (tok[0] == '0' && tok[1]) || str_to_u64(tok, &v) < 0)
		return BERR_INVALID;
	*out = (size_t)v;
	return 0;
}

/* Walks to the parent of the last token; *ret_parent borrowed, last token in
 * last. */
static int ptr_walk(json_t *root, const char *ptr, bool create, json_t **ret_parent, struct buf *last)
{
	json_t *cur = root;
	struct buf tok;
	const char *p, *next;
	int rc = 0;

	if (*ptr != '/')
		return err_set(BERR_INVALID, "json pointer \"%s\" must start with '/'", ptr);
	buf_init(&tok, 4096);
	p = ptr + 1;
	for (;;) {
		next = strchr(p, '/');
		if (!next) {
			rc = ptr_token(p, strlen(p), last);
			break;
		}
		if ((rc = ptr_token(p, (size_t)(next - p), &tok)) < 0)
			break;
		if (json_is_object(cur)) {
			json_t *child = json_object_get(cur, tok.ptr);
			if (!child && create) {
				child = json_object();
				if (!child || json_object_set_new(cur, tok.ptr, child) < 0) {
					rc = err_set(BERR_NOMEM, "json pointer: out of memory");
					break;
				}
			}
			cur = child;
		} else if (json_is_array(cur)) {
			size_t idx;
			if (parse_index(tok.ptr, &idx) < 0) {
				rc = err_set(BERR_INVALID, "json pointer \"%s\": \"%s\" is not an array index", ptr, tok.ptr);
				break;
			}
			cur = json_array_get(cur, idx);
		} else {
			cur = NULL;
		}
		if (!cur) {
			rc = err_set(BERR_NOTFOUND, "json pointer \"%s\": no parent", ptr);
			break;
		}
		p = next + 1;
	}
	buf_release(&tok);
	if (rc == 0)
		*ret_parent = cur;
	return rc;
}

json_t *jx_ptr_get(json_t *root, const char *ptr)
{
	json_t *parent, *res = NULL;
	struct buf last;

	if (!root || !ptr)
		return NULL;
	if (!*ptr)
		return root;
	buf_init(&last, 4096);
	if (ptr_walk(root, ptr, false, &parent, &last) == 0) {
		if (json_is_object(parent)) {
			res = json_object_get(parent, last.ptr);
		} else if (json_is_array(parent)) {
			size_t idx;
			if (parse_index(last.ptr, &idx) == 0)
				res = json_array_get(parent, idx);
		}
	}
	buf_release(&last);
	return res;
}

int jx_ptr_set(json_t *root, const char *ptr, json_t *value, bool create_parents)
{
	json_t *parent;
	struct buf last;
	int rc;

	if (!*ptr) {
		json_decref(value);
		return err_set(BERR_INVALID, "json pointer: cannot replace the root");
	}
	buf_init(&last, 4096);
	rc = ptr_walk(root, ptr, create_parents, &parent, &last);
	if (rc == 0) {
		if (json_is_object(parent)) {
			rc = json_object_set(parent, last.ptr, value) ? err_set(BERR_NOMEM, "json: out of memory") : 0;
		} else if (json_is_array(parent)) {
			size_t idx;
			if (!strcmp(last.ptr, "-"))
				rc = json_array_append(parent, value) ? err_set(BERR_NOMEM, "json: out of memory") : 0;
			else if (parse_index(last.ptr, &idx) < 0 || idx > json_array_size(parent))
				rc = err_set(BERR_INVALID, "json pointer \"%s\": bad array index", ptr);
			else if (idx == json_array_size(parent))
				rc = json_array_append(parent, value) ? err_set(BERR_NOMEM, "json: out of memory") : 0;
			else
				rc = json_array_set(parent, idx, value) ? err_set(BERR_NOMEM, "json: out of memory") : 0;
		} else {
			rc = err_set(BERR_INVALID, "json pointer \"%s\": parent is not a container", ptr);
		}
	}
	json_decref(value);
	buf_release(&last);
	return rc;
}

int jx_ptr_del(json_t *root, const char *ptr)
{
	json_t *parent;
	struct buf last;
	int rc;

	if (!*ptr)
		return err_set(BERR_INVALID, "json pointer: cannot delete the root");
	buf_init(&last, 4096);
	rc = ptr_walk(root, ptr, false, &parent, &last);
	if (rc == 0) {
		size_t idx;
		if (json_is_object(parent))
			rc = json_object_del(parent, last.ptr) ? err_set(BERR_NOTFOUND, "json pointer \"%s\": not found", ptr) : 0;
		else if (json_is_array(parent) && parse_index(last.ptr, &idx) == 0)
			rc = json_array_remove(parent, idx) ? err_set(BERR_NOTFOUND, "json pointer \"%s\": not found", ptr) : 0;
		else
			rc = err_set(BERR_NOTFOUND, "json pointer \"%s\": not found", ptr);
	}
	buf_release(&last);
	return rc;
}

int jx_ptr_escape(struct buf *out, const char *token)
{
	int rc = 0;
	for (; *token && rc == 0; token++) {
		if (*token == '~')
			rc = buf_append(out, "~0", 2);
		else if (*token == '/')
			rc = buf_append(out, "~1", 2);
		else
			rc = buf_putc(out, *token);
	}
	return rc;
}

struct dump_ctx {
	struct buf *out;
	int rc;
};

static int dump_cb(const char *buffer, size_t size, void *data)
{
	struct dump_ctx *c = data;
	if (c->rc == 0)
		c->rc = buf_append(c->out, buffer, size);
	return c->rc == 0 ? 0 : -1;
}

static int dump_flags(const json_t *v, struct buf *out, size_t flags)
{
	struct dump_ctx c = { out, 0 };
	if (json_dump_callback(v, dump_cb, &c, flags | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)) < 0)
		return c.rc ? c.rc : err_set(BERR_INVALID, "json: cannot serialise value");
	return 0;
}

/* The canonical writer is ours rather than jansson's sorted compact dump so
 * that a real holding a whole number (below 2^53) is written as the integer
 * it equals: jx_equal treats 1 and 1.0 as equal, so their canonical forms
 * (and hashes) must be equal too. Strings are escaped as jansson does. */
static int canon_string(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, start = 0;
	int rc = buf_putc(out, '"');

	for (i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = { '\\', 0, 0, 0, 0, 0, 0 };
		size_t elen = 2;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		rc = buf_append(out, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		if (rc == 0)
			rc = buf_append(out, esc, elen);
	}
	if (rc == 0)
		rc = buf_append(out, s + start, n - start);
	if (rc == 0)
		rc = buf_putc(out, '"');
	return rc;
}

struct canon_key {
	const char *k;
	size_t len;
	json_t *v;
};

static int canon_key_cmp(const void *a, const void *b)
{
	const struct canon_key *x = a, *y = b;
	int c = memcmp(x->k, y->k, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int canon(const json_t *v, struct buf *out, size_t depth)
{
	double d;
	int rc = 0;

	if (depth > 4096)
		return err_set(BERR_TOOLARGE, "json: value nests deeper than 4096 levels");
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0, klen;
		struct canon_key *keys = malloc((n ? n : 1) * sizeof(*keys));
		const char *k;
		json_t *c;
		if (!keys)
			return err_set(BERR_NOMEM, "json: out of memory");
		json_object_keylen_foreach((json_t *)v, k, klen, c) {
			keys[i++] = (struct canon_key){ k, klen, c };
		}
		qsort(keys, n, sizeof(*keys), canon_key_cmp);
		rc = buf_putc(out, '{');
		for (i = 0; i < n && rc == 0; i++) {
			if (i > 0)
				rc = buf_putc(out, ',');
			if (rc == 0)
				rc = canon_string(out, keys[i].k, keys[i].len);
			if (rc == 0)
				rc = buf_putc(out, ':');
			if (rc == 0)
				rc = canon(keys[i].v, out, depth + 1);
		}
		free(keys);
		return rc ? rc : buf_putc(out, '}');
	}
	case JSON_ARRAY: {
		size_t i, n = json_array_size(v);
		rc = buf_putc(out, '[');
		for (i = 0; i < n && rc == 0; i++) {
			if (i > 0)
				rc = buf_putc(out, ',');
			if (rc == 0)
				rc = canon(json_array_get(v, i), out, depth + 1);
		}
		return rc ? rc : buf_putc(out, ']');
	}
	case JSON_STRING:
		return canon_string(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		d = json_real_value(v);
		if (d == trunc(d) && fabs(d) < 9007199254740992.0)
			return buf_printf(out, "%lld", (long long)d);
		/* not whole (or huge): %.17g always holds a '.' or an 'e' then */
		return buf_printf(out, "%.17g", d);
	case JSON_TRUE:
		return buf_puts(out, "true");
	case JSON_FALSE:
		return buf_puts(out, "false");
	case JSON_NULL:
		return buf_puts(out, "null");
	}
	return err_set(BERR_INVALID, "json: cannot serialise value");
}

int jx_dump_canonical(const json_t *v, struct buf *out)
{
	size_t start = out->len;
	int rc;

	if (!v)
		return err_set(BERR_INVALID, "json: cannot serialise NULL");
	rc = canon(v, out, 0);
	if (rc < 0)
		buf_truncate(out, start);
	return rc;
}

int jx_dump_compact(const json_t *v, struct buf *out)
{
	return dump_flags(v, out, JSON_COMPACT);
}

int jx_dump_pretty(const json_t *v, struct buf *out)
{
	return dump_flags(v, out, JSON_INDENT(2));
}

int jx_hash(const json_t *v, uint8_t out[32])
{
	struct buf b;
	unsigned int n = 32;
	int rc;

	buf_init(&b, JX_MAX_BYTES * 4);
	rc = jx_dump_canonical(v, &b);
	if (rc == 0 && !EVP_Digest(b.ptr, b.len, out, &n, EVP_sha256(), NULL))
		rc = err_set(BERR_INTERNAL, "sha256 failed");
	buf_release(&b);
	return rc;
}

int jx_hash_hex(const json_t *v, char out[65])
{
	uint8_t h[32];
	int rc = jx_hash(v, h);
	if (rc < 0)
		return rc;
	str_hex(h, sizeof(h), out);
	return 0;
}

const char *jx_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static json_t *path_v(const json_t *obj, va_list ap)
{
	const char *k;
	json_t *cur = (json_t *)obj;
	while ((k = va_arg(ap, const char *)) != NULL) {
		if (!json_is_object(cur))
			return NULL;
		cur = json_object_get(cur, k);
	}
	return cur;
}

json_t *jx_path(const json_t *obj, ...)
{
	va_list ap;
	json_t *r;
	va_start(ap, obj);
	r = path_v(obj, ap);
	va_end(ap);
	return r;
}

const char *jx_path_str(const json_t *obj, ...)
{
	va_list ap;
	json_t *r;
	va_start(ap, obj);
	r = path_v(obj, ap);
	va_end(ap);
	return json_string_value(r);
}

json_t *jx_obj_ensure(json_t *obj, const char *key)
{
	json_t *c;
	if (!json_is_object(obj))
		return NULL;
	c = json_object_get(obj, key);
	if (json_is_object(c))
		return c;
	c = json_object();
	if (!c || json_object_set_new(obj, key, c) < 0)
		return NULL;
	return c;
}

bool jx_equal(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_object(a)) {
		const char *k;
		size_t klen;
		json_t *va;
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_keylen_foreach((json_t *)a, k, klen, va) {
			json_t *vb = json_object_getn(b, k, klen);
			if (!vb || !jx_equal(va, vb))
				return false;
		}
		return true;
	}
	if (json_is_array(a)) {
		size_t i, n = json_array_size(a);
		if (n != json_array_size(b))
			return false;
		for (i = 0; i < n; i++)
			if (!jx_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	return json_equal((json_t *)a, (json_t *)b);
}
