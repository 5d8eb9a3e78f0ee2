/*
 * selector — Kubernetes label and field selectors (KUBE-API.md §2): parsing
 * the query-string forms and matching objects.
 *
 * Label selectors: comma means AND; k=v, k==v, k!=v, k in (a,b),
 * k notin (a,b), k, !k. Field selectors: path=v, path==v, path!=v over the
 * fields a type supports (metadata.name and metadata.namespace everywhere,
 * a few per-type fields such as status.phase for pods); others are 400.
 */
#ifndef KUBESIM_SELECTOR_H
#define KUBESIM_SELECTOR_H

#include <jansson.h>
#include <stdbool.h>

struct ks_type;

enum sel_op { SEL_EQ, SEL_NE, SEL_IN, SEL_NOTIN, SEL_EXISTS, SEL_NOTEXISTS };

struct sel_req {
	char *key;     /* label key, or field path */
	enum sel_op op;
	char **values; /* NULL-terminated */
};

struct selector {
	struct sel_req *reqs;
	size_t n;
};

/* Parses a label selector (NULL or "" selects everything). 0 or
 * BERR_INVALID with a message for a 400. */
int selector_parse_labels(const char *text, struct selector *out);

/* Parses a field selector for type t (unsupported fields: BERR_INVALID,
 * message "field label not supported: <f>"). */
int selector_parse_fields(const char *text, const struct ks_type *t, struct selector *out);

/* True when obj matches (empty selector: always). */
bool selector_match_labels(const struct selector *s, const json_t *obj);
bool selector_match_fields(const struct selector *s, const json_t *obj);

void selector_release(struct selector *s);

#endif
