#!/usr/bin/env bash
# make demo (scripts/demo) as a newcomer runs it: started in the background,
# the printed password logs the CLI in, the example apps reach
# Synced/Healthy, SIGTERM (what Ctrl-C does in a terminal) stops everything
# it started, and a second run works the same.
. "$(dirname "$0")/test-lib.sh"

DEMO=$BERTH_TOP/scripts/demo
t_ok "scripts/demo is valid bash" bash -n "$DEMO"
for b in kube-sim berth-repo-server berth-app-controller berth-api-server; do
	if [ ! -x "$BERTH_BIN/$b" ]; then
		out=$("$DEMO" 2>&1)
		t_match "the demo names the parts not built yet" "$out" "not built yet: .*$b"
		t_skip "the demo runs" "$b is not built yet"
		t_done
	fi
done

# run_demo N — start the demo (run N), wait for its banner; sets DEMO_PID,
# DEMO_URL, DEMO_PASSWORD, DEMO_DIR.
run_demo() {
	local log=$TEST_DIR/demo-$1.log
	DEMO_DIR=$TEST_DIR/demo-dir-$1
	BERTH_DEMO_PORT=$(free_port)
	run_bg "demo-$1" env -u KUBECONFIG ${KUBECONFIG:+KUBECONFIG="$KUBECONFIG"} BERTH_DEMO_PORT="$BERTH_DEMO_PORT" \
		TMPDIR="$TEST_DIR" "$DEMO"
	DEMO_PID=$LAST_PID
	wait_for_line "$log" "^  Password: " 240 || { sed 's/^/# demo: /' "$log"; return 1; }
	DEMO_URL=$(sed -n 's/^  Dashboard: *//p' "$log" | head -1)
	DEMO_PASSWORD=$(sed -n 's/^  Password: *//p' "$log" | head -1)
	DEMO_DIR=$(sed -n 's/.*Logs: *//p' "$log" | head -1)
}

# stop_demo — SIGTERM, then check that it ended and left nothing behind.
stop_demo() {
	kill -TERM "$DEMO_PID"
	wait_for "the demo exits" 30 bash -c "! kill -0 $DEMO_PID"
	t_fail "the API server is stopped" curl -sf "$DEMO_URL/healthz"
	t_fail "the scratch folder is removed" test -e "$DEMO_DIR"
}

run_demo 1 || t_done
t_eq "the banner shows the dashboard URL" "$DEMO_URL" "http://127.0.0.1:$BERTH_DEMO_PORT"
t_match "the banner suggests commands" "$(cat "$TEST_DIR/demo-1.log")" "berth app list"
t_ok "login with the printed password" berth login "$DEMO_URL" --username admin --password "$DEMO_PASSWORD"
wait_for "the example apps are registered" 120 \
	bash -c '[ "$(berth app list -o name | grep -c "^web")" = 4 ]'
t_ok "the example apps reach Synced and Healthy" \
	berth app wait web web-staging web-production web-helm --sync --health --timeout 240
stop_demo

run_demo 2 || t_done
t_ok "the second run answers" curl -sf "$DEMO_URL/healthz"
stop_demo

# With $KUBECONFIG set, the demo uses that cluster and leaves it running.
start_kube_sim || t_done
KUBECONFIG=$BERTH_KUBECONFIG run_demo 3 || t_done
t_match "the demo says it uses \$KUBECONFIG" "$(cat "$TEST_DIR/demo-3.log")" 'using the cluster of \$KUBECONFIG'
t_fail "it started no kube-sim of its own" grep -q "kube-sim (sandbox cluster)" "$TEST_DIR/demo-3.log"
wait_for "the root app is in the given cluster" 60 kube -n berth get applications.berth.dev demo-root
stop_demo
t_ok "the given cluster still runs" kube get namespaces
t_done
