/* libFuzzer harness for kyaml (not part of `make check`; built on demand).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *       test/fuzz/fuzz_kyaml.c lib/kyaml.c lib/kyaml_dump.c lib/kyaml_scalar.c \
 *       lib/jsonx.c lib/buf.c lib/err.c lib/str.c \
 *       -ljansson -lyaml -lcrypto -lm -o build/fuzz_kyaml
 *   (seed build/fuzz-corpus with the .yaml files of test/data/kyaml and
 *   test/data/kyaml-oracle)
 *   build/fuzz_kyaml -max_total_time=300 -max_len=4096 build/fuzz-corpus
 *
 * Every input must be read without a crash, a leak or a sanitizer report;
 * whatever reads successfully must survive write → read unchanged. */
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "jsonx.h"
#include "kyaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
