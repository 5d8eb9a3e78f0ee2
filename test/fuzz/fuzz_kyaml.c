/* Fuzz target: kyaml load, then dump → load must give the same documents.
 *
 * Every input must be read without a crash, a leak or a sanitizer report;
 * whatever reads successfully must survive write → read unchanged. Build
 * and run with test/fuzz/build and test/fuzz/run (see README.md). */
#include "fuzz_common.h"

#include "buf.h"
#include "kyaml.h"

int fuzz_kyaml(const uint8_t *data, size_t size);

int fuzz_kyaml(const uint8_t *data, size_t size)
{
	struct kyaml_limits lim = { .max_depth = 40, .max_nodes = 100000, .max_alias_nodes = 10000 };
	json_t *docs = NULL, *again = NULL;
	struct buf out;

	/* the last byte picks strict duplicate keys half of the time */
	if (size > 0 && (data[size - 1] & 1))
		lim.flags |= KYAML_REJECT_DUPLICATE_KEYS;
	if (kyaml_load_stream((const char *)data, size, &lim, &docs) < 0)
		return 0;
	buf_init(&out, (size_t)16 << 20);
	if (kyaml_dump_stream(docs, &out) < 0)
		abort();
	if (kyaml_load_stream(out.ptr, out.len, NULL, &again) < 0)
		abort();
	if (!jx_equal(docs, again))
		abort();
	json_decref(again);
	json_decref(docs);
	buf_release(&out);
	return 0;
}

FUZZ_ENTRY(kyaml)
