#!/usr/bin/env bash
# A changed cluster Secret is picked up without a restart: the second
# cluster (kube-sim with TLS and a bearer token) rotates its token, the
# cluster Secret gets the new one, and the app on that cluster keeps
# reconciling and auto-syncing (a new client and cache replace the old).
# Then the Secret names a new server URL (a third kube-sim) under the same
# cluster name, and the app deploys there — all with one controller process.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/controller-lib.sh"

make_repo examples "$FIXTURES/argocd-example-apps"
start_controller_stack || ctl_setup_failed
CTL_PID0=$CTL_PID

# the second cluster: TLS with a generated CA, bearer token tok-one
run_bg kube-sim-2 kube-sim --listen 127.0.0.1:0 --write-kubeconfig "$TEST_DIR/kubeconfig-2" --tls --token tok-one \
	--status-delay 100
wait_for_line "$TEST_DIR/kube-sim-2.log" "kube-sim ready" 20 || ctl_setup_failed
KS2_URL=$(sed -n 's/.*kube-sim ready \(http[^ ]*\).*/\1/p' "$TEST_DIR/kube-sim-2.log" | head -1)
CA=$(kubectl --kubeconfig "$TEST_DIR/kubeconfig-2" config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
echo "$CA" | base64 -d >"$TEST_DIR/ca-2.pem"
k2() { kubectl --kubeconfig "$TEST_DIR/kubeconfig-2" --request-timeout=5s "$@"; }
cluster_secret() { # cluster_secret SERVER TOKEN
	jq -n --arg s "$1" --arg cfg "$(jq -cn --arg t "$2" --arg ca "$CA" '{bearerToken: $t, tlsClientConfig: {caData: $ca}}')" \
		'{apiVersion: "v1", kind: "Secret",
		metadata: {name: "cluster-second", namespace: "berth", labels: {"berth.dev/secret-type": "cluster"}},
		stringData: {name: "second", server: $s, config: $cfg}}' | k apply -f - >/dev/null
}
cluster_secret "$KS2_URL" tok-one
t_match "kube-sim 2 serves HTTPS" "$KS2_URL" '^https://'

app_apply remote kustomize-guestbook automated '{"destination":{"server":null,"name":"second"}}'
wait_app remote Synced Healthy 90
t_ok "deployed on the second cluster" k2 get deploy kustomize-guestbook-ui

# rotate the token: first in the cluster (the old one is refused), then in the Secret
out=$(curl -sS --cacert "$TEST_DIR/ca-2.pem" -X POST -H "Authorization: Bearer $(cat "$TEST_DIR/kubeconfig-2.admin-token")" \
	-d '{"token":"tok-two"}' "$KS2_URL/_admin/token/rotate")
t_match "kube-sim rotated its token" "$out" 'tok-two'
t_fail "the old token is refused" k2 get deploy kustomize-guestbook-ui
k2n() { kubectl --kubeconfig "$TEST_DIR/kubeconfig-2" --token tok-two --request-timeout=5s "$@"; }
t_ok "the new token works" k2n get deploy kustomize-guestbook-ui
cluster_secret "$KS2_URL" tok-two
wait_for_line "$CTL_LOG" "cluster secret changed" 30

repo_commit examples "two replicas" sed -i 's/replicas: 1/replicas: 2/' kustomize-guestbook/guestbook-ui-deployment.yaml
k -n berth annotate applications.berth.dev remote berth.dev/refresh=hard --overwrite >/dev/null
wait_for "auto-sync with the new token" 60 bash -c \
	"[ \"\$(kubectl --kubeconfig $TEST_DIR/kubeconfig-2 --token tok-two get deploy kustomize-guestbook-ui -o jsonpath='{.spec.replicas}')\" = 2 ]"
wait_app remote Synced Healthy 60
t_eq "no condition left" "$(app_field remote '.status.conditions // [] | length')" "0"

# drift on the second cluster is seen through the new cache (and healed)
k2n scale deploy kustomize-guestbook-ui --replicas 4 >/dev/null
wait_for "self-heal through the new cache" 60 bash -c \
	"[ \"\$(kubectl --kubeconfig $TEST_DIR/kubeconfig-2 --token tok-two get deploy kustomize-guestbook-ui -o jsonpath='{.spec.replicas}')\" = 2 ]"

# kube-sim N's admin endpoint: sim_admin N METHOD WHAT
sim_admin() {
	local url=KS$1_URL
	curl -sS --max-time 5 --cacert "$TEST_DIR/kubeconfig-$1.ca.crt" -X "$2" \
		-H "Authorization: Bearer $(cat "$TEST_DIR/kubeconfig-$1.admin-token")" "${!url}/_admin/$3"
}
# watch streams of kube-sim N: open now / ever opened
sim_watches() { sim_admin "$1" GET watches | jq -r ".$2"; }
ks2_watches() { sim_watches 2 "$1"; }
ks2_open_watches() { [ "$(ks2_watches open)" "$@" ]; }
# (the metrics read whole first: grep -q ending early would fail curl under pipefail)
ctl_metrics_name_ks2() {
	local m
	m=$(curl -sS --max-time 5 "http://127.0.0.1:$CTL_PORT/metrics") && grep -qF "cluster=\"$KS2_URL\"" <<<"$m"
}
ctl_metrics_lack_ks2() {
	local m
	m=$(curl -sS --max-time 5 "http://127.0.0.1:$CTL_PORT/metrics") && ! grep -qF "cluster=\"$KS2_URL\"" <<<"$m"
}
t_ok "the controller watches the second cluster" ks2_open_watches -gt 0
t_ok "its cache is in the metrics" ctl_metrics_name_ks2

# a new server URL under the same cluster name: the app moves there
run_bg kube-sim-3 kube-sim --listen 127.0.0.1:0 --write-kubeconfig "$TEST_DIR/kubeconfig-3" --tls --token tok-three \
	--status-delay 100
wait_for_line "$TEST_DIR/kube-sim-3.log" "kube-sim ready" 20 || ctl_setup_failed
KS3_URL=$(sed -n 's/.*kube-sim ready \(http[^ ]*\).*/\1/p' "$TEST_DIR/kube-sim-3.log" | head -1)
CA=$(kubectl --kubeconfig "$TEST_DIR/kubeconfig-3" config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
cluster_secret "$KS3_URL" tok-three
wait_for "app deployed on the new server" 90 kubectl --kubeconfig "$TEST_DIR/kubeconfig-3" --request-timeout=5s \
	get deploy kustomize-guestbook-ui
wait_app remote Synced Healthy 60
t_eq "replicas from Git on the new server" \
	"$(kubectl --kubeconfig "$TEST_DIR/kubeconfig-3" get deploy kustomize-guestbook-ui -o jsonpath='{.spec.replicas}')" "2"

# the old server's cache is retired: it leaves the metrics and stops
# watching. kube-sim sees a client gone only when it writes to the stream, so
# every stream on both servers is ended; once the new server's cache has
# watched again (as many streams reopened as it had), none came back to the
# old server.
wait_for "the old cluster's cache leaves the metrics" 30 ctl_metrics_lack_ks2
ks2_opened=$(ks2_watches opened)
ks3_open=$(sim_watches 3 open) ks3_opened=$(sim_watches 3 opened)
t_match "the new server is watched" "$ks3_open" '^[1-9][0-9]*$'
sim_admin 2 POST drop-watches >/dev/null
sim_admin 3 POST drop-watches >/dev/null
ks3_rewatched() { [ "$(sim_watches 3 opened)" -ge $((ks3_opened + ks3_open)) ]; }
wait_for "the new cluster's cache watches again" 60 ks3_rewatched
t_eq "no watch stream open on the old server" "$(ks2_watches open)" "0"
t_eq "no watch request reached the old server" "$(ks2_watches opened)" "$ks2_opened"

t_ok "one controller process throughout" kill -0 "$CTL_PID0"
t_eq "the controller never restarted" "$(grep -c 'berth-app-controller ready' "$CTL_LOG")" "1"

t_done
