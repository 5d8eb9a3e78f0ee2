#!/usr/bin/env bash
# GET /api/v1/stream/applications (Server-Sent Events): the current state
# first, spec and status changes as they happen (the controller's status
# writes arrive the same way), deletions, heartbeats, filtering by what
# the caller may see, and resuming with Last-Event-ID. With Redis down the
# API server keeps serving (Redis is a cache, not a dependency).
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/api-lib.sh"

start_kube_sim
start_redis
printf "%s" "$REDIS_PASSWORD" >"$TEST_DIR/redis-pw"
start_api_server --sse-heartbeat 1s --redis "$REDIS_ADDR" --redis-password-file "$TEST_DIR/redis-pw"
ADMIN=$(login admin "$ADMIN_PASSWORD")

cat >"$TEST_DIR/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: berth-cm, namespace: berth}
data:
  accounts.carol: login
---
apiVersion: v1
kind: ConfigMap
metadata: {name: berth-rbac-cm, namespace: berth}
data:
  policy.csv: |
    p, carol, applications, get, team/*, allow
EOF
k apply -f "$TEST_DIR/cm.yaml" >/dev/null
setpw() {
	api PUT /api/v1/account/password "{\"name\":\"carol\",\"currentPassword\":\"$ADMIN_PASSWORD\",\"newPassword\":\"carol-password-1\"}" "$ADMIN"
	[ "$CODE" = 200 ]
}
wait_for "carol's account is known" 10 setpw
CAROL=$(login carol carol-password-1)

app() { # name project
	printf '{"metadata":{"name":"%s"},"spec":{"project":"%s","source":{"repoURL":"https://git.example/a.git","path":"."},"destination":{"server":"https://kubernetes.default.svc","namespace":"ns1"}}}' "$1" "$2"
}
api POST /api/v1/projects '{"metadata":{"name":"team"},"spec":{"sourceRepos":["*"],"destinations":[{"server":"*","namespace":"*"}]}}' "$ADMIN"
api POST /api/v1/applications "$(app before default)" "$ADMIN"
t_eq "an app exists before the stream opens" "$CODE" 200

stream() { curl -sN -H "Authorization: Bearer $1" ${2:+-H "Last-Event-ID: $2"} "$API/api/v1/stream/applications"; }
api GET /api/v1/stream/applications
t_eq "stream without a token: 401" "$CODE" 401
run_bg admin-stream stream "$ADMIN"
admin_pid=$LAST_PID
run_bg carol-stream stream "$CAROL"
S=$TEST_DIR/admin-stream.log
C=$TEST_DIR/carol-stream.log
wait_for_line "$S" '^: connected' 10
wait_for_line "$C" '^: connected' 10
wait_for "the current state comes first" 10 grep -q '"type":"ADDED".*"name":"before"' "$S"

api POST /api/v1/applications "$(app web team)" "$ADMIN"
wait_for "ADDED event for a new app" 10 grep -q '"type":"ADDED".*"name":"web"' "$S"
k -n berth patch applications.berth.dev web --subresource status --type merge \
	-p '{"status":{"sync":{"status":"Synced","revision":"abc"},"health":{"status":"Healthy"}}}' >/dev/null
wait_for "status change (as the controller writes it) is streamed" 10 \
	sh -c "grep '\"type\":\"MODIFIED\"' '$S' | grep -q '\"status\":\"Synced\"'"
wait_for_line "$S" '^: heartbeat' 5
wait_for "carol sees her project's app" 10 grep -q '"name":"web"' "$C"
t_fail "carol does not see an app of another project" grep -q '"name":"before"' "$C"

# Resume: note the last id, disconnect, change things, reconnect.
last=$(grep -o '^id: [0-9]*' "$S" | tail -1 | cut -d' ' -f2)
t_match "events carry ids" "$last" '^[0-9]+$'
stop_bg "$admin_pid"
api POST /api/v1/applications "$(app missed team)" "$ADMIN"
api DELETE "/api/v1/applications/before?cascade=false" "" "$ADMIN"
run_bg resumed stream "$ADMIN" "$last"
R=$TEST_DIR/resumed.log
wait_for "resumed stream gets the event it missed" 10 grep -q '"type":"ADDED".*"name":"missed"' "$R"
wait_for "and the deletion" 10 grep -q '"type":"DELETED".*"name":"before"' "$R"
t_fail "and nothing it had already seen" grep -q '"name":"web"' "$R"

# Redis goes away: the server keeps serving.
redis_cli shutdown nosave >/dev/null 2>&1
api GET /api/v1/applications/web/resource-tree "" "$ADMIN"
t_eq "resource tree with Redis down (from the status)" "$CODE" 200
api GET /api/v1/applications "" "$ADMIN"
t_eq "list with Redis down" "$CODE $(jqb '.items | length')" "200 2"
t_done
