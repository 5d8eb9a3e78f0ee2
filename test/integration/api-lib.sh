# api-lib.sh — helpers for the berth-api-server integration tests
# (t08xx-api-*.sh), sourced after test-lib.sh.
#
#   api_kube_sim              kube-sim (plain HTTP, no token) with Berth's CRDs and namespace berth; KUBECONFIG exported
#   start_api_server [ARGS]   berth-api-server --insecure on a free port; API=http://...;
#                             ADMIN_PASSWORD from berth-initial-admin-secret
#   login USER PASSWORD       prints the session token
#   api METHOD PATH [BODY [TOKEN [CONTENT-TYPE]]]   sets CODE and BODY (also appended to $TEST_DIR/responses)
#   jqb FILTER                jq -r on $BODY
#   k ARGS...                 kubectl on the kube-sim
#   start_op [ENV=...]        the real OpenID Provider (test/oidc/provider.mjs) on OP_PORT (a free port
#                             unless set; ISSUER), redirecting to $API/auth/callback, client secret
#                             op-s3cret, users in group berth-devs; OP_PID; started again on the same port
#   oidc_configure            berth-cm oidc.config for $ISSUER, berth-rbac-cm (berth-devs → role:readonly),
#                             the client secret; waits until /api/v1/settings shows the provider

k() { kubectl --request-timeout=10s "$@"; }

api_kube_sim() {
	local port
	port=$(free_port)
	run_bg kube-sim kube-sim --listen 127.0.0.1:$port --write-kubeconfig "$TEST_DIR/kubeconfig"
	wait_for_line "$TEST_DIR/kube-sim.log" "kube-sim ready" 20 || { t_done; exit 1; }
	export KUBECONFIG=$TEST_DIR/kubeconfig
	k apply -f "$BERTH_TOP/manifests/crds/application.yaml" -f "$BERTH_TOP/manifests/crds/appproject.yaml" >/dev/null
	wait_for "Application CRD is Established" 20 k get applications.berth.dev -A
	wait_for "AppProject CRD is Established" 20 k get appprojects.berth.dev -A
	echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"berth"}}' | k create -f - >/dev/null
}

# api_repo_server — berth-secret with server.secretkey $KEY (also in
# $TEST_DIR/secret: one signing key for everyone's Redis entries) and a repo
# server using it and $REDIS_ADDR (password in $TEST_DIR/redis-pw); RS_URL.
api_repo_server() {
	KEY=integration-test-secret-key-0123456789-abcdef
	printf '%s\n' "$KEY" >"$TEST_DIR/secret"
	k -n berth create secret generic berth-secret --from-literal=server.secretkey="$KEY" >/dev/null
	run_bg repo-server berth-repo-server --listen 127.0.0.1:0 --redis "$REDIS_ADDR" \
		--redis-password-file "$TEST_DIR/redis-pw" --server-secret-file "$TEST_DIR/secret" \
		--cache-dir "$TEST_DIR/rs-cache" --work-dir "$TEST_DIR/rs-work" --parallelism 2
	wait_for_line "$TEST_DIR/repo-server.log" 'berth-repo-server ready' 60 || { t_done; exit 1; }
	RS_URL=http://127.0.0.1:$(sed -n 's/.*berth-repo-server ready.* port=\([0-9]*\).*/\1/p' "$TEST_DIR/repo-server.log" | head -1)
}

start_api_server() {
	API_PORT=$(free_port)
	API=http://127.0.0.1:$API_PORT
	run_bg api-server berth-api-server --insecure --listen 127.0.0.1:$API_PORT --kubeconfig "$KUBECONFIG" "$@"
	wait_for_line "$TEST_DIR/api-server.log" "berth-api-server ready" 20 || { t_done; exit 1; }
	ADMIN_PASSWORD=$(k -n berth get secret berth-initial-admin-secret -o jsonpath='{.data.password}' | base64 -d)
}

api() {
	local m=$1 p=$2 data=${3:-} tok=${4:-} ct=${5:-application/json}
	local out args=(-s -w '\n%{http_code}' -X "$m")
	[ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
	[ -n "$data" ] && args+=(-H "Content-Type: $ct" --data-binary "$data")
	out=$(curl "${args[@]}" "$API$p")
	CODE=${out##*$'\n'}
	BODY=${out%$'\n'*}
	printf '%s %s -> %s %s\n' "$m" "$p" "$CODE" "$BODY" >>"$TEST_DIR/responses"
}

jqb() { echo "$BODY" | jq -r "$1"; }

login() {
	api POST /api/v1/session "{\"username\":\"$1\",\"password\":\"$2\"}"
	[ "$CODE" = 200 ] && jqb .token
}

start_op() { # [ENV=...]
	OP_PORT=${OP_PORT:-$(free_port)}
	ISSUER=http://127.0.0.1:$OP_PORT
	# emptied before the fork: a restart must not find the last run's ready line
	: >"$TEST_DIR/op.log"
	env "$@" GROUPS=berth-devs node "$BERTH_TOP/test/oidc/provider.mjs" "$OP_PORT" "$API/auth/callback" op-s3cret \
		>>"$TEST_DIR/op.log" 2>&1 &
	OP_PID=$!
	_tl_pids+=("$OP_PID")
	wait_for_line "$TEST_DIR/op.log" "^oidc ready" 30 || { t_done; exit 1; }
}

oidc_configure() {
	oidc_settings_yaml "$API" "$ISSUER" >"$TEST_DIR/cm.yaml"
	# The secret first: once the settings show the provider, the client secret is there too.
	k -n berth patch secret berth-secret --type merge -p '{"stringData":{"oidc.clientSecret":"op-s3cret"}}' >/dev/null
	k apply -f "$TEST_DIR/cm.yaml" >/dev/null
	_settings_show_idp() { api GET /api/v1/settings; [ "$(jqb .oidcConfig.issuer)" = "$ISSUER" ]; }
	wait_for "settings show the provider" 10 _settings_show_idp
}
