/*
 * model_project — AppProject parsing, validation, serialisation and the
 * project rules (sources, destinations, resource kinds). Part of the model
 * module (model.h).
 *
 * The rules follow Argo CD 2.5+ so that a project copied from Argo CD
 * permits and refuses exactly what it did there:
 * - a pattern starting with '!' is a deny pattern: it "matches" every value
 *   its remainder does NOT match; a value it excludes refuses the request
 *   outright, whatever other entries say;
 * - otherwise some entry must match.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "model.h"
#include "modeljson.h"
#include "str.h"

#define TRY(x) do { if ((rc = (x)) < 0) goto out; } while (0)

/* Longest pattern model_glob expands ({a,b} alternatives are copied). */
#define GLOB_MAX 1024

/* ---- glob ---------------------------------------------------------------- */

/* Matches one [...] class at *pp against c; advances *pp past ']'. Returns
 * -1 for a malformed class (no closing bracket). */
static int class_match(const char **pp, char c)
{
	const char *p = *pp + 1;
	bool neg = false, hit = false;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	if (*p == ']') {
		hit = (c == ']');
		p++;
	}
	while (*p && *p != ']') {
		char lo = *p, hi = *p;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hi = p[2];
			p += 3;
		} else {
			p++;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	if (*p != ']')
		return -1;
	*pp = p + 1;
	return hit != neg;
}

/* Matching state: the separator '*' does not cross, and a step budget so
 * that no pattern can make matching slow (backtracking over many stars is
 * exponential in the worst case). Running out is reported, not treated as
 * "no match": for a "!" deny pattern that would wrongly admit. */
struct glob_ctx {
	char sep;
	long steps;
	bool exhausted;
};

static bool glob_expand(const char *pattern, const char *s, struct glob_ctx *g, int depth);

static bool spend(struct glob_ctx *g)
{
	if (++g->steps > MODEL_GLOB_MAX_STEPS)
		g->exhausted = true;
	return !g->exhausted;
}

static bool glob_plain(const char *p, const char *s, struct glob_ctx *g, int depth)
{
	while (*p) {
		if (!spend(g))
			return false;
		switch (*p) {
		case '*': {
			bool any = (p[1] == '*');
			const char *rest = p + (any ? 2 : 1);
			while (*rest == '*')
				rest++;
			for (;;) {
				if (glob_expand(rest, s, g, depth + 1))
					return true;
				if (g->exhausted || !*s || (!any && g->sep && *s == g->sep))
					return false;
				s++;
			}
		}
		case '?':
			if (!*s || (g->sep && *s == g->sep))
				return false;
			p++;
			s++;
			break;
		case '[': {
			int m;
			if (!*s)
				return false;
			m = class_match(&p, *s);
			if (m <= 0)
				return false;
			s++;
			break;
		}
		case '\\':
			if (p[1])
				p++;
			/* fall through */
		default:
			if (*p != *s)
				return false;
			p++;
			s++;
		}
	}
	return *s == '\0';
}

/* Finds the '}' closing the '{' at open; NULL when unbalanced. */
static const char *brace_end(const char *open)
{
	int level = 0;
	const char *p;

	for (p = open; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '{')
			level++;
		else if (*p == '}' && --level == 0)
			return p;
	}
	return NULL;
}

/* Expands the first {a,b,...} group (if any) and matches each alternative. */
static bool glob_expand(const char *pattern, const char *s, struct glob_ctx *g, int depth)
{
	const char *open = NULL, *close, *alt, *p;
	char buf[GLOB_MAX];

	if (depth > GLOB_MAX || !spend(g)) {
		g->exhausted = true;
		return false;
	}
	for (p = pattern; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '{') {
			open = p;
			break;
		}
	}
	if (!open || !(close = brace_end(open)))
		return glob_plain(pattern, s, g, depth);
	alt = open + 1;
	while (alt <= close) {
		const char *end = alt;
		int level = 0;
		size_t prefix = (size_t)(open - pattern), alen, rlen = strlen(close + 1);
		while (end < close && !(level == 0 && *end == ',')) {
			if (*end == '{')
				level++;
			else if (*end == '}')
				level--;
			end++;
		}
		alen = (size_t)(end - alt);
		if (prefix + alen + rlen + 1 > sizeof(buf)) {
			g->exhausted = true;
			return false;
		}
		memcpy(buf, pattern, prefix);
		memcpy(buf + prefix, alt, alen);
		memcpy(buf + prefix + alen, close + 1, rlen + 1);
		if (glob_expand(buf, s, g, depth + 1))
			return true;
		if (g->exhausted)
			return false;
		alt = end + 1;
	}
	return false;
}

int model_glob_checked(const char *pattern, const char *s, char sep)
{
	struct glob_ctx g = { .sep = sep };
	bool m;

	if (!pattern || !s)
		return 0;
	if (strlen(pattern) >= GLOB_MAX)
		return err_set(BERR_TOOLARGE, "pattern longer than %d characters", GLOB_MAX - 1);
	m = glob_expand(pattern, s, &g, 0);
	if (g.exhausted)
		return err_set(BERR_TOOLARGE, "pattern \"%s\" is too costly to match", pattern);
	return m ? 1 : 0;
}

bool model_glob(const char *pattern, const char *s, char sep)
{
	return model_glob_checked(pattern, s, sep) == 1;
}

static bool is_deny(const char *pattern)
{
	return pattern && pattern[0] == '!';
}

/* Argo CD's globMatch with negation allowed. A pattern too costly to match
 * counts as not matching, so a "!" pattern then counts as excluding: the
 * safe side either way. */
static bool glob_neg(const char *pattern, const char *s, char sep)
{
	if (!pattern)
		return false;
	if (is_deny(pattern))
		return model_glob_checked(pattern + 1, s, sep) == 0;
	if (strcmp(pattern, "*") == 0)
		return true;
	return model_glob(pattern, s, sep);
}

/* ---- parse / release ------------------------------------------------------- */

static void group_kinds_release(struct model_group_kind *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].group);
		free(v[i].kind);
		free(v[i].name);
	}
	free(v);
}

void model_project_release(struct model_project *p)
{
	size_t i, j;

	model_meta_release(&p->meta);
	free(p->description);
	model_strv_release(&p->source_repos);
	for (i = 0; i < p->n_destinations; i++)
		model_destination_release(&p->destinations[i]);
	free(p->destinations);
	group_kinds_release(p->cluster_whitelist, p->n_cluster_whitelist);
	group_kinds_release(p->cluster_blacklist, p->n_cluster_blacklist);
	group_kinds_release(p->namespace_whitelist, p->n_namespace_whitelist);
	group_kinds_release(p->namespace_blacklist, p->n_namespace_blacklist);
	for (i = 0; i < p->n_roles; i++) {
		struct model_project_role *r = &p->roles[i];
		free(r->name);
		free(r->description);
		model_strv_release(&r->policies);
		model_strv_release(&r->groups);
		for (j = 0; j < r->n_jwt_tokens; j++)
			free(r->jwt_tokens[j].id);
		free(r->jwt_tokens);
	}
	free(p->roles);
	for (i = 0; i < p->n_sync_windows; i++) {
		struct model_sync_window *w = &p->sync_windows[i];
		free(w->kind);
		free(w->schedule);
		free(w->duration);
		model_strv_release(&w->applications);
		model_strv_release(&w->namespaces);
		model_strv_release(&w->clusters);
		free(w->time_zone);
	}
	free(p->sync_windows);
	model_strv_release(&p->source_namespaces);
	json_decref(p->spec_extra);
	json_decref(p->status);
	memset(p, 0, sizeof(*p));
}

static int parse_group_kinds(const json_t *spec, const char *key, struct model_group_kind **ret,
			     size_t *ret_n, bool *ret_set)
{
	const json_t *arr;
	char p[128], pi[160];
	size_t i;
	json_t *e;
	int rc;

	TRY(mj_arr(spec, key, "spec", &arr));
	if (!arr)
		return 0;
	if (ret_set)
		*ret_set = true;
	TRY(mj_calloc(json_array_size(arr), sizeof(**ret), (void **)ret));
	mj_path(p, sizeof(p), "spec", key);
	json_array_foreach(arr, i, e) {
		mj_path_index(pi, sizeof(pi), p, i);
		if (!json_is_object(e))
			TRY(err_set(BERR_INVALID, "%s: must be an object", pi));
		*ret_n = i + 1;
		TRY(mj_str(e, "group", pi, &(*ret)[i].group));
		TRY(mj_str(e, "kind", pi, &(*ret)[i].kind));
		TRY(mj_str(e, "name", pi, &(*ret)[i].name));
	}
out:
	return rc;
}

static int parse_destinations(const json_t *spec, struct model_project *p)
{
	const json_t *arr;
	char pi[64];
	size_t i;
	json_t *e;
	int rc;

	TRY(mj_arr(spec, "destinations", "spec", &arr));
	if (!arr)
		return 0;
	TRY(mj_calloc(json_array_size(arr), sizeof(*p->destinations), (void **)&p->destinations));
	json_array_foreach(arr, i, e) {
		p->n_destinations = i + 1;
		TRY(model_destination_parse(e, mj_path_index(pi, sizeof(pi), "spec.destinations", i),
					    &p->destinations[i]));
	}
out:
	return rc;
}

static int parse_role(const json_t *e, const char *pi, struct model_project_role *r)
{
	const json_t *toks;
	char pt[128], pti[160];
	size_t j;
	json_t *t;
	int rc;

	if (!json_is_object(e))
		return err_set(BERR_INVALID, "%s: must be an object", pi);
	TRY(mj_str(e, "name", pi, &r->name));
	TRY(mj_str(e, "description", pi, &r->description));
	TRY(mj_strv(e, "policies", pi, &r->policies));
	TRY(mj_strv(e, "groups", pi, &r->groups));
	TRY(mj_arr(e, "jwtTokens", pi, &toks));
	if (!toks)
		return 0;
	TRY(mj_calloc(json_array_size(toks), sizeof(*r->jwt_tokens), (void **)&r->jwt_tokens));
	mj_path(pt, sizeof(pt), pi, "jwtTokens");
	json_array_foreach(toks, j, t) {
		mj_path_index(pti, sizeof(pti), pt, j);
		if (!json_is_object(t))
			TRY(err_set(BERR_INVALID, "%s: must be an object", pti));
		r->n_jwt_tokens = j + 1;
		TRY(mj_int(t, "iat", pti, &r->jwt_tokens[j].iat));
		TRY(mj_int(t, "exp", pti, &r->jwt_tokens[j].exp));
		TRY(mj_str(t, "id", pti, &r->jwt_tokens[j].id));
	}
out:
	return rc;
}

static int parse_roles(const json_t *spec, struct model_project *p)
{
	const json_t *arr;
	char pi[64];
	size_t i;
	json_t *e;
	int rc;

	TRY(mj_arr(spec, "roles", "spec", &arr));
	if (!arr)
		return 0;
	TRY(mj_calloc(json_array_size(arr), sizeof(*p->roles), (void **)&p->roles));
	json_array_foreach(arr, i, e) {
		p->n_roles = i + 1;
		TRY(parse_role(e, mj_path_index(pi, sizeof(pi), "spec.roles", i), &p->roles[i]));
	}
out:
	return rc;
}

static int parse_sync_windows(const json_t *spec, struct model_project *p)
{
	const json_t *arr;
	char pi[64];
	size_t i;
	json_t *e;
	int rc;

	TRY(mj_arr(spec, "syncWindows", "spec", &arr));
	if (!arr)
		return 0;
	TRY(mj_calloc(json_array_size(arr), sizeof(*p->sync_windows), (void **)&p->sync_windows));
	json_array_foreach(arr, i, e) {
		struct model_sync_window *w = &p->sync_windows[i];
		mj_path_index(pi, sizeof(pi), "spec.syncWindows", i);
		if (!json_is_object(e))
			TRY(err_set(BERR_INVALID, "%s: must be an object", pi));
		p->n_sync_windows = i + 1;
		TRY(mj_str(e, "kind", pi, &w->kind));
		TRY(mj_str(e, "schedule", pi, &w->schedule));
		TRY(mj_str(e, "duration", pi, &w->duration));
		TRY(mj_strv(e, "applications", pi, &w->applications));
		TRY(mj_strv(e, "namespaces", pi, &w->namespaces));
		TRY(mj_strv(e, "clusters", pi, &w->clusters));
		TRY(mj_bool(e, "manualSync", pi, &w->manual_sync));
		TRY(mj_str(e, "timeZone", pi, &w->time_zone));
	}
out:
	return rc;
}

static int parse_project_spec(const json_t *spec, struct model_project *p)
{
	static const char *const known[] = {
		"description", "sourceRepos", "destinations", "clusterResourceWhitelist",
		"clusterResourceBlacklist", "namespaceResourceWhitelist", "namespaceResourceBlacklist",
		"roles", "syncWindows", "sourceNamespaces", NULL
	};
	int rc;

	TRY(mj_extra(spec, known, &p->spec_extra));
	TRY(mj_str(spec, "description", "spec", &p->description));
	TRY(mj_strv(spec, "sourceRepos", "spec", &p->source_repos));
	TRY(parse_destinations(spec, p));
	TRY(parse_group_kinds(spec, "clusterResourceWhitelist", &p->cluster_whitelist,
			      &p->n_cluster_whitelist, NULL));
	TRY(parse_group_kinds(spec, "clusterResourceBlacklist", &p->cluster_blacklist,
			      &p->n_cluster_blacklist, NULL));
	TRY(parse_group_kinds(spec, "namespaceResourceWhitelist", &p->namespace_whitelist,
			      &p->n_namespace_whitelist, &p->namespace_whitelist_set));
	TRY(parse_group_kinds(spec, "namespaceResourceBlacklist", &p->namespace_blacklist,
			      &p->n_namespace_blacklist, NULL));
	TRY(parse_roles(spec, p));
	TRY(parse_sync_windows(spec, p));
	TRY(mj_strv(spec, "sourceNamespaces", "spec", &p->source_namespaces));
out:
	return rc;
}

int model_project_parse(const json_t *obj, struct model_project *out)
{
	struct model_project p = { 0 };
	const json_t *spec, *st;
	int rc;

	TRY(model_check_type(obj, MODEL_KIND_PROJECT));
	TRY(model_meta_parse(obj, &p.meta));
	TRY(mj_obj(obj, "spec", "", &spec));
	if (spec)
		TRY(parse_project_spec(spec, &p));
	TRY(mj_obj(obj, "status", "", &st));
	if (st && !(p.status = json_deep_copy(st)))
		TRY(err_set(BERR_NOMEM, "out of memory"));
	*out = p;
	return 0;
out:
	model_project_release(&p);
	return rc;
}

/* ---- validate ---------------------------------------------------------------- */

/* Splits a CSV policy line into at most max trimmed fields in f[] (pointers
 * into buf). Returns the number of fields. */
static size_t split_csv(char *buf, char **f, size_t max)
{
	size_t n = 0;
	char *p = buf;

	while (n < max) {
		char *end = strchr(p, ',');
		char *s = p, *e;
		if (end)
			*end = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		f[n++] = s;
		if (!end)
			break;
		p = end + 1;
	}
	return n;
}

static int validate_role_policy(const struct model_project *p, const struct model_project_role *r,
				size_t ri, size_t pi)
{
	char buf[1024], *f[7];
	char *subject = NULL, *objprefix = NULL;
	size_t n;
	int rc = 0;

	if (str_copy(buf, r->policies.v[pi], sizeof(buf)) >= sizeof(buf))
		return err_set(BERR_INVALID, "spec.roles[%zu].policies[%zu]: too long", ri, pi);
	n = split_csv(buf, f, 7);
	subject = str_printf("proj:%s:%s", p->meta.name, r->name);
	objprefix = str_printf("%s/", p->meta.name);
	if (!subject || !objprefix) {
		rc = err_set(BERR_NOMEM, "out of memory");
		goto out;
	}
	if (n != 6 || strcmp(f[0], "p") != 0) {
		rc = err_set(BERR_INVALID, "spec.roles[%zu].policies[%zu]: \"%s\" must be "
			     "\"p, %s, <resource>, <action>, %s<object>, allow|deny\"",
			     ri, pi, r->policies.v[pi], subject, objprefix);
		goto out;
	}
	if (strcmp(f[1], subject) != 0)
		rc = err_set(BERR_INVALID, "spec.roles[%zu].policies[%zu]: subject must be \"%s\"",
			     ri, pi, subject);
	else if (!str_starts_with(f[4], objprefix))
		rc = err_set(BERR_INVALID, "spec.roles[%zu].policies[%zu]: object must start "
			     "with \"%s\"", ri, pi, objprefix);
	else if (strcmp(f[5], "allow") != 0 && strcmp(f[5], "deny") != 0)
		rc = err_set(BERR_INVALID, "spec.roles[%zu].policies[%zu]: effect must be allow "
			     "or deny", ri, pi);
out:
	free(subject);
	free(objprefix);
	return rc;
}

int model_project_validate(const struct model_project *p)
{
	size_t i, j;
	int rc;

	if ((rc = model_validate_name("metadata.name", p->meta.name)) < 0)
		return rc;
	for (i = 0; i < p->n_destinations; i++) {
		const struct model_destination *d = &p->destinations[i];
		if ((!d->server || !*d->server) && (!d->name || !*d->name))
			return err_set(BERR_INVALID,
				       "spec.destinations[%zu]: one of server or name is required", i);
	}
	for (i = 0; i < p->n_roles; i++) {
		const struct model_project_role *r = &p->roles[i];
		char field[64];
		snprintf(field, sizeof(field), "spec.roles[%zu].name", i);
		if (!r->name || !*r->name)
			return err_set(BERR_INVALID, "%s: is required", field);
		for (j = 0; j < i; j++)
			if (strcmp(p->roles[j].name, r->name) == 0)
				return err_set(BERR_INVALID, "%s: duplicate role \"%s\"", field,
					       r->name);
		for (j = 0; j < r->policies.n; j++)
			if ((rc = validate_role_policy(p, r, i, j)) < 0)
				return rc;
	}
	for (i = 0; i < p->n_sync_windows; i++) {
		const struct model_sync_window *w = &p->sync_windows[i];
		int64_t ms;
		if (!w->kind || (strcmp(w->kind, "allow") != 0 && strcmp(w->kind, "deny") != 0))
			return err_set(BERR_INVALID, "spec.syncWindows[%zu].kind: must be allow or "
				       "deny", i);
		if (!w->schedule || !*w->schedule)
			return err_set(BERR_INVALID, "spec.syncWindows[%zu].schedule: is required", i);
		if (!w->duration || str_to_duration_ms(w->duration, &ms) < 0)
			return err_set(BERR_INVALID, "spec.syncWindows[%zu].duration: must be a "
				       "duration (like 1h)", i);
	}
	return 0;
}

/* ---- serialise ----------------------------------------------------------------- */

static int set_group_kinds(json_t *spec, const char *key, const struct model_group_kind *v,
			   size_t n, bool force)
{
	json_t *arr;
	size_t i;
	int rc = 0;

	if (!n && !force)
		return 0;
	TRY(mj_set_new(spec, key, arr = json_array()));
	for (i = 0; i < n; i++) {
		json_t *e = json_object();
		TRY(e ? json_array_append_new(arr, e) ? BERR_NOMEM : 0 : BERR_NOMEM);
		TRY(mj_set_new(e, "group", json_string(v[i].group ? v[i].group : "")));
		TRY(mj_set_str(e, "kind", v[i].kind));
		TRY(mj_set_str(e, "name", v[i].name));
	}
out:
	return rc;
}

static int set_roles(json_t *spec, const struct model_project *p)
{
	json_t *arr, *toks;
	size_t i, j;
	int rc = 0;

	if (!p->n_roles)
		return 0;
	TRY(mj_set_new(spec, "roles", arr = json_array()));
	for (i = 0; i < p->n_roles; i++) {
		const struct model_project_role *r = &p->roles[i];
		json_t *e = json_object();
		TRY(e ? json_array_append_new(arr, e) ? BERR_NOMEM : 0 : BERR_NOMEM);
		TRY(mj_set_str(e, "name", r->name));
		TRY(mj_set_str(e, "description", r->description));
		TRY(mj_set_strv(e, "policies", &r->policies));
		TRY(mj_set_strv(e, "groups", &r->groups));
		if (!r->n_jwt_tokens)
			continue;
		TRY(mj_set_new(e, "jwtTokens", toks = json_array()));
		for (j = 0; j < r->n_jwt_tokens; j++) {
			json_t *t = json_object();
			TRY(t ? json_array_append_new(toks, t) ? BERR_NOMEM : 0 : BERR_NOMEM);
			TRY(mj_set_int(t, "iat", r->jwt_tokens[j].iat));
			if (r->jwt_tokens[j].exp)
				TRY(mj_set_int(t, "exp", r->jwt_tokens[j].exp));
			TRY(mj_set_str(t, "id", r->jwt_tokens[j].id));
		}
	}
out:
	return rc;
}

static int set_sync_windows(json_t *spec, const struct model_project *p)
{
	json_t *arr;
	size_t i;
	int rc = 0;

	if (!p->n_sync_windows)
		return 0;
	TRY(mj_set_new(spec, "syncWindows", arr = json_array()));
	for (i = 0; i < p->n_sync_windows; i++) {
		const struct model_sync_window *w = &p->sync_windows[i];
		json_t *e = json_object();
		TRY(e ? json_array_append_new(arr, e) ? BERR_NOMEM : 0 : BERR_NOMEM);
		TRY(mj_set_str(e, "kind", w->kind));
		TRY(mj_set_str(e, "schedule", w->schedule));
		TRY(mj_set_str(e, "duration", w->duration));
		TRY(mj_set_strv(e, "applications", &w->applications));
		TRY(mj_set_strv(e, "namespaces", &w->namespaces));
		TRY(mj_set_strv(e, "clusters", &w->clusters));
		TRY(mj_set_bool(e, "manualSync", w->manual_sync));
		TRY(mj_set_str(e, "timeZone", w->time_zone));
	}
out:
	return rc;
}

static json_t *project_spec_to_json(const struct model_project *p)
{
	json_t *spec = json_object(), *arr;
	size_t i;
	int rc = 0;

	if (!spec)
		return NULL;
	TRY(mj_set_str(spec, "description", p->description));
	TRY(mj_set_strv(spec, "sourceRepos", &p->source_repos));
	if (p->n_destinations) {
		TRY(mj_set_new(spec, "destinations", arr = json_array()));
		for (i = 0; i < p->n_destinations; i++) {
			json_t *e = model_destination_to_json(&p->destinations[i]);
			TRY(e ? json_array_append_new(arr, e) ? BERR_NOMEM : 0 : BERR_NOMEM);
		}
	}
	TRY(set_group_kinds(spec, "clusterResourceWhitelist", p->cluster_whitelist,
			    p->n_cluster_whitelist, false));
	TRY(set_group_kinds(spec, "clusterResourceBlacklist", p->cluster_blacklist,
			    p->n_cluster_blacklist, false));
	TRY(set_group_kinds(spec, "namespaceResourceWhitelist", p->namespace_whitelist,
			    p->n_namespace_whitelist, p->namespace_whitelist_set));
	TRY(set_group_kinds(spec, "namespaceResourceBlacklist", p->namespace_blacklist,
			    p->n_namespace_blacklist, false));
	TRY(set_roles(spec, p));
	TRY(set_sync_windows(spec, p));
	TRY(mj_set_strv(spec, "sourceNamespaces", &p->source_namespaces));
	TRY(mj_merge_extra(spec, p->spec_extra));
out:
	if (rc < 0) {
		json_decref(spec);
		return NULL;
	}
	return spec;
}

json_t *model_project_to_json(const struct model_project *p)
{
	json_t *o = json_object();
	int rc = 0;

	if (!o)
		return NULL;
	TRY(mj_set_str(o, "apiVersion", MODEL_API_VERSION));
	TRY(mj_set_str(o, "kind", MODEL_KIND_PROJECT));
	TRY(mj_set_new(o, "metadata", model_meta_to_json(&p->meta)));
	TRY(mj_set_new(o, "spec", project_spec_to_json(p)));
	TRY(mj_set_json(o, "status", p->status));
out:
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int model_project_init_default(struct model_project *out, const char *namespace_)
{
	struct model_project p = { 0 };
	int rc = BERR_NOMEM;

	if (!(p.meta.name = strdup(MODEL_DEFAULT_PROJECT)))
		goto out;
	if (namespace_ && !(p.meta.namespace_ = strdup(namespace_)))
		goto out;
	if (model_strv_push(&p.source_repos, "*") < 0)
		goto out;
	if (mj_calloc(1, sizeof(*p.destinations), (void **)&p.destinations) < 0)
		goto out;
	p.n_destinations = 1;
	if (!(p.destinations[0].server = strdup("*")) ||
	    !(p.destinations[0].namespace_ = strdup("*")))
		goto out;
	if (mj_calloc(1, sizeof(*p.cluster_whitelist), (void **)&p.cluster_whitelist) < 0)
		goto out;
	p.n_cluster_whitelist = 1;
	if (!(p.cluster_whitelist[0].group = strdup("*")) ||
	    !(p.cluster_whitelist[0].kind = strdup("*")))
		goto out;
	*out = p;
	return 0;
out:
	model_project_release(&p);
	return err_set(rc, "out of memory");
}

/* ---- rules ------------------------------------------------------------------------- */

static bool refuse(char **ret_reason, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool refuse(char **ret_reason, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	if (ret_reason) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		*ret_reason = strdup(buf);
	}
	return false;
}

static const char *pname(const struct model_project *p)
{
	return p->meta.name ? p->meta.name : "";
}

bool model_project_permits_source(const struct model_project *p, const char *repo_url,
				  char **ret_reason)
{
	char *src = NULL, *pat = NULL, red[512];
	bool any = false, denied = false;
	size_t i;

	model_repo_url_redact(repo_url, red, sizeof(red));
	if (!repo_url || model_repo_url_normalize(repo_url, &src) < 0)
		return refuse(ret_reason, "project \"%s\": repository URL \"%s\" is not valid",
			      pname(p), red);
	for (i = 0; i < p->source_repos.n && !denied; i++) {
		const char *entry = p->source_repos.v[i];
		bool deny = is_deny(entry);
		bool matched;
		int m;
		if (strcmp(entry, "*") == 0) {
			any = true;
			continue;
		}
		if (model_repo_url_normalize(deny ? entry + 1 : entry, &pat) < 0)
			continue;
		/* Too costly to match: an allow entry does not admit, a deny entry
		 * excludes. */
		m = model_glob_checked(pat, src, '/');
		matched = deny ? m != 0 : m == 1;
		if (deny && matched)
			denied = true;
		else if (deny || matched)
			any = true;
		free(pat);
		pat = NULL;
	}
	free(src);
	if (denied || !any)
		return refuse(ret_reason,
			      "project \"%s\": repository \"%s\" is not permitted in sourceRepos",
			      pname(p), red);
	return true;
}

bool model_project_permits_destination(const struct model_project *p,
				       const struct model_destination *dst, char **ret_reason)
{
	const char *ns = dst->namespace_ ? dst->namespace_ : "";
	bool any = false, denied = false;
	size_t i;

	for (i = 0; i < p->n_destinations; i++) {
		const struct model_destination *it = &p->destinations[i];
		bool name_m = dst->name && *dst->name && glob_neg(it->name, dst->name, 0);
		bool server_m = dst->server && *dst->server && glob_neg(it->server, dst->server, 0);
		bool ns_m = glob_neg(it->namespace_ ? it->namespace_ : "", ns, 0);

		if ((server_m || name_m) && ns_m)
			any = true;
		else if ((!name_m && is_deny(it->name)) || (!server_m && is_deny(it->server)) ||
			 (!ns_m && is_deny(it->namespace_)))
			denied = true;
	}
	if (!any || denied)
		return refuse(ret_reason,
			      "project \"%s\": destination server \"%s\" name \"%s\" namespace \"%s\" "
			      "is not permitted",
			      pname(p), dst->server ? dst->server : "", dst->name ? dst->name : "", ns);
	return true;
}

/* One pattern of a resource list. A pattern too costly to match counts as a
 * hit in a deny list (blacklist) and as a miss in an allow list. */
static bool list_match(const char *pattern, const char *value, bool deny_list)
{
	bool neg = is_deny(pattern);
	int m;

	if (strcmp(pattern, "*") == 0)
		return true;
	m = model_glob_checked(neg ? pattern + 1 : pattern, value, 0);
	if (m < 0)
		return deny_list;
	return neg ? m == 0 : m == 1;
}

static bool in_list(const struct model_group_kind *v, size_t n, const char *group, const char *kind,
		    bool deny_list)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list_match(v[i].group ? v[i].group : "", group, deny_list) &&
		    list_match(v[i].kind ? v[i].kind : "", kind, deny_list))
			return true;
	return false;
}

bool model_project_permits_resource(const struct model_project *p, const char *group,
				    const char *kind, bool namespaced, char **ret_reason)
{
	const char *g = group ? group : "";
	const char *k = kind ? kind : "";
	const char *scope = namespaced ? "namespaced" : "cluster-scoped";
	bool white, black;

	if (namespaced) {
		white = !p->namespace_whitelist_set ||
			in_list(p->namespace_whitelist, p->n_namespace_whitelist, g, k, false);
		black = in_list(p->namespace_blacklist, p->n_namespace_blacklist, g, k, true);
	} else {
		white = in_list(p->cluster_whitelist, p->n_cluster_whitelist, g, k, false);
		black = in_list(p->cluster_blacklist, p->n_cluster_blacklist, g, k, true);
	}
	if (!white || black)
		return refuse(ret_reason, "project \"%s\": %s resource %s%s%s is not permitted",
			      pname(p), scope, g, *g ? "/" : "", k);
	return true;
}

bool model_project_permits_app(const struct model_project *p, const struct model_app *app,
			       char **ret_reason)
{
	size_t i;

	if (!app->project || !p->meta.name || strcmp(app->project, p->meta.name) != 0)
		return refuse(ret_reason, "application \"%s\" belongs to project \"%s\", not \"%s\"",
			      app->meta.name ? app->meta.name : "", app->project ? app->project : "",
			      pname(p));
	for (i = 0; i < app->sources.n; i++)
		if (!model_project_permits_source(p, app->sources.v[i].repo_url, ret_reason))
			return false;
	return model_project_permits_destination(p, &app->destination, ret_reason);
}

const struct model_project_role *model_project_role(const struct model_project *p,
						    const char *name)
{
	size_t i;

	for (i = 0; i < p->n_roles; i++)
		if (p->roles[i].name && name && strcmp(p->roles[i].name, name) == 0)
			return &p->roles[i];
	return NULL;
}

bool model_project_token_valid(const struct model_project *p, const char *role, const char *id,
			       int64_t now)
{
	const struct model_project_role *r = model_project_role(p, role);
	size_t i;

	if (!r || !id)
		return false;
	for (i = 0; i < r->n_jwt_tokens; i++) {
		const struct model_project_token *t = &r->jwt_tokens[i];
		if (t->id && strcmp(t->id, id) == 0)
			return t->exp == 0 || now < t->exp;
	}
	return false;
}
