#!/usr/bin/env bash
# Two destination clusters (two kube-sims): an app whose destination names
# the second cluster (from a cluster Secret) deploys there only; when that
# cluster dies its app turns Unknown with a condition and the other
# cluster's app still syncs. Two replicas of one shard: one holds the
# Lease, the other takes over when the holder is killed.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/controller-lib.sh"

make_repo examples "$FIXTURES/argocd-example-apps"
start_redis && start_git_http && start_kube_sim && \
	echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"berth"}}' | k apply -f - >/dev/null && \
	start_repo_server || ctl_setup_failed

# the second cluster
run_bg kube-sim-2 kube-sim --listen 127.0.0.1:0 --write-kubeconfig "$TEST_DIR/kubeconfig-2" --status-delay 100
KS2_PID=$LAST_PID
wait_for_line "$TEST_DIR/kube-sim-2.log" "kube-sim ready" 20 || ctl_setup_failed
KS2_URL=$(sed -n 's/.*kube-sim ready \(http[^ ]*\).*/\1/p' "$TEST_DIR/kube-sim-2.log" | head -1)
k2() { kubectl --kubeconfig "$TEST_DIR/kubeconfig-2" --request-timeout=5s "$@"; }
jq -n --arg s "$KS2_URL" '{apiVersion: "v1", kind: "Secret",
	metadata: {name: "cluster-second", namespace: "berth", labels: {"berth.dev/secret-type": "cluster"}},
	stringData: {name: "second", server: $s, config: "{\"tlsClientConfig\":{\"insecure\":false}}"}}' | k apply -f - >/dev/null

# two replicas of shard 0 of 1: the first holds the Lease
start_controller --shards 1 --shard 0 --lease-duration 3s || ctl_setup_failed
FIRST_PID=$CTL_PID
run_bg controller-standby berth-app-controller --listen 127.0.0.1:0 --kubeconfig "$KUBECONFIG" \
	--namespace berth --repo-server "$RS_URL" --install-crds --resync 30s --shards 1 --shard 0 --lease-duration 3s
STANDBY_LOG=$TEST_DIR/controller-standby.log
wait_for_line "$STANDBY_LOG" "waiting for the shard lease" 30
t_eq "one Lease holder" "$(k -n berth get lease berth-app-controller-shard-0 -o jsonpath='{.spec.holderIdentity}' | grep -c _)" "1"

app_apply local guestbook automated
app_apply remote kustomize-guestbook automated '{"destination":{"server":null,"name":"second"}}'
wait_app local Synced Healthy 90
wait_app remote Synced Healthy 90
t_ok "remote app deployed on the second cluster" k2 get deploy kustomize-guestbook-ui
t_fail "remote app not on the first cluster" k get deploy kustomize-guestbook-ui
t_fail "local app not on the second cluster" k2 get deploy guestbook-ui
t_fail "standby did not work while not leading" grep -q "watching cluster" "$STANDBY_LOG"

# the holder dies: the standby takes the Lease over and carries on
kill -KILL "$FIRST_PID"
wait_for_line "$STANDBY_LOG" "holding the shard lease" 30
t_match "standby took over" "$(cat "$STANDBY_LOG")" "berth-app-controller ready"
CTL_LOG=$STANDBY_LOG
repo_commit examples "two replicas" sed -i 's/replicas: 1/replicas: 2/' guestbook/guestbook-ui-deployment.yaml
k -n berth annotate applications.berth.dev local berth.dev/refresh=hard --overwrite >/dev/null
wait_for "new leader auto-syncs" 60 bash -c "[ \"\$(kubectl get deploy guestbook-ui -o jsonpath='{.spec.replicas}')\" = 2 ]"

# the second cluster dies
stop_bg "$KS2_PID"
k -n berth annotate applications.berth.dev remote berth.dev/refresh=normal --overwrite >/dev/null
wait_for "remote app Unknown" 60 bash -c \
	"[ \"\$(kubectl -n berth get applications.berth.dev remote -o jsonpath='{.status.health.status}')\" = Unknown ]"
t_match "condition says the cluster is unreachable" "$(app_field remote '.status.conditions[].message')" "unreachable"
repo_commit examples "three replicas" sed -i 's/replicas: 2/replicas: 3/' guestbook/guestbook-ui-deployment.yaml
k -n berth annotate applications.berth.dev local berth.dev/refresh=hard --overwrite >/dev/null
wait_for "local app still syncs" 60 bash -c "[ \"\$(kubectl get deploy guestbook-ui -o jsonpath='{.spec.replicas}')\" = 3 ]"
wait_app local Synced Healthy 60

t_done
