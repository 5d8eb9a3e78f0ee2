/* Fuzz target: rbac_policy_new on the CSV before 0xff, then rbac_can for the
 * query after it ("subject,resource,action,object,group..." — missing
 * fields are empty) and a few fixed queries. */
#include "fuzz_common.h"

#include "rbac.h"

int fuzz_rbac(const uint8_t *data, size_t size);

#define FUZZ_RBAC_FIELDS 8

int fuzz_rbac(const uint8_t *data, size_t size)
{
	struct fuzz_part a, b;
	struct rbac_policy *p = NULL;
	char *csv, *query = NULL, *f[FUZZ_RBAC_FIELDS];
	size_t nf = 0;

	fuzz_split(data, size, &a, &b);
	csv = fuzz_cstr(&a);
	if (!csv || rbac_policy_new(csv, "role:readonly", "groups", &p) < 0)
		goto out;
	(void)rbac_can(p, "admin", NULL, 0, "applications", "get", "default/guestbook");
	(void)rbac_can(p, "alice", (const char *const[]){ "devs", "ops" }, 2, "applications",
		       "sync", "proj/app");
	query = fuzz_cstr(&b);
	if (!query)
		goto out;
	for (char *s = query; nf < FUZZ_RBAC_FIELDS;) {
		char *comma = strchr(s, ',');

		f[nf++] = s;
		if (!comma)
			break;
		*comma = '\0';
		s = comma + 1;
	}
	while (nf < 4)
		f[nf++] = (char *)"";
	(void)rbac_can(p, f[0], (const char *const *)&f[4], nf - 4, f[1], f[2], f[3]);
	(void)rbac_policy_add_csv(p, query);
out:
	rbac_policy_free(p);
	free(query);
	free(csv);
	return 0;
}

FUZZ_ENTRY(rbac)
