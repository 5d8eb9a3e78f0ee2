/* Fuzz target: jx_parse, then the canonical/compact/pretty dumps must parse
 * back to an equal value and hashing must succeed. */
#include "fuzz_common.h"

#include "buf.h"

int fuzz_jsonx(const uint8_t *data, size_t size);

static void fuzz_jsonx_dump_roundtrip(const json_t *v, int (*dump)(const json_t *, struct buf *))
{
	struct buf out;
	json_t *again = NULL;

	buf_init(&out, FUZZ_MAX_BYTES * 8);
	if (dump(v, &out) < 0)
		abort();
	if (jx_parse(out.ptr, out.len, FUZZ_MAX_BYTES * 8, FUZZ_MAX_DEPTH + 1, &again) < 0)
		abort();
	if (!jx_equal(v, again))
		abort();
	json_decref(again);
	buf_release(&out);
}

int fuzz_jsonx(const uint8_t *data, size_t size)
{
	json_t *v = NULL;
	char hex[65];

	if (jx_parse((const char *)data, size, FUZZ_MAX_BYTES, FUZZ_MAX_DEPTH, &v) < 0)
		return 0;
	if (jx_depth(v) > FUZZ_MAX_DEPTH + 1)
		abort();
	fuzz_jsonx_dump_roundtrip(v, jx_dump_canonical);
	fuzz_jsonx_dump_roundtrip(v, jx_dump_compact);
	fuzz_jsonx_dump_roundtrip(v, jx_dump_pretty);
	if (jx_hash_hex(v, hex) < 0)
		abort();
	json_decref(v);
	return 0;
}

FUZZ_ENTRY(jsonx)
