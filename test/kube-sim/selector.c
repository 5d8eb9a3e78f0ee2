/* selector — see selector.h. */
#include "selector.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "store.h"
#include "str.h"

void selector_release(struct selector *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->reqs[i].key);
		for (char **v = s->reqs[i].values; v && *v; v++)
			free(*v);
		free(s->reqs[i].values);
	}
	free(s->reqs);
	s->reqs = NULL;
	s->n = 0;
}

static char *dup_trim(const char *a, const char *b)
{
	while (a < b && isspace((unsigned char)*a))
		a++;
	while (b > a && isspace((unsigned char)b[-1]))
		b--;
	return strndup(a, (size_t)(b - a));
}

static int add_req(struct selector *s, char *key, enum sel_op op, char **values)
{
	struct sel_req *r = realloc(s->reqs, (s->n + 1) * sizeof(*r));
	if (!r)
		return BERR_NOMEM;
	s->reqs = r;
	r[s->n].key = key;
	r[s->n].op = op;
	r[s->n].values = values;
	s->n++;
	return 0;
}

static char **one_value(char *v)
{
	char **vals = calloc(2, sizeof(*vals));
	if (vals)
		vals[0] = v;
	return vals;
}

static bool valid_label_token(const char *k, bool is_key)
{
	if (!*k)
		return !is_key;
	for (const char *p = k; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.' || (is_key && *p == '/')))
			return false;
	return true;
}

/* Parses one requirement in [a, b). */
static int parse_label_req(struct selector *s, const char *a, const char *b, const char *all)
{
	char *text = dup_trim(a, b);
	int rc = BERR_INVALID;
	if (!text)
		return BERR_NOMEM;
	char *p;
	if (text[0] == '!') {
		char *k = dup_trim(text + 1, text + strlen(text));
		if (!k || !valid_label_token(k, true) || !*k) {
			free(k);
			goto bad;
		}
		rc = add_req(s, k, SEL_NOTEXISTS, NULL);
		goto out;
	}
	if ((p = strstr(text, " notin ")) || (p = strstr(text, " in "))) {
		bool notin = strncmp(p, " notin ", 7) == 0;
		char *k = dup_trim(text, p);
		char *lp = strchr(p, '(');
		char *rp = lp ? strchr(lp, ')') : NULL;
		if (!k || !lp || !rp || !valid_label_token(k, true) || !*k) {
			free(k);
			goto bad;
		}
		size_t nv = 1;
		for (char *q = lp; q < rp; q++)
			nv += *q == ',';
		char **vals = calloc(nv + 1, sizeof(*vals));
		size_t i = 0;
		char *start = lp + 1;
		for (char *q = lp + 1; vals && q <= rp; q++) {
			if (*q == ',' || q == rp) {
				vals[i] = dup_trim(start, q);
				if (!valid_label_token(vals[i], false)) {
					free(k);
					for (size_t j = 0; j <= i; j++)
						free(vals[j]);
					free(vals);
					goto bad;
				}
				i++;
				start = q + 1;
			}
		}
		rc = add_req(s, k, notin ? SEL_NOTIN : SEL_IN, vals);
		goto out;
	}
	enum sel_op op;
	size_t oplen;
	if ((p = strstr(text, "!="))) {
		op = SEL_NE;
		oplen = 2;
	} else if ((p = strstr(text, "=="))) {
		op = SEL_EQ;
		oplen = 2;
	} else if ((p = strchr(text, '='))) {
		op = SEL_EQ;
		oplen = 1;
	} else {
		if (!valid_label_token(text, true) || !*text)
			goto bad;
		rc = add_req(s, str_dup(text), SEL_EXISTS, NULL);
		goto out;
	}
	char *k = dup_trim(text, p);
	char *v = dup_trim(p + oplen, text + strlen(text));
	if (!k || !v || !*k || !valid_label_token(k, true) || !valid_label_token(v, false)) {
		free(k);
		free(v);
		goto bad;
	}
	rc = add_req(s, k, op, one_value(v));
	goto out;
bad:
	rc = err_set(BERR_INVALID, "unable to parse requirement: found '%s' in selector \"%s\"", text, all);
out:
	free(text);
	return rc;
}

int selector_parse_labels(const char *text, struct selector *out)
{
	struct selector s = { 0 };
	int rc = 0;
	if (text) {
		const char *start = text;
		int depth = 0;
		for (const char *p = text;; p++) {
			if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			if (*p == '\0' || (*p == ',' && depth == 0)) {
				if (p > start || *p == ',') {
					if ((rc = parse_label_req(&s, start, p, text)) < 0)
						goto out;
				}
				if (!*p)
					break;
				start = p + 1;
			}
		}
	}
out:
	if (rc < 0)
		selector_release(&s);
	else
		*out = s;
	return rc;
}

/* Fields each kind supports besides metadata.name/metadata.namespace. */
static bool field_supported(const struct ks_type *t, const char *f)
{
	static const char *const pod_fields[] = { "status.phase", "spec.nodeName", "spec.restartPolicy",
						  "spec.schedulerName", "spec.serviceAccountName",
						  "status.podIP", "status.nominatedNodeName", NULL };
	static const char *const event_fields[] = { "involvedObject.kind", "involvedObject.namespace",
						    "involvedObject.name", "involvedObject.uid",
						    "involvedObject.apiVersion", "involvedObject.resourceVersion",
						    "involvedObject.fieldPath", "reason", "source", "type",
						    "reportingComponent", NULL };
	if (strcmp(f, "metadata.name") == 0 || strcmp(f, "metadata.namespace") == 0)
		return true;
	if (t->custom)
		return false;
	const char *const *list = NULL;
	if (!*t->group && strcmp(t->kind, "Pod") == 0)
		list = pod_fields;
	else if (!*t->group && strcmp(t->kind, "Event") == 0)
		list = event_fields;
	else if (!*t->group && strcmp(t->kind, "Secret") == 0)
		return strcmp(f, "type") == 0;
	else if (!*t->group && strcmp(t->kind, "Namespace") == 0)
		return strcmp(f, "status.phase") == 0;
	else if (!*t->group && strcmp(t->kind, "Node") == 0)
		return strcmp(f, "spec.unschedulable") == 0;
	else if (strcmp(t->kind, "ReplicaSet") == 0 || strcmp(t->kind, "ReplicationController") == 0)
		return strcmp(f, "status.replicas") == 0;
	else if (strcmp(t->kind, "Job") == 0)
		return strcmp(f, "status.successful") == 0;
	for (; list && *list; list++)
		if (strcmp(*list, f) == 0)
			return true;
	return false;
}

int selector_parse_fields(const char *text, const struct ks_type *t, struct selector *out)
{
	struct selector s = { 0 };
	int rc = 0;
	char *copy = str_dup(text ? text : "");
	if (!copy)
		return BERR_NOMEM;
	char *save = NULL;
	for (char *part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		char *p;
		enum sel_op op;
		size_t oplen;
		if ((p = strstr(part, "!="))) {
			op = SEL_NE;
			oplen = 2;
		} else if ((p = strstr(part, "=="))) {
			op = SEL_EQ;
			oplen = 2;
		} else if ((p = strchr(part, '='))) {
			op = SEL_EQ;
			oplen = 1;
		} else {
			rc = err_set(BERR_INVALID, "invalid selector: '%s'; can't understand '%s'", text, part);
			goto out;
		}
		char *k = dup_trim(part, p);
		char *v = dup_trim(p + oplen, part + strlen(part));
		if (!k || !v) {
			free(k);
			free(v);
			rc = BERR_NOMEM;
			goto out;
		}
		if (!field_supported(t, k)) {
			rc = err_set(BERR_INVALID, "field label not supported: %s", k);
			free(k);
			free(v);
			goto out;
		}
		if ((rc = add_req(&s, k, op, one_value(v))) < 0)
			goto out;
	}
out:
	free(copy);
	if (rc < 0)
		selector_release(&s);
	else
		*out = s;
	return rc;
}

static bool in_values(char **values, const char *v)
{
	for (; values && *values; values++)
		if (strcmp(*values, v) == 0)
			return true;
	return false;
}

static bool req_match(const struct sel_req *r, const char *v)
{
	switch (r->op) {
	case SEL_EQ:
	case SEL_IN:
		return v && in_values(r->values, v);
	case SEL_NE:
	case SEL_NOTIN:
		return !v || !in_values(r->values, v);
	case SEL_EXISTS:
		return v != NULL;
	case SEL_NOTEXISTS:
		return v == NULL;
	}
	return false;
}

bool selector_match_labels(const struct selector *s, const json_t *obj)
{
	json_t *labels = jx_path(obj, "metadata", "labels", NULL);
	for (size_t i = 0; i < s->n; i++) {
		const char *v = labels ? jx_str(labels, s->reqs[i].key) : NULL;
		if (!req_match(&s->reqs[i], v))
			return false;
	}
	return true;
}

/* The string form of the field at a dotted path ("" for absent, as the
 * API server's field sets do). */
static const char *field_value(const json_t *obj, const char *path, char *tmp, size_t tmpsz)
{
	char buf[256];
	str_copy(buf, path, sizeof(buf));
	const json_t *cur = obj;
	char *save = NULL;
	for (char *seg = strtok_r(buf, ".", &save); seg && cur; seg = strtok_r(NULL, ".", &save))
		cur = json_is_object(cur) ? json_object_get(cur, seg) : NULL;
	if (!cur)
		return "";
	if (json_is_string(cur))
		return json_string_value(cur);
	if (json_is_boolean(cur))
		return json_is_true(cur) ? "true" : "false";
	if (json_is_integer(cur)) {
		snprintf(tmp, tmpsz, "%lld", (long long)json_integer_value(cur));
		return tmp;
	}
	return "";
}

bool selector_match_fields(const struct selector *s, const json_t *obj)
{
	char tmp[32];
	for (size_t i = 0; i < s->n; i++) {
		const char *v = field_value(obj, s->reqs[i].key, tmp, sizeof(tmp));
		bool eq = strcmp(v, s->reqs[i].values[0]) == 0;
		if ((s->reqs[i].op == SEL_EQ) != eq)
			return false;
	}
	return true;
}
