/*
 * rbac — who may do what: Argo CD's RBAC model (Casbin-style CSV) without
 * Casbin.
 *
 * A policy is read from berth-rbac-cm: policy.csv lines
 *     p, <subject>, <resource>, <action>, <object>, allow|deny
 *     g, <user-or-group>, <role>
 * ('#' starts a comment; fields may be double-quoted), policy.default (a
 * role every authenticated subject has) and scopes (the token claims that
 * hold a user's groups, "[groups]" by default). Two roles are built in, as
 * in Argo CD: role:readonly (get on everything) and role:admin (everything;
 * it includes role:readonly); the local account "admin" has role:admin.
 *
 * Evaluation of rbac_can(subject, groups, resource, action, object):
 *  - the principals are the subject, its groups and policy.default, plus
 *    every role reachable from them through g lines (roles inherit roles);
 *  - a p line applies when its subject is one of the principals and its
 *    resource, action and object patterns match (globs: '*' matches any run
 *    of characters including '/', '?', '[...]', '{a,b}');
 *  - deny wins: one matching deny refuses, else one matching allow permits,
 *    else refused. (Argo CD evaluates the default role, the subject and
 *    each group separately, so there a deny on one does not cancel an allow
 *    on another, and what policy.default grants "cannot be blocked by a
 *    deny rule". Berth is stricter on purpose: a deny always wins. A policy
 *    written for Argo CD grants nothing more in Berth.)
 * Objects: "<project>/<application>" for applications and logs; the name
 * for projects; the URL or name for repositories and clusters; the account
 * name for accounts. Resources: applications, projects, repositories,
 * clusters, accounts, logs. Actions: get, create, update, delete, sync,
 * override, or "*".
 *
 * Argo CD also reads extra keys policy.<name>.csv from the ConfigMap; the
 * caller concatenates them after policy.csv (or adds them with
 * rbac_policy_add_csv). policy.matchMode regex is not supported (globs only).
 *
 * Project roles (AppProject spec.roles) add lines for the subject
 * "proj:<project>:<role>" through rbac_policy_add_project, which refuses a
 * line that reaches outside its project.
 *
 * A policy is built once per settings snapshot and is read-only after: any
 * number of threads may call rbac_can on it concurrently.
 */
#ifndef BERTH_RBAC_H
#define BERTH_RBAC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "model.h"

#define RBAC_ROLE_ADMIN "role:admin"
#define RBAC_ROLE_READONLY "role:readonly"
#define RBAC_MAX_LINES 10000

struct rbac_policy;

/* Builds a policy from the CSV text (may be NULL), the default role (NULL
 * or "" for none) and the scopes value (NULL for "[groups]"). *ret is newly
 * allocated (rbac_policy_free). 0, BERR_INVALID ("policy.csv line N: ..."),
 * BERR_TOOLARGE, BERR_NOMEM. */
int rbac_policy_new(const char *csv, const char *default_role, const char *scopes,
		    struct rbac_policy **ret);

/* Frees p and everything it owns; NULL is a no-op. */
void rbac_policy_free(struct rbac_policy *p);

/* Adds more CSV lines (same syntax). 0 or an error as above; on error the
 * policy is unchanged. */
int rbac_policy_add_csv(struct rbac_policy *p, const char *csv);

/* Adds a project's roles: each role's policies (their subject must be
 * proj:<project>:<role> and their object must start with "<project>/") and
 * a g line for each of its groups. 0 or BERR_INVALID naming the role;
 * on error the policy is unchanged. */
int rbac_policy_add_project(struct rbac_policy *p, const struct model_project *proj);

/* True when subject (with groups, n_groups of them; groups may be NULL) may
 * perform action on resource/object. NULL or empty subject has only the
 * default role. */
bool rbac_can(const struct rbac_policy *p, const char *subject, const char *const *groups,
	      size_t n_groups, const char *resource, const char *action, const char *object);

/* The claim names that hold groups. Borrowed. */
const struct model_strv *rbac_policy_scopes(const struct rbac_policy *p);

/* Collects the groups a token's claims grant under the policy's scopes:
 * each scope claim that is a string or a list of strings. Appends to *out.
 * 0 or BERR_NOMEM / BERR_TOOLARGE. */
int rbac_groups_from_claims(const struct rbac_policy *p, const json_t *claims,
			    struct model_strv *out);

#endif
