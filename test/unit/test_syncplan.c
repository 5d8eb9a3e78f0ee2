/* Unit tests for lib/syncplan: phases, waves, kind order, dependencies,
 * hooks and pruning, including the objects of the argocd-example-apps
 * sync-waves, pre-post-sync and helm-hooks apps, both written out by hand
 * and read from the fixture folder (argocd-example-apps). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annot.h"
#include "buf.h"
#include "err.h"
#include "jsonx.h"
#include "kyaml.h"
#include "syncplan.h"

/* An object "apiVersion kind name [ns]" with annotations as "k=v;k=v". */
static json_t *obj(const char *api, const char *kind, const char *name, const char *ns, const char *annotations)
{
	json_t *o = json_pack("{s:s,s:s,s:{}}", "apiVersion", api, "kind", kind, "metadata");
	json_t *meta = json_object_get(o, "metadata");
	if (name && name[0] == '~')
		json_object_set_new(meta, "generateName", json_string(name + 1));
	else if (name)
		json_object_set_new(meta, "name", json_string(name));
	if (ns)
		json_object_set_new(meta, "namespace", json_string(ns));
	if (annotations) {
		json_t *a = json_object();
		char *copy = strdup(annotations), *save = NULL;
		for (char *kv = strtok_r(copy, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
			char *eq = strchr(kv, '=');
			*eq = '\0';
			json_object_set_new(a, kv, json_string(eq + 1));
		}
		free(copy);
		json_object_set_new(meta, "annotations", a);
	}
	return o;
}

/* The plan as "Phase/wave/Kind/name[!prune][*hook]" joined by spaces. */
static char *render(const struct syncplan_task *t, size_t n)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s/%d/%s/%s%s%s", i ? " " : "", syncplan_phase_name(t[i].phase), t[i].wave, t[i].kind,
			   t[i].name, t[i].prune ? "!prune" : "", t[i].hook ? "*" : "");
	return buf_detach(&b, NULL);
}

static void assert_plan(const json_t *desired, const json_t *prune, const struct syncplan_options *opts,
			const char *want, const char *want_fail)
{
	struct syncplan p;
	int rc = syncplan_build(desired, prune, opts, &p);
	ck_assert_msg(rc == 0, "syncplan_build: %s", err_msg());
	char *got = render(p.tasks, p.n);
	ck_assert_str_eq(got, want);
	free(got);
	if (want_fail) {
		got = render(p.fail_tasks, p.n_fail);
		ck_assert_str_eq(got, want_fail);
		free(got);
	}
	syncplan_release(&p);
}

START_TEST(kind_order_matches_argo_and_puts_other_kinds_last)
{
	ck_assert_int_lt(syncplan_kind_order("Namespace"), syncplan_kind_order("NetworkPolicy"));
	ck_assert_int_lt(syncplan_kind_order("ConfigMap"), syncplan_kind_order("CustomResourceDefinition"));
	ck_assert_int_lt(syncplan_kind_order("Service"), syncplan_kind_order("Deployment"));
	ck_assert_int_lt(syncplan_kind_order("Deployment"), syncplan_kind_order("HorizontalPodAutoscaler"));
	ck_assert_int_lt(syncplan_kind_order("HorizontalPodAutoscaler"), syncplan_kind_order("StatefulSet"));
	ck_assert_int_lt(syncplan_kind_order("Ingress"), syncplan_kind_order("APIService"));
	ck_assert_int_lt(syncplan_kind_order("APIService"), syncplan_kind_order("Widget"));
	ck_assert_int_eq(syncplan_kind_order("Widget"), 0);
}
END_TEST

START_TEST(plain_resources_sort_by_kind_then_name)
{
	json_t *d = json_array();
	json_array_append_new(d, obj("apps/v1", "Deployment", "web", "shop", NULL));
	json_array_append_new(d, obj("example.com/v1", "Widget", "w", "shop", NULL));
	json_array_append_new(d, obj("v1", "Service", "web", "shop", NULL));
	json_array_append_new(d, obj("v1", "ConfigMap", "b", "shop", NULL));
	json_array_append_new(d, obj("v1", "ConfigMap", "a", "shop", NULL));
	json_array_append_new(d, obj("rbac.authorization.k8s.io/v1", "ClusterRole", "r", NULL, NULL));
	assert_plan(d, NULL, NULL,
		    "Sync/0/ConfigMap/a Sync/0/ConfigMap/b Sync/0/ClusterRole/r Sync/0/Service/web "
		    "Sync/0/Deployment/web Sync/0/Widget/w",
		    NULL);
	json_decref(d);
}
END_TEST

START_TEST(waves_come_before_kinds)
{
	json_t *d = json_array();
	json_array_append_new(d, obj("v1", "ConfigMap", "late", "x", "argocd.argoproj.io/sync-wave=5"));
	json_array_append_new(d, obj("apps/v1", "Deployment", "early", "x", "berth.dev/sync-wave=-1"));
	json_array_append_new(d, obj("v1", "Secret", "mid", "x", NULL));
	assert_plan(d, NULL, NULL, "Sync/-1/Deployment/early Sync/0/Secret/mid Sync/5/ConfigMap/late", NULL);
	json_decref(d);
}
END_TEST

/* argocd-example-apps/sync-waves/manifests.yaml */
START_TEST(sync_waves_example_app_order)
{
	json_t *d = json_array();
	json_array_append_new(d, obj("batch/v1", "Job", "~upgrade-sql-schema", NULL, "argocd.argoproj.io/hook=PreSync"));
	json_array_append_new(d, obj("apps/v1", "ReplicaSet", "backend", NULL, NULL));
	json_array_append_new(d, obj("v1", "Service", "backend", NULL, NULL));
	json_array_append_new(d, obj("batch/v1", "Job", "maint-page-up", NULL,
				     "argocd.argoproj.io/hook=Sync;argocd.argoproj.io/hook-delete-policy="
				     "BeforeHookCreation;argocd.argoproj.io/sync-wave=1"));
	json_array_append_new(d, obj("apps/v1", "ReplicaSet", "frontend", NULL, "argocd.argoproj.io/sync-wave=2"));
	json_array_append_new(d, obj("v1", "Service", "frontend", NULL, "argocd.argoproj.io/sync-wave=2"));
	json_array_append_new(d, obj("batch/v1", "Job", "maint-page-down", NULL,
				     "argocd.argoproj.io/hook=Sync;argocd.argoproj.io/hook-delete-policy="
				     "BeforeHookCreation;argocd.argoproj.io/sync-wave=3"));
	assert_plan(d, NULL, NULL,
		    "PreSync/0/Job/* Sync/0/Service/backend Sync/0/ReplicaSet/backend Sync/1/Job/maint-page-up* "
		    "Sync/2/Service/frontend Sync/2/ReplicaSet/frontend Sync/3/Job/maint-page-down*",
		    "");
	json_decref(d);
}
END_TEST

/* argocd-example-apps/pre-post-sync (kustomize-guestbook + two hook Jobs, namePrefix pre-post-sync-) */
START_TEST(pre_post_sync_example_app_order)
{
	json_t *d = json_array();
	json_array_append_new(d, obj("v1", "Service", "pre-post-sync-guestbook-ui", NULL, NULL));
	json_array_append_new(d, obj("apps/v1", "Deployment", "pre-post-sync-guestbook-ui", NULL, NULL));
	json_array_append_new(d, obj("batch/v1", "Job", "pre-post-sync-after", NULL,
				     "argocd.argoproj.io/hook=PostSync;argocd.argoproj.io/hook-delete-policy=HookSucceeded"));
	json_array_append_new(d, obj("batch/v1", "Job", "pre-post-sync-before", NULL,
				     "argocd.argoproj.io/hook=PreSync;argocd.argoproj.io/hook-delete-policy=HookSucceeded"));
	struct syncplan p;
	ck_assert_int_eq(syncplan_build(d, NULL, NULL, &p), 0);
	char *got = render(p.tasks, p.n);
	ck_assert_str_eq(got, "PreSync/0/Job/pre-post-sync-before* Sync/0/Service/pre-post-sync-guestbook-ui "
			      "Sync/0/Deployment/pre-post-sync-guestbook-ui PostSync/0/Job/pre-post-sync-after*");
	ck_assert_uint_eq(p.tasks[0].delete_policies, ANNOT_DELETE_HOOK_SUCCEEDED);
	ck_assert_uint_eq(p.tasks[1].delete_policies, 0);
	free(got);
	syncplan_release(&p);
	json_decref(d);
}
END_TEST

/* argocd-example-apps/helm-hooks/manifests.yaml */
START_TEST(helm_hooks_example_app_order)
{
	json_t *d = json_array();
	json_array_append_new(d, obj("batch/v1", "Job", "~upgrade-sql-schema", NULL,
				     "helm.sh/hook=pre-install;helm.sh/hook-weight=-2"));
	json_array_append_new(d, obj("batch/v1", "Job", "maint-page-up", NULL,
				     "helm.sh/hook=pre-install;helm.sh/hook-delete-policy=before-hook-creation;"
				     "helm.sh/hook-weight=-1"));
	json_array_append_new(d, obj("apps/v1", "ReplicaSet", "frontend", NULL, NULL));
	json_array_append_new(d, obj("v1", "Service", "frontend", NULL, "helm.sh/hook-weight=2"));
	json_array_append_new(d, obj("batch/v1", "Job", "maint-page-down", NULL,
				     "helm.sh/hook=post-install;helm.sh/hook-delete-policy=before-hook-creation"));
	assert_plan(d, NULL, NULL,
		    "PreSync/-2/Job/* PreSync/-1/Job/maint-page-up* Sync/0/ReplicaSet/frontend "
		    "Sync/2/Service/frontend PostSync/0/Job/maint-page-down*",
		    NULL);
	json_decref(d);
}
END_TEST

START_TEST(hook_with_several_phases_gets_a_task_per_phase)
{
	json_t *d = json_array();
	json_array_append_new(d, obj("batch/v1", "Job", "check", NULL, "argocd.argoproj.io/hook=PreSync,PostSync"));
	assert_plan(d, NULL, NULL, "PreSync/0/Job/check* PostSync/0/Job/check*", NULL);
	json_decref(d);
}
END_TEST

START_TEST(syncfail_hooks_are_kept_apart)
{
	json_t *d = json_array();
	json_array_append_new(d, obj("batch/v1", "Job", "notify-b", NULL, "argocd.argoproj.io/hook=SyncFail"));
	json_array_append_new(d, obj("batch/v1", "Job", "notify-a", NULL, "argocd.argoproj.io/hook=SyncFail"));
	json_array_append_new(d, obj("v1", "ConfigMap", "c", NULL, NULL));
	assert_plan(d, NULL, NULL, "Sync/0/ConfigMap/c", "SyncFail/0/Job/notify-a* SyncFail/0/Job/notify-b*");
	json_decref(d);
}
END_TEST

START_TEST(skip_and_phaseless_hooks_are_dropped_and_counted)
{
	json_t *d = json_array();
	struct syncplan p;
	json_array_append_new(d, obj("v1", "ConfigMap", "skipped", NULL, "argocd.argoproj.io/hook=Skip"));
	json_array_append_new(d, obj("v1", "Pod", "helm-test", NULL, "helm.sh/hook=test-success"));
	json_array_append_new(d, obj("batch/v1", "Job", "cleanup", NULL, "argocd.argoproj.io/hook=PostDelete"));
	json_array_append_new(d, obj("v1", "ConfigMap", "kept", NULL, NULL));
	ck_assert_int_eq(syncplan_build(d, NULL, NULL, &p), 0);
	ck_assert_uint_eq(p.n, 1);
	ck_assert_str_eq(p.tasks[0].name, "kept");
	ck_assert_uint_eq(p.n_skipped, 3);
	syncplan_release(&p);
	json_decref(d);
}
END_TEST

START_TEST(namespace_moves_before_first_resource_in_it)
{
	json_t *d = json_array();
	/* the Namespace is in a later wave than the resources inside it */
	json_array_append_new(d, obj("v1", "ConfigMap", "cfg", "shop", "argocd.argoproj.io/sync-wave=-1"));
	json_array_append_new(d, obj("v1", "Namespace", "shop", NULL, "argocd.argoproj.io/sync-wave=3"));
	json_array_append_new(d, obj("v1", "Namespace", "other", NULL, NULL));
	assert_plan(d, NULL, NULL, "Sync/-1/Namespace/shop Sync/-1/ConfigMap/cfg Sync/0/Namespace/other", NULL);
	json_decref(d);
}
END_TEST

START_TEST(namespace_used_by_a_presync_hook_moves_into_presync)
{
	json_t *d = json_array();
	json_array_append_new(d, obj("batch/v1", "Job", "migrate", "shop", "argocd.argoproj.io/hook=PreSync"));
	json_array_append_new(d, obj("v1", "Namespace", "shop", NULL, NULL));
	assert_plan(d, NULL, NULL, "PreSync/0/Namespace/shop PreSync/0/Job/migrate*", NULL);
	json_decref(d);
}
END_TEST

START_TEST(crd_moves_before_its_custom_resources)
{
	json_t *d = json_array();
	json_t *crd = obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com", NULL,
			  "argocd.argoproj.io/sync-wave=2");
	json_object_set_new(crd, "spec", json_pack("{s:s,s:{s:s}}", "group", "example.com", "names", "kind", "Widget"));
	json_array_append_new(d, obj("example.com/v1", "Widget", "w", "shop", "argocd.argoproj.io/sync-wave=1"));
	json_array_append_new(d, crd);
	json_array_append_new(d, obj("example.com/v1", "Gadget", "g", "shop", NULL));
	assert_plan(d, NULL, NULL,
		    "Sync/0/Gadget/g Sync/1/CustomResourceDefinition/widgets.example.com Sync/1/Widget/w", NULL);
	json_decref(d);
}
END_TEST

START_TEST(prune_waves_are_mirrored)
{
	json_t *d = json_array(), *live = json_array();
	json_array_append_new(d, obj("v1", "ConfigMap", "keep", NULL, "argocd.argoproj.io/sync-wave=1"));
	json_array_append_new(live, obj("v1", "ConfigMap", "w0", NULL, NULL));
	json_array_append_new(live, obj("v1", "ConfigMap", "w1", NULL, "argocd.argoproj.io/sync-wave=1"));
	json_array_append_new(live, obj("v1", "ConfigMap", "w5", NULL, "argocd.argoproj.io/sync-wave=5"));
	/* waves {0,1,5}: 0<->5, 1 stays: created last, pruned first */
	assert_plan(d, live, NULL,
		    "Sync/0/ConfigMap/w5!prune Sync/1/ConfigMap/keep Sync/1/ConfigMap/w1!prune "
		    "Sync/5/ConfigMap/w0!prune",
		    NULL);
	json_decref(d);
	json_decref(live);
}
END_TEST

START_TEST(prune_last_moves_prunes_after_every_sync_wave)
{
	json_t *d = json_array(), *live = json_array();
	struct syncplan_options opts = {.prune_last = true};
	json_array_append_new(d, obj("v1", "ConfigMap", "keep", NULL, "argocd.argoproj.io/sync-wave=4"));
	json_array_append_new(live, obj("v1", "ConfigMap", "old", NULL, NULL));
	assert_plan(d, live, &opts, "Sync/4/ConfigMap/keep Sync/5/ConfigMap/old!prune", NULL);
	json_decref(live);
	/* the per-object option does the same for that object only */
	live = json_array();
	json_array_append_new(live, obj("v1", "ConfigMap", "last", NULL, "argocd.argoproj.io/sync-options=PruneLast=true"));
	json_array_append_new(live, obj("v1", "ConfigMap", "now", NULL, NULL));
	assert_plan(d, live, NULL, "Sync/0/ConfigMap/now!prune Sync/4/ConfigMap/keep Sync/5/ConfigMap/last!prune",
		    NULL);
	json_decref(d);
	json_decref(live);
}
END_TEST

START_TEST(prune_false_objects_are_not_pruned)
{
	json_t *d = json_array(), *live = json_array();
	struct syncplan p;
	json_array_append_new(live, obj("v1", "ConfigMap", "precious", NULL, "argocd.argoproj.io/sync-options=Prune=false"));
	json_array_append_new(live, obj("v1", "ConfigMap", "gone", NULL, NULL));
	ck_assert_int_eq(syncplan_build(d, live, NULL, &p), 0);
	ck_assert_uint_eq(p.n, 1);
	ck_assert_str_eq(p.tasks[0].name, "gone");
	ck_assert(p.tasks[0].prune);
	ck_assert_uint_eq(p.n_prune_disabled, 1);
	syncplan_release(&p);
	json_decref(d);
	json_decref(live);
}
END_TEST

START_TEST(steps_group_tasks_of_one_phase_and_wave)
{
	json_t *d = json_array();
	struct syncplan p;
	json_array_append_new(d, obj("v1", "ConfigMap", "a", NULL, NULL));
	json_array_append_new(d, obj("v1", "Secret", "b", NULL, NULL));
	json_array_append_new(d, obj("v1", "ConfigMap", "c", NULL, "argocd.argoproj.io/sync-wave=1"));
	json_array_append_new(d, obj("batch/v1", "Job", "d", NULL, "argocd.argoproj.io/hook=PostSync"));
	ck_assert_int_eq(syncplan_build(d, NULL, NULL, &p), 0);
	ck_assert_uint_eq(syncplan_step(&p, 0), 2);
	ck_assert_uint_eq(syncplan_step(&p, 2), 3);
	ck_assert_uint_eq(syncplan_step(&p, 3), 4);
	ck_assert_uint_eq(syncplan_step(&p, 4), 4);
	syncplan_release(&p);
	json_decref(d);
}
END_TEST

START_TEST(invalid_wave_fails_naming_the_object)
{
	json_t *d = json_array();
	struct syncplan p = {.n = 77};
	json_array_append_new(d, obj("v1", "ConfigMap", "ok", NULL, NULL));
	json_array_append_new(d, obj("v1", "ConfigMap", "broken", NULL, "argocd.argoproj.io/sync-wave=soon"));
	ck_assert_int_eq(syncplan_build(d, NULL, NULL, &p), BERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err_msg(), "ConfigMap/broken"));
	ck_assert_uint_eq(p.n, 77);
	json_decref(d);
}
END_TEST

START_TEST(bad_input_is_rejected)
{
	struct syncplan p;
	json_t *d = json_pack("[{s:s}]", "apiVersion", "v1");
	ck_assert_int_eq(syncplan_build(d, NULL, NULL, &p), BERR_INVALID);
	json_decref(d);
	d = json_object();
	ck_assert_int_eq(syncplan_build(d, NULL, NULL, &p), BERR_INVALID);
	json_decref(d);
}
END_TEST

START_TEST(empty_app_gives_empty_plan)
{
	json_t *d = json_array();
	assert_plan(d, NULL, NULL, "", "");
	json_decref(d);
}
END_TEST


/* ---- the example apps, read from the fixture folder ------------------- */

/* Appends the documents of fixtures/argocd-example-apps/<rel> to arr. */
static void load_example(json_t *arr, const char *rel)
{
	const char *top = getenv("BERTH_TOP");
	char path[4096];
	FILE *f;
	char *data;
	long n;
	json_t *docs = NULL;

	snprintf(path, sizeof(path), "%s/../shared/fixtures/argocd-example-apps/%s", top ? top : ".", rel);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	ck_assert_msg(kyaml_load_stream(data, (size_t)n, NULL, &docs) == 0, "%s: %s", path, err_msg());
	json_array_extend(arr, docs);
	json_decref(docs);
	free(data);
}

START_TEST(sync_waves_fixture_plan)
{
	json_t *d = json_array();
	load_example(d, "sync-waves/manifests.yaml");
	assert_plan(d, NULL, NULL,
		    "PreSync/0/Job/* Sync/0/Service/backend Sync/0/ReplicaSet/backend Sync/1/Job/maint-page-up* "
		    "Sync/2/Service/frontend Sync/2/ReplicaSet/frontend Sync/3/Job/maint-page-down*",
		    "");
	json_decref(d);
}
END_TEST

START_TEST(helm_hooks_fixture_plan)
{
	json_t *d = json_array();
	load_example(d, "helm-hooks/manifests.yaml");
	assert_plan(d, NULL, NULL,
		    "PreSync/-2/Job/* PreSync/-1/Job/maint-page-up* Sync/0/ReplicaSet/frontend "
		    "Sync/2/Service/frontend PostSync/0/Job/maint-page-down*",
		    "");
	json_decref(d);
}
END_TEST

START_TEST(pre_post_sync_fixture_plan)
{
	/* kustomize-guestbook's objects as written (the namePrefix that
	 * rendering adds does not change the order) plus the two hooks */
	json_t *d = json_array();
	load_example(d, "kustomize-guestbook/guestbook-ui-deployment.yaml");
	load_example(d, "kustomize-guestbook/guestbook-ui-svc.yaml");
	load_example(d, "pre-post-sync/pre-sync-job.yaml");
	load_example(d, "pre-post-sync/post-sync-job.yaml");
	assert_plan(d, NULL, NULL,
		    "PreSync/0/Job/before* Sync/0/Service/guestbook-ui Sync/0/Deployment/guestbook-ui "
		    "PostSync/0/Job/after*",
		    "");
	json_decref(d);
}
END_TEST

START_TEST(plan_does_not_depend_on_input_order)
{
	json_t *d = json_array();
	char *want = NULL;
	unsigned seed = 12345;

	load_example(d, "sync-waves/manifests.yaml");
	load_example(d, "helm-hooks/manifests.yaml");
	json_array_append_new(d, obj("v1", "Namespace", "shop", NULL, NULL));
	json_array_append_new(d, obj("v1", "ConfigMap", "cfg", "shop", "argocd.argoproj.io/sync-wave=-3"));
	json_array_append_new(d, obj("example.com/v1", "Widget", "w", "shop", NULL));
	for (int round = 0; round < 50; round++) {
		struct syncplan p;
		json_t *shuffled = json_array();
		size_t n = json_array_size(d);
		size_t *idx = malloc(n * sizeof(*idx));
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = (size_t)rand_r(&seed) % (i + 1), t = idx[i];
			idx[i] = idx[j];
			idx[j] = t;
		}
		for (size_t i = 0; i < n; i++)
			json_array_append(shuffled, json_array_get(d, idx[i]));
		ck_assert_int_eq(syncplan_build(shuffled, NULL, NULL, &p), 0);
		char *got = render(p.tasks, p.n);
		if (!want)
			want = got;
		else {
			ck_assert_str_eq(got, want);
			free(got);
		}
		syncplan_release(&p);
		json_decref(shuffled);
		free(idx);
	}
	free(want);
	json_decref(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("syncplan");
	TCase *tc = tcase_create("syncplan");
	tcase_add_test(tc, kind_order_matches_argo_and_puts_other_kinds_last);
	tcase_add_test(tc, plain_resources_sort_by_kind_then_name);
	tcase_add_test(tc, waves_come_before_kinds);
	tcase_add_test(tc, sync_waves_example_app_order);
	tcase_add_test(tc, pre_post_sync_example_app_order);
	tcase_add_test(tc, helm_hooks_example_app_order);
	tcase_add_test(tc, hook_with_several_phases_gets_a_task_per_phase);
	tcase_add_test(tc, syncfail_hooks_are_kept_apart);
	tcase_add_test(tc, skip_and_phaseless_hooks_are_dropped_and_counted);
	tcase_add_test(tc, namespace_moves_before_first_resource_in_it);
	tcase_add_test(tc, namespace_used_by_a_presync_hook_moves_into_presync);
	tcase_add_test(tc, crd_moves_before_its_custom_resources);
	tcase_add_test(tc, prune_waves_are_mirrored);
	tcase_add_test(tc, prune_last_moves_prunes_after_every_sync_wave);
	tcase_add_test(tc, prune_false_objects_are_not_pruned);
	tcase_add_test(tc, steps_group_tasks_of_one_phase_and_wave);
	tcase_add_test(tc, invalid_wave_fails_naming_the_object);
	tcase_add_test(tc, bad_input_is_rejected);
	tcase_add_test(tc, empty_app_gives_empty_plan);
	tcase_add_test(tc, sync_waves_fixture_plan);
	tcase_add_test(tc, helm_hooks_fixture_plan);
	tcase_add_test(tc, pre_post_sync_fixture_plan);
	tcase_add_test(tc, plan_does_not_depend_on_input_order);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
