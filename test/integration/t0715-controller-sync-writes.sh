#!/usr/bin/env bash
# What a sync writes to its Application: operationState once when it starts
# (Running), once after each step but the last, and once at the end — never
# after every resource; and no compare rewrites the status while the
# operation runs (at most one per SYNC_COMPARE_INTERVAL_MS, 5 s), while the
# compare after it comes at once. Seen through a watch on the Application.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/controller-lib.sh"

N=150
src=$TEST_DIR/src
mkdir -p "$src/two-waves"
for w in 0 1; do
	for i in $(seq 1 $N); do
		printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: w%s-%s\n  annotations:\n    berth.dev/sync-wave: "%s"\ndata:\n  key: "%s"\n' \
			"$w" "$i" "$w" "$i"
		echo "---"
	done
done >"$src/two-waves/all.yaml"
make_repo examples "$src"
start_controller_stack || ctl_setup_failed

app_apply tw two-waves manual
wait_for "tw compared" 60 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev tw -o jsonpath='{.status.sync.status}')\" = OutOfSync ]"

# every change of the Application from now on, with the time it was seen
url=http://127.0.0.1:$KS_PORT/apis/berth.dev/v1alpha1/namespaces/berth/applications
rv=$(curl -s "$url/tw" | jq -r .metadata.resourceVersion)
curl -sN "$url?watch=1&fieldSelector=metadata.name%3Dtw&resourceVersion=$rv" |
	jq --unbuffered -c '{op: (.object.operation != null), phase: (.object.status.operationState.phase // ""),
		n: (.object.status.operationState.syncResult.resources // [] | length),
		sync: (.object.status.sync.status // ""), os: (.object.status.operationState // {} | tojson), rest: (.object.status // {} | del(.operationState, .reconciledAt, .history) | tojson)}' |
	while read -r l; do echo "$(date +%s%3N) $l"; done >"$TEST_DIR/events" &
sleep 0.3

sync_op tw
wait_for "tw sync finished" 120 bash -c "[ \"\$(kubectl -n berth get applications.berth.dev tw -o jsonpath='{.status.operationState.phase}')\" = Succeeded ]"
wait_app tw Synced Healthy 30
t_eq "every object applied with its tracking id" \
	"$(k get configmaps -o json | jq '[.items[] | select(.metadata.annotations["berth.dev/tracking-id"] | . != null and startswith("tw:"))] | length')" \
	"$((2 * N))"

# the events from the operation's appearance to Succeeded
jq_ev() { cut -d' ' -f2- "$TEST_DIR/events" | jq -s -c "$1"; }
during=$(jq_ev 'to_entries | (map(select(.value.op)) | first.key) as $a | (map(select(.value.phase == "Succeeded")) | first.key) as $b | .[$a:$b + 1] | map(.value)')
t_ok "the watch saw the operation start and end" test "$(echo "$during" | jq 'length')" -ge 2
os_writes=$(echo "$during" | jq -c '[foreach .[] as $e ({prev: null}; {prev: $e.os, new: ($e.os != .prev)}; select(.new))] | length')
# the first event (the operation set) already differs: 1 + Running, after wave 0, final
t_eq "operationState written three times (Running, after wave 0, at the end)" "$os_writes" 4
t_eq "the progress write carries the first wave's results" \
	"$(echo "$during" | jq -c '[.[] | select(.phase == "Running") | .n] | unique')" "[0,$N]"
t_eq "the final write carries every result" "$(echo "$during" | jq '.[-1].n')" "$((2 * N))"

# compares during the operation: status changes other than operationState
t_first=$(grep -m1 '"op":true' "$TEST_DIR/events" | cut -d' ' -f1)
t_end=$(grep -m1 '"phase":"Succeeded"' "$TEST_DIR/events" | cut -d' ' -f1)
allowed=$(( 1 + (t_end - t_first) / 5000 ))
compares=$(echo "$during" | jq -c '[foreach .[] as $e ({prev: null}; {prev: $e.rest, new: (.prev != null and $e.rest != .prev)}; select(.new))] | length')
t_ok "at most one compare per 5 s rewrote the status during the sync ($compares in $((t_end - t_first)) ms)" \
	test "$compares" -le "$allowed"
# after it, the compare comes at once (not after the 5 s deferral)
t_synced=$(grep '"sync":"Synced"' "$TEST_DIR/events" | head -1 | cut -d' ' -f1)
t_ok "status Synced within 4 s of the end of the sync ($((t_synced - t_end)) ms)" test "$((t_synced - t_end))" -lt 4000
t_done
