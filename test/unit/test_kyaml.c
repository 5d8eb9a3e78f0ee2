/* Unit tests for kyaml: YAML ⇄ JSON with Kubernetes semantics.
 *
 * Besides the behaviours below, two table-driven tests read
 * test/data/kyaml/: <case>.yaml with <case>.json (the expected stream as a
 * JSON array of documents) or <case>.err (line 1: "invalid" or "too large",
 * line 2: a text the error message must contain). The round-trip property
 * (read(write(x)) == x, and writing is stable) is checked on every data case
 * and on every YAML file of the shared fixtures. */
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "jsonx.h"
#include "kyaml.h"
#include "str.h"

/* ---- helpers ---- */

static json_t *load_str(const char *yaml)
{
	json_t *v = NULL;
	int rc = kyaml_load_one(yaml, strlen(yaml), NULL, &v);
	ck_assert_msg(rc == 0, "load failed (%d): %s\n--- input:\n%s", rc, err_msg(), yaml);
	return v;
}

/* The value of "v: <text>" (a new reference). */
static json_t *value_of(const char *text)
{
	char doc[512];
	json_t *root, *v;

	snprintf(doc, sizeof(doc), "v: %s\n", text);
	root = load_str(doc);
	v = json_incref(json_object_get(root, "v"));
	json_decref(root);
	ck_assert_msg(v != NULL, "no value for %s", text);
	return v;
}

static void expect_json(const char *yaml, const char *json_text)
{
	json_error_t e;
	json_t *want = json_loads(json_text, JSON_DECODE_ANY, &e);
	json_t *got = load_str(yaml);
	char *g;

	ck_assert_msg(want != NULL, "bad expected JSON: %s", e.text);
	g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
	ck_assert_msg(jx_equal(got, want), "yaml:\n%s\ngot %s\nwant %s", yaml, g, json_text);
	free(g);
	json_decref(want);
	json_decref(got);
}

static void expect_int(const char *text, long long want)
{
	json_t *v = value_of(text);
	ck_assert_msg(json_is_integer(v), "%s: not an integer (type %d)", text, json_typeof(v));
	ck_assert_msg(json_integer_value(v) == want, "%s: got %lld want %lld", text,
		      (long long)json_integer_value(v), want);
	json_decref(v);
}

static void expect_real(const char *text, double want)
{
	json_t *v = value_of(text);
	ck_assert_msg(json_is_real(v), "%s: not a real (type %d)", text, json_typeof(v));
	ck_assert_msg(json_real_value(v) == want, "%s: got %.17g want %.17g", text, json_real_value(v), want);
	json_decref(v);
}

static void expect_string(const char *text, const char *want)
{
	json_t *v = value_of(text);
	ck_assert_msg(json_is_string(v), "%s: not a string (type %d)", text, json_typeof(v));
	ck_assert_str_eq(json_string_value(v), want);
	json_decref(v);
}

static void expect_type(const char *text, json_type t)
{
	json_t *v = value_of(text);
	ck_assert_msg(json_typeof(v) == t, "%s: type %d, want %d", text, json_typeof(v), t);
	json_decref(v);
}

static void expect_error_lim(const char *yaml, size_t len, const struct kyaml_limits *lim, int code,
			     const char *msg_part)
{
	json_t *sentinel = json_string("untouched"), *out = sentinel;
	int rc = kyaml_load_stream(yaml, len, lim, &out);
	ck_assert_msg(rc == code, "rc %d (%s), want %d", rc, err_msg(), code);
	ck_assert_ptr_eq(out, sentinel);
	ck_assert_msg(strstr(err_msg(), msg_part) != NULL, "message \"%s\" lacks \"%s\"", err_msg(), msg_part);
	json_decref(sentinel);
}

static void expect_error(const char *yaml, int code, const char *msg_part)
{
	expect_error_lim(yaml, strlen(yaml), NULL, code, msg_part);
}

static char *dump(const json_t *v, unsigned flags)
{
	struct buf b;
	buf_init(&b, BUF_DEFAULT_MAX);
	ck_assert_int_eq(kyaml_dump_ex(v, flags, &b), 0);
	return buf_detach(&b, NULL);
}

/* Writes the JSON text as YAML and checks the exact output. */
static void expect_yaml(const char *json_text, const char *want)
{
	json_error_t e;
	json_t *v = json_loads(json_text, JSON_DECODE_ANY, &e);
	char *got;

	ck_assert_msg(v != NULL, "bad JSON: %s", e.text);
	got = dump(v, 0);
	ck_assert_msg(!strcmp(got, want), "json %s\n--- got:\n%s--- want:\n%s", json_text, got, want);
	free(got);
	json_decref(v);
}

/* read(write(v)) == v, and write(read(write(v))) == write(v). */
static void check_round_trip(const json_t *docs, const char *what)
{
	struct buf a, b;
	json_t *again = NULL;
	int rc;

	buf_init(&a, BUF_DEFAULT_MAX);
	buf_init(&b, BUF_DEFAULT_MAX);
	ck_assert_int_eq(kyaml_dump_stream(docs, &a), 0);
	rc = kyaml_load_stream(a.ptr, a.len, NULL, &again);
	ck_assert_msg(rc == 0, "%s: re-reading failed: %s\n%s", what, err_msg(), a.ptr);
	ck_assert_msg(jx_equal(docs, again), "%s: round trip changed the value:\n%s", what, a.ptr);
	ck_assert_int_eq(kyaml_dump_stream(again, &b), 0);
	ck_assert_msg(!strcmp(a.ptr, b.ptr), "%s: writing is not stable", what);
	json_decref(again);
	buf_release(&a);
	buf_release(&b);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[65536];
	size_t n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	buf_init(&b, (size_t)64 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ck_assert_int_eq(buf_append(&b, chunk, n), 0);
	fclose(f);
	return buf_detach(&b, len);
}

static const char *top_dir(void)
{
	const char *t = getenv("BERTH_TOP");
	return t && *t ? t : ".";
}

/* ---- streams and documents ---- */

START_TEST(stream_splits_documents_on_separators)
{
	const char *y = "a: 1\n---\nb: 2\n--- c\n";
	json_t *docs;
	ck_assert_int_eq(kyaml_load_stream(y, strlen(y), NULL, &docs), 0);
	ck_assert_uint_eq(json_array_size(docs), 3);
	ck_assert_str_eq(json_string_value(json_array_get(docs, 2)), "c");
	json_decref(docs);
}
END_TEST

START_TEST(stream_skips_empty_comment_only_and_null_documents)
{
	const char *y = "---\n# only a comment\n---\n---\n~\n---\nnull\n---\nkind: A\n---\n";
	json_t *docs;
	ck_assert_int_eq(kyaml_load_stream(y, strlen(y), NULL, &docs), 0);
	ck_assert_uint_eq(json_array_size(docs), 1);
	ck_assert_str_eq(jx_str(json_array_get(docs, 0), "kind"), "A");
	json_decref(docs);
}
END_TEST

START_TEST(stream_accepts_document_end_markers)
{
	const char *y = "a: 1\n...\n---\nb: 2\n...\n";
	json_t *docs;
	ck_assert_int_eq(kyaml_load_stream(y, strlen(y), NULL, &docs), 0);
	ck_assert_uint_eq(json_array_size(docs), 2);
	json_decref(docs);
}
END_TEST

START_TEST(empty_input_is_an_empty_stream)
{
	json_t *docs;
	ck_assert_int_eq(kyaml_load_stream("", 0, NULL, &docs), 0);
	ck_assert_uint_eq(json_array_size(docs), 0);
	json_decref(docs);
}
END_TEST

START_TEST(load_one_rejects_zero_or_several_documents)
{
	json_t *v = NULL;
	ck_assert_int_eq(kyaml_load_one("# nothing\n", 10, NULL, &v), BERR_INVALID);
	ck_assert_int_eq(kyaml_load_one("a: 1\n---\nb: 2\n", 14, NULL, &v), BERR_INVALID);
	ck_assert_ptr_null(v);
}
END_TEST

START_TEST(input_need_not_be_nul_terminated)
{
	const char y[] = { 'a', ':', ' ', '1', '2', '3', 'x' };
	json_t *v;
	ck_assert_int_eq(kyaml_load_one(y, 6, NULL, &v), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "a")), 123);
	json_decref(v);
}
END_TEST

/* ---- plain scalars, YAML 1.1 as Kubernetes reads them ---- */

START_TEST(bools_in_every_yaml11_form)
{
	static const char *const t[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON" };
	static const char *const f[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF" };
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		expect_type(t[i], JSON_TRUE);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		expect_type(f[i], JSON_FALSE);
}
END_TEST

START_TEST(bool_words_in_mixed_case_stay_strings)
{
	expect_string("yEs", "yEs");
	expect_string("tRUE", "tRUE");
	expect_string("oN", "oN");
	expect_string("nope", "nope");
}
END_TEST

START_TEST(null_forms_read_as_null)
{
	expect_type("~", JSON_NULL);
	expect_type("null", JSON_NULL);
	expect_type("Null", JSON_NULL);
	expect_type("NULL", JSON_NULL);
	expect_type("", JSON_NULL);
	expect_string("nULL", "nULL");
}
END_TEST

START_TEST(decimal_integers_with_sign_and_underscores)
{
	expect_int("0", 0);
	expect_int("42", 42);
	expect_int("-17", -17);
	expect_int("+12", 12);
	expect_int("1_000_000", 1000000);
}
END_TEST

START_TEST(octal_hex_and_binary_integers)
{
	expect_int("0755", 493);
	expect_int("-0755", -493);
	expect_int("0o17", 15);
	expect_int("0O17", 15);
	expect_int("0x1F", 31);
	expect_int("0X1f", 31);
	expect_int("0b101", 5);
	expect_int("-0b101", -5);
	expect_int("0x_FF", 255);
}
END_TEST

START_TEST(int64_range_is_kept_exact)
{
	expect_int("9223372036854775807", INT64_MAX);
	expect_int("-9223372036854775808", INT64_MIN);
	expect_int("9007199254740993", 9007199254740993LL);
}
END_TEST

START_TEST(integers_beyond_int64_become_reals)
{
	expect_real("9223372036854775808", 9223372036854775808.0);
	expect_real("18446744073709551615", 18446744073709551615.0);
	expect_real("123456789012345678901234567890", 123456789012345678901234567890.0);
}
END_TEST

START_TEST(floats_in_yaml11_forms)
{
	expect_real("1.5", 1.5);
	expect_real(".5", 0.5);
	expect_real("-.5", -0.5);
	expect_real("+.25", 0.25);
	expect_real("6.02e+23", 6.02e23);
	expect_real("1.5e-3", 1.5e-3);
	expect_real("3.141_592", 3.141592);
}
END_TEST

START_TEST(whole_floats_become_integers_as_kubernetes_json_writes_them)
{
	expect_int("1e3", 1000);
	expect_int("1E3", 1000);
	expect_int("1.0", 1);
	expect_int("2.", 2);
	expect_int("-4.0e1", -40);
	expect_real("1e300", 1e300);
}
END_TEST

START_TEST(invalid_octal_digits_read_as_a_float_like_go_yaml)
{
	expect_int("08", 8);
	expect_int("0999", 999);
}
END_TEST

START_TEST(infinity_and_nan_are_errors_with_the_position)
{
	expect_error("a: 1\nb: .inf\n", BERR_INVALID, "line 2 column 4");
	expect_error("b: -.Inf\n", BERR_INVALID, "cannot be represented in JSON");
	expect_error("b: +.INF\n", BERR_INVALID, "line 1");
	expect_error("- .nan\n", BERR_INVALID, "line 1 column 3");
	expect_error("- .NaN\n", BERR_INVALID, "JSON");
}
END_TEST

START_TEST(number_lookalikes_stay_strings)
{
	expect_string("1.2.3", "1.2.3");
	expect_string("0x", "0x");
	expect_string("0xZZ", "0xZZ");
	expect_string("1e", "1e");
	expect_string("+", "+");
	expect_string("12:30:00", "12:30:00");
	expect_string("1 000", "1 000");
	expect_string("_1", "_1");
	expect_string("0b", "0b");
	expect_string("v1", "v1");
}
END_TEST

START_TEST(floats_out_of_range_stay_strings_like_go_yaml)
{
	expect_string("1e400", "1e400");
	expect_string("-1e999", "-1e999");
}
END_TEST

START_TEST(timestamps_stay_strings)
{
	expect_string("2001-12-14", "2001-12-14");
	expect_string("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00");
	expect_string("2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z");
}
END_TEST

/* ---- quoted and block scalars ---- */

START_TEST(quoted_scalars_are_always_strings)
{
	expect_string("\"true\"", "true");
	expect_string("'0755'", "0755");
	expect_string("\"~\"", "~");
	expect_string("''", "");
	expect_string("\"1e3\"", "1e3");
	expect_string("'null'", "null");
}
END_TEST

START_TEST(double_quoted_escapes_are_decoded)
{
	expect_string("\"a\\tb\\nc\\\\d\\\"e\"", "a\tb\nc\\d\"e");
	expect_string("\"\\u00e9\\x41\\u263A\"", "\xc3\xa9" "A" "\xe2\x98\xba");
	expect_string("\"\\U0001F600\"", "\xf0\x9f\x98\x80");
	expect_string("\"\\/\\ \\_\"", "/ \xc2\xa0");
}
END_TEST

START_TEST(double_quoted_nul_escape_is_kept_with_its_length)
{
	json_t *v = value_of("\"a\\0b\"");
	ck_assert_uint_eq(json_string_length(v), 3);
	ck_assert_int_eq(memcmp(json_string_value(v), "a\0b", 3), 0);
	json_decref(v);
}
END_TEST

START_TEST(quoted_scalars_fold_lines)
{
	expect_json("v: \"one\n  two\n\n  three \\\n  four\"\n", "{\"v\":\"one two\\nthree four\"}");
	expect_json("v: 'it''s\n  folded'\n", "{\"v\":\"it's folded\"}");
}
END_TEST

START_TEST(literal_block_scalar_chomping)
{
	expect_json("v: |\n  a\n  b\n\nw: 1\n", "{\"v\":\"a\\nb\\n\",\"w\":1}");
	expect_json("v: |-\n  a\n  b\n\nw: 1\n", "{\"v\":\"a\\nb\",\"w\":1}");
	expect_json("v: |+\n  a\n  b\n\nw: 1\n", "{\"v\":\"a\\nb\\n\\n\",\"w\":1}");
}
END_TEST

START_TEST(folded_block_scalar_chomping)
{
	expect_json("v: >\n  a\n  b\n\n  c\n", "{\"v\":\"a b\\nc\\n\"}");
	expect_json("v: >-\n  a\n  b\n", "{\"v\":\"a b\"}");
	expect_json("v: >+\n  a\n\n", "{\"v\":\"a\\n\\n\"}");
}
END_TEST

START_TEST(block_scalar_indentation_indicator)
{
	expect_json("v: |2\n    indented\n  less\n", "{\"v\":\"  indented\\nless\\n\"}");
	expect_json("- |1-\n  x\n", "[\" x\"]");
}
END_TEST

START_TEST(block_scalars_are_strings_even_when_they_look_typed)
{
	expect_json("v: |-\n  true\n", "{\"v\":\"true\"}");
	expect_json("v: >-\n  42\n", "{\"v\":\"42\"}");
}
END_TEST

/* ---- collections ---- */

START_TEST(flow_collections)
{
	expect_json("{a: [1, two, {b: null}], c: []}", "{\"a\":[1,\"two\",{\"b\":null}],\"c\":[]}");
	expect_json("[a, 'b', \"c\", [], {}]", "[\"a\",\"b\",\"c\",[],{}]");
}
END_TEST

START_TEST(block_sequences_at_the_key_column_and_indented)
{
	expect_json("a:\n- 1\n- 2\nb:\n  - x\n", "{\"a\":[1,2],\"b\":[\"x\"]}");
	expect_json("- - a\n  - b\n- c: 1\n  d: 2\n", "[[\"a\",\"b\"],{\"c\":1,\"d\":2}]");
}
END_TEST

START_TEST(map_keeps_the_order_of_its_keys)
{
	json_t *v = load_str("z: 1\na: 2\nm: 3\n");
	const char *want[] = { "z", "a", "m" };
	const char *k;
	json_t *x;
	size_t i = 0;
	json_object_foreach(v, k, x) {
		ck_assert_str_eq(k, want[i]);
		i++;
	}
	json_decref(v);
}
END_TEST

/* ---- anchors, aliases and merge keys ---- */

START_TEST(aliases_are_independent_copies)
{
	json_t *v = load_str("a: &x {k: [1, 2]}\nb: *x\nc: &s str\nd: *s\n");
	json_t *a = json_object_get(v, "a"), *b = json_object_get(v, "b");
	ck_assert(jx_equal(a, b));
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_ne(json_object_get(a, "k"), json_object_get(b, "k"));
	ck_assert_int_eq(a->refcount, 1);
	ck_assert_int_eq(b->refcount, 1);
	ck_assert_str_eq(jx_str(v, "d"), "str");
	json_decref(v);
}
END_TEST

START_TEST(redefined_anchor_uses_the_latest_definition)
{
	expect_json("a: &x 1\nb: *x\nc: &x 2\nd: *x\n", "{\"a\":1,\"b\":1,\"c\":2,\"d\":2}");
}
END_TEST

START_TEST(anchors_do_not_cross_documents)
{
	expect_error("a: &x 1\n---\nb: *x\n", BERR_INVALID, "line 3");
}
END_TEST

START_TEST(undefined_alias_is_an_error_with_the_position)
{
	expect_error("a: 1\nb: *nowhere\n", BERR_INVALID, "line 2 column 4: unknown anchor \"nowhere\"");
}
END_TEST

START_TEST(merge_key_with_one_map)
{
	expect_json("base: &b {x: 1, z: 2}\nm:\n  <<: *b\n  z: 3\n",
		    "{\"base\":{\"x\":1,\"z\":2},\"m\":{\"x\":1,\"z\":3}}");
}
END_TEST

START_TEST(merge_key_overrides_keys_written_before_it_like_go_yaml_v2)
{
	expect_json("b: &b {x: 1, z: 2}\nm:\n  z: 3\n  <<: *b\n", "{\"b\":{\"x\":1,\"z\":2},\"m\":{\"x\":1,\"z\":2}}");
}
END_TEST

START_TEST(second_merge_key_overrides_the_first)
{
	expect_json("m: {<<: {x: 1, z: 2}, <<: {x: 9}}\n", "{\"m\":{\"x\":9,\"z\":2}}");
}
END_TEST

START_TEST(merge_key_with_a_list_of_maps_earlier_wins)
{
	expect_json("a: &a {x: 1}\nb: &b {x: 2, z: 2}\nm:\n  <<: [*a, *b]\n  w: 0\n",
		    "{\"a\":{\"x\":1},\"b\":{\"x\":2,\"z\":2},\"m\":{\"x\":1,\"z\":2,\"w\":0}}");
}
END_TEST

START_TEST(merge_key_with_an_inline_map)
{
	expect_json("m:\n  <<: {x: 1}\n  z: 2\n", "{\"m\":{\"x\":1,\"z\":2}}");
}
END_TEST

START_TEST(merge_key_with_a_scalar_is_an_error)
{
	expect_error("m:\n  <<: 1\n", BERR_INVALID, "line 2");
	expect_error("m:\n  <<: [1]\n", BERR_INVALID, "map merge");
}
END_TEST

START_TEST(quoted_merge_key_is_an_ordinary_key)
{
	expect_json("m:\n  '<<': {x: 1}\n", "{\"m\":{\"<<\":{\"x\":1}}}");
}
END_TEST

START_TEST(alias_bomb_stops_at_the_alias_bound)
{
	const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
			   "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
			   "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
			   "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
	expect_error(bomb, BERR_TOOLARGE, "aliases expand to more than");
	expect_error(bomb, BERR_TOOLARGE, "line ");
}
END_TEST

START_TEST(alias_bound_is_configurable)
{
	struct kyaml_limits lim = { .max_alias_nodes = 5 };
	const char *y = "a: &a [1, 2, 3]\nb: *a\nc: *a\n";
	json_t *v;
	expect_error_lim(y, strlen(y), &lim, BERR_TOOLARGE, "line 3 column 4");
	lim.max_alias_nodes = 8;
	ck_assert_int_eq(kyaml_load_one(y, strlen(y), &lim, &v), 0);
	json_decref(v);
}
END_TEST

/* ---- tags ---- */

START_TEST(standard_tags_force_the_type)
{
	expect_string("!!str 123", "123");
	expect_string("!!str true", "true");
	expect_int("!!int \"42\"", 42);
	expect_int("!!int 0x10", 16);
	expect_int("!!float 1", 1);
	expect_real("!!float '2.5'", 2.5);
	expect_type("!!bool yes", JSON_TRUE);
	expect_type("!!bool \"off\"", JSON_FALSE);
	expect_type("!!null ''", JSON_NULL);
	expect_type("!!map {a: 1}", JSON_OBJECT);
	expect_type("!!seq [1]", JSON_ARRAY);
}
END_TEST

START_TEST(binary_and_timestamp_tags_keep_the_text)
{
	expect_string("!!binary aGVsbG8=", "aGVsbG8=");
	expect_string("!!timestamp 2001-12-14", "2001-12-14");
}
END_TEST

START_TEST(tag_and_text_that_disagree_are_an_error)
{
	expect_error("a: !!int abc\n", BERR_INVALID, "line 1 column 4: cannot decode \"abc\" as !!int");
	expect_error("a: !!bool 1\n", BERR_INVALID, "as !!bool");
	expect_error("a: !!int 1.5\n", BERR_INVALID, "as !!int");
	expect_error("a: !!float .inf\n", BERR_INVALID, "JSON");
}
END_TEST

START_TEST(unknown_tags_on_scalars_give_strings_and_on_collections_are_ignored)
{
	expect_string("!Ref 12", "12");
	expect_string("! true", "true");
	expect_string("!<tag:example.com,2000:x> yes", "yes");
	expect_json("v: !custom {a: 1}\n", "{\"v\":{\"a\":1}}");
	expect_json("v: !custom [1]\n", "{\"v\":[1]}");
}
END_TEST

/* ---- keys ---- */

START_TEST(non_string_keys_take_their_string_form)
{
	expect_json("1: a\n0x10: b\ntrue: c\nno: d\n1.5: f\n1e6: g\n",
		    "{\"1\":\"a\",\"16\":\"b\",\"true\":\"c\",\"false\":\"d\",\"1.5\":\"f\",\"1e+06\":\"g\"}");
	expect_json("'1': a\n\"true\": b\n", "{\"1\":\"a\",\"true\":\"b\"}");
	expect_json("&k key: 1\nother: *k\n", "{\"key\":1,\"other\":\"key\"}");
}
END_TEST

START_TEST(one_letter_y_and_n_keys_read_as_bools_like_go_yaml_v2)
{
	expect_json("y: 1\nn: 2\nx: 3\n", "{\"true\":1,\"false\":2,\"x\":3}");
}
END_TEST

START_TEST(float_keys_use_the_float32_shortest_form)
{
	expect_json("1.0: a\n0.1: b\n1e-5: c\n123456.5: d\n.inf: e\n",
		    "{\"1\":\"a\",\"0.1\":\"b\",\"1e-05\":\"c\",\"123456.5\":\"d\",\".inf\":\"e\"}");
}
END_TEST

START_TEST(null_key_is_an_error_as_in_sigs_k8s_yaml)
{
	expect_error("a: 1\n~: x\n", BERR_INVALID, "line 2 column 1: a null mapping key");
	expect_error("{null: x}", BERR_INVALID, "null mapping key");
	expect_error("n: &n null\nm: {*n : 1}\n", BERR_INVALID, "line 2 column 5");
}
END_TEST

START_TEST(merged_key_may_be_overridden_once_in_strict_mode)
{
	struct kyaml_limits lim = { .flags = KYAML_REJECT_DUPLICATE_KEYS };
	const char *y = "m:\n  <<: {x: 1}\n  x: 2\n  x: 3\n";
	expect_error_lim(y, strlen(y), &lim, BERR_INVALID, "line 4 column 3: key \"x\" already set");
}
END_TEST

START_TEST(collection_as_key_is_an_error)
{
	expect_error("? [a, b]\n: 1\n", BERR_INVALID, "line 1 column 3: a mapping key must be a scalar");
	expect_error("{a: 1}: 2\n", BERR_INVALID, "mapping key must be a scalar");
}
END_TEST

START_TEST(duplicate_key_last_value_wins_by_default)
{
	expect_json("a: 1\nb: 2\na: 3\n", "{\"a\":3,\"b\":2}");
}
END_TEST

START_TEST(duplicate_key_is_an_error_when_rejected)
{
	struct kyaml_limits lim = { .flags = KYAML_REJECT_DUPLICATE_KEYS };
	const char *y = "m:\n  a: 1\n  b: 2\n  a: 3\n";
	expect_error_lim(y, strlen(y), &lim, BERR_INVALID, "line 4 column 3: key \"a\" already set in map");
	y = "1: a\n\"1\": b\n";
	expect_error_lim(y, strlen(y), &lim, BERR_INVALID, "line 2");
}
END_TEST

START_TEST(merged_keys_are_not_duplicates)
{
	struct kyaml_limits lim = { .flags = KYAML_REJECT_DUPLICATE_KEYS };
	const char *y = "a: &a {x: 1}\nm:\n  <<: *a\n  x: 2\n";
	json_t *v;
	ck_assert_int_eq(kyaml_load_one(y, strlen(y), &lim, &v), 0);
	ck_assert_int_eq(json_integer_value(jx_path(v, "m", "x", NULL)), 2);
	json_decref(v);
}
END_TEST

/* ---- malformed input and bounds ---- */

START_TEST(unclosed_quote_is_invalid_with_line)
{
	expect_error("a: 1\nb: \"open\n", BERR_INVALID, "line 3 column 1");
	expect_error("a: 'open\n", BERR_INVALID, "quoted scalar (line 1 column 4)");
}
END_TEST

START_TEST(bad_indentation_is_invalid_with_line)
{
	expect_error("a:\n  b: 1\n c: 2\n", BERR_INVALID, "line 3 column 2");
}
END_TEST

START_TEST(tab_indentation_is_invalid_with_line)
{
	expect_error("a:\n\tb: 1\n", BERR_INVALID, "line 2 column 1");
}
END_TEST

START_TEST(invalid_utf8_is_invalid_with_line)
{
	expect_error("a: ok\nb: \xc3\x28\n", BERR_INVALID, "line 2 column 5");
	expect_error("a: \xff\n", BERR_INVALID, "line 1");
}
END_TEST

START_TEST(unclosed_flow_collection_is_invalid)
{
	expect_error("k: [a, b\n", BERR_INVALID, "line 2 column 1");
	expect_error("k: {a: 1\n", BERR_INVALID, "flow mapping");
}
END_TEST

START_TEST(nesting_past_the_depth_bound_is_too_large)
{
	char y[1024];
	size_t n = 0;
	for (int i = 0; i < 200; i++)
		y[n++] = '[';
	for (int i = 0; i < 200; i++)
		y[n++] = ']';
	expect_error_lim(y, n, NULL, BERR_TOOLARGE, "line 1 column 101: nesting deeper than 100 levels");
}
END_TEST

/* Inputs past one bound of struct kyaml_limits: BERR_TOOLARGE, and where. */
static const struct limit_case {
	const char *what;
	struct kyaml_limits lim;
	const char *yaml, *msg_part;
} limit_cases[] = {
	{"block nesting past the depth bound", {.max_depth = 3},
	 "a:\n  b:\n    c:\n      d: 1\n", "line 4 column 7"},
	{"an alias that would nest too deep", {.max_depth = 3},
	 "a: &a [[1]]\nb:\n  c: *a\n", "line 3 column 6: alias \"a\""},
	{"input past the byte bound", {.max_bytes = 8},
	 "a: 123456\n", "10 bytes is over the 8-byte limit"},
	{"documents past the count bound", {.max_docs = 2},
	 "a\n---\nb\n---\nc\n", "more than 2 documents"},
	{"values past the node bound", {.max_nodes = 4},
	 "[1, 2, 3, 4, 5]\n", "more than 4 values"},
};

START_TEST(input_past_a_configured_bound_is_too_large)
{
	const struct limit_case *c = &limit_cases[_i];
	expect_error_lim(c->yaml, strlen(c->yaml), &c->lim, BERR_TOOLARGE, c->msg_part);
}
END_TEST

START_TEST(nul_byte_in_input_is_invalid)
{
	expect_error_lim("a: b\0c\n", 7, NULL, BERR_INVALID, "line 1");
}
END_TEST

/* ---- kyaml_load_any ---- */

START_TEST(load_any_reads_json)
{
	const char *j = "  {\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": null}}";
	json_t *v;
	ck_assert_int_eq(kyaml_load_any(j, strlen(j), NULL, &v), 0);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(v, "a"), 0)), 1);
	ck_assert(json_is_null(jx_path(v, "b", "c", NULL)));
	json_decref(v);
}
END_TEST

START_TEST(load_any_falls_back_to_yaml_for_flow_yaml_and_block_yaml)
{
	json_t *v;
	const char *a = "{a: yes, b: [x]}";
	const char *b = "kind: A\n";
	ck_assert_int_eq(kyaml_load_any(a, strlen(a), NULL, &v), 0);
	ck_assert(json_is_true(json_object_get(v, "a")));
	json_decref(v);
	ck_assert_int_eq(kyaml_load_any(b, strlen(b), NULL, &v), 0);
	ck_assert_str_eq(jx_str(v, "kind"), "A");
	json_decref(v);
}
END_TEST

START_TEST(load_any_reports_yaml_position_for_broken_input)
{
	json_t *v = NULL;
	const char *j = "{\"a\": [1, 2}";
	ck_assert_int_eq(kyaml_load_any(j, strlen(j), NULL, &v), BERR_INVALID);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(strstr(err_msg(), "line 1"));
}
END_TEST

START_TEST(load_any_applies_the_depth_bound_to_json)
{
	struct kyaml_limits lim = { .max_depth = 2 };
	json_t *v = NULL;
	ck_assert_int_lt(kyaml_load_any("[[[1]]]", 7, &lim, &v), 0);
	ck_assert_ptr_null(v);
}
END_TEST

/* ---- the writer ---- */

START_TEST(dump_writes_maps_and_lists_like_kubectl)
{
	expect_yaml("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"}},"
		    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1.25\",\"args\":[\"-v\",\"--port=80\"],"
		    "\"ports\":[{\"containerPort\":80}]}]}}",
		    "apiVersion: v1\n"
		    "kind: Pod\n"
		    "metadata:\n"
		    "  name: web\n"
		    "  labels:\n"
		    "    app: web\n"
		    "spec:\n"
		    "  containers:\n"
		    "  - name: c\n"
		    "    image: nginx:1.25\n"
		    "    args:\n"
		    "    - -v\n"
		    "    - --port=80\n"
		    "    ports:\n"
		    "    - containerPort: 80\n");
}
END_TEST

START_TEST(dump_nested_lists_share_the_dash_line)
{
	expect_yaml("[[1,[2,3]],[],{}]", "- - 1\n  - - 2\n    - 3\n- []\n- {}\n");
}
END_TEST

START_TEST(dump_empty_collections_inline)
{
	expect_yaml("{\"a\":{},\"b\":[],\"c\":[{}]}", "a: {}\nb: []\nc:\n- {}\n");
	expect_yaml("{}", "{}\n");
	expect_yaml("[]", "[]\n");
}
END_TEST

START_TEST(dump_scalars)
{
	expect_yaml("{\"i\":-7,\"r\":1.5,\"w\":2.0,\"t\":true,\"f\":false,\"n\":null,\"e\":1e+300}",
		    "i: -7\nr: 1.5\nw: 2.0\nt: true\nf: false\n\"n\": null\ne: 1e+300\n");
	expect_yaml("\"top\"", "top\n");
	expect_yaml("3", "3\n");
}
END_TEST

START_TEST(dump_quotes_strings_that_would_read_as_something_else)
{
	static const char *const s[] = {
		"true", "True", "yes", "on", "off", "y", "N", "null", "~", "", "0755", "1e3", "0x1F", "0o17",
		".inf", "-.inf", ".nan", "12", "-3", "1.5", ".5", "1_000", "2001-12-14", "12:30:00",
		"-", "- a", "? x", ": x", "a: b", "a #b", "end:", "*x", "&x", "!x", "|x", ">x", "'x", "\"x", "%x",
		"@x", "`x", "#x", "[x", "]x", "{x", "}x", ",x", " lead", "trail ", "---", "...", "--- x",
		"tab\there", "\x01", "nel\xc2\x85", "bom\xef\xbb\xbf",
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		json_t *v = json_pack("{s:s}", "k", s[i]), *back;
		char *y = dump(v, 0);
		ck_assert_msg(y[3] == '\'' || y[3] == '"', "\"%s\" written unquoted: %s", s[i], y);
		ck_assert_int_eq(kyaml_load_one(y, strlen(y), NULL, &back), 0);
		ck_assert_msg(jx_equal(v, back), "\"%s\" did not round-trip: %s", s[i], y);
		json_decref(back);
		json_decref(v);
		free(y);
	}
}
END_TEST

START_TEST(dump_leaves_ordinary_strings_plain)
{
	static const char *const s[] = { "nginx:1.25", "hello world", "-Xmx512m", "--flag=x", "a-b", "http://x/y?q=1#f",
					 "1.2.3", "v1", "a#b", "a:b", "caf\xc3\xa9", "x[0]", "it's", "<<" };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		json_t *v = json_pack("{s:s}", "k", s[i]);
		char *y = dump(v, 0), want[128];
		snprintf(want, sizeof(want), "k: %s\n", s[i]);
		ck_assert_str_eq(y, want);
		json_decref(v);
		free(y);
	}
}
END_TEST

START_TEST(dump_quotes_keys_that_would_read_as_something_else)
{
	expect_yaml("{\"on\":1,\"y\":2,\"1\":3,\"\":4,\"a: b\":5,\"<<\":6}",
		    "\"on\": 1\n\"y\": 2\n\"1\": 3\n\"\": 4\n'a: b': 5\n\"<<\": 6\n");
}
END_TEST

START_TEST(dump_single_quotes_double_their_quote)
{
	expect_yaml("{\"k\":\"'tis true\"}", "k: '''tis true'\n");
}
END_TEST

START_TEST(dump_multiline_strings_as_literal_blocks_with_chomping)
{
	expect_yaml("{\"a\":\"x\\ny\"}", "a: |-\n  x\n  y\n");
	expect_yaml("{\"a\":\"x\\ny\\n\"}", "a: |\n  x\n  y\n");
	expect_yaml("{\"a\":\"x\\n\\n\"}", "a: |+\n  x\n\n");
	expect_yaml("{\"a\":\"x\\n\\ny\\n\",\"b\":1}", "a: |\n  x\n\n  y\nb: 1\n");
	expect_yaml("[\"x\\ny\"]", "- |-\n  x\n  y\n");
	expect_yaml("[{\"k\":\"x\\ny\"}]", "- k: |-\n    x\n    y\n");
	expect_yaml("{\"a\":\"\\nx\"}", "a: |2-\n\n  x\n");
	expect_yaml("{\"a\":\"  lead\\nx\\n\"}", "a: |2\n    lead\n  x\n");
	expect_yaml("[\" lead\\nx\"]", "- |2-\n   lead\n  x\n");
}
END_TEST

START_TEST(dump_multiline_strings_a_block_cannot_hold_are_double_quoted)
{
	expect_yaml("{\"a\":\"trail \\nx\"}", "a: \"trail \\nx\"\n");
	expect_yaml("{\"a\":\"cr\\r\\nx\"}", "a: \"cr\\r\\nx\"\n");
	expect_yaml("{\"a\":\"\\n\\n\"}", "a: \"\\n\\n\"\n");
	expect_yaml("{\"a\\nb\":1}", "\"a\\nb\": 1\n");
}
END_TEST

START_TEST(dump_escapes_control_characters)
{
	json_t *v = json_object();
	char *y;
	json_object_set_new(v, "k", json_stringn("a\0b\x1b\x7f", 5));
	y = dump(v, 0);
	ck_assert_str_eq(y, "k: \"a\\0b\\e\\x7F\"\n");
	free(y);
	json_decref(v);
}
END_TEST

START_TEST(dump_sorts_keys_on_request)
{
	json_t *v = json_pack("{s:i,s:{s:i,s:i},s:i}", "b", 1, "a", "z", 1, "c", 2, "aa", 3);
	char *y = dump(v, KYAML_DUMP_SORT_KEYS);
	ck_assert_str_eq(y, "a:\n  c: 2\n  z: 1\naa: 3\nb: 1\n");
	free(y);
	json_decref(v);
}
END_TEST

START_TEST(dump_sorts_keys_like_kubectl_with_numbers_by_value)
{
	json_t *v = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "k443", 1, "k80", 2, "k9", 3, "b", 4, "a.b", 5, "a1", 6);
	char *y = dump(v, KYAML_DUMP_SORT_KEYS);
	ck_assert_str_eq(y, "a.b: 5\na1: 6\nb: 4\nk9: 3\nk80: 2\nk443: 1\n");
	free(y);
	json_decref(v);
}
END_TEST

START_TEST(dump_stream_separates_documents)
{
	json_t *docs = json_pack("[{s:i},[i],s]", "a", 1, 2, "x");
	struct buf b;
	buf_init(&b, 1024);
	ck_assert_int_eq(kyaml_dump_stream(docs, &b), 0);
	ck_assert_str_eq(b.ptr, "a: 1\n---\n- 2\n---\nx\n");
	buf_release(&b);
	json_decref(docs);
}
END_TEST

START_TEST(dump_stream_requires_an_array)
{
	json_t *v = json_object();
	struct buf b;
	buf_init(&b, 1024);
	ck_assert_int_eq(kyaml_dump_stream(v, &b), BERR_INVALID);
	buf_release(&b);
	json_decref(v);
}
END_TEST

START_TEST(dump_reals_read_back_as_the_same_double)
{
	static const double d[] = { 0.1, 1.0 / 3, 1e21, 1e-7, -2.5e-300, 123456789.125, 5e-324 };
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		json_t *v = json_pack("{s:f}", "r", d[i]), *back;
		char *y = dump(v, 0);
		ck_assert_int_eq(kyaml_load_one(y, strlen(y), NULL, &back), 0);
		ck_assert_msg(json_number_value(json_object_get(back, "r")) == d[i], "%s", y);
		json_decref(back);
		json_decref(v);
		free(y);
	}
}
END_TEST

START_TEST(dump_long_keys_use_the_explicit_form)
{
	char key[1500];
	json_t *v, *back;
	char *y;
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	v = json_pack("{s:{s:i},s:s,s:[i]}", key, "a", 1, "x", "y", "z", 1);
	json_object_set_new(v, "short", json_string("s"));
	json_object_set_new(json_object_get(v, key), key, json_string("deep"));
	y = dump(v, 0);
	ck_assert_int_eq(strncmp(y, "? \"kkk", 6), 0);
	ck_assert_int_eq(kyaml_load_one(y, strlen(y), NULL, &back), 0);
	ck_assert(jx_equal(v, back));
	json_decref(back);
	json_decref(v);
	free(y);
}
END_TEST

START_TEST(dump_past_the_buffer_bound_fails_and_restores_the_buffer)
{
	json_t *v = json_pack("{s:s,s:s}", "a", "0123456789", "b", "0123456789");
	struct buf b;
	buf_init(&b, 20);
	buf_puts(&b, "pre");
	ck_assert_int_eq(kyaml_dump(v, &b), BERR_TOOLARGE);
	ck_assert_str_eq(b.ptr, "pre");
	buf_release(&b);
	json_decref(v);
}
END_TEST

START_TEST(dump_round_trips_awkward_values)
{
	json_t *docs = json_pack("[{s:s,s:s,s:s,s:[s,s,{s:[]}],s:{s:s}},s,i,b]", "multi", "a\n  b\n\tc\n", "quote",
				 "\"'\\", "unicode", "\xe2\x80\xa8 ls", "list", "- x", "#", "e", "m", "<<", "merge",
				 "|\n", 42, 1);
	check_round_trip(docs, "awkward");
	json_decref(docs);
}
END_TEST

/* Every string of up to four characters from an alphabet of YAML's
 * troublemakers, as a value and as a key, reads back unchanged. */
START_TEST(dump_round_trips_every_short_string_of_awkward_characters)
{
	static const char alphabet[] = { ' ', '\n', 'a', '1', ':', '#', '-', '\t', '\'', '"', '.', '~' };
	const size_t k = sizeof(alphabet);
	char str[5];
	size_t total = 0;
	struct buf b;

	buf_init(&b, 1 << 16);
	for (size_t len = 0; len <= 4; len++) {
		size_t combos = 1;
		for (size_t i = 0; i < len; i++)
			combos *= k;
		for (size_t c = 0; c < combos; c++) {
			size_t x = c;
			json_t *v, *back = NULL;
			for (size_t i = 0; i < len; i++, x /= k)
				str[i] = alphabet[x % k];
			str[len] = '\0';
			v = json_pack("{s:s,s:[s]}", str, str, "l", str);
			buf_reset(&b);
			ck_assert_int_eq(kyaml_dump(v, &b), 0);
			ck_assert_msg(kyaml_load_one(b.ptr, b.len, NULL, &back) == 0, "\"%s\": %s\n%s", str, err_msg(), b.ptr);
			ck_assert_msg(jx_equal(v, back), "\"%s\" changed:\n%s", str, b.ptr);
			json_decref(back);
			json_decref(v);
			total++;
		}
	}
	buf_release(&b);
	ck_assert_uint_gt(total, 20000);
}
END_TEST

/* The same with line breaks YAML 1.1 knows beyond \n (\r, NEL, LS, PS),
 * a byte-order mark, a C1 control, NUL, DEL and plain non-ASCII text. */
START_TEST(dump_round_trips_short_strings_of_special_characters)
{
	static const char *const alphabet[] = { "\r", "\xc2\x85", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xef\xbb\xbf",
						"\xc2\x9f", "\x7f", "\xc3\xa9", " ", "\n", "a", "\\", "\x01" };
	const size_t k = sizeof(alphabet) / sizeof(alphabet[0]);
	char str[64];
	size_t total = 0;
	struct buf b;

	buf_init(&b, 1 << 16);
	for (size_t len = 1; len <= 3; len++) {
		size_t combos = 1;
		for (size_t i = 0; i < len; i++)
			combos *= k;
		for (size_t c = 0; c < combos; c++) {
			size_t x = c, n = 0;
			json_t *v, *back = NULL;
			for (size_t i = 0; i < len; i++, x /= k)
				n += (size_t)snprintf(str + n, sizeof(str) - n, "%s", alphabet[x % k]);
			v = json_pack("{s:s,s:[s]}", str, str, "l", str);
			buf_reset(&b);
			ck_assert_int_eq(kyaml_dump(v, &b), 0);
			ck_assert_msg(kyaml_load_one(b.ptr, b.len, NULL, &back) == 0, "%s\n%s", err_msg(), b.ptr);
			ck_assert_msg(jx_equal(v, back), "changed:\n%s", b.ptr);
			json_decref(back);
			json_decref(v);
			total++;
		}
	}
	buf_release(&b);
	ck_assert_uint_gt(total, 2000);
}
END_TEST

/* ---- data-driven ---- */

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The data cases (file names without extension), sorted. */
static char **data_cases_ext(const char *dir, const char *ext, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t cnt = 0;

	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		if (!ends_with(e->d_name, ext))
			continue;
		names = realloc(names, (cnt + 1) * sizeof(*names));
		names[cnt++] = strndup(e->d_name, strlen(e->d_name) - strlen(ext));
	}
	closedir(d);
	qsort(names, cnt, sizeof(*names), name_cmp);
	*n = cnt;
	return names;
}

static char **data_cases(const char *dir, size_t *n)
{
	return data_cases_ext(dir, ".yaml", n);
}

START_TEST(data_cases_read_as_expected)
{
	char dir[4096], path[4200];
	size_t n, len, checked = 0;
	char **names;

	snprintf(dir, sizeof(dir), "%s/test/data/kyaml", top_dir());
	names = data_cases(dir, &n);
	for (size_t i = 0; i < n; i++) {
		char *yaml;
		json_t *docs = NULL;
		int rc;

		snprintf(path, sizeof(path), "%s/%s.yaml", dir, names[i]);
		yaml = read_file(path, &len);
		rc = kyaml_load_stream(yaml, len, NULL, &docs);
		snprintf(path, sizeof(path), "%s/%s.json", dir, names[i]);
		if (access(path, R_OK) == 0) {
			json_error_t je;
			json_t *want = json_load_file(path, JSON_DECODE_ANY, &je);
			ck_assert_msg(want != NULL, "%s: %s", path, je.text);
			ck_assert_msg(rc == 0, "%s: %s", names[i], err_msg());
			if (!jx_equal(docs, want)) {
				char *g = json_dumps(docs, JSON_COMPACT);
				ck_abort_msg("%s: got %s", names[i], g);
			}
			json_decref(want);
		} else {
			char line1[64] = "", line2[512] = "";
			FILE *f;
			snprintf(path, sizeof(path), "%s/%s.err", dir, names[i]);
			f = fopen(path, "r");
			ck_assert_msg(f != NULL, "%s: neither .json nor .err", names[i]);
			ck_assert(fgets(line1, sizeof(line1), f) != NULL);
			ck_assert(fgets(line2, sizeof(line2), f) != NULL);
			fclose(f);
			line1[strcspn(line1, "\n")] = '\0';
			line2[strcspn(line2, "\n")] = '\0';
			ck_assert_msg(rc == (!strcmp(line1, "too large") ? BERR_TOOLARGE : BERR_INVALID),
				      "%s: rc %d (%s)", names[i], rc, rc ? err_msg() : "ok");
			ck_assert_msg(strstr(err_msg(), line2) != NULL, "%s: message \"%s\" lacks \"%s\"", names[i],
				      err_msg(), line2);
			ck_assert_msg(strstr(err_msg(), "line ") != NULL, "%s: no line in \"%s\"", names[i], err_msg());
		}
		json_decref(docs);
		free(yaml);
		free(names[i]);
		checked++;
	}
	free(names);
	ck_assert_uint_ge(checked, 10);
}
END_TEST

START_TEST(data_cases_round_trip_through_the_writer)
{
	char dir[4096], path[4200];
	size_t n, len, checked = 0;
	char **names;

	snprintf(dir, sizeof(dir), "%s/test/data/kyaml", top_dir());
	names = data_cases(dir, &n);
	for (size_t i = 0; i < n; i++) {
		char *yaml;
		json_t *docs;

		snprintf(path, sizeof(path), "%s/%s.yaml", dir, names[i]);
		yaml = read_file(path, &len);
		if (kyaml_load_stream(yaml, len, NULL, &docs) == 0) {
			check_round_trip(docs, names[i]);
			json_decref(docs);
			checked++;
		}
		free(yaml);
		free(names[i]);
	}
	free(names);
	ck_assert_uint_ge(checked, 10);
}
END_TEST

static size_t fixtures_checked;

static int fixture_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char *yaml;
	json_t *docs;
	size_t len;
	int rc;

	(void)st;
	(void)ftw;
	if (type != FTW_F || !(ends_with(path, ".yaml") || ends_with(path, ".yml")) || strstr(path, "/templates/"))
		return 0;
	yaml = read_file(path, &len);
	rc = kyaml_load_stream(yaml, len, NULL, &docs);
	ck_assert_msg(rc == 0, "%s: %s", path, err_msg());
	check_round_trip(docs, path);
	json_decref(docs);
	free(yaml);
	fixtures_checked++;
	return 0;
}

START_TEST(fixture_files_round_trip_through_the_writer)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/../shared/fixtures", top_dir());
	if (access(dir, R_OK) != 0) {
		/* Outside the team's machine the shared fixtures are absent. */
		ck_assert_msg(getenv("BERTH_REQUIRE_FIXTURES") == NULL, "no fixtures at %s", dir);
		return;
	}
	fixtures_checked = 0;
	ck_assert_int_eq(nftw(dir, fixture_visit, 16, FTW_PHYS), 0);
	ck_assert_uint_ge(fixtures_checked, 50);
}
END_TEST

/* ---- oracle: sigs.k8s.io/yaml itself, through helm ----
 *
 * helm's template function fromYaml is sigs.k8s.io/yaml.Unmarshal into a
 * map, and toJson writes the result: exactly how Kubernetes tooling reads a
 * manifest. Each file of test/data/kyaml-oracle/ is rendered that way by a
 * throw-away chart, and must read the same with kyaml (or fail in both).
 * helm's path turns every number into a float64, so the cases avoid
 * integers that a double cannot hold exactly. */

static char *find_helm(void)
{
	char *path = str_printf("%s/.deps/bin/helm", top_dir());
	const char *p = getenv("PATH");

	if (access(path, X_OK) == 0)
		return path;
	free(path);
	while (p && *p) {
		size_t n = strcspn(p, ":");
		char *cand = str_printf("%.*s/helm", (int)n, p);
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		p += n + (p[n] == ':');
	}
	return NULL;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	fclose(f);
}

/* pattern with every "@CASE@" replaced by name (free() it). */
static char *fill_case(const char *pattern, const char *name)
{
	struct buf b;
	const char *p = pattern, *q;

	buf_init(&b, 1 << 16);
	while ((q = strstr(p, "@CASE@")) != NULL) {
		ck_assert_int_eq(buf_append(&b, p, (size_t)(q - p)), 0);
		ck_assert_int_eq(buf_puts(&b, name), 0);
		p = q + 6;
	}
	ck_assert_int_eq(buf_puts(&b, p), 0);
	return buf_detach(&b, NULL);
}

/* Renders, with helm, a throw-away chart holding the files paths[i] as
 * cases/<names[i]>.src, with one template per file: pattern, "@CASE@"
 * replaced by the name. Each template writes one JSON object
 * {"case":"<name>","out":...}; returns them as a JSON array. */
static json_t *helm_render_files(char **names, char **paths, size_t n, const char *pattern)
{
	char tmpl[] = "/tmp/berth-kyaml-oracle-XXXXXX", *helm, *chart, *cmd;
	size_t len;
	struct buf rendered;
	json_t *docs;
	FILE *p;

	helm = find_helm();
	ck_assert_msg(helm != NULL, "helm not found (scripts/install-deps puts it in .deps/bin)");
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	chart = str_printf("%s/oracle", tmpl);
	cmd = str_printf("mkdir -p '%s/templates' '%s/cases'", chart, chart);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	cmd = str_printf("%s/Chart.yaml", chart);
	write_text(cmd, "apiVersion: v2\nname: oracle\nversion: 0.1.0\n");
	free(cmd);
	for (size_t i = 0; i < n; i++) {
		char *dst = str_printf("%s/cases/%s.src", chart, names[i]);
		char *tpl = str_printf("%s/templates/%s.yaml", chart, names[i]);
		char *body = fill_case(pattern, names[i]);
		char *text = read_file(paths[i], &len);
		write_text(dst, text);
		write_text(tpl, body);
		free(text);
		free(dst);
		free(tpl);
		free(body);
	}
	cmd = str_printf("'%s' template oracle '%s' 2>&1", helm, chart);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	free(cmd);
	buf_init(&rendered, 64 << 20);
	{
		char chunk[4096];
		size_t r;
		while ((r = fread(chunk, 1, sizeof(chunk), p)) > 0)
			ck_assert_int_eq(buf_append(&rendered, chunk, r), 0);
	}
	ck_assert_msg(pclose(p) == 0, "helm failed:\n%s", rendered.ptr);
	ck_assert_int_eq(kyaml_load_stream(rendered.ptr, rendered.len, NULL, &docs), 0);
	ck_assert_uint_eq(json_array_size(docs), n);
	buf_release(&rendered);
	cmd = str_printf("rm -rf '%s'", tmpl);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(chart);
	free(helm);
	return docs;
}

/* helm_render_files over the files <name><ext> of dir. */
static json_t *helm_render(const char *dir, const char *ext, const char *pipeline)
{
	size_t n;
	char **names = data_cases_ext(dir, ext, &n);
	char **paths = calloc(n ? n : 1, sizeof(*paths));
	char *pattern = str_printf("{\"case\":\"@CASE@\",\"out\":{{ .Files.Get \"cases/@CASE@.src\" | %s }}}\n", pipeline);
	json_t *docs;

	for (size_t i = 0; i < n; i++)
		paths[i] = str_printf("%s/%s%s", dir, names[i], ext);
	docs = helm_render_files(names, paths, n, pattern);
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
		free(paths[i]);
	}
	free(names);
	free(paths);
	free(pattern);
	return docs;
}

START_TEST(oracle_agrees_with_sigs_k8s_yaml)
{
	char dir[4096];
	size_t len, i;
	json_t *docs, *d;

	snprintf(dir, sizeof(dir), "%s/test/data/kyaml-oracle", top_dir());
	docs = helm_render(dir, ".yaml", "fromYaml | toJson");
	json_array_foreach(docs, i, d) {
		const char *name = jx_str(d, "case");
		json_t *theirs = json_object_get(d, "out"), *ours = NULL;
		char *src = str_printf("%s/%s.yaml", dir, name);
		char *text = read_file(src, &len);
		int rc = kyaml_load_one(text, len, NULL, &ours);
		bool they_failed = json_object_size(theirs) == 1 && json_object_get(theirs, "Error");

		if (they_failed) {
			ck_assert_msg(rc != 0, "%s: sigs.k8s.io/yaml fails (%s) but kyaml reads it", name,
				      jx_str(theirs, "Error"));
		} else {
			char *t = json_dumps(theirs, JSON_COMPACT | JSON_SORT_KEYS), *o;
			ck_assert_msg(rc == 0, "%s: kyaml fails (%s), sigs.k8s.io/yaml gives %s", name, err_msg(), t);
			o = json_dumps(ours, JSON_COMPACT | JSON_SORT_KEYS);
			ck_assert_msg(jx_equal(ours, theirs), "%s:\n kyaml %s\n sigs  %s", name, o, t);
			free(o);
			free(t);
		}
		json_decref(ours);
		free(text);
		free(src);
	}
	ck_assert_uint_ge(json_array_size(docs), 10);
	json_decref(docs);
}
END_TEST

/* The writer, with sorted keys, writes what sigs.k8s.io/yaml.Marshal (helm's
 * toYaml, kubectl's -o yaml) writes, byte for byte, for every case of
 * test/data/kyaml-emit/ (which avoid the two deliberate differences: no
 * folding of lines past 80 columns, and a double-quoted string instead of a
 * block scalar with an indentation indicator). */
START_TEST(writer_matches_kubectl_output)
{
	char dir[4096];
	size_t i;
	json_t *docs, *d;
	json_error_t je;

	snprintf(dir, sizeof(dir), "%s/test/data/kyaml-emit", top_dir());
	docs = helm_render(dir, ".json", "fromJson | toYaml | toJson");
	json_array_foreach(docs, i, d) {
		const char *name = jx_str(d, "case");
		const char *theirs = jx_str(d, "out");
		char *src = str_printf("%s/%s.json", dir, name);
		json_t *v = json_load_file(src, 0, &je);
		char *mine;
		size_t n;

		ck_assert_msg(v != NULL, "%s: %s", src, je.text);
		ck_assert_ptr_nonnull(theirs);
		mine = dump(v, KYAML_DUMP_SORT_KEYS);
		n = strlen(mine);
		if (n > 0 && mine[n - 1] == '\n') /* helm's toYaml drops the final newline */
			mine[n - 1] = '\0';
		ck_assert_msg(!strcmp(mine, theirs), "%s:\n--- kyaml:\n%s\n--- kubectl:\n%s", name, mine, theirs);
		free(mine);
		json_decref(v);
		free(src);
	}
	ck_assert_uint_ge(json_array_size(docs), 3);
	json_decref(docs);
}
END_TEST

/* Every document of every YAML file of the shared fixtures reads as
 * sigs.k8s.io/yaml reads it. helm splits the files at "---" lines and reads
 * each piece with fromYaml; empty pieces give {} there and nothing here. */
static char **fx_names, **fx_paths;
static size_t fx_count;

static int fixture_collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type != FTW_F || !(ends_with(path, ".yaml") || ends_with(path, ".yml")) || strstr(path, "/templates/"))
		return 0;
	fx_names = realloc(fx_names, (fx_count + 1) * sizeof(*fx_names));
	fx_paths = realloc(fx_paths, (fx_count + 1) * sizeof(*fx_paths));
	fx_names[fx_count] = str_printf("f%zu", fx_count);
	fx_paths[fx_count] = strdup(path);
	fx_count++;
	return 0;
}

static json_t *without_empty_maps(const json_t *docs)
{
	json_t *out = json_array(), *d;
	size_t i;
	json_array_foreach(docs, i, d) {
		if (!(json_is_object(d) && json_object_size(d) == 0))
			json_array_append(out, d);
	}
	return out;
}

START_TEST(oracle_agrees_on_every_fixture_document)
{
	char dir[4096];
	json_t *docs, *d;
	size_t i, len, n_docs = 0;

	snprintf(dir, sizeof(dir), "%s/../shared/fixtures", top_dir());
	if (access(dir, R_OK) != 0) {
		ck_assert_msg(getenv("BERTH_REQUIRE_FIXTURES") == NULL, "no fixtures at %s", dir);
		return;
	}
	fx_count = 0;
	ck_assert_int_eq(nftw(dir, fixture_collect, 16, FTW_PHYS), 0);
	docs = helm_render_files(fx_names, fx_paths, fx_count,
				 "{\"case\":\"@CASE@\",\"out\":[{{ range $i, $d := regexSplit \"(?m)^---.*$\" "
				 "(.Files.Get \"cases/@CASE@.src\") -1 }}{{ if $i }},{{ end }}{{ $d | fromYaml | toJson }}"
				 "{{ end }}]}\n");
	json_array_foreach(docs, i, d) {
		const char *name = jx_str(d, "case");
		size_t idx = (size_t)strtoul(name + 1, NULL, 10);
		json_t *theirs = without_empty_maps(json_object_get(d, "out")), *ours_all = NULL, *ours;
		char *text = read_file(fx_paths[idx], &len);
		char *t, *o;

		ck_assert_msg(kyaml_load_stream(text, len, NULL, &ours_all) == 0, "%s: %s", fx_paths[idx], err_msg());
		ours = without_empty_maps(ours_all);
		t = json_dumps(theirs, JSON_COMPACT | JSON_SORT_KEYS);
		o = json_dumps(ours, JSON_COMPACT | JSON_SORT_KEYS);
		ck_assert_msg(jx_equal(ours, theirs), "%s:\n kyaml %.2000s\n sigs  %.2000s", fx_paths[idx], o, t);
		n_docs += json_array_size(ours);
		free(t);
		free(o);
		free(text);
		json_decref(ours);
		json_decref(ours_all);
		json_decref(theirs);
	}
	ck_assert_uint_ge(json_array_size(docs), 50);
	ck_assert_uint_ge(n_docs, 100);
	json_decref(docs);
	for (i = 0; i < fx_count; i++) {
		free(fx_names[i]);
		free(fx_paths[i]);
	}
	free(fx_names);
	free(fx_paths);
	fx_names = fx_paths = NULL;
}
END_TEST

static bool lines_fit(const char *s, size_t width)
{
	size_t col = 0;
	for (; *s; s++) {
		col = *s == '\n' ? 0 : col + 1;
		if (col > width)
			return false;
	}
	return true;
}

/* The writer's sorted output equals kubectl's for every fixture document
 * whose lines fit in 80 columns (go-yaml folds longer ones; kyaml never
 * does). */
START_TEST(writer_matches_kubectl_output_on_fixture_documents)
{
	char dir[4096], tmpl[] = "/tmp/berth-kyaml-docs-XXXXXX";
	char **names = NULL, **paths = NULL, **mine = NULL;
	size_t n = 0, len, compared = 0, i;
	json_t *rendered, *d;

	snprintf(dir, sizeof(dir), "%s/../shared/fixtures", top_dir());
	if (access(dir, R_OK) != 0) {
		ck_assert_msg(getenv("BERTH_REQUIRE_FIXTURES") == NULL, "no fixtures at %s", dir);
		return;
	}
	fx_count = 0;
	ck_assert_int_eq(nftw(dir, fixture_collect, 16, FTW_PHYS), 0);
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	for (i = 0; i < fx_count; i++) {
		char *text = read_file(fx_paths[i], &len);
		json_t *docs, *doc;
		size_t j;
		ck_assert_int_eq(kyaml_load_stream(text, len, NULL, &docs), 0);
		json_array_foreach(docs, j, doc) {
			names = realloc(names, (n + 1) * sizeof(*names));
			paths = realloc(paths, (n + 1) * sizeof(*paths));
			mine = realloc(mine, (n + 1) * sizeof(*mine));
			names[n] = str_printf("d%zu", n);
			paths[n] = str_printf("%s/%s.json", tmpl, names[n]);
			ck_assert_int_eq(json_dump_file(doc, paths[n], JSON_COMPACT), 0);
			mine[n] = dump(doc, KYAML_DUMP_SORT_KEYS);
			n++;
		}
		json_decref(docs);
		free(text);
	}
	rendered = helm_render_files(names, paths, n,
				     "{\"case\":\"@CASE@\",\"out\":{{ .Files.Get \"cases/@CASE@.src\" | fromJson | toYaml | toJson }}}\n");
	json_array_foreach(rendered, i, d) {
		size_t idx = (size_t)strtoul(jx_str(d, "case") + 1, NULL, 10);
		const char *theirs = jx_str(d, "out");
		size_t ml = strlen(mine[idx]);

		ck_assert_ptr_nonnull(theirs);
		if (!lines_fit(mine[idx], 80))
			continue;
		if (ml > 0)
			mine[idx][ml - 1] = '\0'; /* helm's toYaml drops the final newline */
		ck_assert_msg(!strcmp(mine[idx], theirs), "document %zu:\n--- kyaml:\n%.3000s\n--- kubectl:\n%.3000s", idx,
			      mine[idx], theirs);
		compared++;
	}
	ck_assert_uint_ge(compared, 50);
	json_decref(rendered);
	for (i = 0; i < n; i++) {
		unlink(paths[i]);
		free(names[i]);
		free(paths[i]);
		free(mine[i]);
	}
	rmdir(tmpl);
	free(names);
	free(paths);
	free(mine);
	for (i = 0; i < fx_count; i++) {
		free(fx_names[i]);
		free(fx_paths[i]);
	}
	free(fx_names);
	free(fx_paths);
	fx_names = fx_paths = NULL;
}
END_TEST

/* Every plain scalar of up to four characters from the characters numbers
 * are made of (digits, signs, radix letters, '.', '_', 'e', ':') is typed
 * as sigs.k8s.io/yaml types it. */
START_TEST(oracle_agrees_on_generated_plain_scalars)
{
	static const char alphabet[] = "018xboeE._+-:";
	const size_t k = sizeof(alphabet) - 1;
	char tmpl[] = "/tmp/berth-kyaml-plain-XXXXXX", str[8];
	char name[] = "plain", *names[1] = { name }, *paths[1], *text;
	struct buf y;
	json_t *rendered, *theirs, *ours = NULL, *list;
	size_t len, i, count = 0;

	buf_init(&y, 16 << 20);
	ck_assert_int_eq(buf_puts(&y, "v:\n"), 0);
	for (size_t n = 1; n <= 4; n++) {
		size_t combos = 1;
		for (i = 0; i < n; i++)
			combos *= k;
		for (size_t c = 0; c < combos; c++) {
			size_t x = c;
			for (i = 0; i < n; i++, x /= k)
				str[i] = alphabet[x % k];
			str[n] = '\0';
			/* skip what is not a plain scalar in a block list item */
			if (str[0] == ':' || str[n - 1] == ':' || (str[0] == '-' && n == 1))
				continue;
			ck_assert_int_eq(buf_printf(&y, "- %s\n", str), 0);
			count++;
		}
	}
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	paths[0] = str_printf("%s/plain.yaml", tmpl);
	write_text(paths[0], y.ptr);
	rendered = helm_render_files(names, paths, 1,
				     "{\"case\":\"@CASE@\",\"out\":{{ .Files.Get \"cases/@CASE@.src\" | fromYaml | toJson }}}\n");
	theirs = jx_path(json_array_get(rendered, 0), "out", "v", NULL);
	ck_assert_msg(json_is_array(theirs), "sigs.k8s.io/yaml: %s",
		      jx_path_str(json_array_get(rendered, 0), "out", "Error", NULL));
	text = y.ptr;
	ck_assert_int_eq(kyaml_load_one(text, y.len, NULL, &ours), 0);
	list = json_object_get(ours, "v");
	ck_assert_uint_eq(json_array_size(list), count);
	ck_assert_uint_eq(json_array_size(theirs), count);
	for (i = 0; i < count; i++) {
		json_t *a = json_array_get(list, i), *b = json_array_get(theirs, i);
		if (!jx_equal(a, b)) {
			char *sa = json_dumps(a, JSON_ENCODE_ANY), *sb = json_dumps(b, JSON_ENCODE_ANY);
			/* the source line of item i is line i + 2 */
			const char *line = y.ptr;
			for (size_t l = 0; l < i + 1; l++)
				line = strchr(line, '\n') + 1;
			ck_abort_msg("%.*s: kyaml %s, sigs.k8s.io/yaml %s", (int)strcspn(line, "\n"), line, sa, sb);
		}
	}
	ck_assert_uint_gt(count, 20000);
	json_decref(ours);
	json_decref(rendered);
	unlink(paths[0]);
	rmdir(tmpl);
	free(paths[0]);
	buf_release(&y);
	(void)len;
}
END_TEST

/* Number-like plain scalars as map keys take the same string form as in
 * sigs.k8s.io/yaml (ints in decimal, floats as float32 'g', bools). Several
 * spellings may give one key, so the key sets are compared. */
START_TEST(oracle_agrees_on_generated_keys)
{
	static const char alphabet[] = "018xbeE._+-";
	const size_t k = sizeof(alphabet) - 1;
	char tmpl[] = "/tmp/berth-kyaml-keys-XXXXXX", str[8], name[] = "keys";
	char *names[1] = { name }, *paths[1];
	struct buf y;
	json_t *rendered, *theirs, *ours = NULL, *v;
	const char *key;
	size_t i, count = 0;

	buf_init(&y, 16 << 20);
	for (size_t n = 1; n <= 3; n++) {
		size_t combos = 1;
		for (i = 0; i < n; i++)
			combos *= k;
		for (size_t c = 0; c < combos; c++) {
			size_t x = c;
			for (i = 0; i < n; i++, x /= k)
				str[i] = alphabet[x % k];
			str[n] = '\0';
			if (str[0] == '-' && n == 1)
				continue;
			/* -0.0 and 0.0 are one key of a Go map, which keeps whichever
			 * came last: skip negative zeros */
			if (str[0] == '-' && strcspn(str, "18") == n)
				continue;
			ck_assert_int_eq(buf_printf(&y, "%s: %zu\n", str, count), 0);
			count++;
		}
	}
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	paths[0] = str_printf("%s/keys.yaml", tmpl);
	write_text(paths[0], y.ptr);
	rendered = helm_render_files(names, paths, 1,
				     "{\"case\":\"@CASE@\",\"out\":{{ .Files.Get \"cases/@CASE@.src\" | fromYaml | toJson }}}\n");
	theirs = json_object_get(json_array_get(rendered, 0), "out");
	ck_assert_msg(!json_object_get(theirs, "Error"), "sigs.k8s.io/yaml: %s", jx_str(theirs, "Error"));
	ck_assert_int_eq(kyaml_load_one(y.ptr, y.len, NULL, &ours), 0);
	json_object_foreach(ours, key, v) {
		ck_assert_msg(json_object_get(theirs, key) != NULL, "kyaml has key \"%s\", sigs.k8s.io/yaml not", key);
	}
	json_object_foreach(theirs, key, v) {
		ck_assert_msg(json_object_get(ours, key) != NULL, "sigs.k8s.io/yaml has key \"%s\", kyaml not", key);
	}
	ck_assert_uint_gt(json_object_size(ours), 500);
	json_decref(ours);
	json_decref(rendered);
	unlink(paths[0]);
	rmdir(tmpl);
	free(paths[0]);
	buf_release(&y);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kyaml");
	TCase *tc = tcase_create("kyaml");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, stream_splits_documents_on_separators);
	tcase_add_test(tc, stream_skips_empty_comment_only_and_null_documents);
	tcase_add_test(tc, stream_accepts_document_end_markers);
	tcase_add_test(tc, empty_input_is_an_empty_stream);
	tcase_add_test(tc, load_one_rejects_zero_or_several_documents);
	tcase_add_test(tc, input_need_not_be_nul_terminated);
	tcase_add_test(tc, bools_in_every_yaml11_form);
	tcase_add_test(tc, bool_words_in_mixed_case_stay_strings);
	tcase_add_test(tc, null_forms_read_as_null);
	tcase_add_test(tc, decimal_integers_with_sign_and_underscores);
	tcase_add_test(tc, octal_hex_and_binary_integers);
	tcase_add_test(tc, int64_range_is_kept_exact);
	tcase_add_test(tc, integers_beyond_int64_become_reals);
	tcase_add_test(tc, floats_in_yaml11_forms);
	tcase_add_test(tc, whole_floats_become_integers_as_kubernetes_json_writes_them);
	tcase_add_test(tc, invalid_octal_digits_read_as_a_float_like_go_yaml);
	tcase_add_test(tc, infinity_and_nan_are_errors_with_the_position);
	tcase_add_test(tc, number_lookalikes_stay_strings);
	tcase_add_test(tc, floats_out_of_range_stay_strings_like_go_yaml);
	tcase_add_test(tc, timestamps_stay_strings);
	tcase_add_test(tc, quoted_scalars_are_always_strings);
	tcase_add_test(tc, double_quoted_escapes_are_decoded);
	tcase_add_test(tc, double_quoted_nul_escape_is_kept_with_its_length);
	tcase_add_test(tc, quoted_scalars_fold_lines);
	tcase_add_test(tc, literal_block_scalar_chomping);
	tcase_add_test(tc, folded_block_scalar_chomping);
	tcase_add_test(tc, block_scalar_indentation_indicator);
	tcase_add_test(tc, block_scalars_are_strings_even_when_they_look_typed);
	tcase_add_test(tc, flow_collections);
	tcase_add_test(tc, block_sequences_at_the_key_column_and_indented);
	tcase_add_test(tc, map_keeps_the_order_of_its_keys);
	tcase_add_test(tc, aliases_are_independent_copies);
	tcase_add_test(tc, redefined_anchor_uses_the_latest_definition);
	tcase_add_test(tc, anchors_do_not_cross_documents);
	tcase_add_test(tc, undefined_alias_is_an_error_with_the_position);
	tcase_add_test(tc, merge_key_with_one_map);
	tcase_add_test(tc, merge_key_overrides_keys_written_before_it_like_go_yaml_v2);
	tcase_add_test(tc, second_merge_key_overrides_the_first);
	tcase_add_test(tc, merge_key_with_a_list_of_maps_earlier_wins);
	tcase_add_test(tc, merge_key_with_an_inline_map);
	tcase_add_test(tc, merge_key_with_a_scalar_is_an_error);
	tcase_add_test(tc, quoted_merge_key_is_an_ordinary_key);
	tcase_add_test(tc, alias_bomb_stops_at_the_alias_bound);
	tcase_add_test(tc, alias_bound_is_configurable);
	tcase_add_test(tc, standard_tags_force_the_type);
	tcase_add_test(tc, binary_and_timestamp_tags_keep_the_text);
	tcase_add_test(tc, tag_and_text_that_disagree_are_an_error);
	tcase_add_test(tc, unknown_tags_on_scalars_give_strings_and_on_collections_are_ignored);
	tcase_add_test(tc, non_string_keys_take_their_string_form);
	tcase_add_test(tc, one_letter_y_and_n_keys_read_as_bools_like_go_yaml_v2);
	tcase_add_test(tc, float_keys_use_the_float32_shortest_form);
	tcase_add_test(tc, null_key_is_an_error_as_in_sigs_k8s_yaml);
	tcase_add_test(tc, merged_key_may_be_overridden_once_in_strict_mode);
	tcase_add_test(tc, collection_as_key_is_an_error);
	tcase_add_test(tc, duplicate_key_last_value_wins_by_default);
	tcase_add_test(tc, duplicate_key_is_an_error_when_rejected);
	tcase_add_test(tc, merged_keys_are_not_duplicates);
	tcase_add_test(tc, unclosed_quote_is_invalid_with_line);
	tcase_add_test(tc, bad_indentation_is_invalid_with_line);
	tcase_add_test(tc, tab_indentation_is_invalid_with_line);
	tcase_add_test(tc, invalid_utf8_is_invalid_with_line);
	tcase_add_test(tc, unclosed_flow_collection_is_invalid);
	tcase_add_test(tc, nesting_past_the_depth_bound_is_too_large);
	tcase_add_loop_test(tc, input_past_a_configured_bound_is_too_large, 0, sizeof(limit_cases) / sizeof(*limit_cases));
	tcase_add_test(tc, nul_byte_in_input_is_invalid);
	tcase_add_test(tc, load_any_reads_json);
	tcase_add_test(tc, load_any_falls_back_to_yaml_for_flow_yaml_and_block_yaml);
	tcase_add_test(tc, load_any_reports_yaml_position_for_broken_input);
	tcase_add_test(tc, load_any_applies_the_depth_bound_to_json);
	tcase_add_test(tc, dump_writes_maps_and_lists_like_kubectl);
	tcase_add_test(tc, dump_nested_lists_share_the_dash_line);
	tcase_add_test(tc, dump_empty_collections_inline);
	tcase_add_test(tc, dump_scalars);
	tcase_add_test(tc, dump_quotes_strings_that_would_read_as_something_else);
	tcase_add_test(tc, dump_leaves_ordinary_strings_plain);
	tcase_add_test(tc, dump_quotes_keys_that_would_read_as_something_else);
	tcase_add_test(tc, dump_single_quotes_double_their_quote);
	tcase_add_test(tc, dump_multiline_strings_as_literal_blocks_with_chomping);
	tcase_add_test(tc, dump_multiline_strings_a_block_cannot_hold_are_double_quoted);
	tcase_add_test(tc, dump_escapes_control_characters);
	tcase_add_test(tc, dump_sorts_keys_on_request);
	tcase_add_test(tc, dump_sorts_keys_like_kubectl_with_numbers_by_value);
	tcase_add_test(tc, dump_stream_separates_documents);
	tcase_add_test(tc, dump_stream_requires_an_array);
	tcase_add_test(tc, dump_reals_read_back_as_the_same_double);
	tcase_add_test(tc, dump_long_keys_use_the_explicit_form);
	tcase_add_test(tc, dump_past_the_buffer_bound_fails_and_restores_the_buffer);
	tcase_add_test(tc, dump_round_trips_awkward_values);
	tcase_add_test(tc, dump_round_trips_every_short_string_of_awkward_characters);
	tcase_add_test(tc, dump_round_trips_short_strings_of_special_characters);
	tcase_add_test(tc, data_cases_read_as_expected);
	tcase_add_test(tc, data_cases_round_trip_through_the_writer);
	tcase_add_test(tc, fixture_files_round_trip_through_the_writer);
	tcase_add_test(tc, oracle_agrees_with_sigs_k8s_yaml);
	tcase_add_test(tc, writer_matches_kubectl_output);
	tcase_add_test(tc, oracle_agrees_on_every_fixture_document);
	tcase_add_test(tc, writer_matches_kubectl_output_on_fixture_documents);
	tcase_add_test(tc, oracle_agrees_on_generated_plain_scalars);
	tcase_add_test(tc, oracle_agrees_on_generated_keys);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
