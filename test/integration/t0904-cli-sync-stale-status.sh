#!/usr/bin/env bash
# Regression test for the intermittent "sync the Argo CD app" timeout of
# t0901 ("no operation requested, last operation none" although the
# controller had synced the app): the reconcile that sees a new operation
# queues it and then writes the status it computed from the copy it read
# before the operation ran. That write meets a conflict (the operation
# wrote operationState meanwhile); it used to be retried with the stale
# copy's operationState (none), erasing the operation's result, so
# `berth app sync` waited for a result that had vanished.
#
# The window is made wide and certain with the controller's failpoint
# BERTH_FAILPOINT_STATUS_WRITE_DELAY_MS: every status write waits that long
# after computing its status, while the operation runs and ends.
. "$(dirname "$0")/test-lib.sh"

export BERTH_FAILPOINT_STATUS_WRITE_DELAY_MS=4000
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

t_ok "app create (never synced: no operationState yet)" berth app create stale --repo "$REPO" --path web \
	--dest-server https://kubernetes.default.svc --dest-namespace demo-stale --sync-option CreateNamespace=true
compared() { [ -n "$(berth app get stale -o json | jq -r '.status.sync.status // empty')" ]; }
wait_for "the controller compared the app once" 60 compared

out=$(berth app sync stale --timeout 60 2>&1)
t_eq "app sync succeeds" "$?" 0
t_match "...and says so" "$out" "Phase: +Succeeded"
# Status writes of one app are serialised, and the refresh is answered by a
# reconcile that runs after every write computed before it — also the one
# computed before the sync — has landed.
t_ok "a refresh after the sync" berth app get stale --refresh
app=$(berth app get stale -o json)
t_eq "the sync's result survives the status write computed before it" \
	"$(jq -r '.status.operationState.phase // "none"' <<<"$app")" Succeeded
t_eq "...and so does the history entry" "$(jq '.status.history | length' <<<"$app")" 1
t_eq "no operation is left requested" "$(jq -r 'has("operation")' <<<"$app")" false
t_ok "app wait --operation --sync returns at once" berth app wait stale --operation --sync --timeout 30
t_done
