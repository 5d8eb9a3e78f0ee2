#!/usr/bin/env bash
# Manual operations: a removed file is pruned only by a sync with prune;
# dry run changes nothing; selective sync applies only the named resource;
# rollback to an earlier history id; an AppProject violation is a condition
# and nothing is applied.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/controller-lib.sh"

make_repo examples "$FIXTURES/argocd-example-apps"
start_controller_stack || ctl_setup_failed
rev1=$(repo_head examples)

finished() { [ "$(app_field "$1" '.status.operationState.finishedAt // "" | length > 0')" = true ] && [ "$(app_field "$1" .operation)" = null ]; }
run_op() { # NAME EXTRA
	sync_op "$1" "${2:-{\}}"
	wait_for "operation on $1 finished" 60 finished "$1"
}

app_apply gb guestbook manual
wait_for "gb compared" 60 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev gb -o jsonpath='{.status.sync.status}')\" = OutOfSync ]"
t_fail "nothing applied before a sync" k get deploy guestbook-ui

run_op gb '{"dryRun":true}'
t_eq "dry run succeeds" "$(app_field gb .status.operationState.phase)" "Succeeded"
t_fail "dry run created nothing" k get deploy guestbook-ui
t_eq "dry run adds no history" "$(app_field gb '.status.history // [] | length')" "0"

run_op gb '{"resources":[{"kind":"Service","name":"guestbook-ui"}]}'
t_ok "selective sync applied the Service" k get svc guestbook-ui
t_fail "selective sync left the Deployment out" k get deploy guestbook-ui

run_op gb
wait_app gb Synced Healthy 60
t_eq "history entry at the first commit" "$(app_field gb '.status.history[-1] | "\(.id):\(.revision)"')" "1:$rev1"

repo_commit examples "two replicas, no service" bash -c \
	'sed -i "s/replicas: 1/replicas: 2/" guestbook/guestbook-ui-deployment.yaml && git rm -q guestbook/guestbook-ui-svc.yaml'
rev2=$(repo_head examples)
k -n berth annotate applications.berth.dev gb berth.dev/refresh=hard --overwrite >/dev/null
wait_for "gb OutOfSync at the new commit" 60 bash -c \
	"[ \"\$(kubectl -n berth get applications.berth.dev gb -o jsonpath='{.status.sync.status}/{.status.sync.revision}')\" = OutOfSync/$rev2 ]"
t_eq "removed Service requires pruning" \
	"$(app_field gb '.status.resources[] | select(.kind == "Service") | .requiresPruning')" "true"

run_op gb
t_eq "replicas 2 applied" "$(k get deploy guestbook-ui -o jsonpath='{.spec.replicas}')" "2"
t_ok "without prune the Service stays" k get svc guestbook-ui
run_op gb '{"prune":true}'
wait_for "with prune the Service goes" 30 bash -c "! kubectl get svc guestbook-ui >/dev/null 2>&1"
t_ok "prune sent a propagationPolicy (object gone, deployment kept)" k get deploy guestbook-ui

# rollback to the first deployment
hist_id=$(app_field gb '.status.history[] | select(.revision == "'"$rev1"'") | .id' | head -1)
src=$(app_field gb '.status.history[] | select(.id == '"$hist_id"') | .source' | jq -c .)
k -n berth patch applications.berth.dev gb --type merge \
	-p "{\"operation\":{\"sync\":{\"revision\":\"$rev1\",\"source\":$src},\"initiatedBy\":{\"username\":\"tester\"}}}" >/dev/null
wait_for "rollback finished" 60 finished gb
t_eq "rollback restored replicas 1" "$(k get deploy guestbook-ui -o jsonpath='{.spec.replicas}')" "1"
t_ok "rollback recreated the Service" k get svc guestbook-ui
t_eq "rollback recorded in history" "$(app_field gb '.status.history[-1].revision')" "$rev1"
wait_for "app OutOfSync with HEAD after rollback" 30 bash -c \
	"[ \"\$(kubectl -n berth get applications.berth.dev gb -o jsonpath='{.status.sync.status}')\" = OutOfSync ]"
t_eq "app OutOfSync with HEAD after rollback" "$(app_field gb .status.sync.status)" "OutOfSync"

# a project that allows only namespace "allowed"
k apply -f - >/dev/null <<'YAML'
apiVersion: berth.dev/v1alpha1
kind: AppProject
metadata: {name: restricted, namespace: berth}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "https://kubernetes.default.svc", namespace: allowed}]
YAML
app_apply forbidden kustomize-guestbook automated '{"project":"restricted"}'
wait_for "violation condition" 60 bash -c \
	"kubectl -n berth get applications.berth.dev forbidden -o json | jq -e '.status.conditions[]? | select(.type == \"InvalidSpecError\")'"
t_match "condition names the project" "$(app_field forbidden '.status.conditions[0].message')" "restricted"
t_fail "nothing applied for the forbidden app" k get deploy kustomize-guestbook-ui
run_op forbidden
t_eq "a requested sync is refused" "$(app_field forbidden .status.operationState.phase)" "Failed"
t_fail "still nothing applied" k get deploy kustomize-guestbook-ui

# settings: resource.exclusions and an ignoreDifferences customization
k apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: berth-cm, namespace: berth}
data:
  resource.exclusions: |
    - apiGroups: [""]
      kinds: [Service]
      clusters: ["*"]
  resource.customizations.ignoreDifferences.apps_Deployment: |
    jsonPointers: [/spec/replicas]
YAML
app_apply excl guestbook automated '{"destination":{"namespace":"other"},"syncPolicy":{"syncOptions":["CreateNamespace=true"]}}'
wait_app excl Synced Healthy 60
t_ok "deployment applied in its namespace" k -n other get deploy guestbook-ui
t_fail "excluded Service not applied" k -n other get svc guestbook-ui
t_eq "excluded kind not in the status" "$(app_field excl '[.status.resources[].kind] | join(",")')" "Deployment"
k -n other scale deploy guestbook-ui --replicas=4 >/dev/null
k -n berth annotate applications.berth.dev excl berth.dev/refresh=normal --overwrite >/dev/null
wait_for "refresh done" 30 bash -c \
	"[ -z \"\$(kubectl -n berth get applications.berth.dev excl -o jsonpath='{.metadata.annotations.berth\.dev/refresh}')\" ]"
t_eq "replicas ignored by the customization: still Synced" "$(app_field excl .status.sync.status)" "Synced"
t_eq "and not reverted" "$(k -n other get deploy guestbook-ui -o jsonpath='{.spec.replicas}')" "4"

t_done
