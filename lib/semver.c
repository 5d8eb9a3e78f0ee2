/* semver — see semver.h. */
#include "semver.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "str.h"

enum cmp_op { OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE };

struct comparison {
	enum cmp_op op;
	struct semver v;
};

struct and_group {
	struct comparison *c;
	size_t n;
	bool has_pre; /* some comparison names a pre-release */
};

struct semver_constraint {
	struct and_group *groups;
	size_t n;
};

/* Reads one numeric part; returns chars used or 0. */
static size_t read_num(const char *s, uint64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;

	while (isdigit((unsigned char)s[i])) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
		i++;
	}
	if (i)
		*out = v;
	return i;
}

static bool is_wild(char c)
{
	return c == '*' || c == 'x' || c == 'X';
}

/* Parses a possibly partial version: nparts gets how many of
 * major/minor/patch were given as numbers (a wildcard ends the count). */
static int parse_partial(const char *s, size_t len, struct semver *out, int *nparts)
{
	struct semver v = {0};
	uint64_t *parts[3] = {&v.major, &v.minor, &v.patch};
	size_t i = 0;
	int n = 0;
	bool wild = false;

	if (i < len && (s[i] == 'v' || s[i] == 'V'))
		i++;
	for (int part = 0; part < 3; part++) {
		if (i < len && is_wild(s[i])) {
			wild = true;
			i++;
		} else {
			size_t k = i < len ? read_num(s + i, parts[part]) : 0;
			if (!k || i + k > len || wild)
				return BERR_INVALID;
			i += k;
			n++;
		}
		if (part < 2 && i < len && s[i] == '.')
			i++;
		else
			break;
	}
	int given = n;
	if (i < len && s[i] == '-') {
		size_t start = ++i;
		while (i < len && s[i] != '+')
			i++;
		if (i == start || i - start >= sizeof(v.pre) || given < 3)
			return BERR_INVALID;
		for (size_t k = start; k < i; k++)
			if (!isalnum((unsigned char)s[k]) && s[k] != '.' && s[k] != '-')
				return BERR_INVALID;
		memcpy(v.pre, s + start, i - start);
		v.pre[i - start] = '\0';
	}
	if (i < len && s[i] == '+')
		i = len;
	if (i != len || (given == 0 && !wild))
		return BERR_INVALID;
	*out = v;
	*nparts = given;
	return 0;
}

int semver_parse(const char *s, struct semver *out)
{
	struct semver v;
	int n;

	if (!s || parse_partial(s, strlen(s), &v, &n) < 0 || n == 0 || strpbrk(s, "*xX"))
		return err_set(BERR_INVALID, "\"%s\" is not a semantic version", s ? s : "");
	*out = v;
	return 0;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

static int cmp_pre(const char *a, const char *b)
{
	if (!*a || !*b)
		return !*a && !*b ? 0 : (!*a ? 1 : -1);
	while (*a && *b) {
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		bool na = all_digits(a, la), nb = all_digits(b, lb);
		int c;
		if (na && nb)
			c = la != lb ? (la < lb ? -1 : 1) : strncmp(a, b, la);
		else if (na != nb)
			c = na ? -1 : 1;
		else {
			c = strncmp(a, b, la < lb ? la : lb);
			if (!c && la != lb)
				c = la < lb ? -1 : 1;
		}
		if (c)
			return c < 0 ? -1 : 1;
		a += la + (a[la] == '.');
		b += lb + (b[lb] == '.');
	}
	return *a ? 1 : *b ? -1 : 0;
}

int semver_cmp(const struct semver *a, const struct semver *b)
{
	int c = cmp_u64(a->major, b->major);
	if (!c)
		c = cmp_u64(a->minor, b->minor);
	if (!c)
		c = cmp_u64(a->patch, b->patch);
	if (!c)
		c = cmp_pre(a->pre, b->pre);
	return c;
}

/* The first version after the range a partial version names: 1 → 2.0.0,
 * 1.2 → 1.3.0, 1.2.3 → 1.2.4. */
static struct semver bump(struct semver v, int nparts)
{
	struct semver r = {0};
	if (nparts <= 1)
		r.major = v.major + 1;
	else if (nparts == 2) {
		r.major = v.major;
		r.minor = v.minor + 1;
	} else {
		r = v;
		r.pre[0] = '\0';
		r.patch = v.patch + 1;
	}
	return r;
}

static int group_add(struct and_group *g, enum cmp_op op, const struct semver *v)
{
	struct comparison *nc = realloc(g->c, (g->n + 1) * sizeof(*nc));
	if (!nc)
		return err_set(BERR_NOMEM, "out of memory");
	g->c = nc;
	g->c[g->n].op = op;
	g->c[g->n].v = *v;
	g->n++;
	if (v->pre[0])
		g->has_pre = true;
	return 0;
}

/* Adds the comparisons one term ("~1.4", ">=2", "1.2.*") stands for. */
static int add_term(struct and_group *g, const char *op, const char *ver, size_t vlen)
{
	struct semver v, hi;
	int n, rc = 0;

	if (parse_partial(ver, vlen, &v, &n) < 0)
		return err_set(BERR_INVALID, "\"%.*s\" is not a version", (int)vlen, ver);
	hi = bump(v, n);
	if (!*op || !strcmp(op, "=")) {
		if (n == 3)
			return group_add(g, OP_EQ, &v);
		if (n == 0)
			return group_add(g, OP_GE, &v);
		if ((rc = group_add(g, OP_GE, &v)) == 0)
			rc = group_add(g, OP_LT, &hi);
		return rc;
	}
	if (!strcmp(op, "!="))
		return n == 3 ? group_add(g, OP_NE, &v) : err_set(BERR_INVALID, "!= needs a full version");
	if (!strcmp(op, ">"))
		return n == 3 ? group_add(g, OP_GT, &v) : group_add(g, OP_GE, &hi);
	if (!strcmp(op, ">="))
		return group_add(g, OP_GE, &v);
	if (!strcmp(op, "<"))
		return group_add(g, OP_LT, &v);
	if (!strcmp(op, "<="))
		return n == 3 ? group_add(g, OP_LE, &v) : group_add(g, OP_LT, &hi);
	if (!strcmp(op, "~") || !strcmp(op, "~>")) {
		struct semver top = bump(v, n >= 2 ? 2 : 1);
		if ((rc = group_add(g, OP_GE, &v)) == 0)
			rc = group_add(g, OP_LT, &top);
		return rc;
	}
	if (!strcmp(op, "^")) {
		struct semver top;
		if (v.major > 0 || n <= 1)
			top = bump(v, 1);
		else if (v.minor > 0 || n == 2)
			top = bump(v, 2);
		else
			top = bump(v, 3);
		if ((rc = group_add(g, OP_GE, &v)) == 0)
			rc = group_add(g, OP_LT, &top);
		return rc;
	}
	return err_set(BERR_INVALID, "unknown operator \"%s\"", op);
}

static bool is_op_char(char c)
{
	return c == '=' || c == '!' || c == '>' || c == '<' || c == '~' || c == '^';
}

/* Parses one AND group from s[0..len). */
static int parse_group(const char *s, size_t len, struct and_group *g)
{
	size_t i = 0;

	while (i < len) {
		char op[4] = "";
		size_t k = 0, vs, ve;

		while (i < len && (isspace((unsigned char)s[i]) || s[i] == ','))
			i++;
		if (i >= len)
			break;
		while (i < len && is_op_char(s[i]) && k < 3)
			op[k++] = s[i++];
		op[k] = '\0';
		while (i < len && isspace((unsigned char)s[i]))
			i++;
		vs = i;
		while (i < len && !isspace((unsigned char)s[i]) && s[i] != ',')
			i++;
		ve = i;
		if (vs == ve)
			return err_set(BERR_INVALID, "operator \"%s\" without a version", op);
		/* "a - b": a hyphen range. */
		size_t j = i;
		while (j < len && isspace((unsigned char)s[j]))
			j++;
		if (!k && j + 1 < len && s[j] == '-' && isspace((unsigned char)s[j + 1])) {
			j++;
			while (j < len && isspace((unsigned char)s[j]))
				j++;
			size_t bs = j;
			while (j < len && !isspace((unsigned char)s[j]) && s[j] != ',')
				j++;
			if (bs == j)
				return err_set(BERR_INVALID, "range without an upper bound");
			int rc = add_term(g, ">=", s + vs, ve - vs);
			if (!rc)
				rc = add_term(g, "<=", s + bs, j - bs);
			if (rc)
				return rc;
			i = j;
			continue;
		}
		int rc = add_term(g, op, s + vs, ve - vs);
		if (rc)
			return rc;
	}
	if (!g->n)
		return err_set(BERR_INVALID, "empty constraint");
	return 0;
}

void semver_constraint_free(struct semver_constraint *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->groups[i].c);
	free(c->groups);
	free(c);
}

int semver_constraint_parse(const char *s, struct semver_constraint **ret)
{
	struct semver_constraint *c = calloc(1, sizeof(*c));
	const char *p = s;
	int rc = 0;

	if (!c)
		return err_set(BERR_NOMEM, "out of memory");
	if (!s || strlen(s) > 1024) {
		rc = err_set(BERR_INVALID, "constraint missing or too long");
		goto out;
	}
	for (;;) {
		const char *bar = strstr(p, "||");
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		struct and_group *ng = realloc(c->groups, (c->n + 1) * sizeof(*ng));
		if (!ng) {
			rc = err_set(BERR_NOMEM, "out of memory");
			goto out;
		}
		c->groups = ng;
		memset(&c->groups[c->n], 0, sizeof(c->groups[0]));
		c->n++;
		if ((rc = parse_group(p, len, &c->groups[c->n - 1])) < 0) {
			err_prefix(rc, "constraint \"%s\"", s);
			goto out;
		}
		if (!bar)
			break;
		p = bar + 2;
	}
	*ret = c;
	c = NULL;
out:
	semver_constraint_free(c);
	return rc;
}

static bool cmp_holds(const struct comparison *c, const struct semver *v)
{
	int r = semver_cmp(v, &c->v);
	switch (c->op) {
	case OP_EQ: return r == 0;
	case OP_NE: return r != 0;
	case OP_GT: return r > 0;
	case OP_GE: return r >= 0;
	case OP_LT: return r < 0;
	case OP_LE: return r <= 0;
	}
	return false;
}

bool semver_constraint_match(const struct semver_constraint *c, const struct semver *v)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct and_group *g = &c->groups[i];
		bool ok = !(v->pre[0] && !g->has_pre);
		for (size_t k = 0; ok && k < g->n; k++)
			ok = cmp_holds(&g->c[k], v);
		if (ok)
			return true;
	}
	return false;
}

bool semver_is_constraint(const char *s)
{
	if (!s || !*s)
		return false;
	if (strstr(s, "||") || strpbrk(s, "<>=~^!*, "))
		return true;
	/* "1.2.x", "v1.x" — a wildcard part; not a branch named "fix-x" */
	struct semver v;
	int n;
	return parse_partial(s, strlen(s), &v, &n) == 0 && strpbrk(s, "xX") != NULL;
}

int semver_max_satisfying(const char *constraint, const char *const *names, size_t n, size_t *ret_index)
{
	struct semver_constraint *c = NULL;
	struct semver best = {0}, v;
	size_t best_i = 0;
	bool found = false;
	int rc = semver_constraint_parse(constraint, &c);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct semver tmp;
		int np;
		/* only whole versions name a release */
		if (!names[i] || parse_partial(names[i], strlen(names[i]), &tmp, &np) < 0 || np != 3)
			continue;
		v = tmp;
		if (semver_constraint_match(c, &v) && (!found || semver_cmp(&v, &best) > 0)) {
			best = v;
			best_i = i;
			found = true;
		}
	}
	semver_constraint_free(c);
	if (!found)
		return err_set(BERR_NOTFOUND, "no tag satisfies \"%s\"", constraint);
	*ret_index = best_i;
	return 0;
}
