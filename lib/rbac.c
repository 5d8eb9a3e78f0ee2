/* rbac — Argo CD's RBAC model evaluated directly (no Casbin). */
#include "rbac.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "str.h"

/* Bound on the principals of one check (subject, groups, roles reached). */
#define MAX_PRINCIPALS 256
#define MAX_FIELDS 7

struct rule {
	char *sub, *res, *act, *obj;
	bool deny;
};

struct link {
	char *member, *role;
};

struct rbac_policy {
	struct rule *rules;
	size_t n_rules, cap_rules;
	struct link *links;
	size_t n_links, cap_links;
	char *default_role;
	struct model_strv scopes;
};

static const char builtin_csv[] =
	"p, role:readonly, applications, get, */*, allow\n"
	"p, role:readonly, logs, get, */*, allow\n"
	"p, role:readonly, projects, get, *, allow\n"
	"p, role:readonly, repositories, get, *, allow\n"
	"p, role:readonly, clusters, get, *, allow\n"
	"p, role:readonly, accounts, get, *, allow\n"
	"p, role:readonly, certificates, get, *, allow\n"
	"p, role:readonly, gpgkeys, get, *, allow\n"
	"p, role:admin, *, *, *, allow\n"
	"g, role:admin, role:readonly\n"
	"g, admin, role:admin\n";

/* ---- parsing --------------------------------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Splits one line in place into fields; double quotes protect commas
 * ("" inside quotes is a quote). Returns the count, or -1 when there are
 * more than max or a quote is unbalanced. */
static int split_fields(char *line, char **f, int max)
{
	char *r = line, *w, *start;
	int n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (n == max)
			return -1;
		start = w = r;
		if (*r == '"') {
			r++;
			for (;;) {
				if (!*r)
					return -1;
				if (*r == '"' && r[1] == '"') {
					*w++ = '"';
					r += 2;
				} else if (*r == '"') {
					r++;
					break;
				} else {
					*w++ = *r++;
				}
			}
			while (*r && *r != ',')
				r++;
			f[n++] = start;
		} else {
			while (*r && *r != ',')
				*w++ = *r++;
			f[n++] = start;
		}
		if (!*r) {
			*w = '\0';
			break;
		}
		r++;
		*w = '\0';
	}
	for (int i = 0; i < n; i++)
		f[i] = trim(f[i]);
	return n;
}

static int add_rule(struct rbac_policy *p, char **f, bool deny)
{
	struct rule *r;

	if (p->n_rules + p->n_links >= RBAC_MAX_LINES)
		return err_set(BERR_TOOLARGE, "more than %d policy lines", RBAC_MAX_LINES);
	if (p->n_rules == p->cap_rules) {
		size_t cap = p->cap_rules ? p->cap_rules * 2 : 32;
		struct rule *nr = realloc(p->rules, cap * sizeof(*nr));
		if (!nr)
			return err_set(BERR_NOMEM, "out of memory");
		p->rules = nr;
		p->cap_rules = cap;
	}
	r = &p->rules[p->n_rules];
	r->sub = strdup(f[1]);
	r->res = strdup(f[2]);
	r->act = strdup(f[3]);
	r->obj = strdup(f[4]);
	r->deny = deny;
	if (!r->sub || !r->res || !r->act || !r->obj) {
		free(r->sub);
		free(r->res);
		free(r->act);
		free(r->obj);
		return err_set(BERR_NOMEM, "out of memory");
	}
	p->n_rules++;
	return 0;
}

static int add_link(struct rbac_policy *p, const char *member, const char *role)
{
	struct link *l;

	if (p->n_rules + p->n_links >= RBAC_MAX_LINES)
		return err_set(BERR_TOOLARGE, "more than %d policy lines", RBAC_MAX_LINES);
	if (p->n_links == p->cap_links) {
		size_t cap = p->cap_links ? p->cap_links * 2 : 32;
		struct link *nl = realloc(p->links, cap * sizeof(*nl));
		if (!nl)
			return err_set(BERR_NOMEM, "out of memory");
		p->links = nl;
		p->cap_links = cap;
	}
	l = &p->links[p->n_links];
	l->member = strdup(member);
	l->role = strdup(role);
	if (!l->member || !l->role) {
		free(l->member);
		free(l->role);
		return err_set(BERR_NOMEM, "out of memory");
	}
	p->n_links++;
	return 0;
}

/* Checks one split line; fills *ret_deny for p lines. */
static int check_line(char **f, int n, size_t lineno, bool *ret_deny)
{
	int i;

	for (i = 0; i < n; i++)
		if (!*f[i])
			return err_set(BERR_INVALID, "policy.csv line %zu: field %d is empty", lineno,
				       i + 1);
	if (strcmp(f[0], "g") == 0) {
		if (n != 3)
			return err_set(BERR_INVALID, "policy.csv line %zu: a g line is "
				       "\"g, <user-or-group>, <role>\"", lineno);
		return 0;
	}
	if (strcmp(f[0], "p") != 0)
		return err_set(BERR_INVALID, "policy.csv line %zu: \"%s\" is neither p nor g",
			       lineno, f[0]);
	if (n != 5 && n != 6)
		return err_set(BERR_INVALID, "policy.csv line %zu: a p line is \"p, <subject>, "
			       "<resource>, <action>, <object>, allow|deny\"", lineno);
	if (n == 6 && strcmp(f[5], "allow") != 0 && strcmp(f[5], "deny") != 0)
		return err_set(BERR_INVALID, "policy.csv line %zu: effect \"%s\" is neither allow "
			       "nor deny", lineno, f[5]);
	*ret_deny = n == 6 && strcmp(f[5], "deny") == 0;
	return 0;
}

/* Vets one split line of a CSV (see project roles). */
typedef int (*line_check_fn)(char **f, int n, size_t lineno, const void *ctx);

static void truncate_to(struct rbac_policy *p, size_t n_rules, size_t n_links)
{
	while (p->n_rules > n_rules) {
		struct rule *r = &p->rules[--p->n_rules];
		free(r->sub);
		free(r->res);
		free(r->act);
		free(r->obj);
	}
	while (p->n_links > n_links) {
		struct link *l = &p->links[--p->n_links];
		free(l->member);
		free(l->role);
	}
}

/* Parses csv and adds its lines; on error the policy is restored, so it is
 * unchanged. extra, when set, vets each line too. */
static int add_csv(struct rbac_policy *p, const char *csv, line_check_fn extra, const void *ctx)
{
	size_t old_rules = p->n_rules, old_links = p->n_links, lineno = 0;
	char *copy, *line, *next;
	int rc = 0;

	if (!csv)
		return 0;
	if (!(copy = strdup(csv)))
		return err_set(BERR_NOMEM, "out of memory");
	for (line = copy; line; line = next) {
		char *f[MAX_FIELDS], *hash;
		bool deny = false;
		int n;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if ((hash = strchr(line, '#')) && !memchr(line, '"', (size_t)(hash - line)))
			*hash = '\0';
		line = trim(line);
		if (!*line)
			continue;
		n = split_fields(line, f, MAX_FIELDS);
		if (n < 0) {
			rc = err_set(BERR_INVALID, "policy.csv line %zu: too many fields or an "
				     "unbalanced quote", lineno);
			break;
		}
		if ((rc = check_line(f, n, lineno, &deny)) < 0)
			break;
		if (extra && (rc = extra(f, n, lineno, ctx)) < 0)
			break;
		rc = f[0][0] == 'g' ? add_link(p, f[1], f[2]) : add_rule(p, f, deny);
		if (rc < 0)
			break;
	}
	free(copy);
	if (rc < 0)
		truncate_to(p, old_rules, old_links);
	return rc;
}

int rbac_policy_add_csv(struct rbac_policy *p, const char *csv)
{
	return add_csv(p, csv, NULL, NULL);
}

/* "[groups, email]" or "groups,email" -> list. */
static int parse_scopes(const char *scopes, struct model_strv *out)
{
	char *copy, *s, *tok, *next;
	int rc = 0;

	if (!scopes || !*scopes)
		scopes = "[groups]";
	if (!(copy = strdup(scopes)))
		return err_set(BERR_NOMEM, "out of memory");
	s = trim(copy);
	if (*s == '[') {
		size_t n = strlen(s);
		if (n < 2 || s[n - 1] != ']') {
			free(copy);
			return err_set(BERR_INVALID, "scopes: \"%s\" is not a list", scopes);
		}
		s[n - 1] = '\0';
		s++;
	}
	for (tok = s; tok; tok = next) {
		char *t;
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		t = trim(tok);
		if (*t == '"' || *t == '\'') {
			size_t n = strlen(t);
			if (n >= 2 && t[n - 1] == t[0]) {
				t[n - 1] = '\0';
				t++;
			}
		}
		if (*t && (rc = model_strv_push(out, t)) < 0)
			break;
	}
	free(copy);
	return rc;
}

void rbac_policy_free(struct rbac_policy *p)
{
	if (!p)
		return;
	truncate_to(p, 0, 0);
	free(p->rules);
	free(p->links);
	free(p->default_role);
	model_strv_release(&p->scopes);
	free(p);
}

int rbac_policy_new(const char *csv, const char *default_role, const char *scopes,
		    struct rbac_policy **ret)
{
	struct rbac_policy *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return err_set(BERR_NOMEM, "out of memory");
	if ((rc = add_csv(p, builtin_csv, NULL, NULL)) < 0 || (rc = add_csv(p, csv, NULL, NULL)) < 0)
		goto out;
	if ((rc = parse_scopes(scopes, &p->scopes)) < 0)
		goto out;
	if (default_role && *default_role && !(p->default_role = strdup(default_role))) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	*ret = p;
	return 0;
out:
	rbac_policy_free(p);
	return rc;
}

/* ---- project roles --------------------------------------------------------------- */

struct project_ctx {
	const char *project;
	const char *subject;
};

static int project_line_check(char **f, int n, size_t lineno, const void *vctx)
{
	const struct project_ctx *ctx = vctx;
	size_t plen = strlen(ctx->project);

	(void)n;
	if (f[0][0] != 'p')
		return err_set(BERR_INVALID, "policy %zu: project roles hold only p lines", lineno);
	if (strcmp(f[1], ctx->subject) != 0)
		return err_set(BERR_INVALID, "policy %zu: subject must be \"%s\"", lineno,
			       ctx->subject);
	if (strncmp(f[4], ctx->project, plen) != 0 || f[4][plen] != '/')
		return err_set(BERR_INVALID, "policy %zu: object must start with \"%s/\"", lineno,
			       ctx->project);
	return 0;
}

int rbac_policy_add_project(struct rbac_policy *p, const struct model_project *proj)
{
	size_t old_rules = p->n_rules, old_links = p->n_links, i, j;
	int rc = 0;

	for (i = 0; i < proj->n_roles && rc == 0; i++) {
		const struct model_project_role *role = &proj->roles[i];
		char *subject = str_printf("proj:%s:%s", proj->meta.name, role->name);
		struct project_ctx ctx = { proj->meta.name, subject };

		if (!subject) {
			rc = err_set(BERR_NOMEM, "out of memory");
			break;
		}
		for (j = 0; j < role->policies.n && rc == 0; j++)
			if ((rc = add_csv(p, role->policies.v[j], project_line_check, &ctx)) < 0)
				rc = err_prefix(rc, "project \"%s\" role \"%s\"", proj->meta.name,
						role->name);
		for (j = 0; j < role->groups.n && rc == 0; j++)
			rc = add_link(p, role->groups.v[j], subject);
		free(subject);
	}
	if (rc < 0)
		truncate_to(p, old_rules, old_links);
	return rc;
}

/* ---- evaluation ------------------------------------------------------------------ */

struct principals {
	const char *v[MAX_PRINCIPALS];
	size_t n;
};

static bool has(const struct principals *ps, const char *s)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i], s) == 0)
			return true;
	return false;
}

static void add(struct principals *ps, const char *s)
{
	if (s && *s && ps->n < MAX_PRINCIPALS && !has(ps, s))
		ps->v[ps->n++] = s;
}

/* Closes the set over g lines: breadth-first, each principal once. */
static void expand(const struct rbac_policy *p, struct principals *ps)
{
	size_t i, j;

	for (i = 0; i < ps->n; i++)
		for (j = 0; j < p->n_links; j++)
			if (strcmp(p->links[j].member, ps->v[i]) == 0)
				add(ps, p->links[j].role);
}

/* A pattern too costly to match counts as a hit for a deny rule and a miss
 * for an allow rule: the safe side either way. */
static bool field_match(const char *pattern, const char *value, bool deny)
{
	int m;

	if (strcmp(pattern, "*") == 0)
		return true;
	m = model_glob_checked(pattern, value ? value : "", 0);
	return deny ? m != 0 : m == 1;
}

bool rbac_can(const struct rbac_policy *p, const char *subject, const char *const *groups,
	      size_t n_groups, const char *resource, const char *action, const char *object)
{
	struct principals ps = { .n = 0 };
	bool allowed = false;
	size_t i;

	if (!p || !resource || !action || !object)
		return false;
	add(&ps, subject);
	for (i = 0; groups && i < n_groups; i++)
		add(&ps, groups[i]);
	add(&ps, p->default_role);
	expand(p, &ps);
	for (i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		if (!has(&ps, r->sub) || !field_match(r->res, resource, r->deny) ||
		    !field_match(r->act, action, r->deny) || !field_match(r->obj, object, r->deny))
			continue;
		if (r->deny)
			return false;
		allowed = true;
	}
	return allowed;
}

const struct model_strv *rbac_policy_scopes(const struct rbac_policy *p)
{
	return &p->scopes;
}

int rbac_groups_from_claims(const struct rbac_policy *p, const json_t *claims,
			    struct model_strv *out)
{
	size_t i, j;
	json_t *v, *e;
	int rc;

	for (i = 0; i < p->scopes.n; i++) {
		v = json_object_get(claims, p->scopes.v[i]);
		if (json_is_string(v) && (rc = model_strv_push(out, json_string_value(v))) < 0)
			return rc;
		if (!json_is_array(v))
			continue;
		json_array_foreach(v, j, e)
			if (json_is_string(e) && (rc = model_strv_push(out, json_string_value(e))) < 0)
				return rc;
	}
	return 0;
}
