/* kyaml — see kyaml.h. The writer.
 *
 * Layout follows `kubectl get -o yaml` (go-yaml v2's emitter): maps indent
 * their children by two spaces, a list that is the value of a map key starts
 * at the key's column ("- " counts as indentation), a map inside a list item
 * begins on the "- " line. Strings are written plain when a reader would
 * read them back as the same string; double-quoted when they would be typed
 * (kyaml_scalar decides) or need escapes; single-quoted when only the
 * syntax is in the way; multi-line strings become literal block scalars
 * when a block scalar holds them exactly. With sorted keys the output is
 * byte for byte kubectl's, except that long lines are never folded and a
 * multi-line string holding tabs stays a block scalar (kubectl
 * double-quotes it) (tests: writer_matches_kubectl_output*).
 */
#include "kyaml.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kyaml_scalar.h"

/* Deeper values are refused rather than recursed into. */
#define DUMP_MAX_DEPTH 4096
/* libyaml reads implicit ("key: value") keys up to 1024 characters; longer
 * keys are written in the explicit "? key" form. */
#define IMPLICIT_KEY_MAX 1000

struct dumper {
	struct buf *out;
	unsigned flags;
	int rc;
};

enum style { STYLE_PLAIN, STYLE_SINGLE, STYLE_DOUBLE, STYLE_LITERAL };

static void put(struct dumper *d, const char *s, size_t n)
{
	if (d->rc == 0)
		d->rc = buf_append(d->out, s, n);
}

static void puts_(struct dumper *d, const char *s)
{
	put(d, s, strlen(s));
}

static void indent(struct dumper *d, size_t n)
{
	static const char spaces[] = "                                                                ";
	while (n > 0 && d->rc == 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		put(d, spaces, k);
		n -= k;
	}
}

/* Length of the UTF-8 sequence at s (1 for a stray byte), and whether it is
 * a character YAML treats as a line break or cannot print. */
static size_t utf8_char(const unsigned char *s, size_t n, bool *special)
{
	*special = false;
	if (s[0] < 0x80) {
		*special = (s[0] < 0x20 && s[0] != '\n' && s[0] != '\t') || s[0] == 0x7F;
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0 && n >= 2 && (s[1] & 0xC0) == 0x80) {
		/* C1 controls, NEL (U+0080..U+009F) */
		*special = s[0] == 0xC2 && s[1] < 0xA0;
		return 2;
	}
	if ((s[0] & 0xF0) == 0xE0 && n >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
		/* LS, PS (U+2028, U+2029), BOM (U+FEFF) */
		*special = (s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9)) ||
			   (s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF);
		return 3;
	}
	if ((s[0] & 0xF8) == 0xF0 && n >= 4 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
	    (s[3] & 0xC0) == 0x80)
		return 4;
	*special = true; /* not UTF-8 */
	return 1;
}

/* Scans for characters only a double-quoted scalar can hold. */
static bool needs_escapes(const char *s, size_t n, bool *has_tab)
{
	size_t i = 0;
	bool sp;

	*has_tab = false;
	while (i < n) {
		if (s[i] == '\t')
			*has_tab = true;
		i += utf8_char((const unsigned char *)s + i, n - i, &sp);
		if (sp)
			return true;
	}
	return false;
}

/* Can a literal block scalar hold s exactly? No line may end with a space
 * or tab (kept, but invisible, and refused by go-yaml's emitter too), and
 * there must be some content. Leading white space is fine: the writer then
 * states the indentation ("|2"). */
static bool literal_ok(const char *s, size_t n)
{
	size_t i, line_start = 0;
	bool seen_content = false;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '\n')
			continue;
		if (i > line_start) {
			if (s[i - 1] == ' ' || s[i - 1] == '\t')
				return false;
			seen_content = true;
		}
		line_start = i + 1;
	}
	return seen_content;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* go-yaml v2's base-60 float: [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)? —
 * a YAML 1.1 number ("190:20:30") that go-yaml quotes. */
static bool is_base60(const char *s, size_t n)
{
	size_t i = 0, groups = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= n || !is_digit(s[i]))
		return false;
	while (i < n && (is_digit(s[i]) || s[i] == '_'))
		i++;
	while (i < n && s[i] == ':') {
		size_t d = 0;
		for (i++; i < n && is_digit(s[i]) && d < 2; i++, d++)
			;
		if (d == 0 || (d == 2 && s[i - 2] > '5'))
			return false;
		groups++;
	}
	if (i < n && s[i] == '.')
		for (i++; i < n && (is_digit(s[i]) || s[i] == '_'); i++)
			;
	return groups > 0 && i == n;
}

/* A YAML 1.1 timestamp ("2001-12-14", "2001-12-14T21:59:43Z", ...): four
 * digits, '-', one or two digits, '-', one or two digits, then the end or a
 * time. go-yaml quotes these (it would read them as times). */
static bool is_timestamp(const char *s, size_t n)
{
	size_t i, d;

	if (n < 8 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) || !is_digit(s[3]) || s[4] != '-')
		return false;
	for (i = 5, d = 0; i < n && is_digit(s[i]) && d < 2; i++, d++)
		;
	if (d == 0 || i >= n || s[i] != '-')
		return false;
	for (i++, d = 0; i < n && is_digit(s[i]) && d < 2; i++, d++)
		;
	if (d == 0)
		return false;
	return i == n || ((s[i] == 'T' || s[i] == 't' || s[i] == ' ') && i + 1 < n && is_digit(s[i + 1]));
}

/* Would s, written plain, read back as a string, and as this one? A string
 * that would be typed (true, 0755, 1e3, ~, a timestamp ...) is
 * double-quoted, one that would not parse as intended (": ", a leading
 * indicator ...) single-quoted, as go-yaml v2 and so kubectl write them. */
static enum style plain_style(const char *s, size_t n, bool is_key)
{
	struct kyaml_scalar sv;
	unsigned char c;

	kyaml_scalar_resolve(s, n, &sv);
	/* "<<" is a string as a value, but a merge as a key. */
	if (sv.kind != KYAML_SCALAR_STRING || (is_key && n == 2 && s[0] == '<' && s[1] == '<'))
		return STYLE_DOUBLE;
	c = (unsigned char)s[0];
	/* Timestamps and base-60 numbers are typed by YAML 1.1 readers (go-yaml
	 * quotes them too). */
	if (is_timestamp(s, n) || is_base60(s, n))
		return STYLE_DOUBLE;
	if (s[0] == ' ' || s[n - 1] == ' ')
		return STYLE_SINGLE;
	if (strchr("?:,[]{}#&*!|>'\"%@`", c) || (c == '-' && (n == 1 || s[1] == ' ')))
		return STYLE_SINGLE;
	if (n >= 3 && (!memcmp(s, "---", 3) || !memcmp(s, "...", 3)))
		return STYLE_SINGLE;
	if (s[n - 1] == ':')
		return STYLE_SINGLE;
	for (size_t i = 0; i + 1 < n; i++) {
		if ((s[i] == ':' && s[i + 1] == ' ') || (s[i] == ' ' && s[i + 1] == '#'))
			return STYLE_SINGLE;
	}
	return STYLE_PLAIN;
}

static enum style choose_style(const char *s, size_t n, bool is_key)
{
	bool has_tab, nl = memchr(s, '\n', n) != NULL;

	if (needs_escapes(s, n, &has_tab))
		return STYLE_DOUBLE;
	if (nl)
		return !is_key && literal_ok(s, n) ? STYLE_LITERAL : STYLE_DOUBLE;
	if (has_tab)
		return STYLE_DOUBLE;
	return plain_style(s, n, is_key);
}

static void write_single(struct dumper *d, const char *s, size_t n)
{
	size_t i, start = 0;

	put(d, "'", 1);
	for (i = 0; i < n; i++) {
		if (s[i] == '\'') {
			put(d, s + start, i + 1 - start);
			put(d, "'", 1);
			start = i + 1;
		}
	}
	put(d, s + start, n - start);
	put(d, "'", 1);
}

static void write_double(struct dumper *d, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, k;
	bool sp;
	char esc[12];

	put(d, "\"", 1);
	while (i < n && d->rc == 0) {
		unsigned char c = (unsigned char)s[i];
		const char *e = NULL;
		k = utf8_char((const unsigned char *)s + i, n - i, &sp);
		switch (c) {
		case '\0': e = "\\0"; break;
		case '\a': e = "\\a"; break;
		case '\b': e = "\\b"; break;
		case '\t': e = "\\t"; break;
		case '\n': e = "\\n"; break;
		case '\v': e = "\\v"; break;
		case '\f': e = "\\f"; break;
		case '\r': e = "\\r"; break;
		case 0x1B: e = "\\e"; break;
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		default: break;
		}
		if (e) {
			puts_(d, e);
		} else if (!sp) {
			put(d, s + i, k);
		} else if (k == 1) {
			/* a control character, or a byte that is not UTF-8 (then the
			 * value cannot be kept; write the byte's code) */
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			put(d, esc, 4);
		} else {
			unsigned cp = k == 2 ? ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu)
					     : ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
			snprintf(esc, sizeof(esc), "\\u%04X", cp);
			puts_(d, esc);
		}
		i += k;
	}
	put(d, "\"", 1);
}

/* A literal block scalar whose lines are indented by ind (always two more
 * than the parent node's indentation). The header's chomping indicator keeps
 * the final line breaks exact: "|-" none, "|" one, "|+" all; when the text
 * starts with a space, a tab or an empty line the indentation is stated
 * ("|2"), as a reader could not tell it from the first line. */
static void write_literal(struct dumper *d, const char *s, size_t n, size_t ind)
{
	size_t body = n, i, start;

	if (n > 0 && s[n - 1] == '\n')
		body = n - 1;
	puts_(d, n > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n') ? "|2" : "|");
	if (n == 0 || s[n - 1] != '\n')
		puts_(d, "-\n");
	else if (body > 0 && s[body - 1] == '\n')
		puts_(d, "+\n");
	else
		puts_(d, "\n");
	for (start = 0, i = 0; i <= body; i++) {
		if (i < body && s[i] != '\n')
			continue;
		if (i > start) {
			indent(d, ind);
			put(d, s + start, i - start);
		}
		put(d, "\n", 1);
		start = i + 1;
	}
}

/* Writes a string; ends the line unless it is a key. */
static void write_string(struct dumper *d, const char *s, size_t n, size_t ind, bool is_key)
{
	switch (choose_style(s, n, is_key)) {
	case STYLE_PLAIN:
		put(d, s, n);
		break;
	case STYLE_SINGLE:
		write_single(d, s, n);
		break;
	case STYLE_DOUBLE:
		write_double(d, s, n);
		break;
	case STYLE_LITERAL:
		write_literal(d, s, n, ind);
		return;
	}
	if (!is_key)
		put(d, "\n", 1);
}

/* Writes a scalar or an empty collection, then a newline. ind is the
 * indentation of a block scalar's lines. */
static void write_scalar(struct dumper *d, const json_t *v, size_t ind)
{
	char tmp[64];
	size_t n;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		puts_(d, "{}\n");
		break;
	case JSON_ARRAY:
		puts_(d, "[]\n");
		break;
	case JSON_STRING:
		write_string(d, json_string_value(v), json_string_length(v), ind, false);
		break;
	case JSON_INTEGER:
		n = (size_t)snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT "\n", json_integer_value(v));
		put(d, tmp, n);
		break;
	case JSON_REAL:
		n = kyaml_format_real(json_real_value(v), tmp, sizeof(tmp) - 1);
		tmp[n++] = '\n';
		put(d, tmp, n);
		break;
	case JSON_TRUE:
		puts_(d, "true\n");
		break;
	case JSON_FALSE:
		puts_(d, "false\n");
		break;
	case JSON_NULL:
		puts_(d, "null\n");
		break;
	}
}

static bool is_block(const json_t *v)
{
	return (json_is_object(v) && json_object_size(v) > 0) || (json_is_array(v) && json_array_size(v) > 0);
}

static void write_map(struct dumper *d, const json_t *obj, size_t ind, bool first_inline, size_t depth);
static void write_seq(struct dumper *d, const json_t *arr, size_t ind, bool first_inline, size_t depth);

/* The value after "- " (or after ": " of an explicit key), whose content
 * column is ind. */
static void write_inline_node(struct dumper *d, const json_t *v, size_t ind, size_t depth)
{
	if (json_is_object(v) && json_object_size(v) > 0)
		write_map(d, v, ind, true, depth + 1);
	else if (json_is_array(v) && json_array_size(v) > 0)
		write_seq(d, v, ind, true, depth + 1);
	else
		write_scalar(d, v, ind);
}

static void write_seq(struct dumper *d, const json_t *arr, size_t ind, bool first_inline, size_t depth)
{
	size_t i;
	json_t *v;

	if (depth > DUMP_MAX_DEPTH) {
		if (d->rc == 0)
			d->rc = err_set(BERR_TOOLARGE, "yaml: value nests deeper than %d levels", DUMP_MAX_DEPTH);
		return;
	}
	json_array_foreach(arr, i, v) {
		if (i > 0 || !first_inline)
			indent(d, ind);
		put(d, "- ", 2);
		write_inline_node(d, v, ind + 2, depth);
	}
}

/* "key: value" for one map entry at column ind. */
static void write_entry(struct dumper *d, const char *k, size_t klen, const json_t *v, size_t ind, size_t depth)
{
	size_t key_start = d->out->len;

	write_string(d, k, klen, ind, true);
	if (d->rc == 0 && d->out->len - key_start > IMPLICIT_KEY_MAX) {
		buf_truncate(d->out, key_start);
		put(d, "? ", 2);
		write_double(d, k, klen);
		put(d, "\n", 1);
		indent(d, ind);
		put(d, ":", 1);
		if (is_block(v)) {
			put(d, "\n", 1);
			indent(d, ind + 2);
		} else {
			put(d, " ", 1);
		}
		write_inline_node(d, v, ind + 2, depth);
		return;
	}
	if (json_is_object(v) && json_object_size(v) > 0) {
		put(d, ":\n", 2);
		write_map(d, v, ind + 2, false, depth + 1);
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		put(d, ":\n", 2);
		write_seq(d, v, ind, false, depth + 1);
	} else {
		put(d, ": ", 2);
		write_scalar(d, v, ind + 2);
	}
}

/* The next code point of s[0..n) (a byte that is not UTF-8 counts as
 * itself) and its length. */
static unsigned next_rune(const unsigned char *s, size_t n, size_t *len)
{
	bool sp;
	size_t k = utf8_char(s, n, &sp);

	*len = k;
	if (k == 2)
		return ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu);
	if (k == 3)
		return ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
	if (k == 4)
		return ((s[0] & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
	return s[0];
}

/* Letters as Go's unicode.IsLetter sees them, approximated beyond ASCII:
 * every non-ASCII code point counts as a letter. */
static bool rune_is_letter(unsigned r)
{
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r >= 0x80;
}

/* The order go-yaml v2 (so kubectl) writes map keys in: character by
 * character, letters by code point and after other characters, and where
 * the strings differ in digits, the runs of digits from there compared as
 * numbers ("k9" < "k80" < "k443"). Returns <0, 0, >0. */
static int kubectl_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t i = 0, j = 0, xl, yl;

	while (i < alen && j < blen) {
		unsigned ra = next_rune(x + i, alen - i, &xl), rb = next_rune(y + j, blen - j, &yl);
		bool la, lb;
		uint64_t an = 0, bn = 0;
		size_t ai, bi, adig = 0, bdig = 0;

		if (ra == rb) {
			i += xl;
			j += yl;
			continue;
		}
		la = rune_is_letter(ra);
		lb = rune_is_letter(rb);
		if (la && lb)
			return ra < rb ? -1 : 1;
		if (la || lb)
			return lb ? -1 : 1;
		if (ra == '0' || rb == '0') {
			/* a zero after non-zero digits of the shared prefix is a digit of
			 * that number, not a leading zero */
			for (size_t k = i; k-- > 0 && is_digit((char)x[k]);) {
				if (x[k] != '0') {
					an = bn = 1;
					break;
				}
			}
		}
		for (ai = i; ai < alen && is_digit((char)x[ai]); ai++, adig++)
			an = an * 10 + (uint64_t)(x[ai] - '0');
		for (bi = j; bi < blen && is_digit((char)y[bi]); bi++, bdig++)
			bn = bn * 10 + (uint64_t)(y[bi] - '0');
		if (an != bn)
			return (int64_t)an < (int64_t)bn ? -1 : 1;
		if (adig != bdig)
			return adig < bdig ? -1 : 1;
		return ra < rb ? -1 : 1;
	}
	/* the strings agree up to the shorter one's end: the shorter is first */
	return (i < alen) - (j < blen);
}

struct key_ref {
	const char *k;
	size_t len;
	json_t *v;
};

static int key_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	return kubectl_key_cmp(x->k, x->len, y->k, y->len);
}

static void write_map(struct dumper *d, const json_t *obj, size_t ind, bool first_inline, size_t depth)
{
	const char *k;
	size_t klen, i = 0, n = json_object_size(obj);
	json_t *v;

	if (depth > DUMP_MAX_DEPTH) {
		if (d->rc == 0)
			d->rc = err_set(BERR_TOOLARGE, "yaml: value nests deeper than %d levels", DUMP_MAX_DEPTH);
		return;
	}
	if (d->flags & KYAML_DUMP_SORT_KEYS) {
		struct key_ref *keys = malloc(n * sizeof(*keys));
		if (!keys) {
			if (d->rc == 0)
				d->rc = err_set(BERR_NOMEM, "yaml: out of memory");
			return;
		}
		json_object_keylen_foreach((json_t *)obj, k, klen, v) {
			keys[i++] = (struct key_ref){ k, klen, v };
		}
		qsort(keys, n, sizeof(*keys), key_cmp);
		for (i = 0; i < n && d->rc == 0; i++) {
			if (i > 0 || !first_inline)
				indent(d, ind);
			write_entry(d, keys[i].k, keys[i].len, keys[i].v, ind, depth);
		}
		free(keys);
		return;
	}
	json_object_keylen_foreach((json_t *)obj, k, klen, v) {
		if (d->rc)
			return;
		if (i++ > 0 || !first_inline)
			indent(d, ind);
		write_entry(d, k, klen, v, ind, depth);
	}
}

static void write_doc(struct dumper *d, const json_t *v)
{
	if (json_is_object(v) && json_object_size(v) > 0)
		write_map(d, v, 0, false, 1);
	else if (json_is_array(v) && json_array_size(v) > 0)
		write_seq(d, v, 0, false, 1);
	else
		write_scalar(d, v, 2);
}

static int finish(struct dumper *d, size_t start)
{
	if (d->rc < 0) {
		buf_truncate(d->out, start);
		if (d->rc == BERR_TOOLARGE && err_code() != BERR_TOOLARGE)
			err_set(BERR_TOOLARGE, "yaml: output over the %zu-byte limit", d->out->max);
		else if (d->rc == BERR_NOMEM && err_code() != BERR_NOMEM)
			err_set(BERR_NOMEM, "yaml: out of memory");
	}
	return d->rc;
}

int kyaml_dump_ex(const json_t *v, unsigned flags, struct buf *out)
{
	struct dumper d = { out, flags, 0 };
	size_t start = out->len;

	err_clear();
	write_doc(&d, v);
	return finish(&d, start);
}

int kyaml_dump(const json_t *v, struct buf *out)
{
	return kyaml_dump_ex(v, 0, out);
}

int kyaml_dump_stream_ex(const json_t *docs, unsigned flags, struct buf *out)
{
	struct dumper d = { out, flags, 0 };
	size_t start = out->len, i;
	json_t *v;

	if (!json_is_array(docs))
		return err_set(BERR_INVALID, "yaml: a stream to write must be a JSON array of documents");
	err_clear();
	json_array_foreach(docs, i, v) {
		if (i > 0)
			puts_(&d, "---\n");
		write_doc(&d, v);
		if (d.rc)
			break;
	}
	return finish(&d, start);
}

int kyaml_dump_stream(const json_t *docs, struct buf *out)
{
	return kyaml_dump_stream_ex(docs, 0, out);
}
