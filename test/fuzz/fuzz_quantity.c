/* Fuzz target: quantity_parse; what parses must format, and the canonical
 * form must parse back to the same value. Also quantity_from_json on the
 * input as JSON, and quantity_canonical_json. */
#include "fuzz_common.h"

#include "quantity.h"

int fuzz_quantity(const uint8_t *data, size_t size);

int fuzz_quantity(const uint8_t *data, size_t size)
{
	struct fuzz_part all = { (const char *)data, size };
	struct quantity q, q2;
	char out[QUANTITY_STR_MAX];
	char *s = fuzz_cstr(&all);
	json_t *v;

	if (!s)
		return 0;
	if (quantity_parse(s, &q) == 0) {
		if (quantity_format(&q, out, sizeof out) < 0)
			abort();
		if (quantity_parse(out, &q2) < 0 || quantity_cmp(&q, &q2) != 0)
			abort();
		(void)quantity_equal_str(s, out);
	}
	(void)quantity_canonical(s, out, sizeof out);
	v = fuzz_json(&all);
	if (v) {
		json_t *c = quantity_canonical_json(v);

		(void)quantity_from_json(v, &q);
		json_decref(c);
		if (json_is_object(v))
			(void)quantity_canonicalize_map(v);
		json_decref(v);
	}
	free(s);
	return 0;
}

FUZZ_ENTRY(quantity)
