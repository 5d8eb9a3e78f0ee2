# controller-lib.sh — starts what berth-app-controller tests need: Redis, a
# Git HTTP server, kube-sim, the repo server and the controller itself.
# Source after test-lib.sh.
#
#   start_controller_stack [kube-sim flags...]   KUBECONFIG, RS_URL, CTL_PORT, KS_PORT
#   start_controller [extra flags...]            (again after stop_controller)
#   app_apply NAME PATH [automated|manual] [extra spec JSON]
#   app_field NAME JQ                            jq over the Application
#   wait_app NAME SYNC HEALTH SECS               until status.sync/health match

k() { kubectl --request-timeout=10s "$@"; }

start_kube_sim() {
	run_bg kube-sim kube-sim --listen 127.0.0.1:0 --write-kubeconfig "$TEST_DIR/kubeconfig" \
		--status-delay 100 --fail-deadline 1500 "$@"
	KS_PID=$LAST_PID
	wait_for_line "$TEST_DIR/kube-sim.log" "kube-sim ready" 20 || return 1
	KS_PORT=$(sed -n 's/.*kube-sim ready http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$TEST_DIR/kube-sim.log" | head -1)
	export KUBECONFIG=$TEST_DIR/kubeconfig
}

start_repo_server() {
	printf 'integration-test-secret-key-0123456789\n' >"$TEST_DIR/secret"
	run_bg repo-server berth-repo-server --listen 127.0.0.1:0 --redis "$REDIS_ADDR" \
		--redis-password-file "$REDIS_PASSWORD_FILE" --server-secret-file "$TEST_DIR/secret" \
		--cache-dir "$TEST_DIR/rs-cache" --work-dir "$TEST_DIR/rs-work" --parallelism 2
	wait_for_line "$TEST_DIR/repo-server.log" 'berth-repo-server ready' 60 || return 1
	local port
	port=$(sed -n 's/.*berth-repo-server ready.* port=\([0-9]*\).*/\1/p' "$TEST_DIR/repo-server.log" | head -1)
	RS_URL=http://127.0.0.1:$port
}

CTL_N=0
start_controller() {
	CTL_N=$((CTL_N + 1))
	CTL_LOG=$TEST_DIR/controller-$CTL_N.log
	run_bg controller-$CTL_N berth-app-controller --listen 127.0.0.1:0 --kubeconfig "$KUBECONFIG" \
		--namespace berth --repo-server "$RS_URL" --redis "$REDIS_ADDR" \
		--redis-password-file "$REDIS_PASSWORD_FILE" --server-secret-file "$TEST_DIR/secret" \
		--install-crds --resync 30s --status-processors 2 --operation-processors 2 ${CTL_FLAGS:-} "$@"
	CTL_PID=$LAST_PID
	wait_for_line "$CTL_LOG" 'berth-app-controller ready' 60 || { sed 's/^/# ctl: /' "$CTL_LOG" | tail -20; return 1; }
	CTL_PORT=$(sed -n 's/.*berth-app-controller ready.* port=\([0-9]*\).*/\1/p' "$CTL_LOG" | head -1)
}

stop_controller() {
	stop_bg "$CTL_PID"
}

ctl_setup_failed() {
	t_ok "controller stack starts" false
	t_done
}

start_controller_stack() {
	start_redis || return 1
	start_git_http || return 1
	start_kube_sim "$@" || return 1
	echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"berth"}}' | k apply -f - >/dev/null || return 1
	start_repo_server || return 1
	start_controller || return 1
}

# app_apply NAME PATH [automated|manual] [extra spec JSON merged into spec]
app_apply() {
	local name=$1 path=$2 mode=${3:-manual} extra=${4:-'{}'} policy='{}'
	[ "$mode" = automated ] && policy='{"automated":{"prune":true,"selfHeal":true}}'
	jq -n --arg n "$name" --arg p "$path" --arg url "$GIT_HTTP_URL/examples.git" \
		--argjson pol "$policy" --argjson extra "$extra" '{
		apiVersion: "berth.dev/v1alpha1", kind: "Application",
		metadata: {name: $n, namespace: "berth"},
		spec: ({project: "default",
			source: {repoURL: $url, targetRevision: "main", path: $p},
			destination: {server: "https://kubernetes.default.svc", namespace: "default"},
			syncPolicy: $pol} * $extra)}' >"$TEST_DIR/app-$name.json"
	k apply -f "$TEST_DIR/app-$name.json" >/dev/null
}

app_field() {
	k -n berth get applications.berth.dev "$1" -o json 2>/dev/null | jq -r "$2"
}

app_is() {
	[ "$(app_field "$1" '.status.sync.status + "/" + .status.health.status')" = "$2/$3" ]
}

wait_app() {
	wait_for "app $1 $2/$3" "$4" app_is "$1" "$2" "$3" || {
		echo "# app $1: $(app_field "$1" '.status | {sync, health, conditions, operationState: (.operationState | {phase, message})}' | tr '\n' ' ')"
		tail -5 "$CTL_LOG" | sed 's/^/# ctl: /'
		return 1
	}
}

# sync_op NAME [extra JSON merged into operation.sync] — request a sync as the CLI does
sync_op() {
	local patch
	patch=$(jq -cn --argjson extra "${2:-{\}}" '{operation: {sync: ({revision: "main"} * $extra), initiatedBy: {username: "tester"}}}')
	k -n berth patch applications.berth.dev "$1" --type merge -p "$patch" >/dev/null
}

# redis_view KEY — the JSON the controller stored under berth:v1:KEY (the
# rcache envelope's header skipped, zlib payloads inflated; no HMAC check).
redis_view() {
	redis_cli --raw GET "berth:v1:$1" | python3 -c '
import sys, zlib
b = sys.stdin.buffer.read()
if b[:3] != b"BC1":
    sys.exit(1)
n = int.from_bytes(b[4:12], "big")
p = b[44:]
sys.stdout.write((zlib.decompressobj().decompress(p) if b[3] & 1 else p[:n]).decode())'
}
