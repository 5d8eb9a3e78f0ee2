/* Fuzz target: semver_constraint_parse of the part before 0xff, matched
 * against semver_parse of each line after it, and semver_max_satisfying
 * over those lines. */
#include "fuzz_common.h"

#include "semver.h"

int fuzz_semver(const uint8_t *data, size_t size);

#define FUZZ_SEMVER_MAX 16

int fuzz_semver(const uint8_t *data, size_t size)
{
	struct fuzz_part a, b;
	struct semver_constraint *c = NULL;
	char *cs = NULL, *vs = NULL;
	const char *names[FUZZ_SEMVER_MAX];
	size_t n = 0, idx;

	fuzz_split(data, size, &a, &b);
	cs = fuzz_cstr(&a);
	vs = fuzz_cstr(&b);
	if (!cs || !vs)
		goto out;
	(void)semver_is_constraint(cs);
	for (char *s = vs; n < FUZZ_SEMVER_MAX;) {
		char *nl = strchr(s, '\n');

		names[n++] = s;
		if (!nl)
			break;
		*nl = '\0';
		s = nl + 1;
	}
	if (semver_constraint_parse(cs, &c) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct semver v, w;

			if (semver_parse(names[i], &v) == 0) {
				(void)semver_constraint_match(c, &v);
				w = v;
				if (semver_cmp(&v, &w) != 0)
					abort();
			}
		}
	}
	(void)semver_max_satisfying(cs, names, n, &idx);
out:
	semver_constraint_free(c);
	free(cs);
	free(vs);
	return 0;
}

FUZZ_ENTRY(semver)
