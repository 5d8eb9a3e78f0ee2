/*
 * mergekeys — the patch strategy of every list field of the built-in
 * Kubernetes kinds, as strategic merge patch and kubectl apply use it
 * (KUBE-API.md §5.4).
 *
 * A list field is merged in one of three ways:
 *   MK_LIST_MAP    a list of objects merged item by item on a merge key
 *                  (containers by "name", ports by "containerPort", ...);
 *   MK_LIST_SET    a list of scalars merged as a set union (finalizers);
 *   MK_LIST_ATOMIC replaced whole (tolerations, args, and every list the
 *                  table does not know — including all lists of custom
 *                  resources, which follow JSON merge-patch semantics).
 *
 * The schema is a small static tree: a node lists the fields of one object
 * type (PodSpec, Container, ObjectMeta, ...) with their strategy and the node
 * of their value (for a list: of each item). Shared types are described once
 * and mounted wherever they appear, so the Pod template of a Deployment, a
 * Job and a CronJob all point at the same PodSpec node. Fields absent from a
 * node have no strategy (maps merge, lists are atomic).
 *
 * Everything here is constant data; the functions are pure and reentrant.
 */
#ifndef BERTH_MERGEKEYS_H
#define BERTH_MERGEKEYS_H

#include <stdbool.h>
#include <stddef.h>

enum mk_list {
	MK_LIST_ATOMIC = 0,
	MK_LIST_MAP,
	MK_LIST_SET,
};

struct mk_node;

struct mk_field {
	const char *name;
	enum mk_list list;           /* meaningful when the value is a list */
	const char *key;             /* merge key for MK_LIST_MAP, else NULL */
	bool retain_keys;            /* value (or each list item) is a union
	                                struct patched with $retainKeys */
	const struct mk_node *child; /* schema of the value, or of each list
	                                item; NULL when unknown */
};

struct mk_node {
	const struct mk_field *fields;
	size_t n;
};

/* The strategy found for one path (see mk_lookup). */
struct mk_strategy {
	enum mk_list list;
	const char *key;   /* static string or NULL */
	bool retain_keys;
};

/* True when (group, kind) is a type served by kube-apiserver itself, which
 * accepts strategic merge patch. Custom resources (any other group, including
 * CRD groups under *.k8s.io such as gateway.networking.k8s.io) are false.
 * group is "" for the core group. */
bool mk_is_builtin(const char *group, const char *kind);

/* The schema node of a whole object of this kind, or NULL when the kind is
 * not a built-in (all lists atomic). Built-in kinds without list strategies
 * of their own still get ObjectMeta's (ownerReferences, finalizers).
 * Static; never freed. */
const struct mk_node *mk_kind_schema(const char *group, const char *kind);

/* The field called name in node, or NULL when node is NULL or has no such
 * field. Static. */
const struct mk_field *mk_node_field(const struct mk_node *node, const char *name);

/* Looks up the strategy of the field at a dotted path inside an object of
 * (group, kind); "[]" after a segment steps into the items of a list:
 * "spec.template.spec.containers", "spec.template.spec.containers[].env".
 * Unknown kinds and unknown fields give MK_LIST_ATOMIC. 0 with *out set, or
 * BERR_INVALID for a malformed path (*out untouched). */
int mk_lookup(const char *group, const char *kind, const char *path, struct mk_strategy *out);

#endif
