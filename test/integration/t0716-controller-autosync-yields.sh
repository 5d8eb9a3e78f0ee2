#!/usr/bin/env bash
# An automated sync gives way to an operation requested meanwhile: the
# reconcile that decides to auto-sync works from the copy of the app it
# read at its start; a user's sync requested (and even finished) before it
# gets to start the automated one must not be overwritten or followed by a
# second, automated sync of the same change (as Argo CD's SetAppOperation:
# read afresh, give way to an existing operation, write with the
# resourceVersion as a precondition).
#
# The window is made wide and certain with the controller's failpoint
# BERTH_FAILPOINT_STATUS_WRITE_DELAY_MS: every status write waits that long
# (and logs "failpoint: status write delayed" with the revision the status
# names) after the reconcile computed
# it, and the auto-sync decision comes after that write.
. "$(dirname "$0")/test-lib.sh"

export BERTH_FAILPOINT_STATUS_WRITE_DELAY_MS=4000
start_berth || t_done
if [ "$BERTH_HAVE_API" != 1 ] || [ "$BERTH_HAVE_CONTROLLER" != 1 ] || [ "$BERTH_HAVE_REPO" != 1 ]; then
	t_skip "auto-sync against a user's sync" "a daemon is not built yet"
	t_done
fi
berth_login >/dev/null
start_git_http
mkdir -p "$TEST_DIR/src"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {v: "1"}\n' >"$TEST_DIR/src/cm.yaml"
make_repo auto "$TEST_DIR/src"
REPO=$GIT_HTTP_URL/auto.git
berth repo add "$REPO" >/dev/null
LOG=$TEST_DIR/app-controller.log

app() { berth app get auto -o json; }
synced_to() { [ "$(app | jq -r '[.status.sync.status, .status.operationState.phase, .status.sync.revision] | join(" ")')" = "Synced Succeeded $1" ]; }
autos() { grep -c 'auto-sync app=auto ' "$LOG"; }
# delayed REV — a status write for REV (status.sync.revision) is being delayed
delayed() { grep -q "failpoint: status write delayed app=auto revision=$1\$" "$LOG"; }

t_ok "app create with automated sync" berth app create auto --repo "$REPO" --path . \
	--dest-server https://kubernetes.default.svc --dest-namespace auto --sync-option CreateNamespace=true \
	--sync-policy automated
rev1=$(repo_head auto)
wait_for "the first automated sync" 90 synced_to "$rev1"
t_eq "...started once by auto-sync" "$(autos)" 1
t_ok "app wait --operation (nothing left running)" berth app wait auto --operation --timeout 60

# A change in Git (a hard refresh: the repo server caches ref listings);
# the reconcile that sees it stops in its delayed status
# write, and the user's sync is requested (and runs) during that time.
t_ok "a change pushed to Git" repo_commit auto "v2" sed -i 's/v: "1"/v: "2"/' cm.yaml
rev2=$(repo_head auto)
berth app get auto --hard-refresh >/dev/null 2>&1 &
wait_for "the reconcile that sees the change is in its delayed status write" 60 delayed "$rev2"
t_ok "the user's sync, while that reconcile waits" berth app sync auto --async
wait_for "the user's sync of the change succeeded" 90 synced_to "$rev2"
# Let the delayed reconcile finish and decide; a refresh is answered by a
# reconcile that runs after it (one app's reconciles are serialised).
t_ok "a refresh after it" berth app get auto --refresh
t_ok "app wait --operation" berth app wait auto --operation --timeout 60
a=$(app)
t_eq "no second, automated sync of the same change" "$(autos)" 1
t_ok "...the controller says it gave way" grep -q 'auto-sync gave way to a newer state of the app app=auto$' "$LOG"
t_eq "two syncs in the history (first auto-sync, the user's)" "$(jq '.status.history | length' <<<"$a")" 2
t_eq "the last operation is the user's" "$(jq -r '.status.operationState.operation.initiatedBy.automated // false' <<<"$a")" false
t_eq "the live ConfigMap has the change" "$(kube -n auto get configmap cfg -o jsonpath='{.data.v}')" 2
t_done
