#!/usr/bin/env bash
# berth-app-controller's diff-result cache and its Redis views: a no-change
# reconcile computes no diff (memory), a restarted controller reads the
# verdicts from Redis instead of diffing again, a changed live object is
# diffed again; managed-resources items carry masked Secret states and
# diffs (no byte of a secret value in Redis).
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/controller-lib.sh"

src=$TEST_DIR/src
mkdir -p "$src/sec"
cat >"$src/sec/secret.yaml" <<'Y'
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: hunter2-very-secret
  same: twin-value
  also: twin-value
Y
cat >"$src/sec/cm.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
data:
  key: value
Y
make_repo examples "$src"
start_controller_stack || ctl_setup_failed

metric() { curl -s "http://127.0.0.1:$CTL_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
metric_gt() { [ "$(metric "$1")" -gt "$2" ]; }
metric_ge() { [ "$(metric "$1")" -ge "$2" ]; }
secret_out_of_sync() {
	redis_view app:berth:sec:managed-resources | jq -e '.items[] | select(.kind == "Secret" and .status == "OutOfSync")'
}
no_value() { ! grep -q -e "$1" -e "$2" <<<"$3"; }
no_secret() { ! grep -q -e hunter2 -e aHVudGVyMi -e twin-value -e dHdpbi12YWx1ZQ <<<"$1"; }

app_apply sec sec manual
wait_app sec OutOfSync Missing 60
mr=$(redis_view app:berth:sec:managed-resources)
t_eq "two items, both OutOfSync" "$(jq -r '[.items[] | .kind + ":" + .status] | sort | join(",")' <<<"$mr")" \
	"ConfigMap:OutOfSync,Secret:OutOfSync"
t_ok "no secret value in managed-resources (missing objects)" no_secret "$mr"
t_eq "target Secret values masked, equal values alike" \
	"$(jq -r '.items[] | select(.kind == "Secret") | .targetState | fromjson | .data | [.password, .same, .also] | join(" ")' <<<"$mr")" \
	"++++++++ ++++++++ ++++++++"
t_eq "a missing object has liveState null" "$(jq -r '.items[] | select(.kind == "Secret") | .liveState' <<<"$mr")" "null"
t_match "the ConfigMap's diff shows what sync adds" "$(jq -r '.items[] | select(.kind == "ConfigMap") | .diff' <<<"$mr")" '\+  key: value'

sync_op sec
wait_app sec Synced Healthy 60
# Synced means a reconcile compared the objects as the sync left them
# (ConfigMaps and Secrets get no later status writes), so from here on
# their diff inputs are unchanged
c1=$(metric 'berth_controller_diffs_total{source="computed"}')
m1=$(metric 'berth_controller_diffs_total{source="memory"}')
r1=$(metric berth_controller_reconciles_total)
k -n berth annotate applications.berth.dev sec berth.dev/refresh=normal --overwrite >/dev/null
wait_for "a refresh reconciles again" 30 metric_gt berth_controller_reconciles_total "$r1"
t_eq "no-change reconcile computes no diff" "$(metric 'berth_controller_diffs_total{source="computed"}')" "$c1"
t_ok "... it uses the remembered verdicts" [ "$(metric 'berth_controller_diffs_total{source="memory"}')" -ge $((m1 + 2)) ]
t_ok "diff verdicts are in Redis" [ "$(redis_cli --scan --pattern 'berth:v1:diff:*' | wc -l)" -ge 2 ]

stop_controller
start_controller
wait_for "restarted controller reconciles the app" 30 metric_ge berth_controller_reconciles_total 1
wait_app sec Synced Healthy 30
t_eq "after a restart the verdicts come from Redis, not the engine" \
	"$(metric 'berth_controller_diffs_total{source="computed"}'):$(( $(metric 'berth_controller_diffs_total{source="redis"}') >= 2 ))" "0:1"

# drift in a Secret: diffed again, masked everywhere
k patch secret creds --type merge -p '{"stringData":{"password":"changed-in-cluster"}}' >/dev/null
wait_app sec OutOfSync Healthy 60
t_ok "the changed live object was diffed" [ "$(metric 'berth_controller_diffs_total{source="computed"}')" -ge 1 ]
wait_for "managed-resources shows the Secret OutOfSync" 20 secret_out_of_sync
mr=$(redis_view app:berth:sec:managed-resources)
sec=$(jq -c '.items[] | select(.kind == "Secret")' <<<"$mr")
t_ok "no secret value in managed-resources (drifted Secret)" no_secret "$mr"
t_ok "... nor the new live value" no_value changed-in-cluster Y2hhbmdlZC1pbi1jbHVzdGVy "$mr"
t_eq "live and target masks differ for the changed value only" \
	"$(jq -r '[(.targetState | fromjson | .data.password), (.liveState | fromjson | .data.password), (.liveState | fromjson | .data.same)] | join(" ")' <<<"$sec")" \
	"++++++++ ++++++++++++ ++++++++"
t_match "the diff shows the change as masks" "$(jq -r .diff <<<"$sec")" '-  password: \+{12}'$'\n''\+  password: \+{8}'
t_eq "predictedLiveState given and masked" "$(jq -r '.predictedLiveState | fromjson | .data.password' <<<"$sec")" "++++++++"
t_eq "the ConfigMap stays Synced with an empty diff" \
	"$(jq -r '.items[] | select(.kind == "ConfigMap") | .status + ":" + .diff' <<<"$mr")" "Synced:"
t_done
