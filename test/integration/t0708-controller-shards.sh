#!/usr/bin/env bash
# Two shards on two clusters: two controllers run with `--shards 2`, one
# for each shard, and the two destination clusters (in-cluster and a second
# kube-sim whose URL hashes to the other shard) are split between them, so
# each app is reconciled by exactly one controller. When one controller is
# killed, the other adopts the dead one's shard Lease once it expires and
# carries on with its apps; the killed one, restarted, waits as a standby.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/controller-lib.sh"

# shard of a server URL for --shards 2 as the controller computes it:
# FNV-1a (64 bit) of the URL modulo 2
shard_of() {
	local s=$1 h=1469598103934665603 i c
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$(((h ^ c) * 1099511628211))
	done
	echo $((h & 1))
}

make_repo examples "$FIXTURES/argocd-example-apps"
start_redis && start_git_http && start_kube_sim && \
	echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"berth"}}' | k apply -f - >/dev/null && \
	start_repo_server || ctl_setup_failed

# the second cluster, on a port whose URL falls in the other shard
S_LOCAL=$(shard_of https://kubernetes.default.svc)
for i in $(seq 1 50); do
	KS2_PORT=$(free_port)
	[ "$(shard_of "http://127.0.0.1:$KS2_PORT")" != "$S_LOCAL" ] && break
done
KS2_URL=http://127.0.0.1:$KS2_PORT
S_REMOTE=$(shard_of "$KS2_URL")
echo "# in-cluster in shard $S_LOCAL, $KS2_URL in shard $S_REMOTE"
t_ok "the two clusters fall in different shards" test "$S_LOCAL" != "$S_REMOTE"
run_bg kube-sim-2 kube-sim --listen "127.0.0.1:$KS2_PORT" --write-kubeconfig "$TEST_DIR/kubeconfig-2" --status-delay 100
wait_for_line "$TEST_DIR/kube-sim-2.log" "kube-sim ready" 20 || ctl_setup_failed
k2() { kubectl --kubeconfig "$TEST_DIR/kubeconfig-2" --request-timeout=5s "$@"; }
jq -n --arg s "$KS2_URL" '{apiVersion: "v1", kind: "Secret",
	metadata: {name: "cluster-second", namespace: "berth", labels: {"berth.dev/secret-type": "cluster"}},
	stringData: {name: "second", server: $s, config: "{\"tlsClientConfig\":{\"insecure\":false}}"}}' | k apply -f - >/dev/null

start_controller --shards 2 --shard "$S_LOCAL" --lease-duration 3s || ctl_setup_failed
A_PID=$CTL_PID A_LOG=$CTL_LOG
start_controller --shards 2 --shard "$S_REMOTE" --lease-duration 3s || ctl_setup_failed
B_PID=$CTL_PID B_LOG=$CTL_LOG
holder() { k -n berth get lease "berth-app-controller-shard-$1" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
H_LOCAL=$(holder "$S_LOCAL")
H_REMOTE=$(holder "$S_REMOTE")
t_match "shard $S_LOCAL has a holder" "$H_LOCAL" "_${A_PID}_"
t_match "shard $S_REMOTE has another holder" "$H_REMOTE" "_${B_PID}_"

app_apply local guestbook automated
app_apply remote kustomize-guestbook automated '{"destination":{"server":null,"name":"second"}}'
CTL_LOG=$A_LOG
wait_app local Synced Healthy 90
CTL_LOG=$B_LOG
wait_app remote Synced Healthy 90
t_ok "remote app deployed on the second cluster" k2 get deploy kustomize-guestbook-ui
t_ok "local app deployed on the first cluster" k get deploy guestbook-ui
t_ok "controller A works on the in-cluster destination" grep -q "watching cluster.*kubernetes.default.svc" "$A_LOG"
t_fail "controller A leaves the second cluster alone" grep -q "watching cluster.*$KS2_URL" "$A_LOG"
t_ok "controller B works on the second cluster" grep -q "watching cluster.*$KS2_URL" "$B_LOG"
t_fail "controller B leaves the in-cluster destination alone" grep -q "watching cluster.*kubernetes.default.svc" "$B_LOG"

# B dies: A adopts its shard when the Lease expires and syncs its app
kill -KILL "$B_PID"
wait_for_line "$A_LOG" "adopted the lease" 30
t_eq "A holds the dead controller's shard" "$(holder "$S_REMOTE")" "$H_LOCAL"
CTL_LOG=$A_LOG
repo_commit examples "two replicas" sed -i 's/replicas: 1/replicas: 2/' kustomize-guestbook/guestbook-ui-deployment.yaml
k -n berth annotate applications.berth.dev remote berth.dev/refresh=hard --overwrite >/dev/null
wait_for "A auto-syncs the remote app" 60 bash -c "[ \"\$(kubectl --kubeconfig $TEST_DIR/kubeconfig-2 get deploy kustomize-guestbook-ui -o jsonpath='{.spec.replicas}')\" = 2 ]"
t_ok "A now works on the second cluster" grep -q "watching cluster.*$KS2_URL" "$A_LOG"
wait_app remote Synced Healthy 60

# B restarted: its shard is held by A, so it waits and works on nothing
run_bg controller-b2 berth-app-controller --listen 127.0.0.1:0 --kubeconfig "$KUBECONFIG" \
	--namespace berth --repo-server "$RS_URL" --resync 30s --shards 2 --shard "$S_REMOTE" --lease-duration 3s
wait_for_line "$TEST_DIR/controller-b2.log" "waiting for the shard lease" 30
k -n berth annotate applications.berth.dev remote berth.dev/refresh=normal --overwrite >/dev/null
wait_for "remote app refreshed again (by A)" 30 bash -c "[ -z \"\$(kubectl -n berth get applications.berth.dev remote -o jsonpath='{.metadata.annotations.berth\\.dev/refresh}')\" ]"
t_fail "restarted B stays a standby" grep -q "holding the shard lease\|watching cluster" "$TEST_DIR/controller-b2.log"
t_eq "A still holds both shards" "$(holder "$S_REMOTE")" "$H_LOCAL"

t_done
