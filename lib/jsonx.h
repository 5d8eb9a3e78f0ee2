/*
 * jsonx — helpers on jansson values: RFC 6901 JSON pointers, bounded
 * parsing, canonical serialisation and a stable hash.
 *
 * Conventions (jansson's, made explicit):
 * - Functions named *_get return a BORROWED reference (do not json_decref).
 * - Functions that take a value to store say whether they steal it.
 * - Functions returning json_t * through ret_* hand over a new reference.
 *
 * Canonical form: object keys sorted (bytewise), no whitespace, strings
 * escaped as jansson does, a real holding a whole number below 2^53 written
 * as that integer (1.0 → 1), other reals with 17 significant digits. Two
 * values are jx_equal iff their canonical forms are equal bytes (up to reals
 * that only differ beyond 17 digits from an integer above 2^53), so the hash
 * of the canonical form is a stable identity (used for cache keys and "did
 * anything change" checks).
 */
#ifndef BERTH_JSONX_H
#define BERTH_JSONX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Default bounds for jx_parse. */
#define JX_MAX_DEPTH 128
#define JX_MAX_BYTES ((size_t)64 << 20)

/* Parses len bytes of JSON (one value, objects/arrays or scalars). Fails with
 * BERR_TOOLARGE past max_bytes, BERR_INVALID on bad syntax (message with line
 * and column) or nesting deeper than max_depth. *ret is a new reference. */
int jx_parse(const char *data, size_t len, size_t max_bytes, size_t max_depth, json_t **ret);

/* Nesting depth of v (a scalar has depth 0). */
size_t jx_depth(const json_t *v);

/* Resolves an RFC 6901 pointer ("" is the root, "/a/0/b~1c"). Returns a
 * borrowed reference or NULL when absent or the pointer is malformed. */
json_t *jx_ptr_get(json_t *root, const char *ptr);

/* Sets the value at ptr, stealing value (also on failure). Missing parent
 * objects are created when create_parents is true; "-" as the last token of
 * an array path appends. 0, BERR_NOTFOUND (missing parent), BERR_INVALID
 * (malformed pointer, or a parent that is not a container). */
int jx_ptr_set(json_t *root, const char *ptr, json_t *value, bool create_parents);

/* Removes the value at ptr. 0, BERR_NOTFOUND, BERR_INVALID. */
int jx_ptr_del(json_t *root, const char *ptr);

/* Appends the pointer-escaped form of a reference token ('~' -> "~0",
 * '/' -> "~1") to out. */
int jx_ptr_escape(struct buf *out, const char *token);

/* Appends the canonical serialisation of v to out. 0, or BERR_TOOLARGE /
 * BERR_NOMEM with out as it was. */
int jx_dump_canonical(const json_t *v, struct buf *out);

/* Appends v serialised compactly (keys in insertion order) / indented by 2. */
int jx_dump_compact(const json_t *v, struct buf *out);
int jx_dump_pretty(const json_t *v, struct buf *out);

/* SHA-256 of the canonical form of v, as 32 bytes and as 64 hex chars + NUL. */
int jx_hash(const json_t *v, uint8_t out[32]);
int jx_hash_hex(const json_t *v, char out[65]);

/* Borrowed string at obj[key], or NULL when absent or not a string. */
const char *jx_str(const json_t *obj, const char *key);

/* Follows a NULL-terminated list of object keys: jx_path(o, "metadata",
 * "name", NULL). Borrowed; NULL when any step is absent or not an object. */
json_t *jx_path(const json_t *obj, ...) __attribute__((sentinel));

/* String at a key path, or NULL (borrowed). */
const char *jx_path_str(const json_t *obj, ...) __attribute__((sentinel));

/* obj[key] if it is an object; otherwise a new empty object is stored at
 * obj[key] and returned. Borrowed; NULL on allocation failure or when obj is
 * not an object. */
json_t *jx_obj_ensure(json_t *obj, const char *key);

/* Deep equality that treats 1 and 1.0 as equal (jansson's json_equal does
 * not). Object key order does not matter; NULL equals only NULL. */
bool jx_equal(const json_t *a, const json_t *b);

#endif
