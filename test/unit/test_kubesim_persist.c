/*
 * Unit tests of kube-sim's persistence (test/kube-sim/persist.h) on
 * in-process stores: a round trip through a data directory, and the replay
 * rules on hand-written files (highest RV wins, entries covered by the
 * snapshot are skipped, a torn last line is ignored, a bad line in the
 * middle fails the load). kube-sim's sources are compiled in here.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kube-sim/kmap.c"
#include "../kube-sim/selector.c"
#include "../kube-sim/types.c"
#include "../kube-sim/store.c"
#include "../kube-sim/write.c"
#include "../kube-sim/apply.c"
#include "../kube-sim/persist.c"

static char dir[64];

static void setup(void)
{
	str_copy(dir, "/tmp/berth-persist-XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char *cmd = str_printf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static void write_file(const char *name, const char *text)
{
	char *p = str_printf("%s/%s", dir, name);
	FILE *f = fopen(p, "we");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static const struct ks_type *cm_type(struct ks_store *s)
{
	const struct ks_type *t = store_type_find(s, "", "configmaps");
	ck_assert_ptr_nonnull(t);
	return t;
}

/* data.v of ConfigMap default/name, or NULL when absent (static buffer). */
static const char *value_of(struct ks_store *s, const char *name)
{
	static char out[64];
	json_t *o = NULL;
	if (store_get(s, cm_type(s), "default", name, &o) < 0)
		return NULL;
	str_copy(out, jx_path_str(o, "data", "v", NULL) ? jx_path_str(o, "data", "v", NULL) : "", sizeof(out));
	json_decref(o);
	return out;
}

static struct ks_store *load(size_t *count, int *rc)
{
	struct persist *p = NULL;
	struct ks_store *s = store_new(NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(persist_open(dir, &p), 0);
	*rc = persist_load(p, s, count);
	persist_close(p);
	return s;
}

#define CM(name, rv, v)                                                                                    \
	"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" name                      \
	"\",\"namespace\":\"default\",\"uid\":\"u-" name "\",\"resourceVersion\":\"" #rv "\"},\"data\":{\"v\":\"" v "\"}}"

START_TEST(persist_round_trip_keeps_objects_and_rv)
{
	struct ks_store *s = store_new(NULL);
	struct persist *p = NULL;
	struct ks_write_opts wo = { .field_manager = "test" };
	json_t *out = NULL;

	ck_assert_int_eq(persist_open(dir, &p), 0);
	ck_assert_int_eq(persist_load(p, s, NULL), 0);
	ck_assert_int_eq(persist_attach(p, s), 0);
	json_t *a = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\"},\"data\":{\"v\":\"1\"}}", 0, NULL);
	json_t *b = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"b\"},\"data\":{\"v\":\"2\"}}", 0, NULL);
	ck_assert_int_eq(store_create(s, cm_type(s), "default", a, &wo, &out), 0);
	char *uid = str_dup(jx_path_str(out, "metadata", "uid", NULL));
	json_decref(out);
	ck_assert_int_eq(store_create(s, cm_type(s), "default", b, &wo, NULL), 0);
	json_t *ret = NULL;
	bool gone;
	struct ks_delete_opts d = { 0 };
	ck_assert_int_eq(store_delete(s, cm_type(s), "default", "b", &d, &ret, &gone), 0);
	json_decref(ret);
	uint64_t rv = store_rv(s);
	persist_close(p); /* flushes */
	store_free(s);
	json_decref(a);
	json_decref(b);

	int rc;
	size_t n = 0;
	s = load(&n, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(value_of(s, "a"), "1");
	ck_assert_ptr_null(value_of(s, "b"));
	ck_assert_uint_ge(store_rv(s), rv);
	ck_assert_int_eq(store_get(s, cm_type(s), "default", "a", &out), 0);
	ck_assert_str_eq(jx_path_str(out, "metadata", "uid", NULL), uid);
	json_decref(out);
	free(uid);
	store_free(s);
}
END_TEST

START_TEST(persist_replay_keeps_the_highest_rv_per_object)
{
	write_file("log.jsonl", "{\"e\":\"MODIFIED\",\"rv\":12,\"o\":" CM("x", 12, "new") "}\n"
				"{\"e\":\"ADDED\",\"rv\":11,\"o\":" CM("x", 11, "old") "}\n"
				"{\"e\":\"DELETED\",\"rv\":14,\"o\":" CM("y", 13, "y") "}\n"
				"{\"e\":\"ADDED\",\"rv\":13,\"o\":" CM("y", 13, "y") "}\n");
	int rc;
	struct ks_store *s = load(NULL, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(value_of(s, "x"), "new");
	ck_assert_ptr_null(value_of(s, "y"));
	ck_assert_uint_ge(store_rv(s), 14);
	store_free(s);
}
END_TEST

START_TEST(persist_skips_log_entries_the_snapshot_covers)
{
	write_file("snapshot.jsonl", CM("x", 20, "snap") "\n{\"base\":25,\"rv\":26}\n");
	/* rv 22 happened before the snapshot walk started: already reflected
	 * (the object was deleted and re-created, say); rv 30 is newer. */
	write_file("log.jsonl", "{\"e\":\"DELETED\",\"rv\":22,\"o\":" CM("x", 20, "snap") "}\n"
				"{\"e\":\"ADDED\",\"rv\":30,\"o\":" CM("z", 30, "later") "}\n");
	int rc;
	size_t n = 0;
	struct ks_store *s = load(&n, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(value_of(s, "x"), "snap");
	ck_assert_str_eq(value_of(s, "z"), "later");
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_ge(store_rv(s), 30);
	store_free(s);
}
END_TEST

START_TEST(persist_ignores_a_torn_last_line)
{
	write_file("log.jsonl", "{\"e\":\"ADDED\",\"rv\":5,\"o\":" CM("x", 5, "ok") "}\n{\"e\":\"ADDED\",\"rv\":6,\"o\":{\"api");
	int rc;
	struct ks_store *s = load(NULL, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(value_of(s, "x"), "ok");
	store_free(s);
}
END_TEST

START_TEST(persist_refuses_a_corrupt_line_in_the_middle)
{
	write_file("log.jsonl", "{\"e\":\"ADDED\",\"rv\":5,\"o\":" CM("x", 5, "ok") "}\nnot json\n"
				"{\"e\":\"ADDED\",\"rv\":7,\"o\":" CM("w", 7, "ok") "}\n");
	int rc;
	struct ks_store *s = load(NULL, &rc);
	ck_assert_int_eq(rc, BERR_INVALID);
	store_free(s);
}
END_TEST

START_TEST(persist_load_rewrites_the_snapshot_and_empties_the_log)
{
	write_file("log.jsonl", "{\"e\":\"ADDED\",\"rv\":5,\"o\":" CM("x", 5, "ok") "}\n");
	int rc;
	struct ks_store *s = load(NULL, &rc);
	ck_assert_int_eq(rc, 0);
	store_free(s);
	char *logp = str_printf("%s/log.jsonl", dir), *snap = str_printf("%s/snapshot.jsonl", dir);
	struct stat st;
	ck_assert_int_eq(stat(logp, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_int_eq(stat(snap, &st), 0);
	ck_assert_int_gt(st.st_size, 0);
	free(logp);
	free(snap);
	s = load(NULL, &rc);
	ck_assert_str_eq(value_of(s, "x"), "ok");
	store_free(s);
}
END_TEST

START_TEST(persist_compacts_a_long_log)
{
	struct ks_store *s = store_new(NULL);
	struct persist *p = NULL;
	struct ks_write_opts wo = { .field_manager = "test" };
	const struct ks_type *t = cm_type(s);
	char text[256];

	ck_assert_int_eq(persist_open(dir, &p), 0);
	ck_assert_int_eq(persist_load(p, s, NULL), 0);
	ck_assert_int_eq(persist_attach(p, s), 0);
	/* more changes of one object than the log may hold before compaction */
	for (int i = 0; i <= LOG_MIN_COMPACT + 500; i++) {
		snprintf(text, sizeof(text),
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"hot\"},\"data\":{\"v\":\"%d\"}}", i);
		json_t *o = json_loads(text, 0, NULL);
		int rc = i == 0 ? store_create(s, t, "default", o, &wo, NULL) : store_update(s, t, "default", o, &wo, NULL);
		ck_assert_int_eq(rc, 0);
		json_decref(o);
	}
	/* the flusher compacts within a few flush periods */
	char *logp = str_printf("%s/log.jsonl", dir);
	struct stat st;
	int64_t deadline = clock_mono_ms() + 5000;
	while (clock_mono_ms() < deadline && (stat(logp, &st) < 0 || st.st_size > 1000000))
		clock_sleep_ms(20);
	ck_assert_int_eq(stat(logp, &st), 0);
	ck_assert_int_lt(st.st_size, 1000000);
	free(logp);
	persist_close(p);
	store_free(s);

	int rc;
	s = load(NULL, &rc);
	ck_assert_int_eq(rc, 0);
	snprintf(text, sizeof(text), "%d", LOG_MIN_COMPACT + 500);
	ck_assert_str_eq(value_of(s, "hot"), text);
	store_free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kubesim_persist");
	TCase *tc = tcase_create("persist");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, persist_round_trip_keeps_objects_and_rv);
	tcase_add_test(tc, persist_replay_keeps_the_highest_rv_per_object);
	tcase_add_test(tc, persist_skips_log_entries_the_snapshot_covers);
	tcase_add_test(tc, persist_ignores_a_torn_last_line);
	tcase_add_test(tc, persist_refuses_a_corrupt_line_in_the_middle);
	tcase_add_test(tc, persist_load_rewrites_the_snapshot_and_empties_the_log);
	tcase_add_test(tc, persist_compacts_a_long_log);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
