/* Fuzz target: patch_apply_json_patch / _merge / _strategic on a
 * (doc, patch) pair split at 0xff; the last byte
 * of the input picks the operation. Failures are fine; crashes are not. */
#include "fuzz_common.h"

#include "patch.h"

int fuzz_patch(const uint8_t *data, size_t size);

static const char *const fuzz_patch_kinds[][2] = {
	{ "apps", "Deployment" }, { "", "Pod" }, { "", "Service" }, { "", "ConfigMap" },
	{ "batch", "CronJob" }, { "example.com", "Widget" }, { "", "" },
	{ "rbac.authorization.k8s.io", "ClusterRole" },
};

int fuzz_patch(const uint8_t *data, size_t size)
{
	struct fuzz_part a, b;
	json_t *doc = NULL, *patch = NULL;
	unsigned sel;

	if (size == 0)
		return 0;
	sel = data[size - 1];
	fuzz_split(data, size - 1, &a, &b);
	doc = fuzz_json(&a);
	patch = fuzz_json(&b);
	if (!doc || !patch)
		goto out;
	switch (sel % 3) {
	case 0:
		(void)patch_apply_json_patch(doc, patch);
		break;
	case 1:
		(void)patch_apply_merge(doc, patch);
		break;
	default: {
		const char *const *gk = fuzz_patch_kinds[(sel / 3) % 8];

		(void)patch_apply_strategic(doc, patch, gk[0], gk[1]);
		break;
	}
	}
out:
	json_decref(doc);
	json_decref(patch);
	return 0;
}

FUZZ_ENTRY(patch)
