/* Fuzz target: health_assess of an arbitrary object (the part before 0xff)
 * with the built-in rules, and with custom rules read from the part after
 * it (text as in a ConfigMap value) under the object's own kind key. */
#include "fuzz_common.h"

#include <stdio.h>

#include "annot.h"
#include "health.h"

int fuzz_health(const uint8_t *data, size_t size);

int fuzz_health(const uint8_t *data, size_t size)
{
	struct fuzz_part a, b;
	struct health h;
	struct health_rules *rules = NULL;
	json_t *obj;
	char group[128], key[320];
	const char *kind;

	fuzz_split(data, size, &a, &b);
	obj = fuzz_json(&a);
	if (!obj)
		return 0;
	(void)health_assess(obj, NULL, &h);
	if (b.len == 0)
		goto out;
	rules = health_rules_new();
	if (!rules)
		goto out;
	kind = jx_str(obj, "kind");
	annot_api_group(obj, group, sizeof group);
	if (group[0])
		snprintf(key, sizeof key, "%s_%s", group, kind ? kind : "");
	else
		snprintf(key, sizeof key, "%s", kind ? kind : "");
	if (health_rules_add_text(rules, key, b.p, b.len) == 0)
		(void)health_assess(obj, rules, &h);
out:
	health_rules_free(rules);
	json_decref(obj);
	return 0;
}

FUZZ_ENTRY(health)
