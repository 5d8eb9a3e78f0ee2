/*
 * semver — semantic versions and the constraint language Argo CD users
 * write as targetRevision ("1.2.*", ">=1.0.0 <2.0.0", "~1.4", "^2",
 * "1.0 - 1.4", "a || b"), as the Masterminds semver library reads them.
 *
 * Versions are read leniently, like Git tags are written: an optional "v",
 * missing minor/patch taken as 0, build metadata ("+x") ignored. A
 * constraint is an OR ("||") of AND groups (space or comma separated) of
 * comparisons; partial versions and wildcards turn into ranges ("1.2" and
 * "1.2.x" mean >=1.2.0 <1.3.0). A pre-release version (1.2.0-rc.1) only
 * satisfies a group that itself names a pre-release, so "~1.2" never picks
 * a release candidate.
 */
#ifndef BERTH_SEMVER_H
#define BERTH_SEMVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct semver {
	uint64_t major, minor, patch;
	char pre[64]; /* pre-release without the '-', "" for a release */
};

/* Parses a version ("v1.2.3", "1.2", "1.2.3-rc.1+build"). 0 or BERR_INVALID;
 * *out untouched on failure. */
int semver_parse(const char *s, struct semver *out);

/* <0, 0, >0 as a orders before, equal to, after b (pre-releases before their
 * release, compared by dot-separated identifiers as semver.org says). */
int semver_cmp(const struct semver *a, const struct semver *b);

struct semver_constraint;

/* Parses a constraint. *ret is owned by the caller (semver_constraint_free).
 * 0 or BERR_INVALID (message says what is wrong). */
int semver_constraint_parse(const char *s, struct semver_constraint **ret);
void semver_constraint_free(struct semver_constraint *c);

/* True when v satisfies c. */
bool semver_constraint_match(const struct semver_constraint *c, const struct semver *v);

/* True when s is written as a constraint rather than a plain version or a
 * ref name: it holds an operator, a wildcard, a range or "||". */
bool semver_is_constraint(const char *s);

/* Picks the highest of names[0..n) (tag names; ones that are not versions
 * are skipped) that satisfies constraint. 0 with *ret_index set,
 * BERR_NOTFOUND when none does, BERR_INVALID for a bad constraint. */
int semver_max_satisfying(const char *constraint, const char *const *names, size_t n, size_t *ret_index);

#endif
