/*
 * kyaml — YAML ⇄ JSON with the semantics Kubernetes gives YAML.
 *
 * Kubernetes tools read manifests with sigs.k8s.io/yaml, which parses YAML
 * with go-yaml v2 (YAML 1.1 scalars) and converts the result to JSON. Berth
 * must read every manifest an Argo CD user has exactly as Kubernetes would,
 * so this module reproduces those rules, building jansson values directly
 * from libyaml parser events (no intermediate node tree, except a copy of
 * each anchored node so aliases can be expanded):
 *
 * - plain (unquoted) scalars are resolved YAML 1.1 style:
 *     true/false/yes/no/on/off/y/n in lower, Title or UPPER case → bool;
 *     "", "~", null/Null/NULL → null;
 *     decimal, 0o17 / 017 (octal), 0x1F (hex), 0b101 (binary), with "_"
 *     separators and an optional sign → integer (exact up to int64; larger
 *     → real);
 *     1.5, .5, 1e3, 6.02E+23 → real;
 *     .inf/-.inf/.nan → error (JSON cannot hold them; Kubernetes fails the
 *     conversion too), with the line and column;
 *     anything else, including timestamps, → string.
 * - quoted scalars (single or double, with escapes and folding) and block
 *   scalars (| and >) are always strings.
 * - a float whose value is a whole number of magnitude below 2^53 becomes a
 *   JSON integer (1e3 → 1000, 1.0 → 1): Kubernetes converts YAML to JSON
 *   through Go's float64 encoding, which writes such values without a
 *   fraction, so that is the JSON an API server receives.
 * - tags: !!str, !!int, !!float, !!bool, !!null force the type (an error
 *   when the text cannot be read as it); !!binary and !!timestamp keep the
 *   text as a string (sigs.k8s.io/yaml would decode !!binary to raw bytes;
 *   Berth keeps the base64, which is what a Secret's data field wants);
 *   !!map/!!seq/!!omap are accepted. Any other tag is ignored on a
 *   collection; a scalar with any other tag (or the non-specific "!") is a
 *   string, as go-yaml v2 reads it.
 * - anchors and aliases (the alias is a deep copy); merge keys "<<" with one
 *   map or a list of maps, applied where they stand as go-yaml v2 does: keys
 *   written after "<<" override merged ones, keys written before it are
 *   overridden, and in a list earlier maps win over later ones.
 * - non-string map keys become their string form as sigs.k8s.io/yaml writes
 *   them (1 → "1", 0x10 → "16", true → "true", 1e6 → "1e+06"); a null key
 *   or a collection as a key is an error.
 * - a key given twice in one map: the last value wins, as with
 *   sigs.k8s.io/yaml's Unmarshal and YAMLToJSON, which Argo CD and kubectl's
 *   decoder use (real repositories have such files; one is among the
 *   gitops-engine fixtures). With the flag KYAML_REJECT_DUPLICATE_KEYS it is
 *   an error instead ("key "x" already set in map"), as with
 *   sigs.k8s.io/yaml's UnmarshalStrict/YAMLToJSONStrict.
 *
 * These rules are checked against sigs.k8s.io/yaml itself (helm's fromYaml
 * | toJson) by the unit tests oracle_agrees_with_sigs_k8s_yaml (a table of
 * edge cases) and oracle_agrees_on_every_fixture_document.
 *
 * Every input is bounded (struct kyaml_limits): bytes, nesting depth, number
 * of JSON values created, values created by expanding aliases (so a
 * "billion laughs" bomb fails fast), number of documents. Malformed input
 * returns BERR_INVALID, a bound BERR_TOOLARGE; the message (err_msg()) reads
 * "line L column C: problem" (both 1-based).
 *
 * The emitter (kyaml_dump) writes block YAML for humans as `kubectl get -o
 * yaml` does: two-space indent, "- key: v" for lists of maps, lists inside
 * maps not indented past their key, multi-line strings as block scalars, and
 * quoting wherever a plain scalar would read back as something else
 * (double quotes when it would be typed, single when only the syntax is in
 * the way). With sorted keys the output is byte for byte what kubectl
 * writes, except that long lines are never folded and multi-line text with
 * tabs stays a block scalar (tests: writer_matches_kubectl_output*).
 * Reading the output back with
 * kyaml_load_one gives a value jx_equal to the input.
 */
#ifndef BERTH_KYAML_H
#define BERTH_KYAML_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

/* Default bounds (used for any field left 0, and when lim is NULL). */
#define KYAML_MAX_BYTES ((size_t)64 << 20)
#define KYAML_MAX_DEPTH 100
#define KYAML_MAX_NODES ((size_t)16 << 20)
#define KYAML_MAX_ALIAS_NODES ((size_t)1 << 20)
#define KYAML_MAX_DOCS ((size_t)100000)

/* Flags for kyaml_limits.flags. */
enum kyaml_load_flags {
	KYAML_REJECT_DUPLICATE_KEYS = 1 << 0, /* a repeated key is an error, not "last wins" */
};

struct kyaml_limits {
	size_t max_bytes;       /* input size */
	size_t max_depth;       /* nesting of collections (a scalar has depth 0); at most 10000 */
	size_t max_nodes;       /* JSON values in the whole stream, alias copies included */
	size_t max_alias_nodes; /* JSON values created by copying aliased nodes (stream) */
	size_t max_docs;        /* non-empty documents in one stream */
	unsigned flags;         /* enum kyaml_load_flags */
};

/* Parses a stream of YAML documents (separated by "---", optionally ended by
 * "..."). Documents that are empty or hold only comments or null are
 * skipped. On success *ret_docs is a new JSON array with one element per
 * remaining document (possibly empty). data need not be NUL-terminated.
 * lim may be NULL (defaults). Returns 0, BERR_INVALID (syntax, bad tag
 * value, duplicate key when rejected, undefined alias, .inf/.nan, invalid
 * UTF-8), BERR_TOOLARGE (a limit) or BERR_NOMEM; *ret_docs untouched on
 * failure. */
int kyaml_load_stream(const char *data, size_t len, const struct kyaml_limits *lim,
		      json_t **ret_docs);

/* Like kyaml_load_stream but requires exactly one non-empty document, which
 * is returned as a new reference. BERR_INVALID for zero or several. */
int kyaml_load_one(const char *data, size_t len, const struct kyaml_limits *lim, json_t **ret);

/* Reads one value given as JSON or YAML. When the first non-blank byte is
 * '{' or '[' the text is tried as JSON first (fast path, jx_parse with the
 * same byte and depth bounds); if that fails it is read as YAML (a flow
 * collection is YAML too). Otherwise as kyaml_load_one. New reference.
 * The JSON path keeps 1.0 a real where the YAML path gives 1; the two are
 * jx_equal and have the same canonical form. */
int kyaml_load_any(const char *data, size_t len, const struct kyaml_limits *lim, json_t **ret);

/* Flags for kyaml_dump_ex. */
enum kyaml_dump_flags {
	/* object keys in kubectl's order instead of insertion order: go-yaml's
	 * natural order, where runs of digits compare as numbers (k9 < k80) */
	KYAML_DUMP_SORT_KEYS = 1 << 0,
};

/* Appends v as one YAML document (no "---"), ending with a newline, to out.
 * Objects keep their insertion order. v may be any JSON value; a scalar is
 * written on a line of its own. Returns 0, BERR_TOOLARGE (out's bound; out is
 * then truncated back to its length on entry) or BERR_NOMEM. */
int kyaml_dump(const json_t *v, struct buf *out);
int kyaml_dump_ex(const json_t *v, unsigned flags, struct buf *out);

/* Appends every element of the JSON array docs as a document, separated by
 * lines "---" (no separator before the first). BERR_INVALID if docs is not
 * an array. */
int kyaml_dump_stream(const json_t *docs, struct buf *out);
int kyaml_dump_stream_ex(const json_t *docs, unsigned flags, struct buf *out);

#endif
