/*
 * jqpath — compile and evaluate the jq path subset (see jqpath.h).
 *
 * A compiled path is a flat list of steps. select() holds its own relative
 * path (fields and indices only) and a literal. Evaluation keeps a list of
 * locations (value, parent, key or index) and maps each step over it; the
 * last list is what gets deleted, array items in descending index order so
 * earlier deletions do not shift later ones.
 */
#include "jqpath.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"

#define JQ_MAX_LEN 1024
#define JQ_MAX_STEPS_IN_EXPR 64

enum step_type { ST_FIELD, ST_INDEX, ST_ITER, ST_SELECT };

/* select() conditions: path == literal, path != literal, or
 * path | startswith/endswith/contains("text") on strings. */
enum cond_op { OP_EQ, OP_NE, OP_STARTS, OP_ENDS, OP_CONTAINS };

struct step {
	enum step_type type;
	char *name;             /* ST_FIELD */
	size_t index;           /* ST_INDEX */
	struct step *cond;      /* ST_SELECT: relative path */
	size_t n_cond;
	json_t *literal;        /* ST_SELECT */
	enum cond_op op;        /* ST_SELECT */
};

struct jqpath {
	struct step steps[JQ_MAX_STEPS_IN_EXPR];
	size_t n;
};

struct parser {
	const char *s;
	size_t pos;
};

static void steps_free(struct step *st, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(st[i].name);
		json_decref(st[i].literal);
		if (st[i].cond) {
			steps_free(st[i].cond, st[i].n_cond);
			free(st[i].cond);
		}
	}
}

void jqpath_free(struct jqpath *p)
{
	if (!p)
		return;
	steps_free(p->steps, p->n);
	free(p);
}

static void skip_ws(struct parser *ps)
{
	while (ps->s[ps->pos] == ' ' || ps->s[ps->pos] == '\t')
		ps->pos++;
}

static int perr(struct parser *ps, const char *what)
{
	return err_set(BERR_INVALID, "jq path \"%s\": column %zu: %s", ps->s, ps->pos + 1, what);
}

/* Reads a JSON string literal at ps (starting at '"'); new string. */
static int read_string(struct parser *ps, char **ret)
{
	size_t start = ps->pos, i = ps->pos + 1;
	while (ps->s[i] && ps->s[i] != '"') {
		if (ps->s[i] == '\\' && ps->s[i + 1])
			i++;
		i++;
	}
	if (ps->s[i] != '"')
		return perr(ps, "unterminated string");
	json_t *v = json_loadb(ps->s + start, i + 1 - start, JSON_DECODE_ANY, NULL);
	if (!json_is_string(v)) {
		json_decref(v);
		return perr(ps, "bad string");
	}
	*ret = strdup(json_string_value(v));
	json_decref(v);
	if (!*ret)
		return err_set(BERR_NOMEM, "out of memory");
	ps->pos = i + 1;
	return 0;
}

static bool ident_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
	       (!first && ((c >= '0' && c <= '9') || c == '-'));
}

static int add_step(struct step *st, size_t *n, size_t cap, struct step s)
{
	if (*n >= cap) {
		steps_free(&s, 1); /* a select() step owns its condition and literal */
		return err_set(BERR_TOOLARGE, "jq path has too many steps");
	}
	st[(*n)++] = s;
	return 0;
}

/* Parses a bracket suffix at '[': ["str"], [N] or []. */
static int parse_bracket(struct parser *ps, struct step *st, size_t *n, size_t cap)
{
	struct step s = {0};
	int rc;

	ps->pos++; /* '[' */
	skip_ws(ps);
	char c = ps->s[ps->pos];
	if (c == ']') {
		s.type = ST_ITER;
	} else if (c == '"') {
		s.type = ST_FIELD;
		if ((rc = read_string(ps, &s.name)) < 0)
			return rc;
	} else if (c >= '0' && c <= '9') {
		size_t v = 0;
		while (ps->s[ps->pos] >= '0' && ps->s[ps->pos] <= '9') {
			if (v > 100000000)
				return perr(ps, "index too large");
			v = v * 10 + (size_t)(ps->s[ps->pos++] - '0');
		}
		s.type = ST_INDEX;
		s.index = v;
	} else {
		return perr(ps, "expected \"key\", an index or ]");
	}
	skip_ws(ps);
	if (ps->s[ps->pos] != ']') {
		free(s.name);
		return perr(ps, "expected ]");
	}
	ps->pos++;
	return add_step(st, n, cap, s);
}

/* Parses a term: '.' followed by fields and brackets. */
static int parse_term(struct parser *ps, struct step *st, size_t *n, size_t cap)
{
	int rc;
	bool any = false;

	skip_ws(ps);
	if (ps->s[ps->pos] != '.')
		return perr(ps, "expected '.'");
	for (;;) {
		char c = ps->s[ps->pos];
		if (c == '.') {
			ps->pos++;
			any = true;
			char d = ps->s[ps->pos];
			if (ident_char(d, true)) {
				size_t start = ps->pos;
				while (ident_char(ps->s[ps->pos], false))
					ps->pos++;
				struct step s = {.type = ST_FIELD, .name = strndup(ps->s + start, ps->pos - start)};
				if (!s.name)
					return err_set(BERR_NOMEM, "out of memory");
				if ((rc = add_step(st, n, cap, s)) < 0)
					return rc;
			} else if (d == '"') {
				struct step s = {.type = ST_FIELD};
				if ((rc = read_string(ps, &s.name)) < 0 || (rc = add_step(st, n, cap, s)) < 0)
					return rc;
			} else if (d == '[') {
				if ((rc = parse_bracket(ps, st, n, cap)) < 0)
					return rc;
			} else if (d == '.') {
				return perr(ps, "recursive descent (..) is not supported");
			}
			/* else: identity "." */
		} else if (c == '[' && any) {
			if ((rc = parse_bracket(ps, st, n, cap)) < 0)
				return rc;
		} else if (c == '?' && any) {
			/* "optional": a missing or mistyped step already
			 * matches nothing when deleting */
			ps->pos++;
		} else {
			return 0;
		}
	}
}

/* The comparison after select's path: "==", "!=" or a "| startswith(" /
 * endswith / contains call (its argument follows). */
static int parse_cond_op(struct parser *ps, enum cond_op *ret)
{
	static const struct {
		const char *text;
		enum cond_op op;
	} ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"| startswith(", OP_STARTS}, {"|startswith(", OP_STARTS},
		   {"| endswith(", OP_ENDS}, {"|endswith(", OP_ENDS}, {"| contains(", OP_CONTAINS},
		   {"|contains(", OP_CONTAINS}};

	for (size_t oi = 0; oi < sizeof(ops) / sizeof(ops[0]); oi++)
		if (strncmp(ps->s + ps->pos, ops[oi].text, strlen(ops[oi].text)) == 0) {
			*ret = ops[oi].op;
			ps->pos += strlen(ops[oi].text);
			return 0;
		}
	return perr(ps, "select() needs ==, != or | startswith/endswith/contains(\"...\")");
}

/* A JSON scalar literal: a quoted string (with escapes) or a bare token up
 * to ')' or a space. *ret is a new reference. */
static int parse_scalar_literal(struct parser *ps, json_t **ret)
{
	size_t start = ps->pos, end;
	json_t *v;

	if (ps->s[start] == '"') {
		end = start + 1;
		while (ps->s[end] && ps->s[end] != '"')
			end += ps->s[end] == '\\' && ps->s[end + 1] ? 2 : 1;
		if (ps->s[end] == '"')
			end++;
	} else {
		end = start;
		while (ps->s[end] && ps->s[end] != ')' && ps->s[end] != ' ')
			end++;
	}
	v = json_loadb(ps->s + start, end - start, JSON_DECODE_ANY, NULL);
	if (!v || json_is_object(v) || json_is_array(v)) {
		json_decref(v);
		return perr(ps, "select() compares with a JSON scalar literal");
	}
	*ret = v;
	ps->pos = end;
	return 0;
}

static int parse_select(struct parser *ps, struct step *st, size_t *n, size_t cap)
{
	struct step s = {.type = ST_SELECT};
	int rc;

	ps->pos += strlen("select");
	skip_ws(ps);
	if (ps->s[ps->pos] != '(')
		return perr(ps, "expected ( after select");
	ps->pos++;
	s.cond = calloc(8, sizeof(*s.cond));
	if (!s.cond)
		return err_set(BERR_NOMEM, "out of memory");
	if ((rc = parse_term(ps, s.cond, &s.n_cond, 8)) < 0)
		goto fail;
	for (size_t i = 0; i < s.n_cond; i++)
		if (s.cond[i].type == ST_ITER) {
			rc = perr(ps, "iteration inside select() is not supported");
			goto fail;
		}
	skip_ws(ps);
	if ((rc = parse_cond_op(ps, &s.op)) < 0)
		goto fail;
	skip_ws(ps);
	if ((rc = parse_scalar_literal(ps, &s.literal)) < 0)
		goto fail;
	skip_ws(ps);
	if (s.op >= OP_STARTS) {
		if (!json_is_string(s.literal) || ps->s[ps->pos] != ')') {
			rc = perr(ps, "startswith/endswith/contains take one string");
			goto fail;
		}
		ps->pos++;
		skip_ws(ps);
	}
	if (ps->s[ps->pos] != ')') {
		rc = perr(ps, "expected ) closing select");
		goto fail;
	}
	ps->pos++;
	return add_step(st, n, cap, s);
fail:
	steps_free(&s, 1);
	return rc;
}

int jqpath_compile(const char *expr, struct jqpath **ret)
{
	struct jqpath *p;
	struct parser ps = {expr, 0};
	int rc = 0;

	if (!expr || strlen(expr) > JQ_MAX_LEN)
		return err_set(BERR_TOOLARGE, "jq path longer than %d bytes", JQ_MAX_LEN);
	p = calloc(1, sizeof(*p));
	if (!p)
		return err_set(BERR_NOMEM, "out of memory");
	for (;;) {
		skip_ws(&ps);
		if (strncmp(expr + ps.pos, "select", 6) == 0)
			rc = parse_select(&ps, p->steps, &p->n, JQ_MAX_STEPS_IN_EXPR);
		else
			rc = parse_term(&ps, p->steps, &p->n, JQ_MAX_STEPS_IN_EXPR);
		if (rc < 0)
			goto fail;
		skip_ws(&ps);
		if (expr[ps.pos] == '\0')
			break;
		if (expr[ps.pos] != '|') {
			rc = perr(&ps, "unsupported syntax");
			goto fail;
		}
		ps.pos++;
	}
	*ret = p;
	return 0;
fail:
	jqpath_free(p);
	return rc;
}

/* ---- evaluation ---- */

struct loc {
	json_t *v;
	json_t *parent;
	const char *key; /* borrowed from the parent object */
	size_t index;
};

struct locs {
	struct loc *a;
	size_t n, cap;
};

static int locs_push(struct locs *l, struct loc x, size_t *steps, size_t max_steps)
{
	if (++*steps > max_steps)
		return err_set(BERR_TOOLARGE, "jq path: more than %zu steps", max_steps);
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		struct loc *na = realloc(l->a, nc * sizeof(*na));
		if (!na)
			return err_set(BERR_NOMEM, "out of memory");
		l->a = na;
		l->cap = nc;
	}
	l->a[l->n++] = x;
	return 0;
}

static json_t *rel_get(json_t *v, const struct step *st, size_t n)
{
	for (size_t i = 0; i < n && v; i++) {
		if (st[i].type == ST_FIELD)
			v = json_is_object(v) ? json_object_get(v, st[i].name) : NULL;
		else if (st[i].type == ST_INDEX)
			v = json_is_array(v) ? json_array_get(v, st[i].index) : NULL;
		else
			v = NULL;
	}
	return v;
}

static bool cond_holds(const struct step *st, const json_t *got)
{
	if (st->op == OP_EQ || st->op == OP_NE) {
		bool eq = got ? jx_equal(got, st->literal) : json_is_null(st->literal);
		return eq == (st->op == OP_EQ);
	}
	if (!json_is_string(got))
		return false; /* jq would fail; for a deletion it matches nothing */
	const char *h = json_string_value(got), *n = json_string_value(st->literal);
	size_t hl = json_string_length(got), nl = json_string_length(st->literal);
	switch (st->op) {
	case OP_STARTS: return hl >= nl && memcmp(h, n, nl) == 0;
	case OP_ENDS: return hl >= nl && memcmp(h + hl - nl, n, nl) == 0;
	default: return memmem(h, hl, n, nl) != NULL;
	}
}

static int apply_step(const struct step *st, const struct locs *in, struct locs *out, size_t *steps,
		      size_t max_steps)
{
	int rc;
	for (size_t i = 0; i < in->n; i++) {
		json_t *v = in->a[i].v, *c;
		switch (st->type) {
		case ST_FIELD:
			if (json_is_object(v) && (c = json_object_get(v, st->name))) {
				const char *key = json_object_iter_key(json_object_iter_at(v, st->name));
				if ((rc = locs_push(out, (struct loc){c, v, key, 0}, steps, max_steps)) < 0)
					return rc;
			}
			break;
		case ST_INDEX:
			if (json_is_array(v) && (c = json_array_get(v, st->index)))
				if ((rc = locs_push(out, (struct loc){c, v, NULL, st->index}, steps, max_steps)) < 0)
					return rc;
			break;
		case ST_ITER:
			if (json_is_array(v)) {
				size_t k;
				json_array_foreach(v, k, c)
					if ((rc = locs_push(out, (struct loc){c, v, NULL, k}, steps, max_steps)) < 0)
						return rc;
			} else if (json_is_object(v)) {
				const char *k;
				json_object_foreach(v, k, c)
					if ((rc = locs_push(out, (struct loc){c, v, k, 0}, steps, max_steps)) < 0)
						return rc;
			}
			break;
		case ST_SELECT: {
			if (cond_holds(st, rel_get(v, st->cond, st->n_cond)))
				if ((rc = locs_push(out, in->a[i], steps, max_steps)) < 0)
					return rc;
			break;
		}
		}
	}
	return 0;
}

static int loc_cmp_desc(const void *a, const void *b)
{
	const struct loc *x = a, *y = b;
	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return x->index < y->index ? 1 : (x->index > y->index ? -1 : 0);
}

int jqpath_delete(const struct jqpath *p, json_t *doc, size_t max_steps, size_t *ret_deleted)
{
	struct locs a = {0}, b = {0};
	size_t steps = 0, deleted = 0;
	int rc;

	if ((rc = locs_push(&a, (struct loc){doc, NULL, NULL, 0}, &steps, max_steps)) < 0)
		goto out;
	for (size_t i = 0; i < p->n; i++) {
		b.n = 0;
		if ((rc = apply_step(&p->steps[i], &a, &b, &steps, max_steps)) < 0)
			goto out;
		struct locs t = a;
		a = b;
		b = t;
	}
	/* object members first (keys are borrowed from their parents, so
	 * delete by copying the key), then array items from the end */
	if (a.n > 1)
		qsort(a.a, a.n, sizeof(*a.a), loc_cmp_desc);
	for (size_t i = 0; i < a.n; i++) {
		struct loc *l = &a.a[i];
		if (!l->parent)
			continue;
		if (json_is_object(l->parent) && l->key) {
			char *k = strdup(l->key);
			if (!k) {
				rc = err_set(BERR_NOMEM, "out of memory");
				goto out;
			}
			if (json_object_del(l->parent, k) == 0)
				deleted++;
			free(k);
		} else if (json_is_array(l->parent)) {
			if (i > 0 && a.a[i - 1].parent == l->parent && a.a[i - 1].index == l->index)
				continue; /* matched twice */
			if (json_array_remove(l->parent, l->index) == 0)
				deleted++;
		}
	}
	if (ret_deleted)
		*ret_deleted = deleted;
	rc = 0;
out:
	free(a.a);
	free(b.a);
	return rc;
}
