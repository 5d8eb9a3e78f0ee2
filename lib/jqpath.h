/*
 * jqpath — the bounded subset of jq path expressions that ignoreDifferences
 * uses (Argo CD's jqPathExpressions), compiled once and evaluated as
 * deletions: jqpath_delete(p, doc) does what `jq 'del(<expr>)'` does.
 *
 * Supported: field access (.spec.replicas, ."name", .["a/b"], .metadata.
 * annotations["a/b"]), array indices (.[0], .args[1]), iteration (.[],
 * .containers[]), the optional marker (.webhooks[]?.clientConfig), pipes
 * (|) and select() with one condition on a relative path: a comparison to
 * a JSON literal (select(.name == "x"), select(.port != 80)) or a string
 * test (select(.name | startswith("istio-")), endswith, contains).
 * Anything else is refused at compile time (BERR_INVALID with the column),
 * so a rule never silently matches nothing because of an unsupported form.
 *
 * Evaluation is bounded: every value visited counts as a step; more than
 * max_steps gives BERR_TOOLARGE and leaves doc unchanged.
 */
#ifndef BERTH_JQPATH_H
#define BERTH_JQPATH_H

#include <jansson.h>
#include <stddef.h>

struct jqpath;

/* Compiles expr (at most DIFF_JQ_MAX_LEN-like bound: 1024 bytes). *ret is
 * freed with jqpath_free. 0, BERR_INVALID, BERR_TOOLARGE or BERR_NOMEM. */
int jqpath_compile(const char *expr, struct jqpath **ret);

/* Frees p (NULL is fine). */
void jqpath_free(struct jqpath *p);

/* Deletes every value p matches in doc (the root itself is never deleted).
 * Sets *ret_deleted (if not NULL) to the number of values removed. 0 or
 * BERR_TOOLARGE (step limit; doc unchanged) or BERR_NOMEM. */
int jqpath_delete(const struct jqpath *p, json_t *doc, size_t max_steps, size_t *ret_deleted);

#endif
