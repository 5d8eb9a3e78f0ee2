/* Unit tests for lib/health: built-in rules per kind, ordering, custom rules,
 * and the data-driven suite over gitops-engine's health fixtures. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "health.h"
#include "jsonx.h"
#include "kyaml.h"
#include "str.h"

/* JSON written with single quotes for readability. */
static json_t *J(const char *text)
{
	char *t = strdup(text);
	json_t *v = NULL;
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	ck_assert_msg(jx_parse(t, strlen(t), JX_MAX_BYTES, JX_MAX_DEPTH, &v) == 0, "bad test JSON: %s", err_msg());
	free(t);
	return v;
}

/* Assesses and returns the status; fails the test when there is no health. */
static enum health_status assess(const char *text, struct health *h)
{
	json_t *o = J(text);
	int rc = health_assess(o, NULL, h);
	json_decref(o);
	ck_assert_msg(rc == 1, "no health (rc %d: %s)", rc, err_msg());
	return h->status;
}

START_TEST(worst_follows_argo_order)
{
	ck_assert_int_eq(health_worst(HEALTH_HEALTHY, HEALTH_SUSPENDED), HEALTH_SUSPENDED);
	ck_assert_int_eq(health_worst(HEALTH_PROGRESSING, HEALTH_SUSPENDED), HEALTH_PROGRESSING);
	ck_assert_int_eq(health_worst(HEALTH_PROGRESSING, HEALTH_MISSING), HEALTH_MISSING);
	ck_assert_int_eq(health_worst(HEALTH_DEGRADED, HEALTH_MISSING), HEALTH_DEGRADED);
	ck_assert_int_eq(health_worst(HEALTH_DEGRADED, HEALTH_UNKNOWN), HEALTH_UNKNOWN);
	ck_assert_int_eq(health_worst(HEALTH_HEALTHY, HEALTH_HEALTHY), HEALTH_HEALTHY);
}
END_TEST

START_TEST(status_names_round_trip)
{
	for (int s = HEALTH_HEALTHY; s <= HEALTH_UNKNOWN; s++) {
		enum health_status back;
		ck_assert_int_eq(health_status_parse(health_status_name(s), &back), 0);
		ck_assert_int_eq(back, s);
	}
	enum health_status x = HEALTH_MISSING;
	ck_assert_int_eq(health_status_parse("healthy", &x), BERR_INVALID);
	ck_assert_int_eq(x, HEALTH_MISSING);
}
END_TEST

START_TEST(unknown_kind_has_no_health)
{
	struct health h = {.status = HEALTH_MISSING};
	json_t *o = J("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'}}");
	ck_assert_int_eq(health_assess(o, NULL, &h), 0);
	ck_assert_int_eq(h.status, HEALTH_MISSING);
	json_decref(o);
	o = J("{'apiVersion':'example.com/v1','kind':'Widget','metadata':{'name':'w'}}");
	ck_assert_int_eq(health_assess(o, NULL, &h), 0);
	json_decref(o);
}
END_TEST

START_TEST(object_being_deleted_is_progressing_whatever_its_kind)
{
	struct health h;
	ck_assert_int_eq(assess("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c',"
				"'deletionTimestamp':'2024-01-01T00:00:00Z'}}",
				&h),
			 HEALTH_PROGRESSING);
	ck_assert_str_eq(h.message, "Pending deletion");
}
END_TEST

START_TEST(non_object_is_invalid)
{
	struct health h;
	json_t *o = J("[1,2]");
	ck_assert_int_eq(health_assess(o, NULL, &h), BERR_INVALID);
	json_decref(o);
	o = J("{'kind':'Pod'}");
	ck_assert_int_eq(health_assess(o, NULL, &h), BERR_INVALID);
	json_decref(o);
}
END_TEST

/* One object, the health it has and (when not NULL) the message. */
static const struct object_case {
	const char *what, *object;
	enum health_status status;
	const char *message;
} object_cases[] = {
	{"deployment paused is suspended",
	 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},"
	 "'spec':{'paused':true}}",
	 HEALTH_SUSPENDED, "Deployment is paused"},
	{"deployment progress deadline exceeded is degraded",
	 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','generation':2},"
	 "'spec':{'replicas':2},'status':{'observedGeneration':2,'conditions':[{'type':"
	 "'Progressing','status':'False','reason':'ProgressDeadlineExceeded'}]}}",
	 HEALTH_DEGRADED, "Deployment \"web\" exceeded its progress deadline"},
	{"replicaset failure condition is degraded",
	 "{'apiVersion':'apps/v1','kind':'ReplicaSet','metadata':{'name':'rs','generation':1},"
	 "'spec':{'replicas':2},'status':{'observedGeneration':1,'conditions':[{'type':'ReplicaFailure',"
	 "'status':'True','message':'quota exceeded'}]}}",
	 HEALTH_DEGRADED, "quota exceeded"},
	{"pod crashloop with restart always is degraded",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'restartPolicy':'Always'},"
	 "'status':{'phase':'Running','containerStatuses':[{'name':'a','state':{'waiting':{'reason':"
	 "'CrashLoopBackOff','message':'back-off 5m'}}},{'name':'b','state':{'waiting':{'reason':"
	 "'ErrImagePull','message':'no such image'}}}]}}",
	 HEALTH_DEGRADED, "back-off 5m, no such image"},
	{"pod image pull backoff in hook pod is not degraded",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'restartPolicy':'Never'},"
	 "'status':{'phase':'Pending','containerStatuses':[{'name':'a','state':{'waiting':{'reason':"
	 "'ImagePullBackOff'}}}]}}",
	 HEALTH_PROGRESSING, NULL},
	{"pod failed reports the container exit code",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'restartPolicy':'Never'},"
	 "'status':{'phase':'Failed','containerStatuses':[{'name':'main','state':{'terminated':"
	 "{'exitCode':3,'reason':'Error'}}}]}}",
	 HEALTH_DEGRADED, "container \"main\" failed with exit code 3"},
	{"pod not ready after a restart is degraded",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'restartPolicy':'Always'},"
	 "'status':{'phase':'Running','conditions':[{'type':'Ready','status':'False'}],"
	 "'containerStatuses':[{'name':'a','lastState':{'terminated':{'exitCode':1}}}]}}",
	 HEALTH_DEGRADED, NULL},
};

START_TEST(object_has_the_health_of_its_kind_rules)
{
	const struct object_case *c = &object_cases[_i];
	struct health h;
	assess(c->object, &h);
	ck_assert_msg(h.status == c->status, "%s: status %d, want %d", c->what, h.status, c->status);
	if (c->message)
		ck_assert_msg(!strcmp(h.message, c->message), "%s: message \"%s\"", c->what, h.message);
}
END_TEST

START_TEST(deployment_rollout_messages_match_argo)
{
	struct health h;
	assess("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','generation':1},"
	       "'spec':{'replicas':3},'status':{'observedGeneration':1,'updatedReplicas':1,'replicas':3}}",
	       &h);
	ck_assert_int_eq(h.status, HEALTH_PROGRESSING);
	ck_assert_str_eq(h.message, "Waiting for rollout to finish: 1 out of 3 new replicas have been updated...");
	assess("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','generation':1},"
	       "'spec':{'replicas':2},'status':{'observedGeneration':1,'updatedReplicas':2,'replicas':3}}",
	       &h);
	ck_assert_str_eq(h.message, "Waiting for rollout to finish: 1 old replicas are pending termination...");
	assess("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','generation':1},"
	       "'spec':{'replicas':2},'status':{'observedGeneration':1,'updatedReplicas':2,'replicas':2,"
	       "'availableReplicas':1}}",
	       &h);
	ck_assert_int_eq(h.status, HEALTH_PROGRESSING);
	ck_assert_str_eq(h.message, "Waiting for rollout to finish: 1 of 2 updated replicas are available...");
	assess("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','generation':2},"
	       "'spec':{'replicas':2},'status':{'observedGeneration':1}}",
	       &h);
	ck_assert_int_eq(h.status, HEALTH_PROGRESSING);
	ck_assert_ptr_nonnull(strstr(h.message, "observed deployment generation less"));
}
END_TEST

START_TEST(deployment_complete_is_healthy)
{
	struct health h;
	ck_assert_int_eq(assess("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','generation':1},"
				"'spec':{'replicas':2},'status':{'observedGeneration':1,'updatedReplicas':2,"
				"'replicas':2,'availableReplicas':2}}",
				&h),
			 HEALTH_HEALTHY);
}
END_TEST

START_TEST(field_of_wrong_type_gives_unknown_naming_the_field)
{
	struct health h;
	ck_assert_int_eq(assess("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web'},"
				"'spec':{'replicas':'3'}}",
				&h),
			 HEALTH_UNKNOWN);
	ck_assert_ptr_nonnull(strstr(h.message, "spec.replicas"));
	ck_assert_int_eq(assess("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'status':{'phase':7}}", &h),
			 HEALTH_UNKNOWN);
	ck_assert_ptr_nonnull(strstr(h.message, "status.phase"));
}
END_TEST

START_TEST(statefulset_waits_for_ready_pods)
{
	struct health h;
	assess("{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db','generation':1},"
	       "'spec':{'replicas':3},'status':{'observedGeneration':1,'readyReplicas':1}}",
	       &h);
	ck_assert_int_eq(h.status, HEALTH_PROGRESSING);
	ck_assert_str_eq(h.message, "Waiting for 2 pods to be ready...");
	assess("{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db','generation':1},"
	       "'spec':{'replicas':1},'status':{'readyReplicas':1}}",
	       &h);
	ck_assert_int_eq(h.status, HEALTH_PROGRESSING);
	ck_assert_str_eq(h.message, "Waiting for statefulset spec update to be observed...");
}
END_TEST

START_TEST(statefulset_partitioned_rollout)
{
	struct health h;
	assess("{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db','generation':1},"
	       "'spec':{'replicas':3,'updateStrategy':{'type':'RollingUpdate','rollingUpdate':{'partition':1}}},"
	       "'status':{'observedGeneration':1,'readyReplicas':3,'updatedReplicas':1}}",
	       &h);
	ck_assert_int_eq(h.status, HEALTH_PROGRESSING);
	ck_assert_str_eq(h.message,
			 "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...");
	assess("{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db','generation':1},"
	       "'spec':{'replicas':3,'updateStrategy':{'type':'RollingUpdate'}},"
	       "'status':{'observedGeneration':1,'readyReplicas':3,'updatedReplicas':1,"
	       "'updateRevision':'b','currentRevision':'a'}}",
	       &h);
	ck_assert_int_eq(h.status, HEALTH_PROGRESSING);
	ck_assert_ptr_nonnull(strstr(h.message, "revision b"));
}
END_TEST

START_TEST(daemonset_waits_for_updated_and_available_pods)
{
	struct health h;
	assess("{'apiVersion':'apps/v1','kind':'DaemonSet','metadata':{'name':'agent','generation':1},"
	       "'status':{'observedGeneration':1,'desiredNumberScheduled':3,'updatedNumberScheduled':3,"
	       "'numberAvailable':2}}",
	       &h);
	ck_assert_int_eq(h.status, HEALTH_PROGRESSING);
	ck_assert_str_eq(h.message, "Waiting for daemon set \"agent\" rollout to finish: 2 of 3 updated pods are available...");
	assess("{'apiVersion':'apps/v1','kind':'DaemonSet','metadata':{'name':'agent','generation':1},"
	       "'status':{'observedGeneration':1,'desiredNumberScheduled':3,'updatedNumberScheduled':3,"
	       "'numberAvailable':3}}",
	       &h);
	ck_assert_int_eq(h.status, HEALTH_HEALTHY);
}
END_TEST

START_TEST(pod_running_with_restart_never_is_progressing_unless_annotated)
{
	struct health h;
	const char *ready = "'status':{'phase':'Running','conditions':[{'type':'Ready','status':'True'}]}";
	char text[1024];
	snprintf(text, sizeof(text),
		 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'restartPolicy':'Never'},%s}", ready);
	ck_assert_int_eq(assess(text, &h), HEALTH_PROGRESSING);
	snprintf(text, sizeof(text),
		 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','annotations':{"
		 "'argocd.argoproj.io/ignore-restart-policy':'true'}},'spec':{'restartPolicy':'Never'},%s}",
		 ready);
	ck_assert_int_eq(assess(text, &h), HEALTH_HEALTHY);
	/* without restartPolicy the API server's default, Always, applies */
	snprintf(text, sizeof(text), "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},%s}", ready);
	ck_assert_int_eq(assess(text, &h), HEALTH_HEALTHY);
}
END_TEST

START_TEST(job_states)
{
	struct health h;
	ck_assert_int_eq(assess("{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},'status':{}}", &h),
			 HEALTH_PROGRESSING);
	ck_assert_int_eq(assess("{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},'status':{"
				"'conditions':[{'type':'Failed','status':'True','message':'BackoffLimitExceeded'}]}}",
				&h),
			 HEALTH_DEGRADED);
	ck_assert_str_eq(h.message, "BackoffLimitExceeded");
	ck_assert_int_eq(assess("{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},'status':{"
				"'conditions':[{'type':'Suspended','status':'True'}]}}",
				&h),
			 HEALTH_SUSPENDED);
	ck_assert_int_eq(assess("{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},'status':{"
				"'conditions':[{'type':'Complete','status':'True'}]}}",
				&h),
			 HEALTH_HEALTHY);
}
END_TEST

START_TEST(cronjob_states_follow_argo_bundled_check)
{
	struct health h;
	const char *head = "{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'c'},";
	char t[1024];
	snprintf(t, sizeof(t), "%s'spec':{'suspend':true},'status':{}}", head);
	ck_assert_int_eq(assess(t, &h), HEALTH_SUSPENDED);
	snprintf(t, sizeof(t), "%s'spec':{}}", head);
	ck_assert_int_eq(assess(t, &h), HEALTH_PROGRESSING);
	snprintf(t, sizeof(t), "%s'status':{}}", head);
	ck_assert_int_eq(assess(t, &h), HEALTH_HEALTHY);
	ck_assert_str_eq(h.message, "CronJob has not been scheduled yet");
	snprintf(t, sizeof(t),
		 "%s'status':{'lastScheduleTime':'2024-01-02T00:00:00Z','lastSuccessfulTime':'2024-01-01T00:00:00Z'}}",
		 head);
	ck_assert_int_eq(assess(t, &h), HEALTH_DEGRADED);
	snprintf(t, sizeof(t),
		 "%s'status':{'active':[{'name':'x'}],'lastScheduleTime':'2024-01-02T00:00:00Z',"
		 "'lastSuccessfulTime':'2024-01-01T00:00:00Z'}}",
		 head);
	ck_assert_int_eq(assess(t, &h), HEALTH_HEALTHY);
	snprintf(t, sizeof(t),
		 "%s'status':{'lastScheduleTime':'2024-01-02T00:00:00Z','lastSuccessfulTime':'2024-01-02T00:00:05Z'}}",
		 head);
	ck_assert_int_eq(assess(t, &h), HEALTH_HEALTHY);
	ck_assert_str_eq(h.message, "CronJob has completed its last execution successfully");
}
END_TEST

START_TEST(loadbalancer_service_without_ingress_is_progressing)
{
	struct health h;
	ck_assert_int_eq(assess("{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':"
				"'LoadBalancer'},'status':{'loadBalancer':{}}}",
				&h),
			 HEALTH_PROGRESSING);
	ck_assert_int_eq(assess("{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':"
				"'LoadBalancer'},'status':{'loadBalancer':{'ingress':[{'ip':'1.2.3.4'}]}}}",
				&h),
			 HEALTH_HEALTHY);
	ck_assert_int_eq(assess("{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':"
				"'ClusterIP'}}",
				&h),
			 HEALTH_HEALTHY);
}
END_TEST

START_TEST(pvc_phases)
{
	struct health h;
	ck_assert_int_eq(assess("{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'d'},"
				"'status':{'phase':'Lost'}}",
				&h),
			 HEALTH_DEGRADED);
	ck_assert_int_eq(assess("{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'d'}}", &h),
			 HEALTH_UNKNOWN);
}
END_TEST

START_TEST(crd_must_be_established)
{
	struct health h;
	ck_assert_int_eq(assess("{'apiVersion':'apiextensions.k8s.io/v1','kind':'CustomResourceDefinition',"
				"'metadata':{'name':'w'},'status':{'conditions':[{'type':'Established','status':"
				"'True'},{'type':'NamesAccepted','status':'True'}]}}",
				&h),
			 HEALTH_HEALTHY);
	ck_assert_int_eq(assess("{'apiVersion':'apiextensions.k8s.io/v1','kind':'CustomResourceDefinition',"
				"'metadata':{'name':'w'},'status':{'conditions':[{'type':'Established','status':"
				"'False','message':'not yet'}]}}",
				&h),
			 HEALTH_DEGRADED);
	ck_assert_str_eq(h.message, "CRD is not established: not yet");
	ck_assert_int_eq(assess("{'apiVersion':'apiextensions.k8s.io/v1','kind':'CustomResourceDefinition',"
				"'metadata':{'name':'w'}}",
				&h),
			 HEALTH_PROGRESSING);
}
END_TEST

START_TEST(hpa_v1_reads_conditions_annotation)
{
	struct health h;
	ck_assert_int_eq(assess("{'apiVersion':'autoscaling/v1','kind':'HorizontalPodAutoscaler','metadata':{"
				"'name':'h','annotations':{'autoscaling.alpha.kubernetes.io/conditions':"
				"'not json'}}}",
				&h),
			 HEALTH_UNKNOWN);
	ck_assert_int_eq(assess("{'apiVersion':'autoscaling/v1','kind':'HorizontalPodAutoscaler','metadata':{"
				"'name':'h'}}",
				&h),
			 HEALTH_PROGRESSING);
	ck_assert_str_eq(h.message, "Waiting to Autoscale");
}
END_TEST

START_TEST(application_reports_its_own_health)
{
	struct health h;
	ck_assert_int_eq(assess("{'apiVersion':'berth.dev/v1alpha1','kind':'Application','metadata':{'name':'a'},"
				"'status':{'health':{'status':'Degraded','message':'boom'}}}",
				&h),
			 HEALTH_DEGRADED);
	ck_assert_str_eq(h.message, "boom");
	ck_assert_int_eq(assess("{'apiVersion':'argoproj.io/v1alpha1','kind':'Application','metadata':{'name':'a'},"
				"'status':{'health':{'status':'Suspended'}}}",
				&h),
			 HEALTH_SUSPENDED);
	ck_assert_int_eq(assess("{'apiVersion':'argoproj.io/v1alpha1','kind':'Application','metadata':{'name':'a'}}",
				&h),
			 HEALTH_PROGRESSING);
}
END_TEST

/* ---- custom rules ---------------------------------------------------- */

static const char *cert_rules =
	"[{'status':'Degraded','when':{'condition':{'type':'Ready','status':'False','reason':'Failed'}}},"
	" {'status':'Healthy','when':{'condition':{'type':'Ready','status':'True'}},'message':'issued'},"
	" {'status':'Progressing','when':{'field':'.status.phase','in':['Pending','Issuing']}},"
	" {'status':'Suspended','when':{'field':'/spec/paused','equals':true}},"
	" {'status':'Unknown','message':'no idea'}]";

static struct health_rules *rules_with(const char *key, const char *text)
{
	struct health_rules *r = health_rules_new();
	json_t *spec = J(text);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(health_rules_add(r, key, spec) == 0, "%s", err_msg());
	json_decref(spec);
	return r;
}

static enum health_status assess_with(struct health_rules *r, const char *text, struct health *h)
{
	json_t *o = J(text);
	int rc = health_assess(o, r, h);
	json_decref(o);
	ck_assert_int_eq(rc, 1);
	return h->status;
}

START_TEST(custom_rules_first_match_wins)
{
	struct health_rules *r = rules_with("cert-manager.io_Certificate", cert_rules);
	struct health h;
	const char *head = "{'apiVersion':'cert-manager.io/v1','kind':'Certificate','metadata':{'name':'c'},";
	char t[1024];

	snprintf(t, sizeof(t), "%s'status':{'conditions':[{'type':'Ready','status':'False','reason':'Failed',"
			       "'message':'issuer said no'}]}}", head);
	ck_assert_int_eq(assess_with(r, t, &h), HEALTH_DEGRADED);
	ck_assert_str_eq(h.message, "issuer said no");
	snprintf(t, sizeof(t), "%s'status':{'conditions':[{'type':'Ready','status':'True'}]}}", head);
	ck_assert_int_eq(assess_with(r, t, &h), HEALTH_HEALTHY);
	ck_assert_str_eq(h.message, "issued");
	snprintf(t, sizeof(t), "%s'status':{'phase':'Issuing'}}", head);
	ck_assert_int_eq(assess_with(r, t, &h), HEALTH_PROGRESSING);
	snprintf(t, sizeof(t), "%s'spec':{'paused':true}}", head);
	ck_assert_int_eq(assess_with(r, t, &h), HEALTH_SUSPENDED);
	snprintf(t, sizeof(t), "%s'status':{'phase':'Other'}}", head);
	ck_assert_int_eq(assess_with(r, t, &h), HEALTH_UNKNOWN);
	ck_assert_str_eq(h.message, "no idea");
	health_rules_free(r);
}
END_TEST

START_TEST(custom_rules_override_builtin_and_fall_back_when_nothing_matches)
{
	struct health_rules *r = rules_with("Service", "[{'status':'Degraded','when':{'field':'.spec.type','equals':'NodePort'}}]");
	struct health h;
	ck_assert_int_eq(assess_with(r, "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':'NodePort'}}", &h),
			 HEALTH_DEGRADED);
	ck_assert_int_eq(assess_with(r, "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':'ClusterIP'}}", &h),
			 HEALTH_HEALTHY);
	health_rules_free(r);
}
END_TEST

START_TEST(custom_rules_key_may_use_globs)
{
	struct health_rules *r = rules_with("*.crossplane.io_*", "[{'status':'Healthy','when':{'field':'.status.atProvider','exists':true}},{'status':'Progressing'}]");
	struct health h;
	ck_assert_int_eq(assess_with(r, "{'apiVersion':'ec2.aws.crossplane.io/v1','kind':'VPC','metadata':{'name':'v'}}", &h),
			 HEALTH_PROGRESSING);
	ck_assert_int_eq(assess_with(r, "{'apiVersion':'ec2.aws.crossplane.io/v1','kind':'VPC','metadata':{'name':'v'},'status':{'atProvider':{}}}", &h),
			 HEALTH_HEALTHY);
	health_rules_free(r);
}
END_TEST

START_TEST(custom_rules_from_settings_text)
{
	struct health_rules *r = health_rules_new();
	json_t *data = json_pack("{s:s,s:s}", "url", "https://berth.example",
				 "resource.customizations.health.example.com_Widget",
				 "[{\"status\": \"Healthy\", \"message\": \"fine\"}]");
	struct health h;
	ck_assert_int_eq(health_rules_add_settings(r, data), 0);
	ck_assert_int_eq(assess_with(r, "{'apiVersion':'example.com/v1','kind':'Widget','metadata':{'name':'w'}}", &h),
			 HEALTH_HEALTHY);
	ck_assert_str_eq(h.message, "fine");
	json_decref(data);
	health_rules_free(r);
}
END_TEST

START_TEST(bad_custom_rules_are_rejected_with_clear_errors)
{
	static const struct {
		const char *key, *spec, *needle;
	} cases[] = {
		{"a_B", "[{'status':'Fine'}]", "rules[0].status"},
		{"a_B", "[{'when':{}}]", "rules[0].status"},
		{"a_B", "[{'status':'Healthy','when':{}}]", "needs a condition or a field"},
		{"a_B", "[{'status':'Healthy','when':{'field':'status.phase'}}]", "not a path"},
		{"a_B", "[{'status':'Healthy','when':{'condition':{'status':'True'}}}]", "type is required"},
		{"a_B", "[{'status':'Healthy','when':{'field':'.a','equals':1,'in':[1]}}]", "one of equals"},
		{"a_B", "[{'status':'Healthy','colour':'red'}]", "unknown key \"colour\""},
		{"a_B", "[]", "non-empty list"},
		{"a_B", "{'status':'Healthy'}", "non-empty list"},
		{"a_B_C", "[{'status':'Healthy'}]", "key is not"},
		{"_B", "[{'status':'Healthy'}]", "key is not"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct health_rules *r = health_rules_new();
		json_t *spec = J(cases[i].spec);
		int rc = health_rules_add(r, cases[i].key, spec);
		ck_assert_msg(rc == BERR_INVALID, "case %zu accepted", i);
		ck_assert_msg(strstr(err_msg(), cases[i].needle), "case %zu: \"%s\" lacks \"%s\"", i, err_msg(),
			      cases[i].needle);
		json_decref(spec);
		health_rules_free(r);
	}
}
END_TEST

START_TEST(custom_rules_key_given_twice_is_refused)
{
	struct health_rules *r = rules_with("a_B", "[{'status':'Healthy'}]");
	json_t *spec = J("[{'status':'Degraded'}]");
	ck_assert_int_eq(health_rules_add(r, "a_B", spec), BERR_EXISTS);
	json_decref(spec);
	health_rules_free(r);
}
END_TEST

START_TEST(custom_rules_text_that_is_not_parseable_names_the_key)
{
	struct health_rules *r = health_rules_new();
	ck_assert_int_lt(health_rules_add_text(r, "a_B", "[{", 2), 0);
	ck_assert_ptr_nonnull(strstr(err_msg(), "a_B"));
	health_rules_free(r);
}
END_TEST


/* ---- data-driven: gitops-engine's health fixtures --------------------- */

/* Files whose name does not say the state: what gitops-engine's
 * health_test.go asserts for them. "-" means no health (no rule for the
 * kind). Application fixtures: gitops-engine has no Application rule; Berth
 * has one (DESIGN.md §6), so their names decide. */
static const struct {
	const char *file, *status;
} expected_by_name[] = {
	{"apiservice-v1-true.yaml", "Healthy"},
	{"apiservice-v1-false.yaml", "Progressing"},
	{"apiservice-v1beta1-true.yaml", "Healthy"},
	{"apiservice-v1beta1-false.yaml", "Progressing"},
	{"daemonset-ondelete.yaml", "Healthy"},
	{"ingress.yaml", "Healthy"},
	{"ingress-nonemptylist.yaml", "Healthy"},
	{"ingress-unassigned.yaml", "Progressing"},
	{"job-failed.yaml", "Degraded"},
	{"job-running.yaml", "Progressing"},
	{"job-succeeded.yaml", "Healthy"},
	{"knative-service.yaml", "-"},
	{"pod-crashloop.yaml", "Degraded"},
	{"pod-deletion.yaml", "Progressing"},
	{"pod-error.yaml", "Degraded"},
	{"pod-failed.yaml", "Degraded"},
	{"pod-imagepullbackoff.yaml", "Degraded"},
	{"pod-pending.yaml", "Progressing"},
	{"pod-running-not-ready.yaml", "Progressing"},
	{"pod-running-restart-always.yaml", "Healthy"},
	{"pod-running-restart-never.yaml", "Progressing"},
	{"pod-running-restart-onfailure.yaml", "Progressing"},
	{"pod-succeeded.yaml", "Healthy"},
	{"pvc-bound.yaml", "Healthy"},
	{"pvc-pending.yaml", "Progressing"},
	{"statefulset.yaml", "Healthy"},
	{"statefulset-ondelete.yaml", "Healthy"},
	{"svc-clusterip.yaml", "Healthy"},
	{"svc-loadbalancer.yaml", "Healthy"},
	{"svc-loadbalancer-nonemptylist.yaml", "Healthy"},
	{"svc-loadbalancer-unassigned.yaml", "Progressing"},
	{"utils-kube-testdata-nginx.yaml", "Healthy"},
};

/* The state a fixture's name gives: the table above, else a word of the
 * name ("deployment-degraded.yaml", "hpa-v1-healthy-toofew.yaml"). */
static const char *expected_status(const char *file)
{
	static const char *const words[] = {"healthy", "degraded", "progressing", "suspended", "missing", "unknown"};
	static const char *const names[] = {"Healthy", "Degraded", "Progressing", "Suspended", "Missing", "Unknown"};
	for (size_t i = 0; i < sizeof(expected_by_name) / sizeof(expected_by_name[0]); i++)
		if (strcmp(expected_by_name[i].file, file) == 0)
			return expected_by_name[i].status;
	for (size_t i = 0; i < 6; i++) {
		char dash[32];
		snprintf(dash, sizeof(dash), "-%s", words[i]);
		const char *at = strstr(file, dash);
		if (at && (at[strlen(dash)] == '-' || at[strlen(dash)] == '.'))
			return names[i];
	}
	return NULL;
}

static json_t *load_yaml_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;
	json_t *v = NULL;

	ck_assert_msg(f != NULL, "open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	ck_assert_msg(kyaml_load_one(data, (size_t)n, NULL, &v) == 0, "%s: %s", path, err_msg());
	free(data);
	return v;
}

START_TEST(gitops_engine_fixtures_have_the_health_their_names_say)
{
	const char *top = getenv("BERTH_TOP");
	char dir[4096], path[8192];
	struct dirent *e;
	DIR *d;
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/../shared/fixtures/gitops-engine/health", top ? top : ".");
	d = opendir(dir);
	ck_assert_msg(d != NULL, "fixture folder %s missing", dir);
	while ((e = readdir(d))) {
		struct health h;
		const char *want;
		json_t *o;
		int rc;
		if (!str_ends_with(e->d_name, ".yaml"))
			continue;
		want = expected_status(e->d_name);
		ck_assert_msg(want != NULL, "%s: no expected status (add it to expected_by_name)", e->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		o = load_yaml_file(path);
		rc = health_assess(o, NULL, &h);
		ck_assert_msg(rc >= 0, "%s: %s", e->d_name, err_msg());
		ck_assert_msg(strcmp(rc ? health_status_name(h.status) : "-", want) == 0, "%s: got %s (%s), want %s",
			      e->d_name, rc ? health_status_name(h.status) : "-", rc ? h.message : "", want);
		json_decref(o);
		n++;
	}
	closedir(d);
	ck_assert_uint_ge(n, 40);
}
END_TEST

/* ---- application health ------------------------------------------------ */

static const char *dep_ok = "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','generation':1},"
			    "'spec':{'replicas':1},'status':{'observedGeneration':1,'updatedReplicas':1,'replicas':1,"
			    "'availableReplicas':1}}";
static const char *dep_paused = "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'p'},'spec':{'paused':true}}";
static const char *pod_bad = "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'x'},'status':{'phase':'Failed'}}";

START_TEST(app_health_is_the_worst_resource_health)
{
	json_t *a = J(dep_ok), *b = J(dep_paused), *c = J("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'}}");
	struct health_resource r[] = {{.desired = a, .live = a}, {.desired = b, .live = b}, {.desired = c, .live = c}};
	enum health_status st = HEALTH_UNKNOWN;
	ck_assert_int_eq(health_app(r, 3, NULL, NULL, &st), 0);
	ck_assert_int_eq(st, HEALTH_SUSPENDED);
	ck_assert(r[0].has_health);
	ck_assert_int_eq(r[0].health.status, HEALTH_HEALTHY);
	ck_assert(!r[2].has_health);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}
END_TEST

START_TEST(app_health_ignores_hooks_and_ignore_healthcheck)
{
	json_t *hook = J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'h','annotations':{"
			 "'argocd.argoproj.io/hook':'PreSync'}},'status':{'phase':'Failed'}}");
	json_t *ignored = J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'i','annotations':{"
			    "'argocd.argoproj.io/ignore-healthcheck':'true'}},'status':{'phase':'Failed'}}");
	json_t *ok = J(dep_ok);
	struct health_resource r[] = {{.live = hook}, {.desired = ignored, .live = ignored}, {.desired = ok, .live = ok}};
	enum health_status st;
	ck_assert_int_eq(health_app(r, 3, NULL, NULL, &st), 0);
	ck_assert_int_eq(st, HEALTH_HEALTHY);
	ck_assert(!r[0].has_health);
	json_decref(hook);
	json_decref(ignored);
	json_decref(ok);
}
END_TEST

START_TEST(app_health_missing_resource_does_not_degrade_app_unless_nothing_is_live)
{
	json_t *ok = J(dep_ok), *gone = J(pod_bad);
	struct health_resource r[] = {{.desired = ok, .live = ok}, {.desired = gone, .live = NULL}};
	enum health_status st;
	ck_assert_int_eq(health_app(r, 2, NULL, NULL, &st), 0);
	ck_assert_int_eq(st, HEALTH_HEALTHY);
	ck_assert(r[1].has_health);
	ck_assert_int_eq(r[1].health.status, HEALTH_MISSING);
	r[0].live = NULL;
	ck_assert_int_eq(health_app(r, 2, NULL, NULL, &st), 0);
	ck_assert_int_eq(st, HEALTH_MISSING);
	ck_assert_int_eq(health_app(r, 0, NULL, NULL, &st), 0);
	ck_assert_int_eq(st, HEALTH_HEALTHY);
	json_decref(ok);
	json_decref(gone);
}
END_TEST

START_TEST(app_health_ignores_unknown_child_apps_and_itself)
{
	json_t *child = J("{'apiVersion':'argoproj.io/v1alpha1','kind':'Application','metadata':{'name':'child'},"
			  "'status':{'health':{'status':'Unknown'}}}");
	json_t *self = J("{'apiVersion':'berth.dev/v1alpha1','kind':'Application','metadata':{'name':'root'},"
			 "'status':{'health':{'status':'Degraded'}}}");
	json_t *sick = J("{'apiVersion':'berth.dev/v1alpha1','kind':'Application','metadata':{'name':'other'},"
			 "'status':{'health':{'status':'Degraded'}}}");
	struct health_resource r[] = {{.live = child}, {.live = self}};
	enum health_status st;
	ck_assert_int_eq(health_app(r, 2, NULL, "root", &st), 0);
	ck_assert_int_eq(st, HEALTH_HEALTHY);
	r[1].live = sick;
	ck_assert_int_eq(health_app(r, 2, NULL, "root", &st), 0);
	ck_assert_int_eq(st, HEALTH_DEGRADED);
	json_decref(child);
	json_decref(self);
	json_decref(sick);
}
END_TEST

START_TEST(app_health_skip_objects_do_not_count)
{
	json_t *skip = J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'s','annotations':{"
			 "'argocd.argoproj.io/hook':'Skip'}},'status':{'phase':'Failed'}}");
	struct health_resource r[] = {{.desired = skip, .live = skip}};
	enum health_status st;
	ck_assert_int_eq(health_app(r, 1, NULL, NULL, &st), 0);
	ck_assert_int_eq(st, HEALTH_HEALTHY);
	json_decref(skip);
}
END_TEST

/* Replaces, one at a time, every value in the object with values of other
 * types and assesses each variant: wrong types give Unknown (or whatever
 * the rule makes of them), never a crash or an error return. */
struct mutation_walk {
	json_t *root;
	size_t assessed;
};

static void assess_variants(struct mutation_walk *w, json_t *parent, const char *key, size_t index)
{
	json_t *variants[] = {json_integer(7), json_string("x"), json_array(), json_object(), json_null(),
			      json_true(), json_real(1.5)};
	for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		json_t *old = key ? json_incref(json_object_get(parent, key)) : json_incref(json_array_get(parent, index));
		struct health h;
		if (key)
			json_object_set(parent, key, variants[v]);
		else
			json_array_set(parent, index, variants[v]);
		int rc = health_assess(w->root, NULL, &h);
		ck_assert_msg(rc == 0 || rc == 1 || (rc == BERR_INVALID && parent == w->root), "rc %d", rc);
		w->assessed++;
		if (key)
			json_object_set_new(parent, key, old);
		else
			json_array_set_new(parent, index, old);
		json_decref(variants[v]);
	}
}

static void walk(struct mutation_walk *w, json_t *node, int depth)
{
	const char *key;
	json_t *child;
	size_t i;
	void *tmp;

	if (depth > 8)
		return;
	if (json_is_object(node)) {
		json_object_foreach_safe(node, tmp, key, child) {
			assess_variants(w, node, key, 0);
			walk(w, json_object_get(node, key), depth + 1);
		}
	} else if (json_is_array(node)) {
		for (i = 0; i < json_array_size(node); i++) {
			assess_variants(w, node, NULL, i);
			walk(w, json_array_get(node, i), depth + 1);
		}
	}
}

START_TEST(fixtures_with_wrong_types_anywhere_never_crash)
{
	const char *top = getenv("BERTH_TOP");
	char dir[4096], path[8192];
	struct mutation_walk w = {0};
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/../shared/fixtures/gitops-engine/health", top ? top : ".");
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((e = readdir(d))) {
		if (!str_ends_with(e->d_name, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		w.root = load_yaml_file(path);
		/* managedFields is large and read by no rule */
		json_object_del(json_object_get(w.root, "metadata"), "managedFields");
		walk(&w, w.root, 0);
		json_decref(w.root);
	}
	closedir(d);
	ck_assert_uint_gt(w.assessed, 10000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("builtin");
	tcase_add_test(tc, worst_follows_argo_order);
	tcase_add_test(tc, status_names_round_trip);
	tcase_add_test(tc, unknown_kind_has_no_health);
	tcase_add_test(tc, object_being_deleted_is_progressing_whatever_its_kind);
	tcase_add_test(tc, non_object_is_invalid);
	tcase_add_loop_test(tc, object_has_the_health_of_its_kind_rules, 0, sizeof(object_cases) / sizeof(*object_cases));
	tcase_add_test(tc, deployment_rollout_messages_match_argo);
	tcase_add_test(tc, deployment_complete_is_healthy);
	tcase_add_test(tc, field_of_wrong_type_gives_unknown_naming_the_field);
	tcase_add_test(tc, statefulset_waits_for_ready_pods);
	tcase_add_test(tc, statefulset_partitioned_rollout);
	tcase_add_test(tc, daemonset_waits_for_updated_and_available_pods);
	tcase_add_test(tc, pod_running_with_restart_never_is_progressing_unless_annotated);
	tcase_add_test(tc, job_states);
	tcase_add_test(tc, cronjob_states_follow_argo_bundled_check);
	tcase_add_test(tc, loadbalancer_service_without_ingress_is_progressing);
	tcase_add_test(tc, pvc_phases);
	tcase_add_test(tc, crd_must_be_established);
	tcase_add_test(tc, hpa_v1_reads_conditions_annotation);
	tcase_add_test(tc, application_reports_its_own_health);
	suite_add_tcase(s, tc);
	tc = tcase_create("custom");
	tcase_add_test(tc, custom_rules_first_match_wins);
	tcase_add_test(tc, custom_rules_override_builtin_and_fall_back_when_nothing_matches);
	tcase_add_test(tc, custom_rules_key_may_use_globs);
	tcase_add_test(tc, custom_rules_from_settings_text);
	tcase_add_test(tc, bad_custom_rules_are_rejected_with_clear_errors);
	tcase_add_test(tc, custom_rules_key_given_twice_is_refused);
	tcase_add_test(tc, custom_rules_text_that_is_not_parseable_names_the_key);
	suite_add_tcase(s, tc);
	tc = tcase_create("app");
	tcase_add_test(tc, app_health_is_the_worst_resource_health);
	tcase_add_test(tc, app_health_ignores_hooks_and_ignore_healthcheck);
	tcase_add_test(tc, app_health_missing_resource_does_not_degrade_app_unless_nothing_is_live);
	tcase_add_test(tc, app_health_ignores_unknown_child_apps_and_itself);
	tcase_add_test(tc, app_health_skip_objects_do_not_count);
	suite_add_tcase(s, tc);
	tc = tcase_create("fixtures");
	tcase_add_test(tc, gitops_engine_fixtures_have_the_health_their_names_say);
	tcase_add_test(tc, fixtures_with_wrong_types_anywhere_never_crash);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
