/* Fuzz target: diff_compute on a (desired, live) pair split at 0xff (an
 * empty or invalid part stands for a missing object), then the unified diff. */
#include "fuzz_common.h"

#include "buf.h"
#include "diff.h"

int fuzz_diff(const uint8_t *data, size_t size);

int fuzz_diff(const uint8_t *data, size_t size)
{
	struct fuzz_part a, b;
	json_t *desired, *live;
	struct diff_result r;
	struct buf out;

	fuzz_split(data, size, &a, &b);
	desired = fuzz_json(&a);
	live = fuzz_json(&b);
	if (!desired && !live)
		return 0;
	diff_result_init(&r);
	if (diff_compute(desired, live, NULL, &r) == 0) {
		buf_init(&out, FUZZ_MAX_BYTES * 16);
		(void)diff_unified(&r, &out);
		buf_release(&out);
	}
	diff_result_release(&r);
	json_decref(desired);
	json_decref(live);
	return 0;
}

FUZZ_ENTRY(diff)
