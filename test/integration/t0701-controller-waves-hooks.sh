#!/usr/bin/env bash
# Sync order as kube-sim sees it: the sync-waves and pre-post-sync fixtures
# are applied phase → wave → kind → name (creations recorded from watch
# streams, ordered by kube-sim's global resourceVersion); a PreSync hook
# that fails fails the operation and runs the SyncFail hook; a crash-looping
# Deployment makes the app Degraded.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/controller-lib.sh"

make_repo examples "$FIXTURES/argocd-example-apps"
repo_commit examples "failing hook and crash loop apps" bash -c '
mkdir -p failhook crashloop
cat >failhook/all.yaml <<YAML
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: {berth.dev/hook: PreSync}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: "busybox:fail"}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: cleanup
  annotations: {berth.dev/hook: SyncFail}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "busybox:1.36"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: never-applied}
data: {a: "1"}
YAML
cat >crashloop/deploy.yaml <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: crasher}
spec:
  replicas: 1
  progressDeadlineSeconds: 2
  selector: {matchLabels: {app: crasher}}
  template:
    metadata: {labels: {app: crasher}}
    spec:
      containers: [{name: c, image: "busybox:fail"}]
YAML'
start_controller_stack || ctl_setup_failed

# record creations of the kinds these apps write
KS=http://127.0.0.1:$KS_PORT
for p in api/v1/services apis/apps/v1/replicasets apis/apps/v1/deployments apis/batch/v1/jobs api/v1/configmaps; do
	f=$TEST_DIR/watch-$(echo "$p" | tr / _).jsonl
	run_bg "watch-$(basename "$p")" curl -sN "$KS/$p?watch=1"
	WATCH_LOGS+=("$TEST_DIR/watch-$(basename "$p").log")
done
# a marker object shows the streams are open before the syncs start
echo '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"watch-marker","namespace":"default"}}' | k apply -f - >/dev/null
wait_for "watch streams open" 20 grep -q watch-marker "$TEST_DIR/watch-configmaps.log"

# creations in the namespace "default", by resourceVersion: Kind/name
created() {
	cat "${WATCH_LOGS[@]}" | jq -r 'select(.type == "ADDED") | .object |
		select(.metadata.namespace == "default") |
		[(.metadata.resourceVersion | tonumber), .kind + "/" + (.metadata.labels["job-name"] // .metadata.name)] | @tsv' 2>/dev/null |
		sort -n | cut -f2 | grep -v -E '^(Pod|ConfigMap/(kube-root|watch-marker))' | awk '!seen[$0]++'
}

app_apply waves sync-waves manual
wait_for "waves compared" 60 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev waves -o jsonpath='{.status.sync.status}')\" = OutOfSync ]"
sync_op waves
wait_for "waves sync finished" 120 bash -c "[ -n \"\$(kubectl -n berth get applications.berth.dev waves -o jsonpath='{.status.operationState.finishedAt}')\" ]"
t_eq "waves: operation Succeeded" "$(app_field waves .status.operationState.phase)" "Succeeded"
order=$(created | grep -v -E '^(ReplicaSet/(backend|frontend)-|Deployment)' | sed 's/upgrade-sql-schema.*/upgrade-sql-schema/' | tr '\n' ' ')
t_eq "waves: PreSync hook, wave 0 (Service, ReplicaSet), 1, 2, 3" "$order" \
	"Job/upgrade-sql-schema Service/backend ReplicaSet/backend Job/maint-page-up Service/frontend ReplicaSet/frontend Job/maint-page-down "
wait_app waves Synced Healthy 60

k delete jobs --all >/dev/null 2>&1
for f in "${WATCH_LOGS[@]}"; do : >"$f"; done
app_apply prepost pre-post-sync manual
wait_for "prepost compared" 60 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev prepost -o jsonpath='{.status.sync.status}')\" = OutOfSync ]"
sync_op prepost
wait_for "prepost sync finished" 120 bash -c "[ -n \"\$(kubectl -n berth get applications.berth.dev prepost -o jsonpath='{.status.operationState.finishedAt}')\" ]"
t_eq "pre-post-sync: operation Succeeded" "$(app_field prepost .status.operationState.phase)" "Succeeded"
order=$(created | grep -v '^ReplicaSet/' | tr '\n' ' ')
t_eq "pre-post-sync: PreSync, Service, Deployment, PostSync" "$order" \
	"Job/pre-post-sync-before Service/pre-post-sync-kustomize-guestbook-ui Deployment/pre-post-sync-kustomize-guestbook-ui Job/pre-post-sync-after "
wait_for "HookSucceeded hooks deleted" 30 bash -c "! kubectl get job pre-post-sync-before pre-post-sync-after >/dev/null 2>&1"

app_apply failhook failhook manual
wait_for "failhook compared" 60 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev failhook -o jsonpath='{.status.sync.status}')\" = OutOfSync ]"
sync_op failhook
wait_for "failhook sync finished" 120 bash -c "[ -n \"\$(kubectl -n berth get applications.berth.dev failhook -o jsonpath='{.status.operationState.finishedAt}')\" ]"
t_eq "failing PreSync hook fails the operation" "$(app_field failhook .status.operationState.phase)" "Failed"
t_match "message names the hook" "$(app_field failhook .status.operationState.message)" "PreSync hook Job migrate"
t_ok "SyncFail hook ran" k get job cleanup
t_fail "nothing of the Sync phase applied" k get configmap never-applied
t_eq "no history entry for a failed sync" "$(app_field failhook '.status.history // [] | length')" "0"

app_apply crasher crashloop automated
wait_app crasher Synced Degraded 90
t_eq "crash loop: app Degraded" "$(app_field crasher .status.health.status)" "Degraded"

t_done
