/* kyaml — see kyaml.h. The reader.
 *
 * The tree is built straight from libyaml's event stream: a stack of open
 * collections (one frame per "MAPPING/SEQUENCE_START" not yet ended), each
 * completed value handed to the innermost open collection by deliver().
 * Keys of a mapping arrive as scalar events before their value; the frame
 * keeps the key text (taken over from the event, no copy) until the value
 * is complete. Anchored values are kept, referenced, in a per-document table
 * together with their size and depth, so an alias can be checked against the
 * bounds before it is copied. The only recursion is jansson's deep copy of an
 * aliased value, whose depth is bounded like everything else.
 */
#include "kyaml.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "err.h"
#include "jsonx.h"
#include "kyaml_scalar.h"

#define TAG_PREFIX "tag:yaml.org,2002:"
#define KYAML_DEPTH_CEILING 10000

struct anchor {
	char *name;
	json_t *value; /* a reference; never modified once here */
	size_t nodes;  /* values in it, itself included */
	size_t depth;
};

struct frame {
	json_t *node;           /* the collection being built */
	char *anchor;           /* owned; registered when the collection ends */
	char *key;              /* owned text of the pending key (maps) */
	size_t key_len;
	json_t *merged_keys;    /* strict mode: keys last set by a merge, not yet written */
	yaml_mark_t key_mark;   /* where the pending key starts */
	size_t nodes_at_start;  /* L->nodes before this collection */
	size_t sub_depth;       /* deepest depth among the children */
	bool is_map;
	bool want_key;          /* maps: the next scalar is a key */
	bool merge_pending;     /* maps: the pending key is "<<" */
};

struct loader {
	yaml_parser_t parser;
	const char *data;
	size_t len;
	struct kyaml_limits lim;
	struct frame *frames;   /* lim.max_depth of them */
	size_t nframes;
	struct anchor *anchors;
	size_t nanchors, anchors_cap;
	json_t *anchor_index;   /* name → index in anchors of its latest definition */
	json_t *root;           /* of the current document, or NULL */
	json_t *docs;
	size_t nodes, alias_nodes;
};

static int at(const yaml_mark_t *m, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets an error "line L column C: <fmt>" at mark m. */
static int at(const yaml_mark_t *m, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(code, "line %zu column %zu: %s", m->line + 1, m->column + 1, msg);
}

/* Line and column of a byte offset, for libyaml reader errors (which carry
 * an offset, not a mark). */
static yaml_mark_t mark_of_offset(const struct loader *L, size_t off)
{
	yaml_mark_t m = { off, 0, 0 };
	size_t i;

	if (off > L->len)
		off = L->len;
	for (i = 0; i < off; i++) {
		if (L->data[i] == '\n') {
			m.line++;
			m.column = 0;
		} else if (((unsigned char)L->data[i] & 0xC0) != 0x80) {
			m.column++;
		}
	}
	return m;
}

static int parser_error(struct loader *L)
{
	yaml_parser_t *p = &L->parser;
	yaml_mark_t m;

	if (p->error == YAML_MEMORY_ERROR)
		return err_set(BERR_NOMEM, "yaml: out of memory");
	if (p->error == YAML_READER_ERROR) {
		m = mark_of_offset(L, p->problem_offset);
		return at(&m, BERR_INVALID, "%s", p->problem ? p->problem : "cannot read input");
	}
	if (p->context)
		return at(&p->problem_mark, BERR_INVALID, "%s %s (line %zu column %zu)",
			  p->problem ? p->problem : "syntax error", p->context,
			  p->context_mark.line + 1, p->context_mark.column + 1);
	return at(&p->problem_mark, BERR_INVALID, "%s", p->problem ? p->problem : "syntax error");
}

/* Counts n new values against the bounds. */
static int count_nodes(struct loader *L, size_t n, bool alias, const yaml_mark_t *m)
{
	if (L->nodes + n > L->lim.max_nodes || L->nodes + n < L->nodes)
		return at(m, BERR_TOOLARGE, "document has more than %zu values", L->lim.max_nodes);
	if (alias && (L->alias_nodes + n > L->lim.max_alias_nodes || L->alias_nodes + n < L->alias_nodes))
		return at(m, BERR_TOOLARGE, "aliases expand to more than %zu values", L->lim.max_alias_nodes);
	L->nodes += n;
	if (alias)
		L->alias_nodes += n;
	return 0;
}

/* A hashed index, so that many anchors and aliases cost linear time. */
static struct anchor *anchor_find(struct loader *L, const char *name)
{
	json_t *i = json_object_get(L->anchor_index, name);
	return i ? &L->anchors[json_integer_value(i)] : NULL;
}

/* Records name (stolen) → v (a new reference is taken). */
static int anchor_add(struct loader *L, char *name, json_t *v, size_t nodes, size_t depth)
{
	if (L->nanchors == L->anchors_cap) {
		size_t cap = L->anchors_cap ? L->anchors_cap * 2 : 16;
		struct anchor *a = realloc(L->anchors, cap * sizeof(*a));
		if (!a) {
			free(name);
			return err_set(BERR_NOMEM, "yaml: out of memory");
		}
		L->anchors = a;
		L->anchors_cap = cap;
	}
	/* The latest definition wins: YAML allows redefining an anchor. */
	if (json_object_set_new_nocheck(L->anchor_index, name, json_integer((json_int_t)L->nanchors))) {
		free(name);
		return err_set(BERR_NOMEM, "yaml: out of memory");
	}
	L->anchors[L->nanchors++] = (struct anchor){ name, json_incref(v), nodes, depth };
	return 0;
}

static void anchors_clear(struct loader *L)
{
	for (size_t i = 0; i < L->nanchors; i++) {
		free(L->anchors[i].name);
		json_decref(L->anchors[i].value);
	}
	L->nanchors = 0;
	json_object_clear(L->anchor_index);
}

static const char *tag_suffix(const char *tag)
{
	if (tag && !strncmp(tag, TAG_PREFIX, sizeof(TAG_PREFIX) - 1))
		return tag + sizeof(TAG_PREFIX) - 1;
	return NULL;
}

/* A JSON value for a resolved scalar. Whole floats below 2^53 become
 * integers (see kyaml.h). */
static json_t *scalar_json(const struct kyaml_scalar *sv, const char *text, size_t len)
{
	switch (sv->kind) {
	case KYAML_SCALAR_NULL:
		return json_null();
	case KYAML_SCALAR_TRUE:
		return json_true();
	case KYAML_SCALAR_FALSE:
		return json_false();
	case KYAML_SCALAR_INT:
		return json_integer(sv->i);
	case KYAML_SCALAR_FLOAT:
		if (sv->d == trunc(sv->d) && fabs(sv->d) < 9007199254740992.0)
			return json_integer((json_int_t)sv->d);
		return json_real(sv->d);
	default:
		return json_stringn_nocheck(text, len);
	}
}

/* Resolves a scalar event to a typed value (see kyaml.h for the rules).
 * BERR_INVALID when a tag and the text disagree, or for .inf/.nan. */
static int resolve_event(const yaml_event_t *ev, struct kyaml_scalar *out)
{
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *t = tag_suffix(tag);
	const yaml_mark_t *m = &ev->start_mark;
	enum kyaml_scalar_kind want;

	if (!tag) {
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			kyaml_scalar_resolve(text, len, out);
		else
			out->kind = KYAML_SCALAR_STRING;
	} else if (!t || !strcmp(t, "str") || !strcmp(t, "binary") || !strcmp(t, "timestamp") ||
		   !strcmp(t, "merge")) {
		out->kind = KYAML_SCALAR_STRING;
	} else if (!strcmp(t, "null")) {
		out->kind = KYAML_SCALAR_NULL;
	} else {
		kyaml_scalar_resolve(text, len, out);
		if (!strcmp(t, "bool"))
			want = out->kind == KYAML_SCALAR_FALSE ? KYAML_SCALAR_FALSE : KYAML_SCALAR_TRUE;
		else if (!strcmp(t, "int"))
			want = KYAML_SCALAR_INT;
		else if (!strcmp(t, "float"))
			want = KYAML_SCALAR_FLOAT;
		else
			return at(m, BERR_INVALID, "tag !!%s is not valid on a scalar", t);
		if (want == KYAML_SCALAR_FLOAT && out->kind == KYAML_SCALAR_INF)
			want = KYAML_SCALAR_INF;
		if (want == KYAML_SCALAR_FLOAT && out->kind == KYAML_SCALAR_NAN)
			want = KYAML_SCALAR_NAN;
		if (want == KYAML_SCALAR_FLOAT && out->kind == KYAML_SCALAR_INT) {
			out->d = (double)out->i;
			out->kind = KYAML_SCALAR_FLOAT;
		}
		if (out->kind != want)
			return at(m, BERR_INVALID, "cannot decode \"%.*s\" as !!%s", (int)(len > 64 ? 64 : len),
				  text, t);
	}
	if (out->kind == KYAML_SCALAR_INF || out->kind == KYAML_SCALAR_NAN)
		return at(m, BERR_INVALID, "\"%.*s\" (infinity or not-a-number) cannot be represented in JSON",
			  (int)(len > 16 ? 16 : len), text);
	return 0;
}

/* Builds the JSON value of a scalar event. */
static int scalar_value(const yaml_event_t *ev, json_t **ret)
{
	struct kyaml_scalar sv;
	json_t *v;
	int rc;

	if ((rc = resolve_event(ev, &sv)) < 0)
		return rc;
	v = scalar_json(&sv, (const char *)ev->data.scalar.value, ev->data.scalar.length);
	if (!v)
		return err_set(BERR_NOMEM, "yaml: out of memory");
	*ret = v;
	return 0;
}

static int key_copy(const char *s, size_t n, char **ret, size_t *ret_len)
{
	char *k = malloc(n + 1);

	if (!k)
		return err_set(BERR_NOMEM, "yaml: out of memory");
	memcpy(k, s, n);
	k[n] = '\0';
	*ret = k;
	*ret_len = n;
	return 0;
}

/* The key text of a typed scalar (not a string) used as a mapping key: its
 * string form as sigs.k8s.io/yaml writes it (ints in decimal, floats as Go's
 * FormatFloat(f, 'g', -1, 32), true/false, null). */
static int key_of_scalar(const struct kyaml_scalar *sv, char **ret, size_t *ret_len)
{
	char tmp[64];
	size_t n;

	switch (sv->kind) {
	case KYAML_SCALAR_INT:
		n = (size_t)snprintf(tmp, sizeof(tmp), "%lld", sv->i);
		break;
	case KYAML_SCALAR_FLOAT:
	case KYAML_SCALAR_INF:
	case KYAML_SCALAR_NAN:
		n = kyaml_format_float_key(sv->kind == KYAML_SCALAR_NAN ? NAN : sv->d, tmp, sizeof(tmp));
		break;
	case KYAML_SCALAR_TRUE:
		n = (size_t)snprintf(tmp, sizeof(tmp), "true");
		break;
	case KYAML_SCALAR_FALSE:
		n = (size_t)snprintf(tmp, sizeof(tmp), "false");
		break;
	default:
		return BERR_INVALID; /* the caller words it */
	}
	return key_copy(tmp, n, ret, ret_len);
}

/* The key text of an aliased value used as a mapping key. */
static int key_of_value(const json_t *v, const yaml_mark_t *m, char **ret, size_t *ret_len)
{
	char tmp[64];
	const char *s = tmp;
	size_t n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		n = json_string_length(v);
		break;
	case JSON_INTEGER:
		n = (size_t)snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		n = kyaml_format_float_key(json_real_value(v), tmp, sizeof(tmp));
		break;
	case JSON_TRUE:
		n = (size_t)snprintf(tmp, sizeof(tmp), "true");
		break;
	case JSON_FALSE:
		n = (size_t)snprintf(tmp, sizeof(tmp), "false");
		break;
	case JSON_NULL:
		return at(m, BERR_INVALID, "a null mapping key cannot be represented in JSON");
	default:
		return at(m, BERR_INVALID, "a mapping key must be a scalar, not a collection");
	}
	return key_copy(s, n, ret, ret_len);
}

static void frame_release(struct frame *f)
{
	json_decref(f->node);
	json_decref(f->merged_keys);
	free(f->anchor);
	free(f->key);
	memset(f, 0, sizeof(*f));
}

/* Copies every member of src into the map being built, replacing what is
 * there: go-yaml v2 applies "<<" where it stands, so keys written before it
 * are overridden by the merge and keys written after it override the merge.
 * src is a private copy (aliases are copied), so its children are shared
 * rather than copied again. */
static int merge_map(struct loader *L, struct frame *f, json_t *src)
{
	const char *k;
	size_t klen;
	json_t *v;
	bool strict = L->lim.flags & KYAML_REJECT_DUPLICATE_KEYS;

	if (strict && !f->merged_keys && !(f->merged_keys = json_object()))
		return err_set(BERR_NOMEM, "yaml: out of memory");
	json_object_keylen_foreach(src, k, klen, v) {
		if (json_object_setn_nocheck(f->node, k, klen, v) ||
		    (strict && json_object_setn_new_nocheck(f->merged_keys, k, klen, json_null())))
			return err_set(BERR_NOMEM, "yaml: out of memory");
	}
	return 0;
}

/* "<<: v" with v (stolen) of the given depth: a map, or a list of maps of
 * which the earlier win (merged last). */
static int add_merge(struct loader *L, struct frame *f, json_t *v, size_t depth, const yaml_mark_t *m)
{
	size_t i;
	int rc = 0;

	if (json_is_object(v)) {
		rc = merge_map(L, f, v);
		if (depth > 0 && depth - 1 > f->sub_depth)
			f->sub_depth = depth - 1;
		goto out;
	}
	if (!json_is_array(v)) {
		rc = at(m, BERR_INVALID, "map merge requires a map or a sequence of maps as the value");
		goto out;
	}
	for (i = 0; i < json_array_size(v); i++) {
		if (!json_is_object(json_array_get(v, i))) {
			rc = at(m, BERR_INVALID, "map merge requires a map or a sequence of maps as the value");
			goto out;
		}
	}
	for (i = json_array_size(v); i-- > 0 && rc == 0;)
		rc = merge_map(L, f, json_array_get(v, i));
	if (depth > 1 && depth - 2 > f->sub_depth)
		f->sub_depth = depth - 2;
out:
	json_decref(v);
	return rc;
}

/* Stores v (stolen) under the pending key. A repeated key replaces the
 * earlier value, or is an error in strict mode unless the earlier value
 * came from a merge. */
static int set_member(struct loader *L, struct frame *f, json_t *v)
{
	size_t before = json_object_size(f->node);
	bool strict = L->lim.flags & KYAML_REJECT_DUPLICATE_KEYS;

	if (json_object_setn_new_nocheck(f->node, f->key, f->key_len, v))
		return err_set(BERR_NOMEM, "yaml: out of memory");
	if (!strict || json_object_size(f->node) != before)
		return 0;
	if (f->merged_keys && json_object_getn(f->merged_keys, f->key, f->key_len)) {
		json_object_deln(f->merged_keys, f->key, f->key_len);
		return 0;
	}
	return at(&f->key_mark, BERR_INVALID, "key \"%.*s\" already set in map", (int)(f->key_len > 64 ? 64 : f->key_len),
		  f->key);
}

/* Hands a completed value v (stolen) of the given depth to the innermost
 * open collection, or makes it the document's root. */
static int deliver(struct loader *L, json_t *v, size_t depth, const yaml_mark_t *m)
{
	struct frame *f;
	int rc;

	if (L->nframes == 0) {
		L->root = v;
		return 0;
	}
	f = &L->frames[L->nframes - 1];
	if (f->merge_pending) {
		f->merge_pending = false;
		f->want_key = true;
		return add_merge(L, f, v, depth, m);
	}
	if (depth > f->sub_depth)
		f->sub_depth = depth;
	if (!f->is_map) {
		if (json_array_append_new(f->node, v))
			return err_set(BERR_NOMEM, "yaml: out of memory");
		return 0;
	}
	f->want_key = true;
	rc = set_member(L, f, v);
	free(f->key);
	f->key = NULL;
	return rc;
}

static bool expecting_key(const struct loader *L)
{
	return L->nframes > 0 && L->frames[L->nframes - 1].is_map && L->frames[L->nframes - 1].want_key;
}

/* A scalar in key position: records the key text in the frame. Keys may
 * be .inf or .nan (they become ".inf"/".nan"); their anchors record the
 * value as a value would have it. */
static int on_key(struct loader *L, yaml_event_t *ev)
{
	struct frame *f = &L->frames[L->nframes - 1];
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *t = tag_suffix(tag);
	struct kyaml_scalar sv = { .kind = KYAML_SCALAR_STRING };
	json_t *v;
	int rc;

	f->want_key = false;
	f->key_mark = ev->start_mark;
	if ((ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag && len == 2 && !memcmp(text, "<<", 2)) ||
	    (t && !strcmp(t, "merge"))) {
		f->merge_pending = true;
		return 0;
	}
	if ((rc = count_nodes(L, 1, false, &ev->start_mark)) < 0)
		return rc;
	if (ev->data.scalar.anchor) {
		if ((rc = scalar_value(ev, &v)) < 0)
			return rc;
		rc = anchor_add(L, (char *)ev->data.scalar.anchor, v, 1, 0);
		ev->data.scalar.anchor = NULL;
		json_decref(v);
		if (rc < 0)
			return rc;
	}
	if (tag) {
		if ((rc = resolve_event(ev, &sv)) < 0)
			return rc;
	} else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		kyaml_scalar_resolve(text, len, &sv);
	}
	if (sv.kind == KYAML_SCALAR_NULL)
		return at(&ev->start_mark, BERR_INVALID, "a null mapping key cannot be represented in JSON");
	if (sv.kind != KYAML_SCALAR_STRING)
		return key_of_scalar(&sv, &f->key, &f->key_len);
	/* The common case: take the text over from the event, no copy. */
	f->key = (char *)ev->data.scalar.value;
	f->key_len = len;
	ev->data.scalar.value = NULL;
	return 0;
}

static int on_scalar(struct loader *L, yaml_event_t *ev)
{
	json_t *v;
	int rc;

	if (expecting_key(L))
		return on_key(L, ev);
	if ((rc = count_nodes(L, 1, false, &ev->start_mark)) < 0)
		return rc;
	if ((rc = scalar_value(ev, &v)) < 0)
		return rc;
	if (ev->data.scalar.anchor) {
		rc = anchor_add(L, (char *)ev->data.scalar.anchor, v, 1, 0);
		ev->data.scalar.anchor = NULL;
		if (rc < 0) {
			json_decref(v);
			return rc;
		}
	}
	return deliver(L, v, 0, &ev->start_mark);
}

static int on_alias(struct loader *L, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const yaml_mark_t *m = &ev->start_mark;
	struct anchor *a = anchor_find(L, name);
	struct frame *f;
	json_t *v;
	int rc;

	if (!a)
		return at(m, BERR_INVALID, "unknown anchor \"%s\" referenced", name);
	if (expecting_key(L)) {
		f = &L->frames[L->nframes - 1];
		f->want_key = false;
		f->key_mark = *m;
		return key_of_value(a->value, m, &f->key, &f->key_len);
	}
	if (L->nframes + a->depth > L->lim.max_depth)
		return at(m, BERR_TOOLARGE, "alias \"%s\" nests deeper than %zu levels", name, L->lim.max_depth);
	if ((rc = count_nodes(L, a->nodes, true, m)) < 0)
		return rc;
	v = json_deep_copy(a->value);
	if (!v)
		return err_set(BERR_NOMEM, "yaml: out of memory");
	return deliver(L, v, a->depth, m);
}

static int on_start(struct loader *L, yaml_event_t *ev, bool is_map)
{
	struct frame *f;
	yaml_char_t **anchor;
	int rc;

	if (expecting_key(L))
		return at(&ev->start_mark, BERR_INVALID, "a mapping key must be a scalar, not a collection");
	if (L->nframes >= L->lim.max_depth)
		return at(&ev->start_mark, BERR_TOOLARGE, "nesting deeper than %zu levels", L->lim.max_depth);
	if ((rc = count_nodes(L, 1, false, &ev->start_mark)) < 0)
		return rc;
	f = &L->frames[L->nframes];
	memset(f, 0, sizeof(*f));
	f->node = is_map ? json_object() : json_array();
	if (!f->node)
		return err_set(BERR_NOMEM, "yaml: out of memory");
	L->nframes++;
	anchor = is_map ? &ev->data.mapping_start.anchor : &ev->data.sequence_start.anchor;
	f->anchor = (char *)*anchor;
	*anchor = NULL;
	f->is_map = is_map;
	f->want_key = is_map;
	f->nodes_at_start = L->nodes - 1;
	return 0;
}

static int on_end(struct loader *L, const yaml_event_t *ev)
{
	struct frame *f = &L->frames[L->nframes - 1];
	json_t *v;
	size_t depth = f->sub_depth + 1;
	int rc;

	if (f->anchor) {
		rc = anchor_add(L, f->anchor, f->node, L->nodes - f->nodes_at_start, depth);
		f->anchor = NULL;
		if (rc < 0)
			return rc;
	}
	v = f->node;
	f->node = NULL;
	frame_release(f);
	L->nframes--;
	return deliver(L, v, depth, &ev->start_mark);
}

static int on_document_end(struct loader *L, const yaml_event_t *ev)
{
	json_t *root = L->root;
	int rc = 0;

	L->root = NULL;
	anchors_clear(L);
	if (!root || json_is_null(root))
		goto out;
	if (json_array_size(L->docs) >= L->lim.max_docs) {
		rc = at(&ev->start_mark, BERR_TOOLARGE, "more than %zu documents", L->lim.max_docs);
		goto out;
	}
	if (json_array_append(L->docs, root))
		rc = err_set(BERR_NOMEM, "yaml: out of memory");
out:
	json_decref(root);
	return rc;
}

static int on_event(struct loader *L, yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return on_scalar(L, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(L, ev);
	case YAML_MAPPING_START_EVENT:
		return on_start(L, ev, true);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(L, ev, false);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		return on_end(L, ev);
	case YAML_DOCUMENT_END_EVENT:
		return on_document_end(L, ev);
	default:
		return 0;
	}
}

static void limits_fill(struct kyaml_limits *dst, const struct kyaml_limits *src)
{
	if (src)
		*dst = *src;
	else
		memset(dst, 0, sizeof(*dst));
	if (!dst->max_bytes)
		dst->max_bytes = KYAML_MAX_BYTES;
	if (!dst->max_depth)
		dst->max_depth = KYAML_MAX_DEPTH;
	/* jansson frees and copies values recursively: keep stacks safe. */
	if (dst->max_depth > KYAML_DEPTH_CEILING)
		dst->max_depth = KYAML_DEPTH_CEILING;
	if (!dst->max_nodes)
		dst->max_nodes = KYAML_MAX_NODES;
	if (!dst->max_alias_nodes)
		dst->max_alias_nodes = KYAML_MAX_ALIAS_NODES;
	if (!dst->max_docs)
		dst->max_docs = KYAML_MAX_DOCS;
}

int kyaml_load_stream(const char *data, size_t len, const struct kyaml_limits *lim, json_t **ret_docs)
{
	struct loader L;
	yaml_event_t ev;
	bool done = false;
	int rc = 0;

	memset(&L, 0, sizeof(L));
	limits_fill(&L.lim, lim);
	if (len > L.lim.max_bytes)
		return err_set(BERR_TOOLARGE, "yaml: %zu bytes is over the %zu-byte limit", len, L.lim.max_bytes);
	L.data = data;
	L.len = len;
	L.frames = calloc(L.lim.max_depth, sizeof(*L.frames));
	L.docs = json_array();
	L.anchor_index = json_object();
	if (!L.frames || !L.docs || !L.anchor_index || !yaml_parser_initialize(&L.parser)) {
		free(L.frames);
		json_decref(L.docs);
		json_decref(L.anchor_index);
		return err_set(BERR_NOMEM, "yaml: out of memory");
	}
	yaml_parser_set_input_string(&L.parser, (const unsigned char *)data, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&L.parser, &ev)) {
			rc = parser_error(&L);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(&L, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&L.parser);
	while (L.nframes > 0)
		frame_release(&L.frames[--L.nframes]);
	free(L.frames);
	anchors_clear(&L);
	free(L.anchors);
	json_decref(L.anchor_index);
	json_decref(L.root);
	if (rc == 0)
		*ret_docs = L.docs;
	else
		json_decref(L.docs);
	return rc;
}

int kyaml_load_one(const char *data, size_t len, const struct kyaml_limits *lim, json_t **ret)
{
	json_t *docs;
	int rc;

	if ((rc = kyaml_load_stream(data, len, lim, &docs)) < 0)
		return rc;
	if (json_array_size(docs) != 1) {
		rc = err_set(BERR_INVALID, "yaml: expected one document, found %zu", json_array_size(docs));
	} else {
		*ret = json_incref(json_array_get(docs, 0));
	}
	json_decref(docs);
	return rc;
}

int kyaml_load_any(const char *data, size_t len, const struct kyaml_limits *lim, json_t **ret)
{
	struct kyaml_limits l;
	size_t i = 0;

	limits_fill(&l, lim);
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	if (i < len && (data[i] == '{' || data[i] == '[')) {
		json_t *v;
		if (jx_parse(data, len, l.max_bytes, l.max_depth, &v) == 0) {
			*ret = v;
			return 0;
		}
		/* Not JSON: flow YAML ({a: b}) or an error the YAML reader words. */
	}
	return kyaml_load_one(data, len, &l, ret);
}
