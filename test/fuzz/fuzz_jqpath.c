/* Fuzz target: jqpath_compile of the part before 0xff, then jqpath_delete
 * on the JSON after it; a failed deletion must leave the doc unchanged. */
#include "fuzz_common.h"

#include "jqpath.h"

int fuzz_jqpath(const uint8_t *data, size_t size);

int fuzz_jqpath(const uint8_t *data, size_t size)
{
	struct fuzz_part a, b;
	struct jqpath *p = NULL;
	json_t *doc = NULL, *copy = NULL;
	char *expr;
	size_t n = 0;

	fuzz_split(data, size, &a, &b);
	expr = fuzz_cstr(&a);
	if (!expr || jqpath_compile(expr, &p) < 0)
		goto out;
	doc = fuzz_json(&b);
	if (!doc)
		goto out;
	copy = json_deep_copy(doc);
	if (jqpath_delete(p, doc, 10000, &n) < 0 && copy && !jx_equal(doc, copy))
		abort();
out:
	json_decref(copy);
	json_decref(doc);
	jqpath_free(p);
	free(expr);
	return 0;
}

FUZZ_ENTRY(jqpath)
