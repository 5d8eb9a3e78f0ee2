#!/usr/bin/env bash
# berth-env.sh — the real Berth for the browser tests: starts kube-sim,
# Redis, the three daemons (test-lib.sh's start_berth; the API server
# serves ui-static/) and a git daemon holding the guestbook example, then
# prints "env KEY=VALUE" lines and "ready". It then reads commands, one a
# line, and answers "done RC" to each:
#   commit SHELL-COMMAND   run it in a clone of the guestbook repo, commit, push
#   stop NAME              stop a daemon (app-controller, api-server, ...)
#   oidc                   start test/oidc/provider.mjs (npm oidc-provider) and
#                          configure the API server for it ("Test IdP"; users
#                          in group berth-devs are read-only)
# End of input stops everything (test-lib.sh cleans up on exit).
. "$(dirname "$0")/../../integration/test-lib.sh"

if ! declare -F start_berth >/dev/null; then
	echo "skip test-lib.sh has no start_berth yet"
	exit 0
fi
for d in kube-sim berth-repo-server berth-app-controller berth-api-server; do
	if [ ! -x "$BERTH_BIN/$d" ]; then
		echo "skip $d is not built yet"
		exit 0
	fi
done

export BERTH_API_SERVER_ARGS="--static-dir $BERTH_TOP/ui-static ${BERTH_API_SERVER_ARGS:-}"
start_berth berth >&2 || { echo "fail start_berth (logs in $TEST_DIR)"; exit 1; }
start_git_daemon >&2 || { echo "fail git daemon"; exit 1; }
make_repo guestbook "$FIXTURES/argocd-example-apps/guestbook" >&2 || { echo "fail make_repo"; exit 1; }
kube create namespace guestbook >/dev/null 2>&1

start_oidc() {
	[ -f "$BERTH_TOP/test/oidc/provider.mjs" ] || return 3
	local port
	port=$(free_port) || return 1
	run_bg oidc env GROUPS=berth-devs node "$BERTH_TOP/test/oidc/provider.mjs" "$port" "$BERTH_SERVER/auth/callback" op-s3cret
	wait_for_line "$TEST_DIR/oidc.log" "^oidc ready" 30 || return 1
	kube -n berth patch secret berth-secret --type merge -p '{"stringData":{"oidc.clientSecret":"op-s3cret"}}' >/dev/null || return 1
	oidc_settings_yaml "$BERTH_SERVER" "http://127.0.0.1:$port" | kube apply -f - >/dev/null || return 1
	wait_for "settings show the provider" 20 bash -c "curl -sf '$BERTH_SERVER/api/v1/settings' | grep -q 'Test IdP'"
}

echo "env BERTH_SERVER=$BERTH_SERVER"
echo "env BERTH_ADMIN_PASSWORD=$BERTH_ADMIN_PASSWORD"
echo "env BERTH_KUBECONFIG=$BERTH_KUBECONFIG"
echo "env KUBE_SIM_URL=$KUBE_SIM_URL"
echo "env KUBE_SIM_TOKEN=$KUBE_SIM_TOKEN"
echo "env GUESTBOOK_REPO=$GIT_DAEMON_URL/guestbook.git"
echo "env TEST_DIR=$TEST_DIR"
echo ready

while IFS= read -r line; do
	cmd=${line%% *} arg=${line#* }
	case "$cmd" in
	commit) repo_commit guestbook "browser test change" bash -c "$arg" >&2; echo "done $?" ;;
	stop)
		rc=1
		for pid in "${_tl_pids[@]}"; do
			if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "^berth-$arg \|^$arg \|/$arg "; then
				stop_bg "$pid"; rc=0
			fi
		done
		echo "done $rc" ;;
	oidc) start_oidc >&2; echo "done $?" ;;
	*) echo "done 2" ;;
	esac
done
