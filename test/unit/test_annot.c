/* Unit tests for lib/annot: hook, wave, option and tracking-id annotations. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "annot.h"
#include "err.h"
#include "jsonx.h"

static json_t *obj_with(const char *annotations_json)
{
	char text[4096];
	json_t *o = NULL;
	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"migrate\","
		 "\"namespace\":\"shop\",\"annotations\":%s}}",
		 annotations_json);
	ck_assert_int_eq(jx_parse(text, strlen(text), JX_MAX_BYTES, JX_MAX_DEPTH, &o), 0);
	return o;
}

static struct annot parse_ok(const char *annotations_json)
{
	struct annot a;
	json_t *o = obj_with(annotations_json);
	int rc = annot_parse(o, &a);
	ck_assert_msg(rc == 0, "annot_parse: %s", err_msg());
	json_decref(o);
	return a;
}

START_TEST(object_without_annotations_has_defaults)
{
	struct annot a;
	json_t *o = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
			      "name", "x");
	ck_assert_int_eq(annot_parse(o, &a), 0);
	ck_assert_uint_eq(a.hooks, 0);
	ck_assert(!a.is_hook);
	ck_assert(!a.skip);
	ck_assert_int_eq(a.wave, 0);
	ck_assert(!a.wave_set);
	ck_assert_uint_eq(a.delete_policies, ANNOT_DELETE_BEFORE_HOOK_CREATION);
	ck_assert_uint_eq(a.sync_options, 0);
	ck_assert_ptr_null(a.tracking_id);
	annot_release(&a);
	json_decref(o);
}
END_TEST

START_TEST(hook_comma_list_is_read_under_both_prefixes)
{
	struct annot a = parse_ok("{\"argocd.argoproj.io/hook\":\" PreSync , PostSync,\"}");
	ck_assert_uint_eq(a.hooks, ANNOT_HOOK_PRESYNC | ANNOT_HOOK_POSTSYNC);
	ck_assert(a.is_hook);
	ck_assert_uint_eq(a.n_unknown, 0);
	annot_release(&a);
	a = parse_ok("{\"berth.dev/hook\":\"SyncFail\"}");
	ck_assert_uint_eq(a.hooks, ANNOT_HOOK_SYNCFAIL);
	annot_release(&a);
}
END_TEST

START_TEST(berth_prefix_wins_over_argo_prefix)
{
	struct annot a = parse_ok("{\"argocd.argoproj.io/sync-wave\":\"5\",\"berth.dev/sync-wave\":\"-2\"}");
	ck_assert_int_eq(a.wave, -2);
	annot_release(&a);
}
END_TEST

START_TEST(skip_alone_is_not_a_hook_but_skipped)
{
	struct annot a = parse_ok("{\"argocd.argoproj.io/hook\":\"Skip\"}");
	ck_assert(a.skip);
	ck_assert(!a.is_hook);
	annot_release(&a);
	a = parse_ok("{\"argocd.argoproj.io/hook\":\"Skip,PreSync\"}");
	ck_assert(!a.skip);
	ck_assert(a.is_hook);
	annot_release(&a);
}
END_TEST

START_TEST(unknown_hook_type_is_collected_not_fatal)
{
	struct annot a = parse_ok("{\"argocd.argoproj.io/hook\":\"PreSync,Frobnicate\"}");
	ck_assert_uint_eq(a.hooks, ANNOT_HOOK_PRESYNC);
	ck_assert_uint_eq(a.n_unknown, 1);
	ck_assert_str_eq(a.unknown[0], "hook=Frobnicate");
	annot_release(&a);
}
END_TEST

START_TEST(helm_hooks_map_to_phases_and_weight_to_wave)
{
	struct annot a = parse_ok("{\"helm.sh/hook\":\"pre-install,pre-upgrade\",\"helm.sh/hook-weight\":\"-5\","
				  "\"helm.sh/hook-delete-policy\":\"hook-succeeded\"}");
	ck_assert_uint_eq(a.hooks, ANNOT_HOOK_PRESYNC);
	ck_assert(a.is_hook);
	ck_assert(a.helm_hook);
	ck_assert_int_eq(a.wave, -5);
	ck_assert_uint_eq(a.delete_policies, ANNOT_DELETE_HOOK_SUCCEEDED);
	annot_release(&a);
	a = parse_ok("{\"helm.sh/hook\":\"post-install\"}");
	ck_assert_uint_eq(a.hooks, ANNOT_HOOK_POSTSYNC);
	annot_release(&a);
}
END_TEST

START_TEST(helm_hook_is_ignored_when_argo_hook_present)
{
	struct annot a = parse_ok("{\"helm.sh/hook\":\"post-install\",\"argocd.argoproj.io/hook\":\"PreSync\"}");
	ck_assert_uint_eq(a.hooks, ANNOT_HOOK_PRESYNC);
	ck_assert(!a.helm_hook);
	annot_release(&a);
}
END_TEST

START_TEST(helm_types_apply_when_argo_hook_names_no_known_type)
{
	struct annot a = parse_ok("{\"helm.sh/hook\":\"post-install\",\"argocd.argoproj.io/hook\":\"Later\"}");
	ck_assert_uint_eq(a.hooks, ANNOT_HOOK_POSTSYNC);
	ck_assert(a.is_hook);
	ck_assert(a.helm_hook);
	annot_release(&a);
	a = parse_ok("{\"helm.sh/hook\":\"crd-install,post-install\"}");
	ck_assert_uint_eq(a.hooks, ANNOT_HOOK_POSTSYNC);
	annot_release(&a);
}
END_TEST

START_TEST(helm_crd_install_alone_is_not_a_hook)
{
	struct annot a = parse_ok("{\"helm.sh/hook\":\"crd-install\"}");
	ck_assert(!a.is_hook);
	ck_assert_uint_eq(a.hooks, 0);
	annot_release(&a);
}
END_TEST

START_TEST(helm_test_and_delete_hooks_are_hooks_without_a_sync_phase)
{
	struct annot a = parse_ok("{\"helm.sh/hook\":\"test-success\"}");
	ck_assert(a.is_hook);
	ck_assert_uint_eq(a.hooks, 0);
	annot_release(&a);
	a = parse_ok("{\"helm.sh/hook\":\"pre-delete\"}");
	ck_assert(a.is_hook);
	ck_assert_uint_eq(a.hooks, 0);
	annot_release(&a);
}
END_TEST

START_TEST(sync_wave_wins_over_helm_weight)
{
	struct annot a = parse_ok("{\"helm.sh/hook-weight\":\"3\",\"argocd.argoproj.io/sync-wave\":\"7\"}");
	ck_assert_int_eq(a.wave, 7);
	annot_release(&a);
}
END_TEST

START_TEST(invalid_sync_wave_is_an_error_naming_the_object)
{
	struct annot a = {.wave = 42};
	json_t *o = obj_with("{\"argocd.argoproj.io/sync-wave\":\"one\"}");
	ck_assert_int_eq(annot_parse(o, &a), BERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err_msg(), "Job/migrate"));
	ck_assert_ptr_nonnull(strstr(err_msg(), "\"one\""));
	ck_assert_int_eq(a.wave, 42);
	json_decref(o);
	o = obj_with("{\"berth.dev/sync-wave\":\"1.5\"}");
	ck_assert_int_eq(annot_parse(o, &a), BERR_INVALID);
	json_decref(o);
}
END_TEST

START_TEST(invalid_helm_weight_counts_as_zero_like_helm)
{
	struct annot a = parse_ok("{\"helm.sh/hook\":\"pre-install\",\"helm.sh/hook-weight\":\"x\"}");
	ck_assert_int_eq(a.wave, 0);
	annot_release(&a);
}
END_TEST

START_TEST(delete_policies_of_both_vocabularies_add_up)
{
	struct annot a = parse_ok("{\"argocd.argoproj.io/hook-delete-policy\":\"HookFailed\","
				  "\"helm.sh/hook-delete-policy\":\"before-hook-creation\"}");
	ck_assert_uint_eq(a.delete_policies, ANNOT_DELETE_HOOK_FAILED | ANNOT_DELETE_BEFORE_HOOK_CREATION);
	annot_release(&a);
}
END_TEST

START_TEST(sync_options_become_bits_and_unknowns_are_kept)
{
	struct annot a = parse_ok("{\"argocd.argoproj.io/sync-options\":\"Prune=false,Replace=true, "
				  "ServerSideApply=true,Validate=false,PruneLast=true,"
				  "SkipDryRunOnMissingResource=true,Delete=false,Bogus=1\"}");
	ck_assert_uint_eq(a.sync_options, ANNOT_SYNC_PRUNE_FALSE | ANNOT_SYNC_REPLACE |
						  ANNOT_SYNC_SERVER_SIDE_APPLY | ANNOT_SYNC_VALIDATE_FALSE |
						  ANNOT_SYNC_PRUNE_LAST | ANNOT_SYNC_SKIP_DRY_RUN_ON_MISSING |
						  ANNOT_SYNC_DELETE_FALSE);
	ck_assert_uint_eq(a.n_unknown, 1);
	ck_assert_str_eq(a.unknown[0], "sync-options=Bogus=1");
	annot_release(&a);
}
END_TEST

START_TEST(sync_options_array_from_application_spec)
{
	unsigned bits = 0;
	char **unknown = NULL;
	size_t n = 0;
	json_t *arr = json_pack("[s,s,s]", "CreateNamespace=true", "ApplyOutOfSyncOnly=true", "Nope=true");
	ck_assert_int_eq(annot_sync_options_array(arr, &bits, &unknown, &n), 0);
	ck_assert_uint_eq(bits, ANNOT_SYNC_CREATE_NAMESPACE | ANNOT_SYNC_APPLY_OUT_OF_SYNC_ONLY);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(unknown[0], "Nope=true");
	free(unknown[0]);
	free(unknown);
	json_decref(arr);
	ck_assert(annot_sync_option_add(" Prune=true ", &bits));
	ck_assert(!annot_sync_option_add("Prune=maybe", &bits));
}
END_TEST

START_TEST(compare_options_ignore_extraneous)
{
	struct annot a = parse_ok("{\"argocd.argoproj.io/compare-options\":\"IgnoreExtraneous\"}");
	ck_assert_uint_eq(a.compare_options, ANNOT_COMPARE_IGNORE_EXTRANEOUS);
	annot_release(&a);
}
END_TEST

START_TEST(refresh_annotation_normal_and_hard)
{
	struct annot a = parse_ok("{\"berth.dev/refresh\":\"hard\"}");
	ck_assert_int_eq(a.refresh, ANNOT_REFRESH_HARD);
	annot_release(&a);
	a = parse_ok("{\"berth.dev/refresh\":\"normal\"}");
	ck_assert_int_eq(a.refresh, ANNOT_REFRESH_NORMAL);
	annot_release(&a);
	a = parse_ok("{\"berth.dev/refresh\":\"soft\"}");
	ck_assert_int_eq(a.refresh, ANNOT_REFRESH_NONE);
	ck_assert_uint_eq(a.n_unknown, 1);
	annot_release(&a);
}
END_TEST

START_TEST(non_string_annotation_is_rejected)
{
	struct annot a;
	json_t *o = obj_with("{\"argocd.argoproj.io/sync-wave\":1}");
	ck_assert_int_eq(annot_parse(o, &a), BERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err_msg(), "Job/migrate"));
	json_decref(o);
}
END_TEST

START_TEST(tracking_id_builds_and_parses_back)
{
	struct buf b;
	struct annot_tracking t;
	buf_init(&b, 1024);
	ck_assert_int_eq(annot_tracking_id_build(&b, "shop", "apps", "Deployment", "prod", "web"), 0);
	ck_assert_str_eq(b.ptr, "shop:apps/Deployment:prod/web");
	ck_assert_int_eq(annot_tracking_parse(b.ptr, &t), 0);
	ck_assert_str_eq(t.app, "shop");
	ck_assert_str_eq(t.group, "apps");
	ck_assert_str_eq(t.kind, "Deployment");
	ck_assert_str_eq(t.ns, "prod");
	ck_assert_str_eq(t.name, "web");
	annot_tracking_release(&t);
	buf_release(&b);
}
END_TEST

START_TEST(tracking_id_of_an_object)
{
	struct buf b;
	json_t *o = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "rbac.authorization.k8s.io/v1", "kind", "ClusterRole",
			      "metadata", "name", "reader");
	buf_init(&b, 1024);
	ck_assert_int_eq(annot_tracking_id_of(&b, "shop", o), 0);
	ck_assert_str_eq(b.ptr, "shop:rbac.authorization.k8s.io/ClusterRole:/reader");
	json_object_del(json_object_get(o, "metadata"), "name");
	ck_assert_int_eq(annot_tracking_id_of(&b, "shop", o), BERR_INVALID);
	buf_release(&b);
	json_decref(o);
}
END_TEST

START_TEST(tracking_id_core_group_and_cluster_scope_are_empty_parts)
{
	struct annot_tracking t;
	ck_assert_int_eq(annot_tracking_parse("shop:/Namespace:/prod", &t), 0);
	ck_assert_str_eq(t.group, "");
	ck_assert_str_eq(t.kind, "Namespace");
	ck_assert_str_eq(t.ns, "");
	ck_assert_str_eq(t.name, "prod");
	annot_tracking_release(&t);
}
END_TEST

START_TEST(malformed_tracking_ids_are_rejected)
{
	static const char *bad[] = {"", "shop", "shop:apps/Deployment", "shop:Deployment:prod/web",
				    ":apps/Deployment:prod/web", "shop:apps/:prod/web", "shop:apps/Deployment:prod/",
				    "shop:apps/Deployment:prod/web:x", "shop:a/b/Deployment:prod/web",
				    "shop:apps/Deployment:prod/web/x"};
	struct annot_tracking t;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(annot_tracking_parse(bad[i], &t) == BERR_INVALID, "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(tracking_id_matches_only_exactly)
{
	json_t *o = obj_with("{\"berth.dev/tracking-id\":\"shop:batch/Job:shop/migrate\"}");
	ck_assert(annot_tracking_matches(o, "shop"));
	ck_assert(!annot_tracking_matches(o, "sho"));
	ck_assert(!annot_tracking_matches(o, "shop2"));
	/* a copy of the object under another name does not belong to the app */
	json_object_set_new(json_object_get(o, "metadata"), "name", json_string("migrate-copy"));
	ck_assert(!annot_tracking_matches(o, "shop"));
	json_decref(o);
	o = obj_with("{}");
	ck_assert(!annot_tracking_matches(o, "shop"));
	json_decref(o);
}
END_TEST

START_TEST(api_group_of_core_and_named_groups)
{
	char g[64];
	json_t *o = json_pack("{s:s}", "apiVersion", "v1");
	ck_assert_str_eq(annot_api_group(o, g, sizeof(g)), "");
	json_object_set_new(o, "apiVersion", json_string("networking.k8s.io/v1"));
	ck_assert_str_eq(annot_api_group(o, g, sizeof(g)), "networking.k8s.io");
	json_decref(o);
}
END_TEST

START_TEST(names_of_hook_and_policy_bits)
{
	ck_assert_str_eq(annot_hook_name(ANNOT_HOOK_POSTSYNC), "PostSync");
	ck_assert_str_eq(annot_delete_policy_name(ANNOT_DELETE_HOOK_FAILED), "HookFailed");
	ck_assert_ptr_null(annot_hook_name(ANNOT_HOOK_PRESYNC | ANNOT_HOOK_SYNC));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("annot");
	TCase *tc = tcase_create("annot");
	tcase_add_test(tc, object_without_annotations_has_defaults);
	tcase_add_test(tc, hook_comma_list_is_read_under_both_prefixes);
	tcase_add_test(tc, berth_prefix_wins_over_argo_prefix);
	tcase_add_test(tc, skip_alone_is_not_a_hook_but_skipped);
	tcase_add_test(tc, unknown_hook_type_is_collected_not_fatal);
	tcase_add_test(tc, helm_hooks_map_to_phases_and_weight_to_wave);
	tcase_add_test(tc, helm_hook_is_ignored_when_argo_hook_present);
	tcase_add_test(tc, helm_types_apply_when_argo_hook_names_no_known_type);
	tcase_add_test(tc, helm_crd_install_alone_is_not_a_hook);
	tcase_add_test(tc, helm_test_and_delete_hooks_are_hooks_without_a_sync_phase);
	tcase_add_test(tc, sync_wave_wins_over_helm_weight);
	tcase_add_test(tc, invalid_sync_wave_is_an_error_naming_the_object);
	tcase_add_test(tc, invalid_helm_weight_counts_as_zero_like_helm);
	tcase_add_test(tc, delete_policies_of_both_vocabularies_add_up);
	tcase_add_test(tc, sync_options_become_bits_and_unknowns_are_kept);
	tcase_add_test(tc, sync_options_array_from_application_spec);
	tcase_add_test(tc, compare_options_ignore_extraneous);
	tcase_add_test(tc, refresh_annotation_normal_and_hard);
	tcase_add_test(tc, non_string_annotation_is_rejected);
	tcase_add_test(tc, tracking_id_builds_and_parses_back);
	tcase_add_test(tc, tracking_id_of_an_object);
	tcase_add_test(tc, tracking_id_core_group_and_cluster_scope_are_empty_parts);
	tcase_add_test(tc, malformed_tracking_ids_are_rejected);
	tcase_add_test(tc, tracking_id_matches_only_exactly);
	tcase_add_test(tc, api_group_of_core_and_named_groups);
	tcase_add_test(tc, names_of_hook_and_policy_bits);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
