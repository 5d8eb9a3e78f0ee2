#!/usr/bin/env bash
# kill -9 of the controller in the middle of a sync, then a restart: the
# operation resumes from status.operationState and finishes, every wave
# still after the one before. Then kube-sim faults (429, 500, dropped
# watches, compaction → 410) while a new commit is auto-synced: the end
# state is right.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/controller-lib.sh"

make_repo examples "$FIXTURES/argocd-example-apps"
start_controller_stack --status-delay 1200 --faults latency=0ms || ctl_setup_failed
KS=http://127.0.0.1:$KS_PORT
for p in api/v1/services apis/apps/v1/replicasets apis/batch/v1/jobs; do
	run_bg "watch-$(basename "$p")" curl -sN "$KS/$p?watch=1"
	WATCH_LOGS+=("$TEST_DIR/watch-$(basename "$p").log")
done
created() {
	cat "${WATCH_LOGS[@]}" | jq -r 'select(.type == "ADDED") | .object | select(.metadata.namespace == "default") |
		[(.metadata.resourceVersion | tonumber), .kind + "/" + .metadata.name] | @tsv' 2>/dev/null |
		sort -n | cut -f2 | sed 's/upgrade-sql-schema.*/upgrade-sql-schema/' | grep -v '^Service/kubernetes$' | awk '!seen[$0]++'
}

app_apply waves sync-waves manual
wait_for "waves compared" 60 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev waves -o jsonpath='{.status.sync.status}')\" = OutOfSync ]"
sync_op waves
wait_for "sync reached wave 1" 60 bash -c "kubectl get job maint-page-up >/dev/null 2>&1"
t_eq "operation Running when killed" "$(app_field waves .status.operationState.phase)" "Running"
kill -KILL "$CTL_PID"
t_fail "wave 3 not started before the kill" k get job maint-page-down
start_controller || ctl_setup_failed
wait_for "resumed sync finished" 120 bash -c \
	"[ -n \"\$(kubectl -n berth get applications.berth.dev waves -o jsonpath='{.status.operationState.finishedAt}')\" ]"
t_eq "resumed operation Succeeded" "$(app_field waves .status.operationState.phase)" "Succeeded"
t_match "restart logged as a resume" "$(cat "$CTL_LOG")" "resuming sync"
t_eq "order kept across the restart" "$(created | tr '\n' ' ')" \
	"Job/upgrade-sql-schema Service/backend ReplicaSet/backend Job/maint-page-up Service/frontend ReplicaSet/frontend Job/maint-page-down "
t_eq "one history entry" "$(app_field waves '.status.history | length')" "1"
t_eq "operation cleared" "$(app_field waves .operation)" "null"

# terminate: a running operation asked to stop ends Failed, later waves not run
k delete jobs --all >/dev/null 2>&1
k -n berth patch applications.berth.dev waves --type merge -p '{"metadata":{"annotations":{"x":"1"}}}' >/dev/null
sync_op waves
# asked as soon as it runs: waiting for a later wave left too little time
# under load (the last wave could start before the request arrived)
wait_for "second sync running" 60 bash -c \
	"[ \"\$(kubectl -n berth get applications.berth.dev waves -o jsonpath='{.status.operationState.phase}')\" = Running ]"
k -n berth patch applications.berth.dev waves --subresource=status --type merge \
	-p '{"status":{"operationState":{"phase":"Terminating"}}}' >/dev/null
wait_for "terminated operation finished" 60 bash -c \
	"[ -n \"\$(kubectl -n berth get applications.berth.dev waves -o jsonpath='{.status.operationState.finishedAt}')\" ]"
t_eq "terminated operation Failed" "$(app_field waves .status.operationState.phase)" "Failed"
t_eq "it says it was terminated" "$(app_field waves .status.operationState.message)" "operation terminated"
t_fail "the last wave did not run" k get job maint-page-down

# faults
ADMIN=$(cat "$KUBECONFIG.admin-token")
admin() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $ADMIN" "$@"; }
# a sync that fails on a fault is retried only because retry says so
app_apply gb guestbook automated '{"syncPolicy":{"retry":{"limit":20,"backoff":{"duration":"1s","factor":2,"maxDuration":"5s"}}}}'
wait_app gb Synced Healthy 90
t_eq "faults on" "$(admin -X PUT -d '{"spec":"429=0.1,500=0.05,watch-drop=3s,compact=4s"}' "$KS/_admin/faults")" "200"
repo_commit examples "four replicas" sed -i 's/replicas: 1/replicas: 4/' guestbook/guestbook-ui-deployment.yaml
wait_for "refresh requested" 30 k -n berth annotate applications.berth.dev gb berth.dev/refresh=hard --overwrite
wait_for "replicas 4 applied under faults" 120 bash -c "[ \"\$(kubectl get deploy guestbook-ui -o jsonpath='{.spec.replicas}' 2>/dev/null)\" = 4 ]"
wait_for "drift under faults healed" 30 k scale deploy guestbook-ui --replicas=1
wait_for "self-heal under faults" 120 bash -c "[ \"\$(kubectl get deploy guestbook-ui -o jsonpath='{.spec.replicas}' 2>/dev/null)\" = 4 ]"
t_eq "faults off" "$(admin -X DELETE "$KS/_admin/faults")" "200"
wait_app gb Synced Healthy 90
t_eq "end state: 4 replicas" "$(k get deploy guestbook-ui -o jsonpath='{.spec.replicas}')" "4"
t_eq "end state: revision is HEAD" "$(app_field gb .status.sync.revision)" "$(repo_head examples)"
t_ok "controller still serves" curl -sf "http://127.0.0.1:$CTL_PORT/healthz"

t_done
