/*
 * jscan — walking the members of a JSON object or the elements of an array
 * in place, without building values: each member comes back as the raw text
 * of its key and of its value, which the caller parses (lib/jsonx) only when
 * it wants it. The live cache uses it to take a LIST page apart and parse
 * only the parts of each item a compact record keeps (KUBE-API.md objects
 * are mostly spec, data and metadata.managedFields it never reads).
 *
 *     struct jscan it;
 *     struct jscan_span k, v;
 *     if (jscan_open(&it, text, len, '{') < 0) ...
 *     while ((rc = jscan_next(&it, &k, &v)) == 1)
 *         if (jscan_key_is(&k, "items")) ...
 *
 * The walk checks structure only (strings, escapes, nesting up to
 * JSCAN_MAX_DEPTH, commas and colons between members); scalar values are
 * checked when the caller parses them. It never reads past len.
 */
#ifndef BERTH_JSCAN_H
#define BERTH_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#define JSCAN_MAX_DEPTH 128

/* A piece of the text: for a key, the bytes between its quotes (escapes
 * left as they are); for a value, the whole value. */
struct jscan_span {
	const char *p;
	size_t len;
};

struct jscan {
	const char *s;
	size_t len, pos;
	char close;                  /* '}' or ']' */
	bool started, done;
};

/* Starts walking the object (open '{') or array (open '[') that text (len
 * bytes, whitespace around allowed) holds. 0, or BERR_INVALID when text
 * does not start with open. */
int jscan_open(struct jscan *it, const char *text, size_t len, char open);

/* The next member (key and value; key untouched for an array) or element
 * (value). 1 when one was read, 0 at the end, BERR_INVALID on malformed
 * text (the walk then stays at its end). */
int jscan_next(struct jscan *it, struct jscan_span *key, struct jscan_span *value);

/* True when the key is exactly name (a key holding escapes never is). */
bool jscan_key_is(const struct jscan_span *key, const char *name);

/* True when the key holds a backslash escape. */
bool jscan_key_escaped(const struct jscan_span *key);

#endif
