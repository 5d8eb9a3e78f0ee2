#!/usr/bin/env bash
# Full REST flow with the real repo server and application controller:
# create (source checked by the repo server) → sync → Synced/Healthy, the
# SSE stream receives the sync's status changes, resource tree from the
# controller's Redis cache, manifests through the repo server, rollback,
# delete with cascade. Runs when bin/berth-app-controller exists (it is
# built on another branch until merged).
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/api-lib.sh"

if ! command -v berth-app-controller >/dev/null; then
	t_skip "API server with the controller" "berth-app-controller is not built on this branch"
	t_done
	exit 0
fi

start_redis
printf '%s' "$REDIS_PASSWORD" >"$TEST_DIR/redis-pw"
start_git_http
make_repo examples "$FIXTURES/argocd-example-apps"
api_kube_sim
api_repo_server
run_bg controller berth-app-controller --listen 127.0.0.1:0 --kubeconfig "$KUBECONFIG" --namespace berth \
	--repo-server "$RS_URL" --redis "$REDIS_ADDR" --redis-password-file "$TEST_DIR/redis-pw" \
	--server-secret-file "$TEST_DIR/secret" --resync 30s
wait_for_line "$TEST_DIR/controller.log" 'berth-app-controller ready' 60 || { t_done; exit 1; }
start_api_server --repo-server "$RS_URL" --redis "$REDIS_ADDR" --redis-password-file "$TEST_DIR/redis-pw" --sse-heartbeat 1s
TOKEN=$(login admin "$ADMIN_PASSWORD")

app() { # name path [revision]
	jq -cn --arg n "$1" --arg p "$2" --arg r "${3:-main}" --arg url "$GIT_HTTP_URL/examples.git" \
		'{metadata: {name: $n}, spec: {project: "default", source: {repoURL: $url, targetRevision: $r, path: $p},
		  destination: {server: "https://kubernetes.default.svc", namespace: "default"}}}'
}
api POST /api/v1/applications "$(app nope no-such-path)" "$TOKEN"
t_eq "a source the repo server cannot read is refused" "$CODE" 400
api POST /api/v1/applications "$(app guestbook guestbook)" "$TOKEN"
t_eq "create guestbook" "$CODE" 200

run_bg stream curl -sN -H "Authorization: Bearer $TOKEN" "$API/api/v1/stream/applications?name=guestbook"
wait_for_line "$TEST_DIR/stream.log" '^: connected' 10
api POST /api/v1/applications/guestbook/sync '{}' "$TOKEN"
t_eq "sync" "$CODE" 200
app_status() { api GET /api/v1/applications/guestbook "" "$TOKEN"; [ "$(jqb '.status.sync.status + "/" + .status.health.status')" = "$1" ]; }
wait_for "guestbook Synced/Healthy through the API" 90 app_status Synced/Healthy
t_eq "history has the sync" "$(jqb '.status.history | length')" 1
HID=$(jqb '.status.history[0].id')
wait_for "the stream saw the operation run" 10 grep -q '"phase":"Running"' "$TEST_DIR/stream.log"
wait_for "the stream saw Synced" 10 grep -q '"status":"Synced"' "$TEST_DIR/stream.log"
api GET /api/v1/applications/guestbook/resource-tree "" "$TOKEN"
t_match "resource tree lists the Deployment" "$(jqb '[.nodes[].kind] | join(",")')" Deployment
api GET /api/v1/applications/guestbook/manifests "" "$TOKEN"
t_eq "manifests through the repo server" "$(jqb '[.manifests[].kind] | sort | join(",")')" "Deployment,Service"

# rollback to the first history entry
api POST /api/v1/applications/guestbook/rollback "{\"id\":$HID}" "$TOKEN"
t_eq "rollback to the history entry" "$CODE $(jqb .operation.sync.revision)" "200 $(repo_head examples)"
rolled_back() { api GET /api/v1/applications/guestbook "" "$TOKEN"; [ "$(jqb '(.status.history | length | tostring) + " " + .status.operationState.phase')" = "2 Succeeded" ]; }
wait_for "the rollback ran (a second history entry)" 90 rolled_back

api DELETE "/api/v1/applications/guestbook?cascade=true" "" "$TOKEN"
t_eq "delete with cascade" "$CODE" 200
wait_for "the app's Deployment is deleted" 60 sh -c "! kubectl get deploy guestbook-ui >/dev/null 2>&1"
wait_for "the app is gone" 60 sh -c "! kubectl -n berth get applications.berth.dev guestbook >/dev/null 2>&1"
t_done
