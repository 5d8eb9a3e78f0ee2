/* Fuzz target: annot_parse of an arbitrary object (JSON); with a string
 * input instead, annot_tracking_parse and annot_sync_options_csv. */
#include "fuzz_common.h"

#include "annot.h"
#include "buf.h"

int fuzz_annot(const uint8_t *data, size_t size);

static void fuzz_annot_csv(const char *s)
{
	unsigned bits = 0;
	char **unknown = NULL;
	size_t n = 0;

	if (annot_sync_options_csv(s, &bits, &unknown, &n) == 0 || unknown) {
		for (size_t i = 0; i < n; i++)
			free(unknown[i]);
		free(unknown);
	}
}

int fuzz_annot(const uint8_t *data, size_t size)
{
	struct fuzz_part all = { (const char *)data, size };
	struct annot an;
	struct annot_tracking t;
	json_t *obj = fuzz_json(&all);
	char *s;

	if (obj) {
		memset(&an, 0, sizeof an);
		if (annot_parse(obj, &an) == 0)
			annot_release(&an);
		if (json_is_object(obj)) {
			struct buf out;

			buf_init(&out, 4096);
			(void)annot_tracking_id_of(&out, "app", obj);
			buf_release(&out);
			(void)annot_tracking_matches(obj, "app");
		}
		json_decref(obj);
		return 0;
	}
	s = fuzz_cstr(&all);
	if (!s)
		return 0;
	if (annot_tracking_parse(s, &t) == 0)
		annot_tracking_release(&t);
	fuzz_annot_csv(s);
	free(s);
	return 0;
}

FUZZ_ENTRY(annot)
