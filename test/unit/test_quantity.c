/* Unit tests for lib/quantity: parsing, canonical form, exact comparison.
 * The canonical-form table lives in test/data/quantity/. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "quantity.h"

static FILE *open_data(const char *name)
{
	const char *top = getenv("BERTH_TOP");
	char path[4096];
	snprintf(path, sizeof(path), "%s/test/data/quantity/%s", top ? top : ".", name);
	FILE *f = fopen(path, "re");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	return f;
}

/* Reads the next non-comment line into line[], stripped of the newline. */
static bool next_line(FILE *f, char *line, size_t size)
{
	while (fgets(line, (int)size, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] && line[0] != '#')
			return true;
	}
	return false;
}

START_TEST(quantity_canonical_form_matches_api_server_table)
{
	FILE *f = open_data("canonical.txt");
	char line[256], in[128], want[128], got[QUANTITY_STR_MAX];
	int n = 0;

	while (next_line(f, line, sizeof(line))) {
		ck_assert_int_eq(sscanf(line, "%127s %127s", in, want), 2);
		ck_assert_msg(quantity_canonical(in, got, sizeof(got)) == 0, "%s: %s", in, err_msg());
		ck_assert_msg(strcmp(got, want) == 0, "%s: got %s, want %s", in, got, want);
		n++;
	}
	fclose(f);
	ck_assert_int_gt(n, 20);
}
END_TEST

START_TEST(quantity_canonical_form_is_a_fixed_point)
{
	FILE *f = open_data("canonical.txt");
	char line[256], in[128], want[128], again[QUANTITY_STR_MAX];

	while (next_line(f, line, sizeof(line))) {
		ck_assert_int_eq(sscanf(line, "%127s %127s", in, want), 2);
		ck_assert_int_eq(quantity_canonical(want, again, sizeof(again)), 0);
		ck_assert_str_eq(again, want);
	}
	fclose(f);
}
END_TEST

START_TEST(quantity_rejects_invalid_strings)
{
	FILE *f = open_data("invalid.txt");
	char line[256];
	struct quantity q = { 42, QUANTITY_DECIMAL_SI };
	int n = 0;

	while (next_line(f, line, sizeof(line))) {
		ck_assert_msg(quantity_parse(line, &q) == BERR_INVALID, "accepted \"%s\"", line);
		ck_assert_msg(q.nano == 42, "output changed on failure for \"%s\"", line);
		n++;
	}
	fclose(f);
	ck_assert_int_gt(n, 5);
	ck_assert_int_eq(quantity_parse("", &q), BERR_INVALID);
}
END_TEST

START_TEST(quantity_compares_values_across_notations)
{
	struct quantity a, b;
	ck_assert(quantity_equal_str("500m", "0.5"));
	ck_assert(quantity_equal_str("1Gi", "1024Mi"));
	ck_assert(quantity_equal_str("1k", "1e3"));
	ck_assert(quantity_equal_str("1000m", "1"));
	ck_assert(!quantity_equal_str("1G", "1Gi"));
	ck_assert(!quantity_equal_str("1", "nope"));
	ck_assert_int_eq(quantity_parse("999m", &a), 0);
	ck_assert_int_eq(quantity_parse("1", &b), 0);
	ck_assert_int_lt(quantity_cmp(&a, &b), 0);
	ck_assert_int_gt(quantity_cmp(&b, &a), 0);
}
END_TEST

START_TEST(quantity_reads_json_numbers)
{
	json_t *v = json_real(0.1);
	json_t *c = quantity_canonical_json(v);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(json_string_value(c), "100m");
	json_decref(c);
	json_decref(v);
	v = json_integer(2);
	c = quantity_canonical_json(v);
	ck_assert_str_eq(json_string_value(c), "2");
	json_decref(c);
	json_decref(v);
	v = json_true();
	ck_assert_ptr_null(quantity_canonical_json(v));
}
END_TEST

START_TEST(quantity_canonicalizes_a_resources_map)
{
	json_t *m = json_pack("{s:s, s:f, s:s, s:s}", "cpu", "1000m", "x", 0.25, "memory", "1024Mi",
			      "bad", "lots");
	ck_assert_int_eq(quantity_canonicalize_map(m), 1);
	ck_assert_str_eq(json_string_value(json_object_get(m, "cpu")), "1");
	ck_assert_str_eq(json_string_value(json_object_get(m, "x")), "250m");
	ck_assert_str_eq(json_string_value(json_object_get(m, "memory")), "1Gi");
	ck_assert_str_eq(json_string_value(json_object_get(m, "bad")), "lots");
	ck_assert_int_eq(quantity_canonicalize_member(m, "absent"), 0);
	json_decref(m);
}
END_TEST

START_TEST(quantity_format_reports_small_buffer)
{
	struct quantity q;
	char small[3];
	ck_assert_int_eq(quantity_parse("1536Mi", &q), 0);
	ck_assert_int_eq(quantity_format(&q, small, sizeof(small)), BERR_TOOLARGE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("quantity");
	TCase *tc = tcase_create("quantity");
	tcase_add_test(tc, quantity_canonical_form_matches_api_server_table);
	tcase_add_test(tc, quantity_canonical_form_is_a_fixed_point);
	tcase_add_test(tc, quantity_rejects_invalid_strings);
	tcase_add_test(tc, quantity_compares_values_across_notations);
	tcase_add_test(tc, quantity_reads_json_numbers);
	tcase_add_test(tc, quantity_canonicalizes_a_resources_map);
	tcase_add_test(tc, quantity_format_reports_small_buffer);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
