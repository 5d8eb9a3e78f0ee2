#!/usr/bin/env bash
# Regression test for the intermittent "sync the Argo CD app" timeout of
# t0901 ("no operation requested, last operation none" although the
# controller had synced the app): a reconcile writes the status it
# computed from a copy of the app read before (or during) an operation,
# after the operation has written its result. That write meets a conflict;
# it used to be retried with the stale copy's operationState (none, or
# Running), erasing the operation's result, so `berth app sync` waited for
# a result that had vanished (or the operation ran again).
#
# The windows are made wide and certain with the controller's failpoint
# BERTH_FAILPOINT_STATUS_WRITE_DELAY_MS (every status write waits that long
# after computing its status) and slow Deployments in kube-sim:
#  A. a never-synced app: the reconcile that finds the new operation queues
#     it, then writes the status computed from its pre-operation copy;
#  B. an operation longer than the controller's compare interval during an
#     operation (5 s; a wave waits for a Deployment kube-sim makes ready
#     after 6 s): the compare in the middle reads Running and writes after
#     the operation has ended.
. "$(dirname "$0")/test-lib.sh"

export BERTH_FAILPOINT_STATUS_WRITE_DELAY_MS=6000
export KUBE_SIM_ARGS="--status-delay 6000"
start_berth || t_done
if [ "$BERTH_HAVE_API" != 1 ] || [ "$BERTH_HAVE_CONTROLLER" != 1 ] || [ "$BERTH_HAVE_REPO" != 1 ]; then
	t_skip "sync against a delayed status write" "a daemon is not built yet"
	t_done
fi
berth_login >/dev/null
start_git_http
make_repo demo "$BERTH_TOP/examples"
REPO=$GIT_HTTP_URL/demo.git
berth repo add "$REPO" >/dev/null

# compared APP — the controller has compared APP at least once.
compared() { [ -n "$(berth app get "$1" -o json | jq -r '.status.sync.status // empty')" ]; }

# result_survives APP — after `berth app sync APP` succeeded: once every
# status write computed before now has landed, the sync's result is still
# there and the operation was not run again. Status writes of one app are
# serialised, and a refresh is answered by a reconcile that runs after them.
result_survives() {
	t_ok "$1: a refresh after the sync" berth app get "$1" --refresh
	local app
	app=$(berth app get "$1" -o json)
	t_eq "$1: the sync's result survives the stale status write" \
		"$(jq -r '.status.operationState.phase // "none"' <<<"$app")" Succeeded
	t_eq "$1: ...and so does the history entry (one)" "$(jq '.status.history | length' <<<"$app")" 1
	t_eq "$1: no operation is left requested" "$(jq -r 'has("operation")' <<<"$app")" false
	t_ok "$1: app wait --operation returns at once" berth app wait "$1" --operation --timeout 30
	# An erased result makes the controller find Running without an operation and run it again.
	t_fail "$1: the controller did not run the operation again" grep -q "resuming sync app=$1\$" \
		"$TEST_DIR/app-controller.log"
}

# ---- A: the reconcile that queues the operation ------------------------------------------
t_ok "app create (never synced: no operationState yet)" berth app create stale --repo "$REPO" --path web \
	--dest-server https://kubernetes.default.svc --dest-namespace demo-stale --sync-option CreateNamespace=true
wait_for "the controller compared the app once" 60 compared stale
out=$(berth app sync stale --timeout 60 2>&1)
t_eq "app sync succeeds" "$?" 0
t_match "...and says so" "$out" "Phase: +Succeeded"
result_survives stale

# ---- B: a compare in the middle of a long operation --------------------------------------
mkdir -p "$TEST_DIR/slow"
cat >"$TEST_DIR/slow/deploy.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: slow, annotations: {argocd.argoproj.io/sync-wave: "0"}}
spec:
  replicas: 1
  selector: {matchLabels: {app: slow}}
  template:
    metadata: {labels: {app: slow}}
    spec: {containers: [{name: c, image: nginx:1.27}]}
YAML
cat >"$TEST_DIR/slow/after.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: after, annotations: {argocd.argoproj.io/sync-wave: "1"}}
data: {x: "1"}
YAML
make_repo slow "$TEST_DIR/slow"
berth repo add "$GIT_HTTP_URL/slow.git" >/dev/null
t_ok "app create (two waves: a Deployment, then a ConfigMap)" berth app create slow --repo "$GIT_HTTP_URL/slow.git" \
	--path . --dest-server https://kubernetes.default.svc --dest-namespace demo-slow --sync-option CreateNamespace=true
wait_for "the controller compared it once" 60 compared slow
start=$SECONDS
out=$(berth app sync slow --timeout 90 2>&1)
t_eq "app sync succeeds" "$?" 0
took=$((SECONDS - start))
# Shorter than 5 s, no compare ran during the operation: the test proves nothing.
t_match "the operation outlasted the compare interval (${took}s)" "$took" '^([5-9]|1[0-9])$'
result_survives slow
t_done
